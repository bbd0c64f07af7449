/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * chatmsg.h - chat messages as the network's consumer API takes them.
 *
 * That API has no system role: a system text goes in front of the first
 * question, "SYSTEM\n\nQUESTION", as `idleclawctl chat --system` and the
 * daemon's local gateway both send it.
 */
#ifndef IC_CHATMSG_H
#define IC_CHATMSG_H

#include <json-c/json.h>

/* The separator between the system text and the first question. */
#define IC_SYSTEM_SEP "\n\n"

/*
 * A NEW array holding messages' elements (shared references), the first
 * one replaced by a copy whose content is system + IC_SYSTEM_SEP + its
 * content.  system NULL or "": the elements unchanged.
 */
json_object *ic_messages_with_system_new(json_object *messages, const char *system);

#endif
