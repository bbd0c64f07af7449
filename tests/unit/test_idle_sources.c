/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for the idle samplers (daemon/idle-cpu.c, idle-power.c,
 * idle-tty.c, idle-drm.c, idle-nvml.c) over fake proc/sys/dev trees in a
 * temporary directory, and the fake NVML library of tests/fake-nvml.
 */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/patterns.h"
#include "daemon/idle-sources.h"

static char root[256];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void setup(void)
{
	snprintf(
		root, sizeof(root), "%s/idle-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(root));
}

static void teardown(void)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Create ROOT/rel (and its directories) holding the formatted text. */
static void put(const char *rel, const char *fmt, ...)
{
	char path[512], *p;
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (p = path + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static void link_to(const char *rel, const char *target)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	unlink(path);
	ck_assert_int_eq(symlink(target, path), 0);
}

static void rm(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ROOT/rel; four calls may be live at once (function arguments). */
static char *at(const char *rel)
{
	static char path[4][512];
	static unsigned i;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", root, rel);
	return path[i];
}

/* /proc/stat with all = busy + idle ticks. */
static void put_stat(unsigned long busy, unsigned long idle)
{
	put("proc/stat", "cpu  %lu 0 0 %lu 0 0 0 0 0 0\ncpu0 1 2 3 4\n", busy, idle);
}

static void put_proc(int pid, const char *comm, unsigned long utime, unsigned long stime)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "proc/%d/comm", pid);
	put(rel, "%s\n", comm);
	snprintf(rel, sizeof(rel), "proc/%d/stat", pid);
	put(rel, "%d (%s) S 1 1 1 0 -1 4194560 100 0 0 0 %lu %lu 0 0 20 0 1 0 12345 0 0\n", pid,
		comm, utime, stime);
}

START_TEST(test_cpu_others)
{
	struct idle_cpu *c;
	struct idle_sample s;

	put_stat(1000, 1000);
	put_proc(100, "ollama", 10, 10);
	put_proc(200, "blender", 10, 10);
	c = idle_cpu_new(at("proc"), 1, "ollama*", "");
	idle_sample_init(&s, 0);
	idle_cpu_sample(c, &s);
	ck_assert(s.cpu_others < 0); /* the first sample has no delta */
	/* 200 ticks: 160 busy, of which ollama used 100 */
	put_stat(1160, 1040);
	put_proc(100, "ollama", 70, 50);
	put_proc(200, "blender", 60, 20);
	idle_sample_init(&s, 5);
	idle_cpu_sample(c, &s);
	ck_assert_double_eq_tol(s.cpu_others, 30.0, 0.01);
	ck_assert_double_eq_tol(idle_cpu_own_percent(c), 50.0, 0.01);
	ck_assert(idle_cpu_is_own(c, 100));
	ck_assert(idle_cpu_is_own(c, 1)); /* self */
	ck_assert(!idle_cpu_is_own(c, 200));
	idle_cpu_free(c);
}
END_TEST

START_TEST(test_cpu_own_at_full_load_is_not_others)
{
	struct idle_cpu *c;
	struct idle_sample s;

	put_stat(0, 0);
	put_proc(100, "ollama", 0, 0);
	put_proc(101, "ollama_llama_se", 0, 0);
	c = idle_cpu_new(at("proc"), 1, "ollama*", "");
	idle_sample_init(&s, 0);
	idle_cpu_sample(c, &s);
	/* both own processes use every CPU */
	put_stat(400, 0);
	put_proc(100, "ollama", 50, 50);
	put_proc(101, "ollama_llama_se", 200, 100);
	idle_sample_init(&s, 5);
	idle_cpu_sample(c, &s);
	ck_assert_double_eq_tol(s.cpu_others, 0.0, 0.01);
	ck_assert_double_eq_tol(idle_cpu_own_percent(c), 100.0, 0.01);
	idle_cpu_free(c);
}
END_TEST

START_TEST(test_cpu_new_runner_found_before_it_counts)
{
	struct idle_cpu *c;
	struct idle_sample s;

	put_stat(0, 0);
	put_proc(100, "ollama", 0, 0);
	c = idle_cpu_new(at("proc"), 1, "ollama*", "");
	idle_sample_init(&s, 0);
	idle_cpu_sample(c, &s); /* scan */
	/* a runner starts between scans and uses 90 of 100 ticks */
	put_proc(300, "ollama_llama_se", 60, 30);
	put_stat(90, 10);
	idle_sample_init(&s, 5);
	idle_cpu_sample(c, &s);
	ck_assert_double_eq_tol(s.cpu_others, 0.0, 0.01);
	ck_assert(idle_cpu_is_own(c, 300));
	idle_cpu_free(c);
}
END_TEST

START_TEST(test_cpu_foreign_new_process_counts)
{
	struct idle_cpu *c;
	struct idle_sample s;

	put_stat(0, 0);
	c = idle_cpu_new(at("proc"), 1, "ollama*", "");
	idle_sample_init(&s, 0);
	idle_cpu_sample(c, &s);
	put_proc(300, "make", 50, 10);
	put_stat(60, 40);
	idle_sample_init(&s, 5);
	idle_cpu_sample(c, &s);
	ck_assert_double_eq_tol(s.cpu_others, 60.0, 0.01);
	idle_cpu_free(c);
}
END_TEST

START_TEST(test_cpu_comm_with_parens_and_pid_reuse)
{
	struct idle_cpu *c;
	struct idle_sample s;
	size_t n;

	put_stat(0, 0);
	put_proc(100, "ollama) (x", 0, 0);
	c = idle_cpu_new(at("proc"), 1, "ollama*", "");
	idle_sample_init(&s, 0);
	idle_cpu_sample(c, &s);
	put_stat(100, 0);
	put_proc(100, "ollama) (x", 30, 20);
	idle_sample_init(&s, 5);
	idle_cpu_sample(c, &s);
	ck_assert_double_eq_tol(s.cpu_others, 50.0, 0.01);
	/* the pid now belongs to another program: not ours any more */
	put_proc(100, "bash", 80, 20);
	put_stat(200, 0);
	idle_sample_init(&s, 10);
	idle_cpu_sample(c, &s);
	idle_cpu_own(c, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_double_eq_tol(s.cpu_others, 100.0, 0.01);
	idle_cpu_free(c);
}
END_TEST

START_TEST(test_cpu_exclusive)
{
	struct idle_cpu *c;
	struct idle_sample s;

	put_stat(0, 0);
	put_proc(400, "steam", 0, 0);
	c = idle_cpu_new(at("proc"), 1, "ollama*", "zoom, steam");
	idle_sample_init(&s, 0);
	idle_cpu_sample(c, &s);
	ck_assert_str_eq(s.exclusive, "steam");
	ck_assert_int_eq(s.exclusive_pid, 400);
	rm("proc/400");
	idle_sample_init(&s, 5);
	idle_cpu_sample(c, &s); /* not a scan: the pid is checked */
	ck_assert_str_eq(s.exclusive, "");
	idle_cpu_free(c);
}
END_TEST

START_TEST(test_cpu_no_proc)
{
	struct idle_cpu *c = idle_cpu_new(at("nothing"), 1, "ollama*", "");
	struct idle_sample s;

	idle_sample_init(&s, 0);
	idle_cpu_sample(c, &s);
	idle_cpu_sample(c, &s);
	ck_assert(s.cpu_others < 0);
	ck_assert(idle_cpu_psi(at("nothing")) < 0);
	idle_cpu_free(c);
}
END_TEST

START_TEST(test_psi)
{
	put("proc/pressure/cpu",
		"some avg10=12.50 avg60=3.00 avg300=1.00 total=5\n"
		"full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
	ck_assert_double_eq_tol(idle_cpu_psi(at("proc")), 12.5, 0.001);
}
END_TEST

START_TEST(test_power)
{
	ck_assert_int_eq(idle_power_read(at("sys")), IDLE_POWER_UNKNOWN);
	put("sys/class/power_supply/.keep", "");
	ck_assert_int_eq(idle_power_read(at("sys")), IDLE_POWER_NONE);
	put("sys/class/power_supply/AC/type", "Mains\n");
	put("sys/class/power_supply/AC/online", "1\n");
	ck_assert_int_eq(idle_power_read(at("sys")), IDLE_POWER_MAINS);
	put("sys/class/power_supply/BAT0/type", "Battery\n");
	put("sys/class/power_supply/BAT0/status", "Charging\n");
	ck_assert_int_eq(idle_power_read(at("sys")), IDLE_POWER_MAINS);
	put("sys/class/power_supply/AC/online", "0\n");
	ck_assert_int_eq(idle_power_read(at("sys")), IDLE_POWER_BATTERY);
	ck_assert_str_eq(idle_power_name(IDLE_POWER_BATTERY), "battery");
	/* a USB-C supply online is external power too */
	put("sys/class/power_supply/ucsi/type", "USB\n");
	put("sys/class/power_supply/ucsi/online", "1\n");
	ck_assert_int_eq(idle_power_read(at("sys")), IDLE_POWER_MAINS);
	/* a battery slot without a battery */
	rm("sys/class/power_supply/ucsi");
	put("sys/class/power_supply/BAT0/present", "0\n");
	ck_assert_int_eq(idle_power_read(at("sys")), IDLE_POWER_MAINS);
	/* only a battery listed: its status decides */
	rm("sys/class/power_supply/AC");
	put("sys/class/power_supply/BAT0/present", "1\n");
	ck_assert_int_eq(idle_power_read(at("sys")), IDLE_POWER_MAINS);
	put("sys/class/power_supply/BAT0/status", "Discharging\n");
	ck_assert_int_eq(idle_power_read(at("sys")), IDLE_POWER_BATTERY);
}
END_TEST

static void touch_atime(const char *rel, time_t t)
{
	struct timeval tv[2] = { { t, 0 }, { t, 0 } };

	put(rel, "");
	ck_assert_int_eq(utimes(at(rel), tv), 0);
}

START_TEST(test_tty)
{
	char where[IDLE_WHERE_MAX];
	time_t now = 1700000000;

	ck_assert_int_eq(idle_tty_input_age(at("dev"), now, where, sizeof(where)), -1);
	touch_atime("dev/pts/3", now - 8);
	touch_atime("dev/pts/ptmx", now); /* not a terminal */
	touch_atime("dev/ttyS0", now);	  /* a serial line */
	touch_atime("dev/tty1", now - 100);
	ck_assert_int_eq(idle_tty_input_age(at("dev"), now, where, sizeof(where)), 8);
	ck_assert_str_eq(where, "pts/3");
	touch_atime("dev/tty1", now - 2);
	ck_assert_int_eq(idle_tty_input_age(at("dev"), now, where, sizeof(where)), 2);
	ck_assert_str_eq(where, "tty1");
}
END_TEST

static void put_drm_fd(
	int pid, int fd, unsigned id, unsigned long long gfx, unsigned long long compute)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "proc/%d/fd/.keep", pid);
	put(rel, "");
	snprintf(rel, sizeof(rel), "proc/%d/fd/%d", pid, fd);
	link_to(rel, "/dev/dri/renderD128");
	snprintf(rel, sizeof(rel), "proc/%d/fdinfo/%d", pid, fd);
	put(rel,
		"pos:\t0\nflags:\t02100002\ndrm-driver:\tamdgpu\ndrm-client-id:\t%u\n"
		"drm-pdev:\t0000:03:00.0\ndrm-engine-capacity-gfx:\t1\n"
		"drm-engine-gfx:\t%llu ns\ndrm-engine-compute:\t%llu ns\n",
		id, gfx, compute);
}

START_TEST(test_drm)
{
	struct idle_gpu_reading r[IDLE_GPU_MAX];
	struct idle_drm *g;
	pid_t own[] = { 100 };

	put("sys/devices/pci0000:00/0000:03:00.0/gpu_busy_percent", "90\n");
	put("sys/class/drm/.keep", "");
	link_to("sys/class/drm/card0", "../../devices/pci0000:00/0000:03:00.0/drm/card0");
	put("sys/devices/pci0000:00/0000:03:00.0/drm/card0/.keep", "");
	link_to("sys/devices/pci0000:00/0000:03:00.0/drm/card0/device", "../../../0000:03:00.0");
	put("sys/class/drm/renderD128/.keep", ""); /* not a card */
	put_drm_fd(100, 5, 7, 1000, 0);
	put_drm_fd(100, 6, 7, 1000, 0); /* the same client on a second fd */
	put("proc/100/fd/9", "");	/* a regular file, not DRM */
	g = idle_drm_new(at("proc"), at("sys"));
	ck_assert_uint_eq(idle_drm_sample(g, own, 1, 1000000000ull, r, IDLE_GPU_MAX), 0);
	/* one second later the client used 0.4 s gfx + 0.1 s compute */
	put_drm_fd(100, 5, 7, 400001000ull, 100000000ull);
	put_drm_fd(100, 6, 7, 400001000ull, 100000000ull);
	ck_assert_uint_eq(idle_drm_sample(g, own, 1, 2000000000ull, r, IDLE_GPU_MAX), 1);
	ck_assert_int_eq(r[0].index, 0);
	ck_assert_double_eq_tol(r[0].total, 90, 0.01);
	ck_assert_double_eq_tol(r[0].own, 50, 0.01);
	/* not our process: nothing is taken out */
	ck_assert_uint_eq(idle_drm_sample(g, NULL, 0, 3000000000ull, r, IDLE_GPU_MAX), 1);
	ck_assert_double_eq_tol(r[0].own, 0, 0.01);
	idle_drm_free(g);
}
END_TEST

START_TEST(test_drm_no_gpu)
{
	struct idle_gpu_reading r[IDLE_GPU_MAX];
	struct idle_drm *g = idle_drm_new(at("proc"), at("sys"));

	ck_assert_uint_eq(idle_drm_sample(g, NULL, 0, 1, r, IDLE_GPU_MAX), 0);
	ck_assert_uint_eq(idle_drm_sample(g, NULL, 0, 2, r, IDLE_GPU_MAX), 0);
	idle_drm_free(g);
}
END_TEST

static bool own_100(const void *ctx, pid_t pid)
{
	return pid == 100;
}

START_TEST(test_nvml_absent)
{
	char why[256];

	ck_assert_ptr_null(idle_nvml_new(at("libnvidia-ml.so.1"), why, sizeof(why)));
	ck_assert(strncmp(why, "no NVIDIA GPU", 13) == 0);
	/* the library is there, the driver is not */
	unsetenv("FAKE_NVML_FILE");
	ck_assert_ptr_null(idle_nvml_new(FAKE_NVML_PATH, why, sizeof(why)));
	ck_assert(strncmp(why, "no NVIDIA GPU", 13) == 0);
}
END_TEST

START_TEST(test_nvml)
{
	struct idle_gpu_reading r[IDLE_GPU_MAX];
	struct idle_nvml *n;
	char why[256];

	put("nvml", "gpu 0 87\ngpu 1 5\nproc 0 100 60\nproc 0 4242 27\n");
	put_proc(4242, "blender", 0, 0);
	setenv("FAKE_NVML_FILE", at("nvml"), 1);
	n = idle_nvml_new(FAKE_NVML_PATH, why, sizeof(why));
	ck_assert_msg(n != NULL, "%s", why);
	ck_assert_uint_eq(idle_nvml_sample(n, at("proc"), own_100, NULL, r, IDLE_GPU_MAX), 2);
	ck_assert_double_eq_tol(r[0].total, 87, 0.01);
	ck_assert_double_eq_tol(r[0].own, 60, 0.01);
	ck_assert_int_eq(r[0].top_pid, 4242);
	ck_assert_str_eq(r[0].top_comm, "blender");
	ck_assert_int_eq(r[1].index, 1);
	ck_assert_double_eq_tol(r[1].total, 5, 0.01);
	ck_assert_double_eq_tol(r[1].own, 0, 0.01);
	/* the own process ends its work */
	put("nvml", "gpu 0 30\ngpu 1 5\nproc 0 4242 30\n");
	idle_nvml_sample(n, at("proc"), own_100, NULL, r, IDLE_GPU_MAX);
	ck_assert_double_eq_tol(r[0].own, 0, 0.01);
	idle_nvml_free(n);
	unsetenv("FAKE_NVML_FILE");
}
END_TEST

START_TEST(test_comm_match)
{
	ck_assert(ic_patterns_match("ollama*", "ollama_llama_se"));
	ck_assert(ic_patterns_match("zoom, steam", "steam"));
	ck_assert(!ic_patterns_match("zoom, steam", "steamwebhelper"));
	ck_assert(!ic_patterns_match("", "x"));
	ck_assert(!ic_patterns_match(NULL, "x"));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("idle_sources");
	TCase *tc = tcase_create("sources");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_cpu_others);
	tcase_add_test(tc, test_cpu_own_at_full_load_is_not_others);
	tcase_add_test(tc, test_cpu_new_runner_found_before_it_counts);
	tcase_add_test(tc, test_cpu_foreign_new_process_counts);
	tcase_add_test(tc, test_cpu_comm_with_parens_and_pid_reuse);
	tcase_add_test(tc, test_cpu_exclusive);
	tcase_add_test(tc, test_cpu_no_proc);
	tcase_add_test(tc, test_psi);
	tcase_add_test(tc, test_power);
	tcase_add_test(tc, test_tty);
	tcase_add_test(tc, test_drm);
	tcase_add_test(tc, test_drm_no_gpu);
	tcase_add_test(tc, test_nvml_absent);
	tcase_add_test(tc, test_nvml);
	tcase_add_test(tc, test_comm_match);
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
