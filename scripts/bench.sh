#!/bin/bash
# The benchmark suite: installs what it needs (scripts/setup), builds nfqd (Release), runs every
# bench_* program in turn and prints one markdown report on stdout (also written to
# OUT/report.md), then draws the plots with gnuplot into OUT: rate against batch size
# (batch.png) and a latency CDF per rate with a line per reader (latency-cdf-RATE.png).
# Needs root (network namespaces, iptables). The numbers depend on the machine: compare the
# ratios, and say how busy the machine was (the report starts with `uptime`).
#
#   scripts/bench.sh [--quick] [--runs N] [--out DIR] [--build-dir DIR]
#
#   --quick          one round of few packets per program: checks that everything runs (the
#                    test suite calls it), its numbers mean nothing
#   --runs N         rounds per figure (default: each program's own, 5)
#   --out DIR        where data files, plots and the report go (default build/bench)
#   --build-dir DIR  use this existing build instead of configuring a Release build in
#                    build-release
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 1
quick=0
runs=""
out=build/bench
build_dir=""

usage() {
	echo "usage: scripts/bench.sh [--quick] [--runs N] [--out DIR] [--build-dir DIR]" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--runs)
		if [ $# -lt 2 ] || ! [[ $2 =~ ^[1-9][0-9]?$ ]]; then
			echo "scripts/bench.sh: --runs wants a number from 1 to 99, not '${2:-}'" >&2
			exit 2
		fi
		runs=$2
		shift
		;;
	--out)
		[ $# -ge 2 ] || usage
		out=$2
		shift
		;;
	--build-dir)
		[ $# -ge 2 ] || usage
		build_dir=$2
		shift
		;;
	*) usage ;;
	esac
	shift
done

if [ "$(id -u)" -ne 0 ]; then
	echo "scripts/bench.sh: run as root (network namespaces, iptables)" >&2
	exit 1
fi
scripts/setup >&2 || exit 1
if [ -z "$build_dir" ]; then
	build_dir=build-release
	echo "scripts/bench.sh: building ($build_dir, Release)" >&2
	cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
		cmake --build "$build_dir" -j"$(nproc)" >&2 || exit 1
fi
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)
report=$out/report.md
status=0

# bench NAME QUICK-ARGS -- FULL-ARGS: run build/tests/NAME with the arguments of the mode.
bench() {
	local name=$1 bin=$build_dir/tests/$1 args=() rc
	shift
	if [ "$quick" = 1 ]; then
		while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
	else
		while [ $# -gt 0 ] && [ "$1" != -- ]; do shift; done
		shift
		args=("$@" ${runs:+--runs "$runs"})
	fi
	if [ ! -x "$bin" ]; then
		printf '## %s\n\nnot built in %s: skipped\n\n' "$name" "$build_dir"
		return
	fi
	echo "scripts/bench.sh: $name ${args[*]}" >&2
	# shellcheck disable=SC2016 # the backquotes are markdown
	printf '## %s\n\n```\n%s %s\n```\n\n' "$name" "$name" "${args[*]}"
	"$bin" "${args[@]}"
	rc=$?
	if [ $rc -ne 0 ]; then
		status=1
		printf '\n**%s failed (exit status %d)**\n' "$name" "$rc"
	fi
	echo
}

# The CDF of each latency file of one rate: "latency fraction" lines, for gnuplot.
plot_latency() {
	local rate=$1 f cdf plots=""
	for f in "$out"/latency-*-"$rate".dat; do
		[ -s "$f" ] || continue
		cdf=${f%.dat}.cdf
		awk '{ v[NR] = $1 } END { for (i = 1; i <= NR; i++) print v[i], i / NR }' "$f" >"$cdf"
		f=${f##*/latency-}
		plots+="${plots:+, }'$cdf' using 1:2 with lines title '${f%-"$rate".dat}'"
	done
	[ -n "$plots" ] || return 0
	gnuplot <<-GNUPLOT
		set terminal png size 900,600
		set output '$out/latency-cdf-$rate.png'
		set title 'Latency through the queue at $rate pkt/s: CDF per reader'
		set xlabel 'latency (microseconds)'
		set ylabel 'fraction of packets'
		set logscale x
		set key bottom right
		set grid
		plot $plots
	GNUPLOT
}

plots() {
	local f rate
	if ! command -v gnuplot >/dev/null; then
		printf 'gnuplot is not installed (scripts/setup installs gnuplot-nox): plots skipped\n\n'
		return
	fi
	if [ -s "$out/batch.dat" ]; then
		gnuplot <<-GNUPLOT || status=1
			set terminal png size 900,600
			set output '$out/batch.png'
			set title 'nfqd: drain rate against batch size (median, min-max)'
			set xlabel 'batch (packets per receive and per verdict message)'
			set ylabel 'packets/s'
			set logscale x 2
			set xrange [0.7:360]
			set yrange [0:*]
			set grid
			plot '$out/batch.dat' using 1:2:3:4 with yerrorlines title 'nfqd'
		GNUPLOT
	fi
	for f in "$out"/latency-*.dat; do
		[ -e "$f" ] || continue
		rate=${f%.dat}
		echo "${rate##*-}"
	done | sort -u | while read -r rate; do
		plot_latency "$rate" || exit 1
	done || status=1
	printf 'Plots in %s:\n\n' "$out"
	for f in "$out"/*.png; do
		[ -e "$f" ] && printf -- '- %s\n' "${f##*/}"
	done
	echo
}

{
	printf '# nfqd benchmarks%s\n\n' "$([ "$quick" = 1 ] && echo ' (quick: the numbers mean nothing)')"
	printf 'Machine: %s, %s CPUs, kernel %s; load: %s\n\n' "$(hostname)" "$(nproc)" \
		"$(uname -r)" "$(uptime | sed 's/.*load average/load average/')"
	bench bench_drain --packets 2000 --runs 1 --
	bench bench_sets --packets 2000 --runs 1 --elements 1000 --
	bench bench_contenders --quick --out "$out" -- --out "$out"
	# ---- the other benchmark programs, one line each ----
	bench bench_latency --quick --out "$out" -- --out "$out"
	bench bench_scaling --quick --out "$out" -- --out "$out"
	bench bench_rules --quick --out "$out" -- --out "$out"
	bench bench_droplog --quick --
	# ---- end of the list ----
	plots
	exit "$status"
} | tee "$report"
status=${PIPESTATUS[0]}
echo "scripts/bench.sh: report in $report" >&2
exit "$status"
