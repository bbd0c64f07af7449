/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cmdline.h - the command line both servers (idleclawd, idleclaw-routerd)
 * share.
 *
 * Every server takes the same five options:
 *   -c, --config PATH              configuration file (then PATH.d/ *.conf)
 *   -o, --set SECTION.KEY=VALUE    override one key; may be repeated
 *   -t, --check-config             print the effective configuration, exit
 *   -V, --version                  print "PROGRAM VERSION", exit 0
 *   -h, --help                     print the usage text, exit 0
 * and a program may add options of its own from a table (struct
 * ic_cmdline_option): one that takes no argument and changes nothing
 * (idleclawd's -f), or one whose argument sets a key (idleclaw-routerd's
 * -l ADDR:PORT is router.listen=ADDR:PORT).
 *
 * A usage error (an unknown option, a missing argument, a --set that is not
 * SECTION.KEY=VALUE, an operand) prints one line naming it and a pointer to
 * --help on the error stream, and the program exits IC_EXIT_USAGE.  Whether
 * a --set key exists is the configuration loader's question (an error in
 * the configuration, exit 1), since only it knows the keys.
 */
#ifndef IC_CMDLINE_H
#define IC_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define IC_EXIT_USAGE 2		    /* bad options or operands */
#define IC_EXIT_START 1		    /* configuration not valid, or start-up failed */
#define IC_CMDLINE_OVERRIDES_MAX 64 /* --set options (and key-setting extras) */

/* An option one program adds to the five shared ones. */
struct ic_cmdline_option {
	const char *long_name; /* "listen" */
	char short_name;       /* 'l' */
	const char *arg_name;  /* "ADDR:PORT" in the usage text; NULL: takes no argument */
	const char *sets;      /* "router.listen": the argument's key; NULL: no effect */
	const char *help;      /* one line */
};

struct ic_cmdline_spec {
	const char *program;		       /* "idleclawd" */
	const char *summary;		       /* one line under the usage line */
	const char *default_config;	       /* path used without --config */
	const struct ic_cmdline_option *extra; /* the program's own options, or NULL */
	size_t n_extra;
};

struct ic_cmdline {
	const char *config_path; /* --config, else spec->default_config */
	bool check_config;	 /* -t */
	/* "section.key=value" from --set and key-setting extras, in order;
	 * NULL-terminated; owned (ic_cmdline_clear()). */
	char *overrides[IC_CMDLINE_OVERRIDES_MAX + 1];
	size_t n_overrides;
};

/* ic_cmdline_parse() returns this when the program should go on. */
#define IC_CMDLINE_RUN (-1)

/*
 * Parse argv into *cl (which it clears first).  Returns IC_CMDLINE_RUN to
 * go on, or an exit status: 0 after --help (text on out) or --version (on
 * out), IC_EXIT_USAGE after a usage error (message on err).  Call
 * ic_cmdline_clear() in every case.  Uses getopt_long(), which it resets.
 */
int ic_cmdline_parse(const struct ic_cmdline_spec *spec, int argc, char **argv,
	struct ic_cmdline *cl, FILE *out, FILE *err);
void ic_cmdline_clear(struct ic_cmdline *cl);

/* The --help text. */
void ic_cmdline_usage(const struct ic_cmdline_spec *spec, FILE *out);

/*
 * Whether text is "section.key=value" with a non-empty section and key
 * (the value may be empty: that unsets a string).  NULL if it is; else the
 * reason, a fixed sentence.
 */
const char *ic_cmdline_override_syntax(const char *text);

#endif
