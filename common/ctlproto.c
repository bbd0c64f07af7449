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
	[CTL_ST_BAD_JSON] = { "bad_json",
		"The request is not a JSON object on one line.", CTL_EXIT_PROTOCOL },
	[CTL_ST_BAD_VERSION] = { "bad_version",
		"The request's protocol version is not supported by this idleclawd; "
		"use the idleclawctl of the same release.", CTL_EXIT_INCOMPATIBLE },
	[CTL_ST_BAD_REQUEST] = { "bad_request",
		"The request lacks a valid \"id\" or \"cmd\".", CTL_EXIT_PROTOCOL },
	[CTL_ST_UNKNOWN_COMMAND] = { "unknown_command",
		"This idleclawd does not know that command.", CTL_EXIT_INCOMPATIBLE },
	[CTL_ST_BAD_ARGS] = { "bad_args",
		"The command's arguments are missing or invalid.", CTL_EXIT_USAGE },
	[CTL_ST_TOO_LONG] = { "too_long",
		"The request is longer than the control socket accepts.", CTL_EXIT_PROTOCOL },
	[CTL_ST_PERMISSION] = { "permission",
		"Permission denied: this command needs root or the idleclaw user.",
		CTL_EXIT_PERMISSION },
	[CTL_ST_BUSY] = { "busy",
		"idleclawd is busy; try again later.", CTL_EXIT_BUSY },
	[CTL_ST_NOT_FOUND] = { "not_found",
		"No such model or request.", CTL_EXIT_NOT_FOUND },
	[CTL_ST_UNAVAILABLE] = { "unavailable",
		"The IdleClaw network cannot serve this now (router unreachable or "
		"no node has the model).", CTL_EXIT_UNAVAILABLE },
	[CTL_ST_FAILED] = { "failed", "The command failed.", CTL_EXIT_FAILED },
	[CTL_ST_CANCELLED] = { "cancelled", "The request was cancelled.", CTL_EXIT_CANCELLED },
	[CTL_ST_TIMEOUT] = { "timeout", "The network did not answer in time.", CTL_EXIT_TIMEOUT },
	[CTL_ST_SHUTTING_DOWN] = { "shutting_down",
		"idleclawd is shutting down.", CTL_EXIT_UNAVAILABLE },
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

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '-'))
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

/* --- argument checks, one per command --- */

typedef enum ctl_status (*args_check_fn)(json_object *args, char *err, size_t errlen);

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

/* Refuse any member of args not in allowed (NULL-terminated). */
static enum ctl_status only_members(json_object *args, const char *const *allowed,
				    char *err, size_t errlen)
{
	json_object_object_foreach(args, key, val) {
		const char *const *a;

		(void)val;
		for (a = allowed; *a != NULL; a++)
			if (strcmp(*a, key) == 0)
				break;
		if (*a == NULL)
			return bad(err, errlen, "unknown argument \"%s\"", key);
	}
	return CTL_ST_OK;
}

static enum ctl_status check_none(json_object *args, char *err, size_t errlen)
{
	static const char *const allowed[] = { NULL };

	return only_members(args, allowed, err, errlen);
}

static enum ctl_status check_pause(json_object *args, char *err, size_t errlen)
{
	static const char *const allowed[] = { CTL_A_SECONDS, NULL };
	json_object *v;
	int64_t s;

	if (only_members(args, allowed, err, errlen) != CTL_ST_OK)
		return CTL_ST_BAD_ARGS;
	if (!json_object_object_get_ex(args, CTL_A_SECONDS, &v))
		return CTL_ST_OK;
	if (!ic_json_get_int64(args, CTL_A_SECONDS, &s) || s < 1 || s > CTL_PAUSE_MAX_S)
		return bad(err, errlen, "%s: must be an integer from 1 to %d",
			   CTL_A_SECONDS, CTL_PAUSE_MAX_S);
	return CTL_ST_OK;
}

static enum ctl_status check_cancel(json_object *args, char *err, size_t errlen)
{
	static const char *const allowed[] = { CTL_A_TARGET, NULL };

	if (only_members(args, allowed, err, errlen) != CTL_ST_OK)
		return CTL_ST_BAD_ARGS;
	if (!ctl_valid_id(ic_json_get_string(args, CTL_A_TARGET)))
		return bad(err, errlen, "%s: must be a request id", CTL_A_TARGET);
	return CTL_ST_OK;
}

static enum ctl_status check_chat(json_object *args, char *err, size_t errlen);

struct command_row {
	const char *name;
	args_check_fn check;
};

/* Every command of the protocol and how its arguments are checked. */
static const struct command_row command_table[] = {
	{ CTL_CMD_STATUS, check_none },
	{ CTL_CMD_MODELS, check_none },
	{ CTL_CMD_PAUSE, check_pause },
	{ CTL_CMD_RESUME, check_none },
	{ CTL_CMD_RELOAD, check_none },
	{ CTL_CMD_CHAT, check_chat },
	{ CTL_CMD_CANCEL, check_cancel },
};

static const struct command_row *command_find(const char *cmd)
{
	size_t i;

	if (cmd == NULL)
		return NULL;
	for (i = 0; i < sizeof(command_table) / sizeof(command_table[0]); i++)
		if (strcmp(command_table[i].name, cmd) == 0)
			return &command_table[i];
	return NULL;
}

bool ctl_command_known(const char *cmd)
{
	return command_find(cmd) != NULL;
}

enum ctl_status ctl_args_check(const char *cmd, json_object *args, char *err, size_t errlen)
{
	const struct command_row *row = command_find(cmd);

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (row == NULL)
		return CTL_ST_UNKNOWN_COMMAND;
	if (args == NULL || !json_object_is_type(args, json_type_object))
		return bad(err, errlen, "%s must be an object", CTL_F_ARGS);
	return row->check(args, err, errlen);
}

static enum ctl_status check_chat(json_object *args, char *err, size_t errlen)
{
	static const char *const allowed[] = { CTL_A_MODEL, CTL_A_MESSAGES, CTL_A_THINK,
					       CTL_A_OPTIONS, NULL };
	json_object *v;
	bool think;

	if (only_members(args, allowed, err, errlen) != CTL_ST_OK)
		return CTL_ST_BAD_ARGS;
	if (!ic_valid_model_name(ic_json_get_string(args, CTL_A_MODEL)))
		return bad(err, errlen, "%s: must be a model name of 1 to %d characters",
			   CTL_A_MODEL, IC_MODEL_NAME_MAX);
	if (!json_object_object_get_ex(args, CTL_A_MESSAGES, &v))
		return bad(err, errlen, "%s: missing", CTL_A_MESSAGES);
	/* The daemon sends these on as a consumer of the network: the same
	 * rules as the router's (roles user and assistant only). */
	if (ic_validate_messages(v, &ic_consumer_msg_rules, err, errlen) != 0)
		return CTL_ST_BAD_ARGS;
	if (json_object_object_get_ex(args, CTL_A_THINK, &v) &&
	    !ic_json_get_bool(args, CTL_A_THINK, &think))
		return bad(err, errlen, "%s: must be true or false", CTL_A_THINK);
	if (json_object_object_get_ex(args, CTL_A_OPTIONS, &v) &&
	    !json_object_is_type(v, json_type_object))
		return bad(err, errlen, "%s: must be an object", CTL_A_OPTIONS);
	return CTL_ST_OK;
}

/* --- replies and events --- */

/* Copy body's members into o, except the envelope's own names. */
static void add_members(json_object *o, json_object *body, const char *const *reserved)
{
	if (body == NULL || !json_object_is_type(body, json_type_object))
		return;
	json_object_object_foreach(body, key, val) {
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

json_object *ctl_reply_new(const char *id, enum ctl_status st, const char *detail,
			   json_object *body)
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
	static const char *const reserved[] = { CTL_F_VERSION, CTL_F_ID, CTL_F_STATUS,
						CTL_F_MESSAGE, CTL_F_EVENT, NULL };
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
