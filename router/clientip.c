/* clientip.c - client address, trusting X-Forwarded-For only from proxies. */
#include <arpa/inet.h>
#include <ctype.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>

#include "clientip.h"

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

static bool same_addr(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char x[16], y[16];
	int fx, fy;

	if (parse_addr(a, alen, x, &fx) < 0 || parse_addr(b, blen, y, &fy) < 0)
		return false;
	if (fx != fy)
		return false;
	return memcmp(x, y, fx == AF_INET ? 4 : 16) == 0;
}

bool clientip_in_list(const char *addr, const char *list)
{
	const char *p = list;

	if (!list || !addr)
		return false;
	while (*p) {
		const char *start, *end;

		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		start = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > start && isspace((unsigned char)end[-1]))
			end--;
		if (end > start && same_addr(addr, strlen(addr), start, (size_t)(end - start)))
			return true;
	}
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

void clientip_choose(const char *peer, const char *xff, const char *trusted,
		     char *out, size_t outlen)
{
	const char *first = NULL;
	size_t n;

	peer = unmap(peer ? peer : "");
	if (xff && *xff && clientip_in_list(peer, trusted)) {
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

void clientip_get(struct lws *wsi, const char *trusted, char *out, size_t outlen)
{
	char peer[INET6_ADDRSTRLEN + 8] = "";
	char xff[XFF_MAX] = "";

	if (!lws_get_peer_simple(wsi, peer, sizeof(peer)))
		peer[0] = '\0';
	if (trusted && *trusted &&
	    lws_hdr_copy(wsi, xff, sizeof(xff), WSI_TOKEN_X_FORWARDED_FOR) < 0)
		xff[0] = '\0';
	clientip_choose(peer, xff, trusted, out, outlen);
}
