# SPDX-License-Identifier: AGPL-3.0-or-later
# daemon/contrib.mk: what a contributor controls beyond idle detection
# (issue 23): the lending schedule, a pause that survives restarts, limits
# on one request, and the node's standing as the router reports it.
# Included after daemon/idle.mk.

daemon_idleclawd_SOURCES += daemon/schedule.c daemon/schedule.h

# The schedule is pure: unit-tested under several time zones.
check_PROGRAMS += tests/unit/test_schedule
TESTS += tests/unit/test_schedule
tests_unit_test_schedule_SOURCES = tests/unit/test_schedule.c daemon/schedule.c daemon/schedule.h
tests_unit_test_schedule_CPPFLAGS = $(DAEMON_CPPFLAGS)
tests_unit_test_schedule_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_schedule_LDADD = $(CHECK_LIBS)
tests_unit_test_daemon_policy_SOURCES += daemon/schedule.c
daemon_idleclawd_SOURCES += daemon/pause-file.c daemon/pause-file.h
daemon_idleclawd_SOURCES += daemon/request-limits.c daemon/request-limits.h
daemon_idleclawd_SOURCES += daemon/standing.c daemon/standing.h
