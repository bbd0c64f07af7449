/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api.c - the HTTP paths of Ollama's API that fake-ollama answers, from a
 * table; /api/chat is validated here and streamed by chat.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "fake-ollama.h"
#include "goduration.h"
#include "jsonutil.h"
#include "limits.h"
#include "log.h"
#include "xmalloc.h"

/* The newest model's modified_at; each next one an hour older (Ollama
 * lists the most recently modified first). */
#define MODIFIED_AT_NEWEST 1758190867L /* 2025-09-18T10:21:07Z */
/* What /api/ps says for keep_alive < 0: Go's now + MaxInt64 ns. */
#define FOREVER_S 9223372036L
/* /api/tags' details.context_length (0.30.0 on), /api/ps' context_length. */
#define TRAINED_CONTEXT 131072
#define LOADED_CONTEXT 4096
#define CLOUD_HOST "https://ollama.com:443"
#define CLOUD_SIZE 384
#define BUSY_ERROR "server busy, please try again.  maximum pending requests exceeded"
#define LOAD_FAIL_ERROR "model requires more system memory (11.2 GiB) than is available (3.9 GiB)"

typedef void (*handler_fn)(struct fo_server *, struct evhttp_request *);

struct route {
	const char *path;
	enum evhttp_cmd_type methods;
	handler_fn handler;
};

/* A GET held back by --fault slow-headers on another --fault-path.  evhttp
 * keeps its request alive until we answer or shut down. */
struct fo_delayed {
	TAILQ_ENTRY(fo_delayed) link;
	struct fo_server *srv;
	struct evhttp_request *req;
	struct event *timer;
	handler_fn handler;
};

static void send_json(struct evhttp_request *req, int code, json_object *obj)
{
	struct evbuffer *buf = evbuffer_new();
	const char *s = json_object_to_json_string_ext(obj, IC_JSON_WIRE);

	evbuffer_add(buf, s, strlen(s));
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
		"application/json; charset=utf-8");
	evhttp_send_reply(req, code, NULL, buf);
	evbuffer_free(buf);
}

void fo_api_error(struct evhttp_request *req, int code, const char *msg)
{
	json_object *obj = json_object_new_object();

	json_object_object_add(obj, "error", json_object_new_string(msg));
	send_json(req, code, obj);
	json_object_put(obj);
}

static void send_text(struct evhttp_request *req, int code, const char *text)
{
	struct evbuffer *buf = evbuffer_new();

	evbuffer_add(buf, text, strlen(text));
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
		"text/plain; charset=utf-8");
	evhttp_send_reply(req, code, NULL, buf);
	evbuffer_free(buf);
}

struct fo_model *fo_model_find(struct fo_server *srv, const char *name)
{
	char *canon = fo_model_canonical_new(name);
	struct fo_model *found = NULL;

	for (size_t i = 0; i < srv->cfg->nmodels && found == NULL; i++)
		if (strcmp(srv->cfg->models[i].name, canon) == 0)
			found = &srv->cfg->models[i];
	free(canon);
	return found;
}

static json_object *model_details(const struct fo_model *m)
{
	json_object *d = json_object_new_object(), *fams;
	size_t famlen = 0;
	char psize[32];

	while (m->name[famlen] >= 'a' && m->name[famlen] <= 'z')
		famlen++;
	snprintf(psize, sizeof(psize), "%.1fB", (double)m->size / 0.6e9);
	json_object_object_add(d, "parent_model", json_object_new_string(""));
	json_object_object_add(d, "format", json_object_new_string("gguf"));
	json_object_object_add(d, "family", json_object_new_string_len(m->name, (int)famlen));
	fams = json_object_new_array();
	json_object_array_add(fams, json_object_new_string_len(m->name, (int)famlen));
	json_object_object_add(d, "families", fams);
	json_object_object_add(d, "parameter_size", json_object_new_string(psize));
	json_object_object_add(d, "quantization_level", json_object_new_string("Q4_K_M"));
	return d;
}

static json_object *model_entry(const struct fo_model *m)
{
	json_object *e = json_object_new_object();

	json_object_object_add(e, "name", json_object_new_string(m->name));
	json_object_object_add(e, "model", json_object_new_string(m->name));
	json_object_object_add(e, "size", json_object_new_int64(m->size));
	json_object_object_add(e, "digest", json_object_new_string(m->digest));
	json_object_object_add(e, "details", model_details(m));
	return e;
}

/* A name Ollama lists as a cloud model: the remote end of a pull of
 * "NAME:TAG-cloud" or "NAME:cloud". */
static bool cloud_named(const char *name)
{
	size_t n = strlen(name);

	return (n > 6 && strcmp(name + n - 6, "-cloud") == 0) ||
		(n > 6 && strcmp(name + n - 6, ":cloud") == 0);
}

static bool is_remote(const struct fo_model *m)
{
	return m->remote || cloud_named(m->name);
}

/* The capabilities list of m (comma-separated; static or m's), or NULL
 * for "none" (an Ollama too old to report them). */
static const char *caps_text(const struct fo_config *cfg, const struct fo_model *m)
{
	if (m->caps != NULL)
		return m->caps;
	if (cfg->capabilities != NULL)
		return strcmp(cfg->capabilities, "none") == 0 ? NULL : cfg->capabilities;
	return cfg->think != NULL ? "completion,tools,thinking" : "completion,tools";
}

/* Whether m has capability cap (a model whose list is not reported still
 * has the default ones: Ollama itself always knows). */
static bool has_cap(const struct fo_config *cfg, const struct fo_model *m, const char *cap)
{
	const char *list = caps_text(cfg, m), *p;
	size_t n = strlen(cap);

	if (list == NULL)
		list = cfg->think != NULL ? "completion,tools,thinking" : "completion,tools";
	for (p = list; (p = strstr(p, cap)) != NULL; p += n)
		if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return true;
	return false;
}

/* m's capabilities as a JSON array (NEW), or NULL for "none". */
static json_object *caps_new(const struct fo_config *cfg, const struct fo_model *m)
{
	const char *list = caps_text(cfg, m);
	json_object *arr;
	char *copy, *tok, *save = NULL;

	if (list == NULL)
		return NULL;
	arr = json_object_new_array();
	copy = xstrdup(list);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		json_object_array_add(arr, json_object_new_string(tok));
	free(copy);
	return arr;
}

/* One /api/tags entry, members in Go's order (api.ListModelResponse). */
static json_object *tags_entry(const struct fo_config *cfg, const struct fo_model *m, size_t i)
{
	json_object *e = json_object_new_object(), *d, *caps;
	struct timespec mod = { MODIFIED_AT_NEWEST - (time_t)i * 3600, 417396115 };
	bool remote = is_remote(m);
	char ts[48];

	json_object_object_add(e, "name", json_object_new_string(m->name));
	json_object_object_add(e, "model", json_object_new_string(m->name));
	if (remote) {
		size_t n = strlen(m->name);

		if (cloud_named(m->name))
			n -= 6; /* "-cloud" or ":cloud" */
		json_object_object_add(
			e, "remote_model", json_object_new_string_len(m->name, (int)n));
		json_object_object_add(e, "remote_host", json_object_new_string(CLOUD_HOST));
	}
	fo_rfc3339(ts, sizeof(ts), &mod);
	json_object_object_add(e, "modified_at", json_object_new_string(ts));
	json_object_object_add(e, "size", json_object_new_int64(remote ? CLOUD_SIZE : m->size));
	json_object_object_add(e, "digest", json_object_new_string(m->digest));
	d = model_details(m);
	if (cfg->version_num >= FO_V_TAGS_CAPS)
		json_object_object_add(d, "context_length", json_object_new_int(TRAINED_CONTEXT));
	json_object_object_add(e, "details", d);
	if (cfg->version_num >= FO_V_TAGS_CAPS && (caps = caps_new(cfg, m)) != NULL)
		json_object_object_add(e, "capabilities", caps);
	return e;
}

static void handle_root(struct fo_server *srv, struct evhttp_request *req)
{
	send_text(req, 200, "Ollama is running");
}

static void handle_version(struct fo_server *srv, struct evhttp_request *req)
{
	json_object *obj = json_object_new_object();

	json_object_object_add(obj, "version", json_object_new_string(srv->cfg->version));
	send_json(req, 200, obj);
	json_object_put(obj);
}

static void handle_tags(struct fo_server *srv, struct evhttp_request *req)
{
	json_object *obj = json_object_new_object(), *arr = json_object_new_array();

	for (size_t i = 0; i < srv->cfg->nmodels; i++)
		json_object_array_add(arr, tags_entry(srv->cfg, &srv->cfg->models[i], i));
	json_object_object_add(obj, "models", arr);
	send_json(req, 200, obj);
	json_object_put(obj);
}

static void ts_add(struct timespec *t, double s)
{
	double whole = s >= (double)FOREVER_S ? (double)FOREVER_S : s;

	t->tv_sec += (time_t)whole;
	t->tv_nsec += (long)((whole - (double)(time_t)whole) * 1e9);
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

void fo_model_use(struct fo_model *m, double keep_s)
{
	m->loaded = true;
	m->running++;
	m->keep_s = keep_s;
}

void fo_model_release(struct fo_model *m)
{
	if (--m->running > 0)
		return;
	clock_gettime(CLOCK_REALTIME, &m->expires);
	if (m->keep_s >= 0)
		ts_add(&m->expires, m->keep_s);
	if (m->keep_s == 0)
		m->loaded = false;
}

/* Whether m is loaded now (an expired model is unloaded on the way). */
static bool still_loaded(struct fo_model *m, const struct timespec *now)
{
	if (!m->loaded || m->running > 0 || m->keep_s < 0)
		return m->loaded;
	if (m->expires.tv_sec < now->tv_sec ||
		(m->expires.tv_sec == now->tv_sec && m->expires.tv_nsec <= now->tv_nsec))
		m->loaded = false;
	return m->loaded;
}

/* Ollama's PsHandler: size_vram, expires_at (now + keep_alive while it
 * runs, about 292 years ahead for keep_alive < 0). */
static void handle_ps(struct fo_server *srv, struct evhttp_request *req)
{
	json_object *obj = json_object_new_object(), *arr = json_object_new_array();
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	for (size_t i = 0; i < srv->cfg->nmodels; i++) {
		struct fo_model *m = &srv->cfg->models[i];
		struct timespec exp = m->expires;
		char ts[48];
		json_object *e;

		if (!still_loaded(m, &now))
			continue;
		if (m->running > 0 || m->keep_s < 0) {
			exp = now;
			ts_add(&exp, m->keep_s < 0 ? (double)FOREVER_S : m->keep_s);
		}
		e = model_entry(m);
		fo_rfc3339(ts, sizeof(ts), &exp);
		json_object_object_add(e, "expires_at", json_object_new_string(ts));
		json_object_object_add(e, "size_vram", json_object_new_int64(m->size));
		json_object_object_add(e, "context_length", json_object_new_int(LOADED_CONTEXT));
		json_object_array_add(arr, e);
	}
	json_object_object_add(obj, "models", arr);
	send_json(req, 200, obj);
	json_object_put(obj);
}

/* The body as one JSON object, or NULL after replying 400. */
static json_object *parse_body(struct evhttp_request *req, const char *body, size_t len)
{
	json_tokener *tok = json_tokener_new();
	json_object *obj = NULL;
	enum json_tokener_error jerr = json_tokener_error_parse_eof;
	char msg[IC_ERRBUF_MAX];

	if (len > 0) {
		obj = json_tokener_parse_ex(tok, body, (int)len);
		jerr = json_tokener_get_error(tok);
		if (jerr == json_tokener_continue)
			jerr = json_tokener_error_parse_eof;
		else if (jerr == json_tokener_success && json_tokener_get_parse_end(tok) != len)
			jerr = json_tokener_error_parse_unexpected;
	}
	json_tokener_free(tok);
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		snprintf(msg, sizeof(msg), "invalid JSON body: %s", json_tokener_error_desc(jerr));
		fo_api_error(req, 400, msg);
		return NULL;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		fo_api_error(req, 400, "invalid JSON body: expected an object");
		return NULL;
	}
	return obj;
}

static bool fault_applies(struct fo_server *srv, const struct fo_model *m)
{
	const struct fo_config *cfg = srv->cfg;

	if (cfg->fault == FO_FAULT_NONE || strcmp(cfg->fault_path, "/api/chat") != 0)
		return false;
	if (cfg->fault_model != NULL && strcmp(cfg->fault_model, m->name) != 0)
		return false;
	if (cfg->fault_request != 0 && (unsigned long)cfg->fault_request != srv->chat_requests)
		return false;
	return true;
}

static void not_found(struct evhttp_request *req, const char *name)
{
	char *msg = xasprintf("model '%s' not found", name);

	fo_api_error(req, 404, msg);
	free(msg);
}

/* Validate a parsed chat request; reply and return false if it is bad. */
static bool chat_valid(struct evhttp_request *req, json_object *body)
{
	json_object *v;

	if (!json_object_object_get_ex(body, "model", &v) ||
		!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0) {
		fo_api_error(req, 400, "model is required");
		return false;
	}
	if (json_object_object_get_ex(body, "messages", &v) &&
		!json_object_is_type(v, json_type_array) &&
		!json_object_is_type(v, json_type_null)) {
		fo_api_error(req, 400, "messages must be an array");
		return false;
	}
	if (json_object_object_get_ex(body, "stream", &v) &&
		!json_object_is_type(v, json_type_boolean) &&
		!json_object_is_type(v, json_type_null)) {
		fo_api_error(req, 400, "stream must be a boolean");
		return false;
	}
	return true;
}

/* keep_alive as Ollama's api.Duration reads it: 0 and *keep_s (seconds,
 * < 0 forever), or -1 with Go's message. */
static int keep_alive_of(json_object *body, double *keep_s, char *err, size_t errlen)
{
	json_object *v;
	double d;

	*keep_s = FO_KEEP_ALIVE_DEFAULT_S;
	if (!json_object_object_get_ex(body, "keep_alive", &v) || v == NULL)
		return 0;
	switch (json_object_get_type(v)) {
	case json_type_int:
	case json_type_double:
		d = json_object_get_double(v);
		*keep_s = d < 0 ? -1 : d;
		return 0;
	case json_type_string:
		if (ic_go_duration_parse(json_object_get_string(v), &d, err, errlen) < 0)
			return -1;
		*keep_s = d < 0 ? -1 : d;
		return 0;
	case json_type_boolean:
		snprintf(err, errlen, "Unsupported type: 'bool'");
		return -1;
	case json_type_array:
		snprintf(err, errlen, "Unsupported type: '[]interface {}'");
		return -1;
	default:
		snprintf(err, errlen, "Unsupported type: 'map[string]interface {}'");
		return -1;
	}
}

/* think as Ollama's api.ThinkValue reads it: 0, or -1 with its message.
 * *on: thinking asked for; *level: a string level, or NULL. */
static int think_of(const struct fo_config *cfg, json_object *body, bool *on, const char **level,
	char *err, size_t errlen)
{
	bool max_ok = cfg->version_num >= FO_V_THINK_MAX;
	const char *sv;
	json_object *v;

	*on = false;
	*level = NULL;
	if (!json_object_object_get_ex(body, "think", &v) || v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_boolean)) {
		*on = json_object_get_boolean(v);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen,
			max_ok ? "think must be a boolean or string (\"high\", "
				 "\"medium\", \"low\", \"max\", true, or false)"
			       : "think must be a boolean or string (\"high\", "
				 "\"medium\", \"low\")");
		return -1;
	}
	sv = json_object_get_string(v);
	if (strcmp(sv, "high") && strcmp(sv, "medium") && strcmp(sv, "low") &&
		!(max_ok && strcmp(sv, "max") == 0)) {
		snprintf(err, errlen,
			max_ok ? "invalid think value: \"%s\" (must be \"high\", \"medium\", "
				 "\"low\", \"max\", true, or false)"
			       : "invalid think value: \"%s\" (must be \"high\", \"medium\", "
				 "\"low\", true, or false)",
			sv);
		return -1;
	}
	*on = true;
	*level = sv;
	return 0;
}

/* model.ParseName(name).String(): "llama3.2" ->
 * "registry.ollama.ai/library/llama3.2:latest" (NEW). */
static char *full_name_new(const char *canon)
{
	const char *slash = strchr(canon, '/');

	if (slash == NULL)
		return xasprintf("registry.ollama.ai/library/%s", canon);
	if (strchr(slash + 1, '/') == NULL)
		return xasprintf("registry.ollama.ai/%s", canon);
	return xstrdup(canon);
}

/* Model.CheckCapabilities() for tools and thinking (0.12.3's wording):
 * a message for the 400, or NULL. NEW. */
static char *caps_missing_new(
	const struct fo_config *cfg, const struct fo_model *m, bool tools, bool think)
{
	bool no_tools = tools && !has_cap(cfg, m, "tools");
	bool no_think = think && !has_cap(cfg, m, "thinking");
	char *full, *msg;

	if (!no_tools && !no_think)
		return NULL;
	full = full_name_new(m->name);
	msg = xasprintf("%s does not support %s%s%s", full, no_tools ? "tools" : "",
		no_tools && no_think ? "\n" : "", no_think ? "thinking" : "");
	free(full);
	return msg;
}

/* The one JSON object Ollama answers a chat with no messages with
 * ("load", or "unload" for keep_alive 0), whatever "stream" says. */
static void reply_load(struct evhttp_request *req, const char *model, const char *reason)
{
	json_object *o = json_object_new_object(), *msg = json_object_new_object();
	struct timespec now;
	char ts[48];

	clock_gettime(CLOCK_REALTIME, &now);
	fo_rfc3339(ts, sizeof(ts), &now);
	json_object_object_add(o, "model", json_object_new_string(model));
	json_object_object_add(o, "created_at", json_object_new_string(ts));
	json_object_object_add(msg, "role", json_object_new_string("assistant"));
	json_object_object_add(msg, "content", json_object_new_string(""));
	json_object_object_add(o, "message", msg);
	json_object_object_add(o, "done_reason", json_object_new_string(reason));
	json_object_object_add(o, "done", json_object_new_boolean(1));
	send_json(req, 200, o);
	json_object_put(o);
}

static void reply_forbidden(struct evhttp_request *req)
{
	evhttp_send_reply(req, 403, "Forbidden", NULL);
}

static bool has_messages(json_object *body)
{
	json_object *v;

	return json_object_object_get_ex(body, "messages", &v) &&
		json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0;
}

static bool has_tools(json_object *body)
{
	json_object *v;

	return json_object_object_get_ex(body, "tools", &v) &&
		json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0;
}

/* A cloud model: 0.12.3 hands the chat to ollama.com, which wants the
 * owner signed in; we answer as an owner who is not. */
static void reply_cloud(struct evhttp_request *req)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string("unauthorized"));
	json_object_object_add(o, "signin_url",
		json_object_new_string("https://ollama.com/connect?name=fake-ollama"));
	send_json(req, 401, o);
	json_object_put(o);
}

/*
 * ChatHandler in Ollama's order: the body's types (keep_alive, think),
 * the model, an unload, a cloud model, capabilities, then scheduling (busy,
 * a failed load), a load with no messages, the think level's model.
 * Returns true when it answered.
 */
static bool chat_refused(struct fo_server *srv, struct evhttp_request *req, json_object *obj,
	struct fo_model *m, const char *name, enum fo_fault fault, double keep_s, bool think,
	const char *level)
{
	const struct fo_config *cfg = srv->cfg;
	char *msg;

	if (!has_messages(obj) && keep_s == 0) {
		if (m->running == 0)
			m->loaded = false;
		else
			m->keep_s = 0; /* unloads when the running chats end */
		reply_load(req, name, "unload");
		return true;
	}
	if (is_remote(m)) {
		reply_cloud(req);
		return true;
	}
	if (!has_cap(cfg, m, "completion")) {
		msg = xasprintf("\"%s\" does not support chat", name);
		fo_api_error(req, 400, msg);
		free(msg);
		return true;
	}
	if ((msg = caps_missing_new(cfg, m, has_tools(obj), think)) != NULL) {
		fo_api_error(req, 400, msg);
		free(msg);
		return true;
	}
	if (fault == FO_FAULT_BUSY) {
		fo_api_error(req, 503, BUSY_ERROR);
		return true;
	}
	if (fault == FO_FAULT_LOAD_FAIL) {
		fo_api_error(req, 500, LOAD_FAIL_ERROR);
		return true;
	}
	if (!has_messages(obj)) {
		fo_model_use(m, keep_s);
		fo_model_release(m);
		reply_load(req, name, "load");
		return true;
	}
	if (level != NULL && cfg->version_num < FO_V_THINK_LEVELS_ANY &&
		strncmp(m->name, "gpt-oss", 7) != 0) {
		msg = xasprintf("think value \"%s\" is not supported for this model", level);
		fo_api_error(req, 400, msg);
		free(msg);
		return true;
	}
	return false;
}

static void handle_chat(struct fo_server *srv, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *body = (const char *)evbuffer_pullup(in, -1);
	json_object *obj, *v;
	const char *name, *level;
	struct fo_model *m;
	enum fo_fault fault;
	bool stream = true, think, was_loaded;
	char err[IC_ERRBUF_MAX];
	double keep_s;
	long headers_ms = 0;
	struct timespec now;

	srv->chat_requests++;
	fo_record_request("/api/chat", body != NULL ? body : "", len);
	if ((obj = parse_body(req, body, len)) == NULL)
		return;
	if (keep_alive_of(obj, &keep_s, err, sizeof(err)) < 0 ||
		think_of(srv->cfg, obj, &think, &level, err, sizeof(err)) < 0) {
		fo_api_error(req, 400, err);
		json_object_put(obj);
		return;
	}
	if (!chat_valid(req, obj)) {
		json_object_put(obj);
		return;
	}
	json_object_object_get_ex(obj, "model", &v);
	name = json_object_get_string(v);
	if ((m = fo_model_find(srv, name)) == NULL) {
		not_found(req, name);
		json_object_put(obj);
		return;
	}
	fault = fault_applies(srv, m) ? srv->cfg->fault : FO_FAULT_NONE;
	clock_gettime(CLOCK_REALTIME, &now);
	was_loaded = still_loaded(m, &now);
	if (fault == FO_FAULT_FORBIDDEN) {
		reply_forbidden(req);
	} else if (fault == FO_FAULT_UNKNOWN_MODEL) {
		not_found(req, name);
	} else if (fault == FO_FAULT_HTTP_500) {
		fo_api_error(req, 500, "fake-ollama: injected internal server error");
	} else if (!chat_refused(srv, req, obj, m, name, fault, keep_s, think, level)) {
		if (json_object_object_get_ex(obj, "stream", &v) &&
			json_object_is_type(v, json_type_boolean))
			stream = json_object_get_boolean(v);
		if (fault == FO_FAULT_SLOW_HEADERS)
			headers_ms = srv->cfg->fault_delay_ms;
		else if (!was_loaded)
			headers_ms = srv->cfg->load_ms;
		fo_chat_start(srv, req, obj, m, stream, fault, keep_s, headers_ms);
	}
	json_object_put(obj);
}

static void delayed_free(struct fo_delayed *d)
{
	TAILQ_REMOVE(&d->srv->delayed, d, link);
	event_free(d->timer);
	free(d);
}

static void on_delayed(evutil_socket_t fd, short what, void *arg)
{
	struct fo_delayed *d = arg;

	d->handler(d->srv, d->req);
	delayed_free(d);
}

void fo_api_free_delayed(struct fo_server *srv)
{
	struct fo_delayed *d;

	while ((d = TAILQ_FIRST(&srv->delayed)) != NULL)
		delayed_free(d);
}

/* --fault-path other than /api/chat: true if the fault took the request. */
static bool path_fault(struct fo_server *srv, struct evhttp_request *req, handler_fn fn)
{
	const struct fo_config *cfg = srv->cfg;
	struct fo_delayed *d;
	struct timeval tv;

	srv->path_requests++;
	if (cfg->fault_request != 0 && (unsigned long)cfg->fault_request != srv->path_requests)
		return false;
	switch (cfg->fault) {
	case FO_FAULT_HTTP_500:
		fo_api_error(req, 500, "fake-ollama: injected internal server error");
		return true;
	case FO_FAULT_HANG:
		return true; /* never answered; freed by evhttp at exit */
	case FO_FAULT_FORBIDDEN:
		reply_forbidden(req);
		return true;
	case FO_FAULT_SLOW_HEADERS:
		d = xcalloc(1, sizeof(*d));
		d->srv = srv;
		d->req = req;
		d->handler = fn;
		d->timer = evtimer_new(srv->base, on_delayed, d);
		tv.tv_sec = cfg->fault_delay_ms / 1000;
		tv.tv_usec = cfg->fault_delay_ms % 1000 * 1000;
		evtimer_add(d->timer, &tv);
		TAILQ_INSERT_TAIL(&srv->delayed, d, link);
		return true;
	default:
		return false;
	}
}

static void handle_show(struct fo_server *srv, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *body = (const char *)evbuffer_pullup(in, -1);
	json_object *obj, *v, *reply, *caps;
	const char *name = NULL;
	struct fo_model *m;

	fo_record_request("/api/show", body != NULL ? body : "", len);
	if ((obj = parse_body(req, body, len)) == NULL)
		return;
	if ((json_object_object_get_ex(obj, "model", &v) ||
		    json_object_object_get_ex(obj, "name", &v)) &&
		json_object_is_type(v, json_type_string))
		name = json_object_get_string(v);
	if (name == NULL) {
		fo_api_error(req, 400, "model is required");
		json_object_put(obj);
		return;
	}
	if ((m = fo_model_find(srv, name)) == NULL) {
		not_found(req, name);
		json_object_put(obj);
		return;
	}
	reply = json_object_new_object();
	json_object_object_add(reply, "modelfile", json_object_new_string(""));
	json_object_object_add(reply, "template", json_object_new_string("{{ .Prompt }}"));
	json_object_object_add(reply, "details", model_details(m));
	json_object_object_add(reply, "model_info", json_object_new_object());
	if ((caps = caps_new(srv->cfg, m)) != NULL)
		json_object_object_add(reply, "capabilities", caps);
	{
		struct timespec mod = { MODIFIED_AT_NEWEST - (time_t)(m - srv->cfg->models) * 3600,
			417396115 };
		char ts[48];

		fo_rfc3339(ts, sizeof(ts), &mod);
		json_object_object_add(reply, "modified_at", json_object_new_string(ts));
	}
	send_json(req, 200, reply);
	json_object_put(reply);
	json_object_put(obj);
}

static const struct route routes[] = {
	{ "/", EVHTTP_REQ_GET | EVHTTP_REQ_HEAD, handle_root },
	{ "/api/version", EVHTTP_REQ_GET, handle_version },
	{ "/api/tags", EVHTTP_REQ_GET, handle_tags },
	{ "/api/ps", EVHTTP_REQ_GET, handle_ps },
	{ "/api/show", EVHTTP_REQ_POST, handle_show },
	{ "/api/chat", EVHTTP_REQ_POST, handle_chat },
};

void fo_api_handle(struct evhttp_request *req, void *arg)
{
	struct fo_server *srv = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type method = evhttp_request_get_command(req);

	if (path == NULL || path[0] == '\0')
		path = "/";
	if (srv->cfg->verbose)
		log_info("%s %s", method == EVHTTP_REQ_POST ? "POST" : "GET", path);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(path, routes[i].path) != 0)
			continue;
		if ((routes[i].methods & method) == 0) {
			fo_api_error(req, 405, "method not allowed");
			return;
		}
		if (strcmp(path, srv->cfg->fault_path) == 0 && routes[i].handler != handle_chat &&
			path_fault(srv, req, routes[i].handler))
			return;
		routes[i].handler(srv, req);
		return;
	}
	send_text(req, 404, "404 page not found");
}
