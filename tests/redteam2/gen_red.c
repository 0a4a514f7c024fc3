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
static int g_outer_cn;

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
		if (g_outer_cn) {
			memcpy(a, (uint8_t[4]){10, 9, 0, 2}, 4);
			memcpy(b, (uint8_t[4]){198, 51, 100, 10}, 4);
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
static void emit_ip_real(struct conn *c, int dir, const uint8_t *ip, uint32_t ip_len)
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


/* red team: g_nest extra IPv4-in-IPv4 layers (proto 4, or 41 for IPv6 inside)
 * between 203.0.113.1 and .2 (US in the evasion policy). */
static int g_nest;
static int g_dstopt;
static int g_srh;
static void emit_ip(struct conn *c, int dir, const uint8_t *ip, uint32_t ip_len)
{
	static uint8_t buf[2][MAX_PKT + 512];
	const uint8_t *cur = ip;
	uint32_t len = ip_len;
	for (int i = 0; i < g_nest; i++) {
		uint8_t *h = buf[i & 1];
		uint8_t a[4] = {203, 0, 113, 1}, b[4] = {203, 0, 113, 2};
		if (g_outer_cn) { /* outer: the inside client -> the CN server */
			memcpy(a, (uint8_t[4]){10, 9, 0, 2}, 4);
			memcpy(b, (uint8_t[4]){198, 51, 100, 10}, 4);
		}
		memmove(h + 20, cur, len);
		memset(h, 0, 20);
		h[0] = 0x45;
		put16(h + 2, (uint16_t)(20 + len));
		put16(h + 4, c->ip_id++);
		h[8] = 64;
		h[9] = (cur[0] >> 4) == 6 ? 41 : 4;
		memcpy(h + 12, dir ? b : a, 4);
		memcpy(h + 16, dir ? a : b, 4);
		put16(h + 10, csum_fold(csum_add(0, h, 20)));
		cur = h;
		len += 20;
	}
	emit_ip_real(c, dir, cur, len);
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
		if (g_srh && dir == 0) { /* SRv6: dst = the US segment, the CN address last */
			uint8_t us[16];
			inet_pton(AF_INET6, "2001:db8:1::1", us);
			ip[6] = 43;
			ip[40] = 6; ip[41] = 4; ip[42] = 4; ip[43] = 1; /* 2 segments, 1 left */
			ip[44] = 1; ip[45] = 0; ip[46] = 0; ip[47] = 0;  /* last entry 1, flags, tag */
			memcpy(ip + 48, dst, 16);      /* segment list[0]: final destination */
			memcpy(ip + 64, us, 16);       /* segment list[1]: first segment */
			memcpy(ip + 24, us, 16);       /* IPv6 destination: the active segment */
			hl = 80;
			put16(ip + 4, (uint16_t)(n + 40));
		}
		if (g_dstopt && dir == 0) { /* a Destination Options header: one unknown
			* option (type 0x1e: skip if unknown) of text, padded to 8 */
			extern void fill_text_ext(uint8_t *, uint32_t);
			uint32_t olen = 8 * 150 - 4; /* 1196 bytes of option data */
			ip[6] = 60;
			ip[40] = 6;
			ip[41] = (uint8_t)((2 + 2 + olen) / 8 - 1);
			ip[42] = 0x1e;
			ip[43] = 255; /* one option can hold 255: chain several */
			uint32_t o = 42, left = 2 + 2 + olen - 2;
			while (left) {
				uint32_t k = left - 2 > 255 ? 255 : left - 2;
				if (left - 2 - k == 1) k--;  /* avoid a 1-byte tail */
				ip[o] = 0x1e; ip[o + 1] = (uint8_t)k;
				fill_text_ext(ip + o + 2, k);
				o += 2 + k; left -= 2 + k;
			}
			hl = 40 + 2 + 2 + olen;
			put16(ip + 4, (uint16_t)(n + hl - 40));
		}
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

 
static void put24(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 16); p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)v; }
/* ====================== red team round 2 cases ========================== */

/* send big data split in 1400-byte segments */
static void tcp_send_big(struct conn *c, int dir, const uint8_t *p, uint32_t n)
{
	for (uint32_t o = 0; o < n; o += 1400) {
		uint32_t k = n - o < 1400 ? n - o : 1400;
		tcp_send(c, dir, p + o, k);
		tcp_ack(c, !dir);
	}
}

static uint8_t *read_file(const char *path, uint32_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f) { perror(path); exit(1); }
	static uint8_t b[65536];
	*n = (uint32_t)fread(b, 1, sizeof(b), f);
	fclose(f);
	return b;
}

static void random_app_data(struct conn *c, int dir, int records)
{
	uint8_t body[1200], buf[1300];
	for (int i = 0; i < records; i++) {
		rnd_fill(body, sizeof(body));
		tcp_send(c, dir, buf, tls_record(buf, 23, body, sizeof(body)));
		tcp_ack(c, !dir);
	}
}

/* TLS 1.2 with client authentication; the client's Certificate is valid
 * X.509 whose nsComment extension is ~9 KB of English text.
 * tls_dir: 0 = the inside end is the TLS client (uploads its cert),
 *          1 = the inside end is the TLS server (CN client connects in). */
static void x509_text(struct out *o, const char *certpath, int inside_is_server)
{
	struct conn c;
	uint32_t certlen;
	const uint8_t *cert = read_file(certpath, &certlen);
	static uint8_t rec[20000], hs[20000];
	uint32_t n;

	if (!inside_is_server)
		conn_init(&c, o, 4, CLIENT, SERVER, 41001, 443);
	else
		conn_init(&c, o, 4, SERVER, CLIENT, 41002, 443); /* client = CN, server = inside */
	int tx = inside_is_server ? 1 : 0; /* who sends the text cert */
	tcp_handshake(&c);
	n = tls_client_hello(rec);
	tcp_send(&c, 0, rec, n);
	tcp_ack(&c, 1);
	/* server: ServerHello (+ServerHelloDone in tls_server_hello); insert
	 * Certificate / CertificateRequest before the ServerHelloDone */
	{
		uint8_t sh[512];
		uint32_t shn = tls_server_hello(sh); /* record: 5 hdr, SH, SHD(4) */
		uint32_t body = shn - 5 - 4;        /* SH message only */
		uint32_t m = 0;
		memcpy(hs + m, sh + 5, body);
		m += body;
		if (tx == 1) { /* server Certificate carrying the text */
			hs[m] = 11; put24(hs + m + 1, certlen + 6); put24(hs + m + 4, certlen + 3);
			put24(hs + m + 7, certlen); memcpy(hs + m + 10, cert, certlen); m += 10 + certlen;
		}
		/* CertificateRequest: types rsa_sign, sig algs rsa_pkcs1_sha256, no CAs */
		static const uint8_t cr[] = {13, 0, 0, 8, 1, 1, 0, 2, 4, 1, 0, 0};
		if (tx == 0) { memcpy(hs + m, cr, sizeof(cr)); m += sizeof(cr); }
		static const uint8_t shd[] = {14, 0, 0, 0};
		memcpy(hs + m, shd, 4); m += 4;
		n = tls_record(rec, 22, hs, m);
		tcp_send_big(&c, 1, rec, n);
	}
	/* client flight */
	{
		uint32_t m = 0;
		if (tx == 0) {
			hs[m] = 11; put24(hs + m + 1, certlen + 6); put24(hs + m + 4, certlen + 3);
			put24(hs + m + 7, certlen); memcpy(hs + m + 10, cert, certlen); m += 10 + certlen;
		}
		/* ClientKeyExchange: ECDH public point, 65 bytes */
		hs[m] = 16; put24(hs + m + 1, 66); hs[m + 4] = 65; hs[m + 5] = 4; rnd_fill(hs + m + 6, 64); m += 70;
		if (tx == 0) { /* CertificateVerify: alg + 256-byte signature */
			hs[m] = 15; put24(hs + m + 1, 260); hs[m + 4] = 4; hs[m + 5] = 1; put16(hs + m + 6, 256);
			rnd_fill(hs + m + 8, 256); m += 264;
		}
		n = tls_record(rec, 22, hs, m);
		static const uint8_t ccs = 1;
		n += tls_record(rec + n, 20, &ccs, 1);
		uint8_t fin[40];
		rnd_fill(fin, 40);
		n += tls_record(rec + n, 22, fin, 40);
		tcp_send_big(&c, 0, rec, n);
	}
	n = tls_server_finish(rec);
	tcp_send(&c, 1, rec, n);
	tcp_ack(&c, 0);
	random_app_data(&c, 0, 3);
	random_app_data(&c, 1, 3);
	tcp_close(&c);
}

static const char *g_cert;
static void case_x509_client_cert_text(struct out *o) { x509_text(o, g_cert, 0); }
static void case_x509_inside_server_cert_text(struct out *o) { x509_text(o, g_cert, 1); }

/* The evasion suite's plain HTTP upload to CN, inside N IPv4-in-IPv4 layers
 * between two US tunnel endpoints. */
static void ipip_nest(struct out *o, int layers, uint16_t cport)
{
	struct conn c;
	conn_init(&c, o, 4, CLIENT, SERVER, cport, 80);
	g_nest = layers;
	http_exchange(&c);
	g_nest = 0;
}
static void case_ipip_nest4(struct out *o) { ipip_nest(o, 4, 41004); }
static void case_ipip_nest5(struct out *o) { ipip_nest(o, 5, 41005); }

/* 6in4 x5 with IPv6 inner */
static void case_6in4_nest5(struct out *o)
{
	struct conn c;
	conn_init(&c, o, 6, CLIENT6, SERVER6, 41006, 80);
	g_nest = 5;
	http_exchange(&c);
	g_nest = 0;
}


/* A TLS 1.2-compatible ClientHello whose key_share extension (X25519MLKEM768,
 * group 0x11ec) carries ks[0..kslen). */
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t tls_client_hello_ks(uint8_t *out, const uint8_t *ks, uint32_t kslen)
{
	static uint8_t hs[20000];
	uint32_t n = tls_client_hello(hs + 1000); /* reuse: record at hs+1000 */
	/* copy the handshake message out of that record, then append an extension */
	uint8_t *msg = hs + 1000 + 5;
	uint32_t mlen = n - 5;
	static uint8_t m[20000];
	memcpy(m, msg, mlen);
	/* extensions length is the last 2-byte field before the extensions: find it
	 * by walking: 4 hdr + 2 ver + 32 rnd + 1 sid(0) + 2+suites + 1+1 comp */
	uint32_t off = 4 + 2 + 32 + 1;
	off += 2 + rd16(m + off);
	off += 1 + m[off];
	uint32_t ext_len_at = off;
	uint32_t e = mlen;
	put16(m + e, 51); put16(m + e + 2, (uint16_t)(2 + 4 + kslen));
	put16(m + e + 4, (uint16_t)(4 + kslen)); put16(m + e + 6, 0x11ec); put16(m + e + 8, (uint16_t)kslen);
	memcpy(m + e + 10, ks, kslen);
	e += 10 + kslen;
	put16(m + ext_len_at, (uint16_t)(e - ext_len_at - 2));
	put24(m + 1, e - 4);
	uint32_t r = tls_record(out, 22, m, e);
	out[2] = 1;
	return r;
}

/* text diluted: one text byte every `every` bytes, random bytes between */
static void diluted(uint8_t *p, uint32_t n, int every, uint32_t *text_bytes)
{
	static const char secret[] = "CONFIDENTIAL: rotor blade alloy spec, rev 7. Leading edge to 0.02 mm, "
				     "heat-treated at 1040 C for four hours, shot-peened on both faces.\r\n";
	uint32_t t = 0;
	for (uint32_t i = 0; i < n; i++)
		p[i] = (i % (uint32_t)every == 0) ? (uint8_t)secret[t++ % (sizeof(secret) - 1)] : rnd8();
	*text_bytes = t;
}

static void keyshare_dilute(struct out *o, int every, uint16_t cport, uint32_t kslen)
{
	struct conn c;
	static uint8_t ks[16000], rec[20000];
	uint32_t tb, n;
	conn_init(&c, o, 4, CLIENT, SERVER, cport, 443);
	diluted(ks, kslen, every, &tb);
	fprintf(stderr, "keyshare every %d: %u text bytes in %u\n", every, tb, kslen);
	tcp_handshake(&c);
	n = tls_client_hello_ks(rec, ks, kslen);
	tcp_send_big(&c, 0, rec, n);
	n = tls_server_hello(rec);
	tcp_send(&c, 1, rec, n);
	n = tls_client_finish(rec);
	tcp_send(&c, 0, rec, n);
	n = tls_server_finish(rec);
	tcp_send(&c, 1, rec, n);
	random_app_data(&c, 0, 3);
	tcp_close(&c);
}
static void case_keyshare_dilute2(struct out *o) { keyshare_dilute(o, 2, 41102, 14000); }
static void case_keyshare_dilute3(struct out *o) { keyshare_dilute(o, 3, 41103, 14000); }
static void case_keyshare_dilute4(struct out *o) { keyshare_dilute(o, 4, 41104, 14000); }
static void case_x509_big(struct out *o) { x509_text(o, "big-cert.der", 0); }

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

/* A STUN message (RFC 5389): type, attributes; fills the datagram. */
static uint32_t stun_msg(uint8_t *out, uint16_t type, uint16_t attr, const uint8_t *val, uint32_t vlen)
{
	uint32_t pad = (vlen + 3) & ~3u;
	put16(out, type);
	put16(out + 2, (uint16_t)(4 + pad));
	put32(out + 4, 0x2112a442u);
	rnd_fill(out + 8, 12);
	put16(out + 20, attr);
	put16(out + 22, (uint16_t)vlen);
	memcpy(out + 24, val, vlen);
	memset(out + 24 + vlen, 0, pad - vlen);
	return 24 + pad;
}

static uint32_t dtls_epoch1(uint8_t *out, uint8_t type, uint16_t seq, uint32_t len)
{
	out[0] = type; out[1] = 0xfe; out[2] = 0xfd;
	out[3] = 0; out[4] = 1; memset(out + 5, 0, 6); out[10] = (uint8_t)seq;
	put16(out + 11, (uint16_t)len);
	rnd_fill(out + 13, len);
	return 13 + len;
}

/* WebRTC-style: STUN connectivity checks whose SOFTWARE attribute is text,
 * then a DTLS 1.2 handshake on the same 5-tuple. */
static void stun_then_dtls_text(struct out *o, uint16_t cport, uint32_t tlen, int rounds)
{
	struct conn c;
	static uint8_t text[65536], buf[70000];
	conn_init(&c, o, 4, CLIENT, SERVER, cport, 3478);
	fill_text(text, tlen);
	for (int i = 0; i < rounds; i++) {
		udp_send(&c, 0, buf, stun_msg(buf, 0x0001, 0x8022, text, tlen)); /* Binding request, SOFTWARE */
		uint8_t xma[8] = {0, 1, 0x21, 0x12, 0xaa, 0xbb, 0xcc, 0xdd};
		udp_send(&c, 1, buf, stun_msg(buf, 0x0101, 0x0020, xma, 8));   /* success, XOR-MAPPED-ADDRESS */
	}
	dtls_hello_pair(&c);
	uint32_t n = dtls_epoch1(buf, 22, 0, 48);
	udp_send(&c, 0, buf, n);
	udp_send(&c, 1, buf, dtls_epoch1(buf, 22, 0, 48));
	for (int i = 1; i < 4; i++) {
		udp_send(&c, 0, buf, dtls_epoch1(buf, 23, (uint16_t)i, 1000));
		udp_send(&c, 1, buf, dtls_epoch1(buf, 23, (uint16_t)i, 200));
	}
}
static void case_stun_text_then_dtls(struct out *o) { stun_then_dtls_text(o, 41201, 1400, 7); }
static void case_stun_jumbo_text_then_dtls(struct out *o) { stun_then_dtls_text(o, 41202, 60000, 7); }
static void case_dtls_only_control(struct out *o) { stun_then_dtls_text(o, 41203, 1400, 0); }


/* DTLS decided first, then STUN consent checks (RFC 7675) with text. */
static void case_dtls_then_stun_text(struct out *o)
{
	struct conn c;
	static uint8_t text[2000], buf[4000];
	conn_init(&c, o, 4, CLIENT, SERVER, 41204, 3478);
	uint8_t xma[8] = {0, 1, 0x21, 0x12, 0xaa, 0xbb, 0xcc, 0xdd};
	udp_send(&c, 0, buf, stun_msg(buf, 0x0001, 0x0006, (const uint8_t *)"abcd:efgh", 9));
	udp_send(&c, 1, buf, stun_msg(buf, 0x0101, 0x0020, xma, 8));
	dtls_hello_pair(&c);
	udp_send(&c, 0, buf, dtls_epoch1(buf, 22, 0, 48));
	udp_send(&c, 1, buf, dtls_epoch1(buf, 22, 0, 48));
	udp_send(&c, 0, buf, dtls_epoch1(buf, 23, 1, 1000));
	fill_text(text, 1400);
	for (int i = 0; i < 20; i++) {
		udp_send(&c, 0, buf, stun_msg(buf, 0x0001, 0x8022, text, 1400));
		udp_send(&c, 1, buf, stun_msg(buf, 0x0101, 0x0020, xma, 8));
	}
}
/* 15 client STUN datagrams at MTU size, no replies, then DTLS */
static void case_stun15_text_then_dtls(struct out *o)
{
	struct conn c;
	static uint8_t text[2000], buf[4000];
	conn_init(&c, o, 4, CLIENT, SERVER, 41205, 3478);
	fill_text(text, 1400);
	for (int i = 0; i < 15; i++)
		udp_send(&c, 0, buf, stun_msg(buf, 0x0001, 0x8022, text, 1400));
	dtls_hello_pair(&c);
	udp_send(&c, 0, buf, dtls_epoch1(buf, 22, 0, 48));
	udp_send(&c, 1, buf, dtls_epoch1(buf, 22, 0, 48));
	for (int i = 1; i < 4; i++)
		udp_send(&c, 0, buf, dtls_epoch1(buf, 23, (uint16_t)i, 1000));
}


/* TLS 1.2 flow whose client SYN carries text (TCP Fast Open style), and an
 * old out-of-window segment and a RST with text (variant by `mode`). */
static void tcp_side_channels(struct out *o, uint16_t cport, int mode)
{
	struct conn c;
	uint8_t text[1400], buf[2048];
	uint32_t n;
	conn_init(&c, o, 4, CLIENT, SERVER, cport, 443);
	fill_text(text, sizeof(text));
	if (mode == 0) { /* SYN with 1400 bytes of data */
		tcp_at(&c, 0, c.seq[0], TH_SYN, text, sizeof(text));
		c.seq[0]++;
		tcp_at(&c, 1, c.seq[1]++, TH_SYN | TH_ACK, NULL, 0);
		tcp_ack(&c, 0);
	} else {
		tcp_handshake(&c);
	}
	if (mode == 1) /* out-of-window: sequence numbers 1 GB behind */
		for (int i = 0; i < 10; i++)
			tcp_at(&c, 0, c.seq[0] - 0x40000000u + (uint32_t)i * 1400, TH_ACK | TH_PSH, text, sizeof(text));
	if (mode == 3) /* out-of-window: sequence numbers 1 GB ahead */
		for (int i = 0; i < 10; i++)
			tcp_at(&c, 0, c.seq[0] + 0x40000000u + (uint32_t)i * 1400, TH_ACK | TH_PSH, text, sizeof(text));
	n = tls_client_hello(buf);
	tcp_send(&c, 0, buf, n);
	n = tls_server_hello(buf);
	tcp_send(&c, 1, buf, n);
	n = tls_client_finish(buf);
	tcp_send(&c, 0, buf, n);
	n = tls_server_finish(buf);
	tcp_send(&c, 1, buf, n);
	random_app_data(&c, 0, 2);
	if (mode == 2) { /* data after the FIN's sequence number, then RST carrying text */
		tcp_at(&c, 0, c.seq[0], TH_RST | TH_ACK, text, sizeof(text));
		return;
	}
	tcp_close(&c);
}
static void case_tcp_syn_data(struct out *o) { tcp_side_channels(o, 41301, 0); }
static void case_tcp_old_seq_text(struct out *o) { tcp_side_channels(o, 41302, 1); }
static void case_tcp_rst_text(struct out *o) { tcp_side_channels(o, 41303, 2); }
static void case_tcp_future_seq_text(struct out *o) { tcp_side_channels(o, 41304, 3); }


void fill_text_ext(uint8_t *p, uint32_t len) { fill_text(p, len); }
/* A TLS 1.2 session over IPv6 whose every client packet carries a
 * Destination Options header full of text (unknown option type 0x1e,
 * which receivers skip). */
static void case_v6_dstopt_text(struct out *o)
{
	struct conn c;
	conn_init(&c, o, 6, CLIENT6, SERVER6, 41401, 443);
	g_dstopt = 1;
	tls12_full_handshake(&c);
	random_app_data(&c, 0, 5);
	tcp_close(&c);
	g_dstopt = 0;
}


/* After a TLS session's FIN exchange, the same tuple carries text without
 * a new SYN: mode 0 continues the old sequence space, mode 1 jumps to a new
 * random one. */
static void post_fin(struct out *o, uint16_t cport, int mode)
{
	struct conn c;
	uint8_t text[1400];
	conn_init(&c, o, 4, CLIENT, SERVER, cport, 443);
	tls12_full_handshake(&c);
	random_app_data(&c, 0, 2);
	tcp_close(&c);
	fill_text(text, sizeof(text));
	if (mode == 1) c.seq[0] = 0x55555555u;
	for (int i = 0; i < 5; i++) {
		tcp_send(&c, 0, text, sizeof(text));
		tcp_ack(&c, 1);
	}
}
static void case_post_fin_text(struct out *o) { post_fin(o, 41501, 0); }
static void case_post_fin_newseq_text(struct out *o) { post_fin(o, 41502, 1); }

/* Incomplete IPv4 fragments: first fragments (MF set) of UDP datagrams to CN
 * carrying text, whose last fragment never comes. */
static void case_frag_never_complete(struct out *o)
{
	struct conn c;
	static uint8_t l4[3000], ip[2000];
	conn_init(&c, o, 4, CLIENT, SERVER, 41503, 5353);
	for (int i = 0; i < 10; i++) {
		put16(l4, c.cport); put16(l4 + 2, c.sport); put16(l4 + 4, 2808); put16(l4 + 6, 0);
		fill_text(l4 + 8, 2800);
		uint32_t hl = ipv4_header(ip, c.cli, c.srv, 17, (uint16_t)(0x6000 + i), 1400, 0, true);
		memcpy(ip + hl, l4, 1400);
		emit_ip(&c, 0, ip, hl + 1400);
	}
}


/* DTLS 1.2 ClientHellos (retransmitted 10 times, as after packet loss or a
 * HelloVerifyRequest) each with a 1,200-byte unknown extension of text. */
static int g_hellos = 10;
static void dtls_hello_ext_text(struct out *o)
{
	struct conn c;
	static uint8_t body[2000], buf[2200];
	conn_init(&c, o, 4, CLIENT, SERVER, 41601, 4433);
	for (int k = 0; k < g_hellos; k++) {
		uint32_t n = 0;
		put16(body, 0xfefd);
		rnd_fill(body + 2, 32);
		n = 34;
		body[n++] = 0; body[n++] = 0;
		put16(body + n, 4); put16(body + n + 2, 0xc02f); put16(body + n + 4, 0xc02b); n += 6;
		body[n++] = 1; body[n++] = 0;
		put16(body + n, 14 + 4 + 1200); n += 2;
		static const uint8_t ext[] = {0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x1d, 0x00, 0x0b, 0x00, 0x02, 0x01, 0x00};
		memcpy(body + n, ext, sizeof(ext)); n += sizeof(ext);
		put16(body + n, 0xff99); put16(body + n + 2, 1200); fill_text(body + n + 4, 1200); n += 1204;
		udp_send(&c, 0, buf, dtls_handshake(buf, 1, body, n, 0));
	}
	/* server hello */
	uint32_t n = 0;
	put16(body, 0xfefd); rnd_fill(body + 2, 32); n = 34; body[n++] = 0;
	put16(body + n, 0xc02f); n += 2; body[n++] = 0; put16(body + n, 0); n += 2;
	udp_send(&c, 1, buf, dtls_handshake(buf, 2, body, n, 0));
	udp_send(&c, 0, buf, dtls_epoch1(buf, 22, 0, 48));
	udp_send(&c, 1, buf, dtls_epoch1(buf, 22, 0, 48));
	for (int i = 1; i < 4; i++)
		udp_send(&c, 0, buf, dtls_epoch1(buf, 23, (uint16_t)i, 1000));
}

static void case_dtls_hello_ext_text(struct out *o) { g_hellos = 10; dtls_hello_ext_text(o); }
static void case_dtls_hello_ext_text40(struct out *o) { g_hellos = 40; dtls_hello_ext_text(o); }

/* OpenVPN over UDP: the hard-reset pair, then 20 P_CONTROL_V1 packets of
 * text from the client BEFORE any data packet, then random P_DATA_V2. */
static void case_openvpn_control_text_first(struct out *o)
{
	struct conn c;
	uint8_t d[1400];
	static const uint8_t sid[8] = {0x1c, 0x2b, 0x3a, 0x49, 0x58, 0x67, 0x76, 0x85};
	conn_init(&c, o, 4, CLIENT, SERVER, 41701, 1194);
	memset(d, 0, sizeof(d));
	d[0] = 7 << 3; memcpy(d + 1, sid, 8); rnd_fill(d + 9, 20); put32(d + 29, 1); put32(d + 33, 0x6500a000);
	udp_send(&c, 0, d, 54);
	memset(d, 0, sizeof(d));
	d[0] = 8 << 3; rnd_fill(d + 1, 8); rnd_fill(d + 9, 20); put32(d + 29, 1); put32(d + 33, 0x6500a001);
	d[37] = 1; put32(d + 38, 0); memcpy(d + 42, sid, 8);
	udp_send(&c, 1, d, 66);
	for (int i = 0; i < 20; i++) {
		memset(d, 0, sizeof(d));
		d[0] = 4 << 3; /* P_CONTROL_V1 */
		memcpy(d + 1, sid, 8);
		fill_text(d + 9, sizeof(d) - 9);
		udp_send(&c, 0, d, sizeof(d));
	}
	for (int i = 0; i < 4; i++) {
		d[0] = 9 << 3; d[1] = 0; d[2] = 0; d[3] = 1;
		rnd_fill(d + 4, 996);
		udp_send(&c, 0, d, 1000);
		rnd_fill(d + 4, 196);
		udp_send(&c, 1, d, 200);
	}
}


/* An IKEv2 message: header (SPIs, next payload, version 2.0, exchange,
 * flags, message id, length) and one generic payload of `np` type. */
static uint32_t ike_msg(uint8_t *d, uint8_t exch, uint8_t flags, uint32_t mid, uint8_t np,
			const uint8_t *body, uint32_t blen, int resp)
{
	static const uint8_t ispi[8] = {1, 2, 3, 4, 5, 6, 7, 8}, rspi[8] = {9, 10, 11, 12, 13, 14, 15, 16};
	memcpy(d, ispi, 8);
	if (resp || exch != 34) memcpy(d + 8, rspi, 8); else memset(d + 8, 0, 8);
	d[16] = np; d[17] = 0x20; d[18] = exch; d[19] = flags;
	put32(d + 20, mid);
	uint32_t n = 28;
	d[n] = 0; d[n + 1] = 0; put16(d + n + 2, (uint16_t)(4 + blen));
	memcpy(d + n + 4, body, blen);
	n += 4 + blen;
	put32(d + 24, n);
	return n;
}

/* IKEv2: text in Vendor ID payloads of the client's IKE_SA_INIT (sent 15
 * times), then IKE_AUTH with random SK payloads from both sides.  mode 1:
 * the client's first SK payload (the deciding packet) is itself text. */
static void ike_text(struct out *o, uint16_t cport, int mode)
{
	struct conn c;
	static uint8_t d[2000], body[1400];
	conn_init(&c, o, 4, CLIENT, SERVER, cport, 500);
	c.cport = 500;
	fill_text(body, 1300);
	int k = mode == 0 ? 15 : 1;
	for (int i = 0; i < k; i++)
		udp_send(&c, 0, d, ike_msg(d, 34, 0x08, 0, 43 /* Vendor ID */, body, 1300, 0));
	rnd_fill(body, 300);
	udp_send(&c, 1, d, ike_msg(d, 34, 0x20, 0, 40 /* Nonce */, body, 300, 1));
	if (mode == 1) fill_text(body, 1300); else rnd_fill(body, 1300);
	udp_send(&c, 0, d, ike_msg(d, 35, 0x08, 1, 46, body, 1300, 1));
	rnd_fill(body, 300);
	udp_send(&c, 1, d, ike_msg(d, 35, 0x20, 1, 46, body, 300, 1));
}
static void case_ike_vendorid_text(struct out *o) { ike_text(o, 41801, 0); }
static void case_ike_sk_text_first(struct out *o) { ike_text(o, 41802, 1); }

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

/* QUIC v2 where the INSIDE host is the server and a CN client connects: the
 * inside server's first long-header reply carries text after its header. */
static void case_quic_inside_server_reply_text(struct out *o)
{
	struct conn c;
	uint8_t d[1200];
	conn_init(&c, o, 4, SERVER, CLIENT, 41901, 443); /* client = CN, server = inside */
	quic_random_initial(d, sizeof(d), 0x6b3343cf);
	udp_send(&c, 0, d, sizeof(d));
	quic_random_initial(d, sizeof(d), 0x6b3343cf);
	fill_text(d + 18, sizeof(d) - 18);
	udp_send(&c, 1, d, sizeof(d));
	for (int i = 0; i < 3; i++) {
		rnd_fill(d, sizeof(d)); d[0] = 0x40 | (d[0] & 0x3f);
		udp_send(&c, 1, d, sizeof(d));
		rnd_fill(d, 100); d[0] = 0x40 | (d[0] & 0x3f);
		udp_send(&c, 0, d, 100);
	}
}


/* Plain HTTP to CN over IPv6 with a Segment Routing Header: the packet's
 * destination field is a US SRv6 node, the CN server is the final segment. */
static void case_srv6_http(struct out *o)
{
	struct conn c;
	conn_init(&c, o, 6, CLIENT6, SERVER6, 42001, 80);
	g_srh = 1;
	http_exchange(&c);
	g_srh = 0;
}


/* A tunnel whose OUTER packets go from the inside client to the CN server,
 * carrying a plain HTTP upload between two INSIDE addresses (10.9.0.2 ->
 * 10.9.0.3): the CN host receives every byte of the inner frame. */
static void case_ipip_to_cn_inner_inside(struct out *o)
{
	struct conn c;
	conn_init(&c, o, 4, CLIENT, "10.9.0.3", 42101, 80);
	g_nest = 1; g_outer_cn = 1;
	http_exchange(&c);
	g_nest = 0; g_outer_cn = 0;
}
static void case_vxlan_to_cn_inner_inside(struct out *o)
{
	struct conn c;
	conn_init(&c, o, 4, CLIENT, "10.9.0.3", 42102, 80);
	c.wrap = WRAP_VXLAN; g_outer_cn = 1;
	http_exchange(&c);
	g_outer_cn = 0;
}


/* After a TLS 1.2 handshake, application-data records whose content is
 * the text XORed with a repeating key of `klen` bytes. */
static void tls12_xor(struct out *o, uint16_t cport, uint32_t klen)
{
	struct conn c;
	uint8_t text[1200], key[64], buf[1300];
	conn_init(&c, o, 4, CLIENT, SERVER, cport, 443);
	tls12_full_handshake(&c);
	rnd_fill(key, sizeof(key));
	for (int r = 0; r < 16; r++) {
		fill_text(text, sizeof(text));
		for (uint32_t i = 0; i < sizeof(text); i++)
			text[i] ^= key[i % klen];
		tcp_send(&c, 0, buf, tls_record(buf, 23, text, sizeof(text)));
		tcp_ack(&c, 1);
	}
	tcp_close(&c);
}
static void case_tls12_xor4(struct out *o) { tls12_xor(o, 42201, 4); }
static void case_tls12_xor16(struct out *o) { tls12_xor(o, 42202, 16); }

static const struct { const char *name; void (*fn)(struct out *); } red_cases[] = {
	{"x509-client-cert-text", case_x509_client_cert_text},
	{"x509-inside-server-cert-text", case_x509_inside_server_cert_text},
	{"ipip-nest4-http", case_ipip_nest4},
	{"ipip-nest5-http", case_ipip_nest5},
	{"6in4-nest5-http", case_6in4_nest5},
	{"keyshare-dilute2", case_keyshare_dilute2},
	{"keyshare-dilute3", case_keyshare_dilute3},
	{"keyshare-dilute4", case_keyshare_dilute4},
	{"x509-big-client-cert", case_x509_big},
	{"stun-text-then-dtls", case_stun_text_then_dtls},
	{"stun-jumbo-text-then-dtls", case_stun_jumbo_text_then_dtls},
	{"dtls-only-control", case_dtls_only_control},
	{"dtls-then-stun-text", case_dtls_then_stun_text},
	{"stun15-text-then-dtls", case_stun15_text_then_dtls},
	{"tcp-syn-data", case_tcp_syn_data},
	{"tcp-old-seq-text", case_tcp_old_seq_text},
	{"tcp-rst-text", case_tcp_rst_text},
	{"tcp-future-seq-text", case_tcp_future_seq_text},
	{"srv6-http", case_srv6_http},
	{"ipip-to-cn-inner-inside", case_ipip_to_cn_inner_inside},
	{"vxlan-to-cn-inner-inside", case_vxlan_to_cn_inner_inside},
	{"tls12-xor4", case_tls12_xor4},
	{"tls12-xor16", case_tls12_xor16},
	{"v6-dstopt-text", case_v6_dstopt_text},
	{"post-fin-text", case_post_fin_text},
	{"post-fin-newseq-text", case_post_fin_newseq_text},
	{"frag-never-complete", case_frag_never_complete},
	{"dtls-hello-ext-text", case_dtls_hello_ext_text},
	{"dtls-hello-ext-text40", case_dtls_hello_ext_text40},
	{"openvpn-control-text-first", case_openvpn_control_text_first},
	{"ike-vendorid-text", case_ike_vendorid_text},
	{"ike-sk-text-first", case_ike_sk_text_first},
	{"quic-inside-server-reply-text", case_quic_inside_server_reply_text},
};

int main(int argc, char **argv)
{
	if (argc < 3) { fprintf(stderr, "usage: gen_red DIR CERT.der\n"); return 2; }
	g_cert = argv[2];
	for (size_t i = 0; i < sizeof(red_cases) / sizeof(red_cases[0]); i++) {
		char path[512];
		struct out o;
		snprintf(path, sizeof(path), "%s/%s.pcap", argv[1], red_cases[i].name);
		if (!out_open(&o, "gen_red", path, DLT_EN10MB)) return 1;
		rng_state = 0x9e3779b97f4a7c15ull + i;
		red_cases[i].fn(&o);
		out_close(&o);
	}
	return 0;
}
