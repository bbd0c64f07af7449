/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * policy.h - the consumer input policy: [router] refuse_patterns.
 *
 * A whitespace-separated list of POSIX extended regular expressions (a
 * space inside one is written [[:space:]]), matched case-insensitively
 * against the content of every message of a chat before it is scheduled.
 * Compiled once per configuration (router_set_config()), never per chat.
 */
#ifndef IC_ROUTER_POLICY_H
#define IC_ROUTER_POLICY_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

/* The built-in list: the public server's patterns. */
extern const char policy_default_patterns[];

struct policy;

/* Compile list (NULL or empty: refuse nothing).  A pattern that does not
 * compile is skipped and counted in *bad with its text in first_bad
 * (first_bad_len bytes; may be NULL). */
struct policy *policy_new(const char *list, size_t *bad, char *first_bad, size_t first_bad_len);
void policy_free(struct policy *p);
size_t policy_count(const struct policy *p);
/* True if text matches one of the patterns. */
bool policy_refuses_text(const struct policy *p, const char *text);
/* True if the content of one message of the (validated) array matches. */
bool policy_refuses_messages(const struct policy *p, json_object *messages);

#endif
