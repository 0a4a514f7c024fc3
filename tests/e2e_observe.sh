#!/usr/bin/env bash
# tests/e2e_observe.sh -- `egressfence run' in observe mode (gateway.mode:
# observe, or --mode observe) on the gateway of tests/netns/lib.sh: it
# judges and logs every flow and touches no traffic.
#   - no table inet egressfence is loaded, before or after a block verdict;
#   - a 400 kB cleartext upload to CN, which the policy blocks (and which
#     monitor mode cuts off once judged), arrives whole at the server;
#   - its event says verdict block, rule designated-cleartext, mode
#     observe, "observe":true and action_taken "none (observe mode)";
#   - the same upload in monitor mode, as a control, is cut off: what
#     observe mode lets through is its doing, not the test's;
#   - after kill -9 there is no table to remove;
#   - a table an earlier (gate) run left is left alone, with a warning.
# Needs root; exits 77 (skipped) without it or without ip netns / nft.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/netns/lib.sh"
ef_need_netns curl ethtool ss openssl
[ -n "$db" ] || ef_skip "no test country database under $build/tests/data"
ef_test_up
CN=${EF_ADDR4[cn]}

ef_serve_http cn 80 || exit 1

config() { # config FILE MODE
	ef_policy "$1" inside=v4 place=cn:CN groups=designated:CN capture=cn0 mode="$2" rules=designated-cleartext:block
}

table_present() { ef_ns_exec gw nft list tables 2>/dev/null | grep -qx 'table inet egressfence'; }

# An upload that goes on well past its first segment, which is when the
# engine judges it: sent at a bounded rate so the verdict comes mid-way.
SIZE=400000
head -c $SIZE /dev/zero | tr '\0' 'x' >"$D/upload.txt"
upload() {
	ef_ns_exec client curl -s -m 20 --limit-rate 100k -H 'Expect:' --data-binary "@$D/upload.txt" \
		"http://$CN/upload" 2>/dev/null
}

# event_seen SECONDS FILE PATTERN...: an event line holding every pattern.
event_seen() {
	local tries=$(($1 * 20)) file=$2 p line
	shift 2
	while ((tries-- > 0)); do
		while IFS= read -r line; do
			for p in "$@"; do
				[[ $line == *"$p"* ]] || continue 2
			done
			return 0
		done <"$file"
		sleep 0.05
	done
	return 1
}

# --- observe ----------------------------------------------------------------------
config "$D/observe.yaml" observe
EVENTS=$D/events-observe.json
: >"$EVENTS"
ef_engine_start observe --config "$D/observe.yaml" --json "$EVENTS"
grep -q 'running in observe mode on cn0' "$ENGINE_LOG" && ok "runs in observe mode on the capture interface" ||
	bad "the engine does not say it runs in observe mode"
table_present && bad "observe mode loaded table inet egressfence" || ok "no table loaded"

answer=$(upload)
[ "$answer" = "received $SIZE bytes" ] && ok "the blocked-by-policy upload to CN arrived whole ($answer)" ||
	bad "the upload to CN did not arrive whole in observe mode: server said \`$answer'"
if event_seen 10 "$EVENTS" "\"dst_ip\":\"$CN\"" '"verdict":"block"' '"rule":"designated-cleartext"' \
	'"action_taken":"none (observe mode)"' '"mode":"observe"' '"observe":true'; then
	ok "its event: verdict block, observe true, action none"
else
	bad "no observe event with verdict block for the upload; events: $(cut -c1-300 "$EVENTS" | head -n 2)"
fi
table_present && bad "a block verdict loaded a table in observe mode" || ok "still no table after the block verdict"
kill -KILL "$ENGINE"
wait "$ENGINE" 2>/dev/null
table_present && bad "kill -9 in observe mode left a table" || ok "kill -9 leaves nothing to remove"

# A gate killed with -9 left its table: observe mode leaves it, and says so.
ef_ns_exec gw nft add table inet egressfence
ef_engine_start stale --config "$D/observe.yaml" --json "$D/events-stale.json"
grep -q 'still loaded and still enforces' "$ENGINE_LOG" && ok "observe mode warns of a table left by an earlier run" ||
	bad "observe mode started beside a left-over table without a word"
ef_engine_stop
table_present && ok "and leaves that table alone" || bad "observe mode removed a table it did not load"
ef_ns_exec gw nft delete table inet egressfence

# --- the control: monitor mode cuts the same upload off -------------------------------
config "$D/monitor.yaml" monitor
EVENTS=$D/events-monitor.json
: >"$EVENTS"
ef_engine_start monitor --config "$D/monitor.yaml" --json "$EVENTS"
answer=$(upload)
[ "$answer" != "received $SIZE bytes" ] && ok "control: monitor mode cuts the same upload off" ||
	bad "control: monitor mode let the whole upload through, so the observe check above proves nothing"
event_seen 10 "$EVENTS" '"verdict":"block"' '"mode":"monitor"' && ! grep -q '"observe"' "$EVENTS" &&
	ok "control: monitor events have no observe field" || bad "control: monitor events"
ef_engine_stop

ef_test_done e2e_observe
