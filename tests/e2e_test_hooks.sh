#!/usr/bin/env bash
# tests/e2e_test_hooks.sh -- the test hooks (EF_TEST_LOOP_DELAY_MS, which
# makes `run' sleep after each turn of its loop) are compiled into the
# build tree's binary only when EF_TEST_HOOKS is on, and never into the
# installed one (build/installed/egressfence: what `cmake --install' and
# the Debian package ship).  The variable's name is in a binary exactly when
# the code that reads it is.
set -uo pipefail

bin=${EF_BIN:?EF_BIN: the egressfence binary}
build=${EF_BINARY_DIR:?EF_BINARY_DIR: the build tree}
installed=$build/installed/egressfence
failed=0

[ -x "$installed" ] || { echo "skipped: no installed binary at $installed (cmake --build builds it)"; exit 77; }
if grep -q EF_TEST_ "$installed"; then
	echo "FAIL $installed reads a test hook: $(grep -ao 'EF_TEST_[A-Z_]*' "$installed" | sort -u | tr '\n' ' ')"
	failed=1
else
	echo "ok   $installed reads no EF_TEST_* variable"
fi
hooks=$(sed -n 's/^EF_TEST_HOOKS:BOOL=//p' "$build/CMakeCache.txt")
if [ "$hooks" = ON ] && ! grep -q EF_TEST_LOOP_DELAY_MS "$bin"; then
	echo "FAIL EF_TEST_HOOKS is ON but $bin has no EF_TEST_LOOP_DELAY_MS"
	failed=1
elif [ "$hooks" != ON ] && grep -q EF_TEST_ "$bin"; then
	echo "FAIL EF_TEST_HOOKS is $hooks but $bin reads a test hook"
	failed=1
else
	echo "ok   $bin: EF_TEST_HOOKS=$hooks, EF_TEST_LOOP_DELAY_MS $(grep -q EF_TEST_LOOP_DELAY_MS "$bin" && echo read || echo not read)"
fi
exit $failed
