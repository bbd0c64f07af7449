/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * models.h - the index from model name to the nodes that serve it and the
 * chats waiting for it.
 *
 * A struct model exists while at least one node lists it or one chat waits
 * for it; models_release() frees it when both lists are empty.
 *
 * The nodes of a model that have a free slot are also filed by load
 * (active / max_concurrent, one class per distinct fraction, least loaded
 * first), so the scheduler finds the least loaded node without walking all
 * of them: with 10,000 nodes that walk, once per chat, was half of the
 * router's CPU.  Whatever changes a node's capacity or load calls
 * models_node_update().
 *
 * A class is in fact (load, reputation): the key is load class * 101 +
 * (100 - reputation points), so a model's classes are in order of load,
 * then of reputation, highest first.  The scheduler weighs load against
 * reputation by looking at the first class of each load only: the cost of
 * a choice grows with the distinct loads and reputations in use, never
 * with the number of nodes.  A node below [trust] min_reputation is not
 * filed (no consumer chats).
 */
#ifndef IC_ROUTER_MODELS_H
#define IC_ROUTER_MODELS_H

#include <libwebsockets.h>
#include <stddef.h>

struct node;
struct node_model;

struct nm_vec {
	struct node_model **v;
	size_t n, cap;
};

/* The nodes of one class (a fraction active/max_concurrent and a
 * reputation; see above). */
struct load_class {
	int cls;
	struct nm_vec nodes; /* never empty */
};

struct model {
	char *name;
	lws_dll2_owner_t nodes;	  /* struct node_model, via link */
	lws_dll2_owner_t waiting; /* struct chat, via queue_link; FIFO */
	/* nodes with a free slot by load, least loaded first: only the
	 * classes in use, so a model costs memory for what it has */
	struct load_class *by_load;
	size_t n_by_load, cap_by_load;
};

/* One model on one node: the node's membership in model->nodes. */
struct node_model {
	lws_dll2_t link;
	struct node *node;
	struct model *model;
	long long size;	 /* bytes, as the node reported */
	unsigned caps;	 /* IC_CAP_* as the node reported, or 0 */
	int load_class;	 /* its class in model->by_load, or -1 */
	size_t load_idx; /* its index in that class's nodes */
};

struct models;

struct models *models_new(void);
void models_free(struct models *ms);
/* The model named name, or NULL (find), or a new empty one (get). */
struct model *models_find(const struct models *ms, const char *name);
struct model *models_get(struct models *ms, const char *name);
/* Free m if no node lists it and no chat waits for it. */
void models_release(struct models *ms, struct model *m);
/* The slots free for m: on its nodes that take requests. */
int models_free_slots(const struct model *m);
/* Call fn for every model that at least one node lists. */
void models_foreach(struct models *ms, void (*fn)(struct model *m, void *ctx), void *ctx);
size_t models_count(const struct models *ms);

/* File nm afresh (node_has_capacity(), active, max_concurrent), in the
 * load classes of its node's router (nm->node->r->models). */
void models_nm_update(struct node_model *nm);
/* Take nm out of its load class (before it is freed). */
void models_nm_unfile(struct node_model *nm);
/* The class key of a node at load class load_class with rep points, or -1
 * below min_rep; and back: the load a/m and the reputation of a key. */
int models_filing_key(int load_class, int rep, int min_rep);
void models_key_split(const struct models *ms, int key, int *a, int *m, int *rep);
/* models_nm_update() for each model of n. */
void models_node_update(struct node *n);

#endif
