/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * gateway.h - the local Ollama- and OpenAI-compatible endpoint: an evhttp
 * server on the main thread whose chats go into the network through the
 * consume path (daemon/consume.h), so that every client that speaks either
 * API can use the network by changing nothing but a URL.
 * docs/gateway.md describes it for users.
 *
 * Request parsing and response shapes are in gateway-api.h (pure);
 * this file is the listener, the limits and the routing.
 */
#ifndef IC_DAEMON_GATEWAY_H
#define IC_DAEMON_GATEWAY_H

#include <stddef.h>

#include "limits.h"

/* Bytes of a request body; more get 413. */
#define GATEWAY_BODY_MAX IC_CHAT_BODY_MAX
/* Bytes of a request's headers. */
#define GATEWAY_HEADERS_MAX (16 * 1024)
/* Seconds a client may stay silent while sending its request, or leave
 * bytes we have written untaken, before its connection is closed (evhttp's
 * idle timeout; a whole request has [gateway] request_timeout, see
 * gateway-conn.h). */
#define GATEWAY_IO_TIMEOUT_S 30
/* Bytes written to a client and not yet taken: beyond this it is too slow
 * for the stream, is disconnected and its chat cancelled. */
#define GATEWAY_OUTBUF_MAX IC_GATEWAY_OUTBUF_MAX
/* Bytes of a stream:false answer held until it is complete. */
#define GATEWAY_ANSWER_MAX IC_GATEWAY_ANSWER_MAX
/* Retry-After (seconds) on 429 and 503. */
#define GATEWAY_RETRY_AFTER_S 5

struct daemon;
struct gateway;

/* Listen on d->cfg's [gateway] listen (d->gateway stays NULL when it is
 * empty).  0, or -1 with err (bad address, cannot bind). */
int gateway_start(struct daemon *d, char *err, size_t errlen);
/* Stop accepting connections (shutdown; chats end through the consume path). */
void gateway_stop_listening(struct gateway *g);
/* Drop every client and free.  NULL is fine. */
void gateway_free(struct gateway *g);
/* "HOST:PORT" as configured. */
const char *gateway_address(const struct gateway *g);
/* Chats running through the gateway now. */
size_t gateway_streams(const struct gateway *g);

#endif
