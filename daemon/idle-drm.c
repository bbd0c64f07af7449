/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * idle-drm.c - AMD and Intel GPUs: SYS/class/drm/cardN/device/
 * gpu_busy_percent for the device (amdgpu), and per-process attribution
 * from DRM fdinfo (kernel docs "DRM client usage stats"): every DRM fd of
 * an own process has drm-client-id (a client may be open on several fds:
 * counted once), drm-pdev (which device) and drm-engine-<name>: <N> ns of
 * cumulative busy time.  Own share = Δns of own clients / Δwall time.
 * A client first seen counts all its time (it opened since the last
 * sample or scan), which errs on the side of "ours".
 */

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/idle-sources.h"
#include "xmalloc.h"

#define DRM_CLIENTS_MAX 64
#define PDEV_MAX 32

struct drm_client {
	uint64_t id;
	char pdev[PDEV_MAX];
	uint64_t ns; /* all engines, cumulative */
};

struct idle_drm {
	char *proc_root, *sys_root;
	struct drm_client clients[DRM_CLIENTS_MAX];
	size_t n_clients;
	uint64_t prev_now_ns;
};

struct idle_drm *idle_drm_new(const char *proc_root, const char *sys_root)
{
	struct idle_drm *g = xcalloc(1, sizeof(*g));

	g->proc_root = xstrdup(proc_root);
	g->sys_root = xstrdup(sys_root);
	return g;
}

void idle_drm_free(struct idle_drm *g)
{
	if (!g)
		return;
	free(g->proc_root);
	free(g->sys_root);
	free(g);
}

/* Parse one fdinfo file; 0 and *c filled when it is a DRM client. */
static int read_fdinfo(const char *path, struct drm_client *c)
{
	char line[256];
	bool have_id = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	memset(c, 0, sizeof(*c));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;
		char *colon;

		if (sscanf(line, "drm-client-id: %llu", &v) == 1) {
			c->id = v;
			have_id = true;
		} else if (strncmp(line, "drm-pdev:", 9) == 0) {
			sscanf(line + 9, " %31s", c->pdev);
		} else if (strncmp(line, "drm-engine-", 11) == 0 &&
			strncmp(line, "drm-engine-capacity-", 20) != 0 &&
			(colon = strchr(line, ':')) != NULL &&
			sscanf(colon + 1, " %llu ns", &v) == 1) {
			c->ns += v;
		}
	}
	fclose(f);
	return have_id ? 0 : -1;
}

/* Add the DRM clients of pid to out (deduplicated by client id). */
static void clients_of(const struct idle_drm *g, pid_t pid, struct drm_client *out, size_t *n)
{
	char dir[512], path[600], link[256];
	struct dirent *e;
	struct drm_client c;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%ld/fd", g->proc_root, (long)pid);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d)) != NULL && *n < DRM_CLIENTS_MAX) {
		ssize_t len;
		size_t i;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		if (idle_pathf(path, sizeof(path), "%s/%s", dir, e->d_name) < 0)
			continue;
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		if (strncmp(link, "/dev/dri/", 9) != 0)
			continue;
		if (idle_pathf(path, sizeof(path), "%s/%ld/fdinfo/%s", g->proc_root, (long)pid,
			    e->d_name) < 0 ||
			read_fdinfo(path, &c) < 0)
			continue;
		for (i = 0; i < *n && out[i].id != c.id; i++)
			;
		if (i == *n)
			out[(*n)++] = c;
	}
	closedir(d);
}

static uint64_t prev_ns(const struct idle_drm *g, uint64_t id)
{
	for (size_t i = 0; i < g->n_clients; i++)
		if (g->clients[i].id == id)
			return g->clients[i].ns;
	return 0;
}

/* The PCI address a card's device links to ("0000:03:00.0"), or "". */
static void card_pdev(const char *cards, const char *name, char *buf, size_t len)
{
	char path[600], link[512];
	ssize_t n;
	const char *slash;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s/device", cards, name);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return;
	link[n] = '\0';
	slash = strrchr(link, '/');
	slash = slash ? slash + 1 : link;
	if (strlen(slash) < len)
		memcpy(buf, slash, strlen(slash) + 1);
}

static int read_busy(const char *cards, const char *name, double *out)
{
	char path[600], buf[32];

	snprintf(path, sizeof(path), "%s/%s/device/gpu_busy_percent", cards, name);
	if (idle_read_small(path, 0, buf, sizeof(buf)) <= 0)
		return -1;
	*out = strtod(buf, NULL);
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

size_t idle_drm_sample(struct idle_drm *g, const pid_t *own, size_t n_own, uint64_t now_ns,
	struct idle_gpu_reading *out, size_t max)
{
	struct drm_client now[DRM_CLIENTS_MAX];
	uint64_t delta[DRM_CLIENTS_MAX];
	size_t n_now = 0, n_out = 0, n_names = 0, i, j;
	char cards[512], pdev[PDEV_MAX], *names[IDLE_GPU_MAX];
	uint64_t wall = g->prev_now_ns && now_ns > g->prev_now_ns ? now_ns - g->prev_now_ns : 0;
	struct dirent *e;
	DIR *d;

	for (i = 0; i < n_own; i++)
		clients_of(g, own[i], now, &n_now);
	for (i = 0; i < n_now; i++) {
		uint64_t p = prev_ns(g, now[i].id);

		delta[i] = now[i].ns > p ? now[i].ns - p : 0;
	}
	memcpy(g->clients, now, n_now * sizeof(now[0]));
	g->n_clients = n_now;
	g->prev_now_ns = now_ns;
	if (!wall)
		return 0; /* the first sample sets the baselines */
	snprintf(cards, sizeof(cards), "%s/class/drm", g->sys_root);
	if (!(d = opendir(cards)))
		return 0;
	while ((e = readdir(d)) != NULL && n_names < IDLE_GPU_MAX)
		if (strncmp(e->d_name, "card", 4) == 0 && e->d_name[4] &&
			strspn(e->d_name + 4, "0123456789") == strlen(e->d_name + 4))
			names[n_names++] = xstrdup(e->d_name);
	closedir(d);
	qsort(names, n_names, sizeof(names[0]), cmp_name);
	for (i = 0; i < n_names; i++) {
		struct idle_gpu_reading *r = &out[n_out];
		uint64_t own_ns = 0;

		if (n_out < max && read_busy(cards, names[i], &r->total) == 0) {
			card_pdev(cards, names[i], pdev, sizeof(pdev));
			for (j = 0; j < n_now; j++)
				if (!pdev[0] || !now[j].pdev[0] || strcmp(pdev, now[j].pdev) == 0)
					own_ns += delta[j];
			r->index = atoi(names[i] + 4);
			r->own = 100.0 * (double)own_ns / (double)wall;
			if (r->own > r->total)
				r->own = r->total;
			r->top_pid = 0;
			r->top_comm[0] = '\0';
			snprintf(r->pci, sizeof(r->pci), "%s", pdev);
			n_out++;
		}
		free(names[i]);
	}
	return n_out;
}
