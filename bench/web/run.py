#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The web chat's weight: bytes on the wire for a first load, for a reload
with a warm cache, and for highlight.js (fetched on the first code block),
measured from headless Chromium's Network.* events against the real
router, idleclawd and fake-ollama (bench/README.md, "web").  With
--screenshot PATH it also chats once and saves the finished chat as a PNG
(docs/web-chat.png).

    cd build && IC_BUILDDIR=$PWD ../bench/web/run.py [--screenshot ../docs/web-chat.png]
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))

import daemonlib as dl  # noqa: E402
import iclib  # noqa: E402
from routerlib import Router  # noqa: E402
from weblib import Browser, WebRoot  # noqa: E402

MODEL = "qwen3:8b"
THINK = "The user asks for a C function that sums an array. Keep it short and note overflow."
REPLY = """Here is a small C function that adds up an array:

```c
#include <stddef.h>

long sum(const int *a, size_t n)
{
	long s = 0;
	for (size_t i = 0; i < n; i++)
		s += a[i];
	return s;
}
```

- It takes the array and its **length**, since C arrays do not carry one.
- The total is a `long`, so that large sums are less likely to overflow.

Call it as `sum(values, 4)`."""


def wait(pred, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.05)


def total(transfers):
    items = [(u, st, n) for u, (st, n) in transfers.items()]
    return sum(n for _, _, n in items), items


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--screenshot", metavar="PATH")
    ap.add_argument("--dark", action="store_true", help="prefers-color-scheme: dark")
    args = ap.parse_args()

    root = WebRoot()
    r = Router(web_root=root.path)
    fo = dl.FakeOllama("--models", "%s=5200000000,llama3.2:3b=2000000000" % MODEL,
                       "--reply", REPLY, "--think", THINK, "--delay-ms", "5")
    d = dl.Daemon("http://127.0.0.1:%d" % r.port, fo.url).wait_ready()
    c = d.ctl()
    iclib.wait_for(lambda: MODEL in (c.call("models").get("models") or []), timeout=15)
    b = Browser(width=900, height=880)
    if args.dark:
        b.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
            "features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    try:
        b.open(r.port)
        wait(lambda: not b.js("return document.getElementById('model').disabled"))
        time.sleep(0.5)
        first, items = total(b.transfers(r.port))
        files = sum(n for u, _, n in items if "/api/" not in u and not u.endswith("/health"))
        print("first load: %d bytes in %d responses (files %d bytes)" % (first, len(items), files))
        for u, st, n in sorted(items):
            print("  %3d %7d %s" % (st, n, u.split("/", 3)[3] or "/"))
        b.driver.refresh()
        wait(lambda: b.js("return document.readyState === 'complete' &&"
                          " !document.getElementById('model').disabled"))
        time.sleep(0.5)
        again, items = total(b.transfers(r.port))
        print("reload, warm cache: %d bytes in %d responses, statuses %s" % (
            again, len(items), sorted({st for _, st, _ in items})))
        for u, st, n in sorted(items):
            print("  %3d %7d %s" % (st, n, u.split("/", 3)[3] or "/"))
        el = b.driver.find_element("id", "input")
        el.send_keys("Write a C function that sums an array of ints.")
        b.driver.find_element("id", "send").click()
        wait(lambda: b.js("return document.querySelector('.msg.assistant .actions:not([hidden])')"))
        wait(lambda: b.js("return document.querySelector('.msg.assistant pre code span')"))
        time.sleep(0.5)
        chat, items = total(b.transfers(r.port))
        hl = [(u, st, n) for u, st, n in items if "highlight" in u]
        print("first code block: highlight.js %s" % ["%d %d bytes" % (st, n) for _, st, n in hl])
        if args.screenshot:
            b.driver.save_screenshot(args.screenshot)
            print("screenshot:", args.screenshot)
        errors = b.errors()
        if errors:
            print("console errors:", errors)
            return 1
    finally:
        c.close()
        iclib.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
