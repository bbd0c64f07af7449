#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# The unit files pass `systemd-analyze verify` with nothing to say and score
# at most 2.0 ("OK") in `systemd-analyze security --offline`; the manual
# pages are clean under `mandoc -Tlint -Wwarning`.
set -u
src=${IC_SRCDIR:?} build=${IC_BUILDDIR:?}
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
command -v mandoc >/dev/null || { echo "SKIP: no mandoc"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # description, command...
	local what=$1; shift
	if "$@" >"$tmp/out" 2>&1 && [ ! -s "$tmp/out" ]; then
		echo "PASS: $what"
	else
		echo "FAIL: $what"; sed 's/^/    /' "$tmp/out"; fail=1
	fi
}

# Point ExecStart at the built programs: verify checks they are executable.
for u in idleclawd.service idleclawd.socket idleclaw-routerd.service; do
	sed -e "s|/usr/sbin/idleclawd|$build/daemon/idleclawd|" \
	    -e "s|/usr/sbin/idleclaw-routerd|$build/router/idleclaw-routerd|" \
	    "$src/systemd/$u" >"$tmp/$u"
done
check "systemd-analyze verify" \
	systemd-analyze verify --man=no "$tmp/idleclawd.service" "$tmp/idleclawd.socket" \
	"$tmp/idleclaw-routerd.service"
for u in idleclawd.service idleclaw-routerd.service; do
	if systemd-analyze security --offline=yes --threshold=20 "$tmp/$u" >"$tmp/sec" 2>&1; then
		echo "PASS: $u exposure $(grep -o 'exposure level.*' "$tmp/sec")"
	else
		echo "FAIL: $u exposure above 2.0"; tail -3 "$tmp/sec"; fail=1
	fi
done
# idle detection reads /proc/stat and other users' processes, the terminals'
# access times and NVIDIA's devices (docs/idle.md): settings that hide them
# must not come back
u=$src/systemd/idleclawd.service
if grep -Eq '^(ProcSubset=pid|ProtectProc=(invisible|noaccess|ptraceable)|PrivateDevices=yes)' "$u" ||
	! grep -q '^DeviceAllow=char-nvidia-frontend rw' "$u"; then
	echo "FAIL: idleclawd.service hides what idle detection reads"; fail=1
else
	echo "PASS: idleclawd.service lets idle detection read /proc, /dev/pts and NVIDIA"
fi
grep -q '^u idleclaw ' "$src/systemd/idleclaw.sysusers" &&
	grep -q '^g idleclaw ' "$src/systemd/idleclaw.sysusers" &&
	echo "PASS: sysusers.d creates user and group idleclaw" ||
	{ echo "FAIL: sysusers.d entry"; fail=1; }

for page in "$src"/man/*.[0-9]; do
	check "mandoc lint $(basename "$page")" mandoc -Tlint -Wwarning "$page"
done
exit $fail
