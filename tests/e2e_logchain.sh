#!/usr/bin/env bash
# tests/e2e_logchain.sh -- `audit --chain` writes a log in which removing,
# changing or reordering a record is seen by `verify-log`, which names the
# line; cutting records off the end is seen against the head the audit
# printed.  Exit codes: 0 intact, 1 tampered, 2 not a chained log / error.
set -uo pipefail

bin=${EF_BIN:?EF_BIN: the egressfence binary}
src=${EF_SOURCE_DIR:?EF_SOURCE_DIR: the source tree}
build=${EF_BINARY_DIR:?EF_BINARY_DIR: the build tree}
gen=${EF_GEN_EVASION:-$build/tests/gen_evasion}
policy=$src/tests/data/evasion-policy.yaml
dir=$build/tests/logchain

command -v jq >/dev/null || { echo "e2e_logchain: jq is not installed (scripts/setup installs it)"; exit 77; }
[ -x "$gen" ] || { echo "e2e_logchain: $gen is not built"; exit 1; }
rm -rf "$dir"
mkdir -p "$dir/pcaps"
"$gen" "$dir/pcaps" || exit 1
# A capture whose data is not examined by design (its audit exits 2) is
# e2e_evasion's; these checks are about the log, over audits that exit 1.
rm -f "$dir/pcaps/tls12-then-frag-never-complete.pcap"

failed=0
fail() {
	echo "FAIL $*"
	failed=$((failed + 1))
}

# verify EXPECTED-EXIT PATTERN WHAT [verify-log args...]
verify() {
	local want=$1 pattern=$2 what=$3 rc
	shift 3
	"$bin" verify-log "$@" >"$dir/v.out" 2>"$dir/v.err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		fail "$what: verify-log exit $rc, expected $want: $(cat "$dir/v.out" "$dir/v.err")"
	elif ! grep -Eq -- "$pattern" "$dir/v.out" "$dir/v.err"; then
		fail "$what: verify-log said \"$(cat "$dir/v.out" "$dir/v.err")\", expected /$pattern/"
	else
		echo "ok   $what: $(cat "$dir/v.out" "$dir/v.err" | head -1)"
	fi
}

# One chained log of the evasion captures (21 flows), written by two
# workers: the second worker's events are appended after the first's, and
# the chain must follow the order in the file.
"$bin" audit --config "$policy" --workers 2 --chain --json "$dir/log.json" "$dir/pcaps" >"$dir/audit.out" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "audit --chain: exit $rc, expected 1: $(tail -3 "$dir/audit.out")"
head=$(sed -n 's/^event log: \([0-9]*\) chained records, head \([0-9a-f]\{64\}\)$/\2/p' "$dir/audit.out")
n=$(wc -l <"$dir/log.json")
[ -n "$head" ] || fail "the audit summary does not print the chain head: $(tail -3 "$dir/audit.out")"
[ "$n" -ge 10 ] || fail "only $n events in the log"
jq -e -s 'all(.[]; (.seq | type) == "number" and (.chain | test("^[0-9a-f]{64}$")))' "$dir/log.json" >/dev/null ||
	fail "not every event has a seq and a chain"
jq -e -s '[.[].seq] == [range(1; length + 1)]' "$dir/log.json" >/dev/null || fail "seq is not 1..N in file order"
# The two workers' log holds the same records as one worker's, in another
# order: compared without seq and chain, sorted.
"$bin" audit --config "$policy" --workers 1 --chain --json "$dir/log1.json" "$dir/pcaps" >"$dir/audit1.out" 2>&1
jq -c 'del(.seq, .chain)' "$dir/log.json" | sort >"$dir/log.w2.records"
jq -c 'del(.seq, .chain)' "$dir/log1.json" | sort >"$dir/log.w1.records"
if [ -s "$dir/log.w1.records" ] && cmp -s "$dir/log.w1.records" "$dir/log.w2.records"; then
	echo "ok   two workers chain the same $n records as one worker"
else
	fail "two workers' log differs from one worker's: $(diff "$dir/log.w1.records" "$dir/log.w2.records" | grep -c '^[<>]') lines"
fi

verify 0 "OK, $n records, head $head" "intact log" "$dir/log.json"
verify 0 "OK, $n records" "intact log, expected head" --head "$head" "$dir/log.json"

# The scheme as logchain.h states it, recomputed independently.
if command -v sha256sum >/dev/null; then
	prev=0000000000000000000000000000000000000000000000000000000000000000
	ok=1
	while IFS= read -r line; do
		body="${line%,\"chain\":\"*}}"
		want=${line: -66:64}
		got=$(printf '%s%s' "$prev" "$body" | sha256sum | cut -c1-64)
		[ "$got" = "$want" ] || { ok=0; break; }
		prev=$got
	done <"$dir/log.json"
	[ "$ok" = 1 ] && [ "$prev" = "$head" ] || fail "sha256(prev || record without chain) does not reproduce the chain"
fi

# A changed record: one verdict rewritten, on line 3.
sed '3s/"verdict":"block"/"verdict":"allow"/; 3s/"verdict":"log"/"verdict":"allow"/' "$dir/log.json" >"$dir/changed.json"
verify 1 ':3: record 3 was changed' "a record changed" "$dir/changed.json"

# The same, with the chain of line 3 recomputed: line 4 no longer follows.
python3 - "$dir/changed.json" "$dir/recomputed.json" <<'PY' 2>/dev/null && verify 1 ':4: record 4 was changed.*line 3' "a record changed and its chain recomputed" "$dir/recomputed.json"
import hashlib, sys
lines = open(sys.argv[1]).read().splitlines()
prev = lines[1][-66:-2]
body = lines[2][:lines[2].rindex(',"chain":"')] + '}'
h = hashlib.sha256((prev + body).encode()).hexdigest()
lines[2] = body[:-1] + ',"chain":"' + h + '"}'
open(sys.argv[2], 'w').write('\n'.join(lines) + '\n')
PY

# A removed record, and two.
sed '5d' "$dir/log.json" >"$dir/removed.json"
verify 1 ':5: record 5 was removed' "a record removed" "$dir/removed.json"
sed '5,6d' "$dir/log.json" >"$dir/removed2.json"
verify 1 ':5: records 5 to 6 were removed' "two records removed" "$dir/removed2.json"
sed '1d' "$dir/log.json" >"$dir/removed1.json"
verify 1 ':1: record 1 was removed' "the first record removed" "$dir/removed1.json"

# Two records swapped; a record moved later; a record repeated.
# lines FILE RANGE...: the file's lines in the order of the sed ranges given
lines() {
	local f=$1
	shift
	for r in "$@"; do sed -n "${r}p" "$f"; done
}
lines "$dir/log.json" 1,2 4 3 '5,$' >"$dir/swapped.json"
verify 1 ':3: records out of order: record 4 is here, where record 3 was expected; record 3 is on line 4' \
	"two records swapped" "$dir/swapped.json"
lines "$dir/log.json" 1,2 4,7 3 '8,$' >"$dir/moved.json"
verify 1 ':3: records out of order.*record 3 is on line 7' "a record moved later" "$dir/moved.json"
lines "$dir/log.json" 1,4 4 '5,$' >"$dir/repeated.json"
verify 1 ':5: record 4 is out of order: record 5 was expected' "a record repeated" "$dir/repeated.json"

# A line inserted that is not a chained record.
sed '6i {"ts":"2026-11-18T11:06:40.000000Z","verdict":"allow"}' "$dir/log.json" >"$dir/inserted.json"
verify 1 ':6: not a chained record' "an unchained line inserted" "$dir/inserted.json"

# Records cut off the end: only the head tells.
head -n -2 "$dir/log.json" >"$dir/truncated.json"
verify 0 "OK, $((n - 2)) records" "records cut off the end, without the head (undetectable)" "$dir/truncated.json"
verify 1 "ends at record $((n - 2)) .*not the expected head" "records cut off the end, against the head" \
	--head "$head" "$dir/truncated.json"
: >"$dir/empty.json"
verify 1 "ends at record 0 " "the whole log emptied, against the head" --head "$head" "$dir/empty.json"

# Not a chained log, and user errors: exit 2 with a message.
"$bin" audit --config "$policy" --json "$dir/plain.json" "$dir/pcaps/http-on-443.pcap" >/dev/null 2>&1
verify 2 "not a chained event log" "a log written without --chain" "$dir/plain.json"
verify 2 "No such file" "a missing log" "$dir/nonexistent.json"
verify 2 "needs a log file" "no log named"
verify 2 "several files are checked as one rotated signed log: give --pubkey" "two logs named without a key" "$dir/log.json" "$dir/log.json"
verify 2 "64 hex digits" "a bad --head" --head 1234 "$dir/log.json"
verify 2 "unknown option" "an unknown option" --bogus "$dir/log.json"
"$bin" audit --config "$policy" --chain "$dir/pcaps/http-on-443.pcap" >/dev/null 2>"$dir/nojson.err"
rc=$?
[ "$rc" = 2 ] && grep -q -- "--chain needs --json" "$dir/nojson.err" ||
	fail "audit --chain without --json: exit $rc, $(cat "$dir/nojson.err")"

# Events on stdout (--json -) are chained too, and the summary, with the
# head, goes to stderr.
"$bin" audit --config "$policy" --chain --json - "$dir/pcaps/http-on-443.pcap" >"$dir/stdout.json" 2>"$dir/stdout.err"
grep -q "^event log: 1 chained records" "$dir/stdout.err" || fail "--json - --chain: no head on stderr"
verify 0 "OK, 1 records" "a chained log written to stdout" "$dir/stdout.json"

echo "e2e_logchain: $failed failed"
[ "$failed" = 0 ]
