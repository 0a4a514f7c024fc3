#!/usr/bin/env bash
# tests/e2e_srv6_gate.sh -- gate mode and IPv6 routing headers: a client
# that sends its upload with a Segment Routing Header (RFC 8754) addressed to
# a node in a conforming country, whose last segment is a block-tier
# server, must not get its data past the gate.  The kernel's sets see only
# the IPv6 destination (the conforming node); the rule that sends packets
# with segments left to the held path is what stops it.
#
#   client --- gw --- us (SRv6 node: seg6_enabled, forwards to cn over "wan")
#                \                         |
#                 `--- cn <----------------'   (cn's replies come back through gw)
#
#   control   without the engine, the upload reaches cn through us: the
#             attack's path works
#   srv6      with the engine in gate mode, the same upload: 0 marker bytes
#             reach cn; its connection never opens (every packet with a
#             routing header towards the block tier is held, the SYN too)
#   plain-v6  ordinary IPv6 to us (no routing header) still passes
#
# Needs root, ip netns, nft, tcpdump and the kernel's seg6 lightweight
# tunnels (CONFIG_IPV6_SEG6_LWTUNNEL); exits 77 (skipped) without them.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/netns/lib.sh"
ef_need_netns curl ethtool ss openssl tcpdump
[ -n "$db" ] || ef_skip "no test country database under $build/tests/data"
probe=$EF_RUN_ID-seg6
ip netns add "$probe" || ef_skip "cannot create a network namespace"
ip -n "$probe" link add p0 type veth peer name p1 2>/dev/null && ip -n "$probe" link set p0 up
ip -n "$probe" -6 addr add fd00:99::1/64 dev p0 nodad 2>/dev/null
if ! ip -n "$probe" -6 route add 2001:db8:86::10/128 encap seg6 mode inline segs 2001:db8:1::10 dev p0 2>/dev/null; then
	ip netns del "$probe"
	ef_skip "this kernel has no SRv6 lightweight tunnels (CONFIG_IPV6_SEG6_LWTUNNEL)"
fi
ip netns del "$probe"

ef_test_up
US6=${EF_ADDR6[us]} CN6=${EF_ADDR6[cn]}

# us is an SRv6 node with its own link to cn that the gateway never sees.
ip -n "$(ef_ns us)" link add wan0 type veth peer name wan0 netns "$(ef_ns cn)" || { echo "FAIL wan link"; exit 1; }
ip -n "$(ef_ns us)" link set wan0 up
ip -n "$(ef_ns cn)" link set wan0 up
ip -n "$(ef_ns us)" -6 addr add fd00:ef:99::1/64 dev wan0 nodad
ip -n "$(ef_ns cn)" -6 addr add fd00:ef:99::2/64 dev wan0 nodad
ef_ns_exec us sysctl -qw net.ipv6.conf.all.forwarding=1 net.ipv6.conf.all.seg6_enabled=1 \
	net.ipv6.conf.eth0.seg6_enabled=1 >/dev/null
# The last segment's host must take the header too (segments left 0).
ef_ns_exec cn sysctl -qw net.ipv6.conf.all.seg6_enabled=1 net.ipv6.conf.wan0.seg6_enabled=1 >/dev/null
ip -n "$(ef_ns us)" -6 route add "$CN6/128" via fd00:ef:99::2 dev wan0
# The client's kernel inserts the SRH: destination us, last segment cn.
ip -n "$(ef_ns client)" -6 route add "$CN6/128" encap seg6 mode inline segs "$US6" via "${EF_ADDR6[gw]}" dev eth0 ||
	{ echo "FAIL the client's seg6 route"; exit 1; }

ef_serve_http cn 80 || { echo "FAIL http server on cn"; exit 1; }
ef_serve_http us 80 || { echo "FAIL http server on us"; exit 1; }

ef_policy "$D/policy.yaml" place="cn:CN us:US" place6="cn:CN us:US" groups=designated:CN nflog=31 decide=2 \
	rules=designated-cleartext:block
geodb:
  country: $db
networks:
  internal: [10.0.0.0/8, "fc00::/7"]
  overrides:
    - { cidr: "${EF_NET6[cn]}", country: CN }
    - { cidr: "${EF_NET6[us]}", country: US }
    - { cidr: ${EF_NET4[cn]}, country: CN }
    - { cidr: ${EF_NET4[us]}, country: US }
groups:
  designated: [CN]
gateway:
  mode: gate
  nflog_group: 31
  decide_within: 2
rules:
  - name: designated-cleartext
    to: "@designated"
    encryption: [cleartext, weak, unknown]
    min_bytes_out: 1
    action: block
default: allow
EOF

# upload TAG: POSTs 20 KB of text carrying the marker TAG to cn (through
# the client's SRv6 route) while tcpdump on cn's wan link records what
# arrives; prints how many marker bytes reached cn.
upload() {
	local tag=$1 f=$D/cap-$1.pcap
	python3 -c "import sys; sys.stdout.write(('$tag ' * 4000)[:20000])" >"$D/body-$tag.txt"
	ef_capture cn wan0 "$f" ip6 || { echo "tcpdump failed" >&2; echo -1; return; }
	ef_ns_exec client curl -sS -6 -m 15 --data-binary @"$D/body-$tag.txt" -o /dev/null "http://[$CN6]/upload" \
		2>"$D/curl-$tag.err"
	ef_capture_stop cn 2>/dev/null
	python3 - "$f" "$tag" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
print(data.count(sys.argv[2].encode()) * len(sys.argv[2]))
PY
}

# --- control: the attack's path works without the engine -----------------------------
got=$(upload CTRLMARKER)
srh=$(ef_ns_exec client ip -6 route get "$CN6" 2>/dev/null | grep -c seg6)
if ((got > 10000)) && ((srh == 1)); then
	ok "control: without the engine, the SRv6 upload (destination us, last segment cn) reaches cn: $got marker bytes"
else
	bad "control: without the engine the SRv6 upload should reach cn: $got marker bytes, seg6 route $srh; curl: $(head -c 200 "$D/curl-CTRLMARKER.err")"
fi

# --- gate mode: the same upload is held ---------------------------------------------------
: >"$D/events.json"
ef_engine_start gate --config "$D/policy.yaml" --json "$D/events.json"
got=$(upload SRVSIXMARK)
if ((got == 0)); then
	ok "srv6: in gate mode, the SRv6 upload to a conforming node whose last segment is CN: 0 marker bytes reached cn"
else
	bad "srv6: in gate mode, $got marker bytes of the SRv6 upload reached cn (the gate let a routing header past the sets)"
fi

# --- IPv4's loose source route: the same, one layer down ----------------------------------
# UDP datagrams of text to us whose LSRR option names cn as the last hop:
# what reaches us's interface is what a router honouring source routes
# would send on to cn.
lsrr_probe() { # TAG: prints how many of 5 datagrams carrying TAG reached us
	local f=$D/lsrr-$1.pcap
	ef_capture us eth0 "$f" udp || { echo -1; return; }
	ef_ns_exec client python3 - "$US4" "$CN4" "$1" <<'PY'
import socket, sys
us, cn, tag = sys.argv[1], sys.argv[2], sys.argv[3]
# Linux takes the route's first hop as the IP destination and puts the
# address given to sendto() last: the wire then carries destination us,
# LSRR [cn].
opt = bytes([1, 131, 7, 4]) + socket.inet_aton(us)   # NOP, LSRR: len 7, pointer 4, one hop
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, opt)
for i in range(5):
    s.sendto(((tag + " ") * 100).encode(), (cn, 9999))
PY
	ef_capture_stop us 2>/dev/null
	python3 -c "import sys; print(open(sys.argv[1],'rb').read().count(sys.argv[2].encode()) // 100)" "$f" "$1"
}
US4=${EF_ADDR4[us]} CN4=${EF_ADDR4[cn]}
# Linux drops source-routed packets unless accept_source_route is set
# (the default for all interfaces is 0): this gateway honours them, as an
# administrator may have configured one.
ef_ns_exec gw sysctl -qw net.ipv4.conf.all.accept_source_route=1 net.ipv4.conf.in0.accept_source_route=1 >/dev/null
ef_engine_stop
got=$(lsrr_probe LSRRCTRL)
if ((got == 5)); then
	ok "lsrr-control: without the engine, 5 of 5 UDP datagrams with a loose source route to cn reach us"
else
	bad "lsrr-control: without the engine, $got of 5 LSRR datagrams reached us (expected 5)"
fi
ef_engine_start gate2 --config "$D/policy.yaml" --json "$D/events2.json"
got=$(lsrr_probe LSRRGATE)
if ((got == 0)); then
	ok "lsrr: in gate mode, UDP with a loose source route whose last hop is CN is held: 0 of 5 datagrams reached us"
else
	bad "lsrr: in gate mode, $got of 5 datagrams with a loose source route to CN passed the gate"
fi

# --- ordinary IPv6 to us still passes -----------------------------------------------------
if ef_ns_exec client curl -sS -6 -m 15 --data-binary "hello" -o "$D/us.out" "http://[$US6]/upload" 2>"$D/curl-us.err" &&
	grep -q "received 5 bytes" "$D/us.out"; then
	ok "plain-v6: ordinary IPv6 to us (no routing header) passes the gate"
else
	bad "plain-v6: IPv6 to us failed: $(head -c 200 "$D/curl-us.err") $(head -c 100 "$D/us.out" 2>/dev/null)"
fi
ef_engine_stop
# Towards the block tier every packet with a routing header is held, the
# SYN too (enforce/nft.c, put_ip_options): the connection never opens, so
# the engine writes no event for it (an attempt that never opened has
# none); the client's side says so.
if [ -s "$D/curl-SRVSIXMARK.err" ] && ! grep -q "received" "$D/curl-SRVSIXMARK.err"; then
	ok "srv6-never-opened: the SRv6 connection never opened (curl: $(head -c 80 "$D/curl-SRVSIXMARK.err"))"
else
	bad "srv6-never-opened: curl reported no failure for the SRv6 upload: $(head -c 200 "$D/curl-SRVSIXMARK.err")"
fi

ef_test_done e2e_srv6_gate
