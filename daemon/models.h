/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * models.h - which local Ollama models this node shares.
 *
 * Reads Ollama's /api/version and /api/tags at start and every
 * model_refresh seconds (sooner, with backoff, while Ollama is down),
 * applies the allow/deny patterns, keeps at most IC_MODELS_PER_NODE_MAX
 * (sorted by name), and tells the node session when the list changes.
 * Drives the "no models" availability reason, and reports each read's
 * outcome to daemon/ollama_health.h (the "Ollama down" reason).
 */
#ifndef IC_DAEMON_MODELS_H
#define IC_DAEMON_MODELS_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

struct daemon;
struct models;

struct models *models_new(struct daemon *d);
void models_free(struct models *m);
/* Read Ollama now (start-up, reload, after an ollama_unavailable). */
void models_refresh(struct models *m);

/* The shared list (borrowed; valid until the next refresh). */
const struct ic_model_info *models_list(const struct models *m, size_t *n);
bool models_has(const struct models *m, const char *name);
/* A shared model's IC_CAP_* bits (0 if unknown or not shared). */
unsigned models_caps(const struct models *m, const char *name);

#endif
