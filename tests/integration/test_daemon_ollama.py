#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""idleclawd against Ollama as it really is (issue 20): GPU memory given
back when lending stops, only what can be lent is lent, Ollama's status
codes mean what they say.

A stand-in router sends inference_request frames; fake-ollama (true to
Ollama's source, docs/fake-ollama.md) records what reached it, and its
/api/ps loads and unloads models as keep_alive says.
"""
import datetime
import json
import subprocess
import time
import urllib.request

import daemonlib as dl
from daemonlib import iclib

LLAMA = "llama3.2:latest"
QWEN = "qwen2.5:0.5b"
LLAMA_SIZE = 2019393189


class Env:
    """A stand-in router, fake-ollama and the daemon, registered."""

    def __init__(self, fo_args=("--echo",), before=None, **opts):
        self.r = dl.StandInRouter(features=["models_update", "available"])
        self.fo = dl.FakeOllama(*fo_args)
        if before:
            before(self)
        self.d = dl.Daemon(self.r.url, self.fo.url, **opts).wait_ready()
        self.r.wait_type("register")
        self.r.wait_type("heartbeat")
        self.c = self.d.ctl()

    def post(self, body):
        """POST /api/chat to fake-ollama as the owner would (ollama run)."""
        req = urllib.request.Request(self.fo.url + "/api/chat", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def ps(self):
        with urllib.request.urlopen(self.fo.url + "/api/ps", timeout=10) as r:
            return {m["name"]: m for m in json.loads(r.read())["models"]}

    def unloads(self):
        """Models the daemon asked fake-ollama to unload (keep_alive 0, no
        messages), oldest first."""
        return [b["model"] for b in self.fo.chat_bodies()
                if not b.get("messages") and b.get("keep_alive") == 0]

    def close(self):
        self.c.close()
        self.d.assert_clean_exit()
        self.fo.proc.stop()
        self.r.stop()


make_env = iclib.maker_fixture(
    Env, "make_env(fo_args=(...), before=fn(env), **daemon_opts) -> Env; after a passed "
    "test the daemon must exit cleanly.")


def expires_in(ts):
    """Seconds until an RFC 3339 UTC time of /api/ps."""
    t = datetime.datetime.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp() - time.time()


def chat(e, rid, model=LLAMA, **extra):
    e.r.request(rid, dl.chat_params(model=model, **extra))
    return e.r.wait_reply(rid)


# --- 1. keep_alive, and GPU memory back when lending stops ---

def test_keep_alive_replaces_the_requests(make_env):
    """The router asks keep_alive -1 (pinned until Ollama restarts): Ollama
    gets [daemon] keep_alive, 5m by default, as a Go duration string."""
    e = make_env()
    chat(e, "k1", keep_alive=-1)
    assert e.fo.chat_bodies()[-1]["keep_alive"] == "5m"
    # Ollama's /api/ps then says the model goes in about 5 minutes
    left = expires_in(e.ps()[LLAMA]["expires_at"])
    assert 200 < left < 400, left


def test_keep_alive_number_and_duration(make_env):
    """A plain integer goes as a JSON number of seconds (Ollama answers 400
    to the string "300"), a duration as its string, 0 as the number 0."""
    for value, sent in (("300", 300), ("1h30m", "1h30m"), ("0", 0)):
        e = make_env(keep_alive=value)
        chat(e, "k", keep_alive="-1m")
        assert e.fo.chat_bodies()[-1]["keep_alive"] == sent, (value, e.fo.chat_bodies())
        if sent == 0:   # unloaded after each request
            iclib.wait_for(lambda: LLAMA not in e.ps(), what="unload after the request")
        e.close()


def check_config(*overrides):
    argv = [iclib.binary("daemon/idleclawd"), "--check-config", "--config", "/nonexistent"]
    for o in overrides:
        argv += ["-o", o]
    return subprocess.run(argv, capture_output=True, text=True, timeout=10)


def test_keep_alive_config_checked():
    ok = check_config("daemon.keep_alive=1h30m", "idle.unload=never")
    assert ok.returncode == 0, ok.stderr
    assert "keep_alive = 1h30m" in ok.stdout and "unload = never" in ok.stdout, ok.stdout
    for bad, words in (("daemon.keep_alive=-1", "negative"),
                       ("daemon.keep_alive=-5m", "negative"),
                       ("daemon.keep_alive=5 m", "not a duration"),
                       ("daemon.keep_alive=forever", "not a duration"),
                       ("daemon.keep_alive=", "empty"),
                       ("idle.unload=always", "lent or never")):
        out = check_config(bad)
        assert out.returncode != 0, bad
        assert words in out.stderr, (bad, out.stderr)


def load_qwen_as_owner(e):
    """The owner ran `ollama run qwen2.5:0.5b` before lending began."""
    o = e.post({"model": QWEN, "messages": [], "keep_alive": -1})
    assert o["done_reason"] == "load", o


def test_pause_unloads_what_lending_loaded(make_env):
    """Lending loaded llama3.2; the owner had qwen2.5 loaded.  A pause
    unloads llama3.2 only (keep_alive 0, no messages, as `ollama stop`),
    and the log and status say what came back."""
    e = make_env(before=load_qwen_as_owner)
    chat(e, "a", LLAMA)
    chat(e, "b", QWEN)
    assert set(e.ps()) == {LLAMA, QWEN}
    assert e.c.call("status")["unload"]["lent"] == [LLAMA]
    e.c.call("pause")
    iclib.wait_for(lambda: LLAMA not in e.ps(), what="llama3.2 unloaded")
    assert set(e.ps()) == {QWEN}
    assert e.unloads() == [LLAMA]
    u = iclib.wait_for(lambda: e.c.call("status")["unload"].get("last"), what="status")
    assert u["unloaded"] == [{"model": LLAMA, "size_vram": LLAMA_SIZE}], u
    assert u["freed_vram"] == LLAMA_SIZE and u["still_loaded"] == [], u
    e.d.wait_log("unloaded 1 lent model: %s (%.1f MiB)" % (LLAMA, LLAMA_SIZE / 1048576))
    # lending again: llama3.2 is lent anew and goes again at the next pause
    e.c.call("resume")
    e.r.wait_type("heartbeat", count=len(e.r.of_type("heartbeat")) + 1)
    chat(e, "c", LLAMA)
    e.c.call("pause")
    iclib.wait_for(lambda: e.unloads() == [LLAMA, LLAMA], what="second unload")
    assert QWEN in e.ps()


def test_unload_never(make_env):
    e = make_env(idle={"mode": "always", "unload": "never"})
    chat(e, "a", LLAMA)
    e.c.call("pause")
    e.d.wait_log("unavailable for inference requests: paused")
    time.sleep(1)
    assert e.unloads() == [] and LLAMA in e.ps()
    assert e.c.call("status")["unload"]["mode"] == "never"


def test_unload_waits_for_requests_in_flight(make_env):
    """A pause lets the request in flight finish; the unload follows it."""
    e = make_env(fo_args=("--delay-ms", "100", "--tokens", "40"))
    e.r.request("slow", dl.chat_params())
    iclib.wait_for(lambda: e.r.for_request("slow"), what="first chunk")
    e.c.call("pause")
    time.sleep(0.5)
    assert e.unloads() == [], e.fo.chat_bodies()
    frames = e.r.wait_reply("slow", timeout=30)
    assert frames[-1]["chunk"]["done"] is True, frames[-1]
    iclib.wait_for(lambda: e.unloads() == [LLAMA], what="unload after the request")


def test_sigterm_unloads_before_exit(make_env):
    e = make_env()
    chat(e, "a", LLAMA)
    assert LLAMA in e.ps()
    e.d.assert_clean_exit()
    assert e.unloads() == [LLAMA] and LLAMA not in e.ps()
    assert "unloaded 1 lent model" in e.d.log()


# --- 2. lend only what can be lent ---

def test_cloud_and_embedding_models_not_shared(make_env):
    """Cloud models (by name or by remote_host) and embedding-only models
    are not shared, not even with models_allow = *."""
    models = "%s,gpt-oss:120b-cloud,kimi-k2:cloud,mine:1,nomic-embed-text" % LLAMA
    e = make_env(fo_args=("--models", models, "--cloud", "mine:1",
                          "--model-caps", "nomic-embed-text=embedding"),
                 models_allow="*")
    reg = e.r.of_type("register")[0]
    assert [m["name"] for m in reg["models"]] == [LLAMA], reg
    e.r.request("c", dl.chat_params(model="gpt-oss:120b-cloud"))
    assert e.r.wait_reply("c")[-1]["error"] == "invalid_request"
    assert not any(b["model"] != LLAMA for b in e.fo.chat_bodies())


def test_capabilities_from_tags(make_env):
    """Ollama 0.30 lists capabilities in /api/tags: no /api/show then, and
    an embedding-only model is left out all the same."""
    e = make_env(fo_args=("--ollama-version", "0.30.0", "--models",
                          "%s,nomic-embed-text" % LLAMA,
                          "--model-caps", "nomic-embed-text=embedding"))
    reg = e.r.of_type("register")[0]
    assert [m["name"] for m in reg["models"]] == [LLAMA], reg
    assert e.fo.bodies("/api/show") == []


def test_think_and_tools_per_capabilities(make_env):
    """think is dropped for a model that does not think, and kept only as
    a bool or low/medium/high; tools for a model without them are refused
    before Ollama (which would answer 400)."""
    e = make_env(fo_args=("--echo", "--model-caps", "%s=completion" % LLAMA,
                          "--model-caps", "%s=completion,tools,thinking" % QWEN,
                          "--ollama-version", "0.17.7"))
    sent = {}
    for rid, model, think in (("t1", LLAMA, True), ("t2", QWEN, True), ("t3", QWEN, "high"),
                              ("t4", QWEN, "max"), ("t5", QWEN, 3), ("t6", QWEN, "extreme"),
                              ("t7", QWEN, False)):
        frames = chat(e, rid, model, think=think)
        assert frames[-1]["type"] == "inference_chunk", (rid, frames)
        sent[rid] = e.fo.chat_bodies()[-1].get("think", "absent")
    assert sent == {"t1": "absent", "t2": True, "t3": "high", "t4": "absent",
                    "t5": "absent", "t6": "absent", "t7": False}, sent
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    n = len(e.fo.chat_bodies())
    assert chat(e, "x", LLAMA, tools=tools)[-1]["error"] == "invalid_request"
    assert len(e.fo.chat_bodies()) == n
    assert chat(e, "y", QWEN, tools=tools)[-1]["type"] == "inference_chunk"


# --- Ollama's status codes ---

def error_for(e, rid="s"):
    return chat(e, rid)[-1].get("error")


def test_busy_and_load_failure_are_unavailable(make_env):
    """503 (Ollama's queue is full) and 500 before any byte (the model does
    not fit: the owner's game took the GPU memory) are ollama_unavailable:
    the router fails over without blaming the node."""
    for fault in ("busy", "load-fail"):
        e = make_env(fo_args=("--fault", fault))
        assert error_for(e) == "ollama_unavailable", fault
        e.close()


def test_model_gone_refreshes_the_list(make_env):
    """404: the model was removed; the list is read again at once (not
    at the next model_refresh) and the error is ollama_unavailable."""
    e = make_env(fo_args=("--fault", "unknown-model", "--verbose"), model_refresh=3600)
    before = e.fo.proc.log().count("GET /api/tags")
    assert error_for(e) == "ollama_unavailable"
    iclib.wait_for(lambda: e.fo.proc.log().count("GET /api/tags") > before,
                   what="a new read of /api/tags")


def test_bad_request_is_invalid_request(make_env):
    """400 (here: a think level Ollama 0.12.3 takes only from gpt-oss) is
    the request's fault: invalid_request, which the router does not retry."""
    e = make_env(fo_args=("--echo", "--capabilities", "completion,tools,thinking"))
    assert chat(e, "l", LLAMA, think="low")[-1]["error"] == "invalid_request"


def test_errors_after_streaming_began(make_env):
    """After the first byte it stays ollama_error: an {"error"} line, and a
    stream that ends without "done" (Ollama on repeated tokens)."""
    for fault in ("error-midstream", "no-done"):
        e = make_env(fo_args=("--fault", fault, "--tokens", "5"))
        frames = chat(e, fault)
        assert frames[0]["type"] == "inference_chunk", frames
        assert frames[-1]["error"] == "ollama_error", (fault, frames)
        e.close()


def test_forbidden_host_hint(make_env):
    """403 with an empty body is Ollama refusing the Host header: the log
    says what to change."""
    e = make_env(fo_args=("--fault", "forbidden"))
    assert error_for(e) == "ollama_error"
    e.d.wait_log("OLLAMA_HOST")
    assert "refused the Host header" in e.d.log()
