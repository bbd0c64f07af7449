/*
 * clientip.h - which address a request comes from.
 *
 * The socket peer, unless the peer is one of the configured trusted proxies
 * and sent X-Forwarded-For: then the first address in that header.  Anyone
 * else's X-Forwarded-For is ignored, or clients could pick their own IP and
 * dodge every per-IP limit.
 */
#ifndef IC_ROUTER_CLIENTIP_H
#define IC_ROUTER_CLIENTIP_H

#include <stdbool.h>
#include <stddef.h>

struct lws;

/* Pure part (unit-tested): peer address text, X-Forwarded-For value (or
 * NULL), comma-separated trusted list (or NULL) -> out. */
void clientip_choose(const char *peer, const char *xff, const char *trusted,
		     char *out, size_t outlen);

/* true if addr (text) is in the comma-separated list. */
bool clientip_in_list(const char *addr, const char *list);

/* The client address of an HTTP or upgrading connection. */
void clientip_get(struct lws *wsi, const char *trusted, char *out, size_t outlen);

#endif
