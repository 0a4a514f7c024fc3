/*
 * enforce/enforce.h -- the policy and what carries its verdicts out.
 *
 * The policy is loaded from one YAML file (see policy/default.yaml and the
 * README's configuration reference).  Loading either succeeds completely or
 * fails with one message "FILE:LINE:COL: what was expected" and leaves
 * nothing behind; there is no half-loaded policy.  A loaded policy is
 * immutable, so a reload builds a new one and swaps the pointer.
 *
 * Deciding: rules are tried in file order and the first that matches wins,
 * once for each country the remote end has (struct ef_geo set[]), and the
 * strictest verdict over those countries is the flow's.  A remote end with
 * no known country belongs to no group and no list, so a negated `to:`
 * (`!@conforming`) matches it: unknown is not conforming (fail closed).
 */
#ifndef EF_ENFORCE_H
#define EF_ENFORCE_H

#include <stdio.h>

#include "../core/flow.h"
#include "../geodb/geodb.h"

struct policy;

struct policy_error {
	char msg[512]; /* "policy.yaml:12:9: unknown country code `XX'..." */
};

struct policy *policy_load(const char *path, struct policy_error *err);
/* Same, from memory; `name` stands for the file name in messages. */
struct policy *policy_load_buffer(const char *name, const char *text, size_t len,
				  struct policy_error *err);
void policy_free(struct policy *p);

/* What the file says about the rest of the engine. */
size_t policy_geodb_count(const struct policy *p);
const char *policy_geodb_path(const struct policy *p, size_t i); /* resolved against the file's folder */
const struct geodb_override *policy_overrides(const struct policy *p, size_t *n);
bool policy_is_internal(const struct policy *p, const struct ef_addr *a);
size_t policy_interface_count(const struct policy *p);   /* capture.interfaces */
const char *policy_interface(const struct policy *p, size_t i);
bool policy_fail_open(const struct policy *p);            /* fail_open: */

/*
 * Every country some rule with a `to:` could match, by the strictest action
 * such a rule has; a negated `to:` watches every country but the listed ones,
 * which the caller learns from *all_but (then out[] lists the exceptions).
 * Used to build the kernel prefilter.
 */
size_t policy_watched_countries(const struct policy *p, enum ef_verdict at_least,
				ef_country *out, size_t cap, bool *all_but);

struct policy_query {
	const struct ef_addr *inside, *remote;
	uint16_t inside_port, remote_port;
	uint8_t l4;                  /* IPPROTO_TCP, IPPROTO_UDP, ... */
	enum ef_encryption enc;
	const char *app;             /* nDPI name, "TLS.Google"; matched case-insensitively,
				      * on the whole name or either half of it */
	uint64_t bytes_out;          /* payload bytes the inside end sent */
	const struct ef_geo *geo;
};

struct policy_decision {
	enum ef_verdict verdict;
	const char *rule;            /* NULL when the default decided; owned by the policy */
	int rule_index;              /* -1 for the default */
	uint32_t block_remote_seconds; /* rule's `block_remote:` (0 = only this flow) */
	ef_country country;          /* the country that produced the verdict, or NONE */
};

void policy_decide(const struct policy *p, const struct policy_query *q,
		   struct policy_decision *out);

/* The resolved policy as `egressfence check` prints it: groups expanded,
 * defaults filled in, one rule per block. */
void policy_print(const struct policy *p, FILE *out);

/* Names of all assigned ISO 3166-1 alpha-2 codes (plus XK, used by many
 * databases for Kosovo); true when `c` is one of them. */
bool policy_country_is_assigned(ef_country c);

#endif
