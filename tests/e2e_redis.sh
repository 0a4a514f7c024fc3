#!/usr/bin/env bash
# tests/e2e_redis.sh -- the Redis Streams output against a real
# redis-server, started here on a loopback port with no persistence: every
# event of an audit is one stream entry (XLEN, XRANGE: field `event', the
# event line exactly); MAXLEN ~ trims the stream; and when the server goes
# away while events flow, nothing blocks -- the audit reads its capture as
# fast as without an output and exits within its 10 s wait -- the events
# queued up to the output's bound are delivered once the server is back,
# and those beyond it are dropped, counted and reported.
set -uo pipefail

bin=${EF_BIN:?EF_BIN: the egressfence binary}
src=${EF_SOURCE_DIR:?EF_SOURCE_DIR: the source tree}
build=${EF_BINARY_DIR:?EF_BINARY_DIR: the build tree}
gen=${EF_GEN_EVASION:-$build/tests/gen_evasion}

command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
	{ echo "skipped: redis-server is not installed (scripts/setup installs it)"; exit 77; }
command -v jq >/dev/null || { echo "skipped: jq is not installed (scripts/setup installs it)"; exit 77; }
[ -x "$gen" ] || { echo "e2e_redis: $gen is not built"; exit 1; }

tmp=$(mktemp -d /tmp/ef-redis.XXXXXX)
rpid=
stop_redis() {
	[ -n "$rpid" ] && kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null
	rpid=
}
trap 'stop_redis; rm -rf "$tmp"' EXIT

failed=0 passed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cli() { redis-cli -p "$port" --raw "$@"; }
start_redis() {
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
		>>"$tmp/redis.log" 2>&1 &
	rpid=$!
	for _ in $(seq 100); do
		[ "$(cli PING 2>/dev/null)" = PONG ] && return 0
		sleep 0.1
	done
	echo "FAIL redis-server did not start: $(tail -3 "$tmp/redis.log")"
	exit 1
}
start_redis

# A policy that is the sample's, with its database path made absolute so
# the copy can live here, and a small queue for the outage below.
policy=$src/samples/sample-policy.yaml
sed "s|^  country: \.\./geodb|  country: $src/geodb|" "$policy" >"$tmp/base.yaml"

# ---- 1. every event, one entry each ------------------------------------------
"$bin" audit --config "$policy" --json "$tmp/events.json" --redis "127.0.0.1:$port/ef" \
	"$src/samples/sample.pcap" >"$tmp/a1.out" 2>"$tmp/a1.err"
rc=$?
[ "$rc" -eq 1 ] && ok "audit --redis exits 1 (flows blocked)" || bad "audit exited $rc: $(head -3 "$tmp/a1.err")"
n=$(wc -l <"$tmp/events.json")
[ "$(cli XLEN ef)" = "$n" ] && ok "XLEN ef is $n, the number of events" || bad "XLEN ef $(cli XLEN ef), expected $n"
# XRANGE --raw: id, field count lines vary; take each entry's fields as pairs
cli XRANGE ef - + | awk 'NR % 3 == 2 && $0 != "event" { print "field " $0 } NR % 3 == 0' >"$tmp/stream"
grep -q '^field ' "$tmp/stream" && bad "entries have other fields: $(grep '^field' "$tmp/stream" | head -2)"
sort "$tmp/stream" >"$tmp/stream.sorted"
sort "$tmp/events.json" >"$tmp/events.sorted"
cmp -s "$tmp/stream.sorted" "$tmp/events.sorted" && ok "XRANGE: each entry's event is an event line, byte for byte" ||
	bad "stream differs from the events: $(diff "$tmp/stream.sorted" "$tmp/events.sorted" | head -4)"
grep -q "^output redis (redis): $n events written, 0 dropped" "$tmp/a1.out" && ok "the summary counts $n written" ||
	bad "summary: $(grep '^output' "$tmp/a1.out")"

# ---- 2. MAXLEN ~ and format, from the policy file -------------------------------
"$gen" --syn-flood 3000 "$tmp/flood.pcap" >/dev/null || exit 1
cp "$tmp/base.yaml" "$tmp/maxlen.yaml"
cat >>"$tmp/maxlen.yaml" <<EOF
output:
  format: ecs
  outputs:
    - { type: redis, address: "127.0.0.1:$port", key: trimmed, maxlen: 500 }
EOF
"$bin" audit --config "$tmp/maxlen.yaml" "$tmp/flood.pcap" >"$tmp/a2.out" 2>"$tmp/a2.err"
len=$(cli XLEN trimmed)
grep -q "^output redis (redis): 3000 events written" "$tmp/a2.out" || bad "summary: $(grep '^output' "$tmp/a2.out") $(head -2 "$tmp/a2.err")"
# `~' trims whole stream nodes (100 entries each by default): at least 500 stay
[ "$len" -ge 500 ] && [ "$len" -lt 1000 ] && ok "MAXLEN ~ 500: 3000 events added, $len kept" || bad "XLEN trimmed $len after 3000 events with maxlen 500"
[ "$(cli XREVRANGE trimmed + - COUNT 1 | sed -n 3p | jq -r .ecs.version)" = 8.11.0 ] &&
	ok "output.format ecs: the entries are ECS events" || bad "the last entry is not ECS: $(cli XREVRANGE trimmed + - COUNT 1 | sed -n 3p | head -c 200)"

# ---- 3. the server goes away while events flow ----------------------------------
# 20000 SYN-only flows, each ~700-byte event; a 256 KiB queue holds a few
# hundred, so most are dropped while the server is down.
"$gen" --syn-flood 20000 "$tmp/big.pcap" >/dev/null || exit 1
cp "$tmp/base.yaml" "$tmp/outage.yaml"
cat >>"$tmp/outage.yaml" <<EOF
output:
  outputs:
    - { type: redis, address: "127.0.0.1:$port", key: outage, queue_bytes: 256k }
EOF
# how long the audit takes with no output at all, for comparison
t0=$(date +%s%N)
"$bin" audit --config "$tmp/base.yaml" --json "$tmp/plain.json" "$tmp/big.pcap" >/dev/null 2>&1
plain_ms=$((($(date +%s%N) - t0) / 1000000))
total=$(wc -l <"$tmp/plain.json")

stop_redis
t0=$(date +%s%N)
"$bin" audit --config "$tmp/outage.yaml" --json "$tmp/outage.json" "$tmp/big.pcap" >"$tmp/a3.out" 2>"$tmp/a3.err" &
apid=$!
# The audit's own work is done when its events file is complete (it is
# renamed into place at the end); then it only waits for the output.
for _ in $(seq 600); do
	[ -f "$tmp/outage.json" ] && break
	sleep 0.05
done
read_ms=$((($(date +%s%N) - t0) / 1000000))
[ -f "$tmp/outage.json" ] && [ "$read_ms" -le $((plain_ms * 3 + 3000)) ] &&
	ok "server down: the capture is read in ${read_ms} ms (${plain_ms} ms with no output): nothing waits for Redis" ||
	bad "server down: the capture took ${read_ms} ms to read (${plain_ms} ms with no output)"
kill -0 "$apid" 2>/dev/null && ok "the audit is still waiting for its output" || bad "the audit exited before the server came back"
start_redis
wait "$apid"
rc=$?
took_ms=$((($(date +%s%N) - t0) / 1000000))
[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] && ok "the audit exits $rc, ${took_ms} ms after it started" || bad "the audit exited $rc: $(head -3 "$tmp/a3.err")"
line=$(grep "^output redis (redis):" "$tmp/a3.out")
written=$(sed -n 's/.*: \([0-9]*\) events written, \([0-9]*\) dropped.*/\1/p' <<<"$line")
dropped=$(sed -n 's/.*: \([0-9]*\) events written, \([0-9]*\) dropped.*/\2/p' <<<"$line")
[ -n "$written" ] && [ "$written" -gt 0 ] && [ "$dropped" -gt 0 ] && [ $((written + dropped)) -eq "$total" ] &&
	ok "$total events: $written delivered after the restart, $dropped dropped at the queue's bound, all counted" ||
	bad "counts: '$line' for $total events"
[ "$(cli XLEN outage)" = "$written" ] && ok "XLEN outage is $written: what was queued arrived, once" ||
	bad "XLEN outage $(cli XLEN outage), the summary says $written written"
# what arrived is the first events of the audit, in order (the queue keeps the oldest)
cli XRANGE outage - + | awk 'NR % 3 == 0' >"$tmp/outage.stream"
head -n "$written" "$tmp/outage.json" | cmp -s - "$tmp/outage.stream" && ok "the delivered events are the audit's first $written, in order" ||
	bad "the delivered events are not the first $written"
grep -q "output redis: cannot connect to Redis" "$tmp/a3.err" && grep -q "output redis: connected again" "$tmp/a3.err" &&
	ok "stderr says when the output went down and came back" || bad "stderr: $(head -3 "$tmp/a3.err")"

# ---- 4. a server that never comes back: the audit still ends on time ------------
stop_redis
t0=$(date +%s%N)
"$bin" audit --config "$tmp/outage.yaml" "$src/samples/sample.pcap" >"$tmp/a4.out" 2>"$tmp/a4.err"
took_ms=$((($(date +%s%N) - t0) / 1000000))
[ "$took_ms" -le $((plain_ms + 15000)) ] && ok "no server at all: the audit ends in ${took_ms} ms (10 s wait for the output)" ||
	bad "no server: the audit took ${took_ms} ms"
grep -q "output redis: $n events lost" "$tmp/a4.err" && ok "the $n events never delivered are reported lost" ||
	bad "stderr: $(tail -3 "$tmp/a4.err")"

echo "e2e_redis: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
