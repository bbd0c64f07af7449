/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* prompt.c - the prompt policy (see prompt.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/limits.h"
#include "common/patterns.h"
#include "common/proto.h"
#include "common/utf8.h"
#include "common/xmalloc.h"
#include "models.h"
#include "nodes.h"
#include "prompt.h"

bool prompt_name_matches(const char *patterns, const char *model)
{
	return ic_patterns_match_flags(
		patterns, model, IC_PATTERNS_CASEFOLD | IC_PATTERNS_BARE_SUBSTRING);
}

unsigned prompt_model_caps(const struct router_config *cfg, const struct node *n, const char *model)
{
	unsigned caps = 0;

	for (size_t i = 0; n && i < n->n_models; i++)
		if (strcmp(n->models[i].model->name, model) == 0 &&
			(n->models[i].caps & IC_CAP_KNOWN))
			return n->models[i].caps;
	if (prompt_name_matches(cfg->thinking_models, model))
		caps |= IC_CAP_THINKING;
	if (prompt_name_matches(
		    cfg->tool_models ? cfg->tool_models : ROUTER_TOOL_MODELS_DEFAULT, model))
		caps |= IC_CAP_TOOLS;
	return caps;
}

json_object *prompt_history_new(json_object *messages)
{
	size_t n = json_object_array_length(messages);
	size_t first = n > PROMPT_HISTORY_MAX ? n - PROMPT_HISTORY_MAX : 0;
	json_object *out = json_object_new_array();

	for (size_t i = first; i < n; i++)
		json_object_array_add(out, json_object_get(json_object_array_get_idx(messages, i)));
	return out;
}

void prompt_date_line(time_t t, char *out, size_t outlen)
{
	/* fixed English names: the C locale's, whatever the process's locale */
	static const char *const months[] = {
		"January",
		"February",
		"March",
		"April",
		"May",
		"June",
		"July",
		"August",
		"September",
		"October",
		"November",
		"December",
	};
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, outlen, "Today's date is %s %d, %d.", months[tm.tm_mon % 12], tm.tm_mday,
		tm.tm_year + 1900);
}

static const char *role_of(json_object *msg)
{
	json_object *v;

	if (!json_object_object_get_ex(msg, "role", &v) ||
		!json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

static void append_part(char **text, const char *part)
{
	char *joined;

	if (!part || !*part)
		return;
	joined = *text ? xasprintf("%s\n\n%s", *text, part) : xstrdup(part);
	free(*text);
	*text = joined;
}

/* The one system message's text: policy first, the consumer's last. */
static char *system_text_new(const struct router_config *cfg, const struct prompt_in *in)
{
	char date[96];
	char *text = NULL;
	size_t n = json_object_array_length(in->messages);

	prompt_date_line(in->now, date, sizeof(date));
	append_part(&text, cfg->system_prompt ? cfg->system_prompt : ROUTER_SYSTEM_PROMPT_DEFAULT);
	append_part(&text, date);
	if (in->think && (in->caps & IC_CAP_THINKING))
		append_part(&text, PROMPT_BRIEF_REASONING);
	if (in->tool_text && !(in->caps & IC_CAP_TOOLS))
		append_part(&text, in->tool_text);
	for (size_t i = 0; i < n; i++) {
		json_object *msg = json_object_array_get_idx(in->messages, i), *c;

		if (strcmp(role_of(msg), "system") == 0 &&
			json_object_object_get_ex(msg, "content", &c) &&
			json_object_is_type(c, json_type_string))
			append_part(&text, json_object_get_string(c));
	}
	return text ? text : xstrdup("");
}

static size_t content_chars(json_object *msg)
{
	json_object *c;
	ssize_t n;

	if (!json_object_object_get_ex(msg, "content", &c) ||
		!json_object_is_type(c, json_type_string))
		return 0;
	n = ic_utf8_count(json_object_get_string(c), (size_t)json_object_get_string_len(c));
	return n > 0 ? (size_t)n : 0;
}

/*
 * The first message of in->messages to send: a node takes at most
 * IC_MESSAGES_MAX messages and IC_TOTAL_CHARS_MAX characters in all (what
 * tool rounds add can pass both), so the oldest go first, and a tool
 * result never leads without its call.
 */
static size_t first_kept(json_object *messages, size_t system_chars)
{
	size_t n = json_object_array_length(messages), count = 0, chars = system_chars;
	size_t first = n;

	while (first > 0) {
		json_object *msg = json_object_array_get_idx(messages, first - 1);
		size_t c = content_chars(msg);

		if (strcmp(role_of(msg), "system") == 0) {
			first--;
			continue;
		}
		if (count + 2 > IC_MESSAGES_MAX || chars + c > IC_TOTAL_CHARS_MAX)
			break;
		count++;
		chars += c;
		first--;
	}
	while (first < n &&
		strcmp(role_of(json_object_array_get_idx(messages, first)), "tool") == 0)
		first++;
	return first;
}

json_object *prompt_params_new(const struct router_config *cfg, const struct prompt_in *in)
{
	json_object *p = json_object_new_object();
	json_object *msgs = json_object_new_array();
	json_object *sys = json_object_new_object();
	char *text = system_text_new(cfg, in);
	size_t n = json_object_array_length(in->messages);
	ssize_t sys_chars = ic_utf8_count(text, strlen(text));
	size_t first = first_kept(in->messages, sys_chars > 0 ? (size_t)sys_chars : 0);

	json_object_object_add(sys, "role", json_object_new_string("system"));
	json_object_object_add(sys, "content", json_object_new_string(text));
	free(text);
	json_object_array_add(msgs, sys);
	for (size_t i = first; i < n; i++) {
		json_object *msg = json_object_array_get_idx(in->messages, i);

		if (strcmp(role_of(msg), "system") != 0)
			json_object_array_add(msgs, json_object_get(msg));
	}
	json_object_object_add(p, "model", json_object_new_string(in->model));
	json_object_object_add(p, "messages", msgs);
	json_object_object_add(p, "stream", json_object_new_boolean(1));
	json_object_object_add(p, "keep_alive", json_object_new_int(-1));
	json_object_object_add(
		p, "think", json_object_new_boolean(in->think && (in->caps & IC_CAP_THINKING)));
	if (in->tools && (in->caps & IC_CAP_TOOLS))
		json_object_object_add(p, "tools", json_object_get(in->tools));
	return p;
}
