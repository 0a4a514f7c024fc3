#!/usr/bin/env bash
# tests/e2e_events.sh -- what an event says about where it came from and
# why it could not say more: every audit event names the capture file of
# its flow's first packet (several files in one run, folders expanded,
# with 1 and 2 workers alike), and an `unknown' event says why it is
# unknown: no payload, a handshake that never completed, a name from the
# port only, or nothing recognised.  Gateway events have no capture file.
set -uo pipefail

bin=${EF_BIN:?EF_BIN: the egressfence binary}
src=${EF_SOURCE_DIR:?EF_SOURCE_DIR: the source tree}
build=${EF_BINARY_DIR:?EF_BINARY_DIR: the build tree}
gen=${EF_GEN_EVASION:-$build/tests/gen_evasion}
policy=$src/tests/data/evasion-policy.yaml
dir=$build/tests/events

command -v jq >/dev/null || { echo "skipped: jq is not installed (scripts/setup installs it)"; exit 77; }
[ -x "$gen" ] || { echo "e2e_events: $gen is not built"; exit 1; }
rm -rf "$dir"
mkdir -p "$dir/pcaps" "$dir/more"
"$gen" "$dir/pcaps" >/dev/null || exit 1
"$gen" --syn-flood 3 "$dir/more/syn-only.pcap" >/dev/null || exit 1

failed=0 passed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }

# reason CASE EXPECTED: the single event of one evasion capture is unknown
# for that reason.
reason() {
	local json=$dir/$1.json got
	"$bin" audit --config "$policy" --json "$json" "$dir/pcaps/$1.pcap" >/dev/null 2>&1
	got=$(jq -r 'select(.encryption == "unknown") | .unknown_reason' "$json")
	[ "$got" = "$2" ] && ok "$1: unknown because \"$got\"" || bad "$1: unknown_reason \"$got\", expected \"$2\""
}
reason tls-lone-ccs "its handshake never completed"
reason high-entropy "no protocol recognised in the payload, and it does not read as text"
reason high-entropy-443 "named from the port or address only, not from the payload"
"$bin" audit --config "$policy" --json "$dir/syn.json" "$dir/more/syn-only.pcap" >/dev/null 2>&1
[ "$(jq -r '.unknown_reason' "$dir/syn.json" | sort -u)" = "no payload" ] && ok "SYN-only flows: unknown because \"no payload\"" ||
	bad "SYN-only flows: $(jq -c '[.encryption, .unknown_reason]' "$dir/syn.json" | sort -u | tr '\n' ' ')"

# No reason on a flow that is not unknown.
jq -e 'select(.encryption != "unknown") | has("unknown_reason")' "$dir/high-entropy.json" >/dev/null &&
	bad "a flow that is not unknown carries unknown_reason" || ok "only unknown flows carry unknown_reason"

# Several files and a folder in one run, 1 and 2 workers: each event names
# the file its flow came from, and every file's flows are there.  The ESP
# captures are left out: ESP has no ports, so their packets share one flow
# key and, read in one run, rightly make one flow (named after the first).
mkdir -p "$dir/joint"
for pcap in "$dir"/pcaps/*.pcap; do
	case $(basename "$pcap") in esp-*) ;; *) ln -s "$pcap" "$dir/joint/" ;; esac
done
for w in 1 2; do
	"$bin" audit --config "$policy" --workers "$w" --json "$dir/all-w$w.json" "$dir/joint" \
		"$dir/more/syn-only.pcap" >/dev/null 2>&1
	wrong=0
	for pcap in "$dir"/joint/*.pcap "$dir/more/syn-only.pcap"; do
		# One audit of the file alone gives its flows' count; the joint
		# run must name that file on exactly as many events.
		"$bin" audit --config "$policy" --json "$dir/alone.json" "$pcap" >/dev/null 2>&1
		alone=$(jq -s 'length' "$dir/alone.json")
		named=$(jq --arg f "$pcap" -s '[.[] | select(.capture_file == $f)] | length' "$dir/all-w$w.json")
		[ "$named" = "$alone" ] || { wrong=$((wrong + 1)); echo "    $pcap: $named events name it, $alone flows in it"; }
	done
	total=$(jq -s 'length' "$dir/all-w$w.json")
	unnamed=$(jq -s '[.[] | select(has("capture_file") | not)] | length' "$dir/all-w$w.json")
	if [ "$wrong" = 0 ] && [ "$unnamed" = 0 ]; then
		ok "--workers $w: each of $total events names the file its flow came from"
	else
		bad "--workers $w: $wrong files miscounted, $unnamed events without capture_file"
	fi
done
cmp -s <(sort "$dir/all-w1.json") <(sort "$dir/all-w2.json") && ok "the same events with 1 and 2 workers" ||
	bad "events differ between 1 and 2 workers"

echo "e2e_events: $passed passed, $failed failed"
[ "$failed" = 0 ]
