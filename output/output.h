/*
 * output/output.h -- everything egressfence writes out, one interface:
 *
 *   event.c     the JSON event, one line per flow: native (the README's
 *               schema) or ECS; community_id.c, the flow's Community ID
 *   event_writer.c  an audit worker's events, formatted and written by a
 *               thread of its own, in order, never dropped
 *   eventq.c    the bounded queue and writer thread each output is written by
 *   outputs.c   several outputs at once (the file, syslog, Redis), each with
 *               its own queue and counters; output_config.c, which ones
 *               (the policy file's `output:', --syslog, --redis);
 *               sink_net.c, the syslog and Redis writers
 *   logchain.c  the hash-chained and signed event log, and its verifier
 *   report.c    the audit record (HTML, CSV), from event logs read back
 *               (event_read.c), printed to PDF (pdf.c)
 *
 * Data goes one way: the pipeline (cli/) hands records and decisions in;
 * nothing here reaches back into capture, classify or the gateway.
 *
 * The audit record is one self-contained HTML report (and a CSV of every
 * flow it lists) built from JSON event logs.
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
struct policy_decision;
struct ef_flow_record;
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

/* What checking one chained log found (logchain_check below,
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

/* ---- 3. findings: the world view ------------------------------------------ */

/* The country shapes of the world view (world-map.txt; see output/worldmap.c).
 * Read when the page is written: a path that does not open, or NULL, gives
 * the bar chart alone with a note saying why, never an error. */
void report_set_map(struct report *r, const char *path);

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

/* ---- output files (output_file.c) ----------------------------------------------- */
enum output_mode {
	OUTPUT_APPEND,	/* create, or add to what is there (run --json) */
	OUTPUT_FRESH,	/* a file nobody else has opened (audit's FILE.partial) */
	OUTPUT_REPLACE	/* create, or truncate what is there (the report's FILE.partial, a PDF) */
};
/* Opens an output file for writing, never through a symbolic link at path
 * (O_NOFOLLOW): a run as root must not write into whatever file a link
 * planted there names.  OUTPUT_FRESH creates the file with O_EXCL, after
 * removing a stale one only when it is a regular file of this user's; a
 * link, a folder, a FIFO or someone else's file there is refused.  Only a
 * regular file (or, for OUTPUT_APPEND, a character device such as
 * /dev/null) is written.  NULL and err (naming path and what is wrong)
 * on failure. */
FILE *output_open(const char *path, enum output_mode mode, char *err, size_t errlen);

/* ---- event formats (event.c) ---------------------------------------------------
 *
 * native: the README's schema, one flat object.  ecs: the Elastic Common
 * Schema (ECS_VERSION), what ECS has no field for under "egressfence". */
enum event_format { EVENT_FORMAT_NATIVE, EVENT_FORMAT_ECS };
#define ECS_VERSION "8.11.0"
/* "native" or "ecs". */
bool event_format_parse(const char *s, enum event_format *out);
/*
 * The event as one line, newline included, in buf; its length, or 0 when
 * it does not fit in cap (EVENT_LINE_MAX always does).  `extra': members
 * the daemon adds (`,"mode":"gate",...'), at the top level in native, under
 * "egressfence" in ecs; NULL for none.
 */
#define EVENT_LINE_MAX 16384
size_t event_format_line(enum event_format f, const struct ef_flow_record *r, const struct policy_decision *d,
			 const struct geodb *db, const char *action_taken, const char *extra, char *buf, size_t cap);

/* Community ID v1 (community_id.c): "1:" and 28 base64 characters.
 * Ports are ICMP's type and code for ICMP and ICMPv6, ignored for
 * protocols without ports.  False when the families differ. */
#define COMMUNITY_ID_LEN 31
struct ef_addr;
bool community_id_v1(const struct ef_addr *src, uint16_t sport, const struct ef_addr *dst, uint16_t dport,
		     uint8_t proto, uint16_t seed, char out[COMMUNITY_ID_LEN]);

/* ---- events (event.c) ------------------------------------------------------ */

/* One JSON object and a newline, in format f.  action_taken is NULL in
 * audits. */
void event_write_json(FILE *out, enum event_format f, const struct ef_flow_record *r,
		      const struct policy_decision *d, const struct geodb *db, const char *action_taken);
/*
 * ---- the audit's event writer (event_writer.c): one worker's events, in order.
 *
 * put() copies the judged record and decision; the events are formatted
 * and written to `out' in the order put, in large writes, by a thread of
 * its own when `threaded' (else by put() itself).  Nothing is dropped:
 * when the thread falls behind, put() waits.  What the record points to
 * (reason strings, the policy's rule names, capture_file_name) and db must
 * stay valid until event_writer_finish() returns.  One producer per writer.
 */
struct event_writer;
/* NULL when out of memory; unthreaded when no thread could be started. */
struct event_writer *event_writer_new(FILE *out, enum event_format f, const struct geodb *db, bool threaded);
void event_writer_put(struct event_writer *w, const struct ef_flow_record *r, const struct policy_decision *d);
/* Writes the rest, flushes out, stops the thread: 0, or the errno of the
 * first write that failed (the events after it were discarded).  Later
 * puts are ignored; later calls return the same. */
int event_writer_finish(struct event_writer *w);
/* Finishes if not yet, and frees; NULL: nothing. */
void event_writer_free(struct event_writer *w);

/* "2024-05-01T12:00:00.123456Z" */
void format_rfc3339(uint64_t us, char *buf, size_t len);
const char *l4_name(uint8_t proto, char *buf, size_t len);
/* "TLSv1.3", "SSLv3", "DTLSv1.2"; NULL for 0. */
const char *tls_version_name(uint16_t v);

/*
 * ---- the event queue (eventq.c): the gateway's event log, written by a thread of its own.
 *
 * The packet path hands finished lines to a bounded queue and never waits
 * for the destination: a slow disk, a full pipe or a stalled log shipper
 * cannot hold packets back.  When the queue is full a line is dropped and
 * counted, block records separately, and the counts are reported with the
 * daemon's counters -- nothing is lost silently.
 */
struct event_queue;

struct event_queue_stats {
	uint64_t written, dropped, dropped_block, write_errors;
	uint64_t queued_bytes;
};

/* Starts the writer; `cap` bytes of lines may wait (0: 4 MiB).  NULL when
 * out of memory or no thread can start. */
struct event_queue *event_queue_new(FILE *out, size_t cap);
/* Queues one line (with its newline) without waiting; false when it was
 * dropped because the queue is full.  A NULL line (one that could not be
 * made) is counted as dropped. */
bool event_queue_put(struct event_queue *q, const char *line, size_t len, bool is_block);
void event_queue_stats(struct event_queue *q, struct event_queue_stats *out);
/* Upkeep of the destination that must not race the writes (a signed
 * log's timed checkpoint, reopening a rotated file): fn runs in the
 * writer thread, between writes, at least every period_ms and soon after
 * each event_queue_poke() (poked true); it may replace the stream lines
 * go to through *out.  Set once, before the first line is queued. */
typedef void (*event_queue_upkeep_fn)(void *ctx, FILE **out, bool poked);
void event_queue_set_upkeep(struct event_queue *q, event_queue_upkeep_fn fn, void *ctx, unsigned period_ms);
void event_queue_poke(struct event_queue *q);
/* Waits up to timeout_ms for the queue to drain; true when it did (or q is NULL). */
bool event_queue_drain(struct event_queue *q, unsigned timeout_ms);
/* Drains (up to timeout_ms), stops the writer and frees the queue; the
 * lines still queued are returned as lost in *lost.  The writer thread is
 * left behind, detached, when the destination never takes its last write. */
void event_queue_close(struct event_queue *q, unsigned timeout_ms, uint64_t *lost);

/*
 * ---- the chained log (logchain.c): tamper evidence for the JSON event log.
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
/*
 * The gateway's counters as a record of its signed event log (event_read.c
 * writes and reads it): what the log cannot show by its events -- packets
 * the kernel dropped before the engine saw them, events an output's queue
 * had no room for -- stated by the engine itself, chained and signed with
 * the events.  One line, members in this order:
 *
 *   {"counters":{"host":..,"engine_started":"<RFC 3339>","time":"<RFC 3339>",
 *     "why":"interval"|"sighup"|"exit","packets":N,"flows":N,"capture_drops":N,
 *     "sources":[{"name":..,"drops":N},...],
 *     "outputs":[{"name":..,"written":N,"dropped":N,"dropped_block":N,"write_errors":N},...],
 *     "held":N,"copied":N,"refused":N,             (gate and monitor mode: the table's)
 *     "reloads":N,"reload_failures":N}}
 *
 * Every figure counts from engine_started (the process's start), not from
 * the log's: a later record replaces an earlier one of the same host and
 * engine_started, so a record lost in a failed write costs nothing but
 * its moment.  capture_drops is the sum of the sources' drops.  It is not
 * an event: no reader counts it as a flow.
 */
#define OUTPUT_COUNTERS_SOURCES 16
#define OUTPUT_COUNTERS_OUTPUTS 9    /* the --json file and OUTPUT_MAX others */
struct output_counters {
	char host[64], engine_started[40], time[40], why[16];
	uint64_t packets, flows, capture_drops;
	size_t n_sources;
	struct {
		char name[64];
		uint64_t drops;
	} sources[OUTPUT_COUNTERS_SOURCES];
	size_t n_outputs;
	struct {
		char name[32];
		uint64_t written, dropped, dropped_block, write_errors;
	} outputs[OUTPUT_COUNTERS_OUTPUTS];
	bool have_kernel;              /* held, copied, refused: the table's (none in observe mode) */
	uint64_t held, copied, refused;
	uint64_t reloads, reload_failures;
};
/* why: "interval" (every --checkpoint-seconds), "sighup" (a reload, and
 * the last record of a file logrotate moved), "exit" (after the last
 * event, before the final checkpoint).  The record as one line, newline
 * included; its length, or 0 when it does not fit in cap (EVENT_LINE_MAX
 * always does). */
size_t output_counters_line(const struct output_counters *c, char *buf, size_t cap);

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

/* One line of a log, read as verify-log reads it: a chained record (its
 * "seq" and "chain" members last and well formed), and of those a signed
 * log's header or checkpoint exactly as logchain.c writes them.  The
 * report reads the log's own records through this, so that what it counts
 * as a header or a checkpoint is what the verifier does. */
enum logchain_line {
	LOGCHAIN_LINE_OTHER,           /* not a chained record */
	LOGCHAIN_LINE_RECORD,          /* a chained record: an event */
	LOGCHAIN_LINE_HEADER,          /* a signed log's record 1 */
	LOGCHAIN_LINE_CHECKPOINT,
};
struct logchain_line_info {
	uint64_t seq;
	char log_id[33], key_id[33];
	bool has_previous;             /* header: previous_head below */
	char previous_head[65];
	uint64_t records;              /* checkpoint: records it signs */
	bool final;
};
enum logchain_line logchain_line_parse(const char *line, size_t len, struct logchain_line_info *out);

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

/* ---- event outputs: where the events go, and what each one did ----------
 *
 * An event goes to every output configured (the --json file, syslog,
 * Redis...), each with its own bounded queue and writer thread: the packet
 * path never waits for any of them.  A line an output's queue has no room
 * for is dropped there, and counted there only.
 *
 * The counters, for metrics and the daemon's counter line: `name' is the
 * output's label -- the configured `name', else its type ("file",
 * "syslog", "redis", with "-2", "-3"... for a second and third of a type);
 * never an address, a path or anything else of unbounded cardinality.
 */
struct outputs;

struct output_stats {
	char name[32];
	const char *type;              /* "file", "syslog", "redis" */
	uint64_t written;              /* events the destination took */
	uint64_t dropped;              /* events the queue had no room for */
	uint64_t dropped_block;        /* of them, block events */
	uint64_t write_errors;         /* events taken from the queue and lost in a failed write */
	uint64_t queued_bytes;         /* waiting now */
	bool connected;                /* a network output's connection is up (a file: true) */
};
/* How many outputs there are, and output i's counters (i < outputs_count). */
size_t outputs_count(const struct outputs *o);
void outputs_stats(struct outputs *o, size_t i, struct output_stats *out);

/* ---- which outputs (outputs.c, output_config.c, sink_net.c) ------------------ */

enum output_type { OUTPUT_FILE, OUTPUT_SYSLOG, OUTPUT_REDIS };
#define OUTPUT_MAX 8

/* One output as configured (the policy file's output.outputs, or --syslog
 * and --redis).  Strings are copied in; what does not apply is empty. */
struct output_spec {
	enum output_type type;
	bool format_given;
	enum event_format format;      /* else output.format, else --format, else native */
	char name[32];                 /* the label in counters; empty: the type */
	char path[108];                /* syslog: a unix socket (default /dev/log) */
	char host[256];                /* syslog over TCP; redis */
	unsigned port;
	bool stream;                   /* syslog: the unix socket is a stream one (found on connecting) */
	unsigned facility;             /* syslog: 0-23, default 3 (daemon) */
	char key[128];                 /* redis: the stream (default egressfence) */
	unsigned long maxlen;          /* redis: XADD MAXLEN ~ this; 0 no trimming */
	size_t queue_bytes;            /* this output's queue; 0: 4 MiB */
};

struct output_config {
	bool format_given;
	enum event_format format;      /* output.format */
	size_t n;
	struct output_spec spec[OUTPUT_MAX];
};

/*
 * Reads the `output:' section of the policy file at path (the policy
 * loader leaves it to this): output.format and output.outputs.  No section
 * is no outputs.  -1 and err as "FILE:LINE:COL: what was expected".
 */
int output_config_load(const char *path, struct output_config *c, char *err, size_t errlen);
/* The same from text in memory; `name' stands for the file in messages. */
int output_config_load_buffer(const char *name, const char *text, size_t len, struct output_config *c, char *err,
			      size_t errlen);
/* --syslog TARGET (a unix socket path, or tcp:HOST:PORT) and --redis
 * HOST:PORT[/KEY]: one output.  False and err (the option's message). */
bool output_spec_from_option(enum output_type type, const char *arg, struct output_spec *s, char *err,
			     size_t errlen);

struct outputs *outputs_new(void);
/* The event log file, written through its own queue (cap bytes; 0 4 MiB):
 * the queue, for its upkeep and SIGHUP poke; NULL when out of memory. */
struct event_queue *outputs_add_file(struct outputs *o, FILE *out, enum event_format f, size_t cap);
/* A network output (syslog, redis); `dflt' is its format unless it names
 * one.  It connects in its own thread: a destination that is down now is
 * no error, its events wait in its queue.  -1 and err when out of memory. */
int outputs_add(struct outputs *o, const struct output_spec *s, enum event_format dflt, char *err, size_t errlen);
/* Queues the event to every output without waiting; `extra' as for
 * event_format_line.  Safe from several threads at once; o NULL: nothing. */
void outputs_event(struct outputs *o, const struct ef_flow_record *r, const struct policy_decision *d,
		   const struct geodb *db, const char *action_taken, const char *extra);
/* Waits up to timeout_ms in all for every queue to drain; true when all did. */
bool outputs_drain(struct outputs *o, unsigned timeout_ms);
/* Drains (up to timeout_ms), stops every writer and frees the set; each
 * output's lost events are said on stderr (file_name names the file
 * output).  False when the file's writer is still inside a write (its
 * stream must then not be closed). */
bool outputs_close(struct outputs *o, unsigned timeout_ms, const char *file_name);

#endif
