#!/bin/bash
# nfqd demo: a client, a firewall and a server in network namespaces. The firewall forwards
# through `iptables -j NFQUEUE --queue-balance 0:1` to nfqd, whose policy drops UDP port 5001.
# Traffic goes through it, the counters are shown, and every number is checked.
#
#   scripts/demo.sh [--short] [--build-dir DIR]
#
# --short runs a shorter throughput step (the test suite runs it so). Without --build-dir it
# installs what it needs (scripts/setup) and builds into ./build first. Needs root.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
short=0
build=""
while [ $# -gt 0 ]; do
	case "$1" in
	--short) short=1 ;;
	--build-dir) build=$2; shift ;;
	-h | --help) sed -n '2,10p' "$0"; exit 0 ;;
	*) echo "demo.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done

if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: run as root (network namespaces, iptables)" >&2
	exit 1
fi
if [ -z "$build" ]; then
	"$here/scripts/setup"
	build=$here/build
	cmake -S "$here" -B "$build" >/dev/null
	cmake --build "$build" -j"$(nproc)" >/dev/null
fi
build=$(cd "$build" && pwd)
nfqd=$build/nfqd
nfqctl=$build/nfqctl
traffic=$build/tests/nfqd-traffic
for b in "$nfqd" "$nfqctl" "$traffic"; do
	[ -x "$b" ] || { echo "demo.sh: $b is not built" >&2; exit 1; }
done

id=$$
cli=nfqd-demo-$id-client
fw=nfqd-demo-$id-fw
srv=nfqd-demo-$id-server
tmp=$(mktemp -d /tmp/nfqd-demo-XXXXXX)
sock=$tmp/control.sock
pid=""

cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	for ns in "$cli" "$fw" "$srv"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

step() { printf '\n== %s\n' "$*"; }
check() { # check WHAT GOT WANT
	if [ "$2" != "$3" ]; then
		echo "demo.sh: FAILED: $1: got $2, expected $3" >&2
		[ -f "$tmp/nfqd.log" ] && cat "$tmp/nfqd.log" >&2
		exit 1
	fi
	printf '   %-46s %s\n' "$1" "$2"
}

step "Topology: client 10.0.1.2 -> firewall (nfqd) -> server 10.0.2.2"
for ns in "$cli" "$fw" "$srv"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add nd${id}c type veth peer name nd${id}f
ip link add nd${id}s type veth peer name nd${id}g
ip link set nd${id}c netns "$cli"; ip link set nd${id}f netns "$fw"
ip link set nd${id}g netns "$fw"; ip link set nd${id}s netns "$srv"
ip -n "$cli" link set nd${id}c name eth0; ip -n "$fw" link set nd${id}f name eth0
ip -n "$fw" link set nd${id}g name eth1; ip -n "$srv" link set nd${id}s name eth0
ip -n "$cli" addr add 10.0.1.2/24 dev eth0; ip -n "$fw" addr add 10.0.1.1/24 dev eth0
ip -n "$fw" addr add 10.0.2.1/24 dev eth1; ip -n "$srv" addr add 10.0.2.2/24 dev eth0
for l in "$cli eth0" "$fw eth0" "$fw eth1" "$srv eth0"; do ip -n ${l% *} link set ${l#* } up; done
ip -n "$cli" route add default via 10.0.1.1
ip -n "$srv" route add default via 10.0.2.1
ip netns exec "$fw" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$fw" iptables -A FORWARD -p udp -j NFQUEUE --queue-balance 0:1
ip netns exec "$fw" iptables -S FORWARD | sed 's/^/   /'

step "nfqd: queues 0-1, default accept, drop UDP port 5001"
cat >"$tmp/nfqd.conf" <<EOF
[queue]
queues = 0-1
[policy]
default = accept
rule = drop proto udp dport 5001
[daemon]
control = $sock
EOF
ip netns exec "$fw" "$nfqd" -c "$tmp/nfqd.conf" 2>"$tmp/nfqd.log" &
pid=$!
for _ in $(seq 100); do
	"$nfqctl" -s "$sock" stats >/dev/null 2>&1 && break
	sleep 0.05
done
"$nfqctl" -s "$sock" stats >/dev/null || { cat "$tmp/nfqd.log"; exit 1; }
sed 's/^/   /' "$tmp/nfqd.log"

stats() { "$nfqctl" -s "$sock" stats; }
sink() { # sink PORT OUTFILE: count at the server until 1 s of silence
	"$traffic" sink --ns "$srv" --port "$1" --idle-ms 1000 >"$2" 2>"$2.err" &
	for _ in $(seq 100); do grep -q listening "$2.err" 2>/dev/null && break; sleep 0.02; done
}

step "1000 datagrams to port 5000 and 1000 to port 5001, from 8 client addresses"
srcs=""
for i in $(seq 10 17); do
	ip -n "$cli" addr add 10.0.1.$i/24 dev eth0
	srcs="$srcs${srcs:+,}10.0.1.$i"
done
sink 5000 "$tmp/s5000"; s1=$!
sink 5001 "$tmp/s5001"; s2=$!
"$traffic" send --ns "$cli" --src "$srcs" --to 10.0.2.2 --port 5000 --count 1000 --flows 8 \
	--pause-us 200 >/dev/null
"$traffic" send --ns "$cli" --src "$srcs" --to 10.0.2.2 --port 5001 --count 1000 --flows 8 \
	--pause-us 200 >/dev/null
wait $s1 $s2
check "server received on port 5000" "$(cut -d= -f2 "$tmp/s5000")" 1000
check "server received on port 5001" "$(cut -d= -f2 "$tmp/s5001")" 0
s=$(stats)
check "nfqd received (both queues)" "$(jq .total.received <<<"$s")" 2000
check "nfqd accepted" "$(jq .total.accepted <<<"$s")" 1000
check "nfqd dropped" "$(jq .total.dropped <<<"$s")" 1000
q0=$(jq '.queues[0].received' <<<"$s")
q1=$(jq '.queues[1].received' <<<"$s")
printf '   %-46s %s + %s\n' "spread over queue 0 + queue 1" "$q0" "$q1"
[ "$q0" -gt 0 ] && [ "$q1" -gt 0 ] || { echo "demo.sh: FAILED: a queue got nothing" >&2; exit 1; }

secs=5
[ "$short" = 1 ] && secs=1
step "Throughput: $secs s of 64-byte datagrams, as fast as the client can send"
before=$(stats | jq .total.received)
sink 5000 "$tmp/flood"; s1=$!
flood=$("$traffic" flood --ns "$cli" --src "$srcs" --to 10.0.2.2 --port 5000 --seconds "$secs" \
	--flows 8)
wait $s1
after=$(stats | jq .total.received)
sent=$(sed 's/.*sent=\([0-9]*\).*/\1/' <<<"$flood")
through=$((after - before))
printf '   %-46s %s\n' "client sent" "$sent"
printf '   %-46s %s\n' "through nfqd" "$through"
printf '   %-46s %s\n' "server received" "$(cut -d= -f2 "$tmp/flood")"
printf '   %-46s %s packets/s\n' "nfqd rate" "$(awk -v n="$through" -v s="$flood" \
	'BEGIN { split(s, a, /seconds=/); split(a[2], b, " "); printf "%.0f", n / b[1] }')"
s=$(stats)
printf '   %-46s %s (queue full) + %s (socket full)\n' "kernel dropped, fail-closed" \
	"$(jq '[.queues[].kernel.full_dropped] | add' <<<"$s")" \
	"$(jq '[.queues[].kernel.user_dropped] | add' <<<"$s")"
printf '   %-46s %s verdict messages for %s packets\n' "batched verdicts" \
	"$(jq .total.verdict_msgs <<<"$s")" "$(jq .total.received <<<"$s")"

step "nfqctl stats (queue 0)"
jq -c '.queues[0] | del(.kernel)' <<<"$s" | sed 's/^/   /'

step "SIGTERM: nfqd drains both queues and exits"
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=""
check "nfqd exit status" "$rc" 0
grep -E 'final:' "$tmp/nfqd.log" | sed 's/^nfqd: /   /'
for q in 0 1; do
	check "queue $q: packets left without a verdict" \
		"$(grep "queue $q: final:" "$tmp/nfqd.log" | sed 's/.*kernel_queued=\([0-9]*\).*/\1/')" 0
done
printf '\ndemo: OK\n'
