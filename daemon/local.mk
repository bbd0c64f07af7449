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
	daemon/availability.c daemon/availability.h \
	daemon/backoff.c daemon/backoff.h \
	daemon/nodeid.c daemon/nodeid.h \
	daemon/sdnotify.c daemon/sdnotify.h \
	daemon/sha256.c daemon/sha256.h \
	daemon/commands.c daemon/commands.h \
	daemon/control.c daemon/control.h \
	daemon/control_listen.c daemon/control_listen.h
daemon_idleclawd_CPPFLAGS = $(DAEMON_CPPFLAGS)
# libevent_core + libevent_extra (evhttp) rather than libevent, which
# holds both again: one copy of the code is ~0.3 MiB less idle RSS.
# No libsystemd either (daemon/sdnotify.c speaks the protocol): its
# compression and crypto libraries cost ~0.8 MiB.  libidleclaw.a does not
# use it; if it ever does, add $(SYSTEMD_LIBS) back.
daemon_idleclawd_LDADD = libidleclaw.a $(JSONC_LIBS) $(INIH_LIBS) $(LWS_LIBS) -lssl -lcrypto \
	-levent_extra -levent_core -levent_pthreads $(PTHREAD_LIBS)

# Unit tests of the pure parts (availability, backoff, the config table).
check_PROGRAMS += tests/unit/test_daemon_policy
TESTS += tests/unit/test_daemon_policy
tests_unit_test_daemon_policy_SOURCES = tests/unit/test_daemon_policy.c \
	daemon/availability.c daemon/backoff.c daemon/nodeid.c daemon/dconfig.c \
	daemon/sdnotify.c daemon/sha256.c
tests_unit_test_daemon_policy_CPPFLAGS = $(DAEMON_CPPFLAGS)
tests_unit_test_daemon_policy_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_daemon_policy_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)

# Integration tests: the real daemon on loopback with fake-ollama and a
# stand-in router (python3-websockets) or the real idleclaw-routerd.
DAEMON_TESTS = \
	tests/integration/test_daemon_relay.py \
	tests/integration/test_daemon_link.py \
	tests/integration/test_daemon_control.py \
	tests/integration/test_daemon_e2e.py \
	tests/integration/test_daemon_tls.py \
	tests/integration/test_daemon_reconnect.py \
	tests/integration/test_daemon_capabilities.py
TESTS += $(DAEMON_TESTS)
EXTRA_DIST += tests/integration/daemonlib.py tests/integration/publiclib.py $(DAEMON_TESTS)

# Service files, example configuration and manual pages.
dist_man_MANS += man/idleclawd.8 man/idleclaw.conf.5
EXTRA_DIST += conf/idleclaw.conf systemd/idleclawd.service systemd/idleclawd.socket \
	systemd/idleclaw.sysusers bench/relay/run.py
