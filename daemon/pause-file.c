/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * pause-file.c - see pause-file.h.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/idle-sources.h"
#include "daemon/pause-file.h"
#include "log.h"
#include "xmalloc.h"

#define PAUSE_FILE_MAX 32 /* bytes of the file: one number and a newline */

void pause_file_init(struct pause_file *pf, const char *state_dirs)
{
	size_t len;

	memset(pf, 0, sizeof(*pf));
	if (!state_dirs || !*state_dirs)
		return;
	len = strcspn(state_dirs, ":");
	if (len == 0)
		return;
	pf->path = xasprintf("%.*s/" PAUSE_FILE_NAME, (int)len, state_dirs);
}

void pause_file_clear(struct pause_file *pf)
{
	free(pf->path);
	pf->path = NULL;
}

static void remove_file(struct pause_file *pf)
{
	if (unlink(pf->path) < 0 && errno != ENOENT)
		log_warn("pause: cannot remove %s: %s", pf->path, strerror(errno));
	pf->saved = false;
}

/* The number in the file; -1 if it cannot be read or is not one. */
static int read_deadline(const char *path, time_t *until)
{
	char buf[PAUSE_FILE_MAX], *end;
	long long v;

	if (idle_read_small(path, O_NOFOLLOW, buf, sizeof(buf)) <= 0)
		return -1;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno || end == buf || (*end && strcmp(end, "\n") != 0) || v < 0)
		return -1;
	*until = (time_t)v;
	return 0;
}

int pause_file_load(struct pause_file *pf, time_t now, time_t *until)
{
	if (!pf->path || access(pf->path, F_OK) < 0)
		return -1;
	if (read_deadline(pf->path, until) < 0) {
		log_warn("pause: %s is not a pause deadline; ignoring it", pf->path);
		remove_file(pf);
		return -1;
	}
	if (*until && *until <= now) {
		remove_file(pf); /* it ran out while the daemon was down */
		return -1;
	}
	pf->saved = true;
	pf->saved_until = *until;
	return 0;
}

/* Write the deadline to a new file and rename it over the old one, so a
 * crash leaves the old deadline or the new one, never half of one. */
static int write_deadline(const char *path, time_t until)
{
	char *tmp = xasprintf("%s.new", path);
	char buf[PAUSE_FILE_MAX];
	int fd, len, rc = -1;

	len = snprintf(buf, sizeof(buf), "%" PRId64 "\n", (int64_t)until);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd >= 0) {
		bool written = write(fd, buf, (size_t)len) == len;

		if (close(fd) == 0 && written)
			rc = rename(tmp, path);
	}
	if (rc < 0) {
		int e = errno;

		unlink(tmp);
		errno = e;
	}
	free(tmp);
	return rc;
}

void pause_file_sync(struct pause_file *pf, const struct availability *a)
{
	bool paused = avail_has(a, AVAIL_PAUSED);

	if (!pf->path) {
		if (paused && !pf->warned) {
			log_notice("pause: no $STATE_DIRECTORY, so a pause lasts until idleclawd "
				   "restarts");
			pf->warned = true;
		}
		return;
	}
	if (!paused) {
		if (pf->saved)
			remove_file(pf);
		return;
	}
	if (pf->saved && pf->saved_until == a->paused_until)
		return;
	if (write_deadline(pf->path, a->paused_until) < 0) {
		log_warn("pause: cannot write %s (%s): the pause lasts until idleclawd restarts",
			pf->path, strerror(errno));
		/* not again for this deadline: daemon_changed() comes often */
	}
	pf->saved = true;
	pf->saved_until = a->paused_until;
}
