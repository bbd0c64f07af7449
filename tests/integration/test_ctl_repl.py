#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""`idleclawctl chat` in a real terminal (tmux), as an `ollama run` user
types it, against the real idleclaw-routerd and idleclawd and a scripted
node: readline's history, the /commands, \"\"\" and bracketed paste,
Ctrl-C and Ctrl-D, word wrap at 60 columns, thinking shown and hidden, a
tool round, escape sequences from a hostile node taken out on the terminal
(kept with --raw and to a pipe), and the plain path (not a terminal)
byte for byte as before."""
import os
import re
import subprocess
import time

import pytest

import daemonlib as dl
import replib
import routerlib
from ctllib import run_ctl
from daemonlib import iclib
from replib import MODEL, OTHER, ChatNet, Tmux, chunk_text, prompts

pytestmark = pytest.mark.skipif(not replib.have_tmux(), reason="tmux is not installed")

LONG = ("Idle machines lend their spare compute to people who have none, and the "
        "network routes every question to a node that is quiet enough to answer it "
        "without disturbing its owner at all.")


def run(fn, searx=False):
    net = ChatNet(searx=searx)
    fn(net)
    net.close()


def start(net, *args, **kw):
    t = Tmux(net.sock, ["chat", "-m", MODEL] + list(args), **kw)
    t.wait_prompt(1)
    return t


def finish(t, status=0):
    """idleclawctl has exited with status, sanitizers silent."""
    assert t.exit_status() == status, t.screen()
    assert t.sanitizer_reports() == [], t.sanitizer_reports()
    t.close()


def echo(req):
    return [{"content": "echo: " + chunk_text(req)}]


def users(net):
    """The user messages of the last request (the router puts its own
    system message first)."""
    return [m["content"] for m in net.node.last_messages() if m["role"] == "user"]


def ask(t, net, text):
    """Type a question, wait for its answer and the next prompt."""
    before = len(net.node.requests())
    n = prompts(t.screen())
    t.line(text)
    iclib.wait_for(lambda: len(net.node.requests()) == before + 1, what="request")
    return t.wait_prompt(n + 1)


def cmd(t, line, want):
    """Type a /command, wait for want and the next prompt."""
    n = prompts(t.screen())
    t.line(line)
    t.wait_text(want)
    return t.wait_prompt(n + 1)


def test_history_and_ctrl_d():
    """Up recalls the last line (readline, not ^[[A in the question); the
    history goes with the turn; Ctrl-D at an empty prompt leaves with 0."""
    def t_(net):
        net.node.answer = echo
        t = start(net)
        ask(t, net, "first question")
        assert "echo: first question" in t.screen()
        t.keys("Up")
        t.wait(lambda s: s.split("\n")[-1] == ">>> first question", what="recalled line")
        t.keys("End")
        t.type(" again")
        t.keys("Enter")
        s = t.wait_prompt(3)
        assert "echo: first question again" in s, s
        assert "[A" not in s
        assert users(net) == ["first question", "first question again"]
        assert [m["role"] for m in net.node.last_messages()][-3:] == [
            "user", "assistant", "user"]
        t.keys("C-d")
        finish(t)
    run(t_)


def test_help_and_unknown_commands():
    def t_(net):
        net.node.answer = echo
        t = start(net)
        t.line("/?")
        s = t.wait_text("Use \"\"\" to begin a multi-line message.")
        for want in ("/set", "/show", "/load <model>", "/clear", "/bye", "/? shortcuts"):
            assert want in s, (want, s)
        t.line("/? shortcuts")
        s = t.wait_text("Ctrl + r")
        assert "Ctrl + c" in s and "Ctrl + d" in s
        t.line("/help")
        t.wait_text("Available Commands:", count=2)
        t.line("/set")
        t.wait_text("/set nothink")
        t.line("/frobnicate now")
        s = t.wait_text("Unknown command '/frobnicate'. Type /? for help")
        t.line("/set bogus")
        t.wait_text("Unknown command '/set bogus'")
        # none of it went to the model
        assert net.node.requests() == []
        t.line("/bye")
        finish(t)
    run(t_)


def test_set_show_clear_load():
    def t_(net):
        net.node.answer = echo
        t = start(net)
        cmd(t, "/set system Answer in one word.", "Set system message.")
        ask(t, net, "hi")
        assert users(net) == ["Answer in one word.\n\nhi"], users(net)
        assert net.node.requests()[-1]["ollama_params"].get("think") in (None, False)

        cmd(t, "/set think", "Set 'think' mode.")
        ask(t, net, "deep")
        assert net.node.requests()[-1]["ollama_params"]["think"] is True
        cmd(t, "/set nothink", "Set 'nothink' mode.")
        ask(t, net, "shallow")
        assert net.node.requests()[-1]["ollama_params"].get("think") in (None, False)

        cmd(t, "/clear", "Cleared session context")
        ask(t, net, "fresh")
        # the system text stays, the conversation went
        assert users(net) == ["Answer in one word.\n\nfresh"], users(net)

        cmd(t, "/set verbose", "Set 'verbose' mode.")
        net.node.answer = lambda req: [{"content": "one "}, 0.05, {"content": "two "}, 0.05,
                                       {"content": "three"}]
        s = ask(t, net, "count")
        for want in ("time to first token:", "total duration:",
                     "content deltas:       3 (estimated tokens",
                     "/s (estimated tokens/s)"):
            assert want in s, (want, s)
        cmd(t, "/set quiet", "Set 'quiet' mode.")

        s = cmd(t, "/show info", "system message")
        assert re.search(r"name +%s" % re.escape(MODEL), s), s
        assert "router          http://127.0.0.1:%d\n" % net.router.port in s, s
        caps = s[s.rindex("Capabilities"):s.rindex("Session")]
        assert caps.split() == ["Capabilities", "completion", "thinking", "tools"], caps
        cmd(t, "/show system", "\nAnswer in one word.\n")

        cmd(t, "/load nope:1", "The network does not offer 'nope:1' now")
        cmd(t, "/load " + OTHER, "Loaded model '%s': a new conversation." % OTHER)
        net.node.answer = echo
        ask(t, net, "who")
        req = net.node.requests()[-1]
        assert req["ollama_params"]["model"] == OTHER
        assert users(net) == ["who"], users(net)    # nothing kept, no system text
        t.line("/bye")
        finish(t)
    run(t_)


def test_multiline_and_bracketed_paste():
    def t_(net):
        net.node.answer = echo
        t = start(net)
        t.line('"""')
        t.wait(lambda s: s.split("\n")[-1] == "...", what="continuation prompt")
        t.line("line one")
        t.line("/not a command")
        t.line('line three"""')
        iclib.wait_for(lambda: len(net.node.requests()) == 1, what="request")
        t.wait_prompt(2)
        assert users(net) == ["line one\n/not a command\nline three"], users(net)
        # """ on one line
        ask(t, net, '"""/etc/hosts, what is it?"""')
        assert users(net)[-1] == "/etc/hosts, what is it?"
        # a paste with newlines is one message, sent with Enter
        t.paste("alpha\nbeta\ngamma")
        time.sleep(0.3)
        assert len(net.node.requests()) == 2, "the paste's newlines sent a message"
        t.keys("Enter")
        iclib.wait_for(lambda: len(net.node.requests()) == 3, what="pasted request")
        t.wait_prompt(4)
        assert users(net)[-1] == "alpha\nbeta\ngamma", users(net)
        time.sleep(0.3)
        assert len(net.node.requests()) == 3
        t.keys("C-d")
        finish(t)
    run(t_)


def test_ctrl_c_stops_the_answer():
    """Ctrl-C mid-answer: the node sees cancel_request for it, the prompt
    comes back and the next question is answered on the same chat; Ctrl-C
    at an empty prompt says how to leave, a second one leaves with 0."""
    def t_(net):
        net.node.answer = lambda req: [{"content": "partial answer "}, "hold"]
        t = start(net)
        t.line("tell me everything")
        t.wait_text("partial answer")
        rid = net.node.requests()[-1]["request_id"]
        t.keys("C-c")
        t.wait_prompt(2)
        iclib.wait_for(lambda: any(m.get("request_id") == rid
                                   for m in net.node.of_type("cancel_request")),
                       what="cancel_request at the node")
        net.node.answer = echo
        s = ask(t, net, "and now?")
        assert "echo: and now?" in s, s
        # the cancelled question is not part of the conversation
        assert users(net) == ["and now?"], users(net)
        # Ctrl-C drops a line being typed, without leaving
        t.type("half a thought")
        t.keys("C-c")
        t.wait_prompt(4)
        t.keys("C-c")
        t.wait_text("Use Ctrl + d or /bye to exit, or Ctrl + c again.")
        t.keys("C-c")
        finish(t)
    run(t_)


def answer_rows(t, question):
    """The screen rows (as shown, not joined) of the answer to question."""
    rows = t.rows()
    i = rows.index(">>> " + question)
    out = []
    for r in rows[i + 1:]:
        if r.startswith(">>>"):
            break
        out.append(r.rstrip())
    while out and out[-1] == "":
        out.pop()
    return out


def test_word_wrap_at_60_columns():
    def t_(net):
        net.node.answer = lambda req: [{"content": w + " "} for w in LONG.split()[:-1]] + [
            {"content": LONG.split()[-1]}]
        t = start(net, width=60)
        ask(t, net, "why")
        rows = answer_rows(t, "why")
        assert len(rows) >= 3 and all(len(r) <= 60 for r in rows), rows
        # every word whole on one row: the rows' words are the answer's
        assert " ".join(rows).split() == LONG.split(), rows
        # each row was filled as far as the next word allowed
        words = LONG.split()
        for a, b in zip(rows, rows[1:]):
            assert len(a) + 1 + len(b.split()[0]) > 60, (a, b)
        t.line("/set nowordwrap")
        t.wait_text("Set 'nowordwrap' mode.")
        ask(t, net, "again")
        rows = answer_rows(t, "again")
        # the terminal breaks lines at 60 columns, words or not
        assert all(len(r) <= 60 for r in rows), rows
        assert "".join(rows).replace(" ", "") == LONG.replace(" ", ""), rows
        assert " ".join(rows).split() != words
        t.keys("C-d")
        finish(t)
    run(t_)


THINKING = [{"thinking": "Hmm, the user "}, {"thinking": "wants a greeting."},
            {"content": "Hello there!"}]


def test_thinking_shown_dimmed_and_hidden():
    def t_(net):
        net.node.answer = lambda req: THINKING
        t = start(net, "--think")
        s = ask(t, net, "hi")
        body = s[s.index(">>> hi"):]
        assert "Thinking...\nHmm, the user wants a greeting.\n...done thinking.\n\n" \
            "Hello there!" in body, body
        assert net.node.requests()[-1]["ollama_params"]["think"] is True
        esc = t.screen(escapes=True)
        # dimmed from "Thinking..." to "...done thinking.", not the answer
        assert re.search(r"\x1b\[2m[^\n]*Thinking\.\.\.", esc), repr(esc)
        dim = esc[esc.index("Thinking..."):esc.index("Hello there!")]
        assert "\x1b[0m" in dim or "\x1b[22m" in dim, repr(dim)
        t.keys("C-d")
        finish(t)

        t = start(net, "--hidethinking")
        s = ask(t, net, "hi")
        assert net.node.requests()[-1]["ollama_params"]["think"] is True
        assert "Hello there!" in s and "Thinking" not in s and "greeting" not in s, s
        t.keys("C-d")
        finish(t)
    run(t_)


def test_tool_round_is_one_dim_line():
    def answer(req):
        msgs = req["ollama_params"]["messages"]
        if msgs[-1]["role"] == "tool":
            return [{"content": "It is new."}]
        return [{"tool_calls": [{"function": {"name": "web_search",
                                              "arguments": {"query": "idle claw"}}}]}]

    def t_(net):
        net.node.answer = answer
        t = start(net)
        t.line("what is new?")
        s = t.wait_prompt(2)
        body = s[s.index(">>> what is new?"):].split("\n")
        assert body[1:3] == ["[searching the web: done]", "It is new."], body
        assert net.searx.queries and net.searx.queries[0]["q"] == "idle claw"
        esc = t.screen(escapes=True)
        assert re.search(r"\x1b\[2m\[searching the web: done\]", esc), repr(esc)
        t.keys("C-d")
        finish(t)
    run(t_, searx=True)


HOSTILE = "A\x1b]2;pwned\x07B\x1b[2JC\x1b]52;c;aGk=\x07D\rE\x9b31mF"
SHOWN = "A]2;pwnedB[2JC]52;c;aGk=DE31mF"


def test_escapes_from_the_network_stripped_on_a_terminal():
    def t_(net):
        net.node.answer = lambda req: [{"thinking": "x\x1b]2;thought\x07y"},
                                       {"content": HOSTILE}]
        t = start(net, "--think")
        before = t.title()
        s = ask(t, net, "hi")
        assert SHOWN in s, s
        assert "xy" in s.replace("]2;thought", ""), s
        assert t.title() == before != "pwned"
        t.keys("C-d")
        finish(t)

        # --raw: the terminal obeys (the title changes)
        t = start(net, "--raw")
        ask(t, net, "hi")
        iclib.wait_for(lambda: t.title() == "pwned", what="title set through --raw")
        t.keys("C-d")
        finish(t)

        # to a pipe: the bytes as the network sent them
        r = subprocess.run([replib.CTL, "--socket", net.sock, "chat", "-m", MODEL, "hi"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
        assert r.returncode == 0 and r.stdout == HOSTILE.encode() + b"\n", r
    run(t_)


def test_status_says_each_fact_once():
    """`idle: busy since ..., mode never`, not `busy (mode = never) ...,
    mode never`."""
    router = routerlib.Router()
    d = dl.Daemon("http://127.0.0.1:%d" % router.port,
                  "http://127.0.0.1:%d" % iclib.free_port(),
                  idle={"mode": "never"}).wait_ready()
    line = iclib.wait_for(
        lambda: [x for x in run_ctl(["status"], socket_path=d.sock).stdout.split("\n")
                 if x.startswith("idle:") and "since" in x], what="idle line")[0]
    assert re.fullmatch(r"idle: +busy since \d\d:\d\d:\d\d, mode never", line), line
    d.assert_clean_exit()
    router.close()


# --- not a terminal: as before, byte for byte ---

PLAIN = [{"thinking": "pondering"}, {"content": "The answer"}, {"content": " is 42."}]


def test_plain_output_unchanged():
    """stdin and stdout pipes: stdout the answer, stderr the thinking and
    tool lines undimmed, exactly what idleclawctl printed before."""
    def answer(req):
        msgs = req["ollama_params"]["messages"]
        if msgs[-1]["role"] == "tool":
            return PLAIN
        return [{"content": "Looking. "},
                {"tool_calls": [{"function": {"name": "web_search",
                                              "arguments": {"query": "q"}}}]}]

    def t_(net):
        net.node.answer = answer
        r = run_ctl(["chat", "-m", MODEL, "--think", "q"], socket_path=net.sock)
        assert r.returncode == 0, r
        assert r.stdout == "Looking. The answer is 42.\n", repr(r.stdout)
        assert r.stderr == ("[web_search: executing]\n[web_search: done]\n"
                            "pondering\n"), repr(r.stderr)
    run(t_, searx=True)


def test_plain_conversation_unchanged():
    """stdin a terminal, stdout a pipe: the line-a-turn conversation as
    before (no readline, no wrap), its output byte for byte."""
    def t_(net):
        net.node.answer = echo
        out = os.path.join(net.d.dir, "out")
        t = Tmux(net.sock, ["chat", "-m", MODEL], shell_tail=" > " + out)
        t.wait_text("Chatting with %s through idleclawd.  Ctrl-D or /bye ends" % MODEL)
        t.line("one")
        iclib.wait_for(lambda: len(net.node.requests()) == 1, what="request")
        iclib.wait_for(lambda: "echo: one" in open(out).read(), what="answer")
        t.line("two")
        iclib.wait_for(lambda: "echo: two" in open(out).read(), what="answer")
        t.keys("C-d")
        assert t.exit_status() == 0
        assert open(out).read() == ">>> echo: one\n>>> echo: two\n>>> \n"
        assert t.sanitizer_reports() == []
        t.close()
    run(t_)
