#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""idleclawd's link to the router: heartbeats, availability, model list
changes, reconnects, Ollama going away and coming back.

Uses a stand-in router (python3-websockets) to script the public router's
behaviour, including one that advertises no extensions.
"""
import json
import socket
import threading
import time

import daemonlib as dl
from daemonlib import iclib
from standinrouter import DONE, SseRouter, content_event, send, start_sse

MODEL = "llama3.2:latest"


def fake_on(port, *args):
    return dl.FakeOllama("--listen", "127.0.0.1:%d" % port, *args)


def cleanup(d, fo, r):
    """The end of a passed test: the daemon exits cleanly, the rest stop."""
    d.assert_clean_exit()
    if fo:
        fo.proc.stop()
    r.stop()


class ChatRouter(SseRouter):
    """The router's HTTP side for the consume path (idleclawctl chat):
    POST /api/chat answers, after hold_s seconds of silence (a chat waiting
    in the router's queue), an SSE stream of `events` events of `size`
    content bytes each, then [DONE].  Its /ws/node refuses upgrades."""

    def __init__(self, events=3, size=5, hold_s=0.0):
        self.events, self.size, self.hold_s = events, size, hold_s
        self.chats = 0
        super().__init__()

    def post(self, h, body):
        self.chats += 1
        self.stop_ev.wait(self.hold_s)
        start_sse(h)
        ev = content_event("a" * self.size)
        send(h, *([ev] * self.events + [DONE]))


def chat_args(text="x"):
    return {"model": MODEL, "messages": [{"role": "user", "content": text}]}


def test_chat_client_not_reading_is_dropped():
    """A control client that sends a chat and never reads: once more than
    IC_CONTROL_OUTBUF_MAX of its events wait, the daemon drops it, from
    inside the code that was sending it the chat's events.  The chat must
    end there and then (this was a use after free in consume.c: the client's
    chats were freed under the feet of the SSE parser feeding one of them),
    and the daemon serves others as before."""
    limit = dl.LIMITS["IC_CONTROL_OUTBUF_MAX"]
    r = ChatRouter(events=2 * limit // 8000, size=8000)
    fo = dl.FakeOllama("--echo")
    d = dl.Daemon(r.url, fo.url).wait_ready()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(d.sock)
    s.sendall((json.dumps({"v": 1, "id": "big", "cmd": "chat",
                           "args": chat_args()}) + "\n").encode())
    d.wait_log("does not read its replies", timeout=20)
    d.wait_log("chat big: client went away; cancelled")
    s.close()
    c = d.ctl()
    assert c.call("status")["status"] == "ok"
    r.events, r.size = 3, 5
    events, rep = c.until_reply(c.send("chat", chat_args()))
    assert rep["status"] == "ok", rep
    assert "".join(e["text"] for e in events if e["event"] == "content") == "aaaaa" * 3
    c.close()
    d.assert_clean_exit()


def test_chat_waits_while_the_router_queues():
    """The router may hold a chat in its queue, silent, for up to
    IC_QUEUE_WAIT_DEFAULT_S before the reply begins.  lws's own default
    timeout (5 s) used to cut such chats off ("connection closed before the
    reply was complete"); router_timeout is what limits the silence."""
    r = ChatRouter(events=2, size=3, hold_s=6.5)
    fo = dl.FakeOllama("--echo")
    d = dl.Daemon(r.url, fo.url, router_timeout=30).wait_ready()
    c = dl.Ctl(d.sock, timeout=20)
    t0 = time.monotonic()
    events, rep = c.until_reply(c.send("chat", chat_args()))
    assert rep["status"] == "ok", rep
    assert time.monotonic() - t0 >= 6.5
    assert "".join(e["text"] for e in events if e["event"] == "content") == "aaaaaa"
    c.close()
    d.assert_clean_exit()


def test_registration_and_upgrade_waits():
    """A router that upgrades but never answers the register, and one that
    accepts the TCP connection but never answers the upgrade: after
    NODE_REGISTER_WAIT_S the daemon closes the session, says why in status
    and tries again.  (Both daemons run at once: one wait for both.)"""
    wait = dl.LIMITS["NODE_REGISTER_WAIT_S"]
    assert wait < 25, wait
    mute = dl.StandInRouter(reply_registered=False)
    silent = iclib.track(socket.socket())
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    accepted = []

    def accept():           # keeps upgrade requests (not status's GETs) open
        while True:
            try:
                conn = silent.accept()[0]
                t = time.monotonic()
                conn.settimeout(5)
                if b"/ws/node" in conn.recv(4096):
                    accepted.append((iclib.track(conn), t))
            except OSError:
                return
    threading.Thread(target=accept, daemon=True).start()
    fo = dl.FakeOllama("--echo")
    d1 = dl.Daemon(mute.url, fo.url).wait_ready()
    silent_url = "http://127.0.0.1:%d" % silent.getsockname()[1]
    d2 = dl.Daemon(silent_url, fo.url).wait_ready()
    mute.wait_type("register")
    t1 = mute.first_arrival["register"]
    iclib.wait_for(lambda: accepted, what="a connection to the silent router")
    t2 = accepted[0][1]
    c1 = d1.ctl()
    # halfway through the wait (timed from when the register and the
    # upgrade arrived, not from when this thread saw them: on a loaded
    # machine that can be seconds later), nothing has been given up
    time.sleep(max(0.0, min(t1, t2) + wait / 2 - time.monotonic()))
    assert len(mute.of_type("register")) == 1 and len(accepted) == 1
    assert c1.call("status")["router"]["state"] == "registering"
    assert "no WebSocket session" not in d2.log()
    regs = mute.wait_type("register", count=2, timeout=wait / 2 + 10)
    assert regs[1]["_conn"] == 2
    iclib.wait_for(lambda: len(accepted) >= 2, timeout=wait / 2 + 10,
                   what="a second connection")
    assert accepted[1][1] - t2 >= wait - 1, (accepted[1][1] - t2, wait)
    err1 = c1.call("status")["router"].get("last_error") or ""
    assert "did not confirm the registration in %d s" % wait in err1, err1
    # (d2's status would wait CONSUME_GET_TIMEOUT_S for the silent router)
    assert "cannot register with %s: no WebSocket session after %d s" % (
        silent_url, wait) in d2.log(), d2.log()
    for d in (d1, d2):      # said once, as a warning
        assert d.log().count("warning: cannot register") == 1, d.log()
    c1.close()
    d1.assert_clean_exit()
    d2.assert_clean_exit()


def test_ollama_down_then_up():
    port = iclib.free_port()
    r = dl.StandInRouter(features=["models_update"])
    d = dl.Daemon(r.url, "127.0.0.1:%d" % port, max_concurrent=1).wait_ready()
    fo = None
    c = d.ctl()
    st = iclib.wait_for(lambda: (lambda s: s["ollama"]["state"] == "down" and s)(
        c.call("status")), what="ollama down in status")
    assert st["available"] is False and st["reason"] == "ollama down", st
    assert "cannot connect" in st["ollama"]["last_error"], st
    assert r.of_type("register") == []      # nothing to register yet
    assert d.poll() is None                  # never exits because Ollama is down
    fo = fake_on(port, "--echo")
    reg = r.wait_type("register", timeout=15)[0]
    assert [m["name"] for m in reg["models"]] == [MODEL, "qwen2.5:0.5b"]
    hb = r.wait_type("heartbeat")[-1]
    assert hb["available"] is True and hb["active_requests"] == 0
    # Ollama goes away while registered: withdraw, keep the link
    fo.proc.stop()
    fo = None
    iclib.wait_for(lambda: any(h["available"] is False and h["active_requests"] == 1
                               for h in r.of_type("heartbeat")), timeout=15,
                   what="heartbeat available:false")
    assert "Ollama at" in d.log() and "is unavailable" in d.log()
    # a request now is refused without trying Ollama
    r.request("q", dl.chat_params())
    assert r.wait_reply("q")[-1]["error"] == "ollama_unavailable"
    fo = fake_on(port, "--echo")
    iclib.wait_for(lambda: r.of_type("heartbeat")[-1]["available"] is True, timeout=15,
                   what="available again")
    r.request("q2", dl.chat_params(content="back"))
    assert dl.text_of(r.wait_reply("q2")) == "back"
    assert len(r.of_type("register")) == 1  # the link stayed up
    # state changes are logged once, not every retry
    assert d.log().count("is unavailable") <= 2, d.log()
    c.close()
    cleanup(d, fo, r)


def test_connection_refused_is_ollama_unavailable():
    """Ollama vanished since the last model refresh: the request gets
    ollama_unavailable, and the node withdraws at once."""
    fo = dl.FakeOllama("--echo")
    r = dl.StandInRouter()
    d = dl.Daemon(r.url, fo.url, model_refresh=3600).wait_ready()
    r.wait_type("heartbeat")
    fo.proc.stop()
    r.request("gone", dl.chat_params())
    assert r.wait_reply("gone")[-1]["error"] == "ollama_unavailable"
    iclib.wait_for(lambda: r.of_type("heartbeat")[-1]["available"] is False,
                   timeout=5, what="withdrawn without waiting for model_refresh")
    cleanup(d, None, r)


def test_pause_resume():
    r = dl.StandInRouter(features=["models_update", "available"])
    fo = dl.FakeOllama("--echo")
    d = dl.Daemon(r.url, fo.url, max_concurrent=3).wait_ready()
    r.wait_type("heartbeat")
    c = d.ctl()
    rep = c.call("pause")
    assert rep["status"] == "ok" and rep["available"] is False, rep
    iclib.wait_for(lambda: r.of_type("heartbeat")[-1]["available"] is False,
                   what="heartbeat available:false")
    hb = r.of_type("heartbeat")[-1]
    assert hb["active_requests"] == 3, hb   # = max_concurrent: nobody routes to us
    st = c.call("status")
    assert st["reason"] == "paused" and st["paused_until"] == 0, st
    r.request("p", dl.chat_params())
    assert r.wait_reply("p")[-1]["error"] == "ollama_unavailable"
    assert fo.bodies() == []
    assert c.call("resume")["available"] is True
    iclib.wait_for(lambda: r.of_type("heartbeat")[-1]["available"] is True,
                   what="heartbeat available:true")
    assert r.of_type("heartbeat")[-1]["active_requests"] == 0
    r.request("p2", dl.chat_params(content="again"))
    assert dl.text_of(r.wait_reply("p2")) == "again"
    # a timed pause ends by itself (any heartbeat since: the pause may
    # be over again before a loaded test thread looks at the last one)
    n = len(r.of_type("heartbeat"))
    rep = c.call("pause", {"seconds": 1})
    assert rep["status"] == "ok" and rep["paused_until"] > 0, rep
    iclib.wait_for(lambda: any(h["available"] is False for h in r.of_type("heartbeat")[n:]),
                   what="paused")
    iclib.wait_for(lambda: r.of_type("heartbeat")[-1]["available"] is True,
                   timeout=5, what="timed pause over")
    c.close()
    cleanup(d, fo, r)


def test_models_update_and_reregister():
    for features in (["models_update"], None):
        port = iclib.free_port()
        r = dl.StandInRouter(features=features)
        fo = fake_on(port, "--models", "a:1=10,b:2=20")
        # a host name, resolved by the daemon (IPv4 first)
        d = dl.Daemon(r.url, "localhost:%d" % port, models_deny="b:*").wait_ready()
        reg = r.wait_type("register")[0]
        assert reg["models"] == [{"name": "a:1", "size": 10,
                                 "capabilities": ["completion", "tools"]}], reg
        fo.proc.stop()
        fo = fake_on(port, "--models", "a:1=10,c:3=30,b:2=20")
        if features:
            up = r.wait_type("models_update", timeout=15)[0]
            assert [m["name"] for m in up["models"]] == ["a:1", "c:3"], up
            assert len(r.of_type("register")) == 1
        else:
            # the public router learns models only at registration
            regs = r.wait_type("register", count=2, timeout=15)
            assert [m["name"] for m in regs[1]["models"]] == ["a:1", "c:3"]
            assert regs[1]["_conn"] == 2
            assert r.of_type("models_update") == []
        cleanup(d, fo, r)


def test_reconnect_after_router_restart():
    fo = dl.FakeOllama("--echo")
    r = dl.StandInRouter(features=["models_update"])
    port = r.port
    d = dl.Daemon(r.url, fo.url).wait_ready()
    r.wait_type("heartbeat")
    r.stop()
    c = d.ctl()
    iclib.wait_for(lambda: c.call("status")["router"]["state"] != "connected",
                   what="link down in status")
    time.sleep(1)
    r = dl.StandInRouter(features=["models_update"], port=port)
    r.wait_type("register", timeout=15)
    r.request("again", dl.chat_params(content="reconnected"))
    assert dl.text_of(r.wait_reply("again")) == "reconnected"
    assert c.call("status")["router"]["state"] == "connected"
    assert d.log().count("lost the connection") == 1
    c.close()
    cleanup(d, fo, r)


def test_lost_link_stops_generation():
    """Requests of a session that ended are dropped: Ollama's connection
    is closed (nobody could receive the answer), and the node reconnects."""
    fo = dl.FakeOllama("--delay-ms", "100", "--tokens", "100")
    r = dl.StandInRouter()
    d = dl.Daemon(r.url, fo.url).wait_ready()
    r.wait_type("heartbeat")
    r.request("lost", dl.chat_params())
    iclib.wait_for(lambda: r.for_request("lost"), what="first chunk")
    r.close_conn(1001, "going away")
    assert fo.wait_cancelled(1) == [MODEL]
    r.wait_type("register", count=2, timeout=15)
    hb = r.wait_type("heartbeat", conn=2)[-1]
    assert hb["active_requests"] == 0, hb
    cleanup(d, fo, r)


def test_policy_close_is_reported_and_retried_slowly():
    fo = dl.FakeOllama("--echo")
    r = dl.StandInRouter()
    r.on_register = (1008, "too many nodes from this IP")
    d = dl.Daemon(r.url, fo.url, reconnect_max=3).wait_ready()
    r.wait_type("register")
    # the close follows the register at once; t0 after the status polls
    # below could be late enough to make a correct 3 s wait look short
    t0 = time.monotonic()
    c = d.ctl()
    st = iclib.wait_for(lambda: (lambda s: s["router"].get("last_error") and s)(
        c.call("status")), what="last_error")
    assert "1008" in st["router"]["last_error"], st
    assert "too many nodes from this IP" in st["router"]["last_error"], st
    r.wait_type("register", count=2, timeout=10)
    assert time.monotonic() - t0 >= 2.0   # reconnect_max, not the short backoff
    assert d.log().count("warning: cannot register") == 1, d.log()   # once, not per attempt
    c.close()
    cleanup(d, fo, r)


def test_router_frame_limits():
    """Garbage from the router is ignored; a message of IC_WS_MESSAGE_MAX
    bytes is read, one byte more closes the link (1009), which comes back."""
    n = dl.LIMITS["IC_WS_MESSAGE_MAX"]
    fo = dl.FakeOllama("--echo")
    r = dl.StandInRouter()
    d = dl.Daemon(r.url, fo.url).wait_ready()
    r.wait_type("heartbeat")
    r.send("not json at all")
    r.send('{"type":"inference_request"}')          # no request_id: nothing to answer
    r.send('{"type":"something_new","x":1}')
    r.send(b"\x00\x01binary")
    def padded(size):
        head = '{"type":"future_message","pad":"'
        return head + "a" * (size - len(head) - 2) + '"}'
    r.send(padded(n))
    r.request("ok", dl.chat_params(content="still here"))
    assert dl.text_of(r.wait_reply("ok")) == "still here"
    assert len(r.of_type("register")) == 1
    r.send(padded(n + 1))
    regs = r.wait_type("register", count=2, timeout=15)
    assert regs[1]["_conn"] == 2
    assert "over %d bytes" % n in d.log()
    cleanup(d, fo, r)


def test_unresolvable_router_reported():
    fo = dl.FakeOllama("--echo")
    d = dl.Daemon("http://nonexistent.invalid", fo.url).wait_ready()
    c = d.ctl()
    st = iclib.wait_for(lambda: (lambda s: s["router"].get("last_error") and s)(
        c.call("status")), timeout=20, what="router error in status")
    assert "cannot resolve nonexistent.invalid" in st["router"]["last_error"], st
    assert st["router"]["state"] == "reconnecting", st
    assert st["available"] is True      # Ollama is fine; only the link is down
    c.close()
    d.assert_clean_exit()


def test_model_count_limit():
    """At most IC_MODELS_PER_NODE_MAX models are registered (by name)."""
    n = dl.LIMITS["IC_MODELS_PER_NODE_MAX"]
    for count in (n, n + 1):
        names = ["m%02d:latest" % i for i in range(count)]
        r = dl.StandInRouter()
        fo = dl.FakeOllama("--models", ",".join(names))
        d = dl.Daemon(r.url, fo.url).wait_ready()
        reg = r.wait_type("register")[0]
        assert [m["name"] for m in reg["models"]] == names[:n], reg
        # a request for the model left out is refused
        r.wait_type("heartbeat")
        r.request("x", dl.chat_params(model=names[-1]))
        frames = r.wait_reply("x")
        if count > n:
            assert frames[-1]["error"] == "invalid_request", frames
        else:
            assert frames[-1]["chunk"]["done"] is True, frames
        cleanup(d, fo, r)

