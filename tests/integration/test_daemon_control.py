#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""idleclawd as a service: sd_notify messages, SIGHUP reload, SIGTERM drain,
--check-config, and bad input on the control socket."""
import os
import signal
import subprocess
import sys
import tempfile
import time

import daemonlib as dl
from daemonlib import LIMITS, iclib

MODEL = "llama3.2:latest"


def write_conf(path, **keys):
    with open(path, "w") as f:
        f.write("[daemon]\n")
        for k, v in keys.items():
            f.write("%s = %s\n" % (k, v))


def check_config(*args):
    return subprocess.run([iclib.binary("daemon/idleclawd"), "--check-config"] + list(args),
                          capture_output=True, text=True, timeout=10)


def test_check_config():
    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, "idleclaw.conf")
        hi = LIMITS["IC_CONCURRENCY_MAX"]
        write_conf(conf, max_concurrent=hi, server="http://127.0.0.1:1")
        out = check_config("--config", conf)
        assert out.returncode == 0, out.stderr
        assert "max_concurrent = %d" % hi in out.stdout, out.stdout
        assert "server = http://127.0.0.1:1" in out.stdout
        write_conf(conf, max_concurrent=hi + 1)
        out = check_config("--config", conf)
        assert out.returncode != 0
        assert "%s:2" % conf in out.stderr and "max_concurrent" in out.stderr, out.stderr
        write_conf(conf, max_concurrent=LIMITS["IC_CONCURRENCY_MIN"] - 1)
        assert check_config("--config", conf).returncode != 0
        # environment, then -o, override the file
        write_conf(conf, server="http://127.0.0.1:1")
        out = subprocess.run([iclib.binary("daemon/idleclawd"), "--check-config", "--config",
                              conf, "-o", "daemon.max_concurrent=3"], capture_output=True,
                             text=True, env=dict(os.environ, IDLECLAW_SERVER="http://e:2",
                                                 OLLAMA_HOST=":9999"))
        assert out.returncode == 0, out.stderr
        assert "server = http://e:2" in out.stdout and "max_concurrent = 3" in out.stdout
        assert "ollama_host = :9999" in out.stdout, out.stdout
        assert check_config("-o", "daemon.server=ftp://x").returncode != 0
        assert check_config("-o", "daemon.node_id=has space").returncode != 0
        # the derived node id is stable
        a = check_config("--config", conf).stdout
        b = check_config("--config", conf).stdout
        ids = [l for l in a.splitlines() if "effective node_id" in l]
        assert ids and ids == [l for l in b.splitlines() if "effective node_id" in l]


def test_man_page_and_example_list_every_key():
    """idleclaw.conf(5) and conf/idleclaw.conf document every key of the
    table that --check-config prints (the table is the source)."""
    out = check_config("--config", "/nonexistent")
    assert out.returncode == 0, out.stderr
    keys = [l.split(" = ")[0] for l in out.stdout.splitlines()
            if " = " in l and not l.startswith("#")]
    assert len(keys) >= 15, keys
    with open(os.path.join(iclib.SRCDIR, "man", "idleclaw.conf.5")) as f:
        man = f.read()
    with open(os.path.join(iclib.SRCDIR, "conf", "idleclaw.conf")) as f:
        example = f.read()
    for k in keys:
        assert ".It Cm %s " % k in man, "man page lacks %s" % k
        assert "#%s =" % k in example, "conf/idleclaw.conf lacks %s" % k


def test_notify_reload_stop():
    ns = dl.Notify()
    r = dl.StandInRouter(features=["models_update"])
    r2 = dl.StandInRouter(features=["models_update"])
    fo = dl.FakeOllama("--echo", "--delay-ms", "50", "--tokens", "40")
    tmp = tempfile.mkdtemp()
    conf = os.path.join(tmp, "idleclaw.conf")
    write_conf(conf, server=r.url, ollama_host=fo.url, models_deny="qwen*", max_concurrent=1)
    d = dl.Daemon(None, None, notify=ns, config=conf,
                  env={"WATCHDOG_USEC": "400000"})
    ns.wait_for("READY=1")
    ns.wait_for("STATUS=")
    ns.wait_for("WATCHDOG=1")
    d.wait_ready()
    reg = r.wait_type("register")[0]
    assert [m["name"] for m in reg["models"]] == [MODEL]
    iclib.wait_for(lambda: any("router connected" in m for m in ns.read(0.1)),  # noqa
                   what="STATUS with router connected")
    # a request in flight survives a reload; the link is not restarted
    r.request("inflight", dl.chat_params())
    iclib.wait_for(lambda: r.for_request("inflight"), what="first chunk")
    ns.messages.clear()
    write_conf(conf, server=r.url, ollama_host=fo.url, models_deny="", max_concurrent=1)
    d.signal(signal.SIGHUP)
    ns.wait_for("RELOADING=1")
    ns.wait_for("READY=1")
    assert r.wait_reply("inflight", timeout=20)[-1]["chunk"]["done"] is True
    up = r.wait_type("models_update", timeout=10)[0]
    assert [m["name"] for m in up["models"]] == [MODEL, "qwen2.5:0.5b"]
    assert len(r.of_type("register")) == 1
    # a bad file: nothing changes, READY=1 again, the reload command says why
    ns.messages.clear()
    write_conf(conf, server=r.url, ollama_host=fo.url, max_concurrent=0)
    d.signal(signal.SIGHUP)
    ns.wait_for("RELOADING=1")
    ns.wait_for("READY=1")
    c = d.ctl()
    rep = c.call("reload")
    assert rep["status"] == "failed" and "max_concurrent" in rep.get("detail", ""), rep
    assert c.call("status")["max_concurrent"] == 1
    # max_concurrent is told to the router by registering again
    write_conf(conf, server=r.url, ollama_host=fo.url, max_concurrent=2)
    assert c.call("reload")["status"] == "ok"
    regs = r.wait_type("register", count=2)
    assert regs[1]["max_concurrent"] == 2, regs
    # a new server URL: the link moves
    write_conf(conf, server=r2.url, ollama_host=fo.url)
    assert c.call("reload")["status"] == "ok"
    r2.wait_type("register")
    c.close()
    # SIGTERM drains the request in flight, then exits 0
    r2.request("drain", dl.chat_params())
    iclib.wait_for(lambda: r2.for_request("drain"), what="first chunk")
    ns.messages.clear()
    d.signal(signal.SIGTERM)
    ns.wait_for("STOPPING=1")
    frames = r2.wait_reply("drain", timeout=20)
    assert frames[-1]["chunk"]["done"] is True, frames[-1]
    assert any(h["available"] is False for h in r2.of_type("heartbeat"))
    d.p.wait(10)
    assert d.returncode == 0, d.log()


def test_reload_new_ollama_host():
    """A request in flight finishes on the old Ollama; new ones go to the new."""
    r = dl.StandInRouter(features=["models_update"])
    fo1 = dl.FakeOllama("--echo", "--delay-ms", "50", "--tokens", "30")
    fo2 = dl.FakeOllama("--echo")
    tmp = tempfile.mkdtemp()
    conf = os.path.join(tmp, "idleclaw.conf")
    write_conf(conf, server=r.url, ollama_host=fo1.url)
    d = dl.Daemon(None, None, config=conf).wait_ready()
    r.wait_type("heartbeat")
    r.request("old", dl.chat_params(content="one two"))
    iclib.wait_for(lambda: r.for_request("old"), what="first chunk")
    write_conf(conf, server=r.url, ollama_host=fo2.url)
    c = d.ctl()
    assert c.call("reload")["status"] == "ok"
    assert c.call("status")["ollama"]["url"] == fo2.url
    assert r.wait_reply("old", timeout=15)[-1]["chunk"]["done"] is True
    r.request("new", dl.chat_params(content="three"))
    assert dl.text_of(r.wait_reply("new")) == "three"
    assert len(fo1.bodies()) == 1 and len(fo2.bodies()) == 1
    assert len(r.of_type("register")) == 1
    c.close()
    d.assert_clean_exit()


def test_chat_router_silence_times_out():
    """A router that accepts the chat and then says nothing: after
    router_timeout the chat ends with "timeout"; status still answers."""
    import socket as so
    ls = iclib.track(so.socket())
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    url = "http://127.0.0.1:%d" % ls.getsockname()[1]
    fo = dl.FakeOllama("--echo")
    d = dl.Daemon(url, fo.url, router_timeout=1).wait_ready()
    c = d.ctl()
    t0 = time.monotonic()
    rep = c.call("chat", {"model": MODEL, "messages": [{"role": "user", "content": "x"}]})
    assert rep["status"] == "timeout", rep
    assert time.monotonic() - t0 < 5
    t0 = time.monotonic()
    st = c.call("status")     # the router's /health does not answer either
    assert st["status"] == "ok" and "network" not in st, st
    assert time.monotonic() - t0 < 8
    c.close()
    d.assert_clean_exit()


def test_drain_timeout():
    r = dl.StandInRouter()
    fo = dl.FakeOllama("--fault", "hang")
    d = dl.Daemon(r.url, fo.url, drain_timeout=1).wait_ready()
    r.wait_type("heartbeat")
    r.request("h", dl.chat_params())
    iclib.wait_for(lambda: fo.bodies(), what="request at Ollama")
    t0 = time.monotonic()
    d.signal(signal.SIGTERM)
    d.p.wait(10)
    assert d.returncode == 0 and time.monotonic() - t0 < 5
    assert fo.wait_cancelled(1) == [MODEL]
    assert "drain timeout" in d.log()
    # the router hears that the request ended, before the link closes
    assert r.wait_reply("h")[-1]["error"] == "ollama_unavailable"


def test_control_bad_input():
    r = dl.StandInRouter()
    fo = dl.FakeOllama("--echo")
    d = dl.Daemon(r.url, fo.url).wait_ready()
    c = d.ctl()
    c.send_raw(b"this is not json\n")
    assert c.read()["status"] == "bad_json"
    c.send_raw(b'{"v":99,"id":"a","cmd":"status"}\n')
    assert c.read()["status"] == "bad_version"
    assert c.call("frobnicate")["status"] == "unknown_command"
    assert c.call("pause", {"seconds": "soon"})["status"] == "bad_args"
    assert c.call("cancel", {"target": "nothing"})["status"] == "not_found"
    assert c.call("chat", {"model": MODEL})["status"] == "bad_args"
    assert c.call("status")["status"] == "ok"   # the connection survived
    c.close()
    d.assert_clean_exit()


def test_socket_activation(tmp_path):
    """A control socket passed with LISTEN_FDS/LISTEN_PID is used as is."""
    import socket as so
    tmp = str(tmp_path)
    path = os.path.join(tmp, "activated.sock")
    ls = iclib.track(so.socket(so.AF_UNIX, so.SOCK_STREAM))
    ls.bind(path)
    ls.listen(8)
    r = dl.StandInRouter()
    fo = dl.FakeOllama("--echo")
    unused = os.path.join(tmp, "configured.sock")
    argv = [iclib.binary("daemon/idleclawd"), "--config", "/nonexistent",
            "-o", "daemon.server=" + r.url, "-o", "daemon.ollama_host=" + fo.url,
            "-o", "daemon.control_socket=" + unused, "-o", "daemon.node_id=act",
            "-o", "idle.mode=always"]
    fd = ls.fileno()
    # a small exec wrapper puts the socket at fd 3 and names itself in
    # LISTEN_PID, as systemd does, once Popen's own fds are out of the way
    wrapper = ("import os, sys; os.dup2(int(sys.argv[1]), 3); "
               "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1'); "
               "os.execv(sys.argv[2], sys.argv[2:])")
    p = iclib.Proc("idleclawd", [sys.executable, "-c", wrapper, str(fd)] + argv,
                   pass_fds=(fd,))
    c = iclib.wait_for(lambda: _try_ctl(path), what="activated socket answers")
    st = c.call("status")
    assert st["status"] == "ok" and st["node_id"] == "act", st
    c.close()
    assert not os.path.exists(unused)
    assert p.stop(timeout=10) == 0


def _try_ctl(path):
    try:
        return dl.Ctl(path)
    except OSError:
        return None

