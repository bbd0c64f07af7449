# SPDX-License-Identifier: AGPL-3.0-or-later
"""Stand-ins for the public network, for idleclawd's tests.

PublicServer speaks the node protocol the way the public network's server
does (docs/protocol.md, /work/shared/protocol.md), including the flaw that
idleclawd must survive: a second registration of a node_id closes the old
session first (slow when the old peer is gone without a word), registers
the new one, and then the old session's teardown removes the node *by id*,
taking the new registration with it.  It routes chats the same way: to a
node with the model whose load (its own count of chats sent, overwritten by
each heartbeat's active_requests) is below its max_concurrent, else "503
No nodes available".  Its registered reply has no features.

TcpRelay sits between the daemon and a server and can cut the daemon's
side only (a NAT timeout, a Wi-Fi change): the daemon's connection is
reset, the server's stays open and silent.

Both register with iclib.track(): the harness stops them at the end of the
test that started them.
"""
import asyncio
import json
import socket
import struct
import threading
import time
import uuid

import websockets

import iclib


class _Node:
    def __init__(self, node_id, ws, conn, max_concurrent, models):
        self.node_id = node_id
        self.ws = ws
        self.conn = conn
        self.max_concurrent = max_concurrent
        self.models = models
        self.active = 0
        self.last_hb = time.monotonic()


class PublicServer:
    """The public server's node side, in a thread.

    close_timeout: how long closing a peer that never answers takes (the
    public server: about 20 s); hb_timeout / sweep: silence after which a
    node is evicted, checked every sweep seconds (the public server: 45 /
    15).  teardown_delay: the time between a session's close and its
    teardown (the public server's handler learns of the disconnect after
    the close that re-registration awaited has returned, hence after the
    new registration).  close_after_register: (code, reason) to close each
    session with shortly after registering it (a restarting server)."""

    def __init__(self, close_timeout=3.0, hb_timeout=45.0, sweep=15.0, teardown_delay=0.2,
                 close_after_register=None):
        self.close_timeout = close_timeout
        self.hb_timeout = hb_timeout
        self.sweep = sweep
        self.teardown_delay = teardown_delay
        self.close_after_register = close_after_register
        self.nodes = {}             # node_id -> _Node: the registry
        self.events = []            # (monotonic time, text), like its log
        self.registers = []         # (monotonic time, conn number, register message)
        self.torn_down = set()      # connection numbers whose teardown ran
        self.queues = {}            # request_id -> asyncio.Queue
        self.nconn = 0
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.port = iclib.free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        started.wait(5)
        iclib.track(self, self.stop)

    # --- the server (its own thread) ---

    def _log(self, text):
        with self.lock:
            self.events.append((time.monotonic(), text))

    def _run(self, started):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(websockets.serve(
            self._handler, "127.0.0.1", self.port, max_size=None,
            close_timeout=self.close_timeout, ping_interval=None))
        self.evictor = self.loop.create_task(self._evict())
        started.set()
        self.loop.run_forever()

    def _remove(self, node_id):
        node = self.nodes.pop(node_id, None)
        if node:
            self._log("Node removed: %s" % node_id)
        return node

    async def _evict(self):
        while True:
            await asyncio.sleep(self.sweep)
            now = time.monotonic()
            for nid in [k for k, v in self.nodes.items() if now - v.last_hb > self.hb_timeout]:
                node = self._remove(nid)
                self._log("Evicting stale node: %s" % nid)
                try:
                    await node.ws.close(1000, "heartbeat timeout")
                except Exception:  # noqa: BLE001 - as the public server
                    pass

    async def _handler(self, ws, path=None):
        self.nconn += 1
        conn = self.nconn
        node = None
        try:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if msg.get("type") != "register":
                await ws.close(1008, "expected register message")
                return
            nid = msg["node_id"]
            with self.lock:
                self.registers.append((time.monotonic(), conn, msg))
            existing = self.nodes.get(nid)
            if existing:
                self._log("Re-registration for node %s, closing old connection" % nid)
                self._remove(nid)
                try:
                    await existing.ws.close(1000, "re-registered")
                except Exception:  # noqa: BLE001 - as the public server
                    pass
            node = _Node(nid, ws, conn, max(1, min(10, msg.get("max_concurrent", 2))),
                         [m["name"] for m in msg["models"]])
            self.nodes[nid] = node
            self._log("Node registered: %s" % nid)
            await ws.send(json.dumps({"type": "registered", "node_id": nid}))
            if self.close_after_register:
                asyncio.ensure_future(self._close_later(ws))
            async for text in ws:
                m = json.loads(text)
                t = m.get("type")
                if t == "heartbeat":      # trusts the id inside, as the public server
                    hb = self.nodes.get(m.get("node_id"))
                    if hb:
                        hb.last_hb = time.monotonic()
                        hb.active = m.get("active_requests", 0)
                elif t in ("inference_chunk", "inference_error"):
                    q = self.queues.get(m.get("request_id"))
                    if q:
                        q.put_nowait(m)
        except (websockets.ConnectionClosed, asyncio.TimeoutError):
            pass
        finally:
            if node:
                await asyncio.sleep(self.teardown_delay)
                self._log("Node disconnected (connection %d)" % conn)
                self._remove(node.node_id)      # by id: the flaw
            self.torn_down.add(conn)

    async def _close_later(self, ws):
        await asyncio.sleep(0.2)
        await ws.close(*self.close_after_register)

    async def _chat(self, model, content, node_id, timeout):
        cands = [n for n in self.nodes.values()
                 if model in n.models and n.active < n.max_concurrent and
                 (node_id is None or n.node_id == node_id)]
        if not cands:
            return 503, "No nodes available with model %s" % model
        node = cands[0]
        rid = str(uuid.uuid4())
        q = self.queues[rid] = asyncio.Queue()
        node.active += 1
        text = ""
        try:
            await node.ws.send(json.dumps({
                "type": "inference_request", "request_id": rid,
                "ollama_params": {"model": model, "stream": True,
                                  "messages": [{"role": "user", "content": content}]}}))
            while True:
                m = await asyncio.wait_for(q.get(), timeout)
                if m["type"] == "inference_error":
                    return 200, text + "\n\n[Error: %s]" % m.get("error")
                text += m["chunk"].get("message", {}).get("content", "")
                if m["chunk"].get("done"):
                    return 200, text
        except asyncio.TimeoutError:
            return 200, text + "\n\n[Error: request timed out]"
        except websockets.ConnectionClosed:
            return 200, text + "\n\n[Error: node disconnected]"
        finally:
            node.active = max(0, node.active - 1)
            self.queues.pop(rid, None)

    # --- the test's side ---

    def chat_async(self, model, content="hello", node_id=None, timeout=10.0):
        """Start a chat as a consumer would; .result() is (status, text).
        node_id: route only to that node."""
        return asyncio.run_coroutine_threadsafe(
            self._chat(model, content, node_id, timeout), self.loop)

    def chat(self, model, content="hello", node_id=None, timeout=10.0):
        return self.chat_async(model, content, node_id, timeout).result(timeout + 5)

    def node_ids(self):
        return asyncio.run_coroutine_threadsafe(self._ids(), self.loop).result(5)

    async def _ids(self):
        return sorted(self.nodes)

    def log(self):
        with self.lock:
            return [e[1] for e in self.events]

    def wait_registers(self, count, timeout=10.0):
        return iclib.wait_for(lambda: len(self.registers) >= count and list(self.registers),
                              timeout, what="%d register messages" % count)

    def stop(self):
        async def _stop():
            self.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        try:
            asyncio.run_coroutine_threadsafe(_stop(), self.loop).result(5)
        except Exception:  # noqa: BLE001 - already stopped
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class _Pair:
    def __init__(self, client, upstream):
        self.client = client
        self.upstream = upstream
        self.cut = False


class TcpRelay:
    """A TCP relay from a free loopback port to 127.0.0.1:target_port.

    cut() ends the client's side of every relayed connection (shutdown,
    then a reset) while the server's side stays open: the server hears
    nothing more and whatever it sends is read and dropped, so it sees a
    peer that went silent, not one that left."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.pairs = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()
        iclib.track(self, self.stop)

    def _accept(self):
        while True:
            try:
                client = self.lsock.accept()[0]
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            pair = _Pair(client, upstream)
            with self.lock:
                self.pairs.append(pair)
            threading.Thread(target=self._pump, args=(pair, client, upstream, False),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(pair, upstream, client, True),
                             daemon=True).start()

    @staticmethod
    def _pump(pair, src, dst, from_server):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            if pair.cut:
                if from_server:
                    continue        # the server's words go nowhere
                break
            try:
                dst.sendall(data)
            except OSError:
                break
        if not pair.cut:            # pass an orderly end on
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def connections(self):
        with self.lock:
            return len(self.pairs)

    def cut(self):
        """Cut the client's side of every connection so far."""
        with self.lock:
            pairs = [p for p in self.pairs if not p.cut]
        for p in pairs:
            p.cut = True
            try:
                p.client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            p.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            p.client.close()

    def stop(self):
        self.lsock.close()
        with self.lock:
            pairs = list(self.pairs)
        for p in pairs:
            for s in (p.client, p.upstream):
                try:
                    s.close()
                except OSError:
                    pass
