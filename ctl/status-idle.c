/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * status-idle.c - see status-idle.h.  Members the daemon reports as a
 * string ("unknown", "none", "no NVIDIA GPU ...") are printed as they are.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl/status-idle.h"
#include "ctlproto.h"
#include "jsonutil.h"

#define INDENT "             "

static bool as_string(const char *label, json_object *v)
{
	if (!v || !json_object_is_type(v, json_type_string))
		return false;
	printf(INDENT "%s: %s\n", label, json_object_get_string(v));
	return true;
}

static double num(json_object *o, const char *key)
{
	json_object *v = ic_json_member(o, key);

	return v ? json_object_get_double(v) : -1;
}

static void print_cpu(json_object *cpu)
{
	if (!cpu || as_string("cpu", cpu))
		return;
	printf(INDENT "cpu: %.1f%% used by others", num(cpu, CTL_IDLE_OTHERS_PERCENT));
	if (ic_json_member(cpu, CTL_IDLE_OWN_PERCENT))
		printf(", %.1f%% ours", num(cpu, CTL_IDLE_OWN_PERCENT));
	if (ic_json_member(cpu, CTL_IDLE_PSI))
		printf(", pressure %.1f", num(cpu, CTL_IDLE_PSI));
	printf("\n");
}

static void print_gpus(json_object *gpu)
{
	size_t i, n;

	if (!gpu || as_string("gpu", gpu) || !json_object_is_type(gpu, json_type_array))
		return;
	n = json_object_array_length(gpu);
	for (i = 0; i < n; i++) {
		json_object *g = json_object_array_get_idx(gpu, i);
		const char *src = ic_json_get_string(g, CTL_IDLE_GPU_SOURCE);
		const char *top = ic_json_get_string(g, CTL_IDLE_GPU_TOP_PROCESS);
		int64_t pid;

		printf(INDENT "gpu%zu (%s): %.1f%% used, %.1f%% ours", i, src ? src : "?",
			num(g, CTL_IDLE_GPU_USED_PERCENT), num(g, CTL_IDLE_OWN_PERCENT));
		if (ic_json_get_int64(g, CTL_IDLE_GPU_TOP_PID, &pid))
			printf(", most by %s (pid %" PRId64 ")", top ? top : "?", pid);
		printf("\n");
	}
}

static void print_input(const char *label, json_object *in)
{
	const char *where = ic_json_get_string(in, CTL_IDLE_WHERE);
	int64_t ago;

	if (!in || as_string(label, in) || !ic_json_get_int64(in, CTL_IDLE_SECONDS_AGO, &ago))
		return;
	printf(INDENT "%s: input %" PRId64 " s ago%s%s\n", label, ago, where ? " on " : "",
		where ? where : "");
}

static void print_exclusive(json_object *ex)
{
	const char *p = ic_json_get_string(ex, CTL_IDLE_EXCLUSIVE_PROCESS);
	int64_t pid = 0;

	if (!ex || as_string("exclusive", ex))
		return;
	ic_json_get_int64(ex, CTL_IDLE_EXCLUSIVE_PID, &pid);
	printf(INDENT "exclusive: %s (pid %" PRId64 ") running\n", p ? p : "?", pid);
}

/* When the mode alone decides, the policy's reason is the mode
 * ("mode = never"), printed after it anyway: say it once. */
static bool reason_is_mode(const char *reason, const char *mode)
{
	static const char prefix[] = "mode = ";

	return mode != NULL && strncmp(reason, prefix, strlen(prefix)) == 0 &&
		strcmp(reason + strlen(prefix), mode) == 0;
}

void ctl_print_idle(json_object *idle)
{
	const char *state = ic_json_get_string(idle, CTL_IDLE_STATE);
	const char *reason = ic_json_get_string(idle, CTL_IDLE_REASON);
	const char *mode = ic_json_get_string(idle, CTL_IDLE_MODE);
	int64_t since = 0;

	if (!idle || !state)
		return;
	printf("%-12s %s", "idle:", state);
	if (reason && *reason && !reason_is_mode(reason, mode))
		printf(" (%s)", reason);
	if (ic_json_get_int64(idle, CTL_IDLE_SINCE, &since) && since > 0) {
		time_t t = (time_t)since;
		struct tm tm;
		char buf[32];

		if (localtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%H:%M:%S", &tm) > 0)
			printf(" since %s", buf);
	}
	if (mode)
		printf(", mode %s", mode);
	printf("\n");
	print_cpu(ic_json_member(idle, CTL_IDLE_CPU));
	print_gpus(ic_json_member(idle, CTL_IDLE_GPU));
	print_input("terminal", ic_json_member(idle, CTL_IDLE_TERMINAL));
	print_input("logind", ic_json_member(idle, CTL_IDLE_LOGIND));
	as_string("power", ic_json_member(idle, CTL_IDLE_POWER));
	print_exclusive(ic_json_member(idle, CTL_IDLE_EXCLUSIVE));
}
