/*
 * tests/fuzz/fuzz_logchain.c -- libFuzzer harness for the chained event
 * log (output/logchain.c), both ways:
 *  - any bytes as a log to verify-log: never a crash, always 0, 1 or 2;
 *  - any bytes written through the chaining stream: when every line was a
 *    JSON-object-shaped line (so the writes succeeded), the result must
 *    verify as intact, with as many records as lines.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/output.h"

static FILE *sink;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	sink = fopen("/dev/null", "w");
	if (!sink)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[128], head[65];

	/* As a log to check. */
	FILE *in = fmemopen((void *)data, size, "r");
	if (in) {
		int rc = size ? logchain_verify(in, "fuzz", NULL, sink, sink) : 0;
		fclose(in);
		if (rc < 0 || rc > 2)
			abort();
	}

	/* As lines to chain. */
	char *out = NULL;
	size_t out_len = 0;
	FILE *mem = open_memstream(&out, &out_len);
	if (!mem)
		return 0;
	struct logchain *lc = logchain_new(mem, err, sizeof(err));
	if (!lc) {
		fclose(mem);
		free(out);
		return 0;
	}
	FILE *chained = logchain_stream(lc);
	bool ok = fwrite(data, 1, size, chained) == size && fflush(chained) == 0;
	ok &= fclose(chained) == 0; /* closes mem too; a last line without its newline is chained here */
	uint64_t records = logchain_head(lc, head);
	logchain_free(lc);
	if (ok && records) {
		in = fmemopen(out, out_len, "r");
		if (!in)
			abort();
		char report[256] = "";
		FILE *rep = fmemopen(report, sizeof(report) - 1, "w");
		int rc = logchain_verify(in, "chained", head, rep ? rep : sink, sink);
		if (rep)
			fclose(rep);
		fclose(in);
		if (rc != 0) {
			fprintf(stderr, "fuzz_logchain: a log written by the chain does not verify: %s\n", report);
			abort();
		}
	}
	free(out);
	return 0;
}
