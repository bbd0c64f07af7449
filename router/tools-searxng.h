/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * tools-searxng.h - web_search against SearXNG, on the router's loop.
 *
 * The router's one thread must never block, and a search needs DNS, a
 * connect and a read: libcurl's multi interface runs them on the router's
 * own libuv loop (curl_multi_socket_action(): a uv_poll_t for every socket
 * curl asks to watch, a uv_timer_t for its timeouts).  No thread of ours
 * and no lock: everything here, the parse of a reply (judge()) too, runs
 * on the loop's thread.  A finished search waits in a list for lws's
 * callback (searx_poll() after lws_cancel_service()): the chat's work
 * that follows belongs in lws's callbacks, the only place lws 4.1 arms
 * the timers it sets.  (libcurl's threaded resolver runs each name lookup
 * in a short-lived thread of its own and tells the loop through a socket
 * it watches: DNS stays off the loop.)
 */
#ifndef IC_ROUTER_TOOLS_SEARXNG_H
#define IC_ROUTER_TOOLS_SEARXNG_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include <libwebsockets.h>

#define SEARX_BODY_MAX (1024 * 1024) /* bytes of one reply */
#define SEARX_RESULTS 3		     /* results given to the model */
#define SEARX_SNIPPET_CHARS 200
#define SEARX_JOBS_MAX 256 /* searches running or not yet polled */

struct searx;

/* One finished search, as searx_poll() hands it over. */
struct searx_result {
	uint64_t id;
	bool ok;
	const char *text; /* the results for the model, or why it failed */
};

/* Searches on loop; ctx is woken (lws_cancel_service()) when one is done. */
struct searx *searx_new(uv_loop_t *loop, struct lws_context *ctx);
/* Abandon every running search (their connections closed, no result
 * comes back); from then on searx_submit() fails. */
void searx_stop(struct searx *s);
/* searx_stop() and free; the loop must run once more to free its handles. */
void searx_free(struct searx *s);
/*
 * Start GET {base}/search?q=QUERY&format=json&categories=general with a
 * timeout.  Returns the search's id (never 0), or 0 if SEARX_JOBS_MAX run
 * already (or after searx_stop()).
 */
uint64_t searx_submit(struct searx *s, const char *base, const char *query, int timeout_s);
/* Forget search id: a running request is aborted (its connection closed)
 * and no result comes back.  An unknown id is ignored. */
void searx_cancel(struct searx *s, uint64_t id);
/* Hand every finished search to cb (in an lws callback). */
void searx_poll(struct searx *s, void (*cb)(void *ctx, const struct searx_result *res), void *ctx);
/* Searches running or not yet polled. */
unsigned searx_pending(struct searx *s);

/* The text for the model from a SearXNG JSON body: NEW string, or NULL
 * with *why set if the body is not SearXNG's JSON.  (Pure; unit-tested.) */
char *searx_format_new(const char *body, size_t len, const char **why);

#endif
