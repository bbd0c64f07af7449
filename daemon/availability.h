/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * availability.h - the available/unavailable switch and the reasons behind it.
 *
 * The node is available when no reason holds.  Reasons are independent
 * bits (pause, Ollama down, no models, draining, and later the idle
 * policy); the first one that holds, in the order of enum avail_reason,
 * names the state.  Pure bookkeeping: main thread, no I/O.
 */
#ifndef IC_DAEMON_AVAILABILITY_H
#define IC_DAEMON_AVAILABILITY_H

#include <stdbool.h>
#include <time.h>

enum avail_reason {
	AVAIL_DRAINING,	   /* shutting down */
	AVAIL_PAUSED,	   /* pause from the control socket */
	AVAIL_OLLAMA_DOWN, /* Ollama unreachable */
	AVAIL_NO_MODELS,   /* nothing to share */
	/* [idle] schedule does not allow lending now */
	AVAIL_OUTSIDE_SCHEDULE,
	AVAIL_NOT_IDLE, /* the machine is busy (idle policy, later) */
	AVAIL_REASON_COUNT
};

struct availability {
	unsigned reasons;    /* bit (1 << enum avail_reason) */
	time_t paused_until; /* 0: until resume (when paused) */
};

/* Set or clear one reason; true if the available state changed. */
bool avail_set(struct availability *a, enum avail_reason r, bool on);
bool avail_is(const struct availability *a);
bool avail_has(const struct availability *a, enum avail_reason r);
/* Pause for seconds (0: until resume); true if the state changed. */
bool avail_pause(struct availability *a, time_t now, long seconds);
bool avail_resume(struct availability *a);
/* Ends a timed pause that ran out; true if the state changed. */
bool avail_tick(struct availability *a, time_t now);
/* "available", or the first reason's name ("paused", "ollama down", ...). */
const char *avail_reason_text(const struct availability *a);

#endif
