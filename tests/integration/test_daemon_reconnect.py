#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""idleclawd stays routable on the public network: reconnects over a
half-open link, capacity, and the close codes of a restarting router.

The public network's server is played by publiclib.PublicServer (its
re-registration flaw included) behind publiclib.TcpRelay, which can cut
the daemon's side of a connection only; our own router is the real
idleclaw-routerd.
"""
import http.client
import json
import threading
import time

import pytest

import publiclib
from daemonlib import LIMITS, iclib

MODEL = "llama3.2:latest"
TEXT = "abcdefghijklmnopqrstuvwxyz"


def router_chat(port, content, timing=None):
    """POST /api/chat to idleclaw-routerd; (status, text).  timing, a dict,
    gets the times of the first content and of the end of the stream."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": content}]})
    c.request("POST", "/api/chat", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    if r.status != 200:
        r.read()
        c.close()
        return r.status, ""
    text = ""
    for line in r:
        line = line.decode().strip()
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        delta = json.loads(line[6:])["choices"][0].get("delta", {})
        if delta.get("content"):
            text += delta["content"]
            if timing is not None:
                timing.setdefault("first", time.monotonic())
    if timing is not None:
        timing["end"] = time.monotonic()
    c.close()
    return 200, text


@pytest.fixture
def public_server():
    """public_server(**opts) -> publiclib.PublicServer."""
    return publiclib.PublicServer


@pytest.fixture
def tcp_relay():
    """tcp_relay(target_port) -> publiclib.TcpRelay."""
    return publiclib.TcpRelay


def test_half_open_reconnect_public_server(daemon, fake_ollama, public_server, tcp_relay):
    """The daemon's side of the link dies, the server keeps the old session
    (silent: closing it takes close_timeout).  The daemon registers again
    at once under a per-connection variant of its id, so the old session's
    teardown (which removes by id) cannot take the new registration: the
    node is routable within seconds and stays so after the old session is
    gone.  With the stable id the re-registration would wait for the old
    close and then be removed by its teardown."""
    srv = public_server(close_timeout=3.0, hb_timeout=5.0, sweep=1.0)
    relay = tcp_relay(srv.port)
    fo = fake_ollama("--echo")
    d = daemon(relay.url, fo.url).wait_ready()
    srv.wait_registers(1)
    iclib.wait_for(lambda: srv.node_ids() == ["test-node"], what="registration")
    assert srv.chat(MODEL, "one", node_id="test-node") == (200, "one")
    relay.cut()
    regs = srv.wait_registers(2, timeout=15)
    t_reg, conn, reg = regs[1]
    new_id = reg["node_id"]
    assert new_id.startswith("test-node-") and len(new_id) == len("test-node-") + 8, reg
    assert len(regs) == 2, regs
    # routable within seconds of reconnecting
    iclib.wait_for(lambda: srv.chat(MODEL, "two", node_id=new_id) == (200, "two"),
                   timeout=5, interval=0.2, what="the new session routable")
    assert time.monotonic() - t_reg < 5
    st = d.ctl().call("status")
    assert st["router"]["state"] == "connected", st
    d.wait_log("a per-connection variant of test-node")
    # the old session is evicted, closed (slowly) and torn down ...
    iclib.wait_for(lambda: 1 in srv.torn_down, timeout=20, what="old session torn down")
    assert "Evicting stale node: test-node" in srv.log(), srv.log()
    # ... and the node stays routable: heartbeats carry the id in use
    assert srv.node_ids() == [new_id], (srv.node_ids(), srv.log())
    assert srv.chat(MODEL, "three", node_id=new_id) == (200, "three"), srv.log()
    time.sleep(3)       # several heartbeat timeouts' worth of sweeps
    assert srv.node_ids() == [new_id], (srv.node_ids(), srv.log())
    assert srv.chat(MODEL, "four") == (200, "four"), srv.log()
    d.assert_clean_exit()


def test_half_open_reconnect_own_router(daemon, fake_ollama, make_router, tcp_relay):
    """Against idleclaw-routerd (stable_node_id in registered.features) the
    daemon keeps its stable id over the same half-open reconnect: our
    router replaces a same-id session without harm to the new one."""
    router = make_router()
    relay = tcp_relay(router.port)
    fo = fake_ollama("--echo")
    d = daemon(relay.url, fo.url).wait_ready()
    d.wait_log("registered with %s as test-node (" % relay.url)
    iclib.wait_for(lambda: router_chat(router.port, "one") == (200, "one"),
                   timeout=10, interval=0.2, what="node routable")
    relay.cut()
    iclib.wait_for(lambda: d.log().count("registered with %s as test-node (" % relay.url)
                   >= 2, timeout=15, what="registered again")
    t_reg = time.monotonic()
    iclib.wait_for(lambda: router_chat(router.port, "two") == (200, "two"),
                   timeout=5, interval=0.2, what="node routable again")
    assert time.monotonic() - t_reg < 5
    assert "per-connection variant" not in d.log()
    assert "re-registered from" in router.log(), router.log()
    # the old socket is closed by the router; the node stays
    iclib.wait_for(lambda: "node test-node (127.0.0.1): disconnected" in router.log(),
                   timeout=20, what="old socket closed")
    assert router_chat(router.port, "three") == (200, "three")
    d.assert_clean_exit()


def test_capacity_public_server(daemon, fake_ollama, public_server):
    """With the default configuration the node registers max_concurrent 2:
    the public server sends it two chats at once (with 1 it answered the
    second consumer "503 No nodes available"); a third while both run is
    over the limit and not served."""
    srv = public_server()
    fo = fake_ollama("--echo", "--delay-ms", "100", "--tokens", "20")
    d = daemon(srv.url, fo.url).wait_ready()     # max_concurrent not set
    reg = srv.wait_registers(1)[0][2]
    assert reg["max_concurrent"] == 2 == LIMITS["IC_CONCURRENCY_DEFAULT"], reg
    iclib.wait_for(lambda: srv.node_ids() == ["test-node"], what="registration")
    chats = [srv.chat_async(MODEL, TEXT) for _ in range(3)]
    results = [f.result(20) for f in chats]
    assert results[0] == (200, TEXT) and results[1] == (200, TEXT), results
    status, text = results[2]
    assert status == 503 or "[Error: ollama_unavailable]" in text, results
    d.assert_clean_exit()


def test_capacity_own_router(daemon, fake_ollama, make_router):
    """Three parallel chats against one node with the default
    configuration through idleclaw-routerd: none gets 503, all complete,
    and two of them run at the same time."""
    router = make_router()
    fo = fake_ollama("--echo", "--delay-ms", "100", "--tokens", "20")
    d = daemon("http://127.0.0.1:%d" % router.port, fo.url).wait_ready()
    iclib.wait_for(lambda: router_chat(router.port, TEXT) == (200, TEXT),
                   timeout=15, interval=0.2, what="node routable")
    timings = [{} for _ in range(3)]
    results = [None] * 3

    def one(i):
        results[i] = router_chat(router.port, TEXT, timings[i])
    threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [(200, TEXT)] * 3, results
    overlaps = [(i, j) for i in range(3) for j in range(i + 1, 3)
                if timings[i]["first"] < timings[j]["end"] and
                timings[j]["first"] < timings[i]["end"]]
    assert overlaps, timings
    d.assert_clean_exit()


def test_restart_close_is_explained_and_not_a_failure(daemon, fake_ollama, public_server):
    """A server that closes registered sessions with 1012 (service restart,
    as the public server's HTTP layer does when it shuts down), which
    Debian's libwebsockets reports as 1002: the log says in words that the
    router closed the connection and may be restarting, and the daemon
    reconnects after reconnect_min each time instead of backing off
    (attempts 2..6 would wait up to 2, 4, 8, 16, 32 s).  The close is a
    clean one, so the stable id is kept."""
    srv = public_server(close_after_register=(1012, ""))
    fo = fake_ollama("--echo")
    d = daemon(srv.url, fo.url, reconnect_min=1, reconnect_max=60).wait_ready()
    regs = srv.wait_registers(6, timeout=30)
    times = [r[0] for r in regs]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(g < 3.0 for g in gaps), gaps
    assert [r[2]["node_id"] for r in regs] == ["test-node"] * 6, regs
    log = d.log()
    assert "the router closed the connection; it may be restarting" in log, log
    assert "closed by the router (1002): no reason given" not in log, log
    d.assert_clean_exit()
