/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* trust.c - reputation per node id (see trust.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "common/proto.h"
#include "models.h"
#include "nodes.h"
#include "sched.h"
#include "strmap.h"
#include "trust.h"

struct trust {
	struct strmap *recs; /* node_id -> struct trust_rec */
};

struct trust *trust_new(void)
{
	struct trust *t = xcalloc(1, sizeof(*t));

	t->recs = strmap_new();
	return t;
}

void trust_free(struct trust *t)
{
	if (!t)
		return;
	strmap_free(t->recs, free);
	free(t);
}

size_t trust_count(const struct trust *t)
{
	return t ? strmap_count(t->recs) : 0;
}

static void forget_one(const char *key, void *val, void *ctx)
{
	struct trust_rec *rec = val;
	struct trust *t = ctx;

	if (rec->connected == 0) {
		strmap_remove(t->recs, key);
		free(rec);
	}
}

struct trust_rec *trust_get(struct router *r, const char *node_id)
{
	struct trust_rec *rec = strmap_get(r->trust->recs, node_id);

	if (rec)
		return rec;
	if (strmap_count(r->trust->recs) >= ROUTER_TRUST_RECORDS_MAX) {
		log_notice("trust: %zu node ids known, forgetting those not connected",
			strmap_count(r->trust->recs));
		strmap_foreach(r->trust->recs, forget_one, r->trust);
	}
	rec = xcalloc(1, sizeof(*rec));
	rec->rep = r->cfg->trust_start;
	strmap_put(r->trust->recs, node_id, rec);
	return rec;
}

void trust_attach(struct node *n)
{
	n->trust = trust_get(n->r, n->node_id);
	n->trust->connected++;
}

void trust_detach(struct node *n)
{
	if (!n->trust)
		return;
	n->trust->connected--;
	n->trust = NULL;
}

int trust_rep(const struct node *n)
{
	return n->trust ? n->trust->rep : n->r->cfg->trust_start;
}

void trust_adjust(struct node *n, int delta)
{
	int v, min;
	bool was_below;

	if (!n->trust || delta == 0)
		return;
	v = n->trust->rep + delta;
	if (v < 0)
		v = 0;
	if (v > TRUST_POINTS_MAX)
		v = TRUST_POINTS_MAX;
	if (v == n->trust->rep)
		return;
	log_debug("node %s: reputation %d -> %d", n->node_id, n->trust->rep, v);
	min = n->r->cfg->trust_min_reputation;
	was_below = n->trust->rep < min;
	n->trust->rep = v;
	models_node_update(n);
	if (was_below != (v < min))
		log_notice("node %s: reputation %d, %s consumer chats", n->node_id, v,
			was_below ? "back to" : "no more");
	if (was_below && v >= min)
		sched_node_ready(n);
}

void trust_error(struct node *n)
{
	trust_adjust(n, -n->r->cfg->trust_error_penalty);
}

bool trust_error_charged(const char *error, bool started)
{
	if (error && strcmp(error, IC_ERR_INVALID_REQUEST) == 0)
		return false;
	return !(error && strcmp(error, IC_ERR_OLLAMA_UNAVAILABLE) == 0 && !started);
}

void trust_flagged(struct node *n)
{
	trust_adjust(n, -n->r->cfg->trust_flag_penalty);
}

static const char *const outcome_names[PROBE_OUTCOMES] = {
	"pass",
	"fail",
	"timeout",
	"error",
};

const char *trust_outcome_name(enum probe_outcome o)
{
	return (unsigned)o < PROBE_OUTCOMES ? outcome_names[o] : "?";
}

void trust_probe_result(struct node *n, const char *model, enum probe_outcome o)
{
	const struct router_config *cfg = n->r->cfg;
	struct trust_rec *rec = n->trust;
	struct probe_result *pr;

	if (!rec)
		return;
	pr = &rec->results[rec->next_result];
	pr->at = (int64_t)time(NULL);
	pr->outcome = o;
	snprintf(pr->model, sizeof(pr->model), "%s", model);
	rec->next_result = (rec->next_result + 1) % TRUST_RESULTS;
	if (rec->n_results < TRUST_RESULTS)
		rec->n_results++;
	switch (o) {
	case PROBE_PASS:
		trust_adjust(n, cfg->trust_probe_reward);
		break;
	case PROBE_FAIL:
		trust_adjust(n, -cfg->trust_probe_penalty);
		break;
	default:
		trust_adjust(n, -cfg->trust_error_penalty);
		break;
	}
}

void trust_histogram(const struct router *r, uint64_t *buckets, int n_buckets)
{
	memset(buckets, 0, (size_t)n_buckets * sizeof(*buckets));
	lws_start_foreach_dll(struct lws_dll2 *, d, r->nodes.head)
	{
		const struct node *n = lws_container_of(d, struct node, link);
		int b = trust_rep(n) * n_buckets / TRUST_POINTS_MAX;

		buckets[b < n_buckets ? b : n_buckets - 1]++;
	}
	lws_end_foreach_dll(d);
}
