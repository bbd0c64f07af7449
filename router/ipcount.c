/* ipcount.c - per-IP counts of open streams, registered nodes and bodies. */
#include <stdlib.h>

#include "ipcount.h"
#include "strmap.h"
#include "common/xmalloc.h"

struct counts {
	int n[IPC_KINDS];
};

static struct strmap *table;

void ipcount_init(void)
{
	table = strmap_new();
}

void ipcount_fini(void)
{
	strmap_free(table, free);
	table = NULL;
}

int ipcount_get(const char *ip, enum ipcount_kind kind)
{
	struct counts *c = strmap_get(table, ip);

	return c ? c->n[kind] : 0;
}

void ipcount_add(const char *ip, enum ipcount_kind kind, int delta)
{
	struct counts *c = strmap_get(table, ip);

	if (!c) {
		if (delta <= 0)
			return;
		c = xcalloc(1, sizeof(*c));
		strmap_put(table, ip, c);
	}
	c->n[kind] += delta;
	if (c->n[kind] < 0)
		c->n[kind] = 0;
	for (int k = 0; k < IPC_KINDS; k++)
		if (c->n[k])
			return;
	free(strmap_remove(table, ip));
}

unsigned long ipcount_entries(void)
{
	return table ? (unsigned long)strmap_count(table) : 0;
}
