#!/bin/bash
# Where `cmake --install` puts things, and that the uninstall target takes them out again:
# - for the build directory given (its own prefix), installed under a DESTDIR: the programs,
#   the configuration, the man pages, the README, and the unit whose ExecStart=, -c and
#   Documentation= name the files installed;
# - for the prefixes /usr/local, /usr and /opt/nfqd (configured only): the unit goes where
#   systemd reads units for that prefix, with ExecStart= under the prefix;
# - `cmake --build BUILD --target uninstall` leaves only directories and the configuration.
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: install-layout.sh BUILD_DIR}" && pwd)
tmp=$(mktemp -d /tmp/nfqd-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() {
	echo "FAIL: $*"
	exit 1
}

# unit_dir PREFIX: where systemd reads units installed with that prefix (systemd.unit(5)).
unit_dir() {
	case $1 in
	/usr) pkg-config --variable=systemdsystemunitdir systemd ;;
	/usr/local) echo /usr/local/lib/systemd/system ;;
	*) echo /etc/systemd/system ;;
	esac
}

# The unit's directory and ExecStart= as configured for each prefix.
for prefix in /usr/local /usr /opt/nfqd; do
	b="$tmp/build${prefix//\//-}"
	cmake -S "$src" -B "$b" -DCMAKE_INSTALL_PREFIX="$prefix" -DNFQD_BUILD_TESTS=OFF \
		>"$b.log" 2>&1 || { cat "$b.log"; fail "configure with prefix $prefix"; }
	want=$(unit_dir "$prefix")
	grep -qF "file(INSTALL DESTINATION \"$want\" TYPE FILE FILES \"$b/nfqd.service\")" \
		"$b/cmake_install.cmake" || {
		grep -n 'nfqd.service' "$b/cmake_install.cmake"
		fail "prefix $prefix: the unit is not installed to $want"
	}
	grep -qx "ExecStart=$prefix/sbin/nfqd -c /etc/nfqd/nfqd.conf" "$b/nfqd.service" ||
		fail "prefix $prefix: $(grep ExecStart= "$b/nfqd.service")"
	grep -qx "Documentation=man:nfqd(8) man:nfqd.conf(5) man:nfqctl(8) file://$prefix/share/doc/nfqd/README.md" \
		"$b/nfqd.service" || fail "prefix $prefix: $(grep Documentation= "$b/nfqd.service")"
	echo "ok: prefix $prefix: unit in $want, ExecStart=$prefix/sbin/nfqd"
	# systemd reads that directory
	systemd-analyze unit-paths 2>/dev/null | grep -qx "$want" ||
		[ "$want" = "$(pkg-config --variable=systemdsystemunitdir systemd)" ] ||
		fail "systemd does not read units in $want"
done

# The build directory's own install, under a DESTDIR.
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
root="$tmp/root"
DESTDIR=$root cmake --install "$build" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; fail "cmake --install"; }
unit="$(unit_dir "$prefix")/nfqd.service"
for f in "$prefix/sbin/nfqd" "$prefix/bin/nfqctl" /etc/nfqd/nfqd.conf "$unit" \
	"$prefix/share/man/man8/nfqd.8" "$prefix/share/man/man5/nfqd.conf.5" \
	"$prefix/share/man/man8/nfqctl.8" "$prefix/share/doc/nfqd/README.md"; do
	[ -f "$root$f" ] || fail "$f is not installed (prefix $prefix)"
done
exe=$(sed -n 's/^ExecStart=\([^ ]*\) -c \(.*\)$/\1/p' "$root$unit")
conf=$(sed -n 's/^ExecStart=\([^ ]*\) -c \(.*\)$/\2/p' "$root$unit")
[ -x "$root$exe" ] || fail "ExecStart= names $exe, not installed"
[ -f "$root$conf" ] || fail "ExecStart= -c names $conf, not installed"
doc=$(sed -n 's/^Documentation=.* file:\/\/\(.*\)$/\1/p' "$root$unit")
cmp -s "$root$doc" "$src/README.md" || fail "Documentation= names $doc, not the README installed"
for page in nfqd.8 nfqd.conf.5 nfqctl.8; do
	grep -q "man:${page%.*}(${page##*.})" "$root$unit" || fail "Documentation= does not name $page"
done
echo "ok: installed under DESTDIR with prefix $prefix; the unit names $exe, $conf, $doc"

# Uninstall: nothing but directories and the configuration stays.
DESTDIR=$root cmake --build "$build" --target uninstall >"$tmp/uninstall.log" 2>&1 ||
	{ cat "$tmp/uninstall.log"; fail "the uninstall target"; }
left=$(cd "$root" && find . ! -type d | sed 's|^\.||')
[ "$left" = /etc/nfqd/nfqd.conf ] || fail "left after uninstall: $left"
echo "ok: uninstall removed every installed file but /etc/nfqd/nfqd.conf"
echo "PASS: install layout"
