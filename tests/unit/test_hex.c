/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for common/hex.c. */
#include <check.h>
#include <stdlib.h>

#include "hex.h"

START_TEST(test_value)
{
	const char *digits = "0123456789abcdef";

	for (int i = 0; i < 16; i++) {
		ck_assert_int_eq(ic_hex_value(digits[i]), i);
		if (i >= 10)
			ck_assert_int_eq(ic_hex_value((char)(digits[i] - 'a' + 'A')), i);
	}
	/* the neighbours of each range, and what strtol() would take */
	ck_assert_int_eq(ic_hex_value('/'), -1);
	ck_assert_int_eq(ic_hex_value(':'), -1);
	ck_assert_int_eq(ic_hex_value('`'), -1);
	ck_assert_int_eq(ic_hex_value('g'), -1);
	ck_assert_int_eq(ic_hex_value('@'), -1);
	ck_assert_int_eq(ic_hex_value('G'), -1);
	ck_assert_int_eq(ic_hex_value('x'), -1);
	ck_assert_int_eq(ic_hex_value(' '), -1);
	ck_assert_int_eq(ic_hex_value('-'), -1);
	ck_assert_int_eq(ic_hex_value('\0'), -1);
	ck_assert_int_eq(ic_hex_value((char)0xe0), -1);
}
END_TEST

START_TEST(test_parse)
{
	ck_assert_int_eq(ic_hex_parse("00e9", 4), 0xe9);
	ck_assert_int_eq(ic_hex_parse("FFFF", 4), 0xffff);
	ck_assert_int_eq(ic_hex_parse("d83D", 4), 0xd83d);
	ck_assert_int_eq(ic_hex_parse("7f", 2), 0x7f);
	ck_assert_int_eq(ic_hex_parse("fffffff", 7), 0xfffffff);
	/* only n digits are read */
	ck_assert_int_eq(ic_hex_parse("12zz", 2), 0x12);
	/* a non-digit anywhere in the n */
	ck_assert_int_eq(ic_hex_parse("12z4", 4), -1);
	ck_assert_int_eq(ic_hex_parse(" 123", 4), -1);
	ck_assert_int_eq(ic_hex_parse("-123", 4), -1);
	ck_assert_int_eq(ic_hex_parse("0x12", 4), -1);
	ck_assert_int_eq(ic_hex_parse("12\0"
				      "4",
				 4),
		-1);
	/* n out of range */
	ck_assert_int_eq(ic_hex_parse("1", 0), -1);
	ck_assert_int_eq(ic_hex_parse("12345678", 8), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hex");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_value);
	tcase_add_test(tc, test_parse);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
