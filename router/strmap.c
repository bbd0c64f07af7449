/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* strmap.c - string-keyed hash map with chaining (see strmap.h). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "siphash.h"
#include "strmap.h"
#include "common/xmalloc.h"

struct entry {
	struct entry *next;
	void *val;
	uint64_t hash;
	char key[];
};

struct strmap {
	struct entry **slots;
	size_t n_slots; /* a power of two */
	size_t count;
};

/* The process's hash key: random, so nobody outside can know it. */
static uint8_t hash_key[SIPHASH_KEY_LEN];
static bool hash_key_set;

static void hash_key_init(void)
{
	ssize_t n;

	if (hash_key_set)
		return;
	n = getrandom(hash_key, sizeof(hash_key), 0);
	if (n != (ssize_t)sizeof(hash_key)) {
		/* no getrandom() (ENOSYS): weaker, but still differs per process */
		struct timespec ts;
		uint64_t a, b;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		a = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32);
		b = (uint64_t)getpid() ^ (uint64_t)(uintptr_t)&ts;
		memcpy(hash_key, &a, 8);
		memcpy(hash_key + 8, &b, 8);
	}
	hash_key_set = true;
}

uint64_t strmap_hash(const char *key)
{
	hash_key_init();
	return siphash24(hash_key, key, strlen(key));
}

struct strmap *strmap_new(void)
{
	struct strmap *m = xcalloc(1, sizeof(*m));

	hash_key_init();
	m->n_slots = 16;
	m->slots = xcalloc(m->n_slots, sizeof(*m->slots));
	return m;
}

void strmap_free(struct strmap *m, void (*free_val)(void *))
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_slots; i++) {
		struct entry *e = m->slots[i];

		while (e) {
			struct entry *next = e->next;

			if (free_val)
				free_val(e->val);
			free(e);
			e = next;
		}
	}
	free(m->slots);
	free(m);
}

static struct entry **find(const struct strmap *m, const char *key, uint64_t h)
{
	struct entry **pp = &m->slots[h & (m->n_slots - 1)];

	while (*pp && ((*pp)->hash != h || strcmp((*pp)->key, key) != 0))
		pp = &(*pp)->next;
	return pp;
}

static void grow(struct strmap *m)
{
	size_t n = m->n_slots * 2;
	struct entry **slots = xcalloc(n, sizeof(*slots));

	for (size_t i = 0; i < m->n_slots; i++) {
		struct entry *e = m->slots[i];

		while (e) {
			struct entry *next = e->next;

			e->next = slots[e->hash & (n - 1)];
			slots[e->hash & (n - 1)] = e;
			e = next;
		}
	}
	free(m->slots);
	m->slots = slots;
	m->n_slots = n;
}

void *strmap_get(const struct strmap *m, const char *key)
{
	struct entry *e = *find(m, key, strmap_hash(key));

	return e ? e->val : NULL;
}

void *strmap_put(struct strmap *m, const char *key, void *val)
{
	uint64_t h = strmap_hash(key);
	struct entry **pp = find(m, key, h);
	struct entry *e;
	size_t klen;

	if (*pp) {
		void *old = (*pp)->val;

		(*pp)->val = val;
		return old;
	}
	klen = strlen(key);
	e = xmalloc(sizeof(*e) + klen + 1);
	memcpy(e->key, key, klen + 1);
	e->hash = h;
	e->val = val;
	e->next = NULL;
	*pp = e;
	m->count++;
	if (m->count > m->n_slots)
		grow(m);
	return NULL;
}

void *strmap_remove(struct strmap *m, const char *key)
{
	struct entry **pp = find(m, key, strmap_hash(key));
	struct entry *e = *pp;
	void *val;

	if (!e)
		return NULL;
	*pp = e->next;
	val = e->val;
	free(e);
	m->count--;
	return val;
}

size_t strmap_count(const struct strmap *m)
{
	return m->count;
}

void strmap_foreach(struct strmap *m, void (*fn)(const char *key, void *val, void *ctx), void *ctx)
{
	for (size_t i = 0; i < m->n_slots; i++) {
		struct entry *e = m->slots[i];

		while (e) {
			struct entry *next = e->next;

			fn(e->key, e->val, ctx);
			e = next;
		}
	}
}
