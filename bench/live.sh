#!/usr/bin/env bash
# bench/live.sh: `egressfence run' on a live gateway, measured. The network of
# tests/netns/lib.sh (client 10.1.0.2 -> gateway namespace -> servers "us",
# "cn", "de"), policy/default.yaml's groups and rules with overrides placing
# the servers (us: US, conforming, so no rule watches it; cn: CN, designated,
# block tier; de: DE, log tier), and four measurements:
#
#  1. Bulk TCP throughput to the unwatched server: an HTTP download (curl,
#     the lib's Python server) through the gateway with no engine, with
#     `run --mode monitor' capturing on the servers' interfaces (libpcap),
#     with monitor mode reading the table's NFLOG copies (capture.source
#     nflog: "monitor-nflog") and with `run --mode gate'; MB/s (10^6
#     bytes/s) and the ratio to no engine. Diagnostic rows, HTTP only, no
#     engine running: the gateway with only a conntrack rule, and with the
#     monitor (both sources) or the gate ruleset loaded as `egressfence nft'
#     prints it.
#  2. The same download over HTTPS from the watched server cn (logged by
#     designated-any), and over HTTP from de (the log tier: the default
#     policy logs its clear text; gate mode allows it): no engine, both
#     monitors, gate. In gate mode the client's
#     first protected record is held until the verdict, and the response waits
#     for the client to resend it after its retransmission timeout (or, with
#     gateway.release_held: true, a third probe run, until the engine sends it
#     on): the delay from the handshake to the first byte
#     is reported for the bulk transfers and for --probes short requests per
#     mode (with, for those, the stalls and retransmitted segments), and the
#     bulk rate counted from the first byte.
#  3. Monitor mode, small packets to a watched destination: two senders in the
#     client namespace (a small C program built here with cc, sendmmsg) send
#     DNS queries to de at increasing rates, a new source port (flow) every
#     --per-flow datagrams; de drops them at prerouting. At each step the
#     engine's counters (SIGUSR1) give packets and capture_drops; also what
#     reached de, the engine's CPU time and how long after the step the
#     engine answered (its backlog). Reported: the highest step with
#     capture_drops == 0.
#  4. The HTTP download of 1 again (four times --mb) with offloads on along
#     the client-gateway-us path (TSO/GSO/GRO, as a NIC would have them; the
#     lib turns them off so captures hold wire-sized packets): no engine,
#     both monitors, gate.
#
# Rounds alternate the configurations (the order rotates each round, so drift
# hits them alike); each figure is the median over the rounds, and the ratios
# are medians over the no-engine median. Results are printed and a section is
# appended to bench/RESULTS-live.md (created if missing).
#
# Usage: bench/live.sh [--rounds N] [--mb N] [--rates LIST] [--step-seconds N]
#                      [--per-flow N] [--probes N] [--output FILE]
# Environment: EF_BIN (default build/egressfence, built if missing),
# EF_LIVE_LIMIT (seconds, default 420: the run is stopped past it),
# EF_LIVE_NOTE (a line added to the section, e.g. where the binary came from).
# Needs root; without it (or without network namespaces) it says so and exits
# 0. Every wait is bounded; the namespaces go away on any exit.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1

skip() {
	echo "bench/live: SKIP: $*"
	exit 0
}
die() {
	echo "bench/live: $*" >&2
	exit 1
}

rounds=3
mb=500
rates="25000 50000 100000 200000 400000 max"
step_s=4
per_flow=50
probes=20
results=bench/RESULTS-live.md
limit=${EF_LIVE_LIMIT:-420}

usage() {
	cat <<-'EOF'
	Usage: bench/live.sh [--rounds N] [--mb N] [--rates LIST] [--step-seconds N]
	                     [--per-flow N] [--probes N] [--output FILE]
	  --rounds N        rounds of the throughput measurements, median taken (default 3)
	  --mb N            megabytes (10^6 bytes) per bulk transfer (default 500)
	  --rates LIST      packet-rate steps, packets/s, "max" unpaced
	                    (default "25000 50000 100000 200000 400000 max")
	  --step-seconds N  length of each packet-rate step (default 4)
	  --per-flow N      datagrams per flow (source port) in the packet-rate steps (default 50)
	  --probes N        short HTTPS requests per mode for the first-byte delay (default 20)
	  --output FILE     where the section is appended (default bench/RESULTS-live.md)
	Environment: EF_BIN (default build/egressfence), EF_LIVE_LIMIT (default 420 s)
	EOF
}

count_arg() { # NAME VALUE MAX
	[[ $2 =~ ^[0-9]+$ ]] && (($2 >= 1 && $2 <= $3)) || die "$1 wants an integer 1-$3, not \`$2'"
}
while (($#)); do
	case $1 in
	--rounds) count_arg "$1" "${2:-}" 9 && rounds=$2 && shift 2 ;;
	--mb) count_arg "$1" "${2:-}" 5000 && mb=$2 && shift 2 ;;
	--step-seconds) count_arg "$1" "${2:-}" 30 && step_s=$2 && shift 2 ;;
	--per-flow) count_arg "$1" "${2:-}" 1000000 && per_flow=$2 && shift 2 ;;
	--probes) count_arg "$1" "${2:-}" 100 && probes=$2 && shift 2 ;;
	--rates)
		(($# >= 2)) || die "--rates needs a list"
		for r in $2; do
			[[ $r == max || $r =~ ^[1-9][0-9]*$ ]] || die "--rates: \`$r' is not a rate (packets/s) or max"
		done
		rates=$2
		shift 2
		;;
	--output)
		(($# >= 2)) || die "--output needs a file"
		results=$2
		shift 2
		;;
	-h | --help) usage && exit 0 ;;
	*) usage >&2 && die "unknown option \`$1'" ;;
	esac
done
[[ $limit =~ ^[1-9][0-9]*$ ]] || die "EF_LIVE_LIMIT is \`$limit'; want whole seconds"

# --- can it run here? ----------------------------------------------------------

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, nftables)"
command -v ip >/dev/null && command -v nft >/dev/null || skip "needs ip (iproute2) and nft"
probe=efliveprobe$$
ip netns add "$probe" 2>/dev/null || skip "cannot create a network namespace"
ip netns exec "$probe" nft list tables >/dev/null 2>&1 || {
	ip netns del "$probe"
	skip "nft does not work in a network namespace"
}
ip netns del "$probe"
for t in curl ethtool ss openssl awk; do
	command -v "$t" >/dev/null || die "needs $t (scripts/setup installs it)"
done

[ -z "${EF_BIN:-}" ] || [ -x "$EF_BIN" ] || die "EF_BIN=$EF_BIN is not an executable"
bin=${EF_BIN:-build/egressfence}
if [ ! -x "$bin" ]; then
	echo "bench/live: $bin is missing; building it"
	{ cmake -S . -B build && cmake --build build -j"$(nproc)" --target egressfence; } >/dev/null ||
		die "the build failed (cmake -S . -B build && cmake --build build)"
	bin=build/egressfence
fi
bin=$(realpath "$bin")
db=$PWD/geodb/db/node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb
db_note="the pinned geo-whois-asn-country database"
if [ ! -f "$db" ]; then
	db=$PWD/build/tests/data/test-iplocation.mmdb
	db_note="the test database (the pinned one is missing: scripts/setup installs it); prefilter sizes are not realistic"
	[ -f "$db" ] || die "no country database (scripts/setup installs it)"
fi
policy=policy/default.yaml
[ -f "$policy" ] || die "$policy is missing"

# --- the network -----------------------------------------------------------------

. tests/netns/lib.sh

WATCHDOG=""
cleanup() {
	[ -n "$WATCHDOG" ] && kill "$WATCHDOG" 2>/dev/null
	ef_netns_down
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
# A watchdog with no child process: read times out on a pipe that has a
# writer (itself) and never gets data.
main_pid=$$
(
	exec 3<> <(:)
	read -r -t "$limit" -u 3 || true
	echo "bench/live: still running after ${limit}s (EF_LIVE_LIMIT); stopping" >&2
	kill -TERM "$main_pid"
) &
WATCHDOG=$!

SECONDS=0
# Anything else running skews the figures: say so in the results.
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
others_start=$(ip netns list 2>/dev/null | grep -c .)
((others_start)) && echo "bench/live: note: $others_start other network namespaces exist (another test running?); the figures may suffer"
echo "bench/live: building the namespaces"
ef_netns_up || die "the namespaces could not be set up"
D=$EF_NETNS_DIR
US=${EF_ADDR4[us]} CN=${EF_ADDR4[cn]} DE=${EF_ADDR4[de]}
ef_serve_http us 80 && ef_serve_http cn 443 --tls && ef_serve_http de 80 || die "the servers did not start"

# The shipped default policy, its database path absolute, the servers placed
# by overrides, monitor mode capturing where traffic leaves the gateway.
cfg=$D/live.yaml
sed -e "s#^\(  country: \)\.\./geodb/.*#\1$db#" \
	-e "s#^  overrides: \[\]#  overrides: [{ cidr: ${EF_NET4[us]}, country: US }, { cidr: ${EF_NET4[cn]}, country: CN }, { cidr: ${EF_NET4[de]}, country: DE }, { cidr: ${EF_NET4[ir]}, country: IR }]#" \
	-e "s#^  interfaces: \[\]#  interfaces: [us0, cn0, de0, ir0]#" "$policy" >"$cfg"
printf 'gateway:\n  mode: monitor\n' >>"$cfg"
# Its lists.file is relative to the policy's folder.
[ ! -f policy/lists.yaml ] || cp policy/lists.yaml "$D/" || die "cannot copy policy/lists.yaml beside $cfg"
# Monitor mode on the table's NFLOG copies: the same policy, capture.source nflog.
cfg_nflog=$D/live-nflog.yaml
sed -e "s#^\(  interfaces: \[us0, .*\)#\1\n  source: nflog#" "$cfg" >"$cfg_nflog"
grep -q '^  source: nflog$' "$cfg_nflog" || die "could not write capture.source into $cfg_nflog"
# Gate mode with gateway.release_held: true (the engine sends held segments
# on itself: docs/gateway.md), for the first-byte probe only.
cfg_release=$D/live-release.yaml
{ cat "$cfg"; echo "  release_held: true"; } >"$cfg_release"
n_subst=$(grep -c -e "^  country: $db\$" -e "^  overrides: \[{ cidr: ${EF_NET4[us]}," -e "^  interfaces: \[us0," "$cfg")
[ "$n_subst" = 3 ] || die "$policy no longer has the lines this script edits (geodb.country, overrides: [], interfaces: []); see $cfg"
"$bin" check --config "$cfg" >"$D/log/check.log" 2>&1 || die "the benchmark's policy does not load: $(tail -n 3 "$D/log/check.log")"
"$bin" lookup --config "$cfg" "$US" "$CN" "$DE" >"$D/log/lookup.log" 2>&1
for m in monitor gate; do
	"$bin" nft --config "$cfg" --mode "$m" >"$D/$m.nft" || die "egressfence nft --mode $m failed"
done
"$bin" nft --config "$cfg_nflog" --mode monitor >"$D/monitor-nflog.nft" || die "egressfence nft (capture.source nflog) failed"
grep -q ' group [0-9]' "$D/monitor-nflog.nft" || die "the monitor ruleset with capture.source nflog copies nothing"
grep -q ' group [0-9]' "$D/monitor.nft" && die "the monitor ruleset with capture.interfaces copies packets"

# --- helpers ----------------------------------------------------------------------

median() { # numbers, one per line, on stdin
	sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "nan"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
now() { date +%s.%N; }
retrans() { ef_retrans "$1"; }
gw_tables() { ef_ns_exec gw nft list tables 2>/dev/null; }

ENGINE="" ENGINE_LOG="" EVENTS="" engine_n=0
# An engine configuration: monitor (libpcap on capture.interfaces),
# monitor-nflog (the table's NFLOG copies) or gate.
is_engine() { [[ $1 == monitor || $1 == monitor-nflog || $1 == gate ]]; }
engine_start() { # CONFIG
	local mode=${1%-nflog} conf=$cfg source=nflog
	[ "$1" = monitor ] && source=us0
	[ "$1" = monitor-nflog ] && conf=$cfg_nflog
	[ "$1" = gate-release ] && conf=$cfg_release && mode=gate
	engine_n=$((engine_n + 1))
	[ -z "$(gw_tables)" ] || die "the gateway has tables before the engine starts: $(gw_tables | tr '\n' ' ')"
	ENGINE_LOG=$D/log/engine-$engine_n-$1.log
	EVENTS=$D/events-$1.json
	ef_bg gw "engine-$engine_n-$1" "$bin" run --config "$conf" --mode "$mode" --json "$EVENTS"
	ENGINE=$EF_LAST_PID
	ef_wait_log "$ENGINE" "$ENGINE_LOG" "running in $mode mode on $source" 30 && return 0
	die "the engine did not start in $mode mode on $source: $(tail -n 5 "$ENGINE_LOG")"
}
engine_stop() {
	local tries=200
	kill -TERM "$ENGINE" 2>/dev/null
	while ((tries-- > 0)) && kill -0 "$ENGINE" 2>/dev/null; do sleep 0.05; done
	if kill -0 "$ENGINE" 2>/dev/null; then
		echo "bench/live: the engine did not exit on SIGTERM within 10 s; killed" >&2
		kill -KILL "$ENGINE" 2>/dev/null
	fi
	wait "$ENGINE" 2>/dev/null
	local rc=$?
	ENGINE=""
	# docs/gateway.md: SIGTERM removes the table and exits 0.
	[ "$rc" = 0 ] || echo "egressfence: (bench) exit status $rc on SIGTERM, not 0" >>"$ENGINE_LOG"
	gw_tables | grep -q . && echo "egressfence: (bench) table left after SIGTERM: $(gw_tables | tr '\n' ' ')" >>"$ENGINE_LOG"
	grep -v -E '^egressfence: (loaded: |running in |counters \((SIGUSR1|exit)\): )' "$ENGINE_LOG" |
		sed "s|^|$(basename "$ENGINE_LOG" .log): |" >>"$D/res/engine-messages"
	gw_tables | grep -q . && ef_ns_exec gw nft flush ruleset
	return 0
}
# counters: SIGUSR1 and the line it printed; LAG is how long it took (s).
COUNTERS="" LAG=0
counters() {
	local before tries=1500 t0
	before=$(grep -c 'counters (SIGUSR1)' "$ENGINE_LOG")
	t0=$(now)
	kill -USR1 "$ENGINE"
	while ((tries-- > 0)); do
		(($(grep -c 'counters (SIGUSR1)' "$ENGINE_LOG") > before)) && break
		if ! kill -0 "$ENGINE" 2>/dev/null; then
			wait "$ENGINE" 2>/dev/null
			die "the engine exited (status $?) on SIGUSR1 instead of printing its counters; its log: $(tail -n 3 "$ENGINE_LOG")"
		fi
		sleep 0.01
	done
	LAG=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
	((tries >= 0)) || die "the engine did not print its counters within 15 s of SIGUSR1"
	COUNTERS=$(grep 'counters (SIGUSR1)' "$ENGINE_LOG" | tail -n 1)
}
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$COUNTERS"; }
engine_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$ENGINE/stat"; }

# xfer TAG URL SERVER [BYTES]: one download of BYTES (default --mb) from
# SERVER's namespace; appends MB/s to $D/res/TAG and "first-byte-delay-ms
# retransmitted-segments" to $D/res/TAG.fb.
xfer() {
	local tag=$1 url=$2 want=${4:-$((mb * 1000000))} out r0 r1 size
	ef_wait_tcp_closed client 5 || true
	r0=$(($(retrans client) + $(retrans "$3")))
	out=$(ef_ns_exec client curl -sS -k --max-time 60 -o /dev/null \
		-w '%{size_download} %{time_total} %{time_pretransfer} %{time_starttransfer}' "$url" 2>"$D/log/curl.err")
	r1=$(($(retrans client) + $(retrans "$3")))
	read -r size total pre start <<<"$out"
	[ "${size:-0}" = "$want" ] ||
		die "$tag: the download of $url got ${size:-nothing} of $want bytes: $(cat "$D/log/curl.err")"
	awk -v s="$size" -v t="$total" 'BEGIN { printf "%.1f\n", s / t / 1e6 }' >>"$D/res/$tag"
	# The rate once the first byte has come: without the gate's one-off wait.
	awk -v s="$size" -v t="$total" -v f="$start" 'BEGIN { printf "%.1f\n", s / (t - f) / 1e6 }' >>"$D/res/$tag.body"
	awk -v p="$pre" -v s="$start" -v r="$((r1 - r0))" 'BEGIN { printf "%.1f %d\n", (s - p) * 1000, r }' >>"$D/res/$tag.fb"
}

ct_ruleset='table inet efbench_ct {
	chain forward {
		type filter hook forward priority filter - 1; policy accept;
		ct state invalid counter
	}
}'
mkdir -p "$D/res"
bytes=$((mb * 1000000))

# One configuration's turn in a round.
run_config() { # CONFIG
	local c=$1 fp0 pk0 cp0 ev0
	case $c in
	none) ;;
	ct) ef_ns_exec gw nft -f - <<<"$ct_ruleset" || die "cannot load the conntrack-only table" ;;
	*-table) ef_ns_exec gw nft -f "$D/${c%-table}.nft" || die "cannot load $D/${c%-table}.nft" ;;
	*) is_engine "$c" && engine_start "$c" ;;
	esac
	if is_engine "$c"; then
		counters
		fp0=$(field fast_path) pk0=$(field packets) cp0=$(field copied)
	fi
	xfer "http-$c" "http://$US/bytes/$bytes" us
	if is_engine "$c"; then
		ef_wait_tcp_closed client 5 || true
		sleep 0.2
		counters
		# The US download must not have reached the classifier, nor NFLOG.
		echo "$(($(field fast_path) - fp0)) $(($(field packets) - pk0)) $(($(field copied) - cp0))" >>"$D/res/us-$c.counts"
		ev0=$(grep -c '"rule":"designated-any"' "$EVENTS" 2>/dev/null)
	fi
	if [[ $c == none ]] || is_engine "$c"; then
		xfer "https-$c" "https://$CN/bytes/$bytes" cn
		xfer "de-$c" "http://$DE/bytes/$bytes" de
	fi
	case $c in
	ct) ef_ns_exec gw nft delete table inet efbench_ct ;;
	*-table) ef_ns_exec gw nft delete table inet egressfence ;;
	monitor | monitor-nflog | gate)
		ef_wait_tcp_closed client 5 || true
		(($(grep -c '"rule":"designated-any"' "$EVENTS") > ev0)) ||
			die "$c: the HTTPS download from cn was not logged by designated-any (events: $EVENTS)"
		engine_stop
		;;
	esac
	[ -z "$(gw_tables)" ] || die "$c: tables left on the gateway: $(gw_tables | tr '\n' ' ')"
}

# --- 1 and 2: throughput ----------------------------------------------------------

configs=(none ct monitor-table monitor-nflog-table gate-table monitor monitor-nflog gate)
n=${#configs[@]}
for ((r = 0; r < rounds; r++)); do
	order=()
	for ((i = 0; i < n; i++)); do order+=("${configs[(i + 2 * r) % n]}"); done
	echo "bench/live: throughput round $((r + 1)) of $rounds (${order[*]}), ${SECONDS}s"
	for c in "${order[@]}"; do
		run_config "$c"
	done
done

# First-byte delay of short HTTPS requests to cn: no engine, then gate mode.
probe_https() { # TAG
	local i out r0 r1 pre start
	for ((i = 0; i < probes; i++)); do
		ef_wait_tcp_closed client 5 || true
		r0=$(($(retrans client) + $(retrans cn)))
		out=$(ef_ns_exec client curl -sS -k --max-time 10 -o /dev/null -w '%{http_code} %{time_pretransfer} %{time_starttransfer}' \
			"https://$CN/bytes/1000" 2>"$D/log/curl.err")
		r1=$(($(retrans client) + $(retrans cn)))
		read -r code pre start <<<"$out"
		[ "${code:-}" = 200 ] || die "$1: a short HTTPS request to cn failed: $(cat "$D/log/curl.err")"
		awk -v p="$pre" -v s="$start" -v r="$((r1 - r0))" 'BEGIN { printf "%.1f %d\n", (s - p) * 1000, r }' >>"$D/res/probe-$1.fb"
	done
}
echo "bench/live: $probes short HTTPS requests to cn, no engine and gate mode, ${SECONDS}s"
probe_https none
engine_start gate
probe_https gate
counters
probe_held=$(field held)
engine_stop
engine_start gate-release
probe_https gate-release
counters
probe_rel_held=$(field held)
probe_released=$(field released)
engine_stop

# --- 3: packet rate in monitor mode ------------------------------------------------

rate_note=""
flood=""
if command -v cc >/dev/null; then
	cat >"$D/udpflood.c" <<-'EOF'
	/* udpflood ADDR PORT RATE SECONDS PER_FLOW: DNS queries to ADDR:PORT at RATE
	 * packets/s (0: as fast as it can), PER_FLOW from each source port, in
	 * sendmmsg batches; prints "sent flows seconds". */
	#define _GNU_SOURCE
	#include <arpa/inet.h>
	#include <errno.h>
	#include <stdio.h>
	#include <stdlib.h>
	#include <string.h>
	#include <sys/socket.h>
	#include <time.h>
	#include <unistd.h>
	#define BATCH 64
	static double now(void)
	{
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		return t.tv_sec + t.tv_nsec / 1e9;
	}
	int main(int argc, char **argv)
	{
		static const unsigned char name[] = "\2h0\7example\2de";
		static unsigned char q[BATCH][64];
		struct sockaddr_in a = {.sin_family = AF_INET};
		struct mmsghdr m[BATCH];
		struct iovec iov[BATCH];
		size_t qlen = 12 + sizeof(name) + 4;
		if (argc != 6 || inet_pton(AF_INET, argv[1], &a.sin_addr) != 1)
			return 2;
		a.sin_port = htons(atoi(argv[2]));
		double rate = atof(argv[3]), secs = atof(argv[4]);
		long per_flow = atol(argv[5]), sent = 0, flows = 0, in_flow = per_flow;
		memset(m, 0, sizeof(m));
		for (int i = 0; i < BATCH; i++) {
			q[i][2] = 1, q[i][5] = 1; /* RD, one question */
			memcpy(q[i] + 12, name, sizeof(name));
			q[i][12 + sizeof(name) + 1] = 1, q[i][12 + sizeof(name) + 3] = 1; /* A, IN */
			iov[i] = (struct iovec){q[i], qlen};
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
		int s = -1;
		double t0 = now(), t;
		while ((t = now()) - t0 < secs) {
			long due = rate > 0 ? (long)((t - t0) * rate) : sent + BATCH;
			if (due <= sent) {
				struct timespec ns = {0, 20000};
				nanosleep(&ns, NULL);
				continue;
			}
			if (in_flow >= per_flow) {
				if (s >= 0)
					close(s);
				s = socket(AF_INET, SOCK_DGRAM, 0);
				if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
					perror("udpflood");
					return 1;
				}
				flows++, in_flow = 0;
			}
			long n = due - sent;
			if (n > BATCH)
				n = BATCH;
			if (n > per_flow - in_flow)
				n = per_flow - in_flow;
			for (long i = 0; i < n; i++)
				q[i][0] = (unsigned char)((sent + i) >> 8), q[i][1] = (unsigned char)(sent + i);
			int k = sendmmsg(s, m, (unsigned)n, 0);
			if (k < 0) {
				if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED) {
					perror("udpflood");
					return 1;
				}
				continue;
			}
			sent += k, in_flow += k;
		}
		printf("%ld %ld %.3f\n", sent, flows, now() - t0);
		return 0;
	}
	EOF
	if cc -O2 -o "$D/udpflood" "$D/udpflood.c" 2>"$D/log/cc.log"; then
		flood=$D/udpflood
	else
		rate_note="the sender did not compile ($(head -n 1 "$D/log/cc.log")); packet-rate steps skipped"
	fi
else
	rate_note="no C compiler (cc; build-essential); packet-rate steps skipped"
fi

de_counter() {
	ef_ns_exec de nft list chain ip efbench_sink pre | sed -n 's/.* packets \([0-9]*\) .*/\1/p'
}
rate_rows=()
best_rate="" best_target=""
if [ -n "$flood" ]; then
	echo "bench/live: packet rate, monitor mode, steps of ${step_s}s: $rates (${SECONDS}s)"
	ef_ns_exec de nft -f - <<-EOF || die "cannot load the sink table in de"
	table ip efbench_sink {
		chain pre {
			type filter hook prerouting priority raw; policy accept;
			udp dport 53 counter drop
		}
	}
	EOF
	engine_start monitor
	events0=$(grep -c . "$EVENTS" 2>/dev/null)
	drops_in_a_row=0
	for target in $rates; do
		per_sender=0
		[ "$target" = max ] || per_sender=$((target / 2))
		counters
		pk0=$(field packets) dr0=$(field capture_drops) ed0=$(field events_dropped)
		de0=$(de_counter)
		cpu0=$(engine_cpu_ticks)
		t0=$(now)
		# Two senders, one per core: one alone is slower than the box.
		ef_ns_exec client timeout $((step_s + 10)) "$flood" "$DE" 53 "$per_sender" "$step_s" "$per_flow" >"$D/res/flood-a" &
		fa=$!
		ef_ns_exec client timeout $((step_s + 10)) "$flood" "$DE" 53 "$per_sender" "$step_s" "$per_flow" >"$D/res/flood-b" &
		fb=$!
		ok=1
		wait "$fa" || ok=0
		wait "$fb" || ok=0
		((ok)) || die "the sender failed at $target packets/s"
		t1=$(now)
		counters
		cpu1=$(engine_cpu_ticks)
		ed=-
		[ -n "$ed0" ] && [ -n "$(field events_dropped)" ] && ed=$(($(field events_dropped) - ed0))
		read -r sa fla _ <"$D/res/flood-a"
		read -r sb flb _ <"$D/res/flood-b"
		row=$(awk -v tg="$target" -v s=$((sa + sb)) -v fl=$((fla + flb)) -v t="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
			-v st="$step_s" -v de=$(($(de_counter) - de0)) -v pk=$(($(field packets) - pk0)) \
			-v dr=$(($(field capture_drops) - dr0)) -v cpu=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" -v lag="$LAG" 'BEGIN {
				printf "%s %.0f %.0f %d %d %d %.0f %d", tg, s / st, fl / st, de, pk, dr, 100 * cpu / hz / (t + lag), lag * 1000
			}')
		row+=" $ed"
		rate_rows+=("$row")
		read -r _ sent_pps _ _ seen drops _ <<<"$row"
		echo "  step $target: sent $sent_pps packets/s, engine saw $seen, capture_drops $drops, lag ${LAG}s"
		if [ "$drops" = 0 ]; then
			drops_in_a_row=0
			if [ -z "$best_rate" ] || ((sent_pps > best_rate)); then
				best_rate=$sent_pps best_target=$target
			fi
		else
			drops_in_a_row=$((drops_in_a_row + 1))
			((drops_in_a_row >= 2)) && break
		fi
		sleep 0.3
	done
	counters
	rate_flows=$(field flows) rate_events=$(($(grep -c . "$EVENTS") - ${events0:-0}))
	engine_stop
fi

# --- 4: the HTTP download again, offloads on ----------------------------------------
# What a NIC with TSO/GRO would do: the client-gateway-us path carries 64 kB
# segments, so per-packet costs (rules, capture) are paid once per segment.
# Four times --mb: the transfers are that much faster.
echo "bench/live: throughput with offloads on (client, gateway in0 and us0, us), ${SECONDS}s"
for pair in client:eth0 gw:in0 gw:us0 us:eth0; do
	ef_ns_exec "${pair%%:*}" ethtool -K "${pair#*:}" tx on rx on tso on gso on gro on >/dev/null 2>&1 ||
		die "ethtool cannot turn offloads on for ${pair#*:} in ${pair%%:*}"
done
off_configs=(none monitor monitor-nflog gate)
for ((r = 0; r < rounds; r++)); do
	for ((i = 0; i < ${#off_configs[@]}; i++)); do
		c=${off_configs[(i + r) % ${#off_configs[@]}]}
		[ "$c" = none ] || engine_start "$c"
		xfer "off-http-$c" "http://$US/bytes/$((4 * bytes))" us $((4 * bytes))
		[ "$c" = none ] || engine_stop
	done
done

# --- the tables -----------------------------------------------------------------------

med() { [ -f "$D/res/$1" ] && median <"$D/res/$1" || echo nan; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b == 0) print "-"; else printf "%.2f", a / b }'; }
vals() { [ -f "$D/res/$1" ] && paste -sd/ "$D/res/$1" || echo -; }
# First-byte delays of FILE.fb: "median ms (min-max)"; with a second
# argument also the stalls of 150 ms or more (a retransmission timeout) and
# the retransmitted segments.
fb() { # FILE [stalls]
	[ -f "$D/res/$1" ] || { echo -; return; }
	sort -g "$D/res/$1" | awk -v all="${2:-}" '{ v[NR] = $1; rt += $2; if ($1 >= 150) st++ }
		END {
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.1f ms (%.1f-%.1f)", m, v[1], v[NR]
			if (all) printf " | %d of %d | %d", st, NR, rt
			printf "\n"
		}'
}

h_none=$(med http-none) h_mon=$(med http-monitor) h_nfl=$(med http-monitor-nflog) h_gate=$(med http-gate)
s_none=$(med https-none) s_mon=$(med https-monitor) s_nfl=$(med https-monitor-nflog) s_gate=$(med https-gate)
d_none=$(med de-none) d_mon=$(med de-monitor) d_nfl=$(med de-monitor-nflog) d_gate=$(med de-gate)
us_counts() { # MODE: "fast_path/packets/copied" medians over the rounds
	[ -f "$D/res/us-$1.counts" ] || { echo -; return; }
	echo "$(awk '{ print $1 }' "$D/res/us-$1.counts" | median | awk '{ printf "%.0f", $1 }') fast_path, $(awk '{ s += $2 } END { print s + 0 }' "$D/res/us-$1.counts") classified, $(awk '{ s += $3 } END { print s + 0 }' "$D/res/us-$1.counts") copied"
}
verdict() { awk -v r="$1" 'BEGIN { if (r == "-") print "-"; else print (r >= 0.95) ? "met" : "not met" }'; }
verdict08() { awk -v r="$1" 'BEGIN { if (r == "-") print "-"; else print (r >= 0.8) ? "met" : "not met" }'; }

table_main=$(
	echo "| destination | transfer | no engine MB/s | monitor (libpcap) MB/s | ratio | monitor (NFLOG) MB/s | ratio | gate MB/s | gate ratio |"
	echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	echo "| us (US, no rule watches it) | HTTP GET ${mb} MB | $h_none | $h_mon | $(ratio "$h_mon" "$h_none") | $h_nfl | $(ratio "$h_nfl" "$h_none") | $h_gate | $(ratio "$h_gate" "$h_none") |"
	echo "| cn (CN, designated-any logs it) | HTTPS GET ${mb} MB | $s_none | $s_mon | $(ratio "$s_mon" "$s_none") | $s_nfl | $(ratio "$s_nfl" "$s_none") | $s_gate | $(ratio "$s_gate" "$s_none") |"
	echo "| de (DE, log tier: the default policy logs its cleartext) | HTTP GET ${mb} MB | $d_none | $d_mon | $(ratio "$d_mon" "$d_none") | $d_nfl | $(ratio "$d_nfl" "$d_none") | $d_gate | $(ratio "$d_gate" "$d_none") |"
)
table_diag=$(
	echo "| gateway state (HTTP GET from us) | MB/s | ratio to none |"
	echo "| --- | ---: | ---: |"
	echo "| nothing (baseline) | $h_none | 1.00 |"
	for c in ct monitor-table monitor-nflog-table gate-table monitor monitor-nflog gate; do
		case $c in
		ct) label="a conntrack rule only (\`ct state invalid counter\`), no engine" ;;
		monitor-table) label="the monitor ruleset (capture.interfaces) loaded, no engine" ;;
		monitor-nflog-table) label="the monitor ruleset (capture.source nflog) loaded, no engine" ;;
		gate-table) label="the gate ruleset loaded, no engine" ;;
		monitor) label="\`run --mode monitor\`, libpcap on capture.interfaces" ;;
		monitor-nflog) label="\`run --mode monitor\`, capture.source nflog" ;;
		gate) label="\`run --mode gate\`" ;;
		esac
		echo "| $label | $(med "http-$c") | $(ratio "$(med "http-$c")" "$h_none") |"
	done
)
o_none=$(med off-http-none) o_mon=$(med off-http-monitor) o_nfl=$(med off-http-monitor-nflog) o_gate=$(med off-http-gate)
table_off=$(
	echo "| destination | transfer | no engine MB/s | monitor (libpcap) MB/s | ratio | monitor (NFLOG) MB/s | ratio | gate MB/s | gate ratio |"
	echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	echo "| us, offloads on | HTTP GET $((4 * mb)) MB | $o_none | $o_mon | $(ratio "$o_mon" "$o_none") | $o_nfl | $(ratio "$o_nfl" "$o_none") | $o_gate | $(ratio "$o_gate" "$o_none") |"
)
table_rounds=$(
	echo "| series | per round (MB/s, in round order) |"
	echo "| --- | --- |"
	for c in "${configs[@]}"; do echo "| http-$c | $(vals "http-$c") |"; done
	for c in none monitor monitor-nflog gate; do echo "| https-$c | $(vals "https-$c") |"; done
	for c in none monitor monitor-nflog gate; do echo "| de-$c | $(vals "de-$c") |"; done
	for c in "${off_configs[@]}"; do echo "| offloads on, http-$c | $(vals "off-http-$c") |"; done
)
sb_none=$(med https-none.body) sb_gate=$(med https-gate.body)
table_fb=$(
	echo "| HTTPS to cn | first byte after the handshake: median (min-max) | stalls >= 150 ms | TCP segments retransmitted |"
	echo "| --- | --- | ---: | ---: |"
	echo "| no engine, $probes requests of 1000 bytes | $(fb probe-none.fb all) |"
	echo "| gate, $probes requests of 1000 bytes | $(fb probe-gate.fb all) |"
	echo "| gate with release_held: true, $probes requests of 1000 bytes | $(fb probe-gate-release.fb all) |"
	echo "| no engine, the ${mb} MB downloads | $(fb https-none.fb) | | |"
	echo "| gate, the ${mb} MB downloads | $(fb https-gate.fb) | | |"
)
body_line="HTTPS from cn counted from the first byte (the one-off wait left out): no engine $sb_none MB/s, gate $sb_gate MB/s, ratio $(ratio "$sb_gate" "$sb_none")."
if [ -n "$flood" ]; then
	table_rate=$(
		echo "| step (packets/s) | sent/s | new flows/s | reached de | seen by engine | capture_drops | engine CPU % of a core | counters lag ms | events dropped |"
		echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		for row in "${rate_rows[@]}"; do
			read -r tg sp fl de pk dr cpu lag ed <<<"$row"
			echo "| $tg | $sp | $fl | $de | $pk | $dr | $cpu | $lag | $ed |"
		done
	)
	if [ -n "$best_rate" ]; then
		rate_summary="Highest step with capture_drops == 0: **$best_rate packets/s** sent (step \`$best_target\`)."
		best_cpu=$(printf '%s\n' "${rate_rows[@]}" | awk -v t="$best_target" '$1 == t { print $7 }')
		per_cpu_s=$(awk -v r="$best_rate" -v c="$best_cpu" 'BEGIN { if (c > 0) printf "%.0f", r / (c / 100) }')
		[ -n "$per_cpu_s" ] && rate_summary+=" The engine used $best_cpu% of a core there: about $per_cpu_s packets per engine CPU-second."
	else
		rate_summary="Every step had capture drops."
	fi
else
	table_rate="(skipped: $rate_note)"
	rate_summary=""
fi

echo
echo "Throughput, median of $rounds (MB = 10^6 bytes; ratio = median / no-engine median; target >= 0.95 for unwatched traffic: monitor (libpcap) $(verdict "$(ratio "$h_mon" "$h_none")"), monitor (NFLOG) $(verdict "$(ratio "$h_nfl" "$h_none")"), gate $(verdict "$(ratio "$h_gate" "$h_none")")):"
echo "$table_main"
echo
echo "With offloads on (TSO/GSO/GRO on the client-gateway-us path):"
echo "$table_off"
echo
echo "Where it goes (HTTP from us):"
echo "$table_diag"
echo
echo "$table_rounds"
echo
echo "$table_fb"
echo "$body_line"
echo "US download, engine counters per transfer: monitor (libpcap): $(us_counts monitor); monitor (NFLOG): $(us_counts monitor-nflog); gate: $(us_counts gate)"
echo
echo "Packet rate, monitor mode (DNS queries to de, $per_flow per flow, two senders, ${step_s}s steps):"
echo "$table_rate"
[ -n "$rate_summary" ] && echo "$rate_summary"
if [ -s "$D/res/engine-messages" ]; then
	echo
	echo "The engine said (besides loading, running and counters):"
	sed 's/^/  /' "$D/res/engine-messages" | head -n 20
fi

# --- the results file ------------------------------------------------------------------

revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $revision != unknown && -n $(git status --porcelain -- . ":!$results" 2>/dev/null) ]]; then
	revision=$revision-dirty
fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
mem_gib=$(awk '/^MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME" || uname -s)
prefilter=$(grep -h -o 'prefilter.*' "$D"/log/engine-*-gate.log 2>/dev/null | head -n 1)
version=$("$bin" version 2>/dev/null | head -n 1)

[ -f "$results" ] || printf '# Live benchmark results\n\nSections appended by `bench/live.sh`, one per run, newest last.\n' >"$results"
{
	echo
	echo "## $(date -u '+%Y-%m-%d %H:%M UTC'), commit \`$revision\`"
	echo
	echo "- Machine: $(nproc) cores, $cpu, $mem_gib GiB memory; $os, kernel $(uname -r)."
	others_note=""
	((others_start)) && others_note=" Other network namespaces at the start: $others_start (another test was running)."
	echo "- Load average (1, 5, 15 min) at the start: $load_start; at the end: $(cut -d' ' -f1-3 /proc/loadavg).$others_note"
	echo "- \`bench/live.sh --rounds $rounds --mb $mb --step-seconds $step_s --per-flow $per_flow --probes $probes\`, $SECONDS s."
	echo "- Network: tests/netns/lib.sh (veth pairs, offloads off, MTU 1500); the client and the servers"
	echo "  share the machine's cores with the gateway and the engine. Policy: policy/default.yaml's groups"
	echo "  and rules, $db_note; overrides put us in US (conforming: no rule watches it), cn in CN"
	echo "  (designated) and de in DE (log tier). Engine: \`$bin\` ($version); gate mode's $prefilter."
	echo "- Throughput: curl downloads ${mb} MB from the lib's Python HTTP(S) server (\`/bytes/N\`); rounds"
	echo "  rotate the order of the configurations; MB/s = 10^6 bytes over curl's total time (connection"
	echo "  included). Ratio = median / no-engine median."
	[ -n "${EF_LIVE_NOTE:-}" ] && echo "- Note: $EF_LIVE_NOTE"
	echo
	echo "### Throughput (median of $rounds)"
	echo
	echo "$table_main"
	echo
	echo "Target for unwatched traffic (ratio >= 0.95): monitor (libpcap) $(verdict "$(ratio "$h_mon" "$h_none")"), monitor (NFLOG) $(verdict "$(ratio "$h_nfl" "$h_none")"), gate $(verdict "$(ratio "$h_gate" "$h_none")")."
	echo "Target for watched and allowed traffic (HTTPS from cn, ratio >= 0.8): monitor (NFLOG) $(verdict08 "$(ratio "$s_nfl" "$s_none")"), gate $(verdict08 "$(ratio "$s_gate" "$s_none")")."
	echo "Engine counters over each US download (median fast_path; classified and NFLOG-copied packets"
	echo "summed over the rounds): monitor (libpcap): $(us_counts monitor); monitor (NFLOG): $(us_counts monitor-nflog); gate: $(us_counts gate)."
	echo
	echo "Where the cost is (HTTP from us; the rows without an engine load the ruleset with \`nft -f\`"
	echo "as \`egressfence nft\` prints it):"
	echo
	echo "$table_diag"
	echo
	echo "The HTTP download with offloads on (TSO/GSO/GRO and checksums on the client-gateway-us veths,"
	echo "as a NIC with segmentation offloads would have them; $((4 * mb)) MB, measured last, after the"
	echo "packet-rate steps): per-packet costs are then paid per segment of up to 64 kB."
	echo
	echo "$table_off"
	echo
	echo "Per round:"
	echo
	echo "$table_rounds"
	echo
	echo "### Gate mode: an allowed HTTPS flow's held record"
	echo
	echo "Time from curl's pretransfer (TLS handshake done) to the first response byte. For the short"
	echo "requests also how many waited 150 ms or more (a retransmission timeout) and the TCP segments"
	echo "retransmitted in the client and server namespaces (the bulk downloads retransmit thousands of"
	echo "segments for congestion losses even without an engine, so they are not counted there). Held"
	echo "packets (the gate's counter) over the $probes short requests: $probe_held; with release_held: true"
	echo "${probe_rel_held:-?}, of which the engine sent on ${probe_released:-?} (\`released\`). Requests without an"
	echo "engine that wait about 40 ms do so because of the test server: Python's TLS server writes its"
	echo "session tickets and the response in separate small segments without TCP_NODELAY, so the"
	echo "response waits for the client's delayed ACK (Nagle); the held record's late arrival shifts the ACKs"
	echo "and usually avoids that wait."
	echo
	echo "$table_fb"
	echo
	echo "$body_line"
	echo
	echo "### Packet rate, monitor mode"
	echo
	echo "Two senders in the client namespace (sendmmsg, one per core), each at half the step's rate"
	echo "(\`max\`: unpaced), ${step_s} s per step: DNS queries (59-byte frames) to de:53, a new source port"
	echo "every $per_flow datagrams; de drops them at prerouting. Reached de: its nft counter. Seen: the"
	echo "engine's \`packets\` (classified) over the step; capture_drops: the kernel's, over the step;"
	echo "CPU: the engine's user+system time over the step and the lag; lag: from the step's end to the"
	echo "engine's SIGUSR1 line (it prints once its capture backlog is read); events dropped: the"
	echo "engine's events_dropped over the step (- when the engine has no such counter)."
	echo
	echo "$table_rate"
	echo
	[ -n "$rate_summary" ] && echo "$rate_summary" &&
		echo "Flows the engine tracked: ${rate_flows:-?}; events written during the steps: ${rate_events:-?}." && echo
	if [ -s "$D/res/engine-messages" ]; then
		echo "The engine's other messages (first 20):"
		echo
		echo '```'
		head -n 20 "$D/res/engine-messages"
		echo '```'
		echo
	fi
} >>"$results"
echo
echo "bench/live: appended a section to $results (${SECONDS}s)"
