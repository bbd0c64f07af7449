#!/bin/sh
# Build the libFuzzer harnesses with clang (not part of make check).
#   tests/fuzz/build.sh [OUTDIR]
#   OUTDIR/fuzz_outfilter -max_total_time=60 -dict=tests/fuzz/outfilter.dict
#   OUTDIR/fuzz_validate -max_total_time=60 -dict=tests/fuzz/validate.dict
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-.}
CC=${CC:-clang}
mkdir -p "$out"
cflags="-g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined"
cflags="$cflags -I$top -I$top/common $(pkg-config --cflags json-c)"
libs=$(pkg-config --libs json-c)
lib="$top/common/utf8.c $top/common/validate.c $top/common/outfilter.c $top/common/xmalloc.c"
for h in outfilter validate; do
	# shellcheck disable=SC2086
	$CC $cflags -o "$out/fuzz_$h" "$top/tests/fuzz/fuzz_$h.c" $lib $libs
	echo "built $out/fuzz_$h"
done
