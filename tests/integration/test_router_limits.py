#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""idleclaw-routerd: per-IP limits at N and N+1 - rate limits at their real
defaults, open streams per IP, trusted proxies, slow consumers."""
import asyncio
import socket
import time

import pytest
import websockets

from routerlib import LIMITS, TestNode, chat, chat_body, http, text_of, until, xff

# the rate limits at their defaults
DEFAULTS = pytest.mark.router(fast=False, trusted_proxies="127.0.0.1")


async def until_refused(n, per_min, attempt):
    """Call attempt(i) until it returns a refusal (anything but None); the
    first n must pass and the refusal come at n+1 - or later only by the
    tokens the bucket regained meanwhile (per_min a minute, continuously),
    which a slow machine may well give it.  Returns the refusal."""
    t0 = time.monotonic()
    i = 0
    while True:
        refusal = await attempt(i)
        regained = int((time.monotonic() - t0) * per_min / 60.0)
        if refusal is not None:
            assert i >= n, "refused at %d of %d: %r" % (i + 1, n, refusal)
            return refusal
        i += 1
        assert i <= n + regained, "%d passed, limit %d (+%d regained)" % (i, n, regained)


@DEFAULTS
async def test_rate_chat(router):
    r = router
    n = LIMITS["IC_RATE_CHAT_PER_MIN"]

    async def attempt(i):
        st, h, body = await http(r.port, "POST", "/api/chat", body={"model": "x"},
                                 headers=xff("10.20.0.1"))
        if st == 422:
            return None
        return st, h, body
    st, h, body = await until_refused(n, n, attempt)
    assert st == 429 and body == {"detail": "Too many requests"}, (st, body)
    ra = int(h["retry-after"])
    assert 1 <= ra <= 60 // n + 1, ra
    # another address has its own bucket; other routes a separate group
    st, _, _ = await http(r.port, "POST", "/api/chat", body={"model": "x"},
                          headers=xff("10.20.0.2"))
    assert st == 422, st
    st, _, _ = await http(r.port, "GET", "/health", headers=xff("10.20.0.1"))
    assert st == 200, st


@DEFAULTS
async def test_rate_other(router):
    r = router
    n = LIMITS["IC_RATE_OTHER_PER_MIN"]
    paths = ["/health", "/api/models", "/nothing-here"]

    async def attempt(i):
        st, h, body = await http(r.port, "GET", paths[i % 3], headers=xff("10.21.0.1"))
        if st in (200, 404):
            return None
        return st, h, body
    st, h, body = await until_refused(n, n, attempt)
    assert st == 429 and body == {"detail": "Too many requests"}, (st, body)
    assert 1 <= int(h["retry-after"]) <= 2, h


@DEFAULTS
async def test_rate_upgrade(router):
    r = router
    n = LIMITS["IC_RATE_UPGRADE_PER_MIN"]

    async def attempt(i):
        try:
            ws = await websockets.connect(r.ws_url, extra_headers=xff("10.22.0.1"))
        except websockets.InvalidStatusCode as e:
            return e
        await ws.close()
        return None
    e = await until_refused(n, n, attempt)
    assert e.status_code == 429, e.status_code
    assert int(e.headers["retry-after"]) >= 1, e.headers
    ws = await websockets.connect(r.ws_url, extra_headers=xff("10.22.0.2"))
    await ws.close()


@pytest.mark.router(fast=False, rate_other=3)
async def test_untrusted_forwarded_for(router):
    # no trusted proxy: X-Forwarded-For is ignored, every request is 127.0.0.1
    for i in range(3):
        st, _, _ = await http(router.port, "GET", "/health", headers=xff("10.30.0.%d" % i))
        assert st == 200, st
    st, _, _ = await http(router.port, "GET", "/health", headers=xff("10.30.1.1"))
    assert st == 429, st


async def requests_active(port, want):
    st, _, body = await http(port, "GET", "/health")
    return body["requests_active"] == want


@pytest.mark.router(stream_buffer=65536)
async def test_streams_per_ip(router):
    r = router
    node = await TestNode.registered(r, "wide", models=("m1",), max_concurrent=10)
    n = LIMITS["IC_STREAMS_PER_IP_MAX"]
    open_ = []
    rids = []
    for i in range(n):
        resp = await chat(r.port, chat_body(), ip="10.40.0.1")
        req = await node.recv_type("inference_request")
        assert resp.status == 200, resp.status
        open_.append(resp)
        rids.append(req["request_id"])
    st, _, body = await http(r.port, "POST", "/api/chat", body=chat_body(),
                             headers=xff("10.40.0.1"))
    assert st == 429 and body == {"detail": "Too many concurrent requests"}, (st, body)
    # another address is not affected
    other = await chat(r.port, chat_body(), ip="10.40.0.2")
    oreq = await node.recv_type("inference_request")
    await node.chunk(oreq["request_id"], "x", done=True)
    await other.events()
    other.close()
    # one stream ends: the address may open one again
    await node.chunk(rids[0], "done", done=True)
    assert text_of(await open_[0].events()) == "done"
    open_[0].close()
    await until(lambda: requests_active(r.port, n - 1), what="the ended stream freed")
    again = await chat(r.port, chat_body(), ip="10.40.0.1")
    areq = await node.recv_type("inference_request")
    assert again.status == 200
    for rid in rids[1:] + [areq["request_id"]]:
        await node.chunk(rid, "", done=True)
    for resp in open_[1:] + [again]:
        await resp.events()
        resp.close()
    await node.close()


@pytest.mark.router(stream_buffer=65536, max_reply_chars=0)
async def test_slow_consumer(router):
    r = router
    node = await TestNode.registered(r, "firehose", models=("m1",), max_concurrent=2)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", r.port))
    body = b'{"model":"m1","messages":[{"role":"user","content":"hi"}]}'
    sock.sendall(b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"X-Forwarded-For: 10.50.0.1\r\nContent-Length: %d\r\n\r\n%s"
                 % (len(body), body))
    req = await node.recv_type("inference_request")
    rid = req["request_id"]
    piece = "y" * 32768
    cancelled = False
    for _ in range(400):            # up to 13 MB; the consumer reads nothing
        await node.chunk(rid, piece)
        try:
            m = await node.recv(0.001)
        except asyncio.TimeoutError:
            continue
        if m["type"] == "cancel_request" and m["request_id"] == rid:
            cancelled = True
            break
    if not cancelled:
        m = await node.recv_type("cancel_request", 5)
        assert m["request_id"] == rid, m
    assert "consumer too slow" in r.log(), r.log()[-2000:]
    # its slot is free again
    st, _, models = await http(r.port, "GET", "/api/models?verbose=1")
    assert models["models"][0]["free_slots"] == 2, models
    sock.close()
    await node.close()


@pytest.mark.router(max_nodes=2)
async def test_max_nodes(router):
    r = router
    a = await TestNode.registered(r, "mn-a", ip="10.80.0.1")
    b = await TestNode.registered(r, "mn-b", ip="10.80.0.2")
    c = await TestNode.connect(r, "mn-c", ip="10.80.0.3")
    await c.send({"type": "register", "node_id": "mn-c", "max_concurrent": 1,
                  "models": [{"name": "m1", "size": 1}]})
    code, reason = await c.expect_close()
    assert (code, reason) == (1013, "too many nodes"), (code, reason)
    # replacing a registered node is not a new one
    a2 = await TestNode.registered(r, "mn-a", ip="10.80.0.4")
    await a.expect_close()
    await a2.close()
    await b.close()

