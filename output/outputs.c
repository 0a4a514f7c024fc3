/*
 * output/outputs.c -- several outputs at once: each event goes to every
 * output, each with its own bounded queue, writer thread and counters
 * (output.h, "event outputs").
 *
 * An event is formatted once per format in use, on the caller's stack, and
 * copied into each output's queue; a syslog output's line gets its RFC 5424
 * header in front as it is queued, so the header's time is the event's.
 * Nothing here waits on a destination: a full queue drops the line there
 * and counts it there, and the other outputs still get it.
 *
 * Invariants:
 *  - Labels (output_stats.name) are the configured name or the type with a
 *    number, never an address or a path.
 *  - outputs_event() is safe from several threads at once (audit's workers):
 *    it only reads the set, and each queue has its own lock.
 */
#include "output.h"
#include "internal.h"
#include "../enforce/enforce.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct output {
	struct output_spec spec;
	enum event_format format;
	struct event_queue *q;
	struct event_sink sink;      /* network outputs; .write NULL for a file */
};

struct outputs {
	size_t n;
	struct output out[OUTPUT_MAX];
	char hostname[256];          /* RFC 5424 HOSTNAME: printable ASCII, no spaces */
	char procid[16];
};

static const char *const type_names[] = {[OUTPUT_FILE] = "file", [OUTPUT_SYSLOG] = "syslog", [OUTPUT_REDIS] = "redis"};

struct outputs *outputs_new(void)
{
	struct outputs *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	if (gethostname(o->hostname, sizeof(o->hostname) - 1) != 0 || !o->hostname[0])
		strcpy(o->hostname, "-");
	for (char *p = o->hostname; *p; p++)
		if (*p <= ' ' || *p > '~')
			*p = '_';
	snprintf(o->procid, sizeof(o->procid), "%ld", (long)getpid());
	return o;
}

/* The type's name, numbered from the second of a type on. */
static void label(struct outputs *o, struct output *out)
{
	unsigned same = 0;

	if (out->spec.name[0])
		return;
	for (size_t i = 0; i < o->n; i++)
		same += o->out[i].spec.type == out->spec.type;
	if (same)
		snprintf(out->spec.name, sizeof(out->spec.name), "%s-%u", type_names[out->spec.type], same + 1);
	else
		snprintf(out->spec.name, sizeof(out->spec.name), "%s", type_names[out->spec.type]);
}

struct event_queue *outputs_add_file(struct outputs *o, FILE *out, enum event_format f, size_t cap)
{
	if (o->n == OUTPUT_MAX)
		return NULL;
	struct output *x = &o->out[o->n];
	memset(x, 0, sizeof(*x));
	x->spec.type = OUTPUT_FILE;
	x->format = f;
	label(o, x);
	if (!(x->q = event_queue_new(out, cap)))
		return NULL;
	o->n++;
	return x->q;
}

int outputs_add(struct outputs *o, const struct output_spec *s, enum event_format dflt, char *err, size_t errlen)
{
	if (o->n == OUTPUT_MAX) {
		snprintf(err, errlen, "at most %d outputs", OUTPUT_MAX);
		return -1;
	}
	struct output *x = &o->out[o->n];
	memset(x, 0, sizeof(*x));
	x->spec = *s;
	x->format = s->format_given ? s->format : dflt;
	label(o, x);
	if (s->type == OUTPUT_FILE || !net_sink_new(&x->spec, &x->sink) ||
	    !(x->q = event_queue_new_sink(&x->sink, s->queue_bytes))) {
		if (x->sink.free)
			x->sink.free(x->sink.ctx);
		snprintf(err, errlen, s->type == OUTPUT_FILE ? "a file output is --json FILE" : "out of memory");
		return -1;
	}
	o->n++;
	return 0;
}

/* RFC 5424: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG.  The
 * severity follows the verdict (block warning, log notice, allow info) and
 * MSGID names it, so a relay can route on either without parsing MSG. */
static size_t syslog_header(const struct outputs *o, const struct output_spec *s, enum ef_verdict v, char *buf,
			    size_t cap)
{
	static const unsigned severity[] = {[EF_ALLOW] = 6, [EF_LOG] = 5, [EF_BLOCK] = 4};
	struct timespec now;
	char ts[40];

	clock_gettime(CLOCK_REALTIME, &now);
	format_rfc3339((uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u, ts, sizeof(ts));
	int n = snprintf(buf, cap, "<%u>1 %s %s egressfence %s %s - ", s->facility * 8 + severity[v], ts, o->hostname,
			 o->procid, ef_verdict_name(v));
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

void outputs_event(struct outputs *o, const struct ef_flow_record *r, const struct policy_decision *d,
		   const struct geodb *db, const char *action_taken, const char *extra)
{
	char lines[2][EVENT_LINE_MAX];
	size_t len[2] = {0, 0};
	bool made[2] = {false, false};
	bool is_block = d->verdict == EF_BLOCK;

	if (!o)
		return;
	for (size_t i = 0; i < o->n; i++) {
		struct output *x = &o->out[i];
		int f = x->format;
		if (!made[f]) {
			len[f] = event_format_line(x->format, r, d, db, action_taken, extra, lines[f], sizeof(lines[f]));
			made[f] = true;
		}
		if (!len[f]) {
			event_queue_put(x->q, NULL, 0, is_block); /* did not fit: counted as dropped */
			continue;
		}
		if (x->spec.type == OUTPUT_SYSLOG) {
			char head[512];
			size_t hl = syslog_header(o, &x->spec, d->verdict, head, sizeof(head));
			event_queue_put_prefixed(x->q, head, hl, lines[f], len[f], is_block);
		} else {
			event_queue_put(x->q, lines[f], len[f], is_block);
		}
	}
}

size_t outputs_count(const struct outputs *o)
{
	return o ? o->n : 0;
}

void outputs_stats(struct outputs *o, size_t i, struct output_stats *out)
{
	struct event_queue_stats st;
	const struct output *x = &o->out[i];

	event_queue_stats(x->q, &st);
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", x->spec.name);
	out->type = type_names[x->spec.type];
	out->written = st.written;
	out->dropped = st.dropped;
	out->dropped_block = st.dropped_block;
	out->write_errors = st.write_errors;
	out->queued_bytes = st.queued_bytes;
	out->connected = x->sink.connected ? x->sink.connected(x->sink.ctx) : true;
}

bool outputs_drain(struct outputs *o, unsigned timeout_ms)
{
	struct timespec t0, t1;
	bool all = true;

	if (!o)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < o->n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long spent = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		all &= event_queue_drain(o->out[i].q, spent < (long)timeout_ms ? timeout_ms - (unsigned)spent : 0);
	}
	return all;
}

bool outputs_close(struct outputs *o, unsigned timeout_ms, const char *file_name)
{
	bool file_closed = true;

	if (!o)
		return true;
	outputs_drain(o, timeout_ms);
	for (size_t i = 0; i < o->n; i++) {
		struct output *x = &o->out[i];
		uint64_t lost = 0;
		event_queue_close(x->q, 0, &lost);
		if (lost && x->spec.type == OUTPUT_FILE)
			fprintf(stderr, "egressfence: %llu events could not be written to %s in %u s: the destination "
					"does not take them\n",
				(unsigned long long)lost, file_name ? file_name : "stdout", timeout_ms / 1000);
		else if (lost)
			fprintf(stderr, "egressfence: output %s: %llu events lost: still queued at exit, the destination "
					"did not take them\n",
				x->spec.name, (unsigned long long)lost);
		if (lost && x->spec.type == OUTPUT_FILE)
			file_closed = false; /* its writer is still inside a write */
		if (x->sink.free)
			x->sink.free(x->sink.ctx); /* a network writer was joined */
	}
	free(o);
	return file_closed;
}
