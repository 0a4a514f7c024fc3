/*
 * classify/classify.h -- flows, and how well each one is encrypted.
 *
 * A classifier owns a bounded, bidirectional flow table and one nDPI
 * detection module.  It is single-threaded: a multi-worker engine gives each
 * worker its own classifier and shards packets by flow_hash(), which is
 * symmetric, so both directions of a flow reach the same worker.
 *
 * For each flow it decides an encryption class (core/flow.h):
 *   - TCP payload of each direction is put back in order (out-of-order
 *     segments held, retransmissions dropped, overlaps compared; the first
 *     copy of a byte is the one classified) and coalesced before nDPI sees
 *     it, because nDPI does no reassembly of its own;
 *   - nDPI names the protocol; encryption_table.c maps it to a class;
 *   - a TLS, DTLS or SSH flow is `encrypted` only once its handshake is seen
 *     to complete (server's hello and the client's first protected record,
 *     or SSH's NEWKEYS), and its strength is read from the ServerHello;
 *   - STARTTLS-capable protocols are watched until the client either starts
 *     TLS (then as above) or sends anything but negotiation commands;
 *   - a protocol known only from its port number is never `encrypted`;
 *   - a flow decided `encrypted` or `weak` stays watched (verify.c): when its
 *     later bytes break the claim it is judged again at once
 *     (CLASSIFY_REJUDGED, flow_record()'s rejudged fields);
 *   - each TCP connection is its own flow: a SYN with a new ISN on a 5-tuple
 *     in the table, or after it closed, ends the old flow first.
 * Once decided, nDPI's per-flow state and the reassembly buffers are freed;
 * the flow keeps only its counters and the result.
 *
 * Time is packet time, through a clock that moves forward with the packets
 * and ignores backward jumps (concatenated captures), so idle timeouts work
 * on archives and live alike.  When the table is full the least recently
 * active flow is ended early and reported with `evicted` set: it is never
 * dropped without a record.
 */
#ifndef EF_CLASSIFY_H
#define EF_CLASSIFY_H

#include "../capture/capture.h"
#include "../core/flow.h"

struct classifier;
struct flow;

/*
 * Packet time made monotonic: it moves forward with the packets and ignores
 * backward jumps (concatenated captures), so idle timeouts work on archives
 * and live alike.  One definition, used by the classifier and by an engine
 * that hands packets to several classifiers.
 */
struct packet_clock {
	uint64_t now_us, last_ts_us;
	bool started;
};
static inline uint64_t packet_clock_update(struct packet_clock *k, uint64_t ts_us)
{
	if (!k->started) {
		k->started = true;
		k->now_us = ts_us;
	} else if (ts_us > k->last_ts_us) {
		k->now_us += ts_us - k->last_ts_us;
	}
	k->last_ts_us = ts_us;
	return k->now_us;
}

struct classifier_config {
	uint32_t max_flows;        /* table bound; 0: 262144 */
	uint32_t tcp_idle_s;       /* 0: 300 */
	uint32_t tcp_closed_s;     /* after FIN both ways or RST; 0: 10 */
	uint32_t udp_idle_s;       /* 0: 120 */
	uint32_t other_idle_s;     /* 0: 60 */
	uint32_t max_dpi_packets;  /* payload chunks given to nDPI before giving up; 0: 24 */
	bool external_clock;       /* the caller drives the clock with classifier_advance() */
};

/* Called with every flow that ends (timeout, eviction, flush), oriented
 * client -> server: rec->inside is the initiator and rec->initiator is
 * EF_INIT_INSIDE; the engine re-orients it with the policy's networks. */
typedef void (*flow_end_fn)(struct flow *f, const struct ef_flow_record *rec, void *ctx);

struct classifier *classifier_new(const struct classifier_config *cfg, flow_end_fn on_end, void *ctx,
				  char *err, size_t errlen);
void classifier_free(struct classifier *c);
/* The nDPI this was linked with ("4.6.0-..."). */
const char *classify_library_version(void);

enum classify_event {
	CLASSIFY_NONE = 0,     /* nothing new about this flow */
	CLASSIFY_NEW_FLOW,     /* first packet of a flow, class not decided */
	CLASSIFY_DECIDED,      /* this packet decided the flow's class */
	CLASSIFY_REJUDGED      /* a flow already decided `encrypted' or `weak' broke
				* its claim with this packet: its class is now lower
				* (flow_record() shows rejudged and where); judge it
				* again and replace the earlier decision */
};

/* Processes one decoded packet; *flow_out is the flow it belongs to (valid
 * until the next call).  Ends idle flows first, through on_end. */
enum classify_event classifier_packet(struct classifier *c, const struct packet *p, struct flow **flow_out);

/* Moves the packet clock without a packet of this classifier's own (a
 * worker sees every packet's time, so that all workers age flows alike),
 * and ends the flows that have gone idle. */
void classifier_tick(struct classifier *c, uint64_t ts_us);
/* With external_clock: sets the clock (a packet_clock's value, never
 * backwards) and ends the flows that have gone idle. */
void classifier_advance(struct classifier *c, uint64_t clock_us);

/* Ends every flow (end of input, shutdown). */
void classifier_flush(struct classifier *c);

/* The flow's record as it stands (class may still be undecided, then
 * reported as what the evidence so far supports). */
void flow_record(const struct classifier *c, struct flow *f, struct ef_flow_record *out);
/* A slot the engine owns: for verdicts of live flows. */
uint32_t *flow_user(struct flow *f);

/* Symmetric: the same for both directions of a flow. */
uint32_t flow_hash(const struct packet *p);

struct classifier_stats {
	uint64_t packets, flows, flows_active, evicted, decided, gave_up, rejudged;
	uint64_t retried_syn;  /* a SYN resent after a challenge ACK kept its flow */
	uint64_t ooo_segments, retransmissions, overlap_conflicts, reassembly_gaps;
	uint64_t dpi_states_live, dpi_states_peak;
};
void classifier_stats(const struct classifier *c, struct classifier_stats *out);

/* ---- the nDPI protocol -> encryption class table ---------------------- */

enum class_rule {
	CLASS_RULE_CLEARTEXT = 0, /* nothing in it is protected */
	CLASS_RULE_ENCRYPTED,     /* encrypted by construction (ESP, WireGuard, OpenVPN, QUIC) */
	CLASS_RULE_TLS,           /* TLS: strength from the handshake */
	CLASS_RULE_DTLS,          /* DTLS: strength from the handshake */
	CLASS_RULE_SSH,           /* SSH: encrypted after NEWKEYS */
	CLASS_RULE_STARTTLS,      /* cleartext unless upgraded before data */
	CLASS_RULE_UNKNOWN        /* nDPI cannot tell what is protected */
};

struct class_table_row {
	uint16_t ndpi_id;
	const char *ndpi_name;     /* for the README and the tests */
	enum class_rule rule;
	const char *why;
};

/* The explicit rows; protocols not listed fall back to nDPI's own
 * clear-text flag: clear-text ones are `cleartext`, the rest `unknown`. */
const struct class_table_row *class_table(size_t *n);
/* The rule for an nDPI protocol id, falling back as above when unlisted. */
enum class_rule class_rule_of(uint16_t ndpi_id, bool ndpi_says_cleartext);
const char *class_rule_name(enum class_rule r);

/* TLS strength from the IANA cipher suite: bits of effective symmetric
 * strength (0 for NULL/unknown) and whether the suite is weak (under 128
 * bits, NULL, EXPORT, RC4, DES, 3DES, or unknown). */
uint16_t tls_cipher_bits(uint16_t suite, const char **name_out, bool *weak_out);

#endif
