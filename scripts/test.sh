#!/bin/bash
# Runs every test of nfqd on this machine: installs what is missing (scripts/setup), then these
# passes, each its own build directory, all with -Werror (NFQD_WERROR=ON):
#
#   build     gcc, the default build type: every ctest test (unit, kernel integration in
#             network namespaces, systemd checks, the Debian package, the man pages, the
#             demo, the style check, bench smoke runs)
#   asan      gcc, AddressSanitizer + UBSan: unit and kernel integration tests
#   ubsan     gcc, UBSan alone (the ASan allocator hides misaligned objects): the same tests
#   clang     clang build: unit tests
#   release   gcc, CMAKE_BUILD_TYPE=Release (other warnings at -O2): unit tests
#   bench     scripts/bench.sh --quick on the build pass's binaries: every benchmark program
#             runs once with few packets, so the suite cannot rot (its numbers mean nothing)
#   fuzz      clang with libFuzzer (NFQD_FUZZ=ON): every tests/fuzz harness for
#             NFQD_FUZZ_TIME seconds (default 30) on a copy of its seed corpus
#
# A pass whose build fails fails the suite; the others still run. The summary gives, per pass,
# the ctest line, the cmocka case counts, its time, and the fuzzers' execution counts.
# Needs root. CI's .ci/run calls this.
#
#   scripts/test.sh [--quick]      --quick runs the first pass only
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
quick=0
[ "${1:-}" = "--quick" ] && quick=1

scripts/setup || exit 1
jobs=$(nproc)
status=0
summary=()
times=()

# Adds the cmocka results of a ctest run (its log) to the summary.
count_cases() {
	local log=$1 label=$2 passed failed
	passed=$(grep -ho '\[  PASSED  \] [0-9]* test' "$log" | awk '{s += $4} END {print s + 0}')
	failed=$(grep -ho '\[  FAILED  \] [0-9]* test' "$log" | awk '{s += $4} END {print s + 0}')
	summary+=("$label: $passed cmocka test cases passed, $failed failed")
}

# Adds each fuzzer's execution count (libFuzzer's "Done N runs in T second(s)") to the summary.
count_runs() {
	local log=$1 label=$2 line
	while read -r line; do
		summary+=("$label: $line")
	done < <(awk '/^[0-9]+\/[0-9]+ Testing: / { name = $3 }
		/^Done [0-9]+ runs in [0-9]+ second/ { print name ": " $2 " runs in " $5 " s" }' "$log")
}

run_ctest() { # run_ctest BUILD_DIR LABEL [ctest args...]
	local dir=$1 label=$2 out
	shift 2
	out=$(mktemp)
	ctest --test-dir "$dir" --output-on-failure "$@" 2>&1 | tee "$out"
	[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
	summary+=("$label: $(grep -E 'tests passed|tests failed|No tests were found' "$out" | tail -n 1)")
	# the fuzz pass runs no cmocka program: its counts are the fuzzers' runs
	[ "$label" = fuzz ] || count_cases "$dir/Testing/Temporary/LastTest.log" "$label"
	rm -f "$out"
}

# build DIR LABEL [cmake args...]: configure and build; a failure fails the suite and the pass.
build() {
	local dir=$1 label=$2
	shift 2
	echo "== $label: build ($dir)"
	if cmake -S . -B "$dir" -DNFQD_WERROR=ON "$@" >/dev/null &&
		cmake --build "$dir" -j"$jobs" ${target:+--target "$target"}; then
		return 0
	fi
	status=1
	summary+=("$label: BUILD FAILED")
	return 1
}

# pass LABEL FUNCTION: runs and times one pass.
pass() {
	local label=$1 start=$SECONDS
	shift
	"$@"
	times+=("$label: $((SECONDS - start)) s")
}

pass_build() {
	build build build && run_ctest build build
}

# The benchmark suite in its quick form, on the first pass's build: it checks that it runs.
pass_bench() {
	[ -x build/tests/bench_contenders ] || return
	echo "== bench: scripts/bench.sh --quick"
	if scripts/bench.sh --quick --build-dir build --out build/bench-quick; then
		summary+=("bench: scripts/bench.sh --quick ran (report in build/bench-quick/report.md)")
	else
		status=1
		summary+=("bench: scripts/bench.sh --quick FAILED")
	fi
}

# The systemd boot and restart tests install into a container without the sanitizer runtime;
# the package test builds its own (unsanitized) binaries, so it runs in the build pass only.
# The *_oldkernel reruns repeat whole suites under a seccomp profile: the code they reach
# differently is what integration.oldkernel runs here too, so they stay in the build pass (the
# suite's time stays within its budget).
sanitizer_tests() {
	run_ctest "$1" "$2" -E 'systemd_boot|systemd_restart|package|demo|style|_oldkernel$'
}

pass_asan() {
	build build-asan asan -DNFQD_SANITIZE=ON || return
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 sanitizer_tests build-asan asan
}

pass_ubsan() {
	build build-ubsan ubsan -DNFQD_SANITIZE=undefined || return
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 sanitizer_tests build-ubsan ubsan
}

pass_clang() {
	build build-clang clang -DCMAKE_C_COMPILER=clang && run_ctest build-clang clang -L unit
}

pass_release() {
	build build-release release -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Release &&
		run_ctest build-release release -L unit
}

pass_fuzz() {
	target=nfqd_fuzzers build build-fuzz fuzz -DCMAKE_C_COMPILER=clang -DNFQD_FUZZ=ON ||
		return
	# Each fuzzer is single-threaded: run them side by side.
	run_ctest build-fuzz fuzz -L fuzz -j"$jobs"
	count_runs build-fuzz/Testing/Temporary/LastTest.log fuzz
}

start=$SECONDS
pass build pass_build
pass bench pass_bench
if [ "$quick" = 0 ]; then
	pass asan pass_asan
	pass ubsan pass_ubsan
	pass clang pass_clang
	pass release pass_release
	pass fuzz pass_fuzz
fi

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
echo "== times"
printf '%s\n' "${times[@]}"
echo "total: $((SECONDS - start)) s"
[ $status -eq 0 ] && echo "ALL TESTS PASSED" || echo "SOME TESTS FAILED"
exit $status
