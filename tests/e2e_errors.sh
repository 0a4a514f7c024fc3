#!/usr/bin/env bash
# tests/e2e_errors.sh -- every error a user can cause ends with exit 2 and a
# message on stderr that says what was wrong and where: the offending flag,
# value, file, or file:line:column.  One check per path.
#
# Errors found before the audit starts must leave stdout empty (no
# half-written report).  A capture that turns out bad while being read is
# different: what could be read is reported, the bad file is named with a
# warning, and the exit is still 2.
set -uo pipefail

bin=${EF_BIN:?EF_BIN: the egressfence binary}
src=${EF_SOURCE_DIR:?EF_SOURCE_DIR: the source tree}
build=${EF_BINARY_DIR:?EF_BINARY_DIR: the build tree}
gen=${EF_GEN_EVASION:-$build/tests/gen_evasion}
dir=$build/tests/errors
policy=$src/policy/default.yaml

command -v python3 >/dev/null || { echo "e2e_errors: python3 is needed to write the broken captures"; exit 77; }
[ -x "$gen" ] || { echo "e2e_errors: $gen is not built"; exit 1; }
rm -rf "$dir"
mkdir -p "$dir/pcaps" "$dir/cfg" "$dir/emptydir" "$dir/moved"
# Copies of the default policy find its country lists beside them.
cp "$src/policy/lists.yaml" "$dir/cfg/" && cp "$src/policy/lists.yaml" "$dir/moved/"
"$gen" "$dir/pcaps" || exit 1
good=$dir/pcaps/http-on-443.pcap

failed=0
passed=0

# run WHAT ARGS...: runs the binary, leaves rc, out, err
run() {
	"$bin" "$@" >"$dir/out" 2>"$dir/err"
	rc=$?
}

check() {
	local what=$1 pattern=$2 stdout_empty=$3
	if [ "$rc" != 2 ]; then
		echo "FAIL $what: exit $rc, expected 2"
		sed 's/^/    /' "$dir/err" | head -5
		failed=$((failed + 1))
	elif ! head -1 "$dir/err" | grep -q '^egressfence: '; then
		echo "FAIL $what: the first line on stderr is not an egressfence message: $(head -1 "$dir/err")"
		failed=$((failed + 1))
	elif ! grep -Eq -- "$pattern" "$dir/err"; then
		echo "FAIL $what: stderr does not match /$pattern/:"
		sed 's/^/    /' "$dir/err" | head -5
		failed=$((failed + 1))
	elif [ "$stdout_empty" = yes ] && [ -s "$dir/out" ]; then
		echo "FAIL $what: wrote to stdout before failing: $(head -2 "$dir/out")"
		failed=$((failed + 1))
	else
		echo "ok   $what: $(head -1 "$dir/err")"
		passed=$((passed + 1))
	fi
}

# usage_error WHAT PATTERN ARGS...: exit 2, message, nothing on stdout
usage_error() {
	local what=$1 pattern=$2
	shift 2
	run "$@"
	check "$what" "$pattern" yes
}

# input_error WHAT PATTERN ARGS...: exit 2 and the message; stdout may hold
# the report of what could be read
input_error() {
	local what=$1 pattern=$2
	shift 2
	run "$@"
	check "$what" "$pattern" no
}

# ---- the command line -------------------------------------------------------
usage_error "no command" "a command is needed"
usage_error "unknown command" "unknown command \`frobnicate'" frobnicate
usage_error "unknown option" "unknown option \`--bogus'" audit --bogus "$good"
usage_error "unknown short option" "unknown option \`-x'" audit -x "$good"
usage_error "option without its value" "option \`--config' needs a value" audit --config
usage_error "--workers 0" "--workers is a number from 1 to 16, not \`0'" audit --workers 0 "$good"
usage_error "--workers 17" "--workers is a number from 1 to 16, not \`17'" audit --workers 17 "$good"
usage_error "--workers abc" "--workers is a number from 1 to 16, not \`abc'" audit --workers abc "$good"
usage_error "--max-flows too small" "--max-flows is a number from 16 to 100000000, not \`3'" audit --max-flows 3 "$good"
usage_error "--max-flows not a number" "--max-flows .* not \`1e6'" audit --max-flows 1e6 "$good"
usage_error "five databases" "at most 4 databases; \`e' is one too many" audit --db a --db b --db c --db d --db e "$good"
usage_error "audit without captures" "audit needs at least one capture" audit --config "$policy"
usage_error "--chain without --json" "--chain needs --json" audit --config "$policy" --chain "$good"
usage_error "check without --config" "check needs --config" check
usage_error "check with an argument" "check takes no arguments; \`extra' is extra" check --config "$policy" extra
# Given with its value as the next argument, the option is still the one
# named, not its value (argv[optind-1] is `x' here).
usage_error "option that does not apply" "option \`--json' does not apply" check --config "$policy" --json x
usage_error "lookup without addresses" "lookup needs at least one address" lookup --config "$policy"
usage_error "lookup of a non-address" "\`1.2.3' is not an IPv4 or IPv6 address" lookup --config "$policy" 1.2.3

# ---- the policy file ---------------------------------------------------------
usage_error "missing config" "$dir/cfg/none.yaml: cannot open policy: No such file" \
	audit --config "$dir/cfg/none.yaml" "$good"
usage_error "config is a folder" "$dir/cfg: cannot read policy: Is a directory" audit --config "$dir/cfg" "$good"
EGRESSFENCE_CONFIG=$dir/cfg/env.yaml run lookup 192.0.2.1
check "missing \$EGRESSFENCE_CONFIG" "$dir/cfg/env.yaml: cannot open policy" yes
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	# Root reads any file: drop to nobody to see a permission error.
	cp "$policy" "$dir/cfg/secret.yaml"
	chmod 000 "$dir/cfg/secret.yaml"
	chmod 755 "$dir" "$dir/cfg"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" check --config "$dir/cfg/secret.yaml" \
		>"$dir/out" 2>"$dir/err"
	rc=$?
	check "unreadable config" "secret.yaml: cannot open policy: Permission denied" yes
fi

printf 'rules: [\n' >"$dir/cfg/syntax.yaml"
usage_error "YAML syntax error" "syntax.yaml:2:1: " check --config "$dir/cfg/syntax.yaml"
printf 'rules:\n  - name: x\n    action: block\n   to: CN\n' >"$dir/cfg/indent.yaml"
usage_error "YAML bad indentation" "indent.yaml:4:[0-9]+: " check --config "$dir/cfg/indent.yaml"
: >"$dir/cfg/empty.yaml"
usage_error "empty config" "empty.yaml:1:1: the policy is empty" check --config "$dir/cfg/empty.yaml"
head -c 300 /dev/urandom >"$dir/cfg/binary.yaml"
usage_error "binary garbage as config" "binary.yaml(:[0-9]+:[0-9]+)?: " check --config "$dir/cfg/binary.yaml"
sed 's/^fail_open: false/fail_opn: false/' "$policy" >"$dir/cfg/key.yaml"
usage_error "unknown key" "key.yaml:[0-9]+:1: unknown key \`fail_opn'" check --config "$dir/cfg/key.yaml"
sed 's/embargoed: \["@us-embargo"\]/embargoed: ["@us-embargo", XX]/' "$policy" >"$dir/cfg/cc.yaml"
usage_error "unknown country code" "cc.yaml:[0-9]+:[0-9]+: unknown country code \`XX'" check --config "$dir/cfg/cc.yaml"
sed 's#internal: \[10.0.0.0/8#internal: [10.0.0.1/8#' "$policy" >"$dir/cfg/cidr.yaml"
usage_error "CIDR with host bits" "cidr.yaml:[0-9]+:[0-9]+: bad CIDR \`10.0.0.1/8'" check --config "$dir/cfg/cidr.yaml"
sed 's#action: block#action: drop#' "$policy" >"$dir/cfg/action.yaml"
usage_error "unknown action" "action.yaml:[0-9]+:[0-9]+: unknown action \`drop'" check --config "$dir/cfg/action.yaml"

# ---- the country database ----------------------------------------------------
sed "s#^  country: .*#  country: $dir/none.mmdb#" "$policy" >"$dir/cfg/nodb.yaml"
usage_error "database named in the policy is missing" "$dir/none.mmdb: cannot read" \
	audit --config "$dir/cfg/nodb.yaml" "$good"
usage_error "--db missing" "$dir/none.mmdb: cannot read" audit --config "$policy" --db "$dir/none.mmdb" "$good"
usage_error "--db is not a database" "$dir/cfg/empty.yaml: .*not a MaxMind DB file" \
	audit --config "$policy" --db "$dir/cfg/empty.yaml" "$good"
usage_error "--db is a YAML file" "$policy: not a MaxMind DB file" audit --config "$policy" --db "$policy" "$good"
usage_error "--db is a capture" "$good: not a MaxMind DB file" audit --config "$policy" --db "$good" "$good"
if [ -f "$build/tests/data/test-asn.mmdb" ]; then
	usage_error "--db without country data (an ASN database)" "test-asn.mmdb: database type \`GeoLite2-ASN' has no country data" \
		audit --config "$policy" --db "$build/tests/data/test-asn.mmdb" "$good"
fi

# ---- outputs ---------------------------------------------------------------
usage_error "--json into a missing folder" "$dir/nowhere/x.json(.partial)?: No such file" \
	audit --config "$policy" --json "$dir/nowhere/x.json" "$good"
usage_error "--json is a folder" "$dir: Is a directory" audit --config "$policy" --json "$dir" "$good"
# --json FILE is written only once the captures are checked (to
# FILE.partial, renamed at the end): a typo in a capture's name leaves the
# previous log of that name whole.
echo "previous log" >"$dir/previous.json"
usage_error "missing capture" "$dir/none.pcap: No such file" audit --config "$policy" --json "$dir/previous.json" "$dir/none.pcap"
if [ "$(cat "$dir/previous.json")" != "previous log" ]; then
	echo "FAIL missing capture: the existing --json file was truncated although the audit never started"
	failed=$((failed + 1))
fi

# A link planted where the events go (the run may be root's) is refused,
# and what it points at is left as it was: at FILE, at FILE.partial, and a
# dangling link at FILE.partial that would create its target.
# target_untouched WHAT FILE CONTENT: FILE still holds CONTENT
target_untouched() {
	if [ "$(cat "$2" 2>/dev/null)" != "$3" ]; then
		echo "FAIL $1: the link's target was written: $(head -c 80 "$2" 2>/dev/null)"
		failed=$((failed + 1))
	fi
}
mkdir -p "$dir/links"
echo "root's file" >"$dir/links/victim"
ln -sf "$dir/links/victim" "$dir/links/events.json"
usage_error "--json FILE is a symbolic link" "events.json: is a symbolic link; not writing through it" \
	audit --config "$policy" --json "$dir/links/events.json" "$good"
target_untouched "--json FILE is a symbolic link" "$dir/links/victim" "root's file"
[ -L "$dir/links/events.json" ] || { echo "FAIL --json FILE is a symbolic link: the link was replaced"; failed=$((failed + 1)); }
ln -sf "$dir/links/victim" "$dir/links/log.json.partial"
usage_error "--json FILE.partial is a symbolic link" "log.json.partial: is a symbolic link; not writing there" \
	audit --config "$policy" --json "$dir/links/log.json" "$good"
target_untouched "--json FILE.partial is a symbolic link" "$dir/links/victim" "root's file"
[ ! -e "$dir/links/log.json" ] || { echo "FAIL --json FILE.partial is a symbolic link: log.json was written"; failed=$((failed + 1)); }
ln -sf "$dir/links/created" "$dir/links/new.json.partial"
usage_error "--json FILE.partial is a dangling link" "new.json.partial: is a symbolic link" \
	audit --config "$policy" --json "$dir/links/new.json" "$good"
if [ -e "$dir/links/created" ]; then
	echo "FAIL --json FILE.partial is a dangling link: its target was created"
	failed=$((failed + 1))
fi
# A stale FILE.partial of our own (an earlier run killed) is replaced.
echo "stale" >"$dir/links/ok.json.partial"
"$bin" audit --config "$policy" --json "$dir/links/ok.json" "$good" >/dev/null 2>"$dir/err"
if [ ! -s "$dir/links/ok.json" ] || [ -e "$dir/links/ok.json.partial" ] || grep -q stale "$dir/links/ok.json"; then
	echo "FAIL a stale FILE.partial of ours: not replaced by the run's events"
	failed=$((failed + 1))
else
	echo "ok   a stale FILE.partial of ours is replaced"
	passed=$((passed + 1))
fi
# A device named as the events file (/dev/null, say) is written as it is:
# renaming FILE.partial over it would turn the machine's device node into a
# regular file.
if [ "$(id -u)" = 0 ] && mknod -m 666 "$dir/links/nulldev" c 1 3 2>/dev/null; then
	"$bin" audit --config "$policy" --json "$dir/links/nulldev" "$good" >/dev/null 2>"$dir/err"
	rc=$?
	if [ "$rc" != 1 ] || [ ! -c "$dir/links/nulldev" ] || [ -e "$dir/links/nulldev.partial" ]; then
		echo "FAIL --json a character device: exit $rc, $(ls -l "$dir/links/nulldev" 2>&1) $(cat "$dir/err")"
		failed=$((failed + 1))
	else
		echo "ok   --json a character device: written through, still a device"
		passed=$((passed + 1))
	fi
else
	echo "note: --json to a character device not checked (needs root for mknod)"
fi

# ---- captures -------------------------------------------------------------
usage_error "empty folder" "no capture files in $dir/emptydir" audit --config "$policy" "$dir/emptydir"

python3 - "$dir" "$good" <<'PY'
import struct, sys
d, good = sys.argv[1], sys.argv[2]
hdr = lambda dlt: struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, dlt)
rec = lambda data: struct.pack('<IIII', 1795000000, 0, len(data), len(data)) + data
open(d + '/empty.pcap', 'wb').close()
open(d + '/header-only.pcap', 'wb').write(hdr(1))
open(d + '/text.pcap', 'wb').write(b'this is not a capture file\n' * 4)
open(d + '/linktype.pcap', 'wb').write(hdr(147) + rec(b'\x45' + b'\0' * 39))
# A record header claiming 2 GB: libpcap refuses it.
open(d + '/corrupt.pcap', 'wb').write(hdr(1) + struct.pack('<IIII', 1795000000, 0, 0x7fffffff, 0x7fffffff) + b'\0' * 64)
g = open(good, 'rb').read()
open(d + '/truncated.pcap', 'wb').write(g[:len(g) - 30])
PY

input_error "empty capture (0 bytes)" "warning: $dir/empty.pcap: not a readable capture" audit --config "$policy" "$dir/empty.pcap"
input_error "not a capture" "warning: $dir/text.pcap: not a readable capture: unknown file format" \
	audit --config "$policy" "$dir/text.pcap"
input_error "unknown link type" "warning: $dir/linktype.pcap: link type 147 .* is not supported" \
	audit --config "$policy" "$dir/linktype.pcap"
input_error "corrupt record header" "warning: $dir/corrupt.pcap: stopped reading at byte [0-9]+" \
	audit --config "$policy" "$dir/corrupt.pcap"
input_error "truncated capture" "warning: $dir/truncated.pcap: stopped reading at byte [0-9]+: truncated" \
	audit --config "$policy" "$dir/truncated.pcap"
grep -q "capture file could not be read to the end" "$dir/err" ||
	{ echo "FAIL truncated capture: no closing line saying files could not be read"; failed=$((failed + 1)); }
# A bad file among good ones: the good ones are still audited, and the bad
# one is named.
mkdir -p "$dir/mixed"
cp "$good" "$dir/mixed/a.pcap"
cp "$dir/corrupt.pcap" "$dir/mixed/b.pcap"
input_error "a corrupt file among good ones" "warning: $dir/mixed/b.pcap" audit --config "$policy" "$dir/mixed"
grep -q "1 flows" "$dir/out" || { echo "FAIL a corrupt file among good ones: the good file was not audited"; failed=$((failed + 1)); }
# Data under a protocol the decoder cannot read (red team F12, when MPLS was
# one): the audit is incomplete, so it exits 2 and says so, naming the first
# such frame, instead of exit 0 or 1 as if everything had been examined.
# The readable flow beside it is still judged.
unreadable=$dir/unreadable-ethertype.pcap
"$gen" --unreadable "$unreadable" || exit 1
input_error "data under an unreadable ethertype" \
	"warning: $unreadable: frame 11: ethertype 0x88b5 is not something this audit can read: its data was not examined" \
	audit --config "$policy" --json "$dir/unreadable.json" --report "$dir/unreadable.html" "$unreadable"
if ! grep -q "^WARNING: 10 frames carried a protocol this audit cannot read: their data was NOT examined" "$dir/out" ||
	! grep -q "^egressfence: 10 frames carried data this audit could not examine" "$dir/err" ||
	! grep -q "<li class=warn>10 frames carried a protocol the audit cannot read" "$dir/unreadable.html" ||
	[ "$(wc -l <"$dir/unreadable.json")" != 1 ]; then
	echo "FAIL data under an unreadable ethertype: no WARNING in the summary or the record's gaps, no closing line, or not one event:"
	sed 's/^/    /' "$dir/out" "$dir/err" | head -8
	failed=$((failed + 1))
fi

# Not errors: a capture with no packets is a valid, empty capture.
run audit --config "$policy" "$dir/header-only.pcap"
if [ "$rc" = 0 ] && grep -q "0 frames" "$dir/out"; then
	echo "ok   a capture with a header and no packets is not an error"
	passed=$((passed + 1))
else
	echo "FAIL a capture with a header and no packets: exit $rc: $(cat "$dir/err")"
	failed=$((failed + 1))
fi

# ---- a policy whose databases do not open (issue 11) ------------------------
# The default policy names its database relative to its own folder; a copy
# placed anywhere else names a file that is not there.  Every command fails
# at the file:line:col of that path, check included, and says where
# relative paths start.
mkdir -p "$dir/moved"
cp "$policy" "$dir/moved/policy.yaml"
dbline=$(grep -n '^  country: ' "$policy" | head -1 | cut -d: -f1)
moved="$dir/moved/policy.yaml:$dbline:12: geodb.country \`\.\./geodb/db/node_modules/.*\.mmdb' is relative to the policy's folder: $dir/moved/\.\./geodb/db/.*cannot read"
usage_error "check: a copied default policy's relative database path" "$moved" check --config "$dir/moved/policy.yaml"
usage_error "lookup: a copied default policy's relative database path" "$moved" lookup --config "$dir/moved/policy.yaml" 192.0.2.1
usage_error "nft: a copied default policy's relative database path" "$moved" nft --config "$dir/moved/policy.yaml"
usage_error "audit: a copied default policy's relative database path" "$moved" audit --config "$dir/moved/policy.yaml" "$good"
# The second of two databases is the one that does not open: its own line.
pinned=$(cd "$src/policy" && realpath -m "$(sed -n 's/^  country: //p' default.yaml | head -1)")
awk -v good="$pinned" '/^  country: / { print "  country:"; print "    - " good; print "    - missing.mmdb"; next } { print }' \
	"$policy" >"$dir/cfg/twodb.yaml"
usage_error "check: the second database of a list does not open" \
	"twodb.yaml:$((dbline + 2)):7: geodb.country \`missing.mmdb' is relative to the policy's folder: $dir/cfg/missing.mmdb: cannot read" \
	check --config "$dir/cfg/twodb.yaml"
sed "s#^  country: .*#  country: $policy#" "$policy" >"$dir/cfg/yamldb.yaml"
usage_error "check: a policy's database that is not a MaxMind DB" \
	"yamldb.yaml:$dbline:12: geodb.country: $policy: not a MaxMind DB file" check --config "$dir/cfg/yamldb.yaml"
grep -q "relative" "$dir/err" && { echo "FAIL an absolute database path is said to be relative: $(cat "$dir/err")"; failed=$((failed + 1)); }
usage_error "help for a command that does not exist" "help: no command \`nosuch'" help nosuch

# Not errors: check lists each database it opened, after the policy, as
# YAML comments; help COMMAND prints that command's options and exit codes;
# version names the commit, the libraries and the database's build date.
run check --config "$policy"
if [ "$rc" = 0 ] && grep -Eq "^# database $src/policy/\.\./geodb/db/.*\.mmdb: .*, built [0-9]{4}-[0-9]{2}-[0-9]{2} " "$dir/out"; then
	echo "ok   check prints each database it opened: $(grep '^# database' "$dir/out" | cut -c1-60)..."
	passed=$((passed + 1))
else
	echo "FAIL check of the default policy: exit $rc, no '# database PATH: TYPE, built DATE' line: $(tail -1 "$dir/out") $(cat "$dir/err")"
	failed=$((failed + 1))
fi
help_ok=1
for cmd in audit check lookup run nft verify-log keygen version help; do
	run help "$cmd"
	if [ "$rc" != 0 ] || ! grep -q "^usage: egressfence $cmd" "$dir/out" || ! grep -q "^exit codes: 0" "$dir/out"; then
		echo "FAIL help $cmd: exit $rc: $(head -2 "$dir/out")"
		failed=$((failed + 1))
		help_ok=0
	fi
done
run help audit
grep -q -- "--max-flows N" "$dir/out" && grep -q -- "--sign-key KEY" "$dir/out" && ! grep -q "^egressfence check" "$dir/out" ||
	{ echo "FAIL help audit does not list audit's options alone"; failed=$((failed + 1)); help_ok=0; }
[ "$help_ok" = 1 ] && { echo "ok   help COMMAND prints each command's usage, options and exit codes"; passed=$((passed + 1)); }
run --version
if [ "$rc" = 0 ] && grep -Eq '^egressfence [0-9.]+ \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)$' "$dir/out" &&
	grep -q '^nDPI [0-9]' "$dir/out" && grep -q '^libmaxminddb [0-9]' "$dir/out" &&
	grep -Eq '^default database: .*\(.*built [0-9]{4}-' "$dir/out"; then
	echo "ok   --version: $(head -1 "$dir/out"), $(sed -n 2p "$dir/out"), $(sed -n 3p "$dir/out")"
	passed=$((passed + 1))
else
	echo "FAIL --version: exit $rc: $(cat "$dir/out")"
	failed=$((failed + 1))
fi

echo "e2e_errors: $passed passed, $failed failed"
[ "$failed" = 0 ]
