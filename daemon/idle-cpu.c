/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * idle-cpu.c - CPU used by others: /proc/stat deltas minus our own
 * processes' utime+stime deltas, as a share of all CPU time.
 *
 * "Own" is idleclawd itself and every process whose comm matches
 * [idle] own_processes (Ollama's server and its model runners).  The
 * process list is scanned every IDLE_CPU_RESCAN_SAMPLES samples, and at
 * once when a sample would say others are busy: a runner Ollama started
 * since the last scan must not count against us.  A process first seen in
 * a scan counts its whole CPU time (it started after the previous scan),
 * which errs on the side of "ours".  The same scan finds exclusive
 * processes.
 */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/patterns.h"
#include "daemon/idle-sources.h"
#include "xmalloc.h"

/* A sample above this share of others' CPU rescans before it reports. */
#define RESCAN_OTHERS_PCT 10.0

struct own_proc {
	pid_t pid;
	uint64_t ticks; /* utime+stime at the last read; 0 = new */
};

struct idle_cpu {
	char *proc_root;
	pid_t self;
	char *own_patterns;
	char *excl_patterns;
	struct own_proc own[IDLE_CPU_OWN_MAX];
	size_t n_own;
	pid_t own_pids[IDLE_CPU_OWN_MAX]; /* for idle_cpu_own() */
	pid_t excl_pid;
	char excl_comm[IDLE_COMM_MAX];
	uint64_t prev_all, prev_busy;
	bool have_prev;
	unsigned since_scan;
	bool scanned;
	double own_pct;
};

/* First line of /proc/stat: all and busy (all - idle - iowait) ticks. */
static int read_stat(const char *proc_root, uint64_t *all, uint64_t *busy)
{
	char path[512], buf[512];
	unsigned long long v[8] = { 0 };

	snprintf(path, sizeof(path), "%s/stat", proc_root);
	if (idle_read_small(path, 0, buf, sizeof(buf)) < 0)
		return -1;
	/* user nice system idle iowait irq softirq steal; guest time is
	 * already in user and nice */
	if (sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		    &v[4], &v[5], &v[6], &v[7]) < 4)
		return -1;
	*all = 0;
	for (int i = 0; i < 8; i++)
		*all += v[i];
	*busy = *all - v[3] - v[4];
	return 0;
}

/*
 * /proc/PID/stat: comm (between the first '(' and the LAST ')', it may
 * hold both) and utime+stime (fields 14 and 15).  0 ok, -1 gone.
 */
static int read_pid_stat(
	const char *proc_root, pid_t pid, char *comm, size_t commlen, uint64_t *ticks)
{
	char path[512], buf[1024];
	char *open_p, *close_p, *p;
	unsigned long long ut, st;
	size_t n;
	int i;

	snprintf(path, sizeof(path), "%s/%ld/stat", proc_root, (long)pid);
	if (idle_read_small(path, 0, buf, sizeof(buf)) < 0)
		return -1;
	open_p = strchr(buf, '(');
	close_p = strrchr(buf, ')');
	if (!open_p || !close_p || close_p < open_p)
		return -1;
	n = (size_t)(close_p - open_p - 1);
	if (n >= commlen)
		n = commlen - 1;
	memcpy(comm, open_p + 1, n);
	comm[n] = '\0';
	/* after ") ": state(3) ... cmajflt(13), then utime(14) stime(15) */
	p = close_p + 1;
	for (i = 3; i < 14; i++) {
		while (*p == ' ')
			p++;
		p = strchr(p, ' ');
		if (!p)
			return -1;
	}
	if (sscanf(p, " %llu %llu", &ut, &st) != 2)
		return -1;
	*ticks = ut + st;
	return 0;
}

static bool is_own_comm(const struct idle_cpu *c, pid_t pid, const char *comm)
{
	return pid == c->self || ic_patterns_match(c->own_patterns, comm);
}

static uint64_t known_ticks(const struct idle_cpu *c, pid_t pid)
{
	for (size_t i = 0; i < c->n_own; i++)
		if (c->own[i].pid == pid)
			return c->own[i].ticks;
	return 0;
}

/* Walk the process list: own processes (keeping their counters) and the
 * first exclusive one. */
static void scan(struct idle_cpu *c)
{
	struct own_proc next[IDLE_CPU_OWN_MAX];
	size_t n = 0;
	DIR *dir = opendir(c->proc_root);
	struct dirent *e;
	char comm[IDLE_COMM_MAX];

	c->since_scan = 0;
	c->scanned = true;
	c->excl_pid = 0;
	c->excl_comm[0] = '\0';
	if (!dir) {
		c->n_own = 0;
		return;
	}
	while ((e = readdir(dir)) != NULL) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (!isdigit((unsigned char)e->d_name[0]) || *end != '\0' || pid <= 0)
			continue;
		if (idle_read_comm(c->proc_root, (pid_t)pid, comm, sizeof(comm)) < 0)
			continue;
		if (is_own_comm(c, (pid_t)pid, comm)) {
			if (n < IDLE_CPU_OWN_MAX) {
				next[n].pid = (pid_t)pid;
				next[n].ticks = known_ticks(c, (pid_t)pid);
				n++;
			}
			continue;
		}
		if (!c->excl_pid && ic_patterns_match(c->excl_patterns, comm)) {
			c->excl_pid = (pid_t)pid;
			snprintf(c->excl_comm, sizeof(c->excl_comm), "%s", comm);
		}
	}
	closedir(dir);
	memcpy(c->own, next, n * sizeof(next[0]));
	c->n_own = n;
}

/* Ticks own processes used since the last read; drops processes that
 * ended or whose pid now belongs to someone else. */
static uint64_t own_delta(struct idle_cpu *c)
{
	uint64_t sum = 0, t;
	char comm[IDLE_COMM_MAX];
	size_t i = 0;

	while (i < c->n_own) {
		struct own_proc *o = &c->own[i];

		if (read_pid_stat(c->proc_root, o->pid, comm, sizeof(comm), &t) < 0 ||
			!is_own_comm(c, o->pid, comm)) {
			*o = c->own[--c->n_own];
			continue;
		}
		if (t > o->ticks)
			sum += t - o->ticks;
		o->ticks = t;
		i++;
	}
	return sum;
}

/* Is the exclusive process of the last scan still there? */
static void check_exclusive(struct idle_cpu *c)
{
	char comm[IDLE_COMM_MAX];
	uint64_t t;

	if (c->excl_pid &&
		(read_pid_stat(c->proc_root, c->excl_pid, comm, sizeof(comm), &t) < 0 ||
			strcmp(comm, c->excl_comm) != 0)) {
		c->excl_pid = 0;
		c->excl_comm[0] = '\0';
	}
}

static double share(uint64_t part, uint64_t whole)
{
	if (part > whole)
		part = whole;
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

void idle_cpu_sample(struct idle_cpu *c, struct idle_sample *s)
{
	uint64_t all, busy, d_all, d_busy, d_own;
	bool fresh = false;

	s->cpu_others = -1;
	c->own_pct = -1;
	if (!c->scanned || ++c->since_scan >= IDLE_CPU_RESCAN_SAMPLES) {
		scan(c);
		fresh = true;
	} else {
		check_exclusive(c);
	}
	if (c->excl_pid) {
		snprintf(s->exclusive, sizeof(s->exclusive), "%s", c->excl_comm);
		s->exclusive_pid = c->excl_pid;
	}
	d_own = own_delta(c);
	if (read_stat(c->proc_root, &all, &busy) < 0) {
		c->have_prev = false;
		return;
	}
	if (!c->have_prev || all < c->prev_all || busy < c->prev_busy) {
		c->have_prev = true;
		c->prev_all = all;
		c->prev_busy = busy;
		return;
	}
	d_all = all - c->prev_all;
	d_busy = busy - c->prev_busy;
	c->prev_all = all;
	c->prev_busy = busy;
	if (!fresh &&
		share(d_busy - (d_own < d_busy ? d_own : d_busy), d_all) >= RESCAN_OTHERS_PCT) {
		scan(c);
		d_own += own_delta(c);
		if (c->excl_pid) {
			snprintf(s->exclusive, sizeof(s->exclusive), "%s", c->excl_comm);
			s->exclusive_pid = c->excl_pid;
		}
	}
	if (d_own > d_busy)
		d_own = d_busy;
	s->cpu_others = share(d_busy - d_own, d_all);
	c->own_pct = share(d_own, d_all);
}

struct idle_cpu *idle_cpu_new(
	const char *proc_root, pid_t self, const char *own_patterns, const char *exclusive_patterns)
{
	struct idle_cpu *c = xcalloc(1, sizeof(*c));

	c->proc_root = xstrdup(proc_root);
	c->self = self;
	c->own_patterns = xstrdup(own_patterns ? own_patterns : "");
	c->excl_patterns = xstrdup(exclusive_patterns ? exclusive_patterns : "");
	c->own_pct = -1;
	return c;
}

void idle_cpu_free(struct idle_cpu *c)
{
	if (!c)
		return;
	free(c->proc_root);
	free(c->own_patterns);
	free(c->excl_patterns);
	free(c);
}

const pid_t *idle_cpu_own(struct idle_cpu *c, size_t *n)
{
	for (size_t i = 0; i < c->n_own; i++)
		c->own_pids[i] = c->own[i].pid;
	*n = c->n_own;
	return c->own_pids;
}

bool idle_cpu_is_own(const struct idle_cpu *c, pid_t pid)
{
	for (size_t i = 0; i < c->n_own; i++)
		if (c->own[i].pid == pid)
			return true;
	return pid == c->self;
}

double idle_cpu_own_percent(const struct idle_cpu *c)
{
	return c->own_pct;
}

double idle_cpu_psi(const char *proc_root)
{
	char path[512], buf[256];
	double v;
	const char *p;

	snprintf(path, sizeof(path), "%s/pressure/cpu", proc_root);
	if (idle_read_small(path, 0, buf, sizeof(buf)) < 0)
		return -1;
	p = strstr(buf, "some avg10=");
	if (!p || sscanf(p, "some avg10=%lf", &v) != 1)
		return -1;
	return v;
}
