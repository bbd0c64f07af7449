#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""End to end through the real router: idleclaw-routerd + idleclawd +
fake-ollama on loopback.  Consumers chat over HTTP (SSE) and through the
daemon's control socket (idleclawd's consume path)."""
import json
import os
import signal
import subprocess
import time

import pytest

import daemonlib as dl
import routerlib
from daemonlib import iclib

MODEL = "llama3.2:latest"


class Net:
    def __init__(self, *fo_args, router_opts=None, **opts):
        self.router = routerlib.Router(**(router_opts or {}))
        self.fo = dl.FakeOllama(*fo_args)
        self.d = dl.Daemon("http://127.0.0.1:%d" % self.router.port, self.fo.url,
                           **opts).wait_ready()
        self.c = self.d.ctl()
        iclib.wait_for(lambda: MODEL in (self.c.call("models").get("models") or []),
                       timeout=15, what="model listed by the router")

    def close(self):
        """The end of a passed test: the daemon exits cleanly, the rest stop."""
        self.c.close()
        self.d.assert_clean_exit()
        self.fo.proc.stop()
        self.router.close()


def run(fn, *fo_args, router_opts=None, **opts):
    """fn(net) on a fresh Net; then everything must exit cleanly."""
    n = Net(*fo_args, router_opts=router_opts, **opts)
    fn(n)
    n.close()


def http_chat(port, body):
    """POST /api/chat with curl; returns (status line, body text)."""
    out = subprocess.run(["curl", "-sN", "-i", "--max-time", "20",
                          "-H", "Content-Type: application/json",
                          "-d", json.dumps(body), "http://127.0.0.1:%d/api/chat" % port],
                         capture_output=True, timeout=30)
    return out.stdout.decode(errors="replace")


def sse_text(raw):
    text = ""
    for line in raw.splitlines():
        if line.startswith("data: {"):
            ch = json.loads(line[6:])["choices"][0]["delta"]
            text += ch.get("content", "")
    return text


def test_consumer_chat_through_router():
    def t(n):
        raw = http_chat(n.router.port, {"model": MODEL, "messages": [
            {"role": "user", "content": "hello through the network"}]})
        assert " 200 " in raw.splitlines()[0], raw
        assert sse_text(raw) == "hello through the network", raw
        assert "data: [DONE]" in raw
        body = n.fo.bodies()[0]
        assert body["model"] == MODEL
        # the router's prompt policy puts its system message first
        assert body["messages"][0]["role"] == "system", body
        assert body["messages"][1:] == [{"role": "user", "content": "hello through the network"}]
        # a model no node has: 503 from the router, nothing reaches Ollama
        raw = http_chat(n.router.port, {"model": "mistral:latest", "messages": [
            {"role": "user", "content": "x"}]})
        assert " 503 " in raw.splitlines()[0], raw
        assert len(n.fo.bodies()) == 1
    run(t, "--echo")


def test_ctl_chat_streams_events():
    def t(n):
        rid = n.c.send("chat", {"model": MODEL, "messages": [
            {"role": "user", "content": "one two three"}]})
        events, reply = n.c.until_reply(rid)
        assert reply["status"] == "ok", (events, reply)
        text = "".join(e["text"] for e in events if e["event"] == "content")
        assert text == "one two three", events
        assert events[-1]["event"] == "done" and events[-1]["finish_reason"], events
        st = n.c.call("status")
        assert st["served"] == 1 and st["router"]["state"] == "connected", st
        assert MODEL in st["network"]["models"], st
        assert st["network"]["health"]["status"] == "healthy", st
        # unknown model: a clear status, not a hang
        rep = n.c.call("chat", {"model": "nope:1", "messages": [
            {"role": "user", "content": "x"}]})
        assert rep["status"] == "unavailable", rep
    run(t, "--echo")


def test_ctl_chat_thinking():
    def t(n):
        rid = n.c.send("chat", {"model": MODEL, "think": True, "messages": [
            {"role": "user", "content": "q"}]})
        events, reply = n.c.until_reply(rid)
        assert reply["status"] == "ok", reply
        thinking = "".join(e["text"] for e in events if e["event"] == "thinking")
        assert thinking == "hmm let me see", events
    run(t, "--think", "hmm let me see", "--reply", "answer")


def test_ctl_cancel_reaches_ollama():
    def t(n):
        rid = n.c.send("chat", {"model": MODEL, "messages": [
            {"role": "user", "content": "long"}]})
        ev = n.c.read()
        assert ev.get("event") == "content", ev
        cid = n.c.send("cancel", {"target": rid})
        replies = {}
        while len(replies) < 2:
            m = n.c.read()
            if "status" in m:
                replies[m["id"]] = m["status"]
        # the chat ends with "cancelled", the cancel with "ok"
        assert replies == {rid: "cancelled", cid: "ok"}, replies
        assert n.fo.wait_cancelled(1) == [MODEL]
        rep = n.c.call("cancel", {"target": rid})
        assert rep["status"] == "not_found", rep
        # the node is free again
        iclib.wait_for(lambda: n.c.call("status")["in_flight"] == 0, what="idle node")
    run(t, "--delay-ms", "100", "--tokens", "200")


def test_ctl_client_vanishes_mid_chat():
    def t(n):
        c2 = n.d.ctl()
        c2.send("chat", {"model": MODEL, "messages": [{"role": "user", "content": "bye"}]})
        ev = c2.read()
        assert ev.get("event") == "content", ev
        c2.close()
        assert n.fo.wait_cancelled(1) == [MODEL]
        assert n.c.call("status")["status"] == "ok"
    run(t, "--delay-ms", "100", "--tokens", "200")


def chat_line(rid, text="x"):
    return json.dumps({"v": 1, "id": rid, "cmd": "chat", "args": {
        "model": MODEL, "messages": [{"role": "user", "content": text}]}}) + "\n"


def cancel_line(rid, target):
    return json.dumps({"v": 1, "id": rid, "cmd": "cancel", "args": {"target": target}}) + "\n"


def test_ctl_chat_start_cancel_races():
    """The consume path's hand-overs between the main thread and the link
    thread, many times over: chats cut off when the router dies, a cancel
    in the same read as its chat (it reaches the link thread right behind
    the start), clients that vanish right after sending chats.  Under ASan
    this caught the main thread reading a request after handing it to the
    link thread, which had freed it (link_http_start).  Every chat must get
    its answer."""
    def t(n):
        # the router dies under running chats: each ends, with a clear status
        s = n.d.ctl()
        rids = [s.send("chat", {"model": MODEL, "messages": [
            {"role": "user", "content": "cut %d" % k}]}) for k in range(3)]
        ends = {}
        m = s.read()
        while m.get("event") != "content":
            if "status" in m:
                ends[m["id"]] = m["status"]
            m = s.read()
        rport = n.router.port
        n.router.stop(signal.SIGKILL)
        while len(ends) < len(rids):
            m = s.read()
            if "status" in m:
                ends[m["id"]] = m["status"]
        assert set(ends) == set(rids) and "ok" not in ends.values(), ends
        s.close()
        n.router.close()
        n.router = routerlib.Router(streams_per_ip=1000, port=rport)
        iclib.wait_for(lambda: MODEL in (n.c.call("models").get("models") or []),
                       timeout=15, what="registered again")
        for i in range(40):
            # chat and cancel in one write: both run before the link thread
            # has even started the request
            s = n.d.ctl()
            s.send_raw((chat_line("a%d" % i) + cancel_line("k%d" % i, "a%d" % i)).encode())
            got = {}
            while len(got) < 2:
                m = s.read()
                if "status" in m:
                    got[m["id"]] = m["status"]
            assert got == {"a%d" % i: "cancelled", "k%d" % i: "ok"}, got
            s.close()
            # a burst, then the client vanishes at once (every second time
            # before the daemon has even read it)
            s = n.d.ctl()
            s.send_raw("".join(chat_line("b%d" % k) for k in range(4)).encode())
            if i % 2:
                time.sleep(0.01)
            s.close()
        assert n.c.call("status")["status"] == "ok"
    run(t, "--delay-ms", "10", "--tokens", "50", max_concurrent=8,
        router_opts={"streams_per_ip": 1000})


def test_router_restart_and_model_change():
    """The real router: restarted on the same port, the daemon registers
    again; a model added to Ollama reaches the router's /api/models."""
    port = iclib.free_port()
    fo = dl.FakeOllama("--listen", "127.0.0.1:%d" % port, "--echo")
    router = routerlib.Router()
    d = dl.Daemon("http://127.0.0.1:%d" % router.port, fo.url).wait_ready()
    c = d.ctl()
    iclib.wait_for(lambda: MODEL in (c.call("models").get("models") or []),
                   timeout=15, what="model at the router")
    rport = router.port
    router.close()
    iclib.wait_for(lambda: c.call("status")["router"]["state"] != "connected",
                   what="link down")
    router = routerlib.Router(port=rport)
    iclib.wait_for(lambda: MODEL in (c.call("models").get("models") or []),
                   timeout=15, what="registered again after the restart")
    raw = http_chat(router.port, {"model": MODEL, "messages": [
        {"role": "user", "content": "after restart"}]})
    assert sse_text(raw) == "after restart", raw
    # a new model at Ollama: models_update (or a new registration)
    fo.proc.stop()
    fo = dl.FakeOllama("--listen", "127.0.0.1:%d" % port, "--echo", "--models",
                       "llama3.2:latest=2019393189,mistral:7b=4000000000")
    iclib.wait_for(lambda: "mistral:7b" in (c.call("models").get("models") or []),
                   timeout=15, what="new model at the router")
    raw = http_chat(router.port, {"model": "mistral:7b", "messages": [
        {"role": "user", "content": "new model"}]})
    assert sse_text(raw) == "new model", raw
    c.close()
    d.assert_clean_exit()


def test_with_idleclawctl():
    """The real idleclawctl against the daemon (skipped if not built)."""
    ctl_bin = iclib.binary("ctl/idleclawctl")
    if not os.path.exists(ctl_bin):
        pytest.skip("idleclawctl not built")

    def ctl(n, *args):
        return subprocess.run([ctl_bin, "--socket", n.d.sock] + list(args),
                              capture_output=True, text=True, timeout=30)

    def t(n):
        out = ctl(n, "chat", "-m", MODEL, "echo me please")
        assert out.returncode == 0 and out.stdout.strip() == "echo me please", out
        out = ctl(n, "--json", "status")
        assert out.returncode == 0, out
        st = json.loads(out.stdout)
        assert st["served"] == 1 and st["router"]["state"] == "connected", st
        assert ctl(n, "pause").returncode == 0
        out = ctl(n, "chat", "-m", MODEL, "nobody home")   # our only node is paused
        assert out.returncode == 8, out                     # network unavailable
        assert ctl(n, "resume").returncode == 0
        iclib.wait_for(lambda: ctl(n, "chat", "-m", MODEL, "back").stdout.strip() == "back",
                       timeout=15, what="chat after resume")
        assert ctl(n, "chat", "-m", "nope:1", "x").returncode == 8
    # the paused node's chat waits in the router's queue for queue_wait,
    # then 503 (the daemon no longer gives up on it after lws's 5 s)
    run(t, "--echo", router_opts={"queue_wait": 2})

