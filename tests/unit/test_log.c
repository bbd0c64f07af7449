/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for common/log.c: level parsing, journal and plain formats. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Run one ic_log() call with stderr redirected; return what it wrote. */
static char *capture(enum ic_log_level level, const char *text)
{
	static char buf[4096];
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	ck_assert_ptr_nonnull(tmp);
	dup2(fileno(tmp), STDERR_FILENO);
	ic_log(level, "%s", text);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, sizeof(buf) - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	return buf;
}

START_TEST(test_level_parse)
{
	ck_assert_int_eq(ic_log_level_parse("err"), IC_LOG_ERR);
	ck_assert_int_eq(ic_log_level_parse("WARNING"), IC_LOG_WARNING);
	ck_assert_int_eq(ic_log_level_parse("notice"), IC_LOG_NOTICE);
	ck_assert_int_eq(ic_log_level_parse("info"), IC_LOG_INFO);
	ck_assert_int_eq(ic_log_level_parse("debug"), IC_LOG_DEBUG);
	ck_assert_int_eq(ic_log_level_parse("7"), IC_LOG_DEBUG);
	ck_assert_int_eq(ic_log_level_parse("8"), -1);
	ck_assert_int_eq(ic_log_level_parse("2"), -1);
	ck_assert_int_eq(ic_log_level_parse("loud"), -1);
	ck_assert_int_eq(ic_log_level_parse(""), -1);
	ck_assert_int_eq(ic_log_level_parse(NULL), -1);
	ck_assert_str_eq(ic_log_level_name(IC_LOG_NOTICE), "notice");
}
END_TEST

START_TEST(test_journal_prefix)
{
	ic_log_init("/usr/sbin/idleclawd");
	ic_log_set_level(IC_LOG_DEBUG);
	ic_log_set_journal(true);
	ck_assert_str_eq(capture(IC_LOG_WARNING, "disk on fire"), "<4>disk on fire\n");
	ck_assert_str_eq(capture(IC_LOG_DEBUG, "x"), "<7>x\n");
}
END_TEST

START_TEST(test_plain_format)
{
	ic_log_init("/usr/sbin/idleclawd");
	ic_log_set_level(IC_LOG_DEBUG);
	ic_log_set_journal(false);
	ck_assert_str_eq(capture(IC_LOG_ERR, "boom"), "idleclawd: error: boom\n");
	ck_assert_str_eq(capture(IC_LOG_INFO, "hello"), "idleclawd: hello\n");
}
END_TEST

START_TEST(test_level_filter_and_newlines)
{
	ic_log_set_journal(true);
	ic_log_set_level(IC_LOG_NOTICE);
	ck_assert_str_eq(capture(IC_LOG_INFO, "hidden"), "");
	ck_assert_str_eq(capture(IC_LOG_NOTICE, "a\nb"), "<5>a b\n");
}
END_TEST

START_TEST(test_long_line_truncated)
{
	char big[5000];
	char *out;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ic_log_set_journal(true);
	ic_log_set_level(IC_LOG_DEBUG);
	out = capture(IC_LOG_INFO, big);
	ck_assert_uint_lt(strlen(out), 2049);
	ck_assert_int_eq(out[strlen(out) - 1], '\n');
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_level_parse);
	tcase_add_test(tc, test_journal_prefix);
	tcase_add_test(tc, test_plain_format);
	tcase_add_test(tc, test_level_filter_and_newlines);
	tcase_add_test(tc, test_long_line_truncated);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
