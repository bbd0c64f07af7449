/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* xchat.c - chats that cross instances of a cluster (see xchat.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "chunkparse.h"
#include "cluster-names.h"
#include "cluster-proto.h"
#include "cluster.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/proto.h"
#include "common/validate.h"
#include "common/xmalloc.h"
#include "models.h"
#include "nodes.h"
#include "sched.h"
#include "strmap.h"
#include "trust.h"
#include "xchat.h"

#define XCHAT_SKIP_MAX CLUSTER_PEERS_MAX

enum xrole { X_CONSUMER, X_PROXY };

/* A chat's part in a crossing, owned by the chat (c->x). */
struct xchat {
	lws_dll2_t link; /* in xs->crossings (consumer) or xs->proxies */
	struct chat *c;
	enum xrole role;
	char *reply;  /* the crossing's reply subject (its name on both sides) */
	uint64_t seq; /* consumer: the last frame's number; proxy: the last sent */
	/* consumer side */
	char *peer; /* the instance offered the chat, or NULL */
	char *peer_inbox;
	char *key;	 /* reply's suffix past our inbox: xs->by_key */
	char *node_name; /* "instance/node_id" once accepted */
	bool accepted;
	bool ended; /* the peer's stream ended: nothing to cancel */
	bool waiting;
	lws_sorted_usec_list_t answer_timer;
	lws_sorted_usec_list_t retry_timer;
	char *skip[XCHAT_SKIP_MAX]; /* peers that said busy */
	int n_skip;
	/* proxy side */
	char *from;	      /* the consumer's instance */
	char *dest_inbox;     /* its inbox: reply is <dest_inbox>.<dest_key> */
	const char *dest_key; /* in reply */
	size_t rec_body;      /* where its frame being written starts, in its batch */
};

struct xchats {
	struct router *r;
	struct strmap *by_key;	/* consumer: "r.<n>" -> struct xchat */
	struct strmap *proxies; /* proxy: reply subject -> struct xchat */
	lws_dll2_owner_t crossings, proxy_list;
	uint64_t next_id;
	lws_dll2_owner_t batches;      /* struct batch with frames to send */
	struct strmap *batch_by_inbox; /* consumer's inbox -> struct batch */
	uint64_t sent, served, gaps;
};

struct xchats *xchats_new(struct router *r)
{
	struct xchats *xs = xcalloc(1, sizeof(*xs));

	xs->r = r;
	xs->by_key = strmap_new();
	xs->proxies = strmap_new();
	xs->batch_by_inbox = strmap_new();
	return xs;
}

void xchats_free(struct xchats *xs)
{
	if (!xs)
		return;
	strmap_free(xs->by_key, NULL);
	strmap_free(xs->proxies, NULL);
	xchat_flush(xs->r);
	strmap_free(xs->batch_by_inbox, NULL);
	free(xs);
}

static struct xchat *x_of(struct chat *c, enum xrole role)
{
	if (!c->x) {
		c->x = xcalloc(1, sizeof(*c->x));
		c->x->c = c;
		c->x->role = role;
	}
	return c->x;
}

static bool connected(const struct router *r)
{
	return r->cluster && r->xchats;
}

/* --- the consumer's instance --- */

static bool skipped(const char *instance, void *ctx)
{
	const struct xchat *x = ctx;

	for (int i = 0; i < x->n_skip; i++)
		if (strcmp(x->skip[i], instance) == 0)
			return true;
	return false;
}

static void skip_add(struct xchat *x, const char *instance)
{
	if (x->n_skip < XCHAT_SKIP_MAX && !skipped(instance, x))
		x->skip[x->n_skip++] = xstrdup(instance);
}

static void skip_clear(struct xchat *x)
{
	for (int i = 0; i < x->n_skip; i++)
		free(x->skip[i]);
	x->n_skip = 0;
}

/* The crossing is over on our side (the peer told, or is told). */
static void crossing_end(struct xchat *x)
{
	struct xchats *xs = x->c->r->xchats;

	if (x->accepted && x->c->r->cluster)
		cluster_peer_slot_freed(x->c->r->cluster, x->peer, x->c->model);

	lws_sul_cancel(&x->answer_timer);
	if (x->key)
		strmap_remove(xs->by_key, x->key);
	lws_dll2_remove(&x->link);
	free(x->peer);
	free(x->peer_inbox);
	free(x->key);
	free(x->reply);
	free(x->node_name);
	x->peer = x->peer_inbox = x->key = x->reply = x->node_name = NULL;
	x->accepted = x->ended = false;
	x->seq = 0;
}

static void answer_overdue(lws_sorted_usec_list_t *sul)
{
	struct xchat *x = lws_container_of(sul, struct xchat, answer_timer);
	struct chat *c = x->c;

	log_info("chat %s: instance %s did not answer in %d ms, trying elsewhere", c->request_id,
		x->peer, XCHAT_ANSWER_MS);
	skip_add(x, x->peer);
	cluster_peer_silent(c->r->cluster, x->peer);
	sched_detach(c); /* cancels there, should it answer late */
	sched_submit(c);
}

static char *request_text_new(struct chat *c)
{
	json_object *o = json_object_new_object();
	char *text;

	json_object_object_add(o, CLUSTER_M_V, json_object_new_int(CLUSTER_PROTO_VERSION));
	json_object_object_add(o, CLUSTER_M_MODEL, json_object_new_string(c->model));
	json_object_object_add(o, CLUSTER_M_MESSAGES, json_object_get(c->history));
	json_object_object_add(o, CLUSTER_M_THINK, json_object_new_boolean(c->think));
	json_object_object_add(o, CLUSTER_M_TOOLS, json_object_new_boolean(chat_tools_offered(c)));
	json_object_object_add(o, CLUSTER_M_TOOL_ROUNDS, json_object_new_int(c->tool_rounds));
	json_object_object_add(
		o, CLUSTER_M_FROM, json_object_new_string(cluster_instance(c->r->cluster)));
	text = xstrdup(json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return text;
}

/* Offer c to one peer: false if none would take the message. */
static bool offer(struct chat *c, struct xchat *x)
{
	struct xchats *xs = c->r->xchats;
	char *peer, *inbox, *subject, *text;
	bool ok;

	if (!cluster_pick_peer(c->r->cluster, c->model, skipped, x, &peer, &inbox))
		return false;
	x->key = xasprintf(CLUSTER_SUFFIX_REPLY "%" PRIu64, ++xs->next_id);
	x->reply = xasprintf("%s.%s", cluster_inbox(c->r->cluster), x->key);
	subject = xasprintf("%s." CLUSTER_SUFFIX_CHAT, inbox);
	text = request_text_new(c);
	ok = cluster_publish(c->r->cluster, subject, x->reply, text, strlen(text));
	free(subject);
	free(text);
	x->peer = peer;
	x->peer_inbox = inbox;
	strmap_put(xs->by_key, x->key, x);
	lws_dll2_add_tail(&x->link, &xs->crossings);
	if (!ok) {
		/* too big for the server, or the connection just went */
		log_info("chat %s: could not be offered to instance %s", c->request_id, peer);
		skip_add(x, peer);
		crossing_end(x);
		return offer(c, x);
	}
	log_debug("chat %s: offered to instance %s", c->request_id, peer);
	lws_sul_schedule(
		c->r->ctx, 0, &x->answer_timer, answer_overdue, (lws_usec_t)XCHAT_ANSWER_MS * 1000);
	return true;
}

bool xchat_submit(struct chat *c)
{
	if (!connected(c->r) || xchat_is_proxy(c))
		return false;
	return offer(c, x_of(c, X_CONSUMER));
}

static void retry_due(lws_sorted_usec_list_t *sul)
{
	struct xchat *x = lws_container_of(sul, struct xchat, retry_timer);
	struct chat *c = x->c;

	if (!x->waiting)
		return;
	skip_clear(x); /* "busy" was then; the summaries are newer */
	/* a chat in its model's queue is served there as soon as a local
	 * slot frees; one for a model only peers had may find a local node
	 * that registered meanwhile */
	if (!c->waiting_on || cluster_free_on_peers(c->r->cluster, c->model)) {
		sched_retry(c);
		return;
	}
	lws_sul_schedule(
		c->r->ctx, 0, &x->retry_timer, retry_due, (lws_usec_t)XCHAT_RETRY_MS * 1000);
}

void xchat_wait(struct chat *c)
{
	struct xchat *x;

	if (!connected(c->r))
		return;
	x = x_of(c, X_CONSUMER);
	x->waiting = true;
	lws_sul_schedule(
		c->r->ctx, 0, &x->retry_timer, retry_due, (lws_usec_t)XCHAT_RETRY_MS * 1000);
}

void xchat_unwait(struct chat *c)
{
	if (!c->x || !c->x->waiting)
		return;
	c->x->waiting = false;
	lws_sul_cancel(&c->x->retry_timer);
}

bool xchat_crossing(const struct chat *c)
{
	return c->x && c->x->role == X_CONSUMER && c->x->peer;
}

const char *xchat_node_name(const struct chat *c)
{
	return c->x ? c->x->node_name : NULL;
}

void xchat_detach(struct chat *c)
{
	struct xchat *x = c->x;

	if (!xchat_crossing(c))
		return;
	if (!x->ended && connected(c->r)) {
		char *subject = xasprintf("%s." CLUSTER_SUFFIX_CANCEL, x->peer_inbox);

		cluster_publish(c->r->cluster, subject, NULL, x->reply, strlen(x->reply));
		free(subject);
	}
	crossing_end(x);
}

void xchat_chat_free(struct chat *c)
{
	struct xchat *x = c->x;

	if (!x)
		return;
	if (x->role == X_CONSUMER) {
		if (x->peer)
			crossing_end(x);
		lws_sul_cancel(&x->retry_timer);
		skip_clear(x);
	}
	free(x->from);
	free(x->dest_inbox);
	free(x->reply);
	free(x);
	c->x = NULL;
}

/* "0 " {...}: the peer's answer. */
static void answer_received(struct xchat *x, const char *text, size_t len)
{
	struct chat *c = x->c;
	json_object *o = ic_json_parse_new(text, len), *v;
	bool ok = o && json_object_object_get_ex(o, CLUSTER_M_OK, &v) && json_object_get_boolean(v);
	const char *node_id = o ? ic_json_get_string(o, CLUSTER_M_NODE_ID) : NULL;

	if (x->accepted) {
		json_object_put(o);
		return;
	}
	lws_sul_cancel(&x->answer_timer);
	if (!ok) {
		log_debug("chat %s: instance %s is busy", c->request_id, x->peer);
		skip_add(x, x->peer);
		x->ended = true; /* nothing there to cancel */
		crossing_end(x);
		json_object_put(o);
		sched_submit(c);
		return;
	}
	x->accepted = true;
	x->node_name = xasprintf("%s/%s", x->peer, node_id ? node_id : "?");
	c->r->xchats->sent++;
	chat_remote_assigned(c,
		json_object_object_get_ex(o, CLUSTER_M_NATIVE, &v) && json_object_get_boolean(v),
		json_object_object_get_ex(o, CLUSTER_M_OFFERED, &v) && json_object_get_boolean(v));
	json_object_put(o);
}

/* A frame of the peer's node, verbatim: as nodes.c reads a node's. */
static void frame_received(struct xchat *x, char *text, size_t len)
{
	struct chat *c = x->c;
	struct chunk_view v;
	struct ic_msg m;
	char err[IC_ERRBUF_MAX];

	if (!memmem(text, len, "\"" IC_M_TOOL_CALLS "\"", sizeof(IC_M_TOOL_CALLS) + 1) &&
		chunk_parse(text, len, &v)) {
		x->ended = v.done;
		chat_node_chunk(c, &v);
		return;
	}
	memset(&m, 0, sizeof(m));
	if (ic_msg_parse(text, len, &m, err, sizeof(err)) == 0 &&
		(m.type == IC_MSG_INFERENCE_CHUNK || m.type == IC_MSG_INFERENCE_ERROR)) {
		if (m.type == IC_MSG_INFERENCE_CHUNK)
			chunk_view_of_json(m.chunk, &v);
		x->ended = m.type == IC_MSG_INFERENCE_ERROR ||
			(m.type == IC_MSG_INFERENCE_CHUNK && v.done);
		chat_node_message(c, &m);
	} else {
		log_warn("chat %s: a bad frame from instance %s ignored", c->request_id, x->peer);
	}
	ic_msg_clear(&m);
}

/* Message seq of crossing key: 0 the answer, then the frames. */
static void consumer_frame(struct router *r, const char *key, uint64_t seq, char *text, size_t len)
{
	struct xchat *x = strmap_get(r->xchats->by_key, key);

	if (!x)
		return; /* a crossing that ended (late frames of a cancel) */
	if (seq == 0) {
		answer_received(x, text, len);
		return;
	}
	if (!x->accepted || seq != x->seq + 1) {
		/* core NATS drops what a slow subscriber cannot take */
		r->xchats->gaps++;
		log_notice("chat %s: frame %" PRIu64 " from instance %s where %" PRIu64
			   " was due: frames lost",
			x->c->request_id, seq, x->peer, x->seq + 1);
		chat_node_failed(x->c, "frames lost between router instances");
		return;
	}
	x->seq = seq;
	frame_received(x, text, len);
}

/* Digits at *p (at most 19), moving *p past them: false if none. */
static bool read_number(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;

	*out = 0;
	while (s < end && s - *p < 19 && *s >= '0' && *s <= '9')
		*out = *out * 10 + (uint64_t)(*s++ - '0');
	if (s == *p)
		return false;
	*p = s;
	return true;
}

/* On <inbox>.r.<n>: "SEQ TEXT". */
static void consumer_direct(struct router *r, const char *key, char *data, size_t len)
{
	const char *p = data, *end = data + len;
	uint64_t seq;

	if (!read_number(&p, end, &seq) || p == end || *p != ' ') {
		log_warn("cluster: a malformed message for %s ignored", key);
		return;
	}
	p++;
	consumer_frame(r, key, seq, data + (p - data), (size_t)(end - p));
}

/* On <inbox>.f: records "KEY SEQ LEN\nTEXT" (LEN bytes of TEXT), the
 * frames a peer had for our crossings in one turn of its loop. */
static void consumer_batch(struct router *r, char *data, size_t len)
{
	const char *p = data, *end = data + len;

	while (p < end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p) < 64 ? (size_t)(end - p) : 64);
		uint64_t seq, n;
		char key[64];

		if (!sp || (size_t)(sp - p) >= sizeof(key))
			break;
		memcpy(key, p, (size_t)(sp - p));
		key[sp - p] = '\0';
		p = sp + 1;
		if (!read_number(&p, end, &seq) || p == end || *p++ != ' ' ||
			!read_number(&p, end, &n) || p == end || *p++ != '\n' ||
			n > (uint64_t)(end - p))
			break;
		consumer_frame(r, key, seq, data + (p - data), (size_t)n);
		p += n;
	}
	if (p != end)
		log_warn("cluster: a malformed batch of frames: the rest ignored");
}

/* --- the node's instance --- */

bool xchat_is_proxy(const struct chat *c)
{
	return c->x && c->x->role == X_PROXY;
}

static void answer_send(struct router *r, const char *reply, json_object *o)
{
	char *text = xasprintf(CLUSTER_ANSWER_PREFIX "%s",
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));

	cluster_publish(r->cluster, reply, NULL, text, strlen(text));
	free(text);
	json_object_put(o);
}

static void answer_busy(struct router *r, const char *reply, const char *why)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, CLUSTER_M_OK, json_object_new_boolean(false));
	json_object_object_add(o, CLUSTER_M_ERROR, json_object_new_string(why));
	answer_send(r, reply, o);
}

static void proxy_end(struct xchat *x)
{
	struct chat *c = x->c;
	struct router *r = c->r;

	sched_detach(c);
	strmap_remove(r->xchats->proxies, x->reply);
	lws_dll2_remove(&x->link);
	chat_proxy_free(c);
}

/* ".r.<number>": the end of a reply subject offer() makes. */
static bool reply_key_ok(const char *s)
{
	size_t digits;
	size_t pre = strlen("." CLUSTER_SUFFIX_REPLY);

	if (strncmp(s, "." CLUSTER_SUFFIX_REPLY, pre) != 0)
		return false;
	digits = strspn(s + pre, "0123456789");
	return digits > 0 && digits <= 20 && s[pre + digits] == '\0';
}

/* "chat" from a peer: serve it on a node with a free slot, or say busy. */
static void proxy_request(struct router *r, const char *reply, const char *data, size_t len)
{
	json_object *o, *messages, *v;
	const char *model, *from;
	struct chat *c;
	struct xchat *x;
	json_object *ans;
	int tool_rounds;

	const char *key;

	if (!reply[0] || strmap_get(r->xchats->proxies, reply))
		return; /* nobody to answer, or a repeat */
	/* <inbox>.r.<number>, as offer() makes it: frames go to <inbox>.f */
	if (!cluster_inbox_ok_n(reply, CLUSTER_INBOX_LEN) ||
		!reply_key_ok(reply + CLUSTER_INBOX_LEN)) {
		cluster_count_rejected(r->cluster, "a chat's reply subject");
		return;
	}
	key = reply + CLUSTER_INBOX_LEN;
	o = ic_json_parse_new(data, len);
	model = o ? ic_json_get_string(o, CLUSTER_M_MODEL) : NULL;
	from = o ? ic_json_get_string(o, CLUSTER_M_FROM) : NULL;
	if (from && !cluster_instance_ok(from)) {
		cluster_count_rejected(r->cluster, "a chat");
		answer_busy(r, reply, "bad request");
		json_object_put(o);
		return;
	}
	if (!model || !ic_valid_model_name(model) || !from ||
		!json_object_object_get_ex(o, CLUSTER_M_MESSAGES, &messages) ||
		!json_object_is_type(messages, json_type_array)) {
		log_warn("cluster: a malformed chat from a peer refused");
		answer_busy(r, reply, "bad request");
		json_object_put(o);
		return;
	}
	if (r->draining) {
		answer_busy(r, reply, "draining");
		json_object_put(o);
		return;
	}
	tool_rounds = json_object_object_get_ex(o, CLUSTER_M_TOOL_ROUNDS, &v)
		? json_object_get_int(v)
		: 0;
	if (!(json_object_object_get_ex(o, CLUSTER_M_TOOLS, &v) && json_object_get_boolean(v)) ||
		tool_rounds < 0)
		tool_rounds = IC_TOOL_ROUNDS_MAX; /* the peer offers none */
	c = chat_proxy_new(r, model, messages,
		json_object_object_get_ex(o, CLUSTER_M_THINK, &v) && json_object_get_boolean(v),
		tool_rounds);
	x = x_of(c, X_PROXY);
	x->reply = xstrdup(reply);
	x->dest_inbox = xstrndup(reply, (size_t)(key - reply));
	x->dest_key = x->reply + (key - reply) + 1;
	x->from = xstrdup(from);
	json_object_put(o);
	strmap_put(r->xchats->proxies, x->reply, x);
	lws_dll2_add_tail(&x->link, &r->xchats->proxy_list);
	if (!sched_take(c)) {
		answer_busy(r, reply, "busy");
		proxy_end(x);
		return;
	}
	r->xchats->served++;
	log_debug("chat %s: for instance %s on node %s", c->request_id, x->from, c->node->node_id);
	ans = json_object_new_object();
	json_object_object_add(ans, CLUSTER_M_OK, json_object_new_boolean(true));
	json_object_object_add(ans, CLUSTER_M_NODE_ID, json_object_new_string(c->node->node_id));
	json_object_object_add(ans, CLUSTER_M_NATIVE, json_object_new_boolean(c->offered_native));
	json_object_object_add(ans, CLUSTER_M_OFFERED, json_object_new_boolean(c->round_offered));
	answer_send(r, reply, ans);
}

static void proxy_cancel(struct router *r, const char *data, size_t len)
{
	char *reply = xstrndup(data, len);
	struct xchat *x = strmap_get(r->xchats->proxies, reply);

	free(reply);
	if (!x)
		return; /* its stream ended meanwhile */
	log_debug("chat %s: cancelled by instance %s", x->c->request_id, x->from);
	if (x->c->node)
		node_send(x->c->node, ic_msg_cancel_new(x->c->request_id));
	proxy_end(x);
}

/* The frames for one consumer's instance, sent at the end of the loop's
 * turn (xchat_flush()) as one message: per frame a NATS message would cost
 * the server and the receiver more than the frame's own relay. */
struct batch {
	lws_dll2_t link; /* in xs->batches */
	char *inbox;	 /* the consumer's instance's */
	struct buf b;
};

static void batch_send(struct xchats *xs, struct batch *bt)
{
	char *subject = xasprintf("%s." CLUSTER_SUFFIX_FRAMES, bt->inbox);

	if (connected(xs->r))
		cluster_publish(xs->r->cluster, subject, NULL, buf_head(&bt->b), buf_used(&bt->b));
	free(subject);
	buf_reset(&bt->b);
}

void xchat_flush(struct router *r)
{
	struct xchats *xs = r->xchats;

	if (!xs)
		return;
	while (xs->batches.head) {
		struct batch *bt = lws_container_of(xs->batches.head, struct batch, link);

		lws_dll2_remove(&bt->link);
		strmap_remove(xs->batch_by_inbox, bt->inbox);
		batch_send(xs, bt);
		buf_free(&bt->b);
		free(bt->inbox);
		free(bt);
	}
}

/* The record header of x's next frame, in the batch for its consumer's
 * instance: the frame's text is appended to the batch's buffer. */
static struct batch *frame_start(struct xchat *x)
{
	struct xchats *xs = x->c->r->xchats;
	struct batch *bt = strmap_get(xs->batch_by_inbox, x->dest_inbox);

	if (!bt) {
		bt = xcalloc(1, sizeof(*bt));
		bt->inbox = xstrdup(x->dest_inbox);
		strmap_put(xs->batch_by_inbox, bt->inbox, bt);
		lws_dll2_add_tail(&bt->link, &xs->batches);
	}
	x->seq++;
	/* "KEY SEQ " then the length, unknown yet: room for 10 digits */
	buf_append(&bt->b, x->dest_key, strlen(x->dest_key));
	buf_append(&bt->b, " ", 1);
	{
		char num[48];
		int n = snprintf(num, sizeof(num), "%" PRIu64 " 0000000000\n", x->seq);

		buf_append(&bt->b, num, (size_t)n);
	}
	x->rec_body = buf_used(&bt->b);
	return bt;
}

/* x's frame is complete: its length in its header; the batch goes now if
 * it is large.  last: x's stream is over (x freed). */
static void frame_send(struct xchat *x, struct batch *bt, bool last)
{
	struct xchats *xs = x->c->r->xchats;
	char num[16];
	size_t n = buf_used(&bt->b) - x->rec_body;

	/* the ten digits before the newline, zero-padded */
	snprintf(num, sizeof(num), "%010zu", n);
	memcpy((char *)buf_head(&bt->b) + x->rec_body - 11, num, 10);
	if (buf_used(&bt->b) >= XCHAT_BATCH_MAX)
		batch_send(xs, bt);
	if (last)
		proxy_end(x);
}

void xchat_proxy_frame(struct chat *c, const char *text, size_t len, bool last)
{
	struct batch *bt = frame_start(c->x);

	buf_append(&bt->b, text, len);
	frame_send(c->x, bt, last);
}

/* The chunk of v as a json-c object: NEW (json_object_put()). */
static json_object *chunk_of_view_new(const struct chunk_view *v)
{
	json_object *chunk = json_object_new_object(), *msg = json_object_new_object();

	json_object_object_add(msg, IC_M_ROLE, json_object_new_string(IC_ROLE_ASSISTANT));
	if (v->content)
		json_object_object_add(msg, IC_M_CONTENT,
			json_object_new_string_len(v->content, (int)v->content_len));
	if (v->thinking)
		json_object_object_add(msg, IC_M_THINKING,
			json_object_new_string_len(v->thinking, (int)v->thinking_len));
	json_object_object_add(chunk, IC_M_MESSAGE, msg);
	json_object_object_add(chunk, IC_M_DONE, json_object_new_boolean(v->done));
	if (v->done_reason)
		json_object_object_add(
			chunk, IC_M_DONE_REASON, json_object_new_string(v->done_reason));
	return chunk;
}

/* A chunk that chunk_parse() decoded in place: written again, by the one
 * writer of inference_chunk frames (common/proto.h). */
void xchat_proxy_chunk(struct chat *c, const struct chunk_view *v)
{
	json_object *chunk = chunk_of_view_new(v);
	char *frame = ic_msg_chunk_new(c->request_id, chunk);

	json_object_put(chunk);
	xchat_proxy_frame(c, frame, strlen(frame), v->done);
	free(frame);
}

void xchat_proxy_failed(struct chat *c, const char *reason)
{
	char *frame = ic_msg_error_new(c->request_id, reason);

	log_info("chat %s: for instance %s failed: %s", c->request_id, c->x->from, reason);
	xchat_proxy_frame(c, frame, strlen(frame), true);
	free(frame);
}

/* --- from cluster.c --- */

void xchat_message(struct router *r, const char *suffix, const char *reply, char *data, size_t len)
{
	if (!r->xchats)
		return;
	if (strcmp(suffix, CLUSTER_SUFFIX_FRAMES) == 0)
		consumer_batch(r, data, len);
	else if (strncmp(suffix, CLUSTER_SUFFIX_REPLY, strlen(CLUSTER_SUFFIX_REPLY)) == 0)
		consumer_direct(r, suffix, data, len);
	else if (strcmp(suffix, CLUSTER_SUFFIX_CHAT) == 0)
		proxy_request(r, reply, data, len);
	else if (strcmp(suffix, CLUSTER_SUFFIX_CANCEL) == 0)
		proxy_cancel(r, data, len);
}

void xchat_peer_gone(struct router *r, const char *instance)
{
	char *why;

	if (!r->xchats)
		return;
	why = xasprintf("router instance %s is gone", instance);
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, r->xchats->crossings.head)
	{
		struct xchat *x = lws_container_of(d, struct xchat, link);

		if (strcmp(x->peer, instance) == 0) {
			x->ended = true; /* nobody there to cancel */
			chat_node_failed(x->c, why);
		}
	}
	lws_end_foreach_dll_safe(d, d1);
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, r->xchats->proxy_list.head)
	{
		struct xchat *x = lws_container_of(d, struct xchat, link);

		if (strcmp(x->from, instance) == 0) {
			if (x->c->node)
				node_send(x->c->node, ic_msg_cancel_new(x->c->request_id));
			proxy_end(x);
		}
	}
	lws_end_foreach_dll_safe(d, d1);
	free(why);
}

void xchat_connection_lost(struct router *r)
{
	if (!r->xchats)
		return;
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, r->xchats->crossings.head)
	{
		struct xchat *x = lws_container_of(d, struct xchat, link);

		x->ended = true;
		chat_node_failed(x->c, "the cluster connection was lost");
	}
	lws_end_foreach_dll_safe(d, d1);
	while (r->xchats->proxy_list.head) {
		struct xchat *x = lws_container_of(r->xchats->proxy_list.head, struct xchat, link);

		if (x->c->node)
			node_send(x->c->node, ic_msg_cancel_new(x->c->request_id));
		proxy_end(x);
	}
}

void xchat_metrics(const struct router *r, json_object *o)
{
	const struct xchats *xs = r->xchats;

	json_object_object_add(
		o, "cluster_chats_sent", json_object_new_int64(xs ? (int64_t)xs->sent : 0));
	json_object_object_add(
		o, "cluster_chats_served", json_object_new_int64(xs ? (int64_t)xs->served : 0));
	json_object_object_add(
		o, "cluster_gaps", json_object_new_int64(xs ? (int64_t)xs->gaps : 0));
}
