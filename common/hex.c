/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* hex.c - reading hexadecimal digits (see hex.h). */
#include "hex.h"

int ic_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long ic_hex_parse(const char *p, size_t n)
{
	long v = 0;

	if (n == 0 || n > 7)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int h = ic_hex_value(p[i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}
