#!/bin/bash
# The man pages against the code they document, read from the sources (not from a list kept by
# hand, which would drift with the pages):
# - every key of config.c's key table ({ "SECTION", "KEY", handler, ... }) is a term
#   (`*KEY*` at the start of a line) under `# SECTION [SECTION]` of nfqd.conf.5.scd;
# - every command of command.c's table (.name = "CMD") is a term under `# COMMANDS` of
#   nfqctl.8.scd;
# - every counter name of lib/stats.c is a term in nfqd.8.scd or nfqctl.8.scd.
# Prints each entry missing and fails when any is.
set -u
src=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
man=$src/man
missing=0
miss() {
	echo "MISSING: $*"
	missing=$((missing + 1))
}

# terms SCD HEADING: the `*TERM*` words that start lines (a term line may name several:
# `*accepted*, *dropped*`) between `# HEADING` and the next `# ` heading.
terms() {
	awk -v h="# $2" '
		/^# / { inside = ($0 == h); next }
		inside && /^\*/ {
			line = $0
			while (match(line, /^\*[^*]+\*(, )?/)) {
				t = substr(line, 2, RLENGTH - 2)
				sub(/\*(, )?$/, "", t)
				sub(/\*$/, "", t)
				print t
				line = substr(line, RLENGTH + 1)
			}
		}' "$1" | sed 's/\\//g'
}

# table FILE ARRAY REGEX DESIGNATOR: the captures of REGEX over the initializer of the array
# ARRAY of FILE (`ARRAY[...] = { ... };`; line breaks and blanks inside an entry allowed), one
# entry a line; fails unless every DESIGNATOR of that initializer (an entry, as `[KEY_...] =`,
# but not the array's own `[KEY_MAX]`) was read.
tmp=$(mktemp /tmp/nfqd-drift-XXXXXX)
trap 'rm -f "$tmp"' EXIT
table() {
	local file=$1 array=$2 re=$3 des=$4 got want
	perl -0777 -ne 'print $1 if /\b'"$array"'\[[^\]]*\]\s*=\s*\{(.*?)\n\};/s' "$file" >"$tmp"
	got=$(perl -0777 -ne 'while (/'"$re"'/g) { print join(" ", grep { defined } ($1, $2)), "\n" }' "$tmp")
	want=$(perl -0777 -ne '$n = () = /'"$des"'/g; print $n' "$tmp")
	if [ "$(echo "$got" | grep -c .)" != "$want" ] || [ "$want" -eq 0 ]; then
		echo "FAIL: read $(echo "$got" | grep -c .) entries of $want from $array[] of $file:" \
			"its format changed; adapt tests/man/drift.sh" >&2
		exit 1
	fi
	echo "$got"
}

keys=$(table "$src/daemon/config.c" keys '\[KEY_\w+\]\s*=\s*\{\s*"([^"]+)"\s*,\s*"([^"]+)"' \
	'\[KEY_\w+\]\s*=') || exit 1
while read -r section key; do
	terms "$man/nfqd.conf.5.scd" "SECTION [$section]" | grep -qxF "$key" ||
		miss "nfqd.conf(5): key '$key' of [$section] (daemon/config.c)"
done <<<"$keys"

cmds=$(table "$src/daemon/command.c" commands '\.name\s*=\s*"([^"]+)"' '\.name\s*=') || exit 1
for c in $cmds; do
	terms "$man/nfqctl.8.scd" COMMANDS | grep -qxF "$c" ||
		miss "nfqctl(8): command '$c' (daemon/command.c)"
done

ctrs=$(table "$src/lib/stats.c" counter_names '\[NFQD_CTR_\w+\]\s*=\s*"([^"]+)"' \
	'\[NFQD_CTR_\w+\]\s*=') || exit 1
for c in $ctrs; do
	{ terms "$man/nfqd.8.scd" COUNTERS; terms "$man/nfqctl.8.scd" STATS; } | grep -qxF "$c" ||
		miss "nfqd(8)/nfqctl(8): counter '$c' (lib/stats.c)"
done

if [ $missing -gt 0 ]; then
	echo "FAIL: $missing entries missing from the man pages"
	exit 1
fi
echo "PASS: $(echo "$keys" | grep -c .) keys, $(echo "$cmds" | grep -c .) commands," \
	"$(echo "$ctrs" | grep -c .) counters documented"
