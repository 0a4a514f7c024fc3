#!/usr/bin/env bash
# tests/e2e_tier_mark.sh -- the prefilter's answer kept in the conntrack mark,
# for watched connections too.
#
# A connection's first packet looks its ends up in the tier sets (the
# interval sets of the block and log tiers, 10^4-10^5 ranges in a real
# database); the answer goes into its conntrack mark (bits 29-31: which tiers
# its originator and responder are in; bits 16-23: 0x80 | the ruleset's
# generation), and its later packets go to their tier chain through one
# verdict-map lookup on (family, direction, mark).  bench/live-style probes
# measured the lookups at a third of the throughput of an allowed download
# from the log tier (152 MB/s with them, 228 without, 384 without engine).
#
# Checks, in gate mode, IPv4 and IPv6, against the real kernel:
#   - the marks of live connections: client -> cn (block tier) 1, client ->
#     de (log tier) 3, client -> us (no tier) 0, cn -> client (opened from
#     the block tier) 2, all with the same 0x80 | generation;
#   - the mark sends each packet where the lookups would: a cleartext upload
#     on the connection to cn, opened and marked before it, is held and
#     blocked (its marker never reaches cn), and so is what the inside host
#     sends back on the connection cn opened; the upload on the connection
#     to de (log tier) passes and is logged;
#   - a reload (SIGHUP) loads a new generation: a marked connection's next
#     packet is looked up again and marked with it;
#   - a connection a conntrack helper expects (IRC DCC, the site running the
#     helper) does not keep the mark it copies from the connection that
#     announced it: the inside host's answers on the connection cn opens to
#     an offer made on a connection to us or de are held.
#
# Needs root; exits 77 (skipped) without it or without ip netns / nft.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/netns/lib.sh"
ef_need_netns tcpdump
[ -n "$db" ] || ef_skip "no test country database (tests/data under the build tree)"
[ -r /proc/net/nf_conntrack ] || ef_skip "no /proc/net/nf_conntrack (CONFIG_NF_CONNTRACK_PROCFS) to read the marks from"
ef_test_up
CN=${EF_ADDR4[cn]} DE=${EF_ADDR4[de]} US=${EF_ADDR4[us]} CLIENT=${EF_ADDR4[client]}
CN6=${EF_ADDR6[cn]} DE6=${EF_ADDR6[de]} US6=${EF_ADDR6[us]} CLIENT6=${EF_ADDR6[client]}
for s in cn de us; do ef_serve_sink "$s" 80 || exit 1; done
ef_policy "$D/gate.yaml" place="cn:CN de:DE us:US" place6="cn:CN de:DE us:US" \
	groups="designated:CN conforming:US" nflog=23 decide=2 \
	rules="designated-cleartext:block designated-any:log nonconforming-cleartext:log" || exit 1

EVENTS=$D/events.json
ef_engine_start gate --config "$D/gate.yaml" --json "$EVENTS"

# holder NS CTL NAME=HOST:PORT|NAME=listen:PORT...: a process in NS that
# opens the connections (and listens for one on each listen:PORT), writes
# CTL/connected, then sends the contents of CTL/send-NAME
# on NAME when that file appears (and writes CTL/send-NAME.done), until
# CTL/quit.
cat >"$D/holder.py" <<'PYEOF'
import os, socket, sys, time
ctl = sys.argv[1]
conns, listeners = {}, {}
for spec in sys.argv[2:]:
    name, addr = spec.split("=", 1)
    if addr.startswith("listen:"):
        l = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        l.bind(("::", int(addr[7:])))
        l.listen(1)
        l.setblocking(False)
        listeners[name] = l
        continue
    host, port = addr.rsplit(":", 1)
    host = host.strip("[]")
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect((host, int(port)))
    conns[name] = s
open(os.path.join(ctl, "connected"), "w").close()
deadline = time.time() + 120
while time.time() < deadline and not os.path.exists(os.path.join(ctl, "quit")):
    for name, l in list(listeners.items()):
        try:
            conns[name] = l.accept()[0]
            del listeners[name]
        except BlockingIOError:
            pass
    for name, s in conns.items():
        p = os.path.join(ctl, "send-" + name)
        if os.path.exists(p):
            data = open(p, "rb").read()
            os.unlink(p)
            try:
                s.sendall(data)
                r = "sent"
            except OSError as e:
                r = str(e)
            with open(p + ".done", "w") as f:
                f.write(r)
    time.sleep(0.02)
PYEOF
holder() { # NS CTL SPEC...
	mkdir -p "$2"
	ef_bg "$1" "holder-$1-$(basename "$2")" "$EF_PYTHON" "$D/holder.py" "$2" "${@:3}"
	local tries=100
	while ((tries-- > 0)) && [ ! -e "$2/connected" ]; do sleep 0.05; done
	[ -e "$2/connected" ]
}
send() { # CTL NAME TEXT: sends TEXT on NAME and waits (bounded) until it is written
	printf '%s' "$3" >"$1/send-$2.tmp" && mv "$1/send-$2.tmp" "$1/send-$2"
	local tries=100
	while ((tries-- > 0)) && [ ! -e "$1/send-$2.done" ]; do sleep 0.05; done
	rm -f "$1/send-$2.done"
}
# mark SRC DST DPORT [STATE]: the conntrack mark of the connection whose
# original tuple is SRC -> DST:DPORT (and whose TCP state is STATE), as a
# number (empty when there is none).
mark() {
	ef_ns_exec gw cat /proc/net/nf_conntrack |
		awk -v s="src=$1" -v d="dst=$2" -v p="dport=$3" -v t=" ${4:-} " '$0 ~ " " s " " && $0 ~ " " d " " && $0 ~ " " p " " && index($0, t) {
			for (i = 1; i <= NF; i++) if ($i ~ /^mark=/) { sub(/^mark=/, "", $i); print $i; exit } }'
}
# the v6 addresses in /proc/net/nf_conntrack are written in full
full6() { "$EF_PYTHON" -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1]).exploded)' "$1"; }
code() { echo $((${1:-0} >> 29)); }
gen() { echo $(((${1:-0} >> 16) & 0xff)); }

for fam in 4 6; do
	if [ $fam = 4 ]; then
		cn=$CN de=$DE us=$US client=$CLIENT pcn=$CN pde=$DE pus=$US pclient=$CLIENT ecn=$CN ede=$DE
	else
		cn=$(full6 "$CN6") de=$(full6 "$DE6") us=$(full6 "$US6") client=$(full6 "$CLIENT6")
		pcn="[$CN6]" pde="[$DE6]" pus="[$US6]" pclient="[$CLIENT6]" ecn=$CN6 ede=$DE6
	fi
	OUT=$D/out$fam IN=$D/in$fam port=$((9000 + fam))
	holder client "$OUT" "cn=$pcn:80" "de=$pde:80" "us=$pus:80" "back=listen:$port" || {
		bad "IPv$fam: the client could not open its connections to cn, de and us"
		continue
	}
	holder cn "$IN" "client=$pclient:$port" || {
		bad "IPv$fam: cn could not open its connection to the client"
		continue
	}
	# Each connection has passed its handshake: its mark is set.
	m_cn=$(mark "$client" "$cn" 80) m_de=$(mark "$client" "$de" 80) m_us=$(mark "$client" "$us" 80)
	m_in=$(mark "$cn" "$client" "$port")
	echo "IPv$fam marks: to cn ${m_cn:-none}, to de ${m_de:-none}, to us ${m_us:-none}, from cn ${m_in:-none}"
	if [ -n "$m_cn" ] && [ -n "$m_de" ] && [ -n "$m_us" ] && [ -n "$m_in" ] &&
		[ "$(code "$m_cn")" = 1 ] && [ "$(code "$m_in")" = 2 ] && [ "$(code "$m_de")" = 3 ] && [ "$(code "$m_us")" = 0 ] &&
		(($(gen "$m_cn") & 0x80)) && [ "$(gen "$m_cn")" = "$(gen "$m_de")" ] &&
		[ "$(gen "$m_cn")" = "$(gen "$m_us")" ] && [ "$(gen "$m_cn")" = "$(gen "$m_in")" ]; then
		ok "IPv$fam: each connection's tiers are in its mark (to cn 1, from cn 2, to de 3, to us 0; generation 0x$(printf %x "$(gen "$m_cn")"))"
	else
		bad "IPv$fam: marks to cn ${m_cn:-none}, from cn ${m_in:-none}, to de ${m_de:-none}, to us ${m_us:-none}: want tier codes 1, 2, 3, 0 (bits 29-31) and one 0x80|generation (bits 16-23)"
	fi

	# The marked connections' payload goes where the lookups would send it.
	MARK=EF-TIER-$fam-$RANDOM$RANDOM
	ef_capture cn eth0 "$D/cn$fam.pcap" tcp || exit 1
	send "$OUT" cn "POST /upload HTTP/1.1\r\nHost: cn\r\nContent-Length: 40\r\n\r\n$MARK-out"
	send "$OUT" de "POST /upload HTTP/1.1\r\nHost: de\r\nContent-Length: 40\r\n\r\n$MARK-de"
	ef_event_seen 10 "$EVENTS" "\"$ecn\"" '"dst_port":80,' '"verdict":"block"' ||
		bad "IPv$fam: no block event for the cleartext upload to cn"
	ef_capture_stop cn >/dev/null 2>&1
	ef_event_seen 10 "$EVENTS" "\"$ede\"" '"verdict":"log"' &&
		ok "IPv$fam: the cleartext upload on the marked connection to de (log tier) was judged and logged" ||
		bad "IPv$fam: no log event for the cleartext upload to de"
	if [ "$(ef_marker_packets "$D/cn$fam.pcap" "$MARK-out")" != 0 ]; then
		bad "IPv$fam: the cleartext upload on the marked connection to cn reached cn"
	else
		ok "IPv$fam: the cleartext upload on the marked connection to cn was held (its marker never reached cn)"
	fi
	# The connection cn opened: what the inside host sends back on it is
	# an upload to cn (the mark's reply direction goes to block_out).
	ef_capture cn eth0 "$D/cnin$fam.pcap" tcp port $port || exit 1
	send "$IN" client "hello from cn"
	send "$OUT" back "HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n$MARK-back"
	ef_event_seen 10 "$EVENTS" "\"$ecn\"" "\"src_port\":$port," '"verdict":"block"' ||
		ef_event_seen 1 "$EVENTS" "\"$ecn\"" "$port" '"verdict":"block"' ||
		bad "IPv$fam: no block event for the inside host's cleartext answer on the connection cn opened"
	ef_capture_stop cn >/dev/null 2>&1
	if [ "$(ef_marker_packets "$D/cnin$fam.pcap" "$MARK-back")" != 0 ]; then
		bad "IPv$fam: the inside host's cleartext answer on the connection cn opened reached cn"
	else
		ok "IPv$fam: the inside host's cleartext answer on the connection cn opened was held (its marker never reached cn)"
	fi
	m_in2=$(mark "$cn" "$client" "$port")
	[ "$(code "$m_in2")" = 2 ] &&
		ok "IPv$fam: the connection cn opened keeps tier code 2 after its payload (mark $m_in2)" ||
		bad "IPv$fam: the connection cn opened: mark ${m_in2:-none} after its payload, want tier code 2"
	touch "$OUT/quit" "$IN/quit"
done

# A reload loads a new generation: a marked connection's next packet is
# looked up again and gets it.
holder client "$D/reload" "us=$US:80" "cn=$CN:80" || bad "the client could not open its connections for the reload check"
before_us=$(mark "$CLIENT" "$US" 80 ESTABLISHED) before_cn=$(mark "$CLIENT" "$CN" 80 ESTABLISHED)
# the unwatched accept rule carries the generation the kernel has now
kernel_gen() { ef_ns_exec gw nft list chain inet egressfence forward 2>/dev/null | grep -o '== 0x[0-9a-f]* accept' | head -n 1; }
gen0=$(kernel_gen)
kill -HUP "$ENGINE"
tries=600
while ((tries-- > 0)) && [ "$(kernel_gen)" = "$gen0" ]; do sleep 0.05; done
[ "$(kernel_gen)" != "$gen0" ] || bad "the reload did not load a new ruleset within 30 s (still: $gen0)"
send "$D/reload" us "more"
send "$D/reload" cn "x"
sleep 0.3
after_us=$(mark "$CLIENT" "$US" 80 ESTABLISHED) after_cn=$(mark "$CLIENT" "$CN" 80 ESTABLISHED)
echo "reload: to us ${before_us:-none} -> ${after_us:-none}, to cn ${before_cn:-none} -> ${after_cn:-none}"
if [ -n "$before_us" ] && [ -n "$after_us" ] && [ "$(gen "$before_us")" != "$(gen "$after_us")" ] &&
	[ "$(code "$after_us")" = 0 ] && (($(gen "$after_us") & 0x80)) &&
	[ "$(code "$after_cn")" = 1 ] && [ "$(gen "$after_cn")" = "$(gen "$after_us")" ]; then
	ok "a reload's next packets re-marked the connections with its generation (to us 0x$(printf %x "$(gen "$before_us")") -> 0x$(printf %x "$(gen "$after_us")"), to cn tier 1 again)"
else
	bad "after the reload: to us ${before_us:-none} -> ${after_us:-none}, to cn ${before_cn:-none} -> ${after_cn:-none}: want a new generation, tier codes 0 and 1"
fi
touch "$D/reload/quit"

# A connection a conntrack helper expects starts with a copy of the mark of
# the connection that announced it.  A site that runs the IRC helper on the
# gateway: the inside host sends a DCC offer on a connection to us (no tier)
# or de (log tier), naming a port of its own; cn opens that port, and the
# inside host answers in clear text, which must be held as on any connection
# cn opens (a red-team pass found the answers leaving: the copied mark sent
# the connection's packets down the fast path of its master's tiers).
# IPv4 only: the IRC helper does not take IPv6.
if ef_ns_exec gw nft -f - <<'NFT'; then
table ip site {
	ct helper irc-std { type "irc" protocol tcp; }
	chain pre { type filter hook prerouting priority filter; policy accept; tcp dport 6667 ct helper set "irc-std"; }
}
NFT
	cat >"$D/dcc.py" <<'PYEOF'
# dcc.py listen PORT | client CTRL_HOST MYIP PORT MARKER FLAG | peer HOST PORT
import socket, struct, sys, threading, time
mode = sys.argv[1]
if mode == "listen":  # stands for an IRC server
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("0.0.0.0", int(sys.argv[2])))
    l.listen(5)
    def rd(c):
        c.sendall(b":irc.example NOTICE * :hello\r\n")
        while c.recv(4096):
            pass
    while True:
        threading.Thread(target=rd, args=(l.accept()[0],), daemon=True).start()
elif mode == "client":  # the inside host: the offer, then its answers in clear text
    host, myip, port, marker, flag = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5].encode(), sys.argv[6]
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("0.0.0.0", port))
    l.listen(1)
    l.settimeout(10)
    c = None
    if host != "-":
        c = socket.create_connection((host, 6667), timeout=5)
        c.sendall(b"NICK alice\r\nUSER alice 0 * :a\r\n")
        c.recv(200)
        ip = struct.unpack("!I", socket.inet_aton(myip))[0]
        c.sendall(b"PRIVMSG bob :\x01DCC SEND file.bin %d %d 1000\x01\r\n" % (ip, port))
        time.sleep(0.3)
    open(flag, "w").close()
    d = l.accept()[0]
    for _ in range(3):
        try:
            d.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n" + marker + b"\r\n")
        except OSError:
            break
        time.sleep(0.3)
    d.close()
elif mode == "peer":  # cn: opens the offered port, reads what comes
    for _ in range(50):
        try:
            s = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=3)
            break
        except OSError:
            time.sleep(0.2)
    else:
        sys.exit("peer: could not connect")
    s.settimeout(5)
    s.sendall(b"hello from the block tier\r\n")
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
PYEOF
	for s in us de; do
		ef_bg "$s" "irc-$s" "$EF_PYTHON" "$D/dcc.py" listen 6667 && ef_wait_listen "$s" tcp 6667 || exit 1
	done
	dcc() { # NAME CONTROL_HOST|- PORT
		local M=EF-DCC-$1-$RANDOM$RANDOM n
		ef_capture cn eth0 "$D/dcc-$1.pcap" tcp port "$3" || exit 1
		ef_bg client "dcc-$1" timeout 20 "$EF_PYTHON" "$D/dcc.py" client "$2" "$CLIENT" "$3" "$M" "$D/dcc-$1.offered"
		local tries=200
		while ((tries-- > 0)) && [ ! -e "$D/dcc-$1.offered" ]; do sleep 0.05; done
		ef_ns_exec cn timeout 15 "$EF_PYTHON" "$D/dcc.py" peer "$CLIENT" "$3" >/dev/null 2>&1
		ef_capture_stop cn >/dev/null 2>&1
		n=$(ef_marker_packets "$D/dcc-$1.pcap" "$M")
		[ "$n" = 0 ] && ok "dcc $1: the inside host's clear-text answers on the connection cn opened were held (0 markers at cn)" ||
			bad "dcc $1: $n copies of the inside host's clear-text answers reached cn"
	}
	dcc control - 9500
	dcc via-us "$US" 9501
	dcc via-de "$DE" 9502
else
	bad "the site table with the IRC conntrack helper did not load (CONFIG_NF_CONNTRACK_IRC?)"
fi

ef_engine_stop
ef_test_done e2e_tier_mark
