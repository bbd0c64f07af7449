/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for common/proto.c: the node-link messages of protocol.md. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "limits.h"
#include "proto.h"

/* Frames copied verbatim from protocol.md (placeholders included). */
static const char REGISTER_DOC[] =
	"{\"type\":\"register\",\"node_id\":\"<id, 1-64 "
	"chars>\",\"models\":[{\"name\":\"llama3.2:3b\",\"size\":2019393189}],\"max_concurrent\":2,"
	"\"ollama_version\":\"0.6.2\"}";
static const char REGISTERED_DOC[] = "{\"type\":\"registered\",\"node_id\":\"<same id>\"}";
static const char HEARTBEAT_DOC[] =
	"{\"type\":\"heartbeat\",\"node_id\":\"<id>\",\"active_requests\":0,\"available\":true}";
static const char CHUNK_DOC[] =
	"{\"type\":\"inference_chunk\",\"request_id\":\"<rid>\",\"chunk\":{\"message\":{\"role\":"
	"\"assistant\",\"content\":\"Hel\"},\"done\":false}}";
static const char TOOL_CALLS_DOC[] =
	"[{\"function\":{\"name\":\"web_search\",\"arguments\":{\"query\":\"x\"}}}]";
static const char ERROR_DOC[] =
	"{\"type\":\"inference_error\",\"request_id\":\"<rid>\",\"error\":\"invalid_request\"}";
static const char REQUEST_DOC[] =
	"{\"type\":\"inference_request\",\"request_id\":\"<rid>\",\"ollama_params\":{\"model\":"
	"\"llama3.2:3b\",\"messages\":[{\"role\":\"system\",\"content\":\"...\"},{\"role\":"
	"\"user\",\"content\":\"hi\"}],\"stream\":true,\"keep_alive\":-1,\"think\":false,\"tools\":"
	"[...]}}";
static const char CANCEL_DOC[] = "{\"type\":\"cancel_request\",\"request_id\":\"<rid>\"}";

/* The doc frame with its placeholders replaced by real values (NEW string). */
static char *concrete_new(const char *doc)
{
	static const char *const from[] = {
		"<id, 1-64 chars>",
		"<same id>",
		"<id>",
		"<rid>",
		"[...]",
		NULL,
	};
	static const char *const to[] = {
		"node-a1",
		"node-a1",
		"node-a1",
		"req-42",
		"[]",
		NULL,
	};
	char *s = strdup(doc);
	size_t i;

	for (i = 0; from[i] != NULL; i++) {
		char *p = strstr(s, from[i]);

		if (p != NULL) {
			size_t head = (size_t)(p - s);
			char *n = malloc(strlen(s) + strlen(to[i]) + 1);

			memcpy(n, s, head);
			strcpy(n + head, to[i]);
			strcat(n, p + strlen(from[i]));
			free(s);
			s = n;
		}
	}
	return s;
}

static int parse(const char *text, struct ic_msg *m, char *err)
{
	return ic_msg_parse(text, strlen(text), m, err, IC_ERRBUF_MAX);
}

START_TEST(test_doc_register)
{
	struct ic_msg m;
	char err[IC_ERRBUF_MAX];
	char *s;

	/* verbatim: well-formed, but the placeholder id has spaces */
	ck_assert_int_eq(parse(REGISTER_DOC, &m, err), 0);
	ck_assert_int_eq(m.type, IC_MSG_REGISTER);
	ck_assert_str_eq(m.node_id, "<id, 1-64 chars>");
	ck_assert_str_eq(ic_register_check(&m), IC_CLOSE_INVALID_NODE_ID);
	ic_msg_clear(&m);

	s = concrete_new(REGISTER_DOC);
	ck_assert_int_eq(parse(s, &m, err), 0);
	ck_assert_int_eq(m.type, IC_MSG_REGISTER);
	ck_assert_str_eq(m.type_name, "register");
	ck_assert_str_eq(m.node_id, "node-a1");
	ck_assert_uint_eq(m.n_models, 1);
	ck_assert_str_eq(m.models[0].name, "llama3.2:3b");
	ck_assert_int_eq(m.models[0].size, 2019393189LL);
	ck_assert_int_eq(m.max_concurrent, 2);
	ck_assert_str_eq(m.ollama_version, "0.6.2");
	ck_assert_ptr_null(ic_register_check(&m));
	ic_msg_clear(&m);
	free(s);
}
END_TEST

START_TEST(test_doc_registered_heartbeat)
{
	struct ic_msg m;
	char err[IC_ERRBUF_MAX];

	ck_assert_int_eq(parse(REGISTERED_DOC, &m, err), 0);
	ck_assert_int_eq(m.type, IC_MSG_REGISTERED);
	ck_assert_str_eq(m.node_id, "<same id>");
	ck_assert_uint_eq(m.n_features, 0);
	ck_assert_str_eq(ic_register_check(&m), IC_CLOSE_EXPECTED_REGISTER);
	ic_msg_clear(&m);

	ck_assert_int_eq(parse(HEARTBEAT_DOC, &m, err), 0);
	ck_assert_int_eq(m.type, IC_MSG_HEARTBEAT);
	ck_assert_str_eq(m.node_id, "<id>");
	ck_assert_int_eq(m.active_requests, 0);
	ck_assert(m.available);
	ic_msg_clear(&m);

	/* the public agent may leave out available: it means true */
	ck_assert_int_eq(
		parse("{\"type\":\"heartbeat\",\"node_id\":\"n\",\"active_requests\":3}", &m, err),
		0);
	ck_assert_int_eq(m.active_requests, 3);
	ck_assert(m.available);
	ic_msg_clear(&m);
	ck_assert_int_eq(parse("{\"type\":\"heartbeat\",\"node_id\":\"n\",\"active_requests\":1,"
			       "\"available\":false}",
				 &m, err),
		0);
	ck_assert(!m.available);
	ic_msg_clear(&m);
}
END_TEST

START_TEST(test_doc_request_frames)
{
	struct ic_msg m;
	char err[IC_ERRBUF_MAX];
	const char *docs[] = { CHUNK_DOC, ERROR_DOC, CANCEL_DOC };
	size_t i;
	char *s;

	/* verbatim: "<rid>" is not a valid request id */
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(parse(docs[i], &m, err), -1);
		ck_assert_ptr_nonnull(strstr(err, "request_id"));
		ic_msg_clear(&m);
	}
	/* verbatim: "tools":[...] is not JSON */
	ck_assert_int_eq(parse(REQUEST_DOC, &m, err), -1);
	ck_assert_str_eq(err, "not a JSON object");
	ic_msg_clear(&m);

	s = concrete_new(CHUNK_DOC);
	ck_assert_int_eq(parse(s, &m, err), 0);
	ck_assert_int_eq(m.type, IC_MSG_INFERENCE_CHUNK);
	ck_assert_str_eq(m.request_id, "req-42");
	ck_assert_str_eq(
		ic_json_get_string(json_object_object_get(m.chunk, "message"), "content"), "Hel");
	ic_msg_clear(&m);
	free(s);

	s = concrete_new(ERROR_DOC);
	ck_assert_int_eq(parse(s, &m, err), 0);
	ck_assert_int_eq(m.type, IC_MSG_INFERENCE_ERROR);
	ck_assert_str_eq(m.error, IC_ERR_INVALID_REQUEST);
	ic_msg_clear(&m);
	free(s);

	s = concrete_new(REQUEST_DOC);
	ck_assert_int_eq(parse(s, &m, err), 0);
	ck_assert_int_eq(m.type, IC_MSG_INFERENCE_REQUEST);
	ck_assert_str_eq(m.request_id, "req-42");
	ck_assert_str_eq(ic_json_get_string(m.ollama_params, "model"), "llama3.2:3b");
	ic_msg_clear(&m);
	free(s);

	s = concrete_new(CANCEL_DOC);
	ck_assert_int_eq(parse(s, &m, err), 0);
	ck_assert_int_eq(m.type, IC_MSG_CANCEL_REQUEST);
	ck_assert_str_eq(m.request_id, "req-42");
	ic_msg_clear(&m);
	free(s);
}
END_TEST

START_TEST(test_chunk_tool_calls_roundtrip)
{
	json_object *chunk = json_object_new_object();
	json_object *msg = json_object_new_object();
	struct ic_msg m;
	char err[IC_ERRBUF_MAX];
	char *frame, *again;

	json_object_object_add(msg, "role", json_object_new_string("assistant"));
	json_object_object_add(msg, "content", json_object_new_string(""));
	json_object_object_add(
		msg, "tool_calls", ic_json_parse_new(TOOL_CALLS_DOC, strlen(TOOL_CALLS_DOC)));
	json_object_object_add(chunk, "message", msg);
	json_object_object_add(chunk, "done", json_object_new_boolean(1));
	json_object_object_add(chunk, "done_reason", json_object_new_string("stop"));

	frame = ic_msg_chunk_new("probe-1", chunk);
	ck_assert_int_eq(parse(frame, &m, err), 0);
	ck_assert_int_eq(m.type, IC_MSG_INFERENCE_CHUNK);
	ck_assert_str_eq(m.request_id, "probe-1");
	again = ic_msg_chunk_new(m.request_id, m.chunk);
	ck_assert_str_eq(again, frame);
	ck_assert_ptr_nonnull(strstr(frame, TOOL_CALLS_DOC));
	/* the caller's reference survives */
	ck_assert(json_object_is_type(chunk, json_type_object));
	free(again);
	free(frame);
	ic_msg_clear(&m);
	json_object_put(chunk);
}
END_TEST

START_TEST(test_register_roundtrip)
{
	char n1[] = "llama3.2:3b", n2[] = "hf.co/user/model:Q4_K_M";
	struct ic_model_info models[] = { { n1, 2019393189LL, 0 }, { n2, 0, 0 } };
	struct ic_msg m;
	char err[IC_ERRBUF_MAX];
	char *s = ic_msg_register_new("node-1", models, 2, 4, "0.6.2");

	ck_assert_str_eq(s,
		"{\"type\":\"register\",\"node_id\":\"node-1\",\"models\":["
		"{\"name\":\"llama3.2:3b\",\"size\":2019393189},"
		"{\"name\":\"hf.co/user/model:Q4_K_M\",\"size\":0}],"
		"\"max_concurrent\":4,\"ollama_version\":\"0.6.2\"}");
	ck_assert_int_eq(parse(s, &m, err), 0);
	ck_assert_uint_eq(m.n_models, 2);
	ck_assert_str_eq(m.models[1].name, "hf.co/user/model:Q4_K_M");
	ck_assert_int_eq(m.models[1].size, 0);
	ck_assert_int_eq(m.max_concurrent, 4);
	ck_assert_ptr_null(ic_register_check(&m));
	ic_msg_clear(&m);
	free(s);

	/* no version: member left out; absent max_concurrent parses as 0 */
	s = ic_msg_register_new("node-1", models, 1, 1, NULL);
	ck_assert_ptr_null(strstr(s, "ollama_version"));
	free(s);
	ck_assert_int_eq(parse("{\"type\":\"register\",\"node_id\":\"n\",\"models\":[{\"name\":"
			       "\"m\",\"size\":1}],\"ollama_version\":null}",
				 &m, err),
		0);
	ck_assert_int_eq(m.max_concurrent, 0);
	ck_assert_ptr_null(m.ollama_version);
	ck_assert_ptr_null(ic_register_check(&m));
	ic_msg_clear(&m);
}
END_TEST

START_TEST(test_other_roundtrips)
{
	static const char *const feats[] = { IC_FEATURE_AVAILABLE, IC_FEATURE_MODELS_UPDATE };
	char n1[] = "qwen3:8b";
	struct ic_model_info models[] = { { n1, 5000, 0 } };
	struct ic_msg m;
	char err[IC_ERRBUF_MAX];
	static const char params_text[] = "{\"model\":\"a/b\",\"stream\":true}";
	json_object *params = ic_json_parse_new(params_text, strlen(params_text));
	char *s;

	s = ic_msg_registered_new("node-1", feats, 2);
	ck_assert_str_eq(s,
		"{\"type\":\"registered\",\"node_id\":\"node-1\","
		"\"features\":[\"available\",\"models_update\"]}");
	ck_assert_int_eq(parse(s, &m, err), 0);
	ck_assert_uint_eq(m.n_features, 2);
	ck_assert_str_eq(m.features[1], IC_FEATURE_MODELS_UPDATE);
	ic_msg_clear(&m);
	free(s);
	s = ic_msg_registered_new("node-1", NULL, 0);
	ck_assert_str_eq(s, "{\"type\":\"registered\",\"node_id\":\"node-1\"}");
	free(s);

	s = ic_msg_heartbeat_new("node-1", 2, false);
	ck_assert_str_eq(s,
		"{\"type\":\"heartbeat\",\"node_id\":\"node-1\","
		"\"active_requests\":2,\"available\":false}");
	ck_assert_int_eq(parse(s, &m, err), 0);
	ck_assert_int_eq(m.active_requests, 2);
	ck_assert(!m.available);
	ic_msg_clear(&m);
	free(s);

	s = ic_msg_error_new("r1", IC_ERR_OLLAMA_UNAVAILABLE);
	ck_assert_str_eq(s,
		"{\"type\":\"inference_error\",\"request_id\":\"r1\","
		"\"error\":\"ollama_unavailable\"}");
	ck_assert_int_eq(parse(s, &m, err), 0);
	ck_assert_str_eq(m.error, IC_ERR_OLLAMA_UNAVAILABLE);
	ic_msg_clear(&m);
	free(s);

	ck_assert_ptr_nonnull(params);
	s = ic_msg_request_new("r2", params);
	/* "/" is not escaped on the wire */
	ck_assert_str_eq(s,
		"{\"type\":\"inference_request\",\"request_id\":\"r2\","
		"\"ollama_params\":{\"model\":\"a/b\",\"stream\":true}}");
	ck_assert_int_eq(parse(s, &m, err), 0);
	ck_assert_str_eq(ic_json_get_string(m.ollama_params, "model"), "a/b");
	ic_msg_clear(&m);
	free(s);
	json_object_put(params);

	s = ic_msg_cancel_new("r3");
	ck_assert_str_eq(s, "{\"type\":\"cancel_request\",\"request_id\":\"r3\"}");
	ck_assert_int_eq(parse(s, &m, err), 0);
	ck_assert_int_eq(m.type, IC_MSG_CANCEL_REQUEST);
	ic_msg_clear(&m);
	free(s);

	s = ic_msg_models_update_new(models, 1);
	ck_assert_str_eq(s,
		"{\"type\":\"models_update\",\"models\":"
		"[{\"name\":\"qwen3:8b\",\"size\":5000}]}");
	ck_assert_int_eq(parse(s, &m, err), 0);
	ck_assert_int_eq(m.type, IC_MSG_MODELS_UPDATE);
	ck_assert_uint_eq(m.n_models, 1);
	ck_assert_int_eq(m.models[0].size, 5000);
	ck_assert_ptr_null(ic_models_check(m.models, m.n_models));
	ic_msg_clear(&m);
	free(s);
}
END_TEST

START_TEST(test_type_names)
{
	enum ic_msg_type t;
	char frame[128];
	struct ic_msg m;
	char err[IC_ERRBUF_MAX];

	ck_assert_str_eq(ic_msg_type_name(IC_MSG_UNKNOWN), "unknown");
	ck_assert_str_eq(ic_msg_type_name((enum ic_msg_type)999), "unknown");
	/* every known name maps back to its type */
	for (t = IC_MSG_REGISTER; t <= IC_MSG_CANCEL_REQUEST; t++) {
		snprintf(frame, sizeof(frame), "{\"type\":\"%s\"}", ic_msg_type_name(t));
		ic_msg_parse(frame, strlen(frame), &m, err, sizeof(err));
		/* register without members becomes UNKNOWN only for other members */
		ck_assert_str_eq(m.type_name, ic_msg_type_name(t));
		ck_assert_int_eq(m.type, t);
		ic_msg_clear(&m);
	}
}
END_TEST

START_TEST(test_unknown_type)
{
	struct ic_msg m;
	char err[IC_ERRBUF_MAX];

	ck_assert_int_eq(parse("{\"type\":\"telemetry\",\"x\":[1,2]}", &m, err), 0);
	ck_assert_int_eq(m.type, IC_MSG_UNKNOWN);
	ck_assert_str_eq(m.type_name, "telemetry");
	ck_assert_str_eq(ic_register_check(&m), IC_CLOSE_EXPECTED_REGISTER);
	ic_msg_clear(&m);
}
END_TEST

START_TEST(test_negative)
{
	static const struct {
		const char *frame;
		const char *err_has;
	} cases[] = {
		{ "not json", "JSON" },
		{ "[1,2]", "JSON object" },
		{ "\"register\"", "JSON object" },
		{ "{\"type\":\"heartbeat\"} x", "JSON" },
		{ "{}", "type" },
		{ "{\"node_id\":\"n\"}", "type" },
		{ "{\"type\":5}", "type" },
		{ "{\"type\":null}", "type" },
		{ "{\"type\":\"cancel_request\"}", "request_id" },
		{ "{\"type\":\"cancel_request\",\"request_id\":7}", "request_id" },
		{ "{\"type\":\"cancel_request\",\"request_id\":\"\"}", "request_id" },
		{ "{\"type\":\"cancel_request\",\"request_id\":\"a b\"}", "request_id" },
		{ "{\"type\":\"inference_chunk\",\"chunk\":{}}", "request_id" },
		{ "{\"type\":\"inference_chunk\",\"request_id\":\"r\"}", "chunk" },
		{ "{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":\"x\"}", "chunk" },
		{ "{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":[]}", "chunk" },
		{ "{\"type\":\"inference_error\",\"request_id\":\"r\"}", "error" },
		{ "{\"type\":\"inference_error\",\"request_id\":\"r\",\"error\":1}", "error" },
		{ "{\"type\":\"inference_request\",\"request_id\":\"r\"}", "ollama_params" },
		{ "{\"type\":\"inference_request\",\"request_id\":\"r\",\"ollama_params\":null}",
			"ollama_params" },
		{ "{\"type\":\"heartbeat\",\"node_id\":\"n\"}", "active_requests" },
		{ "{\"type\":\"heartbeat\",\"node_id\":\"n\",\"active_requests\":\"0\"}",
			"active_requests" },
		{ "{\"type\":\"heartbeat\",\"node_id\":\"n\",\"active_requests\":-1}",
			"active_requests" },
		{ "{\"type\":\"heartbeat\",\"node_id\":\"n\",\"active_requests\":1.5}",
			"active_requests" },
		{ "{\"type\":\"heartbeat\",\"node_id\":\"n\",\"active_requests\":0,"
		  "\"available\":\"yes\"}",
			"available" },
		{ "{\"type\":\"heartbeat\",\"active_requests\":0}", "node_id" },
		{ "{\"type\":\"registered\"}", "node_id" },
		{ "{\"type\":\"registered\",\"node_id\":\"n\",\"features\":\"x\"}", "features" },
		{ "{\"type\":\"registered\",\"node_id\":\"n\",\"features\":[1]}", "features[0]" },
		{ "{\"type\":\"models_update\"}", "models" },
		{ "{\"type\":\"models_update\",\"models\":[{\"name\":\"m\"}]}", "models[0].size" },
		{ "{\"type\":\"register\",\"node_id\":\"n\",\"models\":[{\"name\":\"m\","
		  "\"size\":1}],\"max_concurrent\":\"2\"}",
			"max_concurrent" },
		{ "{\"type\":\"register\",\"node_id\":\"n\",\"models\":[{\"name\":\"m\","
		  "\"size\":1}],\"ollama_version\":6}",
			"ollama_version" },
		{ NULL, NULL },
	};
	size_t i;

	for (i = 0; cases[i].frame != NULL; i++) {
		struct ic_msg m;
		char err[IC_ERRBUF_MAX];
		int rc = parse(cases[i].frame, &m, err);

		if (rc != -1 || strstr(err, cases[i].err_has) == NULL)
			ck_abort_msg("case %zu (%s): rc %d err \"%s\"", i, cases[i].frame, rc, err);
		/* whatever failed, a failed frame is never an acceptable register */
		ck_assert_ptr_nonnull(ic_register_check(&m));
		ic_msg_clear(&m);
	}
	/* err may be NULL */
	{
		struct ic_msg m;

		ck_assert_int_eq(ic_msg_parse("{}", 2, &m, NULL, 0), -1);
		ic_msg_clear(&m);
		ic_msg_clear(NULL);
	}
}
END_TEST

/* Check the close reason ic_register_check() gives a register frame. */
static void expect_reason(const char *frame, const char *reason)
{
	struct ic_msg m;
	char err[IC_ERRBUF_MAX];
	const char *got;

	ic_msg_parse(frame, strlen(frame), &m, err, sizeof(err));
	got = ic_register_check(&m);
	if (reason == NULL && got != NULL)
		ck_abort_msg("%s: refused with \"%s\"", frame, got);
	if (reason != NULL && (got == NULL || strcmp(got, reason) != 0))
		ck_abort_msg(
			"%s: got \"%s\", want \"%s\"", frame, got ? got : "(accepted)", reason);
	ic_msg_clear(&m);
}

#define MODELS_OK "\"models\":[{\"name\":\"llama3.2:3b\",\"size\":1}]"

START_TEST(test_register_close_reasons)
{
	expect_reason("{\"type\":\"register\",\"node_id\":\"n\"," MODELS_OK "}", NULL);
	expect_reason("not json", IC_CLOSE_EXPECTED_REGISTER);
	expect_reason("{\"node_id\":\"n\"," MODELS_OK "}", IC_CLOSE_EXPECTED_REGISTER);
	expect_reason("{\"type\":\"heartbeat\",\"node_id\":\"n\",\"active_requests\":0}",
		IC_CLOSE_EXPECTED_REGISTER);
	expect_reason("{\"type\":\"Register\",\"node_id\":\"n\"," MODELS_OK "}",
		IC_CLOSE_EXPECTED_REGISTER);
	/* node_id */
	expect_reason("{\"type\":\"register\"," MODELS_OK "}", IC_CLOSE_INVALID_NODE_ID);
	expect_reason(
		"{\"type\":\"register\",\"node_id\":\"\"," MODELS_OK "}", IC_CLOSE_INVALID_NODE_ID);
	expect_reason(
		"{\"type\":\"register\",\"node_id\":42," MODELS_OK "}", IC_CLOSE_INVALID_NODE_ID);
	expect_reason(
		"{\"type\":\"register\",\"node_id\":null," MODELS_OK "}", IC_CLOSE_INVALID_NODE_ID);
	/* node_id is checked before models, as the public server does */
	expect_reason("{\"type\":\"register\",\"node_id\":\"\"}", IC_CLOSE_INVALID_NODE_ID);
	/* models */
	expect_reason("{\"type\":\"register\",\"node_id\":\"n\"}", IC_CLOSE_NO_MODELS);
	expect_reason(
		"{\"type\":\"register\",\"node_id\":\"n\",\"models\":[]}", IC_CLOSE_NO_MODELS);
	expect_reason(
		"{\"type\":\"register\",\"node_id\":\"n\",\"models\":{}}", IC_CLOSE_NO_MODELS);
	expect_reason(
		"{\"type\":\"register\",\"node_id\":\"n\",\"models\":null}", IC_CLOSE_NO_MODELS);
	expect_reason("{\"type\":\"register\",\"node_id\":\"n\",\"models\":[{\"name\":\"-x\","
		      "\"size\":1}]}",
		IC_CLOSE_INVALID_MODEL);
	expect_reason("{\"type\":\"register\",\"node_id\":\"n\",\"models\":[{\"name\":\"\","
		      "\"size\":1}]}",
		IC_CLOSE_INVALID_MODEL);
	expect_reason("{\"type\":\"register\",\"node_id\":\"n\",\"models\":[\"llama3.2:3b\"]}",
		IC_CLOSE_INVALID_MODEL);
	expect_reason("{\"type\":\"register\",\"node_id\":\"n\",\"models\":[{\"size\":1}]}",
		IC_CLOSE_INVALID_MODEL);
	expect_reason("{\"type\":\"register\",\"node_id\":\"n\",\"models\":[{\"name\":7,"
		      "\"size\":1}]}",
		IC_CLOSE_INVALID_MODEL);
	/* size is required (decision documented in proto.h) */
	expect_reason("{\"type\":\"register\",\"node_id\":\"n\",\"models\":[{\"name\":\"m\"}]}",
		IC_CLOSE_INVALID_MODEL);
	expect_reason("{\"type\":\"register\",\"node_id\":\"n\",\"models\":[{\"name\":\"m\","
		      "\"size\":\"1\"}]}",
		IC_CLOSE_INVALID_MODEL);
	expect_reason("{\"type\":\"register\",\"node_id\":\"n\",\"models\":[{\"name\":\"m\","
		      "\"size\":-1}]}",
		IC_CLOSE_INVALID_MODEL);
	/* one bad entry among good ones */
	expect_reason("{\"type\":\"register\",\"node_id\":\"n\",\"models\":[{\"name\":\"m\","
		      "\"size\":1},{\"name\":\"bad name\",\"size\":1}]}",
		IC_CLOSE_INVALID_MODEL);
	/* other members mistyped: not a usable register message */
	expect_reason("{\"type\":\"register\",\"node_id\":\"n\"," MODELS_OK
		      ",\"max_concurrent\":\"2\"}",
		IC_CLOSE_EXPECTED_REGISTER);
	expect_reason("{\"type\":\"register\",\"node_id\":\"n\"," MODELS_OK
		      ",\"max_concurrent\":-1}",
		IC_CLOSE_EXPECTED_REGISTER);
	/* max_concurrent above 10 is the caller's to clamp, not an error */
	expect_reason("{\"type\":\"register\",\"node_id\":\"n\"," MODELS_OK
		      ",\"max_concurrent\":99}",
		NULL);
	ck_assert_str_eq(ic_register_check(NULL), IC_CLOSE_EXPECTED_REGISTER);
}
END_TEST

/* A register frame with a node id of id_len chars and n models named by name_len chars. */
static char *register_frame_new(size_t id_len, size_t n_models, size_t name_len)
{
	struct ic_model_info *models = calloc(n_models ? n_models : 1, sizeof(*models));
	char *id = malloc(id_len + 1);
	char *frame;
	size_t i;

	memset(id, 'i', id_len);
	id[id_len] = '\0';
	for (i = 0; i < n_models; i++) {
		models[i].name = malloc(name_len + 1);
		memset(models[i].name, 'm', name_len);
		models[i].name[name_len] = '\0';
		models[i].name[0] = (char)('a' + i % 26);
		models[i].size = (int64_t)i;
	}
	frame = ic_msg_register_new(id, models, n_models, 2, "0.6.2");
	for (i = 0; i < n_models; i++)
		free(models[i].name);
	free(models);
	free(id);
	return frame;
}

static void expect_limit(size_t id_len, size_t n, size_t name_len, const char *reason)
{
	char *frame = register_frame_new(id_len, n, name_len);

	expect_reason(frame, reason);
	free(frame);
}

START_TEST(test_register_limits)
{
	expect_limit(IC_NODE_ID_MAX, 1, 8, NULL);
	expect_limit(IC_NODE_ID_MAX + 1, 1, 8, IC_CLOSE_INVALID_NODE_ID);
	expect_limit(1, 1, 8, NULL);
	expect_limit(0, 1, 8, IC_CLOSE_INVALID_NODE_ID);
	expect_limit(8, IC_MODELS_PER_NODE_MAX, 8, NULL);
	expect_limit(8, IC_MODELS_PER_NODE_MAX + 1, 8, IC_CLOSE_TOO_MANY_MODELS);
	expect_limit(8, 0, 8, IC_CLOSE_NO_MODELS);
	expect_limit(8, 1, IC_MODEL_NAME_MAX, NULL);
	expect_limit(8, 1, IC_MODEL_NAME_MAX + 1, IC_CLOSE_INVALID_MODEL);
}
END_TEST

START_TEST(test_request_id_limit)
{
	char frame[IC_REQUEST_ID_MAX + 64];
	char id[IC_REQUEST_ID_MAX + 2];
	struct ic_msg m;
	char err[IC_ERRBUF_MAX];

	memset(id, 'r', IC_REQUEST_ID_MAX);
	id[IC_REQUEST_ID_MAX] = '\0';
	snprintf(frame, sizeof(frame), "{\"type\":\"cancel_request\",\"request_id\":\"%s\"}", id);
	ck_assert_int_eq(parse(frame, &m, err), 0);
	ic_msg_clear(&m);
	id[IC_REQUEST_ID_MAX] = 'r';
	id[IC_REQUEST_ID_MAX + 1] = '\0';
	snprintf(frame, sizeof(frame), "{\"type\":\"cancel_request\",\"request_id\":\"%s\"}", id);
	ck_assert_int_eq(parse(frame, &m, err), -1);
	ck_assert_ptr_null(m.request_id);
	ic_msg_clear(&m);
}
END_TEST

START_TEST(test_frame_size_limit)
{
	static const char frame[] = "{\"type\":\"cancel_request\",\"request_id\":\"r1\"}";
	size_t n = IC_WS_MESSAGE_MAX + 1;
	char *big = malloc(n);
	struct ic_msg m;
	char err[IC_ERRBUF_MAX];

	/* the frame padded with trailing spaces to N and N+1 bytes */
	memset(big, ' ', n);
	memcpy(big, frame, strlen(frame));
	ck_assert_int_eq(ic_msg_parse(big, IC_WS_MESSAGE_MAX, &m, err, sizeof(err)), 0);
	ck_assert_str_eq(m.request_id, "r1");
	ic_msg_clear(&m);
	ck_assert_int_eq(ic_msg_parse(big, IC_WS_MESSAGE_MAX + 1, &m, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "larger than"));
	ck_assert_str_eq(ic_register_check(&m), IC_CLOSE_EXPECTED_REGISTER);
	ic_msg_clear(&m);
	free(big);
}
END_TEST

START_TEST(test_depth_limit)
{
	char frame[512];
	struct ic_msg m;
	char err[IC_ERRBUF_MAX];
	int depth, i;

	/* chunk nested so that the frame has IC_JSON_DEPTH_MAX levels, then one more */
	for (depth = IC_JSON_DEPTH_MAX; depth <= IC_JSON_DEPTH_MAX + 1; depth++) {
		size_t o = (size_t)snprintf(frame, sizeof(frame),
			"{\"type\":\"inference_chunk\",\"request_id\":\"r\","
			"\"chunk\":");
		for (i = 0; i < depth - 1; i++)
			o += (size_t)snprintf(frame + o, sizeof(frame) - o, "{\"a\":");
		o += (size_t)snprintf(frame + o, sizeof(frame) - o, "1");
		for (i = 0; i < depth; i++) /* the chunks' and the frame's */
			frame[o++] = '}';
		frame[o] = '\0';
		int want = depth <= IC_JSON_DEPTH_MAX ? 0 : -1;

		ck_assert_msg(ic_msg_parse(frame, o, &m, err, sizeof(err)) == want, "depth %d: %s",
			depth, err);
		ic_msg_clear(&m);
	}
}
END_TEST

/* Deterministic pseudo-random numbers (xorshift32): reproducible runs. */
static unsigned next_rand(unsigned *state)
{
	unsigned x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

START_TEST(test_mutated_frames)
{
	static const char *const seeds[] = {
		"{\"type\":\"register\",\"node_id\":\"n1\",\"models\":[{\"name\":\"a:1\","
		"\"size\":5},{\"name\":\"b\",\"size\":0}],\"max_concurrent\":2,"
		"\"ollama_version\":\"0.6.2\"}",
		"{\"type\":\"heartbeat\",\"node_id\":\"n1\",\"active_requests\":0,"
		"\"available\":true}",
		"{\"type\":\"inference_chunk\",\"request_id\":\"r1\",\"chunk\":{\"message\":"
		"{\"role\":\"assistant\",\"content\":\"Hel\"},\"done\":false}}",
		"{\"type\":\"registered\",\"node_id\":\"n1\",\"features\":[\"available\"]}",
	};
	static const char alphabet[] = "{}[]\":,0-1 aez\\";
	unsigned state = 2463534242u;
	char buf[512];
	int iter;

	for (iter = 0; iter < 4000; iter++) {
		const char *seed = seeds[iter % 4];
		size_t len = strlen(seed);
		int edits = 1 + (int)(next_rand(&state) % 3), e;
		struct ic_msg m;
		char err[IC_ERRBUF_MAX];
		const char *why;
		int rc;

		memcpy(buf, seed, len);
		for (e = 0; e < edits && len > 1; e++) {
			size_t at = next_rand(&state) % len;
			unsigned op = next_rand(&state) % 3;
			char c = alphabet[next_rand(&state) % (sizeof(alphabet) - 1)];

			if (op == 0) { /* replace */
				buf[at] = c;
			} else if (op == 1) { /* delete */
				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
			} else if (len + 1 < sizeof(buf)) { /* insert */
				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = c;
				len++;
			}
		}
		rc = ic_msg_parse(buf, len, &m, err, sizeof(err));
		why = ic_register_check(&m);
		/* a failed parse is never an acceptable registration ... */
		if (rc < 0 && why == NULL)
			ck_abort_msg("failed parse accepted as register: %.*s", (int)len, buf);
		if (rc < 0 && err[0] == '\0')
			ck_abort_msg("failed parse without a reason: %.*s", (int)len, buf);
		/* ... and an accepted one has what the router relies on */
		if (why == NULL) {
			ck_assert_int_eq(m.type, IC_MSG_REGISTER);
			ck_assert_ptr_nonnull(m.node_id);
			ck_assert_uint_ge(m.n_models, 1);
			ck_assert_uint_le(m.n_models, IC_MODELS_PER_NODE_MAX);
			ck_assert_ptr_nonnull(m.models[m.n_models - 1].name);
		}
		ic_msg_clear(&m);
	}
}
END_TEST

START_TEST(test_models_check)
{
	char a[] = "a";
	struct ic_model_info ok[] = { { a, 1, 0 } };
	struct ic_model_info nosize[] = { { a, -1, 0 } };
	struct ic_model_info noname[] = { { NULL, 1, 0 } };

	ck_assert_ptr_null(ic_models_check(ok, 1));
	ck_assert_str_eq(ic_models_check(ok, 0), IC_CLOSE_NO_MODELS);
	ck_assert_str_eq(ic_models_check(NULL, 3), IC_CLOSE_NO_MODELS);
	ck_assert_str_eq(ic_models_check(nosize, 1), IC_CLOSE_INVALID_MODEL);
	ck_assert_str_eq(ic_models_check(noname, 1), IC_CLOSE_INVALID_MODEL);
}
END_TEST

/* standing (extension): chats as a boolean, nothing else. */
START_TEST(test_standing)
{
	struct ic_msg m;
	char err[IC_ERRBUF_MAX];
	char *s = ic_msg_standing_new(false);

	ck_assert_str_eq(s, "{\"type\":\"standing\",\"chats\":false}");
	ck_assert_int_eq(parse(s, &m, err), 0);
	ck_assert_int_eq(m.type, IC_MSG_STANDING);
	ck_assert(!m.chats);
	ic_msg_clear(&m);
	free(s);
	s = ic_msg_standing_new(true);
	ck_assert_int_eq(parse(s, &m, err), 0);
	ck_assert(m.chats);
	ic_msg_clear(&m);
	free(s);
	ck_assert_int_eq(parse("{\"type\":\"standing\"}", &m, err), -1);
	ck_assert_str_eq(err, "chats: missing or not a boolean");
	ic_msg_clear(&m);
	ck_assert_int_eq(parse("{\"type\":\"standing\",\"chats\":1}", &m, err), -1);
	ic_msg_clear(&m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_doc_register);
	tcase_add_test(tc, test_doc_registered_heartbeat);
	tcase_add_test(tc, test_doc_request_frames);
	tcase_add_test(tc, test_chunk_tool_calls_roundtrip);
	tcase_add_test(tc, test_register_roundtrip);
	tcase_add_test(tc, test_other_roundtrips);
	tcase_add_test(tc, test_type_names);
	tcase_add_test(tc, test_unknown_type);
	tcase_add_test(tc, test_negative);
	tcase_add_test(tc, test_register_close_reasons);
	tcase_add_test(tc, test_register_limits);
	tcase_add_test(tc, test_request_id_limit);
	tcase_add_test(tc, test_frame_size_limit);
	tcase_add_test(tc, test_depth_limit);
	tcase_add_test(tc, test_mutated_frames);
	tcase_add_test(tc, test_models_check);
	tcase_add_test(tc, test_standing);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
