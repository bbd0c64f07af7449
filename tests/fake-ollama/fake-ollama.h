/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * fake-ollama.h - a stand-in for Ollama's HTTP API, for tests and benchmarks.
 *
 * One process, one libevent loop.  options.c turns flags into a
 * struct fo_config; reply.c plans the pieces of a reply; api.c answers
 * the HTTP paths; chat.c streams one /api/chat reply (faults, cancel);
 * record.c appends what we received to the --record file.
 * See docs/fake-ollama.md.
 */
#ifndef FO_FAKE_OLLAMA_H
#define FO_FAKE_OLLAMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include <json-c/json.h>

struct evhttp_request;
struct event_base;
struct evhttp;

/* Largest request body we read (Ollama itself has no small limit). */
#define FO_BODY_MAX (16 * 1024 * 1024)
/* Lines emitted per write callback when --delay is 0: keeps the loop responsive. */
#define FO_BATCH_LINES 512
/* ...and bytes queued per write callback. */
#define FO_BATCH_BYTES (64 * 1024)
/* Largest --tokens value. */
#define FO_TOKENS_MAX 100000000L
/* Largest --delay-ms: FO_TOKENS_MAX lines of it still fit nanoseconds in
 * a long long. */
#define FO_DELAY_MS_MAX 60000L
/* Default number of lines before an error-midstream / close-midstream fault. */
#define FO_FAULT_AFTER_DEFAULT 2

enum fo_fault {
	FO_FAULT_NONE,
	FO_FAULT_UNKNOWN_MODEL,
	FO_FAULT_HTTP_500,
	FO_FAULT_ERROR_MIDSTREAM,
	FO_FAULT_HANG,
	FO_FAULT_CLOSE_MIDSTREAM,
	FO_FAULT_SLOW_HEADERS,
	FO_FAULT_BAD_LINE,
};

struct fo_model {
	char *name;	 /* canonical, with a tag ("llama3.2:latest") */
	long long size;	 /* bytes */
	char digest[65]; /* fake sha256 hex */
	bool loaded;	 /* listed by /api/ps after its first chat */
	time_t loaded_at;
};

struct fo_config {
	char *host;
	int port;
	struct fo_model *models;
	size_t nmodels;
	char *reply;		 /* fixed reply text */
	bool echo;		 /* reply with the last user message instead */
	long tokens;		 /* 0: one piece a word */
	long long delay_ns;	 /* between pieces */
	long chunk_bytes;	 /* cut the stream into HTTP chunks this big, or 0 */
	char *think;		 /* thinking text, or NULL */
	char *capabilities;	 /* --capabilities, or NULL for the default */
	json_object *tool_calls; /* array of {"function":{...}}, or NULL */
	bool tool_call_always;
	enum fo_fault fault;
	char *fault_model;  /* fault only for this model (canonical), or NULL */
	char *fault_path;   /* the path faulted, "/api/chat" by default */
	long fault_request; /* fault only for the Nth chat request, or 0 */
	long fault_after;   /* lines before a mid-stream fault */
	long fault_delay_ms;
	char *record_path;
	char *version;
	bool verbose;
};

struct fo_chat;
struct fo_delayed;

struct fo_server {
	struct fo_config *cfg;
	struct event_base *base;
	struct evhttp *http;
	unsigned long chat_requests; /* /api/chat requests so far */
	unsigned long path_requests; /* requests to another --fault-path */
	bool stopping;
	TAILQ_HEAD(fo_chat_list, fo_chat) chats;
	TAILQ_HEAD(fo_delayed_list, fo_delayed) delayed; /* slow-headers GETs */
};

/* options.c */
/* Parse argv into cfg (which it zeroes first).  Returns 0 to run, 1 when
 * --help or --version was printed, -1 with a message in err. */
int fo_options_parse(struct fo_config *cfg, int argc, char **argv, char *err, size_t errlen);
void fo_config_free(struct fo_config *cfg);
const char *fo_fault_name(enum fo_fault fault);
/* "llama3.2" -> "llama3.2:latest" (new string). */
char *fo_model_canonical_new(const char *name);

/* reply.c: a reply's text cut into pieces, each JSON-escaped once. */
struct fo_pieces {
	char **text; /* JSON-escaped, without quotes */
	size_t *len;
	size_t n;
};
/* Cut text per the --tokens rule (tokens 0: one piece a word; up to the
 * number of characters: that many pieces; more: the words repeated).
 * *count gets the number of lines to emit; piece i is pieces[i % n]. */
void fo_pieces_split(struct fo_pieces *p, const char *text, long tokens, size_t *count);
void fo_pieces_free(struct fo_pieces *p);
/* JSON string escaping without the quotes: a new string. */
char *fo_json_escape_new(const char *s, size_t len, size_t *outlen);
/* RFC 3339 UTC time with nanoseconds into buf (at least 40 bytes). */
void fo_rfc3339(char *buf, size_t len, const struct timespec *ts);

/* record.c */
int fo_record_open(const char *path, char *err, size_t errlen);
/* One line {"path":..,"body":<json or string>}. */
void fo_record_request(const char *path, const char *body, size_t len);
/* One line {"event":..,"model":..}. */
void fo_record_event(const char *event, const char *model);
void fo_record_close(void);

/* api.c */
void fo_api_handle(struct evhttp_request *req, void *arg);
/* Send a JSON error reply {"error":msg}. */
void fo_api_error(struct evhttp_request *req, int code, const char *msg);
struct fo_model *fo_model_find(struct fo_server *srv, const char *name);
/* On shutdown: forget the GETs waiting for slow-headers. */
void fo_api_free_delayed(struct fo_server *srv);

/* chat.c */
/* Answer one validated /api/chat request; takes a reference to body. */
void fo_chat_start(struct fo_server *srv, struct evhttp_request *req, json_object *body,
	struct fo_model *model, bool stream, enum fo_fault fault);
/* On shutdown: forget every chat (evhttp_free frees their requests). */
void fo_chat_free_all(struct fo_server *srv);

#endif
