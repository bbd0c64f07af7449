/* rconfig.c - the key table of the [router] section. */
#include <stddef.h>

#include "common/limits.h"
#include "rconfig.h"
#include "router.h"

#define STR_(x) #x
#define STR(x) STR_(x)
/* the config table holds defaults as text */
_Static_assert(IC_STREAM_OUTBUF_MAX == 1048576, "stream_buffer default");

#define OFF(f) offsetof(struct router_config, f)

static const struct ic_config_key router_keys[] = {
	{ "router", "listen", IC_CONFIG_STRING, OFF(listen), 0, 0,
	  "127.0.0.1:8080", "IDLECLAW_ROUTER_LISTEN",
	  "address and port to serve HTTP and the node WebSocket on" },
	{ "router", "trusted_proxies", IC_CONFIG_STRING, OFF(trusted_proxies), 0, 0,
	  NULL, NULL,
	  "comma-separated peer addresses whose X-Forwarded-For is believed" },
	{ "router", "log_level", IC_CONFIG_LOGLEVEL, OFF(log_level), 0, 0,
	  "info", NULL, "err, warning, notice, info or debug" },
	{ "router", "metrics", IC_CONFIG_BOOL, OFF(metrics), 0, 0,
	  "no", NULL, "serve GET /metrics (JSON counters)" },
	{ "router", "register_timeout", IC_CONFIG_INT, OFF(register_timeout), 1, 3600,
	  STR(IC_REGISTER_TIMEOUT_S), NULL,
	  "seconds a new node socket has to send its register message" },
	{ "router", "heartbeat_timeout", IC_CONFIG_INT, OFF(heartbeat_timeout), 1, 3600,
	  STR(IC_HEARTBEAT_TIMEOUT_S), NULL,
	  "seconds of silence after which a node is dropped" },
	{ "router", "chunk_timeout", IC_CONFIG_INT, OFF(chunk_timeout), 1, 3600,
	  STR(IC_NODE_CHUNK_TIMEOUT_S), NULL,
	  "seconds without a chunk after which a node has failed a request" },
	{ "router", "queue_wait", IC_CONFIG_INT, OFF(queue_wait), 0, 3600,
	  STR(IC_QUEUE_WAIT_DEFAULT_S), NULL,
	  "seconds a chat waits for a free node before 503" },
	{ "router", "queue_max", IC_CONFIG_INT, OFF(queue_max), 0, 100000,
	  STR(ROUTER_QUEUE_MAX), NULL,
	  "chats that may wait for one model; more get 503 at once" },
	{ "router", "shutdown_grace", IC_CONFIG_INT, OFF(shutdown_grace), 0, 3600,
	  STR(IC_SHUTDOWN_GRACE_DEFAULT_S), NULL,
	  "seconds open streams may finish after SIGTERM" },
	{ "router", "ping_interval", IC_CONFIG_INT, OFF(ping_interval), 1, 3600,
	  STR(IC_SSE_PING_INTERVAL_S), NULL,
	  "seconds between SSE keep-alive comments" },
	{ "router", "rate_chat", IC_CONFIG_INT, OFF(rate_chat), 1, 1000000,
	  STR(IC_RATE_CHAT_PER_MIN), NULL, "POST /api/chat per minute per client IP" },
	{ "router", "rate_upgrade", IC_CONFIG_INT, OFF(rate_upgrade), 1, 1000000,
	  STR(IC_RATE_UPGRADE_PER_MIN), NULL,
	  "node WebSocket upgrades per minute per client IP" },
	{ "router", "rate_other", IC_CONFIG_INT, OFF(rate_other), 1, 1000000,
	  STR(IC_RATE_OTHER_PER_MIN), NULL,
	  "other HTTP requests per minute per client IP" },
	{ "router", "streams_per_ip", IC_CONFIG_INT, OFF(streams_per_ip), 1, 100000,
	  STR(IC_STREAMS_PER_IP_MAX), NULL, "open chat streams per client IP" },
	{ "router", "body_timeout", IC_CONFIG_INT, OFF(body_timeout), 1, 3600,
	  STR(IC_BODY_TIMEOUT_DEFAULT_S), NULL,
	  "seconds from the end of a request's headers to the end of its body" },
	{ "router", "bodies_per_ip", IC_CONFIG_INT, OFF(bodies_per_ip), 1, 100000,
	  STR(IC_BODIES_PER_IP_DEFAULT), NULL,
	  "requests per client IP whose body is still arriving; more get 429" },
	{ "router", "bodies_max", IC_CONFIG_INT, OFF(bodies_max), 1, 4096,
	  STR(IC_BODIES_MAX_DEFAULT), NULL,
	  "requests in all whose body is still arriving; more get 503" },
	{ "router", "nodes_per_ip", IC_CONFIG_INT, OFF(nodes_per_ip), 1, 100000,
	  STR(IC_NODES_PER_IP_MAX), NULL, "registered nodes per client IP" },
	{ "router", "max_nodes", IC_CONFIG_INT, OFF(max_nodes), 1, 1000000,
	  STR(ROUTER_NODES_MAX), NULL, "registered nodes in all" },
	{ "router", "stream_buffer", IC_CONFIG_INT, OFF(stream_buffer), 4096, 64 * 1024 * 1024,
	  "1048576", NULL,
	  "bytes of output held for a slow consumer before it is disconnected" },
	{ "router", "failover_attempts", IC_CONFIG_INT, OFF(failover_attempts), 1, 100,
	  STR(IC_FAILOVER_ATTEMPTS), NULL,
	  "nodes tried for one chat before its first token" },
};

const struct ic_config_schema router_config_schema = {
	router_keys, sizeof(router_keys) / sizeof(router_keys[0]),
	sizeof(struct router_config),
};
