/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * log.h - logging to stderr, journald-aware.
 *
 * Under systemd (JOURNAL_STREAM names our stderr) every line starts with a
 * "<N>" syslog priority that journald turns into the entry's PRIORITY; on a
 * terminal or in a test the line is plain: "prog: warning: text".
 * One write(2) per line, so lines from two threads never interleave.
 *
 * Privacy: never pass chat content to these functions unless the caller
 * checked the explicit log_content option.
 */
#ifndef IC_LOG_H
#define IC_LOG_H

#include <stdbool.h>

enum ic_log_level {
	IC_LOG_ERR = 3,
	IC_LOG_WARNING = 4,
	IC_LOG_NOTICE = 5,
	IC_LOG_INFO = 6,
	IC_LOG_DEBUG = 7,
};

/* Call once from main(); decides between journal and plain format. */
void ic_log_init(const char *progname);
/* Force the format (tests); normally ic_log_init() decides. */
void ic_log_set_journal(bool journal);
void ic_log_set_level(enum ic_log_level level);
enum ic_log_level ic_log_get_level(void);
/* "err", "warning", "notice", "info", "debug" (or 3..7) -> level; -1 if bad. */
int ic_log_level_parse(const char *name);
const char *ic_log_level_name(enum ic_log_level level);

void ic_log(enum ic_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) ic_log(IC_LOG_ERR, __VA_ARGS__)
#define log_warn(...) ic_log(IC_LOG_WARNING, __VA_ARGS__)
#define log_notice(...) ic_log(IC_LOG_NOTICE, __VA_ARGS__)
#define log_info(...) ic_log(IC_LOG_INFO, __VA_ARGS__)
#define log_debug(...) ic_log(IC_LOG_DEBUG, __VA_ARGS__)

#endif
