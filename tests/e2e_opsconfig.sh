#!/usr/bin/env bash
# tests/e2e_opsconfig.sh -- the operator's settings of `egressfence run'
# that need no root to check: metrics.listen and gateway.mode: observe in
# the policy (errors as FILE:LINE:COL, and `check' printing them back), and
# --metrics-listen / --mode observe on the command line (usage errors, and
# the commands observe mode has nothing for: nft, run --dry-run).
set -uo pipefail

bin=${EF_BIN:?EF_BIN: the egressfence binary}
build=${EF_BINARY_DIR:?EF_BINARY_DIR: the build tree}
db=$build/tests/data/test-iplocation.mmdb
[ -f "$db" ] || { echo "skipped: no test database at $db"; exit 77; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/efopscfg.XXXXXX")
trap 'rm -rf "$dir"' EXIT

failed=0
passed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; sed 's/^/    /' "$dir/err" | head -n 5; failed=$((failed + 1)); }
run() { "$bin" "$@" >"$dir/out" 2>"$dir/err"; rc=$?; }

policy() { # policy FILE MODE LISTEN
	cat >"$1" <<-EOF
		geodb:
		  country: $db
		gateway:
		  mode: $2
		metrics:
		  listen: $3
		rules: []
		default: allow
	EOF
}

# expect_error WHAT PATTERN CMD...: exit 2 and PATTERN (grep -F) on stderr
expect_error() {
	local what=$1 pattern=$2
	shift 2
	run "$@"
	if [ "$rc" = 2 ] && grep -qF -- "$pattern" "$dir/err"; then
		ok "$what"
	else
		bad "$what: exit $rc, expected 2 and \`$pattern' on stderr"
	fi
}

policy "$dir/good.yaml" observe 127.0.0.1:9813
run check --config "$dir/good.yaml"
if [ "$rc" = 0 ] && grep -qx '  mode: observe' "$dir/out" && grep -qx '  listen: "127.0.0.1:9813"' "$dir/out"; then
	ok "check accepts gateway.mode observe and metrics.listen, and prints both"
else
	bad "check of a policy with mode observe and metrics.listen: exit $rc, output: $(tr '\n' '|' <"$dir/out" | cut -c1-300)"
fi
policy "$dir/v6.yaml" gate '"[::1]:9813"'
run check --config "$dir/v6.yaml"
[ "$rc" = 0 ] && grep -qx '  listen: "\[::1\]:9813"' "$dir/out" && ok "an IPv6 listen address in brackets" ||
	bad "check of metrics.listen [::1]:9813: exit $rc"

# line 6, column 11: the value after "  listen: "
policy "$dir/port.yaml" gate 127.0.0.1:99999
expect_error "a port out of range is FILE:LINE:COL" \
	"$dir/port.yaml:6:11: bad metrics listen address \`127.0.0.1:99999'" check --config "$dir/port.yaml"
policy "$dir/name.yaml" gate localhost:9813
expect_error "a host name (no lookups in a config) is FILE:LINE:COL" \
	"$dir/name.yaml:6:11: bad metrics listen address \`localhost:9813'" check --config "$dir/name.yaml"
policy "$dir/noport.yaml" gate 127.0.0.1
expect_error "an address without a port is FILE:LINE:COL" \
	"$dir/noport.yaml:6:11: bad metrics listen address" check --config "$dir/noport.yaml"
policy "$dir/mode.yaml" watch 127.0.0.1:9813
expect_error "an unknown mode names the three" \
	"$dir/mode.yaml:4:9: unknown gateway mode \`watch' (expected monitor, gate or observe)" check --config "$dir/mode.yaml"
cat >"$dir/key.yaml" <<EOF
geodb:
  country: $db
metrics:
  port: 9813
EOF
expect_error "an unknown key under metrics is FILE:LINE:COL" "$dir/key.yaml:4:3:" check --config "$dir/key.yaml"

expect_error "--metrics-listen checks its value" "--metrics-listen is ADDRESS:PORT" \
	run --config "$dir/good.yaml" --metrics-listen 9813
expect_error "--mode names observe" "--mode is monitor, gate or observe, not \`watch'" \
	run --config "$dir/good.yaml" --mode watch
expect_error "nft has no ruleset for observe mode" "observe mode loads no ruleset" \
	nft --config "$dir/good.yaml"
# The unit's ExecStartPre runs --dry-run in every mode; no root needed here.
run run --config "$dir/good.yaml" --dry-run
[ "$rc" = 0 ] && grep -qF "observe mode loads no ruleset" "$dir/err" &&
	ok "run --dry-run in observe mode loads the policy, has no ruleset to check, exits 0" ||
	bad "run --dry-run in observe mode: exit $rc"
expect_error "audit has no --metrics-listen" "unknown option \`--metrics-listen'" \
	audit --metrics-listen 127.0.0.1:9813 "$dir/none.pcap"

echo "$passed passed, $failed failed"
((failed == 0))
