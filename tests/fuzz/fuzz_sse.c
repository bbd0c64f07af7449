/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz harness for common/sse.c.
 *
 * Input: byte 0 picks the event bound (0..199, or 64 KiB from 200 up),
 * byte 1 the split points, byte 2 the event at which the callback stops
 * parsing (255: never); the rest is the byte stream.
 *
 * Properties checked on every input (abort() on violation):
 *   - the events and the result do not depend on how the stream is split
 *     (whole, at random points, byte by byte);
 *   - no event is longer than the bound, none contains CR;
 *   - after a failure (-1) every later feed fails too;
 *   - a callback's nonzero value stops parsing at once and is returned;
 *   - writer -> parser round trip: ic_sse_data_new() of every event parses
 *     back to exactly that event with the bound set to its length, and fails
 *     with the bound one byte shorter; a line of max_event +
 *     IC_SSE_LINE_SLACK bytes passes, one byte more fails; ic_sse_data_new() of the raw stream
 *     parses back to the stream with its line breaks made "\n"; a comment
 *     gives no event.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

#define CUTS_MAX 16
#define BYTEWISE_MAX 4096 /* feed byte by byte only inputs this small */
#define STOP_RC 7	  /* what the stopping callback returns */
#define NEVER 255

/* The events of one run, each stored as its length then its bytes. */
struct events {
	uint8_t *p;
	size_t len, cap;
	size_t count;
	size_t max_event;
	size_t stop_at; /* stop at this event (0-based); SIZE_MAX never */
};

static void put(struct events *e, const void *src, size_t n)
{
	if (e->len + n > e->cap) {
		e->cap = (e->len + n) * 2;
		e->p = xrealloc(e->p, e->cap);
	}
	memcpy(e->p + e->len, src, n);
	e->len += n;
}

static int on_event(void *ctx, const char *data, size_t len)
{
	struct events *e = ctx;

	CHECK(data != NULL);
	CHECK(len <= e->max_event);
	CHECK(memchr(data, '\r', len) == NULL);
	put(e, &len, sizeof(len));
	put(e, data, len);
	return e->count++ == e->stop_at ? STOP_RC : 0;
}

static bool same(const struct events *a, const struct events *b)
{
	return a->count == b->count && a->len == b->len &&
		(a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

/*
 * Feed text in pieces ending at cuts[0..ncuts) (ascending), stopping at the
 * first nonzero result, which is returned.
 */
static int run(struct events *e, size_t max_event, size_t stop_at, const char *text, size_t len,
	const size_t *cuts, size_t ncuts)
{
	struct ic_sse_parser *p = ic_sse_parser_new(max_event);
	size_t from = 0, k;
	int rc = 0;

	memset(e, 0, sizeof(*e));
	e->max_event = max_event;
	e->stop_at = stop_at;
	for (k = 0; k <= ncuts && rc == 0; k++) {
		size_t to = k < ncuts ? cuts[k] : len;

		rc = ic_sse_parser_feed(p, text + from, to - from, on_event, e);
		from = to;
	}
	if (rc == -1) /* failed stays failed */
		CHECK(ic_sse_parser_feed(p, "\n\ndata: x\n\n", 11, on_event, e) == -1);
	ic_sse_parser_free(p);
	return rc;
}

static int run_bytewise(struct events *e, size_t max_event, const char *text, size_t len)
{
	struct ic_sse_parser *p = ic_sse_parser_new(max_event);
	size_t i;
	int rc = 0;

	memset(e, 0, sizeof(*e));
	e->max_event = max_event;
	e->stop_at = SIZE_MAX;
	for (i = 0; i < len && rc == 0; i++)
		rc = ic_sse_parser_feed(p, text + i, 1, on_event, e);
	ic_sse_parser_free(p);
	return rc;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

static size_t make_cuts(uint8_t seed, size_t len, size_t *cuts)
{
	uint32_t h = 2166136261u ^ seed;
	size_t n = seed % CUTS_MAX, k;

	for (k = 0; k < n; k++) {
		h = (h ^ (uint32_t)k) * 16777619u;
		cuts[k] = len ? h % (len + 1) : 0;
	}
	qsort(cuts, n, sizeof(cuts[0]), cmp_size);
	return n;
}

/* One payload through the writer and back. */
static void check_written(const char *payload, size_t len)
{
	struct events e;
	size_t n;
	char *frame = ic_sse_data_new(payload, len, &n);

	CHECK(n >= len + 8 && frame[n - 1] == '\n' && frame[n - 2] == '\n');
	CHECK(run(&e, len, SIZE_MAX, frame, n, NULL, 0) == 0);
	CHECK(e.count == 1 && e.len == sizeof(len) + len);
	CHECK(memcmp(e.p + sizeof(len), payload, len) == 0);
	free(e.p);
	if (len > 0) {
		/* the bound at N+1: one byte short fails, with no event */
		CHECK(run(&e, len - 1, SIZE_MAX, frame, n, NULL, 0) == -1);
		CHECK(e.count == 0);
		free(e.p);
	}
	free(frame);
}

/* The stream as one payload: its line breaks come back as "\n". */
static void check_stream_written(const char *text, size_t len)
{
	struct events e;
	char *want = xmalloc(len + 1);
	size_t i, w = 0, n;
	char *frame = ic_sse_data_new(text, len, &n);

	for (i = 0; i < len; i++) {
		if (text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')
			continue;
		want[w++] = text[i] == '\r' ? '\n' : text[i];
	}
	CHECK(run(&e, len, SIZE_MAX, frame, n, NULL, 0) == 0);
	CHECK(e.count == 1 && e.len == sizeof(w) + w);
	CHECK(memcmp(e.p + sizeof(w), want, w) == 0);
	free(e.p);
	free(frame);
	free(want);
}

static void check_comment(const char *text, size_t len)
{
	struct events e;
	char *s = xstrndup(text, len);
	size_t n;
	char *frame = ic_sse_comment_new(s, &n);

	CHECK(frame[0] == ':' && run(&e, len, SIZE_MAX, frame, n, NULL, 0) == 0 && e.count == 0);
	free(e.p);
	free(frame);
	free(s);
}

/* Run each event of a run through the writer (the first few). */
static void check_events_written(const struct events *e)
{
	size_t off = 0, k;

	for (k = 0; k < e->count && k < 8; k++) {
		size_t len;

		memcpy(&len, e->p + off, sizeof(len));
		off += sizeof(len);
		check_written((const char *)e->p + off, len);
		off += len;
	}
}

/* A line (a comment here) may be max_event + IC_SSE_LINE_SLACK bytes, not one more. */
static void check_line_bound(size_t max_event)
{
	struct events e;
	size_t n = max_event + IC_SSE_LINE_SLACK;
	char *text = xmalloc(n + 3);

	memset(text, 'c', n + 1);
	text[0] = ':';
	memcpy(text + n, "\n\n", 2);
	CHECK(run(&e, max_event, SIZE_MAX, text, n + 2, NULL, 0) == 0 && e.count == 0);
	free(e.p);
	memcpy(text + n, "c\n\n", 3);
	CHECK(run(&e, max_event, SIZE_MAX, text, n + 3, NULL, 0) == -1 && e.count == 0);
	free(e.p);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct events whole, split, bytes, stopped;
	size_t cuts[CUTS_MAX], ncuts, max_event, stop_at, len;
	const char *text;
	int rc_whole, rc;

	if (size < 3 || size > (1 << 20))
		return 0;
	max_event = data[0] >= 200 ? 65536 : data[0];
	stop_at = data[2] == NEVER ? SIZE_MAX : data[2] % 8;
	text = (const char *)data + 3;
	len = size - 3;
	ncuts = make_cuts(data[1], len, cuts);

	rc_whole = run(&whole, max_event, SIZE_MAX, text, len, NULL, 0);
	CHECK(rc_whole == 0 || rc_whole == -1);
	rc = run(&split, max_event, SIZE_MAX, text, len, cuts, ncuts);
	CHECK(rc == rc_whole && same(&whole, &split));
	if (len <= BYTEWISE_MAX) {
		rc = run_bytewise(&bytes, max_event, text, len);
		CHECK(rc == rc_whole && same(&whole, &bytes));
		free(bytes.p);
	}
	if (stop_at != SIZE_MAX) {
		rc = run(&stopped, max_event, stop_at, text, len, cuts, ncuts);
		if (whole.count > stop_at) {
			CHECK(rc == STOP_RC && stopped.count == stop_at + 1);
			CHECK(memcmp(stopped.p, whole.p, stopped.len) == 0);
		} else {
			CHECK(rc == rc_whole && same(&whole, &stopped));
		}
		free(stopped.p);
	}
	check_events_written(&whole);
	if (data[1] == 0)
		check_line_bound(max_event);
	if (len <= 65536) {
		check_stream_written(text, len);
		check_comment(text, len);
	}
	free(whole.p);
	free(split.p);
	return 0;
}
