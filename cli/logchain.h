/*
 * cli/logchain.h -- tamper evidence for the JSON event log.
 *
 * With `audit --chain`, every event line gets two more members, last:
 *
 *   {...,"seq":N,"chain":"H"}
 *
 * N counts records from 1.  H is the lowercase hex SHA-256 of the previous
 * record's H (64 ASCII characters; 64 '0's before record 1) followed by the
 * record exactly as written without its `,"chain":"H"` member, that is
 * `{...,"seq":N}`, with no newline.  So a record cannot be changed, removed
 * or moved without breaking the chain at that point, and `seq` tells which
 * of the three happened.
 *
 * What a hash chain cannot show by itself: records cut off the end, or a
 * log rewritten whole from some point on (the chain has no key).  For that
 * the audit prints the last H, the head; kept somewhere else, it is checked
 * with `egressfence verify-log --head H FILE`.
 *
 * A signed log (logchain_new_signed) closes both gaps with an Ed25519 key:
 *
 *   record 1   {"log":{"format":"egressfence-signed-log-1","log_id":"<128-bit hex>",
 *                "key_id":"<32 hex>","producer":"audit","started":"<RFC 3339>",
 *                "previous_head":"<64 hex>"|null,"policy":{"path":..,"sha256":..},
 *                "databases":[{"path":..,"sha256":..},...]},"seq":1,"chain":"H"}
 *   every N records and at close
 *              {"checkpoint":{"log_id":..,"records":K,"head":"<chain of record K>",
 *                "final":false|true,"key_id":..,"sig":"<128 hex>"},"seq":K+1,"chain":"H"}
 *
 * The signature is Ed25519 over the text
 *   "egressfence-checkpoint-v1 LOG_ID K HEAD FINAL" (FINAL 0 or 1),
 * so it binds the whole chain up to record K (and through record 1, the
 * log's key, policy and databases) to this log: a log re-chained without the
 * key fails at its next checkpoint, records spliced in from another run
 * carry another log_id, and a log cut after its last signature has no final
 * checkpoint.  The key id is the first 16 bytes of SHA-256 of the raw
 * 32-byte public key, in hex.  A rotated log names the previous file's
 * final head in previous_head and chains on from it, so a sequence of files
 * verifies as one chain (verify-log --pubkey KEY FILE1 FILE2 ...).
 */
#ifndef EF_CLI_LOGCHAIN_H
#define EF_CLI_LOGCHAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct logchain;

/*
 * A stream that writes to `out`, chaining each line written to it; lines
 * must be JSON objects.  Closing the stream flushes it and closes `out`
 * (stdout is flushed, not closed); a line that is not an object, or a
 * failed write to `out`, fails the write with errno set.  NULL and a
 * message in err when out of memory or libcrypto has no SHA-256.
 */
struct logchain *logchain_new(FILE *out, char *err, size_t errlen);

/* What a signed log states about itself in its first record. */
struct logchain_signing {
	const char *key_path;          /* Ed25519 private key, PEM (egressfence keygen) */
	const char *producer;          /* "audit", "run" */
	const char *previous_head;     /* 64 hex: this file continues a log; NULL */
	const char *policy_path;       /* hashed into record 1; NULL: none */
	const char *const *db_paths;   /* likewise */
	size_t n_dbs;
	uint32_t checkpoint_every;     /* records between checkpoints; 0: 1000 */
	bool syslog;                   /* each checkpoint also goes to syslog(3) */
};
/* As logchain_new, signing: record 1 is written at once; checkpoints as
 * above.  NULL and a message naming the file on any error (no key, not an
 * Ed25519 key, unreadable policy or database). */
struct logchain *logchain_new_signed(FILE *out, const struct logchain_signing *s, char *err, size_t errlen);
FILE *logchain_stream(struct logchain *lc);
/* Both from the stream's one writer, between lines.
 * A signed checkpoint now, when records were written since the last one
 * and that one (or record 1) is at least older_than_s seconds old: a live
 * log read at any time then has a signature over all but its last
 * seconds of records.  1 written, 0 nothing to do, -1 a write failed. */
int logchain_checkpoint(struct logchain *lc, uint32_t older_than_s);
/* logrotate moved the file: ends it with its final checkpoint, closes it,
 * and goes on in `out' as a new log (new log id; record 1 names the old
 * file's final head as previous_head and states s's policy and
 * databases), through the same stream.  The files then verify in order
 * as one sequence.  On error, err and: -1 before anything was written (a
 * policy or database unreadable; `out' is still the caller's and the old
 * file goes on), -2 after (`out' is the log's, which takes nothing more). */
int logchain_rotate(struct logchain *lc, FILE *out, const struct logchain_signing *s, char *err, size_t errlen);
/* Records written so far and the last chain value; valid after a flush. */
uint64_t logchain_head(const struct logchain *lc, char hex[65]);
/* After the stream is closed. */
void logchain_free(struct logchain *lc);

/*
 * Checks a chained log read from `in` (`name` for messages).  Writes one
 * line to `report`: "NAME: OK, N records, head H", or "NAME:LINE: ..." for
 * the first record removed, changed or out of order.  With `expect_head`,
 * the last record's chain must be that value.  Returns 0 intact, 1
 * tampered, 2 not a chained log or unreadable (the message on `errors`).
 */
int logchain_verify(FILE *in, const char *name, const char *expect_head, FILE *report, FILE *errors);

/* `egressfence keygen --out PREFIX`: PREFIX.key (mode 0600, never over an
 * existing file or through a link) and PREFIX.pub. */
int logchain_keygen_main(int argc, char **argv);

/* `egressfence verify-log [--head H] FILE`: argv[0] is "verify-log". */
int logchain_verify_main(int argc, char **argv);

/* ---- checking for the report (output/): the same verifier as verify-log -- */

typedef struct evp_pkey_st EVP_PKEY;

/* An Ed25519 key in PEM (egressfence keygen); a private key also checks
 * signatures (its public half).  NULL and err naming the file. */
EVP_PKEY *logchain_load_key(const char *path, bool private_key, char *err, size_t errlen);

/* What logchain_check found in one log. */
struct logchain_info {
	int rc;                      /* as logchain_verify: 0 intact, 1 tampered, 2 not chained/unreadable */
	uint64_t line;               /* rc 1: the line the message names, or the last line read */
	uint64_t records;            /* records that chained before the end or the failure */
	char head[65];               /* the chain of the last of them */
	bool is_signed;              /* record 1 is a signed log's header */
	bool sigs_checked;           /* a key was given: each counted checkpoint's signature verified */
	bool closed;                 /* the last checkpoint read is the final one */
	bool has_previous;           /* a rotated log: previous_head below */
	bool other_key;              /* signed, but by another key than the one given */
	uint64_t checkpoints;        /* checkpoints that passed every check made */
	uint64_t last_signed;        /* the record number of the last of them */
	char key_id[33], log_id[33], previous_head[65];
};

/*
 * verify_one as `verify-log [--pubkey] --open FILE` runs it on one file,
 * with what it found in `out`: one line on `report` (verify-log's), errors
 * on `errors`, the same return.  With `key`, the log must be signed by it
 * and every checkpoint's signature must verify; a log that ends without
 * its final checkpoint is not a failure here (out->closed tells).
 */
int logchain_check(FILE *in, const char *name, EVP_PKEY *key, struct logchain_info *out, FILE *report, FILE *errors);

#endif
