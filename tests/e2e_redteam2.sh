#!/usr/bin/env bash
# tests/e2e_redteam2.sh -- the second red-team round's reproducers
# (tests/redteam2/, made by tests/redteam2/gen_red.c) that are defended,
# each audited and checked for what the defence promises; the controls
# that held up are checked too.  The findings not yet defended are listed
# in tests/redteam2/README.md and are not run: they would "pass" the wrong
# way.  A capture missing here is a failure, never a skip.
set -uo pipefail

bin=${EF_BIN:?EF_BIN: the egressfence binary}
src=${EF_SOURCE_DIR:?EF_SOURCE_DIR: the source tree}
dir=$src/tests/redteam2
policy=$src/tests/data/evasion-policy.yaml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0 passed=0

# check NAME EXIT JQ WHY: the audit of NAME.pcap exits EXIT and every event
# for the CN server, or for the flow named by the condition, satisfies JQ.
check() {
	local name=$1 want=$2 cond=$3 why=$4 rc
	local out=${name//\//_} # ../redteam3/NAME: the third round's captures
	if [ ! -f "$dir/$name.pcap" ]; then
		echo "FAIL $name: $dir/$name.pcap is missing"
		failed=$((failed + 1))
		return
	fi
	"$bin" audit --config "$policy" --json "$tmp/$out.json" "$dir/$name.pcap" >"$tmp/$out.out" 2>&1
	rc=$?
	if [ "$rc" != "$want" ]; then
		echo "FAIL $name: exit $rc, expected $want ($why)"
		sed 's/^/    /' "$tmp/$out.out" | head -8
		failed=$((failed + 1))
		return
	fi
	if [ -n "$cond" ] && ! jq -se "length > 0 and all(.[]; $cond)" "$tmp/$out.json" >/dev/null; then
		echo "FAIL $name: $why"
		jq -c '{dst_ip, app, encryption, verdict, dst_country, rejudged, cleartext_reason, unknown_reason}' "$tmp/$out.json" | head -4 | sed 's/^/    /'
		failed=$((failed + 1))
		return
	fi
	echo "ok   $name: $why"
	passed=$((passed + 1))
}

notenc='.encryption != "encrypted" and .verdict == "block" and .dst_country == "CN"'
# defended this round
check ipip-to-cn-inner-inside 1 "$notenc and (.tunnel_via | index([\"198.51.100.10\"])) != null" \
	"IP-in-IP to CN carrying inside-to-inside HTTP is a flow to CN: blocked"
check vxlan-to-cn-inner-inside 1 "$notenc and (.tunnel_via | index([\"198.51.100.10\"])) != null" \
	"VXLAN to CN carrying inside-to-inside HTTP is a flow to CN: blocked"
check ipip-nest5-http 2 "" "five nested IP-in-IP layers: data not examined, the audit incomplete (exit 2)"
check 6in4-nest5-http 2 "" "five nested 6in4 layers: data not examined, the audit incomplete (exit 2)"
check stun-text-then-dtls 1 "$notenc" "STUN requests with text before DTLS: more than a handshake, not encrypted"
check stun15-text-then-dtls 1 "$notenc" "15 MTU-sized STUN requests of text before DTLS: not encrypted"
check openvpn-control-text-first 1 "$notenc" "27 KB of OpenVPN control packets before the data channel: not encrypted"
# controls that held up
check ipip-nest4-http 1 "$notenc" "four nested IP-in-IP layers are peeled and judged: blocked"
check dtls-only-control 1 '.encryption == "encrypted" and .verdict == "log"' \
	"a clean DTLS session stays encrypted (the bounds do not touch it)"
check dtls-then-stun-text 1 "$notenc and .rejudged == true" "STUN text after the DTLS decision is rejudged"
check tls12-xor4 1 "$notenc" "text XORed with a 4-byte key inside TLS records is caught"
# defended at the capture layer (routing headers, IP options, fragments)
policy=$dir/evasion-policy-v6us.yaml
check srv6-http 1 "$notenc and .dst_ip == \"2001:db8:86::10\" and .bytes_out == 186 and .bytes_in > 0 and
	(.tunnel_via | index([\"2001:db8:1::1\"])) != null" \
	"an SRv6 header to a US node whose last segment is CN: one flow to CN (the reply joined), blocked"
policy=$src/tests/data/evasion-policy.yaml
check v6-dstopt-text 1 "$notenc and .encryption == \"cleartext\" and .bytes_out > 13000 and
	.ip_options_unproven.out > 13000 and (.cleartext_reason | test(\"IP options\"))" \
	"text in IPv6 Destination Options: counted in bytes_out, cleartext, blocked"
check frag-never-complete 2 "$notenc and .incomplete_datagrams == 10 and .bytes_out >= 13900" \
	"first fragments that never complete: a flow to CN with their bytes, not examined (exit 2), blocked"
if ! grep -q "datagrams whose fragments never completed (not examined) 10" "$tmp/frag-never-complete.out"; then
	echo "FAIL frag-never-complete: the summary does not count the 10 incomplete datagrams"
	failed=$((failed + 1))
fi
# TCP payload outside the stream (rt-stream): behind the first byte, far
# ahead, after the FIN, with a RST, on the SYN
check tcp-old-seq-text 1 "$notenc and (.cleartext_reason // \"\" | test(\"outside the stream\"))" \
	"text 1 GiB behind the client's first byte, before the ClientHello: judged, cleartext with its reason"
check tcp-future-seq-text 1 "$notenc" "text 1 GiB ahead of the stream: not encrypted"
check post-fin-text 1 "$notenc" "text after the client's FIN: not encrypted"
check post-fin-newseq-text 1 "$notenc" "text after the FIN in a new sequence space: not encrypted"
check tcp-rst-text 1 "$notenc" "text carried by a RST: not encrypted"
check tcp-syn-data 1 "$notenc" "text carried by the SYN: not encrypted"
# text under a repeating key inside TLS records (rt-stream): look_judge's periodicity
check tls12-xor16 1 "$notenc and .rejudged == true" "text XORed with a 16-byte key inside TLS records: rejudged"

# the cleartext handshake: DTLS judged like TLS, key shares at their
# group's size, certificates' text counted (rt-tls)
check dtls-hello-ext-text 1 "$notenc and .cleartext_reason == \"readable text in a hello extension\"" \
	"text in DTLS ClientHello extensions, hello after hello: judged as TLS's, cleartext"
check dtls-hello-ext-text40 1 "$notenc and .cleartext_reason == \"readable text in a hello extension\"" \
	"40 DTLS ClientHellos with text in an extension: cleartext"
check keyshare-dilute3 1 "$notenc and .cleartext_reason == \"a key share whose length is not its group's\"" \
	"a 14,000-byte X25519MLKEM768 share (a text byte in 3): not its group's 1216 bytes, cleartext"
check keyshare-dilute4 1 "$notenc and .cleartext_reason == \"a key share whose length is not its group's\"" \
	"a 14,000-byte X25519MLKEM768 share (a text byte in 4): cleartext"
check keyshare-dilute2 1 "$notenc" "the control: a text byte in 2 stays caught"
check x509-client-cert-text 1 "$notenc and .cleartext_reason == \"more text in certificates than the allowance\"" \
	"a client certificate with 9,000 bytes of text in nsComment: the text is not proven by X.509's shape"
check x509-big-client-cert 1 "$notenc and .cleartext_reason == \"more text in certificates than the allowance\"" \
	"a 15,374-byte client certificate with 14,600 bytes of text: cleartext"
check x509-inside-server-cert-text 1 "$notenc and .src_ip == \"10.9.0.2\" and .cleartext_reason == \"more text in certificates than the allowance\"" \
	"an inside server's certificate with 9,000 bytes of text (it leaves too): cleartext"
check dtls-only-control 1 '.encryption == "encrypted" and .verdict == "log" and .handshake_clear.out > 0' \
	"the control: a clean DTLS session's handshake is counted and stays encrypted"

# defended: IKE_SA_INIT walked as a cleartext handshake, Encrypted payloads
# judged before the decision, QUIC judged from both sides (issue 8)
check ike-vendorid-text 1 "$notenc and .cleartext_reason == \"an IKE Vendor ID longer than implementations send (64 bytes)\"" \
	"15 IKE_SA_INIT with 1,300-byte Vendor IDs of text: cleartext"
check ike-sk-text-first 1 "$notenc and .encryption == \"cleartext\"" \
	"a text Vendor ID, then a first SK payload of text: cleartext"
check quic-inside-server-reply-text 1 "$notenc and .encryption == \"cleartext\" and .src_ip == \"10.9.0.2\"" \
	"an inside QUIC server's first Initial reply of text: cleartext"

# the third round's (tests/redteam3/): bytes outside the payload -- TCP
# options, a spent routing header, bytes past a UDP length, what follows No
# Next Header -- count in bytes_out and, past 256 a side that are not
# padding, make the flow cleartext
r3=../redteam3
check $r3/tcp-option-text 1 "$notenc and .encryption == \"cleartext\" and .ip_options_unproven.out > 256" \
	"38 bytes of text in an unknown TCP option on every segment of a TLS session: cleartext, blocked"
check $r3/tcp-option-only 1 "$notenc and .bytes_out == 240" \
	"connections carrying text only in TCP options: their bytes counted, blocked"
check $r3/v6-srh-sl0-text 1 "$notenc and .encryption == \"cleartext\" and .ip_options_unproven.out > 256" \
	"text in an SRv6 header with segments left 0 on a TLS session: cleartext, blocked"
check $r3/v6-rh0-sl0-text 1 "$notenc and .encryption == \"cleartext\" and .ip_options_unproven.out > 256" \
	"text in a type 0 routing header with segments left 0: cleartext, blocked"
check $r3/udp-surplus-only 1 "$notenc and .bytes_out == 12000" \
	"text past the UDP length of empty datagrams: counted, cleartext, blocked"
check $r3/udp-surplus-text 1 "$notenc and .encryption == \"cleartext\" and .ip_options_unproven.out > 256" \
	"text past the UDP length of WireGuard datagrams: cleartext, blocked"
check $r3/v6-nonext-text 1 "$notenc and .bytes_out == 12000" \
	"text after IPv6 No Next Header: counted, blocked"
check $r3/v6-ext-then-nonext 1 "$notenc and .bytes_out >= 18000" \
	"padding headers, No Next Header, then 18,000 bytes of text: all counted, blocked"

for rr in lsrr ssrr; do
	check $r3/v4-$rr-http 1 "(.dst_ip != \"198.51.100.10\" or ($notenc and (.tunnel_via | index([\"203.0.113.10\"])) != null))" \
		"HTTP to a US address with an IPv4 $rr option whose last hop is CN: a flow to CN (US on the way), blocked"
	if ! jq -se 'any(.[]; .dst_ip == "198.51.100.10")' "$tmp/.._redteam3_v4-$rr-http.json" >/dev/null; then
		echo "FAIL v4-$rr-http: no flow to the CN last hop"
		failed=$((failed + 1))
	fi
done

check $r3/tcp-doff4-text 2 "" "TCP segments with a data offset under 5 (routers forward them): data not examined, exit 2"

# tunnel header fields a receiver skips -- GRE routing entries, GTP-U
# extension headers, Geneve options -- count as options: bytes_out holds the
# inner connection (12,343 bytes without them) and the text, and the flow is
# cleartext
check $r3/gre-routing-text 1 "$notenc and .encryption == \"cleartext\" and .bytes_out >= 12343 + 26208 and
	.ip_options_unproven.out >= 26208" \
	"TLS in GRE whose RFC 1701 routing entries are text: the inner flow, the text counted, cleartext, blocked"
check $r3/gtpu-ext-text 1 "$notenc and .encryption == \"cleartext\" and .bytes_out >= 12343 + 26468 and
	.ip_options_unproven.out >= 26468" \
	"TLS in GTP-U with a 1,020-byte extension header of text: counted, cleartext, blocked"
check $r3/geneve-opt-text 1 "$notenc and .encryption == \"cleartext\" and .bytes_out >= 12343 + 6344 and
	.ip_options_unproven.out >= 6344 and .ip_options_unproven.in == 0" \
	"TLS in Geneve with 252 bytes of INT options of text: counted, cleartext, blocked (the server's empty option is the header)"
# padding inside the cleartext handshake: RFC 7685's is zeros, SSH's
# before NEWKEYS zeros or random (a side's paddings judged together)
check $r3/hello-padding-text 1 "$notenc and .cleartext_reason == \"a padding extension that is not zeros\"" \
	"1,500 bytes of text in a ClientHello's padding extension (inside the allowance): cleartext, blocked"
check $r3/ssh-kex-padding-text 1 "$notenc and .cleartext_reason == \"SSH padding that is neither zeros nor random\"" \
	"text in the padding of SSH packets before NEWKEYS (inside the allowance): cleartext, blocked"
check $r3/ssh-control 1 '.encryption == "encrypted" and .verdict == "log"' \
	"the control: an ordinary SSH session's random paddings are judged random, encrypted"

echo "e2e_redteam2: $passed passed, $failed failed"
((failed == 0))
