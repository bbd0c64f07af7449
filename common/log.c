/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *log_progname = "idleclaw";
static bool log_journal;
static enum ic_log_level log_level = IC_LOG_INFO;

static const char *const level_names[] = {
	[IC_LOG_ERR] = "err",
	[IC_LOG_WARNING] = "warning",
	[IC_LOG_NOTICE] = "notice",
	[IC_LOG_INFO] = "info",
	[IC_LOG_DEBUG] = "debug",
};

/*
 * systemd sets JOURNAL_STREAM to "dev:ino" of the stream it connected to our
 * stderr; if stderr is still that stream, journald reads our "<N>" prefixes.
 */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void ic_log_init(const char *progname)
{
	if (progname) {
		const char *slash = strrchr(progname, '/');
		log_progname = slash ? slash + 1 : progname;
	}
	log_journal = stderr_is_journal();
}

void ic_log_set_journal(bool journal)
{
	log_journal = journal;
}

void ic_log_set_level(enum ic_log_level level)
{
	log_level = level;
}

enum ic_log_level ic_log_get_level(void)
{
	return log_level;
}

int ic_log_level_parse(const char *name)
{
	if (!name)
		return -1;
	if (name[0] >= '3' && name[0] <= '7' && name[1] == '\0')
		return name[0] - '0';
	for (int i = IC_LOG_ERR; i <= IC_LOG_DEBUG; i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return i;
	if (strcasecmp(name, "error") == 0)
		return IC_LOG_ERR;
	if (strcasecmp(name, "warn") == 0)
		return IC_LOG_WARNING;
	return -1;
}

const char *ic_log_level_name(enum ic_log_level level)
{
	if (level < IC_LOG_ERR || level > IC_LOG_DEBUG)
		return "unknown";
	return level_names[level];
}

void ic_log(enum ic_log_level level, const char *fmt, ...)
{
	char line[2048];
	size_t n = 0;
	va_list ap;
	int r;

	if (level > log_level)
		return;
	if (log_journal)
		r = snprintf(line, sizeof(line), "<%d>", (int)level);
	else if (level <= IC_LOG_WARNING)
		r = snprintf(line, sizeof(line), "%s: %s: ", log_progname,
			level == IC_LOG_ERR ? "error" : "warning");
	else
		r = snprintf(line, sizeof(line), "%s: ", log_progname);
	if (r > 0)
		n = (size_t)r < sizeof(line) ? (size_t)r : sizeof(line) - 1;

	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;

	/* Keep one entry one line: journald would split at newlines. */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* stderr gone: nowhere left to report it */
	}
}
