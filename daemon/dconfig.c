/*
 * dconfig.c - the table of idleclawd's configuration keys.
 */

#include <stddef.h>

#include "daemon/dconfig.h"
#include "limits.h"
#include "log.h"

#define OFF(f) offsetof(struct daemon_config, f)

static const struct ic_config_key keys[] = {
	{ .section = "daemon", .key = "server", .type = IC_CONFIG_URL, .offset = OFF(server),
	  .def_str = "https://api.idleclaw.com", .env = "IDLECLAW_SERVER",
	  .help = "routing server to contribute to and chat through" },
	{ .section = "daemon", .key = "ollama_host", .type = IC_CONFIG_OLLAMA_HOST,
	  .offset = OFF(ollama_host), .def_str = "http://localhost:11434", .env = "OLLAMA_HOST",
	  .help = "local Ollama (http://host:port, host:port, host or :port)" },
	{ .section = "daemon", .key = "node_id", .type = IC_CONFIG_STRING, .offset = OFF(node_id),
	  .help = "node id; empty derives a stable one from /etc/machine-id" },
	{ .section = "daemon", .key = "max_concurrent", .type = IC_CONFIG_INT,
	  .offset = OFF(max_concurrent), .min = IC_CONCURRENCY_MIN, .max = IC_CONCURRENCY_MAX,
	  .def_int = 1, .help = "inference requests relayed at once" },
	{ .section = "daemon", .key = "model_refresh", .type = IC_CONFIG_INT,
	  .offset = OFF(model_refresh), .min = DCONFIG_REFRESH_MIN_S,
	  .max = DCONFIG_REFRESH_MAX_S, .def_int = IC_MODEL_REFRESH_DEFAULT_S,
	  .help = "seconds between reads of Ollama's model list" },
	{ .section = "daemon", .key = "models_allow", .type = IC_CONFIG_STRING,
	  .offset = OFF(models_allow),
	  .help = "models to share (comma-separated shell patterns); empty shares all" },
	{ .section = "daemon", .key = "models_deny", .type = IC_CONFIG_STRING,
	  .offset = OFF(models_deny),
	  .help = "models never to share (comma-separated shell patterns)" },
	{ .section = "daemon", .key = "control_socket", .type = IC_CONFIG_STRING,
	  .offset = OFF(control_socket), .def_str = RUNSTATEDIR "/idleclaw/idleclawd.sock",
	  .help = "path of the control socket for idleclawctl", .restart = true },
	{ .section = "daemon", .key = "control_group", .type = IC_CONFIG_STRING,
	  .offset = OFF(control_group), .def_str = "idleclaw",
	  .help = "group that may use the control socket", .restart = true },
	{ .section = "daemon", .key = "log_level", .type = IC_CONFIG_LOGLEVEL,
	  .offset = OFF(log_level), .def_int = IC_LOG_INFO,
	  .help = "err, warning, notice, info or debug" },
	{ .section = "daemon", .key = "log_content", .type = IC_CONFIG_BOOL,
	  .offset = OFF(log_content), .def_bool = false,
	  .help = "debug only: write chat content to the log" },
	{ .section = "daemon", .key = "drain_timeout", .type = IC_CONFIG_INT,
	  .offset = OFF(drain_timeout), .min = 0, .max = DCONFIG_DRAIN_MAX_S,
	  .def_int = IC_DRAIN_DEFAULT_S,
	  .help = "seconds in-flight requests may finish after SIGTERM" },
	{ .section = "daemon", .key = "heartbeat_interval", .type = IC_CONFIG_INT,
	  .offset = OFF(heartbeat_interval), .min = DCONFIG_HEARTBEAT_MIN_S,
	  .max = DCONFIG_HEARTBEAT_MAX_S, .def_int = IC_HEARTBEAT_INTERVAL_S,
	  .help = "seconds between heartbeats to the router" },
	{ .section = "daemon", .key = "reconnect_min", .type = IC_CONFIG_INT,
	  .offset = OFF(reconnect_min), .min = 1, .max = IC_RECONNECT_MAX_S,
	  .def_int = IC_RECONNECT_MIN_S, .help = "first reconnect delay ceiling (seconds)" },
	{ .section = "daemon", .key = "reconnect_max", .type = IC_CONFIG_INT,
	  .offset = OFF(reconnect_max), .min = 1, .max = 3600, .def_int = IC_RECONNECT_MAX_S,
	  .help = "longest reconnect delay (seconds)" },
	{ .section = "daemon", .key = "ollama_timeout", .type = IC_CONFIG_INT,
	  .offset = OFF(ollama_timeout), .min = 1, .max = DCONFIG_TIMEOUT_MAX_S, .def_int = 300,
	  .help = "seconds of silence from Ollama before a request fails" },
	{ .section = "daemon", .key = "router_timeout", .type = IC_CONFIG_INT,
	  .offset = OFF(router_timeout), .min = 1, .max = DCONFIG_TIMEOUT_MAX_S, .def_int = 120,
	  .help = "seconds of silence from the router before a chat fails" },
	{ .section = "daemon", .key = "ca_file", .type = IC_CONFIG_STRING, .offset = OFF(ca_file),
	  .help = "extra CA certificate file for https (empty: system CAs)" },
	{ .section = "gateway", .key = "listen", .type = IC_CONFIG_STRING,
	  .offset = OFF(gateway_listen), .restart = true,
	  .help = "local Ollama/OpenAI endpoint, e.g. 127.0.0.1:11435; empty: off" },
	{ .section = "gateway", .key = "allow_remote", .type = IC_CONFIG_BOOL,
	  .offset = OFF(gateway_allow_remote), .def_bool = false, .restart = true,
	  .help = "allow a listen address other than loopback (no authentication!)" },
	{ .section = "gateway", .key = "max_streams", .type = IC_CONFIG_INT,
	  .offset = OFF(gateway_max_streams), .min = 1, .max = DCONFIG_GW_STREAMS_MAX,
	  .def_int = DCONFIG_GW_STREAMS_DEFAULT,
	  .help = "chats through the gateway at once; more get 429" },
	{ .section = "gateway", .key = "cors_origins", .type = IC_CONFIG_STRING,
	  .offset = OFF(gateway_cors_origins),
	  .help = "origins browsers may call the gateway from (comma-separated, or *)" },
};

const struct ic_config_schema dconfig_schema = {
	keys, sizeof(keys) / sizeof(keys[0]), sizeof(struct daemon_config)
};

struct daemon_config *
dconfig_load_new(const char *path, const char *const *overrides, char **errors)
{
	return ic_config_load_new(&dconfig_schema, path, overrides, errors);
}

void
dconfig_free(struct daemon_config *cfg)
{
	if (cfg)
		ic_config_free(&dconfig_schema, cfg);
}
