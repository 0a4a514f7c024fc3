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
if ef_event_seen 10 "$EVENTS" "\"dst_ip\":\"$CN\"" '"verdict":"block"' '"rule":"designated-cleartext"' \
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
# The first fragment of a UDP datagram to CN, 999 bytes of text, whose
# other fragments never come: its bytes left, so the engine's event holds
# them when it stops (redteam2 frag-never-complete, live).
ef_ns_exec client "$EF_PYTHON" - "${EF_ADDR4[client]}" "$CN" <<'PY'
import socket, struct, sys
src, dst = sys.argv[1], sys.argv[2]
body = struct.pack("!HHHH", 41999, 9999, 8 + 3000, 0) + b"FRAGTEXT quarterly figures " * 37
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 4242, 0x2000, 64, 17, 0,
                socket.inet_aton(src), socket.inet_aton(dst))
h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW).sendto(h + body, (dst, 0))
PY
sleep 1
ef_engine_stop
if jq -se --arg cn "$CN" 'any(.[]; .dst_ip == $cn and .l4 == "udp" and .incomplete_datagrams >= 1 and
	.bytes_out >= 999)' "$D/events-stale.json" >/dev/null; then
	ok "a first fragment that never completed: its flow's event counts it when the engine stops (incomplete_datagrams, bytes_out)"
else
	bad "no event with the incomplete datagram to CN: $(jq -c 'select(.dst_ip == "'"$CN"'") | {l4,bytes_out,incomplete_datagrams}' "$D/events-stale.json" 2>/dev/null | tr '\n' ' ')"
fi
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
ef_event_seen 10 "$EVENTS" '"verdict":"block"' '"mode":"monitor"' && ! grep -q '"observe"' "$EVENTS" &&
	ok "control: monitor events have no observe field" || bad "control: monitor events"
ef_engine_stop

ef_test_done e2e_observe
