/*
 * sha256.h - SHA-256 and HMAC-SHA256 (FIPS 180-4, RFC 2104).
 *
 * Only for deriving the node id the way systemd does (sdnotify.c): the
 * daemon does not link libsystemd, whose dependencies cost idle RSS.
 */
#ifndef IC_DAEMON_SHA256_H
#define IC_DAEMON_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
void hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
		 uint8_t out[SHA256_LEN]);

#endif
