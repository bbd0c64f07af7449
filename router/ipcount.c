/* ipcount.c - per-IP counts of open streams and registered nodes. */
#include <stdlib.h>

#include "ipcount.h"
#include "strmap.h"
#include "common/xmalloc.h"

struct counts {
	int n[2];
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
	if (c->n[IPC_STREAMS] == 0 && c->n[IPC_NODES] == 0)
		free(strmap_remove(table, ip));
}

unsigned long ipcount_entries(void)
{
	return table ? (unsigned long)strmap_count(table) : 0;
}
