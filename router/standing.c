/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* standing.c - each node's standing, on a jittered timer (see standing.h). */
#include <stdlib.h>
#include <sys/random.h>

#include "common/proto.h"
#include "common/xmalloc.h"
#include "nodes.h"
#include "standing.h"
#include "tq.h"
#include "trust.h"

struct standings {
	struct router *r;
	struct tq q; /* when each node is next told */
};

struct standing {
	struct node *n;
	struct tq_timer timer;
};

struct standings *standings_new(struct router *r)
{
	struct standings *s = xcalloc(1, sizeof(*s));

	s->r = r;
	tq_init(&s->q, r->ctx);
	return s;
}

void standings_free(struct standings *s)
{
	free(s);
}

/* interval ± STANDING_JITTER_PERCENT, in µs. */
static int64_t next_delay_us(int interval_s)
{
	uint32_t v;
	double u;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint32_t)router_now_us() * 2654435761u;
	u = (double)v / 4294967295.0; /* [0, 1] */
	return (int64_t)(interval_s * 1e6 *
		(1.0 + STANDING_JITTER_PERCENT / 100.0 * (2.0 * u - 1.0)));
}

static void due(struct tq_timer *t);

static void schedule(struct standing *st)
{
	struct router *r = st->n->r;

	if (r->cfg->trust_standing_interval <= 0)
		return; /* off; a reload that turns it on counts from the next registration */
	tq_schedule(
		&r->standings->q, &st->timer, next_delay_us(r->cfg->trust_standing_interval), due);
}

static void due(struct tq_timer *t)
{
	struct standing *st = lws_container_of(t, struct standing, timer);
	struct node *n = st->n;

	node_send(n, ic_msg_standing_new(trust_rep(n) >= n->r->cfg->trust_min_reputation));
	schedule(st);
}

void standing_node_up(struct node *n)
{
	struct standing *st = xcalloc(1, sizeof(*st));

	st->n = n;
	n->standing = st;
	schedule(st);
}

void standing_node_down(struct node *n)
{
	if (!n->standing)
		return;
	tq_cancel(&n->standing->timer);
	free(n->standing);
	n->standing = NULL;
}
