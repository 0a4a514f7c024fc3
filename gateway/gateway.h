/*
 * gateway/gateway.h -- the gateway's runtime: what `egressfence run' does
 * with each packet the kernel copied (gate) or the capture saw (monitor),
 * and when a flow's verdict becomes kernel state.
 *
 * The gateway owns the classifier and one small record per flow; the kernel
 * is reached only through struct gateway_kernel (nft_table_queue in the
 * daemon, a fake table in tests/test_gateway.c), and events leave through
 * a callback, so that this module needs neither cli/ nor a kernel.
 *
 * The rules it keeps (the kernel's half is enforce/nft.c, docs/gateway.md):
 *  - A flow is judged (policy_judge_flow) once: when the classifier decides
 *    it and it has sent payload; at its deadline, decide_within seconds
 *    after its first payload towards a block-tier remote, by the timer in
 *    gateway_tick() whether or not more packets come; at once when an SSH
 *    key exchange it was let through breaks SSH's framing; or when it ends.
 *  - A flow that has sent no payload is never allowed ahead of its data:
 *    allow and log verdicts of such a flow install nothing, and its first
 *    payload (held by the kernel) is judged as it comes.
 *  - A decision belongs to one connection: the classifier ends a flow and
 *    starts a new one at a pure SYN with another sequence number, or
 *    after the flow closed, so a reused 5-tuple is a new flow with its own
 *    record, judgement and event.  A flow the engine forgets while it was
 *    allowed (idle timeout) has its allow revoked, so its next payload is
 *    held again.
 *  - A decided flow whose class breaks (CLASSIFY_REJUDGED) is judged again
 *    at once and the kernel's decision replaced; its event says rejudged.
 *  - A flow blocked while its packets still left gets a final record when
 *    it ends, with what left after the verdict: in monitor mode always
 *    (what the capture saw), in gate mode when bytes the kernel let
 *    through came after it (each copy's NFLOG prefix says its fate).
 * No allocation per packet: the per-flow records are one pool, sized with
 * the classifier's table, indexed from the flow's user slot.
 */
#ifndef EF_GATEWAY_H
#define EF_GATEWAY_H

#include "../classify/classify.h"
#include "../enforce/enforce.h"

struct gateway;

/* What the gateway asks of the kernel. */
struct gateway_kernel {
	void (*queue)(void *ctx, const struct nft_decision *d);
	/* Gate mode, may be NULL: a held packet of a flow just allowed (or
	 * held after its allow), to be sent on once the queued decisions are
	 * in the kernel (the daemon sends it from the gateway itself, through
	 * the same rules: see docs/gateway.md).  l3 is the whole IP datagram
	 * the kernel held, valid during the call only. */
	void (*release)(void *ctx, const uint8_t *l3, uint32_t len, const struct ef_addr *dst);
	void *ctx;
};

enum gateway_judged_by {
	GATEWAY_BY_CLASSIFIER,   /* the classifier decided the class */
	GATEWAY_BY_DEADLINE,     /* decide_within ran out */
	GATEWAY_BY_FLOW_END,     /* ended (idle, closed, shutdown) undecided */
	GATEWAY_BY_REJUDGE,      /* a decided flow broke its class */
	GATEWAY_BY_FRAMING,      /* let through as SSH key exchange, it was not */
};
const char *gateway_judged_by_name(enum gateway_judged_by by);

/* One line for the event log. */
struct gateway_event {
	const struct ef_flow_record *rec;
	const struct policy_decision *dec;
	const char *action;          /* "blocked flow", "logged", "flow ended after block", ... */
	enum gateway_judged_by by;
	bool count_leak;             /* a monitor block, or a final record: what left before the verdict */
	bool final;                  /* the record written when a blocked flow ended: always in
				      * monitor mode, in gate mode when bytes passed after the
				      * verdict */
	/* count_leak and final: what left by the verdict, and (final) after
	 * it.  "Left" is what the capture saw in monitor mode, and in gate
	 * mode the copies the kernel let through. */
	uint64_t bytes_out_before, packets_out_before;
	uint64_t bytes_out_after, packets_out_after;
	/* Gate mode: the copies going out that the kernel let through (each
	 * crossed the gateway, retransmissions included) and those it held
	 * (never left), until now; bytes counted as bytes_out is. */
	bool fates;
	uint64_t packets_out_passed, bytes_out_passed, packets_out_held, bytes_out_held;
};
typedef void (*gateway_event_fn)(const struct gateway_event *e, void *ctx);
/* Every judgement, allows included (which have no event): for metrics. */
typedef void (*gateway_judged_fn)(const struct ef_flow_record *r, const struct policy_decision *d,
				  enum gateway_judged_by by, void *ctx);

struct gateway_config {
	enum gateway_mode mode;
	uint32_t decide_within_ms;   /* gate: from the first payload to the judgement */
	uint32_t flow_timeout_s;     /* how long a decision element waits for its packet */
	uint32_t max_flows;          /* classifier table and gateway pool; 0: 262144 */
	struct gateway_kernel kernel;
	gateway_event_fn on_event;
	gateway_judged_fn on_judged; /* may be NULL; called with event_ctx */
	void *event_ctx;
};

struct gateway_counters {
	uint64_t packets, fast_path, by_verdict[EF_BLOCK + 1];
	uint64_t judged_at_deadline, judged_at_end, grace, after_block;
	uint64_t rejudged, framing_broken, revoked;
	uint64_t retried_syn;        /* SYNs resent after a challenge ACK: one connection (the classifier) */
	uint64_t released;           /* held packets handed to kernel.release() (the daemon counts those it sent) */
};

struct gateway *gateway_new(const struct gateway_config *cfg, char *err, size_t errlen);
void gateway_free(struct gateway *gw);
/* What judges, and decide_within and flow_timeout from g (replaced as a
 * whole on reload; the gateway never frees them).  Before the first packet. */
void gateway_set_policy(struct gateway *gw, const struct policy *p, const struct geodb *db,
			const struct prefilter *pf, const struct gateway_settings *g);

/* One packet; now_ms is a monotonic clock (the deadline timer's). */
void gateway_packet(struct gateway *gw, const struct packet *p, uint64_t now_ms);
/* The timer: judges the flows whose deadline has passed, and ages the
 * classifier's flows to wall-clock time now_us.  Call at least every
 * quarter second, whether packets come or not. */
void gateway_tick(struct gateway *gw, uint64_t now_ms, uint64_t now_us);
/* Ends every flow (shutdown): events for the flows never judged. */
void gateway_flush(struct gateway *gw);

/* The classifier said CLASSIFY_REJUDGED for flow f, with record rec:
 * judged again at once.  gateway_packet() calls it; public so that the
 * rule can be tested with a synthetic record. */
void gateway_rejudged(struct gateway *gw, struct flow *f, const struct ef_flow_record *rec);

void gateway_counters(const struct gateway *gw, struct gateway_counters *out);
/* The classifier (tests), and its stats. */
const struct classifier *gateway_classifier(const struct gateway *gw);
void gateway_classifier_stats(const struct gateway *gw, struct classifier_stats *out);
/* The flow of the last packet given to gateway_packet() (tests). */
struct flow *gateway_last_flow(const struct gateway *gw);
/* Flows waiting for their deadline (tests). */
size_t gateway_pending(const struct gateway *gw);

#endif
