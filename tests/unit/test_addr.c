/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* test_addr.c - common/addr.c: host:port, ports, loopback, network lists. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

/* "host|port" of s split with flags ("-" for no port), or "ERR<n>". */
static const char *split(const char *s, unsigned flags)
{
	static char out[256];
	struct ic_hostport hp;
	enum ic_hostport_err rc = ic_hostport_split(s, strlen(s), flags, &hp);

	if (rc != IC_HP_OK) {
		snprintf(out, sizeof(out), "ERR%d", (int)rc);
		return out;
	}
	snprintf(out, sizeof(out), "%s%.*s%s|%.*s", hp.bracketed ? "[" : "", (int)hp.host_len,
		hp.host, hp.bracketed ? "]" : "", hp.port ? (int)hp.port_len : 1,
		hp.port ? hp.port : "-");
	return out;
}

START_TEST(test_hostport_split)
{
	ck_assert_str_eq(split("127.0.0.1:8080", 0), "127.0.0.1|8080");
	ck_assert_str_eq(split("example.com", 0), "example.com|-");
	ck_assert_str_eq(split("h:", 0), "h|");
	ck_assert_str_eq(split(":80", 0), "|80");
	ck_assert_str_eq(split("", 0), "|-");
	ck_assert_str_eq(split("[::1]:443", 0), "[::1]|443");
	ck_assert_str_eq(split("[::1]", 0), "[::1]|-");
	ck_assert_str_eq(split("[]:1", 0), "[]|1");
	/* unbracketed colons: the first splits, or the last with the flag */
	ck_assert_str_eq(split("::1:80", 0), "|:1:80");
	ck_assert_str_eq(split("::1:80", IC_HP_LAST_COLON), "::1|80");
	ck_assert_str_eq(split("a:b:c", IC_HP_LAST_COLON), "a:b|c");
	ck_assert_str_eq(split("[::1]:8:0", IC_HP_LAST_COLON), "[::1]|8:0");
	ck_assert_str_eq(split("[::1", 0), "ERR-1");
	ck_assert_str_eq(split("[::1]x", 0), "ERR-2");
	ck_assert_str_eq(split("[::1]x:80", IC_HP_LAST_COLON), "ERR-2");
}
END_TEST

START_TEST(test_hostport_split_len)
{
	struct ic_hostport hp;

	/* only len bytes are read: "h:80" of "h:8080" */
	ck_assert_int_eq(ic_hostport_split("h:8080", 4, 0, &hp), IC_HP_OK);
	ck_assert_int_eq(ic_port_parse(hp.port, hp.port_len), 80);
	ck_assert_int_eq(ic_hostport_split("[::1]:80", 5, 0, &hp), IC_HP_OK);
	ck_assert_ptr_null(hp.port);
	ck_assert_int_eq(ic_hostport_split("[::1]", 4, 0, &hp), IC_HP_NO_BRACKET);
}
END_TEST

START_TEST(test_port_parse)
{
	ck_assert_int_eq(ic_port_parse("1", 1), 1);
	ck_assert_int_eq(ic_port_parse("65535", 5), 65535);
	ck_assert_int_eq(ic_port_parse("065535", 6), 65535);
	ck_assert_int_eq(ic_port_parse("65536", 5), -1);
	ck_assert_int_eq(ic_port_parse("0", 1), -1);
	ck_assert_int_eq(ic_port_parse("", 0), -1);
	ck_assert_int_eq(ic_port_parse(NULL, 0), -1);
	ck_assert_int_eq(ic_port_parse("+80", 3), -1);
	ck_assert_int_eq(ic_port_parse(" 80", 3), -1);
	ck_assert_int_eq(ic_port_parse("-1", 2), -1);
	ck_assert_int_eq(ic_port_parse("8x", 2), -1);
	ck_assert_int_eq(ic_port_parse("99999999999999999999", 20), -1);
	ck_assert_int_eq(ic_port_parse("8080", 2), 80);
}
END_TEST

START_TEST(test_loopback)
{
	ck_assert(ic_addr_is_loopback("127.0.0.1"));
	ck_assert(ic_addr_is_loopback("127.255.0.9"));
	ck_assert(ic_addr_is_loopback("::1"));
	ck_assert(ic_addr_is_loopback("0:0:0:0:0:0:0:1"));
	ck_assert(!ic_addr_is_loopback("128.0.0.1"));
	ck_assert(!ic_addr_is_loopback("0.0.0.0"));
	ck_assert(!ic_addr_is_loopback("::"));
	ck_assert(!ic_addr_is_loopback("::ffff:127.0.0.1"));
	ck_assert(!ic_addr_is_loopback("localhost"));
	ck_assert(!ic_addr_is_loopback("[::1]"));
	ck_assert(!ic_addr_is_loopback(""));
	ck_assert(!ic_addr_is_loopback(NULL));
}
END_TEST

START_TEST(test_addr_parse)
{
	unsigned char a[16], b[16];
	bool v4 = false;

	ck_assert(ic_addr_parse("10.1.2.3", 8, a, &v4));
	ck_assert(v4);
	ck_assert(ic_addr_parse("::ffff:10.1.2.3", 15, b, &v4));
	ck_assert(v4);
	ck_assert(memcmp(a, b, 16) == 0);
	ck_assert(ic_addr_parse("2001:DB8::7", 11, a, &v4));
	ck_assert(!v4);
	ck_assert(ic_addr_parse("2001:db8:0::7", 13, b, NULL));
	ck_assert(memcmp(a, b, 16) == 0);
	ck_assert(!ic_addr_parse("10.0.0.300", 10, a, NULL));
	ck_assert(!ic_addr_parse("proxy.example", 13, a, NULL));
	ck_assert(!ic_addr_parse("", 0, a, NULL));
	/* only len bytes: "10.1.2.3" of "10.1.2.34" */
	ck_assert(ic_addr_parse("10.1.2.34", 8, a, NULL));
	ck_assert_int_eq(a[15], 3);
}
END_TEST

START_TEST(test_cidr_list)
{
	size_t bad = 99;
	struct ic_cidr_list *l = ic_cidr_list_new(NULL, &bad);

	ck_assert_uint_eq(ic_cidr_list_count(l), 0);
	ck_assert_uint_eq(bad, 0);
	ck_assert(!ic_cidr_list_match(l, "127.0.0.1"));
	ic_cidr_list_free(l);

	l = ic_cidr_list_new(" 10.0.0.0/8 ,, ::1, 192.168.1.0/25,2001:db8::/32 , 1.2.3.4", &bad);
	ck_assert_uint_eq(ic_cidr_list_count(l), 5);
	ck_assert_uint_eq(bad, 0);
	ck_assert(ic_cidr_list_match(l, "10.200.3.4"));
	ck_assert(ic_cidr_list_match(l, "::ffff:10.0.0.1"));
	ck_assert(!ic_cidr_list_match(l, "11.0.0.1"));
	ck_assert(ic_cidr_list_match(l, "0::1"));
	ck_assert(ic_cidr_list_match(l, "192.168.1.127"));
	ck_assert(!ic_cidr_list_match(l, "192.168.1.128"));
	ck_assert(ic_cidr_list_match(l, "2001:db8:ffff::5"));
	ck_assert(!ic_cidr_list_match(l, "2001:db9::5"));
	ck_assert(ic_cidr_list_match(l, "1.2.3.4"));
	ck_assert(!ic_cidr_list_match(l, "1.2.3.5"));
	ck_assert(!ic_cidr_list_match(l, "garbage"));
	ck_assert(!ic_cidr_list_match(l, ""));
	ck_assert(!ic_cidr_list_match(l, NULL));
	ck_assert(!ic_cidr_list_match(NULL, "1.2.3.4"));
	ic_cidr_list_free(l);
	ic_cidr_list_free(NULL);
}
END_TEST

/* BITS at the limit and one past it; junk is counted, not kept. */
START_TEST(test_cidr_list_bits)
{
	size_t bad = 0;
	struct ic_cidr_list *l;

	l = ic_cidr_list_new("0.0.0.0/0", &bad);
	ck_assert(ic_cidr_list_match(l, "8.8.8.8"));
	/* an IPv4 network holds no IPv6 address that is not mapped */
	ck_assert(!ic_cidr_list_match(l, "2001:db8::1"));
	ic_cidr_list_free(l);
	l = ic_cidr_list_new("1.2.3.4/32, ::2/128", &bad);
	ck_assert_uint_eq(ic_cidr_list_count(l), 2);
	ck_assert_uint_eq(bad, 0);
	ck_assert(ic_cidr_list_match(l, "::2"));
	ic_cidr_list_free(l);
	l = ic_cidr_list_new("1.2.3.4/33, ::2/129, 10.0.0.0/x, 10.0.0.0/, 10.0.0.0/+8, nonsense, "
			     "1.2.3.4/99999999999999999999999",
		&bad);
	ck_assert_uint_eq(ic_cidr_list_count(l), 0);
	ck_assert_uint_eq(bad, 7);
	ck_assert(!ic_cidr_list_match(l, "1.2.3.4"));
	ic_cidr_list_free(l);
	l = ic_cidr_list_new("::/0", &bad);
	ck_assert(ic_cidr_list_match(l, "8.8.8.8"));
	ck_assert(ic_cidr_list_match(l, "2001:db8::1"));
	ic_cidr_list_free(l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_hostport_split);
	tcase_add_test(tc, test_hostport_split_len);
	tcase_add_test(tc, test_port_parse);
	tcase_add_test(tc, test_loopback);
	tcase_add_test(tc, test_addr_parse);
	tcase_add_test(tc, test_cidr_list);
	tcase_add_test(tc, test_cidr_list_bits);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
