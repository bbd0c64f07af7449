#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The reply limits the public server enforces (max_response_chars,
response_timeout_seconds) as [router] max_reply_chars and reply_timeout:
content characters (code points, not thinking, summed over tool rounds) at
N and N+1, the time from the request, and the default of 4096.  A reply
cut short ends with finish_reason "length" and [DONE]; the node gets a
cancel_request."""
import asyncio

import pytest

from limits import LIMITS
from routerlib import TestNode, chat, chat_body, data_events, text_of, until_model
from test_router_tools import NATIVE, SearxStandIn, run_with, send_calls, ws_call

N = 10


def finish_reason(events):
    reasons = [ch["choices"][0].get("finish_reason") for ch in data_events(events)]
    reasons = [r for r in reasons if r]
    assert len(reasons) == 1, reasons
    return reasons[0]


async def reply(router, parts, thinking=None, model="m1"):
    """A chat answered with content parts (and thinking first); (events,
    whether the node got a cancel_request for it)."""
    node = await TestNode.registered(router, "rl", models=(model,))
    resp = await chat(router.port, chat_body(model), ip="10.40.0.1")
    req = await node.recv_type("inference_request")
    rid = req["request_id"]
    if thinking:
        await node.chunk(rid, "", thinking=thinking)
    for p in parts:
        await node.chunk(rid, p)
    await node.chunk(rid, "", done=True, done_reason="stop")
    events = await resp.events()
    resp.close()
    cancelled = await got_cancel(node, rid)
    await node.close()
    return events, cancelled


async def got_cancel(node, rid, seconds=1.0):
    try:
        while True:
            m = await node.recv(seconds)
            if m.get("type") == "cancel_request" and m.get("request_id") == rid:
                return True
    except asyncio.TimeoutError:
        return False


@pytest.mark.router(max_reply_chars=N)
async def test_reply_of_n_chars_passes(router):
    events, _ = await reply(router, ["abcd", "efghij"])
    assert text_of(events) == "abcdefghij"
    assert finish_reason(events) == "stop"
    assert events[-1] == "data: [DONE]", events


@pytest.mark.router(max_reply_chars=N)
async def test_reply_of_n_plus_1_chars_is_cut(router):
    events, cancelled = await reply(router, ["abcd", "efghijk", "more text"])
    assert text_of(events) == "abcdefghij"
    assert finish_reason(events) == "length"
    assert events[-1] == "data: [DONE]", events
    assert cancelled, "the node got no cancel_request"


@pytest.mark.router(max_reply_chars=N)
async def test_characters_are_code_points_and_thinking_is_free(router):
    # 10 two-byte characters pass after a long thinking text ...
    events, _ = await reply(router, ["éééé", "éééééé"], thinking="x" * 100)
    assert text_of(events) == "é" * N and finish_reason(events) == "stop"
    assert text_of(events, reasoning=True) == "x" * 100


@pytest.mark.router(max_reply_chars=N)
async def test_code_point_past_the_limit_is_cut_whole(router):
    events, _ = await reply(router, ["ééééé", "ééééé€"])
    assert text_of(events) == "é" * N and finish_reason(events) == "length"


async def test_default_is_4096(router):
    n = LIMITS["IC_REPLY_CHARS_DEFAULT"]
    assert n == 4096
    events, _ = await reply(router, ["y" * 1000] * 4 + ["y" * (n - 4000)])
    assert len(text_of(events)) == n and finish_reason(events) == "stop"
    events, _ = await reply(router, ["y" * 1000] * 4 + ["y" * (n - 4000 + 1)])
    assert len(text_of(events)) == n and finish_reason(events) == "length"


@pytest.mark.router(max_reply_chars=0)
async def test_zero_is_no_bound(router):
    events, _ = await reply(router, ["z" * 5000])
    assert len(text_of(events)) == 5000 and finish_reason(events) == "stop"


@pytest.mark.router(reply_timeout=2, chunk_timeout=60)
async def test_reply_timeout_cuts_a_slow_reply(router):
    node = await TestNode.registered(router, "slow", models=("m1",))
    resp = await chat(router.port, chat_body("m1"), ip="10.40.0.2")
    req = await node.recv_type("inference_request")
    await node.chunk(req["request_id"], "first words ")
    # then nothing: chunk_timeout (60 s) would wait on; reply_timeout does not
    events = await resp.events(timeout=20)
    resp.close()
    assert text_of(events).startswith("first words")
    assert finish_reason(events) == "length" and events[-1] == "data: [DONE]", events
    assert await got_cancel(node, req["request_id"], seconds=5)
    await node.close()


@pytest.mark.router(reply_timeout=5)
async def test_reply_inside_the_timeout_is_whole(router):
    events, cancelled = await reply(router, ["quick ", "answer"])
    assert text_of(events) == "quick answer" and finish_reason(events) == "stop"


@pytest.mark.router(reply_timeout=1, queue_wait=30)
async def test_reply_timeout_bounds_the_wait_for_a_node(router):
    node = await TestNode.registered(router, "away", models=("m1",))
    await node.heartbeat(available=False)
    await until_model(router.port, "m1", free_slots=0, what="node unavailable")
    resp = await chat(router.port, chat_body("m1"), ip="10.40.0.3")
    assert resp.status == 503, resp.status
    await node.close()


def test_limit_is_summed_over_tool_rounds():
    sx = SearxStandIn()

    async def go(r):
        node = await TestNode.registered(r, "tr", models=(NATIVE,))
        resp = await chat(r.port, chat_body(NATIVE, "search"), ip="10.40.0.5")
        q1 = await node.recv_type("inference_request")
        await node.chunk(q1["request_id"], "abcdef")  # 6 of 10
        await send_calls(node, q1["request_id"], [ws_call("x")])
        q2 = await node.recv_type("inference_request", timeout=20)
        await node.chunk(q2["request_id"], "ghijk")  # 11: one too many
        await node.chunk(q2["request_id"], "", done=True, done_reason="stop")
        events = await resp.events(timeout=20)
        resp.close()
        assert text_of(events) == "abcdefghij", text_of(events)
        assert finish_reason(events) == "length"
        assert await got_cancel(node, q2["request_id"])
        await node.close()

    run_with({"searxng_url": sx.url}, go, max_reply_chars=N)
