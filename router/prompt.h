/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * prompt.h - the prompt policy: what goes into a node's ollama_params.
 *
 * The public server wraps every chat the same way, and a node should see
 * the same on our router: one system message first (the operator's
 * system_prompt, today's date in UTC, a request for brief reasoning when
 * think is asked of a thinking model, the tool instructions for models
 * without native tool calls, then the consumer's own system text), the
 * last PROMPT_HISTORY_MAX messages of the conversation, keep_alive -1,
 * stream true, think only to thinking models, tools only to native-tool
 * models.  What a model can do comes from its node's report (the register
 * or models_update capabilities) and, without one, from name patterns.
 */
#ifndef IC_ROUTER_PROMPT_H
#define IC_ROUTER_PROMPT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <time.h>

#include "rconfig.h"

#define PROMPT_HISTORY_MAX 20
#define PROMPT_BRIEF_REASONING "Keep your internal reasoning brief and focused."

struct node;

/* IC_CAP_* bits of model on n (n may be NULL): n's report if it made one,
 * else cfg's thinking_models / tool_models matched against the name. */
unsigned prompt_model_caps(
	const struct router_config *cfg, const struct node *n, const char *model);
/* true if model matches one entry of patterns: shell patterns (patterns.h),
 * either case; an entry without a wildcard matches as a part of the name
 * ("qwen3" as "*qwen3*"), as these lists did before they took patterns. */
bool prompt_name_matches(const char *patterns, const char *model);

/* A NEW array of the last PROMPT_HISTORY_MAX messages of messages. */
json_object *prompt_history_new(json_object *messages);

struct prompt_in {
	const char *model;
	json_object *messages; /* the conversation (not taken) */
	bool think;	       /* asked by the consumer */
	unsigned caps;	       /* prompt_model_caps() */
	json_object *tools;    /* ollama "tools" to offer (not taken), or NULL */
	const char *tool_text; /* text-form tool instructions, or NULL */
	time_t now;
};

/* NEW ollama_params for in under cfg's policy. */
json_object *prompt_params_new(const struct router_config *cfg, const struct prompt_in *in);

/* "Today's date is November 30, 2026." for t in UTC, into out. */
void prompt_date_line(time_t t, char *out, size_t outlen);

#endif
