#!/usr/bin/env bash
# tests/redteam5/probe5.sh -- the fifth red-team pass (gate mode's release
# of held segments): for each probe5.py kind, marker copies at cn, the
# engine's released / release_errors / held counters.  Root; run like the
# e2e tests (EF_BIN, EF_SOURCE_DIR, EF_BINARY_DIR).  EF_PROBE_KINDS picks
# "kind family count ...".
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../netns/lib.sh"
ef_need_netns tcpdump
[ -n "$db" ] || ef_skip "no test country database"
ef_test_up
cfg=$D/policy.yaml
ef_policy "$cfg" place="cn:CN us:US" place6="cn:CN us:US" groups=designated:CN nflog=41 decide=2 \
	fail_open=false rules="designated-cleartext:block designated-any:log" || exit 1
EVENTS=$D/events.json
ef_serve_http cn 443 --tls || exit 1
ef_engine_start probe5 --config "$cfg" --json "$EVENTS"
set -- ${EF_PROBE_KINDS:-goodsum 4 6 badsum 4 6 badsum 6 6 badsum-text 4 6 badopt 4 6 badopt 6 6 badsum-frag 4 3}
port=41500
while (($# >= 3)); do
	kind=$1 fam=$2 count=$3; shift 3
	port=$((port + 1))
	m=$(printf 'R5M%04d%02d' $((RANDOM % 10000)) $port | cut -c1-10)
	if [ "$fam" = 6 ]; then s=${EF_ADDR6[client]} d=${EF_ADDR6[cn]}; else s=${EF_ADDR4[client]} d=${EF_ADDR4[cn]}; fi
	ef_counters; r0=$(ef_field released) e0=$(ef_field release_errors) h0=$(ef_field held) b0=$(ef_field block)
	ef_capture cn eth0 "$D/$kind$fam.pcap" || exit 1
	ef_ns_exec client "$EF_PYTHON" "$src/tests/redteam5/probe5.py" "$kind" "$s" "$d" "$m" "$count" "$port" >"$D/$kind$fam.out" 2>&1
	sleep 0.5
	ef_capture_stop cn 2>/dev/null
	ef_counters
	echo "$kind v$fam: sent $count, marker at cn: $(ef_marker_packets "$D/$kind$fam.pcap" "$m") as text, $(ef_marker_packets "$D/$kind$fam.pcap" "$m" blake2b) in records; released +$(($(ef_field released) - r0)) release_errors +$(($(ef_field release_errors) - e0)) held +$(($(ef_field held) - h0)) block +$(($(ef_field block) - b0))"
	grep -v '^seq\|^sent' "$D/$kind$fam.out" | tail -3 | sed 's/^/    sender: /'
done
sleep 3
ef_engine_stop
python3 - "$EVENTS" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if not 41500 <= e.get("src_port", 0) < 41600: continue
    print(" ", e["src_port"], e["encryption"], e["verdict"], "bytes_out", e["bytes_out"], "passed", e.get("packets_out_passed"), e.get("bytes_out_passed"),
          "held", e.get("packets_out_held"), e.get("bytes_out_held"), e.get("decided_by"), e.get("rejudged_at", ""))
PY
grep -i "warn\|error" "$ENGINE_LOG" | head
