# SPDX-License-Identifier: AGPL-3.0-or-later
# common/proto.mk: JSON helpers, the node-link protocol, SSE framing and the
# table-driven config loader.
libidleclaw_a_SOURCES += \
	common/jsonutil.c common/jsonutil.h

check_PROGRAMS += tests/unit/test_jsonutil
TESTS += tests/unit/test_jsonutil
tests_unit_test_jsonutil_SOURCES = tests/unit/test_jsonutil.c
tests_unit_test_jsonutil_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_jsonutil_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)

libidleclaw_a_SOURCES += common/proto.c common/proto.h
check_PROGRAMS += tests/unit/test_proto
TESTS += tests/unit/test_proto
tests_unit_test_proto_SOURCES = tests/unit/test_proto.c
tests_unit_test_proto_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_proto_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)

libidleclaw_a_SOURCES += common/sse.c common/sse.h
check_PROGRAMS += tests/unit/test_sse
TESTS += tests/unit/test_sse
tests_unit_test_sse_SOURCES = tests/unit/test_sse.c
tests_unit_test_sse_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_sse_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)

libidleclaw_a_SOURCES += common/config.c common/config.h
check_PROGRAMS += tests/unit/test_config
TESTS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_config_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)
