/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * idleclawd.c - main(): the command line (common/cmdline.h), configuration
 * and its reload (common/startup.h), signals, sd_notify, the loop.
 *
 * Threads: this file runs in the main thread (libevent); the only other
 * thread is the router link's (daemon/link.c).
 */

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-id128.h>

#include "cmdline.h"
#include "ctlproto.h"
#include "daemon/commands.h"
#include "daemon/consume.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/gateway.h"
#include "daemon/idle-watch.h"
#include "daemon/link.h"
#include "daemon/models.h"
#include "daemon/node.h"
#include "daemon/ollama.h"
#include "daemon/relay.h"
#include "daemon/unload.h"
#include "limits.h"
#include "log.h"
#include "startup.h"
#include "validate.h"
#include "xmalloc.h"

/* Application id for sd_id128_get_machine_app_specific(): node ids are
 * derived from the machine id without revealing it. */
#define IDLECLAW_APP_ID \
	SD_ID128_MAKE(5e, 0b, 9c, 41, 7d, 2a, 4f, 63, a8, 17, c2, 90, 3b, d4, e6, f1)

static char *status_line;	     /* last STATUS= sent */
static struct ollama *old_ollama[8]; /* replaced on reload; in-flight requests finish */
static size_t n_old_ollama;
/* ev_pause_end: armed for the end of a timed pause only (no fixed tick:
 * an idle daemon wakes for what is due) */
static struct event *ev_term, *ev_int, *ev_hup, *ev_pause_end, *ev_watchdog;

size_t daemon_in_flight(const struct daemon *d)
{
	return relay_count(d);
}

static void notify_status(struct daemon *d)
{
	size_t n;
	char *line;

	models_list(d->models, &n);
	line = xasprintf("router %s; %s; %zu model%s shared; %zu in flight",
		node_state_name(node_get_state(d->node)),
		avail_is(&d->avail) ? "available" : avail_reason_text(&d->avail), n,
		n == 1 ? "" : "s", daemon_in_flight(d));
	if (status_line && strcmp(line, status_line) == 0) {
		free(line);
		return;
	}
	free(status_line);
	status_line = line;
	sd_notifyf(0, "STATUS=%s", line);
}

static void finish_stop(struct daemon *d);

/* Wake at the end of a timed pause, and not otherwise. */
static void arm_pause_end(struct daemon *d)
{
	time_t now = time(NULL);
	struct timeval tv = { 0, 0 };

	if (!ev_pause_end)
		return;
	if (!avail_has(&d->avail, AVAIL_PAUSED) || !d->avail.paused_until) {
		evtimer_del(ev_pause_end);
		return;
	}
	tv.tv_sec = d->avail.paused_until > now ? d->avail.paused_until - now : 0;
	evtimer_add(ev_pause_end, &tv);
}

void daemon_changed(struct daemon *d, bool availability_changed)
{
	pause_file_sync(&d->pause_file, &d->avail);
	arm_pause_end(d);
	if (availability_changed) {
		if (avail_is(&d->avail))
			log_notice("available for inference requests");
		else
			log_notice("unavailable for inference requests: %s",
				avail_reason_text(&d->avail));
		node_heartbeat_now(d->node);
	}
	notify_status(d);
	unload_check(d->unload);
	if (d->stopping && daemon_in_flight(d) == 0)
		finish_stop(d);
}

/* ---- node id ---- */

static char *node_id_new(const struct daemon_config *cfg, char *err, size_t errlen)
{
	char hex[SD_ID128_STRING_MAX];
	sd_id128_t id;
	int r;

	if (cfg->node_id && *cfg->node_id) {
		if (!ic_valid_node_id(cfg->node_id)) {
			snprintf(err, errlen,
				"node_id \"%s\" is not valid (1-%d printable characters)",
				cfg->node_id, IC_NODE_ID_MAX);
			return NULL;
		}
		return xstrdup(cfg->node_id);
	}
	r = sd_id128_get_machine_app_specific(IDLECLAW_APP_ID, &id);
	if (r < 0) {
		snprintf(err, errlen,
			"cannot derive a node id from /etc/machine-id (%s); "
			"set node_id in the configuration",
			strerror(-r));
		return NULL;
	}
	return xasprintf("ic-%s", sd_id128_to_string(id, hex));
}

/* ---- reload ---- */

/* The link sets up TLS only for an https server (it costs RSS). */
static bool needs_tls(const struct daemon_config *cfg)
{
	return strncmp(cfg->server, "https:", 6) == 0;
}

/* A new link for a server that needs (or no longer needs) TLS, or a
 * different CA file. */
static int replace_link(
	struct daemon *d, const struct daemon_config *new_cfg, char *err, size_t errlen)
{
	struct link *new_link = link_new(d->base, &node_link_callbacks, d->node, needs_tls(new_cfg),
		new_cfg->ca_file, err, errlen);

	if (!new_link)
		return -1;
	relay_cancel_all(d);
	commands_stop(d);
	consume_stop_all(d);
	link_free(d->link);
	d->link = new_link;
	return 0;
}

static void apply_log_level(const struct daemon_config *cfg)
{
	ic_log_set_level((enum ic_log_level)cfg->log_level);
}

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Free replaced Ollama clients whose requests have all ended. */
static void retire_idle_ollamas(void)
{
	size_t i = 0;

	while (i < n_old_ollama) {
		if (ollama_busy(old_ollama[i])) {
			i++;
			continue;
		}
		ollama_free(old_ollama[i]);
		old_ollama[i] = old_ollama[--n_old_ollama];
	}
}

/* What a reload builds from the new configuration before the swap. */
static struct {
	char *node_id; /* the effective node id under the new config */
	bool node_id_changed;
	struct ollama *ollama; /* NULL: ollama_host and ollama_timeout unchanged */
	bool link_replaced;    /* server's TLS need or ca_file changed */
} reload_pending;

static void reload_notify(const char *state)
{
	sd_notify(0, state);
}

static int reload_fail(char **errors, const char *why)
{
	*errors = xstrdup(why);
	ollama_free(reload_pending.ollama);
	free(reload_pending.node_id);
	memset(&reload_pending, 0, sizeof(reload_pending));
	return -1;
}

/* ic_reload_ops.prepare: the node id, a new Ollama client, a new link. */
static int reload_prepare(void *daemon, void *cfg, char **errors)
{
	struct daemon *d = daemon;
	const struct daemon_config *new_cfg = cfg, *old = d->cfg;
	char err[IC_ERRBUF_MAX];

	memset(&reload_pending, 0, sizeof(reload_pending));
	reload_pending.node_id = node_id_new(new_cfg, err, sizeof(err));
	if (!reload_pending.node_id)
		return reload_fail(errors, err);
	reload_pending.node_id_changed = strcmp(reload_pending.node_id, d->node_id) != 0;
	retire_idle_ollamas();
	if (!str_eq(new_cfg->ollama_host, old->ollama_host) ||
		new_cfg->ollama_timeout != old->ollama_timeout) {
		reload_pending.ollama = ollama_new(
			d->base, new_cfg->ollama_host, new_cfg->ollama_timeout, err, sizeof(err));
		if (!reload_pending.ollama)
			return reload_fail(errors, err);
		if (n_old_ollama == sizeof(old_ollama) / sizeof(old_ollama[0]))
			return reload_fail(errors,
				"ollama_host changed too often while requests "
				"were running; try again later");
	}
	/* last: replacing the link cancels what runs on it */
	if (needs_tls(new_cfg) != needs_tls(old) || !str_eq(new_cfg->ca_file, old->ca_file)) {
		if (replace_link(d, new_cfg, err, sizeof(err)) < 0)
			return reload_fail(errors, err);
		reload_pending.link_replaced = true;
	}
	return 0;
}

/* ic_reload_ops.swap */
static void *reload_swap(void *daemon, void *cfg)
{
	struct daemon *d = daemon;
	struct daemon_config *old_cfg = d->cfg;

	if (reload_pending.ollama) {
		old_ollama[n_old_ollama++] = d->ollama;
		d->ollama = reload_pending.ollama;
	}
	free(d->node_id);
	d->node_id = reload_pending.node_id;
	d->cfg = cfg;
	control_set_idle_timeout(d->ctl, d->cfg->control_idle_timeout);
	if (d->ctl)
		control_resolve_group(d->ctl); /* the socket's group, perhaps new since */
	idle_watch_reconfigure(d->idle);
	apply_log_level(d->cfg);
	return old_cfg;
}

/* ic_reload_ops.changed: tell the router and re-read the models. */
static void reload_changed(void *daemon, const void *old, const void *cfg)
{
	struct daemon *d = daemon;
	const struct daemon_config *old_cfg = old, *new_cfg = cfg;

	if (!str_eq(new_cfg->server, old_cfg->server) || reload_pending.node_id_changed ||
		reload_pending.link_replaced)
		node_restart(d->node);
	else if (new_cfg->max_concurrent != old_cfg->max_concurrent)
		node_reregister(d->node); /* the router learns it at registration */
	if (!str_eq(new_cfg->models_allow, old_cfg->models_allow) ||
		!str_eq(new_cfg->models_deny, old_cfg->models_deny) || reload_pending.ollama)
		models_refresh(d->models);
	memset(&reload_pending, 0, sizeof(reload_pending));
}

int daemon_reload(struct daemon *d, char **errors)
{
	static const struct ic_reload_ops ops = {
		.schema = &dconfig_schema,
		.notify = reload_notify,
		.prepare = reload_prepare,
		.swap = reload_swap,
		.changed = reload_changed,
	};

	if (ic_reload(&ops, d, d->config_path, d->overrides, errors) < 0)
		return -1;
	daemon_changed(d, false);
	return 0;
}

/* ---- signals, timers ---- */

static void finish_stop(struct daemon *d)
{
	/* the link flushes queued frames and closes; node.c ends the loop
	 * when the close is done, this is the bound */
	struct timeval tv = { 2, 0 };
	static bool done;

	if (done || unload_busy(d->unload)) /* it calls daemon_changed() when over */
		return;
	done = true;
	log_notice("stopping");
	if (node_get_state(d->node) == NODE_WAITING || node_get_state(d->node) == NODE_BACKOFF) {
		node_stop(d->node);
		event_base_loopexit(d->base, NULL);
		return;
	}
	node_stop(d->node);
	event_base_loopexit(d->base, &tv);
}

static void drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	log_warn("drain timeout: %zu request%s still in flight are dropped", daemon_in_flight(d),
		daemon_in_flight(d) == 1 ? "" : "s");
	relay_fail_all(d);
	finish_stop(d);
}

static void start_stop(struct daemon *d)
{
	struct timeval tv = { d->cfg->drain_timeout, 0 };
	bool changed;

	if (d->stopping) { /* a second signal: do not wait any longer */
		finish_stop(d);
		return;
	}
	d->stopping = true;
	sd_notify(0, "STOPPING=1");
	changed = avail_set(&d->avail, AVAIL_DRAINING, true);
	commands_stop(d);
	consume_stop_all(d);
	gateway_stop_listening(d->gateway);
	if (daemon_in_flight(d)) {
		log_notice("draining %zu request%s (up to %d s)", daemon_in_flight(d),
			daemon_in_flight(d) == 1 ? "" : "s", d->cfg->drain_timeout);
		d->drain_timer = evtimer_new(d->base, drain_timeout_cb, d);
		evtimer_add(d->drain_timer, &tv);
	}
	daemon_changed(d, changed);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	char *errors = NULL;

	if (sig == SIGHUP) {
		if (!d->stopping)
			daemon_reload(d, &errors);
		free(errors);
		return;
	}
	start_stop(d);
}

static void pause_end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	if (avail_tick(&d->avail, time(NULL))) {
		log_notice("pause ended");
		daemon_changed(d, true);
	} else {
		arm_pause_end(d); /* woke early: wait for the rest */
	}
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

static void on_client_gone(void *daemon, uint64_t client_id)
{
	consume_client_gone(daemon, client_id);
}

/* ---- start-up ---- */

static const struct ic_cmdline_option idleclawd_options[] = {
	{ .long_name = "foreground",
		.short_name = 'f',
		.help = "stay in the foreground (always; for scripts)" },
};

static const struct ic_cmdline_spec idleclawd_cmdline = {
	.program = "idleclawd",
	.summary = "Lend idle Ollama capacity to an IdleClaw network.",
	.default_config = DCONFIG_DEFAULT_PATH,
	.extra = idleclawd_options,
	.n_extra = sizeof(idleclawd_options) / sizeof(idleclawd_options[0]),
};

static int start_control(struct daemon *d, char *err, size_t errlen)
{
	struct control_config cc;
	int n = sd_listen_fds(0);

	memset(&cc, 0, sizeof(cc));
	cc.path = d->cfg->control_socket;
	cc.listen_fd = n >= 1 ? SD_LISTEN_FDS_START : -1;
	cc.group = d->cfg->control_group;
	cc.handlers = daemon_handlers;
	cc.n_handlers = daemon_n_handlers;
	cc.daemon = d;
	cc.on_disconnect = on_client_gone;
	cc.idle_timeout_s = d->cfg->control_idle_timeout;
	if (n > 1)
		log_warn("got %d sockets from systemd; using the first", n);
	d->ctl = control_new(d->base, &cc, err, errlen);
	return d->ctl ? 0 : -1;
}

static void start_timers(struct daemon *d)
{
	uint64_t usec = 0;

	ev_term = evsignal_new(d->base, SIGTERM, signal_cb, d);
	ev_int = evsignal_new(d->base, SIGINT, signal_cb, d);
	ev_hup = evsignal_new(d->base, SIGHUP, signal_cb, d);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_hup, NULL);
	ev_pause_end = evtimer_new(d->base, pause_end_cb, d);
	if (sd_watchdog_enabled(0, &usec) > 0) {
		struct timeval tv = { (time_t)(usec / 2 / 1000000),
			(suseconds_t)(usec / 2 % 1000000) };

		ev_watchdog = event_new(d->base, -1, EV_PERSIST, watchdog_cb, d);
		evtimer_add(ev_watchdog, &tv);
		sd_notify(0, "WATCHDOG=1");
	}
}

static void cleanup(struct daemon *d)
{
	size_t i;

	if (d->node)
		node_stop(d->node);
	relay_cancel_all(d);
	commands_stop(d);
	consume_stop_all(d);
	gateway_free(d->gateway);
	link_free(d->link); /* no link callback after this */
	idle_watch_free(d->idle);
	unload_free(d->unload);
	d->unload = NULL; /* daemon_changed() may still run below */
	control_free(d->ctl);
	models_free(d->models);
	ollama_health_clear(&d->ollama_health);
	node_free(d->node);
	ollama_free(d->ollama);
	for (i = 0; i < n_old_ollama; i++)
		ollama_free(old_ollama[i]);
	if (d->drain_timer)
		event_free(d->drain_timer);
	if (ev_watchdog)
		event_free(ev_watchdog);
	if (ev_pause_end) {
		event_free(ev_pause_end);
		event_free(ev_term);
		event_free(ev_int);
		event_free(ev_hup);
	}
	event_base_free(d->base);
	free(d->node_id);
	dconfig_free(d->cfg);
	pause_file_clear(&d->pause_file);
	free(status_line);
}

/* A pause from before the restart ($STATE_DIRECTORY, pause-file.h). */
static void restore_pause(struct daemon *d)
{
	time_t now = time(NULL), until;

	pause_file_init(&d->pause_file, getenv("STATE_DIRECTORY"));
	if (pause_file_load(&d->pause_file, now, &until) < 0)
		return;
	avail_pause(&d->avail, now, until ? (long)(until - now) : 0);
	if (until)
		log_notice(
			"paused for %lld s more, as before the restart", (long long)(until - now));
	else
		log_notice("paused until resumed, as before the restart");
	arm_pause_end(d);
}

/* --check-config: the configuration, then the node id it gives. */
static int check_config(const struct daemon_config *cfg)
{
	char err[IC_ERRBUF_MAX];
	char *node_id = node_id_new(cfg, err, sizeof(err));

	ic_config_print(&dconfig_schema, cfg, stdout);
	if (!node_id) {
		fprintf(stderr, "idleclawd: %s\n", err);
		return IC_EXIT_START;
	}
	printf("# effective node_id: %s\n", node_id);
	free(node_id);
	return 0;
}

static int run(const struct ic_cmdline *cl)
{
	struct daemon d;
	char err[IC_ERRBUF_MAX];

	memset(&d, 0, sizeof(d));
	d.config_path = cl->config_path;
	d.overrides = (const char *const *)cl->overrides;
	d.cfg = ic_startup_config_new("idleclawd", &dconfig_schema, cl, stderr);
	if (!d.cfg)
		return IC_EXIT_START;
	if (cl->check_config) {
		int rc = check_config(d.cfg);

		dconfig_free(d.cfg);
		return rc;
	}
	d.node_id = node_id_new(d.cfg, err, sizeof(err));
	if (!d.node_id) {
		log_err("%s", err);
		dconfig_free(d.cfg);
		return IC_EXIT_START;
	}
	apply_log_level(d.cfg);
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads(); /* before the base: the link thread wakes it */
	d.base = event_base_new();
	d.started = time(NULL);
	LIST_INIT(&d.relays);
	LIST_INIT(&d.consumes);
	d.ollama = ollama_new(d.base, d.cfg->ollama_host, d.cfg->ollama_timeout, err, sizeof(err));
	if (!d.ollama) {
		log_err("%s", err);
		event_base_free(d.base);
		free(d.node_id);
		dconfig_free(d.cfg);
		return IC_EXIT_START;
	}
	d.node = node_new(&d);
	d.models = models_new(&d);
	d.unload = unload_new(&d);
	d.link = link_new(d.base, &node_link_callbacks, d.node, needs_tls(d.cfg), d.cfg->ca_file,
		err, sizeof(err));
	if (!d.link || start_control(&d, err, sizeof(err)) < 0 ||
		gateway_start(&d, err, sizeof(err)) < 0) {
		log_err("%s", err);
		cleanup(&d);
		return IC_EXIT_START;
	}
	start_timers(&d);
	avail_set(&d.avail, AVAIL_NO_MODELS, true); /* until Ollama answers */
	restore_pause(&d);
	d.idle = idle_watch_new(&d);
	log_notice("idleclawd %s starting: node %s, router %s, Ollama %s", PACKAGE_VERSION,
		d.node_id, d.cfg->server, ollama_url(d.ollama));
	models_refresh(d.models);
	sd_notify(0, "READY=1");
	notify_status(&d);
	event_base_dispatch(d.base);
	cleanup(&d);
	log_notice("stopped");
	return 0;
}

int main(int argc, char **argv)
{
	struct ic_cmdline cl;
	int rc;

	/* one malloc arena: the link thread moves little memory, and a second
	 * arena would cost idle RSS for nothing */
	mallopt(M_ARENA_MAX, 1);
	ic_log_init("idleclawd");
	rc = ic_cmdline_parse(&idleclawd_cmdline, argc, argv, &cl, stdout, stderr);
	if (rc == IC_CMDLINE_RUN)
		rc = run(&cl);
	ic_cmdline_clear(&cl);
	return rc;
}
