#!/usr/bin/python3
"""idleclaw-routerd: HTTP endpoints, errors, and one chat end to end."""
import asyncio
import signal

import pytest

import iclib
from routerlib import (LIMITS, TestNode, chat, chat_body, data_events, http, text_of,
                       until_model)


async def test_health(router):
    st, _, body = await http(router.port, "GET", "/health")
    assert st == 200, st
    assert body["status"] == "healthy", body
    assert isinstance(body["uptime_seconds"], int)
    for k in ("nodes", "models", "requests_active", "version"):
        assert k in body, body


async def test_errors(router):
    st, h, body = await http(router.port, "GET", "/nope")
    assert st == 404 and body == {"detail": "Not Found"}, (st, body)
    assert h["content-type"] == "application/json"
    st, h, _ = await http(router.port, "POST", "/health", raw_body=b"x")
    assert st == 405 and h["allow"] == "GET", (st, h)
    st, h, _ = await http(router.port, "GET", "/api/chat")
    assert st == 405 and h["allow"] == "POST", (st, h)
    st, _, _ = await http(router.port, "PUT", "/api/models", raw_body=b"{}")
    assert st == 405, st
    # bad JSON: 400; wrong shapes: 422 naming the field
    st, _, body = await http(router.port, "POST", "/api/chat", raw_body=b"{not json")
    assert st == 400, (st, body)
    cases = [
        ([], "body"),
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m1"}, "messages"),
        ({"model": "bad name!", "messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m" * (LIMITS["IC_MODEL_NAME_MAX"] + 1),
          "messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m1", "messages": []}, "messages"),
        ({"model": "m1", "messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        ({"model": "m1", "messages": [{"role": "user", "content": ""}]}, "messages[0].content"),
        ({"model": "m1", "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"model": "m1", "messages": [{"role": "user", "content": "x", "images": ["a"]}]},
         "messages[0]"),
        ({"model": "m1", "messages": [{"role": "user", "content": "x"}], "think": "yes"},
         "think"),
    ]
    for body_in, field in cases:
        st, _, body = await http(router.port, "POST", "/api/chat", body=body_in)
        assert st == 422, (body_in, st, body)
        assert body["detail"].startswith(field), (field, body)
    # limits at N and N+1: model name length, message count, message size
    name = "m" * LIMITS["IC_MODEL_NAME_MAX"]
    st, _, body = await http(router.port, "POST", "/api/chat", body=chat_body(model=name))
    assert st == 503, (st, body)     # valid, but nobody serves it
    n = LIMITS["IC_MESSAGES_MAX"]
    msgs = [{"role": "user", "content": "x"}] * n
    st, _, body = await http(router.port, "POST", "/api/chat",
                             body={"model": "zz", "messages": msgs})
    assert st == 503, (st, body)
    st, _, body = await http(router.port, "POST", "/api/chat",
                             body={"model": "zz", "messages": msgs + msgs[:1]})
    assert st == 422 and body["detail"].startswith("messages"), (st, body)
    big = "é" * LIMITS["IC_MESSAGE_CHARS_MAX"]
    st, _, body = await http(router.port, "POST", "/api/chat",
                             body=chat_body(model="zz", text=big))
    assert st == 503, (st, body)
    st, _, body = await http(router.port, "POST", "/api/chat",
                             body=chat_body(model="zz", text=big + "x"))
    assert st == 422, (st, body)
    # all contents together: N and N+1 characters
    per = LIMITS["IC_MESSAGE_CHARS_MAX"]
    k = LIMITS["IC_TOTAL_CHARS_MAX"] // per
    msgs = [{"role": "user", "content": "x" * per}] * k
    st, _, body = await http(router.port, "POST", "/api/chat",
                             body={"model": "zz", "messages": msgs})
    assert st == 503, (st, body)
    st, _, body = await http(router.port, "POST", "/api/chat",
                             body={"model": "zz", "messages": msgs + [{"role": "user",
                                                                      "content": "x"}]})
    assert st == 422 and body["detail"].startswith("messages"), (st, body)


async def test_body_limit(router):
    limit = LIMITS["IC_CHAT_BODY_MAX"]
    # exactly the limit: read and parsed (bad JSON), one more byte: 413
    st, _, _ = await http(router.port, "POST", "/api/chat", raw_body=b" " * limit)
    assert st == 400, st
    # answered at the headers: a body sent as well would race the router's
    # close (the client's write then fails before it reads the 413)
    st, _, body = await http(router.port, "POST", "/api/chat", raw_body=b"",
                             headers={"Content-Length": str(limit + 1)})
    assert st == 413, (st, body)


async def test_chat_end_to_end(router):
    node = await TestNode.registered(router, "node-e2e", models=("m1", "m2"),
                                     max_concurrent=2)
    st, _, body = await http(router.port, "GET", "/api/models")
    assert st == 200 and body["models"] == ["m1", "m2"], body
    # each model's capabilities, both keys (protocol.md): guessed from the name here
    assert body["capabilities"] == {m: {"thinking": False, "tool_calls": False}
                                    for m in ("m1", "m2")}, body
    st, _, body = await http(router.port, "GET", "/api/models?verbose=1")
    assert body["models"][0] == {"name": "m1", "node_count": 1, "free_slots": 2}, body

    resp = await chat(router.port, chat_body("m1", "hello there", think=True))
    req = await node.recv_type("inference_request")
    assert resp.status == 200, resp.status
    assert resp.headers["content-type"].startswith("text/event-stream"), resp.headers
    p = req["ollama_params"]
    # the prompt policy (test_router_prompt.py): m1 does not think
    assert p["model"] == "m1" and p["stream"] is True and p["think"] is False, p
    assert p["messages"][0]["role"] == "system", p
    assert p["messages"][1:] == [{"role": "user", "content": "hello there"}], p
    rid = req["request_id"]
    await node.chunk(rid, "", thinking="hmm <scr")
    await node.chunk(rid, "", thinking="ipt>")
    await node.chunk(rid, "Hel")
    await node.chunk(rid, "lo vector<int> <tool_call>{\"name\":\"x\"}</tool_call>!")
    await node.chunk(rid, "", done=True, done_reason="stop")
    events = await resp.events()
    resp.close()
    assert events[-1] == "data: [DONE]", events
    for ev in events:       # exactly data lines, each one JSON object
        assert ev.startswith("data: ") and "\n" not in ev, ev
    chunks = data_events(events)
    for ch in chunks:
        assert ch["object"] == "chat.completion.chunk", ch
        assert ch["model"] == "m1"
        assert ch["id"].startswith("chatcmpl-") and ch["id"] == chunks[0]["id"], ch
        assert ch["choices"][0]["index"] == 0
    assert text_of(events) == "Hello vector<int> !", text_of(events)
    thinking = text_of(events, reasoning=True)
    assert "<script" not in thinking and "[content filtered]" in thinking, thinking
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop", chunks[-1]
    # the slot is free again
    await until_model(router.port, "m1", free_slots=2, what="the slot free again")
    # done_reason length -> finish_reason length
    resp = await chat(router.port, chat_body("m2"))
    req = await node.recv_type("inference_request")
    await node.chunk(req["request_id"], "a")
    await node.chunk(req["request_id"], "", done=True, done_reason="length")
    chunks = data_events(await resp.events())
    resp.close()
    assert chunks[-1]["choices"][0]["finish_reason"] == "length", chunks
    st, _, body = await http(router.port, "GET", "/health")
    assert body["nodes"] == 1 and body["models"] == 2, body
    await node.close()
    await until_model(router.port, "m1", listed=False, what="m1 gone with its node")
    st, _, body = await http(router.port, "GET", "/api/models")
    assert body == {"models": [], "capabilities": {}}, body


async def test_metrics_disabled(router):
    st, _, _ = await http(router.port, "GET", "/metrics")
    assert st == 404, st


async def test_plain_get_on_node_path(router):
    st, _, _ = await http(router.port, "GET", "/ws/node")
    assert st == 426, st


def test_notify_ready_and_stopping(notify, make_router):
    r = make_router(env={"NOTIFY_SOCKET": notify.path})
    notify.wait_for("READY=1")
    notify.wait_for("STATUS=")
    r.signal(signal.SIGTERM)
    notify.wait_for("STOPPING=1")
    r.assert_clean_exit()


@pytest.mark.router(metrics="yes")
async def test_metrics_enabled(router):
    r = router
    node = await TestNode.registered(r, "n-metrics", models=("a", "b"))
    st, _, body = await http(r.port, "GET", "/metrics")
    assert st == 200, st
    assert body["nodes_connected"] == 1, body
    assert body["models_available"] == [{"name": "a", "node_count": 1},
                                        {"name": "b", "node_count": 1}], body
    for k in ("requests_active", "uptime_seconds"):
        assert k in body
    await node.close()


def test_reload_and_watchdog(tmp_path, notify):
    conf = str(tmp_path / "idleclaw.conf")
    with open(conf, "w") as f:
        f.write("[router]\ntrusted_proxies = 127.0.0.1\nrate_other = 1000\n")
    port = iclib.free_port()
    p = iclib.Proc("routerd", [iclib.binary("router/idleclaw-routerd"), "--config", conf,
                               "--listen", "127.0.0.1:%d" % port],
                   env={"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "300000"})
    notify.wait_for("READY=1")
    notify.wait_for("WATCHDOG=1", timeout=3)

    async def gets(ip, n):
        out = []
        for _ in range(n):
            st, _, _ = await http(port, "GET", "/health", headers={"X-Forwarded-For": ip})
            out.append(st)
        return out
    assert asyncio.run(gets("10.90.0.1", 5)) == [200] * 5
    with open(conf, "w") as f:
        f.write("[router]\ntrusted_proxies = 127.0.0.1\nrate_other = 2\n")
    notify.messages.clear()
    p.signal(signal.SIGHUP)
    notify.wait_for("RELOADING=1")
    notify.wait_for("READY=1")
    assert asyncio.run(gets("10.90.0.2", 3)) == [200, 200, 429]
    # a bad file is refused as a whole: the old settings stay
    with open(conf, "w") as f:
        f.write("[router]\ntrusted_proxies = 127.0.0.1\nrate_other = -1\n")
    p.signal(signal.SIGHUP)
    iclib.wait_for(lambda: "configuration not changed" in p.log(), what="refused reload")
    assert asyncio.run(gets("10.90.0.3", 3)) == [200, 200, 429]
    p.assert_clean_exit()


def test_bad_config():
    p = iclib.Proc("routerd", [iclib.binary("router/idleclaw-routerd"), "--config",
                               "/nonexistent", "-o", "router.queue_wait=-5"])
    assert p.p.wait(10) != 0
    assert "queue_wait" in p.log(), p.log()
    p = iclib.Proc("routerd", [iclib.binary("router/idleclaw-routerd"), "--config",
                               "/nonexistent", "--listen", "nonsense"])
    assert p.p.wait(10) != 0
    assert "listen" in p.log(), p.log()

