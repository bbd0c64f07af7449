/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * tq.h - timer queues: many timers of one kind behind one lws_sul.
 *
 * lws keeps every lws_sul of a thread in one sorted list, and scheduling
 * one walks that list from its earliest entry: with thousands of streams,
 * each holding a chunk and a ping timer, every new stream cost a walk of
 * thousands of entries.  The router's timers of one kind mostly share one
 * duration (chunk_timeout, ping_interval, ...), so in a queue of their own
 * they arrive nearly in deadline order: a timer is inserted by walking back
 * from the latest entry (usually zero steps), and the queue holds a single
 * lws_sul, set for its earliest deadline.  A timer fires when its deadline
 * has passed, as an lws_sul would; its callback may schedule it again.
 */
#ifndef IC_ROUTER_TQ_H
#define IC_ROUTER_TQ_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>

struct tq_timer;
typedef void (*tq_cb)(struct tq_timer *t);

struct tq_timer {
	lws_dll2_t link; /* in its queue, sorted by due_us */
	int64_t due_us;	 /* router_now_us() time */
	tq_cb cb;
};

struct tq {
	lws_dll2_owner_t timers;
	struct lws_context *ctx;    /* whose sul list holds sul */
	lws_sorted_usec_list_t sul; /* set for the head's deadline */
	int64_t sul_due_us;	    /* 0: sul not set */
};

/* An empty queue on ctx (q zeroed before). */
void tq_init(struct tq *q, struct lws_context *ctx);
/* (Re)schedule t on q to fire cb(t) after delay_us. */
void tq_schedule(struct tq *q, struct tq_timer *t, int64_t delay_us, tq_cb cb);
/* Unschedule t (nothing if it is not scheduled). */
void tq_cancel(struct tq_timer *t);
/* What the sul does when it fires (unit tests call it with their clock):
 * fire, in deadline order, every timer due at now_us (normally the clock's
 * time: a callback that schedules a timer with no delay is run again), and
 * set the sul for the earliest deadline left. */
void tq_run(struct tq *q, int64_t now_us);

#endif
