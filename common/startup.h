/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * startup.h - loading the configuration at start and on SIGHUP, the same
 * way in both servers (idleclawd, idleclaw-routerd).
 *
 * Start: the file, drop-ins, environment and --set options the command
 * line (cmdline.h) names, all valid or the program does not start.
 * Reload: parse into a fresh config, let the program check it and build
 * what it needs, swap it in, then log the keys whose change waits for the
 * next start (keys marked "restart" in the table).  A reload that fails
 * anywhere before the swap changes nothing.
 */
#ifndef IC_STARTUP_H
#define IC_STARTUP_H

#include <stdio.h>

#include "cmdline.h"
#include "config.h"

/*
 * The configuration cl names: a NEW config (ic_config_free()), or NULL
 * after writing "PROGRAM: configuration not valid:" and every error to err.
 */
void *ic_startup_config_new(const char *program, const struct ic_config_schema *schema,
	const struct ic_cmdline *cl, FILE *err);

/* What a program does at each step of a reload; program is its state. */
struct ic_reload_ops {
	const struct ic_config_schema *schema;
	/* sd_notify() one state: "RELOADING=1", then "READY=1". */
	void (*notify)(const char *state);
	/* Optional.  Check cfg beyond the table and build what it needs,
	 * without changing what runs.  0 ok; -1 with *errors a NEW text (and
	 * nothing of its own left over). */
	int (*prepare)(void *program, void *cfg, char **errors);
	/* Take cfg in (cannot fail); return the config it replaces. */
	void *(*swap)(void *program, void *cfg);
	/* Optional.  Act on what changed; old is freed after it returns. */
	void (*changed)(void *program, const void *old, const void *cfg);
};

/*
 * Reload from path and overrides (as at start).  0 ok; -1 with *errors a
 * NEW text of what was wrong (also logged), the running config kept.
 */
int ic_reload(const struct ic_reload_ops *ops, void *program, const char *path,
	const char *const *overrides, char **errors);

#endif
