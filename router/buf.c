/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* buf.c - growable byte queue (see buf.h). */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "common/xmalloc.h"

void buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (b->off > 0 && b->off == b->len)
		b->off = b->len = 0;
	if (b->len + n > b->cap && b->off > 0) {
		/* reclaim consumed space before growing */
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + n)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

size_t buf_used(const struct buf *b)
{
	return b->len - b->off;
}

const char *buf_head(const struct buf *b)
{
	return b->data + b->off;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n > buf_used(b))
		n = buf_used(b);
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

void buf_reset(struct buf *b)
{
	b->off = b->len = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}
