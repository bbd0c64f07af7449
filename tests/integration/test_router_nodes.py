#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""idleclaw-routerd: the node WebSocket - registration, close reasons,
heartbeats, identity bound to the socket, extensions, frame size."""
import asyncio
import json
import re

import pytest

from routerlib import LIMITS, TestNode, chat, chat_body, http, text_of, until, until_model

# Each test has its own router (the `router` fixture) with these options.
pytestmark = pytest.mark.router(register_timeout=1, heartbeat_timeout=3, queue_wait=1)


async def close_reason_of(router, first_frame, ip):
    n = await TestNode.connect(router, ip=ip)
    await n.send(first_frame)
    return await n.expect_close()


def reg(node_id="n", models=None, **extra):
    msg = {"type": "register", "node_id": node_id,
           "models": [{"name": "m1", "size": 1}] if models is None else models,
           "max_concurrent": 1}
    msg.update(extra)
    return msg


async def test_close_reasons(router):
    cases = [
        ({"type": "heartbeat", "node_id": "n"}, "expected register message"),
        ("not json", "expected register message"),
        (reg(node_id=""), "invalid node_id"),
        (reg(node_id="x" * (LIMITS["IC_NODE_ID_MAX"] + 1)), "invalid node_id"),
        (reg(models=[]), "no models provided"),
        (reg(models=[{"name": "m%d" % i, "size": 1}
                     for i in range(LIMITS["IC_MODELS_PER_NODE_MAX"] + 1)]),
         "too many models"),
        (reg(models=[{"name": "bad name", "size": 1}]), "invalid model name"),
    ]
    for i, (frame, reason) in enumerate(cases):
        code, got = await close_reason_of(router, frame, "10.1.0.%d" % (i + 1))
        assert (code, got) == (1008, reason), (frame, code, got)
    # N models and an id of N characters are fine
    n = await TestNode.connect(router, "y" * LIMITS["IC_NODE_ID_MAX"], ip="10.1.1.1")
    reply = await n.register(models=["m%d" % i for i in range(LIMITS["IC_MODELS_PER_NODE_MAX"])])
    assert reply["type"] == "registered", reply
    assert reply["node_id"] == "y" * LIMITS["IC_NODE_ID_MAX"]
    assert "available" in reply["features"] and "models_update" in reply["features"], reply
    await n.close()


async def test_register_timeout(router):
    n = await TestNode.connect(router, ip="10.2.0.1")
    code, reason = await n.expect_close(timeout=5)
    assert (code, reason) == (1008, "registration timeout"), (code, reason)


async def test_nodes_per_ip(router):
    ip = "10.3.0.1"
    nodes = []
    for i in range(LIMITS["IC_NODES_PER_IP_MAX"]):
        nodes.append(await TestNode.registered(router, "nat-%d" % i, models=("same",), ip=ip))
    extra = await TestNode.connect(router, "nat-extra", ip=ip)
    await extra.send(reg("nat-extra", models=[{"name": "same", "size": 1}]))
    code, reason = await extra.expect_close()
    assert (code, reason) == (1008, "too many nodes from this IP"), (code, reason)
    # the NAT case: all N nodes with the same model stay registered
    st, _, body = await http(router.port, "GET", "/api/models?verbose=1")
    assert {"name": "same", "node_count": 3, "free_slots": 6} in body["models"], body
    # re-registering one of them from the same IP is a replacement, not a 4th node
    again = await TestNode.connect(router, "nat-0", ip=ip)
    reply = await again.register(models=("same",))
    assert reply["type"] == "registered", reply
    code, reason = await nodes[0].expect_close()
    assert (code, reason) == (1000, "re-registered"), (code, reason)
    # after one leaves, another may join
    await nodes[1].close()
    await until_model(router.port, "same", node_count=2, what="the node that left gone")
    late = await TestNode.registered(router, "nat-late", models=("same",), ip=ip)
    for n in (again, nodes[2], late):
        await n.close()


async def test_reregister_fails_over(router):
    old = await TestNode.registered(router, "dup", models=("mr",), ip="10.4.0.1")
    resp = await chat(router.port, chat_body("mr"), ip="10.4.0.9")
    await old.recv_type("inference_request")
    new = await TestNode.registered(router, "dup", models=("mr",), ip="10.4.0.2")
    code, reason = await old.expect_close()
    assert (code, reason) == (1000, "re-registered"), (code, reason)
    # the request had no token yet: it moves to the new socket
    await new.answer(("moved",))
    events = await resp.events()
    resp.close()
    assert text_of(events) == "moved", events
    await new.close()


async def test_heartbeat_timeout(router):
    n = await TestNode.registered(router, "silent", ip="10.5.0.1")
    code, reason = await n.expect_close(timeout=5)
    assert (code, reason) == (1000, "heartbeat timeout"), (code, reason)


async def test_heartbeat_keeps_alive(router):
    n = await TestNode.registered(router, "chatty", ip="10.5.0.2")
    for _ in range(8):            # 4 s, beyond the 3 s timeout
        await asyncio.sleep(0.5)
        await n.heartbeat()
    st, _, body = await http(router.port, "GET", "/health")
    assert body["nodes"] >= 1, body
    await n.send({"type": "something_new", "x": 1})     # unknown types: ignored
    await n.heartbeat()
    await n.expect_nothing(0.3)
    await n.close()


async def test_forged_node_id(router):
    a = await TestNode.registered(router, "victim", models=("mf",), ip="10.6.0.1")
    b = await TestNode.registered(router, "forger", models=("other",), ip="10.6.0.2")
    # b claims to be a and unavailable: only b's own state may change
    await b.heartbeat(available=False, node_id="victim")
    await until_model(router.port, "other", free_slots=0, what="forger unavailable")
    st, _, body = await http(router.port, "GET", "/api/models?verbose=1")
    assert {"name": "mf", "node_count": 1, "free_slots": 2} in body["models"], body
    resp = await chat(router.port, chat_body("mf"), ip="10.6.0.9")
    req = await a.recv_type("inference_request")
    # b sends a chunk for a's request: dropped
    await b.chunk(req["request_id"], "FORGED")
    await b.chunk(req["request_id"], "", done=True)
    await b.error(req["request_id"])
    # all three dropped before a answers (frames of two sockets: no order)
    await until(lambda: len(re.findall(r"node forger \(10\.6\.0\.2\): \w+ for a request "
                                       r"not assigned to it", router.log())) == 3,
                what="the forged frames dropped")
    await a.chunk(req["request_id"], "real")
    await a.chunk(req["request_id"], "", done=True)
    events = await resp.events()
    resp.close()
    assert text_of(events) == "real", events
    assert "for a request not assigned to it" in router.log()
    # b's own availability did change: a chat for "other" waits, then 503
    st, _, body = await http(router.port, "POST", "/api/chat", body=chat_body("other"),
                             headers={"X-Forwarded-For": "10.6.0.8"})
    assert st == 503, (st, body)
    await a.close()
    await b.close()


async def test_available_false_and_models_update(router):
    n = await TestNode.registered(router, "ext", models=("ma",), ip="10.7.0.1")
    await n.heartbeat(available=False)
    await until_model(router.port, "ma", free_slots=0, what="node unavailable")
    st, _, body = await http(router.port, "POST", "/api/chat", body=chat_body("ma"),
                             headers={"X-Forwarded-For": "10.7.0.9"})
    assert st == 503 and body["detail"] == "No nodes available with model ma", (st, body)
    # back to available: a waiting chat is served
    resp_task = asyncio.ensure_future(chat(router.port, chat_body("ma"), ip="10.7.0.9"))
    await asyncio.sleep(0.2)
    await n.heartbeat(available=True)
    await n.answer(("ok",))
    resp = await resp_task
    assert text_of(await resp.events()) == "ok"
    resp.close()
    # models_update replaces the list
    await n.send({"type": "models_update", "models": [{"name": "mb", "size": 5}]})
    await until_model(router.port, "mb", node_count=1, what="models_update applied")
    st, _, body = await http(router.port, "GET", "/api/models")
    assert "mb" in body["models"] and "ma" not in body["models"], body
    # an invalid update is ignored; the heartbeat behind it on the same
    # socket shows when the router has read it
    await n.send({"type": "models_update", "models": [{"name": "bad name", "size": 5}]})
    await n.heartbeat(available=False)
    await until_model(router.port, "mb", free_slots=0, what="the frames after the update read")
    st, _, body = await http(router.port, "GET", "/api/models")
    assert "mb" in body["models"] and "bad name" not in body["models"], body
    await n.close()


async def test_concurrency_clamp(router):
    lo, hi = LIMITS["IC_CONCURRENCY_MIN"], LIMITS["IC_CONCURRENCY_MAX"]
    for mc, want in ((lo - 1, lo), (lo, lo), (hi, hi), (hi + 1, hi), (1000, hi)):
        n = await TestNode.connect(router, "clamp", ip="10.8.0.1")
        r = await n.register(models=("mc%d" % want,), max_concurrent=mc)
        assert r["type"] == "registered", r
        st, _, body = await http(router.port, "GET", "/api/models?verbose=1")
        got = [m for m in body["models"] if m["name"] == "mc%d" % want]
        assert got and got[0]["free_slots"] == want, (mc, body)
        await n.close()
        await asyncio.sleep(0.1)


async def test_message_size(router):
    n = await TestNode.registered(router, "big", models=("mz",), ip="10.9.0.1")
    limit = LIMITS["IC_WS_MESSAGE_MAX"]
    frame = json.dumps({"type": "heartbeat", "node_id": "big", "active_requests": 0,
                        "available": True, "pad": ""})
    exact = frame[:-2] + "x" * (limit - len(frame)) + '"}'
    assert len(exact) == limit
    await n.send(exact)
    await n.heartbeat()
    await n.expect_nothing(0.3)      # still connected
    await n.send(exact[:-2] + 'xx"}')
    code, reason = await n.expect_close()
    assert code == 1009, (code, reason)


async def test_garbage_after_registration(router):
    n = await TestNode.registered(router, "messy", models=("mg",), ip="10.10.0.1")
    resp = await chat(router.port, chat_body("mg"), ip="10.10.0.9")
    req = await n.recv_type("inference_request")
    rid = req["request_id"]
    for frame in ("not json", "[]", "{}", '{"type":5}', '{"type":"heartbeat"}',
                  '{"type":"inference_chunk","request_id":"%s"}' % rid,
                  '{"type":"inference_chunk","request_id":"%s","chunk":[]}' % rid,
                  '{"type":"inference_chunk","request_id":"%s","chunk":{"message":5}}' % rid,
                  '{"type":"inference_chunk","request_id":"%s","chunk":{"message":'
                  '{"content":7,"thinking":[]},"done":"yes"}}' % rid,
                  '{"type":"inference_error","request_id":"nope"}',
                  '{"type":"models_update","models":"x"}',
                  json.dumps({"type": "register", "node_id": "other", "models": []})):
        await n.send(frame)
    await n.ws.send(b"\x00\x01binary")
    await n.chunk(rid, "still fine", done=True)
    events = await resp.events()
    resp.close()
    assert "still fine" in text_of(events), events
    # invalid UTF-8 in a text frame: closed by the WebSocket layer (1007)
    await n.ws.write_frame(True, 0x1, b'{"type":"heartbeat","x":"\xff"}')
    code, _ = await n.expect_close()
    assert code in (1007, 1002), code
    st, _, body = await http(router.port, "GET", "/health")
    assert st == 200, st
