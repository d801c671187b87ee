#!/bin/bash
# Runs one libFuzzer harness for a bounded time on a copy of its seed corpus, so that what the
# run discovers does not grow the repository's corpus. Exits non-zero on any finding; the
# input that caused it is kept in ARTIFACTS. libFuzzer closes with "Done N runs in T second(s)".
#
#   run-fuzzer.sh BINARY CORPUS_DIR SECONDS ARTIFACTS_DIR
#   NFQD_FUZZ_TIME=SECONDS in the environment overrides SECONDS.
set -u
bin=$1 corpus=$2 seconds=${NFQD_FUZZ_TIME:-$3} artifacts=$4
name=$(basename "$bin")

if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus")" ]; then
	echo "FAIL: $name has no seed corpus in $corpus"
	exit 1
fi
work=$(mktemp -d "/tmp/$name.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
cp -r "$corpus/." "$work/"
mkdir -p "$artifacts"
dict=$(dirname "$0")/$name.dict
opts=()
[ -f "$dict" ] && opts+=("-dict=$dict")

# Leaks and UBSan reports are findings; -fno-sanitize-recover makes UBSan abort.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
"$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -max_len=4096 \
	-print_final_stats=1 -artifact_prefix="$artifacts/$name-" "${opts[@]}" "$work"
rc=$?
if [ $rc -ne 0 ]; then
	echo "FAIL: $name found a problem (exit $rc); the input is in $artifacts/"
	exit $rc
fi
echo "PASS: $name: no finding in $seconds seconds"
