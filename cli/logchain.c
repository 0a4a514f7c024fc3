/*
 * cli/logchain.c -- the hash-chained event log: writing it and checking it.
 * The scheme is in logchain.h.
 *
 * Writing wraps the event FILE in a stdio cookie stream, so the chain is
 * computed over the lines in the order they reach the file, whichever
 * worker wrote them and however stdio cut them into writes: a partial line
 * is held until its newline comes.
 *
 * Checking streams the file line by line, so a log of any size is read in
 * constant memory; only after the first anomaly does it read on, to tell a
 * record that moved from one that is gone.
 */
#include "logchain.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define CHAIN_HEX 64
#define CHAIN_KEY ",\"chain\":\""
#define CHAIN_KEY_LEN 10
/* `,"chain":"` + 64 hex + `"}` */
#define CHAIN_SUFFIX_LEN (CHAIN_KEY_LEN + CHAIN_HEX + 2)

static const char zero_chain[CHAIN_HEX + 1] =
	"0000000000000000000000000000000000000000000000000000000000000000";

struct logchain {
	FILE *out, *stream;
	EVP_MD_CTX *md;
	char prev[CHAIN_HEX + 1];
	uint64_t records;
	char *line;          /* the line being written, until its newline */
	size_t len, cap;
	bool failed;         /* a write failed: the stream takes nothing more */
};

/* hex(SHA-256(prev || a || b)) */
static bool chain_hash(EVP_MD_CTX *md, const char *prev, const char *a, size_t alen, const char *b,
		       size_t blen, char out[CHAIN_HEX + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	if (!EVP_DigestInit_ex(md, EVP_sha256(), NULL) || !EVP_DigestUpdate(md, prev, CHAIN_HEX) ||
	    !EVP_DigestUpdate(md, a, alen) || !EVP_DigestUpdate(md, b, blen) || !EVP_DigestFinal_ex(md, d, &n) ||
	    n != 32)
		return false;
	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[CHAIN_HEX] = 0;
	return true;
}

/* ---- writing ------------------------------------------------------------ */

/* One complete line (without its newline) out, with seq and chain added. */
static bool emit_record(struct logchain *lc, const char *line, size_t len)
{
	char seq[48], h[CHAIN_HEX + 1];

	if (len < 2 || line[0] != '{' || line[len - 1] != '}') {
		errno = EINVAL; /* not a JSON object: nothing to add members to */
		return false;
	}
	/* The record as hashed: the line without its closing brace, the seq
	 * member, and the brace. */
	int n = snprintf(seq, sizeof(seq), "%s\"seq\":%llu}", len == 2 ? "" : ",",
			 (unsigned long long)(lc->records + 1));
	if (!chain_hash(lc->md, lc->prev, line, len - 1, seq, (size_t)n, h)) {
		errno = EIO;
		return false;
	}
	if (fwrite(line, 1, len - 1, lc->out) != len - 1 || fwrite(seq, 1, (size_t)n - 1, lc->out) != (size_t)n - 1 ||
	    fprintf(lc->out, CHAIN_KEY "%s\"}\n", h) < 0)
		return false;
	memcpy(lc->prev, h, sizeof(h));
	lc->records++;
	return true;
}

/* glibc's cookie write contract: the bytes taken, 0 on error, never a
 * negative count (stdio would do arithmetic with it and read past `buf`). */
static ssize_t chain_write(void *cookie, const char *buf, size_t size)
{
	struct logchain *lc = cookie;
	size_t done = 0;

	if (lc->failed)
		return 0;
	while (done < size) {
		const char *nl = memchr(buf + done, '\n', size - done);
		size_t take = nl ? (size_t)(nl - (buf + done)) : size - done;
		if (take && lc->len + take > lc->cap) {
			size_t cap = lc->cap ? lc->cap : 1024;
			while (cap < lc->len + take)
				cap *= 2;
			char *grown = realloc(lc->line, cap);
			if (!grown) {
				lc->failed = true;
				return 0;
			}
			lc->line = grown;
			lc->cap = cap;
		}
		if (take) /* line is NULL until the first byte */
			memcpy(lc->line + lc->len, buf + done, take);
		lc->len += take;
		done += take;
		if (nl) {
			done++;
			if (!emit_record(lc, lc->line, lc->len)) {
				lc->failed = true;
				return 0;
			}
			lc->len = 0;
		}
	}
	return (ssize_t)size;
}

static int chain_close(void *cookie)
{
	struct logchain *lc = cookie;
	int rc = lc->failed ? -1 : 0;

	if (lc->len && !lc->failed) { /* a last line without its newline is still a record */
		if (!emit_record(lc, lc->line, lc->len))
			rc = -1;
		lc->len = 0;
	}
	if (lc->out == stdout)
		rc |= fflush(lc->out) == 0 ? 0 : -1;
	else
		rc |= fclose(lc->out) == 0 ? 0 : -1;
	lc->out = NULL;
	lc->stream = NULL;
	return rc;
}

struct logchain *logchain_new(FILE *out, char *err, size_t errlen)
{
	struct logchain *lc = calloc(1, sizeof(*lc));
	cookie_io_functions_t io = {.write = chain_write, .close = chain_close};

	if (!lc || !(lc->md = EVP_MD_CTX_new())) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (!EVP_DigestInit_ex(lc->md, EVP_sha256(), NULL)) {
		snprintf(err, errlen, "libcrypto offers no SHA-256");
		goto fail;
	}
	memcpy(lc->prev, zero_chain, sizeof(lc->prev));
	lc->out = out;
	lc->stream = fopencookie(lc, "w", io);
	if (!lc->stream) {
		snprintf(err, errlen, "cannot set up the chained log: %s", strerror(errno));
		goto fail;
	}
	return lc;
fail:
	logchain_free(lc);
	return NULL;
}

FILE *logchain_stream(struct logchain *lc)
{
	return lc->stream;
}

uint64_t logchain_head(const struct logchain *lc, char hex[CHAIN_HEX + 1])
{
	memcpy(hex, lc->prev, CHAIN_HEX + 1);
	return lc->records;
}

void logchain_free(struct logchain *lc)
{
	if (!lc)
		return;
	EVP_MD_CTX_free(lc->md);
	free(lc->line);
	free(lc);
}

/* ---- checking ------------------------------------------------------------ */

struct record {
	uint64_t seq;
	const char *chain;   /* 64 hex, inside the line */
	size_t body_len;     /* line[0..body_len) + "}" is what was hashed */
};

static bool is_hex(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

/* `{...,"seq":N,"chain":"H"}`: false when the members are not there, last,
 * and well formed. */
static bool parse_record(const char *line, size_t len, struct record *r)
{
	if (len < 1 + 7 + CHAIN_SUFFIX_LEN || line[0] != '{') /* {"seq":1 and the suffix */
		return false;
	const char *suffix = line + len - CHAIN_SUFFIX_LEN;
	if (memcmp(suffix, CHAIN_KEY, CHAIN_KEY_LEN) != 0 || !is_hex(suffix + CHAIN_KEY_LEN, CHAIN_HEX) ||
	    memcmp(line + len - 2, "\"}", 2) != 0)
		return false;
	r->chain = suffix + CHAIN_KEY_LEN;
	r->body_len = len - CHAIN_SUFFIX_LEN;

	size_t d = r->body_len;
	while (d > 0 && line[d - 1] >= '0' && line[d - 1] <= '9')
		d--;
	size_t digits = r->body_len - d;
	if (digits == 0 || digits > 19 || d < 7 || memcmp(line + d - 6, "\"seq\":", 6) != 0 ||
	    (line[d - 7] != ',' && line[d - 7] != '{') || (digits > 1 && line[d] == '0'))
		return false;
	r->seq = 0;
	for (size_t i = d; i < r->body_len; i++)
		r->seq = r->seq * 10 + (uint64_t)(line[i] - '0');
	return r->seq > 0;
}

/* Reads on from the current line for a record with seq in [lo, hi): its
 * line number, or 0. */
static uint64_t find_later(FILE *in, uint64_t lineno, uint64_t lo, uint64_t hi, uint64_t *seq_out)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	struct record r;
	uint64_t found = 0;

	while (!found && (n = getline(&line, &cap, in)) >= 0) {
		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			n--;
		if (parse_record(line, (size_t)n, &r) && r.seq >= lo && r.seq < hi) {
			found = lineno;
			*seq_out = r.seq;
		}
	}
	free(line);
	return found;
}

/* Whether any later line is a chained record. */
static bool any_record_later(FILE *in)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	struct record r;
	bool found = false;

	while (!found && (n = getline(&line, &cap, in)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			n--;
		found = parse_record(line, (size_t)n, &r);
	}
	free(line);
	return found;
}

int logchain_verify(FILE *in, const char *name, const char *expect_head, FILE *report, FILE *errors)
{
	char prev[CHAIN_HEX + 1], h[CHAIN_HEX + 1];
	uint64_t expect = 1, lineno = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 2;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (!md) {
		fprintf(errors, "egressfence: %s: out of memory\n", name);
		return 2;
	}
	memcpy(prev, zero_chain, sizeof(prev));
	while ((n = getline(&line, &cap, in)) >= 0) {
		struct record r;
		unsigned long long L = ++lineno;

		if (n > 0 && line[n - 1] == '\n')
			n--;
		if (!parse_record(line, (size_t)n, &r)) {
			if (L == 1 && !any_record_later(in)) {
				fprintf(errors, "egressfence: %s: not a chained event log: no line ends with \"seq\" and \"chain\" "
					"members (was it written with audit --chain?)\n", name);
				rc = 2;
			} else {
				fprintf(report, "%s:%llu: not a chained record: its \"seq\" and \"chain\" members are "
					"missing or malformed (the line was edited or inserted)\n", name, L);
				rc = 1;
			}
			goto out;
		}
		rc = 1;
		if (r.seq < expect) {
			fprintf(report, "%s:%llu: record %llu is out of order: record %llu was expected here "
				"(a record was moved or repeated)\n", name, L, (unsigned long long)r.seq,
				(unsigned long long)expect);
			goto out;
		}
		if (r.seq > expect) {
			uint64_t seq = 0, at = find_later(in, lineno, expect, r.seq, &seq);
			if (at)
				fprintf(report, "%s:%llu: records out of order: record %llu is here, where record %llu "
					"was expected; record %llu is on line %llu\n", name, L,
					(unsigned long long)r.seq, (unsigned long long)expect, (unsigned long long)seq,
					(unsigned long long)at);
			else if (r.seq == expect + 1)
				fprintf(report, "%s:%llu: record %llu was removed (it came before this line)\n", name, L,
					(unsigned long long)expect);
			else
				fprintf(report, "%s:%llu: records %llu to %llu were removed (they came before this line)\n",
					name, L, (unsigned long long)expect, (unsigned long long)r.seq - 1);
			goto out;
		}
		if (!chain_hash(md, prev, line, r.body_len, "}", 1, h)) {
			fprintf(errors, "egressfence: %s: libcrypto failed to compute SHA-256\n", name);
			rc = 2;
			goto out;
		}
		if (memcmp(h, r.chain, CHAIN_HEX) != 0) {
			if (L == 1)
				fprintf(report, "%s:%llu: record %llu was changed: its chain does not match its "
					"contents\n", name, L, (unsigned long long)r.seq);
			else
				fprintf(report, "%s:%llu: record %llu was changed: its chain does not follow from its "
					"contents and the record before it (line %llu), one of which was edited\n",
					name, L, (unsigned long long)r.seq, L - 1);
			goto out;
		}
		memcpy(prev, r.chain, CHAIN_HEX);
		expect++;
	}
	if (ferror(in)) {
		fprintf(errors, "egressfence: %s: read error after line %llu: %s\n", name, (unsigned long long)lineno,
			strerror(errno));
		rc = 2;
		goto out;
	}
	if (expect_head && strcmp(expect_head, prev) != 0) {
		fprintf(report, "%s: the log ends at record %llu with chain %s, not the expected head %s: records "
			"were cut off the end, or the log was rewritten\n", name, (unsigned long long)(expect - 1), prev,
			expect_head);
		rc = 1;
		goto out;
	}
	fprintf(report, "%s: OK, %llu records, head %s\n", name, (unsigned long long)(expect - 1), prev);
	rc = 0;
out:
	free(line);
	EVP_MD_CTX_free(md);
	return rc;
}

static int verify_usage(const char *fmt, const char *arg)
{
	fputs("egressfence: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\n(see egressfence --help)\n", stderr);
	return 2;
}

int logchain_verify_main(int argc, char **argv)
{
	const char *path = NULL, *head = NULL;
	char head_lc[CHAIN_HEX + 1];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--head") == 0) {
			if (++i == argc)
				return verify_usage("%s", "option `--head' needs a value");
			head = argv[i];
		} else if (strncmp(argv[i], "--head=", 7) == 0) {
			head = argv[i] + 7;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return verify_usage("unknown option `%s' (verify-log takes --head)", argv[i]);
		} else if (path) {
			return verify_usage("verify-log checks one log; `%s' is extra", argv[i]);
		} else {
			path = argv[i];
		}
	}
	if (!path)
		return verify_usage("%s", "verify-log needs a log file (written by audit --chain --json FILE)");
	if (head) {
		if (strlen(head) != CHAIN_HEX)
			return verify_usage("--head is the 64 hex digits the audit printed, not `%s'", head);
		for (int i = 0; i < CHAIN_HEX; i++)
			head_lc[i] = (char)(head[i] >= 'A' && head[i] <= 'F' ? head[i] + 32 : head[i]);
		head_lc[CHAIN_HEX] = 0;
		if (!is_hex(head_lc, CHAIN_HEX))
			return verify_usage("--head is the 64 hex digits the audit printed, not `%s'", head);
	}
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (!in) {
		fprintf(stderr, "egressfence: %s: %s\n", path, strerror(errno));
		return 2;
	}
	int rc = logchain_verify(in, in == stdin ? "(stdin)" : path, head ? head_lc : NULL, stdout, stderr);
	if (in != stdin)
		fclose(in);
	return rc;
}
