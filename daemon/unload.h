/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * unload.h - give GPU memory back when lending stops (main thread).
 *
 * When the node becomes available, /api/ps says which models the owner
 * has loaded.  A lent request for a model not among them marks it as
 * loaded by lending.  When lending stops (machine busy, pause, SIGTERM,
 * any reason the availability switch turns off) and the requests in
 * flight have ended as on_busy says, those models are unloaded as
 * `ollama stop` does (keep_alive 0, no messages) and /api/ps is read
 * again until they are gone: a model the owner had loaded stays.  The log
 * and status say what was unloaded and how much GPU memory (size_vram)
 * came back.  [idle] unload = never turns all of this off.
 */
#ifndef IC_DAEMON_UNLOAD_H
#define IC_DAEMON_UNLOAD_H

#include <stdbool.h>
#include <json-c/json.h>

/* Seconds one unload pass may take in all (Ollama frees a model once its
 * running requests end; a pass that cannot finish gives up). */
#define UNLOAD_PASS_MAX_S 15
/* Milliseconds between reads of /api/ps while waiting for models to go. */
#define UNLOAD_POLL_MS 200
/* Models remembered as loaded by lending, or by the owner. */
#define UNLOAD_MODELS_MAX 64

struct daemon;
struct unload;

struct unload *unload_new(struct daemon *d);
void unload_free(struct unload *u);
/* Availability or in-flight requests changed (daemon_changed()). */
void unload_check(struct unload *u);
/* A lent request for model is about to reach Ollama. */
void unload_note_lent(struct unload *u, const char *model);
/* A pass is running (shutdown waits for it). */
bool unload_busy(const struct unload *u);
/* The "unload" object of status (NEW). */
json_object *unload_status_new(const struct unload *u);

#endif
