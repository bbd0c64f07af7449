#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""An instance whose peer misbehaves: a stand-in peer speaking the NATS
text protocol directly (a few lines of Python; no client library) announces
a model, then never answers an offer, answers with frames out of order, in
a malformed batch, or with garbage.  The consumer's instance must fail
over, end the stream in-band, count the gap and cancel at the peer;
nothing hangs.  And a NATS server that stops reading must not stop the
instance that publishes to it."""
import asyncio
import json
import signal
import time

import pytest

from routerlib import TestNode, chat, chat_body, http, text_of
from test_router_cluster import cluster_router, nats, until_health  # noqa: F401 (nats: a fixture)



class FakePeer:
    """A peer instance: publishes summaries for `models` every 0.5 s and
    records the messages to its inbox (subject suffix, reply, payload)."""

    def __init__(self, port, name="fake", models=("mq",), free=4):
        self.port = port
        self.name = name
        # the shape libnats makes (instances take no other): 22 of [A-Za-z0-9]
        self.inbox = "_INBOX." + ("FAKEPEER" + "".join(
            ch for ch in name.upper() if ch.isalnum())).ljust(22, "0")[:22]
        self.models = models
        self.free = free
        self.got = asyncio.Queue()

    async def start(self):
        self.r, self.w = await asyncio.open_connection("127.0.0.1", self.port)
        info = await self.r.readline()
        assert info.startswith(b"INFO "), info
        self.w.write(b'CONNECT {"verbose":false,"pedantic":false,"headers":false}\r\n')
        self.w.write(("SUB %s.> 1\r\n" % self.inbox).encode())
        self.w.write(b"PING\r\n")
        await self.w.drain()
        self.reader = asyncio.ensure_future(self._read())
        self.ticker = asyncio.ensure_future(self._tick())

    async def _read(self):
        while True:
            line = await self.r.readline()
            if not line:
                return
            if line.startswith(b"PING"):
                self.w.write(b"PONG\r\n")
                continue
            if not line.startswith(b"MSG "):
                continue
            parts = line.decode().split()
            subject, n = parts[1], int(parts[-1])
            reply = parts[3] if len(parts) == 5 else ""
            data = await self.r.readexactly(n + 2)
            await self.got.put((subject[len(self.inbox) + 1:], reply, data[:-2].decode()))

    def publish(self, subject, payload):
        data = payload.encode() if isinstance(payload, str) else payload
        self.w.write(b"PUB %s %d\r\n%s\r\n" % (subject.encode(), len(data), data))

    async def _tick(self):
        seq = 0
        while True:
            seq += 1
            self.publish("idleclaw.cluster.summary", json.dumps({
                "v": 1, "draining": False, "nodes": 1, "instance": self.name,
                "inbox": self.inbox, "seq": seq,
                "models": [{"name": m, "nodes": 1, "free": self.free}
                           for m in self.models]}))
            await self.w.drain()
            await asyncio.sleep(0.5)

    async def next(self, suffix, timeout=10.0):
        """The next message to suffix (others skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "no %s message" % suffix
            got = await asyncio.wait_for(self.got.get(), left)
            if got[0] == suffix:
                return got

    async def close(self):
        self.ticker.cancel()
        self.reader.cancel()
        self.w.close()


async def frame(rid, content, done=False):
    return json.dumps({"type": "inference_chunk", "request_id": rid,
                       "chunk": {"message": {"role": "assistant", "content": content},
                                 "done": done}})


async def metrics(r):
    st, _, body = await http(r.port, "GET", "/metrics")
    assert st == 200, body
    return body


async def test_silent_peer_then_local(nats):
    """A peer that never answers: after 2 s the chat goes elsewhere (here a
    local node that frees), and the peer gets a cancel for the offer."""
    a = cluster_router(nats, "a", metrics="yes", queue_wait=20)
    peer = FakePeer(nats.port)
    await peer.start()
    n = await TestNode.registered(a, "local-1", models=("mq",), max_concurrent=1)
    busy = await chat(a.port, chat_body("mq"), ip="10.96.0.1")
    q0 = await n.recv_type("inference_request")
    await until_health(a, "the fake peer", lambda h: h["peers"] == 1)
    t0 = time.monotonic()
    # the status line comes once a node takes the chat
    second = asyncio.ensure_future(chat(a.port, chat_body("mq", "second"), ip="10.96.0.2"))
    subj, reply, body = await peer.next("chat")
    offer = json.loads(body)
    assert offer["model"] == "mq" and offer["from"] == "a", offer
    assert offer["messages"][-1]["content"] == "second", offer
    assert reply.endswith(".r.%s" % reply.rsplit(".", 1)[1]), reply
    _, _, cancelled = await peer.next("cancel", timeout=5)
    took = time.monotonic() - t0
    assert cancelled == reply and 1.8 < took < 4, (cancelled, took)
    # a silent peer is offered nothing more for 3 s, while the chat waits
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(peer.next("chat"), 2.0)
    # the local node frees: the chat is served there
    await n.chunk(q0["request_id"], "first", done=True)
    assert text_of(await busy.events()) == "first"
    busy.close()
    q1 = await n.recv_type("inference_request")
    await n.chunk(q1["request_id"], "local", done=True)
    resp = await second
    assert text_of(await resp.events()) == "local"
    resp.close()
    assert (await metrics(a))["cluster_chats_sent"] == 0
    await peer.close()
    await n.close()
    a.assert_clean_exit()


async def test_gap_ends_in_band(nats):
    """Frames 1, 2 then 4: the consumer gets what came and the in-band
    error; the gap is counted and the peer told to cancel."""
    a = cluster_router(nats, "a", metrics="yes")
    peer = FakePeer(nats.port)
    await peer.start()
    await until_health(a, "the fake peer", lambda h: h["peers"] == 1)
    first = asyncio.ensure_future(chat(a.port, chat_body("mq"), ip="10.96.0.3"))
    _, reply, _ = await peer.next("chat")
    peer.publish(reply, '0 {"ok":true,"node_id":"far-1","native":false,"offered":false}')
    peer.publish(reply, "1 " + await frame("req-x", "one "))
    peer.publish(reply, "2 " + await frame("req-x", "two "))
    peer.publish(reply, "4 " + await frame("req-x", "four"))
    await peer.w.drain()
    resp = await first
    ev = await resp.events()
    text = text_of(ev)
    assert text.startswith("one two ") and "[Error:" in text and "four" not in text, ev
    assert '"finish_reason":"error"' in ev[-2] and ev[-1] == "data: [DONE]", ev
    _, _, cancelled = await peer.next("cancel")
    assert cancelled == reply
    m = await metrics(a)
    assert m["cluster_gaps"] == 1 and m["cluster_chats_sent"] == 1, m
    resp.close()
    await peer.close()
    a.assert_clean_exit()


def record(key, seq, text):
    data = text.encode()
    return b"%s %d %010d\n%s" % (key.encode(), seq, len(data), data)


async def test_batch_of_frames(nats):
    """Frames in batches on <inbox>.f (the way instances send them): several
    records in one message reach the consumer in order; a batch cut in the
    middle of a record loses the rest, which the next number shows."""
    a = cluster_router(nats, "a", metrics="yes")
    peer = FakePeer(nats.port)
    await peer.start()
    await until_health(a, "the fake peer", lambda h: h["peers"] == 1)
    first = asyncio.ensure_future(chat(a.port, chat_body("mq"), ip="10.96.0.4"))
    _, reply, _ = await peer.next("chat")
    inbox, key = reply.split(".r.")
    key = "r." + key
    peer.publish(reply, '0 {"ok":true,"node_id":"far-1","native":false,"offered":false}')
    peer.publish(inbox + ".f", record(key, 1, await frame("req-x", "one ")) +
                 record(key, 2, await frame("req-x", "two\nlines ")))
    # record 3 announces more bytes than the message has: dropped
    cut = record(key, 3, await frame("req-x", "three "))
    peer.publish(inbox + ".f", cut[:-5])
    peer.publish(inbox + ".f", record(key, 4, await frame("req-x", "four", done=True)))
    await peer.w.drain()
    resp = await first
    ev = await resp.events()
    text = text_of(ev)
    assert text.startswith("one two\nlines ") and "[Error:" in text, ev
    assert "three" not in text and "four" not in text, ev
    m = await metrics(a)
    assert m["cluster_gaps"] == 1, m
    resp.close()
    await peer.close()
    a.assert_clean_exit()


async def test_stalled_nats_does_not_stop_the_router(nats):
    """nats-server stopped (SIGSTOP) while the node's instance relays a
    large stream to the consumer's: the relaying instance's writes to NATS
    give up at their deadline, and it keeps answering."""
    a = cluster_router(nats, "a")
    b = cluster_router(nats, "b")
    n = await TestNode.registered(b, "big-1", models=("mb",), max_concurrent=2)
    await until_health(a, "b's node", lambda h: h["nodes"] == 1)
    first = asyncio.ensure_future(chat(a.port, chat_body("mb"), ip="10.96.0.5"))
    q = await n.recv_type("inference_request")
    await n.chunk(q["request_id"], "start ")
    resp = await first
    await resp.event(10)
    nats.p.send_signal(signal.SIGSTOP)
    try:
        big = "x" * (900 * 1024)
        for _ in range(40):     # far more than the sockets' buffers hold
            await n.chunk(q["request_id"], big)
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            st, _, h = await http(b.port, "GET", "/health", timeout=3)
            assert st == 200 and time.monotonic() - t0 < 2.5, (st, h)
            await asyncio.sleep(0.5)
    finally:
        nats.p.send_signal(signal.SIGCONT)
    resp.close()
    await n.close()
    for r in (a, b):
        r.assert_clean_exit(timeout=15)


async def test_garbage_and_busy(nats):
    """A malformed answer counts as busy (the chat then waits and gets 503
    at queue_wait); a malformed message number is ignored, nothing crashes."""
    a = cluster_router(nats, "a", metrics="yes", queue_wait=2)
    peer = FakePeer(nats.port)
    await peer.start()
    await until_health(a, "the fake peer", lambda h: h["peers"] == 1)
    t0 = time.monotonic()
    task = asyncio.ensure_future(http(a.port, "POST", "/api/chat", body=chat_body("mq")))
    _, reply, _ = await peer.next("chat")
    peer.publish(reply, "x garbage")
    peer.publish(reply, "0 {not json")
    await peer.w.drain()
    # every later offer (retries while it waits) is answered busy
    while not task.done():
        try:
            _, reply, _ = await peer.next("chat", timeout=0.5)
        except (AssertionError, asyncio.TimeoutError):
            continue
        peer.publish(reply, '0 {"ok":false,"error":"busy"}')
        await peer.w.drain()
    st, _, body = await task
    assert st == 503 and 1.5 < time.monotonic() - t0 < 6, (st, body)
    await peer.close()
    a.assert_clean_exit()
