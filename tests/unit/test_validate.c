/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for common/validate.c: names, ids, messages, URLs, OLLAMA_HOST. */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "validate.h"
#include "xmalloc.h"

/* A string of n copies of unit (a UTF-8 character); the caller frees it. */
static char *repeat_new(const char *unit, size_t n)
{
	size_t ul = strlen(unit), i;
	char *s = xmalloc(ul * n + 1);

	for (i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * n] = '\0';
	return s;
}

/* --- model names and ids --- */

START_TEST(test_model_names_good)
{
	static const char *const good[] = { "llama3.2", "llama3.2:3b",
		"llama3.2:3b-instruct-q4_K_M", "hf.co/user/model:Q4_K_M", "qwen2.5-coder:7b", "a",
		"7", "library/mistral:latest", NULL };
	size_t i;

	for (i = 0; good[i]; i++)
		ck_assert_msg(ic_valid_model_name(good[i]), "refused %s", good[i]);
}
END_TEST

START_TEST(test_model_names_bad)
{
	static const char *const bad[] = { "", ".hidden", ":3b", "-x", "_x", "/etc/passwd",
		"llama 3", "llama\"3", "llama'3", "llama\t3", "llama\n3", "caf\xC3\xA9", "a;b",
		"a\\b", "a?b", "a#b", "a%b", "a@b", "a<b", NULL };
	size_t i;

	for (i = 0; bad[i]; i++)
		ck_assert_msg(!ic_valid_model_name(bad[i]), "accepted %s", bad[i]);
	ck_assert(!ic_valid_model_name(NULL));
}
END_TEST

START_TEST(test_model_name_limit)
{
	char *n = repeat_new("m", IC_MODEL_NAME_MAX);
	char *n1 = repeat_new("m", IC_MODEL_NAME_MAX + 1);

	ck_assert(ic_valid_model_name(n));
	ck_assert(!ic_valid_model_name(n1));
	free(n);
	free(n1);
}
END_TEST

START_TEST(test_node_id)
{
	char *n = repeat_new("n", IC_NODE_ID_MAX);
	char *n1 = repeat_new("n", IC_NODE_ID_MAX + 1);

	ck_assert(ic_valid_node_id("node-1"));
	ck_assert(ic_valid_node_id("a!~{}"));
	ck_assert(ic_valid_node_id(n));
	ck_assert(!ic_valid_node_id(n1));
	ck_assert(!ic_valid_node_id(""));
	ck_assert(!ic_valid_node_id(NULL));
	ck_assert(!ic_valid_node_id("a b"));
	ck_assert(!ic_valid_node_id("a\x01"));
	ck_assert(!ic_valid_node_id("a\x7F"));
	ck_assert(!ic_valid_node_id("n\xC3\xA9"));
	free(n);
	free(n1);
}
END_TEST

START_TEST(test_request_id)
{
	char *n = repeat_new("r", IC_REQUEST_ID_MAX);
	char *n1 = repeat_new("r", IC_REQUEST_ID_MAX + 1);

	ck_assert(ic_valid_request_id("probe-1a2b"));
	ck_assert(ic_valid_request_id("A.b_c:d-9"));
	ck_assert(ic_valid_request_id(n));
	ck_assert(!ic_valid_request_id(n1));
	ck_assert(!ic_valid_request_id(""));
	ck_assert(!ic_valid_request_id(NULL));
	ck_assert(!ic_valid_request_id("a/b"));
	ck_assert(!ic_valid_request_id("a b"));
	ck_assert(!ic_valid_request_id("a\"b"));
	free(n);
	free(n1);
}
END_TEST

/* --- messages --- */

/* Validate JSON text with rules; err gets the message.  Returns the rc. */
static int vmsgs(const char *json, const struct ic_msg_rules *rules, char *err)
{
	json_object *m = json_tokener_parse(json);
	int rc;

	ck_assert_msg(m != NULL, "test JSON does not parse: %s", json);
	err[0] = '\0';
	rc = ic_validate_messages(m, rules, err, IC_ERRBUF_MAX);
	json_object_put(m);
	return rc;
}

/* An array of count messages {"role":"user","content":<content>}. */
static json_object *msgs_new(size_t count, const char *content)
{
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < count; i++) {
		json_object *m = json_object_new_object();

		json_object_object_add(m, "role", json_object_new_string("user"));
		json_object_object_add(m, "content", json_object_new_string(content));
		json_object_array_add(a, m);
	}
	return a;
}

/* Append {"role":"user","content":content} to the array m. */
static void add_msg(json_object *m, const char *content)
{
	json_object *one = msgs_new(1, content);

	json_object_array_add(m, json_object_get(json_object_array_get_idx(one, 0)));
	json_object_put(one);
}

static int vobj(json_object *m, const struct ic_msg_rules *rules, char *err)
{
	int rc;

	err[0] = '\0';
	rc = ic_validate_messages(m, rules, err, IC_ERRBUF_MAX);
	json_object_put(m);
	return rc;
}

START_TEST(test_messages_good)
{
	char err[IC_ERRBUF_MAX];

	ck_assert_int_eq(
		vmsgs("[{\"role\":\"user\",\"content\":\"hi\"}]", &ic_consumer_msg_rules, err), 0);
	ck_assert_int_eq(vmsgs("[{\"role\":\"user\",\"content\":\"hi\"},"
			       "{\"role\":\"assistant\",\"content\":\"h\\u00e9\"},"
			       "{\"content\":\"x\",\"role\":\"user\"}]",
				 &ic_consumer_msg_rules, err),
		0);
	ck_assert_int_eq(
		vmsgs("[{\"role\":\"system\",\"content\":\"be brief\"},"
		      "{\"role\":\"user\",\"content\":\"hi\"},"
		      "{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"hm\","
		      "\"tool_calls\":[{\"function\":{\"name\":\"web_search\","
		      "\"arguments\":{\"query\":\"x\"}}}]},"
		      "{\"role\":\"tool\",\"content\":\"result\",\"tool_name\":\"web_search\"},"
		      "{\"role\":\"assistant\",\"tool_calls\":[]},"
		      "{\"role\":\"assistant\",\"content\":null}]",
			&ic_node_msg_rules, err),
		0);
}
END_TEST

START_TEST(test_messages_shape)
{
	char err[IC_ERRBUF_MAX];
	const struct ic_msg_rules *c = &ic_consumer_msg_rules;

	ck_assert_int_eq(vmsgs("{}", c, err), -1);
	ck_assert_str_eq(err, "messages: must be an array");
	ck_assert_int_eq(vmsgs("[]", c, err), -1);
	ck_assert_str_eq(err, "messages: must hold 1 to 50 messages, not 0");
	ck_assert_int_eq(vmsgs("[\"hi\"]", c, err), -1);
	ck_assert_str_eq(err, "messages[0]: must be an object");
	ck_assert_int_eq(vmsgs("[{\"role\":\"user\",\"content\":\"a\"},null]", c, err), -1);
	ck_assert_str_eq(err, "messages[1]: must be an object");
	ck_assert_int_eq(ic_validate_messages(NULL, c, err, sizeof(err)), -1);
	/* no error buffer: still refused, nothing written */
	ck_assert_int_eq(ic_validate_messages(NULL, c, NULL, 0), -1);
}
END_TEST

START_TEST(test_messages_roles)
{
	char err[IC_ERRBUF_MAX];
	const struct ic_msg_rules *c = &ic_consumer_msg_rules;
	const struct ic_msg_rules *n = &ic_node_msg_rules;

	ck_assert_int_eq(vmsgs("[{\"content\":\"a\"}]", c, err), -1);
	ck_assert_str_eq(err, "messages[0].role: missing");
	ck_assert_int_eq(vmsgs("[{\"role\":\"user\",\"content\":\"a\"},"
			       "{\"role\":\"system\",\"content\":\"a\"}]",
				 c, err),
		-1);
	ck_assert_str_eq(err, "messages[1].role: must be user or assistant");
	ck_assert_int_eq(vmsgs("[{\"role\":\"tool\",\"content\":\"a\"}]", c, err), -1);
	ck_assert_int_eq(vmsgs("[{\"role\":\"USER\",\"content\":\"a\"}]", c, err), -1);
	ck_assert_int_eq(vmsgs("[{\"role\":1,\"content\":\"a\"}]", c, err), -1);
	ck_assert_int_eq(vmsgs("[{\"role\":\"user\\u0000x\",\"content\":\"a\"}]", c, err), -1);
	ck_assert_int_eq(vmsgs("[{\"role\":\"developer\",\"content\":\"a\"}]", n, err), -1);
	ck_assert_str_eq(err, "messages[0].role: must be system, user, assistant or tool");
	ck_assert_int_eq(vmsgs("[{\"role\":\"tool\",\"content\":\"a\"}]", n, err), 0);
}
END_TEST

START_TEST(test_messages_members)
{
	char err[IC_ERRBUF_MAX];
	const struct ic_msg_rules *c = &ic_consumer_msg_rules;
	const struct ic_msg_rules *n = &ic_node_msg_rules;

	ck_assert_int_eq(vmsgs("[{\"role\":\"user\",\"content\":\"a\","
			       "\"images\":[\"AAAA\"]}]",
				 c, err),
		-1);
	ck_assert_str_eq(err, "messages[0].images: not allowed");
	ck_assert_int_eq(vmsgs("[{\"role\":\"user\",\"content\":\"a\","
			       "\"images\":[\"AAAA\"]}]",
				 n, err),
		-1);
	ck_assert_str_eq(err, "messages[0].images: not allowed");
	ck_assert_int_eq(vmsgs("[{\"role\":\"assistant\",\"content\":\"a\","
			       "\"thinking\":\"t\"}]",
				 c, err),
		-1);
	ck_assert_str_eq(err, "messages[0].thinking: not allowed");
	/* a key that could break a log line is not repeated */
	ck_assert_int_eq(vmsgs("[{\"role\":\"user\",\"content\":\"a\","
			       "\"x\\ny\":1}]",
				 c, err),
		-1);
	ck_assert_str_eq(err, "messages[0]: has a member that is not allowed");
	ck_assert_int_eq(vmsgs("[{\"role\":\"user\",\"content\":\"a\",\"\":1}]", c, err), -1);
	ck_assert_str_eq(err, "messages[0]: has a member that is not allowed");
	ck_assert_int_eq(vmsgs("[{\"role\":\"user\"}]", c, err), -1);
	ck_assert_str_eq(err, "messages[0].content: missing");
	ck_assert_int_eq(vmsgs("[{\"role\":\"user\",\"content\":null}]", c, err), -1);
	ck_assert_str_eq(err, "messages[0].content: missing");
	ck_assert_int_eq(vmsgs("[{\"role\":\"user\",\"content\":5}]", c, err), -1);
	ck_assert_str_eq(err, "messages[0].content: must be a string");
	ck_assert_int_eq(vmsgs("[{\"role\":\"user\",\"content\":[\"a\"]}]", n, err), -1);
	ck_assert_str_eq(err, "messages[0].content: must be a string");
	ck_assert_int_eq(vmsgs("[{\"role\":\"user\",\"content\":\"\"}]", c, err), -1);
	ck_assert_str_eq(err, "messages[0].content: must not be empty");
	ck_assert_int_eq(vmsgs("[{\"role\":\"user\",\"content\":\"\"}]", n, err), 0);
	ck_assert_int_eq(vmsgs("[{\"role\":\"assistant\",\"thinking\":5}]", n, err), -1);
	ck_assert_str_eq(err, "messages[0].thinking: must be a string");
	ck_assert_int_eq(vmsgs("[{\"role\":\"assistant\",\"tool_calls\":{}}]", n, err), -1);
	ck_assert_str_eq(err, "messages[0].tool_calls: must be an array");
	ck_assert_int_eq(vmsgs("[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":"
			       "{\"arguments\":{}}}]}]",
				 n, err),
		-1);
	ck_assert_str_eq(err,
		"messages[0].tool_calls[0]: must be "
		"{\"function\":{\"name\":...}}");
	ck_assert_int_eq(vmsgs("[{\"role\":\"assistant\",\"tool_calls\":[1]}]", n, err), -1);
	ck_assert_int_eq(
		vmsgs("[{\"role\":\"tool\",\"content\":\"r\",\"tool_name\":\"\"}]", n, err), -1);
	ck_assert_int_eq(
		vmsgs("[{\"role\":\"tool\",\"content\":\"r\",\"tool_name\":7}]", n, err), -1);
	ck_assert_str_eq(err, "messages[0].tool_name: must be a string");
}
END_TEST

START_TEST(test_messages_bad_text)
{
	char err[IC_ERRBUF_MAX];
	const struct ic_msg_rules *c = &ic_consumer_msg_rules;
	json_object *m;

	ck_assert_int_eq(vmsgs("[{\"role\":\"user\",\"content\":\"a\\u0000b\"}]", c, err), -1);
	ck_assert_str_eq(err, "messages[0].content: contains a NUL character");
	/* json-c 0.16 turns a lone surrogate escape into U+FFFD (valid) but
	 * passes raw bytes through unchecked: those we must refuse */
	ck_assert_int_eq(vmsgs("[{\"role\":\"user\",\"content\":\"\\ud800\"}]", c, err), 0);
	ck_assert_int_eq(vmsgs("[{\"role\":\"user\",\"content\":\"\xC0\x80\"}]", c, err), -1);
	ck_assert_str_eq(err, "messages[0].content: not valid UTF-8");
	ck_assert_int_eq(vmsgs("[{\"role\":\"user\",\"content\":\"ok\"},"
			       "{\"role\":\"assistant\",\"content\":\"\xFF\"}]",
				 c, err),
		-1);
	ck_assert_str_eq(err, "messages[1].content: not valid UTF-8");
	/* raw invalid bytes, built without the tokenizer */
	m = msgs_new(2, "ok");
	json_object_object_add(json_object_array_get_idx(m, 1), "content",
		json_object_new_string_len("a\xC0\x80", 3));
	ck_assert_int_eq(vobj(m, c, err), -1);
	ck_assert_str_eq(err, "messages[1].content: not valid UTF-8");
	m = msgs_new(1, "ok");
	json_object_object_add(json_object_array_get_idx(m, 0), "content",
		json_object_new_string_len("\xED\xA0\x80", 3));
	ck_assert_int_eq(vobj(m, c, err), -1);
	m = msgs_new(1, "ok");
	json_object_object_add(json_object_array_get_idx(m, 0), "content",
		json_object_new_string_len("ab\xE2\x82", 4));
	ck_assert_int_eq(vobj(m, c, err), -1);
	m = msgs_new(1, "ok");
	json_object_object_add(json_object_array_get_idx(m, 0), "content",
		json_object_new_string_len("\xF4\x90\x80\x80", 4));
	ck_assert_int_eq(vobj(m, c, err), -1);
	m = msgs_new(1, "ok");
	json_object_object_add(
		json_object_array_get_idx(m, 0), "content", json_object_new_string_len("\x80x", 2));
	ck_assert_int_eq(vobj(m, c, err), -1);
}
END_TEST

START_TEST(test_messages_count_limit)
{
	char err[IC_ERRBUF_MAX];
	char want[IC_ERRBUF_MAX];

	ck_assert_int_eq(vobj(msgs_new(IC_MESSAGES_MAX, "hi"), &ic_consumer_msg_rules, err), 0);
	ck_assert_int_eq(
		vobj(msgs_new(IC_MESSAGES_MAX + 1, "hi"), &ic_consumer_msg_rules, err), -1);
	snprintf(want, sizeof(want), "messages: must hold 1 to %d messages, not %d",
		IC_MESSAGES_MAX, IC_MESSAGES_MAX + 1);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(vobj(msgs_new(IC_MESSAGES_MAX + 1, "hi"), &ic_node_msg_rules, err), -1);
}
END_TEST

/* Per-message limit at N and N+1 code points, with multi-byte characters:
 * a byte count would refuse N of them. */
START_TEST(test_messages_chars_limit)
{
	char err[IC_ERRBUF_MAX];
	char want[IC_ERRBUF_MAX];
	static const char *const units[] = { "a", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
		NULL };
	size_t u;

	for (u = 0; units[u]; u++) {
		char *n = repeat_new(units[u], IC_MESSAGE_CHARS_MAX);
		char *n1 = repeat_new(units[u], IC_MESSAGE_CHARS_MAX + 1);

		ck_assert_int_eq(vobj(msgs_new(1, n), &ic_consumer_msg_rules, err), 0);
		ck_assert_int_eq(vobj(msgs_new(1, n), &ic_node_msg_rules, err), 0);
		ck_assert_int_eq(vobj(msgs_new(1, n1), &ic_consumer_msg_rules, err), -1);
		snprintf(want, sizeof(want), "messages[0].content: longer than %d characters",
			IC_MESSAGE_CHARS_MAX);
		ck_assert_str_eq(err, want);
		ck_assert_int_eq(vobj(msgs_new(1, n1), &ic_node_msg_rules, err), -1);
		free(n);
		free(n1);
	}
}
END_TEST

START_TEST(test_messages_total_limit)
{
	char err[IC_ERRBUF_MAX];
	char want[IC_ERRBUF_MAX];
	size_t full = IC_TOTAL_CHARS_MAX / IC_MESSAGE_CHARS_MAX;
	char *n = repeat_new("\xC3\xA9", IC_MESSAGE_CHARS_MAX);
	json_object *m;

	/* exactly the total: 10 full messages */
	ck_assert_int_eq(vobj(msgs_new(full, n), &ic_consumer_msg_rules, err), 0);
	/* one character more */
	m = msgs_new(full, n);
	add_msg(m, "x");
	ck_assert_int_eq(vobj(m, &ic_consumer_msg_rules, err), -1);
	snprintf(want, sizeof(want), "messages: longer than %d characters in all",
		IC_TOTAL_CHARS_MAX);
	ck_assert_str_eq(err, want);
	free(n);
}
END_TEST

/* tool_name: 1..64 bytes (a bound of validate.c, not of the network). */
START_TEST(test_tool_name_limit)
{
	char err[IC_ERRBUF_MAX];
	char *n = repeat_new("t", 64);
	char *n1 = repeat_new("t", 65);
	char *ok = xasprintf("[{\"role\":\"tool\",\"content\":\"r\",\"tool_name\":\"%s\"}]", n);
	char *bad = xasprintf("[{\"role\":\"tool\",\"content\":\"r\",\"tool_name\":\"%s\"}]", n1);

	ck_assert_int_eq(vmsgs(ok, &ic_node_msg_rules, err), 0);
	ck_assert_int_eq(vmsgs(bad, &ic_node_msg_rules, err), -1);
	ck_assert_str_eq(err, "messages[0].tool_name: must be 1 to 64 bytes of UTF-8");
	free(n);
	free(n1);
	free(ok);
	free(bad);
}
END_TEST

/*
 * An assistant message whose tool_calls serialize to exactly chars code
 * points (arguments padded with "é": a byte count would refuse it).
 */
static json_object *tool_call_msg_new(size_t chars)
{
	static const char pre[] = "[{\"function\":{\"name\":\"f\",\"arguments\":{\"q\":\"";
	static const char post[] = "\"}}}]";
	size_t fixed = strlen(pre) + strlen(post);
	char *pad = repeat_new("\xC3\xA9", chars - fixed);
	char *text = xasprintf("%s%s%s", pre, pad, post);
	json_object *m = json_object_new_object();

	json_object_object_add(m, "role", json_object_new_string("assistant"));
	json_object_object_add(m, "tool_calls", json_tokener_parse(text));
	ck_assert_int_eq(
		strlen(json_object_to_json_string_ext(json_object_object_get(m, "tool_calls"),
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)),
		strlen(text));
	free(pad);
	free(text);
	return m;
}

/* Serialized tool_calls count like content: per message and in the total. */
START_TEST(test_tool_calls_limit)
{
	char err[IC_ERRBUF_MAX];
	char want[IC_ERRBUF_MAX];
	size_t full = IC_TOTAL_CHARS_MAX / IC_MESSAGE_CHARS_MAX;
	char *n = repeat_new("a", IC_MESSAGE_CHARS_MAX);
	json_object *m;

	m = json_object_new_array();
	json_object_array_add(m, tool_call_msg_new(IC_MESSAGE_CHARS_MAX));
	ck_assert_int_eq(vobj(m, &ic_node_msg_rules, err), 0);
	m = json_object_new_array();
	json_object_array_add(m, tool_call_msg_new(IC_MESSAGE_CHARS_MAX + 1));
	ck_assert_int_eq(vobj(m, &ic_node_msg_rules, err), -1);
	snprintf(want, sizeof(want),
		"messages[0].tool_calls: longer than %d "
		"characters serialized",
		IC_MESSAGE_CHARS_MAX);
	ck_assert_str_eq(err, want);

	/* the total: 9 full contents + 10,000 of tool_calls, then 1 more */
	m = msgs_new(full - 1, n);
	json_object_array_add(m, tool_call_msg_new(IC_MESSAGE_CHARS_MAX));
	ck_assert_int_eq(vobj(m, &ic_node_msg_rules, err), 0);
	m = msgs_new(full - 1, n);
	json_object_array_add(m, tool_call_msg_new(IC_MESSAGE_CHARS_MAX));
	add_msg(m, "x");
	ck_assert_int_eq(vobj(m, &ic_node_msg_rules, err), -1);
	snprintf(want, sizeof(want), "messages: longer than %d characters in all",
		IC_TOTAL_CHARS_MAX);
	ck_assert_str_eq(err, want);
	free(n);
}
END_TEST

/* --- tools, format, options --- */

/* Run fn on JSON text; err gets the message.  Returns the rc. */
static int vextra(int (*fn)(json_object *, char *, size_t), const char *json, char *err)
{
	json_object *v = json_tokener_parse(json);
	int rc;

	ck_assert_msg(v != NULL || strcmp(json, "null") == 0, "test JSON does not parse: %s", json);
	err[0] = '\0';
	rc = fn(v, err, IC_ERRBUF_MAX);
	json_object_put(v);
	return rc;
}

/* An array of count tools, serialized to exactly bytes when bytes > 0. */
static char *tools_new(size_t count, size_t bytes)
{
	json_object *a = json_object_new_array();
	size_t i, len;
	char *s, *pad;
	json_object *desc;

	for (i = 0; i < count; i++)
		json_object_array_add(a,
			json_tokener_parse("{\"type\":\"function\",\"function\":{\"name\":\"f\","
					   "\"description\":\"\"}}"));
	len = strlen(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	if (bytes > len) {
		pad = repeat_new("d", bytes - len);
		desc = json_object_object_get(
			json_object_object_get(json_object_array_get_idx(a, 0), "function"),
			"description");
		json_object_set_string(desc, pad);
		free(pad);
	}
	s = xstrdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	json_object_put(a);
	return s;
}

START_TEST(test_tools_limits)
{
	char err[IC_ERRBUF_MAX];
	char want[IC_ERRBUF_MAX];
	char *t;

	ck_assert_int_eq(vextra(ic_validate_tools, "null", err), 0);
	ck_assert_int_eq(vextra(ic_validate_tools, "[]", err), 0);
	t = tools_new(IC_TOOLS_MAX, 0);
	ck_assert_int_eq(vextra(ic_validate_tools, t, err), 0);
	free(t);
	t = tools_new(IC_TOOLS_MAX + 1, 0);
	ck_assert_int_eq(vextra(ic_validate_tools, t, err), -1);
	snprintf(want, sizeof(want), "tools: at most %d tools, not %d", IC_TOOLS_MAX,
		IC_TOOLS_MAX + 1);
	ck_assert_str_eq(err, want);
	free(t);
	t = tools_new(2, IC_TOOLS_BYTES_MAX);
	ck_assert_int_eq(strlen(t), IC_TOOLS_BYTES_MAX);
	ck_assert_int_eq(vextra(ic_validate_tools, t, err), 0);
	free(t);
	t = tools_new(2, IC_TOOLS_BYTES_MAX + 1);
	ck_assert_int_eq(vextra(ic_validate_tools, t, err), -1);
	snprintf(want, sizeof(want), "tools: longer than %d bytes serialized", IC_TOOLS_BYTES_MAX);
	ck_assert_str_eq(err, want);
	free(t);
	ck_assert_int_eq(vextra(ic_validate_tools, "{}", err), -1);
	ck_assert_str_eq(err, "tools: must be an array");
	ck_assert_int_eq(vextra(ic_validate_tools, "[{},\"x\"]", err), -1);
	ck_assert_str_eq(err, "tools[1]: must be an object");
}
END_TEST

/* A schema {"description":"ddd..."} of exactly bytes bytes. */
static char *schema_new(size_t bytes)
{
	static const char pre[] = "{\"description\":\"", post[] = "\"}";
	char *pad = repeat_new("d", bytes - strlen(pre) - strlen(post));
	char *s = xasprintf("%s%s%s", pre, pad, post);

	free(pad);
	return s;
}

START_TEST(test_format_limits)
{
	char err[IC_ERRBUF_MAX];
	char want[IC_ERRBUF_MAX];
	char *f;

	ck_assert_int_eq(vextra(ic_validate_format, "null", err), 0);
	ck_assert_int_eq(vextra(ic_validate_format, "\"json\"", err), 0);
	ck_assert_int_eq(vextra(ic_validate_format, "{\"type\":\"object\"}", err), 0);
	f = schema_new(IC_FORMAT_BYTES_MAX);
	ck_assert_int_eq(vextra(ic_validate_format, f, err), 0);
	free(f);
	f = schema_new(IC_FORMAT_BYTES_MAX + 1);
	ck_assert_int_eq(vextra(ic_validate_format, f, err), -1);
	snprintf(
		want, sizeof(want), "format: longer than %d bytes serialized", IC_FORMAT_BYTES_MAX);
	ck_assert_str_eq(err, want);
	free(f);
	ck_assert_int_eq(vextra(ic_validate_format, "\"yaml\"", err), -1);
	ck_assert_str_eq(err, "format: must be \"json\" or a JSON schema object");
	ck_assert_int_eq(vextra(ic_validate_format, "[1]", err), -1);
	ck_assert_int_eq(vextra(ic_validate_format, "1", err), -1);
}
END_TEST

/* options {"key": value} from a key and a JSON value text. */
static int vopt(const char *key, const char *value, char *err)
{
	char *text = xasprintf("{\"%s\":%s}", key, value);
	int rc = vextra(ic_validate_options, text, err);

	free(text);
	return rc;
}

START_TEST(test_options_ranges)
{
	static const struct {
		const char *key, *ok, *bad;
	} cases[] = {
		/* at the limit, one past it */
		{ "num_ctx", "131072", "131073" },
		{ "num_ctx", "1", "0" },
		{ "num_predict", "16384", "16385" },
		{ "num_predict", "-1", "-2" },
		{ "num_keep", "-1", "-2" },
		{ "repeat_last_n", "131072", "131073" },
		{ "seed", "2147483647", "2147483648" },
		{ "seed", "-2147483648", "-2147483649" },
		{ "top_k", "1000", "1001" },
		{ "mirostat", "2", "3" },
		{ "temperature", "2", "2.0001" },
		{ "temperature", "0", "-0.0001" },
		{ "top_p", "1.0", "1.5" },
		{ "min_p", "0", "-1" },
		{ "typical_p", "0.5", "2" },
		{ "repeat_penalty", "1.1", "2.5" },
		{ "presence_penalty", "-2", "-2.5" },
		{ "frequency_penalty", "2", "3" },
		{ "mirostat_tau", "10", "11" },
		{ "mirostat_eta", "0.1", "1.1" },
		{ "penalize_newline", "true", "1" },
		/* types: whole numbers must be whole numbers */
		{ "num_ctx", "4096", "4096.0" },
		{ "num_ctx", "2048", "\"2048\"" },
		{ "temperature", "1", "\"1\"" },
		{ "temperature", "0.7", "null" },
		{ "num_ctx", "8", "999999999" },
		{ "num_ctx", "8", "18446744073709551615" },
	};
	char err[IC_ERRBUF_MAX];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(vopt(cases[i].key, cases[i].ok, err) == 0, "%s=%s: %s", cases[i].key,
			cases[i].ok, err);
		ck_assert_msg(vopt(cases[i].key, cases[i].bad, err) == -1, "%s=%s passed",
			cases[i].key, cases[i].bad);
		ck_assert_msg(
			strncmp(err, "options.", 8) == 0 && strstr(err, cases[i].key), "%s", err);
	}
	ck_assert_int_eq(vopt("num_ctx", "131073", err), -1);
	ck_assert_str_eq(err, "options.num_ctx: must be a whole number from 1 to 131072");
	ck_assert_int_eq(vopt("temperature", "3", err), -1);
	ck_assert_str_eq(err, "options.temperature: must be a number from 0 to 2");
}
END_TEST

START_TEST(test_options_keys)
{
	char err[IC_ERRBUF_MAX];
	char *stop, *s;
	size_t i;

	ck_assert_int_eq(vextra(ic_validate_options, "null", err), 0);
	ck_assert_int_eq(vextra(ic_validate_options, "{}", err), 0);
	ck_assert_int_eq(vextra(ic_validate_options,
				 "{\"temperature\":0.2,\"num_ctx\":8192,\"num_predict\":256,"
				 "\"top_k\":40,\"top_p\":0.9,\"seed\":42,\"stop\":[\"\\n\"]}",
				 err),
		0);
	/* the machine's settings are the contributor's, not the router's */
	ck_assert_int_eq(vopt("num_gpu", "99", err), -1);
	ck_assert_str_eq(err, "options.num_gpu: not allowed");
	ck_assert_int_eq(vopt("num_thread", "64", err), -1);
	ck_assert_int_eq(vopt("main_gpu", "0", err), -1);
	ck_assert_int_eq(vopt("num_batch", "512", err), -1);
	ck_assert_int_eq(vopt("use_mmap", "false", err), -1);
	ck_assert_int_eq(vopt("numa", "true", err), -1);
	ck_assert_int_eq(vopt("NUM_CTX", "1", err), -1);
	ck_assert_int_eq(vopt("a\\nb", "1", err), -1);
	ck_assert_str_eq(err, "options: has a key that is not allowed");
	ck_assert_int_eq(vextra(ic_validate_options, "[]", err), -1);
	ck_assert_str_eq(err, "options: must be an object");

	/* stop: IC_OPT_STOP_MAX strings of up to IC_OPT_STOP_BYTES_MAX bytes */
	stop = xstrdup("[\"s\"");
	for (i = 1; i < IC_OPT_STOP_MAX; i++) {
		s = xasprintf("%s,\"s\"", stop);
		free(stop);
		stop = s;
	}
	s = xasprintf("%s]", stop);
	ck_assert_int_eq(vopt("stop", s, err), 0);
	free(s);
	s = xasprintf("%s,\"s\"]", stop);
	ck_assert_int_eq(vopt("stop", s, err), -1);
	free(s);
	free(stop);
	stop = repeat_new("z", IC_OPT_STOP_BYTES_MAX);
	s = xasprintf("[\"%s\"]", stop);
	ck_assert_int_eq(vopt("stop", s, err), 0);
	free(s);
	s = xasprintf("[\"%sz\"]", stop);
	ck_assert_int_eq(vopt("stop", s, err), -1);
	ck_assert_str_eq(err, "options.stop[0]: must be 1 to 256 bytes of UTF-8");
	free(s);
	free(stop);
	ck_assert_int_eq(vopt("stop", "[\"\"]", err), -1);
	ck_assert_int_eq(vopt("stop", "\"x\"", err), -1);
	ck_assert_int_eq(vopt("stop", "[1]", err), -1);
}
END_TEST

/* --- URLs --- */

struct url_case {
	const char *in;
	const char *scheme, *host;
	int port;
	const char *path;
};

static void check_url(const struct url_case *c, bool ollama)
{
	struct ic_url u;
	char err[IC_ERRBUF_MAX] = "";
	int rc = ollama ? ic_ollama_host_parse(c->in, &u, err, sizeof(err))
			: ic_url_parse(c->in, &u, err, sizeof(err));

	ck_assert_msg(rc == 0, "%s refused: %s", c->in, err);
	ck_assert_str_eq(u.scheme, c->scheme);
	ck_assert_str_eq(u.host, c->host);
	ck_assert_int_eq(u.port, c->port);
	ck_assert_str_eq(u.path, c->path);
	ck_assert(u.tls == (strcmp(c->scheme, "https") == 0));
	ic_url_clear(&u);
	ck_assert_ptr_null(u.host);
}

START_TEST(test_url_good)
{
	static const struct url_case cases[] = { { "http://example.com", "http", "example.com", 80,
							 "" },
		{ "https://api.idleclaw.com", "https", "api.idleclaw.com", 443, "" },
		{ "HTTPS://Example.COM/", "https", "Example.COM", 443, "/" },
		{ "http://127.0.0.1:8080/api/chat", "http", "127.0.0.1", 8080, "/api/chat" },
		{ "http://h:1", "http", "h", 1, "" }, { "http://h:65535", "http", "h", 65535, "" },
		{ "http://h:00080", "http", "h", 80, "" },
		{ "http://[::1]:11434/x?y=1", "http", "::1", 11434, "/x?y=1" },
		{ "https://[2001:db8::1]", "https", "2001:db8::1", 443, "" },
		{ "http://h?q=1", "http", "h", 80, "/?q=1" },
		{ "http://my_host.local", "http", "my_host.local", 80, "" },
		{ NULL, NULL, NULL, 0, NULL } };
	size_t i;

	for (i = 0; cases[i].in; i++)
		check_url(&cases[i], false);
}
END_TEST

START_TEST(test_url_bad)
{
	static const char *const bad[] = { "", "example.com", "ftp://example.com",
		"ws://example.com", "file:///etc/passwd", "javascript:alert(1)",
		"http:/example.com", "http://", "http:///path", "http://:80", "http://user@host",
		"http://user:pw@host/", "http://host:0", "http://host:65536",
		"http://host:99999999999999999999", "http://host:", "http://host:8a",
		"http://host:-1", "http://host:+80", "http://ho st", "http://host/a b",
		"http://host/\x01", "http://host/\x7F", "http://h\xC3\xA9st", "http://[::1",
		"http://[zz::1]", "http://[::1]x", "http://[]", "http://[::1]:0",
		"http://host#frag", "http://host/p#f", "http://ho%73t", "http://host:80:81",
		"http://a!b", " http://host", "http://host\n", NULL };
	size_t i;

	for (i = 0; bad[i]; i++) {
		struct ic_url u;
		char err[IC_ERRBUF_MAX] = "";

		ck_assert_msg(
			ic_url_parse(bad[i], &u, err, sizeof(err)) == -1, "accepted %s", bad[i]);
		ck_assert_msg(err[0] != '\0', "no error for %s", bad[i]);
		ck_assert_ptr_null(u.host);
		ck_assert_ptr_null(u.scheme);
		ck_assert_ptr_null(u.path);
	}
	ck_assert_int_eq(ic_url_parse(NULL, &(struct ic_url){ 0 }, NULL, 0), -1);
}
END_TEST

/* A DNS name is at most 253 bytes. */
START_TEST(test_url_host_limit)
{
	struct ic_url u;
	char *h = repeat_new("h", 253);
	char *h1 = repeat_new("h", 254);
	char *ok = xasprintf("http://%s:1/", h);
	char *bad = xasprintf("http://%s:1/", h1);

	ck_assert_int_eq(ic_url_parse(ok, &u, NULL, 0), 0);
	ck_assert_str_eq(u.host, h);
	ic_url_clear(&u);
	ck_assert_int_eq(ic_url_parse(bad, &u, NULL, 0), -1);
	free(h);
	free(h1);
	free(ok);
	free(bad);
}
END_TEST

START_TEST(test_url_errors_are_clear)
{
	struct ic_url u;
	char err[IC_ERRBUF_MAX];

	ck_assert_int_eq(ic_url_parse("http://u:p@h", &u, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "URL must not contain a user name or password");
	ck_assert_int_eq(ic_url_parse("http://h:70000", &u, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "URL port must be a number from 1 to 65535");
	ck_assert_int_eq(ic_url_parse("gopher://h", &u, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "URL must start with http:// or https://");
}
END_TEST

START_TEST(test_ollama_host_good)
{
	static const struct url_case cases[] = { { "", "http", "127.0.0.1", 11434, "" },
		{ "   ", "http", "127.0.0.1", 11434, "" }, { "host", "http", "host", 11434, "" },
		{ "1.2.3.4", "http", "1.2.3.4", 11434, "" },
		{ "host:56789", "http", "host", 56789, "" },
		{ ":56789", "http", "127.0.0.1", 56789, "" },
		{ "0.0.0.0:11434", "http", "0.0.0.0", 11434, "" },
		{ "http://host:1234", "http", "host", 1234, "" },
		/* an explicit scheme brings its own default port, as in Ollama */
		{ "http://host", "http", "host", 80, "" },
		{ "https://host", "https", "host", 443, "" },
		{ "https://host:56789/path/", "https", "host", 56789, "/path" },
		{ "http://host/", "http", "host", 80, "" },
		{ "host:1234//", "http", "host", 1234, "" },
		{ "\"host:1234\"", "http", "host", 1234, "" },
		{ " 'host' ", "http", "host", 11434, "" }, { "[::1]", "http", "::1", 11434, "" },
		{ "[::1]:8080", "http", "::1", 8080, "" }, { "::1", "http", "::1", 11434, "" },
		{ "[0001:002:003:0004::1]:56789", "http", "0001:002:003:0004::1", 56789, "" },
		{ "http://[::1]", "http", "::1", 80, "" }, { NULL, NULL, NULL, 0, NULL } };
	size_t i;

	for (i = 0; cases[i].in; i++)
		check_url(&cases[i], true);
}
END_TEST

START_TEST(test_ollama_host_bad)
{
	static const char *const bad[] = { "ftp://host", "host:0", "host:65536", "host:x",
		"host:", "u@host", "ho st", "host\x01", "1::2::3", "[::1",
		"[::1]:", "http://host:80:80", "h\xC3\xA9", "host?x=1", NULL };
	size_t i;

	for (i = 0; bad[i]; i++) {
		struct ic_url u;
		char err[IC_ERRBUF_MAX] = "";

		ck_assert_msg(ic_ollama_host_parse(bad[i], &u, err, sizeof(err)) == -1,
			"accepted %s", bad[i]);
		ck_assert(err[0] != '\0');
		ck_assert_ptr_null(u.host);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("validate");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_model_names_good);
	tcase_add_test(tc, test_model_names_bad);
	tcase_add_test(tc, test_model_name_limit);
	tcase_add_test(tc, test_node_id);
	tcase_add_test(tc, test_request_id);
	tcase_add_test(tc, test_messages_good);
	tcase_add_test(tc, test_messages_shape);
	tcase_add_test(tc, test_messages_roles);
	tcase_add_test(tc, test_messages_members);
	tcase_add_test(tc, test_messages_bad_text);
	tcase_add_test(tc, test_messages_count_limit);
	tcase_add_test(tc, test_messages_chars_limit);
	tcase_add_test(tc, test_messages_total_limit);
	tcase_add_test(tc, test_tool_name_limit);
	tcase_add_test(tc, test_tool_calls_limit);
	tcase_add_test(tc, test_tools_limits);
	tcase_add_test(tc, test_format_limits);
	tcase_add_test(tc, test_options_ranges);
	tcase_add_test(tc, test_options_keys);
	tcase_add_test(tc, test_url_host_limit);
	tcase_add_test(tc, test_url_good);
	tcase_add_test(tc, test_url_bad);
	tcase_add_test(tc, test_url_errors_are_clear);
	tcase_add_test(tc, test_ollama_host_good);
	tcase_add_test(tc, test_ollama_host_bad);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
