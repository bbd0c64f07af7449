/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sse.c - Server-Sent Events: write data events and comments; parse a byte
 * stream of any chunking back into events (the WHATWG event-stream rules,
 * reduced to what we use: "data" fields and comments).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "xmalloc.h"

/* --- writing --- */

/* Length of the line break at s[i] (CRLF, LF or CR), or 0. */
static size_t newline_len(const char *s, size_t len, size_t i)
{
	if (s[i] == '\n')
		return 1;
	if (s[i] != '\r')
		return 0;
	return i + 1 < len && s[i + 1] == '\n' ? 2 : 1;
}

/* "<prefix>" + payload with every line break turned into "\n<prefix>", then "\n\n" */
static char *lines_new(const char *prefix, const char *payload, size_t payload_len, size_t *len)
{
	size_t plen = strlen(prefix);
	size_t i, lines = 1, o = 0;
	char *out;

	for (i = 0; i < payload_len; i++)
		if (payload[i] == '\n' ||
			(payload[i] == '\r' && (i + 1 >= payload_len || payload[i + 1] != '\n')))
			lines++;
	out = xmalloc(payload_len + lines * (plen + 1) + 2);
	memcpy(out, prefix, plen);
	o = plen;
	for (i = 0; i < payload_len; i++) {
		size_t nl = newline_len(payload, payload_len, i);

		if (nl == 0) {
			out[o++] = payload[i];
			continue;
		}
		out[o++] = '\n';
		memcpy(out + o, prefix, plen);
		o += plen;
		i += nl - 1;
	}
	out[o++] = '\n';
	out[o++] = '\n';
	out[o] = '\0';
	if (len != NULL)
		*len = o;
	return out;
}

char *ic_sse_data_new(const char *payload, size_t payload_len, size_t *len)
{
	return lines_new(
		"data: ", payload != NULL ? payload : "", payload != NULL ? payload_len : 0, len);
}

char *ic_sse_comment_new(const char *text, size_t *len)
{
	return lines_new(": ", text != NULL ? text : "", text != NULL ? strlen(text) : 0, len);
}

/* --- parsing --- */

struct ic_sse_parser {
	size_t max_event;
	char *line; /* the line being received, without its break */
	size_t line_len, line_cap;
	char *data; /* data of the event so far, lines joined by "\n" */
	size_t data_len, data_cap;
	bool has_data; /* a data field was seen in this event */
	bool after_cr; /* last byte was CR: a following LF is part of it */
	bool started;  /* past a possible byte-order mark */
	bool failed;   /* an event exceeded the bound: stays failed */
};

struct ic_sse_parser *ic_sse_parser_new(size_t max_event)
{
	struct ic_sse_parser *p = xcalloc(1, sizeof(*p));

	p->max_event = max_event;
	return p;
}

void ic_sse_parser_free(struct ic_sse_parser *p)
{
	if (p == NULL)
		return;
	free(p->line);
	free(p->data);
	free(p);
}

static void grow(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	*cap = *cap ? *cap : 256;
	while (*cap < need)
		*cap *= 2;
	*buf = xrealloc(*buf, *cap);
}

static int add_data(struct ic_sse_parser *p, const char *value, size_t n)
{
	size_t sep = p->has_data ? 1 : 0;

	if (p->data_len + sep + n > p->max_event) {
		p->failed = true;
		return -1;
	}
	grow(&p->data, &p->data_cap, p->data_len + sep + n + 1);
	if (sep)
		p->data[p->data_len++] = '\n';
	memcpy(p->data + p->data_len, value, n);
	p->data_len += n;
	p->data[p->data_len] = '\0';
	p->has_data = true;
	return 0;
}

static int dispatch(struct ic_sse_parser *p, ic_sse_event_cb cb, void *ctx)
{
	int rc = 0;

	if (p->has_data)
		rc = cb(ctx, p->data != NULL ? p->data : "", p->data_len);
	p->data_len = 0;
	if (p->data != NULL)
		p->data[0] = '\0';
	p->has_data = false;
	return rc;
}

/* One complete line: blank ends the event, ":" is a comment, else a field. */
static int end_line(struct ic_sse_parser *p, ic_sse_event_cb cb, void *ctx)
{
	const char *line = p->line;
	size_t n = p->line_len;
	const char *colon;
	size_t name_len;

	p->line_len = 0;
	if (n == 0)
		return dispatch(p, cb, ctx);
	if (line[0] == ':')
		return 0;
	colon = memchr(line, ':', n);
	name_len = colon != NULL ? (size_t)(colon - line) : n;
	if (name_len != 4 || memcmp(line, "data", 4) != 0)
		return 0; /* event, id, retry and unknown fields: not used */
	if (colon == NULL)
		return add_data(p, "", 0);
	colon++;
	if (colon < line + n && *colon == ' ')
		colon++;
	return add_data(p, colon, (size_t)(line + n - colon));
}

static int feed_byte(struct ic_sse_parser *p, char c, ic_sse_event_cb cb, void *ctx)
{
	bool was_cr = p->after_cr;

	p->after_cr = false;
	if (c == '\n' && was_cr)
		return 0;
	if (c == '\n' || c == '\r') {
		p->after_cr = c == '\r';
		return end_line(p, cb, ctx);
	}
	if (p->line_len >= p->max_event + IC_SSE_LINE_SLACK) {
		p->failed = true;
		return -1;
	}
	grow(&p->line, &p->line_cap, p->line_len + 1);
	p->line[p->line_len++] = c;
	return 0;
}

/* A UTF-8 byte-order mark may start the stream; it is not part of a line. */
static size_t skip_bom(struct ic_sse_parser *p, const char *buf, size_t len)
{
	static const char bom[] = "\xEF\xBB\xBF";
	size_t i = 0;

	while (!p->started && i < len) {
		/* line_len counts matched BOM bytes until the first other byte */
		if (p->line_len < 3 && buf[i] == bom[p->line_len]) {
			p->line_len++;
			i++;
			if (p->line_len == 3) {
				p->line_len = 0;
				p->started = true;
			}
			continue;
		}
		/* not a BOM after all: the matched bytes belong to the line */
		grow(&p->line, &p->line_cap, p->line_len + 1);
		memcpy(p->line, bom, p->line_len);
		p->started = true;
	}
	return i;
}

int ic_sse_parser_feed(
	struct ic_sse_parser *p, const char *buf, size_t len, ic_sse_event_cb cb, void *ctx)
{
	size_t i;

	if (p->failed)
		return -1;
	i = skip_bom(p, buf, len);
	for (; i < len; i++) {
		int rc = feed_byte(p, buf[i], cb, ctx);

		if (p->failed)
			return -1;
		if (rc != 0)
			return rc;
	}
	return 0;
}
