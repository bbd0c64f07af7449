/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* clientip.c - client address, trusting X-Forwarded-For only from proxies. */
#include <arpa/inet.h>
#include <ctype.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clientip.h"
#include "common/xmalloc.h"

#define XFF_MAX 2048

/* Canonical binary form of an address, so "::1" equals "0:0::1". */
static int parse_addr(const char *s, size_t len, unsigned char out[16], int *family)
{
	char tmp[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (inet_pton(AF_INET, tmp, out) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, out) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

/* IPv4-mapped IPv6 peers ("::ffff:1.2.3.4") are IPv4 clients. */
static const char *unmap(const char *peer)
{
	if (strncasecmp(peer, "::ffff:", 7) == 0 && strchr(peer + 7, '.'))
		return peer + 7;
	return peer;
}

struct addr {
	int family;
	unsigned char bin[16];
};

struct clientip_trusted {
	struct addr *v;
	size_t n;
};

struct clientip_trusted *clientip_trusted_new(const char *list, size_t *n_bad)
{
	struct clientip_trusted *t = xcalloc(1, sizeof(*t));
	const char *p = list ? list : "";
	size_t bad = 0, cap = 0;

	while (*p) {
		const char *start, *end;
		struct addr a;

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
		if (parse_addr(start, (size_t)(end - start), a.bin, &a.family) < 0) {
			bad++;
			continue;
		}
		if (t->n == cap) {
			cap = cap ? cap * 2 : 4;
			t->v = xrealloc(t->v, cap * sizeof(*t->v));
		}
		t->v[t->n++] = a;
	}
	if (n_bad)
		*n_bad = bad;
	return t;
}

void clientip_trusted_free(struct clientip_trusted *t)
{
	if (!t)
		return;
	free(t->v);
	free(t);
}

size_t clientip_trusted_count(const struct clientip_trusted *t)
{
	return t ? t->n : 0;
}

bool clientip_is_trusted(const struct clientip_trusted *t, const char *addr)
{
	struct addr a;

	if (!t || t->n == 0 || !addr)
		return false;
	addr = unmap(addr);
	if (parse_addr(addr, strlen(addr), a.bin, &a.family) < 0)
		return false;
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].family == a.family &&
			memcmp(t->v[i].bin, a.bin, a.family == AF_INET ? 4 : 16) == 0)
			return true;
	return false;
}

/* First entry of X-Forwarded-For if it is an address; else NULL length 0. */
static size_t xff_first(const char *xff, const char **start)
{
	const char *p = xff, *end;
	unsigned char bin[16];
	int family;

	while (isspace((unsigned char)*p))
		p++;
	end = p;
	while (*end && *end != ',')
		end++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	if (parse_addr(p, (size_t)(end - p), bin, &family) < 0)
		return 0;
	*start = p;
	return (size_t)(end - p);
}

void clientip_choose(const char *peer, const char *xff, const struct clientip_trusted *t, char *out,
	size_t outlen)
{
	const char *first = NULL;
	size_t n;

	peer = unmap(peer ? peer : "");
	if (xff && *xff && clientip_is_trusted(t, peer)) {
		n = xff_first(xff, &first);
		if (n > 0) {
			char tmp[INET6_ADDRSTRLEN + 1];

			memcpy(tmp, first, n);
			tmp[n] = '\0';
			snprintf(out, outlen, "%s", unmap(tmp));
			return;
		}
	}
	snprintf(out, outlen, "%s", peer);
}

void clientip_get(struct lws *wsi, const struct clientip_trusted *t, char *out, size_t outlen)
{
	char peer[INET6_ADDRSTRLEN + 8] = "";
	char xff[XFF_MAX] = "";

	if (!lws_get_peer_simple(wsi, peer, sizeof(peer)))
		peer[0] = '\0';
	if (clientip_trusted_count(t) > 0 &&
		lws_hdr_copy(wsi, xff, sizeof(xff), WSI_TOKEN_X_FORWARDED_FOR) < 0)
		xff[0] = '\0';
	clientip_choose(peer, xff, t, out, outlen);
}
