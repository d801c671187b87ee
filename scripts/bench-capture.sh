#!/bin/bash
# What a capture costs nfqd's verdicts: the rate at which nfqd drains a queue pre-filled with N
# small UDP packets (nfqd stopped with SIGSTOP while they are queued, then resumed), without a
# capture, with a capture that selects nothing (-q 7) and with a capture of every packet written
# to /dev/null; ROUNDS rounds. Needs root and a build in build/ (nfqd, nfqctl, nfqd-traffic).
#
#   scripts/bench-capture.sh            N=50000 ROUNDS=3 by default (environment)
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
B=$here/build
T=$B/tests/nfqd-traffic
N=${N:-50000}
ROUNDS=${ROUNDS:-3}
D=$(mktemp -d /tmp/nfqd-bench-capture-XXXXXX)
NS=nfqd-bcap-$$
NP=
cleanup() {
	[ -n "$NP" ] && kill "$NP" 2>/dev/null && wait "$NP" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
ip netns add "$NS" && ip -n "$NS" link set lo up || exit 1
ip netns exec "$NS" iptables -A INPUT -p udp --dport 5000 -j NFQUEUE --queue-num 0 || exit 1
printf '[queue]\nmax-len = 65536\n[policy]\ndefault = accept\n[daemon]\ncontrol = %s/ctl.sock\n' \
	"$D" >"$D/nfqd.conf"

queued() {
	ip netns exec "$NS" awk '$1 == 0 { print $3 }' /proc/net/netfilter/nfnetlink_queue
}

# run LABEL [CAPTURE ARGS]
run() {
	local label=$1 args=${2:-} cp= q t0 t1
	ip netns exec "$NS" "$B/nfqd" -c "$D/nfqd.conf" >"$D/nfqd.log" 2>&1 &
	NP=$!
	while [ ! -S "$D/ctl.sock" ]; do
		kill -0 "$NP" 2>/dev/null || { cat "$D/nfqd.log"; exit 1; }
		sleep 0.1
	done
	if [ -n "$args" ]; then
		"$B/nfqctl" -s "$D/ctl.sock" capture $args -w /dev/null 2>"$D/ctl.out" &
		cp=$!
		until grep -q capturing "$D/ctl.out" 2>/dev/null; do sleep 0.05; done
	fi
	kill -STOP "$NP"
	"$T" send --ns "$NS" --to 127.0.0.1 --port 5000 --count "$N" --size 64 --flows 8 >/dev/null
	q=$(queued)
	[ "$q" = "$N" ] || label="$label (NOT COUNTED: only $q of $N queued)"
	t0=$(date +%s%N)
	kill -CONT "$NP"
	while [ "$(queued)" != 0 ]; do :; done
	t1=$(date +%s%N)
	if [ -n "$cp" ]; then
		kill -INT "$cp"
		wait "$cp"
	fi
	kill "$NP"
	wait "$NP"
	NP=
	rm -f "$D/ctl.sock"
	echo "$label: $q queued, drained in $(((t1 - t0) / 1000000)) ms:" \
		"$((q * 1000000000 / (t1 - t0))) packets/s${cp:+; $(tail -n 1 "$D/ctl.out")}"
}

for ((i = 0; i < ROUNDS; i++)); do
	run "no capture"
	run "capture selecting nothing" "-q 7"
	run "capture of every packet" "-q 0"
done
