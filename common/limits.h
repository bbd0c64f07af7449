/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * limits.h - every limit of the IdleClaw network as a named constant.
 *
 * The public network's limits (see docs/protocol.md) come first; they must
 * not change, or our router and daemon stop being wire-compatible.  Our own
 * bounds (buffers, queues, timeouts) follow.  Tests include this header and
 * probe each limit at N and N+1.
 */
#ifndef IC_LIMITS_H
#define IC_LIMITS_H

/* --- names and identities --- */
#define IC_MODEL_NAME_MAX 64  /* characters in a model name */
#define IC_NODE_ID_MAX 64     /* characters in a node_id */
#define IC_REQUEST_ID_MAX 128 /* bytes in a request_id */

/* --- chat requests --- */
#define IC_MESSAGES_MAX 50	   /* messages in one chat */
#define IC_MESSAGE_CHARS_MAX 10000 /* code points in one message's content */
#define IC_TOTAL_CHARS_MAX 100000  /* code points in all contents together */

/*
 * What a router may add to a chat for Ollama (checked by the node, so a
 * hostile router cannot make a contributor's Ollama do far more work than
 * the message limits above allow).  Serialized sizes are bytes of wire JSON.
 */
#define IC_TOOLS_MAX 16			/* tools offered in one chat */
#define IC_TOOLS_BYTES_MAX (64 * 1024)	/* all of "tools" serialized */
#define IC_FORMAT_BYTES_MAX (16 * 1024) /* a "format" JSON schema serialized */
#define IC_OPT_NUM_CTX_MAX 131072	/* options.num_ctx, tokens */
#define IC_OPT_NUM_PREDICT_MAX 16384	/* options.num_predict, tokens */
#define IC_OPT_STOP_MAX 16		/* strings in options.stop */
#define IC_OPT_STOP_BYTES_MAX 256	/* bytes in one options.stop string */

/* --- nodes --- */
#define IC_MODELS_PER_NODE_MAX 20
#define IC_CONCURRENCY_MIN 1
#define IC_CONCURRENCY_MAX 10
#define IC_CONCURRENCY_DEFAULT 2 /* as the public agent registers */
#define IC_NODES_PER_IP_MAX 3
#define IC_STREAMS_PER_IP_MAX 3 /* open chat streams per consumer IP */

/*
 * Request bodies still arriving at the router: each holds one of lws's
 * header slots (4,096), so they get a total deadline from the end of the
 * headers, a cap per client IP and a cap in all (half the slots: the rest
 * stay free for /health, node upgrades and new requests).
 */
#define IC_BODY_TIMEOUT_DEFAULT_S 10 /* seconds for a whole request body */
#define IC_BODIES_PER_IP_DEFAULT 4   /* unfinished bodies per client IP */
#define IC_BODIES_MAX_DEFAULT 2048   /* unfinished bodies in all */

/* --- rate limits (token buckets, per client IP, per minute) --- */
#define IC_RATE_CHAT_PER_MIN 20
#define IC_RATE_UPGRADE_PER_MIN 5
#define IC_RATE_OTHER_PER_MIN 60

/* --- timing of the node link (seconds) --- */
#define IC_REGISTER_TIMEOUT_S 10
#define IC_HEARTBEAT_INTERVAL_S 15
#define IC_HEARTBEAT_TIMEOUT_S 45
#define IC_SSE_PING_INTERVAL_S 15
#define IC_NODE_CHUNK_TIMEOUT_S 60 /* no chunk for this long: node failed */
#define IC_QUEUE_WAIT_DEFAULT_S 30 /* consumer waits this long for a free node */
/* a reply's content characters and time from the request, as the public
 * server's max_response_chars and response_timeout_seconds */
#define IC_REPLY_CHARS_DEFAULT 4096
#define IC_REPLY_TIMEOUT_DEFAULT_S 120
#define IC_FAILOVER_ATTEMPTS 3 /* nodes tried before the first token */
#define IC_SHUTDOWN_GRACE_DEFAULT_S 30
#define IC_RECONNECT_MIN_S 1
#define IC_RECONNECT_MAX_S 60
#define IC_MODEL_REFRESH_DEFAULT_S 60
#define IC_DRAIN_DEFAULT_S 120 /* in-flight requests may finish this long */

/* --- server-side tools --- */
#define IC_TOOL_TIMEOUT_S 15
#define IC_TOOL_CALLS_PER_MIN 20
#define IC_TOOL_ROUNDS_MAX 5

/* --- sizes of buffers and frames (bytes) --- */
/*
 * A 100,000-character request can be 400,000 bytes of UTF-8 and up to six
 * bytes a character once JSON-escaped; 1 MiB holds it with its envelope.
 */
#define IC_CHAT_BODY_MAX (1024 * 1024)
/* Node-side requests may add system/tool messages: allow twice that. */
#define IC_WS_MESSAGE_MAX (2 * 1024 * 1024)
/* One NDJSON line from Ollama: one token plus metadata, with room to spare. */
#define IC_NDJSON_LINE_MAX (256 * 1024)
/* One inference_chunk frame: content beyond this is split, never dropped. */
#define IC_CHUNK_FRAME_MAX (64 * 1024)
/* Control socket: one request line, and the output queued for one client. */
#define IC_CONTROL_LINE_MAX (2 * 1024 * 1024)
#define IC_CONTROL_OUTBUF_MAX (4 * 1024 * 1024)
#define IC_CONTROL_CLIENTS_MAX 64
/* Of those, kept for root and the daemon's user: others cannot lock them out. */
#define IC_CONTROL_CLIENTS_RESERVED 8
/* Seconds a control connection with nothing running may send nothing. */
#define IC_CONTROL_IDLE_TIMEOUT_DEFAULT_S 300
/* Router: bytes of SSE output held for a consumer that cannot keep up. */
#define IC_STREAM_OUTBUF_MAX (1024 * 1024)

/*
 * The daemon's local gateway (daemon/gateway-conn.c): connections in all
 * and, with allow_remote, per client address (TCP names no user), and the
 * seconds a client has for a request's headers and body.  Descriptors are
 * kept from the gateway for the control socket, the router link, Ollama
 * and idle sampling: its cap is lowered to fit RLIMIT_NOFILE less these
 * (to half of RLIMIT_NOFILE when that is less than twice the reserve).
 */
#define IC_GATEWAY_CONNS_DEFAULT 128
#define IC_GATEWAY_CONNS_MAX 1024
#define IC_GATEWAY_CONNS_PER_IP_DEFAULT 16
#define IC_GATEWAY_REQUEST_TIMEOUT_DEFAULT_S 30
#define IC_GATEWAY_REQUEST_TIMEOUT_MAX_S 300
#define IC_DAEMON_FDS_RESERVED 256
/* idleclawd's LimitNOFILE (systemd/idleclawd.service): the largest cap and
 * the reserve fit with room to spare. */
#define IC_DAEMON_NOFILE 4096

/*
 * The daemon's control clients (daemon/control.h, consume.h): connections
 * one unprivileged user may have open; chats running at once for all
 * control clients, the last IC_CONSUME_CHATS_RESERVED of them kept for
 * root and the daemon's user, at most IC_CONSUME_CHATS_PER_USER_MAX for an
 * unprivileged user.  A GET to the router (/health, /api/models) takes at
 * most IC_CONSUME_GET_TIMEOUT_S in all; its result serves whoever asks in
 * the next IC_CONSUME_GET_REUSE_MS.
 */
#define IC_CONTROL_CLIENTS_PER_UID_MAX 16
#define IC_CONSUME_CHATS_MAX 16
#define IC_CONSUME_CHATS_RESERVED 4
#define IC_CONSUME_CHATS_PER_USER_MAX 4
#define IC_CONSUME_GET_TIMEOUT_S 5
#define IC_CONSUME_GET_REUSE_MS 1500
/* The gateway (daemon/gateway.h): bytes of output held for a client that
 * does not read; bytes of answer kept for a stream:false reply. */
#define IC_GATEWAY_OUTBUF_MAX (1024 * 1024)
#define IC_GATEWAY_ANSWER_MAX (4 * 1024 * 1024)

/* --- error text --- */
#define IC_ERRBUF_MAX 256 /* buffers for one-line error messages */

#endif /* IC_LIMITS_H */
