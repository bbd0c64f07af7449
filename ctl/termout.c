/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * termout.c - stripping network text for a terminal, and word wrap
 * (see termout.h).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

#include "ctl.h"
#include "termout.h"
#include "utf8.h"
#include "xmalloc.h"

/* --- stripping --- */

static bool keep_ascii(unsigned char c)
{
	return (c >= 0x20 && c != 0x7F) || c == '\n' || c == '\t';
}

size_t ctl_strip_controls(char *s)
{
	char *r = s, *w = s;

	while (*r != '\0') {
		unsigned char c = (unsigned char)*r;
		size_t n;

		if (c < 0x80) {
			if (keep_ascii(c))
				*w++ = (char)c;
			r++;
			continue;
		}
		n = ic_utf8_seq_len(r, strlen(r) < 4 ? strlen(r) : 4);
		if (n == 0) {
			*w++ = '?';
			r++;
			continue;
		}
		/* U+0080..U+009F: C2 80..C2 9F */
		if (n == 2 && c == 0xC2 && (unsigned char)r[1] < 0xA0) {
			r += 2;
			continue;
		}
		memmove(w, r, n);
		w += n;
		r += n;
	}
	*w = '\0';
	return (size_t)(w - s);
}

void ctl_json_strip(json_object *o)
{
	size_t i, n;

	switch (json_object_get_type(o)) {
	case json_type_string: {
		char *s = xstrdup(json_object_get_string(o));
		size_t len = ctl_strip_controls(s);

		if (len != (size_t)json_object_get_string_len(o))
			json_object_set_string(o, s);
		free(s);
		break;
	}
	case json_type_array:
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			ctl_json_strip(json_object_array_get_idx(o, i));
		break;
	case json_type_object: {
		json_object_object_foreach(o, key, val)
		{
			(void)key;
			ctl_json_strip(val);
		}
		break;
	}
	default:
		break;
	}
}

bool ctl_strip_for(const struct ctl_ctx *ctx, FILE *f)
{
	return !ctx->raw && isatty(fileno(f));
}

void ctl_fprintf_strip(FILE *f, bool strip, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort(); /* out of memory, as xmalloc */
	if (strip)
		ctl_strip_controls(s);
	fputs(s, f);
	free(s);
}

/* --- word wrap --- */

void termout_init(struct termout *t, FILE *f, bool strip, bool wrap, bool color)
{
	memset(t, 0, sizeof(*t));
	t->f = f;
	t->strip = strip;
	t->wrap = wrap;
	t->color = color;
}

static void out(struct termout *t, const char *s, size_t n)
{
	if (n > 0 && fwrite(s, 1, n, t->f) != n)
		t->failed = true;
}

static void word_reset(struct termout *t)
{
	t->word_len = 0;
	t->word_cols = 0;
	t->word_start = t->col;
}

/* Columns of the terminal, or 0 when unknown (no wrapping then). */
static int term_width(struct termout *t)
{
	struct winsize ws;

	if (ioctl(fileno(t->f), TIOCGWINSZ, &ws) < 0)
		return 0;
	return ws.ws_col;
}

static void newline(struct termout *t)
{
	out(t, "\n", 1);
	t->col = 0;
	word_reset(t);
}

/* Columns one character takes; a code point the locale does not know
 * takes one. */
static int char_cols(const char *s, size_t n)
{
	uint32_t cp;
	int w;

	if (n == 1)
		return 1;
	if (n == 2)
		cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
	else if (n == 3)
		cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) |
			(s[2] & 0x3F);
	else
		cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
			((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
	w = wcwidth((wchar_t)cp);
	return w < 0 ? 1 : w;
}

/*
 * The character c (n bytes, cols columns) of a word does not fit on the
 * line: move the word written so far to the next line, if it started
 * after the line's start and fits on a line of its own; else break it.
 */
static void wrap_word(struct termout *t, int width, int cols)
{
	char seq[32];

	if (t->word_start > 0 && t->word_len > 0 && t->word_cols + cols <= width) {
		/* back to where the word began, clear the rest of the line */
		out(t, "\r", 1);
		snprintf(seq, sizeof(seq), "\033[%dC\033[K", t->word_start);
		out(t, seq, strlen(seq));
		out(t, "\n", 1);
		out(t, t->word, t->word_len);
		t->col = t->word_cols;
		t->word_start = 0;
		return;
	}
	newline(t);
}

static void put_char(struct termout *t, const char *c, size_t n, int width)
{
	int cols;

	if (n == 1 && c[0] == '\n') {
		newline(t);
		return;
	}
	if (n == 1 && (c[0] == ' ' || c[0] == '\t')) {
		cols = c[0] == '\t' ? 8 - t->col % 8 : 1;
		if (width > 0 && t->col + cols > width) {
			newline(t); /* the space becomes the line break */
			return;
		}
		out(t, c, 1);
		t->col += cols;
		word_reset(t);
		return;
	}
	cols = char_cols(c, n);
	if (width > 0 && t->col + cols > width)
		wrap_word(t, width, cols);
	out(t, c, n);
	t->col += cols;
	if (t->word_len + n <= sizeof(t->word)) {
		memcpy(t->word + t->word_len, c, n);
		t->word_len += n;
		t->word_cols += cols;
	} else {
		/* too long to move: it is broken where the line ends */
		t->word_len = 0;
		t->word_cols = 0;
		t->word_start = 0;
	}
}

static void write_text(struct termout *t, const char *s, size_t len)
{
	int width = t->wrap ? term_width(t) : 0;
	size_t i = 0;

	while (i < len) {
		size_t n = ic_utf8_seq_len(s + i, len - i);

		if (n == 0)
			n = 1; /* only with --raw: passed on as it is */
		put_char(t, s + i, n, width);
		i += n;
	}
}

void termout_write(struct termout *t, const char *s, size_t n)
{
	char *copy;

	if (n == 0)
		return;
	if (!t->strip) {
		write_text(t, s, n);
		return;
	}
	copy = xstrndup(s, n);
	n = ctl_strip_controls(copy);
	write_text(t, copy, n);
	free(copy);
}

void termout_puts(struct termout *t, const char *s)
{
	termout_write(t, s, strlen(s));
}

void termout_dim(struct termout *t, bool on)
{
	if (!t->color || t->dim == on)
		return;
	out(t, on ? "\033[2m" : "\033[0m", on ? 4 : 4);
	t->dim = on;
	/* a word is moved by writing it again: never across an attribute */
	t->word_len = 0;
	t->word_cols = 0;
	t->word_start = 0;
}

void termout_endline(struct termout *t)
{
	if (t->col > 0)
		newline(t);
}

void termout_rewrite_line(struct termout *t)
{
	out(t, "\r\033[K", 4);
	t->col = 0;
	word_reset(t);
}

bool termout_flush(struct termout *t)
{
	if (fflush(t->f) != 0)
		t->failed = true;
	return !t->failed;
}
