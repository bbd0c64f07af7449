#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""idleclaw-routerd behind Caddy (as in conf/Caddyfile.example, without
TLS): the node WebSocket and the SSE stream pass through, chunks arrive as
they are sent, a hang-up reaches the node as cancel_request, and a client
cannot forge its address through the proxy."""
import asyncio

import pytest

from routerlib import TestNode, chat_body, data_events, http, request

# %(dir)s and %(port)d are Caddy's (iclib.Caddy), %(rport)d the router's.
CADDYFILE = """{
	admin off
	auto_https off
	storage file_system %%(dir)s/storage
}

http://127.0.0.1:%%(port)d {
	reverse_proxy 127.0.0.1:%(rport)d {
		flush_interval -1
	}
}
"""


class Via:
    """Router-like object whose ws_url points at Caddy."""

    def __init__(self, port):
        self.port = port
        self.ws_url = "ws://127.0.0.1:%d/ws/node" % port


async def through(caddy, router):
    via = Via(caddy.port)
    node = await TestNode.registered(via, "behind-caddy", models=("mc",))
    resp = await request(caddy.port, "POST", "/api/chat", chat_body("mc"))
    assert resp.status == 200, resp.status
    req = await node.recv_type("inference_request")
    rid = req["request_id"]
    # each chunk reaches the consumer before the next is sent
    for word in ("one", "two", "three"):
        await node.chunk(rid, word)
        ev = await resp.event(timeout=5)
        assert data_events([ev])[0]["choices"][0]["delta"]["content"] == word, ev
    await node.chunk(rid, "", done=True)
    rest = await resp.events()
    resp.close()
    assert rest[-1] == "data: [DONE]", rest
    # the router believes Caddy's X-Forwarded-For, and Caddy does not pass on
    # the client's: three different forged addresses share one bucket
    statuses = []
    for i in range(4):
        st, _, _ = await http(caddy.port, "GET", "/health",
                              headers={"X-Forwarded-For": "198.51.100.%d" % i})
        statuses.append(st)
    assert statuses == [200, 200, 200, 429], statuses
    # a consumer hanging up at Caddy cancels the chat at the node
    resp = await request(caddy.port, "POST", "/api/chat", chat_body("mc"))
    req = await node.recv_type("inference_request")
    await node.chunk(req["request_id"], "a")
    await resp.event(timeout=5)
    resp.close()
    # Caddy notices the hang-up at latest when it next writes to the client
    m = None
    for _ in range(50):
        await node.chunk(req["request_id"], "more")
        try:
            m = await node.recv_type("cancel_request", 0.1)
            break
        except asyncio.TimeoutError:
            pass
    assert m and m["request_id"] == req["request_id"], m
    await node.close()


@pytest.mark.router(fast=False, trusted_proxies="127.0.0.1", rate_other=3,
                    rate_upgrade=100, rate_chat=100, log_level="debug")
async def test_behind_caddy(router, caddy):
    await through(caddy(CADDYFILE % {"rport": router.port}), router)


# Caddy as a proxy that appends to X-Forwarded-For, as nginx's
# $proxy_add_x_forwarded_for does: it does so for a client it trusts (a
# load balancer at 127.0.0.2 here), whose header the client before it wrote.
APPENDING = """{
	admin off
	auto_https off
	storage file_system %%(dir)s/storage
}

http://127.0.0.1:%%(port)d {
	reverse_proxy 127.0.0.1:%(rport)d {
		trusted_proxies 127.0.0.2/32
	}
}
"""


@pytest.mark.router(fast=False, trusted_proxies="127.0.0.1, 127.0.0.2", rate_other=3,
                    rate_upgrade=100, rate_chat=100, log_level="debug")
async def test_appending_proxy_rightmost_untrusted(router, caddy):
    """Behind two proxies that append, the client's own entries on the left
    of X-Forwarded-For are not believed: the router takes the rightmost
    address that is not a trusted proxy, so forged addresses share the
    client's one bucket of rate_other = 3 (the 4th is 429)."""
    c = caddy(APPENDING % {"rport": router.port})

    async def statuses(xff_of, source):
        out = []
        for i in range(4):
            st, _, _ = await http(c.port, "GET", "/health", source=source,
                                  headers={"X-Forwarded-For": xff_of(i)})
            out.append(st)
        return out

    # the load balancer appended the client 203.0.113.9 to what it forged
    assert await statuses(lambda i: "198.51.100.%d, 203.0.113.9" % i,
                          "127.0.0.2") == [200, 200, 200, 429]
    # forged entries that name the trusted proxies change nothing
    assert await statuses(lambda i: "198.51.100.%d, 127.0.0.2, 203.0.113.10" % i,
                          "127.0.0.2") == [200, 200, 200, 429]
    # a client Caddy does not trust: Caddy replaces the header with its address
    assert await statuses(lambda i: "198.51.100.%d" % i, "127.0.0.3") == [200, 200, 200, 429]
