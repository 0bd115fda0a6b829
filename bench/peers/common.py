"""Shared helpers for the pyroute2 peers: timing, peak RSS, the JSON line they print."""
import json
import resource
import sys
import time

now_ms = lambda: time.perf_counter() * 1000.0


def max_rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def cpu_ms():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return (r.ru_utime + r.ru_stime) * 1000.0


def emit(result):
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def args():
    """The one argument every peer takes: a JSON object, as the TypeScript workers do."""
    return json.loads(sys.argv[1])
