/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * commands.c - the handlers of the control commands, bound by name to the
 * rows of the command table (common/ctlproto.c).  Main thread.
 *
 * Requests arrive checked against their row by control.c: arguments,
 * and privilege for the rows that need it.
 */

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "ctlproto.h"
#include "daemon/commands.h"
#include "daemon/consume.h"
#include "daemon/daemon.h"
#include "daemon/idle-watch.h"
#include "daemon/gateway.h"
#include "daemon/models.h"
#include "daemon/node.h"
#include "daemon/unload.h"
#include "daemon/ollama.h"
#include "jsonutil.h"
#include "log.h"
#include "xmalloc.h"

/* A status or models request waiting for the router's answers. */
struct netwait {
	LIST_ENTRY(netwait) next;
	struct daemon *d;
	uint64_t client;
	char *req_id;
	bool is_status;
	json_object *body; /* the reply being built */
	struct consume *health, *models;
	int waiting;
};

static LIST_HEAD(, netwait) netwaits = LIST_HEAD_INITIALIZER(netwaits);

static void netwait_free(struct netwait *w)
{
	LIST_REMOVE(w, next);
	json_object_put(w->body);
	free(w->req_id);
	free(w);
}

static void netwait_finish(struct netwait *w)
{
	struct daemon *d = w->d;

	if (w->is_status) {
		control_reply(d->ctl, w->client, w->req_id, CTL_ST_OK, w->body);
	} else {
		json_object *m = NULL;

		json_object_object_get_ex(w->body, CTL_R_MODELS, &m);
		if (m)
			control_reply(d->ctl, w->client, w->req_id, CTL_ST_OK, w->body);
		else
			control_reply_detail(d->ctl, w->client, w->req_id, CTL_ST_UNAVAILABLE,
				"cannot read the network's models", NULL);
	}
	netwait_free(w);
}

/* Where a network answer goes: status -> body.network.X, models -> body.models */
static void net_store(struct netwait *w, const char *key, json_object *val)
{
	json_object *net;

	if (!w->is_status) {
		json_object_object_add(w->body, CTL_R_MODELS, json_object_get(val));
		return;
	}
	if (!json_object_object_get_ex(w->body, CTL_R_NETWORK, &net)) {
		net = json_object_new_object();
		json_object_object_add(w->body, CTL_R_NETWORK, net);
	}
	json_object_object_add(net, key, json_object_get(val));
}

static void health_cb(void *ctx, int status, json_object *body, const char *err)
{
	struct netwait *w = ctx;

	w->health = NULL;
	if (status == 200 && body)
		net_store(w, CTL_R_HEALTH, body);
	if (--w->waiting == 0)
		netwait_finish(w);
}

static void models_cb(void *ctx, int status, json_object *body, const char *err)
{
	struct netwait *w = ctx;
	json_object *m;

	w->models = NULL;
	if (status == 200 && body && json_object_object_get_ex(body, "models", &m) &&
		json_object_is_type(m, json_type_array)) {
		net_store(w, CTL_R_MODELS, m);
		/* `models` passes the capabilities on (idleclawctl's /show info) */
		if (!w->is_status && json_object_object_get_ex(body, CTL_R_CAPABILITIES, &m) &&
			json_object_is_type(m, json_type_object))
			json_object_object_add(w->body, CTL_R_CAPABILITIES, json_object_get(m));
	}
	if (--w->waiting == 0)
		netwait_finish(w);
}

static struct netwait *netwait_new(
	struct daemon *d, uint64_t client, const char *req_id, bool is_status, json_object *body)
{
	struct netwait *w = xcalloc(1, sizeof(*w));

	w->d = d;
	w->client = client;
	w->req_id = xstrdup(req_id);
	w->is_status = is_status;
	w->body = body;
	LIST_INSERT_HEAD(&netwaits, w, next);
	return w;
}

void commands_stop(void *daemon)
{
	struct daemon *d = daemon;
	struct netwait *w;

	while ((w = LIST_FIRST(&netwaits)) != NULL) {
		consume_get_cancel(d, w->health);
		consume_get_cancel(d, w->models);
		control_reply(d->ctl, w->client, w->req_id, CTL_ST_SHUTTING_DOWN, NULL);
		netwait_free(w);
	}
}

static void add_str(json_object *o, const char *key, const char *val)
{
	if (val)
		json_object_object_add(o, key, json_object_new_string(val));
}

static json_object *status_body_new(struct daemon *d)
{
	json_object *b = json_object_new_object(), *router, *ollama, *arr;
	size_t i, n;
	const struct ic_model_info *v = models_list(d->models, &n);

	add_str(b, CTL_R_VERSION, PACKAGE_VERSION);
	json_object_object_add(b, CTL_R_UPTIME, json_object_new_int64(time(NULL) - d->started));
	add_str(b, CTL_R_NODE_ID, d->node_id);

	router = json_object_new_object();
	add_str(router, CTL_R_URL, d->cfg->server);
	add_str(router, CTL_R_STATE, node_state_name(node_get_state(d->node)));
	add_str(router, CTL_R_LAST_ERROR, node_last_error(d->node));
	json_object_object_add(b, CTL_R_ROUTER, router);

	json_object_object_add(b, CTL_R_AVAILABLE, json_object_new_boolean(avail_is(&d->avail)));
	add_str(b, CTL_R_REASON, avail_reason_text(&d->avail));
	if (avail_has(&d->avail, AVAIL_PAUSED))
		json_object_object_add(
			b, CTL_R_PAUSED_UNTIL, json_object_new_int64(d->avail.paused_until));
	arr = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(v[i].name));
	json_object_object_add(b, CTL_R_MODELS, arr);
	json_object_object_add(
		b, CTL_R_IN_FLIGHT, json_object_new_int64((int64_t)daemon_in_flight(d)));
	json_object_object_add(b, CTL_R_SERVED, json_object_new_int64((int64_t)d->served));
	json_object_object_add(
		b, CTL_R_MAX_CONCURRENT, json_object_new_int(d->cfg->max_concurrent));

	ollama = json_object_new_object();
	add_str(ollama, CTL_R_URL, ollama_url(d->ollama));
	add_str(ollama, CTL_R_STATE, ollama_health_state_name(d->ollama_health.state));
	add_str(ollama, CTL_R_VERSION, d->ollama_health.version);
	add_str(ollama, CTL_R_LAST_ERROR, ollama_health_last_error(&d->ollama_health));
	json_object_object_add(b, CTL_R_OLLAMA, ollama);
	json_object_object_add(b, CTL_R_IDLE, idle_watch_status_new(d->idle));
	standing_status_add(&d->standing, b);
	json_object_object_add(b, "unload", unload_status_new(d->unload));
	json_object_object_add(
		b, CTL_R_CLIENTS, json_object_new_int64((int64_t)control_client_count(d->ctl)));
	if (d->gateway) {
		json_object *gw = json_object_new_object();

		add_str(gw, CTL_R_LISTEN, gateway_address(d->gateway));
		json_object_object_add(gw, CTL_R_STREAMS,
			json_object_new_int64((int64_t)gateway_streams(d->gateway)));
		json_object_object_add(
			gw, CTL_R_MAX_STREAMS, json_object_new_int(d->cfg->gateway_max_streams));
		json_object_object_add(b, CTL_R_GATEWAY, gw);
	}
	return b;
}

static void cmd_status(
	void *daemon, const struct control_peer *peer, const char *req_id, json_object *args)
{
	struct daemon *d = daemon;
	struct netwait *w = netwait_new(d, peer->client_id, req_id, true, status_body_new(d));

	w->waiting = 2;
	w->health = consume_get_for(d, peer->client_id, "/health", health_cb, w);
	w->models = consume_get_for(d, peer->client_id, "/api/models", models_cb, w);
}

static void cmd_models(
	void *daemon, const struct control_peer *peer, const char *req_id, json_object *args)
{
	struct daemon *d = daemon;
	struct netwait *w =
		netwait_new(d, peer->client_id, req_id, false, json_object_new_object());

	w->waiting = 1;
	w->models = consume_get_for(d, peer->client_id, "/api/models", models_cb, w);
}

static void cmd_pause(
	void *daemon, const struct control_peer *peer, const char *req_id, json_object *args)
{
	struct daemon *d = daemon;
	int64_t secs = 0;
	bool changed;
	json_object *b = json_object_new_object();

	ic_json_get_int64(args, CTL_A_SECONDS, &secs);
	changed = avail_pause(&d->avail, time(NULL), (long)secs);
	if (secs > 0)
		log_notice("paused for %lld s by uid %u", (long long)secs, (unsigned)peer->uid);
	else
		log_notice("paused until resumed, by uid %u", (unsigned)peer->uid);
	daemon_changed(d, changed);
	json_object_object_add(b, CTL_R_AVAILABLE, json_object_new_boolean(avail_is(&d->avail)));
	json_object_object_add(b, CTL_R_PAUSED_UNTIL, json_object_new_int64(d->avail.paused_until));
	control_reply(d->ctl, peer->client_id, req_id, CTL_ST_OK, b);
	json_object_put(b);
}

static void cmd_resume(
	void *daemon, const struct control_peer *peer, const char *req_id, json_object *args)
{
	struct daemon *d = daemon;
	bool changed = avail_resume(&d->avail);
	json_object *b = json_object_new_object();

	log_notice("resumed by uid %u", (unsigned)peer->uid);
	daemon_changed(d, changed);
	json_object_object_add(b, CTL_R_AVAILABLE, json_object_new_boolean(avail_is(&d->avail)));
	add_str(b, CTL_R_REASON, avail_reason_text(&d->avail));
	control_reply(d->ctl, peer->client_id, req_id, CTL_ST_OK, b);
	json_object_put(b);
}

static void cmd_reload(
	void *daemon, const struct control_peer *peer, const char *req_id, json_object *args)
{
	struct daemon *d = daemon;
	char *errors = NULL;

	if (daemon_reload(d, &errors) < 0) {
		char *nl;

		/* one line for the reply; the log has them all */
		if (errors && (nl = strchr(errors, '\n')) != NULL)
			*nl = '\0';
		control_reply_detail(d->ctl, peer->client_id, req_id, CTL_ST_FAILED,
			errors ? errors : "configuration not valid", NULL);
		free(errors);
		return;
	}
	control_reply(d->ctl, peer->client_id, req_id, CTL_ST_OK, NULL);
}

static void cmd_chat(
	void *daemon, const struct control_peer *peer, const char *req_id, json_object *args)
{
	struct daemon *d = daemon;

	if (d->stopping) {
		control_reply(d->ctl, peer->client_id, req_id, CTL_ST_SHUTTING_DOWN, NULL);
		return;
	}
	consume_chat(d, peer, req_id, args);
}

static void cmd_cancel(
	void *daemon, const struct control_peer *peer, const char *req_id, json_object *args)
{
	struct daemon *d = daemon;
	const char *target = ic_json_get_string(args, CTL_A_TARGET);

	if (!target || consume_cancel(d, peer->client_id, target) < 0) {
		control_reply_detail(d->ctl, peer->client_id, req_id, CTL_ST_NOT_FOUND,
			"no running chat with that id on this connection", NULL);
		return;
	}
	control_reply(d->ctl, peer->client_id, req_id, CTL_ST_OK, NULL);
}

/* The handler of each row of ctl_commands[], bound by name: control_new()
 * refuses to start unless every row has one. */
const struct control_handler daemon_handlers[] = {
	{ CTL_CMD_STATUS, cmd_status },
	{ CTL_CMD_MODELS, cmd_models },
	{ CTL_CMD_PAUSE, cmd_pause },
	{ CTL_CMD_RESUME, cmd_resume },
	{ CTL_CMD_RELOAD, cmd_reload },
	{ CTL_CMD_CHAT, cmd_chat },
	{ CTL_CMD_CANCEL, cmd_cancel },
};
const size_t daemon_n_handlers = sizeof(daemon_handlers) / sizeof(daemon_handlers[0]);
