#!/bin/bash
# Runs every test of nfqd on this machine: installs what is missing (scripts/setup), builds,
# and runs through ctest the unit tests, the integration tests on the real kernel (network
# namespaces, iptables, nfnetlink_queue), the systemd checks, the demo and the style check;
# then the unit and kernel integration tests again under AddressSanitizer and UBSan.
# Needs root. CI's .ci/run calls this.
#
#   scripts/test.sh [--quick]      --quick skips the sanitizer pass
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
quick=0
[ "${1:-}" = "--quick" ] && quick=1

scripts/setup || exit 1
jobs=$(nproc)
status=0
summary=()

# Adds the cmocka results of a ctest run (its log) to the summary.
count_cases() {
	local log=$1 label=$2 passed failed
	passed=$(grep -ho '\[  PASSED  \] [0-9]* test' "$log" | awk '{s += $4} END {print s + 0}')
	failed=$(grep -ho '\[  FAILED  \] [0-9]* test' "$log" | awk '{s += $4} END {print s + 0}')
	summary+=("$label: $passed cmocka test cases passed, $failed failed")
}

run_ctest() { # run_ctest BUILD_DIR LABEL [ctest args...]
	local dir=$1 label=$2 out
	shift 2
	out=$(mktemp)
	ctest --test-dir "$dir" --output-on-failure "$@" 2>&1 | tee "$out"
	[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
	summary+=("$label: $(grep -E 'tests passed|tests failed' "$out" | tail -n 1)")
	count_cases "$dir/Testing/Temporary/LastTest.log" "$label"
	rm -f "$out"
}

echo "== build"
cmake -S . -B build >/dev/null && cmake --build build -j"$jobs" || exit 1
echo "== tests"
run_ctest build "build"

if [ "$quick" = 0 ]; then
	echo "== build with AddressSanitizer and UBSan"
	cmake -S . -B build-asan -DNFQD_SANITIZE=ON >/dev/null &&
		cmake --build build-asan -j"$jobs" || exit 1
	echo "== unit and kernel integration tests under the sanitizers"
	# The systemd boot test installs into a container without the sanitizer runtime.
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		run_ctest build-asan "sanitizers" -E 'systemd_boot|demo|style'
fi

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
[ $status -eq 0 ] && echo "ALL TESTS PASSED" || echo "SOME TESTS FAILED"
exit $status
