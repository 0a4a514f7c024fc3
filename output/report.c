/*
 * output/report.c -- the audit record: what was examined, under what rules,
 * what was found, and whether the record is intact, as one HTML file with
 * inline CSS, inline SVG charts and a small inline script that only sorts
 * and filters tables (the page reads the same without it).
 *
 * Invariants:
 *  - Every number on the page is a count or a sum over the events read
 *    (report_add_log) or the files hashed; nothing is estimated.  What the
 *    inputs do not say is written as not known.
 *  - Every string that came from an event or a file name goes through
 *    html_text() (HTML) or csv_field() (CSV: quoted, and a leading = + - @
 *    defused so a spreadsheet does not run it).
 *  - The page references nothing outside itself: no URL is ever written
 *    into it.
 */
#include "output.h"
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../capture/capture.h"
#include "../enforce/enforce.h"
#include "commit.h" /* EF_COMMIT, written at build time (commit.cmake) */
#include "worldmap.h"

#define SLOTS (26 * 26 + 1) /* every two-letter code, and slot 0: no country */
#define N_ENC 5             /* encrypted, weak, cleartext, unknown, and any other word */
#define N_VERDICT 3

static const char *const enc_names[N_ENC] = {"encrypted", "weak", "cleartext", "unknown", "other"};
static const char *const enc_colours[N_ENC] = {"#2e7d32", "#ef6c00", "#c62828", "#757575", "#6a1b9a"};
static const char *const verdict_names[N_VERDICT] = {"allow", "log", "block"};

struct cell {
	uint64_t flows, bytes_out, bytes_in;
};

struct capture_info {
	char *path, *error;
	uint64_t size, frames;
	char sha[65];
};

struct log_info {
	char *path;
	bool kept, chained;
	uint64_t size, lines, events, not_events, first_not_event, evicted, gateway_events, finals;
	char sha[65];
	char first_ts[40], last_ts[40];
	int verify_rc;          /* logchain_check's: 0 intact, 1 tampered, 2 unreadable; -1 not run */
	struct report_chain_check *check;
	/* A signed log's own records: its header (line 1) and checkpoints. */
	bool has_header;
	struct report_log_header header;
	uint64_t checkpoints, final_checkpoints;
	uint64_t counters;      /* the gateway's counters records */
};

/* One run of a gateway engine (host and start time), as the last of its
 * counters records in any log given states it: figures since that start. */
struct engine_run {
	struct output_counters c;
	size_t log;             /* the log that record is in */
};

struct flagged {
	struct report_event e;
	size_t log;
};

struct named_count {
	char name[64];
	uint64_t flows;
};

struct report {
	char command[32];
	struct capture_info *caps;
	size_t n_caps;
	bool have_counts;
	struct report_audit_counts counts;
	struct log_info *logs;
	size_t n_logs;
	report_verify_fn verify;
	void *verify_ctx;

	char *map_path; /* world-map.txt, or NULL: no world view */
	char *policy_path, *policy_text, *policy_dates, *groups_text;
	char policy_sha[65];
	bool watched[SLOTS]; /* countries of the designated and embargoed groups */
	struct {
		char path[4096], built[32], sha[65];
		const char *layout;
	} dbs[EF_GEO_MAX_DB];
	size_t n_dbs;
	bool have_dbs;

	struct cell agg[SLOTS][N_ENC][N_VERDICT];
	uint64_t events, by_verdict[N_VERDICT], evicted, conflicts, rejudged;
	char first_ts[40], last_ts[40];
	struct named_count rules[64];
	size_t n_rules;
	uint64_t rules_other;
	struct flagged *flows;
	size_t n_flows, cap_flows;
	struct engine_run *runs;
	size_t n_runs;
};

/* ---- small helpers ---------------------------------------------------------- */

const char *output_version(void)
{
	return EF_VERSION " (commit " EF_COMMIT ")";
}

/*
 * A file written whole or not at all: PATH.partial is written (opened with
 * O_NOFOLLOW) and renamed over PATH once closed, so a failed write leaves
 * no half report; a symlink at PATH is refused first (and rename() would
 * replace it, not follow it).
 */
struct whole_file {
	FILE *f;
	char path[4096], partial[4200];
};

static FILE *whole_open(struct whole_file *w, const char *path, char *err, size_t errlen)
{
	struct stat st;

	snprintf(w->path, sizeof(w->path), "%s", path);
	if (snprintf(w->partial, sizeof(w->partial), "%s.partial", path) >= (int)sizeof(w->partial) ||
	    strlen(path) >= sizeof(w->path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return w->f = NULL;
	}
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "%s: a symlink: refusing to write through it", path);
		return w->f = NULL;
	}
	/* the rename would replace a device or a folder's entry: only a
	 * regular file, or nothing, may be at PATH */
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file: the report is written to a file of its own", path);
		return w->f = NULL;
	}
	return w->f = output_open(w->partial, OUTPUT_REPLACE, err, errlen);
}

static int whole_close(struct whole_file *w, char *err, size_t errlen)
{
	bool ok = !ferror(w->f);
	if (fclose(w->f) != 0)
		ok = false;
	if (ok && rename(w->partial, w->path) == 0)
		return 0;
	snprintf(err, errlen, "%s: %s", w->path, strerror(errno));
	unlink(w->partial);
	return -1;
}

static void sha_hex(const unsigned char *md, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = 0;
}

/* SHA-256 and size of a file, read through once. */
static int file_sha256(const char *path, char hex[65], uint64_t *size, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char buf[1 << 16], digest[32];
	size_t n;
	int rc = -1;

	*size = 0;
	if (!f || !md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		snprintf(err, errlen, "%s: %s", path, f ? "no SHA-256 in libcrypto" : strerror(errno));
		goto out;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		EVP_DigestUpdate(md, buf, n);
		*size += n;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	EVP_DigestFinal_ex(md, digest, NULL);
	sha_hex(digest, hex);
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	if (f)
		fclose(f);
	return rc;
}

static unsigned country_slot(const char *cc)
{
	if (cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z' || cc[2])
		return 0;
	return (unsigned)(cc[0] - 'A') * 26u + (unsigned)(cc[1] - 'A') + 1u;
}

static void slot_name(unsigned slot, char out[8])
{
	if (!slot) {
		strcpy(out, OUTPUT_NO_COUNTRY);
		return;
	}
	slot--;
	out[0] = (char)('A' + slot / 26);
	out[1] = (char)('A' + slot % 26);
	out[2] = 0;
}

static int enc_index(const char *s)
{
	for (int i = 0; i < N_ENC - 1; i++)
		if (!strcmp(s, enc_names[i]))
			return i;
	return N_ENC - 1;
}

static int verdict_index(const char *s)
{
	for (int i = 0; i < N_VERDICT; i++)
		if (!strcmp(s, verdict_names[i]))
			return i;
	return -1;
}

/* ---- building ----------------------------------------------------------------- */

struct report *report_new(void)
{
	struct report *r = calloc(1, sizeof(*r));
	if (r)
		strcpy(r->command, "report");
	return r;
}

void report_free(struct report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_caps; i++) {
		free(r->caps[i].path);
		free(r->caps[i].error);
	}
	free(r->caps);
	for (size_t i = 0; i < r->n_logs; i++) {
		free(r->logs[i].path);
		free(r->logs[i].check);
	}
	free(r->logs);
	free(r->map_path);
	free(r->policy_path);
	free(r->policy_text);
	free(r->policy_dates);
	free(r->groups_text);
	free(r->flows);
	free(r->runs);
	free(r);
}

void report_set_command(struct report *r, const char *command)
{
	snprintf(r->command, sizeof(r->command), "%s", command);
}

void report_set_map(struct report *r, const char *path)
{
	free(r->map_path);
	r->map_path = path ? strdup(path) : NULL;
}

void report_set_verifier(struct report *r, report_verify_fn fn, void *ctx)
{
	r->verify = fn;
	r->verify_ctx = ctx;
}

static int add_capture_file(struct report *r, const char *path, char *err, size_t errlen)
{
	struct capture_info *grown = realloc(r->caps, (r->n_caps + 1) * sizeof(*grown));
	if (!grown) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->caps = grown;
	struct capture_info *c = &r->caps[r->n_caps];
	memset(c, 0, sizeof(*c));
	if (!(c->path = strdup(path)))
		return snprintf(err, errlen, "out of memory"), -1;
	r->n_caps++;
	if (file_sha256(path, c->sha, &c->size, err, errlen))
		return -1;
	/* The frames each file holds, and where it stopped, read once more on
	 * their own: the audit reads all files as one stream. */
	const char *one[1] = {path};
	char cerr[512];
	struct capture *cap = capture_open_files(one, 1, cerr, sizeof(cerr));
	if (!cap) {
		c->error = strdup(cerr);
		return 0;
	}
	struct capture_frame f;
	enum capture_status st;
	while ((st = capture_next(cap, &f)) != CAPTURE_END) {
		if (st == CAPTURE_ERROR) {
			if (!c->error)
				c->error = strdup(capture_error(cap));
			continue;
		}
		c->frames++;
	}
	capture_close(cap);
	return 0;
}

static int name_order(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int report_add_captures(struct report *r, const char *const *paths, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(paths[i], &st) != 0) {
			snprintf(err, errlen, "%s: %s", paths[i], strerror(errno));
			return -1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (add_capture_file(r, paths[i], err, errlen))
				return -1;
			continue;
		}
		/* A folder's regular files in name order, as capture/ reads them. */
		struct dirent **names;
		int k = scandir(paths[i], &names, NULL, name_order);
		if (k < 0) {
			snprintf(err, errlen, "%s: %s", paths[i], strerror(errno));
			return -1;
		}
		int rc = 0;
		for (int j = 0; j < k; j++) {
			char p[4096];
			struct stat fs;
			if (!rc && names[j]->d_name[0] != '.' &&
			    snprintf(p, sizeof(p), "%s/%s", paths[i], names[j]->d_name) < (int)sizeof(p) &&
			    stat(p, &fs) == 0 && S_ISREG(fs.st_mode))
				rc = add_capture_file(r, p, err, errlen);
			free(names[j]);
		}
		free(names);
		if (rc)
			return -1;
	}
	return 0;
}

void report_set_audit_counts(struct report *r, const struct report_audit_counts *c)
{
	r->counts = *c;
	r->have_counts = true;
}

static bool flagged_flow(const struct report *r, const struct report_event *e, unsigned slot, int v)
{
	return v != EF_ALLOW || r->watched[slot] || e->rejudged;
}

static void count_rule(struct report *r, const char *rule)
{
	const char *name = rule[0] ? rule : "(default)";
	for (size_t i = 0; i < r->n_rules; i++) {
		if (!strcmp(r->rules[i].name, name)) {
			r->rules[i].flows++;
			return;
		}
	}
	if (r->n_rules == sizeof(r->rules) / sizeof(r->rules[0])) {
		r->rules_other++;
		return;
	}
	snprintf(r->rules[r->n_rules].name, sizeof(r->rules[0].name), "%s", name);
	r->rules[r->n_rules++].flows = 1;
}

/* One event into the sums and, when it is a finding, the list. */
static int add_event(struct report *r, size_t log, const struct report_event *e)
{
	struct log_info *l = &r->logs[log];
	int v = verdict_index(e->verdict);
	unsigned slot = country_slot(e->dst_country);

	if (v < 0 || (e->dst_country[0] && !slot))
		return 1; /* not an event this report can place */
	struct cell *c = &r->agg[slot][enc_index(e->encryption)][v];
	if (e->final) {
		/* the same flow as its block record, which counted it: only the
		 * bytes that left after the verdict are new */
		c->bytes_out += e->bytes_out_after_block;
		l->finals++;
		const char *last = e->end_ts[0] ? e->end_ts : e->ts;
		if (strcmp(last, r->last_ts) > 0)
			snprintf(r->last_ts, sizeof(r->last_ts), "%s", last);
		if (strcmp(last, l->last_ts) > 0)
			snprintf(l->last_ts, sizeof(l->last_ts), "%s", last);
		return 0;
	}
	c->flows++;
	c->bytes_out += e->bytes_out;
	c->bytes_in += e->bytes_in;
	r->events++;
	l->events++;
	r->by_verdict[v]++;
	if (e->evicted) {
		r->evicted++;
		l->evicted++;
	}
	r->conflicts += e->reassembly_conflict;
	r->rejudged += e->rejudged;
	if (e->action_taken[0])
		l->gateway_events++;
	count_rule(r, e->rule);
	if (!r->first_ts[0] || strcmp(e->ts, r->first_ts) < 0)
		snprintf(r->first_ts, sizeof(r->first_ts), "%s", e->ts);
	const char *end = e->end_ts[0] ? e->end_ts : e->ts;
	if (strcmp(end, r->last_ts) > 0)
		snprintf(r->last_ts, sizeof(r->last_ts), "%s", end);
	if (!l->first_ts[0] || strcmp(e->ts, l->first_ts) < 0)
		snprintf(l->first_ts, sizeof(l->first_ts), "%s", e->ts);
	if (strcmp(end, l->last_ts) > 0)
		snprintf(l->last_ts, sizeof(l->last_ts), "%s", end);
	if (!flagged_flow(r, e, slot, v))
		return 0;
	if (r->n_flows == r->cap_flows) {
		size_t cap = r->cap_flows ? 2 * r->cap_flows : 256;
		struct flagged *grown = realloc(r->flows, cap * sizeof(*grown));
		if (!grown)
			return -1;
		r->flows = grown;
		r->cap_flows = cap;
	}
	r->flows[r->n_flows].e = *e;
	r->flows[r->n_flows++].log = log;
	return 0;
}

/* A counters record: the figures of its engine run, unless a later record
 * of the same run (host and start) was read already -- every figure is
 * cumulative, so the latest states everything the earlier ones did.
 * -1 when out of memory. */
static int add_counters(struct report *r, size_t log, const char *line, size_t len)
{
	struct output_counters c;
	struct engine_run *run = NULL;

	if (!report_counters_parse(line, len, &c))
		return 0; /* report_line_parse said it reads: not reached */
	for (size_t i = 0; i < r->n_runs && !run; i++)
		if (!strcmp(r->runs[i].c.host, c.host) && !strcmp(r->runs[i].c.engine_started, c.engine_started))
			run = &r->runs[i];
	if (!run) {
		struct engine_run *grown = realloc(r->runs, (r->n_runs + 1) * sizeof(*grown));
		if (!grown)
			return -1;
		r->runs = grown;
		run = &r->runs[r->n_runs++];
	} else if (strcmp(c.time, run->c.time) < 0) {
		return 0;
	}
	run->c = c;
	run->log = log;
	return 0;
}

int report_add_log(struct report *r, const char *path, bool kept, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[32];
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = -1;

	if (!f || !md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		snprintf(err, errlen, "%s: %s", path, f ? "no SHA-256 in libcrypto" : strerror(errno));
		goto out;
	}
	/* The same content twice (a copy under another name) would count its
	 * flows twice: refused before anything of it is counted. */
	char sha[65];
	uint64_t size;
	if (file_sha256(path, sha, &size, err, errlen))
		goto out;
	for (size_t i = 0; i < r->n_logs; i++) {
		if (!strcmp(r->logs[i].sha, sha)) {
			snprintf(err, errlen, "%s: same content as %s (SHA-256 %.16s...): its flows would be counted twice",
				 path, r->logs[i].path, sha);
			goto out;
		}
	}
	struct log_info *grown = realloc(r->logs, (r->n_logs + 1) * sizeof(*grown));
	if (!grown) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	r->logs = grown;
	struct log_info *l = &r->logs[r->n_logs];
	memset(l, 0, sizeof(*l));
	l->verify_rc = -1;
	l->kept = kept;
	if (!(l->path = strdup(path))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	size_t idx = r->n_logs++;
	while ((n = getline(&line, &cap, f)) > 0) {
		struct report_event e;
		struct report_log_header h;
		struct report_checkpoint c;
		EVP_DigestUpdate(md, line, (size_t)n);
		l->size += (uint64_t)n;
		l->lines++;
		size_t len = (size_t)n;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (!len)
			continue;
		enum report_line kind = report_line_parse(line, len, &e, &h, &c);
		/* A header anywhere but first is not one the verifier reads as such. */
		if (kind == REPORT_LINE_LOG_HEADER && l->lines == 1) {
			l->has_header = l->chained = true;
			l->header = h;
			continue;
		}
		if (kind == REPORT_LINE_CHECKPOINT) {
			l->checkpoints++;
			l->final_checkpoints += c.final;
			continue;
		}
		if (kind == REPORT_LINE_COUNTERS) {
			l->counters++;
			if (add_counters(r, idx, line, len) < 0) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			continue;
		}
		int added = kind == REPORT_LINE_EVENT ? add_event(r, idx, &e) : 1;
		if (added < 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		if (added > 0 && !l->not_events++)
			l->first_not_event = l->lines;
		if (!l->has_header && (l->lines == 1 || (added == 0 && l->events == 1)))
			l->chained = added == 0 && e.has_chain;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	EVP_DigestFinal_ex(md, digest, NULL);
	sha_hex(digest, l->sha);
	if (l->chained && r->verify) {
		if (!(l->check = calloc(1, sizeof(*l->check)))) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		l->verify_rc = r->verify(r->verify_ctx, path, l->has_header, l->check);
	}
	rc = 0;
out:
	free(line);
	EVP_MD_CTX_free(md);
	if (f)
		fclose(f);
	return rc;
}

/* The group lists from `check`'s text ("  NAME: [AA, BB]" under "groups:"),
 * marking the countries of groups named designated or embargoed. */
static void read_groups(struct report *r, const char *text)
{
	const char *g = strstr(text, "\ngroups:\n");
	size_t len = 0;
	char *out;
	FILE *m = open_memstream(&out, &len);

	if (!m)
		return;
	for (const char *p = g ? g + 9 : NULL; p && p[0] == ' ' && p[1] == ' ';) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		fprintf(m, "%.*s\n", (int)(n - 2), p + 2);
		bool watched = !strncmp(p + 2, "designated:", 11) || !strncmp(p + 2, "embargoed:", 10);
		for (const char *q = strchr(p, '['); watched && q && q < p + n; q++) {
			char cc[3] = {q[0], q < p + n - 1 ? q[1] : 0, 0};
			unsigned s = country_slot(cc);
			if (s && (q[-1] == '[' || q[-1] == ' ')) {
				r->watched[s] = true;
				q++;
			}
		}
		p = eol ? eol + 1 : NULL;
	}
	fclose(m);
	r->groups_text = out;
}

/* The lines of the policy file that state a date (YYYY-MM-DD), as written:
 * group lists are dated in their comments, not in YAML keys. */
static char *dated_lines(const char *path)
{
	FILE *f = fopen(path, "r"), *m;
	char *line = NULL, *out = NULL;
	size_t cap = 0, len = 0;
	ssize_t n;
	unsigned no = 0;

	if (!f)
		return NULL;
	if (!(m = open_memstream(&out, &len))) {
		fclose(f);
		return NULL;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		no++;
		for (ssize_t i = 0; i + 10 <= n; i++) {
			const char *s = line + i;
			bool date = true;
			for (int k = 0; k < 10 && date; k++)
				date = (k == 4 || k == 7) ? s[k] == '-' : (s[k] >= '0' && s[k] <= '9');
			if (date) {
				fprintf(m, "line %u: %s", no, line + strspn(line, " \t#"));
				if (line[n - 1] != '\n')
					fputc('\n', m);
				break;
			}
		}
	}
	free(line);
	fclose(f);
	fclose(m);
	return out;
}

int report_set_policy(struct report *r, const struct policy *p, const char *path, char *err, size_t errlen)
{
	uint64_t size;
	size_t len = 0;
	FILE *m;

	if (file_sha256(path, r->policy_sha, &size, err, errlen))
		return -1;
	if (!(r->policy_path = strdup(path)) || !(m = open_memstream(&r->policy_text, &len))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	policy_print(p, m);
	fclose(m);
	read_groups(r, r->policy_text);
	r->policy_dates = dated_lines(path);
	return 0;
}

int report_set_databases(struct report *r, const struct geodb *db, char *err, size_t errlen)
{
	r->have_dbs = true;
	r->n_dbs = 0;
	for (size_t i = 0; i < geodb_count(db) && i < EF_GEO_MAX_DB; i++) {
		uint64_t size;
		snprintf(r->dbs[i].path, sizeof(r->dbs[i].path), "%s", geodb_path(db, i));
		if (file_sha256(r->dbs[i].path, r->dbs[i].sha, &size, err, errlen))
			return -1;
		time_t t = (time_t)geodb_build_epoch(db, i);
		struct tm tm;
		strftime(r->dbs[i].built, sizeof(r->dbs[i].built), "%Y-%m-%d %H:%M:%SZ", gmtime_r(&t, &tm));
		r->dbs[i].layout = geodb_layout_of(db, i) == GEODB_LAYOUT_MAXMIND ? "MaxMind DB, GeoIP2/DB-IP layout (country/iso_code)"
										   : "MaxMind DB, ip-location-db layout (country_code)";
		r->n_dbs++;
	}
	return 0;
}

/* ---- writing ------------------------------------------------------------------- */

static void html_text(FILE *o, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", o); break;
		case '>': fputs("&gt;", o); break;
		case '&': fputs("&amp;", o); break;
		case '"': fputs("&quot;", o); break;
		case '\'': fputs("&#39;", o); break;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
				fprintf(o, "&#xfffd;");
			else
				fputc(*s, o);
		}
	}
}

/* 1234567 -> "1,234,567" */
static const char *grouped(uint64_t v, char buf[32])
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v), o = 0;
	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = 0;
	return buf;
}

static void td_num(FILE *o, uint64_t v)
{
	char b[32];
	fprintf(o, "<td class=n>%s</td>", grouped(v, b));
}

static void td_text(FILE *o, const char *s)
{
	fputs("<td>", o);
	html_text(o, s);
	fputs("</td>", o);
}

/* "10.0.0.1:443", "[2001:db8::1]:443"; a port of 0 (no ports) is left out. */
static void addr_port(char *buf, size_t len, const char *ip, uint64_t port)
{
	bool v6 = strchr(ip, ':') != NULL;
	if (!port)
		snprintf(buf, len, "%s", ip);
	else
		snprintf(buf, len, v6 ? "[%s]:%llu" : "%s:%llu", ip, (unsigned long long)port);
}

static const char style[] =
	"<style>\n"
	"body{font-family:'DejaVu Sans',Arial,Helvetica,sans-serif;font-size:13px;color:#1a1a1a;max-width:1100px;margin:24px auto;padding:0 16px}\n"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;border-bottom:2px solid #1a1a1a;padding-bottom:3px;margin-top:28px}\n"
	"h3{font-size:14px;margin:18px 0 6px}\n"
	"table{border-collapse:collapse;margin:6px 0 10px;width:100%}th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}\n"
	"th{background:#eee;cursor:pointer}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
	".hash{font-family:'DejaVu Sans Mono',monospace;font-size:11px;word-break:break-all}\n"
	"pre{background:#f6f6f6;border:1px solid #ccc;padding:8px;font-size:11px;white-space:pre-wrap}\n"
	".meta{color:#555}.warn{color:#b00020;font-weight:bold}.ok{color:#2e7d32;font-weight:bold}\n"
	".boxes{display:flex;gap:10px;flex-wrap:wrap;margin:12px 0}.box{border:1px solid #bbb;padding:6px 12px;min-width:120px}\n"
	".box b{display:block;font-size:20px}.v-block{color:#b00020;font-weight:bold}.v-log{color:#a15c00;font-weight:bold}\n"
	"input{margin:4px 0;padding:3px;width:320px}\n"
	"#flow-list,#rejudged{font-size:11px}#flow-list td,#rejudged td{overflow-wrap:break-word}td.nw{white-space:nowrap}#flow-list td:nth-child(8){min-width:150px}\n"
	"@media print{body{max-width:none;margin:0;font-size:10px}svg{break-inside:avoid}#flow-list{font-size:8px}input,.noprint{display:none}h2,h3{page-break-after:avoid}tr{page-break-inside:avoid}}\n"
	"</style>\n";

/* Sorting by a click on a header, filtering by text: conveniences only; the
 * page is complete without them. */
static const char script[] =
	"<script>\n"
	"document.querySelectorAll('table.sortable th').forEach(function(th,i){th.addEventListener('click',function(){\n"
	" var t=th.closest('table'),b=t.tBodies[0],rows=Array.from(b.rows),d=th.dataset.dir==='a'?-1:1;th.dataset.dir=d>0?'a':'d';\n"
	" var num=function(s){return /^[0-9,]+$/.test(s)?parseInt(s.replace(/,/g,''),10):null};\n"
	" rows.sort(function(x,y){var a=x.cells[i].textContent,c=y.cells[i].textContent,na=num(a),nc=num(c);\n"
	"  return d*(na!==null&&nc!==null?na-nc:a.localeCompare(c));});rows.forEach(function(r){b.appendChild(r)});});});\n"
	"document.querySelectorAll('input.filter').forEach(function(f){f.addEventListener('input',function(){\n"
	" var q=f.value.toLowerCase(),t=document.getElementById(f.dataset.table);\n"
	" Array.from(t.tBodies[0].rows).forEach(function(r){r.style.display=r.textContent.toLowerCase().indexOf(q)<0?'none':''});});});\n"
	"</script>\n";

static unsigned write_engine_runs(FILE *o, const struct report *r);

static void write_examined(FILE *o, const struct report *r)
{
	char b[32], b2[32];

	fputs("<h2 id=examined>1. What was examined</h2>\n", o);
	fputs("<p>Traffic from <b>", o);
	html_text(o, r->first_ts[0] ? r->first_ts : "(no events)");
	fputs("</b> to <b>", o);
	html_text(o, r->last_ts[0] ? r->last_ts : "(no events)");
	fputs("</b> (first packet of the earliest flow to last packet of the latest, UTC).</p>\n", o);
	if (r->n_caps) {
		fputs("<h3>Captures</h3>\n<table id=captures><thead><tr><th>file</th><th>bytes</th><th>SHA-256</th>"
		      "<th>frames</th><th>read</th></tr></thead><tbody>\n", o);
		for (size_t i = 0; i < r->n_caps; i++) {
			const struct capture_info *c = &r->caps[i];
			fputs("<tr>", o);
			td_text(o, c->path);
			td_num(o, c->size);
			fprintf(o, "<td class=hash>%s</td>", c->sha);
			td_num(o, c->frames);
			if (c->error) {
				fputs("<td class=warn>", o);
				html_text(o, c->error);
				fputs("</td>", o);
			} else {
				fputs("<td>to the end</td>", o);
			}
			fputs("</tr>\n", o);
		}
		fputs("</tbody></table>\n", o);
	}
	if (r->have_counts) {
		const struct report_audit_counts *c = &r->counts;
		fprintf(o, "<p id=audit-counts>The audit read <b>%s</b> frames, <b>%s</b> IP packets, ",
			grouped(c->frames, b), grouped(c->packets, b2));
		fprintf(o, "<b>%s</b> flows.</p>\n", grouped(c->flows, b));
	}
	fputs("<h3>Event logs</h3>\n<table id=logs><thead><tr><th>log</th><th>bytes</th><th>SHA-256</th><th>events</th>"
	      "<th>other lines</th><th>signed-log records</th><th>first</th><th>last</th><th>written by</th></tr></thead><tbody>\n", o);
	for (size_t i = 0; i < r->n_logs; i++) {
		const struct log_info *l = &r->logs[i];
		fputs("<tr>", o);
		if (l->kept) {
			td_text(o, l->path);
			td_num(o, l->size);
			fprintf(o, "<td class=hash>%s</td>", l->sha);
		} else {
			fputs("<td colspan=3>the audit's events (not kept: no <code>--json</code> given)</td>", o);
		}
		if (l->finals)
			fprintf(o, "<td class=n>%s (and %s final record%s of blocked flows)</td>", grouped(l->events, b),
				grouped(l->finals, b2), l->finals == 1 ? "" : "s");
		else
			td_num(o, l->events);
		td_num(o, l->not_events);
		if (l->has_header || l->checkpoints || l->counters) {
			fprintf(o, "<td>%s%s checkpoint%s", l->has_header ? "header, " : "", grouped(l->checkpoints, b),
				l->checkpoints == 1 ? "" : "s");
			if (l->counters)
				fprintf(o, ", %s counters record%s", grouped(l->counters, b), l->counters == 1 ? "" : "s");
			fputs("</td>", o);
		} else
			fputs("<td>none</td>", o);
		td_text(o, l->first_ts);
		td_text(o, l->last_ts);
		td_text(o, l->gateway_events || l->counters ? "egressfence run (gateway events)" : "egressfence audit");
		fputs("</tr>\n", o);
	}
	fputs("</tbody></table>\n", o);

	fputs("<h3>Gaps: what may be missing from this record</h3>\n<ul id=gaps>\n", o);
	unsigned gaps = 0;
	for (size_t i = 0; i < r->n_caps; i++) {
		if (!r->caps[i].error)
			continue;
		gaps++;
		fputs("<li class=warn>damaged capture: ", o);
		html_text(o, r->caps[i].error);
		fputs("</li>\n", o);
	}
	if (r->have_counts && r->counts.frames_unexamined) {
		gaps++;
		fprintf(o, "<li class=warn>%s frames carried a protocol the audit cannot read: their data was "
			"not examined</li>\n", grouped(r->counts.frames_unexamined, b));
	}
	if (r->have_counts && r->counts.frames_skipped) {
		gaps++;
		fprintf(o, "<li>%s frames were not IP or were malformed, and were not judged</li>\n",
			grouped(r->counts.frames_skipped, b));
	}
	if (r->evicted) {
		gaps++;
		fprintf(o, "<li class=warn>%s flows were ended early by the flow-table bound (<code>evicted</code>): "
			"their later packets became new flows, judged on less evidence</li>\n", grouped(r->evicted, b));
	}
	if (r->conflicts) {
		gaps++;
		fprintf(o, "<li>%s flows had retransmitted TCP data that disagreed with the first copy "
			"(<code>reassembly_conflict</code>)</li>\n", grouped(r->conflicts, b));
	}
	for (size_t i = 0; i < r->n_logs; i++) {
		const struct log_info *l = &r->logs[i];
		if (!l->not_events)
			continue;
		gaps++;
		fprintf(o, "<li class=warn>%s line%s of ", grouped(l->not_events, b), l->not_events == 1 ? "" : "s");
		html_text(o, l->path);
		fprintf(o, " %s this report can read (the first: line %llu); not counted</li>\n",
			l->not_events == 1 ? "is not an event" : "are not events", (unsigned long long)l->first_not_event);
	}
	if (r->have_counts)
		fputs("<li>capture drops: none possible in an offline audit (the captures are read whole); "
		      "what the capturing host dropped before writing them is not recorded in a capture file</li>\n", o);
	else
		gaps += write_engine_runs(o, r);
	if (!gaps)
		fputs("<li class=ok>no damaged input, no evictions, no unreadable lines</li>\n", o);
	fputs("</ul>\n", o);
}

/* One engine run's counters, as its last record states them: cumulative
 * since the engine started, as of that record, and never more -- what the
 * engine dropped after it, or while writing no log given here, is not in
 * it.  Figures carry ids (run-N-...) for the tests that read the page. */
static bool write_engine_run(FILE *o, const struct report *r, size_t k)
{
	const struct output_counters *c = &r->runs[k].c;
	char b[32];
	bool lost = c->capture_drops > 0;

	for (size_t i = 0; i < c->n_outputs; i++)
		lost |= c->outputs[i].dropped || c->outputs[i].write_errors;
	fprintf(o, "<li id=run-%zu%s>gateway <b>", k + 1, lost ? " class=warn" : "");
	html_text(o, c->host[0] ? c->host : "(host not named)");
	fputs("</b>: since the engine started at <b>", o);
	html_text(o, c->engine_started);
	fputs("</b>, as of <b>", o);
	html_text(o, c->time);
	fputs("</b> (cumulative counts; its last counters record read, in ", o);
	html_text(o, r->logs[r->runs[k].log].path);
	fputs(!strcmp(c->why, "exit") ? ", written as it stopped" : ", written while it ran: later figures are not in these logs", o);
	fprintf(o, "): capture drops <b id=run-%zu-capture-drops>%s</b>", k + 1, grouped(c->capture_drops, b));
	for (size_t i = 0; i < c->n_sources; i++) {
		fputs(i ? ", " : " (", o);
		html_text(o, c->sources[i].name);
		fprintf(o, " %s", grouped(c->sources[i].drops, b));
	}
	fputs(c->n_sources ? ")" : "", o);
	for (size_t i = 0; i < c->n_outputs; i++) {
		fputs("; events to output ", o);
		html_text(o, c->outputs[i].name);
		fprintf(o, ": written <span id=run-%zu-out-%zu-written>%s</span>", k + 1, i + 1,
			grouped(c->outputs[i].written, b));
		fprintf(o, ", dropped <b id=run-%zu-out-%zu-dropped>%s</b>", k + 1, i + 1, grouped(c->outputs[i].dropped, b));
		fprintf(o, " (block events <span id=run-%zu-out-%zu-dropped-block>%s</span>)", k + 1, i + 1,
			grouped(c->outputs[i].dropped_block, b));
		fprintf(o, ", lost in failed writes <b id=run-%zu-out-%zu-write-errors>%s</b>", k + 1, i + 1,
			grouped(c->outputs[i].write_errors, b));
	}
	fprintf(o, "; packets %s", grouped(c->packets, b));
	fprintf(o, ", flows %s", grouped(c->flows, b));
	if (c->have_kernel) {
		fprintf(o, ", held %s", grouped(c->held, b));
		fprintf(o, ", copied %s", grouped(c->copied, b));
		fprintf(o, ", refused %s", grouped(c->refused, b));
	}
	fprintf(o, ", reloads %s", grouped(c->reloads, b));
	fprintf(o, " (%s refused)</li>\n", grouped(c->reload_failures, b));
	return lost;
}

/* The gaps of logs written by run: each engine run's counters records,
 * and for the logs that hold none, what cannot be known.  Returns the
 * gaps shown (runs that lost something). */
static unsigned write_engine_runs(FILE *o, const struct report *r)
{
	unsigned gaps = 0;
	size_t without = 0;

	for (size_t k = 0; k < r->n_runs; k++)
		gaps += write_engine_run(o, r, k);
	for (size_t i = 0; i < r->n_logs; i++)
		without += !r->logs[i].counters;
	if (!r->n_runs) {
		fputs("<li>not known from logs alone: capture drops, events the gateway's queue dropped, frames "
		      "that were not IP, and damaged captures are counters of the process that wrote the log "
		      "(<code>run</code> prints them on SIGUSR1 and at exit), not events</li>\n", o);
		return gaps;
	}
	fputs("<li>frames that were not IP: not among the gateway's counters records, not known</li>\n", o);
	if (!without)
		return gaps;
	fputs("<li id=no-counters>not known from logs alone for ", o);
	for (size_t i = 0, n = 0; i < r->n_logs; i++) {
		if (r->logs[i].counters)
			continue;
		fputs(n++ ? ", " : "", o);
		html_text(o, r->logs[i].path);
	}
	fputs(" (no counters record): capture drops and events dropped by the process that wrote them</li>\n", o);
	return gaps;
}

/* A digest the log header recorded beside the file's the report was given:
 * "same", or a warning -- the log was written under other rules. */
static void recorded_cell(FILE *o, const char *recorded, const char *given, bool have_given)
{
	fputs("<td class=hash>", o);
	html_text(o, recorded[0] ? recorded : "(none)");
	if (!have_given)
		fputs("</td><td>not compared: no file given</td>", o);
	else if (!strcmp(recorded, given))
		fputs("</td><td class=ok>same as the file given</td>", o);
	else
		fprintf(o, "</td><td class=warn>DIFFERS from the file given (%.16s...): the log was written under "
			"another one</td>", given[0] ? given : "none");
}

/* What each signed log's header says it was written under (record 1). */
static void write_recorded_rules(FILE *o, const struct report *r)
{
	bool any = false;

	for (size_t i = 0; i < r->n_logs; i++) {
		const struct log_info *l = &r->logs[i];
		if (!l->has_header)
			continue;
		if (!any)
			fputs("<h3>Rules the signed logs record</h3>\n<p>A signed log's first record states the SHA-256 of "
			      "the policy and databases it was written under (believe it as far as section 5 says its "
			      "signatures verified):</p>\n<table id=recorded-rules><thead><tr><th>log</th><th>file</th>"
			      "<th>recorded SHA-256</th><th>compared</th></tr></thead><tbody>\n", o);
		any = true;
		fputs("<tr>", o);
		td_text(o, l->path);
		fputs("<td>policy ", o);
		html_text(o, l->header.has_policy ? l->header.policy_path : "(none recorded)");
		fputs("</td>", o);
		recorded_cell(o, l->header.has_policy ? l->header.policy_sha : "", r->policy_text ? r->policy_sha : "",
			      r->policy_text != NULL);
		fputs("</tr>\n", o);
		for (size_t d = 0; d < l->header.n_dbs && d < REPORT_HEADER_DBS; d++) {
			/* Matched by position: the policy lists its databases in order. */
			fputs("<tr>", o);
			td_text(o, l->path);
			fputs("<td>database ", o);
			html_text(o, l->header.dbs[d].path);
			fputs("</td>", o);
			recorded_cell(o, l->header.dbs[d].sha, d < r->n_dbs ? r->dbs[d].sha : "", r->have_dbs);
			fputs("</tr>\n", o);
		}
		if (r->have_dbs && l->header.n_dbs != r->n_dbs)
			fprintf(o, "<tr><td colspan=4 class=warn>the log records %zu database%s, the policy given has %zu</td></tr>\n",
				l->header.n_dbs, l->header.n_dbs == 1 ? "" : "s", r->n_dbs);
	}
	if (any)
		fputs("</tbody></table>\n", o);
}

static void write_rules(FILE *o, const struct report *r)
{
	fputs("<h2 id=rules>2. Under what rules</h2>\n", o);
	if (!r->policy_text) {
		fputs("<p class=warn>No policy was given (<code>report --policy FILE</code>): which rules, groups and "
		      "databases were in force is not known from the logs alone. Each event names only the rule that "
		      "decided it:</p>\n", o);
	} else {
		fputs("<p>Policy <code>", o);
		html_text(o, r->policy_path);
		fprintf(o, "</code>, SHA-256 <span class=hash id=policy-sha>%s</span>.", r->policy_sha);
		if (!strcmp(r->command, "report"))
			fputs(" <span class=meta>This is the policy given to <code>report</code>; only a signed log "
			      "records which policy judged it (below).</span>", o);
		fputs("</p>\n<h3>Groups</h3>\n<pre id=groups>", o);
		html_text(o, r->groups_text && *r->groups_text ? r->groups_text : "(none)\n");
		fputs("</pre>\n<p>Dates the policy file states:</p>\n<pre id=policy-dates>", o);
		html_text(o, r->policy_dates && *r->policy_dates ? r->policy_dates
								 : "(the file states no date: its lists are undated)\n");
		fputs("</pre>\n", o);
	}
	if (r->have_dbs) {
		fputs("<h3>Country databases</h3>\n<table id=databases><thead><tr><th>file</th><th>type</th><th>built</th>"
		      "<th>SHA-256</th></tr></thead><tbody>\n", o);
		for (size_t i = 0; i < r->n_dbs; i++) {
			fputs("<tr>", o);
			td_text(o, r->dbs[i].path);
			td_text(o, r->dbs[i].layout);
			td_text(o, r->dbs[i].built);
			fprintf(o, "<td class=hash>%s</td></tr>\n", r->dbs[i].sha);
		}
		if (!r->n_dbs)
			fputs("<tr><td colspan=4>none: only the policy's overrides place addresses</td></tr>\n", o);
		fputs("</tbody></table>\n", o);
	}
	write_recorded_rules(o, r);
	fputs("<h3>Rules that decided flows</h3>\n<table id=rule-counts class=sortable><thead><tr><th>rule</th><th>flows</th>"
	      "</tr></thead><tbody>\n", o);
	for (size_t i = 0; i < r->n_rules; i++) {
		fputs("<tr>", o);
		td_text(o, r->rules[i].name);
		td_num(o, r->rules[i].flows);
		fputs("</tr>\n", o);
	}
	if (r->rules_other)
		fprintf(o, "<tr><td>(other rules)</td><td class=n>%llu</td></tr>\n", (unsigned long long)r->rules_other);
	fputs("</tbody></table>\n", o);
	if (r->policy_text)
		fputs("<p>The policy as resolved, rule by rule, is the <a href='#policy-text'>appendix</a>.</p>\n", o);
}

static void write_appendix(FILE *o, const struct report *r)
{
	if (!r->policy_text)
		return;
	fputs("<h2 id=policy-text>Appendix: the policy as resolved (<code>egressfence check</code>)</h2>\n<pre id=policy>", o);
	html_text(o, r->policy_text);
	fputs("</pre>\n", o);
}

struct country_total {
	unsigned slot;
	uint64_t flows, bytes_out, by_enc[N_ENC], flows_by_verdict[N_VERDICT];
};

static int by_bytes_out(const void *a, const void *b)
{
	const struct country_total *x = a, *y = b;
	if (x->bytes_out != y->bytes_out)
		return x->bytes_out < y->bytes_out ? 1 : -1;
	if (x->flows != y->flows)
		return x->flows < y->flows ? 1 : -1;
	return (int)x->slot - (int)y->slot;
}

#define CHART_COUNTRIES 30

/* A bar per country, longest first, split by encryption class: bytes out. */
static void write_chart(FILE *o, const struct country_total *ct, size_t n)
{
	size_t shown = n < CHART_COUNTRIES ? n : CHART_COUNTRIES;
	uint64_t max = 0;
	const int left = 60, width = 720, row = 22, top = 30;
	char b[32], b2[32], cc[8];

	for (size_t i = 0; i < shown; i++)
		if (ct[i].bytes_out > max)
			max = ct[i].bytes_out;
	int height = top + (int)shown * row + 10;
	fprintf(o, "<svg id=chart xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' role='img' "
		   "aria-label='bytes out by destination country and encryption class' font-size='12' "
		   "font-family='DejaVu Sans,Arial,sans-serif'>\n", left + width + 260, height);
	int x = left;
	for (int e = 0; e < N_ENC; e++) {
		bool used = false;
		for (size_t i = 0; i < n; i++)
			used |= ct[i].by_enc[e] > 0;
		if (!used && e == N_ENC - 1)
			continue; /* "other" only when an event had such a class */
		fprintf(o, "<rect x='%d' y='6' width='12' height='12' fill='%s'/><text x='%d' y='16'>%s</text>\n", x,
			enc_colours[e], x + 16, enc_names[e]);
		x += 110;
	}
	for (size_t i = 0; i < shown; i++) {
		int y = top + (int)i * row;
		slot_name(ct[i].slot, cc);
		fprintf(o, "<text x='%d' y='%d' text-anchor='end'>%s</text>\n", left - 6, y + 14, cc);
		double at = left;
		for (int e = 0; e < N_ENC; e++) {
			if (!ct[i].by_enc[e] || !max)
				continue;
			double w = (double)width * (double)ct[i].by_enc[e] / (double)max;
			fprintf(o, "<rect x='%.1f' y='%d' width='%.1f' height='16' fill='%s'><title>%s %s: %s bytes out"
				   "</title></rect>\n", at, y + 2, w < 0.5 ? 0.5 : w, enc_colours[e], cc, enc_names[e],
				grouped(ct[i].by_enc[e], b));
			at += w;
		}
		fprintf(o, "<text x='%.1f' y='%d' fill='#333'>%s bytes, %s flow%s</text>\n", at + 6, y + 14,
			grouped(ct[i].bytes_out, b), grouped(ct[i].flows, b2), ct[i].flows == 1 ? "" : "s");
	}
	fputs("</svg>\n", o);
	if (n > shown)
		fprintf(o, "<p class=meta>The %zu countries with most bytes out are drawn; the table above has all %zu.</p>\n",
			shown, n);
}

/* The map's fills: a country's strictest verdict; no flows, grey. */
static const char *const verdict_fills[N_VERDICT] = {"#43a047", "#f59f00", "#c62828"};
#define NO_FLOWS_FILL "#e4e4e4"

static int strictest(const struct country_total *t)
{
	for (int v = N_VERDICT - 1; v >= 0; v--)
		if (t->flows_by_verdict[v])
			return v;
	return -1;
}

/*
 * The world view: each country filled by the strictest verdict its flows
 * met, paler for fewer bytes out (opacity 0.35 to 1 on a log scale up to
 * the country with most), with a <title> per country that a pointer shows.
 * `at[slot]' is the country's index in `ct', or -1.  The bar chart after it
 * keeps the exact figures; without map data the chart stands alone.
 */
static void write_map(FILE *o, const struct report *r, const struct country_total *ct, size_t n, const int *at)
{
	char err[512], b[32], b2[32], b3[32], b4[32], cc[8];
	struct world_map *m = NULL;
	uint64_t max = 0;

	fputs("<h3>World view: the strictest verdict by destination country</h3>\n", o);
	if (!r->map_path)
		snprintf(err, sizeof(err), "no map data file is known to this build");
	else
		m = world_map_load(r->map_path, err, sizeof(err));
	if (!m) {
		fputs("<p class=warn id=map-missing>No world map: its country shapes could not be read (", o);
		html_text(o, err);
		fputs("; scripts/setup installs them with <code>npm ci</code> in <code>output/map</code>). "
		      "The bar chart below has every figure.</p>\n", o);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (ct[i].bytes_out > max)
			max = ct[i].bytes_out;
	bool *drawn = calloc(SLOTS, sizeof(*drawn));
	/* as wide as the page allows (the view box keeps the proportions) */
	fprintf(o, "<svg id=world-map xmlns='http://www.w3.org/2000/svg' viewBox='%s' width='100%%' "
		   "style='max-width:900px;display:block' role='img' aria-label='destination countries by strictest verdict' "
		   "stroke='#fff' stroke-width='3'>\n",
		m->viewbox);
	for (size_t i = 0; i < m->n; i++) {
		const struct world_shape *s = &m->shapes[i];
		unsigned slot = country_slot(s->cc);
		int k = slot ? at[slot] : -1, v = k >= 0 ? strictest(&ct[k]) : -1;
		if (drawn && slot)
			drawn[slot] = true;
		fprintf(o, "<path data-cc='%s' data-verdict='%s' fill='%s'", s->cc, v >= 0 ? verdict_names[v] : "none",
			v >= 0 ? verdict_fills[v] : NO_FLOWS_FILL);
		if (v >= 0 && max) {
			double share = log1p((double)ct[k].bytes_out) / log1p((double)max);
			fprintf(o, " fill-opacity='%.2f'", 0.35 + 0.65 * share);
		}
		fprintf(o, " d='%s'><title>%s ", s->path, s->cc);
		html_text(o, s->name);
		if (k >= 0)
			fprintf(o, ": %s; %s flow%s, %s bytes out (%s blocked, %s logged)", verdict_names[v],
				grouped(ct[k].flows, b), ct[k].flows == 1 ? "" : "s", grouped(ct[k].bytes_out, b2),
				grouped(ct[k].flows_by_verdict[EF_BLOCK], b3), grouped(ct[k].flows_by_verdict[EF_LOG], b4));
		else
			fputs(": no flows", o);
		fputs("</title></path>\n", o);
	}
	fputs("</svg>\n<p id=map-legend>", o);
	for (int v = N_VERDICT - 1; v >= 0; v--)
		fprintf(o, "<svg width='14' height='12'><rect width='14' height='12' fill='%s'/></svg> %s &nbsp; ",
			verdict_fills[v], v == EF_BLOCK ? "some flow blocked" : v == EF_LOG ? "some flow logged, none blocked"
											 : "every flow allowed");
	fprintf(o, "<svg width='14' height='12'><rect width='14' height='12' fill='%s'/></svg> no flows. "
		   "Paler: fewer bytes out (log scale, up to %s bytes).</p>\n", NO_FLOWS_FILL, grouped(max, b));
	/* what has flows but no shape: no country, or one too small for the map */
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		if (drawn && ct[i].slot && drawn[ct[i].slot])
			continue;
		slot_name(ct[i].slot, cc);
		fputs(any ? ", " : "<p class=meta id=map-off>Not on the map (see the table and the chart): ", o);
		fputs(cc, o);
		any = true;
	}
	if (any)
		fputs(".</p>\n", o);
	fputs("<p class=meta id=map-attribution>", o);
	html_text(o, m->attribution);
	fputs("</p>\n", o);
	free(drawn);
	world_map_free(m);
}

static void write_findings(FILE *o, const struct report *r)
{
	struct country_total ct[SLOTS];
	size_t n = 0;
	char b[32], b2[32], cc[8];

	fputs("<h2 id=findings>3. Findings</h2>\n", o);
	fprintf(o, "<p>Flows and bytes out by destination country, encryption class and verdict. "
		   "Country <code>%s</code>: no database or override placed the remote address.</p>\n",
		OUTPUT_NO_COUNTRY);
	fputs("<input class=filter data-table=summary placeholder='filter rows'>\n"
	      "<table id=summary class=sortable><thead><tr><th>country</th><th>encryption</th><th>verdict</th>"
	      "<th>flows</th><th>bytes out</th><th>bytes in</th></tr></thead><tbody>\n", o);
	uint64_t tf = 0, tbo = 0, tbi = 0;
	for (unsigned s = 0; s < SLOTS; s++) {
		struct country_total t = {.slot = s};
		for (int e = 0; e < N_ENC; e++) {
			for (int v = N_VERDICT - 1; v >= 0; v--) {
				const struct cell *c = &r->agg[s][e][v];
				if (!c->flows)
					continue;
				slot_name(s, cc);
				fprintf(o, "<tr data-country='%s' data-enc='%s' data-verdict='%s'>", cc, enc_names[e],
					verdict_names[v]);
				td_text(o, cc);
				td_text(o, enc_names[e]);
				fprintf(o, "<td class=v-%s>%s</td>", verdict_names[v], verdict_names[v]);
				td_num(o, c->flows);
				td_num(o, c->bytes_out);
				td_num(o, c->bytes_in);
				fputs("</tr>\n", o);
				t.flows += c->flows;
				t.bytes_out += c->bytes_out;
				t.by_enc[e] += c->bytes_out;
				t.flows_by_verdict[v] += c->flows;
				tf += c->flows;
				tbo += c->bytes_out;
				tbi += c->bytes_in;
			}
		}
		if (t.flows)
			ct[n++] = t;
	}
	fputs("</tbody><tfoot><tr id=summary-total><th colspan=3>total</th>", o);
	td_num(o, tf);
	td_num(o, tbo);
	td_num(o, tbi);
	fputs("</tr></tfoot></table>\n", o);
	qsort(ct, n, sizeof(ct[0]), by_bytes_out);
	int at[SLOTS];
	for (unsigned s = 0; s < SLOTS; s++)
		at[s] = -1;
	for (size_t i = 0; i < n; i++)
		at[ct[i].slot] = (int)i;
	write_map(o, r, ct, n, at);
	fputs("<h3>Bytes out by destination country</h3>\n", o);
	write_chart(o, ct, n);
	fputs("<table id=countries class=sortable><thead><tr><th>country</th><th>flows</th><th>bytes out</th>"
	      "<th>blocked</th><th>logged</th><th>allowed</th></tr></thead><tbody>\n", o);
	for (size_t i = 0; i < n; i++) {
		slot_name(ct[i].slot, cc);
		fprintf(o, "<tr data-country='%s'>", cc);
		td_text(o, cc);
		td_num(o, ct[i].flows);
		td_num(o, ct[i].bytes_out);
		td_num(o, ct[i].flows_by_verdict[EF_BLOCK]);
		td_num(o, ct[i].flows_by_verdict[EF_LOG]);
		td_num(o, ct[i].flows_by_verdict[EF_ALLOW]);
		fputs("</tr>\n", o);
	}
	fputs("</tbody></table>\n", o);
	(void)b;
	(void)b2;
}

/* Page order: the strictest verdict first, then most bytes out. */
static int by_weight(const void *a, const void *b)
{
	const struct flagged *x = a, *y = b;
	int vx = verdict_index(x->e.verdict), vy = verdict_index(y->e.verdict);
	if (vx != vy)
		return vy - vx;
	if (x->e.bytes_out != y->e.bytes_out)
		return x->e.bytes_out < y->e.bytes_out ? 1 : -1;
	return strcmp(x->e.ts, y->e.ts);
}

static int by_start(const void *a, const void *b)
{
	const struct flagged *x = a, *y = b;
	int c = strcmp(x->e.ts, y->e.ts);
	if (c)
		return c;
	c = strcmp(x->e.src_ip, y->e.src_ip);
	return c ? c : (x->e.src_port > y->e.src_port) - (x->e.src_port < y->e.src_port);
}

static void tls_text(const struct report_event *e, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", e->tls_version, e->tls_version[0] && e->cipher[0] ? " " : "", e->cipher);
}

static void write_flow_row(FILE *o, const struct flagged *f, bool show_action)
{
	const struct report_event *e = &f->e;
	char a[96], tls[128];

	/* the time may break after its date; the text stays the event's */
	const char *t = strchr(e->ts, 'T');
	fputs("<tr><td>", o);
	if (t) {
		fprintf(o, "%.*s<wbr>", (int)(t - e->ts), e->ts);
		html_text(o, t);
	} else {
		html_text(o, e->ts);
	}
	addr_port(a, sizeof(a), e->src_ip, e->src_port);
	fputs("</td><td class=nw>", o);
	html_text(o, a);
	addr_port(a, sizeof(a), e->dst_ip, e->dst_port);
	fputs("</td><td class=nw>", o);
	html_text(o, a);
	fputs("</td>", o);
	td_text(o, e->dst_country[0] ? e->dst_country : OUTPUT_NO_COUNTRY);
	fputs("<td>", o);
	html_text(o, e->l4);
	fputs(" ", o);
	html_text(o, e->app);
	fputs("</td>", o);
	td_text(o, e->server_name);
	td_text(o, e->encryption);
	tls_text(e, tls, sizeof(tls));
	/* IANA cipher names are one long word: let them break after '_' */
	fputs("<td>", o);
	for (char *p = tls, *u; *p; p = u + 1) {
		if (!(u = strchr(p, '_'))) {
			html_text(o, p);
			break;
		}
		*u = 0;
		html_text(o, p);
		fputs("_<wbr>", o);
	}
	fputs("</td>", o);
	td_num(o, e->bytes_out);
	fprintf(o, "<td class=v-%s>", verdict_index(e->verdict) >= 0 ? e->verdict : "x");
	html_text(o, e->verdict);
	fputs("</td>", o);
	td_text(o, e->rule[0] ? e->rule : "(default)");
	if (show_action) {
		/* what the gateway did, in which mode, and what decided it */
		char act[128];
		snprintf(act, sizeof(act), "%s%s%s%s%s", e->action_taken, e->mode[0] ? " (" : "", e->mode,
			 e->decided_by[0] ? e->mode[0] ? ", " : " (" : "", e->decided_by);
		if (e->mode[0] || e->decided_by[0])
			strncat(act, ")", sizeof(act) - strlen(act) - 1);
		td_text(o, act);
	}
	fputs("</tr>\n", o);
}

static const char flow_header[] =
	"<th>start (UTC)</th><th>inside</th><th>remote</th><th>country</th><th>protocol, app</th>"
	"<th>server name</th><th>encryption</th><th>TLS</th><th>bytes out</th><th>verdict</th><th>rule</th>";

static void csv_field(FILE *o, const char *s, bool last)
{
	fputc('"', o);
	if (*s == '=' || *s == '+' || *s == '-' || *s == '@' || *s == '\t' || *s == '\r')
		fputc('\'', o); /* a spreadsheet would run it as a formula */
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', o);
		fputc(*s, o);
	}
	fputs(last ? "\"\r\n" : "\",", o);
}

static void csv_num(FILE *o, uint64_t v)
{
	fprintf(o, "%llu,", (unsigned long long)v);
}

static int write_csv(const struct report *r, const char *path, char *err, size_t errlen)
{
	struct whole_file w;
	FILE *o = whole_open(&w, path, err, errlen);
	if (!o)
		return -1;
	fputs("start,end,inside_ip,inside_port,remote_ip,remote_port,country,protocol,app,server_name,encryption,"
	      "tls_version,cipher,bytes_out,bytes_in,packets,verdict,rule,action_taken,mode,decided_by,rejudged,rejudge_direction,"
	      "rejudge_offset,rejudge_reason,log\r\n", o);
	for (size_t i = 0; i < r->n_flows; i++) {
		const struct report_event *e = &r->flows[i].e;
		csv_field(o, e->ts, false);
		csv_field(o, e->end_ts, false);
		csv_field(o, e->src_ip, false);
		csv_num(o, e->src_port);
		csv_field(o, e->dst_ip, false);
		csv_num(o, e->dst_port);
		csv_field(o, e->dst_country[0] ? e->dst_country : OUTPUT_NO_COUNTRY, false);
		csv_field(o, e->l4, false);
		csv_field(o, e->app, false);
		csv_field(o, e->server_name, false);
		csv_field(o, e->encryption, false);
		csv_field(o, e->tls_version, false);
		csv_field(o, e->cipher, false);
		csv_num(o, e->bytes_out);
		csv_num(o, e->bytes_in);
		csv_num(o, e->packets);
		csv_field(o, e->verdict, false);
		csv_field(o, e->rule[0] ? e->rule : "(default)", false);
		csv_field(o, e->action_taken, false);
		csv_field(o, e->mode, false);
		csv_field(o, e->decided_by, false);
		csv_field(o, e->rejudged ? "true" : "false", false);
		csv_field(o, e->rejudge_direction, false);
		csv_num(o, e->rejudge_offset);
		csv_field(o, e->rejudge_reason, false);
		csv_field(o, r->logs[r->flows[i].log].kept ? r->logs[r->flows[i].log].path : "", true);
	}
	return whole_close(&w, err, errlen);
}

static void write_flows(FILE *o, struct report *r, const char *csv_name)
{
	char b[32];
	bool gateway = false;

	for (size_t i = 0; i < r->n_logs; i++)
		gateway |= r->logs[i].gateway_events > 0;
	fputs("<h2 id=flows>4. Flows to designated or embargoed destinations, and every flow blocked or logged</h2>\n", o);
	fprintf(o, "<p><b id=flagged-count>%s</b> flows", grouped(r->n_flows, b));
	fputs(r->policy_text ? " (blocked, logged, to a country of the policy's <code>designated</code> or "
			       "<code>embargoed</code> group, or judged again)"
			     : " (blocked, logged or judged again; without <code>--policy</code> the groups are not known, "
			       "so allowed flows to designated countries cannot be picked out)", o);
	fputs(". Every one of them is in <code>", o);
	html_text(o, csv_name);
	fputs("</code>, beside this file, in start order", o);
	if (r->n_flows > REPORT_PAGE_FLOWS)
		fprintf(o, "; <span class=warn>this page lists the %d with the strictest verdict and most bytes out</span>",
			REPORT_PAGE_FLOWS);
	fputs(". Click a heading to sort.</p>\n", o);
	size_t shown = r->n_flows;
	if (shown > REPORT_PAGE_FLOWS) {
		qsort(r->flows, r->n_flows, sizeof(r->flows[0]), by_weight);
		shown = REPORT_PAGE_FLOWS;
	}
	qsort(r->flows, shown, sizeof(r->flows[0]), by_start);
	fputs("<input class=filter data-table=flow-list placeholder='filter rows'>\n"
	      "<table id=flow-list class=sortable><thead><tr>", o);
	fputs(flow_header, o);
	if (gateway)
		fputs("<th>action taken</th>", o);
	fputs("</tr></thead><tbody>\n", o);
	for (size_t i = 0; i < shown; i++)
		write_flow_row(o, &r->flows[i], gateway);
	fputs("</tbody></table>\n", o);

	fprintf(o, "<h3>Flows judged again (<code>rejudged</code>): <span id=rejudged-count>%s</span></h3>\n",
		grouped(r->rejudged, b));
	if (r->rejudged) {
		fputs("<p>A flow first decided encrypted (or weak) whose later bytes broke that claim.</p>\n"
		      "<table id=rejudged class=sortable><thead><tr><th>start (UTC)</th><th>inside</th><th>remote</th>"
		      "<th>country</th><th>encryption now</th><th>direction</th><th>at byte</th><th>why</th><th>verdict</th>"
		      "</tr></thead><tbody>\n", o);
		for (size_t i = 0; i < shown; i++) {
			const struct report_event *e = &r->flows[i].e;
			char a[96];
			if (!e->rejudged)
				continue;
			fputs("<tr>", o);
			td_text(o, e->ts);
			addr_port(a, sizeof(a), e->src_ip, e->src_port);
			td_text(o, a);
			addr_port(a, sizeof(a), e->dst_ip, e->dst_port);
			td_text(o, a);
			td_text(o, e->dst_country[0] ? e->dst_country : OUTPUT_NO_COUNTRY);
			td_text(o, e->encryption);
			td_text(o, e->rejudge_direction);
			td_num(o, e->rejudge_offset);
			td_text(o, e->rejudge_reason);
			td_text(o, e->verdict);
			fputs("</tr>\n", o);
		}
		fputs("</tbody></table>\n", o);
	}
	/* the CSV is in start order */
	qsort(r->flows, r->n_flows, sizeof(r->flows[0]), by_start);
}

static void write_integrity(FILE *o, const struct report *r)
{
	char b[32];
	bool any_signed = false, any_unchecked = false;

	fputs("<h2 id=integrity>5. Integrity of the record</h2>\n<table id=chains><thead><tr><th>log</th><th>hash chain</th>"
	      "<th>signed by</th><th>log id, previous log</th><th>checkpoints</th><th>signatures</th></tr></thead><tbody>\n",
	      o);
	for (size_t i = 0; i < r->n_logs; i++) {
		const struct log_info *l = &r->logs[i];
		const struct report_chain_check *c = l->check;
		fputs("<tr>", o);
		td_text(o, l->kept ? l->path : "(the audit's events, not kept)");
		if (!l->chained)
			fputs("<td class=warn>not chained: written without <code>--chain</code>, so an edit to it "
			      "cannot be detected</td>", o);
		else if (l->verify_rc < 0 || !c)
			fputs("<td>chained, not verified here</td>", o);
		else if (c->other_key)
			fputs("<td class=warn>not checked: the log is signed by another key than the one given "
			      "(signatures, right)</td>", o);
		else {
			fprintf(o, "<td class=%s>", l->verify_rc == 0 ? "ok" : "warn");
			if (l->verify_rc == 0)
				fputs("verified: ", o);
			else if (l->verify_rc == 1 && c->line)
				fprintf(o, "TAMPERED at line %llu: ", (unsigned long long)c->line);
			else
				fputs(l->verify_rc == 1 ? "TAMPERED: " : "unreadable: ", o);
			html_text(o, c->msg);
			fputs("</td>", o);
		}
		if (!l->has_header) {
			fputs("<td class=warn>not signed: no key id (written without <code>--sign-key</code>)</td>"
			      "<td></td><td></td><td></td></tr>\n", o);
			continue;
		}
		any_signed = true;
		fprintf(o, "<td>key id <span class=hash>");
		html_text(o, l->header.key_id);
		fputs("</span></td><td>log <span class=hash>", o);
		html_text(o, l->header.log_id);
		fputs("</span>; ", o);
		if (l->header.previous_head[0]) {
			fputs("continues a log that ended at <span class=hash>", o);
			html_text(o, l->header.previous_head);
			fputs("</span> (rotated)</td>", o);
		} else {
			fputs("the first of its sequence</td>", o);
		}
		/* Open or closed as the verifier read it when it read the whole log;
		 * otherwise only the count of checkpoint records is known. */
		if (c && l->verify_rc == 0)
			fprintf(o, "<td class=%s>%s checkpoint%s, %s</td>", c->closed ? "ok" : "warn",
				grouped(c->checkpoints, b), c->checkpoints == 1 ? "" : "s",
				c->closed ? "closed: it ends with its final checkpoint"
					  : "OPEN: no final checkpoint; the records after the last one are not signed "
					    "(still being written, or cut off)");
		else
			fprintf(o, "<td>%s checkpoint record%s (not verified)</td>", grouped(l->checkpoints, b),
				l->checkpoints == 1 ? "" : "s");
		if (!c || !c->sigs_checked) {
			any_unchecked = true;
			fputs("<td class=warn>not checked: no public key was given (<code>report --pubkey KEY.pub</code>, "
			      "or <code>egressfence verify-log --pubkey KEY.pub</code> on the log)</td></tr>\n", o);
		} else if (l->verify_rc == 0) {
			fprintf(o, "<td class=ok>all %s verified with the key given</td></tr>\n", grouped(c->checkpoints, b));
		} else {
			fputs("<td class=warn>NOT VERIFIED: ", o);
			html_text(o, c->msg);
			fputs("</td></tr>\n", o);
		}
	}
	fputs("</tbody></table>\n", o);
	fputs("<p class=meta>A hash chain shows a record removed, changed or moved, but anyone who can write an unsigned "
	      "log can recompute its whole chain: keep the head printed by the audit apart from the log and give it to "
	      "<code>egressfence verify-log --head</code>. A signed log (<code>audit --sign-key</code>) carries Ed25519 "
	      "signatures over its chain every N records and at close; only the public key is needed to check them.</p>\n",
	      o);
	if (any_signed && any_unchecked)
		fputs("<p class=warn id=unchecked>The signatures of a signed log above were NOT checked: this report was "
		      "made without its public key. Check them with <code>egressfence verify-log --pubkey KEY.pub LOG</code>, "
		      "or make the report with <code>egressfence report --pubkey KEY.pub</code>.</p>\n", o);
}

int report_write_html(struct report *r, const char *path, char *err, size_t errlen)
{
	char csv[4096], b[32], now[40];
	size_t len = strlen(path);
	time_t t = time(NULL);
	struct tm tm;

	if (len > 5 && !strcmp(path + len - 5, ".html"))
		len -= 5;
	if (snprintf(csv, sizeof(csv), "%.*s-flows.csv", (int)len, path) >= (int)sizeof(csv)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	struct whole_file w;
	FILE *o = whole_open(&w, path, err, errlen);
	if (!o)
		return -1;
	setvbuf(o, NULL, _IOFBF, 1 << 20);
	fputs("<!DOCTYPE html>\n<html lang=en><head><meta charset='utf-8'>\n<title>egressfence audit record</title>\n", o);
	fputs(style, o);
	fputs("</head><body>\n<h1>egressfence audit record</h1>\n<p class=meta>Written ", o);
	fprintf(o, "%s by <span id=version>egressfence %s</span>, <code>egressfence ", now, output_version());
	html_text(o, r->command);
	fputs("</code>. Every figure is counted from the events and files listed in section 1.</p>\n", o);
	fputs("<div class=boxes>", o);
	fprintf(o, "<div class=box>flows<b id=total-flows>%s</b></div>", grouped(r->events, b));
	fprintf(o, "<div class=box>blocked<b id=total-block class=v-block>%s</b></div>", grouped(r->by_verdict[EF_BLOCK], b));
	fprintf(o, "<div class=box>logged<b id=total-log class=v-log>%s</b></div>", grouped(r->by_verdict[EF_LOG], b));
	fprintf(o, "<div class=box>allowed<b id=total-allow>%s</b></div>", grouped(r->by_verdict[EF_ALLOW], b));
	fputs("</div>\n<p class=noprint>Contents: <a href='#examined'>1. what was examined</a> &middot; <a href='#rules'>2. "
	      "rules</a> &middot; <a href='#findings'>3. findings</a> &middot; <a href='#flows'>4. flows</a> &middot; "
	      "<a href='#integrity'>5. integrity</a></p>\n", o);
	write_examined(o, r);
	write_rules(o, r);
	write_findings(o, r);
	const char *csv_base = strrchr(csv, '/');
	write_flows(o, r, csv_base ? csv_base + 1 : csv);
	write_integrity(o, r);
	write_appendix(o, r);
	fputs(script, o);
	fputs("</body></html>\n", o);
	if (whole_close(&w, err, errlen))
		return -1;
	return write_csv(r, csv, err, errlen);
}
