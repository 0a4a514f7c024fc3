/*
 * rawread: the benchmark's floor. Reads every packet of a capture with
 * libpcap's pcap_next_ex and does nothing else, so the time it takes is what
 * any pcap-reading tool pays before it looks at a packet.
 *
 * Each packet's caplen and one of its bytes go into a checksum that is
 * printed, so the compiler cannot drop the loop or the read of the data.
 *
 * Output, one line: "PACKETS packets, BYTES bytes in SECONDS s (checksum X)".
 * bench/run.sh reads the first and fifth fields.
 */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9;
}

int main(int argc, char *argv[])
{
	char errbuf[PCAP_ERRBUF_SIZE];
	uint64_t packets = 0, bytes = 0;
	uint32_t checksum = 0;
	struct pcap_pkthdr *header;
	struct timespec start;
	const u_char *data;
	pcap_t *in;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "Usage: rawread FILE.pcap\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	in = pcap_open_offline(argv[1], errbuf);
	if (!in) {
		fprintf(stderr, "rawread: cannot read capture `%s': %s\n", argv[1], errbuf);
		return 1;
	}
	while ((rc = pcap_next_ex(in, &header, &data)) == 1) {
		packets++;
		bytes += header->caplen;
		/* The last captured byte: it forces a read of the packet's own memory. */
		if (header->caplen)
			checksum = checksum * 31 + data[header->caplen - 1];
	}
	if (rc != PCAP_ERROR_BREAK) {
		fprintf(stderr, "rawread: reading `%s' failed after %" PRIu64 " packets: %s\n",
			argv[1], packets, pcap_geterr(in));
		pcap_close(in);
		return 1;
	}
	pcap_close(in);
	printf("%" PRIu64 " packets, %" PRIu64 " bytes in %.3f s (checksum %08" PRIx32 ")\n",
	       packets, bytes, seconds_since(&start), checksum);
	return 0;
}
