/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libFuzzer harness for the gateway's dialects (daemon/gateway-chat.c,
 * gateway-ollama.c, gateway-openai.c): the input is a request body read as
 * Ollama's /api/chat and /api/generate and as OpenAI's
 * /v1/chat/completions, as the network's /api/models answer, and as a
 * Host and an Origin header (gateway-addr.c).  Nothing may crash or leak;
 * what is accepted must be chat arguments that ctl_args_check() accepts,
 * or Ollama's "load" request; a Host is refused exactly when it is not
 * loopback, and never with allow_remote.
 *
 * make check runs it through standalone.c; for libFuzzer see
 * docs/fuzzing.md.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "daemon/gateway-api.h"
#include "jsonutil.h"
#include "limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int rc, struct gw_chat *c, const char *err)
{
	char again[IC_ERRBUF_MAX];

	if (rc != 0) {
		if (c->args || !*err)
			abort(); /* refused: nothing kept, and a sentence */
		return;
	}
	if (!c->model)
		abort();
	if (c->load_only) {
		if (c->args)
			abort();
	} else if (!c->args ||
		ctl_args_check(CTL_CMD_CHAT, c->args, again, sizeof(again)) != CTL_ST_OK) {
		abort();
	}
	gw_chat_clear(c);
}

static void check_headers(const char *text, size_t size)
{
	char *h = malloc(size + 1);
	bool loop, listed;

	if (!h)
		return;
	memcpy(h, text, size);
	h[size] = '\0';
	loop = gw_host_loopback(h);
	listed = strcmp(h, "http://a") == 0;
	if ((gw_request_refused(NULL, false, NULL, h) == NULL) != loop ||
		gw_request_refused(NULL, true, NULL, h) != NULL ||
		(gw_request_refused("http://a", true, h, NULL) == NULL) != listed)
		abort();
	free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	char err[IC_ERRBUF_MAX];
	struct gw_chat c;
	json_object *j, *names, *o;

	err[0] = '\0';
	check(gw_ollama_chat_parse(text, size, false, &c, err, sizeof(err)), &c, err);
	err[0] = '\0';
	check(gw_ollama_chat_parse(text, size, true, &c, err, sizeof(err)), &c, err);
	err[0] = '\0';
	check(gw_openai_chat_parse(text, size, &c, err, sizeof(err)), &c, err);
	j = ic_json_parse_new(text, size);
	names = gw_model_names_new(j);
	if (names) {
		o = gw_ollama_tags_new(names);
		json_object_put(o);
		o = gw_openai_models_new(names);
		json_object_put(o);
		json_object_put(names);
	}
	json_object_put(j);
	check_headers(text, size);
	return 0;
}
