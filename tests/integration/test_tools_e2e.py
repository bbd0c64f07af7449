#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""web_search end to end: idleclaw-routerd with a SearXNG stand-in,
idleclawd and fake-ollama (whose model calls the tool), and idleclawctl
chat showing the tool's progress on stderr and in its --json events."""
import json
import subprocess

import iclib
from toolslib import SearxStandIn, expected_results

MODEL = "llama3.2:latest"


def test_ctl_chat_with_web_search(make_router, daemon, fake_ollama):
    ctl_bin = iclib.binary("ctl/idleclawctl")
    sx = SearxStandIn()
    router = make_router(**{"tools.searxng_url": sx.url})
    fo = fake_ollama("--reply", "the answer", "--tool-call",
                     'web_search:{"query":"idle claw"}')
    d = daemon("http://127.0.0.1:%d" % router.port, fo.url).wait_ready()
    c = d.ctl()

    def ctl(*args):
        return subprocess.run([ctl_bin, "--socket", d.sock] + list(args),
                              capture_output=True, text=True, timeout=60)

    iclib.wait_for(lambda: MODEL in (c.call("models").get("models") or []),
                   timeout=15, what="model listed by the router")
    out = ctl("chat", "-m", MODEL, "search please")
    assert out.returncode == 0, out
    # fake-ollama says its reply, then calls the tool; after the result
    # it says it again without a call
    assert out.stdout.strip() == "the answerthe answer", out
    assert "[web_search: executing]\n" in out.stderr, out.stderr
    assert "[web_search: done]\n" in out.stderr, out.stderr
    bodies = fo.chat_bodies()
    assert len(bodies) == 2, bodies
    # fake-ollama reports "tools" in /api/show: the tool goes natively
    assert bodies[0]["tools"][0]["function"]["name"] == "web_search", bodies[0]
    assert bodies[1]["messages"][-1] == {
        "role": "tool", "tool_name": "web_search",
        "content": expected_results("idle claw")}, bodies[1]["messages"]
    out = ctl("--json", "chat", "-m", MODEL, "again")
    assert out.returncode == 0, out
    events = [json.loads(x) for x in out.stdout.splitlines() if x.strip()]
    tools = [(e["name"], e["status"]) for e in events if e.get("event") == "tool"]
    assert tools == [("web_search", "executing"), ("web_search", "done")], events
    assert [q["q"] for q in sx.queries] == ["idle claw", "idle claw"], sx.queries
    c.close()
    d.assert_clean_exit()
    router.assert_clean_exit()
