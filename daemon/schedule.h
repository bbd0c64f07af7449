/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * schedule.h - [idle] schedule: the weekly windows in which the node may
 * lend, in local wall-clock time.
 *
 * Grammar (idleclaw.conf(5)): day names (Mon..Sun, or Monday..Sunday,
 * any case), day ranges ("Mon..Fri", "Fri..Mon" wraps) and time ranges
 * ("18:00-08:00"), separated by commas and/or white space.  Time ranges
 * apply to the days written just before them; days with no time range
 * after them are whole days; time ranges before any day apply to every
 * day.  "Mon..Fri 18:00-08:00, Sat,Sun": weekday evenings and nights, all
 * of the weekend.  A window belongs to its start day: one whose end is not
 * after its start crosses midnight and ends the next day ("Fri
 * 18:00-08:00" lends until Saturday 08:00).  Start inclusive, end
 * exclusive, "24:00" as an end is midnight.  Empty: no schedule (always).
 *
 * Pure functions over a parsed struct (no allocation); the ones taking a
 * time_t use localtime_r()/mktime(), so the local time zone (TZ) and its
 * daylight-saving changes decide: a window is a range of wall-clock times,
 * so on the day clocks go forward it is shorter, on the day they go back
 * longer.
 * Thread: any (the struct is read only).
 */
#ifndef IC_DAEMON_SCHEDULE_H
#define IC_DAEMON_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define SCHEDULE_WINDOWS_MAX 8 /* windows starting on one day */
#define SCHEDULE_DAY_MIN (24 * 60)

struct schedule_window {
	short start; /* minute of the start day, 0..1439 */
	short end;   /* minute from that day's 00:00, start+1..start+1440 */
};

struct schedule {
	bool set; /* false: no schedule, always open */
	unsigned char n[7];
	struct schedule_window w[7][SCHEDULE_WINDOWS_MAX]; /* by tm_wday, 0 Sunday */
};

/* Parse text (NULL or blank: no schedule).  0 ok; -1 with err saying
 * what is wrong (out is then no schedule). */
int schedule_parse(const char *text, struct schedule *out, char *err, size_t errlen);
/* Open at weekday wday (0 Sunday) and minute of the day (0..1439)? */
bool schedule_open_at(const struct schedule *s, int wday, int minute);
/* Open at t, in local time? */
bool schedule_open(const struct schedule *s, time_t t);
/* When the schedule next opens at or after now (now itself if it is
 * open); -1 if it never does. */
time_t schedule_next_open(const struct schedule *s, time_t now);

#endif
