/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * status-lend.c - see status-lend.h.  Reads idle.schedule, idle.gpu[]
 * (pci, watched) and standing of the status reply; an older daemon
 * without them prints nothing here.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctlproto.h"
#include "ctl/status-lend.h"
#include "jsonutil.h"

#define LABEL "%-12s "

/* "Mon 18:00" in local time, with "2026-03-30" when it is a week or more
 * away. */
static void format_when(int64_t when, char *buf, size_t len)
{
	time_t t = (time_t)when;
	bool soon = when - time(NULL) < 6 * 86400;
	struct tm tm;
	size_t n = 0;

	if (localtime_r(&t, &tm))
		n = soon ? strftime(buf, len, "%a %H:%M", &tm)
			 : strftime(buf, len, "%a %Y-%m-%d %H:%M", &tm);
	if (n == 0)
		snprintf(buf, len, "@%" PRId64, when);
}

static void print_schedule(json_object *sched)
{
	const char *text = ic_json_get_string(sched, CTL_IDLE_SCHEDULE_TEXT);
	int64_t next;
	bool open;
	char when[64];

	if (!text || !ic_json_get_bool(sched, CTL_IDLE_SCHEDULE_OPEN, &open))
		return;
	printf(LABEL "%s; %s", "schedule:", text, open ? "inside" : "outside");
	if (!open && ic_json_get_int64(sched, CTL_IDLE_SCHEDULE_NEXT_OPEN, &next)) {
		format_when(next, when, sizeof(when));
		printf(", next window opens %s", when);
	}
	printf("\n");
}

/* "0000:01:00.0 (nvml 0)" of each GPU whose watched is `watched`. */
static int print_gpu_list(json_object *gpus, bool watched)
{
	size_t i, n = json_object_array_length(gpus);
	int shown = 0;

	for (i = 0; i < n; i++) {
		json_object *g = json_object_array_get_idx(gpus, i);
		const char *pci = ic_json_get_string(g, CTL_IDLE_GPU_PCI);
		const char *src = ic_json_get_string(g, CTL_IDLE_GPU_SOURCE);
		int64_t dev = -1;
		bool w;

		if (!ic_json_get_bool(g, CTL_IDLE_GPU_WATCHED, &w) || w != watched)
			continue;
		ic_json_get_int64(g, CTL_IDLE_GPU_DEVICE, &dev);
		printf("%s%s (%s %s%" PRId64 ")", shown ? ", " : "",
			pci && *pci ? pci : "no PCI id", src ? src : "?",
			src && strcmp(src, "drm") == 0 ? "card" : "", dev);
		shown++;
	}
	return shown;
}

static void print_gpus(json_object *gpus)
{
	if (!gpus || !json_object_is_type(gpus, json_type_array) ||
		json_object_array_length(gpus) == 0)
		return;
	printf(LABEL "watched: ", "gpus:");
	if (!print_gpu_list(gpus, true))
		printf("none");
	printf("; ignored: ");
	if (!print_gpu_list(gpus, false))
		printf("none");
	printf("\n");
}

static void print_standing(json_object *standing)
{
	const char *text = ic_json_get_string(standing, CTL_R_STANDING_TEXT);

	if (text)
		printf(LABEL "%s\n", "standing:", text);
}

void ctl_print_lending(json_object *reply)
{
	json_object *idle = ic_json_member(reply, CTL_R_IDLE);

	print_schedule(ic_json_member(idle, CTL_IDLE_SCHEDULE));
	print_gpus(ic_json_member(idle, CTL_IDLE_GPU));
	print_standing(ic_json_member(reply, CTL_R_STANDING));
}
