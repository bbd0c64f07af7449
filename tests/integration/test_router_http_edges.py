#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""HTTP edge cases of the router: HEAD answered like GET without a body,
and Content-Length only as digits (docs/SECURITY.md, "Also seen")."""
import socket

import pytest


def raw(port, data, timeout=5.0):
    """Send data on a new connection; everything the router answers until it closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    finally:
        s.close()


def parse(resp):
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in
               (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


@pytest.mark.router(metrics="yes")
def test_head(router):
    for path in ("/health", "/api/models", "/metrics"):
        get = parse(raw(router.port, b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                        % path.encode()))
        head = parse(raw(router.port, b"HEAD %s HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode()))
        assert get[0] == 200 and head[0] == 200, (path, get[0], head[0])
        assert head[2] == b"", (path, head[2])     # no body after the headers
        assert head[1]["content-type"] == "application/json"
        if path != "/metrics":  # uptime and counters may differ between the two
            assert head[1]["content-length"] == get[1]["content-length"], (head, get)
    st, h, body = parse(raw(router.port, b"HEAD /api/chat HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert st == 405 and h["allow"] == "POST" and body == b"", (st, h, body)
    st, _, body = parse(raw(router.port, b"HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert st == 404 and body == b"", (st, body)


def post_with_length(port, value, body=b"{}"):
    return parse(raw(port, b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: %s\r\n"
                     b"\r\n%s" % (value, body)))


@pytest.mark.router(queue_wait=0)
def test_content_length_digits_only(router):
    body = b'{"model":"m1","messages":[{"role":"user","content":"hi"}]}'
    n = str(len(body)).encode()
    st, _, got = post_with_length(router.port, n, body)
    assert st == 503, (st, got)     # read and handled: no node serves m1
    for bad in (b"+" + n, n + b" ", b"-0", b"0x5", n + b"x", b"1e2"):
        st, _, got = post_with_length(router.port, bad, body)
        assert st == 400 and b"Content-Length: not a number" in got, (bad, st, got)
    st, _, _ = post_with_length(router.port, b"9" * 30, body)
    assert st == 413, st



@pytest.mark.router(queue_wait=0)
def test_close_announced(router):
    """A reply after which the router closes says `Connection: close`, so a
    reverse proxy does not send its next request on a dead connection; a
    reply on a connection that stays open does not."""
    for body in (b"{not json", b'{"model":"m1","messages":[{"role":"user","content":"hi"}]}'):
        st, h, got = post_with_length(router.port, str(len(body)).encode(), body)
        assert st in (400, 503), (st, got)
        assert h.get("connection", "").lower() == "close", (st, h)
    s = socket.create_connection(("127.0.0.1", router.port), timeout=5)
    try:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(4096)
        st, h, _ = parse(head)
        assert st == 200 and h.get("connection", "").lower() != "close", h
    finally:
        s.close()
