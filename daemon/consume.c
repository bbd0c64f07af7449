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
 * more link events, events or replies.
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

struct consume {
	LIST_ENTRY(consume) next;
	struct daemon *d;
	uint64_t http_id;
	bool is_get;
	/* chat */
	uint64_t client;
	char *req_id;
	struct ic_sse_parser *sse;
	bool saw_done;
	bool saw_error;
	char *finish_reason;
	/* get */
	consume_get_cb cb;
	void *ctx;
	/* both */
	int status;
	char *body;
	size_t len;
	struct event *timer;	/* timeout; for a dead chat, its deferred free */
	int timeout_s;
	bool dead;		/* chat whose client went away; see the top */
};

size_t
consume_count(const struct daemon *d)
{
	const struct consume *c;
	size_t n = 0;

	LIST_FOREACH(c, &d->consumes, next)
		if (!c->is_get && !c->dead)
			n++;
	return n;
}

static struct consume *
find_http(struct daemon *d, uint64_t id)
{
	struct consume *c;

	LIST_FOREACH(c, &d->consumes, next)
		if (c->http_id == id && !c->dead)
			return c;
	return NULL;
}

static void
consume_free(struct consume *c)
{
	LIST_REMOVE(c, next);
	if (c->timer)
		event_free(c->timer);
	ic_sse_parser_free(c->sse);
	free(c->req_id);
	free(c->finish_reason);
	free(c->body);
	free(c);
}

static void
arm(struct consume *c)
{
	struct timeval tv = { c->timeout_s, 0 };

	evtimer_add(c->timer, &tv);
}

static char *
url_new(struct daemon *d, const char *path)
{
	const char *base = d->cfg->server;
	size_t n = strlen(base);

	while (n && base[n - 1] == '/')
		n--;
	return xasprintf("%.*s%s", (int)n, base, path);
}

/* ---- chat: events and the final reply ---- */

static void
event_text(struct consume *c, const char *type, const char *key, const char *val)
{
	json_object *b = json_object_new_object();

	json_object_object_add(b, key, json_object_new_string(val));
	control_event(c->d->ctl, c->client, c->req_id, type, b);
	json_object_put(b);
}

static void
chat_reply(struct consume *c, enum ctl_status st, const char *detail)
{
	control_reply_detail(c->d->ctl, c->client, c->req_id, st, detail, NULL);
}

static void
on_delta(struct consume *c, json_object *delta)
{
	json_object *tc;
	const char *text = ic_json_get_string(delta, "content");
	bool reasoning = false;

	if (json_object_object_get_ex(delta, "tool_call", &tc)) {
		const char *name = ic_json_get_string(tc, "name");
		const char *st = ic_json_get_string(tc, "status");
		json_object *b = json_object_new_object();

		json_object_object_add(b, CTL_E_NAME, json_object_new_string(name ? name : ""));
		json_object_object_add(b, CTL_E_TOOL_STATUS, json_object_new_string(st ? st : ""));
		if (ic_json_get_string(tc, "reason"))
			json_object_object_add(b, CTL_E_TOOL_REASON,
					       json_object_new_string(ic_json_get_string(tc, "reason")));
		control_event(c->d->ctl, c->client, c->req_id, ctl_event_name(CTL_EV_TOOL), b);
		json_object_put(b);
	}
	if (!text || !*text)
		return;
	ic_json_get_bool(delta, "reasoning", &reasoning);
	if (!reasoning && strncmp(text, INBAND_ERROR, strlen(INBAND_ERROR)) == 0) {
		size_t n = strlen(text);
		char *detail = xstrndup(text + strlen(INBAND_ERROR),
					n - strlen(INBAND_ERROR) - (text[n - 1] == ']'));

		c->saw_error = true;
		event_text(c, ctl_event_name(CTL_EV_ERROR), CTL_F_DETAIL, detail);
		free(detail);
		return;
	}
	if (c->d->cfg->log_content)
		log_debug("chat %s: %s", c->req_id, text);
	event_text(c, ctl_event_name(reasoning ? CTL_EV_THINKING : CTL_EV_CONTENT), CTL_E_TEXT,
		   text);
}

static int
on_sse(void *ctx, const char *data, size_t len)
{
	struct consume *c = ctx;
	json_object *j, *choices, *ch, *delta;
	const char *fr;

	if (c->dead)
		return -1;	/* stop parsing: nobody to tell */
	if (len == strlen(IC_SSE_DONE) && memcmp(data, IC_SSE_DONE, len) == 0) {
		c->saw_done = true;
		return 0;
	}
	j = ic_json_parse_new(data, len);
	if (!j)
		return 0;	/* not ours to judge: skip what we cannot read */
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

static enum ctl_status
status_for_http(int status)
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
static char *
error_detail_new(const char *body, size_t len, int status)
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

static void
chat_end(struct consume *c, const char *err)
{
	char *detail;
	json_object *b;

	if (c->status != 200) {
		detail = c->status ? error_detail_new(c->body, c->len, c->status) :
				     xasprintf("cannot reach the router: %s",
					       err ? err : "no reply");
		log_info("chat %s: %s", c->req_id, detail);
		chat_reply(c, status_for_http(c->status), detail);
		free(detail);
	} else if (!c->saw_done) {
		detail = xasprintf("the router's stream ended early: %s",
				   err ? err : "no [DONE]");
		event_text(c, ctl_event_name(CTL_EV_ERROR), CTL_F_DETAIL, detail);
		chat_reply(c, CTL_ST_FAILED, detail);
		free(detail);
	} else if (c->saw_error) {
		chat_reply(c, CTL_ST_FAILED, "the network reported an error");
	} else {
		b = json_object_new_object();
		json_object_object_add(b, CTL_E_FINISH_REASON, json_object_new_string(
			c->finish_reason ? c->finish_reason : "stop"));
		control_event(c->d->ctl, c->client, c->req_id, ctl_event_name(CTL_EV_DONE), b);
		json_object_put(b);
		chat_reply(c, CTL_ST_OK, NULL);
	}
	consume_free(c);
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct consume *c = arg;
	struct daemon *d = c->d;

	if (c->dead) {		/* the deferred free, see the top */
		consume_free(c);
		return;
	}
	link_http_cancel(d->link, c->http_id);
	if (c->is_get) {
		c->cb(c->ctx, 0, NULL, "the router did not answer in time");
		consume_free(c);
		return;
	}
	log_info("chat %s: no data from the router for %d s", c->req_id, c->timeout_s);
	chat_reply(c, CTL_ST_TIMEOUT, "no data from the router in time");
	consume_free(c);
}

static struct consume *
start(struct daemon *d, const char *method, const char *path, char *body, size_t len,
      int timeout_s)
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

void
consume_chat(struct daemon *d, uint64_t client, const char *req_id, json_object *args)
{
	json_object *req = json_object_new_object(), *v;
	const char *keys[] = { CTL_A_MODEL, CTL_A_MESSAGES, CTL_A_THINK, CTL_A_OPTIONS };
	struct consume *c;
	size_t i, len;
	char *body;

	if (consume_count(d) >= CONSUME_CHATS_MAX) {
		control_reply_detail(d->ctl, client, req_id, CTL_ST_BUSY, "too many chats running",
				     NULL);
		json_object_put(req);
		return;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_object_get_ex(args, keys[i], &v))
			json_object_object_add(req, keys[i], json_object_get(v));
	body = ic_json_to_string_new(req, &len);
	json_object_put(req);
	c = start(d, "POST", "/api/chat", body, len, d->cfg->router_timeout);
	c->client = client;
	c->req_id = xstrdup(req_id);
	c->sse = ic_sse_parser_new(CONSUME_EVENT_MAX);
	log_info("chat %s: model %s, %zu bytes to %s", req_id,
		 ic_json_get_string(args, CTL_A_MODEL) ? ic_json_get_string(args, CTL_A_MODEL) : "?",
		 len, d->cfg->server);
	if (!c->http_id) {
		chat_reply(c, CTL_ST_FAILED, "the server URL is not usable");
		consume_free(c);
		return;
	}
	arm(c);
}

struct consume *
consume_get(struct daemon *d, const char *path, consume_get_cb cb, void *ctx)
{
	struct consume *c = start(d, "GET", path, NULL, 0, CONSUME_GET_TIMEOUT_S);

	c->is_get = true;
	c->cb = cb;
	c->ctx = ctx;
	arm(c);
	return c;
}

void
consume_get_cancel(struct daemon *d, struct consume *c)
{
	if (!c)
		return;
	link_http_cancel(d->link, c->http_id);
	consume_free(c);
}

int
consume_cancel(struct daemon *d, uint64_t client, const char *target)
{
	struct consume *c;

	LIST_FOREACH(c, &d->consumes, next) {
		if (c->is_get || c->dead || c->client != client || strcmp(c->req_id, target) != 0)
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
void
consume_client_gone(struct daemon *d, uint64_t client)
{
	static const struct timeval now = { 0, 0 };
	struct consume *c;

	LIST_FOREACH(c, &d->consumes, next) {
		if (c->is_get || c->dead || c->client != client)
			continue;
		link_http_cancel(d->link, c->http_id);
		log_info("chat %s: client went away; cancelled", c->req_id);
		c->dead = true;
		evtimer_add(c->timer, &now);
	}
}

void
consume_stop_all(struct daemon *d)
{
	struct consume *c, *tmp;

	for (c = LIST_FIRST(&d->consumes); c; c = tmp) {
		tmp = LIST_NEXT(c, next);
		if (!c->dead)
			link_http_cancel(d->link, c->http_id);
		if (c->is_get)
			c->cb(c->ctx, 0, NULL, "the daemon is stopping");
		else if (!c->dead)
			chat_reply(c, CTL_ST_SHUTTING_DOWN, NULL);
		consume_free(c);
	}
}

/* ---- link events ---- */

void
consume_http_status(struct daemon *d, uint64_t id, int status)
{
	struct consume *c = find_http(d, id);

	if (c) {
		c->status = status;
		arm(c);
	}
}

static void
body_add(struct consume *c, const char *data, size_t len)
{
	if (c->len + len > CONSUME_BODY_MAX)
		len = CONSUME_BODY_MAX - c->len;
	c->body = xrealloc(c->body, c->len + len + 1);
	memcpy(c->body + c->len, data, len);
	c->len += len;
	c->body[c->len] = '\0';
}

void
consume_http_data(struct daemon *d, uint64_t id, const char *data, size_t len)
{
	struct consume *c = find_http(d, id);

	if (!c)
		return;
	arm(c);
	if (c->is_get || c->status != 200) {
		body_add(c, data, len);
		return;
	}
	if (ic_sse_parser_feed(c->sse, data, len, on_sse, c) < 0) {
		if (c->dead) {		/* its client went away while we fed it */
			consume_free(c);
			return;
		}
		link_http_cancel(d->link, c->http_id);
		chat_reply(c, CTL_ST_FAILED, "the router sent an event over the size limit");
		consume_free(c);
	}
}

void
consume_http_done(struct daemon *d, uint64_t id, const char *err)
{
	struct consume *c = find_http(d, id);
	json_object *j;

	if (!c)
		return;
	if (!c->is_get) {
		chat_end(c, err);
		return;
	}
	j = c->status == 200 && c->body ? ic_json_parse_new(c->body, c->len) : NULL;
	c->cb(c->ctx, c->status, j, c->status ? NULL : (err ? err : "no reply"));
	json_object_put(j);
	consume_free(c);
}
