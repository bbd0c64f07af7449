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
#include "jsonutil.h"
#include "limits.h"
#include "log.h"
#include "xmalloc.h"

/* How long a model stays loaded after a chat, like Ollama's keep_alive. */
#define KEEP_ALIVE_S 300
#define MODIFIED_AT "2025-09-18T10:21:07.417396115Z"

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

	for (size_t i = 0; i < srv->cfg->nmodels; i++) {
		json_object *e = model_entry(&srv->cfg->models[i]);

		json_object_object_add(e, "modified_at", json_object_new_string(MODIFIED_AT));
		json_object_array_add(arr, e);
	}
	json_object_object_add(obj, "models", arr);
	send_json(req, 200, obj);
	json_object_put(obj);
}

static void handle_ps(struct fo_server *srv, struct evhttp_request *req)
{
	json_object *obj = json_object_new_object(), *arr = json_object_new_array();
	time_t now = time(NULL);

	for (size_t i = 0; i < srv->cfg->nmodels; i++) {
		struct fo_model *m = &srv->cfg->models[i];
		struct timespec exp = { m->loaded_at + KEEP_ALIVE_S, 0 };
		char ts[48];
		json_object *e;

		if (!m->loaded || exp.tv_sec <= now)
			continue;
		e = model_entry(m);
		fo_rfc3339(ts, sizeof(ts), &exp);
		json_object_object_add(e, "expires_at", json_object_new_string(ts));
		json_object_object_add(e, "size_vram", json_object_new_int64(m->size));
		json_object_object_add(e, "context_length", json_object_new_int(4096));
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
	char *msg = xasprintf("model \"%s\" not found, try pulling it first", name);

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

static void handle_chat(struct fo_server *srv, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *body = (const char *)evbuffer_pullup(in, -1);
	json_object *obj, *v;
	const char *name;
	struct fo_model *m;
	enum fo_fault fault;
	bool stream = true;

	srv->chat_requests++;
	fo_record_request("/api/chat", body != NULL ? body : "", len);
	if ((obj = parse_body(req, body, len)) == NULL)
		return;
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
	if (fault == FO_FAULT_UNKNOWN_MODEL) {
		not_found(req, name);
	} else if (fault == FO_FAULT_HTTP_500) {
		fo_api_error(req, 500, "fake-ollama: injected internal server error");
	} else {
		if (json_object_object_get_ex(obj, "stream", &v) &&
			json_object_is_type(v, json_type_boolean))
			stream = json_object_get_boolean(v);
		m->loaded = true;
		m->loaded_at = time(NULL);
		fo_chat_start(srv, req, obj, m, stream, fault);
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

/* /api/show's "capabilities", or NULL for "none" (an older Ollama). */
static json_object *capabilities_new(const struct fo_config *cfg)
{
	json_object *arr;
	char *copy, *tok, *save = NULL;

	if (cfg->capabilities == NULL) {
		arr = json_object_new_array();
		json_object_array_add(arr, json_object_new_string("completion"));
		json_object_array_add(arr, json_object_new_string("tools"));
		if (cfg->think != NULL)
			json_object_array_add(arr, json_object_new_string("thinking"));
		return arr;
	}
	if (strcmp(cfg->capabilities, "none") == 0)
		return NULL;
	arr = json_object_new_array();
	copy = xstrdup(cfg->capabilities);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		json_object_array_add(arr, json_object_new_string(tok));
	free(copy);
	return arr;
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
	if ((caps = capabilities_new(srv->cfg)) != NULL)
		json_object_object_add(reply, "capabilities", caps);
	json_object_object_add(reply, "modified_at", json_object_new_string(MODIFIED_AT));
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
