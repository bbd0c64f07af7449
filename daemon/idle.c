/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * idle.c - see idle.h.
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "daemon/idle.h"

static const char *const mode_names[] = {
	[IDLE_MODE_AUTO] = "auto",
	[IDLE_MODE_ALWAYS] = "always",
	[IDLE_MODE_NEVER] = "never",
};
static const char *const state_names[] = {
	[IDLE_STATE_UNKNOWN] = "unknown",
	[IDLE_STATE_IDLE] = "idle",
	[IDLE_STATE_BUSY] = "busy",
};
static const char *const on_busy_names[] = {
	[IDLE_ON_BUSY_FINISH] = "finish",
	[IDLE_ON_BUSY_CANCEL] = "cancel",
};

const char *idle_mode_name(enum idle_mode m)
{
	return mode_names[m];
}

const char *idle_state_name(enum idle_state s)
{
	return state_names[s];
}

const char *idle_on_busy_name(enum idle_on_busy b)
{
	return on_busy_names[b];
}

int idle_mode_parse(const char *s, enum idle_mode *out)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcasecmp(s, mode_names[i]) == 0) {
			*out = (enum idle_mode)i;
			return 0;
		}
	return -1;
}

int idle_on_busy_parse(const char *s, enum idle_on_busy *out)
{
	for (size_t i = 0; i < sizeof(on_busy_names) / sizeof(on_busy_names[0]); i++)
		if (strcasecmp(s, on_busy_names[i]) == 0) {
			*out = (enum idle_on_busy)i;
			return 0;
		}
	return -1;
}

void idle_format_duration(long seconds, char *buf, size_t len)
{
	long h, m, s;

	if (seconds < 0)
		seconds = 0;
	h = seconds / 3600;
	m = seconds / 60 % 60;
	s = seconds % 60;
	if (h && m)
		snprintf(buf, len, "%ldh%ldm", h, m);
	else if (h)
		snprintf(buf, len, "%ldh", h);
	else if (m && s)
		snprintf(buf, len, "%ldm%lds", m, s);
	else if (m)
		snprintf(buf, len, "%ldm", m);
	else
		snprintf(buf, len, "%lds", s);
}

void idle_sample_init(struct idle_sample *s, time_t now)
{
	memset(s, 0, sizeof(*s));
	s->now = now;
	s->cpu_others = -1;
	s->gpu_others = -1;
	s->input_age = -1;
	s->on_battery = -1;
}

void idle_policy_init(struct idle_policy *pol, const struct idle_params *p)
{
	memset(pol, 0, sizeof(*pol));
	pol->p = *p;
	pol->state = IDLE_STATE_UNKNOWN;
	snprintf(pol->reason, sizeof(pol->reason), "no sample yet");
}

void idle_policy_set_params(struct idle_policy *pol, const struct idle_params *p)
{
	pol->p = *p;
}

/* Hysteresis of one load signal: enter at >= busy, leave below idle. */
static bool high_after(bool high, double value, int busy, int idle)
{
	if (value < 0)
		return false;
	if (value >= busy)
		return true;
	if (value < idle)
		return false;
	return high;
}

/* The reason load makes the machine busy, or false when it does not. */
static bool load_reason(
	const struct idle_policy *pol, const struct idle_sample *s, char *buf, size_t len)
{
	if (s->on_battery == 1 && !pol->p.run_on_battery) {
		snprintf(buf, len, "on battery");
		return true;
	}
	if (s->exclusive[0]) {
		if (s->exclusive_pid > 0)
			snprintf(buf, len, "exclusive process %s running (pid %ld)", s->exclusive,
				(long)s->exclusive_pid);
		else
			snprintf(buf, len, "exclusive process %s running", s->exclusive);
		return true;
	}
	if (pol->gpu_high) {
		if (s->gpu_pid > 0)
			snprintf(buf, len, "GPU%d %.0f%% used by %s (pid %ld)", s->gpu_index,
				s->gpu_others, s->gpu_comm[0] ? s->gpu_comm : "?",
				(long)s->gpu_pid);
		else
			snprintf(buf, len, "GPU%d %.0f%% used by others", s->gpu_index,
				s->gpu_others);
		return true;
	}
	if (pol->cpu_high) {
		snprintf(buf, len, "CPU %.0f%% used by others", s->cpu_others);
		return true;
	}
	return false;
}

static bool presence_reason(
	const struct idle_policy *pol, const struct idle_sample *s, char *buf, size_t len)
{
	if (s->input_age < 0 || s->input_age >= pol->p.idle_time)
		return false;
	if (strncmp(s->input_where, "pts/", 4) == 0 || strncmp(s->input_where, "tty", 3) == 0)
		snprintf(buf, len, "user typed on %s %ld s ago", s->input_where, s->input_age);
	else
		snprintf(buf, len, "user input %ld s ago (%s)", s->input_age,
			s->input_where[0] ? s->input_where : "logind");
	return true;
}

static bool set_state(struct idle_policy *pol, enum idle_state st, time_t now)
{
	if (pol->state == st)
		return false;
	pol->state = st;
	pol->since = now;
	return true;
}

bool idle_policy_update(struct idle_policy *pol, const struct idle_sample *s)
{
	char d1[16], d2[16];
	long quiet;

	pol->cpu_high = high_after(pol->cpu_high, s->cpu_others, pol->p.cpu_busy, pol->p.cpu_idle);
	pol->gpu_high = high_after(pol->gpu_high, s->gpu_others, pol->p.gpu_busy, pol->p.gpu_idle);
	if (pol->p.mode == IDLE_MODE_ALWAYS) {
		snprintf(pol->reason, sizeof(pol->reason), "mode = always");
		return set_state(pol, IDLE_STATE_IDLE, s->now);
	}
	if (pol->p.mode == IDLE_MODE_NEVER) {
		snprintf(pol->reason, sizeof(pol->reason), "mode = never");
		return set_state(pol, IDLE_STATE_BUSY, s->now);
	}
	if (load_reason(pol, s, pol->reason, sizeof(pol->reason))) {
		pol->quiet_from = 0;
		return set_state(pol, IDLE_STATE_BUSY, s->now);
	}
	/* quiet load; presence does not restart the run: input_age counts
	 * from the input itself */
	if (pol->quiet_from == 0)
		pol->quiet_from = s->now;
	if (presence_reason(pol, s, pol->reason, sizeof(pol->reason)))
		return set_state(pol, IDLE_STATE_BUSY, s->now);
	quiet = (long)(s->now - pol->quiet_from);
	idle_format_duration(quiet, d1, sizeof(d1));
	if (quiet >= pol->p.idle_time || pol->state == IDLE_STATE_IDLE) {
		snprintf(pol->reason, sizeof(pol->reason), "idle for %s", d1);
		return set_state(pol, IDLE_STATE_IDLE, s->now);
	}
	idle_format_duration(pol->p.idle_time, d2, sizeof(d2));
	snprintf(pol->reason, sizeof(pol->reason), "idle for %s of %s", d1, d2);
	return set_state(pol, IDLE_STATE_BUSY, s->now);
}

bool idle_policy_lend(const struct idle_policy *pol)
{
	return pol->state == IDLE_STATE_IDLE;
}

time_t idle_policy_cancel_at(const struct idle_policy *pol)
{
	if (pol->state != IDLE_STATE_BUSY)
		return 0;
	if (pol->p.on_busy == IDLE_ON_BUSY_CANCEL)
		return pol->since;
	return pol->since + pol->p.busy_grace;
}
