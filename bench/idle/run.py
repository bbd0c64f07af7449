#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""bench/idle: what an idle idleclawd costs the machine it lends.

Starts idleclaw-routerd, fake-ollama and idleclawd (production timers:
heartbeat 15 s, model refresh 60 s, idle sampling every 5 s over the real
/proc, /sys and /dev) and, once registered and settled, reports:

  pss       /proc/PID/smaps_rollup Pss (shared pages divided among the
            processes that map them), also Rss and Private_*
  wakeups   context switches per second, all threads, over --seconds
            (voluntary + involuntary, from /proc/PID/task/*/status)

for a plain http:// router and, when caddy is installed, an https:// one
(the router behind Caddy with `tls internal`, the daemon trusting Caddy's
root through ca_file).

    cd build && /usr/bin/python3 ../bench/idle/run.py [--seconds 60] [--json]
        [--schedule "Mon..Fri 18:00-08:00, Sat,Sun"]   # [idle] schedule set
"""
import argparse
import glob
import json
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
os.environ.setdefault("IC_BUILDDIR", os.getcwd())

import routerlib  # noqa: E402  (loads iclib)
import daemonlib as dl  # noqa: E402
from daemonlib import iclib  # noqa: E402

MODEL = "llama3.2:latest"


def smaps_rollup(pid):
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def switches(pid):
    total = 0
    for st in glob.glob("/proc/%d/task/*/status" % pid):
        try:
            with open(st) as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def measure(d, seconds):
    c = d.ctl()
    iclib.wait_for(lambda: c.call("status")["router"]["state"] == "connected",
                   timeout=30, what="registered")
    c.close()   # the control client's own wakeups must not count
    time.sleep(3)
    s0, t0 = switches(d.pid), time.monotonic()
    time.sleep(seconds)
    s1, t1 = switches(d.pid), time.monotonic()
    m = smaps_rollup(d.pid)
    return {"pss_kib": m["Pss"], "rss_kib": m["Rss"],
            "private_kib": m.get("Private_Clean", 0) + m.get("Private_Dirty", 0),
            "wakeups_per_s": (s1 - s0) / (t1 - t0),
            "threads": len(glob.glob("/proc/%d/task/*" % d.pid))}


SCHEDULE = None    # --schedule: [idle] schedule


def daemon(url, fo, **opts):
    # production timers (fast=False), idle detection on, lending always so
    # that this busy build machine's load does not matter
    idle = {"mode": "always"}
    if SCHEDULE:
        idle["schedule"] = SCHEDULE
    return dl.Daemon(url, fo.url, fast=False, log_level="warning",
                     idle=idle, **opts).wait_ready()


def run_http(seconds):
    router = routerlib.Router()
    fo = dl.FakeOllama("--echo")
    d = daemon("http://127.0.0.1:%d" % router.port, fo)
    try:
        return measure(d, seconds)
    finally:
        d.stop()
        d.close()
        fo.proc.stop()
        router.close()


def run_https(seconds):
    sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
    from test_daemon_tls import CADDYFILE
    router = routerlib.Router()
    caddy = iclib.Caddy(CADDYFILE % {"rport": router.port}, tls=True)
    fo = dl.FakeOllama("--echo")
    d = daemon("https://localhost:%d" % caddy.port, fo, ca_file=caddy.root)
    try:
        return measure(d, seconds)
    finally:
        d.stop()
        d.close()
        fo.proc.stop()
        caddy.close()
        router.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--schedule", help="[idle] schedule of the daemon")
    a = ap.parse_args()
    global SCHEDULE
    SCHEDULE = a.schedule
    res = {"http": run_http(a.seconds)}
    if shutil.which("caddy"):
        res["https"] = run_https(a.seconds)
    if a.json:
        print(json.dumps(res, indent=1))
        return
    for k, r in res.items():
        print("%-5s idle PSS %.2f MiB (RSS %.2f, private %.2f), %.2f wakeups/s over %.0f s, "
              "%d threads" % (k, r["pss_kib"] / 1024, r["rss_kib"] / 1024,
                              r["private_kib"] / 1024, r["wakeups_per_s"], a.seconds,
                              r["threads"]))


if __name__ == "__main__":
    main()
