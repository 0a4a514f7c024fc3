#!/usr/bin/env bash
# End-to-end: tuning a policy safely (issue 10).  Country lists are dated
# data the default policy includes, and `check' prints their sources and
# warns when one is stale; exceptions apply in an audit until their `until'
# (judged at the flow's time) and their events name them; `check' says when
# one expired and which rules can never fire; `lookup --from/--port/--app'
# judges rules with those conditions; `audit --compare' shows what a new
# policy would change; regions from City databases of both layouts reach
# lookup, the events (dst_region) and the rules.  Everything runs on samples/sample.pcap, whose flows
# are from 2026-11-23.
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
SAMPLE=$SRC/samples/sample.pcap

# ---- country lists ------------------------------------------------------------
"$BIN" check --config "$SRC/policy/default.yaml" >"$tmp/check.out" 2>"$tmp/check.err"
rc=$?
if [ $rc -eq 0 ] && grep -q '^# list @us-d5: 15 CFR Part 740, Supplement No. 1, Country Group D, column D:5; checked [0-9-]* (' "$tmp/check.out" &&
	grep -q '^#     NI: added 2024-03-15, 89 FR 18780$' "$tmp/check.out"; then
	ok "check prints each list's source, date and per-entry notes"
else
	bad "check of the default policy (rc $rc): $(grep '^# list' "$tmp/check.out" | head -2) $(head -2 "$tmp/check.err")"
fi
mkdir "$tmp/old"
sed 's/checked: 2026-11-27/checked: 2019-01-01/' "$SRC/policy/lists.yaml" >"$tmp/old/lists.yaml"
sed "s#^  country: .*#  country: $DB#" "$SRC/policy/default.yaml" >"$tmp/old/policy.yaml"
"$BIN" check --config "$tmp/old/policy.yaml" >/dev/null 2>"$tmp/old.err"
if grep -q "^$tmp/old/lists.yaml:[0-9]*:14: warning: list \`us-d5' was checked 2019-01-01, [0-9]* days ago (more than lists.max_age_days, 180)" "$tmp/old.err" &&
	! grep -q "eu-arms-embargo" "$tmp/old.err"; then
	ok "check warns about a stale list the policy uses, and only those"
else
	bad "stale lists: $(cat "$tmp/old.err")"
fi

# ---- exceptions ---------------------------------------------------------------
# The sample's CN web server is 198.51.100.10; its cleartext flows are blocked.
policy_with() {
	{ cat "$SRC/samples/sample-policy.yaml"; printf '%s\n' "$@"; } |
		sed "s#^  country: .*#  country: $DB#"
}
policy_with "exceptions:" \
	"  - { name: cn-web, cidr: 198.51.100.10, ports: [80], until: 2026-12-31, owner: alice, reason: \"ticket 1\" }" \
	>"$tmp/exc.yaml"
"$BIN" audit --config "$tmp/exc.yaml" --db "$DB" --json "$tmp/exc.json" "$SAMPLE" >/dev/null 2>"$tmp/exc.err"
excepted=$(jq -c 'select(.dst_ip == "198.51.100.10" and .dst_port == 80) | [.verdict, .rule, .exception]' "$tmp/exc.json" | sort -u)
others=$(jq -c 'select(.exception != null and (.dst_ip != "198.51.100.10" or .dst_port != 80))' "$tmp/exc.json")
if [ "$excepted" == '["allow",null,"cn-web"]' ] && [ -z "$others" ]; then
	ok "an exception in force allows its flows, and their events name it"
else
	bad "exception in force: $excepted / others: $others $(head -2 "$tmp/exc.err")"
fi
policy_with "exceptions:" \
	"  - { name: cn-web, cidr: 198.51.100.10, ports: [80], until: 2026-11-22, owner: alice, reason: \"ticket 1\" }" \
	>"$tmp/expired.yaml"
"$BIN" audit --config "$tmp/expired.yaml" --db "$DB" --json "$tmp/expired.json" "$SAMPLE" >/dev/null 2>&1
expired=$(jq -c 'select(.dst_ip == "198.51.100.10" and .dst_port == 80) | [.verdict, .exception]' "$tmp/expired.json" | sort -u)
if [ "$expired" == '["block",null]' ]; then
	ok "an exception that ended before the flows were sent does not apply"
else
	bad "expired exception: $expired"
fi
"$BIN" check --config "$tmp/expired.yaml" >"$tmp/expired.out" 2>"$tmp/expired.err"
if grep -q "expired.yaml:[0-9]*:[0-9]*: warning: exception \`cn-web' (owner alice) expired after 2026-11-22 and no longer applies" "$tmp/expired.err"; then
	ok "check says an exception expired"
else
	bad "check of an expired exception: $(cat "$tmp/expired.err")"
fi

# ---- lookup --from/--port/--app, and check's dead rules --------------------------
TESTDB=${EF_BINARY_DIR:-build}/tests/data/test-iplocation.mmdb # 198.51.100.0/24 is CN
cat >"$tmp/lk.yaml" <<-EOT
	geodb: { country: $(realpath "$TESTDB") }
	networks: { internal: [10.0.0.0/8] }
	rules:
	  - { name: lab-cn, from: [10.9.0.0/16], to: CN, action: block }
	  - { name: ssh-cn, to: CN, ports: [22], action: log }
	  - { name: tls-cn, to: CN, app: [TLS], action: log }
	  - { name: dead, to: CN, app: [TLS], ports: [443], action: block }
	  - { name: transit, from: [192.0.2.0/24], action: log }
EOT
lk() { "$BIN" lookup --config "$tmp/lk.yaml" "$@" 198.51.100.1 | sed -n 's/^  cleartext -> //p' | tr -s ' '; }
got="$(lk) | $(lk --from 10.9.1.1) | $(lk --from 10.1.1.1) | $(lk --port 22) | $(lk --app TLS.Google) | $(lk --port 443 --app TLS)"
want="allow (default) | block lab-cn | allow (default) | log ssh-cn | log tls-cn | log tls-cn"
[ "$got" == "$want" ] && ok "lookup --from, --port and --app reach the rules with those conditions" ||
	bad "lookup with conditions: got '$got', want '$want'"
"$BIN" check --config "$tmp/lk.yaml" >/dev/null 2>"$tmp/lk.err"
if grep -q "lk.yaml:7:5: warning: rule \`dead' can never fire: rule \`tls-cn' (line 6) comes first" "$tmp/lk.err" &&
	grep -q "lk.yaml:8:5: warning: rule \`transit': from 192.0.2.0/24 is outside networks.internal" "$tmp/lk.err" &&
	[ "$(wc -l <"$tmp/lk.err")" -eq 2 ]; then
	ok "check warns about a shadowed rule and a from: outside networks.internal"
else
	bad "check's dead rules: $(cat "$tmp/lk.err")"
fi

# ---- audit --compare -------------------------------------------------------------
# The new policy blocks what the sample policy logs; an exception for the CN
# web server's port 80 lets its blocked flows through.
policy_with >"$tmp/cur.yaml"
policy_with "exceptions:" \
	"  - { name: cn-web, cidr: 198.51.100.10, ports: [80], until: 2026-12-31, owner: alice, reason: \"ticket 1\" }" |
	sed 's/^    action: log$/    action: block/' >"$tmp/new.yaml"
"$BIN" audit --workers 2 --config "$tmp/cur.yaml" --db "$DB" --compare "$tmp/new.yaml" --json "$tmp/cmp.json" "$SAMPLE" \
	>"$tmp/cmp.out" 2>"$tmp/cmp.err"
rc=$?
# What each policy says alone, for every flow: the changes must be exactly those.
"$BIN" audit --config "$tmp/cur.yaml" --db "$DB" --json "$tmp/cur.json" "$SAMPLE" >/dev/null 2>&1
"$BIN" audit --config "$tmp/new.yaml" --db "$DB" --json "$tmp/new.json" "$SAMPLE" >/dev/null 2>&1
key='[.ts, .src_ip, .src_port, .dst_ip, .dst_port, .l4] | tostring'
want=$(jq -rs --slurpfile new "$tmp/new.json" "map({k: ($key), v: .verdict, r: .rule}) as \$c |
	(\$new | map({k: ($key), v: .verdict, r: (.exception // .rule)})) as \$n |
	[\$c[] as \$x | \$n[] | select(.k == \$x.k and .v != \$x.v) | \"\(\$x.v)->\(.v) \(\$x.r) \(.r)\"] | sort | .[]" "$tmp/cur.json")
got=$(jq -r '"\(.was_verdict)->\(.verdict) \(.was_rule) \(.exception // .rule)"' "$tmp/cmp.json" | sort)
stricter=$(echo "$want" | grep -c 'allow->\|log->block')
if [ $rc -eq 1 ] && [ -n "$want" ] && [ "$got" == "$want" ] && [ "$stricter" -gt 0 ] &&
	grep -q "^$(echo "$want" | wc -l) change verdict: $stricter stricter, $(($(echo "$want" | wc -l) - stricter)) looser$" "$tmp/cmp.out" &&
	grep -Eq '^stricter log->block +designated-any +designated-any +CN +5 ' "$tmp/cmp.out" &&
	grep -Eq '^looser +block->allow +designated-cleartext +cn-web +CN ' "$tmp/cmp.out"; then
	ok "audit --compare lists exactly the flows whose verdict changes, per rule and country, and exits 1 when stricter"
else
	bad "audit --compare (rc $rc): got [$got] want [$want] $(cat "$tmp/cmp.out" "$tmp/cmp.err")"
fi
"$BIN" audit --config "$tmp/new.yaml" --db "$DB" --compare "$tmp/new.yaml" "$SAMPLE" >"$tmp/same.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "^0 change verdict: 0 stricter, 0 looser$" "$tmp/same.out" &&
	ok "audit --compare of a policy with itself changes nothing and exits 0" || bad "self-compare (rc $rc): $(cat "$tmp/same.out")"
sed 's/^    action: block$/    action: log/' "$tmp/cur.yaml" >"$tmp/looser.yaml"
"$BIN" audit --config "$tmp/cur.yaml" --db "$DB" --compare "$tmp/looser.yaml" "$SAMPLE" >"$tmp/looser.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q " change verdict: 0 stricter, [1-9][0-9]* looser$" "$tmp/looser.out" &&
	ok "audit --compare exits 0 when every change is looser" || bad "looser compare (rc $rc): $(cat "$tmp/looser.out")"

# ---- regions (ISO 3166-2) from City databases in both layouts --------------------
# tests/data/make-test-mmdb.pl: 198.51.100.0/25 is UA-43 (Crimea), 192.0.2.0/24
# UA-09 (Luhansk), 203.0.113.0/24 UA-30 in the MaxMind layout and "Kyiv City"
# (a name not in the table) in the ip-location-db one.
cat >"$tmp/regions.yaml" <<-EOT
	networks: { internal: [10.0.0.0/8] }
	rules:
	  - { name: crimea, to: [UA-43, UA-40], action: block }
	  - { name: luhansk, to: UA-09, action: log }
EOT
for layout in maxmind iplocation; do
	CITY=$(realpath "${EF_BINARY_DIR:-build}/tests/data/test-city-$layout.mmdb")
	out=$("$BIN" lookup --config "$tmp/regions.yaml" --db "$CITY" 198.51.100.10 203.0.113.5)
	if grep -q '^  region: UA-43$' <<<"$out" && grep -q '^  encrypted -> block crimea$' <<<"$out"; then
		ok "$layout: lookup prints the region and judges its rule"
	else
		bad "$layout: lookup: $out"
	fi
	"$BIN" audit --config "$tmp/regions.yaml" --db "$CITY" --json "$tmp/regions-$layout.json" "$SAMPLE" >/dev/null 2>&1
	got=$(jq -c 'select(.dst_ip == "198.51.100.10" or .dst_ip == "192.0.2.10") | [.dst_ip, .dst_country, .dst_region, .verdict, .rule]' \
		"$tmp/regions-$layout.json" | sort -u | tr '\n' ' ')
	want='["192.0.2.10","UA","UA-09","log","luhansk"] ["198.51.100.10","UA","UA-43","block","crimea"] '
	[ "$got" == "$want" ] && ok "$layout: audit events carry dst_region, and region rules decide" ||
		bad "$layout: audit regions: got '$got' want '$want'"
done
out=$("$BIN" lookup --config "$tmp/regions.yaml" --db "$(realpath "${EF_BINARY_DIR:-build}/tests/data/test-city-iplocation.mmdb")" 203.0.113.5)
grep -q "region: none known (the database's subdivision \`Kyiv City' is not in egressfence's ISO 3166-2 name table" <<<"$out" &&
	ok "lookup says when a state1 name is not in the name table" || bad "unknown state1 name: $out"

echo "$checks checks, $failures failed"
[ "$failures" -eq 0 ]
