#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""idleclawd learns each shared model's capabilities from Ollama's
POST /api/show, asks once per model and digest, and adds them to its
register and models_update entries as "capabilities"."""
import time

from daemonlib import iclib


def fake_on(fake_ollama, port, *args):
    return fake_ollama("--listen", "127.0.0.1:%d" % port, *args)


def shows(fo):
    return sorted(b["model"] for b in fo.bodies("/api/show"))


def test_register_carries_capabilities(daemon, stand_in_router, fake_ollama):
    port = iclib.free_port()
    r = stand_in_router(features=["models_update"])
    fo = fake_on(fake_ollama, port, "--models", "a:1=10,b:2=20", "--capabilities",
                 "completion,tools,thinking,vision")
    d = daemon(r.url, "127.0.0.1:%d" % port).wait_ready()
    reg = r.wait_type("register")[0]
    assert reg["models"] == [
        {"name": "a:1", "size": 10,
         "capabilities": ["completion", "tools", "thinking", "vision"]},
        {"name": "b:2", "size": 20,
         "capabilities": ["completion", "tools", "thinking", "vision"]}], reg
    assert shows(fo) == ["a:1", "b:2"], fo.records()
    fo.proc.stop()
    # a:1 unchanged (same digest): the cache answers, even though this
    # Ollama would say otherwise; b:2 pulled anew (another digest) and
    # c:3 new: only these two are asked
    fo = fake_on(fake_ollama, port, "--models", "a:1=10,b:2=21,c:3=30",
                 "--capabilities", "completion")
    up = r.wait_type("models_update", timeout=15)[-1]
    assert up["models"] == [
        {"name": "a:1", "size": 10,
         "capabilities": ["completion", "tools", "thinking", "vision"]},
        {"name": "b:2", "size": 21, "capabilities": ["completion"]},
        {"name": "c:3", "size": 30, "capabilities": ["completion"]}], up
    assert shows(fo) == ["b:2", "c:3"], fo.records()
    d.assert_clean_exit()


def test_old_ollama_without_capabilities(daemon, stand_in_router, fake_ollama):
    """No "capabilities" in /api/show: the entries carry none (the router
    then goes by the name), and /api/show failing does not stop sharing."""
    r = stand_in_router(features=["models_update"])
    fo = fake_ollama("--models", "a:1=10", "--capabilities", "none")
    d = daemon(r.url, fo.url).wait_ready()
    reg = r.wait_type("register")[0]
    assert reg["models"] == [{"name": "a:1", "size": 10}], reg
    d.assert_clean_exit()
    r = stand_in_router(features=["models_update"])
    fo = fake_ollama("--models", "a:1=10", "--fault", "http-500",
                     "--fault-path", "/api/show")
    d = daemon(r.url, fo.url).wait_ready()
    reg = r.wait_type("register")[0]
    assert reg["models"] == [{"name": "a:1", "size": 10}], reg
    assert "capabilities of a:1 unknown" in d.log(), d.log()
    d.assert_clean_exit()


def test_show_hangs(daemon, stand_in_router, fake_ollama):
    """An /api/show that never answers delays sharing by its timeout (5 s),
    not by Ollama's; the models go without capabilities meanwhile."""
    r = stand_in_router(features=["models_update"])
    fo = fake_ollama("--models", "a:1=10,b:2=20", "--fault", "hang",
                     "--fault-path", "/api/show")
    t0 = time.monotonic()
    d = daemon(r.url, fo.url, ollama_timeout=300).wait_ready()
    reg = r.wait_type("register", timeout=20)[0]
    assert time.monotonic() - t0 < 15, time.monotonic() - t0
    assert reg["models"] == [{"name": "a:1", "size": 10},
                             {"name": "b:2", "size": 20}], reg
    # one try a pass, not one a model (b:2 is not asked after a:1)
    log = d.log()
    assert "capabilities unknown: /api/show for a:1" in log, log
    assert "/api/show for b:2" not in log, log
    d.assert_clean_exit()

