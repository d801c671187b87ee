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

keys=$(sed -n 's/^[[:space:]]*\[KEY_[A-Z0-9_]*\] = { "\([a-z0-9-]*\)", "\([a-z0-9-]*\)", .*/\1 \2/p' \
	"$src/daemon/config.c")
[ "$(echo "$keys" | grep -c .)" -ge 20 ] || {
	echo "FAIL: read only $(echo "$keys" | grep -c .) keys from daemon/config.c's key table"
	exit 1
}
while read -r section key; do
	terms "$man/nfqd.conf.5.scd" "SECTION [$section]" | grep -qxF "$key" ||
		miss "nfqd.conf(5): key '$key' of [$section] (daemon/config.c)"
done <<<"$keys"

cmds=$(sed -n 's/.*\.name = "\([a-z0-9-]*\)".*/\1/p' "$src/daemon/command.c")
[ "$(echo "$cmds" | grep -c .)" -ge 4 ] || {
	echo "FAIL: read only $(echo "$cmds" | grep -c .) commands from daemon/command.c"
	exit 1
}
for c in $cmds; do
	terms "$man/nfqctl.8.scd" COMMANDS | grep -qxF "$c" ||
		miss "nfqctl(8): command '$c' (daemon/command.c)"
done

ctrs=$(sed -n 's/^[[:space:]]*\[NFQD_CTR_[A-Z0-9_]*\] = "\([a-z0-9_]*\)".*/\1/p' "$src/lib/stats.c")
[ "$(echo "$ctrs" | grep -c .)" -ge 10 ] || {
	echo "FAIL: read only $(echo "$ctrs" | grep -c .) counter names from lib/stats.c"
	exit 1
}
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
