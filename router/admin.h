/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * admin.h - the operator's view: GET /admin/nodes and who may read /metrics.
 *
 * /admin/nodes needs "Authorization: Bearer TOKEN" with the token of
 * [router] admin_token_file, read when the configuration is loaded or
 * reloaded; without a token the endpoint does not exist (404), a wrong
 * token is 401.  A token file that group or others may read or write is a
 * configuration error (the router does not start, a reload is refused).  The token is compared in constant time and never logged.
 * [router] metrics_allow, parsed at load, limits /metrics to addresses and
 * networks.
 */
#ifndef IC_ROUTER_ADMIN_H
#define IC_ROUTER_ADMIN_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "router.h"

struct admin;

/* What admin needs of cfg: the token, the metrics networks.  Problems are
 * logged (never the token); the endpoint is then off. */
struct admin *admin_new(const struct router_config *cfg);
void admin_free(struct admin *a);
/* Is /admin/nodes on (a token was read)? */
bool admin_enabled(const struct admin *a);

/* Constant-time: does header (an Authorization value, or NULL) carry
 * token?  Public for the unit test. */
bool admin_token_matches(const char *token, const char *header);

/* Is ip (text) in the networks of list (comma-separated "ADDR[/BITS]",
 * common/addr.h's list)?  Parses list each call: for the unit test; the
 * router parses metrics_allow once, in admin_new().  *bad counts entries
 * that are not networks. */
bool admin_ip_in_list(const char *list, const char *ip, size_t *bad);

/* May ip read /metrics? */
bool admin_metrics_allowed(const struct router *r, const char *ip);
/* /metrics' trust members: reputation buckets, probe outcomes... */
void admin_metrics_add(const struct router *r, json_object *o);

/* The route of GET /admin/nodes (server.c's table). */
int admin_route_nodes(struct router *r, struct lws *wsi, struct pss *pss);

#endif
