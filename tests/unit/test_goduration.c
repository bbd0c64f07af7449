/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for common/goduration.c (Go's time.ParseDuration). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "goduration.h"

static double ok(const char *s)
{
	char err[128] = "";
	double v = -12345;

	ck_assert_msg(ic_go_duration_parse(s, &v, err, sizeof(err)) == 0, "%s: %s", s, err);
	return v;
}

static const char *bad(const char *s)
{
	static char err[128];
	double v;

	ck_assert_msg(ic_go_duration_parse(s, &v, err, sizeof(err)) < 0, "%s accepted", s);
	return err;
}

START_TEST(test_valid)
{
	ck_assert(ok("0") == 0);
	ck_assert(ok("-0") == 0);
	ck_assert(ok("5m") == 300);
	ck_assert(ok("1h30m") == 5400);
	ck_assert(ok("1.5h") == 5400);
	ck_assert(ok(".5s") == 0.5);
	ck_assert(ok("1.s") == 1);
	ck_assert(ok("300s") == 300);
	ck_assert(ok("0s") == 0);
	ck_assert(ok("-1m") == -60);
	ck_assert(ok("+2s") == 2);
	ck_assert(ok("1500ms") == 1.5);
	ck_assert(ok("2us") == 2e-6);
	ck_assert(ok("2\xc2\xb5s") == 2e-6);
	ck_assert(ok("2\xce\xbcs") == 2e-6);
	ck_assert(ok("1h1m1s1ms1us1ns") > 3661.001);
	ck_assert(ok("2562047h") > 9.2e9); /* Go's largest whole hours */
}
END_TEST

START_TEST(test_invalid)
{
	ck_assert_str_eq(bad("300"), "time: missing unit in duration \"300\"");
	ck_assert_str_eq(bad("1d"), "time: unknown unit \"d\" in duration \"1d\"");
	ck_assert_str_eq(bad(""), "time: invalid duration \"\"");
	ck_assert_str_eq(bad("-"), "time: invalid duration \"-\"");
	ck_assert_str_eq(bad("m"), "time: invalid duration \"m\"");
	ck_assert_str_eq(bad(".s"), "time: invalid duration \".s\"");
	ck_assert_str_eq(bad("5 m"), "time: unknown unit \" m\" in duration \"5 m\"");
	ck_assert_str_eq(bad("1h-5m"), "time: unknown unit \"h-\" in duration \"1h-5m\"");
	ck_assert_str_eq(bad("2562048h"), "time: invalid duration \"2562048h\"");
	ck_assert_str_eq(bad("forever"), "time: invalid duration \"forever\"");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("goduration");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_invalid);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
