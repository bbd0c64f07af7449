/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* addr.c - host:port, loopback and network lists (see addr.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "xmalloc.h"

enum ic_hostport_err ic_hostport_split(
	const char *s, size_t len, unsigned flags, struct ic_hostport *out)
{
	const char *end = s + len, *colon;

	memset(out, 0, sizeof(*out));
	if (len > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', len);

		if (!rb)
			return IC_HP_NO_BRACKET;
		out->bracketed = true;
		out->host = s + 1;
		out->host_len = (size_t)(rb - s - 1);
		if (rb + 1 == end)
			return IC_HP_OK;
		if (rb[1] != ':')
			return IC_HP_JUNK;
		colon = rb + 1;
	} else {
		colon = memchr(s, ':', len);
		if (colon && (flags & IC_HP_LAST_COLON))
			while (memchr(colon + 1, ':', (size_t)(end - colon - 1)))
				colon = memchr(colon + 1, ':', (size_t)(end - colon - 1));
		out->host = s;
		out->host_len = colon ? (size_t)(colon - s) : len;
		if (!colon)
			return IC_HP_OK;
	}
	out->port = colon + 1;
	out->port_len = (size_t)(end - colon - 1);
	return IC_HP_OK;
}

int ic_port_parse(const char *p, size_t len)
{
	long v = 0;

	if (!p || len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9' || v > 65535)
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : -1;
}

bool ic_addr_parse(const char *s, size_t len, unsigned char out[16], bool *v4)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	struct in_addr a4;

	if (!s || len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (inet_pton(AF_INET, tmp, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		if (v4)
			*v4 = true;
		return true;
	}
	if (inet_pton(AF_INET6, tmp, out) != 1)
		return false;
	if (v4)
		*v4 = IN6_IS_ADDR_V4MAPPED((struct in6_addr *)out);
	return true;
}

bool ic_addr_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (!host)
		return false;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	/* as written: the mapped "::ffff:127.0.0.1" is not the IPv6 loopback */
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* --- lists of networks --- */

struct cidr {
	unsigned char net[16]; /* mapped form for IPv4 */
	int bits;	       /* of the 128 */
};

struct ic_cidr_list {
	struct cidr *v;
	size_t n, cap;
};

/* "ADDR" or "ADDR/BITS" in s[0..len) -> *c (host bits left as written). */
static bool cidr_parse(const char *s, size_t len, struct cidr *c)
{
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	bool v4;
	long bits = 0;

	if (!ic_addr_parse(s, alen, c->net, &v4))
		return false;
	/* an IPv4 entry's BITS count from its 32 */
	c->bits = 128;
	if (!slash)
		return true;
	if (slash + 1 == s + len)
		return false;
	for (const char *p = slash + 1; p < s + len; p++) {
		if (*p < '0' || *p > '9' || bits > 128)
			return false;
		bits = bits * 10 + (*p - '0');
	}
	if (bits > (v4 ? 32 : 128))
		return false;
	c->bits = (int)bits + (v4 ? 96 : 0);
	return true;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
	int bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)bytes) != 0)
		return false;
	return rest == 0 || ((a[bytes] ^ b[bytes]) & (0xff << (8 - rest))) == 0;
}

struct ic_cidr_list *ic_cidr_list_new(const char *text, size_t *n_bad)
{
	struct ic_cidr_list *l = xcalloc(1, sizeof(*l));
	const char *p = text ? text : "";
	size_t bad = 0;

	while (*p) {
		const char *start, *end;
		struct cidr c;

		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		start = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > start && isspace((unsigned char)end[-1]))
			end--;
		if (end == start)
			continue;
		if (!cidr_parse(start, (size_t)(end - start), &c)) {
			bad++;
			continue;
		}
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 4;
			l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
		}
		l->v[l->n++] = c;
	}
	if (n_bad)
		*n_bad = bad;
	return l;
}

void ic_cidr_list_free(struct ic_cidr_list *l)
{
	if (!l)
		return;
	free(l->v);
	free(l);
}

size_t ic_cidr_list_count(const struct ic_cidr_list *l)
{
	return l ? l->n : 0;
}

bool ic_cidr_list_match(const struct ic_cidr_list *l, const char *addr)
{
	unsigned char a[16];

	if (!l || l->n == 0 || !addr || !ic_addr_parse(addr, strlen(addr), a, NULL))
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (prefix_equal(a, l->v[i].net, l->v[i].bits))
			return true;
	return false;
}
