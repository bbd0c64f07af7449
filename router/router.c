/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* router.c - making, reconfiguring and freeing the state (see router.h). */
#include <stdlib.h>

#include "admin.h"
#include "clientip.h"
#include "common/log.h"
#include "ipcount.h"
#include "models.h"
#include "nodes.h"
#include "policy.h"
#include "probe.h"
#include "standing.h"
#include "ratelimit.h"
#include "router.h"
#include "strmap.h"
#include "trust.h"

/* cfg's trusted_proxies, parsed once here rather than per request. */
static struct clientip_trusted *trusted_new(const struct router_config *cfg)
{
	size_t bad = 0;
	struct clientip_trusted *t = clientip_trusted_new(cfg->trusted_proxies, &bad);

	if (bad)
		log_warn("router.trusted_proxies: %zu entries are not IP addresses and are "
			 "ignored",
			bad);
	return t;
}

/* cfg's refuse_patterns, compiled once here rather than per chat. */
static struct policy *policy_of(const struct router_config *cfg)
{
	char first[128] = "";
	size_t bad = 0;
	struct policy *p = policy_new(cfg->refuse_patterns, &bad, first, sizeof(first));

	if (bad)
		log_warn("router.refuse_patterns: %zu patterns are not extended regular "
			 "expressions and are ignored (the first: %s)",
			bad, first);
	return p;
}

void router_init(struct router *r, struct lws_context *ctx)
{
	r->ctx = ctx;
	r->trusted = trusted_new(r->cfg);
	r->rl = ratelimit_new(ROUTER_RATE_ENTRIES_MAX);
	r->ipcount = ipcount_new();
	r->models = models_new();
	r->nodes_by_id = strmap_new();
	r->policy = policy_of(r->cfg);
	r->admin = admin_new(r->cfg);
	r->trust = trust_new();
	r->probes = probes_new(r);
	r->standings = standings_new(r);
	tq_init(&r->reg_q, ctx);
	tq_init(&r->hb_q, ctx);
	tq_init(&r->wait_q, ctx);
	tq_init(&r->chunk_q, ctx);
	tq_init(&r->ping_q, ctx);
	tq_init(&r->body_q, ctx);
	tq_init(&r->reply_q, ctx);
	r->start_us = router_now_us();
}

struct router_config *router_set_config(struct router *r, struct router_config *cfg)
{
	struct router_config *old = r->cfg;

	clientip_trusted_free(r->trusted);
	r->trusted = trusted_new(cfg);
	policy_free(r->policy);
	r->policy = policy_of(cfg);
	admin_free(r->admin);
	r->admin = admin_new(cfg);
	r->cfg = cfg;
	if (old && old->trust_min_reputation != cfg->trust_min_reputation) {
		/* who may have consumer chats changed: refile every node */
		lws_start_foreach_dll(struct lws_dll2 *, d, r->nodes.head)
		{
			models_node_update(lws_container_of(d, struct node, link));
		}
		lws_end_foreach_dll(d);
	}
	return old;
}

void router_fini(struct router *r)
{
	probes_free(r->probes);
	standings_free(r->standings);
	r->standings = NULL;
	trust_free(r->trust);
	policy_free(r->policy);
	admin_free(r->admin);
	r->admin = NULL;
	r->probes = NULL;
	r->trust = NULL;
	r->policy = NULL;
	strmap_free(r->nodes_by_id, NULL);
	models_free(r->models);
	ipcount_free(r->ipcount);
	ratelimit_free(r->rl);
	clientip_trusted_free(r->trusted);
	r->nodes_by_id = NULL;
	r->models = NULL;
	r->ipcount = NULL;
	r->rl = NULL;
	r->trusted = NULL;
}
