/*
 * models.h - which local Ollama models this node shares.
 *
 * Reads Ollama's /api/version and /api/tags at start and every
 * model_refresh seconds (sooner, with backoff, while Ollama is down),
 * applies the allow/deny patterns, keeps at most IC_MODELS_PER_NODE_MAX
 * (sorted by name), and tells the node session when the list changes.
 * Drives the "ollama down" and "no models" availability reasons.
 */
#ifndef IC_DAEMON_MODELS_H
#define IC_DAEMON_MODELS_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

struct daemon;
struct models;

enum ollama_state { OLLAMA_STATE_UNKNOWN, OLLAMA_STATE_UP, OLLAMA_STATE_DOWN };

struct models *models_new(struct daemon *d);
void models_free(struct models *m);
/* Read Ollama now (start-up, reload, after an ollama_unavailable). */
void models_refresh(struct models *m);

/* The shared list (borrowed; valid until the next refresh). */
const struct ic_model_info *models_list(const struct models *m, size_t *n);
bool models_has(const struct models *m, const char *name);
const char *models_ollama_version(const struct models *m);
enum ollama_state models_ollama_state(const struct models *m);
const char *models_ollama_state_name(enum ollama_state s);
/* Last error talking to Ollama, or NULL. */
const char *models_last_error(const struct models *m);

/* Pattern lists ("a*, b:latest"): true if name matches one of them. */
bool models_match_list(const char *patterns, const char *name);

#endif
