/*
 * idleclaw-routerd - the IdleClaw routing server.
 *
 * main(): flags, configuration, the lws context, signals, sd_notify, and
 * the drain on SIGTERM.  Everything else runs in lws callbacks on this one
 * thread (see router.h).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "common/log.h"
#include "nodes.h"
#include "router.h"
#include "server.h"
#include "common/xmalloc.h"

#define OVERRIDES_MAX 64

/* The one router of this process (a file-level variable for the signal
 * handler; the rest of the router gets it passed). */
static struct router router;

static volatile sig_atomic_t got_term, got_hup;
static const char *config_path = SYSCONFDIR "/idleclaw.conf";
static const char *overrides[OVERRIDES_MAX];
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

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: idleclaw-routerd [OPTION]...\n"
		"The IdleClaw routing server: nodes connect to /ws/node, consumers POST /api/chat.\n\n"
		"  -c, --config PATH       configuration file (default %s)\n"
		"  -l, --listen ADDR:PORT  address to serve on (router.listen)\n"
		"  -o SECTION.KEY=VALUE    override one configuration key\n"
		"      --check-config      print the effective configuration and exit\n"
		"  -h, --help              this text\n"
		"  -V, --version           print the version\n",
		SYSCONFDIR "/idleclaw.conf");
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
		lws_cancel_service(router.ctx);
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

/*
 * SIGHUP: parse the configuration again and swap it in only if all of it
 * is valid.  Everything but listen takes effect at once (timeouts for the
 * next timer, limits for the next request); a new listen address needs a
 * restart.
 */
static void reload(void)
{
	struct router_config *cfg;
	char *errors = NULL;

	sd_notify(0, "RELOADING=1");
	cfg = ic_config_load_new(&router_config_schema, config_path, overrides, &errors);
	if (!cfg) {
		log_err("reload: configuration not changed:\n%s", errors ? errors : "");
		free(errors);
		sd_notify(0, "READY=1");
		return;
	}
	free(errors);
	if (strcmp(cfg->listen, router.cfg->listen) != 0)
		log_warn("reload: listen changes only with a restart (still %s)",
			 router.cfg->listen);
	router_set_config(&router, cfg);
	ic_log_set_level((enum ic_log_level)cfg->log_level);
	log_notice("configuration reloaded");
	sd_notify(0, "READY=1");
}

void router_wakeup(struct router *r)
{
	(void)r;	/* the one in this file */
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
	const char *colon;
	char *end;
	long p;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= hostlen)
			return -1;
		memcpy(host, s + 1, (size_t)(rb - s - 1));
		host[rb - s - 1] = '\0';
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= hostlen)
			return -1;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
	}
	p = strtol(colon + 1, &end, 10);
	if (*end || p < 1 || p > 65535 || colon[1] == '\0')
		return -1;
	*port = (int)p;
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
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof(info));
	info.port = port;
	info.iface = host[0] ? host : NULL;
	info.protocols = server_protocols;
	info.vhost_name = "idleclaw-routerd";
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
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

static int parse_args(int argc, char **argv, bool *check)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int n = 0, c;

	while ((c = getopt_long(argc, argv, "c:l:o:hV", longopts, NULL)) != -1) {
		if ((c == 'o' || c == 'l') && n >= OVERRIDES_MAX - 1) {
			fprintf(stderr, "idleclaw-routerd: too many -o options\n");
			return 2;
		}
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'l':
			overrides[n++] = xasprintf("router.listen=%s", optarg);
			break;
		case 'o':
			overrides[n++] = xstrdup(optarg);
			break;
		case 'C':
			*check = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("idleclaw-routerd %s\n", IC_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "idleclaw-routerd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return -1;
}

static void free_overrides(void)
{
	for (int i = 0; overrides[i]; i++)
		free((char *)overrides[i]);
}

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
	lws_set_log_level(LLL_ERR | (ic_log_get_level() >= IC_LOG_DEBUG ? LLL_WARN : 0),
			  lws_log_emit);
	router.ctx = context_new(host, port, &router);
	if (!router.ctx) {
		log_err("cannot listen on %s (in use, or not an address of this host?)",
			router.cfg->listen);
		return 1;
	}
	router_init(&router, router.ctx);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	log_notice("listening on %s", router.cfg->listen);
	sd_notify(0, "READY=1");
	status_tick(&status_sul);
	if (sd_watchdog_enabled(0, &watchdog_us) > 0 && watchdog_us > 0)
		watchdog_tick(&watchdog_sul);
	/* signals arrive as LWS_CALLBACK_EVENT_WAIT_CANCELLED: router_wakeup() */
	while (!router.quit) {
		if (lws_service(router.ctx, 0) < 0)
			break;
	}
	lws_sul_cancel(&status_sul);
	lws_sul_cancel(&watchdog_sul);
	lws_sul_cancel(&drain_sul);
	lws_context_destroy(router.ctx);
	router.ctx = NULL;
	router_fini(&router);
	log_notice("stopped");
	return 0;
}

int main(int argc, char **argv)
{
	char *errors = NULL;
	bool check = false;
	int rc;

	ic_log_init(argv[0]);
	rc = parse_args(argc, argv, &check);
	if (rc >= 0) {
		free_overrides();
		return rc;
	}
	router.cfg = ic_config_load_new(&router_config_schema, config_path, overrides, &errors);
	if (!router.cfg) {
		free_overrides();
		fprintf(stderr, "%s", errors ? errors : "configuration error\n");
		if (errors && errors[0] && errors[strlen(errors) - 1] != '\n')
			fputc('\n', stderr);
		free(errors);
		return 1;
	}
	free(errors);
	if (check) {
		ic_config_print(&router_config_schema, router.cfg, stdout);
		ic_config_free(&router_config_schema, router.cfg);
		free_overrides();
		return 0;
	}
	ic_log_set_level((enum ic_log_level)router.cfg->log_level);
	rc = serve();
	ic_config_free(&router_config_schema, router.cfg);
	free_overrides();
	return rc;
}
