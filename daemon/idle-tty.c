/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * idle-tty.c - the owner typing on a terminal: the access time of
 * DEV/pts/N and DEV/ttyN moves when a program reads what was typed (the
 * kernel updates it coarsely, every few seconds).  SSH and console users
 * update it; a desktop session is logind's business (idle-logind.c).
 * Serial lines (ttyS*) and the pty master (ptmx) are not terminals someone
 * sits at.
 */

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/idle-sources.h"

/* Keep the newest atime of DIR/name in *best, naming it prefix+name. */
static void consider(const char *dir, const char *name, const char *prefix, time_t *best,
	char *where, size_t len)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	/* regular files: a test's fake tree */
	if (stat(path, &st) < 0 || !(S_ISCHR(st.st_mode) || S_ISREG(st.st_mode)))
		return;
	if (st.st_atime > *best) {
		*best = st.st_atime;
		snprintf(where, len, "%s%s", prefix, name);
	}
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

long idle_tty_input_age(const char *dev_root, time_t now, char *where, size_t len)
{
	char dir[512];
	time_t best = 0;
	struct dirent *e;
	DIR *d;

	where[0] = '\0';
	snprintf(dir, sizeof(dir), "%s/pts", dev_root);
	if ((d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL)
			if (all_digits(e->d_name))
				consider(dir, e->d_name, "pts/", &best, where, len);
		closedir(d);
	}
	if ((d = opendir(dev_root)) != NULL) {
		while ((e = readdir(d)) != NULL)
			if (strncmp(e->d_name, "tty", 3) == 0 && all_digits(e->d_name + 3))
				consider(dev_root, e->d_name, "", &best, where, len);
		closedir(d);
	}
	if (best == 0)
		return -1;
	return now > best ? (long)(now - best) : 0;
}
