/*
 * tests/fuzz/fuzz_pcapmap.c -- libFuzzer harness for the mapped pcap reader
 * (capture/pcapmap.c), differential: the input is a whole capture file, read
 * once by the mapped reader and once by libpcap (from the same bytes, through
 * fmemopen), and any difference -- a frame's bytes, lengths or time, where
 * and with what message reading stopped -- aborts.  Under ASan a read past
 * the input's end is found too.  Inputs the mapped reader declines (libpcap
 * reads them in the product) are only checked to be declined cleanly.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/pcapmap.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void differ(const char *what, unsigned frame)
{
	fprintf(stderr, "fuzz_pcapmap: frame %u: %s differs from libpcap\n", frame, what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pcapmap *m = pcapmap_open_buffer(data, size);
	char err[PCAP_ERRBUF_SIZE];

	if (!m)
		return 0;
	/* libpcap gets a private copy: fmemopen wants a writable buffer */
	uint8_t *copy = malloc(size);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	FILE *fp = fmemopen(copy, size, "rb");
	pcap_t *p = fp ? pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, err) : NULL;
	if (!p)
		differ("opening", 0);
	if (pcapmap_linktype(m) != pcap_datalink(p))
		differ("the link type", 0);
	for (unsigned frame = 0;; frame++) {
		struct pcap_pkthdr *h;
		const u_char *bytes;
		struct capture_frame f;
		int rc = pcap_next_ex(p, &h, &bytes);
		enum capture_status st = pcapmap_next(m, &f);

		if (rc == 1) {
			if (st != CAPTURE_OK)
				differ("reading a frame", frame);
			if (f.caplen != h->caplen || f.wirelen != h->len)
				differ("a length", frame);
			if (f.ts_us != (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec)
				differ("the time", frame);
			if (f.data < data || f.data + f.caplen > data + size || memcmp(f.data, bytes, f.caplen))
				differ("the bytes", frame);
			continue;
		}
		if (rc == PCAP_ERROR_BREAK) {
			if (st != CAPTURE_END)
				differ("the end", frame);
			break;
		}
		long at;
		if (st != CAPTURE_ERROR || strcmp(pcapmap_error(m, &at), pcap_geterr(p)) != 0)
			differ("the error", frame);
		if (at != ftell(pcap_file(p)))
			differ("the error's offset", frame);
		break;
	}
	pcap_close(p); /* closes fp */
	free(copy);
	pcapmap_close(m);
	return 0;
}
