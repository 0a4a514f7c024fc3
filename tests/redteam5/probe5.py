#!/usr/bin/env python3
"""Raw senders for the fifth red-team pass (gate mode's release of held
segments; tests/e2e_redteam5.sh), run in the client namespace.

usage: probe5.py KIND SRC DST MARK COUNT [SPORT]

Each KIND opens a real HTTPS connection to DST:443 (the engine allows it:
encrypted, `designated-any' logs), waits until the allow is in the
kernel, then sends COUNT crafted segments at the connection's sequence
numbers, each carrying MARK, and prints "sent N".  SRC/DST are IPv4 or
IPv6 addresses (by their form)."""
import hashlib, os, socket, struct, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "redteam3"))
from gate_probe import csum, https_request  # noqa: E402  (round 3's, one copy)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "redteam4"))
from gate_probe4 import last_seq  # noqa: E402  (round 4's, one copy)


def https_conn(af, src, dst, sport):
    """A real HTTPS request from SPORT, left open past the verdict (round
    3's https_request), and where its sequence numbers stand."""
    c, sn = https_request(af, src, dst, sport, wait=1.5)
    seq, ack = last_seq(sn, af == socket.AF_INET6, src, sport)
    print("seq", seq, "ack", ack, flush=True)
    return c, seq, ack


def tcp_seg(af, S, D, sport, dport, seq, ack, flags, payload, opt=b"", bad_sum=False):
    t = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff,
                    (5 + len(opt) // 4) << 4, flags, 64240, 0, 0) + opt + payload
    if af == socket.AF_INET:
        ph = S + D + struct.pack("!BBH", 0, 6, len(t))
    else:
        ph = S + D + struct.pack("!IxxxB", len(t), 6)
    s = csum(ph + t)
    if bad_sum:
        s ^= 0x5a5a
    return t[:16] + struct.pack("!H", s) + t[18:]


def ip_hdr(af, S, D, proto, plen, ident=0, frag=0):
    if af == socket.AF_INET:
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + plen, ident & 0xffff, frag, 64, proto, 0, S, D)
        return h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return struct.pack("!IHBB", 0x60000000, plen, proto, 64) + S + D


def mark_bytes(mark):
    """MARK as 16 bytes that look random (BLAKE2b of it): a marker the
    continuous check cannot read.  The same readable marker in every record
    is, rightly, text inside TLS records to it: the control's flow was
    rejudged and blocked after its third or fourth record, and whether its
    last records passed raced with that block (tests/netns/lib.sh
    ef_marker_packets ... blake2b counts these)."""
    return hashlib.blake2b(mark.encode(), digest_size=16).digest()


def tls_record(mark, n):
    """A TLS 1.2/1.3 application-data record of N random bytes with MARK in
    it (mark_bytes): what the continuous check lets through on an allowed
    flow."""
    body = os.urandom(n - 5)
    m = mark_bytes(mark)
    body = body[:40] + m + body[40 + len(m):]
    return b"\x17\x03\x03" + struct.pack("!H", len(body)) + body


def text_payload(mark, n):
    t = (mark + " CONFIDENTIAL rotor blade alloy spec rev 7 ").encode()
    return (t * (n // len(t) + 1))[:n]


def tls_tail(af, src, dst, sport, mark, tail):
    """TLS through a MemoryBIO over our own TCP socket: the flight that
    carries the client's first protected record (CCS, Finished) goes out
    in one send with TAIL after it -- the segment the gate holds and the
    engine judges, and releases, whole."""
    import ssl
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    o = ctx.wrap_bio(inc, out, server_hostname="x")
    t = socket.socket(af); t.bind((src, sport)); t.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t.connect((dst, 443)); t.settimeout(float(os.environ.get("EF_PROBE_TIMEOUT", "3")))
    while True:
        try:
            o.do_handshake(); break
        except ssl.SSLWantReadError:
            pending = out.read()
            if pending: t.sendall(pending)
            d = t.recv(65536)
            if not d: raise SystemExit("server closed")
            inc.write(d)
    flight = out.read()
    print("flight", len(flight), "tail", len(tail), flush=True)
    t.sendall(flight + tail)
    time.sleep(3)
    t.close()


def main():
    kind, src, dst, mark, count = sys.argv[1:6]
    count = int(count)
    sport = int(sys.argv[6]) if len(sys.argv) > 6 else 41500
    af = socket.AF_INET6 if ":" in dst else socket.AF_INET
    S, D = socket.inet_pton(af, src), socket.inet_pton(af, dst)
    if kind == "tail-text":   # plain text after the first protected record
        tls_tail(af, src, dst, sport, mark, text_payload(mark, count))
        print("sent 1", flush=True)
        return
    if kind == "tail-rec":    # the control's shape: a random record after it
        tls_tail(af, src, dst, sport, mark, tls_record(mark, count))
        print("sent 1", flush=True)
        return
    c, seq, ack = https_conn(af, src, dst, sport)
    r = socket.socket(af, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sent = 0
    for i in range(count):
        if kind in ("badsum", "goodsum"):
            # a record at the stream's next bytes, its TCP checksum wrong
            # (badsum) or right (goodsum, the control: passes, allowed)
            pl = tls_record(mark, 1000)
            seg = tcp_seg(af, S, D, sport, 443, seq + i * len(pl), ack, 0x18, pl, bad_sum=kind == "badsum")
            r.sendto(ip_hdr(af, S, D, 6, len(seg), 9100 + i) + seg, (dst, 0))
        elif kind == "badsum-text":
            pl = text_payload(mark, 1000)
            seg = tcp_seg(af, S, D, sport, 443, seq + i * len(pl), ack, 0x18, pl, bad_sum=True)
            r.sendto(ip_hdr(af, S, D, 6, len(seg), 9200 + i) + seg, (dst, 0))
        elif kind == "badopt":
            # payload behind a TCP option of no layout stacks send (text):
            # held at forward, and again at output
            pl = tls_record(mark, 600)
            opt = bytes([253, 20]) + text_payload(mark, 18)
            seg = tcp_seg(af, S, D, sport, 443, seq + i * len(pl), ack, 0x18, pl, opt=opt)
            r.sendto(ip_hdr(af, S, D, 6, len(seg), 9300 + i) + seg, (dst, 0))
        elif kind == "badsum-frag":
            # one 3000-byte record, bad TCP checksum, in two IPv4 fragments:
            # the gateway reassembles it, the copy is one 3040-byte datagram
            pl = tls_record(mark, 3000)
            seg = tcp_seg(af, S, D, sport, 443, seq + i * len(pl), ack, 0x18, pl, bad_sum=True)
            for off in range(0, len(seg), 1480):
                part = seg[off:off + 1480]
                more = 0x2000 if off + 1480 < len(seg) else 0
                r.sendto(ip_hdr(af, S, D, 6, len(part), 9400 + i, more | off // 8) + part, (dst, 0))
        elif kind == "dstopt":
            # IPv6: payload behind a Destination Options header of text
            pl = tls_record(mark, 600)
            seg = tcp_seg(af, S, D, sport, 443, seq + i * len(pl), ack, 0x18, pl)
            t = text_payload(mark, 46)
            do = bytes([6, 5, 0x1e, len(t)]) + t   # PadN-like unknown option 0x1e, 48 bytes in all
            r.sendto(ip_hdr(af, S, D, 60, len(do) + len(seg)) + do + seg, (dst, 0))
        else:
            sys.exit("unknown kind " + kind)
        sent += 1
        time.sleep(0.05)
    print("sent", sent, flush=True)
    time.sleep(1)
    c.close()


if __name__ == "__main__":
    main()
