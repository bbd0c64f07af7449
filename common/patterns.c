/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* patterns.c - see patterns.h. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "patterns.h"
#include "xmalloc.h"

bool ic_patterns_match(const char *patterns, const char *name)
{
	char *copy, *tok, *save = NULL;
	bool hit = false;

	if (!patterns || !*patterns)
		return false;
	copy = xstrdup(patterns);
	for (tok = strtok_r(copy, ", \t", &save); tok && !hit; tok = strtok_r(NULL, ", \t", &save))
		hit = fnmatch(tok, name, 0) == 0;
	free(copy);
	return hit;
}
