"""Mininet topologies for cemon.

Usable as a custom file:

    mn --custom mininet/topos.py --topo abilene --controller cemon,ip=127.0.0.1,port=PORT

("cemon" is a remote controller without Mininet's telnet probe; hosts come with
checksum offload and IPv6 off, which TCP through the userspace datapath needs.)

Topologies (every one: one host per edge switch, host hI attached to switch sI on
port 1, host hI has IP 10.0.0.I/8 and MAC 00:00:00:00:HH:LL with I = 0xHHLL,
switch sI has dpid I):

    abilene            Abilene (11 switches, 14 links), from the Topology Zoo
    gml,FILE           any Topology Zoo GML file: one switch per node, one host each
    linear,N           N switches in a line (default 4)
    fattree,K          the K-ary fat-tree (default 4): K*K/4 core, K*K/2 aggregation
                       and K*K/2 edge switches, K/2 hosts on each edge switch
                       (so hosts are numbered by edge switch, not by switch number)
    servers,N,M        N servers modelled as edge switches s2..s(N+1), M VM hosts
                       each on ports 1..M, uplink (the NIC) on port M+1 to core s1

Switches are Open vSwitch on the userspace datapath speaking OpenFlow 1.0 in
fail-secure mode (they never forward on their own), unless the command line
overrides the switch options.

Topology data: The Internet Topology Zoo, Knight et al., IEEE JSAC 2011 (CC BY 4.0);
the Abilene file is topology/testdata/Abilene.gml in this repository.
"""

import inspect
import os
import re

from mininet.node import Host, RemoteController
from mininet.topo import Topo

def _here():
    """This file's directory; `mn --custom` runs the file with exec, without
    __file__, but the compiled code keeps the file name."""
    try:
        path = __file__
    except NameError:
        path = inspect.currentframe().f_code.co_filename
    return os.path.dirname(os.path.abspath(path))


HERE = _here()
ABILENE_GML = os.path.join(HERE, '..', 'topology', 'testdata', 'Abilene.gml')

# Switch options for Open vSwitch userspace, OpenFlow 1.0, fail-secure.
SWITCH_OPTS = {'datapath': 'user', 'protocols': 'OpenFlow10', 'failMode': 'secure'}


class CemonHost(Host):
    """A host whose interfaces work through the userspace datapath: transmit
    checksum offload off (TCP fails on bad checksums otherwise) and IPv6 off (no
    router solicitations or MLD reports for the controller to chase)."""

    def config(self, **params):
        r = Host.config(self, **params)
        self.cmd('sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1')
        for intf in self.intfList():
            if intf.name != 'lo':
                self.cmd('ethtool -K %s tx off >/dev/null 2>&1' % intf.name)
        return r


class CemonController(RemoteController):
    """cemon as a remote controller; Mininet's telnet probe of the port is skipped,
    since a binary OpenFlow HELLO can upset it."""

    def checkListening(self):
        pass


class GMLError(ValueError):
    """A GML file that cannot be read as a graph."""


_TOKEN = re.compile(r'\s*(?:(\[)|(\])|"((?:[^"\\]|\\.)*)"|([^\s\[\]"]+))', re.S)


def _tokens(text):
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise GMLError('unexpected input at offset %d' % pos)
        pos = m.end()
        if m.group(1):
            yield '['
        elif m.group(2):
            yield ']'
        elif m.group(3) is not None:
            yield ('str', m.group(3))
        else:
            yield ('atom', m.group(4))


def _parse_list(toks, depth):
    """Parses 'key value' pairs until ']' (depth > 0) or the end (depth 0)."""
    items = []
    while True:
        key = next(toks, None)
        if key is None:
            if depth:
                raise GMLError('unbalanced [')
            return items
        if key == ']':
            if not depth:
                raise GMLError('unbalanced ]')
            return items
        if key == '[' or key[0] != 'atom':
            raise GMLError('expected a key, got %r' % (key,))
        val = next(toks, None)
        if val is None or val == ']':
            raise GMLError('key %r has no value' % key[1])
        if val == '[':
            items.append((key[1], _parse_list(toks, depth + 1)))
        else:
            items.append((key[1], val[1]))


def parse_gml(text):
    """Returns (nodes, edges): nodes a sorted list of GML ids (ints), edges a list of
    (source id, target id) pairs without self loops or duplicates (either order),
    in file order."""
    top = _parse_list(_tokens(text), 0)
    graphs = [v for k, v in top if k == 'graph' and isinstance(v, list)]
    if len(graphs) != 1:
        raise GMLError('want exactly one graph [ ... ], found %d' % len(graphs))
    nodes, edges, seen = [], [], set()
    for key, val in graphs[0]:
        if key == 'node' and isinstance(val, list):
            ids = [v for k, v in val if k == 'id']
            if len(ids) != 1:
                raise GMLError('node without exactly one id')
            try:
                nid = int(ids[0])
            except ValueError:
                raise GMLError('node id %r is not an integer' % ids[0])
            if nid in nodes:
                raise GMLError('duplicate node id %d' % nid)
            nodes.append(nid)
        elif key == 'edge' and isinstance(val, list):
            src = [v for k, v in val if k == 'source']
            dst = [v for k, v in val if k == 'target']
            if len(src) != 1 or len(dst) != 1:
                raise GMLError('edge without exactly one source and one target')
            try:
                s, t = int(src[0]), int(dst[0])
            except ValueError:
                raise GMLError('edge %r-%r: ids are not integers' % (src[0], dst[0]))
            if s == t or (min(s, t), max(s, t)) in seen:
                continue
            seen.add((min(s, t), max(s, t)))
            edges.append((s, t))
    known = set(nodes)
    for s, t in edges:
        if s not in known or t not in known:
            raise GMLError('edge %d-%d names an unknown node' % (s, t))
    if not nodes:
        raise GMLError('graph has no nodes')
    return sorted(nodes), edges


def host_opts(i):
    """IP and MAC of host number i (1-based)."""
    if not 1 <= i <= 0xfffe:
        raise ValueError('host number %d out of range' % i)
    ip = '10.%d.%d.%d/8' % ((i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff)
    return {'ip': ip, 'mac': '00:00:00:00:%02x:%02x' % (i >> 8, i & 0xff)}


class CemonTopo(Topo):
    """Base: numbered switches with explicit dpids and the cemon switch options."""

    def switch(self, i):
        return self.addSwitch('s%d' % i, dpid='%016x' % i, **SWITCH_OPTS)

    def host(self, i, sw):
        """Adds host hI on the next free port of sw; call before sw's other links
        so that the host sits on port 1."""
        h = self.addHost('h%d' % i, cls=CemonHost, **host_opts(i))
        self.addLink(h, sw)
        return h


class GMLTopo(CemonTopo):
    """One switch per GML node (in id order: node with the smallest id is s1), one
    host per switch on port 1, one link per GML edge."""

    def build(self, path=ABILENE_GML):
        with open(path) as f:
            nodes, edges = parse_gml(f.read())
        name = {}
        for i, nid in enumerate(nodes, start=1):
            name[nid] = self.switch(i)
            self.host(i, name[nid])
        for s, t in edges:
            self.addLink(name[s], name[t])


class AbileneTopo(GMLTopo):
    """Abilene: 11 switches, 14 links, 11 hosts."""

    def build(self):
        GMLTopo.build(self, ABILENE_GML)


class LinearTopo(CemonTopo):
    """n switches in a line, one host each."""

    def build(self, n=4):
        n = int(n)
        if n < 1:
            raise ValueError('linear: need at least one switch, got %d' % n)
        prev = None
        for i in range(1, n + 1):
            sw = self.switch(i)
            self.host(i, sw)
            if prev:
                self.addLink(prev, sw)
            prev = sw


class FatTreeTopo(CemonTopo):
    """k-ary fat-tree: switches s1..s(k*k/4) core, then k*k/2 aggregation, then k*k/2
    edge; k/2 hosts per edge switch on its ports 1..k/2."""

    def build(self, k=4):
        k = int(k)
        if k < 2 or k % 2:
            raise ValueError('fattree: k must be even and at least 2, got %d' % k)
        half = k // 2
        ncore = half * half
        core = [self.switch(i + 1) for i in range(ncore)]
        agg, edge = [], []
        for pod in range(k):
            for j in range(half):
                agg.append(self.switch(ncore + pod * half + j + 1))
        for pod in range(k):
            for j in range(half):
                edge.append(self.switch(ncore + k * half + pod * half + j + 1))
        hostno = 0
        for e in edge:
            for _ in range(half):
                hostno += 1
                self.host(hostno, e)
        for pod in range(k):
            for j in range(half):
                e = edge[pod * half + j]
                for a in range(half):
                    self.addLink(e, agg[pod * half + a])
        for pod in range(k):
            for a in range(half):
                for c in range(half):
                    self.addLink(agg[pod * half + a], core[a * half + c])


class ServersTopo(CemonTopo):
    """n servers of m VMs each, every server an edge switch as the Open vSwitch
    bridge of a hypervisor is: server switch s(i+1) (dpid i+1, i = 1..n) holds VM
    hosts on ports 1..m and its uplink, its NIC, on port m+1 to the core switch s1.
    Hosts are numbered by server: h1..hm on s2, and so on."""

    def build(self, n=3, m=2):
        n, m = int(n), int(m)
        if n < 1 or m < 1:
            raise ValueError('servers: need at least one server and one VM each, got %d,%d' % (n, m))
        core = self.switch(1)
        hostno = 0
        for i in range(n):
            sw = self.switch(i + 2)
            for _ in range(m):
                hostno += 1
                self.host(hostno, sw)
            self.addLink(sw, core)


controllers = {'cemon': CemonController}

topos = {
    'abilene': AbileneTopo,
    'gml': GMLTopo,
    'linear': LinearTopo,
    'fattree': FatTreeTopo,
    'servers': ServersTopo,
}
