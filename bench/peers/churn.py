"""pyroute2 churn peer, run in the host namespace (under nsenter --net). Per pair, the same steps as
the podnet worker and the ip -batch peer:
  host: veth hN with its peer pN created directly in the pods namespace
  pods: address 10.x.y.z/32 on pN; pN up
  host: hN master br0, up (one RTM_NEWLINK)
then deletes the first `delete` pairs one by one (RTM_DELLINK hN, which takes pN with it).

usage: churn.py '{"pods": "NAME", "pairs": N, "delete": M, "bridge": "br0"}'
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resource  # noqa: E402

from common import args, emit, max_rss_kb, now_ms  # noqa: E402

a = args()
from pyroute2 import IPRoute  # noqa: E402
from pyroute2.netns import popns, pushns  # noqa: E402


def pair_addr(i):
    return "10.%d.%d.%d" % (100 + (i >> 16), (i >> 8) & 255, i & 255)


host = IPRoute()
pushns(a["pods"])
try:
    pods = IPRoute()
finally:
    popns()
pods_fd = os.open("/run/netns/" + a["pods"], os.O_RDONLY | os.O_CLOEXEC)
br = host.link_lookup(ifname=a["bridge"])[0]
baseline_rss = max_rss_kb()

marks = []
r0 = resource.getrusage(resource.RUSAGE_SELF)
t0 = now_ms()
for i in range(1, a["pairs"] + 1):
    h, p = "h%d" % i, "p%d" % i
    host.link("add", ifname=h, kind="veth", peer={"ifname": p, "net_ns_fd": pods_fd})
    pidx = pods.link_lookup(ifname=p)[0]
    pods.addr("add", index=pidx, address=pair_addr(i), prefixlen=32)
    pods.link("set", index=pidx, state="up")
    hidx = host.link_lookup(ifname=h)[0]
    host.link("set", index=hidx, master=br, state="up")
    marks.append(now_ms() - t0)
create_ms = now_ms() - t0
r1 = resource.getrusage(resource.RUSAGE_SELF)
create_rss = max_rss_kb()

t1 = now_ms()
for i in range(1, a["delete"] + 1):
    host.link("del", ifname="h%d" % i)
delete_ms = now_ms() - t1
os.close(pods_fd)
pods.close()
host.close()
emit({"createMs": create_ms, "marks": marks, "deleteMs": delete_ms, "deleted": a["delete"],
      "baselineRssKb": baseline_rss, "maxRssKb": create_rss,
      "userMs": (r1.ru_utime - r0.ru_utime) * 1000.0, "sysMs": (r1.ru_stime - r0.ru_stime) * 1000.0})
