"""Peer: the pod lifecycle in one Python process with pyroute2 (Debian python3-pyroute2), the
same work as podnet's attach. Run it inside the bench's host namespace (nsenter --net=...) with
/usr/bin/python3. Per pod:
  netns.create(POD)                       (pyroute2 forks a child to unshare + bind-mount)
  host IPRoute: veth with the pod end created in POD (eth0) and the host end enslaved at creation;
                addrgenmode none; hairpin; up
  pushns(POD) + IPRoute() + popns():      lo up, addrgenmode none on eth0 (no IPv6 link-local, as
                                          podnet), eth0 up, address, default route via the gateway
  nft -e -a -f -                          one DNAT rule (pyroute2 0.7 has no nf_tables rule
                                          builder for NAT: one `nft` process, handle kept)
Masquerade is per network, set up once. Addresses come from the pod index (no IPAM state).
DEL per pod: nft delete rule by handle; RTM_DELLINK of the host end (waits for the kernel's RCU
grace period); netns.remove.
Prints one JSON line (bench/network/lib.ts PodRun).

usage: pyroute2_pods.py N PREFIX HOSTPORT_BASE
"""
import json
import re
import os
import resource
import subprocess
import sys
import time

N, PREFIX, PORTBASE = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])

from pyroute2 import IPRoute, netns  # noqa: E402

AF_SPEC_NO_LL = {"attrs": [("AF_INET6", {"attrs": [("IFLA_INET6_ADDR_GEN_MODE", 1)]})]}


def now_ms():
    return time.perf_counter() * 1000


def cpu_ms():
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime) * 1000


def addr(i):
    k = i + 1
    return "10.201.%d.%d" % (k >> 8, k & 255)


def nft(text, echo=False):
    args = ["nft", "-e", "-a", "-f", "-"] if echo else ["nft", "-f", "-"]
    return subprocess.run(args, input=text, capture_output=True, text=True, check=True).stdout


t0 = now_ms()
host = IPRoute()
host.link("add", ifname="br0", kind="bridge", br_stp_state=0, br_forward_delay=0)
br = host.link_lookup(ifname="br0")[0]
host.link("set", index=br, state="up")
host.addr("add", index=br, address="10.201.0.1", prefixlen=16)
with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
    f.write("1")
nft("""table inet bench {
  chain prerouting { type nat hook prerouting priority dstnat; fib daddr type local jump hostports; }
  chain output { type nat hook output priority -100; fib daddr type local jump hostports; }
  chain postrouting {
    type nat hook postrouting priority srcnat;
    ip saddr 10.201.0.0/16 ip daddr != 224.0.0.0/4 oifname != "br0" masquerade
    oifname "br0" ct status dnat ip saddr 10.201.0.0/16 masquerade
  }
  chain hostports { }
}
""")
setup = now_ms() - t0

add, dele, handles, hosts = [], [], {}, {}
c0 = cpu_ms()
for i in range(1, N + 1):
    ns, ip4, hv, port = PREFIX + str(i), addr(i), "pv%d" % i, PORTBASE + i - 1
    t0 = now_ms()
    netns.create(ns)
    host.link("add", ifname=hv, kind="veth", mtu=1500, master=br, peer={"ifname": "eth0", "mtu": 1500, "net_ns_fd": ns})
    idx = host.link_lookup(ifname=hv)[0]
    host.link("set", index=idx, IFLA_AF_SPEC=AF_SPEC_NO_LL)
    host.brport("set", index=idx, mode=1)
    host.link("set", index=idx, state="up")
    netns.pushns(ns)
    try:
        pod = IPRoute()
    finally:
        netns.popns()
    try:
        lo = pod.link_lookup(ifname="lo")[0]
        eth = pod.link_lookup(ifname="eth0")[0]
        pod.link("set", index=lo, state="up")
        pod.link("set", index=eth, IFLA_AF_SPEC=AF_SPEC_NO_LL)
        pod.link("set", index=eth, state="up")
        pod.addr("add", index=eth, address=ip4, prefixlen=16)
        pod.route("add", dst="default", gateway="10.201.0.1", oif=eth)
    finally:
        pod.close()
    out = nft("add rule inet bench hostports tcp dport %d dnat ip to %s:80\n" % (port, ip4), echo=True)
    handles[i] = int(re.search(r"# handle (\d+)", out).group(1))
    hosts[i] = idx
    add.append(now_ms() - t0)
c1 = cpu_ms()
for i in range(1, N + 1):
    t0 = now_ms()
    nft("delete rule inet bench hostports handle %d\n" % handles[i])
    host.link("del", index=hosts[i])
    netns.remove(PREFIX + str(i))
    dele.append(now_ms() - t0)
c2 = cpu_ms()
nft("delete table inet bench\n")
host.link("del", index=br)
host.close()
print(json.dumps({"tool": "pyroute2", "n": N, "teardown": "del", "setupMs": setup, "add": add, "del": dele,
                  "addCpuMs": c1 - c0, "delCpuMs": c2 - c1, "procsPerAdd": 2}))
