/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz harness for common/sanitize.c: the input is JSON text, sanitized as
 * an Ollama /api/chat request and as an Ollama NDJSON line.
 *
 * Properties checked on every input (abort() on violation):
 *   - NULL exactly when the input is not an object; the input is unchanged;
 *   - only whitelisted keys survive, each with the very value it had;
 *   - a whitelisted key of the input is never dropped (a chunk's "message"
 *     is kept when it is an object, reduced to its own whitelist);
 *   - sanitizing twice gives what sanitizing once gave.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "sanitize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

static const char *const request_keys[] = { "model", "messages", "stream", "think", "keep_alive",
	"options", "tools", "format", NULL };
static const char *const chunk_keys[] = { "message", "done", "done_reason", NULL };
static const char *const message_keys[] = { "role", "content", "thinking", "tool_calls", NULL };

static bool listed(const char *const *keys, const char *key)
{
	for (; *keys != NULL; keys++)
		if (strcmp(*keys, key) == 0)
			return true;
	return false;
}

static char *text_new(json_object *o)
{
	return ic_json_to_string_new(o, NULL);
}

/* out holds exactly the listed members of in, the same objects (except
 * those named in rebuilt, checked by the caller). */
static void check_picked(
	json_object *in, json_object *out, const char *const *keys, const char *rebuilt)
{
	json_object *v;

	json_object_object_foreach(out, key, val)
	{
		CHECK(listed(keys, key));
		CHECK(json_object_object_get_ex(in, key, &v));
		if (rebuilt == NULL || strcmp(key, rebuilt) != 0)
			CHECK(v == val);
	}
	json_object_object_foreach(in, ikey, ival)
	{
		(void)ival;
		if (listed(keys, ikey) && (rebuilt == NULL || strcmp(ikey, rebuilt) != 0))
			CHECK(json_object_object_get_ex(out, ikey, &v));
	}
}

/* f(f(x)) == f(x), as wire text */
static void check_idempotent(json_object *once, json_object *(*f)(json_object *))
{
	json_object *twice = f(once);
	char *a = text_new(once), *b = text_new(twice);

	CHECK(strcmp(a, b) == 0);
	free(a);
	free(b);
	json_object_put(twice);
}

static void check_request(json_object *in)
{
	json_object *out = ic_sanitize_request_new(in);

	CHECK((out != NULL) == json_object_is_type(in, json_type_object));
	if (out == NULL)
		return;
	check_picked(in, out, request_keys, NULL);
	check_idempotent(out, ic_sanitize_request_new);
	json_object_put(out);
}

static void check_chunk(json_object *in)
{
	json_object *out = ic_sanitize_chunk_new(in), *msg_in, *msg_out;
	bool has_in, has_out;

	CHECK((out != NULL) == json_object_is_type(in, json_type_object));
	if (out == NULL)
		return;
	check_picked(in, out, chunk_keys, "message");
	has_in = json_object_object_get_ex(in, "message", &msg_in) &&
		json_object_is_type(msg_in, json_type_object);
	has_out = json_object_object_get_ex(out, "message", &msg_out);
	CHECK(has_in == has_out);
	if (has_out) {
		CHECK(json_object_is_type(msg_out, json_type_object));
		check_picked(msg_in, msg_out, message_keys, NULL);
	}
	check_idempotent(out, ic_sanitize_chunk_new);
	json_object_put(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *in = ic_json_parse_new((const char *)data, size);
	char *before, *after;

	if (in == NULL)
		return 0;
	before = text_new(in);
	check_request(in);
	check_chunk(in);
	after = text_new(in);
	CHECK(strcmp(before, after) == 0); /* the input is not changed */
	free(before);
	free(after);
	json_object_put(in);
	return 0;
}
