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

/* More than lws keeps of all headers (max_http_header_data, 4096 in
 * idleclaw-routerd.c): the header is always read whole, since the entries
 * that count are at its end. */
#define XFF_MAX 4100

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

/*
 * From the right, as nginx's real_ip_recursive and Caddy's trusted_proxies:
 * a proxy that appends (nginx's $proxy_add_x_forwarded_for) passes on what
 * the client wrote on the left, so only the entries right of the last
 * proxy we trust are known; the first of them that is not itself a trusted
 * proxy is the client.  All trusted: the leftmost.  An entry that is not
 * an address: the last trusted hop right of it (the peer at least), which
 * is known.  Empty entries (", ,") are skipped.
 */
static void xff_choose(const char *xff, const char *peer, const struct clientip_trusted *t,
	char *out, size_t outlen)
{
	const char *end = xff + strlen(xff);
	char hop[INET6_ADDRSTRLEN + 1];

	snprintf(hop, sizeof(hop), "%s", peer);
	for (;;) {
		const char *p = end, *s, *e = end;
		unsigned char bin[16];
		int family;

		while (p > xff && p[-1] != ',')
			p--;
		for (s = p; s < e && isspace((unsigned char)*s); s++)
			;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (e > s) {
			/* parse_addr() takes no more than hop holds */
			if (parse_addr(s, (size_t)(e - s), bin, &family) < 0)
				break;
			memcpy(hop, s, (size_t)(e - s));
			hop[e - s] = '\0';
			if (!clientip_is_trusted(t, hop))
				break;
		}
		if (p == xff)
			break;
		end = p - 1; /* the comma */
	}
	snprintf(out, outlen, "%s", unmap(hop));
}

void clientip_choose(const char *peer, const char *xff, const struct clientip_trusted *t, char *out,
	size_t outlen)
{
	peer = unmap(peer ? peer : "");
	if (xff && *xff && clientip_is_trusted(t, peer)) {
		xff_choose(xff, peer, t, out, outlen);
		return;
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
