/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for router/nodes.c: registration, replacement by node_id,
 * the limits per IP and in all, the registration and heartbeat deadlines;
 * and router/router.c's reload of the trusted proxies.
 * The clock, the sockets and chat.c are stand-ins (router_fake.h).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "router_fake.h"
#include "router/clientip.h"
#include "router/ipcount.h"
#include "router/models.h"
#include "router/strmap.h"
#include "common/config.h"
#include "common/limits.h"
#include "common/proto.h"

#define S 1000000LL

static bool sent_registered(const struct fake_sock *s, const char *node_id)
{
	char want[128];

	snprintf(want, sizeof(want), "\"node_id\":\"%s\"", node_id);
	return s->n_sent > 0 && strstr(s->sent[0], "\"type\":\"registered\"") &&
		strstr(s->sent[0], want);
}

START_TEST(test_register_and_disconnect)
{
	struct router *r = fake_router_new(NULL);
	struct fake_sock s;
	struct node *n = fake_node(r, &s, "10.0.0.1", "node-a", "m1,m2,m1", 4);
	struct model *m;

	ck_assert_ptr_nonnull(n);
	ck_assert(n->registered && n->available);
	ck_assert(sent_registered(&s, "node-a"));
	ck_assert_uint_eq(nodes_count(r), 1);
	ck_assert_ptr_eq(strmap_get(r->nodes_by_id, "node-a"), n);
	ck_assert_int_eq(ipcount_get(r->ipcount, "10.0.0.1", IPC_NODES), 1);
	ck_assert_int_eq(n->max_concurrent, 4);
	ck_assert_uint_eq(n->n_models, 2); /* a repeated model counts once */
	m = models_find(r->models, "m1");
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->nodes.count, 1);
	ck_assert(node_has_capacity(n));
	/* the socket goes away: nothing of the node is left */
	node_closed(n);
	ck_assert_uint_eq(nodes_count(r), 0);
	ck_assert_ptr_null(strmap_get(r->nodes_by_id, "node-a"));
	ck_assert_int_eq(ipcount_get(r->ipcount, "10.0.0.1", IPC_NODES), 0);
	ck_assert_uint_eq(ipcount_entries(r->ipcount), 0);
	ck_assert_ptr_null(models_find(r->models, "m1"));
	fake_router_free(r);
}
END_TEST

START_TEST(test_concurrency_clamped)
{
	struct router *r = fake_router_new(NULL);
	struct fake_sock s1, s2;
	struct node *a = fake_node(r, &s1, "10.0.0.1", "node-a", "m1", IC_CONCURRENCY_MAX + 1);
	struct node *b = fake_node(r, &s2, "10.0.0.1", "node-b", "m1", 0);

	ck_assert_int_eq(a->max_concurrent, IC_CONCURRENCY_MAX);
	ck_assert_int_eq(b->max_concurrent, IC_CONCURRENCY_MIN);
	node_closed(a);
	node_closed(b);
	fake_router_free(r);
}
END_TEST

START_TEST(test_first_message_must_register)
{
	struct router *r = fake_router_new(NULL);
	struct fake_sock s = { 0 };
	struct node *n = node_new(r, (struct lws *)&s, "10.0.0.1");

	n = fake_rx(n, "{\"type\":\"heartbeat\",\"node_id\":\"x\",\"active_requests\":0}");
	ck_assert_ptr_null(n);
	ck_assert_int_eq(s.close_code, 1008);
	ck_assert_str_eq(s.close_reason, IC_CLOSE_EXPECTED_REGISTER);
	ck_assert_uint_eq(nodes_count(r), 0);
	fake_router_free(r);
}
END_TEST

START_TEST(test_reregistration_replaces_the_socket)
{
	struct router *r = fake_router_new(NULL);
	struct fake_sock sa, sb, sc;
	struct node *a = fake_node(r, &sa, "10.0.0.1", "node-a", "m1", 2);
	struct node *b = fake_node(r, &sb, "10.0.0.2", "node-a", "m2", 2);
	struct node *c;

	ck_assert_ptr_nonnull(b);
	ck_assert(sent_registered(&sb, "node-a"));
	ck_assert_uint_eq(nodes_count(r), 1);
	ck_assert_ptr_eq(strmap_get(r->nodes_by_id, "node-a"), b);
	ck_assert(!a->registered && a->closing);
	ck_assert_int_eq(ipcount_get(r->ipcount, "10.0.0.1", IPC_NODES), 0);
	ck_assert_ptr_null(models_find(r->models, "m1"));
	/* the old socket is closed 1000 "re-registered" */
	ck_assert_ptr_null(fake_flush(a));
	ck_assert_int_eq(sa.close_code, 1000);
	ck_assert_str_eq(sa.close_reason, IC_CLOSE_REREGISTERED);
	ck_assert_ptr_eq(strmap_get(r->nodes_by_id, "node-a"), b);
	/* other node_ids from one address coexist */
	c = fake_node(r, &sc, "10.0.0.2", "node-c", "m2", 2);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(nodes_count(r), 2);
	ck_assert_uint_eq(models_find(r->models, "m2")->nodes.count, 2);
	node_closed(b);
	node_closed(c);
	fake_router_free(r);
}
END_TEST

START_TEST(test_nodes_per_ip)
{
	const char *const over[] = { "router.nodes_per_ip=2", NULL };
	struct router *r = fake_router_new(over);
	struct fake_sock s[5];
	struct node *n[5];

	n[0] = fake_node(r, &s[0], "10.0.0.1", "node-0", "m1", 1);
	n[1] = fake_node(r, &s[1], "10.0.0.1", "node-1", "m1", 1);
	ck_assert(n[0] && n[1]);
	/* N+1 from one address is refused */
	n[2] = fake_node(r, &s[2], "10.0.0.1", "node-2", "m1", 1);
	ck_assert_ptr_null(n[2]);
	ck_assert_int_eq(s[2].close_code, 1008);
	ck_assert_str_eq(s[2].close_reason, IC_CLOSE_TOO_MANY_NODES);
	ck_assert_uint_eq(nodes_count(r), 2);
	/* another address is not affected */
	n[3] = fake_node(r, &s[3], "10.0.0.9", "node-3", "m1", 1);
	ck_assert_ptr_nonnull(n[3]);
	/* at the limit, a node may still replace its own socket */
	n[4] = fake_node(r, &s[4], "10.0.0.1", "node-1", "m1", 1);
	ck_assert_ptr_nonnull(n[4]);
	ck_assert_ptr_null(fake_flush(n[1]));
	ck_assert_int_eq(ipcount_get(r->ipcount, "10.0.0.1", IPC_NODES), 2);
	/* a node gone frees its place */
	node_closed(n[0]);
	n[0] = fake_node(r, &s[0], "10.0.0.1", "node-2", "m1", 1);
	ck_assert_ptr_nonnull(n[0]);
	node_closed(n[0]);
	node_closed(n[3]);
	node_closed(n[4]);
	fake_router_free(r);
}
END_TEST

START_TEST(test_max_nodes)
{
	const char *const over[] = { "router.max_nodes=2", "router.nodes_per_ip=100", NULL };
	struct router *r = fake_router_new(over);
	struct fake_sock s[4];
	struct node *a = fake_node(r, &s[0], "10.0.0.1", "node-a", "m1", 1);
	struct node *b = fake_node(r, &s[1], "10.0.0.2", "node-b", "m1", 1);
	struct node *c = fake_node(r, &s[2], "10.0.0.3", "node-c", "m1", 1);
	struct node *d;

	ck_assert(a && b);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(s[2].close_code, 1013);
	/* a re-registration is not a new node */
	d = fake_node(r, &s[3], "10.0.0.4", "node-b", "m1", 1);
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_null(fake_flush(b));
	node_closed(a);
	node_closed(d);
	fake_router_free(r);
}
END_TEST

START_TEST(test_registration_deadline)
{
	struct router *r = fake_router_new(NULL);
	int64_t t = (int64_t)r->cfg->register_timeout * S;
	struct fake_sock s = { 0 };
	struct node *n = node_new(r, (struct lws *)&s, "10.0.0.1");

	fake_now_us += t - 1;
	tq_run(&r->reg_q, fake_now_us);
	ck_assert(!n->closing);
	fake_now_us += 1;
	tq_run(&r->reg_q, fake_now_us);
	ck_assert(n->closing);
	ck_assert_ptr_null(fake_flush(n));
	ck_assert_int_eq(s.close_code, 1008);
	ck_assert_str_eq(s.close_reason, IC_CLOSE_REG_TIMEOUT);
	fake_router_free(r);
}
END_TEST

START_TEST(test_heartbeat_deadline)
{
	struct router *r = fake_router_new(NULL);
	int64_t t = (int64_t)r->cfg->heartbeat_timeout * S;
	struct fake_sock s;
	struct node *n = fake_node(r, &s, "10.0.0.1", "node-a", "m1", 1);

	ck_assert_ptr_nonnull(n);
	/* a frame just before the deadline moves it */
	fake_now_us += t - 1;
	tq_run(&r->hb_q, fake_now_us);
	ck_assert(n->registered);
	n = fake_rx(n,
		"{\"type\":\"heartbeat\",\"node_id\":\"node-a\",\"active_requests\":0,"
		"\"available\":true}");
	ck_assert_ptr_nonnull(n);
	fake_now_us += 2;
	tq_run(&r->hb_q, fake_now_us); /* past the first deadline */
	ck_assert(n->registered);
	/* silent for heartbeat_timeout since that frame: N-1 us, then N */
	fake_now_us += t - 3;
	tq_run(&r->hb_q, fake_now_us);
	ck_assert(n->registered);
	fake_now_us += 1;
	tq_run(&r->hb_q, fake_now_us);
	ck_assert(!n->registered);
	ck_assert_uint_eq(nodes_count(r), 0);
	ck_assert_ptr_null(fake_flush(n));
	ck_assert_int_eq(s.close_code, 1000);
	ck_assert_str_eq(s.close_reason, IC_CLOSE_HEARTBEAT_TIMEOUT);
	fake_router_free(r);
}
END_TEST

START_TEST(test_heartbeat_availability)
{
	struct router *r = fake_router_new(NULL);
	struct fake_sock s;
	struct node *n = fake_node(r, &s, "10.0.0.1", "node-a", "m1", 1);
	struct model *m = models_find(r->models, "m1");

	ck_assert_uint_eq(m->n_by_load, 1);
	n = fake_rx(n,
		"{\"type\":\"heartbeat\",\"node_id\":\"node-a\",\"active_requests\":0,"
		"\"available\":false}");
	ck_assert(!n->available && !node_has_capacity(n));
	ck_assert_uint_eq(m->n_by_load, 0); /* not offered to chats */
	n = fake_rx(n,
		"{\"type\":\"heartbeat\",\"node_id\":\"node-a\",\"active_requests\":0,"
		"\"available\":true}");
	ck_assert(node_has_capacity(n));
	ck_assert_uint_eq(m->n_by_load, 1);
	node_closed(n);
	fake_router_free(r);
}
END_TEST

START_TEST(test_reload_reparses_trusted_proxies)
{
	const char *const over[] = { "router.trusted_proxies=10.0.0.1, 10.0.0.2", NULL };
	const char *const over2[] = { "router.trusted_proxies=::1", NULL };
	struct router *r = fake_router_new(over);
	struct router_config *cfg;
	char *errors = NULL;

	ck_assert_uint_eq(clientip_trusted_count(r->trusted), 2);
	ck_assert(clientip_is_trusted(r->trusted, "10.0.0.2"));
	cfg = ic_config_load_new(&router_config_schema, NULL, over2, &errors);
	ck_assert_ptr_nonnull(cfg);
	free(errors);
	ic_config_free(&router_config_schema, router_set_config(r, cfg));
	ck_assert_ptr_eq(r->cfg, cfg);
	ck_assert_uint_eq(clientip_trusted_count(r->trusted), 1);
	ck_assert(!clientip_is_trusted(r->trusted, "10.0.0.2"));
	ck_assert(clientip_is_trusted(r->trusted, "0:0::1"));
	fake_router_free(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("router_nodes");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_register_and_disconnect);
	tcase_add_test(tc, test_concurrency_clamped);
	tcase_add_test(tc, test_first_message_must_register);
	tcase_add_test(tc, test_reregistration_replaces_the_socket);
	tcase_add_test(tc, test_nodes_per_ip);
	tcase_add_test(tc, test_max_nodes);
	tcase_add_test(tc, test_registration_deadline);
	tcase_add_test(tc, test_heartbeat_deadline);
	tcase_add_test(tc, test_heartbeat_availability);
	tcase_add_test(tc, test_reload_reparses_trusted_proxies);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
