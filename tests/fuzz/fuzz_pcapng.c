/*
 * tests/fuzz/fuzz_pcapng.c -- libFuzzer harness for the pcapng reader
 * (capture/pcapng.c): the input is a whole pcapng file, read from memory
 * block by block until its end or its first error, and every frame it
 * yields goes through the decoder, with the link type its interface gave.
 *
 * Seeds: tests/fuzz/make_corpus.py copies the shared captures' pcapng
 * files (cut to 16 KiB); tests/fuzz/regress/fuzz_pcapng/ holds small files
 * with several interfaces and sections.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "capture/capture.h"
#include "capture/pcapng.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct capture_frame frame = {0};
	struct packet pkt;
	long offset;

	if (size == 0)
		return 0; /* fmemopen refuses an empty buffer */
	FILE *f = fmemopen((void *)data, size, "rb");
	struct decoder *dec = decoder_new(16);
	struct pcapng *r = f ? pcapng_open(f, err, sizeof(err)) : NULL;
	if (r && dec) {
		while (pcapng_next(r, &frame, &offset, err, sizeof(err)) == 1) {
			if (frame.caplen && !frame.data)
				abort();
			decoder_decode(dec, &frame, &pkt);
		}
	}
	pcapng_close(r); /* closes f; a failed pcapng_open closed it already */
	decoder_free(dec);
	return 0;
}
