/*
 * tests/fuzz/fuzz_output_config.c -- libFuzzer harness for the output
 * section's reader (output/output_config.c): any bytes as a policy file.
 * A refusal must say why, with FILE:LINE:COL; what is accepted must be
 * usable: every output has a type, a port where it needs one, and a
 * format an event can be written in.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "output/output.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct output_config c;
	char err[1024];

	if (output_config_load_buffer("fuzz.yaml", (const char *)data, size, &c, err, sizeof(err)) != 0) {
		if (strncmp(err, "fuzz.yaml:", 10) != 0)
			abort();
		return 0;
	}
	if (c.n > OUTPUT_MAX)
		abort();
	for (size_t i = 0; i < c.n; i++) {
		const struct output_spec *s = &c.spec[i];
		if (s->type != OUTPUT_SYSLOG && s->type != OUTPUT_REDIS)
			abort();
		if ((s->type == OUTPUT_REDIS || s->host[0]) && (s->port < 1 || s->port > 65535 || !s->host[0]))
			abort();
		if (s->type == OUTPUT_SYSLOG && !s->host[0] && s->path[0] != '/')
			abort();
		if (s->format != EVENT_FORMAT_NATIVE && s->format != EVENT_FORMAT_ECS)
			abort();
	}
	return 0;
}
