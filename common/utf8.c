/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * utf8.c - UTF-8 validation and code-point counting (RFC 3629).
 *
 * Written out by hand rather than with mbrtowc(): the result must not
 * depend on the locale, and the limits of the network count code points.
 */
#include "utf8.h"

#include <stdbool.h>
#include <stdint.h>

static bool is_cont(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

/* Length of the sequence a lead byte announces, 0 for a byte that cannot
 * start one (continuation bytes, C0/C1 overlong leads, F5..FF). */
static size_t seq_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return 2;
	if (c >= 0xE0 && c <= 0xEF)
		return 3;
	if (c >= 0xF0 && c <= 0xF4)
		return 4;
	return 0;
}

/*
 * Is the second byte allowed after lead?  This is where overlong three- and
 * four-byte forms, surrogates and values above U+10FFFF are refused (the
 * table of RFC 3629 section 4).
 */
static bool second_ok(unsigned char lead, unsigned char c)
{
	switch (lead) {
	case 0xE0:
		return c >= 0xA0 && c <= 0xBF;
	case 0xED:
		return c >= 0x80 && c <= 0x9F;
	case 0xF0:
		return c >= 0x90 && c <= 0xBF;
	case 0xF4:
		return c >= 0x80 && c <= 0x8F;
	default:
		return is_cont(c);
	}
}

/* Bytes of the valid sequence at s[0..avail), or 0 if it is invalid or cut. */
static size_t valid_seq(const unsigned char *s, size_t avail)
{
	size_t n = seq_len(s[0]);
	size_t i;

	if (n == 0 || n > avail)
		return 0;
	if (n == 1)
		return 1;
	if (!second_ok(s[0], s[1]))
		return 0;
	for (i = 2; i < n; i++)
		if (!is_cont(s[i]))
			return 0;
	return n;
}

size_t ic_utf8_seq_len(const char *s, size_t avail)
{
	return avail > 0 ? valid_seq((const unsigned char *)s, avail) : 0;
}

/* Could s[0..avail) still become a valid sequence with more bytes? */
static bool valid_seq_prefix_ok(const unsigned char *s, size_t avail)
{
	size_t i;

	if (avail >= 2 && !second_ok(s[0], s[1]))
		return false;
	for (i = 2; i < avail; i++)
		if (!is_cont(s[i]))
			return false;
	return true;
}

ssize_t ic_utf8_count(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	ssize_t count = 0;

	while (i < len) {
		size_t n;

		if (p[i] < 0x80) { /* fast path for ASCII */
			i++;
			count++;
			continue;
		}
		n = valid_seq(p + i, len - i);
		if (n == 0)
			return -1;
		i += n;
		count++;
	}
	return count;
}

size_t ic_utf8_prefix_bytes(const char *s, size_t len, size_t max_bytes)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t cut;

	if (len <= max_bytes)
		return len;
	/* Step back from the cut to the start of the character it falls in. */
	cut = max_bytes;
	while (cut > 0 && is_cont(p[cut]))
		cut--;
	return cut;
}

size_t ic_utf8_complete_len(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t back, start, need;

	/* A sequence is at most four bytes: look at the last three at most. */
	for (back = 1; back <= 3 && back <= len; back++) {
		start = len - back;
		if (is_cont(p[start]))
			continue;
		need = seq_len(p[start]);
		if (need > back && valid_seq_prefix_ok(p + start, back))
			return start;
		return len;
	}
	return len;
}
