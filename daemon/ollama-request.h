/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ollama-request.h - what this node changes in a lent request before it
 * reaches Ollama, from Ollama's own rules (api/types.go, server/routes.go
 * 0.12.3): keep_alive is the owner's, not the network's; think is kept
 * only in a form Ollama 0.12.3 reads, and only for a model that thinks;
 * tools are refused for a model without them, rather than let Ollama
 * answer 400.  Pure (no I/O), main thread.
 */
#ifndef IC_DAEMON_OLLAMA_REQUEST_H
#define IC_DAEMON_OLLAMA_REQUEST_H

#include <stddef.h>
#include <json-c/json.h>

struct daemon_config;

/*
 * [daemon] keep_alive: a Go duration ("5m", "1h30m", "0") or a whole
 * number of seconds ("300"), not negative (that pins a model until Ollama
 * restarts).  0, or -1 with err a sentence for the config error.
 */
int ollama_keep_alive_check(const char *text, char *err, size_t errlen);

/* keep_alive as Ollama gets it (NEW): a JSON number of seconds for a
 * plain integer (Ollama answers 400 to the string "300"), else the string. */
json_object *ollama_keep_alive_new(const char *text);

/*
 * Rewrite body (a sanitized /api/chat request for a model with caps, the
 * IC_CAP_* bits; 0 when unknown) in place: keep_alive replaced by
 * cfg's; think dropped unless a bool or "low", "medium", "high", and
 * dropped when the model's known capabilities lack thinking.  NULL, or the
 * reason the request is refused (tools for a model whose known
 * capabilities lack them).
 */
const char *ollama_request_fix(const struct daemon_config *cfg, unsigned caps, json_object *body);

#endif
