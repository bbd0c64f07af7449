/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* ipcount.c - per-IP counts of open streams, registered nodes and bodies. */
#include <stdlib.h>

#include "ipcount.h"
#include "strmap.h"
#include "common/xmalloc.h"

struct counts {
	int n[IPC_KINDS];
};

struct ipcount {
	struct strmap *table; /* address -> struct counts */
};

struct ipcount *ipcount_new(void)
{
	struct ipcount *ic = xcalloc(1, sizeof(*ic));

	ic->table = strmap_new();
	return ic;
}

void ipcount_free(struct ipcount *ic)
{
	if (!ic)
		return;
	strmap_free(ic->table, free);
	free(ic);
}

int ipcount_get(const struct ipcount *ic, const char *ip, enum ipcount_kind kind)
{
	struct counts *c = strmap_get(ic->table, ip);

	return c ? c->n[kind] : 0;
}

void ipcount_add(struct ipcount *ic, const char *ip, enum ipcount_kind kind, int delta)
{
	struct counts *c = strmap_get(ic->table, ip);

	if (!c) {
		if (delta <= 0)
			return;
		c = xcalloc(1, sizeof(*c));
		strmap_put(ic->table, ip, c);
	}
	c->n[kind] += delta;
	if (c->n[kind] < 0)
		c->n[kind] = 0;
	for (int k = 0; k < IPC_KINDS; k++)
		if (c->n[k])
			return;
	free(strmap_remove(ic->table, ip));
}

unsigned long ipcount_entries(const struct ipcount *ic)
{
	return (unsigned long)strmap_count(ic->table);
}
