/*
 * cli/engine.c -- the audit pipeline, in one or several workers.
 *
 * One worker: read, decode, classify, judge, in one thread.
 *
 * Several: every worker reads every file itself (each has its own capture,
 * decoder and packet clock), routes every frame, and keeps the packets of
 * the inside hosts it owns (shard_of).  The common frame is routed from a
 * peek at its headers (decoder_peek, which routes as the decoder would or
 * declines) and decoded only by its owner; any other frame every worker
 * decodes.  Reading a mapped file and routing a frame cost a fraction of
 * classifying it, so doing them N times is cheaper than a reader thread
 * that decodes and copies every packet into rings: that thread was the
 * serial part that kept two workers at 1.2x one.  Nothing is shared between workers
 * and there is nothing to wait for.  Each worker's clock is the packet
 * clock of all frames, as one worker's is, so flows age the same whichever
 * worker owns them, and the verdicts do not depend on the number of
 * workers.
 *
 * Flows the classifier relates across addresses -- an FTP data connection
 * and the control connection that announced it -- must meet in one worker
 * too; every worker reads the announcements of all packets (route_*), so
 * all agree where the announced connection goes: where its control
 * connection went.
 *
 * Events of worker 0 go straight to the output; the others' are spooled to
 * temporary files and appended when all are done, so each event line is
 * written whole by one writer.  Each worker hands its events to an event
 * writer (output.h), which formats and writes them on a thread of its own
 * when there is a core to spare for it (events_threaded), in the order the
 * worker judged the flows.
 */
#include "engine.h"

#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#include "../output/output.h"

#define SUMMARY_SLOTS (26 * 26 + 1) /* every two-letter code, and "none" */
#define SUMMARY_MAX_LISTED 200      /* block/log flows listed per worker */

struct country_line {
	uint64_t flows, bytes_out, bytes_in;
};

struct worker {
	unsigned id, n_workers;
	const struct audit_options *o;
	const struct classifier_config *cc;
	const char *const *paths;
	size_t n_paths;
	struct decoder *decoder;
	struct classifier *classifier;
	const struct capture *cap;     /* for the file names: its list never changes */
	FILE *spool;                   /* workers 1..: their events, appended at the end */
	struct event_writer *events;   /* to o->json (worker 0) or the spool */
	char *listed;                  /* block/log flows, for the summary: lines
					* keyed by start time (listed_line) */
	size_t listed_len;
	FILE *listed_out;
	uint64_t listed_count;
	struct country_line by_country[SUMMARY_SLOTS][EF_ENC__COUNT][EF_BLOCK + 1];
	_Atomic uint64_t flows_done;   /* read by the progress line's thread */
	struct audit_totals totals;
	uint64_t unexamined_seen;      /* warn_unexamined()'s state */
	uint32_t unexamined_warned;
	int rc;
	char err[512];
};

/* A warning that names the first frame of each file whose data the decoder
 * could not read: the audit is incomplete there, and its exit code says so. */
static void warn_unexamined(const struct decoder *dec, const struct capture *cap, uint64_t *seen, uint32_t *warned)
{
	const struct decoder_stats *s = decoder_stats(dec);
	uint64_t n = decode_unexamined_count(s->skipped);

	if (n == *seen)
		return;
	*seen = n;
	if (*warned == s->unexamined_file + 1)
		return;
	*warned = s->unexamined_file + 1;
	fprintf(stderr, "egressfence: warning: %s: frame %llu: %s 0x%x is not something this audit can read: "
		"its data was not examined (the summary counts all such frames)\n",
		capture_file_name(cap, s->unexamined_file), (unsigned long long)s->unexamined_index,
		s->unexamined_kind, s->unexamined_value);
}

static unsigned country_slot(ef_country c)
{
	if (!c)
		return 0;
	return (unsigned)((c >> 8) - 'A') * 26u + (unsigned)((c & 0xff) - 'A') + 1u;
}

static ef_country slot_country(unsigned slot)
{
	if (!slot)
		return EF_COUNTRY_NONE;
	slot--;
	return (ef_country)(('A' + slot / 26) << 8 | ('A' + slot % 26));
}

/* "10.0.0.1:443", "[2001:db8::1]:443"; no port for protocols without ports. */
static void endpoint(const struct ef_addr *a, uint16_t port, char *buf, size_t len)
{
	char ip[EF_ADDR_STRLEN];

	ef_addr_format(a, ip, sizeof(ip));
	if (!port)
		snprintf(buf, len, "%s", ip);
	else
		snprintf(buf, len, a->family == 6 ? "[%s]:%u" : "%s:%u", ip, port);
}

static void on_flow_end(struct flow *f, const struct ef_flow_record *rec, void *ctx)
{
	struct worker *w = ctx;
	struct ef_flow_record r = *rec;
	struct policy_decision d;

	policy_judge_flow(w->o->policy, w->o->geodb, &r, &d);
	r.capture_file_name = w->cap ? capture_file_name(w->cap, r.capture_file) : NULL;
	if (w->o->on_judged)
		w->o->on_judged(w->o->on_judged_ctx, rec, &r, &d);
	if (w->events)
		event_writer_put(w->events, &r, &d);
	outputs_event(w->o->outputs, &r, &d, w->o->geodb, NULL, NULL);
	ef_country shown = d.country ? d.country : (r.geo.n ? r.geo.set[0] : EF_COUNTRY_NONE);
	struct country_line *line = &w->by_country[country_slot(shown)][r.enc][d.verdict];
	atomic_fetch_add_explicit(&w->flows_done, 1, memory_order_relaxed);
	line->flows++;
	line->bytes_out += r.bytes_out;
	line->bytes_in += r.bytes_in;
	w->totals.by_verdict[d.verdict]++;
	if (r.evicted)
		w->totals.evicted++;
	if (d.verdict == EF_ALLOW || !w->listed_out)
		return;
	if (w->listed_count++ >= SUMMARY_MAX_LISTED)
		return;
	char src[EF_ADDR_STRLEN + 8], dst[EF_ADDR_STRLEN + 8], cc[3], l4[16], ts[40];
	endpoint(&r.inside, r.inside_port, src, sizeof(src));
	endpoint(&r.remote, r.remote_port, dst, sizeof(dst));
	ef_country_str(shown, cc);
	format_rfc3339(r.first_us, ts, sizeof(ts));
	/* keyed by start time, so the summary can list the flows in that order */
	fprintf(w->listed_out, "%020llu  %-5s %-24s %s %s -> %s %s %s %s %s, %llu bytes out\n",
		(unsigned long long)r.first_us, ef_verdict_name(d.verdict), d.rule ? d.rule : "(default)", ts, src,
		dst, shown ? cc : OUTPUT_NO_COUNTRY, l4_name(r.l4, l4, sizeof(l4)), r.app,
		ef_encryption_name(r.enc), (unsigned long long)r.bytes_out);
}

/*
 * Which worker owns a packet: a hash of the flow's inside host (the end in
 * networks.internal; the lower address when that does not single one
 * out).  Sharding by host rather than by 5-tuple keeps the flows that nDPI
 * and the classifier relate to each other -- FTP control and data, STUN's
 * and the mining detector's per-host caches -- in one worker, so verdicts do
 * not depend on the number of workers.
 */
static uint64_t addr_mix(const struct ef_addr *a)
{
	uint64_t x, y;

	memcpy(&x, a->b, 8);
	memcpy(&y, a->b + 8, 8);
	return ((x ^ a->family) * 0x9e3779b97f4a7c15u ^ y) * 0xc2b2ae3d27d4eb4fu;
}

/*
 * Whether an address is inside, remembered: with several workers each one
 * asks for both ends of every packet, and policy_is_internal walks the
 * internal networks each time (a tenth of a worker's instructions).  A
 * direct-mapped table; a collision only asks the policy again.
 */
#define INSIDE_CACHE 4096u

#define SHARD_CACHE 4096u

struct shard_entry {
	struct ef_addr src, dst;
	bool used;
	uint8_t shard;
};

struct inside_cache {
	struct ef_addr addr[INSIDE_CACHE];
	uint8_t known[INSIDE_CACHE]; /* 0 empty, 1 outside, 2 inside */
	struct shard_entry pairs[SHARD_CACHE]; /* shard_of() */
};

static bool is_inside(struct inside_cache *c, const struct policy *p, const struct ef_addr *a)
{
	unsigned i = (unsigned)(addr_mix(a) >> 52) & (INSIDE_CACHE - 1);

	if (c->known[i] && c->addr[i].family == a->family && !memcmp(c->addr[i].b, a->b, 16))
		return c->known[i] == 2;
	bool in = policy_is_internal(p, a);
	c->addr[i] = *a;
	c->known[i] = in ? 2 : 1;
	return in;
}

/*
 * FNV-1a over the address's 16 bytes.  An IPv4 address fills 4 and leaves
 * 12 zero bytes, over which FNV-1a only multiplies by its prime 12 times:
 * one multiplication by the prime's 12th power (mod 2^32), the same hash.
 */
static uint32_t host_hash(const struct ef_addr *a)
{
	uint32_t h = 0x811c9dc5u, tail4;
	uint64_t tail8;
	int i = 0;

	for (; i < 4; i++)
		h = (h ^ a->b[i]) * 0x01000193u;
	memcpy(&tail4, a->b + 4, 4);
	memcpy(&tail8, a->b + 8, 8);
	if (!tail4 && !tail8)
		h *= 0xd38c7031u; /* 0x01000193^12 */
	else
		for (; i < 16; i++)
			h = (h ^ a->b[i]) * 0x01000193u;
	return h ^ (h >> 16);
}

static unsigned shard_of_pair(const struct policy *p, struct inside_cache *c, const struct packet *pkt, unsigned n)
{
	bool src_in = is_inside(c, p, &pkt->src), dst_in = is_inside(c, p, &pkt->dst);
	const struct ef_addr *host;

	if (src_in != dst_in)
		host = src_in ? &pkt->src : &pkt->dst;
	else
		host = memcmp(pkt->src.b, pkt->dst.b, 16) <= 0 ? &pkt->src : &pkt->dst;
	return (unsigned)(host_hash(host) % n);
}

/* Every worker asks this of every frame, and consecutive frames are mostly
 * of the same few address pairs: the answer is remembered by pair
 * (direct-mapped; a collision only works it out again). */
static unsigned shard_of(const struct policy *p, struct inside_cache *c, const struct packet *pkt, unsigned n)
{
	uint64_t h = addr_mix(&pkt->src) ^ (addr_mix(&pkt->dst) >> 21);
	struct shard_entry *e = &c->pairs[(h >> 52) & (SHARD_CACHE - 1)];

	if (e->used && !memcmp(&e->src, &pkt->src, sizeof(e->src)) && !memcmp(&e->dst, &pkt->dst, sizeof(e->dst)))
		return e->shard;
	*e = (struct shard_entry){pkt->src, pkt->dst, true, (uint8_t)shard_of_pair(p, c, pkt, n)};
	return e->shard;
}

/* ---- related flows in one worker (several workers only) ------------------ */

/*
 * The classifier calls a new TCP connection, opened with a SYN, to an
 * endpoint an FTP control connection announced (227/229 replies, PORT/EPRT
 * commands, see ftp_segment_announcements) within 120 s FTP_DATA -- but
 * only in the worker that saw the announcement.  The data connection may
 * go to another address than the control connection (a server that names
 * another host, FXP, a NAT), so shard_of() would send it elsewhere.
 *
 * So the reader reads every TCP segment's lines as the classifier reads a
 * control connection's, and remembers each announced endpoint with the
 * worker its segment went to.  The first packet of a connection to such an
 * endpoint -- a SYN, or anything else of that 5-tuple, which makes the
 * classifier see an existing flow rather than a new data connection --
 * pins the 5-tuple: a SYN to the announcing worker, anything else to its
 * usual shard.  A pin lasts exactly as long as the classifier's flow would
 * (idle limits of open and closed TCP connections, same packet clock), so
 * every packet of one flow meets one worker, and a later flow of the same
 * 5-tuple is routed afresh, as the classifier starts it afresh.
 *
 * Reading lines of segments that are not FTP only routes more connections
 * by announcement; the verdicts stay those of one worker as long as the
 * endpoint was announced in one worker only.  Left open: a connection's
 * first packet before its endpoint is announced, and one endpoint
 * announced from two workers (the connection goes to the earliest).
 */
#define ROUTE_EXPECT 1024          /* announcements remembered (the classifier keeps 64 each) */
#define ROUTE_EXPECT_US (120u * 1000000u) /* the classifier's FTP_EXPECT_US */
#define ROUTE_PINS 65536u          /* pinned connections, open addressing */
#define ROUTE_PROBES 64u

struct route_expect {
	struct ef_addr addr;
	uint16_t port;
	uint8_t worker;
	bool live;
	uint64_t until_us;
};

struct route_pin {
	struct ef_addr lo, hi;
	uint16_t lo_port, hi_port;
	uint8_t worker;
	bool used, fin_lo, fin_hi, closed;
	uint64_t last_us;
};

struct router {
	struct route_expect expect[ROUTE_EXPECT];
	unsigned next, live;
	uint16_t port_count[65536];   /* live announcements per port: most packets stop here */
	struct route_pin *pins;       /* allocated at the first pin */
	unsigned n_pins;
	uint32_t pin_ports[65536];    /* pins (alive or not) naming each port: a packet
				       * whose two ports are not both named has none */
	uint64_t open_idle_us, closed_idle_us;
	uint64_t unpinned;            /* pins refused: no room (reported, verdicts may differ) */
};

static void router_init(struct router *r, const struct classifier_config *cc)
{
	/* the classifier's defaults for 0, classify.h */
	r->open_idle_us = (uint64_t)(cc->tcp_idle_s ? cc->tcp_idle_s : 300) * 1000000u;
	r->closed_idle_us = (uint64_t)(cc->tcp_closed_s ? cc->tcp_closed_s : 10) * 1000000u;
}

struct announce_ctx {
	struct router *r;
	unsigned worker;
	uint64_t now;
};

static void route_announced(void *ctx, const struct ef_addr *addr, uint16_t port)
{
	struct announce_ctx *a = ctx;
	struct router *r = a->r;
	struct route_expect *e = &r->expect[r->next++ % ROUTE_EXPECT];

	if (e->live) {
		r->port_count[e->port]--;
		r->live--;
	}
	*e = (struct route_expect){*addr, port, (uint8_t)a->worker, true, a->now + ROUTE_EXPECT_US};
	r->port_count[port]++;
	r->live++;
}

/* The earliest live announcement of addr:port, or NULL. */
static struct route_expect *route_expected(struct router *r, const struct ef_addr *addr, uint16_t port,
					   uint64_t now)
{
	if (!r->port_count[port])
		return NULL;
	for (unsigned i = 0; i < ROUTE_EXPECT; i++) {
		struct route_expect *e = &r->expect[(r->next + i) % ROUTE_EXPECT];
		if (e->live && e->port == port && e->until_us >= now && !memcmp(&e->addr, addr, sizeof(*addr)))
			return e;
	}
	return NULL;
}

static void route_consume(struct router *r, struct route_expect *e)
{
	e->live = false;
	r->port_count[e->port]--;
	r->live--;
}

static bool pin_alive(const struct router *r, const struct route_pin *p, uint64_t now)
{
	return p->used && now - p->last_us < (p->closed ? r->closed_idle_us : r->open_idle_us);
}

static uint32_t pin_hash(const struct ef_addr *lo, const struct ef_addr *hi, uint16_t lp, uint16_t hp)
{
	uint32_t h = 0x811c9dc5u;
	for (int i = 0; i < 16; i++)
		h = (h ^ lo->b[i]) * 0x01000193u;
	for (int i = 0; i < 16; i++)
		h = (h ^ hi->b[i]) * 0x01000193u;
	h = (h ^ lp) * 0x01000193u;
	h = (h ^ hp) * 0x01000193u;
	return h ^ (h >> 15);
}

/*
 * Which worker a TCP packet goes to, when pins or announcements say so;
 * `shard` otherwise.  Keeps each pin's idea of whether its connection is
 * closed, as the classifier does (FIN both ways, or RST).
 */
static unsigned route_tcp(struct router *r, const struct packet *pkt, uint64_t now, unsigned shard)
{
	/* What almost every packet meets: no pin names both its ports, no
	 * endpoint is announced.  (The ports' order does not matter here.) */
	if (!r->live && !(r->n_pins && r->pin_ports[pkt->sport] && r->pin_ports[pkt->dport]))
		return shard;

	bool src_lo = memcmp(&pkt->src, &pkt->dst, sizeof(pkt->src)) < 0 ||
		      (!memcmp(&pkt->src, &pkt->dst, sizeof(pkt->src)) && pkt->sport <= pkt->dport);
	const struct ef_addr *lo = src_lo ? &pkt->src : &pkt->dst, *hi = src_lo ? &pkt->dst : &pkt->src;
	uint16_t lp = src_lo ? pkt->sport : pkt->dport, hp = src_lo ? pkt->dport : pkt->sport;
	struct route_pin *free_slot = NULL, *p = NULL;

	if (r->n_pins && r->pin_ports[lp] && r->pin_ports[hp]) {
		uint32_t h = pin_hash(lo, hi, lp, hp);
		for (unsigned i = 0; i < ROUTE_PROBES; i++) {
			struct route_pin *c = &r->pins[(h + i) & (ROUTE_PINS - 1)];
			if (!pin_alive(r, c, now)) {
				if (!free_slot)
					free_slot = c;
				if (!c->used)
					break;
				continue;
			}
			if (c->lo_port == lp && c->hi_port == hp && !memcmp(&c->lo, lo, sizeof(*lo)) &&
			    !memcmp(&c->hi, hi, sizeof(*hi))) {
				p = c;
				break;
			}
		}
	}
	if (!p) {
		struct route_expect *e = NULL;
		bool opening = (pkt->tcp_flags & 0x12) == 0x02; /* SYN without ACK */
		if (!r->live)
			return shard;
		e = route_expected(r, &pkt->dst, pkt->dport, now);
		if (!e && !opening)
			e = route_expected(r, &pkt->src, pkt->sport, now);
		if (!e)
			return shard;
		if (!r->pins && !(r->pins = calloc(ROUTE_PINS, sizeof(*r->pins)))) {
			r->unpinned++;
			return opening ? e->worker : shard;
		}
		if (!free_slot) {
			uint32_t h = pin_hash(lo, hi, lp, hp);
			for (unsigned i = 0; i < ROUTE_PROBES && !free_slot; i++) {
				struct route_pin *c = &r->pins[(h + i) & (ROUTE_PINS - 1)];
				if (!pin_alive(r, c, now))
					free_slot = c;
			}
		}
		if (!free_slot) {
			r->unpinned++;
			return shard;
		}
		p = free_slot;
		if (!p->used) {
			r->n_pins++;
		} else {
			r->pin_ports[p->lo_port]--;
			r->pin_ports[p->hi_port]--;
		}
		r->pin_ports[lp]++;
		r->pin_ports[hp]++;
		*p = (struct route_pin){.lo = *lo, .hi = *hi, .lo_port = lp, .hi_port = hp,
				.worker = (uint8_t)(opening ? e->worker : shard), .used = true};
		if (opening)
			route_consume(r, e);
	}
	p->last_us = now;
	if (pkt->tcp_flags & 0x01) { /* FIN */
		if (src_lo)
			p->fin_lo = true;
		else
			p->fin_hi = true;
	}
	if ((pkt->tcp_flags & 0x04) || (p->fin_lo && p->fin_hi)) /* RST */
		p->closed = true;
	return p->worker;
}

/* Datagrams the decoder gave up on (fragments that never completed): their
 * bytes go to their flows, in the worker that owns them, as a packet's do. */
static void classify_incomplete(struct worker *w, struct router *router, struct inside_cache *inside,
				uint64_t now)
{
	struct packet pkt;
	struct flow *f;
	bool any = false;

	while (decoder_incomplete(w->decoder, &pkt)) {
		any = true;
		if (router) {
			unsigned owner = shard_of(w->o->policy, inside, &pkt, w->n_workers);
			if (pkt.l4 == IPPROTO_TCP)
				owner = route_tcp(router, &pkt, now, owner);
			if (owner != w->id)
				continue;
			classifier_advance(w->classifier, now);
		}
		classifier_packet(w->classifier, &pkt, &f);
	}
	if (any && w->id == 0)
		warn_unexamined(w->decoder, w->cap, &w->unexamined_seen, &w->unexamined_warned);
}

/* The worker a packet goes to; every worker asks it of every packet, in
 * order, so all keep the same routes. */
static unsigned route_packet(struct worker *w, struct router *router, struct inside_cache *inside,
			     const struct packet *pkt, uint64_t now)
{
	unsigned owner = shard_of(w->o->policy, inside, pkt, w->n_workers);

	if (pkt->l4 == IPPROTO_TCP) {
		owner = route_tcp(router, pkt, now, owner);
		if (pkt->payload_len) {
			struct announce_ctx a = {router, owner, now};
			ftp_segment_announcements(pkt, route_announced, &a);
		}
	}
	return owner;
}

/*
 * A worker: reads and decodes every frame of every file, and classifies the
 * packets of the inside hosts it owns -- all of them when it is the only
 * one.  Workers 1.. run in threads of their own, worker 0 in the caller's.
 */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct capture_frame frame;
	struct packet pkt;
	struct flow *f;
	enum capture_status st;
	struct packet_clock clock = {0};
	uint64_t now = 0;
	struct router *router = NULL;
	struct inside_cache *inside = NULL;
	struct capture *cap = capture_open_files(w->paths, w->n_paths, w->err, sizeof(w->err));

	if (!cap) {
		w->rc = -1;
		return NULL;
	}
	if (w->n_workers > 1 &&
	    (!(router = calloc(1, sizeof(*router))) || !(inside = calloc(1, sizeof(*inside))))) {
		snprintf(w->err, sizeof(w->err), "out of memory");
		w->rc = -1;
		free(router);
		capture_close(cap);
		return NULL;
	}
	if (router)
		router_init(router, w->cc);
	w->cap = cap;
	while ((st = capture_next(cap, &frame)) != CAPTURE_END) {
		if (st == CAPTURE_ERROR) {
			if (w->id == 0)
				fprintf(stderr, "egressfence: warning: %s\n", capture_error(cap));
			continue;
		}
		if (!router) {
			/* Every frame moves the clock, decoded or not, as it
			 * does for several workers. */
			enum decode_result dr = decoder_decode(w->decoder, &frame, &pkt);
			classify_incomplete(w, NULL, NULL, 0);
			if (dr != DECODE_OK) {
				warn_unexamined(w->decoder, cap, &w->unexamined_seen, &w->unexamined_warned);
				classifier_tick(w->classifier, frame.ts_us);
				continue;
			}
			classifier_packet(w->classifier, &pkt, &f);
			w->totals.packets++;
			continue;
		}
		now = packet_clock_update(&clock, frame.ts_us);
		/* Most frames are another worker's: the peek routes them without
		 * decoding; the rest, and whatever it declines, are decoded whole.
		 * Routing before decoding keeps the order of route_tcp()'s calls:
		 * a frame the peek accepts is no fragment, so its decode hands on
		 * no datagram given up (classify_incomplete drained them all). */
		unsigned owner = 0;
		bool peeked = decoder_peek(&frame, &pkt);
		if (peeked && (owner = route_packet(w, router, inside, &pkt, now)) != w->id) {
			decoder_pass(w->decoder, &frame);
			continue;
		}
		enum decode_result dr = decoder_decode(w->decoder, &frame, &pkt);
		classify_incomplete(w, router, inside, now);
		if (dr != DECODE_OK) {
			if (w->id == 0) /* every worker decodes every frame; one warns */
				warn_unexamined(w->decoder, cap, &w->unexamined_seen, &w->unexamined_warned);
			continue;
		}
		if (!peeked)
			owner = route_packet(w, router, inside, &pkt, now);
		if (owner != w->id)
			continue;
		classifier_advance(w->classifier, now);
		classifier_packet(w->classifier, &pkt, &f);
		w->totals.packets++;
	}
	decoder_give_up_fragments(w->decoder);
	classify_incomplete(w, router, inside, now);
	classifier_flush(w->classifier);
	/* Every event written before the capture goes: its file names are
	 * the events' capture_file. */
	int werr = event_writer_finish(w->events);
	if (werr) {
		snprintf(w->err, sizeof(w->err), "cannot write events: %s", strerror(werr));
		w->rc = -1;
	}
	if (router && router->unpinned && w->id == 0)
		fprintf(stderr, "egressfence: warning: %llu connections to announced FTP data endpoints could not be "
			"kept with their control connection's worker (table full); their verdicts may differ from "
			"--workers 1\n", (unsigned long long)router->unpinned);
	if (router)
		free(router->pins);
	free(router);
	free(inside);
	w->totals.failed_files = capture_failed_files(cap);
	w->cap = NULL;
	capture_close(cap);
	return NULL;
}

static int by_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The listed flows of every worker, by start time: each line starts with
 * its flow's start as 20 digits, which sort as the times do and are cut
 * off when printed. */
static void print_listed(FILE *out, struct worker *ws, unsigned n)
{
	size_t count = 0, k = 0;

	for (unsigned i = 0; i < n; i++)
		for (size_t j = 0; j < ws[i].listed_len; j++)
			count += ws[i].listed[j] == '\n';
	char **lines = count ? malloc(count * sizeof(*lines)) : NULL;
	if (!lines) {
		for (unsigned i = 0; i < n; i++) /* out of memory: unsorted, still complete */
			for (char *p = ws[i].listed; p && p < ws[i].listed + ws[i].listed_len; p = strchr(p, '\n') + 1)
				fprintf(out, "%.*s", (int)(strchr(p, '\n') + 1 - p - 20), p + 20);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		for (char *p = ws[i].listed; k < count && p < ws[i].listed + ws[i].listed_len; p = strchr(p, '\n') + 1)
			lines[k++] = p;
	qsort(lines, k, sizeof(*lines), by_line);
	for (size_t j = 0; j < k; j++)
		fprintf(out, "%.*s", (int)(strchr(lines[j], '\n') + 1 - lines[j] - 20), lines[j] + 20);
	free(lines);
}

static void print_summary(FILE *out, struct worker *ws, unsigned n, const struct audit_totals *t,
			  const char *const *paths, size_t n_paths)
{
	uint64_t skipped = 0;

	for (int i = 0; i < SKIP__COUNT; i++)
		skipped += t->skipped[i];
	fprintf(out, "egressfence audit of %zu path%s: %llu frames, %llu IP packets, %llu flows", n_paths,
		n_paths == 1 ? "" : "s", (unsigned long long)t->frames, (unsigned long long)t->packets,
		(unsigned long long)t->flows);
	if (t->evicted)
		fprintf(out, " (%llu ended early by the flow table bound)", (unsigned long long)t->evicted);
	fputc('\n', out);
	if (skipped) {
		fprintf(out, "frames not decoded: %llu (", (unsigned long long)skipped);
		const char *sep = "";
		for (int i = 0; i < SKIP__COUNT; i++) {
			if (t->skipped[i]) {
				fprintf(out, "%s%s %llu", sep, decode_skip_reason_name((enum decode_skip_reason)i),
					(unsigned long long)t->skipped[i]);
				sep = ", ";
			}
		}
		fputs(")\n", out);
	}
	if (decode_unexamined_count(t->skipped))
		fprintf(out, "WARNING: %llu frames carried a protocol this audit cannot read: their data was NOT "
			"examined, and the verdicts below cover only the rest (see the warnings on stderr)\n",
			(unsigned long long)decode_unexamined_count(t->skipped));
	fprintf(out, "verdicts: %llu block, %llu log, %llu allow\n\n", (unsigned long long)t->by_verdict[EF_BLOCK],
		(unsigned long long)t->by_verdict[EF_LOG], (unsigned long long)t->by_verdict[EF_ALLOW]);
	fprintf(out, "%-8s %-10s %-7s %10s %16s %16s\n", "country", "encryption", "verdict", "flows", "bytes out",
		"bytes in");
	for (unsigned s = 0; s < SUMMARY_SLOTS; s++) {
		for (int e = EF_ENC__COUNT - 1; e >= 0; e--) {
			for (int v = EF_BLOCK; v >= EF_ALLOW; v--) {
				struct country_line sum = {0};
				for (unsigned i = 0; i < n; i++) {
					sum.flows += ws[i].by_country[s][e][v].flows;
					sum.bytes_out += ws[i].by_country[s][e][v].bytes_out;
					sum.bytes_in += ws[i].by_country[s][e][v].bytes_in;
				}
				if (!sum.flows)
					continue;
				char cc[3];
				ef_country_str(slot_country(s), cc);
				fprintf(out, "%-8s %-10s %-7s %10llu %16llu %16llu\n", s ? cc : OUTPUT_NO_COUNTRY,
					ef_encryption_name((enum ef_encryption)e), ef_verdict_name((enum ef_verdict)v),
					(unsigned long long)sum.flows, (unsigned long long)sum.bytes_out,
					(unsigned long long)sum.bytes_in);
			}
		}
	}
	uint64_t listed = 0;
	for (unsigned i = 0; i < n; i++)
		listed += ws[i].listed_count;
	if (!listed)
		return;
	fprintf(out, "\nflows blocked or logged, by start time (verdict, rule, start, inside -> remote, country, "
		     "protocol, app, encryption):\n");
	print_listed(out, ws, n);
	uint64_t shown = 0;
	for (unsigned i = 0; i < n; i++)
		shown += ws[i].listed_count < SUMMARY_MAX_LISTED ? ws[i].listed_count : SUMMARY_MAX_LISTED;
	if (shown < listed)
		fprintf(out, "  ... and %llu more: every flow is in the JSON events (--json)\n",
			(unsigned long long)(listed - shown));
}

/* ---- the progress line ----------------------------------------------------
 *
 * On a terminal only, for audits that run longer than EF_PROGRESS_AFTER_MS
 * (2 s unless the environment says otherwise): files and bytes read, flows
 * judged, rate, time left, redrawn once a second on stderr.  The reading
 * loops are not touched: how far the reader is comes from the kernel's
 * offset of the capture file it has open (/proc/self/fdinfo), and flows
 * from each worker's atomic count, so the packet path pays nothing. */

struct progress {
	struct worker *ws;
	unsigned n_workers;
	char **files;          /* captures, folders expanded, as real paths */
	uint64_t *sizes, total;
	size_t n_files;
	_Atomic bool stop;
	bool shown;
	pthread_t thread;
};

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void progress_add(struct progress *p, const char *path)
{
	struct stat st;
	char *real = realpath(path, NULL);
	char **f = realloc(p->files, (p->n_files + 1) * sizeof(*f));
	uint64_t *z = f ? realloc(p->sizes, (p->n_files + 1) * sizeof(*z)) : NULL;

	if (f)
		p->files = f;
	if (z)
		p->sizes = z;
	if (!real || !f || !z || stat(real, &st) != 0) {
		free(real);
		return;
	}
	p->files[p->n_files] = real;
	p->sizes[p->n_files++] = (uint64_t)st.st_size;
	p->total += (uint64_t)st.st_size;
}

/* Which capture the reader has open, and its offset: -1 when none. */
static long progress_position(const struct progress *p, uint64_t *pos)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long found = -1;

	while (d && found < 0 && (e = readdir(d))) {
		char link[300], target[4096];
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		for (size_t i = 0; i < p->n_files && found < 0; i++) {
			if (strcmp(target, p->files[i]) != 0)
				continue;
			char info[300], line[128];
			snprintf(info, sizeof(info), "/proc/self/fdinfo/%s", e->d_name);
			FILE *f = fopen(info, "r");
			unsigned long long v;
			while (f && fgets(line, sizeof(line), f))
				if (sscanf(line, "pos: %llu", &v) == 1) {
					*pos = v;
					found = (long)i;
				}
			if (f)
				fclose(f);
		}
	}
	if (d)
		closedir(d);
	return found;
}

static void progress_draw(struct progress *p, double elapsed, bool done)
{
	uint64_t flows = 0, pos = 0, bytes = p->total;
	size_t file = p->n_files;

	for (unsigned i = 0; i < p->n_workers; i++)
		flows += atomic_load_explicit(&p->ws[i].flows_done, memory_order_relaxed);
	if (!done) {
		long f = progress_position(p, &pos);
		if (f < 0)
			return; /* between files */
		file = (size_t)f + 1;
		bytes = pos;
		for (long i = 0; i < f; i++)
			bytes += p->sizes[i];
	}
	double mib = (double)bytes / 1048576.0, rate = elapsed > 0 ? mib / elapsed : 0;
	fprintf(stderr, "\r\033[Kegressfence: %zu/%zu files, %.1f/%.1f MiB, %llu flows, %.1f MiB/s", file, p->n_files,
		mib, (double)p->total / 1048576.0, (unsigned long long)flows, rate);
	if (done)
		fprintf(stderr, ", done in %.1f s\n", elapsed);
	else if (rate > 0)
		fprintf(stderr, ", %.0f s left", ((double)p->total / 1048576.0 - mib) / rate);
	fflush(stderr);
	p->shown = true;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void *progress_run(void *arg)
{
	struct progress *p = arg;
	struct timespec t0;
	const char *env = getenv("EF_PROGRESS_AFTER_MS");
	double after = env && *env ? atof(env) / 1000.0 : 2.0, next = after;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!atomic_load(&p->stop)) {
		struct timespec nap = {0, 50 * 1000000};
		nanosleep(&nap, NULL);
		double now = seconds_since(&t0);
		if (now >= next) {
			progress_draw(p, now, false);
			next = now + 1.0;
		}
	}
	if (p->shown || seconds_since(&t0) >= after)
		progress_draw(p, seconds_since(&t0), true);
	return NULL;
}

/* Started only when stderr is a terminal; false when not started. */
static bool progress_start(struct progress *p, struct worker *ws, unsigned nw, const char *const *paths, size_t n)
{
	memset(p, 0, sizeof(*p));
	if (!isatty(STDERR_FILENO))
		return false;
	p->ws = ws;
	p->n_workers = nw;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(paths[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
			progress_add(p, paths[i]);
			continue;
		}
		struct dirent **names;
		int k = scandir(paths[i], &names, NULL, name_cmp);
		for (int j = 0; j < k; j++) {
			char path[4096];
			struct stat fs;
			if (names[j]->d_name[0] != '.' &&
			    snprintf(path, sizeof(path), "%s/%s", paths[i], names[j]->d_name) < (int)sizeof(path) &&
			    stat(path, &fs) == 0 && S_ISREG(fs.st_mode))
				progress_add(p, path);
			free(names[j]);
		}
		if (k >= 0)
			free(names);
	}
	return pthread_create(&p->thread, NULL, progress_run, p) == 0;
}

static void progress_stop(struct progress *p, bool started)
{
	if (started) {
		atomic_store(&p->stop, true);
		pthread_join(p->thread, NULL);
	}
	for (size_t i = 0; i < p->n_files; i++)
		free(p->files[i]);
	free(p->files);
	free(p->sizes);
}

/*
 * Whether each worker's events get a writer thread.  It takes the
 * formatting and the writes off the worker (bench-x20, one worker: the
 * worker's own CPU 2.75-2.81 s with it, the writer 0.36-0.41 s; 3.35-3.58 s
 * without), which pays only when the thread has a core to itself: with as
 * many workers as cores, the writers take their time from the workers
 * (two workers on two cores, 12 runs each: medians 4.29 s wall, 4.23 s CPU
 * with writer threads, 4.35 s and 4.39 s without -- no difference beyond
 * the noise, so no threads there).
 * EF_AUDIT_EVENT_THREADS=0 or 1 decides instead (tests, measurements).
 */
static bool events_threaded(unsigned n_workers)
{
	const char *env = getenv("EF_AUDIT_EVENT_THREADS");
	cpu_set_t set;
	long cpus;

	if (env && *env)
		return strcmp(env, "0") != 0;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		cpus = CPU_COUNT(&set);
	else
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus > 0 && (long)n_workers < cpus;
}

static int append_spool(FILE *to, FILE *spool)
{
	char buf[1 << 16];
	size_t n;

	rewind(spool);
	while ((n = fread(buf, 1, sizeof(buf), spool)) > 0)
		if (fwrite(buf, 1, n, to) != n)
			return -1;
	return ferror(spool) ? -1 : 0;
}

int engine_audit(const struct audit_options *o, const char *const *paths, size_t n,
		 struct audit_totals *totals, char *err, size_t errlen)
{
	unsigned nw = o->workers ? o->workers : 1;
	struct worker *ws = calloc(nw, sizeof(*ws));
	pthread_t threads[ENGINE_MAX_WORKERS];
	int rc = -1;
	unsigned started = 0;
	struct progress progress;
	bool progress_on = false, progress_set = false;

	memset(totals, 0, sizeof(*totals));
	if (!ws || nw > ENGINE_MAX_WORKERS) {
		snprintf(err, errlen, ws ? "at most %d workers" : "out of memory", ENGINE_MAX_WORKERS);
		free(ws);
		return -1;
	}
	struct classifier_config cc = o->classifier;
	cc.external_clock = nw > 1;
	bool threaded = o->json && events_threaded(nw);
	for (unsigned i = 0; i < nw; i++) {
		struct worker *w = &ws[i];
		w->id = i;
		w->n_workers = nw;
		w->o = o;
		w->paths = paths;
		w->n_paths = n;
		w->cc = &cc;
		w->decoder = decoder_new(0);
		w->classifier = classifier_new(&cc, on_flow_end, w, err, errlen);
		if (!w->decoder || !w->classifier)
			goto out;
		if (o->json && i > 0 && !(w->spool = tmpfile())) {
			snprintf(err, errlen, "cannot create a spool file: %s", strerror(errno));
			goto out;
		}
		if (o->json && !(w->events = event_writer_new(i == 0 ? o->json : w->spool, o->format, o->geodb,
							      threaded))) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		if (o->summary)
			w->listed_out = open_memstream(&w->listed, &w->listed_len);
	}
	progress_on = o->summary && progress_start(&progress, ws, nw, paths, n);
	progress_set = o->summary != NULL;
	for (started = 1; started < nw; started++) {
		if (pthread_create(&threads[started], NULL, worker_run, &ws[started]) != 0) {
			snprintf(err, errlen, "cannot start worker %u", started);
			break;
		}
	}
	if (started == nw)
		worker_run(&ws[0]);
	for (unsigned i = 1; i < started; i++)
		pthread_join(threads[i], NULL);
	if (progress_set)
		progress_stop(&progress, progress_on);
	progress_set = false;
	if (started < nw)
		goto out;
	for (unsigned i = 0; i < nw; i++) {
		struct worker *w = &ws[i];
		if (w->rc) {
			snprintf(err, errlen, "%s", w->err);
			goto out;
		}
		struct classifier_stats cs;
		classifier_stats(w->classifier, &cs);
		totals->flows += cs.flows;
		totals->packets += w->totals.packets;
		totals->evicted += w->totals.evicted;
		for (int v = 0; v <= EF_BLOCK; v++)
			totals->by_verdict[v] += w->totals.by_verdict[v];
		if (w->listed_out)
			fflush(w->listed_out);
		if (w->spool && append_spool(o->json, w->spool) != 0) {
			snprintf(err, errlen, "cannot write events: %s", strerror(errno));
			goto out;
		}
	}
	const struct decoder_stats *ds = decoder_stats(ws[0].decoder);
	totals->frames = ds->frames;
	memcpy(totals->skipped, ds->skipped, sizeof(totals->skipped));
	totals->failed_files = ws[0].totals.failed_files; /* every worker reads every file */
	if (o->json && fflush(o->json) != 0) {
		snprintf(err, errlen, "cannot write events: %s", strerror(errno));
		goto out;
	}
	if (o->summary) {
		print_summary(o->summary, ws, nw, totals, paths, n);
		fprintf(o->summary, "\nwritten by egressfence %s\n", output_version());
	}
	rc = 0;
out:
	if (progress_set) /* the readers stopped early; before the workers go */
		progress_stop(&progress, progress_on);
	for (unsigned i = 0; i < nw; i++) {
		event_writer_free(ws[i].events); /* before the spool it writes to */
		classifier_free(ws[i].classifier);
		decoder_free(ws[i].decoder);
		if (ws[i].spool)
			fclose(ws[i].spool);
		if (ws[i].listed_out)
			fclose(ws[i].listed_out);
		free(ws[i].listed);
	}
	free(ws);
	return rc;
}
