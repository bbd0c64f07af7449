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
#include <getopt.h>
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

void ctl_print_cmd_help(const struct ctl_ctx *ctx, const struct ctl_cmd_entry *e)
{
	printf("usage: %s %s%s%s\n  %s.\n", ctx->progname, e->name, e->usage[0] ? " " : "",
		e->usage, e->summary);
	if (ctl_cmd_privileged(e))
		printf("  Needs root, the daemon's user or its control group.\n");
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

	fprintf(f,
		"usage: %s [--socket PATH] [--timeout SECONDS] [--json] COMMAND [ARGS]\n\n"
		"Control idleclawd, the IdleClaw node daemon, through its control socket.\n\n"
		"Options:\n"
		"  -s, --socket PATH     control socket (default %s,\n"
		"                        or $%s)\n"
		"  -t, --timeout SECONDS how long to wait for idleclawd (default %d)\n"
		"  -j, --json            print replies as JSON\n"
		"  -r, --raw             network text to a terminal as it came (escapes\n"
		"                        and all; they are taken out by default)\n"
		"  -h, --help            this help;  -V, --version  the version\n\n"
		"Commands:\n",
		progname, CTL_SOCKET_DEFAULT, CTL_SOCKET_ENV, CTL_TIMEOUT_DEFAULT_S);
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
	/* For the bash completion: one line per command, its options after it. */
	if (strcmp(argv[1], "--list") == 0) {
		for (e = ctl_cmd_table; *e != NULL; e++)
			printf("%s%s%s\n", (*e)->name, (*e)->options[0] ? " " : "", (*e)->options);
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
	fprintf(stderr,
		"usage: %s [--socket PATH] [--timeout SECONDS] [--json] COMMAND [ARGS]\n"
		"Run '%s help' for the commands.\n",
		ctx->progname, ctx->progname);
	return CTL_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "raw", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
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
	opterr = 0;
	/* "+": options after the command belong to the command */
	while ((c = getopt_long(argc, argv, "+s:t:jrhV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			ctx.socket_path = optarg;
			break;
		case 't':
			if (parse_timeout(optarg, &ctx.timeout_ms) < 0) {
				ctl_errorf(&ctx,
					"--timeout: '%s' is not a number of seconds "
					"from 0.001 to %d.",
					optarg, CTL_TIMEOUT_MAX_S);
				return CTL_EXIT_USAGE;
			}
			ctx.timeout_set = true;
			break;
		case 'j':
			ctx.json = true;
			break;
		case 'r':
			ctx.raw = true;
			break;
		case 'h':
			print_help(stdout, ctx.progname);
			return CTL_EXIT_OK;
		case 'V':
			printf("idleclawctl %s (control protocol %d)\n%s", PACKAGE_VERSION,
				CTL_PROTO_VERSION, IC_LICENCE_NOTICE);
			return CTL_EXIT_OK;
		default:
			if (optopt != 0)
				ctl_errorf(&ctx, "option -%c: unknown, or needs a value.", optopt);
			else
				ctl_errorf(&ctx, "unknown option '%s'.", argv[optind - 1]);
			return global_usage(&ctx);
		}
	}
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
