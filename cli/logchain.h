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
 */
#ifndef EF_CLI_LOGCHAIN_H
#define EF_CLI_LOGCHAIN_H

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
FILE *logchain_stream(struct logchain *lc);
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

/* `egressfence verify-log [--head H] FILE`: argv[0] is "verify-log". */
int logchain_verify_main(int argc, char **argv);

#endif
