/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * idle-nvml.c - NVIDIA GPUs through NVML, loaded with dlopen() from
 * [idle] nvml_library: the daemon neither links nor needs the driver, and
 * a machine without it simply has no NVIDIA reading.  Per device:
 * nvmlDeviceGetUtilizationRates for the total, and
 * nvmlDeviceGetProcessUtilization (samples newer than the last one seen)
 * to take own processes' share out and to name the biggest foreign user.
 * The NVML declarations below are the subset of nvml.h we call (its ABI is
 * stable; the header is not packaged in Debian main).
 */

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/idle-sources.h"
#include "xmalloc.h"

typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct {
	unsigned int gpu;
	unsigned int memory;
} nvmlUtilization_t;
typedef struct {
	unsigned int pid;
	unsigned long long timeStamp; /* µs */
	unsigned int smUtil, memUtil, encUtil, decUtil;
} nvmlProcessUtilizationSample_t;
typedef struct {
	char busIdLegacy[16];
	unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
	char busId[32]; /* "00000000:01:00.0" */
} nvmlPciInfo_t;

#define NVML_SUCCESS 0
#define NVML_ERROR_INSUFFICIENT_SIZE 7
/* Samples read from one device at most. */
#define NVML_SAMPLES_MAX 256

struct nvml_dev {
	nvmlDevice_t h;
	unsigned long long last_seen;
	double own; /* last known share of own processes */
	pid_t top_pid;
	unsigned top_util;
	char pci[IDLE_PCI_MAX]; /* as the kernel writes it; "" unknown */
};

struct idle_nvml {
	void *lib;
	nvmlReturn_t (*shutdown)(void);
	nvmlReturn_t (*util)(nvmlDevice_t, nvmlUtilization_t *);
	nvmlReturn_t (*proc_util)(
		nvmlDevice_t, nvmlProcessUtilizationSample_t *, unsigned int *, unsigned long long);
	struct nvml_dev dev[IDLE_GPU_MAX];
	unsigned n_dev;
};

/* NVML's bus id ("00000000:01:00.0", 8 hex digits of domain, upper
 * case) as sysfs and DRM write it ("0000:01:00.0"); "" if unknown.
 * nvmlDeviceGetPciInfo_v3 is optional: an old driver without it has GPUs
 * with no PCI id, which only a pattern "*" selects. */
static void read_pci(void *lib, nvmlDevice_t h, char *buf, size_t len)
{
	nvmlReturn_t (*get)(nvmlDevice_t, nvmlPciInfo_t *);
	nvmlPciInfo_t info;
	unsigned dom, bus, dev, fn;

	buf[0] = '\0';
	*(void **)&get = dlsym(lib, "nvmlDeviceGetPciInfo_v3");
	memset(&info, 0, sizeof(info));
	if (!get || get(h, &info) != NVML_SUCCESS)
		return;
	info.busId[sizeof(info.busId) - 1] = '\0';
	if (sscanf(info.busId, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) == 4)
		snprintf(buf, len, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
}

static void *sym(void *lib, const char *name, char *why, size_t whylen)
{
	void *p = dlsym(lib, name);

	if (!p)
		snprintf(why, whylen, "NVML has no %s", name);
	return p;
}

struct idle_nvml *idle_nvml_new(const char *library, char *why, size_t whylen)
{
	nvmlReturn_t (*init)(void);
	nvmlReturn_t (*count)(unsigned int *);
	nvmlReturn_t (*handle)(unsigned int, nvmlDevice_t *);
	struct idle_nvml *n;
	unsigned int c = 0, i;
	void *lib;
	int rc;

	if (!library || !*library) {
		snprintf(why, whylen, "no NVML library configured");
		return NULL;
	}
	lib = dlopen(library, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(why, whylen, "no NVIDIA GPU (%s)", dlerror());
		return NULL;
	}
	n = xcalloc(1, sizeof(*n));
	n->lib = lib;
	*(void **)&init = sym(lib, "nvmlInit_v2", why, whylen);
	*(void **)&count = sym(lib, "nvmlDeviceGetCount_v2", why, whylen);
	*(void **)&handle = sym(lib, "nvmlDeviceGetHandleByIndex_v2", why, whylen);
	*(void **)&n->shutdown = sym(lib, "nvmlShutdown", why, whylen);
	*(void **)&n->util = sym(lib, "nvmlDeviceGetUtilizationRates", why, whylen);
	*(void **)&n->proc_util = sym(lib, "nvmlDeviceGetProcessUtilization", why, whylen);
	if (!init || !count || !handle || !n->shutdown || !n->util || !n->proc_util) {
		dlclose(lib);
		free(n);
		return NULL;
	}
	if ((rc = init()) != NVML_SUCCESS) {
		snprintf(why, whylen, "no NVIDIA GPU (nvmlInit: error %d)", rc);
		dlclose(lib);
		free(n);
		return NULL;
	}
	if (count(&c) != NVML_SUCCESS)
		c = 0;
	for (i = 0; i < c && n->n_dev < IDLE_GPU_MAX; i++)
		if (handle(i, &n->dev[n->n_dev].h) == NVML_SUCCESS) {
			read_pci(lib, n->dev[n->n_dev].h, n->dev[n->n_dev].pci,
				sizeof(n->dev[n->n_dev].pci));
			n->n_dev++;
		}
	if (n->n_dev == 0) {
		snprintf(why, whylen, "no NVIDIA GPU (NVML lists none)");
		idle_nvml_free(n);
		return NULL;
	}
	return n;
}

void idle_nvml_free(struct idle_nvml *n)
{
	if (!n)
		return;
	n->shutdown();
	dlclose(n->lib);
	free(n);
}

/* Own share and biggest foreign user from the samples since last time;
 * a device without new samples keeps what it had. */
static void read_processes(struct idle_nvml *n, struct nvml_dev *dv,
	bool (*is_own)(const void *, pid_t), const void *ctx)
{
	nvmlProcessUtilizationSample_t *s;
	unsigned int count = 0, i;
	unsigned own = 0;
	int rc;

	rc = n->proc_util(dv->h, NULL, &count, dv->last_seen);
	if (rc != NVML_ERROR_INSUFFICIENT_SIZE && rc != NVML_SUCCESS)
		return;
	if (count == 0)
		return;
	if (count > NVML_SAMPLES_MAX)
		count = NVML_SAMPLES_MAX;
	s = xcalloc(count, sizeof(*s));
	if (n->proc_util(dv->h, s, &count, dv->last_seen) != NVML_SUCCESS) {
		free(s);
		return;
	}
	dv->top_pid = 0;
	dv->top_util = 0;
	for (i = 0; i < count; i++) {
		if (s[i].timeStamp > dv->last_seen)
			dv->last_seen = s[i].timeStamp;
		if (is_own(ctx, (pid_t)s[i].pid))
			own += s[i].smUtil;
		else if (s[i].smUtil > dv->top_util) {
			dv->top_util = s[i].smUtil;
			dv->top_pid = (pid_t)s[i].pid;
		}
	}
	dv->own = own;
	free(s);
}

size_t idle_nvml_sample(struct idle_nvml *n, const char *proc_root,
	bool (*is_own)(const void *ctx, pid_t pid), const void *ctx, struct idle_gpu_reading *out,
	size_t max)
{
	size_t k = 0;

	for (unsigned i = 0; i < n->n_dev && k < max; i++) {
		struct nvml_dev *dv = &n->dev[i];
		struct idle_gpu_reading *r = &out[k];
		nvmlUtilization_t u;

		if (n->util(dv->h, &u) != NVML_SUCCESS)
			continue;
		read_processes(n, dv, is_own, ctx);
		r->index = (int)i;
		r->total = u.gpu;
		r->own = dv->own > r->total ? r->total : dv->own;
		r->top_pid = dv->top_pid;
		r->top_comm[0] = '\0';
		memcpy(r->pci, dv->pci, sizeof(r->pci));
		if (dv->top_pid &&
			idle_read_comm(proc_root, dv->top_pid, r->top_comm, sizeof(r->top_comm)) <
				0)
			r->top_comm[0] = '\0';
		k++;
	}
	return k;
}
