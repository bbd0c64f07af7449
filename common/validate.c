/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * validate.c - model names, identifiers and chat messages.
 *
 * Everything here is pure: no I/O, no logging.  Errors are one sentence
 * naming the field, written to the caller's buffer.  URLs and OLLAMA_HOST
 * are in the second half of this file.  Why each rule is what it is:
 * docs/validation.md.
 */
#include "validate.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "limits.h"
#include "utf8.h"
#include "xmalloc.h"

/* Bytes in a tool_name of a node message (not a network limit: ours). */
#define IC_TOOL_NAME_MAX 64

/* How sizes of JSON values are measured: their wire form. */
#define SERIAL_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool ic_valid_model_name(const char *name)
{
	size_t i;

	if (!name || !is_alnum(name[0]))
		return false;
	for (i = 1; name[i]; i++) {
		if (i >= IC_MODEL_NAME_MAX)
			return false;
		if (!is_alnum(name[i]) && !strchr(".:-_/", name[i]))
			return false;
	}
	return true;
}

bool ic_valid_node_id(const char *id)
{
	size_t i;

	if (!id || !id[0])
		return false;
	for (i = 0; id[i]; i++) {
		unsigned char c = (unsigned char)id[i];

		if (i >= IC_NODE_ID_MAX || c <= 0x20 || c >= 0x7F)
			return false;
	}
	return true;
}

bool ic_valid_request_id(const char *id)
{
	size_t i;

	if (!id || !id[0])
		return false;
	for (i = 0; id[i]; i++) {
		if (i >= IC_REQUEST_ID_MAX)
			return false;
		if (!is_alnum(id[i]) && !strchr("._:-", id[i]))
			return false;
	}
	return true;
}

/* --- chat messages --- */

static const char *const consumer_roles[] = { "user", "assistant", NULL };
static const char *const consumer_members[] = { "role", "content", NULL };
static const char *const node_roles[] = { "system", "user", "assistant", "tool", NULL };
static const char *const node_members[] = { "role", "content", "thinking", "tool_calls",
	"tool_name", NULL };

const struct ic_msg_rules ic_consumer_msg_rules = {
	.roles = consumer_roles,
	.members = consumer_members,
	.content_nonempty = true,
	.content_required = true,
};

const struct ic_msg_rules ic_node_msg_rules = {
	.roles = node_roles,
	.members = node_members,
	.content_nonempty = false,
	/* an assistant turn that only called tools may come without content */
	.content_required = false,
};

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* "a, b or c" for error messages. */
static void join_list(const char *const *list, char *buf, size_t buflen)
{
	size_t used = 0;

	buf[0] = '\0';
	for (; *list && used < buflen; list++) {
		const char *sep = used == 0 ? "" : list[1] ? ", " : " or ";
		int n = snprintf(buf + used, buflen - used, "%s%s", sep, *list);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/*
 * A text member of message i: valid UTF-8, no NUL, at most
 * IC_MESSAGE_CHARS_MAX code points.  Adds its length to *total.
 */
static int check_text(json_object *val, size_t i, const char *field, bool nonempty, size_t *total,
	char *err, size_t errlen)
{
	const char *s;
	size_t bytes;
	ssize_t chars;

	if (!json_object_is_type(val, json_type_string)) {
		seterr(err, errlen, "messages[%zu].%s: must be a string", i, field);
		return -1;
	}
	s = json_object_get_string(val);
	bytes = (size_t)json_object_get_string_len(val);
	/* json-c keeps "\u0000" as a byte inside the string: C code downstream
	 * would cut the text there, so refuse it outright. */
	if (memchr(s, '\0', bytes)) {
		seterr(err, errlen, "messages[%zu].%s: contains a NUL character", i, field);
		return -1;
	}
	chars = ic_utf8_count(s, bytes);
	if (chars < 0) {
		seterr(err, errlen, "messages[%zu].%s: not valid UTF-8", i, field);
		return -1;
	}
	if (nonempty && chars == 0) {
		seterr(err, errlen, "messages[%zu].%s: must not be empty", i, field);
		return -1;
	}
	if (chars > IC_MESSAGE_CHARS_MAX) {
		seterr(err, errlen, "messages[%zu].%s: longer than %d characters", i, field,
			IC_MESSAGE_CHARS_MAX);
		return -1;
	}
	*total += (size_t)chars;
	return 0;
}

static int check_role(
	json_object *msg, size_t i, const struct ic_msg_rules *rules, char *err, size_t errlen)
{
	json_object *role;
	char allowed[128];

	if (!json_object_object_get_ex(msg, "role", &role)) {
		seterr(err, errlen, "messages[%zu].role: missing", i);
		return -1;
	}
	if (json_object_is_type(role, json_type_string) &&
		strlen(json_object_get_string(role)) == (size_t)json_object_get_string_len(role) &&
		in_list(rules->roles, json_object_get_string(role)))
		return 0;
	join_list(rules->roles, allowed, sizeof(allowed));
	seterr(err, errlen, "messages[%zu].role: must be %s", i, allowed);
	return -1;
}

/*
 * tool_calls of message i, serialized: the model reads all of it, so it
 * counts like a text member (at most IC_MESSAGE_CHARS_MAX code points,
 * added to *total).
 */
static int count_tool_calls(json_object *val, size_t i, size_t *total, char *err, size_t errlen)
{
	const char *s = json_object_to_json_string_ext(val, SERIAL_FLAGS);
	ssize_t chars = ic_utf8_count(s, strlen(s));

	if (chars < 0) {
		seterr(err, errlen, "messages[%zu].tool_calls: not valid UTF-8", i);
		return -1;
	}
	if (chars > IC_MESSAGE_CHARS_MAX) {
		seterr(err, errlen,
			"messages[%zu].tool_calls: longer than %d characters "
			"serialized",
			i, IC_MESSAGE_CHARS_MAX);
		return -1;
	}
	*total += (size_t)chars;
	return 0;
}

/* tool_calls: [{"function":{"name":"f","arguments":{...}}}, ...] */
static int check_tool_calls(json_object *val, size_t i, size_t *total, char *err, size_t errlen)
{
	size_t k, n;

	if (!json_object_is_type(val, json_type_array)) {
		seterr(err, errlen, "messages[%zu].tool_calls: must be an array", i);
		return -1;
	}
	n = json_object_array_length(val);
	for (k = 0; k < n; k++) {
		json_object *call = json_object_array_get_idx(val, k);
		json_object *fn, *name;

		if (!json_object_is_type(call, json_type_object) ||
			!json_object_object_get_ex(call, "function", &fn) ||
			!json_object_is_type(fn, json_type_object) ||
			!json_object_object_get_ex(fn, "name", &name) ||
			!json_object_is_type(name, json_type_string)) {
			seterr(err, errlen,
				"messages[%zu].tool_calls[%zu]: must be "
				"{\"function\":{\"name\":...}}",
				i, k);
			return -1;
		}
	}
	return count_tool_calls(val, i, total, err, errlen);
}

static int check_tool_name(json_object *val, size_t i, char *err, size_t errlen)
{
	const char *s;
	size_t len;

	if (!json_object_is_type(val, json_type_string)) {
		seterr(err, errlen, "messages[%zu].tool_name: must be a string", i);
		return -1;
	}
	s = json_object_get_string(val);
	len = (size_t)json_object_get_string_len(val);
	if (len == 0 || len > IC_TOOL_NAME_MAX || memchr(s, '\0', len) ||
		ic_utf8_count(s, len) < 0) {
		seterr(err, errlen,
			"messages[%zu].tool_name: must be 1 to %d bytes "
			"of UTF-8",
			i, IC_TOOL_NAME_MAX);
		return -1;
	}
	return 0;
}

/* Is a client's key safe to repeat in an error (and so in a log line)? */
static bool plain_key(const char *key)
{
	size_t i;

	for (i = 0; key[i]; i++)
		if (i >= 32 || (!is_alnum(key[i]) && key[i] != '_' && key[i] != '-'))
			return false;
	return i > 0;
}

/* The members of message i, other than role. */
static int check_members(json_object *msg, size_t i, const struct ic_msg_rules *rules,
	size_t *total, char *err, size_t errlen)
{
	bool has_content = false;

	json_object_object_foreach(msg, key, val)
	{
		int rc = 0;

		if (!in_list(rules->members, key)) {
			if (plain_key(key))
				seterr(err, errlen, "messages[%zu].%s: not allowed", i, key);
			else
				seterr(err, errlen,
					"messages[%zu]: has a member that is "
					"not allowed",
					i);
			return -1;
		}
		if (strcmp(key, "content") == 0) {
			/* null content: as if absent (Python clients send it) */
			if (val == NULL)
				continue;
			has_content = true;
			rc = check_text(val, i, key, rules->content_nonempty, total, err, errlen);
		} else if (strcmp(key, "thinking") == 0) {
			rc = check_text(val, i, key, false, total, err, errlen);
		} else if (strcmp(key, "tool_calls") == 0) {
			rc = check_tool_calls(val, i, total, err, errlen);
		} else if (strcmp(key, "tool_name") == 0) {
			rc = check_tool_name(val, i, err, errlen);
		}
		if (rc < 0)
			return -1;
	}
	if (rules->content_required && !has_content) {
		seterr(err, errlen, "messages[%zu].content: missing", i);
		return -1;
	}
	return 0;
}

int ic_validate_messages(
	json_object *messages, const struct ic_msg_rules *rules, char *err, size_t errlen)
{
	size_t i, n, total = 0;

	if (!rules)
		rules = &ic_consumer_msg_rules; /* the strictest */
	if (!json_object_is_type(messages, json_type_array)) {
		seterr(err, errlen, "messages: must be an array");
		return -1;
	}
	n = json_object_array_length(messages);
	if (n < 1 || n > IC_MESSAGES_MAX) {
		seterr(err, errlen, "messages: must hold 1 to %d messages, not %zu",
			IC_MESSAGES_MAX, n);
		return -1;
	}
	for (i = 0; i < n; i++) {
		json_object *msg = json_object_array_get_idx(messages, i);

		if (!json_object_is_type(msg, json_type_object)) {
			seterr(err, errlen, "messages[%zu]: must be an object", i);
			return -1;
		}
		if (check_role(msg, i, rules, err, errlen) < 0 ||
			check_members(msg, i, rules, &total, err, errlen) < 0)
			return -1;
		if (total > IC_TOTAL_CHARS_MAX) {
			seterr(err, errlen, "messages: longer than %d characters in all",
				IC_TOTAL_CHARS_MAX);
			return -1;
		}
	}
	return 0;
}

/* --- what a router adds for Ollama: tools, format, options --- */

/* Bytes of val's wire form. */
static size_t serial_bytes(json_object *val)
{
	return strlen(json_object_to_json_string_ext(val, SERIAL_FLAGS));
}

int ic_validate_tools(json_object *tools, char *err, size_t errlen)
{
	size_t k, n;

	if (tools == NULL)
		return 0;
	if (!json_object_is_type(tools, json_type_array)) {
		seterr(err, errlen, "tools: must be an array");
		return -1;
	}
	n = json_object_array_length(tools);
	if (n > IC_TOOLS_MAX) {
		seterr(err, errlen, "tools: at most %d tools, not %zu", IC_TOOLS_MAX, n);
		return -1;
	}
	for (k = 0; k < n; k++) {
		if (!json_object_is_type(json_object_array_get_idx(tools, k), json_type_object)) {
			seterr(err, errlen, "tools[%zu]: must be an object", k);
			return -1;
		}
	}
	if (serial_bytes(tools) > IC_TOOLS_BYTES_MAX) {
		seterr(err, errlen, "tools: longer than %d bytes serialized", IC_TOOLS_BYTES_MAX);
		return -1;
	}
	return 0;
}

int ic_validate_format(json_object *format, char *err, size_t errlen)
{
	if (format == NULL)
		return 0;
	if (json_object_is_type(format, json_type_string) &&
		strcmp(json_object_get_string(format), "json") == 0 &&
		json_object_get_string_len(format) == 4)
		return 0;
	if (!json_object_is_type(format, json_type_object)) {
		seterr(err, errlen, "format: must be \"json\" or a JSON schema object");
		return -1;
	}
	if (serial_bytes(format) > IC_FORMAT_BYTES_MAX) {
		seterr(err, errlen, "format: longer than %d bytes serialized", IC_FORMAT_BYTES_MAX);
		return -1;
	}
	return 0;
}

enum opt_kind { OPT_INT, OPT_NUM, OPT_BOOL, OPT_STOP };

struct opt_rule {
	const char *key;
	enum opt_kind kind;
	double min, max;
};

/*
 * The sampling options Ollama documents (docs/api.md, docs/modelfile.md),
 * with ranges wide enough for any real use.  Options that say how the
 * contributor's machine runs the model (num_gpu, main_gpu, num_thread,
 * num_batch, numa, use_mmap) are the contributor's to choose, not the
 * router's: they are refused like unknown keys.
 */
static const struct opt_rule opt_rules[] = { { "num_ctx", OPT_INT, 1, IC_OPT_NUM_CTX_MAX },
	/* -1 is Ollama's default: the same as leaving it out */
	{ "num_predict", OPT_INT, -1, IC_OPT_NUM_PREDICT_MAX },
	{ "num_keep", OPT_INT, -1, IC_OPT_NUM_CTX_MAX },
	{ "repeat_last_n", OPT_INT, -1, IC_OPT_NUM_CTX_MAX },
	{ "seed", OPT_INT, INT32_MIN, INT32_MAX }, { "top_k", OPT_INT, 0, 1000 },
	{ "mirostat", OPT_INT, 0, 2 }, { "temperature", OPT_NUM, 0, 2 }, { "top_p", OPT_NUM, 0, 1 },
	{ "min_p", OPT_NUM, 0, 1 }, { "typical_p", OPT_NUM, 0, 1 },
	{ "repeat_penalty", OPT_NUM, 0, 2 }, { "presence_penalty", OPT_NUM, -2, 2 },
	{ "frequency_penalty", OPT_NUM, -2, 2 }, { "mirostat_tau", OPT_NUM, 0, 10 },
	{ "mirostat_eta", OPT_NUM, 0, 1 }, { "penalize_newline", OPT_BOOL, 0, 0 },
	{ "stop", OPT_STOP, 0, IC_OPT_STOP_MAX }, { NULL, OPT_BOOL, 0, 0 } };

static const struct opt_rule *opt_rule_of(const char *key)
{
	const struct opt_rule *r;

	for (r = opt_rules; r->key; r++)
		if (strcmp(r->key, key) == 0)
			return r;
	return NULL;
}

/* options.stop: an array of at most IC_OPT_STOP_MAX short strings. */
static int check_opt_stop(json_object *val, char *err, size_t errlen)
{
	size_t k, n;

	if (!json_object_is_type(val, json_type_array) ||
		(n = json_object_array_length(val)) > IC_OPT_STOP_MAX) {
		seterr(err, errlen, "options.stop: must be an array of at most %d strings",
			IC_OPT_STOP_MAX);
		return -1;
	}
	for (k = 0; k < n; k++) {
		json_object *s = json_object_array_get_idx(val, k);
		size_t len;

		if (json_object_is_type(s, json_type_string) &&
			(len = (size_t)json_object_get_string_len(s)) >= 1 &&
			len <= IC_OPT_STOP_BYTES_MAX &&
			!memchr(json_object_get_string(s), '\0', len) &&
			ic_utf8_count(json_object_get_string(s), len) >= 0)
			continue;
		seterr(err, errlen, "options.stop[%zu]: must be 1 to %d bytes of UTF-8", k,
			IC_OPT_STOP_BYTES_MAX);
		return -1;
	}
	return 0;
}

static int check_option(const struct opt_rule *r, json_object *val, char *err, size_t errlen)
{
	double v;

	switch (r->kind) {
	case OPT_STOP:
		return check_opt_stop(val, err, errlen);
	case OPT_BOOL:
		if (json_object_is_type(val, json_type_boolean))
			return 0;
		seterr(err, errlen, "options.%s: must be true or false", r->key);
		return -1;
	case OPT_INT:
		if (json_object_is_type(val, json_type_int)) {
			int64_t iv = json_object_get_int64(val);

			if (iv >= (int64_t)r->min && iv <= (int64_t)r->max)
				return 0;
		}
		seterr(err, errlen, "options.%s: must be a whole number from %.0f to %.0f", r->key,
			r->min, r->max);
		return -1;
	case OPT_NUM:
		if (json_object_is_type(val, json_type_int) ||
			json_object_is_type(val, json_type_double)) {
			v = json_object_get_double(val);
			if (isfinite(v) && v >= r->min && v <= r->max)
				return 0;
		}
		seterr(err, errlen, "options.%s: must be a number from %g to %g", r->key, r->min,
			r->max);
		return -1;
	}
	return -1;
}

int ic_validate_options(json_object *options, char *err, size_t errlen)
{
	if (options == NULL)
		return 0;
	if (!json_object_is_type(options, json_type_object)) {
		seterr(err, errlen, "options: must be an object");
		return -1;
	}
	json_object_object_foreach(options, key, val)
	{
		const struct opt_rule *r = opt_rule_of(key);

		if (!r) {
			if (plain_key(key))
				seterr(err, errlen, "options.%s: not allowed", key);
			else
				seterr(err, errlen, "options: has a key that is not allowed");
			return -1;
		}
		if (check_option(r, val, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* --- URLs and OLLAMA_HOST --- */

#define OLLAMA_DEFAULT_PORT 11434
#define HOSTNAME_MAX 253 /* bytes in a DNS name (RFC 1035) */

void ic_url_clear(struct ic_url *u)
{
	if (!u)
		return;
	free(u->scheme);
	free(u->host);
	free(u->path);
	memset(u, 0, sizeof(*u));
}

/* Spaces, control characters and non-ASCII bytes are refused anywhere. */
static int check_url_chars(const char *s, char *err, size_t errlen)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c == 0x7F) {
			seterr(err, errlen, "URL contains a space or control character");
			return -1;
		}
		if (c >= 0x80) {
			seterr(err, errlen,
				"URL contains a non-ASCII character "
				"(write international names in punycode)");
			return -1;
		}
	}
	return 0;
}

/* Port digits p[0..len): 1..65535, decimal only (ic_port_parse()). */
static int parse_port(const char *p, size_t len, int *port, char *err, size_t errlen)
{
	int v;

	if (len == 0) {
		seterr(err, errlen, "URL port is empty");
		return -1;
	}
	v = ic_port_parse(p, len);
	if (v < 0) {
		seterr(err, errlen, "URL port must be a number from 1 to 65535");
		return -1;
	}
	*port = v;
	return 0;
}

static bool valid_hostname(const char *h, size_t len)
{
	size_t i;

	if (len == 0 || len > HOSTNAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!is_alnum(h[i]) && h[i] != '.' && h[i] != '-' && h[i] != '_')
			return false;
	return true;
}

static bool valid_ipv6(const char *h, size_t len)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in6_addr addr;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, h, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, &addr) == 1;
}

/*
 * "host", "host:port", "[v6]" or "[v6]:port" in hp[0..len).  *host gets a
 * new string (IPv6 without brackets); *port is left alone when none is given.
 */
static int parse_hostport(
	const char *hp, size_t len, char **host, int *port, char *err, size_t errlen)
{
	struct ic_hostport parts;
	enum ic_hostport_err rc;

	if (memchr(hp, '@', len)) {
		seterr(err, errlen, "URL must not contain a user name or password");
		return -1;
	}
	rc = ic_hostport_split(hp, len, 0, &parts);
	if (rc == IC_HP_NO_BRACKET ||
		(parts.bracketed && !valid_ipv6(parts.host, parts.host_len))) {
		seterr(err, errlen, "URL has a bad IPv6 address");
		return -1;
	}
	if (!parts.bracketed && !valid_hostname(parts.host, parts.host_len)) {
		seterr(err, errlen,
			parts.host_len == 0
				? "URL has no host"
				: "URL host may only hold letters, digits, '.', '-' and '_'");
		return -1;
	}
	if (rc == IC_HP_JUNK) {
		seterr(err, errlen, "URL has junk after the host");
		return -1;
	}
	if (parts.port && parse_port(parts.port, parts.port_len, port, err, errlen) < 0)
		return -1;
	*host = xstrndup(parts.host, parts.host_len);
	return 0;
}

/* "http://" or "https://" at s: fills scheme, tls, default port. */
static const char *parse_scheme(const char *s, struct ic_url *out)
{
	if (strncasecmp(s, "http://", 7) == 0) {
		out->scheme = xstrdup("http");
		out->port = 80;
		return s + 7;
	}
	if (strncasecmp(s, "https://", 8) == 0) {
		out->scheme = xstrdup("https");
		out->port = 443;
		out->tls = true;
		return s + 8;
	}
	return NULL;
}

int ic_url_parse(const char *s, struct ic_url *out, char *err, size_t errlen)
{
	const char *rest;
	size_t alen;

	memset(out, 0, sizeof(*out));
	if (!s || !*s) {
		seterr(err, errlen, "URL is empty");
		return -1;
	}
	if (check_url_chars(s, err, errlen) < 0)
		return -1;
	rest = parse_scheme(s, out);
	if (!rest) {
		seterr(err, errlen, "URL must start with http:// or https://");
		return -1;
	}
	if (strchr(rest, '#')) {
		seterr(err, errlen, "URL must not contain a fragment (#)");
		goto fail;
	}
	alen = strcspn(rest, "/?");
	if (parse_hostport(rest, alen, &out->host, &out->port, err, errlen) < 0)
		goto fail;
	out->path = rest[alen] == '?' ? xasprintf("/%s", rest + alen) : xstrdup(rest + alen);
	return 0;
fail:
	ic_url_clear(out);
	return -1;
}

/* Ollama trims spaces, then quotes, then spaces again: a new string. */
static char *ollama_trim_new(const char *s)
{
	const char *end = s + strlen(s);
	int pass;

	for (pass = 0; pass < 3; pass++) {
		const char *set = pass == 1 ? "\"'" : " \t\r\n\v\f";

		while (s < end && strchr(set, *s))
			s++;
		while (end > s && strchr(set, end[-1]))
			end--;
	}
	return xstrndup(s, (size_t)(end - s));
}

/* host[:port] of OLLAMA_HOST, with Ollama's extras: "" and ":port" mean
 * 127.0.0.1, and a bare IPv6 address needs no brackets. */
static int ollama_hostport(const char *hp, size_t len, struct ic_url *out, char *err, size_t errlen)
{
	const char *colon = memchr(hp, ':', len);

	if (len == 0 || (colon == hp && memchr(hp + 1, ':', len - 1) == NULL)) {
		out->host = xstrdup("127.0.0.1");
		return len == 0 ? 0 : parse_port(hp + 1, len - 1, &out->port, err, errlen);
	}
	if (hp[0] != '[' && colon && memchr(colon + 1, ':', (size_t)(hp + len - colon - 1))) {
		if (!valid_ipv6(hp, len)) {
			seterr(err, errlen, "URL has a bad IPv6 address");
			return -1;
		}
		out->host = xstrndup(hp, len);
		return 0;
	}
	return parse_hostport(hp, len, &out->host, &out->port, err, errlen);
}

int ic_ollama_host_parse(const char *s, struct ic_url *out, char *err, size_t errlen)
{
	char *t;
	const char *rest;
	size_t hlen, plen;

	memset(out, 0, sizeof(*out));
	t = ollama_trim_new(s ? s : "");
	if (check_url_chars(t, err, errlen) < 0)
		goto fail;
	if (strstr(t, "://")) {
		/* An explicit scheme brings its own default port, as in Ollama. */
		rest = parse_scheme(t, out);
		if (!rest) {
			seterr(err, errlen, "OLLAMA_HOST must use http:// or https://");
			goto fail;
		}
	} else {
		rest = t;
		out->scheme = xstrdup("http");
		out->port = OLLAMA_DEFAULT_PORT;
	}
	hlen = strcspn(rest, "/");
	if (ollama_hostport(rest, hlen, out, err, errlen) < 0)
		goto fail;
	/* Ollama keeps a path prefix, without trailing slashes. */
	plen = strlen(rest + hlen);
	while (plen > 0 && rest[hlen + plen - 1] == '/')
		plen--;
	out->path = xstrndup(rest + hlen, plen);
	free(t);
	return 0;
fail:
	free(t);
	ic_url_clear(out);
	return -1;
}
