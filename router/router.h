/*
 * router.h - the state of idleclaw-routerd shared by its files.
 *
 * The router is one libwebsockets context served by one thread: every
 * object here is touched only from lws callbacks and lws_sul timers, so
 * nothing is locked.  Ownership:
 *   - struct pss is lws's per-connection memory; an HTTP pss owns its
 *     struct chat, a node pss owns its struct node.
 *   - a chat is linked (not owned) into a model's wait queue or a node's
 *     request list; freeing either side unlinks it from the other.
 */
#ifndef IC_ROUTER_H
#define IC_ROUTER_H

#include <stdbool.h>
#include <stdint.h>
#include <libwebsockets.h>

#include "buf.h"
#include "rconfig.h"
#include "tq.h"

/* Router-only bounds (the network's limits are in common/limits.h). */
#define ROUTER_QUEUE_MAX	256	/* default: chats waiting for one model */
#define ROUTER_NODES_MAX	20000	/* default: registered nodes in all */
#define ROUTER_RATE_ENTRIES_MAX	100000	/* token buckets kept; LRU evicted */
#define ROUTER_IP_MAX		64	/* text of one client address */
#define ROUTER_NODE_OUTBUF_MAX	(16 * 1024 * 1024) /* queued to one node */
#define ROUTER_WRITE_CHUNK	(16 * 1024)	/* SSE bytes per writeable */
#define ROUTER_STATUS_INTERVAL_S 5	/* sd_notify STATUS= refresh */
#define ROUTER_CLOSE_GRACE_MS	500	/* for close frames on shutdown */

struct chat;
struct node;
struct ratelimit;

enum pss_kind {
	PSS_HTTP = 0,
	PSS_NODE,
};

/* Per-connection state (lws allocates and zeroes it). */
struct pss {
	enum pss_kind kind;
	char ip[ROUTER_IP_MAX];
	/* HTTP: request body and a pending simple reply */
	struct buf body;
	bool is_chat;		/* POST /api/chat accepted for reading */
	bool body_too_big;
	bool reply_pending;
	bool reply_close;	/* close the connection after the reply */
	bool head;		/* HEAD: the reply's headers without its body */
	int reply_status;
	int retry_after;	/* seconds, for 429; 0 = no header */
	const char *allow;	/* Allow: of a 405 (static text), or NULL */
	char *reply;		/* JSON text, owned */
	/* a request body still arriving (server.c): counted per IP and in all */
	struct lws *wsi;
	struct tq_timer body_timer;	/* body_timeout from the end of the headers */
	bool body_counted;
	struct chat *chat;	/* owned */
	/* node WebSocket */
	struct node *node;	/* owned */
};

struct router_stats {
	uint64_t chats_total;
	uint64_t chats_failed;
	uint64_t failovers;
	uint64_t chunks;
	uint64_t rejected_rate;
};

struct router {
	struct lws_context *ctx;
	struct lws_vhost *vh;
	struct router_config *cfg;
	struct ratelimit *rl;
	int64_t start_us;
	bool draining;		/* SIGTERM: no new work */
	bool quit;		/* leave the service loop */
	int requests_active;	/* chats between accept and end */
	struct router_stats stats;
};

extern struct router router;

/* Called in the service loop after lws_cancel_service(): handles signals. */
void router_wakeup(void);

/* Monotonic clock in microseconds. */
int64_t router_now_us(void);

#endif
