#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""idleclaw-routerd on its libuv loop: SIGTERM drain and shutdown under load.

The loop belongs to main(); on SIGTERM the router drains, closes the nodes,
stops the loop, destroys the lws context and runs the loop until lws's
handles are closed.  These tests stop it in the awkward moments: streams in
flight, nodes half connected, a consumer that never reads.  Each must end
with exit 0 within a bound, no sanitizer report (ASan build) and, in one
test, no leak or error under valgrind.
"""
import asyncio
import shutil
import signal
import socket
import subprocess
import time

import pytest

import iclib
from routerlib import TestNode, chat, chat_body, http, text_of


def _stop_within(r, seconds):
    """SIGTERM; exit 0 within `seconds`, no sanitizer report; the time taken."""
    t0 = time.monotonic()
    r.assert_clean_exit(timeout=seconds)
    return time.monotonic() - t0


@pytest.mark.router(shutdown_grace=1)
async def test_term_streams_in_flight(router):
    """40 streams mid-answer on 20 nodes that keep sending: the grace ends,
    nodes get 1001, consumers an end or an in-band error, the router exits."""
    r = router
    nodes = [await TestNode.registered(r, "fl-%d" % i, models=("mf",), max_concurrent=2,
                                       ip="10.95.0.%d" % (i + 1))
             for i in range(20)]
    resps, reqs = [], []
    for i in range(40):
        resps.append(await chat(r.port, chat_body("mf"), ip="10.90.%d.%d" % (i // 200, i % 200 + 1)))
    for n in nodes:
        for _ in range(2):
            q = await n.recv_type("inference_request")
            reqs.append((n, q["request_id"]))
            await n.chunk(q["request_id"], "tok ")

    async def keep_sending(n, rid):
        try:
            while True:
                await n.chunk(rid, "more ")
                await asyncio.sleep(0.01)
        except Exception:  # noqa: BLE001 - the router closed us
            return

    senders = [asyncio.ensure_future(keep_sending(n, rid)) for n, rid in reqs]
    await asyncio.sleep(0.2)
    r.signal(signal.SIGTERM)
    codes = await asyncio.gather(*(n.expect_close(10) for n in nodes))
    assert all(c == 1001 for c, _ in codes), codes
    for s in senders:
        s.cancel()
    await asyncio.gather(*senders, return_exceptions=True)
    for resp in resps:
        events = await resp.events(timeout=10)
        resp.close()
        assert text_of(events).startswith("tok "), events[:3]
    _stop_within(r, 10)


def _half_upgrade(port):
    """A TCP connection that sent half of a WebSocket upgrade."""
    s = iclib.track(socket.create_connection(("127.0.0.1", port)))
    s.sendall(b"GET /ws/node HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")
    return s


@pytest.mark.router(shutdown_grace=2, register_timeout=30)
async def test_term_nodes_connecting(router):
    """SIGTERM while nodes connect: half-sent upgrades, upgraded sockets with
    no register yet, idle TCP connections, and new nodes arriving during the
    drain.  The router still exits promptly and cleanly."""
    r = router
    for _ in range(20):
        _half_upgrade(r.port)
        iclib.track(socket.create_connection(("127.0.0.1", r.port)))
    unregistered = [await TestNode.connect(r, "nc-%d" % i, ip="10.91.0.%d" % (i + 1))
                    for i in range(20)]
    registered = [await TestNode.registered(r, "nr-%d" % i, models=("mc",),
                                            ip="10.91.2.%d" % (i + 1))
                  for i in range(5)]
    r.signal(signal.SIGTERM)

    async def connect_more():
        got = 0
        for i in range(50):
            try:
                n = await TestNode.connect(r, "late-%d" % i, ip="10.91.1.%d" % (i + 1))
                await n.send({"type": "register", "node_id": "late-%d" % i,
                              "models": [{"name": "mc", "size": 1}],
                              "max_concurrent": 1, "ollama_version": "0.6.2"})
                got += 1
            except Exception:  # noqa: BLE001 - refused once the router is gone
                return got
            await asyncio.sleep(0.02)
        return got

    await connect_more()
    for n in registered:
        code, _ = await n.expect_close(10)
        assert code == 1001, code
    for n in unregistered:
        await n.expect_close(10)
    took = _stop_within(r, 10)
    assert took < 10, took


def _consumer_never_reading(port, ip):
    """POST /api/chat from a socket with a small receive buffer; never read."""
    s = iclib.track(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    body = ('{"model":"mr","messages":[{"role":"user","content":"hi"}],"think":false}').encode()
    s.sendall(b"POST /api/chat HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: " + ip.encode() +
              b"\r\nContent-Type: application/json\r\nContent-Length: " +
              str(len(body)).encode() + b"\r\n\r\n" + body)
    return s


@pytest.mark.router(shutdown_grace=1)
async def test_term_consumer_never_reads(router):
    """A consumer that never reads while its node streams megabytes: the
    router's buffers fill, SIGTERM comes, the router still exits in bound."""
    r = router
    n = await TestNode.registered(r, "nr", models=("mr",), max_concurrent=4)
    for i in range(3):
        _consumer_never_reading(r.port, "10.92.0.%d" % (i + 1))
    rids = [(await n.recv_type("inference_request"))["request_id"] for _ in range(3)]
    blob = "x" * 4000
    for _ in range(300):
        for rid in rids:
            await n.chunk(rid, blob)
    # the router is still serving others
    st, _, body = await http(r.port, "GET", "/health")
    assert st == 200, (st, body)
    r.signal(signal.SIGTERM)
    code, _ = await n.expect_close(10)
    assert code == 1001, code
    _stop_within(r, 10)


@pytest.mark.router(shutdown_grace=5)
async def test_term_twice_and_hup_during_drain(router):
    """A second SIGTERM and a SIGHUP during the drain change nothing: one
    drain, one clean exit; the stream in flight still completes."""
    r = router
    n = await TestNode.registered(r, "tw", models=("mt",))
    resp = await chat(r.port, chat_body("mt"), ip="10.93.0.1")
    q = await n.recv_type("inference_request")
    await n.chunk(q["request_id"], "a")
    r.signal(signal.SIGTERM)
    await asyncio.sleep(0.1)
    r.signal(signal.SIGHUP)
    r.signal(signal.SIGTERM)
    await asyncio.sleep(0.2)
    assert r.poll() is None, "exited with a stream open"
    await n.chunk(q["request_id"], "b", done=True)
    assert text_of(await resp.events()) == "ab"
    resp.close()
    code, _ = await n.expect_close(5)
    assert code == 1001, code
    _stop_within(r, 10)
    assert r.log().count("SIGTERM: draining") == 1, r.log()


def test_valgrind_shutdown():
    """The whole life under valgrind: nodes, a finished chat, a stream in
    flight at SIGTERM; exit 0, no error, nothing definitely lost."""
    vg = shutil.which("valgrind")
    if not vg:
        pytest.skip("valgrind not installed")
    with open(iclib.binary("router/idleclaw-routerd"), "rb") as f:
        asan = b"__asan_init" in f.read()
    if asan:
        pytest.skip("valgrind does not run ASan binaries")
    port = iclib.free_port()
    argv = [vg, "--quiet", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            iclib.binary("router/idleclaw-routerd"), "--config", "/nonexistent/idleclaw.conf",
            "--listen", "127.0.0.1:%d" % port, "-o", "router.shutdown_grace=1"]
    p = iclib.Proc("routerd-vg", argv)

    class Handle:
        pass
    r = Handle()
    r.port = port
    r.ws_url = "ws://127.0.0.1:%d/ws/node" % port

    async def go():
        n = await TestNode.registered(r, "vg", models=("mv",))
        resp = await chat(port, chat_body("mv"), ip="10.94.0.1")
        q = await n.recv_type("inference_request", timeout=30)
        await n.chunk(q["request_id"], "done", done=True)
        assert text_of(await resp.events(timeout=30)) == "done"
        resp.close()
        resp = await chat(port, chat_body("mv"), ip="10.94.0.2")
        q = await n.recv_type("inference_request", timeout=30)
        await n.chunk(q["request_id"], "half")
        p.signal(signal.SIGTERM)
        code, _ = await n.expect_close(30)
        assert code == 1001, code
        await resp.events(timeout=30)
        resp.close()

    iclib.wait_port(port, timeout=60, proc=p)
    # A plain test with its own bound: valgrind is slower than the
    # harness's bound for async tests allows.
    asyncio.run(asyncio.wait_for(go(), 120))
    try:
        rc = p.p.wait(60)
    except subprocess.TimeoutExpired:
        raise AssertionError("no exit under valgrind 60 s after SIGTERM") from None
    log = p.log()
    assert rc == 0, "exit %s\n%s" % (rc, log[-4000:])
    assert "definitely lost" not in log and "Invalid" not in log, log[-4000:]
