/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cmd-pause.c - `idleclawctl pause [DURATION]`: stop taking requests for
 * a while or until `resume` (privileged).  Requests in flight finish.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/*
 * "90", "90s", "10m", "2h", "1d" -> seconds in 1..CTL_PAUSE_MAX_S;
 * -1 if s is anything else (tests/integration/test_ctl.py checks it).
 */
static long long parse_duration(const char *s)
{
	char *end;
	long long v, unit = 1;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		return -1;
	if (strcmp(end, "d") == 0)
		unit = 86400;
	else if (strcmp(end, "h") == 0)
		unit = 3600;
	else if (strcmp(end, "m") == 0)
		unit = 60;
	else if (strcmp(end, "s") != 0 && end[0] != '\0')
		return -1;
	if (v < 1 || v > CTL_PAUSE_MAX_S / unit)
		return -1;
	return v * unit;
}

static int pause_exec(struct ctl_ctx *ctx, const struct ctl_cmd_entry *self, int argc, char **argv)
{
	json_object *args = NULL;
	char done[128];
	int first = 0, code = ctl_simple_options(ctx, self, argc, argv, 1, &first);

	if (code >= 0)
		return code;
	snprintf(done, sizeof(done), "Paused until 'idleclawctl resume'.");
	if (first < argc) {
		long long s = parse_duration(argv[first]);

		if (s < 0) {
			ctl_errorf(ctx,
				"pause: '%s' is not a duration from 1 second to %d days "
				"(90, 90s, 10m, 2h, 1d).",
				argv[first], CTL_PAUSE_MAX_S / 86400);
			return ctl_usage(ctx, self);
		}
		args = json_object_new_object();
		json_object_object_add(args, CTL_A_SECONDS, json_object_new_int64(s));
		snprintf(done, sizeof(done), "Paused for %lld s (or until 'idleclawctl resume').",
			s);
	}
	return ctl_run_simple(ctx, self, args, done);
}

const struct ctl_cmd_entry cmd_pause_entry = {
	.name = "pause",
	.proto = CTL_CMD_PAUSE,
	.operands = "[DURATION]",
	.summary = "stop taking requests for DURATION (90, 90s, 10m, 2h, 1d) or until resume",
	.exec = pause_exec,
};
