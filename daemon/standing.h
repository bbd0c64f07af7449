/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * standing.h - this node's standing as the router reports it: whether it
 * gets consumer chats (its reputation is not below the router's
 * min_reputation).  Only our router sends the "standing" message (an
 * extension, docs/protocol.md); with the public server the standing stays
 * unknown and status says nothing about it.  Known only for the current
 * session: a new connection forgets it.
 * Thread: main thread only.
 */
#ifndef IC_DAEMON_STANDING_H
#define IC_DAEMON_STANDING_H

#include <stdbool.h>

#include <json-c/json.h>

/* What status says of a node the router gives no chats. */
#define STANDING_NO_CHATS_TEXT "no chats — the router found this node's answers wrong or failing"
#define STANDING_CHATS_TEXT "gets chats"

struct standing {
	bool known; /* the router said, on this session */
	bool chats;
};

/* A standing message; logs a change once. */
void standing_set(struct standing *s, bool chats);
/* The session ended. */
void standing_clear(struct standing *s);
/* Add "standing": {"chats", "text"} to the status body b, if known. */
void standing_status_add(const struct standing *s, json_object *b);

#endif
