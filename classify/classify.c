/*
 * classify/classify.c -- from packets to flows with an encryption class.
 *
 * Per packet: advance the packet clock, end idle flows, find or create the
 * flow, count it, and -- only while the flow is undecided -- put its payload
 * in order, hand coalesced bytes to nDPI, and run the handshake walkers.
 * A decided flow costs a hash lookup and a few additions per packet.
 *
 * Invariants:
 *  - A flow's nDPI state and stream buffers exist only while it is
 *    undecided (flow->dpi); deciding frees them.
 *  - nDPI sees each direction's bytes once, in order, in chunks that end at
 *    a natural boundary (a line, a TLS record, a full segment, a turn of the
 *    conversation), never the raw segments an evader chose.
 *  - Every flow that leaves the table goes through end_flow(), which
 *    finalises its class and calls the owner's callback exactly once.
 */
#include "internal.h"

#include <ndpi/ndpi_api.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PUSH 0x08
#define TH_ACK 0x10

#define FEED_FULL_SEGMENT 1400u
#define FEED_MAX_SEGMENTS 8u

/* A data connection an FTP control session announced. */
struct ftp_expectation {
	struct ef_addr addr;
	uint16_t port;
	uint64_t until_us;
};
#define FTP_EXPECTATIONS 64
#define FTP_EXPECT_US (120u * 1000000u)

struct classifier {
	struct classifier_config cfg;
	struct ftp_expectation ftp[FTP_EXPECTATIONS];
	unsigned ftp_next;
	struct ndpi_detection_module_struct *ndpi;
	struct flow_table table;
	struct packet_clock clock;
	uint64_t clock_us;            /* clock.now_us, or the caller's clock */
	/* No flow expires before this clock: a lower bound of every list's
	 * next expiry, lowered as flows are touched, exact after a scan.  The
	 * scan of the idle lists was 2% of an audit's instructions when run
	 * for every packet. */
	uint64_t next_expiry_us;
	struct classifier_stats stats;
	flow_end_fn on_end;
	void *ctx;
	uint8_t synth[60 + STREAM_HIST_MAX]; /* a coalesced segment for nDPI */
};

/* strlcpy: a bounded copy that always terminates (snprintf("%s") showed in
 * profiles, once per flow). */
static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

static uint32_t or_default(uint32_t v, uint32_t d)
{
	return v ? v : d;
}

struct classifier *classifier_new(const struct classifier_config *cfg, flow_end_fn on_end, void *ctx,
				  char *err, size_t errlen)
{
	struct classifier *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->cfg = cfg ? *cfg : (struct classifier_config){0};
	c->cfg.max_flows = or_default(c->cfg.max_flows, 262144);
	c->cfg.tcp_idle_s = or_default(c->cfg.tcp_idle_s, 300);
	c->cfg.tcp_closed_s = or_default(c->cfg.tcp_closed_s, 10);
	c->cfg.udp_idle_s = or_default(c->cfg.udp_idle_s, 120);
	c->cfg.other_idle_s = or_default(c->cfg.other_idle_s, 60);
	c->cfg.max_dpi_packets = or_default(c->cfg.max_dpi_packets, 24);
	c->on_end = on_end;
	c->ctx = ctx;
	if (!flow_table_init(&c->table, c->cfg.max_flows)) {
		snprintf(err, errlen, "cannot allocate a flow table of %u flows", c->cfg.max_flows);
		free(c);
		return NULL;
	}
	c->ndpi = ndpi_init_detection_module(ndpi_no_prefs);
	if (!c->ndpi) {
		snprintf(err, errlen, "nDPI failed to initialise");
		classifier_free(c);
		return NULL;
	}
	NDPI_PROTOCOL_BITMASK all;
	NDPI_BITMASK_SET_ALL(all);
	ndpi_set_protocol_detection_bitmask2(c->ndpi, &all);
	ndpi_finalize_initialization(c->ndpi);
	return c;
}

static void dpi_free(struct classifier *c, struct flow *f)
{
	if (!f->dpi)
		return;
	if (f->dpi->ndpi)
		ndpi_free_flow(f->dpi->ndpi);
	stream_free(&f->dpi->dir[0]);
	stream_free(&f->dpi->dir[1]);
	dtls_message_free(f->dpi->dtls_msg[0]);
	dtls_message_free(f->dpi->dtls_msg[1]);
	ike_walk_free(&f->dpi->ike[0]);
	ike_walk_free(&f->dpi->ike[1]);
	free(f->dpi);
	f->dpi = NULL;
	c->stats.dpi_states_live--;
}

const char *classify_library_version(void)
{
	return ndpi_revision();
}

void classifier_free(struct classifier *c)
{
	if (!c)
		return;
	if (c->table.pool)
		for (uint32_t i = 0; i < c->table.never_used; i++) {
			dpi_free(c, &c->table.pool[i]);
			free(c->table.pool[i].verify);
			free(c->table.pool[i].via);
		}
	flow_table_destroy(&c->table);
	if (c->ndpi)
		ndpi_exit_detection_module(c->ndpi);
	free(c);
}

static const struct ef_addr *end_addr(const struct flow *f, int dir, uint16_t *port);

/* ---- deciding ----------------------------------------------------------- */

static void set_app(struct classifier *c, struct flow *f, ndpi_protocol proto)
{
	ndpi_protocol2name(c->ndpi, proto, f->app, sizeof(f->app));
}

static void rejudge(struct classifier *c, struct flow *f, int dir, const struct verify_break *b, uint64_t dir_off)
{
	f->enc = b->to;
	f->rejudged = true;
	f->rejudge_dir = (uint8_t)dir;
	f->rejudge_offset = b->use_dir_offset ? b->dir_offset : dir_off + b->at;
	f->rejudge_reason = b->reason;
	free(f->verify);
	f->verify = NULL;
	c->stats.rejudged++;
}

/* The SSH server's stream: where its packets start (after its banner). */
static bool ssh_server_packets(const struct stream *s, uint32_t *off)
{
	for (uint32_t o = 0; o + 4 <= s->hist_len;) {
		const uint8_t *nl = memchr(s->hist + o, '\n', s->hist_len - o);
		if (!nl)
			return false;
		if (memcmp(s->hist + o, "SSH-", 4) == 0) {
			*off = (uint32_t)(nl - s->hist) + 1;
			return true;
		}
		o = (uint32_t)(nl - s->hist) + 1;
	}
	return false;
}

/*
 * A TCP flow just decided encrypted: the watch takes each direction's
 * framing from where the walkers stopped, and first reads the bytes already
 * in hand after that point (the deciding segment may carry more).
 */
static void verify_begin_tcp(struct classifier *c, struct flow *f)
{
	struct flow_dpi *d = f->dpi;
	struct verify *v = f->verify;

	for (int dir = 0; dir < 2 && f->verify; dir++) {
		const struct stream *s = &d->dir[dir];
		uint32_t off = 0;
		bool known, protected_ = false;
		if (v->kind == VERIFY_TLS) {
			off = d->tls.off[dir] > d->tls.start[dir] ? d->tls.off[dir] : d->tls.start[dir];
			protected_ = d->tls.ccs[dir];
			known = true;
		} else if (d->ssh1) { /* both sides' ciphertext, from where the walk saw it start */
			off = d->ssh1_off[dir];
			protected_ = known = true;
		} else if (dir == 0) {
			off = d->ssh.off; /* at the client's NEWKEYS */
			known = true;
		} else {
			known = ssh_server_packets(s, &off);
		}
		/* Framing carries over only when the history holds every byte so far. */
		if (known && s->seq_known && !s->gap && off <= s->hist_len && s->next_seq == s->base_seq + s->hist_len) {
			struct verify_break b;
			verify_tcp_start(v, dir, true, s->base_seq + off, protected_, s->first_seq, true);
			if (!verify_tcp_bytes(v, dir, s->hist + off, s->hist_len - off, off, &b))
				rejudge(c, f, dir, &b, off);
		} else {
			/* TLS 1.3 protects everything after the ServerHello; before
			 * 1.3, a side that has not sent its CCS may still be sending
			 * its plaintext handshake. */
			bool tls13 = tls_version_is_13(v->version);
			verify_tcp_start(v, dir, false, s->next_seq, v->kind != VERIFY_TLS || protected_ || tls13, s->first_seq,
					 s->seq_known);
		}
	}
}

/* A clear-text flow that is, or may be, an FTP control channel: named FTP
 * (by nDPI or its greeting), on FTP's port (a control channel picked up
 * mid-stream, which nothing names), or seen announcing a data endpoint. */
static bool ftp_control_like(const struct flow *f)
{
	if (f->ftp_announced || f->key.lo_port == 21 || f->key.hi_port == 21)
		return true;
	return f->dpi && f->dpi->ndpi_detected &&
	       (f->dpi->ndpi_master ? f->dpi->ndpi_master : f->dpi->ndpi_app) == NDPI_PROTOCOL_FTP_CONTROL;
}

/* Bytes sent that nobody read can carry anything: never `encrypted'. */
static const char incomplete_reason[] = "fragments of a datagram that never completed were sent and not examined";

static void decide(struct classifier *c, struct flow *f, enum ef_encryption enc)
{
	f->enc = enc;
	f->decided = true;
	for (int dir = 0; dir < 2 && f->dpi; dir++) {
		f->hs_clear[dir] = f->dpi->hs[dir].clear;
		f->hs_unproven[dir] = f->dpi->hs[dir].unproven;
	}
	if (enc == EF_ENC_CLEARTEXT && f->key.l4 == IPPROTO_TCP && ftp_control_like(f))
		f->ftp_control = true;
	c->stats.decided++;
	if (f->dpi) {
		f->conflict = f->dpi->dir[0].conflict || f->dpi->dir[1].conflict;
		/* A stream whose copies disagreed is never called encrypted on the
		 * strength of the copy we happened to read. */
		if (f->conflict && enc == EF_ENC_ENCRYPTED) {
			f->enc = EF_ENC_UNKNOWN;
			f->why_unknown = "retransmitted bytes disagreed with the first copy (reassembly conflict)";
		}
		/* Payload behind the stream that no kept copy vouches for (sent
		 * before the first byte, into a hole, beyond what hist keeps):
		 * text there left readable whatever the stream proves; bytes too
		 * few to judge leave no claim standing.  Only claims change: a
		 * flow nothing proved stays as it was. */
		for (int dir = 0; dir < 2 && f->key.l4 == IPPROTO_TCP; dir++) {
			struct stream *s = &f->dpi->dir[dir];
			const char *why = stream_unmatched_verdict(s);
			if (why && s->unmatched_text && (f->enc == EF_ENC_ENCRYPTED || f->enc == EF_ENC_WEAK)) {
				f->enc = EF_ENC_CLEARTEXT;
				f->why_cleartext = why;
			} else if (why && (f->enc == EF_ENC_ENCRYPTED || f->enc == EF_ENC_WEAK)) {
				f->enc = EF_ENC_UNKNOWN;
				f->why_unknown = why;
			}
		}
	}
	if (f->incomplete && (f->enc == EF_ENC_ENCRYPTED || f->enc == EF_ENC_WEAK)) {
		f->enc = EF_ENC_UNKNOWN;
		f->why_unknown = incomplete_reason;
	}
#ifndef EF_NO_VERIFY /* bench/ builds without the watch to measure its cost */
	if ((f->enc == EF_ENC_ENCRYPTED || f->enc == EF_ENC_WEAK) && f->watch_kind) {
		/* Per flow, at the decision, never per packet; a claim that
		 * cannot be watched is not made (fail closed). */
		f->verify = calloc(1, sizeof(*f->verify));
		if (!f->verify) {
			f->enc = EF_ENC_UNKNOWN;
			f->why_unknown = "out of memory for the check that keeps the claim";
		} else {
			verify_init(f->verify, f->hash);
			f->verify->kind = f->watch_kind;
			f->verify->version = f->tls_version;
			f->verify->quic_version = f->dpi ? f->dpi->quic_version : 0;
			if (f->dpi && (f->watch_kind == VERIFY_TLS || f->watch_kind == VERIFY_SSH))
				verify_begin_tcp(c, f);
		}
	}
#endif
	f->watch_kind = VERIFY_NONE;
	dpi_free(c, f);
}

/* What an encrypted decision will be watched as, from here on. */
static void decide_watched(struct classifier *c, struct flow *f, enum verify_kind kind, enum ef_encryption enc)
{
	f->watch_kind = (uint8_t)kind;
	decide(c, f, enc);
}

static void decide_tls(struct classifier *c, struct flow *f, uint16_t version, uint16_t cipher, bool dtls)
{
	bool weak_cipher;

	f->watch_kind = version == 0x0002 ? VERIFY_NONE : dtls ? VERIFY_DTLS : VERIFY_TLS;
	f->tls_version = version;
	f->cipher = cipher;
	tls_cipher_bits(cipher, NULL, &weak_cipher);
	/* A TLS 1.3 draft is 1.3-strength when it negotiated one of 1.3's own
	 * suites; with anything else it is a version nobody can vouch for. */
	bool draft13 = !dtls && version != 0x0304 && tls_version_is_13(version);
	bool old_version = dtls ? (version == 0xfeff || version == 0x0100)
		     : draft13 ? !tls_13_suite(cipher)
			       : (version < 0x0303 || (version >> 8) != 3);
	decide(c, f, weak_cipher || old_version ? EF_ENC_WEAK : EF_ENC_ENCRYPTED);
}

static enum class_rule rule_for(struct classifier *c, uint16_t master, uint16_t app)
{
	uint16_t id = master ? master : app;
	ndpi_protocol p = {master, app, 0};
	bool clear = !ndpi_is_encrypted_proto(c->ndpi, p);
	enum class_rule r = class_rule_of(id, clear);

	if (r == CLASS_RULE_UNKNOWN && master && app)
		r = class_rule_of(app, clear);
	return r;
}

/* The flow's protocol is named (by nDPI, or by the fast recognisers): the
 * rule for its class is looked up here, once, not per packet. */
static void set_detected(struct classifier *c, struct flow *f, uint16_t master, uint16_t app)
{
	struct flow_dpi *d = f->dpi;

	d->ndpi_detected = true;
	d->ndpi_master = master;
	d->ndpi_app = app;
	d->rule = (uint8_t)rule_for(c, master, app);
}

/*
 * Runs what the flow's protocol needs on the bytes seen so far, and decides
 * when the evidence is complete.
 */
/*
 * nDPI 4.2 names most mail and FTP sessions by port alone (its dissectors
 * give up on an unexpected command), and renames a session IMAPS, SMTPS or
 * POPS once it has seen STARTTLS.  The greeting line tells the protocol just
 * as surely, and is what the STARTTLS walker needs.
 */
static uint16_t greeting_protocol(const struct stream *server, uint16_t port)
{
	const uint8_t *h = server->hist;
	uint32_t n = server->hist_len;

	if (n < 5 || !memchr(h, '\n', n))
		return 0;
	if (memcmp(h, "+OK", 3) == 0)
		return NDPI_PROTOCOL_MAIL_POP;
	if (memcmp(h, "* OK", 4) == 0 || memcmp(h, "* PREAUTH", 9 <= n ? 9 : n) == 0)
		return NDPI_PROTOCOL_MAIL_IMAP;
	if (memcmp(h, "220", 3) == 0 && (h[3] == ' ' || h[3] == '-'))
		return port == 21 || memmem(h, n, "FTP", 3) ? NDPI_PROTOCOL_FTP_CONTROL : NDPI_PROTOCOL_MAIL_SMTP;
	return 0;
}

static uint16_t plain_twin(uint16_t id)
{
	switch (id) {
	case NDPI_PROTOCOL_MAIL_IMAPS: return NDPI_PROTOCOL_MAIL_IMAP;
	case NDPI_PROTOCOL_MAIL_SMTPS: return NDPI_PROTOCOL_MAIL_SMTP;
	case NDPI_PROTOCOL_MAIL_POPS: return NDPI_PROTOCOL_MAIL_POP;
	}
	return 0;
}

/* A direction's bytes for the walkers: never NULL, so that no offset is
 * ever added to a null pointer while a side has said nothing yet. */
static const uint8_t *stream_bytes(const struct stream *s)
{
	static const uint8_t none[1];

	return s->hist ? s->hist : none;
}

/*
 * MySQL, PostgreSQL, LDAP and RDP from their first messages: nDPI names the
 * first three by port only and LDAP's StartTLS request as MQTT, so a match
 * of the messages' structure overrides what nDPI said.  Looked at until the
 * first messages tell, then never again.
 */
static void recognise_upgrade(struct classifier *c, struct flow *f)
{
	struct flow_dpi *d = f->dpi;
	const struct stream *cs = &d->dir[0], *ss = &d->dir[1];
	uint16_t id = 0, now = d->ndpi_master ? d->ndpi_master : d->ndpi_app;
	int r = recognise_upgrade_protocol(stream_bytes(cs), cs->hist_len, stream_bytes(ss), ss->hist_len, &id);

	if (r < 0)
		return;
	d->upgrade_read = true;
	if (r > 0 && (!d->ndpi_detected || now != id)) {
		set_detected(c, f, 0, id);
		copy_str(f->app, sizeof(f->app), ndpi_get_proto_name(c->ndpi, id));
		f->app_guessed = false;
	}
}

/* After a security layer that cannot be proven (an LDAP SASL bind,
 * PostgreSQL's GSSAPI encryption, RDP's own layer): the client's bytes
 * after it that are not random, or read as text, are cleartext; else
 * unknown, with the reason. */
static void decide_opaque(struct classifier *c, struct flow *f)
{
	struct flow_dpi *d = f->dpi;
	const struct stream *cs = &d->dir[0];
	uint32_t from = d->up.opaque_at, n = cs->hist_len > from ? cs->hist_len - from : 0;
	const uint8_t *p = stream_bytes(cs) + (n ? from : 0);

	if (n && (look_at(p, n) == LOOK_NOT_RANDOM || look_text(p, n) || command_lines(p, n))) {
		decide(c, f, EF_ENC_CLEARTEXT);
		return;
	}
	f->why_unknown = d->up.why;
	decide(c, f, EF_ENC_UNKNOWN);
}

/* Until the protocol's own upgrade: false while undecided and not in TLS
 * (decided cleartext or unknown here when its messages tell). */
static bool evaluate_upgrade(struct classifier *c, struct flow *f, uint16_t id)
{
	struct flow_dpi *d = f->dpi;
	const struct stream *cs = &d->dir[0], *ss = &d->dir[1];

	d->up.proto = id;
	enum walk_verdict v = upgrade_walk(&d->up, &d->tls, stream_bytes(cs), cs->hist_len, stream_bytes(ss),
					   ss->hist_len);
	if (d->up.state == UPG_OPAQUE) {
		/* No claim is made, so no watch follows: the client's next bytes
		 * are judged here instead, so that a security layer announced
		 * and then not used is no way to send text as `unknown'. */
		if (!d->up.opaque_at)
			d->up.opaque_at = cs->hist_len;
		if (cs->hist_len - d->up.opaque_at >= LOOK_WINDOW)
			decide_opaque(c, f);
		return false;
	}
	if (v == WALK_BROKEN) {
		decide(c, f, EF_ENC_CLEARTEXT);
		return false;
	}
	return d->up.state == UPG_TLS;
}

/* SSH protocol 1: weak once proven (its ciphers and CRC-32 integrity are
 * broken by design), and watched as SSH from where each side's ciphertext
 * begins. */
static void evaluate_ssh1(struct classifier *c, struct flow *f)
{
	struct flow_dpi *d = f->dpi;
	enum walk_verdict v = ssh1_walk(d->ssh1_off, stream_bytes(&d->dir[0]), d->dir[0].hist_len,
					stream_bytes(&d->dir[1]), d->dir[1].hist_len);

	if (v == WALK_DONE) {
		d->ssh1 = true;
		decide_watched(c, f, VERIFY_SSH, EF_ENC_WEAK);
	} else if (v == WALK_BROKEN) {
		decide(c, f, EF_ENC_CLEARTEXT);
	}
}

/*
 * The cleartext handshake's allowance, per side: the bytes nothing vouches
 * for (struct hs_count's unproven: names, lists, unknown extensions, early
 * data, STARTTLS negotiation).  The largest genuine counts measured on the
 * shared captures (nDPI's test suite, about 10,000 flows) were 772 (a TLS
 * client offering very many suites), 1,218 (a TLS server), 1,593 and 1,642
 * (SSH client and server KEXINITs); OpenSSH 9.2's own, with its default
 * post-quantum key exchange, 1,619 and 1,314.  Random fields (post-quantum
 * key shares too) and the random parts of certificates and OCSP responses
 * are not counted; their text is, against its own bound below.  An
 * insider gets at most this much out per connection and side, and the
 * event says how much there was (the certificates' text included).
 */
#define HS_UNPROVEN_MAX 2048u

/*
 * Certificates' text (names, URLs, identifiers, times: what X.509's shape
 * does not prove, walkers.c's der_walk()), per side, apart from the
 * allowance above, because genuine chains need more: on the shared
 * captures the largest were 3,522 bytes (a server's chain, iphone.pcap)
 * and 1,693 (a client's certificate).  This leaves room for servers with
 * long subjectAltName lists; an insider's certificate carries no more.
 */
#define HS_CERT_TEXT_MAX 8192u

/* Why the handshake makes the flow cleartext, or NULL. */
static const char *handshake_out_of_bounds(struct flow *f)
{
	const struct flow_dpi *d = f->dpi;

	for (int dir = 0; dir < 2; dir++)
		if (d->hs[dir].broke)
			return d->hs[dir].broke;
	for (int dir = 0; dir < 2; dir++)
		if (d->hs[dir].unproven - d->hs[dir].cert_text - d->hs[dir].reassembling > HS_UNPROVEN_MAX)
			return "more of the handshake in the clear than the allowance (bytes not proven random or X.509)";
	for (int dir = 0; dir < 2; dir++)
		if (d->hs[dir].cert_text > HS_CERT_TEXT_MAX)
			return "more text in certificates than the allowance";
	return NULL;
}

static void decide_cleartext(struct classifier *c, struct flow *f, const char *why)
{
	f->why_cleartext = why;
	decide(c, f, EF_ENC_CLEARTEXT);
}

/*
 * Runs what the flow's protocol needs on the bytes seen so far, and decides
 * when the evidence is complete.
 */
static void evaluate(struct classifier *c, struct flow *f)
{
	struct flow_dpi *d = f->dpi;
	const struct stream *cs = &d->dir[0], *ss = &d->dir[1];
	enum walk_verdict v;
	uint16_t port;

	end_addr(f, 1, &port);
	uint16_t id = d->ndpi_master ? d->ndpi_master : d->ndpi_app;
	/* The server's first line names a text protocol for good: read it once
	 * it is there (and the client has spoken), then never again. */
	if (!d->greeting_read && f->key.l4 == IPPROTO_TCP && cs->hist_len && ss->hist_len &&
	    memchr(ss->hist, '\n', ss->hist_len)) {
		d->greeting_read = true;
		uint16_t greeting = greeting_protocol(ss, port);
		if (greeting && (!d->ndpi_detected || (plain_twin(id) && cs->hist[0] != 0x16))) {
			/* A text session: judge it by its commands, whatever nDPI said. */
			if (!f->app[0] || plain_twin(id))
				copy_str(f->app, sizeof(f->app), ndpi_get_proto_name(c->ndpi, greeting));
			set_detected(c, f, 0, greeting);
		}
	}
	if (!d->upgrade_read && f->key.l4 == IPPROTO_TCP)
		recognise_upgrade(c, f);
	if (!d->ndpi_detected)
		return;
	id = d->ndpi_master ? d->ndpi_master : d->ndpi_app;
	switch ((enum class_rule)d->rule) {
	case CLASS_RULE_CLEARTEXT:
		decide(c, f, EF_ENC_CLEARTEXT);
		return;
	case CLASS_RULE_UNKNOWN:
		f->why_unknown = "a protocol whose protection its name does not tell";
		decide(c, f, EF_ENC_UNKNOWN);
		return;
	case CLASS_RULE_ENCRYPTED:
		/* QUIC: a client's long header is no proof (random bytes after
		 * one pass nDPI); the server's reply must itself be QUIC of that
		 * version.  WireGuard and IPsec are proven in inspect_datagram()
		 * from their own packets.  The others need an answer. */
		if (d->ndpi_master == NDPI_PROTOCOL_QUIC || d->ndpi_app == NDPI_PROTOCOL_QUIC) {
			if (d->quic_version && d->evidence[1])
				decide_watched(c, f, VERIFY_QUIC, EF_ENC_ENCRYPTED);
		} else if (id == NDPI_PROTOCOL_OPENVPN) {
			/* nDPI names OpenVPN from one 80-byte datagram, or a
			 * reset pair: no proof.  UDP is proven in
			 * openvpn_evidence() from its data packets; over TCP its
			 * packets are not checked, so it stays unproven. */
			if (f->key.l4 != IPPROTO_UDP && d->payload_packets[0] && d->payload_packets[1]) {
				f->why_unknown = "OpenVPN over TCP: its data channel is not checked";
				decide(c, f, EF_ENC_UNKNOWN);
			}
		} else if (id != NDPI_PROTOCOL_WIREGUARD && id != NDPI_PROTOCOL_IP_IPSEC &&
			   d->payload_packets[0] && d->payload_packets[1]) {
			decide(c, f, EF_ENC_ENCRYPTED);
		}
		return;
	case CLASS_RULE_DTLS:
		return; /* decided in feed_datagram() from the server's hello */
	case CLASS_RULE_SSH:
		if (f->key.l4 == IPPROTO_TCP && ssh1_banner(cs->hist, cs->hist_len)) {
			evaluate_ssh1(c, f);
			return;
		}
		v = ssh_walk(&d->ssh, cs->hist, cs->hist_len, ss->hist, ss->hist_len, d->hs);
		if (v != WALK_BROKEN && handshake_out_of_bounds(f))
			decide_cleartext(c, f, handshake_out_of_bounds(f));
		else if (v == WALK_DONE && f->key.l4 == IPPROTO_TCP)
			decide_watched(c, f, VERIFY_SSH, EF_ENC_ENCRYPTED);
		else if (v == WALK_DONE)
			decide(c, f, EF_ENC_ENCRYPTED);
		else if (v == WALK_BROKEN)
			decide_cleartext(c, f, d->hs[0].broke);
		return;
	case CLASS_RULE_STARTTLS:
		if (upgrade_protocol(id)) {
			if (d->up.state != UPG_TLS && !evaluate_upgrade(c, f, id))
				return;
		} else if (d->stls.state != STLS_TLS) {
			d->stls.ndpi_id = d->ndpi_master ? d->ndpi_master : d->ndpi_app;
			v = starttls_walk(&d->stls, &d->tls, cs->hist, cs->hist_len, ss->hist, ss->hist_len);
			if (v == WALK_BROKEN) {
				decide_cleartext(c, f, d->stls.broke);
				return;
			}
			if (d->stls.state != STLS_TLS)
				return;
		}
		/* the upgraded part is TLS */
		__attribute__((fallthrough));
	case CLASS_RULE_TLS:
		v = tls_walk(&d->tls, 1, ss->hist, ss->hist_len, &d->hs[1]);
		if (v == WALK_DONE && d->tls.sslv2) {
			decide_tls(c, f, 0x0002, 0, false);
			return;
		}
		if (v != WALK_BROKEN)
			v = tls_walk(&d->tls, 0, cs->hist, cs->hist_len, &d->hs[0]);
		if (v != WALK_BROKEN && handshake_out_of_bounds(f))
			decide_cleartext(c, f, handshake_out_of_bounds(f));
		else if (v == WALK_BROKEN || d->tls.plaintext_in_record)
			decide(c, f, EF_ENC_CLEARTEXT); /* data outside (or readable inside) TLS records */
		else if (v == WALK_DONE)
			decide_tls(c, f, d->tls.version, d->tls.cipher, false);
		return;
	}
}

/* Text nobody protected, by the one judgement of verify.c (its printable
 * share): what a cleartext transfer picked up mid-stream looks like, where
 * no protocol header is in view for nDPI to name.  A conversation too short
 * for the statistics (a QUIT and its reply, one IRC line) reads as text
 * when everything either side said is whole command lines. */
static bool reads_as_text(const struct flow_dpi *d)
{
	const struct stream *a = &d->dir[0], *b = &d->dir[1];

	if ((a->hist_len >= LOOK_WINDOW && look_text(a->hist, a->hist_len)) ||
	    (b->hist_len >= LOOK_WINDOW && look_text(b->hist, b->hist_len)))
		return true;
	if (a->hist_len >= LOOK_WINDOW || b->hist_len >= LOOK_WINDOW || a->gap || b->gap ||
	    (!a->hist_len && !b->hist_len))
		return false;
	return (!a->hist_len || command_lines(a->hist, a->hist_len)) &&
	       (!b->hist_len || command_lines(b->hist, b->hist_len));
}

/* The class of a flow whose evidence ended (give-up, timeout, eviction). */
static void finalise(struct classifier *c, struct flow *f)
{
	struct flow_dpi *d = f->dpi;

	if (f->decided)
		return;
	if (!d) { /* never carried payload */
		if (!f->app[0])
			copy_str(f->app, sizeof(f->app), "Unknown");
		f->enc = EF_ENC_UNKNOWN;
		f->why_unknown = f->incomplete ? incomplete_reason : "no payload";
		f->decided = true;
		return;
	}
	if (!d->ndpi_detected && d->ndpi) {
		uint8_t guessed = 0;
		ndpi_protocol p = ndpi_detection_giveup(c->ndpi, d->ndpi, 1, &guessed);
		c->stats.gave_up++;
		if (p.master_protocol || p.app_protocol) {
			set_app(c, f, p);
			if (guessed || d->ndpi->confidence != NDPI_CONFIDENCE_DPI) {
				f->app_guessed = true;
			} else {
				set_detected(c, f, p.master_protocol, p.app_protocol);
				evaluate(c, f);
				if (f->decided)
					return;
			}
		}
	}
	enum ef_encryption enc = EF_ENC_UNKNOWN;
	if (d->ndpi_detected) {
		enum class_rule r = (enum class_rule)d->rule;
		/* A STARTTLS protocol that never upgraded and never carried data
		 * was still a clear-text session. */
		if (r == CLASS_RULE_STARTTLS && d->up.state == UPG_OPAQUE) {
			decide_opaque(c, f);
			return;
		}
		if (r == CLASS_RULE_STARTTLS && d->stls.state != STLS_TLS && d->up.state != UPG_TLS)
			enc = EF_ENC_CLEARTEXT;
		if (r == CLASS_RULE_CLEARTEXT) /* left undecided to see what followed (STUN) */
			enc = EF_ENC_CLEARTEXT;
		if (r == CLASS_RULE_TLS && d->tls.server_hello && !d->tls.client_protected) {
			f->tls_version = d->tls.version;
			f->cipher = d->tls.cipher;
		}
	} else if (reads_as_text(d)) {
		enc = EF_ENC_CLEARTEXT;
	}
	/* One side's word is no proof: as TLS needs the server's hello, SSH
	 * needs the server's banner, and a capture of the client's side alone
	 * (asymmetric routing) holds none of the server's packets. */
	if (enc == EF_ENC_UNKNOWN && d->ndpi_detected && d->rule == CLASS_RULE_SSH && d->ssh.newkeys &&
	    !d->ssh.server_banner)
		f->why_unknown = f->packets[1] ? "SSH: the client's NEWKEYS, but the server sent no SSH banner"
			       : "SSH seen from the client's side only: its NEWKEYS is the client's word alone, with "
				 "none of the server's packets in the capture to prove the key exchange";
	else if (enc == EF_ENC_UNKNOWN)
		f->why_unknown = !d->payload_packets[0] && !d->payload_packets[1] ? "no payload"
				 : d->ndpi_detected ? "its handshake never completed"
				 : f->app_guessed ? "named from the port or address only, not from the payload"
						  : "no protocol recognised in the payload, and it does not read as text";
	if (!f->app[0])
		copy_str(f->app, sizeof(f->app), "Unknown");
	decide(c, f, enc);
}

/* ---- feeding nDPI -------------------------------------------------------- */

static const struct ef_addr *end_addr(const struct flow *f, int dir, uint16_t *port)
{
	bool lo = (dir == 0) == f->init_is_lo;

	*port = lo ? f->key.lo_port : f->key.hi_port;
	return lo ? &f->key.lo : &f->key.hi;
}

static void ndpi_result(struct classifier *c, struct flow *f, ndpi_protocol p)
{
	struct flow_dpi *d = f->dpi;

	if (d->ndpi_detected || (!p.master_protocol && !p.app_protocol))
		return;
	/* Named by port, by address, or from nDPI's caches of what other flows
	 * were (which differ between workers): keep looking at this flow. */
	if (d->ndpi->confidence != NDPI_CONFIDENCE_DPI)
		return;
	set_detected(c, f, p.master_protocol, p.app_protocol);
	set_app(c, f, p);
	if (d->ndpi->host_server_name[0])
		copy_str(f->server_name, sizeof(f->server_name), d->ndpi->host_server_name);
}

/* Builds an IP+TCP packet around bytes [from, from+len) of a direction's
 * history and hands it to nDPI.  No ACK flag: nDPI's own sequence tracking
 * would otherwise second-guess the reassembly done here. */
static void feed_segment(struct classifier *c, struct flow *f, int dir, uint32_t from, uint32_t len, uint64_t ts)
{
	struct flow_dpi *d = f->dpi;
	struct stream *s = &d->dir[dir];
	uint16_t sport, dport;
	const struct ef_addr *src = end_addr(f, dir, &sport), *dst = end_addr(f, !dir, &dport);
	uint8_t *h = c->synth;
	uint32_t hl = src->family == 4 ? 20 : 40, total = hl + 20 + len;

	memset(h, 0, hl + 20);
	if (src->family == 4) {
		h[0] = 0x45;
		h[2] = (uint8_t)(total >> 8);
		h[3] = (uint8_t)total;
		h[8] = 64;
		h[9] = IPPROTO_TCP;
		memcpy(h + 12, src->b, 4);
		memcpy(h + 16, dst->b, 4);
	} else {
		h[0] = 0x60;
		h[4] = (uint8_t)((total - 40) >> 8);
		h[5] = (uint8_t)(total - 40);
		h[6] = IPPROTO_TCP;
		h[7] = 64;
		memcpy(h + 8, src->b, 16);
		memcpy(h + 24, dst->b, 16);
	}
	uint8_t *t = h + hl;
	uint32_t seq = s->base_seq + from;
	t[0] = (uint8_t)(sport >> 8);
	t[1] = (uint8_t)sport;
	t[2] = (uint8_t)(dport >> 8);
	t[3] = (uint8_t)dport;
	t[4] = (uint8_t)(seq >> 24);
	t[5] = (uint8_t)(seq >> 16);
	t[6] = (uint8_t)(seq >> 8);
	t[7] = (uint8_t)seq;
	t[12] = 5 << 4;
	t[13] = TH_PUSH;
	t[14] = 0xff;
	t[15] = 0xff;
	memcpy(t + 20, s->hist + from, len);
	d->dpi_packets++;
	ndpi_result(c, f, ndpi_detection_process_packet(c->ndpi, d->ndpi, h, (unsigned short)total, ts / 1000));
}

/* Hands a direction's pending bytes to nDPI -- unless the client's first
 * bytes are a TLS ClientHello or an HTTP request, which are recognised
 * here (the walkers judge them either way) at a fraction of nDPI's cost:
 * a third of all audit time went to nDPI's JA3 formatting of hellos. */
static void flush_pending(struct classifier *c, struct flow *f, int dir, uint64_t ts)
{
	struct stream *s = &f->dpi->dir[dir];

	if (dir == 0 && s->fed == 0 && s->hist_len && !f->dpi->ndpi_detected) {
		uint16_t id = recognise_client_start(s->hist, s->hist_len, f->server_name, sizeof(f->server_name));
		if (id) {
			/* The name's owner (TLS.Google) from nDPI's host list alone. */
			ndpi_protocol_match_result match;
			uint16_t sub = 0;
			size_t len = strlen(f->server_name);
			if (len)
				sub = ndpi_match_host_subprotocol(c->ndpi, f->dpi->ndpi, f->server_name, (u_int)len,
								  &match, id);
			ndpi_protocol p = {sub && sub != id ? id : 0, sub && sub != id ? sub : id, 0};
			set_detected(c, f, p.master_protocol, p.app_protocol);
			set_app(c, f, p);
		}
	}

	while (s->fed < s->hist_len) {
		uint32_t n = s->hist_len - s->fed;
		if (n > FEED_FULL_SEGMENT * 4)
			n = FEED_FULL_SEGMENT * 4;
		/* Once nDPI has named the protocol, the walkers take over: its
		 * extra dissection (certificates, JA3) adds nothing to the class. */
		if (!f->dpi->ndpi_detected)
			feed_segment(c, f, dir, s->fed, n, ts);
		s->fed += n;
	}
	s->pending_segs = 0;
	s->retransmitted = false;
}

/* Whether pending bytes end at a boundary nDPI can judge. */
static bool pending_ready(const struct stream *s, bool psh)
{
	uint32_t n = s->hist_len - s->fed;

	if (n == 0)
		return false; /* hist may still be NULL: no pointer into it yet */
	const uint8_t *p = s->hist + s->fed;
	if (n >= FEED_FULL_SEGMENT || s->pending_segs >= FEED_MAX_SEGMENTS || s->retransmitted ||
	    s->hist_len >= STREAM_HIST_MAX)
		return true;
	if (memchr(p, '\n', n))
		return true;
	if (n >= 5 && p[0] >= 20 && p[0] <= 24 && p[1] == 3) /* a whole TLS record */
		return n >= 5u + (uint32_t)(p[3] << 8 | p[4]);
	if (n >= 2 && (p[0] & 0x80)) /* SSLv2-framed hello */
		return n >= 2u + (((uint32_t)p[0] & 0x7f) << 8 | p[1]);
	return psh && n >= 32;
}

static struct flow_dpi *dpi_state(struct classifier *c, struct flow *f)
{
	if (f->dpi)
		return f->dpi;
	f->dpi = calloc(1, sizeof(*f->dpi));
	if (!f->dpi)
		return NULL;
	f->dpi->ndpi = ndpi_flow_malloc(SIZEOF_FLOW_STRUCT);
	if (!f->dpi->ndpi) {
		free(f->dpi);
		f->dpi = NULL;
		return NULL;
	}
	memset(f->dpi->ndpi, 0, SIZEOF_FLOW_STRUCT);
	if (++c->stats.dpi_states_live > c->stats.dpi_states_peak)
		c->stats.dpi_states_peak = c->stats.dpi_states_live;
	return f->dpi;
}

static void inspect_tcp(struct classifier *c, struct flow *f, int dir, const struct packet *p)
{
	struct flow_dpi *d = f->dpi;
	struct stream *s = &d->dir[dir];

	if ((p->tcp_flags & TH_SYN) && !s->seq_known) {
		s->seq_known = true;
		s->first_seq = s->base_seq = s->next_seq = p->tcp_seq + 1;
	}
	if (p->payload_len == 0)
		return;
	d->payload_packets[dir]++;
	/* The other side speaking ends this side's turn. */
	flush_pending(c, f, !dir, p->ts_us);
	stream_add(s, p->tcp_seq + ((p->tcp_flags & TH_SYN) ? 1u : 0u), p->payload, p->payload_len, &c->stats);
	if (pending_ready(s, p->tcp_flags & TH_PUSH))
		flush_pending(c, f, dir, p->ts_us);
	evaluate(c, f);
}

/*
 * IKE (ISAKMP) on 500 or 4500: nDPI 4.2 names it by port only.  The header
 * is checked field by field -- a non-zero initiator SPI, a known version and
 * exchange type, and a length equal to the datagram's -- which random or
 * crafted payload does not pass by chance.  Returns the header, or NULL.
 */
static const uint8_t *ike_header(const struct packet *p)
{
	const uint8_t *h = p->payload;
	uint32_t n = p->payload_len;
	static const uint8_t zero[8];

	if (p->sport != 500 && p->dport != 500 && p->sport != 4500 && p->dport != 4500)
		return NULL;
	if ((p->sport == 4500 || p->dport == 4500) && n >= 4 && !memcmp(h, zero, 4)) {
		h += 4; /* non-ESP marker */
		n -= 4;
	}
	if (n < 28 || !memcmp(h, zero, 8))
		return NULL;
	uint8_t version = h[17], exchange = h[18];
	uint32_t length = (uint32_t)h[24] << 24 | (uint32_t)h[25] << 16 | (uint32_t)h[26] << 8 | h[27];
	/* IKEv2: IKE_SA_INIT to INFORMATIONAL, IKE_SESSION_RESUME (RFC 5723),
	 * IKE_INTERMEDIATE (RFC 9242) and IKE_FOLLOWUP_KE (RFC 9370), which
	 * post-quantum key exchanges add */
	bool v2 = version == 0x20 && ((exchange >= 34 && exchange <= 38) || exchange == 43 || exchange == 44);
	bool v1 = version == 0x10 && (exchange == 2 || exchange == 4 || exchange == 5 || exchange == 6 || exchange == 32);
	return (v1 || v2) && length == n ? h : NULL;
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * ESP: encrypted only with evidence -- a side's packets keep one SPI with
 * rising sequence numbers, and their payload (after SPI, sequence number
 * and an IV's first 8 bytes) looks random.  ESP with NULL encryption
 * (its trailer and inner header in the clear, RFC 5879) or readable
 * payload is cleartext.
 */
static void esp_evidence(struct classifier *c, struct flow *f, int dir, const struct packet *p)
{
	struct flow_dpi *d = f->dpi;
	const uint8_t *q = p->payload;
	uint32_t n = p->payload_len;

	copy_str(f->app, sizeof(f->app), "IPsec");
	if (n < 8) {
		d->broken[dir] = true;
		return;
	}
	if (esp_null_like(q, n)) {
		decide(c, f, EF_ENC_CLEARTEXT);
		return;
	}
	uint32_t spi = be32(q), seq = be32(q + 4);
	if (d->payload_packets[dir] == 1) {
		d->spi[dir] = spi;
		d->seq[dir] = seq;
	} else if (spi != d->spi[dir] || seq <= d->seq[dir]) {
		d->broken[dir] = true; /* not one SA's packets: never proven */
	} else {
		d->seq[dir] = seq;
	}
	if (n > 16)
		look_add(&d->look[dir], q + 16, n - 16);
	enum look_result r = look_judge(&d->look[dir]);
	if (r == LOOK_NOT_RANDOM) {
		decide(c, f, EF_ENC_CLEARTEXT); /* frees d */
		return;
	}
	if (r == LOOK_RANDOM && d->look[dir].n >= 64 && !d->broken[dir])
		d->evidence[dir] = true;
	/* One side's SA seen to advance, or both sides' SAs carrying random
	 * payload (a single exchange, as a ping through a tunnel makes). */
	if (d->evidence[dir] && (d->payload_packets[dir] >= 2 || d->evidence[!dir]))
		decide_watched(c, f, VERIFY_ESP, EF_ENC_ENCRYPTED);
}

/*
 * IKE: encrypted once both sides sent an Encrypted payload that looks like
 * ciphertext (IKEv2's SK, first in IKE_AUTH; IKEv1's encryption flag after
 * main mode).  One side's plausible headers alone stay unknown.  The
 * messages in the clear before it are a handshake (ike_message): text where
 * IKE wants random bytes, or more unproven bytes than HS_UNPROVEN_MAX, make
 * the flow cleartext.  Retransmissions and retries are a few messages:
 * beyond IKE_CLEAR_MESSAGES_MAX new ones from a side, what its key exchange
 * values and nonces carry is no handshake any more (random, so unknown).
 * nDPI's ipsec_isakmp_esp.pcap sends at most 8 on one flow (4 attempts,
 * each retried with a COOKIE).
 */
#define IKE_CLEAR_MESSAGES_MAX 16u

static void ike_evidence(struct classifier *c, struct flow *f, int dir, const uint8_t *h)
{
	struct flow_dpi *d = f->dpi;
	const char *why;

	copy_str(f->app, sizeof(f->app), "IPsec");
	enum walk_verdict v = ike_message(&d->ike[dir], h, be32(h + 24), &d->hs[dir]);
	if ((why = handshake_out_of_bounds(f))) {
		decide_cleartext(c, f, why);
		return;
	}
	if (d->ike[dir].messages > IKE_CLEAR_MESSAGES_MAX) {
		f->why_unknown = "more IKE messages in the clear than a handshake and its retries";
		decide(c, f, EF_ENC_UNKNOWN);
		return;
	}
	if (v == WALK_DONE)
		d->ike_encrypted[dir] = true;
	if (d->ike_encrypted[0] && d->ike_encrypted[1])
		decide_watched(c, f, VERIFY_IKE, EF_ENC_ENCRYPTED);
}

/* WireGuard, once nDPI named its handshake: the 148/92-byte pair is no
 * proof; the client's transport packets (type 4) must look random. */
static void wireguard_evidence(struct classifier *c, struct flow *f, int dir, const struct packet *p)
{
	struct flow_dpi *d = f->dpi;
	const uint8_t *q = p->payload;
	uint32_t n = p->payload_len;
	static const uint32_t sizes[4] = {0, 148, 92, 64};

	if (d->wg_readable) { /* a handshake message before nDPI named it */
		decide(c, f, EF_ENC_CLEARTEXT);
		return;
	}
	if (n >= 4 && q[0] >= 1 && q[0] <= 3 && !q[1] && !q[2] && !q[3] && n == sizes[q[0]])
		return; /* handshake or cookie (inspect_datagram judged its fields) */
	if (n < 32 || q[0] != 4 || q[1] || q[2] || q[3]) {
		f->why_unknown = "random bytes that are not WireGuard after its handshake";
		decide(c, f, look_at(q, n) == LOOK_NOT_RANDOM || look_text(q, n) ? EF_ENC_CLEARTEXT : EF_ENC_UNKNOWN);
		return;
	}
	look_add(&d->look[dir], q + 16, n - 16);
	enum look_result r = look_judge(&d->look[dir]);
	if (r == LOOK_NOT_RANDOM) {
		decide(c, f, EF_ENC_CLEARTEXT); /* frees d */
		return;
	}
	if (r == LOOK_RANDOM && d->look[dir].n >= 64)
		d->evidence[dir] = true;
	if (d->evidence[0])
		decide_watched(c, f, VERIFY_WIREGUARD, EF_ENC_ENCRYPTED);
}

/* OpenVPN over UDP, once nDPI named it: every datagram must be an OpenVPN
 * packet, and the client's data packets (P_DATA_V1/V2) must look random;
 * control packets are the handshake and prove nothing. */
#define OPENVPN_CONTROL_MAX 16384u

static void openvpn_evidence(struct classifier *c, struct flow *f, int dir, const struct packet *p)
{
	struct flow_dpi *d = f->dpi;
	const uint8_t *q = p->payload;
	uint32_t n = p->payload_len;
	unsigned op = n ? q[0] >> 3 : 0;

	if (!n)
		return;
	if (n < 2 || !openvpn_opcode_known(op)) {
		f->why_unknown = "datagrams that are not OpenVPN packets";
		decide(c, f, look_at(q, n) == LOOK_NOT_RANDOM || look_text(q, n) ? EF_ENC_CLEARTEXT : EF_ENC_UNKNOWN);
		return;
	}
	if (op != OPENVPN_P_DATA_V1 && op != OPENVPN_P_DATA_V2) {
		/* The control channel before the decision is the TLS handshake,
		 * certificates and all (readable names in them: no text test
		 * here; it made nDPI's genuine captures cleartext), so it is
		 * bounded: nDPI's openvpn.pcap needs between 4 and 8 KiB a side,
		 * and 16 KiB leaves room for longer chains. */
		if ((d->ovpn_control[dir] += n) > OPENVPN_CONTROL_MAX) {
			f->why_unknown = "an OpenVPN control channel larger than a handshake before any data packet";
			decide(c, f, EF_ENC_UNKNOWN);
		}
		return;
	}
	uint32_t h = openvpn_data_start(op);
	if (n <= h)
		return;
	look_add(&d->look[dir], q + h, n - h);
	enum look_result r = look_judge(&d->look[dir]);
	if (r == LOOK_NOT_RANDOM) {
		decide(c, f, EF_ENC_CLEARTEXT); /* frees d */
		return;
	}
	if (r == LOOK_RANDOM && d->look[dir].n >= 64)
		d->evidence[dir] = true;
	if (d->evidence[0])
		decide_watched(c, f, VERIFY_OPENVPN, EF_ENC_ENCRYPTED);
}

/*
 * DTLS after the server's hello: like TLS, encrypted only with the client's
 * next protected record (epoch >= 1, or DTLS 1.3's unified header) whose
 * content looks like ciphertext.
 */
/* What the client may send before its first DTLS record (STUN's checks
 * on a WebRTC 5-tuple): STUN's attributes (SOFTWARE, USERNAME, ...) are readable by design, so the wait
 * is bounded like a handshake's unproven bytes; ICE's checks take a few
 * hundred.  Past it the flow is never DTLS's `encrypted'. */
#define STUN_WAIT_BYTES 2048u

static void dtls_client_evidence(struct classifier *c, struct flow *f, const struct packet *p)
{
	struct flow_dpi *d = f->dpi;
	const uint8_t *q = p->payload;
	uint32_t n = p->payload_len;

	for (uint32_t i = 0; i < n;) {
		const uint8_t *r = q + i;
		uint32_t left = n - i;
		enum look_result look = LOOK_PENDING;
		if ((r[0] & 0xe0) == 0x20) {
			look = left > 5 ? look_at(r + 5, left - 5) : LOOK_PENDING;
			i = n;
		} else {
			if (left < 13 || r[1] != 0xfe)
				return;
			uint32_t len = (uint32_t)(r[11] << 8 | r[12]);
			if (len > left - 13)
				return;
			if ((r[3] || r[4]) && r[0] != 20 && len > 8)
				look = look_at(r + 13 + 8, len - 8);
			i += 13 + len;
		}
		if (look == LOOK_NOT_RANDOM) {
			decide(c, f, EF_ENC_CLEARTEXT);
			return;
		}
		if (look == LOOK_RANDOM) {
			/* a handshake message never put together was never judged */
			d->hs[0].reassembling = d->hs[1].reassembling = 0;
			const char *why = handshake_out_of_bounds(f);
			if (why) {
				decide_cleartext(c, f, why);
				return;
			}
			if (d->stun_before_dtls > STUN_WAIT_BYTES) {
				/* what went before the handshake was not protected */
				f->why_cleartext = "more than 2048 bytes of datagrams before the DTLS handshake";
				decide(c, f, EF_ENC_CLEARTEXT);
				return;
			}
			decide_tls(c, f, d->dtls_version, d->dtls_cipher, true);
			return;
		}
	}
}

/*
 * STUN's connectivity checks come first on a WebRTC or TURN 5-tuple, and
 * DTLS follows on the same one (RFC 7983 tells them apart by the first
 * byte).  nDPI names the flow STUN from the checks; the class is the
 * DTLS handshake's when one follows.  True while only STUN has been seen
 * (wait), and after switching the flow to DTLS the datagram goes on to
 * the DTLS checks.  Anything else after STUN (RTP, TURN channel data) is
 * judged as STUN: cleartext.
 */
#define STUN_WAIT_DATAGRAMS 16

static bool stun_then_dtls(struct classifier *c, struct flow *f, const struct packet *p)
{
	struct flow_dpi *d = f->dpi;

	if (d->stun_before_dtls > STUN_WAIT_BYTES)
		return false;

	if (dtls_record_start(p->payload, p->payload_len)) {
		set_detected(c, f, 0, NDPI_PROTOCOL_DTLS);
		copy_str(f->app, sizeof(f->app), "DTLS");
		return false;
	}
	return stun_message(p->payload, p->payload_len) &&
	       d->payload_packets[0] + d->payload_packets[1] <= STUN_WAIT_DATAGRAMS;
}

/*
 * nDPI 4.2 reads the TCP header of a DTLS Certificate whose subject names a
 * known service (tls.c, processCertificateElements: packet->tcp->source on a
 * UDP packet over IPv4) -- a NULL dereference, fixed upstream after 4.2
 * (ntop/nDPI#1450), that any server could trigger.  Such datagrams are not
 * given to nDPI: DTLS is named from the hellos, and its handshake is judged
 * by the engine's own walkers.  The walk is a superset of the one nDPI
 * makes (every record by its length, whatever its version), so no record
 * nDPI would reach as a whole Certificate is missed.
 */
static bool ndpi_unsafe_datagram(const struct packet *p)
{
	const uint8_t *b = p->payload;
	uint32_t n = p->payload_len;

	if (p->l4 != IPPROTO_UDP)
		return false;
	for (uint32_t i = 0; i + 13 < n;) {
		uint32_t len = (uint32_t)b[i + 11] << 8 | b[i + 12];
		if (b[i] == 0x16 && len > 16 && i + 13 < n && b[i + 13] == 11)
			return true;
		i += 13 + len;
	}
	return false;
}

static void inspect_datagram(struct classifier *c, struct flow *f, int dir, const struct packet *p)
{
	struct flow_dpi *d = f->dpi;
	const uint8_t *ike;

	if (p->payload_len == 0 && p->l4 != IPPROTO_ESP && p->l4 != IPPROTO_AH)
		return;
	d->payload_packets[dir]++;
	/* The client's datagrams before its first DTLS record (STUN's checks,
	 * or anything): not protected, bounded like a handshake (dtls_client_evidence). */
	if (dir == 0 && p->l4 == IPPROTO_UDP && !d->dtls_started) {
		if (dtls_record_start(p->payload, p->payload_len))
			d->dtls_started = true;
		else if (d->stun_before_dtls < UINT32_MAX - p->payload_len)
			d->stun_before_dtls += p->payload_len;
	}
	if (p->l4 == IPPROTO_AH) { /* AH alone authenticates without encrypting */
		copy_str(f->app, sizeof(f->app), "IPsec");
		decide(c, f, EF_ENC_CLEARTEXT);
		return;
	}
	if (p->l4 == IPPROTO_ESP) {
		esp_evidence(c, f, dir, p);
		return;
	}
	if (p->l4 == IPPROTO_UDP && (ike = ike_header(p))) {
		ike_evidence(c, f, dir, ike);
		return;
	}
	if (p->l3_len <= 65535 && !d->ndpi_detected && !ndpi_unsafe_datagram(p)) {
		d->dpi_packets++;
		ndpi_result(c, f, ndpi_detection_process_packet(c->ndpi, d->ndpi, p->l3, (unsigned short)p->l3_len,
								  p->ts_us / 1000));
	}
	if (dir == 0 && quic_long_version(p->payload, p->payload_len))
		d->quic_version = quic_long_version(p->payload, p->payload_len); /* the latest, after a VN */
	/* nDPI 4.2 predates QUIC v2 (RFC 9369): its Initial is named here
	 * (v2's Initial type bits are 01), and judged like v1's -- encrypted
	 * only once the server answers in v2. */
	if (!d->ndpi_detected && dir == 0 && d->quic_version == 0x6b3343cfu && p->payload_len >= 1200 &&
	    ((p->payload[0] >> 4) & 3) == 1) {
		set_detected(c, f, 0, NDPI_PROTOCOL_QUIC);
		copy_str(f->app, sizeof(f->app), "QUIC");
	}
	/* WireGuard handshake messages carry keys and MACs: random, or text. */
	if (p->l4 == IPPROTO_UDP && wireguard_handshake_readable(p->payload, p->payload_len))
		d->wg_readable = true;
	/* Text in an Initial's token or in place of its ciphertext, from
	 * either side: an inside server's replies leave as surely as an
	 * inside client's requests. */
	uint32_t at;
	if (d->ndpi_detected && (d->ndpi_master == NDPI_PROTOCOL_QUIC || d->ndpi_app == NDPI_PROTOCOL_QUIC) &&
	    quic_readable_initial(p->payload, p->payload_len, &at)) {
		decide_cleartext(c, f, "readable bytes in a QUIC long-header packet (token or payload)");
		return;
	}
	if (dir == 1 && d->quic_version && quic_valid_reply(d->quic_version, p->payload, p->payload_len))
		d->evidence[1] = true;
	if (d->ndpi_detected && (d->ndpi_master ? d->ndpi_master : d->ndpi_app) == NDPI_PROTOCOL_STUN &&
	    stun_then_dtls(c, f, p))
		return;
	if (d->ndpi_detected && d->rule == CLASS_RULE_DTLS) {
		if (dir == 1 && !d->dtls_server_hello &&
		    dtls_server_hello(p->payload, p->payload_len, &d->dtls_version, &d->dtls_cipher) == WALK_DONE)
			d->dtls_server_hello = true;
		/* its handshake in the clear, counted and bounded as TLS's is */
		dtls_handshake_count(&d->hs[dir], &d->dtls_msg[dir], dir, p->payload, p->payload_len,
				     d->dtls_server_hello ? d->dtls_cipher : 0);
		const char *why = handshake_out_of_bounds(f);
		if (why)
			decide_cleartext(c, f, why);
		else if (dir == 0 && d->dtls_server_hello)
			dtls_client_evidence(c, f, p);
		return;
	}
	if (d->ndpi_detected && (d->ndpi_master == NDPI_PROTOCOL_WIREGUARD || d->ndpi_app == NDPI_PROTOCOL_WIREGUARD)) {
		wireguard_evidence(c, f, dir, p);
		return;
	}
	if (d->ndpi_detected && (d->ndpi_master == NDPI_PROTOCOL_OPENVPN || d->ndpi_app == NDPI_PROTOCOL_OPENVPN)) {
		openvpn_evidence(c, f, dir, p);
		return;
	}
	evaluate(c, f);
}

static void ftp_expect_at(struct classifier *c, const struct ef_addr *addr, uint16_t port)
{
	struct ftp_expectation *e = &c->ftp[c->ftp_next++ % FTP_EXPECTATIONS];

	e->addr = *addr;
	e->port = port;
	e->until_us = c->clock_us + FTP_EXPECT_US;
}

struct ftp_watch_ctx {
	struct classifier *c;
	struct flow *f;
	const struct packet *p;
};

/*
 * The address a line names is its sender's own view of itself: behind a
 * NAT, or in a capture whose addresses were rewritten (one recorded session
 * replayed between several address pairs), the data connection goes to the
 * address the line came from instead.  The announcing end listens on that
 * port there too, so both are expected.
 */
static void ftp_expect(void *ctx, const struct ef_addr *addr, uint16_t port)
{
	struct ftp_watch_ctx *w = ctx;

	ftp_expect_at(w->c, addr, port);
	if (memcmp(addr, &w->p->src, sizeof(*addr)) != 0)
		ftp_expect_at(w->c, &w->p->src, port);
	w->f->ftp_announced = true;
}

/* Remembers the data endpoints a clear-text FTP session announces.  The
 * lines are read by the same function the multi-worker reader uses to route
 * data connections (capture/), so the two can never disagree. */
static void ftp_watch(struct classifier *c, struct flow *f, const struct packet *p)
{
	struct ftp_watch_ctx w = {c, f, p};

	ftp_segment_announcements(p, ftp_expect, &w);
}

/* A new flow to an announced endpoint is that session's data channel. */
static bool ftp_expected(struct classifier *c, const struct packet *p)
{
	for (unsigned i = 0; i < FTP_EXPECTATIONS; i++) {
		struct ftp_expectation *e = &c->ftp[i];
		if (e->port && e->until_us >= c->clock_us && e->port == p->dport &&
		    !memcmp(&e->addr, &p->dst, sizeof(e->addr))) {
			e->port = 0;
			return true;
		}
	}
	return false;
}

/* ---- the table ------------------------------------------------------------ */

enum { LIST_TCP_OPEN = 0, LIST_TCP_CLOSED, LIST_UDP, LIST_OTHER };

static uint8_t idle_list(const struct flow *f)
{
	if (f->key.l4 == IPPROTO_TCP)
		return f->tcp_state == TCP_CLOSED ? LIST_TCP_CLOSED : LIST_TCP_OPEN;
	return f->key.l4 == IPPROTO_UDP ? LIST_UDP : LIST_OTHER;
}

static uint64_t idle_limit_us(const struct classifier *c, uint8_t list)
{
	uint32_t s = list == LIST_TCP_OPEN ? c->cfg.tcp_idle_s
		   : list == LIST_TCP_CLOSED ? c->cfg.tcp_closed_s
		   : list == LIST_UDP ? c->cfg.udp_idle_s : c->cfg.other_idle_s;
	return (uint64_t)s * 1000000u;
}

void flow_record(const struct classifier *c, struct flow *f, struct ef_flow_record *r)
{
	uint16_t port;

	memset(r, 0, sizeof(*r));
	r->first_us = f->first_us;
	r->last_us = f->last_us;
	if (f->via) {
		r->n_via = f->via->n;
		r->via_overflow = f->via->overflow;
		memcpy(r->via, f->via->a, sizeof(r->via[0]) * f->via->n);
	}
	r->inside = *end_addr(f, 0, &port);
	r->inside_port = port;
	r->remote = *end_addr(f, 1, &port);
	r->remote_port = port;
	r->l4 = f->key.l4;
	r->initiator = EF_INIT_INSIDE;
	r->enc = f->decided ? f->enc : EF_ENC_UNKNOWN;
	r->app_guessed = f->app_guessed;
	copy_str(r->app, sizeof(r->app), f->app[0] ? f->app : "Unknown");
	memcpy(r->server_name, f->server_name, sizeof(r->server_name));
	r->tls_version = f->tls_version;
	if (f->cipher) {
		const char *name;
		bool weak;
		r->cipher_id = f->cipher;
		r->cipher_bits = tls_cipher_bits(f->cipher, &name, &weak);
		copy_str(r->cipher, sizeof(r->cipher), name);
	}
	r->bytes_out = f->bytes[0] + f->ip_extra[0];
	r->bytes_in = f->bytes[1] + f->ip_extra[1];
	r->ip_options_unproven[0] = f->options_unproven[0];
	r->ip_options_unproven[1] = f->options_unproven[1];
	r->incomplete_datagrams = f->incomplete;
	r->packets_out = f->packets[0];
	r->packets_in = f->packets[1];
	r->reassembly_conflict = f->conflict;
	r->rejudged = f->rejudged;
	r->rejudge_dir = f->rejudge_dir;
	r->rejudge_offset = f->rejudge_offset;
	r->rejudge_reason = f->rejudge_reason;
	for (int dir = 0; dir < 2; dir++) {
		r->handshake_clear[dir] = f->hs_clear[dir];
		r->handshake_unproven[dir] = f->hs_unproven[dir];
	}
	if (r->enc == EF_ENC_CLEARTEXT)
		r->cleartext_reason = f->why_cleartext;
	if (r->enc == EF_ENC_UNKNOWN)
		r->unknown_reason = f->why_unknown ? f->why_unknown
				  : f->rejudged ? f->rejudge_reason : "not decided yet";
	r->capture_file = f->file;
}

/*
 * IP option bytes that are not padding (capture.h's options_unproven), per
 * side.  Genuine traffic has none but a router alert, which is not counted:
 * over nDPI's captures and the benchmark capture, the only options are
 * router alerts and PadN (and some in fuzzed files).  A few record-route
 * or timestamp options stay well under the bound; a file's worth does not.
 */
#define IP_OPTIONS_UNPROVEN_MAX 256u

/*
 * What a packet sent outside its payload: IP options, and a datagram that
 * never completed.  Both left, so both count in bytes_out/in; neither was
 * read as the flow's data.  Options beyond the bound make the flow
 * cleartext; a datagram not examined makes it one that cannot be
 * encrypted.  True when this changed the flow's class.
 */
static bool ip_extras(struct classifier *c, struct flow *f, int dir, const struct packet *p)
{
	static const char options_reason[] = "more than 256 bytes of IP options (or TCP options, a spent routing "
					     "header, bytes past a UDP length, tunnel header fields, bytes after a "
					     "tunnelled packet) that are not "
					     "padding (data outside the payload, not examined)";
	/* Options come before the packet's payload, which bytes[] already holds. */
	struct verify_break b = {.use_dir_offset = true, .dir_offset = f->bytes[dir] - p->payload_len};

	f->ip_extra[dir] += (uint64_t)p->options_len + p->unexamined_len;
	f->options_unproven[dir] = f->options_unproven[dir] + p->options_unproven < f->options_unproven[dir]
					   ? UINT32_MAX : f->options_unproven[dir] + p->options_unproven;
	if (p->incomplete && f->incomplete < UINT32_MAX)
		f->incomplete++;
	if (f->options_unproven[dir] > IP_OPTIONS_UNPROVEN_MAX && (!f->decided || f->enc != EF_ENC_CLEARTEXT)) {
		if (!f->decided) {
			decide_cleartext(c, f, options_reason);
			return true;
		}
		b.reason = options_reason;
		b.to = EF_ENC_CLEARTEXT;
		rejudge(c, f, dir, &b, 0);
		f->why_cleartext = options_reason;
		return true;
	}
	if (p->incomplete && f->decided && (f->enc == EF_ENC_ENCRYPTED || f->enc == EF_ENC_WEAK)) {
		b.reason = incomplete_reason;
		b.to = EF_ENC_UNKNOWN;
		rejudge(c, f, dir, &b, 0);
		return true;
	}
	return false;
}

/* A tunnelled packet's outer addresses, kept once each; one the flow has
 * no room (or memory) for makes it overflow, which the policy judges as
 * an address nothing places. */
static void note_via(struct flow *f, const struct packet *p)
{
	if (!f->via && !(f->via = calloc(1, sizeof(*f->via))))
		return;
	f->via->overflow |= p->via_overflow;
	for (uint8_t i = 0; i < p->n_via; i++) {
		uint8_t k = 0;
		while (k < f->via->n && memcmp(&f->via->a[k], &p->via[i], sizeof(p->via[i])) != 0)
			k++;
		if (k < f->via->n)
			continue;
		if (f->via->n == EF_VIA_MAX)
			f->via->overflow = true;
		else
			f->via->a[f->via->n++] = p->via[i];
	}
}

static void end_flow(struct classifier *c, struct flow *f, bool evicted)
{
	struct ef_flow_record r;

	finalise(c, f);
	flow_record(c, f, &r);
	r.evicted = evicted;
	if (evicted)
		c->stats.evicted++;
	if (c->on_end)
		c->on_end(f, &r, c->ctx);
	dpi_free(c, f);
	free(f->verify);
	f->verify = NULL;
	free(f->via);
	f->via = NULL;
	flow_table_remove(&c->table, f);
}

static void expire_idle(struct classifier *c)
{
	struct flow *f;
	uint64_t next = UINT64_MAX;

	if (c->clock_us < c->next_expiry_us)
		return;
	for (uint8_t l = 0; l < FLOW_LISTS; l++) {
		uint64_t limit = idle_limit_us(c, l);
		while ((f = flow_table_oldest(&c->table, l)) && f->last_clock + limit <= c->clock_us)
			end_flow(c, f, false);
		if (f && f->last_clock + limit < next)
			next = f->last_clock + limit;
	}
	c->next_expiry_us = next;
}

/* Ports of services that answer from them (IANA's well-known assignments,
 * TCP or UDP): a packet from one of these is a server's. */
static bool service_port(uint16_t port)
{
	static const uint16_t ports[] = {20,  21,  22,  23,  25,  42,  43,  49,  53,  67,  69,  70,  79,  80,  88,
					 110, 111, 113, 119, 123, 135, 137, 138, 139, 143, 161, 162, 179, 194, 389,
					 427, 443, 445, 464, 465, 500, 514, 515, 520, 521, 554, 587, 631, 636, 853,
					 873, 989, 990, 993, 995};

	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		if (ports[i] == port)
			return true;
	return false;
}

/* Which end started the flow, from its first packet: the SYN's sender; the
 * receiver of a SYN-ACK; otherwise the first sender, unless the ports say
 * clearly that it is a server answering: a port under 1024 on its side
 * only, which is a service's port, or which sends to a port in the
 * ephemeral range every mainstream system draws client ports from (32768
 * and up).  A client may itself bind a reserved port that is no service's
 * (NFS and rsh clients do) to reach a registered one such as NFS's 2049 or
 * a mountd's: that is no answer. */
static bool first_sender_is_initiator(const struct packet *p)
{
	if (p->l4 == IPPROTO_TCP && (p->tcp_flags & TH_SYN))
		return !(p->tcp_flags & TH_ACK);
	if (p->sport && p->dport && p->sport < 1024 && p->dport >= 1024 &&
	    (p->dport >= 32768 || service_port(p->sport)))
		return false;
	return true;
}

void classifier_tick(struct classifier *c, uint64_t ts_us)
{
	c->clock_us = packet_clock_update(&c->clock, ts_us);
	expire_idle(c);
}

void classifier_advance(struct classifier *c, uint64_t clock_us)
{
	if (clock_us > c->clock_us)
		c->clock_us = clock_us;
	expire_idle(c);
}

enum classify_event classifier_packet(struct classifier *c, const struct packet *p, struct flow **flow_out)
{
	enum classify_event ev = CLASSIFY_NONE;
	struct flow_key k;
	bool src_is_lo;

	c->stats.packets++;
	if (!c->cfg.external_clock)
		classifier_tick(c, p->ts_us);

	flow_key_make(p, &k, &src_is_lo);
	uint32_t h = flow_key_hash(&k);
	struct flow *f = flow_table_lookup(&c->table, &k, h);
	if (f && p->l4 == IPPROTO_TCP && (p->tcp_flags & (TH_SYN | TH_ACK)) == TH_SYN) {
		/* Each TCP connection is its own flow: a SYN with another ISN, or
		 * after the old connection closed, ends the old flow (its event is
		 * written) so that a reused source port never merges two. */
		int sdir = src_is_lo == f->init_is_lo ? 0 : 1;
		/* But one SYN is no new connection: a client whose SYN met a
		 * server still holding the tuple's previous connection gets a
		 * challenge ACK (RFC 5961), answers it with a reset in that old
		 * connection's sequence space, and sends the same SYN again.  The
		 * same ISN, nothing answered with a SYN-ACK and nothing sent: the
		 * same connection attempt, reopened, not a second flow. */
		bool retried = f->tcp_state == TCP_CLOSED && f->syn_isn[sdir] && f->isn[sdir] == p->tcp_seq &&
			       !f->syn_isn[!sdir] && !f->bytes[0] && !f->bytes[1];
		if (retried) {
			f->tcp_state = TCP_OPEN;
			f->fin[0] = f->fin[1] = false;
			c->stats.retried_syn++;
		} else if (f->tcp_state == TCP_CLOSED || (f->syn_isn[sdir] && f->isn[sdir] != p->tcp_seq)) {
			end_flow(c, f, false);
			f = NULL;
		}
	}
	if (!f) {
		f = flow_table_insert(&c->table, &k, h);
		if (!f) {
			end_flow(c, flow_table_least_recent(&c->table), true);
			f = flow_table_insert(&c->table, &k, h);
		}
		f->first_us = p->ts_us;
		f->file = p->file;
		f->init_is_lo = first_sender_is_initiator(p) ? src_is_lo : !src_is_lo;
		c->stats.flows++;
		ev = CLASSIFY_NEW_FLOW;
		if (p->l4 == IPPROTO_TCP && (p->tcp_flags & (TH_SYN | TH_ACK)) == TH_SYN && ftp_expected(c, p)) {
			snprintf(f->app, sizeof(f->app), "FTP_DATA");
			f->enc = EF_ENC_CLEARTEXT;
			f->decided = true;
			c->stats.decided++;
			ev = CLASSIFY_DECIDED;
		}
	} else if (p->l4 == IPPROTO_TCP && (p->tcp_flags & (TH_SYN | TH_ACK)) == TH_SYN &&
		   !f->syn_seen && !f->bytes[0] && !f->bytes[1] && src_is_lo != f->init_is_lo) {
		/* The first packet seen was not the opening one: the SYN says who began. */
		f->init_is_lo = src_is_lo;
		uint64_t t = f->packets[0];
		f->packets[0] = f->packets[1];
		f->packets[1] = t;
	}
	f->last_clock = c->clock_us;
	f->last_us = p->ts_us;
	if (p->n_via || p->via_overflow)
		note_via(f, p);
	int dir = src_is_lo == f->init_is_lo ? 0 : 1;
	f->bytes[dir] += p->payload_len;
	f->packets[dir]++;
	if (p->l4 == IPPROTO_TCP) {
		if (p->tcp_flags & TH_SYN)
			f->syn_seen = true;
		if ((p->tcp_flags & (TH_SYN | TH_ACK)) == TH_SYN) {
			f->syn_isn[dir] = true;
			f->isn[dir] = p->tcp_seq;
		}
		if (p->tcp_flags & TH_FIN)
			f->fin[dir] = true;
		if ((p->tcp_flags & TH_RST) || (f->fin[0] && f->fin[1]))
			f->tcp_state = TCP_CLOSED;
	}
	flow_table_touch(&c->table, f, idle_list(f));
	if (f->last_clock + idle_limit_us(c, idle_list(f)) < c->next_expiry_us)
		c->next_expiry_us = f->last_clock + idle_limit_us(c, idle_list(f));
	*flow_out = f;
	if (p->options_len || p->incomplete) {
		bool was_decided = f->decided;
		if (ip_extras(c, f, dir, p))
			return was_decided ? CLASSIFY_REJUDGED : CLASSIFY_DECIDED;
		if (p->incomplete)
			return ev; /* nothing to read */
	}
	/* An FTP control channel announces data connections for its whole
	 * life, and may be picked up mid-stream, undecided or not yet named:
	 * every undecided TCP flow's lines are read (as the multi-worker reader
	 * reads every segment's), and a decided one's while it is FTP. */
	if (p->l4 == IPPROTO_TCP && p->payload_len && (f->ftp_control || !f->decided))
		ftp_watch(c, f, p);
	if (f->decided) {
		struct verify_break b;
		if (f->verify && !verify_packet(f->verify, dir, p, f->bytes[dir] - p->payload_len, &b)) {
			rejudge(c, f, dir, &b, f->bytes[dir] - p->payload_len);
			return CLASSIFY_REJUDGED;
		}
		return ev;
	}
	if (!f->dpi && p->payload_len == 0 && p->l4 != IPPROTO_ESP && !(p->tcp_flags & TH_SYN))
		return ev; /* nothing to inspect yet */
	if (!dpi_state(c, f))
		return ev;
	if (p->l4 == IPPROTO_TCP)
		inspect_tcp(c, f, dir, p);
	else
		inspect_datagram(c, f, dir, p);
	if (!f->decided && f->dpi && f->dpi->dpi_packets >= c->cfg.max_dpi_packets)
		finalise(c, f);
	else if (!f->decided && f->dpi && f->dpi->dir[0].hist_len >= STREAM_HIST_MAX &&
		 f->dpi->dir[1].hist_len >= STREAM_HIST_MAX)
		finalise(c, f);
	return f->decided ? CLASSIFY_DECIDED : ev;
}

void classifier_flush(struct classifier *c)
{
	struct flow *f;

	while ((f = flow_table_least_recent(&c->table)))
		end_flow(c, f, false);
}

uint32_t *flow_user(struct flow *f)
{
	return &f->user;
}

void classifier_stats(const struct classifier *c, struct classifier_stats *out)
{
	*out = c->stats;
	out->flows_active = c->table.used;
}
