# SPDX-License-Identifier: AGPL-3.0-or-later
"""Helpers for idleclawctl's integration tests (tests/integration/test_ctl.py).

FakeDaemon listens on a UNIX socket in a temp dir and speaks the control
protocol (docs/control.md) with a behaviour the test supplies, so that
idleclawctl can be tested alone: rendering, streaming, exit codes, Ctrl-C.
"""
import json
import os
import socket
import subprocess
import tempfile
import threading
import time

import iclib

CTL = iclib.binary("ctl/idleclawctl")

# The status table of common/ctlproto.h, as docs/control.md lists it.
EXIT_CODES = {
    "ok": 0, "bad_json": 3, "bad_version": 4, "bad_request": 3,
    "unknown_command": 4, "bad_args": 2, "too_long": 3, "permission": 5,
    "busy": 6, "not_found": 7, "unavailable": 8, "failed": 1,
    "cancelled": 9, "timeout": 10, "shutting_down": 8,
}


def reply(req, status="ok", **members):
    msg = {"v": 1, "id": req.get("id") if req else None, "status": status,
           "message": "sentence of %s" % status}
    msg.update(members)
    return msg


def event(req, event_type, **members):
    msg = {"v": 1, "id": req["id"], "event": event_type}
    msg.update(members)
    return msg


class FakeDaemon:
    """behaviour(req, send) is called for every request line; send(obj)
    writes one message (a dict, or a raw str line)."""

    def __init__(self, behaviour):
        self.dir = tempfile.mkdtemp(prefix="ic-ctl-")
        self.path = os.path.join(self.dir, "ctl.sock")
        self.behaviour = behaviour
        self.requests = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        iclib.track(self)

    def _serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn):
        f = conn.makefile("rb")

        def send(obj):
            line = obj if isinstance(obj, str) else json.dumps(obj)
            try:
                conn.sendall(line.encode() + b"\n")
            except OSError:
                pass

        try:
            for raw in f:
                req = json.loads(raw)
                with self.lock:
                    self.requests.append(req)
                self.behaviour(req, send)
        except (OSError, ValueError):
            pass
        finally:
            conn.close()

    def requests_of(self, cmd):
        with self.lock:
            return [r for r in self.requests if r.get("cmd") == cmd]

    def close(self):
        if self.stopping:
            return
        self.stopping = True
        self.sock.close()
        self.thread.join(2)
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.rmdir(self.dir)


def run_ctl(args, socket_path=None, input=None, env=None, timeout=10):
    """Run idleclawctl; return CompletedProcess with text stdout/stderr."""
    argv = [CTL]
    if socket_path is not None:
        argv += ["--socket", socket_path]
    full_env = dict(os.environ)
    full_env.pop("IDLECLAW_SOCKET", None)
    full_env["NO_COLOR"] = "1"
    if env:
        full_env.update(env)
    r = subprocess.run(argv + list(args), input=input if input is not None else "",
                       capture_output=True, text=True, env=full_env, timeout=timeout)
    assert_no_sanitizer_report(r.stderr)
    return r


def complete(line):
    """What the bash completion offers for the words of `line` (last word
    being completed)."""
    script = os.path.join(iclib.SRCDIR, "ctl", "idleclawctl.bash-completion")
    words = line.split(" ")
    bash = ("source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _idleclawctl; "
            "printf '%%s\\n' \"${COMPREPLY[@]}\"" % (
                script, " ".join("'%s'" % w for w in words), len(words) - 1))
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(CTL) + ":" + env.get("PATH", "")
    r = subprocess.run(["bash", "-c", bash], capture_output=True, text=True, env=env,
                       timeout=10)
    assert r.returncode == 0, r.stderr
    return sorted(x for x in r.stdout.split("\n") if x)


def assert_no_sanitizer_report(stderr):
    for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        assert bad not in stderr, stderr


def start_ctl(args, socket_path):
    """Start idleclawctl in the background (for signals)."""
    env = dict(os.environ)
    env["NO_COLOR"] = "1"
    return iclib.track_popen(subprocess.Popen(
        [CTL, "--socket", socket_path] + list(args), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))


def wait_until(pred, timeout=5.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)
