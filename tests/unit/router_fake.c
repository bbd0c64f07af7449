/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* router_fake.c - the stand-ins of router_fake.h. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/chat.h"
#include "router/chat-tools.h"
#include "router/cluster.h"
#include "router/xchat.h"
#include "router_fake.h"
#include "router/sched.h"
#include "router/server.h"
#include "common/config.h"
#include "common/xmalloc.h"

int64_t fake_now_us = 1000000000;
struct fake_calls fake_calls;

int64_t router_now_us(void)
{
	return fake_now_us;
}

void router_wakeup(struct router *r)
{
	(void)r;
}

/* cluster.c (libnats) is not linked: these routers have no cluster (no
 * [cluster] url: router_init() never makes one). */
void cluster_node_claim(struct cluster *c, const char *node_id)
{
	(void)c;
	(void)node_id;
}

struct cluster *cluster_new(
	struct router *r, const char *url, const char *instance, int listen_port, char **err)
{
	(void)r;
	(void)url;
	(void)instance;
	(void)listen_port;
	*err = xstrdup("no cluster in unit tests");
	return NULL;
}

void cluster_free(struct cluster *c)
{
	(void)c;
}

const char *cluster_instance(const struct cluster *c)
{
	(void)c;
	return "";
}

/* xchat.c is not linked either: no chat crosses instances. */
struct xchats *xchats_new(struct router *r)
{
	(void)r;
	return NULL;
}

void xchats_free(struct xchats *xs)
{
	(void)xs;
}

void xchat_flush(struct router *r)
{
	(void)r;
}

bool cluster_model_on_peers(const struct cluster *c, const char *model)
{
	(void)c;
	(void)model;
	return false;
}

bool xchat_submit(struct chat *c)
{
	(void)c;
	return false;
}

void xchat_wait(struct chat *c)
{
	(void)c;
}

void xchat_unwait(struct chat *c)
{
	(void)c;
}

void xchat_detach(struct chat *c)
{
	(void)c;
}

bool xchat_is_proxy(const struct chat *c)
{
	(void)c;
	return false;
}

void chat_proxy_frame(struct chat *c, const char *text, size_t len, bool last)
{
	(void)c;
	(void)text;
	(void)len;
	(void)last;
}

void chat_proxy_chunk(struct chat *c, const struct chunk_view *v)
{
	(void)c;
	(void)v;
}

/* --- sockets --- */

int lws_write(struct lws *wsi, unsigned char *buf, size_t len, enum lws_write_protocol wp)
{
	struct fake_sock *s = (struct fake_sock *)wsi;

	if (wp == (enum lws_write_protocol)4 && len >= 2) {
		/* a close frame (nodes.c writes it itself): code, reason */
		s->close_code = buf[0] << 8 | buf[1];
		snprintf(s->close_reason, sizeof(s->close_reason), "%.*s", (int)len - 2,
			(char *)buf + 2);
		s->close_sent = true;
		return (int)len;
	}
	if (s->n_sent == 8) {
		memmove(s->sent[0], s->sent[1], sizeof(s->sent) - sizeof(s->sent[0]));
		s->n_sent--;
	}
	snprintf(s->sent[s->n_sent++], sizeof(s->sent[0]), "%.*s", (int)len, (char *)buf);
	return (int)len;
}

void lws_close_reason(struct lws *wsi, enum lws_close_status status, unsigned char *buf, size_t len)
{
	struct fake_sock *s = (struct fake_sock *)wsi;

	s->close_code = (int)status;
	snprintf(s->close_reason, sizeof(s->close_reason), "%.*s", (int)len, (char *)buf);
}

int lws_callback_on_writable(struct lws *wsi)
{
	((struct fake_sock *)wsi)->writable = true;
	return 1;
}

void lws_set_timeout(struct lws *wsi, enum pending_timeout reason, int secs)
{
	(void)wsi;
	(void)reason;
	(void)secs;
}

/* --- chat.c and chat-tools.c --- */

void chat_flush_pending(struct router *r)
{
	(void)r;
}

struct toolrun *toolrun_new(struct router *r)
{
	(void)r;
	return NULL;
}

void toolrun_stop(struct toolrun *t)
{
	(void)t;
}

void toolrun_free(struct toolrun *t)
{
	(void)t;
}

void chat_assigned(struct chat *c)
{
	/* chat.c notes the node, so the chat never goes back to it */
	c->tried[c->attempts++] = c->node->serial;
	fake_calls.assigned++;
}

void chat_unavailable(struct chat *c)
{
	fake_calls.unavailable++;
	fake_calls.last_unavailable = c;
}

void chat_node_failed(struct chat *c, const char *reason)
{
	(void)reason;
	fake_calls.failed++;
	sched_detach(c);
}

void chat_node_message(struct chat *c, const struct ic_msg *m)
{
	(void)c;
	(void)m;
}

void chat_node_chunk(struct chat *c, const struct chunk_view *v)
{
	(void)c;
	(void)v;
}

/* --- set-up --- */

struct router *fake_router_new(const char *const *overrides)
{
	struct router *r = xcalloc(1, sizeof(*r));
	struct lws_context_creation_info info;
	char *errors = NULL;

	r->cfg = ic_config_load_new(&router_config_schema, NULL, overrides, &errors);
	ck_assert_msg(r->cfg != NULL, "config: %s", errors ? errors : "?");
	free(errors);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.user = r;
	lws_set_log_level(LLL_ERR, NULL);
	r->ctx = lws_create_context(&info);
	ck_assert_ptr_nonnull(r->ctx);
	ck_assert_int_eq(router_init(r, r->ctx, NULL, 0, &errors), 0);
	memset(&fake_calls, 0, sizeof(fake_calls));
	return r;
}

void fake_router_free(struct router *r)
{
	router_fini(r); /* the lws context too */
	ic_config_free(&router_config_schema, r->cfg);
	free(r);
}

struct node *fake_flush(struct node *n)
{
	struct fake_sock *s = (struct fake_sock *)n->wsi;

	while (s->writable) {
		s->writable = false;
		/* -1, or a close frame the peer answers: lws closes */
		if (node_writeable(n) < 0 || s->close_sent) {
			s->closed = true;
			node_closed(n);
			return NULL;
		}
	}
	return n;
}

struct node *fake_rx(struct node *n, const char *text)
{
	struct fake_sock *s = (struct fake_sock *)n->wsi;

	if (node_rx(n, text, strlen(text), true, true) < 0) {
		/* lws closes at once after -1 from the receive callback */
		s->closed = true;
		node_closed(n);
		return NULL;
	}
	return fake_flush(n);
}

struct node *fake_node(struct router *r, struct fake_sock *s, const char *ip, const char *node_id,
	const char *models, int max_concurrent)
{
	char msg[1024], list[512] = "";
	const char *p = models;
	struct node *n;

	while (*p) {
		size_t len = strcspn(p, ",");

		snprintf(list + strlen(list), sizeof(list) - strlen(list),
			"%s{\"name\":\"%.*s\",\"size\":1000}", list[0] ? "," : "", (int)len, p);
		p += len + (p[len] == ',');
	}
	snprintf(msg, sizeof(msg),
		"{\"type\":\"register\",\"node_id\":\"%s\",\"models\":[%s],"
		"\"max_concurrent\":%d,\"ollama_version\":\"0.6.2\"}",
		node_id, list, max_concurrent);
	memset(s, 0, sizeof(*s));
	n = node_new(r, (struct lws *)s, ip);
	return fake_rx(n, msg);
}

struct chat *fake_chat_new(struct router *r, const char *model)
{
	struct chat *c = xcalloc(1, sizeof(*c));

	c->r = r;
	c->model = xstrdup(model);
	snprintf(c->request_id, sizeof(c->request_id), "req-%p", (void *)c);
	c->max_attempts = r->cfg->failover_attempts;
	c->tried = xcalloc((size_t)c->max_attempts, sizeof(*c->tried));
	c->wait_deadline_us = router_now_us() + (int64_t)r->cfg->queue_wait * 1000000;
	return c;
}

void fake_chat_free(struct chat *c)
{
	sched_detach(c);
	tq_cancel(&c->wait_timer);
	free(c->tried);
	free(c->model);
	free(c);
}

/* chat.c's params for a consumer chat, as probe.c asks for them. */
json_object *chat_params_for(
	const struct node *n, const char *model, json_object *messages, bool think)
{
	json_object *p = json_object_new_object();

	(void)n;
	json_object_object_add(p, "think", json_object_new_boolean(think));
	json_object_object_add(p, "model", json_object_new_string(model));
	json_object_object_add(p, "messages", json_object_get(messages));
	json_object_object_add(p, "stream", json_object_new_boolean(1));
	json_object_object_add(p, "keep_alive", json_object_new_int(-1));
	return p;
}

/* server.c's replies: admin.c's routes are not run here, only linked. */
void server_reply_text(struct lws *wsi, int status, char *json, int retry_after)
{
	(void)wsi;
	(void)status;
	(void)retry_after;
	free(json);
}

void server_reply_detail(struct lws *wsi, int status, const char *detail, int retry_after)
{
	(void)detail;
	server_reply_text(wsi, status, NULL, retry_after);
}
