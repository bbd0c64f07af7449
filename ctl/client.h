/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * client.h - idleclawctl's end of the control socket: a blocking client
 * with timeouts (poll), speaking common/ctlproto.h.
 *
 * Nothing here prints: functions return a result code and fill err.
 */
#ifndef IC_CTL_CLIENT_H
#define IC_CTL_CLIENT_H

#include <signal.h>
#include <stddef.h>
#include <json-c/json.h>

#include "ctlproto.h"

struct ctl_client;

/* Results of ctl_client_recv(). */
enum ctl_recv {
	CTL_RECV_OK,	      /* *msg filled: ctl_message_clear() it */
	CTL_RECV_TIMEOUT,     /* nothing for timeout_ms */
	CTL_RECV_EOF,	      /* the daemon closed the connection */
	CTL_RECV_ERROR,	      /* socket error (err says which) */
	CTL_RECV_BAD,	      /* a line that is not a message of our version */
	CTL_RECV_INTERRUPTED, /* *interrupted became non-zero (a signal) */
};

/*
 * Connect to the daemon's socket within timeout_ms.  NULL on failure with
 * *errnum the errno (ENOENT, ECONNREFUSED, EACCES, ETIMEDOUT...) and err
 * a sentence.  The result is owned: ctl_client_free().
 */
struct ctl_client *ctl_client_connect(
	const char *path, int timeout_ms, int *errnum, char *err, size_t errlen);
void ctl_client_free(struct ctl_client *c);

/* A request id unique on this connection ("c1", "c2", ...); static buffer
 * inside c, valid until the next call. */
const char *ctl_client_next_id(struct ctl_client *c);

/* Send one request object as a line.  0, or -1 with err (timeout, EPIPE). */
int ctl_client_send(
	struct ctl_client *c, json_object *req, int timeout_ms, char *err, size_t errlen);

/*
 * Wait up to timeout_ms (< 0: forever) for the next message.  While
 * waiting, sigmask (may be NULL) is the signal mask (ppoll), so a signal
 * blocked elsewhere is delivered only here; when its handler has set
 * *interrupted (may be NULL) this returns CTL_RECV_INTERRUPTED.
 */
enum ctl_recv ctl_client_recv(struct ctl_client *c, struct ctl_message *msg, int timeout_ms,
	const sigset_t *sigmask, volatile sig_atomic_t *interrupted, char *err, size_t errlen);

#endif
