/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * idleclaw-routerd - the IdleClaw routing server.
 *
 * main(): the command line (common/cmdline.h), configuration and its reload
 * (common/startup.h), the libuv loop and the lws context on it, signals,
 * sd_notify, and the drain on SIGTERM.  Everything else runs in lws
 * callbacks on this one thread (see router.h); what it keeps is in the
 * struct router main() makes, made and freed by router_init() and
 * router_fini().
 *
 * The loop is libuv's (epoll), owned here and lent to lws as a "foreign"
 * loop: lws's own poll() loop walks every socket on every wake-up, which
 * costs more than the traffic itself with thousands of nodes connected.
 * Signals come to the loop as a signalfd: they are blocked before any
 * thread starts, so no handler ever runs on another thread (libnats's).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "common/addr.h"
#include "common/cmdline.h"
#include "common/log.h"
#include "common/startup.h"
#include "cluster.h"
#include "nodes.h"
#include "router.h"
#include "server.h"

int64_t router_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		log_warn("lws: %.*s", (int)n, line);
	else
		log_debug("lws: %.*s", (int)n, line);
}

static void notify_status(struct router *r)
{
	sd_notifyf(0, "STATUS=%lu nodes, %d requests%s", nodes_count(r), r->requests_active,
		r->draining ? ", draining" : "");
}

static void status_tick(lws_sorted_usec_list_t *sul)
{
	struct router *r = lws_container_of(sul, struct router, status_sul);

	notify_status(r);
	lws_sul_schedule(r->ctx, 0, sul, status_tick,
		(lws_usec_t)ROUTER_STATUS_INTERVAL_S * LWS_USEC_PER_SEC);
}

static void watchdog_tick(lws_sorted_usec_list_t *sul)
{
	struct router *r = lws_container_of(sul, struct router, watchdog_sul);

	sd_notify(0, "WATCHDOG=1");
	lws_sul_schedule(r->ctx, 0, sul, watchdog_tick, (lws_usec_t)(r->watchdog_us / 2));
}

/* Drain: wait for open chats (up to the grace), close nodes 1001, stop
 * the loop. */
static void drain_tick(lws_sorted_usec_list_t *sul)
{
	struct router *r = lws_container_of(sul, struct router, drain_sul);
	int64_t now = router_now_us();

	if (!r->nodes_closed && (r->requests_active == 0 || now >= r->drain_deadline_us)) {
		log_notice("closing %lu nodes (%d requests still open)", nodes_count(r),
			r->requests_active);
		nodes_close_all(r, 1001, "server shutting down");
		r->nodes_closed = true;
		r->drain_deadline_us = now + ROUTER_CLOSE_GRACE_MS * 1000;
	} else if (r->nodes_closed && (nodes_count(r) == 0 || now >= r->drain_deadline_us)) {
		lws_sul_cancel(&r->status_sul);
		lws_sul_cancel(&r->watchdog_sul);
		uv_stop(r->loop);
		return;
	}
	lws_sul_schedule(r->ctx, 0, sul, drain_tick, 50 * 1000);
}

static void begin_drain(struct router *r)
{
	if (r->draining)
		return;
	r->draining = true;
	sd_notify(0, "STOPPING=1");
	log_notice("SIGTERM: draining %d open requests (up to %d s)", r->requests_active,
		r->cfg->shutdown_grace);
	notify_status(r);
	r->drain_deadline_us = router_now_us() + (int64_t)r->cfg->shutdown_grace * 1000000;
	drain_tick(&r->drain_sul);
}

static void reload_notify(const char *state)
{
	sd_notify(0, state);
}

/* ic_reload_ops.swap: limits and timeouts apply from the next request or
 * timer on. */
static void *reload_swap(void *program, void *cfg)
{
	struct router *r = program;
	struct router_config *old = router_set_config(r, cfg);

	ic_log_set_level((enum ic_log_level)r->cfg->log_level);
	return old;
}

/* SIGHUP: see common/startup.h; listen is marked as needing a restart. */
static void reload(struct router *r)
{
	static const struct ic_reload_ops ops = {
		.schema = &router_config_schema,
		.notify = reload_notify,
		.swap = reload_swap,
	};
	char *errors = NULL;

	ic_reload(&ops, r, r->cmdline->config_path, (const char *const *)r->cmdline->overrides,
		&errors);
	free(errors);
}

/* The signals serve() takes: blocked from before the first thread on (they
 * inherit the mask), and read from a signalfd on the loop. */
static void signals_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

static void on_signals(uv_poll_t *h, int status, int events)
{
	struct router *r = h->data;
	struct signalfd_siginfo si;

	(void)status;
	(void)events;
	while (read(r->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			r->got_hup = true;
		else
			r->got_term = true;
	}
	/* handled in lws's callback (router_wakeup()): lws 4.1 arms the
	 * timers the drain sets only from its own callbacks */
	lws_cancel_service(r->ctx);
}

void router_wakeup(struct router *r)
{
	cluster_service(r->cluster);
	if (r->got_term)
		begin_drain(r);
	if (r->got_hup) {
		r->got_hup = false;
		reload(r);
	}
}

/* One that came during the start is pending: it is read at the first turn. */
static int signals_start(struct router *r, const sigset_t *set)
{
	r->signal_fd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (r->signal_fd < 0 || uv_poll_init(r->loop, &r->signal_poll, r->signal_fd) != 0) {
		log_err("cannot take signals: %s", strerror(errno));
		if (r->signal_fd >= 0)
			close(r->signal_fd);
		r->signal_fd = -1;
		return -1;
	}
	r->signal_poll.data = r;
	uv_poll_start(&r->signal_poll, UV_READABLE, on_signals);
	return 0;
}

static void signals_stop(struct router *r)
{
	if (r->signal_fd < 0)
		return;
	uv_close((uv_handle_t *)&r->signal_poll, NULL);
	close(r->signal_fd);
	r->signal_fd = -1;
}

/* "ADDR:PORT", "[V6]:PORT" or ":PORT" -> host (empty = any) and port. */
static int parse_listen(const char *s, char *host, size_t hostlen, int *port)
{
	struct ic_hostport hp;

	if (ic_hostport_split(s, strlen(s), IC_HP_LAST_COLON, &hp) != IC_HP_OK || !hp.port ||
		hp.host_len >= hostlen)
		return -1;
	*port = ic_port_parse(hp.port, hp.port_len);
	if (*port < 0)
		return -1;
	memcpy(host, hp.host, hp.host_len);
	host[hp.host_len] = '\0';
	return 0;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static struct lws_context *context_new(char *host, int port, struct router *r, uv_loop_t *loop)
{
	void *loops[1] = { loop };
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof(info));
	info.port = port;
	info.iface = host[0] ? host : NULL;
	info.protocols = server_protocols;
	info.vhost_name = "idleclaw-routerd";
	/* lws would otherwise spin on SIGSEGV waiting for a debugger */
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_LIBUV |
		LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN;
	info.foreign_loops = loops;
	if (host[0] && !strchr(host, ':'))
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.max_http_header_data = 4096;
	info.max_http_header_pool = 4096;
	info.timeout_secs = 20;
	info.keepalive_timeout = 30;
	info.server_string = "idleclaw-routerd";
	info.user = r;
	return lws_create_context(&info);
}

static void close_handle(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* After lws_context_destroy(): lws closes its libuv handles (sockets, the
 * timer, the cancel pipe) asynchronously, so run the loop until they are
 * closed.  A handle left open would be a bug in lws or here: say so, close
 * it, and still free the loop. */
static void loop_close(uv_loop_t *loop)
{
	uv_run(loop, UV_RUN_DEFAULT);
	if (uv_loop_close(loop) == 0)
		return;
	log_warn("event loop: handles still open after the context closed");
	uv_walk(loop, close_handle, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
}

static const struct ic_cmdline_option routerd_options[] = {
	{ .long_name = "listen",
		.short_name = 'l',
		.arg_name = "ADDR:PORT",
		.sets = "router.listen",
		.help = "address to serve on (router.listen)" },
};

static const struct ic_cmdline_spec routerd_cmdline = {
	.program = "idleclaw-routerd",
	.summary = "The IdleClaw routing server: nodes connect to /ws/node, consumers POST "
		   "/api/chat.",
	.default_config = SYSCONFDIR "/idleclaw.conf",
	.extra = routerd_options,
	.n_extra = sizeof(routerd_options) / sizeof(routerd_options[0]),
};

static int serve(struct router *r)
{
	uv_loop_t loop;
	char host[128], *err = NULL;
	sigset_t set;
	int port, rc;

	if (parse_listen(r->cfg->listen, host, sizeof(host), &port) < 0) {
		log_err("router.listen: '%s' is not ADDR:PORT", r->cfg->listen);
		return 1;
	}
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	lws_set_log_level(
		LLL_ERR | (ic_log_get_level() >= IC_LOG_DEBUG ? LLL_WARN : 0), lws_log_emit);
	/* before the port opens and any thread starts: a SIGTERM from then on
	 * drains */
	signals_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	r->signal_fd = -1;
	if (uv_loop_init(&loop) != 0) {
		log_err("cannot start the event loop");
		return 1;
	}
	r->ctx = context_new(host, port, r, &loop);
	if (!r->ctx) {
		log_err("cannot listen on %s (in use, not an address of this host, or the "
			"libwebsockets-evlib-uv plugin missing?)",
			r->cfg->listen);
		loop_close(&loop);
		return 1;
	}
	r->loop = &loop;
	if (router_init(r, r->ctx, &loop, port, &err) < 0) {
		log_err("%s", err);
		free(err);
		loop_close(&loop);
		return 1;
	}
	rc = signals_start(r, &set) < 0;
	if (rc == 0) {
		log_notice("listening on %s", r->cfg->listen);
		sd_notify(0, "READY=1");
		status_tick(&r->status_sul);
		if (sd_watchdog_enabled(0, &r->watchdog_us) > 0 && r->watchdog_us > 0)
			watchdog_tick(&r->watchdog_sul);
		/* the drain's end stops the loop */
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	signals_stop(r);
	lws_sul_cancel(&r->status_sul);
	lws_sul_cancel(&r->watchdog_sul);
	lws_sul_cancel(&r->drain_sul);
	router_fini(r);
	loop_close(&loop);
	if (rc == 0)
		log_notice("stopped");
	return rc;
}

int main(int argc, char **argv)
{
	struct router router = { 0 };
	struct ic_cmdline cmdline;
	int rc;

	ic_log_init(argv[0]);
	rc = ic_cmdline_parse(&routerd_cmdline, argc, argv, &cmdline, stdout, stderr);
	if (rc != IC_CMDLINE_RUN)
		goto out;
	router.cfg = ic_startup_config_new(
		routerd_cmdline.program, &router_config_schema, &cmdline, stderr);
	if (!router.cfg) {
		rc = IC_EXIT_START;
		goto out;
	}
	if (cmdline.check_config) {
		ic_config_print(&router_config_schema, router.cfg, stdout);
		rc = 0;
	} else {
		ic_log_set_level((enum ic_log_level)router.cfg->log_level);
		router.cmdline = &cmdline;
		rc = serve(&router);
	}
	ic_config_free(&router_config_schema, router.cfg);
out:
	ic_cmdline_clear(&cmdline);
	return rc;
}
