/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for common/outfilter.c: tool_call spans, active markup, every
 * split point of every pattern, ordinary text, UTF-8 boundaries.
 */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "outfilter.h"
#include "utf8.h"
#include "xmalloc.h"

#define R IC_OUTFILTER_REPLACEMENT

/* The patterns outfilter.c must catch, as a consumer would write them. */
static const char *const replaced[] = { "<script", "<iframe", "<object", "<embed",
	"javascript:", "vbscript:", "data:text/html", NULL };

/* Growable result of one run. */
struct out {
	char *p;
	size_t len;
};

static void out_add(struct out *o, char *piece, size_t n)
{
	ck_assert_ptr_nonnull(piece);
	ck_assert_uint_eq(strlen(piece), n); /* NUL-terminated, length right */
	o->p = xrealloc(o->p, o->len + n + 1);
	memcpy(o->p + o->len, piece, n);
	o->len += n;
	o->p[o->len] = '\0';
	free(piece);
}

/* Feed text cut at the offsets in cuts[0..ncuts) (ascending), then finish.
 * Returns the whole output (caller frees). */
static char *run_cuts(const char *text, const size_t *cuts, size_t ncuts)
{
	struct ic_outfilter *f = ic_outfilter_new();
	struct out o = { xstrdup(""), 0 };
	size_t len = strlen(text), from = 0, k, n;
	char *piece;

	for (k = 0; k <= ncuts; k++) {
		size_t to = k < ncuts ? cuts[k] : len;

		piece = ic_outfilter_feed_new(f, text + from, to - from, &n);
		out_add(&o, piece, n);
		from = to;
	}
	piece = ic_outfilter_finish_new(f, &n);
	out_add(&o, piece, n);
	ic_outfilter_free(f);
	return o.p;
}

static char *run_whole(const char *text)
{
	return run_cuts(text, NULL, 0);
}

/* Pairs of cuts grow with the square of the length: short texts only. */
#define PAIR_CUTS_MAX_LEN 40

/* text must come out as want, whole, at every single cut, at every pair of
 * cuts (short texts), and fed one byte at a time. */
static void check_all_splits(const char *text, const char *want)
{
	size_t len = strlen(text), i, j;
	size_t *bytes = xcalloc(len + 1, sizeof(*bytes));
	char *got;

	got = run_whole(text);
	ck_assert_msg(
		strcmp(got, want) == 0, "whole: \"%s\" gave \"%s\", want \"%s\"", text, got, want);
	free(got);
	for (i = 0; i <= len; i++) {
		got = run_cuts(text, &i, 1);
		ck_assert_msg(strcmp(got, want) == 0, "cut at %zu: \"%s\" gave \"%s\", want \"%s\"",
			i, text, got, want);
		free(got);
	}
	for (i = 0; len <= PAIR_CUTS_MAX_LEN && i <= len; i++) {
		for (j = i; j <= len; j++) {
			size_t cuts[2] = { i, j };

			got = run_cuts(text, cuts, 2);
			ck_assert_msg(strcmp(got, want) == 0, "cuts at %zu,%zu: \"%s\" gave \"%s\"",
				i, j, text, got);
			free(got);
		}
	}
	for (i = 0; i < len; i++)
		bytes[i] = i + 1;
	got = run_cuts(text, bytes, len ? len - 1 : 0);
	ck_assert_msg(strcmp(got, want) == 0, "bytewise: \"%s\" gave \"%s\"", text, got);
	free(got);
	free(bytes);
}

/* Feed one chunk into f and compare what comes out at once. */
static void feed_expect(struct ic_outfilter *f, const char *text, const char *want)
{
	size_t n;
	char *got = ic_outfilter_feed_new(f, text, strlen(text), &n);

	ck_assert_str_eq(got, want);
	ck_assert_uint_eq(n, strlen(want));
	free(got);
}

static void finish_expect(struct ic_outfilter *f, const char *want)
{
	size_t n;
	char *got = ic_outfilter_finish_new(f, &n);

	ck_assert_str_eq(got, want);
	ck_assert_uint_eq(n, strlen(want));
	free(got);
}

static char *upper_new(const char *s)
{
	char *u = xstrdup(s), *p;

	for (p = u; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return u;
}

START_TEST(test_plain_text_unchanged)
{
	static const char *const plain[] = { "", "hello world", "std::vector<int> v;", "a < b > c",
		"x<y", "if (a<b && c>d) return;", "<", "<<", "<s", "<scr", "<scrip", "<b>bold</b>",
		"<div class=\"x\">", "java", "javascript", "javascript is a language",
		"java script:", "data:text/plain,hi", "metadata: 1", "data:", "vbscript", "<tool",
		"<tool_call", "</tool_call>", "<tool_call >", "<embe", "<objec",
		"template<typename T>", "1 <= 2", "d", "v", "j", "dat", NULL };
	size_t i;

	for (i = 0; plain[i]; i++)
		check_all_splits(plain[i], plain[i]);
}
END_TEST

START_TEST(test_patterns_replaced)
{
	check_all_splits("a<script>alert(1)</script>b", "a" R ">alert(1)</script>b");
	check_all_splits(
		"<a href=\"javascript:alert(1)\">x</a>", "<a href=\"" R "alert(1)\">x</a>");
	check_all_splits("data:text/html,<b>x</b>", R ",<b>x</b>");
	check_all_splits("<ScRiPt src=x>", R " src=x>");
	check_all_splits("JAVASCRIPT:void(0)", R "void(0)");
	check_all_splits("<<script", "<" R);
	check_all_splits("javascript:javascript:", R R);
	check_all_splits("<iframe src=x></iframe>", R " src=x></iframe>");
	check_all_splits("<object data=x>", R " data=x>");
	check_all_splits("<embed src=x>", R " src=x>");
	check_all_splits("vbscript:msgbox", R "msgbox");
	check_all_splits("<object_", R "_");
	check_all_splits("jjavascript:", "j" R);
	check_all_splits("ddata:text/html", "d" R);
}
END_TEST

/* Every pattern, in lower and upper case, at every split, between text. */
START_TEST(test_every_pattern_every_split)
{
	size_t i;

	for (i = 0; replaced[i]; i++) {
		char *up = upper_new(replaced[i]);
		char *in = xasprintf("ab%scd", replaced[i]);
		char *in_up = xasprintf("x%s", up);
		char *alone = xstrdup(replaced[i]);

		check_all_splits(in, "ab" R "cd");
		check_all_splits(in_up, "x" R);
		check_all_splits(alone, R);
		free(up);
		free(in);
		free(in_up);
		free(alone);
	}
}
END_TEST

/* Each proper prefix of a pattern, then something else or the end: the text
 * comes out unchanged, split anywhere. */
START_TEST(test_near_misses)
{
	size_t i, k;

	for (i = 0; replaced[i]; i++) {
		size_t len = strlen(replaced[i]);

		for (k = 1; k < len; k++) {
			char *pre = xstrndup(replaced[i], k);
			char *miss = xasprintf("%s#%s", pre, replaced[i] + k);
			char *mid = xasprintf("a%s b", pre);

			check_all_splits(pre, pre);
			check_all_splits(miss, miss);
			check_all_splits(mid, mid);
			free(pre);
			free(miss);
			free(mid);
		}
	}
}
END_TEST

START_TEST(test_tool_call_spans)
{
	check_all_splits("x<tool_call>{\"name\":\"f\",\"arguments\":{}}</tool_call>y", "xy");
	check_all_splits("<TOOL_CALL>a</Tool_Call>b", "b");
	check_all_splits("<tool_call>a</tool_call><tool_call>b</tool_call>c", "c");
	check_all_splits("<tool_call><script</tool_call>z", "z");
	check_all_splits("<tool_call>a<b</tool_cal</tool_call>!", "!");
	check_all_splits("<tool_call>a</tool_call", ""); /* unclosed */
	check_all_splits("keep<tool_call>never closed", "keep");
	check_all_splits("a</tool_call>b", "a</tool_call>b");
	check_all_splits("<tool_call></tool_call>", "");
	check_all_splits("<tool_call></tool_call><script", R);
	check_all_splits("<tool_call><tool_call>a</tool_call>b", "b");
}
END_TEST

/* Removing a span must not join two halves of a pattern behind our back. */
START_TEST(test_span_removal_cannot_join)
{
	check_all_splits("<scr<tool_call>x</tool_call>ipt", R);
	check_all_splits("java<tool_call></tool_call>script:x", R "x");
	check_all_splits("data:text/<tool_call>a</tool_call>html", R);
	check_all_splits("<<tool_call>a</tool_call>embed", R);
}
END_TEST

/* Does s contain a pattern, ASCII case-insensitively? */
static bool has_pattern(const char *s)
{
	size_t i;

	for (i = 0; replaced[i]; i++)
		if (strcasestr(s, replaced[i]))
			return true;
	return false;
}

/*
 * Random streams built from pieces of patterns, split at random: the
 * result never depends on the chunking and never holds a pattern.
 */
START_TEST(test_random_streams)
{
	static const char *const pieces[] = { "<", "<s", "cr", "ipt", "<scr", "java", "script", ":",
		"data:", "text/", "html", "<tool_call>", "</tool_call>", "<tool_", "call>",
		"</tool", "<iframe", "<obj", "ect", "<emb", "ed", "vb", "x", " ", "\xC3\xA9",
		"\xE2\x82\xAC", "DATA:TEXT/HTML", "<ScRiPt", "\x80", "\xF0\x9F", "\xE2", "\xFF",
		"\xED\xA0", NULL };
	size_t npieces = 0, round;
	unsigned seed = 12345;

	while (pieces[npieces])
		npieces++;
	for (round = 0; round < 400; round++) {
		char text[256] = "";
		size_t cuts[4], k, len;
		char *whole, *split;

		for (k = 0; k < 12; k++) {
			seed = seed * 1103515245u + 12345u;
			strcat(text, pieces[(seed >> 16) % npieces]);
		}
		len = strlen(text);
		for (k = 0; k < 4; k++) {
			seed = seed * 1103515245u + 12345u;
			cuts[k] = (seed >> 16) % (len + 1);
		}
		/* ascending cuts */
		for (k = 1; k < 4; k++) {
			size_t j = k;

			while (j > 0 && cuts[j - 1] > cuts[j]) {
				size_t t = cuts[j];

				cuts[j] = cuts[j - 1];
				cuts[j - 1] = t;
				j--;
			}
		}
		whole = run_whole(text);
		split = run_cuts(text, cuts, 4);
		ck_assert_msg(
			strcmp(whole, split) == 0, "\"%s\": \"%s\" vs \"%s\"", text, whole, split);
		ck_assert_msg(!has_pattern(whole), "\"%s\" gave \"%s\"", text, whole);
		ck_assert_int_ge(ic_utf8_count(whole, strlen(whole)), 0);
		free(whole);
		free(split);
	}
}
END_TEST

/* What is safe comes out at once; only a possible pattern start waits. */
START_TEST(test_prompt_release)
{
	struct ic_outfilter *f = ic_outfilter_new();

	feed_expect(f, "hello wor", "hello wor");
	feed_expect(f, "ld x<", "ld x");
	feed_expect(f, " y", "< y");
	feed_expect(f, "<scr", "");
	feed_expect(f, "eam", "<scream");
	feed_expect(f, "<scr", "");
	feed_expect(f, "ipt>", R ">");
	feed_expect(f, "java", "");
	feed_expect(f, "", "");
	feed_expect(f, "script", "");
	feed_expect(f, ":", R);
	feed_expect(f, "a<tool_call>hidden", "a");
	feed_expect(f, "more</tool", "");
	feed_expect(f, "_call>after<", "after");
	finish_expect(f, "<");
	/* after finish the filter only returns empty strings */
	feed_expect(f, "text", "");
	finish_expect(f, "");
	ic_outfilter_free(f);
}
END_TEST

START_TEST(test_finish_releases_prefix)
{
	struct ic_outfilter *f = ic_outfilter_new();

	feed_expect(f, "see data:text/htm", "see ");
	finish_expect(f, "data:text/htm");
	ic_outfilter_free(f);
}
END_TEST

/* Content and thinking use separate instances: no state leaks between them. */
START_TEST(test_two_channels)
{
	struct ic_outfilter *content = ic_outfilter_new();
	struct ic_outfilter *thinking = ic_outfilter_new();

	feed_expect(content, "ok <scr", "ok ");
	feed_expect(thinking, "ipt is what I think <tool_call>", "ipt is what I think ");
	feed_expect(content, "ipt", R);
	feed_expect(thinking, "x</tool_call>y", "y");
	feed_expect(thinking, "<ScR", "");
	feed_expect(thinking, "iPt", R);
	finish_expect(content, "");
	finish_expect(thinking, "");
	ic_outfilter_free(content);
	ic_outfilter_free(thinking);
}
END_TEST

/* Output never ends inside a UTF-8 character, whatever the chunking. */
START_TEST(test_utf8_boundaries)
{
	const char *text = "\xC3\xA9t\xC3\xA9 \xE2\x82\xAC<script \xF0\x9F\x98\x80 "
			   "<tool_call>\xE2\x82\xAC</tool_call>\xF0\x9F\x98\x80";
	const char *want = "\xC3\xA9t\xC3\xA9 \xE2\x82\xAC" R " \xF0\x9F\x98\x80 "
			   "\xF0\x9F\x98\x80";
	size_t len = strlen(text), i;

	check_all_splits(text, want);
	for (i = 0; i <= len; i++) {
		struct ic_outfilter *f = ic_outfilter_new();
		size_t n;
		char *a = ic_outfilter_feed_new(f, text, i, &n);
		char *b, *c;

		ck_assert_int_ge(ic_utf8_count(a, n), 0);
		b = ic_outfilter_feed_new(f, text + i, len - i, &n);
		ck_assert_int_ge(ic_utf8_count(b, n), 0);
		c = ic_outfilter_finish_new(f, &n);
		ck_assert_int_ge(ic_utf8_count(c, n), 0);
		free(a);
		free(b);
		free(c);
		ic_outfilter_free(f);
	}
}
END_TEST

START_TEST(test_utf8_cut_at_end)
{
	struct ic_outfilter *f = ic_outfilter_new();

	feed_expect(f, "a\xE2\x82", "a");
	feed_expect(f, "\xAC", "\xE2\x82\xAC");
	feed_expect(f, "b\xF0\x9F", "b");
	/* the stream ended inside a character: U+FFFD, never a broken byte */
	finish_expect(f, "\xEF\xBF\xBD");
	ic_outfilter_free(f);
}
END_TEST

/* Invalid UTF-8 never reaches a consumer: one U+FFFD per bad sequence. */
#define FFFD "\xEF\xBF\xBD"
START_TEST(test_invalid_utf8_replaced)
{
	check_all_splits("a\x80"
			 "b",
		"a" FFFD "b");
	check_all_splits("\xFF\xFE", FFFD FFFD);
	check_all_splits("\xC0\x80", FFFD FFFD);		   /* overlong */
	check_all_splits("\xED\xA0\x80!", FFFD FFFD FFFD "!");	   /* surrogate */
	check_all_splits("\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD); /* > U+10FFFF */
	check_all_splits("\xE2\x82"
			 "A\xE2\x82\xAC",
		FFFD "A\xE2\x82\xAC");
	check_all_splits("x\xF0\x9F\x98<script", "x" FFFD R);
	check_all_splits("\xF0\x9F\x98", FFFD); /* cut at the end */
	check_all_splits("\xC3\xA9\x80\xC3\xA9", "\xC3\xA9" FFFD "\xC3\xA9");
}
END_TEST

START_TEST(test_null_and_empty)
{
	struct ic_outfilter *f = ic_outfilter_new();
	size_t n = 99;
	char *got = ic_outfilter_feed_new(f, NULL, 0, &n);

	ck_assert_str_eq(got, "");
	ck_assert_uint_eq(n, 0);
	free(got);
	got = ic_outfilter_finish_new(f, NULL);
	ck_assert_str_eq(got, "");
	free(got);
	ic_outfilter_free(f);
	ic_outfilter_free(NULL);
}
END_TEST

/* A long stream of near-misses in small chunks: linear, and nothing lost. */
START_TEST(test_long_stream)
{
	struct ic_outfilter *f = ic_outfilter_new();
	const char *unit = "<scr<tool x<y javascrip data:text/htm ";
	size_t ulen = strlen(unit), total = 0, n, i;
	const size_t reps = 20000;
	char *got;

	for (i = 0; i < reps; i++) {
		got = ic_outfilter_feed_new(f, unit, ulen, &n);
		total += n;
		free(got);
	}
	got = ic_outfilter_finish_new(f, &n);
	total += n;
	free(got);
	ck_assert_uint_eq(total, ulen * reps);
	ic_outfilter_free(f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("outfilter");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_plain_text_unchanged);
	tcase_add_test(tc, test_patterns_replaced);
	tcase_add_test(tc, test_every_pattern_every_split);
	tcase_add_test(tc, test_near_misses);
	tcase_add_test(tc, test_tool_call_spans);
	tcase_add_test(tc, test_span_removal_cannot_join);
	tcase_add_test(tc, test_random_streams);
	tcase_add_test(tc, test_prompt_release);
	tcase_add_test(tc, test_finish_releases_prefix);
	tcase_add_test(tc, test_two_channels);
	tcase_add_test(tc, test_utf8_boundaries);
	tcase_add_test(tc, test_utf8_cut_at_end);
	tcase_add_test(tc, test_invalid_utf8_replaced);
	tcase_add_test(tc, test_null_and_empty);
	tcase_add_test(tc, test_long_stream);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
