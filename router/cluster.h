/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cluster.h - several routers as one network: what each instance can serve,
 * exchanged over NATS ([cluster] url; docs/cluster.md).
 *
 * Every instance publishes a summary (its nodes, and per model the nodes and
 * free slots; draining or not) about once a second and within a quarter
 * second of a change, and keeps the last summary of every other instance it
 * heard from in the last three periods.  /health, /api/models and /metrics
 * answer from the local state and these summaries.
 *
 * This is the only file that touches libnats.  The client runs in its
 * default threaded mode: its threads only copy a message into a bounded,
 * locked queue and wake the lws loop with lws_cancel_service();
 * cluster_service() (on the lws thread) takes them from there.  A
 * connection libnats closes for good (after an -ERR from the server) is
 * made anew after CLUSTER_REBUILD_MIN_MS, doubling to _MAX_MS, by a
 * short-lived thread (the connect waits for the server's handshake).  Without a
 * url there is no struct cluster (r->cluster is NULL) and the router is
 * exactly a single one.
 */
#ifndef IC_ROUTER_CLUSTER_H
#define IC_ROUTER_CLUSTER_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "cluster-proto.h"
#include "router.h"

struct model_list;

#define CLUSTER_PERIOD_MS 1000			   /* summary at least this often */
#define CLUSTER_TICK_MS 250			   /* a change is published within this */
#define CLUSTER_FORGET_PERIODS 3		   /* silent this long: forgotten */
#define CLUSTER_QUEUE_MAX 65536			   /* messages waiting for the lws thread */
#define CLUSTER_QUEUE_BYTES_MAX (64 * 1024 * 1024) /* their bytes */
#define CLUSTER_PEERS_MAX 64
#define CLUSTER_WRITE_DEADLINE_MS 500	 /* a write to the NATS server, at most */
#define CLUSTER_SUMMARY_MAX (256 * 1024) /* bytes of one summary */
#define CLUSTER_REBUILD_MIN_MS 500	 /* a closed connection: first wait */
#define CLUSTER_REBUILD_MAX_MS 30000	 /* and the longest, doubling */

struct cluster;

/* Start connecting to url (in the background: an unreachable server is
 * retried for ever) as instance (NULL or empty: HOSTNAME:PORT, port being
 * listen_port).  NULL with *err set (a NEW string) on bad arguments. */
struct cluster *cluster_new(
	struct router *r, const char *url, const char *instance, int listen_port, char **err);
/* Stop publishing, close the connection and wait for the client's threads
 * (before the lws context goes: they wake it). */
void cluster_free(struct cluster *c);
/* On the lws thread after lws_cancel_service(): take the queued messages. */
void cluster_service(struct cluster *c);
/* A node registered here: the instance that had it closes its socket. */
void cluster_node_claim(struct cluster *c, const char *node_id);

const char *cluster_instance(const struct cluster *c);
/* Instances heard from in the last CLUSTER_FORGET_PERIODS periods. */
int cluster_peers(const struct cluster *c);
/* Nodes registered on the peers, as their summaries say. */
long cluster_peer_nodes(const struct cluster *c);
/* Messages dropped because the queue was full, summaries rejected. */
unsigned long cluster_dropped(const struct cluster *c);
/* Summaries, claims and chats dropped for an instance name or inbox out of
 * the grammar of cluster-names.h (counted apart from cluster_dropped()). */
unsigned long cluster_rejected(const struct cluster *c);
/* Count (and now and then log) one such message of kind what. */
void cluster_count_rejected(struct cluster *c, const char *what);

/* Add every peer's models to l (modellist.h). */
void cluster_models_add(const struct cluster *c, struct model_list *l);

/* For chats between instances (xchat.h). */

/* "_INBOX.<nuid>": the subjects below it are this instance's (messages on
 * them reach xchat_message() with the part after "<inbox>."). */
const char *cluster_inbox(const struct cluster *c);
/* Publish data on subject (with a reply subject, or NULL): false when not
 * connected or the client refused it (too big for the server...). */
bool cluster_publish(
	struct cluster *c, const char *subject, const char *reply, const void *data, size_t len);
/* The peer whose summary shows the most free slots for model (not
 * draining, not skipped): its name and inbox, NEW strings; its free count
 * is lowered by one until its next summary.  false: none. */
bool cluster_pick_peer(struct cluster *c, const char *model,
	bool (*skip)(const char *instance, void *ctx), void *ctx, char **instance, char **inbox);
/* A chat served by instance for model ended: count the slot free again
 * until its next summary (which comes up to CLUSTER_TICK_MS later). */
void cluster_peer_slot_freed(struct cluster *c, const char *instance, const char *model);
/* instance left an offer unanswered: none goes there for the next
 * CLUSTER_FORGET_PERIODS periods (by then it is forgotten if it is gone). */
void cluster_peer_silent(struct cluster *c, const char *instance);
/* Whether a peer (not draining) shows a free slot for model. */
bool cluster_free_on_peers(const struct cluster *c, const char *model);
/* Whether a peer (not draining) has nodes with model. */
bool cluster_model_on_peers(const struct cluster *c, const char *model);

#endif
