#!/usr/bin/env bash
# End-to-end: `egressfence audit` over real captures (nDPI's test suite in
# ../shared/pcaps and the project's own sample), asserting the class and
# verdict of named flows.  tests/data/all-cn-policy.yaml places every remote
# end in CN, so cleartext/weak/unknown with data is blocked and encrypted is
# logged.
set -uo pipefail
BIN=${EF_BIN:-build/egressfence}
SRC=${EF_SOURCE_DIR:-.}
PCAPS=${EF_SHARED_PCAPS:-$SRC/../shared/pcaps}/ndpi
CFG=$SRC/tests/data/all-cn-policy.yaml
command -v jq >/dev/null || { echo "skipped: jq is not installed (scripts/setup installs it)"; exit 77; }
if [ ! -d "$PCAPS" ]; then
	echo "skipped: $PCAPS is absent (the shared captures sit beside the checkout)"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0 checks=0

audit() { # FILE -> $tmp/NAME.json
	local name; name=$(basename "$1")
	"$BIN" audit --config "$CFG" --json "$tmp/$name.json" "$1" >"$tmp/$name.out" 2>"$tmp/$name.err"
	local rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
		echo "FAIL $name: audit exited $rc: $(head -3 "$tmp/$name.err")"
		failures=$((failures + 1))
	fi
}

# expect FILE 'jq selector for one flow' 'jq expression' 'expected value'
expect() {
	local name; name=$(basename "$1")
	[ -f "$tmp/$name.json" ] || audit "$1"
	local got
	got=$(jq -r "select($2) | $3" "$tmp/$name.json" | sort -u | paste -sd, -)
	checks=$((checks + 1))
	if [ "$got" != "$4" ]; then
		echo "FAIL $name [$2] $3: got '$got', expected '$4'"
		failures=$((failures + 1))
	else
		echo "ok   $name [$2] $3 = $4"
	fi
}

# Cleartext protocols
expect "$PCAPS/http.pcapng"  '.dst_port==80'  '.encryption+" "+.verdict+" "+.rule'  "cleartext block designated-cleartext"
expect "$PCAPS/http.pcapng"  '.dst_port==80'  '.app'  "HTTP.Google"
expect "$PCAPS/telnet.pcap"  '.dst_port==23'  '.encryption+" "+.verdict'  "cleartext block"
expect "$PCAPS/ftp.pcap"     '.dst_port==21'  '.encryption+" "+.verdict'  "cleartext block"
# FTP data channels, found from the control session's PASV replies
expect "$PCAPS/ftp.pcap"     '.app=="FTP_DATA"'  '.encryption'  "cleartext"
expect "$PCAPS/ftp.pcap"     '.app=="FTP_DATA"'  '.bytes_in'  "109440,1205"
# An outside client sending mail to an inside server: the inside end's
# replies leave, so it counts, with initiator "remote"
expect "$PCAPS/smtp.pcap"    '.app=="SMTP"'  '.encryption+" "+.verdict+" "+.initiator'  "cleartext block remote"
expect "$PCAPS/smtp.pcap"    '.app=="SMTP"'  '.src_ip+":"+(.src_port|tostring)'  "172.16.114.207:25"
# STARTTLS upgrades before any data: encrypted; strength from the ServerHello
expect "$PCAPS/smtp-starttls.pcap"  '.dst_ip=="2003:de:2016:120::a08:53"'  '.encryption+" "+.tls_version+" "+.verdict'  "encrypted TLSv1.2 log"
expect "$PCAPS/smtp-starttls.pcap"  '.dst_ip=="173.194.68.26"'  '.encryption+" "+.tls_version+" "+.cipher'  "weak TLSv1.0 TLS_RSA_WITH_RC4_128_SHA"
expect "$PCAPS/imap-starttls.pcap"  '.dst_port==143'  '.encryption+" "+.tls_version'  "encrypted TLSv1.2"
expect "$PCAPS/pop3_stls.pcap"      '.dst_port==110'  '.encryption+" "+.tls_version'  "weak TLSv1.0"
# After AUTH TLS the client closes TLS (CCC) and sends PASV and STOR in the clear.
expect "$PCAPS/ftp-start-tls.pcap"  '.dst_port==21'  '.encryption+" "+.cipher+" "+(.rejudged|tostring)'  "cleartext TLS_RSA_WITH_3DES_EDE_CBC_SHA true"
# TLS: 1.2 and 1.3 with AEAD suites are encrypted, with their bit strength
expect "$PCAPS/443-curl.pcap"  '.dst_port==443'  '.encryption+" "+.tls_version+" "+(.cipher_bits|tostring)+" "+.verdict+" "+.rule'  "encrypted TLSv1.2 128 log designated-any"
expect "$PCAPS/android.pcap"   '.dst_ip=="216.239.38.120" and .app=="TLS.PlayStore"'  '.encryption+" "+.tls_version+" "+.cipher'  "encrypted TLSv1.3 TLS_AES_128_GCM_SHA256"
# A handshake that never completes is not encrypted
expect "$PCAPS/tls_alert.pcap"  '.dst_ip=="160.44.202.202"'  '.encryption+" "+.verdict'  "unknown block"
# SSH, QUIC, WireGuard, IPsec
expect "$PCAPS/ssh.pcap"        '.dst_port==22'  '.encryption+" "+.app'  "encrypted SSH"
expect "$PCAPS/quic-29.pcap"    '.l4=="udp"'  '.encryption+" "+.app'  "encrypted QUIC"
expect "$PCAPS/wireguard.pcap"  '.dst_ip=="139.162.192.157"'  '.encryption+" "+.app'  "encrypted WireGuard"
expect "$PCAPS/esp.pcapng"      '.l4=="esp"'  '.encryption+" "+.verdict'  "encrypted log"
expect "$PCAPS/esp.pcapng"      '.dst_port==500'  '.encryption+" "+.app'  "encrypted IPsec"
# IP fragments: the reassembled datagrams are classified
expect "$PCAPS/dns_fragmented.pcap"  '.dst_ip=="193.24.227.238"'  '.encryption+" "+.verdict'  "cleartext block"
# Tunnels: the inner packet's addresses and protocol decide
expect "$PCAPS/6in4tunnel.pcap"  '.dst_port==443 and .app=="TLS.Facebook"'  '.dst_ip+" "+.encryption'  "2a03:2880:1010:6f03:face:b00c:0:2 encrypted"
expect "$PCAPS/4in4tunnel.pcap"  'true'  '.dst_ip'  "10.10.101.2"
expect "$PCAPS/gre.pcapng"       'true'  '.app+" "+.dst_ip+" "+.encryption'  "SIP 192.168.103.40 cleartext"
# A capture that ends mid-record: what was read is audited, exit 2
"$BIN" audit --config "$CFG" --json "$tmp/trunc.json" "$PCAPS/fuzz-2021-10-13.pcap" >/dev/null 2>"$tmp/trunc.err"
rc=$?
checks=$((checks + 1))
if [ "$rc" -eq 2 ] && grep -q "stopped reading at byte" "$tmp/trunc.err"; then
	echo "ok   truncated capture: exit 2 with the offset"
else
	echo "FAIL truncated capture: exit $rc, stderr: $(cat "$tmp/trunc.err")"
	failures=$((failures + 1))
fi

# Between two inside networks: allowed when nothing places the remote end
# (it does not leave), judged when an override does (a branch office abroad)
DEF=$SRC/policy/default.yaml
# (telnet.pcap: 192.168.0.2 -> 192.168.0.1:23, cleartext; a database places
# 192.168.0.1 in a non-conforming country, which must not count)
"$BIN" audit --config "$DEF" --json "$tmp/inside.json" "$PCAPS/telnet.pcap" >/dev/null 2>&1
"$BIN" audit --config "$SRC/tests/data/branch-office-policy.yaml" --json "$tmp/branch.json" "$PCAPS/telnet.pcap" >/dev/null 2>&1
inside_cc=$(jq -r 'select(.dst_ip=="192.168.0.1") | .dst_country//"-"' "$tmp/inside.json")
for f in inside branch; do
	checks=$((checks + 1))
	got=$(jq -r 'select(.dst_ip=="192.168.0.1") | .verdict+" "+(.rule//"-")+" "+(.dst_country//"-")' "$tmp/$f.json")
	want="allow - $inside_cc"; [ $f = branch ] && want="block designated-cleartext CN"
	if [ "$got" = "$want" ]; then echo "ok   inside-to-inside ($f): $got"
	else echo "FAIL inside-to-inside ($f): got '$got', expected '$want'"; failures=$((failures + 1)); fi
done

# Several workers judge every flow exactly as one does
for w in 1 3; do
	"$BIN" audit --workers "$w" --config "$CFG" --json "$tmp/workers$w.json" "$PCAPS" >/dev/null 2>&1
	jq -r '[.ts,.src_ip,.src_port,.dst_ip,.dst_port,.l4,.encryption,.verdict,.bytes_out]|@tsv' \
		"$tmp/workers$w.json" | sort >"$tmp/workers$w.tsv"
done
checks=$((checks + 1))
if [ -s "$tmp/workers1.tsv" ] && cmp -s "$tmp/workers1.tsv" "$tmp/workers3.tsv"; then
	echo "ok   --workers 3: the same $(wc -l <"$tmp/workers1.tsv") flows, classes and verdicts as --workers 1"
else
	echo "FAIL --workers 3 differs from --workers 1:"; diff "$tmp/workers1.tsv" "$tmp/workers3.tsv" | head -5
	failures=$((failures + 1))
fi

# The project's own recording (scripts/record-sample.sh), with its own policy
if [ -f "$SRC/samples/sample.pcap" ]; then
	SCFG=$SRC/samples/sample-policy.yaml
	"$BIN" audit --config "$SCFG" --json "$tmp/sample.json" "$SRC/samples/sample.pcap" >"$tmp/sample.out" 2>&1
	rc=$?
	checks=$((checks + 1))
	if [ "$rc" -eq 1 ] && jq -e . "$tmp/sample.json" >/dev/null; then
		echo "ok   sample audit exits 1 (flows to block) with valid JSON"
	else
		echo "FAIL sample audit exited $rc"; failures=$((failures + 1))
	fi
	# Every flow of the sample, as samples/README.md describes it
	jq -r '[.dst_ip,(.dst_port|tostring),.app,.encryption,(.tls_version//"-"),.verdict,(.rule//"-")]|@tsv' \
		"$tmp/sample.json" | sort >"$tmp/sample.tsv"
	checks=$((checks + 1))
	if diff -u "$SRC/tests/data/sample-expected.tsv" "$tmp/sample.tsv"; then
		echo "ok   sample: all $(wc -l <"$tmp/sample.tsv") flows have their expected class and verdict"
	else
		echo "FAIL sample flows differ from tests/data/sample-expected.tsv (diff above)"; failures=$((failures + 1))
	fi
fi

echo "e2e_audit: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
