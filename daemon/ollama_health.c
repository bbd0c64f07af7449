/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ollama_health.c - Ollama up or down (see ollama_health.h).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/ollama.h"
#include "daemon/ollama_health.h"
#include "log.h"
#include "xmalloc.h"

/* Bytes of Ollama's version string kept (it is sent to the router). */
#define OLLAMA_VERSION_MAX 64

void ollama_health_clear(struct ollama_health *h)
{
	free(h->version);
	memset(h, 0, sizeof(*h));
}

bool ollama_health_up(struct daemon *d, size_t n_shared)
{
	struct ollama_health *h = &d->ollama_health;

	if (h->state != OLLAMA_STATE_UP)
		log_notice("Ollama %s at %s is up; sharing %zu model%s",
			h->version ? h->version : "", ollama_url(d->ollama), n_shared,
			n_shared == 1 ? "" : "s");
	h->state = OLLAMA_STATE_UP;
	h->last_error[0] = '\0';
	return avail_set(&d->avail, AVAIL_OLLAMA_DOWN, false);
}

bool ollama_health_down(struct daemon *d, const char *why)
{
	struct ollama_health *h = &d->ollama_health;

	if (h->state != OLLAMA_STATE_DOWN || strcmp(h->last_error, why) != 0)
		log_warn("Ollama at %s is unavailable: %s; withdrawing and retrying",
			ollama_url(d->ollama), why);
	h->state = OLLAMA_STATE_DOWN;
	snprintf(h->last_error, sizeof(h->last_error), "%s", why);
	return avail_set(&d->avail, AVAIL_OLLAMA_DOWN, true);
}

void ollama_health_set_version(struct ollama_health *h, const char *version)
{
	if (h->version && strcmp(version, h->version) == 0)
		return;
	free(h->version);
	h->version = xstrndup(version, OLLAMA_VERSION_MAX);
}

const char *ollama_health_state_name(enum ollama_state s)
{
	switch (s) {
	case OLLAMA_STATE_UNKNOWN:
		return "unknown";
	case OLLAMA_STATE_UP:
		return "up";
	case OLLAMA_STATE_DOWN:
		return "down";
	}
	return "?";
}

const char *ollama_health_last_error(const struct ollama_health *h)
{
	return h->last_error[0] ? h->last_error : NULL;
}
