/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* sseout.c - a chat's text events without json-c (see sseout.h). */
#include <string.h>

#include "sseout.h"

static const char text_open[] = "{\"content\":\"";
static const char tail_plain[] = "\"},\"index\":0}]}\n\n";
static const char tail_reasoning[] = "\",\"reasoning\":true},\"index\":0}]}\n\n";

/* json-c's short escapes; other bytes below 0x20 become \u00xx */
static const char short_esc[256] = {
	['\b'] = 'b',
	['\n'] = 'n',
	['\r'] = 'r',
	['\t'] = 't',
	['\f'] = 'f',
	['"'] = '"',
	['\\'] = '\\',
};

static bool needs_escape(unsigned char ch)
{
	return ch < 0x20 || ch == '"' || ch == '\\';
}

void sseout_escape(struct buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		char esc[6];

		if (!needs_escape(ch))
			continue;
		buf_append(out, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		if (short_esc[ch]) {
			esc[1] = short_esc[ch];
			buf_append(out, esc, 2);
		} else {
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 15];
			buf_append(out, esc, 6);
		}
	}
	buf_append(out, s + run, len - run);
}

char *sseout_prefix_new(const char *id, const char *model, size_t *len)
{
	struct buf b = { 0 };
	static const char start[] = "data: {\"id\":\"";
	static const char mid[] = "\",\"object\":\"chat.completion.chunk\",\"model\":\"";
	static const char end[] = "\",\"choices\":[{\"delta\":";
	char nul = '\0';

	buf_append(&b, start, sizeof(start) - 1);
	sseout_escape(&b, id, strlen(id));
	buf_append(&b, mid, sizeof(mid) - 1);
	sseout_escape(&b, model, strlen(model));
	buf_append(&b, end, sizeof(end) - 1);
	*len = buf_used(&b);
	buf_append(&b, &nul, 1);
	return b.data;
}

void sseout_text(struct buf *out, const char *prefix, size_t prefix_len, const char *text,
	size_t len, bool reasoning)
{
	buf_append(out, prefix, prefix_len);
	buf_append(out, text_open, sizeof(text_open) - 1);
	sseout_escape(out, text, len);
	if (reasoning)
		buf_append(out, tail_reasoning, sizeof(tail_reasoning) - 1);
	else
		buf_append(out, tail_plain, sizeof(tail_plain) - 1);
}
