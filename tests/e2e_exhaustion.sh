#!/usr/bin/env bash
# tests/e2e_exhaustion.sh -- a flood of unique flows keeps memory under the
# flow table's bound, and every flow pushed out early is counted, reported
# and still gets its event; segments held out of order cost a bounded
# amount per connection, however a sender overlaps them.
#
# The flood is 2,000,000 SYNs of distinct flows, 1 us apart (so none ends by
# timeout), generated into the build tree and removed afterwards (112 MB).
# It is audited with --max-flows 65536.
#
# The memory bound, and why: peak RSS must not depend on how many flows the
# input holds, only on --max-flows.  So the flood is compared with a run of
# exactly 65,536 such flows (the table full, nothing evicted): the flood may
# use at most 25% + 16 MiB more (allocator noise; 2M flows without the bound
# would need about 30 times more, ~1.9 KiB of undecided-flow state each).
# And in absolute terms at most 256 MiB: measured here ~25 MiB for the
# program with nDPI loaded plus ~1.9 KiB per undecided flow (the flow slot,
# nDPI's per-flow state, two empty stream headers) x 65,536 = ~145 MiB;
# 256 MiB leaves room for another allocator or nDPI build, and is still an
# order of magnitude below what an unbounded table would reach.
set -uo pipefail

bin=${EF_BIN:?EF_BIN: the egressfence binary}
src=${EF_SOURCE_DIR:?EF_SOURCE_DIR: the source tree}
build=${EF_BINARY_DIR:?EF_BINARY_DIR: the build tree}
gen=${EF_GEN_EVASION:-$build/tests/gen_evasion}
gen_workers=${EF_GEN_WORKERS:-$build/tests/gen_workers}
policy=$src/tests/data/evasion-policy.yaml
dir=$build/tests/exhaustion
flows=${EF_FLOOD_FLOWS:-2000000}
bound=65536
abs_limit_kib=$((256 * 1024))

[ -x /usr/bin/time ] || { echo "e2e_exhaustion: /usr/bin/time is not installed (package time)"; exit 77; }
command -v jq >/dev/null || { echo "e2e_exhaustion: jq is not installed"; exit 77; }
[ -x "$gen" ] || { echo "e2e_exhaustion: $gen is not built"; exit 1; }
[ -x "$gen_workers" ] || { echo "e2e_exhaustion: $gen_workers is not built"; exit 1; }

# Under AddressSanitizer freed memory waits in a quarantine (256 MB by
# default) before reuse, which would look like growth: turn it off for the
# measurement.  ASan's redzones also inflate every allocation, so only the
# relative bound is checked there.
asan=no
if grep -qa __asan_init "$bin"; then
	asan=yes
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0
fi

rm -rf "$dir"
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
failed=0
fail() {
	echo "FAIL $*"
	failed=$((failed + 1))
}

"$gen" --syn-flood "$flows" "$dir/flood.pcap" || { echo "e2e_exhaustion: generating the flood failed"; exit 1; }
"$gen" --syn-flood "$bound" "$dir/full.pcap" || exit 1

# audit NAME PCAP [ARGS...]: summary in NAME.out, peak RSS (KiB) in NAME.rss
audit() {
	local name=$1 pcap=$2 rc
	shift 2
	/usr/bin/time -f %M -o "$dir/$name.rss" "$bin" audit --config "$policy" --max-flows "$bound" "$@" "$pcap" \
		>"$dir/$name.out" 2>"$dir/$name.err"
	rc=$?
	# Every flood flow goes to CN with no payload: designated-any, log.
	[ "$rc" = 1 ] || { fail "$name: exit $rc, expected 1"; sed 's/^/    /' "$dir/$name.err" | head; }
}

audit full "$dir/full.pcap"
start=$(date +%s%N)
audit flood "$dir/flood.pcap"
ms=$((($(date +%s%N) - start) / 1000000))
full_rss=$(tail -1 "$dir/full.rss")
flood_rss=$(tail -1 "$dir/flood.rss")
echo "peak RSS: $full_rss KiB for $bound flows, $flood_rss KiB for $flows flows (audited in $ms ms)"

limit=$((full_rss + full_rss / 4 + 16 * 1024))
[ "$flood_rss" -le "$limit" ] ||
	fail "memory grew with the input: $flood_rss KiB for $flows flows, at most $limit KiB allowed ($full_rss KiB with the table just full)"
[ "$asan" = yes ] || [ "$flood_rss" -le "$abs_limit_kib" ] ||
	fail "peak RSS $flood_rss KiB is over the $abs_limit_kib KiB bound for --max-flows $bound"

# Every flow beyond the bound was ended by eviction (none could time out),
# and the summary says how many.
evicted=$((flows - bound))
grep -q "^egressfence audit of 1 path: $flows frames, $flows IP packets, $flows flows ($evicted ended early by the flow table bound)\$" "$dir/flood.out" ||
	fail "the summary does not report $evicted evictions: $(head -1 "$dir/flood.out")"
grep -q "^verdicts: 0 block, $flows log, 0 allow\$" "$dir/flood.out" ||
	fail "not every flow was judged: $(sed -n 2p "$dir/flood.out")"
grep -q "ended early" "$dir/full.out" &&
	fail "a table exactly full evicted flows: $(head -1 "$dir/full.out")"

# An evicted flow still gets its event, marked: 1000 flows through a table
# of 16 leave 984 events with "evicted": true, and 1000 events in all.
"$gen" --syn-flood 1000 "$dir/small.pcap" || exit 1
"$bin" audit --config "$policy" --max-flows 16 --json "$dir/small.json" "$dir/small.pcap" >"$dir/small.out" 2>&1
n_events=$(jq -s length "$dir/small.json")
n_evicted=$(jq -s '[.[] | select(.evicted == true)] | length' "$dir/small.json")
[ "$n_events" = 1000 ] || fail "1000 flows through a table of 16 gave $n_events events"
[ "$n_evicted" = 984 ] || fail "1000 flows through a table of 16: $n_evicted events marked evicted, expected 984"

# Out-of-order segments: 100 connections open at once, each client sending
# 32 segments of 16,000 bytes that start one byte apart, ahead of a first
# byte that never comes.  Held only by sequence number they took 32 x 16 KB
# per connection (400 such connections: 211 MB peak, against 15 MB for the
# same bytes in order).  Now a direction holds each byte once and at most
# 16 KiB: the attack may cost 32 KiB per connection (held bytes, malloc
# slack) and 8 MiB of noise more than the same connections in order.
ooo_flows=100
"$gen_workers" --ooo-flood "$ooo_flows" "$dir/ooo.pcap" || { echo "e2e_exhaustion: generating the overlap attack failed"; exit 1; }
"$gen_workers" --in-order "$ooo_flows" "$dir/in-order.pcap" || exit 1
rm -f "$dir/full.pcap" "$dir/flood.pcap" # room: the overlap attack is 51 MB
audit ooo "$dir/ooo.pcap"
audit in-order "$dir/in-order.pcap"
ooo_rss=$(tail -1 "$dir/ooo.rss")
in_order_rss=$(tail -1 "$dir/in-order.rss")
ooo_limit=$((in_order_rss + ooo_flows * 32 + 8 * 1024))
echo "peak RSS: $ooo_rss KiB for $ooo_flows connections of overlapping out-of-order segments, $in_order_rss KiB in order (limit $ooo_limit KiB)"
[ "$ooo_rss" -le "$ooo_limit" ] ||
	fail "out-of-order segments are held without bound: $ooo_rss KiB for $ooo_flows connections, at most $ooo_limit KiB allowed ($in_order_rss KiB for the same bytes in order)"

if [ "$failed" = 0 ]; then
	echo "e2e_exhaustion: ok"
	exit 0
fi
echo "e2e_exhaustion: $failed failed"
exit 1
