// SPDX-License-Identifier: AGPL-3.0-or-later
// IdleClaw's web chat (docs/web.md).  The conversation lives in this
// module's memory only: no storage, no cookies, no request but to the
// router that served the page.
import { ChatError, getJSON, streamChat } from "./api.js";
import { LIMITS, chars, fit } from "./history.js";
import { onHighlighter, renderInto } from "./render.js";

const HEALTH_EVERY_MS = 30000; // /health counts against rate_other
const ERROR_RE = /\n\n\[Error: ([^\]\n]*)\]\s*$/;

const $ = (id) => document.getElementById(id);
const ui = {
  log: $("log"), welcome: $("welcome"), notice: $("notice"), form: $("composer"),
  input: $("input"), send: $("send"), stop: $("stop"), model: $("model"),
  think: $("think"), thinkLabel: $("think-label"), newChat: $("new-chat"),
  statusDot: $("status-dot"), statusText: $("status-text"),
  template: $("message-template"),
};

const state = {
  turns: [],       // {role, content, thinking, view} oldest first
  caps: {},        // model -> {thinking, tool_calls}
  streaming: null, // {controller, turn}
  health: null,    // the last /health seen, for when to reload the models
  lastPoll: 0,
  pollTimer: 0,
};

// --- notices and status ---

function notice(text) {
  ui.notice.textContent = text || "";
  ui.notice.hidden = !text;
}

function setStatus(online, text) {
  ui.statusDot.classList.toggle("online", online);
  ui.statusDot.classList.toggle("offline", !online);
  ui.statusText.textContent = text;
}

// --- models and health ---

function capsText(c) {
  const parts = [];
  if (c && c.thinking) parts.push("thinks");
  if (c && c.tool_calls) parts.push("web search");
  return parts.length ? ` (${parts.join(", ")})` : "";
}

async function loadModels() {
  let body;
  try {
    body = await getJSON("/api/models");
  } catch {
    notice("Could not load the list of models. The page will try again.");
    return;
  }
  const models = Array.isArray(body.models) ? body.models.filter((m) => typeof m === "string") : [];
  state.caps = body.capabilities || {};
  const keep = ui.model.value;
  const opts = models.map((m) => {
    const o = document.createElement("option");
    o.value = m;
    o.textContent = m + capsText(state.caps[m]);
    return o;
  });
  if (!opts.length) {
    const o = document.createElement("option");
    o.value = "";
    o.textContent = "no models online";
    opts.push(o);
  }
  ui.model.replaceChildren(...opts);
  ui.model.disabled = !models.length;
  // the router lists the largest model first: the default
  ui.model.value = models.includes(keep) ? keep : models[0] || "";
  modelChanged();
}

function modelChanged() {
  const c = state.caps[ui.model.value];
  ui.thinkLabel.hidden = !(c && c.thinking);
}

async function pollHealth() {
  clearTimeout(state.pollTimer);
  state.pollTimer = 0;
  if (document.hidden) return; // resumed by visibilitychange
  state.lastPoll = Date.now();
  try {
    const h = await getJSON("/health");
    const n = Number(h.node_count ?? h.nodes ?? 0);
    const up = h.status === "healthy";
    setStatus(up && n > 0, `${n} ${n === 1 ? "node" : "nodes"} · ${up ? "online" : h.status}`);
    const prev = state.health;
    state.health = h;
    if (!prev || prev.models !== h.models || prev.node_count !== h.node_count) await loadModels();
  } catch {
    setStatus(false, "offline");
  }
  schedulePoll(HEALTH_EVERY_MS);
}

function schedulePoll(ms) {
  if (!document.hidden && !state.pollTimer) state.pollTimer = setTimeout(pollHealth, ms);
}

document.addEventListener("visibilitychange", () => {
  if (document.hidden) {
    clearTimeout(state.pollTimer);
    state.pollTimer = 0;
  } else {
    schedulePoll(Math.max(0, state.lastPoll + HEALTH_EVERY_MS - Date.now()));
  }
});

// --- messages ---

function newView(role) {
  const el = ui.template.content.firstElementChild.cloneNode(true);
  el.classList.add(role);
  el.querySelector(".who").textContent = role === "user" ? "You" : "Answer";
  ui.welcome.hidden = true;
  ui.log.append(el);
  return {
    el,
    body: el.querySelector(".body"),
    thinking: el.querySelector(".thinking"),
    thinkingText: el.querySelector(".thinking-text"),
    tool: el.querySelector(".tool"),
    error: el.querySelector(".error"),
    actions: el.querySelector(".actions"),
  };
}

function nearBottom() {
  return ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 80;
}

function scrollDown(stick) {
  if (stick) ui.log.scrollTop = ui.log.scrollHeight;
}

// Redraw a turn's answer at most once a frame while it streams.
function paint(turn) {
  if (turn.painting) return;
  turn.painting = true;
  requestAnimationFrame(() => {
    turn.painting = false;
    const stick = nearBottom();
    renderInto(turn.view.body, turn.content);
    scrollDown(stick);
  });
}

function addUser(text) {
  const turn = { role: "user", content: text, view: newView("user") };
  turn.view.body.textContent = text; // the user's own text, shown as typed
  state.turns.push(turn);
  return turn;
}

function showError(turn, text) {
  turn.view.error.textContent = text;
  turn.view.error.hidden = false;
}

function toolNote(turn, t) {
  const v = turn.view.tool;
  v.hidden = false;
  const what = t.name === "web_search" ? "the web" : t.name;
  if (t.status === "executing") v.textContent = `Searching ${what}…`;
  else if (t.status === "done") v.textContent = `Searched ${what}.`;
  else v.textContent = `Searching ${what} failed${t.reason ? `: ${t.reason}` : ""}.`;
  v.classList.toggle("busy", t.status === "executing");
}

// --- sending ---

function setBusy(busy) {
  ui.send.hidden = busy;
  ui.stop.hidden = !busy;
  for (const b of ui.log.querySelectorAll(".regenerate")) b.disabled = busy;
}

function refreshActions() {
  const last = [...state.turns].reverse().find((t) => t.role === "assistant");
  for (const t of state.turns) {
    if (t.role !== "assistant") continue;
    t.view.actions.hidden = false;
    t.view.el.querySelector(".regenerate").hidden = t !== last;
  }
}

async function run(history) {
  const model = ui.model.value;
  if (!model) {
    notice("No model is online right now; try again later.");
    return;
  }
  const asked = history.filter((t) => !t.excluded);
  const { messages, dropped, shortened } = fit(asked.map((t) => ({ role: t.role, content: t.content })));
  const notes = [];
  if (dropped) notes.push(`The oldest ${dropped === 1 ? "message was" : `${dropped} messages were`} left out`);
  if (shortened) notes.push(`${shortened === 1 ? "an earlier answer was" : `${shortened} earlier answers were`} shortened`);
  notice(notes.length
    ? `${notes.join(" and ")} to stay within the router's limits (${LIMITS.messages} messages, ` +
      `${LIMITS.messageChars.toLocaleString("en")} characters each, ` +
      `${LIMITS.totalChars.toLocaleString("en")} in all).`
    : "");

  const turn = { role: "assistant", content: "", thinking: "", view: newView("assistant") };
  state.turns.push(turn);
  turn.view.el.setAttribute("aria-busy", "true");
  turn.view.body.classList.add("pending");
  const controller = new AbortController();
  state.streaming = { controller, turn };
  setBusy(true);
  scrollDown(true);

  const body = { model, messages };
  const c = state.caps[model];
  body.think = Boolean(c && c.thinking && ui.think.checked);
  let finish = "";
  let inband = "";
  try {
    await streamChat(body, controller.signal, {
      text(s) {
        turn.content += s;
        turn.view.body.classList.remove("pending");
        paint(turn);
      },
      thinking(s) {
        turn.thinking += s;
        turn.view.thinking.hidden = false;
        turn.view.thinkingText.textContent = turn.thinking;
      },
      tool(t) {
        toolNote(turn, t);
      },
      error(message, text) {
        inband = message;
        if (text && turn.content.endsWith(text)) turn.content = turn.content.slice(0, -text.length);
      },
      finish(reason) {
        finish = reason;
      },
    });
    const m = ERROR_RE.exec(turn.content); // an older router: the text alone
    if (!inband && m) {
      inband = m[1];
      turn.content = turn.content.slice(0, m.index);
    }
    if (inband) showError(turn, `The answer failed: ${inband}. Try again, or pick another model.`);
    else if (finish === "length") showError(turn, "The answer was cut: it reached the router's length or time limit.");
  } catch (e) {
    // however the abort surfaced (an AbortError, or a read that ended)
    if (controller.signal.aborted) showError(turn, "Stopped.");
    else if (e instanceof ChatError) showError(turn, e.message);
    else showError(turn, `Something went wrong: ${e.message}`);
    if (e instanceof ChatError && [400, 413, 422].includes(e.status)) {
      // refused for what it says: later requests leave this message out
      const asked = history[history.length - 1];
      if (asked && asked.role === "user") {
        asked.excluded = true;
        asked.view.el.classList.add("excluded");
      }
    }
  } finally {
    state.streaming = null;
    turn.view.body.classList.remove("pending");
    renderInto(turn.view.body, turn.content);
    turn.view.el.setAttribute("aria-busy", "false");
    setBusy(false);
    refreshActions();
  }
}

function send() {
  const text = ui.input.value.trim();
  if (!text || state.streaming) return;
  const n = chars(text);
  if (n > LIMITS.messageChars) {
    notice(`Your message has ${n.toLocaleString("en")} characters; the limit is ` +
      `${LIMITS.messageChars.toLocaleString("en")}. Please shorten it.`);
    return;
  }
  ui.input.value = "";
  addUser(text);
  run(state.turns.slice());
}

function stop() {
  if (state.streaming) state.streaming.controller.abort();
}

function regenerate() {
  if (state.streaming) return;
  const last = state.turns[state.turns.length - 1];
  if (!last || last.role !== "assistant") return;
  state.turns.pop();
  last.view.el.remove();
  run(state.turns.slice());
}

function newChat() {
  stop();
  state.turns = [];
  for (const el of ui.log.querySelectorAll(".msg")) el.remove();
  ui.welcome.hidden = false;
  notice("");
  ui.input.focus();
}

async function copy(turn, button) {
  const text = turn.content;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // no Clipboard API on plain http: copy through a selection instead
    const ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.className = "offscreen";
    document.body.append(ta);
    ta.select();
    document.execCommand("copy");
    ta.remove();
  }
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = "Copy"; }, 1500);
}

// --- wiring ---

ui.form.addEventListener("submit", (e) => {
  e.preventDefault();
  send();
});
ui.input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    send();
  }
});
ui.stop.addEventListener("click", stop);
ui.newChat.addEventListener("click", newChat);
ui.model.addEventListener("change", modelChanged);
ui.log.addEventListener("click", (e) => {
  const b = e.target.closest("button");
  if (!b) return;
  const el = b.closest(".msg");
  const turn = state.turns.find((t) => t.view.el === el);
  if (!turn) return;
  if (b.classList.contains("copy")) copy(turn, b);
  else if (b.classList.contains("regenerate")) regenerate();
});
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && state.streaming) stop();
});

onHighlighter(() => {
  for (const t of state.turns) if (t.role === "assistant") renderInto(t.view.body, t.content);
});

pollHealth();
ui.input.focus();
