/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * relay.h - one inference request's life on this node (main thread).
 *
 * inference_request -> checks (available, max_concurrent, model shared,
 * messages per ic_node_msg_rules) -> key whitelist -> Ollama /api/chat ->
 * each NDJSON line filtered to the allowed fields -> inference_chunk
 * frames (content split, never dropped) -> done.  Anything refused gets an
 * inference_error and nothing reaches Ollama.  cancel_request closes the
 * Ollama connection.
 */
#ifndef IC_DAEMON_RELAY_H
#define IC_DAEMON_RELAY_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "limits.h"

/*
 * Bytes of content or thinking text per inference_chunk when a chunk has
 * to be split: JSON escaping grows text at most 6 times (\u00XX), so
 * pieces of an eighth of IC_CHUNK_FRAME_MAX always fit one frame.
 */
#define RELAY_PIECE_BYTES (IC_CHUNK_FRAME_MAX / 8)

struct daemon;

/* An inference_request on link session gen.  Replies go to that session. */
void relay_start(
	struct daemon *d, uint64_t gen, const char *request_id, json_object *ollama_params);
/* cancel_request: a no-op for an id that is not in flight. */
void relay_cancel(struct daemon *d, const char *request_id);
/* The session ended: drop its requests (Ollama connections closed). */
void relay_cancel_session(struct daemon *d, uint64_t gen);
/* Drop every request silently (shutdown, a new link). */
void relay_cancel_all(struct daemon *d);
/* End every request with inference_error ollama_unavailable, so the
 * router need not wait for them (drain timeout). */
void relay_fail_all(struct daemon *d);
/* The same, logging why (the owner came back: daemon/idle-watch.c). */
void relay_stop_all(struct daemon *d, const char *why);
size_t relay_count(const struct daemon *d);

#endif
