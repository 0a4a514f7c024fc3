#!/usr/bin/env bash
# tests/e2e_options_gate.sh -- gate mode and TCP and IP options: a segment
# without payload passes to a block-tier server before the verdict (the
# handshake has to complete), and an allowed connection's packets pass
# after it, so text in their TCP options, IPv4 options or IPv6 extension
# headers would reach CN unless the kernel's rules look at the options
# themselves (enforce/nft.c: tcp_layouts, put_ip_options).  The senders are
# tests/redteam3/gate_probe.py's, the third red-team pass's reproducers.
#
#   control      without the engine, 10 SYNs with text in an unknown option
#                reach cn: the attack's path works
#   optsyn       in gate mode: 0 of those SYNs reach cn
#   tslen        a known kind at the wrong length ("timestamps" of 40 bytes
#                of text): 0 reach cn
#   tstwice      timestamps three times, text in each: 0 reach cn
#   synsack      a SYN with SACK blocks of text: 0 reach cn
#   eoltext      text after an end-of-list: 0 reach cn
#   ackflood     an undecided connection, then 200 bare ACKs with text in
#                their timestamps: at most 32, and 10 a second, reach cn
#   optack       an allowed TLS connection, then bare ACKs on it with text in
#                an unknown option: 0 marker copies reach cn
#   syn-windows, syn-macos, syn-linux
#                SYNs with the option layouts those stacks send (each sent
#                twice): those of 10 of 10 connections reach cn
#   ipopt        an allowed TLS connection, then bare ACKs with text in an
#                IPv4 option: 0 marker copies reach cn
#   srh-spent    an allowed TLS connection over IPv6, then bare ACKs after a
#                Segment Routing Header with segments left 0 whose segments
#                are text: 0 marker copies reach cn
#   https, https6  a real client's TLS connections to cn still complete
#   ssh-many-bulk  (tests/redteam4) 20 SSH-grace connections sending text at
#                once: the bytes their events say passed (event, then final
#                record) are the client's payload bytes that reached cn
#   held upload    a plain HTTP upload held until blocked: 0 bytes passed
#   (the budget block at the end, with the policy's budget of 16 kbytes a
#   second and a burst of 48: the kernel's bucket holds 64 KiB)
#   burst        20 HTTPS connections at once to cn from one client all
#                complete; a 4 MB download and a 2 MB upload over allowed
#                connections complete; the client's SYNs offer SACK, and
#                reach cn without it
#   syn-spray    SYNs with text in their timestamp echo: 0 reach cn
#   syn-budget   5000 SYNs from new ports whose TSecr is 0 (7 free bytes each):
#                at most the budget's bytes (64 KiB + 16 KiB a second) reach cn
#   ssh-budget   the SSH grace, 60 connections: at most the budget's bytes
#   pickup, pickup6  ACKs from new ports (conntrack's mid-stream pickups)
#                with text in their timestamps: 0 reach cn
#   sack-allowed bare ACKs of an allowed connection with SACK blocks of text:
#                0 reach cn
#   budget-full  with the IPv6 budget set full (max_flows 1024, spoofed /64s),
#                0 packets of a new host's HTTPS connection reach cn
#
# Needs root, ip netns, nft and tcpdump; exits 77 (skipped) without them.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/netns/lib.sh"
ef_need_netns curl ethtool ss openssl tcpdump
[ -n "$db" ] || ef_skip "no test country database under $build/tests/data"
ef_test_up
CN=${EF_ADDR4[cn]} CN6=${EF_ADDR6[cn]} CLIENT=${EF_ADDR4[client]} CLIENT6=${EF_ADDR6[client]}

ef_policy "$D/policy.yaml" place="cn:CN us:US" place6="cn:CN us:US" groups=designated:CN nflog=37 decide=2 \
	fail_open=false rules="designated-cleartext:block designated-any:log" || exit 1
# Small enough for the sprays below to exceed it in a second, ample for
# 20 HTTPS connections (about 1 KB each before their verdicts).
BUDGET_RATE=16 BUDGET_BURST=48
sed -i "s/^gateway:\$/gateway:\n  undecided_rate: $BUDGET_RATE\n  undecided_burst: $BUDGET_BURST/" "$D/policy.yaml"
grep -q "undecided_burst: $BUDGET_BURST" "$D/policy.yaml" || { echo "FAIL policy: no budget written"; exit 1; }
ef_serve_http cn 443 --tls || { echo "FAIL https server on cn"; exit 1; }

# probe KIND [PORT [COUNT]]: sends gate_probe.py's KIND (COUNT packets, 10)
# to cn's PORT (8443) from the client while
# tcpdump on cn records; sets sent_at_cn (TCP packets from the client that
# reached cn) and markers (copies of the probe's marker).
probe() {
	local kind=$1 m="EFTO-$1-$RANDOM" f=$D/$1.pcap
	# no filter: "tcp" would miss IPv6 packets with extension headers
	ef_capture cn eth0 "$f" || { echo "FAIL tcpdump on cn"; exit 1; }
	ef_ns_exec client "$EF_PYTHON" "$src/tests/redteam3/gate_probe.py" "$kind" "$CLIENT" "$CN" "$CLIENT6" "$CN6" \
		"$m" "${3:-10}" >"$D/$kind.out" 2>&1
	sleep 1
	ef_capture_stop cn >/dev/null 2>&1
	markers=$(grep -a -o "$m" "$f" | wc -l)
	sent_at_cn=$(tcpdump -nn -r "$f" "src host $CLIENT and tcp dst port ${2:-8443}" 2>/dev/null | wc -l)
	ports_at_cn=$(tcpdump -nn -r "$f" "src host $CLIENT and tcp dst port ${2:-8443}" 2>/dev/null |
		awk '{print $3}' | sort -u | wc -l)
}

# --- control: the attack's path works without the engine -------------------------------
probe tcp-optsyn
if ((sent_at_cn >= 9)); then
	ok "control: without the engine, $sent_at_cn of 10 SYNs with text in an unknown option reach cn"
else
	bad "control: without the engine, $sent_at_cn of 10 SYNs with option text reached cn (expected 10, or 9: a copy is lost in about 30 runs)"
fi

ef_engine_start gate --config "$D/policy.yaml" --json "$D/events.json"

for kind in tcp-optsyn tcp-tslen tcp-tstwice tcp-synsack tcp-eoltext; do
	probe "$kind"
	if ((sent_at_cn == 0)); then
		ok "${kind#tcp-}: in gate mode, 0 of 10 SYNs with text in their options reached cn"
	else
		bad "${kind#tcp-}: in gate mode, $sent_at_cn of 10 SYNs with text in their options reached cn"
	fi
done

probe tls-optack 443
# The connection itself (handshake, request) reached cn; its bare ACKs with
# the marker must not have.
if ((markers == 0)) && ((sent_at_cn > 0)); then
	ok "optack: bare ACKs with text in an unknown option on an allowed TLS connection: 0 marker copies reached cn ($sent_at_cn packets of the connection did)"
else
	bad "optack: $markers marker copies reached cn on an allowed connection ($sent_at_cn packets from the client); sender: $(head -c 200 "$D/tls-optack.out")"
fi

# An undecided connection (a silent server: no data either way), then 200
# bare ACKs at once whose timestamps carry text: every value is one a
# layout allows, so what bounds them is an undecided connection's token
# bucket for segments without payload: 32 at once, then 10 a second of the
# time the sender took (it prints it), the SYN, ACK and FIN among them.
ef_serve_sink cn 9000 || { echo "FAIL sink on cn"; exit 1; }
probe tcp-ackflood 9000 200
# (+2: the rounding, and the 0.3 s before its FIN)
took=$(awk '$1 == "seconds" { print int($2) + 2 }' "$D/tcp-ackflood.out")
limit=$((32 + 10 * ${took:-99}))
if ((sent_at_cn > 0 && sent_at_cn <= limit)); then
	ok "ackflood: of 200 bare ACKs with text in their timestamps on an undecided connection, $sent_at_cn packets of the connection reached cn (at most $limit: 32 and 10 a second)"
else
	bad "ackflood: $sent_at_cn packets of an undecided connection with 200 bare ACKs reached cn (expected 1 to $limit); sender: $(head -c 100 "$D/tcp-ackflood.out")"
fi

probe tls-ipopt 443
if ((markers == 0)) && ((sent_at_cn > 0)); then
	ok "ipopt: bare ACKs with text in an IPv4 option on an allowed TLS connection: 0 marker copies reached cn ($sent_at_cn packets of the connection did)"
else
	bad "ipopt: $markers marker copies in IPv4 options reached cn on an allowed connection ($sent_at_cn packets from the client); sender: $(head -c 200 "$D/tls-ipopt.out")"
fi

probe tls6-srh 443
sent6=$(tcpdump -nn -r "$D/tls6-srh.pcap" "src host $CLIENT6" 2>/dev/null | wc -l)
if ((markers == 0)) && ((sent6 > 0)); then
	ok "srh-spent: bare ACKs after a spent routing header of text on an allowed IPv6 TLS connection: 0 marker copies reached cn ($sent6 packets of the connection did)"
else
	bad "srh-spent: $markers marker copies in a spent routing header reached cn ($sent6 packets from the client); sender: $(head -c 200 "$D/tls6-srh.out")"
fi

for kind in tcp-syn-windows tcp-syn-macos tcp-syn-linux; do
	# Each SYN is sent twice, as a stack retransmits: a lost copy is not
	# a refusal (one in about 30 runs lost one, with or without the rules).
	probe "$kind"
	if ((ports_at_cn == 10)); then
		ok "${kind#tcp-}: in gate mode, the SYNs of 10 of 10 connections with the options ${kind#tcp-syn-} sends reached cn"
	else
		bad "${kind#tcp-}: in gate mode, the SYNs of $ports_at_cn of 10 connections with ${kind#tcp-syn-}'s option layout reached cn (expected 10)"
	fi
done

# --- the fourth red-team pass (tests/redteam4/gate_probe4.py) ------------------------------
# probe4 KIND COUNT: sends gate_probe4.py's KIND; sets markers (copies of its
# 8-byte marker that reached cn)
probe4() {
	local kind=$1 m f=$D/$1.pcap
	m=$(printf 'R4%06d' $((RANDOM * 31 % 1000000)))
	ef_capture cn eth0 "$f" || { echo "FAIL tcpdump on cn"; exit 1; }
	EF_GW_MAC=$(ef_ns_exec gw cat /sys/class/net/in0/address) ef_ns_exec client "$EF_PYTHON" \
		"$src/tests/redteam4/gate_probe4.py" "$kind" "$CLIENT" "$CN" "$CLIENT6" "$CN6" "$m" "$2" >"$D/$kind.out" 2>&1
	sleep 1
	ef_capture_stop cn >/dev/null 2>&1
	markers=$(grep -a -o "$m" "$f" | wc -l)
}
# probe4_none KIND COUNT: COUNT packets of KIND with text, none of which may reach cn
probe4_none() {
	probe4 "$1" "$2"
	if ((markers == 0)); then
		ok "$1: 0 of $2 packets with text reached cn"
	else
		bad "$1: $markers marker copies reached cn from $2 packets with text; sender: $(grep -v '^seq' "$D/$1.out" | head -c 150)"
	fi
}
ef_serve_http cn 8080 || { echo "FAIL http server on cn:8080"; exit 1; }
# An ICMP error the client sends itself (through the gateway) quoting its
# own connection to cn: RELATED, it carries that connection's entry, and
# must not mark it unwatched.  Then 200 requests of text on the connection.
for kind in f2-self f2-self6; do
	probe4 $kind 200
	if ((markers == 0)); then
		ok "${kind}: after an ICMP error quoting the connection, 0 of 200 text requests reached cn"
	else
		bad "${kind}: after an ICMP error quoting the connection, $markers marker copies reached cn (the gate was bypassed)"
	fi
done
# Text behind IPv6 AH or a live routing header on an allowed connection;
# text in ICMP errors quoting it; RSTs with options on a blocked
# connection; RSTs of no connection (invalid) from ever new ports.
for kc in "v6-ah-allowed 300" "v6-srh-live-allowed 300" "icmp-err-allowed 300" "icmp6-err-allowed 300" \
	"rst-blocked 1000" "rst-port-spray 2000"; do
	probe4_none $kc
done

if ef_ns_exec client curl -sk -m 15 -o "$D/https.out" "https://$CN/bytes/2000" 2>"$D/curl.err" &&
	[ "$(wc -c <"$D/https.out")" = 2000 ]; then
	ok "https: a real client's TLS connection to cn completes in gate mode (2000 bytes back)"
else
	bad "https: curl to https://$CN failed: $(head -c 200 "$D/curl.err")"
fi
if ef_ns_exec client curl -sk -6 -m 15 -o "$D/https6.out" "https://[$CN6]/bytes/2000" 2>"$D/curl6.err" &&
	[ "$(wc -c <"$D/https6.out")" = 2000 ]; then
	ok "https6: a real client's TLS connection to cn over IPv6 completes in gate mode (2000 bytes back)"
else
	bad "https6: curl to https://[$CN6] failed: $(head -c 200 "$D/curl6.err")"
fi

# --- what a gate-mode event says left is what reached cn ----------------------------------
# tests/redteam4 ssh-many-bulk: cn says an SSH banner, the engine puts the
# flow in grace (its key exchange passes, bounded, with a copy), and the
# client sends its banner and 8000 bytes of text at once: some pass before
# the engine's block lands, some after the verdict, the rest are held.
# Each copy's NFLOG prefix says which, so the flow's event (bytes passed by
# the verdict) and its final record (bytes passed after it) together must
# count exactly the client's payload bytes on cn's wire.  And a plain HTTP
# upload to cn, held until blocked, must say 0 bytes passed.
ef_bg cn ssh-cn-2222 "$EF_PYTHON" "$src/tests/redteam4/gate_probe4.py" ssh-banner-server 2222 &&
	ef_wait_listen cn tcp 2222 || { echo "FAIL ssh banner server on cn"; exit 1; }
probe4 ssh-many-bulk 20
held_port=45123
ef_capture cn eth0 "$D/held.pcap" || { echo "FAIL tcpdump on cn"; exit 1; }
ef_ns_exec client curl -s -m 8 --local-port $held_port -o /dev/null --data-binary "EFGEVID upload $(printf '%0500d' 0)" \
	"http://$CN:8080/upload" 2>/dev/null
sleep 1
ef_capture_stop cn >/dev/null 2>&1
ef_engine_stop   # its blocked flows end: their final records are written
# client_bytes ip|payload FILE PORT: the IP bytes, or the TCP payload bytes,
# of the client's TCP packets to cn's PORT (dport) or from its own PORT
# (sport) in FILE, every copy (retransmissions too: each crossed the gateway)
client_bytes() {
	python3 - "$1" "$2" "$CLIENT" "$3" <<'PY'
import socket, struct, sys
what, d = sys.argv[1], open(sys.argv[2], "rb").read()
c4, port = socket.inet_aton(sys.argv[3]), int(sys.argv[4])
e = "<" if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
o, n = 24, 0
while o + 16 <= len(d):
    cap = struct.unpack(e + "I", d[o + 8:o + 12])[0]
    f = d[o + 16:o + 16 + cap]
    o += 16 + cap
    if f[12:14] != b"\x08\x00" or f[26:30] != c4 or f[23] != 6:
        continue
    ip = f[14:]; ihl = (ip[0] & 15) * 4
    sport, dport = struct.unpack("!HH", ip[ihl:ihl + 4])
    if port in (sport, dport):
        length = struct.unpack("!H", ip[2:4])[0]
        n += length if what == "ip" else length - ihl - (ip[ihl + 12] >> 4) * 4
print(n)
PY
}
# events_sum PORT: over the events of flows to cn's PORT, or from the
# client's PORT when it is the held flow's: flows, bytes passed by the
# verdict (the first event), after it (final records), held, and bytes_out
events_sum() {
	python3 - "$D/events.json" "$CN" "$1" <<'PY'
import json, sys
cn, port = sys.argv[2], int(sys.argv[3])
flows = finals = passed = after = held = seen = without = 0
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("dst_ip") != cn or port not in (e.get("dst_port"), e.get("src_port")):
        continue
    without += "bytes_out_passed" not in e
    if e.get("final"):
        finals += 1
        after += e.get("bytes_out_after_block", 0)
        continue
    flows += 1
    passed += e.get("bytes_out_passed", 0)
    held += e.get("bytes_out_held", 0)
    seen += e.get("bytes_out", 0)
print(flows, finals, passed, after, held, seen, int(without == 0))
PY
}
at_cn=$(client_bytes payload "$D/ssh-many-bulk.pcap" 2222)
read -r flows finals passed after held seen fields < <(events_sum 2222)
if ((flows == 20 && fields == 1 && at_cn > 0 && passed + after == at_cn)); then
	ok "ssh-many-bulk: 20 flows' events say $passed bytes passed by the verdict and $finals final records $after after it: $((passed + after)), the $at_cn payload bytes that reached cn ($held held, never left; the engine saw $seen)"
else
	bad "ssh-many-bulk: $flows flows (expected 20), their events say $passed bytes passed by the verdict and $finals final records $after after it ($((passed + after))), but $at_cn payload bytes reached cn (events with bytes_out_passed: ${fields:-0}; bytes_out, what the engine saw: $seen)"
fi
at_cn=$(client_bytes payload "$D/held.pcap" $held_port)
read -r flows finals passed after held seen fields < <(events_sum $held_port)
if ((flows == 1 && fields == 1 && finals == 0 && passed == 0 && held > 0 && at_cn == 0)); then
	ok "held upload: its event says 0 bytes passed and $held held ($at_cn payload bytes reached cn)"
else
	bad "held upload: $flows events (expected 1), $finals final records, $passed bytes passed, $held held (expected 0 passed, some held; events with bytes_out_passed: ${fields:-0}); $at_cn payload bytes reached cn"
fi


# --- the budget of an inside host, and the SYN and SACK option values ------------------
ef_engine_start budget --config "$D/policy.yaml" --json "$D/events-budget.json"
# budget_bound SECONDS: the most IP bytes the client's budget passes in
# SECONDS (the kernel's byte bucket holds rate + burst)
budget_bound() {
	echo $(((BUDGET_RATE + BUDGET_BURST) * 1024 + BUDGET_RATE * 1024 * $1))
}
sleep $(((BUDGET_RATE + BUDGET_BURST) / BUDGET_RATE + 1))   # the bucket fills again
ef_capture cn eth0 "$D/burst-cn.pcap" || { echo "FAIL tcpdump on cn"; exit 1; }
cn_capture=$EF_CAPTURE_PID
ef_capture client eth0 "$D/burst-client.pcap" || { echo "FAIL tcpdump on client"; exit 1; }
curls=()
for i in $(seq 20); do
	ef_ns_exec client curl -sk -m 20 -o "$D/burst.$i" "https://$CN/bytes/2000" 2>"$D/burst.$i.err" &
	curls+=($!)
done
wait "${curls[@]}"
head -c 2000000 /dev/urandom >"$D/upload.bin"
ef_ns_exec client curl -sk -m 60 -o "$D/download.out" "https://$CN/bytes/4000000" 2>"$D/download.err"
ef_ns_exec client curl -sk -m 60 --data-binary @"$D/upload.bin" -o "$D/upload.out" "https://$CN/upload" 2>"$D/upload.err"
ef_capture_stop client >/dev/null 2>&1
EF_CAPTURE_PID=$cn_capture ef_capture_stop cn >/dev/null 2>&1
whole=0
for i in $(seq 20); do [ "$(wc -c <"$D/burst.$i" 2>/dev/null)" = 2000 ] && whole=$((whole + 1)); done
if ((whole == 20)); then
	ok "burst: 20 HTTPS connections at once to cn from one client all completed in gate mode"
else
	bad "burst: $whole of 20 HTTPS connections at once to cn completed; $(cat "$D"/burst.*.err | head -c 200)"
fi
if [ "$(wc -c <"$D/download.out")" = 4000000 ] && grep -q "received 2000000 bytes" "$D/upload.out"; then
	ok "burst: a 4 MB download and a 2 MB upload over allowed HTTPS connections to cn completed"
else
	bad "burst: download $(wc -c <"$D/download.out") of 4000000 bytes, upload: $(head -c 100 "$D/upload.out") $(head -c 200 "$D/download.err" "$D/upload.err")"
fi
syn_filter="src host $CLIENT and tcp dst port 443 and tcp[tcpflags] & tcp-syn != 0"
offered=$(tcpdump -nn -r "$D/burst-client.pcap" "$syn_filter" 2>/dev/null | grep -c sackOK)
syns_cn=$(tcpdump -nn -r "$D/burst-cn.pcap" "$syn_filter" 2>/dev/null | wc -l)
sack_cn=$(tcpdump -nn -r "$D/burst-cn.pcap" "$syn_filter" 2>/dev/null | grep -c sackOK)
if ((offered >= 22 && syns_cn >= 22 && sack_cn == 0)); then
	ok "sack-perm: $offered of the client's SYNs offered SACK; the $syns_cn that reached cn did not"
else
	bad "sack-perm: $offered SYNs offered SACK at the client, $sack_cn of $syns_cn at cn still did (expected 22 or more, 0 of 22 or more)"
fi

probe4 syn-spray 2000
if ((markers == 0)); then
	ok "syn-spray: 0 of 2000 SYNs with text in their timestamp echo reached cn"
else
	bad "syn-spray: $markers marker copies in SYNs' timestamp echo reached cn"
fi

# Each such SYN is 64 bytes of IP (20 + 20 + 24 of options).
sleep $(((BUDGET_RATE + BUDGET_BURST) / BUDGET_RATE + 1))
probe4 syn-spray-ts0 5000
took=$(awk '$1 == "sent" { print int($9) + 2 }' "$D/syn-spray-ts0.out")
bound=$(budget_bound "${took:-99}")
syns=$(tcpdump -nn -r "$D/syn-spray-ts0.pcap" "src host $CLIENT and tcp dst port 8443" 2>/dev/null | wc -l)
if ((syns > 0 && syns * 64 <= bound)); then
	ok "syn-budget: of 5000 SYNs in macOS's layout from new ports, $syns reached cn ($((syns * 64)) bytes; the budget allows $bound in ${took}s)"
else
	bad "syn-budget: $syns of 5000 SYNs from new ports reached cn ($((syns * 64)) bytes; the budget allows 1 to $bound in ${took:-?}s); sender: $(head -c 100 "$D/syn-spray-ts0.out")"
fi

sleep $(((BUDGET_RATE + BUDGET_BURST) / BUDGET_RATE + 1))
# the banner server started above still listens
ef_ns_exec cn ss -Hltn 'sport = :2222' | grep -q . || { echo "FAIL ssh banner server on cn"; exit 1; }
probe4 ssh-many-bulk 60
took=$(awk '$1 == "sent" { print int($9) + 2 }' "$D/ssh-many-bulk.out")
bound=$(budget_bound "${took:-99}")
sshb=$(client_bytes ip "$D/ssh-many-bulk.pcap" 2222)
if ((sshb > 0 && sshb <= bound)); then
	ok "ssh-budget: SSH's grace on 60 connections passed $sshb IP bytes to cn (the budget allows $bound in ${took}s)"
else
	bad "ssh-budget: SSH's grace on 60 connections passed $sshb IP bytes to cn (expected 1 to $bound in ${took:-?}s)"
fi

for kc in "ack-port-spray-ts 2000" "v6-ack-port-spray-ts 300" "sack-allowed 1000"; do
	probe4_none $kc
done

ef_engine_stop

# A full budget set passes nothing for a host it has no room for: with
# max_flows 1024, 1100 SYNs carrying a hello's first bytes from as many
# /64s (spoofed) fill undecided_budget6; then the client's own HTTPS over
# IPv6 must not get its SYN to cn (an update that fails must not fall
# through to an accept).
sed -i 's/^gateway:$/gateway:\n  max_flows: 1024/' "$D/policy.yaml"
ef_engine_start full --config "$D/policy.yaml" --json "$D/events-full.json"
probe4 budget-fill6 1100
filled=$(ef_ns_exec gw nft list set inet egressfence undecided_budget6 | grep -o 'limit rate' | wc -l)
ef_capture cn eth0 "$D/full.pcap" || { echo "FAIL tcpdump on cn"; exit 1; }
ef_ns_exec client curl -sk -6 -m 4 -o "$D/full.out" "https://[$CN6]/bytes/2000" 2>/dev/null
ef_capture_stop cn >/dev/null 2>&1
syns6=$(tcpdump -nn -r "$D/full.pcap" "src host $CLIENT6 and tcp dst port 443" 2>/dev/null | wc -l)
if ((filled >= 1000 && syns6 == 0)); then
	ok "budget-full: with undecided_budget6 full ($filled hosts), 0 packets of a new host's HTTPS connection reached cn"
else
	bad "budget-full: undecided_budget6 held $filled hosts; $syns6 packets of a new host's HTTPS connection reached cn (expected 1000 or more, and 0)"
fi
ef_engine_stop
ef_test_done e2e_options_gate
