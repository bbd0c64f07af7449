# daemon/idle.mk: idle detection in idleclawd (the policy, its samplers and
# their tests).  Included after daemon/local.mk.

# The pure policy, unit-tested without I/O.
check_PROGRAMS += tests/unit/test_idle_policy
TESTS += tests/unit/test_idle_policy
tests_unit_test_idle_policy_SOURCES = tests/unit/test_idle_policy.c daemon/idle.c daemon/idle.h
tests_unit_test_idle_policy_CPPFLAGS = $(DAEMON_CPPFLAGS)
tests_unit_test_idle_policy_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_idle_policy_LDADD = $(CHECK_LIBS)
