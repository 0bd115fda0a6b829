"""pyroute2 dump peer: get_links() or get_addr() in-process, in the namespace the process runs in
(the orchestrator starts it under nsenter --net). One cold call, then `iters` timed calls.

usage: dump.py '{"op": "links"|"addrs", "iters": N}'
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import args, cpu_ms, emit, max_rss_kb, now_ms  # noqa: E402

a = args()
t0 = now_ms()
from pyroute2 import IPRoute  # noqa: E402

import_ms = now_ms() - t0
baseline_rss = max_rss_kb()
ipr = IPRoute()
call = ipr.get_links if a["op"] == "links" else ipr.get_addr
samples = []
cpu_samples = []
count = 0
cold = 0.0
for i in range(a["iters"] + 1):
    c = time.process_time()
    t = now_ms()
    out = call()
    n = len(out)  # get_* returns a list: every message is parsed by now
    dt = now_ms() - t
    dc = (time.process_time() - c) * 1000.0
    if i == 0:
        cold = dt
    else:
        samples.append(dt)
        cpu_samples.append(dc)
    count = n
    del out
ipr.close()
emit({"cold": cold, "samples": samples, "cpuSamples": cpu_samples, "count": count, "importMs": import_ms,
      "baselineRssKb": baseline_rss, "maxRssKb": max_rss_kb(), "cpuMs": cpu_ms()})
