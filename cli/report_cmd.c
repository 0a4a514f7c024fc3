/*
 * cli/report_cmd.c -- glue between the command line and output/: loads what
 * the report shows (policy, databases, logs, captures), verifies chained
 * logs with output/logchain.c, and writes the HTML, its CSV and the PDF.
 *
 * A log given twice (one name twice here; the same content under two names
 * in output/) would count its flows twice; it is refused, not merged.
 */
#include "report_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../output/output.h"

#include <openssl/evp.h>

/*
 * The report's verifier is verify-log's (logchain_check): `ctx' is the
 * public key, or NULL when none was given (signatures then not checked).
 */
static int verify_chained(void *ctx, const char *path, bool is_signed, struct report_chain_check *out)
{
	FILE *in = fopen(path, "r");
	char *rep = NULL, *errs = NULL;
	size_t rlen = 0, elen = 0;
	FILE *r = open_memstream(&rep, &rlen), *e = open_memstream(&errs, &elen);
	struct logchain_info info;

	memset(out, 0, sizeof(*out));
	out->rc = 2;
	if (!in || !r || !e) {
		snprintf(out->msg, sizeof(out->msg), "%s: %s", path, strerror(errno));
	} else {
		out->rc = logchain_check(in, path, is_signed ? ctx : NULL, &info, r, e);
		fclose(r);
		fclose(e);
		r = e = NULL;
		const char *text = rep && *rep ? rep : errs ? errs : "";
		snprintf(out->msg, sizeof(out->msg), "%s", text);
		out->msg[strcspn(out->msg, "\n")] = 0;
		/* "PATH:LINE: ..." names a line; "PATH: ..." the log as a whole. */
		size_t pl = strlen(path);
		if (out->rc == 1 && !strncmp(out->msg, path, pl) && out->msg[pl] == ':' && out->msg[pl + 1] >= '0' &&
		    out->msg[pl + 1] <= '9')
			out->line = strtoull(out->msg + pl + 1, NULL, 10);
		out->records = info.records;
		out->checkpoints = info.checkpoints;
		memcpy(out->head, info.head, sizeof(out->head));
		out->is_signed = info.is_signed;
		out->sigs_checked = info.sigs_checked;
		out->closed = info.closed;
		out->has_previous = info.has_previous;
		out->other_key = info.other_key;
		memcpy(out->key_id, info.key_id, sizeof(out->key_id));
		memcpy(out->log_id, info.log_id, sizeof(out->log_id));
		memcpy(out->previous_head, info.previous_head, sizeof(out->previous_head));
	}
	if (r)
		fclose(r);
	if (e)
		fclose(e);
	if (in)
		fclose(in);
	free(rep);
	free(errs);
	return out->rc;
}

static int fail(const char *what)
{
	fprintf(stderr, "egressfence: %s\n", what);
	return 2;
}

#ifndef EF_DEFAULT_MAP
#define EF_DEFAULT_MAP "/usr/share/egressfence/world-map.txt"
#endif

/*
 * The world view's country shapes: EGRESSFENCE_MAP when set (a test points
 * it at a file that is not there to see the report without a map), else
 * where this binary's build or install put them.
 */
static const char *map_path(void)
{
	const char *env = getenv("EGRESSFENCE_MAP");
	return env ? env : EF_DEFAULT_MAP;
}

static int write_outputs(struct report *r, const char *html, const char *pdf)
{
	char err[1024];

	report_set_map(r, map_path());
	if (report_write_html(r, html, err, sizeof(err)))
		return fail(err);
	if (pdf && report_print_pdf(html, pdf, err, sizeof(err)))
		return fail(err);
	return 0;
}

static int add_rules(struct report *r, const char *policy_path, const struct policy *p, const struct geodb *db)
{
	char err[1024];

	if (p && report_set_policy(r, p, policy_path, err, sizeof(err)))
		return fail(err);
	if (db && report_set_databases(r, db, err, sizeof(err)))
		return fail(err);
	return 0;
}

int report_after_audit(const struct audit_report_input *in)
{
	struct report *r = report_new();
	char err[1024];
	int rc = 2;

	if (!r)
		return fail("out of memory");
	report_set_command(r, "audit");
	EVP_PKEY *key = NULL;
	if (in->sign_key && !(key = logchain_load_key(in->sign_key, true, err, sizeof(err)))) {
		fail(err);
		goto out;
	}
	report_set_verifier(r, verify_chained, key);
	if ((rc = add_rules(r, in->policy_path, in->policy, in->geodb)))
		goto out;
	rc = 2;
	if (report_add_captures(r, in->captures, in->n_captures, err, sizeof(err)) ||
	    report_add_log(r, in->events, in->events_kept, err, sizeof(err))) {
		fail(err);
		goto out;
	}
	uint64_t skipped = 0;
	for (int i = 0; i < SKIP__COUNT; i++)
		skipped += in->totals->skipped[i];
	struct report_audit_counts c = {
		.frames = in->totals->frames, .packets = in->totals->packets, .flows = in->totals->flows,
		.evicted = in->totals->evicted, .frames_skipped = skipped,
		.frames_unexamined = decode_unexamined_count(in->totals->skipped), .failed_files = in->totals->failed_files,
	};
	report_set_audit_counts(r, &c);
	rc = write_outputs(r, in->html, in->pdf);
out:
	report_free(r);
	EVP_PKEY_free(key);
	return rc;
}

FILE *report_events_tmpfile(char *path, size_t len)
{
	const char *dir = getenv("TMPDIR");
	if (snprintf(path, len, "%s/egressfence-events.XXXXXX", dir && *dir ? dir : "/tmp") >= (int)len) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f && fd >= 0) {
		close(fd);
		unlink(path);
	}
	return f;
}

static const char report_usage[] =
	"usage: egressfence report [--policy FILE] [--db FILE]... [--pubkey KEY.pub] -o FILE.html [--pdf FILE.pdf] LOG...\n";

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'}, {"config", required_argument, NULL, 'p'},
		{"db", required_argument, NULL, 'd'},     {"output", required_argument, NULL, 'o'},
		{"pdf", required_argument, NULL, 'P'},    {"help", no_argument, NULL, 'h'},
		{"pubkey", required_argument, NULL, 'k'},
		{NULL, 0, NULL, 0},
	};
	const char *policy_path = NULL, *html = NULL, *pdf = NULL, *pubkey = NULL, *dbs[EF_GEO_MAX_DB];
	EVP_PKEY *key = NULL;
	size_t n_dbs = 0;
	struct policy *p = NULL;
	struct geodb *db = NULL;
	struct report *r = NULL;
	char err[1024];
	int opt, rc = 2;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+p:d:o:P:k:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'p': policy_path = optarg; break;
		case 'o': html = optarg; break;
		case 'P': pdf = optarg; break;
		case 'k': pubkey = optarg; break;
		case 'd':
			if (n_dbs == EF_GEO_MAX_DB)
				return usage_error("at most 4 databases; `%s' is one too many", optarg);
			dbs[n_dbs++] = optarg;
			break;
		case 'h':
			fputs(report_usage, stdout);
			return 0;
		default: {
			int bad = option_error(argv, opt, "pdoPk", "", opts);
			return bad ? bad : 2;
		}
		}
	}
	if (!html)
		return usage_error("%s", "report needs -o FILE.html: where to write the report");
	if (optind >= argc)
		return usage_error("%s", "report needs at least one event log (audit's or run's --json file)");
	if (n_dbs && !policy_path)
		return usage_error("%s", "--db needs --policy: the databases are shown with the policy they served");
	/* The same log twice would count its flows twice. */
	for (int i = optind; i < argc; i++) {
		char a[PATH_MAX], b[PATH_MAX];
		for (int j = optind; j < i; j++)
			if (realpath(argv[i], a) && realpath(argv[j], b) && !strcmp(a, b))
				return usage_error("`%s' is given twice: its flows would be counted twice", argv[i]);
	}
	if (!(r = report_new()))
		return fail("out of memory");
	if (pubkey && !(key = logchain_load_key(pubkey, false, err, sizeof(err)))) {
		rc = fail(err);
		goto out;
	}
	report_set_verifier(r, verify_chained, key);
	if (policy_path) {
		struct policy_error perr;
		if (!(p = policy_load(policy_path, &perr))) {
			rc = fail(perr.msg);
			goto out;
		}
		if (!(db = open_policy_geodb(p, dbs, n_dbs, err, sizeof(err)))) {
			rc = fail(err);
			goto out;
		}
		if ((rc = add_rules(r, policy_path, p, db)))
			goto out;
		rc = 2;
	}
	for (int i = optind; i < argc; i++) {
		if (report_add_log(r, argv[i], true, err, sizeof(err))) {
			rc = fail(err);
			goto out;
		}
	}
	rc = write_outputs(r, html, pdf);
out:
	report_free(r);
	EVP_PKEY_free(key);
	geodb_close(db);
	policy_free(p);
	return rc;
}
