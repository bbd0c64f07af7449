/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* nodes.c - node WebSockets: registration, heartbeats, messages. */
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "chunkparse.h"
#include "ipcount.h"
#include "common/limits.h"
#include "common/log.h"
#include "models.h"
#include "cluster.h"
#include "nodes.h"
#include "probe.h"
#include "standing.h"
#include "common/proto.h"
#include "sched.h"
#include "strmap.h"
#include "trust.h"
#include "xchat.h"
#include "common/validate.h"
#include "common/xmalloc.h"

#define CLOSE_NORMAL 1000
#define CLOSE_POLICY 1008
#define CLOSE_TOO_BIG 1009
#define CLOSE_TRY_LATER 1013

struct outmsg {
	lws_dll2_t link;
	size_t len;
	unsigned char data[]; /* LWS_PRE bytes of room, then the text */
};

static const char *const features[] = {
	IC_FEATURE_AVAILABLE,
	IC_FEATURE_MODELS_UPDATE,
	IC_FEATURE_STABLE_NODE_ID,
};

unsigned long nodes_count(const struct router *r)
{
	return (unsigned long)r->nodes.count;
}

bool node_has_capacity(const struct node *n)
{
	return n->registered && n->available && !n->closing && n->active < n->max_concurrent;
}

static const char *node_name(const struct node *n)
{
	return n->node_id ? n->node_id : "(unregistered)";
}

/* --- timers --- */

static void reg_timeout(struct tq_timer *t)
{
	struct node *n = lws_container_of(t, struct node, reg_timer);

	if (n->registered)
		return;
	log_info("node from %s: no register message in %d s", n->ip, n->r->cfg->register_timeout);
	node_close(n, CLOSE_POLICY, IC_CLOSE_REG_TIMEOUT);
}

static void unregister(struct node *n, const char *reason);

static void hb_timeout(struct tq_timer *t)
{
	struct node *n = lws_container_of(t, struct node, hb_timer);
	int64_t due = n->last_rx_us + (int64_t)n->r->cfg->heartbeat_timeout * 1000000;
	int64_t now = router_now_us();

	if (now < due) {
		tq_schedule(&n->r->hb_q, &n->hb_timer, due - now, hb_timeout);
		return;
	}
	log_notice("node %s (%s): silent for %d s, dropped", node_name(n), n->ip,
		n->r->cfg->heartbeat_timeout);
	unregister(n, "node heartbeat timeout");
	node_close(n, CLOSE_NORMAL, IC_CLOSE_HEARTBEAT_TIMEOUT);
}

/* Like the chunk timer (chat.c): frames note their time; the timer checks. */
static void hb_arm(struct node *n)
{
	n->last_rx_us = router_now_us();
	tq_schedule(&n->r->hb_q, &n->hb_timer, (int64_t)n->r->cfg->heartbeat_timeout * 1000000,
		hb_timeout);
}

static void hb_touch(struct node *n)
{
	n->last_rx_us = router_now_us();
}

struct node *node_new(struct router *r, struct lws *wsi, const char *ip)
{
	struct node *n = xcalloc(1, sizeof(*n));

	n->r = r;
	n->wsi = wsi;
	n->serial = ++r->next_serial;
	snprintf(n->ip, sizeof(n->ip), "%s", ip);
	tq_schedule(&n->r->reg_q, &n->reg_timer, (int64_t)n->r->cfg->register_timeout * 1000000,
		reg_timeout);
	log_debug("node socket from %s", ip);
	return n;
}

/* --- sending --- */

void node_send(struct node *n, char *text)
{
	size_t len = strlen(text);
	struct outmsg *o;

	if (n->closing) {
		free(text);
		return;
	}
	if (n->out_bytes + len > ROUTER_NODE_OUTBUF_MAX) {
		log_warn("node %s (%s): send queue full, disconnecting", node_name(n), n->ip);
		free(text);
		node_close(n, CLOSE_TRY_LATER, "send queue full");
		return;
	}
	o = xmalloc(sizeof(*o) + LWS_PRE + len);
	o->len = len;
	memcpy(o->data + LWS_PRE, text, len);
	free(text);
	memset(&o->link, 0, sizeof(o->link));
	lws_dll2_add_tail(&o->link, &n->outq);
	n->out_bytes += len;
	lws_callback_on_writable(n->wsi);
}

static void outq_free(struct node *n)
{
	while (n->outq.head) {
		struct outmsg *o = lws_container_of(n->outq.head, struct outmsg, link);

		lws_dll2_remove(&o->link);
		free(o);
	}
	n->out_bytes = 0;
}

void node_close(struct node *n, int code, const char *reason)
{
	if (n->closing)
		return;
	n->closing = true;
	models_node_update(n);
	n->close_code = code;
	snprintf(n->close_reason, sizeof(n->close_reason), "%s", reason);
	tq_cancel(&n->reg_timer);
	tq_cancel(&n->hb_timer);
	lws_callback_on_writable(n->wsi);
	/* a peer that never reads must not keep the socket forever */
	lws_set_timeout(n->wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
}

/* The close frame is written here and the peer's close awaited (lws
 * answers it and closes; node_close()'s timeout bounds the wait), instead
 * of lws_close_reason() and return -1: on the libuv loop a debug build of
 * lws (Debian's) closes twice on that path, and the second close drops the
 * frame.  Closing with the peer's frames unread would also reset the
 * connection, losing the frame at the peer. */
#define WRITE_CLOSE ((enum lws_write_protocol)4) /* lws's own, kept private */
static int send_close(struct node *n)
{
	unsigned char frame[LWS_PRE + 2 + sizeof(n->close_reason)];
	unsigned char *p = frame + LWS_PRE;
	size_t len = strlen(n->close_reason);

	if (n->close_sent)
		return 0;
	n->close_sent = true;
	if (len > 123)
		len = 123; /* a control frame's payload is at most 125 bytes */
	p[0] = (unsigned char)(n->close_code >> 8);
	p[1] = (unsigned char)(n->close_code & 0xff);
	memcpy(p + 2, n->close_reason, len);
	if (lws_write(n->wsi, p, 2 + len, WRITE_CLOSE) < (int)(2 + len))
		return -1;
	return 0;
}

int node_writeable(struct node *n)
{
	struct outmsg *o;

	if (n->closing)
		return send_close(n);
	if (!n->outq.head)
		return 0;
	o = lws_container_of(n->outq.head, struct outmsg, link);
	lws_dll2_remove(&o->link);
	n->out_bytes -= o->len;
	if (lws_write(n->wsi, o->data + LWS_PRE, o->len, LWS_WRITE_TEXT) < (int)o->len) {
		free(o);
		log_warn("node %s (%s): write failed", node_name(n), n->ip);
		return -1;
	}
	free(o);
	if (n->outq.head)
		lws_callback_on_writable(n->wsi);
	return 0;
}

/* Close from inside the receive callback: reason now, caller returns -1. */
static int close_now(struct node *n, int code, const char *reason)
{
	log_info("node %s (%s): closing: %s", node_name(n), n->ip, reason);
	lws_close_reason(
		n->wsi, (enum lws_close_status)code, (unsigned char *)reason, strlen(reason));
	n->closing = true;
	models_node_update(n);
	return -1;
}

/* --- the registry --- */

static void models_detach(struct node *n)
{
	for (size_t i = 0; i < n->n_models; i++) {
		struct model *m = n->models[i].model;

		models_nm_unfile(&n->models[i]);
		lws_dll2_remove(&n->models[i].link);
		models_release(n->r->models, m);
	}
	free(n->models);
	n->models = NULL;
	n->n_models = 0;
}

static void models_attach(struct node *n, const struct ic_model_info *models, size_t count)
{
	n->models = xcalloc(count, sizeof(*n->models));
	n->n_models = 0;
	for (size_t i = 0; i < count; i++) {
		struct model *m;
		bool dup = false;

		for (size_t j = 0; j < n->n_models; j++)
			if (strcmp(n->models[j].model->name, models[i].name) == 0)
				dup = true;
		if (dup)
			continue;
		m = models_get(n->r->models, models[i].name);
		n->models[n->n_models].node = n;
		n->models[n->n_models].model = m;
		n->models[n->n_models].size = models[i].size;
		n->models[n->n_models].caps = models[i].caps;
		n->models[n->n_models].load_class = -1;
		lws_dll2_add_tail(&n->models[n->n_models].link, &m->nodes);
		n->n_models++;
	}
}

static void unregister(struct node *n, const char *reason)
{
	if (!n->registered)
		return;
	n->registered = false;
	probe_node_down(n);
	standing_node_down(n);
	lws_dll2_remove(&n->link);
	if (strmap_get(n->r->nodes_by_id, n->node_id) == n)
		strmap_remove(n->r->nodes_by_id, n->node_id);
	ipcount_add(n->r->ipcount, n->ip, IPC_NODES, -1);
	models_detach(n);
	sched_node_lost(n, reason);
	trust_detach(n);
}

static int clamp_concurrency(int v)
{
	if (v < IC_CONCURRENCY_MIN)
		return IC_CONCURRENCY_MIN;
	if (v > IC_CONCURRENCY_MAX)
		return IC_CONCURRENCY_MAX;
	return v;
}

static int handle_register(struct node *n, struct ic_msg *m)
{
	const char *why = ic_register_check(m);
	struct node *old;
	int same_ip;

	if (why)
		return close_now(n, CLOSE_POLICY, why);
	old = strmap_get(n->r->nodes_by_id, m->node_id);
	same_ip = old && strcmp(old->ip, n->ip) == 0 ? 1 : 0;
	if (ipcount_get(n->r->ipcount, n->ip, IPC_NODES) - same_ip >= n->r->cfg->nodes_per_ip)
		return close_now(n, CLOSE_POLICY, IC_CLOSE_TOO_MANY_NODES);
	if (!old && nodes_count(n->r) >= (unsigned long)n->r->cfg->max_nodes)
		return close_now(n, CLOSE_TRY_LATER, "too many nodes");
	if (n->r->draining)
		return close_now(n, 1001, "server shutting down");
	tq_cancel(&n->reg_timer);
	n->node_id = xstrdup(m->node_id);
	n->ollama_version = m->ollama_version ? xstrdup(m->ollama_version) : NULL;
	n->max_concurrent = clamp_concurrency(m->max_concurrent ? m->max_concurrent : 1);
	n->available = true;
	n->registered = true;
	n->registered_us = router_now_us();
	trust_attach(n);
	models_attach(n, m->models, m->n_models);
	lws_dll2_add_tail(&n->link, &n->r->nodes);
	strmap_put(n->r->nodes_by_id, n->node_id, n);
	ipcount_add(n->r->ipcount, n->ip, IPC_NODES, 1);
	models_node_update(n);
	log_info("node %s registered from %s: %zu models, max_concurrent %d", n->node_id, n->ip,
		n->n_models, n->max_concurrent);
	node_send(n,
		ic_msg_registered_new(
			n->node_id, features, sizeof(features) / sizeof(features[0])));
	hb_arm(n);
	if (n->r->cluster)
		cluster_node_claim(n->r->cluster, n->node_id);
	if (old) {
		/* after the new socket is in, so old's chats can move to it */
		log_notice("node %s: re-registered from %s, replacing the socket from %s",
			m->node_id, n->ip, old->ip);
		unregister(old, "node re-registered");
		node_close(old, CLOSE_NORMAL, IC_CLOSE_REREGISTERED);
	}
	sched_node_ready(n);
	probe_node_up(n);
	standing_node_up(n);
	return 0;
}

void node_registered_elsewhere(struct node *n, const char *instance)
{
	if (n->closing)
		return;
	log_notice("node %s: registered on instance %s, closing its socket from %s", n->node_id,
		instance, n->ip);
	node_close(n, CLOSE_NORMAL, IC_CLOSE_REREGISTERED);
}

/* Extension: a fresh model list, checked like a registration's. */
static void handle_models_update(struct node *n, struct ic_msg *m)
{
	if (m->n_models == 0 || m->n_models > IC_MODELS_PER_NODE_MAX) {
		log_warn("node %s: models_update with %zu models ignored", n->node_id, m->n_models);
		return;
	}
	for (size_t i = 0; i < m->n_models; i++) {
		if (!m->models[i].name || !ic_valid_model_name(m->models[i].name)) {
			log_warn("node %s: models_update with an invalid model name ignored",
				n->node_id);
			return;
		}
	}
	models_detach(n);
	models_attach(n, m->models, m->n_models);
	models_node_update(n);
	log_info("node %s: model list updated (%zu models)", n->node_id, n->n_models);
	sched_node_ready(n);
}

static struct chat *find_request(struct node *n, const char *request_id)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, n->requests.head)
	{
		struct chat *c = lws_container_of(d, struct chat, node_link);

		if (strcmp(c->request_id, request_id) == 0)
			return c;
	}
	lws_end_foreach_dll(d);
	return NULL;
}

static void handle_request_message(struct node *n, struct ic_msg *m, const char *text, size_t len)
{
	struct chat *c = find_request(n, m->request_id);

	if (c && c->x && xchat_is_proxy(c)) {
		/* a peer's chat: the frame goes there as it is */
		struct chunk_view v = { 0 };

		if (m->type == IC_MSG_INFERENCE_CHUNK) {
			chunk_view_of_json(m->chunk, &v);
			c->started = true;
		} else if (!n->r->draining && trust_error_charged(m->error, c->started)) {
			trust_error(n); /* as chat_node_message() for a local chat */
		}
		chat_proxy_frame(c, text, len, m->type == IC_MSG_INFERENCE_ERROR || v.done);
		return;
	}

	if (!c && probe_node_message(n, m))
		return;
	if (!c) {
		/* late chunks of a cancelled request, or another node's id */
		log_info("node %s (%s): %s for a request not assigned to it: dropped", n->node_id,
			n->ip, ic_msg_type_name(m->type));
		return;
	}
	chat_node_message(c, m);
}

/* An inference_chunk read by chunk_parse(): as handle_request_message(). */
static void handle_chunk(struct node *n, const struct chunk_view *v)
{
	struct chat *c = find_request(n, v->request_id);

	if (c && c->x && xchat_is_proxy(c)) {
		chat_proxy_chunk(c, v); /* the frame was decoded in place */
		return;
	}

	if (!c && probe_node_chunk(n, v))
		return;
	if (!c) {
		log_info("node %s (%s): %s for a request not assigned to it: dropped", n->node_id,
			n->ip, ic_msg_type_name(IC_MSG_INFERENCE_CHUNK));
		return;
	}
	chat_node_chunk(c, v);
}

static void handle_heartbeat(struct node *n, struct ic_msg *m)
{
	bool was = n->available;

	/* the node_id inside is not trusted: the socket says who this is */
	n->reported_active = m->active_requests;
	n->available = m->available;
	models_node_update(n);
	if (was != n->available)
		log_info("node %s: %s", n->node_id, n->available ? "available" : "unavailable");
	if (!was && n->available)
		sched_node_ready(n);
}

static int handle_message(struct node *n, const char *text, size_t len)
{
	struct ic_msg m;
	char err[IC_ERRBUF_MAX];
	int rc = 0;

	memset(&m, 0, sizeof(m));
	if (n->registered)
		hb_touch(n); /* any frame shows the node is alive */
	if (ic_msg_parse(text, len, &m, err, sizeof(err)) < 0) {
		if (!n->registered) {
			rc = handle_register(n, &m);
		} else {
			log_warn("node %s (%s): bad message ignored: %s", n->node_id, n->ip, err);
		}
		ic_msg_clear(&m);
		return rc;
	}
	if (!n->registered) {
		rc = handle_register(n, &m);
		ic_msg_clear(&m);
		return rc;
	}
	switch (m.type) {
	case IC_MSG_HEARTBEAT:
		handle_heartbeat(n, &m);
		break;
	case IC_MSG_INFERENCE_CHUNK:
	case IC_MSG_INFERENCE_ERROR:
		handle_request_message(n, &m, text, len);
		break;
	case IC_MSG_MODELS_UPDATE:
		handle_models_update(n, &m);
		break;
	case IC_MSG_REGISTER:
		log_info("node %s: second register on one socket ignored", n->node_id);
		break;
	default:
		log_debug("node %s: message type %s ignored", n->node_id,
			m.type_name ? m.type_name : "?");
		break;
	}
	ic_msg_clear(&m);
	return 0;
}

int node_rx(struct node *n, const void *in, size_t len, bool first, bool final)
{
	struct chunk_view chunk;
	int rc;

	if (n->closing)
		return 0;
	if (first) {
		buf_reset(&n->rx);
		n->rx_overflow = false;
	}
	if (buf_used(&n->rx) + len > IC_WS_MESSAGE_MAX)
		n->rx_overflow = true;
	if (!n->rx_overflow)
		buf_append(&n->rx, in, len);
	if (!final)
		return 0;
	if (n->rx_overflow) {
		buf_free(&n->rx);
		return close_now(n, CLOSE_TOO_BIG, "message too big");
	}
	/* chunk_parse() does not read tool_calls: such frames take the full parser */
	if (n->registered && buf_used(&n->rx) > 0 &&
		!memmem(buf_head(&n->rx), buf_used(&n->rx), "\"tool_calls\"", 12) &&
		chunk_parse(n->rx.data + n->rx.off, buf_used(&n->rx), &chunk)) {
		/* the common frame, without json-c (chunkparse.h) */
		hb_touch(n);
		handle_chunk(n, &chunk);
		rc = 0;
	} else {
		rc = handle_message(n, buf_head(&n->rx), buf_used(&n->rx));
	}
	if (n->rx.cap > 64 * 1024)
		buf_free(&n->rx); /* do not keep a big buffer per idle node */
	else
		buf_reset(&n->rx);
	return rc;
}

void node_closed(struct node *n)
{
	if (!n)
		return;
	log_info("node %s (%s): disconnected", node_name(n), n->ip);
	tq_cancel(&n->reg_timer);
	tq_cancel(&n->hb_timer);
	n->closing = true;
	unregister(n, "node disconnected");
	outq_free(n);
	buf_free(&n->rx);
	free(n->node_id);
	free(n->ollama_version);
	free(n);
}

void nodes_close_all(struct router *r, int code, const char *reason)
{
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, r->nodes.head)
	{
		struct node *n = lws_container_of(d, struct node, link);

		node_close(n, code, reason);
	}
	lws_end_foreach_dll_safe(d, d1);
}
