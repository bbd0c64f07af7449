/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for router/sched.c: the least loaded node wins, a chat never
 * goes back to a node that failed it, bounded FIFO waiting with a deadline,
 * failover when a node is lost, reputation weighed against load.  Nodes register through nodes.c; the clock,
 * the sockets and chat.c are stand-ins (router_fake.h).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "router_fake.h"
#include "router/models.h"
#include "router/sched.h"
#include "router/trust.h"

#define S 1000000LL

/* a/m < b/n, exactly */
static bool less(int a, int m, int b, int n)
{
	return (long)a * n < (long)b * m;
}

START_TEST(test_least_loaded_wins)
{
	const char *const over[] = { "router.nodes_per_ip=10", NULL };
	struct router *r = fake_router_new(over);
	static const int max[] = { 1, 2, 3, 4, 7 };
	struct fake_sock s[5];
	struct node *n[5];
	struct chat *c[17];
	char id[16];

	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "node-%d", i);
		n[i] = fake_node(r, &s[i], "10.0.0.1", id, "m1", max[i]);
		ck_assert_ptr_nonnull(n[i]);
	}
	/* 17 slots in all: every chat goes to a node of the lowest load */
	for (int k = 0; k < 17; k++) {
		int la = 1, lm = 1; /* the least load of a node with a free slot */
		struct node *got;

		for (int i = 0; i < 5; i++)
			if (n[i]->active < n[i]->max_concurrent &&
				less(n[i]->active, n[i]->max_concurrent, la, lm)) {
				la = n[i]->active;
				lm = n[i]->max_concurrent;
			}
		c[k] = fake_chat_new(r, "m1");
		sched_submit(c[k]);
		got = c[k]->node;
		ck_assert_ptr_nonnull(got);
		/* its load before this chat was the least */
		ck_assert_msg(!less(la, lm, got->active - 1, got->max_concurrent) &&
				!less(got->active - 1, got->max_concurrent, la, lm),
			"chat %d went to a node at %d/%d, least was %d/%d", k, got->active - 1,
			got->max_concurrent, la, lm);
	}
	ck_assert_int_eq(fake_calls.assigned, 17);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(n[i]->active, max[i]);
	/* a freed slot is taken by the next chat */
	fake_chat_free(c[3]);
	{
		struct node *freed = NULL;

		for (int i = 0; i < 5; i++)
			if (n[i]->active < n[i]->max_concurrent)
				freed = n[i];
		ck_assert_ptr_nonnull(freed);
		c[3] = fake_chat_new(r, "m1");
		sched_submit(c[3]);
		ck_assert_ptr_eq(c[3]->node, freed);
	}
	for (int k = 0; k < 17; k++)
		fake_chat_free(c[k]);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(n[i]->active, 0);
		node_closed(n[i]);
	}
	fake_router_free(r);
}
END_TEST

START_TEST(test_only_nodes_with_the_model)
{
	struct router *r = fake_router_new(NULL);
	struct fake_sock s[2];
	struct node *a = fake_node(r, &s[0], "10.0.0.1", "node-a", "m1", 10);
	struct node *b = fake_node(r, &s[1], "10.0.0.2", "node-b", "m2", 10);
	struct chat *c = fake_chat_new(r, "m2"), *d = fake_chat_new(r, "m3");

	sched_submit(c);
	ck_assert_ptr_eq(c->node, b);
	/* nobody lists m3: unavailable at once, not queued */
	sched_submit(d);
	ck_assert_ptr_null(d->node);
	ck_assert_ptr_null(d->waiting_on);
	ck_assert_int_eq(fake_calls.unavailable, 1);
	ck_assert_ptr_eq(fake_calls.last_unavailable, d);
	fake_chat_free(c);
	fake_chat_free(d);
	node_closed(a);
	node_closed(b);
	fake_router_free(r);
}
END_TEST

START_TEST(test_never_back_to_a_failed_node)
{
	struct router *r = fake_router_new(NULL);
	struct fake_sock s[2];
	struct node *a = fake_node(r, &s[0], "10.0.0.1", "node-a", "m1", 10);
	struct node *b = fake_node(r, &s[1], "10.0.0.2", "node-b", "m1", 1);
	struct chat *c = fake_chat_new(r, "m1");
	struct chat *d;

	/* a is the less loaded, but c has tried it */
	c->tried[c->attempts++] = a->serial;
	sched_submit(c);
	ck_assert_ptr_eq(c->node, b);
	/* with b full, c's next attempt waits rather than going back to a */
	d = fake_chat_new(r, "m1");
	d->tried[d->attempts++] = a->serial;
	sched_submit(d);
	ck_assert_ptr_null(d->node);
	ck_assert_ptr_nonnull(d->waiting_on);
	fake_chat_free(c); /* b's slot frees: d takes it */
	ck_assert_ptr_eq(d->node, b);
	ck_assert_ptr_null(d->waiting_on);
	fake_chat_free(d);
	node_closed(a);
	node_closed(b);
	fake_router_free(r);
}
END_TEST

START_TEST(test_queue_bound_and_fifo)
{
	const char *const over[] = { "router.queue_max=3", NULL };
	struct router *r = fake_router_new(over);
	struct fake_sock s;
	struct node *n = fake_node(r, &s, "10.0.0.1", "node-a", "m1", 1);
	struct chat *busy = fake_chat_new(r, "m1"), *w[4];
	struct model *m = models_find(r->models, "m1");

	sched_submit(busy);
	ck_assert_ptr_eq(busy->node, n);
	/* queue_max chats wait; the next one is refused at once */
	for (int i = 0; i < 4; i++) {
		w[i] = fake_chat_new(r, "m1");
		sched_submit(w[i]);
	}
	for (int i = 0; i < 3; i++)
		ck_assert_ptr_eq(w[i]->waiting_on, m);
	ck_assert_uint_eq(m->waiting.count, 3);
	ck_assert_ptr_null(w[3]->waiting_on);
	ck_assert_int_eq(fake_calls.unavailable, 1);
	ck_assert_ptr_eq(fake_calls.last_unavailable, w[3]);
	/* slots go to the waiting chats oldest first */
	fake_chat_free(busy);
	ck_assert_ptr_eq(w[0]->node, n);
	fake_chat_free(w[0]);
	ck_assert_ptr_eq(w[1]->node, n);
	ck_assert_ptr_null(w[2]->node);
	ck_assert_uint_eq(m->waiting.count, 1);
	/* a chat that leaves the queue frees its place */
	fake_chat_free(w[2]);
	ck_assert_uint_eq(m->waiting.count, 0);
	fake_chat_free(w[1]);
	fake_chat_free(w[3]);
	node_closed(n);
	fake_router_free(r);
}
END_TEST

START_TEST(test_wait_deadline)
{
	struct router *r = fake_router_new(NULL);
	int64_t wait = (int64_t)r->cfg->queue_wait * S;
	struct fake_sock s;
	struct node *n = fake_node(r, &s, "10.0.0.1", "node-a", "m1", 1);
	struct chat *busy = fake_chat_new(r, "m1"), *c;

	sched_submit(busy);
	c = fake_chat_new(r, "m1");
	sched_submit(c);
	ck_assert_ptr_nonnull(c->waiting_on);
	fake_now_us += wait - 1;
	tq_run(&r->wait_q, fake_now_us);
	ck_assert_ptr_nonnull(c->waiting_on);
	ck_assert_int_eq(fake_calls.unavailable, 0);
	fake_now_us += 1;
	tq_run(&r->wait_q, fake_now_us);
	ck_assert_ptr_null(c->waiting_on);
	ck_assert_int_eq(fake_calls.unavailable, 1);
	ck_assert_ptr_eq(fake_calls.last_unavailable, c);
	/* the model stays: the node still lists it */
	ck_assert_uint_eq(models_find(r->models, "m1")->waiting.count, 0);
	fake_chat_free(c);
	fake_chat_free(busy);
	node_closed(n);
	fake_router_free(r);
}
END_TEST

START_TEST(test_waiting_keeps_the_model_until_it_leaves)
{
	struct router *r = fake_router_new(NULL);
	struct fake_sock s;
	struct node *n = fake_node(r, &s, "10.0.0.1", "node-a", "m1", 1);
	struct chat *busy = fake_chat_new(r, "m1"), *c = fake_chat_new(r, "m1");

	sched_submit(busy);
	sched_submit(c);
	/* the node goes: busy fails over (chat_node_failed), c still waits */
	node_closed(n);
	ck_assert_int_eq(fake_calls.failed, 1);
	ck_assert_ptr_null(busy->node);
	ck_assert_ptr_nonnull(models_find(r->models, "m1"));
	/* the model goes with the last waiting chat */
	fake_chat_free(c);
	ck_assert_ptr_null(models_find(r->models, "m1"));
	fake_chat_free(busy);
	fake_router_free(r);
}
END_TEST

START_TEST(test_new_node_serves_the_queue)
{
	struct router *r = fake_router_new(NULL);
	struct fake_sock s[2];
	struct node *a = fake_node(r, &s[0], "10.0.0.1", "node-a", "m1", 1);
	struct chat *busy = fake_chat_new(r, "m1"), *c = fake_chat_new(r, "m1");
	struct node *b;

	sched_submit(busy);
	sched_submit(c);
	ck_assert_ptr_nonnull(c->waiting_on);
	b = fake_node(r, &s[1], "10.0.0.2", "node-b", "m1", 1);
	ck_assert_ptr_eq(c->node, b);
	ck_assert_ptr_null(c->waiting_on);
	fake_chat_free(busy);
	fake_chat_free(c);
	node_closed(a);
	node_closed(b);
	fake_router_free(r);
}
END_TEST

/* One chat for model submitted and freed at once; the node it went to. */
static struct node *one_chat(struct router *r, const char *model)
{
	struct chat *c = fake_chat_new(r, model);
	struct node *got;

	sched_submit(c);
	got = c->node;
	fake_chat_free(c);
	return got;
}

START_TEST(test_reputation_wins_at_equal_load)
{
	struct router *r = fake_router_new(NULL);
	struct fake_sock sa, sb;
	struct node *a = fake_node(r, &sa, "10.0.0.1", "rep-a", "m1", 2);
	struct node *b = fake_node(r, &sb, "10.0.0.2", "rep-b", "m1", 2);

	ck_assert_int_eq(trust_rep(a), 50);
	trust_adjust(b, 5); /* one probe passed */
	for (int i = 0; i < 50; i++)
		ck_assert_ptr_eq(one_chat(r, "m1"), b);
	trust_adjust(a, 10);
	for (int i = 0; i < 50; i++)
		ck_assert_ptr_eq(one_chat(r, "m1"), a);
	node_closed(a);
	node_closed(b);
	fake_router_free(r);
}
END_TEST

START_TEST(test_equal_scores_are_random)
{
	struct router *r = fake_router_new(NULL);
	struct fake_sock sa, sb;
	struct node *a = fake_node(r, &sa, "10.0.0.1", "tie-a", "m1", 2);
	struct node *b = fake_node(r, &sb, "10.0.0.2", "tie-b", "m1", 2);
	int to_a = 0;

	for (int i = 0; i < 200; i++)
		to_a += one_chat(r, "m1") == a;
	/* 200 fair coins: fewer than 60 or more than 140 heads is < 1e-8 */
	ck_assert_int_gt(to_a, 60);
	ck_assert_int_lt(to_a, 140);
	node_closed(a);
	node_closed(b);
	fake_router_free(r);
}
END_TEST

/* Scores 0.5 (1 - load) + 0.3 rep: a half-busy node of reputation 1.0
 * (0.55) loses to an idle one of 0.5 (0.65), of 0.2 (0.56) too, and wins
 * against an idle one of 0.15 (0.545). */
START_TEST(test_load_weighs_against_reputation)
{
	struct router *r = fake_router_new(NULL);
	struct fake_sock sa, sb;
	struct node *a = fake_node(r, &sa, "10.0.0.1", "w-a", "m1", 2);
	struct node *b = fake_node(r, &sb, "10.0.0.2", "w-b", "m1", 2);
	struct chat *busy = fake_chat_new(r, "m1");

	trust_adjust(a, 50); /* 100 */
	sched_submit(busy);
	ck_assert_ptr_eq(busy->node, a); /* 0.8 against 0.65 */
	for (int i = 0; i < 20; i++)
		ck_assert_ptr_eq(one_chat(r, "m1"), b); /* 0.65 against 0.55 */
	trust_adjust(b, -20);				/* 30: 0.59 */
	for (int i = 0; i < 20; i++)
		ck_assert_ptr_eq(one_chat(r, "m1"), b);
	trust_adjust(b, -10); /* 20: 0.56 */
	ck_assert_ptr_eq(one_chat(r, "m1"), b);
	trust_adjust(b, -5); /* 15: 0.545 */
	ck_assert_ptr_eq(one_chat(r, "m1"), a);
	fake_chat_free(busy);
	node_closed(a);
	node_closed(b);
	fake_router_free(r);
}
END_TEST

START_TEST(test_below_min_reputation_gets_no_chats)
{
	struct router *r = fake_router_new(NULL);
	struct fake_sock sa, sb;
	struct node *a = fake_node(r, &sa, "10.0.0.1", "low-a", "m1", 1);
	struct node *b = fake_node(r, &sb, "10.0.0.2", "low-b", "m1", 1);
	struct chat *c1, *c2;

	trust_adjust(a, -46); /* 4 < 5 */
	c1 = fake_chat_new(r, "m1");
	sched_submit(c1);
	ck_assert_ptr_eq(c1->node, b);
	c2 = fake_chat_new(r, "m1");
	sched_submit(c2);
	ck_assert_ptr_null(c2->node); /* waits rather than go to a */
	ck_assert_ptr_nonnull(c2->waiting_on);
	trust_adjust(a, 1); /* 5: at the minimum, routed again */
	ck_assert_ptr_eq(c2->node, a);
	fake_chat_free(c1);
	fake_chat_free(c2);
	node_closed(a);
	node_closed(b);
	fake_router_free(r);
}
END_TEST

START_TEST(test_reputation_survives_reconnect)
{
	struct router *r = fake_router_new(NULL);
	struct fake_sock sa, sb;
	struct node *a = fake_node(r, &sa, "10.0.0.1", "keep-a", "m1", 1);

	trust_adjust(a, 30);
	trust_adjust(a, 30);
	ck_assert_int_eq(trust_rep(a), 100); /* clamped */
	node_closed(a);
	a = fake_node(r, &sa, "10.0.0.1", "keep-a", "m1", 1);
	ck_assert_int_eq(trust_rep(a), 100);
	trust_adjust(a, -150);
	ck_assert_int_eq(trust_rep(a), 0);
	{
		struct node *b = fake_node(r, &sb, "10.0.0.1", "keep-b", "m1", 1);

		ck_assert_int_eq(trust_rep(b), 50);
		node_closed(b);
	}
	node_closed(a);
	fake_router_free(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("router_sched");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_least_loaded_wins);
	tcase_add_test(tc, test_only_nodes_with_the_model);
	tcase_add_test(tc, test_never_back_to_a_failed_node);
	tcase_add_test(tc, test_queue_bound_and_fifo);
	tcase_add_test(tc, test_wait_deadline);
	tcase_add_test(tc, test_waiting_keeps_the_model_until_it_leaves);
	tcase_add_test(tc, test_new_node_serves_the_queue);
	tcase_add_test(tc, test_reputation_wins_at_equal_load);
	tcase_add_test(tc, test_equal_scores_are_random);
	tcase_add_test(tc, test_load_weighs_against_reputation);
	tcase_add_test(tc, test_below_min_reputation_gets_no_chats);
	tcase_add_test(tc, test_reputation_survives_reconnect);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
