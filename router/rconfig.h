/* SPDX-License-Identifier: AGPL-3.0-or-later */
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
	char *listen;	       /* "ADDR:PORT" */
	char *trusted_proxies; /* comma-separated addresses */
	int log_level;
	bool metrics; /* serve GET /metrics */
	int register_timeout;
	int heartbeat_timeout;
	int chunk_timeout;
	int queue_wait;
	int queue_max; /* waiting consumers per model */
	int shutdown_grace;
	int ping_interval; /* SSE ": ping" */
	int rate_chat;	   /* per minute per IP */
	int rate_upgrade;
	int rate_other;
	int streams_per_ip;
	int body_timeout;  /* a whole request body, from the headers */
	int bodies_per_ip; /* bodies still arriving per IP */
	int bodies_max;	   /* bodies still arriving in all */
	int nodes_per_ip;
	int max_nodes;
	int stream_buffer;   /* bytes of SSE held per stream */
	int max_reply_chars; /* content characters of one reply; 0 = no bound */
	int reply_timeout;   /* seconds from the request to the reply's end; 0 = none */
	int failover_attempts;
	char *refuse_patterns;	/* policy.h; NULL = refuse nothing */
	char *admin_token_file; /* NULL = no /admin/nodes */
	char *metrics_allow;	/* NULL = /metrics for everyone */
	char *web_root;		/* the web chat's files (static.h); NULL = none */
	/* [trust]: reputation in points of 0..100 (trust.h) */
	int trust_start;
	int trust_error_penalty;
	int trust_probe_reward;
	int trust_probe_penalty;
	int trust_flag_penalty;
	int trust_min_reputation;
	int trust_weight_load;
	int trust_weight_reputation;
	int trust_probe_interval; /* seconds, mean per node; 0 = no probes */

	/* seconds between standing messages (standing.h); 0 = none */
	int trust_standing_interval;
	/* prompt policy (prompt.c) */
	char *system_prompt;   /* NULL: ROUTER_SYSTEM_PROMPT_DEFAULT */
	char *thinking_models; /* shell patterns (prompt_name_matches()) */
	char *tool_models;     /* NULL: ROUTER_TOOL_MODELS_DEFAULT */
	/* [tools] (tools.c): no searxng_url, no tools */
	char *searxng_url;
	int tool_timeout;	/* seconds per call */
	int tool_calls_max;	/* per node per tool_calls_window */
	int tool_calls_window;	/* seconds */
	char *cluster_url;	/* [cluster] url: "" = a single router */
	char *cluster_instance; /* [cluster] instance: "" = HOST:PORT */
};

/* The built-in defaults of unset keys (their texts hold commas, which the
 * man page's key list cannot show as one default). */
#define ROUTER_SYSTEM_PROMPT_DEFAULT                                                   \
	"You are a helpful assistant running on IdleClaw, a community platform where " \
	"people share their computers' idle time to run open language models."
#define ROUTER_THINKING_MODELS_DEFAULT "*qwen3*"
#define ROUTER_TOOL_MODELS_DEFAULT                                                   \
	"*qwen3*,*llama3.1*,*llama3.2*,*llama3.3*,*mistral*,*ministral*,*granite4*," \
	"*devstral*,*gpt-oss*,*qwen3.5*,*functiongemma*"
#define ROUTER_TOOL_WINDOW_S 60
/* $(datadir)/idleclaw/web, from router/local.mk */
#ifndef ROUTER_WEB_ROOT_DEFAULT
#define ROUTER_WEB_ROOT_DEFAULT "/usr/share/idleclaw/web"
#endif

extern const struct ic_config_schema router_config_schema;

/* The error of an admin_token_file whose mode lets group or others read or
 * write it (mode & 077), a NEW string; NULL if the mode is private.  The
 * schema's check refuses such a file at load and reload; admin.c checks
 * the file it opens again. */
char *router_token_mode_error_new(const char *path, unsigned mode);

#endif
