#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A hostile NATS client against a cluster (issue 19, section 3).

A plain-socket client speaking NATS's text protocol to a real nats-server
publishes summaries whose inbox carries CR LF and NATS commands: one would
make the instance that offers it a chat publish a forged node claim in its
own name, one would make the server answer -ERR (after which libnats closes
the connection for good).  Instances take only inboxes of the shape libnats
makes and instance names of [A-Za-z0-9._:-]{1,64}; the rest is dropped and
counted.  And a connection libnats does close (an -ERR injected by a proxy
in front of the server) is made anew."""
import asyncio
import json
import time

from routerlib import Router, TestNode, chat, chat_body, http, text_of, until
from test_router_cluster import nats, until_health  # noqa: F401 (nats: a fixture)

NUID = "ForgedN0000000000000AB"     # 22 of [A-Za-z0-9], as libnats makes them


def crouter(url, name, **opts):
    """An instance (probes off, metrics on) on the NATS server at url."""
    cfg = {"cluster.url": url, "cluster.instance": name, "nodes_per_ip": 100,
           "shutdown_grace": 1, "metrics": "yes"}
    cfg.update(opts)
    r = Router(**cfg)
    r.name = "routerd-" + name
    return r


class RawNats:
    """A NATS client in a few lines: publishes whatever it is given and
    records (subject, payload) of what comes on its subscriptions."""

    async def start(self, port, subs=()):
        self.r, self.w = await asyncio.open_connection("127.0.0.1", port)
        info = await self.r.readline()
        assert info.startswith(b"INFO "), info
        self.w.write(b'CONNECT {"verbose":false,"pedantic":false,"headers":false}\r\n')
        for i, s in enumerate(subs):
            self.w.write(b"SUB %s %d\r\n" % (s.encode(), i + 1))
        self.w.write(b"PING\r\n")
        await self.w.drain()
        self.got = []
        self.tasks = [asyncio.ensure_future(self._read())]
        return self

    async def _read(self):
        while True:
            line = await self.r.readline()
            if not line:
                return
            if line.startswith(b"PING"):
                self.w.write(b"PONG\r\n")
            elif line.startswith(b"MSG "):
                parts = line.decode().split()
                data = await self.r.readexactly(int(parts[-1]) + 2)
                self.got.append((parts[1], data[:-2].decode()))

    def publish(self, subject, payload):
        data = payload.encode()
        self.w.write(b"PUB %s %d\r\n%s\r\n" % (subject.encode(), len(data), data))

    def announce(self, instance, inbox, models=("mq",)):
        """Publish a summary every 0.4 s (as a peer would) until close()."""
        async def tick():
            seq = 0
            while True:
                seq += 1
                self.publish("idleclaw.cluster.summary", summary(instance, inbox, models, seq))
                await self.w.drain()
                await asyncio.sleep(0.4)
        self.tasks.append(asyncio.ensure_future(tick()))

    async def close(self):
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.w.close()


def summary(instance, inbox, models=("mq",), seq=1):
    return json.dumps({"v": 1, "draining": False, "nodes": 1, "instance": instance,
                       "inbox": inbox, "seq": seq,
                       "models": [{"name": m, "nodes": 1, "free": 4} for m in models]})


async def metrics(r):
    st, _, body = await http(r.port, "GET", "/metrics")
    assert st == 200, body
    return body


async def until_rejected(r, at_least):
    async def check():
        return (await metrics(r)).get("cluster_messages_rejected", 0) >= at_least
    await until(check, 10, what="%s: %d rejected" % (r.name, at_least))


async def chat_for_forger(a):
    """A chat for the model only the forger announces: with its inbox taken,
    a offers it there (writing the inbox into its NATS stream)."""
    try:
        st, _, _ = await asyncio.wait_for(
            http(a.port, "POST", "/api/chat", chat_body("mq"), timeout=8), 8)
        return st
    except asyncio.TimeoutError:
        return None


async def crossing_chat(a, node, text):
    """A chat on a for node's model (on another instance): served there."""
    t = asyncio.ensure_future(chat(a.port, chat_body("mb", text), ip="10.77.0.1"))
    q = await node.recv_type("inference_request", 10)
    assert q["ollama_params"]["messages"][-1]["content"] == text, q
    await node.chunk(q["request_id"], "served ")
    await node.chunk(q["request_id"], "across", done=True)
    resp = await t
    assert resp.status == 200, resp.status
    assert text_of(await resp.events()) == "served across"
    resp.close()


async def test_forged_inbox_publishes_no_claim(nats):
    """An inbox "_INBOX.x 0 CR LF CR LF PUB idleclaw.cluster.node ..." would,
    written into a's stream when a offers it a chat, publish a claim for
    b's node in a's name, and b would close that node."""
    a = crouter(nats.url, "a", queue_wait=2)
    b = crouter(nats.url, "b")
    victim = await TestNode.registered(b, "victim-1", models=("mb",), max_concurrent=2)
    watch = await RawNats().start(nats.port, subs=("idleclaw.cluster.node",))
    await until_health(a, "b and its node", lambda h: h["peers"] == 1 and h["nodes"] == 1)
    claim = json.dumps({"node_id": "victim-1", "instance": "a"})
    inbox = "_INBOX.x 0\r\n\r\nPUB idleclaw.cluster.node %d\r\n%s\r\nPUB _INBOX.%s" % (
        len(claim), claim, NUID)
    forger = await RawNats().start(nats.port)
    forger.announce("forger", inbox)
    await asyncio.sleep(1.5)                # a few of its summaries
    await chat_for_forger(a)
    await asyncio.sleep(1.0)
    forged = [p for s, p in watch.got if json.loads(p).get("instance") == "a"]
    assert forged == [], forged
    await victim.expect_nothing(0.5)        # not closed
    h = await until_health(b, "its node", lambda h: h["nodes_local"] == 1)
    await crossing_chat(a, victim, "still here")
    for r in (a, b):
        await until_rejected(r, 1)
    h = await until_health(a, "the forger not a peer", lambda h: h["peers"] == 1)
    assert h["models_cluster"] == 1, h     # mb only: the forger's mq not taken
    for c in (forger, watch):
        await c.close()
    await victim.close()
    for r in (a, b):
        r.assert_clean_exit()


async def test_forged_inbox_cuts_no_instance_off(nats):
    """An inbox that would make the server answer -ERR to a (libnats then
    closes for good): after the forged summaries and a chat, a is still in
    the cluster, here for a chat that crosses to b."""
    a = crouter(nats.url, "a", queue_wait=2)
    b = crouter(nats.url, "b")
    n = await TestNode.registered(b, "b-1", models=("mb",), max_concurrent=2)
    await until_health(a, "b and its node", lambda h: h["peers"] == 1 and h["nodes"] == 1)
    forger = await RawNats().start(nats.port)
    # "PUB <inbox> 0", then a line no NATS operation starts: the server
    # answers -ERR 'Unknown Protocol Operation' and closes
    forger.announce("forger", "_INBOX.%s 0\r\n\r\nNOT-A-NATS-COMMAND" % NUID)
    await asyncio.sleep(1.5)                # a few of its summaries
    await chat_for_forger(a)
    # a connection that was closed would by now have lost b (3 periods)
    await asyncio.sleep(3.5)
    await until_health(a, "b still a peer", lambda h: h["peers"] == 1 and h["nodes"] == 1,
                       timeout=2)
    await crossing_chat(a, n, "after the forgery")
    await until_rejected(a, 1)
    await forger.close()
    await n.close()
    for r in (a, b):
        r.assert_clean_exit()


async def test_names_and_inboxes_at_their_limits(nats):
    """Instance names of 64 characters are taken, of 65 not; inboxes of 22
    NUID characters are taken, of 21 or 23, or with a character out of
    [A-Za-z0-9], not.  Every one refused is counted."""
    a = crouter(nats.url, "a")
    p = await RawNats().start(nats.port)
    cases = [("x" * 64, "_INBOX." + NUID, True),
             ("host-1.example:8080", "_INBOX." + NUID, True),
             ("y" * 65, "_INBOX." + NUID, False),
             ("", "_INBOX." + NUID, False),
             ("sp ace", "_INBOX." + NUID, False),
             ("nl\n", "_INBOX." + NUID, False),
             ("i21", "_INBOX." + NUID[:21], False),
             ("i23", "_INBOX." + NUID + "C", False),
             ("idot", "_INBOX." + NUID[:21] + ".", False),
             ("istar", "_INBOX." + NUID[:21] + "*", False),
             ("iprefix", "_INBOXX" + NUID, False)]
    before = (await metrics(a))["cluster_messages_rejected"]
    for seq, (name, inbox, _) in enumerate(cases):
        p.publish("idleclaw.cluster.summary", summary(name, inbox, seq=seq + 1))
    await p.w.drain()
    refused = sum(1 for c in cases if not c[2])
    await until_rejected(a, before + refused)
    h = await until_health(a, "the two good ones", lambda h: h["peers"] == 2)
    await asyncio.sleep(0.3)
    assert (await metrics(a))["cluster_messages_rejected"] == before + refused
    assert (await health_of(a))["peers"] == 2, h
    # a claim in a bad name is refused too
    p.publish("idleclaw.cluster.node", json.dumps({"node_id": "n-1", "instance": "a b"}))
    await p.w.drain()
    await until_rejected(a, before + refused + 1)
    await p.close()
    a.assert_clean_exit()


async def health_of(r):
    st, _, body = await http(r.port, "GET", "/health")
    assert st == 200, body
    return body


class ErrProxy:
    """In front of nats-server: passes both ways, whole server messages at a
    time, and on inject() tells every client "-ERR 'Unknown Protocol
    Operation'" as the server does after a forged command."""

    async def start(self, upstream):
        self.upstream = upstream
        self.clients = []
        self.accepted = 0
        self.tasks = []
        self.server = await asyncio.start_server(self._conn, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        self.url = "nats://127.0.0.1:%d" % self.port
        return self

    async def _conn(self, cr, cw):
        self.accepted += 1
        ur, uw = await asyncio.open_connection("127.0.0.1", self.upstream)
        self.clients.append(cw)
        self.tasks.append(asyncio.ensure_future(self._up(cr, uw)))
        self.tasks.append(asyncio.ensure_future(self._down(ur, cw)))

    async def _up(self, cr, uw):
        try:
            while True:
                data = await cr.read(65536)
                if not data:
                    break
                uw.write(data)
                await uw.drain()
        except (ConnectionError, OSError):
            pass
        uw.close()

    async def _down(self, ur, cw):
        try:
            while True:
                line = await ur.readline()
                if not line:
                    break
                if line.startswith((b"MSG ", b"HMSG ")):
                    line += await ur.readexactly(int(line.split()[-1]) + 2)
                if cw.is_closing():
                    break
                cw.write(line)
                await cw.drain()
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        cw.close()

    def inject(self):
        for cw in self.clients:
            if not cw.is_closing():
                cw.write(b"-ERR 'Unknown Protocol Operation'\r\n")
                cw.close()

    async def close(self):
        self.server.close()
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def test_closed_connection_is_made_anew(nats):
    """libnats closes a connection for good after an -ERR: the instance
    makes a new one (after 0.5 s), and stays in the cluster."""
    proxy = await ErrProxy().start(nats.port)
    a = crouter(proxy.url, "a")
    b = crouter(nats.url, "b")
    n = await TestNode.registered(b, "b-1", models=("mb",), max_concurrent=2)
    await until_health(a, "b and its node", lambda h: h["peers"] == 1 and h["nodes"] == 1)
    assert proxy.accepted == 1, proxy.accepted
    t0 = time.monotonic()
    proxy.inject()
    await until(lambda: proxy.accepted == 2, 10, what="a new connection")
    assert time.monotonic() - t0 < 5
    # past three periods: a cut-off a would have forgotten b
    await asyncio.sleep(3.5)
    await until_health(a, "b still a peer", lambda h: h["peers"] == 1 and h["nodes"] == 1,
                       timeout=2)
    await crossing_chat(a, n, "after the -ERR")
    assert "NATS connection was closed" in a.log(), a.log()
    # and again: not only once
    proxy.inject()
    await until(lambda: proxy.accepted == 3, 10, what="another new connection")
    await until_health(b, "a back", lambda h: h["peers"] == 1)
    await crossing_chat(a, n, "after the second -ERR")
    await n.close()
    for r in (a, b):
        r.assert_clean_exit()
    await proxy.close()

