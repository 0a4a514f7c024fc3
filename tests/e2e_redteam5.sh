#!/usr/bin/env bash
# tests/e2e_redteam5.sh -- the fifth red-team pass, against gate mode's
# release of held segments (the engine sends an allowed flow's held
# datagram on itself, through a raw socket, from the gateway: the output
# hook, whose chain is the forward chain's).
#
# The release must send on only what the gate would let through as the
# client's own retransmission.  The chains are the same, but conntrack is
# not: it verifies TCP checksums only in PRE_ROUTING, so a segment with a
# wrong checksum is `ct state invalid' as it is forwarded (held, forever)
# and a valid, established packet when the gateway sends it itself.
#
# Cases (a real HTTPS connection to cn, allowed as encrypted; then crafted
# segments at its sequence numbers, each with a marker, tests/redteam5/
# probe5.py; tcpdump on cn's side counts the marker):
#   goodsum    the control: 6 TLS records with a right checksum pass
#              (the flow is allowed), so the probe can see a marker
#   badsum     6 such records with a wrong TCP checksum: none reaches cn
#              (without the fix: 3, the release's bound of 4 less the
#              connection's own first record)
#   badsum6    the same over IPv6
#   badopt     6 records behind a TCP option of no known layout: none
#              reaches cn (held at forward, held again at output)
#
# Needs root; exits 77 (skipped) without it or without ip netns / nft.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/netns/lib.sh"
ef_need_netns tcpdump
[ -n "$db" ] || ef_skip "no test country database (tests/data under the build tree)"
ef_test_up
cfg=$D/policy.yaml
ef_policy "$cfg" place="cn:CN us:US" place6="cn:CN us:US" groups=designated:CN nflog=43 decide=2 \
	fail_open=false release=true rules="designated-cleartext:block designated-any:log" || exit 1
ef_serve_http cn 443 --tls || exit 1
ef_engine_start redteam5 --config "$cfg" --json "$D/events.json"

# probe NAME KIND FAMILY SPORT: runs probe5.py KIND with 6 segments; AT is
# the marker copies cn received, REL the engine's released counter's rise.
probe() {
	local name=$1 kind=$2 fam=$3 sport=$4 s d r0
	MARK=$(printf 'R5%s%04d' "$sport" $((RANDOM % 10000)))
	if [ "$fam" = 6 ]; then s=${EF_ADDR6[client]} d=${EF_ADDR6[cn]}; else s=${EF_ADDR4[client]} d=${EF_ADDR4[cn]}; fi
	ef_counters
	r0=$(ef_field released)
	ef_capture cn eth0 "$D/$name.pcap" || exit 1
	ef_ns_exec client "$EF_PYTHON" "$src/tests/redteam5/probe5.py" "$kind" "$s" "$d" "$MARK" 6 "$sport" >"$D/$name.out" 2>&1 ||
		sed 's/^/    sender: /' "$D/$name.out"
	sleep 0.5
	ef_capture_stop cn 2>/dev/null
	ef_counters
	AT=$(ef_marker_packets "$D/$name.pcap" "$MARK" blake2b)
	REL=$(($(ef_field released) - r0))
	echo "  $name: 6 sent, $AT with the marker at cn, released +$REL"
}

probe goodsum goodsum 4 41501
[ "$AT" = 6 ] && ok "goodsum: 6 of 6 records of an allowed connection reached cn (the probe sees a marker)" ||
	bad "goodsum: $AT of 6 records reached cn; the probe cannot tell"

probe badsum badsum 4 41502
[ "$AT" = 0 ] && ok "badsum: no segment with a wrong TCP checksum reached cn (the forward path holds them as invalid)" ||
	bad "badsum: $AT segments with a wrong TCP checksum reached cn, sent on by the release (released +$REL)"

probe badsum6 badsum 6 41503
[ "$AT" = 0 ] && ok "badsum6: no IPv6 segment with a wrong TCP checksum reached cn" ||
	bad "badsum6: $AT IPv6 segments with a wrong TCP checksum reached cn, sent on by the release (released +$REL)"

probe badopt badopt 4 41504
[ "$AT" = 0 ] && ok "badopt: no segment behind an unknown TCP option reached cn" ||
	bad "badopt: $AT segments behind an unknown TCP option reached cn"

ef_engine_stop
ef_test_done e2e_redteam5
