/*
 * tests/test_capture.c -- capture/: sources and the decoder.
 * Frames are built here byte by byte, so each test states exactly what is
 * on the wire.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "capture/capture.h"
#include "frames.h"

static size_t put_ipv4(uint8_t *b, uint8_t proto, const char *src, const char *dst, uint16_t payload_len,
		       uint16_t id, uint16_t frag_field)
{
	struct ef_addr s, d;
	uint16_t total = (uint16_t)(20 + payload_len);

	ef_addr_parse(src, &s);
	ef_addr_parse(dst, &d);
	memset(b, 0, 20);
	b[0] = 0x45;
	b[2] = (uint8_t)(total >> 8);
	b[3] = (uint8_t)total;
	b[4] = (uint8_t)(id >> 8);
	b[5] = (uint8_t)id;
	b[6] = (uint8_t)(frag_field >> 8);
	b[7] = (uint8_t)frag_field;
	b[8] = 64;
	b[9] = proto;
	memcpy(b + 12, s.b, 4);
	memcpy(b + 16, d.b, 4);
	return 20;
}

static size_t put_udp(uint8_t *b, uint16_t sport, uint16_t dport, const char *payload)
{
	return frame_put_udp(b, sport, dport, payload, strlen(payload));
}

/* A whole IPv4/UDP datagram. */
static size_t ipv4_udp(uint8_t *b, const char *src, const char *dst, const char *payload)
{
	size_t n = strlen(payload);
	size_t h = put_ipv4(b, IPPROTO_UDP, src, dst, (uint16_t)(8 + n), 1, 0);
	return h + put_udp(b + h, 1234, 53, payload);
}

static enum decode_result decode(struct decoder *d, int dlt, const uint8_t *b, size_t n, struct packet *p)
{
	struct capture_frame f = {.data = b, .caplen = (uint32_t)n, .wirelen = (uint32_t)n, .ts_us = 1000000, .linktype = dlt};
	return decoder_decode(d, &f, p);
}

static void assert_addr(const struct ef_addr *a, const char *want)
{
	char buf[EF_ADDR_STRLEN];

	ef_addr_format(a, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

/* b[0..n) decodes, to a packet for dst. */
static void assert_decodes_to(struct decoder *d, int dlt, const uint8_t *b, size_t n, struct packet *p,
			      const char *dst)
{
	assert_int_equal(decode(d, dlt, b, n, p), DECODE_OK);
	assert_addr(&p->dst, dst);
}

/* Every prefix of b[0..n) decodes or skips, each copied to a buffer of its
 * own size so that ASan sees a read past it. */
static void assert_every_prefix_is_safe(struct decoder *d, const uint8_t *b, size_t n)
{
	struct packet p;

	for (size_t len = 0; len < n; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, b, len);
		enum decode_result r = decode(d, DLT_RAW, copy, len, &p);
		assert_true(r == DECODE_SKIP || r == DECODE_OK);
		free(copy);
	}
}

static void ethernet_with_stacked_vlans_reaches_ip(void **state)
{
	uint8_t b[256] = {0};
	struct packet p;
	struct decoder *d = decoder_new(0);

	/* dst, src MACs, then 802.1ad, 802.1Q, IPv4 */
	b[12] = 0x88; b[13] = 0xa8; b[16] = 0x81; b[17] = 0x00; b[20] = 0x08; b[21] = 0x00;
	size_t n = 22 + ipv4_udp(b + 22, "10.1.0.2", "198.51.100.10", "hello");
	assert_int_equal(decode(d, DLT_EN10MB, b, n, &p), DECODE_OK);
	assert_addr(&p.src, "10.1.0.2");
	assert_addr(&p.dst, "198.51.100.10");
	assert_int_equal(p.l4, IPPROTO_UDP);
	assert_int_equal(p.dport, 53);
	assert_int_equal(p.payload_len, 5);
	assert_memory_equal(p.payload, "hello", 5);
	decoder_free(d);
}

static void other_link_types_reach_ip(void **state)
{
	uint8_t ip[128], b[256];
	size_t n = ipv4_udp(ip, "10.0.0.1", "203.0.113.5", "x");
	struct packet p;
	struct decoder *d = decoder_new(0);

	/* Linux cooked v1: protocol at 14 */
	memset(b, 0, sizeof(b));
	b[14] = 0x08;
	memcpy(b + 16, ip, n);
	assert_decodes_to(d, DLT_LINUX_SLL, b, 16 + n, &p, "203.0.113.5");
	/* Linux cooked v2: protocol at 0 */
	memset(b, 0, sizeof(b));
	b[0] = 0x08;
	memcpy(b + 20, ip, n);
	assert_decodes_to(d, DLT_LINUX_SLL2, b, 20 + n, &p, "203.0.113.5");
	/* raw IP */
	assert_int_equal(decode(d, DLT_RAW, ip, n, &p), DECODE_OK);
	/* BSD null, family in host order */
	memset(b, 0, sizeof(b));
	b[0] = 2;
	memcpy(b + 4, ip, n);
	assert_int_equal(decode(d, DLT_NULL, b, 4 + n, &p), DECODE_OK);
	/* PPP with HDLC framing */
	b[0] = 0xff; b[1] = 0x03; b[2] = 0x00; b[3] = 0x21;
	memcpy(b + 4, ip, n);
	assert_int_equal(decode(d, DLT_PPP, b, 4 + n, &p), DECODE_OK);
	assert_addr(&p.src, "10.0.0.1");
	/* an unknown link type is a counted skip, not a crash */
	assert_int_equal(decode(d, 147 /* DLT_USER0 */, ip, n, &p), DECODE_SKIP);
	assert_int_equal(decoder_stats(d)->skipped[SKIP_LINKTYPE], 1);
	assert_false(decoder_linktype_supported(147));
	decoder_free(d);
}

static void ipv6_extension_headers_are_skipped(void **state)
{
	uint8_t b[256] = {0};
	struct packet p;
	struct decoder *d = decoder_new(0);
	struct ef_addr s, t;

	ef_addr_parse("2001:db8::1", &s);
	ef_addr_parse("2001:db8:86::10", &t);
	b[0] = 0x60;
	b[6] = 0;   /* hop-by-hop */
	b[7] = 64;
	memcpy(b + 8, s.b, 16);
	memcpy(b + 24, t.b, 16);
	b[40] = 60; /* then destination options */
	b[41] = 0;
	b[48] = IPPROTO_UDP;
	b[49] = 0;
	size_t n = 56 + put_udp(b + 56, 5000, 53, "abc");
	b[4] = (uint8_t)((n - 40) >> 8);
	b[5] = (uint8_t)(n - 40);
	assert_int_equal(decode(d, DLT_RAW, b, n, &p), DECODE_OK);
	assert_int_equal(p.l4, IPPROTO_UDP);
	assert_int_equal(p.sport, 5000);
	assert_memory_equal(p.payload, "abc", 3);
	assert_addr(&p.dst, "2001:db8:86::10");
	decoder_free(d);
}

/* The kernel walks any number of extension headers; a decoder that stopped
 * after 16 named the 17th header (destination options, 60) as the protocol,
 * with port 0, a flow the kernel never sees. */
static void ipv6_many_extension_headers_reach_the_transport(void **state)
{
	uint8_t b[1024] = {0};
	struct packet p;
	struct decoder *d = decoder_new(0);
	struct ef_addr s, t;
	const int n_ext = 40;

	ef_addr_parse("2001:db8::1", &s);
	ef_addr_parse("2001:db8:86::10", &t);
	b[0] = 0x60;
	b[6] = 60;  /* destination options, 40 of them */
	b[7] = 64;
	memcpy(b + 8, s.b, 16);
	memcpy(b + 24, t.b, 16);
	size_t off = 40;
	for (int i = 0; i < n_ext; i++, off += 8)
		b[off] = i + 1 < n_ext ? 60 : IPPROTO_TCP;
	uint8_t *tcp = b + off;
	tcp[0] = 0x13; tcp[1] = 0x88; /* 5000 */
	tcp[2] = 0x01; tcp[3] = 0xbb; /* 443 */
	tcp[12] = 5 << 4;
	tcp[13] = 0x18;
	memcpy(tcp + 20, "abc", 3);
	size_t n = off + 23;
	b[4] = (uint8_t)((n - 40) >> 8);
	b[5] = (uint8_t)(n - 40);
	assert_int_equal(decode(d, DLT_RAW, b, n, &p), DECODE_OK);
	assert_int_equal(p.l4, IPPROTO_TCP);
	assert_int_equal(p.sport, 5000);
	assert_int_equal(p.dport, 443);
	assert_int_equal(p.payload_len, 3);
	assert_memory_equal(p.payload, "abc", 3);

	/* a chain that claims to go on past the datagram is truncated, not looped */
	b[off - 8] = 60;
	assert_int_equal(decode(d, DLT_RAW, b, off, &p), DECODE_SKIP);
	decoder_free(d);
}

/* Splits an IPv4/UDP datagram into fragments of `step` bytes of payload. */
static void tiny_fragments_are_reassembled(void **state)
{
	const char *msg = "GET /secret HTTP/1.1\r\nHost: example\r\n\r\n";
	uint8_t whole[256], frag[128];
	size_t n = ipv4_udp(whole, "10.1.0.2", "198.51.100.10", msg), body = n - 20;
	struct packet p;
	struct decoder *d = decoder_new(0);
	enum decode_result r = DECODE_SKIP;

	for (size_t off = 0; off < body; off += 8) {
		size_t len = body - off < 8 ? body - off : 8;
		bool more = off + len < body;
		put_ipv4(frag, IPPROTO_UDP, "10.1.0.2", "198.51.100.10", (uint16_t)len, 77,
			 (uint16_t)((more ? 0x2000 : 0) | (off / 8)));
		memcpy(frag + 20, whole + 20 + off, len);
		r = decode(d, DLT_RAW, frag, 20 + len, &p);
		if (more)
			assert_int_equal(r, DECODE_FRAGMENT);
	}
	assert_int_equal(r, DECODE_OK);
	assert_true(p.reassembled);
	assert_int_equal(p.payload_len, strlen(msg));
	assert_memory_equal(p.payload, msg, strlen(msg));
	assert_int_equal(decoder_stats(d)->reassembled, 1);
	decoder_free(d);
}

static void overlapping_fragments_keep_the_first_copy(void **state)
{
	uint8_t whole[128], frag[128];
	size_t n = ipv4_udp(whole, "10.1.0.2", "198.51.100.10", "AAAAAAAABBBBBBBB"), body = n - 20;
	struct packet p;
	struct decoder *d = decoder_new(0);

	/* first 16 bytes (UDP header + AAAAAAAA), more fragments */
	put_ipv4(frag, IPPROTO_UDP, "10.1.0.2", "198.51.100.10", 16, 9, 0x2000);
	memcpy(frag + 20, whole + 20, 16);
	assert_int_equal(decode(d, DLT_RAW, frag, 36, &p), DECODE_FRAGMENT);
	/* a second copy of bytes 8..23 that says XXXXXXXX BBBBBBBB, last fragment */
	put_ipv4(frag, IPPROTO_UDP, "10.1.0.2", "198.51.100.10", (uint16_t)(body - 8), 9, 1);
	memcpy(frag + 20, "XXXXXXXX", 8);
	memcpy(frag + 28, whole + 36, body - 16);
	assert_int_equal(decode(d, DLT_RAW, frag, 20 + body - 8, &p), DECODE_OK);
	assert_true(p.frag_overlap);
	assert_memory_equal(p.payload, "AAAAAAAABBBBBBBB", 16);
	decoder_free(d);
}

static void tunnels_yield_the_inner_packet(void **state)
{
	uint8_t inner[128], b[256];
	size_t n = ipv4_udp(inner, "10.1.0.2", "198.51.100.10", "payload");
	struct packet p;
	struct decoder *d = decoder_new(0);

	/* IP in IP */
	size_t h = put_ipv4(b, IPPROTO_IPIP, "192.0.2.1", "192.0.2.2", (uint16_t)n, 1, 0);
	memcpy(b + h, inner, n);
	assert_decodes_to(d, DLT_RAW, b, h + n, &p, "198.51.100.10");
	assert_int_equal(p.tunnel_depth, 1);
	/* GRE with a key */
	h = put_ipv4(b, IPPROTO_GRE, "192.0.2.1", "192.0.2.2", (uint16_t)(8 + n), 2, 0);
	b[h] = 0x20; b[h + 1] = 0; b[h + 2] = 0x08; b[h + 3] = 0x00; memset(b + h + 4, 0, 4);
	memcpy(b + h + 8, inner, n);
	assert_decodes_to(d, DLT_RAW, b, h + 8 + n, &p, "198.51.100.10");
	assert_int_equal(p.dport, 53);
	decoder_free(d);
}

/* Each outer IP header's ends stay on the packet (via[], outermost first),
 * and tunnels nested deeper than the decoder goes are data not examined,
 * never the outer packet handed on as if it were the flow. */
static void tunnel_ends_are_kept_and_deep_nesting_is_unexamined(void **state)
{
	uint8_t inner[128], b[512];
	size_t n = ipv4_udp(inner, "10.1.0.2", "10.1.0.3", "payload");
	struct packet p;
	struct decoder *d = decoder_new(0);

	size_t h = put_ipv4(b, IPPROTO_IPIP, "10.1.0.2", "198.51.100.10", (uint16_t)n, 1, 0);
	memcpy(b + h, inner, n);
	assert_decodes_to(d, DLT_RAW, b, h + n, &p, "10.1.0.3");
	assert_int_equal(p.n_via, 2);
	assert_addr(&p.via[0], "10.1.0.2");
	assert_addr(&p.via[1], "198.51.100.10");
	assert_false(p.via_overflow);

	/* five IP-in-IP layers around the packet: one more than the bound */
	size_t len = n;
	memcpy(b + 5 * 20, inner, n);
	for (int layer = 4; layer >= 0; layer--) {
		uint8_t hdr[20];
		put_ipv4(hdr, IPPROTO_IPIP, "203.0.113.1", "203.0.113.2", (uint16_t)len, (uint16_t)layer, 0);
		memcpy(b + layer * 20, hdr, 20);
		len += 20;
	}
	uint64_t before = decoder_stats(d)->skipped[SKIP_UNEXAMINED];
	assert_int_not_equal(decode(d, DLT_RAW, b, len, &p), DECODE_OK);
	assert_int_equal(decoder_stats(d)->skipped[SKIP_UNEXAMINED], before + 1);
	/* four layers are peeled */
	assert_decodes_to(d, DLT_RAW, b + 20, len - 20, &p, "10.1.0.3");
	assert_int_equal(p.n_via, 8);
	decoder_free(d);
}

static void truncated_frames_are_skipped_safely(void **state)
{
	uint8_t ip[128];
	size_t n = ipv4_udp(ip, "10.0.0.1", "10.0.0.2", "data");
	struct decoder *d = decoder_new(0);

	/* every prefix of a valid frame decodes or skips, never reads past it */
	assert_every_prefix_is_safe(d, ip, n);
	assert_true(decoder_stats(d)->skipped[SKIP_TRUNCATED] > 0);
	decoder_free(d);
}

/* Sets an IPv4 header's checksum, which MPLS payloads are told apart by. */
static void ipv4_checksum(uint8_t *h)
{
	uint32_t sum = 0, hl = (uint32_t)(h[0] & 0x0f) * 4;

	h[10] = h[11] = 0;
	for (uint32_t i = 0; i < hl; i += 2)
		sum += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	h[10] = (uint8_t)(~sum >> 8);
	h[11] = (uint8_t)~sum;
}

static size_t put_mac_pair(uint8_t *b, uint16_t ethertype)
{
	memset(b, 0, 12);
	b[0] = 0x02; b[5] = 0x01; b[6] = 0x02; b[11] = 0x02;
	b[12] = (uint8_t)(ethertype >> 8);
	b[13] = (uint8_t)ethertype;
	return 14;
}

static size_t put_label(uint8_t *b, uint32_t label, bool bottom)
{
	uint32_t shim = label << 12 | (bottom ? 0x100u : 0) | 64;

	b[0] = (uint8_t)(shim >> 24); b[1] = (uint8_t)(shim >> 16); b[2] = (uint8_t)(shim >> 8); b[3] = (uint8_t)shim;
	return 4;
}

static void mpls_label_stacks_reach_the_ip_packet(void **state)
{
	uint8_t ip[128], b[256];
	size_t n = ipv4_udp(ip, "10.9.0.2", "198.51.100.10", "POST");
	struct packet p;
	struct decoder *d = decoder_new(0);

	ipv4_checksum(ip);
	/* unicast and multicast ethertypes; three labels, the last at the bottom */
	for (int mc = 0; mc < 2; mc++) {
		size_t h = put_mac_pair(b, mc ? 0x8848 : 0x8847);
		h += put_label(b + h, 16, false);
		h += put_label(b + h, 17, false);
		h += put_label(b + h, 18, true);
		memcpy(b + h, ip, n);
		assert_decodes_to(d, DLT_EN10MB, b, h + n, &p, "198.51.100.10");
		assert_int_equal(p.dport, 53);
		assert_memory_equal(p.payload, "POST", 4);
	}
	/* the IPv4 explicit-null label names IPv4 even with a bad checksum */
	ip[10] ^= 0xff;
	size_t h = put_mac_pair(b, 0x8847);
	h += put_label(b + h, 0, true);
	memcpy(b + h, ip, n);
	assert_decodes_to(d, DLT_EN10MB, b, h + n, &p, "198.51.100.10");
	/* a stack that never reaches its bottom */
	h = put_mac_pair(b, 0x8847);
	for (int i = 0; i < 8; i++)
		h += put_label(b + h, 16, false);
	assert_int_equal(decode(d, DLT_EN10MB, b, h, &p), DECODE_SKIP);
	assert_int_equal(decoder_stats(d)->skipped[SKIP_TRUNCATED], 1);
	decoder_free(d);
}

static void mpls_ethernet_pseudowires_are_peeled(void **state)
{
	uint8_t ip[128], b[256];
	size_t n = ipv4_udp(ip, "10.9.0.2", "198.51.100.10", "POST");
	struct packet p;
	struct decoder *d = decoder_new(0);

	ipv4_checksum(ip);
	/* with a control word (RFC 4385), then the customer's frame */
	size_t h = put_mac_pair(b, 0x8847);
	h += put_label(b + h, 100, true);
	memset(b + h, 0, 4);
	h += 4;
	h += put_mac_pair(b + h, 0x0800);
	memcpy(b + h, ip, n);
	assert_decodes_to(d, DLT_EN10MB, b, h + n, &p, "198.51.100.10");
	assert_int_equal(p.tunnel_depth, 1);
	/* without one: the customer's frame right after the label */
	h = put_mac_pair(b, 0x8847);
	h += put_label(b + h, 100, true);
	h += put_mac_pair(b + h, 0x0800);
	memcpy(b + h, ip, n);
	assert_decodes_to(d, DLT_EN10MB, b, h + n, &p, "198.51.100.10");
	decoder_free(d);
}

static void mpls_payloads_read_two_ways_are_not_guessed(void **state)
{
	uint8_t b[256];
	struct packet p;
	struct decoder *d = decoder_new(0);

	/* After the label: an IPv4 header from 8.0.69.0 (bytes 12-13 read as
	 * ethertype 0x0800), whose bytes from 14 on also form a valid IPv4
	 * header.  Either reading is consistent, so neither is taken. */
	size_t h = put_mac_pair(b, 0x8847);
	h += put_label(b + h, 100, true);
	uint8_t *ip = b + h;
	memset(ip, 0, 60);
	ip[0] = 0x45; ip[3] = 60; ip[8] = 64; ip[9] = 253;
	ip[12] = 8; ip[13] = 0; ip[14] = 0x45; ip[15] = 0;   /* source 8.0.69.0 */
	ip[16] = 0; ip[17] = 40;                            /* the second header's length */
	ip[22] = 64; ip[23] = 253;
	ipv4_checksum(ip + 14);
	ipv4_checksum(ip);
	assert_int_equal(decode(d, DLT_EN10MB, b, h + 60, &p), DECODE_SKIP);
	const struct decoder_stats *st = decoder_stats(d);
	assert_int_equal(st->skipped[SKIP_UNEXAMINED], 1);
	assert_int_equal(decode_unexamined_count(st->skipped), 1);
	/* with the second header's checksum broken, IPv4 is the only reading */
	ip[14 + 11] ^= 1;
	assert_int_equal(decode(d, DLT_EN10MB, b, h + 60, &p), DECODE_OK);
	assert_addr(&p.src, "8.0.69.0");
	/* nothing consistent at all */
	memset(ip, 0x99, 60);
	assert_int_equal(decode(d, DLT_EN10MB, b, h + 60, &p), DECODE_SKIP);
	assert_int_equal(st->skipped[SKIP_UNEXAMINED], 2);
	decoder_free(d);
}

/* Outer IPv4/UDP from 203.0.113.1 to 203.0.113.2:dport around inner[0..n). */
static size_t udp_tunnel(uint8_t *b, uint16_t dport, const uint8_t *hdr, size_t hdr_len, bool frame,
			 const uint8_t *inner, size_t n)
{
	size_t body = hdr_len + (frame ? 14 : 0) + n;
	size_t h = put_ipv4(b, IPPROTO_UDP, "203.0.113.1", "203.0.113.2", (uint16_t)(8 + body), 9, 0);
	b[h] = 0xc0; b[h + 1] = 0x01;
	b[h + 2] = (uint8_t)(dport >> 8); b[h + 3] = (uint8_t)dport;
	b[h + 4] = (uint8_t)((8 + body) >> 8); b[h + 5] = (uint8_t)(8 + body);
	b[h + 6] = b[h + 7] = 0;
	h += 8;
	memcpy(b + h, hdr, hdr_len);
	h += hdr_len;
	if (frame)
		h += put_mac_pair(b + h, 0x0800);
	memcpy(b + h, inner, n);
	return h + n;
}

static void udp_tunnels_yield_the_inner_packet(void **state)
{
	static const uint8_t vxlan[8] = {0x08, 0, 0, 0, 0, 0, 42, 0};
	static const uint8_t geneve[12] = {0x01, 0, 0x65, 0x58, 0, 0, 42, 0, 0x01, 0x03, 0x80, 0};
	static const uint8_t gtpu[16] = {0x34, 0xff, 0, 40, 0, 0, 0, 7, 0, 0, 0, 0x85, 1, 0x00, 0x09, 0};
	static const uint8_t gtpu_echo[8] = {0x30, 0x01, 0, 0, 0, 0, 0, 0};
	uint8_t inner[128], b[256];
	size_t n = ipv4_udp(inner, "10.9.0.2", "198.51.100.10", "POST"), m;
	struct packet p;
	struct decoder *d = decoder_new(0);

	m = udp_tunnel(b, 4789, vxlan, 8, true, inner, n);
	assert_decodes_to(d, DLT_RAW, b, m, &p, "198.51.100.10");
	assert_int_equal(p.tunnel_depth, 1);
	m = udp_tunnel(b, 8472, vxlan, 8, true, inner, n);
	assert_decodes_to(d, DLT_RAW, b, m, &p, "198.51.100.10");
	m = udp_tunnel(b, 6081, geneve, 12, true, inner, n);
	assert_decodes_to(d, DLT_RAW, b, m, &p, "198.51.100.10");
	m = udp_tunnel(b, 2152, gtpu, 16, false, inner, n);
	assert_decodes_to(d, DLT_RAW, b, m, &p, "198.51.100.10");
	assert_memory_equal(p.payload, "POST", 4);

	/* Not tunnels: VXLAN without its I flag, VXLAN on another port, a GTP
	 * echo request.  Each stays the UDP datagram to the outer endpoint. */
	uint8_t no_flag[8] = {0};
	m = udp_tunnel(b, 4789, no_flag, 8, true, inner, n);
	assert_decodes_to(d, DLT_RAW, b, m, &p, "203.0.113.2");
	assert_int_equal(p.dport, 4789);
	m = udp_tunnel(b, 9999, vxlan, 8, true, inner, n);
	assert_decodes_to(d, DLT_RAW, b, m, &p, "203.0.113.2");
	m = udp_tunnel(b, 2152, gtpu_echo, 8, false, inner, 0);
	assert_decodes_to(d, DLT_RAW, b, m, &p, "203.0.113.2");
	assert_int_equal(p.tunnel_depth, 0);
	/* every prefix of a VXLAN frame decodes or skips, never reads past it */
	m = udp_tunnel(b, 4789, vxlan, 8, true, inner, n);
	assert_every_prefix_is_safe(d, b, m);
	decoder_free(d);
}

static void frames_that_are_not_ip_are_told_apart(void **state)
{
	uint8_t ip[128], b[256];
	size_t n = ipv4_udp(ip, "10.9.0.2", "198.51.100.10", "POST");
	struct packet p;
	struct decoder *d = decoder_new(0);
	const struct decoder_stats *st = decoder_stats(d);
	struct capture_frame f = {.data = b, .ts_us = 1, .linktype = DLT_EN10MB, .file = 3, .index = 17};

	/* ARP and LLDP carry no user data: not IP, nothing unexamined */
	put_mac_pair(b, 0x0806);
	assert_int_equal(decode(d, DLT_EN10MB, b, 60, &p), DECODE_SKIP);
	put_mac_pair(b, 0x88cc);
	assert_int_equal(decode(d, DLT_EN10MB, b, 60, &p), DECODE_SKIP);
	assert_int_equal(st->skipped[SKIP_NOT_IP], 2);
	assert_int_equal(decode_unexamined_count(st->skipped), 0);
	/* an unknown ethertype may carry anything: unexamined, and named */
	put_mac_pair(b, 0x88b5);
	memcpy(b + 14, ip, n);
	f.caplen = f.wirelen = (uint32_t)(14 + n);
	assert_int_equal(decoder_decode(d, &f, &p), DECODE_SKIP);
	assert_int_equal(decode_unexamined_count(st->skipped), 1);
	assert_string_equal(st->unexamined_kind, "ethertype");
	assert_int_equal(st->unexamined_value, 0x88b5);
	assert_int_equal(st->unexamined_file, 3);
	assert_int_equal(st->unexamined_index, 17);
	/* so does a link type the decoder does not know */
	f.linktype = 147;
	assert_int_equal(decoder_decode(d, &f, &p), DECODE_SKIP);
	assert_int_equal(decode_unexamined_count(st->skipped), 2);
	/* PPP: LCP is control, IPX (0x2b) is data */
	uint8_t ppp[8] = {0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4};
	assert_int_equal(decode(d, DLT_PPP, ppp, 8, &p), DECODE_SKIP);
	ppp[2] = 0x00; ppp[3] = 0x2b;
	assert_int_equal(decode(d, DLT_PPP, ppp, 8, &p), DECODE_SKIP);
	assert_int_equal(decode_unexamined_count(st->skipped), 3);
	assert_int_equal(st->skipped[SKIP_NOT_IP], 3);
	/* 802.2 SNAP with a zero OUI carries an ethertype (RFC 1042) */
	put_mac_pair(b, (uint16_t)(8 + n));
	memcpy(b + 14, "\xaa\xaa\x03\x00\x00\x00\x08\x00", 8);
	memcpy(b + 22, ip, n);
	assert_decodes_to(d, DLT_EN10MB, b, 22 + n, &p, "198.51.100.10");
	/* Cisco FabricPath: outer MACs, 0x8903, FTag/TTL, the original frame */
	put_mac_pair(b, 0x8903);
	b[14] = 0x40; b[15] = 0x20;
	put_mac_pair(b + 16, 0x0800);
	memcpy(b + 30, ip, n);
	assert_decodes_to(d, DLT_EN10MB, b, 30 + n, &p, "198.51.100.10");
	decoder_free(d);
}

static char *temp_file(const void *data, size_t n)
{
	char *path = strdup("/tmp/ef-test-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
	return path;
}

static void missing_and_bad_files_are_reported(void **state)
{
	char err[512];
	const char *missing = "/nonexistent/capture.pcap";
	struct capture_frame f;

	assert_null(capture_open_files(&missing, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/capture.pcap"));

	/* empty and garbage files open (they exist) but end with an error naming the file */
	char *empty = temp_file("", 0), *garbage = temp_file("this is not a capture file at all", 33);
	const char *paths[] = {empty, garbage};
	struct capture *c = capture_open_files(paths, 2, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(capture_next(c, &f), CAPTURE_ERROR);
	assert_non_null(strstr(capture_error(c), empty));
	assert_int_equal(capture_next(c, &f), CAPTURE_ERROR);
	assert_non_null(strstr(capture_error(c), garbage));
	assert_int_equal(capture_next(c, &f), CAPTURE_END);
	assert_int_equal(capture_failed_files(c), 2);
	capture_close(c);
	unlink(empty);
	unlink(garbage);
	free(empty);
	free(garbage);
}

static void truncated_capture_keeps_what_was_read(void **state)
{
	char path[] = "/tmp/ef-trunc-XXXXXX.pcap";
	int fd = mkstemps(path, 5);
	uint8_t ip[128];
	size_t n = ipv4_udp(ip, "10.0.0.1", "10.0.0.2", "data");
	pcap_t *dead = pcap_open_dead(DLT_RAW, 65535);
	pcap_dumper_t *dump;
	struct pcap_pkthdr h = {.caplen = (bpf_u_int32)n, .len = (bpf_u_int32)n};
	char err[512];
	struct capture_frame f;

	close(fd);
	dump = pcap_dump_open(dead, path);
	for (int i = 0; i < 3; i++)
		pcap_dump((u_char *)dump, &h, ip);
	pcap_dump_close(dump);
	pcap_close(dead);
	/* cut the last record in half */
	assert_int_equal(truncate(path, (off_t)(24 + 2 * (16 + n) + 16 + n / 2)), 0);

	const char *paths[] = {path};
	struct capture *c = capture_open_files(paths, 1, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(capture_next(c, &f), CAPTURE_OK);
	assert_int_equal(capture_next(c, &f), CAPTURE_OK);
	assert_int_equal(capture_next(c, &f), CAPTURE_ERROR);
	assert_non_null(strstr(capture_error(c), "stopped reading at byte"));
	assert_int_equal(capture_next(c, &f), CAPTURE_END);
	capture_close(c);
	unlink(path);
}

/* ---- pcapng, little-endian blocks built here ---------------------------- */

struct ng {
	uint8_t b[4096];
	size_t n;
};

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static void ng_put32(struct ng *g, uint32_t v)
{
	le32(g->b + g->n, v);
	g->n += 4;
}

static void ng_bytes(struct ng *g, const void *p, size_t n)
{
	memcpy(g->b + g->n, p, n);
	g->n += n;
	while (g->n % 4)
		g->b[g->n++] = 0;
}

/* A block of type `type` whose body is body[0..n); returns its offset. */
static size_t ng_block(struct ng *g, uint32_t type, const void *body, size_t n)
{
	size_t at = g->n;
	uint32_t total = (uint32_t)(12 + ((n + 3) & ~(size_t)3));

	ng_put32(g, type);
	ng_put32(g, total);
	ng_bytes(g, body, n);
	ng_put32(g, total);
	return at;
}

static void ng_section(struct ng *g)
{
	uint8_t shb[16] = {0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	ng_block(g, 0x0A0D0D0A, shb, sizeof(shb));
}

static void ng_interface(struct ng *g, uint16_t linktype, uint32_t snaplen, const uint8_t *opts, size_t n)
{
	uint8_t body[64] = {(uint8_t)linktype, (uint8_t)(linktype >> 8), 0, 0};

	le32(body + 4, snaplen);
	if (n)
		memcpy(body + 8, opts, n);
	ng_block(g, 1, body, 8 + n);
}

static size_t ng_packet(struct ng *g, uint32_t iface, uint64_t ticks, const void *data, uint32_t caplen, uint32_t len)
{
	uint8_t body[512];
	const uint32_t f[5] = {iface, (uint32_t)(ticks >> 32), (uint32_t)ticks, caplen, len};

	for (int i = 0; i < 5; i++)
		le32(body + 4 * i, f[i]);
	memcpy(body + 20, data, len < caplen ? len : caplen);
	return ng_block(g, 6, body, 20 + (len < caplen ? len : caplen));
}

static struct capture *ng_open(const struct ng *g, char **path)
{
	char err[512];

	*path = temp_file(g->b, g->n);
	const char *paths[] = {*path};
	struct capture *c = capture_open_files(paths, 1, err, sizeof(err));
	assert_non_null(c);
	return c;
}

static void pcapng_interfaces_keep_their_own_link_type_snaplen_and_clock(void **state)
{
	uint8_t ip[128], frame[256];
	size_t n = ipv4_udp(ip, "10.9.0.2", "198.51.100.10", "POST");
	/* if_tsresol 9 (ns) and if_tsoffset 10 s; then opt_endofopt */
	uint8_t opts[24] = {9, 0, 1, 0, 9, 0, 0, 0, 14, 0, 8, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	struct ng g = {.n = 0};
	struct capture_frame f;
	char *path;

	memset(frame, 0, 14);
	frame[12] = 0x08;
	memcpy(frame + 14, ip, n);
	ng_section(&g);
	ng_interface(&g, 1, 65535, NULL, 0);
	ng_packet(&g, 0, 1795000000000001ull, frame, (uint32_t)(14 + n), (uint32_t)(14 + n));
	ng_interface(&g, 101, 40, opts, sizeof(opts)); /* LINKTYPE_RAW, another snaplen */
	ng_packet(&g, 1, 1795000000123456789ull, ip, (uint32_t)n, (uint32_t)n);
	uint8_t spb[256];
	uint32_t wire = (uint32_t)(14 + n);
	le32(spb, wire);
	memcpy(spb + 4, frame, 14 + n);
	ng_block(&g, 3, spb, 4 + 14 + n);              /* simple packet: interface 0, no time */
	uint8_t nrb[4] = {0};
	ng_block(&g, 4, nrb, 4);                       /* name resolution: skipped */

	struct capture *c = ng_open(&g, &path);
	assert_int_equal(capture_next(c, &f), CAPTURE_OK);
	assert_int_equal(f.linktype, DLT_EN10MB);
	assert_int_equal(f.ts_us, 1795000000000001ull);
	assert_int_equal(f.index, 1);
	assert_int_equal(capture_next(c, &f), CAPTURE_OK);
	assert_int_equal(f.linktype, DLT_RAW);
	assert_int_equal(f.ts_us, 1795000000123456ull + 10000000u);
	assert_int_equal(f.caplen, n);
	assert_memory_equal(f.data, ip, n);
	assert_int_equal(f.index, 2);
	assert_int_equal(capture_next(c, &f), CAPTURE_OK);
	assert_int_equal(f.linktype, DLT_EN10MB);
	assert_int_equal(f.ts_us, 1795000000123456ull + 10000000u);
	assert_int_equal(f.caplen, 14 + n);
	assert_int_equal(capture_next(c, &f), CAPTURE_END);
	assert_int_equal(capture_failed_files(c), 0);
	capture_close(c);
	unlink(path);
	free(path);
}

static void pcapng_damaged_blocks_stop_the_file_with_their_offset(void **state)
{
	uint8_t ip[128];
	size_t n = ipv4_udp(ip, "10.9.0.2", "198.51.100.10", "POST");
	struct capture_frame f;
	char *path, want[64];

	for (int k = 0; k < 4; k++) {
		struct ng g = {.n = 0};
		ng_section(&g);
		ng_interface(&g, 101, 0, NULL, 0);
		ng_packet(&g, 0, 1, ip, (uint32_t)n, (uint32_t)n);
		size_t bad = g.n;
		if (k == 0) {
			ng_packet(&g, 5, 2, ip, (uint32_t)n, (uint32_t)n);        /* no interface 5 */
		} else if (k == 1) {
			ng_packet(&g, 0, 2, ip, (uint32_t)n, (uint32_t)n);
			g.b[g.n - 4] ^= 4;                                     /* trailing length differs */
		} else if (k == 2) {
			bad = ng_packet(&g, 0, 2, ip, 400, (uint32_t)n);       /* caplen past the block */
		} else {
			uint8_t opts[8] = {9, 0, 60, 0, 9, 0, 0, 0};           /* an option past its block */
			ng_interface(&g, 1, 0, opts, sizeof(opts));
		}
		struct capture *c = ng_open(&g, &path);
		assert_int_equal(capture_next(c, &f), CAPTURE_OK);
		assert_int_equal(capture_next(c, &f), CAPTURE_ERROR);
		snprintf(want, sizeof(want), "stopped reading at byte %zu: ", bad);
		assert_non_null(strstr(capture_error(c), want));
		assert_int_equal(capture_next(c, &f), CAPTURE_END);
		assert_int_equal(capture_failed_files(c), 1);
		capture_close(c);
		unlink(path);
		free(path);
	}
}

/* ---- red-team round 2: routing headers, IP options, lost fragments ---- */

/* An IPv6 header from src to dst with `ext' (extension headers, then a
 * UDP datagram of `payload') behind it; the first next header is `first'. */
static size_t ipv6_with(uint8_t *b, const char *src, const char *dst, uint8_t first, const uint8_t *ext,
			size_t ext_len, const char *payload)
{
	struct ef_addr s, t;

	ef_addr_parse(src, &s);
	ef_addr_parse(dst, &t);
	memset(b, 0, 40);
	b[0] = 0x60;
	b[6] = first;
	b[7] = 64;
	memcpy(b + 8, s.b, 16);
	memcpy(b + 24, t.b, 16);
	memcpy(b + 40, ext, ext_len);
	size_t n = 40 + ext_len + put_udp(b + 40 + ext_len, 5000, 80, payload);
	b[4] = (uint8_t)((n - 40) >> 8);
	b[5] = (uint8_t)(n - 40);
	return n;
}

static void put_addr6(uint8_t *b, const char *a)
{
	struct ef_addr x;

	ef_addr_parse(a, &x);
	memcpy(b, x.b, 16);
}

/* redteam2 srv6-http: the IPv6 destination is a US node, the segment list
 * ends in CN.  The packet goes on to the last segment, so that is the
 * flow's destination, and the nodes on the way are kept as tunnel ends. */
static void routing_header_with_segments_left_goes_to_its_last_segment(void **state)
{
	uint8_t ext[128] = {0}, b[512];
	struct packet p;
	struct decoder *d = decoder_new(0);

	/* SRv6 (type 4): Segment List[0] = CN (the last), [1] = a second US
	 * node, [2] = the IPv6 destination; two segments left */
	ext[0] = IPPROTO_UDP;
	ext[1] = 6;  /* 8 + 48 bytes */
	ext[2] = 4;
	ext[3] = 2;
	ext[4] = 2;  /* last entry */
	put_addr6(ext + 8, "2001:db8:86::10");
	put_addr6(ext + 24, "2001:db8:1::2");
	put_addr6(ext + 40, "2001:db8:1::1");
	size_t n = ipv6_with(b, "fd00:ef::2", "2001:db8:1::1", 43, ext, 56, "POST /");
	assert_int_equal(decode(d, DLT_RAW, b, n, &p), DECODE_OK);
	assert_addr(&p.dst, "2001:db8:86::10");
	assert_int_equal(p.dport, 80);
	assert_memory_equal(p.payload, "POST /", 6);
	assert_int_equal(p.n_via, 2);
	assert_addr(&p.via[0], "2001:db8:1::1");
	assert_addr(&p.via[1], "2001:db8:1::2");

	/* with no segments left, the destination is the destination */
	ext[3] = 0;
	n = ipv6_with(b, "fd00:ef::2", "2001:db8:86::10", 43, ext, 56, "POST /");
	assert_int_equal(decode(d, DLT_RAW, b, n, &p), DECODE_OK);
	assert_addr(&p.dst, "2001:db8:86::10");
	assert_int_equal(p.n_via, 0);

	/* type 0 lists the last address last; one of two left */
	memset(ext, 0, sizeof(ext));
	ext[0] = IPPROTO_UDP;
	ext[1] = 4;
	ext[2] = 0;
	ext[3] = 1;
	put_addr6(ext + 8, "2001:db8:1::1");
	put_addr6(ext + 24, "2001:db8:86::10");
	n = ipv6_with(b, "fd00:ef::2", "2001:db8:1::1", 43, ext, 40, "x");
	assert_int_equal(decode(d, DLT_RAW, b, n, &p), DECODE_OK);
	assert_addr(&p.dst, "2001:db8:86::10");
	assert_int_equal(p.n_via, 1);
	assert_addr(&p.via[0], "2001:db8:1::1");

	/* a type this decoder cannot follow, with segments left: not examined */
	ext[2] = 3;
	n = ipv6_with(b, "fd00:ef::2", "2001:db8:1::1", 43, ext, 40, "x");
	uint64_t before = decoder_stats(d)->skipped[SKIP_UNEXAMINED];
	assert_int_equal(decode(d, DLT_RAW, b, n, &p), DECODE_SKIP);
	assert_int_equal(decoder_stats(d)->skipped[SKIP_UNEXAMINED], before + 1);
	/* an SRH whose segments left run past its list */
	ext[2] = 4;
	ext[3] = 3;
	ext[4] = 1;
	n = ipv6_with(b, "fd00:ef::2", "2001:db8:1::1", 43, ext, 40, "x");
	assert_int_equal(decode(d, DLT_RAW, b, n, &p), DECODE_SKIP);
	assert_int_equal(decoder_stats(d)->skipped[SKIP_UNEXAMINED], before + 2);
	decoder_free(d);
}

/* A SYN from 10.9.0.2 to 198.51.100.10 with these options (a multiple of
 * 4 bytes) and no payload; returns its length. */
static size_t syn_with_options(uint8_t *b, const uint8_t *opt, size_t n)
{
	put_ipv4(b, IPPROTO_TCP, "10.9.0.2", "198.51.100.10", (uint16_t)(20 + n), 9, 0);
	uint8_t *t = b + 20;
	memset(t, 0, 20);
	t[0] = 0xa4;
	t[1] = 0x10;
	t[3] = 80;
	t[12] = (uint8_t)((5 + n / 4) << 4);
	t[13] = 0x02;
	t[14] = 0xff;
	memcpy(t + 20, opt, n);
	return 40 + n;
}

/* redteam3 tcp-option-text and the gateway's layouts: a known kind proves
 * nothing at a length its RFC does not give it, or the second time. */
static void tcp_options_of_known_kinds_prove_nothing_out_of_shape(void **state)
{
	uint8_t b[128];
	struct packet p;
	struct decoder *d = decoder_new(0);
	/* Linux's SYN: MSS, SACK permitted, timestamps, NOP, window scale */
	static const uint8_t linux_syn[20] = {2, 4, 5, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7};
	/* "timestamps" of 38 bytes of text */
	uint8_t ts_long[40] = {8, 40};
	/* timestamps three times, text in each */
	static const uint8_t ts_thrice[36] = {1,   1,   8,   10,  'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H',
					      1,   1,   8,   10,  'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P',
					      1,   1,   8,   10,  'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X'};
	/* an MSS of 8 bytes, a SACK of 11 */
	static const uint8_t mss_long[12] = {2, 8, 'a', 'b', 'c', 'd', 'e', 'f', 1, 1, 1, 1};
	static const uint8_t sack_odd[12] = {5, 11, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 0};
	(void)state;

	memset(ts_long + 2, 't', 38);
	assert_int_equal(decode(d, DLT_RAW, b, syn_with_options(b, linux_syn, 20), &p), DECODE_OK);
	assert_int_equal(p.options_unproven, 0);
	assert_int_equal(decode(d, DLT_RAW, b, syn_with_options(b, ts_long, 40), &p), DECODE_OK);
	assert_int_equal(p.options_unproven, 40);
	assert_int_equal(decode(d, DLT_RAW, b, syn_with_options(b, ts_thrice, 36), &p), DECODE_OK);
	assert_int_equal(p.options_unproven, 20); /* the second and third: 10 bytes each */
	assert_int_equal(decode(d, DLT_RAW, b, syn_with_options(b, mss_long, 12), &p), DECODE_OK);
	assert_int_equal(p.options_unproven, 8);
	assert_int_equal(decode(d, DLT_RAW, b, syn_with_options(b, sack_odd, 12), &p), DECODE_OK);
	assert_int_equal(p.options_unproven, 11);
	decoder_free(d);
}

/* redteam2 v6-dstopt-text: option bytes leave with the packet.  Zero
 * padding and a router alert carry nothing; anything else is unproven. */
/* Tunnel header fields a receiver skips (GRE routing entries, GTP-U
 * extension headers, Geneve options) leave with the packet: counted with
 * the options, unproven unless the format fixes what they hold, and the
 * inner packet stays the flow. */
static void tunnel_header_fields_are_counted_unless_the_format_fixes_them(void **state)
{
	uint8_t inner[128], b[1024], hdr[512];
	size_t n = ipv4_udp(inner, "10.9.0.2", "198.51.100.10", "POST"), m;
	struct packet p;
	struct decoder *d = decoder_new(0);

	/* GTP-U: a PDCP PDU Number, then a PDU Session Container (1 unit each) */
	static const uint8_t gtpu_fixed[20] = {0x34, 0xff, 0, 44, 0, 0, 0, 7, 0, 0, 0, 0xc0,
					       1, 0x12, 0x34, 0x85, 1, 0x00, 0x09, 0};
	m = udp_tunnel(b, 2152, gtpu_fixed, 20, false, inner, n);
	assert_decodes_to(d, DLT_RAW, b, m, &p, "198.51.100.10");
	assert_int_equal(p.options_len, 0);
	assert_int_equal(p.options_unproven, 0);
	/* a PDU Session Container of 64 units: 256 bytes, text */
	memcpy(hdr, gtpu_fixed, 12);
	hdr[11] = 0x85;
	hdr[12] = 64;
	memset(hdr + 13, 'T', 254);
	hdr[12 + 255] = 0;
	m = udp_tunnel(b, 2152, hdr, 12 + 256, false, inner, n);
	assert_decodes_to(d, DLT_RAW, b, m, &p, "198.51.100.10");
	assert_int_equal(p.options_len, 256);
	assert_int_equal(p.options_unproven, 256);
	assert_memory_equal(p.payload, "POST", 4);
	assert_every_prefix_is_safe(d, b, m);
	/* an NR RAN Container (not on traffic leaving a site), 1 unit */
	hdr[11] = 0x84;
	hdr[12] = 1;
	hdr[15] = 0;
	m = udp_tunnel(b, 2152, hdr, 16, false, inner, n);
	assert_decodes_to(d, DLT_RAW, b, m, &p, "198.51.100.10");
	assert_int_equal(p.options_unproven, 4);
	/* a chain that runs past the datagram: the UDP flow, every byte payload */
	hdr[12] = 200;
	m = udp_tunnel(b, 2152, hdr, 16, false, inner, n);
	assert_decodes_to(d, DLT_RAW, b, m, &p, "203.0.113.2");
	assert_int_equal(p.options_len, 0);
	assert_int_equal(p.payload_len, 16 + n);

	/* Geneve: OVN's 4-byte logical ports are the header */
	static const uint8_t geneve_ovn[16] = {0x02, 0, 0x65, 0x58, 0, 0, 42, 0, 0x01, 0x02, 0x80, 1, 0, 1, 0, 2};
	m = udp_tunnel(b, 6081, geneve_ovn, 16, true, inner, n);
	assert_decodes_to(d, DLT_RAW, b, m, &p, "198.51.100.10");
	assert_int_equal(p.options_len, 0);
	/* an INT option of 124 bytes of text, as the red team sent */
	memcpy(hdr, geneve_ovn, 8);
	hdr[0] = 32;
	hdr[8] = 0x01; hdr[9] = 0x03; hdr[10] = 0x01; hdr[11] = 31;
	memset(hdr + 12, 'T', 124);
	m = udp_tunnel(b, 6081, hdr, 8 + 128, true, inner, n);
	assert_decodes_to(d, DLT_RAW, b, m, &p, "198.51.100.10");
	assert_int_equal(p.options_unproven, 128);
	/* nine small OVN options: 32 bytes pass as metadata, the rest is data */
	hdr[0] = 27;
	for (int i = 0; i < 9; i++) {
		uint8_t *o = hdr + 8 + i * 12;
		o[0] = 0x01; o[1] = 0x02; o[2] = (uint8_t)i; o[3] = 2;
		memset(o + 4, 'T', 8);
	}
	m = udp_tunnel(b, 6081, hdr, 8 + 108, true, inner, n);
	assert_decodes_to(d, DLT_RAW, b, m, &p, "198.51.100.10");
	assert_int_equal(p.options_unproven, 108 - 24);
	assert_every_prefix_is_safe(d, b, m);
	/* an experimental class, and an option longer than the list */
	hdr[0] = 2;
	hdr[8] = 0xff; hdr[9] = 0xff; hdr[11] = 1;
	m = udp_tunnel(b, 6081, hdr, 16, true, inner, n);
	assert_decodes_to(d, DLT_RAW, b, m, &p, "198.51.100.10");
	assert_int_equal(p.options_unproven, 8);
	hdr[8] = 0x01; hdr[9] = 0x02; hdr[11] = 5;
	m = udp_tunnel(b, 6081, hdr, 16, true, inner, n);
	assert_decodes_to(d, DLT_RAW, b, m, &p, "198.51.100.10");
	assert_int_equal(p.options_unproven, 8);

	/* GRE with RFC 1701 routing (R, no C): offset, key, an SRE of 8 bytes
	 * of text, the NULL SRE, then the inner packet */
	uint8_t gre[24] = {0x60, 0, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0, 42,
			   0x08, 0x00, 0, 8, 'T', 'E', 'X', 'T', 'T', 'E', 'X', 'T'};
	size_t h = put_ipv4(b, IPPROTO_GRE, "192.0.2.1", "192.0.2.2", (uint16_t)(24 + 4 + n), 2, 0);
	memcpy(b + h, gre, 24);
	memset(b + h + 24, 0, 4);
	memcpy(b + h + 28, inner, n);
	assert_decodes_to(d, DLT_RAW, b, h + 28 + n, &p, "198.51.100.10");
	assert_int_equal(p.options_len, 16);
	assert_int_equal(p.options_unproven, 12);
	assert_memory_equal(p.payload, "POST", 4);
	assert_every_prefix_is_safe(d, b, h + 28 + n);
	/* no NULL SRE before the end: the GRE packet itself, every byte payload */
	put_ipv4(b, IPPROTO_GRE, "192.0.2.1", "192.0.2.2", 24, 2, 0);
	assert_decodes_to(d, DLT_RAW, b, h + 24, &p, "192.0.2.2");
	assert_int_equal(p.l4, IPPROTO_GRE);
	assert_int_equal(p.payload_len, 24);
	assert_int_equal(p.options_len, 0);
	decoder_free(d);
}

static void ip_options_are_counted_and_only_padding_carries_nothing(void **state)
{
	uint8_t ext[256] = {0}, b[512];
	struct packet p;
	struct decoder *d = decoder_new(0);

	/* Destination Options: PadN of 4 zeros, then Pad1 x2 */
	ext[0] = IPPROTO_UDP;
	ext[2] = 1;
	ext[3] = 4;
	size_t n = ipv6_with(b, "fd00:ef::2", "2001:db8:86::10", 60, ext, 8, "x");
	assert_int_equal(decode(d, DLT_RAW, b, n, &p), DECODE_OK);
	assert_int_equal(p.options_len, 6);
	assert_int_equal(p.options_unproven, 0);
	/* a PadN that is not zeros */
	ext[5] = 'A';
	n = ipv6_with(b, "fd00:ef::2", "2001:db8:86::10", 60, ext, 8, "x");
	assert_int_equal(decode(d, DLT_RAW, b, n, &p), DECODE_OK);
	assert_int_equal(p.options_unproven, 6);
	/* Hop-by-Hop router alert (MLD) and PadN: nothing */
	memset(ext, 0, sizeof(ext));
	ext[0] = IPPROTO_UDP;
	ext[2] = 5;
	ext[3] = 2;
	ext[6] = 1;
	n = ipv6_with(b, "fd00:ef::2", "2001:db8:86::10", 0, ext, 8, "x");
	assert_int_equal(decode(d, DLT_RAW, b, n, &p), DECODE_OK);
	assert_int_equal(p.options_len, 6);
	assert_int_equal(p.options_unproven, 0);
	/* an unknown option (type 0x1e) of text, as the red team sent */
	memset(ext, 0, sizeof(ext));
	ext[0] = IPPROTO_UDP;
	ext[1] = 15; /* 128 bytes */
	ext[2] = 0x1e;
	ext[3] = 124;
	memset(ext + 4, 'e', 124);
	n = ipv6_with(b, "fd00:ef::2", "2001:db8:86::10", 60, ext, 128, "x");
	assert_int_equal(decode(d, DLT_RAW, b, n, &p), DECODE_OK);
	assert_int_equal(p.options_len, 126);
	assert_int_equal(p.options_unproven, 126);
	assert_int_equal(p.payload_len, 1);

	/* IPv4: a router alert, then a record route of 8 bytes, then EOL */
	uint8_t v4[128] = {0};
	put_ipv4(v4, IPPROTO_UDP, "10.9.0.2", "198.51.100.10", 8 + 1 + 16, 7, 0);
	v4[0] = 0x49;
	v4[3] += 16;
	uint8_t opts[16] = {148, 4, 0, 0, 7, 8, 4, 'a', 'b', 'c', 'd', 0, 0, 0, 0, 0};
	memcpy(v4 + 20, opts, 16);
	n = 36 + put_udp(v4 + 36, 5000, 53, "x");
	assert_int_equal(decode(d, DLT_RAW, v4, n, &p), DECODE_OK);
	assert_int_equal(p.options_len, 16);
	assert_int_equal(p.options_unproven, 8);
	assert_int_equal(p.payload_len, 1);
	decoder_free(d);
}

static enum decode_result decode_at(struct decoder *d, const uint8_t *b, size_t n, uint64_t ts, struct packet *p)
{
	struct capture_frame f = {.data = b, .caplen = (uint32_t)n, .wirelen = (uint32_t)n, .ts_us = ts,
				  .linktype = DLT_RAW};
	return decoder_decode(d, &f, p);
}

/* redteam2 frag-never-complete: first fragments whose last never comes
 * left all the same; they are handed on as bytes not examined, with the
 * first fragment's ports, at the timeout and at the end of the input. */
static void fragments_that_never_complete_are_handed_on_as_unexamined(void **state)
{
	uint8_t b[256], text[64];
	struct packet p;
	struct decoder *d = decoder_new(0);

	memset(text, 'e', sizeof(text));
	/* a first fragment: UDP header and 64 bytes of text, more to come */
	size_t h = put_ipv4(b, IPPROTO_UDP, "10.9.0.2", "198.51.100.10", 8 + 64, 77, 0x2000);
	put_udp(b + h, 41503, 5353, "");
	memcpy(b + h + 8, text, 64);
	assert_int_equal(decode_at(d, b, h + 72, 1000000, &p), DECODE_FRAGMENT);
	assert_false(decoder_incomplete(d, &p));
	/* 31 s later, any fragment gives it up */
	size_t h2 = put_ipv4(b, IPPROTO_UDP, "10.9.0.2", "198.51.100.10", 16, 78, 0x2001);
	memset(b + h2, 'x', 16);
	assert_int_equal(decode_at(d, b, h2 + 16, 32000000, &p), DECODE_FRAGMENT);
	assert_true(decoder_incomplete(d, &p));
	assert_true(p.incomplete);
	assert_addr(&p.src, "10.9.0.2");
	assert_addr(&p.dst, "198.51.100.10");
	assert_int_equal(p.l4, IPPROTO_UDP);
	assert_int_equal(p.sport, 41503);
	assert_int_equal(p.dport, 5353);
	assert_int_equal(p.unexamined_len, 64);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(p.ts_us, 32000000); /* when it was given up, in the packets' order */
	assert_false(decoder_incomplete(d, &p));
	assert_int_equal(decoder_stats(d)->skipped[SKIP_FRAG_INCOMPLETE], 1);
	assert_int_equal(decode_unexamined_count(decoder_stats(d)->skipped), 1);

	/* the end of the input gives up the one still held (not a first
	 * fragment: no ports), and an IPv6 one */
	uint8_t ext[8] = {IPPROTO_UDP, 0, 0, 8, 0, 0, 0, 9}; /* offset 8 bytes, more: MF clear, id 9 */
	ext[3] = 8 | 1;
	uint8_t v6[256];
	size_t n6 = ipv6_with(v6, "fd00:ef::2", "2001:db8:86::10", 44, ext, 8, "text text text");
	assert_int_equal(decode_at(d, v6, n6, 32000001, &p), DECODE_FRAGMENT);
	decoder_give_up_fragments(d);
	int seen = 0;
	while (decoder_incomplete(d, &p)) {
		seen++;
		assert_true(p.incomplete);
		assert_int_equal(p.sport, 0);
		assert_int_equal(p.dport, 0);
		if (p.src.family == 4) {
			assert_int_equal(p.unexamined_len, 16);
		} else {
			assert_addr(&p.dst, "2001:db8:86::10");
			assert_int_equal(p.unexamined_len, 8 + 14); /* the "UDP header" is data here */
		}
	}
	assert_int_equal(seen, 2);
	assert_int_equal(decoder_stats(d)->skipped[SKIP_FRAG_INCOMPLETE], 3);
	decoder_free(d);

	/* bounded: with a table of 2 and nobody draining, at most 2 wait */
	d = decoder_new(2);
	for (uint16_t id = 0; id < 10; id++) {
		h = put_ipv4(b, IPPROTO_UDP, "10.9.0.2", "198.51.100.10", 8 + 64, id, 0x2000);
		put_udp(b + h, 41503, 5353, "");
		assert_int_equal(decode_at(d, b, h + 72, 1000000 + id, &p), DECODE_FRAGMENT);
	}
	decoder_give_up_fragments(d);
	seen = 0;
	while (decoder_incomplete(d, &p))
		seen++;
	assert_int_equal(seen, 2);
	assert_int_equal(decoder_stats(d)->skipped[SKIP_FRAG_INCOMPLETE], 10);
	decoder_free(d);
}

/*
 * Bytes after an inner IP packet, inside the tunnel that carries it: the
 * far end receives them, so they count as sent (options_len), and as
 * unproven unless zeros.  An inner Ethernet frame's padding (its payload up
 * to 46 bytes, whatever the bytes) is the frame's own, and the outermost
 * frame's trailer is the capture link's: neither is counted.
 */
static void bytes_after_a_tunnelled_packet_count_but_a_frames_padding_does_not(void **state)
{
	static const uint8_t vxlan[8] = {0x08, 0, 0, 0, 0, 0, 42, 0};
	static const uint8_t gtpu[8] = {0x30, 0xff, 0, 0, 0, 0, 0, 7};
	uint8_t inner[256], b[512];
	size_t n = ipv4_udp(inner, "10.9.0.2", "198.51.100.10", "x"), h, m;
	struct packet p;
	struct decoder *d = decoder_new(0);

	/* the control: GRE and IP in IP with nothing after the inner packet */
	h = put_ipv4(b, IPPROTO_GRE, "192.0.2.1", "192.0.2.2", (uint16_t)(4 + n), 1, 0);
	b[h] = 0; b[h + 1] = 0; b[h + 2] = 0x08; b[h + 3] = 0x00;
	memcpy(b + h + 4, inner, n);
	assert_decodes_to(d, DLT_RAW, b, h + 4 + n, &p, "198.51.100.10");
	assert_int_equal(p.options_len, 0);
	/* GRE: 100 bytes of text after the inner datagram */
	put_ipv4(b, IPPROTO_GRE, "192.0.2.1", "192.0.2.2", (uint16_t)(4 + n + 100), 1, 0);
	memset(b + h + 4 + n, 'T', 100);
	assert_decodes_to(d, DLT_RAW, b, h + 4 + n + 100, &p, "198.51.100.10");
	assert_int_equal(p.options_len, 100);
	assert_int_equal(p.options_unproven, 100);
	assert_int_equal(p.payload_len, 1);
	assert_memory_equal(p.payload, "x", 1);
	assert_every_prefix_is_safe(d, b, h + 4 + n + 100);
	/* zeros: sent, carrying nothing */
	memset(b + h + 4 + n, 0, 100);
	assert_decodes_to(d, DLT_RAW, b, h + 4 + n + 100, &p, "198.51.100.10");
	assert_int_equal(p.options_len, 100);
	assert_int_equal(p.options_unproven, 0);
	/* IP in IP, and IPv6 in IPv4 */
	h = put_ipv4(b, IPPROTO_IPIP, "192.0.2.1", "192.0.2.2", (uint16_t)(n + 7), 1, 0);
	memcpy(b + h, inner, n);
	memcpy(b + h + n, "TRAILER", 7);
	assert_decodes_to(d, DLT_RAW, b, h + n + 7, &p, "198.51.100.10");
	assert_int_equal(p.options_unproven, 7);
	static const uint8_t v6[] = {0x60, 0, 0, 0, 0, 9, IPPROTO_UDP, 64};
	h = put_ipv4(b, IPPROTO_IPV6, "192.0.2.1", "192.0.2.2", 40 + 9 + 7, 1, 0);
	memset(b + h, 0, 40);
	memcpy(b + h, v6, sizeof(v6));
	b[h + 23] = 2; /* from ::2 to ::1 */
	b[h + 39] = 1;
	put_udp(b + h + 40, 1234, 53, "x");
	memcpy(b + h + 49, "TRAILER", 7);
	assert_int_equal(decode(d, DLT_RAW, b, h + 49 + 7, &p), DECODE_OK);
	assert_int_equal(p.src.family, 6);
	assert_int_equal(p.options_unproven, 7);
	/* GTP-U: past the inner packet, inside the G-PDU */
	memcpy(inner + n, "TRAILER", 7);
	m = udp_tunnel(b, 2152, gtpu, 8, false, inner, n + 7);
	assert_decodes_to(d, DLT_RAW, b, m, &p, "198.51.100.10");
	assert_int_equal(p.options_unproven, 7);

	/* VXLAN: the inner datagram (29 bytes) padded to a 60-byte frame with
	 * non-zero bytes is the frame's own; 9 more bytes are data */
	memset(inner + n, 0xa5, 46 - n);
	m = udp_tunnel(b, 4789, vxlan, 8, true, inner, 46);
	assert_decodes_to(d, DLT_RAW, b, m, &p, "198.51.100.10");
	assert_int_equal(p.options_len, 0);
	memset(inner + 46, 'T', 9);
	m = udp_tunnel(b, 4789, vxlan, 8, true, inner, 55);
	assert_decodes_to(d, DLT_RAW, b, m, &p, "198.51.100.10");
	assert_int_equal(p.options_len, 9);
	assert_int_equal(p.options_unproven, 9);
	assert_every_prefix_is_safe(d, b, m);
	/* IP in IP inside that frame: the innermost packet (a bare header) and
	 * its trailer lie in the frame's first 46 bytes, but inside the outer
	 * packet, so they are not padding; 2 bytes of padding follow */
	h = put_ipv4(inner, IPPROTO_IPIP, "192.0.2.1", "192.0.2.2", 20 + 4, 1, 0);
	h += put_ipv4(inner + h, 253, "10.9.0.2", "198.51.100.10", 0, 1, 0);
	memcpy(inner + h, "TEXT", 4);
	memset(inner + h + 4, 0xa5, 2);
	m = udp_tunnel(b, 4789, vxlan, 8, true, inner, h + 6);
	assert_decodes_to(d, DLT_RAW, b, m, &p, "198.51.100.10");
	assert_int_equal(p.tunnel_depth, 2);
	assert_int_equal(p.options_len, 4);
	assert_int_equal(p.options_unproven, 4);

	/* The outermost Ethernet frame's trailer (padding, an FCS) stays on
	 * the link: not counted, whatever it holds */
	h = put_mac_pair(b, 0x0800);
	h += ipv4_udp(b + h, "10.9.0.2", "198.51.100.10", "x");
	memset(b + h, 0xa5, 64 - h);
	assert_decodes_to(d, DLT_EN10MB, b, 64, &p, "198.51.100.10");
	assert_int_equal(p.tunnel_depth, 0);
	assert_int_equal(p.options_len, 0);
	decoder_free(d);
}

/* ---- a live NFLOG source ------------------------------------------------------ */

/* cmocka counts a skip() as a pass when it reports to ctest, so main()
 * remembers why a case could not run and exits 77 after the rest. */
static const char *skipped_because;

/* recv() as libpcap's NFLOG reader calls it: passed through, unless a test
 * arms faults.  2 faults: ENOBUFS then EAGAIN, what the socket says after
 * an overrun once its queue is empty. */
static int recv_faults;

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	static ssize_t (*real)(int, void *, size_t, int);

	if (recv_faults > 0) {
		errno = recv_faults-- == 2 ? ENOBUFS : EAGAIN;
		return -1;
	}
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "recv");
	return real(fd, buf, len, flags);
}

static void nflog_overrun_on_an_empty_socket_is_nothing_ready_not_an_error(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		skipped_because = "an NFLOG source needs root (CAP_NET_ADMIN)";
		print_message("skipping: %s\n", skipped_because);
		skip();
	}
	char name[32], err[256];
	struct capture_frame f;
	snprintf(name, sizeof(name), "nflog:%d", 40000 + (int)(getpid() % 20000));
	struct capture *c = capture_open_live(name, 256, err, sizeof(err));
	if (!c)
		fail_msg("%s", err);
	/* nothing copied to the group: the non-blocking read finds nothing */
	assert_int_equal(capture_next(c, &f), CAPTURE_END);
	/* an overrun reported on a socket whose queue is empty */
	recv_faults = 2;
	assert_int_equal(capture_next(c, &f), CAPTURE_END);
	assert_int_equal(recv_faults, 0); /* both faults were met */
	assert_string_equal(capture_error(c), "");
	/* and the source still reads */
	assert_int_equal(capture_next(c, &f), CAPTURE_END);
	capture_close(c);
}

/* One NFLOG TLV (host byte order, padded to 4 bytes) at b; its padded size. */
static size_t put_nflog_tlv(uint8_t *b, uint16_t type, const void *v, size_t n)
{
	uint16_t len = (uint16_t)(4 + n);

	memcpy(b, &len, 2);
	memcpy(b + 2, &type, 2);
	memcpy(b + 4, v, n);
	memset(b + 4 + n, 0, ((4 + n + 3) & ~(size_t)3) - (4 + n));
	return (4 + n + 3) & ~(size_t)3;
}

/* An NFLOG frame: header, then the prefix (type 10) before or after the
 * payload (type 9), or none when prefix is NULL. */
static size_t nflog_frame(uint8_t *b, const char *prefix, size_t prefix_len, bool prefix_first, const uint8_t *ip,
			  size_t ip_len)
{
	static const uint8_t hw[2] = {0x08, 0x00}; /* NFULA_PACKET_HDR's protocol, as the kernel sends one */
	size_t n = 0;

	b[n++] = 2; /* AF_INET */
	b[n++] = 0; /* version */
	b[n++] = 0;
	b[n++] = 7; /* group, big-endian */
	n += put_nflog_tlv(b + n, 1, hw, sizeof(hw));
	if (prefix && prefix_first)
		n += put_nflog_tlv(b + n, 10, prefix, prefix_len);
	n += put_nflog_tlv(b + n, 9, ip, ip_len);
	if (prefix && !prefix_first)
		n += put_nflog_tlv(b + n, 10, prefix, prefix_len);
	return n;
}

/* The gate says in each copy's prefix whether it let the packet through or
 * held it (enforce/nft.c): read wherever the prefix is among the TLVs, and
 * "unknown" for any other prefix, for none, and for every other source. */
static void nflog_prefix_says_whether_the_gate_passed_or_held_the_copy(void **state)
{
	uint8_t ip[128], b[512];
	size_t n = ipv4_udp(ip, "10.1.0.2", "198.51.100.10", "payload");
	struct packet p;
	struct decoder *d = decoder_new(0);

	for (int first = 0; first < 2; first++) {
		size_t m = nflog_frame(b, "passed", 7, first, ip, n);
		assert_decodes_to(d, DLT_NFLOG, b, m, &p, "198.51.100.10");
		assert_int_equal(p.fate, EF_FATE_PASSED);
		assert_int_equal(p.payload_len, 7);
		m = nflog_frame(b, "held", 5, first, ip, n);
		assert_decodes_to(d, DLT_NFLOG, b, m, &p, "198.51.100.10");
		assert_int_equal(p.fate, EF_FATE_HELD);
		/* without its NUL, as another writer might put it */
		m = nflog_frame(b, "held", 4, first, ip, n);
		assert_decodes_to(d, DLT_NFLOG, b, m, &p, "198.51.100.10");
		assert_int_equal(p.fate, EF_FATE_HELD);
		/* a prefix that merely starts like one, or a rule's own prefix */
		m = nflog_frame(b, "helder", 7, first, ip, n);
		assert_decodes_to(d, DLT_NFLOG, b, m, &p, "198.51.100.10");
		assert_int_equal(p.fate, EF_FATE_UNKNOWN);
		m = nflog_frame(b, "pass", 5, first, ip, n);
		assert_decodes_to(d, DLT_NFLOG, b, m, &p, "198.51.100.10");
		assert_int_equal(p.fate, EF_FATE_UNKNOWN);
		m = nflog_frame(b, "", 1, first, ip, n);
		assert_decodes_to(d, DLT_NFLOG, b, m, &p, "198.51.100.10");
		assert_int_equal(p.fate, EF_FATE_UNKNOWN);
	}
	size_t m = nflog_frame(b, NULL, 0, false, ip, n);
	assert_decodes_to(d, DLT_NFLOG, b, m, &p, "198.51.100.10");
	assert_int_equal(p.fate, EF_FATE_UNKNOWN);
	/* the decoder starts every frame afresh: a raw packet after a held copy */
	m = nflog_frame(b, "held", 5, true, ip, n);
	assert_decodes_to(d, DLT_NFLOG, b, m, &p, "198.51.100.10");
	assert_int_equal(decode(d, DLT_RAW, ip, n, &p), DECODE_OK);
	assert_int_equal(p.fate, EF_FATE_UNKNOWN);

	/* A malformed TLV after the payload leaves the payload readable (as
	 * before); one before it skips the frame.  No prefix of either frame
	 * reads past its end. */
	m = nflog_frame(b, "held", 5, false, ip, n);
	uint16_t bad = 400;
	memcpy(b + m - 12, &bad, 2); /* the prefix TLV claims more than the frame has */
	assert_decodes_to(d, DLT_NFLOG, b, m, &p, "198.51.100.10");
	assert_int_equal(p.fate, EF_FATE_UNKNOWN);
	m = nflog_frame(b, "passed", 7, true, ip, n);
	memcpy(b + 4 + 8, &bad, 2);
	assert_int_equal(decode(d, DLT_NFLOG, b, m, &p), DECODE_SKIP);
	for (int first = 0; first < 2; first++) {
		m = nflog_frame(b, "passed", 7, first, ip, n);
		for (size_t len = 0; len <= m; len++) {
			uint8_t *copy = malloc(len ? len : 1);
			memcpy(copy, b, len);
			enum decode_result r = decode(d, DLT_NFLOG, copy, len, &p);
			assert_true(r == DECODE_SKIP || r == DECODE_OK);
			free(copy);
		}
	}
	decoder_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ethernet_with_stacked_vlans_reaches_ip),
		cmocka_unit_test(other_link_types_reach_ip),
		cmocka_unit_test(ipv6_extension_headers_are_skipped),
		cmocka_unit_test(ipv6_many_extension_headers_reach_the_transport),
		cmocka_unit_test(tiny_fragments_are_reassembled),
		cmocka_unit_test(overlapping_fragments_keep_the_first_copy),
		cmocka_unit_test(tunnels_yield_the_inner_packet),
		cmocka_unit_test(tunnel_ends_are_kept_and_deep_nesting_is_unexamined),
		cmocka_unit_test(truncated_frames_are_skipped_safely),
		cmocka_unit_test(missing_and_bad_files_are_reported),
		cmocka_unit_test(truncated_capture_keeps_what_was_read),
		cmocka_unit_test(mpls_label_stacks_reach_the_ip_packet),
		cmocka_unit_test(mpls_ethernet_pseudowires_are_peeled),
		cmocka_unit_test(mpls_payloads_read_two_ways_are_not_guessed),
		cmocka_unit_test(udp_tunnels_yield_the_inner_packet),
		cmocka_unit_test(frames_that_are_not_ip_are_told_apart),
		cmocka_unit_test(pcapng_interfaces_keep_their_own_link_type_snaplen_and_clock),
		cmocka_unit_test(pcapng_damaged_blocks_stop_the_file_with_their_offset),
		cmocka_unit_test(routing_header_with_segments_left_goes_to_its_last_segment),
		cmocka_unit_test(ip_options_are_counted_and_only_padding_carries_nothing),
		cmocka_unit_test(tcp_options_of_known_kinds_prove_nothing_out_of_shape),
		cmocka_unit_test(fragments_that_never_complete_are_handed_on_as_unexamined),
		cmocka_unit_test(tunnel_header_fields_are_counted_unless_the_format_fixes_them),
		cmocka_unit_test(bytes_after_a_tunnelled_packet_count_but_a_frames_padding_does_not),
		cmocka_unit_test(nflog_overrun_on_an_empty_socket_is_nothing_ready_not_an_error),
		cmocka_unit_test(nflog_prefix_says_whether_the_gate_passed_or_held_the_copy),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	if (!failed && skipped_because) {
		fprintf(stderr, "skipped: %s\n", skipped_because);
		return 77;
	}
	return failed;
}
