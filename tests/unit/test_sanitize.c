/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for common/sanitize.c: request and chunk whitelists. */
#include <check.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"

#define WIRE (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Sanitize JSON text with fn and compare the wire form with want. */
static void check_san(json_object *(*fn)(json_object *), const char *in, const char *want)
{
	json_object *src = json_tokener_parse(in);
	const char *before;
	char *saved;
	json_object *out;

	ck_assert_msg(src != NULL, "test JSON does not parse: %s", in);
	saved = strdup(json_object_to_json_string_ext(src, WIRE));
	out = fn(src);
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(json_object_to_json_string_ext(out, WIRE), want);
	/* the input is left as it was */
	before = json_object_to_json_string_ext(src, WIRE);
	ck_assert_str_eq(before, saved);
	free(saved);
	json_object_put(out);
	json_object_put(src);
}

START_TEST(test_request_whitelist)
{
	check_san(ic_sanitize_request_new,
		"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
		"\"stream\":true,\"think\":false,\"keep_alive\":-1,"
		"\"options\":{\"temperature\":0.5},\"tools\":[],\"format\":\"json\"}",
		"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
		"\"stream\":true,\"think\":false,\"keep_alive\":-1,"
		"\"options\":{\"temperature\":0.5},\"tools\":[],\"format\":\"json\"}");
	check_san(ic_sanitize_request_new,
		"{\"template\":\"{{.Prompt}}\",\"model\":\"m\",\"raw\":true,"
		"\"system\":\"evil\",\"prompt\":\"p\",\"images\":[\"AA\"],"
		"\"context\":[1,2],\"suffix\":\"s\",\"messages\":[],\"Model\":\"x\"}",
		"{\"model\":\"m\",\"messages\":[]}");
	check_san(ic_sanitize_request_new, "{}", "{}");
}
END_TEST

START_TEST(test_request_not_object)
{
	json_object *a = json_tokener_parse("[1]");

	ck_assert_ptr_null(ic_sanitize_request_new(a));
	ck_assert_ptr_null(ic_sanitize_request_new(NULL));
	ck_assert_ptr_null(ic_sanitize_chunk_new(a));
	ck_assert_ptr_null(ic_sanitize_chunk_new(NULL));
	json_object_put(a);
}
END_TEST

START_TEST(test_chunk_filter)
{
	check_san(ic_sanitize_chunk_new,
		"{\"model\":\"m\",\"created_at\":\"2024-01-01T00:00:00Z\","
		"\"message\":{\"role\":\"assistant\",\"content\":\"Hel\","
		"\"images\":null,\"thinking\":\"t\",\"extra\":1},\"done\":false}",
		"{\"message\":{\"role\":\"assistant\",\"content\":\"Hel\",\"thinking\":\"t\"},"
		"\"done\":false}");
	check_san(ic_sanitize_chunk_new,
		"{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\","
		"\"tool_calls\":[{\"function\":{\"name\":\"web_search\","
		"\"arguments\":{\"query\":\"x/y\"}}}]},\"done\":false}",
		"{\"message\":{\"role\":\"assistant\",\"content\":\"\","
		"\"tool_calls\":[{\"function\":{\"name\":\"web_search\","
		"\"arguments\":{\"query\":\"x/y\"}}}]},\"done\":false}");
	check_san(ic_sanitize_chunk_new,
		"{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
		"\"done\":true,\"done_reason\":\"stop\",\"total_duration\":1,"
		"\"load_duration\":2,\"prompt_eval_count\":3,\"eval_count\":4,"
		"\"eval_duration\":5,\"context\":[1,2,3]}",
		"{\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
		"\"done\":true,\"done_reason\":\"stop\"}");
	/* a message that is not an object is dropped, not passed on */
	check_san(ic_sanitize_chunk_new, "{\"message\":\"x\",\"done\":false}", "{\"done\":false}");
	check_san(ic_sanitize_chunk_new, "{\"error\":\"boom\"}", "{}");
}
END_TEST

/* Values are shared, so the result outlives the input. */
START_TEST(test_result_outlives_input)
{
	json_object *src = json_tokener_parse(
		"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
	json_object *out = ic_sanitize_request_new(src);

	json_object_put(src);
	ck_assert_str_eq(json_object_to_json_string_ext(out, WIRE),
		"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
	json_object_put(out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sanitize");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_request_whitelist);
	tcase_add_test(tc, test_request_not_object);
	tcase_add_test(tc, test_chunk_filter);
	tcase_add_test(tc, test_result_outlives_input);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
