/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * bench-router - load generator for idleclaw-routerd.
 *
 * Starts the router on a loopback port, connects N simulated nodes (raw
 * WebSocket clients speaking the node protocol) and keeps M consumers
 * streaming chats through it for D seconds.  Each node answers a request
 * with one chunk per tick per active request (all of a node's chunks of a
 * tick in one write(), or with -1 one write() each), every chunk stamped with the
 * send time, so a consumer can measure the latency the router adds.
 * Reports streams held, chunks/s, p50/p99 latency per chunk and from a
 * chat's request to its first chunk, and the router's CPU and RSS.  One
 * thread, epoll, no libraries.
 *
 * With -C (cluster mode) it starts nats-server and two routers in one
 * cluster: the nodes connect to instance b, the consumers to instance a, so
 * every chunk crosses a <- NATS <- b.  CPU per chunk is then reported for
 * a, b and nats-server separately, and summed.
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
#include <sys/prctl.h>
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
	int64_t started_us; /* request written */
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
	bool cluster;	/* -C: nodes on instance b, consumers on instance a */
	const char *nats;
} opt = { 0, 100, 200, 10, 50, 20, 10, "router/idleclaw-routerd", false, false,
	"/usr/sbin/nats-server" };

/*
 * The processes under test.  Local mode: procs[0] is the router, nodes and
 * consumers connect to it.  Cluster mode: procs[0] instance a (consumers),
 * procs[1] instance b (nodes), procs[2] nats-server.
 */
struct proc {
	const char *name;
	pid_t pid;
	int port;
	int stop_sig; /* nats-server exits with 0 on SIGINT, 1 on SIGTERM */
	double cpu0, cpu1, sys0, sys1;
	long rss_max;
};

static struct proc procs[3];
static int nprocs;
static int node_port, consumer_port;

static int ep;
static int nodes_ready, streams_open, chats_done, chats_failed;
static uint64_t chunks_seen;
struct samples {
	double *v;
	size_t n, cap;
};

/* node write -> consumer read of each chunk; request -> first chunk of each chat */
static struct samples lat, first;
static bool running = true;

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void kill_all(void)
{
	for (int i = 0; i < nprocs; i++)
		if (procs[i].pid > 0)
			kill(procs[i].pid, SIGKILL);
}

static void die(const char *what)
{
	perror(what);
	kill_all();
	exit(1);
}

/* A fatal condition that is not a failed system call. */
static void fail(const char *msg)
{
	fprintf(stderr, "%s\n", msg);
	kill_all();
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
	struct sockaddr_in sa = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)(kind == NODE ? node_port : consumer_port)) };
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
			fail("bench-router: giving up");
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
			fail("bench-router: giving up");
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
	c->started_us = now_us();
	out_add(c, req, (size_t)len);
	flush(c);
	streams_open++;
}

static void sample(struct samples *s, double us)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 65536;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = us;
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
			if (!chats_failed)
				fprintf(stderr, "first failed chat: %.*s\n",
					(int)strcspn(c->in, "\r\n"), c->in);
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
			int64_t now = now_us();

			sample(&lat, (double)(now - strtoll(t + 2, NULL, 10)));
			if (!c->chunks++)
				sample(&first, (double)(now - c->started_us));
			chunks_seen++;
		}
		off = (size_t)(e + 2 - c->in);
	}
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
	return 0;
}

/* --- the processes under test --- */

static bool port_open(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/*
 * Start argv as procs[nprocs] and wait (5 s at most) until it listens on
 * port.  The child dies with the bench (PR_SET_PDEATHSIG), so a bench killed
 * or exiting early leaves no process behind.
 */
static void spawn(const char *name, int port, const char **argv, bool quiet)
{
	struct proc *p = &procs[nprocs++];
	pid_t parent = getpid();
	char msg[128];

	if (port_open(port)) {
		snprintf(msg, sizeof(msg), "port %d is in use already (-p)", port);
		fail(msg);
	}
	p->name = name;
	p->port = port;
	p->stop_sig = SIGTERM;
	p->pid = fork();
	if (p->pid < 0)
		die("fork");
	if (p->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (quiet) {
			int fd = open("/dev/null", O_WRONLY);

			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		int status;

		if (port_open(port))
			return;
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			p->pid = 0;
			break;
		}
		usleep(50000);
	}
	snprintf(msg, sizeof(msg), "%s (%s) did not start on port %d", name, argv[0], port);
	fail(msg);
}

/* A router; with a NATS url, a cluster instance called name. */
static void spawn_router(const char *name, int port, const char *nats_url)
{
	char listen[64], url[96], inst[96];
	const char *argv[40];
	int n = 0;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	argv[n++] = opt.routerd;
	argv[n++] = "--config";
	argv[n++] = "/nonexistent";
	argv[n++] = "--listen";
	argv[n++] = listen;
	{
		/* the per-IP limits lifted (every socket comes from 127.0.0.1), and
		 * the reply limits (long chats are longer than 4096 characters) */
		static const char *const o[] = { "router.log_level=warning",
			"router.rate_chat=1000000", "router.rate_upgrade=1000000",
			"router.rate_other=1000000", "router.streams_per_ip=100000",
			"router.nodes_per_ip=100000", "router.max_nodes=100000",
			"router.queue_max=100000", "router.max_reply_chars=0",
			"router.reply_timeout=0" };

		for (size_t i = 0; i < sizeof(o) / sizeof(o[0]); i++) {
			argv[n++] = "-o";
			argv[n++] = o[i];
		}
	}
	if (nats_url) {
		snprintf(url, sizeof(url), "cluster.url=%s", nats_url);
		snprintf(inst, sizeof(inst), "cluster.instance=%s", name);
		argv[n++] = "-o";
		argv[n++] = url;
		argv[n++] = "-o";
		argv[n++] = inst;
	}
	argv[n] = NULL;
	spawn(name, port, argv, false);
}

static void spawn_all(void)
{
	char port[16], url[64];

	if (!opt.cluster) {
		spawn_router("router", opt.port, NULL);
		node_port = consumer_port = opt.port;
		return;
	}
	/* ports: a = -p, b = -p + 1, nats-server = -p + 2 */
	snprintf(port, sizeof(port), "%d", opt.port + 2);
	snprintf(url, sizeof(url), "nats://127.0.0.1:%d", opt.port + 2);
	{
		const char *argv[] = { opt.nats, "-a", "127.0.0.1", "-p", port, NULL };

		spawn("nats-server", opt.port + 2, argv, true);
		procs[0].stop_sig = SIGINT;
	}
	spawn_router("a", opt.port, url);
	spawn_router("b", opt.port + 1, url);
	/* keep procs[] in the documented order: a, b, nats-server */
	{
		struct proc nats = procs[0];

		procs[0] = procs[1];
		procs[1] = procs[2];
		procs[2] = nats;
	}
	consumer_port = opt.port;
	node_port = opt.port + 1;
}

static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* A process's CPU seconds so far, user and system, all threads (*sys, if not NULL). */
static double cpu_s(pid_t pid, double *sys)
{
	char path[64], buf[1024];
	unsigned long ut = 0, st = 0;
	char *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
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

/*
 * The free slots a router's GET /api/models?verbose=1 gives the bench model
 * (summed over the cluster); -1 if it does not list it.  A short
 * blocking request: the bench is idle meanwhile.
 */
static int models_free_slots(int port)
{
	static const char req[] = "GET /api/models?verbose=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				  "Connection: close\r\n\r\n";
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char buf[65536];
	size_t len = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), free_slots = -1;
	char *m, *f;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (;;) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	m = strstr(buf, "\"bench\"");
	if (m && (f = strstr(m, "\"free_slots\"")) && (f = strchr(f, ':')))
		free_slots = atoi(f + 1);
	return free_slots;
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
				if (c->kind == NODE)
					fail("a node lost its connection");
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
		"                    [-k CHUNKS_PER_CHAT] [-t TICK_MS] [-c PER_NODE] [-p PORT] "
		"[-1]\n"
		"                    [-C [-N NATS_SERVER]]\n"
		"  -1  every chunk its own frame and write() (as a real node sends)\n"
		"  -C  cluster: nats-server on PORT+2, instance a on PORT (consumers),\n"
		"      instance b on PORT+1 (nodes); every chunk crosses a <- NATS <- b\n"
		"  -N  the nats-server binary (default /usr/sbin/nats-server)\n");
	exit(2);
}

/*
 * Cluster mode: wait until instance a lists the bench model with as many
 * free slots as b has (a's summary of b is current), 30 s at most.  Not
 * every node's slots: b may be probing a node (trust.probe_interval).
 */
static void wait_cluster(struct conn **nodes)
{
	int64_t t0 = now_us(), deadline = t0 + 30 * 1000000LL;
	int got = -1, want = -1;

	while (running && now_us() < deadline) {
		want = models_free_slots(node_port);
		got = models_free_slots(consumer_port);
		if (got > 0 && got == want) {
			printf("cluster: a lists the model with %d free slots after %.2f s\n", got,
				(double)(now_us() - t0) / 1e6);
			return;
		}
		loop(nodes, false, false, now_us() + 100000, NULL);
	}
	fprintf(stderr, "instance a shows %d free slots for the model, b %d, after 30 s\n", got,
		want);
	fail("bench-router: giving up");
}

static void cpu_mark(bool end)
{
	for (int i = 0; i < nprocs; i++) {
		struct proc *p = &procs[i];

		if (end)
			p->cpu1 = cpu_s(p->pid, &p->sys1);
		else
			p->cpu0 = cpu_s(p->pid, &p->sys0);
	}
}

static void rss_mark(void)
{
	for (int i = 0; i < nprocs; i++) {
		long r = rss_kb(procs[i].pid);

		if (r > procs[i].rss_max)
			procs[i].rss_max = r;
	}
}

static void report_cpu(double secs, uint64_t seen)
{
	double sum = 0;

	for (int i = 0; i < nprocs; i++) {
		struct proc *p = &procs[i];
		double cpu = p->cpu1 - p->cpu0;

		printf("%s CPU: %.0f%% of one core (%.0f%% system); %.1f us per chunk; "
		       "RSS max %ld KiB during streams\n",
			p->name, 100.0 * cpu / secs, 100.0 * (p->sys1 - p->sys0) / secs,
			seen ? 1e6 * cpu / (double)seen : 0.0, p->rss_max);
		sum += cpu;
	}
	if (nprocs > 1)
		printf("CPU a+b+nats-server: %.0f%% of one core; %.1f us per chunk\n",
			100.0 * sum / secs, seen ? 1e6 * sum / (double)seen : 0.0);
}

/* Stop every process, routers first; their exit status. */
static void stop_all(void)
{
	for (int i = 0; i < nprocs; i++) {
		struct proc *p = &procs[i];
		int status;

		if (p->pid <= 0)
			continue;
		kill(p->pid, p->stop_sig);
		if (waitpid(p->pid, &status, 0) == p->pid)
			printf("%s exit status %d\n", p->name,
				WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		p->pid = 0;
	}
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	struct conn **nodes;
	int64_t t0;
	double secs;
	long rss_idle, rss_nodes, rss_end;
	uint64_t seen;
	int o;

	while ((o = getopt(argc, argv, "r:n:m:s:k:t:c:p:1CN:")) != -1) {
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
		case 'C':
			opt.cluster = true;
			break;
		case 'N':
			opt.nats = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || opt.nodes < 1 || opt.streams < 0 || opt.chunks < 1 ||
		opt.tick_ms < 1 || opt.concurrency < 1 || opt.port < 0 || opt.port > 65533)
		usage();
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_alarm);
	signal(SIGTERM, on_alarm);
	if (!opt.port)
		opt.port = 20000 + (int)(getpid() % 20000);
	ep = epoll_create1(0);
	spawn_all();
	/* the node side's router: the only one in local mode, b in a cluster */
	rss_idle = rss_kb(procs[opt.cluster ? 1 : 0].pid);

	/* phase 1: nodes connect and register */
	t0 = now_us();
	nodes = calloc((size_t)opt.nodes, sizeof(*nodes));
	if (!nodes)
		die("calloc");
	for (int i = 0; i < opt.nodes; i++) {
		nodes[i] = node_start(i);
		if (i % 200 == 199) /* let the router accept as we go */
			loop(nodes, false, false, now_us() + 1000, NULL);
	}
	loop(nodes, false, false, now_us() + 60 * 1000000LL, all_registered);
	if (!all_registered()) {
		fprintf(stderr, "only %d of %d nodes registered\n", nodes_ready, opt.nodes);
		kill_all();
		return 1;
	}
	secs = (double)(now_us() - t0) / 1e6;
	loop(nodes, false, false, now_us() + 1000000, NULL); /* settle */
	rss_nodes = rss_kb(procs[opt.cluster ? 1 : 0].pid);
	printf("nodes: %d registered in %.2f s; %s RSS %ld KiB idle, %ld KiB with nodes "
	       "(%.1f KiB/node)\n",
		opt.nodes, secs, opt.cluster ? "b" : "router", rss_idle, rss_nodes,
		(double)(rss_nodes - rss_idle) / opt.nodes);
	if (opt.cluster)
		wait_cluster(nodes);

	/* phase 2: M consumers stream for the given time */
	if (opt.streams > 0 && running) {
		int64_t end;
		int held_min = opt.streams;

		t0 = now_us();
		cpu_mark(false);
		for (int i = 0; i < opt.streams; i++)
			consumer_start();
		end = t0 + (int64_t)opt.seconds * 1000000;
		while (running && now_us() < end) {
			loop(nodes, true, true, now_us() + 1000000 < end ? now_us() + 1000000 : end,
				NULL);
			rss_mark();
			if (streams_open < held_min)
				held_min = streams_open;
		}
		cpu_mark(true);
		secs = (double)(now_us() - t0) / 1e6;
		seen = chunks_seen;
		/* let the open chats finish, without starting new ones */
		loop(nodes, true, false, now_us() + 30 * 1000000LL, no_streams);
		qsort(lat.v, lat.n, sizeof(*lat.v), cmp_double);
		qsort(first.v, first.n, sizeof(*first.v), cmp_double);
		printf("streams: %d concurrent (min held %d), %d chats done, %d failed, "
		       "%d chunks per chat, tick %d ms\n",
			opt.streams, held_min, chats_done, chats_failed, opt.chunks, opt.tick_ms);
		printf("chunks: %llu in %.1f s = %.0f chunks/s\n", (unsigned long long)seen, secs,
			(double)seen / secs);
		if (lat.n)
			printf("latency node->consumer: p50 %.0f us, p99 %.0f us, max %.0f us\n",
				lat.v[lat.n / 2], lat.v[lat.n * 99 / 100], lat.v[lat.n - 1]);
		if (first.n)
			printf("request->first chunk: p50 %.0f us, p99 %.0f us, max %.0f us\n",
				first.v[first.n / 2], first.v[first.n * 99 / 100],
				first.v[first.n - 1]);
		report_cpu(secs, seen);
	}
	rss_end = rss_kb(procs[0].pid);
	printf("%s RSS at the end: %ld KiB\n", procs[0].name, rss_end);
	for (int i = 0; i < opt.nodes; i++)
		conn_free(nodes[i]);
	stop_all();
	free(nodes);
	free(lat.v);
	free(first.v);
	return 0;
}
