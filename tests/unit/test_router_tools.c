/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests for router/tools.c (the registry's argument checks),
 * router/prompt.c's pure parts (name patterns, the date line) and
 * tools-searxng.c's formatting of a SearXNG reply.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/limits.h"
#include "common/proto.h"
#include "router/prompt.h"
#include "router/rconfig.h"
#include "router/tools.h"
#include "router/tools-searxng.h"

static struct router_config *cfg_with(const char *searxng_url)
{
	char *errors = NULL;
	struct router_config *cfg = ic_config_load_new(&router_config_schema, NULL, NULL, &errors);

	ck_assert_msg(cfg != NULL, "%s", errors ? errors : "");
	if (searxng_url)
		cfg->searxng_url = strdup(searxng_url);
	return cfg;
}

static enum tool_id check(
	struct router_config *cfg, const char *name, const char *args, char *err, size_t errlen)
{
	json_object *a = json_tokener_parse(args);
	const char *q;
	enum tool_id id = tools_check(cfg, name, a, &q, err, errlen);

	json_object_put(a);
	return id;
}

START_TEST(test_check)
{
	struct router_config *cfg = cfg_with("http://127.0.0.1:1");
	char err[160], q500[1100], q501[1100];

	ck_assert_int_eq(
		check(cfg, "web_search", "{\"query\":\"x\"}", err, sizeof(err)), TOOL_WEB_SEARCH);
	ck_assert_int_eq(check(cfg, "web_search", "{\"query\":5}", err, sizeof(err)), TOOL_NONE);
	ck_assert_str_eq(err, "argument 'query' must be a string");
	ck_assert_int_eq(
		check(cfg, "web_search", "{\"query\":\"x\",\"n\":1}", err, sizeof(err)), TOOL_NONE);
	ck_assert_str_eq(err, "unknown argument for web_search (its arguments: query)");
	ck_assert_int_eq(check(cfg, "web_search", "{}", err, sizeof(err)), TOOL_NONE);
	ck_assert_str_eq(err, "missing required argument 'query' for web_search");
	ck_assert_int_eq(check(cfg, "web_search", "[]", err, sizeof(err)), TOOL_NONE);
	ck_assert_str_eq(err, "arguments of web_search must be a JSON object");
	ck_assert_int_eq(check(cfg, "shell", "{}", err, sizeof(err)), TOOL_NONE);
	ck_assert_str_eq(err, "unknown tool (the tools: web_search)");
	/* a node's names are never repeated: the consumer reads err */
	ck_assert_int_eq(check(cfg, "<script>\x1b]0;t\x07", "{}", err, sizeof(err)), TOOL_NONE);
	ck_assert_str_eq(err, "unknown tool (the tools: web_search)");
	ck_assert_int_eq(check(cfg, "web_search", "{\"query\":\"x\",\"<iframe\x1b[2J\":1}", err,
				 sizeof(err)),
		TOOL_NONE);
	ck_assert_str_eq(err, "unknown argument for web_search (its arguments: query)");
	ck_assert_str_eq(tools_offered_name(cfg, "web_search"), "web_search");
	ck_assert_ptr_null(tools_offered_name(cfg, "web_search "));
	ck_assert_ptr_null(tools_offered_name(cfg, NULL));
	ck_assert_int_eq(check(cfg, "web_search", "{\"query\":\"\"}", err, sizeof(err)), TOOL_NONE);
	/* 500 characters (two bytes each) pass, 501 do not */
	strcpy(q500, "{\"query\":\"");
	for (int i = 0; i < TOOL_QUERY_MAX_CHARS; i++)
		strcat(q500, "\xc3\xa9");
	strcpy(q501, q500);
	strcat(q500, "\"}");
	strcat(q501, "e\"}");
	ck_assert_int_eq(check(cfg, "web_search", q500, err, sizeof(err)), TOOL_WEB_SEARCH);
	ck_assert_int_eq(check(cfg, "web_search", q501, err, sizeof(err)), TOOL_NONE);
	ic_config_free(&router_config_schema, cfg);
}
END_TEST

START_TEST(test_no_tools_without_url)
{
	struct router_config *cfg = cfg_with(NULL);
	char err[160];

	/* the network's numbers are the defaults */
	ck_assert_int_eq(cfg->tool_timeout, IC_TOOL_TIMEOUT_S);
	ck_assert_int_eq(cfg->tool_timeout, 15);
	ck_assert_int_eq(cfg->tool_calls_max, IC_TOOL_CALLS_PER_MIN);
	ck_assert_int_eq(cfg->tool_calls_window, 60);
	ck_assert(!tools_enabled(cfg));
	ck_assert_ptr_null(tools_ollama_new(cfg));
	ck_assert_ptr_null(tools_instructions_new(cfg));
	ck_assert_int_eq(
		check(cfg, "web_search", "{\"query\":\"x\"}", err, sizeof(err)), TOOL_NONE);
	ic_config_free(&router_config_schema, cfg);
}
END_TEST

START_TEST(test_patterns_and_date)
{
	struct router_config *cfg = cfg_with(NULL);
	char line[96];

	ck_assert(prompt_name_matches("qwen3, llama3.2", "LLAMA3.2:3b"));
	ck_assert(prompt_name_matches("qwen3", "qwen3:8b"));
	ck_assert(!prompt_name_matches("qwen3", "qwen2.5:7b"));
	ck_assert(!prompt_name_matches("", "qwen3"));
	/* shell patterns, either case; a bare entry is still a part of the name */
	ck_assert(prompt_name_matches("*qwen3*", "QWEN3:8b"));
	ck_assert(prompt_name_matches("llama3.?:*", "llama3.1:8b"));
	ck_assert(!prompt_name_matches("llama3.?:*", "tinyllama3.1:8b"));
	ck_assert(prompt_name_matches("llama3", "tinyllama3.1:8b"));
	ck_assert(prompt_name_matches("Q?en3*", "qwen3:8b"));
	ck_assert(!prompt_name_matches("qwen3*", "my-qwen3:8b"));
	ck_assert(prompt_name_matches("gemma2 ,\tQWEN3", "hf.co/x/qwen3-abl:Q4"));
	ck_assert(!prompt_name_matches("[", "qwen3"));
	ck_assert(!prompt_name_matches(NULL, "qwen3"));
	ck_assert_uint_eq(prompt_model_caps(cfg, NULL, "qwen3:8b"), IC_CAP_THINKING | IC_CAP_TOOLS);
	ck_assert_uint_eq(prompt_model_caps(cfg, NULL, "gemma2:2b"), 0);
	ck_assert_uint_eq(prompt_model_caps(cfg, NULL, "mistral:7b"), IC_CAP_TOOLS);
	/* the defaults are patterns now, and match what the name parts did */
	ck_assert_str_eq(cfg->thinking_models, "*qwen3*");
	ck_assert_uint_eq(prompt_model_caps(cfg, NULL, "hf.co/u/Qwen3-4B:Q4_K_M"),
		IC_CAP_THINKING | IC_CAP_TOOLS);
	ck_assert_uint_eq(prompt_model_caps(cfg, NULL, "my-gpt-oss:20b"), IC_CAP_TOOLS);
	prompt_date_line(1796083200, line, sizeof(line)); /* 2026-12-01 00:00 UTC */
	ck_assert_str_eq(line, "Today's date is December 1, 2026.");
	prompt_date_line(1796083199, line, sizeof(line));
	ck_assert_str_eq(line, "Today's date is November 30, 2026.");
	ic_config_free(&router_config_schema, cfg);
}
END_TEST

START_TEST(test_format)
{
	const char *why = NULL;
	const char *body =
		"{\"results\":[{\"title\":\"A\",\"url\":\"https://a\",\"content\":\"s\"},"
		"{\"title\":\"B\",\"url\":\"https://b\"},7,"
		"{\"title\":\"C\",\"url\":\"https://c\",\"content\":\"c\"},"
		"{\"title\":\"D\",\"url\":\"https://d\",\"content\":\"d\"}]}";
	char *s = searx_format_new(body, strlen(body), &why);

	ck_assert_str_eq(s,
		"1. A\n   URL: https://a\n   s\n\n2. B\n   URL: https://b\n   \n\n"
		"3. C\n   URL: https://c\n   c\n");
	free(s);
	s = searx_format_new("{\"results\":[]}", 14, &why);
	ck_assert_str_eq(s, "No results found.");
	free(s);
	ck_assert_ptr_null(searx_format_new("{\"results\":[", 12, &why));
	ck_assert_str_eq(why, "the search service sent malformed JSON");
	ck_assert_ptr_null(searx_format_new("{\"x\":1}", 7, &why));
	ck_assert_str_eq(why, "the search service's reply has no results array");
}
END_TEST

static json_object *msg(const char *role, size_t chars)
{
	json_object *m = json_object_new_object();
	char *text = malloc(chars + 1);

	memset(text, 'a', chars);
	text[chars] = '\0';
	json_object_object_add(m, "role", json_object_new_string(role));
	json_object_object_add(m, "content", json_object_new_string(text));
	free(text);
	return m;
}

static json_object *params(struct router_config *cfg, json_object *history)
{
	struct prompt_in in = { .model = "m", .messages = history, .now = 0 };

	return prompt_params_new(cfg, &in);
}

/* What tool rounds add is trimmed from the oldest end to what a node
 * accepts: IC_MESSAGES_MAX messages, IC_TOTAL_CHARS_MAX characters. */
START_TEST(test_trim)
{
	struct router_config *cfg = cfg_with(NULL);
	json_object *h = json_object_new_array(), *p, *msgs;
	size_t sys;

	cfg->system_prompt = strdup("S");
	for (int i = 0; i < IC_MESSAGES_MAX - 1; i++)
		json_object_array_add(h, msg(i % 2 ? "assistant" : "user", 1));
	p = params(cfg, h);
	json_object_object_get_ex(p, "messages", &msgs);
	ck_assert_uint_eq(json_object_array_length(msgs), IC_MESSAGES_MAX); /* N */
	json_object_put(p);
	/* N+1: the oldest goes; a tool result left in front goes with it */
	json_object_array_put_idx(h, 1, msg("tool", 1));
	json_object_array_add(h, msg("user", 1));
	p = params(cfg, h);
	json_object_object_get_ex(p, "messages", &msgs);
	ck_assert_uint_eq(json_object_array_length(msgs), IC_MESSAGES_MAX - 1);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(
				 json_object_array_get_idx(msgs, 1), "role")),
		"user"); /* the 3rd */
	json_object_put(p);
	json_object_put(h);
	/* characters: the system text plus two messages filling the rest */
	h = json_object_new_array();
	p = params(cfg, h);
	json_object_object_get_ex(p, "messages", &msgs);
	sys = strlen(json_object_get_string(
		json_object_object_get(json_object_array_get_idx(msgs, 0), "content")));
	json_object_put(p);
	json_object_array_add(h, msg("user", 10));
	json_object_array_add(h, msg("user", IC_TOTAL_CHARS_MAX - sys - 10));
	p = params(cfg, h);
	json_object_object_get_ex(p, "messages", &msgs);
	ck_assert_uint_eq(json_object_array_length(msgs), 3);
	json_object_put(p);
	json_object_put(h);
	h = json_object_new_array();
	json_object_array_add(h, msg("user", 11));
	json_object_array_add(h, msg("user", IC_TOTAL_CHARS_MAX - sys - 10));
	p = params(cfg, h);
	json_object_object_get_ex(p, "messages", &msgs);
	ck_assert_uint_eq(json_object_array_length(msgs), 2);
	json_object_put(p);
	json_object_put(h);
	ic_config_free(&router_config_schema, cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("router_tools");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_no_tools_without_url);
	tcase_add_test(tc, test_patterns_and_date);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_trim);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
