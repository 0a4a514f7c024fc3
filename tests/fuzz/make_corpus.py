#!/usr/bin/env python3
"""tests/fuzz/make_corpus.py -- seed corpora for the libFuzzer harnesses,
written at run time (by .ci/fuzz.sh) and never committed.

  make_corpus.py OUTDIR [PCAP-DIR] [CONFIG...]

OUTDIR/packet/   frames of real captures (pcap and pcapng, from PCAP-DIR,
                 default ../shared/pcaps/ndpi) in fuzz_packet.c's format:
                 a link-type byte, then frames with 2-byte length headers;
                 consecutive frames of one capture per seed, so that seeds
                 hold whole handshakes and fragment runs.
OUTDIR/pcapng/   the pcapng files of PCAP-DIR as they are, cut to 16 KiB
                 (fuzz_pcapng.c reads whole files).
OUTDIR/policy/   the configuration files given (policy/*.yaml and the test
                 configurations), as they are.
OUTDIR/logchain/ filled by .ci/fuzz.sh with a chained log the build writes.
"""
import os
import struct
import sys

# libpcap LINKTYPE_* -> index in fuzz_packet.c's link_types[]
LINK_INDEX = {1: 0, 101: 1, 12: 1, 14: 1, 228: 1, 229: 1, 113: 2, 276: 3,
              0: 4, 108: 5, 9: 6, 239: 7}
FRAMES_PER_SEED = 12
SEEDS_PER_CAPTURE = 4
MAX_FRAME = 4096
MAX_SEED = 16384


def read_pcap(data):
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        e = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '>'
    else:
        return None, []
    linktype = struct.unpack(e + 'I', data[20:24])[0] & 0xffff
    frames, off = [], 24
    while off + 16 <= len(data):
        caplen = struct.unpack(e + 'I', data[off + 8:off + 12])[0]
        off += 16
        if caplen > len(data) - off:
            break
        frames.append(data[off:off + caplen])
        off += caplen
    return linktype, frames


def read_pcapng(data):
    """Frames of the first interface's link type (others are dropped)."""
    e, off, links, frames, linktype = '<', 0, [], [], None
    while off + 12 <= len(data):
        btype = struct.unpack(e + 'I', data[off:off + 4])[0]
        if btype == 0x0A0D0D0A:  # section header: its byte order
            e = '<' if data[off + 8:off + 12] == b'\x4d\x3c\x2b\x1a' else '>'
            links = []
        blen = struct.unpack(e + 'I', data[off + 4:off + 8])[0]
        if blen < 12 or off + blen > len(data):
            break
        body = data[off + 8:off + blen - 4]
        if btype == 1 and len(body) >= 8:
            links.append(struct.unpack(e + 'H', body[:2])[0])
            if linktype is None:
                linktype = links[0]
        elif btype == 6 and len(body) >= 20:
            iface, _, _, caplen, _ = struct.unpack(e + 'IIIII', body[:20])
            if iface < len(links) and links[iface] == linktype:
                frames.append(body[20:20 + caplen])
        elif btype == 3 and len(body) >= 4 and links and links[0] == linktype:
            frames.append(body[4:])
        off += blen
    return linktype, frames


def packet_seeds(pcap_dir, out):
    n = 0
    for name in sorted(os.listdir(pcap_dir)):
        path = os.path.join(pcap_dir, name)
        if not os.path.isfile(path):
            continue
        data = open(path, 'rb').read()
        if data[:4] == b'\x0a\x0d\x0d\x0a':
            with open(os.path.join(out, '..', 'pcapng', name), 'wb') as fh:
                fh.write(data[:MAX_SEED])
            linktype, frames = read_pcapng(data)
        else:
            linktype, frames = read_pcap(data)
        if linktype not in LINK_INDEX or not frames:
            continue
        for s in range(SEEDS_PER_CAPTURE):
            chunk = frames[s * FRAMES_PER_SEED:(s + 1) * FRAMES_PER_SEED]
            if not chunk:
                break
            seed = bytearray([LINK_INDEX[linktype]])
            for f in chunk:
                f = f[:MAX_FRAME]
                if len(seed) + 2 + len(f) > MAX_SEED:
                    break
                seed += struct.pack('>H', len(f)) + f
            with open(os.path.join(out, '%s-%d' % (name, s)), 'wb') as fh:
                fh.write(seed)
            n += 1
    return n


def main():
    if len(sys.argv) < 2:
        sys.exit('usage: make_corpus.py OUTDIR [PCAP-DIR] [CONFIG...]')
    out = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    pcap_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, '../../../shared/pcaps/ndpi')
    for sub in ('packet', 'pcapng', 'policy', 'logchain'):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    n = packet_seeds(pcap_dir, os.path.join(out, 'packet')) if os.path.isdir(pcap_dir) else 0
    if not n:
        print('make_corpus: no captures in %s: packet corpus starts empty' % pcap_dir, file=sys.stderr)
    m = 0
    for cfg in sys.argv[3:]:
        with open(cfg, 'rb') as src, open(os.path.join(out, 'policy', os.path.basename(cfg)), 'wb') as dst:
            dst.write(src.read())
        m += 1
    print('make_corpus: %d packet seeds, %d policy seeds in %s' % (n, m, out))


if __name__ == '__main__':
    main()
