/*
 * output/output.h -- the audit record an auditor reads: one self-contained
 * HTML report (and a CSV of every flow it lists) built from JSON event logs.
 *
 * A report is filled in the order an auditor reads it -- what was examined
 * (captures, logs, gaps), under what rules (policy, groups, databases), what
 * was found (events), whether the record is intact (chain, and for a signed
 * log its key id, checkpoints and signatures) -- and written once at the
 * end.  A log is checked only by the verifier verify-log runs (set with
 * report_set_verifier); signatures are said to be checked only when it had
 * the public key.  Whatever the report shows is counted from the events and
 * the files themselves; what the inputs cannot tell (the policy in force
 * when a log was written, say) is said to be unknown, never filled in.
 *
 * Invariants:
 *  - Every figure on the page is a sum over events read by report_add_log()
 *    or report_add_events(); nothing is estimated or sampled.
 *  - Text from the events (server names, apps, rules) is escaped for HTML
 *    and guarded for spreadsheets; the page loads nothing from outside.
 *  - Output files are opened with O_NOFOLLOW: a planted symlink is refused.
 */
#ifndef EF_OUTPUT_H
#define EF_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../geodb/geodb.h"

struct policy;
struct report;

/* "0.1.0 (commit 5b54b45)": the egressfence that produced an output. */
const char *output_version(void);

/* The unknown country, as every output writes it. */
#define OUTPUT_NO_COUNTRY "none"

struct report *report_new(void);
void report_free(struct report *r);

/* The command that made the report, shown in its heading ("audit", "report"). */
void report_set_command(struct report *r, const char *command);

/* ---- 1. what was examined ------------------------------------------------ */

/* Each capture (folders expanded as audit reads them): size, SHA-256, frames
 * and where reading stopped if it did.  Reads every file once more. */
int report_add_captures(struct report *r, const char *const *paths, size_t n, char *err, size_t errlen);

/* What audit counted.  frames_skipped: frames not decoded as IP. */
struct report_audit_counts {
	uint64_t frames, packets, flows, evicted, frames_skipped;
	uint64_t frames_unexamined; /* of frames_skipped: may carry data, not read */
	unsigned failed_files;
};
void report_set_audit_counts(struct report *r, const struct report_audit_counts *c);

/*
 * An event log (audit's or run's --json): its size and SHA-256, every event
 * in it, the lines that are not events (counted, with the first line
 * number), and its hash chain when it has one (verified here).  `kept` is
 * false for the audit's own temporary events, which are not a file the
 * auditor can be handed.  Returns -1 with err when the file cannot be read.
 */
int report_add_log(struct report *r, const char *path, bool kept, char *err, size_t errlen);

/* What checking one chained log found (cli/logchain.h's logchain_check,
 * the verifier verify-log runs). */
struct report_chain_check {
	int rc;                        /* 0 intact, 1 tampered, 2 unreadable */
	char msg[1024];                /* verify-log's one-line message */
	uint64_t line;                 /* rc 1: the line it names; 0 when at the end */
	uint64_t records, checkpoints;
	char head[65];
	bool is_signed, sigs_checked, closed, has_previous, other_key;
	char key_id[33], log_id[33], previous_head[65];
};
/* Set before adding logs; without it a chained log is shown as not
 * verified.  `is_signed': the log opens with a signed log's header, so its
 * signatures are checked when the verifier has a key (out->sigs_checked);
 * a log without one is checked as a chain, and shown as not signed. */
typedef int (*report_verify_fn)(void *ctx, const char *path, bool is_signed, struct report_chain_check *out);
void report_set_verifier(struct report *r, report_verify_fn fn, void *ctx);

/* ---- 2. under what rules -------------------------------------------------- */

/* The policy as `egressfence check` prints it, the file's SHA-256, its group
 * lists and the dates its text states.  -1 and err when unreadable. */
int report_set_policy(struct report *r, const struct policy *p, const char *path, char *err, size_t errlen);
/* Each database: path, layout, build date, SHA-256. */
int report_set_databases(struct report *r, const struct geodb *db, char *err, size_t errlen);

/* ---- writing ---------------------------------------------------------------- */

/* At most this many flows are listed in the page; all of them in the CSV. */
#define REPORT_PAGE_FLOWS 500

/*
 * Writes FILE.html and, beside it, the CSV of every listed flow (the HTML
 * name with `.html' replaced by `-flows.csv'); never follows a symlink at
 * either name.  Returns -1 with err on a failed write.
 */
int report_write_html(struct report *r, const char *path, char *err, size_t errlen);

/* Prints `html' to `pdf' with headless Chromium.  -1 and err when Chromium
 * is not installed or fails. */
int report_print_pdf(const char *html, const char *pdf, char *err, size_t errlen);

/* Opens `path' for writing, truncated, refusing a symlink (O_NOFOLLOW). */
FILE *output_create(const char *path, char *err, size_t errlen);

#endif
