/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* cluster.c - summaries of every router instance over NATS (see cluster.h). */
#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster-names.h"
#include "cluster.h"
#include "common/addr.h"
#include "common/log.h"
#include "common/proto.h"
#include "common/xmalloc.h"
#include "modellist.h"
#include "models.h"
#include "nodes.h"
#include "prompt.h"
#include "strmap.h"
#include "xchat.h"

enum qkind { Q_MSG, Q_CLAIM, Q_INBOX, Q_CONNECTED, Q_DISCONNECTED, Q_CLOSED };

/* A message for the lws thread.  Q_INBOX: subject (past the inbox and its
 * dot) and reply (maybe empty) as strings in data before the payload. */
struct qitem {
	struct qitem *next;
	enum qkind kind;
	const char *subject, *reply;
	char *payload; /* NUL-terminated; may be changed by the reader */
	size_t len;    /* of payload */
	size_t size;
	char data[];
};

struct peer {
	char *instance;
	char *inbox;		/* where it takes chats (xchat.h) */
	int64_t quiet_until_us; /* left an offer unanswered: none before this */
	int64_t last_us;
	bool draining;
	long nodes;
	struct model_entry *models;
	size_t n_models;
};

/* A connection and its subscriptions. */
struct conn {
	natsConnection *nc;
	natsSubscription *sub;
	natsSubscription *sub_node;
	natsSubscription *sub_inbox;
};

struct cluster {
	struct router *r;
	char *instance;
	natsOptions *opts;
	/* the lws thread's; nc is NULL while a new one is made */
	natsConnection *nc;
	natsSubscription *sub;
	natsSubscription *sub_node;
	natsSubscription *sub_inbox;
	char *inbox; /* "_INBOX.<nuid>": this instance's own subjects */
	size_t inbox_len;
	/* the queue from the client's threads; the lock guards these five,
	 * and built/built_ready (from the builder thread) */
	pthread_mutex_t lock;
	struct qitem *head, *tail;
	size_t qlen, qbytes;
	unsigned long dropped_queued; /* the queue was full */
	struct conn built;
	bool built_ready;
	/* a connection libnats closed for good (it does after an -ERR) is made
	 * anew: after rebuild_ms on the lws loop, by a short-lived builder
	 * thread (natsConnection_Connect() waits for the server's handshake:
	 * the loop must not); the lws thread's */
	lws_sorted_usec_list_t rebuild;
	int rebuild_ms;
	bool rebuild_due;
	bool building;
	pthread_t builder;
	int64_t up_since_us;
	/* the lws thread's: a counter apiece, so no lock (cluster_dropped()
	 * adds dropped_queued) */
	unsigned long dropped_bad; /* summaries and claims out of shape */
	unsigned long rejected;	   /* names and inboxes out of their grammar */
	struct peer peers[CLUSTER_PEERS_MAX];
	size_t n_peers;
	lws_sorted_usec_list_t tick;
	char *last; /* the last summary sent, without its seq */
	int64_t last_pub_us;
	uint64_t seq;
	bool connected;
};

/* --- the client's threads --- */

/* Queue a message for the lws thread, waking it when the queue was empty
 * (it takes the whole queue at once: one wake-up for a burst). */
static void enqueue_parts(struct cluster *c, enum qkind kind, const char *subject,
	const char *reply, const char *data, size_t len)
{
	size_t slen = subject ? strlen(subject) : 0, rlen = reply ? strlen(reply) : 0;
	size_t size = sizeof(struct qitem) + slen + 1 + rlen + 1 + len + 1;
	struct qitem *q;
	bool wake;

	pthread_mutex_lock(&c->lock);
	if (c->qlen >= CLUSTER_QUEUE_MAX || c->qbytes + size > CLUSTER_QUEUE_BYTES_MAX ||
		!(q = malloc(size))) {
		c->dropped_queued++;
		pthread_mutex_unlock(&c->lock);
		return;
	}
	q->next = NULL;
	q->kind = kind;
	q->size = size;
	q->subject = memcpy(q->data, subject ? subject : "", slen + 1);
	q->reply = memcpy(q->data + slen + 1, reply ? reply : "", rlen + 1);
	q->payload = q->data + slen + 1 + rlen + 1;
	q->len = len;
	if (len)
		memcpy(q->data + slen + 1 + rlen + 1, data, len);
	q->data[slen + 1 + rlen + 1 + len] = '\0';
	if (c->tail)
		c->tail->next = q;
	else
		c->head = q;
	c->tail = q;
	wake = c->qlen++ == 0;
	c->qbytes += size;
	pthread_mutex_unlock(&c->lock);
	if (wake)
		lws_cancel_service(c->r->ctx);
}

static void enqueue(struct cluster *c, enum qkind kind, const char *data, size_t len)
{
	enqueue_parts(c, kind, NULL, NULL, data, len);
}

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	struct cluster *c = closure;
	int len = natsMsg_GetDataLength(msg);

	(void)nc;
	(void)sub;
	if (len > 0 && len <= CLUSTER_SUMMARY_MAX)
		enqueue(c, Q_MSG, natsMsg_GetData(msg), (size_t)len);
	natsMsg_Destroy(msg);
}

static void on_claim(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	struct cluster *c = closure;
	int len = natsMsg_GetDataLength(msg);

	(void)nc;
	(void)sub;
	if (len > 0 && len <= 4096)
		enqueue(c, Q_CLAIM, natsMsg_GetData(msg), (size_t)len);
	natsMsg_Destroy(msg);
}

/* <inbox>.SUFFIX: chats between instances (xchat.c).  "No responders"
 * (the peer's subscription is gone) comes back as an empty message with a
 * status header: it is passed on as the answer "busy". */
static void on_inbox(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	static const char no_responders[] = CLUSTER_ANSWER_PREFIX
		"{\"" CLUSTER_M_OK "\":false,\"" CLUSTER_M_ERROR "\":\"no responders\"}";
	struct cluster *c = closure;
	const char *subject = natsMsg_GetSubject(msg);
	int len = natsMsg_GetDataLength(msg);

	(void)nc;
	(void)sub;
	if (strlen(subject) > c->inbox_len + 1) {
		subject += c->inbox_len + 1;
		if (natsMsg_IsNoResponders(msg))
			enqueue_parts(c, Q_INBOX, subject, NULL, no_responders,
				sizeof(no_responders) - 1);
		else if (len > 0)
			enqueue_parts(c, Q_INBOX, subject, natsMsg_GetReply(msg),
				natsMsg_GetData(msg), (size_t)len);
	}
	natsMsg_Destroy(msg);
}

static void on_connected(natsConnection *nc, void *closure)
{
	(void)nc;
	enqueue(closure, Q_CONNECTED, NULL, 0);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
	(void)nc;
	enqueue(closure, Q_DISCONNECTED, NULL, 0);
}

static void on_closed(natsConnection *nc, void *closure)
{
	(void)nc;
	enqueue(closure, Q_CLOSED, NULL, 0);
}

/* --- peers (lws thread) --- */

void cluster_count_rejected(struct cluster *c, const char *what)
{
	/* not the name itself: it may hold anything; and a flood of them logs
	 * a line now and then */
	if (c->rejected++ % 1000 == 0)
		log_warn("cluster: %s with a malformed instance name or inbox dropped (%lu so "
			 "far)",
			what, c->rejected);
}

static void peer_clear(struct peer *p)
{
	for (size_t i = 0; i < p->n_models; i++)
		free(p->models[i].name);
	free(p->models);
	free(p->instance);
	free(p->inbox);
	memset(p, 0, sizeof(*p));
}

static struct peer *peer_find(struct cluster *c, const char *instance)
{
	for (size_t i = 0; i < c->n_peers; i++)
		if (strcmp(c->peers[i].instance, instance) == 0)
			return &c->peers[i];
	return NULL;
}

static void peer_forget(struct cluster *c, size_t i)
{
	char *name = c->peers[i].instance;

	log_notice("cluster: instance %s forgotten (silent for %d s)", name,
		CLUSTER_FORGET_PERIODS * CLUSTER_PERIOD_MS / 1000);
	c->peers[i].instance = NULL;
	peer_clear(&c->peers[i]);
	c->peers[i] = c->peers[--c->n_peers];
	memset(&c->peers[c->n_peers], 0, sizeof(c->peers[0]));
	/* after it is gone: its chats fail over to the others */
	xchat_peer_gone(c->r, name);
	free(name);
}

static bool get_int(json_object *o, const char *key, int64_t max, int64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return *out >= 0 && *out <= max;
}

/* A peer's model's capabilities as it knows them, else as our name
 * patterns say (prompt_model_caps()). */
static unsigned peer_caps(const struct router_config *cfg, json_object *m, const char *name)
{
	json_object *think, *tools;

	if (!json_object_object_get_ex(m, CLUSTER_M_THINKING, &think) ||
		!json_object_object_get_ex(m, CLUSTER_M_TOOLS, &tools))
		return prompt_model_caps(cfg, NULL, name) & (IC_CAP_THINKING | IC_CAP_TOOLS);
	return (json_object_get_boolean(think) ? IC_CAP_THINKING : 0) |
		(json_object_get_boolean(tools) ? IC_CAP_TOOLS : 0);
}

/* Read models[] of a summary into p (replacing what it had): false if bad. */
static bool peer_models_read(const struct router_config *cfg, struct peer *p, json_object *arr)
{
	size_t n = json_object_array_length(arr);
	struct model_entry *v;

	if (n > 100000)
		return false;
	v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(arr, i), *name;
		int64_t nodes, free_slots, size, since;

		if (!json_object_is_type(m, json_type_object) ||
			!json_object_object_get_ex(m, CLUSTER_M_NAME, &name) ||
			!json_object_is_type(name, json_type_string) ||
			!get_int(m, CLUSTER_M_NODES, 1000000, &nodes) ||
			!get_int(m, CLUSTER_M_FREE, 100000000, &free_slots)) {
			for (size_t j = 0; j < i; j++)
				free(v[j].name);
			free(v);
			return false;
		}
		/* what the public clients see; absent from older peers */
		if (!get_int(m, CLUSTER_M_SIZE, INT64_MAX, &size))
			size = 0;
		if (!get_int(m, CLUSTER_M_SINCE, INT64_MAX, &since))
			since = INT64_MAX; /* decides only where no peer says */
		v[i].name = xstrdup(json_object_get_string(name));
		v[i].nodes = (int)nodes;
		v[i].free_slots = (int)free_slots;
		v[i].size = size;
		v[i].since_us = since;
		v[i].caps = peer_caps(cfg, m, v[i].name);
	}
	for (size_t i = 0; i < p->n_models; i++)
		free(p->models[i].name);
	free(p->models);
	p->models = v;
	p->n_models = n;
	return true;
}

static void summary_received(struct cluster *c, const char *text, size_t len)
{
	json_tokener *tok = json_tokener_new();
	json_object *o = json_tokener_parse_ex(tok, text, (int)len), *inst, *models, *dr, *ib;
	const char *name;
	struct peer *p;
	int64_t nodes;

	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object) ||
		!json_object_object_get_ex(o, CLUSTER_M_INSTANCE, &inst) ||
		!json_object_is_type(inst, json_type_string) ||
		!json_object_object_get_ex(o, CLUSTER_M_MODELS, &models) ||
		!json_object_is_type(models, json_type_array) ||
		!get_int(o, CLUSTER_M_NODES, 100000000, &nodes)) {
		c->dropped_bad++;
		goto out;
	}
	name = json_object_get_string(inst);
	if (strcmp(name, c->instance) == 0)
		goto out; /* our own */
	/* the inbox goes into our NATS stream when we offer a chat there:
	 * nothing but the shape libnats makes */
	if (!cluster_instance_ok(name) || !json_object_object_get_ex(o, CLUSTER_M_INBOX, &ib) ||
		!json_object_is_type(ib, json_type_string) ||
		!cluster_inbox_ok(json_object_get_string(ib))) {
		cluster_count_rejected(c, "a summary");
		goto out;
	}
	p = peer_find(c, name);
	if (!p) {
		if (c->n_peers == CLUSTER_PEERS_MAX) {
			c->dropped_bad++;
			goto out;
		}
		p = &c->peers[c->n_peers++];
		p->instance = xstrdup(name);
		log_notice("cluster: instance %s joined", name);
	}
	if (!peer_models_read(c->r->cfg, p, models)) {
		c->dropped_bad++;
		goto out;
	}
	p->nodes = (long)nodes;
	p->draining = json_object_object_get_ex(o, CLUSTER_M_DRAINING, &dr) &&
		json_object_get_boolean(dr);
	free(p->inbox);
	p->inbox = xstrdup(json_object_get_string(ib));
	p->last_us = router_now_us();
out:
	json_object_put(o);
}

/* --- node ids (lws thread) --- */

void cluster_node_claim(struct cluster *c, const char *node_id)
{
	json_object *o = json_object_new_object();
	const char *text;

	json_object_object_add(o, CLUSTER_M_NODE_ID, json_object_new_string(node_id));
	json_object_object_add(o, CLUSTER_M_INSTANCE, json_object_new_string(c->instance));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (c->nc)
		natsConnection_Publish(c->nc, CLUSTER_SUBJECT_NODE, text, (int)strlen(text));
	json_object_put(o);
}

static void claim_received(struct cluster *c, const char *text, size_t len)
{
	json_tokener *tok = json_tokener_new();
	json_object *o = json_tokener_parse_ex(tok, text, (int)len), *id, *inst;
	struct node *n;

	json_tokener_free(tok);
	if (!o || !json_object_object_get_ex(o, CLUSTER_M_NODE_ID, &id) ||
		!json_object_is_type(id, json_type_string) ||
		!json_object_object_get_ex(o, CLUSTER_M_INSTANCE, &inst) ||
		!json_object_is_type(inst, json_type_string)) {
		c->dropped_bad++;
		goto out;
	}
	if (strcmp(json_object_get_string(inst), c->instance) == 0)
		goto out; /* ours */
	if (!cluster_instance_ok(json_object_get_string(inst))) {
		cluster_count_rejected(c, "a node claim");
		goto out;
	}
	n = strmap_get(c->r->nodes_by_id, json_object_get_string(id));
	if (n)
		node_registered_elsewhere(n, json_object_get_string(inst));
out:
	json_object_put(o);
}

/* --- our summary (lws thread) --- */

/* The summary's body without instance and seq (to see a change). */
static json_object *summary_new(struct cluster *c)
{
	json_object *o = json_object_new_object();
	json_object *arr = json_object_new_array();
	struct model_list l = { 0 };

	model_list_add_local(c->r, &l);
	for (size_t i = 0; i < l.n; i++) {
		const struct model_entry *e = &l.v[i];
		json_object *m = json_object_new_object();

		json_object_object_add(m, CLUSTER_M_NAME, json_object_new_string(e->name));
		json_object_object_add(m, CLUSTER_M_NODES, json_object_new_int(e->nodes));
		/* a draining instance takes no chat of a peer's */
		json_object_object_add(
			m, CLUSTER_M_FREE, json_object_new_int(c->r->draining ? 0 : e->free_slots));
		json_object_object_add(m, CLUSTER_M_SIZE, json_object_new_int64(e->size));
		json_object_object_add(m, CLUSTER_M_THINKING,
			json_object_new_boolean((e->caps & IC_CAP_THINKING) != 0));
		json_object_object_add(
			m, CLUSTER_M_TOOLS, json_object_new_boolean((e->caps & IC_CAP_TOOLS) != 0));
		json_object_object_add(m, CLUSTER_M_SINCE, json_object_new_int64(e->since_us));
		json_object_array_add(arr, m);
	}
	model_list_free(&l);
	json_object_object_add(o, CLUSTER_M_V, json_object_new_int(CLUSTER_PROTO_VERSION));
	json_object_object_add(o, CLUSTER_M_DRAINING, json_object_new_boolean(c->r->draining));
	json_object_object_add(
		o, CLUSTER_M_NODES, json_object_new_int64((int64_t)nodes_count(c->r)));
	json_object_object_add(o, CLUSTER_M_MODELS, arr);
	return o;
}

static void publish(struct cluster *c)
{
	json_object *o = summary_new(c);
	const char *body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	int64_t now = router_now_us();
	bool changed = !c->last || strcmp(c->last, body) != 0;

	if (changed || now - c->last_pub_us >= (int64_t)CLUSTER_PERIOD_MS * 1000) {
		const char *text;

		free(c->last);
		c->last = xstrdup(body);
		json_object_object_add(o, CLUSTER_M_INSTANCE, json_object_new_string(c->instance));
		json_object_object_add(o, CLUSTER_M_INBOX, json_object_new_string(c->inbox));
		json_object_object_add(o, CLUSTER_M_SEQ, json_object_new_int64((int64_t)++c->seq));
		text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		/* while disconnected the client buffers a few; the next one is
		 * a full summary anyway */
		if (c->nc)
			natsConnection_Publish(
				c->nc, CLUSTER_SUBJECT_SUMMARY, text, (int)strlen(text));
		c->last_pub_us = now;
	}
	json_object_put(o);
}

static void tick(lws_sorted_usec_list_t *sul)
{
	struct cluster *c = lws_container_of(sul, struct cluster, tick);
	int64_t now = router_now_us();

	for (size_t i = 0; i < c->n_peers;) {
		if (now - c->peers[i].last_us >
			(int64_t)CLUSTER_FORGET_PERIODS * CLUSTER_PERIOD_MS * 1000)
			peer_forget(c, i);
		else
			i++;
	}
	publish(c);
	lws_sul_schedule(c->r->ctx, 0, &c->tick, tick, (lws_usec_t)CLUSTER_TICK_MS * 1000);
}

static void rebuild_schedule(struct cluster *c);

/* The NATS server said -ERR (or the like) and libnats closed the
 * connection for good: it never comes back by itself. */
static void conn_closed(struct cluster *c)
{
	const char *why = NULL;

	if (!c->nc || !natsConnection_IsClosed(c->nc) || c->building || c->rebuild_due)
		return; /* not the current one, or being made anew already */
	if (c->connected) {
		c->connected = false;
		xchat_connection_lost(c->r);
	}
	/* up for a while: this is a new trouble, start the waits afresh */
	if (router_now_us() - c->up_since_us > (int64_t)CLUSTER_REBUILD_MAX_MS * 1000)
		c->rebuild_ms = CLUSTER_REBUILD_MIN_MS;
	if (natsConnection_GetLastError(c->nc, &why) == NATS_OK || !why)
		why = "";
	log_warn("cluster: the NATS connection was closed (%.80s); a new one in %d ms", why,
		c->rebuild_ms);
	rebuild_schedule(c);
}

/* The builder's connection, once it is done with it. */
static void take_built(struct cluster *c)
{
	struct conn k;
	bool ready;

	pthread_mutex_lock(&c->lock);
	ready = c->built_ready;
	k = c->built;
	c->built_ready = false;
	memset(&c->built, 0, sizeof(c->built));
	pthread_mutex_unlock(&c->lock);
	if (!ready)
		return;
	pthread_join(c->builder, NULL);
	c->building = false;
	c->nc = k.nc;
	c->sub = k.sub;
	c->sub_node = k.sub_node;
	c->sub_inbox = k.sub_inbox;
	if (!c->nc) {
		log_warn("cluster: a new NATS connection could not be made; again in %d ms",
			c->rebuild_ms);
		rebuild_schedule(c);
		return;
	}
	log_info("cluster: a new NATS connection made");
	conn_closed(c); /* closed again before we saw it */
}

void cluster_service(struct cluster *c)
{
	struct qitem *q;

	if (!c)
		return;
	take_built(c);
	pthread_mutex_lock(&c->lock);
	q = c->head;
	c->head = c->tail = NULL;
	c->qlen = 0;
	c->qbytes = 0;
	pthread_mutex_unlock(&c->lock);
	while (q) {
		struct qitem *next = q->next;

		switch (q->kind) {
		case Q_MSG:
			summary_received(c, q->payload, q->len);
			break;
		case Q_CLAIM:
			claim_received(c, q->payload, q->len);
			break;
		case Q_INBOX:
			xchat_message(c->r, q->subject, q->reply, q->payload, q->len);
			break;
		case Q_CONNECTED:
			if (!c->connected) {
				log_notice("cluster: connected to NATS as %s", c->instance);
				c->up_since_us = router_now_us();
			}
			c->connected = true;
			break;
		case Q_DISCONNECTED:
			if (c->connected)
				log_warn("cluster: NATS connection lost; serving local nodes, "
					 "reconnecting");
			c->connected = false;
			xchat_connection_lost(c->r);
			break;
		case Q_CLOSED:
			conn_closed(c);
			break;
		}
		free(q);
		q = next;
	}
}

/* --- making and freeing --- */

static char *default_instance(int port)
{
	char host[256];

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "router");
	host[sizeof(host) - 1] = '\0';
	return xasprintf("%s:%d", host, port);
}

/* "nats://HOST[:PORT]" with HOST a name, an IPv4 address or "[V6]": the
 * client would take anything and retry it for ever. */
static bool url_ok(const char *url)
{
	const char *h = url + 7;
	struct ic_hostport hp;

	if (strncmp(url, "nats://", 7) != 0 || !*h || strpbrk(h, " \t,/@"))
		return false;
	if (ic_hostport_split(h, strlen(h), 0, &hp) != IC_HP_OK || hp.host_len == 0)
		return false;
	if (!hp.bracketed && strpbrk(h, "[]"))
		return false;
	return !hp.port || ic_port_parse(hp.port, hp.port_len) > 0;
}

/* This instance's inbox: frames and answers for its chats on peers, and
 * chats for its nodes, come there (xchat.h). */
static natsStatus inbox_make(struct cluster *c)
{
	natsInbox *inbox = NULL;
	natsStatus s = natsInbox_Create(&inbox);

	if (s != NATS_OK)
		return s;
	c->inbox = xstrdup(inbox);
	c->inbox_len = strlen(c->inbox);
	natsInbox_Destroy(inbox);
	return NATS_OK;
}

/* Connect with c->opts (an unreachable server is retried in the
 * background) and subscribe: k, and whether it is connected already.
 * Blocks for the server's handshake: at start-up, or on the builder. */
static natsStatus conn_open(struct cluster *c, struct conn *k, bool *connected)
{
	natsStatus s = natsConnection_Connect(&k->nc, c->opts);

	*connected = s == NATS_OK;
	if (s == NATS_NOT_YET_CONNECTED)
		s = NATS_OK; /* retried in the background */
	if (s == NATS_OK)
		s = natsConnection_Subscribe(&k->sub, k->nc, CLUSTER_SUBJECT_SUMMARY, on_msg, c);
	if (s == NATS_OK)
		s = natsConnection_Subscribe(
			&k->sub_node, k->nc, CLUSTER_SUBJECT_NODE, on_claim, c);
	if (s == NATS_OK) {
		char *subj = xasprintf("%s.>", c->inbox);

		s = natsConnection_Subscribe(&k->sub_inbox, k->nc, subj, on_inbox, c);
		free(subj);
	}
	if (s == NATS_OK)
		s = natsSubscription_SetPendingLimits(
			k->sub_inbox, CLUSTER_QUEUE_MAX, CLUSTER_QUEUE_BYTES_MAX);
	return s;
}

/* Unsubscribe (unless the connection is closed), close, free. */
static void conn_destroy(struct conn *k)
{
	bool open = k->nc && !natsConnection_IsClosed(k->nc);

	if (open && k->sub)
		natsSubscription_Unsubscribe(k->sub);
	if (open && k->sub_node)
		natsSubscription_Unsubscribe(k->sub_node);
	if (open && k->sub_inbox)
		natsSubscription_Unsubscribe(k->sub_inbox);
	if (open && natsConnection_Status(k->nc) == NATS_CONN_STATUS_CONNECTED) {
		/* the last frames and cancels of chats that ended at shutdown */
		natsConnection_FlushTimeout(k->nc, 500);
	}
	if (k->nc)
		natsConnection_Close(k->nc);
	natsSubscription_Destroy(k->sub);
	natsSubscription_Destroy(k->sub_node);
	natsSubscription_Destroy(k->sub_inbox);
	natsConnection_Destroy(k->nc);
	memset(k, 0, sizeof(*k));
}

/* The builder thread: a connection for the lws thread (take_built()). */
static void *builder_main(void *arg)
{
	struct cluster *c = arg;
	struct conn k = { 0 };
	bool connected = false;

	if (conn_open(c, &k, &connected) != NATS_OK)
		conn_destroy(&k);
	pthread_mutex_lock(&c->lock);
	c->built = k;
	c->built_ready = true;
	pthread_mutex_unlock(&c->lock);
	if (connected)
		enqueue(c, Q_CONNECTED, NULL, 0);
	lws_cancel_service(c->r->ctx);
	return NULL;
}

static void rebuild_now(lws_sorted_usec_list_t *sul)
{
	struct cluster *c = lws_container_of(sul, struct cluster, rebuild);
	struct conn old = { c->nc, c->sub, c->sub_node, c->sub_inbox };

	c->rebuild_due = false;
	conn_destroy(&old); /* closed already: nothing waits */
	c->nc = NULL;
	c->sub = c->sub_node = c->sub_inbox = NULL;
	c->building = pthread_create(&c->builder, NULL, builder_main, c) == 0;
	if (!c->building)
		rebuild_schedule(c);
}

/* A new connection after rebuild_ms, and the next wait doubled. */
static void rebuild_schedule(struct cluster *c)
{
	c->rebuild_due = true;
	lws_sul_schedule(c->r->ctx, 0, &c->rebuild, rebuild_now, (lws_usec_t)c->rebuild_ms * 1000);
	c->rebuild_ms = c->rebuild_ms * 2 > CLUSTER_REBUILD_MAX_MS ? CLUSTER_REBUILD_MAX_MS
								   : c->rebuild_ms * 2;
}

struct cluster *cluster_new(
	struct router *r, const char *url, const char *instance, int listen_port, char **err)
{
	struct cluster *c;
	struct conn k = { 0 };
	bool connected = false;
	natsStatus s;

	if (!url_ok(url)) {
		*err = xasprintf("cluster.url '%s' is not nats://HOST[:PORT]", url);
		return NULL;
	}
	if (instance && instance[0] && !cluster_instance_ok(instance)) {
		*err = xasprintf("cluster.instance '%.80s' is not 1 to %d of A-Z a-z 0-9 . _ : -",
			instance, CLUSTER_INSTANCE_MAX);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));

	c->r = r;
	c->instance = instance && instance[0] ? xstrdup(instance) : default_instance(listen_port);
	c->rebuild_ms = CLUSTER_REBUILD_MIN_MS;
	pthread_mutex_init(&c->lock, NULL);
	if (!cluster_instance_ok(c->instance)) {
		*err = xasprintf("the host name and port '%.80s' are no cluster instance name; "
				 "set [cluster] instance (1 to %d of A-Z a-z 0-9 . _ : -)",
			c->instance, CLUSTER_INSTANCE_MAX);
		cluster_free(c);
		return NULL;
	}
	s = inbox_make(c);
	if (s == NATS_OK)
		s = natsOptions_Create(&c->opts);
	if (s == NATS_OK)
		s = natsOptions_SetURL(c->opts, url);
	if (s == NATS_OK)
		s = natsOptions_SetName(c->opts, c->instance);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(c->opts, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(c->opts, 500);
	/* the client's flusher thread would hold every publish for 1 ms to
	 * gather more; xchat.c gathers the frames of a loop turn itself */
	if (s == NATS_OK)
		s = natsOptions_SetSendAsap(c->opts, true);
	/* publishes are written on the lws thread: a stalled server must not
	 * stop it (past the deadline the client drops the connection and
	 * reconnects, as for a lost one) */
	if (s == NATS_OK)
		s = natsOptions_SetWriteDeadline(c->opts, CLUSTER_WRITE_DEADLINE_MS);
	if (s == NATS_OK)
		s = natsOptions_SetRetryOnFailedConnect(c->opts, true, on_connected, c);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(c->opts, on_connected, c);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(c->opts, on_disconnected, c);
	/* libnats gives up on a connection after an -ERR from the server (one
	 * a peer could provoke): made anew (conn_closed()) */
	if (s == NATS_OK)
		s = natsOptions_SetClosedCB(c->opts, on_closed, c);
	if (s == NATS_OK)
		s = conn_open(c, &k, &connected);
	c->nc = k.nc;
	c->sub = k.sub;
	c->sub_node = k.sub_node;
	c->sub_inbox = k.sub_inbox;
	if (s != NATS_OK) {
		*err = xasprintf("cluster.url '%s': %s", url, natsStatus_GetText(s));
		cluster_free(c);
		return NULL;
	}
	if (connected)
		enqueue(c, Q_CONNECTED, NULL, 0);
	tick(&c->tick);
	return c;
}

void cluster_free(struct cluster *c)
{
	struct conn k;
	struct qitem *q;

	if (!c)
		return;
	lws_sul_cancel(&c->tick);
	lws_sul_cancel(&c->rebuild);
	if (c->building) {
		/* at most the connect timeout: the process is ending */
		pthread_join(c->builder, NULL);
		conn_destroy(&c->built);
	}
	k = (struct conn){ c->nc, c->sub, c->sub_node, c->sub_inbox };
	conn_destroy(&k);
	natsOptions_Destroy(c->opts);
	/* the client's threads are gone after this: nothing wakes lws */
	nats_CloseAndWait(2000);
	for (q = c->head; q;) {
		struct qitem *next = q->next;

		free(q);
		q = next;
	}
	for (size_t i = 0; i < c->n_peers; i++)
		peer_clear(&c->peers[i]);
	pthread_mutex_destroy(&c->lock);
	free(c->last);
	free(c->instance);
	free(c->inbox);
	free(c);
}

unsigned long cluster_rejected(const struct cluster *c)
{
	return c->rejected;
}

/* --- answers --- */

const char *cluster_instance(const struct cluster *c)
{
	return c->instance;
}

int cluster_peers(const struct cluster *c)
{
	return (int)c->n_peers;
}

long cluster_peer_nodes(const struct cluster *c)
{
	long n = 0;

	for (size_t i = 0; i < c->n_peers; i++)
		n += c->peers[i].nodes;
	return n;
}

unsigned long cluster_dropped(const struct cluster *c)
{
	unsigned long n;

	pthread_mutex_lock((pthread_mutex_t *)&c->lock);
	n = c->dropped_queued;
	pthread_mutex_unlock((pthread_mutex_t *)&c->lock);
	return n + c->dropped_bad;
}

void cluster_models_add(const struct cluster *c, struct model_list *l)
{
	for (size_t i = 0; i < c->n_peers; i++)
		for (size_t j = 0; j < c->peers[i].n_models; j++)
			model_list_add(l, &c->peers[i].models[j]);
}

/* --- for chats between instances (xchat.c) --- */

const char *cluster_inbox(const struct cluster *c)
{
	return c->inbox;
}

bool cluster_publish(
	struct cluster *c, const char *subject, const char *reply, const void *data, size_t len)
{
	natsStatus s;

	if (!c->connected || !c->nc || len > (size_t)INT32_MAX)
		return false;
	if (reply)
		s = natsConnection_PublishRequest(c->nc, subject, reply, data, (int)len);
	else
		s = natsConnection_Publish(c->nc, subject, data, (int)len);
	return s == NATS_OK;
}

static const struct model_entry *peer_model_of(const struct peer *p, const char *model)
{
	for (size_t i = 0; i < p->n_models; i++)
		if (strcmp(p->models[i].name, model) == 0)
			return &p->models[i];
	return NULL;
}

bool cluster_pick_peer(struct cluster *c, const char *model,
	bool (*skip)(const char *instance, void *ctx), void *ctx, char **instance, char **inbox)
{
	struct peer *best = NULL;
	struct model_entry *best_m = NULL;

	if (!c->connected)
		return false;
	for (size_t i = 0; i < c->n_peers; i++) {
		struct peer *p = &c->peers[i];
		struct model_entry *m = (struct model_entry *)peer_model_of(p, model);

		if (!m || m->free_slots <= 0 || p->draining || !p->inbox ||
			p->quiet_until_us > router_now_us() || (skip && skip(p->instance, ctx)))
			continue;
		if (!best_m || m->free_slots > best_m->free_slots) {
			best = p;
			best_m = m;
		}
	}
	if (!best)
		return false;
	/* until its next summary: spread a burst over the peers */
	best_m->free_slots--;
	*instance = xstrdup(best->instance);
	*inbox = xstrdup(best->inbox);
	return true;
}

void cluster_peer_slot_freed(struct cluster *c, const char *instance, const char *model)
{
	struct peer *p = peer_find(c, instance);
	struct model_entry *m = p ? (struct model_entry *)peer_model_of(p, model) : NULL;

	if (m)
		m->free_slots++;
}

void cluster_peer_silent(struct cluster *c, const char *instance)
{
	struct peer *p = peer_find(c, instance);

	if (p)
		p->quiet_until_us = router_now_us() +
			(int64_t)CLUSTER_FORGET_PERIODS * CLUSTER_PERIOD_MS * 1000;
}

/* Whether a peer (not draining) lists model; with need_free, with a free
 * slot and not silent (cluster_peer_silent()). */
static bool model_on_peers(const struct cluster *c, const char *model, bool need_free)
{
	if (!c->connected)
		return false;
	for (size_t i = 0; i < c->n_peers; i++) {
		const struct peer *p = &c->peers[i];
		const struct model_entry *m = peer_model_of(p, model);

		if (!m || m->nodes == 0 || p->draining || !p->inbox)
			continue;
		if (!need_free || (m->free_slots > 0 && p->quiet_until_us <= router_now_us()))
			return true;
	}
	return false;
}

bool cluster_free_on_peers(const struct cluster *c, const char *model)
{
	return model_on_peers(c, model, true);
}

bool cluster_model_on_peers(const struct cluster *c, const char *model)
{
	return model_on_peers(c, model, false);
}
