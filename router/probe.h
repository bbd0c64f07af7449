/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * probe.h - probes: questions the router asks a node as if a consumer had.
 *
 * A probe is a chat the router makes itself, sent as any consumer's chat
 * is: the same request-id format ("req-" and 24 hex digits), the same
 * parameters (chat_params_for()), a question made afresh from a template
 * (probe-questions.h) for a model chosen at random among the node's.  Each
 * registered node is probed at random times, exponential intervals of mean
 * [trust] probe_interval, so nothing in the timing, the id or the text
 * tells a probe from a consumer.  Nor does its shape: think on half the
 * time for a thinking model, earlier turns half the time, with tools on
 * a question already searched for one time in four (docs/SECURITY.md).
 * At most one probe is in flight per node; it takes any free slot, the
 * last too (a node could tell a chat on its last slot was no probe).  The
 * answer's content (not its thinking) is judged; an error, or silence
 * beyond chunk_timeout, is a timeout or error.
 * A node never gets a question it had among its last PROBE_RECENT_MAX (it
 * could tell a probe by it).  Results go to trust.h.
 */
#ifndef IC_ROUTER_PROBE_H
#define IC_ROUTER_PROBE_H

#include <stdbool.h>

#include "router.h"

#define PROBE_RECENT_MAX 16 /* a node's last questions, none asked again */

struct chunk_view;
struct ic_msg;
struct node;

struct probes *probes_new(struct router *r);
void probes_free(struct probes *p);

/* n registered: start its probe timer.  n unregistered: stop, free. */
void probe_node_up(struct node *n);
void probe_node_down(struct node *n);
/* A frame for a request not among n's chats: true if it was n's probe's. */
bool probe_node_chunk(struct node *n, const struct chunk_view *v);
bool probe_node_message(struct node *n, const struct ic_msg *m);
/* Probes in flight now (for tests and /metrics). */
int probes_in_flight(const struct probes *p);

#endif
