/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for common/config.c: sources, order, errors with FILE:LINE. */
#include <check.h>
#include <ftw.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h" /* plain "config.h" is autoconf's */
#include "limits.h"
#include "log.h"

struct tcfg {
	char *server;
	char *ollama_host;
	int max_concurrent;
	bool enabled;
	int log_level;
	char *name;
};

static const struct ic_config_key keys[] = {
	{ .section = "router",
		.key = "server",
		.type = IC_CONFIG_URL,
		.offset = offsetof(struct tcfg, server),
		.def_str = "https://api.idleclaw.com",
		.env = "IC_TEST_SERVER",
		.help = "router to join" },
	{ .section = "node",
		.key = "ollama_host",
		.type = IC_CONFIG_OLLAMA_HOST,
		.offset = offsetof(struct tcfg, ollama_host),
		.def_str = "127.0.0.1:11434",
		.env = "IC_TEST_OLLAMA_HOST",
		.help = "where Ollama listens" },
	{ .section = "node",
		.key = "max_concurrent",
		.type = IC_CONFIG_INT,
		.offset = offsetof(struct tcfg, max_concurrent),
		.min = IC_CONCURRENCY_MIN,
		.max = IC_CONCURRENCY_MAX,
		.def_int = 2,
		.help = "requests at once" },
	{ .section = "node",
		.key = "enabled",
		.type = IC_CONFIG_BOOL,
		.offset = offsetof(struct tcfg, enabled),
		.def_bool = true,
		.help = "serve requests" },
	{ .section = "log",
		.key = "level",
		.type = IC_CONFIG_LOGLEVEL,
		.offset = offsetof(struct tcfg, log_level),
		.def_int = IC_LOG_INFO,
		.help = "log threshold" },
	{ .section = "node",
		.key = "name",
		.type = IC_CONFIG_STRING,
		.offset = offsetof(struct tcfg, name),
		.env = "IC_TEST_NAME",
		.help = "a label",
		.restart = true },
};
static const struct ic_config_schema schema = {
	.keys = keys,
	.n_keys = sizeof(keys) / sizeof(keys[0]),
	.struct_size = sizeof(struct tcfg),
};

static char dir[64];
static char main_path[128];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void write_main(const char *text)
{
	write_file(main_path, text);
}

/* main_path.d/name */
static void write_dropin(const char *name, const char *text)
{
	char path[256];

	snprintf(path, sizeof(path), "%s.d", main_path);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s.d/%s", main_path, name);
	write_file(path, text);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void setup(void)
{
	strcpy(dir, "/tmp/ic-config-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(main_path, sizeof(main_path), "%s/idleclaw.conf", dir);
	unsetenv("IC_TEST_SERVER");
	unsetenv("IC_TEST_OLLAMA_HOST");
	unsetenv("IC_TEST_NAME");
	ic_log_init("test_config");
	ic_log_set_journal(false);
	ic_log_set_level(IC_LOG_DEBUG);
}

static void teardown(void)
{
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static struct tcfg *load(const char *const *overrides, char **errors)
{
	return ic_config_load_new(&schema, main_path, overrides, errors);
}

/* Load and expect failure; return the error text (caller frees). */
static char *load_fail(const char *const *overrides)
{
	char *errors = NULL;
	struct tcfg *c = load(overrides, &errors);

	if (c != NULL) {
		ic_config_free(&schema, c);
		ck_abort_msg("load succeeded, expected errors");
	}
	ck_assert_ptr_nonnull(errors);
	return errors;
}

static struct tcfg *load_ok(const char *const *overrides)
{
	char *errors = NULL;
	struct tcfg *c = load(overrides, &errors);

	if (c == NULL) {
		fprintf(stderr, "unexpected errors:\n%s\n", errors);
		free(errors);
		ck_abort_msg("load failed");
	}
	ck_assert_ptr_null(errors);
	return c;
}

static int count_lines(const char *s)
{
	int n = 1;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* errors must contain "<main_path>:<line>: <text>" */
static void expect_error_at(const char *errors, const char *path, int line, const char *text)
{
	char want[512];

	snprintf(want, sizeof(want), "%s:%d: %s", path, line, text);
	if (strstr(errors, want) == NULL)
		ck_abort_msg("missing \"%s\" in:\n%s", want, errors);
}

START_TEST(test_defaults)
{
	struct tcfg *c = ic_config_load_new(&schema, NULL, NULL, NULL);

	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->server, "https://api.idleclaw.com");
	ck_assert_str_eq(c->ollama_host, "127.0.0.1:11434");
	ck_assert_int_eq(c->max_concurrent, 2);
	ck_assert(c->enabled);
	ck_assert_int_eq(c->log_level, IC_LOG_INFO);
	ck_assert_ptr_null(c->name);
	ic_config_free(&schema, c);

	/* a missing main file (and .d directory) is not an error */
	c = load_ok(NULL);
	ck_assert_int_eq(c->max_concurrent, 2);
	ic_config_free(&schema, c);
	ic_config_free(&schema, NULL);
}
END_TEST

START_TEST(test_good_file)
{
	struct tcfg *c;

	write_main("; comment\n"
		   "# another\n"
		   "\n"
		   "[router]\n"
		   "server = http://router.example:8080/base\n"
		   "[node]\n"
		   "ollama_host = :11500\n"
		   "max_concurrent = 5   ; inline comment\n"
		   "enabled = no\n"
		   "name = my node\n"
		   "[LOG]\n"
		   "Level = debug\n");
	c = load_ok(NULL);
	ck_assert_str_eq(c->server, "http://router.example:8080/base");
	ck_assert_str_eq(c->ollama_host, ":11500");
	ck_assert_int_eq(c->max_concurrent, 5);
	ck_assert(!c->enabled);
	ck_assert_str_eq(c->name, "my node");
	ck_assert_int_eq(c->log_level, IC_LOG_DEBUG);
	ic_config_free(&schema, c);

	/* CRLF line endings and a byte-order mark */
	write_main("\xEF\xBB\xBF[node]\r\nmax_concurrent = 7\r\n");
	c = load_ok(NULL);
	ck_assert_int_eq(c->max_concurrent, 7);
	ic_config_free(&schema, c);
}
END_TEST

START_TEST(test_bad_values_every_line)
{
	char *errors;

	write_main("[node]\n"			    /* 1 */
		   "max_concurrent = 11\n"	    /* 2 */
		   "enabled = maybe\n"		    /* 3 */
		   "max_concurrent = 3\n"	    /* 4: fine */
		   "ollama_host = http://h:99999\n" /* 5 */
		   "[router]\n"			    /* 6 */
		   "server = ftp://x\n"		    /* 7 */
		   "[log]\n"			    /* 8 */
		   "level = loud\n"		    /* 9 */
		   "[node]\n"			    /* 10 */
		   "max_concurrent = two\n");	    /* 11 */
	errors = load_fail(NULL);
	expect_error_at(errors, main_path, 2, "node.max_concurrent: \"11\" is not an integer");
	expect_error_at(errors, main_path, 3, "node.enabled: \"maybe\" is not a boolean");
	expect_error_at(errors, main_path, 5, "node.ollama_host: \"http://h:99999\"");
	expect_error_at(errors, main_path, 7, "router.server: \"ftp://x\"");
	expect_error_at(errors, main_path, 9, "log.level: \"loud\" is not a log level");
	expect_error_at(errors, main_path, 11, "node.max_concurrent: \"two\"");
	ck_assert_int_eq(count_lines(errors), 6);
	free(errors);
}
END_TEST

START_TEST(test_syntax_errors)
{
	char *errors;

	write_main("[node\n"		  /* 1 */
		   "max_concurrent = 3\n" /* 2 */
		   "just words\n"	  /* 3 */
		   "= 4\n"		  /* 4 */
		   "[node]\n"		  /* 5 */
		   "enabled = yes\n"	  /* 6 */
		   "   continued\n"	  /* 7 */
		   "name = a\0b\n");	  /* 8: fputs stops at the NUL */
	errors = load_fail(NULL);
	expect_error_at(errors, main_path, 1, "section header without \"]\"");
	expect_error_at(errors, main_path, 3, "expected \"key = value\"");
	expect_error_at(errors, main_path, 4, "missing key name");
	expect_error_at(errors, main_path, 7, "continuation lines are not supported");
	ck_assert_int_eq(count_lines(errors), 4);
	free(errors);
}
END_TEST

START_TEST(test_nul_byte)
{
	FILE *f = fopen(main_path, "w");
	char *errors;

	fwrite("[node]\nname = a\0b\n", 1, 19, f);
	fclose(f);
	errors = load_fail(NULL);
	expect_error_at(errors, main_path, 2, "contains a NUL byte");
	free(errors);
}
END_TEST

/* "[node]\nname = xxx...\n" whose second line is exactly n bytes long */
static void write_long_line(size_t n)
{
	char *text = malloc(n + 16);

	strcpy(text, "[node]\nname = ");
	memset(text + 14, 'x', n - 7);
	strcpy(text + 7 + n, "\n");
	write_main(text);
	free(text);
}

START_TEST(test_line_length_limit)
{
	struct tcfg *c;
	char *errors;

	write_long_line(IC_CONFIG_LINE_MAX);
	c = load_ok(NULL);
	ck_assert_uint_eq(strlen(c->name), IC_CONFIG_LINE_MAX - 7);
	ic_config_free(&schema, c);
	write_long_line(IC_CONFIG_LINE_MAX + 1);
	errors = load_fail(NULL);
	expect_error_at(errors, main_path, 2, "line too long");
	ck_assert_int_eq(count_lines(errors), 1);
	free(errors);
}
END_TEST

START_TEST(test_dropin_order)
{
	struct tcfg *c;

	write_main("[node]\nmax_concurrent = 2\nname = main\n");
	write_dropin("10-a.conf", "[node]\nmax_concurrent = 3\n");
	write_dropin("9-b.conf", "[node]\nmax_concurrent = 4\n"); /* "9" > "1": last */
	write_dropin("50-c.conf", "[node]\nname = fifty\n");
	write_dropin("99-x.txt", "[node]\nmax_concurrent = 9\n"); /* not .conf */
	write_dropin(".99-hidden.conf", "[node]\nmax_concurrent = 8\n");
	c = load_ok(NULL);
	ck_assert_int_eq(c->max_concurrent, 4);
	ck_assert_str_eq(c->name, "fifty");
	ic_config_free(&schema, c);
}
END_TEST

START_TEST(test_dropin_only_and_errors)
{
	char path[256];
	char *errors;
	struct tcfg *c;

	/* drop-ins apply even without a main file */
	write_dropin("10-a.conf", "[node]\nmax_concurrent = 6\n");
	c = load_ok(NULL);
	ck_assert_int_eq(c->max_concurrent, 6);
	ic_config_free(&schema, c);

	write_main("[node]\nmax_concurrent = 0\n");
	write_dropin("20-b.conf", "\n\n[log]\nlevel = 9\n");
	errors = load_fail(NULL);
	expect_error_at(errors, main_path, 2, "node.max_concurrent");
	snprintf(path, sizeof(path), "%s.d/20-b.conf", main_path);
	expect_error_at(errors, path, 4, "log.level");
	ck_assert_int_eq(count_lines(errors), 2);
	free(errors);
}
END_TEST

START_TEST(test_env_and_overrides)
{
	const char *ov[] = { "node.name=from-flag", "router.server=https://flag.example", NULL };
	struct tcfg *c;
	char *errors;

	write_main("[router]\nserver = http://file.example\n[node]\nname = from-file\n"
		   "ollama_host = file:1\n");
	setenv("IC_TEST_SERVER", "http://env.example", 1);
	setenv("IC_TEST_NAME", "from-env", 1);
	setenv("IC_TEST_OLLAMA_HOST", "", 1); /* empty: ignored */
	c = load_ok(NULL);
	ck_assert_str_eq(c->server, "http://env.example");
	ck_assert_str_eq(c->name, "from-env");
	ck_assert_str_eq(c->ollama_host, "file:1");
	ic_config_free(&schema, c);

	/* flags beat the environment */
	c = load_ok(ov);
	ck_assert_str_eq(c->server, "https://flag.example");
	ck_assert_str_eq(c->name, "from-flag");
	ic_config_free(&schema, c);

	/* a bad environment value is an error naming the variable */
	setenv("IC_TEST_SERVER", "not a url", 1);
	errors = load_fail(NULL);
	ck_assert_ptr_nonnull(strstr(errors, "environment IC_TEST_SERVER: router.server:"));
	free(errors);
}
END_TEST

START_TEST(test_override_errors)
{
	const char *bad[] = { "node.max_concurrent", "nodemax=1", ".x=1", "node.=1", "node.nope=1",
		"nosuch.key=1", "node.max_concurrent=99", NULL };
	char *errors = load_fail(bad);

	ck_assert_int_eq(count_lines(errors), 7);
	ck_assert_ptr_nonnull(strstr(errors,
		"override \"node.max_concurrent\": expected "
		"section.key=value"));
	ck_assert_ptr_nonnull(strstr(errors, "override \"node.nope=1\": unknown key node.nope"));
	ck_assert_ptr_nonnull(strstr(errors,
		"override \"node.max_concurrent=99\": "
		"node.max_concurrent: \"99\" is not an integer"));
	free(errors);
}
END_TEST

static void expect_int(const char *value, bool ok, int want)
{
	char ov[64];
	const char *ovs[] = { ov, NULL };
	char *errors = NULL;
	struct tcfg *c;

	snprintf(ov, sizeof(ov), "node.max_concurrent=%s", value);
	c = load(ovs, &errors);
	if (ok) {
		ck_assert_msg(c != NULL, "%s refused: %s", value, errors);
		ck_assert_int_eq(c->max_concurrent, want);
	} else {
		ck_assert_msg(c == NULL, "%s accepted", value);
		free(errors);
	}
	ic_config_free(&schema, c);
}

START_TEST(test_int_bounds)
{
	char v[32];

	snprintf(v, sizeof(v), "%d", IC_CONCURRENCY_MIN - 1);
	expect_int(v, false, 0);
	snprintf(v, sizeof(v), "%d", IC_CONCURRENCY_MIN);
	expect_int(v, true, IC_CONCURRENCY_MIN);
	snprintf(v, sizeof(v), "%d", IC_CONCURRENCY_MAX);
	expect_int(v, true, IC_CONCURRENCY_MAX);
	snprintf(v, sizeof(v), "%d", IC_CONCURRENCY_MAX + 1);
	expect_int(v, false, 0);
	expect_int("", false, 0);
	expect_int("3x", false, 0);
	expect_int("0x3", false, 0);
	expect_int("99999999999999999999", false, 0);
	expect_int("-99999999999999999999", false, 0);
}
END_TEST

static void expect_bool(const char *value, int want)
{
	char ov[64];
	const char *ovs[] = { ov, NULL };
	char *errors = NULL;
	struct tcfg *c;

	snprintf(ov, sizeof(ov), "node.enabled=%s", value);
	c = load(ovs, &errors);
	if (want < 0) {
		ck_assert_msg(c == NULL, "%s accepted", value);
		free(errors);
		return;
	}
	ck_assert_msg(c != NULL, "%s refused", value);
	ck_assert_int_eq(c->enabled, want);
	ic_config_free(&schema, c);
}

START_TEST(test_bool_spellings)
{
	static const char *const t[] = { "yes", "true", "on", "1", "YES", "True", NULL };
	static const char *const f[] = { "no", "false", "off", "0", "NO", "Off", NULL };
	static const char *const bad[] = { "", "y", "2", "enabled", "yes please", NULL };
	size_t i;

	for (i = 0; t[i] != NULL; i++)
		expect_bool(t[i], 1);
	for (i = 0; f[i] != NULL; i++)
		expect_bool(f[i], 0);
	for (i = 0; bad[i] != NULL; i++)
		expect_bool(bad[i], -1);
}
END_TEST

/* Run a load with stderr captured into buf. */
static struct tcfg *load_capture(char *buf, size_t size)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	struct tcfg *c;
	size_t n;

	dup2(fileno(tmp), STDERR_FILENO);
	c = load(NULL, NULL);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, size - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	return c;
}

START_TEST(test_unknown_keys_warn)
{
	char log[4096], want[256];
	struct tcfg *c;

	write_main("orphan = 1\n"	    /* 1 */
		   "[node]\n"		    /* 2 */
		   "max_concurent = 3\n"    /* 3: typo */
		   "[gpu]\n"		    /* 4 */
		   "vendor = nvidia\n"	    /* 5 */
		   "[node]\n"		    /* 6 */
		   "max_concurrent = 4\n"); /* 7 */
	c = load_capture(log, sizeof(log));
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->max_concurrent, 4);
	ic_config_free(&schema, c);
	snprintf(want, sizeof(want), "%s:1: key \"orphan\" outside any section", main_path);
	ck_assert_msg(strstr(log, want) != NULL, "log: %s", log);
	snprintf(want, sizeof(want), "%s:3: unknown key \"max_concurent\" in section [node]",
		main_path);
	ck_assert_msg(strstr(log, want) != NULL, "log: %s", log);
	snprintf(want, sizeof(want), "%s:5: unknown section [gpu]", main_path);
	ck_assert_msg(strstr(log, want) != NULL, "log: %s", log);
	ck_assert_ptr_nonnull(strstr(log, "warning"));
}
END_TEST

/* One file serves every program: another program's section is no mistake. */
START_TEST(test_other_programs_sections_silent)
{
	char log[4096];
	struct tcfg *c;

	write_main("[idle]\n"
		   "cpu_threshold = 50\n"
		   "[tools]\n"
		   "searxng_url = http://127.0.0.1:8888\n"
		   "[daemon]\n"
		   "server = http://127.0.0.1:9000\n"
		   "[node]\n"
		   "max_concurrent = 5\n");
	c = load_capture(log, sizeof(log));
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->max_concurrent, 5);
	ic_config_free(&schema, c);
	ck_assert_msg(strstr(log, "unknown") == NULL, "log: %s", log);
}
END_TEST

START_TEST(test_unreadable_main)
{
	char *errors;

	/* a directory where the file should be */
	mkdir(main_path, 0755);
	errors = load_fail(NULL);
	ck_assert_ptr_nonnull(strstr(errors, main_path));
	free(errors);
}
END_TEST

START_TEST(test_empty_string_unsets)
{
	struct tcfg *c;

	write_main("[router]\nserver =\n[node]\nname =\n");
	c = load_ok(NULL);
	ck_assert_ptr_null(c->server);
	ck_assert_ptr_null(c->name);
	ic_config_free(&schema, c);
}
END_TEST

START_TEST(test_error_cap)
{
	char *text = malloc(32 * (IC_CONFIG_ERRORS_MAX + 10) + 16);
	char *errors;
	int i;

	strcpy(text, "[node]\n");
	for (i = 0; i < IC_CONFIG_ERRORS_MAX + 10; i++)
		strcat(text, "max_concurrent = 0\n");
	write_main(text);
	free(text);
	errors = load_fail(NULL);
	ck_assert_int_eq(count_lines(errors), IC_CONFIG_ERRORS_MAX + 1);
	expect_error_at(errors, main_path, IC_CONFIG_ERRORS_MAX + 1, "node.max_concurrent");
	ck_assert_ptr_nonnull(strstr(errors, "too many errors"));
	free(errors);

	/* exactly the maximum: all listed, no note */
	text = malloc(32 * IC_CONFIG_ERRORS_MAX + 16);
	strcpy(text, "[node]\n");
	for (i = 0; i < IC_CONFIG_ERRORS_MAX; i++)
		strcat(text, "max_concurrent = 0\n");
	write_main(text);
	free(text);
	errors = load_fail(NULL);
	ck_assert_int_eq(count_lines(errors), IC_CONFIG_ERRORS_MAX);
	ck_assert_ptr_null(strstr(errors, "too many errors"));
	free(errors);
}
END_TEST

START_TEST(test_print)
{
	const char *ov[] = { "node.max_concurrent=4", "log.level=warning", NULL };
	struct tcfg *c;
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	c = load_ok(ov);
	ic_config_print(&schema, c, f);
	fclose(f);
	ck_assert_str_eq(text,
		"[router]\n"
		"# router to join\n"
		"# environment: IC_TEST_SERVER\n"
		"server = https://api.idleclaw.com\n"
		"\n"
		"[node]\n"
		"# where Ollama listens\n"
		"# environment: IC_TEST_OLLAMA_HOST\n"
		"ollama_host = 127.0.0.1:11434\n"
		"# requests at once\n"
		"max_concurrent = 4\n"
		"# serve requests\n"
		"enabled = yes\n"
		"# a label\n"
		"# environment: IC_TEST_NAME\n"
		"name = \n"
		"\n"
		"[log]\n"
		"# log threshold\n"
		"level = warning\n");
	free(text);
	ic_config_free(&schema, c);
}
END_TEST

/* inih would glue an indented key line to the previous value (found by
 * fuzz_config): it is a key like any other. */
START_TEST(test_indented_keys)
{
	struct tcfg *c;

	write_main("[node]\nname = my ; comment\n  max_concurrent = 5\n\tenabled = no\n"
		   " [log]\n  level = debug\n");
	c = load_ok(NULL);
	ck_assert_str_eq(c->name, "my");
	ck_assert_int_eq(c->max_concurrent, 5);
	ck_assert(!c->enabled);
	ck_assert_int_eq(c->log_level, IC_LOG_DEBUG);
	ic_config_free(&schema, c);
}
END_TEST

/* What is printed loads back as it was (found by fuzz_config). */
START_TEST(test_print_loads_back)
{
	struct tcfg *c, *again;
	char *text = NULL;
	size_t size = 0;
	FILE *f;

	write_main("[node]\nname =;x ; comment\n");
	c = load_ok(NULL);
	ck_assert_str_eq(c->name, ";x");
	f = open_memstream(&text, &size);
	ic_config_print(&schema, c, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "\nname =;x\n"));
	write_main(text);
	again = load_ok(NULL);
	ck_assert_str_eq(again->name, ";x");
	ck_assert_int_eq(again->max_concurrent, c->max_concurrent);
	ic_config_free(&schema, again);
	ic_config_free(&schema, c);
	free(text);
}
END_TEST

START_TEST(test_bad_default)
{
	static const struct ic_config_key bad_keys[] = {
		{ .section = "a",
			.key = "n",
			.type = IC_CONFIG_INT,
			.min = 1,
			.max = 5,
			.def_int = 7,
			.help = "h" },
	};
	static const struct ic_config_schema bad = {
		.keys = bad_keys, .n_keys = 1, .struct_size = sizeof(int)
	};
	char *errors = NULL;

	ck_assert_ptr_null(ic_config_load_new(&bad, NULL, NULL, &errors));
	ck_assert_ptr_nonnull(strstr(errors, "built-in default: a.n"));
	free(errors);
	/* errors may be NULL */
	ck_assert_ptr_null(ic_config_load_new(&bad, NULL, NULL, NULL));
}
END_TEST

START_TEST(test_bad_log_level_default)
{
	static const struct ic_config_key bad_keys[] = {
		{ .section = "a",
			.key = "level",
			.type = IC_CONFIG_LOGLEVEL,
			.def_int = 8,
			.help = "h" },
	};
	static const struct ic_config_schema bad = {
		.keys = bad_keys, .n_keys = 1, .struct_size = sizeof(int)
	};
	char *errors = NULL;

	ck_assert_ptr_null(ic_config_load_new(&bad, NULL, NULL, &errors));
	ck_assert_ptr_nonnull(strstr(errors, "built-in default: a.level: 8 is not a log level"));
	free(errors);
}
END_TEST

/* Default ints at their bounds load; one past either bound does not. */
START_TEST(test_int_default_bounds)
{
	struct ic_config_key k = {
		.section = "a", .key = "n", .type = IC_CONFIG_INT, .min = -1, .max = 5, .help = "h"
	};
	struct ic_config_schema one = { .keys = &k, .n_keys = 1, .struct_size = sizeof(int) };
	long ok[] = { -1, 5 }, bad[] = { -2, 6 };
	int *v;
	size_t i;

	for (i = 0; i < 2; i++) {
		k.def_int = ok[i];
		v = ic_config_load_new(&one, NULL, NULL, NULL);
		ck_assert_ptr_nonnull(v);
		ck_assert_int_eq(*v, ok[i]);
		ic_config_free(&one, v);
		k.def_int = bad[i];
		ck_assert_ptr_null(ic_config_load_new(&one, NULL, NULL, NULL));
	}
}
END_TEST

START_TEST(test_value_text_and_equal)
{
	struct tcfg *a = load_ok(NULL), *b = load_ok(NULL);
	char buf[32];

	ck_assert_str_eq(
		ic_config_value_text(&keys[0], a, buf, sizeof(buf)), "https://api.idleclaw.com");
	ck_assert_str_eq(ic_config_value_text(&keys[2], a, buf, sizeof(buf)), "2");
	ck_assert_str_eq(ic_config_value_text(&keys[3], a, buf, sizeof(buf)), "yes");
	ck_assert_str_eq(ic_config_value_text(&keys[4], a, buf, sizeof(buf)), "info");
	ck_assert_str_eq(ic_config_value_text(&keys[5], a, buf, sizeof(buf)), "");
	for (size_t i = 0; i < schema.n_keys; i++)
		ck_assert(ic_config_key_equal(&keys[i], a, b));
	b->max_concurrent = 3;
	b->enabled = false;
	b->name = strdup("x");
	ck_assert(!ic_config_key_equal(&keys[2], a, b));
	ck_assert(!ic_config_key_equal(&keys[3], a, b));
	ck_assert(!ic_config_key_equal(&keys[5], a, b));
	ck_assert(ic_config_key_equal(&keys[0], a, b));
	ic_config_free(&schema, a);
	ic_config_free(&schema, b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_good_file);
	tcase_add_test(tc, test_bad_values_every_line);
	tcase_add_test(tc, test_syntax_errors);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_line_length_limit);
	tcase_add_test(tc, test_dropin_order);
	tcase_add_test(tc, test_dropin_only_and_errors);
	tcase_add_test(tc, test_env_and_overrides);
	tcase_add_test(tc, test_override_errors);
	tcase_add_test(tc, test_int_bounds);
	tcase_add_test(tc, test_bool_spellings);
	tcase_add_test(tc, test_unknown_keys_warn);
	tcase_add_test(tc, test_other_programs_sections_silent);
	tcase_add_test(tc, test_unreadable_main);
	tcase_add_test(tc, test_empty_string_unsets);
	tcase_add_test(tc, test_error_cap);
	tcase_add_test(tc, test_print);
	tcase_add_test(tc, test_print_loads_back);
	tcase_add_test(tc, test_indented_keys);
	tcase_add_test(tc, test_bad_default);
	tcase_add_test(tc, test_bad_log_level_default);
	tcase_add_test(tc, test_int_default_bounds);
	tcase_add_test(tc, test_value_text_and_equal);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
