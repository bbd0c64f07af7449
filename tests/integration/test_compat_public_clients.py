#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The public IdleClaw skill's own scripts (tests/compat/, unchanged) against
our router: status.py reads /health and /api/models, consume.py chats,
contribute.py registers fake-ollama's models as a node and answers a chat
through it.  Run with Debian's python3-httpx and python3-websockets, and
tests/compat/ollama-stand-in for the `ollama` module."""
import asyncio
import os
import subprocess
import sys

import iclib
from routerlib import TestNode, chat, chat_body, http, text_of, until_model

sys.path.insert(0, os.path.join(iclib.SRCDIR, "tests", "fake-ollama"))
from fakeollama import FakeOllama  # noqa: E402

COMPAT = os.path.join(iclib.SRCDIR, "tests", "compat")


def env_for(router, **extra):
    e = dict(os.environ)
    e["IDLECLAW_SERVER"] = "http://127.0.0.1:%d" % router.port
    e["PYTHONPATH"] = os.path.join(COMPAT, "ollama-stand-in")
    e.update(extra)
    return e


async def run_script(router, *args, timeout=30, **extra):
    p = await asyncio.create_subprocess_exec(
        "/usr/bin/python3", os.path.join(COMPAT, args[0]), *args[1:],
        cwd=COMPAT, env=env_for(router, **extra),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(p.communicate(), timeout)
    return p.returncode, out.decode(), err.decode()


async def test_status_py_reads_nodes_and_models(router):
    a = await TestNode.registered(router, "st-a", models=(
        {"name": "small:1b", "size": 1_000_000}, {"name": "large:8b", "size": 5_000_000_000}))
    b = await TestNode.registered(router, "st-b", models=("small:1b",))
    rc, out, err = await run_script(router, "status.py")
    assert rc == 0, (out, err)
    assert "Status:  ONLINE" in out, out
    assert "Nodes:   2 connected" in out, out
    assert "Available Models (2):\n  - large:8b\n  - small:1b\n" in out, out
    await a.close()
    await b.close()


async def test_consume_py_streams_an_answer(router):
    node = await TestNode.registered(router, "cons", models=("llama3.2:3b",))

    async def answer():
        await node.answer(("Hello", " from", " the node"))
    task = asyncio.ensure_future(answer())
    rc, out, err = await run_script(router, "consume.py", "--model", "llama3.2:3b",
                                    "--prompt", "hi there")
    await task
    assert rc == 0, (out, err)
    assert out == "Hello from the node\n", out
    # a model nobody has: the script's own 503 message
    rc, out, err = await run_script(router, "consume.py", "--model", "nobody:1b",
                                    "--prompt", "hi")
    assert rc == 1 and "No nodes available with model 'nobody:1b'" in err, (rc, out, err)
    await node.close()


async def test_contribute_py_serves_a_chat(router):
    with FakeOllama("--models", "tiny:1b=1000,big:7b=7000", "--reply",
                    "Answer from fake Ollama") as fo:
        p = await asyncio.create_subprocess_exec(
            "/usr/bin/python3", os.path.join(COMPAT, "contribute.py"), cwd=COMPAT,
            env=env_for(router, OLLAMA_HOST=fo.url),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        lines = []

        async def read_log():
            async for line in p.stdout:
                lines.append(line.decode())
        reader = asyncio.ensure_future(read_log())
        try:
            await until_model(router.port, "tiny:1b", node_count=1,
                              what="contribute.py registered")
            st, _, body = await http(router.port, "GET", "/api/models")
            assert body["models"] == ["big:7b", "tiny:1b"], body
            resp = await chat(router.port, chat_body("tiny:1b", "hello"), ip="10.41.0.1")
            assert resp.status == 200, resp.status
            events = await resp.events(timeout=30)
            resp.close()
            assert text_of(events) == "Answer from fake Ollama", events
            st, _, h = await http(router.port, "GET", "/health")
            assert h["node_count"] == 1, h
            for _ in range(100):
                if any("Inference complete" in x for x in lines):
                    break
                await asyncio.sleep(0.1)
        finally:
            p.terminate()
            await asyncio.wait_for(p.wait(), 10)
            await asyncio.wait_for(reader, 10)
        log = "".join(lines)
        assert "Registered as node" in log, log
        assert "Inference complete" in log, log
