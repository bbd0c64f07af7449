/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * request-limits.c - see request-limits.h.
 */

#include "daemon/dconfig.h"
#include "daemon/request-limits.h"

/* req's "options" object, made if it is absent (or not an object). */
static json_object *options_of(json_object *req)
{
	json_object *o = NULL;

	if (json_object_object_get_ex(req, "options", &o) &&
		json_object_is_type(o, json_type_object))
		return o;
	o = json_object_new_object();
	json_object_object_add(req, "options", o);
	return o;
}

/* Set options.key to max when it is above max, or negative (Ollama's
 * "no limit"), or absent and inject is true. */
static void cap(json_object *req, const char *key, int max, bool inject)
{
	json_object *opts = NULL, *v = NULL;

	if (max <= 0)
		return;
	if (json_object_object_get_ex(req, "options", &opts) &&
		json_object_is_type(opts, json_type_object) &&
		json_object_object_get_ex(opts, key, &v) && json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);

		if (n >= 0 && n <= max)
			return;
	} else if (!inject) {
		return;
	}
	json_object_object_add(options_of(req), key, json_object_new_int(max));
}

void request_limits_apply(json_object *req, const struct daemon_config *cfg)
{
	cap(req, "num_predict", cfg->max_predict, true);
	cap(req, "num_ctx", cfg->max_ctx, false);
}
