/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for router/tq.c: timer queues behind one lws_sul each.
 *
 * The clock is this file's router_now_us(); timers fire when a test calls
 * tq_run() (what the queue's sul does when lws runs it).  The lws context
 * is real and listens nowhere: tq.c arms and cancels suls on it.
 */
#include <check.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "router/router.h"
#include "router/tq.h"

static int64_t now_us = 1000000000;

int64_t router_now_us(void)
{
	return now_us;
}

struct probe {
	struct tq_timer t;
	int id;
};

static int fired[64];
static int n_fired;
static struct tq *again_q; /* for again(): the queue to reschedule on */

static void record(struct tq_timer *t)
{
	fired[n_fired++] = lws_container_of(t, struct probe, t)->id;
}

/* Schedules itself 10 us on each time it fires. */
static void again(struct tq_timer *t)
{
	record(t);
	tq_schedule(again_q, t, 10, again);
}

static struct lws_context *ctx;
static struct tq q;

static void setup(void)
{
	struct lws_context_creation_info info = { 0 };

	info.port = CONTEXT_PORT_NO_LISTEN;
	lws_set_log_level(LLL_ERR, NULL);
	ctx = lws_create_context(&info);
	ck_assert_ptr_nonnull(ctx);
	memset(&q, 0, sizeof(q));
	tq_init(&q, ctx);
	n_fired = 0;
	now_us = 1000000000;
}

static void teardown(void)
{
	lws_context_destroy(ctx);
}

START_TEST(test_fires_in_deadline_order_fifo_among_equals)
{
	struct probe p[5] = { { .id = 0 }, { .id = 1 }, { .id = 2 }, { .id = 3 }, { .id = 4 } };

	tq_schedule(&q, &p[0].t, 30, record);
	tq_schedule(&q, &p[1].t, 10, record);
	tq_schedule(&q, &p[2].t, 20, record);
	tq_schedule(&q, &p[3].t, 10, record); /* after p[1]: scheduled later */
	tq_schedule(&q, &p[4].t, -5, record); /* a negative delay is now */
	ck_assert_uint_eq(q.timers.count, 5);
	tq_run(&q, now_us + 100);
	ck_assert_int_eq(n_fired, 5);
	ck_assert_int_eq(fired[0], 4);
	ck_assert_int_eq(fired[1], 1);
	ck_assert_int_eq(fired[2], 3);
	ck_assert_int_eq(fired[3], 2);
	ck_assert_int_eq(fired[4], 0);
	ck_assert_uint_eq(q.timers.count, 0);
	ck_assert(q.sul_due_us == 0); /* nothing left: the sul is cancelled */
}
END_TEST

START_TEST(test_only_due_timers_fire)
{
	struct probe p[3] = { { .id = 0 }, { .id = 1 }, { .id = 2 } };

	tq_schedule(&q, &p[0].t, 100, record);
	tq_schedule(&q, &p[1].t, 200, record);
	tq_schedule(&q, &p[2].t, 300, record);
	tq_run(&q, now_us + 99); /* N-1: nothing due */
	ck_assert_int_eq(n_fired, 0);
	tq_run(&q, now_us + 100); /* N: exactly due */
	ck_assert_int_eq(n_fired, 1);
	ck_assert_int_eq(fired[0], 0);
	tq_run(&q, now_us + 250);
	ck_assert_int_eq(n_fired, 2);
	ck_assert_int_eq(fired[1], 1);
	ck_assert_uint_eq(q.timers.count, 1);
	/* the sul is set for what is left */
	ck_assert(q.sul_due_us == now_us + 300);
	tq_cancel(&p[2].t);
}
END_TEST

START_TEST(test_cancel_and_reschedule)
{
	struct probe p[3] = { { .id = 0 }, { .id = 1 }, { .id = 2 } };

	tq_cancel(&p[0].t); /* never scheduled: nothing */
	tq_schedule(&q, &p[0].t, 10, record);
	tq_schedule(&q, &p[1].t, 20, record);
	tq_schedule(&q, &p[2].t, 30, record);
	tq_cancel(&p[1].t);
	tq_cancel(&p[1].t); /* twice: nothing */
	ck_assert_uint_eq(q.timers.count, 2);
	/* rescheduling moves a timer rather than adding it again */
	tq_schedule(&q, &p[0].t, 40, record);
	ck_assert_uint_eq(q.timers.count, 2);
	tq_run(&q, now_us + 35);
	ck_assert_int_eq(n_fired, 1);
	ck_assert_int_eq(fired[0], 2);
	tq_run(&q, now_us + 40);
	ck_assert_int_eq(n_fired, 2);
	ck_assert_int_eq(fired[1], 0);
}
END_TEST

START_TEST(test_sul_follows_the_earliest_deadline)
{
	struct probe p[3] = { { .id = 0 }, { .id = 1 }, { .id = 2 } };

	ck_assert(q.sul_due_us == 0);
	tq_schedule(&q, &p[0].t, 500, record);
	ck_assert(q.sul_due_us == now_us + 500);
	/* a later timer leaves the sul alone; an earlier one moves it */
	tq_schedule(&q, &p[1].t, 900, record);
	ck_assert(q.sul_due_us == now_us + 500);
	tq_schedule(&q, &p[2].t, 100, record);
	ck_assert(q.sul_due_us == now_us + 100);
	/* cancelling the head leaves the sul early: it finds nothing due, re-arms */
	tq_cancel(&p[2].t);
	ck_assert(q.sul_due_us == now_us + 100);
	tq_run(&q, now_us + 100);
	ck_assert_int_eq(n_fired, 0);
	tq_cancel(&p[0].t);
	tq_cancel(&p[1].t);
	tq_run(&q, now_us + 1000);
	ck_assert(q.sul_due_us == 0);
}
END_TEST

START_TEST(test_callback_may_reschedule)
{
	struct probe p = { .id = 7 };

	again_q = &q;
	tq_schedule(&q, &p.t, 10, again);
	/* it schedules itself 10 us on each time it fires: a run at the
	 * clock's time fires it once, not forever */
	now_us += 10;
	tq_run(&q, now_us);
	ck_assert_int_eq(n_fired, 1);
	ck_assert(q.sul_due_us == now_us + 10);
	tq_run(&q, now_us);
	ck_assert_int_eq(n_fired, 1);
	now_us += 9;
	tq_run(&q, now_us);
	ck_assert_int_eq(n_fired, 1);
	now_us += 1;
	tq_run(&q, now_us);
	ck_assert_int_eq(n_fired, 2);
	ck_assert_uint_eq(q.timers.count, 1);
	tq_cancel(&p.t);
}
END_TEST

START_TEST(test_many_timers_of_one_duration)
{
	static struct probe p[1000];
	int64_t t0 = now_us;
	int i = 0;

	/* the common case: each timer due no earlier than the one before */
	for (i = 0; i < 1000; i++) {
		p[i].id = i;
		now_us++;
		tq_schedule(&q, &p[i].t, 1000, record);
	}
	i = 0;
	lws_start_foreach_dll(struct lws_dll2 *, d, q.timers.head)
	{
		ck_assert_int_eq(lws_container_of(d, struct probe, t.link)->id, i++);
	}
	lws_end_foreach_dll(d);
	ck_assert_int_eq(i, 1000);
	/* timer i is due at t0 + i + 1 + 1000 */
	tq_run(&q, t0 + 1000 + 31);
	ck_assert_int_eq(n_fired, 31);
	ck_assert_int_eq(fired[30], 30);
	for (i = 31; i < 1000; i++)
		tq_cancel(&p[i].t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("router_tq");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fires_in_deadline_order_fifo_among_equals);
	tcase_add_test(tc, test_only_due_timers_fire);
	tcase_add_test(tc, test_cancel_and_reschedule);
	tcase_add_test(tc, test_sul_follows_the_earliest_deadline);
	tcase_add_test(tc, test_callback_may_reschedule);
	tcase_add_test(tc, test_many_timers_of_one_duration);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
