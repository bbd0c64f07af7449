/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * xmalloc.h - allocation that never returns NULL.
 *
 * Out of memory is not an error we can handle usefully in a daemon: these
 * print one line and abort.  Everything else returns errors to its caller.
 */
#ifndef IC_XMALLOC_H
#define IC_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
