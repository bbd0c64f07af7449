#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""idleclawctl against the real idleclawd, with idleclaw-routerd and
fake-ollama on loopback: every command end to end, the status table's exit
codes, SO_PEERCRED refusal of privileged commands, Ctrl-C cancelling a chat
all the way to Ollama."""
import grp
import json
import os
import signal
import stat
import subprocess
import time

import pytest

import daemonlib as dl
import routerlib
from ctllib import CTL, assert_no_sanitizer_report, run_ctl, start_ctl
from daemonlib import iclib

MODEL = "llama3.2:latest"
NOBODY = 65534


class Net:
    """routerd + fake-ollama (fo_args) + idleclawd, the model listed."""

    def __init__(self, *fo_args, **opts):
        self.router = routerlib.Router()
        self.fo = dl.FakeOllama(*fo_args)
        self.d = dl.Daemon("http://127.0.0.1:%d" % self.router.port,
                           self.fo.url, **opts).wait_ready()
        self.sock = self.d.sock
        iclib.wait_for(lambda: MODEL in self.ctl("models").stdout.split(), timeout=15,
                       what="model listed by the router")

    def ctl(self, *args, **kw):
        return run_ctl(list(args), socket_path=self.sock, **kw)

    def close(self):
        """The end of a passed test: the daemon exits cleanly, the rest stop."""
        self.d.assert_clean_exit()
        self.fo.proc.stop()
        self.router.close()


def run(fn, *fo_args, **opts):
    """fn(net) on a fresh Net ([daemon] opts); then everything must exit
    cleanly."""
    n = Net(*fo_args, **opts)
    fn(n)
    n.close()


def test_commands():
    def t(n):
        st = os.stat(n.sock)
        assert stat.S_ISSOCK(st.st_mode) and st.st_mode & 0o777 == 0o660, oct(st.st_mode)

        r = n.ctl("status")
        assert r.returncode == 0, r
        for want in ("idleclawd ", "test-node", "connected", MODEL, "available:",
                     "requests:", "network:"):
            assert want in r.stdout, (want, r.stdout)
        j = json.loads(n.ctl("--json", "status").stdout)
        assert j["status"] == "ok" and j["node_id"] == "test-node", j

        r = n.ctl("chat", "-m", MODEL, "one", "two", "three")
        assert r.returncode == 0 and r.stdout == "one two three\n", r
        r = n.ctl("chat", "-m", MODEL, input="from stdin\n")
        assert r.returncode == 0 and r.stdout == "from stdin\n", r
        # --system reaches Ollama in front of the question
        r = n.ctl("chat", "-m", MODEL, "--system", "be brief", "hi")
        assert r.returncode == 0 and r.stdout == "be brief\n\nhi\n", r
        r = n.ctl("chat", "-m", "nope:1", "x")
        assert r.returncode == 8 and "cannot serve" in r.stderr, r
        # refused by the daemon's argument check: too long a model name
        r = n.ctl("chat", "-m", "m" * (dl.LIMITS["IC_MODEL_NAME_MAX"] + 1), "x")
        assert r.returncode == 2 and "model" in r.stderr, r

        r = n.ctl("pause", "60")
        assert r.returncode == 0, r
        assert "available:   no" in n.ctl("status").stdout
        j = json.loads(n.ctl("--json", "status").stdout)
        assert j["available"] is False and j.get("paused_until", 0) > time.time(), j
        assert n.ctl("resume").returncode == 0
        j = json.loads(n.ctl("--json", "status").stdout)
        assert j.get("paused_until", 0) == 0 and j["available"] is True, j
        r = n.ctl("reload")
        assert r.returncode == 0, r
    run(t, "--echo")


def as_nobody():
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def test_privilege_by_peer_credentials():
    if os.geteuid() != 0:
        pytest.skip("not root: cannot run a client as another user")

    def t(n):
        # The socket's mode keeps strangers out; open it so that only
        # SO_PEERCRED decides (what a member of the idleclaw group sees).
        os.chmod(os.path.dirname(n.sock), 0o711)
        os.chmod(n.sock, 0o666)
        env = dict(os.environ, NO_COLOR="1")
        for cmd, code in (["pause"], 5), (["resume"], 5), (["reload"], 5), (["status"], 0):
            r = subprocess.run([CTL, "--socket", n.sock] + cmd, capture_output=True,
                               text=True, env=env, preexec_fn=as_nobody, timeout=10)
            assert r.returncode == code, (cmd, r)
            assert_no_sanitizer_report(r.stderr)
            if code == 5:
                assert "Permission denied" in r.stderr and "sudo" in r.stderr, r.stderr
        # still available: the refused pause did nothing
        assert json.loads(n.ctl("--json", "status").stdout)["available"] is not None
        assert "paused" not in json.loads(n.ctl("--json", "status").stdout).get("reason", "")
        # with the socket's real mode, a stranger cannot even connect
        os.chmod(n.sock, 0o660)
        r = subprocess.run([CTL, "--socket", n.sock, "status"], capture_output=True,
                           text=True, env=env, preexec_fn=as_nobody, timeout=10)
        assert r.returncode == 5 and "idleclaw group" in r.stderr, r
    run(t, "--echo")


def setpriv(gid, groups):
    """The argv prefix that runs a program as nobody with primary group gid
    and exactly the supplementary groups given (util-linux's setpriv)."""
    return (["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % gid] +
            (["--groups=" + ",".join("%d" % g for g in groups)] if groups
             else ["--clear-groups"]) + ["--"])


def test_control_group_members_are_privileged():
    """Members of [daemon] control_group may pause, resume and reload, by a
    supplementary group (as `adduser USER idleclaw` makes them) or their
    primary one; a user in other groups only may not, but may read the
    status.  Debian's group "users" stands in for idleclaw."""
    if os.geteuid() != 0:
        pytest.skip("not root: cannot run a client as another user")
    try:
        users = grp.getgrnam("users").gr_gid
    except KeyError:
        pytest.skip("no group \"users\"")
    others = [g for g in (24, 25, 29, 44, 46) if g != users]

    def t(n):
        # strangers may connect too, so that only the credentials decide
        os.chmod(os.path.dirname(n.sock), 0o711)
        os.chmod(n.sock, 0o666)
        assert os.stat(n.sock).st_gid == users
        env = dict(os.environ, NO_COLOR="1")

        def ctl(prefix, *args):
            r = subprocess.run(prefix + [CTL, "--socket", n.sock] + list(args),
                               capture_output=True, text=True, env=env, timeout=10)
            assert_no_sanitizer_report(r.stderr)
            return r

        def paused():
            return json.loads(n.ctl("--json", "status").stdout).get("paused_until", 0) != 0

        for member in (setpriv(NOBODY, others + [users]), setpriv(NOBODY, [users]),
                       setpriv(users, [])):
            r = ctl(member, "pause", "60")
            assert r.returncode == 0, (member, r)
            assert paused()
            r = ctl(member, "resume")
            assert r.returncode == 0, (member, r)
            assert not paused()
            r = ctl(member, "reload")
            assert r.returncode == 0, (member, r)
        for stranger in (setpriv(NOBODY, others), setpriv(NOBODY, [])):
            for cmd in (["pause", "60"], ["resume"], ["reload"]):
                r = ctl(stranger, *cmd)
                assert r.returncode == 5, (stranger, cmd, r)
                assert "Permission denied" in r.stderr and "idleclaw group" in r.stderr, r
            assert not paused()
            r = ctl(stranger, "status")
            assert r.returncode == 0 and "test-node" in r.stdout, (stranger, r)
    run(t, "--echo", control_group="users")


def test_ctrl_c_cancels_upstream():
    def t(n):
        p = start_ctl(["chat", "-m", MODEL, "long"], n.sock)
        first = p.stdout.read(1)        # the answer has started
        assert first, p.stderr.read()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=10)
        assert p.returncode == 130, (p.returncode, err)
        assert_no_sanitizer_report(err)
        assert n.fo.wait_cancelled(1) == [MODEL]
        iclib.wait_for(lambda: json.loads(n.ctl("--json", "status").stdout)["in_flight"] == 0,
                       what="idle node")
    run(t, "--delay-ms", "100", "--tokens", "200")

