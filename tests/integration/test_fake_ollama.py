#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""fake-ollama: every endpoint, the NDJSON stream, echo, thinking, tool
calls, the record file, every fault, cancel detection and a clean exit."""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time

import iclib
from fakeollama import FakeOllama
from limits import LIMITS

BINARY = iclib.binary("tests/fake-ollama/fake-ollama")
STATS = ("total_duration", "load_duration", "prompt_eval_count",
         "prompt_eval_duration", "eval_count", "eval_duration")


def conn(fo, timeout=10):
    return http.client.HTTPConnection("127.0.0.1", fo.port, timeout=timeout)


def get(fo, path, method="GET"):
    c = conn(fo)
    c.request(method, path)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r.getheader("Content-Type"), data


def post(fo, body, path="/api/chat"):
    """POST; return (status, headers, raw body)."""
    c = conn(fo)
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    c.request("POST", path, body, {"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r, data


def chat_lines(fo, body):
    """A streaming chat: every line parsed; asserts the NDJSON framing.
    A body without messages gets one (with none Ollama only loads)."""
    if "messages" not in body:
        body = dict(body, messages=[user("x")])
    status, r, data = post(fo, body)
    assert status == 200, (status, data)
    assert r.getheader("Content-Type") == "application/x-ndjson", r.getheaders()
    assert r.getheader("Transfer-Encoding") == "chunked", r.getheaders()
    text = data.decode()
    assert text.endswith("\n"), text[-200:]
    return [json.loads(x) for x in text.split("\n")[:-1]]


def check_stream(lines, model):
    """Ollama's line format: done:false lines, then one done:true line."""
    assert lines, "no lines"
    for x in lines[:-1]:
        assert x["done"] is False, x
        assert x["model"] == model, x
        assert x["message"]["role"] == "assistant", x
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$",
                        x["created_at"]), x
    last = lines[-1]
    assert last["done"] is True, last
    assert last["model"] == model, last
    assert last["message"] == {"role": "assistant", "content": ""}, last
    for k in STATS:   # Ollama leaves out the ones that are zero
        assert k not in last or isinstance(last[k], int) and last[k] > 0, (k, last)
    return last


def content(lines):
    return "".join(x["message"].get("content", "") for x in lines)


def user(text):
    return {"role": "user", "content": text}


MSGS = [user("x")]   # with no messages Ollama only loads the model


def test_root_and_version():
    with FakeOllama("--ollama-version", "0.9.7") as fo:
        status, ctype, data = get(fo, "/")
        assert (status, data) == (200, b"Ollama is running"), (status, data)
        assert ctype.startswith("text/plain"), ctype
        status, _, data = get(fo, "/", "HEAD")
        assert status == 200, status
        status, ctype, data = get(fo, "/api/version")
        assert status == 200 and ctype.startswith("application/json"), ctype
        assert json.loads(data) == {"version": "0.9.7"}, data
        fo.stop()


def test_tags():
    with FakeOllama("--models", "gemma3:1b=815319791,mistral") as fo:
        status, ctype, data = get(fo, "/api/tags")
        assert status == 200 and ctype.startswith("application/json")
        models = json.loads(data)["models"]
        assert [m["name"] for m in models] == ["gemma3:1b", "mistral:latest"]
        assert models[0]["size"] == 815319791, models[0]
        for m in models:
            assert m["model"] == m["name"], m
            assert re.match(r"^[0-9a-f]{64}$", m["digest"]), m
            assert re.match(r"^\d{4}-\d\d-\d\dT", m["modified_at"]), m
            d = m["details"]
            assert d["format"] == "gguf", d
            assert d["family"] and d["families"] == [d["family"]], d
            assert d["parameter_size"].endswith("B"), d
            assert d["quantization_level"], d
        assert models[0]["details"]["family"] == "gemma", models[0]
        assert models[0]["digest"] != models[1]["digest"]
        fo.stop()
    with FakeOllama("--models", "") as fo:      # Ollama with nothing pulled
        assert json.loads(get(fo, "/api/tags")[2]) == {"models": []}
        assert post(fo, {"model": "llama3.2", "messages": [user("x")]})[0] == 404
        fo.stop()


def test_ps_lists_models_after_use():
    with FakeOllama() as fo:
        status, _, data = get(fo, "/api/ps")
        assert status == 200 and json.loads(data) == {"models": []}, data
        chat_lines(fo, {"model": "qwen2.5:0.5b", "messages": [user("hi")]})
        ps = json.loads(get(fo, "/api/ps")[2])["models"]
        assert [m["name"] for m in ps] == ["qwen2.5:0.5b"], ps
        assert ps[0]["size_vram"] == ps[0]["size"] > 0, ps
        assert re.match(r"^\d{4}-\d\d-\d\dT", ps[0]["expires_at"]), ps
        fo.stop()


def test_stream_format():
    reply = "Hello brave new world"
    with FakeOllama("--reply", reply) as fo:
        lines = chat_lines(fo, {"model": "llama3.2", "messages": [user("x")]})
        last = check_stream(lines, "llama3.2")
        assert content(lines) == reply, lines
        assert [x["message"]["content"] for x in lines[:-1]] == \
            ["Hello", " brave", " new", " world"], lines
        assert last["done_reason"] == "stop", last
        assert last["eval_count"] == 4, last
        fo.stop()


def test_tokens():
    with FakeOllama("--reply", "abcdefgh", "--tokens", "3") as fo:
        lines = chat_lines(fo, {"model": "llama3.2", "messages": [user("x")]})
        check_stream(lines, "llama3.2")
        assert [x["message"]["content"] for x in lines[:-1]] == \
            ["ab", "cde", "fgh"], lines
        fo.stop()
    # more tokens than characters: the words repeat
    with FakeOllama("--reply", "one two", "--tokens", "9") as fo:
        lines = chat_lines(fo, {"model": "llama3.2", "messages": MSGS})
        check_stream(lines, "llama3.2")
        assert len(lines) == 10, lines
        assert content(lines) == "one two" * 4 + "one", lines
        assert lines[-1]["eval_count"] == 9, lines[-1]
        fo.stop()
    # many tokens: every line arrives, none is torn
    with FakeOllama("--tokens", "50000") as fo:
        lines = chat_lines(fo, {"model": "llama3.2", "messages": MSGS})
        check_stream(lines, "llama3.2")
        assert len(lines) == 50001, len(lines)
        fo.stop()


def test_not_streaming():
    with FakeOllama("--reply", "All at once.") as fo:
        status, r, data = post(fo, {"model": "llama3.2", "messages": MSGS, "stream": False,
                                    "messages": [user("x")]})
        assert status == 200, (status, data)
        assert r.getheader("Content-Type").startswith("application/json")
        obj = json.loads(data)
        assert obj["message"] == {"role": "assistant",
                                  "content": "All at once."}, obj
        assert obj["done"] is True and obj["done_reason"] == "stop", obj
        for k in STATS:
            assert isinstance(obj[k], int), (k, obj)
        fo.stop()


TRICKY = 'say "hi" \\ back\nslash / tab\t ctrl\x01 é 漢字 😀 </script>'


def test_echo():
    with FakeOllama("--echo") as fo:
        msgs = [{"role": "system", "content": "be brief"}, user("first"),
                {"role": "assistant", "content": "ok"}, user(TRICKY)]
        lines = chat_lines(fo, {"model": "llama3.2", "messages": msgs})
        check_stream(lines, "llama3.2")
        assert content(lines) == TRICKY, content(lines)
        status, _, data = post(fo, {"model": "llama3.2", "messages": MSGS, "stream": False,
                                    "messages": msgs})
        assert json.loads(data)["message"]["content"] == TRICKY, data
        # cut into characters, never inside one
        fo.stop()
    with FakeOllama("--echo", "--tokens", "5") as fo:
        lines = chat_lines(fo, {"model": "llama3.2", "messages": MSGS,
                                "messages": [user("é漢😀ab")]})
        assert [x["message"]["content"] for x in lines[:-1]] == \
            ["é", "漢", "😀", "a", "b"], lines
        fo.stop()


def test_think():
    with FakeOllama("--think", "Let me think.", "--reply", "Done.") as fo:
        lines = chat_lines(fo, {"model": "llama3.2", "messages": [user("q")]})
        check_stream(lines, "llama3.2")
        thinking = [x for x in lines if x["message"].get("thinking")]
        assert lines[:len(thinking)] == thinking, lines   # thinking first
        assert "".join(x["message"]["thinking"] for x in thinking) == \
            "Let me think.", lines
        assert content(lines) == "Done.", lines
        # "think": false turns it off
        lines = chat_lines(fo, {"model": "llama3.2", "messages": MSGS, "think": False,
                                "messages": [user("q")]})
        assert not any("thinking" in x["message"] for x in lines), lines
        obj = json.loads(post(fo, {"model": "llama3.2", "messages": MSGS, "stream": False})[2])
        assert obj["message"]["thinking"] == "Let me think.", obj
        fo.stop()


def test_tool_call():
    args = {"city": "Paris", "units": "metric"}
    with FakeOllama("--tool-call", "get_weather:" + json.dumps(args),
                    "--reply", "") as fo:
        lines = chat_lines(fo, {"model": "llama3.2", "messages": [user("w?")]})
        check_stream(lines, "llama3.2")
        calls = [x["message"]["tool_calls"] for x in lines
                 if "tool_calls" in x["message"]]
        assert calls == [[{"function": {"name": "get_weather",
                                        "arguments": args}}]], lines
        # after a tool result the model answers instead
        msgs = [user("w?"), {"role": "assistant", "content": "",
                             "tool_calls": calls[0]},
                {"role": "tool", "content": "20C"}]
        lines = chat_lines(fo, {"model": "llama3.2", "messages": msgs})
        assert not any("tool_calls" in x["message"] for x in lines), lines
        obj = json.loads(post(fo, {"model": "llama3.2", "messages": MSGS, "stream": False,
                                   "messages": [user("w?")]})[2])
        assert obj["message"]["tool_calls"] == calls[0], obj
        fo.stop()
    with FakeOllama("--tool-call", "f:{}", "--tool-call-always") as fo:
        lines = chat_lines(fo, {"model": "llama3.2", "messages": [
            {"role": "tool", "content": "x"}]})
        assert any("tool_calls" in x["message"] for x in lines), lines
        fo.stop()


def test_num_predict_length():
    with FakeOllama("--reply", "a b c d e") as fo:
        lines = chat_lines(fo, {"model": "llama3.2", "messages": MSGS,
                                "options": {"num_predict": 2}})
        last = check_stream(lines, "llama3.2")
        assert content(lines) == "a b", lines
        assert last["done_reason"] == "length", last
        fo.stop()


def test_errors():
    with FakeOllama() as fo:
        status, r, data = post(fo, {"model": "nosuch:7b", "messages": []})
        assert status == 404, status
        assert json.loads(data) == {
            "error": "model 'nosuch:7b' not found"}, data
        for bad in (b"{bad", b"", b"[1,2]", b'{"model":"llama3.2"} x'):
            status, r, data = post(fo, bad)
            assert status == 400, (bad, status, data)
            assert r.getheader("Content-Type").startswith("application/json")
            assert json.loads(data)["error"], data
        for body in ({"messages": []}, {"model": ""}, {"model": 3},
                     {"model": "llama3.2", "messages": "hi"},
                     {"model": "llama3.2", "messages": MSGS, "stream": "yes"}):
            status, r, data = post(fo, body)
            assert status == 400 and json.loads(data)["error"], (body, data)
        status, _, data = get(fo, "/api/nothing")
        assert status == 404, status
        status, _, data = get(fo, "/api/chat")
        assert status == 405 and json.loads(data)["error"], (status, data)
        # still serving
        assert get(fo, "/api/version")[0] == 200
        fo.stop()


FO_BODY_MAX = LIMITS["FO_BODY_MAX"]


def test_body_limit():
    with FakeOllama() as fo:
        for size, want in ((FO_BODY_MAX, b"HTTP/1.1 400"),
                           (FO_BODY_MAX + 1, b"HTTP/1.1 413")):
            with socket.create_connection(("127.0.0.1", fo.port),
                                          timeout=10) as s:
                s.sendall(b"POST /api/chat HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Length: %d\r\n\r\n" % size)
                if size <= FO_BODY_MAX:    # {  ...spaces...  }
                    s.sendall(b"{" + b" " * (size - 2) + b"}")
                got = s.recv(4096)
                assert got.startswith(want), (size, got)
        # the one that fitted was read whole: {} has no model
        assert fo.chat_bodies() == [{}], fo.records()
        fo.stop()


def test_record():
    with FakeOllama() as fo:
        b1 = {"model": "llama3.2", "messages": [user("one / two")],
              "options": {"temperature": 0.5, "seed": 7}}
        chat_lines(fo, b1)
        post(fo, b"{not json")
        get(fo, "/api/tags")
        recs = fo.records()
        assert recs == [{"path": "/api/chat", "body": b1},
                        {"path": "/api/chat", "body": "{not json"}], recs
        with open(fo.record_path) as f:
            raw = f.read()
        assert "one / two" in raw, raw         # "/" not escaped
        assert fo.cancelled() == [], recs    # finished streams are not cancels
        fo.stop()


def stream_open(fo, body):
    """Start a streaming chat; return (connection, response)."""
    c = conn(fo)
    c.request("POST", "/api/chat", json.dumps(body))
    return c, c.getresponse()


def test_cancel_detected():
    with FakeOllama("--delay-ms", "20", "--tokens", "500") as fo:
        c, r = stream_open(fo, {"model": "qwen2.5:0.5b", "messages": MSGS})
        assert r.status == 200
        for _ in range(2):
            assert json.loads(r.readline())["done"] is False
        c.sock.shutdown(socket.SHUT_RDWR)
        c.close()
        assert fo.wait_cancelled(1) == ["qwen2.5:0.5b"]
        # and it still serves, on a fresh connection
        assert get(fo, "/api/version")[0] == 200
        fo.stop()


def test_cancel_by_reset_at_full_speed():
    # the client resets the connection while the fake writes as fast as it
    # can: the write error path, not the FIN watch, must clean up
    with FakeOllama("--tokens", "2000000") as fo:
        for i in range(3):
            s = socket.create_connection(("127.0.0.1", fo.port))
            body = json.dumps({"model": "llama3.2", "messages": MSGS}).encode()
            s.sendall(b"POST /api/chat HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            got = 0
            while got < 200000:
                got += len(s.recv(65536))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
            fo.wait_cancelled(i + 1)
        assert get(fo, "/api/version")[0] == 200
        fo.stop()


def test_concurrent_and_responsive():
    # a huge stream to a reader that does not read must not stall others
    with FakeOllama("--tokens", "5000000", "--delay-us", "0") as fo:
        c, r = stream_open(fo, {"model": "llama3.2", "messages": MSGS})
        r.readline()
        t0 = time.monotonic()
        for _ in range(20):
            assert get(fo, "/api/version")[0] == 200
        assert time.monotonic() - t0 < 5, time.monotonic() - t0
        c.close()
        fo.wait_cancelled(1)
        fo.stop()
    with FakeOllama("--delay-ms", "20", "--tokens", "20", "--echo") as fo:
        conns = []
        for i in range(20):
            conns.append(stream_open(fo, {"model": "llama3.2", "messages": MSGS,
                                          "messages": [user("s%d" % i)]}))
        t0 = time.monotonic()
        for i, (c, r) in enumerate(conns):
            lines = [json.loads(x) for x in r.read().decode().splitlines()]
            check_stream(lines, "llama3.2")
            assert len(lines) == 21, lines
            c.close()
        # 20 streams of 20 x 20 ms ran side by side (one after another: 8 s)
        assert time.monotonic() - t0 < 4, time.monotonic() - t0
        fo.stop()


def test_keepalive_two_chats():
    with FakeOllama("--reply", "k a") as fo:
        c = conn(fo)
        for _ in range(2):
            c.request("POST", "/api/chat", json.dumps({"model": "llama3.2", "messages": MSGS}))
            r = c.getresponse()
            assert content([json.loads(x) for x in
                            r.read().decode().splitlines()]) == "k a"
        c.close()
        time.sleep(0.2)
        assert fo.cancelled() == [], fo.records()
        fo.stop()


def test_fault_unknown_model():
    with FakeOllama("--fault", "unknown-model") as fo:
        status, _, data = post(fo, {"model": "llama3.2", "messages": MSGS})
        assert status == 404, status
        assert json.loads(data)["error"] == \
            "model 'llama3.2' not found", data
        # /api/tags still lists it (it vanished between tags and chat)
        assert "llama3.2:latest" in get(fo, "/api/tags")[2].decode()
        fo.stop()


def test_fault_http_500():
    with FakeOllama("--fault", "http-500") as fo:
        status, r, data = post(fo, {"model": "llama3.2", "messages": MSGS})
        assert status == 500, status
        assert json.loads(data)["error"], data
        fo.stop()


def test_fault_error_midstream():
    with FakeOllama("--fault", "error-midstream", "--fault-after", "3",
                    "--tokens", "10") as fo:
        lines = chat_lines(fo, {"model": "llama3.2", "messages": MSGS})
        assert len(lines) == 4, lines
        assert all(x["done"] is False for x in lines[:3]), lines
        assert list(lines[3].keys()) == ["error"] and lines[3]["error"], lines
        status, _, data = post(fo, {"model": "llama3.2", "messages": MSGS, "stream": False})
        assert status == 500 and json.loads(data)["error"], (status, data)
        fo.stop()


def raw_chat(fo, body):
    """POST with Connection: close; every byte of the response until EOF."""
    data = json.dumps(body).encode()
    with socket.create_connection(("127.0.0.1", fo.port), timeout=10) as s:
        s.sendall(b"POST /api/chat HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(data), data))
        out = b""
        while True:
            part = s.recv(65536)
            if not part:
                return out
            out += part


def dechunk(raw):
    """(chunk sizes, body) of a complete chunked HTTP response."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head, head
    sizes, body = [], b""
    while True:
        line, _, rest = rest.partition(b"\r\n")
        n = int(line, 16)
        sizes.append(n)
        if n == 0:
            assert rest == b"\r\n", rest
            return sizes, body
        body += rest[:n]
        assert rest[n:n + 2] == b"\r\n", rest[:n + 2]
        rest = rest[n + 2:]


def test_chunk_bytes():
    with FakeOllama("--chunk-bytes", "7", "--reply", "cut me up") as fo:
        sizes, body = dechunk(raw_chat(fo, {"model": "llama3.2", "messages": MSGS}))
        assert sizes[-1] == 0 and max(sizes) == 7, sizes
        assert len(sizes) > 40, sizes
        lines = [json.loads(x) for x in body.decode().splitlines()]
        check_stream(lines, "llama3.2")
        assert content(lines) == "cut me up", lines
        fo.stop()
    with FakeOllama("--reply", "whole lines") as fo:   # default: whole lines
        sizes, body = dechunk(raw_chat(fo, {"model": "llama3.2", "messages": MSGS}))
        assert len(sizes) == 2 and body.endswith(b"\n"), sizes
        fo.stop()


def test_fault_bad_line():
    with FakeOllama("--fault", "bad-line", "--fault-after", "1",
                    "--reply", "a b c") as fo:
        status, _, data = post(fo, {"model": "llama3.2", "messages": MSGS})
        lines = data.decode().split("\n")[:-1]
        assert status == 200 and len(lines) == 5, lines
        try:
            json.loads(lines[1])
            raise AssertionError("line 2 is JSON: %r" % lines[1])
        except ValueError:
            pass
        rest = [json.loads(x) for x in lines[:1] + lines[2:]]
        check_stream(rest, "llama3.2")
        assert content(rest) == "a b c", rest
        status, _, data = post(fo, {"model": "llama3.2", "messages": MSGS, "stream": False})
        assert status == 200, status
        try:
            json.loads(data)
            raise AssertionError("not-streaming body is JSON: %r" % data)
        except ValueError:
            pass
        fo.stop()


def test_line_length_formula():
    # documented in docs/fake-ollama.md, so tests of IC_NDJSON_LINE_MAX can
    # build a line of exactly N bytes: 116 + model + escaped content
    for model, text in (("llama3.2:latest", "x" * 1000), ("m:1", 'a"b')):
        with FakeOllama("--models", model, "--reply", text,
                        "--tokens", "1") as fo:
            status, _, data = post(fo, {"model": model, "messages": MSGS})
            first = data.split(b"\n")[0] + b"\n"
            escaped = json.dumps(text)[1:-1]
            assert len(first) == 116 + len(model) + len(escaped), first
            fo.stop()


def test_fault_close_midstream():
    with FakeOllama("--fault", "close-midstream", "--fault-after", "2",
                    "--tokens", "10", "--fault-request", "2") as fo:
        whole = raw_chat(fo, {"model": "llama3.2", "messages": MSGS})     # request 1: no fault
        assert whole.startswith(b"HTTP/1.1 200"), whole
        assert whole.endswith(b"\r\n0\r\n\r\n"), whole[-100:]
        cut = raw_chat(fo, {"model": "llama3.2", "messages": MSGS})
        assert cut.startswith(b"HTTP/1.1 200"), cut
        assert not cut.endswith(b"0\r\n\r\n"), cut[-100:]  # no last chunk
        lines = re.findall(rb'\{"model".*\n', cut)
        assert len(lines) == 2, cut
        assert all(json.loads(x)["done"] is False for x in lines), lines
        time.sleep(0.2)
        assert fo.cancelled() == [], fo.records()   # we closed, not the client
        assert get(fo, "/api/version")[0] == 200
        fo.stop()
    with FakeOllama("--fault", "close-midstream") as fo:
        c = conn(fo)
        c.request("POST", "/api/chat", json.dumps({"model": "llama3.2", "messages": MSGS,
                                                   "stream": False}))
        try:
            c.getresponse()
            raise AssertionError("not-streaming close-midstream answered")
        except (http.client.RemoteDisconnected, ConnectionError):
            pass
        fo.stop()


def test_fault_hang():
    with FakeOllama("--fault", "hang") as fo:
        c = conn(fo, timeout=0.5)
        c.request("POST", "/api/chat", json.dumps({"model": "llama3.2", "messages": MSGS}))
        try:
            c.getresponse()
            raise AssertionError("hang fault answered")
        except socket.timeout:
            pass
        c.close()
        assert fo.wait_cancelled(1) == ["llama3.2:latest"]
        assert get(fo, "/api/tags")[0] == 200   # only chats hang
        fo.stop()


def test_fault_slow_headers():
    with FakeOllama("--fault", "slow-headers", "--fault-delay-ms", "400",
                    "--reply", "late") as fo:
        t0 = time.monotonic()
        c, r = stream_open(fo, {"model": "llama3.2", "messages": MSGS})
        assert time.monotonic() - t0 >= 0.38, time.monotonic() - t0
        lines = [json.loads(x) for x in r.read().decode().splitlines()]
        assert content(lines) == "late", lines
        c.close()
        fo.stop()


def test_fault_scoped():
    with FakeOllama("--fault", "http-500", "--fault-request", "2") as fo:
        codes = [post(fo, {"model": "llama3.2", "messages": MSGS})[0] for _ in range(3)]
        assert codes == [200, 500, 200], codes
        fo.stop()
    with FakeOllama("--fault", "http-500", "--fault-model", "qwen2.5:0.5b") as fo:
        assert post(fo, {"model": "llama3.2", "messages": MSGS})[0] == 200
        assert post(fo, {"model": "qwen2.5:0.5b"})[0] == 500
        fo.stop()


def test_fault_other_path():
    with FakeOllama("--fault-path", "/api/tags", "--fault", "http-500",
                    "--fault-request", "2") as fo:
        codes = [get(fo, "/api/tags")[0] for _ in range(3)]
        assert codes == [200, 500, 200], codes
        assert post(fo, {"model": "llama3.2", "messages": MSGS})[0] == 200   # chat untouched
        fo.stop()
    with FakeOllama("--fault-path", "/api/tags", "--fault", "hang") as fo:
        c = conn(fo, timeout=0.4)
        c.request("GET", "/api/tags")
        try:
            c.getresponse()
            raise AssertionError("hung /api/tags answered")
        except socket.timeout:
            pass
        assert get(fo, "/api/version")[0] == 200
        fo.stop()                   # a hung GET does not spoil the exit
        c.close()
    with FakeOllama("--fault-path", "/api/version", "--fault",
                    "slow-headers", "--fault-delay-ms", "300") as fo:
        t0 = time.monotonic()
        status, _, data = get(fo, "/api/version")
        assert status == 200 and json.loads(data)["version"], data
        assert time.monotonic() - t0 >= 0.28, time.monotonic() - t0
        c = conn(fo)                # one still waiting at exit
        c.request("GET", "/api/version")
        time.sleep(0.1)
        fo.stop()
        c.close()


def test_delay():
    with FakeOllama("--delay-ms", "40", "--tokens", "5") as fo:
        t0 = time.monotonic()
        chat_lines(fo, {"model": "llama3.2", "messages": MSGS})
        elapsed = time.monotonic() - t0
        assert elapsed >= 0.2, elapsed
        t0 = time.monotonic()
        post(fo, {"model": "llama3.2", "messages": MSGS, "stream": False})
        assert time.monotonic() - t0 >= 0.2, elapsed
        fo.stop()
    # sub-millisecond delays keep their average rate
    with FakeOllama("--delay-us", "100", "--tokens", "3000") as fo:
        t0 = time.monotonic()
        lines = chat_lines(fo, {"model": "llama3.2", "messages": MSGS})
        elapsed = time.monotonic() - t0
        assert len(lines) == 3001 and 0.3 <= elapsed < 5, (len(lines), elapsed)
        fo.stop()


def test_sigterm_with_open_streams():
    for sig in (signal.SIGTERM, signal.SIGINT):
        with FakeOllama("--delay-ms", "50", "--tokens", "1000",
                        "--fault", "hang", "--fault-request", "2") as fo:
            c1, r1 = stream_open(fo, {"model": "llama3.2", "messages": MSGS})
            r1.readline()
            c2 = conn(fo)
            c2.request("POST", "/api/chat", json.dumps({"model": "llama3.2", "messages": MSGS}))
            iclib.wait_for(lambda: len(fo.chat_bodies()) == 2,
                           what="second request")
            rc = fo.proc.stop(sig)
            log = fo.proc.log()
            assert rc == 0, (rc, log)
            assert "Sanitizer" not in log and "runtime error" not in log, log
            assert fo.cancelled() == [], fo.records()
            c1.close()
            c2.close()


def run_binary(*args):
    return subprocess.run([BINARY] + list(args), capture_output=True,
                          timeout=10, text=True)


def test_flags():
    p = run_binary("--help")
    assert p.returncode == 0, p
    doc = open(os.path.join(iclib.SRCDIR, "docs", "fake-ollama.md")).read()
    flags = set(re.findall(r"--[a-z][a-z-]+", p.stdout))
    assert len(flags) >= 18, flags
    for f in flags:
        assert f in doc, "%s not in docs/fake-ollama.md" % f
    for bad in (["--tokens", "x"], ["--tokens", "-1"], ["--fault", "boom"],
                ["--listen", "nohost"], ["--listen", "127.0.0.1:70000"],
                ["--models", "a=big"], ["--tool-call", "f:[1]"],
                ["--reply", "x", "--echo"], ["--bogus"], ["extra"],
                ["--fault-path", "api/tags"],
                ["--fault-path", "/api/tags", "--fault", "error-midstream"]):
        p = run_binary(*bad)
        assert p.returncode == 2, (bad, p)
        assert "error" in p.stderr, (bad, p.stderr)
    # limits of the flags (tests/fake-ollama/fake-ollama.h) at N and N+1
    for flag, top in (("--tokens", LIMITS["FO_TOKENS_MAX"]),
                      ("--delay-ms", LIMITS["FO_DELAY_MS_MAX"]),
                      ("--delay-us", LIMITS["FO_DELAY_MS_MAX"] * 1000),
                      ("--chunk-bytes", FO_BODY_MAX)):
        with FakeOllama(flag, str(top)) as fo:
            assert get(fo, "/api/version")[0] == 200
            fo.stop()
        p = run_binary(flag, str(top + 1))
        assert p.returncode == 2 and flag in p.stderr, (flag, p)
    p = run_binary("--listen", "127.0.0.1:0", "--record", "/nonexistent/dir/f")
    assert p.returncode == 1 and "/nonexistent/dir/f" in p.stderr, p
    # a port in use is a clear error, not a crash
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        p = run_binary("--listen", "127.0.0.1:%d" % s.getsockname()[1])
        assert p.returncode == 1 and "cannot listen" in p.stderr, p



# --- true to Ollama's source (issue 20; docs/fake-ollama.md names versions) ---

def ps_names(fo):
    return [m["name"] for m in json.loads(get(fo, "/api/ps")[2])["models"]]


def test_tags_as_ollama_lists_them():
    """Newest first with distinct modified_at; cloud entries carry
    remote_model/remote_host; capabilities and details.context_length
    only from 0.30.0."""
    models = "llama3.2,gpt-oss:120b-cloud,mine:1,nomic-embed-text"
    args = ("--models", models, "--cloud", "mine:1",
            "--model-caps", "nomic-embed-text=embedding")
    with FakeOllama(*args) as fo:
        tags = json.loads(get(fo, "/api/tags")[2])["models"]
        assert [m["name"] for m in tags] == [
            "llama3.2:latest", "gpt-oss:120b-cloud", "mine:1", "nomic-embed-text:latest"]
        times = [m["modified_at"] for m in tags]
        assert times == sorted(times, reverse=True) and len(set(times)) == 4, times
        assert "remote_host" not in tags[0] and "capabilities" not in tags[0], tags[0]
        assert tags[1]["remote_model"] == "gpt-oss:120b", tags[1]
        assert tags[1]["remote_host"] == "https://ollama.com:443", tags[1]
        assert tags[2]["remote_model"] == "mine:1" and tags[2]["size"] == 384, tags[2]
        assert "context_length" not in tags[0]["details"]
        fo.stop()
    with FakeOllama(*args, "--ollama-version", "0.30.0") as fo:
        tags = json.loads(get(fo, "/api/tags")[2])["models"]
        assert tags[0]["capabilities"] == ["completion", "tools"], tags[0]
        assert tags[3]["capabilities"] == ["embedding"], tags[3]
        assert tags[0]["details"]["context_length"] > 0, tags[0]
        fo.stop()


def test_show_per_model():
    with FakeOllama("--model-caps", "qwen2.5:0.5b=completion,thinking,vision") as fo:
        st, _, data = post(fo, {"model": "qwen2.5:0.5b"}, "/api/show")
        assert st == 200 and json.loads(data)["capabilities"] == [
            "completion", "thinking", "vision"], data
        st, _, data = post(fo, {"model": "llama3.2"}, "/api/show")
        assert json.loads(data)["capabilities"] == ["completion", "tools"], data
        st, _, data = post(fo, {"model": "x:1"}, "/api/show")
        assert (st, json.loads(data)) == (404, {"error": "model 'x:1' not found"}), data
        fo.stop()


def test_keep_alive_drives_ps():
    with FakeOllama() as fo:
        # a load: one JSON object, not a stream, whatever stream says
        st, r, data = post(fo, {"model": "llama3.2", "keep_alive": -1, "stream": True})
        assert st == 200 and r.getheader("Content-Type").startswith("application/json")
        o = json.loads(data)
        assert (o["done_reason"], o["done"], o["model"]) == ("load", True, "llama3.2"), o
        assert o["message"] == {"role": "assistant", "content": ""}, o
        ps = json.loads(get(fo, "/api/ps")[2])["models"]
        assert ps[0]["name"] == "llama3.2:latest" and ps[0]["expires_at"] > "2300", ps
        # keep_alive 0 after a chat: unloaded once it ends
        chat_lines(fo, {"model": "qwen2.5:0.5b", "keep_alive": 0})
        assert ps_names(fo) == ["llama3.2:latest"]
        chat_lines(fo, {"model": "qwen2.5:0.5b", "keep_alive": "1s"})
        assert "qwen2.5:0.5b" in ps_names(fo)
        iclib.wait_for(lambda: "qwen2.5:0.5b" not in ps_names(fo), 5, what="expiry")
        # an unload (no messages, keep_alive 0), as `ollama stop` asks
        st, _, data = post(fo, {"model": "llama3.2", "messages": [], "keep_alive": 0})
        assert json.loads(data)["done_reason"] == "unload", data
        assert ps_names(fo) == []
        fo.stop()


def test_bad_keep_alive_and_think():
    """Go's messages: api.Duration and api.ThinkValue refuse the body."""
    with FakeOllama() as fo:
        for extra, msg in (({"keep_alive": "300"}, 'time: missing unit in duration "300"'),
                           ({"keep_alive": "5x"}, 'time: unknown unit "x" in duration "5x"'),
                           ({"keep_alive": True}, "Unsupported type: 'bool'"),
                           ({"think": "max"}, 'invalid think value: "max" (must be "high", '
                                              '"medium", "low", true, or false)'),
                           ({"think": 1}, 'think must be a boolean or string ("high", '
                                          '"medium", "low")')):
            st, _, data = post(fo, dict({"model": "llama3.2", "messages": MSGS}, **extra))
            assert (st, json.loads(data)["error"]) == (400, msg), (extra, data)
        fo.stop()
    with FakeOllama("--ollama-version", "0.21.3", "--think", "hm") as fo:   # "max" since
        assert post(fo, {"model": "llama3.2", "messages": MSGS, "think": "max"})[0] == 200
        fo.stop()


def test_capabilities_refused():
    caps = ("--model-caps", "nomic-embed-text=embedding", "--models",
            "llama3.2,nomic-embed-text,gpt-oss:20b")
    tools = [{"type": "function", "function": {"name": "f"}}]
    with FakeOllama(*caps, "--model-caps", "llama3.2=completion") as fo:
        for body, msg in (
                ({"model": "nomic-embed-text"}, '"nomic-embed-text" does not support chat'),
                ({"model": "llama3.2", "think": True},
                 "registry.ollama.ai/library/llama3.2:latest does not support thinking"),
                ({"model": "llama3.2", "think": True, "tools": tools,
                  "options": {}, "messages": MSGS},
                 "registry.ollama.ai/library/llama3.2:latest does not support tools\n"
                 "thinking")):
            st, _, data = post(fo, dict({"messages": MSGS}, **body))
            assert (st, json.loads(data)["error"]) == (400, msg), (body, data)
        fo.stop()
    # levels: 0.12.3 takes them from gpt-oss only, 0.17.7 from any model
    with FakeOllama(*caps, "--capabilities", "completion,thinking") as fo:
        st, _, data = post(fo, {"model": "llama3.2", "messages": MSGS, "think": "low"})
        assert (st, json.loads(data)["error"]) == (
            400, 'think value "low" is not supported for this model'), data
        assert post(fo, {"model": "gpt-oss:20b", "messages": MSGS, "think": "low"})[0] == 200
        fo.stop()
    with FakeOllama(*caps, "--capabilities", "completion,thinking",
                    "--ollama-version", "0.17.7") as fo:
        assert post(fo, {"model": "llama3.2", "messages": MSGS, "think": "low"})[0] == 200
        fo.stop()


def test_cloud_chat_needs_signin():
    with FakeOllama("--models", "gpt-oss:120b-cloud") as fo:
        st, _, data = post(fo, {"model": "gpt-oss:120b-cloud", "messages": MSGS})
        assert st == 401 and json.loads(data)["error"] == "unauthorized", data
        fo.stop()


def test_model_echoed_and_zero_timings_left_out():
    with FakeOllama("--reply", "") as fo:
        lines = chat_lines(fo, {"model": "llama3.2"})
        assert all(x["model"] == "llama3.2" for x in lines), lines
        assert "eval_count" not in lines[-1] and "eval_duration" not in lines[-1], lines
        assert lines[-1]["load_duration"] > 0, lines
        fo.stop()


def test_tool_call_id_and_index_by_version():
    calls = ("--tool-call", "a:{}", "--tool-call", "b:{}", "--reply", "")
    for version, first, second in (
            ("0.12.3", {"function": {"name": "a", "arguments": {}}},
             {"function": {"index": 1, "name": "b", "arguments": {}}}),
            ("0.12.6", {"function": {"index": 0, "name": "a", "arguments": {}}},
             {"function": {"index": 1, "name": "b", "arguments": {}}})):
        with FakeOllama(*calls, "--ollama-version", version) as fo:
            lines = chat_lines(fo, {"model": "llama3.2"})
            got = [x["message"]["tool_calls"] for x in lines if "tool_calls" in x["message"]]
            assert got == [[first, second]], (version, got)
            fo.stop()
    with FakeOllama(*calls, "--ollama-version", "0.12.10") as fo:
        lines = chat_lines(fo, {"model": "llama3.2"})
        got = [x["message"]["tool_calls"] for x in lines if "tool_calls" in x["message"]][0]
        assert [list(c) for c in got] == [["id", "function"]] * 2, got
        assert got[0]["id"] != got[1]["id"] and got[0]["id"].startswith("call_"), got
        fo.stop()


def test_faults_of_real_ollama():
    with FakeOllama("--fault", "no-done", "--tokens", "3") as fo:
        lines = chat_lines(fo, {"model": "llama3.2"})
        assert len(lines) == 3 and not any(x["done"] for x in lines), lines
        fo.stop()
    with FakeOllama("--fault", "busy") as fo:
        st, _, data = post(fo, {"model": "llama3.2", "messages": MSGS})
        assert st == 503 and json.loads(data)["error"].startswith("server busy"), data
        fo.stop()
    with FakeOllama("--fault", "load-fail") as fo:
        st, _, data = post(fo, {"model": "llama3.2", "messages": MSGS})
        assert st == 500 and "memory" in json.loads(data)["error"], data
        assert ps_names(fo) == []
        fo.stop()
    with FakeOllama("--fault", "forbidden", "--fault-path", "/api/tags") as fo:
        st, _, data = get(fo, "/api/tags")
        assert (st, data) == (403, b""), data
        fo.stop()


def test_load_ms_silence_before_headers():
    """Ollama sends nothing while a model loads; a loaded model answers at once."""
    with FakeOllama("--load-ms", "700") as fo:
        t0 = time.monotonic()
        chat_lines(fo, {"model": "llama3.2"})
        assert time.monotonic() - t0 >= 0.7
        t0 = time.monotonic()
        chat_lines(fo, {"model": "llama3.2"})
        assert time.monotonic() - t0 < 0.7
        fo.stop()
