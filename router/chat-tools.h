/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * chat-tools.h - the tool loop of one chat.
 *
 * When a chat's request offered tools (chat->round_offered), the calls in
 * the node's reply (message.tool_calls, or <tool_call>{...}</tool_call> in
 * the content, also split across chunks or unclosed at the end) are
 * checked (tools.h), counted against the node's window, run (web_search
 * in tools-searxng.c) and, once every result is in, fed back as a new
 * inference_request, to the same node if it is still there, else to
 * another with the model.  The consumer sees each call's progress as
 * "delta":{"tool_call":{"name":..,"status":"executing"|"done"|"error"}}
 * ("reason" with an error).  The name is always a registered tool's or
 * CHAT_TOOLS_BAD_NAME and the reason the router's own sentence: nothing the
 * node chose reaches the consumer unfiltered.
 * After IC_TOOL_ROUNDS_MAX rounds nothing is offered or parsed any more.
 */
#ifndef IC_ROUTER_CHAT_TOOLS_H
#define IC_ROUTER_CHAT_TOOLS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#define CHAT_TOOLS_CONTENT_MAX (256 * 1024) /* reply text kept for parsing */
#define CHAT_TOOLS_CALLS_MAX 5		    /* calls run from one reply */
#define CHAT_TOOLS_PARSED_MAX 16	    /* calls answered (refused beyond 5) */
#define CHAT_TOOLS_BAD_NAME "invalid_tool"  /* any name but an offered tool's */
#define TOOLRUN_WINDOWS_MAX 4096	    /* node windows kept before pruning */

struct chat;
struct router;

/* The loop thread's tool state (r->tools), made and freed by router.c:
 * toolrun_stop() abandons the searches before the lws context goes,
 * toolrun_free() comes after it (its chats cancel their searches). */
struct toolrun *toolrun_new(struct router *r);
void toolrun_stop(struct toolrun *t);
void toolrun_free(struct toolrun *t);
/* Results of finished searches (LWS_CALLBACK_EVENT_WAIT_CANCELLED). */
void toolrun_poll(struct router *r);
/* "tool_calls":{"ok":..,"failed":..,"refused":..,"limited":..,"cancelled":..} */
void toolrun_metrics(struct router *r, json_object *o);

/* A piece of this round's reply content / its message.tool_calls. */
void chat_tools_content(struct chat *c, const char *text, size_t len);
void chat_tools_native(struct chat *c, json_object *tool_calls);
/* The node's reply is done: true if a tool round began (the stream goes
 * on), false if the reply is the answer. */
bool chat_tools_done(struct chat *c);
/* Calls of c are running: its node may go, another will continue. */
bool chat_tools_busy(const struct chat *c);
/* c is going away: cancel its searches, free its tool state. */
void chat_tools_free(struct chat *c);

#endif
