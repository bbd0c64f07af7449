/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * nodes.h - the node registry: one struct node per node WebSocket.
 *
 * Identity is bound to the socket: once a socket has registered, every
 * message on it belongs to that node, whatever node_id it carries, and a
 * chunk or error for a request not assigned to this socket is dropped.
 * A second registration of a node_id replaces the first socket (closed
 * 1000 "re-registered"); different node_ids behind one address coexist.
 */
#ifndef IC_ROUTER_NODES_H
#define IC_ROUTER_NODES_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "router.h"
#include "tq.h"

struct node_model;
struct probe;
struct standing;
struct trust_rec;

struct node {
	lws_dll2_t link; /* in r->nodes once registered */
	struct router *r;
	struct lws *wsi;
	uint64_t serial; /* unique for the life of the process */
	char ip[ROUTER_IP_MAX];
	char *node_id; /* NULL until registered */
	char *ollama_version;
	bool registered;
	bool available;	     /* extension: heartbeat.available */
	int max_concurrent;  /* clamped */
	int active;	     /* chats assigned here */
	int reported_active; /* from the last heartbeat */
	struct node_model *models;
	size_t n_models;
	lws_dll2_owner_t requests; /* struct chat, via node_link */
	lws_dll2_owner_t outq;	   /* struct outmsg */
	size_t out_bytes;
	struct buf rx; /* fragments of the current message */
	bool rx_overflow;
	bool closing;	 /* close frame pending */
	bool close_sent; /* waiting for the peer's close */
	int close_code;
	char close_reason[96];
	struct tq_timer reg_timer; /* registration deadline */
	struct tq_timer hb_timer;  /* heartbeat deadline */
	int64_t last_rx_us;	   /* last frame, for the deadline */
	int64_t registered_us;	   /* when it registered */
	struct trust_rec *trust;   /* its id's reputation, once registered */
	struct probe *probe;	   /* probe.c's state, once registered */
	struct standing *standing; /* standing.c's timer, once registered */
};

/* A new node socket (LWS_CALLBACK_ESTABLISHED); owned by its pss. */
struct node *node_new(struct router *r, struct lws *wsi, const char *ip);
/* A fragment of a text frame.  -1: close now (reason already set). */
int node_rx(struct node *n, const void *in, size_t len, bool first, bool final);
/* LWS_CALLBACK_SERVER_WRITEABLE.  -1: close now. */
int node_writeable(struct node *n);
/* The node registered on another instance of the cluster: close this
 * socket as a re-registration would. */
void node_registered_elsewhere(struct node *n, const char *instance);
/* The socket is gone: fail its requests over, unregister, free. */
void node_closed(struct node *n);

/* Queue text (taken over, NEW string) for the node. */
void node_send(struct node *n, char *text);
/* Close with code and reason as soon as the socket is writeable. */
void node_close(struct node *n, int code, const char *reason);
/* Close every node (shutdown). */
void nodes_close_all(struct router *r, int code, const char *reason);

/* Registered nodes. */
unsigned long nodes_count(const struct router *r);
bool node_has_capacity(const struct node *n);

#endif
