/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * gateway-ollama.c - the gateway's Ollama dialect (see gateway-api.h):
 * POST /api/chat and /api/generate read into chat arguments; the NDJSON
 * lines, /api/tags, /api/show, /api/version and errors shaped as Ollama
 * 0.12 writes them.  Pure but for the clock gw_ollama_dialect's writers
 * read.
 *
 * What the network does not know gets a placeholder that reads as one
 * (see gw_ollama_tags_new()).  The done line carries total_duration (the
 * gateway measures it) but no token counts: the network reports none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/gateway-api.h"
#include "jsonutil.h"
#include "xmalloc.h"

static json_object *str(const char *s)
{
	return json_object_new_string(s ? s : "");
}

/* "think": true/false, or Ollama's effort levels (which mean true). */
static int think_read(json_object *body, bool *think, char *err, size_t errlen)
{
	json_object *v;
	const char *s;

	*think = false;
	if (!json_object_object_get_ex(body, "think", &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (json_object_is_type(v, json_type_boolean)) {
		*think = json_object_get_boolean(v);
		return 0;
	}
	s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
	/* "max" (Ollama 0.21.3 on) is sent on as "high", as Ollama itself does
	 * for models that know only three levels */
	if (strcmp(s, "max") == 0)
		s = "high";
	if (strcmp(s, "high") == 0 || strcmp(s, "medium") == 0 || strcmp(s, "low") == 0) {
		*think = true;
		return 0;
	}
	snprintf(err, errlen,
		"think: must be true, false, \"max\", \"high\", \"medium\" or \"low\"");
	return 400;
}

/* Members the network cannot honour: a sentence, or NULL. */
static const char *refused_member(json_object *body)
{
	json_object *v;

	if (json_object_object_get_ex(body, "tools", &v) &&
		json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0)
		return "tools are not supported: the IdleClaw network's chat API has no client "
		       "tools; send the request without \"tools\"";
	if (json_object_object_get_ex(body, "format", &v) &&
		!json_object_is_type(v, json_type_null) &&
		!(json_object_is_type(v, json_type_string) && !*json_object_get_string(v)))
		return "format (structured output) is not supported by the IdleClaw network";
	if (json_object_object_get_ex(body, "images", &v) &&
		json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0)
		return "images are not supported by the IdleClaw network";
	return NULL;
}

int gw_ollama_chat_parse(
	const char *text, size_t len, bool generate, struct gw_chat *out, char *err, size_t errlen)
{
	json_object *body = ic_json_parse_new(text, len), *v, *messages = NULL, *options = NULL;
	const char *model, *why, *prompt, *system;
	bool think;
	int rc;

	memset(out, 0, sizeof(*out));
	out->stream = true;
	if (!body || !json_object_is_type(body, json_type_object)) {
		json_object_put(body);
		snprintf(err, errlen, "the request body must be a JSON object");
		return 400;
	}
	model = ic_json_get_string(body, "model");
	if (!model || !*model) {
		snprintf(err, errlen, "model is required");
		rc = 400;
		goto out;
	}
	if (json_object_object_get_ex(body, "stream", &v) &&
		!json_object_is_type(v, json_type_null) &&
		!ic_json_get_bool(body, "stream", &out->stream)) {
		snprintf(err, errlen, "stream: must be true or false");
		rc = 400;
		goto out;
	}
	if ((why = refused_member(body)) != NULL) {
		snprintf(err, errlen, "%s", why);
		rc = 400;
		goto out;
	}
	if ((rc = think_read(body, &think, err, errlen)) != 0)
		goto out;
	json_object_object_get_ex(body, "options", &options);
	if (!generate) {
		json_object_object_get_ex(body, "messages", &messages);
		if (!messages || json_object_is_type(messages, json_type_null) ||
			(json_object_is_type(messages, json_type_array) &&
				json_object_array_length(messages) == 0)) {
			out->load_only = true;
			out->model = xstrdup(model);
			rc = 0;
			goto out;
		}
		json_object_get(messages);
	} else {
		prompt = ic_json_get_string(body, "prompt");
		system = ic_json_get_string(body, "system");
		if (!prompt || !*prompt) {
			out->load_only = true;
			out->model = xstrdup(model);
			rc = 0;
			goto out;
		}
		messages = json_object_new_array();
		if (system && *system) {
			v = json_object_new_object();
			json_object_object_add(v, "role", json_object_new_string("system"));
			json_object_object_add(v, "content", json_object_new_string(system));
			json_object_array_add(messages, v);
		}
		v = json_object_new_object();
		json_object_object_add(v, "role", json_object_new_string("user"));
		json_object_object_add(v, "content", json_object_new_string(prompt));
		json_object_array_add(messages, v);
	}
	rc = gw_chat_build(model, messages, think, options, out, err, errlen);
	json_object_put(messages);
out:
	json_object_put(body);
	return rc;
}

char *gw_ollama_time_new(const struct timespec *ts)
{
	struct tm tm;
	char buf[32];

	gmtime_r(&ts->tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	return xasprintf("%s.%09ldZ", buf, (long)ts->tv_nsec);
}

json_object *gw_ollama_delta_new(const char *model, const char *created_at, bool generate,
	const char *content, const char *thinking)
{
	json_object *o = json_object_new_object(), *m;

	json_object_object_add(o, "model", str(model));
	json_object_object_add(o, "created_at", str(created_at));
	if (generate) {
		json_object_object_add(o, "response", str(content));
		if (thinking && *thinking)
			json_object_object_add(o, "thinking", str(thinking));
	} else {
		m = json_object_new_object();
		json_object_object_add(m, "role", json_object_new_string("assistant"));
		json_object_object_add(m, "content", str(content));
		if (thinking && *thinking)
			json_object_object_add(m, "thinking", str(thinking));
		json_object_object_add(o, "message", m);
	}
	json_object_object_add(o, "done", json_object_new_boolean(false));
	return o;
}

json_object *gw_ollama_final_new(const char *model, const char *created_at, bool generate,
	const char *content, const char *thinking, const char *done_reason, int64_t total_ns)
{
	json_object *o = gw_ollama_delta_new(model, created_at, generate, content, thinking);

	json_object_object_add(o, "done", json_object_new_boolean(true));
	json_object_object_add(o, "done_reason", str(done_reason));
	json_object_object_add(o, "total_duration", json_object_new_int64(total_ns));
	return o;
}

json_object *gw_ollama_error_new(const char *message)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "error", str(message));
	return o;
}

static json_object *details_new(void)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "parent_model", str(""));
	json_object_object_add(d, "format", str(""));
	json_object_object_add(d, "family", str(""));
	json_object_object_add(d, "families", json_object_new_array());
	json_object_object_add(d, "parameter_size", str(""));
	json_object_object_add(d, "quantization_level", str(""));
	return d;
}

json_object *gw_ollama_tags_new(json_object *names)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	size_t i, n = names ? json_object_array_length(names) : 0;

	for (i = 0; i < n; i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(names, i));
		json_object *m = json_object_new_object();

		json_object_object_add(m, "name", str(name));
		json_object_object_add(m, "model", str(name));
		json_object_object_add(m, "modified_at", str(GW_OLLAMA_NO_TIME));
		json_object_object_add(m, "size", json_object_new_int64(0));
		json_object_object_add(m, "digest", str(GW_OLLAMA_NO_DIGEST));
		json_object_object_add(m, "details", details_new());
		json_object_array_add(arr, m);
	}
	json_object_object_add(o, "models", arr);
	return o;
}

json_object *gw_ollama_show_new(const char *model)
{
	json_object *o = json_object_new_object(), *caps = json_object_new_array();

	(void)model;
	json_object_object_add(o, "modelfile", str(""));
	json_object_object_add(o, "parameters", str(""));
	json_object_object_add(o, "template", str(""));
	json_object_object_add(o, "details", details_new());
	json_object_object_add(o, "model_info", json_object_new_object());
	json_object_array_add(caps, json_object_new_string("completion"));
	json_object_object_add(o, "capabilities", caps);
	return o;
}

json_object *gw_ollama_ps_new(void)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "models", json_object_new_array());
	return o;
}

json_object *gw_ollama_version_new(void)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "version", str(GW_OLLAMA_API_VERSION));
	return o;
}

const char *gw_ollama_unsupported(const char *path)
{
	static const struct {
		const char *path, *why;
	} rows[] = {
		{ "/api/pull",
			"pulling models is not possible through the IdleClaw gateway: "
			"the network serves the models its nodes share (GET /api/tags)" },
		{ "/api/push", "pushing models is not possible through the IdleClaw gateway" },
		{ "/api/create", "creating models is not possible through the IdleClaw gateway" },
		{ "/api/delete",
			"deleting models is not possible through the IdleClaw gateway: "
			"the models belong to the network's nodes" },
		{ "/api/copy", "copying models is not possible through the IdleClaw gateway" },
		{ "/api/embed", "embeddings are not supported by the IdleClaw network" },
		{ "/api/embeddings", "embeddings are not supported by the IdleClaw network" },
		{ "/api/blobs", "blobs are not supported by the IdleClaw gateway" },
	};
	size_t i, n;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		n = strlen(rows[i].path);
		if (strncmp(path, rows[i].path, n) == 0 && (path[n] == '\0' || path[n] == '/'))
			return rows[i].why;
	}
	return NULL;
}

/* ---- the dialect table (gateway-api.h) ---- */

static char *now_text_new(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return gw_ollama_time_new(&ts);
}

static int64_t elapsed_ns(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - t0->tv_sec) * 1000000000 + (now.tv_nsec - t0->tv_nsec);
}

json_object *gw_ollama_load_new(const char *model, bool generate)
{
	char *at = now_text_new();
	json_object *o = gw_ollama_final_new(model, at, generate, "", NULL, "load", 0);

	free(at);
	json_object_object_del(o, "total_duration");
	return o;
}

/* One NDJSON line. */
static char *line_new(const char *json, size_t len, size_t *framed_len)
{
	char *s = xmalloc(len + 2);

	memcpy(s, json, len);
	s[len] = '\n';
	s[len + 1] = '\0';
	*framed_len = len + 1;
	return s;
}

static int parse(
	const char *body, size_t len, bool generate, struct gw_chat *out, char *err, size_t errlen)
{
	return gw_ollama_chat_parse(body, len, generate, out, err, errlen);
}

static json_object *delta_new(struct gw_answer *a, const char *content, const char *thinking)
{
	char *at = now_text_new();
	json_object *o =
		gw_ollama_delta_new(a->model, at, a->generate, content ? content : "", thinking);

	free(at);
	return o;
}

/* A stream's texts went out in its deltas: its last line has none. */
static json_object *final_new(struct gw_answer *a, bool stream, const char *content,
	const char *thinking, const char *finish_reason)
{
	char *at = now_text_new();
	json_object *o = gw_ollama_final_new(a->model, at, a->generate, stream ? "" : content,
		stream ? NULL : thinking, finish_reason, elapsed_ns(&a->t0));

	free(at);
	return o;
}

static json_object *error_new(int status, const char *message)
{
	(void)status;
	return gw_ollama_error_new(message);
}

const struct gw_dialect gw_ollama_dialect = {
	.stream_type = "application/x-ndjson",
	.frame_new = line_new, /* and no end marker: the stream just ends */
	.parse = parse,
	.delta_new = delta_new,
	.final_new = final_new,
	.error_new = error_new, /* Ollama's errors carry no status */
	.list_new = gw_ollama_tags_new,
	.model_new = gw_ollama_show_new,
	.unknown_path = "unknown path: see docs/gateway.md for what the gateway serves",
};
