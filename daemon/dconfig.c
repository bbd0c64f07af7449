/*
 * dconfig.c - the table of idleclawd's configuration keys.
 */

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/dconfig.h"
#include "limits.h"
#include "log.h"
#include "xmalloc.h"

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
	{ "daemon", "ca_file", IC_CONFIG_STRING, OFF(ca_file), 0, 0, NULL, NULL,
	  "extra CA certificate file for https (empty: system CAs)" },
	{ "idle", "mode", IC_CONFIG_STRING, OFF(idle_mode), 0, 0, "auto", NULL,
	  "auto lends while the owner is away; always or never" },
	{ "idle", "interval", IC_CONFIG_INT, OFF(idle_interval), 1, DCONFIG_IDLE_INTERVAL_MAX_S,
	  "5", NULL, "seconds between samples of the machine's use" },
	{ "idle", "idle_time", IC_CONFIG_INT, OFF(idle.idle_time), 0, DCONFIG_IDLE_TIME_MAX_S,
	  "180", NULL, "seconds of quiet and no user input before lending again" },
	{ "idle", "cpu_busy", IC_CONFIG_INT, OFF(idle.cpu_busy), 1, 100, "25", NULL,
	  "percent of all CPU used by others that makes the machine busy" },
	{ "idle", "cpu_idle", IC_CONFIG_INT, OFF(idle.cpu_idle), 0, 100, "10", NULL,
	  "percent of CPU used by others below which it counts as quiet again" },
	{ "idle", "gpu_busy", IC_CONFIG_INT, OFF(idle.gpu_busy), 1, 100, "20", NULL,
	  "percent of a GPU used by others that makes the machine busy" },
	{ "idle", "gpu_idle", IC_CONFIG_INT, OFF(idle.gpu_idle), 0, 100, "5", NULL,
	  "percent of a GPU used by others below which it counts as quiet again" },
	{ "idle", "on_battery", IC_CONFIG_STRING, OFF(idle_on_battery), 0, 0, "pause", NULL,
	  "pause or run while the machine runs on battery" },
	{ "idle", "on_busy", IC_CONFIG_STRING, OFF(idle_on_busy), 0, 0, "finish", NULL,
	  "finish (within busy_grace) or cancel requests in flight when the owner returns" },
	{ "idle", "busy_grace", IC_CONFIG_INT, OFF(idle.busy_grace), 0, DCONFIG_BUSY_GRACE_MAX_S,
	  "30", NULL, "seconds requests in flight may finish after the owner returns" },
	{ "idle", "own_processes", IC_CONFIG_STRING, OFF(own_processes), 0, 0, "ollama*", NULL,
	  "process names (shell patterns) whose CPU and GPU use is ours" },
	{ "idle", "exclusive_processes", IC_CONFIG_STRING, OFF(exclusive_processes), 0, 0,
	  NULL, NULL, "process names (shell patterns) that make the machine busy while they run" },
	{ "idle", "proc_root", IC_CONFIG_STRING, OFF(proc_root), 0, 0, "/proc", NULL,
	  "where procfs is (tests use a fake tree)" },
	{ "idle", "sys_root", IC_CONFIG_STRING, OFF(sys_root), 0, 0, "/sys", NULL,
	  "where sysfs is (tests use a fake tree)" },
	{ "idle", "dev_root", IC_CONFIG_STRING, OFF(dev_root), 0, 0, "/dev", NULL,
	  "where the terminals (pts/N, ttyN) are (tests use a fake tree)" },
	{ "idle", "nvml_library", IC_CONFIG_STRING, OFF(nvml_library), 0, 0,
	  "libnvidia-ml.so.1", NULL, "NVIDIA's NVML library (empty: no NVIDIA sampling)" },
	{ "idle", "logind", IC_CONFIG_BOOL, OFF(idle_logind), 0, 0, "yes", NULL,
	  "ask logind whether the desktop user is idle" },
};

const struct ic_config_schema dconfig_schema = {
	keys, sizeof(keys) / sizeof(keys[0]), sizeof(struct daemon_config)
};

/* Append one line to the NEW error text *errors. */
static void
add_error(char **errors, char *line)
{
	char *all = xasprintf("%s%s%s", *errors ? *errors : "", *errors ? "\n" : "", line);

	free(*errors);
	free(line);
	*errors = all;
}

/* The [idle] keys whose values are names, and the thresholds' order. */
static void
check_idle(struct daemon_config *c, char **errors)
{
	struct idle_params *p = &c->idle;
	const char *b = c->idle_on_battery ? c->idle_on_battery : "";

	if (idle_mode_parse(c->idle_mode ? c->idle_mode : "", &p->mode) < 0)
		add_error(errors, xasprintf("idle.mode: \"%s\" is not auto, always or never",
					    c->idle_mode ? c->idle_mode : ""));
	if (idle_on_busy_parse(c->idle_on_busy ? c->idle_on_busy : "", &p->on_busy) < 0)
		add_error(errors, xasprintf("idle.on_busy: \"%s\" is not finish or cancel",
					    c->idle_on_busy ? c->idle_on_busy : ""));
	if (strcasecmp(b, "run") == 0)
		p->run_on_battery = true;
	else if (strcasecmp(b, "pause") == 0)
		p->run_on_battery = false;
	else
		add_error(errors, xasprintf("idle.on_battery: \"%s\" is not pause or run", b));
	if (p->cpu_idle > p->cpu_busy)
		add_error(errors, xasprintf("idle.cpu_idle (%d) must not be above idle.cpu_busy (%d)",
					    p->cpu_idle, p->cpu_busy));
	if (p->gpu_idle > p->gpu_busy)
		add_error(errors, xasprintf("idle.gpu_idle (%d) must not be above idle.gpu_busy (%d)",
					    p->gpu_idle, p->gpu_busy));
	if (!c->proc_root || !c->sys_root || !c->dev_root)
		add_error(errors, xasprintf("idle.proc_root, sys_root and dev_root must not be empty"));
}

struct daemon_config *
dconfig_load_new(const char *path, const char *const *overrides, char **errors)
{
	struct daemon_config *c = ic_config_load_new(&dconfig_schema, path, overrides, errors);
	char *bad = NULL;

	if (!c)
		return NULL;
	check_idle(c, &bad);
	if (!bad)
		return c;
	dconfig_free(c);
	if (errors)
		*errors = bad;
	else
		free(bad);
	return NULL;
}

void
dconfig_free(struct daemon_config *cfg)
{
	if (cfg)
		ic_config_free(&dconfig_schema, cfg);
}
