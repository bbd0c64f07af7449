/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ipcount.h - how many chat streams, nodes and unfinished request bodies
 * each client IP holds.
 *
 * An entry exists only while one of its counts is above zero, so the table
 * is bounded by the number of open connections.
 */
#ifndef IC_ROUTER_IPCOUNT_H
#define IC_ROUTER_IPCOUNT_H

enum ipcount_kind {
	IPC_STREAMS,
	IPC_NODES,
	IPC_BODIES, /* requests whose body is still arriving */
	IPC_KINDS
};

struct ipcount;

struct ipcount *ipcount_new(void);
void ipcount_free(struct ipcount *ic);
int ipcount_get(const struct ipcount *ic, const char *ip, enum ipcount_kind kind);
/* Add delta (+1/-1); the count never goes below zero. */
void ipcount_add(struct ipcount *ic, const char *ip, enum ipcount_kind kind, int delta);
/* Distinct addresses with an open stream, node or body. */
unsigned long ipcount_entries(const struct ipcount *ic);

#endif
