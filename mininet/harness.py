#!/usr/bin/python3
"""End-to-end harness: a Mininet network of Open vSwitch switches driven by cemon.

    python3 mininet/harness.py --topo abilene --controller 127.0.0.1:PORT [--script FILE]
    python3 mininet/harness.py --topo abilene --cemon bin/cemon [--cemon-args '--idle-timeout 3s']
    python3 mininet/harness.py --topo linear,4 --controller 127.0.0.1:PORT --listen

With --listen every switch also listens for controllers on a loopback port of its own
(OpenFlow's passive mode, an Open vSwitch ptcp:PORT:127.0.0.1 target; consecutive
ports from a free range), given as "listen" in each switch's info, for
`cemon run --switch-connect`.

Brings the topology up (Open vSwitch userspace datapath, OpenFlow 1.0, fail-secure,
remote controller at --controller; or, with --cemon, first starts that cemon binary
on free loopback ports and uses it), then reads commands, one JSON object per line,
from --script (or standard input) and answers each with one JSON line on standard
output:

    {"cmd": NAME, "ok": true, "result": ...}   or   {"cmd": NAME, "ok": false, "error": "..."}

The first line written, before any command is read, is {"cmd": "ready", "ok": true,
"result": INFO} (INFO as the "info" command returns), or an error line if the network
could not start. Mininet's own messages go to standard error.

Commands ({"cmd": NAME, ...arguments}):

    info                      ground truth: switches (name, dpid, ports, listen), links (one
                              per direction, switch ports), hosts (name, mac, ip,
                              dpid, port)
    wait_connected  timeout   wait until every switch is connected to its controller
                    switches  (optional list of names)
    pingall         timeout   ping every ordered host pair once (ping -c1 -W timeout),
                    hosts     sequentially; result: sent, received, lost pairs
    iperf_start     pairs     start iperf3 transfers; each pair {src, dst, udp, duration,
                              bandwidth, port, cport, length, pacing_timer};
                              result: {"id": N}
    iperf_wait      id        wait for them; result: per pair the sender's totals
                    timeout   (bytes, packets for UDP, ports) parsed from iperf3 -J
    iperf           pairs     iperf_start then iperf_wait
    dump_flows      switches  ovs-ofctl -O OpenFlow10 -F openflow10 dump-flows of each
                              switch (default all); result: {name: [entry, ...]}
    snoop_start     switches  start ovs-ofctl snoop on each switch's controller
                              connection (default all), recording what it says
    flow_removed    switches  the FLOW_REMOVED messages each snooped switch has sent
                              since snoop_start; result: {name: [{cookie, reason,
                              duration, packets, bytes}, ...]}
    del_controller  switch    ovs-vsctl del-controller SWITCH
    set_controller  switch    ovs-vsctl set-controller SWITCH tcp:CONTROLLER (and its
                              loopback listener, with --listen)
    host_cmd        host run  run a shell command in a host; result: its output
    api             path      GET cemon's REST API (with --cemon or --api); result:
                              {"status": N, "body": the decoded JSON}
    sleep           seconds   pause (at most 60 s)
    quit                      tear down and exit 0

Teardown (net.stop and removal of exactly this network's bridges, interfaces and
processes, then SIGTERM to the cemon it started) happens on quit, end of input,
SIGINT, SIGTERM, SIGHUP or any failure.
Runs are serialized machine-wide with flock on /tmp/cemon-mininet.lock.
"""

import argparse
import errno
import fcntl
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

LOCK_PATH = '/tmp/cemon-mininet.lock'
OWNER_KEY = 'cemon-harness'


class HarnessError(Exception):
    """A command that could not be carried out."""


class Interrupted(BaseException):
    """A terminating signal arrived."""


def _on_signal(signum, _frame):
    raise Interrupted('signal %d' % signum)


def log(msg):
    sys.stderr.write('harness: %s\n' % msg)
    sys.stderr.flush()


def run(argv, timeout=30, check=True):
    """Runs a command in the root namespace; returns its standard output."""
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, universal_newlines=True)
    except subprocess.TimeoutExpired:
        raise HarnessError('%s: timed out after %ss' % (' '.join(argv), timeout))
    if check and p.returncode != 0:
        raise HarnessError('%s: exit %d: %s' % (' '.join(argv), p.returncode, p.stderr.strip()))
    return p.stdout


# ---------------------------------------------------------------- dump-flows parsing

_STAT_KEYS = {'cookie', 'duration', 'table', 'n_packets', 'n_bytes', 'idle_timeout',
              'hard_timeout', 'idle_age', 'hard_age', 'priority', 'send_flow_rem',
              'check_overlap', 'reset_counts', 'no_packet_counts', 'no_byte_counts',
              'importance'}
_PROTOS = {'ip', 'ipv6', 'tcp', 'udp', 'icmp', 'arp', 'rarp', 'sctp', 'tcp6', 'udp6',
           'icmp6', 'sctp6', 'mpls', 'mplsm'}


def parse_flow_line(line):
    """Parses one line of ovs-ofctl dump-flows (with --no-names) into a dict:
    cookie, duration (s), table, n_packets, n_bytes, priority, idle_timeout,
    hard_timeout (ints, 0 when absent), match (dict of match fields, protocol
    shorthands as 'proto'), in_port, actions (text) and outputs (list of ports)."""
    line = line.strip()
    if ' actions=' not in line:
        raise HarnessError('dump-flows line without actions: %r' % line)
    head, actions = line.split(' actions=', 1)
    entry = {'cookie': 0, 'duration': 0.0, 'table': 0, 'n_packets': 0, 'n_bytes': 0,
             'priority': 32768, 'idle_timeout': 0, 'hard_timeout': 0, 'match': {},
             'in_port': None, 'actions': actions, 'outputs': []}
    for field in re.split(r'[,\s]+', head):
        if not field:
            continue
        key, _, val = field.partition('=')
        if key in _STAT_KEYS:
            if key == 'cookie':
                entry['cookie'] = int(val, 16)
            elif key == 'duration':
                entry['duration'] = float(val.rstrip('s'))
            elif key in ('idle_age', 'hard_age'):
                continue
            elif val:
                entry[key] = int(val)
        elif not val and key in _PROTOS:
            entry['match']['proto'] = key
        else:
            entry['match'][key] = val
    if 'in_port' in entry['match']:
        entry['in_port'] = int(entry['match']['in_port'])
    for act in re.findall(r'output:(\d+)', actions):
        entry['outputs'].append(int(act))
    return entry


_FLOW_REMOVED = re.compile(
    r'OFPT_FLOW_REMOVED \(xid=0x[0-9a-f]+\): .*? reason=(\S+)(?: cookie:(0x[0-9a-f]+))?'
    r' duration([\d.]+)s(?: idle\d+)?(?: hard\d+)? pkts(\d+) bytes(\d+)')


def parse_flow_removed(line):
    """Parses one FLOW_REMOVED line of ovs-ofctl snoop; None for other lines."""
    m = _FLOW_REMOVED.search(line)
    if not m:
        return None
    return {'reason': m.group(1), 'cookie': int(m.group(2) or '0', 16),
            'duration': float(m.group(3)), 'packets': int(m.group(4)), 'bytes': int(m.group(5))}


def parse_dump_flows(text):
    """Parses ovs-ofctl dump-flows output (reply header line skipped)."""
    out = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith('OFPST_FLOW') or s.startswith('NXST_FLOW'):
            continue
        out.append(parse_flow_line(s))
    return out


# ---------------------------------------------------------------- iperf3 results

def iperf_summary(doc, udp):
    """The sender's totals from an iperf3 -J client document."""
    if 'error' in doc and doc['error']:
        raise HarnessError('iperf3: %s' % doc['error'])
    conn = (doc.get('start', {}).get('connected') or [{}])[0]
    end = doc.get('end', {})
    res = {
        'src_ip': conn.get('local_host'), 'src_port': conn.get('local_port'),
        'dst_ip': conn.get('remote_host'), 'dst_port': conn.get('remote_port'),
        'protocol': 'udp' if udp else 'tcp',
    }
    if udp:
        s = end.get('sum', {})
        res.update({'bytes_sent': s.get('bytes'), 'packets_sent': s.get('packets'),
                    'seconds': s.get('seconds'), 'bits_per_second': s.get('bits_per_second'),
                    'lost_packets': s.get('lost_packets')})
    else:
        s = end.get('sum_sent', {})
        res.update({'bytes_sent': s.get('bytes'), 'seconds': s.get('seconds'),
                    'bits_per_second': s.get('bits_per_second'),
                    'retransmits': s.get('retransmits'),
                    'bytes_received': end.get('sum_received', {}).get('bytes')})
    return res


# ---------------------------------------------------------------- cemon

def free_port():
    s = socket.socket()
    try:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _port_free(port):
    s = socket.socket()
    try:
        s.bind(('127.0.0.1', port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port_range(n, lo=20000, hi=32000):
    """The first of n consecutive loopback ports that are all free, from a random
    place in [lo, hi) (below Linux's ephemeral range, so that a connection's local
    port does not take one between the probe and the listen)."""
    import random
    for _ in range(100):
        base = random.randrange(lo, hi - n)
        if 6653 not in range(base, base + n) and all(_port_free(p) for p in range(base, base + n)):
            return base
    raise HarnessError('no %d consecutive free loopback ports in %d..%d' % (n, lo, hi))


def api_get(base, path, timeout=10):
    """GET base+path; returns (status, decoded JSON body or None)."""
    if not isinstance(path, str) or not path.startswith('/'):
        raise HarnessError('api: want a path starting with /')
    try:
        with urllib.request.urlopen(base + path, timeout=timeout) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        raise HarnessError('api: GET %s: %s' % (path, e))
    try:
        return status, json.loads(body.decode() or 'null')
    except ValueError:
        return status, body.decode(errors='replace')


class Cemon(object):
    """A `cemon run` this harness started and stops."""

    def __init__(self, binary, args):
        if not os.access(binary, os.X_OK):
            raise HarnessError('--cemon %s: not an executable file' % binary)
        self.of_addr = '127.0.0.1:%d' % free_port()
        self.api = 'http://127.0.0.1:%d' % free_port()
        # cemon's inventory store goes to a directory of its own, removed at stop.
        self.data_dir = tempfile.mkdtemp(prefix='cemon-data-')
        argv = [binary, 'run', '--of-listen', self.of_addr, '--api-listen', self.api[len('http://'):],
                '--data-dir', self.data_dir] + args
        log('starting %s' % ' '.join(argv))
        self.proc = subprocess.Popen(argv, stdout=sys.stderr, stderr=sys.stderr)
        deadline = time.time() + 15
        while True:
            if self.proc.poll() is not None:
                raise HarnessError('cemon exited with status %d at start' % self.proc.returncode)
            try:
                if api_get(self.api, '/healthz', timeout=1)[0] == 200:
                    return
            except HarnessError:
                pass
            if time.time() > deadline:
                raise HarnessError('cemon: /healthz did not answer 200 within 15 s')
            time.sleep(0.1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                log('cemon did not stop within 15 s of SIGTERM; killing it')
                self.proc.kill()
                self.proc.wait()
        log('cemon exited with status %d' % self.proc.returncode)
        shutil.rmtree(self.data_dir, ignore_errors=True)
        return self.proc.returncode


# ---------------------------------------------------------------- the harness

class Harness(object):
    def __init__(self, topo_spec, controller, api=None, listen=False):
        self.topo_spec = topo_spec
        self.listen = listen  # each switch listens for controllers on loopback (ptcp)
        self.api = api  # cemon's REST base URL, when known
        host, _, port = controller.rpartition(':')
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise HarnessError('--controller %r: want HOST:PORT' % controller)
        if int(port) == 6653:
            raise HarnessError('--controller: port 6653 is reserved; use a free port')
        self.ctl_ip, self.ctl_port = host, int(port)
        self.net = None
        self.topo = None
        self.owned = set()     # switch and host names checked free before the build
        self.intfs_before = set()  # interfaces in the root namespace before the build
        self.procs = []        # every Popen this harness started in a host
        self.iperfs = {}       # id -> list of running transfers
        self.snoops = {}       # switch name -> (ovs-ofctl snoop process, its lines)
        self.snoop_lock = threading.Lock()
        self.next_iperf = 1

    # -- setup and teardown

    def build_topo(self):
        import topos
        name, _, rest = self.topo_spec.partition(',')
        if name not in topos.topos:
            raise HarnessError('unknown topology %r (have %s)' % (name, ', '.join(sorted(topos.topos))))
        args = [a for a in rest.split(',') if a] if rest else []
        return topos.topos[name](*args)

    def preflight(self, switch_names):
        """Refuses to touch bridges this harness did not create; removes leftovers
        of an earlier harness run whose process is gone, and abandoned test bridges
        (Mininet's, on the userspace datapath, every controller on loopback and none
        connected) that a run cut short before it could mark them."""
        existing = set(run(['ovs-vsctl', '--timeout=10', 'list-br']).split())
        for sw in switch_names:
            if sw not in existing:
                # Interfaces under a switch's name with no such bridge are what a run
                # cut short left behind; no live network has them.
                _remove_intfs(sw)
                continue
            owner = _bridge_owner(sw)
            if owner and not _mark_alive(owner):
                log('removing bridge %s left by harness %s, which is gone' % (sw, owner))
                _remove_leftover(sw)
                continue
            if not owner:
                why = _abandoned(sw)
                if why:
                    log('removing unmarked bridge %s: %s' % (sw, why))
                    _remove_leftover(sw)
                    continue
            raise HarnessError('bridge %s already exists and is not a leftover of this harness '
                               '(another Mininet network?); not touching it' % sw)

    def start(self):
        from mininet.net import Mininet
        from mininet.node import OVSSwitch
        from mininet.log import setLogLevel
        from topos import CemonController

        setLogLevel('warning')
        self.topo = self.build_topo()
        self.preflight(self.topo.switches())
        # We hold the lock and none of these bridges exists: whatever appears under
        # these names from now on is ours to remove.
        self.owned = set(self.topo.switches()) | set(self.topo.hosts())
        self.intfs_before = set(os.listdir('/sys/class/net'))
        mark = _own_mark()

        class MarkedSwitch(OVSSwitch):
            """Open vSwitch bridges carrying this run's mark from the command that
            creates them, so a later run can tell its leftovers from others'. Their
            listener for controllers (listenPort) is on loopback only: Mininet's own
            (ptcp:PORT) would listen on every interface."""

            def bridgeOpts(self):
                return OVSSwitch.bridgeOpts(self) + ' external_ids:%s=%s' % (OWNER_KEY, mark)

            def start(self, controllers):
                port, self.listenPort = self.listenPort, None
                try:
                    OVSSwitch.start(self, controllers)
                finally:
                    self.listenPort = port
                if port:
                    self.vsctl('-- --id=@%slisten create Controller target=\\"%s\\" -- add Bridge %s controller @%slisten'
                               % (self.name, listen_target(port), self.name, self.name))

        listen_base = None
        if self.listen:
            listen_base = free_port_range(len(self.topo.switches()))
        self.net = Mininet(topo=self.topo, switch=MarkedSwitch, controller=None, build=False,
                           autoSetMacs=False, autoStaticArp=False, waitConnected=False,
                           listenPort=listen_base)
        self.net.addController(CemonController('c0', ip=self.ctl_ip, port=self.ctl_port))
        self.net.build()
        self.net.start()
        for sw in self.net.switches:
            for intf in sw.intfList():
                _disable_ipv6('/proc/sys/net/ipv6/conf/%s/disable_ipv6' % intf.name)
        for h in self.net.hosts:
            h.cmd('sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1')
            for intf in h.intfList():
                # TCP through the userspace datapath fails on checksums otherwise.
                h.cmd('ethtool -K %s tx off >/dev/null 2>&1' % intf.name)

    def stop(self):
        _stop_procs(self.procs)
        self.procs = []
        names, intfs = [], []
        if self.net is not None:
            names = [s.name for s in self.net.switches]
            for s in self.net.switches:
                intfs += [i.name for i in s.intfList() if i.name != 'lo']
            try:
                self.net.stop()
            except Exception as e:
                log('net.stop: %s' % e)
            self.net = None
        elif self.topo is not None:
            names = list(self.topo.switches())
        # Exactly our own leftovers, if net.stop left any (or the build was cut short):
        # bridges under our names that did not exist before (or carry our mark), and
        # veth ends named after our nodes that appeared since.
        if names:
            existing = set(run(['ovs-vsctl', '--timeout=10', 'list-br'], check=False).split())
            for sw in names:
                if sw not in existing:
                    continue
                owner = _bridge_owner(sw)
                if owner == _own_mark() or (sw in self.owned and not owner):
                    log('removing leftover bridge %s' % sw)
                    run(['ovs-vsctl', '--timeout=10', '--if-exists', 'del-br', sw], check=False)
        if self.owned:
            for i in sorted(set(os.listdir('/sys/class/net')) - self.intfs_before):
                m = re.match(r'^(.+)-eth\d+$', i)
                if m and m.group(1) in self.owned:
                    intfs.append(i)
        for i in sorted(set(intfs)):
            if os.path.exists('/sys/class/net/%s' % i):
                run(['ip', 'link', 'del', i], check=False)

    # -- helpers

    def node(self, name, kind):
        try:
            n = self.net.get(name)
        except KeyError:
            raise HarnessError('no %s named %r' % (kind, name))
        if kind == 'host' and n not in self.net.hosts:
            raise HarnessError('%r is not a host' % name)
        if kind == 'switch' and n not in self.net.switches:
            raise HarnessError('%r is not a switch' % name)
        return n

    def switch_names(self, arg):
        if arg is None:
            return [s.name for s in self.net.switches]
        if not isinstance(arg, list):
            raise HarnessError('switches: want a list of names')
        for n in arg:
            self.node(n, 'switch')
        return arg

    # -- commands

    def cmd_info(self, _args):
        sws, links, hosts = [], [], []
        dpid = {s.name: '%016x' % int(s.dpid, 16) for s in self.net.switches}
        for s in self.net.switches:
            ports = []
            for intf in s.intfList():
                if intf.name == 'lo':
                    continue
                ports.append({'port_no': s.ports[intf], 'name': intf.name})
            sw = {'name': s.name, 'dpid': dpid[s.name], 'ports': ports}
            if self.listen and s.listenPort:
                sw['listen'] = '127.0.0.1:%d' % s.listenPort
            sws.append(sw)
        for link in self.net.links:
            a, b = link.intf1, link.intf2
            na, nb = a.node, b.node
            if na.name in dpid and nb.name in dpid:
                pa, pb = na.ports[a], nb.ports[b]
                links.append({'src_dpid': dpid[na.name], 'src_port': pa, 'dst_dpid': dpid[nb.name], 'dst_port': pb})
                links.append({'src_dpid': dpid[nb.name], 'src_port': pb, 'dst_dpid': dpid[na.name], 'dst_port': pa})
            else:
                h, hi, s, si = (na, a, nb, b) if nb.name in dpid else (nb, b, na, a)
                hosts.append({'name': h.name, 'mac': hi.MAC(), 'ip': hi.IP(),
                              'dpid': dpid[s.name], 'port': s.ports[si], 'switch': s.name})
        return {'topo': self.topo_spec, 'switches': sws, 'links': links, 'hosts': hosts,
                'controller': '%s:%d' % (self.ctl_ip, self.ctl_port), 'api': self.api}

    def connected_switches(self):
        out = run(['ovs-vsctl', '--timeout=10', '--format=json', '--columns=name,controller',
                   'list', 'Bridge'])
        bridges = json.loads(out)
        ctl = json.loads(run(['ovs-vsctl', '--timeout=10', '--format=json',
                              '--columns=_uuid,is_connected', 'list', 'Controller']))
        connected = {row[0][1] for row in ctl['data'] if row[1] is True}
        res = set()
        for name, ctlref in bridges['data']:
            uuids = []
            if ctlref[0] == 'uuid':
                uuids = [ctlref[1]]
            elif ctlref[0] == 'set':
                uuids = [u[1] for u in ctlref[1]]
            if any(u in connected for u in uuids):
                res.add(name)
        return res

    def cmd_wait_connected(self, args):
        names = self.switch_names(args.get('switches'))
        deadline = time.time() + _bounded(args.get('timeout', 30), 120)
        while True:
            up = self.connected_switches()
            missing = [n for n in names if n not in up]
            if not missing:
                return {'connected': names}
            if time.time() > deadline:
                raise HarnessError('switches not connected: %s' % ' '.join(missing))
            time.sleep(0.1)

    def cmd_pingall(self, args):
        timeout = int(_bounded(args.get('timeout', 2), 10))
        hosts = [self.node(n, 'host') for n in args.get('hosts') or [h.name for h in self.net.hosts]]
        sent, received, lost = 0, 0, []
        for src in hosts:
            for dst in hosts:
                if src is dst:
                    continue
                sent += 1
                out = src.cmd('ping -c1 -W%d %s' % (timeout, dst.IP()))
                m = re.search(r'(\d+) received', out)
                if m and int(m.group(1)) >= 1:
                    received += 1
                else:
                    lost.append([src.name, dst.name])
        return {'sent': sent, 'received': received, 'lost': lost}

    def cmd_iperf_start(self, args):
        pairs = args.get('pairs')
        if not isinstance(pairs, list) or not pairs:
            raise HarnessError('iperf_start: want a non-empty list of pairs')
        transfers, used = [], set()
        for i, p in enumerate(pairs):
            src, dst = self.node(p.get('src'), 'host'), self.node(p.get('dst'), 'host')
            if src is dst:
                raise HarnessError('iperf pair %d: src and dst are the same host' % i)
            port = int(p.get('port', 5201 + i))
            if (dst.name, port) in used:
                raise HarnessError('iperf pair %d: %s port %d used twice' % (i, dst.name, port))
            used.add((dst.name, port))
            udp = bool(p.get('udp', False))
            duration = _bounded(p.get('duration', 3), 60)
            server = dst.popen(['iperf3', '-s', '-1', '-p', str(port), '-J'],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.procs.append(server)
            transfers.append({'src': src, 'dst': dst, 'port': port, 'udp': udp,
                              'duration': duration, 'bandwidth': p.get('bandwidth'),
                              'cport': p.get('cport'), 'length': p.get('length'),
                              'pacing_timer': p.get('pacing_timer'), 'server': server,
                              'parallel': int(p.get('parallel') or 0)})
        for t in transfers:
            _wait_listening(t['dst'], t['port'], 5)
        for t in transfers:
            argv = ['iperf3', '-c', t['dst'].IP(), '-p', str(t['port']), '-t', str(t['duration']), '-J']
            if t['udp']:
                argv += ['-u', '-b', str(t['bandwidth'] or '1M')]
            elif t['bandwidth']:
                argv += ['-b', str(t['bandwidth'])]
            if t['cport']:
                argv += ['--cport', str(int(t['cport']))]
            argv += _iperf_length_args(t['length'])
            argv += _iperf_pacing_args(t['pacing_timer'])
            if t['parallel'] > 1:
                argv += ['-P', str(min(t['parallel'], 128))]
            t['client'] = t['src'].popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.procs.append(t['client'])
            t['started'] = time.time()
        ident = self.next_iperf
        self.next_iperf += 1
        self.iperfs[ident] = transfers
        return {'id': ident}

    def cmd_iperf_wait(self, args):
        ident = args.get('id')
        if ident not in self.iperfs:
            raise HarnessError('iperf_wait: no transfers with id %r' % ident)
        transfers = self.iperfs.pop(ident)
        limit = _bounded(args.get('timeout', 0) or max(t['duration'] for t in transfers) + 15, 120)
        deadline = time.time() + limit
        results = []
        for t in transfers:
            res = {'src': t['src'].name, 'dst': t['dst'].name}
            try:
                out, err = t['client'].communicate(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                t['client'].kill()
                t['client'].communicate()
                res['error'] = 'client did not finish within %ss' % limit
                results.append(res)
                continue
            finally:
                if t['server'].poll() is None:
                    try:
                        t['server'].wait(timeout=2)
                    except subprocess.TimeoutExpired:
                        t['server'].kill()
                        t['server'].wait()
            try:
                res.update(iperf_summary(json.loads(out.decode() or '{}'), t['udp']))
            except (ValueError, HarnessError) as e:
                res['error'] = '%s (stderr: %s)' % (e, err.decode().strip()[:200])
            results.append(res)
        return {'transfers': results}

    def cmd_iperf(self, args):
        started = self.cmd_iperf_start(args)
        return self.cmd_iperf_wait({'id': started['id'], 'timeout': args.get('timeout', 0)})

    def cmd_dump_flows(self, args):
        res = {}
        for n in self.switch_names(args.get('switches')):
            out = run(['ovs-ofctl', '-O', 'OpenFlow10', '-F', 'openflow10', '--no-names',
                       'dump-flows', n], timeout=15)
            res[n] = parse_dump_flows(out)
        return res

    def cmd_snoop_start(self, args):
        started = []
        for n in self.switch_names(args.get('switches')):
            if n in self.snoops:
                continue
            # snoop prints the messages on standard error (standard output line-buffered
            # too, in case that changes).
            p = subprocess.Popen(['stdbuf', '-oL', 'ovs-ofctl', 'snoop', n], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, universal_newlines=True)
            self.procs.append(p)
            lines = []
            self.snoops[n] = (p, lines)
            threading.Thread(target=self._snoop_reader, args=(p, lines), daemon=True).start()
            started.append(n)
        # ovs-ofctl connects to the snoop socket within moments; wait until each one has.
        deadline = time.time() + 5
        for n in started:
            sock = '/var/run/openvswitch/%s.snoop' % n
            while time.time() < deadline and not _snoop_connected(self.snoops[n][0].pid, sock):
                time.sleep(0.05)
        return {'switches': sorted(self.snoops)}

    def _snoop_reader(self, p, lines):
        for line in p.stdout:
            if 'OFPT_FLOW_REMOVED' in line:
                with self.snoop_lock:
                    lines.append(line)

    def cmd_flow_removed(self, args):
        res = {}
        for n in self.switch_names(args.get('switches') or sorted(self.snoops)):
            if n not in self.snoops:
                raise HarnessError('flow_removed: %s is not snooped (snoop_start first)' % n)
            with self.snoop_lock:
                lines = list(self.snoops[n][1])
            res[n] = [fr for fr in (parse_flow_removed(l) for l in lines) if fr]
        return res

    def cmd_del_controller(self, args):
        sw = self.node(args.get('switch'), 'switch')
        run(['ovs-vsctl', '--timeout=10', 'del-controller', sw.name])
        return {'switch': sw.name}

    def cmd_set_controller(self, args):
        sw = self.node(args.get('switch'), 'switch')
        targets = ['tcp:%s:%d' % (self.ctl_ip, self.ctl_port)]
        if self.listen and sw.listenPort:
            targets.append(listen_target(sw.listenPort))
        run(['ovs-vsctl', '--timeout=10', 'set-controller', sw.name] + targets)
        return {'switch': sw.name}

    def cmd_host_cmd(self, args):
        h = self.node(args.get('host'), 'host')
        c = args.get('run')
        if not isinstance(c, str) or not c:
            raise HarnessError('host_cmd: want a command string')
        return {'output': h.cmd(c)}

    def cmd_api(self, args):
        if not self.api:
            raise HarnessError('api: no cemon API known (use --cemon or --api)')
        status, body = api_get(self.api, args.get('path'))
        return {'status': status, 'body': body}

    def cmd_sleep(self, args):
        time.sleep(_bounded(args.get('seconds', 1), 60))
        return {}


def _stop_procs(procs, grace=3.0):
    """Stops the processes a harness started: SIGTERM to all, then SIGKILL to those
    still alive after grace seconds. A catchable signal first lets them clean up
    (ovs-ofctl snoop removes its unixctl socket, iperf3 exits cleanly)."""
    for p in procs:
        if p.poll() is None:
            try:
                p.terminate()
            except OSError as e:  # keep tearing down
                log('terminating pid %d: %s' % (p.pid, e))
    deadline = time.time() + grace
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            try:
                p.kill()
                p.wait(timeout=5)
            except Exception as e:  # keep tearing down
                log('killing pid %d: %s' % (p.pid, e))


def _iperf_length_args(length):
    """iperf3 -l for a transfer's optional 'length' (bytes per write, e.g. "8K"):
    small writes keep a rate-limited TCP sender smooth instead of one 128 KB burst
    at a time, which the statistics tests need."""
    if not length:
        return []
    length = str(length)
    if not re.match(r'^\d+[KM]?$', length):
        raise HarnessError('iperf length %r: want bytes such as 1400 or 8K' % length)
    return ['-l', length]


def _iperf_pacing_args(usec):
    """iperf3 --pacing-timer for a transfer's optional 'pacing_timer' (microseconds).
    iperf3's default 1 ms timer costs each rate-limited sender about 2 % of a core,
    which hundreds of concurrent senders cannot afford on a small machine."""
    if not usec:
        return []
    usec = int(_bounded(usec, 1000000))
    return ['--pacing-timer', str(usec)]


def _bounded(v, limit):
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise HarnessError('want a number, got %r' % (v,))
    if not 0 <= v <= limit:
        raise HarnessError('%s is outside 0..%s' % (v, limit))
    return v


def _remove_leftover(sw):
    """Deletes the leftover bridge sw and the interfaces its network left in the root
    namespace under its name (the veth pairs between switches outlive their run)."""
    run(['ovs-vsctl', '--timeout=10', '--if-exists', 'del-br', sw])
    _remove_intfs(sw)


def _remove_intfs(sw):
    for i in sorted(os.listdir('/sys/class/net')):
        if re.match(r'^%s-eth\d+$' % re.escape(sw), i) and os.path.exists('/sys/class/net/' + i):
            log('removing leftover interface %s' % i)
            run(['ip', 'link', 'del', i], check=False)


def _start_time(pid):
    """The process's start time in clock ticks since boot (field 22 of its stat),
    or None when there is no such process."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(')') + 2:].split()
    return fields[19] if len(fields) > 19 else None


def _own_mark():
    """This process as a bridge owner: its pid and start time, so that a pid reused
    by another process (or seen from another pid namespace) does not pass for it."""
    return '%d:%s' % (os.getpid(), _start_time(os.getpid()))


def _bridge_owner(sw):
    """The harness mark on bridge sw, or '' when it carries none."""
    owner = run(['ovs-vsctl', '--timeout=10', '--if-exists', 'get', 'Bridge', sw,
                 'external_ids:%s' % OWNER_KEY], check=False).strip().strip('"')
    return '' if owner == '[]' else owner


def _mark_alive(owner):
    """Whether the harness that left mark owner ("PID:START", or a bare PID from
    older runs) is still running."""
    pid, _, start = owner.partition(':')
    if not pid.isdigit():
        return True  # not ours to judge
    if not _alive(int(pid)):
        return False
    return not start or _start_time(int(pid)) == start


def _abandoned(sw):
    """Why the unmarked bridge sw is an abandoned test bridge, or '' when it may
    belong to a live network: it must be Mininet's (dp-desc is its name), on the
    userspace datapath, with controllers that are all on loopback and none of them
    connected."""
    def get(col):
        return run(['ovs-vsctl', '--timeout=10', '--if-exists', 'get', 'Bridge', sw, col],
                   check=False).strip()
    if get('datapath_type') != 'netdev':
        return ''
    if get('other_config:dp-desc').strip('"') != sw:
        return ''
    ctls = get('controller').strip('[]').replace(' ', '')
    if not ctls:
        return ''
    for uuid in ctls.split(','):
        target = run(['ovs-vsctl', '--timeout=10', 'get', 'Controller', uuid, 'target'],
                     check=False).strip().strip('"')
        connected = run(['ovs-vsctl', '--timeout=10', 'get', 'Controller', uuid, 'is_connected'],
                        check=False).strip()
        loopback = target.startswith('tcp:127.0.0.1:') or re.match(r'^ptcp:\d+:127\.0\.0\.1$', target)
        if not loopback or connected != 'false':
            return ''
    return 'a Mininet bridge on the userspace datapath whose loopback controllers are all gone'


def listen_target(port):
    """The Open vSwitch controller target of a switch listening on loopback port."""
    return 'ptcp:%d:127.0.0.1' % port


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError as e:
        return e.errno == errno.EPERM
    return True


def _disable_ipv6(path):
    try:
        with open(path, 'w') as f:
            f.write('1')
    except OSError:
        pass


def _snoop_connected(pid, sock):
    """Whether process pid holds a connection to the unix socket sock (best effort:
    true once it has any unix socket open, or when /proc cannot tell)."""
    try:
        fds = os.listdir('/proc/%d/fd' % pid)
    except OSError:
        return True
    for fd in fds:
        try:
            if os.readlink('/proc/%d/fd/%s' % (pid, fd)).startswith('socket:'):
                return True
        except OSError:
            pass
    return False


def _wait_listening(host, port, limit):
    deadline = time.time() + limit
    while time.time() < deadline:
        if host.cmd('ss -Hltn sport = :%d' % port).strip():
            return
        time.sleep(0.05)
    raise HarnessError('iperf3 server on %s port %d did not start' % (host.name, port))


def take_lock(limit):
    f = open(LOCK_PATH, 'a+')
    deadline = time.time() + limit
    while True:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return f
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                raise
        if time.time() > deadline:
            raise HarnessError('another Mininet run holds %s for more than %ss' % (LOCK_PATH, limit))
        time.sleep(0.2)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--topo', required=True, help='abilene | gml,FILE | linear,N | fattree,K')
    ap.add_argument('--controller', help='controller HOST:PORT (not 6653)')
    ap.add_argument('--cemon', help='start this cemon binary on free loopback ports and use it')
    ap.add_argument('--cemon-args', default='', help='more flags for `cemon run`, e.g. "--idle-timeout 3s"')
    ap.add_argument('--api', help="cemon's REST base URL for the api command (set by --cemon)")
    ap.add_argument('--listen', action='store_true',
                    help='every switch also listens for controllers on a loopback port (ptcp), for cemon --switch-connect')
    ap.add_argument('--script', help='file of JSON commands, one a line (default: standard input)')
    ap.add_argument('--lock-timeout', type=float, default=300, help='seconds to wait for the machine-wide lock')
    opts = ap.parse_args(argv)
    if bool(opts.controller) == bool(opts.cemon):
        ap.error('give exactly one of --controller and --cemon')

    # Answers go to the real standard output; anything else printed goes to stderr.
    out = os.fdopen(os.dup(1), 'w', buffering=1)
    os.dup2(2, 1)

    def answer(obj):
        out.write(json.dumps(obj, sort_keys=True) + '\n')
        out.flush()

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)

    if os.geteuid() != 0:
        answer({'cmd': 'ready', 'ok': False, 'error': 'harness: must run as root (Mininet)'})
        return 1
    status, h, lock, ready, cemon = 1, None, None, False, None
    try:
        script = open(opts.script) if opts.script else sys.stdin
        lock = take_lock(opts.lock_timeout)
        log('lock taken; bringing up %s' % opts.topo)
        controller, api = opts.controller, opts.api
        if opts.cemon:
            cemon = Cemon(opts.cemon, shlex.split(opts.cemon_args))
            controller, api = cemon.of_addr, cemon.api
        h = Harness(opts.topo, controller, api, listen=opts.listen)
        t0 = time.time()
        h.start()
        info = h.cmd_info({})
        info['startup_seconds'] = round(time.time() - t0, 3)
        answer({'cmd': 'ready', 'ok': True, 'result': info})
        ready = True
        for line in script:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            try:
                req = json.loads(line)
                if not isinstance(req, dict) or not isinstance(req.get('cmd'), str):
                    raise HarnessError('want {"cmd": NAME, ...}')
            except ValueError as e:
                answer({'cmd': None, 'ok': False, 'error': 'bad JSON: %s' % e})
                continue
            except HarnessError as e:
                answer({'cmd': None, 'ok': False, 'error': str(e)})
                continue
            name = req['cmd']
            if name == 'quit':
                answer({'cmd': 'quit', 'ok': True, 'result': {}})
                break
            fn = getattr(h, 'cmd_' + name, None)
            if fn is None:
                answer({'cmd': name, 'ok': False, 'error': 'unknown command %r' % name})
                continue
            t = time.time()
            try:
                res = fn(req)
                answer({'cmd': name, 'ok': True, 'result': res, 'seconds': round(time.time() - t, 3)})
            except HarnessError as e:
                answer({'cmd': name, 'ok': False, 'error': str(e), 'seconds': round(time.time() - t, 3)})
        status = 0
    except Interrupted as e:
        log('interrupted (%s): tearing down' % e)
        status = 130
    except Exception as e:
        log('failed: %s: %s' % (type(e).__name__, e))
        try:
            answer({'cmd': 'fatal' if ready else 'ready', 'ok': False, 'error': str(e)})
        except Exception:
            pass
        status = 1
    finally:
        # Signals during teardown must not cut it short.
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        if h is not None:
            h.stop()
        if cemon is not None and cemon.stop() != 0 and status == 0:
            status = 1
        if lock is not None:
            lock.close()
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
