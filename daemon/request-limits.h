/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * request-limits.h - what one inference request may cost, as the
 * contributor sets it: [daemon] max_predict caps options.num_predict
 * (a larger value, and -1 "unlimited" or -2 "fill the context", become
 * the ceiling; an absent one is set to it) and max_ctx caps
 * options.num_ctx (a larger value becomes the ceiling; an absent one is
 * left to Ollama's default).  0 means no ceiling beyond the protocol's
 * bounds (common/validate.c).  max_request_time is enforced by the relay.
 * Thread: main thread only.
 */
#ifndef IC_DAEMON_REQUEST_LIMITS_H
#define IC_DAEMON_REQUEST_LIMITS_H

#include <json-c/json.h>

struct daemon_config;

/* Apply the ceilings of cfg to req, the JSON body for Ollama's /api/chat
 * (already sanitized and validated); its "options" is created if needed. */
void request_limits_apply(json_object *req, const struct daemon_config *cfg);

#endif
