#!/usr/bin/env python3
"""Captures golden netlink requests from iproute2: runs each command under strace inside the
sandbox and writes test/fixtures/netlink/<name>.hex (4-byte groups, '#' comments). The .json
next to each fixture (hand-written) says which podnet call must produce the same bytes.

usage: scripts/sandbox.sh python3 scripts/capture-golden.py
"""
import os, re, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'netlink')

if os.environ.get('PODNET_IN_SANDBOX') != '1':
    sys.exit('run me inside scripts/sandbox.sh')

SETUP = ['ip netns add a', 'ip netns add b']
# (fixture name, command); commands run in order, so ifindexes are deterministic:
# a: lo=1 va=2 vc=3 vd=4 br0=5 br1=6 ...
CASES = [
    ('veth-peer-netns', 'ip -n a link add va type veth peer name vb netns b'),
    ('veth-mtu-address', 'ip -n a link add vc mtu 1400 address 02:00:00:00:00:01 type veth peer name vd mtu 1400'),
    ('bridge', 'ip -n a link add br0 type bridge'),
    ('bridge-options', 'ip -n a link add br1 type bridge forward_delay 0 stp_state 0'),
    ('vxlan', 'ip -n a link add vx0 type vxlan id 42 dstport 4789 local 10.1.0.1'),
    ('macvlan', 'ip -n a link add mv0 link vc type macvlan mode bridge'),
    ('ifb', 'ip -n a link add ifb0 type ifb'),
    ('link-set-master', 'ip -n a link set va master br0'),
    ('link-set-up', 'ip -n a link set br0 up'),
    ('link-set-mtu', 'ip -n a link set va mtu 1300'),
    ('link-set-hairpin', 'ip -n a link set va type bridge_slave hairpin on'),
    ('link-set-nomaster', 'ip -n a link set va nomaster'),
    ('addr-add-v4', 'ip -n a addr add 10.1.0.1/24 dev br0'),
    ('addr-add-v6', 'ip -n a addr add fd00::1/64 dev br0 nodad'),
    ('route-add-cidr', 'ip -n a route add 10.2.0.0/16 via 10.1.0.5 dev br0 metric 100'),
    ('route-add-default', 'ip -n a route add default via 10.1.0.254'),
    ('route-del-default', 'ip -n a route del default via 10.1.0.254'),
    # traffic control (a: va=2 vc=3 vd=4 ifb0=9)
    ('tc-qdisc-tbf', 'tc -n a qdisc add dev va root handle 1: tbf rate 10mbit burst 32kb latency 25ms'),
    ('tc-qdisc-tbf-rate64', 'tc -n a qdisc add dev vc root handle 1: tbf rate 40gbit burst 1mb latency 25ms'),
    ('tc-qdisc-ingress', 'tc -n a qdisc add dev va handle ffff: ingress'),
    ('tc-filter-u32-mirred', 'tc -n a filter add dev va parent ffff: protocol all prio 1 u32 match u32 0 0 action mirred egress redirect dev ifb0'),
    ('tc-filter-del', 'tc -n a filter del dev va parent ffff: protocol all prio 1 u32'),
    ('tc-qdisc-del-ingress', 'tc -n a qdisc del dev va ingress'),
    ('tc-qdisc-del-root', 'tc -n a qdisc del dev va root'),
    ('tc-qdisc-clsact', 'tc -n a qdisc add dev va clsact'),
    ('tc-qdisc-htb', 'tc -n a qdisc add dev vd root handle 1: htb default 20'),
    ('tc-class-htb', 'tc -n a class add dev vd parent 1: classid 1:1 htb rate 100mbit ceil 100mbit'),
    ('tc-class-htb-prio', 'tc -n a class add dev vd parent 1:1 classid 1:10 htb rate 5mbit ceil 100mbit prio 0'),
    ('tc-class-htb-rate64', 'tc -n a class add dev vd parent 1:1 classid 1:20 htb rate 40gbit ceil 40gbit prio 7'),
    ('addr-del-v4', 'ip -n a addr del 10.1.0.1/24 dev br0'),
    ('link-del', 'ip -n a link del vc'),
    # the overlay's objects (vx1 is ifindex 10): a VXLAN device without learning, an FDB entry
    # to a remote VTEP, a permanent neighbour and an onlink route through it
    ('vxlan-nolearning', 'ip -n a link add vx1 mtu 1450 type vxlan id 1 local 10.1.0.1 dev br0 dstport 4789 nolearning'),
    ('fdb-append', 'bridge -n a fdb append 02:00:00:00:00:02 dev vx1 dst 10.1.0.2 self permanent'),
    ('fdb-del', 'bridge -n a fdb del 02:00:00:00:00:02 dev vx1 dst 10.1.0.2 self'),
    ('neigh-replace', 'ip -n a neigh replace 10.244.2.1 lladdr 02:00:00:00:00:02 dev vx1 nud permanent'),
    ('neigh-del', 'ip -n a neigh del 10.244.2.1 dev vx1'),
    ('link-set-up-vxlan', 'ip -n a link set vx1 up'),
    ('route-replace-onlink', 'ip -n a route replace 10.244.2.0/24 via 10.244.2.1 dev vx1 onlink'),
]

for c in SETUP:
    subprocess.run(c.split(), check=True)

os.makedirs(OUT, exist_ok=True)
for name, cmd in CASES:
    r = subprocess.run(['strace', '-e', 'trace=sendmsg', '-e', 'write=all'] + cmd.split(), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f'{cmd}: {r.stderr}')
    # collect each sendmsg's dump; keep the last one (iproute2 may look names up first)
    dumps, cur = [], None
    for line in r.stderr.splitlines():
        if line.startswith('sendmsg('):
            cur = bytearray(); dumps.append(cur)
        m = re.match(r'^ \| [0-9a-f]{5}  (.{48})', line)
        if m and cur is not None:
            cur.extend(bytes.fromhex(''.join(re.findall(r'[0-9a-f]{2}', m.group(1)))))
    msg = bytes(dumps[-1])
    # zero the sequence number: it is time-based
    msg = msg[:8] + b'\0\0\0\0' + msg[12:]
    lines = [f'# {cmd}', '# captured from iproute2 by scripts/capture-golden.py (seq zeroed)']
    for i in range(0, len(msg), 16):
        lines.append(' '.join(msg[j:j + 4].hex() for j in range(i, min(i + 16, len(msg)), 4)))
    open(os.path.join(OUT, f'{name}.hex'), 'w').write('\n'.join(lines) + '\n')
    print(f'{name}: {len(msg)} bytes')
