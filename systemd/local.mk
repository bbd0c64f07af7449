# SPDX-License-Identifier: AGPL-3.0-or-later
# systemd/: unit files, sysusers.d; conf/: the example configuration.
#
# The units in the tree name /usr/sbin (Debian's layout); installed copies
# are rewritten for the configured sbindir and sysconfdir.
systemdunitdir = $(SYSTEMD_UNIT_DIR)
sysusersdir = $(SYSTEMD_SYSUSERS_DIR)
IC_UNITS = idleclawd.service idleclawd.socket idleclaw-routerd.service

install-data-local: install-systemd-units
uninstall-local: uninstall-systemd-units

install-systemd-units:
	$(MKDIR_P) '$(DESTDIR)$(systemdunitdir)' '$(DESTDIR)$(sysusersdir)'
	for u in $(IC_UNITS); do \
		sed -e 's|/usr/sbin/|$(sbindir)/|g' -e 's|/etc/idleclaw|$(sysconfdir)/idleclaw|g' \
			'$(srcdir)/systemd/'$$u > '$(DESTDIR)$(systemdunitdir)/'$$u || exit 1; \
	done
	$(INSTALL_DATA) '$(srcdir)/systemd/idleclaw.sysusers' '$(DESTDIR)$(sysusersdir)/idleclaw.conf'
	$(MKDIR_P) '$(DESTDIR)$(docdir)/examples'
	$(INSTALL_DATA) '$(srcdir)/conf/idleclaw.conf' '$(srcdir)/conf/Caddyfile.example' \
		'$(srcdir)/conf/Caddyfile.cluster.example' '$(DESTDIR)$(docdir)/examples/'

uninstall-systemd-units:
	for u in $(IC_UNITS); do rm -f '$(DESTDIR)$(systemdunitdir)/'$$u; done
	rm -f '$(DESTDIR)$(sysusersdir)/idleclaw.conf'
	rm -f '$(DESTDIR)$(docdir)/examples/idleclaw.conf' '$(DESTDIR)$(docdir)/examples/Caddyfile.example' \
		'$(DESTDIR)$(docdir)/examples/Caddyfile.cluster.example'

.PHONY: install-systemd-units uninstall-systemd-units
