/*
 * gateway-addr.c - who may reach the gateway: the listen address (loopback
 * unless allow_remote) and the CORS origins (see gateway-api.h).  Pure.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/gateway-api.h"

static int
bad(char *err, size_t errlen, const char *listen, const char *why)
{
	snprintf(err, errlen, "[gateway] listen \"%s\": %s", listen, why);
	return -1;
}

int
gw_listen_parse(const char *listen, bool allow_remote, char *host, size_t hostlen, int *port,
		char *err, size_t errlen)
{
	const char *colon, *h = listen;
	size_t hl;
	char *end;
	long p;
	struct in_addr a4;
	struct in6_addr a6;
	bool loopback;

	if (*listen == '[') {
		const char *rb = strchr(listen, ']');

		if (!rb || rb[1] != ':')
			return bad(err, errlen, listen, "expected [IPv6]:PORT");
		h = listen + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon || strchr(listen, ':') != colon)
			return bad(err, errlen, listen, "expected HOST:PORT, e.g. 127.0.0.1:11435");
		hl = (size_t)(colon - listen);
	}
	if (hl == 0 || hl >= hostlen)
		return bad(err, errlen, listen, "the host is missing or too long");
	memcpy(host, h, hl);
	host[hl] = '\0';
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end || p < 1 || p > 65535)
		return bad(err, errlen, listen, "the port must be a number from 1 to 65535");
	*port = (int)p;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, hostlen, "127.0.0.1");
	if (inet_pton(AF_INET, host, &a4) == 1)
		loopback = (ntohl(a4.s_addr) >> 24) == 127;
	else if (inet_pton(AF_INET6, host, &a6) == 1)
		loopback = IN6_IS_ADDR_LOOPBACK(&a6);
	else
		return bad(err, errlen, listen, "the host must be an IP address or localhost");
	if (!loopback && !allow_remote)
		return bad(err, errlen, listen, "not a loopback address; the gateway has no "
			   "authentication, so other hosts may use it only with "
			   "[gateway] allow_remote = yes");
	return 0;
}

bool
gw_cors_allowed(const char *origins, const char *origin)
{
	const char *p = origins;
	size_t n, ol;

	if (!origins || !origin || !*origin)
		return false;
	ol = strlen(origin);
	while (*p) {
		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (n == 1 && *p == '*')
			return true;
		if (n && n == ol && strncmp(p, origin, n) == 0)
			return true;
		p += n;
	}
	return false;
}
