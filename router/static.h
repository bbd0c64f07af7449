/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * static.h - the web chat's files, served from [router] web_root.
 *
 * GET and HEAD of "/" (index.html) and of any file below web_root, with
 * its type, an ETag (If-None-Match gives 304), Cache-Control: no-cache
 * (every load revalidates: a warm reload transfers only 304s) and the
 * page's security headers (CSP, nosniff, no referrer).  A file is served
 * only if its real path is inside web_root without passing a symlink, or
 * lies under /usr/share/javascript or /usr/share/nodejs (where Debian's
 * libjs-* and node-* packages put what the page links to).  Anything else
 * is not a file of web_root: the caller answers it like any unknown path.
 * docs/web.md has the rules and why.
 */
#ifndef IC_ROUTER_STATIC_H
#define IC_ROUTER_STATIC_H

#include <libwebsockets.h>

struct router;
struct pss;

/* Bytes of the largest file served (highlight.min.js is 0.8 MiB). */
#define STATIC_FILE_MAX (4 * 1024 * 1024)
/* Characters of a request path looked up. */
#define STATIC_PATH_MAX 256

/* The symlink targets a web root may hold (Debian's shared JavaScript). */
#define STATIC_SHARED_DIRS                                   \
	{                                                    \
		"/usr/share/javascript", "/usr/share/nodejs" \
	}

/*
 * Answer a GET (or HEAD: pss->head) of path from r->cfg->web_root.
 * Returns 1 if path names no file there (nothing written: the caller goes
 * on), else what the lws callback returns (0, or -1 to close).  Served
 * files are outside the rate_other budget: the caller calls this first.
 */
int static_serve(struct router *r, struct lws *wsi, struct pss *pss, const char *path);

/* At start: warn if web_root is set but is not a readable directory. */
void static_check_root(const char *web_root);

/*
 * The file of web_root that path names, as a NEW real path (free()), or
 * NULL (errno ENOENT for "no such file or not allowed", else the error).
 * Pure file-system logic, for the unit test.
 */
char *static_resolve_new(const char *web_root, const char *path);

#endif
