/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * buf.h - a growable byte queue: append at the tail, consume from the head.
 *
 * Used for request bodies, WebSocket message reassembly and the SSE output
 * of one stream.  The buffer itself has no bound: every caller checks its
 * own limit (see router.h) before appending.
 */
#ifndef IC_ROUTER_BUF_H
#define IC_ROUTER_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t off; /* first unconsumed byte */
	size_t len; /* end of data */
	size_t cap;
};

void buf_append(struct buf *b, const void *p, size_t n);
/* Bytes not yet consumed. */
size_t buf_used(const struct buf *b);
const char *buf_head(const struct buf *b);
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b); /* empty, keep memory */
void buf_free(struct buf *b);  /* empty, release memory */

#endif
