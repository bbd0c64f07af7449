/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * link.h - the router link: the only part of idleclawd that touches
 * libwebsockets.
 *
 * Debian's lws cannot run inside a libevent loop, so the link owns one
 * thread that runs the lws context.  It carries bytes and nothing else:
 * what to send and when to reconnect is decided by the main thread
 * (daemon/node.c, daemon/consume.c).
 *
 *   main thread -> link thread: commands (connect, send, close, HTTP start,
 *     cancel) on a locked queue, then lws_cancel_service() to wake it.
 *   link thread -> main thread: events (open, text, closed, HTTP status,
 *     data, done) on a locked queue, then event_active() to wake the loop.
 *
 * Every function here is called from the main thread; the callbacks run
 * in the main thread too.  Call evthread_use_pthreads() before creating
 * the event_base.
 */
#ifndef IC_DAEMON_LINK_H
#define IC_DAEMON_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

/* Bytes of WebSocket frames waiting to be written before link_ws_send()
 * refuses more (the relay then fails its request). */
#define LINK_WS_PENDING_MAX (16 * 1024 * 1024)
/* Bytes of events waiting for the main thread; beyond this the connection
 * that produced them is dropped (the main loop never blocks, so reaching it
 * means something is badly wrong). */
#define LINK_EVENTS_MAX (32 * 1024 * 1024)
/* Bytes written to an HTTP request body per writeable callback. */
#define LINK_HTTP_WRITE_STEP (16 * 1024)
/* lws's own limit on a reply that has not begun (and on TLS and upgrade
 * handshakes).  Its default, 5 s, cut off every chat the router held in
 * its queue (up to IC_QUEUE_WAIT_DEFAULT_S) with "connection closed before
 * the reply was complete".  Callers time their requests and connection
 * attempts themselves (router_timeout, node.c's waits), so this is only a
 * backstop beyond the longest of them (link.c checks). */
#define LINK_LWS_TIMEOUT_S (2 * 3600)
/* Seconds to connect (TCP) to one address of the router. */
#define LINK_CONNECT_TIMEOUT_S 20

struct link;

struct link_callbacks {
	/* WebSocket session gen is open (upgrade done). */
	void (*ws_open)(void *ctx, uint64_t gen);
	/* One complete text message (borrowed). */
	void (*ws_text)(void *ctx, uint64_t gen, const char *text, size_t len);
	/* Session gen ended: code is the peer's close code (0 if none, e.g. a
	 * connection error); reason the peer's reason or our error text. */
	void (*ws_closed)(void *ctx, uint64_t gen, int code, const char *reason);
	/* HTTP request id: response status, body bytes, end (err NULL = complete). */
	void (*http_status)(void *ctx, uint64_t id, int status);
	void (*http_data)(void *ctx, uint64_t id, const char *data, size_t len);
	void (*http_done)(void *ctx, uint64_t id, const char *err);
};

/* Start the link thread.  tls: set up TLS (needed for https/wss URLs;
 * without it the link speaks plain http/ws only).  ca_file: extra CA
 * file for TLS, or NULL. */
struct link *link_new(struct event_base *base, const struct link_callbacks *cb, void *ctx, bool tls,
	const char *ca_file, char *err, size_t errlen);
/* Stop the thread, drop every connection, free everything.  No callback
 * runs after this returns. */
void link_free(struct link *l);

/*
 * Open the node WebSocket to base_url + "/ws/node" (http -> ws, https ->
 * wss), closing any previous session.  Returns the new session's gen (> 0),
 * or 0 if base_url is not a valid URL.  Events of older sessions are never
 * delivered after this.
 */
uint64_t link_ws_connect(struct link *l, const char *base_url);
/* Close the current session (code 1000); ws_closed follows. */
void link_ws_close(struct link *l);
/* Queue one text frame for session gen; takes ownership of text.  -1 if
 * the session is not current or too much is already waiting. */
int link_ws_send(struct link *l, uint64_t gen, char *text, size_t len);

/*
 * Start an HTTP(S) request to url (method "GET" or "POST"; body owned and
 * taken over, may be NULL).  Returns its id (> 0), 0 if url is invalid.
 * Then http_status, http_data..., http_done follow, in that order.
 */
uint64_t link_http_start(
	struct link *l, const char *method, const char *url, char *body, size_t body_len);
/* Abort request id: the connection is closed.  Events already on their
 * way may still arrive: callers ignore ids they no longer know. */
void link_http_cancel(struct link *l, uint64_t id);

#endif
