#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""idleclawctl: its own errors, and its use of the control protocol against
a fake daemon (ctllib.FakeDaemon).  The tests against the real idleclawd
are in test_ctl_daemon.py."""
import json
import os
import signal
import subprocess
import tempfile
import time

import iclib
from ctllib import (CTL, EXIT_CODES, FakeDaemon, assert_no_sanitizer_report, complete, event,
                    reply, run_ctl, start_ctl, wait_until)
from limits import LIMITS

PAUSE_MAX_S = LIMITS["CTL_PAUSE_MAX_S"]


def with_daemon(behaviour):
    """Decorator: run the test with a FakeDaemon as its argument."""
    def wrap(fn):
        def test():
            fn(FakeDaemon(behaviour))
        test.__name__ = fn.__name__
        test.__doc__ = fn.__doc__
        return test
    return wrap


def ctl_on_pty(path, *args, env=None):
    """idleclawctl with a terminal (a pty) as stdin and stdout:
    (Popen, the pty's master fd); both go at the end of the test."""
    master, slave = os.openpty()
    iclib.track(master, lambda: os.close(master))
    p = iclib.track_popen(subprocess.Popen([CTL, "--socket", path] + list(args),
                                           stdin=slave, stdout=slave,
                                           stderr=subprocess.PIPE, env=env))
    os.close(slave)
    return p, master


def ok_to_everything(req, send):
    send(reply(req, "ok"))


# --- idleclawctl's own errors ---

def test_no_socket():
    missing = os.path.join(tempfile.gettempdir(), "ic-no-such-dir", "x.sock")
    r = run_ctl(["status"], socket_path=missing)
    assert r.returncode == 11, r
    assert "cannot connect to idleclawd at %s" % missing in r.stderr, r.stderr
    assert "Is idleclawd running?" in r.stderr
    assert r.stdout == ""
    # the environment names the socket too
    r = run_ctl(["status"], env={"IDLECLAW_SOCKET": missing})
    assert r.returncode == 11 and missing in r.stderr, r


def test_usage_errors():
    cases = [
        [],                               # no command
        ["--bogus", "status"],            # unknown global option
        ["frobnicate"],                   # unknown command
        ["status", "extra"],              # operand where none is taken
        ["status", "--nope"],
        ["--timeout", "abc", "status"],
        ["--timeout", "0", "status"],
        ["--timeout"],                    # missing value
        ["chat"],                         # no model
        ["chat", "-m"],                   # missing value
        ["chat", "-m", "m", "--system", "", "hi"],
        ["pause", "0"],
        ["pause", "5x"],
        ["pause", "31d"],
        ["pause", str(PAUSE_MAX_S + 1)],
        ["pause", "1", "2"],
        ["help", "frobnicate"],
    ]
    for args in cases:
        r = run_ctl(args, socket_path="/nonexistent/ctl.sock")
        assert r.returncode == 2, (args, r)
        assert "idleclawctl: " in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr


def test_help_from_table():
    r = run_ctl(["--help"])
    assert r.returncode == 0
    for name in ("status", "models", "chat", "pause", "resume", "reload"):
        assert "\n  %s " % name in r.stdout, (name, r.stdout)
    assert "130 interrupted" in r.stdout
    lst = run_ctl(["help", "--list"]).stdout.splitlines()
    names = [line.split()[0] for line in lst]
    assert names == ["status", "models", "chat", "pause", "resume", "reload"], names
    chat = [line for line in lst if line.startswith("chat ")][0]
    assert "--model" in chat and "--think" in chat and "--system" in chat
    r = run_ctl(["help", "pause"])
    assert r.returncode == 0 and "pause [DURATION]" in r.stdout and "root" in r.stdout
    r = run_ctl(["--version"])
    assert r.returncode == 0 and "control protocol 1" in r.stdout


def test_bash_completion():
    assert complete("idleclawctl ") == ["chat", "help", "models", "pause", "reload",
                                        "resume", "status"]
    assert complete("idleclawctl st") == ["status"]
    assert complete("idleclawctl --socket /x re") == ["reload", "resume"]
    assert complete("idleclawctl chat --") == ["--help", "--hidethinking", "--json", "--model",
                                               "--raw", "--system", "--think"]
    assert complete("idleclawctl status --") == ["--help", "--json"]
    assert complete("idleclawctl help ch") == ["chat"]
    assert "--socket" in complete("idleclawctl --")


# --- against a fake daemon ---

STATUS = {
    "version": "0.1.0", "uptime_s": 7384, "node_id": "node-abc",
    "router": {"url": "wss://api.idleclaw.com/ws/node", "state": "connected",
               "last_error": "registration refused: too many nodes from this IP"},
    "available": False, "reason": "paused", "paused_until": 0,
    "models": ["llama3.2:3b", "qwen3:8b"], "in_flight": 1, "max_concurrent": 2,
    "served": 42,
    "ollama": {"url": "http://127.0.0.1:11434", "state": "running", "version": "0.6.2"},
    "network": {"health": {"status": "healthy", "uptime_seconds": 90000},
                "models": ["llama3.2:3b", "phi4"]},
    "clients": 3,
}


def status_daemon(req, send):
    if req["cmd"] == "status":
        send(reply(req, "ok", **STATUS))
    elif req["cmd"] == "models":
        send(reply(req, "ok", models=["llama3.2:3b", "phi4"]))
    else:
        send(reply(req, "ok"))


@with_daemon(status_daemon)
def test_status_human_and_json(d):
    r = run_ctl(["status"], socket_path=d.path)
    assert r.returncode == 0, r
    out = r.stdout
    for want in ("idleclawd 0.1.0, up 2h 3m", "node-abc", "wss://api.idleclaw.com/ws/node connected",
                 "last error: registration refused", "available:   no (paused)",
                 "llama3.2:3b, qwen3:8b", "1 in flight (at most 2), 42 served",
                 "http://127.0.0.1:11434 running 0.6.2", "healthy, router up 1d 1h",
                 "llama3.2:3b, phi4", "clients:     3"):
        assert want in out, (want, out)
    req = d.requests_of("status")[0]
    assert req["v"] == 1 and req["args"] == {} and req["id"], req

    r = run_ctl(["--json", "status"], socket_path=d.path)
    assert r.returncode == 0
    j = json.loads(r.stdout)
    assert j["status"] == "ok" and j["node_id"] == "node-abc" and j["served"] == 42
    r = run_ctl(["status", "--json"], socket_path=d.path)
    assert json.loads(r.stdout)["router"]["state"] == "connected"

    r = run_ctl(["models"], socket_path=d.path)
    assert r.returncode == 0 and r.stdout == "llama3.2:3b\nphi4\n", r


@with_daemon(ok_to_everything)
def test_pause_resume_reload_requests(d):
    r = run_ctl(["pause", "10m"], socket_path=d.path)
    assert r.returncode == 0 and "Paused for 600 s" in r.stdout, r
    r = run_ctl(["pause", str(PAUSE_MAX_S)], socket_path=d.path)
    assert r.returncode == 0, r
    r = run_ctl(["pause"], socket_path=d.path)
    assert r.returncode == 0, r
    assert [q["args"] for q in d.requests_of("pause")] == [
        {"seconds": 600}, {"seconds": PAUSE_MAX_S}, {}]
    assert run_ctl(["resume"], socket_path=d.path).returncode == 0
    assert run_ctl(["reload"], socket_path=d.path).returncode == 0
    assert len(d.requests_of("resume")) == 1 and len(d.requests_of("reload")) == 1


def test_exit_codes_from_status_table():
    current = {}

    def behaviour(req, send):
        send(reply(req, current["status"], detail="the detail"))

    d = FakeDaemon(behaviour)
    for status, code in EXIT_CODES.items():
        current["status"] = status
        r = run_ctl(["resume"], socket_path=d.path)
        assert r.returncode == code, (status, code, r)
        if status != "ok":
            # our own fixed sentence (not the daemon's), plus the detail
            assert "sentence of" not in r.stderr, r.stderr
            assert "\n  the detail\n" in r.stderr, r.stderr
    current["status"] = "permission"
    r = run_ctl(["pause"], socket_path=d.path)
    assert "Permission denied" in r.stderr and "sudo" in r.stderr, r.stderr
    # a status from a newer daemon: failed, with the daemon's sentence
    current["status"] = "on_fire"
    r = run_ctl(["resume"], socket_path=d.path)
    assert r.returncode == 1 and "sentence of on_fire" in r.stderr, r


def test_protocol_trouble():
    mode = {}

    def behaviour(req, send):
        m = mode["m"]
        if m == "garbage":
            send("this is not json")
        elif m == "wrong_version":
            send(json.dumps({"v": 2, "id": req["id"], "status": "ok"}))
        elif m == "null_id":        # the daemon refused the line itself
            send(reply(None, "bad_json"))
        elif m == "close":
            raise OSError("hang up")
        elif m == "other_id_first":
            send(reply({"id": "someone-else"}, "failed"))
            send(event(req, "content", text="x"))
            send(reply(req, "ok"))
        # "silent": never answer

    d = FakeDaemon(behaviour)
    mode["m"] = "garbage"
    r = run_ctl(["status"], socket_path=d.path)
    assert r.returncode == 3 and "does not understand" in r.stderr, r
    mode["m"] = "wrong_version"
    assert run_ctl(["status"], socket_path=d.path).returncode == 3
    mode["m"] = "null_id"
    r = run_ctl(["status"], socket_path=d.path)
    assert r.returncode == 3 and "not a JSON object" in r.stderr, r
    mode["m"] = "close"
    r = run_ctl(["status"], socket_path=d.path)
    assert r.returncode == 1 and "closed the connection" in r.stderr, r
    mode["m"] = "other_id_first"
    assert run_ctl(["resume"], socket_path=d.path).returncode == 0
    mode["m"] = "silent"
    t0 = time.monotonic()
    r = run_ctl(["--timeout", "0.3", "status"], socket_path=d.path)
    assert r.returncode == 10 and "no answer from idleclawd" in r.stderr, r
    assert time.monotonic() - t0 < 3


def chat_daemon(req, send):
    if req["cmd"] != "chat":
        send(reply(req, "ok"))
        return
    args = req["args"]
    if args["model"] == "missing":
        send(reply(req, "not_found", detail="no node has model missing"))
        return
    send(event(req, "thinking", text="hmm, "))
    send(event(req, "thinking", text="a greeting"))
    send(event(req, "tool", name="web_search", status="executing"))
    send(event(req, "sparkle", colour="pink"))       # from a newer daemon: ignored
    send(event(req, "content", text="Hel"))
    send(event(req, "content", text="lo: " + args["messages"][-1]["content"]))
    send(event(req, "done", finish_reason="length"))
    send(reply(req, "ok"))


@with_daemon(chat_daemon)
def test_chat_streams(d):
    r = run_ctl(["chat", "-m", "llama3.2:3b", "--think", "--system", "be brief",
                 "hi", "there"], socket_path=d.path)
    assert r.returncode == 0, r
    assert r.stdout == "Hello: be brief\n\nhi there\n", r.stdout
    assert "hmm, a greeting" in r.stderr
    assert "[web_search: executing]" in r.stderr
    assert "[finished: length]" in r.stderr
    assert "sparkle" not in r.stderr + r.stdout
    req = d.requests_of("chat")[0]
    # --system goes in front of the first question (no system role in the network)
    assert req["args"] == {"model": "llama3.2:3b", "think": True, "messages": [
        {"role": "user", "content": "be brief\n\nhi there"}]}, req

    # from stdin, without --think
    r = run_ctl(["chat", "-m", "m"], socket_path=d.path, input="line one\nline two\n")
    assert r.returncode == 0 and r.stdout == "Hello: line one\nline two\n", r
    assert d.requests_of("chat")[1]["args"] == {
        "model": "m", "messages": [{"role": "user", "content": "line one\nline two"}]}

    # nothing on stdin
    r = run_ctl(["chat", "-m", "m"], socket_path=d.path, input="")
    assert r.returncode == 2 and "nothing to send" in r.stderr, r

    # a failing chat: the sentence, the detail, the exit code
    r = run_ctl(["chat", "-m", "missing", "x"], socket_path=d.path)
    assert r.returncode == 7 and "no node has model missing" in r.stderr, r

    # --json: the stream as JSON lines
    r = run_ctl(["--json", "chat", "-m", "m", "x"], socket_path=d.path)
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert lines[0]["event"] == "thinking" and lines[-1]["status"] == "ok", lines


def slow_chat(req, send):
    """Stream forever (until cancelled); answer cancel like the daemon."""
    if req["cmd"] == "chat":
        send(event(req, "content", text="tick "))
        slow_chat.pending = req
        slow_chat.sends.append(send)
        return
    if req["cmd"] == "cancel":
        target = slow_chat.pending
        if target is not None and target["id"] == req["args"]["target"]:
            send(reply(target, "cancelled"))
            send(reply(req, "ok"))
        else:
            send(reply(req, "not_found"))


slow_chat.pending = None
slow_chat.sends = []


def _slow_more(d):
    """Send another event of the running chat (to a reader that left)."""
    for _ in range(50):
        if slow_chat.sends:
            slow_chat.sends[-1](event(slow_chat.pending, "content", text="tock " * 1000))
        time.sleep(0.02)


slow_chat.more = _slow_more


def read_until(fd, want, timeout=5.0):
    """Bytes read from fd (unbuffered) until they contain want."""
    import select
    buf = b""
    deadline = time.monotonic() + timeout
    while want not in buf:
        left = deadline - time.monotonic()
        assert left > 0, "no %r; got %r" % (want, buf)
        if select.select([fd], [], [], left)[0]:
            chunk = os.read(fd, 4096)
            assert chunk, "closed; got %r" % buf
            buf += chunk
    return buf


@with_daemon(slow_chat)
def test_chat_ctrl_c_cancels(d):
    p = start_ctl(["chat", "-m", "m", "count"], d.path)
    wait_until(lambda: d.requests_of("chat"), what="the chat request")
    # Ctrl-C once the first token is on the screen (idleclawctl flushes
    # each one), not after a guessed delay
    shown = read_until(p.stdout.fileno(), b"tick")
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=5)
    out = shown.decode() + out
    assert p.returncode == 130, (p.returncode, err)
    assert_no_sanitizer_report(err)
    chat = d.requests_of("chat")[0]
    cancels = d.requests_of("cancel")
    assert len(cancels) == 1 and cancels[0]["args"] == {"target": chat["id"]}, cancels
    assert cancels[0]["id"] != chat["id"]
    assert out.startswith("tick"), out


@with_daemon(slow_chat)
def test_chat_stdout_closed_cancels(d):
    # `idleclawctl chat ... | head -c1`: the reader goes away mid-answer
    env = dict(os.environ, NO_COLOR="1")
    p = iclib.track_popen(subprocess.Popen([CTL, "--socket", d.path, "chat", "-m", "m", "x"],
                                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, env=env))
    wait_until(lambda: d.requests_of("chat"), what="the chat request")
    p.stdout.close()
    slow_chat.more(d)
    p.wait(timeout=5)
    err = p.stderr.read().decode()
    assert p.returncode == 1, (p.returncode, err)
    assert "cannot write the answer" in err, err
    cancels = d.requests_of("cancel")
    assert cancels and cancels[0]["args"]["target"] == d.requests_of("chat")[0]["id"]


@with_daemon(ok_to_everything)
def test_chat_stdin_limit(d):
    n = LIMITS["IC_MESSAGE_CHARS_MAX"] * 4      # CTL_STDIN_MAX
    r = run_ctl(["chat", "-m", "m"], socket_path=d.path, input="a" * n)
    assert r.returncode == 0, r
    assert len(d.requests_of("chat")[0]["args"]["messages"][0]["content"]) == n
    r = run_ctl(["chat", "-m", "m"], socket_path=d.path, input="a" * (n + 1))
    assert r.returncode == 2 and "longer than %d bytes" % n in r.stderr, r
    assert len(d.requests_of("chat")) == 1


MESSAGES_MAX = LIMITS["IC_MESSAGES_MAX"]


@with_daemon(lambda req, send: echo_chat(req, send))
def test_chat_repl_history_bounded(d):
    p, master = ctl_on_pty(d.path, "chat", "-m", "m")
    term = PtyReader(master)
    turns = MESSAGES_MAX // 2 + 2
    for i in range(turns):
        term.until(">>> ")
        os.write(master, b"q%d\n" % i)
        term.until("Echo: q%d" % i)
    term.until(">>> ")
    os.write(master, b"/bye\n")
    p.wait(timeout=5)
    assert p.returncode == 0
    sent = [c["args"]["messages"] for c in d.requests_of("chat")]
    assert len(sent) == turns
    # the whole conversation while it fits: turn k sends 2k+1 messages
    assert len(sent[MESSAGES_MAX // 2 - 1]) == MESSAGES_MAX - 1
    for msgs in sent:
        assert len(msgs) <= MESSAGES_MAX and msgs[0]["role"] == "user", msgs
        assert msgs[-1]["content"] == "q%d" % sent.index(msgs)
    # then the oldest turns go first
    assert sent[-1][0]["content"] == "q2", sent[-1][:2]
    assert sent[-2][0]["content"] == "q1", sent[-2][:2]


@with_daemon(lambda req, send: echo_chat(req, send))
def test_chat_repl_ctrl_c_at_prompt(d):
    """On a terminal, as `ollama run`: Ctrl-C at an empty prompt says how to
    leave; a second one leaves, with 0 (test_ctl_repl.py has the rest)."""
    p, master = ctl_on_pty(d.path, "chat", "-m", "m")
    term = PtyReader(master)
    term.until(">>> ")
    p.send_signal(signal.SIGINT)
    term.until("Use Ctrl + d or /bye to exit")
    term.until(">>> ")
    assert p.poll() is None
    p.send_signal(signal.SIGINT)
    p.wait(timeout=5)
    assert p.returncode == 0, p.returncode
    assert d.requests_of("chat") == []


@with_daemon(slow_chat)
def test_chat_idle_timeout(d):
    r = run_ctl(["--timeout", "0.3", "chat", "-m", "m", "x"], socket_path=d.path)
    assert r.returncode == 10, r
    assert r.stdout == "tick \n", r.stdout


class PtyReader:
    """What a program writes to its terminal, consumed up to each match."""

    def __init__(self, fd):
        self.fd = fd
        self.buf = b""

    def until(self, want, timeout=5.0):
        import select
        deadline = time.monotonic() + timeout
        while want.encode() not in self.buf:
            left = deadline - time.monotonic()
            assert left > 0, "no %r on the terminal; got %r" % (want, self.buf)
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                assert chunk, "terminal closed; got %r" % self.buf
                self.buf += chunk
        i = self.buf.index(want.encode()) + len(want)
        seen, self.buf = self.buf[:i], self.buf[i:]
        return seen.decode(errors="replace")


def echo_chat(req, send):
    if req["cmd"] == "chat":
        text = req["args"]["messages"][-1]["content"]
        if text == "refuse me":
            send(reply(req, "unavailable", detail="no node"))
            return
        send(event(req, "content", text="Echo: " + text))
        send(event(req, "done", finish_reason="stop"))
    send(reply(req, "ok"))


@with_daemon(echo_chat)
def test_chat_repl_on_terminal(d):
    env = dict(os.environ)
    env["NO_COLOR"] = "1"
    p, master = ctl_on_pty(d.path, "chat", "-m", "m", "--system", "sys", env=env)
    term = PtyReader(master)
    term.until(">>> ")
    os.write(master, b"hello\n")
    term.until("Echo: sys")
    term.until(">>> ")
    # a refused turn is reported and forgotten; the conversation goes on
    os.write(master, b"refuse me\n")
    term.until(">>> ")
    os.write(master, b"\n")            # empty line: skipped
    os.write(master, b"second\n")
    term.until("Echo: second")
    term.until(">>> ")
    os.write(master, b"\x04")          # Ctrl-D
    p.wait(timeout=5)
    err = p.stderr.read().decode()
    assert p.returncode == 0, (p.returncode, err)
    assert "no node" in err, err
    assert_no_sanitizer_report(err)
    chats = d.requests_of("chat")
    assert len(chats) == 3, chats
    assert chats[0]["args"]["messages"] == [{"role": "user", "content": "sys\n\nhello"}]
    assert chats[2]["args"]["messages"] == [
        {"role": "user", "content": "sys\n\nhello"},
        {"role": "assistant", "content": "Echo: sys\n\nhello"},
        {"role": "user", "content": "second"}], chats[2]

