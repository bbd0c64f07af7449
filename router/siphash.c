/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * siphash.c - SipHash-2-4 (see siphash.h), written from the paper:
 * "SipHash: a fast short-input PRF", J.-P. Aumasson and D. J. Bernstein.
 *
 * The message is read as little-endian 64-bit words; the last word holds
 * the remaining 0-7 bytes and, in its top byte, the length modulo 256.
 */
#include <endian.h>
#include <string.h>

#include "siphash.h"

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

/* Little-endian load, whatever the host's byte order and alignment. */
static uint64_t load_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

struct sip {
	uint64_t v0, v1, v2, v3;
};

static void round_(struct sip *s)
{
	s->v0 += s->v1;
	s->v1 = rotl(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl(s->v2, 32);
}

static void compress(struct sip *s, uint64_t m)
{
	s->v3 ^= m;
	round_(s);
	round_(s);
	s->v0 ^= m;
}

uint64_t siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
	struct sip s = {
		k0 ^ 0x736f6d6570736575ULL, /* "somepseu" */
		k1 ^ 0x646f72616e646f6dULL, /* "dorandom" */
		k0 ^ 0x6c7967656e657261ULL, /* "lygenera" */
		k1 ^ 0x7465646279746573ULL, /* "tedbytes" */
	};
	uint8_t last[8] = { 0 };
	size_t whole = len & ~(size_t)7;

	for (size_t i = 0; i < whole; i += 8)
		compress(&s, load_le64(p + i));
	memcpy(last, p + whole, len - whole);
	last[7] = (uint8_t)len;
	compress(&s, load_le64(last));
	s.v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		round_(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}
