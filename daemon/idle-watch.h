/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * idle-watch.h - idle detection in idleclawd: every [idle] interval the
 * samplers (idle-sources.h) are read, the policy (idle.h) decides, and the
 * decision drives the availability switch (reason AVAIL_NOT_IDLE).  A
 * change of state is logged once and sends a heartbeat at once; requests
 * in flight when the owner comes back are cancelled at once (on_busy =
 * cancel) or after busy_grace (finish) with an inference_error.
 * Thread: main thread only.
 */
#ifndef IC_DAEMON_IDLE_WATCH_H
#define IC_DAEMON_IDLE_WATCH_H

#include <json-c/json.h>

struct daemon;
struct idle_watch;

/* Start sampling with d->cfg (the first sample is taken at once). */
struct idle_watch *idle_watch_new(struct daemon *d);
void idle_watch_free(struct idle_watch *w);
/* d->cfg was replaced (reload): new samplers and parameters. */
void idle_watch_reconfigure(struct idle_watch *w);
/* The "idle" object of status (NEW, the status reply's CTL_R_IDLE):
 * mode, state, reason, since, and one member per signal with its latest
 * value or "unknown"; member names in ctlproto.h (CTL_IDLE_*). */
json_object *idle_watch_status_new(const struct idle_watch *w);

#endif
