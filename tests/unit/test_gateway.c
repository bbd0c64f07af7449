/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for the gateway's dialects: daemon/gateway-chat.c,
 * gateway-addr.c, gateway-ollama.c, gateway-openai.c, and the shared
 * system-text fold (common/chatmsg.c). */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatmsg.h"
#include "ctlproto.h"
#include "daemon/gateway-api.h"
#include "jsonutil.h"
#include "limits.h"
#include "xmalloc.h"

static char err[IC_ERRBUF_MAX];

static int ollama(const char *body, bool generate, struct gw_chat *c)
{
	return gw_ollama_chat_parse(body, strlen(body), generate, c, err, sizeof(err));
}

static int openai(const char *body, struct gw_chat *c)
{
	return gw_openai_chat_parse(body, strlen(body), c, err, sizeof(err));
}

static const char *msg_field(struct gw_chat *c, size_t i, const char *key)
{
	json_object *m;

	json_object_object_get_ex(c->args, CTL_A_MESSAGES, &m);
	return ic_json_get_string(json_object_array_get_idx(m, i), key);
}

static size_t n_messages(struct gw_chat *c)
{
	json_object *m;

	json_object_object_get_ex(c->args, CTL_A_MESSAGES, &m);
	return json_object_array_length(m);
}

/* A chat body with n user messages of chars 'x' each. */
static char *body_new(const char *model, size_t n, size_t chars)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	char *text = xmalloc(chars + 1), *out;
	size_t i;

	memset(text, 'x', chars);
	text[chars] = '\0';
	for (i = 0; i < n; i++) {
		json_object *m = json_object_new_object();

		json_object_object_add(
			m, "role", json_object_new_string(i % 2 ? "assistant" : "user"));
		json_object_object_add(m, "content", json_object_new_string(text));
		json_object_array_add(arr, m);
	}
	json_object_object_add(o, "model", json_object_new_string(model));
	json_object_object_add(o, "messages", arr);
	out = xstrdup(json_object_to_json_string_ext(o, IC_JSON_WIRE));
	json_object_put(o);
	free(text);
	return out;
}

START_TEST(test_system_fold_shared)
{
	json_object *in = json_tokener_parse("[{\"role\":\"user\",\"content\":\"q\"},"
					     "{\"role\":\"assistant\",\"content\":\"a\"}]");
	json_object *out = ic_messages_with_system_new(in, "sys");

	ck_assert_str_eq(
		ic_json_get_string(json_object_array_get_idx(out, 0), "content"), "sys\n\nq");
	ck_assert_str_eq(ic_json_get_string(json_object_array_get_idx(out, 1), "content"), "a");
	/* the input is not changed */
	ck_assert_str_eq(ic_json_get_string(json_object_array_get_idx(in, 0), "content"), "q");
	json_object_put(out);
	out = ic_messages_with_system_new(in, NULL);
	ck_assert_str_eq(ic_json_get_string(json_object_array_get_idx(out, 0), "content"), "q");
	json_object_put(out);
	json_object_put(in);
}
END_TEST

START_TEST(test_ollama_chat_parse)
{
	struct gw_chat c;
	bool think = false;

	ck_assert_int_eq(ollama("{\"model\":\"m:1\",\"messages\":[{\"role\":\"system\","
				"\"content\":\"s1\"},{\"role\":\"system\",\"content\":\"s2\"},"
				"{\"role\":\"user\",\"content\":\"q\"}],\"think\":\"high\","
				"\"options\":{\"temperature\":0.1},\"keep_alive\":\"5m\"}",
				 false, &c),
		0);
	ck_assert(c.stream);
	ck_assert(!c.load_only);
	ck_assert_str_eq(c.model, "m:1");
	ck_assert_uint_eq(n_messages(&c), 1);
	ck_assert_str_eq(msg_field(&c, 0, "content"), "s1\n\ns2\n\nq");
	ck_assert_str_eq(msg_field(&c, 0, "role"), "user");
	ck_assert(ic_json_get_bool(c.args, CTL_A_THINK, &think) && think);
	ck_assert(json_object_object_get_ex(c.args, CTL_A_OPTIONS, NULL));
	gw_chat_clear(&c);

	ck_assert_int_eq(ollama("{\"model\":\"m\",\"stream\":false,\"messages\":[{\"role\":"
				"\"assistant\",\"content\":\"a\",\"thinking\":\"t\"},{\"role\":"
				"\"user\",\"content\":\"q\"}]}",
				 false, &c),
		0);
	ck_assert(!c.stream);
	/* the history's thinking is not sent on */
	ck_assert_ptr_null(msg_field(&c, 0, "thinking"));
	gw_chat_clear(&c);

	ck_assert_int_eq(ollama("{\"model\":\"m\"}", false, &c), 0);
	ck_assert(c.load_only);
	gw_chat_clear(&c);
}
END_TEST

START_TEST(test_ollama_generate_parse)
{
	struct gw_chat c;

	ck_assert_int_eq(
		ollama("{\"model\":\"m\",\"prompt\":\"p\",\"system\":\"s\"}", true, &c), 0);
	ck_assert_str_eq(msg_field(&c, 0, "content"), "s\n\np");
	gw_chat_clear(&c);
	ck_assert_int_eq(ollama("{\"model\":\"m\",\"prompt\":\"\"}", true, &c), 0);
	ck_assert(c.load_only);
	gw_chat_clear(&c);
	ck_assert_int_eq(
		ollama("{\"model\":\"m\",\"prompt\":\"p\",\"images\":[\"aGk=\"]}", true, &c), 400);
	ck_assert(strstr(err, "images"));
}
END_TEST

START_TEST(test_refusals)
{
	static const struct {
		const char *body, *word;
		bool openai;
	} rows[] = {
		{ "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],"
		  "\"tools\":[{\"type\":\"function\"}]}",
			"tools", false },
		{ "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],"
		  "\"tools\":[{\"type\":\"function\"}]}",
			"tools", true },
		{ "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],"
		  "\"format\":\"json\"}",
			"format", false },
		{ "{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"q\"}]}", "tool",
			true },
		{ "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
		  "\"image_url\",\"image_url\":{\"url\":\"x\"}}]}]}",
			"text parts", true },
		{ "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],\"n\":2}",
			"n:", true },
		{ "{\"model\":\"m\",\"messages\":[{\"role\":\"wizard\",\"content\":\"q\"}]}",
			"role", false },
		{ "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"}]}",
			"user message", false },
		{ "{\"messages\":[]}", "model", true },
		{ "[1]", "JSON object", false },
		{ "{\"model\":\"m\",\"stream\":\"yes\",\"messages\":[]}", "stream", false },
		{ "{\"model\":\"m\",\"think\":\"very\",\"messages\":[]}", "think", false },
		{ "{\"model\":\"bad model\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}",
			"model", true },
	};
	struct gw_chat c;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int rc =
			rows[i].openai ? openai(rows[i].body, &c) : ollama(rows[i].body, false, &c);

		ck_assert_msg(rc == 400, "row %zu: %d", i, rc);
		ck_assert_msg(strstr(err, rows[i].word), "row %zu: %s", i, err);
		ck_assert_ptr_null(c.args);
	}
}
END_TEST

/* The limits of idleclawctl chat, at N and N+1. */
START_TEST(test_limits)
{
	struct gw_chat c;
	char *b;

	b = body_new("m", IC_MESSAGES_MAX, 1);
	ck_assert_int_eq(openai(b, &c), 0);
	gw_chat_clear(&c);
	free(b);
	b = body_new("m", IC_MESSAGES_MAX + 1, 1);
	ck_assert_int_eq(openai(b, &c), 400);
	free(b);
	b = body_new("m", 1, IC_MESSAGE_CHARS_MAX);
	ck_assert_int_eq(ollama(b, false, &c), 0);
	gw_chat_clear(&c);
	free(b);
	b = body_new("m", 1, IC_MESSAGE_CHARS_MAX + 1);
	ck_assert_int_eq(ollama(b, false, &c), 400);
	free(b);
}
END_TEST

START_TEST(test_openai_parse)
{
	struct gw_chat c;
	bool think = false;

	ck_assert_int_eq(openai("{\"model\":\"m\",\"messages\":[{\"role\":\"developer\","
				"\"content\":\"d\"},{\"role\":\"user\",\"content\":[{\"type\":"
				"\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]}],"
				"\"temperature\":0.5,\"reasoning_effort\":\"low\"}",
				 &c),
		0);
	ck_assert(!c.stream);
	ck_assert_str_eq(msg_field(&c, 0, "content"), "d\n\nab");
	ck_assert(ic_json_get_bool(c.args, CTL_A_THINK, &think) && think);
	gw_chat_clear(&c);
}
END_TEST

START_TEST(test_ollama_shapes)
{
	struct timespec ts = { 1700000000, 5 };
	char *t = gw_ollama_time_new(&ts);
	json_object *o, *names = json_tokener_parse("[\"a:1\"]");

	ck_assert_str_eq(t, "2023-11-14T22:13:20.000000005Z");
	o = gw_ollama_delta_new("m", t, false, "hi", "th");
	ck_assert_str_eq(json_object_to_json_string_ext(o, IC_JSON_WIRE),
		"{\"model\":\"m\",\"created_at\":\"2023-11-14T22:13:20.000000005Z\","
		"\"message\":{\"role\":\"assistant\",\"content\":\"hi\",\"thinking\":"
		"\"th\"},\"done\":false}");
	json_object_put(o);
	o = gw_ollama_final_new("m", t, true, "", NULL, "stop", 42);
	ck_assert_str_eq(json_object_to_json_string_ext(o, IC_JSON_WIRE),
		"{\"model\":\"m\",\"created_at\":\"2023-11-14T22:13:20.000000005Z\","
		"\"response\":\"\",\"done\":true,\"done_reason\":\"stop\","
		"\"total_duration\":42}");
	json_object_put(o);
	o = gw_ollama_tags_new(names);
	ck_assert_str_eq(json_object_to_json_string_ext(o, IC_JSON_WIRE),
		"{\"models\":[{\"name\":\"a:1\",\"model\":\"a:1\",\"modified_at\":"
		"\"0001-01-01T00:00:00Z\",\"size\":0,\"digest\":\"" GW_OLLAMA_NO_DIGEST "\","
		"\"details\":{\"parent_model\":\"\",\"format\":\"\",\"family\":\"\","
		"\"families\":[],\"parameter_size\":\"\",\"quantization_level\":\"\"}}]}");
	json_object_put(o);
	json_object_put(names);
	free(t);
	ck_assert_ptr_nonnull(gw_ollama_unsupported("/api/pull"));
	ck_assert_ptr_nonnull(gw_ollama_unsupported("/api/blobs/sha256:00"));
	ck_assert_ptr_null(gw_ollama_unsupported("/api/pullx"));
	ck_assert_ptr_null(gw_ollama_unsupported("/api/chat"));
}
END_TEST

START_TEST(test_openai_shapes)
{
	json_object *o = gw_openai_chunk_new("chatcmpl-1", 7, "m", "assistant", "hi", NULL, NULL);

	ck_assert_str_eq(json_object_to_json_string_ext(o, IC_JSON_WIRE),
		"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":7,"
		"\"model\":\"m\",\"choices\":[{\"delta\":{\"role\":\"assistant\","
		"\"content\":\"hi\"},\"finish_reason\":null,\"index\":0}]}");
	json_object_put(o);
	o = gw_openai_chunk_new("c", 7, "m", NULL, NULL, "r", "stop");
	ck_assert_str_eq(json_object_to_json_string_ext(o, IC_JSON_WIRE),
		"{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":7,"
		"\"model\":\"m\",\"choices\":[{\"delta\":{\"reasoning_content\":\"r\"},"
		"\"finish_reason\":\"stop\",\"index\":0}]}");
	json_object_put(o);
	o = gw_openai_error_new(429, "slow down");
	ck_assert_str_eq(json_object_to_json_string_ext(o, IC_JSON_WIRE),
		"{\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_error\","
		"\"param\":null,\"code\":\"rate_limit_exceeded\"}}");
	json_object_put(o);
	o = gw_openai_completion_new("c", 7, "m", "a", NULL, NULL);
	ck_assert_str_eq(json_object_to_json_string_ext(o, IC_JSON_WIRE),
		"{\"id\":\"c\",\"object\":\"chat.completion\",\"created\":7,\"model\":"
		"\"m\",\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":"
		"\"a\"},\"finish_reason\":\"stop\",\"index\":0}]}");
	json_object_put(o);
}
END_TEST

START_TEST(test_model_names)
{
	json_object *b = json_tokener_parse("{\"models\":[\"a\",{\"name\":\"b\",\"size\":1},"
					    "{\"size\":2},\"\"]}");
	json_object *n = gw_model_names_new(b);

	ck_assert_uint_eq(json_object_array_length(n), 2);
	ck_assert(gw_names_has(n, "a") && gw_names_has(n, "b") && !gw_names_has(n, "c"));
	json_object_put(n);
	json_object_put(b);
	b = json_tokener_parse("{\"models\":3}");
	ck_assert_ptr_null(gw_model_names_new(b));
	json_object_put(b);
}
END_TEST

START_TEST(test_listen)
{
	char host[64];
	int port = 0;

	ck_assert_int_eq(gw_listen_parse("127.0.0.1:11435", false, host, sizeof(host), &port, err,
				 sizeof(err)),
		0);
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_int_eq(port, 11435);
	ck_assert_int_eq(
		gw_listen_parse("localhost:1", false, host, sizeof(host), &port, err, sizeof(err)),
		0);
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_int_eq(
		gw_listen_parse("[::1]:65535", false, host, sizeof(host), &port, err, sizeof(err)),
		0);
	ck_assert_str_eq(host, "::1");
	ck_assert_int_eq(
		gw_listen_parse("127.9.9.9:80", false, host, sizeof(host), &port, err, sizeof(err)),
		0);
	/* remote: refused unless allowed */
	ck_assert_int_eq(gw_listen_parse("0.0.0.0:11435", false, host, sizeof(host), &port, err,
				 sizeof(err)),
		-1);
	ck_assert(strstr(err, "allow_remote"));
	ck_assert_int_eq(
		gw_listen_parse("0.0.0.0:11435", true, host, sizeof(host), &port, err, sizeof(err)),
		0);
	ck_assert_int_eq(
		gw_listen_parse("[::]:11435", false, host, sizeof(host), &port, err, sizeof(err)),
		-1);
	/* ports at the bounds */
	ck_assert_int_eq(
		gw_listen_parse("127.0.0.1:0", false, host, sizeof(host), &port, err, sizeof(err)),
		-1);
	ck_assert_int_eq(gw_listen_parse("127.0.0.1:65536", false, host, sizeof(host), &port, err,
				 sizeof(err)),
		-1);
	ck_assert_int_eq(gw_listen_parse("example.com:80", true, host, sizeof(host), &port, err,
				 sizeof(err)),
		-1);
	ck_assert_int_eq(
		gw_listen_parse("::1:80", false, host, sizeof(host), &port, err, sizeof(err)), -1);
	ck_assert_int_eq(
		gw_listen_parse("127.0.0.1", false, host, sizeof(host), &port, err, sizeof(err)),
		-1);
}
END_TEST

START_TEST(test_cors)
{
	ck_assert(gw_cors_allowed("http://a, http://b:8080", "http://b:8080"));
	ck_assert(!gw_cors_allowed("http://a, http://b:8080", "http://b"));
	ck_assert(!gw_cors_allowed("http://a", "http://a.evil"));
	ck_assert(gw_cors_allowed("*", "http://anything"));
	ck_assert(!gw_cors_allowed("", "http://a"));
	ck_assert(!gw_cors_allowed(NULL, "http://a"));
}
END_TEST

START_TEST(test_host_loopback)
{
	static const char *const yes[] = {
		"localhost",
		"LocalHost",
		"LOCALHOST:11435",
		"localhost.",
		"localhost.:1",
		"127.0.0.1",
		"127.0.0.1:65535",
		"127.255.255.254:80",
		"[::1]",
		"[::1]:1",
		"[0:0:0:0:0:0:0:1]:11435",
	};
	static const char *const no[] = {
		"",
		"evil.example",
		"evil.example:11435",
		"localhost..",
		"localhost.evil",
		"xlocalhost",
		"localhostx",
		"sub.localhost",
		"localhost:0",
		"localhost:65536",
		"localhost:",
		"localhost:80x",
		"localhost:1:2",
		"localhost:+80",
		"localhost:123456",
		"128.0.0.1",
		"126.255.255.255",
		"127.1",
		"127.0.0.1.evil",
		"0.0.0.0",
		"[::2]",
		"[::]",
		"[::1",
		"::1",
		"[::1]:",
		"[::1]x",
		"[::ffff:127.0.0.1]",
		"[::1%lo]",
		"[localhost]",
		" localhost",
	};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(gw_host_loopback(yes[i]), "%s refused", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(!gw_host_loopback(no[i]), "%s allowed", no[i]);
	ck_assert(!gw_host_loopback(NULL));
}
END_TEST

START_TEST(test_request_refused)
{
	const char *origins = "http://webui:8080, http://localhost:3000";

	/* no Origin (curl, SDKs, the ollama CLI): only Host counts */
	ck_assert_ptr_null(gw_request_refused(NULL, false, NULL, NULL));
	ck_assert_ptr_null(gw_request_refused("", false, NULL, "127.0.0.1:11435"));
	/* Origin: allowed exactly as listed, or by "*" */
	ck_assert_ptr_null(gw_request_refused(origins, false, "http://webui:8080", "localhost"));
	ck_assert_ptr_nonnull(gw_request_refused(origins, false, "http://webui:8081", "localhost"));
	ck_assert_ptr_nonnull(gw_request_refused(origins, false, "http://webui", "localhost"));
	ck_assert_ptr_nonnull(gw_request_refused(origins, false, "HTTP://WEBUI:8080", "localhost"));
	ck_assert_ptr_nonnull(gw_request_refused(NULL, false, "http://webui:8080", NULL));
	ck_assert_ptr_nonnull(gw_request_refused("", true, "http://webui:8080", NULL));
	ck_assert_ptr_null(gw_request_refused("*", false, "http://anything", NULL));
	/* a sandboxed page or file:// says "null"; an empty Origin is not an absent one */
	ck_assert_ptr_nonnull(gw_request_refused(origins, false, "null", NULL));
	ck_assert_ptr_nonnull(gw_request_refused(origins, false, "", NULL));
	ck_assert_ptr_null(gw_request_refused("null", false, "null", NULL));
	/* Host: loopback unless allow_remote, then anything */
	ck_assert_ptr_nonnull(gw_request_refused(NULL, false, NULL, "evil.example"));
	ck_assert_ptr_nonnull(gw_request_refused(NULL, false, NULL, ""));
	ck_assert_ptr_null(gw_request_refused(NULL, true, NULL, "evil.example"));
	ck_assert_ptr_null(gw_request_refused(NULL, true, NULL, "192.0.2.1:11435"));
	/* an allowed origin does not excuse a foreign Host, nor allow_remote a foreign Origin */
	ck_assert_ptr_nonnull(gw_request_refused("*", false, "http://a", "evil.example"));
	ck_assert_ptr_nonnull(gw_request_refused(origins, true, "http://evil", "192.0.2.1"));
	ck_assert_ptr_nonnull(
		strstr(gw_request_refused(origins, false, "http://x", NULL), "cors_origins"));
	ck_assert_ptr_nonnull(
		strstr(gw_request_refused(origins, false, NULL, "x"), "allow_remote"));
}
END_TEST

START_TEST(test_http_status)
{
	ck_assert_int_eq(gw_http_status(CTL_ST_OK), 200);
	ck_assert_int_eq(gw_http_status(CTL_ST_BAD_ARGS), 400);
	ck_assert_int_eq(gw_http_status(CTL_ST_BUSY), 429);
	ck_assert_int_eq(gw_http_status(CTL_ST_UNAVAILABLE), 503);
	ck_assert_int_eq(gw_http_status(CTL_ST_SHUTTING_DOWN), 503);
	ck_assert_int_eq(gw_http_status(CTL_ST_TIMEOUT), 504);
	ck_assert_int_eq(gw_http_status(CTL_ST_FAILED), 502);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gateway");
	TCase *tc = tcase_create("gateway");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_system_fold_shared);
	tcase_add_test(tc, test_ollama_chat_parse);
	tcase_add_test(tc, test_ollama_generate_parse);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_openai_parse);
	tcase_add_test(tc, test_ollama_shapes);
	tcase_add_test(tc, test_openai_shapes);
	tcase_add_test(tc, test_model_names);
	tcase_add_test(tc, test_listen);
	tcase_add_test(tc, test_cors);
	tcase_add_test(tc, test_host_loopback);
	tcase_add_test(tc, test_request_refused);
	tcase_add_test(tc, test_http_status);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
