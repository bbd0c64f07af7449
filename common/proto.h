/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * proto.h - the node link: every message of docs/protocol.md.
 *
 * The public network's messages are fixed; docs/protocol.md describes them
 * and marks our extensions "(ext)", as this header marks them "extension".
 * Never renumber or redefine a message: add one.
 * Parsing checks structure and types only; policy (how many models, which
 * close reason) is checked by ic_register_check() and by the programs.
 */
#ifndef IC_PROTO_H
#define IC_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

enum ic_msg_type {
	IC_MSG_UNKNOWN = 0, /* a type we do not know: ignore it */
	/* node -> server */
	IC_MSG_REGISTER,
	IC_MSG_HEARTBEAT,
	IC_MSG_INFERENCE_CHUNK,
	IC_MSG_INFERENCE_ERROR,
	IC_MSG_MODELS_UPDATE, /* extension: replaces the model list */
	/* server -> node */
	IC_MSG_REGISTERED,
	IC_MSG_INFERENCE_REQUEST,
	IC_MSG_CANCEL_REQUEST,
	IC_MSG_STANDING, /* extension: below min_reputation or not */
};

/* The "type" of each message (ic_msg_type_name()). */
#define IC_TYPE_REGISTER "register"
#define IC_TYPE_HEARTBEAT "heartbeat"
#define IC_TYPE_INFERENCE_CHUNK "inference_chunk"
#define IC_TYPE_INFERENCE_ERROR "inference_error"
#define IC_TYPE_MODELS_UPDATE "models_update" /* extension */
#define IC_TYPE_REGISTERED "registered"
#define IC_TYPE_INFERENCE_REQUEST "inference_request"
#define IC_TYPE_CANCEL_REQUEST "cancel_request"
#define IC_TYPE_STANDING "standing" /* extension */

/* Member names: every reader and writer of the frames spells them so. */
#define IC_M_TYPE "type"
#define IC_M_NODE_ID "node_id"		 /* register, heartbeat, registered */
#define IC_M_REQUEST_ID "request_id"	 /* chunk, error, request, cancel */
#define IC_M_MODELS "models"		 /* register, models_update */
#define IC_M_NAME "name"		 /* models[] */
#define IC_M_SIZE "size"		 /* models[] */
#define IC_M_CAPABILITIES "capabilities" /* models[], extension */
#define IC_M_MAX_CONCURRENT "max_concurrent"
#define IC_M_OLLAMA_VERSION "ollama_version"
#define IC_M_ACTIVE_REQUESTS "active_requests" /* heartbeat */
#define IC_M_AVAILABLE "available"	       /* heartbeat, extension */
#define IC_M_FEATURES "features"	       /* registered */
#define IC_M_CHUNK "chunk"		       /* inference_chunk */
#define IC_M_ERROR "error"		       /* inference_error */
#define IC_M_OLLAMA_PARAMS "ollama_params"     /* inference_request */
#define IC_M_CHATS "chats"		       /* standing */
/* Members of an inference_chunk's chunk (Ollama's /api/chat stream object)
 * that the router reads and writes. */
#define IC_M_MESSAGE "message"
#define IC_M_ROLE "role"
#define IC_M_CONTENT "content"
#define IC_M_THINKING "thinking"
#define IC_M_TOOL_CALLS "tool_calls"
#define IC_M_DONE "done"
#define IC_M_DONE_REASON "done_reason"
#define IC_ROLE_ASSISTANT "assistant"

/* Extension names a router lists in registered.features. */
#define IC_FEATURE_AVAILABLE "available"	 /* heartbeat.available honoured */
#define IC_FEATURE_MODELS_UPDATE "models_update" /* models_update understood */
/* A second registration of a node_id replaces the first without harm to
 * the new one: a node may keep its stable id across any reconnect. */
#define IC_FEATURE_STABLE_NODE_ID "stable_node_id"

/* inference_error strings of the public protocol */
#define IC_ERR_INVALID_REQUEST "invalid_request"
#define IC_ERR_OLLAMA_UNAVAILABLE "ollama_unavailable"
#define IC_ERR_OLLAMA_ERROR "ollama_error"

/* WebSocket close reasons (code 1008 unless noted) */
#define IC_CLOSE_EXPECTED_REGISTER "expected register message"
#define IC_CLOSE_INVALID_NODE_ID "invalid node_id"
#define IC_CLOSE_NO_MODELS "no models provided"
#define IC_CLOSE_TOO_MANY_MODELS "too many models"
#define IC_CLOSE_INVALID_MODEL "invalid model name"
#define IC_CLOSE_TOO_MANY_NODES "too many nodes from this IP"
#define IC_CLOSE_REG_TIMEOUT "registration timeout"
#define IC_CLOSE_REREGISTERED "re-registered"	       /* code 1000 */
#define IC_CLOSE_HEARTBEAT_TIMEOUT "heartbeat timeout" /* code 1000 */

/* Capabilities of a model as Ollama's /api/show names them (a bit set). */
enum ic_model_cap {
	IC_CAP_KNOWN = 1 << 0, /* "capabilities" was sent (maybe empty) */
	IC_CAP_COMPLETION = 1 << 1,
	IC_CAP_TOOLS = 1 << 2,
	IC_CAP_THINKING = 1 << 3,
	IC_CAP_VISION = 1 << 4,
	IC_CAP_INSERT = 1 << 5,
	IC_CAP_EMBEDDING = 1 << 6,
};

struct ic_model_info {
	char *name;
	int64_t size; /* bytes; the public server requires it */
	/* extension: IC_CAP_* bits; without IC_CAP_KNOWN no
	 * "capabilities" member is sent and the router guesses from the name */
	unsigned caps;
};

/* The IC_CAP_* bit of an /api/show capability name, or 0 if unknown. */
unsigned ic_cap_of_name(const char *name);
/* IC_CAP_KNOWN plus the bits of a JSON array of names (others skipped). */
unsigned ic_caps_of_json(json_object *arr);

/*
 * One parsed message.  Which members are set depends on type; all strings
 * and json objects are owned by the struct: release with ic_msg_clear().
 */
struct ic_msg {
	enum ic_msg_type type;
	char *type_name;  /* as received (useful for UNKNOWN) */
	char *node_id;	  /* register, heartbeat, registered */
	char *request_id; /* chunk, error, request, cancel */
	/* register, models_update */
	struct ic_model_info *models;
	size_t n_models;
	int max_concurrent;   /* register; 0 when absent */
	char *ollama_version; /* register; may be NULL */
	/* heartbeat */
	int active_requests;
	bool available; /* true when absent (public agent) */
	/* registered */
	char **features;
	size_t n_features;
	/* inference_chunk: the "chunk" object; inference_request: "ollama_params" */
	json_object *chunk;
	json_object *ollama_params;
	/* inference_error */
	char *error;
	/* standing: whether the router gives this node consumer chats */
	bool chats;
};

/*
 * Parse one text frame.  0 ok (type may be IC_MSG_UNKNOWN); -1 if not a
 * JSON object, no "type", or a known type with missing or mistyped members
 * (err names the member).  out is always safe to ic_msg_clear().
 *
 * Members (R required, O optional; JSON null counts as absent for O):
 * register: node_id R string, models R array of {name string, size integer
 *   >= 0, capabilities O array of strings}, max_concurrent O integer >= 0 (absent: 0), ollama_version O string.
 * heartbeat: node_id R, active_requests R integer >= 0, available O bool
 *   (absent: true).
 * inference_chunk: request_id R, chunk R object.
 * inference_error: request_id R, error R string.
 * models_update: models R as in register.
 * registered: node_id R, features O array of strings.
 * inference_request: request_id R, ollama_params R object.
 * cancel_request: request_id R.
 * standing (extension, our router only): chats R bool.
 * Every request_id must pass ic_valid_request_id().  Unknown members are
 * ignored.  Counts and names are policy: see ic_register_check().
 * A frame longer than IC_WS_MESSAGE_MAX bytes is refused unparsed, and
 * JSON nesting is bounded by IC_JSON_DEPTH_MAX (jsonutil.h).
 */
int ic_msg_parse(const char *text, size_t len, struct ic_msg *out, char *err, size_t errlen);
void ic_msg_clear(struct ic_msg *m);

/*
 * The public server's checks of a first frame: NULL if it is an acceptable
 * registration, else the close reason (one of IC_CLOSE_*).  msg may be a
 * failed parse (type UNKNOWN).
 *
 * Details (implementation notes, see also ic_msg_parse()):
 * - not type "register" -> IC_CLOSE_EXPECTED_REGISTER;
 * - node_id missing, not a string, or failing ic_valid_node_id() (1..64
 *   printable ASCII, no spaces) -> IC_CLOSE_INVALID_NODE_ID;
 * - then ic_models_check().
 * A failed parse of a register frame always gets a reason, never NULL: a
 * missing/mistyped node_id or models, or a malformed model entry, is kept
 * visible in the struct (node_id NULL, n_models 0, entry name NULL); any
 * other bad member (max_concurrent, ollama_version) turns the type into
 * IC_MSG_UNKNOWN, so the answer is IC_CLOSE_EXPECTED_REGISTER.
 */
const char *ic_register_check(const struct ic_msg *msg);

/*
 * The model-list part of ic_register_check(), also for models_update:
 * none -> IC_CLOSE_NO_MODELS; more than IC_MODELS_PER_NODE_MAX ->
 * IC_CLOSE_TOO_MANY_MODELS; an entry whose name fails ic_valid_model_name()
 * or whose size is missing, not an integer or negative ->
 * IC_CLOSE_INVALID_MODEL (the public server requires size, so an entry
 * without one is an invalid model).  NULL if the list is acceptable.
 */
const char *ic_models_check(const struct ic_model_info *models, size_t n_models);

/* Builders: each returns a NEW string (caller frees) ready to send. */
char *ic_msg_register_new(const char *node_id, const struct ic_model_info *models, size_t n_models,
	int max_concurrent, const char *ollama_version);
char *ic_msg_registered_new(const char *node_id, const char *const *features, size_t n_features);
char *ic_msg_heartbeat_new(const char *node_id, int active_requests, bool available);
char *ic_msg_chunk_new(const char *request_id, json_object *chunk);
char *ic_msg_error_new(const char *request_id, const char *error);
char *ic_msg_request_new(const char *request_id, json_object *ollama_params);
char *ic_msg_cancel_new(const char *request_id);
char *ic_msg_models_update_new(const struct ic_model_info *models, size_t n_models);
/* standing: chats false when the node's reputation is below min_reputation
 * (it gets no consumer chats); never the score itself. */
char *ic_msg_standing_new(bool chats);

const char *ic_msg_type_name(enum ic_msg_type type);

#endif
