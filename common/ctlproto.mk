# SPDX-License-Identifier: AGPL-3.0-or-later
# common/ctlproto.mk: the control-socket protocol (common/ctlproto.h,
# docs/control.md) and the tests of its two ends: the pure message code and
# the daemon's socket server (daemon/control.c, compiled into idleclawd by
# daemon/local.mk).
libidleclaw_a_SOURCES += \
	common/ctlproto.c common/ctlproto.h

check_PROGRAMS += tests/unit/test_ctlproto
TESTS += tests/unit/test_ctlproto
tests_unit_test_ctlproto_SOURCES = tests/unit/test_ctlproto.c
tests_unit_test_ctlproto_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_ctlproto_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)

# The daemon's control socket server on a real socket with fake handlers
# (daemon/control.c and control_listen.c are compiled here and, separately,
# into idleclawd).
check_PROGRAMS += tests/unit/test_control
TESTS += tests/unit/test_control
tests_unit_test_control_SOURCES = tests/unit/test_control.c \
	daemon/control.c daemon/control.h \
	daemon/control_listen.c daemon/control_listen.h
tests_unit_test_control_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_test_control_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_control_LDADD = $(IC_COMMON_LIBS) $(LIBEVENT_LIBS) $(CHECK_LIBS)

# libFuzzer harness (built by hand with clang: see its header comment).
EXTRA_DIST += tests/fuzz/fuzz_ctlproto.c tests/fuzz/ctlproto.dict
