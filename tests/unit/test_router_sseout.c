/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for router/sseout.c: the text events are byte for byte what
 * the json-c object (as chat.c built it for every chunk) serialises to. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "common/sse.h"
#include "router/sseout.h"

/* The reference: the json-c object of an OpenAI chunk, framed as SSE. */
static char *reference_new(const char *id, const char *model, const char *text, size_t len,
	int reasoning, size_t *elen)
{
	json_object *o = json_object_new_object();
	json_object *choices = json_object_new_array();
	json_object *choice = json_object_new_object();
	json_object *delta = json_object_new_object();
	char *json, *event;
	size_t jlen;

	json_object_object_add(delta, "content", json_object_new_string_len(text, (int)len));
	if (reasoning)
		json_object_object_add(delta, "reasoning", json_object_new_boolean(1));
	json_object_object_add(choice, "delta", delta);
	json_object_object_add(choice, "index", json_object_new_int(0));
	json_object_array_add(choices, choice);
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "object", json_object_new_string("chat.completion.chunk"));
	json_object_object_add(o, "model", json_object_new_string(model));
	json_object_object_add(o, "choices", choices);
	json = ic_json_to_string_new(o, &jlen);
	json_object_put(o);
	event = ic_sse_data_new(json, jlen, elen);
	free(json);
	return event;
}

static void check_same(
	const char *id, const char *model, const char *text, size_t len, int reasoning)
{
	struct buf out = { 0 };
	size_t plen, rlen;
	char *prefix = sseout_prefix_new(id, model, &plen);
	char *ref = reference_new(id, model, text, len, reasoning, &rlen);

	ck_assert_uint_eq(strlen(prefix), plen);
	sseout_text(&out, prefix, plen, text, len, reasoning != 0);
	ck_assert_msg(buf_used(&out) == rlen && memcmp(buf_head(&out), ref, rlen) == 0,
		"got <%.*s>, want <%s>", (int)buf_used(&out), buf_head(&out), ref);
	buf_free(&out);
	free(prefix);
	free(ref);
}

START_TEST(test_plain_text)
{
	const char *texts[] = { "Hello", " world", "a/b</script>", "\"quoted\" \\ back",
		"line\nbreak\r\n\ttab", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\x7f del",
		"[content filtered]" };

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		check_same(
			"chatcmpl-0123456789ab", "llama3.2:latest", texts[i], strlen(texts[i]), 0);
		check_same("chatcmpl-0123456789ab", "org/model-1_x.y:7b", texts[i],
			strlen(texts[i]), 1);
	}
}
END_TEST

START_TEST(test_every_byte)
{
	char all[255];

	for (int b = 1; b < 256; b++) {
		char one = (char)b;

		all[b - 1] = one;
		check_same("chatcmpl-x", "m", &one, 1, b & 1);
	}
	check_same("chatcmpl-x", "m", all, sizeof(all), 0);
	check_same("chatcmpl-x", "m", all, sizeof(all), 1);
}
END_TEST

START_TEST(test_random_text)
{
	static const char pool[] = "ab \"\\/\n\r\t\b\f\x01\x1f<>{}:,\xc3\xa9";
	char text[64];

	srand(7);
	for (int i = 0; i < 2000; i++) {
		size_t len = 1 + (size_t)rand() % sizeof(text);

		for (size_t k = 0; k < len; k++)
			text[k] = pool[(size_t)rand() % (sizeof(pool) - 1)];
		check_same("chatcmpl-r", "bench", text, len, i & 1);
	}
}
END_TEST

START_TEST(test_appends_to_what_is_there)
{
	struct buf out = { 0 };
	size_t plen;
	char *prefix = sseout_prefix_new("chatcmpl-a", "m", &plen);
	static const char want[] =
		": ping\n\n"
		"data: {\"id\":\"chatcmpl-a\",\"object\":\"chat.completion.chunk\",\"model\":\"m\","
		"\"choices\":[{\"delta\":{\"content\":\"x\"},\"index\":0}]}\n\n";

	buf_append(&out, ": ping\n\n", 8);
	sseout_text(&out, prefix, plen, "x", 1, false);
	ck_assert_uint_eq(buf_used(&out), sizeof(want) - 1);
	ck_assert(memcmp(buf_head(&out), want, sizeof(want) - 1) == 0);
	buf_free(&out);
	free(prefix);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("router_sseout");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_plain_text);
	tcase_add_test(tc, test_every_byte);
	tcase_add_test(tc, test_random_text);
	tcase_add_test(tc, test_appends_to_what_is_there);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
