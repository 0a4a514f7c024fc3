/*
 * tests/fuzz/fuzz_policy.c -- libFuzzer harness for the policy loader: any
 * bytes as a policy file.  A policy that loads is also printed (as `check`
 * does) and asked for a decision, so that what the loader accepted is
 * something the rest of the program can use.  Seeds: the files in policy/
 * and the test configurations (tests/fuzz/make_corpus.py).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "enforce/enforce.h"

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
	struct policy_error err;
	struct policy *p = policy_load_buffer("fuzz.yaml", (const char *)data, size, &err);

	if (!p) {
		/* A refusal always says why. */
		if (!err.msg[0])
			abort();
		return 0;
	}
	policy_print(p, sink);
	struct ef_addr inside, remote;
	struct ef_geo geo = {.n = 1, .n_db = 1, .set = {ef_country_make("CN")}, .per_db = {ef_country_make("CN")}};
	struct policy_decision d;
	ef_addr_parse("10.0.0.2", &inside);
	ef_addr_parse("198.51.100.10", &remote);
	for (int e = EF_ENC_UNKNOWN; e < EF_ENC__COUNT; e++) {
		struct policy_query q = {
			.inside = &inside, .remote = &remote, .inside_port = 40000, .remote_port = 80,
			.l4 = 6, .enc = (enum ef_encryption)e, .app = "HTTP", .bytes_out = 100, .geo = &geo,
		};
		policy_decide(p, &q, &d);
		if (d.verdict > EF_BLOCK)
			abort();
	}
	policy_free(p);
	return 0;
}
