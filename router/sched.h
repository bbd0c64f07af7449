/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sched.h - which node serves a chat, and what happens when none can.
 *
 * Among registered, available nodes that list the model, have a free slot
 * (active < max_concurrent) and a reputation not below min_reputation, the
 * best score weight_load * (1 - active/max) + weight_reputation * reputation
 * wins, ties broken at random (trust.h, models.h).  With none free a chat waits in its model's FIFO queue
 * (bounded by queue_max) for up to queue_wait seconds.  A chat never goes
 * back to a node that already failed it.  In a cluster a chat with no free
 * local slot is offered to the peer with the most (xchat.h) before it
 * waits, and while it waits.
 */
#ifndef IC_ROUTER_SCHED_H
#define IC_ROUTER_SCHED_H

struct chat;
struct node;

/* Assign c to a node now, queue it, or call chat_unavailable(). */
void sched_submit(struct chat *c);
/* Assign c to a node now if one has a free slot (no queue): false if
 * none (a peer's chat: its answer is "busy"). */
bool sched_take(struct chat *c);
/* c waits: submit it again now (a peer shows a free slot). */
void sched_retry(struct chat *c);
/* Take c off its node (freeing the slot) or out of its queue. */
void sched_detach(struct chat *c);
/* n gained a slot, a model or availability: serve waiting chats. */
void sched_node_ready(struct node *n);
/* n is gone or unregistered: every chat on it fails over. */
void sched_node_lost(struct node *n, const char *reason);

#endif
