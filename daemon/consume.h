/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * consume.h - requests this daemon sends to the router for control
 * clients and the local gateway (main thread): chats (POST /api/chat, an
 * SSE stream turned into calls of a consume_sink) and small JSON
 * reads (GET /health, /api/models).
 * The bytes travel through the link thread (link_http_*).
 */
#ifndef IC_DAEMON_CONSUME_H
#define IC_DAEMON_CONSUME_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "ctlproto.h"

/* Chats running at once for all control clients; more get CTL_ST_BUSY.
 * The last CONSUME_CHATS_RESERVED are for root and the daemon's user, and
 * an unprivileged user may run CONSUME_CHATS_PER_USER_MAX at most, so
 * others cannot make root's chat busy. */
#define CONSUME_CHATS_MAX IC_CONSUME_CHATS_MAX
#define CONSUME_CHATS_RESERVED IC_CONSUME_CHATS_RESERVED
#define CONSUME_CHATS_PER_USER_MAX IC_CONSUME_CHATS_PER_USER_MAX
/* Bytes kept of a non-streamed reply (error bodies, /health, /api/models). */
#define CONSUME_BODY_MAX (256 * 1024)
/* Bytes of one SSE event from the router. */
#define CONSUME_EVENT_MAX (256 * 1024)
/* Seconds a GET may take in all (data does not extend it). */
#define CONSUME_GET_TIMEOUT_S IC_CONSUME_GET_TIMEOUT_S
/* Milliseconds a finished GET's result is given to whoever asks next. */
#define CONSUME_GET_REUSE_MS IC_CONSUME_GET_REUSE_MS

struct daemon;
struct consume;
struct control_peer;

/* The "chat" command of peer: args already checked by ctl_args_check(). */
void consume_chat(
	struct daemon *d, const struct control_peer *peer, const char *req_id, json_object *args);
/* The "cancel" command: 0 if target was a running chat of client (it then
 * ends with CTL_ST_CANCELLED), -1 if not found. */
int consume_cancel(struct daemon *d, uint64_t client, const char *target);
/* A control client went away: stop its chats silently. */
void consume_client_gone(struct daemon *d, uint64_t client);
/* Shutdown: end every chat with CTL_ST_SHUTTING_DOWN. */
void consume_stop_all(struct daemon *d);
size_t consume_count(const struct daemon *d);

/*
 * Where a chat's output goes: control clients (consume.c's own sink) and
 * the gateway (daemon/gateway.c) get the same events and final status, as
 * calls.  event gets CTL_EV_CONTENT/THINKING (text), CTL_EV_ERROR (detail)
 * and CTL_EV_DONE (finish_reason); tool gets the network's tool progress
 * (name, status, reason or NULL); end runs once, last, with the status and
 * an optional detail, and the chat is freed after it.  None may call
 * consume_sink_stop() on this chat: they run inside it.
 */
struct consume_sink {
	void (*event)(void *ctx, enum ctl_event ev, const char *text);
	void (*tool)(void *ctx, const char *name, const char *status, const char *reason);
	void (*end)(void *ctx, enum ctl_status st, const char *detail);
};
/* A chat for a client other than a control client (the gateway's), args as
 * for "chat" (checked by ctl_args_check()).  Returns the chat, or
 * NULL after end() ran already (too many chats, unusable server URL). */
struct consume *consume_chat_sink(
	struct daemon *d, json_object *args, const struct consume_sink *sink, void *ctx);
/* The sink's client went away: cancel upstream now, no more calls. */
void consume_sink_stop(struct daemon *d, struct consume *c);

/* GET base-URL + path; cb gets the HTTP status (0 if none), the parsed
 * body (borrowed, NULL if not JSON) or an error text, always later, never
 * from inside this call.  Askers of one path share one fetch in flight and
 * its result for CONSUME_GET_REUSE_MS.  With consume_get_for(), the
 * control client's going away ends the wait (cb with an error), and a
 * fetch nobody waits for is cancelled. */
typedef void (*consume_get_cb)(void *ctx, int status, json_object *body, const char *err);
struct consume *consume_get_for(
	struct daemon *d, uint64_t client, const char *path, consume_get_cb cb, void *ctx);
struct consume *consume_get(struct daemon *d, const char *path, consume_get_cb cb, void *ctx);
/* Forget a GET (no callback). */
void consume_get_cancel(struct daemon *d, struct consume *c);
/* The node link registered, or a registered link went down: results kept
 * for reuse describe the network as it was, so the next asker fetches
 * again. */
void consume_link_changed(struct daemon *d);

/* Link events for HTTP requests (node.c forwards them). */
void consume_http_status(struct daemon *d, uint64_t id, int status);
void consume_http_data(struct daemon *d, uint64_t id, const char *data, size_t len);
void consume_http_done(struct daemon *d, uint64_t id, const char *err);

#endif
