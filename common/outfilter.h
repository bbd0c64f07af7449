/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * outfilter.h - the filter for text that reaches consumers.
 *
 * A streaming state machine: feed it the text of one channel (content, or
 * thinking) chunk by chunk; it removes <tool_call>...</tool_call> spans and
 * neutralises active markup (<script, javascript:, data:text/html, and the
 * others listed in outfilter.c) by replacing the pattern with
 * "[content filtered]".  A pattern split across chunks is still caught: the
 * filter holds back the shortest tail that could start one.  Ordinary text
 * ("std::vector<int>", "a < b > c") passes unchanged.  Matching is ASCII
 * case-insensitive.
 */
#ifndef IC_OUTFILTER_H
#define IC_OUTFILTER_H

#include <stddef.h>

#define IC_OUTFILTER_REPLACEMENT "[content filtered]"

struct ic_outfilter;

struct ic_outfilter *ic_outfilter_new(void);
void ic_outfilter_free(struct ic_outfilter *f);

/*
 * Feed len bytes; returns a NEW NUL-terminated string (caller frees) with
 * the text that is safe to emit now, possibly empty; *outlen gets its length.
 */
char *ic_outfilter_feed_new(struct ic_outfilter *f, const char *text, size_t len, size_t *outlen);

/* End of stream: the held-back tail (an unclosed tool_call span is dropped).
 * Returns a NEW string; the filter may then only be freed. */
char *ic_outfilter_finish_new(struct ic_outfilter *f, size_t *outlen);

#endif
