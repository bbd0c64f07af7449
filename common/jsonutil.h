/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * jsonutil.h - small json-c helpers used everywhere.
 */
#ifndef IC_JSONUTIL_H
#define IC_JSONUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

/* The wire format: plain, and "/" not escaped (json-c escapes it by default). */
#define IC_JSON_WIRE (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/*
 * Nesting depth ic_json_parse_new() accepts (json-c's default is 32; tool
 * JSON schemas inside ollama_params nest deeper than chat messages do).
 * A deeper document is refused, as is one with an embedded NUL byte,
 * invalid UTF-8, or anything but whitespace after the value.
 */
#define IC_JSON_DEPTH_MAX 64

/* Serialize obj in the wire format into a NEW string (caller frees);
 * *len (if not NULL) gets its length. */
char *ic_json_to_string_new(json_object *obj, size_t *len);

/* Parse exactly one JSON value from text[0..len); NULL on any error
 * (trailing garbage included), on invalid UTF-8, nesting deeper than
 * IC_JSON_DEPTH_MAX, NaN/Infinity (json-c takes them; JSON does not) and
 * strings holding \u0000 (they would be cut short as C strings).
 * Caller owns the result (json_object_put). */
json_object *ic_json_parse_new(const char *text, size_t len);

/* Member of obj of any type (not taken), or NULL when obj is not an object
 * or has no such member. */
json_object *ic_json_member(json_object *obj, const char *key);
/* Member of obj as a string/int/bool, or NULL/false when absent or mistyped. */
const char *ic_json_get_string(json_object *obj, const char *key);
bool ic_json_get_int64(json_object *obj, const char *key, int64_t *out);
bool ic_json_get_bool(json_object *obj, const char *key, bool *out);

#endif
