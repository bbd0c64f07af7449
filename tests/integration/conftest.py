# SPDX-License-Identifier: AGPL-3.0-or-later
"""The integration tests' harness (pytest, Debian's python3-pytest).

- Every program and stand-in a test starts registers itself with iclib
  (iclib.track): whatever still runs when a test ends is stopped, whether
  the test passed, failed or was interrupted.
- One hook (pytest_runtest_makereport) attaches the logs of the programs a
  failed test started to its report.
- async def tests run in a fresh event loop each (pytest_pyfunc_call).
- Fixtures start the programs: fake_ollama, router (options from the
  `router` mark), make_router, daemon, stand_in_router, fake_daemon,
  idleclawctl, caddy, notify.
- With IC_TAP_FD set (tests/integration/run-pytest), each test is also
  reported as a TAP line on that descriptor, so that automake counts
  every test; --shard=K/N runs every Nth test from the Kth.

docs/architecture.md ("Tests") says how to write and run a test.
"""
import asyncio
import inspect
import os
import shutil
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import iclib  # noqa: E402
import ctllib  # noqa: E402
import daemonlib  # noqa: E402  (puts tests/fake-ollama on sys.path)
import routerlib  # noqa: E402
from fakeollama import FakeOllama  # noqa: E402

# A hung async test fails after this long instead of blocking the run.
ASYNC_TIMEOUT_S = 60
# Bytes of each program's log shown for a failed test (the end of it).
LOG_TAIL = 30000


def pytest_configure(config):
    iclib.KEEP_LOGS = True
    config.addinivalue_line(
        "markers", "router(**opts): [router] options of the `router` fixture "
        "(fast=False: without routerlib.FAST; env={...}: environment)")
    fd = os.environ.get("IC_TAP_FD")
    if fd:
        config.pluginmanager.register(TapReport(int(fd)), "ic-tap")


def pytest_addoption(parser):
    parser.addoption("--shard", default="1/1", metavar="K/N",
                     help="run every Nth test, from the Kth (make check runs "
                     "the parts at once)")


def pytest_collection_modifyitems(config, items):
    k, n = (int(x) for x in config.getoption("shard").split("/"))
    if not 1 <= k <= n:
        raise pytest.UsageError("--shard=K/N needs 1 <= K <= N")
    if n > 1:
        keep = items[k - 1::n]
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run an async def test to completion in its own event loop."""
    fn = pyfuncitem.obj
    if not inspect.iscoroutinefunction(fn):
        return None
    args = {a: pyfuncitem.funcargs[a] for a in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(asyncio.wait_for(fn(**args), ASYNC_TIMEOUT_S))
    return True


@pytest.fixture(autouse=True)
def _stop_everything():
    """Stop what the test left running (newest first)."""
    yield
    errors = iclib.cleanup()
    if errors:
        raise errors[0]


def _tail(text):
    if len(text) <= LOG_TAIL:
        return text
    return "[... %d bytes before]\n%s" % (len(text) - LOG_TAIL, text[-LOG_TAIL:])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """The one place that shows logs: each program the test started, on
    failure; the log files go once the test is reported."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
    if rep.failed:
        for p in iclib.procs():
            state = "running" if p.poll() is None else "exit %s" % p.returncode
            rep.sections.append(("log of %s, pid %d (%s)" % (p.name, p.pid, state),
                                 _tail(p.log())))
    if rep.when == "teardown":
        iclib.discard_logs()


# --- fixtures: each starts a program; the harness stops it ---

@pytest.fixture
def fake_ollama():
    """fake_ollama(*flags) -> fakeollama.FakeOllama (docs/fake-ollama.md)."""
    return FakeOllama


@pytest.fixture
def make_router():
    """make_router(**opts) -> routerlib.Router with [router] opts."""
    return routerlib.Router


@pytest.fixture
def router(request):
    """idleclaw-routerd with the options of the closest `router` mark; it
    must exit cleanly (exit 0, no sanitizer report) after a passed test."""
    mark = request.node.get_closest_marker("router")
    r = routerlib.Router(**(mark.kwargs if mark else {}))
    yield r
    if iclib.call_passed(request) and r.poll() is None:
        r.assert_clean_exit()


@pytest.fixture
def daemon():
    """daemon(server, ollama, **opts) -> daemonlib.Daemon (not yet ready:
    call .wait_ready())."""
    return daemonlib.Daemon


@pytest.fixture
def stand_in_router():
    """stand_in_router(features=None, ...) -> daemonlib.StandInRouter."""
    return daemonlib.StandInRouter


@pytest.fixture
def fake_daemon():
    """fake_daemon(behaviour) -> ctllib.FakeDaemon."""
    return ctllib.FakeDaemon


class _Ctl:
    """idleclawctl: run(args, socket_path) to completion (CompletedProcess),
    start(args, socket_path) in the background (a Popen)."""
    run = staticmethod(ctllib.run_ctl)
    start = staticmethod(ctllib.start_ctl)


@pytest.fixture
def idleclawctl():
    return _Ctl()


@pytest.fixture
def caddy():
    """caddy(caddyfile, tls=False) -> iclib.Caddy; skips without caddy."""
    if not shutil.which("caddy"):
        pytest.skip("caddy not installed")
    return iclib.Caddy


@pytest.fixture
def notify():
    """A NOTIFY_SOCKET stand-in (iclib.NotifySocket)."""
    return iclib.NotifySocket()


class TapReport:
    """One TAP line per test on a file descriptor (automake's tap-driver)."""

    def __init__(self, fd):
        self.out = os.fdopen(fd, "w", buffering=1)
        self.n = 0
        self.failed = {}
        self.skipped = {}

    def pytest_runtest_logreport(self, report):
        if report.failed:
            self.failed[report.nodeid] = report.when
        elif report.skipped and report.nodeid not in self.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
            self.skipped[report.nodeid] = str(reason).replace("\n", " ")

    def pytest_runtest_logfinish(self, nodeid, location):
        self.n += 1
        if nodeid in self.failed:
            when = self.failed[nodeid]
            self.out.write("not ok %d - %s%s\n" % (
                self.n, nodeid, "" if when == "call" else " (%s)" % when))
        elif nodeid in self.skipped:
            self.out.write("ok %d - %s # SKIP %s\n" % (self.n, nodeid, self.skipped[nodeid]))
        else:
            self.out.write("ok %d - %s\n" % (self.n, nodeid))

    def pytest_collectreport(self, report):
        if report.failed:
            self.n += 1
            self.out.write("not ok %d - collecting %s\n" % (self.n, report.nodeid))

    def pytest_sessionfinish(self, session, exitstatus):
        self.out.write("1..%d\n" % self.n)
        self.out.flush()
