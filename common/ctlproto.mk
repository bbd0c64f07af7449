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
