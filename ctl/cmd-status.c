/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cmd-status.c - `idleclawctl status`: the daemon's state, for people
 * (or as JSON with --json).  Prints what the reply has and skips what it
 * lacks, so an older or newer daemon still reads well.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "ctl/status-idle.h"
#include "ctl/status-lend.h"
#include "jsonutil.h"

/* "2d 3h", "3h 4m", "4m 5s", "5s" */
static void print_duration(int64_t s)
{
	if (s >= 86400)
		printf("%" PRId64 "d %" PRId64 "h", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		printf("%" PRId64 "h %" PRId64 "m", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		printf("%" PRId64 "m %" PRId64 "s", s / 60, s % 60);
	else
		printf("%" PRId64 "s", s);
}

/* The strings of a JSON array, comma-separated; "none" if empty. */
static void print_list(json_object *arr)
{
	size_t i, n = json_object_array_length(arr);

	if (n == 0) {
		printf("none");
		return;
	}
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		const char *s = json_object_is_type(v, json_type_string)
			? json_object_get_string(v)
			: ic_json_get_string(v, "name");

		printf("%s%s", i > 0 ? ", " : "", s != NULL ? s : json_object_to_json_string(v));
	}
}

static void print_str(const char *label, json_object *o, const char *key)
{
	const char *s = ic_json_get_string(o, key);

	if (s != NULL)
		printf("%-12s %s\n", label, s);
}

static void print_header(json_object *r)
{
	const char *version = ic_json_get_string(r, CTL_R_VERSION);
	int64_t up;

	printf("idleclawd %s", version != NULL ? version : "(version unknown)");
	if (ic_json_get_int64(r, CTL_R_UPTIME, &up)) {
		printf(", up ");
		print_duration(up);
	}
	printf("\n");
	print_str("node:", r, CTL_R_NODE_ID);
}

/* "<url> <state>" then "(last error: ...)" on its own line. */
static void print_endpoint(const char *label, json_object *o)
{
	const char *url = ic_json_get_string(o, CTL_R_URL);
	const char *state = ic_json_get_string(o, CTL_R_STATE);
	const char *version = ic_json_get_string(o, CTL_R_VERSION);
	const char *err = ic_json_get_string(o, CTL_R_LAST_ERROR);

	if (o == NULL)
		return;
	printf("%-12s %s%s%s%s%s\n", label, url != NULL ? url : "", url != NULL ? " " : "",
		state != NULL ? state : "", version != NULL ? " " : "",
		version != NULL ? version : "");
	if (err != NULL && err[0] != '\0')
		printf("%-12s last error: %s\n", "", err);
}

static void print_availability(json_object *r)
{
	const char *reason = ic_json_get_string(r, CTL_R_REASON);
	int64_t until = -1;
	bool available;

	if (!ic_json_get_bool(r, CTL_R_AVAILABLE, &available))
		return;
	printf("%-12s %s", "available:", available ? "yes" : "no");
	if (reason != NULL && reason[0] != '\0')
		printf(" (%s)", reason);
	if (ic_json_get_int64(r, CTL_R_PAUSED_UNTIL, &until) && until > 0) {
		time_t t = (time_t)until;
		struct tm tm;
		char buf[64];

		if (localtime_r(&t, &tm) != NULL &&
			strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm) > 0)
			printf(", paused until %s", buf);
	}
	printf("\n");
}

static void print_requests(json_object *r)
{
	int64_t in_flight, served, max;

	if (!ic_json_get_int64(r, CTL_R_IN_FLIGHT, &in_flight))
		return;
	printf("%-12s %" PRId64 " in flight", "requests:", in_flight);
	if (ic_json_get_int64(r, CTL_R_MAX_CONCURRENT, &max))
		printf(" (at most %" PRId64 ")", max);
	if (ic_json_get_int64(r, CTL_R_SERVED, &served))
		printf(", %" PRId64 " served", served);
	printf("\n");
}

static void print_network(json_object *net)
{
	json_object *health = ic_json_member(net, CTL_R_HEALTH);
	json_object *models = ic_json_member(net, CTL_R_MODELS);
	const char *hs = ic_json_get_string(health, "status");
	const char *err = ic_json_get_string(net, CTL_R_LAST_ERROR);
	int64_t up;

	if (net == NULL)
		return;
	printf("%-12s %s", "network:", hs != NULL ? hs : "unknown");
	if (ic_json_get_int64(health, "uptime_seconds", &up)) {
		printf(", router up ");
		print_duration(up);
	}
	printf("\n");
	if (models != NULL && json_object_is_type(models, json_type_array)) {
		printf("%-12s models: ", "");
		print_list(models);
		printf("\n");
	}
	if (err != NULL)
		printf("%-12s last error: %s\n", "", err);
}

/* The local gateway: "http://ADDR, N open streams (at most M)". */
static void print_gateway(json_object *gw)
{
	const char *listen = ic_json_get_string(gw, CTL_R_LISTEN);
	int64_t streams = 0, max;

	if (gw == NULL || listen == NULL)
		return;
	ic_json_get_int64(gw, CTL_R_STREAMS, &streams);
	printf("%-12s http://%s, %" PRId64 " open stream%s", "gateway:", listen, streams,
		streams == 1 ? "" : "s");
	if (ic_json_get_int64(gw, CTL_R_MAX_STREAMS, &max))
		printf(" (at most %" PRId64 ")", max);
	printf("\n");
}

static void print_status(json_object *r)
{
	json_object *models = ic_json_member(r, CTL_R_MODELS);
	int64_t clients;

	print_header(r);
	print_endpoint("router:", ic_json_member(r, CTL_R_ROUTER));
	print_availability(r);
	ctl_print_idle(ic_json_member(r, CTL_R_IDLE));
	ctl_print_lending(r);
	if (models != NULL && json_object_is_type(models, json_type_array)) {
		printf("%-12s ", "models:");
		print_list(models);
		printf("\n");
	}
	print_requests(r);
	print_endpoint("ollama:", ic_json_member(r, CTL_R_OLLAMA));
	print_network(ic_json_member(r, CTL_R_NETWORK));
	print_gateway(ic_json_member(r, CTL_R_GATEWAY));
	if (ic_json_get_int64(r, CTL_R_CLIENTS, &clients))
		printf("%-12s %" PRId64 "\n", "clients:", clients);
}

static int status_exec(struct ctl_ctx *ctx, const struct ctl_cmd_entry *self, int argc, char **argv)
{
	int first = 0, code;

	code = ctl_simple_options(ctx, self, argc, argv, 0, &first);
	if (code >= 0)
		return code;
	return ctl_run_query(ctx, self, NULL, print_status);
}

const struct ctl_cmd_entry cmd_status_entry = {
	.name = "status",
	.proto = CTL_CMD_STATUS,
	.operands = "",
	.summary = "show the daemon's state: router link, availability, models, requests",
	.exec = status_exec,
};
