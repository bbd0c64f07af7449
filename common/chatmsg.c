/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * chatmsg.c - a system text folded into the first question (see chatmsg.h).
 */
#include <stdlib.h>

#include "chatmsg.h"
#include "jsonutil.h"
#include "xmalloc.h"

json_object *ic_messages_with_system_new(json_object *messages, const char *system)
{
	json_object *out = json_object_new_array(), *m, *first;
	size_t i, n = json_object_array_length(messages);
	const char *role, *content;
	char *text;

	for (i = 0; i < n; i++) {
		m = json_object_array_get_idx(messages, i);
		if (i > 0 || system == NULL || system[0] == '\0') {
			json_object_array_add(out, json_object_get(m));
			continue;
		}
		role = ic_json_get_string(m, "role");
		content = ic_json_get_string(m, "content");
		text = xasprintf("%s%s%s", system, IC_SYSTEM_SEP, content ? content : "");
		first = json_object_new_object();
		json_object_object_add(first, "role", json_object_new_string(role ? role : "user"));
		json_object_object_add(first, "content", json_object_new_string(text));
		free(text);
		json_object_array_add(out, first);
	}
	return out;
}
