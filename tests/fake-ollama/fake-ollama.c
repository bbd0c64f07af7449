/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * fake-ollama.c - main(): flags, the listening socket, signals, the loop.
 *
 * A stand-in for Ollama for integration tests and benchmarks; see
 * docs/fake-ollama.md and `fake-ollama --help`.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/http.h>

#include "fake-ollama.h"
#include "limits.h"
#include "log.h"

/* Seconds a connection may stay silent; long, so --fault hang stays hung. */
#define CONNECTION_TIMEOUT_S 3600

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct fo_server *srv = arg;

	log_info("signal %d: exiting", (int)sig);
	srv->stopping = true;
	event_base_loopbreak(srv->base);
}

static int bound_port(struct evhttp_bound_socket *bound)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	evutil_socket_t fd = evhttp_bound_socket_get_fd(bound);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static struct event_base *base_new(void)
{
	struct event_config *ecfg = event_config_new();
	struct event_base *base;

	/* microsecond timers, for --delay-us */
	event_config_set_flag(ecfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	base = event_base_new_with_config(ecfg);
	event_config_free(ecfg);
	return base;
}

static int listen_http(struct fo_server *srv)
{
	struct fo_config *cfg = srv->cfg;
	struct evhttp_bound_socket *bound;
	int port;

	srv->http = evhttp_new(srv->base);
	evhttp_set_max_body_size(srv->http, FO_BODY_MAX);
	evhttp_set_timeout(srv->http, CONNECTION_TIMEOUT_S);
	evhttp_set_allowed_methods(srv->http,
		EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
			EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(srv->http, fo_api_handle, srv);
	bound = evhttp_bind_socket_with_handle(srv->http, cfg->host, (ev_uint16_t)cfg->port);
	if (bound == NULL) {
		log_err("cannot listen on %s:%d (address in use, or a bad host?)", cfg->host,
			cfg->port);
		return -1;
	}
	port = bound_port(bound);
	printf("PORT=%d\n", port);
	fflush(stdout);
	log_info("listening on %s:%d, %zu models, fault %s", cfg->host, port, cfg->nmodels,
		fo_fault_name(cfg->fault));
	return 0;
}

static int run(struct fo_config *cfg)
{
	struct fo_server srv = { .cfg = cfg };
	struct event *sigterm, *sigint;
	int rc = 0;

	TAILQ_INIT(&srv.chats);
	TAILQ_INIT(&srv.delayed);
	if ((srv.base = base_new()) == NULL) {
		log_err("cannot create the event loop");
		return 1;
	}
	sigterm = evsignal_new(srv.base, SIGTERM, on_signal, &srv);
	sigint = evsignal_new(srv.base, SIGINT, on_signal, &srv);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	if (listen_http(&srv) < 0)
		rc = 1;
	else
		event_base_dispatch(srv.base);
	srv.stopping = true;
	/* closes every connection, which runs its chat's close callback */
	if (srv.http != NULL)
		evhttp_free(srv.http);
	fo_chat_free_all(&srv);
	fo_api_free_delayed(&srv);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(srv.base);
	return rc;
}

int main(int argc, char **argv)
{
	struct fo_config cfg;
	char err[IC_ERRBUF_MAX];
	int rc;

	ic_log_init("fake-ollama");
	signal(SIGPIPE, SIG_IGN);
	rc = fo_options_parse(&cfg, argc, argv, err, sizeof(err));
	if (rc != 0) {
		if (rc < 0)
			log_err("%s", err);
		fo_config_free(&cfg);
		return rc < 0 ? 2 : 0;
	}
	if (cfg.record_path != NULL && fo_record_open(cfg.record_path, err, sizeof(err)) < 0) {
		log_err("%s", err);
		fo_config_free(&cfg);
		return 1;
	}
	rc = run(&cfg);
	fo_record_close();
	fo_config_free(&cfg);
	libevent_global_shutdown();
	return rc;
}
