# SPDX-License-Identifier: AGPL-3.0-or-later
# tests/fuzz/local.mk: the fuzz harnesses of common/ and of the router's
# hand-written frame reader (docs/fuzzing.md).
#
# Each harness is a libFuzzer target (LLVMFuzzerTestOneInput).  Here every
# one is linked with tests/fuzz/standalone.c instead of libFuzzer and runs as
# a regression test: its seed corpus tests/fuzz/corpus/NAME/ plus a few
# thousand deterministic mutations (IC_FUZZ_RUNS), in a second or two.
# Real fuzzing sessions use tests/fuzz/build.sh (clang -fsanitize=fuzzer).
IC_FUZZ_TESTS = \
	tests/fuzz/fuzz_outfilter \
	tests/fuzz/fuzz_validate \
	tests/fuzz/fuzz_proto \
	tests/fuzz/fuzz_sse \
	tests/fuzz/fuzz_json \
	tests/fuzz/fuzz_ctlproto \
	tests/fuzz/fuzz_config \
	tests/fuzz/fuzz_sanitize \
	tests/fuzz/fuzz_chunkparse
check_PROGRAMS += $(IC_FUZZ_TESTS)
TESTS += $(IC_FUZZ_TESTS)

IC_FUZZ_DRIVER = tests/fuzz/standalone.c
# where the corpus is when IC_SRCDIR is not set (a run by hand)
IC_FUZZ_DEFS = -DIC_FUZZ_SRCDIR='"$(abs_top_srcdir)"'

tests_fuzz_fuzz_outfilter_SOURCES = tests/fuzz/fuzz_outfilter.c $(IC_FUZZ_DRIVER)
tests_fuzz_fuzz_outfilter_CPPFLAGS = $(AM_CPPFLAGS) -DIC_FUZZ_NAME='"outfilter"' $(IC_FUZZ_DEFS)
tests_fuzz_fuzz_outfilter_LDADD = $(IC_COMMON_LIBS)

tests_fuzz_fuzz_validate_SOURCES = tests/fuzz/fuzz_validate.c $(IC_FUZZ_DRIVER)
tests_fuzz_fuzz_validate_CPPFLAGS = $(AM_CPPFLAGS) -DIC_FUZZ_NAME='"validate"' $(IC_FUZZ_DEFS)
tests_fuzz_fuzz_validate_LDADD = $(IC_COMMON_LIBS)

tests_fuzz_fuzz_proto_SOURCES = tests/fuzz/fuzz_proto.c $(IC_FUZZ_DRIVER)
tests_fuzz_fuzz_proto_CPPFLAGS = $(AM_CPPFLAGS) -DIC_FUZZ_NAME='"proto"' $(IC_FUZZ_DEFS)
tests_fuzz_fuzz_proto_LDADD = $(IC_COMMON_LIBS)

tests_fuzz_fuzz_sse_SOURCES = tests/fuzz/fuzz_sse.c $(IC_FUZZ_DRIVER)
tests_fuzz_fuzz_sse_CPPFLAGS = $(AM_CPPFLAGS) -DIC_FUZZ_NAME='"sse"' $(IC_FUZZ_DEFS)
tests_fuzz_fuzz_sse_LDADD = $(IC_COMMON_LIBS)

tests_fuzz_fuzz_json_SOURCES = tests/fuzz/fuzz_json.c $(IC_FUZZ_DRIVER)
tests_fuzz_fuzz_json_CPPFLAGS = $(AM_CPPFLAGS) -DIC_FUZZ_NAME='"json"' $(IC_FUZZ_DEFS)
tests_fuzz_fuzz_json_LDADD = $(IC_COMMON_LIBS)

tests_fuzz_fuzz_ctlproto_SOURCES = tests/fuzz/fuzz_ctlproto.c $(IC_FUZZ_DRIVER)
tests_fuzz_fuzz_ctlproto_CPPFLAGS = $(AM_CPPFLAGS) -DIC_FUZZ_NAME='"ctlproto"' $(IC_FUZZ_DEFS)
tests_fuzz_fuzz_ctlproto_LDADD = $(IC_COMMON_LIBS)

tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c $(IC_FUZZ_DRIVER)
tests_fuzz_fuzz_config_CPPFLAGS = $(AM_CPPFLAGS) -DIC_FUZZ_NAME='"config"' $(IC_FUZZ_DEFS)
tests_fuzz_fuzz_config_LDADD = $(IC_COMMON_LIBS)

tests_fuzz_fuzz_sanitize_SOURCES = tests/fuzz/fuzz_sanitize.c $(IC_FUZZ_DRIVER)
tests_fuzz_fuzz_sanitize_CPPFLAGS = $(AM_CPPFLAGS) -DIC_FUZZ_NAME='"sanitize"' $(IC_FUZZ_DEFS)
tests_fuzz_fuzz_sanitize_LDADD = $(IC_COMMON_LIBS)

tests_fuzz_fuzz_chunkparse_SOURCES = tests/fuzz/fuzz_chunkparse.c router/chunkparse.c \
	$(IC_FUZZ_DRIVER)
tests_fuzz_fuzz_chunkparse_CPPFLAGS = $(AM_CPPFLAGS) -DIC_FUZZ_NAME='"chunkparse"' $(IC_FUZZ_DEFS)
tests_fuzz_fuzz_chunkparse_LDADD = $(IC_COMMON_LIBS)

# Seed corpora, dictionaries and the libFuzzer build script.
EXTRA_DIST += tests/fuzz/corpus tests/fuzz/build.sh tests/fuzz/run.sh \
	tests/fuzz/outfilter.dict tests/fuzz/validate.dict tests/fuzz/proto.dict \
	tests/fuzz/sse.dict tests/fuzz/json.dict tests/fuzz/ctlproto.dict \
	tests/fuzz/config.dict tests/fuzz/sanitize.dict tests/fuzz/chunkparse.dict
