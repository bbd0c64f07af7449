/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * idle-sources.h - the samplers behind the idle policy, one file each.
 *
 * Every read goes under a root directory ([idle] proc_root, sys_root,
 * dev_root) so that tests drive them with a fake tree.  A sampler that
 * cannot read its source reports "unknown" (a negative value), never an
 * error: a machine without a GPU, a battery or logind is normal.
 * None of them blocks: file reads of procfs/sysfs only, and logind through
 * asynchronous sd-bus calls on the main loop.
 * Thread: main thread only.
 */
#ifndef IC_DAEMON_IDLE_SOURCES_H
#define IC_DAEMON_IDLE_SOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "daemon/idle.h"

struct event_base;

/* ---- idle-read.c: what the sources share ---- */
/* snprintf into a path buffer; -1 if it did not fit (nothing to read there). */
int idle_pathf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Read the small file path (open flags O_RDONLY | O_CLOEXEC | oflags) in
 * one read into buf, NUL-terminated; bytes read or -1. */
ssize_t idle_read_small(const char *path, int oflags, char *buf, size_t len);
/* Read ROOT/PID/comm into buf (without the newline); 0 ok, -1 gone. */
int idle_read_comm(const char *proc_root, pid_t pid, char *buf, size_t len);

/* ---- idle-cpu.c: CPU used by others, own processes, exclusive ones ---- */

/* Samples between process-list scans (a scan reads every /proc/PID/comm). */
#define IDLE_CPU_RESCAN_SAMPLES 3
/* Own processes counted at most (Ollama runs one runner per model). */
#define IDLE_CPU_OWN_MAX 64

struct idle_cpu;

/* self: idleclawd's pid, always own.  Patterns as ic_patterns_match(). */
struct idle_cpu *idle_cpu_new(const char *proc_root, pid_t self, const char *own_patterns,
	const char *exclusive_patterns);
void idle_cpu_free(struct idle_cpu *c);
/* One sample: fills s->cpu_others (unknown at the first one) and
 * s->exclusive / s->exclusive_pid. */
void idle_cpu_sample(struct idle_cpu *c, struct idle_sample *s);
/* Own processes found by the last scan. */
const pid_t *idle_cpu_own(struct idle_cpu *c, size_t *n);
bool idle_cpu_is_own(const struct idle_cpu *c, pid_t pid);
/* CPU percent of own processes in the last sample; -1 unknown. */
double idle_cpu_own_percent(const struct idle_cpu *c);
/* PSI "some avg10" of /proc/pressure/cpu, -1 unknown (status only). */
double idle_cpu_psi(const char *proc_root);

/* ---- idle-power.c ---- */

enum idle_power {
	IDLE_POWER_UNKNOWN = -1,
	IDLE_POWER_MAINS = 0,
	IDLE_POWER_BATTERY = 1,
	IDLE_POWER_NONE = 2 /* no supply listed: a desktop or server */
};
enum idle_power idle_power_read(const char *sys_root);
const char *idle_power_name(enum idle_power p);

/* ---- idle-tty.c: the owner typing on a terminal ---- */

/* Seconds since the newest access of DEV/pts/N or DEV/ttyN (as of now),
 * with the terminal's name ("pts/3") in where; -1 when there is none. */
long idle_tty_input_age(const char *dev_root, time_t now, char *where, size_t len);

/* ---- GPUs: one reading per device ---- */

#define IDLE_GPU_MAX 8
#define IDLE_PCI_MAX 32 /* "0000:01:00.0" and the NUL, with room */

struct idle_gpu_reading {
	int index;     /* GPU number as status shows it */
	double total;  /* percent busy, everyone */
	double own;    /* percent of it that is ours */
	pid_t top_pid; /* biggest foreign user, 0 unknown */
	char top_comm[IDLE_COMM_MAX];
	/* PCI bus id as the kernel writes it ("0000:01:00.0"), "" unknown:
	 * [idle] gpus selects by it (an index would be ambiguous where an
	 * NVIDIA board is a DRM card too) */
	char pci[IDLE_PCI_MAX];
};

/* ---- idle-drm.c: AMD/Intel, gpu_busy_percent + fdinfo ---- */

struct idle_drm;

struct idle_drm *idle_drm_new(const char *proc_root, const char *sys_root);
void idle_drm_free(struct idle_drm *g);
/* Read every card; own clients come from the own pids.  Returns readings
 * written (0: no such GPU). */
size_t idle_drm_sample(struct idle_drm *g, const pid_t *own, size_t n_own, uint64_t now_ns,
	struct idle_gpu_reading *out, size_t max);

/* ---- idle-nvml.c: NVIDIA through a dlopen()ed NVML ---- */

struct idle_nvml;

/* NULL (and why) when the library or the driver is absent. */
struct idle_nvml *idle_nvml_new(const char *library, char *why, size_t whylen);
void idle_nvml_free(struct idle_nvml *n);
size_t idle_nvml_sample(struct idle_nvml *n, const char *proc_root,
	bool (*is_own)(const void *ctx, pid_t pid), const void *ctx, struct idle_gpu_reading *out,
	size_t max);

/* ---- idle-logind.c: IdleHint / IdleSinceHint on the system bus ---- */

struct idle_logind;

/* The bus is opened by the first query (and again after a failure). */
struct idle_logind *idle_logind_new(struct event_base *base);
void idle_logind_free(struct idle_logind *l);
/* Ask again (answers arrive later on the loop); without a bus the
 * signal stays unknown. */
void idle_logind_query(struct idle_logind *l);
/* Seconds since the last input as logind last said (0: not idle now), -1
 * unknown. */
long idle_logind_input_age(const struct idle_logind *l, time_t now);

#endif
