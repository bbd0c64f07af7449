/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for router/clientip.c: X-Forwarded-For only from trusted proxies. */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>

#include "router/clientip.h"

/* clientip_choose() with the trusted list given as its configuration text. */
static const char *choose(const char *peer, const char *xff, const char *trusted)
{
	static char out[64];
	struct clientip_trusted *t = clientip_trusted_new(trusted, NULL);

	clientip_choose(peer, xff, t, out, sizeof(out));
	clientip_trusted_free(t);
	return out;
}

static bool in_list(const char *addr, const char *list)
{
	struct clientip_trusted *t = clientip_trusted_new(list, NULL);
	bool r = clientip_is_trusted(t, addr);

	clientip_trusted_free(t);
	return r;
}

START_TEST(test_untrusted_peer_ignores_xff)
{
	ck_assert_str_eq(choose("203.0.113.5", "1.2.3.4", NULL), "203.0.113.5");
	ck_assert_str_eq(choose("203.0.113.5", "1.2.3.4", ""), "203.0.113.5");
	ck_assert_str_eq(choose("203.0.113.5", "1.2.3.4", "127.0.0.1"), "203.0.113.5");
}
END_TEST

START_TEST(test_trusted_peer_rightmost_untrusted)
{
	ck_assert_str_eq(choose("127.0.0.1", "1.2.3.4", "127.0.0.1"), "1.2.3.4");
	ck_assert_str_eq(choose("10.0.0.2", "2001:db8::1", "10.0.0.1, 10.0.0.2"), "2001:db8::1");
	/* a proxy that appends: what the client wrote is on the left */
	ck_assert_str_eq(choose("127.0.0.1", " 6.6.6.6 , 5.6.7.8", "127.0.0.1"), "5.6.7.8");
	ck_assert_str_eq(choose("127.0.0.1", "6.6.6.6,5.6.7.8", "127.0.0.1"), "5.6.7.8");
	ck_assert_str_eq(choose("127.0.0.1", "evil.example, 1.2.3.4", "127.0.0.1"), "1.2.3.4");
	/* trusted hops on the right are skipped (nginx's real_ip_recursive):
	 * one chain of N = 2 proxies, and N + 1 = 3 */
	ck_assert_str_eq(
		choose("10.0.0.1", "6.6.6.6, 5.6.7.8, 10.0.0.2", "10.0.0.1, 10.0.0.2"), "5.6.7.8");
	ck_assert_str_eq(choose("10.0.0.1", "6.6.6.6, 5.6.7.8, 10.0.0.3, 10.0.0.2",
				 "10.0.0.1, 10.0.0.2, 10.0.0.3"),
		"5.6.7.8");
	ck_assert_str_eq(
		choose("10.0.0.1", "6.6.6.6, 5.6.7.8, 10.0.0.3, 10.0.0.2", "10.0.0.1, 10.0.0.2"),
		"10.0.0.3");
	ck_assert_str_eq(choose("::1", "6.6.6.6, ::ffff:5.6.7.8, ::1", "::1"), "5.6.7.8");
	/* all trusted: the leftmost */
	ck_assert_str_eq(
		choose("10.0.0.1", "10.0.0.2, 10.0.0.1", "10.0.0.1, 10.0.0.2"), "10.0.0.2");
	/* empty entries are nothing */
	ck_assert_str_eq(choose("127.0.0.1", "6.6.6.6, 5.6.7.8, ,", "127.0.0.1"), "5.6.7.8");
	ck_assert_str_eq(choose("127.0.0.1", ",", "127.0.0.1"), "127.0.0.1");
	/* no header, or a rightmost entry that is not an address: the last
	 * trusted hop (here the peer) */
	ck_assert_str_eq(choose("127.0.0.1", NULL, "127.0.0.1"), "127.0.0.1");
	ck_assert_str_eq(choose("127.0.0.1", "", "127.0.0.1"), "127.0.0.1");
	ck_assert_str_eq(choose("127.0.0.1", "1.2.3.4.5", "127.0.0.1"), "127.0.0.1");
	ck_assert_str_eq(choose("127.0.0.1", "5.6.7.8, x", "127.0.0.1"), "127.0.0.1");
	ck_assert_str_eq(
		choose("10.0.0.1", "5.6.7.8, bad, 10.0.0.2", "10.0.0.1, 10.0.0.2"), "10.0.0.2");
	ck_assert_str_eq(
		choose("127.0.0.1", "6.6.6.6, 1234:1234:1234:1234:1234:1234:255.255.255.2550",
			"127.0.0.1"),
		"127.0.0.1");
}
END_TEST

START_TEST(test_address_forms)
{
	/* IPv6 compared in binary form; IPv4-mapped peers are IPv4 */
	ck_assert(in_list("::1", "0:0::1"));
	ck_assert(!in_list("::2", "::1"));
	ck_assert_str_eq(choose("::ffff:127.0.0.1", "9.9.9.9", "127.0.0.1"), "9.9.9.9");
	ck_assert_str_eq(choose("::ffff:10.0.0.9", NULL, NULL), "10.0.0.9");
	ck_assert(!in_list("127.0.0.1", "127.0.0.10"));
	ck_assert(!in_list("127.0.0.1", "not-an-address"));
	ck_assert(in_list("127.0.0.1", ",, 127.0.0.1 ,"));
}
END_TEST

/* The list is common/addr.h's network list: a proxy pool as ADDR/BITS. */
START_TEST(test_trusted_networks)
{
	ck_assert(in_list("10.1.2.3", "10.0.0.0/8"));
	ck_assert(in_list("::ffff:10.1.2.3", "10.0.0.0/8"));
	ck_assert(!in_list("11.0.0.1", "10.0.0.0/8"));
	ck_assert(in_list("fd00::5", "fd00::/8, 192.0.2.1"));
	ck_assert(!in_list("10.1.2.3", "10.0.0.0/33"));
	ck_assert_str_eq(
		choose("10.9.9.9", "198.51.100.4, 10.0.0.7", "10.0.0.0/8"), "198.51.100.4");
}
END_TEST

START_TEST(test_list_parsed_once)
{
	size_t bad = 99;
	struct clientip_trusted *t;
	char out[64];

	/* empty and missing lists trust nobody */
	t = clientip_trusted_new(NULL, &bad);
	ck_assert_uint_eq(clientip_trusted_count(t), 0);
	ck_assert_uint_eq(bad, 0);
	ck_assert(!clientip_is_trusted(t, "127.0.0.1"));
	clientip_trusted_free(t);
	t = clientip_trusted_new(" , ,", &bad);
	ck_assert_uint_eq(clientip_trusted_count(t), 0);
	ck_assert_uint_eq(bad, 0);
	clientip_trusted_free(t);
	ck_assert(!clientip_is_trusted(NULL, "127.0.0.1"));

	/* entries that are not addresses are counted and left out */
	t = clientip_trusted_new("10.0.0.1, proxy.example, ::1, 10.0.0.300, 2001:DB8::7", &bad);
	ck_assert_uint_eq(clientip_trusted_count(t), 3);
	ck_assert_uint_eq(bad, 2);
	ck_assert(clientip_is_trusted(t, "10.0.0.1"));
	ck_assert(clientip_is_trusted(t, "::ffff:10.0.0.1"));
	ck_assert(clientip_is_trusted(t, "0::1"));
	ck_assert(clientip_is_trusted(t, "2001:db8:0::7"));
	ck_assert(!clientip_is_trusted(t, "10.0.0.2"));
	ck_assert(!clientip_is_trusted(t, "proxy.example"));
	ck_assert(!clientip_is_trusted(t, ""));
	ck_assert(!clientip_is_trusted(t, NULL));
	/* one parsed list serves any number of requests */
	for (int i = 0; i < 3; i++) {
		clientip_choose("10.0.0.1", "198.51.100.4", t, out, sizeof(out));
		ck_assert_str_eq(out, "198.51.100.4");
		clientip_choose("10.0.0.9", "198.51.100.4", t, out, sizeof(out));
		ck_assert_str_eq(out, "10.0.0.9");
	}
	clientip_trusted_free(t);
	clientip_trusted_free(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("router_clientip");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_untrusted_peer_ignores_xff);
	tcase_add_test(tc, test_trusted_peer_rightmost_untrusted);
	tcase_add_test(tc, test_address_forms);
	tcase_add_test(tc, test_list_parsed_once);
	tcase_add_test(tc, test_trusted_networks);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
