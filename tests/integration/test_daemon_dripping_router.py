#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A router that drips its /health and /api/models cannot pin the daemon's
reads (docs/SECURITY.md, "The daemon's reads from the router").

A stand-in router answers GET /health and /api/models with headers and then
one body byte at a time; `status` calls, many of them abandoned by their
clients, must share one fetch per path, end within CONSUME_GET_TIMEOUT_S in
all, be cancelled once nobody waits, and leave chats (POST /api/chat,
answered at once) working with the daemon's fd count flat.
"""
import json
import os
import time

import pytest

import daemonlib as dl
from daemonlib import LIMITS, iclib
from standinrouter import DONE, SseRouter, content_event, not_found, send, start_sse

MODEL = "llama3.2:latest"
GET_TIMEOUT_S = LIMITS["IC_CONSUME_GET_TIMEOUT_S"]
REUSE_S = LIMITS["IC_CONSUME_GET_REUSE_MS"] / 1000


class DripRouter(SseRouter):
    """GET /health and /api/models: 200, then `size` body bytes one every
    `drip_s` seconds.  POST /api/chat: a short SSE reply at once.
    /ws/node: 404, so the daemon's node link stays down."""

    def __init__(self, drip_s=0.5, size=200):
        self.drip_s, self.size = drip_s, size
        self.active = {}        # path -> GETs in progress
        self.most = {}          # path -> most GETs in progress at once
        self.gets = {}          # path -> GETs received
        super().__init__()

    def get(self, h):
        path = h.path
        if path not in ("/health", "/api/models"):
            not_found(h)
            return
        self._count(path, +1)
        try:
            body = (json.dumps({"status": "healthy", "models": [MODEL]})
                    .ljust(self.size).encode())
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.flush()
            for i in range(len(body)):
                if self.stop_ev.wait(self.drip_s) or not send(h, body[i:i + 1]):
                    break
        except OSError:
            pass
        finally:
            self._count(path, -1)
        h.close_connection = True

    def post(self, h, body):
        start_sse(h)
        send(h, content_event("still here", "stop"), DONE)

    def _count(self, path, delta):
        with self.lock:
            self.active[path] = self.active.get(path, 0) + delta
            self.most[path] = max(self.most.get(path, 0), self.active[path])
            if delta > 0:
                self.gets[path] = self.gets.get(path, 0) + 1

    def in_progress(self):
        with self.lock:
            return sum(self.active.values())


class Env:
    def __init__(self, **kw):
        self.r = DripRouter(**kw)
        self.fo = dl.FakeOllama("--echo")
        self.d = dl.Daemon(self.r.url, self.fo.url).wait_ready()

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.d.pid))

    def close(self):
        self.d.assert_clean_exit()


make_env = iclib.maker_fixture(
    Env, "make_env(**opts) -> Env; after a passed test the daemon must exit cleanly.")


def ctl_retry(d):
    """A control connection; the listen backlog (16) may be full for a moment."""
    deadline = time.monotonic() + 5
    while True:
        try:
            return d.ctl()
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def timed_status(d):
    c = d.ctl()
    try:
        t0 = time.monotonic()
        rep = c.call("status")
        return rep, time.monotonic() - t0
    finally:
        c.close()


def test_fetch_within_the_deadline_is_read(make_env):
    """At the limit: a body dripped over ~1.5 s arrives whole."""
    e = make_env(drip_s=0.01, size=150)
    rep, took = timed_status(e.d)
    assert rep["status"] == "ok", rep
    assert rep["network"]["health"]["status"] == "healthy", rep
    assert took < GET_TIMEOUT_S, took


def test_fetch_has_a_total_deadline(make_env):
    """Past it: a body that would take 40 s is cut after 5 s, however
    steadily its bytes arrive."""
    e = make_env(drip_s=0.2, size=200)
    rep, took = timed_status(e.d)
    assert rep["status"] == "ok", rep
    assert "health" not in rep.get("network", {}), rep
    assert GET_TIMEOUT_S - 1 < took < GET_TIMEOUT_S + 3, took
    assert "no complete answer from the router in 5 s" in e.d.log()


def test_one_fetch_shared_and_reused(make_env):
    """Two clients at once share one fetch per path; one asking just after
    reuses its result; one asking after the reuse window fetches again."""
    e = make_env(drip_s=0.01, size=100)
    a, b = e.d.ctl(), e.d.ctl()
    ra, rb = a.send("status"), b.send("status")
    assert a.until_reply(ra)[1]["status"] == "ok"
    assert b.until_reply(rb)[1]["status"] == "ok"
    assert e.r.gets == {"/health": 1, "/api/models": 1}, e.r.gets
    rep = a.call("status")
    assert rep["network"]["health"]["status"] == "healthy", rep
    assert e.r.gets == {"/health": 1, "/api/models": 1}, e.r.gets
    time.sleep(REUSE_S + 0.5)
    a.call("status")
    assert e.r.gets == {"/health": 2, "/api/models": 2}, e.r.gets
    a.close()
    b.close()


def test_abandoned_status_calls(make_env):
    """80 status calls whose clients leave at once: at most one fetch per
    path ever runs, it is cancelled when the last asker leaves, a chat then
    succeeds, and the daemon holds no more fds than before."""
    e = make_env(drip_s=0.5, size=1000)
    before = e.fds()
    for _ in range(2):
        clients = []
        for _ in range(40):
            c = ctl_retry(e.d)
            c.send("status")
            # a connection's lines are handled in order: once this reply
            # is here, the daemon has the status request too
            assert c.call("cancel", {"target": "none"})["status"] == "not_found"
            clients.append(c)
        iclib.wait_for(lambda: e.r.in_progress() >= 1, 5, what="a fetch at the router")
        for c in clients:
            c.close()
        # nobody waits any more: the fetches are cancelled, not left to drip
        iclib.wait_for(lambda: e.r.in_progress() == 0, 5, what="fetches cancelled")
    assert e.r.most == {"/health": 1, "/api/models": 1}, e.r.most
    assert e.r.gets["/health"] <= 2, e.r.gets
    c = e.d.ctl()
    events, rep = c.until_reply(c.send("chat", {
        "model": MODEL, "messages": [{"role": "user", "content": "x"}]}))
    assert rep["status"] == "ok", rep
    assert "".join(ev["text"] for ev in events if ev["event"] == "content") == "still here", \
        events
    c.close()
    iclib.wait_for(lambda: e.fds() <= before, 5, what="fd count back to %d" % before)
