#!/usr/bin/env bash
# End-to-end: the summary audit prints, against its own events (jq): the
# country x encryption x verdict table (flows, bytes out, bytes in), flows
# blocked or logged listed by start time whatever the number of workers,
# IPv6 addresses bracketed with their ports, the unknown country written
# as "none" everywhere, and the version and commit that wrote it.  The
# progress line appears on a terminal only (script(1) gives one).
set -uo pipefail
BIN=${EF_BIN:-build/egressfence}
SRC=${EF_SOURCE_DIR:-.}
command -v jq >/dev/null || { echo "skipped: jq is not installed (scripts/setup installs it)"; exit 77; }
DB=$(realpath "$SRC")/geodb/db/node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb
[ -s "$DB" ] || { echo "skipped: the pinned country database is not installed (scripts/setup)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0 checks=0
ok() { checks=$((checks + 1)); echo "ok   $1"; }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL $1"; }
same() { if [ "$2" == "$3" ]; then ok "$1"; else bad "$1: summary says '$2', events say '$3'"; fi; }

# The sample, and a policy whose overrides place nothing, so that flows to
# addresses no database places have no country.
sed '/overrides:/,/^$/{/cidr/d}' "$SRC/samples/sample-policy.yaml" | sed 's/  overrides:/  overrides: []/' \
	>"$tmp/no-overrides.yaml"
for cfg in "$SRC/samples/sample-policy.yaml" "$tmp/no-overrides.yaml"; do
	name=$(basename "$cfg" .yaml)
	"$BIN" audit --workers 2 --config "$cfg" --db "$DB" --json "$tmp/$name.json" "$SRC/samples/sample.pcap" \
		>"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
	[ "$rc" -le 1 ] || { bad "$name: audit exited $rc: $(head -3 "$tmp/$name.err")"; continue; }
	same "$name: table" \
		"$(awk '/^country  *encryption/{t=1;next} t&&NF==0{t=0} t{print $1,$2,$3,$4,$5,$6}' "$tmp/$name.out" | sort)" \
		"$(jq -rs 'group_by([(.dst_country // "none"), .encryption, .verdict])[] |
			"\(.[0].dst_country // "none") \(.[0].encryption) \(.[0].verdict) \(length) \(map(.bytes_out)|add) \(map(.bytes_in)|add)"' \
			"$tmp/$name.json" | sort)"
	same "$name: listed by start time, IPv6 bracketed" \
		"$(sed -n '/^flows blocked or logged/,/^$/{/^  /p}' "$tmp/$name.out" | awk '{print $3, $4, $6, $7}')" \
		"$(jq -rs 'def ap(ip; p): if p == 0 then ip elif (ip|test(":")) then "[\(ip)]:\(p)" else "\(ip):\(p)" end;
			[.[] | select(.verdict != "allow")] | sort_by(.ts) | .[] |
			"\(.ts) \(ap(.src_ip; .src_port)) \(ap(.dst_ip; .dst_port)) \(.dst_country // "none")"' "$tmp/$name.json")"
	grep -q -- '--' "$tmp/$name.out" && bad "$name: '--' still stands for a country" || ok "$name: no '--' country"
	grep -Eq "^written by egressfence $("$BIN" version | cut -d' ' -f2) \(commit [0-9a-f]{7,}(-dirty)?\)$" "$tmp/$name.out" &&
		ok "$name: names version and commit" || bad "$name: no version line: $(tail -1 "$tmp/$name.out")"
done
jq -e -s 'any(.[]; .dst_country == null)' "$tmp/no-overrides.json" >/dev/null &&
	ok "no-overrides: some flow has no country (the 'none' rows above were tested)" ||
	bad "no-overrides: every flow has a country: the 'none' case was not exercised"

# Progress: silent when stderr is not a terminal; on a terminal (script -c)
# a line with files, bytes, flows and rate once the audit runs long enough.
grep -q '\[progress\]\|files read' "$tmp/sample-policy.err" && bad "progress printed to a file" || ok "no progress line when stderr is a file"
if command -v script >/dev/null; then
	EF_PROGRESS_AFTER_MS=0 script -qec "$BIN audit --config $SRC/samples/sample-policy.yaml $SRC/samples/sample.pcap >/dev/null" \
		"$tmp/typescript" >/dev/null 2>&1
	grep -aq "1/1 files, .* MiB, 22 flows" "$tmp/typescript" && ok "progress line on a terminal" ||
		bad "no progress line on a terminal: $(tr '\r' '\n' <"$tmp/typescript" | tail -3)"
else
	echo "(script(1) is absent: the terminal case is not tested)"
fi

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
