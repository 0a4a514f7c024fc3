#!/usr/bin/env bash
# tests/e2e_runlog.sh -- the gateway's event log, live: `egressfence run
# --mode gate --json FILE' in the namespace gateway (tests/netns/lib.sh).
#
#   symlink          --json names a symbolic link: refused, exit 2, the
#                    file it points at untouched (issue 8, item 13)
#   signed           --sign-key: the log is chained and signed, record 1
#                    by producer "run" with the policy's and database's
#                    SHA-256; `verify-log --open' passes on the live file
#   timed            a signed checkpoint comes within --checkpoint-seconds
#                    (2) plus a stated slack of the last event, with no
#                    more events behind it; the delay measured is printed
#   rotation         mv + SIGHUP (logrotate's postrotate): the old file
#                    ends with its final checkpoint, the new one's record 1
#                    names its head; more flows; SIGTERM writes the final
#                    checkpoint; `verify-log --pubkey KEY old new' passes,
#                    and an edit in either file fails it
#   unsigned         without a key, SIGHUP after mv reopens too: events
#                    after it are in the new file
#   counters         the signed log carries the engine's counters records
#                    (timed, at SIGHUP, at exit); they verify, and the
#                    report shows the last one's figures (issue 9)
#
# Needs root; exits 77 (skipped) without it or without ip netns / nft.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/netns/lib.sh"
ef_need_netns curl ethtool ss openssl
[ -n "$db" ] || ef_skip "no test country database under $build/tests/data"
ef_test_up
CN=${EF_ADDR4[cn]}

ef_policy "$D/policy.yaml" place=cn:CN groups=designated:CN nflog=24 decide=2 rules=designated-logged:log

ENGINE="" ENGINE_LOG=""
start_engine() { ef_engine_start "$1" --config "$D/policy.yaml" "${@:2}"; } # TAG ARGS...
stop_engine() { ef_engine_stop; }

# flows N: N HTTP requests to cn, each its own connection (and event).
flows() {
	local i
	for ((i = 0; i < $1; i++)); do
		ef_ns_exec client curl -sS -m 5 -o /dev/null "http://$CN/bytes/100" || bad "curl to cn failed"
	done
}

# wait_lines FILE PATTERN MIN [SECONDS=10]: until FILE has MIN lines matching.
wait_lines() {
	local tries=$((${4:-10} * 20)) n
	while :; do
		n=$(grep -c -- "$2" "$1" 2>/dev/null)
		((${n:-0} >= $3)) && return 0
		((tries-- > 0)) || return 1
		sleep 0.05
	done
}

# wait_after FILE LINE PATTERN SECONDS: until a line after LINE matches
# PATTERN, for SECONDS of the wall clock from T0 (not a count of polls,
# which a loaded machine stretches); FOUND_AT is its line number, DELAY
# the seconds from T0 to when it was seen.
wait_after() {
	local n
	while :; do
		n=$(tail -n "+$(($2 + 1))" "$1" | grep -n -m1 -- "$3" | cut -d: -f1)
		DELAY=$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
		[ -n "$n" ] && FOUND_AT=$((n + $2)) && return 0
		awk -v d="$DELAY" -v s="$4" 'BEGIN { exit !(d > s) }' && return 1
		sleep 0.05
	done
}

# verify EXPECTED-EXIT PATTERN WHAT [verify-log args...]
verify() {
	local want=$1 pattern=$2 what=$3 rc
	shift 3
	"$bin" verify-log "$@" >"$D/v.out" 2>"$D/v.err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		bad "$what: verify-log exit $rc, expected $want: $(cat "$D/v.out" "$D/v.err")"
	elif ! grep -Eq -- "$pattern" "$D/v.out" "$D/v.err"; then
		bad "$what: verify-log said \"$(cat "$D/v.out" "$D/v.err")\", expected /$pattern/"
	else
		ok "$what: $(cat "$D/v.out" "$D/v.err" | tail -n 1 | sed "s|$D/||" | cut -c1-170)"
	fi
}

ef_serve_http cn 80 || exit 1

# --- symlink ----------------------------------------------------------------------------
echo "--- --json through a symbolic link"
echo "precious" >"$D/precious"
ln -s "$D/precious" "$D/link.json"
timeout 20 ip netns exec "$(ef_ns gw)" "$bin" run --config "$D/policy.yaml" --json "$D/link.json" \
	>"$D/link.out" 2>&1
rc=$?
if [ "$rc" = 2 ] && grep -q "symbolic link" "$D/link.out" && [ "$(cat "$D/precious")" = precious ]; then
	ok "symlink: run --json LINK refused: $(head -n 1 "$D/link.out")"
else
	bad "symlink: exit $rc, $(head -n 2 "$D/link.out" | tr '\n' ' '); the linked file holds $(wc -c <"$D/precious") bytes"
fi

# --- signed, timed, rotation --------------------------------------------------------------
echo "--- a signed event log, rotated"
"$bin" keygen --out "$D/k" >/dev/null 2>&1 || { bad "keygen"; exit 1; }
LOG=$D/events.json
CHECKPOINT_S=2
start_engine signed --json "$LOG" --sign-key "$D/k.key" --checkpoint-every 1000 --checkpoint-seconds $CHECKPOINT_S
head1=$(head -n 1 "$LOG")
psum=$(sha256sum "$D/policy.yaml" | cut -d' ' -f1)
dsum=$(sha256sum "$db" | cut -d' ' -f1)
if [[ $head1 == '{"log":{"format":"egressfence-signed-log-1"'*'"previous_head":null,"producer":"run"'*"\"sha256\":\"$psum\""*"\"sha256\":\"$dsum\""* ]]; then
	ok "signed: record 1 names producer run, the policy's and the database's SHA-256"
else
	bad "signed: record 1 is ${head1:0:300}"
fi
flows 3
# No event comes after these: the timed checkpoint alone must sign them.
# The delay is measured from the moment the third event is seen in the
# file (the first unsigned record may be older: the promise is at most
# --checkpoint-seconds after it) to the first checkpoint after it, which
# signs every record before it (a checkpoint between the events, on a slow
# machine, is fine).  The slack: the writer looks at the clock once a
# second (1 s), and a loaded machine or the ASan build (about 3x slower)
# may be late to write or to be polled (4 s).
SLACK_S=5
if wait_lines "$LOG" '"verdict":"log"' 3 20; then
	T0=$EPOCHREALTIME
	last=$(grep -n '"verdict":"log"' "$LOG" | sed -n '3s/:.*//p')
	if wait_after "$LOG" "$last" '"checkpoint":{.*"final":false' $((CHECKPOINT_S + SLACK_S)); then
		ok "timed: a signed checkpoint (line $FOUND_AT, over records 1..$((FOUND_AT - 1))) came $DELAY s after the 3rd event, with no more events (limit $CHECKPOINT_S s + $SLACK_S s slack)"
	else
		bad "timed: no checkpoint after the 3rd event (line $last) within $CHECKPOINT_S s + $SLACK_S s slack ($DELAY s waited): $(tail -n 1 "$LOG" | cut -c1-120)"
	fi
else
	bad "signed: 3 events did not reach the log: $(wc -l <"$LOG") lines"
fi
verify 0 'OK, signed by key .* still open' "signed: verify-log --open on the live file" --pubkey "$D/k.pub" --open "$LOG"
verify 1 'ends .* after its last signed checkpoint|without|final' "signed: the live file is not a closed log" --pubkey "$D/k.pub" "$LOG"

mv "$LOG" "$LOG.1"
kill -HUP "$ENGINE"
if wait_lines "$LOG.1" '"final":true' 1 10 && wait_lines "$LOG" '"previous_head":"' 1 10; then
	last=$(tail -n 1 "$LOG.1" | sed -n 's/.*"chain":"\([0-9a-f]*\)".*/\1/p')
	if grep -q "\"previous_head\":\"$last\"" "$LOG"; then
		ok "rotation: the old file ends with its final checkpoint; the new file's record 1 names its head ${last:0:16}..."
	else
		bad "rotation: the new file's record 1 does not name the old file's head $last: $(head -n 1 "$LOG" | cut -c1-200)"
	fi
else
	bad "rotation: after mv + SIGHUP: old file ends $(tail -n 1 "$LOG.1" | cut -c1-80); new file: $(head -n 1 "$LOG" 2>&1 | cut -c1-80)"
fi
flows 2
wait_lines "$LOG" '"verdict":"log"' 2 || bad "rotation: 2 events did not reach the new file"
verify 0 'events\.json: OK, signed by key .* still open' "rotation: verify-log --open on the new live file" --pubkey "$D/k.pub" --open "$LOG.1" "$LOG"
stop_engine
if tail -n 1 "$LOG" | grep -q '"checkpoint":{.*"final":true'; then
	ok "SIGTERM: the final checkpoint is the last record"
else
	bad "SIGTERM: the log ends $(tail -n 1 "$LOG" | cut -c1-120)"
fi
verify 0 'events\.json: OK, signed by key .*\(closed\)' "rotation: verify-log --pubkey KEY old new" --pubkey "$D/k.pub" "$LOG.1" "$LOG"
verify 1 'does not continue the one before it' "rotation: files out of order" --pubkey "$D/k.pub" "$LOG" "$LOG.1"
for f in "$LOG.1" "$LOG"; do
	cp "$f" "$D/orig"
	sed -i '0,/"verdict":"log"/s//"verdict":"allow"/' "$f"
	verify 1 'record [0-9]+ was changed' "rotation: an event edited in $(basename "$f")" --pubkey "$D/k.pub" "$LOG.1" "$LOG"
	cp "$D/orig" "$f"
done

# --- counters records (issue 9: the gaps of a run log) -----------------------------------
# A signed log carries the engine's counters as records of its own: every
# --checkpoint-seconds, at SIGHUP (the last record of a moved file before its
# final checkpoint) and at exit (before the final checkpoint).  They verify
# with the events, are not counted as flows, and `egressfence report' shows
# the last one's figures as the engine run's gaps.
echo "--- counters records in a signed log"
counters_block() {
	local LOG=$D/counted.json C=$D/counted
	command -v jq >/dev/null || { bad "counters: needs jq (scripts/setup installs it)"; return; }
	start_engine counted --json "$LOG" --sign-key "$D/k.key" --checkpoint-seconds 1
	flows 2
	wait_lines "$LOG" '"verdict":"log"' 2 || bad "counters: 2 events did not reach the log"
	if wait_lines "$LOG" '"counters":{.*"why":"interval"' 1 6; then
		ok "counters: a timed counters record within 6 s (--checkpoint-seconds 1)"
	else
		bad "counters: no timed counters record within 6 s: $(tail -n 2 "$LOG" | cut -c1-160)"
	fi
	mv "$LOG" "$LOG.1"
	kill -HUP "$ENGINE"
	wait_lines "$LOG.1" '"final":true' 1 10 && wait_lines "$LOG" '"previous_head":"' 1 10 ||
		bad "counters: the moved file was not closed after SIGHUP"
	if tail -n 2 "$LOG.1" | head -n 1 | grep -q '^{"counters":{.*"why":"sighup"'; then
		ok "counters: the moved file's last record before its final checkpoint is the SIGHUP's counters"
	else
		bad "counters: the moved file ends $(tail -n 2 "$LOG.1" | head -n 1 | cut -c1-120)"
	fi
	flows 1
	wait_lines "$LOG" '"verdict":"log"' 1 || bad "counters: the event after SIGHUP did not reach the new file"
	stop_engine
	if tail -n 2 "$LOG" | head -n 1 | grep -q '^{"counters":{.*"why":"exit"'; then
		ok "counters: at exit the counters record comes just before the final checkpoint"
	else
		bad "counters: the log ends $(tail -n 2 "$LOG" | cut -c1-200)"
	fi
	verify 0 'counted\.json: OK, signed by key .*\(closed\)' "counters: verify-log --pubkey KEY with counters records" \
		--pubkey "$D/k.pub" "$LOG.1" "$LOG"
	# The exit record states what the engine did: every event it wrote is in the two files.
	local last events written
	last=$(grep '^{"counters":' "$LOG" | tail -n 1)
	events=$(cat "$LOG.1" "$LOG" | grep -c '"verdict":')
	written=$(jq -r '.counters.outputs[0].written' <<<"$last")
	if [ "$written" = "$events" ] && [ "$(jq -r '.counters.flows >= 3 and .counters.packets > 0' <<<"$last")" = true ]; then
		ok "counters: the exit record says $written events written, the files hold $events; flows $(jq .counters.flows <<<"$last")"
	else
		bad "counters: the exit record says written=$written, the files hold $events events: ${last:0:300}"
	fi
	# The report of the two files: the last record's figures, as the page shows them.
	"$bin" report --pubkey "$D/k.pub" -o "$C.html" "$LOG.1" "$LOG" >"$C.rep" 2>&1 || bad "counters: report failed: $(cat "$C.rep")"
	local page=$C.html chromium
	if chromium=$(command -v chromium || command -v chromium-browser); then
		timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --user-data-dir="$D/chromium" \
			--dump-dom "file://$C.html" >"$C.dom" 2>/dev/null && page=$C.dom
	fi
	fig() { sed -n "s/.*id=\"\{0,1\}$1\"\{0,1\}>\([0-9,]*\)<.*/\1/p" "$page" | tr -d , | head -n 1; }
	local want got k
	for k in capture-drops:capture_drops out-1-dropped:outputs[0].dropped out-1-write-errors:outputs[0].write_errors \
		out-1-written:outputs[0].written; do
		want=$(jq -r ".counters.${k#*:}" <<<"$last")
		got=$(fig "run-1-${k%%:*}")
		if [ -n "$got" ] && [ "$got" = "$want" ]; then
			ok "counters: report ($(basename "$page")) shows ${k%%:*} $got, as the last counters record says"
		else
			bad "counters: report shows ${k%%:*} '${got}', the last counters record says $want"
		fi
	done
	local since
	since=$(jq -r .counters.engine_started <<<"$last")
	grep -q "since the engine started at <b>$since</b>, as of <b>$(jq -r .counters.time <<<"$last")</b>" "$page" &&
		ok "counters: the figures are stated since the engine started ($since), as of the last record" ||
		bad "counters: the page does not say 'since the engine started at $since, as of ...'"
	if python3 "$src/tests/report/dom_figures.py" "$page" >"$C.json" &&
		[ "$(jq -r .total_flows "$C.json")" = "$events" ] && [ "$(jq -r '[.logs[][4]] | join(" ")' "$C.json")" = "0 0" ]; then
		ok "counters: the report counts $events flows, its counters records are neither flows nor unreadable lines"
	else
		bad "counters: the report counts $(jq -c '[.total_flows, [.logs[][3,4]]]' "$C.json" 2>&1) for $events events"
	fi
}
counters_block

# --- unsigned ---------------------------------------------------------------------------
echo "--- an unsigned event log, rotated"
LOG=$D/plain.json
start_engine plain --json "$LOG"
flows 2
wait_lines "$LOG" '"verdict":"log"' 2 || bad "unsigned: 2 events did not reach the log"
mv "$LOG" "$LOG.1"
kill -HUP "$ENGINE"
if wait_lines "$ENGINE_LOG" 'reloaded' 1 10 && sleep 1.5 && flows 2 && wait_lines "$LOG" '"verdict":"log"' 2; then
	ok "unsigned: events after mv + SIGHUP go to the new file ($(wc -l <"$LOG.1") in the old, $(wc -l <"$LOG") in the new)"
else
	bad "unsigned: after mv + SIGHUP the new file has $(cat "$LOG" 2>/dev/null | wc -l) lines, the old $(wc -l <"$LOG.1")"
fi
stop_engine

ef_test_done e2e_runlog
