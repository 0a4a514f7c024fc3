/*
 * mkcorpus: build the performance corpus by writing N copies of a capture end
 * to end into one pcap file.
 *
 * Copy k (0-based) has every IPv4 and IPv6 address in its outer IP header
 * moved to another host of the same network, so that each copy's flows are
 * new flows to the engine while the traffic keeps its character:
 *
 *   - The rewrite is a bijection on addresses that depends on k alone, so two
 *     packets that shared an address still share one, and both directions of
 *     a flow stay one flow.
 *   - Only the last byte changes (IPv4: the host octet, IPv6: byte 15), and
 *     it rotates within 1..254, so an address keeps its /24 (v4) or /120 (v6):
 *     private stays private, a country stays a country, and copy k gets the
 *     same verdicts as copy 0. Host bytes 0 and 255 (network, broadcast) keep
 *     their value.
 *   - Addresses with a fixed meaning are left alone: IPv4 0/8 and 224/3
 *     (multicast, reserved, broadcast); IPv6 multicast and the addresses in
 *     ::/120 (unspecified, loopback). The rotation never moves an address into
 *     or out of these sets, so the whole map stays a bijection. IPv4 loopback
 *     does move, within 127/8: the base corpus holds hundreds of flows
 *     captured on lo, which would otherwise be the same flows in every copy.
 *
 * Distinct copies give distinct flows unless the original capture holds two
 * flows whose addresses differ by the same rotation on both ends and whose
 * ports match; that is rare enough to leave (ndpiReader's flow count on the
 * result shows it).
 *
 * Only the outer header is rewritten: tunnelled headers, ARP payloads and
 * the headers quoted in ICMP errors keep their original addresses. Packets
 * whose IP header cannot be found (other ethertypes, truncated captures,
 * unsupported link types) are copied untouched.
 *
 * The IPv4 header checksum is updated incrementally (RFC 1624), so a header
 * that was valid stays valid and a deliberately broken one stays broken. TCP,
 * UDP and ICMPv6 checksums cover the addresses through the pseudo-header and
 * are left stale: the egressfence engine and ndpiReader do not verify them.
 *
 * Timestamps are kept as they are, so they jump back at the start of every
 * copy, as they already do inside the merged base capture.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_COPIES 254 /* the host byte rotates within 1..254 */
#define MAX_PACKET 262144 /* libpcap's own ceiling on a record's caplen */

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_PPPOE_SESSION 0x8864
#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057

struct corpus_counts {
	uint64_t packets;
	uint64_t ipv4;
	uint64_t ipv6;
	uint64_t untouched;
};

static uint16_t load_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void store_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint8_t rotate_host_byte(uint8_t byte, unsigned int copy)
{
	if (byte == 0 || byte == 255)
		return byte;
	return (uint8_t)((byte - 1 + copy) % 254 + 1);
}

static bool ipv4_is_fixed(const uint8_t *addr)
{
	return addr[0] == 0 || addr[0] >= 224;
}

static bool ipv6_is_fixed(const uint8_t *addr)
{
	static const uint8_t zero[15];

	return addr[0] == 0xff || memcmp(addr, zero, sizeof(zero)) == 0;
}

/* RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m'), for one changed 16-bit word. */
static void ipv4_checksum_update(uint8_t *checksum, uint16_t old_word, uint16_t new_word)
{
	uint32_t sum = (uint16_t)~load_be16(checksum);

	sum += (uint16_t)~old_word;
	sum += new_word;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	store_be16(checksum, (uint16_t)~sum);
}

static bool rewrite_ipv4(uint8_t *ip, size_t len, unsigned int copy)
{
	if (len < 20 || ip[0] >> 4 != 4 || (ip[0] & 0x0f) < 5)
		return false;
	for (size_t off = 12; off <= 16; off += 4) {
		uint8_t *addr = ip + off;
		uint16_t old_word = load_be16(addr + 2);

		if (ipv4_is_fixed(addr))
			continue;
		addr[3] = rotate_host_byte(addr[3], copy);
		/* Skipped when nothing moved, or a stored 0xffff would come back as 0. */
		if (load_be16(addr + 2) != old_word)
			ipv4_checksum_update(ip + 10, old_word, load_be16(addr + 2));
	}
	return true;
}

static bool rewrite_ipv6(uint8_t *ip, size_t len, unsigned int copy)
{
	if (len < 40 || ip[0] >> 4 != 6)
		return false;
	for (size_t off = 8; off <= 24; off += 16) {
		uint8_t *addr = ip + off;

		if (!ipv6_is_fixed(addr))
			addr[15] = rotate_host_byte(addr[15], copy);
	}
	return true;
}

static bool rewrite_by_ethertype(uint8_t *l3, size_t len, uint16_t type,
				 unsigned int copy, struct corpus_counts *counts)
{
	if (type == ETHERTYPE_PPPOE_SESSION) {
		/* 6 bytes of PPPoE header, then the 2-byte PPP protocol. */
		if (len < 8)
			return false;
		uint16_t ppp = load_be16(l3 + 6);
		if (ppp == PPP_IPV4)
			type = ETHERTYPE_IPV4;
		else if (ppp == PPP_IPV6)
			type = ETHERTYPE_IPV6;
		else
			return false;
		l3 += 8;
		len -= 8;
	}
	if (type == ETHERTYPE_IPV4 && rewrite_ipv4(l3, len, copy)) {
		counts->ipv4++;
		return true;
	}
	if (type == ETHERTYPE_IPV6 && rewrite_ipv6(l3, len, copy)) {
		counts->ipv6++;
		return true;
	}
	return false;
}

static bool rewrite_ethernet(uint8_t *frame, size_t len, unsigned int copy,
			     struct corpus_counts *counts)
{
	size_t off = 12;
	uint16_t type;

	if (len < 14)
		return false;
	type = load_be16(frame + off);
	/* 802.1Q, 802.1ad and the pre-standard QinQ tag, stacked any number deep. */
	while (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
		off += 4;
		if (len < off + 2)
			return false;
		type = load_be16(frame + off);
	}
	off += 2;
	return rewrite_by_ethertype(frame + off, len - off, type, copy, counts);
}

static bool rewrite_raw_ip(uint8_t *ip, size_t len, unsigned int copy,
			   struct corpus_counts *counts)
{
	if (len < 1)
		return false;
	if (ip[0] >> 4 == 4)
		return rewrite_by_ethertype(ip, len, ETHERTYPE_IPV4, copy, counts);
	return rewrite_by_ethertype(ip, len, ETHERTYPE_IPV6, copy, counts);
}

static bool rewrite_packet(int linktype, uint8_t *data, size_t len, unsigned int copy,
			   struct corpus_counts *counts)
{
	switch (linktype) {
	case DLT_EN10MB:
		return rewrite_ethernet(data, len, copy, counts);
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return rewrite_raw_ip(data, len, copy, counts);
	case DLT_LINUX_SLL:
		/* 16-byte cooked header; the protocol is an ethertype at 14. */
		if (len < 16)
			return false;
		return rewrite_by_ethertype(data + 16, len - 16, load_be16(data + 14), copy,
					    counts);
	default:
		return false;
	}
}

static bool parse_copies(const char *arg, unsigned int *copies)
{
	char *end;
	unsigned long value;

	errno = 0;
	value = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || value < 1 || value > MAX_COPIES) {
		fprintf(stderr, "mkcorpus: number of copies is not an integer 1-%d: `%s'\n",
			MAX_COPIES, arg);
		return false;
	}
	*copies = (unsigned int)value;
	return true;
}

/* One pass over the input, rewritten as copy `copy`, appended to `out`. */
static bool write_copy(const char *in_path, pcap_dumper_t *out, int linktype,
		       unsigned int copy, uint8_t *buffer, struct corpus_counts *counts)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *header;
	const u_char *data;
	bool ok = false;
	pcap_t *in;
	int rc;

	in = pcap_open_offline(in_path, errbuf);
	if (!in) {
		fprintf(stderr, "mkcorpus: cannot reopen `%s': %s\n", in_path, errbuf);
		return false;
	}
	if (pcap_datalink(in) != linktype) {
		fprintf(stderr, "mkcorpus: `%s' changed link type between passes\n", in_path);
		goto out;
	}
	while ((rc = pcap_next_ex(in, &header, &data)) == 1) {
		counts->packets++;
		if (header->caplen > MAX_PACKET) {
			counts->untouched++;
			pcap_dump((u_char *)out, header, data);
			continue;
		}
		memcpy(buffer, data, header->caplen);
		if (!rewrite_packet(linktype, buffer, header->caplen, copy, counts))
			counts->untouched++;
		pcap_dump((u_char *)out, header, buffer);
	}
	if (rc != PCAP_ERROR_BREAK) {
		fprintf(stderr, "mkcorpus: reading `%s' failed after %" PRIu64 " packets: %s\n",
			in_path, counts->packets, pcap_geterr(in));
		goto out;
	}
	ok = true;
out:
	pcap_close(in);
	return ok;
}

static void usage(void)
{
	fprintf(stderr, "Usage: mkcorpus [-n COPIES] IN.pcap OUT.pcap\n"
			"Writes COPIES (default 20, at most %d) address-shifted copies of IN.pcap\n"
			"end to end into OUT.pcap.\n",
			MAX_COPIES);
}

int main(int argc, char *argv[])
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct corpus_counts counts = { 0 };
	unsigned int copies = 20;
	pcap_dumper_t *out = NULL;
	pcap_t *first = NULL, *dead = NULL;
	uint8_t *buffer = NULL;
	char *tmp_path = NULL;
	const char *in_path, *out_path;
	int linktype, opt, ret = 1;

	while ((opt = getopt(argc, argv, "n:h")) != -1) {
		switch (opt) {
		case 'n':
			if (!parse_copies(optarg, &copies))
				return 2;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage();
		return 2;
	}
	in_path = argv[optind];
	out_path = argv[optind + 1];

	first = pcap_open_offline(in_path, errbuf);
	if (!first) {
		fprintf(stderr, "mkcorpus: cannot read capture `%s': %s\n", in_path, errbuf);
		goto out;
	}
	linktype = pcap_datalink(first);
	/* Microsecond records, whatever the input had: nanosecond digits are dropped. */
	dead = pcap_open_dead(linktype, pcap_snapshot(first));
	buffer = malloc(MAX_PACKET);
	/* Write beside the target and rename at the end: a failed run leaves no half corpus. */
	if (!dead || !buffer || asprintf(&tmp_path, "%s.tmp", out_path) < 0) {
		fprintf(stderr, "mkcorpus: out of memory\n");
		goto out;
	}
	out = pcap_dump_open(dead, tmp_path);
	if (!out) {
		fprintf(stderr, "mkcorpus: cannot write `%s': %s\n", tmp_path, pcap_geterr(dead));
		goto out;
	}
	for (unsigned int copy = 0; copy < copies; copy++) {
		if (!write_copy(in_path, out, linktype, copy, buffer, &counts))
			goto out;
	}
	if (pcap_dump_flush(out) != 0 || ferror(pcap_dump_file(out))) {
		fprintf(stderr, "mkcorpus: writing `%s' failed (disk full?)\n", tmp_path);
		goto out;
	}
	pcap_dump_close(out);
	out = NULL;
	if (rename(tmp_path, out_path) != 0) {
		fprintf(stderr, "mkcorpus: cannot rename `%s' to `%s': %s\n", tmp_path, out_path,
			strerror(errno));
		goto out;
	}
	printf("mkcorpus: %s: %" PRIu64 " packets per copy\n", in_path, counts.packets / copies);
	printf("mkcorpus: %s: %u copies, %" PRIu64 " packets (%" PRIu64 " IPv4, %" PRIu64
	       " IPv6 rewritten; %" PRIu64 " copied untouched)\n",
	       out_path, copies, counts.packets, counts.ipv4, counts.ipv6, counts.untouched);
	ret = 0;
out:
	if (out) {
		pcap_dump_close(out);
		unlink(tmp_path);
	}
	free(tmp_path);
	free(buffer);
	if (dead)
		pcap_close(dead);
	if (first)
		pcap_close(first);
	return ret;
}
