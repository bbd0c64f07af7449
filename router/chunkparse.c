/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * chunkparse.c - inference_chunk frames without json-c (see chunkparse.h).
 *
 * Pass one validates the whole frame and notes where the strings the
 * router wants are; only when all is well does pass two decode those
 * strings in place (a decoded string is never longer than its JSON form).
 * Every "no" of pass one means "let ic_msg_parse() decide", never "bad".
 */
#include <string.h>

#include "chunkparse.h"
#include "common/hex.h"
#include "common/jsonutil.h"
#include "common/limits.h"
#include "common/proto.h"
#include "common/utf8.h"
#include "common/validate.h"

/* A string token as it is in the text: after the quote, to the closing one. */
struct span {
	char *start;
	size_t len;
	bool escaped; /* holds a backslash */
	bool set;
};

enum level { L_ROOT, L_CHUNK, L_MESSAGE };

/* Members read at each level; the bits also catch a repeated member. */
enum {
	F_TYPE = 1 << 0,
	F_REQUEST_ID = 1 << 1,
	F_CHUNK = 1 << 2,
	F_MESSAGE = 1 << 3,
	F_DONE = 1 << 4,
	F_DONE_REASON = 1 << 5,
	F_CONTENT = 1 << 6,
	F_THINKING = 1 << 7,
};

struct scan {
	char *p, *end;
	unsigned seen;
	struct span type, request_id, content, thinking, done_reason;
	bool done;
};

static bool value(struct scan *s, int depth);

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static bool eat(struct scan *s, char ch)
{
	if (s->p >= s->end || *s->p != ch)
		return false;
	s->p++;
	return true;
}

/* Printable ASCII but '"' and '\\': bytes a string takes as they are. */
static bool plain(unsigned char ch)
{
	return ch >= 0x20 && ch < 0x80 && ch != '"' && ch != '\\';
}

/* A string at s->p (its opening quote); its raw span into *sp if sp. */
static bool string(struct scan *s, struct span *sp)
{
	char *start;
	bool escaped = false;

	if (!eat(s, '"'))
		return false;
	start = s->p;
	while (s->p < s->end) {
		unsigned char ch = (unsigned char)*s->p;

		if (plain(ch)) {
			s->p++;
			continue;
		}

		if (ch == '"') {
			if (sp) {
				sp->start = start;
				sp->len = (size_t)(s->p - start);
				sp->escaped = escaped;
				sp->set = true;
			}
			s->p++;
			return true;
		}
		if (ch < 0x20)
			return false; /* raw control characters (and NUL) */
		if (ch == '\\') {
			escaped = true;
			if (s->end - s->p < 2)
				return false;
			if (s->p[1] == 'u') {
				long cp;

				if (s->end - s->p < 6)
					return false;
				cp = ic_hex_parse(s->p + 2, 4);
				/* NUL is refused by ic_json_parse_new; surrogates: slow path */
				if (cp <= 0 || (cp >= 0xd800 && cp <= 0xdfff))
					return false;
				s->p += 6;
			} else if (strchr("\"\\/bfnrt", s->p[1]) && s->p[1] != '\0') {
				s->p += 2;
			} else {
				return false;
			}
			continue;
		}
		if (ch >= 0x80) {
			size_t n = ic_utf8_seq_len(s->p, (size_t)(s->end - s->p));

			if (n == 0)
				return false;
			s->p += n;
			continue;
		}
		s->p++;
	}
	return false;
}

static bool digits(struct scan *s, int max)
{
	int n = 0;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
		if (++n > max)
			return false;
		s->p++;
	}
	return n > 0;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)? with bounded digits: no exponents, no
 * values json-c would turn into inf or refuse as out of range. */
static bool number(struct scan *s)
{
	eat(s, '-');
	if (s->p < s->end && *s->p == '0') {
		s->p++;
	} else if (!digits(s, 18)) {
		return false;
	}
	if (eat(s, '.') && !digits(s, 15))
		return false;
	return s->p >= s->end || (*s->p != 'e' && *s->p != 'E' && !(*s->p >= '0' && *s->p <= '9'));
}

static bool literal(struct scan *s, const char *word, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return false;
	s->p += n;
	return true;
}

/* Members of an object the router does not read into. */
static bool object_any(struct scan *s, int depth)
{
	if (!eat(s, '{'))
		return false;
	skip_ws(s);
	if (eat(s, '}'))
		return true;
	for (;;) {
		skip_ws(s);
		if (!string(s, NULL))
			return false;
		skip_ws(s);
		if (!eat(s, ':'))
			return false;
		skip_ws(s);
		if (!value(s, depth + 1))
			return false;
		skip_ws(s);
		if (eat(s, '}'))
			return true;
		if (!eat(s, ','))
			return false;
	}
}

static bool array_any(struct scan *s, int depth)
{
	if (!eat(s, '['))
		return false;
	skip_ws(s);
	if (eat(s, ']'))
		return true;
	for (;;) {
		skip_ws(s);
		if (!value(s, depth + 1))
			return false;
		skip_ws(s);
		if (eat(s, ']'))
			return true;
		if (!eat(s, ','))
			return false;
	}
}

/* Any JSON value; depth counts the containers around it. */
static bool value(struct scan *s, int depth)
{
	if (s->p >= s->end)
		return false;
	switch (*s->p) {
	case '{':
		return depth < CHUNK_PARSE_DEPTH_MAX && object_any(s, depth);
	case '[':
		return depth < CHUNK_PARSE_DEPTH_MAX && array_any(s, depth);
	case '"':
		return string(s, NULL);
	case 't':
		return literal(s, "true", 4);
	case 'f':
		return literal(s, "false", 5);
	case 'n':
		return literal(s, "null", 4);
	default:
		return number(s);
	}
}

static bool key_is(const struct span *k, const char *name, size_t n)
{
	return k->len == n && memcmp(k->start, name, n) == 0;
}

static bool object_read(struct scan *s, enum level level, int depth);

/* A string member the router reads; another type counts as absent. */
static bool member_string(struct scan *s, struct span *sp, int depth)
{
	if (s->p < s->end && *s->p == '"')
		return string(s, sp);
	return value(s, depth);
}

/* The value of member k at level; false: let ic_msg_parse() decide. */
static bool member(struct scan *s, enum level level, const struct span *k, int depth)
{
#define M(level, name, flag)                        \
	{                                           \
		level, name, sizeof(name) - 1, flag \
	}
	static const struct {
		enum level level;
		const char *name;
		size_t len;
		unsigned flag;
	} read[] = {
		M(L_ROOT, IC_M_TYPE, F_TYPE),
		M(L_ROOT, IC_M_REQUEST_ID, F_REQUEST_ID),
		M(L_ROOT, IC_M_CHUNK, F_CHUNK),
		M(L_CHUNK, IC_M_MESSAGE, F_MESSAGE),
		M(L_CHUNK, IC_M_DONE, F_DONE),
		M(L_CHUNK, IC_M_DONE_REASON, F_DONE_REASON),
		M(L_MESSAGE, IC_M_CONTENT, F_CONTENT),
		M(L_MESSAGE, IC_M_THINKING, F_THINKING),
	};
#undef M
	unsigned flag = 0;

	for (size_t i = 0; i < sizeof(read) / sizeof(read[0]) && !flag; i++)
		if (read[i].level == level && key_is(k, read[i].name, read[i].len))
			flag = read[i].flag;
	if (flag == 0)
		return value(s, depth);
	if (s->seen & flag)
		return false; /* json-c keeps the last: not worth following */
	s->seen |= flag;
	switch (flag) {
	case F_TYPE:
		/* not a string, or not a chunk: for ic_msg_parse() */
		return string(s, &s->type) && !s->type.escaped &&
			key_is(&s->type, IC_TYPE_INFERENCE_CHUNK,
				sizeof(IC_TYPE_INFERENCE_CHUNK) - 1);
	case F_REQUEST_ID:
		return string(s, &s->request_id);
	case F_CHUNK:
		return s->p < s->end && *s->p == '{' && object_read(s, L_CHUNK, depth);
	case F_MESSAGE:
		if (s->p < s->end && *s->p == '{')
			return object_read(s, L_MESSAGE, depth);
		return value(s, depth);
	case F_DONE:
		if (literal(s, "true", 4)) {
			s->done = true;
			return true;
		}
		return value(s, depth); /* false, or not a bool: not done */
	case F_DONE_REASON:
		return member_string(s, &s->done_reason, depth);
	case F_CONTENT:
		return member_string(s, &s->content, depth);
	default:
		return member_string(s, &s->thinking, depth);
	}
}

/* An object whose members the router reads (root, chunk, message). */
static bool object_read(struct scan *s, enum level level, int depth)
{
	if (depth >= CHUNK_PARSE_DEPTH_MAX || !eat(s, '{'))
		return false;
	skip_ws(s);
	if (eat(s, '}'))
		return true;
	for (;;) {
		struct span k = { 0 };

		skip_ws(s);
		if (!string(s, &k) || k.escaped)
			return false; /* an escaped name could still be one we read */
		skip_ws(s);
		if (!eat(s, ':'))
			return false;
		skip_ws(s);
		if (!member(s, level, &k, depth + 1))
			return false;
		skip_ws(s);
		if (eat(s, '}'))
			return true;
		if (!eat(s, ','))
			return false;
	}
}

static void put_utf8(char **w, long cp)
{
	char *o = *w;

	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | (cp >> 6));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xe0 | (cp >> 12));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	*w = o;
}

/* Decode a validated span in place and NUL-terminate it; its length. */
static size_t decode(const struct span *sp)
{
	char *r = sp->start, *end = sp->start + sp->len, *w = sp->start;

	if (!sp->escaped) {
		*end = '\0'; /* over the closing quote */
		return sp->len;
	}
	while (r < end) {
		if (*r != '\\') {
			*w++ = *r++;
			continue;
		}
		switch (r[1]) {
		case 'b':
			*w++ = '\b';
			break;
		case 'f':
			*w++ = '\f';
			break;
		case 'n':
			*w++ = '\n';
			break;
		case 'r':
			*w++ = '\r';
			break;
		case 't':
			*w++ = '\t';
			break;
		case 'u':
			put_utf8(&w, ic_hex_parse(r + 2, 4));
			r += 4;
			break;
		default:
			*w++ = r[1];
			break; /* " \ / */
		}
		r += 2;
	}
	*w = '\0';
	return (size_t)(w - sp->start);
}

bool chunk_parse(char *text, size_t len, struct chunk_view *v)
{
	char id[IC_REQUEST_ID_MAX + 1];
	struct scan s;

	memset(&s, 0, sizeof(s));
	s.p = text;
	s.end = text + len;
	skip_ws(&s);
	if (!object_read(&s, L_ROOT, 0))
		return false;
	skip_ws(&s);
	if (s.p != s.end || !(s.seen & F_TYPE) || !(s.seen & F_CHUNK) || !s.request_id.set)
		return false;
	/* checked on a copy: text must stay as it was if the answer is no */
	if (s.request_id.escaped || s.request_id.len > IC_REQUEST_ID_MAX)
		return false;
	memcpy(id, s.request_id.start, s.request_id.len);
	id[s.request_id.len] = '\0';
	if (!ic_valid_request_id(id))
		return false;
	/* from here on, text is changed */
	memset(v, 0, sizeof(*v));
	decode(&s.request_id);
	v->request_id = s.request_id.start;
	v->done = s.done;
	if (s.content.set) {
		v->content_len = decode(&s.content);
		v->content = s.content.start;
	}
	if (s.thinking.set) {
		v->thinking_len = decode(&s.thinking);
		v->thinking = s.thinking.start;
	}
	if (s.done_reason.set) {
		decode(&s.done_reason);
		v->done_reason = s.done_reason.start;
	}
	return true;
}

void chunk_view_of_json(json_object *chunk, struct chunk_view *v)
{
	json_object *msg = NULL;
	bool done = false;

	memset(v, 0, sizeof(*v));
	if (json_object_object_get_ex(chunk, IC_M_MESSAGE, &msg) &&
		json_object_is_type(msg, json_type_object)) {
		v->thinking = ic_json_get_string(msg, IC_M_THINKING);
		v->thinking_len = v->thinking ? strlen(v->thinking) : 0;
		v->content = ic_json_get_string(msg, IC_M_CONTENT);
		v->content_len = v->content ? strlen(v->content) : 0;
	}
	v->done = ic_json_get_bool(chunk, IC_M_DONE, &done) && done;
	v->done_reason = ic_json_get_string(chunk, IC_M_DONE_REASON);
}
