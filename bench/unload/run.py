#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""bench/unload: from "machine busy" to "lent models unloaded".

A real idleclaw-routerd, fake-ollama (its /api/ps driven by keep_alive) and
idleclawd reading a fake /proc tree (daemonlib.FakeMachine), [idle]
interval 1 s, on_busy = cancel.  Each round: the node lends (idle), a chat
through the router loads llama3.2 in fake-ollama; then a process of the
owner's takes 60 % of the CPU, and we time

  detect   from the load starting to idleclawd's "machine busy" (status)
  unload   from the load starting to /api/ps no longer listing the model
  after    unload - detect: what unloading itself adds

The first part is the idle policy's sampling ([idle] interval, and the
busy threshold over one sample); the second is this issue's.

    cd build && /usr/bin/python3 ../bench/unload/run.py [--rounds 10] [--json]
"""
import argparse
import json
import os
import statistics
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
os.environ.setdefault("IC_BUILDDIR", os.getcwd())

import routerlib  # noqa: E402  (loads iclib)
import daemonlib as dl  # noqa: E402
from daemonlib import iclib  # noqa: E402

MODEL = "llama3.2:latest"


def ps(fo):
    with urllib.request.urlopen(fo.url + "/api/ps", timeout=5) as r:
        return [m["name"] for m in json.loads(r.read())["models"]]


def chat(router):
    body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "hi"}]})
    req = urllib.request.Request("http://127.0.0.1:%d/api/chat" % router.port, body.encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()


def poll(fn, timeout=30.0, step=0.005):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return time.monotonic()
        time.sleep(step)
    raise AssertionError("timed out")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    m = dl.FakeMachine()
    router = routerlib.Router()
    fo = dl.FakeOllama("--reply", "hello")
    d = dl.Daemon("http://127.0.0.1:%d" % router.port, fo.url,
                  idle=m.idle_opts(idle_time=1, on_busy="cancel"), env=m.env()).wait_ready()
    c = d.ctl()
    rows = []
    try:
        for i in range(a.rounds):
            dl.wait_idle_state(c, "idle", timeout=30)
            iclib.wait_for(lambda: c.call("status")["available"], 30, what="available")
            iclib.wait_for(lambda: c.call("status")["unload"]["state"] == "idle", 30,
                           what="unload idle")
            time.sleep(0.3)     # the router saw the heartbeat
            chat(router)
            assert MODEL in ps(fo)
            t0 = time.monotonic()
            m.process(9000 + i, "blender", 60)
            t_busy = poll(lambda: dl.idle_of(c)["state"] == "busy")
            t_gone = poll(lambda: MODEL not in ps(fo))
            rows.append({"detect": t_busy - t0, "unload": t_gone - t0,
                         "after": t_gone - t_busy})
            m.end(9000 + i)
    finally:
        c.close()
        d.assert_clean_exit()
        fo.stop()
        router.stop() if hasattr(router, "stop") else None
        m.close()
    if a.json:
        print(json.dumps(rows))
        return
    for k in ("detect", "unload", "after"):
        v = [r[k] * 1000 for r in rows]
        print("%-7s median %7.1f ms  min %7.1f  max %7.1f  (%d rounds)"
              % (k, statistics.median(v), min(v), max(v), len(v)))


if __name__ == "__main__":
    main()
