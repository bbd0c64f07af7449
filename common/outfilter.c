/*
 * outfilter.c - the streaming filter for text that reaches consumers.
 *
 * The filter keeps a small window: the bytes held back from the previous
 * chunk (at most the longest pattern minus one, plus an unfinished UTF-8
 * character) followed by the new chunk.  It scans that window once; at each
 * byte that can start a pattern it compares the few patterns that begin
 * with that byte.  A tail that is a proper prefix of some pattern is held
 * back for the next chunk, so a pattern split at any point is still seen,
 * and text that only looked like a start is released as soon as the next
 * byte shows otherwise, or at finish.  Work is linear in the input; memory
 * is two buffers that only grow, never one allocation per byte.
 *
 * Which patterns, and why not others: docs/validation.md.
 */
#include "outfilter.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "xmalloc.h"

enum pat_kind {
	PAT_REPLACE,	/* active markup: replaced by IC_OUTFILTER_REPLACEMENT */
	PAT_SPAN_OPEN,	/* <tool_call>: drop everything up to the close */
};

struct pattern {
	const char *text;	/* lower case ASCII */
	size_t len;
	enum pat_kind kind;
};

#define PAT(s, k) { s, sizeof(s) - 1, k }

static const struct pattern patterns[] = {
	PAT("<tool_call>", PAT_SPAN_OPEN),
	PAT("<script", PAT_REPLACE),
	PAT("<iframe", PAT_REPLACE),
	PAT("<object", PAT_REPLACE),
	PAT("<embed", PAT_REPLACE),
	PAT("javascript:", PAT_REPLACE),
	PAT("vbscript:", PAT_REPLACE),
	PAT("data:text/html", PAT_REPLACE),
};
#define NPATTERNS (sizeof(patterns) / sizeof(patterns[0]))

static const struct pattern span_close = PAT("</tool_call>", PAT_SPAN_OPEN);

static const char replacement[] = IC_OUTFILTER_REPLACEMENT;
static const char replacement_char[] = "\xEF\xBF\xBD";	/* U+FFFD */

struct ic_outfilter {
	char *win;		/* held tail + the chunk being scanned */
	size_t held;		/* bytes of win held from the previous chunk */
	size_t cap;
	bool in_span;		/* inside <tool_call> ... </tool_call> */
	bool finished;
};

/* Output of one call: grows by doubling. */
struct obuf {
	char *p;
	size_t len, cap;
};

static void obuf_add(struct obuf *o, const char *s, size_t n)
{
	if (n == 0)
		return;
	if (o->len + n + 1 > o->cap) {
		while (o->len + n + 1 > o->cap)
			o->cap *= 2;
		o->p = xrealloc(o->p, o->cap);
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

enum match { NO_MATCH, PARTIAL, FULL };

/* Does pattern p start at s[0..avail)?  PARTIAL: all avail bytes agree
 * but the pattern is longer. */
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

	f->cap = 256;
	f->win = xmalloc(f->cap);
	return f;
}

void ic_outfilter_free(struct ic_outfilter *f)
{
	if (!f)
		return;
	free(f->win);
	free(f);
}

/* Scanner state for one pass over the window. */
struct scan {
	const char *s;
	size_t n;
	size_t i;		/* next byte to look at */
	size_t from;		/* first byte not yet emitted or dropped */
	bool final;
};

/*
 * Inside a span: look for the close tag only; everything else is dropped.
 * Returns false when the rest must be held back.
 */
static bool step_span(struct ic_outfilter *f, struct scan *sc)
{
	const char *lt = memchr(sc->s + sc->i, '<', sc->n - sc->i);

	if (!lt) {
		sc->i = sc->from = sc->n;
		return true;
	}
	sc->i = sc->from = (size_t)(lt - sc->s);
	switch (match_at(&span_close, lt, sc->n - sc->i)) {
	case FULL:
		f->in_span = false;
		sc->i = sc->from = sc->i + span_close.len;
		return true;
	case PARTIAL:
		if (!sc->final)
			return false;
		break;
	case NO_MATCH:
		break;
	}
	sc->i = sc->from = sc->i + 1;
	return true;
}

/* Could any pattern start with byte c? */
static bool may_start(char c)
{
	c = lower(c);
	return c == '<' || c == 'j' || c == 'v' || c == 'd';
}

/*
 * Outside a span, at byte sc->i.  Returns false when the rest must be
 * held back.
 */
static bool step_text(struct ic_outfilter *f, struct scan *sc, struct obuf *o)
{
	const char *at = sc->s + sc->i;
	size_t avail = sc->n - sc->i;
	bool partial = false;
	size_t k;

	if (!may_start(*at)) {
		sc->i++;
		return true;
	}
	for (k = 0; k < NPATTERNS; k++) {
		const struct pattern *p = &patterns[k];
		enum match m = match_at(p, at, avail);

		if (m == PARTIAL)
			partial = true;
		if (m != FULL)
			continue;
		obuf_add(o, sc->s + sc->from, sc->i - sc->from);
		if (p->kind == PAT_SPAN_OPEN)
			f->in_span = true;
		else
			obuf_add(o, replacement, sizeof(replacement) - 1);
		sc->i = sc->from = sc->i + p->len;
		return true;
	}
	if (partial && !sc->final)
		return false;
	sc->i++;
	return true;
}

/* Scan the window; emit what is safe; keep the held tail in f->win. */
static void scan_window(struct ic_outfilter *f, struct obuf *o, bool final)
{
	struct scan sc = { .s = f->win, .n = f->held, .final = final };
	bool go = true;
	size_t keep;

	while (go && sc.i < sc.n)
		go = f->in_span ? step_span(f, &sc) : step_text(f, &sc, o);
	if (f->in_span) {
		sc.from = sc.i;		/* dropped: nothing to emit */
	} else if (go) {
		/* No pattern pending: hold only an unfinished character. */
		keep = ic_utf8_complete_len(sc.s + sc.from, sc.n - sc.from);
		obuf_add(o, sc.s + sc.from, keep);
		sc.from += keep;
		if (final && sc.from < sc.n) {
			obuf_add(o, replacement_char, sizeof(replacement_char) - 1);
			sc.from = sc.n;
		}
	} else {
		obuf_add(o, sc.s + sc.from, sc.i - sc.from);
		sc.from = sc.i;
	}
	if (final)
		sc.from = sc.n;
	f->held = sc.n - sc.from;
	memmove(f->win, f->win + sc.from, f->held);
}

static char *obuf_finish(struct obuf *o, size_t *outlen)
{
	o->p[o->len] = '\0';
	if (outlen)
		*outlen = o->len;
	return o->p;
}

char *ic_outfilter_feed_new(struct ic_outfilter *f, const char *text, size_t len,
			    size_t *outlen)
{
	struct obuf o = { .cap = len + 64 };

	o.p = xmalloc(o.cap);
	if (f->finished || !text)
		len = 0;
	if (f->held + len > f->cap) {
		while (f->held + len > f->cap)
			f->cap *= 2;
		f->win = xrealloc(f->win, f->cap);
	}
	if (len)
		memcpy(f->win + f->held, text, len);
	f->held += len;
	if (!f->finished)
		scan_window(f, &o, false);
	return obuf_finish(&o, outlen);
}

char *ic_outfilter_finish_new(struct ic_outfilter *f, size_t *outlen)
{
	struct obuf o = { .cap = f->held + 64 };

	o.p = xmalloc(o.cap);
	if (!f->finished) {
		scan_window(f, &o, true);
		f->finished = true;
		f->in_span = false;
	}
	return obuf_finish(&o, outlen);
}
