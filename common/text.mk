# SPDX-License-Identifier: AGPL-3.0-or-later
# common/text.mk: the text-handling pieces of libidleclaw.a (UTF-8,
# validation, sanitizing, the output filter) and their unit tests.
libidleclaw_a_SOURCES += \
	common/utf8.c common/utf8.h \
	common/hex.c common/hex.h \
	common/validate.c common/validate.h \
	common/chatmsg.c common/chatmsg.h \
	common/sanitize.c common/sanitize.h \
	common/outfilter.c common/outfilter.h

IC_TEXT_TESTS = \
	tests/unit/test_utf8 \
	tests/unit/test_hex \
	tests/unit/test_validate \
	tests/unit/test_sanitize \
	tests/unit/test_outfilter
check_PROGRAMS += $(IC_TEXT_TESTS)
TESTS += $(IC_TEXT_TESTS)

tests_unit_test_utf8_SOURCES = tests/unit/test_utf8.c
tests_unit_test_utf8_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_utf8_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)

tests_unit_test_hex_SOURCES = tests/unit/test_hex.c
tests_unit_test_hex_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_hex_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)

tests_unit_test_validate_SOURCES = tests/unit/test_validate.c
tests_unit_test_validate_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_validate_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)

tests_unit_test_sanitize_SOURCES = tests/unit/test_sanitize.c
tests_unit_test_sanitize_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_sanitize_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)

tests_unit_test_outfilter_SOURCES = tests/unit/test_outfilter.c
tests_unit_test_outfilter_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_outfilter_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)
# The fuzz harnesses of these files are in tests/fuzz/local.mk.
