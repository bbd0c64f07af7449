/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for router/rconfig.c: the [router] key table loads with its
 * defaults, and man/idleclaw-routerd.8 lists every key with the default
 * the table gives it (".It Cm KEY No (default VALUE)", or several keys and
 * values separated by commas).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/limits.h"
#include "common/log.h"
#include "router/rconfig.h"
#include "router/router.h"

#define MAN_LINE_MAX 512

static struct router_config *defaults(void)
{
	char *errors = NULL;
	struct router_config *cfg = ic_config_load_new(&router_config_schema, NULL, NULL, &errors);

	ck_assert_msg(cfg != NULL, "%s", errors ? errors : "");
	return cfg;
}

START_TEST(test_typed_defaults)
{
	struct router_config *cfg = defaults();

	ck_assert_str_eq(cfg->listen, "127.0.0.1:8080");
	ck_assert_ptr_null(cfg->trusted_proxies);
	ck_assert_int_eq(cfg->log_level, IC_LOG_INFO);
	ck_assert(!cfg->metrics);
	ck_assert_int_eq(cfg->stream_buffer, IC_STREAM_OUTBUF_MAX);
	ck_assert_int_eq(cfg->queue_max, ROUTER_QUEUE_MAX);
	ck_assert_int_eq(cfg->max_nodes, ROUTER_NODES_MAX);
	ck_assert_int_eq(cfg->rate_chat, IC_RATE_CHAT_PER_MIN);
	ck_assert_int_eq(cfg->failover_attempts, IC_FAILOVER_ATTEMPTS);
	ic_config_free(&router_config_schema, cfg);
}
END_TEST

/* Only listen and the cluster's keys wait for a restart. */
START_TEST(test_restart_keys)
{
	size_t i;

	for (i = 0; i < router_config_schema.n_keys; i++) {
		const struct ic_config_key *k = &router_config_schema.keys[i];

		ck_assert_msg(k->restart ==
				(strcmp(k->key, "listen") == 0 ||
					strcmp(k->section, "cluster") == 0),
			"%s", k->key);
	}
}
END_TEST

/* Trim "Li " and spaces around a man-page value; "empty" is "". */
static char *man_value(char *v)
{
	char *e;

	while (*v == ' ')
		v++;
	if (strncmp(v, "Li ", 3) == 0)
		v += 3;
	e = v + strlen(v);
	while (e > v && e[-1] == ' ')
		*--e = '\0';
	if (strcmp(v, "empty") == 0)
		*v = '\0';
	return v;
}

/* The man page shows web_root's default for a prefix of /usr, as Debian
 * builds it; this build's is $(datadir)/idleclaw/web. */
static const char *man_default(const struct ic_config_key *k, const char *man)
{
	if (strcmp(k->key, "web_root") == 0 && strcmp(man, "/usr/share/idleclaw/web") == 0)
		return ROUTER_WEB_ROOT_DEFAULT;
	return man;
}

/* Check one ".It Cm a , b No (default x, y)" line; returns keys found. */
static size_t check_line(const struct router_config *cfg, char *line, bool *seen)
{
	char *names = line + strlen(".It Cm "), *defs = strstr(line, " No (default ");
	char *name_save = NULL, *def_save = NULL, *name, *def, *close;
	char buf[32];
	size_t found = 0, i;

	ck_assert_msg(defs != NULL, "no \"(default ...)\": %s", line);
	*defs = '\0';
	defs += strlen(" No (default ");
	close = strrchr(defs, ')');
	ck_assert_ptr_nonnull(close);
	*close = '\0';
	name = strtok_r(names, ",", &name_save);
	def = strtok_r(defs, ",", &def_save);
	for (; name != NULL; name = strtok_r(NULL, ",", &name_save)) {
		const char *key = man_value(name);

		ck_assert_msg(def != NULL, "fewer defaults than keys at %s", key);
		for (i = 0; i < router_config_schema.n_keys; i++) {
			const struct ic_config_key *k = &router_config_schema.keys[i];

			if (strcmp(k->key, key) != 0)
				continue;
			ck_assert_str_eq(man_default(k, man_value(def)),
				ic_config_value_text(k, cfg, buf, sizeof(buf)));
			seen[i] = true;
			found++;
		}
		def = strtok_r(NULL, ",", &def_save);
	}
	return found;
}

START_TEST(test_man_page_lists_every_key_with_its_default)
{
	const char *srcdir = getenv("IC_SRCDIR");
	char path[1024], line[MAN_LINE_MAX];
	bool seen[64] = { false };
	struct router_config *cfg = defaults();
	size_t i;
	FILE *f;

	ck_assert_uint_le(router_config_schema.n_keys, 64);
	snprintf(path, sizeof(path), "%s/man/idleclaw-routerd.8", srcdir ? srcdir : "..");
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s (set IC_SRCDIR)", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, ".It Cm ", 7) == 0 && strstr(line, "(default"))
			check_line(cfg, line, seen);
	}
	fclose(f);
	for (i = 0; i < router_config_schema.n_keys; i++)
		ck_assert_msg(seen[i], "man/idleclaw-routerd.8 lacks %s",
			router_config_schema.keys[i].key);
	ic_config_free(&router_config_schema, cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("router_rconfig");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_typed_defaults);
	tcase_add_test(tc, test_restart_keys);
	tcase_add_test(tc, test_man_page_lists_every_key_with_its_default);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
