#!/usr/bin/env bash
# tests/e2e_gate_release.sh -- gate mode sends on the held segment of a flow
# it allows, so that an allowed connection to the block tier does not wait
# for its client's retransmission timeout.
#
# The gate holds an undecided connection's payload towards the block tier
# (TLS: the client's first protected record) until the engine's verdict.
# The gate never lets such a connection negotiate SACK, and without SACK
# Linux sends no tail loss probe: the held segment is resent only at the
# retransmission timeout, 200 ms or more (bench/live.sh measured 206-211 ms
# for 20 of 20 short HTTPS requests before this).  The engine now sends the
# held datagram on itself once the allow is in the kernel, through the same
# rules (the output hook).
#
# Checks, over real curl HTTPS requests to cn (CN, designated, logged by
# designated-any) through a gate, IPv4 and IPv6:
#   - every request completes and the client retransmits at most one
#     segment over them all (without the release: one a request);
#   - the engine released at least one held segment a request, none failed,
#     and its metrics (egressfence_released_packets_total) say the same;
#   - a blocked cleartext upload to cn releases nothing, and its marker
#     never reaches cn;
#   - with gateway.release_held: false the engine sends nothing on and every
#     request's client retransmits its held segment (what the checks above
#     would see without the release).
#
# Needs root; exits 77 (skipped) without it or without ip netns / nft.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/netns/lib.sh"
ef_need_netns curl tcpdump
[ -n "$db" ] || ef_skip "no test country database (tests/data under the build tree)"
ef_test_up
CN=${EF_ADDR4[cn]} CN6=${EF_ADDR6[cn]}
ef_serve_http cn 443 --tls && ef_serve_http cn 80 || exit 1
for r in true false; do
	ef_policy "$D/gate-$r.yaml" place="cn:CN" place6="cn:CN" groups=designated:CN nflog=19 decide=3 release=$r \
		rules="designated-cleartext:block designated-any:log" || exit 1
done

retrans() { ef_retrans client; }

EVENTS=$D/events.json
METRICS=127.0.0.1:9817
ef_engine_start gate --config "$D/gate-true.yaml" --json "$EVENTS" --metrics-listen "$METRICS"

# requests N4 N6: that many HTTPS requests to cn over IPv4, then IPv6;
# their status codes in CODES, first bytes after the handshake in SLOW (ms,
# reported, not asserted: timing), the client's retransmissions in RETRANS.
requests() {
	local i url fam out code pre start r0
	CODES="" SLOW=""
	r0=$(retrans)
	for ((i = 0; i < $1 + $2; i++)); do
		ef_wait_tcp_closed client 5 || true
		if ((i < $1)); then url="https://$CN/bytes/1000" fam=-4; else url="https://[$CN6]/bytes/1000" fam=-6; fi
		out=$(ef_ns_exec client curl -sS -k "$fam" --max-time 10 -o /dev/null \
			-w '%{http_code} %{time_pretransfer} %{time_starttransfer}' "$url" 2>"$D/curl.err")
		read -r code pre start <<<"$out"
		CODES="$CODES ${code:-none}"
		SLOW="$SLOW $(awk -v p="${pre:-0}" -v s="${start:-0}" 'BEGIN { printf "%.1f", (s - p) * 1000 }')"
	done
	RETRANS=$(($(retrans) - r0))
}

N4=6 N6=3
requests $N4 $N6
codes=$CODES slow=$SLOW
echo "first byte after the handshake, ms:$slow"
ef_counters
released=$(ef_field released) errors=$(ef_field release_errors)

[ "$(tr ' ' '\n' <<<"$codes" | grep -c '^200$')" = $((N4 + N6)) ] &&
	ok "$N4 IPv4 and $N6 IPv6 HTTPS requests to cn through the gate completed" ||
	bad "HTTPS requests to cn: status codes$codes ($(cat "$D/curl.err"))"
# Without the release every request retransmits its held segment once
# (9 of 9); one is allowed for a verdict that takes longer than the
# client's 200 ms timeout on a loaded machine (sanitizers, parallel tests).
((RETRANS <= 1)) &&
	ok "the client retransmitted $RETRANS segments over $((N4 + N6)) requests (the held ones were sent on by the engine)" ||
	bad "the client retransmitted $RETRANS segments over $((N4 + N6)) requests: held segments waited for its timeout"
[ "${released:-0}" -ge $((N4 + N6)) ] && [ "${errors:-x}" = 0 ] &&
	ok "the engine released $released held segments, $errors failed" ||
	bad "released=${released:-?} release_errors=${errors:-?}, expected >= $((N4 + N6)) and 0"

# The metrics (published once a second) catch up with the counters.
metric=""
for ((i = 0; i < 60; i++)); do
	metric=$(ef_ns_exec gw curl -sf "http://$METRICS/metrics" | sed -n 's/^egressfence_released_packets_total \([0-9]*\)$/\1/p')
	[ "$metric" = "$released" ] && break
	sleep 0.1
done
[ "$metric" = "$released" ] &&
	ok "egressfence_released_packets_total is $metric, as the counters say" ||
	bad "egressfence_released_packets_total is ${metric:-absent}, the counters say $released"

# A blocked flow: nothing released, nothing of it reaches cn.
MARK=EGRESSFENCE-RELEASE-$RANDOM$RANDOM
printf 'POST /upload HTTP/1.1\r\nHost: cn\r\nContent-Length: 64\r\n\r\n%s' "$MARK" >"$D/post.txt"
ef_capture cn eth0 "$D/cn.pcap" tcp port 80 || exit 1
ef_ns_exec client curl -sS -m 4 -o /dev/null --data-binary @"$D/post.txt" "http://$CN/upload" 2>/dev/null
ef_capture_stop cn >/dev/null 2>&1
ef_counters
if [ "$(ef_field released)" = "$released" ] && [ "$(ef_field block)" -ge 1 ]; then
	ok "a blocked cleartext upload released nothing (released stays $released, block=$(ef_field block))"
else
	bad "after a blocked upload: released $released -> $(ef_field released), block=$(ef_field block)"
fi
if [ "$(ef_marker_packets "$D/cn.pcap" "$MARK")" != 0 ]; then
	bad "the blocked upload's marker reached cn"
else
	ok "the blocked upload's marker never reached cn"
fi

ef_engine_stop

# The same requests with the release turned off: the client resends.
ef_engine_start norelease --config "$D/gate-false.yaml" --json "$D/events-norelease.json"
requests 3 0
echo "release_held: false, first byte after the handshake, ms:$SLOW"
ef_counters
if [ "$(tr ' ' '\n' <<<"$CODES" | grep -c '^200$')" = 3 ] && ((RETRANS >= 3)) && [ "$(ef_field released)" = 0 ]; then
	ok "release_held: false: 3 requests completed, the client retransmitted $RETRANS segments, nothing released"
else
	bad "release_held: false: status codes$CODES, $RETRANS retransmitted (expected >= 3), released=$(ef_field released) (expected 0)"
fi
ef_engine_stop
ef_test_done e2e_gate_release
