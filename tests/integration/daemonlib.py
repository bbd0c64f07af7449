# SPDX-License-Identifier: AGPL-3.0-or-later
"""Helpers for the idleclawd integration tests.

Daemon runs the real binary with -o overrides on loopback; StandInRouter is
a small WebSocket server (python3-websockets) that speaks the node protocol
the way the public router does, so tests can script the router's side
(features advertised or not, 1008 closes, cancels, restarts); Ctl is a
control-socket client.  LIMITS (limits.py) are the numbers the programs
were built with.
"""
import asyncio
import json
import os
import queue
import re
import shutil
import socket
import sys
import tempfile
import threading
import time

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))


import iclib  # noqa: E402
sys.path.insert(0, os.path.join(iclib.SRCDIR, "tests", "fake-ollama"))
from fakeollama import FakeOllama  # noqa: E402,F401  (re-exported)
from limits import LIMITS  # noqa: E402,F401  (re-exported)


# Fast settings for tests.
FAST = {
    "heartbeat_interval": 1,
    "reconnect_min": 1,
    "reconnect_max": 2,
    "model_refresh": 2,
    "log_level": "debug",
    "drain_timeout": 5,
}


# [idle] keys of every Daemon unless a test gives its own (idle=...): the
# machines that run the tests are busy, and idle_time would hold each test
# back, so idle detection lends always unless a test is about it.
IDLE_DEFAULTS = {"mode": "always"}


class Daemon(iclib.Proc):
    """idleclawd with [daemon] keys from opts (plus FAST), [idle] keys from
    idle (default IDLE_DEFAULTS)."""

    def __init__(self, server, ollama, fast=True, env=None, notify=None,
                 config="/nonexistent/idleclaw.conf", args=(), idle=None, **opts):
        self.dir = tempfile.mkdtemp(prefix="ic-daemon-")
        self.sock = os.path.join(self.dir, "idleclawd.sock")
        cfg = dict(FAST) if fast else {}
        cfg.update({"server": server, "ollama_host": ollama,
                    "control_socket": self.sock, "node_id": "test-node"})
        cfg.update(opts)
        argv = [iclib.binary("daemon/idleclawd"), "--foreground", "--config", config]
        for k, v in cfg.items():
            if v is not None:
                argv += ["-o", "daemon.%s=%s" % (k, v)]
        for k, v in (IDLE_DEFAULTS if idle is None else idle).items():
            argv += ["-o", "idle.%s=%s" % (k, v)]
        argv += list(args)
        e = dict(env or {})
        if notify is not None:
            e["NOTIFY_SOCKET"] = notify.path
        super().__init__("idleclawd", argv, env=e)

    def close(self):
        super().close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def listening(self):
        """The control socket accepts: the daemon bind()s (the path appears)
        before it listen()s, so a connect in between would be refused."""
        if not os.path.exists(self.sock):
            return False
        try:
            with open("/proc/net/unix") as f:
                lines = f.readlines()[1:]
        except OSError:         # no /proc: try a connection instead
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                try:
                    s.connect(self.sock)
                    return True
                except OSError:
                    return False
        for line in lines:
            # Num RefCount Protocol Flags Type St Inode Path; 0x10000 = listening
            f = line.rstrip("\n").split(None, 7)
            if len(f) == 8 and f[7] == self.sock and int(f[3], 16) & 0x10000:
                return True
        return False

    def wait_ready(self, timeout=10.0):
        iclib.wait_for(lambda: self.listening() or self.poll() is not None,
                       timeout, what="control socket")
        if self.poll() is not None:
            raise AssertionError("idleclawd exited %s\n%s" % (self.returncode, self.log()))
        return self

    def ctl(self):
        return Ctl(self.sock)

    def wait_log(self, text, timeout=10.0):
        iclib.wait_for(lambda: text in self.log(), timeout, what="log line %r" % text)


class Notify(iclib.NotifySocket):
    """NOTIFY_SOCKET read by a thread all the time, as systemd does: a
    datagram socket nobody reads fills after a few messages and then
    blocks the sender (net.unix.max_dgram_qlen)."""

    def __init__(self):
        super().__init__()
        self.sock.settimeout(0.05)
        self.running = True
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self):
        while self.running:
            try:
                data = self.sock.recv(4096).decode()
                self.messages.extend(data.split("\n"))
            except (socket.timeout, BlockingIOError):
                pass
            except OSError:
                return

    def read(self, timeout=0.0):
        time.sleep(timeout if timeout > 0 else 0.001)
        return list(self.messages)

    def close(self):
        self.running = False
        self.thread.join(2)
        super().close()


class Ctl:
    """A control-socket client: one JSON object a line."""

    def __init__(self, path, timeout=10.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
        self.n = 0

    def send_raw(self, data):
        self.s.sendall(data)

    def send(self, cmd, args=None, rid=None):
        self.n += 1
        rid = rid or "r%d" % self.n
        msg = {"v": 1, "id": rid, "cmd": cmd}
        if args is not None:
            msg["args"] = args
        self.s.sendall((json.dumps(msg) + "\n").encode())
        return rid

    def read(self):
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("control socket closed")
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def until_reply(self, rid):
        """Events and the final reply for rid: (events, reply)."""
        events = []
        while True:
            m = self.read()
            if m.get("id") != rid:
                continue
            if "event" in m:
                events.append(m)
            else:
                return events, m

    def call(self, cmd, args=None):
        return self.until_reply(self.send(cmd, args))[1]

    def close(self):
        self.s.close()


class StandInRouter:
    """The router's side of /ws/node, scripted from the test thread.

    features: list for registered.features (None: the public server's
    reply without features).  Everything received is kept in order in
    self.msgs (dicts, with "_conn" = connection number); first_arrival: the
    time.monotonic() at which each message type first arrived."""

    def __init__(self, features=None, port=0, reply_registered=True):
        self.features = features
        self.reply_registered = reply_registered
        self.msgs = []
        self.first_arrival = {}
        self.conns = []
        self.close_codes = []
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.port = port or iclib.free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.on_register = None     # (code, reason) to close with instead
        started = threading.Event()
        self.stopped = False
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        started.wait(5)
        iclib.track(self, self.stop)

    def _run(self, started):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            websockets.serve(self._handler, "127.0.0.1", self.port, max_size=None))
        started.set()
        self.loop.run_forever()

    async def _handler(self, ws, path=None):
        with self.lock:
            self.conns.append(ws)
            n = len(self.conns)
        try:
            async for text in ws:
                m = json.loads(text)
                m["_conn"] = n
                with self.lock:
                    self.msgs.append(m)
                    # when each type first arrived (waits are timed from it)
                    self.first_arrival.setdefault(m.get("type"), time.monotonic())
                if m.get("type") == "register":
                    if self.on_register:
                        await ws.close(*self.on_register)
                        continue
                    if self.reply_registered:
                        reply = {"type": "registered", "node_id": m.get("node_id")}
                        if self.features is not None:
                            reply["features"] = self.features
                        await ws.send(json.dumps(reply))
        except websockets.ConnectionClosed:
            pass

    def _call(self, coro, timeout=5):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def send(self, obj, conn=None):
        ws = self.conns[(conn or len(self.conns)) - 1]
        self._call(ws.send(obj if isinstance(obj, (str, bytes)) else json.dumps(obj)))

    def request(self, rid, params, conn=None):
        self.send({"type": "inference_request", "request_id": rid, "ollama_params": params},
                  conn)

    def cancel(self, rid):
        self.send({"type": "cancel_request", "request_id": rid})

    def close_conn(self, code=1000, reason=""):
        self._call(self.conns[-1].close(code, reason))

    def of_type(self, t, conn=None):
        with self.lock:
            return [m for m in self.msgs if m.get("type") == t and
                    (conn is None or m["_conn"] == conn)]

    def wait_type(self, t, count=1, timeout=10.0, conn=None):
        return iclib.wait_for(lambda: len(self.of_type(t, conn)) >= count and
                              self.of_type(t, conn), timeout,
                              what="%d %r message(s)" % (count, t))

    def for_request(self, rid):
        with self.lock:
            return [m for m in self.msgs if m.get("request_id") == rid]

    def wait_reply(self, rid, timeout=10.0):
        """All frames for rid once it ended (a done chunk or an error)."""
        def ended():
            ms = self.for_request(rid)
            for m in ms:
                if m["type"] == "inference_error":
                    return ms
                if m["type"] == "inference_chunk" and m["chunk"].get("done"):
                    return ms
            return None
        return iclib.wait_for(ended, timeout, what="end of request %s" % rid)

    def stop(self):
        if self.stopped:
            return
        self.stopped = True

        async def _stop():
            self.server.close()
            for ws in self.conns:
                await ws.close(1001, "going away")
            await self.server.wait_closed()
        try:
            self._call(_stop())
        except Exception:  # noqa: BLE001 - already stopped
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def text_of(frames, field="content"):
    """The concatenated message.<field> of inference_chunk frames."""
    return "".join(m["chunk"].get("message", {}).get(field, "") or ""
                   for m in frames if m["type"] == "inference_chunk")


def chat_params(model="llama3.2:latest", content="hello", **extra):
    p = {"model": model, "messages": [{"role": "user", "content": content}],
         "stream": True}
    p.update(extra)
    return p


class LineOllama:
    """A minimal Ollama in a thread whose /api/chat answers with the NDJSON
    lines a test chooses (self.lines: list of bytes, each without "\n"),
    to probe the daemon's line handling where fake-ollama cannot go."""

    def __init__(self, model="big:1"):
        import http.server
        outer = self
        self.lines = []
        self.model = model

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *a):
                pass

            def _json(self, obj):
                data = json.dumps(obj).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/api/version":
                    self._json({"version": "0.0.1"})
                else:
                    self._json({"models": [{"name": outer.model, "model": outer.model,
                                            "size": 1}]})

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.end_headers()
                outer.stream_chat(self)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.stopped = False
        iclib.track(self, self.stop)

    def stream_chat(self, handler):
        """Write the reply of one /api/chat (headers are sent); subclasses
        (bench/relay) override it."""
        for line in self.lines:
            handler.wfile.write(line + b"\n")

    @staticmethod
    def content_line(nbytes, done=False):
        """An NDJSON chat line of exactly nbytes bytes."""
        tmpl = {"message": {"role": "assistant", "content": ""}, "done": done}
        base = len(json.dumps(tmpl, separators=(",", ":")).encode())
        tmpl["message"]["content"] = "a" * (nbytes - base)
        line = json.dumps(tmpl, separators=(",", ":")).encode()
        assert len(line) == nbytes
        return line

    def stop(self):
        if self.stopped:
            return
        self.stopped = True
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeMachine:
    """A fake proc/sys/dev tree for idleclawd's idle detection ([idle]
    proc_root, sys_root, dev_root).  A thread advances /proc/stat and each
    process's utime+stime every `tick` seconds as the loads set with
    process() say (percent of the whole machine); files are replaced
    whole, so the daemon never reads half a file.  The daemon reads the
    processes and /proc/stat a moment apart: a tick between the two reads
    skews one sample by tick/interval, so ticks are short."""

    def __init__(self, tick=0.02):
        self.root = tempfile.mkdtemp(prefix="ic-machine-")
        self.proc = os.path.join(self.root, "proc")
        self.sys = os.path.join(self.root, "sys")
        self.dev = os.path.join(self.root, "dev")
        for d in (self.proc, self.sys, os.path.join(self.dev, "pts")):
            os.makedirs(d)
        self.nvml_file = os.path.join(self.root, "nvml")
        self._lock = threading.Lock()
        self._procs = {}        # pid -> [comm, percent, ticks]
        self._busy = self._idle = 0
        self._tick = tick
        self._stop = threading.Event()
        self._advance()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        iclib.track(self)

    def _write(self, path, text):
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)

    def _advance(self):
        with self._lock:
            busy = 0
            for pid, p in self._procs.items():
                p[2] += p[1]
                busy += p[1]
                d = os.path.join(self.proc, str(pid))
                self._write(os.path.join(d, "stat"),
                            "%d (%s) R 1 1 1 0 -1 0 0 0 0 0 %d 0 0 0 20 0 1 0 100 0 0\n"
                            % (pid, p[0], p[2]))
            busy = min(busy, 100)
            self._busy += busy
            self._idle += 100 - busy
            self._write(os.path.join(self.proc, "stat"),
                        "cpu  %d 0 0 %d 0 0 0 0 0 0\n" % (self._busy, self._idle))

    def _run(self):
        while not self._stop.wait(self._tick):
            self._advance()

    def process(self, pid, comm, percent=0):
        """Start (or change the load of) process pid named comm."""
        with self._lock:
            d = os.path.join(self.proc, str(pid))
            os.makedirs(d, exist_ok=True)
            self._write(os.path.join(d, "comm"), comm + "\n")
            if pid in self._procs:
                self._procs[pid][1] = percent
            else:
                self._procs[pid] = [comm, percent, 0]
        self._advance()

    def end(self, pid):
        with self._lock:
            self._procs.pop(pid, None)
            shutil.rmtree(os.path.join(self.proc, str(pid)), ignore_errors=True)

    def power(self, mains_online, battery=True):
        """An AC adapter online or not, and a battery."""
        base = os.path.join(self.sys, "class", "power_supply")
        for name, files in (("AC", {"type": "Mains", "online": "1" if mains_online else "0"}),
                            ("BAT0", {"type": "Battery", "present": "1" if battery else "0",
                                      "status": "Charging" if mains_online else "Discharging"})):
            os.makedirs(os.path.join(base, name), exist_ok=True)
            for k, v in files.items():
                self._write(os.path.join(base, name, k), v + "\n")

    def typed(self, tty="pts/3", seconds_ago=0):
        """The owner typed on a terminal (its access time)."""
        path = os.path.join(self.dev, tty)
        if not os.path.exists(path):
            open(path, "w").close()
        t = time.time() - seconds_ago
        os.utime(path, (t, t))

    def gpu(self, lines):
        """The fake NVML's readings ("gpu I UTIL", "proc I PID SM")."""
        self._write(self.nvml_file, "".join(line + "\n" for line in lines))

    def drm_card(self, n, pci, busy):
        """DRM card n (AMD/Intel) at PCI bus id pci, busy percent: its
        device is a link into sys/devices, as in sysfs."""
        dev = os.path.join(self.sys, "devices", "pci0000:00", pci)
        os.makedirs(dev, exist_ok=True)
        self._write(os.path.join(dev, "gpu_busy_percent"), "%d\n" % busy)
        card = os.path.join(self.sys, "class", "drm", "card%d" % n)
        os.makedirs(card, exist_ok=True)
        link = os.path.join(card, "device")
        if not os.path.islink(link):
            os.symlink(os.path.relpath(dev, card), link)

    def idle_opts(self, **over):
        """[idle] keys for Daemon(idle=...): this tree, short times."""
        o = {"mode": "auto", "proc_root": self.proc, "sys_root": self.sys,
             "dev_root": self.dev, "interval": 1, "idle_time": 2, "logind": "no",
             "nvml_library": iclib.binary("tests/fake-nvml/libfake-nvml.so")}
        o.update(over)
        return o

    def env(self):
        return {"FAKE_NVML_FILE": self.nvml_file}

    def close(self):
        self._stop.set()
        self._thread.join()
        shutil.rmtree(self.root, ignore_errors=True)


def idle_of(ctl):
    """The idle object of the daemon's status."""
    return ctl.call("status")["idle"]


def wait_idle_state(ctl, state, timeout=15.0):
    """Wait until the idle policy's state is `state`; returns the idle object."""
    return iclib.wait_for(lambda: (lambda i: i["state"] == state and i)(idle_of(ctl)),
                          timeout, what="idle state %s" % state)


class PrivateLogind:
    """A private dbus-daemon with fakelogind.py on it; env() points
    sd_bus_open_system() at it (DBUS_SYSTEM_BUS_ADDRESS).  set() changes
    what IdleHint/IdleSinceHint answer."""

    def __init__(self):
        import subprocess
        self.dir = tempfile.mkdtemp(prefix="ic-dbus-")
        self.address = "unix:path=%s" % os.path.join(self.dir, "bus")
        self.state = os.path.join(self.dir, "state")
        self.set(True, 0)
        self.bus = iclib.Proc("dbus-daemon", ["dbus-daemon", "--session", "--nofork",
                                              "--address=" + self.address])
        iclib.wait_for(lambda: os.path.exists(os.path.join(self.dir, "bus")),
                       what="private dbus-daemon")
        self.logind = iclib.Proc("fakelogind", ["/usr/bin/python3",
                                                os.path.join(HERE, "fakelogind.py"),
                                                self.address, self.state],
                                 stdout=subprocess.PIPE)
        line = self.logind.p.stdout.readline().decode()
        if not line.startswith("READY"):
            raise AssertionError("fakelogind did not start: %s" % self.logind.log())
        iclib.track(self)

    def set(self, idle, since_us):
        tmp = self.state + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d %d\n" % (1 if idle else 0, since_us))
        os.replace(tmp, self.state)

    def env(self):
        return {"DBUS_SYSTEM_BUS_ADDRESS": self.address}

    def stop_logind(self):
        self.logind.p.terminate()
        self.logind.p.wait(10)

    def close(self):
        for p in (self.logind, self.bus):
            if p.poll() is None:
                p.p.terminate()
                p.p.wait(10)
            if p.p.stdout:
                p.p.stdout.close()
            p.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def gateway_args(port, **keys):
    """idleclawd -o arguments for its [gateway] section: listen on
    127.0.0.1:port, plus any other keys (max_streams=2, ...)."""
    cfg = {"listen": "127.0.0.1:%d" % port}
    cfg.update(keys)
    out = []
    for k, v in cfg.items():
        out += ["-o", "gateway.%s=%s" % (k, v)]
    return out
