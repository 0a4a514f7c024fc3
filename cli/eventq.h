/*
 * cli/eventq.h -- the gateway's event log, written by a thread of its own.
 *
 * The packet path hands finished lines to a bounded queue and never waits
 * for the destination: a slow disk, a full pipe or a stalled log shipper
 * cannot hold packets back.  When the queue is full a line is dropped and
 * counted, block records separately, and the counts are reported with the
 * daemon's counters -- nothing is lost silently.
 */
#ifndef EF_CLI_EVENTQ_H
#define EF_CLI_EVENTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

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

#endif
