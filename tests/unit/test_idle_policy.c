/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for daemon/idle.c: the idle policy over sample sequences.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "daemon/idle.h"

/* cpu 50/25, gpu 60/30, idle_time 60 s, 5 s samples */
static const struct idle_params defaults = {
	.mode = IDLE_MODE_AUTO,
	.cpu_busy = 50,
	.cpu_idle = 25,
	.gpu_busy = 60,
	.gpu_idle = 30,
	.idle_time = 60,
	.run_on_battery = false,
	.on_busy = IDLE_ON_BUSY_FINISH,
	.busy_grace = 30,
};

static struct idle_policy pol;
static time_t now;

static void setup(void)
{
	idle_policy_init(&pol, &defaults);
	now = 1000;
}

/* A quiet sample (every load signal known and low, no input). */
static struct idle_sample quiet(void)
{
	struct idle_sample s;

	idle_sample_init(&s, now);
	s.cpu_others = 2;
	s.gpu_others = 0;
	s.on_battery = 0;
	s.input_age = 100000;
	snprintf(s.input_where, sizeof(s.input_where), "pts/0");
	return s;
}

static bool feed(struct idle_sample s)
{
	s.now = now;
	return idle_policy_update(&pol, &s);
}

/* Quiet samples every 5 s until the policy lends. */
static void reach_idle(void)
{
	int i;

	for (i = 0; i < 100 && pol.state != IDLE_STATE_IDLE; i++) {
		feed(quiet());
		now += 5;
	}
	ck_assert_int_eq(pol.state, IDLE_STATE_IDLE);
}

static void feed_cpu(double v)
{
	struct idle_sample s = quiet();

	s.cpu_others = v;
	feed(s);
}

static void feed_gpu(double v)
{
	struct idle_sample s = quiet();

	s.gpu_others = v;
	s.gpu_index = 1;
	s.gpu_pid = 4242;
	snprintf(s.gpu_comm, sizeof(s.gpu_comm), "blender");
	feed(s);
}

START_TEST(test_unknown_before_first_sample)
{
	ck_assert_int_eq(pol.state, IDLE_STATE_UNKNOWN);
	ck_assert(!idle_policy_lend(&pol));
	ck_assert_str_eq(pol.reason, "no sample yet");
	ck_assert_int_eq(idle_policy_cancel_at(&pol), 0);
}
END_TEST

START_TEST(test_idle_time_exact)
{
	/* samples at 1000..1055 are not enough; the one at 1060 is */
	ck_assert(feed(quiet())); /* unknown -> busy (waiting) */
	ck_assert_int_eq(pol.state, IDLE_STATE_BUSY);
	ck_assert_str_eq(pol.reason, "idle for 0s of 1m");
	for (now = 1005; now < 1060; now += 5) {
		ck_assert(!feed(quiet()));
		ck_assert_int_eq(pol.state, IDLE_STATE_BUSY);
	}
	ck_assert_str_eq(pol.reason, "idle for 55s of 1m");
	ck_assert(feed(quiet()));
	ck_assert_int_eq(pol.state, IDLE_STATE_IDLE);
	ck_assert(idle_policy_lend(&pol));
	ck_assert_int_eq(pol.since, 1060);
	ck_assert_str_eq(pol.reason, "idle for 1m");
}
END_TEST

START_TEST(test_cpu_hysteresis)
{
	reach_idle();
	feed_cpu(49.4); /* just below cpu_busy: still idle */
	ck_assert_int_eq(pol.state, IDLE_STATE_IDLE);
	now += 5;
	feed_cpu(50); /* at cpu_busy: busy at the first sample */
	ck_assert_int_eq(pol.state, IDLE_STATE_BUSY);
	ck_assert_int_eq(pol.since, now);
	ck_assert_str_eq(pol.reason, "CPU 50% used by others");
	now += 5;
	feed_cpu(25); /* between the thresholds: stays busy */
	ck_assert_int_eq(pol.state, IDLE_STATE_BUSY);
	ck_assert_str_eq(pol.reason, "CPU 25% used by others");
	ck_assert_int_eq(pol.quiet_from, 0);
	now += 5;
	feed_cpu(24.9); /* below cpu_idle: the quiet run starts */
	ck_assert_int_eq(pol.state, IDLE_STATE_BUSY);
	ck_assert_int_eq(pol.quiet_from, now);
	ck_assert_str_eq(pol.reason, "idle for 0s of 1m");
	now += 5;
	feed_cpu(40); /* between again, but came from below: quiet */
	ck_assert_int_eq(pol.state, IDLE_STATE_BUSY);
	ck_assert_str_eq(pol.reason, "idle for 5s of 1m");
}
END_TEST

START_TEST(test_cpu_busy_restarts_quiet_run)
{
	time_t start;

	reach_idle();
	feed_cpu(90);
	now += 5;
	feed_cpu(1);
	start = now;
	now += 50;
	feed_cpu(80); /* busy again before idle_time: the run restarts */
	ck_assert_int_eq(pol.quiet_from, 0);
	now += 5;
	feed_cpu(1);
	ck_assert_int_eq(pol.quiet_from, now);
	now = start + 60;
	feed_cpu(1);
	ck_assert_int_eq(pol.state, IDLE_STATE_BUSY); /* only 5 s of the new run */
	now = pol.quiet_from + 60;
	feed_cpu(1);
	ck_assert_int_eq(pol.state, IDLE_STATE_IDLE);
}
END_TEST

START_TEST(test_gpu_hysteresis)
{
	reach_idle();
	feed_gpu(59);
	ck_assert_int_eq(pol.state, IDLE_STATE_IDLE);
	now += 5;
	feed_gpu(60);
	ck_assert_int_eq(pol.state, IDLE_STATE_BUSY);
	ck_assert_str_eq(pol.reason, "GPU1 60% used by blender (pid 4242)");
	now += 5;
	feed_gpu(30);
	ck_assert_int_eq(pol.quiet_from, 0);
	now += 5;
	feed_gpu(29);
	ck_assert_int_eq(pol.quiet_from, now);
}
END_TEST

START_TEST(test_gpu_unattributed)
{
	struct idle_sample s = quiet();

	s.gpu_others = 87;
	feed(s);
	ck_assert_str_eq(pol.reason, "GPU0 87% used by others");
}
END_TEST

START_TEST(test_unknown_signals_do_not_block)
{
	struct idle_sample s;
	int i;

	for (i = 0; i <= 12; i++) {
		idle_sample_init(&s, now);
		idle_policy_update(&pol, &s);
		now += 5;
	}
	ck_assert_int_eq(pol.state, IDLE_STATE_IDLE);
	/* and an unknown reading ends a busy signal's hysteresis */
	feed_cpu(90);
	ck_assert_int_eq(pol.state, IDLE_STATE_BUSY);
	now += 5;
	idle_sample_init(&s, now);
	idle_policy_update(&pol, &s);
	ck_assert(!pol.cpu_high);
}
END_TEST

START_TEST(test_exclusive_process)
{
	struct idle_sample s;

	reach_idle();
	s = quiet();
	snprintf(s.exclusive, sizeof(s.exclusive), "steam");
	s.exclusive_pid = 77;
	feed(s);
	ck_assert_int_eq(pol.state, IDLE_STATE_BUSY);
	ck_assert_str_eq(pol.reason, "exclusive process steam running (pid 77)");
	ck_assert_int_eq(pol.quiet_from, 0);
	now += 5;
	feed(quiet());
	ck_assert_int_eq(pol.state, IDLE_STATE_BUSY);
	ck_assert_int_eq(pol.quiet_from, now);
}
END_TEST

START_TEST(test_battery)
{
	struct idle_sample s;

	reach_idle();
	s = quiet();
	s.on_battery = 1;
	feed(s);
	ck_assert_int_eq(pol.state, IDLE_STATE_BUSY);
	ck_assert_str_eq(pol.reason, "on battery");
	/* unknown power is not battery */
	now += 5;
	s.on_battery = -1;
	feed(s);
	ck_assert_str_eq(pol.reason, "idle for 0s of 1m");
}
END_TEST

START_TEST(test_battery_run)
{
	struct idle_params p = defaults;
	struct idle_sample s;

	p.run_on_battery = true;
	idle_policy_set_params(&pol, &p);
	reach_idle();
	s = quiet();
	s.on_battery = 1;
	feed(s);
	ck_assert_int_eq(pol.state, IDLE_STATE_IDLE);
}
END_TEST

START_TEST(test_presence_wins)
{
	struct idle_sample s;
	time_t typed;

	reach_idle();
	s = quiet();
	s.cpu_others = 0;
	s.input_age = 8;
	snprintf(s.input_where, sizeof(s.input_where), "pts/3");
	ck_assert(feed(s));
	ck_assert_int_eq(pol.state, IDLE_STATE_BUSY);
	ck_assert_str_eq(pol.reason, "user typed on pts/3 8 s ago");
	typed = now - 8;
	/* idle again idle_time after the input, not idle_time after presence ended */
	now = typed + 59;
	s.input_age = 59;
	feed(s);
	ck_assert_int_eq(pol.state, IDLE_STATE_BUSY);
	now = typed + 60;
	s.input_age = 60;
	feed(s);
	ck_assert_int_eq(pol.state, IDLE_STATE_IDLE);
}
END_TEST

START_TEST(test_presence_logind)
{
	struct idle_sample s = quiet();

	s.input_age = 3;
	snprintf(s.input_where, sizeof(s.input_where), "logind");
	feed(s);
	ck_assert_str_eq(pol.reason, "user input 3 s ago (logind)");
}
END_TEST

START_TEST(test_reason_order)
{
	struct idle_sample s = quiet();

	s.cpu_others = 90;
	s.gpu_others = 90;
	s.input_age = 1;
	feed(s);
	ck_assert_str_eq(pol.reason, "GPU0 90% used by others");
	now += 5;
	snprintf(s.exclusive, sizeof(s.exclusive), "zoom");
	feed(s);
	ck_assert_str_eq(pol.reason, "exclusive process zoom running");
	now += 5;
	s.on_battery = 1;
	feed(s);
	ck_assert_str_eq(pol.reason, "on battery");
}
END_TEST

START_TEST(test_modes)
{
	struct idle_params p = defaults;
	struct idle_sample s = quiet();

	p.mode = IDLE_MODE_ALWAYS;
	idle_policy_set_params(&pol, &p);
	s.cpu_others = 100;
	s.on_battery = 1;
	ck_assert(feed(s));
	ck_assert_int_eq(pol.state, IDLE_STATE_IDLE);
	ck_assert_str_eq(pol.reason, "mode = always");
	p.mode = IDLE_MODE_NEVER;
	idle_policy_set_params(&pol, &p);
	now += 5;
	ck_assert(feed(quiet()));
	ck_assert_int_eq(pol.state, IDLE_STATE_BUSY);
	ck_assert_str_eq(pol.reason, "mode = never");
}
END_TEST

START_TEST(test_on_busy_finish)
{
	time_t busy_at;

	reach_idle();
	ck_assert_int_eq(idle_policy_cancel_at(&pol), 0);
	feed_cpu(99);
	busy_at = now;
	ck_assert(!idle_policy_lend(&pol)); /* no new request from the first busy sample */
	ck_assert_int_eq(idle_policy_cancel_at(&pol), busy_at + 30);
	now += 5;
	feed_cpu(99); /* staying busy does not move the deadline */
	ck_assert_int_eq(idle_policy_cancel_at(&pol), busy_at + 30);
}
END_TEST

START_TEST(test_on_busy_cancel)
{
	struct idle_params p = defaults;

	p.on_busy = IDLE_ON_BUSY_CANCEL;
	idle_policy_set_params(&pol, &p);
	reach_idle();
	feed_cpu(99);
	ck_assert_int_eq(idle_policy_cancel_at(&pol), now);
}
END_TEST

START_TEST(test_names_and_durations)
{
	enum idle_mode m;
	enum idle_on_busy b;
	char buf[16];

	ck_assert_int_eq(idle_mode_parse("Never", &m), 0);
	ck_assert_int_eq(m, IDLE_MODE_NEVER);
	ck_assert_int_eq(idle_mode_parse("sometimes", &m), -1);
	ck_assert_int_eq(idle_on_busy_parse("cancel", &b), 0);
	ck_assert_int_eq(b, IDLE_ON_BUSY_CANCEL);
	ck_assert_int_eq(idle_on_busy_parse("", &b), -1);
	ck_assert_str_eq(idle_state_name(IDLE_STATE_BUSY), "busy");
	idle_format_duration(160, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2m40s");
	idle_format_duration(180, buf, sizeof(buf));
	ck_assert_str_eq(buf, "3m");
	idle_format_duration(3720, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1h2m");
	idle_format_duration(-5, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0s");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("idle_policy");
	TCase *tc = tcase_create("policy");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_unknown_before_first_sample);
	tcase_add_test(tc, test_idle_time_exact);
	tcase_add_test(tc, test_cpu_hysteresis);
	tcase_add_test(tc, test_cpu_busy_restarts_quiet_run);
	tcase_add_test(tc, test_gpu_hysteresis);
	tcase_add_test(tc, test_gpu_unattributed);
	tcase_add_test(tc, test_unknown_signals_do_not_block);
	tcase_add_test(tc, test_exclusive_process);
	tcase_add_test(tc, test_battery);
	tcase_add_test(tc, test_battery_run);
	tcase_add_test(tc, test_presence_wins);
	tcase_add_test(tc, test_presence_logind);
	tcase_add_test(tc, test_reason_order);
	tcase_add_test(tc, test_modes);
	tcase_add_test(tc, test_on_busy_finish);
	tcase_add_test(tc, test_on_busy_cancel);
	tcase_add_test(tc, test_names_and_durations);
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
	return failed ? 1 : 0;
}
