# SPDX-License-Identifier: AGPL-3.0-or-later
# daemon/idle.mk: idle detection in idleclawd (the policy, its samplers and
# their tests).  Included after daemon/local.mk.

# The pure policy, unit-tested without I/O.
check_PROGRAMS += tests/unit/test_idle_policy
TESTS += tests/unit/test_idle_policy
tests_unit_test_idle_policy_SOURCES = tests/unit/test_idle_policy.c daemon/idle.c daemon/idle.h
tests_unit_test_idle_policy_CPPFLAGS = $(DAEMON_CPPFLAGS)
tests_unit_test_idle_policy_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_idle_policy_LDADD = $(CHECK_LIBS)

# The samplers over fake proc/sys/dev trees, and a fake NVML (a shared
# library with the symbols daemon/idle-nvml.c resolves) that tests load.
IDLE_SAMPLER_SOURCES = daemon/idle-sources.h daemon/idle-read.c daemon/idle-cpu.c daemon/idle-power.c \
	daemon/idle-tty.c daemon/idle-drm.c daemon/idle-nvml.c
check_PROGRAMS += tests/fake-nvml/libfake-nvml.so
tests_fake_nvml_libfake_nvml_so_SOURCES = tests/fake-nvml/fake-nvml.c
tests_fake_nvml_libfake_nvml_so_CFLAGS = $(AM_CFLAGS) -fPIC
tests_fake_nvml_libfake_nvml_so_LDFLAGS = $(AM_LDFLAGS) -shared

check_PROGRAMS += tests/unit/test_idle_sources
TESTS += tests/unit/test_idle_sources
tests_unit_test_idle_sources_SOURCES = tests/unit/test_idle_sources.c daemon/idle.c \
	$(IDLE_SAMPLER_SOURCES)
tests_unit_test_idle_sources_CPPFLAGS = $(DAEMON_CPPFLAGS) \
	-DFAKE_NVML_PATH='"$(abs_top_builddir)/tests/fake-nvml/libfake-nvml.so"'
tests_unit_test_idle_sources_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_idle_sources_LDADD = libidleclaw.a $(CHECK_LIBS) -ldl

# In idleclawd: the samplers, logind through sd-bus (libsystemd) and NVML
# through dlopen().
daemon_idleclawd_SOURCES += daemon/idle.c daemon/idle.h $(IDLE_SAMPLER_SOURCES) \
	daemon/idle-logind.c daemon/idle-watch.c daemon/idle-watch.h
daemon_idleclawd_LDADD += $(SYSTEMD_LIBS) -ldl

# The bench measures idle memory and wake-ups.
EXTRA_DIST += bench/idle/run.py
