/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ollama_health.h - whether the local Ollama answers: up, down (with the
 * last error) or not yet known, and the version it reported.
 *
 * daemon/models.c reads Ollama and reports each outcome here; this file
 * keeps the state, logs its changes and sets the "Ollama down"
 * availability reason.  idleclawctl status and the register message read
 * it.  One per daemon (struct daemon's ollama_health), main thread only.
 */
#ifndef IC_DAEMON_OLLAMA_HEALTH_H
#define IC_DAEMON_OLLAMA_HEALTH_H

#include <stdbool.h>

#include "limits.h"

struct daemon;

enum ollama_state { OLLAMA_STATE_UNKNOWN, OLLAMA_STATE_UP, OLLAMA_STATE_DOWN };

struct ollama_health {
	enum ollama_state state;
	char *version;			/* from /api/version, or NULL (owned) */
	char last_error[IC_ERRBUF_MAX]; /* empty while up */
};

/* Free what h holds; it is then as new (zeroed). */
void ollama_health_clear(struct ollama_health *h);

/*
 * Ollama answered (up) or did not (down, with why).  Log a change, set or
 * clear AVAIL_OLLAMA_DOWN; true if the node's availability changed (the
 * caller then calls daemon_changed() once for all it changed).
 */
bool ollama_health_up(struct daemon *d, size_t n_shared);
bool ollama_health_down(struct daemon *d, const char *why);

/* The version Ollama reported (copied; at most 64 bytes kept). */
void ollama_health_set_version(struct ollama_health *h, const char *version);

const char *ollama_health_state_name(enum ollama_state s);
/* The last error talking to Ollama, or NULL while it answers. */
const char *ollama_health_last_error(const struct ollama_health *h);

#endif
