#!/usr/bin/env bash
# tests/e2e_run_outputs.sh -- the daemon's outputs, live: `egressfence run
# --mode gate' in the namespace gateway (tests/netns/lib.sh) writing its
# events to a file, to a real rsyslog (a unix socket, which reaches across
# namespaces) and to a real redis-server in the gateway's namespace, all at
# once; every event reaches all three.  Then Redis is stopped while flows
# go on: the gate keeps judging them (no connection waits on the output),
# and the events queued meanwhile arrive once it is back.  SIGUSR1 and
# exit print each output's counters, labelled by name.
#
# Needs root; exits 77 (skipped) without it, ip netns, nft, rsyslogd or
# redis-server.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/netns/lib.sh"
ef_need_netns curl ethtool ss jq rsyslogd redis-server redis-cli
[ -n "$db" ] || ef_skip "no test country database under $build/tests/data"
ef_test_up
CN=${EF_ADDR4[cn]}

ef_policy "$D/policy.yaml" place=cn:CN groups=designated:CN nflog=25 decide=2 rules=designated-logged:log \
	tail='output:
  outputs:
    - { type: redis, address: "127.0.0.1:6379", key: gw, name: fleet, queue_bytes: 1M }'

# rsyslog, on a socket in the test's folder
mkdir -p "$D/rsyslog"
cat >"$D/rsyslog.conf" <<EOF
global(workDirectory="$D/rsyslog" maxMessageSize="64k")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$D/log.sock" UseSpecialParser="off" ParseHostname="on" IgnoreTimestamp="off")
template(name="msg" type="string" string="%app-name%|%msgid%|%msg%\n")
*.* action(type="omfile" file="$D/syslog.out" template="msg")
EOF
rsyslogd -n -f "$D/rsyslog.conf" -i "$D/rsyslogd.pid" >"$D/log/rsyslogd.log" 2>&1 &
RSYSLOG=$!
EF_PIDS+=("$RSYSLOG")

# redis, on the gateway's own loopback
redis() { ef_ns_exec gw redis-cli -p 6379 --raw "$@"; }
start_redis() {
	ef_bg gw "redis-$1" redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no --dir "$D"
	REDIS=$EF_LAST_PID
	ef_wait_listen gw tcp 6379 || { echo "FAIL redis-server did not start"; exit 1; }
}
start_redis 1
for _ in $(seq 100); do [ -S "$D/log.sock" ] && break; sleep 0.1; done
[ -S "$D/log.sock" ] || { echo "FAIL rsyslogd did not start: $(cat "$D/log/rsyslogd.log")"; exit 1; }

ENGINE="" ENGINE_LOG=""
ef_serve_http cn 80 || exit 1

# flows N: N HTTP requests to cn, each its own connection (and event); a
# request the gate held past curl's 5 s would fail here.
flows() {
	local i
	for ((i = 0; i < $1; i++)); do
		ef_ns_exec client curl -sS -m 5 -o /dev/null "http://$CN/bytes/100" || bad "curl to cn failed"
	done
}
# until COMMAND prints at least N, up to 10 s
wait_count() {
	local n=$1 tries=200 v
	shift
	while ((tries-- > 0)); do
		v=$("$@" 2>/dev/null | head -n 1)
		((${v:-0} >= n)) && return 0
		sleep 0.05
	done
	return 1
}
events() { grep -c . "$D/events.json"; }
syslog_lines() { grep -c '^egressfence|' "$D/syslog.out"; }
stream_len() { redis XLEN gw; }

ef_engine_start outputs --config "$D/policy.yaml" --json "$D/events.json" --syslog "$D/log.sock"

# ---- 1. every event to all three --------------------------------------------
flows 5
wait_count 5 events || bad "the file has $(events) events after 5 flows"
n=$(events)
wait_count "$n" syslog_lines || bad "rsyslog has $(syslog_lines) messages, the file $n events"
wait_count "$n" stream_len || bad "the stream has $(stream_len) entries, the file $n events"
cut -d'|' -f3- "$D/syslog.out" | sort >"$D/syslog.msgs"
redis XRANGE gw - + | awk 'NR % 3 == 0' | sort >"$D/stream.msgs"
sort "$D/events.json" >"$D/events.sorted"
cmp -s "$D/syslog.msgs" "$D/events.sorted" && ok "syslog: the $n events of the file, byte for byte" ||
	bad "syslog differs from the file: $(diff "$D/syslog.msgs" "$D/events.sorted" | head -3)"
cmp -s "$D/stream.msgs" "$D/events.sorted" && ok "redis: the $n events of the file, byte for byte" ||
	bad "redis differs from the file: $(diff "$D/stream.msgs" "$D/events.sorted" | head -3)"
[ "$(jq -r '[.mode, .decided_by != null, .community_id != null] | @tsv' "$D/events.json" | sort -u)" = "$(printf 'gate\ttrue\ttrue')" ] &&
	ok "the daemon's events carry mode, decided_by and community_id" || bad "events: $(head -c 300 "$D/events.json")"

# ---- 2. Redis goes away while flows go on -----------------------------------
kill "$REDIS"
wait "$REDIS" 2>/dev/null
t0=$(date +%s%N)
flows 5
ms=$((($(date +%s%N) - t0) / 1000000))
wait_count $((n + 5)) events || bad "the file has $(events) events after 5 more flows"
ok "Redis down: 5 more flows judged and logged in ${ms} ms (each within curl's 5 s)"
kill -USR1 "$ENGINE"
wait_count 1 grep -c "output fleet (redis): written=$n dropped=0 block_dropped=0 connected=no" "$ENGINE_LOG" &&
	ok "SIGUSR1: output fleet (redis) written=$n, disconnected" || bad "SIGUSR1 line: $(grep 'output fleet' "$ENGINE_LOG" | tail -1)"
# a new, empty server (no persistence): it gets what was queued meanwhile
start_redis 2
m=$(events)
wait_count $((m - n)) stream_len && [ "$(stream_len)" = $((m - n)) ] &&
	ok "Redis back: the $((m - n)) events queued meanwhile arrived, once" ||
	bad "after the restart the stream has $(stream_len) entries; $((m - n)) events were queued"
redis XRANGE gw - + | awk 'NR % 3 == 0' >"$D/stream2.msgs"
tail -n $((m - n)) "$D/events.json" | cmp -s - "$D/stream2.msgs" &&
	ok "they are the events written while it was down, in order" || bad "the late entries differ from the file's last $((m - n))"

ef_engine_stop
grep -q "output fleet (redis): written=$m dropped=0" "$ENGINE_LOG" && grep -q "output syslog (syslog): written=$m dropped=0" "$ENGINE_LOG" &&
	ok "exit: each output's counters, by name" || bad "exit counters: $(grep '^egressfence: output' "$ENGINE_LOG" | tail -2)"

# a sanitizer's report (the ASan build) is the first thing to read
((failed)) && grep -E -m1 -A40 "ERROR: (Address|Leak)Sanitizer|runtime error" "$ENGINE_LOG" | sed 's/^/    engine: /'
ef_test_done e2e_run_outputs
