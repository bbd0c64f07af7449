/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cmd-models.c - `idleclawctl models`: the models the network offers, one
 * per line (or the reply as JSON with --json).
 */
#include <stdio.h>

#include "ctl.h"

static void print_models(json_object *root)
{
	json_object *arr = NULL;
	size_t i, n;

	if (!json_object_object_get_ex(root, CTL_R_MODELS, &arr) ||
		!json_object_is_type(arr, json_type_array))
		return;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);

		if (json_object_is_type(v, json_type_string))
			printf("%s\n", json_object_get_string(v));
	}
}

static int models_exec(struct ctl_ctx *ctx, const struct ctl_cmd_entry *self, int argc, char **argv)
{
	int first = 0, code;

	code = ctl_simple_options(ctx, self, argc, argv, 0, &first);
	if (code >= 0)
		return code;
	return ctl_run_query(ctx, self, NULL, print_models);
}

const struct ctl_cmd_entry cmd_models_entry = {
	.name = "models",
	.proto = CTL_CMD_MODELS,
	.operands = "",
	.summary = "list the models the IdleClaw network offers",
	.exec = models_exec,
};
