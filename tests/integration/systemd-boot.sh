#!/bin/bash
# Boots a real systemd (Debian 12) in a container with nfqd installed by `cmake --install`, and
# checks what an operator relies on: `systemctl start nfqd` returns once nfqd reported READY=1
# (Type=notify), traffic on the container's loopback goes through a queue and is counted by
# nfqctl, `systemctl stop` drains and exits 0 (STOPPING=1), log priorities reach the journal,
# a restart binds the queue again, a restart with a bad file serves the last good configuration
# and SIGHUP reloads, every thread runs with cap_net_admin alone, no_new_privs and
# the seccomp filter, and `[daemon] user =` works under the unit, writing the metrics textfile
# into node-exporter's directory. It prints
# `systemd-analyze security nfqd` for the record.
#
# The Debian root is built once with debootstrap and kept in BUILD_DIR/nspawn-rootfs
# (systemd-container.sh).
set -u
build=${1:?usage: systemd-boot.sh BUILD_DIR}
build=$(cd "$build" && pwd)
. "$(dirname "$0")/systemd-container.sh"
container_root "$build"

cat >"$root/etc/nfqd/nfqd.conf" <<'EOF'
[queue]
queues = 0
[policy]
default = accept
rule = drop proto udp dport 9998
EOF

cat >"$root/usr/local/libexec/nfqd-boot-check" <<'EOF'
#!/bin/bash
exec >/nfqd-boot-result 2>&1
PATH=/usr/local/sbin:/usr/local/bin:$PATH
fail() {
	echo "FAIL: $*"
	journalctl -b -u nfqd --no-pager | tail -n 40
	echo "RESULT FAIL"
	systemctl poweroff --no-block
	exit 1
}
ok() { echo "ok: $*"; }
num() { echo "$1" | grep -o "\"$2\":[0-9]*" | head -n 1 | cut -d: -f2; }

# Every thread of nfqd: cap_net_admin alone, no_new_privs, seccomp filter; and its uid.
check_privileges() { # UID
	local pid f kv k v got
	pid=$(systemctl show -p MainPID --value nfqd)
	[ "$pid" -gt 0 ] || fail "no main pid"
	for f in /proc/$pid/status /proc/$pid/task/*/status; do
		for kv in CapInh=0000000000000000 CapPrm=0000000000001000 CapEff=0000000000001000 \
			CapBnd=0000000000001000 CapAmb=0000000000000000 NoNewPrivs=1 Seccomp=2 \
			Uid="$1"; do
			k=${kv%%=*} v=${kv#*=}
			got=$(awk -v k="$k:" '$1 == k { print $2 }' "$f")
			[ "$got" = "$v" ] || fail "$f: $k is '$got', expected '$v'"
		done
	done
	ok "every thread of nfqd (pid $pid, $(ls /proc/$pid/task | wc -l) threads): uid $1, cap_net_admin only, no_new_privs, seccomp filter"
}

# The unit's exposure as systemd rates it (read by the report, not asserted).
echo "== systemd-analyze security nfqd.service"
systemd-analyze security --no-pager nfqd.service
echo "== end of systemd-analyze security"

systemctl start nfqd || fail "systemctl start nfqd"
[ "$(systemctl is-active nfqd)" = active ] || fail "nfqd not active after start"
check_privileges 0
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
journalctl -b -u nfqd -o cat --no-pager | grep -q 'queue 0: final: received=150 accepted=100 dropped=50' ||
	fail "no final accounting line in the journal"
journalctl -b -u nfqd -o cat --no-pager | grep -q 'kernel_queued=0' || fail "packets left queued"
# This boot's journal (-b): the root is reused, and its journal keeps earlier boots.
# Priorities are parsed by the journal: no raw "<6>" prefixes in the messages.
journalctl -b -u nfqd -o cat --no-pager | grep -q '^<[0-9]>' && fail "raw priority prefixes in the journal"
journalctl -b -u nfqd -p info -o cat --no-pager | grep -q 'ready: serving queues 0' ||
	fail "info messages missing from the journal"
ok "systemctl stop: drained, exit 0, accounting in the journal"

systemctl restart nfqd || fail "systemctl restart nfqd"
[ "$(systemctl is-active nfqd)" = active ] || fail "nfqd not active after restart"
grep -qE '^ +0 ' /proc/net/netfilter/nfnetlink_queue || fail "queue 0 not bound after restart"
echo again >/dev/udp/127.0.0.1/9000
sleep 0.2
[ "$(num "$(nfqctl stats)" received)" = 1 ] || fail "no traffic after restart"
ok "systemctl restart: queue bound again, traffic flows"

# A restart with a bad file serves the last good configuration (README.md, Live reload).
lg=/run/nfqd/last-good.conf
cmp /etc/nfqd/nfqd.conf $lg || fail "$lg is not the configuration loaded"
[ "$(stat -c %a $lg)" = 600 ] || fail "$lg is mode $(stat -c %a $lg), not 600"
cp /etc/nfqd/nfqd.conf /root/nfqd.conf.good
echo 'rule = dorp proto udp dport 1' >>/etc/nfqd/nfqd.conf
systemctl restart nfqd || fail "systemctl restart nfqd with a bad file"
[ "$(systemctl is-active nfqd)" = active ] || fail "nfqd not active after a restart with a bad file"
systemctl show -p StatusText --value nfqd | grep -q "LAST GOOD configuration $lg: /etc/nfqd/nfqd.conf:6: " ||
	fail "status text: $(systemctl show -p StatusText --value nfqd)"
nfqctl status | grep -q '"serving_last_good":true' || fail "nfqctl status: $(nfqctl status)"
journalctl -b -u nfqd -p err -o cat --no-pager | grep -q "does not load: serving with the last good" ||
	fail "the fallback is not in the journal at error priority"
cp /root/nfqd.conf.good /etc/nfqd/nfqd.conf
kill -HUP "$(systemctl show -p MainPID --value nfqd)"
for _ in $(seq 1 600); do nfqctl status | grep -q '"generation":2' && break; sleep 0.1; done
nfqctl status | grep -q '"generation":2,.*"serving_last_good":false' ||
	fail "SIGHUP did not load the fixed file: $(nfqctl status)"
ok "restart with a bad file: the last good configuration serves; SIGHUP loads the fixed file"

# `[daemon] user =` under systemd: the unit must let nfqd switch (README.md, Privileges).
id -u nfqd >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin nfqd ||
	fail "useradd nfqd"
mkdir -p /etc/systemd/system/nfqd.service.d
cat >/etc/systemd/system/nfqd.service.d/user.conf <<'EOD'
[Service]
CapabilityBoundingSet=CAP_NET_ADMIN CAP_SETUID CAP_SETGID CAP_SETPCAP
SystemCallFilter=@setuid capset
EOD
printf '[daemon]\nuser = nfqd\n' >>/etc/nfqd/nfqd.conf
# The metrics textfile in node-exporter's directory, which the unit's sandbox opens to nfqd.
prom=/var/lib/prometheus/node-exporter/nfqd.prom
# (the root is reused: a file of an earlier boot must not pass for this one's)
rm -f "$prom" "$prom.tmp"
mkdir -p "${prom%/*}" && chown nfqd "${prom%/*}" || fail "the textfile directory"
printf '[metrics]\ntextfile = %s\ninterval = 1\n' "$prom" >>/etc/nfqd/nfqd.conf
systemctl daemon-reload
systemctl restart nfqd || fail "systemctl restart nfqd as user nfqd"
check_privileges "$(id -u nfqd)"
for i in $(seq 30); do echo pass >/dev/udp/127.0.0.1/9000; done
for i in $(seq 20); do echo drop >/dev/udp/127.0.0.1/9998; done
sleep 0.5
stats=$(nfqctl stats) || fail "nfqctl stats (user nfqd)"
[ "$(num "$stats" accepted)" = 30 ] || fail "accepted is not 30 as user nfqd: $stats"
[ "$(num "$stats" dropped)" = 20 ] || fail "dropped is not 20 as user nfqd: $stats"
for _ in $(seq 600); do
	grep -q '^nfqd_packets_total{queue="0",verdict="accept"} 30$' "$prom" 2>/dev/null && break
	sleep 0.1
done
grep -q '^nfqd_packets_total{queue="0",verdict="accept"} 30$' "$prom" ||
	fail "the textfile $prom lacks the counts: $(journalctl -b -u nfqd -o cat --no-pager | grep metrics)"
[ "$(stat -c %a "$prom")" = 644 ] || fail "$prom is mode $(stat -c %a "$prom"), not 644"
ok "[metrics] textfile: written as user nfqd under the unit's sandbox, mode 644"
systemctl stop nfqd || fail "systemctl stop nfqd (user nfqd)"
[ "$(systemctl show -p ExecMainStatus --value nfqd)" = 0 ] || fail "nfqd as user nfqd did not exit 0"
journalctl -b -u nfqd -o cat --no-pager | grep -q 'final: received=50 accepted=30 dropped=20 .*kernel_queued=0' ||
	fail "no final accounting with the kernel's counters as user nfqd"
ok "as user nfqd: verdicts sent, drained with the kernel's counters, exit 0"

# A call outside nfqd's seccomp allowlist, made by the test helper through the same filter, in
# a unit of its own: its line is in the journal at priority err, and the process died of it.
systemd-run --quiet --wait --unit=nfqd-seccomp-check -p StandardError=journal \
	/usr/local/libexec/nfqd-privilege-helper rmdir
# journald takes the line from the unit's stream on its own time: wait for it.
denied_logged() {
	journalctl -b -u nfqd-seccomp-check -p err -o cat --no-pager |
		grep -qx 'seccomp: system call rmdir (84) is not allowed; exiting'
}
for _ in $(seq 600); do denied_logged && break; sleep 0.1; done
denied_logged || {
	journalctl -b -u nfqd-seccomp-check -o cat --no-pager
	fail "no err line in the journal for a denied system call"
}
[ "$(systemctl show -p ExecMainCode --value nfqd-seccomp-check)" = 2 ] ||
	fail "the denied call did not kill the helper (code $(systemctl show -p ExecMainCode --value nfqd-seccomp-check))"
ok "a denied system call: one line at priority err in the journal, then death by SIGSYS"

echo "RESULT PASS"
systemctl poweroff --no-block
EOF
chmod +x "$root/usr/local/libexec/nfqd-boot-check"

container_check_unit nfqd-boot-check
rm -f "$root/nfqd-boot-result"
container_boot "$build/nspawn.log" 300 --private-network
rc=$?
if [ ! -f "$root/nfqd-boot-result" ]; then
	tail -n 40 "$build/nspawn.log"
	fail "the container wrote no result (systemd-nspawn exit $rc)"
fi
cat "$root/nfqd-boot-result"
grep -q '^RESULT PASS$' "$root/nfqd-boot-result" || fail "checks under systemd"
echo "PASS: nfqd under a real systemd"
