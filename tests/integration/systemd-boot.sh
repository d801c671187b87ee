#!/bin/bash
# Boots a real systemd (Debian 12) in a container with nfqd installed by `cmake --install`, and
# checks what an operator relies on: `systemctl start nfqd` returns once nfqd reported READY=1
# (Type=notify), traffic on the container's loopback goes through a queue and is counted by
# nfqctl, `systemctl stop` drains and exits 0 (STOPPING=1), log priorities reach the journal,
# and a restart binds the queue again.
#
# The Debian root is built once with debootstrap and kept in BUILD_DIR/nspawn-rootfs.
set -u
build=${1:?usage: systemd-boot.sh BUILD_DIR}
build=$(cd "$build" && pwd)
root=${NFQD_NSPAWN_ROOT:-$build/nspawn-rootfs}
pkgs=systemd,systemd-sysv,dbus,iproute2,iptables,libmnl0,libnetfilter-queue1,libnfnetlink0,libinih1
stamp="$root/.nfqd-rootfs"

fail() {
	echo "FAIL: $*"
	exit 1
}

mirror() {
	local m
	m=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1 | awk '{print $2}')
	[ -n "$m" ] || m=$(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | head -n 1 | awk '{print $2}')
	echo "${m:-http://deb.debian.org/debian}"
}

command -v debootstrap >/dev/null || fail "debootstrap is not installed (scripts/setup installs it)"
command -v systemd-nspawn >/dev/null || fail "systemd-nspawn is not installed (scripts/setup)"

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$pkgs" ]; then
	rm -rf "$root"
	echo "building a Debian 12 root in $root (debootstrap, about a minute)"
	debootstrap --variant=minbase --include="$pkgs" bookworm "$root" "$(mirror)" \
		>"$build/debootstrap.log" 2>&1 || {
		tail -n 20 "$build/debootstrap.log"
		fail "debootstrap"
	}
	echo "$pkgs" >"$stamp"
fi

DESTDIR=$root cmake --install "$build" >/dev/null || fail "cmake --install into the container"

cat >"$root/etc/nfqd/nfqd.conf" <<'EOF'
[queue]
queues = 0
[policy]
default = accept
rule = drop proto udp dport 9998
EOF

mkdir -p "$root/usr/local/libexec"
cat >"$root/usr/local/libexec/nfqd-boot-check" <<'EOF'
#!/bin/bash
exec >/nfqd-boot-result 2>&1
PATH=/usr/local/sbin:/usr/local/bin:$PATH
fail() {
	echo "FAIL: $*"
	journalctl -u nfqd --no-pager | tail -n 40
	echo "RESULT FAIL"
	systemctl poweroff --no-block
	exit 1
}
ok() { echo "ok: $*"; }
num() { echo "$1" | grep -o "\"$2\":[0-9]*" | head -n 1 | cut -d: -f2; }

systemctl start nfqd || fail "systemctl start nfqd"
[ "$(systemctl is-active nfqd)" = active ] || fail "nfqd not active after start"
systemctl show -p StatusText --value nfqd | grep -q 'Serving queues 0' ||
	fail "no READY status text: $(systemctl show -p StatusText --value nfqd)"
ok "systemctl start returned with nfqd active and ready (Type=notify)"

iptables -A OUTPUT -o lo -p udp -j NFQUEUE --queue-num 0 || fail "iptables"
for i in $(seq 100); do echo pass >/dev/udp/127.0.0.1/9000; done
for i in $(seq 50); do echo drop >/dev/udp/127.0.0.1/9998; done
sleep 0.5
stats=$(nfqctl stats) || fail "nfqctl stats"
echo "$stats"
[ "$(num "$stats" received)" = 150 ] || fail "received is not 150"
[ "$(num "$stats" accepted)" = 100 ] || fail "accepted is not 100"
[ "$(num "$stats" dropped)" = 50 ] || fail "dropped is not 50"
ok "nfqctl stats: 150 received, 100 accepted, 50 dropped"

systemctl stop nfqd || fail "systemctl stop nfqd"
[ "$(systemctl show -p Result --value nfqd)" = success ] || fail "stop result not success"
[ "$(systemctl show -p ExecMainStatus --value nfqd)" = 0 ] || fail "nfqd did not exit 0"
journalctl -u nfqd -o cat --no-pager | grep -q 'queue 0: final: received=150 accepted=100 dropped=50' ||
	fail "no final accounting line in the journal"
journalctl -u nfqd -o cat --no-pager | grep -q 'kernel_queued=0' || fail "packets left queued"
# Priorities are parsed by the journal: no raw "<6>" prefixes in the messages.
journalctl -u nfqd -o cat --no-pager | grep -q '^<[0-9]>' && fail "raw priority prefixes in the journal"
journalctl -u nfqd -p info -o cat --no-pager | grep -q 'ready: serving queues 0' ||
	fail "info messages missing from the journal"
ok "systemctl stop: drained, exit 0, accounting in the journal"

systemctl restart nfqd || fail "systemctl restart nfqd"
[ "$(systemctl is-active nfqd)" = active ] || fail "nfqd not active after restart"
grep -qE '^ +0 ' /proc/net/netfilter/nfnetlink_queue || fail "queue 0 not bound after restart"
echo again >/dev/udp/127.0.0.1/9000
sleep 0.2
[ "$(num "$(nfqctl stats)" received)" = 1 ] || fail "no traffic after restart"
ok "systemctl restart: queue bound again, traffic flows"

echo "RESULT PASS"
systemctl poweroff --no-block
EOF
chmod +x "$root/usr/local/libexec/nfqd-boot-check"

cat >"$root/etc/systemd/system/nfqd-boot-check.service" <<'EOF'
[Unit]
Description=nfqd checks under a real systemd
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/libexec/nfqd-boot-check

[Install]
WantedBy=multi-user.target
EOF
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/nfqd-boot-check.service \
	"$root/etc/systemd/system/multi-user.target.wants/nfqd-boot-check.service"
rm -f "$root/nfqd-boot-result"

timeout 300 systemd-nspawn -q -D "$root" --boot --private-network --register=no --keep-unit \
	>"$build/nspawn.log" 2>&1
rc=$?
if [ ! -f "$root/nfqd-boot-result" ]; then
	tail -n 40 "$build/nspawn.log"
	fail "the container wrote no result (systemd-nspawn exit $rc)"
fi
cat "$root/nfqd-boot-result"
grep -q '^RESULT PASS$' "$root/nfqd-boot-result" || fail "checks under systemd"
echo "PASS: nfqd under a real systemd"
