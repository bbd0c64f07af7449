/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ollama.h - the Ollama HTTP client (libevent evhttp, main thread only).
 *
 * One TCP connection per request, so that cancelling a chat closes its
 * connection, which is how Ollama learns to stop generating.
 *
 * No callback runs inside ollama_get(), ollama_post_json() or
 * ollama_chat(): a request that fails at once (no descriptor left, an
 * address the kernel refuses) is reported from the loop, so a caller may
 * store the returned request before anything can free its own state.
 */
#ifndef IC_DAEMON_OLLAMA_H
#define IC_DAEMON_OLLAMA_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/event.h>
#include <json-c/json.h>

/* Bytes of a non-streamed reply (/api/tags, an HTTP error body). */
#define OLLAMA_BODY_MAX (4 * 1024 * 1024)

enum ollama_err {
	OLLAMA_OK,
	OLLAMA_UNAVAILABLE, /* no connection, or no reply at all */
	OLLAMA_ERROR,	    /* HTTP error, {"error":..} line, bad data */
	OLLAMA_TIMEOUT,	    /* silence longer than the timeout */
};

struct ollama;
struct ollama_req;

/* host: OLLAMA_HOST syntax.  NULL with err filled if it cannot be used. */
struct ollama *ollama_new(
	struct event_base *base, const char *host, int timeout_s, char *err, size_t errlen);
/* Aborts every request without calling back. */
void ollama_free(struct ollama *o);
/* true while a request (or its cleanup) is pending */
bool ollama_busy(const struct ollama *o);
/* "http://host:port" */
const char *ollama_url(const struct ollama *o);

/* A whole JSON reply: body is borrowed (NULL unless OLLAMA_OK); msg says
 * what went wrong otherwise.  The request is freed after this returns. */
typedef void (*ollama_json_cb)(void *ctx, enum ollama_err err, const char *msg, json_object *body);
/* GET path (e.g. "/api/tags"). */
struct ollama_req *ollama_get(struct ollama *o, const char *path, ollama_json_cb cb, void *ctx);

/* POST path with a JSON body (copied), a whole JSON reply (e.g. /api/show),
 * with its own timeout (seconds of silence). */
struct ollama_req *ollama_post_json(struct ollama *o, const char *path, const char *body,
	size_t len, int timeout_s, ollama_json_cb cb, void *ctx);

struct ollama_chat_cb {
	/* One NDJSON object of the stream (borrowed).  May call
	 * ollama_cancel() on its own request. */
	void (*line)(void *ctx, json_object *line);
	/* The stream ended: OLLAMA_OK when the reply was complete (the caller
	 * checks it saw "done"), else why.  The request is freed after. */
	void (*end)(void *ctx, enum ollama_err err, const char *msg);
};

/* POST /api/chat with body (copied); NDJSON lines stream to cb. */
struct ollama_req *ollama_chat(
	struct ollama *o, const char *body, size_t len, const struct ollama_chat_cb *cb, void *ctx);

/* Abort: closes the connection; no callback follows.  Safe inside the
 * request's own line callback. */
void ollama_cancel(struct ollama_req *r);

const char *ollama_err_name(enum ollama_err err);
/* The HTTP status of r's reply, 0 before the headers.  Valid inside r's
 * callbacks (the relay maps 400/404/500/503 from it). */
int ollama_status(const struct ollama_req *r);

#endif
