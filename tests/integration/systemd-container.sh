# Sourced by the tests that boot a real systemd (Debian 12) in a container with nfqd installed by
# `cmake --install`: systemd-boot.sh and systemd-restart.sh. Not a program of its own.
#
# The Debian root is built once with debootstrap and kept in BUILD_DIR/nspawn-rootfs (or
# $NFQD_NSPAWN_ROOT). A check runs inside as a oneshot unit enabled for multi-user.target; it
# writes its result to a file of the root, which the caller reads after the poweroff.

container_pkgs=systemd,systemd-sysv,dbus,iproute2,iptables,libmnl0,libnetfilter-queue1,libnfnetlink0,libinih1,liburing2,libpcap0.8

fail() {
	echo "FAIL: $*"
	exit 1
}

container_mirror() {
	local m
	m=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1 | awk '{print $2}')
	[ -n "$m" ] || m=$(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | head -n 1 | awk '{print $2}')
	echo "${m:-http://deb.debian.org/debian}"
}

# container_debootstrap ROOT PACKAGES LOG: build the Debian root ROOT with PACKAGES (comma
# separated), once: it is kept, and built again only when PACKAGES change.
container_debootstrap() {
	local dir=$1 pkgs=$2 log=$3 stamp="$1/.nfqd-rootfs"
	command -v debootstrap >/dev/null || fail "debootstrap is not installed (scripts/setup installs it)"
	command -v systemd-nspawn >/dev/null || fail "systemd-nspawn is not installed (scripts/setup)"
	if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$pkgs" ]; then
		rm -rf "$dir"
		echo "building a Debian 12 root in $dir (debootstrap, about a minute)"
		debootstrap --variant=minbase --include="$pkgs" bookworm "$dir" \
			"$(container_mirror)" >"$log" 2>&1 || {
			tail -n 20 "$log"
			fail "debootstrap"
		}
		echo "$pkgs" >"$stamp"
	fi
}

# container_root BUILD_DIR: build (once) the Debian root and install nfqd, its unit and the
# privilege helper into it; sets $root.
container_root() {
	local build=$1
	root=${NFQD_NSPAWN_ROOT:-$build/nspawn-rootfs}
	container_debootstrap "$root" "$container_pkgs" "$build/debootstrap.log"
	DESTDIR=$root cmake --install "$build" >/dev/null || fail "cmake --install into the container"
	mkdir -p "$root/usr/local/libexec"
	install -m 0755 "$build/tests/privilege_helper" "$root/usr/local/libexec/nfqd-privilege-helper" ||
		fail "the privilege helper is not built (tests/privilege_helper)"
	# drop-ins an earlier run's checks left
	rm -rf "$root/etc/systemd/system/nfqd.service.d"
}

# container_check_unit NAME: the script /usr/local/libexec/NAME (written by the caller) runs once
# at boot, as unit NAME.service. Only this one check unit is enabled.
container_check_unit() {
	local name=$1 wants="$root/etc/systemd/system/multi-user.target.wants"
	cat >"$root/etc/systemd/system/$name.service" <<EOF
[Unit]
Description=nfqd checks under a real systemd ($name)
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/libexec/$name

[Install]
WantedBy=multi-user.target
EOF
	mkdir -p "$wants"
	find "$wants" -name 'nfqd-*.service' -delete
	ln -sf "/etc/systemd/system/$name.service" "$wants/$name.service"
}

# container_boot LOG TIMEOUT_S NSPAWN_ARGS...: boot the root until it powers off; returns
# systemd-nspawn's exit status.
#
# Without a systemd on the host, --keep-unit leaves the container in nspawn's own cgroup: two
# containers booted at once from the same cgroup would manage the same system.slice and break
# each other's units (status 219/CGROUP). Each boot gets a cgroup of its own, removed after.
container_boot() {
	local log=$1 secs=$2 rc d h
	local cgroup_dirs=()
	shift 2
	for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified /sys/fs/cgroup; do
		[ -w "$h/cgroup.procs" ] || continue
		[ "$h" = /sys/fs/cgroup ] && [ ${#cgroup_dirs[@]} -gt 0 ] && continue
		cgroup_dirs+=("$h/nfqd-boot-$$-$BASHPID")
	done
	(
		for d in "${cgroup_dirs[@]}"; do
			mkdir -p "$d" && echo "$BASHPID" >"$d/cgroup.procs"
		done
		exec timeout "$secs" systemd-nspawn -q -D "$root" --boot --register=no --keep-unit "$@"
	) >"$log" 2>&1
	rc=$?
	for d in "${cgroup_dirs[@]}"; do
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	return $rc
}

# container_check_script NAME: print the start of the check script NAME, to be followed by its
# checks: its output goes to /NAME-result, and fail() ends it with nfqd's journal, RESULT FAIL
# and a poweroff; a check that passes ends with `container_pass`.
container_check_script() {
	cat <<EOF_HEAD
#!/bin/bash
exec >/$1-result 2>&1
PATH=/usr/local/sbin:/usr/local/bin:\$PATH
fail() {
	echo "FAIL: \$*"
	journalctl -b -u nfqd --no-pager | tail -n 40
	echo "RESULT FAIL"
	systemctl poweroff --no-block
	exit 1
}
ok() { echo "ok: \$*"; }
container_pass() {
	echo "RESULT PASS"
	systemctl poweroff --no-block
}
EOF_HEAD
}

# container_run_check NAME LOG NSPAWN_ARGS...: boot the root with the check NAME (written by
# container_check_script and the caller to /usr/local/libexec/NAME) as its one check unit,
# print its result, and fail unless it passed.
container_run_check() {
	local name=$1 log=$2 rc
	shift 2
	chmod +x "$root/usr/local/libexec/$name"
	container_check_unit "$name"
	rm -f "$root/$name-result"
	container_boot "$log" 300 "$@"
	rc=$?
	if [ ! -f "$root/$name-result" ]; then
		tail -n 40 "$log"
		fail "the container wrote no result (systemd-nspawn exit $rc)"
	fi
	cat "$root/$name-result"
	grep -q '^RESULT PASS$' "$root/$name-result" || fail "$name under systemd"
}
