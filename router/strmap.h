/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * strmap.h - a hash map from NUL-terminated strings to pointers.
 *
 * Keys are copied and owned by the map; values belong to the caller.  The
 * table doubles when it gets full, so lookups stay O(1) as it grows.
 *
 * Keys include client addresses, which a client chooses (from a whole IPv6
 * /64, say), so they are hashed with SipHash-2-4 under a key drawn from
 * getrandom() once per process (siphash.h): nobody outside can compute
 * keys that collide, and a table cannot be made to degrade into a list.
 */
#ifndef IC_ROUTER_STRMAP_H
#define IC_ROUTER_STRMAP_H

#include <stddef.h>
#include <stdint.h>

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

/* The hash of key under this process's key (the same in every map). */
uint64_t strmap_hash(const char *key);

/* Visit every entry; fn may remove the entry it is given (only that one). */
void strmap_foreach(struct strmap *m, void (*fn)(const char *key, void *val, void *ctx), void *ctx);

#endif
