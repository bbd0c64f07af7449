/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* tq.c - timer queues behind one lws_sul each (see tq.h). */
#include "router.h"
#include "tq.h"

static void tq_fire(lws_sorted_usec_list_t *sul);

/* Point the queue's sul at its earliest deadline (or nowhere). */
static void arm(struct tq *q)
{
	struct tq_timer *head;
	int64_t now;

	if (!q->timers.head) {
		if (q->sul_due_us) {
			lws_sul_cancel(&q->sul);
			q->sul_due_us = 0;
		}
		return;
	}
	head = lws_container_of(q->timers.head, struct tq_timer, link);
	if (q->sul_due_us && q->sul_due_us <= head->due_us)
		return; /* fires first; tq_fire re-arms */
	now = router_now_us();
	lws_sul_schedule(q->ctx, 0, &q->sul, tq_fire,
		head->due_us > now ? (lws_usec_t)(head->due_us - now) : 0);
	q->sul_due_us = head->due_us;
}

void tq_init(struct tq *q, struct lws_context *ctx)
{
	q->ctx = ctx;
}

static void tq_fire(lws_sorted_usec_list_t *sul)
{
	tq_run(lws_container_of(sul, struct tq, sul), router_now_us());
}

void tq_run(struct tq *q, int64_t now)
{
	if (q->sul_due_us) {
		/* nothing if it is the sul running this (lws took it off its list) */
		lws_sul_cancel(&q->sul);
		q->sul_due_us = 0;
	}
	while (q->timers.head) {
		struct tq_timer *t = lws_container_of(q->timers.head, struct tq_timer, link);

		if (t->due_us > now)
			break;
		lws_dll2_remove(&t->link);
		t->cb(t); /* may schedule t, or others, again */
	}
	arm(q);
}

void tq_schedule(struct tq *q, struct tq_timer *t, int64_t delay_us, tq_cb cb)
{
	lws_dll2_t *after;

	tq_cancel(t);
	after = q->timers.tail;
	t->due_us = router_now_us() + (delay_us > 0 ? delay_us : 0);
	t->cb = cb;
	/* after the last timer due no later than t: FIFO among equals */
	while (after && lws_container_of(after, struct tq_timer, link)->due_us > t->due_us)
		after = after->prev;
	if (!after)
		lws_dll2_add_head(&t->link, &q->timers);
	else if (after->next)
		lws_dll2_add_before(&t->link, after->next);
	else
		lws_dll2_add_tail(&t->link, &q->timers);
	if (q->timers.head == &t->link)
		arm(q);
}

void tq_cancel(struct tq_timer *t)
{
	/* a sul left set for a cancelled head fires, finds nothing due, re-arms */
	if (!lws_dll2_is_detached(&t->link))
		lws_dll2_remove(&t->link);
}
