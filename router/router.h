/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * router.h - the state of idleclaw-routerd shared by its files.
 *
 * The router is one libwebsockets context on a libuv loop, served by one
 * thread (the loop's): every object here is touched only from lws
 * callbacks, lws_sul timers and the loop's own handles, so nothing here is
 * locked.  The one boundary between threads is cluster.c (libnats's
 * threads and a short-lived connection builder hand it messages through a
 * locked queue); web searches run on the loop (tools-searxng.c).  One
 * struct router holds the state: main() makes it and hands it to the lws
 * context as its user pointer, router_init() makes its parts and
 * router_fini() frees them, and every part reaches it from the context
 * (server.c) or from the object it works on (node->r, chat->r).  No part
 * keeps state in file-level variables but strmap.c's hash key (one per
 * process by design).  Ownership:
 *   - struct pss is lws's per-connection memory; an HTTP pss owns its
 *     struct chat, a node pss owns its struct node.
 *   - a chat is linked (not owned) into a model's wait queue or a node's
 *     request list; freeing either side unlinks it from the other.
 */
#ifndef IC_ROUTER_H
#define IC_ROUTER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include <libwebsockets.h>

#include "buf.h"
#include "rconfig.h"
#include "tq.h"

/* Router-only bounds (the network's limits are in common/limits.h). */
#define ROUTER_QUEUE_MAX 256			  /* default: chats waiting for one model */
#define ROUTER_NODES_MAX 20000			  /* default: registered nodes in all */
#define ROUTER_RATE_ENTRIES_MAX 100000		  /* token buckets kept; LRU evicted */
#define ROUTER_IP_MAX 64			  /* text of one client address */
#define ROUTER_NODE_OUTBUF_MAX (16 * 1024 * 1024) /* queued to one node */
#define ROUTER_FLUSH_BATCH 64			  /* chats with output written at once */
#define ROUTER_STATUS_INTERVAL_S 5		  /* sd_notify STATUS= refresh */
#define ROUTER_CLOSE_GRACE_MS 500		  /* for close frames on shutdown */
#define ROUTER_TRUST_RECORDS_MAX 100000		  /* node ids whose reputation is kept */
#define ROUTER_ADMIN_TOKEN_MAX 256		  /* bytes of the /admin/nodes token */
#define ROUTER_PROBE_ANSWER_MAX 4096		  /* bytes of a probe's answer judged */

struct admin;
struct chat;
struct ic_cmdline;
struct clientip_trusted;
struct cluster;
struct ipcount;
struct models;
struct node;
struct policy;
struct probes;
struct standings;
struct ratelimit;
struct strmap;
struct trust;
struct toolrun;
struct xchats;

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
	bool is_chat; /* POST /api/chat accepted for reading */
	bool body_too_big;
	bool reply_pending;
	bool reply_close; /* close the connection after the reply */
	bool head;	  /* HEAD: the reply's headers without its body */
	int reply_status;
	int retry_after;   /* seconds, for 429; 0 = no header */
	const char *allow; /* Allow: of a 405 (static text), or NULL */
	char *reply;	   /* JSON text, owned */
	/* a request body still arriving (server.c): counted per IP and in all */
	struct lws *wsi;
	struct tq_timer body_timer; /* body_timeout from the end of the headers */
	bool body_counted;
	struct chat *chat; /* owned */
	/* node WebSocket */
	struct node *node; /* owned */
};

struct router_stats {
	uint64_t chats_total;
	uint64_t chats_failed;
	uint64_t replies_cut; /* max_reply_chars or reply_timeout */
	uint64_t failovers;
	uint64_t chunks;
	uint64_t rejected_rate;
	uint64_t refused_input; /* refuse_patterns matched */
	uint64_t probes[4];	/* by enum probe_outcome (trust.h) */
	uint64_t flagged;	/* outputs the filter had to strip */
};

struct router {
	struct lws_context *ctx;
	uv_loop_t *loop;		  /* ctx's, main()'s; NULL in unit tests */
	struct router_config *cfg;	  /* current; router_set_config() on reload */
	struct clientip_trusted *trusted; /* cfg->trusted_proxies, parsed */
	struct ratelimit *rl;
	struct ipcount *ipcount; /* streams and nodes per client IP */
	struct models *models;	 /* model name -> nodes, waiting chats */
	struct policy *policy;	 /* cfg->refuse_patterns, compiled */
	struct admin *admin;	 /* admin token, metrics_allow (admin.h) */
	struct trust *trust;	 /* node_id -> reputation (trust.h) */
	struct probes *probes;	 /* probe.h */
	struct toolrun *tools;	 /* chat-tools.h: searches, windows */
	struct cluster *cluster; /* the other instances, or NULL (cluster.h) */
	struct xchats *xchats;	 /* chats crossing instances, with a cluster (xchat.h) */
	/* when each node is told its standing (standing.h) */
	struct standings *standings;
	/* the node registry (nodes.c) */
	lws_dll2_owner_t nodes;	    /* registered struct node, via link */
	struct strmap *nodes_by_id; /* node_id -> registered node */
	uint64_t next_serial;	    /* the last node socket's serial */
	uint64_t rnd;		    /* sched.c's tie-breaking state */
	/* timer queues (tq.h), by owner */
	struct tq reg_q, hb_q;	      /* nodes.c: registration, heartbeat */
	struct tq wait_q;	      /* sched.c: queue_wait */
	struct tq chunk_q, ping_q;    /* chat.c: chunk_timeout, ping_interval */
	struct tq reply_q;	      /* chat.c: reply_timeout */
	struct tq body_q;	      /* server.c: body_timeout */
	int bodies_active;	      /* server.c: request bodies still arriving */
	lws_dll2_owner_t out_pending; /* chat.c: chats with output to write */
	/* chat output is written once a loop turn: before the loop waits
	 * (what timers emitted) and after it handled the sockets (what nodes
	 * sent); router.c */
	uv_prepare_t flush_before;
	uv_check_t flush_after;
	bool flushing; /* the two are started */
	int64_t start_us;
	bool draining;	     /* SIGTERM: no new work */
	int requests_active; /* chats between accept and end */
	struct router_stats stats;
	/* the process (idleclaw-routerd.c): signals, the drain, sd_notify */
	const struct ic_cmdline *cmdline; /* what SIGHUP reloads from */
	uv_poll_t signal_poll;		  /* the signalfd of SIGTERM, SIGINT, SIGHUP */
	int signal_fd;
	bool got_term, got_hup; /* read there, handled in router_wakeup() */
	lws_sorted_usec_list_t status_sul, watchdog_sul, drain_sul;
	uint64_t watchdog_us;
	int64_t drain_deadline_us;
	bool nodes_closed;
};

/*
 * Make r's state for r->cfg (set by the caller, r zeroed otherwise) on the
 * lws context ctx (its user pointer is r; its timers run the queues) and
 * its libuv loop (or NULL: no per-turn flush, no searches): everything,
 * also the cluster and its crossing chats when cfg has a cluster url
 * (listen_port names the instance by default) and the tools.  ctx is r's
 * from then on.  -1 with *err (the caller frees) if the cluster
 * cannot be made; r is then as router_fini() leaves it.
 */
int router_init(
	struct router *r, struct lws_context *ctx, uv_loop_t *loop, int listen_port, char **err);
/*
 * Free what router_init() made, the lws context too, in the one order that
 * works: the cluster (its threads wake the context) and the searches
 * before the context, whose chats (freed with it, in the loop's last turns
 * here) leave their crossings; then the rest.  r->cfg stays the caller's,
 * and so does the loop (run here until lws's handles are closed).
 */
void router_fini(struct router *r);
/* Swap in cfg (a NEW, valid configuration) and derive from it what is
 * parsed once (the trusted proxies).  Returns the previous configuration,
 * which the caller frees (NULL the first time). */
struct router_config *router_set_config(struct router *r, struct router_config *cfg);

/* Called in the service loop after lws_cancel_service(): another thread
 * (cluster.c's) has something for the loop's, or a signal came
 * (idleclaw-routerd.c). */
void router_wakeup(struct router *r);

/* Monotonic clock in microseconds. */
int64_t router_now_us(void);

#endif
