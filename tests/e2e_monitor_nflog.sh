#!/usr/bin/env bash
# tests/e2e_monitor_nflog.sh -- `egressfence run' in monitor mode reading the
# kernel table's NFLOG copies (capture.source nflog, the default when
# capture.interfaces lists nothing) on the gateway of tests/netns/lib.sh:
#   - it runs on nflog:N, not on an interface;
#   - a cleartext upload to CN (block tier) is cut off and blocked, and the
#     two records of the block (the event, then the final one when the flow
#     ends) count exactly the client's segments and payload bytes that a
#     capture on the CN server saw: the copy is taken after the decision
#     rules, so what the block stopped is not counted as having left;
#   - HTTPS to CN is logged by designated-any, and every copy of a fast
#     HTTPS download (batched) is read; cleartext HTTP to DE (log
#     tier) is logged by nonconforming-cleartext, so both tiers are copied;
#   - a download from US (no rule watches it) reaches the engine not at all:
#     its packets, flows, fast_path and the table's `copied' counter do not
#     move;
#   - a reload that changes capture.source is refused;
#   - copies that come faster than the engine reads them (a test hook
#     slows it) overrun the NFLOG socket: the engine goes on, and
#     capture_drops reports the loss at once and counts exactly the copies
#     it did not get once a later copy is read;
#   - a turn of the loop that ends inside a batch of copies (a test hook
#     makes turns of 5 copies) leaves none unread: the rest of the batch is
#     read at once, not when the next copy comes;
#   - control: the same US download with monitor mode on capture.interfaces
#     is seen by the engine (fast_path moves), so the check above can fail.
# Needs root; exits 77 (skipped) without it or without ip netns / nft.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/netns/lib.sh"
ef_need_netns curl tcpdump ethtool ss jq
[ -n "$db" ] || ef_skip "no test country database under $build/tests/data"
ef_test_up
CN=${EF_ADDR4[cn]} US=${EF_ADDR4[us]} DE=${EF_ADDR4[de]} CLIENT=${EF_ADDR4[client]}
GROUP=23

ef_serve_http cn 80 && ef_serve_http cn 443 --tls && ef_serve_http us 80 && ef_serve_http de 80 || exit 1

config() { # config FILE [capture=...]
	ef_policy "$1" inside=v4 place="cn:CN us:US de:DE" groups="designated:CN conforming:US" mode=monitor \
		nflog=$GROUP rules="designated-cleartext:block designated-any:log nonconforming-cleartext:log" "${@:2}"
}

# The US download: the engine's counters before and after, as
# "packets flows fast_path copied" deltas, and the bytes it got.
US_BYTES=2000000
us_download() {
	local p0 f0 fp0 c0 got
	ef_wait_tcp_closed client 5
	sleep 0.3
	ef_counters
	p0=$(ef_field packets) f0=$(ef_field flows) fp0=$(ef_field fast_path) c0=$(ef_field copied)
	got=$(ef_ns_exec client curl -sS -m 10 "http://$US/bytes/$US_BYTES" | wc -c)
	ef_wait_tcp_closed client 5
	sleep 0.3
	ef_counters
	US_DELTA="$(($(ef_field packets) - p0)) $(($(ef_field flows) - f0)) $(($(ef_field fast_path) - fp0)) $(($(ef_field copied) - c0))"
	US_GOT=$got
}

# --- monitor mode over NFLOG ---------------------------------------------------------
config "$D/nflog.yaml"
grep -q '^capture:' "$D/nflog.yaml" && bad "the test policy lists capture interfaces; it should rely on the default"
EVENTS=$D/events-nflog.json
: >"$EVENTS"
ef_engine_start nflog --config "$D/nflog.yaml" --json "$EVENTS"
grep -q "running in monitor mode on nflog:$GROUP" "$ENGINE_LOG" && ok "runs in monitor mode on nflog:$GROUP" ||
	bad "the engine does not say it runs in monitor mode on nflog:$GROUP: $(grep 'running in' "$ENGINE_LOG")"

# US: not one packet reaches the engine.  First, before any watched
# traffic, so that no late packet of a watched connection (a server's FIN
# sent again) lands in the window.
us_download
read -r dp df dfp dc <<<"$US_DELTA"
if [ "$US_GOT" = "$US_BYTES" ] && [ "$dp" = 0 ] && [ "$df" = 0 ] && [ "$dfp" = 0 ] && [ "$dc" = 0 ]; then
	ok "a $US_BYTES-byte download from US: nothing copied (packets, flows, fast_path, copied all +0)"
else
	bad "download from US: $US_GOT bytes; packets +$dp, flows +$df, fast_path +$dfp, copied +$dc"
fi

# A cleartext upload to CN, at a bounded rate so that the verdict lands
# while it is under way.
SIZE=400000
head -c $SIZE /dev/zero | tr '\0' 'x' >"$D/upload.txt"
ef_capture cn eth0 "$D/cn.pcap" tcp port 80 || exit 1
answer=$(ef_ns_exec client curl -s -m 8 --limit-rate 200k -H 'Expect:' --data-binary "@$D/upload.txt" \
	"http://$CN/upload" 2>/dev/null)
ef_capture_stop cn >/dev/null 2>&1
# The client's segments that reached the server, and their TCP payload.
# Resets without payload are left out: the one the block sends the server
# comes from the gateway in the client's name (`reject with tcp reset' of
# a server's segment), and carries nothing the client sent.
tcpdump -nn -r "$D/cn.pcap" "src host $CLIENT and tcp" >"$D/cn.txt" 2>/dev/null
read -r seen_packets seen_bytes seen_resets < <(awk '{ if (match($0, / length [0-9]+/)) l = substr($0, RSTART + 8, RLENGTH - 8) + 0; else l = 0 }
	/Flags \[R/ && l == 0 { r++; next } { n++; s += l } END { print n + 0, s + 0, r + 0 }' "$D/cn.txt")
if [ "$answer" != "received $SIZE bytes" ] && ((seen_bytes < SIZE)); then
	ok "cleartext upload to CN cut off ($seen_bytes of $SIZE bytes reached the server in $seen_packets segments)"
else
	bad "cleartext upload to CN got through: server said \`$answer', $seen_bytes payload bytes at the server"
fi
if ef_event_seen 5 "$EVENTS" "\"dst_ip\":\"$CN\"" '"dst_port":80' '"verdict":"block"' '"rule":"designated-cleartext"' \
	'"action_taken":"blocked flow"' '"mode":"monitor"' '"bytes_out_before_block":'; then
	ok "its block event, with what left before the block"
else
	bad "no block event for the upload to CN; events: $(cut -c1-300 "$EVENTS" | head -n 3)"
fi

# HTTPS to CN: logged.
out=$(ef_ns_exec client curl -sS -k -m 10 --data 'hello' "https://$CN/" 2>&1)
if [[ $out == "received 5 bytes"* ]] && ef_event_seen 5 "$EVENTS" "\"dst_ip\":\"$CN\"" '"dst_port":443' '"encryption":"encrypted"' \
	'"verdict":"log"' '"rule":"designated-any"' '"action_taken":"logged"'; then
	ok "HTTPS to CN works and is logged by designated-any"
else
	bad "HTTPS to CN: \`$out', or no designated-any event"
fi

# A fast HTTPS download from CN: its copies come in batches (many to a
# netlink message, capture/source.c) and every one is read -- the table's
# `copied' and the engine's packets move alike, capture_drops not at all.
ef_wait_tcp_closed client 5
ef_counters
p0=$(ef_field packets) c0=$(ef_field copied) d0=$(ef_field capture_drops)
got=$(ef_ns_exec client curl -sS -k -m 30 -o /dev/null -w '%{size_download}' "https://$CN/bytes/30000000")
ef_wait_tcp_closed client 5
sleep 0.5
ef_counters
dp=$(($(ef_field packets) - p0)) dc=$(($(ef_field copied) - c0)) dd=$(($(ef_field capture_drops) - d0))
if [ "$got" = 30000000 ] && ((dc > 20000 && dp == dc && dd == 0)); then
	ok "a 30 MB HTTPS download from CN: all $dc copies read, none lost"
else
	bad "a 30 MB HTTPS download from CN: got ${got:-nothing}; copied +$dc, read +$dp, capture_drops +$dd"
fi
# The copies' times are wall-clock times (the kernel's stamp when it is
# one, else the batch's arrival): every event's ts and end_ts lie within
# the test's run.
t_now=$(date +%s)
bad_ts=$(jq -r --argjson lo "$((t_now - SECONDS - 5))" --argjson hi "$((t_now + 5))" \
	'select(.ts) | [.ts, .end_ts] | map(sub("\\.[0-9]+"; "") | fromdateiso8601) |
	 select(any(. < $lo or . > $hi)) | @text' "$EVENTS" 2>&1)
if [ -z "$bad_ts" ] && [ "$(jq -r 'select(.ts) | .ts' "$EVENTS" | wc -l)" -gt 0 ]; then
	ok "the events' ts and end_ts are wall-clock times of this run"
else
	bad "events with times outside this run (or none): ${bad_ts:-no events}"
fi

# Cleartext to DE: the log tier, which the table copies too.
out=$(ef_ns_exec client curl -sS -m 10 --data 'hello' "http://$DE/" 2>&1)
if [[ $out == "received 5 bytes"* ]] && ef_event_seen 5 "$EVENTS" "\"dst_ip\":\"$DE\"" '"verdict":"log"' \
	'"rule":"nonconforming-cleartext"' '"encryption":"cleartext"'; then
	ok "cleartext HTTP to DE (log tier) works and is logged by nonconforming-cleartext"
else
	bad "HTTP to DE: \`$out', or no nonconforming-cleartext event"
fi

# A reload that would move the source to the interfaces is refused.
cp "$D/nflog.yaml" "$D/nflog.yaml.good"
config "$D/nflog.yaml" capture="cn0 us0 de0"
kill -HUP "$ENGINE"
tries=600
while ((tries-- > 0)) && ! grep -q 'reload refused' "$ENGINE_LOG"; do sleep 0.05; done
grep -q 'reload refused.*capture.source changed' "$ENGINE_LOG" &&
	ok "a reload that changes capture.source is refused: $(grep 'reload refused' "$ENGINE_LOG" | cut -c1-110)" ||
	bad "a reload that changes capture.source was not refused: $(grep -i 'reload' "$ENGINE_LOG" | tail -n 1)"
cp "$D/nflog.yaml.good" "$D/nflog.yaml"

# The engine's exit ends the blocked flow: its final record.
ef_engine_stop
final=$(jq -c --arg cn "$CN" 'select(.dst_ip == $cn and .dst_port == 80 and .final == true)' "$EVENTS" | tail -n 1)
read -r fpb fbb fpa fba < <(jq -r '"\(.packets_out_before_block) \(.bytes_out_before_block) \(.packets_out_after_block) \(.bytes_out_after_block)"' <<<"${final:-null}")
if [ -n "$final" ] && ((fpb + fpa == seen_packets && fbb + fba == seen_bytes)) && ((fbb > 0)); then
	ok "the block's records count what left, as the CN server saw it: $fpb packets / $fbb bytes before the verdict, $fpa / $fba after ($seen_resets resets from the gateway not counted)"
else
	bad "the block's records: before ${fpb:-?}/${fbb:-?}, after ${fpa:-?}/${fba:-?} (packets/bytes); the CN server saw $seen_packets/$seen_bytes and $seen_resets resets; final: ${final:-none}"
	tail -n 4 "$D/cn.txt" | sed 's/^/    at cn: /'
fi

# --- an overrun: copies come faster than the engine reads them ------------------------
# EF_TEST_LOOP_DELAY_MS (a test hook: build/egressfence only) makes the loop
# sleep after each turn that read copies, so a fast HTTPS download from CN
# (watched, copied whole) overruns the NFLOG socket and the kernel drops
# copies.  The engine goes on, and capture_drops counts exactly the copies
# it did not get: libpcap's count was of the ENOBUFS its reads met (and
# libpcap 1.10 went on counting every later read), and the socket's own
# count is of messages, each a batch of copies (capture/source.c, NFLOG).
# The delay is long enough for batched copies, which fill the socket's
# buffer more slowly than one message a copy did, to overrun it.
# hooked_engine TAG VAR=VALUE: an engine on a new $D/TAG.yaml, with the
# test hook VAR=VALUE in its environment alone; EVENTS its event log.
hooked_engine() {
	config "$D/$1.yaml"
	EVENTS=$D/events-$1.json
	: >"$EVENTS"
	export "${2?}"
	ef_engine_start "$1" --config "$D/$1.yaml" --json "$EVENTS"
	unset "${2%%=*}"
}
if grep -q EF_TEST_LOOP_DELAY_MS "$bin"; then
	hooked_engine overrun EF_TEST_LOOP_DELAY_MS=250
	got=$(ef_ns_exec client curl -sS -k -m 30 -o /dev/null -w '%{size_download}' "https://$CN/bytes/100000000")
	ef_wait_tcp_closed client 5
	# Until the engine has read its backlog: two readings alike.
	ef_counters
	for ((i = 0; i < 40; i++)); do
		pk=$(ef_field packets)
		sleep 0.25
		ef_counters
		[ "$(ef_field packets)" = "$pk" ] && break
	done
	pk=$(ef_field packets) dr=$(ef_field capture_drops) cp=$(ef_field copied)
	# Lost at once, never more than were lost: copies lost after the last
	# one read are counted exactly when a later copy shows the gap in the
	# numbering (below); until then the socket's count of lost batches.
	if [ "$got" = 100000000 ] && kill -0 "$ENGINE" 2>/dev/null && ((dr > 0 && dr <= cp - pk)); then
		ok "an NFLOG overrun: the engine runs on; capture_drops $dr, of the $((cp - pk)) copies it did not get ($cp copied, $pk read)"
	else
		bad "an NFLOG overrun: download $got bytes, engine $(kill -0 "$ENGINE" 2>/dev/null && echo alive || echo gone); capture_drops ${dr:-?}, copied ${cp:-?}, read ${pk:-?}"
	fi
	# Then a few copies, slowly enough that none is lost: every one is
	# read, and capture_drops is now exactly the copies the engine did not
	# get, the overrun's included.
	for ((i = 0; i < 5; i++)); do
		ef_ns_exec client curl -sS -k -m 10 -o /dev/null "https://$CN/bytes/1000"
		sleep 0.2
	done
	ef_wait_tcp_closed client 5
	sleep 0.5
	ef_counters
	lost=$(($(ef_field copied) - cp - ($(ef_field packets) - pk)))
	if [ "$lost" = 0 ] && [ "$(ef_field capture_drops)" = "$(($(ef_field copied) - $(ef_field packets)))" ]; then
		ok "after it, $(($(ef_field packets) - pk)) copies read and none lost: capture_drops $(ef_field capture_drops) = $(ef_field copied) copied - $(ef_field packets) read"
	else
		bad "after the overrun: $(($(ef_field copied) - cp)) copied, $(($(ef_field packets) - pk)) read; capture_drops $dr -> $(ef_field capture_drops), copied $(ef_field copied), read $(ef_field packets)"
	fi
	ef_engine_stop
else
	echo "note: $bin has no EF_TEST_LOOP_DELAY_MS (configure with -DEF_TEST_HOOKS=ON): the overrun check is skipped"
fi

# --- a turn that ends inside a batch ----------------------------------------------------
# The loop reads at most a turn's frames from a source before its timers
# run; an NFLOG batch (up to 64 copies) read whole may outlast the turn,
# and poll() does not see what is left of it in the engine's buffer.  The
# rest must be read at once, not when the next copy comes: a held packet's
# copy waiting there would hold its verdict.  EF_TEST_TURN_FRAMES=5 (a test
# hook) ends turns inside almost every batch.
if grep -q EF_TEST_TURN_FRAMES "$bin"; then
	hooked_engine turn EF_TEST_TURN_FRAMES=5
	ef_counters
	p0=$(ef_field packets) c0=$(ef_field copied)
	got=$(ef_ns_exec client curl -sS -k -m 30 -o /dev/null -w '%{size_download}' "https://$CN/bytes/300000")
	ef_wait_tcp_closed client 5
	sleep 1
	ef_counters
	dp=$(($(ef_field packets) - p0)) dc=$(($(ef_field copied) - c0))
	if [ "$got" = 300000 ] && ((dc > 100 && dp == dc)) && [ "$(ef_field capture_drops)" = 0 ]; then
		ok "turns of 5 copies: all $dc copies of a 300 kB HTTPS download read, none left waiting"
	else
		bad "turns of 5 copies: $dp of $dc copies read a second after the download ($got bytes), capture_drops $(ef_field capture_drops)"
	fi
	ef_engine_stop
else
	echo "note: $bin has no EF_TEST_TURN_FRAMES (configure with -DEF_TEST_HOOKS=ON): the turn check is skipped"
fi

# --- control: monitor mode on capture.interfaces sees the US download ----------------
config "$D/pcap.yaml" capture="cn0 us0 de0"
EVENTS=$D/events-pcap.json
: >"$EVENTS"
ef_engine_start pcap --config "$D/pcap.yaml" --json "$EVENTS"
us_download
read -r dp df dfp dc <<<"$US_DELTA"
if grep -q 'running in monitor mode on cn0' "$ENGINE_LOG" && ((dfp > 0)); then
	ok "control: monitor mode on capture.interfaces sees the US download (fast_path +$dfp)"
else
	bad "control: monitor mode on the interfaces: $(grep 'running in' "$ENGINE_LOG"); fast_path +$dfp"
fi
ef_engine_stop

ef_test_done e2e_monitor_nflog
