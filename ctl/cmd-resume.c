/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cmd-resume.c - `idleclawctl resume`: end a pause (privileged).
 */
#include "ctl.h"

static int resume_exec(struct ctl_ctx *ctx, const struct ctl_cmd_entry *self, int argc, char **argv)
{
	int first = 0, code = ctl_simple_options(ctx, self, argc, argv, 0, &first);

	if (code >= 0)
		return code;
	return ctl_run_simple(ctx, self, NULL,
		"Resumed: idleclawd takes requests again when the machine is idle.");
}

const struct ctl_cmd_entry cmd_resume_entry = {
	.name = "resume",
	.proto = CTL_CMD_RESUME,
	.operands = "",
	.summary = "take requests again (idle detection permitting)",
	.exec = resume_exec,
};
