#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# Fuzz every harness (or the NAMEs given) for SECONDS each with libFuzzer.
#   tests/fuzz/run.sh [-t SECONDS] [-o OUTDIR] [NAME...]
# Defaults: 60 s, OUTDIR ./fuzz-out.  Each harness starts from its seed
# corpus tests/fuzz/corpus/NAME (read only) and grows OUTDIR/corpus-NAME;
# findings land in OUTDIR/crash-* (replay one with OUTDIR/fuzz_NAME FILE, or
# with the make check program: tests/fuzz/fuzz_NAME -n 0 FILE).
# Exit status 1 if any harness found something.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=60
out=./fuzz-out
while getopts t:o: opt; do
	case $opt in
	t) secs=$OPTARG ;;
	o) out=$OPTARG ;;
	*) echo "usage: $0 [-t SECONDS] [-o OUTDIR] [NAME...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
names=${*:-outfilter validate proto sse json ctlproto config sanitize chunkparse}
# shellcheck disable=SC2086
"$top/tests/fuzz/build.sh" "$out" $names
status=0
for h in $names; do
	mkdir -p "$out/corpus-$h"
	echo "==> fuzz_$h for ${secs}s"
	if ! (cd "$out" && ASAN_OPTIONS=detect_leaks=1 "./fuzz_$h" -max_total_time="$secs" \
		-print_final_stats=1 -dict="$top/tests/fuzz/$h.dict" \
		"corpus-$h" "$top/tests/fuzz/corpus/$h" >"fuzz_$h.log" 2>&1); then
		status=1
		echo "FOUND: fuzz_$h (see $out/fuzz_$h.log)"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)' \
			"$out/fuzz_$h.log" || true
	fi
	grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$out/fuzz_$h.log" | tail -2
done
exit $status
