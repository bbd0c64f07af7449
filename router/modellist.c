/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* modellist.c - the models as the public clients read them (see modellist.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/proto.h"
#include "common/xmalloc.h"
#include "modellist.h"
#include "models.h"
#include "nodes.h"
#include "prompt.h"
#include "router.h"

int64_t model_list_realtime_us(int64_t router_us)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - (router_now_us() - router_us);
}

static struct model_entry *find(struct model_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

void model_list_add(struct model_list *l, const struct model_entry *e)
{
	struct model_entry *have = find(l, e->name);

	if (have) {
		have->nodes += e->nodes;
		have->free_slots += e->free_slots;
		if (e->since_us < have->since_us) {
			have->size = e->size;
			have->caps = e->caps;
			have->since_us = e->since_us;
		}
		return;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n] = *e;
	l->v[l->n].name = xstrdup(e->name);
	l->n++;
}

struct local_ctx {
	struct router *r;
	struct model_list *l;
};

/* A model's nodes are in the order they registered: the first decides. */
static void add_local(struct model *m, void *ctx)
{
	struct local_ctx *a = ctx;
	const struct node_model *first;
	struct model_entry e = { .name = m->name };

	if (!m->nodes.head)
		return;
	first = lws_container_of(m->nodes.head, struct node_model, link);
	e.size = first->size;
	e.caps = prompt_model_caps(a->r->cfg, first->node, m->name) &
		(IC_CAP_THINKING | IC_CAP_TOOLS);
	e.since_us = model_list_realtime_us(first->node->registered_us);
	e.nodes = (int)m->nodes.count;
	e.free_slots = models_free_slots(m);
	model_list_add(a->l, &e);
}

void model_list_add_local(struct router *r, struct model_list *l)
{
	struct local_ctx a = { r, l };

	models_foreach(r->models, add_local, &a);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct model_entry *x = a, *y = b;

	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return strcmp(x->name, y->name);
}

void model_list_sort(struct model_list *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_entry);
}

void model_list_free(struct model_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

json_object *model_list_names_new(const struct model_list *l)
{
	json_object *arr = json_object_new_array_ext((int)l->n);

	for (size_t i = 0; i < l->n; i++)
		json_object_array_add(arr, json_object_new_string(l->v[i].name));
	return arr;
}

json_object *model_list_detail_new(const struct model_list *l, bool slots)
{
	json_object *arr = json_object_new_array_ext((int)l->n);

	for (size_t i = 0; i < l->n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(l->v[i].name));
		json_object_object_add(o, "node_count", json_object_new_int(l->v[i].nodes));
		if (slots)
			json_object_object_add(
				o, "free_slots", json_object_new_int(l->v[i].free_slots));
		json_object_array_add(arr, o);
	}
	return arr;
}

json_object *model_list_caps_new(const struct model_list *l)
{
	json_object *o = json_object_new_object();

	for (size_t i = 0; i < l->n; i++) {
		json_object *c = json_object_new_object();

		json_object_object_add(c, "thinking",
			json_object_new_boolean((l->v[i].caps & IC_CAP_THINKING) != 0));
		json_object_object_add(c, "tool_calls",
			json_object_new_boolean((l->v[i].caps & IC_CAP_TOOLS) != 0));
		json_object_object_add(o, l->v[i].name, c);
	}
	return o;
}
