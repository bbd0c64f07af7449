/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * static.c - the web chat's files (static.h; docs/web.md).
 *
 * A file is read whole, on the loop, when it is asked for: the page is a
 * dozen small files that the kernel keeps in its page cache, a warm
 * browser only revalidates them (one fstat() for a 304), and STATIC_FILE_MAX
 * bounds what one request can make the loop read.  No copy is kept here.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "router.h"
#include "static.h"

/* Sent with every file: no inline script or style, no framing, no
 * sniffing a type other than ours, no Referer to links the page holds. */
static const struct {
	const char *name;
	const char *value;
} page_headers[] = {
	{ "content-security-policy:",
		"default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'" },
	{ "x-content-type-options:", "nosniff" },
	{ "referrer-policy:", "no-referrer" },
	{ "cache-control:", "no-cache" },
};

static const struct {
	const char *ext;
	const char *type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".map", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".woff2", "font/woff2" },
};

static const char *type_of(const char *file)
{
	size_t n = strlen(file);

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t e = strlen(types[i].ext);

		if (n > e && strcmp(file + n - e, types[i].ext) == 0)
			return types[i].type;
	}
	return "application/octet-stream";
}

/* A request path we look up at all: "/" and segments of [A-Za-z0-9_.+-]
 * that do not start with a dot (no "..", no hidden files), no empty
 * segment but a trailing one (a directory's index.html). */
static bool path_ok(const char *path)
{
	const char *s;

	if (path[0] != '/' || strlen(path) > STATIC_PATH_MAX)
		return false;
	for (s = path + 1; *s;) {
		size_t n = strspn(
			s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-");

		if (n == 0 || s[0] == '.')
			return false;
		s += n;
		if (*s == '/')
			s++;
		else if (*s != '\0')
			return false;
	}
	return true;
}

/* real lies below one of STATIC_SHARED_DIRS (as they really are). */
static bool under_shared(const char *real)
{
	static const char *const dirs[] = STATIC_SHARED_DIRS;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char *d = realpath(dirs[i], NULL);
		size_t n = d ? strlen(d) : 0;
		bool in = d && strncmp(real, d, n) == 0 && real[n] == '/';

		free(d);
		if (in)
			return true;
	}
	return false;
}

char *static_resolve_new(const char *web_root, const char *path)
{
	char *root, *want, *real;
	size_t n = strlen(path);
	bool ok;

	if (!path_ok(path)) {
		errno = ENOENT;
		return NULL;
	}
	root = realpath(web_root, NULL);
	if (!root)
		return NULL;
	want = xasprintf("%s%s%s", root, path, path[n - 1] == '/' ? "index.html" : "");
	free(root);
	real = realpath(want, NULL);
	if (!real) {
		free(want);
		errno = ENOENT;
		return NULL;
	}
	/* the same text: no component below the root is a symlink */
	ok = strcmp(real, want) == 0 || under_shared(real);
	free(want);
	if (!ok) {
		free(real);
		errno = ENOENT;
		return NULL;
	}
	return real;
}

/* --- replies --- */

static int add_header(
	struct lws *wsi, const char *name, const char *value, unsigned char **p, unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
		(const unsigned char *)value, (int)strlen(value), p, end);
}

/* The headers of a 200 (type, len) or a 304 (type NULL), written now. */
static int write_head(struct lws *wsi, struct pss *pss, int status, const char *type, size_t len,
	const char *etag)
{
	unsigned char hbuf[LWS_PRE + 2048];
	unsigned char *start = hbuf + LWS_PRE, *p = start, *end = hbuf + sizeof(hbuf) - 1;

	if (lws_add_http_common_headers(wsi, (unsigned)status, type, (lws_filepos_t)len, &p, end))
		return -1;
	if (add_header(wsi, "etag:", etag, &p, end))
		return -1;
	for (size_t i = 0; i < sizeof(page_headers) / sizeof(page_headers[0]); i++)
		if (add_header(wsi, page_headers[i].name, page_headers[i].value, &p, end))
			return -1;
	if (pss->reply_close &&
		lws_add_http_header_by_token(
			wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close", 5, &p, end))
		return -1;
	return lws_finalize_write_http_header(wsi, start, &p, end) ? -1 : 0;
}

/* The callback's return after a complete reply. */
static int done(struct lws *wsi, struct pss *pss, int rc)
{
	if (rc < 0 || pss->reply_close)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* If-None-Match names etag (or is "*"). */
static bool etag_matches(struct lws *wsi, const char *etag)
{
	char buf[512], *save = NULL, *t;

	if (lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_IF_NONE_MATCH) <= 0)
		return false;
	for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t n;

		t += strspn(t, " \t");
		n = strcspn(t, " \t");
		t[n] = '\0';
		if (strncmp(t, "W/", 2) == 0)
			t += 2;
		if (strcmp(t, "*") == 0 || strcmp(t, etag) == 0)
			return true;
	}
	return false;
}

/* Read all of fd (size bytes) into a NEW buffer with LWS_PRE bytes first. */
static unsigned char *read_all_new(int fd, size_t size)
{
	unsigned char *buf = xmalloc(LWS_PRE + size + 1);
	size_t got = 0;

	while (got < size) {
		ssize_t n = read(fd, buf + LWS_PRE + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) { /* an error, or the file shrank while we read it */
			free(buf);
			return NULL;
		}
		got += (size_t)n;
	}
	return buf;
}

static int send_file(struct lws *wsi, struct pss *pss, int fd, const char *real,
	const struct stat *st, const char *etag)
{
	size_t size = (size_t)st->st_size;
	unsigned char *body;
	int rc;

	if (etag_matches(wsi, etag))
		return done(wsi, pss, write_head(wsi, pss, 304, NULL, 0, etag));
	if (pss->head)
		return done(wsi, pss, write_head(wsi, pss, 200, type_of(real), size, etag));
	body = read_all_new(fd, size);
	if (!body) {
		log_warn("web_root: %s: %s", real,
			errno ? strerror(errno) : "shorter than its size");
		return 1;
	}
	rc = write_head(wsi, pss, 200, type_of(real), size, etag);
	/* lws keeps what the socket does not take now and sends it later */
	if (rc == 0 && lws_write(wsi, body + LWS_PRE, size, LWS_WRITE_HTTP_FINAL) < (int)size)
		rc = -1;
	free(body);
	return done(wsi, pss, rc);
}

/* fd is open on a regular file of at most STATIC_FILE_MAX bytes (st). */
static bool servable(int fd, const char *real, struct stat *st)
{
	if (fd < 0 || fstat(fd, st) < 0 || !S_ISREG(st->st_mode))
		return false;
	if (st->st_size > STATIC_FILE_MAX) {
		log_warn("web_root: %s: larger than %d bytes; not served", real, STATIC_FILE_MAX);
		return false;
	}
	return true;
}

int static_serve(struct router *r, struct lws *wsi, struct pss *pss, const char *path)
{
	const char *root = r->cfg->web_root;
	char *real;
	char etag[64];
	struct stat st;
	int fd, rc;

	if (!root || !*root)
		return 1;
	real = static_resolve_new(root, path);
	if (!real)
		return 1;
	fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (!servable(fd, real, &st)) {
		if (fd >= 0)
			close(fd);
		free(real);
		return 1;
	}
	/* size and modification time: what changes when a package updates it */
	snprintf(etag, sizeof(etag), "\"%llx-%llx.%lx\"", (unsigned long long)st.st_size,
		(unsigned long long)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
	rc = send_file(wsi, pss, fd, real, &st, etag);
	close(fd);
	free(real);
	return rc;
}

void static_check_root(const char *web_root)
{
	struct stat st;
	char *index;

	errno = 0;
	if (!web_root || !*web_root)
		return;
	if (stat(web_root, &st) < 0 || !S_ISDIR(st.st_mode)) {
		log_warn("router.web_root %s: %s; the web chat is off (/ answers 404)", web_root,
			errno ? strerror(errno) : "not a directory");
		return;
	}
	index = xasprintf("%s/index.html", web_root);
	if (access(index, R_OK) < 0)
		log_warn("router.web_root %s: no readable index.html; / answers 404", web_root);
	free(index);
}
