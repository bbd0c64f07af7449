/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for daemon/schedule.c: [idle] schedule's grammar, minute
 * boundaries, windows across midnight, and the daylight-saving days of
 * 2026 in Europe/Berlin and America/New_York (TZ set per test).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/schedule.h"

enum { SUN, MON, TUE, WED, THU, FRI, SAT };

static struct schedule s;
static char err[256];

static void parse_ok(const char *text)
{
	err[0] = '\0';
	ck_assert_msg(schedule_parse(text, &s, err, sizeof(err)) == 0, "%s: %s", text, err);
}

static void use_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* Seconds since the epoch of a UTC date and time. */
static time_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return timegm(&tm);
}

static bool at(int wday, int h, int m)
{
	return schedule_open_at(&s, wday, h * 60 + m);
}

START_TEST(test_empty_is_always)
{
	parse_ok("");
	ck_assert(!s.set);
	ck_assert(at(MON, 3, 0));
	ck_assert(schedule_open(&s, 12345));
	ck_assert_int_eq(schedule_next_open(&s, 12345), 12345);
	parse_ok(NULL);
	ck_assert(!s.set);
}
END_TEST

START_TEST(test_minute_boundaries)
{
	parse_ok("Mon 09:00-17:00");
	ck_assert(!at(MON, 8, 59));
	ck_assert(at(MON, 9, 0));
	ck_assert(at(MON, 16, 59));
	ck_assert(!at(MON, 17, 0));
	ck_assert(!at(TUE, 9, 0));
	ck_assert(!at(SUN, 12, 0));
}
END_TEST

/* The example: weekday nights, the whole weekend. */
START_TEST(test_example_and_midnight)
{
	parse_ok("Mon..Fri 18:00-08:00, Sat,Sun");
	ck_assert(!at(MON, 17, 59));
	ck_assert(at(MON, 18, 0));
	ck_assert(at(MON, 23, 59));
	ck_assert(at(TUE, 0, 0)); /* Monday's window crosses midnight */
	ck_assert(at(TUE, 7, 59));
	ck_assert(!at(TUE, 8, 0));
	ck_assert(!at(TUE, 12, 0));
	ck_assert(at(SAT, 7, 59)); /* Friday's window, then Saturday's day */
	ck_assert(at(SAT, 8, 0));
	ck_assert(at(SAT, 23, 59));
	ck_assert(at(SUN, 0, 0));
	ck_assert(at(SUN, 23, 59));
	/* a window belongs to its start day: Sunday is 00:00-24:00, and no
	 * window of Sunday runs into Monday morning */
	ck_assert(!at(MON, 0, 0));
	ck_assert(!at(MON, 7, 59));
	/* Monday morning too: the night window starts on Sunday as well */
	parse_ok("Sun..Fri 18:00-08:00, Sat,Sun");
	ck_assert(at(MON, 0, 0));
	ck_assert(at(MON, 7, 59));
	ck_assert(!at(MON, 8, 0));
}
END_TEST

START_TEST(test_grammar)
{
	parse_ok("monday..wednesday 9:00-12:00 13:00-17:00");
	ck_assert(at(TUE, 9, 0) && !at(TUE, 12, 0) && at(TUE, 13, 0) && !at(THU, 9, 0));
	parse_ok("Mon,Wed 22:00-24:00");
	ck_assert(at(MON, 23, 59) && !at(TUE, 0, 0) && at(WED, 22, 0) && !at(TUE, 22, 0));
	parse_ok("Fri..Mon"); /* wraps */
	ck_assert(at(FRI, 0, 0) && at(SUN, 12, 0) && at(MON, 23, 59) && !at(TUE, 0, 0));
	parse_ok("00:00-06:00"); /* no day: every day */
	ck_assert(at(WED, 5, 59) && !at(WED, 6, 0) && at(SUN, 0, 0));
	parse_ok("Tue 00:00-00:00"); /* the whole day */
	ck_assert(at(TUE, 0, 0) && at(TUE, 23, 59) && !at(WED, 0, 0));
	parse_ok("Sat 12:00-12:30, Sun"); /* a new group after a time range */
	ck_assert(!at(SAT, 13, 0) && at(SUN, 13, 0));
	ck_assert_int_eq(schedule_parse("Mon 9-17", &s, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "HH:MM"));
	ck_assert_int_eq(schedule_parse("Moon", &s, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "\"Moon\" is not a day"));
	ck_assert(!s.set);
	ck_assert_int_eq(schedule_parse("Mon 08:00-08:00", &s, err, sizeof(err)), -1);
	ck_assert_int_eq(schedule_parse("Mon 24:00-02:00", &s, err, sizeof(err)), -1);
	ck_assert_int_eq(schedule_parse("Mon 08:60-09:00", &s, err, sizeof(err)), -1);
	ck_assert_int_eq(schedule_parse("Mon 25:00-26:00", &s, err, sizeof(err)), -1);
	ck_assert_int_eq(schedule_parse("Mon..Xyz", &s, err, sizeof(err)), -1);
	/* SCHEDULE_WINDOWS_MAX windows on a day, and one more */
	parse_ok("Mon 1:00-1:01 2:00-2:01 3:00-3:01 4:00-4:01 5:00-5:01 6:00-6:01 7:00-7:01 "
		 "8:00-8:01");
	ck_assert_int_eq(schedule_parse("Mon 1:00-1:01 2:00-2:01 3:00-3:01 4:00-4:01 5:00-5:01 "
					"6:00-6:01 7:00-7:01 8:00-8:01 9:00-9:01",
				 &s, err, sizeof(err)),
		-1);
}
END_TEST

START_TEST(test_local_time_and_next_open)
{
	use_tz("UTC");
	parse_ok("Mon..Fri 18:00-08:00, Sat,Sun");
	/* 2026-01-05 is a Monday */
	ck_assert(!schedule_open(&s, utc(2026, 1, 5, 17, 59)));
	ck_assert(schedule_open(&s, utc(2026, 1, 5, 18, 0)));
	ck_assert_int_eq(schedule_next_open(&s, utc(2026, 1, 5, 12, 0)), utc(2026, 1, 5, 18, 0));
	ck_assert_int_eq(schedule_next_open(&s, utc(2026, 1, 5, 18, 30)), utc(2026, 1, 5, 18, 30));
	/* Monday morning, closed: opens at 18:00 */
	ck_assert_int_eq(schedule_next_open(&s, utc(2026, 1, 5, 3, 0)), utc(2026, 1, 5, 18, 0));
	parse_ok("Wed 10:00-11:00");
	/* Wednesday after the window: next week's */
	ck_assert_int_eq(schedule_next_open(&s, utc(2026, 1, 7, 11, 0)), utc(2026, 1, 14, 10, 0));
	use_tz("Europe/Berlin"); /* CET = UTC+1 in January */
	ck_assert(schedule_open(&s, utc(2026, 1, 7, 9, 0)));
	ck_assert(!schedule_open(&s, utc(2026, 1, 7, 10, 0)));
	ck_assert_int_eq(schedule_next_open(&s, utc(2026, 1, 7, 0, 0)), utc(2026, 1, 7, 9, 0));
}
END_TEST

/* 2026-03-29 (Sunday): 02:00 CET becomes 03:00 CEST (01:00 UTC). */
START_TEST(test_berlin_spring_forward)
{
	use_tz("Europe/Berlin");
	parse_ok("Sat 22:00-06:00");
	/* 22:00 CET Saturday = 21:00 UTC; 06:00 CEST Sunday = 04:00 UTC: 7 h */
	ck_assert(!schedule_open(&s, utc(2026, 3, 28, 20, 59)));
	ck_assert(schedule_open(&s, utc(2026, 3, 28, 21, 0)));
	ck_assert(schedule_open(&s, utc(2026, 3, 29, 0, 59))); /* 01:59 CET */
	ck_assert(schedule_open(&s, utc(2026, 3, 29, 1, 0)));  /* 03:00 CEST */
	ck_assert(schedule_open(&s, utc(2026, 3, 29, 3, 59))); /* 05:59 CEST */
	ck_assert(!schedule_open(&s, utc(2026, 3, 29, 4, 0)));
	/* a window starting in the skipped hour opens when the hour ends */
	parse_ok("Sun 02:30-04:00");
	ck_assert(!schedule_open(&s, utc(2026, 3, 29, 0, 59))); /* 01:59 CET */
	ck_assert(schedule_open(&s, utc(2026, 3, 29, 1, 0)));	/* 03:00 CEST */
	ck_assert(!schedule_open(&s, utc(2026, 3, 29, 2, 0)));	/* 04:00 CEST */
	ck_assert_int_eq(schedule_next_open(&s, utc(2026, 3, 28, 23, 0)), utc(2026, 3, 29, 1, 0));
	/* a whole day is 23 hours */
	parse_ok("Sun");
	ck_assert(!schedule_open(&s, utc(2026, 3, 28, 22, 59)));
	ck_assert(schedule_open(&s, utc(2026, 3, 28, 23, 0)));
	ck_assert(schedule_open(&s, utc(2026, 3, 29, 21, 59)));
	ck_assert(!schedule_open(&s, utc(2026, 3, 29, 22, 0)));
	ck_assert_int_eq(schedule_next_open(&s, utc(2026, 3, 28, 12, 0)), utc(2026, 3, 28, 23, 0));
}
END_TEST

/* 2026-10-25 (Sunday): 03:00 CEST becomes 02:00 CET (01:00 UTC). */
START_TEST(test_berlin_fall_back)
{
	use_tz("Europe/Berlin");
	parse_ok("Sun 02:00-02:30");
	ck_assert(!schedule_open(&s, utc(2026, 10, 24, 23, 59))); /* 01:59 CEST */
	ck_assert(schedule_open(&s, utc(2026, 10, 25, 0, 15)));	  /* 02:15 CEST */
	ck_assert(!schedule_open(&s, utc(2026, 10, 25, 0, 45)));  /* 02:45 CEST */
	ck_assert(schedule_open(&s, utc(2026, 10, 25, 1, 15)));	  /* 02:15 CET */
	ck_assert(!schedule_open(&s, utc(2026, 10, 25, 1, 30)));  /* 02:30 CET */
	parse_ok("Sat 23:00-04:00");				  /* 6 hours that night */
	ck_assert(schedule_open(&s, utc(2026, 10, 24, 21, 0)));	  /* 23:00 CEST */
	ck_assert(schedule_open(&s, utc(2026, 10, 25, 2, 59)));	  /* 03:59 CET */
	ck_assert(!schedule_open(&s, utc(2026, 10, 25, 3, 0)));	  /* 04:00 CET */
	ck_assert(!schedule_open(&s, utc(2026, 10, 24, 20, 59))); /* 22:59 CEST */
	parse_ok("Sun 12:00-13:00");
	ck_assert_int_eq(
		schedule_next_open(&s, utc(2026, 10, 24, 12, 0)), utc(2026, 10, 25, 11, 0));
}
END_TEST

/* 2026-03-08 (Sunday): 02:00 EST becomes 03:00 EDT (07:00 UTC). */
START_TEST(test_new_york_spring_forward)
{
	use_tz("America/New_York");
	parse_ok("Sat 23:00-03:00");
	ck_assert(schedule_open(&s, utc(2026, 3, 8, 4, 0)));   /* 23:00 EST */
	ck_assert(schedule_open(&s, utc(2026, 3, 8, 6, 59)));  /* 01:59 EST */
	ck_assert(!schedule_open(&s, utc(2026, 3, 8, 7, 0)));  /* 03:00 EDT */
	ck_assert(!schedule_open(&s, utc(2026, 3, 8, 3, 59))); /* 22:59 EST */
	parse_ok("Sun 09:00-17:00");
	ck_assert_int_eq(schedule_next_open(&s, utc(2026, 3, 7, 17, 0)), utc(2026, 3, 8, 13, 0));
	ck_assert(schedule_open(&s, utc(2026, 3, 8, 20, 59))); /* 16:59 EDT */
	ck_assert(!schedule_open(&s, utc(2026, 3, 8, 21, 0))); /* 17:00 EDT */
	/* wholly inside the skipped hour: not that day, the next Sunday */
	parse_ok("Sun 02:00-02:30");
	ck_assert(!schedule_open(&s, utc(2026, 3, 8, 7, 0)));
	ck_assert_int_eq(schedule_next_open(&s, utc(2026, 3, 8, 5, 0)), utc(2026, 3, 15, 6, 0));
}
END_TEST

/* 2026-11-01 (Sunday): 02:00 EDT becomes 01:00 EST (06:00 UTC). */
START_TEST(test_new_york_fall_back)
{
	use_tz("America/New_York");
	parse_ok("Sun 01:00-01:30");
	ck_assert(!schedule_open(&s, utc(2026, 11, 1, 4, 59))); /* 00:59 EDT */
	ck_assert(schedule_open(&s, utc(2026, 11, 1, 5, 15)));	/* 01:15 EDT */
	ck_assert(!schedule_open(&s, utc(2026, 11, 1, 5, 45))); /* 01:45 EDT */
	ck_assert(schedule_open(&s, utc(2026, 11, 1, 6, 15)));	/* 01:15 EST */
	ck_assert(!schedule_open(&s, utc(2026, 11, 1, 6, 30))); /* 01:30 EST */
	parse_ok("Sat..Sun");
	/* Sunday is 25 hours: midnight EDT (04:00 UTC) to midnight EST (05:00
	 * UTC on Monday) */
	ck_assert(schedule_open(&s, utc(2026, 11, 2, 4, 59)));
	ck_assert(!schedule_open(&s, utc(2026, 11, 2, 5, 0)));
}
END_TEST

static Suite *schedule_suite(void)
{
	Suite *su = suite_create("schedule");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_empty_is_always);
	tcase_add_test(tc, test_minute_boundaries);
	tcase_add_test(tc, test_example_and_midnight);
	tcase_add_test(tc, test_grammar);
	tcase_add_test(tc, test_local_time_and_next_open);
	tcase_add_test(tc, test_berlin_spring_forward);
	tcase_add_test(tc, test_berlin_fall_back);
	tcase_add_test(tc, test_new_york_spring_forward);
	tcase_add_test(tc, test_new_york_fall_back);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	SRunner *sr = srunner_create(schedule_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
