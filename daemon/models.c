/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * models.c - Ollama's model list, filtered for sharing (see models.h).
 * Whether Ollama answers is daemon/ollama_health.c's; this file reports
 * each read's outcome there.
 *
 * Each model's capabilities come from POST /api/show, asked once per model
 * and digest: a model pulled anew (new digest) is asked again.  The list
 * goes to the node session only when every model's answer is in.
 */

#include <stdlib.h>
#include <string.h>

#include "common/patterns.h"
#include "daemon/daemon.h"
#include "daemon/models.h"
#include "daemon/node.h"
#include "daemon/ollama.h"
#include "daemon/ollama_health.h"
#include "jsonutil.h"
#include "limits.h"
#include "log.h"
#include "validate.h"
#include "xmalloc.h"

/* Seconds between reads while Ollama is down: doubles up to model_refresh. */
#define MODELS_RETRY_MIN_S 1
/* Seconds /api/show may stay silent: it reads metadata and loads nothing,
 * and the list waits for it before it is shared. */
#define MODELS_SHOW_TIMEOUT_S 5

struct models {
	struct daemon *d;
	struct event *timer;
	struct ollama_req *req; /* version or tags read in progress */
	bool reading_tags;
	struct ic_model_info *list;
	size_t n;
	int retry_s; /* next delay while Ollama is down; 0 while up */
	/* a list read from /api/tags, its capabilities being asked for */
	struct ic_model_info *pending;
	char **digests; /* of pending's models ("" if none) */
	size_t n_pending, show_i;
	/* capabilities by name and digest, for the models last shared */
	struct cap_entry {
		char *name, *digest;
		unsigned caps;
	} * cache;
	size_t n_cache;
};

static void read_version(struct models *m);

static void list_free(struct ic_model_info *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

static int cmp_model(const void *a, const void *b)
{
	return strcmp(
		((const struct ic_model_info *)a)->name, ((const struct ic_model_info *)b)->name);
}

static bool list_equal(
	const struct ic_model_info *a, size_t na, const struct ic_model_info *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (strcmp(a[i].name, b[i].name) || a[i].size != b[i].size ||
			a[i].caps != b[i].caps)
			return false;
	return true;
}

static bool wanted(const struct daemon_config *cfg, const char *name)
{
	if (cfg->models_allow && *cfg->models_allow && !ic_patterns_match(cfg->models_allow, name))
		return false;
	return !ic_patterns_match(cfg->models_deny, name);
}

/*
 * A cloud model (remote_host/remote_model in /api/tags, or a name ending
 * in -cloud or :cloud): a chat to it runs on ollama.com on the owner's
 * account, so it is never shared, whatever models_allow says.
 */
static bool is_cloud(json_object *e, const char *name)
{
	const char *host = ic_json_get_string(e, "remote_host");
	const char *remote = ic_json_get_string(e, "remote_model");
	size_t n = strlen(name);

	if ((host && *host) || (remote && *remote))
		return true;
	return n > 6 &&
		(strcmp(name + n - 6, "-cloud") == 0 || strcmp(name + n - 6, ":cloud") == 0);
}

/* A model whose known capabilities lack completion (embedding-only)
 * cannot chat: Ollama answers 400 "does not support chat". */
static bool cannot_chat(const struct ic_model_info *mi)
{
	return (mi->caps & IC_CAP_KNOWN) && !(mi->caps & IC_CAP_COMPLETION);
}

/* Drop the models that cannot chat from v (n updated). */
static void drop_not_chat(struct ic_model_info *v, size_t *n)
{
	size_t k = 0;

	for (size_t i = 0; i < *n; i++) {
		if (cannot_chat(&v[i])) {
			log_debug("model %s not shared: it cannot chat (no completion capability)",
				v[i].name);
			free(v[i].name);
			continue;
		}
		v[k++] = v[i];
	}
	*n = k;
}

/* The shared list from a /api/tags reply (a NEW array). */
static struct ic_model_info *parse_tags(
	const struct daemon_config *cfg, json_object *body, size_t *n_out)
{
	json_object *arr;
	struct ic_model_info *v;
	size_t i, n = 0, len;

	*n_out = 0;
	if (!json_object_object_get_ex(body, "models", &arr) ||
		!json_object_is_type(arr, json_type_array))
		return NULL;
	len = json_object_array_length(arr);
	v = xcalloc(len ? len : 1, sizeof(*v));
	for (i = 0; i < len; i++) {
		json_object *e = json_object_array_get_idx(arr, i), *caps;
		const char *name = ic_json_get_string(e, "model");
		int64_t size = 0;
		size_t k;
		bool dup = false;

		if (!name)
			name = ic_json_get_string(e, "name");
		if (!name || !ic_valid_model_name(name) || is_cloud(e, name) || !wanted(cfg, name))
			continue;
		for (k = 0; k < n; k++)
			dup = dup || strcmp(v[k].name, name) == 0;
		if (dup)
			continue;
		ic_json_get_int64(e, "size", &size);
		v[n].name = xstrdup(name);
		v[n].size = size;
		/* Ollama 0.30 on lists them here: no /api/show needed */
		if (json_object_object_get_ex(e, "capabilities", &caps) &&
			json_object_is_type(caps, json_type_array))
			v[n].caps = ic_caps_of_json(caps);
		n++;
	}
	qsort(v, n, sizeof(*v), cmp_model);
	if (n > IC_MODELS_PER_NODE_MAX) {
		for (i = IC_MODELS_PER_NODE_MAX; i < n; i++)
			free(v[i].name);
		n = IC_MODELS_PER_NODE_MAX;
	}
	*n_out = n;
	return v;
}

static void schedule(struct models *m, int seconds)
{
	struct timeval tv = { seconds, 0 };

	evtimer_add(m->timer, &tv);
}

static void set_down(struct models *m, const char *why)
{
	struct daemon *d = m->d;

	daemon_changed(d, ollama_health_down(d, why));
	m->retry_s = m->retry_s ? m->retry_s * 2 : MODELS_RETRY_MIN_S;
	if (m->retry_s > d->cfg->model_refresh)
		m->retry_s = d->cfg->model_refresh;
	schedule(m, m->retry_s);
}

static void set_list(struct models *m, struct ic_model_info *v, size_t n)
{
	struct daemon *d = m->d;
	bool same = list_equal(m->list, m->n, v, n);
	bool changed;

	m->retry_s = 0;
	changed = ollama_health_up(d, n);
	changed |= avail_set(&d->avail, AVAIL_NO_MODELS, n == 0);
	if (same) {
		list_free(v, n);
	} else {
		list_free(m->list, m->n);
		m->list = v;
		m->n = n;
		log_info("shared models changed: %zu model%s", n, n == 1 ? "" : "s");
		node_models_changed(d->node);
	}
	daemon_changed(d, changed);
	schedule(m, d->cfg->model_refresh);
}

static void pending_free(struct models *m)
{
	for (size_t i = 0; i < m->n_pending; i++)
		free(m->digests[i]);
	free(m->digests);
	list_free(m->pending, m->n_pending);
	m->pending = NULL;
	m->digests = NULL;
	m->n_pending = m->show_i = 0;
}

static void cache_free(struct models *m)
{
	for (size_t i = 0; i < m->n_cache; i++) {
		free(m->cache[i].name);
		free(m->cache[i].digest);
	}
	free(m->cache);
	m->cache = NULL;
	m->n_cache = 0;
}

/* The digest of each of v's models in a /api/tags reply (NEW strings). */
static char **digests_of(json_object *body, const struct ic_model_info *v, size_t n)
{
	json_object *arr = NULL;
	char **d = xcalloc(n ? n : 1, sizeof(*d));
	size_t len;

	json_object_object_get_ex(body, "models", &arr);
	len = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		const char *digest = "";

		for (size_t k = 0; k < len; k++) {
			json_object *e = json_object_array_get_idx(arr, k);
			const char *name = ic_json_get_string(e, "model");

			if (!name)
				name = ic_json_get_string(e, "name");
			if (name && strcmp(name, v[i].name) == 0) {
				const char *dg = ic_json_get_string(e, "digest");

				digest = dg ? dg : "";
				break;
			}
		}
		d[i] = xstrdup(digest);
	}
	return d;
}

static const struct cap_entry *cache_find(
	const struct models *m, const char *name, const char *digest)
{
	for (size_t i = 0; i < m->n_cache; i++)
		if (strcmp(m->cache[i].name, name) == 0 && strcmp(m->cache[i].digest, digest) == 0)
			return &m->cache[i];
	return NULL;
}

static void cache_put(struct models *m, const char *name, const char *digest, unsigned caps)
{
	/* bounded: entries of models no longer shared are dropped in show_done() */
	m->cache = xrealloc(m->cache, (m->n_cache + 1) * sizeof(*m->cache));
	m->cache[m->n_cache].name = xstrdup(name);
	m->cache[m->n_cache].digest = xstrdup(digest);
	m->cache[m->n_cache].caps = caps;
	m->n_cache++;
}

/* Every pending model's capabilities are in: keep the cache to the list,
 * and share the list. */
static void show_done(struct models *m)
{
	struct cap_entry *keep = xcalloc(m->n_pending ? m->n_pending : 1, sizeof(*keep));
	size_t n = 0;

	for (size_t i = 0; i < m->n_pending; i++) {
		const struct cap_entry *c = cache_find(m, m->pending[i].name, m->digests[i]);

		if (!c)
			continue;
		if (!(m->pending[i].caps & IC_CAP_KNOWN)) /* /api/tags said, newer */
			m->pending[i].caps = c->caps;	  /* also those not reached this time */
		keep[n].name = xstrdup(c->name);
		keep[n].digest = xstrdup(c->digest);
		keep[n].caps = c->caps;
		n++;
	}
	cache_free(m);
	m->cache = keep;
	m->n_cache = n;
	for (size_t i = 0; i < m->n_pending; i++)
		free(m->digests[i]);
	free(m->digests);
	m->digests = NULL;
	{
		struct ic_model_info *v = m->pending;
		size_t nv = m->n_pending;

		m->pending = NULL;
		m->n_pending = m->show_i = 0;
		drop_not_chat(v, &nv);
		set_list(m, v, nv);
	}
}

static void show_next(struct models *m);

static void show_cb(void *ctx, enum ollama_err err, const char *msg, json_object *body)
{
	struct models *m = ctx;
	struct ic_model_info *mi = &m->pending[m->show_i];
	json_object *arr;

	m->req = NULL;
	if (err == OLLAMA_OK) {
		/* an Ollama too old to say gets no capabilities: the router
		 * then goes by the model's name */
		mi->caps = json_object_object_get_ex(body, "capabilities", &arr) &&
				json_object_is_type(arr, json_type_array)
			? ic_caps_of_json(arr)
			: 0;
		cache_put(m, mi->name, m->digests[m->show_i], mi->caps);
	} else if (err == OLLAMA_TIMEOUT || err == OLLAMA_UNAVAILABLE) {
		/* do not make the list wait for every model in turn: the rest
		 * are asked at the next refresh */
		log_info("capabilities unknown: /api/show for %s: %s", mi->name, msg);
		show_done(m);
		return;
	} else {
		log_info("capabilities of %s unknown: %s", mi->name, msg);
	}
	m->show_i++;
	show_next(m);
}

/* Ask /api/show for the next pending model not in the cache. */
static void show_next(struct models *m)
{
	while (m->show_i < m->n_pending) {
		struct ic_model_info *mi = &m->pending[m->show_i];
		const struct cap_entry *c = cache_find(m, mi->name, m->digests[m->show_i]);
		json_object *req;
		char *body;
		size_t len;

		if (c || (mi->caps & IC_CAP_KNOWN)) { /* asked before, or in /api/tags */
			if (c && !(mi->caps & IC_CAP_KNOWN))
				mi->caps = c->caps;
			m->show_i++;
			continue;
		}
		req = json_object_new_object();
		json_object_object_add(req, "model", json_object_new_string(mi->name));
		body = ic_json_to_string_new(req, &len);
		json_object_put(req);
		m->req = ollama_post_json(
			m->d->ollama, "/api/show", body, len, MODELS_SHOW_TIMEOUT_S, show_cb, m);
		free(body);
		return;
	}
	show_done(m);
}

static void tags_cb(void *ctx, enum ollama_err err, const char *msg, json_object *body)
{
	struct models *m = ctx;
	struct ic_model_info *v;
	size_t n;

	m->req = NULL;
	if (err != OLLAMA_OK) {
		set_down(m, msg);
		return;
	}
	v = parse_tags(m->d->cfg, body, &n);
	if (!v) {
		set_down(m, "/api/tags reply has no \"models\" array");
		return;
	}
	pending_free(m);
	m->pending = v;
	m->n_pending = n;
	m->digests = digests_of(body, v, n);
	m->show_i = 0;
	show_next(m);
}

static void version_cb(void *ctx, enum ollama_err err, const char *msg, json_object *body)
{
	struct models *m = ctx;
	const char *v;

	m->req = NULL;
	if (err == OLLAMA_UNAVAILABLE || err == OLLAMA_TIMEOUT) {
		set_down(m, msg);
		return;
	}
	v = err == OLLAMA_OK ? ic_json_get_string(body, "version") : NULL;
	if (v)
		ollama_health_set_version(&m->d->ollama_health, v);
	m->req = ollama_get(m->d->ollama, "/api/tags", tags_cb, m);
}

static void read_version(struct models *m)
{
	if (m->req)
		return;
	m->req = ollama_get(m->d->ollama, "/api/version", version_cb, m);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	read_version(arg);
}

struct models *models_new(struct daemon *d)
{
	struct models *m = xcalloc(1, sizeof(*m));

	m->d = d;
	m->timer = evtimer_new(d->base, timer_cb, m);
	return m;
}

void models_free(struct models *m)
{
	if (!m)
		return;
	ollama_cancel(m->req);
	event_free(m->timer);
	list_free(m->list, m->n);
	pending_free(m);
	cache_free(m);
	free(m);
}

void models_refresh(struct models *m)
{
	if (m->req) { /* the Ollama client may have changed: start over */
		ollama_cancel(m->req);
		m->req = NULL;
	}
	pending_free(m);
	evtimer_del(m->timer);
	read_version(m);
}

const struct ic_model_info *models_list(const struct models *m, size_t *n)
{
	*n = m->n;
	return m->list;
}

bool models_has(const struct models *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->list[i].name, name) == 0)
			return true;
	return false;
}

unsigned models_caps(const struct models *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->list[i].name, name) == 0)
			return m->list[i].caps;
	return 0;
}
