/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * client.c - blocking control-socket client with timeouts (see client.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "limits.h"
#include "xmalloc.h"

struct ctl_client {
	int fd;
	char *buf; /* received bytes not yet a whole line */
	size_t len;
	size_t cap;
	unsigned next_id;
	char id[24];
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline (< 0: no deadline -> -1). */
static int left_ms(long long deadline)
{
	long long left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	return left < 0 ? 0 : (int)left;
}

struct ctl_client *ctl_client_connect(
	const char *path, int timeout_ms, int *errnum, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	long long deadline = now_ms() + timeout_ms;
	struct ctl_client *c;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(sun.sun_path)) {
		*errnum = ENAMETOOLONG;
		snprintf(err, errlen, "socket path must have 1 to %zu bytes",
			sizeof(sun.sun_path) - 1);
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*errnum = errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	/* A UNIX connect does not wait: EAGAIN means the backlog is full. */
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN || left_ms(deadline) == 0) {
			*errnum = errno == EAGAIN ? ETIMEDOUT : errno;
			snprintf(err, errlen, "%s", strerror(*errnum));
			close(fd);
			return NULL;
		}
		poll(NULL, 0, 10);
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->cap = 64 * 1024;
	c->buf = xmalloc(c->cap);
	return c;
}

void ctl_client_free(struct ctl_client *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c->buf);
	free(c);
}

const char *ctl_client_next_id(struct ctl_client *c)
{
	snprintf(c->id, sizeof(c->id), "c%u", ++c->next_id);
	return c->id;
}

int ctl_client_send(
	struct ctl_client *c, json_object *req, int timeout_ms, char *err, size_t errlen)
{
	long long deadline = now_ms() + timeout_ms;
	size_t len, off = 0;
	char *line = ctl_line_new(req, &len);

	while (off < len) {
		struct pollfd p = { .fd = c->fd, .events = POLLOUT };
		ssize_t n = send(c->fd, line + off, len - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(err, errlen, "cannot send to idleclawd: %s", strerror(errno));
			break;
		}
		if (poll(&p, 1, left_ms(deadline)) == 0) {
			snprintf(err, errlen, "idleclawd does not take the request");
			break;
		}
	}
	free(line);
	return off == len ? 0 : -1;
}

/* A whole line in the buffer: parse it into msg and remove it. */
static enum ctl_recv take_line(
	struct ctl_client *c, char *nl, struct ctl_message *msg, char *err, size_t errlen)
{
	size_t n = (size_t)(nl - c->buf);
	size_t linelen = n > 0 && c->buf[n - 1] == '\r' ? n - 1 : n;
	int r = ctl_message_parse(c->buf, linelen, msg);

	memmove(c->buf, nl + 1, c->len - n - 1);
	c->len -= n + 1;
	if (r < 0) {
		snprintf(err, errlen,
			"idleclawd sent a message this idleclawctl does not "
			"understand (protocol version %d)",
			CTL_PROTO_VERSION);
		return CTL_RECV_BAD;
	}
	return CTL_RECV_OK;
}

/* Read what is there into the buffer.  CTL_RECV_OK or an error. */
static enum ctl_recv fill(struct ctl_client *c, char *err, size_t errlen)
{
	ssize_t n;

	if (c->len == c->cap) {
		if (c->cap > (size_t)IC_CONTROL_LINE_MAX + 2) {
			snprintf(err, errlen, "idleclawd sent a line longer than %d bytes",
				IC_CONTROL_LINE_MAX);
			return CTL_RECV_BAD;
		}
		c->cap *= 2;
		c->buf = xrealloc(c->buf, c->cap);
	}
	n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	if (n > 0) {
		c->len += (size_t)n;
		return CTL_RECV_OK;
	}
	if (n == 0)
		return CTL_RECV_EOF;
	if (errno == EAGAIN || errno == EINTR)
		return CTL_RECV_OK;
	snprintf(err, errlen, "cannot read from idleclawd: %s", strerror(errno));
	return CTL_RECV_ERROR;
}

enum ctl_recv ctl_client_recv(struct ctl_client *c, struct ctl_message *msg, int timeout_ms,
	const sigset_t *sigmask, volatile sig_atomic_t *interrupted, char *err, size_t errlen)
{
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		struct timespec ts, *tsp = NULL;
		char *nl = memchr(c->buf, '\n', c->len);
		enum ctl_recv r;
		int left;

		if (nl != NULL)
			return take_line(c, nl, msg, err, errlen);
		if (interrupted != NULL && *interrupted)
			return CTL_RECV_INTERRUPTED;
		left = left_ms(deadline);
		if (left == 0) {
			snprintf(err, errlen, "no answer from idleclawd within %.1f s",
				timeout_ms / 1000.0);
			return CTL_RECV_TIMEOUT;
		}
		if (left > 0) {
			ts.tv_sec = left / 1000;
			ts.tv_nsec = (long)(left % 1000) * 1000000L;
			tsp = &ts;
		}
		if (ppoll(&p, 1, tsp, sigmask) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return CTL_RECV_ERROR;
		}
		if (p.revents == 0)
			continue;
		r = fill(c, err, errlen);
		if (r == CTL_RECV_EOF)
			snprintf(err, errlen, "idleclawd closed the connection");
		if (r != CTL_RECV_OK)
			return r;
	}
}
