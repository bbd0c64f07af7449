# SPDX-License-Identifier: AGPL-3.0-or-later
"""Helpers for the server-side tool tests: a router with [tools] keys, and
a SearXNG stand-in (Python http.server in a thread) whose behaviour each
test picks: normal results, slow, malformed JSON, a huge body, HTTP 500.
Both register with iclib.track(): the harness stops them.
"""
import datetime
import http.server
import json
import select
import socket
import threading
import time
import urllib.parse

import iclib
from routerlib import Router


class ToolsRouter(Router):
    """idleclaw-routerd with [router] opts and [tools] keys in tools."""

    def __init__(self, tools=None, **opts):
        for k, v in (tools or {}).items():
            opts["tools." + k] = v
        super().__init__(**opts)


def date_lines():
    """The date line for now (and a moment later, should midnight pass)."""
    out = set()
    for d in (datetime.datetime.utcnow(),
              datetime.datetime.utcnow() + datetime.timedelta(seconds=30)):
        out.add("Today's date is %s %d, %d." % (d.strftime("%B"), d.day, d.year))
    return out


class SearxStandIn:
    """GET /search?q=...&format=json in a thread.  mode: 'normal', 'slow'
    (holds the request until release() or `delay` seconds), 'badjson',
    'huge' (3 MiB), 'error500'.  Records each query; `aborted` counts
    requests whose client hung up while held."""

    def __init__(self, mode="normal", delay=30.0):
        self.mode = mode
        self.delay = delay
        self.queries = []
        self.aborted = 0
        self.lock = threading.Lock()
        self.released = threading.Event()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                outer._handle(self)

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()
        iclib.track(self)

    def count(self):
        with self.lock:
            return len(self.queries)

    def release(self):
        self.released.set()

    def _hold(self, h):
        """Wait for release() or the delay; False if the client hung up."""
        deadline = time.monotonic() + self.delay
        while time.monotonic() < deadline and not self.released.is_set():
            r, _, _ = select.select([h.connection], [], [], 0.05)
            if r:
                try:
                    data = h.connection.recv(1, socket.MSG_PEEK)
                except OSError:
                    data = b""
                if not data:
                    with self.lock:
                        self.aborted += 1
                    return False
        return True

    def _handle(self, h):
        u = urllib.parse.urlparse(h.path)
        qs = urllib.parse.parse_qs(u.query)
        with self.lock:
            self.queries.append(dict(path=u.path, q=qs.get("q", [""])[0],
                                     format=qs.get("format", [""])[0],
                                     categories=qs.get("categories", [""])[0]))
        if self.mode == "slow" and not self._hold(h):
            return
        if self.mode == "error500":
            body, code = b'{"error":"boom"}', 500
        elif self.mode == "badjson":
            body, code = b'{"results": [ {"title": "x", ', 200
        elif self.mode == "huge":
            body = b'{"results":[{"title":"t","url":"u","content":"' + \
                b"x" * (3 * 1024 * 1024) + b'"}]}'
            code = 200
        else:
            q = qs.get("q", [""])[0]
            res = [{"title": "Result %d for %s" % (i, q), "url": "https://example.org/%d" % i,
                    "content": ("snippet %d " % i) * 40, "engine": "stand-in",
                    "score": 1.0 / (i + 1), "category": "general"} for i in range(5)]
            body = json.dumps({"query": q, "number_of_results": 5,
                               "results": res}).encode()
            code = 200
        try:
            h.send_response(code)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except OSError:
            pass

    def close(self):
        if self.srv is None:
            return
        self.released.set()
        self.srv.shutdown()
        self.srv.server_close()
        self.srv = None


def expected_results(q):
    """What the router makes of the stand-in's normal answer for q."""
    out = []
    for i in range(3):
        title = "Result %d for %s" % (i, q)
        title = title if len(title) <= 200 else title[:200] + "..."
        snippet = ("snippet %d " % i) * 40
        out.append("%d. %s\n   URL: https://example.org/%d\n   %s...\n"
                   % (i + 1, title, i, snippet[:200]))
    return "\n".join(out)
