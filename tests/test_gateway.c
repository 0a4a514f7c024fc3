/*
 * tests/test_gateway.c -- gateway/: the gate's rules on synthetic packets,
 * with a fake kernel table that records every decision the gateway queues
 * (no root, no nftables).  The kernel's own half of each rule (the hello
 * bound, marks, held payload) is in tests/e2e_insider.sh.
 *
 * The policy places 198.51.100.0/24 in CN (designated: cleartext, weak and
 * unknown with payload are blocked, anything else logged) and
 * 203.0.113.0/24 in US.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gateway.h"

#define MAXMIND_DB EF_BINARY_DIR "/tests/data/test-maxmind.mmdb"
#define MAX_SEEN 64

static const char policy_yaml[] =
	"networks:\n"
	"  internal: [10.0.0.0/8]\n"
	"  overrides:\n"
	"    - { cidr: 198.51.100.0/24, country: CN }\n"
	"    - { cidr: 203.0.113.0/24, country: US }\n"
	"groups:\n"
	"  designated: [CN]\n"
	"  conforming: [US]\n"
	"rules:\n"
	"  - name: designated-cleartext\n"
	"    to: \"@designated\"\n"
	"    encryption: [cleartext, weak, unknown]\n"
	"    min_bytes_out: 1\n"
	"    action: block\n"
	"  - name: designated-any\n"
	"    to: \"@designated\"\n"
	"    action: log\n"
	"default: allow\n";

struct seen_decision {
	enum nft_decision_kind kind;
	uint16_t inside_port, remote_port;
};

struct seen_event {
	char action[32];
	enum gateway_judged_by by;
	enum ef_encryption enc;
	enum ef_verdict verdict;
	bool rejudged, final, fates;
	uint64_t bytes_out, bytes_out_after, packets_out_after, bytes_out_before, packets_out_before;
	uint64_t packets_out_passed, bytes_out_passed, packets_out_held, bytes_out_held;
};

/* The fake kernel table and the event log. */
struct world {
	struct policy *policy;
	struct geodb *db;
	struct prefilter *pf;
	struct gateway *gw;
	struct seen_decision dec[MAX_SEEN];
	size_t n_dec;
	struct seen_event ev[MAX_SEEN];
	size_t n_ev;
	/* one conversation */
	const char *client, *server;
	uint16_t cport, sport;
	uint32_t seq[2];
	uint64_t ts_us, now_ms;
	enum ef_packet_fate fate; /* of the next segments, as the copy's NFLOG prefix says */
	/* the datagrams the gateway asked to send on (kernel.release) */
	size_t n_rel;
	uint32_t rel_len;
	uint8_t rel[2048];
	uint8_t rel_first[8]; /* each one's first payload byte (IPv4, TCP, no options: byte 40) */
	uint8_t last[2048]; /* the last datagram given to gateway_packet() */
	uint32_t last_len;
	bool bad_sum; /* the next segments' TCP checksum is wrong */
};

static void fake_release(void *ctx, const uint8_t *l3, uint32_t len, const struct ef_addr *dst)
{
	struct world *w = ctx;
	struct ef_addr server;

	ef_addr_parse(w->server, &server);
	assert_memory_equal(dst, &server, sizeof(server));
	assert_true(len <= sizeof(w->rel));
	memcpy(w->rel, l3, len);
	w->rel_len = len;
	if (w->n_rel < sizeof(w->rel_first))
		w->rel_first[w->n_rel] = len > 40 ? l3[40] : 0;
	w->n_rel++;
}

static void fake_queue(void *ctx, const struct nft_decision *d)
{
	struct world *w = ctx;

	if (w->n_dec < MAX_SEEN)
		w->dec[w->n_dec++] = (struct seen_decision){d->kind, d->inside_port, d->remote_port};
}

static void fake_event(const struct gateway_event *e, void *ctx)
{
	struct world *w = ctx;

	if (w->n_ev == MAX_SEEN)
		return;
	struct seen_event *s = &w->ev[w->n_ev++];
	snprintf(s->action, sizeof(s->action), "%s", e->action);
	s->by = e->by;
	s->enc = e->rec->enc;
	s->verdict = e->dec->verdict;
	s->rejudged = e->rec->rejudged;
	s->final = e->final;
	s->bytes_out = e->rec->bytes_out;
	s->bytes_out_after = e->bytes_out_after;
	s->packets_out_after = e->packets_out_after;
	s->bytes_out_before = e->bytes_out_before;
	s->packets_out_before = e->packets_out_before;
	s->fates = e->fates;
	s->packets_out_passed = e->packets_out_passed;
	s->bytes_out_passed = e->bytes_out_passed;
	s->packets_out_held = e->packets_out_held;
	s->bytes_out_held = e->bytes_out_held;
}

static size_t count_kind(const struct world *w, enum nft_decision_kind k)
{
	size_t n = 0;

	for (size_t i = 0; i < w->n_dec; i++)
		n += w->dec[i].kind == k;
	return n;
}

/* With the rules section `rules' (and the default) in place of policy_yaml's. */
static void world_start_policy(struct world *w, enum gateway_mode mode, uint16_t server_port, const char *rules)
{
	struct policy_error perr;
	char err[512] = "";
	size_t n_ov;
	const char *dbs[] = {MAXMIND_DB};
	char yaml[sizeof(policy_yaml) + 1024];

	memset(w, 0, sizeof(*w));
	if (rules)
		snprintf(yaml, sizeof(yaml), "%.*s%s", (int)(strstr(policy_yaml, "rules:") - policy_yaml), policy_yaml, rules);
	else
		snprintf(yaml, sizeof(yaml), "%s", policy_yaml);
	w->policy = policy_load_buffer("policy.yaml", yaml, strlen(yaml), &perr);
	if (!w->policy)
		fail_msg("policy: %s", perr.msg);
	const struct geodb_override *ov = policy_overrides(w->policy, &n_ov);
	if (!(w->db = geodb_open(dbs, 1, ov, n_ov, err, sizeof(err))))
		fail_msg("geodb: %s", err);
	if (!(w->pf = prefilter_build(w->policy, w->db, err, sizeof(err))))
		fail_msg("prefilter: %s", err);
	struct gateway_config gc = {
		.mode = mode, .max_flows = 1024, .kernel = {.queue = fake_queue, .release = fake_release, .ctx = w},
		.on_event = fake_event, .event_ctx = w,
	};
	if (!(w->gw = gateway_new(&gc, err, sizeof(err))))
		fail_msg("gateway: %s", err);
	struct gateway_settings g = {.mode = mode, .decide_within_s = 2, .flow_timeout_s = 600, .release_held = true};
	gateway_set_policy(w->gw, w->policy, w->db, w->pf, &g);
	w->client = "10.1.0.2";
	w->server = "198.51.100.10";
	w->cport = 40000;
	w->sport = server_port;
	w->seq[0] = 1000;
	w->seq[1] = 50000;
	w->ts_us = 1700000000000000ull;
	w->now_ms = 1000000;
}

static void world_start(struct world *w, enum gateway_mode mode, uint16_t server_port)
{
	world_start_policy(w, mode, server_port, NULL);
}

static void world_end(struct world *w)
{
	gateway_free(w->gw);
	prefilter_free(w->pf);
	geodb_close(w->db);
	policy_free(w->policy);
}

/* One TCP segment, dir 0 client to server, 1 ms after the last: an IPv4
 * datagram as a copy holds it (w->last), its headers' fields as the
 * decoder gives them. */
static void segment_at(struct world *w, int dir, uint8_t flags, uint32_t seq, const void *data, size_t len)
{
	struct packet p = {0};
	uint8_t *ip = w->last;
	uint32_t total = 40 + (uint32_t)len;

	assert_true(total <= sizeof(w->last));
	memset(ip, 0, 40);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(total >> 8);
	ip[3] = (uint8_t)total;
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	ef_addr_parse(dir ? w->server : w->client, &p.src);
	ef_addr_parse(dir ? w->client : w->server, &p.dst);
	memcpy(ip + 12, p.src.b, 4);
	memcpy(ip + 16, p.dst.b, 4);
	ip[32] = 5 << 4;
	ip[33] = flags;
	if (len)
		memcpy(ip + 40, data, len);
	/* the TCP checksum, right unless the world says otherwise */
	uint32_t sum = IPPROTO_TCP + total - 20;
	for (uint32_t i = 12; i + 1 < total; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	if (total & 1)
		sum += (uint32_t)ip[total - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	if (w->bad_sum)
		sum ^= 0x5a5a;
	ip[36] = (uint8_t)(sum >> 8);
	ip[37] = (uint8_t)sum;
	w->last_len = total;
	p.l3 = ip;
	p.l3_len = total;

	p.sport = dir ? w->sport : w->cport;
	p.dport = dir ? w->cport : w->sport;
	p.l4 = IPPROTO_TCP;
	p.tcp_flags = flags;
	p.tcp_seq = seq;
	p.payload = ip + 40;
	p.payload_len = (uint32_t)len;
	p.fate = (uint8_t)w->fate;
	p.ts_us = w->ts_us += 1000;
	w->now_ms += 1;
	gateway_packet(w->gw, &p, w->now_ms);
}

static void segment(struct world *w, int dir, const void *data, size_t len)
{
	segment_at(w, dir, 0x18, w->seq[dir], data, len);
	w->seq[dir] += (uint32_t)len;
}

static void text(struct world *w, int dir, const char *s)
{
	segment(w, dir, s, strlen(s));
}

static void handshake(struct world *w)
{
	segment_at(w, 0, 0x02, w->seq[0] - 1, NULL, 0);
	segment_at(w, 1, 0x12, w->seq[1] - 1, NULL, 0);
	segment_at(w, 0, 0x10, w->seq[0], NULL, 0);
}

/* A minimal, valid TLS 1.2-framed ClientHello with SNI. */
static size_t client_hello(uint8_t *b)
{
	static const char sni[] = "files.example.com";
	uint8_t body[512];
	size_t o = 0;

	body[o++] = 0x03; body[o++] = 0x03;
	for (int i = 0; i < 32; i++) /* a hello's random is random (classify/walkers.c judges it) */
		body[o++] = (uint8_t)(rand() & 0xff);
	body[o++] = 0;
	body[o++] = 0; body[o++] = 4;
	body[o++] = 0x13; body[o++] = 0x01; body[o++] = 0xc0; body[o++] = 0x2f;
	body[o++] = 1; body[o++] = 0;
	size_t ext_len_at = o;
	o += 2;
	size_t ext_start = o;
	body[o++] = 0; body[o++] = 0;
	body[o++] = 0; body[o++] = (uint8_t)(5 + strlen(sni));
	body[o++] = 0; body[o++] = (uint8_t)(3 + strlen(sni));
	body[o++] = 0;
	body[o++] = 0; body[o++] = (uint8_t)strlen(sni);
	memcpy(body + o, sni, strlen(sni)); o += strlen(sni);
	body[o++] = 0; body[o++] = 0x2b; body[o++] = 0; body[o++] = 5; body[o++] = 4;
	body[o++] = 3; body[o++] = 4; body[o++] = 3; body[o++] = 3;
	size_t ext_len = o - ext_start;
	body[ext_len_at] = (uint8_t)(ext_len >> 8);
	body[ext_len_at + 1] = (uint8_t)ext_len;
	size_t hs = 4 + o;
	b[0] = 0x16; b[1] = 3; b[2] = 1; b[3] = (uint8_t)(hs >> 8); b[4] = (uint8_t)hs;
	b[5] = 1; b[6] = 0; b[7] = (uint8_t)(o >> 8); b[8] = (uint8_t)o;
	memcpy(b + 9, body, o);
	return 9 + o;
}

/* TLS 1.3 with TLS_AES_128_GCM_SHA256. */
static size_t server_hello(uint8_t *b)
{
	uint8_t body[128];
	size_t o = 0;

	body[o++] = 3; body[o++] = 3;
	for (int i = 0; i < 32; i++) /* a hello's random is random (classify/walkers.c judges it) */
		body[o++] = (uint8_t)(rand() & 0xff);
	body[o++] = 0;
	body[o++] = 0x13; body[o++] = 0x01;
	body[o++] = 0;
	body[o++] = 0; body[o++] = 6;
	body[o++] = 0; body[o++] = 0x2b; body[o++] = 0; body[o++] = 2; body[o++] = 3; body[o++] = 4;
	size_t hs = 4 + o;
	b[0] = 0x16; b[1] = 3; b[2] = 3; b[3] = 0; b[4] = (uint8_t)hs;
	b[5] = 2; b[6] = 0; b[7] = 0; b[8] = (uint8_t)o;
	memcpy(b + 9, body, o);
	return 9 + o;
}

static size_t random_record(uint8_t *b, size_t len)
{
	b[0] = 0x17; b[1] = 3; b[2] = 3; b[3] = (uint8_t)(len >> 8); b[4] = (uint8_t)len;
	for (size_t i = 0; i < len; i++)
		b[5 + i] = (uint8_t)(rand() & 0xff);
	return 5 + len;
}

/* A TLS 1.3 session to CN:443 up to the client's first protected record. */
static void tls_session(struct world *w)
{
	uint8_t b[1024];
	static const uint8_t ccs[] = {0x14, 3, 3, 0, 1, 1};

	handshake(w);
	segment(w, 0, b, client_hello(b));
	segment(w, 1, b, server_hello(b));
	segment(w, 0, ccs, sizeof(ccs));
	segment(w, 0, b, random_record(b, 200));
}

/* Item 2's other half: held payload is judged at decide_within by the
 * timer, with no further packet. */
static void held_flow_is_judged_by_the_timer(void **state)
{
	struct world w;
	uint8_t junk[300];

	world_start(&w, GATEWAY_GATE, 7000);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(rand() | 0x80);
	handshake(&w);
	segment(&w, 0, junk, sizeof(junk));
	assert_int_equal(gateway_pending(w.gw), 1);
	uint64_t first = w.now_ms;
	gateway_tick(w.gw, first + 1999, w.ts_us / 1000 + 1);
	assert_int_equal(w.n_ev, 0);
	assert_int_equal(count_kind(&w, NFT_BLOCK_FLOW), 0);
	gateway_tick(w.gw, first + 2000, w.ts_us / 1000 + 1);
	assert_int_equal(gateway_pending(w.gw), 0);
	assert_int_equal(count_kind(&w, NFT_BLOCK_FLOW), 1);
	assert_int_equal(count_kind(&w, NFT_ALLOW_FLOW), 0);
	assert_int_equal(w.n_ev, 1);
	assert_int_equal(w.ev[0].by, GATEWAY_BY_DEADLINE);
	assert_int_equal(w.ev[0].verdict, EF_BLOCK);
	world_end(&w);
}

/* The one ClientHello the kernel lets pass does not start the clock (a slow
 * server's hello is not the client's delay); what follows it does, and a
 * second hello-shaped segment is not exempt. */
static void deadline_starts_after_the_client_hello(void **state)
{
	struct world w;
	uint8_t b[1024];

	world_start(&w, GATEWAY_GATE, 443);
	handshake(&w);
	segment(&w, 0, b, client_hello(b));
	assert_int_equal(gateway_pending(w.gw), 0);
	segment(&w, 0, b, client_hello(b));
	assert_int_equal(gateway_pending(w.gw), 1);
	gateway_tick(w.gw, w.now_ms + 2000, w.ts_us / 1000 + 1);
	assert_int_equal(w.n_ev, 1);
	assert_int_equal(w.ev[0].by, GATEWAY_BY_DEADLINE);
	assert_int_equal(w.ev[0].verdict, EF_BLOCK);
	world_end(&w);
}

/* Item 1: a flow judged with no data installs no allow. */
static void flow_without_data_is_never_allowed(void **state)
{
	struct world w;

	world_start(&w, GATEWAY_GATE, 443);
	handshake(&w);
	gateway_flush(w.gw);
	assert_int_equal(count_kind(&w, NFT_ALLOW_FLOW), 0);
	assert_int_equal(w.n_ev, 1); /* designated-any: logged, with 0 bytes */
	assert_int_equal(w.ev[0].by, GATEWAY_BY_FLOW_END);
	assert_int_equal(w.ev[0].bytes_out, 0);
	world_end(&w);
}

/* After a flow is allowed the gateway keeps listening: a rejudged record
 * replaces the allow with a block at once, and its event says so. */
static void rejudged_flow_is_blocked(void **state)
{
	struct world w;

	world_start(&w, GATEWAY_GATE, 443);
	tls_session(&w);
	assert_int_equal(count_kind(&w, NFT_ALLOW_FLOW), 1);
	assert_int_equal(w.n_ev, 1);
	assert_string_equal(w.ev[0].action, "logged");
	assert_int_equal(w.ev[0].enc, EF_ENC_ENCRYPTED);

	struct flow *f = gateway_last_flow(w.gw);
	struct ef_flow_record r;
	assert_non_null(f);
	flow_record(gateway_classifier(w.gw), f, &r);
	r.rejudged = true;
	r.rejudge_offset = 600;
	r.rejudge_reason = "readable text inside a TLS record";
	r.enc = EF_ENC_CLEARTEXT;
	gateway_rejudged(w.gw, f, &r);
	assert_int_equal(count_kind(&w, NFT_BLOCK_FLOW), 1);
	assert_int_equal(w.n_ev, 2);
	assert_string_equal(w.ev[1].action, "blocked flow");
	assert_int_equal(w.ev[1].by, GATEWAY_BY_REJUDGE);
	assert_true(w.ev[1].rejudged);
	world_end(&w);
}

/* Items 1 and 14: a new SYN on a tuple the classifier still holds is a new
 * connection, classified on its own with its own event. */
static void reused_tuple_is_a_new_connection(void **state)
{
	struct world w;

	world_start(&w, GATEWAY_GATE, 443);
	tls_session(&w);
	segment_at(&w, 0, 0x11, w.seq[0], NULL, 0); /* FIN */
	segment_at(&w, 1, 0x11, w.seq[1], NULL, 0);
	w.seq[0] += 100000;
	w.seq[1] += 100000;
	handshake(&w);
	assert_int_equal(w.n_ev, 1);
	text(&w, 0, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nSECRET");
	assert_int_equal(w.n_ev, 2);
	assert_int_equal(w.ev[1].by, GATEWAY_BY_CLASSIFIER);
	assert_int_equal(w.ev[1].enc, EF_ENC_CLEARTEXT);
	assert_int_equal(w.ev[1].verdict, EF_BLOCK);
	assert_int_equal(w.ev[1].bytes_out, strlen("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nSECRET"));
	assert_int_equal(count_kind(&w, NFT_BLOCK_FLOW), 1);
	assert_int_equal(count_kind(&w, NFT_ALLOW_FLOW), 1); /* the first connection's only */
	world_end(&w);
}

/* Three connections on one tuple in quick succession, HTTPS, HTTPS, then a
 * cleartext upload: each has its own event, and the last is blocked
 * whatever the earlier ones were. */
static void every_connection_on_a_reused_tuple_is_judged(void **state)
{
	struct world w;

	world_start(&w, GATEWAY_GATE, 443);
	tls_session(&w);
	segment_at(&w, 0, 0x04, w.seq[0], NULL, 0); /* RST */
	w.seq[0] += 100000;
	w.seq[1] += 100000;
	tls_session(&w);
	segment_at(&w, 0, 0x04, w.seq[0], NULL, 0);
	w.seq[0] += 100000;
	w.seq[1] += 100000;
	handshake(&w);
	text(&w, 0, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nSECRET");
	assert_int_equal(w.n_ev, 3);
	assert_int_equal(w.ev[1].by, GATEWAY_BY_CLASSIFIER);
	assert_int_equal(w.ev[1].enc, EF_ENC_ENCRYPTED);
	assert_int_equal(w.ev[2].verdict, EF_BLOCK);
	assert_int_equal(count_kind(&w, NFT_BLOCK_FLOW), 1);
	world_end(&w);
}

/* Item 14's soak: a SYN that meets a server still holding the tuple's last
 * connection gets a challenge ACK; the client resets that old connection
 * (a reset in its sequence space) and sends the same SYN again.  That is
 * one connection, with one event, not a 0-byte flow before it. */
static void syn_retried_after_a_challenge_ack_is_one_connection(void **state)
{
	struct world w;
	struct gateway_counters c;
	const char *up = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nSECRET";

	world_start(&w, GATEWAY_GATE, 443);
	tls_session(&w);
	segment_at(&w, 0, 0x04, w.seq[0], NULL, 0); /* the client's RST; the server never saw one */
	uint32_t old_client = w.seq[0], old_server = w.seq[1];
	w.seq[0] += 100000;
	w.seq[1] += 100000;
	segment_at(&w, 0, 0x02, w.seq[0] - 1, NULL, 0);   /* SYN */
	segment_at(&w, 1, 0x10, old_server, NULL, 0);     /* challenge ACK, the old connection's */
	segment_at(&w, 0, 0x04, old_client, NULL, 0);     /* RST in the old connection's space */
	handshake(&w);                                    /* the same SYN again, answered */
	text(&w, 0, up);
	assert_int_equal(w.n_ev, 2);
	assert_string_equal(w.ev[0].action, "logged");    /* the TLS connection */
	assert_int_equal(w.ev[1].verdict, EF_BLOCK);
	assert_int_equal(w.ev[1].bytes_out, strlen(up));
	gateway_counters(w.gw, &c);
	assert_int_equal(c.retried_syn, 1);
	world_end(&w);
}

/* A connection attempt the server refused is a real one: its own event,
 * with nothing sent, when the client's next attempt (another SYN) comes. */
static void refused_attempt_has_its_own_event(void **state)
{
	struct world w;
	struct gateway_counters c;

	world_start(&w, GATEWAY_GATE, 443);
	segment_at(&w, 0, 0x02, w.seq[0] - 1, NULL, 0);
	segment_at(&w, 1, 0x14, 0, NULL, 0);              /* RST, ACK: refused */
	w.seq[0] += 100000;
	segment_at(&w, 0, 0x02, w.seq[0] - 1, NULL, 0);   /* connect() again: another ISN */
	assert_int_equal(w.n_ev, 1);
	assert_int_equal(w.ev[0].by, GATEWAY_BY_FLOW_END);
	assert_int_equal(w.ev[0].bytes_out, 0);
	gateway_counters(w.gw, &c);
	assert_int_equal(c.retried_syn, 0);
	world_end(&w);
}

/* A retransmitted SYN (same sequence number) is the same connection. */
static void retransmitted_syn_is_the_same_connection(void **state)
{
	struct world w;
	struct classifier_stats c;

	world_start(&w, GATEWAY_GATE, 443);
	segment_at(&w, 0, 0x02, w.seq[0] - 1, NULL, 0);
	segment_at(&w, 0, 0x02, w.seq[0] - 1, NULL, 0);
	tls_session(&w);
	gateway_classifier_stats(w.gw, &c);
	assert_int_equal(c.flows, 1);
	assert_int_equal(count_kind(&w, NFT_ALLOW_FLOW), 1);
	world_end(&w);
}

/* An allowed flow the engine forgets has its allow revoked, so that the
 * connection's next payload is held and judged anew. */
static void forgotten_allowed_flow_is_revoked(void **state)
{
	struct world w;

	world_start(&w, GATEWAY_GATE, 443);
	tls_session(&w);
	gateway_flush(w.gw);
	assert_int_equal(count_kind(&w, NFT_REVOKE_FLOW), 1);
	world_end(&w);
}

/* The race of a reused tuple: the allow of a connection and the SYN of the
 * next one on the same 5-tuple read in one batch.  The kernel saw that SYN
 * before the allow landed, so the allow must be taken back in the same
 * batch, after it: ALLOW, then REVOKE of the same tuple (whose kernel rule
 * also deletes the allow; test_nft checks that rule). */
static void new_connection_on_an_allowed_tuple_revokes_its_allow(void **state)
{
	struct world w;

	world_start(&w, GATEWAY_GATE, 443);
	tls_session(&w);
	assert_int_equal(count_kind(&w, NFT_ALLOW_FLOW), 1);
	size_t allow_at = w.n_dec;
	w.seq[0] += 100000;
	segment_at(&w, 0, 0x02, w.seq[0] - 1, NULL, 0); /* another ISN: a new connection */
	assert_int_equal(count_kind(&w, NFT_REVOKE_FLOW), 1);
	assert_true(w.n_dec > allow_at);
	assert_int_equal(w.dec[w.n_dec - 1].kind, NFT_REVOKE_FLOW);
	assert_int_equal(w.dec[w.n_dec - 1].inside_port, w.cport);
	assert_int_equal(w.dec[w.n_dec - 1].remote_port, w.sport);
	world_end(&w);
}

static size_t ssh_packet(uint8_t *b, uint8_t msg, size_t body)
{
	size_t pad = 4;

	while ((4 + 1 + 1 + body + pad) % 8)
		pad++;
	size_t plen = 1 + 1 + body + pad;
	b[0] = 0; b[1] = 0; b[2] = (uint8_t)(plen >> 8); b[3] = (uint8_t)plen;
	b[4] = (uint8_t)pad;
	b[5] = msg;
	for (size_t i = 0; i < body + pad; i++)
		b[6 + i] = (uint8_t)(rand() & 0xff);
	if (msg == 20 && body >= 16 + 40 + 5) {
		/* A KEXINIT keeps RFC 4253 7.1's layout (classify/walkers.c
		 * checks it): cookie, ten name-lists, the last fields. */
		uint8_t *k = b + 6 + 16;
		size_t names = body - 16 - 40 - 5;
		k[0] = 0; k[1] = 0; k[2] = (uint8_t)(names >> 8); k[3] = (uint8_t)names;
		for (size_t i = 0; i < names; i++)
			k[4 + i] = i % 21 == 20 && i + 1 < names ? ',' : (uint8_t)('a' + i % 21);
		memset(k + 4 + names, 0, 9 * 4 + 5);
	}
	return 4 + plen;
}

static void ssh_start(struct world *w)
{
	uint8_t b[512];

	handshake(w);
	text(w, 1, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
	text(w, 0, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
	segment(w, 1, b, ssh_packet(b, 20, 300));
	segment(w, 0, b, ssh_packet(b, 20, 300));
}

/* Item 3: what passes as SSH key exchange is checked to be that. */
static void ssh_grace_ends_when_framing_breaks(void **state)
{
	struct world w;

	world_start(&w, GATEWAY_GATE, 22);
	ssh_start(&w);
	assert_int_equal(count_kind(&w, NFT_GRACE_FLOW), 1);
	assert_int_equal(w.n_ev, 0);
	text(&w, 0, "EGRESSFENCE-SECRET and more readable text, not an SSH packet");
	assert_int_equal(w.n_ev, 1);
	assert_int_equal(w.ev[0].by, GATEWAY_BY_FRAMING);
	assert_int_equal(w.ev[0].verdict, EF_BLOCK);
	assert_int_equal(count_kind(&w, NFT_BLOCK_FLOW), 1);
	world_end(&w);
}

/* Item 3: an SSH IGNORE message (type 2) could carry anything. */
static void ssh_grace_takes_key_exchange_messages_only(void **state)
{
	struct world w;
	uint8_t b[512];

	world_start(&w, GATEWAY_GATE, 22);
	ssh_start(&w);
	segment(&w, 0, b, ssh_packet(b, 2, 100));
	assert_int_equal(w.n_ev, 1);
	assert_int_equal(w.ev[0].by, GATEWAY_BY_FRAMING);
	world_end(&w);
}

/* Item 3: well-framed key-exchange messages, more of them than a key
 * exchange has, are a channel too. */
static void ssh_grace_takes_a_key_exchange_worth_of_packets(void **state)
{
	struct world w;
	uint8_t b[512];

	world_start(&w, GATEWAY_GATE, 22);
	ssh_start(&w);
	for (int i = 0; i < 7; i++)
		segment(&w, 0, b, ssh_packet(b, 30, 200));
	assert_int_equal(w.n_ev, 0);
	segment(&w, 0, b, ssh_packet(b, 30, 200));
	assert_int_equal(w.n_ev, 1);
	assert_int_equal(w.ev[0].by, GATEWAY_BY_FRAMING);
	world_end(&w);
}

/* Item 3: a well-framed key exchange that never finishes still meets its
 * deadline. */
static void ssh_grace_does_not_escape_the_deadline(void **state)
{
	struct world w;
	uint8_t b[512];

	world_start(&w, GATEWAY_GATE, 22);
	ssh_start(&w);
	for (int i = 0; i < 5; i++)
		segment(&w, 0, b, ssh_packet(b, 30, 200));
	assert_int_equal(w.n_ev, 0);
	gateway_tick(w.gw, w.now_ms + 2000, w.ts_us / 1000 + 1);
	assert_int_equal(w.n_ev, 1);
	assert_int_equal(w.ev[0].by, GATEWAY_BY_DEADLINE);
	assert_int_equal(w.ev[0].verdict, EF_BLOCK);
	world_end(&w);
}

/* Monitor mode: what left after the verdict is in a final record. */
static void monitor_block_gets_a_final_record(void **state)
{
	struct world w;
	char chunk[1001];

	world_start(&w, GATEWAY_MONITOR, 80);
	handshake(&w);
	text(&w, 0, "POST /upload HTTP/1.1\r\nHost: cn.example\r\nContent-Length: 3000\r\n\r\n");
	text(&w, 1, "HTTP/1.1 100 Continue\r\n\r\n");
	assert_int_equal(w.n_ev, 1);
	assert_int_equal(w.ev[0].verdict, EF_BLOCK);
	memset(chunk, 'A', 1000);
	chunk[1000] = 0;
	for (int i = 0; i < 3; i++)
		text(&w, 0, chunk);
	gateway_flush(w.gw);
	assert_int_equal(w.n_ev, 2);
	assert_true(w.ev[1].final);
	assert_int_equal(w.ev[1].bytes_out_after, 3000);
	assert_int_equal(w.ev[1].packets_out_after, 3);
	world_end(&w);
}

/* Gate mode: the kernel's copies of held payload never left, so the event
 * says what passed (the handshake's segments, no bytes) apart from what
 * was held; held copies after the verdict, and a FIN that passed (no
 * byte), add no final record. */
static const char post[] = "POST /upload HTTP/1.1\r\nHost: cn.example\r\nContent-Length: 3000\r\n\r\n";

/* Gate mode: a cleartext upload to CN:80, its request held and blocked. */
static void gate_blocked_upload(struct world *w)
{
	world_start(w, GATEWAY_GATE, 80);
	w->fate = EF_FATE_PASSED;
	handshake(w);
	w->fate = EF_FATE_HELD;
	text(w, 0, post);
	assert_int_equal(w->n_ev, 1);
	assert_int_equal(w->ev[0].verdict, EF_BLOCK);
}

static void gate_event_tells_passed_from_held(void **state)
{
	struct world w;

	gate_blocked_upload(&w);
	assert_true(w.ev[0].fates);
	assert_int_equal(w.ev[0].packets_out_passed, 2); /* SYN, ACK */
	assert_int_equal(w.ev[0].bytes_out_passed, 0);
	assert_int_equal(w.ev[0].packets_out_held, 1);
	assert_int_equal(w.ev[0].bytes_out_held, strlen(post));
	assert_int_equal(w.ev[0].bytes_out, strlen(post)); /* what the engine saw, as before */
	text(&w, 0, post); /* retransmitted before the block took hold: held again */
	w.fate = EF_FATE_PASSED;
	segment_at(&w, 0, 0x11, w.seq[0], NULL, 0); /* its FIN passes: no byte */
	gateway_flush(w.gw);
	assert_int_equal(w.n_ev, 1);
	world_end(&w);
}

/* A TLS 1.3 connection to CN:443 up to the server's hello, every copy
 * passed (the handshake and the one ClientHello the gate lets through). */
static void gate_hellos(struct world *w)
{
	uint8_t b[1024];

	w->fate = EF_FATE_PASSED;
	handshake(w);
	segment(w, 0, b, client_hello(b));
	segment(w, 1, b, server_hello(b));
}

/* Gate mode: what an undecided flow held (TLS's ChangeCipherSpec sent
 * alone, then its first protected record, with which it is judged) is
 * sent on, oldest first and exactly as held, once the flow is allowed, and
 * so are held segments after the verdict (sent before the kernel had the
 * allow); passed ones are not, nor anything past RELEASE_PER_FLOW (4):
 * held again by a rule the allow does not lift, a released copy must not
 * go round. */
static void gate_releases_held_segments_of_an_allowed_flow(void **state)
{
	struct world w;
	uint8_t b[1024];
	static const uint8_t ccs[] = {0x14, 3, 3, 0, 1, 1};

	world_start(&w, GATEWAY_GATE, 443);
	gate_hellos(&w); /* passed: the gate lets a ClientHello through */
	assert_int_equal(w.n_rel, 0);
	w.fate = EF_FATE_HELD;
	segment(&w, 0, ccs, sizeof(ccs)); /* not judged yet: kept */
	assert_int_equal(count_kind(&w, NFT_ALLOW_FLOW), 0);
	assert_int_equal(w.n_rel, 0);
	segment(&w, 0, b, random_record(b, 200)); /* judged with it: allowed */
	assert_int_equal(count_kind(&w, NFT_ALLOW_FLOW), 1);
	assert_int_equal(w.n_rel, 2);
	assert_int_equal(w.rel_first[0], 0x14);   /* the ChangeCipherSpec first */
	assert_int_equal(w.rel_first[1], 0x17);
	assert_int_equal(w.rel_len, w.last_len);  /* then the record, byte for byte */
	assert_memory_equal(w.rel, w.last, w.last_len);
	segment(&w, 0, b, random_record(b, 100)); /* before the kernel had the allow */
	assert_int_equal(w.n_rel, 3);
	assert_int_equal(w.rel_len, w.last_len);
	assert_memory_equal(w.rel, w.last, w.last_len);
	w.fate = EF_FATE_PASSED;
	segment(&w, 0, b, random_record(b, 200));
	segment(&w, 1, b, random_record(b, 300));
	assert_int_equal(w.n_rel, 3);
	w.fate = EF_FATE_HELD;
	for (int i = 0; i < 6; i++)
		segment(&w, 0, b, random_record(b, 100));
	assert_int_equal(w.n_rel, 4);
	struct gateway_counters c;
	gateway_counters(w.gw, &c);
	assert_int_equal(c.released, 4);
	world_end(&w);
}

/* A flow allowed at its deadline gets its held segment sent on, once,
 * though the client resent it while it waited (backing off: after 3 s of
 * holds its next try is seconds away) -- the first copy, the one the
 * classifier judged. */
static void gate_releases_what_a_flow_allowed_at_its_deadline_held(void **state)
{
	struct world w;
	uint8_t junk[300];

	/* unknown to CN is logged, not blocked: CN is still the block tier */
	world_start_policy(&w, GATEWAY_GATE, 7000,
			   "rules:\n"
			   "  - name: designated-cleartext\n"
			   "    to: \"@designated\"\n"
			   "    encryption: [cleartext, weak]\n"
			   "    action: block\n"
			   "  - name: designated-any\n"
			   "    to: \"@designated\"\n"
			   "    action: log\n"
			   "default: allow\n");
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(rand() | 0x80);
	w.fate = EF_FATE_PASSED;
	handshake(&w);
	w.fate = EF_FATE_HELD;
	uint32_t seq = w.seq[0];
	for (int i = 0; i < 3; i++) { /* the segment and two retransmissions */
		junk[0] = (uint8_t)(0x80 + i);
		segment_at(&w, 0, 0x18, seq, junk, sizeof(junk));
	}
	assert_int_equal(w.n_rel, 0);
	gateway_tick(w.gw, w.now_ms + 2000, w.ts_us / 1000 + 1);
	assert_int_equal(count_kind(&w, NFT_ALLOW_FLOW), 1);
	assert_int_equal(w.n_rel, 1);
	assert_int_equal(w.rel_first[0], 0x80); /* the first copy */
	world_end(&w);
}

/* gateway.release_held: false: an allowed flow's held segments wait for
 * the client's retransmission, as before there was a release. */
static void gate_releases_nothing_when_release_held_is_off(void **state)
{
	struct world w;
	uint8_t b[1024];

	world_start(&w, GATEWAY_GATE, 443);
	struct gateway_settings g = {.mode = GATEWAY_GATE, .decide_within_s = 2, .flow_timeout_s = 600,
				     .release_held = false};
	gateway_set_policy(w.gw, w.policy, w.db, w.pf, &g);
	gate_hellos(&w); /* passed: the gate lets a ClientHello through */
	w.fate = EF_FATE_HELD;
	segment(&w, 0, b, random_record(b, 200));
	segment(&w, 0, b, random_record(b, 100));
	assert_int_equal(count_kind(&w, NFT_ALLOW_FLOW), 1);
	assert_int_equal(w.n_rel, 0);
	world_end(&w);
}

/* A held segment with a wrong TCP checksum is held as invalid on its way
 * through the gateway, for good; sent from the gateway itself it would be a
 * valid packet of its connection (conntrack checks checksums only as
 * packets come in): never sent on, neither kept while the flow is
 * undecided nor after the verdict (tests/e2e_redteam5.sh badsum). */
static void gate_never_releases_a_segment_with_a_wrong_checksum(void **state)
{
	struct world w;
	uint8_t b[1024];
	static const uint8_t ccs[] = {0x14, 3, 3, 0, 1, 1};

	world_start(&w, GATEWAY_GATE, 443);
	gate_hellos(&w); /* passed: the gate lets a ClientHello through */
	w.fate = EF_FATE_HELD;
	w.bad_sum = true;
	segment(&w, 0, ccs, sizeof(ccs)); /* undecided: not kept */
	w.bad_sum = false;
	segment(&w, 0, b, random_record(b, 200)); /* judged: allowed, sent on */
	assert_int_equal(count_kind(&w, NFT_ALLOW_FLOW), 1);
	assert_int_equal(w.n_rel, 1);
	assert_int_equal(w.rel_first[0], 0x17);
	w.bad_sum = true;
	for (int i = 0; i < 3; i++)
		segment(&w, 0, b, random_record(b, 100));
	assert_int_equal(w.n_rel, 1);
	w.bad_sum = false;
	segment(&w, 0, b, random_record(b, 100)); /* the control: a right one is */
	assert_int_equal(w.n_rel, 2);
	world_end(&w);
}

/* A blocked flow's held segments stay held. */
static void gate_never_releases_for_a_blocked_flow(void **state)
{
	struct world w;

	gate_blocked_upload(&w);
	text(&w, 0, post);
	assert_int_equal(w.n_rel, 0);
	world_end(&w);
}

/* tests/redteam4 ssh-many-bulk: SSH's key exchange passes (bounded by the
 * kernel) and is checked by the engine; text sent with it at once keeps
 * passing until the block lands.  The event counts what passed by the
 * verdict, the final record what passed after it; held copies and the
 * server's bytes count in neither. */
static void gate_block_with_copies_passed_after_it_gets_a_final_record(void **state)
{
	struct world w;
	char chunk[1001];
	uint8_t b[512];

	world_start(&w, GATEWAY_GATE, 22);
	w.fate = EF_FATE_PASSED;
	ssh_start(&w);
	uint64_t kex = 32 + ssh_packet(b, 20, 300);
	memset(chunk, 'A', 1000);
	chunk[1000] = 0;
	text(&w, 0, chunk);
	assert_int_equal(w.n_ev, 1);
	assert_int_equal(w.ev[0].by, GATEWAY_BY_FRAMING);
	assert_int_equal(w.ev[0].verdict, EF_BLOCK);
	assert_false(w.ev[0].final);
	assert_int_equal(w.ev[0].bytes_out_passed, kex + 1000);
	assert_int_equal(w.ev[0].packets_out_passed, 2 + 2 + 1); /* SYN, ACK, banner, KEXINIT, text */
	assert_int_equal(w.ev[0].bytes_out_held, 0);
	for (int i = 0; i < 3; i++)
		text(&w, 0, chunk);   /* passed before the kernel applied the block */
	segment_at(&w, 0, 0x10, w.seq[0], NULL, 0); /* and an ACK: a packet, no byte */
	w.fate = EF_FATE_HELD;
	text(&w, 0, chunk);           /* held: never left */
	w.fate = EF_FATE_PASSED;
	text(&w, 1, "server bytes coming in");
	gateway_flush(w.gw);
	assert_int_equal(w.n_ev, 2);
	assert_true(w.ev[1].final);
	assert_int_equal(w.ev[1].bytes_out_after, 3000);
	assert_int_equal(w.ev[1].packets_out_after, 4);
	assert_int_equal(w.ev[1].bytes_out_before, w.ev[0].bytes_out_passed);
	assert_int_equal(w.ev[1].packets_out_before, w.ev[0].packets_out_passed);
	assert_int_equal(w.ev[1].bytes_out_passed, kex + 4000);
	assert_int_equal(w.ev[1].bytes_out_held, 1000);
	assert_int_equal(w.ev[1].packets_out_held, 1);
	world_end(&w);
}

/* The counts belong to the inside end whichever end the engine saw first
 * (a connection picked up mid-stream): the server's passed copies are not
 * what the client sent. */
static void gate_counts_follow_the_inside_end(void **state)
{
	struct world w;

	world_start(&w, GATEWAY_GATE, 80);
	w.fate = EF_FATE_PASSED;
	text(&w, 1, "HTTP/1.1 100 Continue\r\n\r\n");
	w.fate = EF_FATE_HELD;
	text(&w, 0, post);
	gateway_flush(w.gw);
	assert_true(w.n_ev >= 1);
	assert_int_equal(w.ev[0].verdict, EF_BLOCK);
	assert_int_equal(w.ev[0].packets_out_passed, 0);
	assert_int_equal(w.ev[0].bytes_out_passed, 0);
	assert_int_equal(w.ev[0].bytes_out_held, strlen(post));
	world_end(&w);
}

/* Monitor mode knows no fates: the capture saw what left. */
static void monitor_event_has_no_fates(void **state)
{
	struct world w;

	world_start(&w, GATEWAY_MONITOR, 80);
	handshake(&w);
	text(&w, 0, "POST /upload HTTP/1.1\r\nHost: cn.example\r\nContent-Length: 3000\r\n\r\n");
	assert_int_equal(w.n_ev, 1);
	assert_false(w.ev[0].fates);
	assert_int_equal(w.ev[0].bytes_out_before, w.ev[0].bytes_out);
	world_end(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(held_flow_is_judged_by_the_timer),
		cmocka_unit_test(deadline_starts_after_the_client_hello),
		cmocka_unit_test(flow_without_data_is_never_allowed),
		cmocka_unit_test(rejudged_flow_is_blocked),
		cmocka_unit_test(reused_tuple_is_a_new_connection),
		cmocka_unit_test(every_connection_on_a_reused_tuple_is_judged),
		cmocka_unit_test(syn_retried_after_a_challenge_ack_is_one_connection),
		cmocka_unit_test(refused_attempt_has_its_own_event),
		cmocka_unit_test(retransmitted_syn_is_the_same_connection),
		cmocka_unit_test(forgotten_allowed_flow_is_revoked),
		cmocka_unit_test(new_connection_on_an_allowed_tuple_revokes_its_allow),
		cmocka_unit_test(ssh_grace_ends_when_framing_breaks),
		cmocka_unit_test(ssh_grace_takes_key_exchange_messages_only),
		cmocka_unit_test(ssh_grace_takes_a_key_exchange_worth_of_packets),
		cmocka_unit_test(ssh_grace_does_not_escape_the_deadline),
		cmocka_unit_test(monitor_block_gets_a_final_record),
		cmocka_unit_test(gate_event_tells_passed_from_held),
		cmocka_unit_test(gate_releases_held_segments_of_an_allowed_flow),
		cmocka_unit_test(gate_releases_what_a_flow_allowed_at_its_deadline_held),
		cmocka_unit_test(gate_releases_nothing_when_release_held_is_off),
		cmocka_unit_test(gate_never_releases_a_segment_with_a_wrong_checksum),
		cmocka_unit_test(gate_never_releases_for_a_blocked_flow),
		cmocka_unit_test(gate_block_with_copies_passed_after_it_gets_a_final_record),
		cmocka_unit_test(gate_counts_follow_the_inside_end),
		cmocka_unit_test(monitor_event_has_no_fates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
