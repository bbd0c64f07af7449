# SPDX-License-Identifier: AGPL-3.0-or-later
"""The router's HTTP side for idleclawd's consume path (idleclawctl chat,
the gateway, `status`'s /health and /api/models), scripted by a test.

What every such stand-in shares is here: a threaded HTTP server on
loopback, tracked by the harness and stopped at the end of the test, that
reads POST bodies and ends every exchange with the connection; /ws/node
answers 404, so the daemon's node link stays down.  A test subclasses
SseRouter and writes only what it scripts differently:

    class OkRouter(standinrouter.SseRouter):
        def post(self, h, body):
            start_sse(h)
            send(h, content_event("ok", "stop"), DONE)

post(h, body) answers POST /api/chat (h is the request's handler, body
the bytes it sent); get(h) answers a GET (404 unless overridden).
(daemonlib.StandInRouter is the other side: the node link's WebSocket.)
"""
import http.server
import json
import threading

import iclib

DONE = b"data: [DONE]\n\n"
PING = b": ping\n\n"
PING_S = 0.2


def content_event(text, finish_reason=None):
    """One SSE event of the router's chat stream: a delta of content, and
    the finish reason if it is the last."""
    choice = {"delta": {"content": text}}
    if finish_reason is not None:
        choice["finish_reason"] = finish_reason
    return b"data: %s\n\n" % json.dumps({"choices": [choice]}).encode()


def start_sse(h):
    """200, an event stream, and the connection closed after it."""
    h.send_response(200)
    h.send_header("Content-Type", "text/event-stream")
    h.send_header("Connection", "close")
    h.end_headers()


def not_found(h):
    h.send_response(404)
    h.send_header("Content-Length", "0")
    h.end_headers()


def send(h, *chunks):
    """Write chunks one by one; False once the daemon hung up."""
    try:
        for c in chunks:
            h.wfile.write(c)
        h.wfile.flush()
        return True
    except OSError:
        return False


class _Handler(http.server.BaseHTTPRequestHandler):
    """Hands each request to the SseRouter its server belongs to."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        self.server.router.get(self)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            self.server.router.post(self, body)
        finally:
            self.close_connection = True


class SseRouter:
    def __init__(self):
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.router = self
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        iclib.track(self, self.stop)

    def get(self, h):
        not_found(h)

    def post(self, h, body):
        raise NotImplementedError("a stand-in router says how it answers a chat")

    def pings(self, h, until=None):
        """": ping" every PING_S seconds: True once until() is true, False
        when the router stops or the daemon hangs up."""
        while not self.stop_ev.wait(PING_S):
            if until is not None and until():
                return True
            if not send(h, PING):
                return False
        return False

    def stop(self):
        if self.stop_ev.is_set():
            return
        self.stop_ev.set()
        self.httpd.shutdown()
        self.httpd.server_close()
