/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * gateway-openai.c - the gateway's OpenAI dialect (see gateway-api.h):
 * POST /v1/chat/completions read into chat arguments; chunks, completions,
 * model objects and errors shaped as OpenAI's API writes them.  Pure.
 *
 * Thinking goes out as "reasoning_content" (the convention of several
 * OpenAI-compatible servers).  Sampling parameters are accepted and not
 * used: the network's consumer API takes none.  "usage" is left out: the
 * network reports no token counts.
 */
#include <stdio.h>
#include <string.h>

#include "daemon/gateway-api.h"
#include "jsonutil.h"
#include "sse.h"

static json_object *str(const char *s)
{
	return json_object_new_string(s ? s : "");
}

/* Members the network cannot honour: a sentence, or NULL. */
static const char *refused_member(json_object *body)
{
	json_object *v;
	int64_t n;

	if (json_object_object_get_ex(body, "tools", &v) &&
		json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0)
		return "tools are not supported: the IdleClaw network's chat API has no client "
		       "tools; send the request without \"tools\"";
	if (json_object_object_get_ex(body, "functions", &v) &&
		json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0)
		return "functions are not supported: the IdleClaw network's chat API has no client "
		       "tools";
	if (ic_json_get_int64(body, "n", &n) && n != 1)
		return "n: only one choice per request is supported";
	if (json_object_object_get_ex(body, "response_format", &v) &&
		strcmp(ic_json_get_string(v, "type") ? ic_json_get_string(v, "type") : "text",
			"text") != 0)
		return "response_format: only \"text\" is supported by the IdleClaw network";
	return NULL;
}

int gw_openai_chat_parse(
	const char *text, size_t len, struct gw_chat *out, char *err, size_t errlen)
{
	json_object *body = ic_json_parse_new(text, len), *v, *messages = NULL;
	const char *model, *why, *effort;
	bool think = false;
	int rc = 400;

	memset(out, 0, sizeof(*out));
	if (!body || !json_object_is_type(body, json_type_object)) {
		json_object_put(body);
		snprintf(err, errlen, "the request body must be a JSON object");
		return 400;
	}
	model = ic_json_get_string(body, "model");
	if (!model || !*model) {
		snprintf(err, errlen, "model: required (a model name from GET /v1/models)");
		goto out;
	}
	if (json_object_object_get_ex(body, "stream", &v) &&
		!json_object_is_type(v, json_type_null) &&
		!ic_json_get_bool(body, "stream", &out->stream)) {
		snprintf(err, errlen, "stream: must be true or false");
		goto out;
	}
	if ((why = refused_member(body)) != NULL) {
		snprintf(err, errlen, "%s", why);
		goto out;
	}
	effort = ic_json_get_string(body, "reasoning_effort");
	if (effort && strcmp(effort, "none") != 0)
		think = true;
	if (json_object_object_get_ex(body, "think", &v) &&
		json_object_is_type(v, json_type_boolean))
		think = json_object_get_boolean(v);
	json_object_object_get_ex(body, "messages", &messages);
	rc = gw_chat_build(model, messages, think, NULL, out, err, errlen);
out:
	json_object_put(body);
	return rc;
}

static json_object *head_new(const char *id, const char *object, int64_t created, const char *model)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", str(id));
	json_object_object_add(o, "object", str(object));
	json_object_object_add(o, "created", json_object_new_int64(created));
	json_object_object_add(o, "model", str(model));
	return o;
}

static json_object *one_choice(json_object *choice)
{
	json_object *arr = json_object_new_array();

	json_object_object_add(choice, "index", json_object_new_int(0));
	json_object_array_add(arr, choice);
	return arr;
}

json_object *gw_openai_chunk_new(const char *id, int64_t created, const char *model,
	const char *role, const char *content, const char *reasoning, const char *finish_reason)
{
	json_object *o = head_new(id, "chat.completion.chunk", created, model);
	json_object *ch = json_object_new_object(), *delta = json_object_new_object();

	if (role)
		json_object_object_add(delta, "role", str(role));
	if (content)
		json_object_object_add(delta, "content", str(content));
	if (reasoning)
		json_object_object_add(delta, "reasoning_content", str(reasoning));
	json_object_object_add(ch, "delta", delta);
	json_object_object_add(ch, "finish_reason", finish_reason ? str(finish_reason) : NULL);
	json_object_object_add(o, "choices", one_choice(ch));
	return o;
}

json_object *gw_openai_completion_new(const char *id, int64_t created, const char *model,
	const char *content, const char *reasoning, const char *finish_reason)
{
	json_object *o = head_new(id, "chat.completion", created, model);
	json_object *ch = json_object_new_object(), *msg = json_object_new_object();

	json_object_object_add(msg, "role", str("assistant"));
	json_object_object_add(msg, "content", str(content));
	if (reasoning && *reasoning)
		json_object_object_add(msg, "reasoning_content", str(reasoning));
	json_object_object_add(ch, "message", msg);
	json_object_object_add(ch, "finish_reason", str(finish_reason ? finish_reason : "stop"));
	json_object_object_add(o, "choices", one_choice(ch));
	return o;
}

json_object *gw_openai_error_new(int status, const char *message)
{
	json_object *o = json_object_new_object(), *e = json_object_new_object();
	const char *type, *code;

	switch (status) {
	case 404:
		type = "invalid_request_error";
		code = "model_not_found";
		break;
	case 413:
		type = "invalid_request_error";
		code = "request_too_large";
		break;
	case 429:
		type = "rate_limit_error";
		code = "rate_limit_exceeded";
		break;
	case 503:
	case 504:
		type = "server_error";
		code = "service_unavailable";
		break;
	default:
		type = status >= 500 ? "server_error" : "invalid_request_error";
		code = NULL;
		break;
	}
	json_object_object_add(e, "message", str(message));
	json_object_object_add(e, "type", str(type));
	json_object_object_add(e, "param", NULL);
	json_object_object_add(e, "code", code ? str(code) : NULL);
	json_object_object_add(o, "error", e);
	return o;
}

json_object *gw_openai_model_new(const char *id)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", str(id));
	json_object_object_add(o, "object", str("model"));
	json_object_object_add(o, "created", json_object_new_int64(0));
	json_object_object_add(o, "owned_by", str(GW_OPENAI_OWNER));
	return o;
}

json_object *gw_openai_models_new(json_object *names)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	size_t i, n = names ? json_object_array_length(names) : 0;

	for (i = 0; i < n; i++)
		json_object_array_add(arr,
			gw_openai_model_new(
				json_object_get_string(json_object_array_get_idx(names, i))));
	json_object_object_add(o, "object", str("list"));
	json_object_object_add(o, "data", arr);
	return o;
}

/* ---- the dialect table (gateway-api.h) ---- */

static int parse(
	const char *body, size_t len, bool generate, struct gw_chat *out, char *err, size_t errlen)
{
	(void)generate;
	return gw_openai_chat_parse(body, len, out, err, errlen);
}

/* The first chunk says the role; later ones need not. */
static const char *role_once(struct gw_answer *a)
{
	const char *role = a->role_sent ? NULL : "assistant";

	a->role_sent = true;
	return role;
}

static json_object *delta_new(struct gw_answer *a, const char *content, const char *thinking)
{
	return gw_openai_chunk_new(
		a->id, a->created, a->model, role_once(a), content, thinking, NULL);
}

static json_object *final_new(struct gw_answer *a, bool stream, const char *content,
	const char *thinking, const char *finish_reason)
{
	if (stream)
		return gw_openai_chunk_new(
			a->id, a->created, a->model, role_once(a), NULL, NULL, finish_reason);
	return gw_openai_completion_new(
		a->id, a->created, a->model, content, thinking, finish_reason);
}

const struct gw_dialect gw_openai_dialect = {
	.stream_type = "text/event-stream",
	.cache_control = "no-cache",
	.frame_new = ic_sse_data_new,
	.end_payload = IC_SSE_DONE, /* "data: [DONE]", as OpenAI ends a stream */
	.parse = parse,
	.delta_new = delta_new,
	.final_new = final_new, /* the last chunk, or the whole chat.completion */
	.error_new = gw_openai_error_new,
	.list_new = gw_openai_models_new,
	.model_new = gw_openai_model_new,
	.unknown_path = "unknown path: the gateway serves /v1/chat/completions and /v1/models",
};
