/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * relay.c - see relay.h.  Main thread.
 *
 * Privacy: logs carry request ids, model names, sizes and timings; chat
 * content only when log_content is set.
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon.h"
#include "daemon/models.h"
#include "daemon/node.h"
#include "daemon/ollama.h"
#include "daemon/ollama-request.h"
#include "daemon/unload.h"
#include "daemon/relay.h"
#include "daemon/request-limits.h"
#include "jsonutil.h"
#include "log.h"
#include "proto.h"
#include "sanitize.h"
#include "utf8.h"
#include "validate.h"
#include "xmalloc.h"

struct relay {
	LIST_ENTRY(relay) next;
	struct daemon *d;
	uint64_t gen;
	char *rid;
	char *model;
	struct ollama_req *req;
	struct event *deadline; /* max_request_time */
	struct timespec t0;
	size_t chunks;
	size_t bytes;
	bool first;
};

static double since_ms(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1e3 + (now.tv_nsec - t0->tv_nsec) / 1e6;
}

size_t relay_count(const struct daemon *d)
{
	const struct relay *r;
	size_t n = 0;

	LIST_FOREACH(r, &d->relays, next)
	n++;
	return n;
}

static struct relay *find(struct daemon *d, const char *rid)
{
	struct relay *r;

	LIST_FOREACH(r, &d->relays, next)
	if (strcmp(r->rid, rid) == 0)
		return r;
	return NULL;
}

static void relay_free(struct relay *r)
{
	LIST_REMOVE(r, next);
	ollama_cancel(r->req);
	if (r->deadline)
		event_free(r->deadline);
	free(r->rid);
	free(r->model);
	free(r);
}

/* The request is over (ok or not): free it and tell the others. */
static void relay_end(struct relay *r, bool ok)
{
	struct daemon *d = r->d;

	if (ok)
		d->served++;
	else
		d->failed++;
	relay_free(r);
	daemon_changed(d, false);
	node_relay_done(d->node);
}

static void send_error(struct daemon *d, uint64_t gen, const char *rid, const char *error)
{
	node_send(d->node, gen, ic_msg_error_new(rid, error));
}

static void refuse(
	struct daemon *d, uint64_t gen, const char *rid, const char *error, const char *why)
{
	log_info("request %s refused (%s): %s", rid, error, why);
	send_error(d, gen, rid, error);
	d->failed++;
}

static int send_frame(struct relay *r, json_object *chunk)
{
	char *text = ic_msg_chunk_new(r->rid, chunk);
	size_t len = strlen(text);

	r->chunks++;
	r->bytes += len;
	return node_send(r->d->node, r->gen, text);
}

/* A chunk object {message:{role, field: text}, done:false}. */
static json_object *piece_new(const char *role, const char *field, const char *text, size_t len)
{
	json_object *c = json_object_new_object(), *m = json_object_new_object();

	json_object_object_add(m, "role", json_object_new_string(role));
	json_object_object_add(m, field, json_object_new_string_len(text, (int)len));
	json_object_object_add(c, "message", m);
	json_object_object_add(c, "done", json_object_new_boolean(0));
	return c;
}

static int send_text_pieces(struct relay *r, const char *role, const char *field, const char *text)
{
	size_t len = strlen(text), off = 0;

	while (off < len) {
		size_t n = ic_utf8_prefix_bytes(text + off, len - off, RELAY_PIECE_BYTES);
		json_object *c;
		int rc;

		if (n == 0)
			n = len - off < RELAY_PIECE_BYTES ? len - off : RELAY_PIECE_BYTES;
		c = piece_new(role, field, text + off, n);
		rc = send_frame(r, c);
		json_object_put(c);
		if (rc < 0)
			return -1;
		off += n;
	}
	return 0;
}

/*
 * A chunk whose frame would exceed IC_CHUNK_FRAME_MAX: thinking and
 * content go out in pieces, tool calls in a frame of their own (dropped,
 * with a warning, if even that is too large), and a final chunk carries
 * done and done_reason, so the end of a reply is never lost.
 */
static int send_split(struct relay *r, json_object *chunk)
{
	json_object *msg = NULL, *tools = NULL, *c, *m, *v;
	const char *role = "assistant", *s;
	bool done = false;
	int rc = 0;

	json_object_object_get_ex(chunk, "message", &msg);
	ic_json_get_bool(chunk, "done", &done);
	if (msg) {
		if ((s = ic_json_get_string(msg, "role")) != NULL)
			role = s;
		if ((s = ic_json_get_string(msg, "thinking")) != NULL)
			rc |= send_text_pieces(r, role, "thinking", s);
		if ((s = ic_json_get_string(msg, "content")) != NULL)
			rc |= send_text_pieces(r, role, "content", s);
		json_object_object_get_ex(msg, "tool_calls", &tools);
	}
	if (tools && rc == 0) {
		char *text;

		c = piece_new(role, "content", "", 0);
		json_object_object_get_ex(c, "message", &m);
		json_object_object_add(m, "tool_calls", json_object_get(tools));
		text = ic_msg_chunk_new(r->rid, c);
		if (strlen(text) <= IC_CHUNK_FRAME_MAX) {
			rc |= node_send(r->d->node, r->gen, text);
		} else {
			log_warn("request %s: tool calls of %zu bytes do not fit a frame; dropped",
				r->rid, strlen(text));
			free(text);
		}
		json_object_put(c);
	}
	if (done && rc == 0) {
		c = piece_new(role, "content", "", 0);
		json_object_object_add(c, "done", json_object_new_boolean(1));
		if (json_object_object_get_ex(chunk, "done_reason", &v))
			json_object_object_add(c, "done_reason", json_object_get(v));
		rc |= send_frame(r, c);
		json_object_put(c);
	}
	return rc ? -1 : 0;
}

static int send_chunk(struct relay *r, json_object *chunk)
{
	char *text = ic_msg_chunk_new(r->rid, chunk);
	size_t len = strlen(text);

	if (len <= IC_CHUNK_FRAME_MAX) {
		r->chunks++;
		r->bytes += len;
		return node_send(r->d->node, r->gen, text);
	}
	free(text);
	return send_split(r, chunk);
}

static void on_line(void *ctx, json_object *line)
{
	struct relay *r = ctx;
	json_object *chunk = ic_sanitize_chunk_new(line);
	bool done = false;
	int rc;

	if (!chunk)
		return;
	ic_json_get_bool(line, "done", &done);
	if (!r->first) {
		r->first = true;
		log_debug("request %s: first token after %.1f ms", r->rid, since_ms(&r->t0));
	}
	if (r->d->cfg->log_content)
		log_debug("request %s chunk: %s", r->rid,
			json_object_to_json_string_ext(chunk, IC_JSON_WIRE));
	rc = send_chunk(r, chunk);
	json_object_put(chunk);
	if (rc < 0) {
		log_warn("request %s: cannot send to the router; stopping it", r->rid);
		relay_end(r, false);
		return;
	}
	if (done) {
		log_info("request %s done: model %s, %zu chunks, %zu bytes, %.0f ms", r->rid,
			r->model, r->chunks, r->bytes, since_ms(&r->t0));
		relay_end(r, true);
	}
}

/*
 * What Ollama's answer means for the router (server/routes.go): no
 * connection, 404 (the model is gone), 503 (its queue is full) and 500
 * before any byte (the model could not load, e.g. the owner's game took
 * the GPU memory) are ollama_unavailable: the router fails over without
 * blaming the node; 400 is the request's fault; anything after the
 * stream began is ollama_error.
 */
static const char *error_of(struct relay *r, enum ollama_err err, int status)
{
	if (err == OLLAMA_UNAVAILABLE || status == 404 || status == 503 || status == 500) {
		if (err == OLLAMA_UNAVAILABLE || status == 404)
			models_refresh(r->d->models);
		return IC_ERR_OLLAMA_UNAVAILABLE;
	}
	if (status == 400)
		return IC_ERR_INVALID_REQUEST;
	return IC_ERR_OLLAMA_ERROR;
}

static void on_end(void *ctx, enum ollama_err err, const char *msg)
{
	struct relay *r = ctx;
	const char *error = error_of(r, err, ollama_status(r->req));

	r->req = NULL; /* ollama frees it */
	if (err == OLLAMA_OK)
		msg = "Ollama's reply ended without \"done\"";
	log_warn("request %s (model %s) failed after %.0f ms: %s", r->rid, r->model,
		since_ms(&r->t0), msg ? msg : ollama_err_name(err));
	send_error(r->d, r->gen, r->rid, error);
	relay_end(r, false);
}

static const struct ollama_chat_cb chat_cb = { on_line, on_end };

/* max_request_time ran out: stop Ollama (its connection closes) and tell
 * the router the request failed. */
static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;

	log_warn("request %s (model %s) cancelled: longer than max_request_time (%d s)", r->rid,
		r->model, r->d->cfg->max_request_time);
	send_error(r->d, r->gen, r->rid, IC_ERR_OLLAMA_ERROR);
	relay_end(r, false);
}

static void arm_deadline(struct relay *r)
{
	struct timeval tv = { r->d->cfg->max_request_time, 0 };

	r->deadline = evtimer_new(r->d->base, deadline_cb, r);
	evtimer_add(r->deadline, &tv);
}

/* obj's member key, or NULL when absent (or JSON null). */
static json_object *member_of(json_object *obj, const char *key)
{
	json_object *v = NULL;

	json_object_object_get_ex(obj, key, &v);
	return v;
}

/*
 * Checks that need nothing but the request; NULL if fine, else why.  What
 * is refused here never reaches Ollama: everything the sanitizer lets
 * through (messages, tools, format, options) is bounded first.
 */
static const char *check_params(struct daemon *d, json_object *params, char *err, size_t errlen)
{
	const char *model;
	json_object *messages;

	if (!params || !json_object_is_type(params, json_type_object))
		return "ollama_params is not an object";
	model = ic_json_get_string(params, "model");
	if (!model)
		return "model missing";
	if (!models_has(d->models, model))
		return "model not shared by this node";
	if (!json_object_object_get_ex(params, "messages", &messages))
		return "messages missing";
	if (ic_validate_messages(messages, &ic_node_msg_rules, err, errlen) < 0 ||
		ic_validate_tools(member_of(params, "tools"), err, errlen) < 0 ||
		ic_validate_format(member_of(params, "format"), err, errlen) < 0 ||
		ic_validate_options(member_of(params, "options"), err, errlen) < 0)
		return err;
	return NULL;
}

void relay_start(struct daemon *d, uint64_t gen, const char *rid, json_object *params)
{
	char err[IC_ERRBUF_MAX];
	const char *why;
	json_object *clean;
	struct relay *r;
	size_t len;
	char *body;

	if (d->stopping || !avail_is(&d->avail)) {
		refuse(d, gen, rid, IC_ERR_OLLAMA_UNAVAILABLE, avail_reason_text(&d->avail));
		return;
	}
	if (find(d, rid)) {
		refuse(d, gen, rid, IC_ERR_INVALID_REQUEST, "request id already in flight");
		return;
	}
	if (relay_count(d) >= (size_t)d->cfg->max_concurrent) {
		refuse(d, gen, rid, IC_ERR_OLLAMA_UNAVAILABLE, "max_concurrent requests in flight");
		return;
	}
	if ((why = check_params(d, params, err, sizeof(err))) != NULL) {
		refuse(d, gen, rid, IC_ERR_INVALID_REQUEST, why);
		return;
	}
	clean = ic_sanitize_request_new(params);
	if (!clean) {
		refuse(d, gen, rid, IC_ERR_INVALID_REQUEST, "ollama_params is not an object");
		return;
	}
	why = ollama_request_fix(
		d->cfg, models_caps(d->models, ic_json_get_string(params, "model")), clean);
	if (why) {
		json_object_put(clean);
		refuse(d, gen, rid, IC_ERR_INVALID_REQUEST, why);
		return;
	}
	json_object_object_add(clean, "stream", json_object_new_boolean(1));
	request_limits_apply(clean, d->cfg);
	body = ic_json_to_string_new(clean, &len);
	json_object_put(clean);

	r = xcalloc(1, sizeof(*r));
	r->d = d;
	r->gen = gen;
	r->rid = xstrdup(rid);
	r->model = xstrdup(ic_json_get_string(params, "model"));
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	LIST_INSERT_HEAD(&d->relays, r, next);
	log_info("request %s: model %s, %zu bytes", rid, r->model, len);
	if (d->cfg->log_content)
		log_debug("request %s body: %s", rid, body);
	arm_deadline(r);
	unload_note_lent(d->unload, r->model);
	r->req = ollama_chat(d->ollama, body, len, &chat_cb, r); /* reports from the loop */
	free(body);
	daemon_changed(d, false);
}

void relay_cancel(struct daemon *d, const char *rid)
{
	struct relay *r = rid ? find(d, rid) : NULL;

	if (!r)
		return;
	log_info("request %s cancelled after %.0f ms", rid, since_ms(&r->t0));
	relay_end(r, false);
}

void relay_cancel_session(struct daemon *d, uint64_t gen)
{
	struct relay *r, *tmp;

	for (r = LIST_FIRST(&d->relays); r; r = tmp) {
		tmp = LIST_NEXT(r, next);
		if (r->gen == gen) {
			log_info("request %s dropped: the router connection ended", r->rid);
			relay_end(r, false);
		}
	}
}

void relay_cancel_all(struct daemon *d)
{
	struct relay *r;

	while ((r = LIST_FIRST(&d->relays)) != NULL) {
		log_info("request %s dropped", r->rid);
		relay_end(r, false);
	}
}

void relay_fail_all(struct daemon *d)
{
	relay_stop_all(d, "the node is shutting down");
}

void relay_stop_all(struct daemon *d, const char *why)
{
	struct relay *r;

	while ((r = LIST_FIRST(&d->relays)) != NULL) {
		log_info("request %s stopped: %s", r->rid, why);
		send_error(d, r->gen, r->rid, IC_ERR_OLLAMA_UNAVAILABLE);
		relay_end(r, false);
	}
}
