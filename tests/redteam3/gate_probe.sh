#!/usr/bin/env bash
# tests/redteam3/gate_probe.sh -- round 3's zero-byte findings through
# `egressfence run --mode gate` in the netns test network: how many marker
# copies reach the cn server.  Root; run like the e2e tests:
#   EF_BIN=build/egressfence EF_SOURCE_DIR=$PWD EF_BINARY_DIR=build tests/redteam3/gate_probe.sh
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../netns/lib.sh"
ef_need_netns tcpdump
[ -n "$db" ] || ef_skip "no test country database"
ef_test_up
CN=${EF_ADDR4[cn]} CN6=${EF_ADDR6[cn]} CLIENT=${EF_ADDR4[client]} CLIENT6=${EF_ADDR6[client]}
cfg=$D/policy.yaml
ef_policy "$cfg" place="cn:CN us:US" place6="cn:CN us:US" groups="designated:CN conforming:US" capture="cn0 us0" \
	fail_open=false nflog=23 decide=2 rules="designated-cleartext:block designated-any:log" || exit 1
EVENTS=$D/events.json
ef_serve_http cn 443 --tls || exit 1
ef_bg cn wg-cn-51820 "$EF_PYTHON" "$src/tests/redteam3/gate_probe.py" wg-server 51820 || exit 1
sleep 0.5
ef_engine_start probe --config "$cfg" --json "$EVENTS"
for kind in ${EF_PROBE_KINDS:-udp-plain udp-surplus v6-nonext tcp-doff4 tcp-optsyn udp-surplus-wait v6-nonext-wait wg-surplus tls-optack tls6-srh}; do
	m="EFRT3-$kind-$RANDOM"
	ef_capture cn eth0 "$D/$kind.pcap" || exit 1
	ef_ns_exec client "$EF_PYTHON" "$src/tests/redteam3/gate_probe.py" "$kind" "$CLIENT" "$CN" "$CLIENT6" "$CN6" "$m" 10
	sleep 3
	ef_capture_stop cn >/dev/null 2>&1
	echo "$kind: $(grep -a -o "$m" "$D/$kind.pcap" | wc -l) marker copies reached cn (10 packets sent);" \
		"packets from the client at cn: $(tcpdump -nn -r "$D/$kind.pcap" src host $CLIENT or src host $CLIENT6 2>/dev/null | wc -l)"
	case $kind in tcp-optsyn|tls-optack) ;; *) continue ;; esac; tcpdump -nn -v -r "$D/$kind.pcap" src host $CLIENT 2>/dev/null | head -4
done
ef_engine_stop
sleep 1
echo "--- events"
cat "$EVENTS" | python3 -c '
import json,sys
for l in sys.stdin:
    e=json.loads(l); print(" ", e["l4"], e["src_ip"], e["src_port"], "->", e["dst_ip"], e["dst_port"], e["encryption"], e["verdict"], "bytes_out", e["bytes_out"], e.get("action_taken"), e.get("decided_by"))'
