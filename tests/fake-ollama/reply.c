/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * reply.c - a reply's text cut into pieces, each JSON-escaped once.
 *
 * Streaming hundreds of thousands of lines a second leaves no room for
 * json-c per line: chat.c copies these pre-escaped pieces between fixed
 * line templates.  The escaping here is checked by the integration test
 * (every line must parse and the echoed text must come back unchanged).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake-ollama.h"
#include "xmalloc.h"

char *fo_json_escape_new(const char *s, size_t len, size_t *outlen)
{
	static const char hex[] = "0123456789abcdef";
	char *out = xmalloc(len * 6 + 1), *o = out;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"':
			*o++ = '\\';
			*o++ = '"';
			break;
		case '\\':
			*o++ = '\\';
			*o++ = '\\';
			break;
		case '\n':
			*o++ = '\\';
			*o++ = 'n';
			break;
		case '\r':
			*o++ = '\\';
			*o++ = 'r';
			break;
		case '\t':
			*o++ = '\\';
			*o++ = 't';
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				memcpy(o, "\\u00", 4);
				o[4] = hex[c >> 4];
				o[5] = hex[c & 0xf];
				o += 6;
			} else {
				*o++ = (char)c;
			}
		}
	}
	*o = '\0';
	if (outlen != NULL)
		*outlen = (size_t)(o - out);
	return out;
}

void fo_rfc3339(char *buf, size_t len, const struct timespec *ts)
{
	struct tm tm;
	char date[32];

	gmtime_r(&ts->tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09ldZ", date, (long)ts->tv_nsec);
}

static void pieces_add(struct fo_pieces *p, const char *s, size_t len)
{
	p->text = xrealloc(p->text, (p->n + 1) * sizeof(*p->text));
	p->len = xrealloc(p->len, (p->n + 1) * sizeof(*p->len));
	p->text[p->n] = fo_json_escape_new(s, len, &p->len[p->n]);
	p->n++;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* One piece a word, leading whitespace included: "Hello", " world". */
static void split_words(struct fo_pieces *p, const char *text)
{
	const char *s = text;

	while (*s != '\0') {
		const char *e = s;

		while (is_space(*e))
			e++;
		while (*e != '\0' && !is_space(*e))
			e++;
		pieces_add(p, s, (size_t)(e - s));
		s = e;
	}
}

static bool is_utf8_start(char c)
{
	return ((unsigned char)c & 0xc0) != 0x80;
}

static size_t count_chars(const char *text)
{
	size_t n = 0;

	for (const char *s = text; *s != '\0'; s++)
		n += is_utf8_start(*s);
	return n;
}

/* Exactly n pieces of about equal length, cut between characters. */
static void split_even(struct fo_pieces *p, const char *text, size_t chars, size_t n)
{
	const char *s = text;
	size_t done = 0;

	for (size_t i = 0; i < n; i++) {
		size_t want = (i + 1) * chars / n - done;
		const char *e = s;

		for (size_t k = 0; k < want; k++) {
			e++;
			while (*e != '\0' && !is_utf8_start(*e))
				e++;
		}
		pieces_add(p, s, (size_t)(e - s));
		done += want;
		s = e;
	}
}

void fo_pieces_split(struct fo_pieces *p, const char *text, long tokens, size_t *count)
{
	size_t chars = count_chars(text);

	memset(p, 0, sizeof(*p));
	if (tokens <= 0) {
		split_words(p, text);
		*count = p->n;
		return;
	}
	if ((size_t)tokens <= chars) {
		split_even(p, text, chars, (size_t)tokens);
	} else {
		split_words(p, text);
		if (p->n == 0)
			pieces_add(p, "", 0);
	}
	*count = (size_t)tokens;
}

void fo_pieces_free(struct fo_pieces *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->text[i]);
	free(p->text);
	free(p->len);
	memset(p, 0, sizeof(*p));
}
