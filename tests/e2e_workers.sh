#!/usr/bin/env bash
# tests/e2e_workers.sh -- `audit --workers N` never changes a verdict: an
# FTP data connection announced to another address than its control
# connection's (passive and active mode, IPv4 and IPv6, 227/229/PORT/EPRT,
# neither end internal and one end internal) is FTP_DATA, cleartext, with
# 1, 2 and 3 workers alike, and every event is the same in all three runs.
#
# tests/gen_workers.c writes the captures (6 sessions each, addresses chosen
# so that sharding by address alone would split control and data
# connections over workers).
set -uo pipefail

bin=${EF_BIN:?EF_BIN: the egressfence binary}
src=${EF_SOURCE_DIR:?EF_SOURCE_DIR: the source tree}
build=${EF_BINARY_DIR:?EF_BINARY_DIR: the build tree}
gen=${EF_GEN_WORKERS:-$build/tests/gen_workers}
policy=$src/tests/data/evasion-policy.yaml
dir=$build/tests/workers
sessions=6

command -v jq >/dev/null || { echo "e2e_workers: jq is not installed (scripts/setup installs it)"; exit 77; }
[ -x "$gen" ] || { echo "e2e_workers: $gen is not built (cmake --build builds it)"; exit 1; }
rm -rf "$dir"
mkdir -p "$dir"
"$gen" "$dir" || { echo "e2e_workers: $gen failed"; exit 1; }

failed=0
passed=0
cases=0
for pcap in "$dir"/*.pcap; do
	name=$(basename "$pcap" .pcap)
	cases=$((cases + 1))
	ok=yes
	for w in 1 2 3; do
		"$bin" audit --config "$policy" --workers "$w" --json "$dir/$name.w$w.json" "$pcap" >"$dir/$name.w$w.out" 2>&1
		rc=$?
		if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
			echo "FAIL $name --workers $w: exit $rc"
			sed 's/^/    /' "$dir/$name.w$w.out" | head -5
			ok=no
			continue
		fi
		# Events of several workers come in worker order: compare them sorted.
		sort "$dir/$name.w$w.json" >"$dir/$name.w$w.sorted"
	done
	[ "$ok" = yes ] || { failed=$((failed + 1)); continue; }
	data=$(jq -s "[.[] | select(.dst_port != 21 and .src_port != 21)] | length" "$dir/$name.w1.json")
	ftp_data=$(jq -s "[.[] | select(.dst_port != 21 and .src_port != 21 and .app == \"FTP_DATA\" and .encryption == \"cleartext\")] | length" "$dir/$name.w1.json")
	if [ "$data" != "$sessions" ] || [ "$ftp_data" != "$sessions" ]; then
		echo "FAIL $name: $ftp_data of $data data connections are FTP_DATA/cleartext with 1 worker, expected $sessions of $sessions"
		jq -c 'select(.dst_port != 21 and .src_port != 21) | [.src_ip, .dst_ip, .dst_port, .app, .encryption]' "$dir/$name.w1.json" | sed 's/^/    /'
		failed=$((failed + 1))
		continue
	fi
	for w in 2 3; do
		if ! cmp -s "$dir/$name.w1.sorted" "$dir/$name.w$w.sorted"; then
			echo "FAIL $name: --workers $w gives other events than --workers 1:"
			diff "$dir/$name.w1.sorted" "$dir/$name.w$w.sorted" | jq -Rrc 'sub("^[<>] ";"") | fromjson? | [.src_ip, .dst_ip, .dst_port, .app, .encryption, .verdict]' | head -6 | sed 's/^/    /'
			ok=no
		fi
	done
	if [ "$ok" = yes ]; then
		echo "ok   $name: $sessions data connections FTP_DATA/cleartext, the same events with 1, 2 and 3 workers"
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
[ "$cases" -ge 8 ] || { echo "FAIL only $cases captures written, expected 8"; failed=$((failed + 1)); }

# All the cases in one run: announcements of every case live side by side.
for w in 1 2 3; do
	"$bin" audit --config "$policy" --workers "$w" --json "$dir/all.w$w.json" "$dir" >"$dir/all.w$w.out" 2>&1
	sort "$dir/all.w$w.json" >"$dir/all.w$w.sorted"
done
n=$(jq -s "[.[] | select(.dst_port != 21 and .src_port != 21 and .app == \"FTP_DATA\")] | length" "$dir/all.w1.json")
if [ "$n" = $((cases * sessions)) ] && cmp -s "$dir/all.w1.sorted" "$dir/all.w2.sorted" &&
	cmp -s "$dir/all.w1.sorted" "$dir/all.w3.sorted"; then
	echo "ok   all cases in one run: $n data connections FTP_DATA, the same events with 1, 2 and 3 workers"
	passed=$((passed + 1))
else
	echo "FAIL all cases in one run: $n FTP_DATA data connections of $((cases * sessions)), or the events differ between 1, 2 and 3 workers"
	failed=$((failed + 1))
fi

echo "e2e_workers: $passed passed, $failed failed"
[ "$failed" = 0 ]
