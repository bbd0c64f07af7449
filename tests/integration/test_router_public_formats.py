#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""GET /health and GET /api/models as the public project's clients read them
(../shared/protocol.md): `node_count` in /health; `models` sorted by size,
largest first (the clients' default model is the first); `capabilities`
for every listed model, from the node's report, else the name patterns;
where nodes disagree on one name, the node that registered first decides,
on one instance and across a cluster."""
import asyncio

from routerlib import TestNode, http
from test_router_cluster import cluster_router, nats, until_health  # noqa: F401 (fixture)


def m(name, size, caps=None):
    e = {"name": name, "size": size}
    if caps is not None:
        e["capabilities"] = caps
    return e


async def models(port):
    st, _, body = await http(port, "GET", "/api/models")
    assert st == 200, (st, body)
    return body


async def test_health_node_count(router):
    st, _, h = await http(router.port, "GET", "/health")
    assert st == 200 and h["node_count"] == 0 and h["status"] == "healthy", h
    a = await TestNode.registered(router, "nc-a", models=("m1",))
    b = await TestNode.registered(router, "nc-b", models=("m1",))
    st, _, h = await http(router.port, "GET", "/health")
    assert h["node_count"] == 2 and h["nodes"] == 2, h
    # the other members stay
    assert {"uptime_seconds", "models", "requests_active", "version"} <= set(h), h
    await a.close()
    await b.close()


async def test_models_sorted_by_size_largest_first(router):
    n = await TestNode.registered(router, "sz", models=(
        m("small:1b", 1_000), m("big:70b", 40_000_000_000), m("mid:8b", 5_000_000),
        m("also-mid:8b", 5_000_000)))
    body = await models(router.port)
    # equal sizes by name
    assert body["models"] == ["big:70b", "also-mid:8b", "mid:8b", "small:1b"], body
    assert set(body["capabilities"]) == set(body["models"]), body
    await n.close()


async def test_capabilities_reported_else_name_patterns(router):
    n = await TestNode.registered(router, "caps", models=(
        # Ollama's own report wins over the name
        m("qwen3:0.6b", 3, ["completion"]),
        m("plain:1b", 2, ["completion", "thinking", "tools"]),
        # no report: the name patterns (thinking_models, tool_models)
        m("qwen3:8b", 1), m("llama3.2:3b", 1), m("other:1b", 1)))
    caps = (await models(router.port))["capabilities"]
    assert caps == {
        "qwen3:0.6b": {"thinking": False, "tool_calls": False},
        "plain:1b": {"thinking": True, "tool_calls": True},
        "qwen3:8b": {"thinking": True, "tool_calls": True},
        "llama3.2:3b": {"thinking": False, "tool_calls": True},
        "other:1b": {"thinking": False, "tool_calls": False},
    }, caps
    await n.close()


async def test_first_registered_node_decides(router):
    first = await TestNode.registered(router, "first", models=(
        m("dis", 10, ["completion"]), m("ref", 50)))
    await asyncio.sleep(0.01)
    later = await TestNode.registered(router, "later", models=(
        m("dis", 100, ["completion", "thinking", "tools"]), m("ref", 50)))
    body = await models(router.port)
    # size 10 from the first node: below "ref"
    assert body["models"] == ["ref", "dis"], body
    assert body["capabilities"]["dis"] == {"thinking": False, "tool_calls": False}, body
    await first.close()
    deadline = asyncio.get_running_loop().time() + 5
    while (await models(router.port))["models"] != ["dis", "ref"]:
        assert asyncio.get_running_loop().time() < deadline, await models(router.port)
        await asyncio.sleep(0.05)
    body = await models(router.port)
    assert body["capabilities"]["dis"] == {"thinking": True, "tool_calls": True}, body
    await later.close()


async def test_cluster_models_sorted_with_capabilities(nats):  # noqa: F811
    a = cluster_router(nats, "pa")
    b = cluster_router(nats, "pb")
    na = await TestNode.registered(a, "cpa", models=(
        m("shared", 10, ["completion"]), m("only-a", 20)))
    await asyncio.sleep(0.01)
    nb = await TestNode.registered(b, "cpb", models=(
        m("shared", 1000, ["completion", "thinking", "tools"]), m("qwen3:4b", 30)))
    for r in (a, b):
        await until_health(r, "both nodes", lambda h: h.get("peers") == 1 and h["nodes"] == 2)
        body = await models(r.port)
        # a's node registered "shared" first: its size and capabilities
        assert body["models"] == ["qwen3:4b", "only-a", "shared"], (r.name, body)
        assert body["capabilities"] == {
            "qwen3:4b": {"thinking": True, "tool_calls": True},
            "only-a": {"thinking": False, "tool_calls": False},
            "shared": {"thinking": False, "tool_calls": False},
        }, (r.name, body)
        st, _, h = await http(r.port, "GET", "/health")
        assert h["node_count"] == 2, h
    await na.close()
    await nb.close()
