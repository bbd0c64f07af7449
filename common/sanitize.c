/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sanitize.c - key whitelists for what a node forwards to Ollama and sends
 * back to the network.
 *
 * Whitelists, not blacklists: a key Ollama adds tomorrow (a file path, a
 * raw prompt, a template) must not pass until someone decides it is safe.
 */
#include "sanitize.h"

#include <stddef.h>

static const char *const request_keys[] = { "model", "messages", "stream", "think", "keep_alive",
	"options", "tools", "format", NULL };

static const char *const chunk_keys[] = { "done", "done_reason", NULL };

static const char *const message_keys[] = { "role", "content", "thinking", "tool_calls", NULL };

/* Add to dst the members of src named in keys (values shared). */
static void copy_keys(json_object *dst, json_object *src, const char *const *keys)
{
	for (; *keys; keys++) {
		json_object *val;

		if (json_object_object_get_ex(src, *keys, &val))
			json_object_object_add(dst, *keys, json_object_get(val));
	}
}

/* A new object holding the members of src named in keys. */
static json_object *pick_new(json_object *src, const char *const *keys)
{
	json_object *dst = json_object_new_object();

	copy_keys(dst, src, keys);
	return dst;
}

json_object *ic_sanitize_request_new(json_object *params)
{
	if (!json_object_is_type(params, json_type_object))
		return NULL;
	return pick_new(params, request_keys);
}

json_object *ic_sanitize_chunk_new(json_object *ollama_line)
{
	json_object *out, *msg;

	if (!json_object_is_type(ollama_line, json_type_object))
		return NULL;
	out = json_object_new_object();
	/* message first, so the wire order matches Ollama's */
	if (json_object_object_get_ex(ollama_line, "message", &msg) &&
		json_object_is_type(msg, json_type_object))
		json_object_object_add(out, "message", pick_new(msg, message_keys));
	copy_keys(out, ollama_line, chunk_keys);
	return out;
}
