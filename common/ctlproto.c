/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ctlproto.c - build and parse control-socket messages (see ctlproto.h).
 *
 * Pure: no I/O.  The daemon's control.c and idleclawctl both use it, so
 * the two sides cannot disagree about the wire format.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctlproto.h"
#include "jsonutil.h"
#include "validate.h"
#include "xmalloc.h"

struct status_row {
	const char *name;
	const char *sentence;
	int exit_code;
};

/* The one table of statuses: index = enum ctl_status. */
static const struct status_row status_table[CTL_ST_COUNT] = {
	[CTL_ST_OK] = { "ok", "Done.", CTL_EXIT_OK },
	[CTL_ST_BAD_JSON] = { "bad_json", "The request is not a JSON object on one line.",
		CTL_EXIT_PROTOCOL },
	[CTL_ST_BAD_VERSION] = { "bad_version",
		"The request's protocol version is not supported by this idleclawd; "
		"use the idleclawctl of the same release.",
		CTL_EXIT_INCOMPATIBLE },
	[CTL_ST_BAD_REQUEST] = { "bad_request", "The request lacks a valid \"id\" or \"cmd\".",
		CTL_EXIT_PROTOCOL },
	[CTL_ST_UNKNOWN_COMMAND] = { "unknown_command",
		"This idleclawd does not know that command.", CTL_EXIT_INCOMPATIBLE },
	[CTL_ST_BAD_ARGS] = { "bad_args", "The command's arguments are missing or invalid.",
		CTL_EXIT_USAGE },
	[CTL_ST_TOO_LONG] = { "too_long", "The request is longer than the control socket accepts.",
		CTL_EXIT_PROTOCOL },
	[CTL_ST_PERMISSION] = { "permission",
		"Permission denied: this command needs root, the idleclaw user or its group.",
		CTL_EXIT_PERMISSION },
	[CTL_ST_BUSY] = { "busy", "idleclawd is busy; try again later.", CTL_EXIT_BUSY },
	[CTL_ST_NOT_FOUND] = { "not_found", "No such model or request.", CTL_EXIT_NOT_FOUND },
	[CTL_ST_UNAVAILABLE] = { "unavailable",
		"The IdleClaw network cannot serve this now (router unreachable or "
		"no node has the model).",
		CTL_EXIT_UNAVAILABLE },
	[CTL_ST_FAILED] = { "failed", "The command failed.", CTL_EXIT_FAILED },
	[CTL_ST_CANCELLED] = { "cancelled", "The request was cancelled.", CTL_EXIT_CANCELLED },
	[CTL_ST_TIMEOUT] = { "timeout", "The network did not answer in time.", CTL_EXIT_TIMEOUT },
	[CTL_ST_SHUTTING_DOWN] = { "shutting_down", "idleclawd is shutting down.",
		CTL_EXIT_UNAVAILABLE },
};

static const char *const event_names[CTL_EV_COUNT] = {
	[CTL_EV_CONTENT] = "content",
	[CTL_EV_THINKING] = "thinking",
	[CTL_EV_TOOL] = "tool",
	[CTL_EV_ERROR] = "error",
	[CTL_EV_DONE] = "done",
};

const char *ctl_status_name(enum ctl_status st)
{
	if ((unsigned)st >= CTL_ST_COUNT)
		return NULL;
	return status_table[st].name;
}

const char *ctl_status_message(enum ctl_status st)
{
	if ((unsigned)st >= CTL_ST_COUNT)
		return "Unknown status.";
	return status_table[st].sentence;
}

int ctl_status_exit_code(enum ctl_status st)
{
	if ((unsigned)st >= CTL_ST_COUNT)
		return CTL_EXIT_FAILED;
	return status_table[st].exit_code;
}

int ctl_status_from_name(const char *name)
{
	int i;

	if (name == NULL)
		return -1;
	for (i = 0; i < CTL_ST_COUNT; i++)
		if (strcmp(status_table[i].name, name) == 0)
			return i;
	return -1;
}

const char *ctl_event_name(enum ctl_event ev)
{
	if ((unsigned)ev >= CTL_EV_COUNT)
		return NULL;
	return event_names[ev];
}

int ctl_event_from_name(const char *name)
{
	int i;

	if (name == NULL)
		return -1;
	for (i = 0; i < CTL_EV_COUNT; i++)
		if (strcmp(event_names[i], name) == 0)
			return i;
	return -1;
}

bool ctl_valid_id(const char *id)
{
	size_t i, n;

	if (id == NULL)
		return false;
	n = strlen(id);
	if (n == 0 || n > CTL_ID_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			    c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

/* --- requests --- */

enum ctl_status ctl_request_parse(const char *line, size_t len, struct ctl_request *out)
{
	json_object *v, *args;
	const char *id;
	int64_t version;

	memset(out, 0, sizeof(*out));
	out->root = ic_json_parse_new(line, len);
	if (out->root == NULL || !json_object_is_type(out->root, json_type_object))
		return CTL_ST_BAD_JSON;
	/* Take the id first, so that every later error can name the request. */
	id = ic_json_get_string(out->root, CTL_F_ID);
	if (ctl_valid_id(id))
		out->id = id;
	if (!ic_json_get_int64(out->root, CTL_F_VERSION, &version) || version != CTL_PROTO_VERSION)
		return CTL_ST_BAD_VERSION;
	if (out->id == NULL)
		return CTL_ST_BAD_REQUEST;
	out->cmd = ic_json_get_string(out->root, CTL_F_CMD);
	if (out->cmd == NULL || out->cmd[0] == '\0')
		return CTL_ST_BAD_REQUEST;
	if (!json_object_object_get_ex(out->root, CTL_F_ARGS, &v) || v == NULL) {
		/* absent or null: no arguments */
		args = json_object_new_object();
		json_object_object_add(out->root, CTL_F_ARGS, args);
		out->args = args;
		return CTL_ST_OK;
	}
	if (!json_object_is_type(v, json_type_object))
		return CTL_ST_BAD_ARGS;
	out->args = v;
	return CTL_ST_OK;
}

void ctl_request_clear(struct ctl_request *req)
{
	if (req == NULL)
		return;
	json_object_put(req->root);
	memset(req, 0, sizeof(*req));
}

json_object *ctl_request_new(const char *id, const char *cmd, json_object *args)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, CTL_F_VERSION, json_object_new_int(CTL_PROTO_VERSION));
	json_object_object_add(o, CTL_F_ID, json_object_new_string(id));
	json_object_object_add(o, CTL_F_CMD, json_object_new_string(cmd));
	json_object_object_add(o, CTL_F_ARGS, args != NULL ? args : json_object_new_object());
	return o;
}

/* --- the command table --- */

/*
 * Every command of the protocol.  A new command is a new row here (and its
 * CTL_CMD_ and CTL_A_ names in ctlproto.h), a handler in
 * daemon/commands.c and, if people run it, ctl/cmd-NAME.c:
 * docs/adding-a-command.md shows the whole change.
 */
const struct ctl_command ctl_commands[] = {
	{ .name = CTL_CMD_STATUS },
	{ .name = CTL_CMD_MODELS },
	{
		.name = CTL_CMD_PAUSE,
		.privileged = true,
		.args = {
			{ .name = CTL_A_SECONDS, .type = CTL_ARG_INT, .min = 1, .max = CTL_PAUSE_MAX_S },
		},
	},
	{ .name = CTL_CMD_RESUME, .privileged = true },
	{ .name = CTL_CMD_RELOAD, .privileged = true },
	{
		.name = CTL_CMD_CHAT,
		.streams = true,
		.args = {
			{ .name = CTL_A_MODEL, .type = CTL_ARG_MODEL, .required = true },
			{ .name = CTL_A_MESSAGES, .type = CTL_ARG_MESSAGES, .required = true },
			{ .name = CTL_A_THINK, .type = CTL_ARG_BOOL },
			{ .name = CTL_A_OPTIONS, .type = CTL_ARG_OBJECT },
		},
	},
	{
		.name = CTL_CMD_CANCEL,
		.spare_slot = true,
		.args = {
			{ .name = CTL_A_TARGET, .type = CTL_ARG_ID, .required = true },
		},
	},
};
const size_t ctl_n_commands = sizeof(ctl_commands) / sizeof(ctl_commands[0]);

const struct ctl_command *ctl_command_find(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < ctl_n_commands; i++)
		if (strcmp(ctl_commands[i].name, name) == 0)
			return &ctl_commands[i];
	return NULL;
}

bool ctl_command_known(const char *cmd)
{
	return ctl_command_find(cmd) != NULL;
}

/* --- argument checks, one per argument type --- */

static enum ctl_status bad(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum ctl_status bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return CTL_ST_BAD_ARGS;
}

static const struct ctl_arg *arg_find(const struct ctl_command *cmd, const char *name)
{
	size_t i;

	for (i = 0; i < CTL_ARGS_MAX && cmd->args[i].name != NULL; i++)
		if (strcmp(cmd->args[i].name, name) == 0)
			return &cmd->args[i];
	return NULL;
}

/*
 * One argument; present says whether args has the member (its value may
 * still be null).  An absent id or model name reads as an invalid one, so
 * the message says what it must be.
 */
static enum ctl_status check_arg(
	const struct ctl_arg *a, json_object *args, bool present, char *err, size_t errlen)
{
	json_object *v = NULL;
	int64_t n;
	bool b;

	json_object_object_get_ex(args, a->name, &v);
	switch (a->type) {
	case CTL_ARG_INT:
		if (!present)
			return bad(err, errlen, "%s: missing", a->name);
		if (!ic_json_get_int64(args, a->name, &n) || n < a->min || n > a->max)
			return bad(err, errlen, "%s: must be an integer from %lld to %lld", a->name,
				(long long)a->min, (long long)a->max);
		return CTL_ST_OK;
	case CTL_ARG_BOOL:
		if (!present || !ic_json_get_bool(args, a->name, &b))
			return bad(err, errlen, "%s: must be true or false", a->name);
		return CTL_ST_OK;
	case CTL_ARG_OBJECT:
		if (!present || !json_object_is_type(v, json_type_object))
			return bad(err, errlen, "%s: must be an object", a->name);
		return CTL_ST_OK;
	case CTL_ARG_ID:
		if (!ctl_valid_id(ic_json_get_string(args, a->name)))
			return bad(err, errlen, "%s: must be a request id", a->name);
		return CTL_ST_OK;
	case CTL_ARG_MODEL:
		if (!ic_valid_model_name(ic_json_get_string(args, a->name)))
			return bad(err, errlen, "%s: must be a model name of 1 to %d characters",
				a->name, IC_MODEL_NAME_MAX);
		return CTL_ST_OK;
	case CTL_ARG_MESSAGES:
		if (!present)
			return bad(err, errlen, "%s: missing", a->name);
		/* The daemon sends these on as a consumer of the network: the
		 * same rules as the router's (roles user and assistant only). */
		if (ic_validate_messages(v, &ic_consumer_msg_rules, err, errlen) != 0)
			return CTL_ST_BAD_ARGS;
		return CTL_ST_OK;
	}
	return bad(err, errlen, "%s: cannot be checked", a->name);
}

enum ctl_status ctl_command_check_args(
	const struct ctl_command *cmd, json_object *args, char *err, size_t errlen)
{
	enum ctl_status st;
	size_t i;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (args == NULL || !json_object_is_type(args, json_type_object))
		return bad(err, errlen, "%s must be an object", CTL_F_ARGS);
	json_object_object_foreach(args, key, val)
	{
		(void)val;
		if (arg_find(cmd, key) == NULL)
			return bad(err, errlen, "unknown argument \"%s\"", key);
	}
	for (i = 0; i < CTL_ARGS_MAX && cmd->args[i].name != NULL; i++) {
		const struct ctl_arg *a = &cmd->args[i];
		bool present = json_object_object_get_ex(args, a->name, NULL);

		if (!present && !a->required)
			continue;
		st = check_arg(a, args, present, err, errlen);
		if (st != CTL_ST_OK)
			return st;
	}
	return CTL_ST_OK;
}

enum ctl_status ctl_args_check(const char *cmd, json_object *args, char *err, size_t errlen)
{
	const struct ctl_command *row = ctl_command_find(cmd);

	if (row == NULL) {
		if (err != NULL && errlen > 0)
			err[0] = '\0';
		return CTL_ST_UNKNOWN_COMMAND;
	}
	return ctl_command_check_args(row, args, err, errlen);
}

/* --- replies and events --- */

/* Copy body's members into o, except the envelope's own names. */
static void add_members(json_object *o, json_object *body, const char *const *reserved)
{
	if (body == NULL || !json_object_is_type(body, json_type_object))
		return;
	json_object_object_foreach(body, key, val)
	{
		const char *const *r;

		for (r = reserved; *r != NULL; r++)
			if (strcmp(*r, key) == 0)
				break;
		if (*r != NULL)
			continue;
		json_object_object_add(o, key, json_object_get(val));
	}
}

static json_object *envelope_new(const char *id)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, CTL_F_VERSION, json_object_new_int(CTL_PROTO_VERSION));
	json_object_object_add(o, CTL_F_ID, id != NULL ? json_object_new_string(id) : NULL);
	return o;
}

json_object *ctl_reply_new(
	const char *id, enum ctl_status st, const char *detail, json_object *body)
{
	static const char *const reserved[] = { CTL_F_VERSION, CTL_F_ID, CTL_F_STATUS,
		CTL_F_MESSAGE, CTL_F_DETAIL, CTL_F_EVENT, NULL };
	json_object *o = envelope_new(id);

	if ((unsigned)st >= CTL_ST_COUNT)
		st = CTL_ST_FAILED;
	json_object_object_add(o, CTL_F_STATUS, json_object_new_string(ctl_status_name(st)));
	json_object_object_add(o, CTL_F_MESSAGE, json_object_new_string(ctl_status_message(st)));
	if (detail != NULL && detail[0] != '\0')
		json_object_object_add(o, CTL_F_DETAIL, json_object_new_string(detail));
	add_members(o, body, reserved);
	return o;
}

json_object *ctl_event_new(const char *id, const char *event_type, json_object *body)
{
	/* not "status": a line with "event" is an event whatever else it
	 * holds (ctl_message_parse()), and the tool event's status is its own */
	static const char *const reserved[] = { CTL_F_VERSION, CTL_F_ID, CTL_F_MESSAGE, CTL_F_EVENT,
		NULL };
	json_object *o = envelope_new(id);

	json_object_object_add(o, CTL_F_EVENT, json_object_new_string(event_type));
	add_members(o, body, reserved);
	return o;
}

char *ctl_line_new(json_object *obj, size_t *len)
{
	size_t n;
	char *s = ic_json_to_string_new(obj, &n);

	s = xrealloc(s, n + 2);
	s[n] = '\n';
	s[n + 1] = '\0';
	if (len != NULL)
		*len = n + 1;
	return s;
}

/* --- client side --- */

int ctl_message_parse(const char *line, size_t len, struct ctl_message *out)
{
	json_object *v;
	int64_t version;
	const char *name;
	int st;

	memset(out, 0, sizeof(*out));
	out->root = ic_json_parse_new(line, len);
	if (out->root == NULL || !json_object_is_type(out->root, json_type_object))
		goto fail;
	if (!ic_json_get_int64(out->root, CTL_F_VERSION, &version) || version != CTL_PROTO_VERSION)
		goto fail;
	if (!json_object_object_get_ex(out->root, CTL_F_ID, &v))
		goto fail;
	if (v != NULL) {
		if (!json_object_is_type(v, json_type_string))
			goto fail;
		out->id = json_object_get_string(v);
	}
	out->detail = ic_json_get_string(out->root, CTL_F_DETAIL);
	name = ic_json_get_string(out->root, CTL_F_EVENT);
	if (name != NULL) {
		if (out->id == NULL)
			goto fail;
		out->kind = CTL_MSG_EVENT;
		out->event = ctl_event_from_name(name);
		return 0;
	}
	name = ic_json_get_string(out->root, CTL_F_STATUS);
	if (name == NULL)
		goto fail;
	out->kind = CTL_MSG_REPLY;
	out->event = -1;
	st = ctl_status_from_name(name);
	out->status = st < 0 ? CTL_ST_FAILED : (enum ctl_status)st;
	out->message = ic_json_get_string(out->root, CTL_F_MESSAGE);
	return 0;
fail:
	json_object_put(out->root);
	memset(out, 0, sizeof(*out));
	return -1;
}

void ctl_message_clear(struct ctl_message *msg)
{
	if (msg == NULL)
		return;
	json_object_put(msg->root);
	memset(msg, 0, sizeof(*msg));
}
