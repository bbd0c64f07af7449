/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * trust.h - each node id's reputation and last probe results.
 *
 * Reputation is a whole number of points from 0 to 100 (0.00 .. 1.00 in
 * the public server's terms), kept per node_id in memory for the life of
 * the process: a node that reconnects keeps its score, an id never seen
 * starts at [trust] start.  Errors and timeouts (before or after the first
 * token), probe answers and output the filter had to strip move it by the
 * [trust] steps, clamped to 0..100.  A change refiles the node's models
 * (models_node_update()), so the scheduler sees it on the next chat.
 *
 * Records are bounded (ROUTER_TRUST_RECORDS_MAX): when the table is full, the
 * records of ids with no connected node are forgotten, and such an id
 * starts afresh, as any new id does.
 */
#ifndef IC_ROUTER_TRUST_H
#define IC_ROUTER_TRUST_H

#include <stdbool.h>
#include <stdint.h>

#include "router.h"

#define TRUST_POINTS_MAX 100
#define TRUST_RESULTS 5 /* last probe results kept per id */

struct node;

enum probe_outcome { PROBE_PASS = 0, PROBE_FAIL, PROBE_TIMEOUT, PROBE_ERROR, PROBE_OUTCOMES };

struct probe_result {
	int64_t at; /* wall clock, seconds since the epoch */
	enum probe_outcome outcome;
	char model[72];
};

struct trust_rec {
	int rep;				    /* 0..100 */
	int connected;				    /* registered nodes with this id (0 or 1) */
	struct probe_result results[TRUST_RESULTS]; /* newest at (next - 1) */
	int n_results, next_result;
};

struct trust;

struct trust *trust_new(void);
void trust_free(struct trust *t);
size_t trust_count(const struct trust *t);

/* The record of node_id, made at cfg->trust_start if new. */
struct trust_rec *trust_get(struct router *r, const char *node_id);
/* A node registered / unregistered with its record. */
void trust_attach(struct node *n);
void trust_detach(struct node *n);

/* n's reputation, or start if it has no record. */
int trust_rep(const struct node *n);
/* Add delta points to n's reputation (clamped) and refile n. */
void trust_adjust(struct node *n, int delta);
/* The events, with the configured steps. */
void trust_error(struct node *n);
/* Whether a node's inference_error costs reputation: not invalid_request
 * (the request's fault), nor ollama_unavailable before the first chunk (the
 * owner took the machine back, or Ollama is busy or cannot load the model;
 * docs/SECURITY.md); every other error, ollama_error above all, does. */
bool trust_error_charged(const char *error, bool started);
void trust_flagged(struct node *n);
void trust_probe_result(struct node *n, const char *model, enum probe_outcome o);

const char *trust_outcome_name(enum probe_outcome o);
/* Count registered nodes' reputations in n_buckets buckets of equal width
 * from 0 to 100: [lo, hi), the last one [lo, 100]. */
void trust_histogram(const struct router *r, uint64_t *buckets, int n_buckets);

#endif
