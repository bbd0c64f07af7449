/* strmap.c - string-keyed hash map with chaining (see strmap.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "common/xmalloc.h"

struct entry {
	struct entry *next;
	void *val;
	uint32_t hash;
	char key[];
};

struct strmap {
	struct entry **slots;
	size_t n_slots;		/* a power of two */
	size_t count;
};

/* FNV-1a: short keys (addresses, model names), no adversarial concern
 * beyond a bounded table, which the callers bound themselves. */
static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

struct strmap *strmap_new(void)
{
	struct strmap *m = xcalloc(1, sizeof(*m));

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

static struct entry **find(const struct strmap *m, const char *key, uint32_t h)
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
	struct entry *e = *find(m, key, hash_str(key));

	return e ? e->val : NULL;
}

void *strmap_put(struct strmap *m, const char *key, void *val)
{
	uint32_t h = hash_str(key);
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
	struct entry **pp = find(m, key, hash_str(key));
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

void strmap_foreach(struct strmap *m, void (*fn)(const char *key, void *val, void *ctx),
		    void *ctx)
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
