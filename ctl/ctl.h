/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ctl.h - what idleclawctl's parts share: the options every command sees,
 * the command table's row, the commands, and the helpers that run one
 * request and report its outcome.
 */
#ifndef IC_CTL_CTL_H
#define IC_CTL_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <json-c/json.h>

#include "client.h"
#include "ctlproto.h"
#include "limits.h"

/* Seconds idleclawctl waits for a reply (--timeout). */
#define CTL_TIMEOUT_DEFAULT_S 10
/* A chat may wait for a free node and for slow tokens: without --timeout
 * it gives up after this long without any message from the daemon. */
#define CTL_CHAT_IDLE_TIMEOUT_S 300
/* After Ctrl-C, how long to wait for the cancelled chat's reply. */
#define CTL_CANCEL_WAIT_MS 2000
/* Bytes read from stdin for one chat message: the most that 10,000
 * characters can take in UTF-8 (the daemon then checks the characters). */
#define CTL_STDIN_MAX (IC_MESSAGE_CHARS_MAX * 4)
/* --timeout accepts 0 < SECONDS <= this. */
#define CTL_TIMEOUT_MAX_S 86400

/* Global options, parsed before the command. */
struct ctl_ctx {
	const char *progname;
	const char *socket_path; /* --socket, $IDLECLAW_SOCKET, or default */
	int timeout_ms;		 /* --timeout, or the default */
	bool timeout_set;	 /* --timeout was given */
	bool json;		 /* --json: print replies as JSON */
	bool raw;		 /* --raw: network text to a terminal as it
				  * came, escape sequences and all */
};

/*
 * One option, declared once: the getopt_long table and optstring, the
 * usage line, the Options of help and the bash completion's list
 * (`help --list`) are all made from these (options.c).  A list of them
 * ends with { 0 }.
 */
struct ctl_option {
	const char *name; /* --NAME */
	char short_name;  /* -X as well, or 0 */
	const char *arg;  /* its value's name in help ("MODEL"), or NULL: none */
	bool required;	  /* usage shows it without brackets */
	int key;	  /* what the command's handler is given: CTL_OPT_* */
	const char *help; /* for help: one line, or lines split by '\n' */
};

/* The keys options.c handles for every command; idleclawctl.c's global
 * options and a command's own options take keys from CTL_OPT_OWN on. */
enum {
	CTL_OPT_HELP = 1, /* print the command's help, exit 0 */
	CTL_OPT_JSON,	  /* sets ctx->json */
	CTL_OPT_RAW,	  /* sets ctx->raw */
	CTL_OPT_VERSION,  /* idleclawctl.c: print the version, exit 0 */
	CTL_OPT_OWN = 16,
};

/* Called for each of a command's own options (value: NULL if it takes
 * none).  -1 to go on, else the exit code to stop with. */
typedef int ctl_option_fn(void *arg, const struct ctl_option *opt, const char *value);

/*
 * One idleclawctl command, as tmux's cmd_entry: ctl/cmd-NAME.c defines
 * `const struct ctl_cmd_entry cmd_NAME_entry`.  Dispatch, help and the
 * bash completion (through `help --list`) all come from these entries.
 * What the daemon accepts (arguments, privilege) is the protocol's
 * command table, common/ctlproto.c; help shows privilege from there.
 */
struct ctl_cmd_entry {
	const char *name;
	const char *proto; /* the ctl_commands[] row it sends, or NULL */
	/* its own options, or NULL; every command also takes --json and
	 * --help (ctl_cmd_common_options) */
	const struct ctl_option *options;
	const char *operands; /* in usage after the options, "" if none */
	const char *summary;  /* one line for help, no final full stop */
	/* Returns idleclawctl's exit code; argv[0] is the command's name. */
	int (*exec)(struct ctl_ctx *ctx, const struct ctl_cmd_entry *self, int argc, char **argv);
};

/*
 * Every entry, in the order help lists them, then NULL.  Generated into
 * ctl/cmd-table.c from CTL_CMD_SOURCES in ctl/local.mk: a new
 * ctl/cmd-NAME.c in that list is in the table.
 */
extern const struct ctl_cmd_entry *const ctl_cmd_table[];

/* true if the protocol's table marks the command that e sends privileged. */
bool ctl_cmd_privileged(const struct ctl_cmd_entry *e);

/* --- options.c: options from their declaration --- */

/* idleclawctl's global options (idleclawctl.c), and the options every
 * command takes (--json, --help). */
extern const struct ctl_option ctl_global_options[];
extern const struct ctl_option ctl_cmd_common_options[];

/* ctl_options_parse(): an unknown option or a missing value (said). */
#define CTL_OPTS_BAD (-2)

/*
 * getopt_long over argv with the options of opts (a { 0 }-ended list; the
 * first operand ends them).  Options keyed CTL_OPT_JSON and CTL_OPT_RAW
 * set ctx->json and ctx->raw; fn is called for the others.  -1 when all
 * are taken (optind is the first operand), fn's exit code if it returned
 * one, or CTL_OPTS_BAD after saying "WHO: unknown option..." (who may be
 * NULL); the caller then prints its usage.
 */
int ctl_options_parse(struct ctl_ctx *ctx, const char *who, const struct ctl_option *opts, int argc,
	char **argv, ctl_option_fn *fn, void *arg);

/*
 * A command's options: its own (fn is given those, may be NULL if it has
 * none) and the common ones, handled here (--help prints help).  -1 to go
 * on, with *first the first operand; else the exit code (usage printed,
 * or help shown).
 */
int ctl_cmd_options(struct ctl_ctx *ctx, const struct ctl_cmd_entry *self, int argc, char **argv,
	ctl_option_fn *fn, void *arg, int *first);

/* The usage after a program or command name: "[--socket PATH] ..." or
 * "-m MODEL [--think] ... [MESSAGE...]", into buf. */
void ctl_options_usage(const struct ctl_option *opts, const char *operands, char *buf, size_t size);

/* The "Options:" part of help: "  -m, --model MODEL  what it does". */
void ctl_options_print_help(FILE *f, const struct ctl_option *opts);

/* " --model --think ...": every long option, for the completion. */
void ctl_options_print_names(FILE *f, const struct ctl_option *opts);

/* "usage: idleclawctl NAME USAGE", the summary, who may run it if
 * privileged, and the command's options: `help NAME`, `NAME --help`. */
void ctl_print_cmd_help(const struct ctl_ctx *ctx, const struct ctl_cmd_entry *e);

/* `help --list`'s line for e: its name, then every long option. */
void ctl_print_cmd_list(const struct ctl_cmd_entry *e);

/* --- call.c: running a request and reporting what happened --- */

/* "idleclawctl: <message>" on stderr. */
void ctl_errorf(const struct ctl_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print "usage: idleclawctl NAME ARGS" on stderr; return CTL_EXIT_USAGE. */
int ctl_usage(const struct ctl_ctx *ctx, const struct ctl_cmd_entry *cmd);

/* Connect to the daemon; on failure print why and set *exit_code. */
struct ctl_client *ctl_open(const struct ctl_ctx *ctx, int *exit_code);

/*
 * Print a failed reply (its sentence, the daemon's detail, a hint) and
 * return its exit code; for CTL_ST_OK print nothing and return 0.
 */
int ctl_report(const struct ctl_ctx *ctx, const struct ctl_cmd_entry *cmd,
	const struct ctl_message *reply);

/* Report a failed ctl_client_recv(); returns the exit code. */
int ctl_report_recv(const struct ctl_ctx *ctx, enum ctl_recv r, const char *err);

/*
 * Send cmd with args (taken over; NULL = {}) and wait for its reply,
 * skipping events.  0 with *reply filled (any status: the caller
 * ctl_message_clear()s it), or an exit code after printing why.
 */
int ctl_call(
	const struct ctl_ctx *ctx, const char *cmd, json_object *args, struct ctl_message *reply);

/* ctl_call() of self->proto for commands whose success prints `done`
 * (may be NULL). */
int ctl_run_simple(const struct ctl_ctx *ctx, const struct ctl_cmd_entry *self, json_object *args,
	const char *done);

/* ctl_call() of self->proto for commands whose success prints the reply
 * with print() (or as JSON with --json). */
int ctl_run_query(const struct ctl_ctx *ctx, const struct ctl_cmd_entry *self, json_object *args,
	void (*print)(json_object *root));

/*
 * Parse a command's options when it has only the common ones (--json,
 * --help), and check it has at most max_operands operands
 * (argv[*first]...).  -1 to go on; otherwise the exit code (usage
 * printed, or help shown).
 */
int ctl_simple_options(struct ctl_ctx *ctx, const struct ctl_cmd_entry *self, int argc, char **argv,
	int max_operands, int *first);

/* Print a reply as JSON (for --json): the whole message, pretty. */
void ctl_print_json(const struct ctl_message *reply);

#endif
