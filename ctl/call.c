/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * call.c - run one request against idleclawd and say what happened.
 *
 * This is the layer that knows it talks to a person: every failure is
 * printed once, here, as the status table's fixed sentence plus the
 * daemon's detail and a hint, and becomes the status table's exit code.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "ctl.h"
#include "jsonutil.h"
#include "limits.h"
#include "termout.h"

/* Messages often quote the network (an error's detail): on a terminal,
 * stripped of what the terminal would obey. */
void ctl_errorf(const struct ctl_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	char *s;

	fflush(stdout);
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort(); /* out of memory, as xmalloc */
	va_end(ap);
	if (ctl_strip_for(ctx, stderr))
		ctl_strip_controls(s);
	fprintf(stderr, "%s: %s\n", ctx->progname, s);
	free(s);
}

struct ctl_client *ctl_open(const struct ctl_ctx *ctx, int *exit_code)
{
	char err[IC_ERRBUF_MAX];
	struct ctl_client *c;
	int e = 0;

	c = ctl_client_connect(ctx->socket_path, ctx->timeout_ms, &e, err, sizeof(err));
	if (c != NULL)
		return c;
	switch (e) {
	case ENOENT:
	case ECONNREFUSED:
		ctl_errorf(ctx,
			"cannot connect to idleclawd at %s: %s.\n"
			"Is idleclawd running?  (--socket PATH or IDLECLAW_SOCKET "
			"choose another socket.)",
			ctx->socket_path, err);
		*exit_code = CTL_EXIT_NO_DAEMON;
		break;
	case EACCES:
		ctl_errorf(ctx,
			"cannot connect to idleclawd at %s: %s.\n"
			"Run idleclawctl as root or as a member of the idleclaw group.",
			ctx->socket_path, err);
		*exit_code = CTL_EXIT_PERMISSION;
		break;
	default:
		ctl_errorf(ctx, "cannot connect to idleclawd at %s: %s.", ctx->socket_path, err);
		*exit_code = CTL_EXIT_NO_DAEMON;
		break;
	}
	return NULL;
}

int ctl_report(
	const struct ctl_ctx *ctx, const struct ctl_cmd_entry *cmd, const struct ctl_message *reply)
{
	int st = reply->status;
	const char *name = ic_json_get_string(reply->root, CTL_F_STATUS);
	const char *sentence = ctl_status_message(st);

	if (st == CTL_ST_OK)
		return CTL_EXIT_OK;
	/* A status newer than us reads as "failed": show the daemon's words. */
	if (ctl_status_from_name(name) < 0 && reply->message != NULL)
		sentence = reply->message;
	ctl_errorf(ctx, "%s", sentence);
	if (reply->detail != NULL)
		ctl_fprintf_strip(stderr, ctl_strip_for(ctx, stderr), "  %s\n", reply->detail);
	if (st == CTL_ST_PERMISSION)
		fprintf(stderr,
			"Hint: '%s' changes the daemon; run it with sudo, or join the idleclaw "
			"group.\n",
			cmd != NULL ? cmd->name : "this command");
	return ctl_status_exit_code(st);
}

int ctl_report_recv(const struct ctl_ctx *ctx, enum ctl_recv r, const char *err)
{
	ctl_errorf(ctx, "%s.", err);
	switch (r) {
	case CTL_RECV_TIMEOUT:
		return CTL_EXIT_TIMEOUT;
	case CTL_RECV_INTERRUPTED:
		return CTL_EXIT_INTERRUPTED;
	case CTL_RECV_EOF:
	case CTL_RECV_ERROR:
		return CTL_EXIT_FAILED;
	default:
		return CTL_EXIT_PROTOCOL;
	}
}

int ctl_call(
	const struct ctl_ctx *ctx, const char *cmd, json_object *args, struct ctl_message *reply)
{
	char err[IC_ERRBUF_MAX];
	struct ctl_client *c;
	json_object *req;
	char id[CTL_ID_MAX + 1];
	int code = 0;

	c = ctl_open(ctx, &code);
	if (c == NULL) {
		json_object_put(args);
		return code;
	}
	snprintf(id, sizeof(id), "%s", ctl_client_next_id(c));
	req = ctl_request_new(id, cmd, args);
	if (ctl_client_send(c, req, ctx->timeout_ms, err, sizeof(err)) < 0) {
		json_object_put(req);
		ctl_client_free(c);
		ctl_errorf(ctx, "%s.", err);
		return CTL_EXIT_FAILED;
	}
	json_object_put(req);
	for (;;) {
		enum ctl_recv r =
			ctl_client_recv(c, reply, ctx->timeout_ms, NULL, NULL, err, sizeof(err));

		if (r != CTL_RECV_OK) {
			ctl_client_free(c);
			return ctl_report_recv(ctx, r, err);
		}
		/* a reply to no request: the daemon refused the line itself */
		if (reply->kind == CTL_MSG_REPLY &&
			(reply->id == NULL || strcmp(reply->id, id) == 0))
			break;
		ctl_message_clear(reply);
	}
	ctl_client_free(c);
	return 0;
}

/* Call self's protocol command; on success print the reply as JSON
 * (--json), with print(), or as the sentence done. */
static int run_and_print(const struct ctl_ctx *ctx, const struct ctl_cmd_entry *self,
	json_object *args, const char *done, void (*print)(json_object *root))
{
	struct ctl_message reply;
	int code = ctl_call(ctx, self->proto, args, &reply);

	if (code != 0)
		return code;
	code = ctl_report(ctx, self, &reply);
	if (code == 0) {
		if (ctx->json) {
			ctl_print_json(&reply);
		} else if (print != NULL) {
			/* model names, the router's errors...: from the network */
			if (ctl_strip_for(ctx, stdout))
				ctl_json_strip(reply.root);
			print(reply.root);
		} else if (done != NULL)
			printf("%s\n", done);
	}
	ctl_message_clear(&reply);
	return code;
}

int ctl_run_simple(const struct ctl_ctx *ctx, const struct ctl_cmd_entry *self, json_object *args,
	const char *done)
{
	return run_and_print(ctx, self, args, done, NULL);
}

int ctl_run_query(const struct ctl_ctx *ctx, const struct ctl_cmd_entry *self, json_object *args,
	void (*print)(json_object *root))
{
	return run_and_print(ctx, self, args, NULL, print);
}

void ctl_print_json(const struct ctl_message *reply)
{
	puts(json_object_to_json_string_ext(reply->root,
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			JSON_C_TO_STRING_NOSLASHESCAPE));
}
