#!/usr/bin/env bash
# End-to-end: the audit record (egressfence audit --report, egressfence
# report LOG...).  Each report is loaded in headless Chromium; the figures
# on the page (read from --dump-dom by tests/report/dom_figures.py) must
# equal those jq computes from the events.  Also: a merge of several logs
# (with gateway and rejudged events), a log given twice, a tampered chained
# log, signed logs (key id, checkpoints, signatures checked with the key, or
# said not to be; edited, cut, signed by another key), a hostile server name, a planted symlink at the output, --pdf with
# and without Chromium, and a report of 200,000 flows (its time printed, not judged).
set -uo pipefail
BIN=${EF_BIN:-build/egressfence}
SRC=${EF_SOURCE_DIR:-.}
command -v jq >/dev/null || { echo "skipped: jq is not installed (scripts/setup installs it)"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }
CHROMIUM=$(command -v chromium || command -v chromium-browser) ||
	{ echo "skipped: chromium is not installed (scripts/setup installs it)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0 checks=0
POLICY=$SRC/samples/sample-policy.yaml

ok() { checks=$((checks + 1)); echo "ok   $1"; }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL $1"; }
same() { # NAME GOT EXPECTED
	if [ "$2" == "$3" ]; then ok "$1"; else bad "$1: page says '$2', events say '$3'"; fi
}

dom() { # HTML -> HTML.json (the page's figures)
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --user-data-dir="$tmp/profile" \
		--dump-dom "file://$(realpath "$1")" >"$1.dom" 2>/dev/null
	python3 "$SRC/tests/report/dom_figures.py" "$1.dom" >"$1.json"
}

# The countries of the policy's designated and embargoed groups, as check prints them.
watched=$("$BIN" check --config "$POLICY" | awk '/^groups:/{g=1;next} /^[^ ]/{g=0}
	g && /^  (designated|embargoed):/{gsub(/.*\[|\].*/,""); gsub(/, /,"\n"); print}' | sort -u | jq -R . | jq -sc .)

# expected EVENTS...: every figure the page should show, computed by jq
# from the events in one pass (a pass over 200,000 events takes jq about
# 30 s on a loaded 2-core machine; one per figure took the test past its
# timeout)
expected() {
	# A gateway's final record ("final": true) is the second record of a
	# blocked flow: not a flow, only its bytes_out_after_block are new.
	jq -cRn --argjson w "$watched" '[inputs | fromjson? | select(.ts and .verdict and .encryption) |
		if .final == true then .bytes_out = .bytes_out_after_block | .bytes_in = 0 else . end] |
	def ap(ip; p): if (ip|test(":")) then "[\(ip)]:\(p)" else "\(ip):\(p)" end;
	def n: map(select(.final != true)) | length;
	[.[] | select(.final != true) | select(.verdict != "allow" or .rejudged == true or ((.dst_country // "") as $c | $w | index($c)))] as $fl |
	{flows: n,
	 block: map(select(.verdict == "block")) | n,
	 log: map(select(.verdict == "log")) | n,
	 allow: map(select(.verdict == "allow")) | n,
	 summary: [group_by([(.dst_country // "none"), .encryption, .verdict])[] |
		[(.[0].dst_country // "none"), .[0].encryption, .[0].verdict, n,
		 (map(.bytes_out)|add), (map(.bytes_in)|add)]] | sort,
	 countries: [group_by(.dst_country // "none")[] | [(.[0].dst_country // "none"), n,
		(map(.bytes_out)|add), (map(select(.verdict=="block"))|n),
		(map(select(.verdict=="log"))|n), (map(select(.verdict=="allow"))|n)]] | sort,
	 flagged: $fl | length,
	 # each listed flow evidence, in start order, IPv6 bracketed with its
	 # port; past 500, the page has the 500 strictest with most bytes out
	 evidence: ($fl | if length > 500 then sort_by([({"block":0,"log":1,"allow":2}[.verdict]), -.bytes_out, .ts]) |
		.[:500] else . end | sort_by(.ts, .src_ip, .src_port) | [.[] | [.ts, ap(.src_ip; .src_port), ap(.dst_ip; .dst_port),
		(.dst_country // "none"), "\(.l4) \(.app)", (.server_name // ""), .encryption,
		([.tls_version, .cipher] | map(select(. != null and . != "")) | join(" ")), .bytes_out, .verdict,
		(.rule // "(default)")]]),
	 rejudged: map(select(.rejudged == true)) | n,
	 # per country: the strictest verdict, flows and bytes out (the map)
	 map: [group_by(.dst_country // "none")[] | {key: (.[0].dst_country // "none"), value: {
		v: (map(.verdict) | if index("block") then "block" elif index("log") then "log" else "allow" end),
		n: n, b: (map(.bytes_out) | add)}}] | from_entries}' "$@"
}

# compare PAGE.json NAME EXPECTED.json: every figure of sections 3 and 4
compare() {
	local page=$1 name=$2 x=$3
	same "$name: flows" "$(jq .total_flows "$page")" "$(jq .flows "$x")"
	for v in block log allow; do
		same "$name: $v" "$(jq ".total_$v" "$page")" "$(jq ".$v" "$x")"
	done
	same "$name: country x encryption x verdict (flows, bytes out, bytes in)" "$(jq -c '.summary|sort' "$page")" \
		"$(jq -c .summary "$x")"
	same "$name: by country" "$(jq -c '.countries|sort' "$page")" "$(jq -c .countries "$x")"
	same "$name: flows listed" "$(jq .flagged "$page")" "$(jq .flagged "$x")"
	same "$name: listed flows' evidence" \
		"$(jq -c '[.flows[] | [.[0], .[1], .[2], .[3], .[4], .[5], .[6], .[7], (.[8]|gsub(",";"")|tonumber), .[9], .[10]]]' "$page")" \
		"$(jq -c .evidence "$x")"
	same "$name: rejudged" "$(jq .rejudged_count "$page")" "$(jq .rejudged "$x")"
}

# map_check PAGE.json NAME EXPECTED.json: the world view, read from the DOM.
# Each country's shape is filled with the legend's colour for the strictest
# verdict its events met (no events: the legend's "no flows" colour), its
# tooltip gives that verdict, its flows and bytes out, and a country with
# events but no shape is named under the map.
map_check() {
	local page=$1 name=$2
	local want; want=$(jq -c .map "$3")
	local legend; legend=$(jq -c '.map_legend | map({key: (.[1] | if startswith("some flow blocked") then "block"
		elif startswith("some flow logged") then "log" elif startswith("every flow allowed") then "allow"
		elif startswith("no flows") then "none" else . end), value: .[0]}) | from_entries' "$page")
	same "$name: map legend has a colour for each verdict and for no flows" "$(jq -c 'keys' <<<"$legend")" '["allow","block","log","none"]'
	same "$name: map shapes coloured by each country's strictest verdict" \
		"$(jq -c --argjson l "$legend" '[.map[] | [.[0], .[1], (if .[2] == $l[.[1]] then "legend colour" else "fill \(.[2])" end)]] | unique' "$page")" \
		"$(jq -c --argjson w "$want" '[.map[] | .[0] as $c | [$c, ($w[$c].v // "none"), "legend colour"]] | unique' "$page")"
	same "$name: map tooltips give verdict, flows and bytes out" \
		"$(jq -c '[.map[] | select(.[1] != "none") | [.[0], (.[3] | capture(": (?<v>[a-z]+); (?<n>[0-9,]+) flows?, (?<b>[0-9,]+) bytes out") |
			[.v, (.n|gsub(",";"")|tonumber), (.b|gsub(",";"")|tonumber)])]] | unique' "$page")" \
		"$(jq -c --argjson w "$want" '[.map[] | .[0] as $c | select($w[$c]) | [$c, [$w[$c].v, $w[$c].n, $w[$c].b]]] | unique' "$page")"
	same "$name: countries with flows but no shape are named under the map" \
		"$(jq -r '.map_off | sub("^Not on the map \\(see the table and the chart\\): "; "") | sub("\\.$"; "")' "$page")" \
		"$(jq -r --argjson w "$want" '[.map[][0]] as $drawn | [$w | keys[] | select(. as $c | $drawn | index($c) | not)] | join(", ")' "$page")"
	case "$(jq -r .map_attribution "$page")" in
	*"Victor Cazanave"*"CC BY 4.0"*) ok "$name: the map's licence attribution is on the page" ;;
	*) bad "$name: attribution '$(jq -r .map_attribution "$page")'" ;;
	esac
}

# ---- 1. from the sample, through audit --report ----------------------------
"$BIN" audit --config "$POLICY" --chain --json "$tmp/sample.json" --report "$tmp/sample.html" \
	"$SRC/samples/sample.pcap" >"$tmp/sample.out" 2>"$tmp/sample.err"
rc=$?
[ "$rc" -eq 1 ] && ok "audit --report exits 1 (flows blocked)" || bad "audit --report exited $rc: $(head -3 "$tmp/sample.err")"
dom "$tmp/sample.html"
P=$tmp/sample.html.json
expected "$tmp/sample.json" >"$tmp/sample.x"
compare "$P" sample "$tmp/sample.x"
same "sample: capture SHA-256" "$(jq -r '.captures[0][2]' "$P")" "$(sha256sum "$SRC/samples/sample.pcap" | cut -d' ' -f1)"
same "sample: capture frames" "$(jq -r '.captures[0][3]' "$P")" \
	"$(sed -n 's/.*: \([0-9]*\) frames,.*/\1/p' "$tmp/sample.out")"
same "sample: log SHA-256" "$(jq -r '.logs[0][2]' "$P")" "$(sha256sum "$tmp/sample.json" | cut -d' ' -f1)"
head=$(sed -n 's/.*head \([0-9a-f]\{64\}\)$/\1/p' "$tmp/sample.out")
case "$(jq -r '.chains[0][1]' "$P")" in
*"verified"*"OK, 22 records, head $head"*) ok "sample: chain verified, head as audit printed" ;;
*) bad "sample: chain cell '$(jq -r '.chains[0][1]' "$P")', audit's head $head" ;;
esac
case "$(jq -r '.chains[0][2]' "$P")" in
"not signed"*) ok "sample: says the log is not signed" ;;
*) bad "sample: signature cell '$(jq -r '.chains[0][2]' "$P")'" ;;
esac
case "$(jq -r .version "$P")" in
"egressfence $("$BIN" version | head -n 1 | cut -d' ' -f2-)") ok "sample: names version and commit" ;;
*) bad "sample: version '$(jq -r .version "$P")'" ;;
esac
same "sample: only the page's own script" "$(jq .scripts "$P")" 1
map_check "$P" sample "$tmp/sample.x"
same "sample: CN (blocked flows) filled as block on the map" "$(jq -c '[.map[] | select(.[0] == "CN")][0][1:3]' "$P")" \
	"$(jq -c '[.map_legend[] | select(.[1] == "some flow blocked")][0] | ["block", .[0]]' "$P")"
same "sample: the bar chart is kept beside the map" "$(jq .chart "$P")" true
grep -Eiq '(src|href)=.(https?:|//)' "$tmp/sample.html" && bad "sample: the page refers to something outside it" ||
	ok "sample: refers to nothing outside itself"
same "sample: CSV lists every listed flow" "$(($(wc -l <"$tmp/sample-flows.csv") - 1))" "$(jq .flagged "$P")"

# Without map data: the bar chart alone, a note saying why, and no failure;
# a damaged map file (a shape whose path could carry markup) the same.
EGRESSFENCE_MAP=$tmp/no-such-map.txt "$BIN" report --policy "$POLICY" -o "$tmp/nomap.html" "$tmp/sample.json" 2>"$tmp/nomap.err"
rc=$?
dom "$tmp/nomap.html"
case "$rc $(jq -c '[(.map|length), .chart]' "$tmp/nomap.html.json") $(jq -r .map_missing "$tmp/nomap.html.json")" in
"0 [0,true] No world map: "*"no-such-map.txt: No such file or directory"*"bar chart below"*) ok "no map data: exit 0, bar chart alone, says why" ;;
*) bad "no map data: exit $rc, '$(jq -c '[(.map|length), .chart, .map_missing]' "$tmp/nomap.html.json")' $(cat "$tmp/nomap.err")" ;;
esac
printf 'egressfence-world-map 1\nviewbox 0 0 10 10\nattribution x\nCN\tChina\tm1 1 2 2z\nUS\tUS\tm1 1"/><script>alert(1)</script>z\n' >"$tmp/bad-map.txt"
EGRESSFENCE_MAP=$tmp/bad-map.txt "$BIN" report -o "$tmp/badmap.html" "$tmp/sample.json" 2>/dev/null
rc=$?
dom "$tmp/badmap.html"
case "$rc $(jq -c '[(.map|length), .chart, .scripts]' "$tmp/badmap.html.json") $(jq -r .map_missing "$tmp/badmap.html.json")" in
"0 [0,true,1] No world map: "*"bad-map.txt:5: a path of relative moves"*) ok "a damaged map file: refused with file:line, bar chart alone" ;;
*) bad "a damaged map file: exit $rc, '$(jq -c '[(.map|length), .chart, .scripts, .map_missing]' "$tmp/badmap.html.json")'" ;;
esac
echo "the world map adds $((($(stat -c %s "$tmp/sample.html") - $(stat -c %s "$tmp/nomap.html")) / 1024)) KiB to a page" \
	"($(($(stat -c %s "$tmp/nomap.html") / 1024)) KiB without it, $(($(stat -c %s "$tmp/sample.html") / 1024)) KiB with it)"

# ---- 1b. a signed log (audit --sign-key): the report shows its key id,
# checkpoints and signatures, checked by verify-log's own verifier ----------
"$BIN" keygen --out "$tmp/k" >/dev/null 2>&1 && "$BIN" keygen --out "$tmp/other" >/dev/null 2>&1 ||
	bad "keygen failed"
key_id=$(openssl pkey -pubin -in "$tmp/k.pub" -outform DER 2>/dev/null | tail -c 32 | sha256sum | cut -c1-32)
"$BIN" audit --config "$POLICY" --sign-key "$tmp/k.key" --checkpoint-every 5 --json "$tmp/signed.json" \
	--report "$tmp/signed.html" "$SRC/samples/sample.pcap" >/dev/null 2>"$tmp/signed.err"
[ $? -eq 1 ] && ok "audit --sign-key --report exits 1 (flows blocked)" || bad "signed audit: $(head -3 "$tmp/signed.err")"
dom "$tmp/signed.html"
S=$tmp/signed.html.json
cps=$(jq -cR 'fromjson? | select(.checkpoint)' "$tmp/signed.json" | wc -l)
expected "$tmp/signed.json" >"$tmp/signed.x"
compare "$S" signed "$tmp/signed.x"
same "signed: the key id (from the public key)" "$(jq -r '.chains[0][2]' "$S")" "key id $key_id"
same "signed: every checkpoint verified with the key audit signed with" "$(jq -r '.chains[0][5]' "$S")" "all $cps verified with the key given"
case "$(jq -r '.chains[0][4]' "$S")" in
"$cps checkpoints, closed"*) ok "signed: $cps checkpoints, closed" ;;
*) bad "signed: checkpoints cell '$(jq -r '.chains[0][4]' "$S")'" ;;
esac
same "signed: header and checkpoints are not 'other lines'" "$(jq -r '.logs[0][4]' "$S")" 0
same "signed: they are counted as the log's own records" "$(jq -r '.logs[0][5]' "$S")" "header, $cps checkpoints"
case "$(jq -r .gaps "$S")" in
*"of $tmp/signed.json is not an event"* | *"of $tmp/signed.json are not events"*)
	bad "signed: the signed records are listed as lines that are not events" ;;
*"no damaged input, no evictions, no unreadable lines"*) ok "signed: no 'not an event' gap" ;;
*) bad "signed: gaps say '$(jq -r .gaps "$S")'" ;;
esac
grep -q "<td class=ok>same as the file given</td>" "$tmp/signed.html" &&
	ok "signed: the policy the log records is the one given" || bad "signed: the recorded policy is not compared"

# Without the public key: said plainly, with how to check.
"$BIN" report --policy "$SRC/policy/default.yaml" -o "$tmp/nokey.html" "$tmp/signed.json" 2>/dev/null
python3 "$SRC/tests/report/dom_figures.py" "$tmp/nokey.html" >"$tmp/nokey.json"
case "$(jq -r '.chains[0][5]' "$tmp/nokey.json")" in
"not checked: no public key was given"*"verify-log --pubkey"*) ok "no key: the signatures are said not to be checked, and how to" ;;
*) bad "no key: signatures cell '$(jq -r '.chains[0][5]' "$tmp/nokey.json")'" ;;
esac
grep -q "<td class=warn>DIFFERS from the file given" "$tmp/nokey.html" &&
	ok "another policy than the log records: flagged" || bad "another policy than the log records: not flagged"

# One report over four signed logs, given the key: intact, one record
# edited, cut after a checkpoint, and signed by another key.
line=$(grep -n '"bytes_out"' "$tmp/signed.json" | sed -n 3p | cut -d: -f1)
sed "${line}s/\"bytes_out\":[0-9]*/\"bytes_out\":1/" "$tmp/signed.json" >"$tmp/s-edited.json"
cut_at=$(grep -n '^{"checkpoint"' "$tmp/signed.json" | sed -n 2p | cut -d: -f1)
head -n $((cut_at + 2)) "$tmp/signed.json" >"$tmp/s-cut.json"
"$BIN" audit --config "$POLICY" --sign-key "$tmp/other.key" --json "$tmp/s-other.json" "$SRC/samples/sample.pcap" >/dev/null 2>&1
"$BIN" report --pubkey "$tmp/k.pub" -o "$tmp/signed4.html" "$tmp/signed.json" "$tmp/s-edited.json" "$tmp/s-cut.json" \
	"$tmp/s-other.json" 2>"$tmp/signed4.err"
[ $? -eq 0 ] && ok "report --pubkey over 4 signed logs exits 0" || bad "report --pubkey: $(cat "$tmp/signed4.err")"
dom "$tmp/signed4.html"
F=$tmp/signed4.html.json
same "4 signed: the intact one verified" "$(jq -r '.chains[0][5]' "$F")" "all $cps verified with the key given"
case "$(jq -r '.chains[1][1]' "$F")" in
"TAMPERED at line $line: "*) ok "4 signed: the edited one is TAMPERED at line $line" ;;
*) bad "4 signed: edited chain cell '$(jq -r '.chains[1][1]' "$F")'" ;;
esac
same "4 signed: the page's message is verify-log's" "$(jq -r '.chains[1][1]' "$F" | sed 's/^TAMPERED at line [0-9]*: //')" \
	"$("$BIN" verify-log --pubkey "$tmp/k.pub" --open "$tmp/s-edited.json")"
case "$(jq -r '.chains[2][4]' "$F")" in
"2 checkpoints, OPEN: no final checkpoint"*) ok "4 signed: the cut one is open (2 checkpoints, no final one)" ;;
*) bad "4 signed: cut checkpoints cell '$(jq -r '.chains[2][4]' "$F")'" ;;
esac
case "$(jq -r '.chains[3][5]' "$F")" in
"NOT VERIFIED: "*"not with the key given"*) ok "4 signed: the one signed by another key fails" ;;
*) bad "4 signed: other-key signatures cell '$(jq -r '.chains[3][5]' "$F")'" ;;
esac
same "4 signed: no signed record counted as a line that is not an event" "$(jq -c '[.logs[][4]]' "$F")" '["0","0","0","0"]'

# A damaged capture: the page says where reading stopped.
head -c 100000 "$SRC/samples/sample.pcap" >"$tmp/cut.pcap"
"$BIN" audit --config "$POLICY" --report "$tmp/cut.html" "$tmp/cut.pcap" >/dev/null 2>"$tmp/cut.err"
rc=$?
dom "$tmp/cut.html"
case "$rc $(jq -r '.captures[0][4]' "$tmp/cut.html.json") $(jq -r .gaps "$tmp/cut.html.json")" in
"2 "*"stopped reading at byte "*"damaged capture"*) ok "damaged capture: exit 2, the page gives the byte offset" ;;
*) bad "damaged capture: exit $rc, read cell '$(jq -r '.captures[0][4]' "$tmp/cut.html.json")'" ;;
esac

# Flows the flow-table bound ended early (evicted) are a gap on the page,
# counted from the events.
jq -c 'if .dst_port == 80 then .evicted = true else . end' "$tmp/sample.json" >"$tmp/evicted.json"
"$BIN" report -o "$tmp/evicted.html" "$tmp/evicted.json" 2>/dev/null
dom "$tmp/evicted.html"
n_evicted=$(jq -s 'map(select(.evicted == true)) | length' "$tmp/evicted.json")
case "$(jq -r .gaps "$tmp/evicted.html.json")" in
*"$n_evicted flows were ended early by the flow-table bound"*) ok "evictions: $n_evicted flows ended early are a gap" ;;
*) bad "evictions: gaps say '$(jq -r .gaps "$tmp/evicted.html.json")', expected $n_evicted evicted flows" ;;
esac

# ---- 2. several logs merged, gateway and rejudged events among them ---------
head -8 "$tmp/sample.json" >"$tmp/a.json"
sed -n '9,22p' "$tmp/sample.json" >"$tmp/b.json"
# A gateway's events: the sample's, moved a day on, with action_taken, and
# one judged again; and a hostile server name.
jq -c '.ts |= sub("2026-11-23"; "2026-11-24") | .end_ts |= sub("2026-11-23"; "2026-11-24") |
	del(.seq, .chain) | .action_taken = (if .verdict == "block" then "blocked" else "none" end) | .mode = "monitor"' \
	"$tmp/sample.json" >"$tmp/c.json"
jq -c 'select(.dst_port == 443 and .dst_country == "US") | .ts |= sub("2026-11-23"; "2026-11-25") |
	del(.seq, .chain) | .encryption = "cleartext" | .verdict = "log" | .rule = "nonconforming-cleartext" |
	.rejudged = true | .rejudged_at = {direction: "out", offset: 1843, reason: "readable text inside a TLS record"} |
	.server_name = "<script>alert(1)</script>\"x"' "$tmp/sample.json" >>"$tmp/c.json"
# each blocked flow of the gateway's log ended with a final record (what left
# after the verdict): the same flow, not another, and its bytes after the block
jq -c 'select(.action_taken == "blocked") | .final = true | .packets_out_after_block = 2 |
	.bytes_out_after_block = (1000 + .src_port) | .bytes_out += (1000 + .src_port)' "$tmp/c.json" >"$tmp/c-finals.json"
cat "$tmp/c-finals.json" >>"$tmp/c.json"
echo 'this line is not an event' >>"$tmp/c.json"
"$BIN" report --policy "$POLICY" -o "$tmp/merged.html" "$tmp/a.json" "$tmp/b.json" "$tmp/c.json" 2>"$tmp/merged.err"
rc=$?
[ "$rc" -eq 0 ] && ok "report over 3 logs exits 0" || bad "report exited $rc: $(cat "$tmp/merged.err")"
dom "$tmp/merged.html"
M=$tmp/merged.html.json
expected "$tmp/a.json" "$tmp/b.json" "$tmp/c.json" >"$tmp/merged.x"
compare "$M" merged "$tmp/merged.x"
same "merged: 3 logs listed" "$(jq '.logs|length' "$M")" 3
map_check "$M" merged "$tmp/merged.x"
same "merged: the rejudged flow's where and why" "$(jq -c '[.rejudged[] | select(.[7] == "readable text inside a TLS record")][0][5:8]' "$M")" '["out","1,843","readable text inside a TLS record"]'
same "merged: the hostile server name shown as text" "$(jq -r '[.flows[][5]|select(startswith("<script>"))][0]' "$M")" '<script>alert(1)</script>"x'
same "merged: the gateway's action and mode on the page" "$(jq '[.flows[]|select(.[11]=="blocked (monitor)")]|length' "$M")" \
	"$(jq -cR 'fromjson? | select(.action_taken=="blocked" and .final != true)' "$tmp/c.json" | wc -l)"
n_finals=$(wc -l <"$tmp/c-finals.json")
[ "$n_finals" -gt 0 ] || bad "merged: the gateway's log has no blocked flow to give a final record"
grep -q "(and $n_finals final records of blocked flows)" "$tmp/merged.html" &&
	ok "merged: the $n_finals final records are named in the logs table, not counted as flows" ||
	bad "merged: the logs table does not name the $n_finals final records"
same "merged: no script but the page's" "$(jq .scripts "$M")" 1
case "$(jq -r .gaps "$M")" in
*"1 line of $tmp/c.json is not an event"*"(the first: line $(wc -l <"$tmp/c.json"))"*) ok "merged: the line that is not an event is a gap, with its line" ;;
*) bad "merged: gaps say '$(jq -r .gaps "$M")'" ;;
esac
case "$(jq -r .gaps "$M")" in
*"not known from logs alone"*) ok "merged: says what logs alone cannot tell" ;;
*) bad "merged: gaps say '$(jq -r .gaps "$M")'" ;;
esac
grep -q 'readable text inside a TLS record' "$tmp/merged-flows.csv" && ok "merged: the CSV carries the rejudge reason" ||
	bad "merged: the CSV lacks the rejudge reason"
grep -q "'=cmd" "$tmp/merged-flows.csv" && bad "unexpected" || true
# the CSV is in start order
if [ "$(tail -n +2 "$tmp/merged-flows.csv" | cut -d, -f1)" == "$(tail -n +2 "$tmp/merged-flows.csv" | cut -d, -f1 | sort)" ]; then
	ok "merged: CSV in start order"
else
	bad "merged: CSV not in start order"
fi

# The dates a policy file states are shown with its groups.
"$BIN" report --policy "$SRC/policy/default.yaml" -o "$tmp/dated.html" "$tmp/a.json" 2>/dev/null
stated=$(grep -n '[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]' "$SRC/policy/default.yaml" | head -1 | cut -d: -f1)
grep -q "^<pre id=policy-dates>line $stated: Country lists as of" "$tmp/dated.html" &&
	ok "the default policy's stated date (line $stated) is on the page" || bad "the policy's date is not on the page"

# ---- 3. what is refused ------------------------------------------------------
cp "$tmp/a.json" "$tmp/a-copy.json"
"$BIN" report -o "$tmp/dup.html" "$tmp/a.json" "$tmp/a.json" 2>"$tmp/dup.err"
[ $? -eq 2 ] && grep -q "given twice" "$tmp/dup.err" && ok "a log named twice is refused" || bad "a log named twice: $(cat "$tmp/dup.err")"
"$BIN" report -o "$tmp/dup.html" "$tmp/a.json" "$tmp/a-copy.json" 2>"$tmp/dup.err"
[ $? -eq 2 ] && grep -q "same content" "$tmp/dup.err" && ok "a copy of a log is refused" || bad "a copy of a log: $(cat "$tmp/dup.err")"
echo precious >"$tmp/target"
ln -s "$tmp/target" "$tmp/planted.html"
"$BIN" report -o "$tmp/planted.html" "$tmp/a.json" 2>"$tmp/sym.err"
rc=$?
[ "$rc" -eq 2 ] && [ "$(cat "$tmp/target")" == precious ] && ok "a symlink at the output is refused ($(cat "$tmp/sym.err"))" ||
	bad "symlink: exit $rc, target now '$(head -c 40 "$tmp/target")'"
ln -s "$tmp/target" "$tmp/planted2-flows.csv"
"$BIN" report -o "$tmp/planted2.html" "$tmp/a.json" 2>/dev/null
[ "$(cat "$tmp/target")" == precious ] && ok "a symlink at the CSV is not followed" || bad "the CSV symlink was followed"

mkfifo "$tmp/fifo.html"
"$BIN" report -o "$tmp/fifo.html" "$tmp/a.json" 2>"$tmp/fifo.err"
rc=$?
[ "$rc" -eq 2 ] && [ -p "$tmp/fifo.html" ] && ok "a special file at the output is refused and left as it was" ||
	bad "a fifo at the output: exit $rc, $(cat "$tmp/fifo.err")"
# A failed write leaves no report, and nothing half-written.
if [ -w /dev/full ] && mkdir -p "$tmp/ro" && chmod 555 "$tmp/ro" && ! touch "$tmp/ro/x" 2>/dev/null; then
	"$BIN" report -o "$tmp/ro/r.html" "$tmp/a.json" 2>/dev/null
	[ $? -eq 2 ] && [ -z "$(ls "$tmp/ro")" ] && ok "an unwritable folder: exit 2, nothing left" || bad "an unwritable folder"
fi

# A record changed after the audit: the report says so.
sed '5s/"bytes_out":[0-9]*/"bytes_out":1/' "$tmp/sample.json" >"$tmp/tampered.json"
"$BIN" report -o "$tmp/tampered.html" "$tmp/tampered.json" 2>/dev/null
dom "$tmp/tampered.html"
case "$(jq -r '.chains[0][1]' "$tmp/tampered.html.json")" in
TAMPERED*":5:"*) ok "tampered log: the report says TAMPERED at line 5" ;;
*) bad "tampered log: chain cell '$(jq -r '.chains[0][1]' "$tmp/tampered.html.json")'" ;;
esac

# ---- 4. --pdf ----------------------------------------------------------------
"$BIN" report -o "$tmp/p.html" --pdf "$tmp/p.pdf" "$tmp/a.json" 2>"$tmp/pdf.err"
[ $? -eq 0 ] && [ "$(head -c 4 "$tmp/p.pdf")" == "%PDF" ] && ok "--pdf prints a PDF" || bad "--pdf: $(cat "$tmp/pdf.err")"
# The printed map is not cut from its heading or split across pages: the
# heading above it and the attribution below it are on one page.
if command -v pdftotext >/dev/null; then
	pages=$(for i in $(seq 1 "$(pdfinfo "$tmp/p.pdf" | sed -n 's/^Pages: *//p')"); do
		pdftotext -f "$i" -l "$i" "$tmp/p.pdf" - | grep -c -E '^World view|^Country shapes:'; done | tr '\n' ' ')
	case " $pages" in
	*" 2 "*) ok "--pdf: the map, its heading and its attribution on one page (per page: $pages)" ;;
	*) bad "--pdf: the map's heading and attribution fall on different pages (per page: $pages)" ;;
	esac
else
	echo "(pdftotext is absent: the printed map's page is not checked)"
fi
PATH=/nonexistent "$BIN" report -o "$tmp/q.html" --pdf "$tmp/q.pdf" "$tmp/a.json" 2>"$tmp/nopdf.err"
rc=$?
[ "$rc" -eq 2 ] && grep -q "needs Chromium, which is not installed" "$tmp/nopdf.err" && [ ! -e "$tmp/q.pdf" ] &&
	ok "--pdf without Chromium: exit 2, says so" || bad "--pdf without Chromium: exit $rc, '$(cat "$tmp/nopdf.err")'"

# ---- 5. a screenshot (docs/report.png is made the same way, from the
# sample audited from the source tree with relative paths, 1000x2600, so that
# the world map is in it) -------------------------------------------------
timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$tmp/profile" \
	--window-size=1100,1500 --screenshot="$tmp/report.png" "file://$tmp/sample.html" >/dev/null 2>&1
[ -s "$tmp/report.png" ] && ok "screenshot taken" || bad "no screenshot"

# ---- 6. 200,000 flows ----------------------------------------------------------
python3 - "$tmp/big.json" <<'PY'
import json, random, sys
random.seed(9)
cc = ["US", "DE", "CN", "IR", "FR", "RU", "JP", "GB", None, "BR", "IN", "NL"]
enc = ["encrypted", "encrypted", "encrypted", "cleartext", "weak", "unknown"]
with open(sys.argv[1], "w") as f:
    for i in range(200000):
        c = random.choice(cc); e = random.choice(enc); s = 1764000000 + i // 10
        v = "block" if c in ("IR",) or (c in ("CN", "RU") and e != "encrypted") else \
            "log" if c in ("CN", "RU") or (c != "US" and e in ("cleartext", "weak")) else "allow"
        ts = "2026-11-%02dT%02d:%02d:%02d.%06dZ" % (1 + s // 86400 % 28, s // 3600 % 24, s // 60 % 60, s % 60, i % 1000000)
        v6 = i % 7 == 0
        f.write(json.dumps({"ts": ts, "end_ts": ts, "src_ip": "fd00::%x" % (i % 5000) if v6 else "10.0.%d.%d" % (i // 256 % 256, i % 256),
            "src_port": 1024 + i % 60000, "dst_ip": "2001:db8::%x" % i if v6 else "203.0.%d.%d" % (i // 256 % 256, i % 256),
            "dst_port": 443, "l4": "tcp", "app": "TLS", "server_name": "host%d.example" % i, "app_guessed": False,
            "encryption": e, "tls_version": "TLSv1.3", "cipher": "TLS_AES_128_GCM_SHA256", "cipher_bits": 128,
            "dst_country": c, "dst_countries": [c] if c else [], "bytes_out": random.randrange(0, 100000),
            "bytes_in": random.randrange(0, 1000000), "packets": 10, "packets_out": 5, "packets_in": 5,
            "verdict": v, "rule": None if v == "allow" else "rule-" + v, "initiator": "inside"},
            separators=(",", ":")) + "\n")
PY
start=$(date +%s%N)
"$BIN" report --policy "$POLICY" -o "$tmp/big.html" "$tmp/big.json" 2>"$tmp/big.err"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
html_kb=$(($(stat -c %s "$tmp/big.html") / 1024))
csv_kb=$(($(stat -c %s "$tmp/big-flows.csv") / 1024))
echo "200,000 flows ($(($(stat -c %s "$tmp/big.json") / 1048576)) MiB of events): report in $ms ms, page $html_kb KiB, CSV $csv_kb KiB"
# The time is a figure, not a check: a timed assertion flakes on a loaded
# machine (bench/ is where speed is judged, as ratios in one run).
[ "$rc" -eq 0 ] && ok "200,000 flows: report built (exit 0; $ms ms on this machine, not judged)" || bad "200,000 flows: exit $rc in $ms ms"
[ "$html_kb" -lt 2048 ] && ok "200,000 flows: page $html_kb KiB (< 2 MiB)" || bad "200,000 flows: page is $html_kb KiB"
dom "$tmp/big.html"
expected "$tmp/big.json" >"$tmp/big.x"
compare "$tmp/big.html.json" big "$tmp/big.x"
map_check "$tmp/big.html.json" big "$tmp/big.x"
same "big: the page lists $(jq '.flows|length' "$tmp/big.html.json") flows" "$(jq '.flows|length' "$tmp/big.html.json")" 500
same "big: CSV has every listed flow" "$(($(wc -l <"$tmp/big-flows.csv") - 1))" "$(jq .flagged "$tmp/big.html.json")"

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
