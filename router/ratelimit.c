/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* ratelimit.c - token buckets keyed by address (see ratelimit.h). */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "strmap.h"
#include "common/xmalloc.h"

#define MINUTE_US (60 * 1000000LL)

struct bucket {
	lws_dll2_t lru; /* oldest use at the head */
	double tokens;
	int64_t last_us;
	char key[];
};

struct ratelimit {
	struct strmap *map;
	lws_dll2_owner_t lru;
	size_t max_entries;
};

struct ratelimit *ratelimit_new(size_t max_entries)
{
	struct ratelimit *rl = xcalloc(1, sizeof(*rl));

	rl->map = strmap_new();
	rl->max_entries = max_entries ? max_entries : 1;
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	strmap_free(rl->map, free);
	free(rl);
}

static void drop(struct ratelimit *rl, struct bucket *b)
{
	lws_dll2_remove(&b->lru);
	strmap_remove(rl->map, b->key);
	free(b);
}

/* Forget buckets that are full again, and the oldest ones over the bound. */
static void expire(struct ratelimit *rl, int64_t now_us)
{
	while (rl->lru.head) {
		struct bucket *b = lws_container_of(rl->lru.head, struct bucket, lru);

		if (now_us - b->last_us < MINUTE_US && strmap_count(rl->map) < rl->max_entries)
			break;
		drop(rl, b);
	}
}

static const char *group_name(enum rl_group g)
{
	switch (g) {
	case RL_CHAT:
		return "chat";
	case RL_UPGRADE:
		return "upgrade";
	case RL_OTHER:
		break;
	}
	return "other";
}

bool ratelimit_take(struct ratelimit *rl, enum rl_group group, const char *ip, int per_min,
	int64_t now_us, int *retry_after_s)
{
	char key[128];
	struct bucket *b;
	double rate = per_min / (double)MINUTE_US; /* tokens per us */

	expire(rl, now_us);
	snprintf(key, sizeof(key), "%s %s", group_name(group), ip);
	b = strmap_get(rl->map, key);
	if (!b) {
		size_t klen = strlen(key);

		b = xcalloc(1, sizeof(*b) + klen + 1);
		memcpy(b->key, key, klen + 1);
		b->tokens = per_min;
		b->last_us = now_us;
		strmap_put(rl->map, key, b);
	} else {
		b->tokens += (double)(now_us - b->last_us) * rate;
		if (b->tokens > per_min)
			b->tokens = per_min;
		b->last_us = now_us;
		lws_dll2_remove(&b->lru);
	}
	lws_dll2_add_tail(&b->lru, &rl->lru);
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return true;
	}
	if (retry_after_s) {
		double wait_us = (1.0 - b->tokens) / rate;
		int s = (int)(wait_us / 1000000.0);

		if ((double)s * 1000000.0 < wait_us)
			s++;
		*retry_after_s = s > 0 ? s : 1;
	}
	return false;
}

size_t ratelimit_entries(const struct ratelimit *rl)
{
	return strmap_count(rl->map);
}
