/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * record.c - the --record file: one JSON line per request body received and
 * per chat the client abandoned, so tests can see what reached "Ollama".
 *
 * Each line is one write(2) on an O_APPEND descriptor: a test reading the
 * file while we run never sees half a line.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake-ollama.h"
#include "jsonutil.h"
#include "log.h"
#include "xmalloc.h"

static int record_fd = -1;

int fo_record_open(const char *path, char *err, size_t errlen)
{
	record_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (record_fd < 0) {
		snprintf(err, errlen, "--record %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void write_line(json_object *obj)
{
	const char *s = json_object_to_json_string_ext(obj, IC_JSON_WIRE);
	size_t len = strlen(s);
	char *line = xmalloc(len + 2);

	memcpy(line, s, len);
	line[len] = '\n';
	if (write(record_fd, line, len + 1) != (ssize_t)(len + 1))
		log_warn("--record: write failed: %s", strerror(errno));
	free(line);
}

void fo_record_request(const char *path, const char *body, size_t len)
{
	json_tokener *tok;
	json_object *obj, *parsed = NULL;

	if (record_fd < 0)
		return;
	tok = json_tokener_new();
	if (len > 0 && len < (size_t)INT32_MAX) {
		parsed = json_tokener_parse_ex(tok, body, (int)len);
		if (json_tokener_get_error(tok) != json_tokener_success ||
			json_tokener_get_parse_end(tok) != len) {
			json_object_put(parsed);
			parsed = NULL;
		}
	}
	json_tokener_free(tok);
	if (parsed == NULL) /* not JSON: keep the raw text */
		parsed = json_object_new_string_len(body, (int)len);
	obj = json_object_new_object();
	json_object_object_add(obj, "path", json_object_new_string(path));
	json_object_object_add(obj, "body", parsed);
	write_line(obj);
	json_object_put(obj);
}

void fo_record_event(const char *event, const char *model)
{
	json_object *obj;

	if (record_fd < 0)
		return;
	obj = json_object_new_object();
	json_object_object_add(obj, "event", json_object_new_string(event));
	json_object_object_add(obj, "model", json_object_new_string(model));
	write_line(obj);
	json_object_put(obj);
}

void fo_record_close(void)
{
	if (record_fd >= 0)
		close(record_fd);
	record_fd = -1;
}
