/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * idle.h - the idle policy: is the owner using this machine?
 *
 * A pure function over samples (no I/O, no clock of its own): the samplers
 * (daemon/idle-*.c) fill one struct idle_sample every interval, and
 * idle_policy_update() turns the sequence into a state with a reason that
 * status and the log show.  The rules:
 *  - mode always: idle; mode never: busy; auto: the rules below.
 *  - busy at the FIRST busy sample (the owner comes first): on battery
 *    (unless run_on_battery), an exclusive process running, user input less
 *    than idle_time ago (presence wins over low load), GPU or CPU use by
 *    others above the enter-busy threshold;
 *  - CPU and GPU use hysteresis: a signal that went above *_busy stays busy
 *    until it falls below *_idle;
 *  - idle again only after idle_time seconds of continuous quiet samples
 *    and no user input for idle_time.
 *  - a signal that is unknown (negative) neither makes the machine busy nor
 *    keeps it so.
 * Thread: main thread only.
 */
#ifndef IC_DAEMON_IDLE_H
#define IC_DAEMON_IDLE_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#define IDLE_REASON_MAX 128 /* bytes of a reason, with the NUL */
#define IDLE_COMM_MAX 16    /* /proc/PID/comm: 15 bytes and the NUL */
#define IDLE_WHERE_MAX 32   /* "pts/3", "tty2", "logind" */

enum idle_mode { IDLE_MODE_AUTO, IDLE_MODE_ALWAYS, IDLE_MODE_NEVER };
enum idle_on_busy { IDLE_ON_BUSY_FINISH, IDLE_ON_BUSY_CANCEL };
enum idle_state { IDLE_STATE_UNKNOWN, IDLE_STATE_IDLE, IDLE_STATE_BUSY };

struct idle_params {
	enum idle_mode mode;
	int cpu_busy, cpu_idle; /* percent of the machine used by others */
	int gpu_busy, gpu_idle; /* percent of the busiest GPU used by others */
	int idle_time;		/* seconds of quiet before lending again */
	bool run_on_battery;
	enum idle_on_busy on_busy;
	int busy_grace; /* seconds in-flight requests may finish (finish) */
};

/* The latest reading of every signal.  Negative numbers mean unknown. */
struct idle_sample {
	time_t now;
	double cpu_others; /* percent of all CPU time used by others */
	double gpu_others; /* percent, the busiest GPU, own use taken out */
	int gpu_index;	   /* which GPU that is */
	pid_t gpu_pid;	   /* its biggest foreign user, 0 unknown */
	char gpu_comm[IDLE_COMM_MAX];
	long input_age;			  /* seconds since the owner's last input */
	char input_where[IDLE_WHERE_MAX]; /* where that input was */
	int on_battery;			  /* 1 yes, 0 no, -1 unknown */
	char exclusive[IDLE_COMM_MAX];	  /* an exclusive process running, "" none */
	pid_t exclusive_pid;
};

/* A sample with every signal unknown at time now. */
void idle_sample_init(struct idle_sample *s, time_t now);

struct idle_policy {
	struct idle_params p;
	enum idle_state state;
	time_t since;		 /* time of the state's first sample */
	time_t quiet_from;	 /* first sample of the current quiet run, 0 none */
	bool cpu_high, gpu_high; /* hysteresis: above *_busy and not yet below *_idle */
	char reason[IDLE_REASON_MAX];
};

/* A policy in state unknown ("no sample yet"). */
void idle_policy_init(struct idle_policy *pol, const struct idle_params *p);
/* New parameters (reload); the state carries on to the next sample. */
void idle_policy_set_params(struct idle_policy *pol, const struct idle_params *p);
/* Feed one sample; true if the state changed (log it, tell the router). */
bool idle_policy_update(struct idle_policy *pol, const struct idle_sample *s);
/* Lend now?  Only in state idle. */
bool idle_policy_lend(const struct idle_policy *pol);
/* When in-flight requests must be cancelled (state not idle): since for
 * on_busy cancel, since + busy_grace for finish; 0 while lending. */
time_t idle_policy_cancel_at(const struct idle_policy *pol);

const char *idle_mode_name(enum idle_mode m);
const char *idle_state_name(enum idle_state s);
const char *idle_on_busy_name(enum idle_on_busy b);
/* Parse a name; 0 ok, -1 not one of them. */
int idle_mode_parse(const char *s, enum idle_mode *out);
int idle_on_busy_parse(const char *s, enum idle_on_busy *out);
/* "2m40s", "3m", "45s", "1h2m" into buf. */
void idle_format_duration(long seconds, char *buf, size_t len);

#endif
