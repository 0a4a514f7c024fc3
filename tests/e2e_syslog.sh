#!/usr/bin/env bash
# tests/e2e_syslog.sh -- the syslog output against a real rsyslog, started
# here on a private unix socket and a loopback TCP port (octet-counted
# framing, RFC 6587): every event of an audit arrives once on each, as an
# RFC 5424 message rsyslog parses -- PRI (facility and the verdict's
# severity), version 1, timestamp, hostname, app-name egressfence, procid,
# MSGID the verdict -- whose MSG is the event's JSON exactly as --json
# wrote it; an output configured in the policy file (output.outputs) with
# format ecs sends the ECS shape.  The native events' community_id is the
# one tshark computes for the same capture.
set -uo pipefail

bin=${EF_BIN:?EF_BIN: the egressfence binary}
src=${EF_SOURCE_DIR:?EF_SOURCE_DIR: the source tree}

command -v rsyslogd >/dev/null || { echo "skipped: rsyslogd is not installed (scripts/setup installs rsyslog)"; exit 77; }
command -v jq >/dev/null || { echo "skipped: jq is not installed (scripts/setup installs it)"; exit 77; }

tmp=$(mktemp -d /tmp/ef-syslog.XXXXXX)
rpid=
cleanup() {
	[ -n "$rpid" ] && kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

failed=0 passed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$tmp/work"
# One line per message: what rsyslog parsed out of it, and which input
# took it, so each field is checked as the receiver understood it.
cat >"$tmp/rsyslog.conf" <<EOF
global(workDirectory="$tmp/work" maxMessageSize="64k")
module(load="imuxsock" SysSock.Use="off")
module(load="imtcp")
input(type="imuxsock" Socket="$tmp/log.sock" UseSpecialParser="off" ParseHostname="on" IgnoreTimestamp="off")
input(type="imtcp" port="$port" address="127.0.0.1")
template(name="fields" type="string"
         string="%inputname%|%pri%|%protocol-version%|%timestamp:::date-rfc3339%|%hostname%|%app-name%|%procid%|%msgid%|%msg%\n")
*.* action(type="omfile" file="$tmp/out.log" template="fields")
EOF
rsyslogd -n -f "$tmp/rsyslog.conf" -i "$tmp/rsyslogd.pid" >"$tmp/rsyslogd.log" 2>&1 &
rpid=$!
for _ in $(seq 100); do
	[ -S "$tmp/log.sock" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done
[ -S "$tmp/log.sock" ] || { echo "FAIL rsyslogd did not start: $(cat "$tmp/rsyslogd.log")"; exit 1; }

# wait_lines N: out.log has N lines (rsyslog writes asynchronously)
wait_lines() {
	for _ in $(seq 200); do
		[ "$(wc -l <"$tmp/out.log" 2>/dev/null || echo 0)" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# ---- 1. --syslog to the socket and over TCP, native events ------------------
policy=$src/samples/sample-policy.yaml
"$bin" audit --config "$policy" --json "$tmp/events.json" --syslog "$tmp/log.sock" \
	--syslog "tcp:127.0.0.1:$port" "$src/samples/sample.pcap" >"$tmp/audit.out" 2>"$tmp/audit.err"
rc=$?
[ "$rc" -eq 1 ] && ok "audit with two syslog outputs exits 1 (flows blocked)" || bad "audit exited $rc: $(head -3 "$tmp/audit.err")"
n=$(wc -l <"$tmp/events.json")
[ "$n" -gt 10 ] && ok "the audit wrote $n events" || bad "only $n events"
grep -q "^output syslog (syslog): $n events written, 0 dropped" "$tmp/audit.out" &&
	grep -q "^output syslog-2 (syslog): $n events written, 0 dropped" "$tmp/audit.out" &&
	ok "the summary counts $n written per output" || bad "summary: $(grep '^output' "$tmp/audit.out")"
wait_lines $((2 * n)) || bad "rsyslog has $(wc -l <"$tmp/out.log") lines, expected $((2 * n))"

host=$(hostname)
for input in imuxsock imtcp; do
	grep "^$input|" "$tmp/out.log" >"$tmp/$input.log"
	got=$(wc -l <"$tmp/$input.log")
	[ "$got" -eq "$n" ] && ok "$input: $n messages, one per event" || bad "$input: $got messages, expected $n"
	# every field as rsyslog parsed it
	awk -F'|' -v host="$host" '
		{ sev = $2 % 8; fac = int($2 / 8) }
		fac != 3 { print "facility " fac " in: " $0; next }
		$3 != "1" { print "version " $3 " in: " $0; next }
		$4 !~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\.[0-9][0-9][0-9][0-9][0-9][0-9]Z$/ { print "timestamp " $4; next }
		$5 != host { print "hostname " $5 " in: " $0; next }
		$6 != "egressfence" { print "app-name " $6; next }
		$7 !~ /^[0-9]+$/ { print "procid " $7; next }
		!(($8 == "block" && sev == 4) || ($8 == "log" && sev == 5) || ($8 == "allow" && sev == 6)) { print "msgid " $8 " with severity " sev; next }
	' "$tmp/$input.log" >"$tmp/$input.bad"
	[ ! -s "$tmp/$input.bad" ] && ok "$input: PRI daemon + the verdict's severity, version 1, RFC 3339 time, hostname, egressfence, procid, MSGID the verdict" ||
		bad "$input: $(head -3 "$tmp/$input.bad")"
	# MSG is the event line exactly, and MSGID its verdict
	cut -d'|' -f9- "$tmp/$input.log" | sort >"$tmp/$input.msgs"
	sort "$tmp/events.json" >"$tmp/events.sorted"
	cmp -s "$tmp/$input.msgs" "$tmp/events.sorted" && ok "$input: each message is an event line, byte for byte" ||
		bad "$input: messages differ from the events: $(diff "$tmp/$input.msgs" "$tmp/events.sorted" | head -4)"
	mismatch=$(cut -d'|' -f8- "$tmp/$input.log" | while IFS='|' read -r msgid msg; do
		[ "$(jq -r .verdict <<<"$msg")" = "$msgid" ] || echo x
	done | wc -l)
	[ "$mismatch" -eq 0 ] && ok "$input: MSGID is each event's verdict" || bad "$input: $mismatch MSGIDs differ from the verdict"
done

# ---- 2. output.outputs in the policy file, format ecs -----------------------
: >"$tmp/out.log.keep"
sed "s|^  country: \.\./geodb|  country: $src/geodb|" "$policy" >"$tmp/policy.yaml"
cat >>"$tmp/policy.yaml" <<EOF
output:
  outputs:
    - { type: syslog, socket: $tmp/log.sock, format: ecs, facility: local4, name: siem }
EOF
before=$(wc -l <"$tmp/out.log")
"$bin" audit --config "$tmp/policy.yaml" --json "$tmp/events2.json" "$src/samples/sample.pcap" >"$tmp/audit2.out" 2>"$tmp/audit2.err"
rc=$?
[ "$rc" -eq 1 ] && ok "audit with the policy's output.outputs exits 1" || bad "audit exited $rc: $(head -3 "$tmp/audit2.err")"
grep -q "^output siem (syslog): $n events written" "$tmp/audit2.out" && ok "the configured output is labelled by its name" ||
	bad "summary: $(grep '^output' "$tmp/audit2.out")"
wait_lines $((before + n)) || bad "rsyslog has $(wc -l <"$tmp/out.log") lines, expected $((before + n))"
tail -n +$((before + 1)) "$tmp/out.log" >"$tmp/ecs.log"
[ "$(awk -F'|' '{ print int($2 / 8) }' "$tmp/ecs.log" | sort -u)" = 20 ] && ok "facility local4 (20) as configured" ||
	bad "facilities: $(awk -F'|' '{ print int($2 / 8) }' "$tmp/ecs.log" | sort -u | tr '\n' ' ')"
cut -d'|' -f9- "$tmp/ecs.log" >"$tmp/ecs.msgs"
# the ECS shape, and the same flows as the native events (joined by community_id)
bad_ecs=$(jq -c 'select(.ecs.version != "8.11.0" or .event.kind != "event" or .event.category != ["network"]
	or (.event.type | index("connection")) == null or .network.transport == null or .source.ip == null
	or .destination.ip == null or .egressfence.encryption == null)' "$tmp/ecs.msgs" | head -2)
[ -z "$bad_ecs" ] && [ -s "$tmp/ecs.msgs" ] && ok "ecs: every message has ecs.version, event.kind/category/type, network, source, destination, egressfence" ||
	bad "ecs: $bad_ecs"
same_flows=$(diff <(jq -r '[.network.community_id, .event.action, .egressfence.encryption] | @tsv' "$tmp/ecs.msgs" | sort) \
	<(jq -r '[.community_id, .verdict, .encryption] | @tsv' "$tmp/events2.json" | sort))
[ -z "$same_flows" ] && ok "ecs: the same flows, verdicts and classes as the native events" || bad "ecs differs: $(head -3 <<<"$same_flows")"

# ---- 3. community_id as another implementation computes it ------------------
if command -v tshark >/dev/null; then
	tshark --enable-protocol communityid -r "$src/samples/sample.pcap" -T fields -e communityid 2>/dev/null | sort -u >"$tmp/tshark.ids"
	jq -r 'select(.community_id != null) | .community_id' "$tmp/events.json" | sort -u >"$tmp/ef.ids"
	[ -s "$tmp/ef.ids" ] && cmp -s "$tmp/tshark.ids" "$tmp/ef.ids" &&
		ok "community_id: the $(wc -l <"$tmp/ef.ids") ids are the ones tshark computes for the capture" ||
		bad "community_id differs from tshark's: $(diff "$tmp/tshark.ids" "$tmp/ef.ids" | head -4)"
else
	echo "note: tshark not installed, community_id not compared with it"
fi

# ---- 4. a syslog that is not there: the audit still finishes ----------------
kill "$rpid" && wait "$rpid" 2>/dev/null
rpid=
start=$(date +%s)
"$bin" audit --config "$policy" --json "$tmp/events3.json" --syslog "tcp:127.0.0.1:$port" \
	"$src/samples/sample.pcap" >"$tmp/audit3.out" 2>"$tmp/audit3.err"
took=$(($(date +%s) - start))
[ "$took" -le 20 ] && ok "with rsyslog gone the audit finishes (${took}s: it waits at most 10 s for the output)" ||
	bad "the audit took ${took}s with rsyslog gone"
grep -q "output syslog: $n events lost" "$tmp/audit3.err" && ok "the events it could not send are counted as lost" ||
	bad "stderr: $(head -3 "$tmp/audit3.err")"

echo "e2e_syslog: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
