/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * siphash.h - SipHash-2-4, a keyed hash for tables whose keys a client picks.
 *
 * With an unkeyed hash (FNV-1a) anyone who can choose keys, e.g. client
 * addresses from a whole IPv6 /64, can compute in advance a set of keys that
 * all land in one chain and turn every lookup into a walk of that chain.
 * SipHash (Aumasson and Bernstein, 2012) is a pseudo-random function of a
 * 128-bit secret key: without the key those collisions cannot be found.
 * This is the reference algorithm with 2 compression and 4 finalisation
 * rounds and a 64-bit output, checked against the reference test vectors in
 * tests/unit/test_router_strmap.c.
 */
#ifndef IC_ROUTER_SIPHASH_H
#define IC_ROUTER_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

uint64_t siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *data, size_t len);

#endif
