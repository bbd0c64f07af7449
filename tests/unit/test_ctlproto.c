/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for common/ctlproto.c: the control-socket messages. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "jsonutil.h"
#include "limits.h"
#include "xmalloc.h"

/* Parse a request given as text; the caller clears req. */
static enum ctl_status parse(const char *text, struct ctl_request *req)
{
	return ctl_request_parse(text, strlen(text), req);
}

static enum ctl_status args_check_text(
	const char *cmd, const char *args_text, char *err, size_t errlen)
{
	json_object *args = ic_json_parse_new(args_text, strlen(args_text));
	enum ctl_status st;

	ck_assert_ptr_nonnull(args);
	st = ctl_args_check(cmd, args, err, errlen);
	json_object_put(args);
	return st;
}

/* A string of n copies of c; the caller frees it. */
static char *repeat(char c, size_t n)
{
	char *s = xmalloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

START_TEST(test_status_table)
{
	int i, j;

	for (i = 0; i < CTL_ST_COUNT; i++) {
		const char *name = ctl_status_name(i);

		ck_assert_ptr_nonnull(name);
		const char *sentence = ctl_status_message(i);

		/* one whole sentence */
		ck_assert_int_ge(strlen(sentence), 5);
		ck_assert_int_eq(sentence[strlen(sentence) - 1], '.');
		ck_assert_int_eq(ctl_status_from_name(name), i);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(ctl_status_name(j), name);
	}
	ck_assert_ptr_null(ctl_status_name(CTL_ST_COUNT));
	ck_assert_int_eq(ctl_status_from_name("nope"), -1);
	ck_assert_int_eq(ctl_status_from_name(NULL), -1);
	ck_assert_int_eq(ctl_status_exit_code(CTL_ST_OK), 0);
	ck_assert_int_eq(ctl_status_exit_code(CTL_ST_FAILED), CTL_EXIT_FAILED);
	ck_assert_int_eq(ctl_status_exit_code(CTL_ST_BAD_ARGS), CTL_EXIT_USAGE);
	ck_assert_int_eq(ctl_status_exit_code(CTL_ST_PERMISSION), CTL_EXIT_PERMISSION);
	ck_assert_int_eq(ctl_status_exit_code(CTL_ST_UNAVAILABLE), CTL_EXIT_UNAVAILABLE);
	ck_assert_int_eq(ctl_status_exit_code(CTL_ST_BAD_VERSION), CTL_EXIT_INCOMPATIBLE);
	ck_assert_int_eq(ctl_status_exit_code(CTL_ST_COUNT), CTL_EXIT_FAILED);
	ck_assert_str_eq(ctl_status_name(CTL_ST_OK), "ok");
	ck_assert_str_eq(ctl_status_name(CTL_ST_TOO_LONG), "too_long");
	/* every status but ok is a failure */
	for (i = 1; i < CTL_ST_COUNT; i++)
		ck_assert_int_ne(ctl_status_exit_code(i), 0);
}
END_TEST

START_TEST(test_event_names)
{
	int i;

	for (i = 0; i < CTL_EV_COUNT; i++)
		ck_assert_int_eq(ctl_event_from_name(ctl_event_name(i)), i);
	ck_assert_str_eq(ctl_event_name(CTL_EV_DONE), "done");
	ck_assert_str_eq(ctl_event_name(CTL_EV_CONTENT), "content");
	ck_assert_ptr_null(ctl_event_name(CTL_EV_COUNT));
	ck_assert_int_eq(ctl_event_from_name("sparkle"), -1);
}
END_TEST

START_TEST(test_valid_id)
{
	char *s;

	ck_assert(ctl_valid_id("a"));
	ck_assert(ctl_valid_id("req-1.2_x:Y"));
	s = repeat('x', CTL_ID_MAX);
	ck_assert(ctl_valid_id(s));
	free(s);
	s = repeat('x', CTL_ID_MAX + 1);
	ck_assert(!ctl_valid_id(s));
	free(s);
	ck_assert(!ctl_valid_id(""));
	ck_assert(!ctl_valid_id(NULL));
	ck_assert(!ctl_valid_id("a b"));
	ck_assert(!ctl_valid_id("a/b"));
	ck_assert(!ctl_valid_id("\xc3\xa9"));
}
END_TEST

START_TEST(test_request_parse_ok)
{
	struct ctl_request req;

	ck_assert_int_eq(
		parse("{\"v\":1,\"id\":\"r1\",\"cmd\":\"pause\",\"args\":{\"seconds\":5}}", &req),
		CTL_ST_OK);
	ck_assert_str_eq(req.id, "r1");
	ck_assert_str_eq(req.cmd, "pause");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(req.args, "seconds")), 5);
	ctl_request_clear(&req);
	ck_assert_ptr_null(req.root);

	/* args absent or null: an empty object */
	ck_assert_int_eq(parse("{\"v\":1,\"id\":\"r2\",\"cmd\":\"status\"}", &req), CTL_ST_OK);
	ck_assert_ptr_nonnull(req.args);
	ck_assert_int_eq(json_object_object_length(req.args), 0);
	ctl_request_clear(&req);
	ck_assert_int_eq(
		parse("{\"v\":1,\"id\":\"r3\",\"cmd\":\"status\",\"args\":null} \r\n", &req),
		CTL_ST_OK);
	ck_assert(json_object_is_type(req.args, json_type_object));
	ctl_request_clear(&req);
}
END_TEST

START_TEST(test_request_parse_errors)
{
	struct ctl_request req;

	ck_assert_int_eq(parse("hello", &req), CTL_ST_BAD_JSON);
	ck_assert_ptr_null(req.id);
	ctl_request_clear(&req);
	ck_assert_int_eq(parse("[1,2]", &req), CTL_ST_BAD_JSON);
	ctl_request_clear(&req);
	ck_assert_int_eq(
		parse("{\"v\":1,\"id\":\"a\",\"cmd\":\"status\"} x", &req), CTL_ST_BAD_JSON);
	ctl_request_clear(&req);
	ck_assert_int_eq(parse("{\"v\":1,\"id\":\"a\"", &req), CTL_ST_BAD_JSON);
	ctl_request_clear(&req);

	/* wrong or missing version: the reply can still name the request */
	ck_assert_int_eq(
		parse("{\"v\":2,\"id\":\"a\",\"cmd\":\"status\"}", &req), CTL_ST_BAD_VERSION);
	ck_assert_str_eq(req.id, "a");
	ctl_request_clear(&req);
	ck_assert_int_eq(parse("{\"id\":\"a\",\"cmd\":\"status\"}", &req), CTL_ST_BAD_VERSION);
	ctl_request_clear(&req);
	ck_assert_int_eq(
		parse("{\"v\":\"1\",\"id\":\"a\",\"cmd\":\"status\"}", &req), CTL_ST_BAD_VERSION);
	ctl_request_clear(&req);
	ck_assert_int_eq(
		parse("{\"v\":0,\"id\":\"a\",\"cmd\":\"status\"}", &req), CTL_ST_BAD_VERSION);
	ctl_request_clear(&req);

	/* id missing, mistyped or invalid */
	ck_assert_int_eq(parse("{\"v\":1,\"cmd\":\"status\"}", &req), CTL_ST_BAD_REQUEST);
	ck_assert_ptr_null(req.id);
	ctl_request_clear(&req);
	ck_assert_int_eq(parse("{\"v\":1,\"id\":7,\"cmd\":\"status\"}", &req), CTL_ST_BAD_REQUEST);
	ctl_request_clear(&req);
	ck_assert_int_eq(
		parse("{\"v\":1,\"id\":\"a b\",\"cmd\":\"status\"}", &req), CTL_ST_BAD_REQUEST);
	ck_assert_ptr_null(req.id);
	ctl_request_clear(&req);

	/* cmd missing or empty */
	ck_assert_int_eq(parse("{\"v\":1,\"id\":\"a\"}", &req), CTL_ST_BAD_REQUEST);
	ck_assert_str_eq(req.id, "a");
	ctl_request_clear(&req);
	ck_assert_int_eq(parse("{\"v\":1,\"id\":\"a\",\"cmd\":\"\"}", &req), CTL_ST_BAD_REQUEST);
	ctl_request_clear(&req);
	ck_assert_int_eq(parse("{\"v\":1,\"id\":\"a\",\"cmd\":3}", &req), CTL_ST_BAD_REQUEST);
	ctl_request_clear(&req);

	/* args not an object */
	ck_assert_int_eq(parse("{\"v\":1,\"id\":\"a\",\"cmd\":\"status\",\"args\":[]}", &req),
		CTL_ST_BAD_ARGS);
	ctl_request_clear(&req);
}
END_TEST

START_TEST(test_args_simple)
{
	char err[IC_ERRBUF_MAX];
	char buf[64];

	ck_assert_int_eq(args_check_text("status", "{}", err, sizeof(err)), CTL_ST_OK);
	ck_assert_int_eq(args_check_text("status", "{\"x\":1}", err, sizeof(err)), CTL_ST_BAD_ARGS);
	ck_assert_ptr_nonnull(strstr(err, "\"x\""));
	ck_assert_int_eq(args_check_text("resume", "{}", err, sizeof(err)), CTL_ST_OK);
	ck_assert_int_eq(args_check_text("reload", "{}", err, sizeof(err)), CTL_ST_OK);
	ck_assert_int_eq(args_check_text("models", "{}", err, sizeof(err)), CTL_ST_OK);
	ck_assert_int_eq(
		args_check_text("frobnicate", "{}", err, sizeof(err)), CTL_ST_UNKNOWN_COMMAND);
	ck_assert(ctl_command_known("chat"));
	ck_assert(!ctl_command_known("frobnicate"));

	/* pause: 1..CTL_PAUSE_MAX_S, optional */
	ck_assert_int_eq(args_check_text("pause", "{}", err, sizeof(err)), CTL_ST_OK);
	ck_assert_int_eq(args_check_text("pause", "{\"seconds\":1}", err, sizeof(err)), CTL_ST_OK);
	snprintf(buf, sizeof(buf), "{\"seconds\":%d}", CTL_PAUSE_MAX_S);
	ck_assert_int_eq(args_check_text("pause", buf, err, sizeof(err)), CTL_ST_OK);
	snprintf(buf, sizeof(buf), "{\"seconds\":%d}", CTL_PAUSE_MAX_S + 1);
	ck_assert_int_eq(args_check_text("pause", buf, err, sizeof(err)), CTL_ST_BAD_ARGS);
	ck_assert_ptr_nonnull(strstr(err, "seconds"));
	ck_assert_int_eq(
		args_check_text("pause", "{\"seconds\":0}", err, sizeof(err)), CTL_ST_BAD_ARGS);
	ck_assert_int_eq(
		args_check_text("pause", "{\"seconds\":\"5\"}", err, sizeof(err)), CTL_ST_BAD_ARGS);
	ck_assert_int_eq(
		args_check_text("pause", "{\"seconds\":1.5}", err, sizeof(err)), CTL_ST_BAD_ARGS);

	/* cancel: target required, an id */
	ck_assert_int_eq(
		args_check_text("cancel", "{\"target\":\"c1\"}", err, sizeof(err)), CTL_ST_OK);
	ck_assert_int_eq(args_check_text("cancel", "{}", err, sizeof(err)), CTL_ST_BAD_ARGS);
	ck_assert_int_eq(args_check_text("cancel", "{\"target\":\"a b\"}", err, sizeof(err)),
		CTL_ST_BAD_ARGS);
}
END_TEST

/* The command table: one row per name, what each row says, and that a
 * row's argument list drives ctl_args_check(). */
START_TEST(test_command_table)
{
	/* the rows of protocol version 1: never redefined */
	static const struct {
		const char *name;
		bool privileged, streams, spare_slot;
	} v1[] = {
		{ "status", false, false, false },
		{ "models", false, false, false },
		{ "pause", true, false, false },
		{ "resume", true, false, false },
		{ "reload", true, false, false },
		{ "chat", false, true, false },
		{ "cancel", false, false, true },
	};
	char err[IC_ERRBUF_MAX];
	size_t i, j, k;

	for (i = 0; i < sizeof(v1) / sizeof(v1[0]); i++) {
		const struct ctl_command *c = ctl_command_find(v1[i].name);

		ck_assert_msg(c != NULL, "%s", v1[i].name);
		ck_assert_msg(c->privileged == v1[i].privileged && c->streams == v1[i].streams &&
				c->spare_slot == v1[i].spare_slot,
			"%s", v1[i].name);
	}
	for (i = 0; i < ctl_n_commands; i++) {
		const struct ctl_command *c = &ctl_commands[i];
		json_object *args;

		ck_assert_ptr_nonnull(c->name);
		ck_assert_ptr_eq(ctl_command_find(c->name), c);
		ck_assert(ctl_command_known(c->name));
		for (j = 0; j < i; j++)
			ck_assert_str_ne(ctl_commands[j].name, c->name);
		/* a member no row declares is refused, named */
		args = ic_json_parse_new("{\"bogus\":1}", 11);
		ck_assert_int_eq(
			ctl_command_check_args(c, args, err, sizeof(err)), CTL_ST_BAD_ARGS);
		ck_assert_ptr_nonnull(strstr(err, "\"bogus\""));
		json_object_put(args);
		/* not an object */
		args = json_object_new_array();
		ck_assert_int_eq(
			ctl_command_check_args(c, args, err, sizeof(err)), CTL_ST_BAD_ARGS);
		json_object_put(args);
		/* arguments: unique names, sane ranges, required ones missing refused */
		for (j = 0; j < CTL_ARGS_MAX && c->args[j].name != NULL; j++) {
			const struct ctl_arg *a = &c->args[j];

			for (k = 0; k < j; k++)
				ck_assert_str_ne(c->args[k].name, a->name);
			if (a->type == CTL_ARG_INT)
				ck_assert_int_le(a->min, a->max);
			if (!a->required)
				continue;
			args = json_object_new_object();
			ck_assert_int_eq(
				ctl_command_check_args(c, args, err, sizeof(err)), CTL_ST_BAD_ARGS);
			json_object_put(args);
		}
	}
	ck_assert_ptr_null(ctl_command_find(NULL));
	ck_assert_ptr_null(ctl_command_find(""));
	ck_assert_ptr_null(ctl_command_find("Status"));
	ck_assert_ptr_null(ctl_command_find("frobnicate"));
}
END_TEST

/* Each argument type's check, through a row of its own. */
START_TEST(test_arg_types)
{
	static const struct ctl_command row = {
		.name = "test",
		.args = {
			{ .name = "n", .type = CTL_ARG_INT, .min = -2, .max = 5 },
			{ .name = "b", .type = CTL_ARG_BOOL },
			{ .name = "o", .type = CTL_ARG_OBJECT },
			{ .name = "i", .type = CTL_ARG_ID },
			{ .name = "m", .type = CTL_ARG_MODEL },
			{ .name = "r", .type = CTL_ARG_INT, .required = true, .min = 0, .max = 0 },
		},
	};
	static const struct {
		const char *args;
		enum ctl_status want;
		const char *in_err;
	} cases[] = {
		{ "{\"r\":0}", CTL_ST_OK, NULL },
		{ "{}", CTL_ST_BAD_ARGS, "r: missing" },
		{ "{\"r\":null}", CTL_ST_BAD_ARGS, "r: must be an integer from 0 to 0" },
		{ "{\"r\":0,\"n\":-2}", CTL_ST_OK, NULL },
		{ "{\"r\":0,\"n\":5}", CTL_ST_OK, NULL },
		{ "{\"r\":0,\"n\":-3}", CTL_ST_BAD_ARGS, "n: must be an integer from -2 to 5" },
		{ "{\"r\":0,\"n\":6}", CTL_ST_BAD_ARGS, "n:" },
		{ "{\"r\":0,\"b\":false}", CTL_ST_OK, NULL },
		{ "{\"r\":0,\"b\":1}", CTL_ST_BAD_ARGS, "b: must be true or false" },
		{ "{\"r\":0,\"o\":{\"x\":[1]}}", CTL_ST_OK, NULL },
		{ "{\"r\":0,\"o\":[]}", CTL_ST_BAD_ARGS, "o: must be an object" },
		{ "{\"r\":0,\"o\":null}", CTL_ST_BAD_ARGS, "o: must be an object" },
		{ "{\"r\":0,\"i\":\"a.b:c-d_1\"}", CTL_ST_OK, NULL },
		{ "{\"r\":0,\"i\":\"a b\"}", CTL_ST_BAD_ARGS, "i: must be a request id" },
		{ "{\"r\":0,\"m\":\"llama3.2:3b\"}", CTL_ST_OK, NULL },
		{ "{\"r\":0,\"m\":\"\"}", CTL_ST_BAD_ARGS, "m: must be a model name" },
	};
	char err[IC_ERRBUF_MAX];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object *args = ic_json_parse_new(cases[i].args, strlen(cases[i].args));
		enum ctl_status st;

		ck_assert_ptr_nonnull(args);
		st = ctl_command_check_args(&row, args, err, sizeof(err));
		json_object_put(args);
		ck_assert_msg(st == cases[i].want, "%s: %d (%s)", cases[i].args, st, err);
		if (cases[i].in_err != NULL)
			ck_assert_msg(
				strstr(err, cases[i].in_err) != NULL, "%s: %s", cases[i].args, err);
		else
			ck_assert_str_eq(err, "");
	}
}
END_TEST

/* chat args with n user messages of `chars` characters each */
static json_object *chat_args_new(const char *model, int n, size_t chars)
{
	json_object *args = json_object_new_object();
	json_object *msgs = json_object_new_array();
	char *text = repeat('a', chars);
	int i;

	for (i = 0; i < n; i++) {
		json_object *m = json_object_new_object();

		json_object_object_add(
			m, "role", json_object_new_string(i % 2 ? "assistant" : "user"));
		json_object_object_add(m, "content", json_object_new_string(text));
		json_object_array_add(msgs, m);
	}
	free(text);
	json_object_object_add(args, "model", json_object_new_string(model));
	json_object_object_add(args, "messages", msgs);
	return args;
}

static enum ctl_status chat_check(json_object *args)
{
	char err[IC_ERRBUF_MAX];
	enum ctl_status st = ctl_args_check("chat", args, err, sizeof(err));

	if (st != CTL_ST_OK)
		ck_assert_int_gt(strlen(err), 0);
	json_object_put(args);
	return st;
}

START_TEST(test_args_chat)
{
	char err[IC_ERRBUF_MAX];
	char *model;
	json_object *a;

	ck_assert_int_eq(chat_check(chat_args_new("llama3.2:3b", 1, 2)), CTL_ST_OK);
	ck_assert_int_eq(chat_check(chat_args_new("llama3.2:3b", IC_MESSAGES_MAX, 1)), CTL_ST_OK);
	ck_assert_int_eq(
		chat_check(chat_args_new("llama3.2:3b", IC_MESSAGES_MAX + 1, 1)), CTL_ST_BAD_ARGS);
	ck_assert_int_eq(chat_check(chat_args_new("llama3.2:3b", 0, 1)), CTL_ST_BAD_ARGS);
	ck_assert_int_eq(chat_check(chat_args_new("m", 1, IC_MESSAGE_CHARS_MAX)), CTL_ST_OK);
	ck_assert_int_eq(
		chat_check(chat_args_new("m", 1, IC_MESSAGE_CHARS_MAX + 1)), CTL_ST_BAD_ARGS);
	ck_assert_int_eq(chat_check(chat_args_new("m", 1, 0)), CTL_ST_BAD_ARGS);
	model = repeat('m', IC_MODEL_NAME_MAX);
	ck_assert_int_eq(chat_check(chat_args_new(model, 1, 1)), CTL_ST_OK);
	free(model);
	model = repeat('m', IC_MODEL_NAME_MAX + 1);
	ck_assert_int_eq(chat_check(chat_args_new(model, 1, 1)), CTL_ST_BAD_ARGS);
	free(model);
	ck_assert_int_eq(chat_check(chat_args_new("", 1, 1)), CTL_ST_BAD_ARGS);

	ck_assert_int_eq(
		args_check_text("chat",
			"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
			"{\"role\":\"assistant\",\"content\":\"yo\"}],\"think\":true,\"options\":{"
			"\"seed\":1}}",
			err, sizeof(err)),
		CTL_ST_OK);
	/* the network's consumer API has no system messages */
	ck_assert_int_eq(args_check_text("chat",
				 "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":"
				 "\"be brief\"},"
				 "{\"role\":\"user\",\"content\":\"hi\"}]}",
				 err, sizeof(err)),
		CTL_ST_BAD_ARGS);
	ck_assert_ptr_nonnull(strstr(err, "role"));
	ck_assert_int_eq(
		args_check_text("chat",
			"{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}",
			err, sizeof(err)),
		CTL_ST_BAD_ARGS);
	ck_assert_int_eq(args_check_text("chat",
				 "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
				 "\"x\",\"images\":[]}]}",
				 err, sizeof(err)),
		CTL_ST_BAD_ARGS);
	ck_assert_int_eq(
		args_check_text("chat", "{\"model\":\"m\"}", err, sizeof(err)), CTL_ST_BAD_ARGS);
	ck_assert_ptr_nonnull(strstr(err, "messages"));
	ck_assert_int_eq(args_check_text("chat",
				 "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
				 "\"x\"}],\"think\":1}",
				 err, sizeof(err)),
		CTL_ST_BAD_ARGS);
	ck_assert_ptr_nonnull(strstr(err, "think"));
	ck_assert_int_eq(args_check_text("chat",
				 "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
				 "\"x\"}],\"options\":[]}",
				 err, sizeof(err)),
		CTL_ST_BAD_ARGS);
	ck_assert_int_eq(args_check_text("chat",
				 "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
				 "\"x\"}],\"stream\":false}",
				 err, sizeof(err)),
		CTL_ST_BAD_ARGS);
	a = json_object_new_array();
	ck_assert_int_eq(ctl_args_check("chat", a, err, sizeof(err)), CTL_ST_BAD_ARGS);
	json_object_put(a);
}
END_TEST

START_TEST(test_request_roundtrip)
{
	json_object *args = json_object_new_object();
	json_object *o;
	struct ctl_request req;
	size_t len;
	char *line;

	json_object_object_add(args, "target", json_object_new_string("c/1"));
	o = ctl_request_new("r9", "cancel", args);
	line = ctl_line_new(o, &len);
	ck_assert_int_eq(len, strlen(line));
	ck_assert_int_eq(line[len - 1], '\n');
	ck_assert_ptr_null(strchr(line, '\\')); /* "/" is not escaped */
	ck_assert_str_eq(
		line, "{\"v\":1,\"id\":\"r9\",\"cmd\":\"cancel\",\"args\":{\"target\":\"c/1\"}}\n");
	ck_assert_int_eq(ctl_request_parse(line, len - 1, &req), CTL_ST_OK);
	ck_assert_str_eq(req.cmd, "cancel");
	ctl_request_clear(&req);
	free(line);
	json_object_put(o);

	o = ctl_request_new("r10", "status", NULL);
	line = ctl_line_new(o, NULL);
	ck_assert_str_eq(line, "{\"v\":1,\"id\":\"r10\",\"cmd\":\"status\",\"args\":{}}\n");
	free(line);
	json_object_put(o);
}
END_TEST

START_TEST(test_reply_and_event)
{
	json_object *body = json_object_new_object();
	json_object *o;
	char *line;

	json_object_object_add(body, "in_flight", json_object_new_int(2));
	json_object_object_add(body, "status", json_object_new_string("hijack"));
	o = ctl_reply_new("r1", CTL_ST_OK, NULL, body);
	line = ctl_line_new(o, NULL);
	ck_assert_str_eq(line,
		"{\"v\":1,\"id\":\"r1\",\"status\":\"ok\",\"message\":\"Done.\","
		"\"in_flight\":2}\n");
	free(line);
	json_object_put(o);
	/* body is borrowed: still ours */
	ck_assert_int_eq(json_object_get_int(json_object_object_get(body, "in_flight")), 2);
	json_object_put(body);

	o = ctl_reply_new(NULL, CTL_ST_BAD_JSON, "line 1", NULL);
	line = ctl_line_new(o, NULL);
	ck_assert_ptr_nonnull(strstr(line, "\"id\":null"));
	ck_assert_ptr_nonnull(strstr(line, "\"status\":\"bad_json\""));
	ck_assert_ptr_nonnull(strstr(line, "\"detail\":\"line 1\""));
	free(line);
	json_object_put(o);

	body = json_object_new_object();
	json_object_object_add(body, "text", json_object_new_string("Hel"));
	o = ctl_event_new("c1", "content", body);
	json_object_put(body);
	line = ctl_line_new(o, NULL);
	ck_assert_str_eq(line, "{\"v\":1,\"id\":\"c1\",\"event\":\"content\",\"text\":\"Hel\"}\n");
	free(line);
	json_object_put(o);

	/* the tool event keeps its own "status" */
	body = json_object_new_object();
	json_object_object_add(body, "name", json_object_new_string("web_search"));
	json_object_object_add(body, "status", json_object_new_string("executing"));
	json_object_object_add(body, "v", json_object_new_int(9));
	o = ctl_event_new("c1", "tool", body);
	json_object_put(body);
	line = ctl_line_new(o, NULL);
	ck_assert_str_eq(line,
		"{\"v\":1,\"id\":\"c1\",\"event\":\"tool\",\"name\":\"web_search\","
		"\"status\":\"executing\"}\n");
	free(line);
	json_object_put(o);
}
END_TEST

static int msg_parse(const char *text, struct ctl_message *m)
{
	return ctl_message_parse(text, strlen(text), m);
}

START_TEST(test_message_parse)
{
	struct ctl_message m;

	ck_assert_int_eq(msg_parse("{\"v\":1,\"id\":\"r1\",\"status\":\"permission\","
				   "\"message\":\"x\",\"detail\":\"d\"}",
				 &m),
		0);
	ck_assert_int_eq(m.kind, CTL_MSG_REPLY);
	ck_assert_int_eq(m.status, CTL_ST_PERMISSION);
	ck_assert_str_eq(m.id, "r1");
	ck_assert_str_eq(m.detail, "d");
	ck_assert_str_eq(m.message, "x");
	ctl_message_clear(&m);

	/* a status from a newer daemon: failed, with its own sentence */
	ck_assert_int_eq(msg_parse("{\"v\":1,\"id\":null,\"status\":\"on_fire\","
				   "\"message\":\"It burns.\"}",
				 &m),
		0);
	ck_assert_int_eq(m.status, CTL_ST_FAILED);
	ck_assert_ptr_null(m.id);
	ck_assert_str_eq(m.message, "It burns.");
	ctl_message_clear(&m);

	ck_assert_int_eq(msg_parse("{\"v\":1,\"id\":\"c\",\"event\":\"done\","
				   "\"finish_reason\":\"stop\"}",
				 &m),
		0);
	ck_assert_int_eq(m.kind, CTL_MSG_EVENT);
	ck_assert_int_eq(m.event, CTL_EV_DONE);
	ctl_message_clear(&m);
	ck_assert_int_eq(msg_parse("{\"v\":1,\"id\":\"c\",\"event\":\"sparkle\"}", &m), 0);
	ck_assert_int_eq(m.event, -1);
	ctl_message_clear(&m);

	ck_assert_int_eq(msg_parse("{\"v\":2,\"id\":\"c\",\"status\":\"ok\"}", &m), -1);
	ck_assert_int_eq(msg_parse("{\"v\":1,\"status\":\"ok\"}", &m), -1);
	ck_assert_int_eq(msg_parse("{\"v\":1,\"id\":3,\"status\":\"ok\"}", &m), -1);
	ck_assert_int_eq(msg_parse("{\"v\":1,\"id\":null,\"event\":\"done\"}", &m), -1);
	ck_assert_int_eq(msg_parse("{\"v\":1,\"id\":\"c\"}", &m), -1);
	ck_assert_int_eq(msg_parse("not json", &m), -1);
	ck_assert_ptr_null(m.root);
}
END_TEST

static Suite *ctlproto_suite(void)
{
	Suite *s = suite_create("ctlproto");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_status_table);
	tcase_add_test(tc, test_event_names);
	tcase_add_test(tc, test_valid_id);
	tcase_add_test(tc, test_request_parse_ok);
	tcase_add_test(tc, test_request_parse_errors);
	tcase_add_test(tc, test_args_simple);
	tcase_add_test(tc, test_command_table);
	tcase_add_test(tc, test_arg_types);
	tcase_add_test(tc, test_args_chat);
	tcase_add_test(tc, test_request_roundtrip);
	tcase_add_test(tc, test_reply_and_event);
	tcase_add_test(tc, test_message_parse);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ctlproto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
