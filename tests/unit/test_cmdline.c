/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for common/cmdline.c (the servers' shared command line) and
 * common/startup.c (configuration at start and on reload). */
#include <check.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmdline.h"
#include "licence.h"
#include "common/config.h" /* plain "config.h" is autoconf's */
#include "log.h"
#include "startup.h"

static const struct ic_cmdline_option extras[] = {
	{ .long_name = "listen",
		.short_name = 'l',
		.arg_name = "ADDR:PORT",
		.sets = "router.listen",
		.help = "address to serve on" },
	{ .long_name = "foreground", .short_name = 'f', .help = "no effect" },
};
static const struct ic_cmdline_spec spec = {
	.program = "testd",
	.summary = "A test server.",
	.default_config = "/etc/test.conf",
	.extra = extras,
	.n_extra = 2,
};

/* What one parse printed and returned. */
struct result {
	int rc;
	struct ic_cmdline cl;
	char *out, *err; /* NEW texts */
};

static char *read_all(FILE *f)
{
	long n;
	char *s;

	fflush(f);
	n = ftell(f);
	s = calloc(1, (size_t)n + 1);
	rewind(f);
	ck_assert_int_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return s;
}

/* Parse a NULL-terminated argument list (argv[0] is added). */
static struct result parse(const char *first, ...)
{
	char *argv[64];
	int argc = 0;
	va_list ap;
	const char *a;
	struct result r;
	FILE *out = tmpfile(), *err = tmpfile();

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(err);
	argv[argc++] = (char *)"testd";
	va_start(ap, first);
	for (a = first; a != NULL; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	r.rc = ic_cmdline_parse(&spec, argc, argv, &r.cl, out, err);
	r.out = read_all(out);
	r.err = read_all(err);
	return r;
}

static void result_free(struct result *r)
{
	ic_cmdline_clear(&r->cl);
	free(r->out);
	free(r->err);
}

/* A usage error: exit 2, one line naming what (and --help), nothing on out. */
static void assert_usage_error(struct result *r, const char *what)
{
	ck_assert_int_eq(r->rc, IC_EXIT_USAGE);
	ck_assert_str_eq(r->out, "");
	ck_assert_msg(strncmp(r->err, "testd: ", 7) == 0, "%s", r->err);
	ck_assert_msg(strstr(r->err, what) != NULL, "\"%s\" not in: %s", what, r->err);
	ck_assert_ptr_nonnull(strstr(r->err, "Try 'testd --help' for more information.\n"));
	result_free(r);
}

START_TEST(test_defaults)
{
	struct result r = parse(NULL);

	ck_assert_int_eq(r.rc, IC_CMDLINE_RUN);
	ck_assert_str_eq(r.cl.config_path, "/etc/test.conf");
	ck_assert(!r.cl.check_config);
	ck_assert_uint_eq(r.cl.n_overrides, 0);
	ck_assert_ptr_null(r.cl.overrides[0]);
	ck_assert_str_eq(r.err, "");
	result_free(&r);
}
END_TEST

START_TEST(test_all_shared_options_short_and_long)
{
	struct result r = parse("-c", "/tmp/a.conf", "-t", "-o", "daemon.max_concurrent=3", "--set",
		"daemon.server=", NULL);

	ck_assert_int_eq(r.rc, IC_CMDLINE_RUN);
	ck_assert_str_eq(r.cl.config_path, "/tmp/a.conf");
	ck_assert(r.cl.check_config);
	ck_assert_uint_eq(r.cl.n_overrides, 2);
	ck_assert_str_eq(r.cl.overrides[0], "daemon.max_concurrent=3");
	ck_assert_str_eq(r.cl.overrides[1], "daemon.server="); /* empty value: unset */
	ck_assert_ptr_null(r.cl.overrides[2]);
	result_free(&r);

	r = parse("--config=/tmp/b.conf", "--check-config", "--set=a.b=c=d", "-oa.b=1", NULL);
	ck_assert_int_eq(r.rc, IC_CMDLINE_RUN);
	ck_assert_str_eq(r.cl.config_path, "/tmp/b.conf");
	ck_assert(r.cl.check_config);
	ck_assert_str_eq(r.cl.overrides[0], "a.b=c=d");
	ck_assert_str_eq(r.cl.overrides[1], "a.b=1");
	result_free(&r);
}
END_TEST

START_TEST(test_extra_options)
{
	/* -l sets its key, in order among the --set options; -f changes nothing */
	struct result r = parse("-o", "router.listen=:1", "-l", "127.0.0.1:9", "-f", "--listen",
		"[::1]:8", "--foreground", NULL);

	ck_assert_int_eq(r.rc, IC_CMDLINE_RUN);
	ck_assert_uint_eq(r.cl.n_overrides, 3);
	ck_assert_str_eq(r.cl.overrides[0], "router.listen=:1");
	ck_assert_str_eq(r.cl.overrides[1], "router.listen=127.0.0.1:9");
	ck_assert_str_eq(r.cl.overrides[2], "router.listen=[::1]:8");
	result_free(&r);
}
END_TEST

START_TEST(test_version_and_help)
{
	struct result r = parse("-V", NULL);

	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.out, "testd " PACKAGE_VERSION "\n" IC_LICENCE_NOTICE);
	ck_assert_str_eq(r.err, "");
	result_free(&r);
	r = parse("--version", "--bogus", NULL); /* stops at --version */
	ck_assert_int_eq(r.rc, 0);
	result_free(&r);

	r = parse("--help", NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.err, "");
	ck_assert(strncmp(r.out, "Usage: testd [OPTION]...\nA test server.\n", 40) == 0);
	ck_assert_ptr_nonnull(strstr(r.out, "  -c, --config PATH"));
	ck_assert_ptr_nonnull(strstr(r.out, "(default /etc/test.conf)"));
	ck_assert_ptr_nonnull(strstr(r.out, "  -o, --set SECTION.KEY=VALUE"));
	ck_assert_ptr_nonnull(strstr(r.out, "  -t, --check-config"));
	ck_assert_ptr_nonnull(strstr(r.out, "  -l, --listen ADDR:PORT"));
	ck_assert_ptr_nonnull(strstr(r.out, "  -f, --foreground"));
	ck_assert_ptr_nonnull(strstr(r.out, "  -V, --version"));
	ck_assert_ptr_nonnull(strstr(r.out, "  -h, --help"));
	result_free(&r);
	r = parse("-h", NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_assert(strncmp(r.out, "Usage: testd", 12) == 0);
	result_free(&r);
}
END_TEST

START_TEST(test_unknown_options)
{
	struct result r = parse("-x", NULL);

	assert_usage_error(&r, "unknown option '-x'");
	r = parse("-tx", NULL);
	assert_usage_error(&r, "unknown option '-x'");
	r = parse("-xt", NULL);
	assert_usage_error(&r, "unknown option '-x'");
	r = parse("--check-config", "--bogus", NULL);
	assert_usage_error(&r, "unknown option '--bogus'");
	r = parse("--bogus=1", NULL);
	assert_usage_error(&r, "unknown option '--bogus'");
	/* an abbreviation that fits two options */
	r = parse("--c", "x", NULL);
	assert_usage_error(&r, "unknown option '--c'");
	r = parse("--help=yes", NULL);
	assert_usage_error(&r, "option '--help' takes no argument");
}
END_TEST

START_TEST(test_missing_argument)
{
	struct result r = parse("-c", NULL);

	assert_usage_error(&r, "option '-c' needs an argument");
	r = parse("-t", "--config", NULL);
	assert_usage_error(&r, "option '--config' needs an argument");
	r = parse("-o", NULL);
	assert_usage_error(&r, "option '-o' needs an argument");
	r = parse("--set", NULL);
	assert_usage_error(&r, "option '--set' needs an argument");
	r = parse("-l", NULL);
	assert_usage_error(&r, "option '-l' needs an argument");
	r = parse("-tc", NULL);
	assert_usage_error(&r, "option '-c' needs an argument");
}
END_TEST

START_TEST(test_bad_set)
{
	struct result r = parse("--set", "daemon.max_concurrent", NULL);

	assert_usage_error(&r, "--set 'daemon.max_concurrent': no \"=\"");
	r = parse("-o", "max_concurrent=3", NULL);
	assert_usage_error(&r, "--set 'max_concurrent=3': no section");
	r = parse("-o", "max_concurrent=a.b", NULL); /* the dot is in the value */
	assert_usage_error(&r, "no section");
	r = parse("-o", ".max_concurrent=3", NULL);
	assert_usage_error(&r, "empty section");
	r = parse("-o", "daemon.=3", NULL);
	assert_usage_error(&r, "empty key");
	r = parse("-o", "=3", NULL);
	assert_usage_error(&r, "no section");
	/* a key-setting extra is checked the same way */
	ck_assert_ptr_null(ic_cmdline_override_syntax("router.listen="));
	ck_assert_ptr_null(ic_cmdline_override_syntax("a.b=c"));
	ck_assert_ptr_null(ic_cmdline_override_syntax("a.b.c=d"));
}
END_TEST

START_TEST(test_operands)
{
	struct result r = parse("stray", NULL);

	assert_usage_error(&r, "unexpected argument 'stray'");
	/* parsing stops at the first operand: later options are not taken */
	r = parse("-t", "stray", "-c", "x", NULL);
	assert_usage_error(&r, "unexpected argument 'stray'");
	/* "--" ends the options; what follows is still an operand */
	r = parse("--", "-t", NULL);
	assert_usage_error(&r, "unexpected argument '-t'");
}
END_TEST

START_TEST(test_override_limit)
{
	char *argv[2 * IC_CMDLINE_OVERRIDES_MAX + 4];
	struct ic_cmdline cl;
	FILE *out = tmpfile(), *err = tmpfile();
	char *text;
	int argc = 0, i;

	argv[argc++] = (char *)"testd";
	for (i = 0; i < IC_CMDLINE_OVERRIDES_MAX; i++) {
		argv[argc++] = (char *)"-o";
		argv[argc++] = (char *)"a.b=1";
	}
	argv[argc] = NULL;
	/* N: fine */
	ck_assert_int_eq(ic_cmdline_parse(&spec, argc, argv, &cl, out, err), IC_CMDLINE_RUN);
	ck_assert_uint_eq(cl.n_overrides, IC_CMDLINE_OVERRIDES_MAX);
	ic_cmdline_clear(&cl);
	/* N+1: a usage error */
	argv[argc++] = (char *)"-l";
	argv[argc++] = (char *)":1";
	argv[argc] = NULL;
	ck_assert_int_eq(ic_cmdline_parse(&spec, argc, argv, &cl, out, err), IC_EXIT_USAGE);
	ic_cmdline_clear(&cl);
	fclose(out);
	text = read_all(err);
	ck_assert_ptr_nonnull(strstr(text, "testd: more than 64 --set options"));
	free(text);
}
END_TEST

/* --- startup.c --- */

struct tcfg {
	int n;
	char *where;
	int log_level;
};

static const struct ic_config_key tkeys[] = {
	{ .section = "t",
		.key = "n",
		.type = IC_CONFIG_INT,
		.offset = offsetof(struct tcfg, n),
		.min = 1,
		.max = 9,
		.def_int = 2,
		.help = "a number" },
	{ .section = "t",
		.key = "where",
		.type = IC_CONFIG_STRING,
		.offset = offsetof(struct tcfg, where),
		.def_str = "here",
		.help = "a place",
		.restart = true },
	{ .section = "t",
		.key = "log_level",
		.type = IC_CONFIG_LOGLEVEL,
		.offset = offsetof(struct tcfg, log_level),
		.def_int = IC_LOG_INFO,
		.help = "level" },
};
static const struct ic_config_schema tschema = {
	.keys = tkeys, .n_keys = 3, .struct_size = sizeof(struct tcfg)
};

/* The program a reload works on. */
struct tprog {
	struct tcfg *cfg;
	int prepared, changed;
	bool refuse;
	char notified[64];
};

static struct tprog *notify_target;

static void t_notify(const char *state)
{
	strcat(notify_target->notified, state);
	strcat(notify_target->notified, ";");
}

static int t_prepare(void *program, void *cfg, char **errors)
{
	struct tprog *p = program;

	p->prepared++;
	if (p->refuse) {
		*errors = strdup("refused by the program");
		return -1;
	}
	(void)cfg;
	return 0;
}

static void *t_swap(void *program, void *cfg)
{
	struct tprog *p = program;
	void *old = p->cfg;

	p->cfg = cfg;
	return old;
}

static void t_changed(void *program, const void *old, const void *cfg)
{
	struct tprog *p = program;
	const struct tcfg *o = old, *c = cfg;

	ck_assert_ptr_eq(p->cfg, c);
	ck_assert_ptr_ne(o, c);
	p->changed++;
}

static const struct ic_reload_ops tops = {
	.schema = &tschema,
	.notify = t_notify,
	.prepare = t_prepare,
	.swap = t_swap,
	.changed = t_changed,
};

static char *log_path;

static char *capture_log_end(int saved)
{
	FILE *f;
	char *text;

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	f = fopen(log_path, "r");
	fseek(f, 0, SEEK_END);
	text = read_all(f);
	return text;
}

static int capture_log_start(void)
{
	int saved = dup(2);
	FILE *f = freopen(log_path, "w", stderr);

	ck_assert_ptr_nonnull(f);
	return saved;
}

START_TEST(test_startup_config)
{
	struct ic_cmdline cl;
	const char *ov[] = { "t.n=4", NULL };
	FILE *err = tmpfile();
	struct tcfg *cfg;
	char *text;

	memset(&cl, 0, sizeof(cl));
	cl.config_path = "/nonexistent/test.conf";
	cl.overrides[0] = (char *)ov[0];
	cfg = ic_startup_config_new("testd", &tschema, &cl, err);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(cfg->n, 4);
	ck_assert_str_eq(cfg->where, "here");
	ic_config_free(&tschema, cfg);
	cl.overrides[0] = (char *)"t.n=10";
	cl.overrides[1] = (char *)"t.nope=1";
	ck_assert_ptr_null(ic_startup_config_new("testd", &tschema, &cl, err));
	text = read_all(err);
	ck_assert_msg(strncmp(text, "testd: configuration not valid:\n", 32) == 0, "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "t.n: \"10\" is not an integer from 1 to 9"));
	ck_assert_ptr_nonnull(strstr(text, "unknown key t.nope"));
	free(text);
}
END_TEST

START_TEST(test_reload)
{
	struct tprog p;
	const char *ov[] = { "t.n=5", "t.where=there", NULL };
	const char *bad[] = { "t.n=0", NULL };
	char *errors = NULL, *log;
	int saved;

	memset(&p, 0, sizeof(p));
	notify_target = &p;
	p.cfg = ic_config_load_new(&tschema, NULL, NULL, NULL);
	ck_assert_ptr_nonnull(p.cfg);

	/* good: swapped, the restart key named with its running value */
	saved = capture_log_start();
	ck_assert_int_eq(ic_reload(&tops, &p, NULL, ov, &errors), 0);
	log = capture_log_end(saved);
	ck_assert_ptr_null(errors);
	ck_assert_int_eq(p.cfg->n, 5);
	ck_assert_str_eq(p.cfg->where, "there");
	ck_assert_int_eq(p.prepared, 1);
	ck_assert_int_eq(p.changed, 1);
	ck_assert_str_eq(p.notified, "RELOADING=1;READY=1;");
	ck_assert_msg(strstr(log, "t.where changes at the next start (running with \"here\")"),
		"%s", log);
	ck_assert_ptr_nonnull(strstr(log, "configuration reloaded"));
	ck_assert_ptr_null(strstr(log, "t.n changes")); /* not a restart key */
	free(log);

	/* a bad value: nothing changes, the program is not asked */
	p.notified[0] = '\0';
	saved = capture_log_start();
	ck_assert_int_eq(ic_reload(&tops, &p, NULL, bad, &errors), -1);
	log = capture_log_end(saved);
	ck_assert_ptr_nonnull(strstr(errors, "t.n"));
	ck_assert_ptr_nonnull(strstr(log, "reload failed; configuration not changed:"));
	ck_assert_int_eq(p.cfg->n, 5);
	ck_assert_int_eq(p.prepared, 1);
	ck_assert_str_eq(p.notified, "RELOADING=1;READY=1;");
	free(errors);
	free(log);

	/* the program refuses: nothing changes */
	p.refuse = true;
	ck_assert_int_eq(ic_reload(&tops, &p, NULL, NULL, &errors), -1);
	ck_assert_str_eq(errors, "refused by the program");
	ck_assert_int_eq(p.cfg->n, 5);
	ck_assert_int_eq(p.changed, 1);
	free(errors);

	/* no prepare and no changed: the swap alone; same restart key, no warning */
	{
		struct ic_reload_ops ops = tops;

		ops.prepare = NULL;
		ops.changed = NULL;
		saved = capture_log_start();
		ck_assert_int_eq(ic_reload(&ops, &p, NULL, ov, &errors), 0);
		log = capture_log_end(saved);
		ck_assert_ptr_null(strstr(log, "changes at the next start"));
		free(log);
	}
	ck_assert_int_eq(p.changed, 1);
	ic_config_free(&tschema, p.cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cmdline");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	char tmpl[] = "/tmp/ic-test-cmdline-XXXXXX";
	int failed, fd;

	fd = mkstemp(tmpl);
	if (fd < 0)
		return 1;
	close(fd);
	log_path = tmpl;
	ic_log_init("testd");
	ic_log_set_journal(false);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_all_shared_options_short_and_long);
	tcase_add_test(tc, test_extra_options);
	tcase_add_test(tc, test_version_and_help);
	tcase_add_test(tc, test_unknown_options);
	tcase_add_test(tc, test_missing_argument);
	tcase_add_test(tc, test_bad_set);
	tcase_add_test(tc, test_operands);
	tcase_add_test(tc, test_override_limit);
	tcase_add_test(tc, test_startup_config);
	tcase_add_test(tc, test_reload);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	unlink(tmpl);
	return failed == 0 ? 0 : 1;
}
