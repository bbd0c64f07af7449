/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* chat-tools.c - the tool loop of one chat (see chat-tools.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "chat-tools.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/outfilter.h"
#include "common/utf8.h"
#include "common/xmalloc.h"
#include "nodes.h"
#include "strmap.h"
#include "tools.h"
#include "tools-searxng.h"
#include "trust.h"

#define TAG_OPEN "<tool_call>"
#define TAG_CLOSE "</tool_call>"

enum outcome { OUT_OK, OUT_FAILED, OUT_REFUSED, OUT_LIMITED, OUT_CANCELLED, OUT_N };
static const char *const outcome_names[OUT_N] = {
	"ok",
	"failed",
	"refused",
	"limited",
	"cancelled",
};

/* Calls one node caused in the sliding window (ring of times). */
struct window {
	int64_t *t;
	int cap, n, head;
};

struct toolrun {
	struct router *r;
	struct searx *searx;
	struct strmap *windows;	  /* node_id -> struct window */
	lws_dll2_owner_t running; /* struct call waiting for a search */
	uint64_t outcomes[OUT_N];
};

struct call {
	lws_dll2_t link; /* in toolrun->running while searching */
	struct chat *c;
	char *name;	    /* the registry's, or CHAT_TOOLS_BAD_NAME: never the node's */
	bool native;	    /* from message.tool_calls */
	json_object *entry; /* native: the call as the history keeps it */
	uint64_t job;	    /* search id, 0 once answered */
	bool done;
	char *result; /* what the model will read */
};

struct chat_tools {
	struct buf content; /* this round's reply text */
	bool content_overflow;
	json_object *native; /* this round's tool_calls, in order */
	struct call *calls;
	size_t n_calls;
	size_t pending;	    /* calls still searching */
	bool hostile_names; /* a name the consumer must not see: charged once */
};

/* --- the router-wide part --- */

struct toolrun *toolrun_new(struct router *r)
{
	struct toolrun *t = xcalloc(1, sizeof(*t));

	t->r = r;
	/* no loop in unit tests: no searches either */
	t->searx = r->loop ? searx_new(r->loop, r->ctx) : NULL;
	t->windows = strmap_new();
	return t;
}

void toolrun_stop(struct toolrun *t)
{
	if (t)
		searx_stop(t->searx);
}

static void window_free(void *p)
{
	struct window *w = p;

	free(w->t);
	free(w);
}

void toolrun_free(struct toolrun *t)
{
	if (!t)
		return;
	searx_free(t->searx);
	strmap_free(t->windows, window_free);
	free(t);
}

void toolrun_metrics(struct router *r, json_object *o)
{
	json_object *m = json_object_new_object();

	for (int i = 0; i < OUT_N; i++)
		json_object_object_add(m, outcome_names[i],
			json_object_new_int64(r->tools ? (int64_t)r->tools->outcomes[i] : 0));
	json_object_object_add(o, "tool_calls", m);
}

static int64_t window_us(const struct router *r)
{
	return (int64_t)r->cfg->tool_calls_window * 1000000;
}

/* Expired times leave the ring; true if w is empty then. */
static bool window_expire(struct window *w, int64_t now, int64_t span)
{
	while (w->n && now - w->t[w->head] >= span) {
		w->head = (w->head + 1) % w->cap;
		w->n--;
	}
	return w->n == 0;
}

struct prune_ctx {
	int64_t now, span;
	char **keys;
	size_t n;
};

static void prune_one(const char *key, void *val, void *arg)
{
	struct prune_ctx *p = arg;

	if (window_expire(val, p->now, p->span))
		p->keys[p->n++] = xstrdup(key);
}

/* Forget the windows of nodes that made no call in the last window. */
static void windows_prune(struct toolrun *t, int64_t now)
{
	struct prune_ctx p = { now, window_us(t->r), NULL, 0 };

	p.keys = xcalloc(strmap_count(t->windows), sizeof(*p.keys));
	strmap_foreach(t->windows, prune_one, &p);
	for (size_t i = 0; i < p.n; i++) {
		window_free(strmap_remove(t->windows, p.keys[i]));
		free(p.keys[i]);
	}
	free(p.keys);
}

/* One call by node_id: false if it is over calls_per_window. */
static bool window_take(struct toolrun *t, const char *node_id)
{
	const struct router_config *cfg = t->r->cfg;
	struct window *w = strmap_get(t->windows, node_id);
	int64_t now = router_now_us();

	if (!w) {
		if (strmap_count(t->windows) >= TOOLRUN_WINDOWS_MAX)
			windows_prune(t, now);
		w = xcalloc(1, sizeof(*w));
		strmap_put(t->windows, node_id, w);
	}
	if (w->cap != cfg->tool_calls_max) { /* first use, or a reload */
		free(w->t);
		w->cap = cfg->tool_calls_max;
		w->t = xcalloc((size_t)w->cap, sizeof(*w->t));
		w->n = w->head = 0;
	}
	window_expire(w, now, window_us(t->r));
	if (w->n >= w->cap)
		return false;
	w->t[(w->head + w->n) % w->cap] = now;
	w->n++;
	return true;
}

/* --- one chat's round --- */

static struct chat_tools *tools_of(struct chat *c)
{
	if (!c->tools)
		c->tools = xcalloc(1, sizeof(*c->tools));
	return c->tools;
}

void chat_tools_content(struct chat *c, const char *text, size_t len)
{
	struct chat_tools *ct;

	if (!c->round_offered || len == 0)
		return;
	ct = tools_of(c);
	if (ct->content_overflow || buf_used(&ct->content) + len > CHAT_TOOLS_CONTENT_MAX) {
		ct->content_overflow = true;
		return;
	}
	buf_append(&ct->content, text, len);
}

void chat_tools_native(struct chat *c, json_object *tool_calls)
{
	struct chat_tools *ct;
	size_t n;

	if (!c->round_offered || !json_object_is_type(tool_calls, json_type_array))
		return;
	ct = tools_of(c);
	if (!ct->native)
		ct->native = json_object_new_array();
	n = json_object_array_length(tool_calls);
	for (size_t i = 0; i < n; i++)
		json_object_array_add(
			ct->native, json_object_get(json_object_array_get_idx(tool_calls, i)));
}

bool chat_tools_busy(const struct chat *c)
{
	return c->tools && c->tools->n_calls > 0;
}

static void calls_clear(struct chat *c)
{
	struct chat_tools *ct = c->tools;

	for (size_t i = 0; i < ct->n_calls; i++) {
		struct call *k = &ct->calls[i];

		if (k->job) {
			searx_cancel(c->r->tools->searx, k->job);
			lws_dll2_remove(&k->link);
			c->r->tools->outcomes[OUT_CANCELLED]++;
		}
		free(k->name);
		free(k->result);
		json_object_put(k->entry);
	}
	free(ct->calls);
	ct->calls = NULL;
	ct->n_calls = ct->pending = 0;
}

static void round_clear(struct chat *c)
{
	struct chat_tools *ct = c->tools;

	calls_clear(c);
	json_object_put(ct->native);
	ct->native = NULL;
	buf_free(&ct->content);
	ct->content_overflow = false;
	ct->hostile_names = false;
}

void chat_tools_free(struct chat *c)
{
	if (!c->tools)
		return;
	if (c->tools->pending)
		log_info("chat %s: consumer gone, tool calls cancelled", c->request_id);
	round_clear(c);
	free(c->tools);
	c->tools = NULL;
}

/* The name and arguments of one tool_calls entry ({"function":{..}}). */
static void native_parts(json_object *e, const char **name, json_object **args)
{
	json_object *fn = NULL, *v;

	*name = NULL;
	*args = NULL;
	if (!json_object_object_get_ex(e, "function", &fn) ||
		!json_object_is_type(fn, json_type_object))
		return;
	if (json_object_object_get_ex(fn, "name", &v) && json_object_is_type(v, json_type_string))
		*name = json_object_get_string(v);
	if (json_object_object_get_ex(fn, "arguments", &v))
		*args = v;
}

/* A name no honest model writes: one the output filter would change
 * (markup), or one with C0 or C1 controls or DEL (terminal escapes). */
static bool name_hostile(const char *s, size_t len)
{
	struct ic_outfilter *f = ic_outfilter_new();
	size_t n1, n2;
	char *a = ic_outfilter_feed_new(f, s, len, &n1);
	char *b = ic_outfilter_finish_new(f, &n2);
	bool changed = n1 + n2 != len || memcmp(a, s, n1) != 0 || memcmp(b, s + n1, n2) != 0;

	free(a);
	free(b);
	ic_outfilter_free(f);
	for (size_t i = 0; !changed && i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		changed = ch < 0x20 || ch == 0x7f ||
			(ch == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
				(unsigned char)s[i + 1] <= 0x9f);
	}
	return changed;
}

/* The next of the calls allocated by chat_tools_done() (never moved: a
 * running call is linked in toolrun->running).  The consumer sees its
 * name, so it is the registry's: a node's own name (a tool that is not
 * offered, markup, terminal escapes) becomes CHAT_TOOLS_BAD_NAME and is
 * charged as output the filter had to strip. */
static struct call *call_add(struct chat *c, const char *name, bool native)
{
	struct chat_tools *ct = c->tools;
	struct call *k = &ct->calls[ct->n_calls++];
	const char *known = tools_offered_name(c->r->cfg, name);

	memset(k, 0, sizeof(*k));
	k->c = c;
	k->name = xstrdup(known ? known : CHAT_TOOLS_BAD_NAME);
	k->native = native;
	if (name && !known)
		ct->hostile_names = true;
	return k;
}

/* Argument names are the node's too: tools_check() never repeats them,
 * and one that is markup or escapes is charged. */
static void args_scan(struct chat *c, json_object *args)
{
	if (!json_object_is_type(args, json_type_object))
		return;
	json_object_object_foreach(args, key, val)
	{
		(void)val;
		if (name_hostile(key, strlen(key)))
			c->tools->hostile_names = true;
	}
}

/* This reply named what the consumer must not see: its node pays as for
 * output the filter had to strip (once a reply).  A peer instance's node
 * is not ours to charge. */
static void charge_names(struct chat *c)
{
	if (!c->tools->hostile_names)
		return;
	c->tools->hostile_names = false;
	c->r->stats.flagged++;
	if (!c->node)
		return;
	log_info("chat %s: node %s named a tool or argument that is not offered", c->request_id,
		c->node->node_id);
	trust_flagged(c->node);
}

static void call_refuse(struct call *k, enum outcome o, const char *why)
{
	struct chat *c = k->c;

	c->r->tools->outcomes[o]++;
	k->done = true;
	k->result = xasprintf("Error: %s", why);
	log_info("chat %s: tool call %s refused: %s", c->request_id, k->name, why);
	chat_emit_tool(c, k->name, "error", why);
}

/* Check, count and start one call. */
static void call_start(struct call *k, json_object *args)
{
	struct chat *c = k->c;
	struct toolrun *t = c->r->tools;
	char err[160];
	const char *query = NULL;
	json_object *none = NULL;

	args_scan(c, args);
	if (!args) /* no arguments at all: as {} (the required ones are missing) */
		args = none = json_object_new_object();
	if (c->tools->n_calls > CHAT_TOOLS_CALLS_MAX) {
		json_object_put(none);
		call_refuse(k, OUT_REFUSED, "too many tool calls in one reply");
		return;
	}
	if (tools_check(c->r->cfg, k->name, args, &query, err, sizeof(err)) == TOOL_NONE) {
		json_object_put(none);
		call_refuse(k, OUT_REFUSED, err);
		return;
	}
	json_object_put(none); /* {} never passes: query is not from it */
	if (!chat_server_name(c) || !window_take(t, chat_server_name(c))) {
		snprintf(err, sizeof(err), "tool call limit reached (%d per %d s for this node)",
			c->r->cfg->tool_calls_max, c->r->cfg->tool_calls_window);
		call_refuse(k, OUT_LIMITED, err);
		return;
	}
	k->job = t->searx
		? searx_submit(t->searx, c->r->cfg->searxng_url, query, c->r->cfg->tool_timeout)
		: 0;
	if (!k->job) {
		call_refuse(k, OUT_FAILED, "too many searches running; try again later");
		return;
	}
	lws_dll2_add_tail(&k->link, &t->running);
	c->tools->pending++;
	chat_emit_tool(c, k->name, "executing", NULL);
}

/* The spans of the text form in s (closed, or unclosed at the end). */
static void text_calls(struct chat *c, const char *s, size_t len)
{
	const char *p = s, *end = s + len;

	while (p < end && c->tools->n_calls < CHAT_TOOLS_PARSED_MAX) {
		const char *open = memmem(p, (size_t)(end - p), TAG_OPEN, strlen(TAG_OPEN));
		const char *body, *close;
		json_object *o, *v, *args = NULL;
		const char *name = NULL;
		struct call *k;

		if (!open)
			return;
		body = open + strlen(TAG_OPEN);
		close = memmem(body, (size_t)(end - body), TAG_CLOSE, strlen(TAG_CLOSE));
		if (!close)
			close = end;
		o = ic_json_parse_new(body, (size_t)(close - body));
		if (o && json_object_is_type(o, json_type_object)) {
			if (json_object_object_get_ex(o, "name", &v) &&
				json_object_is_type(v, json_type_string))
				name = json_object_get_string(v);
			json_object_object_get_ex(o, "arguments", &args);
		}
		k = call_add(c, name, false);
		if (!o || !json_object_is_type(o, json_type_object))
			call_refuse(k, OUT_REFUSED, "the tool call is not a JSON object");
		else
			call_start(k, args);
		json_object_put(o);
		p = close == end ? end : close + strlen(TAG_CLOSE);
	}
}

static void round_feed_back(struct chat *c);

/* Bytes of the first max characters of s (stops at invalid UTF-8). */
static size_t prefix_chars(const char *s, size_t len, size_t max)
{
	size_t off = 0, n = 0, l;

	while (off < len && n < max && (l = ic_utf8_seq_len(s + off, len - off)) > 0) {
		off += l;
		n++;
	}
	return off;
}

/* A native call as the assistant turn keeps it: the shape the node's
 * validation takes back, whatever the model sent. */
static json_object *entry_new(const char *name, json_object *args)
{
	json_object *e = json_object_new_object(), *fn = json_object_new_object();

	json_object_object_add(fn, "name", json_object_new_string(name));
	json_object_object_add(fn, "arguments",
		json_object_is_type(args, json_type_object) ? json_object_get(args)
							    : json_object_new_object());
	json_object_object_add(e, "function", fn);
	return e;
}

static size_t count_spans(const char *s, size_t len)
{
	const char *p = s, *end = s + len;
	size_t n = 0;

	if (len == 0)
		return 0;

	while (p < end && n < CHAT_TOOLS_PARSED_MAX &&
		(p = memmem(p, (size_t)(end - p), TAG_OPEN, strlen(TAG_OPEN)))) {
		const char *close;

		n++;
		p += strlen(TAG_OPEN);
		close = memmem(p, (size_t)(end - p), TAG_CLOSE, strlen(TAG_CLOSE));
		p = close ? close + strlen(TAG_CLOSE) : end;
	}
	return n;
}

bool chat_tools_done(struct chat *c)
{
	struct chat_tools *ct = c->tools;
	size_t n, total;

	if (!c->round_offered || !ct)
		return false;
	n = ct->native ? json_object_array_length(ct->native) : 0;
	if (n > CHAT_TOOLS_PARSED_MAX)
		n = CHAT_TOOLS_PARSED_MAX; /* the rest are not calls at all */
	total = n +
		(ct->content_overflow || !buf_used(&ct->content)
				? 0
				: count_spans(buf_head(&ct->content), buf_used(&ct->content)));
	if (total > CHAT_TOOLS_PARSED_MAX)
		total = CHAT_TOOLS_PARSED_MAX;
	if (total == 0)
		return false;
	ct->calls = xcalloc(total, sizeof(*ct->calls));
	for (size_t i = 0; i < n; i++) {
		const char *name;
		json_object *args;
		struct call *k;

		native_parts(json_object_array_get_idx(ct->native, i), &name, &args);
		k = call_add(c, name, true);
		k->entry = entry_new(k->name, args);
		call_start(k, args);
	}
	if (!ct->content_overflow && buf_used(&ct->content))
		text_calls(c, buf_head(&ct->content), buf_used(&ct->content));
	charge_names(c);
	if (ct->n_calls == 0)
		return false;
	tq_cancel(&c->chunk_timer); /* the node is not expected to speak now */
	if (ct->pending == 0)
		round_feed_back(c);
	return true;
}

/* Every call is answered: the assistant turn and the results, in order,
 * then the next request. */
static void round_feed_back(struct chat *c)
{
	struct chat_tools *ct = c->tools;
	json_object *asst = json_object_new_object(), *entries = NULL;
	/* a node takes back at most IC_MESSAGE_CHARS_MAX characters a message */
	size_t keep = buf_used(&ct->content)
		? prefix_chars(buf_head(&ct->content), buf_used(&ct->content), IC_MESSAGE_CHARS_MAX)
		: 0;

	json_object_object_add(asst, "role", json_object_new_string("assistant"));
	json_object_object_add(asst, "content",
		json_object_new_string_len(keep ? buf_head(&ct->content) : "", (int)keep));
	for (size_t i = 0; i < ct->n_calls; i++) {
		if (!ct->calls[i].native)
			continue;
		if (!entries)
			entries = json_object_new_array();
		json_object_array_add(entries, json_object_get(ct->calls[i].entry));
	}
	if (entries)
		json_object_object_add(asst, "tool_calls", entries);
	json_object_array_add(c->history, asst);
	for (size_t i = 0; i < ct->n_calls; i++) {
		struct call *k = &ct->calls[i];
		json_object *m = json_object_new_object();

		if (k->native) {
			json_object_object_add(m, "role", json_object_new_string("tool"));
			json_object_object_add(m, "content", json_object_new_string(k->result));
			json_object_object_add(m, "tool_name", json_object_new_string(k->name));
		} else {
			char *text = xasprintf("[Tool Result for %s]:\n%s", k->name, k->result);

			json_object_object_add(m, "role", json_object_new_string("user"));
			json_object_object_add(m, "content", json_object_new_string(text));
			free(text);
		}
		json_object_array_add(c->history, m);
	}
	round_clear(c);
	c->tool_rounds++;
	log_debug("chat %s: tool round %d done", c->request_id, c->tool_rounds);
	chat_next_round(c);
}

static void on_result(void *ctx, const struct searx_result *res)
{
	struct toolrun *t = ctx;
	struct call *k = NULL;
	struct chat *c;

	lws_start_foreach_dll(struct lws_dll2 *, d, t->running.head)
	{
		struct call *x = lws_container_of(d, struct call, link);

		if (x->job == res->id) {
			k = x;
			break;
		}
	}
	lws_end_foreach_dll(d);
	if (!k)
		return; /* its chat is gone */
	lws_dll2_remove(&k->link);
	c = k->c;
	k->job = 0;
	k->done = true;
	k->result = res->ok ? xstrdup(res->text) : xasprintf("Error: %s", res->text);
	t->outcomes[res->ok ? OUT_OK : OUT_FAILED]++;
	log_info("chat %s: %s %s", c->request_id, k->name, res->ok ? "done" : res->text);
	chat_emit_tool(c, k->name, res->ok ? "done" : "error", res->ok ? NULL : res->text);
	if (--c->tools->pending == 0)
		round_feed_back(c);
}

void toolrun_poll(struct router *r)
{
	if (r->tools && r->tools->searx)
		searx_poll(r->tools->searx, on_result, r->tools);
}
