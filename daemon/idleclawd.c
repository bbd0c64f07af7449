/*
 * idleclawd.c - main(): flags, configuration, signals, sd_notify, the loop.
 *
 * Threads: this file runs in the main thread (libevent); the only other
 * thread is the router link's (daemon/link.c).
 */

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "ctlproto.h"
#include "daemon/commands.h"
#include "daemon/consume.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/link.h"
#include "daemon/models.h"
#include "daemon/node.h"
#include "daemon/ollama.h"
#include "daemon/relay.h"
#include "daemon/sdnotify.h"
#include "limits.h"
#include "log.h"
#include "validate.h"
#include "xmalloc.h"

/* Overrides given with -o (a bound keeps argv handling simple). */
#define OVERRIDES_MAX 64

/* Application id for the machine-specific node id (as
 * sd_id128_get_machine_app_specific() would use it): node ids are derived
 * from the machine id without revealing it. */
static const uint8_t idleclaw_app_id[16] = {
	0x5e, 0x0b, 0x9c, 0x41, 0x7d, 0x2a, 0x4f, 0x63,
	0xa8, 0x17, 0xc2, 0x90, 0x3b, 0xd4, 0xe6, 0xf1,
};
#define MACHINE_ID_PATH "/etc/machine-id"

static char *status_line;		/* last STATUS= sent */
static struct ollama *old_ollama[8];	/* replaced on reload; in-flight requests finish */
static size_t n_old_ollama;
static struct event *ev_term, *ev_int, *ev_hup, *ev_tick, *ev_watchdog;

size_t
daemon_in_flight(const struct daemon *d)
{
	return relay_count(d);
}

static void
notify_status(struct daemon *d)
{
	size_t n;
	char *line;

	models_list(d->models, &n);
	line = xasprintf("router %s; %s; %zu model%s shared; %zu in flight",
			 node_state_name(node_get_state(d->node)),
			 avail_is(&d->avail) ? "available" : avail_reason_text(&d->avail),
			 n, n == 1 ? "" : "s", daemon_in_flight(d));
	if (status_line && strcmp(line, status_line) == 0) {
		free(line);
		return;
	}
	free(status_line);
	status_line = line;
	sdn_notifyf("STATUS=%s", line);
}

static void finish_stop(struct daemon *d);

void
daemon_changed(struct daemon *d, bool availability_changed)
{
	if (availability_changed) {
		if (avail_is(&d->avail))
			log_notice("available for inference requests");
		else
			log_notice("unavailable for inference requests: %s",
				   avail_reason_text(&d->avail));
		node_heartbeat_now(d->node);
	}
	notify_status(d);
	if (d->stopping && daemon_in_flight(d) == 0)
		finish_stop(d);
}

/* ---- node id ---- */

static char *
node_id_new(const struct daemon_config *cfg, char *err, size_t errlen)
{
	char hex[33];

	if (cfg->node_id && *cfg->node_id) {
		if (!ic_valid_node_id(cfg->node_id)) {
			snprintf(err, errlen, "node_id \"%s\" is not valid (1-%d printable characters)",
				 cfg->node_id, IC_NODE_ID_MAX);
			return NULL;
		}
		return xstrdup(cfg->node_id);
	}
	if (sdn_machine_app_specific(MACHINE_ID_PATH, idleclaw_app_id, hex) < 0) {
		snprintf(err, errlen, "cannot derive a node id from %s (%s); "
			 "set node_id in the configuration", MACHINE_ID_PATH, strerror(errno));
		return NULL;
	}
	return xasprintf("ic-%s", hex);
}

/* ---- reload ---- */

/* The link sets up TLS only for an https server (it costs RSS). */
static bool
needs_tls(const struct daemon_config *cfg)
{
	return strncmp(cfg->server, "https:", 6) == 0;
}

/* A new link for a server that needs (or no longer needs) TLS, or a
 * different CA file. */
static int
replace_link(struct daemon *d, const struct daemon_config *nc, char *err, size_t errlen)
{
	struct link *nl = link_new(d->base, &node_link_callbacks, d->node, needs_tls(nc),
				   nc->ca_file, err, errlen);

	if (!nl)
		return -1;
	relay_cancel_all(d);
	commands_stop(d);
	consume_stop_all(d);
	link_free(d->link);
	d->link = nl;
	return 0;
}

static void
apply_log_level(const struct daemon_config *cfg)
{
	ic_log_set_level((enum ic_log_level)cfg->log_level);
}

static bool
str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Free replaced Ollama clients whose requests have all ended. */
static void
retire_idle_ollamas(void)
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

int
daemon_reload(struct daemon *d, char **errors)
{
	struct daemon_config *nc, *old = d->cfg;
	char err[IC_ERRBUF_MAX];
	struct ollama *no = NULL;
	char *nid;
	bool server_changed, id_changed, models_changed;
	struct link *link_before = d->link;
	int old_max = old->max_concurrent;

	sdn_notify("RELOADING=1");
	*errors = NULL;
	nc = dconfig_load_new(d->config_path, d->overrides, errors);
	if (!nc)
		goto fail;
	nid = node_id_new(nc, err, sizeof(err));
	if (!nid) {
		*errors = xstrdup(err);
		dconfig_free(nc);
		goto fail;
	}
	retire_idle_ollamas();
	if (!str_eq(nc->ollama_host, old->ollama_host) ||
	    nc->ollama_timeout != old->ollama_timeout) {
		no = ollama_new(d->base, nc->ollama_host, nc->ollama_timeout, err, sizeof(err));
		if (!no || n_old_ollama == sizeof(old_ollama) / sizeof(old_ollama[0])) {
			*errors = xstrdup(no ? "ollama_host changed too often while requests "
					  "were running; try again later" : err);
			ollama_free(no);
			free(nid);
			dconfig_free(nc);
			goto fail;
		}
	}
	/* everything is valid: swap */
	server_changed = !str_eq(nc->server, old->server);
	id_changed = strcmp(nid, d->node_id) != 0;
	models_changed = !str_eq(nc->models_allow, old->models_allow) ||
			 !str_eq(nc->models_deny, old->models_deny) || no != NULL;
	if ((needs_tls(nc) != needs_tls(old) || !str_eq(nc->ca_file, old->ca_file)) &&
	    replace_link(d, nc, err, sizeof(err)) < 0) {
		*errors = xstrdup(err);
		if (no)
			ollama_free(no);
		free(nid);
		dconfig_free(nc);
		goto fail;
	}
	if (!str_eq(nc->control_socket, old->control_socket) ||
	    !str_eq(nc->control_group, old->control_group))
		log_warn("control_socket and control_group changes take effect at the next start");
	if (no) {
		old_ollama[n_old_ollama++] = d->ollama;
		d->ollama = no;
	}
	free(d->node_id);
	d->node_id = nid;
	d->cfg = nc;
	dconfig_free(old);
	control_set_idle_timeout(d->ctl, nc->control_idle_timeout);
	apply_log_level(nc);
	log_notice("configuration reloaded");
	if (server_changed || id_changed || d->link != link_before)
		node_restart(d->node);
	else if (nc->max_concurrent != old_max)
		node_reregister(d->node);	/* the router learns it at registration */
	if (models_changed)
		models_refresh(d->models);
	sdn_notify("READY=1");
	daemon_changed(d, false);
	return 0;
fail:
	log_err("reload failed; keeping the running configuration:\n%s",
		*errors ? *errors : "unknown error");
	sdn_notify("READY=1");
	return -1;
}

/* ---- signals, timers ---- */

static void
finish_stop(struct daemon *d)
{
	/* the link flushes queued frames and closes; node.c ends the loop
	 * when the close is done, this is the bound */
	struct timeval tv = { 2, 0 };
	static bool done;

	if (done)
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

static void
drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	log_warn("drain timeout: %zu request%s still in flight are dropped",
		 daemon_in_flight(d), daemon_in_flight(d) == 1 ? "" : "s");
	relay_fail_all(d);
	finish_stop(d);
}

static void
start_stop(struct daemon *d)
{
	struct timeval tv = { d->cfg->drain_timeout, 0 };
	bool changed;

	if (d->stopping) {	/* a second signal: do not wait any longer */
		finish_stop(d);
		return;
	}
	d->stopping = true;
	sdn_notify("STOPPING=1");
	changed = avail_set(&d->avail, AVAIL_DRAINING, true);
	commands_stop(d);
	consume_stop_all(d);
	if (daemon_in_flight(d)) {
		log_notice("draining %zu request%s (up to %d s)", daemon_in_flight(d),
			   daemon_in_flight(d) == 1 ? "" : "s", d->cfg->drain_timeout);
		d->drain_timer = evtimer_new(d->base, drain_timeout_cb, d);
		evtimer_add(d->drain_timer, &tv);
	}
	daemon_changed(d, changed);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
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

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	if (avail_tick(&d->avail, time(NULL))) {
		log_notice("pause ended");
		daemon_changed(d, true);
	}
}

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	sdn_notify("WATCHDOG=1");
}

static void
on_client_gone(void *daemon, uint64_t client_id)
{
	consume_client_gone(daemon, client_id);
}

/* ---- start-up ---- */

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: idleclawd [--foreground] [--config PATH] [--check-config]\n"
		"                 [-o section.key=value]...\n"
		"  -f, --foreground     stay in the foreground (always; for scripts)\n"
		"  -c, --config PATH    configuration file (default %s)\n"
		"  -t, --check-config   print the effective configuration and exit\n"
		"  -o, --set S.K=V      override a configuration key\n"
		"  -V, --version        print the version\n"
		"  -h, --help           this text\n", DCONFIG_DEFAULT_PATH);
}

struct options {
	const char *config;
	bool check;
	const char *overrides[OVERRIDES_MAX + 1];
	size_t n_overrides;
};

static int
parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 't' },
		{ "set", required_argument, NULL, 'o' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->config = DCONFIG_DEFAULT_PATH;
	while ((c = getopt_long(argc, argv, "fc:to:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			break;
		case 'c':
			o->config = optarg;
			break;
		case 't':
			o->check = true;
			break;
		case 'o':
			if (o->n_overrides == OVERRIDES_MAX) {
				fprintf(stderr, "idleclawd: at most %d -o options\n", OVERRIDES_MAX);
				return 2;
			}
			o->overrides[o->n_overrides++] = optarg;
			break;
		case 'V':
			printf("idleclawd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "idleclawd: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

static int
start_control(struct daemon *d, char *err, size_t errlen)
{
	struct control_config cc;
	int n = sdn_listen_fds();

	memset(&cc, 0, sizeof(cc));
	cc.path = d->cfg->control_socket;
	cc.listen_fd = n >= 1 ? SDN_LISTEN_FDS_START : -1;
	cc.group = d->cfg->control_group;
	cc.commands = daemon_commands;
	cc.n_commands = daemon_n_commands;
	cc.daemon = d;
	cc.on_disconnect = on_client_gone;
	cc.idle_timeout_s = d->cfg->control_idle_timeout;
	if (n > 1)
		log_warn("got %d sockets from systemd; using the first", n);
	d->ctl = control_new(d->base, &cc, err, errlen);
	return d->ctl ? 0 : -1;
}

static void
start_timers(struct daemon *d)
{
	struct timeval one = { 1, 0 };
	uint64_t usec = 0;

	ev_term = evsignal_new(d->base, SIGTERM, signal_cb, d);
	ev_int = evsignal_new(d->base, SIGINT, signal_cb, d);
	ev_hup = evsignal_new(d->base, SIGHUP, signal_cb, d);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_hup, NULL);
	ev_tick = event_new(d->base, -1, EV_PERSIST, tick_cb, d);
	evtimer_add(ev_tick, &one);
	if (sdn_watchdog_enabled(&usec)) {
		struct timeval tv = { (time_t)(usec / 2 / 1000000), (suseconds_t)(usec / 2 % 1000000) };

		ev_watchdog = event_new(d->base, -1, EV_PERSIST, watchdog_cb, d);
		evtimer_add(ev_watchdog, &tv);
		sdn_notify("WATCHDOG=1");
	}
}

static void
cleanup(struct daemon *d)
{
	size_t i;

	if (d->node)
		node_stop(d->node);
	relay_cancel_all(d);
	commands_stop(d);
	consume_stop_all(d);
	link_free(d->link);	/* no link callback after this */
	control_free(d->ctl);
	models_free(d->models);
	node_free(d->node);
	ollama_free(d->ollama);
	for (i = 0; i < n_old_ollama; i++)
		ollama_free(old_ollama[i]);
	if (d->drain_timer)
		event_free(d->drain_timer);
	if (ev_watchdog)
		event_free(ev_watchdog);
	if (ev_tick) {
		event_free(ev_tick);
		event_free(ev_term);
		event_free(ev_int);
		event_free(ev_hup);
	}
	event_base_free(d->base);
	free(d->node_id);
	dconfig_free(d->cfg);
	free(status_line);
}

int
main(int argc, char **argv)
{
	struct options opt;
	struct daemon d;
	char err[IC_ERRBUF_MAX];
	char *errors = NULL;
	int rc;

	memset(&opt, 0, sizeof(opt));
	memset(&d, 0, sizeof(d));
	/* one malloc arena: the link thread moves little memory, and a second
	 * arena would cost idle RSS for nothing */
	mallopt(M_ARENA_MAX, 1);
	ic_log_init("idleclawd");
	if ((rc = parse_args(argc, argv, &opt)) >= 0)
		return rc;
	d.config_path = opt.config;
	d.overrides = opt.overrides;
	d.cfg = dconfig_load_new(opt.config, opt.overrides, &errors);
	if (!d.cfg) {
		fprintf(stderr, "idleclawd: configuration not valid:\n%s\n", errors ? errors : "");
		free(errors);
		return 1;
	}
	d.node_id = node_id_new(d.cfg, err, sizeof(err));
	if (opt.check) {
		ic_config_print(&dconfig_schema, d.cfg, stdout);
		if (d.node_id)
			printf("# effective node_id: %s\n", d.node_id);
		else
			fprintf(stderr, "idleclawd: %s\n", err);
		rc = d.node_id ? 0 : 1;
		free(d.node_id);
		dconfig_free(d.cfg);
		return rc;
	}
	if (!d.node_id) {
		log_err("%s", err);
		dconfig_free(d.cfg);
		return 1;
	}
	apply_log_level(d.cfg);
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();	/* before the base: the link thread wakes it */
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
		return 1;
	}
	d.node = node_new(&d);
	d.models = models_new(&d);
	d.link = link_new(d.base, &node_link_callbacks, d.node, needs_tls(d.cfg), d.cfg->ca_file,
			  err, sizeof(err));
	if (!d.link || start_control(&d, err, sizeof(err)) < 0) {
		log_err("%s", err);
		cleanup(&d);
		return 1;
	}
	start_timers(&d);
	avail_set(&d.avail, AVAIL_NO_MODELS, true);	/* until Ollama answers */
	log_notice("idleclawd %s starting: node %s, router %s, Ollama %s", PACKAGE_VERSION,
		   d.node_id, d.cfg->server, ollama_url(d.ollama));
	models_refresh(d.models);
	sdn_notify("READY=1");
	notify_status(&d);
	event_base_dispatch(d.base);
	cleanup(&d);
	log_notice("stopped");
	return 0;
}
