# shellcheck shell=bash
#
# tests/netns/lib.sh -- a throwaway network of namespaces in which real
# clients talk to real servers through a gateway, so that egressfence (or
# tcpdump) on the gateway sees genuine traffic.  Sourced, not run.
#
#   client  10.1.0.2/24  fd00:ef::2/64  (eth0)
#      |
#   gw      10.1.0.1     fd00:ef::1     (in0)   forwarding on, v4 and v6
#      |--- cn0  198.51.100.1/24  2001:db8:86::1/64 -- cn  198.51.100.10  2001:db8:86::10
#      |--- us0  203.0.113.1/24   2001:db8:1::1/64  -- us  203.0.113.10   2001:db8:1::10
#      |--- de0  192.0.2.1/24     2001:db8:49::1/64 -- de  192.0.2.10     2001:db8:49::10
#      `--- ir0  198.18.0.1/24    2001:db8:98::1/64 -- ir  198.18.0.10    2001:db8:98::10
#
# The server networks are documentation (RFC 5737, RFC 3849) and benchmark
# (RFC 2544) ranges, which no country database places anywhere; a test
# policy gives them countries with networks.overrides (see samples/).
#
# Invariants:
#  - Every namespace name starts with EF_RUN_ID (unique per run unless set),
#    and interfaces are created inside their namespaces, so parallel runs
#    never share a name.  Addresses repeat across runs but never leave them.
#  - Offloads (TSO/GSO/GRO, checksum) are off on every veth: a capture holds
#    packets as a wire would carry them, each with a valid checksum and no
#    larger than the MTU.
#  - Every process started here lives in one of the run's namespaces;
#    ef_netns_down kills whatever is left in them, then deletes them and the
#    run's temporary directory.  Safe to call twice, and from a trap.
#
# Use:
#   . tests/netns/lib.sh
#   ef_netns_trap
#   ef_netns_up
#   ef_serve_http cn 80
#   ef_ns_exec client curl -s http://198.51.100.10/bytes/1000

EF_PYTHON=${EF_PYTHON:-/usr/bin/python3}   # Debian's, which has pyftpdlib
EF_RUN_ID=${EF_RUN_ID:-ef$$r$RANDOM}
EF_NETNS_DIR=""
EF_PIDS=()
EF_LAST_PID=""

EF_SERVERS=(cn us de ir)
declare -A EF_ADDR4=([client]=10.1.0.2 [gw]=10.1.0.1
	[cn]=198.51.100.10 [us]=203.0.113.10 [de]=192.0.2.10 [ir]=198.18.0.10)
declare -A EF_ADDR6=([client]=fd00:ef::2 [gw]=fd00:ef::1
	[cn]=2001:db8:86::10 [us]=2001:db8:1::10 [de]=2001:db8:49::10 [ir]=2001:db8:98::10)
# Each server's network; the gateway is host 1 in it.
declare -A EF_NET4=([client]=10.1.0.0/24 [cn]=198.51.100.0/24 [us]=203.0.113.0/24
	[de]=192.0.2.0/24 [ir]=198.18.0.0/24)
declare -A EF_NET6=([client]=fd00:ef::/64 [cn]=2001:db8:86::/64 [us]=2001:db8:1::/64
	[de]=2001:db8:49::/64 [ir]=2001:db8:98::/64)

_ef_error() { echo "netns: $*" >&2; }

# The namespace of a role: client, gw or a server name.
ef_ns() {
	case $1 in
	client | gw) echo "$EF_RUN_ID-$1" ;;
	*)
		[[ -v EF_ADDR4[$1] ]] || { _ef_error "no namespace \`$1'; use client, gw or one of: ${EF_SERVERS[*]}"; return 1; }
		echo "$EF_RUN_ID-$1"
		;;
	esac
}

ef_ns_exec() {
	local ns
	ns=$(ef_ns "$1") || return 1
	shift
	ip netns exec "$ns" "$@"
}

_ef_sysctl() { ef_ns_exec "$1" sysctl -qw "${@:2}" >/dev/null; }

# The gateway's address in a server's network: host 1.
_ef_gw4() { local n=${EF_NET4[$1]%/*}; echo "${n%.*}.1"; }
_ef_gw6() { local n=${EF_NET6[$1]%/*}; echo "${n%::}::1"; }

# A veth pair from namespace $1 (named $2) to namespace $3 (named $4), with
# fixed MAC addresses so captures are the same from run to run.
_ef_veth() {
	local a b
	a=$(ef_ns "$1") && b=$(ef_ns "$3") || return 1
	ip -n "$a" link add "$2" address "$5" type veth peer name "$4" netns "$b" address "$6" || return 1
	_ef_link_up "$1" "$2" && _ef_link_up "$3" "$4"
}

_ef_link_up() {
	ef_ns_exec "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 ||
		{ _ef_error "ethtool cannot turn offloads off on $2 (is ethtool installed?)"; return 1; }
	ip -n "$(ef_ns "$1")" link set "$2" up
}

ef_netns_up() {
	[ "$(id -u)" = 0 ] || { _ef_error "needs root (network namespaces)"; return 1; }
	local t
	for t in ip ethtool ss openssl "$EF_PYTHON"; do
		command -v "$t" >/dev/null || { _ef_error "\`$t' not found; run scripts/setup"; return 1; }
	done
	EF_NETNS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/$EF_RUN_ID.XXXXXX")
	mkdir -p "$EF_NETNS_DIR/log" "$EF_NETNS_DIR/tls" "$EF_NETNS_DIR/www"
	_ef_write_efserve
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=egressfence test server" \
		-keyout "$EF_NETNS_DIR/tls/key.pem" -out "$EF_NETNS_DIR/tls/cert.pem" 2>/dev/null ||
		{ _ef_error "openssl could not make a test certificate"; return 1; }

	local r i=0
	for r in client gw "${EF_SERVERS[@]}"; do
		ip netns add "$(ef_ns "$r")" || { _ef_error "cannot create namespace $(ef_ns "$r")"; return 1; }
		ip -n "$(ef_ns "$r")" link set lo up
		# No router solicitations, DAD or autoconfiguration: a capture then
		# holds the traffic a test made and little else.
		_ef_sysctl "$r" net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.accept_ra=0 \
			net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.default.accept_dad=0 \
			net.ipv6.conf.default.autoconf=0
	done
	_ef_sysctl gw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

	_ef_veth client eth0 gw in0 02:ef:00:00:00:02 02:ef:00:00:00:01 || return 1
	ip -n "$(ef_ns client)" addr add "${EF_ADDR4[client]}/24" dev eth0
	ip -n "$(ef_ns client)" addr add "${EF_ADDR6[client]}/64" dev eth0 nodad
	ip -n "$(ef_ns gw)" addr add "${EF_ADDR4[gw]}/24" dev in0
	ip -n "$(ef_ns gw)" addr add "${EF_ADDR6[gw]}/64" dev in0 nodad
	ip -n "$(ef_ns client)" route add default via "${EF_ADDR4[gw]}"
	ip -n "$(ef_ns client)" -6 route add default via "${EF_ADDR6[gw]}"

	for r in "${EF_SERVERS[@]}"; do
		i=$((i + 1))
		_ef_veth gw "${r}0" "$r" eth0 "02:ef:00:00:0$i:01" "02:ef:00:00:0$i:10" || return 1
		ip -n "$(ef_ns gw)" addr add "$(_ef_gw4 "$r")/${EF_NET4[$r]#*/}" dev "${r}0"
		ip -n "$(ef_ns gw)" addr add "$(_ef_gw6 "$r")/${EF_NET6[$r]#*/}" dev "${r}0" nodad
		ip -n "$(ef_ns "$r")" addr add "${EF_ADDR4[$r]}/${EF_NET4[$r]#*/}" dev eth0
		ip -n "$(ef_ns "$r")" addr add "${EF_ADDR6[$r]}/${EF_NET6[$r]#*/}" dev eth0 nodad
		ip -n "$(ef_ns "$r")" route add default via "$(_ef_gw4 "$r")"
		ip -n "$(ef_ns "$r")" -6 route add default via "$(_ef_gw6 "$r")"
	done

	# Prove the whole path both ways before any test relies on it; this also
	# fills the neighbour caches, so captures start without ARP/ND.
	for r in "${EF_SERVERS[@]}"; do
		if ! ef_ns_exec client ping -c1 -W2 -q "${EF_ADDR4[$r]}" >/dev/null ||
			! ef_ns_exec client ping -6 -c1 -W2 -q "${EF_ADDR6[$r]}" >/dev/null; then
			_ef_error "client cannot reach $r (${EF_ADDR4[$r]}, ${EF_ADDR6[$r]}) through the gateway"
			return 1
		fi
	done
}

ef_netns_down() {
	local pid ns r pids=()
	for pid in "${EF_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	# Anything else in our namespaces was started by this run (sshd's session
	# children, a client a test left behind).
	for r in client gw "${EF_SERVERS[@]}"; do
		ns=$EF_RUN_ID-$r
		[ -e "/run/netns/$ns" ] || continue
		mapfile -t -O "${#pids[@]}" pids < <(ip netns pids "$ns" 2>/dev/null)
	done
	if ((${#pids[@]})); then
		kill "${pids[@]}" 2>/dev/null || true
		for _ in $(seq 20); do
			kill -0 "${pids[@]}" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "${pids[@]}" 2>/dev/null || true
	fi
	for pid in "${EF_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	EF_PIDS=()
	for r in client gw "${EF_SERVERS[@]}"; do
		ns=$EF_RUN_ID-$r
		[ -e "/run/netns/$ns" ] && ip netns del "$ns" 2>/dev/null
	done
	[ -n "$EF_NETNS_DIR" ] && [ -d "$EF_NETNS_DIR" ] && rm -rf "$EF_NETNS_DIR"
	EF_NETNS_DIR=""
	return 0
}

# Tear down on any exit: bash skips the EXIT trap when a signal without a
# trap of its own kills it.
ef_netns_trap() {
	trap ef_netns_down EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
}

# ef_bg WHERE TAG CMD...: run CMD in the background in namespace WHERE, its
# output in $EF_NETNS_DIR/log/TAG.log; its pid is left in EF_LAST_PID.
ef_bg() {
	local ns
	ns=$(ef_ns "$1") || return 1
	ip netns exec "$ns" "${@:3}" >"$EF_NETNS_DIR/log/$2.log" 2>&1 </dev/null &
	EF_LAST_PID=$!
	EF_PIDS+=("$!")
}

# ef_wait_listen WHERE tcp|udp PORT [SECONDS=10]: until the process last
# started with ef_bg listens on PORT in WHERE (not merely anything: a second
# server on a taken port must fail).  Fails early if that process died.
ef_wait_listen() {
	local where=$1 proto=$2 port=$3 limit=${4:-10} flag=t tries
	[ "$proto" = udp ] && flag=u
	tries=$((limit * 20))
	while ((tries-- > 0)); do
		ef_ns_exec "$where" ss -Hlnp$flag "sport = :$port" | grep -q "pid=$EF_LAST_PID," && return 0
		kill -0 "$EF_LAST_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$EF_LAST_PID" 2>/dev/null; then
		_ef_error "the server for $proto/$port in $where is not listening after ${limit}s; its log:"
	else
		_ef_error "the server for $proto/$port in $where exited; its log:"
	fi
	tail -n 20 "$EF_NETNS_DIR"/log/*"-$where-$port.log" >&2 2>/dev/null
	return 1
}

# ef_wait_tcp_closed WHERE [SECONDS=5]: until WHERE has no TCP connection
# short of TIME-WAIT, so a capture stopped next holds each flow's FIN/RST.
ef_wait_tcp_closed() {
	local tries=$((${2:-5} * 20))
	while ((tries-- > 0)); do
		[ -z "$(ef_ns_exec "$1" ss -Htn state connected exclude time-wait)" ] && return 0
		sleep 0.05
	done
	return 1
}

# --- servers.  Each listens on v4 and v6 and returns once it listens. ---

# HTTP: GET /bytes/N answers N bytes; POST or PUT answers how many it read.
# With --tls the same over TLS with the run's self-signed certificate.
ef_serve_http() {
	local where=$1 port=${2:-80} tls=()
	[ "${3:-}" = --tls ] && tls=(--tls "$EF_NETNS_DIR/tls/cert.pem" "$EF_NETNS_DIR/tls/key.pem")
	ef_bg "$where" "http-$where-$port" "$EF_PYTHON" "$EF_NETNS_DIR/efserve.py" http "$port" "${tls[@]}" &&
		ef_wait_listen "$where" tcp "$port"
}

# openssl s_server -www (a status page per request), any extra s_server
# arguments after the port: e.g. -cipher 'ALL:eNULL:@SECLEVEL=0'.
ef_serve_openssl() {
	local where=$1 port=$2
	ef_bg "$where" "openssl-$where-$port" openssl s_server -accept "$port" -www -quiet \
		-cert "$EF_NETNS_DIR/tls/cert.pem" -key "$EF_NETNS_DIR/tls/key.pem" "${@:3}" &&
		ef_wait_listen "$where" tcp "$port"
}

# A server that accepts TLS 1.0 / 1.1 and NULL or anonymous cipher suites.
# OpenSSL 3 refuses all of those at its default security level 1, on either
# side ("tlsv1 alert internal error"); @SECLEVEL=0 brings them back.  RC4 and
# 3DES cannot be had at all: Debian builds without weak-ssl-ciphers, and no
# provider (not even legacy) restores them -- see ef_serve_legacy_tls.
ef_serve_openssl_weak() {
	ef_serve_openssl "$1" "$2" -cipher 'ALL:eNULL:@SECLEVEL=0'
}

# A scripted TLS 1.0 peer whose handshake picks TLS_RSA_WITH_3DES_EDE_CBC_SHA
# (or RC4 if that is all the client offers), for what OpenSSL 3 will not do.
# It speaks only the record layer: the hello messages and the certificate
# are real, the key exchange and encrypted records are random bytes of the
# right sizes.  Only ef_legacy_tls_client completes a session with it.
ef_serve_legacy_tls() {
	local where=$1 port=${2:-9443}
	ef_bg "$where" "legacytls-$where-$port" "$EF_PYTHON" "$EF_NETNS_DIR/efserve.py" \
		legacy-tls-server "$port" "$EF_NETNS_DIR/tls/cert.pem" &&
		ef_wait_listen "$where" tcp "$port"
}

# ef_legacy_tls_client WHERE ADDR PORT [SNI]: the other half of the above.
ef_legacy_tls_client() {
	ef_ns_exec "$1" "$EF_PYTHON" "$EF_NETNS_DIR/efserve.py" legacy-tls-client "$2" "$3" "${4:-legacy.test}"
}

# sshd with a throwaway host key; root may log in with the run's client key
# ($EF_NETNS_DIR/ssh/id_ed25519), see ef_ssh.
ef_serve_ssh() {
	local where=$1 port=${2:-22} d=$EF_NETNS_DIR/ssh
	if [ ! -f "$d/id_ed25519" ]; then
		mkdir -p "$d"
		ssh-keygen -q -t ed25519 -N '' -f "$d/host_ed25519" &&
			ssh-keygen -q -t ed25519 -N '' -f "$d/id_ed25519" || return 1
		cp "$d/id_ed25519.pub" "$d/authorized_keys"
	fi
	cat >"$d/sshd-$where-$port.conf" <<-EOF
		Port $port
		ListenAddress 0.0.0.0
		ListenAddress ::
		HostKey $d/host_ed25519
		PidFile none
		AuthorizedKeysFile $d/authorized_keys
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		StrictModes no
	EOF
	# sshd insists on its privilege separation directory.
	mkdir -p /run/sshd
	ef_bg "$where" "sshd-$where-$port" /usr/sbin/sshd -D -e -f "$d/sshd-$where-$port.conf" &&
		ef_wait_listen "$where" tcp "$port"
}

# ef_ssh WHERE ADDR [PORT] CMD...: run CMD as root on the ssh server at ADDR.
ef_ssh() {
	local where=$1 addr=$2 port=22
	shift 2
	[[ ${1:-} =~ ^[0-9]+$ ]] && { port=$1; shift; }
	ef_ns_exec "$where" ssh -F /dev/null -i "$EF_NETNS_DIR/ssh/id_ed25519" -p "$port" \
		-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o LogLevel=ERROR -o ConnectTimeout=5 "root@$addr" "$@"
}

# SMTP that offers STARTTLS and accepts any mail, discarding it.
ef_serve_smtp() {
	local where=$1 port=${2:-25}
	ef_bg "$where" "smtp-$where-$port" "$EF_PYTHON" "$EF_NETNS_DIR/efserve.py" smtp "$port" \
		"$EF_NETNS_DIR/tls/cert.pem" "$EF_NETNS_DIR/tls/key.pem" &&
		ef_wait_listen "$where" tcp "$port"
}

# Plain FTP (pyftpdlib), anonymous with write access, over
# $EF_NETNS_DIR/ftp-WHERE which holds hello.txt; passive ports 30000-30009.
ef_serve_ftp() {
	local where=$1 port=${2:-21} root=$EF_NETNS_DIR/ftp-$1
	"$EF_PYTHON" -c 'import pyftpdlib' 2>/dev/null ||
		{ _ef_error "$EF_PYTHON has no pyftpdlib; apt-get install python3-pyftpdlib"; return 1; }
	mkdir -p "$root"
	head -c 3000 /dev/urandom | base64 >"$root/hello.txt"
	ef_bg "$where" "ftp-$where-$port" "$EF_PYTHON" -m pyftpdlib -i :: -p "$port" -w \
		-r 30000-30009 -d "$root" &&
		ef_wait_listen "$where" tcp "$port"
}

# UDP: answers each datagram that parses as a DNS query with an A record;
# anything else is echoed.
ef_serve_dns() {
	local where=$1 port=${2:-53}
	ef_bg "$where" "dns-$where-$port" "$EF_PYTHON" "$EF_NETNS_DIR/efserve.py" dns "$port" &&
		ef_wait_listen "$where" udp "$port"
}

# TCP: reads until the client shuts its side, then says how much it read.
ef_serve_sink() {
	local where=$1 port=$2
	ef_bg "$where" "sink-$where-$port" "$EF_PYTHON" "$EF_NETNS_DIR/efserve.py" sink "$port" &&
		ef_wait_listen "$where" tcp "$port"
}

# ef_wait_log PID LOG PATTERN [SECONDS=10]: until LOG has a line matching
# PATTERN (grep -E); fails at once when PID has died, or after SECONDS.
ef_wait_log() {
	local tries=$((${4:-10} * 20))
	while ((tries-- > 0)); do
		grep -qE "$3" "$2" 2>/dev/null && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# ef_capture WHERE IFACE FILE [tcpdump args...]: tcpdump in the background
# until ef_capture_stop; returns once it captures.
ef_capture() {
	ef_bg "$1" "tcpdump-$1" tcpdump -i "$2" -w "$3" -U -n -Z root -B 65536 "${@:4}" || return 1
	EF_CAPTURE_PID=$EF_LAST_PID
	ef_wait_log "$EF_CAPTURE_PID" "$EF_NETNS_DIR/log/tcpdump-$1.log" 'listening on' 10 && return 0
	_ef_error "tcpdump did not start on $2 in $1:"
	cat "$EF_NETNS_DIR/log/tcpdump-$1.log" >&2
	return 1
}

# Stops the capture, prints tcpdump's packet counts, and fails if any packet
# the filter took is missing from the file: a capture with holes is not a
# corpus.
ef_capture_stop() {
	local log=$EF_NETNS_DIR/log/tcpdump-$1.log captured received dropped
	# libpcap hands packets over a ring block at a time, and a block is
	# passed on only when full or 1 s old; tcpdump stopped sooner loses the
	# last packets (typically the FINs).
	sleep 1.2
	kill -INT "$EF_CAPTURE_PID" 2>/dev/null
	wait "$EF_CAPTURE_PID" 2>/dev/null || true
	grep -E 'packets (captured|received|dropped)' "$log" >&2
	captured=$(sed -n 's/^\([0-9]*\) packets captured$/\1/p' "$log")
	received=$(sed -n 's/^\([0-9]*\) packets received by filter$/\1/p' "$log")
	dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel$/\1/p' "$log")
	if [ "${dropped:-x}" != 0 ] || [ "${captured:-x}" != "${received:-y}" ]; then
		_ef_error "tcpdump lost packets (captured ${captured:-?} of ${received:-?}, ${dropped:-?} dropped by the kernel)"
		return 1
	fi
}

# ef_marker_packets FILE MARK [blake2b]: how many packets of FILE (a
# capture tcpdump wrote) hold MARK anywhere in their bytes: what the
# red-team tests count at a server to say whether a marker left.  With
# blake2b, the marker is the 16-byte BLAKE2b of MARK (tests/redteam5/
# probe5.py mark_bytes: one the whole-flow check cannot read as text).
ef_marker_packets() {
	"$EF_PYTHON" - "$1" "$2" "${3:-}" <<'PY'
import hashlib, struct, sys
d = open(sys.argv[1], "rb").read(); m = sys.argv[2].encode()
if sys.argv[3] == "blake2b":
    m = hashlib.blake2b(m, digest_size=16).digest()
e = "<" if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
o, n = 24, 0
while o + 16 <= len(d):
    cap = struct.unpack(e + "I", d[o + 8:o + 12])[0]
    n += m in d[o + 16:o + 16 + cap]
    o += 16 + cap
print(n)
PY
}

_ef_write_efserve() {
	cat >"$EF_NETNS_DIR/efserve.py" <<'PY'
"""Small test servers for tests/netns/lib.sh; see the ef_serve_* functions."""
import http.server
import os
import socket
import socketserver
import ssl
import struct
import sys
import threading

CHUNK = os.urandom(65536)


class DualStack:
    address_family = socket.AF_INET6
    allow_reuse_address = True
    daemon_threads = True
    # socketserver's 5 drops the SYNs of a browser's burst of connections
    request_queue_size = 64

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


class TCPServer(DualStack, socketserver.ThreadingTCPServer):
    pass


class HTTPServer(DualStack, http.server.ThreadingHTTPServer):
    pass


class UDPServer(DualStack, socketserver.UDPServer):
    pass


class HTTPHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("http: " + (fmt % args) + "\n")

    def do_GET(self):
        n = 0
        if self.path.startswith("/bytes/"):
            try:
                n = int(self.path[7:])
            except ValueError:
                self.send_error(400, "want /bytes/N")
                return
        body = b"egressfence test server\n" if n == 0 else None
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body) if body else n))
        self.end_headers()
        if body:
            self.wfile.write(body)
            return
        while n > 0:
            k = min(n, len(CHUNK))
            self.wfile.write(CHUNK[:k])
            n -= k

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        got = 0
        while got < n:
            b = self.rfile.read(min(n - got, 65536))
            if not b:
                break
            got += len(b)
        body = ("received %d bytes\n" % got).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_PUT = do_POST


def serve_http(port, args):
    srv = HTTPServer(("::", port), HTTPHandler)
    if args[:1] == ["--tls"]:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args[1], args[2])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


class SMTPHandler(socketserver.StreamRequestHandler):
    def send(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        tls = False
        self.send("220 mail.test ESMTP egressfence test")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line.strip().split(b" ")[0].upper()
            if verb in (b"EHLO", b"HELO"):
                if not tls:
                    self.send("250-mail.test")
                    self.send("250-SIZE 1000000")
                    self.send("250 STARTTLS")
                else:
                    self.send("250-mail.test")
                    self.send("250 SIZE 1000000")
            elif verb == b"STARTTLS" and not tls:
                self.send("220 go ahead")
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(self.server.cert, self.server.key)
                self.request = ctx.wrap_socket(self.request, server_side=True)
                self.rfile = self.request.makefile("rb")
                self.wfile = self.request.makefile("wb")
                tls = True
            elif verb == b"DATA":
                self.send("354 end with .")
                while True:
                    d = self.rfile.readline()
                    if not d or d in (b".\r\n", b".\n"):
                        break
                self.send("250 queued")
            elif verb == b"QUIT":
                self.send("221 bye")
                return
            elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                self.send("250 ok")
            else:
                self.send("502 not implemented")


def serve_smtp(port, args):
    srv = TCPServer(("::", port), SMTPHandler)
    srv.cert, srv.key = args[0], args[1]
    srv.serve_forever()


class DNSHandler(socketserver.BaseRequestHandler):
    def handle(self):
        q, sock = self.request
        # A query: QR clear, one question.  Answer it with 192.0.2.53.
        if len(q) > 12 and not q[2] & 0x80 and struct.unpack("!H", q[4:6])[0] == 1:
            end = 12
            while end < len(q) and q[end]:
                end += 1 + q[end]
            qd = q[12:end + 5]
            hdr = q[:2] + b"\x81\x80" + struct.pack("!HHHH", 1, 1, 0, 0)
            ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 53])
            sock.sendto(hdr + qd + ans, self.client_address)
        else:
            sock.sendto(q, self.client_address)


class SinkHandler(socketserver.BaseRequestHandler):
    def handle(self):
        n = 0
        while True:
            b = self.request.recv(65536)
            if not b:
                break
            n += len(b)
        self.request.sendall(b"read %d bytes\n" % n)


# --- the scripted legacy TLS peer ---------------------------------------

TLS10 = b"\x03\x01"
SUITES = {0x000A: "TLS_RSA_WITH_3DES_EDE_CBC_SHA", 0x0005: "TLS_RSA_WITH_RC4_128_SHA",
          0x0004: "TLS_RSA_WITH_RC4_128_MD5"}


def record(ctype, body):
    return bytes([ctype]) + TLS10 + struct.pack("!H", len(body)) + body


def handshake(htype, body):
    return bytes([htype]) + struct.pack("!I", len(body))[1:] + body


def read_record(f):
    hdr = f.read(5)
    if len(hdr) < 5:
        raise EOFError("peer closed")
    body = f.read(struct.unpack("!H", hdr[3:5])[0])
    return hdr[0], body


def cbc_blob(n):
    """Random bytes standing in for n bytes of plaintext under 3DES-CBC +
    HMAC-SHA1: MAC added, then padded to the 8-byte block."""
    n += 20 + 1
    return os.urandom(n + (-n) % 8)


class LegacyTLSHandler(socketserver.StreamRequestHandler):
    def handle(self):
        ctype, body = read_record(self.rfile)
        if ctype != 22 or body[:1] != b"\x01":
            return
        # client_version(2) random(32) session_id cipher_suites ...
        p = 4 + 2 + 32
        p += 1 + body[p]
        n = struct.unpack("!H", body[p:p + 2])[0]
        offered = [struct.unpack("!H", body[i:i + 2])[0] for i in range(p + 2, p + 2 + n, 2)]
        suite = next((s for s in SUITES if s in offered), None)
        if suite is None:
            self.wfile.write(record(21, b"\x02\x28"))  # fatal handshake_failure
            return
        hello = TLS10 + os.urandom(32) + b"\x20" + os.urandom(32) + struct.pack("!H", suite) + b"\x00"
        hello += struct.pack("!H", 5) + b"\xff\x01\x00\x01\x00"  # renegotiation_info
        der = self.server.cert_der
        certs = struct.pack("!I", len(der))[1:] + der
        flight = handshake(2, hello) + handshake(11, struct.pack("!I", len(certs))[1:] + certs) + handshake(14, b"")
        self.wfile.write(record(22, flight))
        self.wfile.flush()
        # ClientKeyExchange, ChangeCipherSpec, Finished
        for _ in range(3):
            read_record(self.rfile)
        self.wfile.write(record(20, b"\x01") + record(22, cbc_blob(16)))
        self.wfile.flush()
        while True:
            try:
                ctype, body = read_record(self.rfile)
            except EOFError:
                return
            if ctype == 21:
                self.wfile.write(record(21, cbc_blob(2)))
                return
            self.wfile.write(record(23, cbc_blob(1200)))
            self.wfile.flush()


def serve_legacy_tls(port, args):
    srv = TCPServer(("::", port), LegacyTLSHandler)
    with open(args[0]) as f:
        srv.cert_der = ssl.PEM_cert_to_DER_cert(f.read())
    srv.serve_forever()


def legacy_tls_client(host, port, sni):
    s = socket.create_connection((host, port), timeout=5)
    f = s.makefile("rb")
    suites = b"".join(struct.pack("!H", c) for c in SUITES)
    name = sni.encode()
    sni_ext = struct.pack("!H", len(name) + 3) + b"\x00" + struct.pack("!H", len(name)) + name
    exts = struct.pack("!HH", 0, len(sni_ext)) + sni_ext + b"\xff\x01\x00\x01\x00"
    hello = (TLS10 + os.urandom(32) + b"\x00" + struct.pack("!H", len(suites)) + suites
             + b"\x01\x00" + struct.pack("!H", len(exts)) + exts)
    s.sendall(record(22, handshake(1, hello)))
    ctype, body = read_record(f)
    if ctype != 22 or body[:1] != b"\x02":
        sys.exit("legacy-tls-client: no ServerHello (record type %d)" % ctype)
    suite = struct.unpack("!H", body[4 + 2 + 32 + 33:4 + 2 + 32 + 35])[0]
    premaster = os.urandom(256)  # RSA-2048 encrypted pre-master secret
    s.sendall(record(22, handshake(16, struct.pack("!H", 256) + premaster))
              + record(20, b"\x01") + record(22, cbc_blob(16)))
    read_record(f)  # ChangeCipherSpec
    read_record(f)  # Finished
    for _ in range(3):
        s.sendall(record(23, cbc_blob(300)))
        read_record(f)
    s.sendall(record(21, cbc_blob(2)))
    try:
        read_record(f)
    except EOFError:
        pass
    s.close()
    print("TLSv1 %s" % SUITES.get(suite, hex(suite)))


def main():
    mode = sys.argv[1]
    if mode == "legacy-tls-client":
        legacy_tls_client(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return
    port, args = int(sys.argv[2]), sys.argv[3:]
    if mode == "http":
        serve_http(port, args)
    elif mode == "smtp":
        serve_smtp(port, args)
    elif mode == "dns":
        UDPServer(("::", port), DNSHandler).serve_forever()
    elif mode == "sink":
        TCPServer(("::", port), SinkHandler).serve_forever()
    elif mode == "legacy-tls-server":
        serve_legacy_tls(port, args)
    else:
        sys.exit("efserve: unknown mode %r" % mode)


if __name__ == "__main__":
    main()
PY
}

# ef_engine_start TAG ARGS...: runs `$EF_BIN run ARGS...' in the gateway
# namespace; ENGINE is its pid, ENGINE_LOG its log.  Waits (bounded: the
# real database's gate ruleset took 21 s to load under ASan on a busy
# machine) until it says it is running; otherwise prints the log and ends
# the test.
ef_engine_start() {
	ENGINE_LOG=$EF_NETNS_DIR/log/engine-$1.log
	ef_bg gw "engine-$1" "${EF_BIN:?EF_BIN: the egressfence binary}" run "${@:2}"
	ENGINE=$EF_LAST_PID
	ef_wait_log "$ENGINE" "$ENGINE_LOG" "running in" 180 && return 0
	echo "FAIL the engine did not start:"
	sed 's/^/    /' "$ENGINE_LOG"
	exit 1
}

# ef_counters: SIGUSR1 to the engine, and the counters line it printed, in
# COUNTERS (bounded wait).  ef_field NAME: one of its figures.
COUNTERS=""
ef_counters() {
	local before tries=200
	before=$(grep -c 'counters (SIGUSR1)' "$ENGINE_LOG")
	kill -USR1 "$ENGINE"
	while ((tries-- > 0)) && (($(grep -c 'counters (SIGUSR1)' "$ENGINE_LOG") <= before)); do
		sleep 0.05
	done
	COUNTERS=$(grep 'counters (SIGUSR1)' "$ENGINE_LOG" | tail -n 1)
}
ef_field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$COUNTERS"; }

# ef_event_seen SECONDS FILE PATTERN...: within SECONDS, an event line of
# FILE holding every pattern.
ef_event_seen() {
	local tries=$(($1 * 20)) file=$2 p line
	shift 2
	while ((tries-- > 0)); do
		while IFS= read -r line; do
			for p in "$@"; do
				[[ $line == *"$p"* ]] || continue 2
			done
			return 0
		done <"$file"
		sleep 0.05
	done
	return 1
}

# ef_engine_stop: SIGTERM, up to 10 s for it to finish, then SIGKILL.
ef_engine_stop() {
	kill -TERM "$ENGINE" 2>/dev/null
	local tries=200
	while ((tries-- > 0)) && kill -0 "$ENGINE" 2>/dev/null; do sleep 0.05; done
	kill -KILL "$ENGINE" 2>/dev/null
	wait "$ENGINE" 2>/dev/null
}

# --- for the tests/e2e_*.sh that run the engine in these namespaces ---

# ef_skip WHY: the test cannot run here; ctest reports exit 77 as skipped.
ef_skip() { echo "skipped: $*"; exit 77; }

# ef_need_netns TOOL...: a namespace test's preamble.  Skips, saying why,
# unless this is root, ip and nft are installed, a namespace can be made
# and nft works in it, and every TOOL is on PATH.  Then sets bin, src and
# build from ctest's environment, and db to the test country database
# (empty when it is not built: the caller decides whether that skips).
ef_need_netns() {
	local probe=$EF_RUN_ID-probe t
	[ "$(id -u)" = 0 ] || ef_skip "needs root (network namespaces, nftables)"
	command -v ip >/dev/null && command -v nft >/dev/null || ef_skip "needs ip (iproute2) and nft"
	ip netns add "$probe" 2>/dev/null || ef_skip "needs ip netns (cannot create a network namespace)"
	ip netns exec "$probe" nft list tables >/dev/null 2>&1 || { ip netns del "$probe"; ef_skip "nft does not work in a namespace"; }
	ip netns del "$probe"
	for t in "$@"; do
		command -v "$t" >/dev/null || ef_skip "needs $t (scripts/setup installs it)"
	done
	# shellcheck disable=SC2034 # bin, src, build and db are for the test
	bin=${EF_BIN:?EF_BIN: the egressfence binary}
	src=${EF_SOURCE_DIR:?EF_SOURCE_DIR: the source tree}
	build=${EF_BINARY_DIR:?EF_BINARY_DIR: the build tree}
	db=$build/tests/data/test-iplocation.mmdb
	[ -f "$db" ] || db=""
}

# ef_test_up: the namespaces, torn down on any exit; D is their folder.
# passed and failed count the checks ok and bad report; bad also shows the
# engine's last log lines, and calls ef_on_bad when the test defines it.
ef_test_up() {
	ef_netns_trap
	ef_netns_up || { echo "FAIL cannot set up the namespaces"; exit 1; }
	D=$EF_NETNS_DIR
	passed=0
	failed=0
}

ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() {
	echo "FAIL $*"
	failed=$((failed + 1))
	[ -n "${ENGINE_LOG:-}" ] && tail -n 5 "$ENGINE_LOG" | sed 's/^/    engine: /'
	declare -F ef_on_bad >/dev/null && ef_on_bad
	return 0
}

# ef_retrans NS: TCP segments the stack of namespace NS retransmitted
# (/proc/net/snmp; IPv4 and IPv6 share the TCP counters).
ef_retrans() {
	ef_ns_exec "$1" awk '/^Tcp:/ && !h { for (i = 1; i <= NF; i++) if ($i == "RetransSegs") c = i; h = 1; next }
		/^Tcp:/ { print $c }' /proc/net/snmp
}

# ef_test_done NAME: the summary line; the test's exit status.
ef_test_done() {
	echo "$1: $passed passed, $failed failed (${SECONDS}s)"
	((failed == 0))
}

# ef_policy FILE KEY=VALUE...: writes a gateway policy for these
# namespaces (see docs/configuration.md for each key):
#   place="cn:CN us:US"   networks.overrides: each server's network in a
#                         country (place6=... does the same for IPv6)
#   inside=v4             networks.internal without fc00::/7
#   groups="designated:CN,RU conforming:US"
#   capture="cn0 us0"     capture.interfaces
#   mode=gate nflog=N decide=S fail_open=BOOL flowtable="in0 us0" release=BOOL
#   rules="designated-cleartext:block designated-any:log"  from these:
#     designated-cleartext   to @designated, cleartext, weak or unknown, 1 byte out
#     nonconforming-cleartext to !@conforming, cleartext or weak, 1 byte out
#     any other NAME         to @designated, whatever the encryption
#   tail=TEXT             appended as it is (an output: section, say)
# geodb.country is $db; default: allow.
ef_policy() {
	local file=$1 kv k v r name action g place="" place6="" inside=v46 groups="" capture=""
	local mode=gate nflog="" decide="" fail_open="" flowtable="" rules="" tail="" release=""
	shift
	for kv in "$@"; do
		k=${kv%%=*} v=${kv#*=}
		case $k in
		place | place6 | inside | groups | capture | mode | nflog | decide | fail_open | flowtable | rules | tail | release)
			printf -v "$k" '%s' "$v" ;;
		*) _ef_error "ef_policy: unknown key \`$k'"; return 1 ;;
		esac
	done
	{
		echo "geodb:"
		echo "  country: ${db:?ef_policy: no db}"
		echo "networks:"
		[ "$inside" = v4 ] && echo "  internal: [10.0.0.0/8]" || echo '  internal: [10.0.0.0/8, "fc00::/7"]'
		echo "  overrides:"
		for r in $place; do
			echo "    - { cidr: ${EF_NET4[${r%%:*}]}, country: ${r#*:} }"
			[[ " $place6 " == *" $r "* ]] && echo "    - { cidr: \"${EF_NET6[${r%%:*}]}\", country: ${r#*:} }"
		done
		echo "groups:"
		for g in $groups; do
			echo "  ${g%%:*}: [${g#*:}]" | sed 's/,/, /g'
		done
		[ -n "$capture" ] && echo "capture:" && echo "  interfaces: [${capture// /, }]"
		[ -n "$fail_open" ] && echo "fail_open: $fail_open"
		echo "gateway:"
		echo "  mode: $mode"
		[ -n "$nflog" ] && echo "  nflog_group: $nflog"
		[ -n "$decide" ] && echo "  decide_within: $decide"
		[ -n "$flowtable" ] && echo "  flowtable: [${flowtable// /, }]"
		[ -n "$release" ] && echo "  release_held: $release"
		echo "rules:"
		for r in $rules; do
			name=${r%%:*} action=${r#*:}
			echo "  - name: $name"
			case $name in
			designated-cleartext)
				printf '    to: "@designated"\n    encryption: [cleartext, weak, unknown]\n    min_bytes_out: 1\n' ;;
			nonconforming-cleartext)
				printf '    to: "!@conforming"\n    encryption: [cleartext, weak]\n    min_bytes_out: 1\n' ;;
			*) echo '    to: "@designated"' ;;
			esac
			echo "    action: $action"
		done
		echo "default: allow"
		[ -z "$tail" ] || echo "$tail"
	} >"$file"
}
