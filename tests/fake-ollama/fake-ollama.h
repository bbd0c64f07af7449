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
	FO_FAULT_NO_DONE,   /* the stream ends without a done line */
	FO_FAULT_BUSY,	    /* 503 server busy (queue full) */
	FO_FAULT_LOAD_FAIL, /* 500 before any byte: the model cannot load */
	FO_FAULT_FORBIDDEN, /* 403, empty body: the Host header refused */
};

/* Ollama releases whose behaviour differs, as fo_version_num() values
 * (docs/fake-ollama.md says what each changed). */
#define FO_V_TOOL_INDEX 12006	    /* 0.12.6: function.index always sent */
#define FO_V_TOOL_ID 12010	    /* 0.12.10: tool calls carry an id */
#define FO_V_THINK_LEVELS_ANY 17007 /* 0.17.7: levels for any thinking model */
#define FO_V_THINK_MAX 21003	    /* 0.21.3: think "max" accepted */
#define FO_V_TAGS_CAPS 30000	    /* 0.30.0: /api/tags has capabilities */
/* Ollama's default keep_alive (OLLAMA_KEEP_ALIVE unset): 5 minutes. */
#define FO_KEEP_ALIVE_DEFAULT_S 300.0

struct fo_model {
	char *name;	 /* canonical, with a tag ("llama3.2:latest") */
	long long size;	 /* bytes */
	char digest[65]; /* fake sha256 hex */
	char *caps;	 /* --model-caps: comma-separated, or NULL for the default */
	bool remote;	 /* --cloud: remote_host/remote_model (runs on ollama.com) */
	/* loaded as Ollama's scheduler keeps it (listed by /api/ps) */
	bool loaded;
	int running;		 /* chats in progress */
	double keep_s;		 /* keep_alive of the last request; < 0: forever */
	struct timespec expires; /* once running is 0 (CLOCK_REALTIME) */
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
	long version_num;  /* fo_version_num(version) */
	long load_ms;	   /* --load-ms: silence before the headers while loading */
	char **model_caps; /* --model-caps NAME=LIST, until applied to models */
	size_t n_model_caps;
	char **cloud; /* --cloud NAME, until applied */
	size_t n_cloud;
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
/* "0.12.3" -> 12003 (major * 1000000 + minor * 1000 + patch); 0 if not so. */
long fo_version_num(const char *v);

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
/* Answer one validated /api/chat request; takes a reference to body.
 * keep_s is its keep_alive (seconds, < 0 forever); headers_ms the silence
 * before the headers (a model loading, or --fault slow-headers). */
void fo_chat_start(struct fo_server *srv, struct evhttp_request *req, json_object *body,
	struct fo_model *model, bool stream, enum fo_fault fault, double keep_s, long headers_ms);
/* A model's chats: one began (it is loaded now), one ended (it expires
 * keep_s after the last one ends). */
void fo_model_use(struct fo_model *m, double keep_s);
void fo_model_release(struct fo_model *m);
/* On shutdown: forget every chat (evhttp_free frees their requests). */
void fo_chat_free_all(struct fo_server *srv);

#endif
