#!/usr/bin/env bash
# Records samples/sample.pcap: real clients in a client namespace talking to
# real servers placed (by samples/sample-policy.yaml's overrides) in CN, US,
# DE and IR, captured as Ethernet on the gateway's client-facing veth.  Also
# writes samples/sample-policy.yaml.  samples/README.md lists the flows and
# what egressfence should decide for each.
#   scripts/record-sample.sh [OUTDIR]     # default: samples/
# Needs root; about 6 seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-samples}
max_bytes=$((300 * 1024))

. tests/netns/lib.sh
ef_netns_trap
ef_netns_up

mkdir -p "$out"
tmp=$EF_NETNS_DIR
head -c 4096 /dev/urandom >"$tmp/upload.bin"
printf 'From: a@example.test\r\nTo: b@example.test\r\nSubject: sample\r\n\r\nhello over STARTTLS\r\n' >"$tmp/mail.txt"

for s in cn us de; do ef_serve_http "$s" 80; done
ef_serve_openssl cn 443
ef_serve_openssl us 443
ef_serve_openssl ir 443
ef_serve_openssl_weak cn 8443
ef_serve_openssl_weak de 8443
ef_serve_legacy_tls cn 9443
ef_serve_ssh cn 22
ef_serve_smtp cn 25
ef_serve_ftp cn 21
ef_serve_dns cn 53
ef_serve_sink cn 9000

# Names, so that HTTP carries a Host header and TLS a server name (SNI).
resolve=()
for s in "${EF_SERVERS[@]}"; do
	resolve+=(--resolve "$s.egressfence.test:80:${EF_ADDR4[$s]}"
		--resolve "$s.egressfence.test:443:${EF_ADDR4[$s]}")
done
client() { ef_ns_exec client "$@"; }
get() { client curl -sS --max-time 10 "${resolve[@]}" -o /dev/null -w "  %{url} %{http_code} %{size_download}B\n" "$@"; }
post() { client curl -sS --max-time 10 "${resolve[@]}" --data-binary "@$tmp/upload.bin" -o /dev/null -w "  POST %{url} %{http_code} sent %{size_upload}B\n" "$@"; }
s_client() { # ADDR:PORT SERVERNAME ARGS...
	printf 'GET / HTTP/1.0\r\n\r\n' |
		client timeout 10 openssl s_client -connect "$1" -servername "$2" -brief -ign_eof "${@:3}" 2>&1 |
		grep -E '^(Protocol version|Ciphersuite):' | paste -sd' ' | sed "s/^/  $1 /"
}

ef_capture gw in0 "$tmp/sample.pcap" -s 0
echo "record-sample: flows"
get http://cn.egressfence.test/bytes/16000
post http://cn.egressfence.test/upload
get http://us.egressfence.test/bytes/16000
post http://us.egressfence.test/upload
get http://de.egressfence.test/bytes/16000
get -6 "http://[${EF_ADDR6[cn]}]/bytes/8000"
get --tlsv1.3 -k https://cn.egressfence.test/
get --tlsv1.3 -k https://us.egressfence.test/
get --tlsv1.3 -k https://ir.egressfence.test/
s_client "${EF_ADDR4[cn]}:443" cn.egressfence.test -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256
s_client "${EF_ADDR4[cn]}:8443" cn.egressfence.test -tls1 -cipher 'ECDHE-RSA-AES128-SHA:@SECLEVEL=0'
s_client "${EF_ADDR4[cn]}:8443" cn.egressfence.test -tls1_2 -cipher 'NULL-SHA256:@SECLEVEL=0'
s_client "${EF_ADDR4[de]}:8443" de.egressfence.test -tls1 -cipher 'ECDHE-RSA-AES128-SHA:@SECLEVEL=0'
echo "  legacy $(ef_legacy_tls_client client "${EF_ADDR4[cn]}" 9443 cn.egressfence.test)"
echo "  ssh read $(ef_ssh client "${EF_ADDR4[cn]}" 'head -c 2000 /dev/urandom | wc -c')B"
client curl -sS --max-time 10 --ssl-reqd -k "smtp://${EF_ADDR4[cn]}" \
	--mail-from a@example.test --mail-rcpt b@example.test -T "$tmp/mail.txt" && echo "  smtp+starttls sent"
echo "  ftp get $(client curl -sS --max-time 10 "ftp://${EF_ADDR4[cn]}/hello.txt" | wc -c)B"
client curl -sS --max-time 10 -T "$tmp/upload.bin" "ftp://${EF_ADDR4[cn]}/upload.bin" && echo "  ftp put 4096B"
# A DNS query for example.com, A record, id 0x1234.
printf '\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01' |
	client nc -u -w1 "${EF_ADDR4[cn]}" 53 | wc -c | sed 's/^/  dns answer /;s/$/B/'
head -c 1500 /dev/urandom | client nc -N -w3 "${EF_ADDR4[cn]}" 9000 | sed 's/^/  sink: /'

ef_wait_tcp_closed client 3 || echo "record-sample: connections still open at the end of the capture" >&2

ef_capture_stop gw

size=$(stat -c %s "$tmp/sample.pcap")
if ((size > max_bytes)); then
	echo "record-sample: the capture is $size bytes, over the $max_bytes allowed; shrink the transfers" >&2
	exit 1
fi
mv "$tmp/sample.pcap" "$out/sample.pcap"
echo "record-sample: wrote $out/sample.pcap ($size bytes)"

# The policy: our geodb and networks, then everything else from
# policy/default.yaml (its own geodb and networks dropped); without that
# file, the default policy's groups and rules as written here.
{
	cat <<-'EOF'
		# The policy for samples/sample.pcap: the default policy, with the test
		# servers' documentation and benchmark ranges placed in countries.
		# Written by scripts/record-sample.sh; edit that, not this.
		geodb:
		  country: ../geodb/db/node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb
		networks:
		  internal: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, "fc00::/7"]
		  overrides:
	EOF
	for s in cn us de ir; do
		cc=${s^^}
		printf '    - {cidr: "%s", country: %s}\n    - {cidr: "%s", country: %s}\n' \
			"${EF_NET4[$s]}" "$cc" "${EF_NET6[$s]}" "$cc"
	done
	echo
	echo "# The rest is policy/default.yaml's, from its first key on."
	awk '/^[^ \t#]/ { body = 1; skip = ($0 ~ /^(geodb|networks):/) } body && !skip' policy/default.yaml |
		sed 's#^  file: lists.yaml#  file: ../policy/lists.yaml#'
} >"$tmp/sample-policy.yaml"
mv "$tmp/sample-policy.yaml" "$out/sample-policy.yaml"
echo "record-sample: wrote $out/sample-policy.yaml"
