/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* tools.c - the registry and the argument checks (see tools.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "common/utf8.h"
#include "common/xmalloc.h"
#include "tools.h"

/* One argument of a tool's schema. */
struct tool_arg {
	const char *name;
	json_type type;
	bool required;
	size_t min_chars, max_chars; /* strings */
	const char *description;
};

struct tool_def {
	enum tool_id id;
	const char *name;
	const char *description;
	const struct tool_arg *args;
	size_t n_args;
};

static const struct tool_arg web_search_args[] = {
	{ "query", json_type_string, true, 1, TOOL_QUERY_MAX_CHARS, "what to search for" },
};

static const struct tool_def registry[] = {
	{ TOOL_WEB_SEARCH, "web_search",
		"Search the web for current information. Returns the top results with title, "
		"URL and a snippet.",
		web_search_args, sizeof(web_search_args) / sizeof(web_search_args[0]) },
};

#define N_TOOLS (sizeof(registry) / sizeof(registry[0]))

static bool tool_offered(const struct router_config *cfg, const struct tool_def *t)
{
	if (t->id == TOOL_WEB_SEARCH)
		return cfg->searxng_url && cfg->searxng_url[0];
	return false;
}

bool tools_enabled(const struct router_config *cfg)
{
	for (size_t i = 0; i < N_TOOLS; i++)
		if (tool_offered(cfg, &registry[i]))
			return true;
	return false;
}

const char *tools_name(enum tool_id id)
{
	for (size_t i = 0; i < N_TOOLS; i++)
		if (registry[i].id == id)
			return registry[i].name;
	return "?";
}

static const char *type_name(json_type t)
{
	switch (t) {
	case json_type_string:
		return "string";
	case json_type_int:
		return "integer";
	case json_type_double:
		return "number";
	case json_type_boolean:
		return "boolean";
	case json_type_object:
		return "object";
	case json_type_array:
		return "array";
	default:
		return "null";
	}
}

static json_object *schema_new(const struct tool_def *t)
{
	json_object *s = json_object_new_object(), *props = json_object_new_object();
	json_object *req = json_object_new_array();

	json_object_object_add(s, "type", json_object_new_string("object"));
	for (size_t i = 0; i < t->n_args; i++) {
		json_object *p = json_object_new_object();

		json_object_object_add(
			p, "type", json_object_new_string(type_name(t->args[i].type)));
		json_object_object_add(
			p, "description", json_object_new_string(t->args[i].description));
		json_object_object_add(props, t->args[i].name, p);
		if (t->args[i].required)
			json_object_array_add(req, json_object_new_string(t->args[i].name));
	}
	json_object_object_add(s, "properties", props);
	json_object_object_add(s, "required", req);
	json_object_object_add(s, "additionalProperties", json_object_new_boolean(0));
	return s;
}

json_object *tools_ollama_new(const struct router_config *cfg)
{
	json_object *arr = NULL;

	for (size_t i = 0; i < N_TOOLS; i++) {
		json_object *tool, *fn;

		if (!tool_offered(cfg, &registry[i]))
			continue;
		if (!arr)
			arr = json_object_new_array();
		tool = json_object_new_object();
		fn = json_object_new_object();
		json_object_object_add(fn, "name", json_object_new_string(registry[i].name));
		json_object_object_add(
			fn, "description", json_object_new_string(registry[i].description));
		json_object_object_add(fn, "parameters", schema_new(&registry[i]));
		json_object_object_add(tool, "type", json_object_new_string("function"));
		json_object_object_add(tool, "function", fn);
		json_object_array_add(arr, tool);
	}
	return arr;
}

char *tools_instructions_new(const struct router_config *cfg)
{
	char *text = NULL;

	for (size_t i = 0; i < N_TOOLS; i++) {
		json_object *schema;
		char *s, *next;

		if (!tool_offered(cfg, &registry[i]))
			continue;
		schema = schema_new(&registry[i]);
		s = ic_json_to_string_new(schema, NULL);
		json_object_put(schema);
		next = xasprintf("%s\n- %s: %s Arguments (JSON schema): %s",
			text ? text : "You can call these tools:", registry[i].name,
			registry[i].description, s);
		free(s);
		free(text);
		text = next;
	}
	if (!text)
		return NULL;
	{
		char *all = xasprintf("%s\nTo call a tool, answer with only this, on its own:\n"
				      "<tool_call>{\"name\": \"TOOL\", \"arguments\": {...}}"
				      "</tool_call>\nThe result comes back in the next message.",
			text);

		free(text);
		return all;
	}
}

static const struct tool_def *find_tool(const struct router_config *cfg, const char *name)
{
	for (size_t i = 0; name && i < N_TOOLS; i++)
		if (strcmp(registry[i].name, name) == 0 && tool_offered(cfg, &registry[i]))
			return &registry[i];
	return NULL;
}

const char *tools_offered_name(const struct router_config *cfg, const char *name)
{
	const struct tool_def *t = find_tool(cfg, name);

	return t ? t->name : NULL;
}

/* "web_search, ..." : the names cfg offers, into out. */
static void offered_list(const struct router_config *cfg, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < N_TOOLS && used < outlen; i++) {
		int n;

		if (!tool_offered(cfg, &registry[i]))
			continue;
		n = snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", registry[i].name);
		if (n > 0)
			used += (size_t)n;
	}
}

/* "query, ..." : the argument names of t, into out. */
static void arg_list(const struct tool_def *t, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < t->n_args && used < outlen; i++) {
		int n = snprintf(
			out + used, outlen - used, "%s%s", used ? ", " : "", t->args[i].name);

		if (n > 0)
			used += (size_t)n;
	}
}

static int check_arg(const struct tool_arg *a, json_object *v, char *err, size_t errlen)
{
	ssize_t chars;

	if (!json_object_is_type(v, a->type)) {
		snprintf(err, errlen, "argument '%s' must be a %s", a->name, type_name(a->type));
		return -1;
	}
	if (a->type != json_type_string)
		return 0;
	chars = ic_utf8_count(json_object_get_string(v), (size_t)json_object_get_string_len(v));
	if (chars < 0 || (size_t)chars < a->min_chars || (size_t)chars > a->max_chars) {
		snprintf(err, errlen, "argument '%s' must be %zu to %zu characters", a->name,
			a->min_chars, a->max_chars);
		return -1;
	}
	return 0;
}

static int check_args(const struct tool_def *t, json_object *args, char *err, size_t errlen)
{
	if (!json_object_is_type(args, json_type_object)) {
		snprintf(err, errlen, "arguments of %s must be a JSON object", t->name);
		return -1;
	}
	json_object_object_foreach(args, key, val)
	{
		const struct tool_arg *a = NULL;

		for (size_t i = 0; i < t->n_args; i++)
			if (strcmp(t->args[i].name, key) == 0)
				a = &t->args[i];
		if (!a) {
			char names[96];

			/* the key is the node's: it is never repeated (the consumer
			 * sees this sentence) */
			arg_list(t, names, sizeof(names));
			snprintf(err, errlen, "unknown argument for %s (its arguments: %s)",
				t->name, names);
			return -1;
		}
		if (check_arg(a, val, err, errlen) < 0)
			return -1;
	}
	for (size_t i = 0; i < t->n_args; i++) {
		if (t->args[i].required &&
			!json_object_object_get_ex(args, t->args[i].name, NULL)) {
			snprintf(err, errlen, "missing required argument '%s' for %s",
				t->args[i].name, t->name);
			return -1;
		}
	}
	return 0;
}

enum tool_id tools_check(const struct router_config *cfg, const char *name, json_object *args,
	const char **query, char *err, size_t errlen)
{
	const struct tool_def *t = find_tool(cfg, name);
	json_object *q;

	*query = NULL;
	if (!t) {
		char names[96];

		/* the name is the node's: it is never repeated */
		offered_list(cfg, names, sizeof(names));
		snprintf(err, errlen, "unknown tool (the tools: %s)", names);
		return TOOL_NONE;
	}
	if (check_args(t, args, err, errlen) < 0)
		return TOOL_NONE;
	if (t->id == TOOL_WEB_SEARCH && json_object_object_get_ex(args, "query", &q))
		*query = json_object_get_string(q);
	return t->id;
}
