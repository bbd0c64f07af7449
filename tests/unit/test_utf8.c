/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for common/utf8.c: validation, counting, safe split points. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* Count a NUL-terminated literal. */
static ssize_t count(const char *s)
{
	return ic_utf8_count(s, strlen(s));
}

START_TEST(test_count_valid)
{
	ck_assert_int_eq(count(""), 0);
	ck_assert_int_eq(count("hello"), 5);
	ck_assert_int_eq(count("h\xC3\xA9llo"), 5);	 /* é */
	ck_assert_int_eq(count("\xE2\x82\xAC"), 1);	 /* € */
	ck_assert_int_eq(count("\xF0\x9F\x98\x80!"), 2); /* 😀! */
	ck_assert_int_eq(count("\xC2\x80"), 1);		 /* U+0080 */
	ck_assert_int_eq(count("\xDF\xBF"), 1);		 /* U+07FF */
	ck_assert_int_eq(count("\xE0\xA0\x80"), 1);	 /* U+0800 */
	ck_assert_int_eq(count("\xED\x9F\xBF"), 1);	 /* U+D7FF */
	ck_assert_int_eq(count("\xEE\x80\x80"), 1);	 /* U+E000 */
	ck_assert_int_eq(count("\xEF\xBF\xBF"), 1);	 /* U+FFFF */
	ck_assert_int_eq(count("\xF0\x90\x80\x80"), 1);	 /* U+10000 */
	ck_assert_int_eq(count("\xF4\x8F\xBF\xBF"), 1);	 /* U+10FFFF */
	/* an embedded NUL is a valid code point; validate.c refuses it */
	ck_assert_int_eq(ic_utf8_count("a\0b", 3), 3);
}
END_TEST

START_TEST(test_count_invalid)
{
	static const char *const bad[] = { "\x80", /* stray continuation */
		"a\xBF"
		"b",			/* stray continuation inside */
		"\xC0\x80",		/* overlong NUL */
		"\xC1\xBF",		/* overlong 2-byte */
		"\xE0\x80\x80",		/* overlong 3-byte */
		"\xE0\x9F\xBF",		/* overlong U+07FF */
		"\xF0\x80\x80\x80",	/* overlong 4-byte */
		"\xF0\x8F\xBF\xBF",	/* overlong U+FFFF */
		"\xED\xA0\x80",		/* surrogate U+D800 */
		"\xED\xBF\xBF",		/* surrogate U+DFFF */
		"\xF4\x90\x80\x80",	/* U+110000 */
		"\xF5\x80\x80\x80",	/* lead above F4 */
		"\xFF", "\xFE", "\xC3", /* truncated 2-byte */
		"\xE2\x82",		/* truncated 3-byte */
		"\xF0\x9F\x98",		/* truncated 4-byte */
		"\xE2\x82"
		"a",			/* cut by ASCII */
		"\xC3\xC3\xA9",		/* lead followed by lead */
		"\xF8\x88\x80\x80\x80", /* old 5-byte form */
		NULL };
	size_t i;

	for (i = 0; bad[i]; i++)
		ck_assert_msg(count(bad[i]) == -1, "case %zu accepted", i);
}
END_TEST

START_TEST(test_prefix_bytes)
{
	const char *s = "a\xE2\x82\xAC"
			"b"; /* a € b: 5 bytes */

	ck_assert_uint_eq(ic_utf8_prefix_bytes(s, 5, 10), 5);
	ck_assert_uint_eq(ic_utf8_prefix_bytes(s, 5, 5), 5);
	ck_assert_uint_eq(ic_utf8_prefix_bytes(s, 5, 4), 4);
	ck_assert_uint_eq(ic_utf8_prefix_bytes(s, 5, 3), 1);
	ck_assert_uint_eq(ic_utf8_prefix_bytes(s, 5, 2), 1);
	ck_assert_uint_eq(ic_utf8_prefix_bytes(s, 5, 1), 1);
	ck_assert_uint_eq(ic_utf8_prefix_bytes(s, 5, 0), 0);
	ck_assert_uint_eq(ic_utf8_prefix_bytes("\xF0\x9F\x98\x80", 4, 3), 0);
}
END_TEST

START_TEST(test_complete_len)
{
	ck_assert_uint_eq(ic_utf8_complete_len("", 0), 0);
	ck_assert_uint_eq(ic_utf8_complete_len("abc", 3), 3);
	ck_assert_uint_eq(ic_utf8_complete_len("a\xE2", 2), 1);
	ck_assert_uint_eq(ic_utf8_complete_len("a\xE2\x82", 3), 1);
	ck_assert_uint_eq(ic_utf8_complete_len("a\xE2\x82\xAC", 4), 4);
	ck_assert_uint_eq(ic_utf8_complete_len("\xF0", 1), 0);
	ck_assert_uint_eq(ic_utf8_complete_len("\xF0\x9F", 2), 0);
	ck_assert_uint_eq(ic_utf8_complete_len("\xF0\x9F\x98", 3), 0);
	ck_assert_uint_eq(ic_utf8_complete_len("\xF0\x9F\x98\x80", 4), 4);
	ck_assert_uint_eq(ic_utf8_complete_len("x\xC3", 2), 1);
	ck_assert_uint_eq(ic_utf8_complete_len("x\xC3\xA9", 3), 3);
	/* invalid tails cannot be completed: nothing to wait for */
	ck_assert_uint_eq(ic_utf8_complete_len("x\xFF", 2), 2);
	ck_assert_uint_eq(ic_utf8_complete_len("x\x80\x80\x80", 4), 4);
	ck_assert_uint_eq(ic_utf8_complete_len("x\xED\xA0", 3), 3); /* surrogate */
	ck_assert_uint_eq(ic_utf8_complete_len("x\xE0\x80", 3), 3); /* overlong */
}
END_TEST

/* Every split of a mixed string: the complete part always counts. */
START_TEST(test_complete_len_every_split)
{
	const char *s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z";
	size_t len = strlen(s), cut;

	for (cut = 0; cut <= len; cut++) {
		size_t k = ic_utf8_complete_len(s, cut);

		ck_assert_uint_le(k, cut);
		ck_assert_uint_ge(k + 3, cut);
		ck_assert_int_ge(ic_utf8_count(s, k), 0);
		ck_assert_int_ge(ic_utf8_count(s + k, len - k), 0);
	}
}
END_TEST

START_TEST(test_seq_len)
{
	ck_assert_uint_eq(ic_utf8_seq_len("a", 1), 1);
	ck_assert_uint_eq(ic_utf8_seq_len("\xC3\xA9x", 3), 2);
	ck_assert_uint_eq(ic_utf8_seq_len("\xE2\x82\xAC", 3), 3);
	ck_assert_uint_eq(ic_utf8_seq_len("\xF0\x9F\x98\x80", 4), 4);
	ck_assert_uint_eq(ic_utf8_seq_len("\xF4\x8F\xBF\xBF", 4), 4); /* U+10FFFF */
	/* cut short: avail, not the NUL, is the end */
	ck_assert_uint_eq(ic_utf8_seq_len("\xE2\x82\xAC", 2), 0);
	ck_assert_uint_eq(ic_utf8_seq_len("\xC3\xA9", 0), 0);
	/* stray continuation, overlong, surrogate, above U+10FFFF, bad lead */
	ck_assert_uint_eq(ic_utf8_seq_len("\x80", 1), 0);
	ck_assert_uint_eq(ic_utf8_seq_len("\xC0\xAF", 2), 0);
	ck_assert_uint_eq(ic_utf8_seq_len("\xE0\x80\xAF", 3), 0);
	ck_assert_uint_eq(ic_utf8_seq_len("\xF0\x80\x80\xAF", 4), 0);
	ck_assert_uint_eq(ic_utf8_seq_len("\xED\xA0\x80", 3), 0);
	ck_assert_uint_eq(ic_utf8_seq_len("\xF4\x90\x80\x80", 4), 0);
	ck_assert_uint_eq(ic_utf8_seq_len("\xF5\x80\x80\x80", 4), 0);
	ck_assert_uint_eq(ic_utf8_seq_len("\xE2\x28\xAC", 3), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("utf8");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_count_valid);
	tcase_add_test(tc, test_count_invalid);
	tcase_add_test(tc, test_prefix_bytes);
	tcase_add_test(tc, test_complete_len);
	tcase_add_test(tc, test_complete_len_every_split);
	tcase_add_test(tc, test_seq_len);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
