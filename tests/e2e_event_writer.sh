#!/usr/bin/env bash
# End-to-end: the audit's events, formatted and written by each worker's
# event writer (output/event_writer.c), on a writer thread or not
# (EF_AUDIT_EVENT_THREADS=1/0 forces either, whatever the core count):
#  - every flow the summary counts has its event, in the order the flows
#    ended -- on a capture of 3000 flows, many more than a writer's batch
#    (256) and its ring (4 batches): gen_workers --in-order writes
#    connections that end in the order they start, each at its own time;
#  - a thread or none gives byte-identical events, 1 and 2 workers;
#  - a write that fails (--json /dev/full, with and without --chain) ends
#    the audit with "cannot write events: No space left on device" and
#    exit 2, as it did before events left the worker.
set -uo pipefail
BIN=${EF_BIN:-build/egressfence}
SRC=${EF_SOURCE_DIR:-.}
GEN=${EF_GEN_WORKERS:-build/tests/gen_workers}
CFG=$SRC/tests/data/evasion-policy.yaml
command -v jq >/dev/null || { echo "skipped: jq is not installed (scripts/setup installs it)"; exit 77; }
[ -x "$GEN" ] || { echo "skipped: no gen_workers at $GEN"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
ok() { echo "ok   $*"; }

"$GEN" --in-order 3000 "$tmp/many.pcap" >/dev/null || { echo "FAIL gen_workers"; exit 1; }

for workers in 1 2; do
	for threads in 1 0; do
		name=w$workers-t$threads
		EF_AUDIT_EVENT_THREADS=$threads "$BIN" audit --config "$CFG" --workers "$workers" \
			--json "$tmp/$name.json" "$tmp/many.pcap" >"$tmp/$name.out" 2>"$tmp/$name.err"
		rc=$?
		[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] || { fail "$name: audit exited $rc: $(head -2 "$tmp/$name.err")"; continue; }
		flows=$(sed -n 's/^egressfence audit of .* IP packets, \([0-9]*\) flows.*/\1/p' "$tmp/$name.out")
		events=$(wc -l <"$tmp/$name.json")
		whole=$(jq -c 'select(.ts and .src_port)' "$tmp/$name.json" | wc -l)
		if [ "$flows" = 3000 ] && [ "$events" = "$flows" ] && [ "$whole" = "$events" ]; then
			ok "$name: $events events, whole, for the summary's $flows flows"
		else
			fail "$name: $events lines ($whole whole events) for the summary's '$flows' flows (expected 3000)"
		fi
		# In the order the flows ended: one run of rising start times per
		# worker (workers 1.. are appended after worker 0).
		runs=$(jq -r '.ts' "$tmp/$name.json" | awk 'NR == 1 || $0 <= prev { runs++ } { prev = $0 } END { print runs }')
		if [ "$runs" = "$workers" ]; then
			ok "$name: events in the order their flows ended ($runs run(s) of rising start times)"
		else
			fail "$name: $runs runs of rising start times, expected $workers"
		fi
	done
	if cmp -s "$tmp/w$workers-t1.json" "$tmp/w$workers-t0.json"; then
		ok "workers $workers: the same bytes with a writer thread and without"
	else
		fail "workers $workers: the events differ with a writer thread and without"
	fi
done

if [ -w /dev/full ]; then
	for threads in 1 0; do
		for args in "--workers 1" "--workers 2" "--chain"; do
			# shellcheck disable=SC2086
			EF_AUDIT_EVENT_THREADS=$threads "$BIN" audit --config "$CFG" $args --json /dev/full \
				"$tmp/many.pcap" >"$tmp/full.out" 2>"$tmp/full.err"
			rc=$?
			if [ "$rc" -eq 2 ] && grep -q 'cannot write events: No space left on device' "$tmp/full.err"; then
				ok "threads=$threads $args --json /dev/full: exit 2, the write error said"
			else
				fail "threads=$threads $args --json /dev/full: exit $rc, stderr: $(tail -2 "$tmp/full.err")"
			fi
		done
	done
else
	echo "note: no writable /dev/full here: the write-failure checks are skipped"
fi

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all event writer checks passed"
