/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* patterns.h - lists of shell patterns, as config keys hold them. */
#ifndef IC_PATTERNS_H
#define IC_PATTERNS_H

#include <stdbool.h>

/* Whether name matches one of patterns: shell patterns (fnmatch) separated
 * by commas and/or white space.  NULL or empty patterns match nothing. */
bool ic_patterns_match(const char *patterns, const char *name);

#endif
