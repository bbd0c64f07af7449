/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests for daemon/control.c and control_listen.c on a real UNIX socket in
 * a temporary directory, with fake handlers bound to the real command
 * table (common/ctlproto.c).  Single-threaded: the test's
 * clients use non-blocking sockets and run the event loop themselves while
 * they wait (pump()), so a server that blocked would hang the test.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "control.h"
#include "jsonutil.h"
#include "limits.h"
#include "log.h"
#include "xmalloc.h"

#define TC_BUF (256 * 1024)
#define WAIT_MS 5000

static struct event_base *base;
static struct control *ctl;
static char dir[64];
static char sock_path[256];
static const char *sock_group = "idleclaw-test-no-such-group";

/* What the fake daemon saw. */
static uint64_t gone[512];
static size_t n_gone;
struct held {
	uint64_t client;
	char id[CTL_ID_MAX + 1];
};
static struct held held[64];
static size_t n_held;
static int flood_sent; /* events queued before control_event() failed */

/* --- the fake daemon --- */

static void h_status(void *d, const struct control_peer *peer, const char *id, json_object *args)
{
	json_object *body = json_object_new_object();

	json_object_object_add(body, "clients", json_object_new_int64(control_client_count(ctl)));
	json_object_object_add(body, "privileged", json_object_new_boolean(peer->privileged));
	json_object_object_add(body, "uid", json_object_new_int64(peer->uid));
	json_object_object_add(body, "pid", json_object_new_int64(peer->pid));
	ck_assert_int_eq(control_reply(ctl, peer->client_id, id, CTL_ST_OK, body), 0);
	/* one reply per request */
	ck_assert_int_eq(control_reply(ctl, peer->client_id, id, CTL_ST_OK, body), -1);
	json_object_put(body);
}

/* Keep the request running: the test answers it later. */
static void h_hold(void *d, const struct control_peer *peer, const char *id, json_object *args)
{
	ck_assert_uint_lt(n_held, sizeof(held) / sizeof(held[0]));
	held[n_held].client = peer->client_id;
	snprintf(held[n_held].id, sizeof(held[n_held].id), "%s", id);
	n_held++;
}

/* chat: send options.n events of 64 KiB (a client that does not read);
 * without options.n, keep it running as h_hold() does. */
static void h_chat(void *d, const struct control_peer *peer, const char *id, json_object *args)
{
	json_object *opts = json_object_object_get(args, "options");
	int64_t n = 0;
	json_object *body;
	char *text;
	int i;

	if (!ic_json_get_int64(opts, "n", &n)) {
		h_hold(d, peer, id, args);
		return;
	}
	body = json_object_new_object();
	text = xmalloc(65536 + 1);
	memset(text, 'x', 65536);
	text[65536] = '\0';
	json_object_object_add(body, "text", json_object_new_string(text));
	free(text);
	flood_sent = 0;
	for (i = 0; i < n; i++) {
		if (control_event(ctl, peer->client_id, id, "content", body) < 0)
			break;
		flood_sent++;
	}
	json_object_put(body);
	if (i == n)
		control_reply(ctl, peer->client_id, id, CTL_ST_OK, NULL);
}

static void h_cancel(void *d, const struct control_peer *peer, const char *id, json_object *args)
{
	const char *target = ic_json_get_string(args, "target");

	if (!control_request_pending(ctl, peer->client_id, target)) {
		control_reply(ctl, peer->client_id, id, CTL_ST_NOT_FOUND, NULL);
		return;
	}
	control_reply_detail(ctl, peer->client_id, target, CTL_ST_CANCELLED, "by request", NULL);
	control_reply(ctl, peer->client_id, id, CTL_ST_OK, NULL);
}

static void on_disconnect(void *d, uint64_t client_id)
{
	ck_assert_ptr_eq(d, &gone);
	if (n_gone < sizeof(gone) / sizeof(gone[0]))
		gone[n_gone++] = client_id;
}

/* The rows these tests give a part; every other row answers as status. */
static const struct control_handler special[] = {
	{ "resume", h_hold },
	{ "chat", h_chat },
	{ "cancel", h_cancel },
};

/* One handler for each row of ctl_commands[], as the daemon must have
 * (bind_all()); privilege is the table's. */
#define ROWS_MAX 64
static struct control_handler handlers[ROWS_MAX];
static size_t n_handlers;

static void bind_all(void)
{
	size_t i, j;

	ck_assert_uint_le(ctl_n_commands, ROWS_MAX);
	for (i = 0; i < ctl_n_commands; i++) {
		handlers[i].name = ctl_commands[i].name;
		handlers[i].fn = h_status;
		for (j = 0; j < sizeof(special) / sizeof(special[0]); j++)
			if (strcmp(special[j].name, handlers[i].name) == 0)
				handlers[i].fn = special[j].fn;
	}
	n_handlers = ctl_n_commands;
}

static void fill_sun(struct sockaddr_un *sun)
{
	size_t n = strlen(sock_path);

	ck_assert_uint_lt(n, sizeof(sun->sun_path));
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, sock_path, n);
}

static struct control *start_with(const struct control_handler *h, size_t n, int listen_fd,
	int write_timeout_ms, char *err, size_t errlen)
{
	struct control_config cfg = {
		.path = sock_path,
		.listen_fd = listen_fd,
		.group = sock_group,
		.handlers = h,
		.n_handlers = n,
		.daemon = &gone,
		.on_disconnect = on_disconnect,
		.write_timeout_ms = write_timeout_ms,
	};

	return control_new(base, &cfg, err, errlen);
}

static struct control *start(int listen_fd, int write_timeout_ms, char *err, size_t errlen)
{
	return start_with(handlers, n_handlers, listen_fd, write_timeout_ms, err, errlen);
}

static void setup(void)
{
	char err[IC_ERRBUF_MAX];

	snprintf(dir, sizeof(dir), "/tmp/ic-ctltest-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/ctl.sock", dir);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	n_gone = 0;
	n_held = 0;
	bind_all();
	ctl = start(-1, 0, err, sizeof(err));
	ck_assert_msg(ctl != NULL, "control_new: %s", err);
}

static void teardown(void)
{
	control_free(ctl);
	ctl = NULL;
	event_base_free(base);
	unlink(sock_path);
	rmdir(dir);
}

/* --- test clients --- */

struct tc {
	int fd;
	bool eof;
	size_t len;
	char *buf;
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Run whatever the server has ready, then wait a little for fd. */
static void pump_wait(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	event_base_loop(base, EVLOOP_NONBLOCK);
	if (fd >= 0)
		poll(&p, 1, 2);
	event_base_loop(base, EVLOOP_NONBLOCK);
}

static void pump_for(int ms)
{
	long end = now_ms() + ms;

	while (now_ms() < end) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

static int raw_connect(void)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	ck_assert_int_ge(fd, 0);
	fill_sun(&sun);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static struct tc *tc_connect(void)
{
	struct tc *c = xcalloc(1, sizeof(*c));

	c->fd = raw_connect();
	ck_assert_int_ge(c->fd, 0);
	c->buf = xmalloc(TC_BUF);
	pump_wait(-1, 0); /* let the server accept */
	return c;
}

static void tc_close(struct tc *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c->buf);
	free(c);
}

static void tc_send(struct tc *c, const char *data, size_t len)
{
	long end = now_ms() + WAIT_MS;

	while (len > 0) {
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);

		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		ck_assert_msg(n < 0 && errno == EAGAIN, "send: %s", strerror(errno));
		ck_assert_msg(now_ms() < end, "server does not read");
		pump_wait(c->fd, POLLOUT);
	}
	pump_wait(-1, 0);
}

static void tc_sends(struct tc *c, const char *line)
{
	tc_send(c, line, strlen(line));
}

/* Next message from the server (owned), or NULL at end of stream. */
static json_object *tc_read(struct tc *c)
{
	long end = now_ms() + WAIT_MS;

	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		ssize_t n;

		if (nl != NULL) {
			size_t linelen = (size_t)(nl - c->buf);
			json_object *o = ic_json_parse_new(c->buf, linelen);

			ck_assert_msg(
				o != NULL, "server sent bad JSON: %.*s", (int)linelen, c->buf);
			memmove(c->buf, nl + 1, c->len - linelen - 1);
			c->len -= linelen + 1;
			return o;
		}
		ck_assert_uint_lt(c->len, TC_BUF);
		n = recv(c->fd, c->buf + c->len, TC_BUF - c->len, 0);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			c->eof = true;
			return NULL;
		}
		ck_assert_msg(now_ms() < end, "no reply within %d ms", WAIT_MS);
		pump_wait(c->fd, POLLIN);
	}
}

/* Read a reply and check its id (NULL: "id":null) and status; return it. */
static json_object *expect(struct tc *c, const char *id, const char *status)
{
	json_object *o = tc_read(c), *v;

	ck_assert_msg(o != NULL, "connection closed, expected %s", status);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(o, "v")), CTL_PROTO_VERSION);
	ck_assert(json_object_object_get_ex(o, "id", &v));
	if (id == NULL)
		ck_assert_ptr_null(v);
	else
		ck_assert_str_eq(json_object_get_string(v), id);
	ck_assert_str_eq(ic_json_get_string(o, "status"), status);
	ck_assert_str_eq(
		ic_json_get_string(o, "message"), ctl_status_message(ctl_status_from_name(status)));
	return o;
}

static void expect_put(struct tc *c, const char *id, const char *status)
{
	json_object_put(expect(c, id, status));
}

static void expect_eof(struct tc *c)
{
	json_object *o = tc_read(c);

	ck_assert_msg(o == NULL, "expected end of stream, got %s", json_object_to_json_string(o));
	json_object_put(o);
}

static bool was_dropped(uint64_t id)
{
	size_t i;

	for (i = 0; i < n_gone; i++)
		if (gone[i] == id)
			return true;
	return false;
}

/* --- tests --- */

START_TEST(test_socket_file)
{
	char err[IC_ERRBUF_MAX];
	struct group *gr;
	struct stat st;

	ck_assert_int_eq(lstat(sock_path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0660);
	/* no such group: the daemon's own group */
	ck_assert_uint_eq(st.st_gid, getegid());
	control_free(ctl);
	ctl = NULL;
	ck_assert_int_eq(lstat(sock_path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);

	/* a group that exists (Debian's "nogroup" stands in for "idleclaw") */
	gr = getgrnam("nogroup");
	if (gr == NULL || geteuid() != 0)
		return;
	sock_group = "nogroup";
	ctl = start(-1, 0, err, sizeof(err));
	sock_group = "idleclaw-test-no-such-group";
	ck_assert_msg(ctl != NULL, "%s", err);
	ck_assert_int_eq(lstat(sock_path, &st), 0);
	ck_assert_uint_eq(st.st_gid, gr->gr_gid);
	ck_assert_int_eq(st.st_mode & 07777, 0660);
}
END_TEST

START_TEST(test_status_ok)
{
	struct tc *c = tc_connect();
	json_object *o;

	tc_sends(c, "{\"v\":1,\"id\":\"s1\",\"cmd\":\"status\"}\n");
	o = expect(c, "s1", "ok");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(o, "clients")), 1);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(o, "pid")), getpid());
	json_object_put(o);
	/* CRLF, blank lines and two requests in one write */
	tc_sends(c,
		"\r\n\n{\"v\":1,\"id\":\"s2\",\"cmd\":\"status\"}\r\n"
		"{\"v\":1,\"id\":\"s3\",\"cmd\":\"status\",\"args\":{}}\n");
	expect_put(c, "s2", "ok");
	expect_put(c, "s3", "ok");
	ck_assert_uint_eq(control_client_count(ctl), 1);
	tc_close(c);
	pump_for(20);
	ck_assert_uint_eq(control_client_count(ctl), 0);
	ck_assert_uint_eq(n_gone, 1);
}
END_TEST

START_TEST(test_bad_input_replies)
{
	struct tc *c = tc_connect();
	json_object *o;

	tc_sends(c, "this is not json\n");
	expect_put(c, NULL, "bad_json");
	tc_sends(c, "[1,2,3]\n");
	expect_put(c, NULL, "bad_json");
	tc_sends(c, "{\"v\":1,\"id\":\"u1\",\"cmd\":\"frobnicate\"}\n");
	o = expect(c, "u1", "unknown_command");
	ck_assert_ptr_nonnull(strstr(ic_json_get_string(o, "detail"), "frobnicate"));
	json_object_put(o);
	/* names are case-sensitive */
	tc_sends(c, "{\"v\":1,\"id\":\"u2\",\"cmd\":\"Status\"}\n");
	expect_put(c, "u2", "unknown_command");
	tc_sends(c, "{\"v\":2,\"id\":\"w1\",\"cmd\":\"status\"}\n");
	expect_put(c, "w1", "bad_version");
	tc_sends(c, "{\"id\":\"w2\",\"cmd\":\"status\"}\n");
	expect_put(c, "w2", "bad_version");
	tc_sends(c, "{\"v\":1,\"cmd\":\"status\"}\n");
	expect_put(c, NULL, "bad_request");
	tc_sends(c, "{\"v\":1,\"id\":\"has space\",\"cmd\":\"status\"}\n");
	expect_put(c, NULL, "bad_request");
	tc_sends(c, "{\"v\":1,\"id\":\"m1\"}\n");
	expect_put(c, "m1", "bad_request");
	tc_sends(c, "{\"v\":1,\"id\":\"a1\",\"cmd\":\"status\",\"args\":{\"x\":1}}\n");
	o = expect(c, "a1", "bad_args");
	ck_assert_ptr_nonnull(strstr(ic_json_get_string(o, "detail"), "\"x\""));
	json_object_put(o);
	tc_sends(c, "{\"v\":1,\"id\":\"a2\",\"cmd\":\"chat\",\"args\":{\"model\":\"m\"}}\n");
	expect_put(c, "a2", "bad_args");
	/* embedded NUL */
	tc_send(c, "{\"v\":1,\"id\":\"n\0\",\"cmd\":\"status\"}\n", 33);
	expect_put(c, NULL, "bad_json");
	/* after all that, the connection still works */
	tc_sends(c, "{\"v\":1,\"id\":\"ok\",\"cmd\":\"status\"}\n");
	expect_put(c, "ok", "ok");
	ck_assert_uint_eq(n_gone, 0);
	tc_close(c);
}
END_TEST

/* A status request padded to exactly len bytes (without the line end). */
static char *padded_request(size_t len, const char *id)
{
	char head[128];
	size_t hl = (size_t)snprintf(
		head, sizeof(head), "{\"v\":1,\"id\":\"%s\",\"cmd\":\"status\",\"pad\":\"", id);
	char *s = xmalloc(len + 1);

	ck_assert_uint_gt(len, hl + 2);
	memcpy(s, head, hl);
	memset(s + hl, 'p', len - hl - 2);
	memcpy(s + len - 2, "\"}", 2);
	s[len] = '\0';
	return s;
}

static void send_line(struct tc *c, char *body, const char *eol)
{
	tc_send(c, body, strlen(body));
	tc_sends(c, eol);
	free(body);
}

START_TEST(test_line_limit)
{
	struct tc *c = tc_connect();
	uint64_t before;

	/* N bytes: accepted, with either line end */
	send_line(c, padded_request(IC_CONTROL_LINE_MAX, "big1"), "\n");
	expect_put(c, "big1", "ok");
	send_line(c, padded_request(IC_CONTROL_LINE_MAX, "big2"), "\r\n");
	expect_put(c, "big2", "ok");
	/* N+1 bytes: too_long, then the connection closes */
	before = n_gone;
	send_line(c, padded_request(IC_CONTROL_LINE_MAX + 1, "big3"), "\n");
	expect_put(c, NULL, "too_long");
	expect_eof(c);
	ck_assert_uint_eq(n_gone, before + 1);
	tc_close(c);
}
END_TEST

START_TEST(test_line_limit_no_newline)
{
	struct tc *c = tc_connect();
	char *big = padded_request(IC_CONTROL_LINE_MAX + 10, "x");

	/* never a line end: refused as soon as the limit is passed */
	tc_send(c, big, strlen(big));
	free(big);
	expect_put(c, NULL, "too_long");
	expect_eof(c);
	tc_close(c);
}
END_TEST

START_TEST(test_many_clients)
{
	struct tc *c[IC_CONTROL_CLIENTS_MAX + 1];
	json_object *o;
	char req[128];
	int i;

	for (i = 0; i < IC_CONTROL_CLIENTS_MAX; i++)
		c[i] = tc_connect();
	/* everyone is served, in any order */
	for (i = IC_CONTROL_CLIENTS_MAX - 1; i >= 0; i--) {
		snprintf(req, sizeof(req), "{\"v\":1,\"id\":\"c%d\",\"cmd\":\"status\"}\n", i);
		tc_sends(c[i], req);
	}
	for (i = 0; i < IC_CONTROL_CLIENTS_MAX; i++) {
		snprintf(req, sizeof(req), "c%d", i);
		o = expect(c[i], req, "ok");
		json_object_put(o);
	}
	ck_assert_uint_eq(control_client_count(ctl), IC_CONTROL_CLIENTS_MAX);
	/* N+1: a busy reply and the door */
	c[IC_CONTROL_CLIENTS_MAX] = tc_connect();
	expect_put(c[IC_CONTROL_CLIENTS_MAX], NULL, "busy");
	expect_eof(c[IC_CONTROL_CLIENTS_MAX]);
	tc_close(c[IC_CONTROL_CLIENTS_MAX]);
	ck_assert_uint_eq(control_client_count(ctl), IC_CONTROL_CLIENTS_MAX);
	/* one leaves: there is room again */
	tc_close(c[0]);
	pump_for(20);
	c[0] = tc_connect();
	tc_sends(c[0], "{\"v\":1,\"id\":\"again\",\"cmd\":\"status\"}\n");
	o = expect(c[0], "again", "ok");
	ck_assert_int_eq(
		json_object_get_int(json_object_object_get(o, "clients")), IC_CONTROL_CLIENTS_MAX);
	json_object_put(o);
	for (i = 0; i < IC_CONTROL_CLIENTS_MAX; i++)
		tc_close(c[i]);
}
END_TEST

static const char flood_fmt[] =
	"{\"v\":1,\"id\":\"f\",\"cmd\":\"chat\",\"args\":{\"model\":\"m\","
	"\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"options\":{\"n\":%d}}}\n";

START_TEST(test_slow_client_overflow)
{
	struct tc *slow = tc_connect(), *other = tc_connect();
	int n = IC_CONTROL_OUTBUF_MAX / 65536 + 4;
	char req[256];
	long t0;

	/* The slow client never reads: its queue overflows, it is dropped at
	 * once (not waited for) and the daemon told. */
	snprintf(req, sizeof(req), flood_fmt, n);
	t0 = now_ms();
	tc_sends(slow, req);
	ck_assert_int_lt(flood_sent, n);
	ck_assert_int_ge(flood_sent, IC_CONTROL_OUTBUF_MAX / 65600 - 1);
	ck_assert_uint_eq(n_gone, 1);
	ck_assert_uint_eq(control_client_count(ctl), 1);
	ck_assert_int_lt(now_ms() - t0, 2000);
	/* meanwhile others are served */
	tc_sends(other, "{\"v\":1,\"id\":\"o\",\"cmd\":\"status\"}\n");
	expect_put(other, "o", "ok");
	tc_close(slow);
	tc_close(other);
}
END_TEST

START_TEST(test_slow_client_under_limit)
{
	struct tc *c = tc_connect();
	char req[256];
	json_object *o;
	int i, content = 0;

	/* Below the bound everything arrives, in order, then the reply. */
	snprintf(req, sizeof(req), flood_fmt, 8);
	tc_sends(c, req);
	ck_assert_int_eq(flood_sent, 8);
	for (i = 0; i < 8; i++) {
		o = tc_read(c);
		ck_assert_ptr_nonnull(o);
		ck_assert_str_eq(ic_json_get_string(o, "event"), "content");
		ck_assert_int_eq(strlen(ic_json_get_string(o, "text")), 65536);
		content++;
		json_object_put(o);
	}
	ck_assert_int_eq(content, 8);
	expect_put(c, "f", "ok");
	tc_close(c);
}
END_TEST

START_TEST(test_write_timeout)
{
	char err[IC_ERRBUF_MAX];
	struct tc *c;
	char req[256];
	long t0;

	control_free(ctl);
	ctl = start(-1, 200, err, sizeof(err));
	ck_assert_ptr_nonnull(ctl);
	c = tc_connect();
	/* 2 MiB: under the queue bound, over what the kernel buffers */
	snprintf(req, sizeof(req), flood_fmt, 32);
	/* before the server can start writing: a preemption between its last
	 * write and a later t0 would make the timeout look early */
	t0 = now_ms();
	tc_sends(c, req);
	ck_assert_int_eq(flood_sent, 32);
	/* a loaded machine may stall this process past the timeout while the
	 * loop runs in tc_sends(); the client must still not go early */
	if (n_gone != 0)
		ck_assert_int_ge(now_ms() - t0, 150);
	while (n_gone == 0 && now_ms() - t0 < 3000)
		pump_for(10);
	ck_assert_uint_eq(n_gone, 1);
	ck_assert_int_ge(now_ms() - t0, 150);
	tc_close(c);
}
END_TEST

START_TEST(test_vanished_client)
{
	struct tc *c = tc_connect(), *other = tc_connect();

	tc_sends(c, "{\"v\":1,\"id\":\"h1\",\"cmd\":\"resume\"}\n");
	ck_assert_uint_eq(n_held, 1);
	ck_assert(control_request_pending(ctl, held[0].client, "h1"));
	tc_close(c);
	pump_for(20);
	ck_assert(was_dropped(held[0].client));
	/* the daemon's late answer goes nowhere, harmlessly */
	ck_assert_int_eq(control_reply(ctl, held[0].client, "h1", CTL_ST_OK, NULL), -1);
	ck_assert_int_eq(control_event(ctl, held[0].client, "h1", "content", NULL), -1);
	ck_assert(!control_request_pending(ctl, held[0].client, "h1"));
	tc_sends(other, "{\"v\":1,\"id\":\"o\",\"cmd\":\"status\"}\n");
	expect_put(other, "o", "ok");
	tc_close(other);
}
END_TEST

static const char hold_chat[] = "{\"v\":1,\"id\":\"h1\",\"cmd\":\"chat\",\"args\":{\"model\":\"m\","
				"\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}}\n";

START_TEST(test_half_close_keeps_running_request)
{
	struct tc *c = tc_connect();
	json_object *body = json_object_new_object();

	tc_sends(c, hold_chat);
	ck_assert_uint_eq(n_held, 1);
	shutdown(c->fd, SHUT_WR);
	pump_for(20);
	ck_assert_uint_eq(n_gone, 0);
	ck_assert_int_eq(control_event(ctl, held[0].client, "h1", "done", NULL), 0);
	json_object_object_add(body, "paused", json_object_new_boolean(false));
	ck_assert_int_eq(control_reply(ctl, held[0].client, "h1", CTL_ST_OK, body), 0);
	json_object_put(body);
	json_object_put(tc_read(c)); /* the event */
	expect_put(c, "h1", "ok");
	expect_eof(c);
	ck_assert_uint_eq(n_gone, 1);
	tc_close(c);
}
END_TEST

START_TEST(test_pending_ids)
{
	struct tc *c = tc_connect();
	char req[128];
	json_object *o;
	int i;

	tc_sends(c, "{\"v\":1,\"id\":\"p0\",\"cmd\":\"resume\"}\n");
	tc_sends(c, "{\"v\":1,\"id\":\"p0\",\"cmd\":\"resume\"}\n");
	o = expect(c, "p0", "bad_request");
	ck_assert_ptr_nonnull(strstr(ic_json_get_string(o, "detail"), "already in use"));
	json_object_put(o);
	for (i = 1; i < CONTROL_REQUESTS_PER_CLIENT_MAX; i++) {
		snprintf(req, sizeof(req), "{\"v\":1,\"id\":\"p%d\",\"cmd\":\"resume\"}\n", i);
		tc_sends(c, req);
	}
	ck_assert_uint_eq(n_held, CONTROL_REQUESTS_PER_CLIENT_MAX);
	/* N running: one more is refused */
	tc_sends(c, "{\"v\":1,\"id\":\"px\",\"cmd\":\"resume\"}\n");
	expect_put(c, "px", "busy");
	ck_assert_uint_eq(n_held, CONTROL_REQUESTS_PER_CLIENT_MAX);
	/* cancel one: its reply and the cancel's; then there is room again */
	tc_sends(c, "{\"v\":1,\"id\":\"k\",\"cmd\":\"cancel\",\"args\":{\"target\":\"p3\"}}\n");
	o = expect(c, "p3", "cancelled");
	ck_assert_str_eq(ic_json_get_string(o, "detail"), "by request");
	json_object_put(o);
	expect_put(c, "k", "ok");
	tc_sends(c, "{\"v\":1,\"id\":\"k2\",\"cmd\":\"cancel\",\"args\":{\"target\":\"p3\"}}\n");
	expect_put(c, "k2", "not_found");
	tc_sends(c, "{\"v\":1,\"id\":\"p3\",\"cmd\":\"resume\"}\n");
	ck_assert_uint_eq(n_held, CONTROL_REQUESTS_PER_CLIENT_MAX + 1);
	/* events only for running requests */
	ck_assert_int_eq(control_event(ctl, held[0].client, "nope", "content", NULL), -1);
	tc_close(c);
}
END_TEST

START_TEST(test_events_only_for_streaming_commands)
{
	struct tc *c = tc_connect();

	/* resume's row does not stream: no events, even while it runs */
	tc_sends(c, "{\"v\":1,\"id\":\"r\",\"cmd\":\"resume\"}\n");
	ck_assert_uint_eq(n_held, 1);
	ck_assert(!ctl_command_find("resume")->streams);
	ck_assert_int_eq(control_event(ctl, held[0].client, "r", "content", NULL), -1);
	/* chat's does */
	tc_sends(c, hold_chat);
	ck_assert_uint_eq(n_held, 2);
	ck_assert(ctl_command_find("chat")->streams);
	ck_assert_int_eq(control_event(ctl, held[1].client, "h1", "content", NULL), 0);
	ck_assert_int_eq(control_reply(ctl, held[1].client, "h1", CTL_ST_OK, NULL), 0);
	ck_assert_int_eq(control_reply(ctl, held[0].client, "r", CTL_ST_OK, NULL), 0);
	json_object_put(tc_read(c)); /* the event */
	expect_put(c, "h1", "ok");
	expect_put(c, "r", "ok");
	tc_close(c);
}
END_TEST

START_TEST(test_handlers_bound_to_table)
{
	struct control_handler h[ROWS_MAX + 1];
	char err[IC_ERRBUF_MAX];
	size_t i;

	control_free(ctl);
	ctl = NULL;
	for (i = 0; i < n_handlers; i++) {
		/* a row without its handler: refused at start, named */
		memcpy(h, handlers, i * sizeof(h[0]));
		memcpy(h + i, handlers + i + 1, (n_handlers - i - 1) * sizeof(h[0]));
		ck_assert_ptr_null(start_with(h, n_handlers - 1, -1, 0, err, sizeof(err)));
		ck_assert_msg(strstr(err, handlers[i].name) != NULL && strstr(err, "no handler"),
			"%s", err);
		ck_assert_int_eq(access(sock_path, F_OK), -1);
	}
	/* a handler for a name the table lacks */
	memcpy(h, handlers, n_handlers * sizeof(h[0]));
	h[n_handlers] = (struct control_handler){ "frobnicate", h_status };
	ck_assert_ptr_null(start_with(h, n_handlers + 1, -1, 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "frobnicate"));
	/* two for one row */
	h[n_handlers] = (struct control_handler){ "status", h_status };
	ck_assert_ptr_null(start_with(h, n_handlers + 1, -1, 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "two control handlers"));
	/* a row bound to nothing */
	h[0].fn = NULL;
	ck_assert_ptr_null(start_with(h, n_handlers, -1, 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "no handler"));
	/* and the whole table starts */
	ctl = start_with(handlers, n_handlers, -1, 0, err, sizeof(err));
	ck_assert_msg(ctl != NULL, "%s", err);
}
END_TEST

START_TEST(test_privilege_logic)
{
	struct control_peer peer = { .client_id = 1, .uid = 1000, .privileged = false };
	const struct ctl_command *cmd;
	struct ctl_request req;
	char line[128];
	size_t i;
	char err[IC_ERRBUF_MAX];
	const char *pause = "{\"v\":1,\"id\":\"p\",\"cmd\":\"pause\",\"args\":{\"seconds\":5}}";
	const char *status = "{\"v\":1,\"id\":\"s\",\"cmd\":\"status\"}";

	ck_assert(control_peer_privileged(0, 0, NULL, 0, 1000, CONTROL_NO_GID));
	ck_assert(control_peer_privileged(1000, 1000, NULL, 0, 1000, CONTROL_NO_GID));
	ck_assert(!control_peer_privileged(1001, 1001, NULL, 0, 1000, CONTROL_NO_GID));
	ck_assert(control_peer_privileged(0, 0, NULL, 0, 0, CONTROL_NO_GID));
	ck_assert(!control_peer_privileged(65534, 65534, NULL, 0, 0, CONTROL_NO_GID));
	/* the control group: as primary gid or among the supplementary ones */
	{
		const gid_t member[] = { 24, 100, 998 }, other[] = { 24, 100, 997 };

		ck_assert(control_peer_privileged(1001, 998, NULL, 0, 0, 998));
		ck_assert(control_peer_privileged(1001, 1001, member, 3, 0, 998));
		ck_assert(control_peer_privileged(1001, 1001, member + 2, 1, 0, 998));
		ck_assert(!control_peer_privileged(1001, 1001, other, 3, 0, 998));
		ck_assert(!control_peer_privileged(1001, 1001, member, 2, 0, 998));
		ck_assert(!control_peer_privileged(1001, 1001, NULL, 0, 0, 998));
		/* no control group: membership of anything grants nothing */
		ck_assert(!control_peer_privileged(1001, 1001, member, 3, 0, CONTROL_NO_GID));
		ck_assert(
			!control_peer_privileged(1001, CONTROL_NO_GID, NULL, 0, 0, CONTROL_NO_GID));
	}

	ck_assert_int_eq(
		control_check_request(&peer, pause, strlen(pause), &req, &cmd, err, sizeof(err)),
		CTL_ST_PERMISSION);
	ck_assert_ptr_null(cmd);
	ck_assert_str_eq(req.id, "p");
	ctl_request_clear(&req);
	ck_assert_int_eq(
		control_check_request(&peer, status, strlen(status), &req, &cmd, err, sizeof(err)),
		CTL_ST_OK);
	ck_assert_ptr_eq(cmd, ctl_command_find("status"));
	ctl_request_clear(&req);
	peer.privileged = true;
	ck_assert_int_eq(
		control_check_request(&peer, pause, strlen(pause), &req, &cmd, err, sizeof(err)),
		CTL_ST_OK);
	ck_assert_ptr_eq(cmd, ctl_command_find("pause"));
	ctl_request_clear(&req);

	/* Every row: privilege is what the table says, checked before the
	 * arguments (so a refused peer learns nothing about them). */
	for (i = 0; i < ctl_n_commands; i++) {
		enum ctl_status st;

		snprintf(line, sizeof(line),
			"{\"v\":1,\"id\":\"t\",\"cmd\":\"%s\","
			"\"args\":{\"bogus\":1}}",
			ctl_commands[i].name);
		peer.privileged = false;
		st = control_check_request(&peer, line, strlen(line), &req, &cmd, err, sizeof(err));
		ctl_request_clear(&req);
		ck_assert_msg(
			st == (ctl_commands[i].privileged ? CTL_ST_PERMISSION : CTL_ST_BAD_ARGS),
			"%s: %d", ctl_commands[i].name, st);
		peer.privileged = true;
		st = control_check_request(&peer, line, strlen(line), &req, &cmd, err, sizeof(err));
		ctl_request_clear(&req);
		ck_assert_int_eq(st, CTL_ST_BAD_ARGS);
	}
	/* the three that change the daemon */
	ck_assert(ctl_command_find("pause")->privileged);
	ck_assert(ctl_command_find("resume")->privileged);
	ck_assert(ctl_command_find("reload")->privileged);
	ck_assert(!ctl_command_find("status")->privileged);

	/* a name the table lacks: refused, quoted in the detail */
	snprintf(line, sizeof(line), "{\"v\":1,\"id\":\"u\",\"cmd\":\"frobnicate\"}");
	ck_assert_int_eq(
		control_check_request(&peer, line, strlen(line), &req, &cmd, err, sizeof(err)),
		CTL_ST_UNKNOWN_COMMAND);
	ck_assert_ptr_null(cmd);
	ck_assert_ptr_nonnull(strstr(err, "\"frobnicate\""));
	ctl_request_clear(&req);
}
END_TEST

/* In a child running as uid, gid and the n_groups supplementary groups,
 * send line and return the reply's status name (static buffer), or "" on
 * failure. */
static const char *child_request_groups(
	uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups, const char *line)
{
	static char status[64];
	int pfd[2];
	pid_t pid;
	ssize_t n;
	int st;

	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct sockaddr_un sun;
		struct timeval tv = { 5, 0 };
		char buf[4096];
		json_object *o;
		const char *s;
		int fd;

		close(pfd[0]);
		if (setgroups(n_groups, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
			_exit(2);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		fill_sun(&sun);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			_exit(3);
		if (write(fd, line, strlen(line)) < 0)
			_exit(4);
		n = read(fd, buf, sizeof(buf) - 1);
		if (n <= 0)
			_exit(5);
		o = ic_json_parse_new(buf, (size_t)n);
		s = ic_json_get_string(o, "status");
		n = s != NULL ? write(pfd[1], s, strlen(s)) : -1;
		json_object_put(o);
		close(fd);
		_exit(n > 0 ? 0 : 6);
	}
	close(pfd[1]);
	while (waitpid(pid, &st, WNOHANG) == 0)
		pump_for(5);
	n = read(pfd[0], status, sizeof(status) - 1);
	close(pfd[0]);
	status[n > 0 ? n : 0] = '\0';
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed: %d", st);
	return status;
}

static const char *child_request(uid_t uid, gid_t gid, const char *line)
{
	return child_request_groups(uid, gid, NULL, 0, line);
}

START_TEST(test_peer_credentials)
{
	struct tc *c;
	json_object *o;

	/* Our own uid is privileged (root or not). */
	c = tc_connect();
	tc_sends(c, "{\"v\":1,\"id\":\"p\",\"cmd\":\"pause\"}\n");
	o = expect(c, "p", "ok");
	ck_assert(json_object_get_boolean(json_object_object_get(o, "privileged")));
	ck_assert_int_eq(json_object_get_int(json_object_object_get(o, "uid")), (int)geteuid());
	json_object_put(o);
	tc_close(c);

	if (geteuid() != 0)
		return; /* the rest needs root: become someone else */
	/* let "nobody" reach the socket; the check is SO_PEERCRED, not the mode */
	ck_assert_int_eq(chmod(dir, 0711), 0);
	ck_assert_int_eq(chmod(sock_path, 0666), 0);
	ck_assert_str_eq(child_request(65534, 65534, "{\"v\":1,\"id\":\"p\",\"cmd\":\"pause\"}\n"),
		"permission");
	ck_assert_str_eq(child_request(65534, 65534, "{\"v\":1,\"id\":\"r\",\"cmd\":\"reload\"}\n"),
		"permission");
	ck_assert_str_eq(
		child_request(65534, 65534, "{\"v\":1,\"id\":\"s\",\"cmd\":\"status\"}\n"), "ok");
}
END_TEST

/* Members of the control group may run privileged commands: by their
 * primary or a supplementary group, as the kernel says (SO_PEERGROUPS). */
START_TEST(test_control_group_members)
{
	const char *pause = "{\"v\":1,\"id\":\"p\",\"cmd\":\"pause\"}\n";
	const char *status = "{\"v\":1,\"id\":\"s\",\"cmd\":\"status\"}\n";
	const gid_t many[] = { 24, 25, 29, 30, 44, 46, 100 };
	const gid_t others[] = { 24, 25, 29, 30, 44, 46 };
	gid_t lots[100];
	int i;
	char err[IC_ERRBUF_MAX];
	struct group *gr = getgrnam("users");

	if (geteuid() != 0 || gr == NULL)
		return; /* needs another user, and Debian's "users" (gid 100) */
	ck_assert_uint_eq(gr->gr_gid, 100);
	control_free(ctl);
	sock_group = "users";
	ctl = start(-1, 0, err, sizeof(err));
	sock_group = "idleclaw-test-no-such-group";
	ck_assert_msg(ctl != NULL, "%s", err);
	ck_assert_int_eq(chmod(dir, 0711), 0);
	ck_assert_int_eq(chmod(sock_path, 0666), 0);
	/* a supplementary group, alone or last of several */
	ck_assert_str_eq(child_request_groups(65534, 65534, many + 6, 1, pause), "ok");
	ck_assert_str_eq(child_request_groups(65534, 65534, many, 7, pause), "ok");
	/* more groups than the first SO_PEERGROUPS buffer holds (64) */
	for (i = 0; i < 99; i++)
		lots[i] = 20000 + (gid_t)i;
	lots[99] = 100;
	ck_assert_str_eq(child_request_groups(65534, 65534, lots, 100, pause), "ok");
	ck_assert_str_eq(child_request_groups(65534, 65534, lots, 99, pause), "permission");
	/* the primary group */
	ck_assert_str_eq(child_request_groups(65534, 100, NULL, 0, pause), "ok");
	/* in other groups only: refused, status still served */
	ck_assert_str_eq(child_request_groups(65534, 65534, others, 6, pause), "permission");
	ck_assert_str_eq(child_request_groups(65534, 65534, NULL, 0, pause), "permission");
	ck_assert_str_eq(child_request_groups(65534, 65534, others, 6, status), "ok");
}
END_TEST

/*
 * In a child running as uid: open n connections, send status on each and
 * write each reply's status name (or "eof") to the pipe, one a line.
 */
static void child_connections(uid_t uid, int n, int out)
{
	char buf[4096];
	int i, fds[64];

	if (setgid(uid) < 0 || setuid(uid) < 0)
		_exit(2);
	for (i = 0; i < n; i++) {
		struct sockaddr_un sun;
		struct timeval tv = { 5, 0 };
		const char *req = "{\"v\":1,\"id\":\"s\",\"cmd\":\"status\"}\n";
		json_object *o;
		ssize_t r;

		fds[i] = socket(AF_UNIX, SOCK_STREAM, 0);
		fill_sun(&sun);
		setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fds[i], (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
			write(fds[i], req, strlen(req)) < 0)
			_exit(3);
		r = read(fds[i], buf, sizeof(buf) - 1);
		o = r > 0 ? ic_json_parse_new(buf, (size_t)r) : NULL;
		dprintf(out, "%s\n", o != NULL ? ic_json_get_string(o, "status") : "eof");
		json_object_put(o);
	}
	_exit(0);
}

START_TEST(test_per_user_limit)
{
	int pfd[2], st, n = CONTROL_CLIENTS_PER_UID_MAX + 1;
	char buf[4096], want[4096] = "";
	ssize_t r;
	pid_t pid;
	int i;

	if (geteuid() != 0)
		return; /* needs another user */
	ck_assert_int_eq(chmod(dir, 0711), 0);
	ck_assert_int_eq(chmod(sock_path, 0666), 0);
	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(pfd[0]);
		child_connections(65534, n, pfd[1]);
	}
	close(pfd[1]);
	while (waitpid(pid, &st, WNOHANG) == 0)
		pump_for(5);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	r = read(pfd[0], buf, sizeof(buf) - 1);
	close(pfd[0]);
	buf[r > 0 ? r : 0] = '\0';
	/* N served, N+1 refused */
	for (i = 0; i < CONTROL_CLIENTS_PER_UID_MAX; i++)
		strcat(want, "ok\n");
	strcat(want, "busy\n");
	ck_assert_str_eq(buf, want);
}
END_TEST

START_TEST(test_privileged_not_bound_per_user)
{
	struct tc *c[CONTROL_CLIENTS_PER_UID_MAX + 1];
	char req[128];
	int i;

	/* we are privileged (our own uid): only the global limit applies */
	for (i = 0; i <= CONTROL_CLIENTS_PER_UID_MAX; i++) {
		c[i] = tc_connect();
		snprintf(req, sizeof(req), "{\"v\":1,\"id\":\"p%d\",\"cmd\":\"status\"}\n", i);
		tc_sends(c[i], req);
		snprintf(req, sizeof(req), "p%d", i);
		expect_put(c[i], req, "ok");
	}
	for (i = 0; i <= CONTROL_CLIENTS_PER_UID_MAX; i++)
		tc_close(c[i]);
}
END_TEST

START_TEST(test_stale_and_live_socket)
{
	char err[IC_ERRBUF_MAX];
	struct control *second;
	struct sockaddr_un sun;
	int fd;

	/* A daemon is listening: a second one refuses, and leaves it alone. */
	second = start(-1, 0, err, sizeof(err));
	ck_assert_ptr_null(second);
	ck_assert_ptr_nonnull(strstr(err, "another idleclawd"));
	ck_assert_int_eq(access(sock_path, F_OK), 0);
	control_free(ctl);
	ctl = NULL;

	/* A socket file nobody listens on (a crash): replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	fill_sun(&sun);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	ctl = start(-1, 0, err, sizeof(err));
	ck_assert_msg(ctl != NULL, "%s", err);
	control_free(ctl);
	ctl = NULL;

	/* Not a socket: refused, not removed. */
	fd = open(sock_path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_ptr_null(start(-1, 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not a socket"));
	ck_assert_int_eq(access(sock_path, F_OK), 0);
	unlink(sock_path);

	/* A path too long for sun_path. */
	memset(sock_path, 'a', 200);
	sock_path[0] = '/';
	sock_path[200] = '\0';
	ck_assert_ptr_null(start(-1, 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "path"));
	snprintf(sock_path, sizeof(sock_path), "%s/ctl.sock", dir);
}
END_TEST

START_TEST(test_socket_activation)
{
	char err[IC_ERRBUF_MAX];
	struct sockaddr_un sun;
	struct tc *c;
	int fd;

	control_free(ctl);
	ctl = NULL;
	/* not listening: refused */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_ptr_null(start(fd, 0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not listening"));
	/* what systemd passes: bound and listening */
	fill_sun(&sun);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ctl = start(fd, 0, err, sizeof(err));
	ck_assert_msg(ctl != NULL, "%s", err);
	c = tc_connect();
	tc_sends(c, "{\"v\":1,\"id\":\"a\",\"cmd\":\"status\"}\n");
	expect_put(c, "a", "ok");
	tc_close(c);
	control_free(ctl);
	ctl = NULL;
	/* systemd's socket file is not ours to remove */
	ck_assert_int_eq(access(sock_path, F_OK), 0);
}
END_TEST

START_TEST(test_free_with_clients)
{
	struct tc *a = tc_connect(), *b = tc_connect();

	tc_sends(a, "{\"v\":1,\"id\":\"h\",\"cmd\":\"resume\"}\n");
	control_free(ctl);
	ctl = NULL;
	ck_assert_uint_eq(n_gone, 2);
	expect_eof(a);
	expect_eof(b);
	tc_close(a);
	tc_close(b);
}
END_TEST

static Suite *control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("socket");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_socket_file);
	tcase_add_test(tc, test_status_ok);
	tcase_add_test(tc, test_bad_input_replies);
	tcase_add_test(tc, test_line_limit);
	tcase_add_test(tc, test_line_limit_no_newline);
	tcase_add_test(tc, test_many_clients);
	tcase_add_test(tc, test_slow_client_overflow);
	tcase_add_test(tc, test_slow_client_under_limit);
	tcase_add_test(tc, test_write_timeout);
	tcase_add_test(tc, test_vanished_client);
	tcase_add_test(tc, test_half_close_keeps_running_request);
	tcase_add_test(tc, test_pending_ids);
	tcase_add_test(tc, test_events_only_for_streaming_commands);
	tcase_add_test(tc, test_handlers_bound_to_table);
	tcase_add_test(tc, test_privilege_logic);
	tcase_add_test(tc, test_peer_credentials);
	tcase_add_test(tc, test_control_group_members);
	tcase_add_test(tc, test_per_user_limit);
	tcase_add_test(tc, test_privileged_not_bound_per_user);
	tcase_add_test(tc, test_stale_and_live_socket);
	tcase_add_test(tc, test_socket_activation);
	tcase_add_test(tc, test_free_with_clients);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(control_suite());
	int failed;

	signal(SIGPIPE, SIG_IGN);
	ic_log_init("test_control");
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
