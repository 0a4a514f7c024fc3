#!/usr/bin/env bash
# Records bench/corpus/longflow.pcap, the long-flow corpus for benchmarks:
# bulk HTTP and HTTPS transfers, downloads and uploads, running at once so
# their packets interleave, captured whole (Ethernet, full snaplen) on the
# gateway's client-facing veth of tests/netns/lib.sh.
#   bench/record-longflow.sh [OUT]       # default: bench/corpus/longflow.pcap
#   EF_LONGFLOW_MB=50                    # megabytes per flow (4 flows)
#   EF_LONGFLOW_RATE=25M                 # curl --limit-rate per flow
# Needs root.  Each transfer is cut off after EF_LONGFLOW_TIMEOUT seconds
# (default 120); a run that loses packets or times out fails and writes
# nothing.  About 15 seconds and 210 MB for the default 4 x 50 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/corpus/longflow.pcap}
mb=${EF_LONGFLOW_MB:-50}
limit=${EF_LONGFLOW_TIMEOUT:-120}
# Unpaced, four flows through veths outrun tcpdump's writes and it drops
# packets; 4 x 25 MB/s it keeps up with on two cores.
rate=${EF_LONGFLOW_RATE:-25M}
[[ $mb =~ ^[1-9][0-9]*$ && $mb -le 1000 ]] ||
	{ echo "record-longflow: EF_LONGFLOW_MB is \`$mb'; want megabytes per flow, 1-1000" >&2; exit 2; }
[[ $limit =~ ^[1-9][0-9]*$ ]] ||
	{ echo "record-longflow: EF_LONGFLOW_TIMEOUT is \`$limit'; want whole seconds" >&2; exit 2; }

. tests/netns/lib.sh
ef_netns_trap
ef_netns_up

bytes=$((mb * 1000 * 1000))
head -c "$bytes" /dev/urandom >"$EF_NETNS_DIR/upload.bin"
for s in cn us; do
	ef_serve_http "$s" 80
	ef_serve_http "$s" 443 --tls
done

transfer() { # TAG CURL-ARGS...
	ef_ns_exec client curl -sS --max-time "$limit" --limit-rate "$rate" -k -o /dev/null \
		-w "  $1 %{http_code} down %{size_download}B up %{size_upload}B %{time_total}s\n" "${@:2}"
}

ef_capture gw in0 "$EF_NETNS_DIR/longflow.pcap" -s 0
start=$SECONDS
pids=()
transfer "http get cn " "http://${EF_ADDR4[cn]}/bytes/$bytes" & pids+=($!)
transfer "http put us " -T "$EF_NETNS_DIR/upload.bin" "http://${EF_ADDR4[us]}/upload" & pids+=($!)
transfer "https get us" "https://${EF_ADDR4[us]}/bytes/$bytes" & pids+=($!)
transfer "https put cn" -T "$EF_NETNS_DIR/upload.bin" "https://${EF_ADDR4[cn]}/upload" & pids+=($!)
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
ef_wait_tcp_closed client 3 || true

ef_capture_stop gw || failed=1
if ((failed)); then
	echo "record-longflow: a transfer failed or the capture lost packets; $out not written" >&2
	exit 1
fi
mkdir -p "$(dirname "$out")"
mv "$EF_NETNS_DIR/longflow.pcap" "$out"
echo "record-longflow: wrote $out ($(stat -c %s "$out") bytes) in $((SECONDS - start))s"
