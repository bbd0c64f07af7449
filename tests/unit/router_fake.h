/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * router_fake.h - what the router's unit tests put in place of the network.
 *
 * The state under test is real: a struct router made by router_init() from
 * the configuration table's defaults, on a real lws context that listens
 * nowhere (its timer list holds the queues' suls).  Three things are not:
 *  - the clock: router_now_us() returns fake_now_us, which tests advance,
 *    and timer queues fire when a test calls tq_run() with that time;
 *  - sockets: the four lws calls nodes.c makes on a connection
 *    (lws_write, lws_close_reason, lws_callback_on_writable,
 *    lws_set_timeout) are defined here and act on a struct fake_sock,
 *    which is what a test passes as the struct lws *;
 *  - chat.c: sched.c and nodes.c call it back (chat_assigned, ...); the
 *    versions here record the calls and do what sched.c relies on.
 */
#ifndef IC_TESTS_ROUTER_FAKE_H
#define IC_TESTS_ROUTER_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "router/chat.h"
#include "router/nodes.h"
#include "router/router.h"

extern int64_t fake_now_us;

struct fake_sock {
	char sent[8][512]; /* the last frames written, oldest first */
	int n_sent;
	bool writable;	/* a writeable callback was asked for */
	int close_code; /* from lws_close_reason, 0 if none */
	char close_reason[128];
	bool close_sent; /* a close frame was written */
	bool closed;	 /* fake_flush() saw node_writeable() return -1
				 * or write a close frame */
};

/* A router with the defaults and "section.key=value" overrides (NULL-ended
 * list, or NULL); fake_router_free() frees it and its lws context. */
struct router *fake_router_new(const char *const *overrides);
void fake_router_free(struct router *r);

/* Run a node's writeable callbacks while it asks for them; if one says
 * close (-1), free the node as LWS_CALLBACK_CLOSED would and return NULL. */
struct node *fake_flush(struct node *n);
/* A frame from the node (one fragment), then fake_flush(). */
struct node *fake_rx(struct node *n, const char *text);
/* A new node socket from ip that registers node_id with models (comma-
 * separated) and max_concurrent; returns it (NULL if it was closed). */
struct node *fake_node(struct router *r, struct fake_sock *s, const char *ip, const char *node_id,
	const char *models, int max_concurrent);

/* A chat for model (as chat_begin() would make it, without the HTTP side). */
struct chat *fake_chat_new(struct router *r, const char *model);
void fake_chat_free(struct chat *c);

/* What the chat.c stand-ins saw. */
struct fake_calls {
	int assigned, unavailable, failed;
	struct chat *last_unavailable;
};
extern struct fake_calls fake_calls;

#endif
