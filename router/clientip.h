/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * clientip.h - which address a request comes from.
 *
 * The socket peer, unless the peer is one of the configured trusted proxies
 * and sent X-Forwarded-For: then the rightmost address in that header that
 * is not a trusted proxy itself (as nginx's real_ip_recursive and Caddy's
 * trusted_proxies).  Not the leftmost: a proxy that appends keeps what the
 * client sent there.  Anyone else's X-Forwarded-For is ignored, or clients
 * could pick their own IP and dodge every per-IP limit.
 *
 * The trusted list (router.trusted_proxies: addresses or networks
 * ADDR/BITS) is parsed once, when the configuration is loaded or reloaded,
 * by common/addr.h's network-list parser; a request only parses its
 * peer's address and compares.
 */
#ifndef IC_ROUTER_CLIENTIP_H
#define IC_ROUTER_CLIENTIP_H

#include <stdbool.h>
#include <stddef.h>

struct lws;
struct clientip_trusted;

/*
 * A NEW parsed list from comma-separated addresses or networks (list may
 * be NULL or empty: nobody is trusted).  Entries that are not IPv4 or IPv6
 * addresses or networks are left out and counted in *n_bad (if n_bad) for
 * the caller to report.
 */
struct clientip_trusted *clientip_trusted_new(const char *list, size_t *n_bad);
void clientip_trusted_free(struct clientip_trusted *t);
/* Addresses and networks in t. */
size_t clientip_trusted_count(const struct clientip_trusted *t);

/* true if addr (text; IPv6 in any form, IPv4-mapped as IPv4) is in t. */
bool clientip_is_trusted(const struct clientip_trusted *t, const char *addr);

/* Pure part (unit-tested): peer address text, X-Forwarded-For value (or
 * NULL), trusted proxies (or NULL) -> out. */
void clientip_choose(const char *peer, const char *xff, const struct clientip_trusted *t, char *out,
	size_t outlen);

/* The client address of an HTTP or upgrading connection. */
void clientip_get(struct lws *wsi, const struct clientip_trusted *t, char *out, size_t outlen);

#endif
