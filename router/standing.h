/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * standing.h - telling each node whether it gets consumer chats.
 *
 * An extension message (docs/protocol.md, "standing") the public server
 * never sends: {"type":"standing","chats":false} when the node's
 * reputation is below [trust] min_reputation, true otherwise.  Never the
 * score: every probe moves it by a known step, so a node that watched it
 * would learn which of its chats were probes.  For the same reason it is
 * sent on a coarse timer of its own, [trust] standing_interval seconds
 * with ±25% random jitter from each node's registration, never at the end
 * of a chat or when the reputation changes.
 */
#ifndef IC_ROUTER_STANDING_H
#define IC_ROUTER_STANDING_H

#include "router.h"

#define STANDING_JITTER_PERCENT 25

struct node;

struct standings *standings_new(struct router *r);
void standings_free(struct standings *s);
/* n registered: start its timer.  n unregistered: stop it. */
void standing_node_up(struct node *n);
void standing_node_down(struct node *n);

#endif
