/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for common/sse.c: SSE writing and parsing under any chunking. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"

/* Collects events as "<data>|" into one string. */
struct sink {
	char buf[8192];
	size_t len;
	int events;
	int stop_after; /* return 7 at this event (0: never) */
};

static int collect(void *ctx, const char *data, size_t len)
{
	struct sink *s = ctx;

	ck_assert_uint_lt(s->len + len + 1, sizeof(s->buf));
	ck_assert_uint_eq(strlen(data), len); /* NUL-terminated for convenience */
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	s->buf[s->len++] = '|';
	s->buf[s->len] = '\0';
	s->events++;
	return s->stop_after != 0 && s->events == s->stop_after ? 7 : 0;
}

/* Feed text in pieces of step bytes; return the first nonzero feed result. */
static int feed_steps(
	struct ic_sse_parser *p, const char *text, size_t len, size_t step, struct sink *s)
{
	size_t i;

	for (i = 0; i < len; i += step) {
		size_t n = len - i < step ? len - i : step;
		int rc = ic_sse_parser_feed(p, text + i, n, collect, s);

		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Parse text fed byte by byte, in 3-byte pieces and whole; all must agree. */
static void expect_events(const char *text, const char *want)
{
	static const size_t steps[] = { 1, 3, 1000000 };
	size_t k;

	for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		struct ic_sse_parser *p = ic_sse_parser_new(1024);
		struct sink s = { .len = 0 };

		ck_assert_int_eq(feed_steps(p, text, strlen(text), steps[k], &s), 0);
		if (strcmp(s.buf, want) != 0)
			ck_abort_msg("step %zu: got \"%s\", want \"%s\"", steps[k], s.buf, want);
		ic_sse_parser_free(p);
	}
}

START_TEST(test_write_data)
{
	size_t len = 0;
	char *s = ic_sse_data_new("{\"a\":1}", 7, &len);

	ck_assert_str_eq(s, "data: {\"a\":1}\n\n");
	ck_assert_uint_eq(len, strlen(s));
	free(s);
	s = ic_sse_data_new("[DONE]", strlen(IC_SSE_DONE), &len);
	ck_assert_str_eq(s, "data: [DONE]\n\n");
	free(s);
	s = ic_sse_data_new("a\nb\r\nc\rd", 8, &len);
	ck_assert_str_eq(s, "data: a\ndata: b\ndata: c\ndata: d\n\n");
	ck_assert_uint_eq(len, strlen(s));
	free(s);
	s = ic_sse_data_new("", 0, &len);
	ck_assert_str_eq(s, "data: \n\n");
	free(s);
	s = ic_sse_data_new("end\n", 4, NULL);
	ck_assert_str_eq(s, "data: end\ndata: \n\n");
	free(s);
	/* only payload_len bytes are used */
	s = ic_sse_data_new("abcdef", 3, &len);
	ck_assert_str_eq(s, "data: abc\n\n");
	free(s);
}
END_TEST

START_TEST(test_write_comment)
{
	size_t len = 0;
	char *s = ic_sse_comment_new(IC_SSE_PING, &len);

	ck_assert_str_eq(s, ": ping\n\n");
	ck_assert_uint_eq(len, 8);
	free(s);
}
END_TEST

START_TEST(test_parse_basic)
{
	/* the consumer stream of protocol.md */
	expect_events(
		"data: {\"id\":\"chatcmpl-1a2b3c4d5e6f\",\"object\":\"chat.completion.chunk\","
		"\"model\":\"llama3.2:3b\",\"choices\":[{\"delta\":{\"content\":\"Hello\"},"
		"\"index\":0}]}\n\n: ping\n\ndata: [DONE]\n\n",
		"{\"id\":\"chatcmpl-1a2b3c4d5e6f\",\"object\":\"chat.completion.chunk\","
		"\"model\":\"llama3.2:3b\",\"choices\":[{\"delta\":{\"content\":\"Hello\"},"
		"\"index\":0}]}|[DONE]|");
}
END_TEST

START_TEST(test_parse_line_endings)
{
	expect_events("data: a\r\n\r\ndata: b\n\ndata: c\r\rdata: d\r\n\n", "a|b|c|d|");
	/* CR then LF split over two feeds is one line break, not two */
	expect_events("data: x\r\ndata: y\r\n\r\n", "x\ny|");
}
END_TEST

START_TEST(test_parse_fields)
{
	expect_events("data:nospace\n\n", "nospace|");
	expect_events("data:  two\n\n", " two|");
	expect_events("data\n\n", "|");
	expect_events("data: \n\n", "|");
	expect_events("data: a\ndata: b\ndata\n\n", "a\nb\n|");
	expect_events("event: x\nid: 3\nretry: 10\nfoo: bar\ndata: v\n\n", "v|");
	/* no data field: nothing dispatched */
	expect_events("event: x\n\n\n\n: c\n\n", "");
	expect_events(": ping\n\n: ping\ndata: after\n\n", "after|");
	expect_events("data: a:b: c\n\n", "a:b: c|");
	/* an unterminated event is never dispatched */
	expect_events("data: a\n\ndata: b\n", "a|");
	/* a byte-order mark at the start is skipped */
	expect_events("\xEF\xBB\xBF"
		      "data: bom\n\n",
		"bom|");
	expect_events("\xEF\xBB"
		      "x\n\ndata: y\n\n",
		"y|");
}
END_TEST

START_TEST(test_roundtrip_all_splits)
{
	const char *payloads[] = { "{\"a\":\"x\\ny\"}", "two\nlines", "", "[DONE]" };
	char stream[512] = "";
	char want[512] = "";
	size_t i, cut;

	for (i = 0; i < 4; i++) {
		size_t len;
		char *ev = ic_sse_data_new(payloads[i], strlen(payloads[i]), &len);

		strcat(stream, ev);
		strcat(stream, ": ping\n\n");
		strcat(want, payloads[i]);
		strcat(want, "|");
		free(ev);
	}
	/* every split point into two feeds */
	for (cut = 0; cut <= strlen(stream); cut++) {
		struct ic_sse_parser *p = ic_sse_parser_new(64);
		struct sink s = { .len = 0 };

		ck_assert_int_eq(ic_sse_parser_feed(p, stream, cut, collect, &s), 0);
		ck_assert_int_eq(
			ic_sse_parser_feed(p, stream + cut, strlen(stream) - cut, collect, &s), 0);
		ck_assert_str_eq(s.buf, want);
		ic_sse_parser_free(p);
	}
}
END_TEST

/* "data: " + n bytes of 'x' + "\n\n" */
static char *event_of(size_t n)
{
	char *s = malloc(n + 9);

	memcpy(s, "data: ", 6);
	memset(s + 6, 'x', n);
	memcpy(s + 6 + n, "\n\n", 3);
	return s;
}

START_TEST(test_bound_single_line)
{
	enum { MAX = 100 };
	char *ok = event_of(MAX);
	char *big = event_of(MAX + 1);
	struct ic_sse_parser *p = ic_sse_parser_new(MAX);
	struct sink s = { .len = 0 };

	ck_assert_int_eq(feed_steps(p, ok, strlen(ok), 1, &s), 0);
	ck_assert_int_eq(s.events, 1);
	ck_assert_uint_eq(s.len, MAX + 1);
	ck_assert_int_eq(feed_steps(p, big, strlen(big), 1, &s), -1);
	ck_assert_int_eq(s.events, 1);
	/* once failed, stays failed */
	ck_assert_int_eq(ic_sse_parser_feed(p, ok, strlen(ok), collect, &s), -1);
	ck_assert_int_eq(s.events, 1);
	ic_sse_parser_free(p);
	free(ok);
	free(big);
}
END_TEST

START_TEST(test_bound_multi_line)
{
	/* 3 lines of 10 joined by 2 newlines: 32 bytes of data */
	const char *text = "data: 0123456789\ndata: 0123456789\ndata: 0123456789\n\n";
	struct ic_sse_parser *p = ic_sse_parser_new(32);
	struct sink s = { .len = 0 };

	ck_assert_int_eq(feed_steps(p, text, strlen(text), 1, &s), 0);
	ck_assert_int_eq(s.events, 1);
	ic_sse_parser_free(p);
	p = ic_sse_parser_new(31);
	ck_assert_int_eq(feed_steps(p, text, strlen(text), 1, &s), -1);
	ck_assert_int_eq(s.events, 1);
	ic_sse_parser_free(p);
}
END_TEST

START_TEST(test_bound_long_comment)
{
	enum { MAX = 50 };
	char line[MAX + IC_SSE_LINE_SLACK + 4];
	struct ic_sse_parser *p = ic_sse_parser_new(MAX);
	struct sink s = { .len = 0 };

	/* a comment of exactly max_event + slack bytes is fine ... */
	memset(line, 'c', sizeof(line));
	line[0] = ':';
	line[MAX + IC_SSE_LINE_SLACK] = '\n';
	ck_assert_int_eq(feed_steps(p, line, MAX + IC_SSE_LINE_SLACK + 1, 1, &s), 0);
	ck_assert_int_eq(feed_steps(p, "data: ok\n\n", 10, 1, &s), 0);
	ck_assert_int_eq(s.events, 1);
	/* ... one byte more is not, even before its line ends */
	line[MAX + IC_SSE_LINE_SLACK] = 'c';
	ck_assert_int_eq(feed_steps(p, line, MAX + IC_SSE_LINE_SLACK, 1, &s), 0);
	ck_assert_int_eq(feed_steps(p, line, 1, 1, &s), -1);
	ic_sse_parser_free(p);
}
END_TEST

START_TEST(test_callback_stops)
{
	const char *text = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
	struct ic_sse_parser *p = ic_sse_parser_new(100);
	struct sink s = { .len = 0, .stop_after = 2 };

	ck_assert_int_eq(ic_sse_parser_feed(p, text, strlen(text), collect, &s), 7);
	ck_assert_str_eq(s.buf, "1|2|");
	ic_sse_parser_free(p);
	ic_sse_parser_free(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sse");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_write_data);
	tcase_add_test(tc, test_write_comment);
	tcase_add_test(tc, test_parse_basic);
	tcase_add_test(tc, test_parse_line_endings);
	tcase_add_test(tc, test_parse_fields);
	tcase_add_test(tc, test_roundtrip_all_splits);
	tcase_add_test(tc, test_bound_single_line);
	tcase_add_test(tc, test_bound_multi_line);
	tcase_add_test(tc, test_bound_long_comment);
	tcase_add_test(tc, test_callback_stops);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
