#!/bin/bash
# Runs the whole suite in two fresh clones of this repository at the same time, ROUNDS times in a
# row (default 3), as CI does on a machine shared with other work: a test that waits for time
# rather than for a condition shows up here. Prints one line per round; exits 1 if any run failed.
# The clones and their logs are kept in DIR (default a new directory under /tmp).
#
#   scripts/test-parallel.sh [ROUNDS] [DIR]
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-3}
dir=${2:-$(mktemp -d /tmp/nfqd-parallel.XXXXXX)}
status=0

for c in a b; do
	git clone -q "$here" "$dir/$c" || exit 1
done
for round in $(seq "$rounds"); do
	start=$(date +%s)
	for c in a b; do
		(cd "$dir/$c" && CI=true bash .ci/run </dev/null >"$dir/$c.round$round.log" 2>&1
		echo $? >"$dir/$c.round$round.rc") &
	done
	wait
	ra=$(cat "$dir/a.round$round.rc") rb=$(cat "$dir/b.round$round.rc")
	echo "round $round: exit $ra and $rb in $(($(date +%s) - start)) s (logs: $dir/{a,b}.round$round.log)"
	[ "$ra" = 0 ] && [ "$rb" = 0 ] || status=1
done
exit $status
