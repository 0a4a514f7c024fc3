#!/usr/bin/env bash
# .ci/sanitize.sh -- the whole project built with AddressSanitizer and
# UndefinedBehaviorSanitizer (-DEF_SANITIZE=ON: any finding aborts) in
# build-asan, and the whole test suite run there: the unit tests, the
# evasion, error, log-chain and exhaustion tests, and every capture under
# ../shared/pcaps audited (tests/e2e_shared_pcaps.sh).
#
#   .ci/sanitize.sh              # configure, build, ctest
#   EF_CC=clang .ci/sanitize.sh  # with clang instead of the default cc
#   .ci/sanitize.sh -R evasion   # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."

build=${EF_ASAN_BUILD_DIR:-build-asan}
start=$(date +%s)
# A sanitizer finding must fail the test that triggered it, never pass for
# the program's own exit 1 ("flows flagged"): report with exit 99.
export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=99:detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-exitcode=99:print_stacktrace=1:halt_on_error=1}

cc_args=()
[ -n "${EF_CC:-}" ] && cc_args=(-DCMAKE_C_COMPILER="$EF_CC")
cmake -S . -B "$build" -DEF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug "${cc_args[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)" 2>&1 | grep -Ev '^\[|^-- |^gmake' || true
[ -x "$build/egressfence" ] || { echo "sanitize: build failed" >&2; exit 2; }

rc=0
(cd "$build" && ctest --output-on-failure -j"${EF_CTEST_JOBS:-2}" "$@") || rc=$?
echo "sanitize: ctest in $build finished with $rc after $(($(date +%s) - start)) s"
exit "$rc"
