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

out=$(systemd-analyze verify --root="$root" "$unit" 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
	echo "FAIL: systemd-analyze verify $unit (exit $rc):"
	echo "$out"
	exit 1
fi
echo "PASS: systemd-analyze verify $unit"
