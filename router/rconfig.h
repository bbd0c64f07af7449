/*
 * rconfig.h - the [router] section of idleclaw.conf.
 *
 * One table (rconfig.c) drives parsing, --check-config output and the key
 * list in man/idleclaw-routerd.8.  Times are in seconds.
 */
#ifndef IC_ROUTER_CONFIG_H
#define IC_ROUTER_CONFIG_H

#include <stdbool.h>

#include "common/config.h"

struct router_config {
	char *listen;			/* "ADDR:PORT" */
	char *trusted_proxies;		/* comma-separated addresses */
	int log_level;
	bool metrics;			/* serve GET /metrics */
	int register_timeout;
	int heartbeat_timeout;
	int chunk_timeout;
	int queue_wait;
	int queue_max;			/* waiting consumers per model */
	int shutdown_grace;
	int ping_interval;		/* SSE ": ping" */
	int rate_chat;			/* per minute per IP */
	int rate_upgrade;
	int rate_other;
	int streams_per_ip;
	int nodes_per_ip;
	int max_nodes;
	int stream_buffer;		/* bytes of SSE held per stream */
	int failover_attempts;
	char *cluster_url;		/* [cluster] url: "" = a single router */
	char *cluster_instance;		/* [cluster] instance: "" = HOST:PORT */
};

extern const struct ic_config_schema router_config_schema;

#endif
