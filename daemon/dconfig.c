/*
 * dconfig.c - the table of idleclawd's configuration keys.
 */

#include <stddef.h>

#include "daemon/dconfig.h"
#include "limits.h"
#include "log.h"

#define STR(x) #x
#define XSTR(x) STR(x)
#define OFF(f) offsetof(struct daemon_config, f)

static const struct ic_config_key keys[] = {
	{ "daemon", "server", IC_CONFIG_URL, OFF(server), 0, 0,
	  "https://api.idleclaw.com", "IDLECLAW_SERVER",
	  "routing server to contribute to and chat through" },
	{ "daemon", "ollama_host", IC_CONFIG_OLLAMA_HOST, OFF(ollama_host), 0, 0,
	  "http://localhost:11434", "OLLAMA_HOST",
	  "local Ollama (http://host:port, host:port, host or :port)" },
	{ "daemon", "node_id", IC_CONFIG_STRING, OFF(node_id), 0, 0, NULL, NULL,
	  "node id; empty derives a stable one from /etc/machine-id" },
	{ "daemon", "max_concurrent", IC_CONFIG_INT, OFF(max_concurrent),
	  IC_CONCURRENCY_MIN, IC_CONCURRENCY_MAX, "1", NULL,
	  "inference requests relayed at once" },
	{ "daemon", "model_refresh", IC_CONFIG_INT, OFF(model_refresh),
	  DCONFIG_REFRESH_MIN_S, DCONFIG_REFRESH_MAX_S, XSTR(IC_MODEL_REFRESH_DEFAULT_S), NULL,
	  "seconds between reads of Ollama's model list" },
	{ "daemon", "models_allow", IC_CONFIG_STRING, OFF(models_allow), 0, 0, NULL, NULL,
	  "models to share (comma-separated shell patterns); empty shares all" },
	{ "daemon", "models_deny", IC_CONFIG_STRING, OFF(models_deny), 0, 0, NULL, NULL,
	  "models never to share (comma-separated shell patterns)" },
	{ "daemon", "control_socket", IC_CONFIG_STRING, OFF(control_socket), 0, 0,
	  RUNSTATEDIR "/idleclaw/idleclawd.sock", NULL,
	  "path of the control socket for idleclawctl" },
	{ "daemon", "control_group", IC_CONFIG_STRING, OFF(control_group), 0, 0,
	  "idleclaw", NULL, "group that may use the control socket" },
	{ "daemon", "control_idle_timeout", IC_CONFIG_INT, OFF(control_idle_timeout),
	  0, DCONFIG_TIMEOUT_MAX_S, XSTR(IC_CONTROL_IDLE_TIMEOUT_DEFAULT_S), NULL,
	  "seconds a control connection with nothing running may stay silent (0: forever)" },
	{ "daemon", "log_level", IC_CONFIG_LOGLEVEL, OFF(log_level), 0, 0, "info", NULL,
	  "err, warning, notice, info or debug" },
	{ "daemon", "log_content", IC_CONFIG_BOOL, OFF(log_content), 0, 0, "no", NULL,
	  "debug only: write chat content to the log" },
	{ "daemon", "drain_timeout", IC_CONFIG_INT, OFF(drain_timeout),
	  0, DCONFIG_DRAIN_MAX_S, XSTR(IC_DRAIN_DEFAULT_S), NULL,
	  "seconds in-flight requests may finish after SIGTERM" },
	{ "daemon", "heartbeat_interval", IC_CONFIG_INT, OFF(heartbeat_interval),
	  DCONFIG_HEARTBEAT_MIN_S, DCONFIG_HEARTBEAT_MAX_S, XSTR(IC_HEARTBEAT_INTERVAL_S), NULL,
	  "seconds between heartbeats to the router" },
	{ "daemon", "reconnect_min", IC_CONFIG_INT, OFF(reconnect_min),
	  1, IC_RECONNECT_MAX_S, XSTR(IC_RECONNECT_MIN_S), NULL,
	  "first reconnect delay ceiling (seconds)" },
	{ "daemon", "reconnect_max", IC_CONFIG_INT, OFF(reconnect_max),
	  1, 3600, XSTR(IC_RECONNECT_MAX_S), NULL,
	  "longest reconnect delay (seconds)" },
	{ "daemon", "ollama_timeout", IC_CONFIG_INT, OFF(ollama_timeout),
	  1, DCONFIG_TIMEOUT_MAX_S, "300", NULL,
	  "seconds of silence from Ollama before a request fails" },
	{ "daemon", "router_timeout", IC_CONFIG_INT, OFF(router_timeout),
	  1, DCONFIG_TIMEOUT_MAX_S, "120", NULL,
	  "seconds of silence from the router before a chat fails" },
	{ "daemon", "chat_timeout", IC_CONFIG_INT, OFF(chat_timeout),
	  1, DCONFIG_TIMEOUT_MAX_S, "600", NULL,
	  "seconds a chat may take in all, however the router keeps it alive" },
	{ "daemon", "ca_file", IC_CONFIG_STRING, OFF(ca_file), 0, 0, NULL, NULL,
	  "extra CA certificate file for https (empty: system CAs)" },
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
