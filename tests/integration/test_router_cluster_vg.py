#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Two cluster instances under valgrind: a chat that crosses and ends, one
the consumer cancels, one in flight when the node's instance is stopped
(its drain finishes it), then the consumer's instance stopped.  Both exit
0 with no memory error and nothing definitely lost."""
import asyncio
import os
import shutil
import signal
import subprocess

import pytest

import iclib
from routerlib import TestNode, chat, chat_body, http, text_of
from test_router_cluster import NATS, Nats, until_health


class VgInstance:
    """idleclaw-routerd under valgrind as cluster instance `name`."""

    def __init__(self, vg, nats, name):
        self.port = iclib.free_port()
        self.ws_url = "ws://127.0.0.1:%d/ws/node" % self.port
        self.name = name
        argv = [vg, "--quiet", "--error-exitcode=99", "--leak-check=full",
                "--errors-for-leak-kinds=definite",
                iclib.binary("router/idleclaw-routerd"),
                "--config", "/nonexistent/idleclaw.conf",
                "--listen", "127.0.0.1:%d" % self.port,
                "-o", "router.shutdown_grace=20", "-o", "router.nodes_per_ip=10",
                "-o", "cluster.url=" + nats.url, "-o", "cluster.instance=" + name]
        self.p = iclib.Proc("routerd-vg-" + name, argv)
        iclib.wait_port(self.port, timeout=60, proc=self.p)

    def assert_clean(self):
        try:
            rc = self.p.p.wait(60)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s: no exit under valgrind 60 s after SIGTERM"
                                 % self.name) from None
        log = self.p.log()
        assert rc == 0, "%s: exit %s\n%s" % (self.name, rc, log[-4000:])
        assert "definitely lost" not in log and "Invalid" not in log, log[-4000:]


def valgrind_or_skip():
    """valgrind's path; the test skips without valgrind or nats-server, or
    on an ASan build (valgrind does not run those)."""
    vg = shutil.which("valgrind")
    if not vg:
        pytest.skip("valgrind not installed")
    if not os.path.exists(NATS):
        pytest.skip("nats-server is not installed (apt-get install nats-server)")
    with open(iclib.binary("router/idleclaw-routerd"), "rb") as f:
        if b"__asan_init" in f.read():
            pytest.skip("valgrind does not run ASan binaries")
    return vg


def test_valgrind_crossing():
    vg = valgrind_or_skip()
    nats = Nats()
    a = VgInstance(vg, nats, "a")
    b = VgInstance(vg, nats, "b")

    async def go():
        n = await TestNode.registered(b, "vg-b", models=("mv",), max_concurrent=3)
        await until_health(a, "b's node", lambda h: h.get("nodes") == 1, timeout=60)
        resp = await chat(a.port, chat_body("mv"), ip="10.95.0.1")
        q = await n.recv_type("inference_request", timeout=30)
        await n.chunk(q["request_id"], "across", done=True)
        assert text_of(await resp.events(timeout=30)) == "across"
        resp.close()
        # cancelled by the consumer
        resp = await chat(a.port, chat_body("mv"), ip="10.95.0.1")
        q = await n.recv_type("inference_request", timeout=30)
        await n.chunk(q["request_id"], "part")
        await resp.event(30)
        resp.close()
        c = await n.recv_type("cancel_request", timeout=30)
        assert c["request_id"] == q["request_id"], c
        # in flight when b is stopped: b's drain lets it finish
        resp = await chat(a.port, chat_body("mv"), ip="10.95.0.1")
        q = await n.recv_type("inference_request", timeout=30)
        await n.chunk(q["request_id"], "half ")
        b.p.signal(signal.SIGTERM)
        # a's /api/models stops counting b's free slots (b drains)
        for _ in range(300):
            _, _, models = await http(a.port, "GET", "/api/models?verbose=1")
            if models["models"] == [{"name": "mv", "node_count": 1, "free_slots": 0}]:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(models)
        # once a has b's summary saying so, no chat is offered to b
        st, _, body = await http(a.port, "POST", "/api/chat", body=chat_body("mv"),
                                 timeout=60)
        assert st == 503, (st, body)
        await n.chunk(q["request_id"], "whole", done=True)
        assert text_of(await resp.events(timeout=30)) == "half whole"
        resp.close()
        code, _ = await n.expect_close(30)
        assert code == 1001, code

    asyncio.run(asyncio.wait_for(go(), 240))
    b.assert_clean()
    a.p.signal(signal.SIGTERM)
    a.assert_clean()
