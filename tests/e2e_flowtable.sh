#!/usr/bin/env bash
# tests/e2e_flowtable.sh -- gateway.flowtable: connections the prefilter
# finds unwatched go through the kernel's flowtable once established, and
# skip every forward chain; watched connections never do; a reload takes
# back what the flowtable holds, so a destination the new policy watches is
# judged at once, even on a connection that was offloaded.
#
# "Slow path" below is a test-side table's forward chain (priority 10, after
# the engine's): a named counter there counts the packets that still went
# through netfilter's forward hook.  A flowtable's packets never reach it.
#
#   offload        20 MB from us (unwatched): almost no packet on the slow
#                  path with the flowtable; every one without (the control,
#                  same download, engine without flowtable)
#   watched-stays  HTTPS from cn (watched, logged): every packet on the slow
#                  path (the engine's whole-flow check needs them)
#   reload-takes-back  a cleartext upload to us, offloaded; a reload makes us
#                  designated: the upload is blocked mid-way
#
# Needs root; exits 77 (skipped) without it or without ip netns / nft.  On a
# kernel without flowtables (CONFIG_NF_FLOW_TABLE) it checks only that `run'
# refuses gateway.flowtable with a message that says so, then exits 77.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/netns/lib.sh"
ef_need_netns curl ethtool ss openssl
[ -n "$db" ] || ef_skip "no test country database under $build/tests/data"
probe=efft$$
ip netns add "$probe" 2>/dev/null || ef_skip "needs ip netns (cannot create a network namespace)"
ip -n "$probe" link add p0 type veth peer name p1 2>/dev/null
HAVE_FLOWTABLES=1
ip netns exec "$probe" nft -f - 2>/dev/null <<-EOF || HAVE_FLOWTABLES=0
	table inet p {
		flowtable f {
			hook ingress priority filter
			devices = { p0, p1 }
		}
	}
	EOF
ip netns del "$probe"

ef_test_up
US=${EF_ADDR4[us]} CN=${EF_ADDR4[cn]}
ef_serve_http us 80 || { echo "FAIL http server on us"; exit 1; }
ef_serve_http cn 443 --tls || { echo "FAIL https server on cn"; exit 1; }

config() { # config FILE FLOWTABLE(yes|no) DESIGNATED
	local ft=""
	[ "$2" = yes ] && ft="in0 us0 cn0"
	ef_policy "$1" place="cn:CN us:US" groups="designated:${3// /}" nflog=29 decide=2 flowtable="$ft" \
		rules="designated-cleartext:block designated-any:log"
}

if ((!HAVE_FLOWTABLES)); then
	config "$D/policy-none.yaml" yes CN
	out=$(ef_ns_exec gw timeout 120 "$bin" run --config "$D/policy-none.yaml" --json "$D/none.json" 2>&1)
	rc=$?
	if ((rc == 2)) && grep -q 'gateway.flowtable is set: the kernel needs nftables flowtables, CONFIG_NF_FLOW_TABLE' <<<"$out" &&
		! ef_ns_exec gw nft list table inet egressfence >/dev/null 2>&1; then
		echo "ok   no-flowtables: run refuses gateway.flowtable on this kernel (exit 2, says CONFIG_NF_FLOW_TABLE, leaves no table)"
		ef_skip "this kernel has no nftables flowtables (CONFIG_NF_FLOW_TABLE is not set); offloading was not tried"
	fi
	echo "FAIL no-flowtables: run with gateway.flowtable on a kernel without flowtables: exit $rc; $(tail -n 2 <<<"$out" | tr '\n' ' ')"
	exit 1
fi

ef_ns_exec gw nft -f - <<-'EOF' || { echo "FAIL cannot load the probe table"; exit 1; }
	table inet efprobe {
		counter slow { }
		chain fwd { type filter hook forward priority 10; policy accept; counter name "slow"; }
	}
EOF
# slow_reset: zero the slow-path counter; slow_read: packets since.
slow_reset() { ef_ns_exec gw nft reset counter inet efprobe slow >/dev/null; }
slow_read() { ef_ns_exec gw nft list counter inet efprobe slow | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }

EVENTS=""
start() { # start TAG FLOWTABLE DESIGNATED
	CFG=$D/policy-$1.yaml
	config "$CFG" "$2" "$3"
	EVENTS=$D/events-$1.json
	: >"$EVENTS"
	ef_engine_start "$1" --config "$CFG" --json "$EVENTS"
}

# --- offload, and its control ------------------------------------------------------
download_us() {
	slow_reset
	ef_ns_exec client curl -sS -m 60 -o /dev/null "http://$US/bytes/20000000" || echo "curl failed: $?" >&2
	slow_read
}
start control no CN
without=$(download_us)
ef_engine_stop
start ft yes CN
with=$(download_us)
if [ -n "$with" ] && [ -n "$without" ] && ((without > 10000 && with < 500)); then
	ok "offload: 20 MB from us (unwatched): $with packets on the slow path with the flowtable, $without without"
else
	bad "offload: 20 MB from us: ${with:-?} packets on the slow path with the flowtable, ${without:-?} without (expected < 500 and > 10000)"
fi

# --- a watched connection stays on the slow path -------------------------------------
slow_reset
ef_ns_exec client curl -sS -k -m 60 -o /dev/null "https://$CN/bytes/5000000" || echo "curl to cn failed: $?" >&2
watched=$(slow_read)
if [ -n "$watched" ] && ((watched > 3400)) && grep -q "\"dst_ip\":\"$CN\".*\"verdict\":\"log\"" "$EVENTS"; then
	ok "watched-stays: 5 MB HTTPS from cn (logged): $watched packets on the slow path"
else
	bad "watched-stays: 5 MB HTTPS from cn: ${watched:-?} packets on the slow path (expected > 3400, every data packet); events: $(grep -c "$CN" "$EVENTS")"
fi

# --- a reload takes back what the flowtable holds -----------------------------------
head -c 6000000 /dev/zero | tr '\0' 'a' >"$D/upload.txt"
slow_reset
ef_bg client upload curl -sS -m 40 --limit-rate 400k --data-binary @"$D/upload.txt" -o "$D/upload.out" "http://$US/upload"
up=$EF_LAST_PID
sleep 3
early=$(slow_read)
config "$CFG" yes "CN, US"
kill -HUP "$ENGINE"
ef_wait_log "$ENGINE" "$ENGINE_LOG" "reloaded" 60 || bad "reload-takes-back: the engine did not say it reloaded"
wait "$up"
rc=$?
if ((rc != 0)) && ((early < 200)); then
	ok "reload-takes-back: the offloaded upload to us ($early slow-path packets in its first 3 s) was stopped after the reload made us designated (curl exit $rc)"
else
	bad "reload-takes-back: curl exit $rc, $early slow-path packets in the first 3 s (expected an offloaded upload, then a failure); server said: $(cat "$D/upload.out" 2>/dev/null | head -c 100)"
fi
ef_engine_stop

ef_test_done e2e_flowtable
