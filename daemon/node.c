/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * node.c - the node's session with the router (see node.h).
 *
 * Thread: main thread.  Talks to the link only through link.h.
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/backoff.h"
#include "daemon/consume.h"
#include "daemon/daemon.h"
#include "daemon/models.h"
#include "daemon/node.h"
#include "daemon/nodeid.h"
#include "daemon/relay.h"
#include "jsonutil.h"
#include "limits.h"
#include "log.h"
#include "proto.h"
#include "validate.h"
#include "xmalloc.h"

struct node {
	struct daemon *d;
	enum node_state state;
	uint64_t gen; /* current link session, 0 if none */
	int attempt;
	time_t registered_at;
	char **features;
	size_t n_features;
	char *sent_models; /* the list the router knows, as text */
	bool reregister_pending;
	char last_error[IC_ERRBUF_MAX];
	char close_why[IC_ERRBUF_MAX]; /* why we closed the session, or "" */
	/* The id the current session registers with (nodeid.h): d->node_id,
	 * or a per-connection variant while the router may still hold a
	 * session registered with d->node_id. */
	char session_id[IC_NODE_ID_MAX + 1];
	bool session_stable;	   /* session_id is d->node_id */
	bool register_sent;	   /* on the current session */
	char *memo_server;	   /* the router the next two are about */
	bool memo_replaces;	   /* it listed IC_FEATURE_STABLE_NODE_ID */
	int64_t stable_held_until; /* it may hold d->node_id until then (boot_s()) */
	/* reg_ev: from the connect to the upgrade, then from the upgrade to
	 * "registered", NODE_REGISTER_WAIT_S each (lws's own timeouts are
	 * only a distant backstop, see link.h) */
	struct event *retry_ev, *hb_ev, *reg_ev;
};

static void connect_now(struct node *n);

static double unit_random(void)
{
	return (double)arc4random() / 4294967296.0;
}

/* Seconds on a clock that counts suspend: the router's timers run on
 * while this machine sleeps. */
static int64_t boot_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec;
}

/* The current session ends without the router saying so: it may hold on
 * to it, and to its id, for a while. */
static void mark_stable_held(struct node *n)
{
	if (n->register_sent && n->session_stable)
		n->stable_held_until = boot_s() + NODEID_HOLD_S;
}

/* What is known about the router applies to its URL only. */
static void memo_for_server(struct node *n)
{
	const char *url = n->d->cfg->server;

	if (n->memo_server && strcmp(n->memo_server, url) == 0)
		return;
	free(n->memo_server);
	n->memo_server = xstrdup(url);
	n->memo_replaces = false;
	n->stable_held_until = 0;
}

static void choose_session_id(struct node *n)
{
	const char *stable = n->d->node_id;

	memo_for_server(n);
	n->session_stable = nodeid_stable_ok(n->memo_replaces, n->stable_held_until, boot_s());
	if (n->session_stable) {
		snprintf(n->session_id, sizeof(n->session_id), "%s", stable);
		return;
	}
	nodeid_variant(stable, arc4random(), n->session_id, sizeof(n->session_id));
	log_info("registering as %s: %s may still hold the last session registered as %s, "
		 "which ended without a close handshake",
		n->session_id, n->d->cfg->server, stable);
}

static void set_state(struct node *n, enum node_state s)
{
	if (n->state == s)
		return;
	n->state = s;
	daemon_changed(n->d, false);
}

static void features_clear(struct node *n)
{
	size_t i;

	for (i = 0; i < n->n_features; i++)
		free(n->features[i]);
	free(n->features);
	n->features = NULL;
	n->n_features = 0;
}

bool node_has_feature(const struct node *n, const char *feature)
{
	size_t i;

	for (i = 0; i < n->n_features; i++)
		if (strcmp(n->features[i], feature) == 0)
			return true;
	return false;
}

/* The shared list as one comparable string (NEW). */
static char *models_text_new(struct daemon *d)
{
	size_t i, cnt;
	const struct ic_model_info *v = models_list(d->models, &cnt);
	char *s = xstrdup(""), *t;

	for (i = 0; i < cnt; i++) {
		t = xasprintf("%s%s=%lld\n", s, v[i].name, (long long)v[i].size);
		free(s);
		s = t;
	}
	return s;
}

int node_send(struct node *n, uint64_t gen, char *text)
{
	if (!text)
		return -1;
	if (gen == 0 || gen != n->gen ||
		(n->state != NODE_REGISTERED && n->state != NODE_REGISTERING)) {
		free(text);
		return -1;
	}
	return link_ws_send(n->d->link, gen, text, strlen(text));
}

static void send_heartbeat(struct node *n)
{
	struct daemon *d = n->d;
	bool avail = avail_is(&d->avail);
	int active = avail ? (int)daemon_in_flight(d) : d->cfg->max_concurrent;

	if (n->state != NODE_REGISTERED)
		return;
	node_send(n, n->gen, ic_msg_heartbeat_new(n->session_id, active, avail));
}

static void hb_cb(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;
	struct timeval tv = { n->d->cfg->heartbeat_interval, 0 };

	send_heartbeat(n);
	evtimer_add(n->hb_ev, &tv);
}

void node_heartbeat_now(struct node *n)
{
	send_heartbeat(n);
}

static void send_register(struct node *n)
{
	struct daemon *d = n->d;
	size_t cnt;
	const struct ic_model_info *v = models_list(d->models, &cnt);

	free(n->sent_models);
	n->sent_models = models_text_new(d);
	n->reregister_pending = false;
	choose_session_id(n);
	n->register_sent = true;
	node_send(n, n->gen,
		ic_msg_register_new(
			n->session_id, v, cnt, d->cfg->max_concurrent, d->ollama_health.version));
}

/* Tell the router the current list, if it differs from what it knows. */
static void sync_models(struct node *n)
{
	struct daemon *d = n->d;
	char *now = models_text_new(d);
	size_t cnt;
	const struct ic_model_info *v;

	if (n->sent_models && strcmp(now, n->sent_models) == 0) {
		free(now);
		return;
	}
	v = models_list(d->models, &cnt);
	if (cnt == 0) { /* "no models" availability covers it */
		free(now);
		return;
	}
	if (node_has_feature(n, IC_FEATURE_MODELS_UPDATE)) {
		free(n->sent_models);
		n->sent_models = now;
		log_info("sending models_update (%zu models)", cnt);
		node_send(n, n->gen, ic_msg_models_update_new(v, cnt));
		return;
	}
	free(now);
	/* The public router only learns models at registration: register
	 * again on a new connection, once no request would be cut off. */
	n->reregister_pending = true;
	if (daemon_in_flight(d) == 0) {
		log_info("model list changed: registering again");
		connect_now(n);
	}
}

void node_reregister(struct node *n)
{
	if (n->state != NODE_REGISTERED)
		return; /* the next registration carries it anyway */
	n->reregister_pending = true;
	node_relay_done(n);
}

void node_relay_done(struct node *n)
{
	if (n->reregister_pending && n->state == NODE_REGISTERED && daemon_in_flight(n->d) == 0) {
		log_info("registering again");
		connect_now(n);
	}
}

void node_models_changed(struct node *n)
{
	size_t cnt;

	models_list(n->d->models, &cnt);
	if (n->state == NODE_WAITING && cnt > 0)
		connect_now(n);
	else if (n->state == NODE_REGISTERED)
		sync_models(n);
}

static void connect_now(struct node *n)
{
	struct daemon *d = n->d;
	size_t cnt;
	bool was_waiting = n->state == NODE_WAITING;

	uint64_t old = n->gen;

	evtimer_del(n->retry_ev);
	evtimer_del(n->hb_ev);
	evtimer_del(n->reg_ev);
	/* leave REGISTERED before dropping requests: their end must not
	 * start another re-registration */
	n->gen = 0;
	n->state = NODE_CONNECTING;
	if (old) {
		/* its close completes unseen (link.h): count it as unfinished */
		mark_stable_held(n);
		relay_cancel_session(d, old);
	}
	n->register_sent = false;
	features_clear(n);
	models_list(d->models, &cnt);
	if (cnt == 0) { /* the router refuses a registration without models */
		if (!was_waiting)
			link_ws_close(d->link);
		set_state(n, NODE_WAITING);
		return;
	}
	n->close_why[0] = '\0';
	n->gen = link_ws_connect(d->link, d->cfg->server);
	if (n->gen) {
		struct timeval tv = { NODE_REGISTER_WAIT_S, 0 };

		evtimer_add(n->reg_ev, &tv);
	}
	daemon_changed(d, false);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	connect_now(arg);
}

static void reg_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;

	if (n->state == NODE_CONNECTING)
		snprintf(n->close_why, sizeof(n->close_why), "no WebSocket session after %d s",
			NODE_REGISTER_WAIT_S);
	else
		snprintf(n->close_why, sizeof(n->close_why),
			"the router did not confirm the registration in %d s",
			NODE_REGISTER_WAIT_S);
	log_info("%s: closing it", n->close_why); /* on_closed() warns */
	link_ws_close(n->d->link);
}

static void on_open(void *ctx, uint64_t gen)
{
	struct node *n = ctx;
	struct timeval tv = { NODE_REGISTER_WAIT_S, 0 };

	if (gen != n->gen)
		return;
	set_state(n, NODE_REGISTERING);
	send_register(n);
	evtimer_add(n->reg_ev, &tv);
}

static void on_registered(struct node *n, struct ic_msg *m)
{
	struct timeval tv = { n->d->cfg->heartbeat_interval, 0 };
	size_t cnt;

	if (n->state != NODE_REGISTERING)
		return;
	evtimer_del(n->reg_ev);
	features_clear(n);
	n->features = m->features;
	n->n_features = m->n_features;
	m->features = NULL;
	m->n_features = 0;
	n->memo_replaces = node_has_feature(n, IC_FEATURE_STABLE_NODE_ID);
	n->registered_at = time(NULL);
	n->last_error[0] = '\0';
	set_state(n, NODE_REGISTERED);
	consume_link_changed(n->d);
	models_list(n->d->models, &cnt);
	log_notice("registered with %s as %s%s%s (%zu model%s)", n->d->cfg->server, n->session_id,
		n->session_stable ? "" : ", a per-connection variant of ",
		n->session_stable ? "" : n->d->node_id, cnt, cnt == 1 ? "" : "s");
	send_heartbeat(n);
	evtimer_add(n->hb_ev, &tv);
	sync_models(n);
}

/* A malformed inference_request still gets an answer if it names its
 * request: the router would otherwise wait for it. */
static void refuse_malformed(
	struct node *n, uint64_t gen, const char *text, size_t len, const char *err)
{
	json_object *j = ic_json_parse_new(text, len);
	const char *type = j ? ic_json_get_string(j, "type") : NULL;
	const char *rid = j ? ic_json_get_string(j, "request_id") : NULL;

	if (type && strcmp(type, "inference_request") == 0 && rid && ic_valid_request_id(rid)) {
		log_info("request %s refused (%s): %s", rid, IC_ERR_INVALID_REQUEST, err);
		n->d->failed++;
		node_send(n, gen, ic_msg_error_new(rid, IC_ERR_INVALID_REQUEST));
	} else {
		log_warn("ignoring a malformed message from the router: %s", err);
	}
	json_object_put(j);
}

static void on_text(void *ctx, uint64_t gen, const char *text, size_t len)
{
	struct node *n = ctx;
	struct ic_msg m;
	char err[IC_ERRBUF_MAX];

	if (gen != n->gen)
		return;
	memset(&m, 0, sizeof(m));
	if (ic_msg_parse(text, len, &m, err, sizeof(err)) < 0) {
		ic_msg_clear(&m);
		refuse_malformed(n, gen, text, len, err);
		return;
	}
	switch (m.type) {
	case IC_MSG_REGISTERED:
		on_registered(n, &m);
		break;
	case IC_MSG_INFERENCE_REQUEST:
		if (n->state == NODE_REGISTERED)
			relay_start(n->d, gen, m.request_id, m.ollama_params);
		break;
	case IC_MSG_CANCEL_REQUEST:
		relay_cancel(n->d, m.request_id);
		break;
	case IC_MSG_STANDING:
		standing_set(&n->d->standing, m.chats);
		break;
	default:
		log_debug("ignoring a \"%s\" message from the router",
			m.type_name ? m.type_name : "?");
		break;
	}
	ic_msg_clear(&m);
}

/* A router going away or restarting, in words (reason: the router's). */
static void restart_why(char *buf, size_t len, int code, const char *reason)
{
	const char *note = code == BACKOFF_CLOSE_PROTOCOL
		? ", which is how libwebsockets reports 1012-1015"
		: "";

	if (*reason)
		snprintf(buf, len,
			"the router closed the connection (\"%s\"); it may be "
			"restarting (close code %d%s)",
			reason, code, note);
	else
		snprintf(buf, len,
			"the router closed the connection; it may be restarting "
			"(close code %d%s)",
			code, note);
}

static void on_closed(void *ctx, uint64_t gen, int code, const char *reason)
{
	struct node *n = ctx;
	struct daemon *d = n->d;
	bool was_registered = n->state == NODE_REGISTERED;
	bool stopped = n->state == NODE_STOPPED;
	bool healthy = was_registered && time(NULL) - n->registered_at >= NODE_HEALTHY_S;
	enum backoff_kind kind = backoff_classify(code, was_registered);
	char why[IC_ERRBUF_MAX];
	double delay;
	struct timeval tv;

	if (gen != n->gen)
		return;
	evtimer_del(n->hb_ev);
	evtimer_del(n->reg_ev);
	n->gen = 0;
	if (n->state != NODE_STOPPED)
		n->state = NODE_BACKOFF;
	relay_cancel_session(d, gen);
	standing_clear(&d->standing); /* the next router may not say */
	if (was_registered)
		consume_link_changed(d);
	features_clear(n);
	if (code == 0) /* no close frame from the router */
		mark_stable_held(n);
	n->register_sent = false;
	if (n->close_why[0]) { /* we closed it, for this reason */
		snprintf(why, sizeof(why), "%s", n->close_why);
		n->close_why[0] = '\0';
		if (kind == BACKOFF_RESTART) /* our close, not the router's restart */
			kind = BACKOFF_FAILURE;
	} else if (kind == BACKOFF_RESTART)
		restart_why(why, sizeof(why), code, reason);
	else if (code)
		snprintf(why, sizeof(why), "closed by the router (%d): %s", code,
			*reason ? reason : "no reason given");
	else if (strstr(reason, "SSL") || strstr(reason, "certificate"))
		snprintf(why, sizeof(why),
			"TLS failed (%s); is the router's certificate "
			"trusted? see ca_file",
			reason);
	else
		snprintf(why, sizeof(why), "%s", *reason ? reason : "connection failed");
	if (stopped) { /* the close is done: main() may finish */
		event_base_loopexit(d->base, NULL);
		return;
	}
	if (healthy || kind == BACKOFF_RESTART)
		n->attempt = 0;
	if (kind == BACKOFF_POLICY)
		delay = d->cfg->reconnect_max;
	else if (kind == BACKOFF_RESTART) /* not a failure: no step up */
		delay = backoff_delay_s(0, d->cfg->reconnect_min, d->cfg->reconnect_max, 0.0);
	else
		delay = backoff_delay_s(
			n->attempt++, d->cfg->reconnect_min, d->cfg->reconnect_max, unit_random());
	if (kind == BACKOFF_RESTART)
		log_notice("lost the connection to %s: %s; reconnecting in %.0f s", d->cfg->server,
			why, delay);
	else if (was_registered)
		log_warn("lost the connection to %s: %s", d->cfg->server, why);
	else if (strcmp(why, n->last_error) != 0)
		log_warn("cannot register with %s: %s; retrying", d->cfg->server, why);
	else
		log_debug("cannot register with %s: %s", d->cfg->server, why);
	snprintf(n->last_error, sizeof(n->last_error), "%s", why);
	tv.tv_sec = (time_t)delay;
	tv.tv_usec = (suseconds_t)((delay - (double)tv.tv_sec) * 1e6);
	evtimer_add(n->retry_ev, &tv);
	daemon_changed(d, false);
}

/* HTTP events belong to the consume path. */
static void on_http_status(void *ctx, uint64_t id, int status)
{
	struct node *n = ctx;

	consume_http_status(n->d, id, status);
}

static void on_http_data(void *ctx, uint64_t id, const char *data, size_t len)
{
	struct node *n = ctx;

	consume_http_data(n->d, id, data, len);
}

static void on_http_done(void *ctx, uint64_t id, const char *err)
{
	struct node *n = ctx;

	consume_http_done(n->d, id, err);
}

const struct link_callbacks node_link_callbacks = {
	on_open,
	on_text,
	on_closed,
	on_http_status,
	on_http_data,
	on_http_done,
};

struct node *node_new(struct daemon *d)
{
	struct node *n = xcalloc(1, sizeof(*n));

	n->d = d;
	n->state = NODE_WAITING;
	n->retry_ev = evtimer_new(d->base, retry_cb, n);
	n->hb_ev = evtimer_new(d->base, hb_cb, n);
	n->reg_ev = evtimer_new(d->base, reg_timeout_cb, n);
	return n;
}

void node_free(struct node *n)
{
	if (!n)
		return;
	event_free(n->retry_ev);
	event_free(n->hb_ev);
	event_free(n->reg_ev);
	features_clear(n);
	free(n->sent_models);
	free(n->memo_server);
	free(n);
}

void node_restart(struct node *n)
{
	if (n->state == NODE_STOPPED)
		return;
	n->attempt = 0;
	n->last_error[0] = '\0';
	if (n->state == NODE_WAITING) {
		node_models_changed(n);
		return;
	}
	log_info("router URL changed: connecting to %s", n->d->cfg->server);
	connect_now(n);
}

void node_stop(struct node *n)
{
	evtimer_del(n->retry_ev);
	evtimer_del(n->hb_ev);
	evtimer_del(n->reg_ev);
	if (n->state != NODE_WAITING && n->state != NODE_BACKOFF)
		link_ws_close(n->d->link);
	n->state = NODE_STOPPED;
}

enum node_state node_get_state(const struct node *n)
{
	return n->state;
}

const char *node_state_name(enum node_state s)
{
	switch (s) {
	case NODE_WAITING:
		return "waiting for models";
	case NODE_CONNECTING:
		return "connecting";
	case NODE_REGISTERING:
		return "registering";
	case NODE_REGISTERED:
		return "connected";
	case NODE_BACKOFF:
		return "reconnecting";
	case NODE_STOPPED:
		return "stopped";
	}
	return "?";
}

const char *node_last_error(const struct node *n)
{
	return n->last_error[0] ? n->last_error : NULL;
}
