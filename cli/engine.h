/*
 * cli/engine.h -- the pipeline put together: capture -> classify -> geodb
 * -> enforce, for the commands in main.c.
 */
#ifndef EF_ENGINE_H
#define EF_ENGINE_H

#include <stdio.h>

#include "../capture/capture.h"
#include "../classify/classify.h"
#include "../enforce/enforce.h"
#include "../geodb/geodb.h"
#include "../output/output.h"

#define ENGINE_MAX_WORKERS 16

/* What audit counted, summed over workers. */
struct audit_totals {
	uint64_t packets, frames, flows, evicted;
	uint64_t skipped[SKIP__COUNT];
	uint64_t by_verdict[EF_BLOCK + 1];
	unsigned failed_files;
};

struct audit_options {
	const struct policy *policy;
	const struct geodb *geodb;
	unsigned workers;            /* 1..ENGINE_MAX_WORKERS */
	FILE *json;                  /* one event per flow, or NULL */
	enum event_format format;    /* of the events in json */
	struct outputs *outputs;     /* syslog, redis...: every event too, or NULL */
	FILE *summary;               /* the person's report, or NULL */
	struct classifier_config classifier;
	/* Called for every flow once judged, with the record as the classifier
	 * gave it, as judged, and the decision (audit --compare, compare.c);
	 * from the worker threads, so it must be safe to call from several. */
	void (*on_judged)(void *ctx, const struct ef_flow_record *raw, const struct ef_flow_record *judged,
			  const struct policy_decision *d);
	void *on_judged_ctx;
};

/* Returns 0 when the capture was read to its end (file errors are counted in
 * totals->failed_files and reported on stderr), -1 with err on a failure
 * that stopped the audit. */
int engine_audit(const struct audit_options *o, const char *const *paths, size_t n,
		 struct audit_totals *totals, char *err, size_t errlen);


/* ---- the command line (options.c) ---------------------------------------- */

struct option;
/* "egressfence: MESSAGE" on stderr; returns the usage exit code, 2. */
int usage_error(const char *fmt, const char *arg);
/* A whole number from 1 to max, digits only. */
bool parse_count(const char *s, unsigned long max, unsigned long *out);
/* --checkpoint-every (audit and run): 0, or the usage error. */
int checkpoint_every_option(const char *arg, uint32_t *out);
/* After getopt_long() returned opt: 0 when opt is one of `allowed', else
 * the usage error for it (unknown, missing its value -- `with_value' lists
 * the short options that take one -- or not for this command). */
int option_error(char **argv, int opt, const char *with_value, const char *allowed,
		 const struct option *longopts);

#ifndef EF_DEFAULT_POLICY
#define EF_DEFAULT_POLICY "/etc/egressfence/policy.yaml"
#endif
#ifndef EF_DEFAULT_DB
#define EF_DEFAULT_DB "/usr/share/egressfence/country.mmdb"
#endif
/* --config as given, else $EGRESSFENCE_CONFIG, else EF_DEFAULT_POLICY. */
const char *config_path(const char *given);
/* The databases --db names (n_dbs > 0), else the policy's geodb.country,
 * else EF_DEFAULT_DB, with the policy's overrides; NULL and err on failure. */
struct geodb *open_policy_geodb(const struct policy *p, const char *const *dbs, size_t n_dbs,
				char *err, size_t errlen);

/* ---- audit --compare (compare.c) -------------------------------------------- */

struct compare_request {
	const struct policy *current;
	const struct geodb *current_db;
	const char *new_policy;            /* NEW.yaml */
	const char *const *dbs;            /* --db, used for both policies */
	size_t n_dbs;
	const char *json;                  /* changed flows' events, or NULL; "-" is stdout */
	unsigned workers;
	uint32_t max_flows;
};
/* Judges the captures under the current and the new policy in one pass and
 * prints, per rule and country, the flows whose verdict changes.  Returns
 * the exit code: 0 nothing stricter, 1 some flow would become stricter,
 * 2 an error (already reported). */
int audit_compare(const struct compare_request *req, const char *const *paths, size_t n);

/* ---- the daemon (run.c) ---------------------------------------------------- */

/* `egressfence run' and `egressfence nft': argv without the command name. */
int cmd_run(int argc, char **argv);
int cmd_nft(int argc, char **argv);

#endif
