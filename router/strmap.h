/*
 * strmap.h - a hash map from NUL-terminated strings to pointers.
 *
 * Keys are copied and owned by the map; values belong to the caller.  The
 * table doubles when it gets full, so lookups stay O(1) as it grows.
 */
#ifndef IC_ROUTER_STRMAP_H
#define IC_ROUTER_STRMAP_H

#include <stddef.h>

struct strmap;

struct strmap *strmap_new(void);
/* Frees the map and its keys; free_val (may be NULL) is called on each value. */
void strmap_free(struct strmap *m, void (*free_val)(void *));

void *strmap_get(const struct strmap *m, const char *key);
/* Insert or replace; returns the value replaced, or NULL. */
void *strmap_put(struct strmap *m, const char *key, void *val);
/* Remove; returns the value removed, or NULL. */
void *strmap_remove(struct strmap *m, const char *key);
size_t strmap_count(const struct strmap *m);

/* Visit every entry; fn may remove the entry it is given (only that one). */
void strmap_foreach(struct strmap *m, void (*fn)(const char *key, void *val, void *ctx),
		    void *ctx);

#endif
