/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * utf8.h - UTF-8 validation and code-point counting.
 *
 * Character limits of the network count Unicode code points, not bytes.
 * Invalid means: a stray continuation byte, a truncated sequence, an
 * overlong form, a surrogate (U+D800..U+DFFF) or a value above U+10FFFF.
 */
#ifndef IC_UTF8_H
#define IC_UTF8_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Bytes (1-4) of the one well-formed sequence at the start of s[0..avail)
 * (avail >= 1), or 0 if it is invalid or cut short: the check every
 * hand-written reader of UTF-8 in the tree uses.
 */
size_t ic_utf8_seq_len(const char *s, size_t avail);

/* Code points in s[0..len), or -1 if s is not valid UTF-8. */
ssize_t ic_utf8_count(const char *s, size_t len);

/*
 * Bytes of the longest prefix of s[0..len) that is made of whole sequences
 * and holds at most max_bytes bytes: where to split valid text so that no
 * character is cut in two.
 */
size_t ic_utf8_prefix_bytes(const char *s, size_t len, size_t max_bytes);

/*
 * Bytes of s[0..len) that are complete, leaving out a trailing sequence that
 * may still be completed by the next chunk of a stream.
 */
size_t ic_utf8_complete_len(const char *s, size_t len);

#endif
