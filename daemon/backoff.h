/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * backoff.h - reconnect delays: exponential backoff with full jitter, and
 * how the way a session ended counts towards it.
 */
#ifndef IC_DAEMON_BACKOFF_H
#define IC_DAEMON_BACKOFF_H

#include <stdbool.h>

/* Close codes (RFC 6455, 7.4.1) that say the router is going away or
 * restarting rather than that something is wrong with this node. */
#define BACKOFF_CLOSE_GOING_AWAY 1001
#define BACKOFF_CLOSE_PROTOCOL 1002
#define BACKOFF_CLOSE_POLICY 1008
#define BACKOFF_CLOSE_RESTART 1012 /* service restart */
#define BACKOFF_CLOSE_TRY_LATER 1013
#define BACKOFF_CLOSE_BAD_GATEWAY 1014

/* How a closed session counts for the next delay. */
enum backoff_kind {
	BACKOFF_FAILURE, /* the ceiling doubles with each one */
	BACKOFF_RESTART, /* the router ended a registered session because it is
				 * going away or restarting: retry at the shortest
				 * delay, the count starts over */
	BACKOFF_POLICY,	 /* the router refused us (1008): the longest delay */
};

/*
 * The delay before attempt number `attempt` (0 = first retry): uniform in
 * [min_s, cap] with cap = min(max_s, min_s * 2^attempt), drawn with r in
 * [0, 1).  Pure, for unit tests.
 */
double backoff_delay_s(int attempt, int min_s, int max_s, double r);

/*
 * How a session that ended with the router's close code `code` (0: no
 * close frame) counts; `registered`: it was registered when it ended.
 * 1001 and 1012-1014 count as a restart; so does 1002, because
 * libwebsockets 4.1 (Debian) reports a received 1012-1015 as 1002 and a
 * router has no reason to send 1002 to a node it registered.  The same
 * codes before registration are failures (a router that refuses us while
 * starting or full must not be hammered).
 */
enum backoff_kind backoff_classify(int code, bool registered);

#endif
