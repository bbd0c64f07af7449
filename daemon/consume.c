/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * consume.c - chats and reads sent to the router for control clients
 * (see consume.h).  Main thread.
 *
 * Privacy: content is never logged unless log_content is set.
 *
 * Lifetime: every control_event()/control_reply*() may drop the control
 * client (its output queue overflowed), and control then calls
 * consume_client_gone() from inside that call, for that client's chats,
 * possibly the very one whose event is being sent.  So consume_client_gone()
 * never frees: it marks the chat dead and lets its timer free it from the
 * loop, after whatever frame was using it has returned (or that frame frees
 * it first, at its own end, as it would have anyway).  A dead chat gets no
 * more link events, events or replies.  A sink's chat (the gateway's) dies
 * the same way through consume_sink_stop(), for the same reason: the sink
 * may learn that its client is gone while one of its calls runs.
 *
 * Reads (GET /health, /api/models) are shared: one fetch per path is in
 * flight at a time, whoever asks waits for it, and its result is reused
 * for CONSUME_GET_REUSE_MS.  A fetch has CONSUME_GET_TIMEOUT_S in all (a
 * router that drips a byte a second cannot hold it) and is cancelled when
 * nobody waits for it any more.  So reads hold at most one link connection
 * per path whatever the control clients do, and the link thread keeps room
 * for the node socket and CONSUME_CHATS_MAX chats.
 */

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "daemon/consume.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/link.h"
#include "jsonutil.h"
#include "log.h"
#include "sse.h"
#include "xmalloc.h"

/* The router's in-band error marker (protocol.md). */
#define INBAND_ERROR "\n\n[Error: "

/* One GET of a path, shared by every consume that asks for it. */
struct fetch {
	LIST_ENTRY(fetch) next;
	struct daemon *d;
	char *path;
	uint64_t http_id; /* while in flight; 0 once done */
	int status;
	char *body;
	size_t len;
	bool done;
	json_object *json;   /* the parsed body once done, or NULL */
	char *err;	     /* once done without a status */
	struct event *timer; /* the total deadline; once done, the end of reuse */
	int askers;	     /* consumes attached to it */
};

static LIST_HEAD(, fetch) fetches = LIST_HEAD_INITIALIZER(fetches);

struct consume {
	LIST_ENTRY(consume) next;
	struct daemon *d;
	uint64_t http_id; /* chat only: a get's HTTP is its fetch's */
	bool is_get;
	uint64_t client; /* who asked (0 for a get nobody owns) */
	/* chat */
	const struct consume_sink *sink; /* control_sink: for control client "client" */
	void *sink_ctx;			 /* control_sink's is the chat itself */
	uid_t uid;			 /* of the client that asked */
	bool owner;			 /* root's or the daemon's user's: see control_peer */
	char *req_id;
	struct ic_sse_parser *sse;
	bool saw_done;
	bool saw_error;
	char *finish_reason;
	/* get */
	consume_get_cb cb;
	void *ctx;
	struct fetch *fetch; /* attached while waiting */
	/* both */
	int status;
	char *body;
	size_t len;
	struct event *timer; /* timeout; for a dead chat, its deferred free */
	int timeout_s;
	/* chat: chat_timeout in all, since ": ping" comments re-arm timer */
	struct event *deadline;
	bool dead; /* chat whose client went away; see the top */
};

/* Chats running for clients other than the owner's, and for uid. */
static void count_chats(const struct daemon *d, uid_t uid, size_t *unpriv, size_t *of_uid)
{
	const struct consume *c;

	*unpriv = *of_uid = 0;
	LIST_FOREACH(c, &d->consumes, next)
	{
		if (c->is_get || c->dead)
			continue;
		if (!c->owner)
			(*unpriv)++;
		if (c->uid == uid)
			(*of_uid)++;
	}
}

/* Why peer may not start one more chat now, or NULL. */
static const char *chat_refusal(const struct daemon *d, const struct control_peer *peer)
{
	size_t unpriv, of_uid;

	if (consume_count(d) >= CONSUME_CHATS_MAX)
		return "too many chats running";
	if (peer->owner)
		return NULL;
	count_chats(d, peer->uid, &unpriv, &of_uid);
	if (of_uid >= CONSUME_CHATS_PER_USER_MAX)
		return "too many chats running for this user";
	if (unpriv >= CONSUME_CHATS_MAX - CONSUME_CHATS_RESERVED)
		return "too many chats running (the rest are kept for root)";
	return NULL;
}

size_t consume_count(const struct daemon *d)
{
	const struct consume *c;
	size_t n = 0;

	LIST_FOREACH(c, &d->consumes, next)
	if (!c->is_get && !c->dead)
		n++;
	return n;
}

static struct consume *find_http(struct daemon *d, uint64_t id)
{
	struct consume *c;

	LIST_FOREACH(c, &d->consumes, next)
	if (!c->is_get && c->http_id == id && !c->dead)
		return c;
	return NULL;
}

static void detach(struct consume *c)
{
	if (c->fetch) {
		c->fetch->askers--;
		c->fetch = NULL;
	}
}

static void consume_free(struct consume *c)
{
	detach(c);
	LIST_REMOVE(c, next);
	if (c->timer)
		event_free(c->timer);
	if (c->deadline)
		event_free(c->deadline);
	ic_sse_parser_free(c->sse);
	free(c->req_id);
	free(c->finish_reason);
	free(c->body);
	free(c);
}

static void arm(struct consume *c)
{
	struct timeval tv = { c->timeout_s, 0 };

	evtimer_add(c->timer, &tv);
}

static char *url_new(struct daemon *d, const char *path)
{
	const char *base = d->cfg->server;
	size_t n = strlen(base);

	while (n && base[n - 1] == '/')
		n--;
	return xasprintf("%.*s%s", (int)n, base, path);
}

/* ---- chat: events and the final reply ---- */

/* The one output path: every event and the final status go to the chat's
 * sink (control clients' is control_sink below), and none once it is dead. */
static void event_text(struct consume *c, enum ctl_event ev, const char *val)
{
	if (!c->dead)
		c->sink->event(c->sink_ctx, ev, val);
}

static void chat_reply(struct consume *c, enum ctl_status st, const char *detail)
{
	if (!c->dead)
		c->sink->end(c->sink_ctx, st, detail);
}

static void on_delta(struct consume *c, json_object *delta)
{
	json_object *tc;
	const char *text = ic_json_get_string(delta, "content");
	bool reasoning = false;

	if (json_object_object_get_ex(delta, "tool_call", &tc)) {
		const char *name = ic_json_get_string(tc, "name");
		const char *st = ic_json_get_string(tc, "status");

		if (!c->dead)
			c->sink->tool(c->sink_ctx, name ? name : "", st ? st : "",
				ic_json_get_string(tc, "reason"));
	}
	if (!text || !*text)
		return;
	ic_json_get_bool(delta, "reasoning", &reasoning);
	if (!reasoning && strncmp(text, INBAND_ERROR, strlen(INBAND_ERROR)) == 0) {
		size_t n = strlen(text);
		char *detail = xstrndup(text + strlen(INBAND_ERROR),
			n - strlen(INBAND_ERROR) - (text[n - 1] == ']'));

		c->saw_error = true;
		event_text(c, CTL_EV_ERROR, detail);
		free(detail);
		return;
	}
	if (c->d->cfg->log_content)
		log_debug("chat %s: %s", c->req_id, text);
	event_text(c, reasoning ? CTL_EV_THINKING : CTL_EV_CONTENT, text);
}

static int on_sse(void *ctx, const char *data, size_t len)
{
	struct consume *c = ctx;
	json_object *j, *choices, *ch, *delta;
	const char *fr;

	if (c->dead)
		return -1; /* stop parsing: nobody to tell */
	if (len == strlen(IC_SSE_DONE) && memcmp(data, IC_SSE_DONE, len) == 0) {
		c->saw_done = true;
		return 0;
	}
	j = ic_json_parse_new(data, len);
	if (!j)
		return 0; /* not ours to judge: skip what we cannot read */
	if (json_object_object_get_ex(j, "choices", &choices) &&
		json_object_is_type(choices, json_type_array) &&
		(ch = json_object_array_get_idx(choices, 0)) != NULL) {
		if (json_object_object_get_ex(ch, "delta", &delta))
			on_delta(c, delta);
		fr = ic_json_get_string(ch, "finish_reason");
		if (fr) {
			free(c->finish_reason);
			c->finish_reason = xstrdup(fr);
		}
	}
	json_object_put(j);
	return 0;
}

static enum ctl_status status_for_http(int status)
{
	switch (status) {
	case 0:
	case 502:
	case 503:
	case 504:
		return CTL_ST_UNAVAILABLE;
	case 429:
		return CTL_ST_BUSY;
	case 400:
	case 422:
		return CTL_ST_BAD_ARGS;
	case 404:
		return CTL_ST_NOT_FOUND;
	default:
		return CTL_ST_FAILED;
	}
}

/* "detail" of a FastAPI-style error body, as one line (NEW). */
static char *error_detail_new(const char *body, size_t len, int status)
{
	json_object *j = body ? ic_json_parse_new(body, len) : NULL;
	json_object *det = NULL;
	char *out;

	if (j && json_object_object_get_ex(j, "detail", &det) && det) {
		if (json_object_is_type(det, json_type_string))
			out = xasprintf("router: HTTP %d: %s", status, json_object_get_string(det));
		else
			out = xasprintf("router: HTTP %d: %s", status,
				json_object_to_json_string_ext(det, IC_JSON_WIRE));
	} else {
		out = xasprintf("router: HTTP %d", status);
	}
	json_object_put(j);
	return out;
}

static void chat_end(struct consume *c, const char *err)
{
	char *detail;

	if (c->status != 200) {
		detail = c->status
			? error_detail_new(c->body, c->len, c->status)
			: xasprintf("cannot reach the router: %s", err ? err : "no reply");
		log_info("chat %s: %s", c->req_id, detail);
		chat_reply(c, status_for_http(c->status), detail);
		free(detail);
	} else if (!c->saw_done) {
		detail = xasprintf("the router's stream ended early: %s", err ? err : "no [DONE]");
		event_text(c, CTL_EV_ERROR, detail);
		chat_reply(c, CTL_ST_FAILED, detail);
		free(detail);
	} else if (c->saw_error) {
		chat_reply(c, CTL_ST_FAILED, "the network reported an error");
	} else {
		event_text(c, CTL_EV_DONE, c->finish_reason ? c->finish_reason : "stop");
		chat_reply(c, CTL_ST_OK, NULL);
	}
	consume_free(c);
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct consume *c = arg;
	struct daemon *d = c->d;

	if (c->dead) { /* the deferred free, see the top */
		consume_free(c);
		return;
	}
	link_http_cancel(d->link, c->http_id);
	log_info("chat %s: no data from the router for %d s", c->req_id, c->timeout_s);
	chat_reply(c, CTL_ST_TIMEOUT, "no data from the router in time");
	consume_free(c);
}

/* A chat past chat_timeout, however alive the router kept it. */
static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct consume *c = arg;

	(void)fd;
	(void)what;
	if (c->dead)
		return; /* its timer frees it */
	link_http_cancel(c->d->link, c->http_id);
	log_info("chat %s: not finished after %d s; stopped", c->req_id, c->d->cfg->chat_timeout);
	chat_reply(c, CTL_ST_TIMEOUT, "the chat did not finish within chat_timeout");
	consume_free(c);
}

static struct consume *start(struct daemon *d, const char *method, const char *path, char *body,
	size_t len, int timeout_s)
{
	struct consume *c = xcalloc(1, sizeof(*c));
	char *url = url_new(d, path);

	c->d = d;
	c->timeout_s = timeout_s;
	c->timer = evtimer_new(d->base, timeout_cb, c);
	c->http_id = link_http_start(d->link, method, url, body, len);
	free(url);
	LIST_INSERT_HEAD(&d->consumes, c, next);
	return c;
}

/* Start a chat; the caller sets who it is for before anything can happen. */
static struct consume *chat_start(struct daemon *d, json_object *args, size_t *lenp)
{
	json_object *req = json_object_new_object(), *v;
	const char *keys[] = { CTL_A_MODEL, CTL_A_MESSAGES, CTL_A_THINK, CTL_A_OPTIONS };
	struct consume *c;
	size_t i, len;
	char *body;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_object_get_ex(args, keys[i], &v))
			json_object_object_add(req, keys[i], json_object_get(v));
	body = ic_json_to_string_new(req, &len);
	json_object_put(req);
	c = start(d, "POST", "/api/chat", body, len, d->cfg->router_timeout);
	c->sse = ic_sse_parser_new(CONSUME_EVENT_MAX);
	*lenp = len;
	return c;
}

/* 0 if the chat is under way, -1 if it ended (and was freed) already. */
static int chat_started(struct consume *c, json_object *args, size_t len)
{
	struct timeval total = { c->d->cfg->chat_timeout, 0 };
	const char *model = ic_json_get_string(args, CTL_A_MODEL);

	log_info("chat %s: model %s, %zu bytes to %s", c->req_id, model ? model : "?", len,
		c->d->cfg->server);
	if (!c->http_id) {
		chat_reply(c, CTL_ST_FAILED, "the server URL is not usable");
		consume_free(c);
		return -1;
	}
	arm(c);
	c->deadline = evtimer_new(c->d->base, deadline_cb, c);
	evtimer_add(c->deadline, &total);
	return 0;
}

/* ---- control clients: a sink whose context is the chat itself ---- */

static const char *const event_keys[CTL_EV_COUNT] = {
	[CTL_EV_CONTENT] = CTL_E_TEXT,
	[CTL_EV_THINKING] = CTL_E_TEXT,
	[CTL_EV_TOOL] = CTL_E_NAME,
	[CTL_EV_ERROR] = CTL_F_DETAIL,
	[CTL_EV_DONE] = CTL_E_FINISH_REASON,
};

static void control_sink_send(struct consume *c, enum ctl_event ev, json_object *b)
{
	control_event(c->d->ctl, c->client, c->req_id, ctl_event_name(ev), b);
	json_object_put(b);
}

static void control_sink_event(void *ctx, enum ctl_event ev, const char *text)
{
	json_object *b = json_object_new_object();

	json_object_object_add(b, event_keys[ev], json_object_new_string(text));
	control_sink_send(ctx, ev, b);
}

static void control_sink_tool(void *ctx, const char *name, const char *status, const char *reason)
{
	json_object *b = json_object_new_object();

	json_object_object_add(b, CTL_E_NAME, json_object_new_string(name));
	json_object_object_add(b, CTL_E_TOOL_STATUS, json_object_new_string(status));
	if (reason)
		json_object_object_add(b, CTL_E_TOOL_REASON, json_object_new_string(reason));
	control_sink_send(ctx, CTL_EV_TOOL, b);
}

static void control_sink_end(void *ctx, enum ctl_status st, const char *detail)
{
	struct consume *c = ctx;

	control_reply_detail(c->d->ctl, c->client, c->req_id, st, detail, NULL);
}

static const struct consume_sink control_sink = {
	control_sink_event,
	control_sink_tool,
	control_sink_end,
};

/* c is a chat or read of control client "client". */
static bool of_client(const struct consume *c, uint64_t client)
{
	return c->client == client && (c->is_get || c->sink == &control_sink);
}

void consume_chat(
	struct daemon *d, const struct control_peer *peer, const char *req_id, json_object *args)
{
	const char *why = chat_refusal(d, peer);
	struct consume *c;
	size_t len;

	if (why) {
		control_reply_detail(d->ctl, peer->client_id, req_id, CTL_ST_BUSY, why, NULL);
		return;
	}
	c = chat_start(d, args, &len);
	c->sink = &control_sink;
	c->sink_ctx = c;
	c->client = peer->client_id;
	c->uid = peer->uid;
	c->owner = peer->owner;
	c->req_id = xstrdup(req_id);
	chat_started(c, args, len);
}

/* The gateway's chats come from whoever reaches its port: they count as
 * unprivileged, so the chats kept for root stay free, with no uid of their
 * own (the gateway bounds them itself with [gateway] max_streams). */
static const char *sink_refusal(const struct daemon *d)
{
	size_t unpriv, of_uid;

	if (consume_count(d) >= CONSUME_CHATS_MAX)
		return "too many chats running";
	count_chats(d, (uid_t)-1, &unpriv, &of_uid);
	if (unpriv >= CONSUME_CHATS_MAX - CONSUME_CHATS_RESERVED)
		return "too many chats running (the rest are kept for root)";
	return NULL;
}

struct consume *consume_chat_sink(
	struct daemon *d, json_object *args, const struct consume_sink *sink, void *ctx)
{
	static uint64_t serial;
	const char *why = sink_refusal(d);
	struct consume *c;
	size_t len;

	if (why) {
		sink->end(ctx, CTL_ST_BUSY, why);
		return NULL;
	}
	c = chat_start(d, args, &len);
	c->uid = (uid_t)-1;
	c->sink = sink;
	c->sink_ctx = ctx;
	c->req_id = xasprintf("gateway-%llu", (unsigned long long)++serial);
	return chat_started(c, args, len) == 0 ? c : NULL;
}

/* Like consume_client_gone(): may run inside a sink call, so no free here. */
void consume_sink_stop(struct daemon *d, struct consume *c)
{
	static const struct timeval now = { 0, 0 };

	if (!c || c->dead)
		return;
	link_http_cancel(d->link, c->http_id);
	log_info("chat %s: client went away; cancelled", c->req_id);
	c->dead = true;
	evtimer_add(c->timer, &now);
}

/* ---- reads: one fetch per path, shared (see the top) ---- */

static void fetch_free(struct fetch *f)
{
	if (f->http_id)
		link_http_cancel(f->d->link, f->http_id);
	LIST_REMOVE(f, next);
	event_free(f->timer);
	json_object_put(f->json);
	free(f->path);
	free(f->body);
	free(f->err);
	free(f);
}

static struct fetch *fetch_by_path(const char *path)
{
	struct fetch *f;

	LIST_FOREACH(f, &fetches, next)
	if (strcmp(f->path, path) == 0)
		return f;
	return NULL;
}

static struct fetch *fetch_by_id(uint64_t id)
{
	struct fetch *f;

	LIST_FOREACH(f, &fetches, next)
	if (f->http_id == id && !f->done)
		return f;
	return NULL;
}

/* Give c its fetch's result, then free c. */
static void deliver(struct consume *c, const char *err)
{
	struct fetch *f = c->fetch;
	json_object *j = f ? json_object_get(f->json) : NULL;
	int status = f ? f->status : 0;

	if (f && !status)
		err = f->err;
	c->cb(c->ctx, status, j, status ? NULL : err ? err : "no reply");
	json_object_put(j);
	consume_free(c);
}

static struct consume *asker_of(struct daemon *d, struct fetch *f)
{
	struct consume *c;

	LIST_FOREACH(c, &d->consumes, next)
	if (c->is_get && c->fetch == f)
		return c;
	return NULL;
}

static void fetch_timer_cb(evutil_socket_t fd, short what, void *arg);

/* The fetch is over (err: why, when there is no status): tell its askers,
 * and keep the result for the next ones for CONSUME_GET_REUSE_MS. */
static void fetch_finish(struct fetch *f, const char *err)
{
	struct timeval reuse = { 0, CONSUME_GET_REUSE_MS * 1000 };
	struct consume *c;

	log_debug(
		"GET %s: done (HTTP %d%s%s)", f->path, f->status, err ? ", " : "", err ? err : "");
	f->done = true;
	f->http_id = 0;
	if (f->status == 200 && f->body)
		f->json = ic_json_parse_new(f->body, f->len);
	if (!f->status)
		f->err = xstrdup(err ? err : "no reply");
	while ((c = asker_of(f->d, f)) != NULL)
		deliver(c, NULL);
	evtimer_add(f->timer, &reuse);
}

/* A done fetch's reuse is over; askers not yet served get it now. */
static void fetch_expire(struct fetch *f)
{
	struct consume *c;

	while ((c = asker_of(f->d, f)) != NULL)
		deliver(c, NULL);
	fetch_free(f);
}

static void fetch_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fetch *f = arg;

	(void)fd;
	(void)what;
	if (f->done) {
		fetch_expire(f);
		return;
	}
	log_info("GET %s: no complete answer from the router in %d s", f->path,
		CONSUME_GET_TIMEOUT_S);
	link_http_cancel(f->d->link, f->http_id);
	f->status = 0;
	fetch_finish(f, "the router did not answer in time");
}

static struct fetch *fetch_start(struct daemon *d, const char *path)
{
	struct timeval total = { CONSUME_GET_TIMEOUT_S, 0 };
	struct fetch *f = xcalloc(1, sizeof(*f));
	char *url = url_new(d, path);

	f->d = d;
	f->path = xstrdup(path);
	f->timer = evtimer_new(d->base, fetch_timer_cb, f);
	LIST_INSERT_HEAD(&fetches, f, next);
	f->http_id = link_http_start(d->link, "GET", url, NULL, 0);
	log_debug("GET %s: fetching (link request %llu)", path, (unsigned long long)f->http_id);
	free(url);
	if (!f->http_id)
		fetch_finish(f, "the server URL is not usable");
	else
		evtimer_add(f->timer, &total);
	return f;
}

/* A get's own timer: deliver a result that was there before it asked, or
 * tell it its client went away. */
static void ask_cb(evutil_socket_t fd, short what, void *arg)
{
	struct consume *c = arg;

	(void)fd;
	(void)what;
	deliver(c, c->dead ? "the control client went away" : NULL);
}

struct consume *consume_get_for(
	struct daemon *d, uint64_t client, const char *path, consume_get_cb cb, void *ctx)
{
	static const struct timeval now = { 0, 0 };
	struct consume *c = xcalloc(1, sizeof(*c));
	struct fetch *f = fetch_by_path(path);

	c->d = d;
	c->is_get = true;
	c->client = client;
	c->cb = cb;
	c->ctx = ctx;
	c->timer = evtimer_new(d->base, ask_cb, c);
	LIST_INSERT_HEAD(&d->consumes, c, next);
	if (!f)
		f = fetch_start(d, path);
	c->fetch = f;
	f->askers++;
	/* never call back from inside this call: the caller is still
	 * storing what it returns */
	if (f->done)
		evtimer_add(c->timer, &now);
	return c;
}

struct consume *consume_get(struct daemon *d, const char *path, consume_get_cb cb, void *ctx)
{
	return consume_get_for(d, 0, path, cb, ctx);
}

void consume_link_changed(struct daemon *d)
{
	struct fetch *f;

	(void)d;
	/* from the head each time: a delivery may drop a client, and that
	 * may cancel another fetch */
	for (;;) {
		LIST_FOREACH(f, &fetches, next)
		if (f->done)
			break;
		if (!f)
			return;
		fetch_expire(f);
	}
}

/* c no longer waits for f: nobody left waiting cancels it. */
static void fetch_left(struct fetch *f)
{
	if (f && !f->done && f->askers == 0) {
		log_debug("GET %s: nobody waits for it; cancelled", f->path);
		fetch_free(f);
	}
}

void consume_get_cancel(struct daemon *d, struct consume *c)
{
	struct fetch *f;

	(void)d;
	if (!c)
		return;
	f = c->fetch;
	consume_free(c);
	fetch_left(f);
}

int consume_cancel(struct daemon *d, uint64_t client, const char *target)
{
	struct consume *c;

	LIST_FOREACH(c, &d->consumes, next)
	{
		if (c->is_get || c->dead || !of_client(c, client) || strcmp(c->req_id, target) != 0)
			continue;
		link_http_cancel(d->link, c->http_id);
		log_info("chat %s cancelled", c->req_id);
		chat_reply(c, CTL_ST_CANCELLED, NULL);
		consume_free(c);
		return 0;
	}
	return -1;
}

/* Runs inside control calls made by this file (see the top): no frees. */
void consume_client_gone(struct daemon *d, uint64_t client)
{
	static const struct timeval now = { 0, 0 };
	struct consume *c;

	LIST_FOREACH(c, &d->consumes, next)
	{
		if (c->dead || !of_client(c, client) || (c->is_get && client == 0))
			continue;
		c->dead = true;
		evtimer_add(c->timer, &now);
		if (c->is_get) { /* its asker hears of it from ask_cb */
			struct fetch *f = c->fetch;

			detach(c);
			fetch_left(f);
			continue;
		}
		link_http_cancel(d->link, c->http_id);
		log_info("chat %s: client went away; cancelled", c->req_id);
	}
}

void consume_stop_all(struct daemon *d)
{
	struct consume *c, *tmp;

	for (c = LIST_FIRST(&d->consumes); c; c = tmp) {
		tmp = LIST_NEXT(c, next);
		if (!c->dead && !c->is_get)
			link_http_cancel(d->link, c->http_id);
		if (c->is_get)
			c->cb(c->ctx, 0, NULL, "the daemon is stopping");
		else if (!c->dead)
			chat_reply(c, CTL_ST_SHUTTING_DOWN, NULL);
		consume_free(c);
	}
	while (!LIST_EMPTY(&fetches))
		fetch_free(LIST_FIRST(&fetches));
}

/* ---- link events ---- */

void consume_http_status(struct daemon *d, uint64_t id, int status)
{
	struct consume *c = find_http(d, id);
	struct fetch *f;

	if (c) {
		c->status = status;
		arm(c);
	} else if ((f = fetch_by_id(id)) != NULL) {
		f->status = status; /* no re-arm: a fetch's deadline is total */
	}
}

/* Keep at most CONSUME_BODY_MAX bytes of a reply. */
static void body_add(char **body, size_t *blen, const char *data, size_t len)
{
	if (*blen + len > CONSUME_BODY_MAX)
		len = CONSUME_BODY_MAX - *blen;
	*body = xrealloc(*body, *blen + len + 1);
	memcpy(*body + *blen, data, len);
	*blen += len;
	(*body)[*blen] = '\0';
}

void consume_http_data(struct daemon *d, uint64_t id, const char *data, size_t len)
{
	struct consume *c = find_http(d, id);
	struct fetch *f;

	if (!c) {
		if ((f = fetch_by_id(id)) != NULL)
			body_add(&f->body, &f->len, data, len);
		return;
	}
	arm(c);
	if (c->status != 200) {
		body_add(&c->body, &c->len, data, len);
		return;
	}
	if (ic_sse_parser_feed(c->sse, data, len, on_sse, c) < 0) {
		if (c->dead) { /* its client went away while we fed it */
			consume_free(c);
			return;
		}
		link_http_cancel(d->link, c->http_id);
		chat_reply(c, CTL_ST_FAILED, "the router sent an event over the size limit");
		consume_free(c);
	}
}

void consume_http_done(struct daemon *d, uint64_t id, const char *err)
{
	struct consume *c = find_http(d, id);
	struct fetch *f;

	if (c) {
		chat_end(c, err);
		return;
	}
	f = fetch_by_id(id);
	if (f) {
		f->http_id = 0; /* the link is done with it */
		fetch_finish(f, err);
	}
}
