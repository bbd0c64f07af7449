#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A cluster of three idleclaw-routerd instances behind Caddy with
`lb_policy ip_hash`, as conf/Caddyfile.cluster.example has it.

A real nats-server (skipped if it is not installed) and real Caddy (skipped
likewise) whose reverse_proxy block is the shipped example's, with the
routers' ports.  The clients connect from several loopback addresses
(127.0.0.2, 127.0.0.3, ...: Linux routes all of 127/8 to lo), so Caddy sees
distinct client addresses and the routers learn them from Caddy's
X-Forwarded-For (trusted_proxies = 127.0.0.1).  Each instance has nodes of
its own, so no chat needs to cross instances.

- the addresses spread over the instances; every request, chat and node
  socket from one address reaches the same instance;
- per-IP limits hold exactly through Caddy (streams_per_ip, nodes_per_ip,
  rate_chat at N and N+1); with round_robin instead they do not;
- SIGTERM drains one instance: its summary says draining, Caddy's health
  check moves its addresses to the others, its stream finishes, it exits
  cleanly and the others keep serving;
- kill -9 of one instance: within one health interval its addresses (and
  their node sockets) are served by the others; the others' never fail.
"""
import asyncio
import json
import os
import re
import signal

import pytest

import iclib
from routerlib import (Closed, Router, TestNode, chat, chat_body, data_events, http,
                       text_of, until)
from test_router_cluster import nats  # noqa: F401 (a fixture)

EXAMPLE = os.path.join(iclib.SRCDIR, "conf", "Caddyfile.cluster.example")
EXAMPLE_UPSTREAMS = "127.0.0.1:8081 127.0.0.1:8082 127.0.0.1:8083"


def _example_health_interval():
    """Seconds between Caddy's health checks in the example."""
    with open(EXAMPLE) as f:
        m = re.search(r"^\s*health_interval (\d+)s$", f.read(), re.M)
    assert m, "no health_interval in " + EXAMPLE
    return int(m.group(1))


HEALTH_INTERVAL_S = _example_health_interval()

# Client addresses: with 30 the chance that all land on one instance is nil.
ADDRS = ["127.0.0.%d" % i for i in range(2, 32)]
SUMMARY_SUBJECT = "idleclaw.cluster.summary"
NAMES = ("r1", "r2", "r3")


def cluster_caddyfile(routers, policy=None):
    """The example's site block, served on Caddy's test port over plain HTTP,
    with the routers as upstreams (and another lb_policy for a control)."""
    with open(EXAMPLE) as f:
        text = f.read()
    m = re.search(r"^api\.example\.org \{\n(.*?)^\}", text, re.M | re.S)
    assert m, "no api.example.org block in " + EXAMPLE
    site = m.group(1)
    assert site.count(EXAMPLE_UPSTREAMS) == 1, site
    site = site.replace(EXAMPLE_UPSTREAMS, " ".join("127.0.0.1:%d" % r.port for r in routers))
    if policy:
        assert site.count("lb_policy ip_hash") == 1, site
        site = site.replace("lb_policy ip_hash", "lb_policy " + policy)
    # %(dir)s and %(port)d are iclib.Caddy's
    return ("{\n\tadmin off\n\tauto_https off\n\tstorage file_system %(dir)s/storage\n}\n\n"
            "http://127.0.0.1:%(port)d {\n" + site.replace("%", "%%") + "}\n")



class Via:
    """A router-like target for TestNode: Caddy's port."""

    def __init__(self, caddy):
        self.port = caddy.port
        self.ws_url = "ws://127.0.0.1:%d/ws/node" % caddy.port


class Summaries:
    """A subscriber of the instances' summaries, speaking NATS's text
    protocol itself (INFO, CONNECT, SUB, MSG, PING/PONG)."""

    @classmethod
    async def open(cls, nats_server):
        s = cls()
        s.reader, s.writer = await asyncio.open_connection("127.0.0.1", nats_server.port)
        line = await asyncio.wait_for(s.reader.readline(), 5)
        assert line.startswith(b"INFO "), line
        s.writer.write(b'CONNECT {"verbose":false,"pedantic":false,"name":"test"}\r\n'
                       b"SUB " + SUMMARY_SUBJECT.encode() + b" 1\r\nPING\r\n")
        line = await asyncio.wait_for(s.reader.readline(), 5)
        assert line == b"PONG\r\n", line
        return s

    async def next(self, timeout):
        while True:
            line = await asyncio.wait_for(self.reader.readline(), timeout)
            assert line, "nats-server closed the connection"
            if line.startswith(b"PING"):
                self.writer.write(b"PONG\r\n")
                continue
            if line.startswith(b"MSG "):
                size = int(line.split()[-1])
                payload = await asyncio.wait_for(self.reader.readexactly(size + 2), timeout)
                return json.loads(payload[:-2])

    async def until(self, instance, pred, what, timeout=5.0):
        """The first summary of `instance` for which pred() holds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = None
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError("no summary of %s with %s; last %r" % (instance, what, seen))
            try:
                s = await self.next(left)
            except asyncio.TimeoutError:
                continue
            if s.get("instance") == instance:
                seen = s
                if pred(s):
                    return s

    def close(self):
        self.writer.close()


async def health(port, source=None):
    st, _, body = await http(port, "GET", "/health", source=source)
    assert st == 200, (st, body)
    return body


async def start_cluster(nats_server, **opts):
    """Three instances r1..r3 that see each other, each with a local node
    of model "mc" (10 slots) registered directly; returns (routers, nodes)
    keyed by instance name."""
    routers, nodes = {}, {}
    for i, name in enumerate(NAMES):
        cfg = {"cluster.url": nats_server.url, "cluster.instance": name,
               "shutdown_grace": 1, "metrics": "yes"}
        cfg.update(opts)
        r = Router(**cfg)
        r.name = "routerd-" + name
        routers[name] = r
        nodes[name] = await TestNode.registered(r, "local-" + name, models=("mc",),
                                                max_concurrent=10, ip="10.90.0.%d" % (i + 1))
    for r in routers.values():
        await until(lambda r=r: _peers_and_nodes(r, 2, 3), timeout=10,
                    what="%s to see 2 peers and 3 nodes" % r.name)
    return routers, nodes


async def _peers_and_nodes(r, peers, nodes):
    h = await health(r.port)
    return h.get("peers") == peers and h["nodes"] == nodes


async def homes(caddy, addrs=ADDRS, times=2):
    """The instance that answers each client address through Caddy (each
    asked `times` times: it must be the same every time)."""
    out = {}
    for a in addrs:
        seen = {(await health(caddy.port, source=a))["instance"] for _ in range(times)}
        assert len(seen) == 1, (a, seen)
        out[a] = seen.pop()
    return out


async def nodes_local(routers):
    """nodes_local of every instance, by name."""
    return {name: (await health(r.port))["nodes_local"] for name, r in routers.items()}


async def _equal(coro, want):
    """For until(): does the coroutine's value equal want?"""
    return await coro == want


async def _nodes_local_is(r, n):
    return (await health(r.port))["nodes_local"] == n


async def _moved(cd, source, x):
    return (await health(cd.port, source=source))["instance"] != x


async def _answered_by_other(cd, source, x):
    """Through Caddy, is `source` answered by an instance other than x?
    (A 502 while Caddy still sends it to x that is gone is a no.)"""
    st, _, body = await http(cd.port, "GET", "/health", source=source)
    return st == 200 and body["instance"] != x


async def stream_first(caddy, node, source, word):
    """A chat from `source` through Caddy that `node` takes: the node
    answers `word` and the consumer reads it.  Returns (response, request id)."""
    resp = await chat(caddy.port, chat_body("mc"), source=source)
    assert resp.status == 200, resp.status
    req = await node.recv_type("inference_request", 5)
    await node.chunk(req["request_id"], word)
    ev = await resp.event(timeout=5)
    assert data_events([ev])[0]["choices"][0]["delta"]["content"] == word, ev
    return resp, req["request_id"]


async def finish(resp, node, rid, word="end"):
    await node.chunk(rid, word, done=True)
    rest = await resp.events()
    resp.close()
    assert rest[-1] == "data: [DONE]", rest
    return text_of(rest)


async def test_ip_hash_spreads_and_sticks(nats, caddy):
    """(a) the addresses spread over the instances; (b) every request, chat
    and node socket from one address reaches that address's instance."""
    routers, nodes = await start_cluster(nats)
    cd = caddy(cluster_caddyfile(routers.values()))
    home = await homes(cd, times=3)
    used = set(home.values())
    assert len(used) >= 2, home
    # two addresses of every instance used: chats from each reach only the
    # node of its instance
    picked = [a for name in sorted(used) for a in [a for a in ADDRS if home[a] == name][:2]]
    served = {name: 0 for name in NAMES}
    for a in picked:
        resp = await chat(cd.port, chat_body("mc", text="from " + a), source=a)
        assert resp.status == 200, (a, resp.status)
        req = await nodes[home[a]].recv_type("inference_request", 5)
        await nodes[home[a]].chunk(req["request_id"], a, done=True)
        events = await resp.events()
        resp.close()
        assert text_of(events) == a, (a, events)
        served[home[a]] += 1
    for name, n in nodes.items():
        await n.expect_nothing(0.2)
        st, _, m = await http(routers[name].port, "GET", "/metrics")
        assert st == 200, (st, m)
        assert m["requests_total"] == served[name], (name, served, m)
    # node sockets: each registers on its address's instance
    want = {name: 1 for name in NAMES}
    via = []
    for a in picked:
        via.append(await TestNode.registered(Via(cd), "via-" + a, models=("mv",), source=a))
        want[home[a]] += 1
        await until(lambda: _equal(nodes_local(routers), want), timeout=5,
                    what="node from %s on %s: %r" % (a, home[a], want))
    # and nothing moved meanwhile
    assert await homes(cd, picked) == {a: home[a] for a in picked}
    for n in via + list(nodes.values()):
        await n.close()
    for r in routers.values():
        r.assert_clean_exit(timeout=10)


async def test_per_ip_limits_exact_through_caddy(nats, caddy):
    """streams_per_ip, nodes_per_ip and rate_chat at N and N+1 from one
    address through Caddy; another address of the same instance is not
    limited by it.  Through round_robin the chat rate is not exact."""
    routers, nodes = await start_cluster(nats, streams_per_ip=2, nodes_per_ip=2, rate_chat=6)
    cd = caddy(cluster_caddyfile(routers.values()))
    home = await homes(cd)
    # A and B share an instance X; C, D, E and F are other addresses
    a = ADDRS[0]
    x = home[a]
    b = next(o for o in ADDRS[1:] if home[o] == x)
    c, d, e_addr, f = [o for o in ADDRS[1:] if o != b][:4]
    # open streams: 2 from A succeed, the third is 429, B still streams
    s1 = await stream_first(cd, nodes[x], a, "a1")
    s2 = await stream_first(cd, nodes[x], a, "a2")
    st, h, body = await http(cd.port, "POST", "/api/chat", chat_body("mc"), source=a)
    assert (st, body) == (429, {"detail": "Too many concurrent requests"}), (st, body)
    sb = await stream_first(cd, nodes[x], b, "b1")
    for name, n in nodes.items():
        if name != x:
            await n.expect_nothing(0.1)
    # a stream ended gives A its slot back
    assert await finish(s1[0], nodes[x], s1[1]) == "end"
    s3 = await stream_first(cd, nodes[x], a, "a3")
    for resp, rid in (s2, s3, sb):
        await finish(resp, nodes[x], rid)
    # node sockets: 2 from C register on C's instance, the third is closed
    before = await nodes_local(routers)
    mine = [await TestNode.registered(Via(cd), "c-%d" % i, models=("mv",), source=c)
            for i in range(2)]
    before[home[c]] += 2
    await until(lambda: _equal(nodes_local(routers), before), timeout=5,
                what="2 nodes from %s on %s" % (c, home[c]))
    extra = await TestNode.connect(Via(cd), "c-2", source=c)
    with pytest.raises(Closed) as e:
        await extra.register(models=("mv",))
    assert (e.value.code, e.value.reason) == (1008, "too many nodes from this IP"), e.value
    # another address registers (on whichever instance)
    mine.append(await TestNode.registered(Via(cd), "d-0", models=("mv",), source=d))
    before[home[d]] += 1
    await until(lambda: _equal(nodes_local(routers), before), timeout=5,
                what="the nodes of %s and %s" % (c, d))
    for n in mine:
        await n.close()
    # chat rate: 6 from E pass (400: not JSON, after the rate is taken), the 7th is 429
    statuses = []
    for _ in range(7):
        st, h, _ = await http(cd.port, "POST", "/api/chat", raw_body=b"{not json", source=e_addr)
        statuses.append(st)
    assert statuses == [400] * 6 + [429], statuses
    assert int(h["retry-after"]) >= 1, h
    # the control: round_robin spreads one address's chats, so 7 pass
    rr = caddy(cluster_caddyfile(routers.values(), policy="round_robin"))
    statuses = []
    for _ in range(7):
        st, _, _ = await http(rr.port, "POST", "/api/chat", raw_body=b"{not json", source=f)
        statuses.append(st)
    assert statuses == [400] * 7, statuses
    for n in nodes.values():
        await n.close()
    for r in routers.values():
        r.assert_clean_exit(timeout=10)


async def test_sigterm_drains_one_instance(nats, caddy):
    """SIGTERM on the instance X that streams A's chat: X's summary says
    draining, Caddy's health check sends A elsewhere, the stream finishes,
    X exits cleanly, the other instances keep serving."""
    routers, nodes = await start_cluster(nats, shutdown_grace=30)
    cd = caddy(cluster_caddyfile(routers.values()))
    home = await homes(cd)
    a = ADDRS[0]
    x = home[a]
    b = next(o for o in ADDRS if home[o] != x)
    summaries = await Summaries.open(nats)
    await summaries.until(x, lambda s: s["draining"] is False, "draining false")
    resp, rid = await stream_first(cd, nodes[x], a, "before")
    routers[x].signal(signal.SIGTERM)
    await summaries.until(x, lambda s: s["draining"] is True, "draining true")
    assert (await health(routers[x].port))["status"] == "draining"
    # the others serve: B's chat streams on its instance
    sb = await stream_first(cd, nodes[home[b]], b, "other")
    assert await finish(sb[0], nodes[home[b]], sb[1]) == "end"
    # Caddy's health check takes X out while it drains: A is answered by another
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await until(lambda: _moved(cd, a, x), timeout=HEALTH_INTERVAL_S + 3,
                what="Caddy to send %s away from draining %s" % (a, x))
    moved_in = loop.time() - t0
    now = (await health(cd.port, source=a))["instance"]
    assert routers[x].poll() is None, "%s exited before its stream ended" % x
    resp2, rid2 = await stream_first(cd, nodes[now], a, "away")
    assert await finish(resp2, nodes[now], rid2) == "end"
    # X's stream ends normally; then X exits 0 and closes its node 1001
    await nodes[x].chunk(rid, " after", done=True)
    rest = await resp.events()
    resp.close()
    assert text_of(rest) == " after" and rest[-1] == "data: [DONE]", rest
    code, _ = await nodes[x].expect_close(10)
    assert code == 1001, code
    rc = await loop.run_in_executor(None, routers[x].p.wait, 10)
    assert rc == 0, routers[x].log()
    routers[x].assert_clean_exit()
    summaries.close()
    # the others forget X and keep serving every address
    rest_names = [n for n in NAMES if n != x]
    for name in rest_names:
        await until(lambda name=name: _peers_and_nodes(routers[name], 1, 2), timeout=6,
                    what="%s to forget %s" % (name, x))
    # only X's addresses moved (ip_hash picks among the healthy upstreams
    # by rendezvous hashing)
    after = await homes(cd)
    assert set(after.values()) <= set(rest_names), after
    assert {o: h for o, h in after.items() if home[o] != x} == \
        {o: h for o, h in home.items() if h != x}, (home, after)
    for src in (a, b):
        s = await stream_first(cd, nodes[after[src]], src, "still")
        assert await finish(s[0], nodes[after[src]], s[1]) == "end"
    assert moved_in <= HEALTH_INTERVAL_S + 3, moved_in
    for name in rest_names:
        await nodes[name].close()
        routers[name].assert_clean_exit(timeout=10)


async def test_killed_instance_behind_caddy(nats, caddy):
    """kill -9 of the instance X of address A: within one health interval
    Caddy answers A from another instance, where A's node socket registers
    again; the addresses of the other instances never see an error."""
    routers, nodes = await start_cluster(nats)
    cd = caddy(cluster_caddyfile(routers.values()))
    home = await homes(cd)
    a = ADDRS[0]
    x = home[a]
    b = next(o for o in ADDRS if home[o] != x)
    node_a = await TestNode.registered(Via(cd), "node-a", models=("mv",), source=a)
    await until(lambda: _nodes_local_is(routers[x], 2), timeout=5,
                what="node-a on %s" % x)
    routers[x].p.kill()
    routers[x].p.wait()
    await node_a.expect_close(5)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    while not await _answered_by_other(cd, a, x):
        assert loop.time() - t0 < HEALTH_INTERVAL_S + 3, "%s still sent to %s" % (a, x)
        # meanwhile B is served without a break
        assert (await health(cd.port, source=b))["instance"] == home[b]
        await asyncio.sleep(0.1)
    y = (await health(cd.port, source=a))["instance"]
    # the node comes back through Caddy and lands where A now goes
    again = await TestNode.registered(Via(cd), "node-a", models=("mv",), source=a)
    await until(lambda: _nodes_local_is(routers[y], 2), timeout=5,
                what="node-a again, on %s" % y)
    s = await stream_first(cd, nodes[y], a, "after")
    assert await finish(s[0], nodes[y], s[1]) == "end"
    await again.close()
    for name in NAMES:
        if name != x:
            await nodes[name].close()
            routers[name].assert_clean_exit(timeout=10)
