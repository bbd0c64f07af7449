/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz harness for router/chunkparse.c: the input is one node-link text
 * frame, as node_rx() hands it to chunk_parse() before ic_msg_parse().
 *
 * Properties checked on every input (abort() on violation):
 *   - chunk_parse() reads nothing past the frame and writes nothing when it
 *     declines: a declined frame is byte for byte what it was, so the slow
 *     path (ic_msg_parse()) sees the frame the node sent;
 *   - what chunk_parse() reads, ic_msg_parse() accepts as an
 *     inference_chunk with the same request_id, and chunk_view_of_json()
 *     of its chunk (what the router does with a frame it declines) gives
 *     the same content, thinking, done and done_reason, byte for byte;
 *   - the strings it decoded are NUL-terminated at their length, valid
 *     UTF-8 and inside the frame.
 * A frame chunk_parse() declines and ic_msg_parse() reads as a chunk is
 * the fallback working, not a finding.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "utf8.h"
#include "router/chunkparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

/* Both NULL, or the same len bytes. */
static bool same(const char *a, size_t alen, const char *b, size_t blen)
{
	if (a == NULL || b == NULL)
		return a == b;
	return alen == blen && memcmp(a, b, alen) == 0;
}

static size_t len0(const char *s)
{
	return s ? strlen(s) : 0;
}

/* s (len bytes) lies in frame[0..size), ends with a NUL there, is UTF-8. */
static void check_string(const char *s, size_t len, const char *frame, size_t size)
{
	if (s == NULL)
		return;
	CHECK(s >= frame && s + len < frame + size); /* the NUL replaced a quote */
	CHECK(s[len] == '\0' && strlen(s) == len);
	CHECK(ic_utf8_count(s, len) >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* one byte more than the frame: a guard chunk_parse must not touch */
	char *frame = malloc(size + 1);
	struct chunk_view fast, slow;
	struct ic_msg m;
	char err[256];
	bool read;
	int rc;

	if (frame == NULL)
		return 0;
	memcpy(frame, data, size);
	frame[size] = 'X';
	read = chunk_parse(frame, size, &fast);
	CHECK(frame[size] == 'X');
	memset(&m, 0, sizeof(m));
	rc = ic_msg_parse((const char *)data, size, &m, err, sizeof(err));
	if (!read) {
		CHECK(memcmp(frame, data, size) == 0);
	} else {
		CHECK(rc == 0 && m.type == IC_MSG_INFERENCE_CHUNK && m.chunk != NULL);
		CHECK(fast.request_id != NULL && strcmp(fast.request_id, m.request_id) == 0);
		check_string(fast.request_id, strlen(fast.request_id), frame, size);
		check_string(fast.content, fast.content_len, frame, size);
		check_string(fast.thinking, fast.thinking_len, frame, size);
		check_string(fast.done_reason, len0(fast.done_reason), frame, size);
		chunk_view_of_json(m.chunk, &slow);
		CHECK(same(fast.content, fast.content_len, slow.content, slow.content_len));
		CHECK(same(fast.thinking, fast.thinking_len, slow.thinking, slow.thinking_len));
		CHECK(same(fast.done_reason, len0(fast.done_reason), slow.done_reason,
			len0(slow.done_reason)));
		CHECK(fast.done == slow.done);
	}
	ic_msg_clear(&m);
	free(frame);
	return 0;
}
