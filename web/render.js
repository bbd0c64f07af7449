// SPDX-License-Identifier: AGPL-3.0-or-later
// Model text -> safe DOM.  Markdown through Debian's marked, then DOMPurify
// with a short list of tags and attributes: the page stays safe even if
// the router's output filter let something through.  Raw HTML in the
// Markdown is shown as text, never parsed; nothing here ever assigns model
// text to innerHTML.  Code is highlighted by highlight.js, loaded on the
// first fenced block that names a language (it is the page's largest file).

const ALLOWED_TAGS = [
  "a", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4",
  "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "span", "strong", "sub",
  "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
];
const ALLOWED_ATTR = ["href", "title", "class", "align", "start"];

const HLJS_SRC = "vendor/highlight.min.js";
let hljsState = "none"; // none, loading, ready, failed
const hljsWaiters = [];

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

function loadHighlighter() {
  if (hljsState !== "none") return;
  hljsState = "loading";
  const s = document.createElement("script");
  s.src = HLJS_SRC;
  s.addEventListener("load", () => {
    if (globalThis.hljs) {
      globalThis.hljs.configure({ hideUpgradeWarningAcceptNoSupportOrSecurityUpdates: true });
      hljsState = "ready";
    } else {
      hljsState = "failed";
    }
    if (hljsState === "ready") for (const cb of hljsWaiters) cb();
  });
  s.addEventListener("error", () => { hljsState = "failed"; });
  document.head.append(s);
}

// Call cb when highlight.js has arrived (to render code blocks again).
export function onHighlighter(cb) {
  hljsWaiters.push(cb);
}

function highlight(code, lang) {
  if (!lang) return null;
  if (hljsState !== "ready") {
    loadHighlighter();
    return null; // marked escapes the code; highlighted once loaded
  }
  const hljs = globalThis.hljs;
  if (!hljs.getLanguage(lang)) return null;
  try {
    return hljs.highlight(lang, code, true).value;
  } catch {
    return null;
  }
}

let renderer = null;
let purifier = null;

function setUp() {
  const { marked, DOMPurify } = globalThis;
  if (!marked || !DOMPurify) throw new Error("marked or DOMPurify did not load");
  renderer = new marked.Renderer();
  // Raw HTML written by the model is text to show, not markup.
  renderer.html = (html) => escapeHtml(html);
  // No image is fetched from elsewhere: it becomes a link to follow.
  renderer.image = (href, title, text) =>
    `<a href="${escapeHtml(href || "")}">${escapeHtml(text || href || "image")}</a>`;
  purifier = DOMPurify;
  purifier.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName === "A" && node.hasAttribute("href")) {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer nofollow");
    }
  });
}

// Markdown text -> a sanitised DocumentFragment.
export function renderMarkdown(text) {
  if (!renderer) setUp();
  const html = globalThis.marked.parse(String(text), {
    renderer, gfm: true, breaks: false, headerIds: false, mangle: false, highlight,
  });
  return purifier.sanitize(html, {
    ALLOWED_TAGS, ALLOWED_ATTR, ALLOW_DATA_ATTR: false, RETURN_DOM_FRAGMENT: true,
  });
}

// Render text into el, replacing what el held.
export function renderInto(el, text) {
  el.replaceChildren(renderMarkdown(text));
}
