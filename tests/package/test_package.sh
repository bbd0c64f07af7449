#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# The Debian packages, end to end, on this machine: build them with
# scripts/package (lintian included), install them with apt-get, check
# what landed, reinstall over a changed conffile, purge them and check
# that nothing is left but the idleclaw system user (Debian keeps system
# users on purge).
#
#   tests/package/test_package.sh [DEBDIR]
#
# With DEBDIR the packages already built there are tested and nothing is
# built.  This changes the system (installs, purges, creates and removes
# the idleclaw user), so it runs as root and only where asked to
# (scripts/test with IC_PACKAGE_TEST=1, which CI sets).  It works without
# systemd as PID 1: the maintainer scripts then skip systemctl, and
# systemd-sysusers creates the user without a running systemd.
# Prints "PASS: ..."/"FAIL: ..." per check and ends with "# PASS: N" and
# "# FAIL: N" lines for scripts/test's count.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

pass=0 fail=0
ok() { echo "PASS: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
finish() {
	echo "# PASS: $pass"
	echo "# FAIL: $fail"
	[ "$fail" -eq 0 ]
	exit
}
check() { # description, command... (passes when the command does)
	local what=$1; shift
	if "$@" >"$tmp/out" 2>&1; then ok "$what"; else bad "$what"; sed 's/^/    /' "$tmp/out"; fi
}
quiet() { # description, command... (passes when the command succeeds silently)
	local what=$1; shift
	if "$@" >"$tmp/out" 2>&1 && [ ! -s "$tmp/out" ]; then
		ok "$what"
	else
		bad "$what"; sed 's/^/    /' "$tmp/out"
	fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/idleclaw-pkgtest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
PKGS=(idleclawd idleclaw-routerd)
APT=(apt-get -y -q -o DPkg::Lock::Timeout=300)
export DEBIAN_FRONTEND=noninteractive

[ "$(id -u)" -eq 0 ] || { bad "tests/package needs root (it installs packages)"; finish; }
for p in "${PKGS[@]}"; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed\|config-files'; then
		bad "$p is already on this machine; this test installs and purges it, remove it first"
		finish
	fi
done
[ -e /etc/idleclaw.conf ] && { bad "/etc/idleclaw.conf exists already (not from a package)"; finish; }

debdir=${1:-}
if [ -z "$debdir" ]; then
	debdir=$tmp/debs
	check "scripts/package builds both packages and lintian passes" scripts/package "$debdir"
fi
version=$(dpkg-parsechangelog -S Version)
upstream=${version%-*}
debs=()
for p in "${PKGS[@]}"; do
	f=$(ls "$debdir/${p}_${version}_"*.deb 2>/dev/null | head -1)
	[ -n "$f" ] && debs+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")")
done
[ ${#debs[@]} -eq 2 ] || { bad "no ${PKGS[*]} $version packages in $debdir"; finish; }

user_existed=no
getent passwd idleclaw >/dev/null && user_existed=yes

# Install.  Without systemd running, postinst must still succeed: it has
# to skip systemctl and deb-systemd-invoke, not fail on them.
check "apt-get install ./idleclawd*.deb ./idleclaw-routerd*.deb" \
	"${APT[@]}" install "${debs[@]}"
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		{ bad "$p is not installed"; finish; }
done
for p in "${PKGS[@]}"; do dpkg-query -L "$p" | sort >"$tmp/$p.files"; done

files_in_place() { # package, path...
	local p=$1 f missing=(); shift
	for f in "$@"; do
		{ [ -e "$f" ] && grep -qx "$f" "$tmp/$p.files"; } || missing+=("$f")
	done
	[ ${#missing[@]} -eq 0 ] || { echo "missing from $p: ${missing[*]}"; return 1; }
}
unitdir=$(dirname "$(grep '/idleclawd.service$' "$tmp/idleclawd.files")")
check "idleclawd's files in place" files_in_place idleclawd \
	/usr/sbin/idleclawd /usr/bin/idleclawctl /etc/idleclaw.conf \
	"$unitdir/idleclawd.service" "$unitdir/idleclawd.socket" \
	/usr/lib/sysusers.d/idleclaw.conf /usr/share/bash-completion/completions/idleclawctl \
	/usr/share/man/man8/idleclawd.8.gz /usr/share/man/man1/idleclawctl.1.gz \
	/usr/share/man/man5/idleclaw.conf.5.gz /usr/share/doc/idleclawd/README.Debian \
	/usr/share/doc/idleclawd/copyright
check "idleclaw-routerd's files in place" files_in_place idleclaw-routerd \
	/usr/sbin/idleclaw-routerd "$unitdir/idleclaw-routerd.service" \
	/usr/share/man/man8/idleclaw-routerd.8.gz \
	/usr/share/doc/idleclaw-routerd/examples/Caddyfile.example \
	/usr/share/doc/idleclaw-routerd/README.Debian /usr/share/doc/idleclaw-routerd/copyright
check "both packages make /etc/idleclaw.conf.d for drop-ins" bash -c \
	"[ -d /etc/idleclaw.conf.d ] && grep -qx /etc/idleclaw.conf.d '$tmp/idleclawd.files' &&
	 grep -qx /etc/idleclaw.conf.d '$tmp/idleclaw-routerd.files'"
check "/etc/idleclaw.conf is a conffile" \
	bash -c "dpkg-query -W -f='\${Conffiles}' idleclawd | grep -q '^ /etc/idleclaw.conf '"

# The system user and group, from sysusers.d, without systemd running.
if [ "$user_existed" = yes ]; then
	echo "NOTE: the idleclaw user existed before the test"
fi
user_ok() {
	local pw gr uid
	pw=$(getent passwd idleclaw) || { echo "no user idleclaw"; return 1; }
	gr=$(getent group idleclaw) || { echo "no group idleclaw"; return 1; }
	uid=$(echo "$pw" | cut -d: -f3)
	[ "$uid" -lt 1000 ] || { echo "not a system user: $pw"; return 1; }
	[ "$(echo "$pw" | cut -d: -f4)" = "$(echo "$gr" | cut -d: -f3)" ] ||
		{ echo "primary group is not idleclaw: $pw / $gr"; return 1; }
	case "$(echo "$pw" | cut -d: -f7)" in
	*/nologin | */false) ;;
	*) echo "login shell: $pw"; return 1 ;;
	esac
}
check "system user and group idleclaw exist" user_ok

# Installed, neither enabled nor started.
not_enabled() {
	local found
	found=$(find /etc/systemd/system -name 'idleclaw*' 2>/dev/null)
	[ -z "$found" ] || { echo "enabled: $found"; return 1; }
	for p in /proc/[0-9]*; do
		case "$(readlink "$p/exe" 2>/dev/null)" in
		/usr/sbin/idleclawd | /usr/sbin/idleclaw-routerd)
			echo "running: $p $(tr '\0' ' ' <"$p/cmdline")"; return 1 ;;
		esac
	done
}
check "services neither enabled nor started" not_enabled
# An upgrade restarts a running service and leaves a stopped one stopped
# (systemd is not running here, so read what postinst would do).
restarts_after_upgrade() {
	local p unit
	for p in "${PKGS[@]}"; do
		unit=$p.service
		grep -q "deb-systemd-invoke try-restart .*'$unit'" "/var/lib/dpkg/info/$p.postinst" ||
			{ echo "$p.postinst does not try-restart $unit"; return 1; }
		if grep -q 'deb-systemd-invoke start' "/var/lib/dpkg/info/$p.postinst"; then
			echo "$p.postinst starts a unit"; return 1
		fi
	done
}
check "postinst try-restarts on upgrade and starts nothing" restarts_after_upgrade

# The installed units as systemd sees them (with their man pages, if man
# is here to find them).
man=no
command -v man >/dev/null && man=yes
quiet "systemd-analyze verify (--man=$man) of the installed units" \
	systemd-analyze verify --man=$man "$unitdir/idleclawd.service" \
	"$unitdir/idleclawd.socket" "$unitdir/idleclaw-routerd.service"

version_is() { # expected-prefix, program...
	local want=$1 got; shift
	got=$("$@" 2>&1) || { echo "$*: $got"; return 1; }
	case "$got" in "$want"*) ;; *) echo "$*: \"$got\", expected \"$want...\""; return 1 ;; esac
}
check "idleclawctl --version" version_is "idleclawctl $upstream" idleclawctl --version
check "idleclawd --version" version_is "idleclawd $upstream" idleclawd --version
check "idleclaw-routerd --version" version_is "idleclaw-routerd $upstream" \
	idleclaw-routerd --version

# --check-config with no --config reads /etc/idleclaw.conf, the installed
# one: it must load without a warning, as the daemon's user.
check_config() { # program, key line expected...
	local prog=$1 want; shift
	runuser -u idleclaw -- "$prog" --check-config >"$tmp/cfg" 2>"$tmp/cfg.err" ||
		{ cat "$tmp/cfg.err"; return 1; }
	[ ! -s "$tmp/cfg.err" ] || { cat "$tmp/cfg.err"; return 1; }
	for want in "$@"; do
		grep -qx "$want" "$tmp/cfg" || { echo "no \"$want\" in:"; cat "$tmp/cfg"; return 1; }
	done
}
check "idleclawd --check-config reads the installed /etc/idleclaw.conf" \
	check_config idleclawd 'control_socket = /run/idleclaw/idleclawd.sock' \
	'control_group = idleclaw'
check "idleclaw-routerd --check-config reads the installed configuration" \
	check_config idleclaw-routerd 'listen = 127.0.0.1:8080'
# The README's router set-up: a drop-in in /etc/idleclaw.conf.d is read.
dropin_used() {
	printf '[router]\ntrusted_proxies = 127.0.0.1\n' >/etc/idleclaw.conf.d/router.conf
	idleclaw-routerd --check-config 2>&1 | grep -qx 'trusted_proxies = 127.0.0.1'
	local rc=$?
	rm -f /etc/idleclaw.conf.d/router.conf
	return $rc
}
check "idleclaw-routerd reads /etc/idleclaw.conf.d/router.conf" dropin_used
# The default really is /etc: a changed key there shows up.
conf_used() {
	printf '\n[daemon]\nlog_level = debug\n' >>/etc/idleclaw.conf
	idleclawd --check-config 2>&1 | grep -qx 'log_level = debug'
}
check "idleclawd's default configuration file is /etc/idleclaw.conf" conf_used

check "bash completion for idleclawctl loads" bash -c \
	'. /usr/share/bash-completion/completions/idleclawctl && complete -p idleclawctl'

# A reinstall (an upgrade as far as the maintainer scripts go) keeps the
# owner's change to the conffile and still succeeds without systemd.
check "reinstall keeps a changed /etc/idleclaw.conf" bash -c \
	"$(printf '%q ' "${APT[@]}") install --reinstall $(printf '%q ' "${debs[@]}") &&
	 grep -qx 'log_level = debug' /etc/idleclaw.conf"

# Purge: nothing of either package stays, the system user may.
check "apt-get purge idleclawd idleclaw-routerd" "${APT[@]}" purge "${PKGS[@]}"
nothing_left() {
	local p f left=()
	for p in "${PKGS[@]}"; do
		if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -qv 'not-installed'; then
			left+=("package $p: $(dpkg-query -W -f='${Status}' "$p")")
		fi
		while read -r f; do
			[ -d "$f" ] && continue # directories are shared (/lib is a link to one)
			[ -e "$f" ] || [ -L "$f" ] && left+=("$f")
		done <"$tmp/$p.files"
		for f in "/usr/share/doc/$p" /var/lib/systemd/deb-systemd-helper-enabled/*idleclaw* \
			/var/lib/systemd/deb-systemd-helper-masked/*idleclaw* /etc/idleclaw.conf \
			/etc/idleclaw.conf.dpkg-* /etc/idleclaw.conf.d; do
			[ -e "$f" ] && left+=("$f")
		done
	done
	[ ${#left[@]} -eq 0 ] || { printf 'left after purge: %s\n' "${left[@]}"; return 1; }
}
check "purge leaves nothing behind" nothing_left
getent passwd idleclaw >/dev/null && echo "NOTE: the idleclaw system user stays after purge, as Debian keeps system users"

# Leave the machine as it was.
if [ "$user_existed" = no ] && getent passwd idleclaw >/dev/null; then
	userdel idleclaw 2>/dev/null
	getent group idleclaw >/dev/null && groupdel idleclaw 2>/dev/null
fi
finish
