/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* router.c - making, reconfiguring and freeing the state (see router.h). */
#include <stdlib.h>

#include "admin.h"
#include "chat.h"
#include "chat-tools.h"
#include "clientip.h"
#include "cluster.h"
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
#include "xchat.h"

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

static void flush_before_cb(uv_prepare_t *h)
{
	struct router *r = h->data;

	chat_flush_pending(r);
	xchat_flush(r);
}

static void flush_after_cb(uv_check_t *h)
{
	struct router *r = h->data;

	chat_flush_pending(r);
	xchat_flush(r);
}

/* Chat output once a loop turn (router.h). */
static void flush_start(struct router *r)
{
	if (!r->loop)
		return;
	uv_prepare_init(r->loop, &r->flush_before);
	r->flush_before.data = r;
	uv_prepare_start(&r->flush_before, flush_before_cb);
	uv_check_init(r->loop, &r->flush_after);
	r->flush_after.data = r;
	uv_check_start(&r->flush_after, flush_after_cb);
	r->flushing = true;
}

/* Before the context goes: its chats go with it, and active handles would
 * keep the loop running for ever. */
static void flush_stop(struct router *r)
{
	if (!r->flushing)
		return;
	uv_close((uv_handle_t *)&r->flush_before, NULL);
	uv_close((uv_handle_t *)&r->flush_after, NULL);
	r->flushing = false;
}

/* With [cluster] url: the other instances and the chats crossing to them. */
static int cluster_start(struct router *r, int listen_port, char **err)
{
	const struct router_config *cfg = r->cfg;

	if (!cfg->cluster_url || !cfg->cluster_url[0])
		return 0;
	r->xchats = xchats_new(r);
	r->cluster = cluster_new(r, cfg->cluster_url, cfg->cluster_instance, listen_port, err);
	if (!r->cluster)
		return -1;
	log_notice(
		"cluster: instance %s, NATS at %s", cluster_instance(r->cluster), cfg->cluster_url);
	return 0;
}

int router_init(
	struct router *r, struct lws_context *ctx, uv_loop_t *loop, int listen_port, char **err)
{
	r->ctx = ctx;
	r->loop = loop;
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
	flush_start(r);
	if (cluster_start(r, listen_port, err) < 0) {
		router_fini(r);
		return -1;
	}
	r->tools = toolrun_new(r);
	return 0;
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

/* On a foreign loop lws closes its handles (and the chats with their
 * sockets) in the loop's next turns, and frees the context only when told
 * again once they are closed (lws 4.1's context.c: destroy2, destroy3). */
static void context_destroy(struct router *r)
{
	if (!r->ctx)
		return;
	lws_context_destroy(r->ctx);
	if (r->loop) {
		uv_run(r->loop, UV_RUN_DEFAULT);
		lws_context_destroy(r->ctx);
	}
	r->ctx = NULL;
}

void router_fini(struct router *r)
{
	flush_stop(r);
	xchat_flush(r);		  /* the last frames to peers */
	cluster_free(r->cluster); /* its threads wake the context */
	r->cluster = NULL;
	toolrun_stop(r->tools); /* running searches abandoned */
	context_destroy(r);
	toolrun_free(r->tools); /* after the chats, which cancel their searches */
	r->tools = NULL;
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
	xchats_free(r->xchats); /* after the chats, which leave their crossings */
	r->xchats = NULL;
}
