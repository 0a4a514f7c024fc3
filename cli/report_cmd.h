/*
 * cli/report_cmd.h -- the audit record (output/output.h) from the command
 * line: `egressfence report' over event logs, and `audit --report'.
 */
#ifndef EF_CLI_REPORT_CMD_H
#define EF_CLI_REPORT_CMD_H

#include "engine.h"

/* `egressfence report [--policy FILE] [--db FILE]... -o FILE.html [--pdf FILE.pdf] LOG...':
 * argv[0] is "report". */
int cmd_report(int argc, char **argv);

/* What `audit --report' hands over once its events are written and closed. */
struct audit_report_input {
	const char *html, *pdf;             /* --report, --pdf (either may be NULL) */
	const char *policy_path;
	const struct policy *policy;
	const struct geodb *geodb;
	const char *const *captures;
	size_t n_captures;
	const struct audit_totals *totals;
	const char *events;                 /* the events file */
	bool events_kept;                   /* --json FILE, rather than a temporary file */
	const char *sign_key;               /* --sign-key: its public half checks the log's signatures */
};
/* 0, or 2 with the message on stderr. */
int report_after_audit(const struct audit_report_input *in);

/* A temporary file for the events of `audit --report' without --json:
 * path written into `path' (PATH_MAX), the stream returned (NULL: errno). */
FILE *report_events_tmpfile(char *path, size_t len);

#endif
