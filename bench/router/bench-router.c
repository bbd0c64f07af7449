/*
 * bench-router - load generator for idleclaw-routerd.
 *
 * Starts the router on a loopback port, connects N simulated nodes (raw
 * WebSocket clients speaking the node protocol) and keeps M consumers
 * streaming chats through it for D seconds.  Each node answers a request
 * with one chunk per tick per active request (all of a node's chunks of a
 * tick in one write(), or with -1 one write() each), every chunk stamped with the
 * send time, so a consumer can measure the latency the router adds.
 * Reports streams held, chunks/s, p50/p99 latency per chunk, and the
 * router's CPU and RSS.  One thread, epoll, no libraries.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum kind { NODE, CONSUMER };
enum state { HANDSHAKE, REGISTERING, READY, HEADERS, STREAMING };

struct req {
	char id[64];
	int sent;
};

struct conn {
	int fd;
	enum kind kind;
	enum state state;
	char *in;
	size_t inlen, incap;
	char *out;
	size_t outlen, outoff, outcap;
	/* node */
	struct req *reqs;
	int nreqs, capreqs;
	/* consumer */
	int chunks;
};

static struct {
	int port;
	int nodes;
	int streams;
	int seconds;
	int chunks; /* per chat */
	int tick_ms;
	int concurrency; /* per node */
	const char *routerd;
	bool one_write; /* -1: one write() per chunk, as real nodes send */
} opt = { 0, 100, 200, 10, 50, 20, 10, "router/idleclaw-routerd", false };

static int ep;
static pid_t router_pid;
static int nodes_ready, streams_open, chats_done, chats_failed;
static uint64_t chunks_seen;
static double *lat;
static size_t nlat, caplat;
static bool running = true;

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void die(const char *what)
{
	perror(what);
	if (router_pid > 0)
		kill(router_pid, SIGKILL);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		die("realloc");
	return p;
}

static void append(char **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
	if (*len + n > *cap) {
		*cap = (*len + n) * 2;
		*buf = xrealloc(*buf, *cap);
	}
	memcpy(*buf + *len, p, n);
	*len += n;
}

static void out_add(struct conn *c, const void *p, size_t n)
{
	append(&c->out, &c->outlen, &c->outcap, p, n);
}

/* A masked client text frame with a zero masking key (legal, and cheap). */
static void ws_send(struct conn *c, const char *text, size_t n)
{
	unsigned char h[14];
	size_t hl;

	h[0] = 0x81;
	if (n < 126) {
		h[1] = 0x80 | (unsigned char)n;
		hl = 2;
	} else if (n < 65536) {
		h[1] = 0x80 | 126;
		h[2] = (unsigned char)(n >> 8);
		h[3] = (unsigned char)n;
		hl = 4;
	} else {
		h[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)(n >> (56 - 8 * i));
		hl = 10;
	}
	memset(h + hl, 0, 4);
	out_add(c, h, hl + 4);
	out_add(c, text, n);
}

static void want_write(struct conn *c, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c };

	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int flush(struct conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);

		if (w < 0) {
			if (errno == EAGAIN)
				break;
			return -1;
		}
		c->outoff += (size_t)w;
	}
	if (c->outoff == c->outlen) {
		c->outoff = c->outlen = 0;
		want_write(c, false);
	} else {
		want_write(c, true);
	}
	return 0;
}

static struct conn *conn_new(enum kind kind)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port) };
	struct conn *c = calloc(1, sizeof(*c));
	struct epoll_event ev;
	int one = 1;

	if (!c)
		die("calloc");
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		die("socket");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	c->kind = kind;
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	return c;
}

static void conn_free(struct conn *c)
{
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c->reqs);
	free(c);
}

/* --- nodes --- */

static struct conn *node_start(int i)
{
	struct conn *c = conn_new(NODE);
	char req[512];

	snprintf(req, sizeof(req),
		"GET /ws/node HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		"Sec-WebSocket-Version: 13\r\nX-Node: %d\r\n\r\n",
		i);
	out_add(c, req, strlen(req));
	c->capreqs = opt.concurrency;
	c->reqs = calloc((size_t)c->capreqs, sizeof(*c->reqs));
	c->nreqs = i; /* node index until registered */
	flush(c);
	return c;
}

static void node_message(struct conn *c, const char *m, size_t n)
{
	const char *p;

	(void)n;
	if (c->state == REGISTERING) {
		if (strstr(m, "\"registered\"")) {
			c->state = READY;
			c->nreqs = 0;
			nodes_ready++;
		}
		return;
	}
	if (!strstr(m, "\"inference_request\""))
		return;
	p = strstr(m, "\"request_id\":\"");
	if (!p || c->nreqs >= c->capreqs)
		return;
	p += 14;
	snprintf(c->reqs[c->nreqs].id, sizeof(c->reqs[0].id), "%.*s", (int)(strchr(p, '"') - p), p);
	c->reqs[c->nreqs].sent = 0;
	c->nreqs++;
}

static void node_read(struct conn *c)
{
	size_t off = 0;

	if (c->state == HANDSHAKE) {
		char *e = memmem(c->in, c->inlen, "\r\n\r\n", 4);
		char reg[256];
		int len;

		if (!e)
			return;
		if (strncmp(c->in, "HTTP/1.1 101", 12) != 0) {
			fprintf(stderr, "node upgrade refused: %.40s\n", c->in);
			exit(1);
		}
		off = (size_t)(e + 4 - c->in);
		len = snprintf(reg, sizeof(reg),
			"{\"type\":\"register\",\"node_id\":\"bench-%d\",\"models\":"
			"[{\"name\":\"bench\",\"size\":1}],\"max_concurrent\":%d}",
			c->nreqs, opt.concurrency);
		ws_send(c, reg, (size_t)len);
		flush(c);
		c->state = REGISTERING;
	}
	for (;;) {
		unsigned char *h = (unsigned char *)c->in + off;
		size_t avail = c->inlen - off, hl = 2;
		uint64_t plen;

		if (avail < 2)
			break;
		plen = h[1] & 0x7f;
		if (plen == 126) {
			if (avail < 4)
				break;
			plen = ((uint64_t)h[2] << 8) | h[3];
			hl = 4;
		} else if (plen == 127) {
			if (avail < 10)
				break;
			plen = 0;
			for (int i = 0; i < 8; i++)
				plen = (plen << 8) | h[2 + i];
			hl = 10;
		}
		if (avail < hl + plen)
			break;
		if ((h[0] & 0x0f) == 0x8) {
			fprintf(stderr, "router closed a node: %.*s\n", (int)plen - 2,
				(char *)h + hl + 2);
			exit(1);
		}
		{
			char *msg = malloc(plen + 1);

			memcpy(msg, h + hl, plen);
			msg[plen] = '\0';
			node_message(c, msg, plen);
			free(msg);
		}
		off += hl + plen;
	}
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
}

/* One chunk for every active request of every node. */
static void nodes_tick(struct conn **nodes)
{
	char buf[512];

	for (int i = 0; i < opt.nodes; i++) {
		struct conn *c = nodes[i];

		for (int r = 0; r < c->nreqs;) {
			struct req *q = &c->reqs[r];
			bool done = ++q->sent >= opt.chunks;
			int len = snprintf(buf, sizeof(buf),
				"{\"type\":\"inference_chunk\",\"request_id\":\"%s\",\"chunk\":"
				"{\"message\":{\"role\":\"assistant\",\"content\":\"T%lld tokens "
				"\"},"
				"\"done\":%s}}",
				q->id, (long long)now_us(), done ? "true" : "false");

			ws_send(c, buf, (size_t)len);
			if (opt.one_write)
				flush(c);
			if (done)
				c->reqs[r] = c->reqs[--c->nreqs];
			else
				r++;
		}
		if (c->outlen)
			flush(c);
	}
}

/* --- consumers --- */

static void consumer_start(void)
{
	static const char body[] =
		"{\"model\":\"bench\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
	struct conn *c = conn_new(CONSUMER);
	char req[512];
	int len = snprintf(req, sizeof(req),
		"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		"Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		sizeof(body) - 1, body);

	c->state = HEADERS;
	out_add(c, req, (size_t)len);
	flush(c);
	streams_open++;
}

static void sample(double us)
{
	if (nlat == caplat) {
		caplat = caplat ? caplat * 2 : 65536;
		lat = xrealloc(lat, caplat * sizeof(*lat));
	}
	lat[nlat++] = us;
}

/* 1: stream over */
static int consumer_read(struct conn *c)
{
	size_t off = 0;

	if (c->state == HEADERS) {
		char *e = memmem(c->in, c->inlen, "\r\n\r\n", 4);

		if (!e)
			return 0;
		if (strncmp(c->in, "HTTP/1.1 200", 12) != 0) {
			chats_failed++;
			return 1;
		}
		off = (size_t)(e + 4 - c->in);
		c->state = STREAMING;
	}
	for (;;) {
		char *e = memmem(c->in + off, c->inlen - off, "\n\n", 2);
		char *t;

		if (!e)
			break;
		*e = '\0';
		if (strncmp(c->in + off, "data: [DONE]", 12) == 0) {
			chats_done++;
			return 1;
		}
		t = strstr(c->in + off, "\"T");
		if (t) {
			sample((double)(now_us() - strtoll(t + 2, NULL, 10)));
			chunks_seen++;
		}
		off = (size_t)(e + 2 - c->in);
	}
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
	return 0;
}

/* --- the router process --- */

static void spawn_router(void)
{
	char listen[64];

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", opt.port);
	router_pid = fork();
	if (router_pid < 0)
		die("fork");
	if (router_pid == 0) {
		execl(opt.routerd, opt.routerd, "--config", "/nonexistent", "--listen", listen,
			"-o", "router.log_level=warning", "-o", "router.rate_chat=1000000", "-o",
			"router.rate_upgrade=1000000", "-o", "router.rate_other=1000000", "-o",
			"router.streams_per_ip=100000", "-o", "router.nodes_per_ip=100000", "-o",
			"router.max_nodes=100000", "-o", "router.queue_max=100000", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET,
			.sin_port = htons((uint16_t)opt.port) };
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			return;
		}
		close(fd);
		usleep(50000);
	}
	fprintf(stderr, "router did not start\n");
	exit(1);
}

static long rss_kb(void)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)router_pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* The router's CPU seconds so far, user and system (*sys, if not NULL). */
static double cpu_s(double *sys)
{
	char path[64], buf[1024];
	unsigned long ut = 0, st = 0;
	char *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)router_pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		return 0;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (p)
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
	if (sys)
		*sys = (double)st / (double)sysconf(_SC_CLK_TCK);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void on_alarm(int sig)
{
	(void)sig;
	running = false;
}

/* Run the loop until cond() or timeout; tick the nodes every tick_ms. */
static void loop(
	struct conn **nodes, bool streaming, bool restart, int64_t until_us, bool (*cond)(void))
{
	struct epoll_event evs[256];
	int64_t next_tick = now_us();

	while (running && now_us() < until_us && !(cond && cond())) {
		int n = epoll_wait(ep, evs, 256, 5);

		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			char buf[65536];
			ssize_t r;

			if (evs[i].events & EPOLLOUT && flush(c) < 0)
				die("write");
			if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				continue;
			r = read(c->fd, buf, sizeof(buf));
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r <= 0) {
				if (c->kind == NODE) {
					fprintf(stderr, "a node lost its connection\n");
					exit(1);
				}
				chats_failed++;
				streams_open--;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				conn_free(c);
				if (restart && running)
					consumer_start();
				continue;
			}
			append(&c->in, &c->inlen, &c->incap, buf, (size_t)r);
			if (c->kind == NODE) {
				node_read(c);
			} else if (consumer_read(c)) {
				streams_open--;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				conn_free(c);
				if (restart && running)
					consumer_start();
			}
		}
		if (streaming && now_us() >= next_tick) {
			nodes_tick(nodes);
			next_tick += opt.tick_ms * 1000;
		}
	}
}

static bool all_registered(void)
{
	return nodes_ready == opt.nodes;
}

static bool no_streams(void)
{
	return streams_open == 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench-router [-r ROUTERD] [-n NODES] [-m STREAMS] [-s SECONDS]\n"
		"                    [-k CHUNKS_PER_CHAT] [-t TICK_MS] [-c PER_NODE] [-1]\n"
		"  -1  every chunk its own frame and write() (as a real node sends)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	struct conn **nodes;
	int64_t t0;
	double cpu0, cpu1, sys0, sys1, secs;
	long rss_idle, rss_nodes, rss_max = 0, rss_end;
	uint64_t seen;
	int o;

	while ((o = getopt(argc, argv, "r:n:m:s:k:t:c:p:1")) != -1) {
		switch (o) {
		case 'r':
			opt.routerd = optarg;
			break;
		case 'n':
			opt.nodes = atoi(optarg);
			break;
		case 'm':
			opt.streams = atoi(optarg);
			break;
		case 's':
			opt.seconds = atoi(optarg);
			break;
		case 'k':
			opt.chunks = atoi(optarg);
			break;
		case 't':
			opt.tick_ms = atoi(optarg);
			break;
		case 'c':
			opt.concurrency = atoi(optarg);
			break;
		case 'p':
			opt.port = atoi(optarg);
			break;
		case '1':
			opt.one_write = true;
			break;
		default:
			usage();
		}
	}
	if (opt.nodes < 1 || opt.streams < 0 || opt.chunks < 1 || opt.tick_ms < 1)
		usage();
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_alarm);
	if (!opt.port)
		opt.port = 20000 + (int)(getpid() % 20000);
	ep = epoll_create1(0);
	spawn_router();
	rss_idle = rss_kb();

	/* phase 1: nodes connect and register */
	t0 = now_us();
	nodes = calloc((size_t)opt.nodes, sizeof(*nodes));
	for (int i = 0; i < opt.nodes; i++) {
		nodes[i] = node_start(i);
		if (i % 200 == 199) /* let the router accept as we go */
			loop(nodes, false, false, now_us() + 1000, NULL);
	}
	loop(nodes, false, false, now_us() + 60 * 1000000LL, all_registered);
	if (!all_registered()) {
		fprintf(stderr, "only %d of %d nodes registered\n", nodes_ready, opt.nodes);
		kill(router_pid, SIGKILL);
		return 1;
	}
	secs = (double)(now_us() - t0) / 1e6;
	loop(nodes, false, false, now_us() + 1000000, NULL); /* settle */
	rss_nodes = rss_kb();
	printf("nodes: %d registered in %.2f s; router RSS %ld KiB idle, %ld KiB with nodes "
	       "(%.1f KiB/node)\n",
		opt.nodes, secs, rss_idle, rss_nodes, (double)(rss_nodes - rss_idle) / opt.nodes);

	/* phase 2: M consumers stream for the given time */
	if (opt.streams > 0) {
		int64_t end;
		int held_min = opt.streams;

		t0 = now_us();
		cpu0 = cpu_s(&sys0);
		for (int i = 0; i < opt.streams; i++)
			consumer_start();
		end = t0 + (int64_t)opt.seconds * 1000000;
		while (running && now_us() < end) {
			long r;

			loop(nodes, true, true, now_us() + 1000000 < end ? now_us() + 1000000 : end,
				NULL);
			r = rss_kb();
			if (r > rss_max)
				rss_max = r;
			if (streams_open < held_min)
				held_min = streams_open;
		}
		cpu1 = cpu_s(&sys1);
		secs = (double)(now_us() - t0) / 1e6;
		seen = chunks_seen;
		/* let the open chats finish, without starting new ones */
		loop(nodes, true, false, now_us() + 30 * 1000000LL, no_streams);
		qsort(lat, nlat, sizeof(*lat), cmp_double);
		printf("streams: %d concurrent (min held %d), %d chats done, %d failed, "
		       "%d chunks per chat, tick %d ms\n",
			opt.streams, held_min, chats_done, chats_failed, opt.chunks, opt.tick_ms);
		printf("chunks: %llu in %.1f s = %.0f chunks/s\n", (unsigned long long)seen, secs,
			(double)seen / secs);
		if (nlat)
			printf("latency node->consumer: p50 %.0f us, p99 %.0f us, max %.0f us\n",
				lat[nlat / 2], lat[nlat * 99 / 100], lat[nlat - 1]);
		printf("router CPU: %.0f%% of one core (%.0f%% system); %.1f us per chunk; "
		       "RSS max %ld KiB during streams\n",
			100.0 * (cpu1 - cpu0) / secs, 100.0 * (sys1 - sys0) / secs,
			seen ? 1e6 * (cpu1 - cpu0) / (double)seen : 0.0, rss_max);
	}
	rss_end = rss_kb();
	printf("router RSS at the end: %ld KiB\n", rss_end);
	kill(router_pid, SIGTERM);
	{
		int status;

		for (int i = 0; i < opt.nodes; i++)
			conn_free(nodes[i]);
		waitpid(router_pid, &status, 0);
		printf("router exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	free(nodes);
	free(lat);
	return 0;
}
