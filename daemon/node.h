/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * node.h - this node's session with the router (main thread).
 *
 * Connects through the link, registers the shared models, sends
 * heartbeats, keeps the model list current (models_update when the router
 * advertises it, else a new registration once nothing is in flight), hands
 * inference requests and cancels to the relay, and reconnects with
 * exponential backoff and full jitter.
 */
#ifndef IC_DAEMON_NODE_H
#define IC_DAEMON_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/link.h"
#include "limits.h"

/* A session registered at least this long counts as healthy: the backoff
 * starts again from the bottom after it ends. */
#define NODE_HEALTHY_S 30
/* From connecting to "registered": TCP, TLS, the upgrade and the answer
 * to register together; past it the attempt is closed and retried. */
#define NODE_REGISTER_WAIT_S (2 * IC_REGISTER_TIMEOUT_S)

struct daemon;
struct node;

enum node_state {
	NODE_WAITING, /* no models to register yet */
	NODE_CONNECTING,
	NODE_REGISTERING,
	NODE_REGISTERED,
	NODE_BACKOFF, /* waiting to reconnect */
	NODE_STOPPED,
};

struct node *node_new(struct daemon *d);
void node_free(struct node *n);
/* The link callbacks (ctx: the node). */
extern const struct link_callbacks node_link_callbacks;

/* Shared models changed (models.c). */
void node_models_changed(struct node *n);
/* Availability or load changed: heartbeat now. */
void node_heartbeat_now(struct node *n);
/* The server URL changed (reload): reconnect. */
void node_restart(struct node *n);
/* Close the session for good (shutdown). */
void node_stop(struct node *n);
/* Register again (max_concurrent changed) once nothing is in flight. */
void node_reregister(struct node *n);
/* A relay finished (a deferred re-registration may proceed). */
void node_relay_done(struct node *n);

/* Send one frame (owned) on session gen; -1 if that session is gone. */
int node_send(struct node *n, uint64_t gen, char *text);

enum node_state node_get_state(const struct node *n);
const char *node_state_name(enum node_state s);
/* Last connection error or close reason, or NULL. */
const char *node_last_error(const struct node *n);
bool node_has_feature(const struct node *n, const char *feature);

#endif
