/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* models.c - model name -> nodes and waiting chats (see models.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "models.h"
#include "nodes.h"
#include "strmap.h"
#include "trust.h"
#include "common/xmalloc.h"

struct models {
	struct strmap *table; /* name -> struct model */
	/* load class of active/max: equal fractions share one, in increasing order */
	int load_class[IC_CONCURRENCY_MAX + 1][IC_CONCURRENCY_MAX + 1];
	int n_load_classes;
	/* class -> its fraction a/m (models_key_split()) */
	int class_a[(IC_CONCURRENCY_MAX + 1) * (IC_CONCURRENCY_MAX + 1)];
	int class_m[(IC_CONCURRENCY_MAX + 1) * (IC_CONCURRENCY_MAX + 1)];
};

/* The fractions a/m (0 <= a < m <= IC_CONCURRENCY_MAX) numbered in order. */
static void load_classes_init(struct models *ms)
{
	int(*load_class)[IC_CONCURRENCY_MAX + 1] = ms->load_class;
	int n_load_classes = 0;

	for (;;) {
		int best_a = -1, best_m = 1;

		/* the smallest fraction not numbered yet */
		for (int m = 1; m <= IC_CONCURRENCY_MAX; m++)
			for (int a = 0; a < m; a++)
				if (load_class[m][a] < 0 &&
					(best_a < 0 || (long)a * best_m < (long)best_a * m)) {
					best_a = a;
					best_m = m;
				}
		if (best_a < 0)
			break;
		for (int m = 1; m <= IC_CONCURRENCY_MAX; m++)
			for (int a = 0; a < m; a++)
				if ((long)a * best_m == (long)best_a * m)
					load_class[m][a] = n_load_classes;
		ms->class_a[n_load_classes] = best_a;
		ms->class_m[n_load_classes] = best_m;
		n_load_classes++;
	}
	ms->n_load_classes = n_load_classes;
}

struct models *models_new(void)
{
	struct models *ms = xcalloc(1, sizeof(*ms));

	ms->table = strmap_new();
	for (int m = 0; m <= IC_CONCURRENCY_MAX; m++)
		for (int a = 0; a <= IC_CONCURRENCY_MAX; a++)
			ms->load_class[m][a] = -1;
	load_classes_init(ms);
	return ms;
}

static void free_model(void *p)
{
	struct model *m = p;

	for (size_t i = 0; i < m->n_by_load; i++)
		free(m->by_load[i].nodes.v);
	free(m->by_load);
	free(m->name);
	free(m);
}

/* The entry of class k in m->by_load (made, in order, if create), or NULL. */
static struct load_class *class_of(struct model *m, int k, bool create)
{
	size_t i = 0;

	while (i < m->n_by_load && m->by_load[i].cls < k)
		i++;
	if (i < m->n_by_load && m->by_load[i].cls == k)
		return &m->by_load[i];
	if (!create)
		return NULL;
	if (m->n_by_load == m->cap_by_load) {
		m->cap_by_load = m->cap_by_load ? m->cap_by_load * 2 : 2;
		m->by_load = xrealloc(m->by_load, m->cap_by_load * sizeof(*m->by_load));
	}
	memmove(&m->by_load[i + 1], &m->by_load[i], (m->n_by_load - i) * sizeof(*m->by_load));
	m->n_by_load++;
	memset(&m->by_load[i], 0, sizeof(m->by_load[i]));
	m->by_load[i].cls = k;
	return &m->by_load[i];
}

void models_nm_unfile(struct node_model *nm)
{
	struct model *m = nm->model;
	struct load_class *lc;
	struct nm_vec *v;

	if (nm->load_class < 0)
		return;
	lc = class_of(m, nm->load_class, false);
	nm->load_class = -1;
	if (!lc)
		return; /* cannot happen: filed means listed */
	v = &lc->nodes;
	/* the last takes its place */
	v->v[nm->load_idx] = v->v[--v->n];
	v->v[nm->load_idx]->load_idx = nm->load_idx;
	if (v->n == 0) { /* drop the empty class */
		size_t i = (size_t)(lc - m->by_load);

		free(v->v);
		memmove(&m->by_load[i], &m->by_load[i + 1],
			(m->n_by_load - i - 1) * sizeof(*m->by_load));
		m->n_by_load--;
	}
}

void models_nm_update(struct node_model *nm)
{
	const struct node *n = nm->node;
	int k = -1;
	struct nm_vec *v;

	if (node_has_capacity(n) && n->active >= 0 && n->max_concurrent <= IC_CONCURRENCY_MAX)
		k = models_filing_key(n->r->models->load_class[n->max_concurrent][n->active],
			trust_rep(n), n->r->cfg->trust_min_reputation);
	if (k == nm->load_class)
		return;
	models_nm_unfile(nm);
	if (k < 0)
		return;
	v = &class_of(nm->model, k, true)->nodes;
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 8;
		v->v = xrealloc(v->v, v->cap * sizeof(*v->v));
	}
	nm->load_class = k;
	nm->load_idx = v->n;
	v->v[v->n++] = nm;
}

int models_filing_key(int load_class, int rep, int min_rep)
{
	if (rep < min_rep)
		return -1; /* no consumer chats (probe.c finds it by itself) */
	return load_class * (TRUST_POINTS_MAX + 1) + (TRUST_POINTS_MAX - rep);
}

void models_key_split(const struct models *ms, int key, int *a, int *m, int *rep)
{
	int lc = key / (TRUST_POINTS_MAX + 1);

	*a = ms->class_a[lc];
	*m = ms->class_m[lc];
	*rep = TRUST_POINTS_MAX - key % (TRUST_POINTS_MAX + 1);
}

void models_node_update(struct node *n)
{
	for (size_t i = 0; i < n->n_models; i++)
		models_nm_update(&n->models[i]);
}

void models_free(struct models *ms)
{
	if (!ms)
		return;
	strmap_free(ms->table, free_model);
	free(ms);
}

struct model *models_find(const struct models *ms, const char *name)
{
	return strmap_get(ms->table, name);
}

struct model *models_get(struct models *ms, const char *name)
{
	struct model *m = strmap_get(ms->table, name);

	if (m)
		return m;
	m = xcalloc(1, sizeof(*m));
	m->name = xstrdup(name);
	strmap_put(ms->table, name, m);
	return m;
}

void models_release(struct models *ms, struct model *m)
{
	if (!m || m->nodes.count || m->waiting.count)
		return;
	strmap_remove(ms->table, m->name);
	free_model(m);
}

struct visit {
	void (*fn)(struct model *m, void *ctx);
	void *ctx;
	size_t n;
};

static void visit_one(const char *key, void *val, void *ctx)
{
	struct visit *v = ctx;
	struct model *m = val;

	(void)key;
	if (m->nodes.count == 0)
		return;
	v->n++;
	if (v->fn)
		v->fn(m, v->ctx);
}

void models_foreach(struct models *ms, void (*fn)(struct model *m, void *ctx), void *ctx)
{
	struct visit v = { fn, ctx, 0 };

	strmap_foreach(ms->table, visit_one, &v);
}

size_t models_count(const struct models *ms)
{
	struct visit v = { NULL, NULL, 0 };

	strmap_foreach(ms->table, visit_one, &v);
	return v.n;
}

int models_free_slots(const struct model *m)
{
	int free_slots = 0;

	lws_start_foreach_dll(struct lws_dll2 *, d, m->nodes.head)
	{
		struct node_model *nm = lws_container_of(d, struct node_model, link);

		if (node_has_capacity(nm->node))
			free_slots += nm->node->max_concurrent - nm->node->active;
	}
	lws_end_foreach_dll(d);
	return free_slots;
}
