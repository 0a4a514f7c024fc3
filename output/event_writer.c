/*
 * output/event_writer.c -- an audit worker's JSON events, formatted and
 * written off the worker (output.h).
 *
 * The worker copies each judged flow (record and decision) into a ring of
 * fixed-size batches; the writer thread takes whole batches, formats their
 * events into a large buffer and writes it out in large writes.  The lock
 * is taken once per batch, never per event.  Unthreaded (no spare core),
 * put() formats into the same buffer itself: the large writes stay.
 *
 * Invariants:
 *  - Events reach the file in the order put() was called: batches are
 *    taken in the order they were handed over, events in a batch in order.
 *  - Nothing is dropped: when every batch of the ring is handed over and
 *    not yet formatted, put() waits for the writer (events are evidence).
 *  - Memory is bounded: RING_BATCHES batches and one TEXT_BYTES buffer.
 *  - A record is copied, not what it points to: the static reason strings,
 *    the policy's rule and exception names, capture_file_name and the
 *    geodb must outlive event_writer_finish().  Formatting only reads
 *    them (and the geodb's file names: no lookup), as several workers
 *    have always done at once.
 *  - The first failed write is kept; every later event is discarded
 *    unformatted (the worker is not held up), and event_writer_finish()
 *    returns that error for the caller to report.
 */
#include "output.h"
#include "../enforce/enforce.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_EVENTS 256        /* ~200 KiB of records: a lock per 256 events */
#define RING_BATCHES 4          /* the worker runs 3 batches ahead before it waits */
#define TEXT_BYTES (1u << 20)   /* written once this is within a line of full */

struct event_item {
	struct ef_flow_record r;
	struct policy_decision d;
};

struct batch {
	unsigned n;
	struct event_item item[BATCH_EVENTS];
};

struct event_writer {
	FILE *out;
	enum event_format format;
	const struct geodb *db;
	char *text;                 /* formatted and not yet written: the formatter's */
	size_t len;
	int error;                  /* errno of the first failed write: the formatter's */
	bool finished;
	/* threaded only */
	bool threaded, closing;
	struct batch *ring;         /* ring[handed % RING_BATCHES] is the one being filled */
	uint64_t handed, taken;     /* batches handed over, and formatted; under lock */
	pthread_mutex_t lock;
	pthread_cond_t ready, room;
	pthread_t thread;
};

static void write_text(struct event_writer *w)
{
	if (w->len && !w->error) {
		errno = 0;
		if (fwrite(w->text, 1, w->len, w->out) != w->len)
			w->error = errno ? errno : EIO;
	}
	w->len = 0;
}

static void format_event(struct event_writer *w, const struct ef_flow_record *r, const struct policy_decision *d)
{
	if (w->error)
		return;
	if (TEXT_BYTES - w->len < EVENT_LINE_MAX) {
		write_text(w);
		if (w->error)
			return;
	}
	/* EVENT_LINE_MAX as event_write_json's buffer: a line that does not
	 * fit there is left out here too (the formats keep lines far below) */
	w->len += event_format_line(w->format, r, d, w->db, NULL, NULL, w->text + w->len, EVENT_LINE_MAX);
}

static void *writer_run(void *arg)
{
	struct event_writer *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->taken == w->handed && !w->closing)
			pthread_cond_wait(&w->ready, &w->lock);
		if (w->taken == w->handed)
			break;
		struct batch *b = &w->ring[w->taken % RING_BATCHES];
		pthread_mutex_unlock(&w->lock);
		for (unsigned i = 0; i < b->n; i++)
			format_event(w, &b->item[i].r, &b->item[i].d);
		pthread_mutex_lock(&w->lock);
		w->taken++;
		pthread_cond_signal(&w->room);
	}
	pthread_mutex_unlock(&w->lock);
	write_text(w);
	return NULL;
}

struct event_writer *event_writer_new(FILE *out, enum event_format f, const struct geodb *db, bool threaded)
{
	struct event_writer *w = calloc(1, sizeof(*w));

	if (!w || !(w->text = malloc(TEXT_BYTES))) {
		free(w);
		return NULL;
	}
	w->out = out;
	w->format = f;
	w->db = db;
	if (!threaded)
		return w;
	/* No thread (no memory for the ring, or none to be had): the worker
	 * formats and writes itself, as it would on a machine without a
	 * spare core. */
	if (!(w->ring = calloc(RING_BATCHES, sizeof(*w->ring))))
		return w;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->ready, NULL);
	pthread_cond_init(&w->room, NULL);
	if (pthread_create(&w->thread, NULL, writer_run, w) != 0) {
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->ready);
		pthread_cond_destroy(&w->room);
		free(w->ring);
		w->ring = NULL;
		return w;
	}
	w->threaded = true;
	return w;
}

/* The batch being filled goes to the writer; waits until the next slot is
 * free unless `last'. */
static void hand_over(struct event_writer *w, bool last)
{
	pthread_mutex_lock(&w->lock);
	w->handed++;
	pthread_cond_signal(&w->ready);
	while (!last && w->handed - w->taken >= RING_BATCHES)
		pthread_cond_wait(&w->room, &w->lock);
	pthread_mutex_unlock(&w->lock);
	if (!last)
		w->ring[w->handed % RING_BATCHES].n = 0; /* formatted: the writer is done with it */
}

void event_writer_put(struct event_writer *w, const struct ef_flow_record *r, const struct policy_decision *d)
{
	if (w->finished)
		return;
	if (!w->threaded) {
		format_event(w, r, d);
		return;
	}
	struct batch *b = &w->ring[w->handed % RING_BATCHES];
	b->item[b->n].r = *r;
	b->item[b->n].d = *d;
	if (++b->n == BATCH_EVENTS)
		hand_over(w, false);
}

int event_writer_finish(struct event_writer *w)
{
	if (!w)
		return 0;
	if (w->finished)
		return w->error;
	w->finished = true;
	if (w->threaded) {
		if (w->ring[w->handed % RING_BATCHES].n)
			hand_over(w, true);
		pthread_mutex_lock(&w->lock);
		w->closing = true;
		pthread_cond_signal(&w->ready);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
	}
	write_text(w);
	if (!w->error) {
		errno = 0;
		if (fflush(w->out) != 0)
			w->error = errno ? errno : EIO;
	}
	return w->error;
}

void event_writer_free(struct event_writer *w)
{
	if (!w)
		return;
	event_writer_finish(w);
	if (w->threaded) {
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->ready);
		pthread_cond_destroy(&w->room);
	}
	free(w->ring);
	free(w->text);
	free(w);
}
