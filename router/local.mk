# router/: idleclaw-routerd, the routing server (pure libwebsockets).
#
# The router's CPPFLAGS leave out -I common: common/limits.h would shadow
# the system <limits.h> that OpenSSL's headers (via libwebsockets.h) need.
# Router files include common headers as "common/NAME.h".
ROUTER_CPPFLAGS = -I$(top_srcdir) -D_GNU_SOURCE -DSYSCONFDIR='"$(sysconfdir)"' \
	-DIC_VERSION='"$(PACKAGE_VERSION)"'

sbin_PROGRAMS += router/idleclaw-routerd
router_idleclaw_routerd_SOURCES = \
	router/idleclaw-routerd.c router/router.h \
	router/server.c router/server.h \
	router/nodes.c router/nodes.h \
	router/models.c router/models.h \
	router/sched.c router/sched.h \
	router/chat.c router/chat.h \
	router/clientip.c router/clientip.h \
	router/ratelimit.c router/ratelimit.h \
	router/ipcount.c router/ipcount.h \
	router/strmap.c router/strmap.h \
	router/buf.c router/buf.h \
	router/tq.c router/tq.h \
	router/sseout.c router/sseout.h \
	router/chunkparse.c router/chunkparse.h \
	router/rconfig.c router/rconfig.h
router_idleclaw_routerd_CPPFLAGS = $(ROUTER_CPPFLAGS)
router_idleclaw_routerd_LDADD = $(IC_COMMON_LIBS) $(LWS_LIBS)

# Integration tests: the real binary on loopback, Python test nodes.
TESTS += tests/integration/test_router_basic.py tests/integration/test_router_nodes.py \
	tests/integration/test_router_limits.py tests/integration/test_router_sched.py \
	tests/integration/test_router_caddy.py tests/integration/test_router_bodies.py \
	tests/integration/test_router_http_edges.py
EXTRA_DIST += tests/integration/routerlib.py tests/integration/test_router_basic.py \
	tests/integration/test_router_nodes.py tests/integration/test_router_limits.py \
	tests/integration/test_router_sched.py tests/integration/test_router_caddy.py \
	tests/integration/test_router_bodies.py tests/integration/test_router_http_edges.py

dist_man_MANS += man/idleclaw-routerd.8
EXTRA_DIST += systemd/idleclaw-routerd.service conf/Caddyfile.example bench/README.md

# bench/router: load generator (see bench/README.md); built, not installed.
noinst_PROGRAMS += bench/router/bench-router
bench_router_bench_router_SOURCES = bench/router/bench-router.c
bench_router_bench_router_CPPFLAGS = $(ROUTER_CPPFLAGS)

# Unit tests of the router's pure parts.
check_PROGRAMS += tests/unit/test_router_ratelimit tests/unit/test_router_clientip \
	tests/unit/test_router_sseout tests/unit/test_router_chunkparse
TESTS += tests/unit/test_router_ratelimit tests/unit/test_router_clientip \
	tests/unit/test_router_sseout tests/unit/test_router_chunkparse
tests_unit_test_router_ratelimit_SOURCES = tests/unit/test_router_ratelimit.c \
	router/ratelimit.c router/strmap.c
tests_unit_test_router_ratelimit_CPPFLAGS = $(ROUTER_CPPFLAGS)
tests_unit_test_router_ratelimit_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_router_ratelimit_LDADD = $(IC_COMMON_LIBS) $(LWS_LIBS) $(CHECK_LIBS)
tests_unit_test_router_clientip_SOURCES = tests/unit/test_router_clientip.c router/clientip.c
tests_unit_test_router_clientip_CPPFLAGS = $(ROUTER_CPPFLAGS)
tests_unit_test_router_clientip_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_router_clientip_LDADD = $(IC_COMMON_LIBS) $(LWS_LIBS) $(CHECK_LIBS)
tests_unit_test_router_sseout_SOURCES = tests/unit/test_router_sseout.c router/sseout.c \
	router/buf.c
tests_unit_test_router_sseout_CPPFLAGS = $(ROUTER_CPPFLAGS)
tests_unit_test_router_sseout_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_router_sseout_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)
tests_unit_test_router_chunkparse_SOURCES = tests/unit/test_router_chunkparse.c \
	router/chunkparse.c
tests_unit_test_router_chunkparse_CPPFLAGS = $(ROUTER_CPPFLAGS)
tests_unit_test_router_chunkparse_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_router_chunkparse_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)
