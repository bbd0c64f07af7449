/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * gateway-conn.c - the gateway's client connections (see gateway-conn.h).
 * Main thread.
 *
 * evhttp 2.1 tells nobody that it accepted a connection except the
 * callback that makes the connection's bufferevent (evhttp_set_bevcb),
 * and that runs before the connection object exists.  So new_bev() keeps
 * a reference on the bufferevent it makes and wakes adopt_cb(), which
 * finds the connection as the bufferevent's callback argument (evhttp
 * gives each connection's bufferevent the connection as its argument;
 * checked against evhttp_connection_get_bufferevent()).  adopt_cb() then
 * counts it or refuses it (503), and arms its deadline.
 *
 * new_bev() also stops the listener, so one connection is accepted a loop
 * turn and adopt_cb() (made active, so it runs in the same turn) starts it
 * again: no descriptor is closed and reused between the accept and the
 * adoption, and a flood costs one accept a turn, not a burst of them.
 *
 * A connection's deadline runs from its accept (later: from the answer
 * to its previous request) until evhttp has read a whole request; a
 * client still sending then is answered 408 (on its first request) and
 * disconnected.  While the daemon answers, the deadline is off: streams
 * have their own bounds (gateway.c).
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "daemon/gateway-conn.h"
#include "limits.h"
#include "log.h"
#include "xmalloc.h"

/* A bufferevent evhttp has just been given, not yet adopted. */
struct gw_fresh {
	TAILQ_ENTRY(gw_fresh) next;
	struct bufferevent *bev; /* one reference is ours */
};

struct gw_conn {
	LIST_ENTRY(gw_conn) next;
	struct gw_conns *cs;
	struct evhttp_connection *evcon;
	struct event *deadline;
	void *req;	  /* the gateway's request being answered, if any */
	unsigned answers; /* answers given on this connection */
	char addr[64];	  /* the client's address, numeric */
};

struct gw_conns {
	LIST_ENTRY(gw_conns) next;
	struct event_base *base;
	struct evhttp *http;
	struct evconnlistener *lev; /* evhttp's; NULL once unlistened */
	struct gw_conns_ops ops;
	void *arg;
	LIST_HEAD(, gw_conn) conns;
	size_t n;
	TAILQ_HEAD(, gw_fresh) fresh;
	struct event *adopt;
	struct event *rearm; /* accepting again after accept() failed */
	bool paused;	     /* by an accept() failure */
	bool refusing;	     /* logged once a burst */
	int fd_cap;	     /* connections the descriptor limit leaves room for */
	int warned_max;	     /* the max_connections last warned about */
};

/* evhttp gives the listener's error callback its own argument (the
 * evhttp), so the callback finds us here. */
static LIST_HEAD(, gw_conns) all = LIST_HEAD_INITIALIZER(all);

/* ---- limits ---- */

/* Connections RLIMIT_NOFILE leaves room for, the daemon's reserve kept. */
static int fd_cap_now(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
		rl.rlim_cur > (rlim_t)IC_GATEWAY_CONNS_MAX + IC_DAEMON_FDS_RESERVED)
		return IC_GATEWAY_CONNS_MAX;
	if (rl.rlim_cur > (rlim_t)IC_DAEMON_FDS_RESERVED * 2)
		return (int)(rl.rlim_cur - IC_DAEMON_FDS_RESERVED);
	return rl.rlim_cur > 2 ? (int)(rl.rlim_cur / 2) : 1;
}

static void limits_of(struct gw_conns *cs, struct gw_conn_limits *lim)
{
	cs->ops.limits(cs->arg, lim);
	if (lim->max <= cs->fd_cap)
		return;
	if (cs->warned_max != lim->max)
		log_warn("gateway: max_connections = %d does not fit the descriptor limit "
			 "(%d kept for the daemon); at most %d (raise LimitNOFILE)",
			lim->max, IC_DAEMON_FDS_RESERVED, cs->fd_cap);
	cs->warned_max = lim->max;
	lim->max = cs->fd_cap;
}

static size_t conns_from(const struct gw_conns *cs, const char *addr)
{
	const struct gw_conn *c;
	size_t n = 0;

	LIST_FOREACH(c, &cs->conns, next)
	if (strcmp(c->addr, addr) == 0)
		n++;
	return n;
}

/* ---- a connection's life ---- */

static void arm(struct gw_conn *c)
{
	struct gw_conn_limits lim;
	struct timeval tv = { 0, 0 };

	c->cs->ops.limits(c->cs->arg, &lim);
	tv.tv_sec = lim.timeout_s;
	evtimer_add(c->deadline, &tv);
}

/* Best effort, never blocking: a fresh socket's buffer takes a short
 * answer whole.  What the client sent is read first (up to a bound), so
 * that closing does not reset the connection under our answer. */
static void send_raw(evutil_socket_t fd, int status, const char *reason, const char *msg)
{
	char body[IC_ERRBUF_MAX + 32], head[256], junk[4096];
	int blen, hlen;
	size_t drained = 0;
	ssize_t got;

	while (drained < GW_REFUSE_DRAIN_MAX &&
		(got = recv(fd, junk, sizeof(junk), MSG_DONTWAIT)) > 0)
		drained += (size_t)got;
	blen = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", msg);
	hlen = snprintf(head, sizeof(head),
		"HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\n"
		"Content-Length: %d\r\n%sConnection: close\r\n\r\n",
		status, reason, blen, status == 503 ? "Retry-After: 5\r\n" : "");
	if (send(fd, head, (size_t)hlen, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ||
		send(fd, body, (size_t)blen, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("gateway: answering before closing: %s", strerror(errno));
}

static void forget(struct gw_conn *c)
{
	LIST_REMOVE(c, next);
	c->cs->n--;
	event_free(c->deadline);
	free(c);
}

/* evhttp is freeing the connection. */
static void on_closed(struct evhttp_connection *evcon, void *arg)
{
	struct gw_conn *c = arg;
	struct gw_conns *cs = c->cs;
	void *req = c->req;

	(void)evcon;
	forget(c);
	if (req)
		cs->ops.closed(cs->arg, req);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_conn *c = arg;
	struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);
	struct gw_conn_limits lim;
	char msg[IC_ERRBUF_MAX];

	(void)fd;
	(void)what;
	if (c->req)
		return; /* being answered: the deadline is off (never armed) */
	if (bev && evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
		arm(c); /* still writing an answer: evhttp's write timeout watches that */
		return;
	}
	c->cs->ops.limits(c->cs->arg, &lim);
	if (c->answers == 0 && bev) {
		snprintf(msg, sizeof(msg),
			"the request was not complete within %d seconds "
			"([gateway] request_timeout)",
			lim.timeout_s);
		send_raw(bufferevent_getfd(bev), 408, "Request Timeout", msg);
		log_info("gateway: a client did not send its request within %d s; "
			 "disconnected",
			lim.timeout_s);
	}
	evhttp_connection_free(c->evcon); /* on_closed() frees c */
}

/* ---- accepting ---- */

static void refuse(struct gw_conns *cs, struct evhttp_connection *evcon, struct bufferevent *bev,
	const char *why, const char *key, int value)
{
	char msg[IC_ERRBUF_MAX];

	snprintf(msg, sizeof(msg), "%s ([gateway] %s = %d); try again in a few seconds", why, key,
		value);
	if (!cs->refusing)
		log_warn("gateway: %s (%s = %d); refusing connections", why, key, value);
	cs->refusing = true;
	send_raw(bufferevent_getfd(bev), 503, "Service Unavailable", msg);
	evhttp_connection_free(evcon);
}

/* A connection evhttp has set up: count it, or refuse it. */
static void adopt_one(struct gw_conns *cs, struct bufferevent *bev)
{
	struct evhttp_connection *evcon;
	struct gw_conn_limits lim;
	struct gw_conn *c;
	void *arg = NULL;
	char *peer = NULL;
	const char *addr;
	ev_uint16_t port = 0;

	bufferevent_getcb(bev, NULL, NULL, NULL, &arg);
	evcon = arg;
	if (!evcon || evhttp_connection_get_bufferevent(evcon) != bev) {
		/* evhttp gave it up while setting it up (out of memory) */
		bufferevent_disable(bev, EV_READ | EV_WRITE);
		bufferevent_decref(bev);
		return;
	}
	bufferevent_decref(bev); /* evhttp holds it */
	evhttp_connection_get_peer(evcon, &peer, &port);
	addr = peer ? peer : "";
	limits_of(cs, &lim);
	if (cs->n >= (size_t)lim.max) {
		refuse(cs, evcon, bev, "too many connections to the gateway", "max_connections",
			lim.max);
		return;
	}
	if (lim.per_ip > 0 && conns_from(cs, addr) >= (size_t)lim.per_ip) {
		refuse(cs, evcon, bev, "too many connections from this address",
			"max_connections_per_ip", lim.per_ip);
		return;
	}
	cs->refusing = false;
	c = xcalloc(1, sizeof(*c));
	c->cs = cs;
	c->evcon = evcon;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	c->deadline = evtimer_new(cs->base, deadline_cb, c);
	LIST_INSERT_HEAD(&cs->conns, c, next);
	cs->n++;
	evhttp_connection_set_closecb(evcon, on_closed, c);
	arm(c);
}

static void adopt_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_conns *cs = arg;
	struct gw_fresh *f;

	(void)fd;
	(void)what;
	while ((f = TAILQ_FIRST(&cs->fresh)) != NULL) {
		TAILQ_REMOVE(&cs->fresh, f, next);
		adopt_one(cs, f->bev);
		free(f);
	}
	if (cs->lev && !cs->paused)
		evconnlistener_enable(cs->lev);
}

/* evhttp accepted a connection and asks for its bufferevent. */
static struct bufferevent *new_bev(struct event_base *base, void *arg)
{
	struct gw_conns *cs = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);
	struct gw_fresh *f;

	if (!bev)
		return NULL;
	bufferevent_incref(bev);
	f = xcalloc(1, sizeof(*f));
	f->bev = bev;
	TAILQ_INSERT_TAIL(&cs->fresh, f, next);
	if (cs->lev)
		evconnlistener_disable(cs->lev);
	event_active(cs->adopt, EV_TIMEOUT, 1);
	return bev;
}

static void rearm_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_conns *cs = arg;

	(void)fd;
	(void)what;
	cs->paused = false;
	if (cs->lev)
		evconnlistener_enable(cs->lev);
}

/* accept() failed (out of descriptors...): pause instead of spinning. */
static void accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct gw_conns *cs;
	struct timeval tv = { GW_ACCEPT_PAUSE_S, 0 };
	int err = EVUTIL_SOCKET_ERROR();

	LIST_FOREACH(cs, &all, next)
	if (cs->http == arg)
		break;
	evconnlistener_disable(lev);
	if (!cs)
		return;
	log_warn("gateway: accept failed: %s; pausing for %d s", strerror(err), GW_ACCEPT_PAUSE_S);
	cs->paused = true;
	evtimer_add(cs->rearm, &tv);
}

/* ---- the set ---- */

struct gw_conns *gw_conns_new(struct event_base *base, struct evhttp *http,
	struct evhttp_bound_socket *bound, const struct gw_conns_ops *ops, void *arg)
{
	struct gw_conns *cs = xcalloc(1, sizeof(*cs));

	cs->base = base;
	cs->http = http;
	cs->lev = evhttp_bound_socket_get_listener(bound);
	cs->ops = *ops;
	cs->arg = arg;
	LIST_INIT(&cs->conns);
	TAILQ_INIT(&cs->fresh);
	cs->adopt = event_new(base, -1, 0, adopt_cb, cs);
	cs->rearm = evtimer_new(base, rearm_cb, cs);
	cs->fd_cap = fd_cap_now();
	LIST_INSERT_HEAD(&all, cs, next);
	evhttp_set_bevcb(http, new_bev, cs);
	evconnlistener_set_error_cb(cs->lev, accept_error_cb);
	return cs;
}

void gw_conns_unlisten(struct gw_conns *cs)
{
	if (!cs)
		return;
	cs->lev = NULL;
	evtimer_del(cs->rearm);
}

void gw_conns_free(struct gw_conns *cs)
{
	struct gw_conn *c;
	struct gw_fresh *f;

	if (!cs)
		return;
	while ((c = LIST_FIRST(&cs->conns)) != NULL) {
		evhttp_connection_set_closecb(c->evcon, NULL, NULL);
		forget(c);
	}
	while ((f = TAILQ_FIRST(&cs->fresh)) != NULL) {
		TAILQ_REMOVE(&cs->fresh, f, next);
		bufferevent_decref(f->bev);
		free(f);
	}
	evhttp_set_bevcb(cs->http, NULL, NULL);
	LIST_REMOVE(cs, next);
	event_free(cs->adopt);
	event_free(cs->rearm);
	free(cs);
}

size_t gw_conns_count(const struct gw_conns *cs)
{
	return cs ? cs->n : 0;
}

struct gw_conn *gw_conn_find(struct gw_conns *cs, struct evhttp_connection *evcon)
{
	struct gw_conn *c;

	if (!cs || !evcon)
		return NULL;
	LIST_FOREACH(c, &cs->conns, next)
	if (c->evcon == evcon)
		return c;
	return NULL;
}

void gw_conn_request(struct gw_conn *c)
{
	if (c)
		evtimer_del(c->deadline);
}

void gw_conn_set_req(struct gw_conn *c, void *req)
{
	if (c)
		c->req = req;
}

void *gw_conn_req(const struct gw_conn *c)
{
	return c ? c->req : NULL;
}

void gw_conn_answered(struct gw_conn *c)
{
	if (!c)
		return;
	c->answers++;
	arm(c);
}
