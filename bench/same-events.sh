#!/usr/bin/env bash
# bench/same-events.sh: whether two egressfence binaries write the same events
# for the shared captures -- the check that a speed change altered no verdict,
# class, app or any other field.
#
# Each binary audits, with policy/default.yaml: every capture under
# $EF_SHARED_PCAPS/ndpi alone (one worker), the whole folder in one run with
# 1 and 2 workers, and bench-base.pcap with 1 and 2 workers.  The events
# (sorted: several workers write theirs in worker order) and the summaries
# (without the "written by" line, which names the commit) must be
# byte-identical between the two binaries, run for run.  Events of one
# binary may still differ between 1 and 2 workers (nDPI's caches are per
# worker); that is compared old against old and new against new, not here.
#
# Usage: bench/same-events.sh OLD_BINARY NEW_BINARY [OUT_DIR]
#   OUT_DIR (default bench/out/same-events) keeps both runs for inspection.
# Environment: EF_SHARED_PCAPS (default ../shared/pcaps).
# Exit 0: identical; 1: they differ (the first differences are printed);
# 2: usage or a missing capture folder.
set -uo pipefail

cd "$(dirname "$0")/.."
if (($# < 2)) || [[ ! -x $1 || ! -x $2 ]]; then
	echo "usage: bench/same-events.sh OLD_BINARY NEW_BINARY [OUT_DIR] (both executable)" >&2
	exit 2
fi
old=$(realpath "$1")
new=$(realpath "$2")
out=${3:-bench/out/same-events}
pcaps=${EF_SHARED_PCAPS:-../shared/pcaps}
policy=policy/default.yaml
[[ -d $pcaps/ndpi && -f $pcaps/bench-base.pcap ]] ||
	{ echo "same-events: no $pcaps/ndpi or $pcaps/bench-base.pcap (set EF_SHARED_PCAPS)" >&2; exit 2; }

audit() { # BINARY NAME WORKERS PATH DIR
	"$1" audit --config "$policy" --workers "$3" --json "$5/$2.json" "$4" 2>/dev/null |
		grep -v '^written by' >"$5/$2.out"
	sort -o "$5/$2.json" "$5/$2.json"
}

run_all() { # BINARY DIR
	rm -rf "$2"
	mkdir -p "$2/files"
	for f in "$pcaps"/ndpi/*; do
		[[ -f $f ]] && audit "$1" "files/$(basename "$f")" 1 "$f" "$2"
	done
	for w in 1 2; do
		audit "$1" "all.w$w" "$w" "$pcaps/ndpi" "$2"
		audit "$1" "bench-base.w$w" "$w" "$pcaps/bench-base.pcap" "$2"
	done
}

run_all "$old" "$out/old"
run_all "$new" "$out/new"
if diff -r "$out/old" "$out/new" >"$out/diff"; then
	echo "same-events: identical: $(find "$out/new" -name '*.json' | wc -l) runs," \
		"$(cat "$out"/new/files/*.json "$out"/new/bench-base.w1.json | wc -l) events (per file and bench-base)"
	exit 0
fi
echo "same-events: the binaries' events differ ($(grep -c '^[<>]' "$out/diff") lines; $out/diff):"
head -n 20 "$out/diff" | cut -c1-300
exit 1
