#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""idleclaw-routerd: the prompt policy - the exact ollama_params a node
receives for a native-tool model, a text-form model and a thinking model,
with and without think; capabilities from the node's report over names."""
import pytest

from routerlib import TestNode, chat, chat_body, text_of
from toolslib import date_lines

OPERATOR = "Operator text."
BRIEF = "Keep your internal reasoning brief and focused."
WEB_SEARCH_TOOLS = [{
    "type": "function",
    "function": {
        "name": "web_search",
        "description": "Search the web for current information. Returns the top "
                       "results with title, URL and a snippet.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string", "description": "what to search for"}},
            "required": ["query"],
            "additionalProperties": False,
        },
    },
}]


async def params_for(router, node, body, ip):
    """Send body as a chat; the node's inference_request's ollama_params."""
    resp = await chat(router.port, body, ip=ip)
    req = await node.recv_type("inference_request")
    rid = req["request_id"]
    await node.chunk(rid, "ok", done=True)
    assert text_of(await resp.events()) == "ok"
    resp.close()
    return req["ollama_params"]


def system_of(params):
    first = params["messages"][0]
    assert first["role"] == "system", params
    assert [m["role"] for m in params["messages"][1:]].count("system") == 0, params
    return first["content"]


def check_prefix(text):
    """Operator text, then the date line; the rest of the system text."""
    head, sep, rest = text.partition("\n\n")
    assert head == OPERATOR, text
    date, _, rest = rest.partition("\n\n")
    assert date in date_lines(), date
    return rest


def check_common(params, model, msgs, think):
    assert params["model"] == model, params
    assert params["stream"] is True, params
    assert params["keep_alive"] == -1, params
    assert params["think"] is think, params
    assert params["messages"][1:] == msgs, params
    extra = set(params) - {"model", "messages", "stream", "keep_alive", "think", "tools"}
    assert not extra, extra


def check_text_tools(rest):
    assert rest.startswith("You can call these tools:\n- web_search: "), rest
    assert "<tool_call>{\"name\": \"TOOL\", \"arguments\": {...}}</tool_call>" in rest, rest
    assert '"required":["query"]' in rest, rest


@pytest.mark.router(system_prompt=OPERATOR, **{"tools.searxng_url": "http://127.0.0.1:9"})
async def test_prompt_policy(router):
    node = await TestNode.connect(router, "pp")
    reply = await node.register(models=("llama3.2:3b", "gemma2:2b", "qwen3:8b"))
    assert reply["type"] == "registered", reply
    msgs = [{"role": "user" if i % 2 == 0 else "assistant", "content": "m%d" % i}
            for i in range(25)]
    # native tools (by name): tools in params, no instructions, think off
    for think in (False, True):
        p = await params_for(router, node, {"model": "llama3.2:3b", "messages": msgs,
                                       "think": think}, "10.90.0.1")
        check_common(p, "llama3.2:3b", msgs[-20:], False)
        assert p["tools"] == WEB_SEARCH_TOOLS, p
        assert check_prefix(system_of(p)) == "", system_of(p)
    # text form: instructions in the system text, no tools member
    for think in (False, True):
        p = await params_for(router, node, chat_body("gemma2:2b", "hi", think=think),
                             "10.90.0.2")
        check_common(p, "gemma2:2b", [{"role": "user", "content": "hi"}], False)
        assert "tools" not in p, p
        check_text_tools(check_prefix(system_of(p)))
    # thinking (and native tools): think only when asked, with the brief line
    p = await params_for(router, node, chat_body("qwen3:8b", "hi", think=False), "10.90.0.3")
    check_common(p, "qwen3:8b", [{"role": "user", "content": "hi"}], False)
    assert check_prefix(system_of(p)) == "", system_of(p)
    assert p["tools"] == WEB_SEARCH_TOOLS, p
    p = await params_for(router, node, chat_body("qwen3:8b", "hi", think=True), "10.90.0.3")
    check_common(p, "qwen3:8b", [{"role": "user", "content": "hi"}], True)
    assert check_prefix(system_of(p)) == BRIEF, system_of(p)
    assert p["tools"] == WEB_SEARCH_TOOLS, p
    await node.close()

    # the node's capabilities win over names: this llama3.2 has no tools,
    # this "plain" model thinks
    node = await TestNode.connect(router, "pp2")
    await node.send({"type": "register", "node_id": "pp2", "max_concurrent": 2,
                     "models": [
                         {"name": "llama3.2:3b", "size": 1, "capabilities": ["completion"]},
                         {"name": "plain:1b", "size": 1,
                          "capabilities": ["completion", "thinking"]}]})
    reply = await node.recv()
    assert reply["type"] == "registered", reply
    p = await params_for(router, node, chat_body("llama3.2:3b", "hi", think=True), "10.90.0.4")
    check_common(p, "llama3.2:3b", [{"role": "user", "content": "hi"}], False)
    assert "tools" not in p, p
    check_text_tools(check_prefix(system_of(p)))
    p = await params_for(router, node, chat_body("plain:1b", "hi", think=True), "10.90.0.5")
    check_common(p, "plain:1b", [{"role": "user", "content": "hi"}], True)
    rest = check_prefix(system_of(p))
    assert rest.startswith(BRIEF + "\n\nYou can call these tools:"), rest
    await node.close()


@pytest.mark.router(system_prompt=OPERATOR)
async def test_prompt_without_tools(router):
    """No searxng_url: no tools and no instructions, whatever the model."""
    node = await TestNode.registered(router, "pn", models=("llama3.2:3b", "gemma2:2b"))
    for model in ("llama3.2:3b", "gemma2:2b"):
        p = await params_for(router, node, chat_body(model, "hi"), "10.90.1.1")
        check_common(p, model, [{"role": "user", "content": "hi"}], False)
        assert "tools" not in p, p
        assert check_prefix(system_of(p)) == "", system_of(p)
    await node.close()

