#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""idleclaw-routerd instances as one cluster over NATS: chats that cross
from one instance to another (docs/cluster.md).

A real nats-server on a loopback port (the test skips if it is not
installed) and up to three routers.  Nodes (TestNode, or a real idleclawd
with fake-ollama) register on one instance, consumers chat on another:
the chat crosses the hop and streams as from a local node; a busy peer
sends the chat to the next one or to the wait queue; a consumer's hang-up
reaches the node (and fake-ollama); kill -9 of the node's instance gives
an in-band error after the first token and a failover before it; without
nats-server every instance serves its own nodes; SIGTERM drains a crossing
chat and takes the instance out of the others' choice.
"""
import asyncio
import json
import signal
import time

import test_router_cluster
from routerlib import Router, TestNode, chat, chat_body, http, model_info, text_of, until
from test_router_cluster import Nats, until_health
from test_router_cluster_peer import FakePeer

# The nats fixture: a nats-server on a free port; skips without one.
nats = test_router_cluster.nats

MODEL = "llama3.2:latest"       # what fake-ollama lists by default

# What one node sends in the tests that compare streams: thinking, markup
# the output filter replaces and a tool-call span it drops, then done.
PARTS = [{"thinking": "let me"}, {"thinking": " see"}, {"content": "Hel"},
         {"content": "lo <scr"}, {"content": "ipt>x <tool_call>{}</tool"},
         {"content": "_call> end"}, {"content": "", "done": True, "done_reason": "stop"}]


def crouter(nats, name, **opts):
    """idleclaw-routerd as cluster instance `name`.  routerlib.Router, not
    test_router_cluster.ClusterRouter: its FAST settings turn probes off
    (a probe would reach a TestNode as a stray inference_request), trust
    X-Forwarded-For and lift the rate limits."""
    cfg = {"cluster.url": nats.url, "cluster.instance": name,
           "nodes_per_ip": 100, "shutdown_grace": 1, "metrics": "yes"}
    cfg.update(opts)
    r = Router(**cfg)
    r.name = "routerd-" + name
    return r


class NatsWatch:
    """A subscriber of our own on the NATS server (its text protocol:
    INFO, CONNECT, SUB, MSG, PING/PONG): the summaries the instances
    publish, to see what B tells the others, and (watch_offers) the offers
    made to an instance, to see that none go where none should."""

    SUMMARY = "idleclaw.cluster.summary"

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer
        self.summaries_seen = []
        self.offers = {}            # instance -> offers seen on its inbox
        self.sids = {}              # sid -> instance whose offers it sees
        self.pongs = 0
        self.task = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        info = await asyncio.wait_for(reader.readline(), 5)
        assert info.startswith(b"INFO "), info
        w = cls(reader, writer)
        writer.write(b'CONNECT {"verbose":false,"pedantic":false,"name":"test-watch"}\r\n'
                     b"SUB " + cls.SUMMARY.encode() + b" 1\r\n")
        await w.sync()
        return w

    async def sync(self):
        """PING and wait for the PONG: what was sent before is in effect."""
        pongs = self.pongs
        self.writer.write(b"PING\r\n")
        await self.writer.drain()
        await until(lambda: self.pongs > pongs, 5, what="PONG from nats-server")

    async def watch_offers(self, instance):
        """Record from now on the offers made to instance (at its inbox)."""
        s = await self.until_summary(instance, "an inbox", lambda s: s.get("inbox"))
        sid = str(len(self.sids) + 2)
        self.sids[sid] = instance
        self.offers[instance] = []
        self.writer.write(("SUB %s.chat %s\r\n" % (s["inbox"], sid)).encode())
        await self.sync()

    async def _read(self):
        while True:
            line = await self.reader.readline()
            if not line:
                return
            if line.startswith(b"MSG "):
                parts = line.split()
                payload = (await self.reader.readexactly(int(parts[-1]) + 2))[:-2]
                sid = parts[2].decode()
                if sid == "1":
                    self.summaries_seen.append(json.loads(payload))
                else:
                    self.offers[self.sids[sid]].append(json.loads(payload))
            elif line.startswith(b"PING"):
                self.writer.write(b"PONG\r\n")
            elif line.startswith(b"PONG"):
                self.pongs += 1

    def summaries(self, instance):
        return [m for m in self.summaries_seen if m.get("instance") == instance]

    async def until_summary(self, instance, what, pred, after=0, timeout=5.0):
        """The first summary of `instance` with seq > after that satisfies pred."""
        def found():
            for s in self.summaries(instance):
                if s.get("seq", 0) > after and pred(s):
                    return s
            return None
        return await until(found, timeout, what="summary of %s: %s" % (instance, what))

    def close(self):
        self.task.cancel()
        self.writer.close()


def start_chat(router, model, ip):
    """POST /api/chat as a task: a crossing chat may send its status line
    only when the far node has answered, so the caller first plays the node."""
    return asyncio.ensure_future(chat(router.port, chat_body(model), ip=ip))


async def recv_req(nodes, timeout=10.0):
    """(node, request) for the one of nodes that gets an inference_request."""
    tasks = {asyncio.ensure_future(n.recv_type("inference_request", timeout)): n
             for n in nodes}
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    ok = [t for t in done if t.exception() is None]
    if not ok:
        raise AssertionError("no inference_request at %s within %.0f s: %r" % (
            [n.node_id for n in nodes], timeout, [t.exception() for t in done]))
    assert len(ok) == 1, "requests at %s" % [(tasks[t].node_id, t.result()) for t in ok]
    return tasks[ok[0]], ok[0].result()


async def send_parts(node, rid, parts):
    for p in parts:
        p = dict(p)
        await node.chunk(rid, p.pop("content", ""), **p)


async def metrics(r):
    st, _, body = await http(r.port, "GET", "/metrics")
    assert st == 200, (st, body)
    return body


async def until_counter(r, key, want, timeout=5.0):
    async def check():
        return (await metrics(r)).get(key) == want
    try:
        await until(check, timeout, what="%s %s == %s" % (r.name, key, want))
    except AssertionError:
        raise AssertionError("%s: /metrics %s is %r, not %r" % (
            r.name, key, (await metrics(r)).get(key), want)) from None


async def until_seen(r, model, timeout=10.0, **want):
    """r's /api/models?verbose=1 lists model with these fields."""
    async def check():
        m = await model_info(r.port, model)
        return m is not None and all(m.get(k) == v for k, v in want.items())
    try:
        await until(check, timeout, what="%s sees %s %s" % (r.name, model, want))
    except AssertionError:
        raise AssertionError("%s: model %s is %r, not %r" % (
            r.name, model, await model_info(r.port, model), want)) from None


def stream(events):
    """The data events with the chat's own id taken out (pings dropped)."""
    out = []
    for ev in events:
        if ev.startswith(":"):
            continue
        assert ev.startswith("data: "), events
        if ev == "data: [DONE]":
            out.append("[DONE]")
            continue
        o = json.loads(ev[len("data: "):])
        assert o.get("id", "").startswith("chatcmpl-"), o
        o["id"] = "ID"
        out.append(o)
    return out


def finish_reason(events):
    reasons = [o["choices"][0].get("finish_reason") for o in stream(events)
               if o != "[DONE]" and o["choices"][0].get("finish_reason")]
    assert len(reasons) == 1, events
    return reasons[0]


def assert_clean_end(events, text):
    """text, finish_reason stop, [DONE] last, no error anywhere."""
    s = stream(events)
    assert s and s[-1] == "[DONE]" and s.count("[DONE]") == 1, events
    assert not any("error" in o for o in s[:-1]), events
    assert text_of(events) == text, events
    assert finish_reason(events) == "stop", events


def assert_inband_error(events):
    """The router's in-band error: '[Error: ...]' content with an error
    member, a finish_reason "error" chunk, then [DONE]."""
    s = stream(events)
    assert len(s) >= 3 and s[-1] == "[DONE]", events
    err, fin = s[-3], s[-2]
    assert "[Error: " in err["choices"][0]["delta"].get("content", ""), events
    assert "code" in err.get("error", {}), events
    assert fin["choices"][0].get("finish_reason") == "error", events


async def read_text(resp, want, timeout=10.0):
    """Read SSE events until the content so far is `want`; return them."""
    events = []
    deadline = time.monotonic() + timeout
    while text_of(events) != want:
        assert text_of(events) == want[:len(text_of(events))], events
        left = deadline - time.monotonic()
        assert left > 0, "no %r in time: %r" % (want, events)
        ev = await resp.event(left)
        assert ev is not None, "stream ended before %r: %r" % (want, events)
        events.append(ev)
    return events


async def close_quietly(*nodes):
    for n in nodes:
        try:
            await asyncio.wait_for(n.close(), 5)
        except Exception:  # noqa: BLE001 - its router may be gone
            pass


async def exited(r, timeout=10.0):
    """Wait for r to exit on its own (after SIGTERM): its exit status."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, r.p.wait, timeout)


# --- a: the hop ---

async def test_chat_crosses_the_hop(nats):
    """Nodes on B only, consumer on A: the stream is event for event the one
    B's own consumers get from the same node; the node gets the same
    request; the counters move on A and B only; a model nobody has: 503."""
    a, b, c = (crouter(nats, n) for n in "abc")
    nb = await TestNode.registered(b, "hop-b", models=("mh",), max_concurrent=2)
    for r in (a, c):
        await until_seen(r, "mh", node_count=1, free_slots=2)
    before = {r.name: await metrics(r) for r in (a, b, c)}

    # the reference: a chat local to B (one router's path)
    t = start_chat(b, "mh", "10.90.0.1")
    q_local = await nb.recv_type("inference_request")
    await send_parts(nb, q_local["request_id"], PARTS)
    local = await t
    local_events = await local.events()
    local.close()

    # the same from A, across the hop
    t = start_chat(a, "mh", "10.90.0.2")
    q_cross = await nb.recv_type("inference_request")
    assert q_cross["request_id"] != q_local["request_id"], (q_local, q_cross)
    assert q_cross["ollama_params"] == q_local["ollama_params"], (q_local, q_cross)
    await send_parts(nb, q_cross["request_id"], PARTS)
    cross = await t
    assert (cross.status, cross.headers.get("content-type")) == \
        (local.status, local.headers.get("content-type")) == (200, "text/event-stream"), \
        (cross.status, cross.headers, local.headers)
    cross_events = await cross.events()
    cross.close()
    assert stream(cross_events) == stream(local_events), (cross_events, local_events)
    # several chunks, the output filter applied, a normal end
    assert len(stream(cross_events)) >= 5, cross_events
    assert "<script" not in text_of(cross_events) and "tool_call" not in \
        text_of(cross_events), cross_events
    assert_clean_end(cross_events, text_of(local_events))
    assert text_of(cross_events, reasoning=True) == text_of(local_events, reasoning=True)

    # one chat sent by A, one served by B, none elsewhere
    def count(r, key):
        return before[r.name].get(key, 0)
    await until_counter(a, "cluster_chats_sent", count(a, "cluster_chats_sent") + 1)
    await until_counter(b, "cluster_chats_served", count(b, "cluster_chats_served") + 1)
    for r, key in ((a, "cluster_chats_served"), (b, "cluster_chats_sent"),
                   (c, "cluster_chats_sent"), (c, "cluster_chats_served")):
        assert (await metrics(r)).get(key) == count(r, key) == 0, (r.name, key)
    assert (await metrics(a)).get("cluster_gaps") == 0

    # a model no instance has: 503 at once, as on one router
    t0 = time.monotonic()
    st, _, body = await http(a.port, "POST", "/api/chat", body=chat_body("nobody-has"),
                             headers={"X-Forwarded-For": "10.90.0.3"})
    assert st == 503 and body == {"detail": "No nodes available with model nobody-has"}, \
        (st, body)
    assert time.monotonic() - t0 < 1, time.monotonic() - t0
    await nb.expect_nothing(0.2)
    await nb.close()
    for r in (a, b, c):
        r.assert_clean_exit(timeout=10)


# --- b: busy, next, wait ---

async def test_busy_peer_next_peer_and_wait(nats):
    a = crouter(nats, "a", queue_wait=20)
    b = crouter(nats, "b")
    c = crouter(nats, "c")
    nb = await TestNode.registered(b, "busy-b", models=("mb",), max_concurrent=1)
    nc = await TestNode.registered(c, "busy-c", models=("mb",), max_concurrent=1)
    await until_seen(a, "mb", node_count=2, free_slots=2)
    watch = await NatsWatch.open(nats.port)
    await watch.watch_offers("b")
    await watch.watch_offers("c")

    # B's node full with a chat of B's own: A's chat goes to C
    t = start_chat(b, "mb", "10.91.0.1")
    q_b = await nb.recv_type("inference_request")
    r_b = await t
    await until_seen(a, "mb", free_slots=1)
    t = start_chat(a, "mb", "10.91.0.2")
    q_c = await nc.recv_type("inference_request")
    await nb.expect_nothing(0.3)
    assert (len(watch.offers["b"]), len(watch.offers["c"])) == (0, 1), watch.offers
    await nc.chunk(q_c["request_id"], "from c", done=True)
    r = await t
    assert_clean_end(await r.events(), "from c")
    r.close()
    await nb.chunk(q_b["request_id"], "b's own", done=True)
    assert_clean_end(await r_b.events(), "b's own")
    r_b.close()

    # two at once from A, one free slot on each of B and C: whichever
    # peer A asks first takes one, the other goes on to the next peer
    await until_seen(a, "mb", free_slots=2)
    t1 = start_chat(a, "mb", "10.91.0.3")
    t2 = start_chat(a, "mb", "10.91.0.4")
    qb, qc = await asyncio.gather(nb.recv_type("inference_request"),
                                  nc.recv_type("inference_request"))
    got = {nb: qb, nc: qc}

    # all full: a third waits (no 503, nothing reaches a node) and is
    # served by B when B's slot frees
    t3 = start_chat(a, "mb", "10.91.0.5")
    await nb.expect_nothing(0.5)
    await nc.expect_nothing(0.1)
    assert not t3.done() or t3.result().status == 200, t3.result().status
    await nb.chunk(got[nb]["request_id"], "first", done=True)
    q3 = await nb.recv_type("inference_request")
    await nc.expect_nothing(0.1)
    await nc.chunk(got[nc]["request_id"], "second", done=True)
    await nb.chunk(q3["request_id"], "third", done=True)
    texts = []
    for t in (t1, t2, t3):
        r = await t
        ev = await r.events()
        assert finish_reason(ev) == "stop", ev
        texts.append(text_of(ev))
        r.close()
    assert sorted(texts[:2]) == ["first", "second"] and texts[2] == "third", texts
    watch.close()
    await close_quietly(nb, nc)
    for r in (a, b, c):
        r.assert_clean_exit(timeout=10)


async def test_busy_answer_goes_to_the_next_peer(nats):
    """A peer whose summary shows the most free slots answers "busy" (its
    answer binds): A offers the chat to the next peer at once, not again to
    the busy one, and the consumer gets that peer's stream."""
    a = crouter(nats, "a", queue_wait=20)
    c = crouter(nats, "c")
    nc = await TestNode.registered(c, "next-c", models=("mn",), max_concurrent=1)
    z = FakePeer(nats.port, name="z", models=("mn",), free=5)
    await z.start()
    await until_seen(a, "mn", node_count=2, free_slots=6)
    t = start_chat(a, "mn", "10.99.0.1")
    _, reply, body = await z.next("chat")
    assert json.loads(body)["model"] == "mn", body
    z.publish(reply, '0 {"ok":false,"error":"busy"}')
    await z.w.drain()
    q = await nc.recv_type("inference_request", 5)
    offers = []
    while not z.got.empty():
        offers.append(z.got.get_nowait())
    assert [o for o in offers if o[0] == "chat"] == [], offers
    await nc.chunk(q["request_id"], "next ")
    await nc.chunk(q["request_id"], "peer", done=True)
    r = await t
    assert_clean_end(await r.events(), "next peer")
    r.close()
    await until_counter(a, "cluster_chats_sent", 1)
    await until_counter(c, "cluster_chats_served", 1)
    await z.close()
    await nc.close()
    for r in (a, c):
        r.assert_clean_exit(timeout=10)


async def test_all_peers_full_503_after_queue_wait(nats):
    """The only node (on B) full: A's chat waits queue_wait (2 s), then 503
    as on one router; the node never gets it."""
    a = crouter(nats, "a", queue_wait=2)
    b = crouter(nats, "b")
    nb = await TestNode.registered(b, "full-b", models=("mq",), max_concurrent=1)
    await until_seen(a, "mq", node_count=1, free_slots=1)
    t = start_chat(b, "mq", "10.92.0.1")
    q = await nb.recv_type("inference_request")
    r_b = await t
    await until_seen(a, "mq", free_slots=0)
    t0 = time.monotonic()
    st, _, body = await http(a.port, "POST", "/api/chat", body=chat_body("mq"),
                             headers={"X-Forwarded-For": "10.92.0.2"}, timeout=15)
    waited = time.monotonic() - t0
    assert st == 503 and body == {"detail": "No nodes available with model mq"}, (st, body)
    assert 1.8 <= waited < 5, waited
    await nb.expect_nothing(0.1)
    await nb.chunk(q["request_id"], "mine", done=True)
    assert_clean_end(await r_b.events(), "mine")
    r_b.close()
    await nb.close()
    for r in (a, b):
        r.assert_clean_exit(timeout=10)


# --- c: cancel crosses back ---

async def test_cancel_crosses_back(nats):
    """The consumer on A hangs up mid-stream: the node on B gets
    cancel_request for the id it was sent, and its slot is free again."""
    a = crouter(nats, "a")
    b = crouter(nats, "b")
    nb = await TestNode.registered(b, "cx-b", models=("mc",), max_concurrent=1)
    await until_seen(a, "mc", node_count=1, free_slots=1)
    t = start_chat(a, "mc", "10.93.0.1")
    q = await nb.recv_type("inference_request")
    rid = q["request_id"]
    await nb.chunk(rid, "one ")
    await nb.chunk(rid, "two ")
    r = await t
    await read_text(r, "one two ")
    r.close()
    m = await nb.recv_type("cancel_request", 5)
    assert m == {"type": "cancel_request", "request_id": rid}, m
    await until_seen(a, "mc", free_slots=1)
    await until_seen(b, "mc", free_slots=1)
    # chunks that still come for it go nowhere; the node serves the next
    await nb.chunk(rid, "late", done=True)
    t = start_chat(a, "mc", "10.93.0.2")
    q2 = await nb.recv_type("inference_request")
    await nb.chunk(q2["request_id"], "next", done=True)
    r = await t
    assert_clean_end(await r.events(), "next")
    r.close()
    await nb.close()
    for r in (a, b):
        r.assert_clean_exit(timeout=10)


async def test_real_node_across_the_hop(nats, daemon, fake_ollama):
    """A real idleclawd registered on B, the consumer on A: fake-ollama's
    whole answer arrives, as from B itself; the consumer's hang-up in a
    second chat closes the daemon's request to fake-ollama."""
    a = crouter(nats, "a")
    b = crouter(nats, "b")
    fo = fake_ollama("--echo", "--delay-ms", "50", "--tokens", "60")
    d = daemon("http://127.0.0.1:%d" % b.port, fo.url).wait_ready()
    await until_seen(a, MODEL, timeout=15, node_count=1)
    question = "the quick brown fox jumps over the lazy dog, and then it naps a while"
    got = {}
    for r, ip in ((b, "10.94.0.1"), (a, "10.94.0.2")):
        resp = await chat(r.port, chat_body(MODEL, question), ip=ip)
        assert resp.status == 200, resp.status
        got[r] = await resp.events()
        resp.close()
    assert_clean_end(got[a], question)
    assert stream(got[a]) == stream(got[b]), got
    assert len(stream(got[a])) > 40, got[a]
    bodies = fo.chat_bodies()
    assert len(bodies) == 2 and bodies[0] == bodies[1], bodies

    r = await chat(a.port, chat_body(MODEL, "x" * 70), ip="10.94.0.3")
    assert r.status == 200, r.status
    events = []
    while not text_of(events):
        ev = await r.event(10)
        assert ev is not None, events
        events.append(ev)
    assert len(fo.chat_bodies()) == 3
    r.close()
    loop = asyncio.get_running_loop()
    cancelled = await loop.run_in_executor(None, fo.wait_cancelled, 1, 2.5)
    assert cancelled == [MODEL], cancelled
    d.assert_clean_exit()
    fo.proc.stop()
    for r in (a, b):
        r.assert_clean_exit(timeout=10)


# --- d, e: B killed ---

async def test_kill_mid_stream_inband_error(nats):
    """kill -9 of B after chunks reached the consumer on A: the in-band
    error within 5 s, and A forgets B."""
    a = crouter(nats, "a")
    b = crouter(nats, "b")
    nb = await TestNode.registered(b, "k9-b", models=("mk",))
    await until_seen(a, "mk", node_count=1)
    t = start_chat(a, "mk", "10.95.0.1")
    q = await nb.recv_type("inference_request")
    await nb.chunk(q["request_id"], "al")
    await nb.chunk(q["request_id"], "most")
    r = await t
    events = await read_text(r, "almost")
    b.p.kill()
    b.p.wait()
    t0 = time.monotonic()
    events += await r.events(timeout=5)
    elapsed = time.monotonic() - t0
    r.close()
    assert elapsed < 5, elapsed
    assert_inband_error(events)
    assert text_of(events).startswith("almost\n\n[Error: "), events
    await until_health(a, "b forgotten", lambda h: h["peers"] == 0, timeout=5)
    await close_quietly(nb)
    a.assert_clean_exit(timeout=10)


async def test_kill_before_first_token_fails_over(nats):
    """B (3 free slots, so A's choice) killed after its node got the request
    and before it answered: A fails over to C, the consumer sees C's
    answer and no error."""
    a = crouter(nats, "a")
    b = crouter(nats, "b")
    c = crouter(nats, "c")
    nb = await TestNode.registered(b, "fo-b", models=("me",), max_concurrent=3)
    nc = await TestNode.registered(c, "fo-c", models=("me",), max_concurrent=1)
    await until_seen(a, "me", node_count=2, free_slots=4)
    t = start_chat(a, "me", "10.96.0.1")
    n, q = await recv_req([nb, nc])
    assert n is nb, "A sent the chat to %s, not to B (most free slots)" % n.node_id
    b.p.kill()
    b.p.wait()
    q_c = await nc.recv_type("inference_request", 10)
    assert q_c["ollama_params"] == q["ollama_params"], (q, q_c)
    await send_parts(nc, q_c["request_id"], [{"content": "from "}, {"content": "c"},
                                             {"done": True, "done_reason": "stop"}])
    r = await t
    assert r.status == 200, r.status
    assert_clean_end(await r.events(), "from c")
    r.close()
    await close_quietly(nb, nc)
    for r in (a, c):
        r.assert_clean_exit(timeout=10)


# --- f: nats-server down and back ---

async def test_nats_down_mid_chat_and_back(nats):
    """nats-server killed while a chat crosses: in-band error; while it is
    down A answers 503 for B's model (once B is forgotten) and serves its
    own nodes; back on the same port, chats cross again."""
    a = crouter(nats, "a")
    b = crouter(nats, "b")
    na = await TestNode.registered(a, "nd-a", models=("ma",))
    nb = await TestNode.registered(b, "nd-b", models=("mf",), max_concurrent=2)
    await until_seen(a, "mf", node_count=1, free_slots=2)
    t = start_chat(a, "mf", "10.97.0.1")
    q = await nb.recv_type("inference_request")
    await nb.chunk(q["request_id"], "before")
    r = await t
    events = await read_text(r, "before")
    nats.p.kill()
    nats.p.wait()
    events += await r.events(timeout=10)
    r.close()
    assert_inband_error(events)
    # B still has the node's stream: let it end there
    await nb.chunk(q["request_id"], " after", done=True)

    await until_health(a, "b forgotten", lambda h: h["peers"] == 0, timeout=6)
    st, _, body = await http(a.port, "POST", "/api/chat", body=chat_body("mf"),
                             headers={"X-Forwarded-For": "10.97.0.2"})
    assert st == 503 and body == {"detail": "No nodes available with model mf"}, (st, body)
    t = start_chat(a, "ma", "10.97.0.3")
    qa = await na.recv_type("inference_request")
    await na.chunk(qa["request_id"], "own node", done=True)
    r = await t
    assert_clean_end(await r.events(), "own node")
    r.close()

    back = Nats(port=nats.port)
    await until_seen(a, "mf", timeout=15, node_count=1, free_slots=2)
    t = start_chat(a, "mf", "10.97.0.4")
    q2 = await nb.recv_type("inference_request")
    await nb.chunk(q2["request_id"], "crossing ")
    await nb.chunk(q2["request_id"], "again", done=True)
    r = await t
    assert_clean_end(await r.events(), "crossing again")
    r.close()
    await close_quietly(na, nb)
    for r in (a, b):
        r.assert_clean_exit(timeout=10)
    back.close()


async def test_nats_down_before_first_token_fails_over(nats):
    """nats-server killed after B's node got A's chat and before it
    answered: the chat fails over (here to A's own node, once it frees),
    the consumer sees no error, and B cancels the chat at its node."""
    a = crouter(nats, "a", queue_wait=20)
    b = crouter(nats, "b")
    na = await TestNode.registered(a, "nf-a", models=("mw",), max_concurrent=1)
    nb = await TestNode.registered(b, "nf-b", models=("mw",), max_concurrent=1)
    busy = start_chat(a, "mw", "10.97.1.1")
    q_a = await na.recv_type("inference_request")
    busy = await busy
    await until_seen(a, "mw", node_count=2, free_slots=1)
    t = start_chat(a, "mw", "10.97.1.2")
    q_b = await nb.recv_type("inference_request")
    nats.p.kill()
    nats.p.wait()
    m = await nb.recv_type("cancel_request", 6)
    assert m == {"type": "cancel_request", "request_id": q_b["request_id"]}, m
    await na.expect_nothing(0.2)
    await na.chunk(q_a["request_id"], "first", done=True)
    assert_clean_end(await busy.events(), "first")
    busy.close()
    q = await na.recv_type("inference_request")
    assert q["ollama_params"]["messages"] == q_b["ollama_params"]["messages"], (q, q_b)
    await na.chunk(q["request_id"], "rescued", done=True)
    r = await t
    assert r.status == 200, r.status
    assert_clean_end(await r.events(), "rescued")
    r.close()
    await close_quietly(na, nb)
    for r in (a, b):
        r.assert_clean_exit(timeout=10)


# --- g: SIGTERM drain ---

async def test_sigterm_drains_a_crossing_chat(nats):
    """SIGTERM on B with a chat from A in flight: B's summary says draining,
    A's next chat for the model goes to C although B has more free slots,
    the crossing chat ends normally and B then exits 0."""
    a = crouter(nats, "a")
    b = crouter(nats, "b", shutdown_grace=30)
    c = crouter(nats, "c")
    watch = await NatsWatch.open(nats.port)
    nb = await TestNode.registered(b, "dr-b", models=("mg",), max_concurrent=5)
    nc = await TestNode.registered(c, "dr-c", models=("mg",), max_concurrent=1)
    await until_seen(a, "mg", node_count=2, free_slots=6)
    await watch.watch_offers("b")
    t1 = start_chat(a, "mg", "10.98.0.1")
    n, q1 = await recv_req([nb, nc])
    assert n is nb, "A sent the chat to %s, not to B (most free slots)" % n.node_id
    assert len(watch.offers["b"]) == 1, watch.offers
    await nb.chunk(q1["request_id"], "still ")
    r1 = await t1
    events = await read_text(r1, "still ")

    s = await watch.until_summary("b", "not draining", lambda s: s.get("draining") is False)
    b.signal(signal.SIGTERM)
    s = await watch.until_summary("b", "draining", lambda s: s.get("draining") is True,
                                  after=s["seq"])
    # one more of B's summaries: A has had the first one by now
    await watch.until_summary("b", "draining again", lambda s: s.get("draining") is True,
                              after=s["seq"], timeout=3)
    assert b.poll() is None, b.log()
    t2 = start_chat(a, "mg", "10.98.0.2")
    q2 = await nc.recv_type("inference_request")
    await nb.expect_nothing(0.3)
    assert len(watch.offers["b"]) == 1, watch.offers     # the first chat's only

    await nb.chunk(q1["request_id"], "here", done=True)
    events += await r1.events()
    r1.close()
    assert_clean_end(events, "still here")
    code, reason = await nb.expect_close(10)
    assert code == 1001, (code, reason)
    rc = await exited(b, 10)
    log = b.log()
    assert rc == 0, log
    assert "ERROR: AddressSanitizer" not in log and "runtime error:" not in log, log

    await nc.chunk(q2["request_id"], "from c", done=True)
    r2 = await t2
    assert_clean_end(await r2.events(), "from c")
    r2.close()
    await until_health(a, "b forgotten", lambda h: h["peers"] == 1, timeout=6)
    watch.close()
    await nc.close()
    for r in (a, c):
        r.assert_clean_exit(timeout=10)
