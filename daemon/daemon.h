/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * daemon.h - the state of one idleclawd process, shared by its parts.
 *
 * Thread: main thread only.  The link thread sees none of this (link.c).
 */
#ifndef IC_DAEMON_DAEMON_H
#define IC_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>

#include "daemon/availability.h"
#include "daemon/dconfig.h"
#include "daemon/ollama_health.h"
#include "daemon/pause-file.h"
#include "daemon/standing.h"

struct control;
struct link;
struct ollama;
struct node;
struct models;
struct relay;
struct consume;
struct idle_watch;
struct gateway;
struct unload;

struct daemon {
	struct event_base *base;
	struct daemon_config *cfg; /* current; swapped whole on reload */
	const char *config_path;
	const char *const *overrides; /* -o section.key=value, NULL-terminated */
	char *node_id;		      /* effective node id */
	struct control *ctl;
	struct gateway *gateway; /* NULL: [gateway] listen is empty */
	struct link *link;
	struct ollama *ollama;
	struct models *models;
	struct ollama_health ollama_health;
	struct node *node;
	struct availability avail;
	struct idle_watch *idle; /* idle detection: AVAIL_NOT_IDLE */
	struct unload *unload;	 /* lent models unloaded when lending stops */
	LIST_HEAD(relay_list, relay) relays;
	LIST_HEAD(consume_list, consume) consumes;
	time_t started;
	uint64_t served; /* inference requests completed */
	uint64_t failed; /* inference requests that ended in an error */
	bool stopping;
	struct event *drain_timer;
	struct pause_file pause_file; /* the pause's deadline across restarts */
	struct standing standing;     /* as the router last said */
};

/* Something status-worthy changed: refresh STATUS= and tell the router
 * when availability flipped (availability_changed true). */
void daemon_changed(struct daemon *d, bool availability_changed);
/* Number of inference requests in flight. */
size_t daemon_in_flight(const struct daemon *d);
/* Reload the configuration (SIGHUP and the reload command).  0 ok; -1 with
 * *errors a NEW text of what was wrong (nothing changed then). */
int daemon_reload(struct daemon *d, char **errors);

#endif
