#!/usr/bin/env bash
# tests/e2e_shared_pcaps.sh -- every capture under ../shared/pcaps/ndpi
# (nDPI's own test captures: many link types, tunnels, fragments, fuzzed
# and malformed traffic) is audited without a crash or a sanitizer finding,
# with well-formed events, one per flow.
#
# Each file is audited alone, so a failure names its file.  Exit 0 or 1 is
# a normal audit; exit 2 is accepted only for a file the capture layer
# reports as unreadable or cut short (a warning naming the file).  Under
# the sanitizer build (.ci/sanitize.sh) any ASan/UBSan/LSan report fails
# the file; sanitizer exits are moved to 99 so they never pass for exit 1.
set -uo pipefail

bin=${EF_BIN:?EF_BIN: the egressfence binary}
src=${EF_SOURCE_DIR:?EF_SOURCE_DIR: the source tree}
build=${EF_BINARY_DIR:?EF_BINARY_DIR: the build tree}
pcaps=${EF_SHARED_PCAPS:-$src/../shared/pcaps}/ndpi
policy=$src/policy/default.yaml
dir=$build/tests/shared-pcaps

if [ ! -d "$pcaps" ]; then
	echo "e2e_shared_pcaps: $pcaps is absent: skipped (the shared captures are not part of this repository)"
	exit 77
fi
command -v jq >/dev/null || { echo "e2e_shared_pcaps: jq is not installed"; exit 77; }

export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=99:detect_leaks=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=99:print_stacktrace=1:halt_on_error=1

rm -rf "$dir"
mkdir -p "$dir"
failed=0
files=0
unreadable=0
events=0

for pcap in "$pcaps"/*; do
	[ -f "$pcap" ] || continue
	name=$(basename "$pcap")
	files=$((files + 1))
	json=$dir/$name.json
	"$bin" audit --config "$policy" --json "$json" "$pcap" >"$dir/$name.out" 2>"$dir/$name.err"
	rc=$?
	if grep -Eq "Sanitizer|runtime error:|AddressSanitizer|LeakSanitizer" "$dir/$name.err"; then
		echo "FAIL $name: sanitizer report (exit $rc):"
		grep -E -A12 "ERROR|runtime error" "$dir/$name.err" | head -30 | sed 's/^/    /'
		failed=$((failed + 1))
		continue
	fi
	case $rc in
	0 | 1) ;;
	2)
		if grep -Fq "warning: $pcap" "$dir/$name.err"; then
			unreadable=$((unreadable + 1))
			echo "note $name: $(grep -F "warning: $pcap" "$dir/$name.err" | head -1 | sed "s|.*warning: $pcap: ||")"
		else
			echo "FAIL $name: exit 2 without a warning naming the file:"
			sed 's/^/    /' "$dir/$name.err" | head -5
			failed=$((failed + 1))
			continue
		fi
		;;
	*)
		echo "FAIL $name: exit $rc (crash?)"
		sed 's/^/    /' "$dir/$name.err" | tail -5
		failed=$((failed + 1))
		continue
		;;
	esac
	# One well-formed event per flow the summary counted.
	flows=$(sed -n 's/^egressfence audit of 1 path: .* IP packets, \([0-9]*\) flows.*/\1/p' "$dir/$name.out")
	n=$(jq -s length "$json" 2>/dev/null)
	if [ -z "$n" ]; then
		echo "FAIL $name: the events are not valid JSON"
		failed=$((failed + 1))
		continue
	fi
	if [ "$n" != "${flows:-?}" ]; then
		echo "FAIL $name: $n events for ${flows:-?} flows in the summary"
		failed=$((failed + 1))
		continue
	fi
	if ! jq -e -s 'all(.[]; (.encryption | IN("cleartext", "weak", "encrypted", "unknown"))
			and (.verdict | IN("allow", "log", "block")) and (.bytes_out >= 0) and (.app | type) == "string")' \
		"$json" >/dev/null; then
		echo "FAIL $name: an event lacks a valid encryption, verdict, bytes_out or app"
		failed=$((failed + 1))
		continue
	fi
	events=$((events + n))
done

# All of them in one run, over two workers: one event per flow, and the
# same events as one worker and as three write (sorted: several workers
# write theirs in worker order).
for w in 1 3; do
	"$bin" audit --config "$policy" --workers $w --json "$dir/all.w$w.json" "$pcaps" >"$dir/all.w$w.out" 2>&1
done
"$bin" audit --config "$policy" --workers 2 --json "$dir/all.json" "$pcaps" >"$dir/all.out" 2>"$dir/all.err"
rc=$?
if grep -Eq "Sanitizer|runtime error:" "$dir/all.err"; then
	echo "FAIL the whole folder in one run: sanitizer report"
	grep -E -A12 "ERROR|runtime error" "$dir/all.err" | head -30 | sed 's/^/    /'
	failed=$((failed + 1))
elif [ "$rc" -gt 2 ]; then
	echo "FAIL the whole folder in one run: exit $rc"
	failed=$((failed + 1))
else
	flows=$(sed -n 's/^egressfence audit of [0-9]* paths\?: .* IP packets, \([0-9]*\) flows.*/\1/p' "$dir/all.out")
	n=$(jq -s length "$dir/all.json" 2>/dev/null)
	[ -n "$n" ] && [ "$n" = "$flows" ] || {
		echo "FAIL the whole folder in one run: ${n:-invalid JSON} events for ${flows:-?} flows"
		failed=$((failed + 1))
	}
	sort "$dir/all.json" >"$dir/all.w2.sorted"
	for w in 1 3; do
		sort "$dir/all.w$w.json" >"$dir/all.w$w.sorted"
		if [ ! -s "$dir/all.w$w.sorted" ] || ! cmp -s "$dir/all.w2.sorted" "$dir/all.w$w.sorted"; then
			echo "FAIL the whole folder in one run: --workers 2 and --workers $w give other events" \
				"($(diff "$dir/all.w2.sorted" "$dir/all.w$w.sorted" | grep -c '^[<>]') lines differ)"
			failed=$((failed + 1))
		else
			echo "ok   the whole folder: $n events, the same with --workers 2 and --workers $w"
		fi
	done
fi

echo "e2e_shared_pcaps: $files captures, $events events, $unreadable unreadable or cut short (exit 2 with a warning), $failed failed"
[ "$failed" = 0 ]
