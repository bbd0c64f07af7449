/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * config.c - the table-driven configuration loader (see config.h).
 *
 * inih 55 on Debian is built without INI_HANDLER_LINENO, so its handler
 * does not learn line numbers and ini_parse() reports only the first bad
 * line.  We feed it through ini_parse_stream() with our own reader: the
 * reader counts lines (inih calls it once per line and runs the handler
 * before reading on), and it checks each line's syntax itself, so every bad
 * line and every bad value gets its FILE:LINE.  Lines the reader refuses
 * reach inih as empty lines.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "log.h"
#include "validate.h"
#include "xmalloc.h"

struct loader {
	const struct ic_config_schema *schema;
	void *cfg;
	char *errors; /* newline-separated, or NULL */
	size_t errors_len;
	unsigned n_errors;
	/* the file being read */
	const char *path;
	FILE *f;
	int lineno;
	char *line; /* getline() buffer */
	size_t line_cap;
};

/* --- errors --- */

static void add_error(struct loader *ld, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void append_error(struct loader *ld, const char *text)
{
	size_t n = strlen(text);
	size_t sep = ld->errors_len ? 1 : 0;

	ld->errors = xrealloc(ld->errors, ld->errors_len + sep + n + 1);
	if (sep)
		ld->errors[ld->errors_len++] = '\n';
	memcpy(ld->errors + ld->errors_len, text, n + 1);
	ld->errors_len += n;
}

static void add_error(struct loader *ld, const char *fmt, ...)
{
	char buf[IC_CONFIG_ERROR_MAX];
	va_list ap;

	ld->n_errors++;
	if (ld->n_errors > IC_CONFIG_ERRORS_MAX) {
		if (ld->n_errors == IC_CONFIG_ERRORS_MAX + 1)
			append_error(ld, "too many errors; the rest are not shown");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	append_error(ld, buf);
}

/* --- one value of each type --- */

static void *field(void *cfg, const struct ic_config_key *k)
{
	return (char *)cfg + k->offset;
}

static bool is_string_type(enum ic_config_type t)
{
	return t == IC_CONFIG_STRING || t == IC_CONFIG_URL || t == IC_CONFIG_OLLAMA_HOST;
}

static int parse_int(
	const struct ic_config_key *k, const char *v, int *out, char *why, size_t whylen)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno == ERANGE || n < k->min || n > k->max) {
		snprintf(
			why, whylen, "\"%s\" is not an integer from %ld to %ld", v, k->min, k->max);
		return -1;
	}
	*out = (int)n;
	return 0;
}

static int parse_bool(const char *v, bool *out, char *why, size_t whylen)
{
	static const char *const yes[] = { "yes", "true", "on", "1", NULL };
	static const char *const no[] = { "no", "false", "off", "0", NULL };
	size_t i;

	for (i = 0; yes[i] != NULL; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	snprintf(why, whylen, "\"%s\" is not a boolean (yes/no, true/false, on/off, 1/0)", v);
	return -1;
}

static int check_url(enum ic_config_type t, const char *v, char *why, size_t whylen)
{
	struct ic_url u;
	char err[IC_CONFIG_ERROR_MAX / 2];
	int rc;

	memset(&u, 0, sizeof(u));
	err[0] = '\0';
	if (t == IC_CONFIG_URL)
		rc = ic_url_parse(v, &u, err, sizeof(err));
	else
		rc = ic_ollama_host_parse(v, &u, err, sizeof(err));
	ic_url_clear(&u);
	/* A reason cut short at whylen is still a reason: ignore truncation. */
	if (rc < 0 &&
		snprintf(why, whylen, "\"%s\": %s", v, err[0] ? err : "not a valid URL") >=
			(int)whylen)
		why[whylen - 1] = '\0';
	return rc;
}

/*
 * Store text v into key k of cfg.  An empty value of a string type means
 * unset (NULL).  0 ok; -1 with the reason in why.
 */
static int set_value(
	void *cfg, const struct ic_config_key *k, const char *v, char *why, size_t whylen)
{
	int n;
	bool b;

	switch (k->type) {
	case IC_CONFIG_STRING:
	case IC_CONFIG_URL:
	case IC_CONFIG_OLLAMA_HOST:
		if (*v != '\0' && k->type != IC_CONFIG_STRING &&
			check_url(k->type, v, why, whylen) < 0)
			return -1;
		free(*(char **)field(cfg, k));
		*(char **)field(cfg, k) = *v != '\0' ? xstrdup(v) : NULL;
		return 0;
	case IC_CONFIG_INT:
		if (parse_int(k, v, &n, why, whylen) < 0)
			return -1;
		*(int *)field(cfg, k) = n;
		return 0;
	case IC_CONFIG_BOOL:
		if (parse_bool(v, &b, why, whylen) < 0)
			return -1;
		*(bool *)field(cfg, k) = b;
		return 0;
	case IC_CONFIG_LOGLEVEL:
		n = ic_log_level_parse(v);
		if (n < 0) {
			snprintf(why, whylen,
				"\"%s\" is not a log level "
				"(err, warning, notice, info, debug)",
				v);
			return -1;
		}
		*(int *)field(cfg, k) = n;
		return 0;
	}
	snprintf(why, whylen, "unknown key type");
	return -1;
}

static const struct ic_config_key *find_key(
	const struct ic_config_schema *s, const char *section, const char *key)
{
	size_t i;

	for (i = 0; i < s->n_keys; i++)
		if (strcasecmp(s->keys[i].section, section) == 0 &&
			strcasecmp(s->keys[i].key, key) == 0)
			return &s->keys[i];
	return NULL;
}

static bool section_known(const struct ic_config_schema *s, const char *section)
{
	size_t i;

	for (i = 0; i < s->n_keys; i++)
		if (strcasecmp(s->keys[i].section, section) == 0)
			return true;
	return false;
}

/* Set a value from source "where"; errors read "WHERE: section.key: why". */
static void apply(
	struct loader *ld, const struct ic_config_key *k, const char *v, const char *where)
{
	char why[IC_CONFIG_ERROR_MAX / 2];

	if (set_value(ld->cfg, k, v, why, sizeof(why)) < 0)
		add_error(ld, "%s: %s.%s: %s", where, k->section, k->key, why);
}

/* --- files --- */

/*
 * One /etc/idleclaw.conf serves every IdleClaw program: a section that
 * belongs to another of them is not a mistake worth a warning.
 */
static const char *const shared_sections[] = { "daemon", "gateway", "router", "trust", "tools",
	"cluster", "idle", "ctl", NULL };

static bool section_shared(const char *section)
{
	for (size_t i = 0; shared_sections[i]; i++)
		if (strcasecmp(section, shared_sections[i]) == 0)
			return true;
	return false;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct loader *ld = user;
	const struct ic_config_key *k = find_key(ld->schema, section, name);
	char where[IC_CONFIG_ERROR_MAX / 2];

	snprintf(where, sizeof(where), "%s:%d", ld->path, ld->lineno);
	if (k != NULL) {
		apply(ld, k, value, where);
		return 1;
	}
	if (*section == '\0')
		log_warn("%s: key \"%s\" outside any section (ignored)", where, name);
	else if (!section_known(ld->schema, section) && section_shared(section))
		log_debug("%s: [%s] is for another IdleClaw program (skipped)", where, section);
	else if (!section_known(ld->schema, section))
		log_warn("%s: unknown section [%s] (key \"%s\" ignored)", where, section, name);
	else
		log_warn("%s: unknown key \"%s\" in section [%s] (ignored)", where, name, section);
	return 1;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Syntax of one line as inih will see it; NULL if fine, else the reason. */
static const char *line_syntax(const char *raw)
{
	char copy[IC_CONFIG_LINE_MAX + 1];
	char *t;

	if (isspace((unsigned char)raw[0]) && strpbrk(raw, "=:") == NULL) {
		/* inih would glue it to the previous key (the reader hands on
		 * indented section headers and keys unindented) */
		t = trim(strcpy(copy, raw));
		if (*t != '\0' && *t != ';' && *t != '#' && *t != '[')
			return "continuation lines are not supported";
	}
	t = trim(strcpy(copy, raw));
	if (*t == '\0' || *t == ';' || *t == '#')
		return NULL;
	if (*t == '[')
		return strchr(t, ']') != NULL ? NULL : "section header without \"]\"";
	if (*t == '=' || *t == ':')
		return "missing key name before \"=\"";
	if (strpbrk(t, "=:") == NULL)
		return "expected \"key = value\"";
	return NULL;
}

/*
 * inih's reader: one physical line each call, counted.  A line too long for
 * inih's buffer or with bad syntax is reported here and handed on empty.
 */
static char *reader(char *str, int num, void *stream)
{
	struct loader *ld = stream;
	ssize_t n = getline(&ld->line, &ld->line_cap, ld->f);
	const char *why = NULL;
	size_t len, skip = 0;

	if (n < 0)
		return NULL;
	ld->lineno++;
	len = (size_t)n;
	/* a byte-order mark: drop it here so that the syntax check sees the text */
	if (ld->lineno == 1 && len >= 3 && memcmp(ld->line, "\xEF\xBB\xBF", 3) == 0) {
		memmove(ld->line, ld->line + 3, len - 2);
		len -= 3;
	}
	while (len > 0 && (ld->line[len - 1] == '\n' || ld->line[len - 1] == '\r'))
		ld->line[--len] = '\0';
	if (strlen(ld->line) != len)
		why = "contains a NUL byte";
	else if (len > IC_CONFIG_LINE_MAX || len + 3 > (size_t)num)
		why = "line too long";
	else
		why = line_syntax(ld->line);
	if (why != NULL) {
		add_error(ld, "%s:%d: %s", ld->path, ld->lineno, why);
		len = 0;
	}
	/* inih would take an indented "key = value" line for a continuation of
	 * the previous key's value: hand it on unindented */
	while (skip < len && isspace((unsigned char)ld->line[skip]))
		skip++;
	memcpy(str, ld->line + skip, len - skip);
	len -= skip;
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

/* 0 read (or absent and optional), -1 unreadable (error recorded). */
static int load_file(struct loader *ld, const char *path, bool must_exist)
{
	int rc;

	ld->f = fopen(path, "re");
	if (ld->f == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		add_error(ld, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	ld->path = path;
	ld->lineno = 0;
	rc = ini_parse_stream(reader, ld, handler, ld);
	if (ferror(ld->f)) {
		add_error(ld, "%s: read error: %s", path, strerror(errno));
		rc = -1;
	} else if (rc > 0) {
		/* inih found a problem our reader did not: report it too */
		add_error(ld, "%s:%d: syntax error", path, rc);
	} else if (rc < 0) {
		add_error(ld, "%s: cannot parse", path);
	}
	fclose(ld->f);
	ld->f = NULL;
	ld->path = NULL;
	return rc == 0 ? 0 : -1;
}

static bool is_dropin_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".conf") == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* PATH.d/ *.conf in lexical (byte) order; a missing directory is fine. */
static void load_dropins(struct loader *ld, const char *main_path)
{
	char *dir = xasprintf("%s.d", main_path);
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0, i;

	if (d == NULL) {
		if (errno != ENOENT && errno != ENOTDIR)
			add_error(ld, "%s: cannot open directory: %s", dir, strerror(errno));
		free(dir);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (!is_dropin_name(e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xasprintf("%s/%s", dir, e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		load_file(ld, names[i], true);
		free(names[i]);
	}
	free(names);
	free(dir);
}

/* --- environment and overrides --- */

static void load_env(struct loader *ld)
{
	char where[IC_CONFIG_ERROR_MAX / 2];
	size_t i;

	for (i = 0; i < ld->schema->n_keys; i++) {
		const struct ic_config_key *k = &ld->schema->keys[i];
		const char *v = k->env != NULL ? getenv(k->env) : NULL;

		if (v == NULL || *v == '\0')
			continue;
		snprintf(where, sizeof(where), "environment %s", k->env);
		apply(ld, k, v, where);
	}
}

static void load_override(struct loader *ld, const char *o)
{
	char where[IC_CONFIG_ERROR_MAX / 2];
	const char *eq = strchr(o, '=');
	const char *dot = memchr(o, '.', eq != NULL ? (size_t)(eq - o) : 0);
	const struct ic_config_key *k;
	char *section, *key;

	snprintf(where, sizeof(where), "override \"%s\"", o);
	if (eq == NULL || dot == NULL || dot == o || dot + 1 == eq) {
		add_error(ld, "%s: expected section.key=value", where);
		return;
	}
	section = xstrndup(o, (size_t)(dot - o));
	key = xstrndup(dot + 1, (size_t)(eq - dot - 1));
	k = find_key(ld->schema, section, key);
	if (k == NULL)
		add_error(ld, "%s: unknown key %s.%s", where, section, key);
	else
		apply(ld, k, eq + 1, where);
	free(section);
	free(key);
}

/*
 * A default is a typed value; it is still checked like any other value, so
 * a table whose default lies outside its own bounds fails every load.
 */
static void apply_default(struct loader *ld, const struct ic_config_key *k)
{
	const char *where = "built-in default";

	switch (k->type) {
	case IC_CONFIG_STRING:
	case IC_CONFIG_URL:
	case IC_CONFIG_OLLAMA_HOST:
		if (k->def_str != NULL)
			apply(ld, k, k->def_str, where);
		return;
	case IC_CONFIG_INT:
		if (k->def_int < k->min || k->def_int > k->max)
			add_error(ld, "%s: %s.%s: %ld is not an integer from %ld to %ld", where,
				k->section, k->key, k->def_int, k->min, k->max);
		else
			*(int *)field(ld->cfg, k) = (int)k->def_int;
		return;
	case IC_CONFIG_BOOL:
		*(bool *)field(ld->cfg, k) = k->def_bool;
		return;
	case IC_CONFIG_LOGLEVEL:
		if (k->def_int < IC_LOG_ERR || k->def_int > IC_LOG_DEBUG)
			add_error(ld, "%s: %s.%s: %ld is not a log level", where, k->section,
				k->key, k->def_int);
		else
			*(int *)field(ld->cfg, k) = (int)k->def_int;
		return;
	}
}

static void load_defaults(struct loader *ld)
{
	size_t i;

	for (i = 0; i < ld->schema->n_keys; i++)
		apply_default(ld, &ld->schema->keys[i]);
}

void *ic_config_load_new(const struct ic_config_schema *schema, const char *main_path,
	const char *const *overrides, char **errors)
{
	struct loader ld;
	size_t i;

	memset(&ld, 0, sizeof(ld));
	ld.schema = schema;
	ld.cfg = xcalloc(1, schema->struct_size);
	if (errors != NULL)
		*errors = NULL;
	load_defaults(&ld);
	if (main_path != NULL) {
		load_file(&ld, main_path, false);
		load_dropins(&ld, main_path);
	}
	load_env(&ld);
	for (i = 0; overrides != NULL && overrides[i] != NULL; i++)
		load_override(&ld, overrides[i]);
	free(ld.line);
	if (ld.n_errors == 0 && (!schema->check || schema->check(ld.cfg, &ld.errors) == 0))
		return ld.cfg;
	ic_config_free(schema, ld.cfg);
	if (errors != NULL)
		*errors = ld.errors;
	else
		free(ld.errors);
	return NULL;
}

void ic_config_free(const struct ic_config_schema *schema, void *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < schema->n_keys; i++)
		if (is_string_type(schema->keys[i].type))
			free(*(char **)field(cfg, &schema->keys[i]));
	free(cfg);
}

/* --- --check-config --- */

const char *ic_config_value_text(
	const struct ic_config_key *k, const void *cfg, char *buf, size_t len)
{
	const void *p = (const char *)cfg + k->offset;
	const char *s;

	switch (k->type) {
	case IC_CONFIG_STRING:
	case IC_CONFIG_URL:
	case IC_CONFIG_OLLAMA_HOST:
		s = *(char *const *)p;
		return s != NULL ? s : "";
	case IC_CONFIG_INT:
		snprintf(buf, len, "%d", *(const int *)p);
		return buf;
	case IC_CONFIG_BOOL:
		return *(const bool *)p ? "yes" : "no";
	case IC_CONFIG_LOGLEVEL:
		return ic_log_level_name((enum ic_log_level) * (const int *)p);
	}
	return "";
}

bool ic_config_key_equal(const struct ic_config_key *k, const void *a, const void *b)
{
	char abuf[32], bbuf[32];

	return strcmp(ic_config_value_text(k, a, abuf, sizeof(abuf)),
		       ic_config_value_text(k, b, bbuf, sizeof(bbuf))) == 0;
}

/*
 * inih reads " ;" as the start of a comment, so a value starting with ";"
 * must follow the "=" directly to load back as printed.
 */
static bool starts_comment(const struct ic_config_key *k, const void *cfg)
{
	const char *s;

	if (!is_string_type(k->type))
		return false;
	s = *(char *const *)((const char *)cfg + k->offset);
	return s != NULL && s[0] == ';';
}

static bool section_printed_before(const struct ic_config_schema *s, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (strcasecmp(s->keys[j].section, s->keys[i].section) == 0)
			return true;
	return false;
}

void ic_config_print(const struct ic_config_schema *schema, const void *cfg, FILE *out)
{
	char buf[32];
	size_t i, j;

	for (i = 0; i < schema->n_keys; i++) {
		const char *section = schema->keys[i].section;

		if (section_printed_before(schema, i))
			continue;
		fprintf(out, "%s[%s]\n", i ? "\n" : "", section);
		/* all keys of this section, in table order */
		for (j = i; j < schema->n_keys; j++) {
			const struct ic_config_key *k = &schema->keys[j];

			if (strcasecmp(k->section, section) != 0)
				continue;
			if (k->help != NULL)
				fprintf(out, "# %s\n", k->help);
			if (k->env != NULL)
				fprintf(out, "# environment: %s\n", k->env);
			fprintf(out, "%s =%s%s\n", k->key, starts_comment(k, cfg) ? "" : " ",
				ic_config_value_text(k, cfg, buf, sizeof(buf)));
		}
	}
}
