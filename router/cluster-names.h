/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cluster-names.h - the grammar of what instances tell each other their
 * names and inboxes are.
 *
 * Both end up in NATS protocol lines (an inbox is the start of a subject
 * an instance publishes to) and in the log: libnats writes subjects as
 * they are, so an inbox carrying CR LF would write the sender's commands
 * into our connection.  Only the shapes below are ever taken from a peer
 * (summaries, node claims, chats); [cluster] instance is checked against
 * the same grammar at load.  Header-only: rconfig.c's unit test links
 * without libnats.
 */
#ifndef IC_ROUTER_CLUSTER_NAMES_H
#define IC_ROUTER_CLUSTER_NAMES_H

#include <stdbool.h>
#include <string.h>

#define CLUSTER_INSTANCE_MAX 64 /* characters of an instance's name */
#define CLUSTER_INBOX_PREFIX "_INBOX."
#define CLUSTER_NUID_LEN 22 /* libnats's natsInbox_Create(): a 22-character NUID */
/* "_INBOX." and the NUID */
#define CLUSTER_INBOX_LEN (sizeof(CLUSTER_INBOX_PREFIX) - 1 + CLUSTER_NUID_LEN)

static inline bool cluster_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* An instance name: 1 to CLUSTER_INSTANCE_MAX of [A-Za-z0-9._:-] (the
 * default HOSTNAME:PORT fits). */
static inline bool cluster_instance_ok(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++) {
		if (n >= CLUSTER_INSTANCE_MAX || !(cluster_alnum(s[n]) || strchr("._:-", s[n])))
			return false;
	}
	return n > 0;
}

/* The first len bytes of s are an inbox as libnats makes them: "_INBOX."
 * and CLUSTER_NUID_LEN of [A-Za-z0-9]. */
static inline bool cluster_inbox_ok_n(const char *s, size_t len)
{
	size_t p = sizeof(CLUSTER_INBOX_PREFIX) - 1;

	if (!s || len != CLUSTER_INBOX_LEN || strncmp(s, CLUSTER_INBOX_PREFIX, p) != 0)
		return false;
	for (; p < len; p++)
		if (!cluster_alnum(s[p]))
			return false;
	return true;
}

static inline bool cluster_inbox_ok(const char *s)
{
	return s && cluster_inbox_ok_n(s, strlen(s));
}

#endif
