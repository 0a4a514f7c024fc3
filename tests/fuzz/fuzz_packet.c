/*
 * tests/fuzz/fuzz_packet.c -- libFuzzer harness for the packet path: decode
 * (link layers, tunnels, IP fragments) -> flow table -> TCP reassembly ->
 * nDPI -> handshake walkers -> the JSON event of each flow.
 *
 * Input: byte 0 picks the link type (its low 3 bits index link_types[]);
 * then frames, each a 2-byte big-endian header and its bytes.  The header's
 * low 15 bits are the frame's length (the last frame takes what is left);
 * its top bit moves the clock 100 s on before the frame, so that idle
 * timeouts and fragment expiry run too.  Several frames per input give
 * reassembly, fragments and the walkers state to work on.
 *
 * One classifier serves the whole run (nDPI takes long to set up) and is
 * flushed after each input, so no flow outlives the input that made it;
 * the decoder, which holds fragments, is made anew per input.
 * tests/fuzz/make_corpus.py writes seeds in this format from real captures.
 */
#include <pcap/dlt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/engine.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_NFLOG
#define DLT_NFLOG 239
#endif

static const int link_types[8] = {
	DLT_EN10MB, DLT_RAW, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL, DLT_LOOP, DLT_PPP, DLT_NFLOG,
};

static struct classifier *classifier;
static FILE *sink;

static void on_end(struct flow *f, const struct ef_flow_record *rec, void *ctx)
{
	struct policy_decision d = {.verdict = EF_LOG, .rule = "fuzz", .rule_index = 0};

	/* both shapes of the event (output/event.c) */
	event_write_json(sink, EVENT_FORMAT_NATIVE, rec, &d, NULL, NULL);
	event_write_json(sink, EVENT_FORMAT_ECS, rec, &d, NULL, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct classifier_config cfg = {.max_flows = 64};
	char err[256];

	sink = fopen("/dev/null", "w");
	classifier = classifier_new(&cfg, on_end, NULL, err, sizeof(err));
	if (!sink || !classifier) {
		fprintf(stderr, "fuzz_packet: %s\n", sink ? err : "cannot open /dev/null");
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t clock_us = 1700000000ull * 1000000u;
	struct decoder *dec;
	struct capture_frame frame;
	struct packet pkt;
	struct flow *flow;

	if (size < 1 || !(dec = decoder_new(16)))
		return 0;
	int linktype = link_types[data[0] & 7];
	size_t off = 1;
	while (off + 2 <= size) {
		uint16_t h = (uint16_t)(data[off] << 8 | data[off + 1]);
		size_t len = h & 0x7fff;
		off += 2;
		if (len > size - off)
			len = size - off;
		if (h & 0x8000)
			clock_us += 100u * 1000000u;
		clock_us += 1000;
		/* A copy of exactly the frame's size, so that ASan sees any read
		 * past its end. */
		uint8_t *copy = malloc(len ? len : 1);
		if (!copy)
			break;
		memcpy(copy, data + off, len);
		frame = (struct capture_frame){copy, (uint32_t)len, (uint32_t)len, clock_us, linktype, 0, 0};
		if (decoder_decode(dec, &frame, &pkt) == DECODE_OK)
			classifier_packet(classifier, &pkt, &flow);
		else
			classifier_tick(classifier, clock_us);
		while (decoder_incomplete(dec, &pkt)) /* datagrams given up, as the engine drains them */
			classifier_packet(classifier, &pkt, &flow);
		free(copy);
		off += len;
	}
	decoder_give_up_fragments(dec);
	while (decoder_incomplete(dec, &pkt))
		classifier_packet(classifier, &pkt, &flow);
	classifier_flush(classifier);
	decoder_free(dec);
	return 0;
}
