# SPDX-License-Identifier: AGPL-3.0-or-later
# router/: idleclaw-routerd, the routing server (pure libwebsockets).
#
# The router's CPPFLAGS leave out -I common: common/limits.h would shadow
# the system <limits.h> that OpenSSL's headers (via libwebsockets.h) need.
# Router files include common headers as "common/NAME.h".
ROUTER_CPPFLAGS = -I$(top_srcdir) -D_GNU_SOURCE -DSYSCONFDIR='"$(sysconfdir)"' \
	-DROUTER_WEB_ROOT_DEFAULT='"$(datadir)/idleclaw/web"'

sbin_PROGRAMS += router/idleclaw-routerd
router_idleclaw_routerd_SOURCES = \
	router/idleclaw-routerd.c router/router.c router/router.h \
	router/server.c router/server.h \
	router/static.c router/static.h \
	router/nodes.c router/nodes.h \
	router/models.c router/models.h \
	router/modellist.c router/modellist.h \
	router/sched.c router/sched.h \
	router/chat.c router/chat.h \
	router/clientip.c router/clientip.h \
	router/ratelimit.c router/ratelimit.h \
	router/ipcount.c router/ipcount.h \
	router/strmap.c router/strmap.h \
	router/siphash.c router/siphash.h \
	router/buf.c router/buf.h \
	router/tq.c router/tq.h \
	router/sseout.c router/sseout.h \
	router/chunkparse.c router/chunkparse.h \
	router/rconfig.c router/rconfig.h \
	router/policy.c router/policy.h \
	router/trust.c router/trust.h \
	router/probe.c router/probe.h \
	router/standing.c router/standing.h \
	router/probe-questions.c router/probe-questions.h \
	router/admin.c router/admin.h \
	router/prompt.c router/prompt.h \
	router/tools.c router/tools.h \
	router/chat-tools.c router/chat-tools.h \
	router/tools-searxng.c router/tools-searxng.h \
	router/cluster.c router/cluster.h router/cluster-names.h router/cluster-proto.h \
	router/xchat.c router/xchat.h
router_idleclaw_routerd_CPPFLAGS = $(ROUTER_CPPFLAGS) $(CURL_CFLAGS) $(UV_CFLAGS) $(NATS_CFLAGS)
router_idleclaw_routerd_LDADD = $(IC_COMMON_LIBS) $(LWS_LIBS) $(CURL_LIBS) $(UV_LIBS) $(NATS_LIBS) \
	$(PTHREAD_LIBS) -lm

# The [router] key table: typed defaults, and the man page's key list.
check_PROGRAMS += tests/unit/test_router_rconfig
TESTS += tests/unit/test_router_rconfig
tests_unit_test_router_rconfig_SOURCES = tests/unit/test_router_rconfig.c router/rconfig.c \
	router/policy.c
tests_unit_test_router_rconfig_CPPFLAGS = $(ROUTER_CPPFLAGS)
tests_unit_test_router_rconfig_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_router_rconfig_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)

# The tool registry's checks, the prompt policy's pure parts, SearXNG replies.
check_PROGRAMS += tests/unit/test_router_tools
TESTS += tests/unit/test_router_tools
tests_unit_test_router_tools_SOURCES = tests/unit/test_router_tools.c router/tools.c \
	router/prompt.c router/rconfig.c router/policy.c router/tools-searxng.c
tests_unit_test_router_tools_CPPFLAGS = $(ROUTER_CPPFLAGS) $(CURL_CFLAGS) $(UV_CFLAGS)
tests_unit_test_router_tools_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_router_tools_LDADD = $(IC_COMMON_LIBS) $(LWS_LIBS) $(CURL_LIBS) \
	$(UV_LIBS) $(CHECK_LIBS)

EXTRA_DIST += docs/tools.md

dist_man_MANS += man/idleclaw-routerd.8
EXTRA_DIST += systemd/idleclaw-routerd.service conf/Caddyfile.example bench/README.md \
	conf/Caddyfile.cluster.example

# bench/router: load generator (see bench/README.md); built, not installed.
noinst_PROGRAMS += bench/router/bench-router
bench_router_bench_router_SOURCES = bench/router/bench-router.c
bench_router_bench_router_CPPFLAGS = $(ROUTER_CPPFLAGS)

# Unit tests of the router's pure parts.
check_PROGRAMS += tests/unit/test_router_ratelimit tests/unit/test_router_clientip \
	tests/unit/test_router_sseout tests/unit/test_router_chunkparse \
	tests/unit/test_router_strmap tests/unit/test_router_tq \
	tests/unit/test_router_nodes tests/unit/test_router_sched
TESTS += tests/unit/test_router_ratelimit tests/unit/test_router_clientip \
	tests/unit/test_router_sseout tests/unit/test_router_chunkparse \
	tests/unit/test_router_strmap tests/unit/test_router_tq \
	tests/unit/test_router_nodes tests/unit/test_router_sched
tests_unit_test_router_tq_SOURCES = tests/unit/test_router_tq.c router/tq.c
tests_unit_test_router_tq_CPPFLAGS = $(ROUTER_CPPFLAGS)
tests_unit_test_router_tq_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_router_tq_LDADD = $(IC_COMMON_LIBS) $(LWS_LIBS) $(CHECK_LIBS)
# The registry and the scheduler with their real state; tests/unit/router_fake.c
# stands in for the clock, the sockets and chat.c (see router_fake.h).
ROUTER_STATE_SOURCES = router/router.c router/nodes.c router/sched.c router/models.c \
	router/ipcount.c router/ratelimit.c router/clientip.c router/strmap.c \
	router/siphash.c router/tq.c router/buf.c router/chunkparse.c router/rconfig.c \
	router/policy.c router/trust.c router/probe.c router/probe-questions.c router/admin.c \
	router/tools.c router/prompt.c router/standing.c \
	tests/unit/router_fake.c tests/unit/router_fake.h
tests_unit_test_router_nodes_SOURCES = tests/unit/test_router_nodes.c $(ROUTER_STATE_SOURCES)
tests_unit_test_router_nodes_CPPFLAGS = $(ROUTER_CPPFLAGS) $(UV_CFLAGS)
tests_unit_test_router_nodes_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_router_nodes_LDADD = $(IC_COMMON_LIBS) $(LWS_LIBS) $(UV_LIBS) $(CHECK_LIBS) -lm
tests_unit_test_router_sched_SOURCES = tests/unit/test_router_sched.c $(ROUTER_STATE_SOURCES)
tests_unit_test_router_sched_CPPFLAGS = $(ROUTER_CPPFLAGS) $(UV_CFLAGS)
tests_unit_test_router_sched_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_router_sched_LDADD = $(IC_COMMON_LIBS) $(LWS_LIBS) $(UV_LIBS) $(CHECK_LIBS) -lm
tests_unit_test_router_strmap_SOURCES = tests/unit/test_router_strmap.c \
	router/strmap.c router/siphash.c
tests_unit_test_router_strmap_CPPFLAGS = $(ROUTER_CPPFLAGS)
tests_unit_test_router_strmap_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_router_strmap_LDADD = $(IC_COMMON_LIBS) $(CHECK_LIBS)
tests_unit_test_router_ratelimit_SOURCES = tests/unit/test_router_ratelimit.c \
	router/ratelimit.c router/strmap.c router/siphash.c
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

# The consumer input policy and the probe questions.
check_PROGRAMS += tests/unit/test_router_trust
TESTS += tests/unit/test_router_trust
tests_unit_test_router_trust_SOURCES = tests/unit/test_router_trust.c $(ROUTER_STATE_SOURCES)
tests_unit_test_router_trust_CPPFLAGS = $(ROUTER_CPPFLAGS) $(UV_CFLAGS)
tests_unit_test_router_trust_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_router_trust_LDADD = $(IC_COMMON_LIBS) $(LWS_LIBS) $(UV_LIBS) $(CHECK_LIBS) -lm
