/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * proto.c - the node link's messages: parse one text frame into a struct
 * ic_msg, check a registration as the public server does, build frames.
 *
 * Parsing checks structure and types; ic_register_check() applies the
 * public server's policy.  After a failed parse the struct still says why
 * in a way ic_register_check() understands (see proto.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "limits.h"
#include "proto.h"
#include "validate.h"
#include "xmalloc.h"

static const char *const type_names[] = {
	[IC_MSG_UNKNOWN] = "unknown",
	[IC_MSG_REGISTER] = IC_TYPE_REGISTER,
	[IC_MSG_HEARTBEAT] = IC_TYPE_HEARTBEAT,
	[IC_MSG_INFERENCE_CHUNK] = IC_TYPE_INFERENCE_CHUNK,
	[IC_MSG_INFERENCE_ERROR] = IC_TYPE_INFERENCE_ERROR,
	[IC_MSG_MODELS_UPDATE] = IC_TYPE_MODELS_UPDATE,
	[IC_MSG_REGISTERED] = IC_TYPE_REGISTERED,
	[IC_MSG_INFERENCE_REQUEST] = IC_TYPE_INFERENCE_REQUEST,
	[IC_MSG_CANCEL_REQUEST] = IC_TYPE_CANCEL_REQUEST,
	[IC_MSG_STANDING] = IC_TYPE_STANDING,
};
#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))

const char *ic_msg_type_name(enum ic_msg_type type)
{
	if ((size_t)type >= N_TYPES || type_names[type] == NULL)
		return "unknown";
	return type_names[type];
}

static enum ic_msg_type type_from_name(const char *name)
{
	size_t i;

	for (i = 1; i < N_TYPES; i++)
		if (strcmp(type_names[i], name) == 0)
			return (enum ic_msg_type)i;
	return IC_MSG_UNKNOWN;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void ic_msg_clear(struct ic_msg *m)
{
	size_t i;

	if (m == NULL)
		return;
	free(m->type_name);
	free(m->node_id);
	free(m->request_id);
	for (i = 0; i < m->n_models; i++)
		free(m->models[i].name);
	free(m->models);
	free(m->ollama_version);
	for (i = 0; i < m->n_features; i++)
		free(m->features[i]);
	free(m->features);
	json_object_put(m->chunk);
	json_object_put(m->ollama_params);
	free(m->error);
	memset(m, 0, sizeof(*m));
	m->available = true;
}

/* --- member readers: 0 ok, -1 with err naming the member --- */

/* A required string member, copied into *out. */
static int get_string(json_object *o, const char *key, char **out, char *err, size_t errlen)
{
	const char *s = ic_json_get_string(o, key);

	if (s == NULL) {
		seterr(err, errlen, "%s: missing or not a string", key);
		return -1;
	}
	*out = xstrdup(s);
	return 0;
}

/* An optional string member: absent or null leaves *out NULL. */
static int get_opt_string(json_object *o, const char *key, char **out, char *err, size_t errlen)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	return get_string(o, key, out, err, errlen);
}

/* An integer member in [0, __INT_MAX__]; absent or null gives def (-1: required). */
static int get_count(json_object *o, const char *key, int def, int *out, char *err, size_t errlen)
{
	json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL) {
		if (def < 0) {
			seterr(err, errlen, "%s: missing", key);
			return -1;
		}
		*out = def;
		return 0;
	}
	if (!ic_json_get_int64(o, key, &n) || n < 0 || n > __INT_MAX__) {
		seterr(err, errlen, "%s: not an integer from 0 to %d", key, __INT_MAX__);
		return -1;
	}
	*out = (int)n;
	return 0;
}

static int get_request_id(json_object *o, struct ic_msg *m, char *err, size_t errlen)
{
	if (get_string(o, IC_M_REQUEST_ID, &m->request_id, err, errlen) < 0)
		return -1;
	if (!ic_valid_request_id(m->request_id)) {
		seterr(err, errlen, "request_id: not 1-%d characters of [A-Za-z0-9._:-]",
			IC_REQUEST_ID_MAX);
		free(m->request_id);
		m->request_id = NULL;
		return -1;
	}
	return 0;
}

/* A JSON object member, referenced into *out. */
static int get_object(json_object *o, const char *key, json_object **out, char *err, size_t errlen)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object)) {
		seterr(err, errlen, "%s: missing or not an object", key);
		return -1;
	}
	*out = json_object_get(v);
	return 0;
}

static const struct {
	const char *name;
	unsigned bit;
} cap_names[] = {
	{ "completion", IC_CAP_COMPLETION },
	{ "tools", IC_CAP_TOOLS },
	{ "thinking", IC_CAP_THINKING },
	{ "vision", IC_CAP_VISION },
	{ "insert", IC_CAP_INSERT },
	{ "embedding", IC_CAP_EMBEDDING },
};

unsigned ic_cap_of_name(const char *name)
{
	for (size_t i = 0; name && i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (strcmp(name, cap_names[i].name) == 0)
			return cap_names[i].bit;
	return 0;
}

unsigned ic_caps_of_json(json_object *arr)
{
	unsigned caps = IC_CAP_KNOWN;
	size_t n = json_object_array_length(arr);

	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);

		if (json_object_is_type(v, json_type_string))
			caps |= ic_cap_of_name(json_object_get_string(v));
	}
	return caps;
}

static json_object *caps_array_new(unsigned caps)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (caps & cap_names[i].bit)
			json_object_array_add(arr, json_object_new_string(cap_names[i].name));
	return arr;
}

/*
 * One entry of "models".  A malformed entry is kept with name NULL so that
 * ic_register_check() answers "invalid model name" for it.
 */
static int parse_model(json_object *e, size_t i, struct ic_model_info *mi, char *err, size_t errlen)
{
	const char *name = ic_json_get_string(e, IC_M_NAME);
	json_object *caps;
	int64_t size;

	mi->name = NULL;
	mi->caps = 0;
	mi->size = -1;
	if (name == NULL) {
		seterr(err, errlen, "models[%zu].name: missing or not a string", i);
		return -1;
	}
	if (!ic_json_get_int64(e, IC_M_SIZE, &size) || size < 0) {
		seterr(err, errlen, "models[%zu].size: missing or not a non-negative integer", i);
		return -1;
	}
	mi->name = xstrdup(name);
	mi->size = size;
	if (json_object_object_get_ex(e, IC_M_CAPABILITIES, &caps) &&
		json_object_is_type(caps, json_type_array))
		mi->caps = ic_caps_of_json(caps);
	return 0;
}

/* "models": array of {name, size}.  Missing or not an array: n_models 0. */
static int parse_models(json_object *o, struct ic_msg *m, char *err, size_t errlen)
{
	json_object *arr;
	size_t i, n;
	int rc = 0;

	if (!json_object_object_get_ex(o, IC_M_MODELS, &arr) ||
		!json_object_is_type(arr, json_type_array)) {
		seterr(err, errlen, "models: missing or not an array");
		return -1;
	}
	n = json_object_array_length(arr);
	if (n == 0)
		return 0;
	m->models = xcalloc(n, sizeof(*m->models));
	m->n_models = n;
	for (i = 0; i < n; i++) {
		/* keep the first error's text */
		if (parse_model(json_object_array_get_idx(arr, i), i, &m->models[i],
			    rc < 0 ? NULL : err, errlen) < 0)
			rc = -1;
	}
	return rc;
}

/* registered.features: optional array of strings (our extension). */
static int parse_features(json_object *o, struct ic_msg *m, char *err, size_t errlen)
{
	json_object *arr;
	size_t i, n;

	if (!json_object_object_get_ex(o, IC_M_FEATURES, &arr) || arr == NULL)
		return 0;
	if (!json_object_is_type(arr, json_type_array)) {
		seterr(err, errlen, "features: not an array");
		return -1;
	}
	n = json_object_array_length(arr);
	if (n == 0)
		return 0;
	m->features = xcalloc(n, sizeof(*m->features));
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(v, json_type_string)) {
			seterr(err, errlen, "features[%zu]: not a string", i);
			return -1;
		}
		m->features[i] = xstrdup(json_object_get_string(v));
		m->n_features = i + 1;
	}
	return 0;
}

/*
 * register: every member is read even after an error, so that the struct
 * shows all that was wrong.  If only max_concurrent or ollama_version is
 * bad, the type becomes UNKNOWN: ic_register_check() then refuses the frame
 * as "expected register message" (it is not a usable one).
 */
static int parse_register(json_object *o, struct ic_msg *m, char *err, size_t errlen)
{
	int rc_id, rc_models, rc_rest = 0;

	rc_id = get_string(o, IC_M_NODE_ID, &m->node_id, err, errlen);
	rc_models = parse_models(o, m, rc_id < 0 ? NULL : err, errlen);
	if (rc_id == 0 && rc_models == 0) {
		if (get_count(o, IC_M_MAX_CONCURRENT, 0, &m->max_concurrent, err, errlen) < 0 ||
			get_opt_string(o, IC_M_OLLAMA_VERSION, &m->ollama_version, err, errlen) < 0)
			rc_rest = -1;
	}
	if (rc_rest < 0)
		m->type = IC_MSG_UNKNOWN;
	return rc_id < 0 || rc_models < 0 || rc_rest < 0 ? -1 : 0;
}

static int parse_heartbeat(json_object *o, struct ic_msg *m, char *err, size_t errlen)
{
	json_object *v;

	if (get_string(o, IC_M_NODE_ID, &m->node_id, err, errlen) < 0 ||
		get_count(o, IC_M_ACTIVE_REQUESTS, -1, &m->active_requests, err, errlen) < 0)
		return -1;
	m->available = true;
	if (json_object_object_get_ex(o, IC_M_AVAILABLE, &v) && v != NULL &&
		!ic_json_get_bool(o, IC_M_AVAILABLE, &m->available)) {
		seterr(err, errlen, "available: not a boolean");
		return -1;
	}
	return 0;
}

static int parse_members(json_object *o, struct ic_msg *m, char *err, size_t errlen)
{
	switch (m->type) {
	case IC_MSG_REGISTER:
		return parse_register(o, m, err, errlen);
	case IC_MSG_HEARTBEAT:
		return parse_heartbeat(o, m, err, errlen);
	case IC_MSG_INFERENCE_CHUNK:
		if (get_request_id(o, m, err, errlen) < 0)
			return -1;
		return get_object(o, IC_M_CHUNK, &m->chunk, err, errlen);
	case IC_MSG_INFERENCE_ERROR:
		if (get_request_id(o, m, err, errlen) < 0)
			return -1;
		return get_string(o, IC_M_ERROR, &m->error, err, errlen);
	case IC_MSG_MODELS_UPDATE:
		return parse_models(o, m, err, errlen);
	case IC_MSG_REGISTERED:
		if (get_string(o, IC_M_NODE_ID, &m->node_id, err, errlen) < 0)
			return -1;
		return parse_features(o, m, err, errlen);
	case IC_MSG_INFERENCE_REQUEST:
		if (get_request_id(o, m, err, errlen) < 0)
			return -1;
		return get_object(o, IC_M_OLLAMA_PARAMS, &m->ollama_params, err, errlen);
	case IC_MSG_CANCEL_REQUEST:
		return get_request_id(o, m, err, errlen);
	case IC_MSG_STANDING:
		if (!ic_json_get_bool(o, IC_M_CHATS, &m->chats)) {
			seterr(err, errlen, "chats: missing or not a boolean");
			return -1;
		}
		return 0;
	case IC_MSG_UNKNOWN:
		break;
	}
	return 0;
}

int ic_msg_parse(const char *text, size_t len, struct ic_msg *out, char *err, size_t errlen)
{
	json_object *o;
	const char *type;
	int rc;

	memset(out, 0, sizeof(*out));
	out->available = true;
	seterr(err, errlen, "%s", "");
	if (len > IC_WS_MESSAGE_MAX) {
		seterr(err, errlen, "frame larger than %d bytes", IC_WS_MESSAGE_MAX);
		return -1;
	}
	o = ic_json_parse_new(text, len);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		seterr(err, errlen, "not a JSON object");
		json_object_put(o);
		return -1;
	}
	type = ic_json_get_string(o, IC_M_TYPE);
	if (type == NULL) {
		seterr(err, errlen, "type: missing or not a string");
		json_object_put(o);
		return -1;
	}
	out->type_name = xstrdup(type);
	out->type = type_from_name(type);
	rc = parse_members(o, out, err, errlen);
	json_object_put(o);
	return rc;
}

/* --- policy --- */

static bool valid_model(const struct ic_model_info *mi)
{
	return mi->name != NULL && mi->size >= 0 && ic_valid_model_name(mi->name);
}

const char *ic_models_check(const struct ic_model_info *models, size_t n_models)
{
	size_t i;

	if (models == NULL || n_models == 0)
		return IC_CLOSE_NO_MODELS;
	if (n_models > IC_MODELS_PER_NODE_MAX)
		return IC_CLOSE_TOO_MANY_MODELS;
	for (i = 0; i < n_models; i++)
		if (!valid_model(&models[i]))
			return IC_CLOSE_INVALID_MODEL;
	return NULL;
}

const char *ic_register_check(const struct ic_msg *msg)
{
	if (msg == NULL || msg->type != IC_MSG_REGISTER)
		return IC_CLOSE_EXPECTED_REGISTER;
	if (msg->node_id == NULL || !ic_valid_node_id(msg->node_id))
		return IC_CLOSE_INVALID_NODE_ID;
	return ic_models_check(msg->models, msg->n_models);
}

/* --- builders --- */

static json_object *envelope_new(enum ic_msg_type type)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, IC_M_TYPE, json_object_new_string(ic_msg_type_name(type)));
	return o;
}

static void add_string(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, json_object_new_string(value != NULL ? value : ""));
}

static char *finish_new(json_object *o)
{
	char *s = ic_json_to_string_new(o, NULL);

	json_object_put(o);
	return s;
}

static json_object *models_array_new(const struct ic_model_info *models, size_t n)
{
	json_object *arr = json_object_new_array_ext((int)n);
	size_t i;

	for (i = 0; i < n; i++) {
		json_object *e = json_object_new_object();

		add_string(e, IC_M_NAME, models[i].name);
		/* the public server requires size: always send it */
		json_object_object_add(e, IC_M_SIZE,
			json_object_new_int64(models[i].size > 0 ? models[i].size : 0));
		if (models[i].caps & IC_CAP_KNOWN)
			json_object_object_add(
				e, IC_M_CAPABILITIES, caps_array_new(models[i].caps));
		json_object_array_add(arr, e);
	}
	return arr;
}

char *ic_msg_register_new(const char *node_id, const struct ic_model_info *models, size_t n_models,
	int max_concurrent, const char *ollama_version)
{
	json_object *o = envelope_new(IC_MSG_REGISTER);

	add_string(o, IC_M_NODE_ID, node_id);
	json_object_object_add(o, IC_M_MODELS, models_array_new(models, n_models));
	json_object_object_add(o, IC_M_MAX_CONCURRENT, json_object_new_int(max_concurrent));
	if (ollama_version != NULL)
		add_string(o, IC_M_OLLAMA_VERSION, ollama_version);
	return finish_new(o);
}

char *ic_msg_registered_new(const char *node_id, const char *const *features, size_t n_features)
{
	json_object *o = envelope_new(IC_MSG_REGISTERED);
	size_t i;

	add_string(o, IC_M_NODE_ID, node_id);
	if (features != NULL) {
		json_object *arr = json_object_new_array_ext((int)n_features);

		for (i = 0; i < n_features; i++)
			json_object_array_add(arr, json_object_new_string(features[i]));
		json_object_object_add(o, IC_M_FEATURES, arr);
	}
	return finish_new(o);
}

char *ic_msg_heartbeat_new(const char *node_id, int active_requests, bool available)
{
	json_object *o = envelope_new(IC_MSG_HEARTBEAT);

	add_string(o, IC_M_NODE_ID, node_id);
	json_object_object_add(o, IC_M_ACTIVE_REQUESTS, json_object_new_int(active_requests));
	json_object_object_add(o, IC_M_AVAILABLE, json_object_new_boolean(available));
	return finish_new(o);
}

/* type, request_id and one more member; the caller keeps its reference to v */
static char *with_request_new(
	enum ic_msg_type type, const char *request_id, const char *key, json_object *v)
{
	json_object *o = envelope_new(type);

	add_string(o, IC_M_REQUEST_ID, request_id);
	if (key != NULL)
		json_object_object_add(o, key, v);
	return finish_new(o);
}

char *ic_msg_chunk_new(const char *request_id, json_object *chunk)
{
	json_object *c = chunk != NULL ? json_object_get(chunk) : json_object_new_object();

	return with_request_new(IC_MSG_INFERENCE_CHUNK, request_id, IC_M_CHUNK, c);
}

char *ic_msg_error_new(const char *request_id, const char *error)
{
	return with_request_new(IC_MSG_INFERENCE_ERROR, request_id, IC_M_ERROR,
		json_object_new_string(error != NULL ? error : ""));
}

char *ic_msg_request_new(const char *request_id, json_object *ollama_params)
{
	json_object *p =
		ollama_params != NULL ? json_object_get(ollama_params) : json_object_new_object();

	return with_request_new(IC_MSG_INFERENCE_REQUEST, request_id, IC_M_OLLAMA_PARAMS, p);
}

char *ic_msg_cancel_new(const char *request_id)
{
	return with_request_new(IC_MSG_CANCEL_REQUEST, request_id, NULL, NULL);
}

char *ic_msg_standing_new(bool chats)
{
	json_object *o = envelope_new(IC_MSG_STANDING);

	json_object_object_add(o, IC_M_CHATS, json_object_new_boolean(chats));
	return finish_new(o);
}

char *ic_msg_models_update_new(const struct ic_model_info *models, size_t n_models)
{
	json_object *o = envelope_new(IC_MSG_MODELS_UPDATE);

	json_object_object_add(o, IC_M_MODELS, models_array_new(models, n_models));
	return finish_new(o);
}
