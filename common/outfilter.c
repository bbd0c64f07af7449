/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * outfilter.c - the streaming filter for text that reaches consumers.
 *
 * Two stages, each a single left-to-right scan over a small window:
 *
 *   1. spans:  <tool_call> ... </tool_call> is dropped (an unclosed span
 *              is dropped at finish);
 *   2. markup: active markup (see patterns[] below) is replaced by
 *              IC_OUTFILTER_REPLACEMENT.
 *
 * Markup runs on what the span stage lets through, so "<scr" + a span +
 * "ipt" cannot join into "<script" behind the filter's back.  The
 * replacement holds no byte that can begin or continue a pattern, so what
 * leaves stage 2 never contains one (ASCII case-insensitively).
 *
 * A stage's window is what it held back last time followed by the new
 * text.  At each byte that can start a pattern it compares the few
 * patterns; a tail that is a proper prefix of a pattern is held for the
 * next chunk (so a pattern split at any point is still seen) and is
 * released as soon as a later byte shows it is not one, or at finish.
 * Stage 2 also holds an unfinished UTF-8 character, so no output ends in
 * the middle of one.  Work is linear in the input; memory is two windows
 * that only grow, never an allocation per byte.
 *
 * Which patterns, and why not others: docs/validation.md.
 */
#include "outfilter.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "xmalloc.h"

struct pattern {
	const char *text; /* lower case ASCII */
	size_t len;
};

#define PAT(s)                   \
	{                        \
		s, sizeof(s) - 1 \
	}

static const struct pattern span_open = PAT("<tool_call>");
static const struct pattern span_close = PAT("</tool_call>");

/* Active markup.  Every pattern starts with a byte that may_start() knows. */
static const struct pattern patterns[] = {
	PAT("<script"),
	PAT("<iframe"),
	PAT("<object"),
	PAT("<embed"),
	PAT("javascript:"),
	PAT("vbscript:"),
	PAT("data:text/html"),
};
#define NPATTERNS (sizeof(patterns) / sizeof(patterns[0]))

static const char replacement[] = IC_OUTFILTER_REPLACEMENT;
static const char replacement_char[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* Could a pattern of the markup stage start with byte c (lower case)? */
static bool may_start(char c)
{
	return c == '<' || c == 'j' || c == 'v' || c == 'd';
}

/* A growable byte buffer: a stage's window, or one call's output. */
struct buf {
	char *p;
	size_t len, cap;
};

static void buf_init(struct buf *b, size_t cap)
{
	b->cap = cap ? cap : 64;
	b->p = xmalloc(b->cap);
	b->len = 0;
}

/* Append n bytes, keeping room for a terminating NUL. */
static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (n == 0)
		return;
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap *= 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* Drop the first n bytes (what a scan consumed). */
static void buf_consume(struct buf *b, size_t n)
{
	b->len -= n;
	memmove(b->p, b->p + n, b->len);
}

struct ic_outfilter {
	struct buf spans;  /* window of stage 1 */
	struct buf markup; /* window of stage 2: fed by stage 1 */
	bool in_span;	   /* inside <tool_call> ... </tool_call> */
	bool finished;
};

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

enum match { NO_MATCH, PARTIAL, FULL };

/* Does p start at s[0..avail)?  PARTIAL: all avail bytes agree but the
 * pattern is longer. */
static enum match match_at(const struct pattern *p, const char *s, size_t avail)
{
	size_t n = avail < p->len ? avail : p->len;
	size_t i;

	for (i = 0; i < n; i++)
		if (lower(s[i]) != p->text[i])
			return NO_MATCH;
	return n == p->len ? FULL : PARTIAL;
}

struct ic_outfilter *ic_outfilter_new(void)
{
	struct ic_outfilter *f = xcalloc(1, sizeof(*f));

	buf_init(&f->spans, 256);
	buf_init(&f->markup, 256);
	return f;
}

void ic_outfilter_free(struct ic_outfilter *f)
{
	if (!f)
		return;
	free(f->spans.p);
	free(f->markup.p);
	free(f);
}

/*
 * Stage 1 over its window: text outside spans goes to the markup window,
 * spans are dropped.  Scans from one '<' to the next, since both tags
 * start with it.  Returns the bytes consumed; the rest is held.
 */
static size_t scan_spans(struct ic_outfilter *f, bool final)
{
	const char *s = f->spans.p;
	size_t n = f->spans.len, i = 0, from = 0;

	while (i < n) {
		const struct pattern *tag = f->in_span ? &span_close : &span_open;
		const char *lt = memchr(s + i, '<', n - i);
		enum match m;

		if (!lt) {
			i = n;
			break;
		}
		i = (size_t)(lt - s);
		m = match_at(tag, lt, n - i);
		if (m == PARTIAL && !final)
			break;
		if (m != FULL) {
			i++;
			continue;
		}
		if (!f->in_span)
			buf_add(&f->markup, s + from, i - from);
		f->in_span = !f->in_span;
		i += tag->len;
		from = i;
	}
	/* Text before i is settled; an unclosed span at finish is dropped. */
	if (!f->in_span)
		buf_add(&f->markup, s + from, i - from);
	return i;
}

/*
 * At s[i] (i < n) in the markup window: the pattern that matches there
 * (FULL, *pat set), PARTIAL when one might once more bytes come, or
 * NO_MATCH.
 */
static enum match markup_at(const char *s, size_t n, size_t i, const struct pattern **pat)
{
	enum match best = NO_MATCH;
	size_t k;

	if (!may_start(lower(s[i])))
		return NO_MATCH;
	for (k = 0; k < NPATTERNS; k++) {
		enum match m = match_at(&patterns[k], s + i, n - i);

		if (m == FULL) {
			*pat = &patterns[k];
			return FULL;
		}
		if (m == PARTIAL)
			best = PARTIAL;
	}
	return best;
}

/* Bytes a lead byte announces (1..4), or 1 for a byte that starts nothing. */
static size_t lead_len(unsigned char c)
{
	if (c >= 0xF0 && c <= 0xF7)
		return 4;
	if (c >= 0xE0)
		return c <= 0xEF ? 3 : 1;
	if (c >= 0xC0)
		return 2;
	return 1;
}

/*
 * Append text for a consumer: valid UTF-8 as it is; each invalid sequence
 * (its maximal valid prefix, or one byte) becomes one U+FFFD, as browsers
 * decode it.  Consumers get JSON, which must be valid UTF-8.
 */
static void add_text(struct buf *out, const char *s, size_t n)
{
	size_t i = 0, from = 0;

	if (ic_utf8_count(s, n) >= 0) { /* the usual case: one pass */
		buf_add(out, s, n);
		return;
	}
	while (i < n) {
		size_t want = lead_len((unsigned char)s[i]), k;

		if (want <= n - i && ic_utf8_count(s + i, want) == 1) {
			i += want;
			continue;
		}
		/* the longest prefix that was still a valid start, at least 1 */
		k = want - 1 < n - i ? want - 1 : n - i;
		while (k > 1 && ic_utf8_complete_len(s + i, k) != 0)
			k--;
		if (k == 0)
			k = 1;
		buf_add(out, s + from, i - from);
		buf_add(out, replacement_char, sizeof(replacement_char) - 1);
		i += k;
		from = i;
	}
	buf_add(out, s + from, i - from);
}

/* Stage 2 over its window, into out.  Returns the bytes consumed. */
static size_t scan_markup(struct ic_outfilter *f, struct buf *out, bool final)
{
	const char *s = f->markup.p;
	size_t n = f->markup.len, i = 0, from = 0, keep;

	while (i < n) {
		const struct pattern *pat = NULL;
		enum match m = markup_at(s, n, i, &pat);

		if (m == PARTIAL && !final) {
			add_text(out, s + from, i - from);
			return i; /* hold the possible start */
		}
		if (m != FULL) {
			i++;
			continue;
		}
		add_text(out, s + from, i - from);
		buf_add(out, replacement, sizeof(replacement) - 1);
		i += pat->len;
		from = i;
	}
	/* Nothing pending but maybe an unfinished character: hold it, or at
	 * the end of the stream say so with U+FFFD, never a broken byte. */
	keep = ic_utf8_complete_len(s + from, n - from);
	add_text(out, s + from, keep);
	if (!final)
		return from + keep;
	if (from + keep < n)
		buf_add(out, replacement_char, sizeof(replacement_char) - 1);
	return n;
}

/* Run both stages over what the windows hold; output goes to out. */
static void run(struct ic_outfilter *f, struct buf *out, bool final)
{
	buf_consume(&f->spans, scan_spans(f, final));
	buf_consume(&f->markup, scan_markup(f, out, final));
	out->p[out->len] = '\0';
}

char *ic_outfilter_feed_new(struct ic_outfilter *f, const char *text, size_t len, size_t *outlen)
{
	struct buf out;

	buf_init(&out, len + 64);
	if (!f->finished && text) {
		buf_add(&f->spans, text, len);
		run(f, &out, false);
	}
	out.p[out.len] = '\0';
	if (outlen)
		*outlen = out.len;
	return out.p;
}

char *ic_outfilter_finish_new(struct ic_outfilter *f, size_t *outlen)
{
	struct buf out;

	buf_init(&out, f->spans.len + f->markup.len + 64);
	if (!f->finished) {
		run(f, &out, true);
		f->finished = true;
	}
	out.p[out.len] = '\0';
	if (outlen)
		*outlen = out.len;
	return out.p;
}
