#!/bin/bash
# nfqd demo: a client, a firewall and a server in network namespaces. The firewall forwards UDP
# through the chain `nfqd rules` generates (loaded with iptables-restore) to nfqd on queues 0-1.
# nfqd drops sources listed in the ipset `blocklist` and UDP port 5001, and stamps each flow's
# verdict into its connmark so that the kernel handles the rest of the flow. The blocklist is
# edited live while flows run. Every number is checked.
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
	-h | --help) sed -n '2,12p' "$0"; exit 0 ;;
	*) echo "demo.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done

if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: run as root (network namespaces, iptables, ipset)" >&2
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
clean=10.0.1.10
listed=10.0.1.66

cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	for ns in "$cli" "$fw" "$srv"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

step() { printf '\n== %s\n' "$*"; }
show() { printf '   %-50s %s\n' "$1" "$2"; }
check() { # check WHAT GOT WANT
	if [ "$2" != "$3" ]; then
		echo "demo.sh: FAILED: $1: got $2, expected $3" >&2
		[ -f "$tmp/nfqd.log" ] && cat "$tmp/nfqd.log" >&2
		exit 1
	fi
	show "$1" "$2"
}
fw_do() { ip netns exec "$fw" "$@"; }

step "Topology: client ($clean clean, $listed listed, more) -> firewall (nfqd) -> server 10.0.2.2"
for ns in "$cli" "$fw" "$srv"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add nd${id}c type veth peer name nd${id}f
ip link add nd${id}s type veth peer name nd${id}g
ip link set nd${id}c netns "$cli"; ip link set nd${id}f netns "$fw"
ip link set nd${id}g netns "$fw"; ip link set nd${id}s netns "$srv"
ip -n "$cli" link set nd${id}c name eth0; ip -n "$fw" link set nd${id}f name eth0
ip -n "$fw" link set nd${id}g name eth1; ip -n "$srv" link set nd${id}s name eth0
ip -n "$cli" addr add 10.0.1.2/24 dev eth0; ip -n "$fw" addr add 10.0.1.1/24 dev eth0
ip -n "$fw" addr add 10.0.2.1/24 dev eth1; ip -n "$srv" addr add 10.0.2.2/24 dev eth0
srcs=""
for i in $(seq 10 17) 66; do
	ip -n "$cli" addr add 10.0.1.$i/24 dev eth0
	[ "$i" = 66 ] || srcs="$srcs${srcs:+,}10.0.1.$i"
done
for l in "$cli eth0" "$fw eth0" "$fw eth1" "$srv eth0"; do ip -n ${l% *} link set ${l#* } up; done
ip -n "$cli" route add default via 10.0.1.1
ip -n "$srv" route add default via 10.0.2.1
fw_do sysctl -qw net.ipv4.ip_forward=1

step "The blocklist: ipset create blocklist hash:ip; ipset add blocklist $listed"
fw_do ipset create blocklist hash:ip
fw_do ipset add blocklist "$listed"

cat >"$tmp/nfqd.conf" <<EOF
[queue]
queues = 0-1
[policy]
default = accept
flow-cache = connmark
rule = drop src @blocklist
rule = drop proto udp dport 5001
[daemon]
control = $sock
EOF
step "nfqd rules -c nfqd.conf | iptables-restore --noflush; iptables -A FORWARD -p udp -j NFQD"
fw_do "$nfqd" rules -c "$tmp/nfqd.conf" >"$tmp/rules"
fw_do iptables-restore --noflush <"$tmp/rules"
fw_do iptables -A FORWARD -p udp -j NFQD
fw_do iptables -S NFQD | sed 's/^/   /'

step "nfqd: queues 0-1, flow cache in the connmark, drop src @blocklist, drop UDP port 5001"
ip netns exec "$fw" "$nfqd" -c "$tmp/nfqd.conf" 2>"$tmp/nfqd.log" &
pid=$!
for _ in $(seq 100); do
	"$nfqctl" -s "$sock" stats >/dev/null 2>&1 && break
	sleep 0.05
done
"$nfqctl" -s "$sock" stats >/dev/null || { cat "$tmp/nfqd.log"; exit 1; }
sed 's/^/   /' "$tmp/nfqd.log"

stats() { "$nfqctl" -s "$sock" stats; }
seen() { stats | jq .total.received; }
sink() { # sink PORT OUTFILE: count at the server until 3 s of silence
	"$traffic" sink --ns "$srv" --port "$1" --idle-ms 3000 >"$2" 2>"$2.err" &
	for _ in $(seq 100); do grep -q listening "$2.err" 2>/dev/null && break; sleep 0.02; done
}
stamped() { stats | jq .total.stamped; }
flow() { # flow SRC SPORT PORT COUNT -> datagrams the server got (one flow: fixed source port)
	local out=$tmp/sink.$RANDOM s st
	sink "$3" "$out"
	s=$!
	# The first datagram alone, until nfqd has stamped the flow's verdict: what the rest of
	# the flow meets is then the kernel's connmark rules, however busy the machine is.
	st=$(stamped)
	"$traffic" send --ns "$cli" --src "$1" --sport "$2" --to 10.0.2.2 --port "$3" \
		--count 1 >/dev/null
	for _ in $(seq 500); do [ "$(stamped)" -gt "$st" ] && break; sleep 0.02; done
	"$traffic" send --ns "$cli" --src "$1" --sport "$2" --to 10.0.2.2 --port "$3" \
		--count "$(($4 - 1))" --burst 16 --pause-us 200 >/dev/null
	wait $s
	cut -d= -f2 "$out"
}

step "1. The clean client and the listed one each send a flow of 1000 datagrams"
before=$(seen)
check "server received from $clean" "$(flow $clean 40000 5000 1000)" 1000
check "server received from $listed (listed)" "$(flow $listed 40000 5000 1000)" 0
saw=$(($(seen) - before))
show "packets nfqd had to see of these 2000" "$saw (the kernel took the rest by connmark)"
[ "$saw" -lt 200 ] || { echo "demo.sh: FAILED: the flow cache let $saw through" >&2; exit 1; }

step "2. ipset add blocklist $clean, while its flow goes on"
fw_do ipset add blocklist "$clean"
check "server received of 1000 more from $clean" "$(flow $clean 40000 5000 1000)" 0
fw_do ipset del blocklist "$clean"
printf '   then: ipset del blocklist %s\n' "$clean"
check "server received of 1000 more from $clean" "$(flow $clean 40000 5000 1000)" 1000

step "3. The port rule: 1000 datagrams to port 5001"
check "server received on port 5001" "$(flow $clean 40001 5001 1000)" 0

secs=5
[ "$short" = 1 ] && secs=1
step "4. Throughput: $secs s of 64-byte datagrams from 8 clean addresses, 8 flows"
before=$(seen)
sink 5000 "$tmp/flood"
s1=$!
flood=$("$traffic" flood --ns "$cli" --src "$srcs" --to 10.0.2.2 --port 5000 --seconds "$secs" \
	--flows 8)
wait $s1
sent=$(sed 's/.*sent=\([0-9]*\).*/\1/' <<<"$flood")
rate=$(sed 's/.*pps=\([0-9]*\).*/\1/' <<<"$flood")
show "client sent" "$sent ($rate/s)"
show "server received" "$(cut -d= -f2 "$tmp/flood")"
show "of which nfqd saw" "$(($(seen) - before))"
check "all delivered" "$(cut -d= -f2 "$tmp/flood")" "$sent"

step "nfqctl stats"
s=$(stats)
jq -c '{total: .total | {received, accepted, dropped, stamped, marked, set_tests}}' <<<"$s" |
	sed 's/^/   /'
jq -c '.lookups[]' <<<"$s" | sed 's/^/   /'
show "verdicts stamped into connmarks (flows)" "$(jq .total.stamped <<<"$s")"
show "kernel accepted by connmark" \
	"$(fw_do iptables -L NFQD -v -x -n | awk '$3 == "ACCEPT" {print $1}')"
show "kernel dropped by connmark" \
	"$(fw_do iptables -L NFQD -v -x -n | awk '$3 == "DROP" {print $1}')"

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
