/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cmdline.c - the servers' shared command line (see cmdline.h).
 *
 * getopt_long() runs in "+" mode (stop at the first operand, no
 * permutation), so the argument that holds the option getopt is looking
 * at is always argv[optind as it was before the call]; the error messages
 * name the option as the user wrote it from there.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "licence.h"
#include "xmalloc.h"

/* The five options every server takes, in --help order. */
static const struct ic_cmdline_option shared_head[] = {
	{ "config", 'c', "PATH", NULL, NULL }, /* help: built with the default path */
	{ "set", 'o', "SECTION.KEY=VALUE", NULL, "override one configuration key (repeatable)" },
	{ "check-config", 't', NULL, NULL, "print the effective configuration and exit" },
};
static const struct ic_cmdline_option shared_tail[] = {
	{ "version", 'V', NULL, NULL, "print the version and exit" },
	{ "help", 'h', NULL, NULL, "print this text and exit" },
};
#define N_HEAD (sizeof(shared_head) / sizeof(shared_head[0]))
#define N_TAIL (sizeof(shared_tail) / sizeof(shared_tail[0]))
#define HELP_COLUMN 32

static void usage_line(const struct ic_cmdline_option *o, const char *help, FILE *out)
{
	int n = fprintf(out, "  -%c, --%s%s%s", o->short_name, o->long_name, o->arg_name ? " " : "",
		o->arg_name ? o->arg_name : "");

	fprintf(out, "%*s%s\n", n < HELP_COLUMN ? HELP_COLUMN - n : 1, "", help);
}

void ic_cmdline_usage(const struct ic_cmdline_spec *spec, FILE *out)
{
	size_t i;
	char *config_help = xasprintf("configuration file (default %s)", spec->default_config);

	fprintf(out, "Usage: %s [OPTION]...\n%s\n\n", spec->program, spec->summary);
	usage_line(&shared_head[0], config_help, out);
	for (i = 1; i < N_HEAD; i++)
		usage_line(&shared_head[i], shared_head[i].help, out);
	for (i = 0; i < spec->n_extra; i++)
		usage_line(&spec->extra[i], spec->extra[i].help, out);
	for (i = 0; i < N_TAIL; i++)
		usage_line(&shared_tail[i], shared_tail[i].help, out);
	free(config_help);
}

const char *ic_cmdline_override_syntax(const char *text)
{
	const char *eq = strchr(text, '=');
	const char *dot;

	if (eq == NULL)
		return "no \"=\" (expected SECTION.KEY=VALUE)";
	dot = memchr(text, '.', (size_t)(eq - text));
	if (dot == NULL)
		return "no section before the key (expected SECTION.KEY=VALUE)";
	if (dot == text)
		return "empty section (expected SECTION.KEY=VALUE)";
	if (dot + 1 == eq)
		return "empty key (expected SECTION.KEY=VALUE)";
	return NULL;
}

void ic_cmdline_clear(struct ic_cmdline *cl)
{
	size_t i;

	for (i = 0; i < cl->n_overrides; i++)
		free(cl->overrides[i]);
	memset(cl, 0, sizeof(*cl));
}

/* --- parsing --- */

struct parser {
	const struct ic_cmdline_spec *spec;
	struct ic_cmdline *cl;
	FILE *err;
	struct option *longopts; /* NEW, for getopt_long() */
	char *optstring;	 /* NEW */
};

static int usage_error(const struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One line naming what was wrong, one pointing at --help. */
static int usage_error(const struct parser *p, const char *fmt, ...)
{
	va_list ap;

	fprintf(p->err, "%s: ", p->spec->program);
	va_start(ap, fmt);
	vfprintf(p->err, fmt, ap);
	va_end(ap);
	fprintf(p->err, "\nTry '%s --help' for more information.\n", p->spec->program);
	return IC_EXIT_USAGE;
}

static void add_getopt_entry(struct parser *p, size_t i, const struct ic_cmdline_option *o)
{
	size_t n = strlen(p->optstring);

	p->longopts[i].name = o->long_name;
	p->longopts[i].has_arg = o->arg_name ? required_argument : no_argument;
	p->longopts[i].val = (unsigned char)o->short_name;
	p->optstring[n++] = o->short_name;
	if (o->arg_name)
		p->optstring[n++] = ':';
}

static void build_getopt_tables(struct parser *p)
{
	size_t n = N_HEAD + p->spec->n_extra + N_TAIL, i, j = 0;

	p->longopts = xcalloc(n + 1, sizeof(*p->longopts));
	p->optstring = xcalloc(2 * n + 3, 1);
	strcpy(p->optstring, "+:");
	for (i = 0; i < N_HEAD; i++)
		add_getopt_entry(p, j++, &shared_head[i]);
	for (i = 0; i < p->spec->n_extra; i++)
		add_getopt_entry(p, j++, &p->spec->extra[i]);
	for (i = 0; i < N_TAIL; i++)
		add_getopt_entry(p, j++, &shared_tail[i]);
}

static const struct ic_cmdline_option *find_extra(const struct ic_cmdline_spec *spec, int c)
{
	size_t i;

	for (i = 0; i < spec->n_extra; i++)
		if ((unsigned char)spec->extra[i].short_name == c)
			return &spec->extra[i];
	return NULL;
}

/* Keep one "section.key=value" (a NEW copy of text). */
static int add_override(struct parser *p, const char *text, const char *as_written)
{
	const char *why = ic_cmdline_override_syntax(text);
	struct ic_cmdline *cl = p->cl;

	if (why != NULL)
		return usage_error(p, "%s '%s': %s", as_written, text, why);
	if (cl->n_overrides == IC_CMDLINE_OVERRIDES_MAX) {
		fprintf(p->err, "%s: more than %d --set options\n", p->spec->program,
			IC_CMDLINE_OVERRIDES_MAX);
		return IC_EXIT_USAGE;
	}
	cl->overrides[cl->n_overrides++] = xstrdup(text);
	return IC_CMDLINE_RUN;
}

static int extra_option(struct parser *p, const struct ic_cmdline_option *o, const char *arg)
{
	char *text, *as_written;
	int rc;

	if (o->sets == NULL)
		return IC_CMDLINE_RUN;
	text = xasprintf("%s=%s", o->sets, arg);
	as_written = xasprintf("--%s", o->long_name);
	rc = add_override(p, text, as_written);
	free(as_written);
	free(text);
	return rc;
}

/* The message for getopt's '?' or ':' about argument cur. */
static int getopt_error(const struct parser *p, int c, const char *cur)
{
	char name[64];
	char shortname[3] = { '-', (char)optopt, '\0' };
	const char *what = shortname;

	if (strncmp(cur, "--", 2) == 0) {
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(cur, "="), cur);
		what = name;
	}
	if (c == ':')
		return usage_error(p, "option '%s' needs an argument", what);
	/* a long option known to getopt, given "=VALUE" it does not take */
	if (what == name && optopt != 0)
		return usage_error(p, "option '%s' takes no argument", what);
	return usage_error(p, "unknown option '%s'", what);
}

static int one_option(struct parser *p, int c, const char *cur, FILE *out)
{
	const struct ic_cmdline_option *o;

	switch (c) {
	case 'c':
		p->cl->config_path = optarg;
		return IC_CMDLINE_RUN;
	case 'o':
		return add_override(p, optarg, "--set");
	case 't':
		p->cl->check_config = true;
		return IC_CMDLINE_RUN;
	case 'V':
		fprintf(out, "%s %s\n%s", p->spec->program, PACKAGE_VERSION, IC_LICENCE_NOTICE);
		return 0;
	case 'h':
		ic_cmdline_usage(p->spec, out);
		return 0;
	case '?':
	case ':':
		return getopt_error(p, c, cur);
	}
	o = find_extra(p->spec, c);
	if (o == NULL)
		return usage_error(p, "unknown option '%s'", cur);
	return extra_option(p, o, optarg);
}

int ic_cmdline_parse(const struct ic_cmdline_spec *spec, int argc, char **argv,
	struct ic_cmdline *cl, FILE *out, FILE *err)
{
	struct parser p = { .spec = spec, .cl = cl, .err = err };
	int rc = IC_CMDLINE_RUN, c, before;

	memset(cl, 0, sizeof(*cl));
	cl->config_path = spec->default_config;
	build_getopt_tables(&p);
	optind = 0; /* glibc: start over (the unit tests parse many times) */
	opterr = 0; /* the messages are ours */
	for (;;) {
		before = optind ? optind : 1;
		c = getopt_long(argc, argv, p.optstring, p.longopts, NULL);
		if (c == -1)
			break;
		rc = one_option(&p, c, before < argc ? argv[before] : "", out);
		if (rc != IC_CMDLINE_RUN)
			break;
	}
	if (rc == IC_CMDLINE_RUN && optind < argc)
		rc = usage_error(&p, "unexpected argument '%s'", argv[optind]);
	free(p.longopts);
	free(p.optstring);
	return rc;
}
