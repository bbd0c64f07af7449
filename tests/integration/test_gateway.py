#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The daemon's local gateway (daemon/gateway.c): Ollama's and OpenAI's
HTTP APIs answered through the network, all real binaries on loopback:

    fake-ollama <- idleclawd (node) <- idleclaw-routerd <- idleclawd ([gateway])

Clients are python3-httpx (as the official ollama and openai Python
libraries use it) and raw sockets where a test needs to misbehave.  The
Ollama shapes are checked against golden files of what Ollama 0.12 answers
(tests/integration/golden/)."""
import json
import os
import socket
import subprocess

import httpx
import pytest

import routerlib
import daemonlib as dl
from daemonlib import iclib

MODEL = "llama3.2:latest"
GOLDEN = os.path.join(iclib.SRCDIR, "tests", "integration", "golden")
# Counts the network does not report: the gateway leaves them out.
UNREPORTED = {"load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count",
              "eval_duration"}
# daemon/gateway.h
GATEWAY_BODY_MAX = dl.LIMITS["IC_CHAT_BODY_MAX"]
GATEWAY_OUTBUF_MAX = dl.LIMITS["IC_GATEWAY_OUTBUF_MAX"]
GATEWAY_ANSWER_MAX = dl.LIMITS["IC_GATEWAY_ANSWER_MAX"]


class GwNet:
    """The four processes; self.url is the gateway's base URL."""

    def __init__(self, *fo_args, gw=None, node_opts=None, router_opts=None):
        self.router = routerlib.Router(**dict({"streams_per_ip": 1000}, **(router_opts or {})))
        self.fo = dl.FakeOllama(*fo_args)
        server = "http://127.0.0.1:%d" % self.router.port
        self.node = dl.Daemon(server, self.fo.url, **dict({"max_concurrent": 10},
                                                          **(node_opts or {}))).wait_ready()
        self.port = iclib.free_port()
        # the gateway's daemon shares nothing: its Ollama is nowhere
        self.gw = dl.Daemon(server, "http://127.0.0.1:%d" % iclib.free_port(),
                            node_id="gateway-node",
                            args=dl.gateway_args(self.port, **(gw or {}))).wait_ready()
        iclib.wait_port(self.port, proc=self.gw)
        self.url = "http://127.0.0.1:%d" % self.port
        self.c = self.gw.ctl()
        iclib.wait_for(lambda: MODEL in (self.c.call("models").get("models") or []),
                       timeout=15, what="model listed by the router")
        self.http = iclib.track(httpx.Client(base_url=self.url, timeout=20))

    def close(self):
        """Both daemons must exit cleanly."""
        self.http.close()
        self.c.close()
        self.gw.assert_clean_exit()
        self.node.assert_clean_exit()


make_net = iclib.maker_fixture(
    GwNet, "make_net(*fake_ollama_flags, gw={...}, node_opts={...}, router_opts={...}) -> GwNet; after a passed test both daemons must exit cleanly.")


def user(text):
    return [{"role": "user", "content": text}]


def ndjson(resp):
    return [json.loads(line) for line in resp.text.splitlines() if line.strip()]


def sse(resp):
    """The data: payloads of an SSE body, in order ("[DONE]" kept as text)."""
    out = []
    for line in resp.text.splitlines():
        if line.startswith("data: "):
            d = line[6:]
            out.append(d if d == "[DONE]" else json.loads(d))
    return out


def type_name(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if v is None:
        return "null"
    return type(v).__name__


def same_shape(ours, golden, where="", omit=frozenset()):
    """Structural equality: the same keys (less `omit`) with the same JSON
    types, recursively; arrays compare their first elements."""
    assert type_name(ours) == type_name(golden), \
        "%s: %s here, %s in Ollama's" % (where or "top", type_name(ours), type_name(golden))
    if isinstance(golden, dict):
        want = set(golden) - set(omit)
        assert set(ours) == want, "%s: keys %s, Ollama has %s" % (
            where or "top", sorted(ours), sorted(want))
        for k in want:
            same_shape(ours[k], golden[k], where + "." + k, omit)
    elif isinstance(golden, list) and golden and ours:
        same_shape(ours[0], golden[0], where + "[0]", omit)


def golden(name):
    with open(os.path.join(GOLDEN, name)) as f:
        if name.endswith(".ndjson"):
            return [json.loads(x) for x in f if x.strip()]
        return json.load(f)


def raw_request(port, method, path, body=None, headers=(), rcvbuf=None, host=None):
    """A raw HTTP/1.1 request on a new socket (Host: 127.0.0.1:port unless
    host says otherwise); returns the socket."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    data = json.dumps(body).encode() if body is not None else b""
    host = "127.0.0.1:%d" % port if host is None else host
    head = "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n" \
           "Content-Length: %d\r\n%s\r\n" % (method, path, host, len(data),
                                              "".join(h + "\r\n" for h in headers))
    s.sendall(head.encode() + data)
    return s


def read_until(s, marker, limit=1 << 20, timeout=15):
    s.settimeout(timeout)
    buf = b""
    while marker not in buf and len(buf) < limit:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    return buf


# --- Ollama ---

def test_ollama_chat_stream_and_not(make_net):
    n = make_net("--echo")
    r = n.http.post("/api/chat", json={"model": MODEL, "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "one two three"}]})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/x-ndjson"
    lines = ndjson(r)
    text = "".join(x["message"]["content"] for x in lines)
    # fake-ollama echoes the last user message: the system text went in front
    assert text == "be brief\n\none two three", lines
    # the router's own system message (docs/tools.md) comes first
    msgs = n.fo.bodies()[-1]["messages"]
    assert msgs[0]["role"] == "system" and msgs[1:] == user("be brief\n\none two three"), msgs
    gold = golden("ollama-chat-stream.ndjson")
    for x in lines[:-1]:
        same_shape(x, gold[0])
    same_shape(lines[-1], gold[-1], omit=UNREPORTED)
    assert lines[-1]["done"] is True and lines[-1]["done_reason"] == "stop"
    assert lines[-1]["total_duration"] > 0
    assert lines[0]["created_at"].endswith("Z") and "T" in lines[0]["created_at"]

    r = n.http.post("/api/chat", json={"model": MODEL, "stream": False,
                                       "messages": user("whole answer")})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    same_shape(body, golden("ollama-chat.json"), omit=UNREPORTED)
    assert body["message"] == {"role": "assistant", "content": "whole answer"}, body


def test_ollama_generate(make_net):
    n = make_net("--echo")
    r = n.http.post("/api/generate", json={"model": MODEL, "prompt": "gen me",
                                           "system": "sys"})
    assert r.status_code == 200, r.text
    lines = ndjson(r)
    assert "".join(x["response"] for x in lines) == "sys\n\ngen me", lines
    assert lines[-1]["done"] is True and "message" not in lines[-1]
    r = n.http.post("/api/generate", json={"model": MODEL, "prompt": "flat",
                                           "stream": False})
    assert r.status_code == 200 and r.json()["response"] == "flat", r.text
    # no prompt: Ollama's "load the model" answer, nothing sent to the network
    before = len(n.fo.bodies())
    r = n.http.post("/api/generate", json={"model": MODEL})
    assert r.status_code == 200 and r.json()["done_reason"] == "load", r.text
    r = n.http.post("/api/chat", json={"model": MODEL, "messages": [], "stream": False})
    assert r.status_code == 200 and r.json()["done_reason"] == "load", r.text
    assert len(n.fo.bodies()) == before


def test_ollama_load_is_one_object(make_net):
    """A chat with no messages (ollama run's "load the model") gets the one
    JSON object Ollama's ChatHandler writes (c.JSON, even when streaming
    is asked for): done_reason "load", empty content, no timings."""
    n = make_net("--echo")
    for body in ({"model": MODEL}, {"model": MODEL, "messages": []},
                 {"model": MODEL, "messages": [], "stream": True}):
        r = n.http.post("/api/chat", json=body)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/json"), r.headers
        assert r.text.count("\n") <= 1, r.text
        o = r.json()
        assert o["done"] is True and o["done_reason"] == "load", o
        assert o["message"] == {"role": "assistant", "content": ""}, o
        assert o["model"] == MODEL and "total_duration" not in o, o
    assert n.fo.bodies() == []


def test_ollama_ps(make_net):
    """GET /api/ps answers as Ollama does, with nothing loaded here: the
    network's nodes load the models, in their own memory."""
    n = make_net("--echo")
    r = n.http.get("/api/ps")
    assert r.status_code == 200 and r.json() == {"models": []}, r.text
    assert r.headers["content-type"].startswith("application/json"), r.headers


def test_think_max_is_high(make_net):
    """think "max" (Ollama 0.21.3 on; newer clients send it) is accepted and
    goes on as "high" would: thinking asked of the network."""
    n = make_net("--think", "hmm", "--reply", "answer")
    for level in ("max", "high"):
        r = n.http.post("/api/chat", json={"model": MODEL, "think": level,
                                           "messages": user("q")})
        assert r.status_code == 200, r.text
        lines = ndjson(r)
        assert "".join(x["message"].get("thinking", "") for x in lines) == "hmm", lines
    assert [b.get("think") for b in n.fo.bodies()] == [True, True], n.fo.bodies()
    r = n.http.post("/api/chat", json={"model": MODEL, "think": "maximum",
                                       "messages": user("q")})
    assert r.status_code == 400 and "max" in r.json()["error"], r.text


def test_thinking_both_dialects(make_net):
    n = make_net("--think", "hmm let me see", "--reply", "answer")
    r = n.http.post("/api/chat", json={"model": MODEL, "think": True,
                                       "messages": user("q")})
    lines = ndjson(r)
    thinking = "".join(x["message"].get("thinking", "") for x in lines)
    content = "".join(x["message"]["content"] for x in lines)
    assert thinking == "hmm let me see" and content == "answer", lines
    r = n.http.post("/v1/chat/completions", json={
        "model": MODEL, "stream": True, "reasoning_effort": "low", "messages": user("q")})
    ev = sse(r)
    reasoning = "".join(e["choices"][0]["delta"].get("reasoning_content", "")
                        for e in ev[:-1])
    assert reasoning == "hmm let me see", ev
    r = n.http.post("/v1/chat/completions", json={
        "model": MODEL, "think": True, "messages": user("q")})
    msg = r.json()["choices"][0]["message"]
    assert msg["reasoning_content"] == "hmm let me see" and msg["content"] == "answer"


def test_ollama_models_version_root(make_net):
    n = make_net("--echo")
    r = n.http.get("/api/tags")
    assert r.status_code == 200, r.text
    tags = r.json()
    same_shape(tags, golden("ollama-tags.json"))
    names = sorted(m["name"] for m in tags["models"])
    assert names == ["llama3.2:latest", "qwen2.5:0.5b"], tags
    assert all(m["model"] == m["name"] and m["size"] == 0 for m in tags["models"])
    # the ollama CLI prints digest[:12]: a shorter digest would crash it
    assert all(len(m["digest"]) == 64 for m in tags["models"]), tags
    r = n.http.get("/api/version")
    same_shape(r.json(), golden("ollama-version.json"))
    r = n.http.get("/")
    assert r.status_code == 200 and r.text == "Ollama is running", r.text
    r = n.http.head("/")
    assert r.status_code == 200 and r.text == ""
    r = n.http.post("/api/show", json={"model": MODEL})
    assert r.status_code == 200 and "completion" in r.json()["capabilities"], r.text
    r = n.http.post("/api/show", json={"name": "nope:1"})
    assert r.status_code == 404 and "not found" in r.json()["error"], r.text


def test_ollama_errors(make_net):
    n = make_net("--echo")
    for path in ("/api/pull", "/api/push", "/api/create", "/api/delete", "/api/copy",
                 "/api/embed", "/api/embeddings"):
        r = n.http.post(path, json={"model": MODEL})
        assert r.status_code == 501, (path, r.text)
        assert "IdleClaw" in r.json()["error"] or "gateway" in r.json()["error"], r.text
    r = n.http.get("/api/nothing")
    assert r.status_code == 404 and r.json()["error"], r.text
    r = n.http.get("/api/chat")
    assert r.status_code == 405 and r.headers["allow"] == "POST", r.text
    r = n.http.post("/api/chat", content=b"{not json")
    assert r.status_code == 400 and "JSON" in r.json()["error"], r.text
    r = n.http.post("/api/chat", json={"model": MODEL, "messages": user("x"),
                                       "tools": [{"type": "function", "function": {
                                           "name": "f", "parameters": {}}}]})
    assert r.status_code == 400 and "tools" in r.json()["error"], r.text
    r = n.http.post("/api/chat", json={"model": MODEL, "messages": [
        {"role": "user", "content": "x", "images": ["aGk="]}]})
    assert r.status_code == 400 and "images" in r.json()["error"], r.text
    # a model no node has: the router's 503, with Retry-After
    r = n.http.post("/api/chat", json={"model": "mistral:latest", "messages": user("x")})
    assert r.status_code == 503 and "mistral" in r.json()["error"], r.text
    assert r.headers["retry-after"]
    assert all(b["model"] == MODEL for b in n.fo.bodies())


def test_validation_limits(make_net):
    """The same limits as idleclawctl chat, at N and N+1."""
    n = make_net("--echo")
    mmax = dl.LIMITS["IC_MESSAGES_MAX"]
    cmax = dl.LIMITS["IC_MESSAGE_CHARS_MAX"]
    msgs = [{"role": "user" if i % 2 == 0 else "assistant", "content": "m%d" % i}
            for i in range(mmax - 1)] + user("last")
    assert len(msgs) == mmax
    r = n.http.post("/api/chat", json={"model": MODEL, "messages": msgs})
    assert r.status_code == 200, r.text
    r = n.http.post("/api/chat", json={"model": MODEL, "messages": msgs + user("more")})
    assert r.status_code == 400 and "messages" in r.json()["error"], r.text
    r = n.http.post("/v1/chat/completions", json={"model": MODEL,
                                                  "messages": user("é" * cmax)})
    assert r.status_code == 200, r.text
    r = n.http.post("/v1/chat/completions", json={"model": MODEL,
                                                  "messages": user("é" * (cmax + 1))})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error" and str(cmax) in err["message"], err
    bad = "x" * (dl.LIMITS["IC_MODEL_NAME_MAX"] + 1)
    r = n.http.post("/api/chat", json={"model": bad, "messages": user("x")})
    assert r.status_code == 400 and "model" in r.json()["error"], r.text
    # request bodies: GATEWAY_BODY_MAX bytes are read, one more is refused
    body = json.dumps({"model": MODEL, "messages": user("pad")}).encode()
    exact = body[:-1] + b" " * (GATEWAY_BODY_MAX - len(body)) + b"}"
    assert len(exact) == GATEWAY_BODY_MAX
    r = n.http.post("/api/chat", content=exact)
    assert r.status_code == 200, r.text[:300]
    r = n.http.post("/api/chat", content=exact[:-1] + b" }")
    assert r.status_code == 413 and r.json()["error"], r.text[:300]
    r = n.http.post("/v1/chat/completions", content=exact[:-1] + b" }")
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"


# --- OpenAI ---

def test_openai_chat_stream_and_not(make_net):
    n = make_net("--echo")
    r = n.http.post("/v1/chat/completions", headers={"Authorization": "Bearer sk-x"},
                    json={"model": MODEL, "stream": True, "messages": [
                        {"role": "developer", "content": "dev"},
                        {"role": "user", "content": [{"type": "text", "text": "a "},
                                                     {"type": "text", "text": "b"}]}]})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/event-stream"
    ev = sse(r)
    assert ev[-1] == "[DONE]", ev
    chunks = ev[:-1]
    ids = {c["id"] for c in chunks}
    assert len(ids) == 1 and ids.pop().startswith("chatcmpl-"), chunks
    for c in chunks:
        assert c["object"] == "chat.completion.chunk" and c["model"] == MODEL, c
        assert isinstance(c["created"], int) and c["choices"][0]["index"] == 0, c
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop", chunks[-1]
    assert chunks[-1]["choices"][0]["delta"] == {}, chunks[-1]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "dev\n\na b", chunks

    r = n.http.post("/v1/chat/completions", json={"model": MODEL,
                                                  "messages": user("plain")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion" and body["model"] == MODEL, body
    ch = body["choices"][0]
    assert ch == {"index": 0, "finish_reason": "stop",
                  "message": {"role": "assistant", "content": "plain"}}, body


def test_openai_models_and_errors(make_net):
    n = make_net("--echo")
    r = n.http.get("/v1/models")
    body = r.json()
    assert body["object"] == "list", body
    assert sorted(m["id"] for m in body["data"]) == ["llama3.2:latest", "qwen2.5:0.5b"]
    assert all(m["object"] == "model" and m["owned_by"] for m in body["data"])
    r = n.http.get("/v1/models/" + MODEL)
    assert r.status_code == 200 and r.json()["id"] == MODEL, r.text
    r = n.http.get("/v1/models/nope:1")
    err = r.json()["error"]
    assert r.status_code == 404 and err["code"] == "model_not_found", r.text
    assert set(err) == {"message", "type", "param", "code"}, err
    r = n.http.post("/v1/chat/completions", json={
        "model": MODEL, "messages": user("x"),
        "tools": [{"type": "function", "function": {"name": "f"}}]})
    assert r.status_code == 400 and "tools" in r.json()["error"]["message"], r.text
    r = n.http.post("/v1/chat/completions", json={"messages": user("x")})
    assert r.status_code == 400 and "model" in r.json()["error"]["message"], r.text
    r = n.http.post("/v1/chat/completions", json={"model": MODEL, "messages": [
        {"role": "tool", "content": "x", "tool_call_id": "1"}]})
    assert r.status_code == 400 and "tool" in r.json()["error"]["message"], r.text
    r = n.http.get("/v1/embeddings")
    assert r.status_code == 404 and r.json()["error"]["message"], r.text
    r = n.http.post("/v1/chat/completions", json={"model": "mistral:latest",
                                                  "messages": user("x")})
    assert r.status_code == 503 and r.json()["error"]["type"] == "server_error", r.text


# --- limits, cancel, slow clients ---

def test_max_streams_at_n_and_n_plus_1(make_net):
    n = make_net("--delay-ms", "50", "--tokens", "400", gw={"max_streams": 2})
    socks = []
    for i in range(2):          # N = max_streams = 2 streams run
        s = raw_request(n.port, "POST", "/api/chat",
                        {"model": MODEL, "messages": user("long %d" % i)})
        assert b'"done":false' in read_until(s, b'"done":false'), i
        socks.append(s)
    r = n.http.post("/api/chat", json={"model": MODEL, "messages": user("third")})
    assert r.status_code == 429, r.text                 # N + 1
    assert r.headers["retry-after"] == "5" and "max_streams" in r.json()["error"]
    r = n.http.post("/v1/chat/completions", json={"model": MODEL, "messages": user("x")})
    assert r.status_code == 429 and r.json()["error"]["type"] == "rate_limit_error"
    st = n.c.call("status")
    assert st["gateway"] == {"listen": "127.0.0.1:%d" % n.port, "streams": 2,
                             "max_streams": 2}, st
    socks.pop().close()
    iclib.wait_for(lambda: n.c.call("status")["gateway"]["streams"] == 1,
                   what="stream closed")
    s = raw_request(n.port, "POST", "/api/chat", {"model": MODEL, "messages": user("x")})
    assert read_until(s, b'"done":false').startswith(b"HTTP/1.1 200"), "after a close"
    socks.append(s)
    for s in socks:
        s.close()


def test_disconnect_cancels_upstream(make_net):
    n = make_net("--delay-ms", "100", "--tokens", "200")
    # mid-stream
    s = raw_request(n.port, "POST", "/api/chat", {"model": MODEL, "messages": user("a")})
    assert b'"done":false' in read_until(s, b'"done":false')
    s.close()
    assert n.fo.wait_cancelled(1) == [MODEL]
    # stream:false: nothing written yet when the client hangs up
    s = raw_request(n.port, "POST", "/v1/chat/completions",
                    {"model": MODEL, "messages": user("b")})
    iclib.wait_for(lambda: len(n.fo.bodies()) == 2, what="second chat at Ollama")
    s.close()
    assert n.fo.wait_cancelled(2) == [MODEL, MODEL]
    iclib.wait_for(lambda: n.c.call("status")["gateway"]["streams"] == 0,
                   what="no streams")
    assert "client hung up" in n.gw.log() or "connection closed" in n.gw.log()


def test_slow_reader_is_dropped(make_net):
    """A client that reads nothing: dropped once GATEWAY_OUTBUF_MAX bytes
    wait for it, its chat cancelled, and the loop never stalls."""
    # a reply longer than the router's max_reply_chars: the gateway's bound is under test
    n = make_net("--reply", "word " * 200, "--tokens", "200000", "--delay-us", "1",
                 router_opts={"max_reply_chars": 0})
    s = raw_request(n.port, "POST", "/api/chat",
                    {"model": MODEL, "messages": user("flood")}, rcvbuf=4096)
    iclib.wait_for(lambda: "did not read its stream fast enough" in n.gw.log(),
                   timeout=60, what="slow client dropped")
    # meanwhile and after, other clients are answered at once
    r = n.http.get("/api/version")
    assert r.status_code == 200
    assert n.fo.wait_cancelled(1, timeout=15) == [MODEL]
    s.settimeout(5)
    got = 0
    try:
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            got += len(d)
    except OSError:
        pass            # reset: what was queued was thrown away
    assert got < 64 * GATEWAY_OUTBUF_MAX, got
    s.close()


def test_whole_answer_limit(make_net):
    """stream:false holds GATEWAY_ANSWER_MAX bytes of answer, not more
    (fake-ollama echoes the question 4096 times: 1024 bytes -> exactly N)."""
    # the router's slow-consumer bound and reply limit are not under test: a
    # gateway slowed by a loaded machine must not be cut off by them
    n = make_net("--echo", "--tokens", "4096",
                 router_opts={"stream_buffer": 64 * 1024 * 1024, "max_reply_chars": 0})
    word = GATEWAY_ANSWER_MAX // 4096
    r = n.http.post("/api/chat", json={"model": MODEL, "stream": False,
                                       "messages": user("x" * word)}, timeout=120)
    assert r.status_code == 200, r.text[:300]
    assert len(r.json()["message"]["content"]) == GATEWAY_ANSWER_MAX
    r = n.http.post("/v1/chat/completions", json={"model": MODEL,
                                                  "messages": user("x" * (word + 1))},
                    timeout=120)
    assert r.status_code == 502 and "stream" in r.json()["error"]["message"], r.text[:300]


def test_shutdown_ends_open_streams(make_net):
    """SIGTERM with a stream open: it ends, the daemon exits cleanly."""
    n = make_net("--delay-ms", "100", "--tokens", "200")
    s = raw_request(n.port, "POST", "/api/chat", {"model": MODEL, "messages": user("a")})
    assert b'"done":false' in read_until(s, b'"done":false')
    n.c.close()
    n.gw.signal(15)
    rest = read_until(s, b"\r\n0\r\n\r\n", timeout=15)
    assert b'"done":true' not in rest, rest[-300:]
    s.close()
    assert n.gw.p.wait(15) == 0, n.gw.log()
    assert n.fo.wait_cancelled(1) == [MODEL]


# --- configuration, CORS, status ---

def test_cors_and_status(make_net):
    n = make_net("--echo", gw={"cors_origins": "http://webui.example:8080, http://other"})
    ok = {"Origin": "http://webui.example:8080"}
    r = n.http.get("/api/tags", headers=ok)
    assert r.headers["access-control-allow-origin"] == ok["Origin"], r.headers
    r = n.http.get("/api/tags", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in r.headers, r.headers
    r = n.http.request("OPTIONS", "/api/chat", headers=dict(ok, **{
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization"}))
    assert r.status_code == 204, r.text
    assert "POST" in r.headers["access-control-allow-methods"]
    assert r.headers["access-control-allow-headers"] == "content-type, authorization"
    r = n.http.request("OPTIONS", "/api/chat", headers={"Origin": "http://evil.example"})
    assert r.status_code == 403, r.text
    ctl = iclib.binary("ctl/idleclawctl")
    out = subprocess.run([ctl, "--socket", n.gw.sock, "status"], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out
    assert "gateway:     http://127.0.0.1:%d, 0 open streams (at most 4)" % n.port \
        in out.stdout, out.stdout


def check_config(*overrides):
    argv = [iclib.binary("daemon/idleclawd"), "--check-config", "--config", "/nonexistent"]
    for o in overrides:
        argv += ["-o", o]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def test_config_keys():
    """[gateway] keys: defaults, max_streams at its bounds (daemon/dconfig.h)."""
    out = check_config()
    assert out.returncode == 0, out.stderr
    assert "[gateway]" in out.stdout and "max_streams = 4" in out.stdout, out.stdout
    assert check_config("gateway.max_streams=16").returncode == 0
    bad = check_config("gateway.max_streams=17")
    assert bad.returncode == 1 and "max_streams" in bad.stderr, bad
    assert check_config("gateway.max_streams=0").returncode == 1
    assert check_config("gateway.allow_remote=perhaps").returncode == 1


def test_reload(daemon, tmp_path):
    """SIGHUP: max_streams and cors_origins change at once; listen waits
    for the next start (and the log says so)."""
    import signal
    port, port2 = iclib.free_port(), iclib.free_port()
    conf = str(tmp_path / "idleclaw.conf")

    def write(listen, streams):
        with open(conf, "w") as f:
            f.write("[gateway]\nlisten = 127.0.0.1:%d\nmax_streams = %d\n" % (listen, streams))
    write(port, 1)
    d = daemon("http://127.0.0.1:9", "http://127.0.0.1:9", config=conf).wait_ready()
    iclib.wait_port(port, proc=d)
    c = d.ctl()
    assert c.call("status")["gateway"]["max_streams"] == 1
    write(port2, 3)
    d.signal(signal.SIGHUP)
    iclib.wait_for(lambda: c.call("status")["gateway"]["max_streams"] == 3,
                   what="max_streams reloaded")
    assert c.call("status")["gateway"]["listen"] == "127.0.0.1:%d" % port
    assert "gateway.listen" in d.log(), d.log()
    assert httpx.get("http://127.0.0.1:%d/api/version" % port).status_code == 200
    c.close()
    d.assert_clean_exit()


def test_listen_address_rules(daemon):
    port = iclib.free_port()
    d = daemon("http://127.0.0.1:9", "http://127.0.0.1:9",
               args=["-o", "gateway.listen=0.0.0.0:%d" % port])
    assert d.p.wait(10) == 1, d.log()
    assert "not a loopback address" in d.log() and "allow_remote" in d.log(), d.log()
    d = daemon("http://127.0.0.1:9", "http://127.0.0.1:9",
               args=["-o", "gateway.listen=nonsense"])
    assert d.p.wait(10) == 1, d.log()
    assert "HOST:PORT" in d.log(), d.log()
    d = daemon("http://127.0.0.1:9", "http://127.0.0.1:9",
               args=["-o", "gateway.listen=0.0.0.0:%d" % port,
                     "-o", "gateway.allow_remote=yes"]).wait_ready()
    iclib.wait_port(port, proc=d)
    assert "without authentication" in d.log(), d.log()
    d.assert_clean_exit()
    # off by default: no status object
    d = daemon("http://127.0.0.1:9", "http://127.0.0.1:9").wait_ready()
    c = d.ctl()
    assert "gateway" not in c.call("status"), "gateway on by default"
    c.close()
    d.assert_clean_exit()


# --- who may call: Origin and Host ---

def raw_answer(s):
    """(status, headers lowercased, body) of a whole answer on s."""
    buf = read_until(s, b"\r\n\r\n")
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    hdrs = dict((k.strip().lower(), v.strip()) for k, _, v in
                (x.partition(":") for x in lines[1:]))
    want = int(hdrs.get("content-length", "0"))
    s.settimeout(15)
    while len(body) < want:
        d = s.recv(65536)
        if not d:
            break
        body += d
    s.close()
    return int(lines[0].split()[1]), hdrs, body


def test_foreign_origin_refused(make_net):
    """A page from an origin not in cors_origins cannot start a chat with a
    "simple" POST (text/plain, no preflight): 403 in the dialect's shape
    before anything reaches the network; a listed origin chats."""
    n = make_net("--echo", gw={"cors_origins": "http://webui.example:8080, http://other"})
    simple = {"Content-Type": "text/plain;charset=UTF-8"}
    chat = json.dumps({"model": MODEL, "stream": False, "messages": user("evil")})
    for origin in ("http://evil.example", "http://webui.example:8081",
                   "http://webui.example", "null", ""):
        r = n.http.post("/api/chat", content=chat, headers=dict(simple, Origin=origin))
        assert r.status_code == 403, (origin, r.text)
        assert "cors_origins" in r.json()["error"], r.text
        assert "access-control-allow-origin" not in r.headers, r.headers
    r = n.http.post("/v1/chat/completions", content=chat,
                    headers=dict(simple, Origin="http://evil.example"))
    assert r.status_code == 403, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}, err
    assert "cors_origins" in err["message"], err
    r = n.http.post("/api/generate", json={"model": MODEL, "prompt": "evil"},
                    headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and r.json()["error"], r.text
    r = n.http.get("/api/tags", headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and r.json()["error"], r.text
    # a listed origin: the chat runs, the browser may read it
    ok = "http://webui.example:8080"
    r = n.http.post("/api/chat", content=json.dumps(
        {"model": MODEL, "stream": False, "messages": user("friend")}),
        headers=dict(simple, Origin=ok))
    assert r.status_code == 200 and r.json()["message"]["content"] == "friend", r.text
    assert r.headers["access-control-allow-origin"] == ok, r.headers
    r = n.http.post("/v1/chat/completions", headers={"Origin": ok},
                    json={"model": MODEL, "messages": user("friend 2")})
    assert r.status_code == 200, r.text
    # no Origin at all (curl, SDKs, the ollama CLI): unaffected
    r = n.http.post("/api/chat", json={"model": MODEL, "stream": False,
                                       "messages": user("cli")})
    assert r.status_code == 200, r.text
    # Ollama saw the three allowed chats and nothing of the refused ones
    said = [b["messages"][-1]["content"] for b in n.fo.bodies()]
    assert said == ["friend", "friend 2", "cli"], said


def test_host_must_be_loopback(make_net):
    """DNS rebinding: without allow_remote, a Host that does not name
    loopback gets 403 before anything starts; localhost:PORT works."""
    n = make_net("--echo")
    body = {"model": MODEL, "stream": False, "messages": user("rebound")}
    for host in ("evil.example", "evil.example:%d" % n.port, "localhost.evil.example",
                 "127.0.0.1.evil.example", ""):
        st, hdrs, b = raw_answer(raw_request(n.port, "POST", "/api/chat", body,
                                             host=host))
        assert st == 403, (host, st, b)
        assert "allow_remote" in json.loads(b)["error"], b
    st, _, b = raw_answer(raw_request(n.port, "POST", "/v1/chat/completions", body,
                                      host="evil.example"))
    assert st == 403 and "allow_remote" in json.loads(b)["error"]["message"], b
    r = n.http.get("/api/version", headers={"Host": "evil.example"})
    assert r.status_code == 403 and r.json()["error"], r.text
    assert n.fo.bodies() == []
    for i, host in enumerate(("localhost:%d" % n.port, "LOCALHOST:%d" % n.port,
                              "127.0.0.1:%d" % n.port, "localhost")):
        body = {"model": MODEL, "stream": False, "messages": user("ok %d" % i)}
        st, _, b = raw_answer(raw_request(n.port, "POST", "/api/chat", body, host=host))
        assert st == 200 and json.loads(b)["message"]["content"] == "ok %d" % i, (host, b)
    # HTTP/1.0 may leave Host out: nothing to check
    s = socket.create_connection(("127.0.0.1", n.port))
    s.sendall(b"GET /api/version HTTP/1.0\r\n\r\n")
    st, _, b = raw_answer(s)
    assert st == 200 and json.loads(b)["version"], b
    # no cors_origins: any Origin is refused
    r = n.http.post("/api/chat", json=body, headers={"Origin": "http://localhost:3000"})
    assert r.status_code == 403 and "cors_origins" in r.json()["error"], r.text
    assert len(n.fo.bodies()) == 4


def test_host_any_with_allow_remote(daemon):
    """allow_remote = yes: the gateway is meant for other names; no Host check."""
    port = iclib.free_port()
    d = daemon("http://127.0.0.1:9", "http://127.0.0.1:9",
               args=dl.gateway_args(port, allow_remote="yes")).wait_ready()
    iclib.wait_port(port, proc=d)
    for host in ("evil.example", "gpu-box.lan:%d" % port):
        st, _, b = raw_answer(raw_request(port, "GET", "/api/version", host=host))
        assert st == 200, (host, b)
    st, _, b = raw_answer(raw_request(port, "GET", "/api/version",
                                      headers=["Origin: http://evil.example"]))
    assert st == 403 and "cors_origins" in json.loads(b)["error"], b
    d.assert_clean_exit()
