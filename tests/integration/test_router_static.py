#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""idleclaw-routerd serving the web chat's files from [router] web_root
(router/static.c, docs/web.md): types, ETag and 304, the security headers,
no way out of web_root but Debian's shared JavaScript, STATIC_FILE_MAX at
N and N+1, web_root off or missing, and files outside rate_other."""
import os

from routerlib import Router, request
from weblib import WebRoot, vendor_links

CSP = "default-src 'self'; frame-ancestors 'none'"
FILE_MAX = 4 * 1024 * 1024      # STATIC_FILE_MAX (router/static.h)


def read(path):
    with open(path, "rb") as f:
        return f.read()


async def http(port, method, path, headers=None, timeout=10.0):
    """(status, headers, body bytes) of one request."""
    resp = await request(port, method, path, headers=headers, timeout=timeout)
    body = b"" if method == "HEAD" else await resp.read_body(timeout)
    resp.close()
    return resp.status, resp.headers, body


def assert_page_headers(h):
    assert h["content-security-policy"].startswith(CSP), h
    assert h["x-content-type-options"] == "nosniff", h
    assert h["referrer-policy"] == "no-referrer", h
    assert h["cache-control"] == "no-cache", h
    assert h["etag"].startswith('"'), h


async def test_types_etag_304_and_headers():
    root = WebRoot()
    r = Router(web_root=root.path)
    st, h, body = await http(r.port, "GET", "/")
    assert st == 200 and h["content-type"] == "text/html; charset=utf-8", (st, h)
    assert body == read(os.path.join(root.path, "index.html"))
    assert_page_headers(h)
    for path, ctype in (("/index.html", "text/html; charset=utf-8"),
                        ("/app.js", "text/javascript; charset=utf-8"),
                        ("/render.js", "text/javascript; charset=utf-8"),
                        ("/style.css", "text/css; charset=utf-8"),
                        ("/favicon.svg", "image/svg+xml"),
                        ("/vendor/hljs-dark.css", "text/css; charset=utf-8"),
                        ("/vendor/purify.min.js.map", "application/json"),
                        ("/vendor/marked.min.js", "text/javascript; charset=utf-8")):
        st, h, body = await http(r.port, "GET", path)
        assert st == 200 and h["content-type"] == ctype, (path, st, h)
        assert_page_headers(h)
        assert int(h["content-length"]) == len(body)
    # the link to Debian's file serves that file
    target = dict(vendor_links())["marked.min.js"]
    assert body == read(target)

    st, h, _ = await http(r.port, "GET", "/app.js")
    etag = h["etag"]
    for inm in (etag, "W/" + etag, '"x", ' + etag, "*"):
        st, h304, body = await http(r.port, "GET", "/app.js", headers={"If-None-Match": inm})
        assert st == 304 and body == b"" and h304["etag"] == etag, (inm, st, h304, body)
        assert_page_headers(h304)
    st, _, body = await http(r.port, "GET", "/app.js", headers={"If-None-Match": '"other"'})
    assert st == 200 and body, st
    # a changed file has another ETag: the old one gets the new file
    os.utime(os.path.join(root.path, "app.js"), (1, 1))
    st, h2, body = await http(r.port, "GET", "/app.js", headers={"If-None-Match": etag})
    assert st == 200 and h2["etag"] != etag and body, (st, h2)
    # HEAD: the headers of the GET, no body
    st, h, body = await http(r.port, "HEAD", "/style.css")
    assert st == 200 and int(h["content-length"]) > 0 and body == b"", (st, h, body)
    r.assert_clean_exit()


async def test_nothing_outside_web_root():
    """'..' in any spelling, symlinks out of web_root (but into Debian's
    shared JavaScript), symlinks within it, hidden files, directories: 404."""
    root = WebRoot()
    p = root.path
    os.symlink("/etc/passwd", os.path.join(p, "passwd.txt"))
    os.symlink(os.path.join(p, "index.html"), os.path.join(p, "again.html"))
    os.symlink("..", os.path.join(p, "up"))
    os.symlink("/usr/share/javascript/../../../etc", os.path.join(p, "jsetc"))
    with open(os.path.join(p, ".secret"), "w") as f:
        f.write("hidden")
    with open(os.path.join(os.path.dirname(p), "ic-outside.txt"), "w") as f:
        f.write("outside")
    r = Router(web_root=p)
    base = os.path.basename(p)
    for path in ("/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/vendor/../../../etc/passwd",
                 "/..%2f..%2fetc%2fpasswd", "/passwd.txt", "/again.html",
                 "/up/%s/index.html" % base, "/up/ic-outside.txt", "/jsetc/passwd",
                 "/.secret", "/vendor/", "/vendor", "/vendor/.",
                 "/index.html/", "/nonexistent.js"):
        st, _, body = await http(r.port, "GET", path)
        assert st == 404, (path, st, body)
        assert b"root:" not in body and b"hidden" not in body and b"outside" not in body
    # lws itself drops a request whose path holds a NUL
    try:
        st, _, body = await http(r.port, "GET", "/index.html%00.js")
        assert st == 404, st
    except AssertionError as e:
        assert "closed without a response" in str(e), e
    os.unlink(os.path.join(os.path.dirname(p), "ic-outside.txt"))
    r.assert_clean_exit()


async def test_file_size_bound():
    root = WebRoot()
    for name, size in (("at-max.txt", FILE_MAX), ("past-max.txt", FILE_MAX + 1)):
        with open(os.path.join(root.path, name), "wb") as f:
            f.write(b"a" * size)
    r = Router(web_root=root.path)
    st, h, body = await http(r.port, "GET", "/at-max.txt", timeout=30)
    assert st == 200 and len(body) == FILE_MAX, (st, len(body))
    st, _, _ = await http(r.port, "GET", "/past-max.txt")
    assert st == 404, st
    assert "past-max.txt: larger than" in r.log()
    r.assert_clean_exit()


async def test_web_root_off_or_missing():
    r = Router(web_root="")
    st, _, body = await http(r.port, "GET", "/")
    assert st == 404 and body == b'{"detail":"Not Found"}', (st, body)
    r.assert_clean_exit()
    r = Router(web_root="/nonexistent/ic-web")
    st, _, _ = await http(r.port, "GET", "/")
    assert st == 404, st
    assert "router.web_root /nonexistent/ic-web: No such file or directory" in r.log(), r.log()
    r.assert_clean_exit()


async def test_files_are_outside_rate_other():
    """rate_other 3: twenty file requests pass; /health and unknown paths
    still take from the budget."""
    root = WebRoot()
    r = Router(web_root=root.path, rate_other=3)
    ip = {"X-Forwarded-For": "10.9.0.1"}
    for i in range(20):
        st, _, _ = await http(r.port, "GET", ("/", "/app.js", "/vendor/marked.min.js")[i % 3],
                              headers=ip)
        assert st == 200, (i, st)
    statuses = [(await http(r.port, "GET", "/health", headers=ip))[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 429], statuses
    st, _, _ = await http(r.port, "GET", "/nonexistent", headers=ip)
    assert st == 429, st
    st, _, _ = await http(r.port, "GET", "/style.css", headers=ip)
    assert st == 200, st
    r.assert_clean_exit()
