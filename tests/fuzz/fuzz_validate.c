/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libFuzzer harness for common/validate.c and common/utf8.c.
 *
 * The input is tried as a chat's messages (JSON), as a model name, a URL
 * and an OLLAMA_HOST value.  Nothing may crash or leak, and what is
 * accepted must keep the promises of validate.h.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "utf8.h"
#include "validate.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_url(const struct ic_url *u)
{
	if (!u->scheme || !u->host || !u->path || !u->host[0])
		abort();
	if (u->port < 1 || u->port > 65535)
		abort();
	if (strpbrk(u->host, "@/ ?#") || (u->path[0] && u->path[0] != '/'))
		abort();
}

static void try_messages(const char *text, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
	char err[IC_ERRBUF_MAX];

	if (obj) {
		if (ic_validate_messages(obj, &ic_consumer_msg_rules, err, sizeof(err)) == 0 &&
			ic_validate_messages(obj, &ic_node_msg_rules, err, sizeof(err)) != 0)
			abort(); /* node rules are wider than consumer rules */
		json_object_put(obj);
	}
	json_tokener_free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	struct ic_url u;
	char err[IC_ERRBUF_MAX];
	ssize_t chars;
	size_t cut;

	if (size > 1 << 20)
		return 0;
	chars = ic_utf8_count((const char *)data, size);
	cut = ic_utf8_complete_len((const char *)data, size);
	if (cut > size || (chars >= 0 && cut != size))
		abort();
	try_messages((const char *)data, size);

	s = xstrndup((const char *)data, size);
	if (ic_valid_model_name(s) && (strlen(s) > IC_MODEL_NAME_MAX || strpbrk(s, " \"'\\")))
		abort();
	if (ic_url_parse(s, &u, err, sizeof(err)) == 0) {
		check_url(&u);
		ic_url_clear(&u);
	} else if (u.host || u.scheme || u.path || !err[0]) {
		abort();
	}
	if (ic_ollama_host_parse(s, &u, err, sizeof(err)) == 0) {
		check_url(&u);
		ic_url_clear(&u);
	}
	free(s);
	return 0;
}
