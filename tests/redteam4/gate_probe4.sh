#!/usr/bin/env bash
# tests/redteam4/gate_probe4.sh -- the fourth red-team pass against
# `egressfence run --mode gate` (TCP option layouts, held IP options, the
# token bucket for an undecided connection's segments without payload):
# for each sender in gate_probe4.py, how many marker copies reach the cn
# server, how fast, and what the engine's events say.  Root; run like the
# e2e tests:
#   EF_BIN=build/egressfence EF_SOURCE_DIR=$PWD EF_BINARY_DIR=build tests/redteam4/gate_probe4.sh
# EF_PROBE_CAPTURE="cn0 us0" adds capture.interfaces to the policy (the
# engine then also sees what the kernel accepts without a copy).
# EF_PROBE_KINDS="kind count ..." picks the senders (default: all, with the
# counts below).  A kind line reads: marker copies at cn of packets sent,
# text bytes at cn, the sender's seconds, bytes a second.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../netns/lib.sh"
ef_need_netns tcpdump
[ -n "$db" ] || ef_skip "no test country database"
ef_test_up
CN=${EF_ADDR4[cn]} CN6=${EF_ADDR6[cn]} CLIENT=${EF_ADDR4[client]} CLIENT6=${EF_ADDR6[client]}
cfg=$D/policy.yaml
ef_policy "$cfg" place="cn:CN us:US" place6="cn:CN us:US" groups=designated:CN nflog=37 decide=2 \
	fail_open=false rules="designated-cleartext:block designated-any:log" ${EF_PROBE_CAPTURE:+capture="$EF_PROBE_CAPTURE"} || exit 1
EVENTS=$D/events.json
ef_serve_http cn 443 --tls || exit 1
ef_serve_http cn 8080 || exit 1
ef_serve_sink cn 9000 || exit 1
ef_bg cn ssh-cn-2222 "$EF_PYTHON" "$src/tests/redteam4/gate_probe4.py" ssh-banner-server 2222 && ef_wait_listen cn tcp 2222 || exit 1
ef_engine_start probe4 --config "$cfg" --json "$EVENTS"
# pcap_count FILE MARK: packets from the client in FILE (tcpdump's pcap)
# that hold MARK (not cn's ICMP errors quoting them)
pcap_count() {
	python3 - "$1" "$2" "$CLIENT" "$CLIENT6" <<'PY'
import socket, struct, sys
d = open(sys.argv[1], "rb").read(); m = sys.argv[2].encode()
c4, c6 = socket.inet_aton(sys.argv[3]), socket.inet_pton(socket.AF_INET6, sys.argv[4])
e = "<" if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
o, n = 24, 0
while o + 16 <= len(d):
    cap = struct.unpack(e + "I", d[o + 8:o + 12])[0]
    f = d[o + 16:o + 16 + cap]
    n += m in f and (f[12:14] == b"\x08\x00" and f[26:30] == c4 or f[12:14] == b"\x86\xdd" and f[22:38] == c6)
    o += 16 + cap
print(n)
PY
}
# tcp_payload FILE: the TCP payload bytes from the client in FILE
tcp_payload() {
	python3 - "$1" "$CLIENT" <<'PY'
import socket, struct, sys
d = open(sys.argv[1], "rb").read(); c4 = socket.inet_aton(sys.argv[2])
e = "<" if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
o, n = 24, 0
while o + 16 <= len(d):
    cap = struct.unpack(e + "I", d[o + 8:o + 12])[0]
    f = d[o + 16:o + 16 + cap]
    if f[12:14] == b"\x08\x00" and f[26:30] == c4 and f[23] == 6:
        ip = f[14:]; ihl = (ip[0] & 15) * 4
        n += struct.unpack("!H", ip[2:4])[0] - ihl - (ip[ihl + 12] >> 4) * 4
    o += 16 + cap
print(n)
PY
}
declare -i n=0
# bucket-full last: it leaves bare_flows4 full for 60 s
set -- ${EF_PROBE_KINDS:-f2-control 200 f2-self 200 f2-self6 200 f2-bypass 200 f2-bypass6 200 f2-self-bulk 20 ssh-many-bulk 200 \
	v6-ah-allowed 300 v6-srh-live-allowed 300 v6-rh0-live-allowed 300 icmp-err-allowed 300 \
	icmp6-err-allowed 300 sack-allowed 3000 hdr-allowed 300 frag-opt-allowed 50 ack-port-spray 20000 v6-ack-port-spray 300 \
	rst-port-spray 20000 syn-spray 20000 syn-spray-ts0 20000 ack-port-spray-ts 20000 v6-ack-port-spray-ts 300 v6-ah-undecided 300 rst-blocked 3000 ackflood-one 300 bucket-full 300}
while (($# >= 2)); do
	kind=$1 count=$2; shift 2
	n+=1
	# 8 bytes: fits the smallest free place (two timestamp words)
	m=$(printf 'R4%02d%04d' "$n" $((RANDOM % 10000)))
	ef_capture cn eth0 "$D/$kind.pcap" || exit 1
	EF_GW_MAC=$(ef_ns_exec gw cat /sys/class/net/in0/address) EF_US_NS=$(ef_ns us) EF_US4=${EF_ADDR4[us]} EF_US6=${EF_ADDR6[us]} \
		ef_ns_exec client "$EF_PYTHON" "$src/tests/redteam4/gate_probe4.py" "$kind" "$CLIENT" "$CN" "$CLIENT6" "$CN6" \
		"$m" "$count" >"$D/$kind.out" 2>&1
	sleep 1
	ef_capture_stop cn 2>"$D/$kind.tcpdump" || echo "  ($kind: tcpdump lost packets: $(tr '\n' ' ' <"$D/$kind.tcpdump"))"
	copies=$(pcap_count "$D/$kind.pcap" "$m")
	read -r sent per secs < <(sed -n 's/^sent \([0-9]*\) packets, \([0-9]*\) text bytes each, in \([0-9.]*\) seconds$/\1 \2 \3/p' "$D/$kind.out")
	python3 - "$kind" "$copies" "${sent:-0}" "${per:-0}" "${secs:-0}" <<'PY'
import sys
k, c, s, p, t = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
if k.endswith("-bulk"):   # s chunks of p bytes; the bytes at cn are the payload line's
    print("%-18s sent %d bytes in %.2f s (%.0f B/s); %d packets with the marker at cn" % (k, s * p, t, s * p / t if t else 0, c))
else:
    print("%-18s %6d of %6d packets with the marker at cn, %8d text bytes, in %.2f s: %10.0f B/s" % (k, c, s, c * p, t, c * p / t if t else 0))
PY
	case $kind in frag-*) echo "    packets from the client at cn (any): $(pcap_count "$D/$kind.pcap" "")" ;; esac
	# the SYN sprays' free bytes are not contiguous: the SYNs that arrived
	case $kind in syn-*) echo "    SYNs from the client at cn: $(tcpdump -nn -r "$D/$kind.pcap" "src host $CLIENT and tcp[tcpflags] & tcp-syn != 0" 2>/dev/null | wc -l)" ;; esac
	case $kind in *-bulk) echo "    TCP payload bytes from the client at cn: $(tcp_payload "$D/$kind.pcap")" ;; esac
	grep -v '^sent\|^seq' "$D/$kind.out" | tail -4 | sed 's/^/    sender: /'
done
sleep 3
ef_engine_stop
sleep 1
nft_counters=$(ef_ns_exec gw nft list counters 2>/dev/null | tr -s ' \n' ' ')
echo "--- events (flows with the client's address; the engine's $(grep -c . "$EVENTS") events in all)"
python3 - "$EVENTS" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("encryption") == "unknown" and e.get("bytes_out", 0) == 0 and not 41400 <= e.get("src_port", 0) < 41500:
        continue
    print(" ", e["l4"], e["src_ip"], e["src_port"], "->", e["dst_ip"], e["dst_port"], e["encryption"], e["verdict"],
          "bytes_out", e["bytes_out"], e.get("action_taken"), e.get("decided_by"), e.get("cleartext_reason", ""))
PY
echo "--- flows judged unknown with 0 bytes out, not shown: $(python3 -c '
import json,sys
n=0
for l in open(sys.argv[1]):
    e=json.loads(l)
    if e.get("encryption")=="unknown" and e.get("bytes_out",0)==0: n+=1
print(n)' "$EVENTS")"
