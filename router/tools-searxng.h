/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * tools-searxng.h - web_search against SearXNG, off the router's thread.
 *
 * The router's one thread must never block, and a search needs DNS, a
 * connect and a read: a worker thread runs them with libcurl's multi
 * interface (its threaded resolver keeps DNS off even that thread's
 * loop).  The boundary is here and only here:
 *   - the lws thread calls searx_submit(), searx_cancel() and searx_poll();
 *   - the worker owns every CURL handle and the multi handle;
 *   - the two queues (to the worker, back from it) are bounded and behind
 *     one mutex; the worker wakes the lws thread with lws_cancel_service()
 *     (LWS_CALLBACK_EVENT_WAIT_CANCELLED -> searx_poll()), the lws thread
 *     wakes the worker with curl_multi_wakeup().
 */
#ifndef IC_ROUTER_TOOLS_SEARXNG_H
#define IC_ROUTER_TOOLS_SEARXNG_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>

#define SEARX_BODY_MAX (1024 * 1024) /* bytes of one reply */
#define SEARX_RESULTS 3		     /* results given to the model */
#define SEARX_SNIPPET_CHARS 200
#define SEARX_JOBS_MAX 256 /* searches queued or running */

struct searx;

/* One finished search, as searx_poll() hands it over. */
struct searx_result {
	uint64_t id;
	bool ok;
	const char *text; /* the results for the model, or why it failed */
};

struct searx *searx_new(struct lws_context *ctx);
/* Stops the worker (running searches are abandoned) and frees. */
void searx_free(struct searx *s);
/*
 * Queue GET {base}/search?q=QUERY&format=json&categories=general with a
 * timeout.  Returns the job's id (never 0), or 0 if the queue is full.
 */
uint64_t searx_submit(struct searx *s, const char *base, const char *query, int timeout_s);
/* Forget job id: a running request is aborted (its connection closed) and
 * no result comes back. */
void searx_cancel(struct searx *s, uint64_t id);
/* Hand every finished result to cb (lws thread). */
void searx_poll(struct searx *s, void (*cb)(void *ctx, const struct searx_result *res), void *ctx);
/* Searches queued or running. */
unsigned searx_pending(struct searx *s);

/* The text for the model from a SearXNG JSON body: NEW string, or NULL
 * with *why set if the body is not SearXNG's JSON.  (Pure; unit-tested.) */
char *searx_format_new(const char *body, size_t len, const char **why);

#endif
