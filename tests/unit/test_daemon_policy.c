/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for idleclawd's pure parts: daemon/availability.c,
 * daemon/backoff.c (delays and how a close counts), daemon/nodeid.c (the
 * per-connection id) and daemon/dconfig.c (the key table's bounds).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <fcntl.h>
#include <unistd.h>

#include "daemon/availability.h"
#include "daemon/backoff.h"
#include "daemon/dconfig.h"
#include "daemon/nodeid.h"
#include "limits.h"
#include "validate.h"

START_TEST(test_available_by_default)
{
	struct availability a;

	memset(&a, 0, sizeof(a));
	ck_assert(avail_is(&a));
	ck_assert_str_eq(avail_reason_text(&a), "available");
}
END_TEST

START_TEST(test_reasons_combine)
{
	struct availability a;

	memset(&a, 0, sizeof(a));
	ck_assert(avail_set(&a, AVAIL_OLLAMA_DOWN, true)); /* changed */
	ck_assert(!avail_set(&a, AVAIL_NO_MODELS, true));  /* still unavailable */
	ck_assert_str_eq(avail_reason_text(&a), "ollama down");
	ck_assert(!avail_set(&a, AVAIL_OLLAMA_DOWN, false));
	ck_assert_str_eq(avail_reason_text(&a), "no models");
	ck_assert(avail_set(&a, AVAIL_NO_MODELS, false));
	ck_assert(avail_is(&a));
	/* draining names the state first */
	avail_set(&a, AVAIL_PAUSED, true);
	avail_set(&a, AVAIL_DRAINING, true);
	ck_assert_str_eq(avail_reason_text(&a), "draining");
}
END_TEST

START_TEST(test_pause_timed)
{
	struct availability a;

	memset(&a, 0, sizeof(a));
	ck_assert(avail_pause(&a, 1000, 30));
	ck_assert_int_eq(a.paused_until, 1030);
	ck_assert(!avail_tick(&a, 1029));
	ck_assert(!avail_is(&a));
	ck_assert(avail_tick(&a, 1030));
	ck_assert(avail_is(&a));
	/* until resume */
	ck_assert(avail_pause(&a, 1000, 0));
	ck_assert(!avail_tick(&a, 999999));
	ck_assert(avail_resume(&a));
	ck_assert(!avail_resume(&a));
	/* a timed pause does not end while Ollama is down, but the pause goes */
	avail_pause(&a, 0, 5);
	avail_set(&a, AVAIL_OLLAMA_DOWN, true);
	ck_assert(!avail_tick(&a, 10));
	ck_assert(!avail_has(&a, AVAIL_PAUSED));
}
END_TEST

START_TEST(test_backoff_bounds)
{
	int attempt;

	for (attempt = 0; attempt < 40; attempt++) {
		double lo = backoff_delay_s(attempt, IC_RECONNECT_MIN_S, IC_RECONNECT_MAX_S, 0.0);
		double hi =
			backoff_delay_s(attempt, IC_RECONNECT_MIN_S, IC_RECONNECT_MAX_S, 0.999999);

		ck_assert(lo >= IC_RECONNECT_MIN_S);
		ck_assert(hi <= IC_RECONNECT_MAX_S);
	}
	/* the ceiling doubles: 1, 2, 4, 8 ... capped at 60 */
	ck_assert(backoff_delay_s(0, 1, 60, 0.999) < 1.001);
	ck_assert(backoff_delay_s(3, 1, 60, 0.999) > 7.9);
	ck_assert(backoff_delay_s(3, 1, 60, 0.999) < 8.0);
	ck_assert(backoff_delay_s(10, 1, 60, 0.999) > 59.9);
	/* full jitter: r spreads over the whole range */
	ck_assert(backoff_delay_s(10, 1, 60, 0.5) > 29.0 && backoff_delay_s(10, 1, 60, 0.5) < 31.0);
}
END_TEST

START_TEST(test_backoff_classify)
{
	int code;

	/* a registered session the router ends because it goes away or
	 * restarts (1002: 1012-1015 as lws reports them) does not count */
	ck_assert_int_eq(backoff_classify(1001, true), BACKOFF_RESTART);
	ck_assert_int_eq(backoff_classify(1002, true), BACKOFF_RESTART);
	for (code = 1012; code <= 1014; code++)
		ck_assert_int_eq(backoff_classify(code, true), BACKOFF_RESTART);
	/* neighbours and other closes do */
	ck_assert_int_eq(backoff_classify(1011, true), BACKOFF_FAILURE);
	ck_assert_int_eq(backoff_classify(1015, true), BACKOFF_FAILURE);
	ck_assert_int_eq(backoff_classify(1000, true), BACKOFF_FAILURE);
	ck_assert_int_eq(backoff_classify(1003, true), BACKOFF_FAILURE);
	ck_assert_int_eq(backoff_classify(0, true), BACKOFF_FAILURE);
	/* before registration the same codes are failures */
	ck_assert_int_eq(backoff_classify(1012, false), BACKOFF_FAILURE);
	ck_assert_int_eq(backoff_classify(1002, false), BACKOFF_FAILURE);
	ck_assert_int_eq(backoff_classify(1001, false), BACKOFF_FAILURE);
	/* 1008 always waits longest */
	ck_assert_int_eq(backoff_classify(1008, true), BACKOFF_POLICY);
	ck_assert_int_eq(backoff_classify(1008, false), BACKOFF_POLICY);
}
END_TEST

START_TEST(test_nodeid_variant)
{
	char out[IC_NODE_ID_MAX + 1], a[IC_NODE_ID_MAX + 1], b[IC_NODE_ID_MAX + 1];
	char stable[IC_NODE_ID_MAX + 1];
	size_t keep = IC_NODE_ID_MAX - 1 - NODEID_NONCE_HEX;

	nodeid_variant("ic-0123abcd", 0x1a2b3c4du, out, sizeof(out));
	ck_assert_str_eq(out, "ic-0123abcd-1a2b3c4d");
	nodeid_variant("n", 0, out, sizeof(out));
	ck_assert_str_eq(out, "n-00000000");
	ck_assert(ic_valid_node_id(out));
	/* a stable id of IC_NODE_ID_MAX - 9 characters is kept whole ... */
	memset(stable, 'x', keep);
	stable[keep] = '\0';
	nodeid_variant(stable, 0xffffffffu, out, sizeof(out));
	ck_assert_uint_eq(strlen(out), IC_NODE_ID_MAX);
	ck_assert(strncmp(out, stable, keep) == 0);
	ck_assert_str_eq(out + keep, "-ffffffff");
	ck_assert(ic_valid_node_id(out));
	/* ... one character more is cut, and so is the longest valid id */
	memset(stable, 'y', keep + 1);
	stable[keep + 1] = '\0';
	nodeid_variant(stable, 7, out, sizeof(out));
	ck_assert_uint_eq(strlen(out), IC_NODE_ID_MAX);
	ck_assert_str_eq(out + keep, "-00000007");
	memset(stable, 'z', IC_NODE_ID_MAX);
	stable[IC_NODE_ID_MAX] = '\0';
	nodeid_variant(stable, 7, out, sizeof(out));
	ck_assert_uint_eq(strlen(out), IC_NODE_ID_MAX);
	ck_assert(ic_valid_node_id(out));
	/* another connection, another id */
	nodeid_variant("ic-x", 1, a, sizeof(a));
	nodeid_variant("ic-x", 2, b, sizeof(b));
	ck_assert_str_ne(a, b);
	ck_assert_str_ne(a, "ic-x");
}
END_TEST

START_TEST(test_nodeid_stable_ok)
{
	/* held until 100: the stable id waits until then, N-1 vs N */
	ck_assert(!nodeid_stable_ok(false, 100, 99));
	ck_assert(nodeid_stable_ok(false, 100, 100));
	ck_assert(nodeid_stable_ok(false, 0, 5));
	/* a router that replaces a same-id session safely: always */
	ck_assert(nodeid_stable_ok(true, 100, 99));
	ck_assert_int_ge(NODEID_HOLD_S, IC_HEARTBEAT_TIMEOUT_S + IC_HEARTBEAT_INTERVAL_S + 20);
}
END_TEST

static struct daemon_config *load_with(const char *override, char **errors)
{
	const char *ov[2] = { override, NULL };

	*errors = NULL;
	return dconfig_load_new("/nonexistent/idleclaw.conf", ov, errors);
}

START_TEST(test_config_defaults)
{
	char *errors = NULL;
	struct daemon_config *c = dconfig_load_new(NULL, NULL, &errors);

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->max_concurrent, 2); /* as the public agent */
	ck_assert_int_eq(c->heartbeat_interval, IC_HEARTBEAT_INTERVAL_S);
	ck_assert_int_eq(c->model_refresh, IC_MODEL_REFRESH_DEFAULT_S);
	ck_assert_int_eq(c->drain_timeout, IC_DRAIN_DEFAULT_S);
	ck_assert(!c->log_content);
	dconfig_free(c);
}
END_TEST

START_TEST(test_config_concurrency_limits)
{
	char buf[64], *errors;
	struct daemon_config *c;

	snprintf(buf, sizeof(buf), "daemon.max_concurrent=%d", IC_CONCURRENCY_MAX);
	c = load_with(buf, &errors);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->max_concurrent, IC_CONCURRENCY_MAX);
	dconfig_free(c);
	snprintf(buf, sizeof(buf), "daemon.max_concurrent=%d", IC_CONCURRENCY_MAX + 1);
	c = load_with(buf, &errors);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(errors);
	ck_assert_ptr_nonnull(strstr(errors, "max_concurrent"));
	free(errors);
	snprintf(buf, sizeof(buf), "daemon.max_concurrent=%d", IC_CONCURRENCY_MIN - 1);
	c = load_with(buf, &errors);
	ck_assert_ptr_null(c);
	free(errors);
	/* the heartbeat must stay under the router's 45 s timeout */
	snprintf(buf, sizeof(buf), "daemon.heartbeat_interval=%d", DCONFIG_HEARTBEAT_MAX_S + 1);
	c = load_with(buf, &errors);
	ck_assert_ptr_null(c);
	free(errors);
	c = load_with("daemon.server=ftp://example.com", &errors);
	ck_assert_ptr_null(c);
	free(errors);
}
END_TEST

/* The [idle] keys: defaults, names parsed, thresholds in order. */
START_TEST(test_config_idle)
{
	const char *ov[3] = { NULL, NULL, NULL };
	struct daemon_config *c;
	char *errors = NULL;

	c = dconfig_load_new(NULL, NULL, &errors);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->idle.mode, IDLE_MODE_AUTO);
	ck_assert_int_eq(c->idle_interval, 5);
	ck_assert_int_eq(c->idle.idle_time, 180);
	ck_assert_int_eq(c->idle.on_busy, IDLE_ON_BUSY_FINISH);
	ck_assert_int_eq(c->idle.busy_grace, 30);
	ck_assert(!c->idle.run_on_battery);
	ck_assert_str_eq(c->own_processes, "ollama*");
	ck_assert_ptr_null(c->exclusive_processes);
	dconfig_free(c);
	/* thresholds: idle equal to busy is fine, one above is not */
	ov[0] = "idle.cpu_busy=30";
	ov[1] = "idle.cpu_idle=30";
	c = dconfig_load_new(NULL, ov, &errors);
	ck_assert_ptr_nonnull(c);
	dconfig_free(c);
	ov[1] = "idle.cpu_idle=31";
	ck_assert_ptr_null(dconfig_load_new(NULL, ov, &errors));
	ck_assert_ptr_nonnull(
		strstr(errors, "idle.cpu_idle (31) must not be above idle.cpu_busy (30)"));
	free(errors);
	ov[0] = "idle.gpu_busy=10";
	ov[1] = "idle.gpu_idle=11";
	ck_assert_ptr_null(dconfig_load_new(NULL, ov, &errors));
	ck_assert_ptr_nonnull(strstr(errors, "idle.gpu_idle"));
	free(errors);
	/* names */
	c = load_with("idle.mode=Never", &errors);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->idle.mode, IDLE_MODE_NEVER);
	dconfig_free(c);
	c = load_with("idle.on_battery=run", &errors);
	ck_assert(c->idle.run_on_battery);
	dconfig_free(c);
	c = load_with("idle.on_busy=cancel", &errors);
	ck_assert_int_eq(c->idle.on_busy, IDLE_ON_BUSY_CANCEL);
	dconfig_free(c);
	ck_assert_ptr_null(load_with("idle.mode=sometimes", &errors));
	ck_assert_str_eq(errors, "idle.mode: \"sometimes\" is not auto, always or never");
	free(errors);
	ck_assert_ptr_null(load_with("idle.on_busy=", &errors));
	ck_assert_ptr_nonnull(strstr(errors, "idle.on_busy"));
	free(errors);
	ck_assert_ptr_null(load_with("idle.on_battery=drain", &errors));
	ck_assert_ptr_nonnull(strstr(errors, "idle.on_battery"));
	free(errors);
	ck_assert_ptr_null(load_with("idle.proc_root=", &errors));
	free(errors);
	/* bounds: interval 1..3600 */
	c = load_with("idle.interval=1", &errors);
	ck_assert_ptr_nonnull(c);
	dconfig_free(c);
	ck_assert_ptr_null(load_with("idle.interval=0", &errors));
	free(errors);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("daemon_policy");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_available_by_default);
	tcase_add_test(tc, test_reasons_combine);
	tcase_add_test(tc, test_pause_timed);
	tcase_add_test(tc, test_backoff_bounds);
	tcase_add_test(tc, test_backoff_classify);
	tcase_add_test(tc, test_nodeid_variant);
	tcase_add_test(tc, test_nodeid_stable_ok);
	tcase_add_test(tc, test_config_defaults);
	tcase_add_test(tc, test_config_concurrency_limits);
	tcase_add_test(tc, test_config_idle);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
