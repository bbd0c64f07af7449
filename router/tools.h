/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * tools.h - the server-side tools: a registry fixed at start-up.
 *
 * Nodes never run tools: a model asks for one (message.tool_calls, or the
 * <tool_call>{...}</tool_call> text form), the router checks the call
 * against the tool's schema here, runs it (tools-searxng.c) and feeds the
 * result back.  The only tool is web_search, which exists only when
 * [tools] searxng_url is set; with no tools nothing is offered and no
 * tool-call text is parsed.
 */
#ifndef IC_ROUTER_TOOLS_H
#define IC_ROUTER_TOOLS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "rconfig.h"

#define TOOL_QUERY_MAX_CHARS 500 /* web_search's query, in characters */

enum tool_id {
	TOOL_NONE = -1,
	TOOL_WEB_SEARCH = 0,
};

/* Whether cfg offers any tool. */
bool tools_enabled(const struct router_config *cfg);
/* NEW Ollama "tools" array of what cfg offers, or NULL if none. */
json_object *tools_ollama_new(const struct router_config *cfg);
/* NEW instructions for models without native tool calls, or NULL if none. */
char *tools_instructions_new(const struct router_config *cfg);

/*
 * Check one call: name and arguments (a JSON object).  The tool's id, or
 * TOOL_NONE with err set to a sentence the model and the consumer will
 * see: it names only registered tools and arguments, never a name the
 * node sent.  *query is set to web_search's query (pointing into args).
 */
enum tool_id tools_check(const struct router_config *cfg, const char *name, json_object *args,
	const char **query, char *err, size_t errlen);

/* The registry's own copy of name if it is a tool cfg offers, else NULL:
 * what the consumer may be shown instead of a node's string. */
const char *tools_offered_name(const struct router_config *cfg, const char *name);

/* The name of a tool. */
const char *tools_name(enum tool_id id);

#endif
