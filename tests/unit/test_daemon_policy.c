/*
 * Unit tests for idleclawd's pure parts: daemon/availability.c,
 * daemon/backoff.c (delays and how a close counts), daemon/nodeid.c (the
 * per-connection id), daemon/dconfig.c (the key table's bounds), and
 * daemon/sha256.c + daemon/sdnotify.c checked against libsystemd.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <fcntl.h>
#include <unistd.h>

#include <systemd/sd-id128.h>

#include "daemon/availability.h"
#include "daemon/backoff.h"
#include "daemon/dconfig.h"
#include "daemon/nodeid.h"
#include "daemon/sdnotify.h"
#include "daemon/sha256.h"
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
	ck_assert(avail_set(&a, AVAIL_OLLAMA_DOWN, true));	/* changed */
	ck_assert(!avail_set(&a, AVAIL_NO_MODELS, true));	/* still unavailable */
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
		double hi = backoff_delay_s(attempt, IC_RECONNECT_MIN_S, IC_RECONNECT_MAX_S,
					    0.999999);

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

static struct daemon_config *
load_with(const char *override, char **errors)
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
	ck_assert_int_eq(c->max_concurrent, 2);	/* as the public agent */
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

static void
hex(const uint8_t *b, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

START_TEST(test_sha256_vectors)
{
	uint8_t d[SHA256_LEN];
	char h[65];
	char *million = malloc(1000000);

	sha256("abc", 3, d);
	hex(d, sizeof(d), h);
	ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256("", 0, d);
	hex(d, sizeof(d), h);
	ck_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	memset(million, 'a', 1000000);
	sha256(million, 1000000, d);
	hex(d, sizeof(d), h);
	ck_assert_str_eq(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(million);
	/* RFC 4231 test case 2 */
	hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
	hex(d, sizeof(d), h);
	ck_assert_str_eq(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
END_TEST

/* The node id must be what libsystemd would derive from this machine. */
START_TEST(test_machine_app_specific_matches_libsystemd)
{
	static const uint8_t app[16] = { 0x5e, 0x0b, 0x9c, 0x41, 0x7d, 0x2a, 0x4f, 0x63,
					 0xa8, 0x17, 0xc2, 0x90, 0x3b, 0xd4, 0xe6, 0xf1 };
	sd_id128_t app_id, want;
	char ours[33], theirs[33];

	memcpy(app_id.bytes, app, 16);
	if (sd_id128_get_machine_app_specific(app_id, &want) < 0)
		return;	/* no machine id here: nothing to compare */
	ck_assert_int_eq(sdn_machine_app_specific("/etc/machine-id", app, ours), 0);
	sd_id128_to_string(want, theirs);
	ck_assert_str_eq(ours, theirs);
	ck_assert_int_eq(sdn_machine_app_specific("/nonexistent/machine-id", app, ours), -1);
}
END_TEST

START_TEST(test_machine_id_file_checks)
{
	static const uint8_t app[16] = { 1 };
	char path[] = "/tmp/ic-mid-XXXXXX", out[33];
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(sdn_machine_app_specific(path, app, out), -1);	/* empty */
	ck_assert_int_eq(write(fd, "0123456789abcdef0123456789abcdeg\n", 33), 33);
	ck_assert_int_eq(sdn_machine_app_specific(path, app, out), -1);	/* not hex */
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	ck_assert_int_eq(pwrite(fd, "0123456789abcdef0123456789abcdef\n", 33, 0), 33);
	ck_assert_int_eq(sdn_machine_app_specific(path, app, out), 0);
	ck_assert_int_eq((int)strlen(out), 32);
	ck_assert(out[12] == '4');	/* a v4 UUID */
	close(fd);
	unlink(path);
}
END_TEST

START_TEST(test_notify_datagram)
{
	char dir[] = "/tmp/ic-notify-XXXXXX", path[128], buf[64];
	struct sockaddr_un sa;
	int s;
	ssize_t n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(sdn_notify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", path, 1);
	ck_assert_int_eq(sdn_notify("READY=1"), 1);
	ck_assert_int_eq(sdn_notifyf("STATUS=%d in flight", 3), 1);
	n = recv(s, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	ck_assert_str_eq(buf, "READY=1");
	n = recv(s, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	ck_assert_str_eq(buf, "STATUS=3 in flight");
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	ck_assert_int_eq(sdn_notify("READY=1"), -1);
	unsetenv("NOTIFY_SOCKET");
	close(s);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(test_watchdog_and_listen_env)
{
	uint64_t usec = 0;
	char pid[32];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	unsetenv("WATCHDOG_USEC");
	ck_assert(!sdn_watchdog_enabled(&usec));
	setenv("WATCHDOG_USEC", "30000000", 1);
	ck_assert(sdn_watchdog_enabled(&usec));
	ck_assert(usec == 30000000);
	setenv("WATCHDOG_PID", "1", 1);		/* someone else's */
	ck_assert(!sdn_watchdog_enabled(&usec));
	setenv("WATCHDOG_PID", pid, 1);
	ck_assert(sdn_watchdog_enabled(&usec));
	setenv("WATCHDOG_USEC", "soon", 1);
	ck_assert(!sdn_watchdog_enabled(&usec));
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");

	ck_assert_int_eq(sdn_listen_fds(), 0);
	setenv("LISTEN_PID", "1", 1);
	setenv("LISTEN_FDS", "1", 1);
	ck_assert_int_eq(sdn_listen_fds(), 0);	/* not for us */
	ck_assert_ptr_null(getenv("LISTEN_FDS"));
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "x", 1);
	ck_assert_int_eq(sdn_listen_fds(), -1);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1", 1);
	if (fcntl(3, F_GETFD) >= 0)
		ck_assert_int_eq(sdn_listen_fds(), 1);
}
END_TEST

static Suite *
suite(void)
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
	tcase_add_test(tc, test_sha256_vectors);
	tcase_add_test(tc, test_machine_app_specific_matches_libsystemd);
	tcase_add_test(tc, test_machine_id_file_checks);
	tcase_add_test(tc, test_notify_datagram);
	tcase_add_test(tc, test_watchdog_and_listen_env);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
