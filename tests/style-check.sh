#!/bin/sh
# Every C source and header of the project is formatted as .clang-format says.
set -u
cd "$(dirname "$0")/.." || exit 1
bad=""
for f in $(git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null); do
	clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
done
if [ -n "$bad" ]; then
	echo "FAIL: not formatted (run clang-format -i):$bad"
	exit 1
fi
echo "PASS: clang-format clean"
