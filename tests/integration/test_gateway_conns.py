#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The gateway's connections (daemon/gateway-conn.c): caps in all
([gateway] max_connections) and per client address with allow_remote
(max_connections_per_ip), a deadline for a whole request
(request_timeout) however slowly its bytes drip, and a flood of
connections that never finish their headers while the daemon runs under
`prlimit --nofile=1024:1024`: the daemon does not spin, root's
`idleclawctl status` answers and a chat still relays.

Raw sockets throughout: the clients here misbehave on purpose."""
import resource
import select
import socket
import subprocess
import time

import ctllib
import daemonlib as dl
from daemonlib import LIMITS, iclib

MODEL = "llama3.2:latest"
NOWHERE = "http://127.0.0.1:9"
HALF_HEAD = b"GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\n"


def gateway(port, **keys):
    """A daemon with only its gateway of use (no router, no Ollama)."""
    d = dl.Daemon(NOWHERE, NOWHERE, args=dl.gateway_args(port, **keys)).wait_ready()
    iclib.wait_port(port, proc=d)
    return d


def hold(port, src="127.0.0.1"):
    """A connection from src that never finishes its headers."""
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.sendall(HALF_HEAD)
    return s


def ask(port, src="127.0.0.1", timeout=15):
    """GET /api/version on a new connection from src: (status, text)."""
    with socket.socket() as s:
        s.settimeout(timeout)
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Connection: close\r\n\r\n")
        buf = b""
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                buf += d
        except ConnectionResetError:
            pass
    text = buf.decode(errors="replace")
    status = int(text.split(" ", 2)[1]) if text.startswith("HTTP/1.1 ") else 0
    return status, text


def closed_after(s, drip, limit):
    """Send drip's bytes one a second on s until the daemon closes s;
    seconds it took (None if still open after limit seconds) and what the
    daemon wrote."""
    t0 = time.monotonic()
    got = b""
    s.settimeout(1.0)
    for b in drip:
        if time.monotonic() - t0 > limit:
            return None, got
        try:
            s.sendall(bytes([b]))
            d = s.recv(65536)
            got += d
            if not d:
                return time.monotonic() - t0, got
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - t0, got
    return None, got


def test_config_keys():
    def check(*o):
        argv = [iclib.binary("daemon/idleclawd"), "--check-config", "--config",
                "/nonexistent"]
        for x in o:
            argv += ["-o", x]
        return subprocess.run(argv, capture_output=True, text=True, timeout=30)
    out = check()
    assert out.returncode == 0, out.stderr
    assert "max_connections = %d" % LIMITS["IC_GATEWAY_CONNS_DEFAULT"] in out.stdout
    assert "max_connections_per_ip = %d" % LIMITS["IC_GATEWAY_CONNS_PER_IP_DEFAULT"] \
        in out.stdout
    assert "request_timeout = %d" % LIMITS["IC_GATEWAY_REQUEST_TIMEOUT_DEFAULT_S"] \
        in out.stdout
    top = LIMITS["IC_GATEWAY_CONNS_MAX"]
    for key in ("max_connections", "max_connections_per_ip"):
        assert check("gateway.%s=%d" % (key, top)).returncode == 0
        bad = check("gateway.%s=%d" % (key, top + 1))
        assert bad.returncode == 1 and key in bad.stderr, bad
        assert check("gateway.%s=0" % key).returncode == 1
    top = LIMITS["IC_GATEWAY_REQUEST_TIMEOUT_MAX_S"]
    assert check("gateway.request_timeout=%d" % top).returncode == 0
    assert check("gateway.request_timeout=%d" % (top + 1)).returncode == 1
    assert check("gateway.request_timeout=0").returncode == 1
    # the unit's LimitNOFILE is the one limits.h names, and fits the caps
    unit = open(iclib.SRCDIR + "/systemd/idleclawd.service").read()
    assert "\nLimitNOFILE=%d\n" % LIMITS["IC_DAEMON_NOFILE"] in unit
    assert LIMITS["IC_GATEWAY_CONNS_MAX"] + LIMITS["IC_DAEMON_FDS_RESERVED"] \
        < LIMITS["IC_DAEMON_NOFILE"]


def test_max_connections_n_and_n_plus_1():
    n = 4
    port = iclib.free_port()
    d = gateway(port, max_connections=n, request_timeout=120)
    held = [hold(port) for _ in range(n - 1)]
    status, text = ask(port)                  # the Nth connection
    assert status == 200 and '"version"' in text, text
    held.append(hold(port))                   # N held: the next is one too many
    status, text = ask(port)
    assert status == 503, text
    assert "max_connections = %d" % n in text and "Retry-After: 5" in text, text
    held.pop().close()                        # one closes: room again
    iclib.wait_for(lambda: ask(port)[0] == 200, what="a connection accepted again")
    for s in held:
        s.close()
    d.assert_clean_exit()


def test_max_connections_per_ip_n_and_n_plus_1():
    n = 3
    port = iclib.free_port()
    d = gateway(port, allow_remote="yes", max_connections=10,
                max_connections_per_ip=n, request_timeout=120)
    held = [hold(port) for _ in range(n - 1)]
    assert ask(port)[0] == 200                # the Nth from 127.0.0.1
    held.append(hold(port))
    status, text = ask(port)                  # N+1 from 127.0.0.1
    assert status == 503 and "max_connections_per_ip = %d" % n in text, text
    status, text = ask(port, src="127.0.0.2")  # another address is not counted
    assert status == 200, text
    for s in held:
        s.close()
    d.assert_clean_exit()


def test_max_connections_fits_the_descriptor_limit():
    """A cap the descriptor limit cannot hold is lowered to what it leaves
    beside the daemon's reserve, and the log says so."""
    nofile = 2 * LIMITS["IC_DAEMON_FDS_RESERVED"] + 40
    n = nofile - LIMITS["IC_DAEMON_FDS_RESERVED"]
    port = iclib.free_port()
    old = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, old[1]))
    try:                                      # the daemon inherits it
        d = dl.Daemon(NOWHERE, NOWHERE, args=dl.gateway_args(
            port, max_connections=n + 20, request_timeout=120))
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, old)
    d.wait_ready()
    iclib.wait_port(port, proc=d)
    held = [hold(port) for _ in range(n - 1)]
    assert ask(port)[0] == 200
    held.append(hold(port))
    status, text = ask(port)
    assert status == 503 and "max_connections = %d" % n in text, text
    assert "max_connections = %d does not fit the descriptor limit" % (n + 20) in d.log()
    assert "raise LimitNOFILE" in d.log()
    for s in held:
        s.close()
    d.assert_clean_exit()


def test_per_ip_cap_needs_allow_remote():
    """On loopback only every client is 127.0.0.1: only the cap in all counts."""
    port = iclib.free_port()
    d = gateway(port, max_connections=10, max_connections_per_ip=1, request_timeout=120)
    held = [hold(port) for _ in range(3)]
    assert ask(port)[0] == 200
    for s in held:
        s.close()
    d.assert_clean_exit()


def test_request_deadline_dripping_headers_and_body():
    """evhttp's timeout is an idle one: a byte a second would keep a request
    open for ever.  request_timeout bounds the whole request."""
    t = 3
    port = iclib.free_port()
    d = gateway(port, request_timeout=t)
    # headers, one byte a second
    s = socket.create_connection(("127.0.0.1", port))
    took, got = closed_after(s, b"GET /api/version HTTP/1.1\r\n" + b"X-Slow: " + b"a" * 200, 30)
    s.close()
    assert took is not None, "a dripping client was never disconnected"
    assert t - 0.5 <= took <= t + 10, took
    assert got.startswith(b"HTTP/1.1 408 ") and b"request_timeout" in got, got
    # a body, one byte a second after whole headers
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 500\r\n\r\n")
    took, got = closed_after(s, b"{" + b" " * 499, 30)
    s.close()
    assert took is not None and took <= t + 10, took
    assert got.startswith(b"HTTP/1.1 408 "), got
    # within the deadline, a slow request is answered; then the connection
    # is kept for the next request, for request_timeout seconds again
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(15)
    for part in (b"GET /api/version HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n", b"\r\n"):
        s.sendall(part)
        time.sleep(0.4)
    buf = s.recv(65536)
    t0 = time.monotonic()
    while True:
        more = s.recv(65536)
        if not more:
            break
        buf += more
    # idle after its answer: closed after request_timeout, without a 408
    assert buf.startswith(b"HTTP/1.1 200 ") and buf.count(b"HTTP/1.1") == 1, buf
    assert t - 0.5 <= time.monotonic() - t0 <= t + 10
    s.close()
    d.assert_clean_exit()


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])    # utime, stime (fields 14, 15)


def test_accept_error_pauses():
    """accept() failing (EMFILE) pauses accepting for a second instead of
    retrying at once for ever; once descriptors are back, the waiting
    client is served."""
    port = iclib.free_port()
    d = gateway(port)
    old = resource.prlimit(d.pid, resource.RLIMIT_NOFILE)
    resource.prlimit(d.pid, resource.RLIMIT_NOFILE, (3, old[1]))   # no new descriptor
    try:
        s = socket.create_connection(("127.0.0.1", port))   # waits in the backlog
        s.sendall(b"GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Connection: close\r\n\r\n")
        d.wait_log("gateway: accept failed: Too many open files; pausing")
        time.sleep(0.5)
        t0, c0 = time.monotonic(), cpu_ticks(d.pid)
        time.sleep(3)
        ticks = cpu_ticks(d.pid) - c0
        assert ticks < 0.15 * 100 * (time.monotonic() - t0), \
            "%d ticks of CPU in %.1f s with accept() failing" % (ticks, time.monotonic() - t0)
        assert d.log().count("gateway: accept failed") <= 10, d.log()[-3000:]
    finally:
        resource.prlimit(d.pid, resource.RLIMIT_NOFILE, old)
    s.settimeout(15)
    assert s.recv(65536).startswith(b"HTTP/1.1 200 ")
    s.close()
    d.assert_clean_exit()


def test_flood_under_nofile_1024(tmp_path):
    """The issue's reproduction: 1,100 connections that never finish their
    headers, the daemon under a limit of 1,024 descriptors."""
    r = dl.StandInRouter(features=["models_update", "available"])
    fo = dl.FakeOllama("--echo")
    port = iclib.free_port()
    d = dl.Daemon(r.url, fo.url, args=dl.gateway_args(port))
    resource.prlimit(d.pid, resource.RLIMIT_NOFILE, (1024, 1024))
    d.wait_ready()
    iclib.wait_port(port, proc=d)
    r.wait_type("register")
    flood = []
    for _ in range(1100):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        flood.append(s)
    # each sends half a request as soon as it is connected
    pending = {s.fileno(): s for s in flood}
    p = select.poll()
    for fd in pending:
        p.register(fd, select.POLLOUT)
    deadline = time.monotonic() + 10
    while pending and time.monotonic() < deadline:
        for fd, ev in p.poll(200):
            s = pending.pop(fd, None)
            p.unregister(fd)
            if s is not None and ev & select.POLLOUT:
                try:
                    s.send(HALF_HEAD)
                except OSError:
                    pass
    time.sleep(1)
    # the daemon does not spin: generous, a spinning loop takes a whole core
    t0, c0 = time.monotonic(), cpu_ticks(d.pid)
    time.sleep(4)
    ticks = cpu_ticks(d.pid) - c0
    hz = 100
    assert ticks < 0.15 * hz * (time.monotonic() - t0), \
        "%d ticks of CPU in %.1f s under the flood" % (ticks, time.monotonic() - t0)
    # root's status answers
    out = ctllib.run_ctl(["status"], d.sock, timeout=20)
    assert out.returncode == 0 and "gateway:" in out.stdout, out
    # a chat still relays (a descriptor for Ollama is there)
    r.request("after-flood", dl.chat_params(content="still here"))
    assert dl.text_of(r.wait_reply("after-flood")) == "still here"
    # the connections beyond the cap were told why
    refused = 0
    for s in flood:
        try:
            if s.recv(4096).startswith(b"HTTP/1.1 503 "):
                refused += 1
        except OSError:
            pass
    assert refused > 0
    assert "accept failed" not in d.log(), d.log()[-3000:]
    for s in flood:
        s.close()
    d.assert_clean_exit()
    fo.proc.stop()
    r.stop()
