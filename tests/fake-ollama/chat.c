/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * chat.c - one /api/chat reply: a plan of lines (thinking, content, tool
 * calls, done), sent as NDJSON at the configured pace, with the injected
 * fault, and dropped when the client closes the connection.
 *
 * Life of a chat: fo_chat_start() plans it and registers a close callback
 * on the connection.  It ends in exactly one of three ways, each freeing
 * the struct: finish() after the last line; on_close() when the client (or
 * shutdown) closes the connection; close_now() for close-midstream, which
 * frees the connection and so also runs on_close().
 *
 * Speed: lines are copied from pre-escaped pieces between fixed templates;
 * with no delay, up to FO_BATCH_LINES lines go out per write callback and
 * the next batch waits until the socket drained (back-pressure, and the
 * loop stays responsive).  With a delay, line k is due at start+(k+1)*delay
 * and each timer tick sends every line that is due, so sub-millisecond
 * delays keep their average rate.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "fake-ollama.h"
#include "jsonutil.h"
#include "log.h"
#include "xmalloc.h"

#define LOAD_DURATION_NS 1500000LL
#define PROMPT_NS_PER_TOKEN 100000LL
#define MIDSTREAM_ERROR "fake-ollama: injected error mid-stream"
#define BAD_LINE "fake-ollama: injected line that is not JSON\n"

enum line_kind { LINE_THINK, LINE_CONTENT, LINE_TOOL, LINE_BAD, LINE_DONE, LINE_ERROR, LINE_CLOSE };

struct fo_chat {
	TAILQ_ENTRY(fo_chat) link;
	struct fo_server *srv;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct event *timer;
	struct event *peer_closed; /* EV_CLOSED on the client's socket */
	struct evbuffer *out;
	struct fo_model *m;
	char *model;	  /* canonical name */
	char *model_json; /* the name as the request gave it, escaped */
	char *tool_json;  /* serialized tool_calls, or NULL */
	struct fo_pieces think, content;
	size_t nthink, ncontent;
	size_t ithink, icontent;
	bool tool_sent;
	bool fault_fired;
	bool stream;
	bool aborting; /* we close the connection on purpose */
	enum fo_fault fault;
	const char *done_reason;
	long long prompt_eval_count;
	size_t lines; /* lines sent, of every kind */
	size_t timed; /* paced lines sent */
	struct timespec t_start, t_first;
	void (*on_timer)(struct fo_chat *);
};

static long long ns_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - t0->tv_sec) * 1000000000LL + (now.tv_nsec - t0->tv_nsec);
}

static void chat_free(struct fo_chat *c)
{
	TAILQ_REMOVE(&c->srv->chats, c, link);
	event_free(c->timer);
	if (c->peer_closed != NULL)
		event_free(c->peer_closed);
	evbuffer_free(c->out);
	fo_model_release(c->m);
	fo_pieces_free(&c->think);
	fo_pieces_free(&c->content);
	free(c->model);
	free(c->model_json);
	free(c->tool_json);
	free(c);
}

/* The connection is going away: the client closed it, or we did. */
static void on_close(struct evhttp_connection *evcon, void *arg)
{
	struct fo_chat *c = arg;

	if (!c->aborting && !c->srv->stopping) {
		log_info(
			"chat with %s cancelled by the client after %zu lines", c->model, c->lines);
		fo_record_event("cancelled", c->model);
	}
	/* libevent detaches an unfinished request from a failed connection
	 * and leaves it to us; one still attached is freed with it. */
	if (evhttp_request_get_connection(c->req) == NULL)
		evhttp_request_free(c->req);
	chat_free(c);
}

static void finish(struct fo_chat *c)
{
	evhttp_connection_set_closecb(c->evcon, NULL, NULL);
	evhttp_send_reply_end(c->req);
	chat_free(c);
}

static void close_now(struct fo_chat *c)
{
	c->aborting = true;
	log_info("chat with %s: closing the connection (fault close-midstream)", c->model);
	evhttp_connection_free(c->evcon); /* runs on_close() */
}

/*
 * evhttp reads nothing while a reply is pending, so it would notice a
 * client that went away only at the next write: never for --fault hang or
 * during a long delay.  Watch for the peer's FIN ourselves.
 */
static void on_peer_closed(evutil_socket_t fd, short what, void *arg)
{
	struct fo_chat *c = arg;

	evhttp_connection_free(c->evcon); /* runs on_close() */
}

static void watch_peer(struct fo_chat *c)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);
	evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;

	if (fd < 0)
		return;
	c->peer_closed = event_new(c->srv->base, fd, EV_CLOSED, on_peer_closed, c);
	event_add(c->peer_closed, NULL);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct fo_chat *c = arg;

	c->on_timer(c);
}

static void arm(struct fo_chat *c, long long ns, void (*fn)(struct fo_chat *))
{
	struct timeval tv;

	if (ns < 0)
		ns = 0;
	tv.tv_sec = (time_t)(ns / 1000000000LL);
	tv.tv_usec = (suseconds_t)(ns % 1000000000LL / 1000);
	c->on_timer = fn;
	evtimer_add(c->timer, &tv);
}

/* --- lines --- */

static void add_head(struct fo_chat *c, const char *ts)
{
	evbuffer_add(c->out, "{\"model\":\"", 10);
	evbuffer_add(c->out, c->model_json, strlen(c->model_json));
	evbuffer_add_printf(c->out,
		"\",\"created_at\":\"%s\","
		"\"message\":{\"role\":\"assistant\",\"content\":\"",
		ts);
}

/* One timing or count, left out when zero as Ollama's omitempty does. */
static void add_metric(struct fo_chat *c, const char *name, long long v)
{
	if (v != 0)
		evbuffer_add_printf(c->out, ",\"%s\":%lld", name, v);
}

static void add_stats(struct fo_chat *c)
{
	evbuffer_add_printf(c->out, "\"done_reason\":\"%s\",\"done\":true", c->done_reason);
	add_metric(c, "total_duration", ns_since(&c->t_start));
	add_metric(c, "load_duration", LOAD_DURATION_NS);
	add_metric(c, "prompt_eval_count", c->prompt_eval_count);
	add_metric(c, "prompt_eval_duration", c->prompt_eval_count * PROMPT_NS_PER_TOKEN);
	add_metric(c, "eval_count", (long long)(c->ithink + c->icontent + c->tool_sent));
	add_metric(c, "eval_duration",
		c->ithink + c->icontent + c->tool_sent ? ns_since(&c->t_first) : 0);
	evbuffer_add(c->out, "}", 1);
}

static enum line_kind next_kind(struct fo_chat *c)
{
	if (!c->fault_fired && c->lines >= (size_t)c->srv->cfg->fault_after) {
		if (c->fault == FO_FAULT_ERROR_MIDSTREAM)
			return LINE_ERROR;
		if (c->fault == FO_FAULT_CLOSE_MIDSTREAM)
			return LINE_CLOSE;
		if (c->fault == FO_FAULT_BAD_LINE)
			return LINE_BAD;
	}
	if (c->ithink < c->nthink)
		return LINE_THINK;
	if (c->icontent < c->ncontent)
		return LINE_CONTENT;
	if (c->tool_json != NULL && !c->tool_sent)
		return LINE_TOOL;
	return LINE_DONE;
}

static void add_piece(struct fo_chat *c, const struct fo_pieces *p, size_t i)
{
	evbuffer_add(c->out, p->text[i % p->n], p->len[i % p->n]);
}

/* Append one line of the given kind to c->out. */
static void add_line(struct fo_chat *c, enum line_kind kind, const char *ts)
{
	static const char more[] = "\"},\"done\":false}\n";
	static const char error_line[] = "{\"error\":\"" MIDSTREAM_ERROR "\"}\n";

	c->lines++;
	if (kind == LINE_ERROR) {
		c->fault_fired = true;
		evbuffer_add(c->out, error_line, sizeof(error_line) - 1);
		return;
	}
	if (kind == LINE_BAD) {
		c->fault_fired = true;
		evbuffer_add(c->out, BAD_LINE, sizeof(BAD_LINE) - 1);
		return;
	}
	add_head(c, ts);
	switch (kind) {
	case LINE_THINK:
		evbuffer_add(c->out, "\",\"thinking\":\"", 14);
		add_piece(c, &c->think, c->ithink++);
		evbuffer_add(c->out, more, sizeof(more) - 1);
		break;
	case LINE_CONTENT:
		add_piece(c, &c->content, c->icontent++);
		evbuffer_add(c->out, more, sizeof(more) - 1);
		break;
	case LINE_TOOL:
		c->tool_sent = true;
		evbuffer_add(c->out, "\",\"tool_calls\":", 15);
		evbuffer_add(c->out, c->tool_json, strlen(c->tool_json));
		evbuffer_add(c->out, "},\"done\":false}\n", 16);
		break;
	default:
		evbuffer_add(c->out, "\"},", 3);
		add_stats(c);
		evbuffer_add(c->out, "\n", 1);
		break;
	}
}

/* --fault no-done: the line before "done" was the last (Ollama ends a
 * stream so when the runner stops on repeated tokens). */
static bool drop_done(struct fo_chat *c, enum line_kind kind)
{
	return kind == LINE_DONE && c->fault == FO_FAULT_NO_DONE;
}

/* --- streaming --- */

static void pump(struct fo_chat *c);

/* Send c->out as one HTTP chunk, or as --chunk-bytes pieces; cb (if any)
 * runs once it all drained. */
static void send_out(struct fo_chat *c, void (*cb)(struct evhttp_connection *, void *))
{
	size_t max = (size_t)c->srv->cfg->chunk_bytes;

	if (max > 0) {
		struct evbuffer *piece = evbuffer_new();

		while (evbuffer_get_length(c->out) > max) {
			evbuffer_remove_buffer(c->out, piece, max);
			evhttp_send_reply_chunk(c->req, piece);
		}
		evbuffer_free(piece);
	}
	if (cb != NULL)
		evhttp_send_reply_chunk_with_cb(c->req, c->out, cb, c);
	else
		evhttp_send_reply_chunk(c->req, c->out);
}

static void on_drain_close(struct evhttp_connection *evcon, void *arg)
{
	struct fo_chat *c = arg;

	/* not from inside libevent's write callback: from a fresh timer */
	arm(c, 0, close_now);
}

static void on_drain(struct evhttp_connection *evcon, void *arg)
{
	struct fo_chat *c = arg;
	long long delay = c->srv->cfg->delay_ns;

	if (delay == 0)
		pump(c);
	else
		arm(c, (long long)(c->timed + 1) * delay - ns_since(&c->t_first), pump);
}

/* How many paced lines may go out now. */
static size_t budget(struct fo_chat *c)
{
	long long delay = c->srv->cfg->delay_ns;
	size_t due;

	if (delay == 0)
		return FO_BATCH_LINES;
	due = (size_t)(ns_since(&c->t_first) / delay);
	if (due <= c->timed)
		return 0;
	return due - c->timed < FO_BATCH_LINES ? due - c->timed : FO_BATCH_LINES;
}

static void pump(struct fo_chat *c)
{
	size_t allowed = budget(c);
	struct timespec now;
	enum line_kind kind = LINE_CONTENT;
	char ts[48];

	clock_gettime(CLOCK_REALTIME, &now);
	fo_rfc3339(ts, sizeof(ts), &now);
	while (evbuffer_get_length(c->out) < FO_BATCH_BYTES) {
		kind = next_kind(c);
		if (kind == LINE_CLOSE)
			break;
		if (kind < LINE_BAD) {
			if (allowed == 0)
				break;
			allowed--;
			c->timed++;
		}
		if (drop_done(c, kind))
			break;
		add_line(c, kind, ts);
		if (kind == LINE_DONE || kind == LINE_ERROR)
			break;
	}
	if (kind == LINE_DONE || kind == LINE_ERROR) {
		if (evbuffer_get_length(c->out) > 0)
			send_out(c, NULL);
		finish(c);
	} else if (evbuffer_get_length(c->out) > 0) {
		send_out(c, kind == LINE_CLOSE ? on_drain_close : on_drain);
	} else if (kind == LINE_CLOSE) {
		arm(c, 0, close_now);
	} else {
		on_drain(c->evcon, c); /* nothing due yet: wait for it */
	}
}

static void start_stream(struct fo_chat *c)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);

	evhttp_add_header(h, "Content-Type", "application/x-ndjson");
	evhttp_send_reply_start(c->req, 200, "OK");
	clock_gettime(CLOCK_MONOTONIC, &c->t_first);
	pump(c);
}

/* --- not streaming: the whole reply at once, after the same delays --- */

static void add_all(struct evbuffer *out, const struct fo_pieces *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		evbuffer_add(out, p->text[i % p->n], p->len[i % p->n]);
}

static void reply_whole(struct fo_chat *c)
{
	struct timespec now;
	char ts[48];

	if (c->fault == FO_FAULT_CLOSE_MIDSTREAM) {
		close_now(c);
		return;
	}
	evhttp_connection_set_closecb(c->evcon, NULL, NULL);
	if (c->fault == FO_FAULT_ERROR_MIDSTREAM) {
		fo_api_error(c->req, 500, MIDSTREAM_ERROR);
		chat_free(c);
		return;
	}
	if (c->fault == FO_FAULT_BAD_LINE) {
		evbuffer_add(c->out, BAD_LINE, sizeof(BAD_LINE) - 1);
		evhttp_send_reply(c->req, 200, "OK", c->out);
		chat_free(c);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	fo_rfc3339(ts, sizeof(ts), &now);
	add_head(c, ts);
	add_all(c->out, &c->content, c->ncontent);
	evbuffer_add(c->out, "\"", 1);
	if (c->nthink > 0) {
		evbuffer_add(c->out, ",\"thinking\":\"", 13);
		add_all(c->out, &c->think, c->nthink);
		evbuffer_add(c->out, "\"", 1);
	}
	if (c->tool_json != NULL) {
		evbuffer_add(c->out, ",\"tool_calls\":", 14);
		evbuffer_add(c->out, c->tool_json, strlen(c->tool_json));
	}
	evbuffer_add(c->out, "},", 2);
	c->ithink = c->nthink;
	c->icontent = c->ncontent;
	add_stats(c);
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Content-Type",
		"application/json; charset=utf-8");
	evhttp_send_reply(c->req, 200, "OK", c->out);
	chat_free(c);
}

static void start_whole(struct fo_chat *c)
{
	size_t paced = c->nthink + c->ncontent + (c->tool_json != NULL);

	clock_gettime(CLOCK_MONOTONIC, &c->t_first);
	arm(c, (long long)paced * c->srv->cfg->delay_ns, reply_whole);
}

static void begin(struct fo_chat *c)
{
	if (c->stream)
		start_stream(c);
	else
		start_whole(c);
}

/* --- planning --- */

/* The last message with this role, or NULL. */
static json_object *last_message(json_object *msgs, const char *role)
{
	size_t n = msgs != NULL ? json_object_array_length(msgs) : 0;

	for (size_t i = n; i-- > 0;) {
		json_object *m = json_object_array_get_idx(msgs, i), *r;

		if (!json_object_object_get_ex(m, "role", &r))
			continue;
		if (role == NULL || strcmp(json_object_get_string(r), role) == 0)
			return m;
	}
	return NULL;
}

static const char *content_of(json_object *msg)
{
	json_object *v;

	if (msg == NULL || !json_object_object_get_ex(msg, "content", &v) ||
		!json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

static long long prompt_tokens(json_object *msgs)
{
	size_t n = msgs != NULL ? json_object_array_length(msgs) : 0;
	long long count = 1;

	for (size_t i = 0; i < n; i++)
		count += 4 + (long long)strlen(content_of(json_object_array_get_idx(msgs, i))) / 4;
	return count;
}

static bool wants_tool_call(struct fo_chat *c, json_object *msgs)
{
	json_object *last = last_message(msgs, NULL), *r;

	if (c->srv->cfg->tool_calls == NULL)
		return false;
	if (c->srv->cfg->tool_call_always || last == NULL)
		return true;
	json_object_object_get_ex(last, "role", &r);
	return strcmp(json_object_get_string(r), "tool") != 0;
}

/* The configured tool calls as the Ollama version writes them: function
 * "index" (0.12.3 leaves out index 0; 0.12.6 on always sends it) and an
 * "id" (0.12.10 on).  NEW serialized text. */
static char *tool_json_new(const struct fo_config *cfg)
{
	json_object *out = json_object_new_array();
	size_t n = json_object_array_length(cfg->tool_calls);
	char *text;

	for (size_t i = 0; i < n; i++) {
		json_object *src = json_object_array_get_idx(cfg->tool_calls, i), *sf, *v;
		json_object *call = json_object_new_object(), *fn = json_object_new_object();
		char id[32];

		json_object_object_get_ex(src, "function", &sf);
		if (cfg->version_num >= FO_V_TOOL_ID) {
			snprintf(id, sizeof(id), "call_%08zx", (size_t)(0x5eed1e55u + i * 7919u));
			json_object_object_add(call, "id", json_object_new_string(id));
		}
		if (cfg->version_num >= FO_V_TOOL_INDEX || i > 0)
			json_object_object_add(fn, "index", json_object_new_int((int)i));
		if (json_object_object_get_ex(sf, "name", &v))
			json_object_object_add(fn, "name", json_object_get(v));
		if (json_object_object_get_ex(sf, "arguments", &v))
			json_object_object_add(fn, "arguments", json_object_get(v));
		json_object_object_add(call, "function", fn);
		json_object_array_add(out, call);
	}
	text = xstrdup(json_object_to_json_string_ext(out, IC_JSON_WIRE));
	json_object_put(out);
	return text;
}

static void plan(struct fo_chat *c, json_object *body)
{
	const struct fo_config *cfg = c->srv->cfg;
	json_object *msgs = NULL, *v, *opts;
	const char *text = cfg->reply;

	if (json_object_object_get_ex(body, "messages", &msgs) &&
		!json_object_is_type(msgs, json_type_array))
		msgs = NULL;
	if (cfg->echo)
		text = content_of(last_message(msgs, "user"));
	fo_pieces_split(&c->content, text, cfg->tokens, &c->ncontent);
	if (cfg->think != NULL &&
		!(json_object_object_get_ex(body, "think", &v) &&
			json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v)))
		fo_pieces_split(&c->think, cfg->think, 0, &c->nthink);
	if (wants_tool_call(c, msgs))
		c->tool_json = tool_json_new(cfg);
	c->done_reason = "stop";
	if (json_object_object_get_ex(body, "options", &opts) &&
		json_object_object_get_ex(opts, "num_predict", &v) &&
		json_object_is_type(v, json_type_int) && json_object_get_int64(v) > 0 &&
		(size_t)json_object_get_int64(v) < c->ncontent) {
		c->ncontent = (size_t)json_object_get_int64(v);
		c->done_reason = "length";
	}
	c->prompt_eval_count = prompt_tokens(msgs);
}

void fo_chat_start(struct fo_server *srv, struct evhttp_request *req, json_object *body,
	struct fo_model *model, bool stream, enum fo_fault fault, double keep_s, long headers_ms)
{
	struct fo_chat *c = xcalloc(1, sizeof(*c));
	json_object *v;
	const char *sent = model->name;

	c->srv = srv;
	c->req = req;
	c->evcon = evhttp_request_get_connection(req);
	c->timer = evtimer_new(srv->base, on_timer, c);
	c->out = evbuffer_new();
	c->m = model;
	fo_model_use(model, keep_s);
	c->model = xstrdup(model->name);
	if (json_object_object_get_ex(body, "model", &v) &&
		json_object_is_type(v, json_type_string))
		sent = json_object_get_string(v); /* Ollama echoes the name as sent */
	c->model_json = fo_json_escape_new(sent, strlen(sent), NULL);
	c->stream = stream;
	c->fault = fault;
	clock_gettime(CLOCK_MONOTONIC, &c->t_start);
	c->t_first = c->t_start;
	TAILQ_INSERT_TAIL(&srv->chats, c, link);
	plan(c, body);
	evhttp_connection_set_closecb(c->evcon, on_close, c);
	watch_peer(c);
	if (srv->cfg->verbose)
		log_info("chat with %s: %zu lines%s%s", c->model, c->nthink + c->ncontent,
			stream ? "" : ", not streaming", fault != FO_FAULT_NONE ? ", fault " : "");
	if (fault == FO_FAULT_HANG)
		return; /* until the client gives up */
	if (headers_ms > 0)
		arm(c, (long long)headers_ms * 1000000LL, begin);
	else
		begin(c);
}

void fo_chat_free_all(struct fo_server *srv)
{
	struct fo_chat *c;

	while ((c = TAILQ_FIRST(&srv->chats)) != NULL)
		chat_free(c);
}
