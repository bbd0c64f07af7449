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

#include "common/addr.h"
#include "daemon/gateway-api.h"

static int bad(char *err, size_t errlen, const char *listen, const char *why)
{
	snprintf(err, errlen, "[gateway] listen \"%s\": %s", listen, why);
	return -1;
}

int gw_listen_parse(const char *listen, bool allow_remote, char *host, size_t hostlen, int *port,
	char *err, size_t errlen)
{
	struct ic_hostport hp;
	enum ic_hostport_err rc = ic_hostport_split(listen, strlen(listen), 0, &hp);

	if (hp.bracketed || rc == IC_HP_NO_BRACKET) {
		if (rc != IC_HP_OK || !hp.port)
			return bad(err, errlen, listen, "expected [IPv6]:PORT");
	} else if (!hp.port || memchr(hp.port, ':', hp.port_len)) {
		return bad(err, errlen, listen, "expected HOST:PORT, e.g. 127.0.0.1:11435");
	}
	if (hp.host_len == 0 || hp.host_len >= hostlen)
		return bad(err, errlen, listen, "the host is missing or too long");
	memcpy(host, hp.host, hp.host_len);
	host[hp.host_len] = '\0';
	*port = ic_port_parse(hp.port, hp.port_len);
	if (*port < 0)
		return bad(err, errlen, listen, "the port must be a number from 1 to 65535");
	if (strcmp(host, "localhost") == 0)
		snprintf(host, hostlen, "127.0.0.1");
	if (!ic_addr_parse(host, strlen(host), (unsigned char[16]){ 0 }, NULL))
		return bad(err, errlen, listen, "the host must be an IP address or localhost");
	if (!allow_remote && !ic_addr_is_loopback(host))
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

/* The Host header's host: "localhost" (any case, with or without the
 * root's dot), a dotted IPv4 address in 127/8, or "[::1]"; with a port
 * 1..65535 or none. */
bool gw_host_loopback(const char *host)
{
	struct ic_hostport hp;
	char buf[INET6_ADDRSTRLEN + 1];

	if (!host || ic_hostport_split(host, strlen(host), 0, &hp) != IC_HP_OK)
		return false;
	if (hp.port && (hp.port_len > 5 || ic_port_parse(hp.port, hp.port_len) < 0))
		return false;
	if (!hp.bracketed && (hp.host_len == 9 || (hp.host_len == 10 && hp.host[9] == '.')) &&
		strncasecmp(hp.host, "localhost", 9) == 0)
		return true;
	if (hp.host_len >= sizeof(buf))
		return false;
	memcpy(buf, hp.host, hp.host_len);
	buf[hp.host_len] = '\0';
	/* "[127.0.0.1]" and a bare "::1" are not how a Host header names them */
	if (hp.bracketed != (strchr(buf, ':') != NULL))
		return false;
	return ic_addr_is_loopback(buf);
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
