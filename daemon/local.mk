# SPDX-License-Identifier: AGPL-3.0-or-later
# daemon/local.mk: idleclawd, the contributor's daemon.
#
# common/ is on the quote-include path only (-iquote), never -I: its
# limits.h would shadow the system <limits.h> that OpenSSL's headers (via
# libwebsockets.h) include.  Daemon files include the loader's header as
# "common/config.h".
DAEMON_CPPFLAGS = -iquote $(top_srcdir)/common -I$(top_srcdir) \
	-D_GNU_SOURCE -DSYSCONFDIR='"$(sysconfdir)"' -DRUNSTATEDIR='"$(runstatedir)"'

sbin_PROGRAMS += daemon/idleclawd
daemon_idleclawd_SOURCES = \
	daemon/idleclawd.c daemon/daemon.h \
	daemon/dconfig.c daemon/dconfig.h \
	daemon/link.c daemon/link.h \
	daemon/node.c daemon/node.h \
	daemon/models.c daemon/models.h \
	daemon/ollama.c daemon/ollama.h \
	daemon/ollama_health.c daemon/ollama_health.h \
	daemon/relay.c daemon/relay.h \
	daemon/consume.c daemon/consume.h \
	daemon/gateway.c daemon/gateway.h daemon/gateway-api.h \
	daemon/gateway-chat.c daemon/gateway-addr.c \
	daemon/gateway-conn.c daemon/gateway-conn.h \
	daemon/gateway-ollama.c daemon/gateway-openai.c \
	daemon/availability.c daemon/availability.h \
	daemon/backoff.c daemon/backoff.h \
	daemon/nodeid.c daemon/nodeid.h \
	daemon/commands.c daemon/commands.h \
	daemon/control.c daemon/control.h \
	daemon/control_listen.c daemon/control_listen.h \
	daemon/ollama-request.c daemon/ollama-request.h \
	daemon/unload.c daemon/unload.h
daemon_idleclawd_CPPFLAGS = $(DAEMON_CPPFLAGS)
# libevent_core + libevent_extra (evhttp) rather than libevent, which
# holds both again: one copy of the code is ~0.3 MiB less idle RSS.
# libsystemd (sd_notify, the watchdog, socket activation, the node id and
# sd-bus for logind) is added in daemon/idle.mk.
daemon_idleclawd_LDADD = libidleclaw.a $(JSONC_LIBS) $(INIH_LIBS) $(LWS_LIBS) -lssl -lcrypto \
	-levent_extra -levent_core -levent_pthreads $(PTHREAD_LIBS)

# Unit tests of the pure parts (availability, backoff, the config table).
check_PROGRAMS += tests/unit/test_daemon_policy
TESTS += tests/unit/test_daemon_policy
tests_unit_test_daemon_policy_SOURCES = tests/unit/test_daemon_policy.c \
	daemon/availability.c daemon/backoff.c daemon/nodeid.c daemon/dconfig.c daemon/idle.c \
	daemon/ollama-request.c
tests_unit_test_daemon_policy_CPPFLAGS = $(DAEMON_CPPFLAGS)
tests_unit_test_daemon_policy_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_daemon_policy_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)

# The gateway's two dialects (pure: parsing and shapes).
check_PROGRAMS += tests/unit/test_gateway
TESTS += tests/unit/test_gateway
tests_unit_test_gateway_SOURCES = tests/unit/test_gateway.c \
	daemon/gateway-chat.c daemon/gateway-addr.c daemon/gateway-ollama.c \
	daemon/gateway-openai.c
tests_unit_test_gateway_CPPFLAGS = $(DAEMON_CPPFLAGS)
tests_unit_test_gateway_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_gateway_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)

# A fuzz harness of the same (see tests/fuzz/local.mk for how they run).
check_PROGRAMS += tests/fuzz/fuzz_gateway
TESTS += tests/fuzz/fuzz_gateway
tests_fuzz_fuzz_gateway_SOURCES = tests/fuzz/fuzz_gateway.c $(IC_FUZZ_DRIVER) \
	daemon/gateway-chat.c daemon/gateway-addr.c daemon/gateway-ollama.c \
	daemon/gateway-openai.c
tests_fuzz_fuzz_gateway_CPPFLAGS = $(DAEMON_CPPFLAGS) -DIC_FUZZ_NAME='"gateway"' $(IC_FUZZ_DEFS)
tests_fuzz_fuzz_gateway_LDADD = $(IC_COMMON_LIBS)
EXTRA_DIST += tests/fuzz/corpus/gateway

# Service files, example configuration and manual pages.
dist_man_MANS += man/idleclawd.8 man/idleclaw.conf.5
EXTRA_DIST += conf/idleclaw.conf systemd/idleclawd.service systemd/idleclawd.socket \
	systemd/idleclaw.sysusers bench/relay/run.py
