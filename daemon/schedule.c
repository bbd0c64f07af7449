/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * schedule.c - see schedule.h.
 */

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "daemon/schedule.h"

#define TEXT_MAX 512	 /* a config line is shorter (IC_CONFIG_LINE_MAX) */
#define DST_WALK_MIN 180 /* minutes a start in a DST gap may move */

static const char *const day_names[7] = { "sunday", "monday", "tuesday", "wednesday", "thursday",
	"friday", "saturday" };

/* tm_wday of a day name ("mon", "Monday"), or -1. */
static int day_of(const char *s, size_t len)
{
	for (int i = 0; i < 7; i++)
		if ((len == 3 || len == strlen(day_names[i])) &&
			strncasecmp(s, day_names[i], len) == 0)
			return i;
	return -1;
}

/* "Mon" or "Mon..Fri" (wrapping) into a bit set of days; -1 if not days. */
static int parse_days(const char *tok, unsigned *days)
{
	const char *dots = strstr(tok, "..");
	int a, b;

	if (!dots) {
		if ((a = day_of(tok, strlen(tok))) < 0)
			return -1;
		*days |= 1u << a;
		return 0;
	}
	a = day_of(tok, (size_t)(dots - tok));
	b = day_of(dots + 2, strlen(dots + 2));
	if (a < 0 || b < 0)
		return -1;
	for (int i = a;; i = (i + 1) % 7) {
		*days |= 1u << i;
		if (i == b)
			break;
	}
	return 0;
}

/* "H:MM" or "HH:MM", 00:00..24:00, into minutes; -1 if not a time. */
static int parse_clock(const char *s, size_t len)
{
	unsigned h, m;
	char rest;
	char buf[8];

	if (len < 4 || len > 5 || !isdigit((unsigned char)s[0]))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (buf[len - 3] != ':' || sscanf(buf, "%u:%u%c", &h, &m, &rest) != 2)
		return -1;
	if (m > 59 || h > 24 || (h == 24 && m != 0))
		return -1;
	return (int)(h * 60 + m);
}

/* "18:00-08:00" into a window (crossing midnight when end <= start). */
static int parse_range(const char *tok, struct schedule_window *w, char *err, size_t errlen)
{
	const char *dash = strchr(tok, '-');
	int a, b;

	if (!dash) {
		snprintf(
			err, errlen, "\"%s\" is neither a day nor a time range (HH:MM-HH:MM)", tok);
		return -1;
	}
	a = parse_clock(tok, (size_t)(dash - tok));
	b = parse_clock(dash + 1, strlen(dash + 1));
	if (a < 0 || b < 0) {
		snprintf(err, errlen, "\"%s\": times are HH:MM from 00:00 to 24:00", tok);
		return -1;
	}
	if (a == SCHEDULE_DAY_MIN) {
		snprintf(err, errlen, "\"%s\": a window cannot start at 24:00", tok);
		return -1;
	}
	if (a == b && a != 0) { /* 00:00-00:00 is the whole day */
		snprintf(err, errlen, "\"%s\": a window must not end where it starts", tok);
		return -1;
	}
	if (b <= a)
		b += SCHEDULE_DAY_MIN;
	w->start = (short)a;
	w->end = (short)b;
	return 0;
}

static int add_window(struct schedule *s, unsigned days, const struct schedule_window *w, char *err,
	size_t errlen)
{
	for (int d = 0; d < 7; d++) {
		if (!(days & (1u << d)))
			continue;
		if (s->n[d] >= SCHEDULE_WINDOWS_MAX) {
			snprintf(err, errlen, "more than %d windows start on %.3s",
				SCHEDULE_WINDOWS_MAX, day_names[d]);
			return -1;
		}
		s->w[d][s->n[d]++] = *w;
	}
	return 0;
}

/* The group of days being read: days with no time range yet are whole. */
struct group {
	unsigned days;
	bool timed;
};

static int close_group(struct schedule *s, const struct group *g, char *err, size_t errlen)
{
	const struct schedule_window whole = { 0, SCHEDULE_DAY_MIN };

	if (!g->days || g->timed)
		return 0;
	return add_window(s, g->days, &whole, err, errlen);
}

static int parse_token(
	struct schedule *s, struct group *g, const char *tok, char *err, size_t errlen)
{
	struct schedule_window w;
	unsigned days = 0;

	if (isalpha((unsigned char)tok[0])) {
		if (parse_days(tok, &days) < 0) {
			snprintf(err, errlen, "\"%s\" is not a day (Mon..Sun) or range (Mon..Fri)",
				tok);
			return -1;
		}
		if (g->timed) { /* a new group begins */
			g->days = 0;
			g->timed = false;
		}
		g->days |= days;
		return 0;
	}
	if (parse_range(tok, &w, err, errlen) < 0)
		return -1;
	if (!g->days)
		g->days = 0x7f; /* time ranges before any day: every day */
	g->timed = true;
	return add_window(s, g->days, &w, err, errlen);
}

int schedule_parse(const char *text, struct schedule *out, char *err, size_t errlen)
{
	char buf[TEXT_MAX], *save = NULL, *tok;
	struct group g = { 0, false };

	memset(out, 0, sizeof(*out));
	if (!text || !text[strspn(text, " \t,")])
		return 0;
	if (strlen(text) >= sizeof(buf)) {
		snprintf(err, errlen, "longer than %zu bytes", sizeof(buf) - 1);
		return -1;
	}
	memcpy(buf, text, strlen(text) + 1);
	for (tok = strtok_r(buf, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save))
		if (parse_token(out, &g, tok, err, errlen) < 0)
			goto fail;
	if (close_group(out, &g, err, errlen) < 0)
		goto fail;
	out->set = true;
	return 0;
fail:
	memset(out, 0, sizeof(*out));
	return -1;
}

bool schedule_open_at(const struct schedule *s, int wday, int minute)
{
	int prev = (wday + 6) % 7;

	if (!s->set)
		return true;
	for (int k = 0; k < s->n[wday]; k++)
		if (minute >= s->w[wday][k].start && minute < s->w[wday][k].end)
			return true;
	/* yesterday's windows that cross midnight */
	for (int k = 0; k < s->n[prev]; k++)
		if (minute + SCHEDULE_DAY_MIN < s->w[prev][k].end)
			return true;
	return false;
}

bool schedule_open(const struct schedule *s, time_t t)
{
	struct tm tm;

	if (!s->set)
		return true;
	if (!localtime_r(&t, &tm))
		return false;
	return schedule_open_at(s, tm.tm_wday, tm.tm_hour * 60 + tm.tm_min);
}

/* Whether local time t is at or past minute `minute` of the day `day`
 * (a tm normalized by mktime). */
static bool at_or_past(time_t t, const struct tm *day, int minute)
{
	struct tm tm;

	if (!localtime_r(&t, &tm))
		return true;
	if (tm.tm_year != day->tm_year)
		return tm.tm_year > day->tm_year;
	if (tm.tm_yday != day->tm_yday)
		return tm.tm_yday > day->tm_yday;
	return tm.tm_hour * 60 + tm.tm_min >= minute;
}

/* The first moment the wall clock of `day` shows `minute`, or later when
 * that time does not exist (the hour skipped when clocks go forward). */
static time_t start_of(const struct tm *day, int minute)
{
	struct tm c = *day;
	time_t t;
	int i;

	c.tm_hour = minute / 60;
	c.tm_min = minute % 60;
	c.tm_sec = 0;
	c.tm_isdst = -1;
	t = mktime(&c);
	if (t == (time_t)-1)
		return t;
	if (c.tm_hour * 60 + c.tm_min == minute && c.tm_yday == day->tm_yday)
		return t; /* the time exists: done */
	/* in a gap, mktime moved it one way or the other: find the first
	 * minute past it */
	for (i = 0; i < DST_WALK_MIN && at_or_past(t - 60, day, minute); i++)
		t -= 60;
	for (i = 0; i < DST_WALK_MIN && !at_or_past(t, day, minute); i++)
		t += 60;
	return t;
}

time_t schedule_next_open(const struct schedule *s, time_t now)
{
	struct tm base, day;
	time_t best = -1;

	if (!s->set || schedule_open(s, now))
		return now;
	if (!localtime_r(&now, &base))
		return -1;
	for (int d = 0; d <= 7; d++) {
		day = base;
		day.tm_mday += d;
		day.tm_hour = 12; /* noon: no DST change moves it to another day */
		day.tm_min = day.tm_sec = 0;
		day.tm_isdst = -1;
		if (mktime(&day) == (time_t)-1)
			continue;
		for (int k = 0; k < s->n[day.tm_wday]; k++) {
			time_t t = start_of(&day, s->w[day.tm_wday][k].start);

			/* a window wholly inside a skipped hour does not
			 * open that day */
			if (t != (time_t)-1 && t > now && (best < 0 || t < best) &&
				schedule_open(s, t))
				best = t;
		}
	}
	return best;
}
