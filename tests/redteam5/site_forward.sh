#!/usr/bin/env bash
# tests/redteam5/site_forward.sh -- probe, not a ctest: the release skips the
# host's own forward-hook firewall.  A site table drops forwarded packets
# over 650 bytes to cn:443; a TLS connection whose held, judged segment
# (CCS, Finished and a 600-byte record: 737 bytes) is sent on by the engine
# through the output hook reaches cn anyway, and the site rule counts 0.
# Root; EF_BIN, EF_SOURCE_DIR, EF_BINARY_DIR as for the e2e tests.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../netns/lib.sh"
ef_need_netns tcpdump
ef_test_up
cfg=$D/policy.yaml
ef_policy "$cfg" place="cn:CN us:US" place6="cn:CN us:US" groups=designated:CN nflog=44 decide=2 \
	fail_open=false rules="designated-cleartext:block designated-any:log" || exit 1
ef_serve_http cn 443 --tls || exit 1
# the site's own firewall: forwarded packets over 500 bytes to cn:443 are dropped
ef_ns_exec gw nft -f - <<NFT
table inet site {
  chain sitefwd { type filter hook forward priority 0; policy accept; ip daddr ${EF_ADDR4[cn]} tcp dport 443 meta length > 650 counter drop; }
}
NFT
ef_engine_start site --config "$cfg" --json "$D/ev.json"
for k in 1 2; do
m=$(printf 'R5SITE%04d' $((RANDOM % 10000)))
ef_capture cn eth0 "$D/s$k.pcap" || exit 1
ef_ns_exec client "$EF_PYTHON" "$src/tests/redteam5/probe5.py" tail-rec ${EF_ADDR4[client]} ${EF_ADDR4[cn]} "$m" 600 $((41600 + k)) 2>&1 | head -3
ef_capture_stop cn 2>/dev/null
echo "run $k: packets at cn with marker $m: $(ef_marker_packets "$D/s$k.pcap" "$m")"
python3 - "$D/s$k.pcap" "$m" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read(); m = sys.argv[2].encode()
o, n = 24, 0
while o + 16 <= len(d):
    cap = struct.unpack("<I", d[o + 8:o + 12])[0]
    n += m in d[o + 16:o + 16 + cap]
    o += 16 + cap
print("  marker frames at cn:", n)
PY
done
ef_ns_exec gw nft list table inet site | grep counter
ef_counters; echo "$COUNTERS" | grep -o "released=[0-9]* release_errors=[0-9]*"
ef_engine_stop
