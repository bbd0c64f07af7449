/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * control_listen.c - create or adopt the control socket's listening
 * descriptor (see control_listen.h).
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/util.h>

#include "control_listen.h"
#include "log.h"
#include "xmalloc.h"

/*
 * path exists: remove it if it is a socket nobody listens on (left by a
 * crashed daemon); refuse if another daemon listens or it is not a socket.
 */
static int remove_stale(const char *path, const struct sockaddr_un *sun, char *err, size_t errlen)
{
	struct stat st;
	int fd, r, e;

	if (lstat(path, &st) < 0)
		return errno == ENOENT
			? 0
			: (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1);
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen,
			"%s exists and is not a socket; remove it or choose "
			"another control socket path",
			path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	e = errno;
	close(fd);
	if (r == 0) {
		snprintf(err, errlen, "another idleclawd is listening on %s", path);
		return -1;
	}
	if (e != ECONNREFUSED) {
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove stale socket %s: %s", path, strerror(errno));
		return -1;
	}
	log_info("control: removed stale socket %s", path);
	return 0;
}

static void set_group(const char *path, const char *group)
{
	struct group gr, *res = NULL;
	char buf[4096];

	if (group == NULL || group[0] == '\0')
		return;
	if (getgrnam_r(group, &gr, buf, sizeof(buf), &res) != 0 || res == NULL) {
		log_debug("control: no group %s; socket keeps the daemon's group", group);
		return;
	}
	if (chown(path, (uid_t)-1, gr.gr_gid) < 0)
		log_warn("control: cannot give %s to group %s: %s", path, group, strerror(errno));
}

/* Create, bind and listen on path with mode 0660. */
static int listen_path(
	struct control_listen *l, const char *path, const char *group, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;
	int fd, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket path must have 1 to %zu bytes",
			sizeof(sun.sun_path) - 1);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if (remove_stale(path, &sun, err, errlen) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* The socket must never exist with wider permissions, not even briefly;
	 * umask is process-wide, but this runs at start-up before other threads. */
	old = umask(0117);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0 || chmod(path, 0660) < 0 || listen(fd, 16) < 0 || stat(path, &st) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
		if (r == 0)
			unlink(path);
		close(fd);
		return -1;
	}
	set_group(path, group);
	l->fd = fd;
	l->path = xstrdup(path);
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	return 0;
}

/* A socket passed by systemd: must be a listening stream socket. */
static int use_activated(struct control_listen *l, int fd, char *err, size_t errlen)
{
	int type = 0, listening = 0;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM) {
		snprintf(err, errlen, "socket-activated fd %d is not a stream socket", fd);
		return -1;
	}
	len = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening) {
		snprintf(err, errlen, "socket-activated fd %d is not listening", fd);
		return -1;
	}
	if (evutil_make_socket_nonblocking(fd) < 0 || evutil_make_socket_closeonexec(fd) < 0) {
		snprintf(err, errlen, "socket-activated fd %d: %s", fd, strerror(errno));
		return -1;
	}
	l->fd = fd;
	return 0;
}

int control_listen_open(struct control_listen *l, const char *path, int listen_fd,
	const char *group, char *err, size_t errlen)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	if (listen_fd >= 0)
		return use_activated(l, listen_fd, err, errlen);
	return listen_path(l, path, group, err, errlen);
}

void control_listen_remove(struct control_listen *l)
{
	struct stat st;

	if (l->path != NULL && lstat(l->path, &st) == 0 && st.st_dev == l->dev &&
		st.st_ino == l->ino)
		unlink(l->path);
	free(l->path);
	l->path = NULL;
}
