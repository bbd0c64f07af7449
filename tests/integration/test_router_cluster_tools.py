#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A chat that crosses router instances and calls a tool: the consumer's
instance runs the search and offers the next round again; the node on the
other instance sees the same requests as from a single router."""
import asyncio

from routerlib import Router, TestNode, chat, chat_body, http
from test_router_cluster import nats  # noqa: F401 (a fixture)
from test_router_tools import (NATIVE, send_calls, send_text,
                               until_tool, rest_of, ws_call)
from toolslib import SearxStandIn, expected_results



def instance(nats, name, sx):
    return Router(**{"cluster.url": nats.url, "cluster.instance": name,
                     "tools.searxng_url": sx.url, "metrics": "yes",
                     "nodes_per_ip": 100})


async def until_peer_model(r, model, timeout=10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        st, _, body = await http(r.port, "GET", "/api/models")
        if st == 200 and model in body["models"]:
            return
        assert asyncio.get_running_loop().time() < deadline, body
        await asyncio.sleep(0.05)


async def test_tool_round_across_instances(nats):
    sx = SearxStandIn()
    a = instance(nats, "a", sx)
    b = instance(nats, "b", sx)
    node = await TestNode.registered(b, "tb-1", models=(NATIVE,), max_concurrent=2)
    await until_peer_model(a, NATIVE)
    resp = await chat(a.port, chat_body(NATIVE, "what is new?"), ip="10.7.0.1")
    q1 = await node.recv_type("inference_request")
    assert q1["ollama_params"]["tools"][0]["function"]["name"] == "web_search"
    await node.chunk(q1["request_id"], "Looking. ")
    await send_calls(node, q1["request_id"], [ws_call("idle claw")])
    texts, tc = await until_tool(resp, "executing")
    assert texts == ["Looking. "], texts
    _, tc = await until_tool(resp, "done")
    # the next round is offered again: same node, the tool turns added
    q2 = await node.recv_type("inference_request")
    assert q2["request_id"] != q1["request_id"]
    msgs = q2["ollama_params"]["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "tool"], msgs
    assert msgs[2] == {"role": "assistant", "content": "Looking. ",
                       "tool_calls": [ws_call("idle claw")]}, msgs[2]
    assert msgs[3] == {"role": "tool", "tool_name": "web_search",
                       "content": expected_results("idle claw")}, msgs[3]
    assert "tools" in q2["ollama_params"]
    await send_text(node, q2["request_id"], ["It is ", "new."])
    text, tools = await rest_of(resp)
    assert text == "It is new." and tools == [], (text, tools)
    resp.close()
    # the search ran once, on the consumer's instance
    assert len(sx.queries) == 1, sx.queries
    _, _, ma = await http(a.port, "GET", "/metrics")
    _, _, mb = await http(b.port, "GET", "/metrics")
    assert ma["tool_calls"]["ok"] == 1, ma["tool_calls"]
    assert mb["tool_calls"]["ok"] == 0, mb["tool_calls"]
    assert ma["cluster_chats_sent"] == 2 and mb["cluster_chats_served"] == 2, (ma, mb)
    await node.close()
    a.assert_clean_exit()
    b.assert_clean_exit()
