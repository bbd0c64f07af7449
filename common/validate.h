/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * validate.h - pure checks of what crosses a trust boundary.
 *
 * Each returns true/0 for good input; on bad input it fills err (at most
 * errlen bytes, see IC_ERRBUF_MAX) with one sentence that names the field,
 * e.g. "messages[3].content: longer than 10000 characters".
 */
#ifndef IC_VALIDATE_H
#define IC_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

/*
 * Model names: 1..IC_MODEL_NAME_MAX characters, a letter or digit first,
 * then letters, digits and ". : - _ /" (real Ollama names use "_" and "/":
 * "llama3.2:3b-instruct-q4_K_M", "hf.co/user/model:Q4_K_M").  ASCII only.
 */
bool ic_valid_model_name(const char *name);

/* node_id: 1..IC_NODE_ID_MAX printable ASCII characters, no spaces. */
bool ic_valid_node_id(const char *id);

/* request_id: 1..IC_REQUEST_ID_MAX bytes of [A-Za-z0-9._:-]. */
bool ic_valid_request_id(const char *id);

/* Which messages a side accepts. */
struct ic_msg_rules {
	const char *const *roles;   /* NULL-terminated */
	const char *const *members; /* allowed keys in a message, NULL-terminated */
	bool content_nonempty;	    /* content must have >= 1 character */
	bool content_required;	    /* a message without content is refused */
};
/* Router (consumers): roles user/assistant; members role, content; 1..10,000. */
extern const struct ic_msg_rules ic_consumer_msg_rules;
/* Node: roles user/assistant/system/tool; members role, content, thinking,
 * tool_calls, tool_name (never images); content 0..10,000. */
extern const struct ic_msg_rules ic_node_msg_rules;

/*
 * A chat's "messages": an array of 1..IC_MESSAGES_MAX objects following
 * rules, each content valid UTF-8 of at most IC_MESSAGE_CHARS_MAX code
 * points and all together at most IC_TOTAL_CHARS_MAX.  0 ok, -1 bad.
 */
int ic_validate_messages(
	json_object *messages, const struct ic_msg_rules *rules, char *err, size_t errlen);

/*
 * What a router may add to a chat for Ollama; NULL (JSON null or absent)
 * is fine.  0 ok, -1 bad.
 * tools: an array of at most IC_TOOLS_MAX objects, IC_TOOLS_BYTES_MAX
 * bytes serialized.  format: "json", or a JSON schema object of at most
 * IC_FORMAT_BYTES_MAX bytes serialized.  options: only the sampling keys
 * Ollama documents, each of its type and in its range (num_ctx at most
 * IC_OPT_NUM_CTX_MAX, num_predict at most IC_OPT_NUM_PREDICT_MAX,
 * temperature 0..2, ...: docs/validation.md has the table).
 */
int ic_validate_tools(json_object *tools, char *err, size_t errlen);
int ic_validate_format(json_object *format, char *err, size_t errlen);
int ic_validate_options(json_object *options, char *err, size_t errlen);

/* A parsed URL.  Strings are owned by the struct: free with ic_url_clear(). */
struct ic_url {
	char *scheme; /* "http" or "https" (lower case) */
	char *host;   /* name, IPv4, or IPv6 without brackets */
	int port;     /* explicit, or 80/443 by scheme */
	char *path;   /* "" or starting with '/' (query kept) */
	bool tls;     /* https */
};

/*
 * Only http:// and https:// with a host; optional port 1..65535; no
 * userinfo; no control characters or spaces anywhere.  0 ok, -1 bad.
 */
int ic_url_parse(const char *s, struct ic_url *out, char *err, size_t errlen);
void ic_url_clear(struct ic_url *u);

/*
 * OLLAMA_HOST as Ollama accepts it: "http://host:port", "https://host",
 * "host:port", "host", ":port" (missing scheme: http; missing host:
 * 127.0.0.1; missing port: 11434).  0 ok, -1 bad.
 */
int ic_ollama_host_parse(const char *s, struct ic_url *out, char *err, size_t errlen);

#endif
