/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * control_listen.h - the control socket's listening descriptor: the one
 * systemd passed (socket activation), or a path bound here with mode 0660
 * and given to the control group, after removing a stale socket left by a
 * crashed daemon.  Serving the clients is control.c.
 *
 * Thread: main thread, at start-up (bind changes the process's umask for
 * a moment, before other threads exist).
 */
#ifndef IC_DAEMON_CONTROL_LISTEN_H
#define IC_DAEMON_CONTROL_LISTEN_H

#include <stddef.h>
#include <sys/types.h>

struct control_listen {
	int fd;	    /* listening, non-blocking, close-on-exec */
	char *path; /* the socket file we created (owned), or NULL
				 * for systemd's socket, which is not ours */
	dev_t dev;  /* which file path was when we created it */
	ino_t ino;
};

/*
 * listen_fd >= 0 (from sd_listen_fds()): check it is a listening stream
 * socket and use it.  Otherwise create path: refused if another daemon
 * listens there or it is not a socket.  0, or -1 with err filled (then
 * nothing is left open or created).
 */
int control_listen_open(struct control_listen *l, const char *path, int listen_fd,
	const char *group, char *err, size_t errlen);

/*
 * Remove the socket file if it is still the one we created (not a newer
 * daemon's) and free the path.  Leaves fd alone: whoever took it over
 * (the evconnlistener) closes it.
 */
void control_listen_remove(struct control_listen *l);

#endif
