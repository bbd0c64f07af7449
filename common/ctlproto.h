/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ctlproto.h - the control-socket protocol between idleclawctl and idleclawd.
 *
 * One header for the boundary (like chrony's candm.h): the version, every
 * command and its arguments, every event, and the closed list of reply
 * statuses with their fixed sentences and idleclawctl exit codes.
 * docs/control.md describes the same thing for people.  Never renumber or
 * redefine anything here: add new statuses, commands and fields at the end.
 *
 * Framing: UTF-8 JSON text, one object per line ("\n"; "\r\n" accepted),
 * at most IC_CONTROL_LINE_MAX bytes without the line end.
 *
 * Request (client -> daemon):
 *   {"v":1,"id":"<client-chosen id>","cmd":"<command>","args":{...}}
 *   "args" may be omitted (= {}).  "id" is 1..CTL_ID_MAX bytes of
 *   [A-Za-z0-9._:-] and names the request on this connection only; a client
 *   may have several requests running and tells their messages apart by id.
 *
 * Reply (daemon -> client), exactly one per request, always the last
 * message about it:
 *   {"v":1,"id":"<id>","status":"<status name>","message":"<fixed sentence>",
 *    "detail":"<optional one-line explanation>", ...command's result members}
 *   A line that cannot be tied to a request (not JSON, no valid id) gets a
 *   reply with "id":null.
 *
 * Event (daemon -> client), zero or more before the reply of a streaming
 * request (chat):
 *   {"v":1,"id":"<id>","event":"content","text":"Hel"}
 *   {"v":1,"id":"<id>","event":"thinking","text":"..."}
 *   {"v":1,"id":"<id>","event":"tool","name":"web_search","status":"executing"|"done"|"error"[,"reason":".."]}
 *   {"v":1,"id":"<id>","event":"error","detail":"<what went wrong upstream>"}
 *   {"v":1,"id":"<id>","event":"done","finish_reason":"stop"|"length"|...}
 *   A chat that ends normally sends "done" and then an "ok" reply; one that
 *   fails may send "error" and then a reply whose status says how it ended.
 */
#ifndef IC_CTLPROTO_H
#define IC_CTLPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "limits.h"

#define CTL_PROTO_VERSION 1

/* Bytes in a request id (client-chosen, [A-Za-z0-9._:-]). */
#define CTL_ID_MAX 64
/* Longest pause a client may ask for (seconds): 30 days. */
#define CTL_PAUSE_MAX_S (30 * 24 * 3600)

/* --- envelope members --- */
#define CTL_F_VERSION "v"
#define CTL_F_ID "id"
#define CTL_F_CMD "cmd"
#define CTL_F_ARGS "args"
#define CTL_F_STATUS "status"
#define CTL_F_MESSAGE "message"
#define CTL_F_DETAIL "detail"
#define CTL_F_EVENT "event"

/* --- commands and their arguments ---
 *
 * ctl_commands[] in ctlproto.c is the one definition of each command: its
 * name, its arguments and their checks, whether it needs privilege and
 * whether it streams.  The daemon binds a handler to each row by name
 * (daemon/commands.c) and decides privilege from the row; idleclawctl
 * shows what the row says.  docs/control.md lists the same for people.
 */
#define CTL_CMD_STATUS "status"
#define CTL_CMD_MODELS "models"
#define CTL_CMD_PAUSE "pause"
#define CTL_CMD_RESUME "resume"
#define CTL_CMD_RELOAD "reload"
#define CTL_CMD_CHAT "chat"
#define CTL_CMD_CANCEL "cancel"

/* pause: seconds, 1..CTL_PAUSE_MAX_S; absent = until resume. */
#define CTL_A_SECONDS "seconds"
/* chat: model name (validate.h rules); messages [{"role","content"}] with
 * roles user/assistant (the network's consumer rules, ic_consumer_msg_rules),
 * 1..IC_MESSAGES_MAX, content limits as the network's; think bool
 * (optional); options object (optional, passed on). */
#define CTL_A_MODEL "model"
#define CTL_A_MESSAGES "messages"
#define CTL_A_THINK "think"
#define CTL_A_OPTIONS "options"
/* cancel: the id of a running request of the same connection. */
#define CTL_A_TARGET "target"

/* What an argument must be; each type has one check in ctlproto.c. */
enum ctl_arg_type {
	CTL_ARG_INT,	  /* an integer from min to max */
	CTL_ARG_BOOL,	  /* true or false */
	CTL_ARG_OBJECT,	  /* any object, passed on as it is */
	CTL_ARG_ID,	  /* a request id (ctl_valid_id) */
	CTL_ARG_MODEL,	  /* a model name (ic_valid_model_name) */
	CTL_ARG_MESSAGES, /* chat messages under the network's consumer rules */
};

struct ctl_arg {
	const char *name; /* CTL_A_*; NULL ends a shorter list */
	enum ctl_arg_type type;
	bool required;
	int64_t min, max; /* CTL_ARG_INT only */
};

/* Arguments one command may take (a row's fixed-size list). */
#define CTL_ARGS_MAX 6

/* One row of the command table. */
struct ctl_command {
	const char *name; /* CTL_CMD_* */
	bool privileged;  /* only for root or the daemon's own user;
				 * anyone else gets CTL_ST_PERMISSION */
	bool streams;	  /* sends events before its reply */
	bool spare_slot;  /* may run when all of a connection's
				 * CONTROL_REQUESTS_PER_CLIENT_MAX requests are
				 * running, so it can end one (cancel); its
				 * handler must reply at once */
	/* The members "args" may have, checked in this order; any other
	 * member is refused. */
	struct ctl_arg args[CTL_ARGS_MAX];
};

/* The command table: ctl_n_commands rows, names unique. */
extern const struct ctl_command ctl_commands[];
extern const size_t ctl_n_commands;

/* The row named name; NULL for a name this protocol does not define. */
const struct ctl_command *ctl_command_find(const char *name);

/*
 * Result members of the "status" reply.  Every member is optional for the
 * client (it prints what it gets); the daemon sends what it knows.
 */
#define CTL_R_VERSION "version" /* string, daemon version */
#define CTL_R_UPTIME "uptime_s" /* int, seconds */
#define CTL_R_NODE_ID "node_id" /* string */
#define CTL_R_ROUTER "router"	/* object: url, state, last_error */
#define CTL_R_URL "url"
#define CTL_R_STATE "state"		      /* string, e.g. "connected" */
#define CTL_R_LAST_ERROR "last_error"	      /* string or absent */
#define CTL_R_AVAILABLE "available"	      /* bool */
#define CTL_R_REASON "reason"		      /* string: why (un)available */
#define CTL_R_PAUSED_UNTIL "paused_until"     /* int, Unix time; 0 = until resume */
#define CTL_R_MODELS "models"		      /* array of strings */
#define CTL_R_IN_FLIGHT "in_flight"	      /* int */
#define CTL_R_SERVED "served"		      /* int */
#define CTL_R_MAX_CONCURRENT "max_concurrent" /* int */
#define CTL_R_OLLAMA "ollama"		      /* object: url, state, version, last_error */
#define CTL_R_NETWORK "network"		      /* object: health (object), models (array) */
#define CTL_R_HEALTH "health"
#define CTL_R_CLIENTS "clients" /* int, control clients connected */
#define CTL_R_GATEWAY \
	"gateway"			/* object: listen, streams, max_streams;
						 * absent when the gateway is off */
#define CTL_R_LISTEN "listen"		/* string, HOST:PORT */
#define CTL_R_STREAMS "streams"		/* int, chats open through the gateway */
#define CTL_R_MAX_STREAMS "max_streams" /* int */
/* "models" reply: each model's capabilities as the router's /api/models
 * has them, {"NAME":{"thinking":bool,"tool_calls":bool}}; absent when the
 * router did not send them. */
#define CTL_R_CAPABILITIES "capabilities"

/* The node's standing as the router last reported it (docs/protocol.md,
 * "standing"); absent when the router never said (the public server). */
#define CTL_R_STANDING "standing" /* object: chats (bool), text (string) */
#define CTL_R_STANDING_CHATS "chats"
#define CTL_R_STANDING_TEXT "text"

/*
 * The status reply's "idle" object (daemon/idle-watch.c writes it,
 * ctl/status-idle.c and ctl/status-lend.c read it): the policy's mode,
 * state, reason, since (Unix time), on_busy, and one member per signal.
 * A signal without a value is the string CTL_IDLE_UNKNOWN (or another
 * sentence, printed as it is).
 */
#define CTL_R_IDLE "idle" /* object; absent from a daemon without idle detection */
#define CTL_IDLE_MODE "mode"
#define CTL_IDLE_STATE "state"
#define CTL_IDLE_REASON "reason"
#define CTL_IDLE_SINCE "since"
#define CTL_IDLE_ON_BUSY "on_busy"
#define CTL_IDLE_CPU "cpu" /* object: others_percent, own_percent, psi_some_avg10 */
#define CTL_IDLE_OTHERS_PERCENT "others_percent"
#define CTL_IDLE_OWN_PERCENT "own_percent" /* also of each GPU */
#define CTL_IDLE_PSI "psi_some_avg10"
#define CTL_IDLE_GPU "gpu" /* array of objects, or a sentence why none */
#define CTL_IDLE_GPU_INDEX "gpu"
#define CTL_IDLE_GPU_SOURCE "source" /* "drm" or "nvml" */
#define CTL_IDLE_GPU_DEVICE "device"
#define CTL_IDLE_GPU_USED_PERCENT "used_percent"
#define CTL_IDLE_GPU_PCI "pci"
#define CTL_IDLE_GPU_WATCHED "watched" /* bool: [idle] gpus selects it */
#define CTL_IDLE_GPU_TOP_PID "top_pid"
#define CTL_IDLE_GPU_TOP_PROCESS "top_process"
#define CTL_IDLE_TERMINAL "terminal" /* object: seconds_ago, where */
#define CTL_IDLE_LOGIND "logind"     /* object: seconds_ago; or CTL_IDLE_OFF */
#define CTL_IDLE_SECONDS_AGO "seconds_ago"
#define CTL_IDLE_WHERE "where"
#define CTL_IDLE_POWER "power"	       /* string */
#define CTL_IDLE_EXCLUSIVE "exclusive" /* object: process, pid; or CTL_IDLE_NONE */
#define CTL_IDLE_EXCLUSIVE_PROCESS "process"
#define CTL_IDLE_EXCLUSIVE_PID "pid"
#define CTL_IDLE_SCHEDULE "schedule" /* object: text, open, next_open; or CTL_IDLE_NONE */
#define CTL_IDLE_SCHEDULE_TEXT "text"
#define CTL_IDLE_SCHEDULE_OPEN "open"		/* bool */
#define CTL_IDLE_SCHEDULE_NEXT_OPEN "next_open" /* Unix time, while closed */
#define CTL_IDLE_UNKNOWN "unknown"
#define CTL_IDLE_NONE "none"
#define CTL_IDLE_OFF "off"

/* --- events --- */
enum ctl_event {
	CTL_EV_CONTENT,	 /* "text": string */
	CTL_EV_THINKING, /* "text": string */
	CTL_EV_TOOL,	 /* "name", "status": "executing"|"done"|"error",
				 * "reason" (with "error", optional) */
	CTL_EV_ERROR,	 /* "detail": string */
	CTL_EV_DONE,	 /* "finish_reason": string, optional stats */
	CTL_EV_COUNT
};
#define CTL_E_TEXT "text"
#define CTL_E_NAME "name"
#define CTL_E_TOOL_STATUS "status"
#define CTL_E_TOOL_REASON "reason"
#define CTL_E_FINISH_REASON "finish_reason"

/* "content", ...; NULL if out of range. */
const char *ctl_event_name(enum ctl_event ev);
/* Name -> event; -1 if unknown. */
int ctl_event_from_name(const char *name);

/* --- reply statuses: a closed list, each with one sentence and exit code --- */
enum ctl_status {
	CTL_ST_OK,
	CTL_ST_BAD_JSON,    /* the line is not one JSON object */
	CTL_ST_BAD_VERSION, /* "v" absent or not CTL_PROTO_VERSION */
	CTL_ST_BAD_REQUEST, /* envelope wrong: id or cmd missing/mistyped */
	CTL_ST_UNKNOWN_COMMAND,
	CTL_ST_BAD_ARGS,      /* arguments missing, mistyped or out of range */
	CTL_ST_TOO_LONG,      /* line over IC_CONTROL_LINE_MAX; connection closes */
	CTL_ST_PERMISSION,    /* privileged command from an unprivileged peer */
	CTL_ST_BUSY,	      /* too many clients or requests */
	CTL_ST_NOT_FOUND,     /* model or cancel target not found */
	CTL_ST_UNAVAILABLE,   /* router unreachable / no node for the model */
	CTL_ST_FAILED,	      /* the command ran and failed */
	CTL_ST_CANCELLED,     /* the request was cancelled */
	CTL_ST_TIMEOUT,	      /* upstream did not answer in time */
	CTL_ST_SHUTTING_DOWN, /* the daemon is stopping */
	CTL_ST_COUNT
};

/* "ok", "bad_json", ...; NULL if out of range. */
const char *ctl_status_name(enum ctl_status st);
/* The fixed sentence idleclawctl prints; never NULL. */
const char *ctl_status_message(enum ctl_status st);
/* idleclawctl's exit code for a reply with this status. */
int ctl_status_exit_code(enum ctl_status st);
/* Name -> status; -1 if unknown. */
int ctl_status_from_name(const char *name);

/*
 * Exit codes idleclawctl uses for failures that are not a daemon reply.
 * Replies map through ctl_status_exit_code(); docs/control.md and
 * man/idleclawctl.1 list both.
 */
#define CTL_EXIT_OK 0
#define CTL_EXIT_FAILED 1	/* CTL_ST_FAILED, also generic */
#define CTL_EXIT_USAGE 2	/* bad flags or arguments */
#define CTL_EXIT_PROTOCOL 3	/* a malformed message either way */
#define CTL_EXIT_INCOMPATIBLE 4 /* version mismatch, unknown command */
#define CTL_EXIT_PERMISSION 5
#define CTL_EXIT_BUSY 6
#define CTL_EXIT_NOT_FOUND 7
#define CTL_EXIT_UNAVAILABLE 8 /* router or node unavailable */
#define CTL_EXIT_CANCELLED 9
#define CTL_EXIT_TIMEOUT 10	 /* upstream or idleclawctl's own timeout */
#define CTL_EXIT_NO_DAEMON 11	 /* cannot connect to the socket */
#define CTL_EXIT_INTERRUPTED 130 /* Ctrl-C */

/* --- requests --- */

/* A parsed, envelope-checked request.  root owns everything; id, cmd and
 * args point into it.  Free with ctl_request_clear(). */
struct ctl_request {
	json_object *root;
	const char *id; /* NULL when absent or invalid */
	const char *cmd;
	json_object *args; /* never NULL after CTL_ST_OK (empty object) */
};

/* true if id is 1..CTL_ID_MAX bytes of [A-Za-z0-9._:-]. */
bool ctl_valid_id(const char *id);

/*
 * Parse one line (without its line end) and check the envelope: JSON
 * object, "v", "id", "cmd", "args".  Returns CTL_ST_OK, BAD_JSON,
 * BAD_VERSION, BAD_REQUEST or BAD_ARGS (args not an object).  On any
 * result out->id is the request's id if it had a valid one (so the error
 * reply can name it), and the caller must ctl_request_clear(out).
 * Does not know which commands exist: see ctl_command_find().
 */
enum ctl_status ctl_request_parse(const char *line, size_t len, struct ctl_request *out);
void ctl_request_clear(struct ctl_request *req);

/*
 * Check args against the row's argument list: CTL_ST_OK or CTL_ST_BAD_ARGS
 * (err says which argument and why).
 */
enum ctl_status ctl_command_check_args(
	const struct ctl_command *cmd, json_object *args, char *err, size_t errlen);

/* ctl_command_check_args() for the row named cmd; CTL_ST_UNKNOWN_COMMAND
 * for a name the table does not have. */
enum ctl_status ctl_args_check(const char *cmd, json_object *args, char *err, size_t errlen);

/* true if cmd is a command name of the table. */
bool ctl_command_known(const char *cmd);

/*
 * A NEW request object.  args is taken over (its reference becomes the
 * request's); NULL means {}.
 */
json_object *ctl_request_new(const char *id, const char *cmd, json_object *args);

/* --- replies and events (daemon side) --- */

/*
 * A NEW reply object for id (NULL -> "id":null).  Members of body (borrowed,
 * may be NULL) are added after the envelope; body cannot override the
 * envelope's members.  detail (may be NULL) becomes "detail".
 */
json_object *ctl_reply_new(
	const char *id, enum ctl_status st, const char *detail, json_object *body);

/* A NEW event object; members of body (borrowed, may be NULL) are copied in. */
json_object *ctl_event_new(const char *id, const char *event_type, json_object *body);

/* Serialize obj in the wire format plus "\n" into a NEW string; *len gets
 * its length including the "\n". */
char *ctl_line_new(json_object *obj, size_t *len);

/* --- client side --- */

enum ctl_msg_kind { CTL_MSG_REPLY, CTL_MSG_EVENT };

/* A message from the daemon.  root owns the strings; free with
 * ctl_message_clear(). */
struct ctl_message {
	json_object *root;
	enum ctl_msg_kind kind;
	const char *id;		/* NULL for "id":null */
	enum ctl_status status; /* replies; a status name this version does not
				 * know reads as CTL_ST_FAILED */
	const char *message;	/* replies: the daemon's sentence (use it for a
				 * status we do not know); may be NULL */
	const char *detail;	/* replies and error events; may be NULL */
	int event;		/* events: enum ctl_event, or -1 for a type we do
				 * not know (a newer daemon): skip it */
};

/* Parse a line from the daemon.  0, or -1 if it is not a valid reply or
 * event of this protocol version (then nothing to clear). */
int ctl_message_parse(const char *line, size_t len, struct ctl_message *out);
void ctl_message_clear(struct ctl_message *msg);

#endif /* IC_CTLPROTO_H */
