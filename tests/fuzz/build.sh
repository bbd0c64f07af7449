#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# Build the libFuzzer harnesses with clang, for real fuzzing sessions
# (make check runs the same harnesses through standalone.c instead).
#   tests/fuzz/build.sh [OUTDIR [NAME...]]    default: . and every harness
#   OUTDIR/fuzz_proto -max_total_time=60 -dict=tests/fuzz/proto.dict DIR...
# tests/fuzz/run.sh builds and runs them all; see docs/fuzzing.md.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-.}
[ $# -gt 0 ] && shift
names=${*:-outfilter validate proto sse json ctlproto config sanitize chunkparse gateway}
CC=${CC:-clang}
mkdir -p "$out"
cflags="-g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined"
cflags="$cflags -fno-sanitize-recover=undefined -I$top -iquote $top/common"
cflags="$cflags $(pkg-config --cflags json-c inih)"
libs="$(pkg-config --libs json-c inih)"
lib=""
for c in utf8 hex validate sanitize outfilter jsonutil proto sse config ctlproto log xmalloc chatmsg; do
	lib="$lib $top/common/$c.c"
done
lib="$lib $top/router/chunkparse.c"
for h in $names; do
	extra=""
	[ "$h" = gateway ] && for c in chat addr ollama openai; do
		extra="$extra $top/daemon/gateway-$c.c"
	done
	# shellcheck disable=SC2086
	$CC $cflags -o "$out/fuzz_$h" "$top/tests/fuzz/fuzz_$h.c" $lib $extra $libs
	echo "built $out/fuzz_$h"
done
