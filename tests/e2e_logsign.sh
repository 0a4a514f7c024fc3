#!/usr/bin/env bash
# tests/e2e_logsign.sh -- a signed event log (audit --sign-key) that nobody
# without the private key can rewrite unseen: `verify-log --pubkey` finds an
# edit, a removal, a reordering, an insertion, a cut after the last signed
# checkpoint, a log re-chained without the key (checkpoints kept or
# stripped), a log signed by another key, records spliced in from another
# run, and a rotated sequence out of order.  keygen never overwrites a key
# or writes through a link, and the private key is mode 0600.  As root, the
# checkpoints also reach syslog (a listener on /dev/log in a private mount
# namespace).  Exit codes of verify-log: 0 intact, 1 tampered, 2 error.
set -uo pipefail

bin=${EF_BIN:?EF_BIN: the egressfence binary}
src=${EF_SOURCE_DIR:?EF_SOURCE_DIR: the source tree}
build=${EF_BINARY_DIR:?EF_BINARY_DIR: the build tree}
gen=${EF_GEN_EVASION:-$build/tests/gen_evasion}
policy=$src/tests/data/evasion-policy.yaml
dir=$build/tests/logsign

command -v python3 >/dev/null || { echo "skipped: python3 is not installed (scripts/setup installs it)"; exit 77; }
[ -x "$gen" ] || { echo "e2e_logsign: $gen is not built"; exit 1; }
rm -rf "$dir"
mkdir -p "$dir/pcaps"
"$gen" "$dir/pcaps" >/dev/null || exit 1
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
		echo "ok   $what: $(cat "$dir/v.out" "$dir/v.err" | head -1 | cut -c1-160)"
	fi
}

# ---- keys ---------------------------------------------------------------------
"$bin" keygen --out "$dir/k" >"$dir/keygen.out" 2>&1 || fail "keygen: $(cat "$dir/keygen.out")"
"$bin" keygen --out "$dir/other" >/dev/null 2>&1 || fail "keygen of a second key"
[ "$(stat -c %a "$dir/k.key")" = 600 ] || fail "the private key is mode $(stat -c %a "$dir/k.key"), not 600"
key_id=$(sed -n 's/^key id \([0-9a-f]\{32\}\)$/\1/p' "$dir/keygen.out")
[ -n "$key_id" ] || fail "keygen does not print the key id: $(cat "$dir/keygen.out")"
cp "$dir/k.key" "$dir/k.key.orig"
"$bin" keygen --out "$dir/k" >/dev/null 2>"$dir/again.err"
rc=$?
if [ "$rc" != 2 ] || ! grep -q "never overwrites" "$dir/again.err" || ! cmp -s "$dir/k.key" "$dir/k.key.orig"; then
	fail "keygen over an existing key: exit $rc, $(cat "$dir/again.err")"
else
	echo "ok   keygen refuses to overwrite a key"
fi
echo "precious" >"$dir/precious"
ln -s "$dir/precious" "$dir/planted.key"
"$bin" keygen --out "$dir/planted" >/dev/null 2>"$dir/planted.err"
rc=$?
if [ "$rc" != 2 ] || [ "$(cat "$dir/precious")" != precious ]; then
	fail "keygen through a planted link: exit $rc, target now \"$(head -c 80 "$dir/precious")\""
else
	echo "ok   keygen does not write through a planted symbolic link"
fi

# ---- a signed log ---------------------------------------------------------------
audit() { # OUT [extra audit args...]
	local out=$1
	shift
	"$bin" audit --config "$policy" --sign-key "$dir/k.key" --checkpoint-every 5 "$@" --json "$out" "$dir/pcaps" \
		>"$out.summary" 2>&1
	local rc=$?
	[ "$rc" = 1 ] || fail "audit --sign-key: exit $rc, expected 1: $(tail -3 "$out.summary")"
}
audit "$dir/log.json"
n=$(wc -l <"$dir/log.json")
head=$(sed -n 's/^event log: [0-9]* records, signed, final checkpoint, head \([0-9a-f]\{64\}\)$/\1/p' "$dir/log.json.summary")
[ -n "$head" ] || fail "the summary does not print the final head: $(tail -3 "$dir/log.json.summary")"
checkpoints=$(grep -c '^{"checkpoint":' "$dir/log.json")
last_cp=$(grep -n '^{"checkpoint":' "$dir/log.json" | sed -n "$((checkpoints - 1))p" | cut -d: -f1)
# The header, one event per flow, a checkpoint after every 5 events and one
# at close.
events=$(grep -vc '^{"checkpoint":\|^{"log":' "$dir/log.json")
want_cp=$((events / 5 + 1))
[ "$events" -ge 10 ] || fail "only $events events in the log"
[ "$checkpoints" = "$want_cp" ] || fail "$checkpoints checkpoints for $events events every 5 records, expected $want_cp"
head -1 "$dir/log.json" | grep -q "\"key_id\":\"$key_id\"" || fail "record 1 does not name the key id"
head -1 "$dir/log.json" | grep -q "\"policy\":{\"path\":\"[^\"]*evasion-policy.yaml\",\"sha256\":\"$(sha256sum "$policy" | cut -c1-64)\"" ||
	fail "record 1 does not carry the policy's SHA-256: $(head -c 400 "$dir/log.json")"
# and each country database's: the policy's geodb.country, relative to its folder
db_file=$(dirname "$policy")/$(sed -n 's/^  country: *//p' "$policy" | head -1)
head -1 "$dir/log.json" | grep -q "\"databases\":\[{\"path\":\"[^\"]*geo-whois-asn-country.mmdb\",\"sha256\":\"$(sha256sum "$db_file" | cut -c1-64)\"}\]" ||
	fail "record 1 does not carry the database's SHA-256: $(head -c 600 "$dir/log.json")"

verify 0 "OK, signed by key $key_id: $n records, $want_cp checkpoints verified \(closed\), head $head" "intact signed log" \
	--pubkey "$dir/k.pub" "$dir/log.json"
verify 1 "signed with key $key_id, not with the key given" "another key" --pubkey "$dir/other.pub" "$dir/log.json"

# An edit, a removal, a reordering, an insertion: the chain sees them.
sed '3s/"verdict":"block"/"verdict":"allow"/; 3s/"verdict":"log"/"verdict":"allow"/' "$dir/log.json" >"$dir/changed.json"
verify 1 ':3: record 3 was changed' "a record changed" --pubkey "$dir/k.pub" "$dir/changed.json"
sed '4d' "$dir/log.json" >"$dir/removed.json"
verify 1 ':4: record 5 is out of order|:4: record 4 was removed' "a record removed" --pubkey "$dir/k.pub" "$dir/removed.json"
{ sed -n 1,3p "$dir/log.json"; sed -n 5p "$dir/log.json"; sed -n 4p "$dir/log.json"; sed -n '6,$p' "$dir/log.json"; } >"$dir/swapped.json"
verify 1 ':4: records out of order' "two records swapped" --pubkey "$dir/k.pub" "$dir/swapped.json"
sed '6i {"ts":"2026-11-18T11:06:40.000000Z","verdict":"allow"}' "$dir/log.json" >"$dir/inserted.json"
verify 1 ':6: not a chained record' "a line inserted" --pubkey "$dir/k.pub" "$dir/inserted.json"

# Cut: after the last signed checkpoint nothing is missing from the chain's
# point of view; only the missing final checkpoint tells.
head -n "$last_cp" "$dir/log.json" >"$dir/cut-at-checkpoint.json"
verify 1 "without the final one: records were cut off the end" "cut right after a non-final checkpoint" \
	--pubkey "$dir/k.pub" "$dir/cut-at-checkpoint.json"
verify 0 "still open" "the same, as a log still being written (--open)" --pubkey "$dir/k.pub" --open \
	"$dir/cut-at-checkpoint.json"
cp1=$(grep -n '^{"checkpoint":' "$dir/log.json" | head -1 | cut -d: -f1)
head -n "$((cp1 + 4))" "$dir/log.json" >"$dir/cut.json"
verify 1 "ends 4 records after its last signed checkpoint .* without the final one" "records cut off the end" \
	--pubkey "$dir/k.pub" "$dir/cut.json"
cat "$dir/log.json" "$dir/log.json" | head -n "$((n + 2))" >"$dir/appended.json"
verify 1 "after the final signed checkpoint" "records appended after the close" --pubkey "$dir/k.pub" "$dir/appended.json"

# Re-chained without the key, as anyone who can write the file could.
# rechain.py IN OUT MODE: edits record 3, then recomputes every chain;
#   keep:  checkpoints kept as they were (their head no longer matches)
#   heads: checkpoints' records and head fields rewritten to match (the
#          signature no longer covers them)
#   strip: header and checkpoints removed, a plain chained log remains
cat >"$dir/rechain.py" <<'PY'
import hashlib, json, re, sys
src, dst, mode = sys.argv[1:4]
lines = open(src).read().splitlines()
bodies = []
for i, l in enumerate(lines):
    body = l[:l.rindex(',"chain":"')]
    body = re.sub(r',"seq":\d+$', '', body)
    body = re.sub(r'^\{"seq":\d+$', '{', body)
    if i == 2:
        body = body.replace('"verdict":"block"', '"verdict":"allow"').replace('"verdict":"log"', '"verdict":"allow"')
    if mode == 'strip' and (body.startswith('{"log":') or body.startswith('{"checkpoint":')):
        continue
    bodies.append(body)
prev = '0' * 64
out = []
for seq, body in enumerate(bodies, 1):
    if mode == 'heads' and body.startswith('{"checkpoint":'):
        body = re.sub(r'"records":\d+', '"records":%d' % (seq - 1), body)
        body = re.sub(r'"head":"[0-9a-f]{64}"', '"head":"%s"' % prev, body)
    rec = body + (',' if body != '{' else '') + '"seq":%d}' % seq
    h = hashlib.sha256((prev + rec).encode()).hexdigest()
    out.append(rec[:-1] + ',"chain":"%s"}' % h)
    prev = h
open(dst, 'w').write('\n'.join(out) + '\n')
PY
python3 "$dir/rechain.py" "$dir/log.json" "$dir/rechained.json" keep
verify 1 "this checkpoint signs records 1\.\.[0-9]+ .* the log was rewritten" "re-chained, checkpoints kept" \
	--pubkey "$dir/k.pub" "$dir/rechained.json"
python3 "$dir/rechain.py" "$dir/log.json" "$dir/reheaded.json" heads
verify 0 "OK, $n records.*give --pubkey" "re-chained with checkpoints rewritten: only the key can tell" "$dir/reheaded.json"
verify 1 "signature of the checkpoint .* does not verify" "re-chained, checkpoints' heads rewritten" \
	--pubkey "$dir/k.pub" "$dir/reheaded.json"
python3 "$dir/rechain.py" "$dir/log.json" "$dir/stripped.json" strip
verify 1 ":1: the log is not signed" "re-chained, header and checkpoints stripped" --pubkey "$dir/k.pub" "$dir/stripped.json"

# Spliced: the first part of one run and the rest of another run with the
# same key, the chain recomputed across the joint.
audit "$dir/log2.json"
first_cp=$(grep -n '^{"checkpoint":' "$dir/log.json" | head -1 | cut -d: -f1)
{ head -n "$first_cp" "$dir/log.json"; tail -n "+$((first_cp + 1))" "$dir/log2.json"; } >"$dir/spliced-raw.json"
python3 - "$dir/spliced-raw.json" "$dir/spliced.json" <<'PY'
import hashlib, re, sys
lines = open(sys.argv[1]).read().splitlines()
prev = '0' * 64
out = []
for seq, l in enumerate(lines, 1):
    body = re.sub(r',"seq":\d+$', '', l[:l.rindex(',"chain":"')])
    rec = body + ',"seq":%d}' % seq
    h = hashlib.sha256((prev + rec).encode()).hexdigest()
    out.append(rec[:-1] + ',"chain":"%s"}' % h)
    prev = h
open(sys.argv[2], 'w').write('\n'.join(out) + '\n')
PY
verify 1 "belongs to another log .*spliced" "spliced from two runs" --pubkey "$dir/k.pub" "$dir/spliced.json"

# Rotation: the second file names the first one's final head and chains on.
audit "$dir/rot2.json" --previous-head "$head"
head -1 "$dir/rot2.json" | grep -q "\"previous_head\":\"$head\"" || fail "a rotated log does not name the previous head"
verify 0 "rot2.json: OK, signed" "a rotated sequence in order" --pubkey "$dir/k.pub" "$dir/log.json" "$dir/rot2.json"
verify 1 "does not continue the one before it" "a rotated sequence out of order" --pubkey "$dir/k.pub" \
	"$dir/rot2.json" "$dir/log.json"
verify 1 "log2.json:1: this log does not continue" "a file that is not the next one" --pubkey "$dir/k.pub" \
	"$dir/log.json" "$dir/log2.json"

# User errors.
verify 2 "not an Ed25519 public key" "a public key that is not one" --pubkey "$policy" "$dir/log.json"
verify 2 "No such file" "a missing public key" --pubkey "$dir/none.pub" "$dir/log.json"
"$bin" audit --config "$policy" --sign-key "$dir/none.key" --json "$dir/x.json" "$dir/pcaps" >/dev/null 2>"$dir/nokey.err"
rc=$?
[ "$rc" = 2 ] && grep -q "none.key: No such file" "$dir/nokey.err" && [ ! -e "$dir/x.json" ] ||
	fail "audit with a missing key: exit $rc, $(cat "$dir/nokey.err"), log left: $(ls "$dir/x.json" 2>/dev/null)"
"$bin" audit --config "$policy" --sign-key "$dir/k.pub" --json "$dir/x.json" "$dir/pcaps" >/dev/null 2>"$dir/pubkey.err"
rc=$?
[ "$rc" = 2 ] && grep -q "not an Ed25519 private key" "$dir/pubkey.err" ||
	fail "audit signing with a public key: exit $rc, $(cat "$dir/pubkey.err")"
"$bin" audit --config "$policy" --checkpoint-every 3 --json "$dir/x.json" "$dir/pcaps" >/dev/null 2>"$dir/nosign.err"
rc=$?
[ "$rc" = 2 ] && grep -q "go with --sign-key" "$dir/nosign.err" || fail "--checkpoint-every without a key: exit $rc"

# ---- checkpoints to syslog ------------------------------------------------------
if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
	echo "skipped: the syslog check needs root and mount namespaces"
	[ "$failed" = 0 ] || { echo "e2e_logsign: $failed failed"; exit 1; }
	exit 77
fi
cat >"$dir/listen.py" <<'PY'
import os, socket, sys, time
path, out, ready = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
open(ready, 'w').close()
s.settimeout(20)
with open(out, 'ab') as f:
    try:
        while True:
            m = s.recv(65536)
            f.write(m + b'\n')
            f.flush()
            if b'final=1' in m:
                break
    except socket.timeout:
        pass
PY
# A private mount namespace with its own /dev, so that syslog(3), which
# always writes to /dev/log, reaches the listener and nothing else.
unshare -m bash -c '
	set -e
	mount --make-rprivate /
	mount -t tmpfs tmpfs /dev
	mknod -m 666 /dev/null c 1 3
	mknod -m 666 /dev/urandom c 1 9
	python3 "$1/listen.py" /dev/log "$1/syslog.txt" "$1/ready" &
	for i in $(seq 50); do [ -e "$1/ready" ] && break; sleep 0.1; done
	"$2" audit --config "$3" --sign-key "$1/k.key" --checkpoint-every 5 --checkpoint-syslog \
		--json "$1/syslogged.json" "$1/pcaps" >/dev/null 2>&1 || [ $? = 1 ]
	wait
' _ "$dir" "$bin" "$policy"
final=$(tail -1 "$dir/syslogged.json")
fid=$(sed -n 's/.*"log_id":"\([0-9a-f]*\)".*/\1/p' <<<"$final")
fhead=$(sed -n 's/.*"head":"\([0-9a-f]*\)".*/\1/p' <<<"$final")
if [ -s "$dir/syslog.txt" ] && grep -q "egressfence\[[0-9]*\]: checkpoint log_id=$fid records=[0-9]* head=$fhead final=1 key_id=$key_id sig=" "$dir/syslog.txt" &&
	[ "$(grep -c "checkpoint log_id=$fid" "$dir/syslog.txt")" = "$want_cp" ]; then
	echo "ok   every checkpoint ($want_cp) also went to syslog, the final one with the log's final head"
else
	fail "checkpoints in syslog: $(cat "$dir/syslog.txt" 2>/dev/null | head -3)"
fi

echo "e2e_logsign: $failed failed"
[ "$failed" = 0 ]
