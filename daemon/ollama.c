/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ollama.c - Ollama over evhttp (see ollama.h).
 *
 * Thread: main thread only.  A request owns its evhttp_connection; the
 * connection is freed from a zero-timeout event, never inside evhttp's own
 * callbacks (evhttp frees the request object itself after they return).
 *
 * No callback runs inside the call that starts a request: evhttp fails a
 * connection it cannot even begin (no descriptor left, an address the
 * kernel refuses at once) by calling the request back from inside
 * evhttp_make_request(), and a caller that frees its state in the failure
 * callback would then store our return value into freed memory.  Such a
 * failure is kept and reported from the same zero-timeout event.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netdb.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "daemon/ollama.h"
#include "jsonutil.h"
#include "limits.h"
#include "log.h"
#include "validate.h"
#include "xmalloc.h"

struct ollama {
	struct event_base *base;
	struct ic_url url;
	char *addr; /* numeric address evhttp connects to */
	char *url_text;
	int timeout_s;
	LIST_HEAD(, ollama_req) reqs;
};

struct ollama_req {
	LIST_ENTRY(ollama_req) next;
	struct ollama *o;
	struct evhttp_connection *conn;
	struct evhttp_request *req; /* NULL once evhttp is done with it */
	bool chat;
	ollama_json_cb json_cb;
	struct ollama_chat_cb chat_cb;
	void *ctx;
	int status; /* HTTP status once headers arrived */
	bool got_headers;
	bool timed_out;
	bool finished; /* final callback ran or cancelled */
	bool in_cb;    /* inside chunk processing */
	bool cancel_pending;
	bool launching;	   /* inside evhttp_make_request() */
	bool start_failed; /* report at the next loop turn */
	int start_errno;   /* why, if the kernel said */
	/* NDJSON line buffer (chat) or body (non-200 / GET) */
	char *buf;
	size_t len, cap, scanned;
	bool overflow;
	struct event *reaper;
};

const char *ollama_err_name(enum ollama_err err)
{
	switch (err) {
	case OLLAMA_OK:
		return "ok";
	case OLLAMA_UNAVAILABLE:
		return "unavailable";
	case OLLAMA_ERROR:
		return "error";
	case OLLAMA_TIMEOUT:
		return "timeout";
	}
	return "?";
}

/*
 * The address to connect to, resolved once here (start-up or reload), not
 * in the loop's callbacks.  IPv4 first: Ollama listens on 127.0.0.1 by
 * default, and "localhost" may list ::1 first.  A name that does not
 * resolve is kept: connecting then fails and says so.  NEW string.
 */
static char *resolve_new(const char *host)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct addrinfo hints, *res;
	char buf[INET6_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = families[i];
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(host, NULL, &hints, &res) != 0)
			continue;
		if (getnameinfo(res->ai_addr, res->ai_addrlen, buf, sizeof(buf), NULL, 0,
			    NI_NUMERICHOST) == 0) {
			freeaddrinfo(res);
			return xstrdup(buf);
		}
		freeaddrinfo(res);
	}
	return xstrdup(host);
}

struct ollama *ollama_new(
	struct event_base *base, const char *host, int timeout_s, char *err, size_t errlen)
{
	struct ollama *o = xcalloc(1, sizeof(*o));

	if (ic_ollama_host_parse(host, &o->url, err, errlen) < 0) {
		free(o);
		return NULL;
	}
	if (o->url.tls) {
		snprintf(err, errlen, "ollama_host: https is not supported; use http://");
		ic_url_clear(&o->url);
		free(o);
		return NULL;
	}
	o->base = base;
	o->timeout_s = timeout_s;
	o->addr = resolve_new(o->url.host);
	o->url_text = strchr(o->url.host, ':')
		? xasprintf("http://[%s]:%d", o->url.host, o->url.port)
		: xasprintf("http://%s:%d", o->url.host, o->url.port);
	LIST_INIT(&o->reqs);
	return o;
}

int ollama_status(const struct ollama_req *r)
{
	return r && r->got_headers ? r->status : 0;
}

bool ollama_busy(const struct ollama *o)
{
	return !LIST_EMPTY(&o->reqs);
}

const char *ollama_url(const struct ollama *o)
{
	return o->url_text;
}

static void req_free(struct ollama_req *r)
{
	LIST_REMOVE(r, next);
	if (r->conn)
		evhttp_connection_free(r->conn);
	if (r->reaper)
		event_free(r->reaper);
	free(r->buf);
	free(r);
}

static void finish(struct ollama_req *r, enum ollama_err err, const char *msg, json_object *body);

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ollama_req *r = arg;

	if (r->start_failed && !r->finished) {
		char msg[IC_ERRBUF_MAX];

		if (r->start_errno)
			snprintf(msg, sizeof(msg), "cannot connect to Ollama: %s",
				strerror(r->start_errno));
		else
			snprintf(msg, sizeof(msg), "cannot connect to Ollama");
		finish(r, OLLAMA_UNAVAILABLE, msg, NULL);
	}
	req_free(r);
}

/* Free r once evhttp has returned from its callbacks. */
static void req_retire(struct ollama_req *r)
{
	struct timeval zero = { 0, 0 };

	r->finished = true;
	if (!r->reaper) {
		r->reaper = evtimer_new(r->o->base, reap_cb, r);
		evtimer_add(r->reaper, &zero);
	}
}

void ollama_free(struct ollama *o)
{
	struct ollama_req *r;

	if (!o)
		return;
	while ((r = LIST_FIRST(&o->reqs)) != NULL)
		req_free(r);
	ic_url_clear(&o->url);
	free(o->addr);
	free(o->url_text);
	free(o);
}

void ollama_cancel(struct ollama_req *r)
{
	if (!r || r->finished)
		return;
	if (r->in_cb) {
		r->cancel_pending = true;
		r->finished = true;
		return;
	}
	/* Outside evhttp's callbacks: freeing the connection closes the
	 * socket and drops the request without calling back. */
	req_free(r);
}

/* Append to the buffer; false when it would exceed max. */
static bool buf_add(struct ollama_req *r, const char *data, size_t n, size_t max)
{
	if (r->len + n > max) {
		r->overflow = true;
		return false;
	}
	if (r->len + n + 1 > r->cap) {
		r->cap = (r->len + n + 1) * 2;
		if (r->cap > max + 1)
			r->cap = max + 1;
		r->buf = xrealloc(r->buf, r->cap);
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	r->buf[r->len] = '\0';
	return true;
}

static void finish(struct ollama_req *r, enum ollama_err err, const char *msg, json_object *body)
{
	if (r->finished)
		return;
	r->finished = true;
	if (r->chat)
		r->chat_cb.end(r->ctx, err, msg);
	else
		r->json_cb(r->ctx, err, msg, body);
}

/* The text of an {"error": "..."} body, or a generic sentence. */
static void error_text(const char *buf, size_t len, int status, char *out, size_t outlen)
{
	json_object *j = buf ? ic_json_parse_new(buf, len) : NULL;
	const char *e = j ? ic_json_get_string(j, "error") : NULL;

	if (e)
		snprintf(out, outlen, "HTTP %d: %s", status, e);
	else if (status == 403 && len == 0)
		snprintf(out, outlen,
			"HTTP 403 with an empty body: Ollama refused the Host header (it accepts "
			"only local names while it listens on loopback): set ollama_host to "
			"127.0.0.1 or localhost, or start Ollama with OLLAMA_HOST=0.0.0.0 (and "
			"OLLAMA_ORIGINS for browser origins)");
	else
		snprintf(out, outlen, "HTTP %d", status);
	json_object_put(j);
}

/* One NDJSON line; false if the stream must stop. */
static bool chat_line(struct ollama_req *r, const char *line, size_t len)
{
	json_object *j;
	const char *e;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len == 0)
		return true;
	j = ic_json_parse_new(line, len);
	if (!j || !json_object_is_type(j, json_type_object)) {
		json_object_put(j);
		finish(r, OLLAMA_ERROR, "Ollama sent a line that is not a JSON object", NULL);
		return false;
	}
	e = ic_json_get_string(j, "error");
	if (e) {
		char msg[IC_ERRBUF_MAX];

		snprintf(msg, sizeof(msg), "Ollama: %s", e);
		json_object_put(j);
		finish(r, OLLAMA_ERROR, msg, NULL);
		return false;
	}
	r->chat_cb.line(r->ctx, j);
	json_object_put(j);
	return !r->finished;
}

/* Process complete lines in the buffer; keep the partial tail. */
static bool chat_lines(struct ollama_req *r)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(r->buf + r->scanned, '\n', r->len - r->scanned)) != NULL) {
		size_t end = (size_t)(nl - r->buf);

		if (end - start > IC_NDJSON_LINE_MAX) {
			finish(r, OLLAMA_ERROR, "Ollama sent a line longer than the limit", NULL);
			return false;
		}
		if (!chat_line(r, r->buf + start, end - start))
			return false;
		start = end + 1;
		r->scanned = start;
	}
	r->scanned = r->len;
	if (start) {
		memmove(r->buf, r->buf + start, r->len - start);
		r->len -= start;
		r->scanned -= start;
	}
	if (r->len > IC_NDJSON_LINE_MAX) {
		finish(r, OLLAMA_ERROR, "Ollama sent a line longer than the limit", NULL);
		return false;
	}
	return true;
}

static void chunk_cb(struct evhttp_request *req, void *arg)
{
	struct ollama_req *r = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n;

	if (r->finished)
		return;
	r->got_headers = true;
	r->status = evhttp_request_get_response_code(req);
	r->in_cb = true;
	while ((n = evbuffer_get_length(in)) > 0 && !r->finished) {
		char tmp[16384];
		int got = evbuffer_remove(in, tmp, n < sizeof(tmp) ? n : sizeof(tmp));

		if (got <= 0)
			break;
		if (r->status != HTTP_OK) { /* an error body: keep a bounded copy */
			if (r->len < OLLAMA_BODY_MAX)
				buf_add(r, tmp,
					(size_t)got > OLLAMA_BODY_MAX - r->len
						? OLLAMA_BODY_MAX - r->len
						: (size_t)got,
					OLLAMA_BODY_MAX);
			continue;
		}
		/* a line of IC_NDJSON_LINE_MAX bytes, its "\n" and one read */
		if (!buf_add(r, tmp, (size_t)got, IC_NDJSON_LINE_MAX + 1 + sizeof(tmp))) {
			finish(r, OLLAMA_ERROR, "Ollama sent a line longer than the limit", NULL);
			break;
		}
		if (!chat_lines(r))
			break;
	}
	r->in_cb = false;
	if (r->finished) { /* error line, overflow, or cancelled by the callback */
		evbuffer_drain(in, evbuffer_get_length(in));
		evhttp_cancel_request(req);
		r->req = NULL;
		req_retire(r);
	}
}

static int header_cb(struct evhttp_request *req, void *arg)
{
	struct ollama_req *r = arg;

	r->got_headers = true;
	r->status = evhttp_request_get_response_code(req);
	return 0;
}

static void error_cb(enum evhttp_request_error err, void *arg)
{
	struct ollama_req *r = arg;

	if (err == EVREQ_HTTP_TIMEOUT)
		r->timed_out = true;
}

static void done_chat(struct ollama_req *r, struct evhttp_request *req)
{
	char msg[IC_ERRBUF_MAX];

	if (r->status != HTTP_OK) {
		error_text(r->buf, r->len, r->status, msg, sizeof(msg));
		finish(r, OLLAMA_ERROR, msg, NULL);
		return;
	}
	/* a last line without "\n" */
	r->in_cb = true;
	if (r->len && chat_line(r, r->buf, r->len))
		r->len = 0;
	r->in_cb = false;
	finish(r, OLLAMA_OK, NULL, NULL);
}

static void done_get(struct ollama_req *r, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	char msg[IC_ERRBUF_MAX];
	json_object *j;

	if (n > OLLAMA_BODY_MAX) {
		finish(r, OLLAMA_ERROR, "reply too large", NULL);
		return;
	}
	if (r->status != HTTP_OK) {
		char *b = xmalloc(n + 1);

		evbuffer_remove(in, b, n);
		error_text(b, n, r->status, msg, sizeof(msg));
		free(b);
		finish(r, OLLAMA_ERROR, msg, NULL);
		return;
	}
	j = ic_json_parse_new((const char *)evbuffer_pullup(in, -1), n);
	if (!j) {
		finish(r, OLLAMA_ERROR, "reply is not JSON", NULL);
		return;
	}
	finish(r, OLLAMA_OK, NULL, j);
	json_object_put(j);
}

static void done_cb(struct evhttp_request *req, void *arg)
{
	struct ollama_req *r = arg;

	r->req = NULL;
	if (r->launching) { /* failed at once: launch() reports it from the loop */
		r->start_failed = true;
		r->start_errno = errno;
		return;
	}
	if (!r->finished) {
		if (!req || evhttp_request_get_response_code(req) == 0) {
			if (r->timed_out)
				finish(r, OLLAMA_TIMEOUT, "Ollama did not answer in time", NULL);
			else if (!r->got_headers)
				finish(r, OLLAMA_UNAVAILABLE, "cannot connect to Ollama", NULL);
			else
				finish(r, OLLAMA_ERROR, "Ollama closed the connection mid-reply",
					NULL);
		} else {
			r->status = evhttp_request_get_response_code(req);
			if (r->chat)
				done_chat(r, req);
			else
				done_get(r, req);
		}
	}
	req_retire(r);
}

static struct ollama_req *start(struct ollama *o, enum evhttp_cmd_type method, const char *path,
	const char *body, size_t len)
{
	struct ollama_req *r = xcalloc(1, sizeof(*r));
	struct evkeyvalq *h;
	char hosthdr[300];

	r->o = o;
	LIST_INSERT_HEAD(&o->reqs, r, next);
	r->conn = evhttp_connection_base_new(o->base, NULL, o->addr, (unsigned short)o->url.port);
	if (!r->conn)
		return r; /* caller reports */
	evhttp_connection_set_timeout(r->conn, o->timeout_s);
	evhttp_connection_set_retries(r->conn, 0);
	r->req = evhttp_request_new(done_cb, r);
	evhttp_request_set_header_cb(r->req, header_cb);
	evhttp_request_set_error_cb(r->req, error_cb);
	h = evhttp_request_get_output_headers(r->req);
	snprintf(hosthdr, sizeof(hosthdr), strchr(o->url.host, ':') ? "[%s]:%d" : "%s:%d",
		o->url.host, o->url.port);
	evhttp_add_header(h, "Host", hosthdr);
	if (body) {
		evhttp_add_header(h, "Content-Type", "application/json");
		evbuffer_add(evhttp_request_get_output_buffer(r->req), body, len);
	}
	return r;
}

/* Start r; a failure, even one evhttp reports at once, reaches the
 * callback from the loop (see the top). */
static struct ollama_req *launch(
	struct ollama_req *r, enum evhttp_cmd_type method, const char *path)
{
	struct timeval zero = { 0, 0 };
	int rc = -1;

	if (r->conn && r->req) {
		r->launching = true;
		errno = 0;
		rc = evhttp_make_request(r->conn, r->req, method, path);
		r->launching = false;
	}
	if (rc == 0 && !r->start_failed)
		return r;
	/* evhttp has freed the request either way */
	r->req = NULL;
	r->start_failed = true;
	r->reaper = evtimer_new(r->o->base, reap_cb, r);
	evtimer_add(r->reaper, &zero);
	return r;
}

struct ollama_req *ollama_get(struct ollama *o, const char *path, ollama_json_cb cb, void *ctx)
{
	struct ollama_req *r = start(o, EVHTTP_REQ_GET, path, NULL, 0);

	r->json_cb = cb;
	r->ctx = ctx;
	if (r->conn)
		evhttp_connection_set_max_body_size(r->conn, OLLAMA_BODY_MAX);
	return launch(r, EVHTTP_REQ_GET, path);
}

struct ollama_req *ollama_post_json(struct ollama *o, const char *path, const char *body,
	size_t len, int timeout_s, ollama_json_cb cb, void *ctx)
{
	struct ollama_req *r = start(o, EVHTTP_REQ_POST, path, body, len);

	r->json_cb = cb;
	r->ctx = ctx;
	if (r->conn) {
		evhttp_connection_set_max_body_size(r->conn, OLLAMA_BODY_MAX);
		evhttp_connection_set_timeout(r->conn, timeout_s);
	}
	return launch(r, EVHTTP_REQ_POST, path);
}

struct ollama_req *ollama_chat(
	struct ollama *o, const char *body, size_t len, const struct ollama_chat_cb *cb, void *ctx)
{
	struct ollama_req *r = start(o, EVHTTP_REQ_POST, "/api/chat", body, len);

	r->chat = true;
	r->chat_cb = *cb;
	r->ctx = ctx;
	if (r->req)
		evhttp_request_set_chunked_cb(r->req, chunk_cb);
	return launch(r, EVHTTP_REQ_POST, "/api/chat");
}
