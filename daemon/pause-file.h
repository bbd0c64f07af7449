/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pause-file.h - a pause that survives a restart.
 *
 * The deadline of the current pause, and nothing else, is kept in
 * $STATE_DIRECTORY/pause (systemd sets STATE_DIRECTORY from the unit's
 * StateDirectory=): one line, the Unix time the pause ends, or 0 for
 * "until resumed".  The file exists only while the node is paused.
 * Without STATE_DIRECTORY a pause lasts until the daemon restarts, as it
 * always did, and the log says so once.
 * Thread: main thread only.  The writes are one small local file.
 */
#ifndef IC_DAEMON_PAUSE_FILE_H
#define IC_DAEMON_PAUSE_FILE_H

#include <stdbool.h>
#include <time.h>

#include "daemon/availability.h"

#define PAUSE_FILE_NAME "pause"

struct pause_file {
	char *path;	    /* NULL: no state directory */
	bool saved;	    /* the file exists, holding saved_until */
	time_t saved_until; /* 0: until resumed */
	bool warned;	    /* "lasts until restart" logged */
};

/* state_dirs: $STATE_DIRECTORY (colon-separated, the first is used) or NULL. */
void pause_file_init(struct pause_file *pf, const char *state_dirs);
void pause_file_clear(struct pause_file *pf);
/* A pause saved before the restart: 0 with *until (0: until resumed); -1
 * when there is none (an expired or unreadable file is removed). */
int pause_file_load(struct pause_file *pf, time_t now, time_t *until);
/* Make the file say what a says: write it while paused, remove it when
 * not.  Does nothing unless that changed.  Failures are logged. */
void pause_file_sync(struct pause_file *pf, const struct availability *a);

#endif
