#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# scripts/demo, the README's first command, in its three cases: no Ollama
# at OLLAMA_HOST (the stand-in answers), an Ollama there (its smallest
# model answers, and the demo says which Ollama it used), and an Ollama
# without models (the stand-in again).  The "real" Ollama is
# tests/fake-ollama on a port of its own, given as OLLAMA_HOST in the
# forms Ollama accepts.  Needs the build in build/ (scripts/test makes it).
# Prints "PASS: ..."/"FAIL: ..." and ends with "# PASS: N" / "# FAIL: N".
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
fake=$top/build/tests/fake-ollama/fake-ollama
[ -x "$fake" ] || { echo "FAIL: no $fake (build first)"; echo "# PASS: 0"; echo "# FAIL: 1"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/idleclaw-demotest.XXXXXX")
fpid=
trap '[ -n "$fpid" ] && kill "$fpid" 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "PASS: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# Starts fake-ollama with the given models; sets fport and fpid.
start_fake() {
	"$fake" --listen 127.0.0.1:0 --models "$1" --reply 'Rayleigh scattering, mostly.' \
		>"$tmp/fake.out" 2>"$tmp/fake.log" &
	fpid=$!
	for _ in $(seq 100); do
		fport=$(sed -n 's/^PORT=//p' "$tmp/fake.out")
		[ -n "$fport" ] && return 0
		sleep 0.1
	done
	echo "fake-ollama did not start"; cat "$tmp/fake.log"
	return 1
}
stop_fake() { kill "$fpid" 2>/dev/null; wait "$fpid" 2>/dev/null; fpid=; }
# demo NAME OLLAMA_HOST: runs scripts/demo, output in $tmp/NAME.
demo() {
	OLLAMA_HOST=$2 timeout 120 scripts/demo >"$tmp/$1" 2>&1 ||
		{ echo "scripts/demo exited $?:"; tail -20 "$tmp/$1"; return 1; }
}
has() { # file, fixed string...
	local f=$1 s; shift
	for s in "$@"; do
		grep -qF -- "$s" "$f" || { echo "no \"$s\" in:"; sed 's/^/    /' "$f"; return 1; }
	done
}
case_result() { # description, command...
	local what=$1; shift
	if "$@" >"$tmp/why" 2>&1; then ok "$what"; else bad "$what"; sed 's/^/    /' "$tmp/why"; fi
}

# 1. Nothing listens at OLLAMA_HOST.
nobody=$(free_port)
stand_in() {
	demo none "127.0.0.1:$nobody" &&
		has "$tmp/none" "no Ollama answers at 127.0.0.1:$nobody; using a stand-in" \
			"\$ idleclawctl chat -m llama3.2:3b 'Why is the sky blue?'"
}
case_result "scripts/demo without an Ollama uses the stand-in" stand_in

# 2. An Ollama at a custom OLLAMA_HOST, given as :PORT.
real_ollama() {
	start_fake 'big:70b=40000000000,tiny:1b=1000' || return 1
	demo real ":$fport" || return 1
	stop_fake
	has "$tmp/real" "using the Ollama at http://127.0.0.1:$fport (OLLAMA_HOST), model tiny:1b" \
		"\$ idleclawctl chat -m tiny:1b" "Rayleigh scattering, mostly." &&
		! grep -q 'stand-in' "$tmp/real"
}
case_result "scripts/demo uses the Ollama at OLLAMA_HOST, its smallest model" real_ollama

# 3. An Ollama without models, given as http://HOST:PORT.
empty_ollama() {
	start_fake '' || return 1
	demo empty "http://127.0.0.1:$fport" || return 1
	stop_fake
	has "$tmp/empty" "the Ollama at http://127.0.0.1:$fport has no models" \
		"using a stand-in" "\$ idleclawctl chat -m llama3.2:3b"
}
case_result "scripts/demo falls back to the stand-in when the Ollama has no models" empty_ollama

echo "# PASS: $pass"
echo "# FAIL: $fail"
[ "$fail" -eq 0 ]
