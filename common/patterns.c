/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* patterns.c - see patterns.h. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "patterns.h"
#include "xmalloc.h"

static bool entry_matches(const char *pat, const char *name, unsigned flags)
{
	bool fold = flags & IC_PATTERNS_CASEFOLD;

	if ((flags & IC_PATTERNS_BARE_SUBSTRING) && !strpbrk(pat, "*?["))
		return (fold ? strcasestr(name, pat) : strstr(name, pat)) != NULL;
	return fnmatch(pat, name, fold ? FNM_CASEFOLD : 0) == 0;
}

bool ic_patterns_match_flags(const char *patterns, const char *name, unsigned flags)
{
	char *copy, *tok, *save = NULL;
	bool hit = false;

	if (!patterns || !*patterns || !name)
		return false;
	copy = xstrdup(patterns);
	for (tok = strtok_r(copy, ", \t", &save); tok && !hit; tok = strtok_r(NULL, ", \t", &save))
		hit = entry_matches(tok, name, flags);
	free(copy);
	return hit;
}

bool ic_patterns_match(const char *patterns, const char *name)
{
	return ic_patterns_match_flags(patterns, name, 0);
}
