/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * sanitize.h - whitelists for what a node sends to Ollama and back.
 *
 * Both return a NEW json object that the caller owns (json_object_put);
 * the input is not changed.  Values kept are shared by reference counting.
 */
#ifndef IC_SANITIZE_H
#define IC_SANITIZE_H

#include <json-c/json.h>

/* Keys of an Ollama /api/chat request that survive: model, messages,
 * stream, think, keep_alive, options, tools, format.  NULL if not an object. */
json_object *ic_sanitize_request_new(json_object *params);

/* A chunk for the network: message{role, content, thinking, tool_calls},
 * done, done_reason; everything else (timings, model, created_at) goes.
 * NULL if not an object. */
json_object *ic_sanitize_chunk_new(json_object *ollama_line);

#endif
