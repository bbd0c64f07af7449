/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Unit tests for router/chunkparse.c: every frame it reads gives what
 * ic_msg_parse() gives, every frame it declines is left untouched, and the
 * frames nodes really send are read. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/proto.h"
#include "common/jsonutil.h"
#include "router/chunkparse.h"

static void same_str(const char *what, const char *a, size_t alen, const char *b, size_t blen)
{
	ck_assert_msg((a == NULL) == (b == NULL), "%s: one is NULL", what);
	if (a) {
		ck_assert_msg(
			alen == blen && memcmp(a, b, alen) == 0, "%s: <%s> vs <%s>", what, a, b);
		ck_assert_uint_eq(strlen(a), alen);
	}
}

/* Checks one frame both ways; returns whether the fast path read it. */
static bool check_frame(const char *frame, size_t len)
{
	char *copy = malloc(len + 1);
	struct chunk_view fast, slow;
	struct ic_msg m;
	char err[256];
	bool read;
	int rc;

	memcpy(copy, frame, len);
	copy[len] = 'X'; /* not part of the frame: must not be read */
	read = chunk_parse(copy, len, &fast);
	rc = ic_msg_parse(frame, len, &m, err, sizeof(err));
	if (!read) {
		ck_assert_msg(memcmp(copy, frame, len) == 0, "declined but changed: %.*s", (int)len,
			frame);
	} else {
		ck_assert_msg(rc == 0 && m.type == IC_MSG_INFERENCE_CHUNK,
			"read a frame ic_msg_parse refuses (%s): %.*s", err, (int)len, frame);
		chunk_view_of_json(m.chunk, &slow);
		ck_assert_str_eq(fast.request_id, m.request_id);
		same_str("content", fast.content, fast.content_len, slow.content, slow.content_len);
		same_str("thinking", fast.thinking, fast.thinking_len, slow.thinking,
			slow.thinking_len);
		same_str("done_reason", fast.done_reason,
			fast.done_reason ? strlen(fast.done_reason) : 0, slow.done_reason,
			slow.done_reason ? strlen(slow.done_reason) : 0);
		ck_assert_int_eq(fast.done, slow.done);
	}
	ck_assert(copy[len] == 'X');
	ic_msg_clear(&m);
	free(copy);
	return read;
}

static bool check_str(const char *frame)
{
	return check_frame(frame, strlen(frame));
}

static const char *const common_frames[] = {
	/* bench-router's */
	"{\"type\":\"inference_chunk\",\"request_id\":\"req-0123456789abcdef01234567\",\"chunk\":"
	"{\"message\":{\"role\":\"assistant\",\"content\":\"T123 tokens \"},\"done\":false}}",
	/* idleclawd's: Ollama's fields, a last chunk with done_reason and counts */
	"{\"type\":\"inference_chunk\",\"request_id\":\"req-1\",\"chunk\":{\"model\":\"llama3.2:"
	"latest\","
	"\"created_at\":\"2025-01-01T00:00:00.123456Z\",\"message\":{\"role\":\"assistant\","
	"\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\",\"total_duration\":1234567890,"
	"\"eval_count\":42,\"eval_duration\":0.5}}",
	"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{\"message\":{\"role\":"
	"\"assistant\","
	"\"content\":\"\",\"thinking\":\"hmm\\n\\\"so\\\" \\\\ \\/ caf\\u00e9 \xe2\x82\xac "
	"\xf0\x9f\x98\x80\"},"
	"\"done\":false}}",
	"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{\"done\":true,\"done_"
	"reason\":"
	"\"length\"}}",
	" {\"chunk\":{\"message\":{\"content\":\"x\",\"tool_calls\":[{\"function\":{\"name\":\"f\","
	"\"arguments\":{\"a\":[1,-2.5,null,true,false,{}],\"b\":[]}}}]}},\n\"request_id\":\"a.b:c-"
	"d_e\","
	"\"type\":\"inference_chunk\",\"extra\":[[[]]]}\r\n",
};

START_TEST(test_common_frames_are_read)
{
	for (size_t i = 0; i < sizeof(common_frames) / sizeof(common_frames[0]); i++)
		ck_assert_msg(check_str(common_frames[i]), "not read: %s", common_frames[i]);
}
END_TEST

START_TEST(test_unusual_frames)
{
	static const char *const declined[] = {
		"{\"type\":\"heartbeat\",\"node_id\":\"n\",\"active_requests\":0}",
		"{\"type\":\"inference_error\",\"request_id\":\"r\",\"error\":\"ollama_error\"}",
		"{\"type\":\"inference_chunk\",\"request_id\":\"r\"}",
		"{\"type\":\"inference_chunk\",\"request_id\":\"bad id\",\"chunk\":{}}",
		"{\"type\":\"inference_chunk\",\"request_id\":\"\",\"chunk\":{}}",
		"{\"type\":\"inference_chunk\",\"request_id\":7,\"chunk\":{}}",
		"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":[]}",
		"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{}} x",
		"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{},}",
		"{\"type\":\"inference_chunk\",\"type\":\"inference_chunk\",\"request_id\":\"r\","
		"\"chunk\":{}}",
		"{\"typ\\u0065\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{}}",
		"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{\"message\":"
		"{\"content\":\"a\\u0000b\"}}}",
		"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{\"message\":"
		"{\"content\":\"\\ud83d\\ude00\"}}}",
		"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{\"n\":1e3}}",
		"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{\"n\":01}}",
		"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{\"n\":NaN}}",
		"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{\"n\":"
		"12345678901234567890}}",
		"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{\"s\":\"\xc0\xaf\"}"
		"}",
		"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{\"s\":"
		"\"\xed\xa0\x80\"}}",
		"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{\"s\":"
		"\"\xf4\x90\x80\x80\"}}",
		"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{\"s\":\"tab\there\"}"
		"}",
		"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{\"s\":\"\\x\"}}",
		"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{\"message\":"
		"{\"content\":\"a\",\"content\":\"b\"}}}",
		"[\"type\",\"inference_chunk\"]",
		"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{\"t\":tru}}",
		"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{\"t\":\"open",
		"",
		"   ",
	};
	char deep[400];
	size_t o;

	for (size_t i = 0; i < sizeof(declined) / sizeof(declined[0]); i++)
		ck_assert_msg(!check_str(declined[i]), "read: %s", declined[i]);
	/* a NUL byte inside */
	ck_assert(!check_frame(
		"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{\"s\":\"\0\"}}",
		56));
	/* nesting (containers, the frame's own included) at the bound, and one deeper */
	for (int depth = CHUNK_PARSE_DEPTH_MAX - 1; depth <= CHUNK_PARSE_DEPTH_MAX + 1; depth++) {
		o = (size_t)snprintf(deep, sizeof(deep),
			"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{\"x\":");
		for (int k = 0; k < depth - 2; k++)
			deep[o++] = '[';
		for (int k = 0; k < depth - 2; k++)
			deep[o++] = ']';
		deep[o++] = '}';
		deep[o++] = '}';
		ck_assert_int_eq(check_frame(deep, o), depth <= CHUNK_PARSE_DEPTH_MAX);
	}
	/* other types of the members read count as absent, as in chat.c */
	ck_assert(check_str(
		"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{\"message\":"
		"{\"content\":5,\"thinking\":null},\"done\":1,\"done_reason\":[]}}"));
	ck_assert(check_str(
		"{\"type\":\"inference_chunk\",\"request_id\":\"r\",\"chunk\":{\"message\":"
		"\"hi\",\"done\":false}}"));
}
END_TEST

/* Random edits of real frames: whatever is read agrees with ic_msg_parse. */
START_TEST(test_mutations_agree)
{
	static const char alphabet[] =
		"{}[]\",:\\u0123456789abcdefnrt .-eE\x01\x80\xc3\xa9\xed\xf4";
	char buf[1024];
	int reads = 0;

	srand(11);
	for (int i = 0; i < 20000; i++) {
		const char *base = common_frames[(size_t)i %
			(sizeof(common_frames) / sizeof(common_frames[0]))];
		size_t len = strlen(base);
		int edits = 1 + rand() % 3;

		memcpy(buf, base, len);
		for (int e = 0; e < edits && len > 1 && len < sizeof(buf) - 1; e++) {
			size_t at = (size_t)rand() % len;
			char ch = alphabet[(size_t)rand() % (sizeof(alphabet) - 1)];

			switch (rand() % 3) {
			case 0:
				buf[at] = ch;
				break;
			case 1:
				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = ch;
				len++;
				break;
			default:
				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
				break;
			}
		}
		reads += check_frame(buf, len);
	}
	/* plenty of edits land in text and stay valid frames */
	ck_assert_int_gt(reads, 1000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("router_chunkparse");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_common_frames_are_read);
	tcase_add_test(tc, test_unusual_frames);
	tcase_add_test(tc, test_mutations_agree);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
