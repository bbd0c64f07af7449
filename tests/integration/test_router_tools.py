#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""idleclaw-routerd's server-side tools: web_search against a SearXNG
stand-in, the loop back to the node, and each safeguard at N and N+1."""
import asyncio
import json
import time

from routerlib import TestNode, chat, chat_body, http
from test_router_trust import TOKEN, token_file
from toolslib import SearxStandIn, ToolsRouter, expected_results
import iclib  # noqa: E402

NATIVE = "llama3.2:3b"      # native tool calls (by name)
TEXT = "gemma2:2b"          # the text form


def ws_call(q=None, name="web_search", args=None):
    return {"function": {"name": name,
                         "arguments": {"query": q} if args is None else args}}


async def send_calls(node, rid, calls, content=""):
    await node.send({"type": "inference_chunk", "request_id": rid, "chunk": {
        "message": {"role": "assistant", "content": content, "tool_calls": calls},
        "done": False}})
    await node.chunk(rid, "", done=True, done_reason="stop")


async def send_text(node, rid, parts):
    for p in parts:
        await node.chunk(rid, p)
    await node.chunk(rid, "", done=True, done_reason="stop")


async def next_data(resp, timeout=20.0):
    """The next data: event, parsed (pings skipped); "[DONE]" or None at EOF."""
    while True:
        ev = await resp.event(timeout)
        if ev is None:
            return None
        if ev.startswith("data: "):
            body = ev[len("data: "):]
            return body if body == "[DONE]" else json.loads(body)


async def until_tool(resp, status, timeout=20.0):
    """Read the stream up to a tool_call delta with status; [texts, tool] ."""
    texts = []
    while True:
        d = await next_data(resp, timeout)
        assert d not in (None, "[DONE]"), "stream ended before tool status %s" % status
        delta = d["choices"][0]["delta"]
        if "tool_call" in delta:
            if delta["tool_call"]["status"] == status:
                return texts, delta["tool_call"]
            continue
        if "content" in delta:
            texts.append(delta["content"])


async def rest_of(resp, timeout=20.0):
    """(content text, tool deltas) until [DONE]."""
    text, tools = "", []
    while True:
        d = await next_data(resp, timeout)
        if d in (None, "[DONE]"):
            return text, tools
        delta = d["choices"][0]["delta"]
        if "tool_call" in delta:
            tools.append(delta["tool_call"])
        text += delta.get("content", "")


def run_with(tools, body, **router_opts):
    """Run body(router) with a router whose [tools] are `tools` (longer
    than the harness's async timeout: a test may wait out a search's);
    the router must exit cleanly."""
    r = ToolsRouter(tools=tools, metrics="yes", **router_opts)
    asyncio.run(asyncio.wait_for(body(r), 120))
    r.assert_clean_exit()


async def metrics(r):
    st, _, body = await http(r.port, "GET", "/metrics")
    assert st == 200, st
    return body["tool_calls"]


def test_native_round_trip():
    sx = SearxStandIn()

    async def go(r):
        node = await TestNode.registered(r, "n1", models=(NATIVE,))
        resp = await chat(r.port, chat_body(NATIVE, "what is new?"), ip="10.1.0.1")
        q1 = await node.recv_type("inference_request")
        assert q1["ollama_params"]["tools"][0]["function"]["name"] == "web_search"
        await node.chunk(q1["request_id"], "Looking. ")
        await send_calls(node, q1["request_id"], [ws_call("idle claw")])
        texts, tc = await until_tool(resp, "executing")
        assert texts == ["Looking. "], texts
        assert tc == {"name": "web_search", "status": "executing"}, tc
        _, tc = await until_tool(resp, "done")
        q2 = await node.recv_type("inference_request")
        assert q2["request_id"] != q1["request_id"]
        msgs = q2["ollama_params"]["messages"]
        assert [m["role"] for m in msgs] == ["system", "user", "assistant", "tool"], msgs
        assert msgs[2] == {"role": "assistant", "content": "Looking. ",
                           "tool_calls": [ws_call("idle claw")]}, msgs[2]
        assert msgs[3] == {"role": "tool", "tool_name": "web_search",
                           "content": expected_results("idle claw")}, msgs[3]
        assert sx.queries == [{"path": "/search", "q": "idle claw", "format": "json",
                               "categories": "general"}], sx.queries
        # the model still may call tools in the next round
        assert "tools" in q2["ollama_params"]
        await send_text(node, q2["request_id"], ["It is ", "new."])
        text, tools = await rest_of(resp)
        assert text == "It is new." and tools == [], (text, tools)
        resp.close()
        assert (await metrics(r))["ok"] == 1
        await node.close()

    run_with({"searxng_url": sx.url}, go)


def test_text_form_split_and_unclosed():
    sx = SearxStandIn()

    async def go(r):
        node = await TestNode.registered(r, "t1", models=(TEXT,))
        for i, parts in enumerate((
                ["Let me look. <tool_", "call>{\"name\": \"web_search\", \"argu",
                 "ments\": {\"query\": \"split\"}}</tool", "_call> trailing"],
                ["<tool_call>{\"name\": \"web_search\", \"arguments\": {\"query\": \"open\"}}"])):
            resp = await chat(r.port, chat_body(TEXT, "q"), ip="10.2.0.%d" % i)
            q1 = await node.recv_type("inference_request")
            assert "tools" not in q1["ollama_params"]
            await send_text(node, q1["request_id"], parts)
            texts, _ = await until_tool(resp, "executing")
            assert "<tool" not in "".join(texts) and "web_search" not in "".join(texts), texts
            await until_tool(resp, "done")
            q2 = await node.recv_type("inference_request")
            msgs = q2["ollama_params"]["messages"]
            assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"], msgs
            assert msgs[2]["content"] == "".join(parts), msgs[2]
            query = "split" if i == 0 else "open"
            assert msgs[3]["content"] == "[Tool Result for web_search]:\n" + \
                expected_results(query), msgs[3]
            await send_text(node, q2["request_id"], ["done"])
            text, _ = await rest_of(resp)
            assert text == "done", text
            resp.close()
        assert [q["q"] for q in sx.queries] == ["split", "open"], sx.queries
        await node.close()

    run_with({"searxng_url": sx.url}, go)


def test_validation_results_paired():
    sx = SearxStandIn()

    async def go(r):
        node = await TestNode.registered(r, "v1", models=(NATIVE,))
        resp = await chat(r.port, chat_body(NATIVE, "q"), ip="10.3.0.1")
        q1 = await node.recv_type("inference_request")
        calls = [ws_call("good"),
                 ws_call(args={"query": 5}),                    # wrong type
                 ws_call(args={"query": "x", "lang": "en"}),    # extra argument
                 ws_call(args={}),                              # missing argument
                 ws_call("x", name="rm_rf")]                    # unknown tool
        await send_calls(node, q1["request_id"], calls)
        q2 = await node.recv_type("inference_request")
        msgs = q2["ollama_params"]["messages"]
        results = [m for m in msgs if m["role"] == "tool"]
        assert [m["tool_name"] for m in results] == ["web_search"] * 4 + ["invalid_tool"], results
        assert results[0]["content"] == expected_results("good"), results[0]
        assert [m["content"] for m in results[1:]] == [
            "Error: argument 'query' must be a string",
            "Error: unknown argument for web_search (its arguments: query)",
            "Error: missing required argument 'query' for web_search",
            "Error: unknown tool (the tools: web_search)"], results
        assert [q["q"] for q in sx.queries] == ["good"], sx.queries
        # the query's length: 500 characters pass, 501 do not
        await send_calls(node, q2["request_id"], [ws_call("é" * 500), ws_call("é" * 501)])
        q3 = await node.recv_type("inference_request")
        res3 = [m["content"] for m in q3["ollama_params"]["messages"] if m["role"] == "tool"]
        assert res3[-2] == expected_results("é" * 500), res3[-2][:80]
        assert res3[-1] == "Error: argument 'query' must be 1 to 500 characters", res3[-1]
        await send_text(node, q3["request_id"], ["ok"])
        text, tools = await rest_of(resp)
        assert text == "ok", text
        resp.close()
        m = await metrics(r)
        assert m["ok"] == 2 and m["refused"] == 5, m
        await node.close()

    run_with({"searxng_url": sx.url}, go)


def test_calls_per_reply():
    """5 calls from one reply run, the 6th is refused; a call without a
    usable name is answered as invalid_tool; results stay in order."""
    sx = SearxStandIn()

    async def go(r):
        node = await TestNode.registered(r, "cr1", models=(NATIVE,))
        resp = await chat(r.port, chat_body(NATIVE, "q"), ip="10.12.0.1")
        q = await node.recv_type("inference_request")
        calls = [ws_call("p%d" % i) for i in range(1, 7)]
        await send_calls(node, q["request_id"], calls)
        q2 = await node.recv_type("inference_request")
        msgs = q2["ollama_params"]["messages"]
        res = [m["content"] for m in msgs if m["role"] == "tool"]
        assert res[:5] == [expected_results("p%d" % i) for i in range(1, 6)], res
        assert res[5] == "Error: too many tool calls in one reply", res
        assert msgs[2]["tool_calls"] == calls, msgs[2]
        await send_calls(node, q2["request_id"], [
            {"function": {"name": "x" * 65, "arguments": {"query": "y"}}},
            {"function": {"arguments": "not an object"}}])
        q3 = await node.recv_type("inference_request")
        msgs = q3["ollama_params"]["messages"]
        assert msgs[-3]["tool_calls"] == [
            {"function": {"name": "invalid_tool", "arguments": {"query": "y"}}},
            {"function": {"name": "invalid_tool", "arguments": {}}}], msgs[-3]
        assert msgs[-2:] == [{"role": "tool", "tool_name": "invalid_tool",
                              "content": "Error: unknown tool (the tools: web_search)"}] * 2, msgs
        await send_text(node, q3["request_id"], ["ok"])
        text, _ = await rest_of(resp)
        assert text == "ok", text
        resp.close()
        assert len(sx.queries) == 5
        await node.close()

    run_with({"searxng_url": sx.url}, go)


def test_not_offered_not_run():
    """No searxng_url: tool calls and tool-call text do nothing."""
    async def go(r):
        node = await TestNode.registered(r, "no1", models=(NATIVE, TEXT))
        resp = await chat(r.port, chat_body(NATIVE, "q"), ip="10.4.0.1")
        q = await node.recv_type("inference_request")
        assert "tools" not in q["ollama_params"]
        await node.chunk(q["request_id"], "answer")
        await send_calls(node, q["request_id"], [ws_call("x")])
        text, tools = await rest_of(resp)
        assert text == "answer" and tools == [], (text, tools)
        resp.close()
        resp = await chat(r.port, chat_body(TEXT, "q"), ip="10.4.0.2")
        q = await node.recv_type("inference_request")
        await send_text(node, q["request_id"], [
            "a <tool_call>{\"name\":\"web_search\",\"arguments\":{\"query\":\"x\"}}</tool_call>b"])
        text, tools = await rest_of(resp)
        assert text == "a b" and tools == [], (text, tools)
        resp.close()
        await node.expect_nothing(0.5)
        assert (await metrics(r)) == {"ok": 0, "failed": 0, "refused": 0, "limited": 0,
                                      "cancelled": 0}
        await node.close()

    run_with({}, go)


def test_rounds_limit():
    """Rounds 1-5 run their calls; the 6th request offers nothing and its
    calls (native or text) are not run."""
    sx = SearxStandIn()

    async def go(r):
        node = await TestNode.registered(r, "r1", models=(NATIVE,))
        resp = await chat(r.port, chat_body(NATIVE, "q"), ip="10.5.0.1")
        q = await node.recv_type("inference_request")
        for rnd in range(1, 6):
            assert "tools" in q["ollama_params"], rnd
            await send_calls(node, q["request_id"], [ws_call("round %d" % rnd)])
            q = await node.recv_type("inference_request")
        assert "tools" not in q["ollama_params"]
        assert "<tool_call>" not in q["ollama_params"]["messages"][0]["content"]
        assert len(sx.queries) == 5
        await node.chunk(q["request_id"], "<tool_call>{\"name\":\"web_search\","
                         "\"arguments\":{\"query\":\"6\"}}</tool_call>final")
        await send_calls(node, q["request_id"], [ws_call("round 6")])
        text, tools = await rest_of(resp)
        assert text == "final", text
        assert [t["status"] for t in tools] == ["executing", "done"] * 5, tools
        assert len(sx.queries) == 5, sx.queries
        resp.close()
        await node.expect_nothing(0.5)
        await node.close()

    run_with({"searxng_url": sx.url}, go)


def test_calls_per_node_limit():
    """The 20th call in a minute runs, the 21st is refused; in a short
    window the oldest call ageing out lets the next one through."""
    sx = SearxStandIn()

    async def go(r):
        node = await TestNode.registered(r, "l1", models=(NATIVE,))
        for i in range(1, 22):
            resp = await chat(r.port, chat_body(NATIVE, "q"), ip="10.6.%d.1" % i)
            q = await node.recv_type("inference_request")
            await send_calls(node, q["request_id"], [ws_call("c%d" % i)])
            q2 = await node.recv_type("inference_request")
            res = [m["content"] for m in q2["ollama_params"]["messages"] if m["role"] == "tool"]
            if i <= 20:
                assert res == [expected_results("c%d" % i)], (i, res)
            else:
                assert res == ["Error: tool call limit reached (20 per 60 s for this node)"], res
            await send_text(node, q2["request_id"], ["ok"])
            text, tools = await rest_of(resp)
            assert tools[-1]["status"] == ("done" if i <= 20 else "error"), tools
            resp.close()
        assert len(sx.queries) == 20
        assert (await metrics(r))["limited"] == 1
        await node.close()

    async def sliding(r):
        node = await TestNode.registered(r, "l2", models=(NATIVE,))
        t0 = time.monotonic()
        outcomes = []
        for i in range(4):
            if i == 3:   # the first call leaves the 3 s window
                await asyncio.sleep(max(0, t0 + 3.2 - time.monotonic()))
            resp = await chat(r.port, chat_body(NATIVE, "q"), ip="10.7.%d.1" % i)
            q = await node.recv_type("inference_request")
            await send_calls(node, q["request_id"], [ws_call("s%d" % i)])
            q2 = await node.recv_type("inference_request")
            res = [m["content"] for m in q2["ollama_params"]["messages"] if m["role"] == "tool"]
            outcomes.append(res[0].startswith("Error: tool call limit"))
            await send_text(node, q2["request_id"], ["ok"])
            await rest_of(resp)
            resp.close()
        # calls 1 and 2 ran; 3 (within 3 s of 1) refused, unless slow load let 1 expire
        assert outcomes[:2] == [False, False] and outcomes[3] is False, outcomes
        if time.monotonic() - t0 < 3:
            assert outcomes[2] is True, outcomes
        await node.close()

    run_with({"searxng_url": sx.url}, go)
    run_with({"searxng_url": sx.url, "calls_per_window": 2, "calls_window": 3}, sliding)


def failing_search(mode, want, tools_extra=None, url=None):
    sx = SearxStandIn(mode, delay=30) if url is None else None

    async def go(r):
        node = await TestNode.registered(r, "f1", models=(NATIVE,))
        resp = await chat(r.port, chat_body(NATIVE, "q"), ip="10.8.0.1")
        q = await node.recv_type("inference_request")
        t0 = time.monotonic()
        await send_calls(node, q["request_id"], [ws_call("x")])
        _, tc = await until_tool(resp, "error", timeout=30)
        assert tc["name"] == "web_search" and want in tc["reason"], tc
        q2 = await node.recv_type("inference_request", timeout=30)
        res = [m["content"] for m in q2["ollama_params"]["messages"] if m["role"] == "tool"]
        assert len(res) == 1 and res[0].startswith("Error: ") and want in res[0], res
        await send_text(node, q2["request_id"], ["sorry"])
        text, _ = await rest_of(resp)
        assert text == "sorry", text
        resp.close()
        assert (await metrics(r))["failed"] == 1
        await node.close()
        return time.monotonic() - t0

    tools = {"searxng_url": url or sx.url}
    tools.update(tools_extra or {})
    run_with(tools, go)


def test_search_failures():
    failing_search("badjson", "malformed JSON")
    failing_search("huge", "too large")
    failing_search("error500", "HTTP 500")
    failing_search(None, "unreachable", url="http://127.0.0.1:%d" % iclib.free_port())


def test_search_timeout():
    """A search slower than the timeout (1 s here; 15 by default) fails, and
    the router closes its connection."""
    sx = SearxStandIn("slow", delay=30)

    async def go(r):
        node = await TestNode.registered(r, "to1", models=(NATIVE,))
        resp = await chat(r.port, chat_body(NATIVE, "q"), ip="10.9.0.1")
        q = await node.recv_type("inference_request")
        t0 = time.monotonic()
        await send_calls(node, q["request_id"], [ws_call("x")])
        _, tc = await until_tool(resp, "error", timeout=30)
        took = time.monotonic() - t0
        assert "timed out" in tc["reason"], tc
        assert 0.9 < took < 10, took
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: iclib.wait_for(lambda: sx.aborted == 1, what="search aborted"))
        q2 = await node.recv_type("inference_request")
        await send_text(node, q2["request_id"], ["late"])
        await rest_of(resp)
        resp.close()
        await node.close()

    run_with({"searxng_url": sx.url, "timeout": 1}, go)


def test_consumer_disconnect_cancels_search():
    sx = SearxStandIn("slow", delay=30)

    async def go(r):
        node = await TestNode.registered(r, "cd1", models=(NATIVE,))
        resp = await chat(r.port, chat_body(NATIVE, "q"), ip="10.10.0.1")
        q = await node.recv_type("inference_request")
        await send_calls(node, q["request_id"], [ws_call("x")])
        await until_tool(resp, "executing")
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: iclib.wait_for(lambda: sx.count() == 1, what="search started"))
        resp.close()
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: iclib.wait_for(lambda: sx.aborted == 1, timeout=10,
                                         what="search connection closed"))
        assert (await metrics(r))["cancelled"] == 1
        # the node hears the chat is over, and nothing more
        await node.recv_type("cancel_request")
        await node.expect_nothing(0.5)
        await node.close()

    run_with({"searxng_url": sx.url}, go)


def test_node_lost_between_rounds():
    """The node that asked goes away while its search runs: another node
    with the model continues the conversation with the result."""
    sx = SearxStandIn("slow", delay=30)

    async def go(r):
        a = await TestNode.registered(r, "la", models=(NATIVE,))
        resp = await chat(r.port, chat_body(NATIVE, "q"), ip="10.11.0.1")
        q = await a.recv_type("inference_request")
        await send_calls(a, q["request_id"], [ws_call("lost")])
        await until_tool(resp, "executing")
        # the reply is over: more of it, calls included, is not a new reply
        await a.chunk(q["request_id"], "stray")
        await send_calls(a, q["request_id"], [ws_call("stray")])
        b = await TestNode.registered(r, "lb", models=(NATIVE,))
        await a.close()
        await asyncio.sleep(0.3)
        sx.release()
        await until_tool(resp, "done")
        q2 = await b.recv_type("inference_request")
        msgs = q2["ollama_params"]["messages"]
        assert msgs[-1] == {"role": "tool", "tool_name": "web_search",
                            "content": expected_results("lost")}, msgs[-1]
        await send_text(b, q2["request_id"], ["from b"])
        text, tools = await rest_of(resp)
        assert text == "from b" and tools == [], (text, tools)
        assert [x["q"] for x in sx.queries] == ["lost"], sx.queries
        resp.close()
        await b.close()

    run_with({"searxng_url": sx.url}, go)




# What a hostile node may put in a tool's or an argument's name, and what
# of it must never reach a consumer (raw, or escaped in the JSON).
HOSTILE_TOOL_NAMES = ["<script src=x></script>", "\x1b]0;pwned-title\x07",
                      "\x1b[2J", "\x1b]52;c;cHduZWQtY2xpcA==\x07"]
HOSTILE_ARG_NAMES = ["<iframe src=javascript:alert(1)>", "\x1b[2Jq"]
NEVER_SHOWN = ["<script", "<iframe", "javascript:", "\x1b", "\\u001b", "\x07", "\\u0007",
               "pwned", "cHduZWQ", "[2J", "]0;", "]52;", "rm_rf", "lang"]




async def reputation(r, node_id):
    st, _, body = await http(r.port, "GET", "/admin/nodes",
                             headers={"Authorization": "Bearer " + TOKEN})
    assert st == 200, (st, body)
    return {n["node_id"]: n for n in body["nodes"]}[node_id]["reputation"]


async def raw_tool_events(resp, n):
    """The SSE events (raw text) the consumer gets up to its n-th tool_call."""
    events = []
    while sum('"tool_call"' in e for e in events) < n:
        ev = await resp.event(20)
        assert ev is not None, "stream ended early: %r" % events
        events.append(ev)
    return events


def assert_clean(events):
    """No hostile name in the consumer's events; tool names registered."""
    for ev in events:
        for bad in NEVER_SHOWN:
            assert bad not in ev, (bad, ev)
        if ev.startswith("data: {"):
            delta = json.loads(ev[len("data: "):])["choices"][0]["delta"]
            if "tool_call" in delta:
                assert delta["tool_call"]["name"] in ("web_search", "invalid_tool"), delta


def test_hostile_tool_names():
    """Tool names and argument names are the node's own strings: the
    consumer sees only registered names and the router's sentences (no
    markup, no terminal escapes, not even an honest model's wrong name),
    and a reply naming a tool that is not offered, or an argument that is
    markup or escapes, costs the node flag_penalty once; an honest wrong
    argument name costs nothing."""
    sx = SearxStandIn()

    async def go(r):
        node = await TestNode.registered(r, "hn1", models=(NATIVE,))
        assert await reputation(r, "hn1") == 0.5
        resp = await chat(r.port, chat_body(NATIVE, "q"), ip="10.13.0.1")
        q = await node.recv_type("inference_request")
        # native calls: hostile tool names, one with a hostile argument name
        await send_calls(node, q["request_id"],
                         [ws_call("a", name=n) for n in HOSTILE_TOOL_NAMES] +
                         [ws_call(args={"query": "b", HOSTILE_ARG_NAMES[0]: "c"})])
        assert_clean(await raw_tool_events(resp, 5))
        q2 = await node.recv_type("inference_request")
        results = [m for m in q2["ollama_params"]["messages"] if m["role"] == "tool"]
        assert [m["tool_name"] for m in results] == ["invalid_tool"] * 4 + ["web_search"]
        assert await reputation(r, "hn1") == 0.4    # once for the reply
        # the text form: the same for its name and its arguments' names
        calls = "".join('<tool_call>{"name": %s, "arguments": {%s: "x"}}</tool_call>'
                        % (json.dumps(t), json.dumps(a)) for t, a in
                        (("web_search", HOSTILE_ARG_NAMES[1]), ("rm_rf", "query")))
        await send_text(node, q2["request_id"], [calls])
        assert_clean(await raw_tool_events(resp, 2))
        q3 = await node.recv_type("inference_request")
        assert await reputation(r, "hn1") == 0.3
        # an honest model's wrong argument name is refused, not shown, not charged
        await send_calls(node, q3["request_id"], [ws_call(args={"query": "x", "lang": "en"})])
        assert_clean(await raw_tool_events(resp, 1))
        q4 = await node.recv_type("inference_request")
        assert await reputation(r, "hn1") == 0.3
        await send_text(node, q4["request_id"], ["done"])
        events = await resp.events(20)
        assert_clean(events)
        resp.close()
        assert [x["q"] for x in sx.queries] == [], sx.queries
        m = await metrics(r)
        assert m["ok"] == 0 and m["refused"] == 8, m
        st, _, body = await http(r.port, "GET", "/metrics")
        assert body["flagged_output"] == 2, body
        await node.close()

    run_with({"searxng_url": sx.url}, go, admin_token_file=token_file())
