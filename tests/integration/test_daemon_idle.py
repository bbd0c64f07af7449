#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Idle detection end to end: idleclaw-routerd + idleclawd + fake-ollama on
loopback, idleclawd reading a fake proc/sys/dev tree (daemonlib.FakeMachine)
and the fake NVML of tests/fake-nvml.  The owner's use of the machine must
withdraw the node from the real router and give it back, own load must not,
and requests in flight must finish or end as [idle] on_busy says."""
import asyncio
import subprocess
import time

import pytest

import routerlib
import daemonlib as dl
from daemonlib import iclib

MODEL = "llama3.2:latest"


class Net:
    """A fake machine, idleclaw-routerd, fake-ollama with fo_args and
    idleclawd on that machine ([idle] keys: the machine's, then idle),
    ready, with a control connection (c)."""

    def __init__(self, *fo_args, idle=None, setup=None, env=None, **opts):
        opts.setdefault("max_concurrent", 1)   # one free slot when routed
        self.m = dl.FakeMachine()
        if setup:
            setup(self.m)
        self.router = routerlib.Router()
        self.fo = dl.FakeOllama(*fo_args)
        self.d = dl.Daemon("http://127.0.0.1:%d" % self.router.port, self.fo.url,
                           idle=self.m.idle_opts(**(idle or {})),
                           env=dict(self.m.env(), **(env or {})),
                           **opts).wait_ready()
        self.c = self.d.ctl()

    def free_slots(self):
        """The router's free slots for MODEL (0 when our node is withdrawn),
        None while the model is not listed."""
        info = asyncio.run(routerlib.model_info(self.router.port, MODEL))
        return None if info is None else info.get("free_slots")

    def wait_routed(self, slots, what):
        iclib.wait_for(lambda: self.free_slots() == slots, timeout=20, what=what)

    def close(self):
        """The end of a passed test: the daemon exits cleanly."""
        self.c.close()
        self.d.assert_clean_exit()


@pytest.fixture
def net(request):
    """net(*fo_args, idle={...}, setup=fn(machine), env={...}, **daemon_opts)
    -> Net; after a passed test the daemon must exit cleanly."""
    nets = []

    def make(*fo_args, **kw):
        nets.append(Net(*fo_args, **kw))
        return nets[-1]
    yield make
    if iclib.call_passed(request):
        for n in nets:
            n.close()


@pytest.fixture
def logind():
    """A private system bus with a stand-in logind (daemonlib.PrivateLogind)."""
    return dl.PrivateLogind()


def test_busy_idle_busy_through_the_router(net):
    n = net("--echo")
    i = n.c.call("status")["idle"]
    assert i["mode"] == "auto" and i["state"] in ("unknown", "busy"), i
    assert not n.c.call("status")["available"]
    # a quiet machine: lent after idle_time, and the router routes to it
    i = dl.wait_idle_state(n.c, "idle")
    assert i["reason"].startswith("idle for"), i
    n.wait_routed(1, "router routes to the idle node")
    st = n.c.call("status")
    assert st["available"] and st["reason"] == "available", st
    # a foreign process at 60% of the machine: busy, withdrawn
    n.m.process(4242, "make", 60)
    i = dl.wait_idle_state(n.c, "busy")
    assert i["reason"].startswith("CPU ") and i["reason"].endswith("% used by others"), i
    assert 50 <= float(i["reason"].split()[1].rstrip("%")) <= 70, i
    assert 50 <= i["cpu"]["others_percent"] <= 70, i
    st = n.c.call("status")
    assert not st["available"] and st["reason"] == "machine busy", st
    n.wait_routed(0, "router stops routing to the busy node")
    assert "idle: machine busy: CPU" in n.d.log()
    # it ends: lent again after idle_time
    n.m.end(4242)
    dl.wait_idle_state(n.c, "idle")
    n.wait_routed(1, "router routes again")
    out = n.c.call("chat", {"model": MODEL, "messages": [
        {"role": "user", "content": "x"}]})
    assert out["status"] == "ok", out


def test_own_load_keeps_the_node_available(net):
    def setup(m):
        m.process(500, "ollama", 30)
        m.process(501, "ollama_llama_se", 70)   # all of the machine is ours
        m.gpu(["gpu 0 95", "proc 0 501 95"])

    n = net("--echo", setup=setup)
    i = dl.wait_idle_state(n.c, "idle")
    # a runner Ollama starts later is found before it counts
    n.m.process(501, "ollama_llama_se", 0)
    n.m.process(502, "ollama_llama_se", 70)
    n.m.gpu(["gpu 0 95", "proc 0 502 95"])
    time.sleep(3)
    i = dl.idle_of(n.c)
    assert i["state"] == "idle", i
    assert i["cpu"]["others_percent"] <= 5 and i["cpu"]["own_percent"] >= 90, i
    g = i["gpu"][0]
    assert g["source"] == "nvml" and g["used_percent"] == 95 and g["own_percent"] == 95, i
    assert "used by" not in n.d.log(), n.d.log()
    n.wait_routed(1, "router routes to the node")


def test_foreign_gpu_user_is_named(net):
    def setup(m):
        m.process(4243, "blender", 0)
        m.gpu(["gpu 0 10"])

    n = net("--echo", setup=setup)
    dl.wait_idle_state(n.c, "idle")
    n.m.gpu(["gpu 0 87", "proc 0 4243 87"])
    i = dl.wait_idle_state(n.c, "busy")
    assert i["reason"] == "GPU0 87% used by blender (pid 4243)", i
    g = i["gpu"][0]
    assert g["top_pid"] == 4243 and g["top_process"] == "blender", i


def test_battery(net):
    n = net("--echo")
    dl.wait_idle_state(n.c, "idle")
    n.m.power(mains_online=False)
    i = dl.wait_idle_state(n.c, "busy")
    assert i["reason"] == "on battery" and i["power"] == "battery", i
    n.m.power(mains_online=True)
    i = dl.wait_idle_state(n.c, "idle")
    assert i["power"] == "mains", i


def test_battery_run(net):
    def setup(m):
        m.power(mains_online=False)

    n = net("--echo", setup=setup, idle={"on_battery": "run"})
    i = dl.wait_idle_state(n.c, "idle")
    assert i["power"] == "battery", i


def test_exclusive_process(net):
    n = net("--echo", idle={"exclusive_processes": "zoom, steam"})
    dl.wait_idle_state(n.c, "idle")
    n.m.process(777, "steam", 0)
    i = dl.wait_idle_state(n.c, "busy")
    assert i["reason"] == "exclusive process steam running (pid 777)", i
    assert i["exclusive"] == {"process": "steam", "pid": 777}, i
    n.m.end(777)
    i = dl.wait_idle_state(n.c, "idle")
    assert i["exclusive"] == "none", i


def test_owner_typing(net):
    n = net("--echo")
    dl.wait_idle_state(n.c, "idle")
    n.m.typed("pts/3")
    i = dl.wait_idle_state(n.c, "busy")
    assert i["reason"].startswith("user typed on pts/3 "), i
    assert i["terminal"]["where"] == "pts/3", i
    # idle_time after the input, lent again
    i = dl.wait_idle_state(n.c, "idle")


def test_status_text(net):
    n = net("--echo")
    dl.wait_idle_state(n.c, "idle")
    out = subprocess.run([iclib.binary("ctl/idleclawctl"), "--socket", n.d.sock, "status"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out
    assert "idle:        idle (idle for" in out.stdout, out.stdout
    assert "cpu: " in out.stdout and "power: unknown" in out.stdout, out.stdout


def chat_while_owner_returns(n):
    """A streaming chat through the router; the owner returns mid-stream.
    Returns the chat's final status and the content received."""
    dl.wait_idle_state(n.c, "idle")
    n.wait_routed(1, "router routes to the node")
    rid = n.c.send("chat", {"model": MODEL, "messages": [{"role": "user", "content": "long"}]})
    ev = n.c.read()
    assert ev.get("event") == "content", ev
    text = ev.get("content", "")
    n.m.process(4242, "make", 90)
    while True:
        m = n.c.read()
        if m.get("id") == rid and "status" in m:
            return m, text
        text += m.get("content", "") or ""


def test_on_busy_finish(net):
    # 20 lines 0.2 s apart: the owner returns during a 4 s stream, grace 30 s
    n = net("--delay-ms", "200", "--tokens", "20", idle={"on_busy": "finish"})
    end, _ = chat_while_owner_returns(n)
    assert end["status"] == "ok", end
    assert n.fo.cancelled() == []
    assert dl.idle_of(n.c)["state"] == "busy"
    assert n.c.call("status")["served"] == 1


def test_on_busy_finish_grace_ends(net):
    n = net("--delay-ms", "200", "--tokens", "100",
            idle={"on_busy": "finish", "busy_grace": 2})
    end, _ = chat_while_owner_returns(n)
    assert end["status"] != "ok", end
    assert n.fo.wait_cancelled(1) == [MODEL]
    assert "the owner needs the machine (CPU" in n.d.log()


def test_on_busy_cancel(net):
    n = net("--delay-ms", "200", "--tokens", "100", idle={"on_busy": "cancel"})
    t0 = time.time()
    end, _ = chat_while_owner_returns(n)
    assert end["status"] != "ok", end
    assert time.time() - t0 < 15
    assert n.fo.wait_cancelled(1) == [MODEL]
    assert "stopped: the owner needs the machine (CPU" in n.d.log()
    assert n.c.call("status")["in_flight"] == 0


def test_mode_never(net):
    n = net("--echo", idle={"mode": "never"})
    i = dl.wait_idle_state(n.c, "busy")
    assert i["reason"] == "mode = never" and i["mode"] == "never", i


def test_logind_presence(net, logind):
    logind.set(True, int((time.time() - 100) * 1e6))
    n = net("--echo", idle={"logind": "yes"}, env=logind.env())
    i = dl.wait_idle_state(n.c, "idle")
    assert i["logind"]["seconds_ago"] >= 2, i
    logind.set(False, 0)           # the desktop user is active
    i = dl.wait_idle_state(n.c, "busy")
    assert i["reason"].startswith("user input ") and i["reason"].endswith(
        " s ago (logind)"), i
    logind.set(True, int(time.time() * 1e6))   # idle since now
    i = dl.wait_idle_state(n.c, "idle")
    assert i["logind"]["seconds_ago"] >= 2, i
    logind.stop_logind()           # gone: unknown, not a failure
    iclib.wait_for(lambda: dl.idle_of(n.c)["logind"] == "unknown",
                   what="logind unknown")
    assert dl.idle_of(n.c)["state"] == "idle"


def test_no_system_bus(net):
    n = net("--echo", idle={"logind": "yes"},
            env={"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent/bus"})
    i = dl.wait_idle_state(n.c, "idle")
    assert i["logind"] == "unknown", i
    assert "no system bus for logind" in n.d.log()
