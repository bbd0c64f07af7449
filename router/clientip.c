/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* clientip.c - client address, trusting X-Forwarded-For only from proxies. */
#include <arpa/inet.h>
#include <ctype.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clientip.h"
#include "common/addr.h"
#include "common/xmalloc.h"

/* More than lws keeps of all headers (max_http_header_data, 4096 in
 * idleclaw-routerd.c): the header is always read whole, since the entries
 * that count are at its end. */
#define XFF_MAX 4100

/* IPv4-mapped IPv6 peers ("::ffff:1.2.3.4") are IPv4 clients. */
static const char *unmap(const char *peer)
{
	if (strncasecmp(peer, "::ffff:", 7) == 0 && strchr(peer + 7, '.'))
		return peer + 7;
	return peer;
}

/* The networks of router.trusted_proxies (addr.h's list: one address, or
 * a network written ADDR/BITS). */
struct clientip_trusted {
	struct ic_cidr_list *nets;
};

struct clientip_trusted *clientip_trusted_new(const char *list, size_t *n_bad)
{
	struct clientip_trusted *t = xcalloc(1, sizeof(*t));

	t->nets = ic_cidr_list_new(list, n_bad);
	return t;
}

void clientip_trusted_free(struct clientip_trusted *t)
{
	if (!t)
		return;
	ic_cidr_list_free(t->nets);
	free(t);
}

size_t clientip_trusted_count(const struct clientip_trusted *t)
{
	return t ? ic_cidr_list_count(t->nets) : 0;
}

bool clientip_is_trusted(const struct clientip_trusted *t, const char *addr)
{
	return t && ic_cidr_list_match(t->nets, addr);
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

		while (p > xff && p[-1] != ',')
			p--;
		for (s = p; s < e && isspace((unsigned char)*s); s++)
			;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (e > s) {
			if ((size_t)(e - s) >= sizeof(hop) ||
				!ic_addr_parse(s, (size_t)(e - s), bin, NULL))
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
