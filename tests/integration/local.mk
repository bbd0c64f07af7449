# SPDX-License-Identifier: AGPL-3.0-or-later
# tests/integration/local.mk: the integration tests (docs/architecture.md,
# "Tests").  pytest finds every test_*.py in tests/integration; run-pytest
# runs them for this build directory under automake's TAP driver, so each
# pytest test counts in the summary, in two parts (part-K.pytest) that
# make -j runs at once.
TEST_EXTENSIONS += .pytest
PYTEST_LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
PYTEST_LOG_COMPILER = $(SHELL)
TESTS += tests/integration/part-1.pytest tests/integration/part-2.pytest \
	tests/integration/test_units_and_pages.sh
EXTRA_DIST += tests/integration/part-1.pytest tests/integration/part-2.pytest \
	tests/integration/test_units_and_pages.sh tests/integration/run-pytest \
	tests/integration/pytest.ini tests/integration/conftest.py \
	tests/integration/iclib.py tests/integration/limits.py \
	tests/integration/routerlib.py tests/integration/daemonlib.py \
	tests/integration/ctllib.py tests/integration/publiclib.py \
	tests/integration/toolslib.py tests/integration/fakelogind.py tests/compat \
	tests/integration/weblib.py \
	tests/integration/golden

# The limits the tests probe, printed as JSON by a program compiled with
# the headers (tests/integration/limits.py reads it).  limits-list.h names
# every IC_* macro of common/limits.h.
noinst_PROGRAMS += tests/integration/print-limits
tests_integration_print_limits_SOURCES = tests/integration/print-limits.c
nodist_tests_integration_print_limits_SOURCES = tests/integration/limits-list.h
tests_integration_print_limits_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_builddir)/tests/integration
BUILT_SOURCES += tests/integration/limits-list.h
CLEANFILES += tests/integration/limits-list.h
tests/integration/limits-list.h: $(top_srcdir)/common/limits.h
	$(AM_V_GEN)$(MKDIR_P) tests/integration && \
	sed -n 's/^#define[[:space:]]\{1,\}\(IC_[A-Z0-9_]*\)[[:space:]].*/LIMIT(\1)/p' \
		$(top_srcdir)/common/limits.h >$@

# The tests themselves: whatever test_*.py there are.
dist-hook: dist-integration-tests
dist-integration-tests:
	cp -p $(srcdir)/tests/integration/test_*.py $(distdir)/tests/integration/
.PHONY: dist-integration-tests
EXTRA_DIST += tests/integration/replib.py
EXTRA_DIST += tests/integration/standinrouter.py
EXTRA_DIST += tests/integration/helgrind.supp
