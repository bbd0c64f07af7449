/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libFuzzer harness for common/ctlproto.c: the input is one control-socket
 * line, parsed as a request (what idleclawd reads) and as a daemon message
 * (what idleclawctl reads).  Nothing may crash or leak, and what is
 * accepted must keep ctlproto.h's promises; replies built for an accepted
 * request must parse back to the same id and status, and the request built
 * again with ctl_request_new() must parse to the same id, command,
 * arguments and verdict.
 *
 * make check runs it through standalone.c; for libFuzzer see
 * docs/fuzzing.md (tests/fuzz/run.sh ctlproto).
 */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "jsonutil.h"
#include "limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reply_roundtrip(const char *id, enum ctl_status st)
{
	json_object *o = ctl_reply_new(id, st, "detail", NULL);
	struct ctl_message m;
	size_t len;
	char *line = ctl_line_new(o, &len);

	if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len - 1) != NULL)
		abort(); /* one line, always */
	if (ctl_message_parse(line, len - 1, &m) != 0 || m.kind != CTL_MSG_REPLY ||
		m.status != st || (id == NULL) != (m.id == NULL) ||
		(id != NULL && strcmp(id, m.id) != 0))
		abort();
	ctl_message_clear(&m);
	free(line);
	json_object_put(o);
}

/* Equal as wire text (json_object_equal() says a NaN differs from itself). */
static bool same_json(json_object *a, json_object *b)
{
	char *x = ic_json_to_string_new(a, NULL), *y = ic_json_to_string_new(b, NULL);
	bool same = strcmp(x, y) == 0;

	free(x);
	free(y);
	return same;
}

/* What idleclawctl builds from an accepted request reads back the same. */
static void check_request_roundtrip(const struct ctl_request *req, enum ctl_status st)
{
	json_object *o = ctl_request_new(req->id, req->cmd, json_object_get(req->args));
	struct ctl_request again;
	char err[IC_ERRBUF_MAX];
	size_t len;
	char *line = ctl_line_new(o, &len);

	if (ctl_request_parse(line, len - 1, &again) != CTL_ST_OK ||
		strcmp(again.id, req->id) != 0 || strcmp(again.cmd, req->cmd) != 0 ||
		!same_json(again.args, req->args) ||
		ctl_args_check(again.cmd, again.args, err, sizeof(err)) != st)
		abort();
	ctl_request_clear(&again);
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
			abort(); /* a refusal always says why */
		check_request_roundtrip(&req, st);
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
