/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libFuzzer harness for common/outfilter.c.
 *
 * The first byte picks up to seven cut points; the rest is the stream.
 * Properties checked on every input:
 *   - the output does not depend on how the stream is cut;
 *   - it never contains an active-markup pattern (ASCII case-insensitive);
 *   - every piece of output is valid UTF-8, whatever the input.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "outfilter.h"
#include "utf8.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const patterns[] = { "<script", "<iframe", "<object", "<embed",
	"javascript:", "vbscript:", "data:text/html", NULL };

struct acc {
	char *p;
	size_t len;
	bool pieces_valid;
};

static void take(struct acc *a, char *piece, size_t n)
{
	if (strlen(piece) != n)
		abort();
	if (ic_utf8_count(piece, n) < 0)
		a->pieces_valid = false;
	a->p = xrealloc(a->p, a->len + n + 1);
	memcpy(a->p + a->len, piece, n);
	a->len += n;
	a->p[a->len] = '\0';
	free(piece);
}

/* Run text through a filter, cut at cuts[0..ncuts) (ascending). */
static struct acc run(const char *text, size_t len, const size_t *cuts, size_t ncuts)
{
	struct ic_outfilter *f = ic_outfilter_new();
	struct acc a = { xstrdup(""), 0, true };
	size_t from = 0, k, n;
	char *piece;

	for (k = 0; k <= ncuts; k++) {
		size_t to = k < ncuts ? cuts[k] : len;

		piece = ic_outfilter_feed_new(f, text + from, to - from, &n);
		take(&a, piece, n);
		from = to;
	}
	piece = ic_outfilter_finish_new(f, &n);
	take(&a, piece, n);
	ic_outfilter_free(f);
	return a;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cuts[7], ncuts, k, len;
	const char *text;
	struct acc whole, split;
	uint32_t h = 2166136261u;

	if (size < 1)
		return 0;
	ncuts = data[0] % 8;
	text = (const char *)data + 1;
	len = size - 1;
	/* NUL bytes would hide output from strlen(): the filter is fed JSON
	 * strings that validate.c and json-c keep NUL-free. */
	if (memchr(text, '\0', len))
		return 0;
	for (k = 0; k < ncuts; k++) {
		h = (h ^ (uint32_t)k ^ (uint32_t)data[0]) * 16777619u;
		cuts[k] = len ? h % (len + 1) : 0;
	}
	qsort(cuts, ncuts, sizeof(cuts[0]), cmp_size);
	whole = run(text, len, NULL, 0);
	split = run(text, len, cuts, ncuts);
	if (whole.len != split.len || memcmp(whole.p, split.p, whole.len) != 0)
		abort();
	for (k = 0; patterns[k]; k++)
		if (strcasestr(whole.p, patterns[k]))
			abort();
	if (!whole.pieces_valid || !split.pieces_valid)
		abort();
	free(whole.p);
	free(split.p);
	return 0;
}
