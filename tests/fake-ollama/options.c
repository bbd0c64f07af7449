/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * options.c - fake-ollama's command line.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake-ollama.h"
#include "xmalloc.h"

#define DEFAULT_MODELS "llama3.2:latest=2019393189,qwen2.5:0.5b=397821319"
#define DEFAULT_REPLY "Hello! I am a fake Ollama. How can I help you today?"
#define DEFAULT_VERSION "0.12.3"

static const char usage_text[] =
	"usage: fake-ollama [options]\n"
	"A stand-in for Ollama's HTTP API (GET /, /api/version, /api/tags, /api/ps;\n"
	"POST /api/show, /api/chat streaming and not) for tests and benchmarks.\n"
	"\n"
	"  --listen HOST:PORT     address to listen on (default 127.0.0.1:11434);\n"
	"                         the chosen port is printed as PORT=<n> on stdout\n"
	"                         (port 0 picks a free one)\n"
	"  --models LIST          comma-separated models, each NAME or NAME=SIZE\n"
	"                         (default " DEFAULT_MODELS ")\n"
	"  --reply TEXT           the assistant's reply (default a greeting)\n"
	"  --echo                 reply with the content of the last user message\n"
	"  --tokens N             lines of content per reply: 0 (default) one per\n"
	"                         word; up to the text's length: the text cut in N\n"
	"                         pieces; more: the text's words repeated\n"
	"  --delay-ms N           delay before each line, milliseconds\n"
	"  --delay-us N           delay before each line, microseconds\n"
	"  --chunk-bytes N        send the stream in HTTP chunks of at most N bytes,\n"
	"                         cutting lines anywhere (tests line reassembly)\n"
	"  --think TEXT           stream message.thinking pieces (one a word) first,\n"
	"                         unless the request says \"think\":false\n"
	"  --tool-call NAME:JSON  end the reply with a message.tool_calls line calling\n"
	"                         NAME with arguments JSON (repeatable); skipped when\n"
	"                         the last message has role \"tool\"\n"
	"  --tool-call-always     emit the tool call even after a tool message\n"
	"  --fault KIND           none (default) | unknown-model | http-500 |\n"
	"                         error-midstream | hang | close-midstream |\n"
	"                         slow-headers | bad-line | no-done | busy |\n"
	"                         load-fail | forbidden\n"
	"  --fault-path PATH      the path to fault (default /api/chat); another path\n"
	"                         takes only http-500, hang, slow-headers, forbidden\n"
	"  --fault-model NAME     apply the fault only to chats with this model\n"
	"  --fault-request N      apply the fault only to the Nth request to the path\n"
	"  --fault-after N        lines sent before error-/close-midstream (default 2)\n"
	"  --fault-delay-ms N     delay before the headers for slow-headers (default 1000)\n"
	"  --record FILE          append each request body as a JSON line\n"
	"                         {\"path\":..,\"body\":..} and each chat the client\n"
	"                         abandoned as {\"event\":\"cancelled\",\"model\":..}\n"
	"  --capabilities LIST    what POST /api/show reports in \"capabilities\"\n"
	"                         (comma-separated; default completion,tools, and\n"
	"                         thinking with --think; \"none\": no such member)\n"
	"  --ollama-version V     what /api/version reports (default " DEFAULT_VERSION ");\n"
	"                         the behaviours that changed follow it\n"
	"  --model-caps NAME=LIST capabilities of one model (repeatable; e.g.\n"
	"                         nomic-embed-text=embedding)\n"
	"  --cloud NAME           NAME is a cloud model (remote_host, remote_model)\n"
	"  --load-ms N            silence before the headers of a chat that loads its\n"
	"                         model (Ollama sends nothing while loading)\n"
	"  --verbose              log each request (never its content)\n"
	"  --help                 this text\n";

enum {
	OPT_LISTEN = 256,
	OPT_MODELS,
	OPT_REPLY,
	OPT_ECHO,
	OPT_TOKENS,
	OPT_DELAY_MS,
	OPT_DELAY_US,
	OPT_CHUNK_BYTES,
	OPT_THINK,
	OPT_TOOL_CALL,
	OPT_TOOL_CALL_ALWAYS,
	OPT_FAULT,
	OPT_FAULT_PATH,
	OPT_FAULT_MODEL,
	OPT_FAULT_REQUEST,
	OPT_FAULT_AFTER,
	OPT_FAULT_DELAY_MS,
	OPT_RECORD,
	OPT_OLLAMA_VERSION,
	OPT_VERBOSE,
	OPT_HELP,
	OPT_CAPABILITIES,
	OPT_MODEL_CAPS,
	OPT_CLOUD,
	OPT_LOAD_MS,
};

static const struct option long_options[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "models", required_argument, NULL, OPT_MODELS },
	{ "reply", required_argument, NULL, OPT_REPLY },
	{ "echo", no_argument, NULL, OPT_ECHO },
	{ "tokens", required_argument, NULL, OPT_TOKENS },
	{ "delay-ms", required_argument, NULL, OPT_DELAY_MS },
	{ "delay-us", required_argument, NULL, OPT_DELAY_US },
	{ "chunk-bytes", required_argument, NULL, OPT_CHUNK_BYTES },
	{ "think", required_argument, NULL, OPT_THINK },
	{ "tool-call", required_argument, NULL, OPT_TOOL_CALL },
	{ "tool-call-always", no_argument, NULL, OPT_TOOL_CALL_ALWAYS },
	{ "fault", required_argument, NULL, OPT_FAULT },
	{ "fault-path", required_argument, NULL, OPT_FAULT_PATH },
	{ "fault-model", required_argument, NULL, OPT_FAULT_MODEL },
	{ "fault-request", required_argument, NULL, OPT_FAULT_REQUEST },
	{ "fault-after", required_argument, NULL, OPT_FAULT_AFTER },
	{ "fault-delay-ms", required_argument, NULL, OPT_FAULT_DELAY_MS },
	{ "record", required_argument, NULL, OPT_RECORD },
	{ "ollama-version", required_argument, NULL, OPT_OLLAMA_VERSION },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "capabilities", required_argument, NULL, OPT_CAPABILITIES },
	{ "model-caps", required_argument, NULL, OPT_MODEL_CAPS },
	{ "cloud", required_argument, NULL, OPT_CLOUD },
	{ "load-ms", required_argument, NULL, OPT_LOAD_MS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static const char *const fault_names[] = {
	[FO_FAULT_NONE] = "none",
	[FO_FAULT_UNKNOWN_MODEL] = "unknown-model",
	[FO_FAULT_HTTP_500] = "http-500",
	[FO_FAULT_ERROR_MIDSTREAM] = "error-midstream",
	[FO_FAULT_HANG] = "hang",
	[FO_FAULT_CLOSE_MIDSTREAM] = "close-midstream",
	[FO_FAULT_SLOW_HEADERS] = "slow-headers",
	[FO_FAULT_BAD_LINE] = "bad-line",
	[FO_FAULT_NO_DONE] = "no-done",
	[FO_FAULT_BUSY] = "busy",
	[FO_FAULT_LOAD_FAIL] = "load-fail",
	[FO_FAULT_FORBIDDEN] = "forbidden",
};

const char *fo_fault_name(enum fo_fault fault)
{
	return fault_names[fault];
}

long fo_version_num(const char *v)
{
	long a = 0, b = 0, c = 0;

	if (v[0] == 'v')
		v++;
	if (sscanf(v, "%ld.%ld.%ld", &a, &b, &c) < 2 || a < 0 || b < 0 || c < 0 || b > 999 ||
		c > 999)
		return 0;
	return a * 1000000 + b * 1000 + c;
}

char *fo_model_canonical_new(const char *name)
{
	if (strchr(name, ':') != NULL)
		return xstrdup(name);
	return xasprintf("%s:latest", name);
}

/* A number in [min, max]; -1 with a message otherwise. */
static int parse_long(
	const char *opt, const char *s, long min, long max, long *out, char *err, size_t errlen)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		snprintf(err, errlen, "--%s: '%s' is not a number from %ld to %ld", opt, s, min,
			max);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_listen(struct fo_config *cfg, const char *s, char *err, size_t errlen)
{
	const char *colon = strrchr(s, ':');
	size_t hostlen;
	long port;

	if (colon == NULL) {
		snprintf(err, errlen, "--listen: '%s' is not HOST:PORT", s);
		return -1;
	}
	if (parse_long("listen", colon + 1, 0, 65535, &port, err, errlen) < 0)
		return -1;
	hostlen = (size_t)(colon - s);
	if (hostlen >= 2 && s[0] == '[' && s[hostlen - 1] == ']') {
		s++;
		hostlen -= 2;
	}
	free(cfg->host);
	cfg->host = hostlen == 0 ? xstrdup("127.0.0.1") : xstrndup(s, hostlen);
	cfg->port = (int)port;
	return 0;
}

/* A deterministic, realistic-looking sha256 hex digest for a name and
 * size: a model given another size stands for a model pulled anew. */
static void fake_digest(const char *name, long long size, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t h = 1469598103934665603ULL;
	int i;

	for (const char *p = name; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ (uint64_t)size) * 1099511628211ULL;
	for (i = 0; i < 64; i++) {
		h = h * 6364136223846793005ULL + 1442695040888963407ULL;
		out[i] = hex[(h >> 59) & 0xf];
	}
	out[64] = '\0';
}

static void models_free(struct fo_config *cfg)
{
	for (size_t i = 0; i < cfg->nmodels; i++) {
		free(cfg->models[i].name);
		free(cfg->models[i].caps);
	}
	free(cfg->models);
	cfg->models = NULL;
	cfg->nmodels = 0;
}

static int add_model(struct fo_config *cfg, const char *item, char *err, size_t errlen)
{
	const char *eq = strchr(item, '=');
	struct fo_model *m;
	char *name;
	long long size = 1000000000LL;

	if (eq != NULL) {
		char *end;

		errno = 0;
		size = strtoll(eq + 1, &end, 10);
		if (errno != 0 || end == eq + 1 || *end != '\0' || size < 0) {
			snprintf(err, errlen, "--models: bad size in '%s'", item);
			return -1;
		}
	}
	name = eq != NULL ? xstrndup(item, (size_t)(eq - item)) : xstrdup(item);
	if (name[0] == '\0' || name[0] == ':') {
		snprintf(err, errlen, "--models: empty model name in '%s'", item);
		free(name);
		return -1;
	}
	cfg->models = xrealloc(cfg->models, (cfg->nmodels + 1) * sizeof(*m));
	m = &cfg->models[cfg->nmodels++];
	memset(m, 0, sizeof(*m));
	m->name = fo_model_canonical_new(name);
	m->size = size;
	fake_digest(m->name, m->size, m->digest);
	free(name);
	return 0;
}

static int parse_models(struct fo_config *cfg, const char *list, char *err, size_t errlen)
{
	char *copy = xstrdup(list), *save = NULL, *item;
	int rc = 0;

	models_free(cfg);
	for (item = strtok_r(copy, ",", &save); item != NULL && rc == 0;
		item = strtok_r(NULL, ",", &save))
		rc = add_model(cfg, item, err, errlen);
	free(copy);
	return rc;
}

static int add_tool_call(struct fo_config *cfg, const char *s, char *err, size_t errlen)
{
	const char *colon = strchr(s, ':');
	json_object *args, *fn, *call;
	enum json_tokener_error jerr;

	if (colon == NULL || colon == s) {
		snprintf(err, errlen, "--tool-call: '%s' is not NAME:JSONARGS", s);
		return -1;
	}
	args = json_tokener_parse_verbose(colon + 1, &jerr);
	if (args == NULL || !json_object_is_type(args, json_type_object)) {
		snprintf(err, errlen,
			"--tool-call: arguments of '%s' are not a "
			"JSON object",
			s);
		json_object_put(args);
		return -1;
	}
	fn = json_object_new_object();
	json_object_object_add(fn, "name", json_object_new_string_len(s, (int)(colon - s)));
	json_object_object_add(fn, "arguments", args);
	call = json_object_new_object();
	json_object_object_add(call, "function", fn);
	if (cfg->tool_calls == NULL)
		cfg->tool_calls = json_object_new_array();
	json_object_array_add(cfg->tool_calls, call);
	return 0;
}

static int parse_fault(struct fo_config *cfg, const char *s, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(fault_names) / sizeof(fault_names[0]); i++) {
		if (strcmp(s, fault_names[i]) == 0) {
			cfg->fault = (enum fo_fault)i;
			return 0;
		}
	}
	snprintf(err, errlen, "--fault: unknown fault '%s' (see --help)", s);
	return -1;
}

static void replace_str(char **dst, const char *s)
{
	free(*dst);
	*dst = xstrdup(s);
}

static int apply_option(struct fo_config *cfg, int opt, const char *arg, char *err, size_t errlen)
{
	long v;

	switch (opt) {
	case OPT_LISTEN:
		return parse_listen(cfg, arg, err, errlen);
	case OPT_MODELS:
		return parse_models(cfg, arg, err, errlen);
	case OPT_REPLY:
		replace_str(&cfg->reply, arg);
		return 0;
	case OPT_ECHO:
		cfg->echo = true;
		return 0;
	case OPT_TOKENS:
		return parse_long("tokens", arg, 0, FO_TOKENS_MAX, &cfg->tokens, err, errlen);
	case OPT_DELAY_MS:
		if (parse_long("delay-ms", arg, 0, FO_DELAY_MS_MAX, &v, err, errlen) < 0)
			return -1;
		cfg->delay_ns = (long long)v * 1000000LL;
		return 0;
	case OPT_DELAY_US:
		if (parse_long("delay-us", arg, 0, FO_DELAY_MS_MAX * 1000L, &v, err, errlen) < 0)
			return -1;
		cfg->delay_ns = (long long)v * 1000LL;
		return 0;
	case OPT_CHUNK_BYTES:
		return parse_long(
			"chunk-bytes", arg, 0, FO_BODY_MAX, &cfg->chunk_bytes, err, errlen);
	case OPT_THINK:
		replace_str(&cfg->think, arg);
		return 0;
	case OPT_TOOL_CALL:
		return add_tool_call(cfg, arg, err, errlen);
	case OPT_TOOL_CALL_ALWAYS:
		cfg->tool_call_always = true;
		return 0;
	case OPT_CAPABILITIES:
		replace_str(&cfg->capabilities, arg);
		return 0;
	case OPT_MODEL_CAPS:
		if (strchr(arg, '=') == NULL || arg[0] == '=') {
			snprintf(err, errlen, "--model-caps: '%s' is not NAME=LIST", arg);
			return -1;
		}
		cfg->model_caps =
			xrealloc(cfg->model_caps, (cfg->n_model_caps + 1) * sizeof(char *));
		cfg->model_caps[cfg->n_model_caps++] = xstrdup(arg);
		return 0;
	case OPT_CLOUD:
		cfg->cloud = xrealloc(cfg->cloud, (cfg->n_cloud + 1) * sizeof(char *));
		cfg->cloud[cfg->n_cloud++] = xstrdup(arg);
		return 0;
	case OPT_LOAD_MS:
		return parse_long("load-ms", arg, 0, 3600000, &cfg->load_ms, err, errlen);
	case OPT_FAULT:
		return parse_fault(cfg, arg, err, errlen);
	case OPT_FAULT_PATH:
		if (arg[0] != '/') {
			snprintf(err, errlen,
				"--fault-path: '%s' does not start "
				"with /",
				arg);
			return -1;
		}
		replace_str(&cfg->fault_path, arg);
		return 0;
	case OPT_FAULT_MODEL:
		free(cfg->fault_model);
		cfg->fault_model = fo_model_canonical_new(arg);
		return 0;
	case OPT_FAULT_REQUEST:
		return parse_long(
			"fault-request", arg, 1, 1000000000L, &cfg->fault_request, err, errlen);
	case OPT_FAULT_AFTER:
		return parse_long(
			"fault-after", arg, 0, FO_TOKENS_MAX, &cfg->fault_after, err, errlen);
	case OPT_FAULT_DELAY_MS:
		return parse_long(
			"fault-delay-ms", arg, 0, 3600000, &cfg->fault_delay_ms, err, errlen);
	case OPT_RECORD:
		replace_str(&cfg->record_path, arg);
		return 0;
	case OPT_OLLAMA_VERSION:
		replace_str(&cfg->version, arg);
		return 0;
	case OPT_VERBOSE:
		cfg->verbose = true;
		return 0;
	default:
		snprintf(err, errlen, "unknown option (try --help)");
		return -1;
	}
}

static struct fo_model *model_named(struct fo_config *cfg, const char *name, size_t len)
{
	char *raw = xstrndup(name, len), *canon = fo_model_canonical_new(raw);
	struct fo_model *found = NULL;

	for (size_t i = 0; i < cfg->nmodels && found == NULL; i++)
		if (strcmp(cfg->models[i].name, canon) == 0)
			found = &cfg->models[i];
	free(raw);
	free(canon);
	return found;
}

/* --model-caps and --cloud, once --models is known. */
static int apply_per_model(struct fo_config *cfg, char *err, size_t errlen)
{
	struct fo_model *m;

	for (size_t i = 0; i < cfg->n_model_caps; i++) {
		const char *eq = strchr(cfg->model_caps[i], '=');

		m = model_named(cfg, cfg->model_caps[i], (size_t)(eq - cfg->model_caps[i]));
		if (m == NULL) {
			snprintf(err, errlen, "--model-caps: '%s' names no model of --models",
				cfg->model_caps[i]);
			return -1;
		}
		replace_str(&m->caps, eq + 1);
	}
	for (size_t i = 0; i < cfg->n_cloud; i++) {
		if ((m = model_named(cfg, cfg->cloud[i], strlen(cfg->cloud[i]))) == NULL) {
			snprintf(err, errlen, "--cloud: '%s' names no model of --models",
				cfg->cloud[i]);
			return -1;
		}
		m->remote = true;
	}
	return 0;
}

int fo_options_parse(struct fo_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	int opt;

	memset(cfg, 0, sizeof(*cfg));
	cfg->host = xstrdup("127.0.0.1");
	cfg->port = 11434;
	cfg->fault_after = FO_FAULT_AFTER_DEFAULT;
	cfg->fault_delay_ms = 1000;
	if (parse_models(cfg, DEFAULT_MODELS, err, errlen) < 0)
		return -1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		if (opt == OPT_HELP) {
			fputs(usage_text, stdout);
			return 1;
		}
		if (opt == '?') {
			snprintf(err, errlen, "bad option (try --help)");
			return -1;
		}
		if (apply_option(cfg, opt, optarg, err, errlen) < 0)
			return -1;
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s' (try --help)", argv[optind]);
		return -1;
	}
	if (cfg->reply != NULL && cfg->echo) {
		snprintf(err, errlen, "--reply and --echo exclude each other");
		return -1;
	}
	if (cfg->fault_path == NULL)
		cfg->fault_path = xstrdup("/api/chat");
	if (strcmp(cfg->fault_path, "/api/chat") != 0 && cfg->fault != FO_FAULT_NONE &&
		cfg->fault != FO_FAULT_HTTP_500 && cfg->fault != FO_FAULT_HANG &&
		cfg->fault != FO_FAULT_SLOW_HEADERS && cfg->fault != FO_FAULT_FORBIDDEN) {
		snprintf(err, errlen, "--fault %s applies only to /api/chat",
			fo_fault_name(cfg->fault));
		return -1;
	}
	if (cfg->reply == NULL)
		cfg->reply = xstrdup(DEFAULT_REPLY);
	if (cfg->version == NULL)
		cfg->version = xstrdup(DEFAULT_VERSION);
	if ((cfg->version_num = fo_version_num(cfg->version)) == 0) {
		snprintf(err, errlen, "--ollama-version: '%s' is not a version like 0.12.3",
			cfg->version);
		return -1;
	}
	return apply_per_model(cfg, err, errlen);
}

void fo_config_free(struct fo_config *cfg)
{
	models_free(cfg);
	free(cfg->host);
	free(cfg->reply);
	free(cfg->think);
	free(cfg->capabilities);
	json_object_put(cfg->tool_calls);
	free(cfg->fault_model);
	free(cfg->fault_path);
	free(cfg->record_path);
	free(cfg->version);
	for (size_t i = 0; i < cfg->n_model_caps; i++)
		free(cfg->model_caps[i]);
	free(cfg->model_caps);
	for (size_t i = 0; i < cfg->n_cloud; i++)
		free(cfg->cloud[i]);
	free(cfg->cloud);
	memset(cfg, 0, sizeof(*cfg));
}
