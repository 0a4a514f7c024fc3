#!/usr/bin/env python3
"""Insert an IPv6 routing header (type 0, 2 or 3, segments left 1) whose
address is the CN server 2001:db8:86::10 in the client's packets of
gen_red3's v6-http-base capture.  usage: v6_rh.py TYPE IN.pcap OUT.pcap"""
import struct, sys, socket
CN = socket.inet_pton(socket.AF_INET6, "2001:db8:86::10")
CLI = socket.inet_pton(socket.AF_INET6, "fd00::2")

def rewrite(t, f):
    if f[12:14] != b"\x86\xdd" or f[22:38] != CLI: return f
    ip = bytearray(f[14:54]); nh = ip[6]; pl = f[54:]
    if t == 0:
        rh = bytes([nh, 2, 0, 1]) + b"\0\0\0\0" + CN
    elif t == 2:
        rh = bytes([nh, 2, 2, 1]) + b"\0\0\0\0" + CN
    else:  # RPL source route (RFC 6554), CmprI=CmprE=0, one address
        rh = bytes([nh, 2, 3, 1, 0, 0, 0, 0]) + CN
    ip[6] = 43; ip[4:6] = struct.pack("!H", len(rh) + len(pl))
    # TCP checksum uses the final destination: fix it
    tcp = bytearray(pl); tcp[16:18] = b"\0\0"
    ps = bytes(ip[8:24]) + CN + struct.pack("!IxxxB", len(tcp), 6) + bytes(tcp)
    if len(ps) % 2: ps += b"\0"
    s = sum(struct.unpack("!%dH" % (len(ps) // 2), ps))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    tcp[16:18] = struct.pack("!H", ~s & 0xffff)
    return f[:14] + bytes(ip) + rh + bytes(tcp)

t = int(sys.argv[1]); d = open(sys.argv[2], "rb").read(); out = [d[:24]]; i = 24
while i < len(d):
    ts, tu, cl, ol = struct.unpack("<IIII", d[i:i + 16])
    f = rewrite(t, d[i + 16:i + 16 + cl]); i += 16 + cl
    out.append(struct.pack("<IIII", ts, tu, len(f), len(f)) + f)
open(sys.argv[3], "wb").write(b"".join(out))
