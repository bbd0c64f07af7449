/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * gateway.c - the local Ollama/OpenAI endpoint (see gateway.h).  Main
 * thread.
 *
 * One struct gw_req for each request that waits on the network (a chat,
 * or a read of the network's models); every other request is answered at
 * once.  A gw_req ends in exactly one of three ways, each of which frees
 * it first and only then touches evhttp, because evhttp frees the request
 * (and may free the connection) once a reply is complete:
 *   finish()  the answer is complete: detach, free, then the last write;
 *   drop()    the client is gone or too slow: cancel upstream, detach,
 *             free, then close the connection;
 *   on_conn_closed()  evhttp closed the connection itself (a write failed
 *             or timed out): cancel upstream and free.
 * evhttp 2.1 does not watch a connection while its handler has not
 * answered, so an EV_CLOSED event on the socket notices a client that
 * hangs up while its chat is still thinking; that cancels the chat
 * upstream at once (the router then cancels it at the node, and the node
 * closes its Ollama connection).
 *
 * The consume path calls sink_event()/sink_end() from inside its own
 * frames: those may free the gw_req but must not free the chat (they call
 * consume_sink_stop(), which defers).
 *
 * Privacy: content is never logged.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "ctlproto.h"
#include "daemon/consume.h"
#include "daemon/daemon.h"
#include "daemon/gateway-api.h"
#include "daemon/gateway-conn.h"
#include "daemon/gateway.h"
#include "jsonutil.h"
#include "log.h"
#include "xmalloc.h"

#define OLLAMA (&gw_ollama_dialect)
#define OPENAI (&gw_openai_dialect)

/* A growing text with a bound (stream:false answers); it doubles, so
 * thousands of small pieces cost no more than one copy each. */
struct gw_text {
	char *s;
	size_t len, cap;
};

struct gw_req {
	LIST_ENTRY(gw_req) next;
	struct gateway *gw;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct gw_conn *conn;	 /* NULL once the connection is gone */
	struct event *closed_ev; /* EV_CLOSED on the client's socket */
	const struct gw_dialect *dl;
	bool is_chat;
	bool stream;
	bool started;	      /* the stream's headers are out */
	char *model;	      /* chats; the model asked about for show/model */
	struct consume *chat; /* the chat on the consume path */
	struct consume *get;  /* the read of /api/models */
	struct gw_answer a;   /* what the dialect's writers need */
	char *finish_reason;
	char *error; /* the network's in-band error, if any */
	struct gw_text content, thinking;
	bool too_big;
};

struct gateway {
	struct daemon *d;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct gw_conns *conns; /* caps, deadlines (gateway-conn.h) */
	char *address;
	bool allow_remote; /* as at start, like the address */
	LIST_HEAD(, gw_req) reqs;
	size_t streams;
	uint64_t serial;
};

/* ---- replies ---- */

static void cors_headers(struct gateway *g, struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	const char *origin = evhttp_find_header(in, "Origin");

	if (!origin || !gw_cors_allowed(g->d->cfg->gateway_cors_origins, origin))
		return;
	evhttp_add_header(out, "Access-Control-Allow-Origin", origin);
	evhttp_add_header(out, "Vary", "Origin");
}

/* evhttp 2.1 would send a HEAD reply's body: give only its length. */
static void send_body(struct evhttp_request *req, int status, struct evbuffer *buf)
{
	char cl[24];

	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		evhttp_send_reply(req, status, NULL, buf);
		return;
	}
	snprintf(cl, sizeof(cl), "%zu", evbuffer_get_length(buf));
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", cl);
	evhttp_send_reply(req, status, NULL, NULL);
}

static void send_json(struct gateway *g, struct evhttp_request *req, int status, json_object *body)
{
	struct evbuffer *buf = evbuffer_new();
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	size_t len;
	const char *text = json_object_to_json_string_length(body, IC_JSON_WIRE, &len);

	evhttp_add_header(out, "Content-Type", "application/json; charset=utf-8");
	if (status == 429 || status == 503) {
		char ra[16];

		snprintf(ra, sizeof(ra), "%d", GATEWAY_RETRY_AFTER_S);
		evhttp_add_header(out, "Retry-After", ra);
	}
	cors_headers(g, req);
	evbuffer_add(buf, text, len);
	evbuffer_add(buf, "\n", 1);
	send_body(req, status, buf);
	evbuffer_free(buf);
}

/* An error in the dialect of the path. */
static void send_error(struct gateway *g, struct evhttp_request *req, const struct gw_dialect *dl,
	int status, const char *msg)
{
	json_object *b = dl->error_new(status, msg);

	send_json(g, req, status, b);
	json_object_put(b);
}

/* ---- the life of a gw_req ---- */

static void on_client_hangup(evutil_socket_t fd, short what, void *arg);

static struct gw_req *req_new(
	struct gateway *g, struct evhttp_request *req, const struct gw_dialect *dl, bool is_chat)
{
	struct gw_req *r = xcalloc(1, sizeof(*r));
	struct bufferevent *bev;

	r->gw = g;
	r->req = req;
	r->evcon = evhttp_request_get_connection(req);
	r->dl = dl;
	r->is_chat = is_chat;
	clock_gettime(CLOCK_MONOTONIC, &r->a.t0);
	r->a.created = time(NULL);
	snprintf(r->a.id, sizeof(r->a.id), "chatcmpl-%08llx%04llx",
		(unsigned long long)r->a.created, (unsigned long long)(++g->serial & 0xffff));
	r->conn = gw_conn_find(g->conns, r->evcon);
	gw_conn_set_req(r->conn, r);
	bev = evhttp_connection_get_bufferevent(r->evcon);
	if (bev && (event_base_get_features(g->d->base) & EV_FEATURE_EARLY_CLOSE)) {
		r->closed_ev = event_new(
			g->d->base, bufferevent_getfd(bev), EV_CLOSED, on_client_hangup, r);
		event_add(r->closed_ev, NULL);
	}
	if (is_chat)
		g->streams++;
	LIST_INSERT_HEAD(&g->reqs, r, next);
	return r;
}

/* Forget r on our side: no callback of evhttp or consume reaches it after. */
static void req_free(struct gw_req *r)
{
	LIST_REMOVE(r, next);
	if (r->is_chat)
		r->gw->streams--;
	gw_conn_set_req(r->conn, NULL);
	if (r->closed_ev)
		event_free(r->closed_ev);
	free(r->model);
	free(r->finish_reason);
	free(r->error);
	free(r->content.s);
	free(r->thinking.s);
	free(r);
}

/* Stop what r waits for upstream (safe inside consume's calls). */
static void req_cancel_upstream(struct gw_req *r)
{
	struct daemon *d = r->gw->d;

	if (r->chat) {
		consume_sink_stop(d, r->chat);
		r->chat = NULL;
	}
	if (r->get) {
		consume_get_cancel(d, r->get);
		r->get = NULL;
	}
}

/* The client went away or cannot keep up: cancel, free, close. */
static void drop(struct gw_req *r, const char *why)
{
	struct evhttp_connection *evcon = r->evcon;

	log_info("gateway: %s; request dropped", why);
	req_cancel_upstream(r);
	req_free(r);
	evhttp_connection_free(evcon);
}

/*
 * evhttp is freeing the connection (gateway-conn.c calls with the request
 * attached to it, the connection itself already forgotten).  A request
 * whose reply was under way (a stream) has been detached from it first
 * and is ours to free: evhttp 2.1 leaves it for a final
 * evhttp_send_reply_end() that will not come.
 */
static void on_conn_closed(void *arg, void *req_arg)
{
	struct gw_req *r = req_arg;
	struct evhttp_request *req = r->req;

	(void)arg;
	log_info("gateway: the client's connection closed; request dropped");
	req_cancel_upstream(r);
	r->evcon = NULL;
	r->conn = NULL;
	req_free(r);
	if (evhttp_request_get_connection(req) == NULL)
		evhttp_request_free(req);
}

static void on_client_hangup(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	drop(arg, "the client hung up");
}

/* The whole answer: free r, then reply (evhttp owns req from here). */
static void finish_json(struct gw_req *r, int status, json_object *body)
{
	struct gateway *g = r->gw;
	struct evhttp_request *req = r->req;
	struct gw_conn *conn = r->conn;

	req_free(r);
	gw_conn_answered(conn);
	send_json(g, req, status, body);
}

static void finish_error(struct gw_req *r, int status, const char *msg)
{
	json_object *b = r->dl->error_new(status, msg);

	finish_json(r, status, b);
	json_object_put(b);
}

/* ---- streaming ---- */

static void stream_begin(struct gw_req *r)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);

	if (r->started)
		return;
	r->started = true;
	evhttp_add_header(out, "Content-Type", r->dl->stream_type);
	if (r->dl->cache_control)
		evhttp_add_header(out, "Cache-Control", r->dl->cache_control);
	cors_headers(r->gw, r->req);
	evhttp_send_reply_start(r->req, 200, "OK");
}

/* payload (len bytes) framed as the dialect frames one object. */
static void stream_send(struct gw_req *r, const char *payload, size_t len)
{
	struct evbuffer *buf = evbuffer_new();
	size_t n;
	char *framed = r->dl->frame_new(payload, len, &n);

	evbuffer_add(buf, framed, n);
	free(framed);
	evhttp_send_reply_chunk(r->req, buf);
	evbuffer_free(buf);
}

/* One NDJSON line or SSE event.  -1 if the client is too slow (then r is
 * dropped and freed). */
static int stream_write(struct gw_req *r, json_object *obj)
{
	struct bufferevent *bev;
	size_t len;
	const char *text = json_object_to_json_string_length(obj, IC_JSON_WIRE, &len);

	stream_begin(r);
	stream_send(r, text, len);
	bev = evhttp_connection_get_bufferevent(r->evcon);
	if (bev && evbuffer_get_length(bufferevent_get_output(bev)) > GATEWAY_OUTBUF_MAX) {
		drop(r, "a client did not read its stream fast enough");
		return -1;
	}
	return 0;
}

static void stream_end(struct gw_req *r)
{
	struct evhttp_request *req = r->req;
	struct gw_conn *conn = r->conn;

	if (r->dl->end_payload)
		stream_send(r, r->dl->end_payload, strlen(r->dl->end_payload));
	req_free(r);
	gw_conn_answered(conn); /* evhttp may free the connection at once */
	evhttp_send_reply_end(req);
}

/* ---- the chat's events (from consume.c) ---- */

static void text_add(struct gw_req *r, struct gw_text *t, const char *s)
{
	size_t n = strlen(s);

	if (r->content.len + r->thinking.len + n > GATEWAY_ANSWER_MAX) {
		r->too_big = true;
		return;
	}
	if (t->len + n + 1 > t->cap) {
		t->cap = t->cap ? t->cap : 256;
		while (t->len + n + 1 > t->cap)
			t->cap *= 2;
		t->s = xrealloc(t->s, t->cap);
	}
	memcpy(t->s + t->len, s, n + 1);
	t->len += n;
}

static void sink_event(void *ctx, enum ctl_event ev, const char *text)
{
	struct gw_req *r = ctx;
	json_object *o;
	bool thinking = ev == CTL_EV_THINKING;

	switch (ev) {
	case CTL_EV_CONTENT:
	case CTL_EV_THINKING:
		if (!r->stream) {
			text_add(r, thinking ? &r->thinking : &r->content, text);
			return;
		}
		o = r->dl->delta_new(&r->a, thinking ? NULL : text, thinking ? text : NULL);
		stream_write(r, o); /* may drop r */
		json_object_put(o);
		return;
	case CTL_EV_ERROR:
		if (!r->error)
			r->error = xstrdup(text);
		return;
	case CTL_EV_DONE:
		free(r->finish_reason);
		r->finish_reason = xstrdup(text);
		return;
	default:
		return;
	}
}

/* The network's own tool progress: not these clients' tools. */
static void sink_tool(void *ctx, const char *name, const char *status, const char *reason)
{
	(void)ctx;
	(void)name;
	(void)status;
	(void)reason;
}

static void end_ok(struct gw_req *r)
{
	const char *fr = r->finish_reason ? r->finish_reason : "stop";
	json_object *o = r->dl->final_new(&r->a, r->stream, r->content.s, r->thinking.s, fr);

	if (!r->stream)
		finish_json(r, 200, o);
	else if (stream_write(r, o) == 0)
		stream_end(r);
	json_object_put(o);
}

static void sink_end(void *ctx, enum ctl_status st, const char *detail)
{
	struct gw_req *r = ctx;
	int status = gw_http_status(st);
	const char *msg;
	json_object *o;

	r->chat = NULL; /* consume frees it after this call */
	if (st == CTL_ST_OK && r->too_big) {
		st = CTL_ST_FAILED;
		status = 502;
		detail = "the answer is larger than the gateway holds for stream:false; "
			 "ask with stream:true";
	}
	if (st == CTL_ST_OK && !r->error) {
		end_ok(r);
		return;
	}
	msg = r->error ? r->error : detail ? detail : ctl_status_message(st);
	log_info("gateway: chat ended: %s", ctl_status_name(st));
	if (!r->started) {
		finish_error(r, status == 200 ? 502 : status, msg);
		return;
	}
	o = r->dl->error_new(status, msg);
	if (stream_write(r, o) == 0)
		stream_end(r);
	json_object_put(o);
}

static const struct consume_sink gw_sink = { sink_event, sink_tool, sink_end };

/* ---- requests ---- */

/* The request body as text, or NULL after answering 413. */
static const char *body_of(
	struct gateway *g, struct evhttp_request *req, const struct gw_dialect *dl, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	char msg[128];

	*len = evbuffer_get_length(in);
	if (*len > GATEWAY_BODY_MAX) {
		snprintf(msg, sizeof(msg), "the request body is larger than %d bytes",
			GATEWAY_BODY_MAX);
		send_error(g, req, dl, 413, msg);
		return NULL;
	}
	return *len ? (const char *)evbuffer_pullup(in, -1) : "";
}

struct route;
typedef void route_fn(struct gateway *g, struct evhttp_request *req, const struct route *rt);

/* One path: its methods, its handler, the dialect of its answers. */
struct route {
	const char *path;
	int methods; /* EVHTTP_REQ_* */
	route_fn *fn;
	const struct gw_dialect *dl;
	bool generate; /* chats: Ollama's /api/generate */
};

static void do_chat(struct gateway *g, struct evhttp_request *req, const struct route *rt)
{
	const struct gw_dialect *dl = rt->dl;
	char err[IC_ERRBUF_MAX], msg[IC_ERRBUF_MAX];
	struct gw_chat c;
	struct gw_req *r;
	struct consume *cons;
	const char *body;
	json_object *o;
	size_t len;
	int rc;

	body = body_of(g, req, dl, &len);
	if (!body)
		return;
	rc = dl->parse(body, len, rt->generate, &c, err, sizeof(err));
	if (rc != 0) {
		send_error(g, req, dl, rc, err);
		return;
	}
	if (c.load_only) { /* Ollama's: one object, whatever "stream" says */
		o = gw_ollama_load_new(c.model, rt->generate);
		send_json(g, req, 200, o);
		json_object_put(o);
		gw_chat_clear(&c);
		return;
	}
	if (g->d->stopping) {
		send_error(g, req, dl, 503, "the IdleClaw daemon is stopping");
		gw_chat_clear(&c);
		return;
	}
	if (g->streams >= (size_t)g->d->cfg->gateway_max_streams) {
		snprintf(msg, sizeof(msg),
			"too many chats through the gateway at once "
			"([gateway] max_streams = %d); try again in a few seconds",
			g->d->cfg->gateway_max_streams);
		send_error(g, req, dl, 429, msg);
		gw_chat_clear(&c);
		return;
	}
	r = req_new(g, req, dl, true);
	r->stream = c.stream;
	r->model = c.model;
	r->a.model = r->model;
	r->a.generate = rt->generate;
	c.model = NULL;
	cons = consume_chat_sink(g->d, c.args, &gw_sink, r);
	if (cons) /* else sink_end() ran and r is gone */
		r->chat = cons;
	gw_chat_clear(&c);
}

/* The network's models as r's dialect lists them, or the one r asks about. */
static void models_cb(void *ctx, int status, json_object *body, const char *err)
{
	struct gw_req *r = ctx;
	json_object *names = status == 200 ? gw_model_names_new(body) : NULL, *o;
	char msg[IC_ERRBUF_MAX];

	r->get = NULL; /* consume frees it after this call */
	if (!names) {
		snprintf(msg, sizeof(msg), "cannot read the network's models: %s",
			err		 ? err
				: status ? "the router answered with an error"
					 : "no answer");
		finish_error(r, 503, msg);
		return;
	}
	if (r->model && !gw_names_has(names, r->model)) {
		snprintf(msg, sizeof(msg),
			"model '%s' not found: no node of the IdleClaw "
			"network shares it now",
			r->model);
		json_object_put(names);
		finish_error(r, 404, msg);
		return;
	}
	o = r->model ? r->dl->model_new(r->model) : r->dl->list_new(names);
	json_object_put(names);
	finish_json(r, 200, o);
	json_object_put(o);
}

/* model NULL: the list; else that model's object. */
static void do_models(struct gateway *g, struct evhttp_request *req, const struct gw_dialect *dl,
	const char *model)
{
	struct gw_req *r = req_new(g, req, dl, false);

	r->model = model ? xstrdup(model) : NULL;
	r->get = consume_get(g->d, "/api/models", models_cb, r);
}

static void do_list(struct gateway *g, struct evhttp_request *req, const struct route *rt)
{
	do_models(g, req, rt->dl, NULL);
}

static void do_show(struct gateway *g, struct evhttp_request *req, const struct route *rt)
{
	size_t len;
	const char *body = body_of(g, req, rt->dl, &len);
	json_object *j;
	const char *model;

	if (!body)
		return;
	j = ic_json_parse_new(body, len);
	model = ic_json_get_string(j, "model");
	if (!model || !*model)
		model = ic_json_get_string(j, "name");
	if (!model || !*model)
		send_error(g, req, rt->dl, 400, "model is required");
	else
		do_models(g, req, rt->dl, model);
	json_object_put(j);
}

static void reply_text(struct gateway *g, struct evhttp_request *req, const char *text)
{
	struct evbuffer *buf = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
		"text/plain; charset=utf-8");
	cors_headers(g, req);
	evbuffer_add(buf, text, strlen(text));
	send_body(req, 200, buf);
	evbuffer_free(buf);
}

static void do_root(struct gateway *g, struct evhttp_request *req, const struct route *rt)
{
	(void)rt;
	reply_text(g, req, "Ollama is running");
}

static void reply_object(struct gateway *g, struct evhttp_request *req, json_object *o)
{
	send_json(g, req, 200, o);
	json_object_put(o);
}

static void do_version(struct gateway *g, struct evhttp_request *req, const struct route *rt)
{
	(void)rt;
	reply_object(g, req, gw_ollama_version_new());
}

static void do_ps(struct gateway *g, struct evhttp_request *req, const struct route *rt)
{
	(void)rt;
	reply_object(g, req, gw_ollama_ps_new());
}

static void preflight(struct gateway *g, struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	const char *origin = evhttp_find_header(in, "Origin");
	const char *hdrs = evhttp_find_header(in, "Access-Control-Request-Headers");

	if (!origin || !gw_cors_allowed(g->d->cfg->gateway_cors_origins, origin)) {
		send_error(g, req, OLLAMA, 403,
			"this origin may not call the gateway: add it to "
			"[gateway] cors_origins");
		return;
	}
	cors_headers(g, req);
	evhttp_add_header(out, "Access-Control-Allow-Methods", "GET, POST, HEAD, OPTIONS");
	evhttp_add_header(out, "Access-Control-Allow-Headers",
		hdrs && strlen(hdrs) < 512 ? hdrs : "Authorization, Content-Type");
	evhttp_add_header(out, "Access-Control-Max-Age", "600");
	evhttp_send_reply(req, 204, "No Content", NULL);
}

#define GET_HEAD (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD)

static const struct route routes[] = {
	{ "/", GET_HEAD, do_root, OLLAMA, false },
	{ "/api/version", GET_HEAD, do_version, OLLAMA, false },
	{ "/api/tags", GET_HEAD, do_list, OLLAMA, false },
	{ "/api/chat", EVHTTP_REQ_POST, do_chat, OLLAMA, false },
	{ "/api/generate", EVHTTP_REQ_POST, do_chat, OLLAMA, true },
	{ "/api/show", EVHTTP_REQ_POST, do_show, OLLAMA, false },
	{ "/v1/models", EVHTTP_REQ_GET, do_list, OPENAI, false },
	{ "/v1/chat/completions", EVHTTP_REQ_POST, do_chat, OPENAI, false },
	{ "/api/ps", GET_HEAD, do_ps, OLLAMA, false },
};

static void serve(struct gateway *g, struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	char *path = raw ? evhttp_uridecode(raw, 0, NULL) : NULL;
	const struct gw_dialect *dl = path && strncmp(path, "/v1/", 4) == 0 ? OPENAI : OLLAMA;
	const char *why;
	size_t i;

	why = gw_request_refused(g->d->cfg->gateway_cors_origins, g->allow_remote,
		evhttp_find_header(in, "Origin"), evhttp_find_header(in, "Host"));
	if (why) {
		log_info("gateway: a request refused for its Origin or Host header");
		send_error(g, req, dl, 403, why);
		free(path);
		return;
	}
	if (!path || !*path) {
		send_error(g, req, OLLAMA, 400, "the request has no path");
		free(path);
		return;
	}
	if (method == EVHTTP_REQ_OPTIONS) {
		preflight(g, req);
		free(path);
		return;
	}
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(path, routes[i].path) != 0)
			continue;
		if (!(routes[i].methods & (int)method)) {
			evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
				routes[i].methods & EVHTTP_REQ_POST ? "POST" : "GET, HEAD");
			send_error(g, req, dl, 405, "method not allowed on this path");
		} else {
			routes[i].fn(g, req, &routes[i]);
		}
		free(path);
		return;
	}
	if (strncmp(path, "/v1/models/", 11) == 0 && path[11] && method == EVHTTP_REQ_GET)
		do_models(g, req, OPENAI, path + 11);
	else if ((why = gw_ollama_unsupported(path)) != NULL)
		send_error(g, req, OLLAMA, 501, why);
	else
		send_error(g, req, dl, 404, dl->unknown_path);
	free(path);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct gateway *g = arg;
	struct gw_conn *conn = gw_conn_find(g->conns, evhttp_request_get_connection(req));

	gw_conn_request(conn);
	serve(g, req);
	/* conn outlives serve(): evhttp writes an answer from the loop, and
	 * nothing in serve() drops a connection.  A request that waits on the
	 * network starts the next deadline when it is answered. */
	if (!gw_conn_req(conn))
		gw_conn_answered(conn);
}

/* ---- start and stop ---- */

static void conn_limits(void *arg, struct gw_conn_limits *out)
{
	const struct gateway *g = arg;
	const struct daemon_config *cfg = g->d->cfg;

	out->max = cfg->gateway_max_conns;
	/* TCP names no user: on loopback every client is 127.0.0.1 */
	out->per_ip = g->allow_remote ? cfg->gateway_conns_per_ip : 0;
	out->timeout_s = cfg->gateway_request_timeout;
}

static const struct gw_conns_ops conn_ops = { conn_limits, on_conn_closed };

int gateway_start(struct daemon *d, char *err, size_t errlen)
{
	const struct daemon_config *cfg = d->cfg;
	char host[64];
	int port;
	struct gateway *g;

	d->gateway = NULL;
	if (!cfg->gateway_listen || !*cfg->gateway_listen)
		return 0;
	if (gw_listen_parse(cfg->gateway_listen, cfg->gateway_allow_remote, host, sizeof(host),
		    &port, err, errlen) < 0)
		return -1;
	g = xcalloc(1, sizeof(*g));
	g->d = d;
	LIST_INIT(&g->reqs);
	g->http = evhttp_new(d->base);
	evhttp_set_max_body_size(g->http, 2 * GATEWAY_BODY_MAX);
	evhttp_set_max_headers_size(g->http, GATEWAY_HEADERS_MAX);
	evhttp_set_timeout(g->http, GATEWAY_IO_TIMEOUT_S);
	evhttp_set_allowed_methods(
		g->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(g->http, on_request, g);
	g->bound = evhttp_bind_socket_with_handle(g->http, host, (ev_uint16_t)port);
	if (!g->bound) {
		snprintf(err, errlen, "[gateway] listen %s: cannot listen there (in use?)",
			cfg->gateway_listen);
		evhttp_free(g->http);
		free(g);
		return -1;
	}
	g->address = xstrdup(cfg->gateway_listen);
	g->allow_remote = cfg->gateway_allow_remote;
	g->conns = gw_conns_new(d->base, g->http, g->bound, &conn_ops, g);
	d->gateway = g;
	if (strcmp(host, "127.0.0.1") != 0 && strcmp(host, "::1") != 0 &&
		strncmp(host, "127.", 4) != 0)
		log_warn("gateway: listening on %s, reachable from other hosts and without "
			 "authentication ([gateway] allow_remote)",
			g->address);
	else
		log_notice("gateway: Ollama and OpenAI API on http://%s", g->address);
	return 0;
}

void gateway_stop_listening(struct gateway *g)
{
	if (!g || !g->bound)
		return;
	gw_conns_unlisten(g->conns);
	evhttp_del_accept_socket(g->http, g->bound);
	g->bound = NULL;
}

void gateway_free(struct gateway *g)
{
	struct gw_req *r;

	if (!g)
		return;
	while ((r = LIST_FIRST(&g->reqs)) != NULL) {
		req_cancel_upstream(r);
		req_free(r);
	}
	gw_conns_free(g->conns);
	evhttp_free(g->http);
	free(g->address);
	free(g);
}

const char *gateway_address(const struct gateway *g)
{
	return g ? g->address : NULL;
}

size_t gateway_streams(const struct gateway *g)
{
	return g ? g->streams : 0;
}
