/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * options.c - idleclawctl's options, made from their one declaration.
 *
 * Each command declares its own options once, as a list of struct
 * ctl_option in its cmd-NAME.c (the global ones are in idleclawctl.c).
 * getopt_long's table and optstring, the usage line, the Options part of
 * help and the list the bash completion reads (`help --list`) are all
 * made here from that list, so what the parser accepts is what help and
 * the completion offer (tests/integration/test_ctl_options.py walks every
 * command to check it).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* Options one parse may see: a command's own and the common ones. */
#define OPTIONS_MAX 24
/* getopt_long returns this plus the option's index for a long-only one. */
#define LONG_ONLY_VAL 256
/* Where help's descriptions start. */
#define HELP_COLUMN 24

const struct ctl_option ctl_cmd_common_options[] = {
	{ .name = "json", .short_name = 'j', .key = CTL_OPT_JSON, .help = "print replies as JSON" },
	{ .name = "help", .short_name = 'h', .key = CTL_OPT_HELP, .help = "this help" },
	{ 0 },
};

/* The options of one parse, one help or one list, in order. */
struct optset {
	const struct ctl_option *opt[OPTIONS_MAX];
	size_t n;
};

static void optset_add(struct optset *s, const struct ctl_option *list)
{
	for (; list != NULL && list->name != NULL; list++) {
		if (s->n == OPTIONS_MAX)
			abort(); /* a declaration too long: a programming error */
		s->opt[s->n++] = list;
	}
}

static void cmd_optset(const struct ctl_cmd_entry *e, struct optset *s)
{
	s->n = 0;
	optset_add(s, e->options);
	optset_add(s, ctl_cmd_common_options);
}

/* getopt_long's table and optstring ("+:m:jh") for s. */
static void optset_getopt(const struct optset *s, struct option *longopts, char *optstring)
{
	size_t i;
	char *p = optstring;

	*p++ = '+'; /* the first operand ends the options */
	*p++ = ':'; /* a missing value returns ':', not '?' */
	for (i = 0; i < s->n; i++) {
		const struct ctl_option *o = s->opt[i];

		longopts[i] = (struct option){
			.name = o->name,
			.has_arg = o->arg != NULL ? required_argument : no_argument,
			.val = o->short_name != 0 ? o->short_name : LONG_ONLY_VAL + (int)i,
		};
		if (o->short_name != 0) {
			*p++ = o->short_name;
			if (o->arg != NULL)
				*p++ = ':';
		}
	}
	longopts[s->n] = (struct option){ 0 };
	*p = '\0';
}

/* The declaration getopt_long's return value c stands for, or NULL. */
static const struct ctl_option *optset_find(const struct optset *s, int c)
{
	size_t i;

	if (c >= LONG_ONLY_VAL && (size_t)(c - LONG_ONLY_VAL) < s->n)
		return s->opt[c - LONG_ONLY_VAL];
	for (i = 0; i < s->n; i++)
		if (s->opt[i]->short_name != 0 && s->opt[i]->short_name == c)
			return s->opt[i];
	return NULL;
}

/* What getopt_long stopped at: "-x", or the word ("--bogus",
 * "--json=1"); optopt is also set for a long option, to its val. */
static void bad_option(const struct ctl_ctx *ctx, const char *who, int c, char **argv)
{
	const char *last = optind > 0 ? argv[optind - 1] : "";
	char shortopt[3] = { '-', (char)optopt, '\0' };
	bool is_long = strncmp(last, "--", 2) == 0 || optopt <= 0 || optopt >= LONG_ONLY_VAL;
	const char *word = is_long ? last : shortopt;

	ctl_errorf(ctx, "%s%s%s '%s'.", who != NULL ? who : "", who != NULL ? ": " : "",
		c == ':' ? "missing value for option" : "unknown option", word);
}

static int parse_set(struct ctl_ctx *ctx, const char *who, const struct optset *s, int argc,
	char **argv, ctl_option_fn *fn, void *arg)
{
	struct option longopts[OPTIONS_MAX + 1];
	char optstring[2 + 2 * OPTIONS_MAX + 1];
	int c;

	optset_getopt(s, longopts, optstring);
	opterr = 0;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		const struct ctl_option *o = c == '?' || c == ':' ? NULL : optset_find(s, c);
		int code;

		if (o == NULL) {
			bad_option(ctx, who, c, argv);
			return CTL_OPTS_BAD;
		}
		/* what every list that has them means by them */
		if (o->key == CTL_OPT_JSON) {
			ctx->json = true;
			continue;
		}
		if (o->key == CTL_OPT_RAW) {
			ctx->raw = true;
			continue;
		}
		code = fn(arg, o, o->arg != NULL ? optarg : NULL);
		if (code >= 0)
			return code;
	}
	return -1;
}

int ctl_options_parse(struct ctl_ctx *ctx, const char *who, const struct ctl_option *opts, int argc,
	char **argv, ctl_option_fn *fn, void *arg)
{
	struct optset s = { .n = 0 };

	optset_add(&s, opts);
	return parse_set(ctx, who, &s, argc, argv, fn, arg);
}

/* A command's parse: --help here, its own options to its handler. */
struct cmd_parse {
	struct ctl_ctx *ctx;
	const struct ctl_cmd_entry *self;
	ctl_option_fn *fn;
	void *arg;
};

static int cmd_option(void *arg, const struct ctl_option *o, const char *value)
{
	struct cmd_parse *p = arg;

	if (o->key == CTL_OPT_HELP) {
		ctl_print_cmd_help(p->ctx, p->self);
		return CTL_EXIT_OK;
	}
	return p->fn(p->arg, o, value);
}

int ctl_cmd_options(struct ctl_ctx *ctx, const struct ctl_cmd_entry *self, int argc, char **argv,
	ctl_option_fn *fn, void *arg, int *first)
{
	struct cmd_parse p = { .ctx = ctx, .self = self, .fn = fn, .arg = arg };
	struct optset s;
	int code;

	cmd_optset(self, &s);
	code = parse_set(ctx, self->name, &s, argc, argv, cmd_option, &p);
	if (code == CTL_OPTS_BAD)
		return ctl_usage(ctx, self);
	if (code >= 0)
		return code;
	*first = optind;
	return -1;
}

int ctl_simple_options(struct ctl_ctx *ctx, const struct ctl_cmd_entry *self, int argc, char **argv,
	int max_operands, int *first)
{
	int code = ctl_cmd_options(ctx, self, argc, argv, NULL, NULL, first);

	if (code >= 0)
		return code;
	if (argc - *first > max_operands) {
		ctl_errorf(ctx, "%s: unexpected argument '%s'.", self->name,
			argv[*first + max_operands]);
		return ctl_usage(ctx, self);
	}
	return -1;
}

/* --- what people and the completion read --- */

/* --help and --version end the program rather than change a run: they
 * are in help, not in usage lines. */
static bool in_usage(const struct ctl_option *o)
{
	return o->key != CTL_OPT_HELP && o->key != CTL_OPT_VERSION;
}

/* Append to buf (of size, len used so far); returns the new length. */
static size_t append(char *buf, size_t size, size_t len, const char *s)
{
	snprintf(buf + len, len < size ? size - len : 0, "%s%s", len > 0 ? " " : "", s);
	return len + (len > 0) + strlen(s);
}

void ctl_options_usage(const struct ctl_option *opts, const char *operands, char *buf, size_t size)
{
	size_t len = 0;
	char word[64];

	buf[0] = '\0';
	for (; opts != NULL && opts->name != NULL; opts++) {
		const char *arg = opts->arg != NULL ? opts->arg : "";
		const char *sep = opts->arg != NULL ? " " : "";

		if (!in_usage(opts))
			continue;
		/* required: "-m MODEL"; optional: "[--system TEXT]" */
		if (opts->required && opts->short_name != 0)
			snprintf(word, sizeof(word), "-%c%s%s", opts->short_name, sep, arg);
		else if (opts->required)
			snprintf(word, sizeof(word), "--%s%s%s", opts->name, sep, arg);
		else
			snprintf(word, sizeof(word), "[--%s%s%s]", opts->name, sep, arg);
		len = append(buf, size, len, word);
	}
	if (operands != NULL && operands[0] != '\0')
		append(buf, size, len, operands);
}

static void print_help_of(FILE *f, const struct ctl_option *o)
{
	char left[64];
	const char *line = o->help, *nl;

	snprintf(left, sizeof(left), "%c%c%s--%s%s%s", o->short_name ? '-' : ' ',
		o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ", o->name,
		o->arg != NULL ? " " : "", o->arg != NULL ? o->arg : "");
	fprintf(f, "  %-*s", HELP_COLUMN - 3, left);
	/* a description of several lines: each under the first */
	while ((nl = strchr(line, '\n')) != NULL) {
		fprintf(f, " %.*s\n%*s", (int)(nl - line), line, HELP_COLUMN - 1, "");
		line = nl + 1;
	}
	fprintf(f, " %s\n", line);
}

static void print_help_set(FILE *f, const struct optset *s)
{
	size_t i;

	fprintf(f, "Options:\n");
	for (i = 0; i < s->n; i++)
		print_help_of(f, s->opt[i]);
}

void ctl_options_print_help(FILE *f, const struct ctl_option *opts)
{
	struct optset s = { .n = 0 };

	optset_add(&s, opts);
	print_help_set(f, &s);
}

static void print_names_set(FILE *f, const struct optset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		fprintf(f, " --%s", s->opt[i]->name);
}

void ctl_options_print_names(FILE *f, const struct ctl_option *opts)
{
	struct optset s = { .n = 0 };

	optset_add(&s, opts);
	print_names_set(f, &s);
}

void ctl_print_cmd_list(const struct ctl_cmd_entry *e)
{
	struct optset s;

	cmd_optset(e, &s);
	printf("%s", e->name);
	print_names_set(stdout, &s);
	printf("\n");
}

void ctl_print_cmd_help(const struct ctl_ctx *ctx, const struct ctl_cmd_entry *e)
{
	char usage[256];
	struct optset s;

	ctl_options_usage(e->options, e->operands, usage, sizeof(usage));
	printf("usage: %s %s%s%s\n  %s.\n", ctx->progname, e->name, usage[0] ? " " : "", usage,
		e->summary);
	if (ctl_cmd_privileged(e))
		printf("  Needs root, the daemon's user or its control group.\n");
	cmd_optset(e, &s);
	print_help_set(stdout, &s);
}

int ctl_usage(const struct ctl_ctx *ctx, const struct ctl_cmd_entry *cmd)
{
	char global[128], usage[256];

	ctl_options_usage(ctl_global_options, NULL, global, sizeof(global));
	ctl_options_usage(cmd->options, cmd->operands, usage, sizeof(usage));
	fprintf(stderr, "usage: %s %s %s%s%s\n", ctx->progname, global, cmd->name,
		usage[0] != '\0' ? " " : "", usage);
	fprintf(stderr, "Run '%s help %s' for more.\n", ctx->progname, cmd->name);
	return CTL_EXIT_USAGE;
}
