/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cmd-reload.c - `idleclawctl reload`: reread the configuration
 * (privileged; the same as SIGHUP).
 */
#include "ctl.h"

static int reload_exec(struct ctl_ctx *ctx, const struct ctl_cmd_entry *self, int argc, char **argv)
{
	int first = 0, code = ctl_simple_options(ctx, self, argc, argv, 0, &first);

	if (code >= 0)
		return code;
	return ctl_run_simple(ctx, self, NULL, "Configuration reloaded.");
}

const struct ctl_cmd_entry cmd_reload_entry = {
	.name = "reload",
	.proto = CTL_CMD_RELOAD,
	.operands = "",
	.summary = "reload the daemon's configuration (like SIGHUP)",
	.exec = reload_exec,
};
