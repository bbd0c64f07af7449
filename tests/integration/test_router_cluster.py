#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""idleclaw-routerd instances as one cluster over NATS: summaries.

A real nats-server on a loopback port (skipped if it is not installed) and
three routers with [cluster] url.  Nodes register on one instance; the
others' /health, /api/models and /metrics count them; an instance killed
with -9 is forgotten within three periods; without nats-server every
instance serves its own nodes and the cluster comes back with the server.
Chats across instances: test_router_cluster_chat.py.
"""
import asyncio
import os
import shutil
import signal
import subprocess
import time

import pytest

import iclib
from routerlib import Router, TestNode, chat, chat_body, http, text_of

NATS = shutil.which("nats-server") or "/usr/sbin/nats-server"


class Nats(iclib.Proc):
    """nats-server on a loopback port (the same port again after a restart)."""

    def __init__(self, port=None):
        self.port = port or iclib.free_port()
        super().__init__("nats", [NATS, "-a", "127.0.0.1", "-p", str(self.port)])
        iclib.wait_port(self.port, proc=self)

    @property
    def url(self):
        return "nats://127.0.0.1:%d" % self.port


@pytest.fixture
def nats():
    """A running nats-server (a Nats); the test skips without one."""
    if not os.path.exists(NATS):
        pytest.skip("nats-server is not installed (apt-get install nats-server)")
    return Nats()


class ClusterRouter(Router):
    """A Router whose argv also sets [cluster] url and instance; opts are
    [router] keys, or "section.key".  No probes: they would reach the test
    nodes as stray requests."""

    def __init__(self, nats, name, **opts):
        self.port = iclib.free_port()
        cfg = {"nodes_per_ip": 100, "shutdown_grace": 1, "trust.probe_interval": 0}
        cfg.update(opts)
        argv = [iclib.binary("router/idleclaw-routerd"),
                "--config", "/nonexistent/idleclaw.conf",
                "--listen", "127.0.0.1:%d" % self.port,
                "-o", "cluster.url=%s" % nats.url, "-o", "cluster.instance=%s" % name]
        for k, v in cfg.items():
            argv += ["-o", "%s=%s" % (k if "." in k else "router." + k, v)]
        iclib.Proc.__init__(self, "routerd-" + name, argv)
        iclib.wait_port(self.port, proc=self)


def cluster_router(nats, name, **opts):
    return ClusterRouter(nats, name, **opts)


async def health(r):
    st, _, body = await http(r.port, "GET", "/health")
    assert st == 200, (st, body)
    return body


async def until_health(r, what, pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        h = await health(r)
        if pred(h):
            return h
        if time.monotonic() > deadline:
            raise AssertionError("%s: %s not reached: %r" % (r.name, what, h))
        await asyncio.sleep(0.1)


async def test_summaries_and_forgetting(nats):
    a = cluster_router(nats, "a")
    b = cluster_router(nats, "b")
    c = cluster_router(nats, "c")

    n1 = await TestNode.registered(a, "cl-1", models=("mx", "my"), max_concurrent=3)
    n2 = await TestNode.registered(a, "cl-2", models=("mx",), max_concurrent=2)
    # every instance sees the other two and a's nodes
    for r in (a, b, c):
        h = await until_health(r, "2 peers and 2 nodes",
                               lambda h: h.get("peers") == 2 and h["nodes"] == 2)
        assert h["instance"] == r.name[len("routerd-"):], h
        assert h["nodes_local"] == (2 if r is a else 0), h
        assert h["models"] == 2, h
    st, _, body = await http(b.port, "GET", "/api/models?verbose=1")
    assert st == 200, body
    assert body["models"] == [{"name": "mx", "node_count": 2, "free_slots": 5},
                              {"name": "my", "node_count": 1, "free_slots": 3}], body
    st, _, body = await http(c.port, "GET", "/api/models")
    assert body["models"] == ["mx", "my"], body
    # a change is published at once: a busy slot shows on b
    resp = await chat(a.port, chat_body("my"), ip="10.80.0.1")
    q = await n1.recv_type("inference_request")

    async def slots_my():
        _, _, body = await http(b.port, "GET", "/api/models?verbose=1")
        return {m["name"]: m["free_slots"] for m in body["models"]}.get("my")
    deadline = time.monotonic() + 3
    while await slots_my() != 2:
        assert time.monotonic() < deadline, await slots_my()
        await asyncio.sleep(0.05)
    await n1.chunk(q["request_id"], "ok", done=True)
    assert text_of(await resp.events()) == "ok"
    resp.close()
    # kill -9 a: b and c forget it within 3 periods (and a margin)
    a.p.kill()
    a.p.wait()
    t0 = time.monotonic()
    for r in (b, c):
        await until_health(r, "a forgotten",
                           lambda h: h["peers"] == 1 and h["nodes"] == 0, timeout=6)
    assert time.monotonic() - t0 < 5, time.monotonic() - t0
    st, _, body = await http(b.port, "GET", "/api/models")
    assert body["models"] == [], body
    for n in (n1, n2):
        try:
            await n.close()
        except Exception:  # noqa: BLE001 - its router is gone
            pass
    for r in (b, c):
        r.assert_clean_exit(timeout=10)


async def test_nats_down_and_back(nats):
    """Without nats-server every instance serves its own nodes (peers 0);
    when it returns on the same port the instances find each other again."""
    a = cluster_router(nats, "a")
    b = cluster_router(nats, "b")

    n = await TestNode.registered(b, "down-1", models=("md",))
    await until_health(a, "b seen", lambda h: h["peers"] == 1 and h["nodes"] == 1)
    nats.p.kill()
    nats.p.wait()
    for r in (a, b):
        await until_health(r, "local only", lambda h: h["peers"] == 0, timeout=6)
    # b still serves its node
    resp = await chat(b.port, chat_body("md"), ip="10.81.0.1")
    q = await n.recv_type("inference_request")
    await n.chunk(q["request_id"], "local", done=True)
    assert text_of(await resp.events()) == "local"
    resp.close()
    # the server returns; both reconnect and see each other
    back = Nats(port=nats.port)
    await until_health(a, "b again", lambda h: h["peers"] == 1 and h["nodes"] == 1,
                       timeout=15)
    await until_health(b, "a again", lambda h: h["peers"] == 1, timeout=15)
    back.close()
    await n.close()
    for r in (a, b):
        r.assert_clean_exit(timeout=10)


async def test_drain_is_published(nats):
    """SIGTERM on one instance: the others see it draining, then forget it
    once it has exited; no hang with the NATS client's threads."""
    a = cluster_router(nats, "a", shutdown_grace=2)
    b = cluster_router(nats, "b")

    n = await TestNode.registered(a, "dr-1", models=("mz",))
    resp = await chat(a.port, chat_body("mz"), ip="10.82.0.1")
    q = await n.recv_type("inference_request")
    await until_health(b, "a seen", lambda h: h["peers"] == 1)
    a.signal(signal.SIGTERM)
    await n.chunk(q["request_id"], "bye", done=True)
    assert text_of(await resp.events()) == "bye"
    resp.close()
    await n.expect_close(10)
    rc = await asyncio.get_running_loop().run_in_executor(None, a.p.wait, 10)
    assert rc == 0, a.log()
    await until_health(b, "a forgotten", lambda h: h["peers"] == 0, timeout=6)
    log = a.log()
    assert "ERROR: AddressSanitizer" not in log and "runtime error:" not in log, log
    b.assert_clean_exit(timeout=10)


async def test_node_id_claimed_cluster_wide(nats):
    """A node that registers on another instance (its old socket still open
    on the first) has the old socket closed there, as a re-registration on
    one router would; a different id stays."""
    a = cluster_router(nats, "a")
    b = cluster_router(nats, "b")

    old = await TestNode.registered(a, "moving", models=("mm",), ip="10.83.0.1")
    other = await TestNode.registered(a, "staying", models=("mm",), ip="10.83.0.2")
    await until_health(b, "a seen", lambda h: h["peers"] == 1 and h["nodes"] == 2)
    new = await TestNode.registered(b, "moving", models=("mm",), ip="10.83.0.3")
    t0 = time.monotonic()
    code, reason = await old.expect_close(5)
    assert (code, reason) == (1000, "re-registered"), (code, reason)
    assert time.monotonic() - t0 < 3, time.monotonic() - t0
    await until_health(a, "one node left", lambda h: h["nodes_local"] == 1)
    await until_health(b, "2 nodes in all", lambda h: h["nodes"] == 2)
    # the new socket works, the other node was left alone
    await new.heartbeat()
    await other.heartbeat()
    await new.expect_nothing(0.5)
    await other.expect_nothing(0.1)
    await new.close()
    await other.close()
    for r in (a, b):
        r.assert_clean_exit(timeout=10)


def test_bad_url():
    """A url that is not nats://HOST[:PORT]: a clear error and exit status 1
    (the client would retry it for ever)."""
    for url in ("nats://[bad", "http://127.0.0.1:4222", "nats://", "nats://h:0",
                "nats://h:65536", "nats://h:x", "127.0.0.1:4222"):
        port = iclib.free_port()
        p = subprocess.run([iclib.binary("router/idleclaw-routerd"), "--config",
                            "/nonexistent/idleclaw.conf", "--listen", "127.0.0.1:%d" % port,
                            "-o", "cluster.url=" + url], capture_output=True, text=True,
                           timeout=20)
        assert p.returncode == 1, (url, p.returncode, p.stderr)
        assert "cluster.url" in p.stderr, (url, p.stderr)
    # the same forms that are right start (and wait for the server)
    for url in ("nats://127.0.0.1:1", "nats://[::1]:1", "nats://localhost"):
        ClusterRouter(type("N", (), {"url": url})(), "ok").assert_clean_exit(timeout=10)
