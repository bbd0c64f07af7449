/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for router/ratelimit.c and router/strmap.c. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/limits.h"
#include "router/ratelimit.h"
#include "router/strmap.h"

#define SEC 1000000LL

START_TEST(test_bucket_n_then_refuse)
{
	struct ratelimit *rl = ratelimit_new(100);
	int retry = 0;

	for (int i = 0; i < IC_RATE_CHAT_PER_MIN; i++)
		ck_assert(ratelimit_take(rl, RL_CHAT, "10.0.0.1", IC_RATE_CHAT_PER_MIN, 0, &retry));
	ck_assert(!ratelimit_take(rl, RL_CHAT, "10.0.0.1", IC_RATE_CHAT_PER_MIN, 0, &retry));
	/* one token comes back every 60/20 = 3 s */
	ck_assert_int_eq(retry, 60 / IC_RATE_CHAT_PER_MIN);
	ck_assert(!ratelimit_take(rl, RL_CHAT, "10.0.0.1", IC_RATE_CHAT_PER_MIN, 2 * SEC, &retry));
	ck_assert_int_eq(retry, 1);
	ck_assert(ratelimit_take(rl, RL_CHAT, "10.0.0.1", IC_RATE_CHAT_PER_MIN, 3 * SEC, &retry));
	/* other addresses and other groups have their own buckets */
	ck_assert(ratelimit_take(rl, RL_CHAT, "10.0.0.2", IC_RATE_CHAT_PER_MIN, 3 * SEC, &retry));
	ck_assert(ratelimit_take(rl, RL_OTHER, "10.0.0.1", IC_RATE_OTHER_PER_MIN, 3 * SEC, &retry));
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_refill_caps_at_burst)
{
	struct ratelimit *rl = ratelimit_new(100);
	int n = 0, retry;

	ck_assert(ratelimit_take(rl, RL_UPGRADE, "a", IC_RATE_UPGRADE_PER_MIN, 0, &retry));
	/* an hour later the bucket holds per_min tokens, not more */
	while (ratelimit_take(rl, RL_UPGRADE, "a", IC_RATE_UPGRADE_PER_MIN, 3600 * SEC, &retry))
		n++;
	ck_assert_int_eq(n, IC_RATE_UPGRADE_PER_MIN);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_expiry_and_bound)
{
	struct ratelimit *rl = ratelimit_new(3);
	char ip[32];
	int retry;

	for (int i = 0; i < 10; i++) {
		snprintf(ip, sizeof(ip), "10.1.0.%d", i);
		ratelimit_take(rl, RL_OTHER, ip, 60, i, &retry);
		ck_assert_uint_le(ratelimit_entries(rl), 3);
	}
	ck_assert_uint_eq(ratelimit_entries(rl), 3);
	/* a minute of silence: every bucket is full again and forgotten */
	ratelimit_take(rl, RL_OTHER, "10.2.0.1", 60, 61 * SEC, &retry);
	ck_assert_uint_eq(ratelimit_entries(rl), 1);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_strmap)
{
	struct strmap *m = strmap_new();
	char key[32];
	static int vals[2000];

	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		vals[i] = i;
		ck_assert_ptr_null(strmap_put(m, key, &vals[i]));
	}
	ck_assert_uint_eq(strmap_count(m), 2000);
	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(*(int *)strmap_get(m, key), i);
	}
	ck_assert_ptr_eq(strmap_put(m, "k5", &vals[7]), &vals[5]);
	ck_assert_ptr_eq(strmap_remove(m, "k5"), &vals[7]);
	ck_assert_ptr_null(strmap_get(m, "k5"));
	ck_assert_ptr_null(strmap_remove(m, "nope"));
	ck_assert_uint_eq(strmap_count(m), 1999);
	strmap_free(m, NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("router_ratelimit");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_bucket_n_then_refuse);
	tcase_add_test(tc, test_refill_caps_at_burst);
	tcase_add_test(tc, test_expiry_and_bound);
	tcase_add_test(tc, test_strmap);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
