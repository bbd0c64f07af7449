/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * link.c - the router link thread (see link.h).
 *
 * Ownership, by thread:
 *   main thread:  struct link's public side (calls into link_*), the
 *                 libevent event `wake`, and every callback it runs.
 *   link thread:  the lws context and every struct lws, every struct
 *                 conn (one per WebSocket session or HTTP request), and
 *                 the `conns` list.  Nothing else touches them.
 *   both, under `mu`: the command queue (main -> link), the event queue
 *                 (link -> main), ws_pending and `stop`.
 * Commands and events are plain structs with owned strings; whoever takes
 * one off a queue frees it.  The main thread hands a command over with
 * push_cmd(), which clears its pointer: after that the command is the link
 * thread's, which may already have run and freed it.  (lws_create_context()
 * runs in the main thread before the link thread exists; it calls back
 * once, for CA loading.)
 */

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netdb.h>

#include <event2/event.h>
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "daemon/dconfig.h"
#include "daemon/link.h"
#include "limits.h"
#include "log.h"
#include "validate.h"
#include "xmalloc.h"

#if LINK_LWS_TIMEOUT_S <= DCONFIG_TIMEOUT_MAX_S
#error "lws must not give up on a request before router_timeout does"
#endif

#define LINK_PROTOCOL "idleclaw-node"
#define WS_PATH "/ws/node"

enum cmd_type { CMD_WS_CONNECT, CMD_WS_SEND, CMD_WS_CLOSE, CMD_HTTP_START, CMD_HTTP_CANCEL };

struct cmd {
	STAILQ_ENTRY(cmd) next;
	enum cmd_type type;
	uint64_t id;	   /* ws gen or http id */
	struct ic_url url; /* connect, http start */
	char *method;
	char *data; /* frame or body */
	size_t len;
};

/* What the link thread hands the main thread (not libevent's EV_* flags). */
enum link_event_type {
	LINK_EVENT_WS_OPEN,
	LINK_EVENT_WS_TEXT,
	LINK_EVENT_WS_CLOSED,
	LINK_EVENT_HTTP_STATUS,
	LINK_EVENT_HTTP_DATA,
	LINK_EVENT_HTTP_DONE,
};

struct link_event {
	STAILQ_ENTRY(link_event) next;
	enum link_event_type type;
	uint64_t id;
	int code;
	char *data; /* text, reason, body bytes or error; may be NULL */
	size_t len;
};

struct frame {
	STAILQ_ENTRY(frame) next;
	char *buf; /* LWS_PRE bytes, then the text */
	size_t len;
};

/* One lws connection (link thread only). */
struct conn {
	LIST_ENTRY(conn) next;
	bool is_ws;
	uint64_t id;
	struct lws *wsi;
	bool ended;   /* final event emitted */
	bool gone;    /* wsi destroyed (or never created): reap */
	bool closing; /* close at the next writeable */
	bool open;    /* ws: the upgrade is done */
	/* ws */
	STAILQ_HEAD(, frame) out;
	char *rx;
	size_t rx_len, rx_cap;
	int peer_code;
	char peer_reason[128];
	/* http */
	char *method;
	char *body;
	size_t body_len, body_sent;
};

STAILQ_HEAD(cmd_q, cmd);
STAILQ_HEAD(link_event_q, link_event);

struct link {
	/* main thread */
	struct event *wake;
	struct link_callbacks cb;
	void *ctx;
	uint64_t next_gen; /* last ws gen handed out */
	uint64_t next_http;
	uint64_t cur_gen;
	/* link thread */
	struct lws_context *lws;
	LIST_HEAD(, conn) conns;
	struct conn *ws; /* current session, or NULL */
	pthread_t thread;
	/* shared, under mu */
	pthread_mutex_t mu;
	struct cmd_q cmds;
	struct link_event_q events;
	size_t event_bytes;
	size_t ws_pending;
	bool stop;
};

/* ---- link thread: events to the main thread ---- */

/* Queue an event for the main thread; false if the queue is full (the
 * caller then drops its connection).  Final events are always queued. */
static bool emit(struct link *l, enum link_event_type type, uint64_t id, int code, const char *data,
	size_t len)
{
	struct link_event *e = xcalloc(1, sizeof(*e));
	bool overflow, was_empty;

	e->type = type;
	e->id = id;
	e->code = code;
	if (data) {
		e->data = xmalloc(len + 1);
		memcpy(e->data, data, len);
		e->data[len] = '\0';
		e->len = len;
	}
	pthread_mutex_lock(&l->mu);
	overflow = l->event_bytes + len > LINK_EVENTS_MAX && type != LINK_EVENT_WS_CLOSED &&
		type != LINK_EVENT_HTTP_DONE;
	was_empty = STAILQ_EMPTY(&l->events);
	if (!overflow) {
		STAILQ_INSERT_TAIL(&l->events, e, next);
		l->event_bytes += len;
	}
	pthread_mutex_unlock(&l->mu);
	if (overflow) {
		free(e->data);
		free(e);
		log_err("link: event queue full; dropping the connection");
		return false;
	}
	/* a non-empty queue has a wake-up pending already: the main thread
	 * takes the whole queue at once */
	if (was_empty)
		event_active(l->wake, EV_READ, 0);
	return true;
}

static void conn_end(struct link *l, struct conn *c, int code, const char *reason)
{
	if (c->ended)
		return;
	c->ended = true;
	if (c->is_ws)
		emit(l, LINK_EVENT_WS_CLOSED, c->id, code, reason, reason ? strlen(reason) : 0);
	else
		emit(l, LINK_EVENT_HTTP_DONE, c->id, 0, reason, reason ? strlen(reason) : 0);
}

static void conn_free(struct link *l, struct conn *c)
{
	struct frame *f;
	size_t dropped = 0;

	while ((f = STAILQ_FIRST(&c->out)) != NULL) {
		STAILQ_REMOVE_HEAD(&c->out, next);
		dropped += f->len;
		free(f->buf);
		free(f);
	}
	if (dropped) {
		pthread_mutex_lock(&l->mu);
		l->ws_pending -= dropped;
		pthread_mutex_unlock(&l->mu);
	}
	free(c->rx);
	free(c->method);
	free(c->body);
	free(c);
}

/* Free connections whose wsi is gone; runs outside lws callbacks. */
static void reap(struct link *l)
{
	struct conn *c, *tmp;

	for (c = LIST_FIRST(&l->conns); c; c = tmp) {
		tmp = LIST_NEXT(c, next);
		if (!c->gone)
			continue;
		LIST_REMOVE(c, next);
		if (l->ws == c)
			l->ws = NULL;
		conn_free(l, c);
	}
}

static struct conn *find_http(struct link *l, uint64_t id)
{
	struct conn *c;

	LIST_FOREACH(c, &l->conns, next)
	if (!c->is_ws && c->id == id)
		return c;
	return NULL;
}

/* ---- link thread: starting connections ---- */

static char *host_header_new(const struct ic_url *u)
{
	bool v6 = strchr(u->host, ':') != NULL;
	bool def = u->port == (u->tls ? 443 : 80);

	if (def)
		return v6 ? xasprintf("[%s]", u->host) : xstrdup(u->host);
	return v6 ? xasprintf("[%s]:%d", u->host, u->port) : xasprintf("%s:%d", u->host, u->port);
}

/* Why lws could not even start a connection: usually the name does not
 * resolve (lws resolves in this thread, blocking, which is fine here). */
static void connect_error(const struct ic_url *u, char *why, size_t len)
{
	struct addrinfo hints, *res;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(u->host, NULL, &hints, &res);
	if (rc != 0) {
		snprintf(why, len, "cannot resolve %s: %s", u->host, gai_strerror(rc));
		return;
	}
	freeaddrinfo(res);
	snprintf(why, len, "cannot connect to %s port %d", u->host, u->port);
}

static void conn_connect(struct link *l, struct conn *c, const struct ic_url *u, const char *path)
{
	struct lws_client_connect_info ci;
	char *hosthdr = host_header_new(u);
	char *fullpath = xasprintf("%s%s", u->path, path);
	struct lws *wsi;

	memset(&ci, 0, sizeof(ci));
	ci.context = l->lws;
	ci.address = u->host;
	ci.port = u->port;
	ci.path = fullpath;
	ci.host = hosthdr;
	ci.origin = hosthdr;
	ci.ssl_connection = u->tls ? LCCSCF_USE_SSL : 0;
	ci.local_protocol_name = LINK_PROTOCOL;
	ci.alpn = "http/1.1";
	ci.opaque_user_data = c;
	ci.pwsi = &c->wsi;
	if (!c->is_ws)
		ci.method = c->method;
	wsi = lws_client_connect_via_info(&ci);
	free(hosthdr);
	free(fullpath);
	if (!wsi) {
		char why[IC_ERRBUF_MAX];

		c->wsi = NULL;
		connect_error(u, why, sizeof(why));
		conn_end(l, c, 0, why);
		c->gone = true;
	}
}

/* Close a session: after its queued frames if it is open, at once if it
 * is still connecting (no frame can be sent, nothing to flush). */
static void ws_close(struct conn *c)
{
	c->closing = true;
	if (!c->wsi || c->gone)
		return;
	if (c->open)
		lws_callback_on_writable(c->wsi);
	else
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

static void do_ws_connect(struct link *l, struct cmd *cmd)
{
	struct conn *c;

	if (l->ws) /* the old session closes; its events are stale now */
		ws_close(l->ws);
	c = xcalloc(1, sizeof(*c));
	c->is_ws = true;
	c->id = cmd->id;
	STAILQ_INIT(&c->out);
	LIST_INSERT_HEAD(&l->conns, c, next);
	l->ws = c;
	conn_connect(l, c, &cmd->url, WS_PATH);
}

static void do_ws_send(struct link *l, struct cmd *cmd)
{
	struct frame *f;

	if (!l->ws || l->ws->id != cmd->id || l->ws->ended || l->ws->closing || !l->ws->wsi) {
		pthread_mutex_lock(&l->mu);
		l->ws_pending -= cmd->len;
		pthread_mutex_unlock(&l->mu);
		return;
	}
	f = xmalloc(sizeof(*f));
	f->buf = xmalloc(LWS_PRE + cmd->len);
	memcpy(f->buf + LWS_PRE, cmd->data, cmd->len);
	f->len = cmd->len;
	STAILQ_INSERT_TAIL(&l->ws->out, f, next);
	lws_callback_on_writable(l->ws->wsi);
}

static void do_http_start(struct link *l, struct cmd *cmd)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->id = cmd->id;
	STAILQ_INIT(&c->out);
	c->method = cmd->method;
	cmd->method = NULL;
	c->body = cmd->data;
	c->body_len = cmd->len;
	cmd->data = NULL;
	LIST_INSERT_HEAD(&l->conns, c, next);
	conn_connect(l, c, &cmd->url, "");
}

static void run_cmd(struct link *l, struct cmd *cmd)
{
	struct conn *c;

	switch (cmd->type) {
	case CMD_WS_CONNECT:
		do_ws_connect(l, cmd);
		break;
	case CMD_WS_SEND:
		do_ws_send(l, cmd);
		break;
	case CMD_WS_CLOSE:
		if (l->ws && l->ws->id == cmd->id)
			ws_close(l->ws);
		break;
	case CMD_HTTP_START:
		do_http_start(l, cmd);
		break;
	case CMD_HTTP_CANCEL:
		c = find_http(l, cmd->id);
		if (c) {
			c->ended = true; /* the caller forgot it: say nothing */
			if (c->wsi && !c->gone)
				lws_set_timeout(
					c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
		}
		break;
	}
}

static void cmd_free(struct cmd *cmd)
{
	ic_url_clear(&cmd->url);
	free(cmd->method);
	free(cmd->data);
	free(cmd);
}

static void run_cmds(struct link *l)
{
	struct cmd_q q = STAILQ_HEAD_INITIALIZER(q);
	struct cmd *cmd;

	pthread_mutex_lock(&l->mu);
	STAILQ_CONCAT(&q, &l->cmds);
	pthread_mutex_unlock(&l->mu);
	while ((cmd = STAILQ_FIRST(&q)) != NULL) {
		STAILQ_REMOVE_HEAD(&q, next);
		run_cmd(l, cmd);
		cmd_free(cmd);
	}
}

/* ---- link thread: the lws callback ---- */

static int ws_writeable(struct link *l, struct conn *c, struct lws *wsi)
{
	struct frame *f;
	int n;

	f = STAILQ_FIRST(&c->out);
	if (!f) {
		/* closing: only after what was queued went out (final chunks) */
		if (c->closing || c != l->ws) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"bye", 3);
			return -1;
		}
		return 0;
	}
	STAILQ_REMOVE_HEAD(&c->out, next);
	n = lws_write(wsi, (unsigned char *)f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT);
	pthread_mutex_lock(&l->mu);
	l->ws_pending -= f->len;
	pthread_mutex_unlock(&l->mu);
	free(f->buf);
	free(f);
	if (n < 0)
		return -1;
	if (!STAILQ_EMPTY(&c->out) || c->closing || c != l->ws)
		lws_callback_on_writable(wsi);
	return 0;
}

static int ws_receive(struct link *l, struct conn *c, struct lws *wsi, const void *in, size_t len)
{
	if (c->rx_len + len > IC_WS_MESSAGE_MAX) {
		log_warn("link: message from the router over %d bytes; reconnecting",
			IC_WS_MESSAGE_MAX);
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
		return -1;
	}
	if (c->rx_len + len + 1 > c->rx_cap) {
		/* grow geometrically: a message comes in fragments of a few KiB,
		 * and copying it whole for each was quadratic (2 MiB: seconds) */
		size_t cap = c->rx_cap ? c->rx_cap : 4096;

		while (cap < c->rx_len + len + 1)
			cap *= 2;
		if (cap > (size_t)IC_WS_MESSAGE_MAX + 1)
			cap = (size_t)IC_WS_MESSAGE_MAX + 1; /* enough: checked above */
		c->rx = xrealloc(c->rx, cap);
		c->rx_cap = cap;
	}
	memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += len;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;
	if (c == l->ws && !c->closing && !emit(l, LINK_EVENT_WS_TEXT, c->id, 0, c->rx, c->rx_len)) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, NULL, 0);
		return -1;
	}
	free(c->rx);
	c->rx = NULL;
	c->rx_len = 0;
	c->rx_cap = 0;
	return 0;
}

static void ws_peer_close(struct conn *c, const unsigned char *in, size_t len)
{
	size_t n;

	if (len < 2)
		return;
	c->peer_code = (in[0] << 8) | in[1];
	n = len - 2;
	if (n >= sizeof(c->peer_reason))
		n = sizeof(c->peer_reason) - 1;
	memcpy(c->peer_reason, in + 2, n);
	c->peer_reason[n] = '\0';
}

static int http_writeable(struct conn *c, struct lws *wsi)
{
	size_t n = c->body_len - c->body_sent;
	unsigned char *buf;
	int rc;

	if (n > LINK_HTTP_WRITE_STEP)
		n = LINK_HTTP_WRITE_STEP;
	buf = xmalloc(LWS_PRE + n + 1);
	memcpy(buf + LWS_PRE, c->body + c->body_sent, n);
	c->body_sent += n;
	rc = lws_write(wsi, buf + LWS_PRE, n,
		c->body_sent == c->body_len ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
	free(buf);
	if (rc < 0)
		return -1;
	if (c->body_sent < c->body_len)
		lws_callback_on_writable(wsi);
	else
		lws_client_http_body_pending(wsi, 0);
	return 0;
}

static int http_append_headers(struct conn *c, struct lws *wsi, void *in, size_t len)
{
	unsigned char **p = in, *end = (*p) + len;
	char cl[32];

	if (!c->body)
		return 0;
	snprintf(cl, sizeof(cl), "%zu", c->body_len);
	if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
		    (unsigned char *)"application/json", 16, p, end) ||
		lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
			(unsigned char *)cl, (int)strlen(cl), p, end))
		return -1;
	if (c->body_len) {
		lws_client_http_body_pending(wsi, 1);
		lws_callback_on_writable(wsi);
	}
	return 0;
}

static int cb_conn(struct link *l, struct conn *c, struct lws *wsi,
	enum lws_callback_reasons reason, void *in, size_t len)
{
	char buf[4096 + LWS_PRE], *px;
	int lenx;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		c->open = true;
		if (c == l->ws && !c->closing)
			emit(l, LINK_EVENT_WS_OPEN, c->id, 0, NULL, 0);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return ws_receive(l, c, wsi, in, len);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return ws_writeable(l, c, wsi);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		ws_peer_close(c, in, len);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		conn_end(l, c, 0, in ? (const char *)in : "connection failed");
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		conn_end(l, c, c->peer_code, c->peer_code ? c->peer_reason : "connection closed");
		break;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		if (!c->is_ws)
			return http_append_headers(c, wsi, in, len);
		break;
	case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE:
		if (!c->is_ws && c->body_sent < c->body_len)
			return http_writeable(c, wsi);
		break;
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		if (!c->is_ws && !c->ended)
			emit(l, LINK_EVENT_HTTP_STATUS, c->id,
				(int)lws_http_client_http_response(wsi), NULL, 0);
		break;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
		px = buf + LWS_PRE;
		lenx = sizeof(buf) - LWS_PRE;
		if (lws_http_client_read(wsi, &px, &lenx) < 0)
			return -1;
		break;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		if (!c->ended && !emit(l, LINK_EVENT_HTTP_DATA, c->id, 0, in, len))
			return -1;
		break;
	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
		conn_end(l, c, 0, NULL);
		break;
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		conn_end(l, c, 0, "connection closed before the reply was complete");
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		conn_end(l, c, c->peer_code, "connection lost");
		c->wsi = NULL;
		c->gone = true;
		lws_set_opaque_user_data(wsi, NULL);
		break;
	default:
		break;
	}
	return 0;
}

/*
 * The system CA store as OpenSSL's hashed directory ($SSL_CERT_DIR, else
 * /etc/ssl/certs): certificates are read when a chain needs them instead
 * of the whole bundle up front, which costs about 1 MiB of RSS.  lws's own
 * loading of the bundle is off (LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS).
 */
static int load_system_cas(void *ssl_ctx)
{
	const char *dir = getenv(X509_get_default_cert_dir_env());

	if (!dir || !*dir)
		dir = X509_get_default_cert_dir();
	if (!SSL_CTX_load_verify_locations(ssl_ctx, NULL, dir))
		log_warn("link: cannot use the CA directory %s", dir);
	return 0;
}

static int callback(
	struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct link *l = lws_context_user(lws_get_context(wsi));
	struct conn *c;

	if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED) {
		run_cmds(l);
		return 0;
	}
	if (reason == LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS)
		return load_system_cas(user);
	c = lws_get_opaque_user_data(wsi);
	if (!c)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	return cb_conn(l, c, wsi, reason, in, len);
}

static const struct lws_protocols protocols[] = { { LINK_PROTOCOL, callback, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 } };

static void *thread_main(void *arg)
{
	struct link *l = arg;
	bool stop = false;

	while (!stop) {
		lws_service(l->lws, 0);
		reap(l);
		pthread_mutex_lock(&l->mu);
		stop = l->stop;
		pthread_mutex_unlock(&l->mu);
	}
	lws_context_destroy(l->lws);
	l->lws = NULL;
	reap(l);
	return NULL;
}

/* ---- main thread ---- */

static void dispatch(struct link *l, struct link_event *e)
{
	switch (e->type) {
	case LINK_EVENT_WS_OPEN:
		if (e->id == l->cur_gen)
			l->cb.ws_open(l->ctx, e->id);
		break;
	case LINK_EVENT_WS_TEXT:
		if (e->id == l->cur_gen)
			l->cb.ws_text(l->ctx, e->id, e->data, e->len);
		break;
	case LINK_EVENT_WS_CLOSED:
		if (e->id == l->cur_gen) {
			l->cur_gen = 0;
			l->cb.ws_closed(l->ctx, e->id, e->code, e->data ? e->data : "");
		}
		break;
	case LINK_EVENT_HTTP_STATUS:
		l->cb.http_status(l->ctx, e->id, e->code);
		break;
	case LINK_EVENT_HTTP_DATA:
		l->cb.http_data(l->ctx, e->id, e->data, e->len);
		break;
	case LINK_EVENT_HTTP_DONE:
		l->cb.http_done(l->ctx, e->id, e->data);
		break;
	}
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct link *l = arg;
	struct link_event_q q = STAILQ_HEAD_INITIALIZER(q);
	struct link_event *e;

	pthread_mutex_lock(&l->mu);
	STAILQ_CONCAT(&q, &l->events);
	l->event_bytes = 0;
	pthread_mutex_unlock(&l->mu);
	while ((e = STAILQ_FIRST(&q)) != NULL) {
		STAILQ_REMOVE_HEAD(&q, next);
		dispatch(l, e);
		free(e->data);
		free(e);
	}
}

static void lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	log_debug("lws: %.*s", (int)n, line);
}

/*
 * Hand a command to the link thread: from here on it is the link thread's,
 * which may run and free it before this returns.  *cmdp is cleared so that
 * no caller can read it afterwards (a use would be a NULL dereference in
 * every run, not a race that shows once in a thousand).
 */
static void push_cmd(struct link *l, struct cmd **cmdp)
{
	struct cmd *cmd = *cmdp;
	bool was_empty;

	*cmdp = NULL;
	pthread_mutex_lock(&l->mu);
	was_empty = STAILQ_EMPTY(&l->cmds);
	STAILQ_INSERT_TAIL(&l->cmds, cmd, next);
	pthread_mutex_unlock(&l->mu);
	/* as in emit(): one wake-up per batch, the link thread takes them all */
	if (was_empty)
		lws_cancel_service(l->lws);
}

struct link *link_new(struct event_base *base, const struct link_callbacks *cb, void *ctx, bool tls,
	const char *ca_file, char *err, size_t errlen)
{
	struct lws_context_creation_info info;
	struct link *l = xcalloc(1, sizeof(*l));

	l->cb = *cb;
	l->ctx = ctx;
	pthread_mutex_init(&l->mu, NULL);
	STAILQ_INIT(&l->cmds);
	STAILQ_INIT(&l->events);
	LIST_INIT(&l->conns);
	l->wake = event_new(base, -1, 0, wake_cb, l);

	lws_set_log_level(
		ic_log_get_level() >= IC_LOG_DEBUG ? (LLL_ERR | LLL_WARN) : 0, lws_log_emit);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	/* OpenSSL's initialisation costs about 4 MiB of RSS: only for https */
	info.options = tls
		? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS
		: 0;
	info.user = l;
	info.gid = -1;
	info.uid = -1;
	info.fd_limit_per_thread = 64; /* a few connections; keeps RSS small */
	info.timeout_secs = LINK_LWS_TIMEOUT_S;
	info.connect_timeout_secs = LINK_CONNECT_TIMEOUT_S;
	info.count_threads = 1;
	if (ca_file && *ca_file)
		info.client_ssl_ca_filepath = ca_file;
	l->lws = lws_create_context(&info);
	if (!l->lws) {
		snprintf(err, errlen, "cannot create the libwebsockets context");
		event_free(l->wake);
		pthread_mutex_destroy(&l->mu);
		free(l);
		return NULL;
	}
	if ((errno = pthread_create(&l->thread, NULL, thread_main, l)) != 0) {
		snprintf(err, errlen, "cannot start the link thread: %s", strerror(errno));
		lws_context_destroy(l->lws);
		event_free(l->wake);
		pthread_mutex_destroy(&l->mu);
		free(l);
		return NULL;
	}
	return l;
}

void link_free(struct link *l)
{
	struct cmd *cmd;
	struct link_event *e;

	if (!l)
		return;
	/* Wake the thread while holding mu: it reads `stop` under mu, so it
	 * cannot see it, leave and destroy the context before this
	 * lws_cancel_service() is done with it. */
	pthread_mutex_lock(&l->mu);
	l->stop = true;
	lws_cancel_service(l->lws);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	while ((cmd = STAILQ_FIRST(&l->cmds)) != NULL) {
		STAILQ_REMOVE_HEAD(&l->cmds, next);
		cmd_free(cmd);
	}
	while ((e = STAILQ_FIRST(&l->events)) != NULL) {
		STAILQ_REMOVE_HEAD(&l->events, next);
		free(e->data);
		free(e);
	}
	event_free(l->wake);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

uint64_t link_ws_connect(struct link *l, const char *base_url)
{
	struct cmd *cmd = xcalloc(1, sizeof(*cmd));
	char err[IC_ERRBUF_MAX];

	if (ic_url_parse(base_url, &cmd->url, err, sizeof(err)) < 0) {
		free(cmd);
		return 0;
	}
	/* strip a trailing '/' so that base + "/ws/node" has one slash */
	if (cmd->url.path) {
		size_t n = strlen(cmd->url.path);
		if (n && cmd->url.path[n - 1] == '/')
			cmd->url.path[n - 1] = '\0';
	}
	cmd->type = CMD_WS_CONNECT;
	cmd->id = ++l->next_gen;
	l->cur_gen = cmd->id;
	push_cmd(l, &cmd);
	return l->cur_gen;
}

void link_ws_close(struct link *l)
{
	struct cmd *cmd;

	if (!l->cur_gen)
		return;
	cmd = xcalloc(1, sizeof(*cmd));
	cmd->type = CMD_WS_CLOSE;
	cmd->id = l->cur_gen;
	push_cmd(l, &cmd);
}

int link_ws_send(struct link *l, uint64_t gen, char *text, size_t len)
{
	struct cmd *cmd;
	bool full;

	if (gen == 0 || gen != l->cur_gen) {
		free(text);
		return -1;
	}
	pthread_mutex_lock(&l->mu);
	full = l->ws_pending + len > LINK_WS_PENDING_MAX;
	if (!full)
		l->ws_pending += len;
	pthread_mutex_unlock(&l->mu);
	if (full) {
		free(text);
		return -1;
	}
	cmd = xcalloc(1, sizeof(*cmd));
	cmd->type = CMD_WS_SEND;
	cmd->id = gen;
	cmd->data = text;
	cmd->len = len;
	push_cmd(l, &cmd);
	return 0;
}

uint64_t link_http_start(
	struct link *l, const char *method, const char *url, char *body, size_t body_len)
{
	struct cmd *cmd = xcalloc(1, sizeof(*cmd));
	char err[IC_ERRBUF_MAX];
	uint64_t id;

	if (ic_url_parse(url, &cmd->url, err, sizeof(err)) < 0) {
		free(cmd);
		free(body);
		return 0;
	}
	id = ++l->next_http;
	cmd->type = CMD_HTTP_START;
	cmd->id = id;
	cmd->method = xstrdup(method);
	cmd->data = body;
	cmd->len = body ? body_len : 0;
	/* The link thread may run and free cmd before push_cmd() returns (an
	 * ASan run once caught `return cmd->id` here reading freed memory):
	 * the id is answered from our own copy. */
	push_cmd(l, &cmd);
	return id;
}

void link_http_cancel(struct link *l, uint64_t id)
{
	struct cmd *cmd = xcalloc(1, sizeof(*cmd));

	cmd->type = CMD_HTTP_CANCEL;
	cmd->id = id;
	push_cmd(l, &cmd);
}
