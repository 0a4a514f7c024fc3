/*
 * output/logchain.c -- the hash-chained event log: writing it and checking it.
 * The scheme is in output.h.
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
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define CHAIN_HEX 64
#define CHAIN_KEY ",\"chain\":\""
#define CHAIN_KEY_LEN 10
/* `,"chain":"` + 64 hex + `"}` */
#define CHAIN_SUFFIX_LEN (CHAIN_KEY_LEN + CHAIN_HEX + 2)

static const char zero_chain[CHAIN_HEX + 1] =
	"0000000000000000000000000000000000000000000000000000000000000000";

#define ID_HEX 32       /* log id and key id: 16 bytes */
#define SIG_HEX 128     /* an Ed25519 signature: 64 bytes */
#define LOG_FORMAT "egressfence-signed-log-1"

struct logchain {
	FILE *out, *stream;
	EVP_MD_CTX *md;
	char prev[CHAIN_HEX + 1];
	uint64_t records;
	char *line;          /* the line being written, until its newline */
	size_t len, cap;
	bool failed;         /* a write failed: the stream takes nothing more */
	/* signed logs only */
	EVP_PKEY *key;
	char log_id[ID_HEX + 1], key_id[ID_HEX + 1];
	uint32_t every;      /* records between checkpoints */
	uint32_t since;      /* records since the last checkpoint */
	time_t last_signed;  /* CLOCK_MONOTONIC seconds of record 1 or the last checkpoint */
	bool syslog;
};

static time_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static bool is_hex(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

static void to_hex(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = 0;
}

/* The first 16 bytes of SHA-256 of the raw public key, in hex. */
static bool key_id_of(EVP_PKEY *k, char out[ID_HEX + 1])
{
	unsigned char raw[64], d[32];
	size_t n = sizeof(raw);
	unsigned dn = 0;

	if (EVP_PKEY_get_raw_public_key(k, raw, &n) != 1 || !EVP_Digest(raw, n, d, &dn, EVP_sha256(), NULL))
		return false;
	to_hex(d, 16, out);
	return true;
}

/* What a checkpoint's signature covers. */
static int checkpoint_message(char *buf, size_t cap, const char *log_id, uint64_t records, const char *head,
			      bool final)
{
	return snprintf(buf, cap, "egressfence-checkpoint-v1 %s %llu %s %d", log_id, (unsigned long long)records,
			head, final ? 1 : 0);
}

/* hex(SHA-256(prev || a || b)) */
static bool chain_hash(EVP_MD_CTX *md, const char *prev, const char *a, size_t alen, const char *b,
		       size_t blen, char out[CHAIN_HEX + 1])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	if (!EVP_DigestInit_ex(md, EVP_sha256(), NULL) || !EVP_DigestUpdate(md, prev, CHAIN_HEX) ||
	    !EVP_DigestUpdate(md, a, alen) || !EVP_DigestUpdate(md, b, blen) || !EVP_DigestFinal_ex(md, d, &n) ||
	    n != 32)
		return false;
	to_hex(d, 32, out);
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

/* A signed checkpoint over everything written so far, itself a record. */
static bool emit_checkpoint(struct logchain *lc, bool final)
{
	char msg[256], line[512], sig_hex[SIG_HEX + 1];
	unsigned char sig[64];
	size_t sig_len = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, lc->key) == 1;
	int n = checkpoint_message(msg, sizeof(msg), lc->log_id, lc->records, lc->prev, final);

	ok = ok && EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)msg, (size_t)n) == 1 && sig_len == 64;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		errno = EIO;
		return false;
	}
	to_hex(sig, 64, sig_hex);
	n = snprintf(line, sizeof(line),
		     "{\"checkpoint\":{\"log_id\":\"%s\",\"records\":%llu,\"head\":\"%s\",\"final\":%s,"
		     "\"key_id\":\"%s\",\"sig\":\"%s\"}}",
		     lc->log_id, (unsigned long long)lc->records, lc->prev, final ? "true" : "false", lc->key_id, sig_hex);
	if (lc->syslog)
		syslog(LOG_NOTICE, "checkpoint log_id=%s records=%llu head=%s final=%d key_id=%s sig=%s", lc->log_id,
		       (unsigned long long)lc->records, lc->prev, final ? 1 : 0, lc->key_id, sig_hex);
	lc->since = 0;
	lc->last_signed = mono_s();
	return emit_record(lc, line, (size_t)n);
}

/* An event record, and the checkpoint it may complete. */
static bool emit_event(struct logchain *lc, const char *line, size_t len)
{
	if (!emit_record(lc, line, len))
		return false;
	return !lc->key || ++lc->since < lc->every || emit_checkpoint(lc, false);
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
			if (!emit_event(lc, lc->line, lc->len)) {
				lc->failed = true;
				return 0;
			}
			lc->len = 0;
		}
	}
	/* What the writer flushed reaches the file now, not when `out' stream's own
	 * buffer fills: a live log (run) is read while it is written. */
	if (fflush(lc->out) != 0) {
		lc->failed = true;
		return 0;
	}
	return (ssize_t)size;
}

static int chain_close(void *cookie)
{
	struct logchain *lc = cookie;
	int rc = lc->failed ? -1 : 0;

	if (lc->len && !lc->failed) { /* a last line without its newline is still a record */
		if (!emit_event(lc, lc->line, lc->len))
			rc = -1;
		lc->len = 0;
	}
	if (lc->key && !lc->failed && rc == 0 && !emit_checkpoint(lc, true))
		rc = -1;
	if (lc->out == stdout)
		rc |= fflush(lc->out) == 0 ? 0 : -1;
	else if (lc->out)
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

/* A JSON string: quotes, backslashes and control characters escaped. */
static void put_json_string(FILE *o, const char *v)
{
	fputc('"', o);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(o, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(o, "\\u%04x", *p);
		else
			fputc(*p, o);
	}
	fputc('"', o);
}

/* {"path":...,"sha256":...} of a file the log's judgements depend on. */
static bool put_file_digest(FILE *o, const char *path, char *err, size_t errlen)
{
	unsigned char buf[1 << 16], d[32];
	char hex[65];
	unsigned dn = 0;
	size_t n;
	FILE *f = fopen(path, "rb");
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = f && md && EVP_DigestInit_ex(md, EVP_sha256(), NULL);

	while (ok && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		ok = EVP_DigestUpdate(md, buf, n);
	ok = ok && !ferror(f) && EVP_DigestFinal_ex(md, d, &dn);
	if (!ok)
		snprintf(err, errlen, "%s: cannot read it to record its SHA-256 in the log: %s", path,
			 errno ? strerror(errno) : "read error");
	if (f)
		fclose(f);
	EVP_MD_CTX_free(md);
	if (!ok)
		return false;
	to_hex(d, 32, hex);
	fputs("{\"path\":", o);
	put_json_string(o, path);
	fprintf(o, ",\"sha256\":\"%s\"}", hex);
	return true;
}

static EVP_PKEY *read_key(const char *path, bool private, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = NULL;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	k = private ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (!k || EVP_PKEY_id(k) != EVP_PKEY_ED25519) {
		snprintf(err, errlen, "%s: not an Ed25519 %s key in PEM form (egressfence keygen makes one)", path,
			 private ? "private" : "public");
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

/* Record 1 after its previous_head: `,"producer":..,"started":..,"policy":..,
 * "databases":[..]}}'.  Built before anything is written, so that a file
 * that cannot be read changes nothing. */
static char *header_tail(const struct logchain_signing *s, char *err, size_t errlen)
{
	char *tail = NULL, ts[32];
	size_t len = 0;
	time_t now = time(NULL);
	struct tm tm;
	FILE *o = open_memstream(&tail, &len);

	if (!o) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fputs(",\"producer\":", o);
	put_json_string(o, s->producer ? s->producer : "egressfence");
	fprintf(o, ",\"started\":\"%s\",\"policy\":", ts);
	bool ok = true;
	if (s->policy_path)
		ok = put_file_digest(o, s->policy_path, err, errlen);
	else
		fputs("null", o);
	fputs(",\"databases\":[", o);
	for (size_t i = 0; ok && i < s->n_dbs; i++) {
		if (i)
			fputc(',', o);
		ok = put_file_digest(o, s->db_paths[i], err, errlen);
	}
	fputs("]}}", o);
	if (fclose(o) != 0 && ok) {
		snprintf(err, errlen, "out of memory");
		ok = false;
	}
	if (!ok) {
		free(tail);
		return NULL;
	}
	return tail;
}

/* Record 1 of a new log id, chained on from lc->prev (zeros, or the head
 * the log continues). */
static bool emit_header(struct logchain *lc, bool continues, const char *tail, char *err, size_t errlen)
{
	unsigned char id[16];
	char *header = NULL;
	size_t header_len = 0;

	if (RAND_bytes(id, sizeof(id)) != 1) {
		snprintf(err, errlen, "libcrypto cannot make a random log id");
		return false;
	}
	to_hex(id, sizeof(id), lc->log_id);
	FILE *o = open_memstream(&header, &header_len);
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	fprintf(o, "{\"log\":{\"format\":\"" LOG_FORMAT "\",\"log_id\":\"%s\",\"key_id\":\"%s\",\"previous_head\":",
		lc->log_id, lc->key_id);
	if (continues)
		fprintf(o, "\"%s\"", lc->prev);
	else
		fputs("null", o);
	fputs(tail, o);
	bool ok = fclose(o) == 0;
	if (!ok)
		snprintf(err, errlen, "out of memory");
	/* Flushed: a log being written says at once what it is and whose. */
	else if (!(ok = emit_record(lc, header, header_len) && fflush(lc->out) == 0))
		snprintf(err, errlen, "cannot write the log's first record: %s", strerror(errno));
	free(header);
	lc->since = 0;
	lc->last_signed = mono_s();
	return ok;
}

struct logchain *logchain_new_signed(FILE *out, const struct logchain_signing *s, char *err, size_t errlen)
{
	char *tail = NULL;
	struct logchain *lc = logchain_new(out, err, errlen);

	if (!lc)
		return NULL;
	lc->every = s->checkpoint_every ? s->checkpoint_every : 1000;
	lc->syslog = s->syslog;
	if (!(lc->key = read_key(s->key_path, true, err, errlen)))
		goto fail;
	if (!key_id_of(lc->key, lc->key_id)) {
		snprintf(err, errlen, "%s: libcrypto cannot derive the key id", s->key_path);
		goto fail;
	}
	if (s->previous_head) {
		if (strlen(s->previous_head) != CHAIN_HEX) {
			snprintf(err, errlen, "the previous log's head is 64 hex digits, not `%s'", s->previous_head);
			goto fail;
		}
		for (int i = 0; i < CHAIN_HEX; i++) {
			char c = s->previous_head[i];
			lc->prev[i] = (char)(c >= 'A' && c <= 'F' ? c + 32 : c);
		}
		if (!is_hex(lc->prev, CHAIN_HEX)) {
			snprintf(err, errlen, "the previous log's head is 64 hex digits, not `%s'", s->previous_head);
			goto fail;
		}
	}
	if (!(tail = header_tail(s, err, errlen)) || !emit_header(lc, s->previous_head != NULL, tail, err, errlen))
		goto fail;
	free(tail);
	if (s->syslog)
		openlog("egressfence", LOG_PID, LOG_DAEMON);
	return lc;
fail:
	free(tail);
	lc->failed = true; /* nothing more is written, not even a checkpoint */
	lc->out = NULL;    /* the caller still owns `out' */
	fclose(lc->stream);
	logchain_free(lc);
	return NULL;
}

int logchain_checkpoint(struct logchain *lc, uint32_t older_than_s)
{
	if (!lc->key || lc->failed)
		return lc->failed ? -1 : 0;
	if (fflush(lc->stream) != 0)
		return -1;
	/* lc->len: a line still without its newline is no record yet */
	if (!lc->since || lc->len || mono_s() - lc->last_signed < (time_t)older_than_s)
		return 0;
	if (!emit_checkpoint(lc, false) || fflush(lc->out) != 0) {
		lc->failed = true;
		return -1;
	}
	return 1;
}

int logchain_rotate(struct logchain *lc, FILE *out, const struct logchain_signing *s, char *err, size_t errlen)
{
	char *tail;

	if (!lc->key || lc->failed || fflush(lc->stream) != 0 || lc->len) {
		snprintf(err, errlen, "the log cannot be rotated: %s",
			 !lc->key ? "it is not signed" : lc->len ? "a record is half written" : "an earlier write failed");
		return -1;
	}
	if (!(tail = header_tail(s, err, errlen)))
		return -1;
	/* From here the old file is ended whatever happens to the new one. */
	bool ended = emit_checkpoint(lc, true);
	int rc = lc->out == stdout ? fflush(lc->out) : fclose(lc->out);
	lc->out = out;
	if (!ended || rc != 0) {
		snprintf(err, errlen, "the rotated file's final checkpoint did not reach it: %s", strerror(errno));
		lc->failed = true;
		free(tail);
		return -2;
	}
	lc->records = 0; /* each file counts its own records; the chain goes on */
	bool ok = emit_header(lc, true, tail, err, errlen);
	free(tail);
	if (!ok) {
		lc->failed = true;
		return -2;
	}
	return 0;
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
	EVP_PKEY_free(lc->key);
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

/* What verify-log was asked to check beyond the chain. */
struct verify_opts {
	const char *expect_head;     /* --head */
	EVP_PKEY *pub;               /* --pubkey: signatures must verify */
	const char *pub_id;
	bool allow_open;             /* --open: a log still being written may end unsigned */
	struct logchain_info *info;  /* logchain_check: what was found, filled at the end */
};

/* Carried from one file to the next of a rotated sequence. */
struct verify_state {
	bool continuing;             /* a file came before this one */
	char prev_final[CHAIN_HEX + 1]; /* that file's final head */
};

/* `"NAME":"` followed by exactly n hex digits and `"`, at *p; advances. */
static bool take_hex_member(const char **p, const char *end, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);

	if ((size_t)(end - *p) < nl + 5 + n || (*p)[0] != '"' || memcmp(*p + 1, name, nl) != 0 ||
	    memcmp(*p + 1 + nl, "\":\"", 3) != 0 || !is_hex(*p + nl + 4, n) || (*p)[nl + 4 + n] != '"')
		return false;
	memcpy(out, *p + nl + 4, n);
	out[n] = 0;
	*p += nl + 5 + n;
	return true;
}

static bool take_literal(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

struct header {
	char log_id[ID_HEX + 1], key_id[ID_HEX + 1], previous[CHAIN_HEX + 1];
	bool has_previous;
};

/* Record 1 of a signed log, read strictly from its fixed opening. */
static bool parse_header(const char *line, size_t len, struct header *h)
{
	const char *p = line, *end = line + len;

	if (!take_literal(&p, end, "{\"log\":{\"format\":\"" LOG_FORMAT "\",") ||
	    !take_hex_member(&p, end, "log_id", h->log_id, ID_HEX) || !take_literal(&p, end, ",") ||
	    !take_hex_member(&p, end, "key_id", h->key_id, ID_HEX) || !take_literal(&p, end, ","))
		return false;
	h->has_previous = !take_literal(&p, end, "\"previous_head\":null");
	return !h->has_previous || take_hex_member(&p, end, "previous_head", h->previous, CHAIN_HEX);
}

struct checkpoint {
	char log_id[ID_HEX + 1], head[CHAIN_HEX + 1], key_id[ID_HEX + 1], sig[SIG_HEX + 1];
	uint64_t records;
	bool final;
};

/* A checkpoint record, exactly as emit_checkpoint() writes it. */
static bool parse_checkpoint(const char *line, size_t len, struct checkpoint *c)
{
	const char *p = line, *end = line + len;
	int digits = 0;

	if (!take_literal(&p, end, "{\"checkpoint\":{") || !take_hex_member(&p, end, "log_id", c->log_id, ID_HEX) ||
	    !take_literal(&p, end, ",\"records\":"))
		return false;
	c->records = 0;
	while (p < end && *p >= '0' && *p <= '9' && digits < 19) {
		c->records = c->records * 10 + (uint64_t)(*p++ - '0');
		digits++;
	}
	if (!digits || !take_literal(&p, end, ",") || !take_hex_member(&p, end, "head", c->head, CHAIN_HEX))
		return false;
	if (take_literal(&p, end, ",\"final\":true"))
		c->final = true;
	else if (take_literal(&p, end, ",\"final\":false"))
		c->final = false;
	else
		return false;
	return take_literal(&p, end, ",") && take_hex_member(&p, end, "key_id", c->key_id, ID_HEX) &&
	       take_literal(&p, end, ",") && take_hex_member(&p, end, "sig", c->sig, SIG_HEX) &&
	       take_literal(&p, end, "},\"seq\":");
}

enum logchain_line logchain_line_parse(const char *line, size_t len, struct logchain_line_info *out)
{
	struct record r;
	struct header h;
	struct checkpoint c;

	memset(out, 0, sizeof(*out));
	if (!parse_record(line, len, &r))
		return LOGCHAIN_LINE_OTHER;
	out->seq = r.seq;
	if (parse_header(line, len, &h)) {
		memcpy(out->log_id, h.log_id, sizeof(out->log_id));
		memcpy(out->key_id, h.key_id, sizeof(out->key_id));
		out->has_previous = h.has_previous;
		if (h.has_previous)
			memcpy(out->previous_head, h.previous, sizeof(out->previous_head));
		return LOGCHAIN_LINE_HEADER;
	}
	if (parse_checkpoint(line, len, &c)) {
		memcpy(out->log_id, c.log_id, sizeof(out->log_id));
		memcpy(out->key_id, c.key_id, sizeof(out->key_id));
		out->records = c.records;
		out->final = c.final;
		return LOGCHAIN_LINE_CHECKPOINT;
	}
	return LOGCHAIN_LINE_RECORD;
}

static bool signature_verifies(EVP_PKEY *pub, const struct checkpoint *c)
{
	char msg[256];
	unsigned char sig[64];
	int n = checkpoint_message(msg, sizeof(msg), c->log_id, c->records, c->head, c->final);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok;

	for (int i = 0; i < 64; i++) {
		char hi = c->sig[2 * i], lo = c->sig[2 * i + 1];
		sig[i] = (unsigned char)(((hi <= '9' ? hi - '0' : hi - 'a' + 10) << 4) | (lo <= '9' ? lo - '0' : lo - 'a' + 10));
	}
	ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub) == 1 &&
	     EVP_DigestVerify(ctx, sig, sizeof(sig), (const unsigned char *)msg, (size_t)n) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static int verify_one(FILE *in, const char *name, const struct verify_opts *o, struct verify_state *st,
		      FILE *report, FILE *errors)
{
	char prev[CHAIN_HEX + 1], h[CHAIN_HEX + 1];
	uint64_t expect = 1, lineno = 0, checkpoints = 0, last_signed = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 2;
	bool is_signed = false, final = false;
	struct header hd = {0};
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (!md) {
		fprintf(errors, "egressfence: %s: out of memory\n", name);
		return 2;
	}
	memcpy(prev, zero_chain, sizeof(prev));
	while ((n = getline(&line, &cap, in)) >= 0) {
		struct record r;
		struct checkpoint cp;
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
		if (final) {
			fprintf(report, "%s:%llu: a record after the final signed checkpoint (line %llu): records were "
				"appended to a closed log\n", name, L, L - 1);
			goto out;
		}
		if (L == 1 && parse_header(line, (size_t)n, &hd)) {
			is_signed = true;
			/* The chain of a rotated log goes on from the previous file's head. */
			if (hd.has_previous)
				memcpy(prev, hd.previous, sizeof(prev));
			if (o->pub && strcmp(hd.key_id, o->pub_id) != 0) {
				fprintf(report, "%s:1: the log was signed with key %s, not with the key given (%s)\n", name,
					hd.key_id, o->pub_id);
				goto out;
			}
			if (st->continuing && (!hd.has_previous || strcmp(hd.previous, st->prev_final) != 0)) {
				fprintf(report, "%s:1: this log does not continue the one before it: its previous_head is "
					"%s, the previous log ended at %s\n", name, hd.has_previous ? hd.previous : "null",
					st->prev_final);
				goto out;
			}
		} else if (L == 1 && (o->pub || st->continuing)) {
			fprintf(report, "%s:1: the log is not signed: its first record is not a signed log's header\n", name);
			goto out;
		}
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
		if (parse_checkpoint(line, (size_t)n, &cp)) {
			if (!is_signed) {
				fprintf(report, "%s:%llu: a signed checkpoint in a log without a signed header\n", name, L);
				goto out;
			}
			if (strcmp(cp.log_id, hd.log_id) != 0 || strcmp(cp.key_id, hd.key_id) != 0) {
				fprintf(report, "%s:%llu: this checkpoint belongs to another log (log %s, key %s): records "
					"were spliced in from another run\n", name, L, cp.log_id, cp.key_id);
				goto out;
			}
			if (cp.records != r.seq - 1 || strcmp(cp.head, prev) != 0) {
				fprintf(report, "%s:%llu: this checkpoint signs records 1..%llu ending at %.16s..., but "
					"the log before it has %llu records ending at %.16s...: the log was rewritten\n",
					name, L, (unsigned long long)cp.records, cp.head,
					(unsigned long long)(r.seq - 1), prev);
				goto out;
			}
			if (o->pub && !signature_verifies(o->pub, &cp)) {
				fprintf(report, "%s:%llu: the signature of the checkpoint over records 1..%llu does not "
					"verify: the log was re-chained or edited without the signing key\n", name, L,
					(unsigned long long)cp.records);
				goto out;
			}
			checkpoints++;
			last_signed = r.seq;
			final = cp.final;
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
	if (o->expect_head && strcmp(o->expect_head, prev) != 0) {
		fprintf(report, "%s: the log ends at record %llu with chain %s, not the expected head %s: records "
			"were cut off the end, or the log was rewritten\n", name, (unsigned long long)(expect - 1), prev,
			o->expect_head);
		rc = 1;
		goto out;
	}
	if (lineno == 0) {
		/* Against a head, an emptied log is one cut short (above). */
		fprintf(errors, "egressfence: %s: empty: not a chained event log\n", name);
		rc = 2;
		goto out;
	}
	if (o->pub && !final && !o->allow_open) {
		fprintf(report, "%s: the log ends %llu records after its last signed checkpoint (record %llu) without "
			"the final one: records were cut off the end (if the log is still being written, check it "
			"with --open)\n", name, (unsigned long long)(expect - 1 - last_signed),
			(unsigned long long)last_signed);
		rc = 1;
		goto out;
	}
	if (o->pub)
		fprintf(report, "%s: OK, signed by key %s: %llu records, %llu checkpoints verified%s, head %s\n", name,
			hd.key_id, (unsigned long long)(expect - 1), (unsigned long long)checkpoints,
			final ? " (closed)" : ", still open: the records after the last checkpoint are not signed yet",
			prev);
	else if (is_signed)
		fprintf(report, "%s: OK, %llu records, head %s (a signed log: give --pubkey to check its signatures)\n",
			name, (unsigned long long)(expect - 1), prev);
	else
		fprintf(report, "%s: OK, %llu records, head %s\n", name, (unsigned long long)(expect - 1), prev);
	st->continuing = true;
	memcpy(st->prev_final, prev, sizeof(prev));
	rc = 0;
out:
	if (o->info) {
		struct logchain_info *i = o->info;
		i->rc = rc;
		i->line = lineno;
		i->records = expect - 1;
		memcpy(i->head, prev, sizeof(i->head));
		i->is_signed = is_signed;
		i->checkpoints = checkpoints;
		i->last_signed = last_signed;
		i->closed = final;
		if (is_signed) {
			memcpy(i->key_id, hd.key_id, sizeof(i->key_id));
			memcpy(i->log_id, hd.log_id, sizeof(i->log_id));
			i->has_previous = hd.has_previous;
			memcpy(i->previous_head, hd.previous, sizeof(i->previous_head));
		}
	}
	free(line);
	EVP_MD_CTX_free(md);
	return rc;
}

int logchain_verify(FILE *in, const char *name, const char *expect_head, FILE *report, FILE *errors)
{
	struct verify_opts o = {.expect_head = expect_head};
	struct verify_state st = {0};

	return verify_one(in, name, &o, &st, report, errors);
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
	const char *paths[64], *head = NULL, *pubkey = NULL;
	size_t n_paths = 0;
	char head_lc[CHAIN_HEX + 1], err[512], pub_id[ID_HEX + 1];
	struct verify_opts o = {0};
	struct verify_state st = {0};

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--head") == 0 || strcmp(argv[i], "--pubkey") == 0) {
			if (i + 1 == argc)
				return verify_usage("option `%s' needs a value", argv[i]);
			*(argv[i][2] == 'h' ? &head : &pubkey) = argv[i + 1];
			i++;
		} else if (strncmp(argv[i], "--head=", 7) == 0) {
			head = argv[i] + 7;
		} else if (strncmp(argv[i], "--pubkey=", 9) == 0) {
			pubkey = argv[i] + 9;
		} else if (strcmp(argv[i], "--open") == 0) {
			o.allow_open = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return verify_usage("unknown option `%s' (verify-log takes --head, --pubkey and --open)", argv[i]);
		} else if (n_paths == sizeof(paths) / sizeof(paths[0])) {
			return verify_usage("verify-log checks at most 64 files; `%s' is one too many", argv[i]);
		} else {
			paths[n_paths++] = argv[i];
		}
	}
	if (!n_paths)
		return verify_usage("%s", "verify-log needs a log file (written by audit --chain --json FILE)");
	if (n_paths > 1 && !pubkey)
		return verify_usage("%s", "several files are checked as one rotated signed log: give --pubkey");
	if (head) {
		if (strlen(head) != CHAIN_HEX)
			return verify_usage("--head is the 64 hex digits the audit printed, not `%s'", head);
		for (int i = 0; i < CHAIN_HEX; i++)
			head_lc[i] = (char)(head[i] >= 'A' && head[i] <= 'F' ? head[i] + 32 : head[i]);
		head_lc[CHAIN_HEX] = 0;
		if (!is_hex(head_lc, CHAIN_HEX))
			return verify_usage("--head is the 64 hex digits the audit printed, not `%s'", head);
	}
	if (pubkey) {
		if (!(o.pub = read_key(pubkey, false, err, sizeof(err))) || !key_id_of(o.pub, pub_id)) {
			fprintf(stderr, "egressfence: %s\n", o.pub ? "libcrypto cannot derive the key id" : err);
			EVP_PKEY_free(o.pub);
			return 2;
		}
		o.pub_id = pub_id;
	}
	int rc = 0;
	for (size_t i = 0; i < n_paths && rc == 0; i++) {
		const char *path = paths[i];
		FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
		if (!in) {
			fprintf(stderr, "egressfence: %s: %s\n", path, strerror(errno));
			rc = 2;
			break;
		}
		/* --head is the end of the whole sequence. */
		o.expect_head = head && i + 1 == n_paths ? head_lc : NULL;
		rc = verify_one(in, in == stdin ? "(stdin)" : path, &o, &st, stdout, stderr);
		if (in != stdin)
			fclose(in);
	}
	EVP_PKEY_free(o.pub);
	return rc;
}

/* ---- keys ----------------------------------------------------------------- */

/* A new file for a key: never an existing one, never through a link. */
static FILE *create_key_file(const char *path, mode_t mode, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	FILE *f;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
			 errno == EEXIST ? " (keygen never overwrites a key; remove it first)" : "");
		return NULL;
	}
	if (!(f = fdopen(fd, "w"))) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
	}
	return f;
}

int logchain_keygen_main(int argc, char **argv)
{
	const char *prefix = NULL;
	char key_path[4096], pub_path[4096], err[4200], id[ID_HEX + 1];
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	FILE *kf = NULL, *pf = NULL;
	int rc = 2;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			prefix = argv[++i];
		else if (strncmp(argv[i], "--out=", 6) == 0)
			prefix = argv[i] + 6;
		else
			return verify_usage("keygen takes --out PREFIX (it writes PREFIX.key and PREFIX.pub), not `%s'",
					    argv[i]);
	}
	if (!prefix || !*prefix)
		return verify_usage("%s", "keygen needs --out PREFIX (it writes PREFIX.key and PREFIX.pub)");
	if (snprintf(key_path, sizeof(key_path), "%s.key", prefix) >= (int)sizeof(key_path) ||
	    snprintf(pub_path, sizeof(pub_path), "%s.pub", prefix) >= (int)sizeof(pub_path))
		return verify_usage("%s", "--out: path too long");
	if (!(ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL)) || EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_keygen(ctx, &k) != 1 || !key_id_of(k, id)) {
		snprintf(err, sizeof(err), "libcrypto cannot make an Ed25519 key");
		goto out;
	}
	/* The private key is readable by its owner alone, from its first byte. */
	if (!(kf = create_key_file(key_path, 0600, err, sizeof(err))))
		goto out;
	if (PEM_write_PrivateKey(kf, k, NULL, NULL, 0, NULL, NULL) != 1 || fclose(kf) != 0) {
		kf = NULL;
		snprintf(err, sizeof(err), "%s: cannot write the key", key_path);
		unlink(key_path);
		goto out;
	}
	kf = NULL;
	if (!(pf = create_key_file(pub_path, 0644, err, sizeof(err)))) {
		unlink(key_path);
		goto out;
	}
	if (PEM_write_PUBKEY(pf, k) != 1 || fclose(pf) != 0) {
		pf = NULL;
		snprintf(err, sizeof(err), "%s: cannot write the public key", pub_path);
		unlink(key_path);
		unlink(pub_path);
		goto out;
	}
	pf = NULL;
	printf("key id %s\nprivate key %s (mode 0600: for the engine alone)\npublic key %s (for verify-log --pubkey)\n",
	       id, key_path, pub_path);
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "egressfence: %s\n", err);
	if (kf)
		fclose(kf);
	if (pf)
		fclose(pf);
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* ---- checking for the report (output/) ---------------------------------- */

EVP_PKEY *logchain_load_key(const char *path, bool private_key, char *err, size_t errlen)
{
	return read_key(path, private_key, err, errlen);
}

int logchain_check(FILE *in, const char *name, EVP_PKEY *key, struct logchain_info *out, FILE *report, FILE *errors)
{
	struct verify_opts o = {.pub = key, .info = out};
	struct verify_state st = {0};
	char id[ID_HEX + 1];

	memset(out, 0, sizeof(*out));
	if (key) {
		if (!key_id_of(key, id)) {
			fprintf(errors, "egressfence: %s: libcrypto cannot derive the key id\n", name);
			out->rc = 2;
			return 2;
		}
		o.pub_id = id;
		/* A report is also made of a log still being written (run): its
		 * openness is shown, not failed, as verify-log --open does. */
		o.allow_open = true;
	}
	int rc = verify_one(in, name, &o, &st, report, errors);
	out->sigs_checked = key != NULL;
	out->other_key = key && out->is_signed && strcmp(out->key_id, id) != 0;
	return rc;
}
