/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * gateway-api.h - the local gateway's two dialects (Ollama's and OpenAI's
 * HTTP APIs) as pure functions: reading a client's request into "chat"
 * arguments for the consume path, and shaping the network's answer the
 * way each dialect's clients expect it.  No I/O here (daemon/gateway.c
 * does that; the dialect tables' writers read the clock, nothing else);
 * unit-tested in tests/unit/test_gateway.c.
 *
 * Ownership: functions ending in _new return a NEW object or string.
 */
#ifndef IC_DAEMON_GATEWAY_API_H
#define IC_DAEMON_GATEWAY_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <json-c/json.h>

/* The Ollama API version /api/version reports: the release whose wire
 * format the gateway follows (not a version of IdleClaw). */
#define GW_OLLAMA_API_VERSION "0.12.0"
/* Who owns a model, for OpenAI's model objects. */
#define GW_OPENAI_OWNER "idleclaw"

/* A chat request from either dialect. */
struct gw_chat {
	json_object *args; /* owned: "chat" args (model, messages, think?, options?),
				 * checked as idleclawctl chat's are; NULL if load_only */
	char *model;	   /* owned */
	bool stream;
	bool load_only; /* Ollama with no messages/prompt: "load the model" */
};
void gw_chat_clear(struct gw_chat *c);

/*
 * Read a request body (JSON text of len bytes).  0 and *out filled, or the
 * HTTP status to answer (400, 413...) with err one sentence.
 *   gw_ollama_chat_parse: POST /api/chat (generate false) or /api/generate.
 *   gw_openai_chat_parse: POST /v1/chat/completions.
 */
int gw_ollama_chat_parse(
	const char *body, size_t len, bool generate, struct gw_chat *out, char *err, size_t errlen);
int gw_openai_chat_parse(
	const char *body, size_t len, struct gw_chat *out, char *err, size_t errlen);

/*
 * The common part: model, the client's messages (roles system, developer,
 * user, assistant; content a string or OpenAI text parts), think and
 * options into out->args.  System texts are folded in front of the first
 * question (common/chatmsg.h).  0 or 400 with err.
 */
int gw_chat_build(const char *model, json_object *messages, bool think, json_object *options,
	struct gw_chat *out, char *err, size_t errlen);

/* The network's GET /api/models body as a NEW array of model names
 * (entries may be names or objects with "name"); NULL if not that shape. */
json_object *gw_model_names_new(json_object *body);
bool gw_names_has(json_object *names, const char *model);

/* The HTTP status for a chat's final control status (both dialects). */
int gw_http_status(int ctl_status);

/*
 * [gateway] listen: "HOST:PORT" with HOST an IPv4 address, "localhost" or
 * "[IPv6]", PORT 1..65535.  A HOST other than loopback is refused unless
 * allow_remote.  0 and host (numeric, no brackets; hostlen bytes) and
 * *port filled, or -1 with err.
 */
int gw_listen_parse(const char *listen, bool allow_remote, char *host, size_t hostlen, int *port,
	char *err, size_t errlen);

/* [gateway] cors_origins allows origin ("*", or one of a comma- or
 * space-separated list, compared exactly). */
bool gw_cors_allowed(const char *origins, const char *origin);

/* host (a Host header: name or address, optional ":PORT") names this
 * machine's loopback: "localhost" (any case, or "localhost."), a dotted
 * IPv4 address in 127/8 or "[IPv6]" loopback, with a port 1..65535 if any. */
bool gw_host_loopback(const char *host);

/*
 * Whether a request may use the gateway at all, from its Origin and Host
 * headers (NULL when absent).  A browser sends Origin with every
 * cross-origin POST, and a "simple" one needs no preflight, so an origin
 * not in origins is refused for every method; clients that are not
 * browsers send none.  Unless allow_remote, Host must be loopback, so a
 * page that rebinds its own name to 127.0.0.1 is refused too.  NULL if
 * allowed, else the sentence for a 403.
 */
const char *gw_request_refused(
	const char *origins, bool allow_remote, const char *origin, const char *host);

/* ---- the dialect table ---- */

/* A chat's answer as far as its dialect needs to know it (gateway.c keeps
 * one per chat; the OpenAI writers set role_sent). */
struct gw_answer {
	const char *model;  /* borrowed */
	bool generate;	    /* Ollama: /api/generate's shape */
	char id[40];	    /* OpenAI: the completion id */
	int64_t created;    /* OpenAI: "created" */
	bool role_sent;	    /* OpenAI: the first delta had the role */
	struct timespec t0; /* CLOCK_MONOTONIC start, for Ollama's total_duration */
};

/*
 * One dialect: how gateway.c reads a chat and writes every answer.  A
 * stream is objects framed one by one (frame_new: NDJSON lines or SSE
 * events), then end_payload framed once if not NULL.  final_new gives the
 * stream's last object (stream) or the whole answer with the full texts.
 * list_new/model_new answer the model reads (/api/tags and /api/show, or
 * /v1/models and /v1/models/{id}) from the network's model names.
 */
struct gw_dialect {
	const char *stream_type;   /* Content-Type of a stream */
	const char *cache_control; /* of a stream, or NULL */
	char *(*frame_new)(const char *json, size_t len, size_t *framed_len);
	const char *end_payload;
	int (*parse)(const char *body, size_t len, bool generate, struct gw_chat *out, char *err,
		size_t errlen);
	json_object *(*delta_new)(struct gw_answer *a, const char *content, const char *thinking);
	json_object *(*final_new)(struct gw_answer *a, bool stream, const char *content,
		const char *thinking, const char *finish_reason);
	json_object *(*error_new)(int status, const char *message);
	json_object *(*list_new)(json_object *names);
	json_object *(*model_new)(const char *model);
	const char *unknown_path; /* the 404's sentence */
};
extern const struct gw_dialect gw_ollama_dialect; /* gateway-ollama.c */
extern const struct gw_dialect gw_openai_dialect; /* gateway-openai.c */

/* ---- Ollama ---- */

/* RFC 3339 UTC with nanoseconds, as Ollama writes created_at.  NEW. */
char *gw_ollama_time_new(const struct timespec *ts);
/* One streamed line's object: chat {model, created_at, message{role,
 * content[, thinking]}, done:false}; generate {model, created_at,
 * response[, thinking], done:false}. */
json_object *gw_ollama_delta_new(const char *model, const char *created_at, bool generate,
	const char *content, const char *thinking);
/* The last line (or the whole stream:false answer): as a delta with the
 * full texts given, done:true, done_reason and total_duration (ns). */
json_object *gw_ollama_final_new(const char *model, const char *created_at, bool generate,
	const char *content, const char *thinking, const char *done_reason, int64_t total_ns);
json_object *gw_ollama_error_new(const char *message);
/* Ollama's answer to a chat with nothing to say (gw_chat.load_only), now:
 * done_reason "load", no timings, as server/routes.go writes it. */
json_object *gw_ollama_load_new(const char *model, bool generate);
/*
 * GET /api/tags from names.  What the network does not know is a
 * placeholder that reads as one: size 0, a digest of zeros (the ollama CLI
 * prints its first 12 characters and fails on a shorter one) and Go's zero
 * time for modified_at (the CLI shows "Never").
 */
#define GW_OLLAMA_NO_DIGEST "0000000000000000000000000000000000000000000000000000000000000000"
#define GW_OLLAMA_NO_TIME "0001-01-01T00:00:00Z"
json_object *gw_ollama_tags_new(json_object *names);
/* POST /api/show for a network model (minimal). */
json_object *gw_ollama_show_new(const char *model);
json_object *gw_ollama_version_new(void);
/* GET /api/ps: {"models": []}.  Nothing is loaded on this machine for the
 * gateway: the network's nodes load models, and their memory is theirs. */
json_object *gw_ollama_ps_new(void);
/* The sentence for an endpoint the network cannot serve (path like
 * "/api/pull"); NULL if path is not one of them. */
const char *gw_ollama_unsupported(const char *path);

/* ---- OpenAI ---- */

/* chat.completion.chunk: delta with role (if not NULL), content and
 * reasoning_content (each if not NULL); finish_reason null or the text. */
json_object *gw_openai_chunk_new(const char *id, int64_t created, const char *model,
	const char *role, const char *content, const char *reasoning, const char *finish_reason);
/* chat.completion (stream false). */
json_object *gw_openai_completion_new(const char *id, int64_t created, const char *model,
	const char *content, const char *reasoning, const char *finish_reason);
/* {"error":{"message","type","code"}} for an HTTP status. */
json_object *gw_openai_error_new(int status, const char *message);
json_object *gw_openai_models_new(json_object *names);
json_object *gw_openai_model_new(const char *id);

#endif
