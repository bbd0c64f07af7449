/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz harness for common/jsonutil.c (ic_json_parse_new and the wire
 * serializer).
 *
 * Properties checked on every input (abort() on violation):
 *   - what is accepted has no NUL byte, is valid UTF-8 (common/utf8.c's
 *     rules) and nests at most IC_JSON_DEPTH_MAX deep;
 *   - serialize -> parse round trip gives an equal value, and serializing
 *     that again gives the same text (the wire form is stable), with no
 *     escaped "/" in it;
 *   - trailing garbage is refused, trailing whitespace is not;
 *   - one more level of nesting around a value of the maximum depth is
 *     refused;
 *   - the member getters agree with the member's type.
 * (json-c reads NaN, Infinity and -Infinity even in strict mode; a NaN is
 * not equal to itself, so values holding one are compared as text only.)
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "utf8.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

/* Nesting depth of containers: a scalar is 0, [] and [1] are 1, [[]] is 2. */
static size_t depth(json_object *o)
{
	size_t d = 0, i, n;

	if (json_object_is_type(o, json_type_array)) {
		n = json_object_array_length(o);
		for (i = 0; i < n; i++) {
			size_t c = depth(json_object_array_get_idx(o, i));

			if (c > d)
				d = c;
		}
		return d + 1;
	}
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, v)
		{
			size_t c = depth(v);

			(void)key;
			if (c > d)
				d = c;
		}
		return d + 1;
	}
	return 0;
}

/* true if o holds a NaN (json-c reads the literal NaN: never equal to itself) */
static bool has_nan(json_object *o)
{
	size_t i, n;

	if (json_object_is_type(o, json_type_double))
		return isnan(json_object_get_double(o));
	if (json_object_is_type(o, json_type_array)) {
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			if (has_nan(json_object_array_get_idx(o, i)))
				return true;
	}
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, v)
		{
			(void)key;
			if (has_nan(v))
				return true;
		}
	}
	return false;
}

static json_object *parse_str(const char *s, size_t len)
{
	return ic_json_parse_new(s, len);
}

/* text + suffix, parsed */
static json_object *parse_with(const char *text, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	char *s = xmalloc(len + n);
	json_object *o;

	memcpy(s, text, len);
	memcpy(s + len, suffix, n);
	o = parse_str(s, len + n);
	free(s);
	return o;
}

static void check_getters(json_object *obj)
{
	int64_t i64;
	bool b;

	if (!json_object_is_type(obj, json_type_object))
		return;
	json_object_object_foreach(obj, key, v)
	{
		const char *s = ic_json_get_string(obj, key);

		CHECK((s != NULL) == json_object_is_type(v, json_type_string));
		if (ic_json_get_int64(obj, key, &i64))
			CHECK(json_object_is_type(v, json_type_int));
		if (ic_json_get_bool(obj, key, &b))
			CHECK(json_object_is_type(v, json_type_boolean) &&
				b == json_object_get_boolean(v));
	}
}

/* true if the text has the escape sequence \/ (outside an escaped backslash) */
static bool escaped_slash(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s != '\\')
			continue;
		if (s[1] == '/')
			return true;
		if (s[1] != '\0')
			s++;
	}
	return false;
}

static void check_roundtrip(json_object *obj)
{
	size_t len, len2;
	char *text = ic_json_to_string_new(obj, &len);
	json_object *again;
	char *text2;

	CHECK(strlen(text) == len); /* NULs inside strings are escaped */
	CHECK(!escaped_slash(text));
	again = parse_str(text, len);
	CHECK(again != NULL && (json_object_equal(obj, again) || has_nan(obj)));
	text2 = ic_json_to_string_new(again, &len2);
	CHECK(len2 == len && memcmp(text, text2, len) == 0);
	free(text2);
	json_object_put(again);
	free(text);
}

/* Wrapped in one more array, a value of the maximum depth is refused. */
static void check_depth_bound(const char *text, size_t len)
{
	char *s = xmalloc(len + 2);
	json_object *o;

	s[0] = '[';
	memcpy(s + 1, text, len);
	s[len + 1] = ']';
	o = parse_str(s, len + 2);
	CHECK(o == NULL);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	json_object *obj, *other;
	size_t d;

	if (size > (1 << 20))
		return 0;
	obj = parse_str(text, size);
	if (obj == NULL)
		return 0;
	CHECK(memchr(text, '\0', size) == NULL);
	CHECK(ic_utf8_count(text, size) >= 0);
	d = depth(obj);
	CHECK(d <= IC_JSON_DEPTH_MAX);
	if (d == IC_JSON_DEPTH_MAX)
		check_depth_bound(text, size);
	check_getters(obj);
	check_roundtrip(obj);

	other = parse_with(text, size, " x");
	CHECK(other == NULL);
	other = parse_with(text, size, " \r\n\t");
	CHECK(other != NULL && (json_object_equal(obj, other) || has_nan(obj)));
	json_object_put(other);
	json_object_put(obj);
	return 0;
}
