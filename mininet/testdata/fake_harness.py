#!/usr/bin/python3
"""A stand-in for harness.py that speaks its protocol without Mininet, for the Go
client's tests. Behaviour by --topo: "ok" answers commands; "fail" refuses to start;
"die" exits after the first command."""
import json
import sys

args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
topo = args.get('--topo')


def answer(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


if topo == 'fail':
    sys.stderr.write('fake: refusing to start\n')
    answer({'cmd': 'ready', 'ok': False, 'error': 'bridge s1 already exists'})
    sys.exit(1)
info = {'topo': topo, 'switches': [{'name': 's1', 'dpid': '0000000000000001',
                                    'ports': [{'port_no': 1, 'name': 's1-eth1'}]}],
        'links': [], 'hosts': [{'name': 'h1', 'mac': '00:00:00:00:00:01', 'ip': '10.0.0.1',
                                'dpid': '0000000000000001', 'port': 1, 'switch': 's1'}],
        'controller': args.get('--controller'), 'startup_seconds': 0.1}
answer({'cmd': 'ready', 'ok': True, 'result': info})
for line in sys.stdin:
    req = json.loads(line)
    cmd = req['cmd']
    if topo == 'die':
        sys.exit(3)
    if cmd == 'quit':
        answer({'cmd': 'quit', 'ok': True, 'result': {}})
        break
    if cmd == 'pingall':
        answer({'cmd': cmd, 'ok': True, 'result': {'sent': 2, 'received': 1, 'lost': [['h1', 'h2']]}})
    elif cmd == 'dump_flows':
        answer({'cmd': cmd, 'ok': True, 'result': {'s1': [{
            'cookie': 18446744073709551615, 'duration': 1.5, 'table': 0, 'n_packets': 3,
            'n_bytes': 294, 'priority': 65535, 'idle_timeout': 3, 'hard_timeout': 0,
            'match': {'proto': 'icmp', 'in_port': '1'}, 'in_port': 1,
            'actions': 'output:2', 'outputs': [2]}]}})
    elif cmd == 'host_cmd':
        answer({'cmd': cmd, 'ok': True, 'result': {'output': 'ran: ' + req['run']}})
    else:
        answer({'cmd': cmd, 'ok': False, 'error': 'unknown command %r' % cmd})
