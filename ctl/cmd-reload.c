/*
 * cmd-reload.c - `idleclawctl reload`: reread the configuration
 * (privileged; the same as SIGHUP).
 */
#include "ctl.h"

int cmd_reload(struct ctl_ctx *ctx, const struct ctl_command *self, int argc, char **argv)
{
	int first = 0, code = ctl_simple_options(ctx, self, argc, argv, 0, &first);

	if (code >= 0)
		return code;
	return ctl_run_simple(ctx, self, CTL_CMD_RELOAD, NULL, "Configuration reloaded.");
}
