/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * nodeid.h - which node_id a registration carries: the stable one, or a
 * per-connection variant of it while the router may still hold a session
 * registered with the stable one.
 *
 * Why: the public router handles a second registration of an id by
 * closing the old session first (20 s when the old peer is gone without a
 * word), registering the new one, and then letting the old session's
 * teardown remove the node *by id* - the new registration with it.  The
 * node stays connected but is never routed to again.  Our router replaces
 * a same-id session safely and says so (IC_FEATURE_STABLE_NODE_ID in
 * registered.features); against any other router the stable id is reused
 * only once no session registered with it can still be held there.
 * Pure: the caller supplies time and randomness.
 */
#ifndef IC_DAEMON_NODEID_H
#define IC_DAEMON_NODEID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "limits.h"

/*
 * How long a router may hold a session that ended without a close
 * handshake: its heartbeat timeout, one eviction sweep (the public router
 * sweeps every heartbeat interval), then a close to a silent peer
 * (20-30 s), rounded up.
 */
#define NODEID_HOLD_S (2 * IC_HEARTBEAT_TIMEOUT_S)
/* Hex digits of the per-connection part. */
#define NODEID_NONCE_HEX 8

/*
 * The per-connection variant of `stable`: "<stable>-<nonce as 8 hex
 * digits>", the stable part cut so that the whole stays within
 * IC_NODE_ID_MAX.  out needs IC_NODE_ID_MAX + 1 bytes.
 */
void nodeid_variant(const char *stable, uint32_t nonce, char *out, size_t outlen);

/*
 * Whether the next registration may carry the stable id: the router
 * replaces a same-id session safely (`replaces`), or no session registered
 * with the stable id can still be held there (`now` >= `held_until`,
 * seconds on one clock).
 */
bool nodeid_stable_ok(bool replaces, int64_t held_until, int64_t now);

#endif
