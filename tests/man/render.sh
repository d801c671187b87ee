#!/bin/bash
# Renders each built man page as man(1) shows it and fails on any warning groff or man give
# (`man --warnings`), at a fixed width and locale so that the result does not depend on the
# terminal. Also fails when a page renders empty.
set -u
dir=${1:?usage: render.sh BUILD_DIR/man}
export LC_ALL=C.UTF-8 MANWIDTH=80
n=0
bad=0
for page in nfqd.8 nfqd.conf.5 nfqctl.8; do
	f=$dir/$page
	[ -s "$f" ] || { echo "FAIL: $f was not built"; exit 1; }
	warn=$(man --warnings -l "$f" 2>&1 >/dev/null)
	lines=$(man -l "$f" 2>/dev/null | wc -l)
	if [ -n "$warn" ]; then
		echo "FAIL: $page: warnings:"
		echo "$warn"
		bad=1
	elif [ "$lines" -lt 20 ]; then
		echo "FAIL: $page renders $lines lines"
		bad=1
	else
		echo "ok: $page: $lines lines, no warning"
	fi
	n=$((n + 1))
done
[ $bad -eq 0 ] || exit 1
echo "PASS: $n pages render without warnings"
