/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * dconfig.c - the table of idleclawd's configuration keys.
 */

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/dconfig.h"
#include "daemon/ollama-request.h"
#include "limits.h"
#include "log.h"
#include "xmalloc.h"

#define OFF(f) offsetof(struct daemon_config, f)

static const struct ic_config_key keys[] = {
	{ .section = "daemon",
		.key = "server",
		.type = IC_CONFIG_URL,
		.offset = OFF(server),
		.def_str = "https://api.idleclaw.com",
		.env = "IDLECLAW_SERVER",
		.help = "routing server to contribute to and chat through" },
	{ .section = "daemon",
		.key = "ollama_host",
		.type = IC_CONFIG_OLLAMA_HOST,
		.offset = OFF(ollama_host),
		.def_str = "http://localhost:11434",
		.env = "OLLAMA_HOST",
		.help = "local Ollama (http://host:port, host:port, host or :port)" },
	{ .section = "daemon",
		.key = "node_id",
		.type = IC_CONFIG_STRING,
		.offset = OFF(node_id),
		.help = "node id; empty derives a stable one from /etc/machine-id" },
	{ .section = "daemon",
		.key = "max_concurrent",
		.type = IC_CONFIG_INT,
		.offset = OFF(max_concurrent),
		.min = IC_CONCURRENCY_MIN,
		.max = IC_CONCURRENCY_MAX,
		.def_int = IC_CONCURRENCY_DEFAULT,
		.help = "inference requests relayed at once" },
	{ .section = "daemon",
		.key = "model_refresh",
		.type = IC_CONFIG_INT,
		.offset = OFF(model_refresh),
		.min = DCONFIG_REFRESH_MIN_S,
		.max = DCONFIG_REFRESH_MAX_S,
		.def_int = IC_MODEL_REFRESH_DEFAULT_S,
		.help = "seconds between reads of Ollama's model list" },
	{ .section = "daemon",
		.key = "models_allow",
		.type = IC_CONFIG_STRING,
		.offset = OFF(models_allow),
		.help = "models to share (comma-separated shell patterns); empty shares all" },
	{ .section = "daemon",
		.key = "models_deny",
		.type = IC_CONFIG_STRING,
		.offset = OFF(models_deny),
		.help = "models never to share (comma-separated shell patterns)" },
	{ .section = "daemon",
		.key = "control_socket",
		.type = IC_CONFIG_STRING,
		.offset = OFF(control_socket),
		.def_str = RUNSTATEDIR "/idleclaw/idleclawd.sock",
		.help = "path of the control socket for idleclawctl",
		.restart = true },
	{ .section = "daemon",
		.key = "control_group",
		.type = IC_CONFIG_STRING,
		.offset = OFF(control_group),
		.def_str = "idleclaw",
		.help = "group that may use the control socket",
		.restart = true },
	{ .section = "daemon",
		.key = "control_idle_timeout",
		.type = IC_CONFIG_INT,
		.offset = OFF(control_idle_timeout),
		.min = 0,
		.max = DCONFIG_TIMEOUT_MAX_S,
		.def_int = IC_CONTROL_IDLE_TIMEOUT_DEFAULT_S,
		.help = "seconds a control connection with nothing running may stay silent (0: "
			"forever)" },
	{ .section = "daemon",
		.key = "log_level",
		.type = IC_CONFIG_LOGLEVEL,
		.offset = OFF(log_level),
		.def_int = IC_LOG_INFO,
		.help = "err, warning, notice, info or debug" },
	{ .section = "daemon",
		.key = "log_content",
		.type = IC_CONFIG_BOOL,
		.offset = OFF(log_content),
		.def_bool = false,
		.help = "debug only: write chat content to the log" },
	{ .section = "daemon",
		.key = "drain_timeout",
		.type = IC_CONFIG_INT,
		.offset = OFF(drain_timeout),
		.min = 0,
		.max = DCONFIG_DRAIN_MAX_S,
		.def_int = IC_DRAIN_DEFAULT_S,
		.help = "seconds in-flight requests may finish after SIGTERM" },
	{ .section = "daemon",
		.key = "heartbeat_interval",
		.type = IC_CONFIG_INT,
		.offset = OFF(heartbeat_interval),
		.min = DCONFIG_HEARTBEAT_MIN_S,
		.max = DCONFIG_HEARTBEAT_MAX_S,
		.def_int = IC_HEARTBEAT_INTERVAL_S,
		.help = "seconds between heartbeats to the router" },
	{ .section = "daemon",
		.key = "reconnect_min",
		.type = IC_CONFIG_INT,
		.offset = OFF(reconnect_min),
		.min = 1,
		.max = IC_RECONNECT_MAX_S,
		.def_int = IC_RECONNECT_MIN_S,
		.help = "first reconnect delay ceiling (seconds)" },
	{ .section = "daemon",
		.key = "reconnect_max",
		.type = IC_CONFIG_INT,
		.offset = OFF(reconnect_max),
		.min = 1,
		.max = 3600,
		.def_int = IC_RECONNECT_MAX_S,
		.help = "longest reconnect delay (seconds)" },
	{ .section = "daemon",
		.key = "ollama_timeout",
		.type = IC_CONFIG_INT,
		.offset = OFF(ollama_timeout),
		.min = 1,
		.max = DCONFIG_TIMEOUT_MAX_S,
		.def_int = 300,
		.help = "seconds of silence from Ollama before a request fails" },
	{ .section = "daemon",
		.key = "router_timeout",
		.type = IC_CONFIG_INT,
		.offset = OFF(router_timeout),
		.min = 1,
		.max = DCONFIG_TIMEOUT_MAX_S,
		.def_int = 120,
		.help = "seconds of silence from the router before a chat fails" },
	{ .section = "daemon",
		.key = "chat_timeout",
		.type = IC_CONFIG_INT,
		.offset = OFF(chat_timeout),
		.min = 1,
		.max = DCONFIG_TIMEOUT_MAX_S,
		.def_int = 600,
		.help = "seconds a chat may take in all, however the router keeps it alive" },
	{ .section = "daemon",
		.key = "ca_file",
		.type = IC_CONFIG_STRING,
		.offset = OFF(ca_file),
		.help = "extra CA certificate file for https (empty: system CAs)" },
	{ .section = "daemon",
		.key = "max_predict",
		.type = IC_CONFIG_INT,
		.offset = OFF(max_predict),
		.min = 0,
		.max = IC_OPT_NUM_PREDICT_MAX,
		.def_int = 0,
		.help = "most tokens one reply may have (options.num_predict; 0: no ceiling)" },
	{ .section = "daemon",
		.key = "max_ctx",
		.type = IC_CONFIG_INT,
		.offset = OFF(max_ctx),
		.min = 0,
		.max = IC_OPT_NUM_CTX_MAX,
		.def_int = 0,
		.help = "largest context window a request may ask for (options.num_ctx; 0: no "
			"ceiling)" },
	{ .section = "daemon",
		.key = "max_request_time",
		.type = IC_CONFIG_INT,
		.offset = OFF(max_request_time),
		.min = 1,
		.max = DCONFIG_TIMEOUT_MAX_S,
		.def_int = DCONFIG_REQUEST_TIME_DEFAULT_S,
		.help = "seconds one inference request may take before it is cancelled" },
	{ .section = "daemon",
		.key = "keep_alive",
		.type = IC_CONFIG_STRING,
		.offset = OFF(keep_alive),
		.def_str = "5m",
		.help = "how long Ollama keeps a lent model loaded after a request (5m, 1h30m, 0, "
			"or seconds); replaces the request's" },
	{ .section = "idle",
		.key = "mode",
		.type = IC_CONFIG_STRING,
		.offset = OFF(idle_mode),
		.def_str = "auto",
		.help = "auto lends while the owner is away; always or never" },
	{ .section = "idle",
		.key = "interval",
		.type = IC_CONFIG_INT,
		.offset = OFF(idle_interval),
		.min = 1,
		.max = DCONFIG_IDLE_INTERVAL_MAX_S,
		.def_int = 5,
		.help = "seconds between samples of the machine's use" },
	{ .section = "idle",
		.key = "idle_time",
		.type = IC_CONFIG_INT,
		.offset = OFF(idle.idle_time),
		.min = 0,
		.max = DCONFIG_IDLE_TIME_MAX_S,
		.def_int = 180,
		.help = "seconds of quiet and no user input before lending again" },
	{ .section = "idle",
		.key = "cpu_busy",
		.type = IC_CONFIG_INT,
		.offset = OFF(idle.cpu_busy),
		.min = 1,
		.max = 100,
		.def_int = 25,
		.help = "percent of all CPU used by others that makes the machine busy" },
	{ .section = "idle",
		.key = "cpu_idle",
		.type = IC_CONFIG_INT,
		.offset = OFF(idle.cpu_idle),
		.min = 0,
		.max = 100,
		.def_int = 10,
		.help = "percent of CPU used by others below which it counts as quiet again" },
	{ .section = "idle",
		.key = "gpu_busy",
		.type = IC_CONFIG_INT,
		.offset = OFF(idle.gpu_busy),
		.min = 1,
		.max = 100,
		.def_int = 20,
		.help = "percent of a GPU used by others that makes the machine busy" },
	{ .section = "idle",
		.key = "gpu_idle",
		.type = IC_CONFIG_INT,
		.offset = OFF(idle.gpu_idle),
		.min = 0,
		.max = 100,
		.def_int = 5,
		.help = "percent of a GPU used by others below which it counts as quiet again" },
	{ .section = "idle",
		.key = "on_battery",
		.type = IC_CONFIG_STRING,
		.offset = OFF(idle_on_battery),
		.def_str = "pause",
		.help = "pause or run while the machine runs on battery" },
	{ .section = "idle",
		.key = "on_busy",
		.type = IC_CONFIG_STRING,
		.offset = OFF(idle_on_busy),
		.def_str = "finish",
		.help = "finish (within busy_grace) or cancel requests in flight when the owner "
			"returns" },
	{ .section = "idle",
		.key = "busy_grace",
		.type = IC_CONFIG_INT,
		.offset = OFF(idle.busy_grace),
		.min = 0,
		.max = DCONFIG_BUSY_GRACE_MAX_S,
		.def_int = 30,
		.help = "seconds requests in flight may finish after the owner returns" },
	{ .section = "idle",
		.key = "own_processes",
		.type = IC_CONFIG_STRING,
		.offset = OFF(own_processes),
		.def_str = "ollama*",
		.help = "process names (shell patterns) whose CPU and GPU use is ours" },
	{ .section = "idle",
		.key = "exclusive_processes",
		.type = IC_CONFIG_STRING,
		.offset = OFF(exclusive_processes),
		.help = "process names (shell patterns) that make the machine busy while they "
			"run" },
	{ .section = "idle",
		.key = "proc_root",
		.type = IC_CONFIG_STRING,
		.offset = OFF(proc_root),
		.def_str = "/proc",
		.help = "where procfs is (tests use a fake tree)" },
	{ .section = "idle",
		.key = "sys_root",
		.type = IC_CONFIG_STRING,
		.offset = OFF(sys_root),
		.def_str = "/sys",
		.help = "where sysfs is (tests use a fake tree)" },
	{ .section = "idle",
		.key = "dev_root",
		.type = IC_CONFIG_STRING,
		.offset = OFF(dev_root),
		.def_str = "/dev",
		.help = "where the terminals (pts/N, ttyN) are (tests use a fake tree)" },
	{ .section = "idle",
		.key = "nvml_library",
		.type = IC_CONFIG_STRING,
		.offset = OFF(nvml_library),
		.def_str = "libnvidia-ml.so.1",
		.help = "NVIDIA's NVML library (empty: no NVIDIA sampling)" },
	{ .section = "idle",
		.key = "logind",
		.type = IC_CONFIG_BOOL,
		.offset = OFF(idle_logind),
		.def_bool = true,
		.help = "ask logind whether the desktop user is idle" },
	{ .section = "idle",
		.key = "schedule",
		.type = IC_CONFIG_STRING,
		.offset = OFF(schedule_text),
		.help = "when lending is allowed, local time, e.g. \"Mon..Fri 18:00-08:00, "
			"Sat,Sun\"; empty: always" },
	{ .section = "idle",
		.key = "gpus",
		.type = IC_CONFIG_STRING,
		.offset = OFF(gpus),
		.def_str = "*",
		.help = "GPUs whose use counts, by PCI bus id (shell patterns, e.g. "
			"0000:01:00.0)" },
	{ .section = "idle",
		.key = "unload",
		.type = IC_CONFIG_STRING,
		.offset = OFF(idle_unload),
		.def_str = "lent",
		.help = "lent: unload the models lending loaded when lending stops; never" },
	{ .section = "gateway",
		.key = "listen",
		.type = IC_CONFIG_STRING,
		.offset = OFF(gateway_listen),
		.restart = true,
		.help = "local Ollama/OpenAI endpoint, e.g. 127.0.0.1:11435; empty: off" },
	{ .section = "gateway",
		.key = "allow_remote",
		.type = IC_CONFIG_BOOL,
		.offset = OFF(gateway_allow_remote),
		.def_bool = false,
		.restart = true,
		.help = "allow a listen address other than loopback (no authentication!)" },
	{ .section = "gateway",
		.key = "max_streams",
		.type = IC_CONFIG_INT,
		.offset = OFF(gateway_max_streams),
		.min = 1,
		.max = DCONFIG_GW_STREAMS_MAX,
		.def_int = DCONFIG_GW_STREAMS_DEFAULT,
		.help = "chats through the gateway at once; more get 429" },
	{ .section = "gateway",
		.key = "cors_origins",
		.type = IC_CONFIG_STRING,
		.offset = OFF(gateway_cors_origins),
		.help = "origins browsers may call the gateway from (comma-separated, or *)" },
	{ .section = "gateway",
		.key = "max_connections",
		.type = IC_CONFIG_INT,
		.offset = OFF(gateway_max_conns),
		.min = 1,
		.max = IC_GATEWAY_CONNS_MAX,
		.def_int = IC_GATEWAY_CONNS_DEFAULT,
		.help = "client connections at once; more get 503" },
	{ .section = "gateway",
		.key = "max_connections_per_ip",
		.type = IC_CONFIG_INT,
		.offset = OFF(gateway_conns_per_ip),
		.min = 1,
		.max = IC_GATEWAY_CONNS_MAX,
		.def_int = IC_GATEWAY_CONNS_PER_IP_DEFAULT,
		.help = "of those, from one client address (with allow_remote only)" },
	{ .section = "gateway",
		.key = "request_timeout",
		.type = IC_CONFIG_INT,
		.offset = OFF(gateway_request_timeout),
		.min = 1,
		.max = IC_GATEWAY_REQUEST_TIMEOUT_MAX_S,
		.def_int = IC_GATEWAY_REQUEST_TIMEOUT_DEFAULT_S,
		.help = "seconds a client has to send a request's headers and body" },
};

/* Append one line to the NEW error text *errors. */
static void add_error(char **errors, char *line)
{
	char *all = xasprintf("%s%s%s", *errors ? *errors : "", *errors ? "\n" : "", line);

	free(*errors);
	free(line);
	*errors = all;
}

/* [idle] schedule into c->schedule. */
static void check_schedule(struct daemon_config *c, char **errors)
{
	char why[256];

	if (schedule_parse(c->schedule_text, &c->schedule, why, sizeof(why)) < 0)
		add_error(errors, xasprintf("idle.schedule: %s", why));
}

/* The [idle] keys whose values are names, and the thresholds' order. */
static void check_idle(struct daemon_config *c, char **errors)
{
	struct idle_params *p = &c->idle;
	const char *b = c->idle_on_battery ? c->idle_on_battery : "";

	if (idle_mode_parse(c->idle_mode ? c->idle_mode : "", &p->mode) < 0)
		add_error(errors,
			xasprintf("idle.mode: \"%s\" is not auto, always or never",
				c->idle_mode ? c->idle_mode : ""));
	if (idle_on_busy_parse(c->idle_on_busy ? c->idle_on_busy : "", &p->on_busy) < 0)
		add_error(errors,
			xasprintf("idle.on_busy: \"%s\" is not finish or cancel",
				c->idle_on_busy ? c->idle_on_busy : ""));
	if (strcasecmp(b, "run") == 0)
		p->run_on_battery = true;
	else if (strcasecmp(b, "pause") == 0)
		p->run_on_battery = false;
	else
		add_error(errors, xasprintf("idle.on_battery: \"%s\" is not pause or run", b));
	if (p->cpu_idle > p->cpu_busy)
		add_error(errors,
			xasprintf("idle.cpu_idle (%d) must not be above idle.cpu_busy (%d)",
				p->cpu_idle, p->cpu_busy));
	if (p->gpu_idle > p->gpu_busy)
		add_error(errors,
			xasprintf("idle.gpu_idle (%d) must not be above idle.gpu_busy (%d)",
				p->gpu_idle, p->gpu_busy));
	if (!c->proc_root || !c->sys_root || !c->dev_root)
		add_error(errors,
			xasprintf("idle.proc_root, sys_root and dev_root must not be empty"));
	check_schedule(c, errors);
}

/* [daemon] keep_alive and [idle] unload. */
static void check_ollama(struct daemon_config *c, char **errors)
{
	const char *u = c->idle_unload ? c->idle_unload : "";
	char err[256];

	if (ollama_keep_alive_check(c->keep_alive, err, sizeof(err)) < 0)
		add_error(errors, xasprintf("daemon.%s", err));
	if (strcasecmp(u, "lent") == 0)
		c->unload_lent = true;
	else if (strcasecmp(u, "never") == 0)
		c->unload_lent = false;
	else
		add_error(errors, xasprintf("idle.unload: \"%s\" is not lent or never", u));
}

/* ic_config_schema.check */
static int check_config(void *cfg, char **errors)
{
	char *bad = NULL;

	check_idle(cfg, &bad);
	check_ollama(cfg, &bad);
	if (!bad)
		return 0;
	add_error(errors, bad);
	return -1;
}

const struct ic_config_schema dconfig_schema = {
	.keys = keys,
	.n_keys = sizeof(keys) / sizeof(keys[0]),
	.struct_size = sizeof(struct daemon_config),
	.check = check_config,
};

struct daemon_config *dconfig_load_new(
	const char *path, const char *const *overrides, char **errors)
{
	return ic_config_load_new(&dconfig_schema, path, overrides, errors);
}

void dconfig_free(struct daemon_config *cfg)
{
	if (cfg)
		ic_config_free(&dconfig_schema, cfg);
}
