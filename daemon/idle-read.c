/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * idle-read.c - what the idle sources share: paths under the configured
 * proc/sys roots and reads of the small files there (procfs and sysfs
 * files are read in one read(2); they are generated whole).  See
 * idle-sources.h.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/idle-sources.h"

int idle_pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

ssize_t idle_read_small(const char *path, int oflags, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | oflags);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

int idle_read_comm(const char *proc_root, pid_t pid, char *buf, size_t len)
{
	char path[512], tmp[64];

	snprintf(path, sizeof(path), "%s/%ld/comm", proc_root, (long)pid);
	if (idle_read_small(path, 0, tmp, sizeof(tmp)) < 0)
		return -1;
	tmp[strcspn(tmp, "\n")] = '\0';
	snprintf(buf, len, "%s", tmp);
	return 0;
}
