/*
 * gateway/gateway.c -- the gate's rules, on packets the kernel copied to
 * the engine (see gateway.h for the rules, enforce/nft.c for the kernel's
 * half of them).
 *
 * Each flow the classifier holds gets one record here (struct gw_flow),
 * from a pool allocated once and sized like the classifier's table, found
 * through the flow's user slot (index + 1; 0 = none yet).  The record is
 * freed when the classifier ends the flow, so the pool never runs out
 * before the classifier's table does.
 *
 * Invariants:
 *  - A record is on the pending list exactly when its flow is undecided,
 *    in gate mode, and has sent payload towards a block-tier remote; the
 *    list is in deadline order because every deadline is the same delay
 *    after its insertion (a reload that changes decide_within only makes
 *    some flows wait until the head's deadline).
 *  - An allow goes to the kernel only with payload behind it (bytes_out >
 *    0) and never for a flow that has ended.
 *  - Nothing here allocates or formats per packet; events are built by the
 *    callback, which runs only when a flow is judged or ends.
 */
#include "gateway.h"

#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define TH_SYN 0x02
#define TH_ACK 0x10
#define NIL 0u

/* gw_flow.flags */
#define F_JUDGED 0x001u
#define F_PENDING 0x002u
#define F_GRACE 0x004u         /* SSH: its key exchange is let through */
#define F_CLASSIFIED 0x008u    /* the classifier has decided the class */
#define F_SYN 0x010u
#define F_ALLOWED 0x040u       /* an allow went to the kernel */
#define F_HELLO 0x100u         /* its first payload out was a ClientHello */

/* Held packets of an allowed flow sent on, at most (release()). */
#define RELEASE_PER_FLOW 4
/* Held datagrams of undecided flows kept for release_kept(): the newest
 * HELD_KEEP of all flows, each at most HELD_KEEP_LEN bytes. */
#define HELD_KEEP 256
#define HELD_KEEP_LEN 2048

struct held_copies {
	/* looked through for every held segment: kept apart from the data */
	struct {
		uint64_t serial;    /* its flow's gw_flow.serial; 0: empty or sent */
		uint32_t seq, len;
	} meta[HELD_KEEP];
	struct ef_addr dst[HELD_KEEP];
	uint8_t data[HELD_KEEP][HELD_KEEP_LEN];
};

/* SSH framing of what the client sends before NEWKEYS (RFC 4253). */
enum ssh_phase { SSH_BANNER = 0, SSH_HEADER, SSH_BODY, SSH_DONE, SSH_BROKEN };
#define SSH_BANNER_MAX 255
#define SSH_PACKET_MAX 35000  /* the size every implementation must take */
/* KEXINIT, the method's messages (one or two, a few for group exchange),
 * NEWKEYS: a client sends no more than this before NEWKEYS. */
#define SSH_KEX_MAX_PACKETS 8

struct gw_flow {
	struct flow *f;
	uint64_t serial;            /* this record's flow, never reused (held_copy) */
	uint32_t prev, next;        /* pending list, pool index + 1 */
	uint64_t deadline_ms;
	uint64_t bytes_at_verdict, packets_at_verdict; /* sent_out() when judged */
	/* Gate mode: the copies the kernel let through and those it held,
	 * by sending end: index 0 is end0, the first packet's sender (the
	 * record's orientation is known only when the flow is judged). */
	struct ef_addr end0;
	uint16_t end0_port;
	uint64_t packets_passed[2], packets_held[2];
	uint64_t bytes_passed[2], bytes_held[2];
	uint32_t isn;               /* the initiator's SYN sequence number */
	uint32_t ssh_base;          /* stream offset 0 of the client's bytes */
	uint32_t ssh_off;           /* client bytes checked so far */
	uint32_t ssh_left;          /* bytes of the current SSH packet still to skip */
	uint8_t ssh_phase, ssh_hdr_len, ssh_newkeys, ssh_packets;
	uint8_t ssh_hdr[6];
	bool ssh_started;
	uint8_t verdict;
	uint8_t released;           /* held packets sent on (release()) */
	uint16_t flags;
};

#define CLOSED_KEEP_S 3 /* see gateway_new() */

struct gateway {
	struct gateway_config cfg;
	const struct policy *policy;
	const struct geodb *geodb;
	const struct prefilter *prefilter;
	struct classifier *classifier;
	struct gw_flow *pool;
	uint32_t cap, never_used, free_head; /* free list through .next */
	uint32_t pending_head, pending_tail;
	size_t n_pending;
	uint64_t now_ms;
	struct flow *last;
	struct gateway_counters c;
	struct held_copies *held;   /* gate mode: a ring of HELD_KEEP */
	bool release_held;          /* gateway.release_held */
	unsigned held_next;
	uint64_t serial_next;
};

static const char *const by_names[] = {"classifier", "deadline", "flow_end", "rejudged", "framing"};

const char *gateway_judged_by_name(enum gateway_judged_by by)
{
	return (size_t)by < sizeof(by_names) / sizeof(by_names[0]) ? by_names[by] : "?";
}

/* ---- records ------------------------------------------------------------------ */

static struct gw_flow *rec_at(struct gateway *gw, uint32_t id)
{
	return id ? &gw->pool[id - 1] : NULL;
}

static uint32_t rec_id(const struct gateway *gw, const struct gw_flow *e)
{
	return (uint32_t)(e - gw->pool) + 1;
}

static struct gw_flow *record_of(struct gateway *gw, struct flow *f)
{
	uint32_t *slot = flow_user(f);
	uint32_t id = *slot;

	if (id)
		return rec_at(gw, id);
	if (gw->free_head) {
		id = gw->free_head;
		gw->free_head = gw->pool[id - 1].next;
	} else if (gw->never_used < gw->cap) {
		id = ++gw->never_used;
	} else {
		return NULL; /* cannot happen with the pool as large as the table */
	}
	struct gw_flow *e = rec_at(gw, id);
	memset(e, 0, sizeof(*e));
	e->f = f;
	e->serial = ++gw->serial_next;
	*slot = id;
	return e;
}

static void pending_remove(struct gateway *gw, struct gw_flow *e)
{
	if (!(e->flags & F_PENDING))
		return;
	if (e->prev)
		rec_at(gw, e->prev)->next = e->next;
	else
		gw->pending_head = e->next;
	if (e->next)
		rec_at(gw, e->next)->prev = e->prev;
	else
		gw->pending_tail = e->prev;
	e->prev = e->next = NIL;
	e->flags &= ~F_PENDING;
	gw->n_pending--;
}

static void pending_add(struct gateway *gw, struct gw_flow *e)
{
	uint32_t id = rec_id(gw, e);

	e->deadline_ms = gw->now_ms + gw->cfg.decide_within_ms;
	e->prev = gw->pending_tail;
	e->next = NIL;
	if (gw->pending_tail)
		rec_at(gw, gw->pending_tail)->next = id;
	else
		gw->pending_head = id;
	gw->pending_tail = id;
	e->flags |= F_PENDING;
	gw->n_pending++;
}

static void record_free(struct gateway *gw, struct gw_flow *e)
{
	pending_remove(gw, e);
	*flow_user(e->f) = 0;
	e->f = NULL;
	e->next = gw->free_head;
	gw->free_head = rec_id(gw, e);
}

/* ---- the kernel ----------------------------------------------------------------- */

static enum prefilter_tier tier_of(const struct gateway *gw, const struct ef_addr *a)
{
	return gw->prefilter ? prefilter_tier_of(gw->prefilter, a) : TIER_NONE;
}

/* The kernel keys a flow by the end in the higher prefilter tier as remote;
 * when both ends are in the same tier either packet direction may pick
 * either end, so both orientations go in. */
static void queue_flow(struct gateway *gw, enum nft_decision_kind kind, const struct ef_flow_record *r)
{
	enum prefilter_tier tr = tier_of(gw, &r->remote), ti = tier_of(gw, &r->inside);
	struct nft_decision fwd = {
		.kind = kind, .inside = &r->inside, .remote = &r->remote, .inside_port = r->inside_port,
		.remote_port = r->remote_port, .l4 = r->l4, .timeout_s = gw->cfg.flow_timeout_s,
	};
	struct nft_decision rev = {
		.kind = kind, .inside = &r->remote, .remote = &r->inside, .inside_port = r->remote_port,
		.remote_port = r->inside_port, .l4 = r->l4, .timeout_s = gw->cfg.flow_timeout_s,
	};

	if (ti <= tr)
		gw->cfg.kernel.queue(gw->cfg.kernel.ctx, &fwd);
	if (ti >= tr && ti != TIER_NONE)
		gw->cfg.kernel.queue(gw->cfg.kernel.ctx, &rev);
}

/* The index of the counts above for what end a, port sent. */
static int end_index(const struct gw_flow *e, const struct ef_addr *a, uint16_t port)
{
	return memcmp(a, &e->end0, sizeof(*a)) || port != e->end0_port;
}

/* Gate mode: each copy's fate, as its NFLOG prefix says (core/flow.h).
 * Bytes as the classifier counts bytes_out: payload, IP options, and a
 * datagram that never completed. */
static void count_fate(struct gw_flow *e, const struct packet *p)
{
	if (!e->end0.family) {
		e->end0 = p->src;
		e->end0_port = p->sport;
	}
	if (p->fate == EF_FATE_UNKNOWN)
		return;
	int end = end_index(e, &p->src, p->sport);
	uint64_t bytes = (uint64_t)p->payload_len + p->options_len + p->unexamined_len;
	if (p->fate == EF_FATE_PASSED) {
		e->packets_passed[end]++;
		e->bytes_passed[end] += bytes;
	} else {
		e->packets_held[end]++;
		e->bytes_held[end] += bytes;
	}
}

/* What the inside end of r (oriented by policy_judge_flow) sent that left:
 * in gate mode the copies the kernel let through, held ones never did; in
 * monitor mode everything the capture saw. */
static void sent_out(const struct gateway *gw, const struct gw_flow *e, const struct ef_flow_record *r,
		     uint64_t *bytes, uint64_t *packets)
{
	if (gw->cfg.mode == GATEWAY_GATE) {
		int end = end_index(e, &r->inside, r->inside_port);
		*bytes = e->bytes_passed[end];
		*packets = e->packets_passed[end];
	} else {
		*bytes = r->bytes_out;
		*packets = r->packets_out;
	}
}

/* Gate mode: the event says what passed and what was held, going out. */
static void put_fates(const struct gateway *gw, const struct gw_flow *e, const struct ef_flow_record *r,
		      struct gateway_event *ev)
{
	if (gw->cfg.mode != GATEWAY_GATE)
		return;
	int end = end_index(e, &r->inside, r->inside_port);
	ev->fates = true;
	ev->packets_out_passed = e->packets_passed[end];
	ev->bytes_out_passed = e->bytes_passed[end];
	ev->packets_out_held = e->packets_held[end];
	ev->bytes_out_held = e->bytes_held[end];
}

static void emit(struct gateway *gw, const struct gateway_event *ev)
{
	if (gw->cfg.on_event)
		gw->cfg.on_event(ev, gw->cfg.event_ctx);
}

/* ---- judging ---------------------------------------------------------------------- */

static void release_kept(struct gateway *gw, struct gw_flow *e);

/* Returns false when the verdict was left provisional: an allow or a log
 * for a flow that has sent nothing yet goes nowhere, so that no decision
 * is ever in the kernel ahead of the data it should have judged. */
static bool judge(struct gateway *gw, struct gw_flow *e, struct ef_flow_record *r, enum gateway_judged_by by)
{
	struct policy_decision dec;
	const char *action = NULL;
	bool ended = by == GATEWAY_BY_FLOW_END, gate = gw->cfg.mode == GATEWAY_GATE;

	policy_judge_flow(gw->policy, gw->geodb, r, &dec);
	if (dec.verdict != EF_BLOCK && r->bytes_out == 0 && !ended && by != GATEWAY_BY_REJUDGE)
		return false;
	pending_remove(gw, e);
	e->flags |= F_JUDGED;
	e->verdict = (uint8_t)dec.verdict;
	sent_out(gw, e, r, &e->bytes_at_verdict, &e->packets_at_verdict);
	gw->c.by_verdict[dec.verdict]++;
	if (gw->cfg.on_judged)
		gw->cfg.on_judged(r, &dec, by, gw->cfg.event_ctx);
	if (by == GATEWAY_BY_DEADLINE)
		gw->c.judged_at_deadline++;
	else if (ended)
		gw->c.judged_at_end++;
	switch (dec.verdict) {
	case EF_BLOCK:
		/* An ended flow's connection is gone, and with it anything a
		 * flow decision could hold; only block_remote outlives it. */
		if (!ended)
			queue_flow(gw, NFT_BLOCK_FLOW, r);
		if (dec.block_remote_seconds) {
			struct nft_decision br = {.kind = NFT_BLOCK_REMOTE, .remote = &r->remote,
						  .timeout_s = dec.block_remote_seconds};
			gw->cfg.kernel.queue(gw->cfg.kernel.ctx, &br);
		}
		action = dec.block_remote_seconds ? "blocked flow and remote" : "blocked flow";
		e->flags &= ~F_ALLOWED;
		break;
	case EF_LOG:
	case EF_ALLOW:
		if (gate && !ended && !(e->flags & F_ALLOWED)) {
			queue_flow(gw, NFT_ALLOW_FLOW, r);
			e->flags |= F_ALLOWED;
			if (by != GATEWAY_BY_REJUDGE)
				release_kept(gw, e);
		}
		if (dec.verdict == EF_LOG)
			action = "logged";
		else if (by == GATEWAY_BY_REJUDGE)
			action = "allowed";
		break;
	}
	/* The rule's log_prefix: the flow's next packet goes to the kernel log. */
	if (action && !ended && dec.rule_index >= 0 && policy_rule_log_prefix(gw->policy, (size_t)dec.rule_index)) {
		struct nft_decision kl = {
			.kind = NFT_KERNEL_LOG, .inside = &r->inside, .remote = &r->remote, .inside_port = r->inside_port,
			.remote_port = r->remote_port, .l4 = r->l4, .rule_index = (size_t)dec.rule_index,
		};
		gw->cfg.kernel.queue(gw->cfg.kernel.ctx, &kl);
	}
	if (action) {
		struct gateway_event ev = {
			.rec = r, .dec = &dec, .action = action, .by = by,
			.count_leak = dec.verdict == EF_BLOCK && !gate,
			.bytes_out_before = e->bytes_at_verdict, .packets_out_before = e->packets_at_verdict,
		};
		put_fates(gw, e, r, &ev);
		emit(gw, &ev);
	}
	return true;
}

void gateway_rejudged(struct gateway *gw, struct flow *f, const struct ef_flow_record *rec)
{
	struct gw_flow *e = record_of(gw, f);
	struct ef_flow_record r = *rec;

	if (!e)
		return;
	gw->c.rejudged++;
	e->flags |= F_CLASSIFIED;
	judge(gw, e, &r, GATEWAY_BY_REJUDGE);
}

/* ---- SSH framing ------------------------------------------------------------------ */

static bool is_ssh(const char *app)
{
	return !strcmp(app, "SSH") || !strncmp(app, "SSH.", 4);
}

/* Key exchange messages only (KEXINIT, NEWKEYS, method-specific 30-49):
 * IGNORE, DEBUG and the rest could carry anything. */
static bool ssh_kex_type(uint8_t t)
{
	return t == 20 || t == 21 || (t >= 30 && t <= 49);
}

static void ssh_feed(struct gw_flow *e, const uint8_t *d, uint32_t n)
{
	static const char hello[] = "SSH-";

	for (uint32_t i = 0; i < n && e->ssh_phase < SSH_DONE; i++, e->ssh_off++) {
		uint8_t b = d[i];
		switch (e->ssh_phase) {
		case SSH_BANNER:
			if ((e->ssh_off < 4 && b != (uint8_t)hello[e->ssh_off]) || e->ssh_off >= SSH_BANNER_MAX ||
			    (b != '\r' && b != '\n' && (b < 0x20 || b > 0x7e)))
				e->ssh_phase = SSH_BROKEN;
			else if (b == '\n')
				e->ssh_phase = SSH_HEADER;
			break;
		case SSH_HEADER:
			e->ssh_hdr[e->ssh_hdr_len++] = b;
			if (e->ssh_hdr_len < 6)
				break;
			uint32_t len = (uint32_t)e->ssh_hdr[0] << 24 | (uint32_t)e->ssh_hdr[1] << 16 |
				       (uint32_t)e->ssh_hdr[2] << 8 | e->ssh_hdr[3];
			uint8_t pad = e->ssh_hdr[4];
			e->ssh_hdr_len = 0;
			if (len < 12 || len > SSH_PACKET_MAX || pad < 4 || pad >= len - 1 || !ssh_kex_type(e->ssh_hdr[5]) ||
			    ++e->ssh_packets > SSH_KEX_MAX_PACKETS) {
				e->ssh_phase = SSH_BROKEN;
				break;
			}
			e->ssh_newkeys = e->ssh_hdr[5] == 21;
			e->ssh_left = len + 4 - 6;
			e->ssh_phase = SSH_BODY;
			break;
		case SSH_BODY: {
			uint32_t take = n - i < e->ssh_left ? n - i : e->ssh_left;
			e->ssh_left -= take;
			e->ssh_off += take - 1;
			i += take - 1;
			if (e->ssh_left == 0)
				e->ssh_phase = e->ssh_newkeys ? SSH_DONE : SSH_HEADER;
			break;
		}
		}
	}
}

/* The client's bytes in stream order; a gap (bytes the engine never saw
 * but the server might) cannot be checked, and fails the check. */
static void ssh_check(struct gw_flow *e, const struct packet *p)
{
	if (e->ssh_phase >= SSH_DONE)
		return;
	if (!e->ssh_started) {
		e->ssh_started = true;
		e->ssh_base = (e->flags & F_SYN) ? e->isn + 1 : p->tcp_seq;
	}
	uint32_t rel = p->tcp_seq - e->ssh_base;
	if (rel > e->ssh_off && rel < 0x80000000u) {
		e->ssh_phase = SSH_BROKEN;
		return;
	}
	if (rel >= 0x80000000u || rel + p->payload_len <= e->ssh_off)
		return; /* a retransmission of what was checked */
	uint32_t skip = e->ssh_off - rel;
	ssh_feed(e, p->payload + skip, p->payload_len - skip);
}

/* ---- packets ---------------------------------------------------------------------- */

/* Gate mode, TCP payload of a flow not judged yet: SSH grace, and the
 * check of what grace lets through.  True when the flow was judged. */
static bool watch_ssh(struct gateway *gw, struct gw_flow *e, const struct packet *p, bool toward_block)
{
	struct ef_flow_record r;

	if (toward_block)
		ssh_check(e, p);
	if (!(e->flags & (F_GRACE | F_CLASSIFIED)) && e->ssh_phase != SSH_BROKEN) {
		flow_record(gw->classifier, e->f, &r);
		if (!r.app_guessed && is_ssh(r.app)) {
			e->flags |= F_GRACE;
			gw->c.grace++;
			queue_flow(gw, NFT_GRACE_FLOW, &r);
		}
	}
	if (!(e->flags & F_GRACE) || e->ssh_phase != SSH_BROKEN)
		return false;
	gw->c.framing_broken++;
	flow_record(gw->classifier, e->f, &r);
	r.enc = EF_ENC_CLEARTEXT; /* what passed as key exchange was not */
	judge(gw, e, &r, GATEWAY_BY_FRAMING);
	return true;
}

/* As the kernel's rule sees it: a TLS handshake record carrying a
 * ClientHello (docs/gateway.md). */
static bool client_hello_shaped(const struct packet *p)
{
	const uint8_t *b = p->payload;

	return p->payload_len >= 6 && b[0] == 0x16 && b[1] == 0x03 && b[5] == 0x01;
}

/*
 * A datagram the engine may send on as it is: the whole of it (its IP
 * length is the copy's), a plain IP header (IPv4 without options, IPv6
 * without extension headers: those are held at output as they were at
 * forward, so there is nothing to gain in sending them), TCP, and a right
 * TCP checksum.  Conntrack verifies checksums only as packets come in
 * (PRE_ROUTING): a segment with a wrong one is `ct state invalid' on its
 * way through the gateway, which holds it for good, while the same
 * datagram sent from the gateway itself (the output hook) is a valid
 * packet of its connection and passes on the allow (tests/e2e_redteam5.sh
 * badsum).
 */
static bool sendable_datagram(const uint8_t *h, uint32_t len)
{
	uint32_t sum = IPPROTO_TCP, hl, a, n;

	if (len >= 20 && (h[0] >> 4) == 4) {
		if ((h[0] & 0x0f) != 5 || h[9] != IPPROTO_TCP || ((uint32_t)h[2] << 8 | h[3]) != len)
			return false;
		hl = 20, a = 12;
	} else if (len >= 40 && (h[0] >> 4) == 6) {
		if (h[6] != IPPROTO_TCP || ((uint32_t)h[4] << 8 | h[5]) + 40 != len)
			return false;
		hl = 40, a = 8;
	} else {
		return false;
	}
	if (len < hl + 20)
		return false;
	n = len - hl;
	for (; a < hl; a += 2) /* the pseudo-header's addresses */
		sum += (uint32_t)h[a] << 8 | h[a + 1];
	sum += (n >> 16) + (n & 0xffff);
	/* at most 32,768 words of 0xffff: no overflow before folding */
	for (uint32_t i = hl; i + 1 < len; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	if (n & 1)
		sum += (uint32_t)h[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/*
 * Gate mode: the held segments of a flow just allowed are sent on by the
 * daemon (kernel.release) instead of waiting for the client's TCP to send
 * them again.  Without SACK, which the gate never lets a connection to the
 * block tier negotiate, Linux sends no tail loss probe, so the resend
 * waits for the retransmission timeout: at least 200 ms for every allowed
 * TLS connection (bench/live.sh: 20 of 20 short HTTPS requests, 206-211
 * ms), and seconds, after the client's backoff, for a flow allowed at its
 * deadline.  Sent on: what the flow had held while undecided (kept in a
 * ring, keep_held(): the segment judged, TLS's ChangeCipherSpec when it
 * came alone, a retransmitted segment's first copy), oldest first, and held
 * segments that reach the engine after the verdict (the request that
 * follows TLS's Finished, sent before the kernel had the allow).
 *
 * Only the datagram exactly as the kernel held it (not a tunnel's inner
 * packet, not reassembled), and only RELEASE_PER_FLOW of a flow: it goes
 * through the same rules as a forwarded packet (the output hook), so it
 * passes only as the client's retransmission would, and its copy comes
 * back as passed -- or, held again for a rule the allow does not lift (its
 * TCP options, say), as held, which the bound keeps from going round.
 */
static bool releasable(const struct gateway *gw, const struct packet *p, bool toward_block)
{
	return gw->cfg.mode == GATEWAY_GATE && gw->cfg.kernel.release && gw->release_held && p->fate == EF_FATE_HELD &&
	       toward_block &&
	       p->l4 == IPPROTO_TCP && p->payload_len && !p->tunnel_depth && !p->reassembled && !p->incomplete &&
	       sendable_datagram(p->l3, p->l3_len);
}

static void send_on(struct gateway *gw, struct gw_flow *e, const uint8_t *l3, uint32_t len,
		    const struct ef_addr *dst)
{
	e->released++;
	gw->c.released++;
	gw->cfg.kernel.release(gw->cfg.kernel.ctx, l3, len, dst);
}

/* A held segment of an undecided flow, kept for release_kept().  A
 * retransmission (same sequence number and length) is not kept again: the
 * first copy is the one sent on, as it is the one the classifier judged
 * (classify/reassembly.c: the first copy of a byte wins, a differing one
 * marks the flow). */
static void keep_held(struct gateway *gw, const struct gw_flow *e, const struct packet *p, bool toward_block)
{
	struct held_copies *h = gw->held;
	unsigned slot = HELD_KEEP;

	if (!h || p->l3_len > HELD_KEEP_LEN || !releasable(gw, p, toward_block))
		return;
	for (unsigned i = 0; i < HELD_KEEP && slot == HELD_KEEP; i++)
		if (h->meta[i].serial == e->serial && h->meta[i].seq == p->tcp_seq && h->meta[i].len == p->l3_len)
			slot = i;
	if (slot < HELD_KEEP)
		return;
	slot = gw->held_next++ % HELD_KEEP;
	h->meta[slot].serial = e->serial;
	h->meta[slot].seq = p->tcp_seq;
	h->meta[slot].len = p->l3_len;
	h->dst[slot] = p->dst;
	memcpy(h->data[slot], p->l3, p->l3_len);
}

/* The flow was allowed: what it had held while undecided, oldest first. */
static void release_kept(struct gateway *gw, struct gw_flow *e)
{
	struct held_copies *h = gw->held;

	for (unsigned i = 0; h && i < HELD_KEEP && e->released < RELEASE_PER_FLOW; i++) {
		unsigned k = (gw->held_next + i) % HELD_KEEP;
		if (h->meta[k].serial != e->serial)
			continue;
		h->meta[k].serial = 0;
		send_on(gw, e, h->data[k], h->meta[k].len, &h->dst[k]);
	}
}

/* A held segment of a flow already allowed. */
static void release(struct gateway *gw, struct gw_flow *e, const struct packet *p, bool toward_block)
{
	if ((e->flags & F_ALLOWED) && e->verdict != EF_BLOCK && e->released < RELEASE_PER_FLOW &&
	    releasable(gw, p, toward_block))
		send_on(gw, e, p->l3, p->l3_len, &p->dst);
}

void gateway_packet(struct gateway *gw, const struct packet *p, uint64_t now_ms)
{
	enum prefilter_tier td = tier_of(gw, &p->dst), ts = tier_of(gw, &p->src);
	struct flow *f;
	struct ef_flow_record r;

	gw->now_ms = now_ms;
	if (gw->cfg.mode == GATEWAY_MONITOR && td == TIER_NONE && ts == TIER_NONE) {
		gw->c.fast_path++;
		classifier_tick(gw->classifier, p->ts_us);
		return;
	}
	gw->c.packets++;
	enum classify_event ev = classifier_packet(gw->classifier, p, &f);
	gw->last = f;
	struct gw_flow *e = record_of(gw, f);
	if (!e)
		return;
	count_fate(e, p);
	bool toward_block = td == TIER_BLOCK && td >= ts;
	/* A pure SYN with another sequence number than the flow's, or after
	 * it closed, reaches here as a new flow: the classifier ended the old
	 * one (its event written) and started this one, so its record is new
	 * and a decision never carries over to another connection.  What is
	 * left here is the same connection's SYN: a retransmission, or the
	 * other end's in a simultaneous open. */
	if (p->l4 == IPPROTO_TCP && (p->tcp_flags & (TH_SYN | TH_ACK)) == TH_SYN && !(e->flags & F_SYN)) {
		e->flags |= F_SYN;
		e->isn = p->tcp_seq;
	}
	if (ev == CLASSIFY_REJUDGED) {
		flow_record(gw->classifier, f, &r);
		gateway_rejudged(gw, f, &r);
		return;
	}
	if (ev == CLASSIFY_DECIDED)
		e->flags |= F_CLASSIFIED;
	if (e->flags & F_JUDGED) {
		/* Going out after the verdict: the capture saw it leave, or
		 * the gate let it through, before the kernel's block took
		 * hold (or while it failed). */
		if (e->verdict == EF_BLOCK && td >= ts &&
		    (gw->cfg.mode == GATEWAY_MONITOR || p->fate == EF_FATE_PASSED))
			gw->c.after_block++;
		release(gw, e, p, toward_block);
		return;
	}
	bool gate = gw->cfg.mode == GATEWAY_GATE;
	keep_held(gw, e, p, toward_block);
	if (gate && p->l4 == IPPROTO_TCP && p->payload_len && watch_ssh(gw, e, p, toward_block))
		return;
	if ((e->flags & F_CLASSIFIED) && (ev == CLASSIFY_DECIDED || p->payload_len)) {
		flow_record(gw->classifier, f, &r);
		if (judge(gw, e, &r, GATEWAY_BY_CLASSIFIER))
			return;
	}
	/* Payload towards a block-tier remote starts the deadline, except the
	 * connection's one ClientHello, which the kernel lets through: the
	 * clock starts with what follows it (TLS's next record, held), so a
	 * slow server's hello does not count against the client. */
	if (gate && toward_block && p->payload_len && !(e->flags & (F_PENDING | F_CLASSIFIED))) {
		if (p->l4 == IPPROTO_TCP && !(e->flags & F_HELLO) && client_hello_shaped(p)) {
			e->flags |= F_HELLO;
			return;
		}
		e->flags |= F_HELLO; /* whatever came first, no later hello is exempt */
		pending_add(gw, e);
	}
}

static void on_flow_end(struct flow *f, const struct ef_flow_record *rec, void *ctx)
{
	struct gateway *gw = ctx;
	struct gw_flow *e = record_of(gw, f);
	struct ef_flow_record r = *rec;

	if (!e) {
		gw->c.judged_at_end++;
		return;
	}
	if (!(e->flags & F_JUDGED)) {
		judge(gw, e, &r, GATEWAY_BY_FLOW_END);
	} else if (e->verdict == EF_BLOCK && gw->cfg.mode != GATEWAY_OBSERVE) {
		struct policy_decision dec;
		uint64_t bytes, packets;
		policy_judge_flow(gw->policy, gw->geodb, &r, &dec);
		sent_out(gw, e, &r, &bytes, &packets);
		struct gateway_event ev = {
			.rec = &r, .dec = &dec, .action = "flow ended after block", .by = GATEWAY_BY_FLOW_END,
			.count_leak = true, .final = true,
			.bytes_out_before = e->bytes_at_verdict, .packets_out_before = e->packets_at_verdict,
			.bytes_out_after = bytes > e->bytes_at_verdict ? bytes - e->bytes_at_verdict : 0,
			.packets_out_after = packets > e->packets_at_verdict ? packets - e->packets_at_verdict : 0,
		};
		put_fates(gw, e, &r, &ev);
		/* Gate mode: only when bytes passed after the verdict.  Held
		 * copies never left, and a refused connection's last segments
		 * without payload (its ACKs and FIN, which pass) carry none:
		 * 112 of 7,000 refused uploads in e2e_insider's soak had such
		 * a segment pass after the verdict, and none a byte. */
		if (gw->cfg.mode == GATEWAY_MONITOR || ev.bytes_out_after)
			emit(gw, &ev);
	} else if ((e->flags & F_ALLOWED) && gw->cfg.mode == GATEWAY_GATE) {
		/* The engine forgets the flow (idle, or closed): its connection,
		 * if it lives on, is judged anew from its next payload. */
		policy_judge_flow(gw->policy, gw->geodb, &r, &(struct policy_decision){0});
		queue_flow(gw, NFT_REVOKE_FLOW, &r);
		gw->c.revoked++;
	}
	record_free(gw, e);
	if (gw->last == f)
		gw->last = NULL;
}

void gateway_tick(struct gateway *gw, uint64_t now_ms, uint64_t now_us)
{
	struct ef_flow_record r;
	struct gw_flow *e;

	gw->now_ms = now_ms;
	classifier_tick(gw->classifier, now_us);
	while ((e = rec_at(gw, gw->pending_head)) && e->deadline_ms <= now_ms) {
		flow_record(gw->classifier, e->f, &r);
		pending_remove(gw, e);
		/* At the deadline a flow is judged even with nothing sent (a
		 * mid-stream flow's held segment may not be counted yet). */
		if (!judge(gw, e, &r, GATEWAY_BY_DEADLINE)) {
			e->flags |= F_JUDGED;
			gw->c.judged_at_deadline++;
		}
	}
}

void gateway_flush(struct gateway *gw)
{
	classifier_flush(gw->classifier);
}

/* ---- set-up ----------------------------------------------------------------------- */

struct gateway *gateway_new(const struct gateway_config *cfg, char *err, size_t errlen)
{
	struct gateway *gw = calloc(1, sizeof(*gw));
	/* A closed TCP flow is kept 3 s, not the classifier's default 10 s:
	 * long enough for a retransmitted FIN or last ACK (a new connection on
	 * the tuple is a new flow at its SYN whatever this is). */
	struct classifier_config cc = {.max_flows = cfg->max_flows ? cfg->max_flows : 262144,
				       .tcp_closed_s = CLOSED_KEEP_S};

	if (!gw) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	gw->cfg = *cfg;
	gw->cap = cc.max_flows;
	/* calloc: pages are touched only as flows come, and reused LIFO. */
	if (!(gw->pool = calloc(gw->cap, sizeof(*gw->pool)))) {
		snprintf(err, errlen, "out of memory for %u flows", gw->cap);
		gateway_free(gw);
		return NULL;
	}
	if (cfg->mode == GATEWAY_GATE && cfg->kernel.release && !(gw->held = calloc(1, sizeof(*gw->held)))) {
		snprintf(err, errlen, "out of memory");
		gateway_free(gw);
		return NULL;
	}
	if (!(gw->classifier = classifier_new(&cc, on_flow_end, gw, err, errlen))) {
		gateway_free(gw);
		return NULL;
	}
	return gw;
}

void gateway_free(struct gateway *gw)
{
	if (!gw)
		return;
	classifier_free(gw->classifier);
	free(gw->pool);
	free(gw->held);
	free(gw);
}

void gateway_set_policy(struct gateway *gw, const struct policy *p, const struct geodb *db, const struct prefilter *pf,
			const struct gateway_settings *g)
{
	gw->cfg.decide_within_ms = g->decide_within_s * 1000u;
	gw->cfg.flow_timeout_s = g->flow_timeout_s;
	gw->release_held = g->release_held;
	gw->policy = p;
	gw->geodb = db;
	gw->prefilter = pf;
}

void gateway_counters(const struct gateway *gw, struct gateway_counters *out)
{
	struct classifier_stats cs;

	*out = gw->c;
	classifier_stats(gw->classifier, &cs);
	out->retried_syn = cs.retried_syn;
}

const struct classifier *gateway_classifier(const struct gateway *gw)
{
	return gw->classifier;
}

void gateway_classifier_stats(const struct gateway *gw, struct classifier_stats *out)
{
	classifier_stats(gw->classifier, out);
}

struct flow *gateway_last_flow(const struct gateway *gw)
{
	return gw->last;
}

size_t gateway_pending(const struct gateway *gw)
{
	return gw->n_pending;
}
