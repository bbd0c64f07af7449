/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * patterns.h - lists of shell patterns, as config keys hold them.
 *
 * The one syntax of configuration lists that name things (models,
 * process names, GPUs): shell patterns (fnmatch(3): *, ?, [...])
 * separated by commas and/or white space.  Regular expressions appear
 * only where the public server's lists are regular expressions
 * ([router] refuse_patterns, policy.h).
 */
#ifndef IC_PATTERNS_H
#define IC_PATTERNS_H

#include <stdbool.h>

enum ic_patterns_flags {
	/* Letters match either case (model names in the router's lists). */
	IC_PATTERNS_CASEFOLD = 1 << 0,
	/* An entry without a wildcard (* ? [) matches where it occurs anywhere
	 * in the name: "qwen3" is "*qwen3*".  For the lists that held name
	 * parts before they held patterns (thinking_models, tool_models), so
	 * that existing configurations keep their meaning. */
	IC_PATTERNS_BARE_SUBSTRING = 1 << 1,
};

/* Whether name matches one of patterns: shell patterns (fnmatch) separated
 * by commas and/or white space.  NULL or empty patterns match nothing. */
bool ic_patterns_match(const char *patterns, const char *name);
/* The same with enum ic_patterns_flags. */
bool ic_patterns_match_flags(const char *patterns, const char *name, unsigned flags);

#endif
