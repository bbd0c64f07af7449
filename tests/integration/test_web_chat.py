#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The web chat (web/, docs/web.md) in headless Chromium against the real
router: with a real idleclawd and fake-ollama, and with TestNode where a
test must script the node (pace, thinking, tool calls, hostile text).
Skipped only where chromium, chromium-driver or python3-selenium is
missing (weblib.Browser)."""
import asyncio

import daemonlib as dl
import iclib
from routerlib import Router, TestNode, until, until_model
from toolslib import SearxStandIn, ToolsRouter
from weblib import Browser, WebRoot

SMALL, BIG = "aaa-small:1b", "zzz-big:7b"   # the largest sorts last by name


def web_router(root, **opts):
    return Router(web_root=root.path, **opts)


async def wait_js(b, script, what, timeout=20.0):
    """until() over a script's value, yielding to the loop between polls
    (TestNode's socket is served meanwhile)."""
    return await until(lambda: b.js(script), timeout=timeout, what=what)


def answer_text(b, i=-1):
    return b.js("const a = document.querySelectorAll('.msg.assistant .body');"
                "const e = a[a.length + arguments[0]]; return e ? e.textContent.trim() : null;", i)


def type_and_send(b, text):
    el = b.driver.find_element("id", "input")
    el.send_keys(text)
    from selenium.webdriver.common.keys import Keys
    el.send_keys(Keys.ENTER)


def third_party(b, port):
    """URLs the page requested from anywhere but the router."""
    mine = ("http://127.0.0.1:%d/" % port,)
    urls = [e["params"]["request"]["url"] for e in b.net_events()
            if e["method"] == "Network.requestWillBeSent"]
    return [u for u in urls if u.startswith(("http", "ws")) and not u.startswith(mine)]


def test_page_loads_clean_picks_largest_and_chats():
    """With idleclawd and fake-ollama: no console error or CSP report, the
    largest model chosen, node count online, a Markdown answer rendered,
    nothing stored and no request but to the router."""
    root = WebRoot()
    r = web_router(root)
    fo = dl.FakeOllama("--models", "%s=1000,%s=9000000000" % (SMALL, BIG),
                       "--reply", "Here is **bold** and `code`.")
    d = dl.Daemon("http://127.0.0.1:%d" % r.port, fo.url).wait_ready()
    c = d.ctl()
    iclib.wait_for(lambda: BIG in (c.call("models").get("models") or []), timeout=15,
                   what="models listed")
    b = Browser()
    b.open(r.port)
    b.wait(lambda: b.js("return document.getElementById('model').value") == BIG,
           what="the largest model picked")
    opts = b.js("return [...document.querySelectorAll('#model option')].map(o => o.value)")
    assert opts == [BIG, SMALL], opts
    b.wait(lambda: "1 node · online" in b.text("#status"), what="status online")
    type_and_send(b, "hello")
    b.wait(lambda: b.js("return document.querySelector('.msg.assistant strong')"),
           what="a rendered answer")
    b.wait(lambda: b.js("return document.querySelector('.msg.assistant .actions:not([hidden])')"),
           what="the answer's end")
    assert answer_text(b) == "Here is bold and code.", answer_text(b)
    assert b.js("return document.querySelector('.msg.assistant code').textContent") == "code"
    assert fo.bodies()[-1]["messages"][-1] == {"role": "user", "content": "hello"}
    assert b.errors() == [], b.errors()
    assert b.js("return document.cookie") == ""
    assert b.js("return localStorage.length + sessionStorage.length") == 0
    assert third_party(b, r.port) == []
    c.close()


async def test_chat_streams_word_by_word():
    """Each chunk the node sends shows on the page before the next one is
    sent; the user's earlier turns go back to the node (multi-turn)."""
    root = WebRoot()
    r = web_router(root)
    node = await TestNode.registered(r, "n1", models=({"name": BIG, "size": 9000},))
    b = Browser()
    b.open(r.port)
    await wait_js(b, "return document.getElementById('model').value === '%s'" % BIG, "model")
    type_and_send(b, "count")
    req = await node.recv_type("inference_request")
    rid = req["request_id"]
    words = ["one", " two", " three", " four"]
    for i, w in enumerate(words):
        await node.chunk(rid, w)
        want = "".join(words[:i + 1])
        await until(lambda: answer_text(b) == want, what="answer %r" % want)
    await node.chunk(rid, "", done=True, done_reason="stop")
    await wait_js(b, "return !document.getElementById('send').hidden", "the stream's end")
    type_and_send(b, "again")
    req = await node.recv_type("inference_request")
    msgs = [m for m in req["ollama_params"]["messages"] if m["role"] != "system"]
    assert msgs == [{"role": "user", "content": "count"},
                    {"role": "assistant", "content": "one two three four"},
                    {"role": "user", "content": "again"}], msgs
    await node.chunk(req["request_id"], "ok", done=True, done_reason="stop")
    await until(lambda: answer_text(b) == "ok", what="second answer")
    assert b.errors() == []
    await node.close()
    r.assert_clean_exit()


async def test_stop_cancels_at_the_node():
    root = WebRoot()
    r = web_router(root)
    node = await TestNode.registered(r, "n1", models=({"name": BIG, "size": 9000},))
    b = Browser()
    b.open(r.port)
    await wait_js(b, "return document.getElementById('model').value === '%s'" % BIG, "model")
    type_and_send(b, "write a long story")
    req = await node.recv_type("inference_request")
    await node.chunk(req["request_id"], "Once upon")
    await until(lambda: answer_text(b) == "Once upon", what="first words")
    b.driver.find_element("id", "stop").click()
    m = await node.recv_type("cancel_request")
    assert m["request_id"] == req["request_id"], m
    await wait_js(b, "return document.querySelector('.msg.assistant .error').textContent"
                  " === 'Stopped.'", "Stopped.")
    assert answer_text(b) == "Once upon"
    assert b.js("return document.getElementById('stop').hidden") is True
    await node.close()
    r.assert_clean_exit()


async def test_thinking_collapsed_and_web_search_round():
    sx = SearxStandIn(mode="slow")
    root = WebRoot()
    r = ToolsRouter(tools={"searxng_url": sx.url}, web_root=root.path)
    model = "qwen3:8b"          # thinks and calls tools (the name patterns)
    node = await TestNode.registered(r, "n1", models=({"name": model, "size": 9000},))
    b = Browser()
    b.open(r.port)
    await wait_js(b, "return !document.getElementById('think-label').hidden", "Think offered")
    type_and_send(b, "what is new?")
    q1 = await node.recv_type("inference_request")
    assert q1["ollama_params"].get("think") is True, q1["ollama_params"]
    await node.chunk(q1["request_id"], "", thinking="I should search.")
    await node.send({"type": "inference_chunk", "request_id": q1["request_id"], "chunk": {
        "message": {"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "web_search", "arguments": {"query": "news"}}}]},
        "done": False}})
    await node.chunk(q1["request_id"], "", done=True, done_reason="stop")
    await wait_js(b, "return document.querySelector('.msg.assistant .tool').textContent"
                  " === 'Searching the web…'", "Searching the web…")
    sx.release()
    q2 = await node.recv_type("inference_request")
    await node.chunk(q2["request_id"], "Here is the news.", done=False)
    await node.chunk(q2["request_id"], "", done=True, done_reason="stop")
    await until(lambda: answer_text(b) == "Here is the news.", what="the answer")
    await wait_js(b, "return document.querySelector('.msg.assistant .tool').textContent"
                  " === 'Searched the web.'", "Searched the web.")
    th = b.js("const d = document.querySelector('.msg.assistant details.thinking');"
              "return [d.hidden, d.open, d.textContent];")
    assert th[0] is False and th[1] is False and "I should search." in th[2], th
    assert b.errors() == []
    await node.close()


async def test_refusals_and_failures_show_their_messages():
    """429 with its wait, 503, 400, an in-band error, a cut reply and a
    lost connection each show a sentence that says what to do."""
    root = WebRoot()
    r = web_router(root, rate_chat=2, max_reply_chars=5)
    node = await TestNode.registered(r, "n1", models=({"name": BIG, "size": 9000},))
    b = Browser()
    b.open(r.port)
    await wait_js(b, "return document.getElementById('model').value === '%s'" % BIG, "model")

    def last_error():
        return b.js("const e = [...document.querySelectorAll('.msg.assistant .error')].pop();"
                    "return e && !e.hidden ? e.textContent : '';")

    # in-band error after the first words
    type_and_send(b, "one")
    req = await node.recv_type("inference_request")
    await node.chunk(req["request_id"], "Hi")
    await node.error(req["request_id"], "ollama_error")
    err = await until(last_error, what="in-band error")
    assert err.startswith("The answer failed:"), err
    assert answer_text(b) == "Hi", answer_text(b)
    # max_reply_chars: finish_reason length
    type_and_send(b, "two")
    req = await node.recv_type("inference_request")
    await node.chunk(req["request_id"], "123456789")
    await until(lambda: "cut" in last_error(), what="cut reply")
    assert answer_text(b) == "12345"
    # the third chat in a minute: 429 and its Retry-After
    type_and_send(b, "three")
    err = await until(lambda: "Too many requests" in last_error() and last_error(),
                      what="429 message")
    assert err.startswith("Too many requests. Please wait") and "second" in err, err
    await node.close()
    r.close()

    r = web_router(root, refuse_patterns="forbiddenword")
    node = await TestNode.registered(r, "n1", models=({"name": BIG, "size": 9000},))
    b.open(r.port)
    await wait_js(b, "return document.getElementById('model').value === '%s'" % BIG, "model")
    type_and_send(b, "a forbiddenword here")
    await until(lambda: "refused this message" in last_error(), what="400 message")
    await node.close()   # the model is gone, the page still offers it
    await until_model(r.port, BIG, listed=False)
    type_and_send(b, "anyone?")
    err = await until(lambda: "No node can answer" in last_error() and last_error(),
                      what="503 message")
    assert err.startswith("No node can answer with %s" % BIG), err
    # the router goes away mid-answer: a lost connection
    node = await TestNode.registered(r, "n2", models=({"name": BIG, "size": 9000},))
    type_and_send(b, "last")
    req = await node.recv_type("inference_request")
    await node.chunk(req["request_id"], "Partial")
    await until(lambda: answer_text(b) == "Partial", what="partial answer")
    r.close()
    await until(lambda: "connection to the router was lost" in last_error(), what="lost")
    assert [e for e in b.errors() if "/api/chat" not in e["message"]] == [], b.errors()


HOSTILE = [
    "<img src=x onerror=\"window.__pwned='img'\">",
    "<svg onload=\"window.__pwned='svg'\"><circle r=9></circle></svg>",
    "<a href=\"&#106;avascript:window.__pwned='entity'\">click me</a>",
    "[x](JaVaScRiPt:window.__pwned='md')",
    "<div onmouseover=\"window.__pwned='div'\" style=\"position:fixed;inset:0\">raw</div>",
    "<iframe srcdoc=\"<script>parent.__pwned='iframe'</script>\"></iframe>",
    "<details open ontoggle=\"window.__pwned='toggle'\">x</details>",
]

# What the router's output filter would have rewritten, fed to the page's
# renderer directly.
FILTERED = [
    "<script>window.__pwned='script'</script>",
    "[y](javascript:window.__pwned='link')",
    "<a href=\"javascript:window.__pwned='a'\">a</a>",
    "<object data=\"data:text/html,<script>parent.__pwned='data'</script>\"></object>",
    "![i](javascript:window.__pwned='image')",
]

DANGEROUS = ("script, img, svg, iframe, object, embed, div, details, style, link, "
             "meta, base, form, input")

# A page function: the dangerous elements and attributes under root; then
# it clicks every link there (a javascript: href would run now).
CHECK = """(function (root, dangerous) {
  const bad = [];
  for (const e of root.querySelectorAll('*')) {
    if (e.matches(dangerous)) bad.push(e.tagName);
    for (const a of e.attributes) {
      if (/^on/i.test(a.name) || /script:/i.test(a.value) || a.name === 'style')
        bad.push(e.tagName + '@' + a.name);
    }
  }
  for (const a of root.querySelectorAll('a')) a.click();
  return bad;
})"""


async def test_hostile_output_runs_nothing():
    root = WebRoot()
    r = web_router(root)
    node = await TestNode.registered(r, "n1", models=({"name": BIG, "size": 9000},))
    b = Browser()
    b.open(r.port)
    await wait_js(b, "return document.getElementById('model').value === '%s'" % BIG, "model")
    type_and_send(b, "be evil")
    req = await node.recv_type("inference_request")
    for h in HOSTILE:
        await node.chunk(req["request_id"], h + "\n\n")
    await node.chunk(req["request_id"], "", done=True, done_reason="stop")
    await wait_js(b, "return !document.getElementById('send').hidden", "the end")
    await asyncio.sleep(0.5)     # an onerror/onload would have run by now
    bad = b.js("return %s(document.querySelector('.msg.assistant .body'), arguments[0])"
               % CHECK, DANGEROUS)
    assert bad == [], bad
    # shown as text, not lost
    assert "onerror" in answer_text(b) and "click me" in answer_text(b)
    assert b.js("return window.__pwned === undefined"), b.js("return window.__pwned")

    # the renderer alone, as if the filter had let these through
    for h in HOSTILE + FILTERED:
        bad = b.js_async("""
const [text, dangerous, done] = arguments;
import('./render.js').then((m) => {
  const box = document.createElement('div');
  box.append(m.renderMarkdown(text));
  document.body.append(box);
  setTimeout(() => { const bad = %s(box, dangerous); box.remove(); done(bad); }, 300);
}).catch((e) => done(['import failed: ' + e]));
""" % CHECK, h, DANGEROUS)
        assert bad == [], (h, bad)
    assert b.js("return window.__pwned === undefined"), b.js("return window.__pwned")
    assert b.errors() == [], b.errors()
    await node.close()
    r.assert_clean_exit()


async def test_phone_width_has_no_horizontal_scroll():
    root = WebRoot()
    r = web_router(root)
    node = await TestNode.registered(r, "n1", models=({"name": BIG + "-with-a-long-name",
                                                        "size": 9000},))
    b = Browser()
    b.emulate(360, 740)
    b.open(r.port)
    await wait_js(b, "return !document.getElementById('model').disabled", "models")
    type_and_send(b, "x" * 300)
    req = await node.recv_type("inference_request")
    await node.chunk(req["request_id"],
                     "A " + "verylongword" * 30 + "\n\n```python\nprint('" + "y" * 200 +
                     "')\n```\n\n| a | b | c | d |\n|---|---|---|---|\n" +
                     "| %s | %s | %s | %s |\n" % (("cell" * 10,) * 4) +
                     "\n" + "https://example.org/" + "z" * 150)
    await node.chunk(req["request_id"], "", done=True, done_reason="stop")
    await wait_js(b, "return !document.getElementById('send').hidden", "the end")
    await wait_js(b, "return document.querySelector('.msg.assistant pre code span.hljs-string')",
                  "highlighted code")
    w = b.js("return [document.documentElement.scrollWidth, document.documentElement.clientWidth,"
             " document.body.scrollWidth, window.innerWidth,"
             " document.getElementById('log').scrollWidth,"
             " document.getElementById('log').clientWidth]")
    assert w[0] <= w[1] and w[2] <= w[1] and w[4] <= w[5], w
    # nothing is merely clipped either: every box ends inside the screen
    # (code and tables scroll inside their own box)
    wide = b.js("""
const w = window.innerWidth, bad = [];
for (const e of document.querySelectorAll('body *')) {
  if (e.closest('pre, table') && !e.matches('pre, table')) continue;
  const r = e.getBoundingClientRect();
  if (r.width && r.right > w + 1) bad.push(e.tagName + '.' + e.className + ' ' + r.right);
}
return bad;""")
    assert wide == [], wide
    assert w[3] == 360, w
    assert b.errors() == [], b.errors()
    await node.close()


async def test_reload_with_a_warm_cache_transfers_only_304s():
    root = WebRoot()
    r = web_router(root)
    node = await TestNode.registered(r, "n1", models=({"name": BIG, "size": 9000},))
    b = Browser()
    b.open(r.port)
    await wait_js(b, "return !document.getElementById('model').disabled", "models")
    first = b.transfers(r.port)
    assert all(st == 200 for st, _ in first.values()), first
    b.driver.refresh()
    await wait_js(b, "return document.readyState === 'complete' &&"
                  " !document.getElementById('model').disabled", "reload")
    again = b.transfers(r.port)
    files = {u: v for u, v in again.items() if "/api/" not in u and "/health" not in u}
    assert files and all(st == 304 for st, _ in files.values()), again
    assert "http://127.0.0.1:%d/vendor/marked.min.js" % r.port in files, files
    assert sum(n for _, n in files.values()) < sum(n for _, n in first.values()) / 10, (first, again)
    assert b.errors() == [], b.errors()
    await node.close()
    r.assert_clean_exit()


def set_input(b, text):
    b.js("document.getElementById('input').value = arguments[0]", text)


def press_enter(b, shift=False):
    from selenium.webdriver.common.keys import Keys
    el = b.driver.find_element("id", "input")
    el.send_keys(Keys.SHIFT + Keys.ENTER if shift else Keys.ENTER)


async def test_keys_regenerate_new_chat_and_limits():
    """Shift+Enter is a new line, Enter sends; Regenerate asks again;
    New chat forgets; 10,000 characters are sent, 10,001 are not; past
    100,000 characters in all the oldest turns are left out, and the page
    says so; history.js's fit() at 50 and 51 messages."""
    root = WebRoot()
    r = web_router(root)
    node = await TestNode.registered(r, "n1", models=({"name": BIG, "size": 9000},))
    b = Browser()
    b.open(r.port)
    await wait_js(b, "return document.getElementById('model').value === '%s'" % BIG, "model")

    async def answer(text):
        req = await node.recv_type("inference_request")
        await node.chunk(req["request_id"], text, done=True, done_reason="stop")
        await wait_js(b, "return !document.getElementById('send').hidden &&"
                      " document.querySelectorAll('.msg.assistant .actions:not([hidden])')"
                      ".length > 0", "the answer's end")
        return [m for m in req["ollama_params"]["messages"] if m["role"] != "system"]

    b.driver.find_element("id", "input").send_keys("line1")
    press_enter(b, shift=True)
    b.driver.find_element("id", "input").send_keys("line2")
    await node.expect_nothing(0.3)
    assert b.js("return document.getElementById('input').value") == "line1\nline2"
    press_enter(b)
    assert await answer("first") == [{"role": "user", "content": "line1\nline2"}]
    b.driver.find_element("css selector", ".msg.assistant .regenerate").click()
    assert await answer("second") == [{"role": "user", "content": "line1\nline2"}]
    assert b.js("return document.querySelectorAll('.msg.assistant').length") == 1
    assert answer_text(b) == "second"
    b.driver.find_element("id", "new-chat").click()
    assert b.js("return document.querySelectorAll('.msg').length") == 0

    # one message: 10,000 characters (code points) pass, 10,001 do not
    set_input(b, "é" * 10001)
    press_enter(b)
    await wait_js(b, "return !document.getElementById('notice').hidden", "notice")
    assert "10,001 characters" in b.text("#notice"), b.text("#notice")
    await node.expect_nothing(0.3)
    # ten turns of 9,990 characters and an answer: the eleventh passes
    # 100,000.  What the page sends is seen in its fetch() (the router's
    # prompt policy may shorten the history further on its way to the node).
    b.js("const f = window.fetch; window.__sent = [];"
         "window.fetch = (u, o) => { if (o && o.body) window.__sent.push(JSON.parse(o.body));"
         " return f(u, o); };")
    for i in range(11):
        text = ("%02d" % i) + "a" * 9988
        set_input(b, text)
        press_enter(b)
        msgs = await answer("ok%d" % i)
        assert msgs[-1] == {"role": "user", "content": text}
        sent = b.js("return window.__sent[window.__sent.length - 1].messages")
        if i < 10:
            assert len(sent) == 2 * i + 1, (i, len(sent))
            assert b.js("return document.getElementById('notice').hidden")
    assert sent[0]["content"].startswith("01") and len(sent) == 19, len(sent)
    assert "oldest 2 messages were left out" in b.text("#notice"), b.text("#notice")
    assert sum(len(m["content"]) for m in sent) <= 100000

    fit = b.js_async("""
const done = arguments[arguments.length - 1];
import('./history.js').then((h) => {
  const turns = (n) => Array.from({length: n}, (_, i) => ({role: i % 2 ? 'assistant' : 'user',
                                                           content: 'm' + i}));
  const r50 = h.fit(turns(50)), r51 = h.fit(turns(51));
  // 100,000 characters in all (ten of 10,000), then 100,002
  const big = Array.from({length: 10}, (_, i) => ({role: i % 2 ? 'assistant' : 'user',
                                                    content: String(i).repeat(10000)}));
  const at = h.fit(big), past = h.fit(big.concat([{role: 'assistant', content: 'w'},
                                                   {role: 'user', content: 'v'}]));
  const long = h.fit([{role: 'user', content: 'q'}, {role: 'assistant', content: 'a'.repeat(10001)},
                      {role: 'user', content: 'r'}]);
  done([r50.messages.length, r50.dropped, r51.messages.length, r51.dropped,
        at.dropped, past.dropped, long.shortened, long.messages[1].content.length]);
});""")
    assert fit == [50, 0, 49, 2, 0, 2, 1, 10000], fit
    assert b.errors() == [], b.errors()
    await node.close()
    r.assert_clean_exit()
