#!/usr/bin/env bash
# tests/e2e_metrics.sh -- `egressfence run --metrics-listen' scraped by a
# real Prometheus (Debian's `prometheus'), started by this test on the
# gateway namespace's loopback with its own config and data folder
# (scrape_interval 1s), and read back through its HTTP API
# (/api/v1/query).  The engine gates the namespaces of tests/netns/lib.sh:
#   - 3 cleartext HTTP uploads to CN are blocked by designated-cleartext:
#     egressfence_flows_judged_total{verdict=block,encryption=cleartext,
#     group=designated} and egressfence_rule_matches_total for that rule
#     read 3 in Prometheus;
#   - 2 cleartext requests to DE (in no group) are logged: 2 under
#     group="ungrouped" and rule nonconforming-cleartext;
#   - the decision latency histogram counted every one of those 5;
#   - the kernel held packets; events written equals the lines in the file;
#   - a good SIGHUP counts in egressfence_reloads_total, a broken one in
#     egressfence_reload_failures_total;
#   - egressfence_build_info carries the version `egressfence version' says;
#   - no label on the page holds an address of the test networks;
#   - deploy/prometheus-alerts.yml, loaded into that Prometheus: the
#     reload-failed and database-age alerts fire, the dropped-events one
#     does not.
# Needs root; exits 77 (skipped) without it, without ip netns / nft, or
# without prometheus.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/netns/lib.sh"
ef_need_netns curl ethtool ss openssl
PROMETHEUS=$(command -v prometheus) || ef_skip "needs prometheus (Debian package prometheus; scripts/setup installs it)"
# The small test database: the gate ruleset loads in a blink, and the
# overrides below place every server anyway.
[ -n "$db" ] || db=$src/geodb/db/node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb
[ -f "$db" ] || ef_skip "no country database"
ef_test_up
CN=${EF_ADDR4[cn]} DE=${EF_ADDR4[de]}
METRICS=127.0.0.1:9813
PROM=127.0.0.1:9090

ef_serve_http cn 80 && ef_serve_http de 80 || exit 1

config() { # config FILE [broken]
	ef_policy "$1" place="cn:CN us:US de:DE ir:IR" groups="designated:CN,RU,IR conforming:US" \
		capture="cn0 us0 de0 ir0" nflog=17 decide=3 \
		rules="designated-cleartext:block nonconforming-cleartext:log"
	[ "${2:-}" = broken ] && echo "  - name: [this is not a rule" >>"$1"
	return 0
}

# --- Prometheus ---------------------------------------------------------------
PROMTOOL=$(command -v promtool) || ef_skip "needs promtool (Debian package prometheus)"
"$PROMTOOL" check rules "$src/deploy/prometheus-alerts.yml" >/dev/null 2>&1 &&
	ok "promtool accepts deploy/prometheus-alerts.yml" || bad "promtool rejects deploy/prometheus-alerts.yml"
mkdir -p "$D/prom-data"
cat >"$D/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: ['$src/deploy/prometheus-alerts.yml']
scrape_configs:
  - job_name: egressfence
    static_configs:
      - targets: ['$METRICS']
EOF
ef_bg gw prometheus "$PROMETHEUS" --config.file="$D/prometheus.yml" --storage.tsdb.path="$D/prom-data" \
	--web.listen-address="$PROM" --storage.tsdb.retention.time=1h
PROM_PID=$EF_LAST_PID
ready=no
for _ in $(seq 600); do
	ef_ns_exec gw curl -sf "http://$PROM/-/ready" >/dev/null 2>&1 && { ready=yes; break; }
	kill -0 "$PROM_PID" 2>/dev/null || break
	sleep 0.1
done
if [ "$ready" != yes ]; then
	echo "FAIL prometheus did not start:"
	tail -n 20 "$D/log/prometheus.log" | sed 's/^/    /'
	exit 1
fi

# query EXPR: the value of an instant query's first sample, "none" when the
# result is empty.
query() {
	ef_ns_exec gw curl -sf --max-time 5 "http://$PROM/api/v1/query" --data-urlencode "query=$1" |
		"$EF_PYTHON" -c '
import json, sys
r = json.load(sys.stdin)
res = r["data"]["result"] if r.get("status") == "success" else []
print(res[0]["value"][1] if res else "none")' 2>/dev/null || echo error
}

# expect NAME EXPR WANT: until Prometheus answers WANT for EXPR (bounded: a
# scrape a second and a little slack), else fail with what it last said.
expect() {
	local got tries=60
	while ((tries-- > 0)); do
		got=$(query "$2")
		[ "$got" = "$3" ] && { ok "$1 ($2 = $got)"; return 0; }
		sleep 0.5
	done
	bad "$1: $2 is $got in Prometheus, expected $3"
}

# --- the engine -----------------------------------------------------------------
config "$D/policy.yaml"
EVENTS=$D/events.json
ef_engine_start metrics --config "$D/policy.yaml" --json "$EVENTS" --metrics-listen "$METRICS"

expect "Prometheus scrapes the engine" 'up{job="egressfence"}' 1
version=$("$bin" version | sed -n 's/^egressfence \([^ ]*\) (commit \([^)]*\)).*/\1/p')
commit=$("$bin" version | sed -n 's/^egressfence \([^ ]*\) (commit \([^)]*\)).*/\2/p')
expect "build info names this version and commit" \
	"egressfence_build_info{version=\"$version\",commit=\"$commit\"}" 1
expect "the mode is a label of egressfence_mode_info" 'egressfence_mode_info{mode="gate"}' 1
expect "nothing judged before any traffic" 'sum(egressfence_flows_judged_total) or vector(0)' 0

for i in 1 2 3; do
	ef_ns_exec client curl -s -m 6 -o /dev/null --data-binary "secret upload $i $RANDOM" "http://$CN/upload" || true
done
for i in 1 2; do
	ef_ns_exec client curl -s -m 6 -o /dev/null "http://$DE/bytes/100" ||
		bad "HTTP to DE (logged, not blocked) failed"
done

expect "3 blocked cleartext flows to the designated group" \
	'egressfence_flows_judged_total{verdict="block",encryption="cleartext",group="designated"}' 3
expect "3 matches of designated-cleartext" \
	'egressfence_rule_matches_total{rule="designated-cleartext",verdict="block"}' 3
expect "2 logged cleartext flows to an ungrouped country" \
	'egressfence_flows_judged_total{verdict="log",encryption="cleartext",group="ungrouped"}' 2
expect "2 matches of nonconforming-cleartext" \
	'egressfence_rule_matches_total{rule="nonconforming-cleartext",verdict="log"}' 2
expect "the latency histogram counted all 5 judgements" 'egressfence_decision_latency_seconds_count' 5
expect "its +Inf bucket too" 'egressfence_decision_latency_seconds_bucket{le="+Inf"}' 5
expect "every judgement took less than decide_within (3 s)" \
	'egressfence_decision_latency_seconds_bucket{le="2.5"}' 5
expect "the kernel held payload of undecided flows" 'egressfence_held_packets_total > bool 0' 1
expect "the block tier has IPv4 ranges" 'egressfence_prefilter_ranges{tier="block",family="ipv4"} > bool 0' 1
build_epoch=$(query "egressfence_database_build_timestamp_seconds{path=\"$db\"}")
if [[ $build_epoch =~ ^[0-9]+$ ]] && ((build_epoch > 1000000000)); then
	ok "the database's build date is a timestamp ($build_epoch)"
else
	bad "egressfence_database_build_timestamp_seconds for $db is $build_epoch"
fi
expect "no capture drops on the NFLOG source" 'egressfence_capture_drops_total{source="nflog:17"}' 0
lines=0
for _ in $(seq 40); do
	lines=$(wc -l <"$EVENTS")
	((lines >= 5)) && break
	sleep 0.25
done
expect "events written equals the lines in the event file ($lines)" \
	'egressfence_events_written_total{output="file"}' "$lines"
expect "no event dropped" 'egressfence_events_dropped_total{output="file"}' 0

# --- reloads, and the shipped alert rules ----------------------------------------------
expect "no reload-failed alert yet" 'ALERTS{alertname="EgressfenceReloadFailed"} or vector(0)' 0
kill -HUP "$ENGINE"
expect "a good SIGHUP counts as a reload" egressfence_reloads_total 1
config "$D/policy.yaml" broken
kill -HUP "$ENGINE"
expect "a broken config counts as a reload failure" egressfence_reload_failures_total 1
expect "and not as a reload" egressfence_reloads_total 1
expect "the shipped rule EgressfenceReloadFailed fires" \
	'ALERTS{alertname="EgressfenceReloadFailed",alertstate="firing"}' 1
expect "EgressfenceDatabaseOld fires for the test database (built 2023)" \
	'ALERTS{alertname="EgressfenceDatabaseOld",alertstate="firing"}' 1
expect "EgressfenceEventsDropped does not" 'ALERTS{alertname="EgressfenceEventsDropped"} or vector(0)' 0

# --- no addresses in labels -------------------------------------------------------
page=$(ef_ns_exec gw curl -sf "http://$METRICS/metrics")
if [ -z "$page" ]; then
	bad "GET /metrics returned nothing"
elif grep -E '\{[^}]*(198\.51\.100|203\.0\.113|192\.0\.2\.|198\.18\.|10\.1\.0\.|2001:db8)' <<<"$page" >/dev/null; then
	bad "a label holds an address: $(grep -E '(198\.51\.100|203\.0\.113|192\.0\.2\.|10\.1\.0\.)' <<<"$page" | head -n 2)"
else
	ok "no label on the page holds an address ($(grep -vc '^#' <<<"$page") samples)"
fi
code=$(ef_ns_exec gw curl -s -o /dev/null -w '%{http_code}' "http://$METRICS/nothing-here")
[ "$code" = 404 ] && ok "other paths are 404" || bad "GET /nothing-here answered $code, expected 404"

ef_engine_stop
ef_test_done e2e_metrics
