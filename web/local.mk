# SPDX-License-Identifier: AGPL-3.0-or-later
# web/: the web chat (docs/web.md), installed as idleclaw-routerd's default
# web_root.  Its third-party files are links to Debian's JavaScript packages
# (libjs-marked, node-dompurify, libjs-highlight.js), listed once in
# web/vendor.links: git holds them in web/vendor, install makes them here,
# debian/idleclaw-routerd.links makes them in the package.
webdir = $(datadir)/idleclaw/web
dist_web_DATA = web/index.html web/app.js web/api.js web/history.js web/render.js \
	web/style.css web/favicon.svg
EXTRA_DIST += web/vendor.links bench/web/run.py

install-data-local: install-web-vendor
uninstall-local: uninstall-web-vendor

install-web-vendor:
	$(MKDIR_P) '$(DESTDIR)$(webdir)/vendor'
	grep -v '^#' '$(srcdir)/web/vendor.links' | while read name target; do \
		test -n "$$name" || continue; \
		ln -sfn "$$target" '$(DESTDIR)$(webdir)/vendor/'"$$name" || exit 1; \
	done

uninstall-web-vendor:
	grep -v '^#' '$(srcdir)/web/vendor.links' | while read name target; do \
		test -n "$$name" || continue; \
		rm -f '$(DESTDIR)$(webdir)/vendor/'"$$name"; \
	done
	-rmdir '$(DESTDIR)$(webdir)/vendor'

.PHONY: install-web-vendor uninstall-web-vendor
