/*
 * cli/metrics.h -- `egressfence run''s Prometheus endpoint (metrics.listen,
 * --metrics-listen): the text exposition format over HTTP, served by
 * libmicrohttpd on its own thread.
 *
 * Two sides, two threads:
 *  - the loop records judgements (metrics_judged) into counters only it
 *    touches, and once a second hands a sample of the other counters to
 *    metrics_publish(), which copies both into the shared snapshot if it
 *    can take the lock at once, and otherwise tries again a second later:
 *    the packet loop never waits on a scrape;
 *  - the HTTP thread copies the snapshot under that lock and formats it
 *    outside it.
 * Labels come from the policy (group and rule names), the mode and the
 * source names; never an address or a country list.  A label table that
 * is full (a policy reloaded with ever new names) counts under "other".
 */
#ifndef EF_CLI_METRICS_H
#define EF_CLI_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/flow.h"

#define METRICS_MAX_SOURCES 16
#define METRICS_MAX_OUTPUTS 8
#define METRICS_MAX_DBS 4

struct metrics;

/* One event output's queue.  Today run has one (--json, named "json");
 * per-output counters go here, one entry each, when outputs have them. */
struct metrics_output {
	char name[32];
	uint64_t written, dropped, dropped_block, write_errors;
};

/* What the loop samples once a second; plain numbers, copied whole. */
struct metrics_sample {
	uint64_t packets, fast_path, flows, flows_active;
	uint64_t judged_at_deadline, judged_at_end, rejudged, revoked;
	uint64_t released, release_errors; /* gate: held segments sent on after an allow, and those not */
	bool have_kernel;                      /* a table is loaded (not observe mode) */
	uint64_t held, copied, refused;        /* the table's counters */
	size_t n_sources;
	struct {
		char name[64];                     /* "eth1", "nflog:4242" */
		uint64_t drops;                    /* by the kernel, before the engine read them */
	} sources[METRICS_MAX_SOURCES];
	size_t n_outputs;
	struct metrics_output outputs[METRICS_MAX_OUTPUTS];
	uint64_t reloads, reload_failures, kernel_errors, heartbeats_late;
	uint64_t prefilter_ranges[2][2];       /* [block, log][IPv4, IPv6] */
	size_t n_dbs;
	struct {
		char path[256];
		uint64_t build_epoch;
	} dbs[METRICS_MAX_DBS];
};

/* Listens on addr (checked by ef_listen_parse) and starts the HTTP thread;
 * mode is the label of egressfence_mode_info.  NULL and err on failure
 * (address in use, not an address of this host). */
struct metrics *metrics_start(const char *listen, const char *mode, char *err, size_t errlen);
/* Stops the thread and frees everything; NULL is fine. */
void metrics_stop(struct metrics *m);

/* The loop's side.  group: the policy group of the remote's country (NULL:
 * in none; no_country: the country is not known); rule: the rule that
 * decided, NULL for the default; latency_s: first packet to decision. */
void metrics_judged(struct metrics *m, enum ef_verdict v, enum ef_encryption enc, const char *group,
		    bool no_country, const char *rule, double latency_s);
void metrics_publish(struct metrics *m, const struct metrics_sample *s);

#endif
