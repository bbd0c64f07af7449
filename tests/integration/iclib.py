# SPDX-License-Identifier: AGPL-3.0-or-later
"""Shared helpers for IdleClaw integration tests.

Tests run the real binaries on loopback ports.  Paths come from the
environment that `make check` sets (IC_BUILDDIR, IC_SRCDIR); run by hand,
they default to ./build and the source tree.  Part-specific helpers live in
their own modules beside this one (routerlib.py, daemonlib.py, ...).

Everything that runs beside a test (a Proc, a stand-in server thread)
registers itself with track(); conftest.py stops what is still running at
the end of each test (cleanup()) and shows the logs of the test's programs
when it failed (procs()).
"""
import os
import shutil
import signal as _signal
import socket
import subprocess
import tempfile
import time

SRCDIR = os.environ.get("IC_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILDDIR = os.environ.get("IC_BUILDDIR") or os.path.join(SRCDIR, "build")

# What the current test started: [(object, stop function)], oldest first,
# and its programs (for their logs).  Outside pytest nobody clears them.
_tracked = []
_procs = []
# Set by conftest.py: Proc.close() keeps the log file for the failure
# report; discard_logs() removes them once the test is reported.
KEEP_LOGS = False


def track(obj, stop=None):
    """Have the harness stop obj (stop(), default obj.close()) at the end of
    the test that created it, newest first, if the test did not."""
    _tracked.append((obj, stop or obj.close))
    return obj


def track_popen(p):
    """track() a subprocess.Popen: killed at the end of the test if running."""
    def stop():
        if p.poll() is None:
            p.kill()
        p.wait()
        for f in (p.stdin, p.stdout, p.stderr):
            if f is not None:
                f.close()
    return track(p, stop)


def cleanup():
    """Stop everything tracked (newest first); return the errors."""
    errors = []
    while _tracked:
        _, stop = _tracked.pop()
        try:
            stop()
        except Exception as e:  # noqa: BLE001 - stop the rest anyway
            errors.append(e)
    return errors


def call_passed(request):
    """In a pytest fixture's teardown: did the test itself pass?  (A clean
    exit is checked only then; a failure is reported already.)"""
    rep = getattr(request.node, "rep_call", None)
    return rep is not None and rep.passed


def maker_fixture(cls, doc):
    """A pytest fixture make(*args, **kw) -> cls(*args, **kw) whose objects'
    close() runs after a passed test (a clean exit is checked only then;
    the harness stops whatever is left either way)."""
    import pytest

    @pytest.fixture
    def fixture(request):
        made = []

        def make(*args, **kw):
            made.append(cls(*args, **kw))
            return made[-1]
        yield make
        if call_passed(request):
            for m in made:
                m.close()
    fixture.__doc__ = doc
    return fixture


def procs():
    """The programs started since the last discard_logs()."""
    return list(_procs)


def discard_logs():
    while _procs:
        _procs.pop()._unlink_log()


def binary(relpath):
    """Absolute path of a built program, e.g. binary('router/idleclaw-routerd')."""
    return os.path.join(BUILDDIR, relpath)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0, host="127.0.0.1", proc=None):
    """Wait until something accepts on host:port; fail if proc exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError("%s exited with %s before listening on %d"
                                 % (proc.name, proc.returncode, port))
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nothing listening on %s:%d after %.0fs" % (host, port, timeout))


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    """Poll predicate() until it is true; fail with `what` after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))


class Proc:
    """A program under test: stderr goes to a temp file we can search."""

    def __init__(self, name, argv, env=None, **kw):
        self.name = name
        self.errfile = tempfile.NamedTemporaryFile(
            prefix="ic-%s-" % name, suffix=".log", delete=False)
        full_env = dict(os.environ)
        full_env.pop("NOTIFY_SOCKET", None)
        full_env.pop("JOURNAL_STREAM", None)
        if env:
            full_env.update(env)
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                  stdout=kw.pop("stdout", self.errfile),
                                  stderr=self.errfile, env=full_env, **kw)
        self.pid = self.p.pid
        _procs.append(self)
        track(self)

    @property
    def returncode(self):
        return self.p.returncode

    def poll(self):
        return self.p.poll()

    def log(self):
        with open(self.errfile.name, errors="replace") as f:
            return f.read()

    def signal(self, sig):
        self.p.send_signal(sig)

    def stop(self, sig=_signal.SIGTERM, timeout=15.0):
        """Signal the program and return its exit code (kill after timeout)."""
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
                raise AssertionError("%s did not exit %.0fs after signal %d\n%s"
                                     % (self.name, timeout, sig, self.log()))
        return self.p.returncode

    def close(self):
        """Kill the program if it still runs (no checks)."""
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.errfile.close()
        if not KEEP_LOGS:
            self._unlink_log()

    def _unlink_log(self):
        try:
            os.unlink(self.errfile.name)
        except OSError:
            pass

    def assert_clean_exit(self, timeout=15.0):
        """SIGTERM, expect exit 0 and no sanitizer report."""
        rc = self.stop(timeout=timeout)
        log = self.log()
        assert "ERROR: AddressSanitizer" not in log, log
        assert "runtime error:" not in log, log
        assert "ERROR: LeakSanitizer" not in log, log
        assert rc == 0, "%s exited %s\n%s" % (self.name, rc, log)


class Caddy(Proc):
    """Caddy (the Debian package) run with a Caddyfile: caddyfile is a
    %-format with %(dir)s (a temp dir for its storage) and %(port)d (a
    free port for its site).  tls: wait for its internal CA's root
    certificate too (self.root)."""

    def __init__(self, caddyfile, tls=False):
        self.dir = tempfile.mkdtemp(prefix="ic-caddy-")
        self.port = free_port()
        conf = os.path.join(self.dir, "Caddyfile")
        with open(conf, "w") as f:
            f.write(caddyfile % {"dir": self.dir, "port": self.port})
        env = {"HOME": self.dir, "XDG_DATA_HOME": self.dir, "XDG_CONFIG_HOME": self.dir}
        super().__init__("caddy", [shutil.which("caddy") or "caddy", "run", "--config", conf,
                                   "--adapter", "caddyfile"], env=env)
        wait_port(self.port, timeout=20, proc=self)
        self.root = None
        if tls:
            self.root = os.path.join(self.dir, "data", "pki", "authorities", "local",
                                     "root.crt")
            wait_for(lambda: os.path.exists(self.root), what="caddy root certificate")

    def close(self):
        super().close()
        shutil.rmtree(self.dir, ignore_errors=True)


class NotifySocket:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ic-notify-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []
        track(self)

    def read(self, timeout=0.0):
        """Collect datagrams for up to timeout seconds; return all so far."""
        self.sock.settimeout(timeout if timeout > 0 else 0.001)
        deadline = time.monotonic() + timeout
        while True:
            try:
                data = self.sock.recv(4096).decode()
                self.messages.extend(data.split("\n"))
            except (socket.timeout, BlockingIOError):
                if time.monotonic() >= deadline:
                    break
        return self.messages

    def wait_for(self, line, timeout=10.0):
        """Wait until a datagram line equal to (or starting with) `line`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.read(0.1):
                if m == line or (line.endswith("=") and m.startswith(line)):
                    return m
        raise AssertionError("no %r from NOTIFY_SOCKET; got %r" % (line, self.messages))

    def close(self):
        self.sock.close()
        try:
            os.unlink(self.path)
            os.rmdir(self.dir)
        except OSError:
            pass

