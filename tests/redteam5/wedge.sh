#!/usr/bin/env bash
# tests/redteam5/wedge.sh -- probe, not a ctest: can the release's blocking raw
# socket stall the engine's loop when the uplink backs up?  A 200 kbit/s tbf
# on the gateway's cn0, 40 parallel TLS connections each sending 5.6 KB
# right after Finished (4 releases each); strace -T times every sendto.
# Measured on 630085e: 160 released, slowest sendto 7.8 ms, SIGUSR1
# answered within 1 s: no stall seen.  Root; needs strace.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../netns/lib.sh"
ef_need_netns tcpdump strace
ef_test_up
cfg=$D/policy.yaml
ef_policy "$cfg" place="cn:CN us:US" place6="cn:CN us:US" groups=designated:CN nflog=45 decide=20 \
	fail_open=false rules="designated-cleartext:block designated-any:log" || exit 1
ef_serve_http cn 443 --tls || exit 1
ef_engine_start wedge --config "$cfg" --json "$D/ev.json"
# the gateway's uplink to cn backs up: 3 s of queue
ef_ns_exec gw tc qdisc add dev cn0 root tbf rate 200kbit burst 20k limit 8m
strace -f -p "$ENGINE" -e trace=sendto -T -o "$D/strace.txt" & st=$!
sleep 0.5
pids=()
for i in $(seq 1 40); do
  EF_PROBE_TIMEOUT=60 ef_ns_exec client "$EF_PYTHON" "$src/tests/redteam5/probe5.py" tail-rec ${EF_ADDR4[client]} ${EF_ADDR4[cn]} R5WEDGE$i 5600 $((42000 + i)) >"$D/w$i.out" 2>&1 &
  pids+=($!)
done
t0=$SECONDS; ef_counters; echo "SIGUSR1 answered after the burst in $((SECONDS - t0)) s"
wait "${pids[@]}" 2>/dev/null
t0=$SECONDS; ef_counters; echo "SIGUSR1 answered in $((SECONDS - t0)) s"
sleep 4
kill $st; wait $st 2>/dev/null
echo "sendto calls on the raw sockets: $(grep -c 'sendto(' "$D/strace.txt")"
echo "slowest sendto (s):"; grep -o '<[0-9.]*>' "$D/strace.txt" | tr -d '<>' | sort -rn | head -5
ef_counters; echo "$COUNTERS" | grep -o "held=[0-9]*\|released=[0-9]* release_errors=[0-9]*\|capture_drops=[0-9]*\|heartbeats_[a-z]*=[0-9]*" | tr '\n' ' '; echo
grep -h "^flight\|Error" $D/w*.out | sort | uniq -c | head
ef_engine_stop
