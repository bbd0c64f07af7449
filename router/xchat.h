/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * xchat.h - chats that cross instances of a cluster (docs/cluster.md).
 *
 * A consumer's chat stays on the instance it reached ("A"); when no local
 * node has a free slot it is offered to the peer ("B") whose summary shows
 * the most free slots for its model.  B picks one of its nodes or says
 * busy (its answer binds), then publishes the node's frames, verbatim and
 * numbered, to A's reply subject; A feeds them to the chat exactly as a
 * local node's frames, so the output filter, the tool loop and the SSE
 * stream are the same.  A gap in the numbers, B's silence before it
 * answers, B forgotten (summaries) or the NATS connection lost end the
 * crossing as a failing node would: failover before the first chunk, the
 * usual in-band error after it.  Cancel goes A -> B -> node.
 *
 * Wire (all under the instances' inboxes, cluster_inbox()):
 *   A -> <B>.chat   reply <A>.r.<id>  {"v":1,"model","messages","think",
 *                                      "tools","tool_rounds","from"}
 *   B -> <A>.r.<id>  "0 " {"ok":true,"node_id","native","offered"}
 *                        or {"ok":false,"error"}
 *   B -> <A>.f       "r.<id> N LEN\n" frame ...  N = 1, 2, ...: the node's
 *                    frames, of all of A's chats, gathered over one turn
 *                    of B's loop (LEN: the frame's bytes, 10 digits)
 *   A -> <B>.cancel  "<A>.r.<id>"      (the reply subject names the chat)
 *
 * On A a crossing is a struct chat with no node and c->x set; on B the
 * chat served for A is a struct chat of its own ("proxy": no consumer
 * socket), owned by this file, on its node like any chat.
 */
#ifndef IC_ROUTER_XCHAT_H
#define IC_ROUTER_XCHAT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "router.h"

#define XCHAT_ANSWER_MS 2000	     /* a peer silent this long after a chat: busy */
#define XCHAT_RETRY_MS 250	     /* a waiting chat looks at the peers this often */
#define XCHAT_BATCH_MAX (256 * 1024) /* bytes of frames sent at once */

struct chat;
struct chunk_view;
struct xchats;

struct xchats *xchats_new(struct router *r);
/* Every crossing and proxy must be gone (their chats freed). */
void xchats_free(struct xchats *xs);

/* --- the consumer's instance (A) --- */

/* c found no free local slot: offer it to a peer.  true: offered (the
 * answer comes later: chat_remote_assigned() or sched_submit() again);
 * false: no peer can take it now. */
bool xchat_submit(struct chat *c);
/* c waits for a slot (in its model's queue, or for a model only peers
 * have): look at the peers every XCHAT_RETRY_MS while it does. */
void xchat_wait(struct chat *c);
/* c stopped waiting. */
void xchat_unwait(struct chat *c);
/* Whether c is offered to or served by a peer. */
bool xchat_crossing(const struct chat *c);
/* The peer's node serving c ("instance/node_id"), or NULL. */
const char *xchat_node_name(const struct chat *c);
/* Take c off its peer, cancelling there unless its stream ended. */
void xchat_detach(struct chat *c);
/* c is being freed. */
void xchat_chat_free(struct chat *c);

/* --- the node's instance (B) --- */

/* Whether c is served here for a peer. */
bool xchat_is_proxy(const struct chat *c);
/* A frame (inference_chunk or inference_error) of c's node, verbatim;
 * last: the stream's end (c is freed). */
void xchat_proxy_frame(struct chat *c, const char *text, size_t len, bool last);
/* The same for a chunk read by chunk_parse() (which decodes its frame in
 * place): the frame is written again from what was read. */
void xchat_proxy_chunk(struct chat *c, const struct chunk_view *v);
/* c's node failed it: an inference_error to the peer, c freed. */
void xchat_proxy_failed(struct chat *c, const char *reason);

/* Send the frames gathered for peers in this turn of the loop. */
void xchat_flush(struct router *r);

/* --- from cluster.c --- */

/* A message on subject <our inbox>.<suffix> (reply: its reply subject or
 * ""). */
void xchat_message(struct router *r, const char *suffix, const char *reply, char *data, size_t len);
/* The peer instance was forgotten: its crossings fail, its proxies end. */
void xchat_peer_gone(struct router *r, const char *instance);
/* The NATS connection is lost: every crossing fails, every proxy ends. */
void xchat_connection_lost(struct router *r);
/* cluster_chats_sent, cluster_chats_served, cluster_gaps into o. */
void xchat_metrics(const struct router *r, json_object *o);

#endif
