/*
 * models.h - the index from model name to the nodes that serve it and the
 * chats waiting for it.
 *
 * A struct model exists while at least one node lists it or one chat waits
 * for it; models_release() frees it when both lists are empty.
 */
#ifndef IC_ROUTER_MODELS_H
#define IC_ROUTER_MODELS_H

#include <libwebsockets.h>
#include <stddef.h>

struct node;

struct model {
	char *name;
	lws_dll2_owner_t nodes;		/* struct node_model, via link */
	lws_dll2_owner_t waiting;	/* struct chat, via queue_link; FIFO */
};

/* One model on one node: the node's membership in model->nodes. */
struct node_model {
	lws_dll2_t link;
	struct node *node;
	struct model *model;
	long long size;			/* bytes, as the node reported */
};

void models_init(void);
void models_fini(void);
/* The model named name, or NULL (find), or a new empty one (get). */
struct model *models_find(const char *name);
struct model *models_get(const char *name);
/* Free m if no node lists it and no chat waits for it. */
void models_release(struct model *m);
/* Call fn for every model that at least one node lists. */
void models_foreach(void (*fn)(struct model *m, void *ctx), void *ctx);
size_t models_count(void);

#endif
