# SPDX-License-Identifier: AGPL-3.0-or-later
"""Helpers for driving `idleclawctl chat` in a real terminal
(tests/integration/test_ctl_repl.py).

ChatNet runs the real idleclaw-routerd and idleclawd (a consumer: its
Ollama is nowhere) and a ScriptedNode: a node WebSocket (routerlib's
TestNode) in a thread of its own, answering each inference_request with
what the test scripted.  Tmux runs idleclawctl in a detached tmux session
of a given size on a private server, types into it (send-keys,
paste-buffer -p) and reads the screen back (capture-pane), as a person at
a terminal would.
"""
import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

import daemonlib as dl
import iclib
import routerlib
import toolslib

CTL = iclib.binary("ctl/idleclawctl")
MODEL = "m1"
OTHER = "m2"


class ScriptedNode:
    """A node with MODEL and OTHER.  answer(req) (settable) returns the
    chunks of an answer: a list of dicts for routerlib.TestNode.chunk()
    (content=, thinking=, done=...), or of floats (seconds to pause), or
    the string "hold" (wait for the cancel).  Every message the router
    sent is in self.seen."""

    def __init__(self, router, caps=("completion", "thinking", "tools")):
        self.router = router
        self.caps = list(caps)
        self.seen = []
        self.lock = threading.Lock()
        self.answer = lambda req: [{"content": "Hello"}]
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stopping = False
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(15):
            raise AssertionError("scripted node did not register: %r" % self.error)
        if self.error:
            raise AssertionError("scripted node: %r" % self.error)
        iclib.track(self)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except Exception as e:  # noqa: BLE001 (reported to the test)
            self.error = e
            self.ready.set()

    async def _main(self):
        n = await routerlib.TestNode.connect(self.router, "scripted-node")
        self.node = n
        msg = {"type": "register", "node_id": "scripted-node",
               "models": [{"name": m, "size": 1000, "capabilities": self.caps}
                          for m in (MODEL, OTHER)],
               "max_concurrent": 4, "ollama_version": "0.12.0"}
        await n.send(msg)
        reply = await n.recv()
        assert reply["type"] == "registered", reply
        self.ready.set()
        cancelled = set()
        tasks = set()
        beat = self.loop.time()
        while not self.stopping:
            if self.loop.time() - beat > 10:
                beat = self.loop.time()
                await n.heartbeat(active=len(tasks))
            try:
                m = await n.recv(timeout=0.5)
            except asyncio.TimeoutError:
                continue
            except routerlib.Closed:
                return
            with self.lock:
                self.seen.append(m)
            if m.get("type") == "inference_request":
                t = asyncio.ensure_future(self._serve(m, cancelled))
                tasks.add(t)
                t.add_done_callback(tasks.discard)
            elif m.get("type") == "cancel_request":
                cancelled.add(m.get("request_id"))
            elif m.get("type") == "ping":
                await n.send({"type": "pong"})
        for t in list(tasks):
            t.cancel()
        await n.close()

    async def _serve(self, req, cancelled):
        rid = req["request_id"]
        for step in self.answer(req):
            if rid in cancelled:
                return
            if step == "hold":
                while rid not in cancelled and not self.stopping:
                    await asyncio.sleep(0.05)
                return
            if isinstance(step, (int, float)):
                await asyncio.sleep(step)
                continue
            if "tool_calls" in step:    # a round that ends in tool calls
                await self.node.send({"type": "inference_chunk", "request_id": rid, "chunk": {
                    "message": {"role": "assistant", "content": "",
                                "tool_calls": step["tool_calls"]}, "done": False}})
                continue
            await self.node.chunk(rid, **step)
        if rid not in cancelled:
            await self.node.chunk(rid, "", done=True, done_reason="stop")

    def of_type(self, mtype):
        with self.lock:
            return [m for m in self.seen if m.get("type") == mtype]

    def requests(self):
        return self.of_type("inference_request")

    def last_messages(self):
        """The messages of the last inference_request."""
        reqs = self.requests()
        assert reqs, "no inference_request"
        return reqs[-1]["ollama_params"]["messages"]

    def close(self):
        if self.stopping:
            return
        self.stopping = True
        self.thread.join(5)


class ChatNet:
    """routerd + a scripted node + idleclawd as the consumer; with searx,
    the router's web_search goes to a SearXNG stand-in."""

    def __init__(self, searx=False):
        opts = {"streams_per_ip": 1000}
        self.searx = None
        if searx:
            self.searx = toolslib.SearxStandIn()
            opts["tools.searxng_url"] = self.searx.url
        self.router = routerlib.Router(**opts)
        self.node = ScriptedNode(self.router)
        server = "http://127.0.0.1:%d" % self.router.port
        self.d = dl.Daemon(server, "http://127.0.0.1:%d" % iclib.free_port(),
                           node_id="consumer-node").wait_ready()
        self.sock = self.d.sock
        c = self.d.ctl()
        iclib.wait_for(lambda: MODEL in (c.call("models").get("models") or []),
                       timeout=15, what="model listed by the router")
        c.close()

    def close(self):
        """After a passed test: the daemon exits cleanly."""
        self.node.close()
        self.d.assert_clean_exit()
        self.router.close()


def have_tmux():
    return shutil.which("tmux") is not None


class Tmux:
    """idleclawctl (argv after the program) in a tmux pane of width x
    height on a private tmux server, shell_tail (redirections) after it."""

    def __init__(self, sock, args, width=60, height=40, env=None, shell_tail=""):
        self.dir = tempfile.mkdtemp(prefix="ic-tmux-")
        self.server = os.path.join(self.dir, "tmux.sock")
        inputrc = os.path.join(self.dir, "inputrc")
        open(inputrc, "w").close()
        e = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "INPUTRC": inputrc,
             "HOME": self.dir, "TERM": "screen",
             # sanitizer reports to a file: the pane is a terminal
             "ASAN_OPTIONS": "log_path=%s/asan" % self.dir,
             "UBSAN_OPTIONS": "log_path=%s/ubsan:print_stacktrace=1" % self.dir}
        e.update(env or {})
        argv = [CTL, "--socket", sock] + list(args)
        conf = os.path.join(self.dir, "tmux.conf")
        with open(conf, "w") as f:
            # the pane stays when idleclawctl exits
            f.write("set -g remain-on-exit on\n")
        envargs = ["%s=%s" % kv for kv in e.items()]
        self.status = os.path.join(self.dir, "status")
        # a trap, not an ignore: idleclawctl gets SIGINT as from a shell,
        # the shell survives Ctrl-C to write the exit status
        script = "trap : INT; %s%s; echo $? > %s" % (
            " ".join(sh_quote(a) for a in argv), shell_tail, sh_quote(self.status))
        subprocess.run(["tmux", "-S", self.server, "-f", conf, "new-session", "-d",
                        "-x", str(width), "-y", str(height), "-s", "t",
                        "env", "-u", "NO_COLOR", "-u", "IDLECLAW_SOCKET"] + envargs +
                       ["sh", "-c", script],
                       check=True, timeout=10)
        iclib.track(self)

    def tmux(self, *args, **kw):
        return subprocess.run(["tmux", "-S", self.server] + list(args), check=True,
                              capture_output=True, text=True, timeout=10, **kw)

    def keys(self, *keys):
        """send-keys: names such as Enter, C-c, Up; -l for literal text."""
        self.tmux("send-keys", "-t", "t", *keys)

    def type(self, text):
        self.tmux("send-keys", "-t", "t", "-l", text)

    def line(self, text):
        self.type(text)
        self.keys("Enter")

    def paste(self, text):
        """Paste text as a terminal does: in bracketed paste markers when
        the program asked for them."""
        self.tmux("set-buffer", "-b", "p", text)
        self.tmux("paste-buffer", "-p", "-d", "-b", "p", "-t", "t")

    def screen(self, escapes=False):
        """The pane and its history, lines without trailing blanks."""
        args = ["capture-pane", "-p", "-S", "-", "-t", "t", "-J" if not escapes else "-e"]
        out = self.tmux(*args).stdout
        return "\n".join(line.rstrip() for line in out.split("\n")).rstrip("\n")

    def rows(self):
        """The pane and its history as rows, exactly as shown (no joining)."""
        return self.tmux("capture-pane", "-p", "-S", "-", "-t", "t").stdout.split("\n")

    def title(self):
        return self.tmux("display-message", "-p", "-t", "t", "#{pane_title}").stdout.strip()

    def wait(self, pred, timeout=15.0, what="screen"):
        deadline = time.monotonic() + timeout
        s = ""
        while time.monotonic() < deadline:
            s = self.screen()
            if pred(s):
                return s
            time.sleep(0.05)
        raise AssertionError("timed out waiting for %s; screen:\n%s" % (what, s))

    def wait_text(self, text, timeout=15.0, count=1):
        return self.wait(lambda s: s.count(text) >= count, timeout, repr(text))

    def wait_prompt(self, count, timeout=15.0):
        """Until the count-th ">>> " prompt is on the screen."""
        return self.wait(lambda s: prompts(s) >= count, timeout, "prompt %d" % count)

    def exit_status(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open(self.status) as f:
                    text = f.read().strip()
                if text:
                    return int(text)
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("idleclawctl did not exit; screen:\n" + self.screen())

    def sanitizer_reports(self):
        out = []
        for name in os.listdir(self.dir):
            if name.startswith("asan") or name.startswith("ubsan"):
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    out.append(f.read())
        return out

    def close(self):
        subprocess.run(["tmux", "-S", self.server, "kill-server"], capture_output=True,
                       timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def prompts(screen):
    return sum(1 for line in screen.split("\n") if line.startswith(">>>"))


def sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def chunk_text(req):
    """The text of the last user message of an inference_request."""
    return req["ollama_params"]["messages"][-1]["content"]


__all__ = ["ChatNet", "ScriptedNode", "Tmux", "have_tmux", "MODEL", "OTHER", "json",
           "prompts", "chunk_text"]
