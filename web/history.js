// SPDX-License-Identifier: AGPL-3.0-or-later
// What of a conversation fits a request: the router takes at most 50
// messages, 10,000 characters (code points) in each and 100,000 in all
// (common/limits.h: IC_MESSAGES_MAX, IC_MESSAGE_CHARS_MAX,
// IC_TOTAL_CHARS_MAX).  The oldest turns go first; the page says so.

export const LIMITS = Object.freeze({
  messages: 50,
  messageChars: 10000,
  totalChars: 100000,
});

export function chars(s) {
  let n = 0;
  for (const _ of s) n++; // code points, as the router counts
  return n;
}

function cut(s, max) {
  return Array.from(s).slice(0, max).join("");
}

// turns: [{role, content}] oldest first, the new user message last.
// Returns {messages, dropped, shortened}: messages to send, how many old
// messages were left out, how many old answers were cut to the limit.
export function fit(turns, limits = LIMITS) {
  let shortened = 0;
  const msgs = [];
  for (const t of turns) {
    if (!t.content) continue; // an answer stopped before its first word
    let content = t.content;
    if (chars(content) > limits.messageChars) {
      content = cut(content, limits.messageChars);
      shortened++;
    }
    msgs.push({ role: t.role, content });
  }
  let total = msgs.reduce((n, m) => n + chars(m.content), 0);
  let dropped = 0;
  while (msgs.length > 1 &&
         (msgs.length > limits.messages || total > limits.totalChars ||
          msgs[0].role !== "user")) {
    total -= chars(msgs[0].content);
    msgs.shift();
    dropped++;
  }
  return { messages: msgs, dropped, shortened };
}
