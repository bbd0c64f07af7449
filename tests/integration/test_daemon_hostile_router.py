#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A hostile router cannot make the contributor's Ollama do more than the
limits allow (docs/SECURITY.md, "A hostile router").

A stand-in router sends inference_requests with huge tool_calls, tools and
format and with out-of-range or foreign options; each must be answered
inference_error invalid_request, and fake-ollama --record must show that
none of them reached Ollama, while the same requests at the limit pass.
A router that keeps an idleclawctl chat alive with ": ping" alone is cut
off after chat_timeout.
"""
import json
import time

import pytest

import daemonlib as dl
from daemonlib import LIMITS, iclib
from standinrouter import DONE, SseRouter, content_event, send, start_sse

MODEL = "llama3.2:latest"


class Env:
    def __init__(self):
        self.r = dl.StandInRouter(features=["models_update", "available"])
        self.fo = dl.FakeOllama("--echo")
        self.d = dl.Daemon(self.r.url, self.fo.url).wait_ready()
        self.r.wait_type("register")
        self.r.wait_type("heartbeat")
        self.n = 0

    def ask(self, params):
        """Send one request; its frames once it ended."""
        self.n += 1
        rid = "h%d" % self.n
        self.r.request(rid, params)
        return self.r.wait_reply(rid, timeout=20)

    def passes(self, params):
        frames = self.ask(params)
        assert frames[-1]["type"] == "inference_chunk", frames[-1]

    def refused(self, params):
        frames = self.ask(params)
        assert [f["type"] for f in frames] == ["inference_error"], frames
        assert frames[0]["error"] == "invalid_request", frames

    def close(self):
        self.d.assert_clean_exit()


make_env = iclib.maker_fixture(
    Env, "make_env(**opts) -> Env; after a passed test the daemon must exit cleanly.")


def wire(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def tool_calls_of(chars):
    """tool_calls whose wire form is exactly chars code points."""
    calls = [{"function": {"name": "f", "arguments": {"q": ""}}}]
    pad = chars - len(wire(calls))
    calls[0]["function"]["arguments"]["q"] = "é" * pad
    assert len(wire(calls)) == chars
    return calls


def with_tool_calls(calls):
    p = dl.chat_params(content="go on")
    p["messages"][0:0] = [{"role": "user", "content": "search"},
                          {"role": "assistant", "content": "", "tool_calls": calls}]
    return p


def tools_of(count, nbytes=None):
    tools = [{"type": "function", "function": {"name": "t%d" % i, "description": ""}}
             for i in range(count)]
    if nbytes:
        tools[0]["function"]["description"] = "d" * (nbytes - len(wire(tools)))
        assert len(wire(tools)) == nbytes
    return tools


def schema_of(nbytes):
    s = {"type": "object", "description": ""}
    s["description"] = "d" * (nbytes - len(wire(s)))
    assert len(wire(s)) == nbytes
    return s


def test_tool_calls_count_toward_limits(make_env):
    e = make_env()
    c = LIMITS["IC_MESSAGE_CHARS_MAX"]
    e.passes(with_tool_calls(tool_calls_of(c)))
    e.refused(with_tool_calls(tool_calls_of(c + 1)))
    # the 1.5 MB arguments blob of the attack
    e.refused(with_tool_calls([{"function": {"name": "f",
                                             "arguments": {"q": "x" * 1500000}}}]))
    # the total: messages full of content plus tool_calls
    total = LIMITS["IC_TOTAL_CHARS_MAX"]
    p = with_tool_calls(tool_calls_of(c))
    p["messages"] = [{"role": "user", "content": "a" * c}
                     for _ in range(total // c - 1)] + p["messages"]
    p["messages"][-1]["content"] = ""
    p["messages"][-3]["content"] = ""
    e.passes(p)
    p["messages"][-1]["content"] = "b"
    e.refused(p)
    bodies = e.fo.bodies()
    assert len(bodies) == 2, [len(json.dumps(b)) for b in bodies]
    assert all(len(json.dumps(b)) < 300000 for b in bodies)


def test_tools_and_format_bounded(make_env):
    e = make_env()
    n, nb = LIMITS["IC_TOOLS_MAX"], LIMITS["IC_TOOLS_BYTES_MAX"]
    e.passes(dl.chat_params(tools=tools_of(n)))
    e.refused(dl.chat_params(tools=tools_of(n + 1)))
    e.passes(dl.chat_params(tools=tools_of(2, nb)))
    e.refused(dl.chat_params(tools=tools_of(2, nb + 1)))
    e.refused(dl.chat_params(tools={"type": "function"}))
    fb = LIMITS["IC_FORMAT_BYTES_MAX"]
    e.passes(dl.chat_params(format="json"))
    e.passes(dl.chat_params(format=schema_of(fb)))
    e.refused(dl.chat_params(format=schema_of(fb + 1)))
    e.refused(dl.chat_params(format="x" * 100000))
    bodies = e.fo.bodies()
    assert len(bodies) == 4, len(bodies)
    assert [len(b.get("tools", [])) for b in bodies] == [n, 2, 0, 0]


def test_options_bounded(make_env):
    e = make_env()
    ctx, pred = LIMITS["IC_OPT_NUM_CTX_MAX"], LIMITS["IC_OPT_NUM_PREDICT_MAX"]
    good = [{"num_ctx": ctx}, {"num_predict": pred}, {"temperature": 2},
            {"temperature": 0.7, "top_p": 0.9, "top_k": 40, "seed": 7,
             "stop": ["\n\n"], "repeat_penalty": 1.1}]
    bad = [{"num_ctx": ctx + 1}, {"num_ctx": 999999999}, {"num_predict": pred + 1},
           {"temperature": 2.5}, {"temperature": "hot"}, {"num_gpu": 99},
           {"num_thread": 128}, {"template": "{{.Prompt}}"}, "not an object",
           {"stop": ["s"] * (LIMITS["IC_OPT_STOP_MAX"] + 1)}]
    for o in good:
        e.passes(dl.chat_params(options=o))
    for o in bad:
        e.refused(dl.chat_params(options=o))
    got = [b.get("options") for b in e.fo.bodies()]
    assert got == good, got
    # the refusal names the field in the log, not the content
    assert "options.num_ctx" in e.d.log()


class PingRouter(SseRouter):
    """The router's HTTP side for idleclawctl chat: POST /api/chat answers
    200 text/event-stream and sends ": ping" every 0.2 s; after finish_s
    seconds (None: never) one content event and [DONE]."""

    def __init__(self, finish_s=None):
        self.finish_s = finish_s
        super().__init__()

    def post(self, h, body):
        start_sse(h)
        t0 = time.monotonic()
        if self.pings(h, lambda: self.finish_s is not None
                      and time.monotonic() - t0 >= self.finish_s):
            send(h, content_event("late", "stop"), DONE)


def test_chat_timeout_despite_pings(daemon, fake_ollama):
    """router_timeout is about silence; ": ping" every 0.2 s is not silence.
    chat_timeout ends the chat in all: within it the chat finishes, past it
    the chat ends with "timeout"."""
    fo = fake_ollama("--echo")
    args = {"model": MODEL, "messages": [{"role": "user", "content": "x"}]}
    for finish_s, want in ((1.0, "ok"), (None, "timeout")):
        r = PingRouter(finish_s)
        d = daemon(r.url, fo.url, router_timeout=1, chat_timeout=3).wait_ready()
        c = d.ctl()
        t0 = time.monotonic()
        rep = c.call("chat", args)
        took = time.monotonic() - t0
        assert rep["status"] == want, (finish_s, rep)
        if want == "timeout":
            assert 2.5 < took < 6, took
            assert "chat_timeout" in rep.get("detail", ""), rep
            assert "not finished after 3 s" in d.log()
        c.close()
        d.assert_clean_exit()
        r.stop()
