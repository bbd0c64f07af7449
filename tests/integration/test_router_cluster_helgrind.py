#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A cluster instance under valgrind's helgrind (issue 21): the libnats
threads hand messages to the lws thread, so every counter they share must
be locked or one thread's alone.  Instance a runs under helgrind through
summaries of a peer, node claims both ways, malformed summaries and claims,
a flood that overflows its queue (counted by the client's threads while
the lws thread counts the malformed ones), a chat that crosses to the
peer's node, and a drain.  It exits 0 and helgrind reports no possible
data race (helgrind.supp beside this file: what is suppressed, and why).

Helgrind orders accesses by the locks taken between them: the old unlocked
`dropped++` on the lws thread shows only when a full queue is counted
between the lws thread's taking of the queue and its count, which the
flood makes likely, not certain.  The signal handler that set a flag on
whichever thread the signal hit (a libnats one, as often as not) showed
every time."""
import asyncio
import json
import os
import signal
import subprocess

import iclib
from routerlib import TestNode, chat, chat_body, http, text_of
from test_router_cluster import Nats, cluster_router, until_health
from test_router_cluster_forged import RawNats
from test_router_cluster_vg import valgrind_or_skip

SUPP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "helgrind.supp")
# Flood: malformed summaries, each cut short after PAD bytes (the whole of
# it is parsed before it fails), more bytes in all than the queue holds.
PAD = 200 * 1024
FLOOD = 400


class HgInstance(iclib.Proc):
    """idleclaw-routerd under helgrind as cluster instance `name`."""

    def __init__(self, vg, nats, name):
        self.port = iclib.free_port()
        self.name = name
        argv = [vg, "--tool=helgrind", "--suppressions=" + SUPP,
                "--history-level=approx",
                iclib.binary("router/idleclaw-routerd"),
                "--config", "/nonexistent/idleclaw.conf",
                "--listen", "127.0.0.1:%d" % self.port,
                "-o", "router.shutdown_grace=20", "-o", "router.nodes_per_ip=10",
                "-o", "router.metrics=yes", "-o", "trust.probe_interval=0",
                "-o", "cluster.url=" + nats.url, "-o", "cluster.instance=" + name]
        super().__init__("routerd-hg-" + name, argv)
        iclib.wait_port(self.port, timeout=90, proc=self)

    @property
    def ws_url(self):
        return "ws://127.0.0.1:%d/ws/node" % self.port

    def assert_no_race(self):
        try:
            rc = self.p.wait(120)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s: no exit under helgrind 120 s after SIGTERM"
                                 % self.name) from None
        log = self.log()
        assert rc == 0, "%s: exit %s\n%s" % (self.name, rc, log[-6000:])
        assert "ERROR SUMMARY" in log, log[-2000:]     # helgrind ran to the end
        i = log.find("Possible data race")
        assert i < 0, log[max(0, i - 2000):i + 6000]


async def metric(r, key):
    st, _, body = await http(r.port, "GET", "/metrics", timeout=60)
    assert st == 200, body
    return body.get(key, 0)


def test_helgrind_cluster():
    vg = valgrind_or_skip()
    nats = Nats()
    a = HgInstance(vg, nats, "a")
    b = cluster_router(nats, "b", shutdown_grace=5)

    async def go():
        # b's summaries (with a node) reach a
        nb = await TestNode.registered(b, "hg-b", models=("mh",), max_concurrent=3)
        await until_health(a, "b's node", lambda h: h.get("nodes") == 1, timeout=90)
        # a claim from a's thread to b, then one from b's to a
        moved = await TestNode.connect(a, "hg-moved")
        await moved.send({"type": "register", "node_id": "hg-moved", "max_concurrent": 1,
                          "models": [{"name": "mh-moved", "size": 1000}],
                          "ollama_version": "0.6.2"})
        assert (await moved.recv(60))["type"] == "registered"
        await until_health(b, "a's node", lambda h: h.get("nodes") == 2, timeout=60)
        again = await TestNode.registered(b, "hg-moved", models=("mh-moved",))
        code, _ = await moved.expect_close(60)
        assert code is not None
        # a chat that crosses to b's node and back
        resp = await chat(a.port, chat_body("mh", "across?"), ip="10.96.0.1")
        q = await nb.recv_type("inference_request", timeout=60)
        await nb.chunk(q["request_id"], "served ")
        await nb.chunk(q["request_id"], "across", done=True)
        assert resp.status == 200, resp.status
        assert text_of(await resp.events(timeout=60)) == "served across"
        resp.close()
        # malformed summaries and claims: counted on a's lws thread
        raw = await RawNats().start(nats.port)
        raw.publish("idleclaw.cluster.summary", json.dumps({"instance": "x"}))
        raw.publish("idleclaw.cluster.node", json.dumps({"node_id": 1}))
        await raw.w.drain()
        # a flood its queue cannot hold: counted on the client's thread
        # while the lws thread parses and counts the ones it took
        cut = ('{"instance":"flood","pad":"' + "p" * PAD).encode()
        for _ in range(FLOOD):
            raw.w.write(b"PUB idleclaw.cluster.summary %d\r\n%s\r\n" % (len(cut), cut))
            await raw.w.drain()
        await raw.close()
        for _ in range(600):
            if await metric(a, "cluster_messages_dropped") >= 2:
                break
            await asyncio.sleep(0.5)
        else:
            raise AssertionError("a counted no malformed message")
        for x in (nb, again):
            await x.close()

    asyncio.run(asyncio.wait_for(go(), 400))
    a.signal(signal.SIGTERM)
    a.assert_no_race()
    b.assert_clean_exit()
