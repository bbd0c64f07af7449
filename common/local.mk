# SPDX-License-Identifier: AGPL-3.0-or-later
# common/: libidleclaw.a, linked by all three programs.
# This fragment holds the core pieces; text.mk and proto.mk add the rest.
noinst_LIBRARIES += libidleclaw.a
libidleclaw_a_SOURCES = \
	common/limits.h \
	common/xmalloc.c common/xmalloc.h \
	common/log.c common/log.h \
	common/patterns.c common/patterns.h

check_PROGRAMS += tests/unit/test_log
TESTS += tests/unit/test_log
tests_unit_test_log_SOURCES = tests/unit/test_log.c
tests_unit_test_log_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_log_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)

# The servers' shared command line and start-up (idleclawd, idleclaw-routerd).
libidleclaw_a_SOURCES += \
	common/cmdline.c common/cmdline.h common/licence.h \
	common/startup.c common/startup.h

check_PROGRAMS += tests/unit/test_cmdline
TESTS += tests/unit/test_cmdline
tests_unit_test_cmdline_SOURCES = tests/unit/test_cmdline.c
tests_unit_test_cmdline_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_cmdline_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)

# Go's duration syntax (Ollama's keep_alive): idleclawd, fake-ollama.
libidleclaw_a_SOURCES += common/goduration.c common/goduration.h
check_PROGRAMS += tests/unit/test_goduration
TESTS += tests/unit/test_goduration
tests_unit_test_goduration_SOURCES = tests/unit/test_goduration.c
tests_unit_test_goduration_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_goduration_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)

# Addresses: host:port, ports, loopback, network lists (addr.h).
libidleclaw_a_SOURCES += common/addr.c common/addr.h

check_PROGRAMS += tests/unit/test_addr
TESTS += tests/unit/test_addr
tests_unit_test_addr_SOURCES = tests/unit/test_addr.c
tests_unit_test_addr_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_addr_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)
