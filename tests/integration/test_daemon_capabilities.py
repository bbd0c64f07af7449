#!/usr/bin/python3
"""idleclawd learns each shared model's capabilities from Ollama's
POST /api/show, asks once per model and digest, and adds them to its
register and models_update entries as "capabilities"."""
import time

import daemonlib as dl
from daemonlib import iclib


def fake_on(port, *args):
    return dl.FakeOllama("--listen", "127.0.0.1:%d" % port, *args)


def shows(fo):
    return sorted(b["model"] for b in fo.bodies("/api/show"))


def test_register_carries_capabilities():
    port = iclib.free_port()
    r = dl.StandInRouter(features=["models_update"])
    fo = fake_on(port, "--models", "a:1=10,b:2=20", "--capabilities",
                 "completion,tools,thinking,vision")
    d = dl.Daemon(r.url, "127.0.0.1:%d" % port).wait_ready()
    try:
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
        fo = fake_on(port, "--models", "a:1=10,b:2=21,c:3=30", "--capabilities", "completion")
        up = r.wait_type("models_update", timeout=15)[-1]
        assert up["models"] == [
            {"name": "a:1", "size": 10,
             "capabilities": ["completion", "tools", "thinking", "vision"]},
            {"name": "b:2", "size": 21, "capabilities": ["completion"]},
            {"name": "c:3", "size": 30, "capabilities": ["completion"]}], up
        assert shows(fo) == ["b:2", "c:3"], fo.records()
    except Exception:
        print(d.log()[-4000:])
        raise
    finally:
        try:
            d.assert_clean_exit()
        finally:
            fo.proc.stop()
            r.stop()
            d.close()


def test_old_ollama_without_capabilities():
    """No "capabilities" in /api/show: the entries carry none (the router
    then goes by the name), and /api/show failing does not stop sharing."""
    r = dl.StandInRouter(features=["models_update"])
    fo = dl.FakeOllama("--models", "a:1=10", "--capabilities", "none")
    d = dl.Daemon(r.url, fo.url).wait_ready()
    try:
        reg = r.wait_type("register")[0]
        assert reg["models"] == [{"name": "a:1", "size": 10}], reg
    finally:
        try:
            d.assert_clean_exit()
        finally:
            fo.proc.stop()
            r.stop()
            d.close()
    r = dl.StandInRouter(features=["models_update"])
    fo = dl.FakeOllama("--models", "a:1=10", "--fault", "http-500",
                       "--fault-path", "/api/show")
    d = dl.Daemon(r.url, fo.url).wait_ready()
    try:
        reg = r.wait_type("register")[0]
        assert reg["models"] == [{"name": "a:1", "size": 10}], reg
        assert "capabilities of a:1 unknown" in d.log(), d.log()
    finally:
        try:
            d.assert_clean_exit()
        finally:
            fo.proc.stop()
            r.stop()
            d.close()


def test_show_hangs():
    """An /api/show that never answers delays sharing by its timeout (5 s),
    not by Ollama's; the models go without capabilities meanwhile."""
    r = dl.StandInRouter(features=["models_update"])
    fo = dl.FakeOllama("--models", "a:1=10,b:2=20", "--fault", "hang",
                       "--fault-path", "/api/show")
    t0 = time.monotonic()
    d = dl.Daemon(r.url, fo.url, ollama_timeout=300).wait_ready()
    try:
        reg = r.wait_type("register", timeout=20)[0]
        assert time.monotonic() - t0 < 15, time.monotonic() - t0
        assert reg["models"] == [{"name": "a:1", "size": 10},
                                 {"name": "b:2", "size": 20}], reg
        # one try a pass, not one a model (b:2 is not asked after a:1)
        log = d.log()
        assert "capabilities unknown: /api/show for a:1" in log, log
        assert "/api/show for b:2" not in log, log
    finally:
        try:
            d.assert_clean_exit()
        finally:
            fo.proc.stop()
            r.stop()
            d.close()


if __name__ == "__main__":
    iclib.run_tests([test_register_carries_capabilities, test_old_ollama_without_capabilities,
                     test_show_hangs])
