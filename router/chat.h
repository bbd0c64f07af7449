/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * chat.h - one consumer request: POST /api/chat to the end of its stream.
 *
 * The consumer's HTTP connection owns the chat (its pss); the scheduler
 * links it into a wait queue or onto a node.  Until a node is assigned,
 * errors are plain HTTP replies (503 ...); from then on the reply is an
 * SSE stream and errors are in-band.  Before the first chunk a failing node
 * is replaced by another (bounded attempts); the consumer never notices.
 */
#ifndef IC_ROUTER_CHAT_H
#define IC_ROUTER_CHAT_H

#include <json-c/json.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "router.h"
#include "tq.h"

struct chat_tools;
struct chunk_view;
struct ic_msg;
struct ic_outfilter;
struct model;
struct node;
struct pss;
struct xchat;

struct chat {
	struct router *r;
	lws_dll2_t node_link;	  /* in node->requests */
	lws_dll2_t queue_link;	  /* in model->waiting */
	lws_dll2_t flush_link;	  /* in r->out_pending */
	struct lws *wsi;	  /* the consumer */
	struct node *node;	  /* serving it, or NULL */
	struct model *waiting_on; /* queued for it, or NULL */
	char *model;
	char ip[ROUTER_IP_MAX];
	char request_id[40];
	char id[32];  /* "chatcmpl-..." */
	char *prefix; /* of its text events (sseout.h) */
	size_t prefix_len;
	json_object *params;	  /* ollama_params for the node */
	json_object *history;	  /* the conversation (prompt.h), tool turns added */
	bool think;		  /* asked by the consumer */
	int tool_rounds;	  /* tool results fed back so far */
	bool offered_native;	  /* this request's params carry "tools" */
	bool round_offered;	  /* this request offered tools: calls are parsed */
	struct chat_tools *tools; /* chat-tools.c's state, owned, or NULL */
	uint64_t *tried;	  /* serials of nodes that failed it */
	int attempts;
	int max_attempts; /* size of tried[] */
	int64_t wait_deadline_us;
	int64_t last_chunk_us; /* for the chunk timeout */
	bool streaming;	       /* 200 + SSE committed */
	bool headers_sent;
	bool body_direct; /* body bytes go to the socket (body_send()) */
	bool started;	  /* a chunk arrived: no more failover */
	bool finished;	  /* [DONE] queued */
	bool dead;	  /* consumer dropped; waiting for close */
	struct ic_outfilter *filter_content;
	struct ic_outfilter *filter_thinking;
	size_t filter_in, filter_out; /* bytes into and out of the filters */
	struct buf out;		      /* SSE bytes not yet written */
	struct tq_timer wait_timer;   /* queue_wait (sched.c) */
	struct tq_timer chunk_timer;  /* chunk_timeout */
	struct tq_timer ping_timer;   /* ping_interval */
	struct tq_timer reply_timer;  /* reply_timeout */
	size_t reply_chars;	      /* content characters sent (max_reply_chars) */
	bool reply_over;	      /* max_reply_chars reached: the rest is cut */
	struct xchat *x;	      /* its part in a crossing (xchat.h), owned, or NULL */
};

/*
 * The body of POST /api/chat is complete in pss->body: validate it and
 * start the chat, or set pss->reply with the error.  Returns the HTTP
 * status of an immediate reply, or 0 when the chat went to the scheduler.
 */
int chat_begin(struct router *r, struct lws *wsi, struct pss *pss);
/* NEW ollama_params that a consumer's round with messages for model (think
 * asked or not) on node n gets under the prompt policy, tools offered alike
 * (probe.c sends its questions with the very same). */
json_object *chat_params_for(
	const struct node *n, const char *model, json_object *messages, bool think);
/* The scheduler put c on c->node. */
void chat_assigned(struct chat *c);
/* A peer instance serves c (xchat.h), its prompt policy having offered
 * tools natively (native) or at all (offered). */
void chat_remote_assigned(struct chat *c, bool native, bool offered);
/* The node serving c, local ("node_id") or a peer's ("instance/node_id"),
 * or NULL. */
const char *chat_server_name(const struct chat *c);
/* A chat served here for a peer (xchat.h): no consumer socket, its own
 * request id; counted in requests_active until chat_proxy_free(). */
struct chat *chat_proxy_new(
	struct router *r, const char *model, json_object *messages, bool think, int tool_rounds);
void chat_proxy_free(struct chat *c);
/* A frame of a peer's chat from its node, verbatim (last: the end; c is
 * freed), or as chunk_parse() read it. */
void chat_proxy_frame(struct chat *c, const char *text, size_t len, bool last);
void chat_proxy_chunk(struct chat *c, const struct chunk_view *v);
/* No node will serve c (none has the model, queue full, wait over). */
void chat_unavailable(struct chat *c);
/* c's node failed it (gone, error, timeout): fail over or end in-band. */
void chat_node_failed(struct chat *c, const char *reason);
/* A chunk or error for c from its node. */
void chat_node_message(struct chat *c, const struct ic_msg *m);
/* A chunk for c from its node, read by chunk_parse(). */
void chat_node_chunk(struct chat *c, const struct chunk_view *v);
/* LWS_CALLBACK_HTTP_WRITEABLE for a chat.  -1: close the connection. */
int chat_writeable(struct chat *c);
/* Whether c's next request offers tools (configured, rounds left). */
bool chat_tools_offered(const struct chat *c);
/* A tool call's progress to the consumer: status "executing", "done" or
 * "error" (with reason, else NULL). */
void chat_emit_tool(struct chat *c, const char *name, const char *status, const char *reason);
/* The tool results are in c->history: the next request, to c's node if it
 * is still there, else through the scheduler. */
void chat_next_round(struct chat *c);
/* Write the output of the chats in r->out_pending (once a loop turn). */
void chat_flush_pending(struct router *r);
/* The consumer connection is closing: cancel at the node, free. */
void chat_free(struct chat *c);

#endif
