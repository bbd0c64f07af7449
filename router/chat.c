/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* chat.c - one consumer request from validation to [DONE] (see chat.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <sys/socket.h>

#include "chat.h"
#include "chat-tools.h"
#include "chunkparse.h"
#include "ipcount.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/log.h"
#include "nodes.h"
#include "policy.h"
#include "common/outfilter.h"
#include "prompt.h"
#include "common/proto.h"
#include "sched.h"
#include "server.h"
#include "common/sse.h"
#include "trust.h"
#include "sseout.h"
#include "common/validate.h"
#include "common/xmalloc.h"
#include "tools.h"
#include "xchat.h"

static const char sse_done[] = "data: " IC_SSE_DONE "\n\n";

static void random_hex(char *out, size_t nbytes)
{
	unsigned char raw[32];
	static const char hex[] = "0123456789abcdef";

	if (nbytes > sizeof(raw))
		nbytes = sizeof(raw);
	if (getrandom(raw, nbytes, 0) != (ssize_t)nbytes) {
		/* only if the kernel has no entropy interface: ids need not be secret */
		uint64_t t = (uint64_t)router_now_us();

		for (size_t i = 0; i < nbytes; i++)
			raw[i] = (unsigned char)(t >> ((i % 8) * 8)) ^ (unsigned char)i;
	}
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * nbytes] = '\0';
}

/* --- output --- */

static void consumer_drop(struct chat *c, const char *why);

/* Bytes were added to c->out: bound it, or have them written.  Once the
 * body may go straight to the socket (c->body_direct), the chat joins
 * r->out_pending and chat_flush_pending() writes it at the loop's turn:
 * all the chunks a consumer got in one turn in one send(), and no
 * writeable request, which on the epoll loop costs epoll_ctl() calls both
 * ways, more than the write itself. */
static void out_added(struct chat *c)
{
	if (buf_used(&c->out) > (size_t)c->r->cfg->stream_buffer) {
		consumer_drop(c, "consumer too slow");
		return;
	}
	if (c->body_direct) {
		if (lws_dll2_is_detached(&c->flush_link))
			lws_dll2_add_tail(&c->flush_link, &c->r->out_pending);
		/* libuv handles up to 48 x 1024 socket events before the loop's
		 * check phase: do not hold output for all of them */
		if (c->r->out_pending.count >= ROUTER_FLUSH_BATCH)
			chat_flush_pending(c->r);
		return;
	}
	lws_callback_on_writable(c->wsi);
}

/* Send what the socket takes of c->out; the rest, and the close after
 * [DONE], wait for chat_writeable().  The body bypasses lws_write(): lws
 * would copy what the socket does not take into a buffer of its own, which
 * only a poll() per write (lws_send_pipe_choked()) could tell.  Safe
 * because lws holds no bytes of this connection once it has called the
 * writeable callback after the headers (c->body_direct), and an SSE body
 * has no framing of lws's.  0, or -1 if the connection failed. */
static int body_send(struct chat *c)
{
	size_t n = buf_used(&c->out);
	ssize_t w = 0;

	if (n) {
		w = send(lws_get_socket_fd(c->wsi), buf_head(&c->out), n,
			MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (w > 0)
			buf_consume(&c->out, (size_t)w);
	}
	if (buf_used(&c->out) || c->finished)
		lws_callback_on_writable(c->wsi);
	return 0;
}

static void flush_one(struct chat *c)
{
	if (!c->dead && body_send(c) < 0)
		consumer_drop(c, "write failed");
}

void chat_flush_pending(struct router *r)
{
	while (r->out_pending.head) {
		struct chat *c = lws_container_of(r->out_pending.head, struct chat, flush_link);

		lws_dll2_remove(&c->flush_link);
		flush_one(c);
	}
}

static void out_append(struct chat *c, const char *data, size_t len)
{
	if (c->dead)
		return;
	buf_append(&c->out, data, len);
	out_added(c);
}

/* One OpenAI-style chunk: delta (taken over, may be NULL for {}),
 * finish_reason (or NULL), error member (taken over, or NULL). */
static void emit(struct chat *c, json_object *delta, const char *finish, json_object *error)
{
	json_object *o = json_object_new_object();
	json_object *choices = json_object_new_array();
	json_object *choice = json_object_new_object();
	char *text, *event;
	size_t len, elen;

	json_object_object_add(choice, "delta", delta ? delta : json_object_new_object());
	json_object_object_add(choice, "index", json_object_new_int(0));
	if (finish)
		json_object_object_add(choice, "finish_reason", json_object_new_string(finish));
	json_object_array_add(choices, choice);
	json_object_object_add(o, "id", json_object_new_string(c->id));
	json_object_object_add(o, "object", json_object_new_string("chat.completion.chunk"));
	json_object_object_add(o, "model", json_object_new_string(c->model));
	json_object_object_add(o, "choices", choices);
	if (error)
		json_object_object_add(o, "error", error);
	text = ic_json_to_string_new(o, &len);
	json_object_put(o);
	event = ic_sse_data_new(text, len, &elen);
	free(text);
	out_append(c, event, elen);
	free(event);
}

/* The bytes of content text (len bytes of UTF-8) that max_reply_chars
 * lets through: all of them, or those before the limit, which then sets
 * c->reply_over (the caller ends the chat: reply_cut()). */
static size_t reply_budget(struct chat *c, const char *text, size_t len)
{
	size_t max = (size_t)c->r->cfg->max_reply_chars, n = 0;

	if (max == 0)
		return len;
	while (n < len) {
		if (c->reply_chars >= max) {
			c->reply_over = true;
			break;
		}
		n++; /* one code point: its lead byte and continuation bytes */
		while (n < len && ((unsigned char)text[n] & 0xC0) == 0x80)
			n++;
		c->reply_chars++;
	}
	return n;
}

/* What emit() would write for a delta {"content":text[,"reasoning":true]},
 * built from the chat's prefix (sseout.h): the common case, kept cheap.
 * Content counts against max_reply_chars; thinking does not. */
static void emit_text(struct chat *c, const char *text, size_t len, bool reasoning)
{
	if (!reasoning && c->reply_over)
		return;
	if (!reasoning)
		len = reply_budget(c, text, len);
	if (len == 0 || c->dead)
		return;
	sseout_text(&c->out, c->prefix, c->prefix_len, text, len, reasoning);
	out_added(c);
}

static void filter_feed(
	struct chat *c, struct ic_outfilter *f, const char *text, size_t len, bool reasoning)
{
	size_t n;
	char *safe = ic_outfilter_feed_new(f, text, len, &n);

	c->filter_in += len;
	c->filter_out += n;
	emit_text(c, safe, n, reasoning);
	free(safe);
}

static void filters_finish(struct chat *c)
{
	size_t n;
	char *rest;

	if (c->filter_thinking) {
		rest = ic_outfilter_finish_new(c->filter_thinking, &n);
		c->filter_out += n;
		emit_text(c, rest, n, true);
		free(rest);
		ic_outfilter_free(c->filter_thinking);
		c->filter_thinking = NULL;
	}
	if (c->filter_content) {
		rest = ic_outfilter_finish_new(c->filter_content, &n);
		c->filter_out += n;
		emit_text(c, rest, n, false);
		free(rest);
		ic_outfilter_free(c->filter_content);
		c->filter_content = NULL;
	}
}

static void cancel_at_node(struct chat *c)
{
	if (c->node)
		node_send(c->node, ic_msg_cancel_new(c->request_id));
}

/* The stream's end: [DONE], timers off, node slot freed. */
static void finish(struct chat *c)
{
	out_append(c, sse_done, sizeof(sse_done) - 1);
	c->finished = true;
	tq_cancel(&c->chunk_timer);
	tq_cancel(&c->ping_timer);
	tq_cancel(&c->reply_timer);
	sched_detach(c);
}

/* The reply reached max_reply_chars or reply_timeout: the node stops, the
 * consumer gets finish_reason "length" and [DONE] (the public server only
 * ends the stream). */
static void reply_cut(struct chat *c, const char *why)
{
	log_info("chat %s: %s reached, reply cut", c->request_id, why);
	c->r->stats.replies_cut++;
	cancel_at_node(c);
	emit(c, NULL, "length", NULL);
	finish(c);
}

/* In-band error after the stream began: text for old consumers, an error
 * member and finish_reason "error" for ours. */
static void end_error(struct chat *c, const char *code, const char *message)
{
	char *text = xasprintf("\n\n[Error: %s]", message);
	json_object *delta = json_object_new_object();
	json_object *err = json_object_new_object();

	c->r->stats.chats_failed++;
	filters_finish(c);
	json_object_object_add(delta, "content", json_object_new_string(text));
	json_object_object_add(err, "code", json_object_new_string(code));
	json_object_object_add(err, "message", json_object_new_string(message));
	emit(c, delta, NULL, err);
	emit(c, NULL, "error", NULL);
	free(text);
	finish(c);
}

/* The consumer cannot keep up or went away: cancel, free the slot, close. */
static void consumer_drop(struct chat *c, const char *why)
{
	log_info("chat %s: %s, cancelled", c->request_id, why);
	cancel_at_node(c);
	c->dead = true;
	tq_cancel(&c->chunk_timer);
	tq_cancel(&c->ping_timer);
	tq_cancel(&c->reply_timer);
	sched_detach(c);
	buf_free(&c->out);
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* --- timers --- */

static void ping_due(struct tq_timer *t)
{
	struct chat *c = lws_container_of(t, struct chat, ping_timer);
	char *ping;
	size_t len;

	if (c->finished || c->dead)
		return;
	/* one every ping_interval: the common writer is worth its malloc */
	ping = ic_sse_comment_new(IC_SSE_PING, &len);
	out_append(c, ping, len);
	free(ping);
	if (!c->dead)
		tq_schedule(&c->r->ping_q, &c->ping_timer,
			(int64_t)c->r->cfg->ping_interval * 1000000, ping_due);
}

static void reply_overdue(struct tq_timer *t)
{
	struct chat *c = lws_container_of(t, struct chat, reply_timer);

	if (c->finished || c->dead)
		return;
	if (c->streaming) {
		reply_cut(c, "reply_timeout");
		return;
	}
	sched_detach(c); /* still waiting for a node */
	chat_unavailable(c);
}

static void chunk_overdue(struct tq_timer *t)
{
	struct chat *c = lws_container_of(t, struct chat, chunk_timer);
	int64_t due = c->last_chunk_us + (int64_t)c->r->cfg->chunk_timeout * 1000000;
	int64_t now = router_now_us();

	if (!c->node && !xchat_crossing(c))
		return;
	if (now < due) { /* a chunk came meanwhile: wait for the rest */
		tq_schedule(&c->r->chunk_q, &c->chunk_timer, due - now, chunk_overdue);
		return;
	}
	log_notice("chat %s: node %s sent nothing for %d s", c->request_id,
		chat_server_name(c) ? chat_server_name(c) : "?", c->r->cfg->chunk_timeout);
	cancel_at_node(c);
	chat_node_failed(c, "node timed out");
}

/*
 * Rescheduling a timer for every chunk is needless work (and was, as an
 * lws_sul, a walk of a sorted list): a chunk only notes its time, and the
 * timer, when it fires, checks whether the node has really been silent for
 * chunk_timeout.
 */
static void chunk_timer_arm(struct chat *c)
{
	c->last_chunk_us = router_now_us();
	tq_schedule(&c->r->chunk_q, &c->chunk_timer, (int64_t)c->r->cfg->chunk_timeout * 1000000,
		chunk_overdue);
}

static void chunk_timer_touch(struct chat *c)
{
	c->last_chunk_us = router_now_us();
}

/* --- scheduler callbacks --- */

/* c->params for c's node under the prompt policy (prompt.h): what the
 * model can do depends on the node that serves it. */
static void params_build(struct chat *c)
{
	const struct router_config *cfg = c->r->cfg;
	bool offer = chat_tools_offered(c);
	struct prompt_in in = {
		.model = c->model,
		.messages = c->history,
		.think = c->think,
		.caps = prompt_model_caps(cfg, c->node, c->model),
		.tools = offer ? tools_ollama_new(cfg) : NULL,
		.tool_text = offer ? tools_instructions_new(cfg) : NULL,
		.now = time(NULL),
	};

	json_object_put(c->params);
	c->params = prompt_params_new(cfg, &in);
	c->offered_native = offer && (in.caps & IC_CAP_TOOLS);
	c->round_offered = offer;
	json_object_put(in.tools);
	free((char *)in.tool_text);
}

bool chat_tools_offered(const struct chat *c)
{
	return tools_enabled(c->r->cfg) && c->tool_rounds < IC_TOOL_ROUNDS_MAX;
}

/* A node took c: the SSE stream starts (once), the chunk timer runs. */
static void stream_begin(struct chat *c)
{
	chunk_timer_arm(c);
	if (!c->streaming) {
		c->streaming = true;
		lws_callback_on_writable(c->wsi);
		tq_schedule(&c->r->ping_q, &c->ping_timer,
			(int64_t)c->r->cfg->ping_interval * 1000000, ping_due);
	}
}

void chat_assigned(struct chat *c)
{
	char *msg;

	c->tried[c->attempts++] = c->node->serial;
	log_debug("chat %s: to node %s (attempt %d)", c->request_id, c->node->node_id, c->attempts);
	params_build(c);
	msg = ic_msg_request_new(c->request_id, c->params);
	node_send(c->node, msg);
	if (xchat_is_proxy(c)) {
		chunk_timer_arm(c); /* the peer's consumer is the peer's */
		return;
	}
	stream_begin(c);
}

void chat_remote_assigned(struct chat *c, bool native, bool offered)
{
	c->tried[c->attempts++] = 0; /* no node here has serial 0 */
	log_debug("chat %s: to node %s (attempt %d)", c->request_id, chat_server_name(c),
		c->attempts);
	c->offered_native = native;
	c->round_offered = offered;
	stream_begin(c);
}

const char *chat_server_name(const struct chat *c)
{
	return c->node ? c->node->node_id : xchat_node_name(c);
}

void chat_unavailable(struct chat *c)
{
	char *detail = c->r->draining ? xstrdup("Server shutting down")
				      : xasprintf("No nodes available with model %s", c->model);

	if (c->streaming) {
		end_error(c, "no_nodes", detail);
	} else {
		c->r->stats.chats_failed++;
		c->finished = true;
		server_reply_detail(c->wsi, 503, detail, 0);
	}
	free(detail);
}

/* The node failed this chat: fail over or end it; charge says whether its
 * reputation pays (trust_error_charged()). */
static void node_failed(struct chat *c, const char *reason, bool charge)
{
	if (c->node && !c->r->draining && charge)
		trust_error(c->node);
	if (xchat_is_proxy(c)) {
		tq_cancel(&c->chunk_timer);
		xchat_proxy_failed(c, reason); /* frees c */
		return;
	}
	tq_cancel(&c->chunk_timer);
	sched_detach(c);
	if (c->finished || c->dead)
		return;
	if (chat_tools_busy(c)) {
		/* chat_next_round() finds another node when the results are in */
		log_info("chat %s: %s during tool calls", c->request_id, reason);
		return;
	}
	if (!c->started && c->attempts < c->max_attempts && !c->r->draining) {
		log_info("chat %s: %s before the first token, trying another node", c->request_id,
			reason);
		c->r->stats.failovers++;
		c->wait_deadline_us = router_now_us() + (int64_t)c->r->cfg->queue_wait * 1000000;
		sched_submit(c);
		return;
	}
	log_info("chat %s: failed: %s", c->request_id, reason);
	end_error(c, "node_failed", reason);
}

void chat_node_failed(struct chat *c, const char *reason)
{
	node_failed(c, reason, true);
}

/* The filter changed the node's output (markup or tool-call text) in a
 * chat that offered no tools: the node's reputation pays for it. */
static void chat_check_flagged(struct chat *c)
{
	if (!c->node || c->filter_in == c->filter_out || c->round_offered)
		return;
	c->r->stats.flagged++;
	log_info("chat %s: node %s sent output the filter had to strip", c->request_id,
		c->node->node_id);
	trust_flagged(c->node);
}

static void on_chunk(struct chat *c, const struct chunk_view *v)
{
	if (chat_tools_busy(c))
		return; /* the reply is over: a late chunk is not a new one */
	c->r->stats.chunks++;
	c->started = true;
	chunk_timer_touch(c);
	if (v->thinking && v->thinking_len)
		filter_feed(c, c->filter_thinking, v->thinking, v->thinking_len, true);
	if (v->content && v->content_len) {
		chat_tools_content(c, v->content, v->content_len);
		filter_feed(c, c->filter_content, v->content, v->content_len, false);
	}
	if (!c->dead && c->reply_over) {
		reply_cut(c, "max_reply_chars");
		return;
	}
	if (c->dead || !v->done)
		return;
	filters_finish(c);
	if (c->reply_over) {
		reply_cut(c, "max_reply_chars");
		return;
	}
	if (chat_tools_done(c)) {
		/* the next round's text starts outside any span */
		c->filter_content = ic_outfilter_new();
		c->filter_thinking = ic_outfilter_new();
		return;
	}
	chat_check_flagged(c);
	emit(c, NULL, v->done_reason && strcmp(v->done_reason, "length") == 0 ? "length" : "stop",
		NULL);
	finish(c);
}

void chat_node_chunk(struct chat *c, const struct chunk_view *v)
{
	if (c->finished || c->dead)
		return;
	on_chunk(c, v);
}

/* What the consumer may read of an inference_error: one of the protocol's
 * codes, or a reason a peer instance's router gives for its node
 * (xchat_proxy_failed(); a peer forwards its node's frames verbatim), else
 * "node error".  Never the node's own text: it bypasses the output filter. */
static const char *node_error_reason(const char *error)
{
	static const char *const known[] = {
		IC_ERR_OLLAMA_UNAVAILABLE,
		IC_ERR_OLLAMA_ERROR,
		"node timed out",
		"node heartbeat timeout",
		"node re-registered",
		"node disconnected",
	};

	for (size_t i = 0; error && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(error, known[i]) == 0)
			return known[i];
	return "node error";
}

void chat_node_message(struct chat *c, const struct ic_msg *m)
{
	struct chunk_view v;

	if (c->finished || c->dead)
		return;
	if (m->type == IC_MSG_INFERENCE_CHUNK) {
		json_object *msg, *calls;

		chunk_view_of_json(m->chunk, &v);
		if (!chat_tools_busy(c) && json_object_object_get_ex(m->chunk, "message", &msg) &&
			json_object_object_get_ex(msg, "tool_calls", &calls))
			chat_tools_native(c, calls);
		on_chunk(c, &v);
		return;
	}
	/* inference_error: a bad request fails everywhere, so no failover */
	if (m->error && strcmp(m->error, IC_ERR_INVALID_REQUEST) == 0) {
		log_info("chat %s: node refused the request", c->request_id);
		tq_cancel(&c->chunk_timer);
		end_error(c, m->error, "the node refused the request");
		return;
	}
	node_failed(c, node_error_reason(m->error), trust_error_charged(m->error, c->started));
}

void chat_emit_tool(struct chat *c, const char *name, const char *status, const char *reason)
{
	json_object *delta = json_object_new_object(), *tc = json_object_new_object();

	json_object_object_add(tc, "name", json_object_new_string(name));
	json_object_object_add(tc, "status", json_object_new_string(status));
	if (reason)
		json_object_object_add(tc, "reason", json_object_new_string(reason));
	json_object_object_add(delta, "tool_call", tc);
	emit(c, delta, NULL, NULL);
}

void chat_next_round(struct chat *c)
{
	char *msg;

	if (c->finished || c->dead)
		return;
	memcpy(c->request_id, "req-", 4);
	random_hex(c->request_id + 4, 12);
	c->started = false; /* a node may fail this round before its first token */
	if (xchat_crossing(c))
		sched_detach(c); /* its stream ended; the next goes where there is room */
	if (!c->node) {
		c->attempts = 0;
		memset(c->tried, 0, (size_t)c->max_attempts * sizeof(*c->tried));
		c->wait_deadline_us = router_now_us() + (int64_t)c->r->cfg->queue_wait * 1000000;
		sched_submit(c);
		return;
	}
	log_debug("chat %s: next round to node %s", c->request_id, c->node->node_id);
	params_build(c);
	msg = ic_msg_request_new(c->request_id, c->params);
	node_send(c->node, msg);
	chunk_timer_arm(c);
}

/* --- the HTTP side --- */

static int write_headers(struct chat *c)
{
	unsigned char buf[LWS_PRE + 512];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;

	if (lws_add_http_common_headers(c->wsi, HTTP_STATUS_OK, "text/event-stream",
		    LWS_ILLEGAL_HTTP_CONTENT_LEN, &p, end) ||
		lws_add_http_header_by_token(c->wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
			(const unsigned char *)"no-cache", 8, &p, end) ||
		lws_add_http_header_by_token(
			c->wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close", 5, &p, end) ||
		lws_add_http_header_by_name(c->wsi, (const unsigned char *)"x-accel-buffering:",
			(const unsigned char *)"no", 2, &p, end) ||
		lws_finalize_write_http_header(c->wsi, start, &p, end))
		return -1;
	return 0;
}

int chat_writeable(struct chat *c)
{
	if (c->dead)
		return -1;
	if (!c->streaming)
		return 0;
	if (!c->headers_sent) {
		if (write_headers(c) < 0)
			return -1;
		c->headers_sent = true;
		if (buf_used(&c->out) || c->finished)
			lws_callback_on_writable(c->wsi);
		return 0;
	}
	c->body_direct = true; /* lws has sent all of the headers */
	if (!buf_used(&c->out) && c->finished)
		return -1;
	return body_send(c);
}

/* 0 and *messages/model/think set, or an HTTP status with pss->reply set. */
static int validate_body(
	struct lws *wsi, json_object *body, const char **model, json_object **messages, bool *think)
{
	char err[IC_ERRBUF_MAX];
	json_object *v;

	if (!json_object_is_type(body, json_type_object)) {
		server_reply_detail(wsi, 422, "body: expected a JSON object", 0);
		return 422;
	}
	if (!json_object_object_get_ex(body, "model", &v)) {
		server_reply_detail(wsi, 422, "model: field required", 0);
		return 422;
	}
	*model = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
	if (!*model || !ic_valid_model_name(*model)) {
		server_reply_detail(wsi, 422,
			"model: not a valid model name (1-64 characters: "
			"letters, digits, '.', ':', '-', '_', '/')",
			0);
		return 422;
	}
	if (!json_object_object_get_ex(body, "messages", messages)) {
		server_reply_detail(wsi, 422, "messages: field required", 0);
		return 422;
	}
	if (ic_validate_messages(*messages, &ic_consumer_msg_rules, err, sizeof(err)) < 0) {
		server_reply_detail(wsi, 422, err, 0);
		return 422;
	}
	*think = false;
	if (json_object_object_get_ex(body, "think", &v) &&
		!json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_boolean)) {
			server_reply_detail(wsi, 422, "think: must be true or false", 0);
			return 422;
		}
		*think = json_object_get_boolean(v);
	}
	return 0;
}

int chat_begin(struct router *r, struct lws *wsi, struct pss *pss)
{
	json_object *body, *messages = NULL;
	const char *model = NULL;
	bool think = false;
	struct chat *c;
	int status;

	if (r->draining) {
		server_reply_detail(wsi, 503, "Server shutting down", 0);
		return 503;
	}
	body = ic_json_parse_new(buf_head(&pss->body), buf_used(&pss->body));
	if (!body) {
		server_reply_detail(wsi, 400, "body: not valid JSON", 0);
		return 400;
	}
	status = validate_body(wsi, body, &model, &messages, &think);
	if (status) {
		json_object_put(body);
		return status;
	}
	if (policy_refuses_messages(r->policy, messages)) {
		json_object_put(body);
		r->stats.refused_input++;
		log_info("chat from %s: refused by refuse_patterns", pss->ip);
		server_reply_detail(wsi, 400, "Message content not allowed", 0);
		return 400;
	}
	if (ipcount_get(r->ipcount, pss->ip, IPC_STREAMS) >= r->cfg->streams_per_ip) {
		json_object_put(body);
		server_reply_detail(wsi, 429, "Too many concurrent requests", 0);
		return 429;
	}
	c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->wsi = wsi;
	c->model = xstrdup(model);
	snprintf(c->ip, sizeof(c->ip), "%s", pss->ip);
	memcpy(c->request_id, "req-", 4);
	random_hex(c->request_id + 4, 12);
	memcpy(c->id, "chatcmpl-", 9);
	random_hex(c->id + 9, 6);
	c->prefix = sseout_prefix_new(c->id, c->model, &c->prefix_len);
	c->history = prompt_history_new(messages);
	c->think = think;
	json_object_put(body);
	/* fixed per chat: a reload may change failover_attempts meanwhile */
	c->max_attempts = r->cfg->failover_attempts;
	c->tried = xcalloc((size_t)c->max_attempts, sizeof(*c->tried));
	c->filter_content = ic_outfilter_new();
	c->filter_thinking = ic_outfilter_new();
	c->wait_deadline_us = router_now_us() + (int64_t)r->cfg->queue_wait * 1000000;
	if (r->cfg->reply_timeout > 0)
		tq_schedule(&r->reply_q, &c->reply_timer, (int64_t)r->cfg->reply_timeout * 1000000,
			reply_overdue);
	pss->chat = c;
	ipcount_add(r->ipcount, c->ip, IPC_STREAMS, 1);
	r->requests_active++;
	r->stats.chats_total++;
	buf_free(&pss->body);
	log_debug("chat %s: model %s from %s", c->request_id, c->model, c->ip);
	sched_submit(c);
	return 0;
}

/* What a consumer's chat and a peer's have in common to free. */
static void chat_fields_free(struct chat *c)
{
	if (c->filter_content)
		ic_outfilter_free(c->filter_content);
	if (c->filter_thinking)
		ic_outfilter_free(c->filter_thinking);
	json_object_put(c->params);
	json_object_put(c->history);
	buf_free(&c->out);
	free(c->tried);
	free(c->model);
	free(c->prefix);
	free(c);
}

void chat_free(struct chat *c)
{
	if (!c)
		return;
	chat_tools_free(c);
	if (!c->finished && !c->dead && (c->node || xchat_crossing(c))) {
		log_info("chat %s: consumer went away, cancelled", c->request_id);
		cancel_at_node(c);
	}
	sched_detach(c);
	lws_dll2_remove(&c->flush_link);
	tq_cancel(&c->wait_timer);
	tq_cancel(&c->chunk_timer);
	tq_cancel(&c->ping_timer);
	tq_cancel(&c->reply_timer);
	ipcount_add(c->r->ipcount, c->ip, IPC_STREAMS, -1);
	c->r->requests_active--;
	xchat_chat_free(c);
	chat_fields_free(c);
}

struct chat *chat_proxy_new(
	struct router *r, const char *model, json_object *messages, bool think, int tool_rounds)
{
	struct chat *c = xcalloc(1, sizeof(*c));

	c->r = r;
	c->model = xstrdup(model);
	memcpy(c->request_id, "req-", 4);
	random_hex(c->request_id + 4, 12);
	c->history = prompt_history_new(messages);
	c->think = think;
	c->tool_rounds = tool_rounds;
	c->max_attempts = 1;
	c->tried = xcalloc(1, sizeof(*c->tried));
	r->requests_active++;
	return c;
}

void chat_proxy_free(struct chat *c)
{
	sched_detach(c);
	tq_cancel(&c->chunk_timer);
	c->r->requests_active--;
	xchat_chat_free(c);
	chat_fields_free(c);
}

/* A frame of a peer's chat came from its node. */
static void proxy_alive(struct chat *c, bool last)
{
	c->r->stats.chunks++;
	if (last)
		tq_cancel(&c->chunk_timer);
	else
		chunk_timer_touch(c);
}

void chat_proxy_frame(struct chat *c, const char *text, size_t len, bool last)
{
	proxy_alive(c, last);
	xchat_proxy_frame(c, text, len, last);
}

void chat_proxy_chunk(struct chat *c, const struct chunk_view *v)
{
	proxy_alive(c, v->done);
	xchat_proxy_chunk(c, v);
}

json_object *chat_params_for(
	const struct node *n, const char *model, json_object *messages, bool think)
{
	const struct router_config *cfg = n->r->cfg;
	bool offer = tools_enabled(cfg);
	struct prompt_in in = {
		.model = model,
		.messages = messages,
		.think = think,
		.caps = prompt_model_caps(cfg, n, model),
		.tools = offer ? tools_ollama_new(cfg) : NULL,
		.tool_text = offer ? tools_instructions_new(cfg) : NULL,
		.now = time(NULL),
	};
	json_object *params = prompt_params_new(cfg, &in);

	json_object_put(in.tools);
	free((char *)in.tool_text);
	return params;
}
