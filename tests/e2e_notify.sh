#!/usr/bin/env bash
# tests/e2e_notify.sh -- `egressfence run' under a service manager that
# speaks sd_notify: the test is the manager.  A python3 listener on a unix
# datagram socket stands where systemd's would be ($NOTIFY_SOCKET), with
# $WATCHDOG_USEC set as WatchdogSec= sets it, and records every message
# with the time it came.  The engine gates the namespaces of
# tests/netns/lib.sh, and:
#   - READY=1 comes once, and the table inet egressfence is already in
#     the kernel when it does (the listener looks the moment it arrives);
#     STATUS= names the mode;
#   - a SIGHUP brings RELOADING=1 with MONOTONIC_USEC (systemd 253+), then
#     READY=1 again, in that order;
#   - WATCHDOG=1 comes every half of WATCHDOG_USEC: never two within a
#     third of it, never a gap as long as it (which would be a restart);
#   - while the process is stopped (SIGSTOP: a wedged loop) no ping comes;
#   - SIGTERM brings STOPPING=1.
# Needs root; exits 77 (skipped) without it or without ip netns / nft.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/netns/lib.sh"
ef_need_netns ethtool ss openssl
[ -n "$db" ] || ef_skip "no test country database under $build/tests/data"
ef_test_up

ef_on_bad() { sed 's/^/    notify: /' "$D/notify.log" | tail -n 8; }

ef_policy "$D/policy.yaml" inside=v4 place=cn:CN groups=designated:CN nflog=18 rules=designated-cleartext:block

# The listener: one line per message, "SECONDS FIELD|FIELD|...", and on
# READY=1 whether the table was there at that moment.  It runs in the
# gateway's namespace, where the table is.
cat >"$D/listen.py" <<'PY'
import os, socket, subprocess, sys, time
path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o777)
t0 = time.monotonic()
with open(log, "a", buffering=1) as out:
    out.write("listening\n")
    while True:
        msg = s.recv(4096).decode(errors="replace")
        now = time.monotonic() - t0
        line = "%.3f %s" % (now, msg.strip().replace("\n", "|"))
        if "READY=1" in msg.split("\n"):
            rc = subprocess.call(["nft", "list", "table", "inet", "egressfence"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            line += " [table %s]" % ("present" if rc == 0 else "absent")
        out.write(line + "\n")
PY
: >"$D/notify.log"
ef_bg gw listener "$EF_PYTHON" "$D/listen.py" "$D/notify.sock" "$D/notify.log"
ef_wait_log "$EF_LAST_PID" "$D/notify.log" '^listening' 10 || { echo "FAIL the listener did not start"; exit 1; }

WATCHDOG_S=2
export NOTIFY_SOCKET=$D/notify.sock WATCHDOG_USEC=$((WATCHDOG_S * 1000000))
ef_engine_start notify --config "$D/policy.yaml"
unset NOTIFY_SOCKET WATCHDOG_USEC

# count PATTERN: messages holding PATTERN (grep -E) so far
count() { grep -cE "$1" "$D/notify.log"; }
wait_count() { # wait_count PATTERN N SECONDS
	local tries=$(($3 * 20))
	while ((tries-- > 0)); do
		(($(count "$1") >= $2)) && return 0
		sleep 0.05
	done
	return 1
}

if wait_count 'READY=1' 1 10; then
	first=$(grep -m1 'READY=1' "$D/notify.log")
	[[ $first == *"[table present]"* ]] && ok "READY=1 once the table is loaded" ||
		bad "READY=1 came before the table was in the kernel: $first"
	[[ $first == *"STATUS=gate mode on nflog:18"* ]] && ok "STATUS= names the mode and source" ||
		bad "STATUS= with READY=1 does not name the mode: $first"
else
	bad "no READY=1 within 10 s of the engine's start"
fi
(($(count 'READY=1') == 1)) && ok "READY=1 only once at start" || bad "READY=1 came $(count 'READY=1') times at start"

# --- the watchdog ----------------------------------------------------------------
sleep $((WATCHDOG_S * 3))
mapfile -t pings < <(grep 'WATCHDOG=1' "$D/notify.log" | cut -d' ' -f1)
if ((${#pings[@]} >= 3)); then
	read -r min max < <(printf '%s\n' "${pings[@]}" | awk 'NR > 1 { g = $1 - p; if (min == "" || g < min) min = g; if (g > max) max = g } { p = $1 } END { print min, max }')
	if awk -v a="$min" -v b="$max" -v w="$WATCHDOG_S" 'BEGIN { exit !(a > w / 3 && b < w) }'; then
		ok "WATCHDOG=1 every half of WATCHDOG_USEC (${#pings[@]} pings, gaps ${min}-${max} s for a ${WATCHDOG_S} s watchdog)"
	else
		bad "WATCHDOG=1 gaps ${min}-${max} s, expected between $((WATCHDOG_S * 1000 / 3)) ms and ${WATCHDOG_S} s"
	fi
else
	bad "${#pings[@]} WATCHDOG=1 in $((WATCHDOG_S * 3)) s, expected about $((WATCHDOG_S * 3 * 2))"
fi

# A ping sent just before the stop may still be on its way through the
# listener (a busy machine runs it late): count from 1 s after the stop.
kill -STOP "$ENGINE"
sleep 1
before=$(count 'WATCHDOG=1')
sleep $((WATCHDOG_S * 2 - 1))
during=$(count 'WATCHDOG=1')
kill -CONT "$ENGINE"
((during == before)) && ok "no WATCHDOG=1 while the engine is stopped" ||
	bad "$((during - before)) WATCHDOG=1 while the engine was stopped"
wait_count 'WATCHDOG=1' $((during + 1)) $((WATCHDOG_S * 2)) && ok "pings resume when it runs again" ||
	bad "no WATCHDOG=1 after SIGCONT"

# --- reload ------------------------------------------------------------------------
kill -HUP "$ENGINE"
if wait_count 'READY=1' 2 60; then
	reloading=$(grep -n 'RELOADING=1' "$D/notify.log" | head -n 1)
	ready2=$(grep -n 'READY=1' "$D/notify.log" | sed -n 2p)
	if [ -z "$reloading" ]; then
		bad "SIGHUP brought READY=1 but no RELOADING=1"
	elif ((${reloading%%:*} < ${ready2%%:*})); then
		ok "SIGHUP: RELOADING=1, then READY=1"
	else
		bad "SIGHUP: READY=1 came before RELOADING=1"
	fi
	[[ $reloading =~ MONOTONIC_USEC=[0-9]+ ]] && ok "RELOADING=1 carries MONOTONIC_USEC" ||
		bad "RELOADING=1 without MONOTONIC_USEC: $reloading"
	[[ $ready2 == *"STATUS="*"reloaded"* ]] && ok "STATUS= says it reloaded" || bad "STATUS= after the reload: $ready2"
else
	bad "no READY=1 after SIGHUP"
fi

ef_engine_stop
wait_count 'STOPPING=1' 1 5 && ok "SIGTERM: STOPPING=1" || bad "no STOPPING=1 at SIGTERM"

ef_test_done e2e_notify
