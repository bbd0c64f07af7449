/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sse.h - Server-Sent Events framing.
 *
 * The router writes events ("data: ...\n\n", ": ping\n\n"); the daemon's
 * consume path parses them back from a byte stream of any chunking.
 */
#ifndef IC_SSE_H
#define IC_SSE_H

#include <stddef.h>

/* "data: <payload>\n\n" as a NEW string; *len gets its length.  A payload
 * with newlines is split over several data: lines as the spec says. */
char *ic_sse_data_new(const char *payload, size_t payload_len, size_t *len);

#define IC_SSE_PING "ping" /* comment line ": ping\n\n" */
#define IC_SSE_DONE "[DONE]"

struct ic_sse_parser;

/* max_event: bound on one event's bytes; a longer one is an error. */
struct ic_sse_parser *ic_sse_parser_new(size_t max_event);
void ic_sse_parser_free(struct ic_sse_parser *p);

/* Called once per complete event with its data (data: lines joined by
 * "\n"); comments are skipped.  Return nonzero to stop parsing. */
typedef int (*ic_sse_event_cb)(void *ctx, const char *data, size_t len);

/* Feed bytes.  0 ok, -1 if an event exceeded max_event, or the callback's
 * nonzero value if it stopped. */
int ic_sse_parser_feed(
	struct ic_sse_parser *p, const char *buf, size_t len, ic_sse_event_cb cb, void *ctx);

/*
 * Details of the parser (additions):
 * - lines end with CRLF, LF or CR, split anywhere across feeds; a leading
 *   UTF-8 byte-order mark is skipped; "data:x" and "data: x" both give "x";
 *   "event", "id", "retry" and unknown fields are ignored; an event is
 *   dispatched at a blank line only if it had a data field; an event not
 *   ended by a blank line when the stream stops is never dispatched.
 * - the bound: the joined data of one event may be max_event bytes, and one
 *   line (comments included) max_event + IC_SSE_LINE_SLACK bytes; beyond
 *   that feed returns -1 and every later feed returns -1 too.
 * - when the callback stops parsing, the rest of buf is not consumed.
 */
#define IC_SSE_LINE_SLACK 16 /* room for "data: " on a max_event line */

/* ": <text>\n\n" (e.g. IC_SSE_PING) as a NEW string; *len gets its length. */
char *ic_sse_comment_new(const char *text, size_t *len);

#endif
