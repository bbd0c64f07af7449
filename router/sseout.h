/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sseout.h - the SSE events of a chat's text, written without json-c.
 *
 * Every content or thinking chunk a consumer receives is
 *   data: {"id":ID,"object":"chat.completion.chunk","model":MODEL,
 *          "choices":[{"delta":{"content":TEXT[,"reasoning":true]},"index":0}]}\n\n
 * (one line).  Everything before the delta's value is the same for the
 * whole chat, so it is built once; each event is then that prefix, the
 * text escaped as json-c escapes it in the wire format
 * (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), and a fixed
 * tail.  The bytes are exactly those of the json-c object serialised and
 * framed by ic_sse_data_new() (escaped JSON holds no line break), which a
 * unit test checks; rarer events (finish_reason, errors) still use json-c.
 */
#ifndef IC_ROUTER_SSEOUT_H
#define IC_ROUTER_SSEOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* "data: {"id":...,"choices":[{"delta":" for one chat: a NEW string. */
char *sseout_prefix_new(const char *id, const char *model, size_t *len);

/* Append the event of len bytes of text (content, or thinking when
 * reasoning) to out. */
void sseout_text(struct buf *out, const char *prefix, size_t prefix_len, const char *text,
	size_t len, bool reasoning);

/* Append s[0..len) as the inside of a JSON string (json-c's escaping). */
void sseout_escape(struct buf *out, const char *s, size_t len);

#endif
