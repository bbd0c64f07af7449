"""Helpers for the server-side tool tests: a router with [tools] keys, and
a SearXNG stand-in (Python http.server in a thread) whose behaviour each
test picks: normal results, slow, malformed JSON, a huge body, HTTP 500.
"""
import datetime
import http.server
import json
import threading
import urllib.parse

import iclib
from routerlib import FAST, Router


class ToolsRouter(Router):
    """idleclaw-routerd with [router] opts and [tools] keys in tools."""

    def __init__(self, tools=None, fast=True, env=None, **opts):
        self.port = iclib.free_port()
        cfg = dict(FAST) if fast else {}
        cfg.update(opts)
        argv = [iclib.binary("router/idleclaw-routerd"),
                "--config", "/nonexistent/idleclaw.conf",
                "--listen", "127.0.0.1:%d" % self.port]
        for k, v in cfg.items():
            argv += ["-o", "router.%s=%s" % (k, v)]
        for k, v in (tools or {}).items():
            argv += ["-o", "tools.%s=%s" % (k, v)]
        iclib.Proc.__init__(self, "routerd", argv, env=env)
        iclib.wait_port(self.port, proc=self)


def date_lines():
    """The date line for now (and a moment later, should midnight pass)."""
    out = set()
    for d in (datetime.datetime.utcnow(),
              datetime.datetime.utcnow() + datetime.timedelta(seconds=30)):
        out.add("Today's date is %s %d, %d." % (d.strftime("%B"), d.day, d.year))
    return out


class SearxStandIn:
    """GET /search?q=...&format=json.  mode: 'normal', 'slow', 'badjson',
    'huge', 'error500'.  Records each query; `started`/`closed` count
    requests begun and connections the client dropped."""

    def __init__(self, mode="normal", delay=0.0):
        self.mode = mode
        self.delay = delay
        self.queries = []
        self.aborted = 0
        self.lock = threading.Lock()
        self.release = threading.Event()
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

    def _handle(self, h):
        u = urllib.parse.urlparse(h.path)
        qs = urllib.parse.parse_qs(u.query)
        with self.lock:
            self.queries.append(dict(path=u.path, q=qs.get("q", [""])[0],
                                     format=qs.get("format", [""])[0],
                                     categories=qs.get("categories", [""])[0]))
        if self.mode == "slow":
            # hold the request until released or the client gives up
            h.connection.settimeout(0.1)
            for _ in range(int(self.delay * 10)):
                if self.release.is_set():
                    break
                try:
                    if h.connection.recv(1, 0x40) == b"":  # MSG_DONTWAIT peek-ish
                        with self.lock:
                            self.aborted += 1
                        return
                except (BlockingIOError, OSError):
                    pass
            if not self.release.is_set():
                pass
        if self.mode == "error500":
            body = b'{"error":"boom"}'
            code = 500
        elif self.mode == "badjson":
            body = b'{"results": [ {"title": "x", '
            code = 200
        elif self.mode == "huge":
            body = b'{"results":[' + b'{"title":"t","url":"u","content":"' + \
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
            with self.lock:
                self.aborted += 1

    def close(self):
        self.release.set()
        self.srv.shutdown()
        self.srv.server_close()
