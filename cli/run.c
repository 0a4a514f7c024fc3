/*
 * cli/run.c -- `egressfence run`, the enforcing daemon, and `egressfence
 * nft`, which prints the ruleset the daemon would load.
 *
 * One thread, one poll loop.  Packets come from the kernel's copies (gate
 * mode, and monitor mode with capture.source nflog: NFLOG group N, "nflog:N",
 * read from its netlink socket in batches by capture/source.c) or from libpcap on capture.interfaces (monitor mode
 * with capture.source interfaces, observe mode) and go through one decoder per source
 * to the gateway (gateway/gateway.h), which classifies them, judges flows
 * and queues the kernel decisions; what it judges comes back here as
 * events.  This file keeps the options, the sources, the signals, the
 * loop and the event lines.
 *
 * The loop reads at most MAX_TURN_FRAMES frames from a source per turn,
 * then runs its timers: the gateway's deadline timer (held flows are judged
 * at decide_within whether or not another packet comes) and the
 * classifier's clock.  A copy flood therefore delays no deadline by more
 * than one turn.  With fail_open, engine_alive is renewed by a thread of its
 * own for as long as the loop keeps turning (struct heartbeat), so fail_open
 * keeps its meaning under load: the gate opens when the engine dies or
 * wedges, never because it is busy.
 *
 * Signals are read from a signalfd in the loop, never handled
 * asynchronously: SIGHUP reloads (policy, databases, prefilter; one
 * transaction; on any error the old state keeps running) and has the
 * event writer open a new --json file when logrotate moved the old one,
 * SIGUSR1 prints the counters, SIGTERM and SIGINT remove the table and
 * exit 0.
 *
 * With --sign-key the event log is chained and signed (output/output.h):
 * the event writer thread is the only writer of the chain, so the timed
 * checkpoints (at most --checkpoint-seconds after a record) and the
 * rotation run there too (log_upkeep); the final checkpoint is written
 * when the stream closes at exit, after the queue drained.  The signed log
 * also carries the engine's counters (output.h's counters record): read
 * by the loop every --checkpoint-seconds, at SIGHUP and at exit, written
 * by the writer thread, never queued.
 */
#include "engine.h"
#include "metrics.h"
#include "notify.h"
#include "../gateway/gateway.h"

#include <errno.h>
#include <getopt.h>
#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>


#define EXIT_ERROR 2
#define MAX_SOURCES 16
#define SNAPLEN 65535
#define TICK_MS 250              /* the loop's timers run at least this often */
#define HEARTBEAT_S 3            /* fail_open: the gate opens this long after the engine stops */
#define HEARTBEAT_EVERY_MS 1000
#define LOOP_STALL_MS 10000      /* fail_open: the loop may not turn this long before the heartbeat stops */
#define LOAD_STALL_MS 120000     /* ... while it loads a ruleset on SIGHUP */
#define MAX_BATCH_FRAMES 256     /* frames read before queued decisions are committed */
#define MAX_TURN_FRAMES 4096     /* frames read from one source before the timers run */
#define CONNTRACK_ACCT "/proc/sys/net/netfilter/nf_conntrack_acct"
#define UPKEEP_MS 1000           /* the event writer's look at checkpoints and rotation */
#define CHECKPOINT_S 60          /* a signed log's records wait at most this long for a signature */
#define METRICS_EVERY_MS 1000    /* the loop publishes its counters to the metrics thread */

/* What a reload replaces, all or nothing. */
struct state {
	struct policy *policy;
	struct geodb *geodb;
	struct prefilter *prefilter;
	struct gateway_settings gw;
	double build_ms;
};

struct source {
	char name[64];
	struct capture *cap;
	struct decoder *dec;
	/* The last turn stopped at its limit, not at an empty source: frames
	 * may be waiting in the capture's own buffer (a batch of NFLOG copies
	 * read whole, a libpcap ring block), where poll() does not see them. */
	bool more;
};

struct counters {
	uint64_t kernel_errors, reloads, reload_failures;
	uint64_t released;       /* held packets sent on (sendto() took the whole datagram) */
	uint64_t release_errors; /* held packets the gateway handed on and not sent (no room, no socket,
				  * commit refused, send failed: held again at output is EPERM) */
};

/*
 * Gate mode: held packets whose own judgement allowed their flow
 * (gateway.h, kernel.release), sent on from the gateway once the commit
 * that carries the allow is in the kernel.  A raw socket (IP_HDRINCL) sends
 * the datagram as the kernel held it; it leaves through the output hook,
 * where the same prefilter and tier chains as forwarded packets judge it,
 * so it passes only as the client's own retransmission would, and its copy
 * comes back as passed.  Bounded: what does not fit waits for the client's
 * retransmission, as before.
 */
#define RELEASE_MAX 64
#define RELEASE_BYTES (256u * 1024u)

struct release_queue {
	int fd4, fd6;
	unsigned n;
	uint32_t used;
	struct {
		uint32_t off, len;
		struct ef_addr dst;
	} pk[RELEASE_MAX];
	uint8_t buf[RELEASE_BYTES];
};

/*
 * fail_open's heartbeat: engine_alive renewed every second on a thread of
 * its own, through a netlink socket of its own, so that no amount of
 * packet work (a copy flood, thousands of flows judged at one deadline, a
 * commit of thousands of decisions) can let it lapse while the engine is
 * working.  It is renewed only while the packet loop turns: a loop that
 * has not come round for LOOP_STALL_MS (LOAD_STALL_MS while a reload loads
 * its ruleset) is taken for wedged, and the gate opens HEARTBEAT_S later,
 * as it does at once when the process dies.  The loop stamps loop_ms; the
 * rest is the thread's.
 */
struct heartbeat {
	struct nft_table *table;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;                  /* under lock */
	_Atomic uint64_t loop_ms;   /* the loop's last turn (mono_ms) */
	_Atomic uint64_t stall_ms;
	_Atomic bool fail_open;     /* the policy's, set by the loop at load and reload */
	_Atomic uint64_t late, errors, withheld;
};

struct daemon {
	const char *config;
	const char *dbs[EF_GEO_MAX_DB];
	size_t n_dbs;
	enum gateway_mode mode;
	bool mode_given, dry_run;
	const char *json_path;
	FILE *json;
	struct outputs *outputs;    /* json and the configured outputs, each with its own thread */
	struct event_queue *events; /* json's queue, among the outputs */
	enum event_format format;   /* --format, else output.format */
	bool format_given;
	struct output_config oc;    /* output.outputs, then --syslog and --redis */
	/* --sign-key: the event log chained and signed (output/output.h).  The
	 * writer thread is the chain's only writer: checkpoints and rotation
	 * run there (log_upkeep), never in the loop. */
	struct logchain_signing sign;
	unsigned long checkpoint_s;
	struct logchain *chain;
	dev_t json_dev;             /* the file json writes to, to see logrotate move it */
	ino_t json_ino;
	/* What a rotated log's first record states, copied by the loop at each
	 * reload and read by the writer thread, under sign_lock. */
	pthread_mutex_t sign_lock;
	char sign_dbs[EF_GEO_MAX_DB][4096];
	size_t n_sign_dbs;
	/* The signed log's counters record (output.h): gathered by the loop,
	 * the only reader of its counters that is safe (pcap_stats and the
	 * gateway's are the loop's), and written by the writer thread, the
	 * chain's writer; `counters' under counters_lock.  Never queued, so a
	 * full queue cannot drop it; one lost in a failed write is stated by
	 * the next, every figure being cumulative. */
	pthread_mutex_t counters_lock;
	struct output_counters counters;
	bool counters_pending;
	double last_counters_ms;
	char host[64], engine_started[40];
	struct state st;
	struct nft_table *table;
	struct gateway *gw;
	struct source src[MAX_SOURCES];
	size_t n_src;
	int sigfd;
	struct release_queue *release; /* gate mode; NULL when the sockets could not be opened */
	bool running;               /* set up, in the loop */
	struct heartbeat hb;
	/* EF_TEST_LOOP_DELAY_MS: the loop sleeps this long after each turn that
	 * read packets, to stand for a loop made slow by its work (or wedged);
	 * tests/e2e_insider.sh's heartbeat tests only.  Read only in a build
	 * with EF_TEST_HOOKS (build/egressfence, never the installed binary):
	 * elsewhere it stays 0. */
	unsigned long test_delay_ms;
	/* EF_TEST_TURN_FRAMES: frames a turn reads from a source at most,
	 * MAX_TURN_FRAMES unless a build with EF_TEST_HOOKS is told fewer
	 * (tests/e2e_monitor_nflog.sh: a turn that ends inside a batch). */
	unsigned turn_frames;
	struct counters c;
	/* --metrics-listen or metrics.listen; systemd's notify socket */
	const char *metrics_listen;
	struct metrics *metrics;
	double last_publish_ms;
	struct notify notify;
};

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...)
{
	va_list ap;

	fputs("egressfence: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- state: policy, databases, prefilter --------------------------------- */

static void state_free(struct state *s)
{
	prefilter_free(s->prefilter);
	geodb_close(s->geodb);
	policy_free(s->policy);
	memset(s, 0, sizeof(*s));
}

static int state_load(const char *config, const char *const *dbs, size_t n_dbs, struct state *s, char *err,
		      size_t errlen)
{
	struct policy_error perr;

	memset(s, 0, sizeof(*s));
	s->policy = policy_load(config, &perr);
	if (!s->policy) {
		snprintf(err, errlen, "%s", perr.msg);
		return -1;
	}
	if (!(s->geodb = open_policy_geodb(s->policy, dbs, n_dbs, err, errlen)))
		goto fail;
	policy_gateway(s->policy, &s->gw);
	double t0 = mono_ms();
	if (!(s->prefilter = prefilter_build(s->policy, s->geodb, err, errlen)))
		goto fail;
	s->build_ms = mono_ms() - t0;
	return 0;
fail:
	state_free(s);
	return -1;
}

static void describe_prefilter(const struct state *s, double load_ms, const char *what)
{
	const struct prefilter *pf = s->prefilter;

	warn("%s: prefilter block tier %zu IPv4 + %zu IPv6 ranges, log tier %zu + %zu; built in %.0f ms, "
	     "loaded in %.0f ms",
	     what, prefilter_ranges(pf, TIER_BLOCK, 4), prefilter_ranges(pf, TIER_BLOCK, 6),
	     prefilter_ranges(pf, TIER_LOG, 4), prefilter_ranges(pf, TIER_LOG, 6), s->build_ms, load_ms);
}

/* ---- events ------------------------------------------------------------------ */

/* The audit's event plus what the daemon did; fields are only ever added
 * (ecs: under "egressfence").  Every output gets it, none is waited for. */
static void write_event(const struct gateway_event *e, void *ctx)
{
	struct daemon *d = ctx;
	const struct ef_flow_record *r = e->rec;
	const struct policy_decision *dec = e->dec;
	char extra[512];
	size_t n = 0;

	n += (size_t)snprintf(extra + n, sizeof(extra) - n, ",\"mode\":\"%s\",\"decided_by\":\"%s\"",
			      gateway_mode_name(d->mode), gateway_judged_by_name(e->by));
	/* observe: the verdict is what gate or monitor mode would do */
	if (d->mode == GATEWAY_OBSERVE)
		n += (size_t)snprintf(extra + n, sizeof(extra) - n, ",\"observe\":true");
	if (e->fates)
		n += (size_t)snprintf(extra + n, sizeof(extra) - n,
				      ",\"packets_out_passed\":%llu,\"bytes_out_passed\":%llu,"
				      "\"packets_out_held\":%llu,\"bytes_out_held\":%llu",
				      (unsigned long long)e->packets_out_passed, (unsigned long long)e->bytes_out_passed,
				      (unsigned long long)e->packets_out_held, (unsigned long long)e->bytes_out_held);
	if (e->final)
		n += (size_t)snprintf(extra + n, sizeof(extra) - n, ",\"final\":true");
	if (e->count_leak)
		n += (size_t)snprintf(extra + n, sizeof(extra) - n,
				      ",\"packets_out_before_block\":%llu,\"bytes_out_before_block\":%llu",
				      (unsigned long long)e->packets_out_before, (unsigned long long)e->bytes_out_before);
	if (e->final)
		n += (size_t)snprintf(extra + n, sizeof(extra) - n,
				      ",\"packets_out_after_block\":%llu,\"bytes_out_after_block\":%llu",
				      (unsigned long long)e->packets_out_after, (unsigned long long)e->bytes_out_after);
	if (dec->verdict == EF_BLOCK && dec->block_remote_seconds)
		snprintf(extra + n, sizeof(extra) - n, ",\"remote_blocked_seconds\":%u", dec->block_remote_seconds);
	outputs_event(d->outputs, r, dec, d->st.geodb, d->mode == GATEWAY_OBSERVE ? "none (observe mode)" : e->action,
		      extra);
}

static void kernel_queue(void *ctx, const struct nft_decision *dec)
{
	struct daemon *d = ctx;

	if (d->table) /* observe mode has none: decisions go nowhere */
		nft_table_queue(d->table, dec);
}

static void kernel_release(void *ctx, const uint8_t *l3, uint32_t len, const struct ef_addr *dst)
{
	struct daemon *d = ctx;
	struct release_queue *q = d->release;

	if (!q || q->n == RELEASE_MAX || len > RELEASE_BYTES - q->used) {
		d->c.release_errors++;
		return;
	}
	memcpy(q->buf + q->used, l3, len);
	q->pk[q->n].off = q->used;
	q->pk[q->n].len = len;
	q->pk[q->n].dst = *dst;
	q->used += len;
	q->n++;
}

/* One queued datagram, whole, or false.  Never waiting: the packet loop
 * does not block on a full socket queue (counted by the caller). */
static bool send_one(const struct release_queue *q, unsigned i)
{
	const uint8_t *pk = q->buf + q->pk[i].off;
	uint32_t len = q->pk[i].len;

	if (q->pk[i].dst.family == 4) {
		struct sockaddr_in to = {.sin_family = AF_INET};
		memcpy(&to.sin_addr, q->pk[i].dst.b, 4);
		return sendto(q->fd4, pk, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)len;
	}
	struct sockaddr_in6 to = {.sin6_family = AF_INET6};
	memcpy(&to.sin6_addr, q->pk[i].dst.b, 16);
	return sendto(q->fd6, pk, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)len;
}

/* After the commit: sent on only when the decisions are in the kernel
 * (else each would be held again, and count as held twice). */
static void send_released(struct daemon *d, bool committed)
{
	struct release_queue *q = d->release;

	for (unsigned i = 0; q && i < q->n; i++) {
		if (committed && send_one(q, i))
			d->c.released++;
		else
			d->c.release_errors++;
	}
	if (q) {
		q->n = 0;
		q->used = 0;
	}
}

static void commit(struct daemon *d)
{
	char err[1024];
	bool committed = true;

	if (d->table && nft_table_queued(d->table) && nft_table_commit(d->table, err, sizeof(err)) != 0) {
		d->c.kernel_errors++;
		warn("%s", err);
		committed = false;
	}
	send_released(d, committed);
}

/* Gate mode: the raw sockets kernel_release() sends through; without them
 * (no CAP_NET_RAW) held packets wait for the client's retransmission. */
static void open_release(struct daemon *d)
{
	struct release_queue *q = calloc(1, sizeof(*q));

	if (!q)
		return;
	q->fd4 = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	q->fd6 = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (q->fd4 < 0 || q->fd6 < 0) {
		warn("cannot open a raw socket (%s): allowed flows' held packets wait for their retransmission",
		     strerror(errno));
		if (q->fd4 >= 0)
			close(q->fd4);
		if (q->fd6 >= 0)
			close(q->fd6);
		free(q);
		return;
	}
	d->release = q;
}

static void close_release(struct daemon *d)
{
	if (!d->release)
		return;
	close(d->release->fd4);
	close(d->release->fd6);
	free(d->release);
	d->release = NULL;
}

static void loop_turned(struct daemon *d);

/* Datagrams whose fragments never all came (timed out, or given up at the
 * end): their bytes left all the same, so they go to their flows as the
 * audit's do (decoder_incomplete), never dropped unseen. */
static void hand_over_incomplete(struct daemon *d, struct source *s, uint64_t now)
{
	struct packet p;

	while (decoder_incomplete(s->dec, &p))
		gateway_packet(d->gw, &p, now);
}

/* Reads what a source has ready, up to MAX_TURN_FRAMES; false when it
 * stopped for good.  Every batch counts as a turn of the loop for the
 * heartbeat, so a long turn of expensive packets is not taken for a wedge. */
static bool drain(struct daemon *d, struct source *s)
{
	struct capture_frame fr;
	struct packet p;
	enum capture_status st = CAPTURE_END;
	unsigned n = 0;
	uint64_t now = (uint64_t)mono_ms();

	while (n < d->turn_frames && (st = capture_next(s->cap, &fr)) == CAPTURE_OK) {
		if (decoder_decode(s->dec, &fr, &p) == DECODE_OK)
			gateway_packet(d->gw, &p, now);
		hand_over_incomplete(d, s, now);
		if (++n % MAX_BATCH_FRAMES == 0) {
			commit(d);
			now = (uint64_t)mono_ms();
			loop_turned(d);
		}
	}
	commit(d);
	s->more = st == CAPTURE_OK;
	if (d->test_delay_ms && n)
		nanosleep(&(struct timespec){.tv_sec = d->test_delay_ms / 1000, .tv_nsec = d->test_delay_ms % 1000 * 1000000},
			  NULL);
	if (st == CAPTURE_ERROR) {
		warn("%s: %s", s->name, capture_error(s->cap));
		return false;
	}
	return true;
}

/* ---- the event log's upkeep (the writer thread) ----------------------------------- */

static void write_counters(struct daemon *d, FILE *out);

/* The loop's copy of the databases a rotated log names (reload replaces them). */
static void note_log_inputs(struct daemon *d)
{
	pthread_mutex_lock(&d->sign_lock);
	d->n_sign_dbs = geodb_count(d->st.geodb);
	for (size_t i = 0; i < d->n_sign_dbs; i++)
		snprintf(d->sign_dbs[i], sizeof(d->sign_dbs[i]), "%s", geodb_path(d->st.geodb, i));
	pthread_mutex_unlock(&d->sign_lock);
}

static bool same_file(struct daemon *d)
{
	struct stat st;

	return stat(d->json_path, &st) == 0 && st.st_dev == d->json_dev && st.st_ino == d->json_ino;
}

/* SIGHUP: logrotate moved the file (postrotate), so a new one is opened at
 * the path.  A file still in place is kept: reopening it would start a
 * second log inside it.  A signed log ends the old file with its final
 * checkpoint and starts the new one from that head. */
static void reopen_log(struct daemon *d, FILE **out)
{
	char err[1024];
	struct stat st;

	if (!d->json_path || *out == stdout || same_file(d))
		return;
	FILE *f = output_open(d->json_path, OUTPUT_APPEND, err, sizeof(err));
	if (!f || fstat(fileno(f), &st) != 0) {
		warn("the event log was moved, and a new one cannot be opened; writing on to the old file: %s", err);
		if (f)
			fclose(f);
		return;
	}
	if (d->chain) {
		const char *dbs[EF_GEO_MAX_DB];
		struct logchain_signing s = d->sign;
		write_counters(d, *out); /* the SIGHUP's, into the file that ends */
		pthread_mutex_lock(&d->sign_lock);
		for (size_t i = 0; i < d->n_sign_dbs; i++)
			dbs[i] = d->sign_dbs[i];
		s.db_paths = dbs;
		s.n_dbs = d->n_sign_dbs;
		int rc = logchain_rotate(d->chain, f, &s, err, sizeof(err));
		pthread_mutex_unlock(&d->sign_lock);
		if (rc == -1) {
			warn("the signed event log was moved and is not rotated, writing on to the old file: %s", err);
			fclose(f);
			return;
		}
		if (rc != 0) /* counted from here as write errors */
			warn("the signed event log could not be rotated: %s", err);
	} else {
		fclose(*out);
		*out = d->json = f;
	}
	d->json_dev = st.st_dev;
	d->json_ino = st.st_ino;
}

static void log_upkeep(void *ctx, FILE **out, bool poked)
{
	struct daemon *d = ctx;

	if (poked)
		reopen_log(d, out);
	if (d->chain)
		write_counters(d, *out);
	if (d->chain && logchain_checkpoint(d->chain, (uint32_t)d->checkpoint_s) < 0)
		warn("a timed checkpoint could not be written to %s: %s", d->json_path, strerror(errno));
}

/* ---- counters ---------------------------------------------------------------- */

/* In the loop: the figures a counters record and the metrics share --
 * packets, flows, each source's capture drops, each output's counts, the
 * table's counters, reloads -- read once, in one place. */
static void read_counters(struct daemon *d, struct output_counters *c, struct gateway_counters *g,
			  struct classifier_stats *cs)
{
	struct nft_counters k;
	char err[512];

	gateway_counters(d->gw, g);
	gateway_classifier_stats(d->gw, cs);
	c->packets = g->packets;
	c->flows = cs->flows;
	for (size_t i = 0; i < d->n_src && i < OUTPUT_COUNTERS_SOURCES; i++) {
		snprintf(c->sources[i].name, sizeof(c->sources[i].name), "%s", d->src[i].name);
		c->sources[i].drops = capture_kernel_drops(d->src[i].cap);
		c->capture_drops += c->sources[i].drops;
		c->n_sources++;
	}
	for (size_t i = 0; i < outputs_count(d->outputs) && i < OUTPUT_COUNTERS_OUTPUTS; i++) {
		struct output_stats os;
		outputs_stats(d->outputs, i, &os);
		snprintf(c->outputs[i].name, sizeof(c->outputs[i].name), "%s", os.name);
		c->outputs[i].written = os.written;
		c->outputs[i].dropped = os.dropped;
		c->outputs[i].dropped_block = os.dropped_block;
		c->outputs[i].write_errors = os.write_errors;
		c->n_outputs++;
	}
	if (d->table && nft_table_counters(d->table, &k, err, sizeof(err)) == 0) {
		c->have_kernel = true;
		c->held = k.held;
		c->copied = k.copied;
		c->refused = k.refused;
	}
	c->reloads = d->c.reloads;
	c->reload_failures = d->c.reload_failures;
}

/* In the loop (or at exit, after it): the counters as print_counters
 * reads them, for the writer thread to put in the signed log. */
static void gather_counters(struct daemon *d, const char *why)
{
	struct output_counters c;
	struct classifier_stats cs = {0};
	struct gateway_counters g = {0};

	if (!d->chain || !d->gw)
		return;
	memset(&c, 0, sizeof(c));
	snprintf(c.host, sizeof(c.host), "%s", d->host);
	snprintf(c.engine_started, sizeof(c.engine_started), "%s", d->engine_started);
	format_rfc3339(now_us(), c.time, sizeof(c.time));
	snprintf(c.why, sizeof(c.why), "%s", why);
	read_counters(d, &c, &g, &cs);
	pthread_mutex_lock(&d->counters_lock);
	/* One slot: a timed record must not replace a SIGHUP's or the exit's
	 * not yet written (the timer runs in the same loop turn as a SIGHUP,
	 * and the rotated file then ended with "interval"); the next interval
	 * comes soon enough. */
	if (!(d->counters_pending && !strcmp(why, "interval") && strcmp(d->counters.why, "interval"))) {
		d->counters = c;
		d->counters_pending = true;
	}
	pthread_mutex_unlock(&d->counters_lock);
}

/* In the writer thread, between writes (or at exit, once it stopped): the
 * latest counters gathered, if not yet written, as a record of the chain. */
static void write_counters(struct daemon *d, FILE *out)
{
	char line[EVENT_LINE_MAX];
	size_t n = 0;

	pthread_mutex_lock(&d->counters_lock);
	if (d->counters_pending)
		n = output_counters_line(&d->counters, line, sizeof(line));
	d->counters_pending = false;
	pthread_mutex_unlock(&d->counters_lock);
	if (n && (fwrite(line, 1, n, out) != n || fflush(out) != 0))
		warn("a counters record could not be written to %s: %s", d->json_path, strerror(errno));
}

static void print_counters(struct daemon *d, const char *when)
{
	struct classifier_stats cs = {0};
	struct gateway_counters g = {0};
	struct nft_counters k = {0};
	uint64_t drops = 0;
	char err[512];
	struct event_queue_stats ev = {0};

	if (d->events)
		event_queue_stats(d->events, &ev);
	if (d->gw) {
		gateway_classifier_stats(d->gw, &cs);
		gateway_counters(d->gw, &g);
	}
	for (size_t i = 0; i < d->n_src; i++)
		drops += capture_kernel_drops(d->src[i].cap);
	if (d->table && nft_table_counters(d->table, &k, err, sizeof(err)) != 0)
		warn("%s", err);
	fprintf(stderr,
		"egressfence: counters (%s): packets=%llu fast_path=%llu flows=%llu flows_active=%llu "
		"allow=%llu log=%llu block=%llu capture_drops=%llu held=%llu copied=%llu refused=%llu "
		"judged_at_deadline=%llu judged_at_end=%llu grace=%llu after_block=%llu rejudged=%llu "
		"framing_broken=%llu revoked=%llu retried_syn=%llu released=%llu release_errors=%llu "
		"heartbeats_late=%llu heartbeats_withheld=%llu "
		"kernel_errors=%llu "
		"reloads=%llu reload_failures=%llu events_written=%llu events_dropped=%llu "
		"block_events_dropped=%llu event_write_errors=%llu\n",
		when, (unsigned long long)g.packets, (unsigned long long)g.fast_path,
		(unsigned long long)cs.flows, (unsigned long long)cs.flows_active,
		(unsigned long long)g.by_verdict[EF_ALLOW], (unsigned long long)g.by_verdict[EF_LOG],
		(unsigned long long)g.by_verdict[EF_BLOCK], (unsigned long long)drops, (unsigned long long)k.held,
		(unsigned long long)k.copied, (unsigned long long)k.refused,
		(unsigned long long)g.judged_at_deadline, (unsigned long long)g.judged_at_end,
		(unsigned long long)g.grace, (unsigned long long)g.after_block, (unsigned long long)g.rejudged,
		(unsigned long long)g.framing_broken, (unsigned long long)g.revoked, (unsigned long long)g.retried_syn,
		(unsigned long long)d->c.released, (unsigned long long)d->c.release_errors,
		(unsigned long long)atomic_load(&d->hb.late), (unsigned long long)atomic_load(&d->hb.withheld),
		(unsigned long long)(d->c.kernel_errors + atomic_load(&d->hb.errors)), (unsigned long long)d->c.reloads,
		(unsigned long long)d->c.reload_failures, (unsigned long long)ev.written,
		(unsigned long long)ev.dropped, (unsigned long long)ev.dropped_block,
		(unsigned long long)ev.write_errors);
	for (size_t i = 1; i < outputs_count(d->outputs); i++) {
		struct output_stats os;
		outputs_stats(d->outputs, i, &os);
		fprintf(stderr, "egressfence: output %s (%s): written=%llu dropped=%llu block_dropped=%llu connected=%s\n",
			os.name, os.type, (unsigned long long)os.written, (unsigned long long)os.dropped,
			(unsigned long long)os.dropped_block, os.connected ? "yes" : "no");
	}
}

/* ---- metrics and systemd (cli/metrics.h, cli/notify.h) ----------------------- */

/* Every judgement, allows included; in the loop, so no lock.  The label
 * is the policy group of the country that decided (or the remote's first
 * country), never the country or the address itself. */
static void count_judgement(const struct ef_flow_record *r, const struct policy_decision *dec,
			    enum gateway_judged_by by, void *ctx)
{
	struct daemon *d = ctx;
	ef_country c;

	if (!d->metrics)
		return;
	c = dec->country ? dec->country : (r->geo.n ? r->geo.set[0] : EF_COUNTRY_NONE);
	metrics_judged(d->metrics, dec->verdict, r->enc, policy_country_group(d->st.policy, c), c == EF_COUNTRY_NONE,
		       dec->rule, ((double)now_us() - (double)r->first_us) / 1e6);
}

/* Once a second from the loop's timers: the counters as print_counters
 * reads them, handed to the metrics thread without waiting for it. */
static void publish_metrics(struct daemon *d)
{
	struct metrics_sample s;
	struct output_counters c;
	struct classifier_stats cs = {0};
	struct gateway_counters g = {0};

	memset(&s, 0, sizeof(s));
	memset(&c, 0, sizeof(c));
	read_counters(d, &c, &g, &cs);
	s.packets = c.packets;
	s.fast_path = g.fast_path;
	s.flows = c.flows;
	s.flows_active = cs.flows_active;
	s.judged_at_deadline = g.judged_at_deadline;
	s.judged_at_end = g.judged_at_end;
	s.rejudged = g.rejudged;
	s.revoked = g.revoked;
	s.released = d->c.released;
	s.release_errors = d->c.release_errors;
	s.have_kernel = c.have_kernel;
	s.held = c.held;
	s.copied = c.copied;
	s.refused = c.refused;
	s.n_sources = c.n_sources < METRICS_MAX_SOURCES ? c.n_sources : METRICS_MAX_SOURCES;
	for (size_t i = 0; i < s.n_sources; i++) {
		snprintf(s.sources[i].name, sizeof(s.sources[i].name), "%s", c.sources[i].name);
		s.sources[i].drops = c.sources[i].drops;
	}
	/* One entry per event output, each with its own queue and counters. */
	s.n_outputs = c.n_outputs < METRICS_MAX_OUTPUTS ? c.n_outputs : METRICS_MAX_OUTPUTS;
	for (size_t i = 0; i < s.n_outputs; i++) {
		snprintf(s.outputs[i].name, sizeof(s.outputs[i].name), "%s", c.outputs[i].name);
		s.outputs[i].written = c.outputs[i].written;
		s.outputs[i].dropped = c.outputs[i].dropped;
		s.outputs[i].dropped_block = c.outputs[i].dropped_block;
		s.outputs[i].write_errors = c.outputs[i].write_errors;
	}
	s.reloads = c.reloads;
	s.reload_failures = c.reload_failures;
	s.kernel_errors = d->c.kernel_errors + atomic_load(&d->hb.errors);
	s.heartbeats_late = atomic_load(&d->hb.late);
	for (int t = 0; t < 2; t++)
		for (int f = 0; f < 2; f++)
			s.prefilter_ranges[t][f] =
				prefilter_ranges(d->st.prefilter, t ? TIER_LOG : TIER_BLOCK, f ? 6 : 4);
	s.n_dbs = geodb_count(d->st.geodb);
	if (s.n_dbs > METRICS_MAX_DBS)
		s.n_dbs = METRICS_MAX_DBS;
	for (size_t i = 0; i < s.n_dbs; i++) {
		snprintf(s.dbs[i].path, sizeof(s.dbs[i].path), "%s", geodb_path(d->st.geodb, i));
		s.dbs[i].build_epoch = geodb_build_epoch(d->st.geodb, i);
	}
	metrics_publish(d->metrics, &s);
}

/* metrics.listen from the policy, unless --metrics-listen named one. */
static int start_metrics(struct daemon *d, char *err, size_t errlen)
{
	const char *listen = d->metrics_listen ? d->metrics_listen : policy_metrics_listen(d->st.policy);

	if (!listen)
		return 0;
	if (!(d->metrics = metrics_start(listen, gateway_mode_name(d->mode), err, errlen)))
		return -1;
	warn("metrics at http://%s/metrics", listen);
	return 0;
}

/* STATUS= for systemctl status: the mode, the sources, the last reload. */
static void status_line(struct daemon *d, const char *what, char *buf, size_t len)
{
	snprintf(buf, len, "%s mode on %s%s; %s", gateway_mode_name(d->mode), d->src[0].name,
		 d->n_src > 1 ? " and more" : "", what);
}

/* ---- loading, reloading ---------------------------------------------------- */

static struct gateway_settings effective(const struct daemon *d, const struct state *s)
{
	struct gateway_settings g = s->gw;

	if (d->mode_given)
		g.mode = d->mode;
	return g;
}

static int load_table(struct daemon *d, struct state *s, enum ruleset_kind kind, double *ms, char *err,
		      size_t errlen)
{
	struct gateway_settings g = effective(d, s);
	char *text = ruleset_text(s->prefilter, s->policy, &g, kind);
	double t0 = mono_ms();
	int rc;

	if (!text) {
		snprintf(err, errlen, "out of memory writing the ruleset");
		return -1;
	}
	for (size_t i = 0; i < g.n_flowtable; i++)
		if (!d->dry_run && if_nametoindex(g.flowtable[i]) == 0) {
			snprintf(err, errlen, "gateway.flowtable names `%s', which is no interface here", g.flowtable[i]);
			free(text);
			return -1;
		}
	rc = nft_table_load(d->table, text, err, errlen);
	*ms = mono_ms() - t0;
	free(text);
	/* The kernel says only ENOENT when it has no flowtables. */
	if (rc != 0 && g.n_flowtable) {
		size_t n = strlen(err);
		snprintf(err + n, errlen - n,
			 " (gateway.flowtable is set: the kernel needs nftables flowtables, CONFIG_NF_FLOW_TABLE and "
			 "CONFIG_NF_FLOW_TABLE_INET; without them remove the key)");
	}
	return rc;
}

static bool same_interfaces(const struct policy *a, const struct policy *b)
{
	if (policy_interface_count(a) != policy_interface_count(b))
		return false;
	for (size_t i = 0; i < policy_interface_count(a); i++)
		if (strcmp(policy_interface(a, i), policy_interface(b, i)))
			return false;
	return true;
}

/* What only a restart can change: the sources and the sets' shapes. */
static bool restart_needed(const struct daemon *d, const struct state *n, char *err, size_t errlen)
{
	const struct gateway_settings *o = &d->st.gw, *g = &n->gw;

	if (!d->mode_given && o->mode != g->mode)
		snprintf(err, errlen, "gateway.mode changed");
	else if (o->nflog_group != g->nflog_group)
		snprintf(err, errlen, "gateway.nflog_group changed");
	else if (o->max_flows != g->max_flows)
		snprintf(err, errlen, "gateway.max_flows changed");
	else if (o->n_flowtable != g->n_flowtable ||
		 memcmp(o->flowtable, g->flowtable, sizeof(o->flowtable[0]) * o->n_flowtable) != 0)
		snprintf(err, errlen, "gateway.flowtable changed");
	else if (d->mode == GATEWAY_MONITOR &&
		 policy_capture_source(d->st.policy) != policy_capture_source(n->policy))
		snprintf(err, errlen, "capture.source changed");
	else if (!policy_reads_nflog(d->st.policy, d->mode) && !same_interfaces(d->st.policy, n->policy))
		snprintf(err, errlen, "capture.interfaces changed");
	else
		return false;
	return true;
}

static void reload(struct daemon *d)
{
	struct state n;
	char err[1024];
	double ms;

	if (state_load(config_path(d->config), d->dbs, d->n_dbs, &n, err, sizeof(err)) != 0) {
		d->c.reload_failures++;
		warn("reload refused, the running policy stays: %s", err);
		return;
	}
	if (restart_needed(d, &n, err, sizeof(err))) {
		d->c.reload_failures++;
		warn("reload refused, the running policy stays: %s, which takes a restart", err);
		state_free(&n);
		return;
	}
	commit(d); /* decisions taken under the old policy go in first */
	/* A long load must not open a fail_open gate; a load that never ends
	 * still does, LOAD_STALL_MS later. */
	loop_turned(d);
	atomic_store(&d->hb.stall_ms, LOAD_STALL_MS);
	ms = 0;
	int loaded = d->table ? load_table(d, &n, RULESET_REPLACE, &ms, err, sizeof(err)) : 0;
	atomic_store(&d->hb.stall_ms, LOOP_STALL_MS);
	loop_turned(d);
	if (loaded != 0) {
		d->c.reload_failures++;
		warn("reload refused, the running policy stays: %s", err);
		state_free(&n);
		return;
	}
	state_free(&d->st);
	d->st = n;
	gateway_set_policy(d->gw, d->st.policy, d->st.geodb, d->st.prefilter, &d->st.gw);
	atomic_store(&d->hb.fail_open, d->mode == GATEWAY_GATE && policy_fail_open(d->st.policy));
	d->c.reloads++;
	describe_prefilter(&d->st, ms, "reloaded");
}

/* ---- set-up ------------------------------------------------------------------ */

static int open_sources(struct daemon *d, char *err, size_t errlen)
{
	if (policy_reads_nflog(d->st.policy, d->mode)) {
		snprintf(d->src[0].name, sizeof(d->src[0].name), "nflog:%u", d->st.gw.nflog_group);
		d->n_src = 1;
	} else {
		size_t n = policy_interface_count(d->st.policy);
		if (n == 0) {
			/* Only observe mode gets here: it loads no table, so
			 * nothing would copy packets to NFLOG. */
			snprintf(err, errlen, "observe mode captures on capture.interfaces, and %s lists none "
					      "(add e.g. `capture: { interfaces: [eth1] }', or use --mode monitor, "
					      "which can read the kernel table's copies)",
				 config_path(d->config));
			return -1;
		}
		if (n > MAX_SOURCES) {
			snprintf(err, errlen, "at most %d capture interfaces, not %zu", MAX_SOURCES, n);
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			snprintf(d->src[i].name, sizeof(d->src[i].name), "%s", policy_interface(d->st.policy, i));
		d->n_src = n;
	}
	for (size_t i = 0; i < d->n_src; i++) {
		if (!(d->src[i].cap = capture_open_live(d->src[i].name, SNAPLEN, err, errlen)))
			return -1;
		if (!(d->src[i].dec = decoder_new(0))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

/* Before anything is opened: a clear message instead of the first EPERM. */
static int check_capabilities(char *err, size_t errlen)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct c[2] = {{0}};
	const uint32_t need = (1u << CAP_NET_ADMIN) | (1u << CAP_NET_RAW);

	if (syscall(SYS_capget, &h, c) == 0 && (c[0].effective & need) == need)
		return 0;
	snprintf(err, errlen, "run needs CAP_NET_ADMIN and CAP_NET_RAW (nftables, NFLOG, capture): "
			      "run it as root, or from deploy/egressfence.service");
	return -1;
}

/* Keeps CAP_NET_ADMIN (nftables, NFLOG) and CAP_NET_RAW (capture), drops
 * the rest from every set, the bounding set included, so nothing this
 * process could exec gets them back. */
static int drop_capabilities(char *err, size_t errlen)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct c[2] = {{0}};
	const uint32_t keep = (1u << CAP_NET_ADMIN) | (1u << CAP_NET_RAW);

	if (syscall(SYS_capget, &h, c) != 0)
		goto fail;
	for (int cap = 0; cap < 64; cap++)
		if (cap != CAP_NET_ADMIN && cap != CAP_NET_RAW && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 &&
		    errno != EINVAL && errno != EPERM)
			goto fail;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	c[0].effective &= keep;
	c[0].permitted &= keep;
	c[0].inheritable = 0;
	c[1].effective = c[1].permitted = c[1].inheritable = 0;
	if (syscall(SYS_capset, &h, c) != 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "cannot drop capabilities: %s", strerror(errno));
	return -1;
}

static int block_signals(struct daemon *d, char *err, size_t errlen)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 || (d->sigfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot set up signals: %s", strerror(errno));
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* The gate bounds what an undecided connection may send (one ClientHello,
 * an SSH key exchange) with conntrack's byte and packet counts, which the
 * kernel keeps only with accounting on; without them those rules never
 * match and such flows are held until their deadline (fail closed).  The
 * setting is per network namespace and counts connections made after it. */
static void enable_conntrack_accounting(void)
{
	FILE *f = fopen(CONNTRACK_ACCT, "r+");
	int c = f ? fgetc(f) : EOF;

	if (c == '1') {
		fclose(f);
		return;
	}
	if (!f || fseek(f, 0, SEEK_SET) != 0 || fputs("1\n", f) == EOF || fclose(f) != 0) {
		warn("cannot turn conntrack accounting on (%s): TLS and SSH to block-tier destinations will "
		     "be held until their deadline; set net.netfilter.nf_conntrack_acct=1",
		     CONNTRACK_ACCT);
		return;
	}
	warn("turned conntrack accounting on (net.netfilter.nf_conntrack_acct=1) for the gate's bounds");
}

/* Loads the ruleset; a table left by an earlier run is taken over with its
 * decisions, or replaced when its shape does not fit. */
static int start_table(struct daemon *d, char *err, size_t errlen)
{
	double ms;

	if (nft_table_exists(d->table)) {
		if (load_table(d, &d->st, RULESET_REPLACE, &ms, err, errlen) == 0) {
			describe_prefilter(&d->st, ms, "took over the existing table");
			return 0;
		}
		warn("the existing table does not fit (%s); replacing it", err);
	}
	if (load_table(d, &d->st, RULESET_CREATE, &ms, err, errlen) != 0)
		return -1;
	describe_prefilter(&d->st, ms, "loaded");
	return 0;
}

/* A gate killed with -9 leaves its table enforcing (fail closed, by
 * design); observe mode must not touch it, but must not let the operator
 * believe nothing enforces either. */
static void warn_stale_table(void)
{
	char err[256];
	struct nft_table *t = nft_table_open(false, err, sizeof(err));

	if (t && nft_table_exists(t))
		warn("table inet egressfence from an earlier run is still loaded and still enforces; observe mode "
		     "leaves it alone: remove it with `nft delete table inet egressfence'");
	nft_table_close(t);
}

/* ---- the loop ------------------------------------------------------------------ */

/* Returns false when the daemon should stop. */
static bool handle_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	if (read(d->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return true;
	switch (si.ssi_signo) {
	case SIGHUP: {
		uint64_t failures = d->c.reload_failures;
		char status[256];
		notify_reloading();
		reload(d);
		status_line(d, d->c.reload_failures > failures ? "the last reload was refused, the old policy runs"
							       : "reloaded", status, sizeof(status));
		notify_ready(status);
		if (d->metrics)
			publish_metrics(d);
		if (d->json_path && strcmp(d->json_path, "-") != 0) {
			if (d->chain) {
				note_log_inputs(d);
				gather_counters(d, "sighup");
			}
			event_queue_poke(d->events); /* logrotate's postrotate */
		}
		return true;
	}
	case SIGUSR1:
		print_counters(d, "SIGUSR1");
		return true;
	}
	return false;
}

static uint64_t mono_ms_u(void)
{
	return (uint64_t)mono_ms();
}

static void loop_turned(struct daemon *d)
{
	atomic_store(&d->hb.loop_ms, mono_ms_u());
}

/* One renewal; false when the kernel refused it. */
static bool renew(struct heartbeat *hb)
{
	char err[512];

	if (nft_table_heartbeat(hb->table, HEARTBEAT_S, err, sizeof(err)) == 0)
		return true;
	atomic_fetch_add(&hb->errors, 1);
	warn("%s", err);
	return false;
}

static void *heartbeat_thread(void *arg)
{
	struct heartbeat *hb = arg;
	uint64_t last = mono_ms_u();
	bool wedged = false;

	pthread_mutex_lock(&hb->lock);
	for (;;) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += HEARTBEAT_EVERY_MS / 1000;
		while (!hb->stop && pthread_cond_timedwait(&hb->wake, &hb->lock, &until) == 0)
			;
		if (hb->stop)
			break;
		pthread_mutex_unlock(&hb->lock);
		uint64_t now = mono_ms_u(), idle = now - atomic_load(&hb->loop_ms);
		if (atomic_load(&hb->fail_open) && idle > atomic_load(&hb->stall_ms)) {
			atomic_fetch_add(&hb->withheld, 1);
			if (!wedged)
				warn("the packet loop has not turned for %llu ms: engine_alive is no longer renewed, "
				     "so fail_open opens the gate in %d s",
				     (unsigned long long)idle, HEARTBEAT_S);
			wedged = true;
		} else if (atomic_load(&hb->fail_open)) {
			if (wedged)
				warn("the packet loop turns again: engine_alive renewed");
			wedged = false;
			if (now - last > 2 * HEARTBEAT_EVERY_MS)
				atomic_fetch_add(&hb->late, 1);
			last = now;
			renew(hb);
		}
		pthread_mutex_lock(&hb->lock);
	}
	pthread_mutex_unlock(&hb->lock);
	return NULL;
}

/* Opens the heartbeat's own socket (before capabilities are dropped) and,
 * with fail_open, renews engine_alive once before the loop starts. */
static int heartbeat_open(struct daemon *d, char *err, size_t errlen)
{
	struct heartbeat *hb = &d->hb;

	if (d->mode != GATEWAY_GATE)
		return 0; /* fail_open is gate mode's */
	if (!(hb->table = nft_table_open(d->dry_run, err, errlen)))
		return -1;
	atomic_store(&hb->stall_ms, LOOP_STALL_MS);
	atomic_store(&hb->fail_open, d->mode == GATEWAY_GATE && policy_fail_open(d->st.policy));
	loop_turned(d);
	if (atomic_load(&hb->fail_open))
		renew(hb);
	return 0;
}

static int heartbeat_start(struct daemon *d, char *err, size_t errlen)
{
	struct heartbeat *hb = &d->hb;
	int rc;

	if (!hb->table)
		return 0;
	pthread_mutex_init(&hb->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&hb->wake, &ca);
	pthread_condattr_destroy(&ca);
	if ((rc = pthread_create(&hb->thread, NULL, heartbeat_thread, hb)) != 0) {
		snprintf(err, errlen, "cannot start the heartbeat thread: %s", strerror(rc));
		return -1;
	}
	hb->started = true;
	return 0;
}

/* Stops renewals before the table goes: nothing may add to a table being
 * removed. */
static void heartbeat_stop(struct daemon *d)
{
	struct heartbeat *hb = &d->hb;

	if (hb->started) {
		pthread_mutex_lock(&hb->lock);
		hb->stop = true;
		pthread_cond_signal(&hb->wake);
		pthread_mutex_unlock(&hb->lock);
		pthread_join(hb->thread, NULL);
		hb->started = false;
	}
	nft_table_close(hb->table);
	hb->table = NULL;
}

static void run_timers(struct daemon *d)
{
	double now = mono_ms();

	gateway_tick(d->gw, (uint64_t)now, now_us());
	commit(d);
	loop_turned(d);
	if (d->metrics && now - d->last_publish_ms >= METRICS_EVERY_MS) {
		d->last_publish_ms = now;
		publish_metrics(d);
	}
	if (d->chain && now - d->last_counters_ms >= (double)d->checkpoint_s * 1000) {
		d->last_counters_ms = now;
		gather_counters(d, "interval");
	}
	notify_watchdog(&d->notify, now);
}

static int loop(struct daemon *d)
{
	struct pollfd fds[MAX_SOURCES + 1];

	fds[0] = (struct pollfd){.fd = d->sigfd, .events = POLLIN};
	for (size_t i = 0; i < d->n_src; i++)
		fds[i + 1] = (struct pollfd){.fd = capture_fd(d->src[i].cap), .events = POLLIN};
	for (;;) {
		bool more = false;
		for (size_t i = 0; i < d->n_src; i++)
			more |= d->src[i].more;
		/* A source with frames left from its last turn is read again at
		 * once: poll() would wait for the next copy to come, which may be
		 * the verdict's own (a held packet's). */
		int n = poll(fds, d->n_src + 1, more ? 0 : TICK_MS);
		if (n < 0 && errno != EINTR) {
			warn("poll: %s", strerror(errno));
			return -1;
		}
		for (size_t i = 0; i < d->n_src; i++)
			if (((n > 0 && fds[i + 1].revents) || d->src[i].more) && !drain(d, &d->src[i]))
				return -1;
		if (n > 0 && fds[0].revents && !handle_signal(d))
			return 0;
		run_timers(d);
	}
}

/* ---- commands ------------------------------------------------------------------ */

static const char run_usage[] =
	"usage: egressfence run [--config FILE] [--db FILE]... [--mode monitor|gate|observe] [--json FILE|-] [--dry-run]\n"
	"                       [--sign-key KEY [--checkpoint-every N] [--checkpoint-seconds S] [--checkpoint-syslog]]\n"
	"                       [--format native|ecs] [--syslog /dev/log|tcp:HOST:PORT]... [--redis HOST:PORT[/KEY]]...\n"
	"                       [--metrics-listen ADDRESS:PORT]\n"
	"       egressfence nft [--config FILE] [--db FILE]... [--mode monitor|gate]\n";

enum { OPT_CONFIG = 'c', OPT_DB = 'd', OPT_JSON = 'j', OPT_MODE = 'M', OPT_DRY_RUN = 'n', OPT_HELP = 'h' };
enum { OPT_SIGN_KEY = 'K', OPT_CHECKPOINT_EVERY = 'E', OPT_CHECKPOINT_SECONDS = 'T', OPT_CHECKPOINT_SYSLOG = 'S' };
enum { OPT_FORMAT = 'O', OPT_SYSLOG = 'Y', OPT_REDIS = 'X' }; /* long options only: not in the optstring */
enum { OPT_METRICS_LISTEN = 'L' };

static const struct option run_options[] = {
	{"config", required_argument, NULL, OPT_CONFIG},
	{"db", required_argument, NULL, OPT_DB},
	{"json", required_argument, NULL, OPT_JSON},
	{"mode", required_argument, NULL, OPT_MODE},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"sign-key", required_argument, NULL, OPT_SIGN_KEY},
	{"checkpoint-every", required_argument, NULL, OPT_CHECKPOINT_EVERY},
	{"checkpoint-seconds", required_argument, NULL, OPT_CHECKPOINT_SECONDS},
	{"checkpoint-syslog", no_argument, NULL, OPT_CHECKPOINT_SYSLOG},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"syslog", required_argument, NULL, OPT_SYSLOG},
	{"redis", required_argument, NULL, OPT_REDIS},
	{"metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};


/* --format, --syslog, --redis: kept apart from output.outputs, which the
 * policy file adds first once it is read (load_outputs). */
static struct output_spec cli_outputs[OUTPUT_MAX];
static size_t n_cli_outputs;

static int output_option(int opt, const char *arg, struct daemon *d)
{
	char err[512];

	if (opt == OPT_FORMAT) {
		if (!event_format_parse(arg, &d->format))
			return usage_error("--format is native or ecs, not `%s'", arg);
		d->format_given = true;
		return 0;
	}
	if (n_cli_outputs == OUTPUT_MAX)
		return usage_error("at most 8 outputs; `%s' is one too many", arg);
	if (!output_spec_from_option(opt == OPT_SYSLOG ? OUTPUT_SYSLOG : OUTPUT_REDIS, arg, &cli_outputs[n_cli_outputs],
				     err, sizeof(err)))
		return usage_error("%s", err);
	n_cli_outputs++;
	return 0;
}

/* The policy file's output section, then the options' outputs; --format
 * wins over output.format. */
static int load_outputs(struct daemon *d, char *err, size_t errlen)
{
	if (output_config_load(config_path(d->config), &d->oc, err, errlen) != 0)
		return -1;
	if (!d->format_given && d->oc.format_given)
		d->format = d->oc.format;
	for (size_t i = 0; i < n_cli_outputs; i++) {
		if (d->oc.n == OUTPUT_MAX) {
			snprintf(err, errlen, "at most %d outputs, counting the policy's output.outputs", OUTPUT_MAX);
			return -1;
		}
		d->oc.spec[d->oc.n++] = cli_outputs[i];
	}
	return 0;
}

static int parse_run_options(int argc, char **argv, const char *allowed, struct daemon *d)
{
	int opt;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+c:d:j:M:nhK:E:T:SL:", run_options, NULL)) != -1) {
		if (opt == OPT_HELP) {
			fputs(run_usage, stdout);
			exit(0);
		}
		int bad = option_error(argv, opt, "cdjMKETOYXL", allowed, run_options);
		if (bad)
			return bad;
		switch (opt) {
		case OPT_CONFIG:
			d->config = optarg;
			break;
		case OPT_DB:
			if (d->n_dbs == EF_GEO_MAX_DB)
				return usage_error("at most 4 databases; `%s' is one too many", optarg);
			d->dbs[d->n_dbs++] = optarg;
			break;
		case OPT_JSON:
			d->json_path = optarg;
			break;
		case OPT_MODE:
			if (!gateway_mode_parse(optarg, &d->mode))
				return usage_error("--mode is monitor, gate or observe, not `%s'", optarg);
			d->mode_given = true;
			break;
		case OPT_METRICS_LISTEN: {
			struct ef_addr a;
			uint16_t port;
			if (!ef_listen_parse(optarg, &a, &port))
				return usage_error("--metrics-listen is ADDRESS:PORT with a numeric address, such as "
						   "127.0.0.1:9813 or [::1]:9813, not `%s'", optarg);
			d->metrics_listen = optarg;
			break;
		}
		case OPT_DRY_RUN:
			d->dry_run = true;
			break;
		case OPT_SIGN_KEY:
			d->sign.key_path = optarg;
			break;
		case OPT_CHECKPOINT_EVERY:
			if ((bad = checkpoint_every_option(optarg, &d->sign.checkpoint_every)))
				return bad;
			break;
		case OPT_CHECKPOINT_SECONDS:
			if (!parse_count(optarg, 86400, &d->checkpoint_s))
				return usage_error("--checkpoint-seconds is a number of seconds from 1 to 86400, not `%s'",
						   optarg);
			break;
		case OPT_CHECKPOINT_SYSLOG:
			d->sign.syslog = true;
			break;
		case OPT_FORMAT:
		case OPT_SYSLOG:
		case OPT_REDIS:
			if ((bad = output_option(opt, optarg, d)))
				return bad;
			break;
		}
	}
	if (optind < argc)
		return usage_error("this command takes no arguments; `%s' is extra", argv[optind]);
	if (!d->sign.key_path && (d->sign.checkpoint_every || d->checkpoint_s || d->sign.syslog))
		return usage_error("%s", "--checkpoint-every, --checkpoint-seconds and --checkpoint-syslog go with --sign-key KEY");
	if (d->sign.key_path && (!d->json_path || !strcmp(d->json_path, "-")))
		return usage_error("%s", "--sign-key needs --json FILE: it signs the event log written there, which "
					 "logrotate can move (SIGHUP)");
	return 0;
}

int cmd_nft(int argc, char **argv)
{
	struct daemon d = {0};
	char err[1024];
	int rc = parse_run_options(argc, argv, "cdM", &d);

	if (rc)
		return rc;
	if (state_load(config_path(d.config), d.dbs, d.n_dbs, &d.st, err, sizeof(err)) != 0) {
		warn("%s", err);
		return EXIT_ERROR;
	}
	struct gateway_settings g = effective(&d, &d.st);
	if (g.mode == GATEWAY_OBSERVE) {
		warn("observe mode loads no ruleset: there is nothing to print (use --mode monitor or gate)");
		state_free(&d.st);
		return EXIT_ERROR;
	}
	char *text = ruleset_text(d.st.prefilter, d.st.policy, &g, RULESET_CREATE);
	if (!text || fputs(text, stdout) == EOF || fflush(stdout) != 0) {
		warn("cannot write the ruleset: %s", text ? strerror(errno) : "out of memory");
		rc = EXIT_ERROR;
	}
	free(text);
	state_free(&d.st);
	return rc;
}

/* --dry-run: everything but the commit, which the kernel checks and drops. */
static int dry_run(struct daemon *d)
{
	char err[1024];
	double ms;

	if (load_table(d, &d->st, RULESET_CREATE, &ms, err, sizeof(err)) != 0) {
		warn("%s", err);
		return EXIT_ERROR;
	}
	describe_prefilter(&d->st, ms, "dry run, the kernel accepted the ruleset");
	return 0;
}

static void shut_down(struct daemon *d, bool remove)
{
	char err[1024];

	if (d->running) {
		for (size_t i = 0; i < d->n_src; i++) {
			decoder_give_up_fragments(d->src[i].dec);
			hand_over_incomplete(d, &d->src[i], (uint64_t)mono_ms());
		}
		gateway_flush(d->gw); /* events for flows never judged */
		/* Everything decided goes out before the counters are final. */
		outputs_drain(d->outputs, 10000);
		print_counters(d, "exit");
		gather_counters(d, "exit");
	}
	if (!outputs_close(d->outputs, 10000, d->json_path))
		d->json = NULL; /* its writer is still inside a write */
	else if (d->chain && d->json)
		write_counters(d, d->json); /* the writer has stopped: before the final checkpoint */
	d->outputs = NULL;
	heartbeat_stop(d);
	if (remove && d->table && nft_table_remove(d->table, err, sizeof(err)) != 0)
		warn("%s", err);
	/* The HTTP thread reads only its snapshot; stopped here so that the
	 * port is free before the process goes. */
	metrics_stop(d->metrics);
	d->metrics = NULL;
	gateway_free(d->gw);
	close_release(d);
	for (size_t i = 0; i < d->n_src; i++) {
		capture_close(d->src[i].cap);
		decoder_free(d->src[i].dec);
	}
	nft_table_close(d->table);
	/* A signed log's final checkpoint is written as its stream closes. */
	if (d->json && d->json != stdout && fclose(d->json) != 0)
		warn("%s: the event log did not close cleanly%s: %s", d->json_path,
		     d->chain ? " (its final checkpoint may be missing)" : "", strerror(errno));
	if (d->json != NULL || !d->chain)
		logchain_free(d->chain);
	if (d->sigfd > 0)
		close(d->sigfd);
	state_free(&d->st);
}

int cmd_run(int argc, char **argv)
{
	struct daemon d = {.sigfd = -1, .sign_lock = PTHREAD_MUTEX_INITIALIZER, .counters_lock = PTHREAD_MUTEX_INITIALIZER};
	char err[1024];
	int rc = parse_run_options(argc, argv, "cdjMnKETSOYXL", &d);
	bool loaded = false;

	if (rc)
		return rc;
	/* Every counter counts from here (the counters record's engine_started). */
	format_rfc3339(now_us(), d.engine_started, sizeof(d.engine_started));
	if (gethostname(d.host, sizeof(d.host) - 1) != 0)
		d.host[0] = 0;
	if (state_load(config_path(d.config), d.dbs, d.n_dbs, &d.st, err, sizeof(err)) != 0)
		goto fail;
	if (!d.mode_given)
		d.mode = d.st.gw.mode;
	/* The unit's ExecStartPre runs --dry-run whatever the mode: in observe
	 * mode the policy and databases loading is all there is to check. */
	if (d.dry_run && d.mode == GATEWAY_OBSERVE) {
		warn("dry run: the policy and databases load; observe mode loads no ruleset for the kernel to check");
		state_free(&d.st);
		return 0;
	}
	if (load_outputs(&d, err, sizeof(err)) != 0)
		goto fail;
	if (check_capabilities(err, sizeof(err)) != 0)
		goto fail;
	/* observe touches no traffic: no table at all, so nothing to take over,
	 * hold or remove, and a kill -9 leaves nothing behind. */
	if (d.mode != GATEWAY_OBSERVE && !(d.table = nft_table_open(d.dry_run, err, sizeof(err))))
		goto fail;
	if (d.mode == GATEWAY_OBSERVE)
		warn_stale_table();
	if (d.dry_run) {
		rc = dry_run(&d);
		shut_down(&d, false);
		return rc;
	}
	/* As root, never through a link planted at the path (issue 8, item 13). */
	d.json = !d.json_path || !strcmp(d.json_path, "-") ? stdout
							   : output_open(d.json_path, OUTPUT_APPEND, err, sizeof(err));
	if (!d.json)
		goto fail;
	if (d.json != stdout) {
		struct stat st;
		if (fstat(fileno(d.json), &st) == 0) {
			d.json_dev = st.st_dev;
			d.json_ino = st.st_ino;
		}
	}
	if (d.sign.key_path) {
		const char *dbs[EF_GEO_MAX_DB];
		d.sign.n_dbs = geodb_count(d.st.geodb);
		for (size_t i = 0; i < d.sign.n_dbs; i++)
			dbs[i] = geodb_path(d.st.geodb, i);
		d.sign.producer = "run";
		d.sign.policy_path = config_path(d.config);
		d.sign.db_paths = dbs;
		if (!(d.chain = logchain_new_signed(d.json, &d.sign, err, sizeof(err)))) {
			fclose(d.json);
			d.json = NULL;
			goto fail;
		}
		d.sign.db_paths = NULL; /* rotation takes them from sign_dbs */
		d.json = logchain_stream(d.chain);
		note_log_inputs(&d);
	}
	if (!d.checkpoint_s)
		d.checkpoint_s = CHECKPOINT_S;
	if (!(d.outputs = outputs_new()) || !(d.events = outputs_add_file(d.outputs, d.json, d.format, 0))) {
		snprintf(err, sizeof(err), "cannot start the event writer: out of memory");
		goto fail;
	}
	for (size_t i = 0; i < d.oc.n; i++)
		if (outputs_add(d.outputs, &d.oc.spec[i], d.format, err, sizeof(err)) != 0)
			goto fail;
	if (d.json != stdout)
		event_queue_set_upkeep(d.events, log_upkeep, &d, UPKEEP_MS);
	/* observe judges as monitor does; kernel_queue has no table to send to */
	struct gateway_config gc = {
		.mode = d.mode == GATEWAY_OBSERVE ? GATEWAY_MONITOR : d.mode, .kernel = {.queue = kernel_queue, .release = kernel_release, .ctx = &d},
		.on_event = write_event, .on_judged = count_judgement, .event_ctx = &d,
	};
	if (!(d.gw = gateway_new(&gc, err, sizeof(err))) || open_sources(&d, err, sizeof(err)) != 0 ||
	    block_signals(&d, err, sizeof(err)) != 0)
		goto fail;
	gateway_set_policy(d.gw, d.st.policy, d.st.geodb, d.st.prefilter, &d.st.gw);
	if (d.mode == GATEWAY_GATE) {
		enable_conntrack_accounting();
		open_release(&d);
	}
	if (d.table && start_table(&d, err, sizeof(err)) != 0)
		goto fail;
	loaded = d.table != NULL;
	d.turn_frames = MAX_TURN_FRAMES;
#ifdef EF_TEST_HOOKS
	if (getenv("EF_TEST_LOOP_DELAY_MS"))
		d.test_delay_ms = strtoul(getenv("EF_TEST_LOOP_DELAY_MS"), NULL, 10);
	if (getenv("EF_TEST_TURN_FRAMES") && strtoul(getenv("EF_TEST_TURN_FRAMES"), NULL, 10) > 0)
		d.turn_frames = (unsigned)strtoul(getenv("EF_TEST_TURN_FRAMES"), NULL, 10);
#endif
	/* After block_signals: the HTTP thread inherits the blocked set, so
	 * SIGTERM and SIGHUP reach only the signalfd. */
	if (heartbeat_open(&d, err, sizeof(err)) != 0 || start_metrics(&d, err, sizeof(err)) != 0 ||
	    drop_capabilities(err, sizeof(err)) != 0 || heartbeat_start(&d, err, sizeof(err)) != 0)
		goto fail;
	d.running = true;
	d.last_counters_ms = mono_ms();
	warn("running in %s mode on %s%s", gateway_mode_name(d.mode), d.src[0].name, d.n_src > 1 ? " and more" : "");
	{
		char status[256];
		notify_init(&d.notify);
		status_line(&d, d.table ? "table inet egressfence loaded" : "no table: traffic is only watched", status,
			    sizeof(status));
		if (d.metrics)
			publish_metrics(&d);
		notify_ready(status);
	}
	if (loop(&d) != 0) {
		/* The rules stay: undecided flows stay held (fail closed). */
		notify_stopping();
		warn("stopping on an error%s", d.table ? "; table inet egressfence stays in place" : "");
		shut_down(&d, false);
		return EXIT_ERROR;
	}
	notify_stopping();
	shut_down(&d, true);
	return 0;
fail:
	warn("%s", err);
	shut_down(&d, loaded);
	return EXIT_ERROR;
}
