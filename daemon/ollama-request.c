/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ollama-request.c - see ollama-request.h.
 */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/dconfig.h"
#include "daemon/ollama-request.h"
#include "goduration.h"
#include "proto.h"

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int ollama_keep_alive_check(const char *text, char *err, size_t errlen)
{
	double s;
	char why[128];

	if (!text || !*text) {
		snprintf(err, errlen, "keep_alive: empty; use a duration such as 5m, or 0");
		return -1;
	}
	if (text[0] == '-') {
		snprintf(err, errlen,
			"keep_alive: \"%s\" is negative, which keeps lent models in memory until "
			"Ollama restarts; use a duration such as 5m, or 0",
			text);
		return -1;
	}
	if (all_digits(text)) {
		if (strlen(text) > 10) {
			snprintf(err, errlen, "keep_alive: \"%s\" seconds is out of range", text);
			return -1;
		}
		return 0;
	}
	if (ic_go_duration_parse(text, &s, why, sizeof(why)) < 0) {
		snprintf(err, errlen,
			"keep_alive: \"%s\" is not a duration such as 5m, 1h30m or 0, nor a "
			"number of seconds (%s)",
			text, why);
		return -1;
	}
	return 0;
}

json_object *ollama_keep_alive_new(const char *text)
{
	if (all_digits(text))
		return json_object_new_int64(strtoll(text, NULL, 10));
	return json_object_new_string(text);
}

/* think as Ollama 0.12.3's api.ThinkValue accepts it. */
static bool think_readable(json_object *v)
{
	const char *s;

	if (json_object_is_type(v, json_type_boolean))
		return true;
	if (!json_object_is_type(v, json_type_string))
		return false;
	s = json_object_get_string(v);
	return strcmp(s, "low") == 0 || strcmp(s, "medium") == 0 || strcmp(s, "high") == 0;
}

static bool lacks(unsigned caps, unsigned cap)
{
	return (caps & IC_CAP_KNOWN) && !(caps & cap);
}

const char *ollama_request_fix(const struct daemon_config *cfg, unsigned caps, json_object *body)
{
	json_object *v;

	json_object_object_add(body, "keep_alive", ollama_keep_alive_new(cfg->keep_alive));
	if (json_object_object_get_ex(body, "think", &v) &&
		(!think_readable(v) || lacks(caps, IC_CAP_THINKING)))
		json_object_object_del(body, "think");
	if (json_object_object_get_ex(body, "tools", &v) &&
		json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0 &&
		lacks(caps, IC_CAP_TOOLS))
		return "the model does not support tools";
	return NULL;
}
