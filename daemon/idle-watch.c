/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * idle-watch.c - see idle-watch.h.  One sample reads every source, folds
 * the GPUs into the busiest one (own use taken out) and the presence
 * signals into the newest input, and hands that to the policy.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "ctlproto.h"
#include "daemon/daemon.h"
#include "daemon/idle-sources.h"
#include "daemon/idle-watch.h"
#include "daemon/node.h"
#include "daemon/relay.h"
#include "log.h"
#include "patterns.h"
#include "xmalloc.h"

struct idle_watch {
	struct daemon *d;
	struct event *sample_ev; /* every interval */
	struct event *cancel_ev; /* busy_grace over: cancel what is in flight */
	struct idle_policy pol;
	struct idle_sample last;
	struct idle_cpu *cpu;
	struct idle_drm *drm;
	struct idle_nvml *nvml;
	char nvml_why[128];
	struct idle_logind *logind;
	struct idle_gpu_reading gpu[IDLE_GPU_MAX];
	const char *gpu_source[IDLE_GPU_MAX];
	bool gpu_watched[IDLE_GPU_MAX]; /* [idle] gpus selects it */
	size_t n_gpu;
	long tty_age, logind_age;
	char tty_where[IDLE_WHERE_MAX];
	enum idle_power power;
	double psi;
	bool sampled;
	bool sched_known, sched_open; /* [idle] schedule at the last sample */
};

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool is_own(const void *ctx, pid_t pid)
{
	return idle_cpu_is_own(ctx, pid);
}

/* Whether [idle] gpus selects a GPU with PCI bus id pci ("" unknown: only
 * a pattern matching everything, as the default "*", does). */
static bool gpu_watched(const struct daemon_config *c, const char *pci)
{
	if (!c->gpus || !*c->gpus)
		return true;
	return ic_patterns_match(c->gpus, pci);
}

/* The GPUs: DRM cards first, then NVIDIA devices; the busiest by others
 * among those [idle] gpus selects. */
static void sample_gpus(struct idle_watch *w, struct idle_sample *s)
{
	const struct daemon_config *c = w->d->cfg;
	const pid_t *own;
	size_t n_own, n, i;

	own = idle_cpu_own(w->cpu, &n_own);
	n = idle_drm_sample(w->drm, own, n_own, monotonic_ns(), w->gpu, IDLE_GPU_MAX);
	for (i = 0; i < n; i++)
		w->gpu_source[i] = "drm";
	if (w->nvml) {
		size_t k = idle_nvml_sample(
			w->nvml, c->proc_root, is_own, w->cpu, w->gpu + n, IDLE_GPU_MAX - n);

		for (i = n; i < n + k; i++)
			w->gpu_source[i] = "nvml";
		n += k;
	}
	w->n_gpu = n;
	for (i = 0; i < n; i++) {
		double others = w->gpu[i].total - w->gpu[i].own;

		w->gpu_watched[i] = gpu_watched(c, w->gpu[i].pci);
		if (!w->gpu_watched[i])
			continue;
		if (others < 0)
			others = 0;
		if (others <= s->gpu_others)
			continue;
		s->gpu_others = others;
		s->gpu_index = (int)i;
		s->gpu_pid = w->gpu[i].top_pid;
		memcpy(s->gpu_comm, w->gpu[i].top_comm, sizeof(s->gpu_comm));
	}
}

/* The newest input among terminals and logind. */
static void sample_presence(struct idle_watch *w, struct idle_sample *s)
{
	const struct daemon_config *c = w->d->cfg;

	w->tty_age = idle_tty_input_age(c->dev_root, s->now, w->tty_where, sizeof(w->tty_where));
	w->logind_age = w->logind ? idle_logind_input_age(w->logind, s->now) : -1;
	if (w->logind)
		idle_logind_query(w->logind); /* read at the next sample */
	if (w->tty_age >= 0) {
		s->input_age = w->tty_age;
		memcpy(s->input_where, w->tty_where, sizeof(s->input_where));
	}
	if (w->logind_age >= 0 && (s->input_age < 0 || w->logind_age < s->input_age)) {
		s->input_age = w->logind_age;
		snprintf(s->input_where, sizeof(s->input_where), "logind");
	}
}

static void cancel_requests(struct idle_watch *w)
{
	char why[IDLE_REASON_MAX + 32];

	snprintf(why, sizeof(why), "the owner needs the machine (%s)", w->pol.reason);
	relay_stop_all(w->d, why);
}

static void cancel_cb(evutil_socket_t fd, short what, void *arg)
{
	struct idle_watch *w = arg;

	if (w->pol.state == IDLE_STATE_BUSY && daemon_in_flight(w->d))
		cancel_requests(w);
}

/* on_busy: cancel now, or when busy_grace is over. */
static void apply_on_busy(struct idle_watch *w, time_t now)
{
	time_t at = idle_policy_cancel_at(&w->pol);
	struct timeval tv = { 0, 0 };

	if (!at || !daemon_in_flight(w->d) || w->d->stopping) {
		evtimer_del(w->cancel_ev);
		return;
	}
	if (now >= at) {
		evtimer_del(w->cancel_ev);
		cancel_requests(w);
		return;
	}
	if (evtimer_pending(w->cancel_ev, NULL))
		return;
	tv.tv_sec = at - now;
	evtimer_add(w->cancel_ev, &tv);
}

/* [idle] schedule, checked at every sample (so a change of the clock or
 * of DST needs no timer of its own); true if availability flipped. */
static bool apply_schedule(struct idle_watch *w, time_t now)
{
	const struct schedule *sc = &w->d->cfg->schedule;
	bool open = schedule_open(sc, now);

	if (w->sched_known && open == w->sched_open)
		return false;
	if (sc->set && (w->sched_known || !open))
		log_notice("idle: %s the schedule", open ? "inside" : "outside");
	w->sched_known = true;
	w->sched_open = open;
	return avail_set(&w->d->avail, AVAIL_OUTSIDE_SCHEDULE, !open);
}

static void take_sample(struct idle_watch *w)
{
	const struct daemon_config *c = w->d->cfg;
	struct idle_sample s;
	bool changed, avail_changed = false, sched_flip;

	idle_sample_init(&s, time(NULL));
	idle_cpu_sample(w->cpu, &s);
	sample_gpus(w, &s);
	sample_presence(w, &s);
	w->power = idle_power_read(c->sys_root);
	s.on_battery = w->power == IDLE_POWER_BATTERY ? 1 : w->power == IDLE_POWER_UNKNOWN ? -1 : 0;
	w->psi = idle_cpu_psi(c->proc_root);
	w->last = s;
	w->sampled = true;
	sched_flip = apply_schedule(w, s.now);
	changed = idle_policy_update(&w->pol, &s);
	if (changed) {
		log_notice("idle: machine %s: %s", idle_state_name(w->pol.state), w->pol.reason);
		avail_changed = avail_set(&w->d->avail, AVAIL_NOT_IDLE, !idle_policy_lend(&w->pol));
	}
	if (changed || sched_flip) {
		daemon_changed(w->d, avail_changed || sched_flip);
		if (!avail_changed && !sched_flip)
			node_heartbeat_now(w->d->node);
	}
	apply_on_busy(w, s.now);
}

static void sample_cb(evutil_socket_t fd, short what, void *arg)
{
	take_sample(arg);
}

static void open_sources(struct idle_watch *w)
{
	const struct daemon_config *c = w->d->cfg;

	w->cpu = idle_cpu_new(c->proc_root, getpid(), c->own_processes, c->exclusive_processes);
	w->drm = idle_drm_new(c->proc_root, c->sys_root);
	w->nvml = idle_nvml_new(c->nvml_library, w->nvml_why, sizeof(w->nvml_why));
	if (!w->nvml)
		log_info("idle: %s", w->nvml_why);
	w->logind = c->idle_logind ? idle_logind_new(w->d->base) : NULL;
}

static void close_sources(struct idle_watch *w)
{
	idle_cpu_free(w->cpu);
	idle_drm_free(w->drm);
	idle_nvml_free(w->nvml);
	idle_logind_free(w->logind);
	w->cpu = NULL;
	w->drm = NULL;
	w->nvml = NULL;
	w->logind = NULL;
}

static void start_sampling(struct idle_watch *w)
{
	struct timeval tv = { w->d->cfg->idle_interval, 0 };

	if (w->sample_ev)
		event_free(w->sample_ev);
	w->sample_ev = event_new(w->d->base, -1, EV_PERSIST, sample_cb, w);
	evtimer_add(w->sample_ev, &tv);
	take_sample(w);
}

struct idle_watch *idle_watch_new(struct daemon *d)
{
	struct idle_watch *w = xcalloc(1, sizeof(*w));

	w->d = d;
	w->tty_age = w->logind_age = -1;
	w->power = IDLE_POWER_UNKNOWN;
	w->psi = -1;
	idle_policy_init(&w->pol, &d->cfg->idle);
	idle_sample_init(&w->last, time(NULL));
	w->cancel_ev = evtimer_new(d->base, cancel_cb, w);
	avail_set(&d->avail, AVAIL_NOT_IDLE, true); /* until the policy says idle */
	open_sources(w);
	start_sampling(w);
	return w;
}

void idle_watch_reconfigure(struct idle_watch *w)
{
	close_sources(w);
	idle_policy_set_params(&w->pol, &w->d->cfg->idle);
	open_sources(w);
	evtimer_del(w->cancel_ev);
	start_sampling(w);
}

void idle_watch_free(struct idle_watch *w)
{
	if (!w)
		return;
	close_sources(w);
	if (w->sample_ev)
		event_free(w->sample_ev);
	event_free(w->cancel_ev);
	free(w);
}

/* ---- status ---- */

static json_object *unknown(void)
{
	return json_object_new_string(CTL_IDLE_UNKNOWN);
}

/* One decimal, printed as such (not 63.200000000000003). */
static json_object *percent(double v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.1f", v);
	return json_object_new_double_s(strtod(buf, NULL), buf);
}

static json_object *cpu_status(const struct idle_watch *w)
{
	json_object *o;
	double own = idle_cpu_own_percent(w->cpu);

	if (w->last.cpu_others < 0)
		return unknown();
	o = json_object_new_object();
	json_object_object_add(o, CTL_IDLE_OTHERS_PERCENT, percent(w->last.cpu_others));
	if (own >= 0)
		json_object_object_add(o, CTL_IDLE_OWN_PERCENT, percent(own));
	if (w->psi >= 0)
		json_object_object_add(o, CTL_IDLE_PSI, percent(w->psi));
	return o;
}

static json_object *gpu_status(const struct idle_watch *w)
{
	json_object *arr;
	size_t i;

	if (w->n_gpu == 0)
		return w->nvml_why[0] ? json_object_new_string(w->nvml_why) : unknown();
	arr = json_object_new_array();
	for (i = 0; i < w->n_gpu; i++) {
		const struct idle_gpu_reading *g = &w->gpu[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, CTL_IDLE_GPU_INDEX, json_object_new_int((int)i));
		json_object_object_add(
			o, CTL_IDLE_GPU_SOURCE, json_object_new_string(w->gpu_source[i]));
		json_object_object_add(o, CTL_IDLE_GPU_DEVICE, json_object_new_int(g->index));
		json_object_object_add(o, CTL_IDLE_GPU_USED_PERCENT, percent(g->total));
		json_object_object_add(o, CTL_IDLE_OWN_PERCENT, percent(g->own));
		if (g->pci[0])
			json_object_object_add(o, CTL_IDLE_GPU_PCI, json_object_new_string(g->pci));
		json_object_object_add(
			o, CTL_IDLE_GPU_WATCHED, json_object_new_boolean(w->gpu_watched[i]));
		if (g->top_pid > 0) {
			json_object_object_add(
				o, CTL_IDLE_GPU_TOP_PID, json_object_new_int(g->top_pid));
			json_object_object_add(
				o, CTL_IDLE_GPU_TOP_PROCESS, json_object_new_string(g->top_comm));
		}
		json_object_array_add(arr, o);
	}
	return arr;
}

static json_object *input_status(long age, const char *where)
{
	json_object *o;

	if (age < 0)
		return unknown();
	o = json_object_new_object();
	json_object_object_add(o, CTL_IDLE_SECONDS_AGO, json_object_new_int64(age));
	if (where && *where)
		json_object_object_add(o, CTL_IDLE_WHERE, json_object_new_string(where));
	return o;
}

static json_object *exclusive_status(const struct idle_sample *s)
{
	json_object *o;

	if (!s->exclusive[0])
		return json_object_new_string(CTL_IDLE_NONE);
	o = json_object_new_object();
	json_object_object_add(o, CTL_IDLE_EXCLUSIVE_PROCESS, json_object_new_string(s->exclusive));
	json_object_object_add(o, CTL_IDLE_EXCLUSIVE_PID, json_object_new_int(s->exclusive_pid));
	return o;
}

/* "none", or {"text", "open", "next_open" (Unix time, while closed)}. */
static json_object *schedule_status(const struct idle_watch *w)
{
	const struct daemon_config *c = w->d->cfg;
	time_t now = time(NULL), next;
	json_object *o;

	if (!c->schedule.set)
		return json_object_new_string(CTL_IDLE_NONE);
	o = json_object_new_object();
	json_object_object_add(o, CTL_IDLE_SCHEDULE_TEXT, json_object_new_string(c->schedule_text));
	json_object_object_add(o, CTL_IDLE_SCHEDULE_OPEN,
		json_object_new_boolean(schedule_open(&c->schedule, now)));
	next = schedule_next_open(&c->schedule, now);
	if (next > now)
		json_object_object_add(o, CTL_IDLE_SCHEDULE_NEXT_OPEN, json_object_new_int64(next));
	return o;
}

json_object *idle_watch_status_new(const struct idle_watch *w)
{
	const struct idle_params *p = &w->pol.p;
	json_object *o = json_object_new_object();

	json_object_object_add(o, CTL_IDLE_MODE, json_object_new_string(idle_mode_name(p->mode)));
	json_object_object_add(
		o, CTL_IDLE_STATE, json_object_new_string(idle_state_name(w->pol.state)));
	json_object_object_add(o, CTL_IDLE_REASON, json_object_new_string(w->pol.reason));
	json_object_object_add(o, CTL_IDLE_SINCE, json_object_new_int64(w->pol.since));
	json_object_object_add(
		o, CTL_IDLE_ON_BUSY, json_object_new_string(idle_on_busy_name(p->on_busy)));
	json_object_object_add(o, CTL_IDLE_CPU, cpu_status(w));
	json_object_object_add(o, CTL_IDLE_GPU, gpu_status(w));
	json_object_object_add(o, CTL_IDLE_TERMINAL, input_status(w->tty_age, w->tty_where));
	json_object_object_add(o, CTL_IDLE_LOGIND,
		w->logind ? input_status(w->logind_age, NULL)
			  : json_object_new_string(CTL_IDLE_OFF));
	json_object_object_add(
		o, CTL_IDLE_POWER, json_object_new_string(idle_power_name(w->power)));
	json_object_object_add(o, CTL_IDLE_EXCLUSIVE, exclusive_status(&w->last));
	json_object_object_add(o, CTL_IDLE_SCHEDULE, schedule_status(w));
	return o;
}
