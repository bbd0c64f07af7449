#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""idleclaw-routerd: scheduling and faults - least loaded, the wait queue,
failover before the first token, in-band errors after it, cancel on
consumer disconnect, SIGTERM drain."""
import asyncio
import signal
import time

import pytest

from routerlib import TestNode, chat, chat_body, data_events, http, text_of, until

# Each test has its own router (the `router` fixture) with these options,
# unless it names others.
pytestmark = pytest.mark.router(queue_wait=1, queue_max=1, chunk_timeout=10,
                                failover_attempts=2, ping_interval=1)


async def recv_req(nodes, timeout=5.0):
    """(node, request) for the first of nodes to get an inference_request."""
    tasks = {asyncio.ensure_future(n.recv_type("inference_request", timeout)): n
             for n in nodes}
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    t = done.pop()
    return tasks[t], t.result()


async def test_least_loaded(router):
    a = await TestNode.registered(router, "ll-a", models=("ml",), max_concurrent=2)
    b = await TestNode.registered(router, "ll-b", models=("ml",), max_concurrent=2)
    # two chats on two idle nodes: one each
    r1 = await chat(router.port, chat_body("ml"), ip="10.60.0.1")
    n1, q1 = await recv_req([a, b])
    r2 = await chat(router.port, chat_body("ml"), ip="10.60.0.2")
    n2, q2 = await recv_req([a, b])
    assert n1 is not n2, "both chats went to %s" % n1.node_id
    for n, q, r in ((n1, q1, r1), (n2, q2, r2)):
        await n.chunk(q["request_id"], "ok", done=True)
        assert text_of(await r.events()) == "ok"
        r.close()
    # ties are broken at random: sequential chats reach both nodes
    seen = set()
    for i in range(16):
        r = await chat(router.port, chat_body("ml"), ip="10.60.1.%d" % i)
        n, q = await recv_req([a, b])
        seen.add(n.node_id)
        await n.chunk(q["request_id"], "", done=True)
        await r.events()
        r.close()
    assert seen == {"ll-a", "ll-b"}, seen
    # a node at max_concurrent is skipped: c (max 1) busy, d gets the next
    await a.close()
    await b.close()
    c = await TestNode.registered(router, "ll-c", models=("mc",), max_concurrent=1)
    rc = await chat(router.port, chat_body("mc"), ip="10.60.2.1")
    qc = await c.recv_type("inference_request")
    d = await TestNode.registered(router, "ll-d", models=("mc",), max_concurrent=1)
    rd = await chat(router.port, chat_body("mc"), ip="10.60.2.2")
    qd = await d.recv_type("inference_request")
    for n, q, r in ((c, qc, rc), (d, qd, rd)):
        await n.chunk(q["request_id"], "", done=True)
        await r.events()
        r.close()
    await c.close()
    await d.close()


async def test_wait_queue(router):
    n = await TestNode.registered(router, "q", models=("mq",), max_concurrent=1)
    r1 = await chat(router.port, chat_body("mq"), ip="10.61.0.1")
    q1 = await n.recv_type("inference_request")
    # busy: the second waits and is served when the first ends
    r2_task = asyncio.ensure_future(chat(router.port, chat_body("mq"), ip="10.61.0.2"))
    await n.expect_nothing(0.3)
    await n.chunk(q1["request_id"], "one", done=True)
    q2 = await n.recv_type("inference_request")
    r2 = await r2_task
    assert r2.status == 200
    # queue_max is 1: with r3 waiting, r4 is refused at once
    r3_task = asyncio.ensure_future(http(router.port, "POST", "/api/chat", body=chat_body("mq"),
                                         headers={"X-Forwarded-For": "10.61.0.3"}))
    # the router logs each chat as it takes it in (log_level debug), then
    # queues it in the same callback
    await until(lambda: "model mq from 10.61.0.3" in router.log(), what="r3 waiting in the queue")
    t0 = time.monotonic()
    st, _, body = await http(router.port, "POST", "/api/chat", body=chat_body("mq"),
                             headers={"X-Forwarded-For": "10.61.0.4"})
    assert st == 503 and time.monotonic() - t0 < 0.5, (st, body)
    # r3 gives up after queue_wait (1 s)
    st, _, body = await r3_task
    assert st == 503 and body == {"detail": "No nodes available with model mq"}, (st, body)
    # a model nobody has: 503 at once
    t0 = time.monotonic()
    st, _, body = await http(router.port, "POST", "/api/chat", body=chat_body("nobody"),
                             headers={"X-Forwarded-For": "10.61.0.5"})
    assert st == 503 and time.monotonic() - t0 < 0.5, (st, body)
    await n.chunk(q2["request_id"], "two", done=True)
    assert text_of(await r1.events()) == "one"
    assert text_of(await r2.events()) == "two"
    r1.close()
    r2.close()
    await n.close()


async def failover_case(router, fail):
    a = await TestNode.registered(router, "fo-a", models=("mf",), max_concurrent=1)
    b = await TestNode.registered(router, "fo-b", models=("mf",), max_concurrent=1)
    r = await chat(router.port, chat_body("mf"), ip="10.62.0.1")
    first, q = await recv_req([a, b])
    other = b if first is a else a
    await fail(first, q["request_id"])
    q2 = await other.recv_type("inference_request")
    assert q2["ollama_params"] == q["ollama_params"]
    await other.chunk(q2["request_id"], "saved")
    await other.chunk(q2["request_id"], "", done=True)
    events = await r.events()
    r.close()
    assert text_of(events) == "saved", events
    assert "error" not in str(data_events(events)), events
    for n in (a, b):
        try:
            await n.close()
        except Exception:
            pass
    await asyncio.sleep(0.1)
    return first


async def test_failover_disconnect(router):
    async def fail(node, rid):
        await node.close()
    await failover_case(router, fail)


async def test_failover_error(router):
    async def fail(node, rid):
        await node.error(rid, "ollama_unavailable")
    await failover_case(router, fail)


@pytest.mark.router(chunk_timeout=1)
async def test_failover_timeout(router):
    got = {}

    async def fail(node, rid):
        m = await node.recv_type("cancel_request", 5)      # chunk_timeout: 1 s
        got["cancel"] = m["request_id"] == rid
    await failover_case(router, fail)
    assert got["cancel"], got


async def test_error_after_first_token(router):
    a = await TestNode.registered(router, "late", models=("me",), max_concurrent=1)
    b = await TestNode.registered(router, "late-b", models=("me",), max_concurrent=1)
    r = await chat(router.port, chat_body("me"), ip="10.63.0.1")
    n, q = await recv_req([a, b])
    await n.chunk(q["request_id"], "partial")
    await asyncio.sleep(0.1)
    await n.close()
    events = await r.events()
    r.close()
    assert events[-1] == "data: [DONE]", events
    chunks = data_events(events)
    assert chunks[0]["choices"][0]["delta"]["content"] == "partial"
    err = [c for c in chunks if "error" in c]
    assert err and err[0]["choices"][0]["delta"]["content"].startswith("\n\n[Error: "), chunks
    assert err[0]["error"]["code"] and err[0]["error"]["message"], err
    assert chunks[-1]["choices"][0]["finish_reason"] == "error", chunks
    other = b if n is a else a
    await other.expect_nothing(0.2)        # no failover after a token
    await other.close()


async def test_failover_bounded(router):
    # failover_attempts is 2: three nodes failing, the third never asked
    nodes = [await TestNode.registered(router, "fb-%d" % i, models=("mb",), max_concurrent=1)
             for i in range(3)]
    r = await chat(router.port, chat_body("mb"), ip="10.64.0.1")
    asked = []
    for _ in range(2):
        n, q = await recv_req([x for x in nodes if x not in asked])
        asked.append(n)
        await n.error(q["request_id"], "ollama_error")
    events = await r.events()
    r.close()
    chunks = data_events(events)
    assert chunks[-1]["choices"][0]["finish_reason"] == "error", chunks
    [third] = [x for x in nodes if x not in asked]
    await third.expect_nothing(0.2)
    for n in nodes:
        await n.close()


async def test_invalid_request_no_failover(router):
    a = await TestNode.registered(router, "inv-a", models=("mi",), max_concurrent=1)
    b = await TestNode.registered(router, "inv-b", models=("mi",), max_concurrent=1)
    r = await chat(router.port, chat_body("mi"), ip="10.65.0.1")
    n, q = await recv_req([a, b])
    await n.error(q["request_id"], "invalid_request")
    chunks = data_events(await r.events())
    r.close()
    assert chunks[-1]["choices"][0]["finish_reason"] == "error", chunks
    await (b if n is a else a).expect_nothing(0.2)
    await a.close()
    await b.close()


async def test_cancel_on_disconnect(router):
    n = await TestNode.registered(router, "cx", models=("mx",), max_concurrent=1)
    r = await chat(router.port, chat_body("mx"), ip="10.66.0.1")
    q = await n.recv_type("inference_request")
    await n.chunk(q["request_id"], "first")
    ev = await r.event()
    assert "first" in ev, ev
    r.close()
    m = await n.recv_type("cancel_request", 5)
    assert m["request_id"] == q["request_id"], m
    # the slot is free: the next chat is served at once
    r2 = await chat(router.port, chat_body("mx"), ip="10.66.0.2")
    q2 = await n.recv_type("inference_request", 2)
    await n.chunk(q2["request_id"], "", done=True)
    await r2.events()
    r2.close()
    # a consumer that leaves while queued frees its place too
    await n.close()


async def test_ping(router):
    n = await TestNode.registered(router, "pinger", models=("mp",), max_concurrent=1)
    r = await chat(router.port, chat_body("mp"), ip="10.67.0.1")
    q = await n.recv_type("inference_request")
    ev = await r.event(timeout=3)           # ping_interval is 1 s
    assert ev == ": ping", ev
    await n.chunk(q["request_id"], "pong", done=True)
    events = await r.events()
    r.close()
    assert text_of(events) == "pong"
    await n.close()


def test_drain(notify, make_router):
    r = make_router(shutdown_grace=5, env={"NOTIFY_SOCKET": notify.path})

    async def go():
        n = await TestNode.registered(r, "drain", models=("md",), max_concurrent=2)
        resp = await chat(r.port, chat_body("md"), ip="10.70.0.1")
        q = await n.recv_type("inference_request")
        await n.chunk(q["request_id"], "before ")
        r.signal(signal.SIGTERM)
        await asyncio.get_running_loop().run_in_executor(
            None, notify.wait_for, "STOPPING=1")
        await asyncio.sleep(0.1)
        assert r.poll() is None, "exited with a stream open"
        st, _, body = await http(r.port, "POST", "/api/chat", body=chat_body("md"),
                                 headers={"X-Forwarded-For": "10.70.0.2"})
        assert st == 503 and body == {"detail": "Server shutting down"}, (st, body)
        st, _, body = await http(r.port, "GET", "/health")
        assert body["status"] == "draining", body
        await n.chunk(q["request_id"], "after", done=True)
        events = await resp.events()
        resp.close()
        assert text_of(events) == "before after", events
        code, reason = await n.expect_close(5)
        assert code == 1001, (code, reason)

    notify.wait_for("READY=1")
    asyncio.run(asyncio.wait_for(go(), 20))
    r.assert_clean_exit(timeout=5)


def test_drain_grace_expires(make_router):
    r = make_router(shutdown_grace=1)

    async def go():
        n = await TestNode.registered(r, "stuck", models=("ms",), max_concurrent=1)
        resp = await chat(r.port, chat_body("ms"), ip="10.71.0.1")
        await n.recv_type("inference_request")
        t0 = time.monotonic()
        r.signal(signal.SIGTERM)
        code, _ = await n.expect_close(5)
        assert code == 1001, code
        assert 0.8 < time.monotonic() - t0 < 4, time.monotonic() - t0
        await resp.events()
        resp.close()

    asyncio.run(asyncio.wait_for(go(), 20))
    r.assert_clean_exit(timeout=5)

