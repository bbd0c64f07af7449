/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* sched.c - least-loaded choice, bounded waiting, failover (see sched.h). */
#include <stdlib.h>
#include <sys/random.h>

#include "chat.h"
#include "common/log.h"
#include "models.h"
#include "nodes.h"
#include "sched.h"
#include "cluster.h"
#include "trust.h"
#include "xchat.h"

/* The common multiple of every max_concurrent (1..IC_CONCURRENCY_MAX), so
 * that a load a/m is the whole number (LOAD_SCALE / m) * a. */
#define LOAD_SCALE 2520

static uint32_t rnd(struct router *r)
{
	uint64_t state = r->rnd;

	if (state == 0) {
		if (getrandom(&state, sizeof(state), 0) != sizeof(state) || state == 0)
			state = (uint64_t)router_now_us() | 1;
	}
	/* xorshift64*: tie-breaking needs spread, not secrecy */
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	r->rnd = state;
	return (uint32_t)((state * 2685821657736338717ULL) >> 32);
}

static bool already_tried(const struct chat *c, const struct node *n)
{
	for (int i = 0; i < c->attempts; i++)
		if (c->tried[i] == n->serial)
			return true;
	return false;
}

/* A node of one load class that c has not tried, uniformly at random. */
static struct node *pick_in(struct router *r, const struct nm_vec *v, const struct chat *c)
{
	struct node *best = NULL;
	unsigned seen = 0;

	/* c has tried at most failover_attempts nodes: a few probes suffice */
	for (int i = 0; i < 8; i++) {
		struct node *n = v->v[rnd(r) % v->n]->node;

		if (!already_tried(c, n))
			return n;
	}
	for (size_t i = 0; i < v->n; i++)
		if (!already_tried(c, v->v[i]->node) && rnd(r) % ++seen == 0)
			best = v->v[i]->node;
	return best;
}

/* A class's score, weight_load * (1 - load) + weight_reputation * rep,
 * scaled to a whole number so that equal scores compare equal. */
static int64_t score_of(const struct router *r, int key)
{
	int a, mc, rep;

	models_key_split(r->models, key, &a, &mc, &rep);
	return (int64_t)r->cfg->trust_weight_load * (mc - a) * (LOAD_SCALE / mc) *
		TRUST_POINTS_MAX +
		(int64_t)r->cfg->trust_weight_reputation * rep * LOAD_SCALE;
}

/* The node of m with the best score that can take c; random among equal
 * classes and within one.  m->by_load holds exactly the nodes with a free
 * slot and a reputation not below min_reputation, by load and then by
 * reputation (models.h): of each load only the first class with a node
 * that c has not tried can win. */
static struct node *pick(struct router *r, struct model *m, const struct chat *c)
{
	struct node *best = NULL;
	int64_t best_score = -1;
	int done_load = -1;
	unsigned ties = 0;

	for (size_t i = 0; i < m->n_by_load; i++) {
		int key = m->by_load[i].cls, load = key / (TRUST_POINTS_MAX + 1);
		int64_t s;
		struct node *n;

		if (load == done_load)
			continue;
		n = pick_in(r, &m->by_load[i].nodes, c);
		if (!n)
			continue;
		done_load = load;
		s = score_of(r, key);
		if (s > best_score) {
			best = n;
			best_score = s;
			ties = 1;
		} else if (s == best_score && rnd(r) % ++ties == 0) {
			best = n;
		}
	}
	return best;
}

static void assign(struct chat *c, struct node *n)
{
	xchat_unwait(c);
	c->node = n;
	n->active++;
	models_node_update(n);
	lws_dll2_add_tail(&c->node_link, &n->requests);
	chat_assigned(c);
}

static void unqueue(struct chat *c)
{
	struct model *m = c->waiting_on;

	if (!m)
		return;
	lws_dll2_remove(&c->queue_link);
	c->waiting_on = NULL;
	tq_cancel(&c->wait_timer);
	models_release(c->r->models, m);
}

/* Out of its model's queue, or of the wait for a peer's slot. */
static void unwait(struct chat *c)
{
	unqueue(c);
	if (c->x) {
		xchat_unwait(c);
		tq_cancel(&c->wait_timer);
	}
}

static void wait_over(struct tq_timer *t)
{
	struct chat *c = lws_container_of(t, struct chat, wait_timer);

	log_info("chat %s: no node free for %s within the wait", c->request_id, c->model);
	unwait(c);
	chat_unavailable(c);
}

void sched_submit(struct chat *c)
{
	struct router *r = c->r;
	struct model *m = models_find(r->models, c->model);
	bool local = m && m->nodes.count > 0;
	struct node *n;
	int64_t left;

	if (local && (n = pick(r, m, c))) {
		assign(c, n);
		return;
	}
	/* no free local slot: a peer's, if one has it (xchat.h) */
	if (r->cluster && xchat_submit(c))
		return;
	left = c->wait_deadline_us - router_now_us();
	if (!local) {
		if (left > 0 && r->cluster && cluster_model_on_peers(r->cluster, c->model)) {
			/* only peers have it: wait for one of their slots */
			tq_schedule(&r->wait_q, &c->wait_timer, left, wait_over);
			xchat_wait(c);
			return;
		}
		chat_unavailable(c);
		return;
	}
	if (left <= 0 || m->waiting.count >= (uint32_t)r->cfg->queue_max) {
		chat_unavailable(c);
		return;
	}
	c->waiting_on = m;
	lws_dll2_add_tail(&c->queue_link, &m->waiting);
	tq_schedule(&r->wait_q, &c->wait_timer, left, wait_over);
	if (r->cluster)
		xchat_wait(c); /* a peer's slot may free first */
}

bool sched_take(struct chat *c)
{
	struct model *m = models_find(c->r->models, c->model);
	struct node *n = m && m->nodes.count > 0 ? pick(c->r, m, c) : NULL;

	if (!n)
		return false;
	assign(c, n);
	return true;
}

void sched_retry(struct chat *c)
{
	unwait(c);
	sched_submit(c);
}

void sched_detach(struct chat *c)
{
	struct node *n = c->node;

	unwait(c);
	if (c->x)
		xchat_detach(c);
	if (!n)
		return;
	lws_dll2_remove(&c->node_link);
	c->node = NULL;
	n->active--;
	models_node_update(n);
	sched_node_ready(n);
}

/* Serve the oldest waiting chats that n can take, model by model. */
void sched_node_ready(struct node *n)
{
	bool progress = true;

	if (trust_rep(n) < n->r->cfg->trust_min_reputation)
		return; /* consumers wait for a node they may have */
	while (progress && node_has_capacity(n)) {
		progress = false;
		for (size_t i = 0; i < n->n_models && node_has_capacity(n); i++) {
			struct model *m = n->models[i].model;

			lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, m->waiting.head)
			{
				struct chat *c = lws_container_of(d, struct chat, queue_link);

				if (!already_tried(c, n)) {
					/* keep m alive while unqueueing the chat */
					lws_dll2_remove(&c->queue_link);
					c->waiting_on = NULL;
					tq_cancel(&c->wait_timer);
					assign(c, n);
					progress = true;
					break;
				}
			}
			lws_end_foreach_dll_safe(d, d1);
		}
	}
}

void sched_node_lost(struct node *n, const char *reason)
{
	while (n->requests.head) {
		struct chat *c = lws_container_of(n->requests.head, struct chat, node_link);

		if (c->x && xchat_is_proxy(c)) {
			chat_node_failed(c, reason); /* detached and freed */
			continue;
		}
		chat_node_failed(c, reason);
		if (c->node == n) { /* chat_node_failed must detach it */
			lws_dll2_remove(&c->node_link);
			c->node = NULL;
			n->active--;
			models_node_update(n);
		}
	}
}
