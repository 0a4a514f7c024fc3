#!/usr/bin/env bash
# tests/e2e_pcapng.sh -- a pcapng file is read whole, whatever its
# interfaces: several interfaces with different snapshot lengths, link
# types and time resolutions, and several sections of either byte order
# (what a capture on "any" or on several interfaces at once writes).
# libpcap 1.10 stopped at the second interface description that differs
# from the first ("an interface has a snapshot length ... different") and
# lost the rest of the file.
#
# The pcapng file is made here from four of gen_evasion's captures, each on
# an interface of its own; its audit must give exactly the events of the
# four captures audited one by one (the capture file's name aside).
set -uo pipefail

bin=${EF_BIN:?EF_BIN: the egressfence binary}
src=${EF_SOURCE_DIR:?EF_SOURCE_DIR: the source tree}
build=${EF_BINARY_DIR:?EF_BINARY_DIR: the build tree}
gen=${EF_GEN_EVASION:-$build/tests/gen_evasion}
policy=$src/tests/data/evasion-policy.yaml
dir=$build/tests/pcapng

command -v jq >/dev/null || { echo "e2e_pcapng: jq is not installed (scripts/setup installs it)"; exit 77; }
command -v python3 >/dev/null || { echo "e2e_pcapng: python3 is needed to write the pcapng file"; exit 77; }
[ -x "$gen" ] || { echo "e2e_pcapng: $gen is not built"; exit 1; }
rm -rf "$dir"
mkdir -p "$dir/pcaps"
"$gen" "$dir/pcaps" || exit 1
cases=(http-on-443 tunnel-vlan smtp-starttls-refused ftp-high-port)

# Section 1 (little-endian): interface 0 Ethernet, snaplen 65535, times in
# microseconds; interface 1 Ethernet, snaplen 262144, nanoseconds, after a
# first packet of interface 0; interface 2 raw IP (LINKTYPE_RAW), snaplen
# 0 (none), 2^-20 s.  Section 2 (big-endian): Ethernet, snaplen 9000, with a
# name resolution block to skip.  The four captures' frames are
# interleaved.
python3 - "$dir" "${cases[@]}" <<'PY'
import struct, sys
d, names = sys.argv[1], sys.argv[2:]

def frames(name):
    data = open('%s/pcaps/%s.pcap' % (d, name), 'rb').read()
    out, off = [], 24
    while off + 16 <= len(data):
        sec, usec, caplen, _ = struct.unpack('<IIII', data[off:off + 16])
        out.append((sec * 1000000 + usec, data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return out

def block(e, btype, body):
    body += b'\0' * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack(e + 'II', btype, n) + body + struct.pack(e + 'I', n)

def option(e, code, value):
    return struct.pack(e + 'HH', code, len(value)) + value + b'\0' * (-len(value) % 4)

def shb(e):
    return block(e, 0x0A0D0D0A, struct.pack(e + 'IHHq', 0x1A2B3C4D, 1, 0, -1))

def idb(e, linktype, snaplen, tsresol=None):
    opts = option(e, 9, bytes([tsresol])) + option(e, 0, b'') if tsresol is not None else b''
    return block(e, 1, struct.pack(e + 'HHI', linktype, 0, snaplen) + opts)

def epb(e, iface, ticks, data):
    return block(e, 6, struct.pack(e + 'IIIII', iface, ticks >> 32, ticks & 0xffffffff, len(data), len(data)) + data)

a, b, c, f = (frames(n) for n in names)
le, be = '<', '>'
out = shb(le) + idb(le, 1, 65535)
out += epb(le, 0, a[0][0], a[0][1])
out += idb(le, 1, 262144, 9) + idb(le, 101, 0, 0x80 | 20)
rest = [(t, 0, t, x) for t, x in a[1:]] + [(t, 1, t * 1000, x) for t, x in b] + \
       [(t, 2, -((-t << 20) // 1000000), x[14:]) for t, x in c]
for _, iface, ticks, data in sorted(rest, key=lambda r: r[0]):
    out += epb(le, iface, ticks, data)
out += shb(be) + idb(be, 1, 9000) + block(be, 4, struct.pack(be + 'HH', 0, 0))
for t, x in f:
    out += epb(be, 0, t, x)
open(d + '/mixed.pcapng', 'wb').write(out)
PY

failed=0
"$bin" audit --config "$policy" --json "$dir/mixed.json" "$dir/mixed.pcapng" >"$dir/mixed.out" 2>"$dir/mixed.err"
rc=$?
frames=0
for name in "${cases[@]}"; do
	"$bin" audit --config "$policy" --json "$dir/$name.json" "$dir/pcaps/$name.pcap" >"$dir/$name.out" 2>&1
	frames=$((frames + $(sed -n 's/^egressfence audit of 1 path: \([0-9]*\) frames.*/\1/p' "$dir/$name.out")))
done
if [ "$rc" != 1 ] || [ -s "$dir/mixed.err" ]; then
	echo "FAIL the pcapng file: exit $rc (expected 1: flows blocked), stderr:"
	sed 's/^/    /' "$dir/mixed.err" | head -5
	failed=1
fi
if ! grep -q "^egressfence audit of 1 path: $frames frames, $frames IP packets, 4 flows" "$dir/mixed.out"; then
	echo "FAIL the pcapng file: not all $frames frames of the four captures were read:"
	head -2 "$dir/mixed.out" | sed 's/^/    /'
	failed=1
fi
# The same events, each one's fields, timestamps included (three time
# resolutions, an offset-free conversion to microseconds).
jq -cS 'del(.capture_file)' "$dir/mixed.json" | sort >"$dir/mixed.events"
for name in "${cases[@]}"; do jq -cS 'del(.capture_file)' "$dir/$name.json"; done | sort >"$dir/separate.events"
if ! cmp -s "$dir/mixed.events" "$dir/separate.events"; then
	echo "FAIL the pcapng file's events differ from those of its four captures read one by one:"
	diff "$dir/separate.events" "$dir/mixed.events" | head -10 | cut -c1-300 | sed 's/^/    /'
	failed=1
fi
if [ "$(jq -s 'map(select(.verdict == "block")) | length' "$dir/mixed.json")" != 4 ]; then
	echo "FAIL the pcapng file: expected its four flows blocked"
	failed=1
fi

# A block cut short is a damaged file: what came before it is kept, the
# warning gives the block's offset, and the exit is 2.
size=$(stat -c %s "$dir/mixed.pcapng")
head -c $((size - 10)) "$dir/mixed.pcapng" >"$dir/cut.pcapng"
"$bin" audit --config "$policy" --json "$dir/cut.json" "$dir/cut.pcapng" >"$dir/cut.out" 2>"$dir/cut.err"
rc=$?
if [ "$rc" != 2 ] || ! grep -Eq "warning: $dir/cut.pcapng: stopped reading at byte [0-9]+: truncated block of type 6" "$dir/cut.err" ||
	[ "$(jq -s length "$dir/cut.json")" != 4 ]; then
	echo "FAIL a pcapng file cut in its last block: exit $rc, $(head -1 "$dir/cut.err"), $(jq -s length "$dir/cut.json") events"
	failed=1
fi

if [ "$failed" = 0 ]; then
	echo "ok   a pcapng file with 4 interfaces (snaplens 65535, 262144, none, 9000; 3 link and time types) in 2 sections: $frames frames, the events of its captures read one by one"
	echo "ok   a pcapng file cut in its last block: the frames before it judged, exit 2 with the offset"
fi
exit $failed
