/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * gateway-conn.h - the local gateway's client connections: how many at
 * once (in all, and from one client address when the gateway may be
 * reached from other hosts), how long a client has to send a request, and
 * what happens when accept() fails.  Main thread.
 *
 * Debian's evhttp (libevent 2.1.12) bounds none of this: it accepts until
 * the process runs out of descriptors (then the control socket cannot
 * accept root either), its timeout is an idle timeout (a byte every few
 * seconds keeps a request open for ever), and its listener has no error
 * callback (accept() failing with EMFILE was retried at once, for ever).
 * libevent 2.2's evhttp_set_max_connections() is not there.
 */
#ifndef IC_DAEMON_GATEWAY_CONN_H
#define IC_DAEMON_GATEWAY_CONN_H

#include <stddef.h>

#include <event2/event.h>
#include <event2/http.h>

/* Seconds accepting pauses after accept() failed (as the control socket's). */
#define GW_ACCEPT_PAUSE_S 1
/* Bytes of a refused client's request read and thrown away before closing,
 * so that the kernel sends our 503 and a FIN rather than a reset. */
#define GW_REFUSE_DRAIN_MAX (16 * 1024)

struct gw_conns;
struct gw_conn;

/* The limits now (read at each new connection, so a reload applies). */
struct gw_conn_limits {
	int max;       /* connections in all */
	int per_ip;    /* from one client address; 0: no such cap */
	int timeout_s; /* seconds for a request's headers and body */
};

struct gw_conns_ops {
	void (*limits)(void *arg, struct gw_conn_limits *out);
	/* A connection closed with req (from gw_conn_set_req) attached. */
	void (*closed)(void *arg, void *req);
};

/* Watch the connections http accepts on bound.  NEW; free with
 * gw_conns_free() before evhttp_free(http). */
struct gw_conns *gw_conns_new(struct event_base *base, struct evhttp *http,
	struct evhttp_bound_socket *bound, const struct gw_conns_ops *ops, void *arg);
/* bound is about to be freed: accept nothing more. */
void gw_conns_unlisten(struct gw_conns *cs);
/* Forget every connection, calling nothing back.  NULL is fine. */
void gw_conns_free(struct gw_conns *cs);
/* Connections open now. */
size_t gw_conns_count(const struct gw_conns *cs);

/* The connection of evcon; NULL if it is not ours (it always is). */
struct gw_conn *gw_conn_find(struct gw_conns *cs, struct evhttp_connection *evcon);
/* evhttp has read a whole request: its deadline stops. */
void gw_conn_request(struct gw_conn *c);
/* req (NULL: none) is told through ops->closed if the connection closes. */
void gw_conn_set_req(struct gw_conn *c, void *req);
/* The request attached, or NULL. */
void *gw_conn_req(const struct gw_conn *c);
/* Call before handing an answer to evhttp (which may free the connection
 * at once): the deadline of the connection's next request begins. */
void gw_conn_answered(struct gw_conn *c);

#endif
