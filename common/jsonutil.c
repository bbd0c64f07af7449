/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * jsonutil.c - json-c helpers: wire serialization and strict parsing.
 */
#include <math.h>
#include <string.h>

#include "jsonutil.h"
#include "utf8.h"
#include "xmalloc.h"

char *ic_json_to_string_new(json_object *obj, size_t *len)
{
	size_t n = 0;
	/* The returned text belongs to obj and is overwritten by the next
	 * serialization: copy it at once. */
	const char *s = json_object_to_json_string_length(obj, IC_JSON_WIRE, &n);
	char *copy;

	if (s == NULL) {
		s = "null";
		n = 4;
	}
	copy = xmalloc(n + 1);
	memcpy(copy, s, n);
	copy[n] = '\0';
	if (len != NULL)
		*len = n;
	return copy;
}

static bool only_whitespace(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

/*
 * json-c cannot tell "1" from the start of "12" until it sees the end of the
 * input: after a "continue" with all bytes consumed, feed the terminating
 * NUL it treats as end of data.
 */
static json_object *finish_parse(json_tokener *tok, json_object *obj, const char *text, size_t len)
{
	size_t end;

	if (obj == NULL && json_tokener_get_error(tok) == json_tokener_continue)
		return json_tokener_parse_ex(tok, "", 1);
	if (obj == NULL)
		return NULL;
	end = json_tokener_get_parse_end(tok);
	if (end > len || !only_whitespace(text + end, len - end)) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/*
 * true if o is JSON that json-c accepts but the wire must not carry:
 * - arrays/objects nested more than max deep ([] is 1, [[]] is 2); json-c's
 *   own limit counts the innermost value too, so it lets one more level of
 *   empty containers through than of containers around a scalar;
 * - NaN, Infinity, -Infinity: json-c takes them even in strict mode, but
 *   they are not JSON and Ollama would refuse them;
 * - strings holding "\u0000": every consumer reads strings as C strings, so
 *   "n\u0000x" would silently become "n".
 */
static bool not_wire_json(json_object *o, int max)
{
	size_t i, n;

	switch (json_object_get_type(o)) {
	case json_type_array:
		if (max == 0)
			return true;
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			if (not_wire_json(json_object_array_get_idx(o, i), max - 1))
				return true;
		return false;
	case json_type_object:
		if (max == 0)
			return true;
		json_object_object_foreach(o, key, v)
		{
			(void)key;
			if (not_wire_json(v, max - 1))
				return true;
		}
		return false;
	case json_type_double:
		return !isfinite(json_object_get_double(o));
	case json_type_string:
		return strlen(json_object_get_string(o)) != (size_t)json_object_get_string_len(o);
	default:
		return false;
	}
}

json_object *ic_json_parse_new(const char *text, size_t len)
{
	json_tokener *tok;
	json_object *obj;

	if (text == NULL || len == 0 || len > INT32_MAX)
		return NULL;
	/* json-c stops at a NUL; a frame with one inside is not JSON text. */
	if (memchr(text, '\0', len) != NULL)
		return NULL;
	/* json-c's JSON_TOKENER_VALIDATE_UTF8 checks only the byte pattern: it
	 * lets overlong forms, surrogates and values above U+10FFFF through. */
	if (ic_utf8_count(text, len) < 0)
		return NULL;
	/* json-c counts the outermost value as one level */
	tok = json_tokener_new_ex(IC_JSON_DEPTH_MAX + 1);
	if (tok == NULL)
		return NULL;
	json_tokener_set_flags(tok,
		JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
			JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	obj = finish_parse(tok, obj, text, len);
	if (obj != NULL &&
		(json_tokener_get_error(tok) != json_tokener_success ||
			not_wire_json(obj, IC_JSON_DEPTH_MAX))) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

json_object *ic_json_member(json_object *obj, const char *key)
{
	json_object *v = NULL;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
		!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

const char *ic_json_get_string(json_object *obj, const char *key)
{
	json_object *v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool ic_json_get_int64(json_object *obj, const char *key, int64_t *out)
{
	json_object *v;
	int64_t n;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return false;
	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	n = json_object_get_int64(v);
	/* json-c keeps values above INT64_MAX as uint64 and clamps them here */
	if (n == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
		return false;
	*out = n;
	return true;
}

bool ic_json_get_bool(json_object *obj, const char *key, bool *out)
{
	json_object *v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return false;
	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_boolean))
		return false;
	*out = json_object_get_boolean(v);
	return true;
}
