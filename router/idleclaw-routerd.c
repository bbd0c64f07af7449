/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * idleclaw-routerd - the IdleClaw routing server.
 *
 * main(): the command line (common/cmdline.h), configuration and its reload
 * (common/startup.h), the libuv loop and the lws context on it, signals,
 * sd_notify, and the drain on SIGTERM.  Everything else runs in lws
 * callbacks on this one thread (see router.h).
 *
 * The loop is libuv's (epoll), owned here and lent to lws as a "foreign"
 * loop: lws's own poll() loop walks every socket on every wake-up, which
 * costs more than the traffic itself with thousands of nodes connected.
 * Signals keep the flag + lws_cancel_service() pattern, so they reach
 * router_wakeup() on the loop thread whatever the loop is.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <uv.h>

#include "common/addr.h"
#include "common/cmdline.h"
#include "common/log.h"
#include "common/startup.h"
#include "nodes.h"
#include "chat-tools.h"
#include "router.h"
#include "server.h"
#include "common/xmalloc.h"
#include "chat.h"
#include "cluster.h"
#include "xchat.h"

/* The one router of this process (a file-level variable for the signal
 * handler; the rest of the router gets it passed). */
static struct router router;
static uv_loop_t loop;
/* Chat output is written once a loop turn: before the loop waits (what
 * timers emitted) and after it handled the sockets (what nodes sent). */
static uv_prepare_t flush_before;
static uv_check_t flush_after;

static volatile sig_atomic_t got_term, got_hup;
static struct ic_cmdline cmdline; /* also what SIGHUP reloads from */
static lws_sorted_usec_list_t status_sul, watchdog_sul, drain_sul;
static int64_t drain_deadline_us;
static bool nodes_closed;
static uint64_t watchdog_us;

int64_t router_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
	if (router.ctx)
		lws_cancel_service(router.ctx);
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

static void notify_status(void)
{
	sd_notifyf(0, "STATUS=%lu nodes, %d requests%s", nodes_count(&router),
		router.requests_active, router.draining ? ", draining" : "");
}

static void status_tick(lws_sorted_usec_list_t *sul)
{
	notify_status();
	lws_sul_schedule(router.ctx, 0, sul, status_tick,
		(lws_usec_t)ROUTER_STATUS_INTERVAL_S * LWS_USEC_PER_SEC);
}

static void watchdog_tick(lws_sorted_usec_list_t *sul)
{
	sd_notify(0, "WATCHDOG=1");
	lws_sul_schedule(router.ctx, 0, sul, watchdog_tick, (lws_usec_t)(watchdog_us / 2));
}

/* Drain: wait for open chats (up to the grace), close nodes 1001, quit. */
static void drain_tick(lws_sorted_usec_list_t *sul)
{
	int64_t now = router_now_us();

	if (!nodes_closed && (router.requests_active == 0 || now >= drain_deadline_us)) {
		log_notice("closing %lu nodes (%d requests still open)", nodes_count(&router),
			router.requests_active);
		nodes_close_all(&router, 1001, "server shutting down");
		nodes_closed = true;
		drain_deadline_us = now + ROUTER_CLOSE_GRACE_MS * 1000;
	} else if (nodes_closed && (nodes_count(&router) == 0 || now >= drain_deadline_us)) {
		router.quit = true;
		lws_sul_cancel(&status_sul);
		lws_sul_cancel(&watchdog_sul);
		uv_stop(&loop);
		return;
	}
	lws_sul_schedule(router.ctx, 0, sul, drain_tick, 50 * 1000);
}

static void begin_drain(void)
{
	if (router.draining)
		return;
	router.draining = true;
	sd_notify(0, "STOPPING=1");
	log_notice("SIGTERM: draining %d open requests (up to %d s)", router.requests_active,
		router.cfg->shutdown_grace);
	notify_status();
	drain_deadline_us = router_now_us() + (int64_t)router.cfg->shutdown_grace * 1000000;
	drain_tick(&drain_sul);
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
static void reload(void)
{
	static const struct ic_reload_ops ops = {
		.schema = &router_config_schema,
		.notify = reload_notify,
		.swap = reload_swap,
	};
	char *errors = NULL;

	ic_reload(&ops, &router, cmdline.config_path, (const char *const *)cmdline.overrides,
		&errors);
	free(errors);
}

void router_wakeup(struct router *r)
{
	(void)r; /* the one in this file */
	cluster_service(router.cluster);
	if (got_term)
		begin_drain();
	if (got_hup) {
		got_hup = 0;
		reload();
	}
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

static struct lws_context *context_new(char *host, int port, struct router *r)
{
	static void *loops[1] = { &loop };
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

static void flush_prepare_cb(uv_prepare_t *h)
{
	(void)h;
	chat_flush_pending(&router);
	xchat_flush(&router);
}

static void flush_check_cb(uv_check_t *h)
{
	(void)h;
	chat_flush_pending(&router);
	xchat_flush(&router);
}

static void flush_start(void)
{
	uv_prepare_init(&loop, &flush_before);
	uv_prepare_start(&flush_before, flush_prepare_cb);
	uv_check_init(&loop, &flush_after);
	uv_check_start(&flush_after, flush_check_cb);
}

/* Before the context goes: its chats go with it, and active handles would
 * keep the loop running for ever. */
static void flush_stop(void)
{
	uv_close((uv_handle_t *)&flush_before, NULL);
	uv_close((uv_handle_t *)&flush_after, NULL);
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
static void loop_close(void)
{
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) == 0)
		return;
	log_warn("event loop: handles still open after the context closed");
	uv_walk(&loop, close_handle, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
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

static int serve(void)
{
	char host[128];
	int port;

	if (parse_listen(router.cfg->listen, host, sizeof(host), &port) < 0) {
		log_err("router.listen: '%s' is not ADDR:PORT", router.cfg->listen);
		return 1;
	}
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	lws_set_log_level(
		LLL_ERR | (ic_log_get_level() >= IC_LOG_DEBUG ? LLL_WARN : 0), lws_log_emit);
	/* before the port opens: a SIGTERM from then on drains */
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	if (uv_loop_init(&loop) != 0) {
		log_err("cannot start the event loop");
		return 1;
	}
	router.ctx = context_new(host, port, &router);
	if (!router.ctx) {
		log_err("cannot listen on %s (in use, not an address of this host, or the "
			"libwebsockets-evlib-uv plugin missing?)",
			router.cfg->listen);
		loop_close();
		return 1;
	}
	router_init(&router, router.ctx);
	flush_start();
	if (router.cfg->cluster_url && router.cfg->cluster_url[0]) {
		char *err = NULL;

		router.xchats = xchats_new(&router);
		router.cluster = cluster_new(
			&router, router.cfg->cluster_url, router.cfg->cluster_instance, port, &err);
		if (!router.cluster) {
			log_err("%s", err);
			free(err);
			flush_stop();
			lws_context_destroy(router.ctx);
			loop_close();
			router.ctx = NULL;
			router_fini(&router);
			xchats_free(router.xchats);
			router.xchats = NULL;
			return 1;
		}
		log_notice("cluster: instance %s, NATS at %s", cluster_instance(router.cluster),
			router.cfg->cluster_url);
	}
	router.tools = toolrun_new(&router);
	log_notice("listening on %s", router.cfg->listen);
	sd_notify(0, "READY=1");
	status_tick(&status_sul);
	if (sd_watchdog_enabled(0, &watchdog_us) > 0 && watchdog_us > 0)
		watchdog_tick(&watchdog_sul);
	/* signals arrive as LWS_CALLBACK_EVENT_WAIT_CANCELLED: router_wakeup();
	 * the drain's end stops the loop.  One that came during the start
	 * found no context to wake: */
	if (got_term || got_hup)
		lws_cancel_service(router.ctx);
	uv_run(&loop, UV_RUN_DEFAULT);
	flush_stop();
	xchat_flush(&router);
	cluster_free(router.cluster); /* its threads wake the context */
	router.cluster = NULL;
	lws_sul_cancel(&status_sul);
	lws_sul_cancel(&watchdog_sul);
	lws_sul_cancel(&drain_sul);
	lws_context_destroy(router.ctx);
	loop_close(); /* lws finishes destroying the context in here */
	router.ctx = NULL;
	toolrun_free(router.tools); /* after the chats, which cancel their searches */
	router.tools = NULL;
	router_fini(&router);
	xchats_free(router.xchats); /* after the chats, which leave their crossings */
	router.xchats = NULL;
	log_notice("stopped");
	return 0;
}

int main(int argc, char **argv)
{
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
		rc = serve();
	}
	ic_config_free(&router_config_schema, router.cfg);
out:
	ic_cmdline_clear(&cmdline);
	return rc;
}
