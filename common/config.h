/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * config.h - the table-driven configuration loader (inih).
 *
 * Each program describes its configuration as one table of keys (section,
 * key, type, offset into its own struct, bounds, typed default, environment
 * variable, help, whether a change needs a restart).  ic_config_load_new() fills a FRESH struct from, in
 * order, the defaults, the main file, PATH.d/ *.conf in lexical order (later
 * wins), the environment, and command-line overrides "section.key=value".
 * It returns the struct only when everything was valid, so a reload can
 * parse first and swap after (nothing half-applied).
 *
 * Unknown sections/keys: a warning "FILE:LINE: unknown key ..." (logged).
 * Bad values: an error "FILE:LINE: key: reason"; all of them are collected.
 * A missing main file is not an error (defaults apply); an unreadable one is.
 * The same table drives --check-config output (ic_config_print()).
 *
 * Include this header as "common/config.h": outside common/ a plain
 * "config.h" finds autoconf's config.h in the build directory first.
 */
#ifndef IC_CONFIG_H
#define IC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum ic_config_type {
	IC_CONFIG_STRING,      /* char *  (owned by the struct) */
	IC_CONFIG_INT,	       /* int, within [min, max] */
	IC_CONFIG_BOOL,	       /* bool: yes/no, true/false, on/off, 1/0 */
	IC_CONFIG_LOGLEVEL,    /* int: see ic_log_level_parse() */
	IC_CONFIG_URL,	       /* char *: http(s) URL, checked by ic_url_parse() */
	IC_CONFIG_OLLAMA_HOST, /* char *: checked by ic_ollama_host_parse() */
};

/*
 * One key.  Tables are written with designated initializers; a field left
 * out is zero.  The default sits in the field of the key's type, as a
 * value (not as text), and is checked against the key's bounds at load.
 */
struct ic_config_key {
	const char *section;
	const char *key;
	enum ic_config_type type;
	size_t offset;	     /* offsetof(struct program_config, field) */
	long min, max;	     /* IC_CONFIG_INT only */
	const char *def_str; /* STRING, URL, OLLAMA_HOST default; NULL = unset */
	long def_int;	     /* INT default; LOGLEVEL default (enum ic_log_level) */
	bool def_bool;	     /* BOOL default */
	const char *env;     /* environment variable that overrides, or NULL */
	const char *help;    /* one line, for --check-config and the man page */
	bool restart;	     /* a change takes effect at the next start, not on reload */
};

struct ic_config_schema {
	const struct ic_config_key *keys;
	size_t n_keys;
	size_t struct_size;
	/* Optional: checks across keys (choices, the order of two thresholds)
	 * after everything loaded.  Returns 0, or -1 with *errors a NEW text. */
	int (*check)(void *cfg, char **errors);
};

/*
 * Load as described above.  main_path may be NULL (defaults, env and
 * overrides only).  overrides: NULL-terminated "section.key=value" list, or
 * NULL.  On success returns a NEW struct (free with ic_config_free()); on
 * failure NULL and *errors gets a NEW newline-separated text of every error.
 */
void *ic_config_load_new(const struct ic_config_schema *schema, const char *main_path,
	const char *const *overrides, char **errors);
void ic_config_free(const struct ic_config_schema *schema, void *cfg);

/*
 * Details (additions to the description above):
 * - sources, later wins: built-in defaults, main_path, main_path.d/ *.conf
 *   (names not starting with ".", byte order), environment variables that
 *   are set and non-empty, overrides in their order.
 * - sections and keys match case-insensitively; inih syntax (";"/"#"
 *   comments, inline " ;" comments); continuation lines are refused.
 * - an empty value of a string, URL or OLLAMA_HOST key means unset (NULL).
 * - lines longer than IC_CONFIG_LINE_MAX bytes are errors (inih's buffer).
 * - an override naming an unknown key is an error, not a warning.
 * - at most IC_CONFIG_ERRORS_MAX errors are listed, then one line saying
 *   the rest were left out.
 */
#define IC_CONFIG_LINE_MAX 196	/* bytes in one line: inih 55's buffer less 4 */
#define IC_CONFIG_ERRORS_MAX 50 /* errors listed in *errors */
#define IC_CONFIG_ERROR_MAX 512 /* bytes in one error line */

/* Print the effective configuration as INI text, one key a line, with help. */
void ic_config_print(const struct ic_config_schema *schema, const void *cfg, FILE *out);

/* Whether key k has the same value in configs a and b (reload compares). */
bool ic_config_key_equal(const struct ic_config_key *k, const void *a, const void *b);
/* The value of key k in cfg as text, into buf (for messages). */
const char *ic_config_value_text(
	const struct ic_config_key *k, const void *cfg, char *buf, size_t len);

#endif
