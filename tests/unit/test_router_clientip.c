/* Unit tests for router/clientip.c: X-Forwarded-For only from trusted proxies. */
#include <check.h>
#include <stdlib.h>

#include "router/clientip.h"

static const char *choose(const char *peer, const char *xff, const char *trusted)
{
	static char out[64];

	clientip_choose(peer, xff, trusted, out, sizeof(out));
	return out;
}

START_TEST(test_untrusted_peer_ignores_xff)
{
	ck_assert_str_eq(choose("203.0.113.5", "1.2.3.4", NULL), "203.0.113.5");
	ck_assert_str_eq(choose("203.0.113.5", "1.2.3.4", ""), "203.0.113.5");
	ck_assert_str_eq(choose("203.0.113.5", "1.2.3.4", "127.0.0.1"), "203.0.113.5");
}
END_TEST

START_TEST(test_trusted_peer_first_entry)
{
	ck_assert_str_eq(choose("127.0.0.1", "1.2.3.4", "127.0.0.1"), "1.2.3.4");
	ck_assert_str_eq(choose("127.0.0.1", " 1.2.3.4 , 5.6.7.8", "127.0.0.1"), "1.2.3.4");
	ck_assert_str_eq(choose("10.0.0.2", "2001:db8::1", "10.0.0.1, 10.0.0.2"), "2001:db8::1");
	/* no header, or one that is not an address: the peer */
	ck_assert_str_eq(choose("127.0.0.1", NULL, "127.0.0.1"), "127.0.0.1");
	ck_assert_str_eq(choose("127.0.0.1", "", "127.0.0.1"), "127.0.0.1");
	ck_assert_str_eq(choose("127.0.0.1", "evil.example, 1.2.3.4", "127.0.0.1"), "127.0.0.1");
	ck_assert_str_eq(choose("127.0.0.1", "1.2.3.4.5", "127.0.0.1"), "127.0.0.1");
}
END_TEST

START_TEST(test_address_forms)
{
	/* IPv6 compared in binary form; IPv4-mapped peers are IPv4 */
	ck_assert(clientip_in_list("::1", "0:0::1"));
	ck_assert(!clientip_in_list("::2", "::1"));
	ck_assert_str_eq(choose("::ffff:127.0.0.1", "9.9.9.9", "127.0.0.1"), "9.9.9.9");
	ck_assert_str_eq(choose("::ffff:10.0.0.9", NULL, NULL), "10.0.0.9");
	ck_assert(!clientip_in_list("127.0.0.1", "127.0.0.10"));
	ck_assert(!clientip_in_list("127.0.0.1", "not-an-address"));
	ck_assert(clientip_in_list("127.0.0.1", ",, 127.0.0.1 ,"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("router_clientip");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_untrusted_peer_ignores_xff);
	tcase_add_test(tc, test_trusted_peer_first_entry);
	tcase_add_test(tc, test_address_forms);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
