#!/usr/bin/env bash
# .ci/fuzz.sh -- builds the libFuzzer harnesses (tests/fuzz/) with clang,
# -fsanitize=fuzzer,address,undefined, in build-fuzz, and runs each for a
# bounded time from seeds made at run time out of ../shared/pcaps and the
# project's configurations (tests/fuzz/make_corpus.py; nothing committed).
#
#   .ci/fuzz.sh                      # every harness, 60 s each
#   EF_FUZZ_SECONDS=600 .ci/fuzz.sh fuzz_packet
#
# A crash, leak, UBSan finding or timeout fails the run and leaves its input
# in build-fuzz/crashes/HARNESS/.  Fix it, then copy the input to
# tests/fuzz/regress/HARNESS/: ctest replays that folder in every build
# (HARNESS_regress), so it becomes a regression test.
set -uo pipefail
cd "$(dirname "$0")/.."

build=${EF_FUZZ_BUILD_DIR:-build-fuzz}
secs=${EF_FUZZ_SECONDS:-60}
harnesses=("$@")
((${#harnesses[@]})) || harnesses=(fuzz_packet fuzz_policy fuzz_logchain fuzz_pcapng fuzz_pcapmap fuzz_output_config)
start=$(date +%s)

command -v clang >/dev/null || { echo "fuzz: clang is not installed (scripts/setup installs it)" >&2; exit 2; }
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DEF_SANITIZE=ON -DEF_FUZZ=ON -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link" >/dev/null || exit 2
if ! cmake --build "$build" -j"$(nproc)" --target egressfence "${harnesses[@]}" >"$build/build.log" 2>&1; then
	grep -E -A3 "error|Error" "$build/build.log" | head -40 >&2
	echo "fuzz: the build failed (all of it in $build/build.log)" >&2
	exit 2
fi
echo "fuzz: built in $(($(date +%s) - start)) s"

corpus=$build/corpus
python3 tests/fuzz/make_corpus.py "$corpus" "${EF_SHARED_PCAPS:-../shared/pcaps}/ndpi" \
	policy/*.yaml samples/*.yaml tests/data/*.yaml || exit 2
# A chained log for fuzz_logchain to start from.
"$build/egressfence" audit --config samples/sample-policy.yaml --chain --json "$corpus/logchain/sample.json" \
	samples/sample.pcap >/dev/null 2>&1
head -3 "$corpus/logchain/sample.json" >"$corpus/logchain/three.json" 2>/dev/null

declare -A dir_of=([fuzz_packet]=packet [fuzz_policy]=policy [fuzz_logchain]=logchain [fuzz_pcapng]=pcapng [fuzz_pcapmap]=pcapmap [fuzz_output_config]=policy)
failed=()
for h in "${harnesses[@]}"; do
	crashes=$build/crashes/$h
	mkdir -p "$crashes" "$corpus/${dir_of[$h]}"
	seeds=("$corpus/${dir_of[$h]}")
	[ -d "tests/fuzz/regress/$h" ] && seeds+=("tests/fuzz/regress/$h")
	echo "fuzz: $h for $secs s"
	t0=$(date +%s)
	# -max_len: the seeds are cut to 16 KiB; longer inputs add time, not paths.
	if ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		"$build/tests/$h" -max_total_time="$secs" -max_len=16384 -timeout=10 -rss_limit_mb=2560 \
		-artifact_prefix="$crashes/" -print_final_stats=1 "${seeds[@]}" >"$build/$h.log" 2>&1; then
		echo "fuzz: $h ok after $(($(date +%s) - t0)) s: $(grep -E '^stat::number_of_executed_units' "$build/$h.log" |
			awk '{print $2}') runs, $(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$build/$h.log" | tail -1)"
	else
		echo "fuzz: $h FAILED after $(($(date +%s) - t0)) s; inputs in $crashes:"
		ls "$crashes" | sed 's/^/    /'
		# The report's first line, anchored: libFuzzer's own progress lines
		# quote dictionary words such as "CLIENT_ERROR".
		grep -E -m1 -A30 "^==[0-9]+==ERROR|^[^ ]+:[0-9]+:[0-9]+: runtime error|^==[0-9]+== ERROR: libFuzzer|ALARM: working on the last Unit" \
			"$build/$h.log" | sed 's/^/    /'
		failed+=("$h")
	fi
done
echo "fuzz: done in $(($(date +%s) - start)) s"
if ((${#failed[@]})); then
	echo "fuzz: findings in ${failed[*]} (logs: $build/HARNESS.log)"
	exit 1
fi
