#!/usr/bin/python3
"""idleclaw-routerd behind Caddy (as in conf/Caddyfile.example, without
TLS): the node WebSocket and the SSE stream pass through, chunks arrive as
they are sent, a hang-up reaches the node as cancel_request, and a client
cannot forge its address through the proxy."""
import asyncio
import os
import shutil
import tempfile

from routerlib import Router, TestNode, chat_body, data_events, http, request
import iclib  # noqa: E402  (after routerlib, see routerlib._load_iclib)

CADDYFILE = """{
	admin off
	auto_https off
	storage file_system %(dir)s/storage
}

http://127.0.0.1:%(cport)d {
	reverse_proxy 127.0.0.1:%(rport)d {
		flush_interval -1
	}
}
"""


class Caddy(iclib.Proc):
    def __init__(self, rport):
        self.dir = tempfile.mkdtemp(prefix="ic-caddy-")
        self.port = iclib.free_port()
        path = os.path.join(self.dir, "Caddyfile")
        with open(path, "w") as f:
            f.write(CADDYFILE % {"dir": self.dir, "cport": self.port, "rport": rport})
        env = {"HOME": self.dir, "XDG_DATA_HOME": self.dir, "XDG_CONFIG_HOME": self.dir}
        super().__init__("caddy", [shutil.which("caddy"), "run", "--config", path,
                                   "--adapter", "caddyfile"], env=env)
        iclib.wait_port(self.port, proc=self)

    def close(self):
        super().close()
        shutil.rmtree(self.dir, ignore_errors=True)


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


def test_behind_caddy():
    if not shutil.which("caddy"):
        print("caddy not installed: skipped")
        raise SystemExit(iclib.SKIP)
    router = Router(fast=False, trusted_proxies="127.0.0.1", rate_other=3,
                    rate_upgrade=100, rate_chat=100, log_level="debug")
    caddy = None
    try:
        caddy = Caddy(router.port)
        asyncio.run(asyncio.wait_for(through(caddy, router), 30))
        router.assert_clean_exit()
    except Exception:
        print(router.log()[-3000:])
        if caddy:
            print(caddy.log()[-2000:])
        raise
    finally:
        router.close()
        if caddy:
            caddy.close()


if __name__ == "__main__":
    iclib.run_tests([test_behind_caddy])
