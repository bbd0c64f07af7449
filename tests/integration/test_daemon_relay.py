#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""idleclawd relays inference requests from a router to Ollama.

A stand-in router (python3-websockets) sends inference_request frames the
way the public router does; fake-ollama --echo/--record shows exactly what
reached Ollama.
"""
import json
import time

import pytest

import daemonlib as dl
from daemonlib import LIMITS, iclib

MODEL = "llama3.2:latest"


class Env:
    """A stand-in router, fake-ollama and the daemon, registered."""

    def __init__(self, fo_args=("--echo",), features=("models_update", "available"), **opts):
        self.r = dl.StandInRouter(features=list(features) if features is not None else None)
        self.fo = dl.FakeOllama(*fo_args)
        self.d = dl.Daemon(self.r.url, self.fo.url, **opts).wait_ready()
        self.r.wait_type("register")
        self.r.wait_type("heartbeat")

    def close(self):
        self.d.assert_clean_exit()
        self.fo.proc.stop()
        self.r.stop()


make_env = iclib.maker_fixture(
    Env, "make_env(fo_args=(...), features=(...), **daemon_opts) -> Env; after a passed test the daemon must exit cleanly.")


def test_register_and_echo(make_env):
    e = make_env(max_concurrent=1)
    reg = e.r.of_type("register")[0]
    assert reg["node_id"] == "test-node"
    assert reg["max_concurrent"] == 1
    assert reg["ollama_version"] == "0.12.3"
    assert {m["name"]: m["size"] for m in reg["models"]} == {
        "llama3.2:latest": 2019393189, "qwen2.5:0.5b": 397821319}
    e.r.request("rq1", dl.chat_params(content="the quick brown fox"))
    frames = e.r.wait_reply("rq1")
    assert dl.text_of(frames) == "the quick brown fox", frames
    assert frames[-1]["chunk"]["done"] is True
    assert frames[-1]["chunk"]["done_reason"] == "stop"
    for f in frames:   # only whitelisted fields leave the node
        assert set(f["chunk"]) <= {"message", "done", "done_reason"}, f
    bodies = e.fo.bodies()
    assert len(bodies) == 1 and bodies[0]["messages"][0]["content"] == "the quick brown fox"
    # privacy: not even at log_level=debug does content reach the log
    assert "quick brown" not in e.d.log(), e.d.log()


def test_log_content_when_asked(make_env):
    e = make_env(log_content="yes")
    e.r.request("lc", dl.chat_params(content="visible words"))
    e.r.wait_reply("lc")
    assert "visible words" in e.d.log()


def test_whitelist(make_env):
    e = make_env(fo_args=("--echo", "--capabilities", "completion,tools,thinking"))
    p = dl.chat_params(content="x", extra_key="must not pass", system="nor this",
                       options={"temperature": 0.1}, think=False, keep_alive=-1)
    p["messages"].insert(0, {"role": "system", "content": "be brief"})
    e.r.request("w1", p)
    dl.iclib.wait_for(lambda: e.fo.bodies(), what="body at fake-ollama")
    e.r.wait_reply("w1")
    body = e.fo.bodies()[0]
    assert "extra_key" not in body and "system" not in body, body
    assert body["options"] == {"temperature": 0.1} and body["think"] is False
    assert body["keep_alive"] == "5m"   # [daemon] keep_alive, not the request's -1
    assert body["messages"][0] == {"role": "system", "content": "be brief"}
    # a message carrying images is refused and nothing reaches Ollama
    p = dl.chat_params(content="y")
    p["messages"][0]["images"] = ["aGVsbG8="]
    e.r.request("w2", p)
    frames = e.r.wait_reply("w2")
    assert frames[-1] == {"type": "inference_error", "request_id": "w2",
                          "error": "invalid_request", "_conn": 1}, frames
    assert len(e.fo.bodies()) == 1


def test_unregistered_model_refused(make_env):
    e = make_env()
    for rid, params in [("u1", dl.chat_params(model="mistral:latest")),
                        ("u2", {"messages": [{"role": "user", "content": "x"}]}),
                        ("u3", "not an object"),
                        ("u4", {"model": MODEL, "messages": []}),
                        ("u5", {"model": MODEL, "messages": [{"role": "wizard",
                                                              "content": "x"}]})]:
        e.r.request(rid, params)
        frames = e.r.wait_reply(rid)
        assert [f["type"] for f in frames] == ["inference_error"], frames
        assert frames[0]["error"] == "invalid_request"
    assert e.fo.bodies() == []


def test_message_limits(make_env):
    e = make_env()
    n = LIMITS["IC_MESSAGES_MAX"]
    msgs = [{"role": "user" if i % 2 == 0 else "assistant", "content": "m%d" % i}
            for i in range(n)]
    if msgs[-1]["role"] != "user":
        msgs[-1]["role"] = "user"
    e.r.request("n", {"model": MODEL, "messages": msgs})
    assert e.r.wait_reply("n")[-1]["type"] == "inference_chunk"
    e.r.request("n1", {"model": MODEL, "messages": msgs + [{"role": "user", "content": "x"}]})
    assert e.r.wait_reply("n1")[-1]["error"] == "invalid_request"
    c = LIMITS["IC_MESSAGE_CHARS_MAX"]
    e.r.request("c", dl.chat_params(content="é" * c))
    frames = e.r.wait_reply("c")
    assert frames[-1]["type"] == "inference_chunk" and dl.text_of(frames) == "é" * c
    e.r.request("c1", dl.chat_params(content="é" * (c + 1)))
    assert e.r.wait_reply("c1")[-1]["error"] == "invalid_request"
    assert len(e.fo.bodies()) == 2
    # all contents together: IC_TOTAL_CHARS_MAX, then one more
    total = LIMITS["IC_TOTAL_CHARS_MAX"]
    k = total // c
    msgs = [{"role": "user", "content": "a" * c} for _ in range(k)]
    e.r.request("t", {"model": MODEL, "messages": msgs})
    assert e.r.wait_reply("t", timeout=20)[-1]["type"] == "inference_chunk"
    msgs[0]["role"] = "system"
    msgs.append({"role": "user", "content": "b"})
    e.r.request("t1", {"model": MODEL, "messages": msgs})
    assert e.r.wait_reply("t1")[-1]["error"] == "invalid_request"
    assert len(e.fo.bodies()) == 3


def test_max_concurrent(make_env):
    e = make_env(fo_args=("--delay-ms", "100", "--tokens", "30"), max_concurrent=2)
    assert e.r.of_type("register")[0]["max_concurrent"] == 2
    e.r.request("a", dl.chat_params())
    e.r.request("b", dl.chat_params())
    e.r.request("c", dl.chat_params())     # N+1
    frames = e.r.wait_reply("c")
    assert frames == [{"type": "inference_error", "request_id": "c",
                       "error": "ollama_unavailable", "_conn": 1}], frames
    # the heartbeat reports the true load while they run
    e.r.wait_type("heartbeat")
    iclib.wait_for(lambda: any(h["active_requests"] == 2 for h in e.r.of_type("heartbeat")),
                   what="heartbeat with active_requests 2")
    for rid in "ab":
        assert e.r.wait_reply(rid)[-1]["chunk"]["done"] is True
    assert len(e.fo.bodies()) == 2


def test_cancel_closes_ollama_connection(make_env):
    e = make_env(fo_args=("--delay-ms", "100", "--tokens", "100"))
    e.r.request("k", dl.chat_params())
    iclib.wait_for(lambda: e.r.for_request("k"), what="first chunk")
    e.r.cancel("k")
    assert e.fo.wait_cancelled(1) == [MODEL]
    n = len(e.r.for_request("k"))
    iclib.wait_for(lambda: True, 0.5)
    time.sleep(0.5)
    frames = e.r.for_request("k")
    assert len(frames) <= n + 1 and not any(f["chunk"].get("done") for f in frames)
    # cancel after completion, and of an unknown id, are no-ops
    e.r.cancel("k")
    e.r.cancel("nope")
    e.r.request("k2", dl.chat_params())
    assert e.r.wait_reply("k2", timeout=20)[-1]["chunk"]["done"] is True
    e.r.cancel("k2")
    assert e.fo.wait_cancelled(1) == [MODEL]


def test_ollama_http_error(make_env):
    # a 500 before any byte is Ollama failing to load the model
    # (daemon/relay.c): unavailable, so the router fails over unblamed
    e = make_env(fo_args=("--fault", "http-500"))
    e.r.request("h", dl.chat_params())
    assert e.r.wait_reply("h")[-1]["error"] == "ollama_unavailable"


def test_ollama_error_midstream(make_env):
    e = make_env(fo_args=("--fault", "error-midstream", "--fault-after", "2", "--tokens", "5"))
    e.r.request("m", dl.chat_params())
    frames = e.r.wait_reply("m")
    assert [f["type"] for f in frames] == ["inference_chunk"] * 2 + ["inference_error"]
    assert frames[-1]["error"] == "ollama_error"


def test_ollama_close_midstream(make_env):
    e = make_env(fo_args=("--fault", "close-midstream", "--tokens", "5"))
    e.r.request("x", dl.chat_params())
    assert e.r.wait_reply("x")[-1]["error"] == "ollama_error"


def test_ollama_silence_times_out(make_env):
    e = make_env(fo_args=("--fault", "hang"), ollama_timeout=1)
    t0 = time.monotonic()
    e.r.request("hang", dl.chat_params())
    assert e.r.wait_reply("hang")[-1]["error"] == "ollama_error"
    assert time.monotonic() - t0 < 5
    assert e.fo.wait_cancelled(1) == [MODEL]   # the connection was closed


def test_slow_ollama_within_timeout(make_env):
    e = make_env(fo_args=("--echo", "--fault", "slow-headers", "--fault-delay-ms", "500"),
          ollama_timeout=2)
    e.r.request("slow", dl.chat_params(content="patience"))
    assert dl.text_of(e.r.wait_reply("slow")) == "patience"


BIG = "".join("%05d " % i for i in range(18000))   # 108,000 bytes, one line


def test_oversized_chunk_is_split_not_dropped(make_env):
    e = make_env(fo_args=("--reply", BIG, "--tokens", "1"))
    assert len(BIG) > LIMITS["IC_CHUNK_FRAME_MAX"]
    e.r.request("big", dl.chat_params())
    frames = e.r.wait_reply("big")
    assert len(frames) > 2, len(frames)
    assert dl.text_of(frames) == BIG
    assert frames[-1]["chunk"]["done"] is True
    for f in frames:
        f = dict(f)
        del f["_conn"]
        assert len(json.dumps(f, separators=(",", ":"))) <= LIMITS["IC_CHUNK_FRAME_MAX"]


def test_thinking_and_tool_calls_pass(make_env):
    e = make_env(fo_args=("--think", "let me think", "--tool-call", 'web_search:{"query":"x"}'))
    e.r.request("t", dl.chat_params(think=True))
    frames = e.r.wait_reply("t")
    assert dl.text_of(frames, "thinking") == "let me think"
    calls = [f["chunk"]["message"]["tool_calls"] for f in frames
             if "tool_calls" in f["chunk"].get("message", {})]
    assert calls == [[{"function": {"name": "web_search", "arguments": {"query": "x"}}}]]


def test_ndjson_line_limit():
    """A line of IC_NDJSON_LINE_MAX bytes is relayed whole (split into
    frames); one byte more is an ollama_error, not a crash or a hang."""
    n = LIMITS["IC_NDJSON_LINE_MAX"]
    lo = dl.LineOllama()
    r = dl.StandInRouter()
    d = dl.Daemon(r.url, lo.url).wait_ready()
    r.wait_type("heartbeat")
    done = b'{"message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}'
    lo.lines = [dl.LineOllama.content_line(n), done]
    r.request("n", dl.chat_params(model="big:1"))
    frames = r.wait_reply("n")
    assert frames[-1]["chunk"]["done"] is True
    want = json.loads(dl.LineOllama.content_line(n))["message"]["content"]
    assert dl.text_of(frames) == want
    lo.lines = [dl.LineOllama.content_line(n + 1), done]
    r.request("n1", dl.chat_params(model="big:1"))
    assert r.wait_reply("n1")[-1]["error"] == "ollama_error"
    # a line that is not JSON
    lo.lines = [b"{not json", done]
    r.request("bad", dl.chat_params(model="big:1"))
    assert r.wait_reply("bad")[-1]["error"] == "ollama_error"
    # no "done" before the end of the stream
    lo.lines = [dl.LineOllama.content_line(100)]
    r.request("nodone", dl.chat_params(model="big:1"))
    assert r.wait_reply("nodone")[-1]["error"] == "ollama_error"
    d.assert_clean_exit()

