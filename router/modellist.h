/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * modellist.h - the models as the public clients read them (GET /api/models,
 * /health, /metrics): one entry per name over all nodes (and, in a cluster,
 * all instances), with the size and capabilities of the node that
 * registered it first, as the public server decides where nodes disagree;
 * sorted by size, largest first, since the public clients take the first
 * model as their default.
 */
#ifndef IC_ROUTER_MODELLIST_H
#define IC_ROUTER_MODELLIST_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct router;

struct model_entry {
	char *name;	  /* owned by the list */
	long long size;	  /* bytes, of the deciding node */
	unsigned caps;	  /* IC_CAP_THINKING / IC_CAP_TOOLS as the router knows them */
	int64_t since_us; /* CLOCK_REALTIME when the deciding node registered */
	int nodes;
	int free_slots;
};

struct model_list {
	struct model_entry *v;
	size_t n, cap;
};

/* Add the models of r's own nodes to l (zeroed before, or filled). */
void model_list_add_local(struct router *r, struct model_list *l);
/* Add one entry (e->name copied): a name already listed sums nodes and
 * free slots, and the earlier since_us decides size and capabilities. */
void model_list_add(struct model_list *l, const struct model_entry *e);
/* Largest first; equal sizes by name. */
void model_list_sort(struct model_list *l);
void model_list_free(struct model_list *l);

/* NEW JSON: ["name", ...]; [{"name","node_count"[,"free_slots"]}]
 * (detail); {"name": {"thinking": bool, "tool_calls": bool}, ...}. */
json_object *model_list_names_new(const struct model_list *l);
json_object *model_list_detail_new(const struct model_list *l, bool slots);
json_object *model_list_caps_new(const struct model_list *l);

/* The CLOCK_REALTIME microseconds of a router_now_us() time. */
int64_t model_list_realtime_us(int64_t router_us);

#endif
