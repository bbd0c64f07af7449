// SPDX-License-Identifier: AGPL-3.0-or-later
// The router's HTTP API as the page uses it (docs/protocol.md, "Consumers"):
// GET /health, GET /api/models, POST /api/chat streamed as server-sent
// events.  Only same-origin requests: the page makes no other.

export class ChatError extends Error {
  constructor(message, kind, status = 0) {
    super(message);
    this.kind = kind;
    this.status = status;
  }
}

export async function getJSON(path) {
  const r = await fetch(path, { cache: "no-store", credentials: "omit" });
  if (!r.ok) throw new ChatError(`${path}: HTTP ${r.status}`, "http");
  return r.json();
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

// A sentence for a refused chat: status, the router's detail, Retry-After.
export function refusal(status, detail, retryAfter, model) {
  const wait = Number.parseInt(retryAfter, 10);
  switch (status) {
    case 429:
      if (/concurrent/i.test(detail || ""))
        return "You have too many chats running at once. Wait for one to finish, then try again.";
      return Number.isFinite(wait) && wait > 0
        ? `Too many requests. Please wait ${plural(wait, "second", "seconds")} and try again.`
        : "Too many requests. Please wait a moment and try again.";
    case 503:
      return `No node can answer with ${model} right now. Try another model, or try again later.`;
    case 400:
      return "The router refused this message's content. Please rephrase it.";
    case 413:
      return "The conversation is too large to send. Start a new chat.";
    case 422:
      return `The router did not accept the conversation (${detail || "too long or too many messages"}). ` +
        "Shorten your message or start a new chat.";
    default:
      return `The router answered HTTP ${status}${detail ? ` (${detail})` : ""}.`;
  }
}

// POST /api/chat and feed each event to the handlers:
//   text(s), thinking(s), tool({name, status, reason}), error(message),
//   finish(reason).
// Resolves when [DONE] arrives; rejects with a ChatError (kind "refused",
// "lost") or the AbortError of signal.
export async function streamChat(body, signal, on) {
  let r;
  try {
    r = await fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal,
      cache: "no-store",
      credentials: "omit",
    });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ChatError("Could not reach the router. Check your connection and try again.", "lost");
  }
  if (!r.ok) {
    let detail = "";
    try {
      const j = await r.json();
      detail = typeof j.detail === "string" ? j.detail : JSON.stringify(j.detail);
    } catch { /* not JSON: the status says enough */ }
    throw new ChatError(refusal(r.status, detail, r.headers.get("Retry-After"), body.model),
      "refused", r.status);
  }
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (e) {
      if (e.name === "AbortError") throw e;
      chunk = { done: true };
    }
    if (chunk.done) break;
    buf += dec.decode(chunk.value, { stream: true });
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (handleBlock(block, on)) return;
    }
  }
  throw new ChatError("The connection to the router was lost; the answer may be incomplete.", "lost");
}

// One SSE block; true at [DONE].
function handleBlock(block, on) {
  for (const line of block.split("\n")) {
    if (!line.startsWith("data: ")) continue; // ": ping" and the like
    const data = line.slice(6);
    if (data === "[DONE]") return true;
    let ev;
    try {
      ev = JSON.parse(data);
    } catch {
      continue;
    }
    const choice = (ev.choices && ev.choices[0]) || {};
    const d = choice.delta || {};
    if (ev.error) {
      on.error(String(ev.error.message || ev.error.code || "error"), d.content || "");
    } else if (d.tool_call) {
      on.tool(d.tool_call);
    } else if (typeof d.content === "string" && d.content) {
      if (d.reasoning) on.thinking(d.content);
      else on.text(d.content);
    }
    if (choice.finish_reason) on.finish(choice.finish_reason);
  }
  return false;
}
