/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * gateway-addr.c - who may reach the gateway: the listen address (loopback
 * unless allow_remote), the CORS origins, and which requests are refused
 * for their Origin or Host header (see gateway-api.h).  Pure.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/gateway-api.h"

static int bad(char *err, size_t errlen, const char *listen, const char *why)
{
	snprintf(err, errlen, "[gateway] listen \"%s\": %s", listen, why);
	return -1;
}

int gw_listen_parse(const char *listen, bool allow_remote, char *host, size_t hostlen, int *port,
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
		return bad(err, errlen, listen,
			"not a loopback address; the gateway has no "
			"authentication, so other hosts may use it only with "
			"[gateway] allow_remote = yes");
	return 0;
}

bool gw_cors_allowed(const char *origins, const char *origin)
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

/* "[IPv6]" naming loopback; hl bytes of h, brackets included. */
static bool ipv6_literal_loopback(const char *h, size_t hl)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in6_addr a6;

	if (hl < 3 || h[0] != '[' || h[hl - 1] != ']' || hl - 2 >= sizeof(buf))
		return false;
	memcpy(buf, h + 1, hl - 2);
	buf[hl - 2] = '\0';
	return inet_pton(AF_INET6, buf, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* "localhost" (any case, with or without the root's dot) or a dotted
 * IPv4 address in 127/8; hl bytes of h. */
static bool name_loopback(const char *h, size_t hl)
{
	char buf[INET_ADDRSTRLEN + 1];
	struct in_addr a4;

	if ((hl == 9 || (hl == 10 && h[9] == '.')) && strncasecmp(h, "localhost", 9) == 0)
		return true;
	if (hl >= sizeof(buf))
		return false;
	memcpy(buf, h, hl);
	buf[hl] = '\0';
	return inet_pton(AF_INET, buf, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

bool gw_host_loopback(const char *host)
{
	const char *port;
	size_t hl, pl;

	if (!host)
		return false;
	if (*host == '[') {
		const char *rb = strchr(host, ']');

		if (!rb)
			return false;
		hl = (size_t)(rb - host) + 1;
		port = rb[1] == ':' ? rb + 2 : rb[1] == '\0' ? NULL : "";
	} else {
		const char *colon = strchr(host, ':');

		hl = colon ? (size_t)(colon - host) : strlen(host);
		port = colon ? colon + 1 : NULL;
	}
	if (port) { /* 1..65535, digits only */
		pl = strspn(port, "0123456789");
		if (pl == 0 || pl > 5 || port[pl] != '\0' || atol(port) < 1 || atol(port) > 65535)
			return false;
	}
	return *host == '[' ? ipv6_literal_loopback(host, hl) : name_loopback(host, hl);
}

const char *gw_request_refused(
	const char *origins, bool allow_remote, const char *origin, const char *host)
{
	if (origin && !gw_cors_allowed(origins, origin))
		return "this origin may not call the gateway: add it to [gateway] cors_origins";
	if (!allow_remote && host && !gw_host_loopback(host))
		return "the Host header must name this machine (localhost, 127.0.0.1 or [::1]); "
		       "a web page may be reaching the gateway through DNS rebinding. Other "
		       "names need [gateway] allow_remote = yes";
	return NULL;
}
