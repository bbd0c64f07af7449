/*
 * libFuzzer harness for common/ctlproto.c: the input is one control-socket
 * line, parsed as a request (what idleclawd reads) and as a daemon message
 * (what idleclawctl reads).  Nothing may crash or leak, and what is
 * accepted must keep ctlproto.h's promises; replies built for an accepted
 * request must parse back to the same id and status.
 *
 * Build and run (not part of make check):
 *   top=$PWD; clang -g -O1 -std=gnu11 -D_GNU_SOURCE \
 *     -fsanitize=fuzzer,address,undefined -I$top -iquote $top/common \
 *     $(pkg-config --cflags json-c) -o fuzz_ctlproto tests/fuzz/fuzz_ctlproto.c \
 *     common/ctlproto.c common/jsonutil.c common/validate.c common/utf8.c \
 *     common/xmalloc.c $(pkg-config --libs json-c)
 *   ./fuzz_ctlproto -max_total_time=60 -dict=tests/fuzz/ctlproto.dict
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reply_roundtrip(const char *id, enum ctl_status st)
{
	json_object *o = ctl_reply_new(id, st, "detail", NULL);
	struct ctl_message m;
	size_t len;
	char *line = ctl_line_new(o, &len);

	if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len - 1) != NULL)
		abort();	/* one line, always */
	if (ctl_message_parse(line, len - 1, &m) != 0 || m.kind != CTL_MSG_REPLY ||
	    m.status != st || (id == NULL) != (m.id == NULL) ||
	    (id != NULL && strcmp(id, m.id) != 0))
		abort();
	ctl_message_clear(&m);
	free(line);
	json_object_put(o);
}

static void as_request(const char *text, size_t len)
{
	struct ctl_request req;
	char err[IC_ERRBUF_MAX];
	enum ctl_status st = ctl_request_parse(text, len, &req);

	if (st != CTL_ST_OK && st != CTL_ST_BAD_JSON && st != CTL_ST_BAD_VERSION &&
	    st != CTL_ST_BAD_REQUEST && st != CTL_ST_BAD_ARGS)
		abort();
	if (req.id != NULL && !ctl_valid_id(req.id))
		abort();
	if (st == CTL_ST_OK) {
		if (req.cmd == NULL || req.cmd[0] == '\0' || req.args == NULL ||
		    !json_object_is_type(req.args, json_type_object))
			abort();
		st = ctl_args_check(req.cmd, req.args, err, sizeof(err));
		if (st == CTL_ST_UNKNOWN_COMMAND && ctl_command_known(req.cmd))
			abort();
		if (st == CTL_ST_BAD_ARGS && err[0] == '\0')
			abort();	/* a refusal always says why */
	}
	check_reply_roundtrip(req.id, st);
	ctl_request_clear(&req);
}

static void as_message(const char *text, size_t len)
{
	struct ctl_message m;

	if (ctl_message_parse(text, len, &m) != 0)
		return;
	if (m.kind == CTL_MSG_EVENT && (m.id == NULL || m.event >= CTL_EV_COUNT))
		abort();
	if (m.kind == CTL_MSG_REPLY && (unsigned)m.status >= CTL_ST_COUNT)
		abort();
	ctl_message_clear(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	as_request((const char *)data, size);
	as_message((const char *)data, size);
	return 0;
}
