/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * cluster-proto.h - the cluster protocol: what router instances send each
 * other over NATS (docs/cluster.md), for every reader and writer of it
 * (cluster.c: summaries and node claims; xchat.c: chats between instances).
 *
 * Summary, on CLUSTER_SUBJECT_SUMMARY about once a second (cluster.h):
 *   {"v":1,"draining":B,"nodes":N,"models":[M...],"instance":S,"inbox":S,
 *    "seq":N}
 *   M = {"name":S,"nodes":N,"free":N,"size":N,"thinking":B,"tools":B,
 *        "since":N}; size, thinking, tools and since are absent from older
 *   peers (read as 0, our name patterns, and "decides nothing").
 * Node claim, on CLUSTER_SUBJECT_NODE when a node registers:
 *   {"node_id":S,"instance":S}
 * Chats, under the instances' inboxes (xchat.h has the exchange):
 *   <B>.chat  {"v":1,"model","messages","think","tools","tool_rounds","from"}
 *   <A>.r.<id>  "0 " {"ok":true,"node_id","native","offered"}
 *                 or {"ok":false,"error"}
 *   <A>.f  numbered node frames;  <B>.cancel  the chat's reply subject.
 * Names and inboxes taken from a peer follow cluster-names.h.  Never
 * change a member's meaning: add one (older peers ignore it).
 */
#ifndef IC_ROUTER_CLUSTER_PROTO_H
#define IC_ROUTER_CLUSTER_PROTO_H

#define CLUSTER_PROTO_VERSION 1 /* "v" of summaries and chats */

#define CLUSTER_SUBJECT_SUMMARY "idleclaw.cluster.summary"
#define CLUSTER_SUBJECT_NODE "idleclaw.cluster.node"

/* summary */
#define CLUSTER_M_V "v"
#define CLUSTER_M_DRAINING "draining"
#define CLUSTER_M_NODES "nodes" /* also of each model */
#define CLUSTER_M_MODELS "models"
#define CLUSTER_M_INSTANCE "instance" /* also of a node claim */
#define CLUSTER_M_INBOX "inbox"
#define CLUSTER_M_SEQ "seq"
/* summary: each of models[] */
#define CLUSTER_M_NAME "name"
#define CLUSTER_M_FREE "free"
#define CLUSTER_M_SIZE "size"
#define CLUSTER_M_THINKING "thinking"
#define CLUSTER_M_TOOLS "tools" /* also of a chat: tools offered */
#define CLUSTER_M_SINCE "since"
/* node claim */
#define CLUSTER_M_NODE_ID "node_id" /* also of a chat's answer */
/* a chat offered to a peer */
#define CLUSTER_M_MODEL "model"
#define CLUSTER_M_MESSAGES "messages"
#define CLUSTER_M_THINK "think"
#define CLUSTER_M_TOOL_ROUNDS "tool_rounds"
#define CLUSTER_M_FROM "from"
/* its answer */
#define CLUSTER_M_OK "ok"
#define CLUSTER_M_ERROR "error"
#define CLUSTER_M_NATIVE "native"
#define CLUSTER_M_OFFERED "offered"
#define CLUSTER_ANSWER_PREFIX "0 " /* before the answer's JSON */

/* Subjects under an instance's inbox ("<inbox>.<suffix>") */
#define CLUSTER_SUFFIX_CHAT "chat"     /* a chat offered to it */
#define CLUSTER_SUFFIX_CANCEL "cancel" /* a chat it serves, cancelled */
#define CLUSTER_SUFFIX_FRAMES "f"      /* frames of its chats on peers */
#define CLUSTER_SUFFIX_REPLY "r."      /* "r.<id>": the answer to one chat */

#endif
