/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for common/jsonutil.c: wire serialization and strict parsing. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"

static json_object *parse_str(const char *s)
{
	return ic_json_parse_new(s, strlen(s));
}

START_TEST(test_to_string_plain_noslash)
{
	json_object *o = json_object_new_object();
	char *s;
	size_t len = 0;

	json_object_object_add(o, "url", json_object_new_string("http://a/b"));
	json_object_object_add(o, "n", json_object_new_int(3));
	s = ic_json_to_string_new(o, &len);
	ck_assert_str_eq(s, "{\"url\":\"http://a/b\",\"n\":3}");
	ck_assert_uint_eq(len, strlen(s));
	free(s);
	json_object_put(o);
}
END_TEST

START_TEST(test_to_string_is_a_copy)
{
	json_object *o = json_object_new_object();
	char *a, *b;

	json_object_object_add(o, "k", json_object_new_string("one"));
	a = ic_json_to_string_new(o, NULL);
	json_object_object_add(o, "k", json_object_new_string("two"));
	b = ic_json_to_string_new(o, NULL);
	/* the first copy must survive the second serialization */
	ck_assert_str_eq(a, "{\"k\":\"one\"}");
	ck_assert_str_eq(b, "{\"k\":\"two\"}");
	free(a);
	free(b);
	json_object_put(o);
}
END_TEST

START_TEST(test_to_string_null)
{
	char *s = ic_json_to_string_new(NULL, NULL);

	ck_assert_str_eq(s, "null");
	free(s);
}
END_TEST

START_TEST(test_parse_good)
{
	json_object *o = parse_str("  {\"a\":[1,2,{\"b\":\"c/d\"}],\"t\":true}\r\n");
	char *s;

	ck_assert_ptr_nonnull(o);
	s = ic_json_to_string_new(o, NULL);
	ck_assert_str_eq(s, "{\"a\":[1,2,{\"b\":\"c/d\"}],\"t\":true}");
	free(s);
	json_object_put(o);

	/* what Ollama and consumers really send: numbers, escapes, astral chars */
	o = parse_str(
		"{\"t\":0.7,\"e\":1e-5,\"E\":2E+3,\"neg\":-3,\"z\":0,"
		"\"u\":\"\\u00e9\\ud83d\\ude00\\n\\t\\\"\\/\",\"raw\":\"\xc3\xa9\xf0\x9f\x98\x80\","
		"\"a\":[],\"o\":{},\"n\":null,\"f\":false}");
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(ic_json_get_string(o, "u"), "\xc3\xa9\xf0\x9f\x98\x80\n\t\"/");
	ck_assert_str_eq(ic_json_get_string(o, "raw"), "\xc3\xa9\xf0\x9f\x98\x80");
	json_object_put(o);

	o = parse_str("7");
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(json_object_get_int(o), 7);
	json_object_put(o);

	o = parse_str("\"just a string\"");
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_is_type(o, json_type_string));
	json_object_put(o);
}
END_TEST

START_TEST(test_parse_explicit_length)
{
	/* only the first len bytes count: the rest of the buffer is ignored */
	const char *buf = "{\"a\":1}GARBAGE";
	json_object *o = ic_json_parse_new(buf, 7);

	ck_assert_ptr_nonnull(o);
	json_object_put(o);
	ck_assert_ptr_null(ic_json_parse_new(buf, 8));
	/* a prefix of a value is truncated input, not a value */
	ck_assert_ptr_null(ic_json_parse_new(buf, 6));
}
END_TEST

START_TEST(test_parse_bad)
{
	static const char *bad[] = {
		"",
		" ",
		"{",
		"{\"a\":1}x",
		"{\"a\":1} {\"b\":2}",
		"{\"a\":1}}",
		"[1,2,]",
		"['a']",
		"{a:1}",
		"tru",
		"-",
		"\"ab",
		"01",
		"nul",
		"{\"a\":1,}",
		"\"\\u12\"",
		"{\"a\":\"\xff\"}",
		"{\"a\":\"\xc3\"}",
		NULL,
	};
	size_t i;

	for (i = 0; bad[i] != NULL; i++) {
		json_object *o = parse_str(bad[i]);

		if (o != NULL)
			ck_abort_msg("accepted bad input #%zu: %s", i, bad[i]);
	}
	ck_assert_ptr_null(ic_json_parse_new(NULL, 0));
}
END_TEST

/* json-c's own check only looks at the byte pattern (found by fuzz_json) */
START_TEST(test_parse_invalid_utf8_forms)
{
	static const char *bad[] = {
		"[\"\xc0\x80\"]",	  /* overlong NUL */
		"[\"\xe0\x80\xaf\"]",	  /* overlong "/" */
		"[\"\xed\xa0\x80\"]",	  /* surrogate U+D800 */
		"{\"\xed\xbf\xbf\":1}",	  /* surrogate U+DFFF in a key */
		"[\"\xf4\x90\x80\x80\"]", /* U+110000 */
		NULL,
	};
	json_object *o;
	size_t i;

	for (i = 0; bad[i] != NULL; i++) {
		o = parse_str(bad[i]);
		if (o != NULL)
			ck_abort_msg("accepted invalid UTF-8 #%zu", i);
	}
	/* the neighbours that are valid: U+D7FF, U+E000, U+10FFFF */
	o = parse_str("[\"\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf\"]");
	ck_assert_ptr_nonnull(o);
	json_object_put(o);
}
END_TEST

START_TEST(test_parse_embedded_nul)
{
	static const char buf[] = "{\"a\":\"x\0y\"}";
	static const char buf2[] = "{\"a\":1}\0";

	ck_assert_ptr_null(ic_json_parse_new(buf, sizeof(buf) - 1));
	ck_assert_ptr_null(ic_json_parse_new(buf2, sizeof(buf2) - 1));
}
END_TEST

/* Accepted by json-c, but not JSON, or not safe to read as C strings. */
START_TEST(test_parse_not_wire_json)
{
	static const char *bad[] = {
		"[NaN]",
		"{\"t\":Infinity}",
		"[-Infinity]",
		"{\"a\":{\"b\":[1,NaN]}}",
		"{\"node_id\":\"n\\u0000x\"}",
		"[\"\\u0000\"]",
	};
	static const char *good[] = { "[1.5e3]", "{\"a\":\"n\\u0001x\"}", "[-0.0]" };
	json_object *o;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(ic_json_parse_new(bad[i], strlen(bad[i])) == NULL, "%s", bad[i]);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		o = ic_json_parse_new(good[i], strlen(good[i]));
		ck_assert_msg(o != NULL, "%s", good[i]);
		json_object_put(o);
	}
}
END_TEST

/* "[[[...1...]]]" nested depth times */
static char *nested_new(int depth)
{
	char *s = malloc((size_t)depth * 2 + 2);
	int i;

	for (i = 0; i < depth; i++)
		s[i] = '[';
	s[depth] = '1';
	for (i = 0; i < depth; i++)
		s[depth + 1 + i] = ']';
	s[2 * depth + 1] = '\0';
	return s;
}

START_TEST(test_parse_depth_limit)
{
	char *ok = nested_new(IC_JSON_DEPTH_MAX);
	char *deep = nested_new(IC_JSON_DEPTH_MAX + 1);
	json_object *o = parse_str(ok);

	ck_assert_ptr_nonnull(o);
	json_object_put(o);
	ck_assert_ptr_null(parse_str(deep));
	free(ok);
	free(deep);
}
END_TEST

/* "[[[...]]]" with nothing inside, depth arrays (found by fuzz_json) */
static char *nested_empty_new(int depth)
{
	char *s = malloc((size_t)depth * 2 + 1);
	int i;

	for (i = 0; i < depth; i++) {
		s[i] = '[';
		s[depth + i] = ']';
	}
	s[2 * depth] = '\0';
	return s;
}

START_TEST(test_parse_depth_limit_empty)
{
	char *ok = nested_empty_new(IC_JSON_DEPTH_MAX);
	char *deep = nested_empty_new(IC_JSON_DEPTH_MAX + 1);
	json_object *o = parse_str(ok);

	ck_assert_ptr_nonnull(o);
	json_object_put(o);
	ck_assert_ptr_null(parse_str(deep));
	/* an empty object innermost counts the same */
	deep[IC_JSON_DEPTH_MAX] = '{';
	deep[IC_JSON_DEPTH_MAX + 1] = '}';
	ck_assert_ptr_null(parse_str(deep));
	free(ok);
	free(deep);
}
END_TEST

START_TEST(test_getters)
{
	json_object *o = parse_str("{\"s\":\"str\",\"i\":-42,\"b\":false,\"d\":1.5,"
				   "\"big\":9223372036854775807,\"huge\":18446744073709551615,"
				   "\"n\":null,\"is\":\"7\"}");
	int64_t n = 0;
	bool b = true;

	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(ic_json_get_string(o, "s"), "str");
	ck_assert_ptr_null(ic_json_get_string(o, "i"));
	ck_assert_ptr_null(ic_json_get_string(o, "n"));
	ck_assert_ptr_null(ic_json_get_string(o, "missing"));

	ck_assert(ic_json_get_int64(o, "i", &n));
	ck_assert_int_eq(n, -42);
	ck_assert(ic_json_get_int64(o, "big", &n));
	ck_assert_int_eq(n, INT64_MAX);
	ck_assert(!ic_json_get_int64(o, "huge", &n));
	ck_assert(!ic_json_get_int64(o, "d", &n));
	ck_assert(!ic_json_get_int64(o, "is", &n));
	ck_assert(!ic_json_get_int64(o, "b", &n));
	ck_assert(!ic_json_get_int64(o, "missing", &n));

	ck_assert(ic_json_get_bool(o, "b", &b));
	ck_assert(!b);
	ck_assert(!ic_json_get_bool(o, "i", &b));
	ck_assert(!ic_json_get_bool(o, "missing", &b));
	json_object_put(o);

	/* not an object: everything absent */
	o = parse_str("[1]");
	ck_assert_ptr_null(ic_json_get_string(o, "s"));
	ck_assert(!ic_json_get_int64(o, "i", &n));
	ck_assert(!ic_json_get_bool(o, "b", &b));
	json_object_put(o);
	ck_assert_ptr_null(ic_json_get_string(NULL, "s"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jsonutil");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_to_string_plain_noslash);
	tcase_add_test(tc, test_to_string_is_a_copy);
	tcase_add_test(tc, test_to_string_null);
	tcase_add_test(tc, test_parse_good);
	tcase_add_test(tc, test_parse_explicit_length);
	tcase_add_test(tc, test_parse_bad);
	tcase_add_test(tc, test_parse_invalid_utf8_forms);
	tcase_add_test(tc, test_parse_embedded_nul);
	tcase_add_test(tc, test_parse_not_wire_json);
	tcase_add_test(tc, test_parse_depth_limit);
	tcase_add_test(tc, test_parse_depth_limit_empty);
	tcase_add_test(tc, test_getters);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
