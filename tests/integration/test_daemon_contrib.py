#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""What a contributor controls (issue 23): the lending schedule, a pause
that survives a restart ($STATE_DIRECTORY), and the limits on one request
(max_predict, max_ctx, max_request_time), end to end: idleclawd with a
scripted router (daemonlib.StandInRouter) and fake-ollama recording what
reached it."""
import datetime
import json
import os
import subprocess
import time

import daemonlib as dl
import routerlib
from daemonlib import iclib

MODEL = "llama3.2:latest"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def ctl_status_text(d):
    out = subprocess.run([iclib.binary("ctl/idleclawctl"), "--socket", d.sock, "status"],
                         capture_output=True, text=True, timeout=30,
                         env=dict(os.environ, TZ="UTC"))
    assert out.returncode == 0, out
    return out.stdout


def last_heartbeat(r):
    return r.wait_type("heartbeat")[-1]


# ---- schedule ----

def test_schedule_outside_then_inside(tmp_path):
    """Outside the schedule: unavailable, "outside schedule", the heartbeat
    says so, status says when the next window opens; a reload into a
    window makes the node available within a sample interval."""
    utc = datetime.datetime.now(datetime.timezone.utc)
    if utc.hour == 23 and utc.minute >= 58:
        time.sleep(150)         # not across midnight: "today" must stay today
        utc = datetime.datetime.now(datetime.timezone.utc)
    today, tomorrow = DAYS[utc.weekday()], DAYS[(utc.weekday() + 1) % 7]
    conf = tmp_path / "idleclaw.conf"
    conf.write_text("[idle]\nschedule = %s\n" % tomorrow)
    r = dl.StandInRouter(features=["available"])
    fo = dl.FakeOllama("--echo")
    d = dl.Daemon(r.url, fo.url, config=str(conf), env={"TZ": "UTC"},
                  idle={"mode": "always", "interval": 1}).wait_ready()
    c = d.ctl()
    st = iclib.wait_for(lambda: (lambda s: s["reason"] == "outside schedule" and s)(
        c.call("status")), what="outside schedule")
    assert not st["available"], st
    sch = st["idle"]["schedule"]
    midnight = datetime.datetime(utc.year, utc.month, utc.day,
                                 tzinfo=datetime.timezone.utc) + datetime.timedelta(days=1)
    assert sch == {"text": tomorrow, "open": False,
                   "next_open": int(midnight.timestamp())}, sch
    iclib.wait_for(lambda: r.of_type("heartbeat") and
                   r.of_type("heartbeat")[-1]["available"] is False,
                   what="an unavailable heartbeat")
    text = ctl_status_text(d)
    assert "available:   no (outside schedule)" in text, text
    assert "schedule:    %s; outside, next window opens %s 00:00" % (tomorrow, tomorrow) \
        in text, text
    assert "idle: outside the schedule" in d.log()
    # into a window: available at the next sample
    conf.write_text("[idle]\nschedule = %s, %s\n" % (today, tomorrow))
    assert c.call("reload")["status"] == "ok"
    st = iclib.wait_for(lambda: (lambda s: s["available"] and s)(c.call("status")),
                        timeout=5, what="available inside the schedule")
    assert st["idle"]["schedule"]["open"] is True, st
    assert "next_open" not in st["idle"]["schedule"], st
    iclib.wait_for(lambda: r.of_type("heartbeat")[-1]["available"] is True,
                   what="an available heartbeat")
    assert "schedule:    %s, %s; inside" % (today, tomorrow) in ctl_status_text(d)
    c.close()
    d.assert_clean_exit()


def test_schedule_bad_is_refused():
    out = subprocess.run([iclib.binary("daemon/idleclawd"), "--config", "/nonexistent",
                          "-o", "idle.schedule=Mon 9-17", "--check-config"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 1, out
    assert "idle.schedule: \"9-17\": times are HH:MM from 00:00 to 24:00" in out.stderr, out


def test_no_schedule_in_status():
    r = dl.StandInRouter()
    fo = dl.FakeOllama("--echo")
    d = dl.Daemon(r.url, fo.url).wait_ready()
    c = d.ctl()
    st = c.call("status")
    assert st["idle"]["schedule"] == "none"
    assert "standing" not in st             # a router that never says (the public one)
    text = ctl_status_text(d)
    assert "schedule:" not in text and "standing:" not in text, text
    c.close()
    d.assert_clean_exit()


# ---- a pause that survives a restart ----

def pause_file(state):
    return os.path.join(state, "pause")


def test_pause_survives_restart(tmp_path):
    state = str(tmp_path)
    r = dl.StandInRouter(features=["available"])
    fo = dl.FakeOllama("--echo")
    env = {"STATE_DIRECTORY": state}
    d = dl.Daemon(r.url, fo.url, env=env).wait_ready()
    c = d.ctl()
    rep = c.call("pause", {"seconds": 8 * 3600})
    until = rep["paused_until"]
    assert rep["status"] == "ok" and until > time.time() + 8 * 3600 - 60, rep
    with open(pause_file(state)) as f:
        assert f.read() == "%d\n" % until     # the deadline, nothing else
    c.close()
    d.assert_clean_exit()
    # restarted: still paused, same deadline
    d = dl.Daemon(r.url, fo.url, env=env).wait_ready()
    c = d.ctl()
    st = c.call("status")
    assert not st["available"] and st["reason"] == "paused", st
    assert st["paused_until"] == until, st
    assert "as before the restart" in d.log()
    iclib.wait_for(lambda: r.of_type("heartbeat") and
                   r.of_type("heartbeat")[-1]["available"] is False,
                   what="a paused heartbeat after the restart")
    # resume removes it; the next start is not paused
    c.call("resume")
    assert not os.path.exists(pause_file(state))
    c.close()
    d.assert_clean_exit()
    d = dl.Daemon(r.url, fo.url, env=env).wait_ready()
    c = d.ctl()
    assert c.call("status")["reason"] != "paused"
    # "until resumed" (0) survives too
    c.call("pause")
    with open(pause_file(state)) as f:
        assert f.read() == "0\n"
    c.close()
    d.assert_clean_exit()
    d = dl.Daemon(r.url, fo.url, env=env).wait_ready()
    c = d.ctl()
    st = c.call("status")
    assert st["reason"] == "paused" and st["paused_until"] == 0, st
    c.close()
    d.assert_clean_exit()


def test_pause_ran_out_while_stopped(tmp_path):
    state = str(tmp_path)
    with open(pause_file(state), "w") as f:
        f.write("%d\n" % (time.time() - 10))
    r = dl.StandInRouter()
    fo = dl.FakeOllama("--echo")
    d = dl.Daemon(r.url, fo.url, env={"STATE_DIRECTORY": state}).wait_ready()
    c = d.ctl()
    assert c.call("status")["reason"] != "paused"
    assert not os.path.exists(pause_file(state))
    # a timed pause that ends removes the file
    c.call("pause", {"seconds": 1})
    assert os.path.exists(pause_file(state))
    iclib.wait_for(lambda: not os.path.exists(pause_file(state)), timeout=5,
                   what="the file removed when the pause ended")
    c.close()
    d.assert_clean_exit()


def test_pause_without_state_directory():
    r = dl.StandInRouter()
    fo = dl.FakeOllama("--echo")
    d = dl.Daemon(r.url, fo.url).wait_ready()
    c = d.ctl()
    c.call("pause", {"seconds": 3600})
    c.call("resume")
    c.call("pause", {"seconds": 3600})
    d.wait_log("no $STATE_DIRECTORY, so a pause lasts until idleclawd restarts")
    assert d.log().count("a pause lasts until idleclawd restarts") == 1
    c.close()
    d.assert_clean_exit()
    d = dl.Daemon(r.url, fo.url).wait_ready()
    c = d.ctl()
    assert c.call("status")["reason"] != "paused"
    c.close()
    d.assert_clean_exit()


def test_pause_unwritable_state_directory(tmp_path):
    """A state directory that cannot be written: the pause works, lasts
    until restart, and the log says so once per deadline."""
    r = dl.StandInRouter()
    fo = dl.FakeOllama("--echo")
    d = dl.Daemon(r.url, fo.url,
                  env={"STATE_DIRECTORY": str(tmp_path / "missing")}).wait_ready()
    c = d.ctl()
    assert c.call("pause", {"seconds": 3600})["status"] == "ok"
    for _ in range(3):
        assert c.call("status")["reason"] == "paused"
    d.wait_log("the pause lasts until idleclawd restarts")
    assert d.log().count("cannot write") == 1, d.log()
    c.close()
    d.assert_clean_exit()


# ---- limits on one request ----

def options_sent(fo, n):
    bodies = iclib.wait_for(lambda: len(fo.chat_bodies()) >= n and fo.chat_bodies(),
                            what="%d chat bodies" % n)
    return bodies[n - 1].get("options", {})


def run_requests(opts, requests):
    """Each of requests (options or None) through the daemon; what Ollama
    received for each."""
    r = dl.StandInRouter()
    fo = dl.FakeOllama("--echo")
    d = dl.Daemon(r.url, fo.url, **opts).wait_ready()
    r.wait_type("heartbeat")
    got = []
    for i, o in enumerate(requests):
        extra = {} if o is None else {"options": o}
        r.request("q%d" % i, dl.chat_params(**extra))
        frames = r.wait_reply("q%d" % i)
        assert frames[-1]["type"] == "inference_chunk", frames
        got.append(options_sent(fo, i + 1))
    d.assert_clean_exit()
    return got


def test_max_predict():
    n = 100
    got = run_requests({"max_predict": n}, [
        {"num_predict": n}, {"num_predict": n + 1}, {"num_predict": -1}, None,
        {"num_predict": 7, "temperature": 0.5}])
    assert got[0]["num_predict"] == n        # N passes
    assert got[1]["num_predict"] == n        # N+1 is clamped
    assert got[2]["num_predict"] == n        # unlimited is clamped
    assert got[3]["num_predict"] == n        # absent: injected
    assert got[4] == {"num_predict": 7, "temperature": 0.5}


def test_max_ctx():
    n = 4096
    got = run_requests({"max_ctx": n}, [{"num_ctx": n}, {"num_ctx": n + 1}, None])
    assert got[0]["num_ctx"] == n
    assert got[1]["num_ctx"] == n
    assert "num_ctx" not in got[2]           # absent: Ollama's default


def test_no_limits_by_default():
    got = run_requests({}, [{"num_predict": 16384, "num_ctx": 131072}, None])
    assert got[0] == {"num_predict": 16384, "num_ctx": 131072}
    assert got[1] == {}


def test_max_request_time():
    """A reply that takes longer than max_request_time is cancelled at
    Ollama and the router gets inference_error ollama_error; one that fits
    is not."""
    r = dl.StandInRouter()
    # 12 lines 0.25 s apart: 3 s
    fo = dl.FakeOllama("--delay-ms", "250", "--tokens", "12")
    d = dl.Daemon(r.url, fo.url, max_request_time=1).wait_ready()
    r.wait_type("heartbeat")
    r.request("slow", dl.chat_params())
    frames = r.wait_reply("slow")
    assert frames[-1] == {"type": "inference_error", "request_id": "slow",
                          "error": "ollama_error", "_conn": 1}, frames
    assert fo.wait_cancelled(1) == [MODEL]
    assert "longer than max_request_time (1 s)" in d.log()
    assert d.ctl().call("status")["in_flight"] == 0
    d.assert_clean_exit()
    d = dl.Daemon(r.url, fo.url, max_request_time=5).wait_ready()
    iclib.wait_for(lambda: len(r.conns) == 2, what="second connection")
    r.wait_type("heartbeat", conn=2)
    r.request("fits", dl.chat_params())
    frames = r.wait_reply("fits", timeout=15)
    assert frames[-1]["type"] == "inference_chunk" and frames[-1]["chunk"]["done"], frames
    assert len(fo.cancelled()) == 1
    d.assert_clean_exit()


# ---- standing: the real router tells the node ----

NO_CHATS = "no chats \u2014 the router found this node's answers wrong or failing"


def standing_net(start):
    """idleclaw-routerd whose nodes start at `start` points (min_reputation
    5), telling standing every second; idleclawd on it."""
    r = routerlib.Router(**{"trust.start": start, "trust.min_reputation": 5,
                            "trust.standing_interval": 1})
    fo = dl.FakeOllama("--echo")
    d = dl.Daemon("http://127.0.0.1:%d" % r.port, fo.url).wait_ready()
    return r, d


def wait_standing(c):
    return iclib.wait_for(lambda: c.call("status").get("standing"), timeout=15,
                          what="standing in status")


def test_standing_below_min_reputation():
    r, d = standing_net(0)
    c = d.ctl()
    st = wait_standing(c)
    assert st == {"chats": False, "text": NO_CHATS}, st
    text = ctl_status_text(d)
    assert "standing:    " + NO_CHATS + "\n" in text, text
    out = subprocess.run([iclib.binary("ctl/idleclawctl"), "--socket", d.sock, "status",
                          "--json"], capture_output=True, text=True, timeout=30)
    assert json.loads(out.stdout)["standing"] == {"chats": False, "text": NO_CHATS}, out
    assert "the router gives this node no chats" in d.log()
    c.close()
    d.assert_clean_exit()


def test_standing_above_min_reputation_says_nothing_of_the_score():
    r, d = standing_net(37)
    c = d.ctl()
    st = wait_standing(c)
    assert st == {"chats": True, "text": "gets chats"}, st
    full = json.dumps(c.call("status"))
    assert "reputation" not in full and "score" not in full, full
    text = ctl_status_text(d)
    line = [x for x in text.splitlines() if x.startswith("standing:")]
    assert line == ["standing:    gets chats"], text
    c.close()
    d.assert_clean_exit()


# ---- which GPUs count ----

def gpu_daemon(m, **idle):
    r = dl.StandInRouter(features=["available"])
    fo = dl.FakeOllama("--echo")
    d = dl.Daemon(r.url, fo.url, idle=m.idle_opts(**idle), env=m.env()).wait_ready()
    return r, d


def gpu_machine():
    """card0 at 90% (0000:03:00.0), card1 idle (0000:04:00.0), and an
    idle NVIDIA board (0000:01:00.0)."""
    m = dl.FakeMachine()
    m.drm_card(0, "0000:03:00.0", 90)
    m.drm_card(1, "0000:04:00.0", 0)
    m.gpu(["gpu 0 0", "pci 0 0000:01:00.0"])
    return m


def by_pci(idle):
    return {g.get("pci"): g for g in idle["gpu"]}


def test_gpus_ignored_card_does_not_count():
    m = gpu_machine()
    r, d = gpu_daemon(m, gpus="0000:04:00.0, 0000:01:*")
    c = d.ctl()
    i = dl.wait_idle_state(c, "idle")
    g = by_pci(i)
    assert g["0000:03:00.0"]["watched"] is False and g["0000:03:00.0"]["used_percent"] == 90, i
    assert g["0000:04:00.0"]["watched"] is True and g["0000:04:00.0"]["source"] == "drm", i
    assert g["0000:01:00.0"]["watched"] is True and g["0000:01:00.0"]["source"] == "nvml", i
    assert c.call("status")["available"]
    text = ctl_status_text(d)
    assert ("gpus:        watched: 0000:04:00.0 (drm card1), 0000:01:00.0 (nvml 0); "
            "ignored: 0000:03:00.0 (drm card0)\n") in text, text
    # a watched one busy: the machine is busy
    m.drm_card(1, "0000:04:00.0", 90)
    i = dl.wait_idle_state(c, "busy")
    assert i["reason"].startswith("GPU1 90% used by others"), i
    c.close()
    d.assert_clean_exit()


def test_gpus_default_all_count():
    m = gpu_machine()
    r, d = gpu_daemon(m)
    c = d.ctl()
    i = iclib.wait_for(lambda: (lambda i: i["reason"].startswith("GPU") and i)(
        dl.idle_of(c)), timeout=15, what="busy for a GPU")
    assert i["state"] == "busy" and i["reason"].startswith("GPU0 90% used by others"), i
    time.sleep(3)       # idle_time is 2 s: it stays busy
    assert dl.idle_of(c)["state"] == "busy"
    assert all(g["watched"] for g in i["gpu"]), i
    assert "ignored: none" in ctl_status_text(d)
    c.close()
    d.assert_clean_exit()
