/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz harness for common/proto.c: the input is one node-link text frame.
 *
 * Properties checked on every input (abort() on violation):
 *   - a failed parse says why (err not empty); a failed parse of a
 *     "register" frame is never an acceptable registration;
 *   - what parses keeps proto.h's promises (request ids valid, counts >= 0,
 *     models named);
 *   - a registration ic_register_check() accepts has a valid node_id and
 *     1..IC_MODELS_PER_NODE_MAX models with valid names and sizes >= 0;
 *   - build -> parse round trip: the builder of the parsed type, given the
 *     parsed fields, makes a frame that parses to the same fields and gets
 *     the same verdict from ic_register_check().
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "limits.h"
#include "proto.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

static bool same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool same_models(const struct ic_msg *a, const struct ic_msg *b)
{
	size_t i;

	if (a->n_models != b->n_models)
		return false;
	for (i = 0; i < a->n_models; i++)
		if (!same_str(a->models[i].name, b->models[i].name) ||
			a->models[i].size != b->models[i].size)
			return false;
	return true;
}

static bool same_features(const struct ic_msg *a, const struct ic_msg *b)
{
	size_t i;

	if (a->n_features != b->n_features)
		return false;
	for (i = 0; i < a->n_features; i++)
		if (!same_str(a->features[i], b->features[i]))
			return false;
	return true;
}

/* Equal as wire text (json_object_equal() says a NaN differs from itself). */
static bool same_json(json_object *a, json_object *b)
{
	char *x = ic_json_to_string_new(a, NULL), *y = ic_json_to_string_new(b, NULL);
	bool same = strcmp(x, y) == 0;

	free(x);
	free(y);
	return same;
}

/* The frame the builders make from m's fields (a NEW string), or NULL. */
static char *rebuild_new(const struct ic_msg *m)
{
	switch (m->type) {
	case IC_MSG_REGISTER:
		return ic_msg_register_new(
			m->node_id, m->models, m->n_models, m->max_concurrent, m->ollama_version);
	case IC_MSG_HEARTBEAT:
		return ic_msg_heartbeat_new(m->node_id, m->active_requests, m->available);
	case IC_MSG_INFERENCE_CHUNK:
		return ic_msg_chunk_new(m->request_id, m->chunk);
	case IC_MSG_INFERENCE_ERROR:
		return ic_msg_error_new(m->request_id, m->error);
	case IC_MSG_MODELS_UPDATE:
		return ic_msg_models_update_new(m->models, m->n_models);
	case IC_MSG_REGISTERED:
		return ic_msg_registered_new(
			m->node_id, (const char *const *)m->features, m->n_features);
	case IC_MSG_INFERENCE_REQUEST:
		return ic_msg_request_new(m->request_id, m->ollama_params);
	case IC_MSG_CANCEL_REQUEST:
		return ic_msg_cancel_new(m->request_id);
	case IC_MSG_STANDING:
		return ic_msg_standing_new(m->chats);
	case IC_MSG_UNKNOWN:
		break;
	}
	return NULL;
}

/* Every field the type carries is the same in a and b. */
static bool same_fields(const struct ic_msg *a, const struct ic_msg *b)
{
	if (a->type != b->type || !same_str(a->type_name, b->type_name))
		return false;
	switch (a->type) {
	case IC_MSG_REGISTER:
		return same_str(a->node_id, b->node_id) && same_models(a, b) &&
			a->max_concurrent == b->max_concurrent &&
			same_str(a->ollama_version, b->ollama_version);
	case IC_MSG_HEARTBEAT:
		return same_str(a->node_id, b->node_id) &&
			a->active_requests == b->active_requests && a->available == b->available;
	case IC_MSG_INFERENCE_CHUNK:
		return same_str(a->request_id, b->request_id) && same_json(a->chunk, b->chunk);
	case IC_MSG_INFERENCE_ERROR:
		return same_str(a->request_id, b->request_id) && same_str(a->error, b->error);
	case IC_MSG_MODELS_UPDATE:
		return same_models(a, b);
	case IC_MSG_REGISTERED:
		return same_str(a->node_id, b->node_id) && same_features(a, b);
	case IC_MSG_INFERENCE_REQUEST:
		return same_str(a->request_id, b->request_id) &&
			same_json(a->ollama_params, b->ollama_params);
	case IC_MSG_CANCEL_REQUEST:
		return same_str(a->request_id, b->request_id);
	case IC_MSG_STANDING:
		return a->chats == b->chats;
	case IC_MSG_UNKNOWN:
		break;
	}
	return true;
}

/* What a successful parse promises, type by type. */
static void check_parsed(const struct ic_msg *m)
{
	size_t i;

	CHECK(m->type_name != NULL);
	CHECK(strcmp(ic_msg_type_name(m->type),
		      m->type == IC_MSG_UNKNOWN ? "unknown" : m->type_name) == 0);
	switch (m->type) {
	case IC_MSG_REGISTER:
	case IC_MSG_MODELS_UPDATE:
		CHECK(m->n_models == 0 || m->models != NULL);
		for (i = 0; i < m->n_models; i++)
			CHECK(m->models[i].name != NULL && m->models[i].size >= 0);
		CHECK(m->max_concurrent >= 0);
		CHECK(m->type != IC_MSG_REGISTER || m->node_id != NULL);
		break;
	case IC_MSG_HEARTBEAT:
		CHECK(m->node_id != NULL && m->active_requests >= 0);
		break;
	case IC_MSG_INFERENCE_CHUNK:
		CHECK(ic_valid_request_id(m->request_id));
		CHECK(json_object_is_type(m->chunk, json_type_object));
		break;
	case IC_MSG_INFERENCE_ERROR:
		CHECK(ic_valid_request_id(m->request_id) && m->error != NULL);
		break;
	case IC_MSG_REGISTERED:
		CHECK(m->node_id != NULL);
		for (i = 0; i < m->n_features; i++)
			CHECK(m->features[i] != NULL);
		break;
	case IC_MSG_INFERENCE_REQUEST:
		CHECK(ic_valid_request_id(m->request_id));
		CHECK(json_object_is_type(m->ollama_params, json_type_object));
		break;
	case IC_MSG_CANCEL_REQUEST:
		CHECK(ic_valid_request_id(m->request_id));
		break;
	case IC_MSG_STANDING:
		break;
	case IC_MSG_UNKNOWN:
		break;
	}
}

/* An accepted registration is what the public server would accept. */
static void check_accepted(const struct ic_msg *m)
{
	size_t i;

	CHECK(m->type == IC_MSG_REGISTER && ic_valid_node_id(m->node_id));
	CHECK(strlen(m->node_id) >= 1 && strlen(m->node_id) <= IC_NODE_ID_MAX);
	CHECK(m->n_models >= 1 && m->n_models <= IC_MODELS_PER_NODE_MAX);
	for (i = 0; i < m->n_models; i++) {
		const char *name = m->models[i].name;

		CHECK(name != NULL && ic_valid_model_name(name));
		CHECK(name[0] != '\0' && strlen(name) <= IC_MODEL_NAME_MAX);
		CHECK(m->models[i].size >= 0);
	}
	CHECK(ic_models_check(m->models, m->n_models) == NULL);
}

static void check_roundtrip(const struct ic_msg *m, const char *verdict)
{
	struct ic_msg again;
	char err[IC_ERRBUF_MAX];
	char *frame = rebuild_new(m);

	if (frame == NULL)
		return;
	CHECK(ic_msg_parse(frame, strlen(frame), &again, err, sizeof(err)) == 0);
	CHECK(same_fields(m, &again));
	CHECK(same_str(ic_register_check(&again), verdict));
	ic_msg_clear(&again);
	free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ic_msg m;
	char err[IC_ERRBUF_MAX];
	const char *verdict;
	int rc;

	if (size > IC_WS_MESSAGE_MAX + 1)
		return 0;
	rc = ic_msg_parse((const char *)data, size, &m, err, sizeof(err));
	verdict = ic_register_check(&m);
	if (rc < 0) {
		CHECK(err[0] != '\0'); /* a refusal always says why */
		if (m.type_name != NULL && strcmp(m.type_name, "register") == 0)
			CHECK(verdict != NULL);
		/* a register frame made unusable by another member */
		if (m.type_name != NULL && m.type == IC_MSG_UNKNOWN)
			CHECK(same_str(verdict, IC_CLOSE_EXPECTED_REGISTER));
	} else {
		check_parsed(&m);
	}
	if (verdict == NULL)
		check_accepted(&m);
	if (m.type == IC_MSG_MODELS_UPDATE && ic_models_check(m.models, m.n_models) == NULL)
		CHECK(m.n_models >= 1 && m.n_models <= IC_MODELS_PER_NODE_MAX);
	if (rc == 0)
		check_roundtrip(&m, verdict);
	ic_msg_clear(&m);
	/* cleared twice is harmless, and cleared means empty */
	ic_msg_clear(&m);
	CHECK(m.type_name == NULL && m.n_models == 0 && m.chunk == NULL);
	return 0;
}
