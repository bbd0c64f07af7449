/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz harness for common/config.c: the input is a configuration file,
 * loaded with a small schema of every key type.  An input starting with "!"
 * has its first line used as a command-line override instead.  The file is
 * written to a private directory under /dev/shm (or $TMPDIR, or /tmp).
 *
 * Properties checked on every input (abort() on violation):
 *   - either a config or an error text, never both, never neither;
 *   - the error text lists at most IC_CONFIG_ERRORS_MAX errors plus one
 *     "too many" line, each shorter than IC_CONFIG_ERROR_MAX and naming its
 *     source;
 *   - every value of a loaded config keeps the table's promises (integers
 *     within bounds, URLs that parse, empty strings unset);
 *   - print -> load round trip: ic_config_print()'s output, loaded again,
 *     gives the same values.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h" /* plain "config.h" could be autoconf's */
#include "limits.h"
#include "log.h"
#include "validate.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

struct fcfg {
	char *server;
	char *ollama_host;
	int max_concurrent;
	bool enabled;
	int log_level;
	char *name;
	int port;
};

static const struct ic_config_key keys[] = {
	{ .section = "router",
		.key = "server",
		.type = IC_CONFIG_URL,
		.offset = offsetof(struct fcfg, server),
		.def_str = "https://api.idleclaw.com",
		.help = "router to join" },
	{ .section = "node",
		.key = "ollama_host",
		.type = IC_CONFIG_OLLAMA_HOST,
		.offset = offsetof(struct fcfg, ollama_host),
		.def_str = "127.0.0.1:11434",
		.help = "where Ollama listens" },
	{ .section = "node",
		.key = "max_concurrent",
		.type = IC_CONFIG_INT,
		.offset = offsetof(struct fcfg, max_concurrent),
		.min = IC_CONCURRENCY_MIN,
		.max = IC_CONCURRENCY_MAX,
		.def_int = 2,
		.help = "requests at once" },
	{ .section = "node",
		.key = "enabled",
		.type = IC_CONFIG_BOOL,
		.offset = offsetof(struct fcfg, enabled),
		.def_bool = true,
		.help = "serve requests" },
	{ .section = "log",
		.key = "level",
		.type = IC_CONFIG_LOGLEVEL,
		.offset = offsetof(struct fcfg, log_level),
		.def_int = IC_LOG_INFO,
		.help = "log threshold" },
	{ .section = "node",
		.key = "name",
		.type = IC_CONFIG_STRING,
		.offset = offsetof(struct fcfg, name),
		.help = "a label" },
	{ .section = "router",
		.key = "port",
		.type = IC_CONFIG_INT,
		.offset = offsetof(struct fcfg, port),
		.min = -1,
		.max = 65535,
		.def_int = 0,
		.help = "a negative bound" },
};
static const struct ic_config_schema schema = {
	.keys = keys,
	.n_keys = sizeof(keys) / sizeof(keys[0]),
	.struct_size = sizeof(struct fcfg),
};

static char *dir, *path;

/* Per input, so that nothing is left behind when libFuzzer stops with
 * _Exit() (atexit handlers do not run then). */
static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
	path = dir = NULL;
}

static void setup(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");

	dir = xasprintf("%s/ic-fuzz-config-XXXXXX", base != NULL && *base ? base : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort(); /* not a finding: the harness cannot run */
	path = xasprintf("%s/fuzz.conf", dir);
	/* unknown keys are warnings: keep them off stderr */
	ic_log_set_level(IC_LOG_ERR);
}

static void write_file(const char *text, size_t len)
{
	FILE *f = fopen(path, "we");

	if (f == NULL || (len > 0 && fwrite(text, 1, len, f) != len) || fclose(f) != 0)
		abort();
}

static bool same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool same_cfg(const struct fcfg *a, const struct fcfg *b)
{
	return same_str(a->server, b->server) && same_str(a->ollama_host, b->ollama_host) &&
		same_str(a->name, b->name) && a->max_concurrent == b->max_concurrent &&
		a->enabled == b->enabled && a->log_level == b->log_level && a->port == b->port;
}

static void check_errors(const char *errors)
{
	const char *line = errors, *nl;
	size_t n = 0, len;

	CHECK(errors != NULL && errors[0] != '\0');
	for (;; line = nl + 1) {
		nl = strchr(line, '\n');
		len = nl != NULL ? (size_t)(nl - line) : strlen(line);
		n++;
		CHECK(len > 0 && len < IC_CONFIG_ERROR_MAX);
		CHECK(strncmp(line, path, strlen(path)) == 0 ||
			strncmp(line, "override \"", 10) == 0 ||
			(n == IC_CONFIG_ERRORS_MAX + 1 &&
				strncmp(line, "too many errors", 15) == 0));
		if (nl == NULL)
			break;
	}
	CHECK(n <= IC_CONFIG_ERRORS_MAX + 1);
}

static void check_url_value(const char *v, bool ollama)
{
	struct ic_url u;
	char err[IC_ERRBUF_MAX];

	if (v == NULL)
		return;
	CHECK(v[0] != '\0' && strchr(v, '\n') == NULL);
	if (ollama)
		CHECK(ic_ollama_host_parse(v, &u, err, sizeof(err)) == 0);
	else
		CHECK(ic_url_parse(v, &u, err, sizeof(err)) == 0);
	ic_url_clear(&u);
}

static void check_values(const struct fcfg *c)
{
	check_url_value(c->server, false);
	check_url_value(c->ollama_host, true);
	CHECK(c->name == NULL || (c->name[0] != '\0' && strchr(c->name, '\n') == NULL));
	CHECK(c->max_concurrent >= IC_CONCURRENCY_MIN && c->max_concurrent <= IC_CONCURRENCY_MAX);
	CHECK(c->port >= -1 && c->port <= 65535);
	CHECK(c->log_level >= IC_LOG_ERR && c->log_level <= IC_LOG_DEBUG);
	CHECK(ic_log_level_name((enum ic_log_level)c->log_level) != NULL);
}

/* The printed form, loaded again, gives the same config. */
static void check_print_roundtrip(const struct fcfg *c)
{
	char *text = NULL, *errors = NULL, *line, *nl;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct fcfg *again;

	if (f == NULL)
		abort();
	ic_config_print(&schema, c, f);
	if (fclose(f) != 0)
		abort();
	/* "key = value" is two bytes longer than "key=value": a value near
	 * the line limit cannot always be printed back as a loadable line */
	for (line = text; (nl = strchr(line, '\n')) != NULL; line = nl + 1)
		if ((size_t)(nl - line) > IC_CONFIG_LINE_MAX) {
			free(text);
			return;
		}
	write_file(text, len);
	again = ic_config_load_new(&schema, path, NULL, &errors);
	CHECK(again != NULL && errors == NULL);
	CHECK(same_cfg(c, again));
	ic_config_free(&schema, again);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *overrides[2] = { NULL, NULL };
	char *override = NULL, *errors = NULL;
	struct fcfg *cfg;
	const char *nl;
	size_t used;

	if (size > (1 << 20))
		return 0;
	setup();
	if (size > 0 && text[0] == '!') {
		nl = memchr(text, '\n', size);
		used = nl != NULL ? (size_t)(nl - text) + 1 : size;
		override = xstrndup(text + 1, nl != NULL ? used - 2 : used - 1);
		overrides[0] = override;
		text += used;
		size -= used;
	}
	write_file(text, size);
	cfg = ic_config_load_new(&schema, path, overrides, &errors);
	if (cfg == NULL) {
		check_errors(errors);
	} else {
		CHECK(errors == NULL);
		check_values(cfg);
		/* override values are not trimmed as file values are */
		if (override == NULL)
			check_print_roundtrip(cfg);
	}
	ic_config_free(&schema, cfg);
	free(errors);
	free(override);
	cleanup();
	return 0;
}
