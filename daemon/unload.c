/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * unload.c - see unload.h.  Main thread.
 *
 * One pass at a time: read /api/ps (what is loaded, and its size_vram),
 * unload each lent model that is, then read /api/ps again every
 * UNLOAD_POLL_MS until they are gone or UNLOAD_PASS_MAX_S is over.  A
 * model the owner had loaded when lending began is never marked lent, so
 * never unloaded.  If the owner's model expired during lending and a lent
 * request loaded it again, it counts as the owner's still: it goes when
 * keep_alive runs out, as it would have.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "daemon/daemon.h"
#include "daemon/ollama.h"
#include "daemon/unload.h"
#include "jsonutil.h"
#include "log.h"
#include "xmalloc.h"

struct name_set {
	char *v[UNLOAD_MODELS_MAX];
	size_t n;
};

struct target {
	char *name;
	int64_t vram; /* size_vram before the unload */
	bool gone;
};

enum unload_state { U_IDLE, U_SNAPSHOT, U_PS_BEFORE, U_UNLOADING, U_PS_AFTER };

struct unload {
	struct daemon *d;
	enum unload_state state;
	bool was_available;
	bool stop_pending; /* lending stopped: unload once nothing is in flight */
	bool snapshot_ok;  /* owner holds what /api/ps said when lending began */
	struct name_set owner, lent;
	struct ollama_req *req;
	struct event *poll_ev, *deadline_ev;
	struct target targets[UNLOAD_MODELS_MAX];
	size_t n_targets, next;
	struct timespec t0;
	/* the last pass, for status */
	time_t last_at;
	double last_ms;
	json_object *last; /* NEW object, or NULL before the first pass */
};

static const char *const state_names[] = { "idle", "reading", "reading", "unloading", "checking" };

/* ---- name sets ---- */

static bool set_has(const struct name_set *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], name) == 0)
			return true;
	return false;
}

static void set_add(struct name_set *s, const char *name)
{
	if (set_has(s, name) || s->n == UNLOAD_MODELS_MAX)
		return;
	s->v[s->n++] = xstrdup(name);
}

static void set_del(struct name_set *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->v[i], name) != 0)
			continue;
		free(s->v[i]);
		s->v[i] = s->v[--s->n];
		return;
	}
}

static void set_clear(struct name_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	s->n = 0;
}

/* An /api/ps entry's model name ("model", else "name"), or NULL. */
static const char *ps_entry_name(json_object *e)
{
	const char *m = ic_json_get_string(e, "model");

	return m ? m : ic_json_get_string(e, "name");
}

/* The entry of /api/ps for name, or NULL. */
static json_object *ps_find(json_object *body, const char *name)
{
	json_object *arr = NULL;
	size_t n;

	if (!body || !json_object_object_get_ex(body, "models", &arr) ||
		!json_object_is_type(arr, json_type_array))
		return NULL;
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		const char *m = ps_entry_name(e);

		if (m && strcmp(m, name) == 0)
			return e;
	}
	return NULL;
}

/* ---- a pass ---- */

static void targets_clear(struct unload *u)
{
	for (size_t i = 0; i < u->n_targets; i++)
		free(u->targets[i].name);
	u->n_targets = u->next = 0;
}

static double since_ms(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1e3 + (now.tv_nsec - t0->tv_nsec) / 1e6;
}

static void start_snapshot(struct unload *u);

/* The result of a pass into the log and status. */
static void report(struct unload *u, const char *error)
{
	json_object *o = json_object_new_object(), *gone = json_object_new_array();
	json_object *still = json_object_new_array();
	char names[512] = "", left[512] = "";
	int64_t freed = 0;
	size_t n_gone = 0;

	for (size_t i = 0; i < u->n_targets; i++) {
		struct target *t = &u->targets[i];
		char *part;

		if (!t->gone) {
			json_object_array_add(still, json_object_new_string(t->name));
			part = xasprintf("%s%s", left[0] ? ", " : "", t->name);
			strncat(left, part, sizeof(left) - strlen(left) - 1);
			free(part);
			continue;
		}
		json_object *e = json_object_new_object();

		json_object_object_add(e, "model", json_object_new_string(t->name));
		json_object_object_add(e, "size_vram", json_object_new_int64(t->vram));
		json_object_array_add(gone, e);
		freed += t->vram;
		n_gone++;
		part = xasprintf("%s%s (%.1f MiB)", names[0] ? ", " : "", t->name,
			(double)t->vram / 1048576.0);
		strncat(names, part, sizeof(names) - strlen(names) - 1);
		free(part);
	}
	u->last_at = time(NULL);
	u->last_ms = since_ms(&u->t0);
	json_object_object_add(o, "at", json_object_new_int64(u->last_at));
	json_object_object_add(o, "unloaded", gone);
	json_object_object_add(o, "freed_vram", json_object_new_int64(freed));
	json_object_object_add(o, "still_loaded", still);
	json_object_object_add(o, "ms", json_object_new_int64((int64_t)u->last_ms));
	if (error)
		json_object_object_add(o, "error", json_object_new_string(error));
	json_object_put(u->last);
	u->last = o;
	if (n_gone)
		log_notice("lending stopped: unloaded %zu lent model%s: %s; %.1f MiB of GPU memory "
			   "back (%.0f ms)",
			n_gone, n_gone == 1 ? "" : "s", names, (double)freed / 1048576.0,
			u->last_ms);
	if (left[0])
		log_warn("lending stopped: lent models still loaded: %s (%s)", left,
			error ? error : "Ollama did not unload them in time");
	else if (error)
		log_warn("lending stopped: cannot unload lent models: %s", error);
}

static void finish(struct unload *u, const char *error)
{
	evtimer_del(u->poll_ev);
	evtimer_del(u->deadline_ev);
	if (u->req) {
		ollama_cancel(u->req);
		u->req = NULL;
	}
	report(u, error);
	for (size_t i = 0; i < u->n_targets; i++)
		if (u->targets[i].gone)
			set_del(&u->lent, u->targets[i].name);
	targets_clear(u);
	u->state = U_IDLE;
	if (avail_is(&u->d->avail))
		start_snapshot(u); /* lending began again meanwhile */
	daemon_changed(u->d, false);
}

static void read_after(struct unload *u);

static void after_cb(void *ctx, enum ollama_err err, const char *msg, json_object *body)
{
	struct unload *u = ctx;
	struct timeval tv = { 0, UNLOAD_POLL_MS * 1000 };
	bool all = true;

	u->req = NULL;
	if (err != OLLAMA_OK) {
		finish(u, msg);
		return;
	}
	for (size_t i = 0; i < u->n_targets; i++) {
		u->targets[i].gone = ps_find(body, u->targets[i].name) == NULL;
		all = all && u->targets[i].gone;
	}
	if (all)
		finish(u, NULL);
	else
		evtimer_add(u->poll_ev, &tv);
}

static void read_after(struct unload *u)
{
	u->state = U_PS_AFTER;
	u->req = ollama_get(u->d->ollama, "/api/ps", after_cb, u);
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
	read_after(arg);
}

static void unload_next(struct unload *u);

static void unloaded_cb(void *ctx, enum ollama_err err, const char *msg, json_object *body)
{
	struct unload *u = ctx;

	u->req = NULL;
	if (err != OLLAMA_OK)
		log_info("unloading %s: %s", u->targets[u->next].name, msg);
	u->next++;
	unload_next(u);
}

/* keep_alive 0 and no messages, as `ollama stop` asks (one JSON object
 * with done_reason "unload" comes back). */
static void unload_next(struct unload *u)
{
	json_object *req;
	char *body;
	size_t len;

	if (u->next >= u->n_targets) {
		read_after(u);
		return;
	}
	u->state = U_UNLOADING;
	req = json_object_new_object();
	json_object_object_add(req, "model", json_object_new_string(u->targets[u->next].name));
	json_object_object_add(req, "messages", json_object_new_array());
	json_object_object_add(req, "keep_alive", json_object_new_int(0));
	json_object_object_add(req, "stream", json_object_new_boolean(0));
	body = ic_json_to_string_new(req, &len);
	json_object_put(req);
	u->req = ollama_post_json(
		u->d->ollama, "/api/chat", body, len, UNLOAD_PASS_MAX_S, unloaded_cb, u);
	free(body);
}

static void before_cb(void *ctx, enum ollama_err err, const char *msg, json_object *body)
{
	struct unload *u = ctx;
	json_object *e;
	int64_t vram;

	u->req = NULL;
	if (err != OLLAMA_OK) {
		finish(u, msg);
		return;
	}
	for (size_t i = 0; i < u->lent.n;) {
		const char *name = u->lent.v[i];

		if ((e = ps_find(body, name)) == NULL) {
			set_del(&u->lent, name); /* gone already (keep_alive ran out) */
			continue;
		}
		vram = 0;
		ic_json_get_int64(e, "size_vram", &vram);
		u->targets[u->n_targets].name = xstrdup(name);
		u->targets[u->n_targets].vram = vram;
		u->targets[u->n_targets].gone = false;
		u->n_targets++;
		i++;
	}
	if (u->n_targets == 0) {
		u->state = U_IDLE;
		if (avail_is(&u->d->avail))
			start_snapshot(u);
		daemon_changed(u->d, false);
		return;
	}
	unload_next(u);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	finish(arg, "Ollama did not answer in time");
}

static void start_pass(struct unload *u)
{
	struct timeval tv = { UNLOAD_PASS_MAX_S, 0 };

	if (u->lent.n == 0 || avail_has(&u->d->avail, AVAIL_OLLAMA_DOWN))
		return;
	clock_gettime(CLOCK_MONOTONIC, &u->t0);
	log_info("lending stopped: unloading what lending loaded (%zu model%s)", u->lent.n,
		u->lent.n == 1 ? "" : "s");
	u->state = U_PS_BEFORE;
	evtimer_add(u->deadline_ev, &tv);
	u->req = ollama_get(u->d->ollama, "/api/ps", before_cb, u);
}

/* ---- what the owner has loaded when lending begins ---- */

static void snapshot_cb(void *ctx, enum ollama_err err, const char *msg, json_object *body)
{
	struct unload *u = ctx;
	json_object *arr = NULL;
	size_t n;

	u->req = NULL;
	u->state = U_IDLE;
	set_clear(&u->owner);
	u->snapshot_ok = err == OLLAMA_OK && json_object_object_get_ex(body, "models", &arr) &&
		json_object_is_type(arr, json_type_array);
	if (!u->snapshot_ok) {
		log_info("cannot tell which models the owner has loaded (%s): lent models "
			 "will not be unloaded this time",
			msg ? msg : "/api/ps has no \"models\" array");
	} else {
		n = json_object_array_length(arr);
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(arr, i);
			const char *m = ps_entry_name(e);

			if (m && !set_has(&u->lent, m))
				set_add(&u->owner, m);
		}
	}
	unload_check(u); /* lending may have stopped meanwhile */
}

static void start_snapshot(struct unload *u)
{
	u->state = U_SNAPSHOT;
	u->snapshot_ok = false;
	u->req = ollama_get(u->d->ollama, "/api/ps", snapshot_cb, u);
}

/* ---- the interface ---- */

struct unload *unload_new(struct daemon *d)
{
	struct unload *u = xcalloc(1, sizeof(*u));

	u->d = d;
	u->poll_ev = evtimer_new(d->base, poll_cb, u);
	u->deadline_ev = evtimer_new(d->base, deadline_cb, u);
	return u;
}

void unload_free(struct unload *u)
{
	if (!u)
		return;
	ollama_cancel(u->req);
	event_free(u->poll_ev);
	event_free(u->deadline_ev);
	targets_clear(u);
	set_clear(&u->owner);
	set_clear(&u->lent);
	json_object_put(u->last);
	free(u);
}

void unload_check(struct unload *u)
{
	struct daemon *d;
	bool avail;

	if (!u || !u->d->cfg->unload_lent)
		return;
	d = u->d;
	avail = avail_is(&d->avail);
	if (avail && !u->was_available) {
		u->was_available = true;
		u->stop_pending = false;
		if (u->state == U_IDLE)
			start_snapshot(u);
	} else if (!avail && u->was_available) {
		u->was_available = false;
		u->stop_pending = true;
	}
	if (u->stop_pending && u->state == U_IDLE && daemon_in_flight(d) == 0) {
		u->stop_pending = false;
		start_pass(u);
	}
}

void unload_note_lent(struct unload *u, const char *model)
{
	if (!u || !u->d->cfg->unload_lent || !u->snapshot_ok || u->state == U_SNAPSHOT)
		return;
	if (!set_has(&u->owner, model) && !set_has(&u->lent, model)) {
		log_debug("model %s: loaded for lending (the owner had not loaded it)", model);
		set_add(&u->lent, model);
	}
}

bool unload_busy(const struct unload *u)
{
	return u && u->state != U_IDLE && u->state != U_SNAPSHOT;
}

json_object *unload_status_new(const struct unload *u)
{
	json_object *o = json_object_new_object(), *lent = json_object_new_array();

	json_object_object_add(
		o, "mode", json_object_new_string(u->d->cfg->unload_lent ? "lent" : "never"));
	json_object_object_add(o, "state", json_object_new_string(state_names[u->state]));
	for (size_t i = 0; i < u->lent.n; i++)
		json_object_array_add(lent, json_object_new_string(u->lent.v[i]));
	json_object_object_add(o, "lent", lent);
	if (u->last)
		json_object_object_add(o, "last", json_object_get(u->last));
	return o;
}
