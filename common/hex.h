/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * hex.h - reading hexadecimal digits.
 *
 * One place for what \u escapes, machine ids and the like need: no locale,
 * no sign, no "0x", no whitespace, a fixed number of digits (strtol()
 * accepts all of those and would read past the digits wanted).
 */
#ifndef IC_HEX_H
#define IC_HEX_H

#include <stddef.h>

/* The value of hex digit c (0-9, a-f, A-F), or -1. */
int ic_hex_value(char c);

/* The value of the n hex digits at p (1 <= n <= 7: no overflow), or -1 if
 * one of them is not a hex digit. */
long ic_hex_parse(const char *p, size_t n);

#endif
