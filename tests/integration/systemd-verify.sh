#!/bin/sh
# systemd-analyze verify on the unit as installed (private install root): the unit parses, its
# commands exist where it says, and it is Type=notify.
set -u
build=${1:?usage: systemd-verify.sh BUILD_DIR}
root=$(mktemp -d /tmp/nfqd-verify-XXXXXX)
trap 'rm -rf "$root"' EXIT INT TERM

DESTDIR=$root cmake --install "$build" >/dev/null || { echo "FAIL: cmake --install"; exit 1; }
unit=$(cd "$root" && find . -name nfqd.service | head -n 1 | sed 's|^\.||')
[ -n "$unit" ] || { echo "FAIL: no nfqd.service installed"; exit 1; }
[ -f "$root/etc/nfqd/nfqd.conf" ] || { echo "FAIL: /etc/nfqd/nfqd.conf not installed"; exit 1; }
grep -qx 'Type=notify' "$root$unit" || { echo "FAIL: $unit is not Type=notify"; exit 1; }

# Commands of the system the unit names (ExecReload=/bin/kill) as the target system has them.
for cmd in $(grep -o '^Exec[A-Za-z]*=[-@:+!]*/[^ ]*' "$root$unit" | sed 's/^[^=]*=[-@:+!]*//'); do
	case $cmd in
	/bin/* | /usr/bin/*)
		mkdir -p "$root$(dirname "$cmd")" && cp "$cmd" "$root$cmd" ||
			{ echo "FAIL: $cmd, named by the unit, is not on this system"; exit 1; } ;;
	esac
done

# Documentation= names the installed pages: verify runs man(1) on each, here on the pages this
# install put under $root (MANPATH), and on the README's path under $root.
mandir=$(cd "$root" && find . -path '*/man8/nfqd.8' | head -n 1 | sed 's|^\.||; s|/man8/nfqd.8$||')
for doc in $(sed -n 's/^Documentation=//p' "$root$unit"); do
	case $doc in
	file://*) [ -f "$root${doc#file://}" ] ||
		{ echo "FAIL: Documentation=$doc is not installed (under $root)"; exit 1; } ;;
	man:*) [ -n "$mandir" ] || { echo "FAIL: Documentation=$doc: no man page installed"; exit 1; } ;;
	*) echo "FAIL: Documentation=$doc: neither man: nor file://"; exit 1 ;;
	esac
done

out=$(MANPATH="$root$mandir" systemd-analyze verify --root="$root" "$unit" 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
	echo "FAIL: systemd-analyze verify $unit (exit $rc):"
	echo "$out"
	exit 1
fi
echo "PASS: systemd-analyze verify $unit"
