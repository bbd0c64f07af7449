#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Slow request bodies cannot freeze the router (docs/SECURITY.md,
"Slow request bodies").

Clients send the headers of POST /api/chat and then trickle the body, from
one loopback address and from many (127.0.0.x, each a client address of
its own to the router), while another address polls /health and opens a
node WebSocket: a body gets body_timeout in all (408), an address may have
bodies_per_ip bodies arriving (one more: 429 at once), all addresses
together bodies_max (503 at once), and /health keeps answering within a
second.
"""
import json
import select
import socket
import subprocess
import threading
import time

import pytest

import routerlib as rl
from routerlib import LIMITS, iclib

HEALTH_MAX_S = 1.0
# test_many_addresses: bodies_per_ip
MANY_PER_IP = 4


def connect_from(port, src):
    """A TCP connection to the router from loopback address src."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s


def start_body(port, src, length=1000, first=b"{"):
    """Headers of a chat whose body will be length bytes, and its first bytes."""
    s = connect_from(port, src)
    s.sendall(("POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\n\r\n" % length).encode() + first)
    return s


def status_within(s, timeout):
    """The status of the response on s if one starts within timeout, else None;
    0 if the connection closed without one."""
    r, _, _ = select.select([s], [], [], timeout)
    if not r:
        return None
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    if not data.startswith(b"HTTP/1."):
        return 0
    return int(data.split()[1])


def metrics(port):
    st, _, body = iclib_http(port, "GET", "/metrics")
    assert st == 200, (st, body)
    return body


def iclib_http(port, method, path, src="127.0.0.1", timeout=5.0):
    """One plain HTTP/1.1 request; (status, headers text, body text)."""
    s = connect_from(port, src)
    s.settimeout(timeout)
    s.sendall(("%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
               % (method, path)).encode())
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1]) if head.startswith(b"HTTP/1.") else 0
    try:
        body = json.loads(body)
    except ValueError:
        pass
    return status, head.decode("latin-1"), body


def until_bodies(port, n, timeout=10.0):
    iclib.wait_for(lambda: metrics(port)["bodies_arriving"] == n, timeout,
                   what="%d bodies arriving" % n)


class Watch:
    """Polls /health (and opens a node WebSocket now and then) from
    127.0.0.1 in a thread; records the slowest answer."""

    def __init__(self, port):
        self.port = port
        self.worst = 0.0
        self.failures = []
        self.polls = 0
        self.upgrades = 0
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        iclib.track(self, self.halt)

    def halt(self):
        self.stop_ev.set()
        self.thread.join(10)

    def _upgrade(self):
        s = connect_from(self.port, "127.0.0.1")
        try:
            s.sendall(b"GET /ws/node HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                      b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
            st = status_within(s, 5)
        finally:
            s.close()
        return st

    def _run(self):
        while not self.stop_ev.is_set():
            t0 = time.monotonic()
            try:
                if self.polls % 10 == 5:
                    st = self._upgrade()
                    self.upgrades += 1
                    ok = st == 101
                else:
                    st, _, body = iclib_http(self.port, "GET", "/health")
                    ok = st == 200 and body.get("status") == "healthy"
            except OSError as e:
                st, ok = repr(e), False
            took = time.monotonic() - t0
            self.polls += 1
            self.worst = max(self.worst, took)
            if not ok:
                self.failures.append(st)
            self.stop_ev.wait(0.1)

    def stop(self):
        """Stop polling; every answer must have been quick and right."""
        self.halt()
        assert not self.failures, self.failures
        assert self.polls >= 5 and self.upgrades >= 1, (self.polls, self.upgrades)
        assert self.worst < HEALTH_MAX_S, "/health took %.2f s" % self.worst


class Trickle:
    """Sends one more body byte on each socket every interval seconds."""

    def __init__(self, socks, interval=0.5):
        self.socks = list(socks)
        self.interval = interval
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        iclib.track(self, self.stop)

    def _run(self):
        while not self.stop_ev.wait(self.interval):
            for s in self.socks:
                try:
                    s.send(b" ")
                except OSError:
                    pass

    def stop(self):
        self.stop_ev.set()
        self.thread.join(10)


def chat_body(**extra):
    return json.dumps(rl.chat_body(**extra)).encode()


@pytest.mark.router(body_timeout=2, queue_wait=0, metrics="yes")
def test_body_timeout(router):
    # at the limit: a body that completes within body_timeout is read
    body = chat_body()
    s = start_body(router.port, "127.0.0.2", len(body), first=body[:5])
    for i in range(5, len(body), max(1, len(body) // 6)):
        time.sleep(0.2)
        s.sendall(body[i:i + max(1, len(body) // 6)])
    st = status_within(s, 5)
    s.close()
    assert st == 503, st    # read and handled: no node serves m1
    # past it: the same trickle that never ends is cut at body_timeout
    t0 = time.monotonic()
    s = start_body(router.port, "127.0.0.2")
    tr = Trickle([s], 0.2)
    st = status_within(s, 6)
    took = time.monotonic() - t0
    tr.stop()
    s.close()
    assert st == 408, st
    assert 1.5 < took < 4.0, took
    until_bodies(router.port, 0)
    assert "body not complete after 2 s" in router.log()


def test_defaults():
    cp = subprocess.run([iclib.binary("router/idleclaw-routerd"), "--config",
                         "/nonexistent/idleclaw.conf", "--check-config"],
                        capture_output=True, text=True, timeout=10)
    assert cp.returncode == 0, cp.stderr
    for key, name in [("body_timeout", "IC_BODY_TIMEOUT_DEFAULT_S"),
                      ("bodies_per_ip", "IC_BODIES_PER_IP_DEFAULT"),
                      ("bodies_max", "IC_BODIES_MAX_DEFAULT")]:
        assert "\n%s = %d\n" % (key, LIMITS[name]) in cp.stdout, cp.stdout


@pytest.mark.router(body_timeout=3, metrics="yes")
def test_bodies_per_ip(router):
    n = LIMITS["IC_BODIES_PER_IP_DEFAULT"]
    w = Watch(router.port)
    socks = [start_body(router.port, "127.0.0.2") for _ in range(n)]
    until_bodies(router.port, n)
    for s in socks:     # at the limit: all still being read
        assert status_within(s, 0) is None
    t0 = time.monotonic()
    extra = start_body(router.port, "127.0.0.2")
    assert status_within(extra, 1.0) == 429     # one more: at once
    assert time.monotonic() - t0 < 1.0
    extra.close()
    other = start_body(router.port, "127.0.0.3")     # another address is fine
    until_bodies(router.port, n + 1)
    tr = Trickle(socks + [other], 0.3)
    for s in socks + [other]:
        assert status_within(s, 6) == 408
    tr.stop()
    until_bodies(router.port, 0)
    again = start_body(router.port, "127.0.0.2")     # slots come back
    until_bodies(router.port, 1)
    again.close()
    until_bodies(router.port, 0)
    for s in socks + [other]:
        s.close()
    w.stop()


@pytest.mark.router(body_timeout=2, bodies_per_ip=MANY_PER_IP, metrics="yes")
def test_many_addresses(router):
    """40 addresses, each trying bodies_per_ip + 2 trickling bodies."""
    per_ip, addrs = MANY_PER_IP, ["127.0.0.%d" % i for i in range(10, 50)]
    w = Watch(router.port)
    accepted, refused = [], []
    for a in addrs:
        accepted += [start_body(router.port, a) for _ in range(per_ip)]
    until_bodies(router.port, per_ip * len(addrs))
    tr = Trickle(accepted, 0.5)
    for a in addrs:
        refused += [start_body(router.port, a) for _ in range(2)]
    for s in refused:
        assert status_within(s, 1.0) == 429
    t0 = time.monotonic()
    for s in accepted:
        assert status_within(s, max(0.1, 6 - (time.monotonic() - t0))) == 408
    tr.stop()
    until_bodies(router.port, 0)
    assert metrics(router.port)["client_addresses"] == 0
    for s in accepted + refused:
        s.close()
    w.stop()


@pytest.mark.router(body_timeout=3, bodies_max=8, metrics="yes")
def test_bodies_max(router):
    socks = [start_body(router.port, "127.0.0.%d" % (60 + i // 4)) for i in range(8)]
    until_bodies(router.port, 8)
    extra = start_body(router.port, "127.0.0.70")
    assert status_within(extra, 1.0) == 503
    extra.close()
    for s in socks:
        s.close()
    until_bodies(router.port, 0)     # a client that hangs up frees its slot
    s = start_body(router.port, "127.0.0.70")
    until_bodies(router.port, 1)
    s.close()
    until_bodies(router.port, 0)
