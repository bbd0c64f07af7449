/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * chunkparse.h - the common node frame, inference_chunk, read without json-c.
 *
 * Nearly every frame a node sends is an inference_chunk, and parsing each
 * into json-c objects (ic_msg_parse()) was the largest part of the router's
 * work per chunk.  chunk_parse() reads such a frame in one pass, in place:
 * it checks the whole text is JSON that ic_msg_parse() would accept and
 * picks out the members the router uses.  It is deliberately narrower than
 * the full parser: any frame it is not sure about (another type, a bad or
 * unusual frame: escapes in member names, \u escapes outside the BMP or of
 * NUL, numbers with exponents or more than 18 digits, nesting deeper than
 * CHUNK_PARSE_DEPTH_MAX, a repeated member it reads) it leaves untouched
 * and the caller parses it with ic_msg_parse(), which also reports errors.
 * So a frame gives the same result either way, only faster this way.
 */
#ifndef IC_ROUTER_CHUNKPARSE_H
#define IC_ROUTER_CHUNKPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

/* Containers nested in a frame, the frame's own included; deeper frames go
 * to ic_msg_parse() (which takes IC_JSON_DEPTH_MAX). */
#define CHUNK_PARSE_DEPTH_MAX 32

/* What the router reads of an inference_chunk (strings NUL-terminated). */
struct chunk_view {
	const char *request_id;
	const char *content; /* chunk.message.content if a string, or NULL */
	size_t content_len;
	const char *thinking; /* chunk.message.thinking likewise */
	size_t thinking_len;
	bool done;		 /* chunk.done is true */
	const char *done_reason; /* chunk.done_reason if a string, or NULL */
};

/*
 * true: text[0..len) is a valid inference_chunk frame (as ic_msg_parse()
 * would find, request_id checked by ic_valid_request_id()); its strings
 * were decoded in place (text is changed) and v points into text.
 * false: text is unchanged; use ic_msg_parse().
 */
bool chunk_parse(char *text, size_t len, struct chunk_view *v);

/*
 * The same view of a chunk object that ic_msg_parse() produced (the slow
 * path, for frames chunk_parse() declines); v points into chunk.
 */
void chunk_view_of_json(json_object *chunk, struct chunk_view *v);

#endif
