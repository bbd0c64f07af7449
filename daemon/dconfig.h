/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * dconfig.h - idleclawd's configuration: one struct and the table of keys
 * that common/config.h's loader fills it from.
 *
 * The same table drives --check-config output and the key list of
 * idleclaw.conf(5).  A struct is loaded whole and swapped in only when all
 * of it is valid (start-up and SIGHUP alike).
 */
#ifndef IC_DAEMON_DCONFIG_H
#define IC_DAEMON_DCONFIG_H

#include <stdbool.h>

#include "common/config.h"
#include "daemon/idle.h"
#include "daemon/schedule.h"

/* Bounds of keys that are ours (not network limits). */
#define DCONFIG_REFRESH_MIN_S 1
#define DCONFIG_REFRESH_MAX_S 86400
#define DCONFIG_HEARTBEAT_MIN_S 1  /* tests use 1 s; the network expects 15 */
#define DCONFIG_HEARTBEAT_MAX_S 30 /* the router drops nodes silent for 45 s */
#define DCONFIG_DRAIN_MAX_S 3600
#define DCONFIG_TIMEOUT_MAX_S 3600
#define DCONFIG_IDLE_INTERVAL_MAX_S 3600
#define DCONFIG_IDLE_TIME_MAX_S 86400
#define DCONFIG_BUSY_GRACE_MAX_S 3600
#define DCONFIG_GW_STREAMS_DEFAULT 4
#define DCONFIG_GW_STREAMS_MAX 16 /* = CONSUME_CHATS_MAX: the consume path's own bound */

/* max_request_time */
#define DCONFIG_REQUEST_TIME_DEFAULT_S 300

struct daemon_config {
	char *server;	   /* router base URL (http/https) */
	char *ollama_host; /* OLLAMA_HOST syntax */
	char *node_id;	   /* empty: derived from the machine id */
	int max_concurrent;
	int model_refresh;  /* seconds between /api/tags reads */
	char *models_allow; /* comma/space separated fnmatch patterns; empty = all */
	char *models_deny;
	char *control_socket;
	char *control_group;
	int control_idle_timeout; /* seconds; 0 = never */
	int log_level;
	bool log_content;
	int drain_timeout; /* seconds SIGTERM waits for in-flight requests */
	int heartbeat_interval;
	int reconnect_min;  /* seconds, first backoff ceiling */
	int reconnect_max;  /* seconds, backoff cap */
	int ollama_timeout; /* seconds of silence from Ollama before giving up */
	int router_timeout; /* seconds of silence on a consume request */
	int chat_timeout;   /* seconds a consume chat may take in all */
	char *ca_file;	    /* extra CA bundle for https/wss; empty = system */

	/* limits on one inference request (daemon/request-limits.h) */
	int max_predict;      /* ceiling of options.num_predict; 0 none */
	int max_ctx;	      /* ceiling of options.num_ctx; 0 none */
	int max_request_time; /* seconds an inference request may take */
	/* [idle]: see daemon/idle-watch.c and docs/idle.md */
	char *idle_mode;	   /* auto, always, never: parsed into idle.mode */
	int idle_interval;	   /* seconds between samples */
	char *idle_on_battery;	   /* pause, run: parsed into idle.run_on_battery */
	char *idle_on_busy;	   /* finish, cancel: parsed into idle.on_busy */
	char *own_processes;	   /* comm patterns whose load is ours */
	char *exclusive_processes; /* comm patterns that make the machine busy */
	char *proc_root, *sys_root, *dev_root;
	char *nvml_library;
	bool idle_logind;	 /* ask logind for IdleHint */
	struct idle_params idle; /* the policy's parameters */

	/* [idle] schedule and gpus */
	char *schedule_text;	  /* as written */
	struct schedule schedule; /* parsed from it by the check */
	char *gpus;		  /* PCI bus id patterns of the GPUs that count */
	/* [gateway]: the local Ollama/OpenAI endpoint (daemon/gateway.h) */
	char *gateway_listen;	    /* host:port; empty = off */
	bool gateway_allow_remote;  /* a non-loopback listen address is allowed */
	int gateway_max_streams;    /* chats at once through the gateway */
	char *gateway_cors_origins; /* origins allowed cross-origin; empty = none */

	/* [gateway] connections (daemon/gateway-conn.h) */
	int gateway_max_conns;	     /* at once */
	int gateway_conns_per_ip;    /* of those from one address, with allow_remote */
	int gateway_request_timeout; /* seconds for a request's headers and body */
	/* Ollama as it is (daemon/ollama-request.h, daemon/unload.h) */
	char *keep_alive;  /* [daemon] keep_alive: sent instead of the request's */
	char *idle_unload; /* [idle] unload: lent, never: parsed into unload_lent */
	bool unload_lent;  /* unload what lending loaded when lending stops */
};

extern const struct ic_config_schema dconfig_schema;

/* Default main config file. */
#define DCONFIG_DEFAULT_PATH SYSCONFDIR "/idleclaw.conf"

/* Load a NEW config (see ic_config_load_new); errors as there. */
struct daemon_config *dconfig_load_new(
	const char *path, const char *const *overrides, char **errors);
void dconfig_free(struct daemon_config *cfg);

#endif
