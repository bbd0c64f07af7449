/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * nodeid.c - see nodeid.h.
 */
#include <stdio.h>
#include <string.h>

#include "daemon/nodeid.h"

void nodeid_variant(const char *stable, uint32_t nonce, char *out, size_t outlen)
{
	int keep = (int)strlen(stable);

	if (keep > IC_NODE_ID_MAX - 1 - NODEID_NONCE_HEX)
		keep = IC_NODE_ID_MAX - 1 - NODEID_NONCE_HEX;
	snprintf(out, outlen, "%.*s-%0*x", keep, stable, NODEID_NONCE_HEX, (unsigned)nonce);
}

bool nodeid_stable_ok(bool replaces, int64_t held_until, int64_t now)
{
	return replaces || now >= held_until;
}
