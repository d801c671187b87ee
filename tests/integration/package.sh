#!/bin/bash
# The Debian package, end to end: `dpkg-buildpackage -us -uc -b` builds nfqd_*.deb in a copy of
# the tree (the source tree gets no file), lintian passes on the .deb and the .changes (every
# tag left is overridden, with its reason, in debian/nfqd.lintian-overrides), and in a real
# systemd (Debian 12, systemd-nspawn, no network):
# - `apt install ./nfqd_*.deb` resolves its dependencies and installs the unit (disabled, not
#   started), the configuration as a conffile, the man pages and the README;
# - `systemctl start nfqd` makes it active, and its control socket answers `nfqctl stats`;
# - `apt purge nfqd` stops it and leaves nothing behind: the list of files of the root is the
#   same as before the install, no /etc/nfqd, no /run/nfqd (also after an nfqd run by hand,
#   which leaves its last-good file there), no process, passwd and group unchanged.
# The Debian root is built once with debootstrap and kept in BUILD_DIR/nspawn-pkgroot, with the
# package's dependencies (its recommends included) installed, so that apt needs no network.
set -u
build=$(cd "${1:?usage: package.sh BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/systemd-container.sh"
work=$(mktemp -d /tmp/nfqd-package-XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

command -v dpkg-buildpackage >/dev/null || fail "dpkg-buildpackage is not installed (scripts/setup)"
git -C "$src" rev-parse --git-dir >/dev/null 2>&1 || fail "$src is not a git checkout"
before_src=$(git -C "$src" status --porcelain --untracked-files=all)

# The tree as git sees it (tracked files and new ones, not the ignored build directories).
mkdir "$work/nfqd"
(cd "$src" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$work/nfqd") ||
	fail "copying the tree"
(cd "$work/nfqd" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 || {
	tail -n 30 "$work/build.log"
	fail "dpkg-buildpackage -us -uc -b"
}
deb=$(ls "$work"/nfqd_*_*.deb 2>/dev/null | head -n 1)
changes=$(ls "$work"/nfqd_*.changes 2>/dev/null | head -n 1)
[ -n "$deb" ] && [ -n "$changes" ] || fail "no nfqd_*.deb and .changes: $(ls "$work")"
[ "$(git -C "$src" status --porcelain --untracked-files=all)" = "$before_src" ] ||
	fail "building the package changed the source tree"
# The package's version (debian/changelog) is the project's (CMakeLists.txt), as nfqd -V says.
want=$(sed -n 's/^project(nfqd VERSION \([^ )]*\).*/\1/p' "$src/CMakeLists.txt")
got=$(dpkg-deb -f "$deb" Version)
[ "$got" = "$want" ] || fail "the package is version '$got', the project '$want': add a debian/changelog entry"
echo "ok: built $(basename "$deb"), version $got as the project's"

lint=$(lintian --info --pedantic --fail-on error,warning,info,pedantic "$changes" 2>&1)
rc=$?
echo "$lint" | grep -v '^running with root privileges'
[ $rc -eq 0 ] || fail "lintian (exit $rc)"
echo "ok: lintian --info --pedantic: no tag that is not overridden"

root=${NFQD_NSPAWN_PKGROOT:-$build/nspawn-pkgroot}
container_debootstrap "$root" "$container_pkgs,ipset,libcap2,libseccomp2,libsystemd0" \
	"$build/debootstrap-pkg.log"
rm -rf "$root/root/nfqd-pkg"
mkdir -p "$root/root/nfqd-pkg" "$root/usr/local/libexec"
cp "$deb" "$root/root/nfqd-pkg/" || fail "copying the package into the container"

{
	container_check_script nfqd-package-check
	cat <<'EOF_CHECK'
export DEBIAN_FRONTEND=noninteractive
# Every file of the root but what changes by itself (logs, caches, apt's and dpkg's own
# records, the kernel's and systemd's runtime trees) and what this test brought.
snapshot() {
	find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
		-o -path /var/tmp -o -path /var/log -o -path /var/cache -o -path /var/lib/apt \
		-o -path /var/lib/dpkg -o -path /var/lib/systemd/timers -o -path /root/nfqd-pkg \
		-o -path /nfqd-package-check-result \) -prune -o -print | sort
}
nfqd_running() { grep -qx nfqd /proc/[0-9]*/comm 2>/dev/null; }

cd /root/nfqd-pkg || fail "no /root/nfqd-pkg"
# What an earlier run that failed half way left.
dpkg -s nfqd >/dev/null 2>&1 && apt-get purge -y nfqd >/dev/null 2>&1
snapshot >/root/nfqd-pkg/files.before
sha256sum /etc/passwd /etc/group /etc/shadow /etc/gshadow >/root/nfqd-pkg/users.before

apt install -y ./nfqd_*.deb </dev/null >apt.log 2>&1 || fail "apt install ./nfqd_*.deb: $(cat apt.log)"
[ "$(dpkg-query -W -f='${Status}' nfqd)" = "install ok installed" ] || fail "nfqd not installed"
for f in /usr/sbin/nfqd /usr/bin/nfqctl /lib/systemd/system/nfqd.service /etc/nfqd/nfqd.conf \
	/usr/share/man/man8/nfqd.8.gz /usr/share/man/man5/nfqd.conf.5.gz \
	/usr/share/man/man8/nfqctl.8.gz /usr/share/doc/nfqd/README.md; do
	[ -f "$f" ] || fail "$f is not installed"
done
dpkg-query -W -f='${Conffiles}\n' nfqd | grep -q '^ /etc/nfqd/nfqd.conf ' ||
	fail "/etc/nfqd/nfqd.conf is not a conffile: $(dpkg-query -W -f='${Conffiles}' nfqd)"
grep -qx 'ExecStart=/usr/sbin/nfqd -c /etc/nfqd/nfqd.conf' /lib/systemd/system/nfqd.service ||
	fail "the unit's ExecStart: $(grep ExecStart= /lib/systemd/system/nfqd.service)"
grep -q 'file:///usr/share/doc/nfqd/README.md' /lib/systemd/system/nfqd.service ||
	fail "the unit's Documentation=: $(grep Documentation= /lib/systemd/system/nfqd.service)"
[ "$(systemctl is-enabled nfqd)" = disabled ] || fail "nfqd is $(systemctl is-enabled nfqd), not disabled"
systemctl is-active -q nfqd && fail "nfqd was started by the install"
getent passwd nfqd >/dev/null && fail "the install made a user nfqd"
ok "apt install: binaries, unit (disabled, not started), conffile, man pages, README"

systemctl start nfqd || fail "systemctl start nfqd"
[ "$(systemctl is-active nfqd)" = active ] || fail "nfqd not active after start"
stats=$(nfqctl stats) || fail "nfqctl stats"
echo "$stats"
echo "$stats" | grep -q '"queues":\[{"queue":0,' || fail "nfqctl stats has no queue 0"
[ -S /run/nfqd/control.sock ] || fail "no control socket /run/nfqd/control.sock"
ok "systemctl start nfqd: active, the control socket answers nfqctl stats"

# nfqd run by hand (not by the unit) leaves its runtime directory: the purge removes it.
systemctl stop nfqd || fail "systemctl stop nfqd"
nfqd -c /etc/nfqd/nfqd.conf --last-good /run/nfqd/last-good.conf 2>hand.log &
hand=$!
for _ in $(seq 300); do [ -S /run/nfqd/control.sock ] && break; sleep 0.1; done
nfqctl stats >/dev/null || fail "nfqd run by hand does not answer: $(cat hand.log)"
kill -TERM $hand
wait $hand || fail "nfqd run by hand exited $?: $(cat hand.log)"
[ -f /run/nfqd/last-good.conf ] || fail "nfqd run by hand left no /run/nfqd/last-good.conf"
ok "nfqd run by hand: served, stopped, left /run/nfqd/last-good.conf"

apt purge -y nfqd </dev/null >apt.log 2>&1 || fail "apt purge nfqd: $(cat apt.log)"
dpkg -s nfqd >/dev/null 2>&1 && fail "nfqd is still known to dpkg after the purge"
nfqd_running && fail "an nfqd process runs after the purge"
for d in /etc/nfqd /run/nfqd /usr/share/doc/nfqd; do
	[ -e "$d" ] && fail "$d is left after the purge: $(ls -la "$d")"
done
snapshot >/root/nfqd-pkg/files.after
diff /root/nfqd-pkg/files.before /root/nfqd-pkg/files.after >/root/nfqd-pkg/files.diff ||
	fail "files differ after the purge: $(cat /root/nfqd-pkg/files.diff)"
sha256sum -c --quiet /root/nfqd-pkg/users.before || fail "passwd or group changed"
ok "apt purge nfqd: stopped, no file left ($(wc -l </root/nfqd-pkg/files.before) files compared), no /run/nfqd, no user"

container_pass
EOF_CHECK
} >"$root/usr/local/libexec/nfqd-package-check"
container_run_check nfqd-package-check "$build/nspawn-pkg.log" --private-network
rm -rf "$root/root/nfqd-pkg"
echo "PASS: the Debian package installs, serves and purges clean"
