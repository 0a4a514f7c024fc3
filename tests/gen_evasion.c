/*
 * tests/gen_evasion.c -- writes the captures of the evasion tests: each one
 * a client inside (10.9.0.2, fd00:ef::2) trying to get cleartext out to a
 * server the test policy places in CN (198.51.100.0/24, 2001:db8:86::/64),
 * by a trick aimed at the classifier rather than at the server.
 *
 *   gen_evasion DIR                   every case, as DIR/<case>.pcap
 *   gen_evasion --syn-flood N FILE    N SYNs of N distinct flows, raw IP
 *   gen_evasion --unreadable FILE     a flow, and one under an unknown ethertype
 *
 * Tunnel endpoints are in 203.0.113.0/24, which the test policy places in
 * US (conforming): only the inner destination can make a tunnelled flow a
 * block.  Everything is deterministic (fixed clock, fixed pseudo-random
 * stream), so the captures are the same on every run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcapgen.h"

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

#define MAX_PKT 70000

/* ---- bytes -------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint8_t rnd8(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint8_t)(rng_state >> 24);
}

static void rnd_fill(uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = rnd8();
}

/* ---- addresses and a TCP conversation ---------------------------------- */

enum wrap {
	WRAP_NONE = 0,
	WRAP_VLAN,   /* one 802.1Q tag */
	WRAP_QINQ,   /* 802.1ad outer tag, 802.1Q inner tag */
	WRAP_GRE,    /* IPv4 GRE, with a key */
	WRAP_IPIP,   /* IPv4 in IPv4 */
	WRAP_6IN4,   /* IPv6 in IPv4 */
	WRAP_MPLS,   /* two MPLS labels (0x8847) */
	WRAP_MPLS_PW, /* an Ethernet pseudowire: one label, a control word, the frame */
	WRAP_VXLAN,  /* IPv4 UDP to 4789, VXLAN, the frame */
	WRAP_GENEVE, /* IPv4 UDP to 6081, Geneve with an option, the frame */
	WRAP_GTPU,   /* IPv4 UDP to 2152, GTP-U with an extension header, the packet */
	WRAP_UNKNOWN_ETHERTYPE /* ethertype 0x88b5 (local experimental), then the packet */
};

struct conn {
	struct out *o;
	int family;              /* 4 or 6 */
	uint8_t cli[16], srv[16];
	uint16_t cport, sport;
	uint32_t seq[2];         /* next sequence number: 0 client, 1 server */
	enum wrap wrap;
	uint16_t ip_id;
	uint32_t frag_size;      /* > 0: the client's payload packets go out in fragments this big */
	bool tun_given;          /* the tunnel's outer ends: tun_a (client side), tun_b */
	uint8_t tun_a[4], tun_b[4];
};

static void conn_init(struct conn *c, struct out *o, int family, const char *cli, const char *srv,
		      uint16_t cport, uint16_t sport)
{
	memset(c, 0, sizeof(*c));
	c->o = o;
	c->family = family;
	inet_pton(family == 4 ? AF_INET : AF_INET6, cli, c->cli);
	inet_pton(family == 4 ? AF_INET : AF_INET6, srv, c->srv);
	c->cport = cport;
	c->sport = sport;
	c->seq[0] = 0x1000000u;
	c->seq[1] = 0x7000000u;
	c->ip_id = 0x4000;
}

static const uint8_t mac_cli[6] = {0x02, 0, 0, 0, 0, 0x02}, mac_srv[6] = {0x02, 0, 0, 0, 0, 0x01};

/* The encapsulations the decoder learnt after the first ones: frame holds
 * the two MAC addresses (off bytes); the rest is written here. */
static void emit_wrapped(struct conn *c, int dir, uint8_t *frame, uint32_t off, const uint8_t *ip, uint32_t ip_len)
{
	uint16_t ethertype = (ip[0] >> 4) == 6 ? 0x86dd : 0x0800;
	uint8_t shim[64];
	uint32_t n = 0;

	switch (c->wrap) {
	case WRAP_MPLS:
		put16(frame + off, 0x8847);
		put32(frame + off + 2, 100u << 12 | 64);        /* label 100, TTL 64 */
		put32(frame + off + 6, 200u << 12 | 0x100 | 64); /* label 200, bottom of stack */
		off += 10;
		break;
	case WRAP_MPLS_PW:
		put16(frame + off, 0x8847);
		put32(frame + off + 2, 300u << 12 | 0x100 | 64);
		put32(frame + off + 6, 0);                       /* control word */
		memcpy(frame + off + 10, dir ? mac_srv : mac_cli, 6);
		memcpy(frame + off + 16, dir ? mac_cli : mac_srv, 6);
		put16(frame + off + 22, ethertype);
		off += 24;
		break;
	case WRAP_UNKNOWN_ETHERTYPE:
		put16(frame + off, 0x88b5);
		off += 2;
		break;
	default: {
		/* UDP tunnels between 203.0.113.1 and .2 (US in the test policy). */
		uint16_t port = c->wrap == WRAP_VXLAN ? 4789 : c->wrap == WRAP_GENEVE ? 6081 : 2152;
		if (c->wrap == WRAP_VXLAN) {
			static const uint8_t vxlan[8] = {0x08, 0, 0, 0, 0, 0, 42, 0};
			memcpy(shim, vxlan, 8);
			n = 8;
		} else if (c->wrap == WRAP_GENEVE) {
			/* version 0, 4 bytes of options, Ethernet, VNI 42, one option of no data */
			static const uint8_t geneve[12] = {0x01, 0, 0x65, 0x58, 0, 0, 42, 0, 0x01, 0x03, 0x80, 0};
			memcpy(shim, geneve, 12);
			n = 12;
		} else {
			/* version 1, PT, E: a PDU session container extension, then the packet */
			static const uint8_t gtpu[16] = {0x34, 0xff, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0x85, 1, 0x00, 0x09, 0};
			memcpy(shim, gtpu, 16);
			put16(shim + 2, (uint16_t)(8 + ip_len));
			n = 16;
		}
		if (c->wrap != WRAP_GTPU) {
			memcpy(shim + n, dir ? mac_srv : mac_cli, 6);
			memcpy(shim + n + 6, dir ? mac_cli : mac_srv, 6);
			put16(shim + n + 12, ethertype);
			n += 14;
		}
		uint8_t a[4] = {203, 0, 113, 1}, b[4] = {203, 0, 113, 2};
		if (c->tun_given) {
			memcpy(a, c->tun_a, 4);
			memcpy(b, c->tun_b, 4);
		}
		put16(frame + off, 0x0800);
		off += 2;
		uint8_t *h = frame + off;
		uint32_t udp_len = 8 + n + ip_len;
		h[0] = 0x45;
		h[1] = 0;
		put16(h + 2, (uint16_t)(20 + udp_len));
		put16(h + 4, c->ip_id++);
		put16(h + 6, 0);
		h[8] = 64;
		h[9] = 17;
		put16(h + 10, 0);
		memcpy(h + 12, dir ? b : a, 4);
		memcpy(h + 16, dir ? a : b, 4);
		put16(h + 10, csum_fold(csum_add(0, h, 20)));
		put16(h + 20, (uint16_t)(49152 + c->cport % 1000)); /* a flow hash, as senders pick */
		put16(h + 22, port);
		put16(h + 24, (uint16_t)udp_len);
		put16(h + 26, 0); /* no checksum, as IPv4 allows */
		memcpy(h + 28, shim, n);
		off += 28 + n;
		break;
	}
	}
	memcpy(frame + off, ip, ip_len);
	out_write(c->o, frame, off + ip_len);
}

/* The frame around an IP packet: Ethernet, with tags or a tunnel. */
static void emit_ip(struct conn *c, int dir, const uint8_t *ip, uint32_t ip_len)
{
	static uint8_t frame[MAX_PKT + 128];
	uint32_t off = 12;

	memcpy(frame, dir ? mac_srv : mac_cli, 6);
	memcpy(frame + 6, dir ? mac_cli : mac_srv, 6);
	if (c->wrap == WRAP_VLAN) {
		put16(frame + off, 0x8100);
		put16(frame + off + 2, 100);
		off += 4;
	} else if (c->wrap == WRAP_QINQ) {
		put16(frame + off, 0x88a8);
		put16(frame + off + 2, 200);
		put16(frame + off + 4, 0x8100);
		put16(frame + off + 6, 100);
		off += 8;
	}
	if (c->wrap >= WRAP_MPLS) {
		emit_wrapped(c, dir, frame, off, ip, ip_len);
		return;
	}
	if (c->wrap == WRAP_GRE || c->wrap == WRAP_IPIP || c->wrap == WRAP_6IN4) {
		/* Tunnel endpoints in 203.0.113.0/24 (US in the test policy). */
		uint32_t gre = c->wrap == WRAP_GRE ? 8 : 0, total = 20 + gre + ip_len;
		put16(frame + off, 0x0800);
		off += 2;
		uint8_t *h = frame + off;
		memset(h, 0, 20);
		h[0] = 0x45;
		put16(h + 2, (uint16_t)total);
		put16(h + 4, c->ip_id++);
		h[8] = 64;
		h[9] = c->wrap == WRAP_GRE ? 47 : c->wrap == WRAP_IPIP ? 4 : 41;
		uint8_t a[4] = {203, 0, 113, 1}, b[4] = {203, 0, 113, 2};
		if (c->tun_given) {
			memcpy(a, c->tun_a, 4);
			memcpy(b, c->tun_b, 4);
		}
		memcpy(h + 12, dir ? b : a, 4);
		memcpy(h + 16, dir ? a : b, 4);
		put16(h + 10, csum_fold(csum_add(0, h, 20)));
		off += 20;
		if (gre) {
			put16(frame + off, 0x2000); /* key present */
			put16(frame + off + 2, (ip[0] >> 4) == 6 ? 0x86dd : 0x0800);
			put32(frame + off + 4, 42);
			off += 8;
		}
	} else {
		put16(frame + off, (ip[0] >> 4) == 6 ? 0x86dd : 0x0800);
		off += 2;
	}
	memcpy(frame + off, ip, ip_len);
	out_write(c->o, frame, off + ip_len);
}

/* An IPv4 header for [src -> dst] carrying `len` bytes at fragment offset
 * `frag_off` (bytes), with more-fragments `mf`. */
static uint32_t ipv4_header(uint8_t *h, const uint8_t *src, const uint8_t *dst, uint8_t proto, uint16_t id,
			    uint32_t len, uint32_t frag_off, bool mf)
{
	memset(h, 0, 20);
	h[0] = 0x45;
	put16(h + 2, (uint16_t)(20 + len));
	put16(h + 4, id);
	put16(h + 6, (uint16_t)((mf ? 0x2000 : 0) | (frag_off / 8)));
	h[8] = 64;
	h[9] = proto;
	memcpy(h + 12, src, 4);
	memcpy(h + 16, dst, 4);
	put16(h + 10, csum_fold(csum_add(0, h, 20)));
	return 20;
}

/* A fragment of an IP datagram whose transport bytes are l4[0..l4_len):
 * bytes [from, from+n) at that offset. */
static void emit_fragment(struct conn *c, int dir, const uint8_t *l4, uint32_t from, uint32_t n, bool mf, uint16_t id)
{
	static uint8_t ip[MAX_PKT];
	const uint8_t *src = dir ? c->srv : c->cli, *dst = dir ? c->cli : c->srv;
	uint32_t hl;

	if (c->family == 4) {
		hl = ipv4_header(ip, src, dst, 6, id, n, from, mf);
	} else {
		memset(ip, 0, 48);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(8 + n));
		ip[6] = 44; /* fragment header */
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
		ip[40] = 6;
		put16(ip + 42, (uint16_t)(from | (mf ? 1 : 0)));
		put32(ip + 44, 0xef000000u | id);
		hl = 48;
	}
	memcpy(ip + hl, l4 + from, n);
	emit_ip(c, dir, ip, hl + n);
}

/* A TCP segment: header and payload in l4, checksum over the pseudo header. */
static uint32_t build_tcp(struct conn *c, int dir, uint8_t *l4, uint32_t seq, uint8_t flags,
			  const uint8_t *data, uint32_t len)
{
	const uint8_t *src = dir ? c->srv : c->cli, *dst = dir ? c->cli : c->srv;
	uint32_t alen = c->family == 4 ? 4 : 16, total = 20 + len;

	memset(l4, 0, 20);
	put16(l4, dir ? c->sport : c->cport);
	put16(l4 + 2, dir ? c->cport : c->sport);
	put32(l4 + 4, seq);
	put32(l4 + 8, (flags & TH_ACK) ? c->seq[!dir] : 0);
	l4[12] = 5 << 4;
	l4[13] = flags;
	put16(l4 + 14, 64240);
	if (len)
		memcpy(l4 + 20, data, len);
	uint32_t sum = csum_add(0, src, alen);
	sum = csum_add(sum, dst, alen);
	sum += 6 + total;
	put16(l4 + 16, csum_fold(csum_add(sum, l4, total)));
	return total;
}

/* A segment at an explicit sequence number; the conversation's own
 * sequence numbers are left alone. */
static void tcp_at(struct conn *c, int dir, uint32_t seq, uint8_t flags, const uint8_t *data, uint32_t len)
{
	static uint8_t l4[MAX_PKT], ip[MAX_PKT];
	const uint8_t *src = dir ? c->srv : c->cli, *dst = dir ? c->cli : c->srv;
	uint32_t n = build_tcp(c, dir, l4, seq, flags, data, len);

	if (c->frag_size && dir == 0 && len) {
		uint16_t id = c->ip_id++;
		for (uint32_t from = 0; from < n; from += c->frag_size) {
			uint32_t k = n - from < c->frag_size ? n - from : c->frag_size;
			emit_fragment(c, dir, l4, from, k, from + k < n, id);
		}
		return;
	}
	uint32_t hl;
	if (c->family == 4) {
		hl = ipv4_header(ip, src, dst, 6, c->ip_id++, n, 0, false);
		ip[6] |= 0x40; /* don't fragment */
		put16(ip + 10, 0);
		put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	} else {
		memset(ip, 0, 40);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)n);
		ip[6] = 6;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
		hl = 40;
	}
	memcpy(ip + hl, l4, n);
	emit_ip(c, dir, ip, hl + n);
}

static void tcp_send(struct conn *c, int dir, const void *data, uint32_t len)
{
	tcp_at(c, dir, c->seq[dir], TH_ACK | TH_PSH, data, len);
	c->seq[dir] += len;
}

static void tcp_send_str(struct conn *c, int dir, const char *s)
{
	tcp_send(c, dir, s, (uint32_t)strlen(s));
}

static void tcp_ack(struct conn *c, int dir)
{
	tcp_at(c, dir, c->seq[dir], TH_ACK, NULL, 0);
}

static void tcp_handshake(struct conn *c)
{
	tcp_at(c, 0, c->seq[0]++, TH_SYN, NULL, 0);
	tcp_at(c, 1, c->seq[1]++, TH_SYN | TH_ACK, NULL, 0);
	tcp_ack(c, 0);
}

static void tcp_close(struct conn *c)
{
	tcp_at(c, 0, c->seq[0]++, TH_FIN | TH_ACK, NULL, 0);
	tcp_at(c, 1, c->seq[1]++, TH_FIN | TH_ACK, NULL, 0);
	tcp_ack(c, 0);
}

/* ---- what the client and server say ------------------------------------ */

static const char http_request[] =
	"POST /upload/design-review.txt HTTP/1.1\r\n"
	"Host: files.example.cn\r\n"
	"User-Agent: curl/7.88.1\r\n"
	"Content-Type: text/plain\r\n"
	"Content-Length: 48\r\n"
	"\r\n"
	"CONFIDENTIAL: rotor blade alloy spec, rev 7.\r\n\r\n";

static const char http_response[] =
	"HTTP/1.1 200 OK\r\n"
	"Server: nginx\r\n"
	"Content-Length: 2\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"ok";

/* A TLS record of `type` around body[0..len). */
static uint32_t tls_record(uint8_t *out, uint8_t type, const uint8_t *body, uint32_t len)
{
	out[0] = type;
	out[1] = 3;
	out[2] = 3;
	put16(out + 3, (uint16_t)len);
	memcpy(out + 5, body, len);
	return 5 + len;
}

/* A TLS 1.2 ClientHello with SNI, as record bytes. */
static uint32_t tls_client_hello(uint8_t *out)
{
	static const char sni[] = "files.example.cn";
	uint8_t hs[512];
	uint32_t n = 4;

	put16(hs + n, 0x0303);
	n += 2;
	rnd_fill(hs + n, 32);
	n += 32;
	hs[n++] = 0; /* no session id */
	static const uint16_t suites[] = {0xc02f, 0xc030, 0xc02b, 0xc02c, 0xcca8, 0x009c, 0x002f};
	put16(hs + n, sizeof(suites));
	n += 2;
	for (size_t i = 0; i < sizeof(suites) / 2; i++, n += 2)
		put16(hs + n, suites[i]);
	hs[n++] = 1;
	hs[n++] = 0; /* null compression */
	uint32_t ext_len_at = n;
	n += 2;
	/* server_name */
	put16(hs + n, 0x0000);
	put16(hs + n + 2, (uint16_t)(5 + strlen(sni)));
	put16(hs + n + 4, (uint16_t)(3 + strlen(sni)));
	hs[n + 6] = 0;
	put16(hs + n + 7, (uint16_t)strlen(sni));
	memcpy(hs + n + 9, sni, strlen(sni));
	n += 9 + (uint32_t)strlen(sni);
	/* supported_groups: x25519, secp256r1 */
	static const uint8_t groups[] = {0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17};
	memcpy(hs + n, groups, sizeof(groups));
	n += sizeof(groups);
	/* ec_point_formats */
	static const uint8_t points[] = {0x00, 0x0b, 0x00, 0x02, 0x01, 0x00};
	memcpy(hs + n, points, sizeof(points));
	n += sizeof(points);
	/* signature_algorithms */
	static const uint8_t sigs[] = {0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x01, 0x08, 0x04, 0x04, 0x03};
	memcpy(hs + n, sigs, sizeof(sigs));
	n += sizeof(sigs);
	put16(hs + ext_len_at, (uint16_t)(n - ext_len_at - 2));
	hs[0] = 1;
	hs[1] = 0;
	put16(hs + 2, (uint16_t)(n - 4));
	uint32_t r = tls_record(out, 22, hs, n);
	out[2] = 1; /* record layer version of a first hello: TLS 1.0 */
	return r;
}

/* ServerHello (TLS 1.2, ECDHE-RSA-AES128-GCM-SHA256) and ServerHelloDone,
 * one record. */
static uint32_t tls_server_hello(uint8_t *out)
{
	uint8_t hs[256];
	uint32_t n = 4;

	put16(hs + n, 0x0303);
	n += 2;
	rnd_fill(hs + n, 32);
	n += 32;
	hs[n++] = 32;
	rnd_fill(hs + n, 32);
	n += 32;
	put16(hs + n, 0xc02f);
	n += 2;
	hs[n++] = 0;
	static const uint8_t ext[] = {0x00, 0x0a, 0xff, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0b, 0x00, 0x02, 0x01, 0x00};
	memcpy(hs + n, ext, sizeof(ext));
	n += sizeof(ext);
	hs[0] = 2;
	hs[1] = 0;
	put16(hs + 2, (uint16_t)(n - 4));
	hs[n++] = 14; /* ServerHelloDone */
	hs[n++] = 0;
	hs[n++] = 0;
	hs[n++] = 0;
	return tls_record(out, 22, hs, n);
}

/* Client key exchange, ChangeCipherSpec and an encrypted Finished. */
static uint32_t tls_client_finish(uint8_t *out)
{
	uint8_t body[80];
	uint32_t n;

	body[0] = 16;
	body[1] = 0;
	put16(body + 2, 66);
	body[4] = 65;
	body[5] = 4;
	rnd_fill(body + 6, 64);
	n = tls_record(out, 22, body, 70);
	static const uint8_t ccs = 1;
	n += tls_record(out + n, 20, &ccs, 1);
	rnd_fill(body, 40);
	n += tls_record(out + n, 22, body, 40);
	return n;
}

static uint32_t tls_server_finish(uint8_t *out)
{
	static const uint8_t ccs = 1;
	uint8_t body[40];
	uint32_t n = tls_record(out, 20, &ccs, 1);

	rnd_fill(body, 40);
	return n + tls_record(out + n, 22, body, 40);
}

/* ---- the cases -------------------------------------------------------- */

#define CLIENT "10.9.0.2"
#define SERVER "198.51.100.10"
#define CLIENT6 "fd00:ef::2"
#define SERVER6 "2001:db8:86::10"

/* The HTTP request sent whole (or as the conversation's fragmentation
 * says), the reply, and the close. */
static void http_exchange(struct conn *c)
{
	tcp_handshake(c);
	tcp_send_str(c, 0, http_request);
	tcp_ack(c, 1);
	tcp_send_str(c, 1, http_response);
	tcp_ack(c, 0);
	tcp_close(c);
}

static void case_http_1byte_segments(struct out *o)
{
	struct conn c;

	conn_init(&c, o, 4, CLIENT, SERVER, 40001, 80);
	tcp_handshake(&c);
	for (size_t i = 0; i < strlen(http_request); i++) {
		tcp_send(&c, 0, http_request + i, 1);
		tcp_ack(&c, 1);
	}
	tcp_send_str(&c, 1, http_response);
	tcp_ack(&c, 0);
	tcp_close(&c);
}

/* The request's first 60 bytes in 3-byte segments sent in a shuffled order
 * (the first segment, which holds the method, goes out last), then the rest
 * in order.  No segment alone says "HTTP"; a receiver that dropped what
 * came early would see "POS" and nothing else. */
static void case_http_out_of_order(struct out *o)
{
	struct conn c;
	uint32_t len = (uint32_t)strlen(http_request), seg = 3, n = 60 / seg;
	uint32_t order[20];

	conn_init(&c, o, 4, CLIENT, SERVER, 40002, 80);
	tcp_handshake(&c);
	for (uint32_t i = 0; i < n; i++)
		order[i] = n - 1 - i;
	for (uint32_t i = 0; i + 1 < n - 1; i += 2) { /* swap neighbours, the first stays last */
		uint32_t t = order[i];
		order[i] = order[i + 1];
		order[i + 1] = t;
	}
	for (uint32_t i = 0; i < n; i++)
		tcp_at(&c, 0, c.seq[0] + order[i] * seg, TH_ACK, (const uint8_t *)http_request + order[i] * seg, seg);
	tcp_at(&c, 0, c.seq[0] + n * seg, TH_ACK | TH_PSH, (const uint8_t *)http_request + n * seg, len - n * seg);
	c.seq[0] += len;
	tcp_ack(&c, 1);
	tcp_send_str(&c, 1, http_response);
	tcp_ack(&c, 0);
	tcp_close(&c);
}

/* The first copy of the request's start is the real one; then copies of
 * overlapping ranges with other bytes, before the rest follows.  The
 * receiver already has the first copy (it arrived in order), so the later
 * ones are what it throws away. */
static void case_http_overlap_conflict(struct out *o)
{
	struct conn c;
	const uint8_t *req = (const uint8_t *)http_request;
	uint32_t len = (uint32_t)strlen(http_request), base;
	uint8_t junk[32];

	conn_init(&c, o, 4, CLIENT, SERVER, 40003, 80);
	tcp_handshake(&c);
	base = c.seq[0];
	tcp_at(&c, 0, base, TH_ACK, req, 10);                  /* "POST /uplo" */
	rnd_fill(junk, sizeof(junk));
	tcp_at(&c, 0, base, TH_ACK, junk, 10);                 /* same range, other bytes */
	tcp_at(&c, 0, base + 10, TH_ACK, req + 10, 10);
	tcp_at(&c, 0, base + 5, TH_ACK, junk, 20);             /* partly new, partly old */
	tcp_at(&c, 0, base + 20, TH_ACK | TH_PSH, req + 20, len - 20);
	c.seq[0] += len;
	tcp_ack(&c, 1);
	tcp_send_str(&c, 1, http_response);
	tcp_ack(&c, 0);
	tcp_close(&c);
}

static void case_http_frag_tiny_v4(struct out *o)
{
	struct conn c;

	conn_init(&c, o, 4, CLIENT, SERVER, 40004, 80);
	c.frag_size = 8; /* the TCP header itself spans three fragments */
	http_exchange(&c);
}

/* Fragments of the request's packet, with later fragments covering earlier
 * ones with other bytes: the earliest copy is the one that counts. */
static void case_http_frag_overlap_v4(struct out *o)
{
	static uint8_t l4[2048];
	struct conn c;
	uint8_t junk[64];

	conn_init(&c, o, 4, CLIENT, SERVER, 40005, 80);
	tcp_handshake(&c);
	uint32_t n = build_tcp(&c, 0, l4, c.seq[0], TH_ACK | TH_PSH, (const uint8_t *)http_request,
			       (uint32_t)strlen(http_request));
	uint16_t id = 0x5151;
	rnd_fill(junk, sizeof(junk));
	emit_fragment(&c, 0, l4, 0, 48, true, id);  /* TCP header and "POST /upload/design-r" */
	{
		/* The same 8..40 again, with other bytes: a conflicting overlap. */
		static uint8_t fake[2048];
		memcpy(fake, l4, n);
		memcpy(fake + 8, junk, 32);
		emit_fragment(&c, 0, fake, 8, 32, true, id);
	}
	emit_fragment(&c, 0, l4, 40, 64, true, id); /* overlaps 40..48, same bytes */
	emit_fragment(&c, 0, l4, 104, n - 104, false, id);
	c.seq[0] += (uint32_t)strlen(http_request);
	tcp_ack(&c, 1);
	tcp_send_str(&c, 1, http_response);
	tcp_ack(&c, 0);
	tcp_close(&c);
}

static void case_http_frag_v6(struct out *o)
{
	struct conn c;

	conn_init(&c, o, 6, CLIENT6, SERVER6, 40006, 80);
	c.frag_size = 16;
	http_exchange(&c);
}

static void case_http_on_443(struct out *o)
{
	struct conn c;

	conn_init(&c, o, 4, CLIENT, SERVER, 40007, 443);
	http_exchange(&c);
}

/* A complete TLS 1.2 handshake and protected records, on port 80: the
 * control case, `encrypted` from the handshake whatever the port says. */
static void case_tls_on_80(struct out *o)
{
	struct conn c;
	uint8_t buf[2048], app[300];
	uint32_t n;

	conn_init(&c, o, 4, CLIENT, SERVER, 40008, 80);
	tcp_handshake(&c);
	n = tls_client_hello(buf);
	tcp_send(&c, 0, buf, n);
	n = tls_server_hello(buf);
	tcp_send(&c, 1, buf, n);
	n = tls_client_finish(buf);
	tcp_send(&c, 0, buf, n);
	n = tls_server_finish(buf);
	tcp_send(&c, 1, buf, n);
	rnd_fill(app, sizeof(app));
	n = tls_record(buf, 23, app, sizeof(app));
	tcp_send(&c, 0, buf, n);
	rnd_fill(app, sizeof(app));
	n = tls_record(buf, 23, app, sizeof(app));
	tcp_send(&c, 1, buf, n);
	tcp_ack(&c, 0);
	tcp_close(&c);
}

static void case_ftp_high_port(struct out *o)
{
	struct conn c;

	conn_init(&c, o, 4, CLIENT, SERVER, 40009, 47123);
	tcp_handshake(&c);
	tcp_send_str(&c, 1, "220 (vsFTPd 3.0.3)\r\n");
	tcp_send_str(&c, 0, "USER anonymous\r\n");
	tcp_send_str(&c, 1, "331 Please specify the password.\r\n");
	tcp_send_str(&c, 0, "PASS guest@\r\n");
	tcp_send_str(&c, 1, "230 Login successful.\r\n");
	tcp_send_str(&c, 0, "TYPE I\r\n");
	tcp_send_str(&c, 1, "200 Switching to Binary mode.\r\n");
	tcp_send_str(&c, 0, "PASV\r\n");
	tcp_send_str(&c, 1, "227 Entering Passive Mode (198,51,100,10,184,25).\r\n");
	tcp_send_str(&c, 0, "STOR design-review.txt\r\n");
	tcp_send_str(&c, 1, "150 Ok to send data.\r\n");
	tcp_send_str(&c, 1, "226 Transfer complete.\r\n");
	tcp_send_str(&c, 0, "QUIT\r\n");
	tcp_send_str(&c, 1, "221 Goodbye.\r\n");
	tcp_close(&c);
}

/* A real-looking ClientHello, and then the request in the clear. */
static void case_tls_hello_then_plain(struct out *o)
{
	struct conn c;
	uint8_t buf[1024];

	conn_init(&c, o, 4, CLIENT, SERVER, 40010, 443);
	tcp_handshake(&c);
	uint32_t n = tls_client_hello(buf);
	tcp_send(&c, 0, buf, n);
	tcp_ack(&c, 1);
	tcp_send_str(&c, 0, http_request);
	tcp_ack(&c, 1);
	tcp_send_str(&c, 1, http_response);
	tcp_close(&c);
}

/* ClientHello and a ServerHello, then the client's "application data"
 * records carry readable text. */
static void case_tls_records_plaintext(struct out *o)
{
	struct conn c;
	uint8_t buf[2048];
	uint32_t n;

	conn_init(&c, o, 4, CLIENT, SERVER, 40011, 443);
	tcp_handshake(&c);
	n = tls_client_hello(buf);
	tcp_send(&c, 0, buf, n);
	n = tls_server_hello(buf);
	tcp_send(&c, 1, buf, n);
	n = tls_record(buf, 23, (const uint8_t *)http_request, (uint32_t)strlen(http_request));
	tcp_send(&c, 0, buf, n);
	n = tls_record(buf, 23, (const uint8_t *)http_response, (uint32_t)strlen(http_response));
	tcp_send(&c, 1, buf, n);
	tcp_ack(&c, 0);
	tcp_close(&c);
}

/* ClientHello, no answer from the server, then records of random bytes:
 * looks encrypted, but no handshake ever happened. */
static void case_tls_no_server_hello(struct out *o)
{
	struct conn c;
	uint8_t buf[2048], body[1000];
	uint32_t n;

	conn_init(&c, o, 4, CLIENT, SERVER, 40012, 443);
	tcp_handshake(&c);
	n = tls_client_hello(buf);
	tcp_send(&c, 0, buf, n);
	tcp_ack(&c, 1);
	for (int i = 0; i < 6; i++) {
		rnd_fill(body, sizeof(body));
		n = tls_record(buf, 23, body, sizeof(body));
		tcp_send(&c, 0, buf, n);
		tcp_ack(&c, 1);
	}
	tcp_close(&c);
}

static void case_smtp_starttls_refused(struct out *o)
{
	struct conn c;

	conn_init(&c, o, 4, CLIENT, SERVER, 40013, 25);
	tcp_handshake(&c);
	tcp_send_str(&c, 1, "220 mail.example.cn ESMTP Postfix\r\n");
	tcp_send_str(&c, 0, "EHLO laptop.example.com\r\n");
	tcp_send_str(&c, 1, "250-mail.example.cn\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250 8BITMIME\r\n");
	tcp_send_str(&c, 0, "STARTTLS\r\n");
	tcp_send_str(&c, 1, "454 4.7.0 TLS not available due to local problem\r\n");
	tcp_send_str(&c, 0, "MAIL FROM:<engineer@example.com>\r\n");
	tcp_send_str(&c, 1, "250 2.1.0 Ok\r\n");
	tcp_send_str(&c, 0, "RCPT TO:<buyer@example.cn>\r\n");
	tcp_send_str(&c, 1, "250 2.1.5 Ok\r\n");
	tcp_send_str(&c, 0, "DATA\r\n");
	tcp_send_str(&c, 1, "354 End data with <CR><LF>.<CR><LF>\r\n");
	tcp_send_str(&c, 0, "Subject: spec\r\n\r\nCONFIDENTIAL: rotor blade alloy spec, rev 7.\r\n.\r\n");
	tcp_send_str(&c, 1, "250 2.0.0 Ok: queued as 4F2A1\r\n");
	tcp_send_str(&c, 0, "QUIT\r\n");
	tcp_send_str(&c, 1, "221 2.0.0 Bye\r\n");
	tcp_close(&c);
}

static void wrapped_http(struct out *o, enum wrap w, int family, uint16_t cport)
{
	struct conn c;

	if (family == 4)
		conn_init(&c, o, 4, CLIENT, SERVER, cport, 80);
	else
		conn_init(&c, o, 6, CLIENT6, SERVER6, cport, 80);
	c.wrap = w;
	http_exchange(&c);
}

static void case_gre(struct out *o) { wrapped_http(o, WRAP_GRE, 4, 40014); }
static void case_ipip(struct out *o) { wrapped_http(o, WRAP_IPIP, 4, 40015); }
static void case_6in4(struct out *o) { wrapped_http(o, WRAP_6IN4, 6, 40016); }
static void case_vlan(struct out *o) { wrapped_http(o, WRAP_VLAN, 4, 40017); }
static void case_qinq(struct out *o) { wrapped_http(o, WRAP_QINQ, 4, 40018); }

/*
 * A long upload on a kept-alive HTTP connection, picked up in the middle of
 * a request body (no handshake, no headers of the current request): lines
 * of a CSV file, `segments` segments of them, then the next request and its
 * reply.  With few segments the next request falls inside the bytes the
 * classifier keeps; with many, only body text is there to judge.
 */
static void midstream(struct out *o, uint16_t cport, int segments)
{
	struct conn c;
	char line[128];

	conn_init(&c, o, 4, CLIENT, SERVER, cport, 80);
	for (int i = 0; i < segments; i++) {
		char seg[1400];
		uint32_t n = 0;
		while (n + 80 < sizeof(seg)) {
			int k = snprintf(line, sizeof(line), "%06d,rotor-blade,alloy-7,%d.%02d,tolerance,%d\r\n",
					 i * 20 + (int)(n / 60), 1000 + i, (int)(n % 97), (int)(n % 13));
			memcpy(seg + n, line, (size_t)k);
			n += (uint32_t)k;
		}
		tcp_send(&c, 0, seg, n);
		if (i % 2)
			tcp_ack(&c, 1);
	}
	tcp_send_str(&c, 1, http_response);
	tcp_send_str(&c, 0, http_request);
	tcp_send_str(&c, 1, http_response);
	tcp_close(&c);
}

static void case_midstream(struct out *o) { midstream(o, 40019, 6); }
static void case_midstream_body_only(struct out *o) { midstream(o, 40021, 30); }

/* Random bytes both ways: no protocol at all.  On 443 the port alone would
 * say TLS. */
static void high_entropy(struct out *o, uint16_t cport, uint16_t sport)
{
	struct conn c;
	uint8_t buf[1200];

	conn_init(&c, o, 4, CLIENT, SERVER, cport, sport);
	tcp_handshake(&c);
	for (int i = 0; i < 12; i++) {
		rnd_fill(buf, sizeof(buf));
		tcp_send(&c, 0, buf, sizeof(buf));
		rnd_fill(buf, 64);
		tcp_send(&c, 1, buf, 64);
	}
	tcp_close(&c);
}

static void case_high_entropy(struct out *o) { high_entropy(o, 40020, 7443); }
static void case_high_entropy_443(struct out *o) { high_entropy(o, 40022, 443); }

/* ---- addresses that embed the CN server's IPv4 (issue 8, item 7) ------
 * Cleartext HTTP from the inside IPv6 client to 198.51.100.10 as NAT64
 * (RFC 6052 /96, RFC 8215 /48 with the u octet), 6to4, Teredo (client
 * address inverted) and IPv4-mapped addresses carry it: the IPv6 address
 * itself is in no database, so only its embedded IPv4 can make it CN. */
static void embedded_http(struct out *o, const char *server6, uint16_t cport)
{
	struct conn c;

	conn_init(&c, o, 6, CLIENT6, server6, cport, 80);
	http_exchange(&c);
}

static void case_nat64(struct out *o) { embedded_http(o, "64:ff9b::198.51.100.10", 40101); }
static void case_nat64_local(struct out *o) { embedded_http(o, "64:ff9b:1:c633:64:a00::", 40102); }
static void case_nat64_local_u(struct out *o) { embedded_http(o, "64:ff9b:1:c633:ff64:a00::", 40103); }
static void case_6to4(struct out *o) { embedded_http(o, "2002:c633:640a::1", 40104); }
static void case_teredo(struct out *o) { embedded_http(o, "2001:0:cb00:7105:8000:63bf:39cc:9bf5", 40105); }
static void case_v4mapped(struct out *o) { embedded_http(o, "::ffff:198.51.100.10", 40106); }

/* Cleartext HTTP to 198.18.0.10: US in tests/data's test-iplocation.mmdb,
 * in no network of test-maxmind.mmdb (issue 8, item 11; audited with both). */
static void case_one_db_silent(struct out *o)
{
	struct conn c;

	conn_init(&c, o, 4, CLIENT, "198.18.0.10", 40107, 80);
	http_exchange(&c);
}


/* ---- `encrypted' must hold for every byte (issue 8, items 4-6) ----------- */

/* An IPv4 datagram of `proto` carrying body[0..len), unfragmented. */
static void ip_send(struct conn *c, int dir, uint8_t proto, const uint8_t *body, uint32_t len)
{
	static uint8_t ip[MAX_PKT];
	const uint8_t *src = dir ? c->srv : c->cli, *dst = dir ? c->cli : c->srv;
	uint32_t hl = ipv4_header(ip, src, dst, proto, c->ip_id++, len, 0, false);

	memcpy(ip + hl, body, len);
	emit_ip(c, dir, ip, hl + len);
}

/* A UDP datagram (IPv4; checksum 0, which IPv4 allows). */
static void udp_send(struct conn *c, int dir, const uint8_t *data, uint32_t len)
{
	static uint8_t u[MAX_PKT];

	put16(u, dir ? c->sport : c->cport);
	put16(u + 2, dir ? c->cport : c->sport);
	put16(u + 4, (uint16_t)(8 + len));
	put16(u + 6, 0);
	memcpy(u + 8, data, len);
	ip_send(c, dir, 17, u, 8 + len);
}

/* `len' bytes of the confidential text, repeated. */
static void fill_text(uint8_t *p, uint32_t len)
{
	static const char secret[] = "CONFIDENTIAL: rotor blade alloy spec, rev 7. Leading edge to 0.02 mm, "
				     "heat-treated at 1040 C for four hours, shot-peened on both faces.\r\n";
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)secret[i % (sizeof(secret) - 1)];
}

/* A real-looking TLS 1.2 handshake: hellos, the client's key exchange,
 * CCS and encrypted Finished, the server's CCS and Finished. */
static void tls12_full_handshake(struct conn *c)
{
	uint8_t buf[2048];
	uint32_t n;

	tcp_handshake(c);
	n = tls_client_hello(buf);
	tcp_send(c, 0, buf, n);
	n = tls_server_hello(buf);
	tcp_send(c, 1, buf, n);
	n = tls_client_finish(buf);
	tcp_send(c, 0, buf, n);
	n = tls_server_finish(buf);
	tcp_send(c, 1, buf, n);
}

/* After a real-looking TLS 1.2 handshake, the upload inside application-data
 * records: framed as TLS, readable inside. */
static void case_tls12_text_in_records(struct out *o)
{
	struct conn c;
	uint8_t text[1000], buf[1100];

	conn_init(&c, o, 4, CLIENT, SERVER, 40101, 443);
	tls12_full_handshake(&c);
	for (int i = 0; i < 8; i++) {
		fill_text(text, sizeof(text));
		tcp_send(&c, 0, buf, tls_record(buf, 23, text, sizeof(text)));
		tcp_ack(&c, 1);
	}
	tcp_close(&c);
}

/* After the same handshake, the upload raw, outside any record. */
static void case_tls12_text_raw(struct out *o)
{
	struct conn c;

	conn_init(&c, o, 4, CLIENT, SERVER, 40102, 443);
	tls12_full_handshake(&c);
	for (int i = 0; i < 8; i++) {
		tcp_send_str(&c, 0, http_request);
		tcp_ack(&c, 1);
	}
	tcp_close(&c);
}

/* ClientHello, ServerHello, and from the client a ChangeCipherSpec alone. */
static void case_tls_lone_ccs(struct out *o)
{
	struct conn c;
	uint8_t buf[2048];
	static const uint8_t ccs = 1;

	conn_init(&c, o, 4, CLIENT, SERVER, 40103, 443);
	tcp_handshake(&c);
	tcp_send(&c, 0, buf, tls_client_hello(buf));
	tcp_send(&c, 1, buf, tls_server_hello(buf));
	tcp_send(&c, 0, buf, tls_record(buf, 20, &ccs, 1));
	tcp_ack(&c, 1);
	tcp_close(&c);
}

/* A complete handshake whose ClientHello was retransmitted with other
 * bytes: which copy the server kept is unknown, so the flow is never
 * `encrypted', however good the rest looks. */
static void case_tls_conflict(struct out *o)
{
	struct conn c;
	uint8_t buf[2048], other[2048], app[300];
	uint32_t n;

	conn_init(&c, o, 4, CLIENT, SERVER, 40104, 443);
	tcp_handshake(&c);
	n = tls_client_hello(buf);
	memcpy(other, buf, n);
	other[n - 2] ^= 0x5a;
	tcp_at(&c, 0, c.seq[0], TH_ACK | TH_PSH, buf, n);
	tcp_at(&c, 0, c.seq[0], TH_ACK | TH_PSH, other, n);
	c.seq[0] += n;
	tcp_send(&c, 1, buf, tls_server_hello(buf));
	tcp_send(&c, 0, buf, tls_client_finish(buf));
	tcp_send(&c, 1, buf, tls_server_finish(buf));
	rnd_fill(app, sizeof(app));
	tcp_send(&c, 0, buf, tls_record(buf, 23, app, sizeof(app)));
	tcp_close(&c);
}

/* A DTLS 1.2 record around one handshake message (type, body). */
static uint32_t dtls_handshake(uint8_t *out, uint8_t type, const uint8_t *body, uint32_t len, uint16_t msg_seq)
{
	out[0] = 22;
	out[1] = 0xfe;
	out[2] = 0xfd;
	memset(out + 3, 0, 8); /* epoch 0, sequence number */
	out[10] = (uint8_t)msg_seq;
	put16(out + 11, (uint16_t)(12 + len));
	uint8_t *h = out + 13;
	h[0] = type;
	h[1] = 0;
	put16(h + 2, (uint16_t)len);
	put16(h + 4, msg_seq);
	memset(h + 6, 0, 3);
	h[9] = 0;
	put16(h + 10, (uint16_t)len);
	memcpy(h + 12, body, len);
	return 25 + len;
}

/* A DTLS 1.2 ClientHello and ServerHello. */
static void dtls_hello_pair(struct conn *c)
{
	uint8_t body[256], buf[512];
	uint32_t n = 0;

	put16(body, 0xfefd);
	rnd_fill(body + 2, 32);
	n = 34;
	body[n++] = 0; /* session id */
	body[n++] = 0; /* cookie */
	put16(body + n, 4);
	put16(body + n + 2, 0xc02f);
	put16(body + n + 4, 0xc02b);
	n += 6;
	body[n++] = 1;
	body[n++] = 0;
	static const uint8_t ext[] = {0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x1d, 0x00, 0x0b, 0x00, 0x02, 0x01, 0x00};
	put16(body + n, sizeof(ext));
	memcpy(body + n + 2, ext, sizeof(ext));
	n += 2 + sizeof(ext);
	udp_send(c, 0, buf, dtls_handshake(buf, 1, body, n, 0));
	put16(body, 0xfefd);
	rnd_fill(body + 2, 32);
	n = 34;
	body[n++] = 0;
	put16(body + n, 0xc02f);
	n += 2;
	body[n++] = 0;
	put16(body + n, 0);
	n += 2;
	udp_send(c, 1, buf, dtls_handshake(buf, 2, body, n, 0));
}

/* A DTLS ClientHello and ServerHello, and nothing protected from the
 * client after them. */
static void case_dtls_hello_pair_only(struct out *o)
{
	struct conn c;

	conn_init(&c, o, 4, CLIENT, SERVER, 40105, 4433);
	dtls_hello_pair(&c);
}

/* A QUIC long header of `version' (v1 Initial type bits) around random bytes. */
static void quic_random_initial(uint8_t *d, uint32_t n, uint32_t version)
{
	rnd_fill(d, n);
	d[0] = version == 0x6b3343cf ? 0xd3 : 0xc3; /* Initial: type 0 in v1, 1 in v2 */
	put32(d + 1, version);
	d[5] = 8;      /* DCID length, then 8 bytes */
	d[14] = 0;     /* no SCID */
	d[15] = 0;     /* no token */
	put16(d + 16, (uint16_t)(0x4000 | (n - 18))); /* Length */
}

/* A QUIC v1 long header on 1200 random bytes, and more random datagrams,
 * with no reply from the server: nothing proves a QUIC exchange. */
static void case_quic_random_no_reply(struct out *o)
{
	struct conn c;
	uint8_t d[1200];

	conn_init(&c, o, 4, CLIENT, SERVER, 40106, 443);
	quic_random_initial(d, sizeof(d), 0x00000001);
	udp_send(&c, 0, d, sizeof(d));
	for (int i = 0; i < 4; i++) {
		rnd_fill(d, sizeof(d));
		d[0] = 0x40 | (d[0] & 0x3f); /* short header */
		udp_send(&c, 0, d, sizeof(d));
	}
}

/* QUIC v2 (RFC 9369): a client Initial and a server Initial of the same
 * version, then the upload in readable datagrams. */
static void case_quic_v2_reply_then_text(struct out *o)
{
	struct conn c;
	uint8_t d[1200];

	conn_init(&c, o, 4, CLIENT, SERVER, 40109, 443);
	quic_random_initial(d, sizeof(d), 0x6b3343cf);
	udp_send(&c, 0, d, sizeof(d));
	quic_random_initial(d, sizeof(d), 0x6b3343cf);
	udp_send(&c, 1, d, sizeof(d));
	for (int i = 0; i < 4; i++) {
		fill_text(d, sizeof(d));
		d[0] = 0x40; /* short header, then text */
		udp_send(&c, 0, d, sizeof(d));
	}
}

/* ESP with NULL encryption: each packet an inner IPv4/TCP segment carrying
 * the upload, the RFC 4303 trailer and a 12-byte ICV. */
static void case_esp_null_text(struct out *o)
{
	struct conn c;
	uint8_t pkt[1600];

	conn_init(&c, o, 4, CLIENT, SERVER, 0, 0);
	for (uint32_t seq = 1; seq <= 4; seq++) {
		uint32_t n = 0, text = 600;
		put32(pkt, 0x0badcafe);
		put32(pkt + 4, seq);
		n = 8;
		uint8_t *in = pkt + n;
		uint8_t isrc[4] = {10, 9, 1, 2}, idst[4] = {10, 9, 2, 2};
		ipv4_header(in, isrc, idst, 6, (uint16_t)seq, 20 + text, 0, false);
		memset(in + 20, 0, 20);
		put16(in + 20, 40000);
		put16(in + 22, 80);
		put32(in + 24, 1000 + seq * text);
		in[32] = 5 << 4;
		in[33] = TH_ACK | TH_PSH;
		fill_text(in + 40, text);
		n += 40 + text;
		uint8_t pad = (uint8_t)((4 - (n - 8 + 2) % 4) % 4);
		for (uint8_t k = 1; k <= pad; k++)
			pkt[n++] = k;
		pkt[n++] = pad;
		pkt[n++] = 4; /* next header: IPv4 */
		rnd_fill(pkt + n, 12);
		n += 12;
		ip_send(&c, 0, 50, pkt, n);
	}
}

/* The control: ESP with random payload, both ways, sequence numbers rising. */
static void case_esp_random(struct out *o)
{
	struct conn c;
	uint8_t pkt[400];

	conn_init(&c, o, 4, CLIENT, SERVER, 0, 0);
	for (uint32_t seq = 1; seq <= 4; seq++) {
		for (int dir = 0; dir < 2; dir++) {
			put32(pkt, dir ? 0x51d2e3f4 : 0x0badcafe);
			put32(pkt + 4, seq);
			rnd_fill(pkt + 8, sizeof(pkt) - 8);
			ip_send(&c, dir, 50, pkt, sizeof(pkt));
		}
	}
}

/* IKEv2 headers on UDP 500 from the client only: IKE_SA_INIT, then
 * "IKE_AUTH" with an Encrypted payload, never a reply. */
static void case_ike_one_sided(struct out *o)
{
	struct conn c;
	uint8_t d[400];

	conn_init(&c, o, 4, CLIENT, SERVER, 500, 500);
	for (int i = 0; i < 4; i++) {
		rnd_fill(d, sizeof(d));
		memset(d + 8, 0, 8);              /* responder SPI unknown yet */
		d[16] = i ? 46 : 33;              /* next payload: SK, or SA */
		d[17] = 0x20;                     /* IKEv2 */
		d[18] = i ? 35 : 34;              /* IKE_AUTH, or IKE_SA_INIT */
		d[19] = 0x08;                     /* initiator */
		put32(d + 20, (uint32_t)i);
		put32(d + 24, sizeof(d));
		udp_send(&c, 0, d, sizeof(d));
	}
}

/* A WireGuard handshake pair of the right sizes, then "transport" packets
 * (type 4, rising counter) carrying the upload in the clear. */
static void wireguard_session(struct conn *c, bool text)
{
	uint8_t d[1200];

	memset(d, 0, 148);
	d[0] = 1;
	put32(d + 4, 0x11223344);
	rnd_fill(d + 8, 140);
	udp_send(c, 0, d, 148);
	memset(d, 0, 92);
	d[0] = 2;
	put32(d + 4, 0x55667788);
	put32(d + 8, 0x11223344);
	rnd_fill(d + 12, 80);
	udp_send(c, 1, d, 92);
	for (uint32_t ctr = 0; ctr < 6; ctr++) {
		for (int dir = 0; dir < 2; dir++) {
			uint32_t n = dir ? 96 : 1024;
			memset(d, 0, 16);
			d[0] = 4;
			memcpy(d + 4, dir ? "\x44\x33\x22\x11" : "\x88\x77\x66\x55", 4);
			d[8] = (uint8_t)ctr;
			if (text && !dir)
				fill_text(d + 16, n - 16);
			else
				rnd_fill(d + 16, n - 16);
			udp_send(c, dir, d, n);
		}
	}
}

static void wireguard(struct out *o, uint16_t cport, bool text)
{
	struct conn c;

	conn_init(&c, o, 4, CLIENT, SERVER, cport, 51820);
	wireguard_session(&c, text);
}

/* ESP proven (steady SPI, rising sequence numbers, random payload both
 * ways), then the same SA carrying readable payload. */
static void case_esp_random_then_text(struct out *o)
{
	struct conn c;
	uint8_t pkt[400];

	conn_init(&c, o, 4, CLIENT, SERVER, 0, 0);
	for (uint32_t seq = 1; seq <= 8; seq++) {
		for (int dir = 0; dir < 2; dir++) {
			put32(pkt, dir ? 0x51d2e3f4 : 0x0badcafe);
			put32(pkt + 4, seq);
			if (seq > 4 && !dir)
				fill_text(pkt + 8, sizeof(pkt) - 8);
			else
				rnd_fill(pkt + 8, sizeof(pkt) - 8);
			ip_send(&c, dir, 50, pkt, sizeof(pkt));
		}
	}
}

static void case_wireguard_text_transport(struct out *o) { wireguard(o, 40107, true); }
static void case_wireguard_random(struct out *o) { wireguard(o, 40108, false); }

/*
 * OpenVPN over UDP: nDPI names it from a hard-reset pair (the server's
 * acknowledging the client's session id) or from one 80-byte datagram with
 * certain first bytes.  Then data packets (P_DATA_V2: opcode 9, key 0, a
 * 3-byte peer id) whose payload is random or text, or control packets
 * (P_CONTROL_V1) carrying text after the data channel started.
 */
enum ovpn_tail { OVPN_RANDOM, OVPN_TEXT, OVPN_RANDOM_THEN_TEXT, OVPN_RANDOM_THEN_CONTROL_TEXT, OVPN_CONTROL_TEXT_FIRST };

static void openvpn_data(struct conn *c, int dir, bool text)
{
	uint8_t d[1000];
	uint32_t n = dir ? 200 : sizeof(d);

	d[0] = 9 << 3;
	d[1] = 0;
	d[2] = 0;
	d[3] = 1;
	if (text)
		fill_text(d + 4, n - 4);
	else
		rnd_fill(d + 4, n - 4);
	udp_send(c, dir, d, n);
}

static void openvpn(struct out *o, uint16_t cport, enum ovpn_tail tail)
{
	struct conn c;
	uint8_t d[200];
	static const uint8_t sid[8] = {0x1c, 0x2b, 0x3a, 0x49, 0x58, 0x67, 0x76, 0x85};

	conn_init(&c, o, 4, CLIENT, SERVER, cport, 1194);
	/* P_CONTROL_HARD_RESET_CLIENT_V2: session id, a 20-byte HMAC, packet
	 * id 1 and a time (tls-auth), no acks, message id 0 */
	memset(d, 0, sizeof(d));
	d[0] = 7 << 3;
	memcpy(d + 1, sid, 8);
	rnd_fill(d + 9, 20);
	put32(d + 29, 1);
	put32(d + 33, 0x6500a000);
	udp_send(&c, 0, d, 54);
	/* P_CONTROL_HARD_RESET_SERVER_V2: its own session id, HMAC, packet id
	 * 1, time, one ack of the client's message 0 and the client's session */
	memset(d, 0, sizeof(d));
	d[0] = 8 << 3;
	rnd_fill(d + 1, 8);
	rnd_fill(d + 9, 20);
	put32(d + 29, 1);
	put32(d + 33, 0x6500a001);
	d[37] = 1;
	put32(d + 38, 0);
	memcpy(d + 42, sid, 8);
	udp_send(&c, 1, d, 66);
	for (int i = 0; tail == OVPN_CONTROL_TEXT_FIRST && i < 20; i++) {
		/* P_CONTROL_V1 packets of text before any data packet */
		uint8_t t[1400];
		t[0] = 4 << 3;
		memcpy(t + 1, sid, 8);
		fill_text(t + 9, sizeof(t) - 9);
		udp_send(&c, 0, t, sizeof(t));
	}
	for (int i = 0; i < 8; i++) {
		bool later = i >= 4;
		openvpn_data(&c, 0, tail == OVPN_TEXT || (later && tail == OVPN_RANDOM_THEN_TEXT));
		openvpn_data(&c, 1, false);
		if (later && tail == OVPN_RANDOM_THEN_CONTROL_TEXT) {
			memset(d, 0, sizeof(d));
			d[0] = 4 << 3; /* P_CONTROL_V1 */
			memcpy(d + 1, sid, 8);
			fill_text(d + 9, sizeof(d) - 9);
			udp_send(&c, 0, d, sizeof(d));
		}
	}
}

static void case_openvpn_random(struct out *o) { openvpn(o, 40110, OVPN_RANDOM); }
static void case_openvpn_text_data(struct out *o) { openvpn(o, 40111, OVPN_TEXT); }
static void case_openvpn_random_then_text(struct out *o) { openvpn(o, 40112, OVPN_RANDOM_THEN_TEXT); }
static void case_openvpn_control_text(struct out *o) { openvpn(o, 40113, OVPN_RANDOM_THEN_CONTROL_TEXT); }
static void case_openvpn_control_text_first(struct out *o) { openvpn(o, 40115, OVPN_CONTROL_TEXT_FIRST); }

/* One 80-byte datagram nDPI takes for OpenVPN (first byte 0xb8), then text
 * both ways, each side having "sent": no OpenVPN packet at all. */
static void case_openvpn_one_datagram_text(struct out *o)
{
	struct conn c;
	uint8_t d[600];

	conn_init(&c, o, 4, CLIENT, SERVER, 40114, 1194);
	d[0] = 0xb8;
	rnd_fill(d + 1, 79);
	udp_send(&c, 0, d, 80);
	for (int i = 0; i < 6; i++) {
		fill_text(d, sizeof(d));
		udp_send(&c, 0, d, sizeof(d));
		rnd_fill(d, 80);
		udp_send(&c, 1, d, 80);
	}
}

static void case_mpls(struct out *o) { wrapped_http(o, WRAP_MPLS, 4, 40200); }
static void case_mpls_pw(struct out *o) { wrapped_http(o, WRAP_MPLS_PW, 4, 40201); }
static void case_vxlan(struct out *o) { wrapped_http(o, WRAP_VXLAN, 4, 40202); }
static void case_geneve(struct out *o) { wrapped_http(o, WRAP_GENEVE, 4, 40203); }
static void case_gtpu(struct out *o) { wrapped_http(o, WRAP_GTPU, 4, 40204); }
static void case_vxlan_v6(struct out *o) { wrapped_http(o, WRAP_VXLAN, 6, 40205); }

/* One readable flow, and the same upload again under an ethertype the
 * decoder cannot read: the audit must not look complete (e2e_errors.sh).
 * Written only on request (--unreadable FILE): an audit of the cases'
 * folder, as other tests make, would otherwise exit 2. */
static void case_unreadable_ethertype(struct out *o)
{
	wrapped_http(o, WRAP_NONE, 4, 40206);
	wrapped_http(o, WRAP_UNKNOWN_ETHERTYPE, 4, 40207);
}

/* ---- encrypted holds for every byte: diluted text, other encodings, the
 * packets readable with public keys (issue 8: red-team F1, F2, F7-F9) ---- */

/* After a TLS 1.2 handshake, application-data records of 128 bytes (after
 * the explicit nonce), each `text' readable bytes and random ones
 * (printable or not).  One window per record: each record's first 128
 * bytes are always judged, so where it breaks does not depend on the
 * sampling's secret (the same with any number of workers). */
static void tls12_diluted(struct out *o, uint16_t cport, uint32_t text, bool printable_filler)
{
	struct conn c;
	uint8_t body[8 + 128], rec[200];
	uint32_t t = 0;

	conn_init(&c, o, 4, CLIENT, SERVER, cport, 443);
	tls12_full_handshake(&c);
	for (int r = 0; r < 64; r++) {
		rnd_fill(body, 8); /* the explicit nonce */
		for (uint32_t i = 8; i < sizeof(body); i++) {
			if ((i - 8) % 128 < text) {
				static const char secret[] = "Leading edge to 0.02 mm, heat-treated at 1040 C for four hours. ";
				body[i] = (uint8_t)secret[t++ % (sizeof(secret) - 1)];
				continue;
			}
			do
				body[i] = rnd8();
			while (!printable_filler && ((body[i] >= 0x20 && body[i] < 0x7f) || body[i] == '\t' ||
						     body[i] == '\r' || body[i] == '\n'));
		}
		tcp_send(&c, 0, rec, tls_record(rec, 23, body, sizeof(body)));
		tcp_ack(&c, 1);
	}
	tcp_close(&c);
}

static void case_tls12_diluted_32(struct out *o) { tls12_diluted(o, 40120, 32, true); }
static void case_tls12_diluted_56(struct out *o) { tls12_diluted(o, 40121, 56, false); }

/* After a TLS 1.2 handshake and one random record, the client leaves a
 * 1000-byte hole, sends readable text beyond it, then fills the hole with
 * random bytes: a receiver gets a whole stream, text included. */
static void tls12_gap_then(struct out *o, uint16_t cport, const uint8_t *text, uint32_t len)
{
	struct conn c;
	uint8_t body[500], rec[600], fill[1000];

	conn_init(&c, o, 4, CLIENT, SERVER, cport, 443);
	tls12_full_handshake(&c);
	rnd_fill(body, sizeof(body));
	tcp_send(&c, 0, rec, tls_record(rec, 23, body, sizeof(body)));
	uint32_t hole = c.seq[0];
	c.seq[0] += sizeof(fill);
	for (uint32_t off = 0; off < len; off += 1000)
		tcp_send(&c, 0, text + off, len - off < 1000 ? len - off : 1000);
	rnd_fill(fill, sizeof(fill));
	tcp_at(&c, 0, hole, TH_ACK | TH_PSH, fill, sizeof(fill));
	tcp_ack(&c, 1);
	tcp_close(&c);
}

static const char zh_text[] = "出口管制技术资料：涡轮叶片冷却几何结构第七版，前缘气膜孔直径零点四五毫米，角度三十度，"
			      "合金材料，涂层厚度一百二十微米。";

static void case_tls12_gap_then_utf8(struct out *o)
{
	static uint8_t t[3000];

	for (uint32_t i = 0; i < sizeof(t); i++)
		t[i] = (uint8_t)zh_text[i % (sizeof(zh_text) - 1)];
	tls12_gap_then(o, 40122, t, sizeof(t));
}

static void case_tls12_gap_then_utf16(struct out *o)
{
	static uint8_t t[3000], a[1500];

	fill_text(a, sizeof(a));
	for (uint32_t i = 0; i < sizeof(t); i++)
		t[i] = i % 2 ? 0 : a[i / 2];
	tls12_gap_then(o, 40123, t, sizeof(t));
}

/* EBCDIC (code page 037) of the text: lower case, digits, space, '.', ','. */
static void case_tls12_gap_then_ebcdic(struct out *o)
{
	static uint8_t t[3000];
	static const char words[] = "rotor blade alloy spec rev 7, leading edge to 0.02 mm, heat treated at 1040 c. ";

	for (uint32_t i = 0; i < sizeof(t); i++) {
		char ch = words[i % (sizeof(words) - 1)];
		t[i] = ch >= 'a' && ch <= 'i' ? (uint8_t)(0x81 + ch - 'a')
		     : ch >= 'j' && ch <= 'r' ? (uint8_t)(0x91 + ch - 'j')
		     : ch >= 's' && ch <= 'z' ? (uint8_t)(0xa2 + ch - 's')
		     : ch >= '0' && ch <= '9' ? (uint8_t)(0xf0 + ch - '0')
		     : ch == '.' ? 0x4b : ch == ',' ? 0x6b : 0x40;
	}
	tls12_gap_then(o, 40124, t, sizeof(t));
}

/* A QUIC v1 Initial of 1200 bytes with a token of `tok' bytes (text or
 * random) before its random payload. */
static void quic_initial_token(uint8_t *d, uint32_t tok, bool text)
{
	rnd_fill(d, 1200);
	d[0] = 0xc3;
	put32(d + 1, 1);
	d[5] = 8;
	d[14] = 0;
	put16(d + 15, (uint16_t)(0x4000 | tok));
	if (text)
		fill_text(d + 17, tok);
	put16(d + 17 + tok, (uint16_t)(0x4000 | (1200 - 19 - tok)));
}

/* The client's first Initial carries 1000 bytes of text in its token. */
static void case_quic_initial_text_token(struct out *o)
{
	struct conn c;
	uint8_t d[1200];

	conn_init(&c, o, 4, CLIENT, SERVER, 40125, 443);
	quic_initial_token(d, 1000, true);
	udp_send(&c, 0, d, sizeof(d));
	quic_random_initial(d, sizeof(d), 1);
	udp_send(&c, 1, d, sizeof(d));
	for (int i = 0; i < 4; i++) {
		rnd_fill(d, sizeof(d));
		d[0] = 0x40 | (d[0] & 0x3f);
		udp_send(&c, 0, d, sizeof(d));
	}
}

/* A QUIC v1 exchange answered by the server, the client's Handshake
 * packet, then more client Initials (random, as an encrypted Initial
 * looks): readable by anyone with the public Initial keys. */
static void case_quic_initials_after_handshake(struct out *o)
{
	struct conn c;
	uint8_t d[1200];

	conn_init(&c, o, 4, CLIENT, SERVER, 40126, 443);
	quic_random_initial(d, sizeof(d), 1);
	udp_send(&c, 0, d, sizeof(d));
	quic_random_initial(d, sizeof(d), 1);
	udp_send(&c, 1, d, sizeof(d));
	quic_random_initial(d, 300, 1);
	d[0] = 0xe3; /* Handshake: no token field, the Length at 15 */
	put16(d + 15, (uint16_t)(0x4000 | (300 - 17)));
	udp_send(&c, 0, d, 300);
	for (int i = 0; i < 20; i++) {
		quic_initial_token(d, 0, false);
		udp_send(&c, 0, d, sizeof(d));
	}
}

/* DTLS 1.2: the hello pair, a protected record from the client (epoch 1,
 * random), then 30 epoch-0 handshake records of 1000 bytes of text. */
static void case_dtls_epoch0_text_after_epoch1(struct out *o)
{
	struct conn c;
	uint8_t body[1000], buf[1100];

	conn_init(&c, o, 4, CLIENT, SERVER, 40127, 4433);
	dtls_hello_pair(&c);
	buf[0] = 23;
	buf[1] = 0xfe;
	buf[2] = 0xfd;
	put16(buf + 3, 1); /* epoch 1 */
	memset(buf + 5, 0, 6);
	put16(buf + 11, 200);
	rnd_fill(buf + 13, 200);
	udp_send(&c, 0, buf, 213);
	for (int i = 0; i < 30; i++) {
		fill_text(body, sizeof(body));
		udp_send(&c, 0, buf, dtls_handshake(buf, 11, body, sizeof(body), (uint16_t)(2 + i)));
	}
}

/* WireGuard proven with random transport packets, then handshake
 * initiations (148 bytes) whose key and MAC fields carry text. */
static void case_wireguard_handshake_text(struct out *o)
{
	struct conn c;
	uint8_t d[148];

	conn_init(&c, o, 4, CLIENT, SERVER, 40128, 51820);
	wireguard_session(&c, false);
	for (int i = 0; i < 10; i++) {
		memset(d, 0, sizeof(d));
		d[0] = 1;
		put32(d + 4, 0x01020304u + (uint32_t)i);
		fill_text(d + 8, 124);
		udp_send(&c, 0, d, sizeof(d));
	}
}

/* The same, with random fields, 100 initiations within a second: far more
 * than rekeying sends, a channel in their 124 random-looking bytes each. */
static void case_wireguard_handshake_flood(struct out *o)
{
	struct conn c;
	uint8_t d[148];

	conn_init(&c, o, 4, CLIENT, SERVER, 40129, 51820);
	wireguard_session(&c, false);
	for (int i = 0; i < 100; i++) {
		memset(d, 0, sizeof(d));
		d[0] = 1;
		put32(d + 4, 0x01020304u + (uint32_t)i);
		rnd_fill(d + 8, 124);
		udp_send(&c, 0, d, sizeof(d));
	}
}

/* Before any transport packet: initiations whose fields carry text, then
 * a normal session (the handshake is checked before the decision too). */
static void case_wireguard_text_handshakes_first(struct out *o)
{
	struct conn c;
	uint8_t d[148];

	conn_init(&c, o, 4, CLIENT, SERVER, 40130, 51820);
	for (int i = 0; i < 5; i++) {
		memset(d, 0, sizeof(d));
		d[0] = 1;
		put32(d + 4, 0x01020304u + (uint32_t)i);
		fill_text(d + 8, 124);
		udp_send(&c, 0, d, sizeof(d));
	}
	wireguard_session(&c, false);
}

/* ---- the handshake is data too (issue 8: red-team findings F3-F6, F10, F11) --
 * Before a flow is proven encrypted its handshake goes out in the clear, so
 * readable data inside it is data that left in the clear: text where the
 * protocol wants random bytes or X.509, lines past the RFC limits, or more
 * bytes nothing vouches for than the classifier's allowance (2048 a side). */

static void put24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

/* One handshake message in one record (at most 16 KiB). */
static uint32_t tls_handshake_record(uint8_t *out, uint8_t type, const uint8_t *body, uint32_t len)
{
	static uint8_t hs[16384];

	hs[0] = type;
	put24(hs + 1, len);
	memcpy(hs + 4, body, len);
	return tls_record(out, 22, hs, 4 + len);
}

/* The generator's ClientHello with one more extension of `len' bytes. */
static uint32_t tls_client_hello_with(uint8_t *out, uint16_t ext_type, const uint8_t *ext, uint32_t len)
{
	uint32_t n = tls_client_hello(out), hs_len = n - 9;
	/* The extensions block is last; its length field sits after the fixed
	 * layout (headers, version, random, empty session id, 7 suites,
	 * compression). */
	uint32_t ext_len_at = 9 + 2 + 32 + 1 + 2 + 14 + 2;
	uint32_t old = (uint32_t)(out[ext_len_at] << 8 | out[ext_len_at + 1]);
	put16(out + n, ext_type);
	put16(out + n + 2, (uint16_t)len);
	memcpy(out + n + 4, ext, len);
	n += 4 + len;
	put16(out + ext_len_at, (uint16_t)(old + 4 + len));
	hs_len += 4 + len;
	put24(out + 6, hs_len);
	put16(out + 3, (uint16_t)(hs_len + 4));
	return n;
}

/* ClientHello (with an extra extension when ext), the generator's
 * ServerHello, then the client's key exchange, CCS and Finished, the
 * server's, and random application data. */
static void tls_after_hello(struct conn *c, const uint8_t *hello, uint32_t n)
{
	static uint8_t buf[20000];

	tcp_handshake(c);
	tcp_send(c, 0, hello, n);
	tcp_send(c, 1, buf, tls_server_hello(buf));
	tcp_send(c, 0, buf, tls_client_finish(buf));
	tcp_send(c, 1, buf, tls_server_finish(buf));
	for (int i = 0; i < 4; i++) {
		uint8_t rnd[1000];
		rnd_fill(rnd, sizeof(rnd));
		tcp_send(c, 0, buf, tls_record(buf, 23, rnd, sizeof(rnd)));
		tcp_ack(c, 1);
	}
	tcp_close(c);
}

/* F3: 3000 bytes of text in an extension nobody knows. */
static void case_hs_hello_text_extension(struct out *o)
{
	static uint8_t hello[8000];
	uint8_t text[3000];
	struct conn c;

	fill_text(text, sizeof(text));
	conn_init(&c, o, 4, CLIENT, SERVER, 40300, 443);
	tls_after_hello(&c, hello, tls_client_hello_with(hello, 0x4242, text, sizeof(text)));
}

/* The same text with its top bit set: not printable, not random either;
 * nothing vouches for it, and 3000 bytes are more than the allowance. */
static void case_hs_hello_over_allowance(struct out *o)
{
	static uint8_t hello[8000];
	uint8_t text[3000];
	struct conn c;

	fill_text(text, sizeof(text));
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] |= 0x80;
	conn_init(&c, o, 4, CLIENT, SERVER, 40301, 443);
	tls_after_hello(&c, hello, tls_client_hello_with(hello, 0x4242, text, sizeof(text)));
}

/* TLS 1.2 with the client's own handshake messages carrying the upload:
 * a Certificate message of text (cert_len > 0), or a ClientKeyExchange of
 * text (cke_len > 0). */
static void tls12_client_messages(struct out *o, uint16_t cport, uint32_t cert_len, uint32_t cke_len)
{
	static uint8_t buf[20000], body[16000];
	static const uint8_t ccs = 1;
	struct conn c;

	conn_init(&c, o, 4, CLIENT, SERVER, cport, 443);
	tcp_handshake(&c);
	tcp_send(&c, 0, buf, tls_client_hello(buf));
	tcp_send(&c, 1, buf, tls_server_hello(buf));
	if (cert_len) {
		put24(body, cert_len + 3);
		put24(body + 3, cert_len);
		fill_text(body + 6, cert_len);
		tcp_send(&c, 0, buf, tls_handshake_record(buf, 11, body, cert_len + 6));
	}
	if (cke_len) {
		fill_text(body, cke_len);
	} else {
		cke_len = 66;
		body[0] = 65;
		body[1] = 4;
		rnd_fill(body + 2, 64);
	}
	tcp_send(&c, 0, buf, tls_handshake_record(buf, 16, body, cke_len));
	tcp_send(&c, 0, buf, tls_record(buf, 20, &ccs, 1));
	rnd_fill(body, 40);
	tcp_send(&c, 0, buf, tls_record(buf, 22, body, 40));
	tcp_send(&c, 1, buf, tls_server_finish(buf));
	rnd_fill(body, 1000);
	tcp_send(&c, 0, buf, tls_record(buf, 23, body, 1000));
	tcp_close(&c);
}

/* F4 */
static void case_hs_client_cert_text(struct out *o) { tls12_client_messages(o, 40302, 12000, 0); }
static void case_hs_client_key_exchange_text(struct out *o) { tls12_client_messages(o, 40303, 0, 6000); }

/* F5: application data before the ServerHello (0-RTT's place): text, or
 * random bytes beyond the allowance (early data is unproven until the
 * handshake it rides on is). */
static void early_data(struct out *o, uint16_t cport, uint32_t len, bool text)
{
	static uint8_t buf[20000], body[16000];
	struct conn c;

	conn_init(&c, o, 4, CLIENT, SERVER, cport, 443);
	tcp_handshake(&c);
	tcp_send(&c, 0, buf, tls_client_hello(buf));
	if (text)
		fill_text(body, len);
	else
		rnd_fill(body, len);
	tcp_send(&c, 0, buf, tls_record(buf, 23, body, len));
	tcp_send(&c, 1, buf, tls_server_hello(buf));
	tcp_send(&c, 0, buf, tls_client_finish(buf));
	tcp_send(&c, 1, buf, tls_server_finish(buf));
	rnd_fill(body, 1000);
	tcp_send(&c, 0, buf, tls_record(buf, 23, body, 1000));
	tcp_close(&c);
}

static void case_hs_early_text(struct out *o) { early_data(o, 40304, 3000, true); }
static void case_hs_early_random_over_allowance(struct out *o) { early_data(o, 40305, 4000, false); }

/* One SSH binary packet (RFC 4253 6) before NEWKEYS: length, padding
 * length, payload, padding to a multiple of 8. */
static uint32_t ssh_packet(uint8_t *out, const uint8_t *payload, uint32_t n)
{
	uint32_t pad = 8 - (5 + n) % 8;

	if (pad < 4)
		pad += 8;
	put32(out, 1 + n + pad);
	out[4] = (uint8_t)pad;
	memcpy(out + 5, payload, n);
	rnd_fill(out + 5 + n, pad);
	return 5 + n + pad;
}

/* A KEXINIT payload: the cookie and ten name-lists, the first (kex) given. */
static uint32_t ssh_kexinit(uint8_t *out, const char *kex, uint32_t kex_len)
{
	static const char *const lists[9] = {
		"ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256",
		"chacha20-poly1305@openssh.com,aes128-ctr,aes256-gcm@openssh.com",
		"chacha20-poly1305@openssh.com,aes128-ctr,aes256-gcm@openssh.com",
		"umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
		"umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
		"none,zlib@openssh.com", "none,zlib@openssh.com", "", ""};
	uint32_t n = 0;

	out[n++] = 20;
	rnd_fill(out + n, 16);
	n += 16;
	put32(out + n, kex_len);
	memcpy(out + n + 4, kex, kex_len);
	n += 4 + kex_len;
	for (int i = 0; i < 9; i++) {
		uint32_t l = (uint32_t)strlen(lists[i]);
		put32(out + n, l);
		memcpy(out + n + 4, lists[i], l);
		n += 4 + l;
	}
	out[n++] = 0;
	put32(out + n, 0);
	return n + 4;
}

/* An SSH session to CN whose client KEXINIT's kex name-list is `kex'. */
static void ssh_session(struct out *o, uint16_t cport, const char *kex, uint32_t kex_len)
{
	static uint8_t buf[20000], payload[16000];
	static const char default_kex[] = "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256";
	static const uint8_t newkeys = 21;
	struct conn c;
	uint32_t n;

	conn_init(&c, o, 4, CLIENT, SERVER, cport, 22);
	tcp_handshake(&c);
	tcp_send_str(&c, 1, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
	tcp_send_str(&c, 0, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
	n = ssh_kexinit(payload, kex, kex_len);
	tcp_send(&c, 0, buf, ssh_packet(buf, payload, n));
	n = ssh_kexinit(payload, default_kex, sizeof(default_kex) - 1);
	tcp_send(&c, 1, buf, ssh_packet(buf, payload, n));
	payload[0] = 30; /* KEX_ECDH_INIT: Q_C */
	put32(payload + 1, 32);
	rnd_fill(payload + 5, 32);
	tcp_send(&c, 0, buf, ssh_packet(buf, payload, 37));
	payload[0] = 31; /* KEX_ECDH_REPLY: K_S, Q_S, signature */
	put32(payload + 1, 51);
	put32(payload + 5, 11);
	memcpy(payload + 9, "ssh-ed25519", 11);
	put32(payload + 20, 32);
	rnd_fill(payload + 24, 32);
	put32(payload + 56, 32);
	rnd_fill(payload + 60, 32);
	put32(payload + 92, 83);
	put32(payload + 96, 11);
	memcpy(payload + 100, "ssh-ed25519", 11);
	put32(payload + 111, 64);
	rnd_fill(payload + 115, 64);
	n = ssh_packet(buf, payload, 179);
	n += ssh_packet(buf + n, &newkeys, 1);
	tcp_send(&c, 1, buf, n);
	tcp_send(&c, 0, buf, ssh_packet(buf, &newkeys, 1));
	for (int i = 0; i < 4; i++) {
		rnd_fill(buf, 500);
		tcp_send(&c, 0, buf, 500);
		rnd_fill(buf, 200);
		tcp_send(&c, 1, buf, 200);
	}
	tcp_close(&c);
}

/* F6: 6000 bytes of text as the kex algorithm names. */
static void case_hs_ssh_kexinit_text(struct out *o)
{
	static char kex[6000];

	fill_text((uint8_t *)kex, sizeof(kex));
	ssh_session(o, 40306, kex, sizeof(kex));
}

/* Names that keep RFC 4251's rules (60 characters each), 3000 bytes of them:
 * beyond the allowance. */
static void case_hs_ssh_kexinit_names_over_allowance(struct out *o)
{
	static char kex[3050];
	uint32_t n = 0;

	while (n + 61 <= 3050) {
		for (uint32_t i = 0; i < 60; i++, n++)
			kex[n] = (char)('a' + (n * 7 + i) % 26);
		kex[n++] = ',';
	}
	ssh_session(o, 40307, kex, n - 1);
}

/* The control: the same session with an ordinary KEXINIT is encrypted. */
static void case_hs_ssh_normal(struct out *o)
{
	static const char kex[] = "sntrup761x25519-sha512@openssh.com,curve25519-sha256,ecdh-sha2-nistp256,ext-info-c";

	ssh_session(o, 40308, kex, sizeof(kex) - 1);
}

/* F10: SMTP, the upload in the EHLO argument, then STARTTLS and TLS. */
static void smtp_ehlo(struct out *o, uint16_t cport, const char *ehlo_arg)
{
	static uint8_t buf[20000];
	static char line[8000];
	struct conn c;

	conn_init(&c, o, 4, CLIENT, SERVER, cport, 25);
	tcp_handshake(&c);
	tcp_send_str(&c, 1, "220 mail.example.cn ESMTP Postfix\r\n");
	snprintf(line, sizeof(line), "EHLO %s\r\n", ehlo_arg);
	tcp_send_str(&c, 0, line);
	tcp_send_str(&c, 1, "250-mail.example.cn\r\n250-STARTTLS\r\n250 8BITMIME\r\n");
	tcp_send_str(&c, 0, "STARTTLS\r\n");
	tcp_send_str(&c, 1, "220 2.0.0 Ready to start TLS\r\n");
	tcp_send(&c, 0, buf, tls_client_hello(buf));
	tcp_send(&c, 1, buf, tls_server_hello(buf));
	tcp_send(&c, 0, buf, tls_client_finish(buf));
	tcp_send(&c, 1, buf, tls_server_finish(buf));
	rnd_fill((uint8_t *)line, 1000);
	tcp_send(&c, 0, buf, tls_record(buf, 23, (uint8_t *)line, 1000));
	tcp_close(&c);
}

static void case_hs_smtp_ehlo_long(struct out *o)
{
	static char arg[4001];

	fill_text((uint8_t *)arg, 4000);
	for (int i = 0; i < 4000; i++)
		if (arg[i] == '\r' || arg[i] == '\n')
			arg[i] = ' ';
	smtp_ehlo(o, 40309, arg);
}

static void case_hs_smtp_ehlo_text(struct out *o)
{
	smtp_ehlo(o, 40310, "CONFIDENTIAL: rotor blade alloy spec, rev 7. Leading edge to 0.02 mm");
}

static void case_hs_smtp_ehlo_normal(struct out *o) { smtp_ehlo(o, 40311, "laptop.example.com"); }

/* F11: a CN client connects to a TLS 1.2 server inside; the server's
 * Certificate message is what leaves: a real X.509 certificate (the
 * control), or 12000 bytes of text. */
static const uint8_t x509_der[334] = {
	0x30, 0x82, 0x01, 0x4a, 0x30, 0x81, 0xfd, 0xa0, 0x03, 0x02, 0x01, 0x02,
	0x02, 0x14, 0x4c, 0x0e, 0x26, 0xb0, 0x83, 0xc2, 0x60, 0x4c, 0xf2, 0xd6,
	0x1f, 0xc3, 0x71, 0xcc, 0x8c, 0x61, 0x76, 0x8c, 0x8e, 0x51, 0x30, 0x05,
	0x06, 0x03, 0x2b, 0x65, 0x70, 0x30, 0x1b, 0x31, 0x19, 0x30, 0x17, 0x06,
	0x03, 0x55, 0x04, 0x03, 0x0c, 0x10, 0x66, 0x69, 0x6c, 0x65, 0x73, 0x2e,
	0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6e, 0x30, 0x1e,
	0x17, 0x0d, 0x32, 0x36, 0x31, 0x31, 0x32, 0x37, 0x31, 0x37, 0x33, 0x35,
	0x31, 0x32, 0x5a, 0x17, 0x0d, 0x33, 0x36, 0x31, 0x31, 0x32, 0x34, 0x31,
	0x37, 0x33, 0x35, 0x31, 0x32, 0x5a, 0x30, 0x1b, 0x31, 0x19, 0x30, 0x17,
	0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x10, 0x66, 0x69, 0x6c, 0x65, 0x73,
	0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6e, 0x30,
	0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00, 0x84,
	0xcf, 0x6a, 0xab, 0x4a, 0x35, 0x01, 0xd3, 0x2c, 0xfa, 0x29, 0x59, 0x83,
	0x6b, 0xd1, 0xc0, 0xd8, 0x2c, 0xd6, 0xf2, 0x82, 0x94, 0xa7, 0xa7, 0x16,
	0x39, 0x25, 0xac, 0xbe, 0x1c, 0xd6, 0x73, 0xa3, 0x53, 0x30, 0x51, 0x30,
	0x1d, 0x06, 0x03, 0x55, 0x1d, 0x0e, 0x04, 0x16, 0x04, 0x14, 0xb0, 0x5c,
	0x07, 0xc7, 0x47, 0x7f, 0xc3, 0x4f, 0xdf, 0xb6, 0xc0, 0xe1, 0xb0, 0x07,
	0x38, 0x80, 0xef, 0xb4, 0xf0, 0x60, 0x30, 0x1f, 0x06, 0x03, 0x55, 0x1d,
	0x23, 0x04, 0x18, 0x30, 0x16, 0x80, 0x14, 0xb0, 0x5c, 0x07, 0xc7, 0x47,
	0x7f, 0xc3, 0x4f, 0xdf, 0xb6, 0xc0, 0xe1, 0xb0, 0x07, 0x38, 0x80, 0xef,
	0xb4, 0xf0, 0x60, 0x30, 0x0f, 0x06, 0x03, 0x55, 0x1d, 0x13, 0x01, 0x01,
	0xff, 0x04, 0x05, 0x30, 0x03, 0x01, 0x01, 0xff, 0x30, 0x05, 0x06, 0x03,
	0x2b, 0x65, 0x70, 0x03, 0x41, 0x00, 0x0e, 0x37, 0x7b, 0x03, 0x12, 0xb4,
	0xf4, 0xf1, 0x18, 0xe9, 0x85, 0xc3, 0x02, 0x5d, 0x98, 0x3d, 0xa4, 0x61,
	0x26, 0x1a, 0x7f, 0x94, 0xb7, 0xd7, 0x1e, 0x76, 0xbc, 0x5d, 0x66, 0x2a,
	0x7c, 0xc3, 0x18, 0x93, 0x3d, 0xe2, 0x71, 0xfa, 0x5c, 0x77, 0xcb, 0xae,
	0x89, 0x61, 0x16, 0xba, 0xcc, 0xf7, 0x65, 0x6b, 0x25, 0x0f, 0xd6, 0x59,
	0xc0, 0x3f, 0x1d, 0xee, 0x2e, 0xaf, 0x8e, 0x1b, 0xdb, 0x00,
};

static void inside_server(struct out *o, uint16_t cport, bool text)
{
	static uint8_t buf[20000], body[16000];
	static const uint8_t ccs = 1;
	uint32_t len = text ? 12000 : sizeof(x509_der);
	struct conn c;

	conn_init(&c, o, 4, SERVER, CLIENT, cport, 443);
	tcp_handshake(&c);
	tcp_send(&c, 0, buf, tls_client_hello(buf));
	uint32_t n = tls_server_hello(buf) - 4; /* without its ServerHelloDone */
	put16(buf + 3, (uint16_t)(n - 5));
	put24(body, len + 3);
	put24(body + 3, len);
	if (text)
		fill_text(body + 6, len);
	else
		memcpy(body + 6, x509_der, len);
	n += tls_handshake_record(buf + n, 11, body, len + 6);
	n += tls_handshake_record(buf + n, 14, body, 0);
	tcp_send(&c, 1, buf, n);
	tcp_send(&c, 0, buf, tls_client_finish(buf));
	tcp_send(&c, 1, buf, tls_record(buf, 20, &ccs, 1));
	rnd_fill(body, 40);
	tcp_send(&c, 1, buf, tls_record(buf, 22, body, 40));
	rnd_fill(body, 1000);
	tcp_send(&c, 1, buf, tls_record(buf, 23, body, 1000));
	tcp_close(&c);
}

static void case_hs_inside_server_cert_text(struct out *o) { inside_server(o, 40312, true); }
static void case_hs_inside_server_x509(struct out *o) { inside_server(o, 40313, false); }

/* Under the allowance, the structural checks alone: a 1500-byte text
 * certificate, a 1000-byte text extension. */
static void case_hs_client_cert_text_small(struct out *o) { tls12_client_messages(o, 40314, 1500, 0); }

static void case_hs_hello_text_extension_small(struct out *o)
{
	static uint8_t hello[8000];
	uint8_t text[1000];
	struct conn c;

	fill_text(text, sizeof(text));
	conn_init(&c, o, 4, CLIENT, SERVER, 40315, 443);
	tls_after_hello(&c, hello, tls_client_hello_with(hello, 0x4242, text, sizeof(text)));
}

/* ---- protocols with their own TLS upgrade (issue 10) ------------------- */

/* The TLS part of an upgraded session: hellos, the client's key exchange,
 * CCS and Finished, the server's CCS and Finished (no TCP handshake). */
static void tls12_inside(struct conn *c)
{
	uint8_t buf[2048];

	tcp_send(c, 0, buf, tls_client_hello(buf));
	tcp_send(c, 1, buf, tls_server_hello(buf));
	tcp_send(c, 0, buf, tls_client_finish(buf));
	tcp_send(c, 1, buf, tls_server_finish(buf));
}

/* LDAP StartTLS (which nDPI names MQTT) and a real-looking handshake, then
 * a simple bind with its password outside any record. */
static void case_ldap_starttls_then_text(struct out *o)
{
	static const uint8_t starttls[] = {0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16,
					   '1', '.', '3', '.', '6', '.', '1', '.', '4', '.', '1', '.',
					   '1', '4', '6', '6', '.', '2', '0', '0', '3', '7'};
	static const uint8_t ok[] = {0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00};
	struct conn c;

	conn_init(&c, o, 4, CLIENT, SERVER, 40201, 389);
	tcp_handshake(&c);
	tcp_send(&c, 0, starttls, sizeof(starttls));
	tcp_send(&c, 1, ok, sizeof(ok));
	tls12_inside(&c);
	for (int i = 0; i < 4; i++) {
		tcp_send_str(&c, 0, http_request);
		tcp_ack(&c, 1);
	}
	tcp_close(&c);
}

/* MySQL's greeting, the client's SSLRequest, a real-looking TLS handshake
 * and random application data both ways. */
static void case_mysql_tls_upgrade(struct out *o)
{
	uint8_t g[64] = {0, 0, 0, 0, 0x0a}, req[36] = {32, 0, 0, 1, 0x05, 0xae, 0xff, 0x01, 0, 0, 0, 1, 0x21};
	uint8_t body[400], buf[512];
	struct conn c;
	uint32_t n = 5;

	memcpy(g + n, "8.0.36", 7);
	n += 7;
	memset(g + n, 0x41, 13);
	n += 13;
	g[n++] = 0xff;
	g[n++] = 0xff;
	memset(g + n, 0x21, 30);
	n += 30;
	g[0] = (uint8_t)(n - 4);
	conn_init(&c, o, 4, CLIENT, SERVER, 40202, 3306);
	tcp_handshake(&c);
	tcp_send(&c, 1, g, n);
	tcp_send(&c, 0, req, sizeof(req));
	tls12_inside(&c);
	for (int i = 0; i < 4; i++) {
		for (int dir = 0; dir < 2; dir++) {
			rnd_fill(body, sizeof(body));
			tcp_send(&c, dir, buf, tls_record(buf, 23, body, sizeof(body)));
		}
	}
	tcp_close(&c);
}


/*
 * A tunnel straight to CN whose inner packets go "between two inside
 * hosts" (10.9.0.2 -> 10.9.0.3): the CN end receives every byte of the
 * outer packets, so the flow is judged by it too.
 */
static void tunnel_to_cn(struct out *o, enum wrap w, uint16_t cport)
{
	struct conn c;

	conn_init(&c, o, 4, CLIENT, "10.9.0.3", cport, 80);
	c.wrap = w;
	c.tun_given = true;
	inet_pton(AF_INET, CLIENT, c.tun_a);
	inet_pton(AF_INET, SERVER, c.tun_b);
	http_exchange(&c);
}

static void case_ipip_to_cn_inner_inside(struct out *o) { tunnel_to_cn(o, WRAP_IPIP, 40410); }
static void case_vxlan_to_cn_inner_inside(struct out *o) { tunnel_to_cn(o, WRAP_VXLAN, 40411); }
static void case_gre_to_cn_inner_inside(struct out *o) { tunnel_to_cn(o, WRAP_GRE, 40412); }

/*
 * A TLS 1.2 session decided encrypted, whose client then sends through
 * the IP layer: text in IPv4 options of every packet (40 bytes of an
 * unassigned option, type 30), or the first fragment of a segment whose
 * other fragments never come.  The records themselves stay random, so
 * only the capture layer's accounting can catch either.
 */
static void tls12_then_ip_layer(struct out *o, uint16_t cport, bool options)
{
	static uint8_t l4[MAX_PKT], ip[MAX_PKT];
	struct conn c;
	uint8_t body[600], buf[700];

	conn_init(&c, o, 4, CLIENT, SERVER, cport, 443);
	tls12_full_handshake(&c);
	for (int i = 0; i < 10; i++) {
		uint32_t len;
		rnd_fill(body, sizeof(body));
		len = tls_record(buf, 23, body, sizeof(body));
		if (options) {
			uint32_t n = build_tcp(&c, 0, l4, c.seq[0], TH_ACK | TH_PSH, buf, len);
			ipv4_header(ip, c.cli, c.srv, 6, c.ip_id++, n + 40, 0, false);
			ip[0] = 0x4f;
			ip[20] = 30;
			ip[21] = 40;
			fill_text(ip + 22, 38);
			put16(ip + 10, 0);
			put16(ip + 10, csum_fold(csum_add(0, ip, 60)));
			memcpy(ip + 60, l4, n);
			emit_ip(&c, 0, ip, 60 + n);
			c.seq[0] += len;
		} else if (i == 5) {
			fill_text(buf + 5, sizeof(body));
			uint32_t n = build_tcp(&c, 0, l4, c.seq[0], TH_ACK | TH_PSH, buf, len);
			emit_fragment(&c, 0, l4, 0, (n / 2) & ~7u, true, c.ip_id++);
			c.seq[0] += len;
		} else {
			tcp_send(&c, 0, buf, len);
		}
		tcp_ack(&c, 1);
	}
	tcp_close(&c);
}

static void case_tls12_then_v4_options_text(struct out *o) { tls12_then_ip_layer(o, 40420, true); }
static void case_tls12_then_frag_never_complete(struct out *o) { tls12_then_ip_layer(o, 40421, false); }
/* ---- IKE and QUIC handshakes in the clear (red team, round 2) ---------- */

/* An IKEv2 message: the header, then payloads chained by ike_payload(). */
struct ike_msg {
	uint8_t b[8192];
	uint32_t n, next_at; /* where the last payload's next-payload byte is */
};

static void ike_start(struct ike_msg *m, uint32_t ispi, uint32_t rspi, uint8_t exchange, uint8_t flags,
		      uint32_t msgid)
{
	memset(m->b, 0, 28);
	put32(m->b, 0x1c1869f6);
	put32(m->b + 4, ispi);
	put32(m->b + 8, rspi ? 0x5e2a7b10 : 0);
	put32(m->b + 12, rspi);
	m->b[17] = 0x20;
	m->b[18] = exchange;
	m->b[19] = flags;
	put32(m->b + 20, msgid);
	m->n = 28;
	m->next_at = 16;
}

static void ike_payload(struct ike_msg *m, uint8_t type, const uint8_t *body, uint32_t len)
{
	m->b[m->next_at] = type;
	m->next_at = m->n;
	m->b[m->n] = 0;
	m->b[m->n + 1] = 0;
	put16(m->b + m->n + 2, (uint16_t)(4 + len));
	memcpy(m->b + m->n + 4, body, len);
	m->n += 4 + len;
}

static void ike_send(struct conn *c, int dir, struct ike_msg *m)
{
	put32(m->b + 24, m->n);
	udp_send(c, dir, m->b, m->n);
}

/* IKE_SA_INIT as strongSwan or a Cisco router sends it: one proposal
 * (AES-GCM-16 128, PRF SHA2-256, group 14), a 256-byte key exchange value,
 * a 32-byte nonce, both NAT detection hashes, a string Vendor ID and a
 * hash one; a cookie first when the responder asked for one. */
static void ike_sa_init(struct ike_msg *m, int dir, uint32_t ispi, const uint8_t *cookie, uint32_t cookie_len)
{
	static const uint8_t sa[] = {0, 0, 0, 36, 1, 1, 0, 3,
				     3, 0, 0, 12, 1, 0, 0, 20, 0x80, 0x0e, 0x00, 0x80,
				     3, 0, 0, 8, 2, 0, 0, 5,
				     0, 0, 0, 8, 4, 0, 0, 14};
	uint8_t b[300];

	ike_start(m, ispi, dir ? 0x77 : 0, 34, dir ? 0x20 : 0x08, 0);
	if (cookie_len) {
		memset(b, 0, 4);
		put16(b + 2, 16390);
		memcpy(b + 4, cookie, cookie_len);
		ike_payload(m, 41, b, 4 + cookie_len);
	}
	ike_payload(m, 33, sa, sizeof(sa));
	put16(b, 14);
	put16(b + 2, 0);
	rnd_fill(b + 4, 256);
	ike_payload(m, 34, b, 260);
	rnd_fill(b, 32);
	ike_payload(m, 40, b, 32);
	for (uint16_t t = 16388; t <= 16389; t++) {
		memset(b, 0, 4);
		put16(b + 2, t);
		rnd_fill(b + 4, 20);
		ike_payload(m, 41, b, 24);
	}
	ike_payload(m, 43, (const uint8_t *)"CISCO-DYNAMIC-ROUTE", 19);
	rnd_fill(b, 16);
	ike_payload(m, 43, b, 16);
}

/* An IKE_AUTH (or later) message: one SK payload of IV, `len' bytes of
 * content (random, or text) and a 16-byte ICV. */
static void ike_encrypted(struct conn *c, int dir, uint32_t msgid, uint32_t len, bool text)
{
	static struct ike_msg m;
	uint8_t b[4096];

	ike_start(&m, 0x0badcafe, 0x77, 35, dir ? 0x20 : 0x08, msgid);
	rnd_fill(b, 16 + len + 16);
	if (text)
		fill_text(b + 16, len);
	ike_payload(&m, 46, b, 16 + len + 16);
	m.b[m.next_at] = 35; /* the first payload inside: IDi */
	ike_send(c, dir, &m);
}

/* The exchange up to IKE_AUTH: the client's IKE_SA_INIT and its
 * retransmission, the responder's COOKIE, the retry with it, the reply. */
static void ike_sa_init_exchange(struct conn *c)
{
	static struct ike_msg m;
	uint8_t cookie[16];

	ike_sa_init(&m, 0, 0x0badcafe, NULL, 0);
	ike_send(c, 0, &m);
	ike_send(c, 0, &m);
	rnd_fill(cookie, sizeof(cookie));
	ike_start(&m, 0x0badcafe, 0, 34, 0x20, 0);
	uint8_t n[20] = {0, 0, 0x40, 0x06};
	memcpy(n + 4, cookie, 16);
	ike_payload(&m, 41, n, 20);
	ike_send(c, 1, &m);
	ike_sa_init(&m, 0, 0x0badcafe, cookie, sizeof(cookie));
	ike_send(c, 0, &m);
	ike_sa_init(&m, 1, 0x0badcafe, NULL, 0);
	ike_send(c, 1, &m);
}

/* The control: that exchange, then IKE_AUTH and INFORMATIONAL both ways. */
static void case_ike_normal(struct out *o)
{
	struct conn c;

	conn_init(&c, o, 4, CLIENT, SERVER, 40401, 500);
	ike_sa_init_exchange(&c);
	for (uint32_t id = 1; id <= 3; id++) {
		ike_encrypted(&c, 0, id, 400, false);
		ike_encrypted(&c, 1, id, 300, false);
	}
}

/* The first SK payload is text (nothing else is). */
static void case_ike_sk_text_first_only(struct out *o)
{
	struct conn c;

	conn_init(&c, o, 4, CLIENT, SERVER, 40402, 500);
	ike_sa_init_exchange(&c);
	ike_encrypted(&c, 0, 1, 1300, true);
	ike_encrypted(&c, 1, 1, 300, false);
}

/* A random IKE_AUTH, then a second client message of text before the
 * responder's answer makes the decision. */
static void case_ike_sk_text_second(struct out *o)
{
	struct conn c;

	conn_init(&c, o, 4, CLIENT, SERVER, 40403, 500);
	ike_sa_init_exchange(&c);
	ike_encrypted(&c, 0, 1, 400, false);
	ike_encrypted(&c, 0, 2, 1300, true);
	ike_encrypted(&c, 1, 1, 300, false);
}

/* A Vendor ID of 200 random bytes: longer than any implementation's. */
static void case_ike_vendorid_long(struct out *o)
{
	static struct ike_msg m;
	struct conn c;
	uint8_t vid[200];

	conn_init(&c, o, 4, CLIENT, SERVER, 40404, 500);
	ike_sa_init(&m, 0, 0x0badcafe, NULL, 0);
	rnd_fill(vid, sizeof(vid));
	ike_payload(&m, 43, vid, sizeof(vid));
	ike_send(&c, 0, &m);
	ike_sa_init(&m, 1, 0x0badcafe, NULL, 0);
	ike_send(&c, 1, &m);
	ike_encrypted(&c, 0, 1, 400, false);
	ike_encrypted(&c, 1, 1, 300, false);
}

/* Three IKE_SA_INIT requests, each with 20 Vendor IDs of 60 bytes of
 * text (each of a length implementations send), all different: 3,600
 * bytes nothing vouches for. */
static void case_ike_vendorids_over_allowance(struct out *o)
{
	static struct ike_msg m;
	struct conn c;
	uint8_t vid[60];
	static const char secret[] = "CONFIDENTIAL: rotor blade alloy spec, rev 7. Leading edge to 0.02 mm, "
				     "heat-treated at 1040 C for four hours, shot-peened on both faces.\r\n";

	conn_init(&c, o, 4, CLIENT, SERVER, 40405, 500);
	for (uint32_t i = 0; i < 3; i++) {
		ike_sa_init(&m, 0, 0x0badcaf0 + i, NULL, 0);
		for (uint32_t k = 0; k < 20; k++) {
			for (uint32_t j = 0; j < sizeof(vid); j++)
				vid[j] = (uint8_t)secret[((i * 20 + k) * 7 + j) % (sizeof(secret) - 1)];
			snprintf((char *)vid, 8, "%03u-%02u", i, k);
			ike_payload(&m, 43, vid, sizeof(vid));
		}
		ike_send(&c, 0, &m);
	}
	ike_sa_init(&m, 1, 0x0badcaf2, NULL, 0);
	ike_send(&c, 1, &m);
	ike_encrypted(&c, 0, 1, 400, false);
	ike_encrypted(&c, 1, 1, 300, false);
}

/* A key exchange value of text. */
static void case_ike_ke_text(struct out *o)
{
	static struct ike_msg m;
	struct conn c;
	uint8_t ke[1004] = {0, 14, 0, 0};

	conn_init(&c, o, 4, CLIENT, SERVER, 40406, 500);
	ike_start(&m, 0x0badcafe, 0, 34, 0x08, 0);
	fill_text(ke + 4, 1000);
	ike_payload(&m, 34, ke, sizeof(ke));
	ike_send(&c, 0, &m);
	ike_sa_init(&m, 1, 0x0badcafe, NULL, 0);
	ike_send(&c, 1, &m);
	ike_encrypted(&c, 0, 1, 400, false);
	ike_encrypted(&c, 1, 1, 300, false);
}

/* Twenty IKE_SA_INIT requests, each a new attempt (new SPI, key exchange
 * value and nonce: random, proven, but more than retries send). */
static void case_ike_init_retries_flood(struct out *o)
{
	static struct ike_msg m;
	struct conn c;

	conn_init(&c, o, 4, CLIENT, SERVER, 40407, 500);
	for (uint32_t i = 0; i < 20; i++) {
		ike_sa_init(&m, 0, 0x0badca00 + i, NULL, 0);
		ike_send(&c, 0, &m);
	}
	ike_sa_init(&m, 1, 0x0badca13, NULL, 0);
	ike_send(&c, 1, &m);
	ike_encrypted(&c, 0, 1, 400, false);
	ike_encrypted(&c, 1, 1, 300, false);
}

/* After the decision, new IKE_SA_INIT requests on the same ports: with a
 * Vendor ID of 1,300 bytes of text, or a dozen new attempts. */
static void ike_init_after_decision(struct out *o, uint16_t port, bool text)
{
	static struct ike_msg m;
	struct conn c;
	uint8_t vid[1300];

	conn_init(&c, o, 4, CLIENT, SERVER, port, 500);
	ike_sa_init_exchange(&c);
	ike_encrypted(&c, 0, 1, 400, false);
	ike_encrypted(&c, 1, 1, 300, false);
	for (uint32_t i = 0; i < (text ? 3u : 12u); i++) {
		ike_sa_init(&m, 0, 0x0badcb00 + i, NULL, 0);
		if (text) {
			fill_text(vid, sizeof(vid));
			ike_payload(&m, 43, vid, sizeof(vid));
		}
		ike_send(&c, 0, &m);
	}
}

static void case_ike_vendorid_text_after_decision(struct out *o) { ike_init_after_decision(o, 40501, true); }
static void case_ike_init_flood_after_decision(struct out *o) { ike_init_after_decision(o, 40502, false); }

/* QUIC with the server inside and the client in CN: the inside server's
 * first reply, an Initial of `version' whose protected bytes are text. */
static void quic_inside_server_reply_text(struct out *o, uint32_t version, uint16_t port)
{
	struct conn c;
	uint8_t d[1200];

	conn_init(&c, o, 4, SERVER, CLIENT, port, 443);
	quic_random_initial(d, sizeof(d), version);
	udp_send(&c, 0, d, sizeof(d));
	quic_random_initial(d, sizeof(d), version);
	fill_text(d + 22, sizeof(d) - 22);
	udp_send(&c, 1, d, sizeof(d));
	quic_random_initial(d, 300, version);
	udp_send(&c, 0, d, 300);
}

static void case_quic_v1_inside_server_reply_text(struct out *o) { quic_inside_server_reply_text(o, 1, 41902); }
static void case_quic_v2_inside_server_reply_text(struct out *o) { quic_inside_server_reply_text(o, 0x6b3343cf, 41903); }

/* The server's first reply: a random Initial, and coalesced with it a
 * Handshake packet whose protected bytes are text. */
static void case_quic_reply_handshake_text(struct out *o)
{
	struct conn c;
	uint8_t d[1200];

	conn_init(&c, o, 4, CLIENT, SERVER, 40110, 443);
	quic_random_initial(d, sizeof(d), 1);
	udp_send(&c, 0, d, sizeof(d));
	quic_random_initial(d, 200, 1);
	uint8_t *h = d + 200;
	h[0] = 0xe3; /* v1 Handshake */
	put32(h + 1, 1);
	h[5] = 8;
	rnd_fill(h + 6, 8);
	h[14] = 0;
	put16(h + 15, (uint16_t)(0x4000 | (1000 - 17)));
	rnd_fill(h + 17, 4);
	fill_text(h + 21, 1000 - 21);
	udp_send(&c, 1, d, sizeof(d));
	quic_random_initial(d, 300, 1);
	udp_send(&c, 0, d, 300);
}

/* ---- text under a repeating key longer than 64 bytes --------------------- */

/* `len' bytes of English-like prose that does not repeat: words drawn from
 * the fixed stream, so no period of its own stands in for the key's. */
static void fill_prose(uint8_t *p, uint32_t len)
{
	static const char *const words[] = {
		"the", "export", "licence", "for", "turbine", "blade", "cooling", "channels", "was", "not",
		"granted", "and", "drawings", "of", "alloy", "must", "stay", "in", "building", "while",
		"engineering", "reviews", "heat", "treatment", "schedule", "supplier", "inspection", "report",
		"second", "half", "year", "customer", "deliveries", "late", "programme", "office", "test", "data"};
	uint32_t i = 0;

	while (i < len) {
		const char *w = words[rnd8() % (sizeof(words) / sizeof(words[0]))];
		for (; *w && i < len; w++)
			p[i++] = (uint8_t)*w;
		if (i < len)
			p[i++] = rnd8() % 12 == 0 ? ',' : rnd8() % 16 == 0 ? '\n' : ' ';
	}
}

/* After a real-looking TLS 1.2 handshake, 16 application-data records of
 * 1,200 bytes (8 of them an explicit nonce): prose XORed with a repeating
 * key of `key_len' bytes that runs on across records (key_len 0: random
 * bodies, the control).  The long-period test's first window is the
 * stream's bytes 1,024-1,151: where it breaks does not depend on the
 * sampling's secret. */
static void tls12_long_xor(struct out *o, uint16_t cport, uint32_t key_len)
{
	struct conn c;
	uint8_t key[1000], body[1200], rec[1300];
	uint32_t k = 0;

	rnd_fill(key, sizeof(key));
	conn_init(&c, o, 4, CLIENT, SERVER, cport, 443);
	tls12_full_handshake(&c);
	for (int r = 0; r < 16; r++) {
		rnd_fill(body, 8);
		if (key_len) {
			fill_prose(body + 8, sizeof(body) - 8);
			for (uint32_t i = 8; i < sizeof(body); i++, k = (k + 1) % key_len)
				body[i] ^= key[k];
		} else {
			rnd_fill(body + 8, sizeof(body) - 8);
		}
		tcp_send(&c, 0, rec, tls_record(rec, 23, body, sizeof(body)));
		tcp_ack(&c, 1);
	}
	tcp_close(&c);
}

/* ---- bytes after the inner packet, inside a tunnel ----------------------- */

/*
 * A TCP segment of the conversation (IPv4) whose inner packet is followed,
 * inside the tunnel, by trailer[0..tlen): the outer packet's lengths cover
 * them, the inner packet's do not, so a decapsulating end trims them and a
 * cooperating one reads them.
 */
static void tcp_send_trailer(struct conn *c, int dir, uint8_t flags, const uint8_t *data, uint32_t len,
			     const uint8_t *trailer, uint32_t tlen)
{
	static uint8_t l4[MAX_PKT], ip[MAX_PKT];
	const uint8_t *src = dir ? c->srv : c->cli, *dst = dir ? c->cli : c->srv;
	uint32_t n = build_tcp(c, dir, l4, c->seq[dir], flags, data, len);
	uint32_t hl = ipv4_header(ip, src, dst, 6, c->ip_id++, n, 0, false);

	memcpy(ip + hl, l4, n);
	memcpy(ip + hl + n, trailer, tlen);
	emit_ip(c, dir, ip, hl + n + tlen);
	c->seq[dir] += len;
}

/* The colleague's reproduction: 20 GRE packets, each an inner UDP datagram
 * of 1 byte followed by 1,000 bytes of text (or zeros, the control). */
static void gre_udp_trailer(struct out *o, uint16_t cport, bool text)
{
	static uint8_t ip[2048];
	struct conn c;

	conn_init(&c, o, 4, CLIENT, SERVER, cport, 9999);
	c.wrap = WRAP_GRE;
	for (int i = 0; i < 20; i++) {
		uint32_t hl = ipv4_header(ip, c.cli, c.srv, 17, c.ip_id++, 9, 0, false);
		put16(ip + hl, c.cport);
		put16(ip + hl + 2, c.sport);
		put16(ip + hl + 4, 9);
		put16(ip + hl + 6, 0);
		ip[hl + 8] = 'x';
		if (text)
			fill_text(ip + hl + 9, 1000);
		else
			memset(ip + hl + 9, 0, 1000);
		emit_ip(&c, 0, ip, hl + 9 + 1000);
	}
}

static void case_gre_udp_trailer_text(struct out *o) { gre_udp_trailer(o, 40460, true); }
static void case_gre_udp_trailer_zeros(struct out *o) { gre_udp_trailer(o, 40461, false); }

/*
 * A TLS 1.2 session decided encrypted, then 10 random records from the
 * client, each packet followed inside the tunnel by 100 bytes: text, or
 * zeros (the control).  The records stay random, so only the capture
 * layer's accounting can see the text.
 */
static void tls12_then_trailer(struct out *o, enum wrap w, uint16_t cport, bool text)
{
	struct conn c;
	uint8_t body[600], buf[700], trailer[100];

	conn_init(&c, o, 4, CLIENT, SERVER, cport, 443);
	c.wrap = w;
	tls12_full_handshake(&c);
	for (int i = 0; i < 10; i++) {
		rnd_fill(body, sizeof(body));
		if (text)
			fill_text(trailer, sizeof(trailer));
		else
			memset(trailer, 0, sizeof(trailer));
		tcp_send_trailer(&c, 0, TH_ACK | TH_PSH, buf, tls_record(buf, 23, body, sizeof(body)), trailer,
				 sizeof(trailer));
		tcp_ack(&c, 1);
	}
	tcp_close(&c);
}

static void case_tls12_xor_key100(struct out *o) { tls12_long_xor(o, 40500, 100); }
static void case_tls12_xor_key1000(struct out *o) { tls12_long_xor(o, 40501, 1000); }
static void case_tls12_xor_control_random(struct out *o) { tls12_long_xor(o, 40502, 0); }
static void case_tls12_ipip_trailer_text(struct out *o) { tls12_then_trailer(o, WRAP_IPIP, 40462, true); }
static void case_tls12_ipip_trailer_zeros(struct out *o) { tls12_then_trailer(o, WRAP_IPIP, 40463, false); }
static void case_tls12_gre_trailer_text(struct out *o) { tls12_then_trailer(o, WRAP_GRE, 40464, true); }
static void case_tls12_gtpu_trailer_text(struct out *o) { tls12_then_trailer(o, WRAP_GTPU, 40465, true); }

/*
 * VXLAN carrying a TLS 1.2 session whose client ACKs (40-byte packets) come
 * padded to the 60-byte frame with non-zero bytes, as a hardware VTEP
 * forwards frames from a NIC that pads with what was in its buffer: the
 * frame's own, the session stays encrypted.  With `more', every ACK carries
 * 60 bytes of text past that padding, which is data.
 */
static void tls12_vxlan_padded(struct out *o, uint16_t cport, bool more)
{
	struct conn c;
	uint8_t body[600], buf[700], pad[66];

	conn_init(&c, o, 4, CLIENT, SERVER, cport, 443);
	c.wrap = WRAP_VXLAN;
	tls12_full_handshake(&c);
	for (int i = 0; i < 10; i++) {
		rnd_fill(body, sizeof(body));
		tcp_send(&c, 1, buf, tls_record(buf, 23, body, sizeof(body)));
		rnd_fill(pad, 6);
		if (more)
			fill_text(pad + 6, 60);
		tcp_send_trailer(&c, 0, TH_ACK, NULL, 0, pad, more ? 66 : 6);
	}
	tcp_close(&c);
}

static void case_tls12_vxlan_padded(struct out *o) { tls12_vxlan_padded(o, 40466, false); }
static void case_tls12_vxlan_padded_then_text(struct out *o) { tls12_vxlan_padded(o, 40467, true); }

static const struct {
	const char *name;
	void (*write)(struct out *o);
} cases[] = {
	{"http-1byte-segments", case_http_1byte_segments},
	{"http-out-of-order", case_http_out_of_order},
	{"http-overlap-conflict", case_http_overlap_conflict},
	{"http-frag-tiny-v4", case_http_frag_tiny_v4},
	{"http-frag-overlap-v4", case_http_frag_overlap_v4},
	{"http-frag-v6", case_http_frag_v6},
	{"http-on-443", case_http_on_443},
	{"tls-on-80", case_tls_on_80},
	{"ftp-high-port", case_ftp_high_port},
	{"tls-hello-then-plain", case_tls_hello_then_plain},
	{"tls-records-plaintext", case_tls_records_plaintext},
	{"tls-no-server-hello", case_tls_no_server_hello},
	{"smtp-starttls-refused", case_smtp_starttls_refused},
	{"tunnel-gre", case_gre},
	{"tunnel-ipip", case_ipip},
	{"tunnel-6in4", case_6in4},
	{"tunnel-vlan", case_vlan},
	{"tunnel-qinq", case_qinq},
	{"midstream-http", case_midstream},
	{"midstream-body-only", case_midstream_body_only},
	{"high-entropy", case_high_entropy},
	{"high-entropy-443", case_high_entropy_443},
	{"embedded-nat64", case_nat64},
	{"embedded-nat64-local", case_nat64_local},
	{"embedded-nat64-local-u", case_nat64_local_u},
	{"embedded-6to4", case_6to4},
	{"embedded-teredo", case_teredo},
	{"embedded-v4mapped", case_v4mapped},
	{"one-db-silent", case_one_db_silent},
	{"tls12-text-in-records", case_tls12_text_in_records},
	{"tls12-text-raw", case_tls12_text_raw},
	{"tls-lone-ccs", case_tls_lone_ccs},
	{"tls-conflict", case_tls_conflict},
	{"dtls-hello-pair-only", case_dtls_hello_pair_only},
	{"quic-random-no-reply", case_quic_random_no_reply},
	{"esp-null-text", case_esp_null_text},
	{"esp-random", case_esp_random},
	{"ike-one-sided", case_ike_one_sided},
	{"wireguard-text-transport", case_wireguard_text_transport},
	{"wireguard-random", case_wireguard_random},
	{"openvpn-random", case_openvpn_random},
	{"openvpn-text-data", case_openvpn_text_data},
	{"openvpn-random-then-text", case_openvpn_random_then_text},
	{"openvpn-control-text", case_openvpn_control_text},
	{"openvpn-one-datagram-text", case_openvpn_one_datagram_text},
	{"openvpn-control-text-first", case_openvpn_control_text_first},
	{"quic-v2-reply-then-text", case_quic_v2_reply_then_text},
	{"esp-random-then-text", case_esp_random_then_text},
	{"tunnel-mpls", case_mpls},
	{"tunnel-mpls-pw", case_mpls_pw},
	{"tunnel-vxlan", case_vxlan},
	{"tunnel-geneve", case_geneve},
	{"tunnel-gtpu", case_gtpu},
	{"tunnel-vxlan-v6", case_vxlan_v6},
	{"tls12-diluted-32", case_tls12_diluted_32},
	{"tls12-diluted-56", case_tls12_diluted_56},
	{"tls12-gap-then-utf8", case_tls12_gap_then_utf8},
	{"tls12-gap-then-utf16", case_tls12_gap_then_utf16},
	{"tls12-gap-then-ebcdic", case_tls12_gap_then_ebcdic},
	{"quic-initial-text-token", case_quic_initial_text_token},
	{"quic-initials-after-handshake", case_quic_initials_after_handshake},
	{"dtls-epoch0-text-after-epoch1", case_dtls_epoch0_text_after_epoch1},
	{"wireguard-handshake-text", case_wireguard_handshake_text},
	{"wireguard-handshake-flood", case_wireguard_handshake_flood},
	{"wireguard-text-handshakes-first", case_wireguard_text_handshakes_first},
	{"hs-hello-text-extension", case_hs_hello_text_extension},
	{"hs-hello-over-allowance", case_hs_hello_over_allowance},
	{"hs-client-cert-text", case_hs_client_cert_text},
	{"hs-client-key-exchange-text", case_hs_client_key_exchange_text},
	{"hs-early-text", case_hs_early_text},
	{"hs-early-random-over-allowance", case_hs_early_random_over_allowance},
	{"hs-ssh-kexinit-text", case_hs_ssh_kexinit_text},
	{"hs-ssh-kexinit-names-over-allowance", case_hs_ssh_kexinit_names_over_allowance},
	{"hs-ssh-normal", case_hs_ssh_normal},
	{"hs-smtp-ehlo-long", case_hs_smtp_ehlo_long},
	{"hs-smtp-ehlo-text", case_hs_smtp_ehlo_text},
	{"hs-smtp-ehlo-normal", case_hs_smtp_ehlo_normal},
	{"hs-inside-server-cert-text", case_hs_inside_server_cert_text},
	{"hs-inside-server-x509", case_hs_inside_server_x509},
	{"hs-client-cert-text-small", case_hs_client_cert_text_small},
	{"hs-hello-text-extension-small", case_hs_hello_text_extension_small},
	{"ldap-starttls-then-text", case_ldap_starttls_then_text},
	{"mysql-tls-upgrade", case_mysql_tls_upgrade},
	{"tunnel-ipip-to-cn-inner-inside", case_ipip_to_cn_inner_inside},
	{"tunnel-vxlan-to-cn-inner-inside", case_vxlan_to_cn_inner_inside},
	{"tunnel-gre-to-cn-inner-inside", case_gre_to_cn_inner_inside},
	{"tls12-then-v4-options-text", case_tls12_then_v4_options_text},
	{"tls12-then-frag-never-complete", case_tls12_then_frag_never_complete},
	{"ike-normal", case_ike_normal},
	{"ike-sk-text-first-only", case_ike_sk_text_first_only},
	{"ike-sk-text-second", case_ike_sk_text_second},
	{"ike-vendorid-long", case_ike_vendorid_long},
	{"ike-vendorids-over-allowance", case_ike_vendorids_over_allowance},
	{"ike-ke-text", case_ike_ke_text},
	{"ike-init-retries-flood", case_ike_init_retries_flood},
	{"quic-v1-inside-server-reply-text", case_quic_v1_inside_server_reply_text},
	{"quic-v2-inside-server-reply-text", case_quic_v2_inside_server_reply_text},
	{"quic-reply-handshake-text", case_quic_reply_handshake_text},
	{"ike-vendorid-text-after-decision", case_ike_vendorid_text_after_decision},
	{"ike-init-flood-after-decision", case_ike_init_flood_after_decision},
	{"tls12-xor-key100", case_tls12_xor_key100},
	{"tls12-xor-key1000", case_tls12_xor_key1000},
	{"tls12-xor-control-random", case_tls12_xor_control_random},
	{"tunnel-gre-udp-trailer-text", case_gre_udp_trailer_text},
	{"tunnel-gre-udp-trailer-zeros", case_gre_udp_trailer_zeros},
	{"tls12-ipip-trailer-text", case_tls12_ipip_trailer_text},
	{"tls12-ipip-trailer-zeros", case_tls12_ipip_trailer_zeros},
	{"tls12-gre-trailer-text", case_tls12_gre_trailer_text},
	{"tls12-gtpu-trailer-text", case_tls12_gtpu_trailer_text},
	{"tls12-vxlan-padded", case_tls12_vxlan_padded},
	{"tls12-vxlan-padded-then-text", case_tls12_vxlan_padded_then_text},
};

/* ---- the flood --------------------------------------------------------- */

/* n SYNs from n distinct inside addresses (10.0.0.0/8, in order) to the
 * CN test range, 1 us apart so that no flow times out during the run: every
 * flow beyond the table's bound must be ended by eviction. */
static int syn_flood(unsigned long n, const char *path)
{
	struct out o;
	uint8_t pkt[40];

	if (n == 0 || n > 0xffffff) {
		fprintf(stderr, "gen_evasion: --syn-flood takes 1 to 16777215 flows, not %lu\n", n);
		return 2;
	}
	if (!out_open(&o, "gen_evasion", path, DLT_RAW))
		return 2;
	for (unsigned long i = 0; i < n; i++) {
		uint8_t src[4] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
		uint8_t dst[4] = {198, 51, 100, (uint8_t)(1 + i % 250)};
		ipv4_header(pkt, src, dst, 6, (uint16_t)i, 20, 0, false);
		memset(pkt + 20, 0, 20);
		put16(pkt + 20, (uint16_t)(32768 + i % 28000));
		put16(pkt + 22, 443);
		put32(pkt + 24, (uint32_t)(i * 2654435761u));
		pkt[32] = 5 << 4;
		pkt[33] = TH_SYN;
		put16(pkt + 34, 64240);
		out_write(&o, pkt, sizeof(pkt));
		o.ts_us -= 999; /* 1 us apart */
	}
	return out_close(&o) ? 0 : 2;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--syn-flood") == 0)
		return syn_flood(strtoul(argv[2], NULL, 10), argv[3]);
	if (argc == 3 && strcmp(argv[1], "--unreadable") == 0) {
		struct out o;
		if (!out_open(&o, "gen_evasion", argv[2], DLT_EN10MB))
			return 2;
		case_unreadable_ethertype(&o);
		return out_close(&o) ? 0 : 2;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: gen_evasion DIR\n       gen_evasion --syn-flood N FILE\n"
			"       gen_evasion --unreadable FILE\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[4096];
		struct out o;
		snprintf(path, sizeof(path), "%s/%s.pcap", argv[1], cases[i].name);
		if (!out_open(&o, "gen_evasion", path, DLT_EN10MB))
			return 2;
		cases[i].write(&o);
		if (!out_close(&o)) {
			fprintf(stderr, "gen_evasion: %s: %s\n", path, strerror(errno));
			return 2;
		}
	}
	return 0;
}
