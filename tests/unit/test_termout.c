/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for ctl/termout.c: what network text keeps on its way to a
 * terminal. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/termout.h"
#include "xmalloc.h"

/* ctl_strip_controls() of s, as a NEW string. */
static char *strip(const char *s)
{
	char *c = xstrdup(s);
	size_t n = ctl_strip_controls(c);

	ck_assert_uint_eq(n, strlen(c));
	return c;
}

static void check(const char *in, const char *want)
{
	char *got = strip(in);

	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(test_text_kept)
{
	check("", "");
	check("plain text, tab\there\nand a newline", "plain text, tab\there\nand a newline");
	check("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80",
		"h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80");
	/* U+00A0, the first code point after the C1 controls, stays */
	check("\xC2\xA0|\xC2\xBF", "\xC2\xA0|\xC2\xBF");
	/* what only looks like a sequence stays */
	check("[2J ]0;title vector<int>", "[2J ]0;title vector<int>");
}
END_TEST

START_TEST(test_controls_taken_out)
{
	/* OSC title, clear screen, OSC 52 clipboard write */
	check("A\x1b]0;pwned\x07"
	      "B\x1b[2J"
	      "C\x1b]52;c;aGk=\x1b\\D",
		"A]0;pwnedB[2JC]52;c;aGk=\\D");
	/* every C0 control but newline and tab, and DEL */
	check("\x01\x02\x08\x0b\x0c\r\x0e\x1a\x1f|\x7f|", "||");
	/* C1 controls as UTF-8: U+0080, U+009B (CSI), U+009F */
	check("a\xC2\x80"
	      "b\xC2\x9B"
	      "31mc\xC2\x9F"
	      "d",
		"ab31mcd");
}
END_TEST

START_TEST(test_invalid_bytes)
{
	/* a raw 0x9B is CSI in a Latin-1 terminal: a '?' */
	check("a\x9b"
	      "31mb",
		"a?31mb");
	check("\xff\xfe", "??");
	check("cut \xE2\x82", "cut ??");
	check("\xC0\x80", "??"); /* overlong NUL */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("termout");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_text_kept);
	tcase_add_test(tc, test_controls_taken_out);
	tcase_add_test(tc, test_invalid_bytes);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
