# SPDX-License-Identifier: AGPL-3.0-or-later
"""Helpers for the idleclaw-routerd integration tests.

A Router runs the real binary on a loopback port.  TestNode speaks the node
protocol (docs/protocol.md) over python3-websockets; chat()/http() are a
minimal HTTP/1.1 client on asyncio streams, so a test sees the exact bytes
of an SSE stream and can stop reading (slow consumer) or hang up (cancel).
LIMITS (limits.py) are the numbers the programs were built with.
"""
import asyncio
import json
import signal

import websockets

import iclib
from limits import LIMITS  # noqa: F401  (re-exported)

# Fast settings for tests; a test that checks a default passes it explicitly.
FAST = {
    "trusted_proxies": "127.0.0.1",
    "rate_chat": 100000,
    "rate_other": 100000,
    "rate_upgrade": 100000,
    "log_level": "debug",
    # probes would answer at random moments: tests that want them set it
    "trust.probe_interval": 0,
    # standing messages likewise (test_daemon_contrib.py sets it)
    "trust.standing_interval": 0,
}


class Router(iclib.Proc):
    """idleclaw-routerd on a free port (or on port: a restart); opts are
    [router] keys."""

    def __init__(self, fast=True, env=None, port=None, **opts):
        self.port = port or iclib.free_port()
        cfg = dict(FAST) if fast else {}
        cfg.update(opts)
        argv = [iclib.binary("router/idleclaw-routerd"),
                "--config", "/nonexistent/idleclaw.conf",
                "--listen", "127.0.0.1:%d" % self.port]
        for k, v in cfg.items():
            # "section.key" for keys outside [router] (trust.start ...)
            argv += ["-o", "%s=%s" % (k if "." in k else "router." + k, v)]
        super().__init__("routerd", argv, env=env)
        iclib.wait_port(self.port, proc=self)

    @property
    def ws_url(self):
        return "ws://127.0.0.1:%d/ws/node" % self.port

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --- HTTP ---

class Response:
    def __init__(self, status, headers, reader, writer):
        self.status = status
        self.headers = headers
        self.reader = reader
        self.writer = writer
        self.body = b""

    def json(self):
        return json.loads(self.body)

    @property
    def chunked(self):
        return self.headers.get("transfer-encoding", "").lower() == "chunked"

    async def _readline(self, timeout):
        """A body line, decoding chunked transfer coding (as Caddy sends)."""
        if not self.chunked:
            return await asyncio.wait_for(self.reader.readline(), timeout)
        buf = getattr(self, "_buf", b"")
        while b"\n" not in buf:
            size = await asyncio.wait_for(self.reader.readline(), timeout)
            if not size:
                break
            n = int(size.split(b";")[0].strip() or b"0", 16)
            if n == 0:
                break
            buf += await asyncio.wait_for(self.reader.readexactly(n + 2), timeout)
            buf = buf[:-2] if buf.endswith(b"\r\n") else buf
        i = buf.find(b"\n")
        line, self._buf = (buf, b"") if i < 0 else (buf[:i + 1], buf[i + 1:])
        return line

    async def read_body(self, timeout=10.0):
        n = self.headers.get("content-length")
        if n is not None:
            self.body = await asyncio.wait_for(self.reader.readexactly(int(n)), timeout)
        else:
            self.body = await asyncio.wait_for(self.reader.read(), timeout)
        return self.body

    async def event(self, timeout=10.0):
        """Next SSE block as text ('data: ...' or ': ping'), or None at EOF."""
        lines = []
        while True:
            line = await self._readline(timeout)
            if not line:
                return "\n".join(lines) if lines else None
            line = line.decode().rstrip("\n")
            if line == "":
                if lines:
                    return "\n".join(lines)
                continue
            lines.append(line)

    async def events(self, timeout=10.0):
        """All SSE blocks until EOF (pings included)."""
        out = []
        while True:
            ev = await self.event(timeout)
            if ev is None:
                return out
            out.append(ev)

    def close(self):
        self.writer.close()


async def request(port, method, path, body=None, headers=None, raw_body=None,
                  timeout=10.0, source=None):
    """Send one request; return a Response with status and headers read.
    source: the local address to connect from (any of 127/8 on Linux)."""
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, local_addr=(source, 0) if source else None)
    data = raw_body
    if body is not None:
        data = json.dumps(body).encode()
    h = {"Host": "127.0.0.1:%d" % port, "Connection": "close"}
    if data is not None:
        h["Content-Type"] = "application/json"
        h["Content-Length"] = str(len(data))
    h.update(headers or {})
    head = "%s %s HTTP/1.1\r\n" % (method, path)
    head += "".join("%s: %s\r\n" % kv for kv in h.items() if kv[1] is not None)
    writer.write(head.encode() + b"\r\n" + (data or b""))
    try:
        await writer.drain()
    except (BrokenPipeError, ConnectionResetError):
        # The server may answer (413, 429) and close before reading all
        # of a body; its answer is still there to read.
        pass
    status_line = await asyncio.wait_for(reader.readline(), timeout)
    if not status_line:
        raise AssertionError("connection closed without a response")
    status = int(status_line.split()[1])
    headers_in = {}
    while True:
        line = await asyncio.wait_for(reader.readline(), timeout)
        if line in (b"\r\n", b"\n", b""):
            break
        k, _, v = line.decode().partition(":")
        headers_in[k.strip().lower()] = v.strip()
    return Response(status, headers_in, reader, writer)


async def http(port, method, path, body=None, headers=None, raw_body=None, timeout=10.0,
               source=None):
    """A complete request: (status, headers, parsed JSON or raw body)."""
    r = await request(port, method, path, body, headers, raw_body, timeout=timeout,
                      source=source)
    await r.read_body()
    r.close()
    try:
        return r.status, r.headers, json.loads(r.body)
    except ValueError:
        return r.status, r.headers, r.body


async def until(predicate, timeout=10.0, interval=0.05, what="condition"):
    """Call predicate() (plain or coroutine function) until it returns
    something true; fail with `what` after timeout.  For state the router
    changes when it gets to a frame, instead of sleeping and hoping it has."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() >= deadline:
            raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))
        await asyncio.sleep(interval)


async def model_info(port, name):
    """The verbose /api/models entry of one model, or None if not listed."""
    st, _, body = await http(port, "GET", "/api/models?verbose=1")
    assert st == 200, (st, body)
    for m in body["models"]:
        if m["name"] == name:
            return m
    return None


async def until_model(port, name, what=None, **want):
    """Wait until model `name` is listed with the given fields (node_count,
    free_slots), or, with listed=False, until it is not listed."""
    listed = want.pop("listed", True)

    async def check():
        m = await model_info(port, name)
        if not listed:
            return m is None
        return m is not None and all(m.get(k) == v for k, v in want.items()) and m
    return await until(check, what=what or "model %s %s" % (
        name, want if listed else "not listed"))


def xff(ip):
    return {"X-Forwarded-For": ip}


def chat_body(model="m1", text="hi", **extra):
    body = {"model": model, "messages": [{"role": "user", "content": text}],
            "think": False}
    body.update(extra)
    return body


async def chat(port, body, ip=None, headers=None, source=None):
    """POST /api/chat; a Response whose stream the caller reads."""
    h = dict(headers or {})
    if ip:
        h.update(xff(ip))
    return await request(port, "POST", "/api/chat", body, h, source=source)


def data_events(events):
    """Parsed JSON of the data: events (not [DONE], not pings)."""
    out = []
    for ev in events:
        if ev.startswith("data: ") and ev != "data: [DONE]":
            out.append(json.loads(ev[len("data: "):]))
    return out


def text_of(events, reasoning=False):
    s = ""
    for ch in data_events(events):
        d = ch["choices"][0]["delta"]
        if "content" in d and bool(d.get("reasoning")) == reasoning:
            s += d["content"]
    return s


# --- nodes ---

class Closed(Exception):
    def __init__(self, code, reason):
        super().__init__("closed %s %r" % (code, reason))
        self.code = code
        self.reason = reason


class TestNode:
    """One node WebSocket.  recv() returns parsed messages; a close raises Closed."""

    def __init__(self, ws, node_id):
        self.ws = ws
        self.node_id = node_id
        self.requests = []

    @classmethod
    async def connect(cls, router, node_id="node-1", ip=None, headers=None, source=None):
        h = dict(headers or {})
        if ip:
            h.update(xff(ip))
        ws = await websockets.connect(router.ws_url, extra_headers=h,
                                      max_size=None, ping_interval=None,
                                      local_addr=(source, 0) if source else None)
        return cls(ws, node_id)

    @classmethod
    async def registered(cls, router, node_id="node-1", models=("m1",),
                         max_concurrent=2, ip=None, source=None):
        n = await cls.connect(router, node_id, ip=ip, source=source)
        reply = await n.register(models=models, max_concurrent=max_concurrent)
        assert reply["type"] == "registered", reply
        assert reply["node_id"] == node_id, reply
        return n

    async def send(self, obj):
        await self.ws.send(obj if isinstance(obj, str) else json.dumps(obj))

    async def register(self, models=("m1",), max_concurrent=2, node_id=None, **extra):
        msg = {"type": "register", "node_id": node_id or self.node_id,
               "models": [m if isinstance(m, dict) else {"name": m, "size": 1000}
                          for m in models],
               "max_concurrent": max_concurrent, "ollama_version": "0.6.2"}
        msg.update(extra)
        await self.send(msg)
        return await self.recv()

    async def recv(self, timeout=10.0):
        try:
            text = await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.ConnectionClosed as e:
            raise Closed(e.code, e.reason) from None
        return json.loads(text)

    async def recv_type(self, mtype, timeout=10.0):
        while True:
            m = await self.recv(timeout)
            if m.get("type") == mtype:
                return m

    async def expect_close(self, timeout=10.0):
        """Wait for the router to close us; return (code, reason)."""
        try:
            while True:
                await self.recv(timeout)
        except Closed as c:
            return c.code, c.reason

    async def expect_nothing(self, seconds):
        """No message for `seconds` (a chat must not be routed here)."""
        try:
            m = await self.recv(seconds)
        except asyncio.TimeoutError:
            return
        raise AssertionError("unexpected message %r" % (m,))

    async def heartbeat(self, active=0, available=True, node_id=None):
        await self.send({"type": "heartbeat", "node_id": node_id or self.node_id,
                         "active_requests": active, "available": available})

    async def chunk(self, rid, content="", done=False, thinking=None, **extra):
        msg = {"role": "assistant", "content": content}
        if thinking is not None:
            msg["thinking"] = thinking
        chunk = {"message": msg, "done": done}
        chunk.update(extra)
        await self.send({"type": "inference_chunk", "request_id": rid, "chunk": chunk})

    async def error(self, rid, error="ollama_error"):
        await self.send({"type": "inference_error", "request_id": rid, "error": error})

    async def answer(self, text_parts=("Hel", "lo"), timeout=10.0):
        """Take the next inference_request and stream text_parts, then done."""
        req = await self.recv_type("inference_request", timeout)
        rid = req["request_id"]
        for p in text_parts:
            await self.chunk(rid, p)
        await self.chunk(rid, "", done=True, done_reason="stop")
        return req

    async def close(self):
        await self.ws.close()


TestNode.__test__ = False       # a helper, not a class of tests for pytest


__all__ = ["Router", "TestNode", "Closed", "LIMITS", "request", "http", "chat",
           "until", "model_info", "until_model",
           "chat_body", "data_events", "text_of", "xff", "signal"]
