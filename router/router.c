/* router.c - making, reconfiguring and freeing the state (see router.h). */
#include <stdlib.h>

#include "clientip.h"
#include "common/log.h"
#include "ipcount.h"
#include "models.h"
#include "ratelimit.h"
#include "router.h"
#include "strmap.h"

/* cfg's trusted_proxies, parsed once here rather than per request. */
static struct clientip_trusted *trusted_new(const struct router_config *cfg)
{
	size_t bad = 0;
	struct clientip_trusted *t = clientip_trusted_new(cfg->trusted_proxies, &bad);

	if (bad)
		log_warn("router.trusted_proxies: %zu entries are not IP addresses and are "
			 "ignored", bad);
	return t;
}

void router_init(struct router *r, struct lws_context *ctx)
{
	r->ctx = ctx;
	r->trusted = trusted_new(r->cfg);
	r->rl = ratelimit_new(ROUTER_RATE_ENTRIES_MAX);
	r->ipcount = ipcount_new();
	r->models = models_new();
	r->nodes_by_id = strmap_new();
	tq_init(&r->reg_q, ctx);
	tq_init(&r->hb_q, ctx);
	tq_init(&r->wait_q, ctx);
	tq_init(&r->chunk_q, ctx);
	tq_init(&r->ping_q, ctx);
	tq_init(&r->body_q, ctx);
	r->start_us = router_now_us();
}

struct router_config *router_set_config(struct router *r, struct router_config *cfg)
{
	struct router_config *old = r->cfg;

	clientip_trusted_free(r->trusted);
	r->trusted = trusted_new(cfg);
	r->cfg = cfg;
	return old;
}

void router_fini(struct router *r)
{
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
