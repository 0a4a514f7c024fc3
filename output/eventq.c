/*
 * output/eventq.c -- the event queue (output.h).  One mutex between the
 * daemon's loop and the writer thread, taken once per event (never per
 * packet); the writer copies a batch out under the lock and writes it
 * outside the lock.  A FILE takes every batch (a failed write is counted
 * and the lines are gone); a network sink (internal.h) may take part of
 * one, and the rest stays at the head of the queue for the next try.
 */
#include "output.h"
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SINK_RETRY_MS 50 /* a network output that took nothing is offered the lines again after this */

struct event_queue {
	pthread_mutex_t lock;
	pthread_cond_t wake, drained;
	FILE *out;
	struct event_sink sink;     /* .write set: a network output instead of out */
	char *buf;                  /* a ring of bytes */
	size_t cap, head, len;      /* next write at (head + len) % cap */
	bool stop, writing, poked;
	bool abandon, exited;       /* closing gave up on the rest; the writer has returned */
	event_queue_upkeep_fn upkeep;
	void *upkeep_ctx;
	unsigned period_ms;
	struct timespec next_upkeep; /* CLOCK_MONOTONIC, as `wake' waits */
	struct event_queue_stats st;
	pthread_t thread;
};

static bool upkeep_due(const struct event_queue *q)
{
	struct timespec now;

	if (!q->upkeep)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return q->poked || now.tv_sec > q->next_upkeep.tv_sec ||
	       (now.tv_sec == q->next_upkeep.tv_sec && now.tv_nsec >= q->next_upkeep.tv_nsec);
}

static void upkeep_later(struct event_queue *q)
{
	clock_gettime(CLOCK_MONOTONIC, &q->next_upkeep);
	q->next_upkeep.tv_sec += q->period_ms / 1000;
	q->next_upkeep.tv_nsec += (long)(q->period_ms % 1000) * 1000000L;
	if (q->next_upkeep.tv_nsec >= 1000000000L) {
		q->next_upkeep.tv_sec++;
		q->next_upkeep.tv_nsec -= 1000000000L;
	}
}

static void *writer(void *arg)
{
	struct event_queue *q = arg;
	char *chunk = malloc(q->cap);

	pthread_mutex_lock(&q->lock);
	for (;;) {
		if (q->abandon)
			break;
		if (upkeep_due(q)) {
			bool poked = q->poked;
			q->poked = false;
			q->writing = true;
			pthread_mutex_unlock(&q->lock);
			q->upkeep(q->upkeep_ctx, &q->out, poked);
			pthread_mutex_lock(&q->lock);
			q->writing = false;
			upkeep_later(q);
			continue;
		}
		if (!q->len && q->stop)
			break;
		if (!q->len) {
			if (q->upkeep)
				pthread_cond_timedwait(&q->wake, &q->lock, &q->next_upkeep);
			else
				pthread_cond_wait(&q->wake, &q->lock);
			continue;
		}
		/* Copy out whole lines only: the queue holds whole lines. */
		size_t n = q->len, first = q->cap - q->head < n ? q->cap - q->head : n;
		if (chunk) {
			memcpy(chunk, q->buf + q->head, first);
			memcpy(chunk + first, q->buf, n - first);
		}
		q->writing = true;
		pthread_mutex_unlock(&q->lock);
		size_t lines = 0;
		for (size_t i = 0; chunk && i < n && !q->sink.write; i++)
			lines += chunk[i] == '\n';
		if (q->sink.write) {
			/* What the destination did not take stays queued, tried
			 * again after a pause (the sink paces its reconnects). */
			size_t taken = chunk ? q->sink.write(q->sink.ctx, chunk, n) : 0;
			size_t done = 0;
			for (size_t i = 0; i < taken; i++)
				done += chunk[i] == '\n';
			pthread_mutex_lock(&q->lock);
			q->writing = false;
			q->head = (q->head + taken) % q->cap;
			q->len -= taken;
			q->st.written += done;
			if (!q->len)
				pthread_cond_broadcast(&q->drained);
			if (taken < n && !q->abandon) {
				/* a sleep, not a wait on `wake': every queued event
				 * would cut it short */
				struct timespec pause = {0, SINK_RETRY_MS * 1000000L};
				pthread_mutex_unlock(&q->lock);
				nanosleep(&pause, NULL);
				pthread_mutex_lock(&q->lock);
			}
			continue;
		}
		bool ok = chunk && fwrite(chunk, 1, n, q->out) == n && fflush(q->out) == 0;
		pthread_mutex_lock(&q->lock);
		q->writing = false;
		q->head = (q->head + n) % q->cap;
		q->len -= n;
		if (ok)
			q->st.written += lines;
		else
			q->st.write_errors += lines;
		if (!q->len)
			pthread_cond_broadcast(&q->drained);
	}
	q->exited = true;
	pthread_cond_broadcast(&q->drained);
	pthread_mutex_unlock(&q->lock);
	free(chunk);
	return NULL;
}

static struct event_queue *queue_start(FILE *out, const struct event_sink *sink, size_t cap)
{
	struct event_queue *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->cap = cap ? cap : 4u << 20;
	q->out = out;
	if (sink)
		q->sink = *sink;
	q->buf = malloc(q->cap);
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&q->drained, NULL);
	/* The writer takes no signals: they belong to the daemon's loop
	 * (signalfd), and a thread with them unblocked would take SIGHUP's
	 * default action for the whole process.  It inherits this mask. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = q->buf ? pthread_create(&q->thread, NULL, writer, q) : -1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		free(q->buf);
		free(q);
		return NULL;
	}
	return q;
}

struct event_queue *event_queue_new(FILE *out, size_t cap)
{
	return queue_start(out, NULL, cap);
}

struct event_queue *event_queue_new_sink(const struct event_sink *sink, size_t cap)
{
	return queue_start(NULL, sink, cap);
}

static void ring_copy(struct event_queue *q, const char *p, size_t len)
{
	size_t tail = (q->head + q->len) % q->cap, first = q->cap - tail < len ? q->cap - tail : len;

	memcpy(q->buf + tail, p, first);
	memcpy(q->buf, p + first, len - first);
	q->len += len;
}

bool event_queue_put(struct event_queue *q, const char *line, size_t len, bool is_block)
{
	return event_queue_put_prefixed(q, NULL, 0, line, len, is_block);
}

bool event_queue_put_prefixed(struct event_queue *q, const char *prefix, size_t plen, const char *line, size_t len,
			      bool is_block)
{
	bool queued = false;

	pthread_mutex_lock(&q->lock);
	if (line && plen + len <= q->cap - q->len && !q->stop) {
		if (plen)
			ring_copy(q, prefix, plen);
		ring_copy(q, line, len);
		queued = true;
		pthread_cond_signal(&q->wake);
	} else {
		q->st.dropped++;
		if (is_block)
			q->st.dropped_block++;
	}
	pthread_mutex_unlock(&q->lock);
	return queued;
}

void event_queue_set_upkeep(struct event_queue *q, event_queue_upkeep_fn fn, void *ctx, unsigned period_ms)
{
	pthread_mutex_lock(&q->lock);
	q->upkeep = fn;
	q->upkeep_ctx = ctx;
	q->period_ms = period_ms ? period_ms : 1000;
	upkeep_later(q);
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
}

void event_queue_poke(struct event_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->poked = true;
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
}

void event_queue_stats(struct event_queue *q, struct event_queue_stats *out)
{
	pthread_mutex_lock(&q->lock);
	*out = q->st;
	out->queued_bytes = q->len;
	pthread_mutex_unlock(&q->lock);
}

bool event_queue_drain(struct event_queue *q, unsigned timeout_ms)
{
	struct timespec until;

	if (!q)
		return true;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&q->lock);
	int rc = 0;
	while (q->len && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&q->drained, &q->lock, &until);
	bool empty = !q->len;
	pthread_mutex_unlock(&q->lock);
	return empty;
}

void event_queue_close(struct event_queue *q, unsigned timeout_ms, uint64_t *lost)
{
	*lost = 0;
	if (!q)
		return;
	bool drained = event_queue_drain(q, timeout_ms);
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	if (!drained) {
		for (size_t i = 0; i < q->len; i++)
			*lost += q->buf[(q->head + i) % q->cap] == '\n';
		/* A network writer returns within its timeouts: it is told to
		 * give up on the rest and joined, so its sink can be freed. */
		q->abandon = q->sink.write != NULL;
	}
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
	if (drained || q->abandon) {
		pthread_join(q->thread, NULL);
		pthread_mutex_destroy(&q->lock);
		pthread_cond_destroy(&q->wake);
		pthread_cond_destroy(&q->drained);
		free(q->buf);
		free(q);
	} else {
		/* The writer is stuck in a write the destination never takes; the
		 * process is about to exit, which ends it. */
		pthread_detach(q->thread);
	}
}
