#!/usr/bin/env bash
# tests/e2e_gateway.sh -- `egressfence run' on a real gateway: network
# namespaces (tests/netns/lib.sh), real clients and servers, nftables in the
# gateway namespace, and the engine reading NFLOG (gate) or the gateway's
# server-side interfaces (monitor).  The servers' networks are given
# countries with networks.overrides: cn is CN (designated), us is US
# (conforming), de is DE, ir is IR (embargoed).
#
# For both modes:
#   - a cleartext HTTP upload to CN is blocked; in gate mode a capture on the
#     CN server shows that not one byte of the request arrived;
#   - HTTPS to CN succeeds and is logged by designated-any;
#   - HTTP to US succeeds and the engine never classified one of its packets;
#   - weak TLS (TLS 1.0 from OpenSSL, when it still does it, and a scripted
#     3DES peer) to CN is blocked;
#   - a SIGHUP with a broken config keeps the old policy, a good one applies;
#   - the table is gone after SIGTERM.
# Gate mode also: SSH to CN works (its key exchange is let through), IPv6
# cleartext to CN is blocked, after kill -9 cleartext to CN still does not
# pass (and a restart takes the table over), and with fail_open: true it
# does pass once the engine has been dead for a few seconds.
#
# Needs root; exits 77 (skipped) without it or without ip netns / nft.
# Every wait is bounded; the namespaces go away on any exit.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/netns/lib.sh"
ef_need_netns curl tcpdump openssl ssh sshd ethtool ss
real_db=$src/geodb/db/node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb
db=$real_db
[ -f "$db" ] || db=$build/tests/data/test-iplocation.mmdb
[ -f "$db" ] || ef_skip "no country database ($real_db, or the test one under $build/tests/data)"

ef_netns_trap
ef_netns_up || exit 1
D=$EF_NETNS_DIR
CN=${EF_ADDR4[cn]} CN6=${EF_ADDR6[cn]} US=${EF_ADDR4[us]} DE=${EF_ADDR4[de]}

failed=0
passed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() {
	echo "FAIL $*"
	failed=$((failed + 1))
	[ -n "${ENGINE_LOG:-}" ] && tail -n 5 "$ENGINE_LOG" | sed 's/^/    engine: /'
	[ -n "${EF_E2E_DEBUG:-}" ] && [ -n "${EVENTS:-}" ] && tail -n 3 "$EVENTS" | cut -c1-400 | sed 's/^/    event: /'
	return 0
}

# --- servers -------------------------------------------------------------
# openssl s_server serves one connection at a time, and a handshake cut off
# by a block leaves it waiting for good: one per mode.
declare -A WEAK_PORT=([gate]=4433 [monitor]=4434)
ef_serve_http cn 80 && ef_serve_http cn 443 --tls && ef_serve_http us 80 && ef_serve_http de 80 &&
	ef_serve_openssl_weak cn 4433 && ef_serve_openssl_weak cn 4434 && ef_serve_legacy_tls cn 9443 &&
	ef_serve_ssh cn 22 || exit 1

# A marker that must never reach the CN server in gate mode.
MARK=EGRESSFENCE-SECRET-$RANDOM$RANDOM
head -c 240000 /dev/urandom | base64 -w 0 | sed "s/^/$MARK:/" >"$D/upload.txt"
printf '%s' "$MARK" >>"$D/upload.txt"
UPLOAD_SIZE=$(stat -c %s "$D/upload.txt")

# Does this OpenSSL still speak TLS 1.0 with AES128-SHA at all?  Asked before
# any engine runs, so a refusal here is OpenSSL's, not ours.  The request
# follows the handshake by half a second: monitor mode blocks a flow once
# its handshake has been judged, not the bytes that raced the verdict.
weak_tls() { # weak_tls PORT
	(sleep 0.5; printf 'GET / HTTP/1.0\r\n\r\n') | ef_ns_exec client timeout 5 openssl s_client -connect "$CN:$1" \
		-tls1 -cipher 'AES128-SHA:@SECLEVEL=0' -ign_eof 2>/dev/null | grep 'HTTP/1.0 200' >/dev/null
}
OPENSSL_TLS1=yes
weak_tls 4433 || OPENSSL_TLS1=no
[ "$OPENSSL_TLS1" = yes ] || echo "note: this OpenSSL will not do TLS 1.0 with AES128-SHA; that check is skipped"

config() { # config FILE MODE [fail_open] [designated...]
	local file=$1 mode=$2 fail_open=${3:-false} designated=${4:-"CN, RU"}
	cat >"$file" <<-EOF
		geodb:
		  country: $db
		networks:
		  internal: [10.0.0.0/8, "fc00::/7"]
		  overrides:
		    - { cidr: ${EF_NET4[cn]}, country: CN }
		    - { cidr: "${EF_NET6[cn]}", country: CN }
		    - { cidr: ${EF_NET4[us]}, country: US }
		    - { cidr: "${EF_NET6[us]}", country: US }
		    - { cidr: ${EF_NET4[de]}, country: DE }
		    - { cidr: "${EF_NET6[de]}", country: DE }
		    - { cidr: ${EF_NET4[ir]}, country: IR }
		    - { cidr: "${EF_NET6[ir]}", country: IR }
		groups:
		  designated: [$designated, IR]
		  embargoed: [IR]
		  conforming: [US, DE]
		capture:
		  interfaces: [cn0, us0, de0, ir0]
		fail_open: $fail_open
		gateway:
		  mode: $mode
		  nflog_group: 17
		  decide_within: 3
		rules:
		  - name: embargoed-any
		    to: "@embargoed"
		    action: block
		  - name: designated-cleartext
		    to: "@designated"
		    encryption: [cleartext, weak, unknown]
		    min_bytes_out: 1
		    action: block
		  - name: designated-any
		    to: "@designated"
		    action: log
		  - name: nonconforming-cleartext
		    to: "!@conforming"
		    encryption: [cleartext, weak]
		    min_bytes_out: 1
		    action: log
		default: allow
	EOF
}

# --- the engine --------------------------------------------------------------
ENGINE=""
ENGINE_LOG=""
EVENTS=""
start_engine() { # start_engine TAG CONFIG
	EVENTS=$D/events-$1.json
	: >"$EVENTS"
	ef_engine_start "$1" --config "$2" --json "$EVENTS"
}

# Waits (bounded) for the engine to exit; leaves its status in RC.
wait_engine() {
	local tries=1200 # 60 s: a SIGTERM that arrives mid-reload waits for it
	while ((tries-- > 0)) && kill -0 "$ENGINE" 2>/dev/null; do
		sleep 0.05
	done
	kill -0 "$ENGINE" 2>/dev/null && { RC=timeout; return 1; }
	wait "$ENGINE"
	RC=$?
}

table_present() { ef_ns_exec gw nft list tables 2>/dev/null | grep -x 'table inet egressfence' >/dev/null; }

# Signals the engine and waits (bounded: a reload of the real database's
# prefilter takes seconds, and many more under sanitizers) for a new log
# line matching RE.
signal_and_wait() { # signal_and_wait SIGNAL RE
	local before tries=3600 # 180 s: the gate ruleset took 21 s to load under ASan on a busy machine
	before=$(grep -c -E "$2" "$ENGINE_LOG")
	kill "-$1" "$ENGINE"
	while ((tries-- > 0)); do
		(($(grep -c -E "$2" "$ENGINE_LOG") > before)) && return 0
		sleep 0.05
	done
	return 1
}

# upload ADDR [curl args]: the marked file (320 kB), POSTed over HTTP at
# 400 kB/s, so that in monitor mode the verdict lands while the upload is
# under way; unhindered it takes under a second.
upload() {
	rm -f "$D/upload.out" # curl writes it only once an answer comes
	ef_ns_exec client curl -sS -m "${UPLOAD_TIMEOUT:-4}" -o "$D/upload.out" --limit-rate 400k \
		--data-binary @"$D/upload.txt" \
		"${@:2}" "http://$1/upload" 2>"$D/upload.err"
}

# --- the checks --------------------------------------------------------------
check_cleartext_blocked() { # MODE
	local mode=$1 rc payload marks
	ef_capture cn eth0 "$D/cn-$mode.pcap" tcp port 80 || exit 1
	upload "$CN"
	rc=$?
	ef_capture_stop cn >/dev/null 2>&1
	# TCP payload the client's segments carried to the server, and the marker.
	payload=$(tcpdump -nn -r "$D/cn-$mode.pcap" "src host ${EF_ADDR4[client]} and tcp" 2>/dev/null |
		sed -n 's/.* length \([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
	marks=$(grep -a -c "$MARK" "$D/cn-$mode.pcap")
	if [ "$mode" = gate ]; then
		if [ "$rc" != 0 ] && [ "$payload" = 0 ] && [ "$marks" = 0 ]; then
			ok "$mode: cleartext upload to CN refused; the CN server's capture holds 0 payload bytes"
		else
			bad "$mode: cleartext upload to CN: curl exit $rc, $payload payload bytes and $marks markers reached the server"
		fi
	elif [ "$rc" != 0 ] && ! grep -q 'received' "$D/upload.out" 2>/dev/null && ((payload < UPLOAD_SIZE)); then
		ok "$mode: cleartext upload to CN cut off (curl exit $rc; $payload of $UPLOAD_SIZE bytes left before the block)"
	else
		bad "$mode: cleartext upload to CN got through (curl exit $rc, $payload of $UPLOAD_SIZE bytes: $(cat "$D/upload.out" 2>/dev/null))"
	fi
	local extra=()
	[ "$mode" = monitor ] && extra=('"packets_out_before_block":')
	if ef_event_seen 5 "$EVENTS" "\"dst_ip\":\"$CN\"" '"dst_port":80' '"verdict":"block"' '"rule":"designated-cleartext"' \
		'"encryption":"cleartext"' '"action_taken":"blocked flow"' "\"mode\":\"$mode\"" "${extra[@]}"; then
		ok "$mode: the block is an event with action_taken${extra:+ and the packets that left before it}"
	else
		bad "$mode: no block event for the upload to CN in $EVENTS"
	fi
}

check_https_logged() { # MODE
	local out
	out=$(ef_ns_exec client curl -sS -k -m 10 --data 'hello' "https://$CN/" 2>&1)
	if [[ $out == "received 5 bytes"* ]]; then
		ok "$1: HTTPS to CN works"
	else
		bad "$1: HTTPS to CN failed: $out"
	fi
	if ef_event_seen 5 "$EVENTS" "\"dst_ip\":\"$CN\"" '"dst_port":443' '"encryption":"encrypted"' '"verdict":"log"' \
		'"rule":"designated-any"' '"action_taken":"logged"'; then
		ok "$1: HTTPS to CN logged by designated-any"
	else
		bad "$1: no designated-any event for HTTPS to CN"
	fi
}

check_us_fast_path() { # MODE
	local flows0 packets0 copied0 out
	ef_wait_tcp_closed client 5
	sleep 0.3
	ef_counters
	flows0=$(ef_field flows) packets0=$(ef_field packets) copied0=$(ef_field copied)
	out=$(ef_ns_exec client curl -sS -m 5 "http://$US/bytes/5000" | wc -c)
	ef_wait_tcp_closed client 5
	sleep 0.3
	ef_counters
	if [ "$out" = 5000 ] && [ "$(ef_field flows)" = "$flows0" ] && [ "$(ef_field packets)" = "$packets0" ] &&
		[ "$(ef_field copied)" = "$copied0" ]; then
		ok "$1: HTTP to US works and the engine classified none of its packets"
	else
		bad "$1: HTTP to US: $out bytes; flows $flows0 -> $(ef_field flows), packets $packets0 -> $(ef_field packets), copied $copied0 -> $(ef_field copied)"
	fi
}

check_weak_tls_blocked() { # MODE
	if [ "$OPENSSL_TLS1" = yes ]; then
		if ! weak_tls "${WEAK_PORT[$1]}" && ef_event_seen 5 "$EVENTS" "\"dst_port\":${WEAK_PORT[$1]}" '"encryption":"weak"' \
			'"verdict":"block"'; then
			ok "$1: TLS 1.0 (OpenSSL) to CN blocked"
		else
			bad "$1: TLS 1.0 (OpenSSL) to CN was not blocked"
		fi
	fi
	ef_ns_exec client timeout 5 "$EF_PYTHON" "$D/efserve.py" legacy-tls-client "$CN" 9443 legacy.test \
		>"$D/legacy.out" 2>&1
	# Monitor mode blocks after the fact: the scripted peer's whole exchange
	# may finish before the verdict reaches the kernel, so there only the
	# block verdict is required; gate mode must also stop the handshake.
	local stopped=yes
	grep -q '^TLSv1 ' "$D/legacy.out" && stopped=no
	[ "$1" = monitor ] && stopped=yes
	if [ "$stopped" = yes ] && ef_event_seen 5 "$EVENTS" '"dst_port":9443' '"encryption":"weak"' \
		'"cipher":"TLS_RSA_WITH_3DES_EDE_CBC_SHA"' '"verdict":"block"'; then
		ok "$1: TLS 1.0 with 3DES (scripted peer) to CN blocked"
	else
		bad "$1: TLS 1.0 with 3DES to CN was not blocked: $(tail -n 1 "$D/legacy.out")"
	fi
}

check_reload() { # MODE CONFIG
	local mode=$1 cfg=$2
	cp "$cfg" "$cfg.good"
	printf 'rules:\n  - name: broken\n    to: [CN\n' >"$cfg"
	if signal_and_wait HUP 'reload refused'; then
		ok "$mode: SIGHUP with a broken config is refused: $(grep 'reload refused' "$ENGINE_LOG" | tail -n 1 | cut -c1-120)"
	else
		bad "$mode: SIGHUP with a broken config: no refusal in the log"
	fi
	local rc us
	upload "$CN"
	rc=$?
	us=$(ef_ns_exec client curl -sS -m 5 "http://$US/bytes/10" 2>&1 | wc -c)
	if [ "$rc" != 0 ] && [ "$us" = 10 ]; then
		ok "$mode: after the refused reload the old policy still blocks CN and passes US"
	else
		bad "$mode: after the refused reload the old policy is not in force (CN upload: curl exit $rc; US: $us)"
	fi
	# A good reload that makes DE designated: cleartext to DE is then blocked.
	config "$cfg" "$mode" false "CN, RU, DE"
	if signal_and_wait HUP 'reloaded'; then
		ok "$mode: SIGHUP with a good config reloads"
	else
		bad "$mode: SIGHUP with a good config did not reload"
	fi
	if ! upload "$DE" && ef_event_seen 5 "$EVENTS" "\"dst_ip\":\"$DE\"" '"verdict":"block"'; then
		ok "$mode: after the reload cleartext to DE is blocked as the new policy says"
	else
		bad "$mode: after the reload cleartext to DE still passes"
	fi
	cp "$cfg.good" "$cfg"
}

check_sigterm() { # MODE
	kill -TERM "$ENGINE"
	wait_engine
	if [ "$RC" = 0 ] && ! table_present; then
		ok "$1: SIGTERM: exit 0 and table inet egressfence is gone"
	else
		bad "$1: SIGTERM: exit $RC, table present: $(table_present && echo yes || echo no)"
	fi
	grep -q 'counters (exit)' "$ENGINE_LOG" && ok "$1: counters printed at exit" || bad "$1: no counters at exit"
}

run_mode() { # MODE
	local mode=$1 cfg=$D/policy-$1.yaml
	echo "--- $mode mode"
	config "$cfg" "$mode"
	start_engine "$mode" "$cfg"
	grep -q "running in $mode mode" "$ENGINE_LOG" && ok "$mode: started ($(grep -o 'prefilter.*' "$ENGINE_LOG" | head -n 1))" ||
		bad "$mode: not running in $mode mode"
	check_cleartext_blocked "$mode"
	check_https_logged "$mode"
	check_us_fast_path "$mode"
	check_weak_tls_blocked "$mode"
	if [ "$mode" = gate ]; then
		if ef_ns_exec client timeout 15 ssh -F /dev/null -i "$D/ssh/id_ed25519" -o BatchMode=yes \
			-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
			-o ConnectTimeout=5 "root@$CN" echo ssh-ok >"$D/ssh.out" 2>&1 && grep -q ssh-ok "$D/ssh.out" &&
			ef_event_seen 5 "$EVENTS" '"dst_port":22' '"app":"SSH"' '"encryption":"encrypted"' '"rule":"designated-any"'; then
			ok "gate: SSH to CN works and is logged"
		else
			bad "gate: SSH to CN did not work or was not logged: $(tr '\n' ' ' <"$D/ssh.out"); events: $(grep '"dst_port":22' "$EVENTS" | grep -o '"encryption":"[a-z]*"\|"verdict":"[a-z]*"\|"decided_by":"[a-z_]*"\|"rule":"[a-z-]*"' | tr '\n' ' ')"
		fi
		if ! upload "[$CN6]" -g; then
			ef_event_seen 5 "$EVENTS" "\"dst_ip\":\"$CN6\"" '"verdict":"block"' && ok "gate: IPv6 cleartext to CN blocked" ||
				bad "gate: IPv6 cleartext to CN: no block event"
		else
			bad "gate: IPv6 cleartext upload to CN got through"
		fi
	fi
	check_reload "$mode" "$cfg"
	check_sigterm "$mode"
}

check_kill9() {
	local cfg=$D/policy-gate.yaml rc
	echo "--- gate mode, engine killed"
	config "$cfg" gate
	start_engine kill9 "$cfg"
	kill -KILL "$ENGINE"
	wait "$ENGINE" 2>/dev/null
	table_present && ok "gate: after kill -9 the table stays" || bad "gate: after kill -9 the table is gone"
	ef_capture cn eth0 "$D/cn-kill9.pcap" tcp port 80 || exit 1
	upload "$CN"
	rc=$?
	ef_capture_stop cn >/dev/null 2>&1
	if [ "$rc" != 0 ] && [ "$(grep -a -c "$MARK" "$D/cn-kill9.pcap")" = 0 ]; then
		ok "gate: after kill -9 cleartext to CN still does not pass (fail closed)"
	else
		bad "gate: after kill -9 cleartext reached CN (curl exit $rc)"
	fi
	if [ "$(ef_ns_exec client curl -sS -m 5 "http://$US/bytes/10" | wc -c)" = 10 ]; then
		ok "gate: after kill -9 US traffic still takes the fast path"
	else
		bad "gate: after kill -9 US traffic is stuck"
	fi
	start_engine restart "$cfg"
	grep -q 'took over the existing table' "$ENGINE_LOG" && ok "gate: a restart takes the existing table over" ||
		bad "gate: the restart did not take the table over: $(head -n 1 "$ENGINE_LOG")"
	check_https_logged gate
	kill -TERM "$ENGINE"
	wait_engine

	echo "--- gate mode, fail_open: true, engine killed"
	config "$cfg" gate true
	start_engine failopen "$cfg"
	sleep 4 # longer than engine_alive lasts: only the heartbeat keeps the gate shut
	if ! upload "$CN" && ef_event_seen 5 "$EVENTS" "\"dst_ip\":\"$CN\"" '"verdict":"block"'; then
		ok "gate: with fail_open: true and the engine alive, cleartext to CN is still blocked"
	else
		bad "gate: with fail_open: true the gate opened while the engine was alive"
	fi
	kill -KILL "$ENGINE"
	wait "$ENGINE" 2>/dev/null
	sleep 4 # the engine_alive element (3 s) runs out
	UPLOAD_TIMEOUT=5 upload "$CN"
	if grep -q 'received' "$D/upload.out" 2>/dev/null; then
		ok "gate: with fail_open: true, cleartext to CN passes once the engine is dead"
	else
		bad "gate: with fail_open: true, cleartext to CN still held after the engine died"
	fi
	ef_ns_exec gw nft delete table inet egressfence
}

SECONDS=0
# EF_E2E_PARTS picks parts when debugging: gate monitor kill9
for part in ${EF_E2E_PARTS:-gate monitor kill9}; do
	case $part in
	gate | monitor) run_mode "$part" ;;
	kill9) check_kill9 ;;
	esac
done
echo "e2e_gateway: $passed passed, $failed failed (${SECONDS}s)"
[ "$failed" = 0 ]
