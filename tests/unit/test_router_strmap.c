/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for router/strmap.c and router/siphash.c. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "router/siphash.h"
#include "router/strmap.h"

/*
 * SipHash-2-4 of the messages 00, 00 01, 00 01 02, ... of lengths 0-16
 * and 63 under the key 00 01 ... 0f: the reference test vectors
 * (vectors_sip64 in https://github.com/veorq/SipHash), as little-endian
 * 64-bit numbers.  Lengths 0-16 cover every tail length and a whole block.
 */
static const uint64_t vectors[17] = {
	0x726fdb47dd0e0e31ULL,
	0x74f839c593dc67fdULL,
	0x0d6c8009d9a94f5aULL,
	0x85676696d7fb7e2dULL,
	0xcf2794e0277187b7ULL,
	0x18765564cd99a68dULL,
	0xcbc9466e58fee3ceULL,
	0xab0200f58b01d137ULL,
	0x93f5f5799a932462ULL,
	0x9e0082df0ba9e4b0ULL,
	0x7a5dbbc594ddb9f3ULL,
	0xf4b32f46226bada7ULL,
	0x751e8fbc860ee5fbULL,
	0x14ea5627c0843d90ULL,
	0xf723ca908e7af2eeULL,
	0xa129ca6149be45e5ULL,
	0x3f2acc7f57c29bdbULL,
};
static const uint64_t vector63 = 0x958a324ceb064572ULL;

static char self_path[1024];

static void reference_input(uint8_t key[SIPHASH_KEY_LEN], uint8_t msg[64])
{
	for (int i = 0; i < SIPHASH_KEY_LEN; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
}

START_TEST(test_siphash_reference_vectors)
{
	uint8_t key[SIPHASH_KEY_LEN], msg[64];

	reference_input(key, msg);
	for (size_t len = 0; len < sizeof(vectors) / sizeof(vectors[0]); len++)
		ck_assert_msg(siphash24(key, msg, len) == vectors[len], "length %zu", len);
	ck_assert(siphash24(key, msg, 63) == vector63);
}
END_TEST

START_TEST(test_siphash_key_matters)
{
	uint8_t key[SIPHASH_KEY_LEN], msg[64];
	uint64_t h;

	reference_input(key, msg);
	h = siphash24(key, "2001:db8::1", 11);
	key[15] ^= 1;
	ck_assert(siphash24(key, "2001:db8::1", 11) != h);
	key[15] ^= 1;
	ck_assert(siphash24(key, "2001:db8::1", 11) == h);
}
END_TEST

/* strmap_hash() of key in a new process of this program (see main). */
static uint64_t hash_in_new_process(const char *key)
{
	char cmd[sizeof(self_path) + 128];
	unsigned long long h = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "'%s' --hash '%s'", self_path, key);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	/* key is a fixed test string without quotes */
	ck_assert_int_eq(fscanf(p, "%llx", &h), 1);
	ck_assert_int_eq(pclose(p), 0);
	return (uint64_t)h;
}

START_TEST(test_hash_key_differs_per_process)
{
	const char *addr = "2001:db8::1";
	uint64_t a = hash_in_new_process(addr), b = hash_in_new_process(addr);

	/* equal with probability 2^-64 if the keys are random */
	ck_assert(a != b);
	/* within one process the hash is a function of the key */
	ck_assert(strmap_hash(addr) == strmap_hash(addr));
	ck_assert(strmap_hash(addr) != strmap_hash("2001:db8::2"));
}
END_TEST

START_TEST(test_put_get_replace_remove)
{
	struct strmap *m = strmap_new();
	int a = 1, b = 2, c = 3;

	ck_assert_ptr_null(strmap_get(m, "x"));
	ck_assert_ptr_null(strmap_put(m, "x", &a));
	ck_assert_ptr_null(strmap_put(m, "y", &b));
	ck_assert_uint_eq(strmap_count(m), 2);
	ck_assert_ptr_eq(strmap_get(m, "x"), &a);
	ck_assert_ptr_eq(strmap_get(m, "y"), &b);
	/* replacing returns the old value and keeps the count */
	ck_assert_ptr_eq(strmap_put(m, "x", &c), &a);
	ck_assert_uint_eq(strmap_count(m), 2);
	ck_assert_ptr_eq(strmap_get(m, "x"), &c);
	ck_assert_ptr_eq(strmap_remove(m, "x"), &c);
	ck_assert_ptr_null(strmap_remove(m, "x"));
	ck_assert_ptr_null(strmap_get(m, "x"));
	ck_assert_uint_eq(strmap_count(m), 1);
	/* keys are copied: the caller's buffer may change */
	{
		char key[8] = "k";

		strmap_put(m, key, &a);
		key[0] = 'z';
		ck_assert_ptr_eq(strmap_get(m, "k"), &a);
		ck_assert_ptr_null(strmap_get(m, "z"));
	}
	ck_assert_ptr_null(strmap_put(m, "", &b));
	ck_assert_ptr_eq(strmap_get(m, ""), &b);
	strmap_free(m, NULL);
}
END_TEST

#define MANY 20000

static void count_visit(const char *key, void *val, void *ctx)
{
	size_t *n = ctx;

	ck_assert_int_eq(atoi(key + 3), (int)(intptr_t)val);
	(*n)++;
}

static void remove_odd(const char *key, void *val, void *ctx)
{
	if ((intptr_t)val % 2)
		strmap_remove(ctx, key);
}

START_TEST(test_growth_and_foreach)
{
	struct strmap *m = strmap_new();
	char key[32];
	size_t seen = 0;

	for (intptr_t i = 0; i < MANY; i++) {
		snprintf(key, sizeof(key), "ip-%ld", (long)i);
		ck_assert_ptr_null(strmap_put(m, key, (void *)i));
	}
	ck_assert_uint_eq(strmap_count(m), MANY);
	for (intptr_t i = 0; i < MANY; i++) {
		snprintf(key, sizeof(key), "ip-%ld", (long)i);
		ck_assert_ptr_eq(strmap_get(m, key), (void *)i);
	}
	strmap_foreach(m, count_visit, &seen);
	ck_assert_uint_eq(seen, MANY);
	/* fn may remove the entry it is given */
	strmap_foreach(m, remove_odd, m);
	ck_assert_uint_eq(strmap_count(m), MANY / 2);
	for (intptr_t i = 0; i < MANY; i++) {
		snprintf(key, sizeof(key), "ip-%ld", (long)i);
		if (i % 2)
			ck_assert_ptr_null(strmap_get(m, key));
		else
			ck_assert_ptr_eq(strmap_get(m, key), (void *)i);
	}
	strmap_free(m, NULL);
}
END_TEST

static int freed;

static void count_free(void *p)
{
	freed++;
	free(p);
}

START_TEST(test_free_values)
{
	struct strmap *m = strmap_new();

	strmap_put(m, "a", malloc(1));
	strmap_put(m, "b", malloc(1));
	freed = 0;
	strmap_free(m, count_free);
	ck_assert_int_eq(freed, 2);
	strmap_free(NULL, NULL);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s;
	TCase *tc;
	SRunner *sr;
	int failed;

	if (argc == 3 && strcmp(argv[1], "--hash") == 0) {
		printf("%016" PRIx64 "\n", strmap_hash(argv[2]));
		return 0;
	}
	s = suite_create("router_strmap");
	tc = tcase_create("core");
	/* popen's shell would be /proc/self/exe: resolve it here */
	if (readlink("/proc/self/exe", self_path, sizeof(self_path) - 1) <= 0) {
		perror("/proc/self/exe");
		return EXIT_FAILURE;
	}
	tcase_add_test(tc, test_siphash_reference_vectors);
	tcase_add_test(tc, test_siphash_key_matters);
	tcase_add_test(tc, test_hash_key_differs_per_process);
	tcase_add_test(tc, test_put_get_replace_remove);
	tcase_add_test(tc, test_growth_and_foreach);
	tcase_add_test(tc, test_free_values);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
