/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * gateway-chat.c - what both gateway dialects share: a client's chat
 * turned into the consume path's "chat" arguments, and the network's model
 * list (see gateway-api.h).  Pure.
 *
 * The network's consumer API takes roles user and assistant with text
 * content only.  System (and OpenAI "developer") messages are folded in
 * front of the first question as `idleclawctl chat --system` does; images,
 * client tools and tool results are refused with a sentence saying so.
 * The limits are idleclawctl chat's: ctl_args_check() decides.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatmsg.h"
#include "ctlproto.h"
#include "daemon/gateway-api.h"
#include "jsonutil.h"
#include "xmalloc.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return 400;
}

void gw_chat_clear(struct gw_chat *c)
{
	json_object_put(c->args);
	free(c->model);
	memset(c, 0, sizeof(*c));
}

/* Content as one string: a string, or OpenAI's parts of type "text".
 * NEW string, or NULL with err filled. */
static char *content_text_new(json_object *content, size_t i, char *err, size_t errlen)
{
	size_t k, n, len = 0;
	char *out;

	if (content == NULL || json_object_is_type(content, json_type_null))
		return xstrdup("");
	if (json_object_is_type(content, json_type_string))
		return xstrdup(json_object_get_string(content));
	if (!json_object_is_type(content, json_type_array)) {
		fail(err, errlen, "messages[%zu].content: must be a string", i);
		return NULL;
	}
	n = json_object_array_length(content);
	out = xstrdup("");
	for (k = 0; k < n; k++) {
		json_object *part = json_object_array_get_idx(content, k);
		const char *type = ic_json_get_string(part, "type");
		const char *text = ic_json_get_string(part, "text");

		if (!type || strcmp(type, "text") != 0 || !text) {
			fail(err, errlen,
				"messages[%zu].content[%zu]: only text parts are "
				"supported (the network takes no images or files)",
				i, k);
			free(out);
			return NULL;
		}
		out = xrealloc(out, len + strlen(text) + 1);
		memcpy(out + len, text, strlen(text) + 1);
		len += strlen(text);
	}
	return out;
}

/* A member the network cannot carry, with its sentence; NULL if none. */
static const char *unsupported_member(json_object *m)
{
	json_object *v;

	if (json_object_object_get_ex(m, "images", &v) && json_object_is_type(v, json_type_array) &&
		json_object_array_length(v) > 0)
		return "images are not supported by the IdleClaw network";
	if (json_object_object_get_ex(m, "tool_calls", &v) &&
		json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0)
		return "tool calls are not supported: the network's chat API has no client tools";
	return NULL;
}

static void system_add(char **system, const char *text)
{
	char *s;

	if (!*text)
		return;
	if (!*system) {
		*system = xstrdup(text);
		return;
	}
	s = xasprintf("%s%s%s", *system, IC_SYSTEM_SEP, text);
	free(*system);
	*system = s;
}

/* The client's messages as {role, content} with system texts taken out.
 * NEW array in *out; *system NEW or NULL.  0 or 400. */
static int messages_read(
	json_object *messages, json_object **out, char **system, char *err, size_t errlen)
{
	size_t i, n;

	*out = NULL;
	*system = NULL;
	if (!messages || !json_object_is_type(messages, json_type_array))
		return fail(err, errlen, "messages: must be an array of messages");
	n = json_object_array_length(messages);
	*out = json_object_new_array();
	for (i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(messages, i), *v = NULL, *o;
		const char *role = ic_json_get_string(m, "role"), *why;
		char *text;

		if (!json_object_is_type(m, json_type_object) || !role) {
			fail(err, errlen, "messages[%zu]: must be an object with a role", i);
			goto bad;
		}
		if ((why = unsupported_member(m)) != NULL) {
			fail(err, errlen, "messages[%zu]: %s", i, why);
			goto bad;
		}
		if (strcmp(role, "tool") == 0 || strcmp(role, "function") == 0) {
			fail(err, errlen,
				"messages[%zu]: role \"%s\" is not supported: the "
				"network's chat API has no client tools",
				i, role);
			goto bad;
		}
		if (strcmp(role, "system") != 0 && strcmp(role, "developer") != 0 &&
			strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0) {
			fail(err, errlen, "messages[%zu].role: must be system, user or assistant",
				i);
			goto bad;
		}
		json_object_object_get_ex(m, "content", &v);
		text = content_text_new(v, i, err, errlen);
		if (!text)
			goto bad;
		if (role[0] == 's' || role[0] == 'd') {
			system_add(system, text);
			free(text);
			continue;
		}
		o = json_object_new_object();
		json_object_object_add(o, "role", json_object_new_string(role));
		json_object_object_add(o, "content", json_object_new_string(text));
		free(text);
		json_object_array_add(*out, o);
	}
	if (json_object_array_length(*out) == 0) {
		fail(err, errlen, "messages: at least one user message is needed");
		goto bad;
	}
	return 0;
bad:
	json_object_put(*out);
	*out = NULL;
	free(*system);
	*system = NULL;
	return 400;
}

int gw_chat_build(const char *model, json_object *messages, bool think, json_object *options,
	struct gw_chat *out, char *err, size_t errlen)
{
	json_object *msgs, *args;
	char *system;

	if (!model)
		return fail(err, errlen, "model: required (a model name)");
	if (messages_read(messages, &msgs, &system, err, errlen) != 0)
		return 400;
	args = json_object_new_object();
	json_object_object_add(args, CTL_A_MODEL, json_object_new_string(model));
	json_object_object_add(args, CTL_A_MESSAGES, ic_messages_with_system_new(msgs, system));
	json_object_put(msgs);
	free(system);
	if (think)
		json_object_object_add(args, CTL_A_THINK, json_object_new_boolean(true));
	if (options && !json_object_is_type(options, json_type_null))
		json_object_object_add(args, CTL_A_OPTIONS, json_object_get(options));
	if (ctl_args_check(CTL_CMD_CHAT, args, err, errlen) != CTL_ST_OK) {
		json_object_put(args);
		return 400;
	}
	out->args = args;
	out->model = xstrdup(model);
	return 0;
}

json_object *gw_model_names_new(json_object *body)
{
	json_object *models, *out;
	size_t i, n;

	if (!body || !json_object_object_get_ex(body, "models", &models) ||
		!json_object_is_type(models, json_type_array))
		return NULL;
	out = json_object_new_array();
	n = json_object_array_length(models);
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(models, i);
		const char *name = json_object_is_type(e, json_type_string)
			? json_object_get_string(e)
			: ic_json_get_string(e, "name");

		if (name && *name)
			json_object_array_add(out, json_object_new_string(name));
	}
	return out;
}

bool gw_names_has(json_object *names, const char *model)
{
	size_t i, n = names ? json_object_array_length(names) : 0;

	for (i = 0; i < n; i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(names, i)), model) == 0)
			return true;
	return false;
}

int gw_http_status(int st)
{
	switch ((enum ctl_status)st) {
	case CTL_ST_OK:
		return 200;
	case CTL_ST_BAD_ARGS:
		return 400;
	case CTL_ST_NOT_FOUND:
		return 404;
	case CTL_ST_BUSY:
		return 429;
	case CTL_ST_UNAVAILABLE:
	case CTL_ST_SHUTTING_DOWN:
		return 503;
	case CTL_ST_TIMEOUT:
		return 504;
	default:
		return 502;
	}
}
