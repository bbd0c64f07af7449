#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""bench/relay: what the relay (idleclaw-routerd + idleclawd) adds to a
stream of chunks, compared with reading the same stream from Ollama
directly.

  latency   A timestamping Ollama stand-in (in this script) writes N content
            lines, each carrying the CLOCK_MONOTONIC time it was written.
            The reader takes the difference at arrival: directly over
            NDJSON, then as SSE through routerd+idleclawd.  Added latency
            per chunk = relay percentile - direct percentile.  Time to
            first token: request sent -> first content byte, both ways.
  rate      fake-ollama --tokens N --delay-us D (default 20 us: 50,000
            chunks/s), read directly and through the relay: chunks per
            second of one stream.  --rate-delay-us 0 shows the relay's own
            ceiling (fake-ollama unpaced is far faster than any relay).
  daemon    idleclawd's RSS when idle (registered, nothing in flight) and
            its CPU time per 1000 relayed chunks.
  gateway   the same timestamped stream read through a second idleclawd's
            local gateway ([gateway] listen; Ollama NDJSON from
            /api/chat): added latency per chunk against reading the
            stand-in directly, and against the relay's SSE (the gateway's
            own share); the idle PSS (/proc/PID/smaps_rollup) of that
            daemon with the gateway on and, for comparison, off.

Run from a build directory (or set IC_BUILDDIR):  ../bench/relay/run.py
Options: --chunks N (latency, default 2000) --delay-us N (default 500)
         --rate-chunks N (default 20000) --rate-delay-us N (default 20) --json
"""
import argparse
import json
import os
import socket
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
os.environ.setdefault("IC_BUILDDIR", os.getcwd())

import routerlib  # noqa: E402  (loads iclib)
import daemonlib as dl  # noqa: E402

MODEL = "bench:1"


class StampOllama(dl.LineOllama):
    """daemonlib's scripted Ollama, whose /api/chat lines carry their own
    send time (time.monotonic_ns) as content."""

    def __init__(self, chunks, delay_us):
        self.chunks = chunks
        self.delay = delay_us / 1e6
        super().__init__(MODEL)

    def stream_chat(self, handler):
        handler.wfile.flush()
        sock = handler.connection
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.monotonic()
        for k in range(self.chunks):
            due = t0 + (k + 1) * self.delay
            while time.monotonic() < due:   # spin the last bit: sleep is coarse
                if due - time.monotonic() > 0.0002:
                    time.sleep(0.0001)
            line = '{"message":{"role":"assistant","content":"t%d "},"done":false}\n' \
                % time.monotonic_ns()
            sock.sendall(line.encode())
        sock.sendall(b'{"message":{"role":"assistant","content":""},'
                     b'"done":true,"done_reason":"stop"}\n')


def post_stream(url_host, port, path, body):
    """Send a POST; return (socket, time sent)."""
    s = socket.create_connection((url_host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    data = json.dumps(body).encode()
    req = ("POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
           "Content-Length: %d\r\nConnection: close\r\n\r\n" % (path, url_host, port, len(data)))
    t = time.monotonic_ns()
    s.sendall(req.encode() + data)
    return s, t


def read_stamps(s, t_sent):
    """Read until EOF; return (first content arrival ns, [latency ns], count)."""
    buf = b""
    lat = []
    first = None
    count = 0
    while True:
        d = s.recv(1 << 16)
        now = time.monotonic_ns()
        if not d:
            break
        buf += d
        while True:
            i = buf.find(b'"t')
            if i < 0 or buf.find(b" ", i) < 0:
                break
            j = buf.find(b" ", i)
            try:
                stamp = int(buf[i + 2:j])
            except ValueError:
                buf = buf[i + 2:]
                continue
            lat.append(now - stamp)
            if first is None:
                first = now
            count += 1
            buf = buf[j:]
        buf = buf[-64:]
    s.close()
    return (first - t_sent if first else None), lat, count


def count_chunks(s):
    """Read until EOF; return (content chunks, seconds from first to last)."""
    buf = b""
    n = 0
    first = last = None
    while True:
        d = s.recv(1 << 16)
        if not d:
            break
        now = time.monotonic()
        buf += d
        k = buf.rfind(b"\n")
        if k < 0:
            continue
        whole, buf = buf[:k + 1], buf[k + 1:]
        c = whole.count(b'"content":"') - whole.count(b'"content":""')
        if c:
            if first is None:
                first = now
            last = now
        n += c
    s.close()
    return n, (last - first) if first else 0.0


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))]


def proc_cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        f = f.read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def proc_pss_kb(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def consumer_daemon(router, node_id, gateway_port=None):
    """An idleclawd that only consumes (its Ollama is nowhere), with the
    gateway on gateway_port or off; returns it once the router is up."""
    args = dl.gateway_args(gateway_port) if gateway_port else ()
    d = dl.Daemon("http://127.0.0.1:%d" % router.port,
                  "http://127.0.0.1:%d" % dl.iclib.free_port(), log_level="warning",
                  heartbeat_interval=15, model_refresh=3600, node_id=node_id, args=args)
    d.wait_ready()
    if gateway_port:
        dl.iclib.wait_port(gateway_port, proc=d)
    return d


def gateway_run(res, router, lat_d):
    """Latency through the gateway, and its idle memory."""
    off = consumer_daemon(router, "bench-gw-off")
    port = dl.iclib.free_port()
    g = consumer_daemon(router, "bench-gw", port)
    try:
        c = g.ctl()
        dl.iclib.wait_for(lambda: MODEL in (c.call("models").get("models") or []),
                          timeout=15, what="model seen by the gateway's daemon")
        c.close()
        time.sleep(1.0)
        res["gateway_idle_pss_kib"] = proc_pss_kb(g.pid)
        res["gateway_off_idle_pss_kib"] = proc_pss_kb(off.pid)
        res["gateway_idle_rss_kib"] = proc_rss_kb(g.pid)
        s, t = post_stream("127.0.0.1", port, "/api/chat", chat_body(MODEL))
        cpu0 = proc_cpu_s(g.pid)
        ttft_g, lat_g, n_g = read_stamps(s, t)
        cpu1 = proc_cpu_s(g.pid)
        assert n_g == len(lat_d), (n_g, len(lat_d))
        for p in (50, 99):
            res["gateway_p%d_ms" % p] = pct(lat_g, p) / 1e6
            res["gateway_added_p%d_ms" % p] = (pct(lat_g, p) - pct(lat_d, p)) / 1e6
            res["gateway_own_p%d_ms" % p] = res["gateway_p%d_ms" % p] - res["relay_p%d_ms" % p]
        res["ttft_gateway_ms"] = ttft_g / 1e6
        res["gateway_cpu_ms_per_1000_chunks"] = (cpu1 - cpu0) * 1e3 * 1000 / max(n_g, 1)
    finally:
        g.stop()
        g.close()
        off.stop()
        off.close()


def chat_body(model):
    return {"model": model, "messages": [{"role": "user", "content": "bench"}]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=2000)
    ap.add_argument("--delay-us", type=int, default=500)
    ap.add_argument("--rate-chunks", type=int, default=20000)
    ap.add_argument("--rate-delay-us", type=int, default=20,
                    help="fake-ollama's pace for the rate run (0: as fast as it can)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    res = {}

    stamp = StampOllama(a.chunks, a.delay_us)
    fo = dl.FakeOllama("--tokens", str(a.rate_chunks), "--delay-us", str(a.rate_delay_us),
                       "--models", MODEL, record=False)
    # long replies: the reply limit (4096 characters) off
    router = routerlib.Router(max_reply_chars=0, reply_timeout=0)
    d = dl.Daemon("http://127.0.0.1:%d" % router.port, stamp.url, log_level="warning",
                  max_concurrent=2, heartbeat_interval=15, model_refresh=3600)
    try:
        d.wait_ready()
        c = d.ctl()
        dl.iclib.wait_for(lambda: MODEL in (c.call("models").get("models") or []),
                          timeout=15, what="model at the router")
        time.sleep(0.5)
        res["idle_rss_kib"] = proc_rss_kb(d.pid)

        # --- latency ---
        sp = int(stamp.url.rsplit(":", 1)[1])
        s, t = post_stream("127.0.0.1", sp, "/api/chat", chat_body(MODEL))
        ttft_d, lat_d, n_d = read_stamps(s, t)
        cpu0 = proc_cpu_s(d.pid)
        s, t = post_stream("127.0.0.1", router.port, "/api/chat", chat_body(MODEL))
        ttft_r, lat_r, n_r = read_stamps(s, t)
        cpu1 = proc_cpu_s(d.pid)
        assert n_d == n_r == a.chunks, (n_d, n_r)
        for p in (50, 99):
            res["direct_p%d_ms" % p] = pct(lat_d, p) / 1e6
            res["relay_p%d_ms" % p] = pct(lat_r, p) / 1e6
            res["added_p%d_ms" % p] = (pct(lat_r, p) - pct(lat_d, p)) / 1e6
        res["ttft_direct_ms"] = ttft_d / 1e6
        res["ttft_relay_ms"] = ttft_r / 1e6
        res["cpu_ms_per_1000_chunks_paced"] = (cpu1 - cpu0) * 1e3 * 1000 / a.chunks
        c.close()
        gateway_run(res, router, lat_d)
    finally:
        d.stop()
        d.close()
    # --- rate: a single unpaced stream from fake-ollama, by a second daemon ---
    d = dl.Daemon("http://127.0.0.1:%d" % router.port, fo.url, log_level="warning",
                  heartbeat_interval=15, model_refresh=3600, node_id="bench-rate")
    try:
        d.wait_ready()
        c = d.ctl()
        dl.iclib.wait_for(lambda: c.call("status")["router"]["state"] == "connected",
                          timeout=15, what="second daemon registered")
        time.sleep(0.3)
        s, _ = post_stream("127.0.0.1", fo.port, "/api/chat", chat_body(MODEL))
        n_d, dt_d = count_chunks(s)
        cpu0 = proc_cpu_s(d.pid)
        s, _ = post_stream("127.0.0.1", router.port, "/api/chat", chat_body(MODEL))
        n_r, dt_r = count_chunks(s)
        cpu1 = proc_cpu_s(d.pid)
        res["rate_direct_chunks_s"] = n_d / dt_d if dt_d else 0
        res["rate_relay_chunks_s"] = n_r / dt_r if dt_r else 0
        res["rate_chunks"] = [n_d, n_r]
        res["rate_ratio"] = res["rate_relay_chunks_s"] / res["rate_direct_chunks_s"]
        res["cpu_ms_per_1000_chunks_unpaced"] = (cpu1 - cpu0) * 1e3 * 1000 / max(n_r, 1)
        c.close()
    finally:
        d.stop()
        d.close()
        fo.proc.stop()
        router.close()
        stamp.stop()

    if a.json:
        print(json.dumps(res, indent=1))
        return
    print("relay benchmark: %d chunks every %d us; rate run %d chunks every %d us"
          % (a.chunks, a.delay_us, a.rate_chunks, a.rate_delay_us))
    print("  latency per chunk   direct p50 %.3f ms p99 %.3f ms | relay p50 %.3f ms p99 %.3f ms"
          % (res["direct_p50_ms"], res["direct_p99_ms"], res["relay_p50_ms"],
             res["relay_p99_ms"]))
    print("  added per chunk     p50 %.3f ms (target <= 0.15)   p99 %.3f ms (target <= 1)"
          % (res["added_p50_ms"], res["added_p99_ms"]))
    print("  time to first token direct %.2f ms, relay %.2f ms"
          % (res["ttft_direct_ms"], res["ttft_relay_ms"]))
    print("  single stream rate  direct %.0f chunks/s, relay %.0f chunks/s = %.0f%% (target >= 90%%)"
          % (res["rate_direct_chunks_s"], res["rate_relay_chunks_s"], 100 * res["rate_ratio"]))
    print("  idleclawd           idle RSS %d KiB (target <= 6144); CPU %.1f ms per 1000 chunks "
          "paced, %.1f ms unpaced" % (res["idle_rss_kib"], res["cpu_ms_per_1000_chunks_paced"],
                                       res["cpu_ms_per_1000_chunks_unpaced"]))

    print("  gateway per chunk   p50 %.3f ms p99 %.3f ms | added to direct: p50 %.3f ms "
          "(target <= 0.15) p99 %.3f ms (target <= 1)"
          % (res["gateway_p50_ms"], res["gateway_p99_ms"], res["gateway_added_p50_ms"],
             res["gateway_added_p99_ms"]))
    print("  gateway's own share p50 %.3f ms p99 %.3f ms (gateway - relay); first token %.2f ms;"
          " CPU %.1f ms per 1000 chunks"
          % (res["gateway_own_p50_ms"], res["gateway_own_p99_ms"], res["ttft_gateway_ms"],
             res["gateway_cpu_ms_per_1000_chunks"]))
    print("  gateway daemon idle PSS %d KiB (gateway off: %d KiB), RSS %d KiB"
          % (res["gateway_idle_pss_kib"], res["gateway_off_idle_pss_kib"],
             res["gateway_idle_rss_kib"]))

if __name__ == "__main__":
    main()
