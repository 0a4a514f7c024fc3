#!/usr/bin/env python3
"""Rewrite gen_red3's geneve-base / gtpu-base captures: the client's tunnel
headers (Geneve options, GTP-U extension headers) carry text.
usage: tunnel_opts.py geneve|gtpu IN.pcap OUT.pcap"""
import struct, sys

TEXT = (b"CONFIDENTIAL: rotor blade alloy spec, rev 7. Leading edge to 0.02 mm, "
        b"heat-treated at 1040 C for four hours, shot-peened on both faces.\r\n") * 40
pos = 0

def text(n):
    global pos
    t = (TEXT[pos:] + TEXT)[:n]
    pos = (pos + n) % (len(TEXT) // 40)
    return t

def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

def rewrite(kind, frame):
    if kind == "gre" and frame[12:14] == b"\x08\x00" and frame[23] == 47 and frame[26:30] == bytes([10, 9, 0, 2]):
        ip = bytearray(frame[14:34]); gre = frame[34:42]; inner = frame[42:]
        # RFC 1701: C and R bits, checksum+offset word, key, then SREs:
        # four IPv4 SREs (af 0x0800) of 252 bytes of text, then the NULL SRE.
        sre = b"".join(struct.pack("!HBB", 0x0800, 0, 252) + text(252) for _ in range(4)) + b"\0\0\0\0"
        hdr = struct.pack("!HH", 0x6000, struct.unpack("!H", gre[2:4])[0]) + b"\0\0\0\0" + gre[4:8]
        body = hdr + sre + inner
        ip[2:4] = struct.pack("!H", 20 + len(body)); ip[10:12] = b"\0\0"
        ip[10:12] = struct.pack("!H", csum(bytes(ip)))
        return frame[:14] + bytes(ip) + body
    if frame[12:14] != b"\x08\x00" or frame[23] != 17: return frame
    ip = frame[14:34]
    if ip[12:16] != bytes([10, 9, 0, 2]): return frame      # client's side only
    udp = frame[34:42]
    dport = struct.unpack("!H", udp[2:4])[0]
    body = frame[42:]
    if kind == "geneve" and dport == 6081:
        optlen = (body[0] & 0x3f) * 4
        inner = body[8 + optlen:]
        opts = struct.pack("!HBB", 0x0103, 0x01, 31) + text(124)   # 128 bytes
        opts += struct.pack("!HBB", 0x0103, 0x02, 30) + text(120)  # 124 bytes
        hdr = bytes([len(opts) // 4]) + body[1:8]
        body = hdr + opts + inner
    elif kind == "gtpu" and dport == 2152:
        # 8 mandatory + 4 (seq, npdu, next ext) + the generator's 4-byte ext
        inner = body[16:]
        ext = bytes([255]) + text(255 * 4 - 2) + b"\x00"            # 1020 bytes
        hdr = bytearray(body[:12]); hdr[11] = 0x85
        gt = bytes(hdr) + ext
        gt = gt[:2] + struct.pack("!H", len(gt) - 8 + len(inner)) + gt[4:]
        body = gt + inner
    else:
        return frame
    udp = udp[:4] + struct.pack("!H", 8 + len(body)) + b"\0\0"
    ip = bytearray(ip); ip[2:4] = struct.pack("!H", 20 + 8 + len(body)); ip[10:12] = b"\0\0"
    ip[10:12] = struct.pack("!H", csum(bytes(ip)))
    return frame[:14] + bytes(ip) + udp + body

def main():
    kind, src, dst = sys.argv[1:4]
    d = open(src, "rb").read()
    out = [d[:24]]; i = 24
    while i < len(d):
        ts, tu, cl, ol = struct.unpack("<IIII", d[i:i + 16])
        f = rewrite(kind, d[i + 16:i + 16 + cl]); i += 16 + cl
        out.append(struct.pack("<IIII", ts, tu, len(f), len(f)) + f)
    open(dst, "wb").write(b"".join(out))

main()
