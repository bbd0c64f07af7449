/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * fake-nvml.c - a stand-in for libnvidia-ml.so.1 with the symbols
 * daemon/idle-nvml.c calls.  Its readings come from the file named by
 * FAKE_NVML_FILE, read again at every call, one line each:
 *   gpu INDEX UTIL            a device and its utilization percent
 *   proc INDEX PID SMUTIL     a process sample on that device
 *   pci INDEX DOMAIN:BUS:DEV.FN  its PCI bus id (as sysfs writes it;
 *                             reported the way NVML does, "00000000:01:00.0")
 * No FAKE_NVML_FILE (or no such file): nvmlInit fails as without a driver.
 * Every nvmlDeviceGetProcessUtilization call returns fresh samples.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAKE_MAX 16

typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct {
	unsigned int gpu;
	unsigned int memory;
} nvmlUtilization_t;
typedef struct {
	char busIdLegacy[16];
	unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
	char busId[32];
} nvmlPciInfo_t;
typedef struct {
	unsigned int pid;
	unsigned long long timeStamp;
	unsigned int smUtil, memUtil, encUtil, decUtil;
} nvmlProcessUtilizationSample_t;

struct fake {
	unsigned n_gpu;
	unsigned util[FAKE_MAX];
	unsigned n_proc;
	unsigned proc_dev[FAKE_MAX], proc_pid[FAKE_MAX], proc_sm[FAKE_MAX];
	unsigned pci[FAKE_MAX][4]; /* domain, bus, device, function */
	int has_pci[FAKE_MAX];
};

static unsigned long long clock_us = 1000;

nvmlReturn_t nvmlInit_v2(void);
nvmlReturn_t nvmlShutdown(void);
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count);
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *dev);
nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t dev, nvmlUtilization_t *u);
nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t dev, nvmlProcessUtilizationSample_t *s,
	unsigned int *count, unsigned long long last);
nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t dev, nvmlPciInfo_t *pci);

static int load(struct fake *f)
{
	const char *path = getenv("FAKE_NVML_FILE");
	char line[128];
	unsigned a, b, c, p[4];
	FILE *fp;

	memset(f, 0, sizeof(*f));
	if (!path || !(fp = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "gpu %u %u", &a, &b) == 2 && a < FAKE_MAX) {
			f->util[a] = b;
			if (a + 1 > f->n_gpu)
				f->n_gpu = a + 1;
		} else if (sscanf(line, "proc %u %u %u", &a, &b, &c) == 3 && f->n_proc < FAKE_MAX) {
			f->proc_dev[f->n_proc] = a;
			f->proc_pid[f->n_proc] = b;
			f->proc_sm[f->n_proc] = c;
			f->n_proc++;
		} else if (sscanf(line, "pci %u %x:%x:%x.%x", &a, &p[0], &p[1], &p[2], &p[3]) ==
				5 &&
			a < FAKE_MAX) {
			memcpy(f->pci[a], p, sizeof(p));
			f->has_pci[a] = 1;
		}
	}
	fclose(fp);
	return 0;
}

nvmlReturn_t nvmlInit_v2(void)
{
	struct fake f;

	return load(&f) < 0 ? 9 /* NVML_ERROR_DRIVER_NOT_LOADED */ : 0;
}

nvmlReturn_t nvmlShutdown(void)
{
	return 0;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
	struct fake f;

	load(&f);
	*count = f.n_gpu;
	return 0;
}

/* A handle is the index plus one (never NULL). */
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *dev)
{
	*dev = (nvmlDevice_t)(unsigned long)(i + 1);
	return 0;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t dev, nvmlUtilization_t *u)
{
	struct fake f;
	unsigned i = (unsigned)(unsigned long)dev - 1;

	load(&f);
	if (i >= f.n_gpu)
		return 2; /* NVML_ERROR_INVALID_ARGUMENT */
	u->gpu = f.util[i];
	u->memory = 0;
	return 0;
}

nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t dev, nvmlProcessUtilizationSample_t *s,
	unsigned int *count, unsigned long long last)
{
	struct fake f;
	unsigned i = (unsigned)(unsigned long)dev - 1, k, n = 0;

	load(&f);
	for (k = 0; k < f.n_proc; k++)
		n += f.proc_dev[k] == i;
	if (n == 0) {
		*count = 0;
		return 6; /* NVML_ERROR_NOT_FOUND */
	}
	if (!s || *count < n) {
		*count = n;
		return 7; /* NVML_ERROR_INSUFFICIENT_SIZE */
	}
	clock_us += 1000;
	n = 0;
	for (k = 0; k < f.n_proc; k++) {
		if (f.proc_dev[k] != i)
			continue;
		memset(&s[n], 0, sizeof(s[n]));
		s[n].pid = f.proc_pid[k];
		s[n].timeStamp = last > clock_us ? last + 1 : clock_us;
		s[n].smUtil = f.proc_sm[k];
		n++;
	}
	*count = n;
	return 0;
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t dev, nvmlPciInfo_t *pci)
{
	struct fake f;
	unsigned i = (unsigned)(unsigned long)dev - 1;

	load(&f);
	if (i >= f.n_gpu || !f.has_pci[i])
		return 3; /* NVML_ERROR_NOT_SUPPORTED */
	memset(pci, 0, sizeof(*pci));
	pci->domain = f.pci[i][0];
	pci->bus = f.pci[i][1];
	pci->device = f.pci[i][2];
	snprintf(pci->busIdLegacy, sizeof(pci->busIdLegacy), "%04X:%02X:%02X.%X", f.pci[i][0],
		f.pci[i][1], f.pci[i][2], f.pci[i][3]);
	snprintf(pci->busId, sizeof(pci->busId), "%08X:%02X:%02X.%X", f.pci[i][0], f.pci[i][1],
		f.pci[i][2], f.pci[i][3]);
	return 0;
}
