/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * goduration.c - see goduration.h.  Follows Go's src/time/format.go
 * ParseDuration: the same grammar, units and error sentences.
 */
#include "goduration.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Go's limit: an int64 of nanoseconds. */
#define MAX_NS 9223372036854775807.0

static const struct {
	const char *name;
	double ns;
} units[] = {
	{ "ns", 1 },
	{ "us", 1e3 },
	{ "\xc2\xb5s", 1e3 }, /* U+00B5 micro sign */
	{ "\xce\xbcs", 1e3 }, /* U+03BC Greek mu */
	{ "ms", 1e6 },
	{ "s", 1e9 },
	{ "m", 60e9 },
	{ "h", 3600e9 },
};

static int fail(char *err, size_t errlen, const char *orig)
{
	snprintf(err, errlen, "time: invalid duration \"%s\"", orig);
	return -1;
}

/* One number at *p (digits, optional fraction): false if none. */
static bool number(const char **p, double *v)
{
	const char *s = *p;
	bool digits = false;
	double scale = 1;

	*v = 0;
	while (*s >= '0' && *s <= '9') {
		*v = *v * 10 + (*s++ - '0');
		digits = true;
	}
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9') {
			scale /= 10;
			*v += (*s++ - '0') * scale;
			digits = true;
		}
	}
	*p = s;
	return digits;
}

int ic_go_duration_parse(const char *orig, double *seconds, char *err, size_t errlen)
{
	const char *s = orig;
	bool neg = false;
	double total = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*seconds = 0;
		return 0;
	}
	if (*s == '\0')
		return fail(err, errlen, orig);
	while (*s) {
		const char *u;
		double v, mult = 0;
		size_t ulen, i;

		if (!(*s == '.' || (*s >= '0' && *s <= '9')))
			return fail(err, errlen, orig);
		if (!number(&s, &v))
			return fail(err, errlen, orig);
		u = s;
		while (*s && *s != '.' && !(*s >= '0' && *s <= '9'))
			s++;
		ulen = (size_t)(s - u);
		if (ulen == 0) {
			snprintf(err, errlen, "time: missing unit in duration \"%s\"", orig);
			return -1;
		}
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].name) == ulen && memcmp(units[i].name, u, ulen) == 0)
				mult = units[i].ns;
		if (mult == 0) {
			snprintf(err, errlen, "time: unknown unit \"%.*s\" in duration \"%s\"",
				(int)ulen, u, orig);
			return -1;
		}
		total += v * mult;
		if (total > MAX_NS)
			return fail(err, errlen, orig);
	}
	*seconds = (neg ? -total : total) / 1e9;
	return 0;
}
