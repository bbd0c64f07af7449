/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * idleclawctl.c - main(): global options, dispatch, help.
 *
 * Each command lives in its own cmd-NAME.c as one ctl_cmd_entry;
 * ctl_cmd_table[] lists them (generated from ctl/local.mk).  Dispatch,
 * `idleclawctl help` and the bash completion (through `help --list`) all
 * walk it.  Privilege comes from the protocol's table (ctl_commands[]):
 * the daemon decides, help only says what the table says.
 */
#include <errno.h>
#include <getopt.h> /* optind */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "licence.h"

#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif

#define CTL_SOCKET_DEFAULT RUNSTATEDIR "/idleclaw/idleclawd.sock"
#define CTL_SOCKET_ENV "IDLECLAW_SOCKET"
#define STR_(x) #x
#define STR(x) STR_(x)

enum { OPT_SOCKET = CTL_OPT_OWN, OPT_TIMEOUT };

/* Before the command; `help --list-global` gives their names to the
 * completion. */
const struct ctl_option ctl_global_options[] = {
	{ .name = "socket",
		.short_name = 's',
		.arg = "PATH",
		.key = OPT_SOCKET,
		.help = "control socket (default " CTL_SOCKET_DEFAULT ",\n"
			"or $" CTL_SOCKET_ENV ")" },
	{ .name = "timeout",
		.short_name = 't',
		.arg = "SECONDS",
		.key = OPT_TIMEOUT,
		.help = "how long to wait for idleclawd (default " STR(CTL_TIMEOUT_DEFAULT_S) ")" },
	{ .name = "json", .short_name = 'j', .key = CTL_OPT_JSON, .help = "print replies as JSON" },
	{ .name = "raw",
		.short_name = 'r',
		.key = CTL_OPT_RAW,
		.help = "network text to a terminal as it came (escapes\n"
			"and all; they are taken out by default)" },
	{ .name = "help", .short_name = 'h', .key = CTL_OPT_HELP, .help = "this help" },
	{ .name = "version", .short_name = 'V', .key = CTL_OPT_VERSION, .help = "the version" },
	{ 0 },
};

static const struct ctl_cmd_entry *find_command(const char *name)
{
	const struct ctl_cmd_entry *const *e;

	for (e = ctl_cmd_table; *e != NULL; e++)
		if (strcmp((*e)->name, name) == 0)
			return *e;
	return NULL;
}

bool ctl_cmd_privileged(const struct ctl_cmd_entry *e)
{
	const struct ctl_command *row = ctl_command_find(e->proto);

	return row != NULL && row->privileged;
}

static void print_exit_codes(FILE *f)
{
	fprintf(f,
		"Exit status:\n"
		"  %d ok, %d failed, %d usage or bad arguments, %d protocol error,\n"
		"  %d version mismatch, %d permission denied, %d busy, %d not found,\n"
		"  %d network unavailable, %d cancelled, %d timeout, %d no daemon, %d "
		"interrupted.\n",
		CTL_EXIT_OK, CTL_EXIT_FAILED, CTL_EXIT_USAGE, CTL_EXIT_PROTOCOL,
		CTL_EXIT_INCOMPATIBLE, CTL_EXIT_PERMISSION, CTL_EXIT_BUSY, CTL_EXIT_NOT_FOUND,
		CTL_EXIT_UNAVAILABLE, CTL_EXIT_CANCELLED, CTL_EXIT_TIMEOUT, CTL_EXIT_NO_DAEMON,
		CTL_EXIT_INTERRUPTED);
}

static void print_help(FILE *f, const char *progname)
{
	const struct ctl_cmd_entry *const *e;
	char usage[256];

	ctl_options_usage(ctl_global_options, "COMMAND [ARGS]", usage, sizeof(usage));
	fprintf(f,
		"usage: %s %s\n\n"
		"Control idleclawd, the IdleClaw node daemon, through its control socket.\n\n",
		progname, usage);
	ctl_options_print_help(f, ctl_global_options);
	fprintf(f, "\nCommands:\n");
	for (e = ctl_cmd_table; *e != NULL; e++)
		fprintf(f, "  %-8s %s%s\n", (*e)->name, (*e)->summary,
			ctl_cmd_privileged(*e) ? " [root]" : "");
	fprintf(f,
		"\n[root]: needs root, the daemon's user or its control group.  "
		"'%s help COMMAND' shows a command's usage.\n",
		progname);
	print_exit_codes(f);
}

static int help_command(const struct ctl_ctx *ctx, int argc, char **argv)
{
	const struct ctl_cmd_entry *const *e;
	const struct ctl_cmd_entry *cmd;

	if (argc < 2) {
		print_help(stdout, ctx->progname);
		return CTL_EXIT_OK;
	}
	/* For the bash completion: one line per command, its options after
	 * it; or the global options on one line. */
	if (strcmp(argv[1], "--list") == 0) {
		for (e = ctl_cmd_table; *e != NULL; e++)
			ctl_print_cmd_list(*e);
		return CTL_EXIT_OK;
	}
	if (strcmp(argv[1], "--list-global") == 0) {
		ctl_options_print_names(stdout, ctl_global_options);
		printf("\n");
		return CTL_EXIT_OK;
	}
	cmd = find_command(argv[1]);
	if (cmd == NULL) {
		ctl_errorf(ctx, "unknown command '%s'; run '%s help' for the list.", argv[1],
			ctx->progname);
		return CTL_EXIT_USAGE;
	}
	ctl_print_cmd_help(ctx, cmd);
	return CTL_EXIT_OK;
}

/* --timeout: 0 < SECONDS <= CTL_TIMEOUT_MAX_S, fractions allowed. */
static int parse_timeout(const char *s, int *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > CTL_TIMEOUT_MAX_S)
		return -1;
	*ms = (int)(v * 1000);
	if (*ms < 1)
		*ms = 1;
	return 0;
}

static int global_usage(const struct ctl_ctx *ctx)
{
	char usage[256];

	ctl_options_usage(ctl_global_options, "COMMAND [ARGS]", usage, sizeof(usage));
	fprintf(stderr, "usage: %s %s\nRun '%s help' for the commands.\n", ctx->progname, usage,
		ctx->progname);
	return CTL_EXIT_USAGE;
}

static int global_option(void *arg, const struct ctl_option *o, const char *value)
{
	struct ctl_ctx *ctx = arg;

	switch (o->key) {
	case OPT_SOCKET:
		ctx->socket_path = value;
		break;
	case OPT_TIMEOUT:
		if (parse_timeout(value, &ctx->timeout_ms) < 0) {
			ctl_errorf(ctx,
				"--timeout: '%s' is not a number of seconds "
				"from 0.001 to %d.",
				value, CTL_TIMEOUT_MAX_S);
			return CTL_EXIT_USAGE;
		}
		ctx->timeout_set = true;
		break;
	case CTL_OPT_HELP:
		print_help(stdout, ctx->progname);
		return CTL_EXIT_OK;
	case CTL_OPT_VERSION:
		printf("idleclawctl %s (control protocol %d)\n%s", PACKAGE_VERSION,
			CTL_PROTO_VERSION, IC_LICENCE_NOTICE);
		return CTL_EXIT_OK;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct ctl_ctx ctx = {
		.progname = "idleclawctl",
		.socket_path = CTL_SOCKET_DEFAULT,
		.timeout_ms = CTL_TIMEOUT_DEFAULT_S * 1000,
	};
	const struct ctl_cmd_entry *cmd;
	const char *env = getenv(CTL_SOCKET_ENV);
	int c;

	/* The daemon may close the socket while we write: an error, not death. */
	signal(SIGPIPE, SIG_IGN);
	if (env != NULL && env[0] != '\0')
		ctx.socket_path = env;
	/* options after the command belong to the command */
	c = ctl_options_parse(&ctx, NULL, ctl_global_options, argc, argv, global_option, &ctx);
	if (c == CTL_OPTS_BAD)
		return global_usage(&ctx);
	if (c >= 0)
		return c;
	if (optind >= argc) {
		ctl_errorf(&ctx, "no command given.");
		return global_usage(&ctx);
	}
	if (strcmp(argv[optind], "help") == 0)
		return help_command(&ctx, argc - optind, argv + optind);
	cmd = find_command(argv[optind]);
	if (cmd == NULL) {
		ctl_errorf(&ctx, "unknown command '%s'; run '%s help' for the list.", argv[optind],
			ctx.progname);
		return CTL_EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	optind = 0; /* let the command parse its own options (GNU: reinitialize) */
	return cmd->exec(&ctx, cmd, argc, argv);
}
