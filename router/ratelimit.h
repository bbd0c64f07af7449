/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ratelimit.h - token buckets per (client IP, group), with bounded memory.
 *
 * Each bucket holds up to `per_min` tokens and refills per_min tokens a
 * minute.  A bucket untouched for a minute is full again, so it is simply
 * forgotten; the least recently used bucket is evicted when the table holds
 * max_entries.
 */
#ifndef IC_ROUTER_RATELIMIT_H
#define IC_ROUTER_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rl_group {
	RL_CHAT,
	RL_UPGRADE,
	RL_OTHER,
};

struct ratelimit;

struct ratelimit *ratelimit_new(size_t max_entries);
void ratelimit_free(struct ratelimit *rl);

/*
 * Take one token for ip in group at time now_us.  true if allowed; false if
 * not, with *retry_after_s set to the whole seconds until a token is back.
 */
bool ratelimit_take(struct ratelimit *rl, enum rl_group group, const char *ip, int per_min,
	int64_t now_us, int *retry_after_s);

/* Buckets currently remembered (for tests and /metrics). */
size_t ratelimit_entries(const struct ratelimit *rl);

#endif
