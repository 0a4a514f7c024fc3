#!/usr/bin/env bash
# End-to-end: destinations that never leave a host or a link (multicast,
# broadcast, loopback, link-local, IPv4 and IPv6) are judged in an audit as
# the gateway's prefilter treats them (test_nft: tier none): allowed, no
# rule, no country -- never "nonconforming-cleartext" -- and a flow between
# two inside hosts shows no database country.  The summary, the event, the
# report page and the report's CSV write the missing country one way:
# `none' (null in the JSON event).  A cleartext flow to CN in the same
# capture is the control: it must still be blocked.
set -uo pipefail
BIN=${EF_BIN:-build/egressfence}
SRC=${EF_SOURCE_DIR:-.}
command -v jq >/dev/null || { echo "skipped: jq is not installed (scripts/setup installs it)"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0 checks=0
ok() { checks=$((checks + 1)); echo "ok   $1"; }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL $1"; }

# One cleartext UDP datagram (a DNS query) to each destination, from 10.9.0.2
# (fd00:9::2): a classic pcap, Ethernet, written here.
python3 - "$tmp/local.pcap" <<'PY'
import socket, struct, sys
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
def v4(src, dst, dport, data):
    udp = struct.pack('!HHHH', 40000, dport, 8 + len(data), 0) + data
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    return b'\x01\x00\x5e\x00\x00\xfb' + b'\x02\x00\x00\x00\x00\x01' + b'\x08\x00' + ip + udp
def v6(src, dst, dport, data):
    udp = struct.pack('!HHHH', 40000, dport, 8 + len(data), 0) + data
    s, d = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
    c = csum(s + d + struct.pack('!IxxxB', len(udp), 17) + udp)
    udp = udp[:6] + struct.pack('!H', c or 0xffff) + udp[8:]
    ip = struct.pack('!IHBB16s16s', 0x60000000, len(udp), 17, 64, s, d)
    return b'\x33\x33\x00\x00\x00\xfb' + b'\x02\x00\x00\x00\x00\x01' + b'\x86\xdd' + ip + udp
# a DNS query (cleartext: nDPI names it from this one datagram)
text = struct.pack('!HHHHHH', 0x1234, 0x0100, 1, 0, 0, 0) + b'\x06design\x07example\x03com\x00' + struct.pack('!HH', 1, 1)
frames = [v4('10.9.0.2', d, p, text) for d, p in [('224.0.0.251', 5353), ('239.255.255.250', 53),
          ('255.255.255.255', 53), ('169.254.10.20', 53), ('127.0.0.1', 53), ('10.9.0.3', 53),
          ('198.51.100.10', 53)]]
frames += [v6('fd00:9::2', d, p, text) for d, p in [('ff02::fb', 5353), ('fe80::1', 53), ('::1', 53)]]
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i, fr in enumerate(frames):
        f.write(struct.pack('<IIII', 1764000000 + i, 0, len(fr), len(fr)) + fr)
PY
# The evasion policy: 10.0.0.0/8 and fc00::/7 inside, CN designated,
# cleartext to a non-conforming country logged.
"$BIN" audit --config "$SRC/tests/data/evasion-policy.yaml" --json "$tmp/ev.json" --report "$tmp/r.html" "$tmp/local.pcap" \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] && ok "audit exits 1 (the CN control is blocked)" || bad "audit exited $rc: $(head -3 "$tmp/err")"
[ "$(jq -s length "$tmp/ev.json")" -eq 10 ] && ok "10 flows" || bad "$(jq -s length "$tmp/ev.json") flows, expected 10"

for dst in 224.0.0.251 239.255.255.250 255.255.255.255 169.254.10.20 127.0.0.1 ff02::fb fe80::1 ::1 10.9.0.3; do
	got=$(jq -r --arg d "$dst" 'select(.dst_ip == $d) | "\(.encryption) \(.verdict) \(.rule) \(.dst_country)"' "$tmp/ev.json")
	[ "$got" == "cleartext allow null null" ] && ok "$dst: cleartext, allowed, no rule, no country" ||
		bad "$dst: '$got', expected 'cleartext allow null null'"
done
got=$(jq -r 'select(.dst_ip == "198.51.100.10") | "\(.verdict) \(.dst_country)"' "$tmp/ev.json")
[ "$got" == "block CN" ] && ok "control: the same query to CN blocked" || bad "control: '$got', expected 'block CN'"

# The missing country, written one way: summary, event, report, CSV.
grep -Eq '^none +cleartext +allow +9 ' "$tmp/out" && ok "summary: the 9 flows are country none" ||
	bad "summary: no 'none cleartext allow 9' row: $(grep -E '^(none|--)' "$tmp/out")"
grep -q "data-country='none' data-enc='cleartext' data-verdict='allow'><td>none</td>" "$tmp/r.html" &&
	ok "report: country none" || bad "report: no 'none' row"
# The CSV lists flagged flows; a report over the events with every flow
# logged (rewritten) shows how it writes a flow with no country.
jq -c 'select(.dst_country == null) | .verdict = "log"' "$tmp/ev.json" >"$tmp/logged.json"
"$BIN" report -o "$tmp/l.html" "$tmp/logged.json" 2>/dev/null
[ "$(tail -n +2 "$tmp/l-flows.csv" | cut -d, -f7 | sort -u)" == '"none"' ] && ok "CSV: country none" ||
	bad "CSV: countries $(tail -n +2 "$tmp/l-flows.csv" | cut -d, -f7 | sort -u | tr '\n' ' ')"
echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
