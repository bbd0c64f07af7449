/* models.c - model name -> nodes and waiting chats (see models.h). */
#include <stdlib.h>

#include "models.h"
#include "strmap.h"
#include "common/xmalloc.h"

static struct strmap *table;

void models_init(void)
{
	table = strmap_new();
}

static void free_model(void *p)
{
	struct model *m = p;

	free(m->name);
	free(m);
}

void models_fini(void)
{
	strmap_free(table, free_model);
	table = NULL;
}

struct model *models_find(const char *name)
{
	return strmap_get(table, name);
}

struct model *models_get(const char *name)
{
	struct model *m = strmap_get(table, name);

	if (m)
		return m;
	m = xcalloc(1, sizeof(*m));
	m->name = xstrdup(name);
	strmap_put(table, name, m);
	return m;
}

void models_release(struct model *m)
{
	if (!m || m->nodes.count || m->waiting.count)
		return;
	strmap_remove(table, m->name);
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

void models_foreach(void (*fn)(struct model *m, void *ctx), void *ctx)
{
	struct visit v = { fn, ctx, 0 };

	strmap_foreach(table, visit_one, &v);
}

size_t models_count(void)
{
	struct visit v = { NULL, NULL, 0 };

	strmap_foreach(table, visit_one, &v);
	return v.n;
}
