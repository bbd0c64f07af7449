#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Unprivileged users cannot lock root out of the control socket
(docs/SECURITY.md, "Unprivileged users").

Several unprivileged users (setpriv, uids 60001-60004) fill the control
socket's connections and chat slots while root must still get in and chat;
idle connections are closed after control_idle_timeout.
"""
import json
import os
import socket
import subprocess
import time

import pytest

import daemonlib as dl
from daemonlib import LIMITS, iclib
from standinrouter import DONE, SseRouter, content_event, send, start_sse

MODEL = "llama3.2:latest"
USERS = [60001, 60002, 60003, 60004]
CHATS_MAX = LIMITS["IC_CONSUME_CHATS_MAX"]
CHATS_RESERVED = LIMITS["IC_CONSUME_CHATS_RESERVED"]
CHATS_PER_USER = LIMITS["IC_CONSUME_CHATS_PER_USER_MAX"]
PER_UID_CONNS = LIMITS["IC_CONTROL_CLIENTS_PER_UID_MAX"]

# Runs as an unprivileged user: opens n connections to the socket, on each
# sends `chats` chats whose last message is "hold", probes every connection
# with a cancel of nothing (answered not_found when the connection was
# accepted, in order after any refusal of its chats), prints one JSON list
# of results, and keeps everything open until its stdin closes.
HOLDER = r'''
import json, socket, sys
path, n, chats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
socks, out = [], []
def send(s, m):
    s.sendall((json.dumps(m) + "\n").encode())
def lines(s, buf):
    while b"\n" not in buf[0]:
        d = s.recv(65536)
        if not d:
            return None
        buf[0] += d
    line, buf[0] = buf[0].split(b"\n", 1)
    return json.loads(line)
for i in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    socks.append(s)
    try:
        for k in range(chats):
            send(s, {"v": 1, "id": "c%d" % k, "cmd": "chat", "args": {"model": sys.argv[4],
                     "messages": [{"role": "user", "content": "hold"}]}})
        send(s, {"v": 1, "id": "p", "cmd": "cancel", "args": {"target": "none"}})
        buf, res = [b""], {"conn": "ok", "chats": ["running"] * chats}
        while True:
            m = lines(s, buf)
            if m is None or m.get("id") is None:
                res["conn"] = "refused"
                break
            if m.get("id") == "p":
                break
            if m["id"].startswith("c") and "status" in m:
                res["chats"][int(m["id"][1:])] = m["status"]
    except (BrokenPipeError, ConnectionResetError):
        res = {"conn": "refused", "chats": []}     # closed before we wrote
    except OSError as e:
        res = {"conn": "error " + str(e)}
    out.append(res)
print(json.dumps(out), flush=True)
sys.stdin.readline()
'''


class HoldRouter(SseRouter):
    """The router's HTTP side for idleclawctl chat: a chat whose last
    message is "hold" gets ": ping" every 0.2 s until the daemon hangs up;
    any other gets "ok" and [DONE] at once.  /ws/node: 404."""

    def __init__(self):
        self.holding = 0
        super().__init__()

    def post(self, h, body):
        hold = json.loads(body)["messages"][-1]["content"] == "hold"
        start_sse(h)
        if not hold:
            send(h, content_event("ok", "stop"), DONE)
            return
        with self.lock:
            self.holding += 1
        try:
            self.pings(h)
        finally:
            with self.lock:
                self.holding -= 1


class Holder:
    """HOLDER run as uid; .results once it has printed them."""

    def __init__(self, sock, uid, n, chats=0):
        self.p = subprocess.Popen(
            ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups",
             "/usr/bin/python3", "-c", HOLDER, sock, str(n), str(chats), MODEL],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        iclib.track_popen(self.p)
        line = self.p.stdout.readline()
        assert line, "holder for uid %d printed nothing" % uid
        self.results = json.loads(line)

    def conns(self, state="ok"):
        return sum(1 for r in self.results if r["conn"] == state)

    def chats(self, state):
        return sum(r["chats"].count(state) for r in self.results if r["conn"] == "ok")

    def release(self):
        self.p.stdin.close()
        self.p.wait(10)


class Env:
    def __init__(self, **opts):
        self.r = HoldRouter()
        self.fo = dl.FakeOllama("--echo")
        self.d = dl.Daemon(self.r.url, self.fo.url, **opts).wait_ready()
        # other users may reach the socket; privilege is by uid, not by access
        os.chmod(self.d.dir, 0o755)
        os.chmod(self.d.sock, 0o666)
        self.holders = []

    def hold(self, uid, n, chats=0):
        h = Holder(self.d.sock, uid, n, chats)
        self.holders.append(h)
        return h

    def close(self):
        """The holders leave, then the daemon must exit cleanly."""
        for h in self.holders:
            h.release()
        self.d.assert_clean_exit()


make_env = iclib.maker_fixture(
    Env, "make_env(**daemon_opts) -> Env; after a passed test the daemon must exit cleanly.")


def probe(c):
    """'ok' if the connection c was accepted, 'refused' if it got busy."""
    try:
        m = c.call("cancel", {"target": "none"})
    except (EOFError, OSError):
        return "refused"
    return "ok" if m["status"] == "not_found" else "refused"


def chat(c, text="hi"):
    return c.call("chat", {"model": MODEL, "messages": [{"role": "user", "content": text}]})


def test_connections_reserved_for_root(make_env):
    e = make_env()
    total, reserved = LIMITS["IC_CONTROL_CLIENTS_MAX"], LIMITS["IC_CONTROL_CLIENTS_RESERVED"]
    unpriv = total - reserved
    got = 0
    for uid in USERS[:3]:
        h = e.hold(uid, PER_UID_CONNS)
        assert h.conns() == PER_UID_CONNS, h.results
        got += PER_UID_CONNS
    # the fourth user gets what is left for the unprivileged, not root's share
    h = e.hold(USERS[3], PER_UID_CONNS)
    assert h.conns() == unpriv - got, h.results                 # at the limit
    assert h.conns("refused") == PER_UID_CONNS - (unpriv - got), h.results   # past it
    # root gets the reserved connections, and chats on them
    mine = [e.d.ctl() for _ in range(reserved)]
    assert [probe(c) for c in mine] == ["ok"] * reserved
    rep = chat(mine[0])
    assert rep["status"] == "ok", rep
    extra = e.d.ctl()
    assert probe(extra) == "refused"                            # 65th
    extra.close()
    for c in mine:
        c.close()


def test_chat_slots_reserved_for_root(make_env):
    e = make_env()
    a = e.hold(USERS[0], 1, chats=CHATS_PER_USER + 1)
    assert a.chats("running") == CHATS_PER_USER, a.results          # per user: N
    assert a.chats("busy") == 1, a.results                          # and N+1
    b = e.hold(USERS[1], 1, chats=CHATS_PER_USER)
    c = e.hold(USERS[2], 1, chats=CHATS_PER_USER)
    assert b.chats("running") == c.chats("running") == CHATS_PER_USER
    # the unprivileged share (12) is used up; root's 4 are not theirs
    d = e.hold(USERS[3], 1, chats=1)
    assert d.chats("busy") == 1, d.results
    iclib.wait_for(lambda: e.r.holding == CHATS_MAX - CHATS_RESERVED, 10,
                   what="%d chats held at the router" % (CHATS_MAX - CHATS_RESERVED))
    root = e.d.ctl()
    for k in range(CHATS_RESERVED):
        root.send("chat", {"model": MODEL, "messages": [{"role": "user", "content": "hold"}]},
                  rid="h%d" % k)
    iclib.wait_for(lambda: e.r.holding == CHATS_MAX, 10, what="%d chats held" % CHATS_MAX)
    other = e.d.ctl()
    rep = chat(other)                                               # 17th
    assert rep["status"] == "busy", rep
    # a user leaving frees its slots; root chats again
    a.release()
    iclib.wait_for(lambda: e.r.holding == CHATS_MAX - CHATS_PER_USER, 10,
                   what="user 1's chats cancelled")
    rep = chat(other)
    assert rep["status"] == "ok", rep
    other.close()
    root.close()


def test_idle_connections_closed(make_env):
    e = make_env(control_idle_timeout=2)
    idle, busy, chatty = e.d.ctl(), e.d.ctl(), e.d.ctl()
    t0 = time.monotonic()
    busy.send("chat", {"model": MODEL, "messages": [{"role": "user", "content": "hold"}]},
              rid="h")
    iclib.wait_for(lambda: e.r.holding == 1, 10, what="the chat at the router")
    # at the limit: silent for less than the timeout, then heard
    for _ in range(4):
        time.sleep(1.0)
        assert probe(chatty) == "ok"
    # past it: the idle connection is gone; the one with a chat is not
    idle.s.settimeout(1)
    try:
        assert idle.s.recv(100) == b""
    except socket.timeout:
        raise AssertionError("an idle connection still open after %.1f s"
                             % (time.monotonic() - t0))
    assert probe(busy) == "ok"
    assert busy.call("cancel", {"target": "h"})["status"] == "ok"
    t1 = time.monotonic()
    busy.s.settimeout(6)
    try:
        while busy.s.recv(65536):
            pass
    except socket.timeout:
        raise AssertionError("connection not closed once its chat ended")
    assert 1.5 < time.monotonic() - t1 < 5, time.monotonic() - t1
    assert "gone: idle" in e.d.log()
    for c in (idle, busy, chatty):
        c.close()

