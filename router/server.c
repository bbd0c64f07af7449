/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * server.c - the one lws protocol of the router's one vhost.
 *
 * It is the vhost's first protocol, so node agents that send no
 * Sec-WebSocket-Protocol land here too: HTTP requests are routed by path,
 * and a WebSocket upgrade is accepted only on /ws/node.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "chat.h"
#include "chat-tools.h"
#include "cluster.h"
#include "xchat.h"
#include "clientip.h"
#include "ipcount.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/log.h"
#include "modellist.h"
#include "models.h"
#include "nodes.h"
#include "ratelimit.h"
#include "server.h"
#include "common/xmalloc.h"

#define NODE_PATH "/ws/node"

enum method {
	M_GET,
	M_POST,
	M_HEAD, /* routed as GET, answered without the body */
	M_OTHER,
};

struct route {
	const char *path;
	enum method method;
	int (*handler)(struct router *r, struct lws *wsi, struct pss *pss);
};

static int route_health(struct router *r, struct lws *wsi, struct pss *pss);
static int route_models(struct router *r, struct lws *wsi, struct pss *pss);
static int route_metrics(struct router *r, struct lws *wsi, struct pss *pss);
static int route_chat(struct router *r, struct lws *wsi, struct pss *pss);
static int route_node_plain(struct router *r, struct lws *wsi, struct pss *pss);

static const struct route routes[] = {
	{ "/health", M_GET, route_health },
	{ "/api/models", M_GET, route_models },
	{ "/metrics", M_GET, route_metrics },
	{ "/api/chat", M_POST, route_chat },
	{ NODE_PATH, M_GET, route_node_plain },
	{ "/admin/nodes", M_GET, admin_route_nodes },
};

/* --- replies --- */

/* Write a complete JSON response now (allow: for 405, or NULL; head: the
 * headers only, Content-Length still that of body).  -1 on a write error. */
/* close: the connection ends after this reply, which says so (a proxy
 * must not send the next request on it). */
static int write_reply(struct lws *wsi, int status, const char *body, int retry_after,
	const char *allow, bool head, bool close)
{
	unsigned char hbuf[LWS_PRE + 1024];
	unsigned char *start = hbuf + LWS_PRE, *p = start, *end = hbuf + sizeof(hbuf) - 1;
	size_t len = strlen(body);
	unsigned char *bbuf;
	char ra[16];
	int rc;

	if (lws_add_http_common_headers(
		    wsi, (unsigned)status, "application/json", (lws_filepos_t)len, &p, end))
		return -1;
	if (retry_after > 0) {
		snprintf(ra, sizeof(ra), "%d", retry_after);
		if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_RETRY_AFTER,
			    (unsigned char *)ra, (int)strlen(ra), &p, end))
			return -1;
	}
	if (allow &&
		lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:",
			(const unsigned char *)allow, (int)strlen(allow), &p, end))
		return -1;
	if (close &&
		lws_add_http_header_by_token(
			wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close", 5, &p, end))
		return -1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	if (head)
		return 0;
	bbuf = xmalloc(LWS_PRE + len + 1);
	memcpy(bbuf + LWS_PRE, body, len);
	rc = lws_write(wsi, bbuf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
	free(bbuf);
	return rc < (int)len ? -1 : 0;
}

static char *detail_new(const char *detail)
{
	json_object *o = json_object_new_object();
	char *s;

	json_object_object_add(o, "detail", json_object_new_string(detail));
	s = ic_json_to_string_new(o, NULL);
	json_object_put(o);
	return s;
}

void server_reply_text(struct lws *wsi, int status, char *json, int retry_after)
{
	struct pss *pss = lws_wsi_user(wsi);

	if (!pss) {
		free(json);
		return;
	}
	free(pss->reply);
	pss->reply = json;
	pss->reply_status = status;
	pss->retry_after = retry_after;
	pss->reply_pending = true;
	lws_callback_on_writable(wsi);
}

void server_reply_detail(struct lws *wsi, int status, const char *detail, int retry_after)
{
	server_reply_text(wsi, status, detail_new(detail), retry_after);
}

static char *json_new_put(json_object *o)
{
	char *s = ic_json_to_string_new(o, NULL);

	json_object_put(o);
	return s;
}

/* --- GET routes --- */

static int64_t uptime_s(const struct router *r)
{
	return (router_now_us() - r->start_us) / 1000000;
}

/* What /health and /metrics add in a cluster: the instance, its peers,
 * and the nodes and models of all of them. */
static void cluster_health(struct router *r, json_object *o)
{
	struct model_list models = { 0 };
	long local = (long)nodes_count(r);

	model_list_add_local(r, &models);
	cluster_models_add(r->cluster, &models);

	json_object_object_add(o, "instance", json_object_new_string(cluster_instance(r->cluster)));
	json_object_object_add(o, "peers", json_object_new_int(cluster_peers(r->cluster)));
	json_object_object_add(o, "nodes_local", json_object_new_int64(local));
	json_object_object_add(
		o, "nodes_cluster", json_object_new_int64(local + cluster_peer_nodes(r->cluster)));
	json_object_object_add(o, "models_cluster", json_object_new_int64((int64_t)models.n));
	json_object_object_add(o, "cluster_messages_dropped",
		json_object_new_int64((int64_t)cluster_dropped(r->cluster)));
	json_object_object_add(o, "cluster_messages_rejected",
		json_object_new_int64((int64_t)cluster_rejected(r->cluster)));
	model_list_free(&models);
}

static int route_health(struct router *r, struct lws *wsi, struct pss *pss)
{
	json_object *o = json_object_new_object();

	(void)pss;
	json_object_object_add(
		o, "status", json_object_new_string(r->draining ? "draining" : "healthy"));
	json_object_object_add(o, "uptime_seconds", json_object_new_int64(uptime_s(r)));
	json_object_object_add(o, "nodes", json_object_new_int64((int64_t)nodes_count(r)));
	json_object_object_add(
		o, "models", json_object_new_int64((int64_t)models_count(r->models)));
	json_object_object_add(o, "requests_active", json_object_new_int(r->requests_active));
	json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
	if (r->cluster) {
		/* "nodes" and "models" count the whole cluster */
		cluster_health(r, o);
		json_object_object_add(o, "nodes",
			json_object_new_int64(
				json_object_get_int64(json_object_object_get(o, "nodes_cluster"))));
		json_object_object_add(o, "models",
			json_object_new_int64(json_object_get_int64(
				json_object_object_get(o, "models_cluster"))));
	}
	/* what the public clients read (status.py, the web page) */
	json_object_object_add(o, "node_count",
		json_object_new_int64(json_object_get_int64(json_object_object_get(o, "nodes"))));
	server_reply_text(wsi, 200, json_new_put(o), 0);
	return 0;
}

/* Every model of the router (and its cluster), largest first. */
static void all_models(struct router *r, struct model_list *l)
{
	memset(l, 0, sizeof(*l));
	model_list_add_local(r, l);
	if (r->cluster)
		cluster_models_add(r->cluster, l);
	model_list_sort(l);
}

static bool want_verbose(struct lws *wsi)
{
	char buf[64];
	const char *v = lws_get_urlarg_by_name(wsi, "verbose=", buf, sizeof(buf));

	return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

static int route_models(struct router *r, struct lws *wsi, struct pss *pss)
{
	json_object *o = json_object_new_object();
	struct model_list l;

	(void)pss;
	all_models(r, &l);
	json_object_object_add(o, "models",
		want_verbose(wsi) ? model_list_detail_new(&l, true) : model_list_names_new(&l));
	json_object_object_add(o, "capabilities", model_list_caps_new(&l));
	model_list_free(&l);
	server_reply_text(wsi, 200, json_new_put(o), 0);
	return 0;
}

static int route_metrics(struct router *r, struct lws *wsi, struct pss *pss)
{
	json_object *o, *arr;
	struct model_list l;

	if (!r->cfg->metrics) {
		server_reply_detail(wsi, 404, "Not Found", 0);
		return 0;
	}
	if (!admin_metrics_allowed(r, pss->ip)) {
		server_reply_detail(wsi, 403, "Forbidden", 0);
		return 0;
	}
	o = json_object_new_object();
	all_models(r, &l);
	arr = model_list_detail_new(&l, false);
	model_list_free(&l);
	json_object_object_add(
		o, "nodes_connected", json_object_new_int64((int64_t)nodes_count(r)));
	json_object_object_add(o, "requests_active", json_object_new_int(r->requests_active));
	json_object_object_add(
		o, "requests_total", json_object_new_int64((int64_t)r->stats.chats_total));
	json_object_object_add(
		o, "requests_failed", json_object_new_int64((int64_t)r->stats.chats_failed));
	json_object_object_add(o, "failovers", json_object_new_int64((int64_t)r->stats.failovers));
	json_object_object_add(
		o, "replies_cut", json_object_new_int64((int64_t)r->stats.replies_cut));
	json_object_object_add(
		o, "chunks_relayed", json_object_new_int64((int64_t)r->stats.chunks));
	json_object_object_add(
		o, "rate_limited", json_object_new_int64((int64_t)r->stats.rejected_rate));
	json_object_object_add(
		o, "rate_limit_entries", json_object_new_int64((int64_t)ratelimit_entries(r->rl)));
	json_object_object_add(
		o, "client_addresses", json_object_new_int64((int64_t)ipcount_entries(r->ipcount)));
	json_object_object_add(o, "bodies_arriving", json_object_new_int(r->bodies_active));
	toolrun_metrics(r, o);
	if (r->cluster) {
		cluster_health(r, o);
		xchat_metrics(r, o);
	}
	json_object_object_add(o, "models_available", arr);
	json_object_object_add(o, "uptime_seconds", json_object_new_int64(uptime_s(r)));
	admin_metrics_add(r, o);
	server_reply_text(wsi, 200, json_new_put(o), 0);
	return 0;
}

static int route_node_plain(struct router *r, struct lws *wsi, struct pss *pss)
{
	(void)r;
	(void)pss;
	server_reply_detail(wsi, 426, "expected a WebSocket upgrade", 0);
	return 0;
}

/* --- request bodies still arriving --- */

/*
 * A request whose body is still arriving holds one of lws's header slots,
 * and lws restarts its own timeout with every byte: so a body gets
 * body_timeout in all from the end of its headers, and bodies_per_ip (per
 * address) and bodies_max (in all) bound how many may be arriving at once.
 * A request past either bound is answered at once, before its body is read.
 */
static struct router *router_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

static void body_release(struct pss *pss)
{
	struct router *r;

	if (!pss->body_counted)
		return;
	r = router_of(pss->wsi);
	pss->body_counted = false;
	tq_cancel(&pss->body_timer);
	ipcount_add(r->ipcount, pss->ip, IPC_BODIES, -1);
	r->bodies_active--;
}

static void body_overdue(struct tq_timer *t)
{
	struct pss *pss = lws_container_of(t, struct pss, body_timer);

	log_info("request from %s: body not complete after %d s; closing", pss->ip,
		router_of(pss->wsi)->cfg->body_timeout);
	body_release(pss);
	pss->is_chat = false; /* whatever still arrives is ignored */
	buf_free(&pss->body);
	server_reply_detail(pss->wsi, 408, "body: not complete within body_timeout", 0);
}

/* 0: the body may come; else the status already replied. */
static int body_take(struct lws *wsi, struct pss *pss)
{
	struct router *r = router_of(wsi);

	if (ipcount_get(r->ipcount, pss->ip, IPC_BODIES) >= r->cfg->bodies_per_ip) {
		log_debug("request from %s: %d bodies already arriving", pss->ip,
			r->cfg->bodies_per_ip);
		server_reply_detail(wsi, 429, "Too many requests with a body still arriving", 1);
		return 429;
	}
	if (r->bodies_active >= r->cfg->bodies_max) {
		log_notice("request from %s: %d bodies arriving in all; refused", pss->ip,
			r->bodies_active);
		server_reply_detail(wsi, 503, "Server busy", 1);
		return 503;
	}
	pss->wsi = wsi;
	pss->body_counted = true;
	ipcount_add(r->ipcount, pss->ip, IPC_BODIES, 1);
	r->bodies_active++;
	tq_schedule(&r->body_q, &pss->body_timer, (int64_t)r->cfg->body_timeout * 1000000,
		body_overdue);
	return 0;
}

/* --- POST /api/chat --- */

static int route_chat(struct router *r, struct lws *wsi, struct pss *pss)
{
	char cl[32];
	long long n;
	char *endp;

	(void)r;
	pss->reply_close = true;
	if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) {
		server_reply_detail(wsi, 411, "Content-Length required", 0);
		return 0;
	}
	/* digits only (RFC 9110): strtoll() would take "+5", " 5" and "-0" */
	if (cl[0] == '\0' || cl[strspn(cl, "0123456789")] != '\0') {
		server_reply_detail(wsi, 400, "Content-Length: not a number", 0);
		return 0;
	}
	errno = 0;
	n = strtoll(cl, &endp, 10);
	if (errno == ERANGE || n > IC_CHAT_BODY_MAX) {
		server_reply_detail(wsi, 413, "body: larger than the limit", 0);
		return 0;
	}
	if (n == 0) {
		server_reply_detail(wsi, 400, "body: not valid JSON", 0);
		return 0;
	}
	if (body_take(wsi, pss))
		return 0;
	pss->is_chat = true;
	return 0; /* the body follows in LWS_CALLBACK_HTTP_BODY */
}

static int on_body(struct pss *pss, const void *in, size_t len)
{
	if (!pss->is_chat || pss->body_too_big)
		return 0;
	if (buf_used(&pss->body) + len > IC_CHAT_BODY_MAX) {
		pss->body_too_big = true;
		buf_free(&pss->body);
		return 0;
	}
	buf_append(&pss->body, in, len);
	return 0;
}

static int on_body_done(struct router *r, struct lws *wsi, struct pss *pss)
{
	if (!pss->is_chat)
		return 0;
	pss->is_chat = false;
	body_release(pss);
	if (pss->body_too_big) {
		server_reply_detail(wsi, 413, "body: larger than the limit", 0);
		return 0;
	}
	chat_begin(r, wsi, pss);
	return 0;
}

/* --- HTTP dispatch --- */

static enum method method_of(struct lws *wsi)
{
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI))
		return M_GET;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
		return M_POST;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI))
		return M_HEAD;
	return M_OTHER;
}

static void http_reset(struct pss *pss)
{
	body_release(pss);
	buf_free(&pss->body);
	free(pss->reply);
	pss->reply = NULL;
	pss->reply_pending = false;
	pss->reply_close = false;
	pss->is_chat = false;
	pss->body_too_big = false;
	pss->head = false;
	pss->retry_after = 0;
	pss->allow = NULL;
}

static int on_http(struct router *r, struct lws *wsi, struct pss *pss, const char *path)
{
	enum method method = method_of(wsi);
	const struct route *rt = NULL;
	int retry;

	http_reset(pss);
	pss->kind = PSS_HTTP;
	clientip_get(wsi, r->trusted, pss->ip, sizeof(pss->ip));
	if (method != M_GET)
		pss->reply_close = true; /* an unread body must not be parsed as a request */
	if (method == M_HEAD) {
		/* lws would wait for the body its Content-Length announces */
		pss->head = true;
		method = M_GET;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(path, routes[i].path) == 0)
			rt = &routes[i];
	if (rt && rt->handler == route_chat) {
		if (!ratelimit_take(
			    r->rl, RL_CHAT, pss->ip, r->cfg->rate_chat, router_now_us(), &retry)) {
			r->stats.rejected_rate++;
			server_reply_detail(wsi, 429, "Too many requests", retry);
			return 0;
		}
	} else if (!ratelimit_take(
			   r->rl, RL_OTHER, pss->ip, r->cfg->rate_other, router_now_us(), &retry)) {
		r->stats.rejected_rate++;
		server_reply_detail(wsi, 429, "Too many requests", retry);
		return 0;
	}
	if (!rt) {
		server_reply_detail(wsi, 404, "Not Found", 0);
		return 0;
	}
	if (rt->method != method) {
		pss->allow = rt->method == M_POST ? "POST" : "GET";
		server_reply_detail(wsi, 405, "Method Not Allowed", 0);
		return 0;
	}
	return rt->handler(r, wsi, pss);
}

static int on_http_writeable(struct lws *wsi, struct pss *pss)
{
	int rc;

	if (pss->chat && pss->chat->streaming)
		return chat_writeable(pss->chat);
	if (!pss->reply_pending)
		return 0;
	pss->reply_pending = false;
	rc = write_reply(wsi, pss->reply_status, pss->reply, pss->retry_after, pss->allow,
		pss->head, pss->reply_close || pss->chat);
	free(pss->reply);
	pss->reply = NULL;
	if (rc < 0 || pss->reply_close || pss->chat)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static void http_closed(struct pss *pss)
{
	http_reset(pss);
	if (pss->chat) {
		chat_free(pss->chat);
		pss->chat = NULL;
	}
}

/* --- the node WebSocket --- */

/*
 * A refused upgrade.  lws would label headers written at this stage
 * HTTP/1.0, which WebSocket clients reject, so the response is written
 * whole, as bytes; the connection closes after it.
 */
static int write_upgrade_refusal(
	struct lws *wsi, int status, const char *reason, const char *detail, int retry_after)
{
	char *body = detail_new(detail);
	char ra[40] = "";
	char *text;
	unsigned char *buf;
	size_t len;
	int rc;

	if (retry_after > 0)
		snprintf(ra, sizeof(ra), "Retry-After: %d\r\n", retry_after);
	text = xasprintf("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n%sConnection: close\r\n\r\n%s",
		status, reason, strlen(body), ra, body);
	len = strlen(text);
	buf = xmalloc(LWS_PRE + len);
	memcpy(buf + LWS_PRE, text, len);
	rc = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
	free(buf);
	free(text);
	free(body);
	return rc < (int)len ? -1 : 0;
}

/* No per-session memory exists yet at this point (pss is NULL). */
static int on_confirm_upgrade(struct router *r, struct lws *wsi)
{
	char path[64] = "", ip[ROUTER_IP_MAX];
	int retry, rc;

	clientip_get(wsi, r->trusted, ip, sizeof(ip));
	if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) < 0 ||
		strcmp(path, NODE_PATH) != 0) {
		rc = write_upgrade_refusal(wsi, 404, "Not Found", "Not Found", 0);
	} else if (!ratelimit_take(
			   r->rl, RL_UPGRADE, ip, r->cfg->rate_upgrade, router_now_us(), &retry)) {
		r->stats.rejected_rate++;
		log_info("node upgrade from %s: rate limited", ip);
		rc = write_upgrade_refusal(
			wsi, 429, "Too Many Requests", "Too many requests", retry);
	} else if (r->draining) {
		rc = write_upgrade_refusal(
			wsi, 503, "Service Unavailable", "Server shutting down", 0);
	} else {
		return 0;
	}
	return rc < 0 ? -1 : 1;
}

static int callback(
	struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct pss *pss = user;
	struct router *r = wsi ? lws_context_user(lws_get_context(wsi)) : NULL;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return on_http(r, wsi, pss, in ? (const char *)in : "");
	case LWS_CALLBACK_HTTP_BODY:
		return on_body(pss, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return on_body_done(r, wsi, pss);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return pss ? on_http_writeable(wsi, pss) : 0;
	case LWS_CALLBACK_CLOSED_HTTP:
		if (pss && pss->kind == PSS_HTTP)
			http_closed(pss);
		return 0;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return on_confirm_upgrade(r, wsi);
	case LWS_CALLBACK_ESTABLISHED:
		http_reset(pss);
		pss->kind = PSS_NODE;
		clientip_get(wsi, r->trusted, pss->ip, sizeof(pss->ip));
		pss->node = node_new(r, wsi, pss->ip);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		if (!pss->node)
			return -1;
		return node_rx(pss->node, in, len, false, lws_is_final_fragment(wsi) != 0);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return pss->node ? node_writeable(pss->node) : 0;
	case LWS_CALLBACK_CLOSED:
		if (pss && pss->node) {
			node_closed(pss->node);
			pss->node = NULL;
		}
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (r) {
			toolrun_poll(r);  /* a search finished (chat-tools.h) */
			router_wakeup(r); /* a signal arrived (lws_cancel_service) */
		}
		return 0;
	default:
		break;
	}
	return 0;
}

const struct lws_protocols server_protocols[] = {
	{ "idleclaw-node", callback, sizeof(struct pss), 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};
