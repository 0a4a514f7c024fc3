/* Red-team round 3 generator: reuses tests/gen_evasion.c's helpers.
 * cc -O1 -I tests -o build/gen_red3 tests/redteam3/gen_red3.c -lpcap ; build/gen_red3 DIR */
#define main gen_evasion_main
#include "../gen_evasion.c"
#undef main

#define CLI6 "fd00::2"
#define SRV6 "2001:db8:86::10"

/* A TCP segment with `optlen' bytes of options (multiple of 4, <= 40). */
static void tcp_opt_at(struct conn *c, int dir, uint32_t seq, uint8_t flags, const uint8_t *opt, uint32_t optlen,
		       const uint8_t *data, uint32_t len)
{
	static uint8_t l4[MAX_PKT], ip[MAX_PKT];
	const uint8_t *src = dir ? c->srv : c->cli, *dst = dir ? c->cli : c->srv;
	uint32_t hl = 20 + optlen, total = hl + len;
	memset(l4, 0, hl);
	put16(l4, dir ? c->sport : c->cport);
	put16(l4 + 2, dir ? c->cport : c->sport);
	put32(l4 + 4, seq);
	put32(l4 + 8, (flags & TH_ACK) ? c->seq[!dir] : 0);
	l4[12] = (uint8_t)((hl / 4) << 4);
	l4[13] = flags;
	put16(l4 + 14, 64240);
	memcpy(l4 + 20, opt, optlen);
	if (len)
		memcpy(l4 + hl, data, len);
	uint32_t sum = csum_add(0, src, 4);
	sum = csum_add(sum, dst, 4);
	sum += 6 + total;
	put16(l4 + 16, csum_fold(csum_add(sum, l4, total)));
	uint32_t h = ipv4_header(ip, src, dst, 6, c->ip_id++, total, 0, false);
	memcpy(ip + h, l4, total);
	emit_ip(c, dir, ip, h + total);
}

/* 1. Text in an experimental TCP option (kind 253) of every segment of an
 * encrypted TLS 1.2 connection: data records and bare ACKs. */
static void case_tcp_option_text(struct out *o)
{
	struct conn c;
	uint8_t opt[40], rnd[200], buf[300], text[4000];
	conn_init(&c, o, 4, CLIENT, SERVER, 41001, 443);
	tls12_full_handshake(&c);
	fill_text(text, sizeof(text));
	for (int i = 0; i < 100; i++) {
		opt[0] = 253;
		opt[1] = 40;
		memcpy(opt + 2, text + (i * 38) % 3800, 38);
		if (i % 2 == 0) {
			rnd_fill(rnd, sizeof(rnd));
			uint32_t n = tls_record(buf, 23, rnd, sizeof(rnd));
			tcp_opt_at(&c, 0, c.seq[0], TH_ACK | TH_PSH, opt, 40, buf, n);
			c.seq[0] += n;
		} else {
			tcp_opt_at(&c, 0, c.seq[0], TH_ACK, opt, 40, NULL, 0);
		}
		tcp_ack(&c, 1);
	}
	tcp_close(&c);
}

/* 2. WireGuard proven, then transport datagrams whose IP payload goes on
 * past the UDP length: 600 bytes of text in the UDP "surplus area". */
static void case_udp_surplus_text(struct out *o)
{
	struct conn c;
	static uint8_t u[2000], ip[2100], d[1100];
	conn_init(&c, o, 4, CLIENT, SERVER, 41002, 51820);
	wireguard_session(&c, false);
	for (uint32_t ctr = 6; ctr < 40; ctr++) {
		uint32_t n = 256;
		memset(d, 0, 16);
		d[0] = 4;
		memcpy(d + 4, "\x88\x77\x66\x55", 4);
		d[8] = (uint8_t)ctr;
		rnd_fill(d + 16, n - 16);
		put16(u, c.cport);
		put16(u + 2, c.sport);
		put16(u + 4, (uint16_t)(8 + n));
		put16(u + 6, 0);
		memcpy(u + 8, d, n);
		fill_text(u + 8 + n, 600);
		uint32_t h = ipv4_header(ip, c.cli, c.srv, 17, c.ip_id++, 8 + n + 600, 0, false);
		memcpy(ip + h, u, 8 + n + 600);
		emit_ip(&c, 0, ip, h + 8 + n + 600);
	}
}

/* 3. TLS 1.2 proven, then the client's records in IPv4 AH (proto 51) whose
 * ICV field (1000 bytes) is text. */
static void case_ah_icv_text(struct out *o)
{
	struct conn c;
	static uint8_t ah[2000], l4[2000], ip[2100];
	uint8_t rnd[200], buf[300];
	conn_init(&c, o, 4, CLIENT, SERVER, 41003, 443);
	tls12_full_handshake(&c);
	for (int i = 0; i < 20; i++) {
		rnd_fill(rnd, sizeof(rnd));
		uint32_t n = tls_record(buf, 23, rnd, sizeof(rnd));
		uint32_t tl = build_tcp(&c, 0, l4, c.seq[0], TH_ACK | TH_PSH, buf, n);
		c.seq[0] += n;
		uint32_t icv = 1000, ahl = 12 + icv;
		ah[0] = 6;
		ah[1] = (uint8_t)(ahl / 4 - 2);
		ah[2] = ah[3] = 0;
		put32(ah + 4, 0x1000);
		put32(ah + 8, (uint32_t)i + 1);
		fill_text(ah + 12, icv);
		memcpy(ah + ahl, l4, tl);
		uint32_t h = ipv4_header(ip, c.cli, c.srv, 51, c.ip_id++, ahl + tl, 0, false);
		memcpy(ip + h, ah, ahl + tl);
		emit_ip(&c, 0, ip, h + ahl + tl);
		tcp_ack(&c, 1);
	}
	tcp_close(&c);
}

/* 4. TLS 1.2 proven, then AH (12-byte random ICV) around TCP segments of
 * plain text in the same connection. */
static void case_ah_tcp_text(struct out *o)
{
	struct conn c;
	static uint8_t ah[2000], l4[2000], ip[2100];
	uint8_t text[1000];
	conn_init(&c, o, 4, CLIENT, SERVER, 41004, 443);
	tls12_full_handshake(&c);
	for (int i = 0; i < 8; i++) {
		fill_text(text, sizeof(text));
		uint32_t tl = build_tcp(&c, 0, l4, c.seq[0], TH_ACK | TH_PSH, text, sizeof(text));
		c.seq[0] += sizeof(text);
		ah[0] = 6; ah[1] = 4; ah[2] = ah[3] = 0;
		put32(ah + 4, 0x1000);
		put32(ah + 8, (uint32_t)i + 1);
		rnd_fill(ah + 12, 12);
		memcpy(ah + 24, l4, tl);
		uint32_t h = ipv4_header(ip, c.cli, c.srv, 51, c.ip_id++, 24 + tl, 0, false);
		memcpy(ip + h, ah, 24 + tl);
		emit_ip(&c, 0, ip, h + 24 + tl);
		tcp_ack(&c, 1);
	}
	tcp_close(&c);
}

static void ip6_raw(struct conn *c, int dir, uint8_t nh, const uint8_t *body, uint32_t len)
{
	static uint8_t ip[MAX_PKT];
	memset(ip, 0, 40);
	ip[0] = 0x60;
	put16(ip + 4, (uint16_t)len);
	ip[6] = nh;
	ip[7] = 64;
	memcpy(ip + 8, dir ? c->srv : c->cli, 16);
	memcpy(ip + 24, dir ? c->cli : c->srv, 16);
	memcpy(ip + 40, body, len);
	emit_ip(c, dir, ip, 40 + len);
}

/* 5. IPv6 packets to CN with next header 59 (No Next Header) followed by
 * 1200 bytes of text, which RFC 8200 says routers forward untouched. */
static void case_v6_nonext_text(struct out *o)
{
	struct conn c;
	uint8_t text[1200];
	conn_init(&c, o, 6, CLI6, SRV6, 0, 0);
	fill_text(text, sizeof(text));
	for (int i = 0; i < 10; i++)
		ip6_raw(&c, 0, 59, text, sizeof(text));
}

/* 6. IPv6 packets to CN whose next header is Mobility (135), HIP (139),
 * Shim6 (140) or experimental (253), each with a header-shaped start and
 * text. */
static void case_v6_other_ext_text(struct out *o)
{
	struct conn c;
	uint8_t b[1208];
	static const uint8_t nhs[] = {135, 139, 140, 253};
	conn_init(&c, o, 6, CLI6, SRV6, 0, 0);
	for (int k = 0; k < 4; k++)
		for (int i = 0; i < 5; i++) {
			b[0] = 59;               /* payload proto: none */
			b[1] = (uint8_t)(1208 / 8 - 1);
			b[2] = 0; b[3] = 0;
			fill_text(b + 4, sizeof(b) - 4);
			ip6_raw(&c, 0, nhs[k], b, sizeof(b));
		}
}

/* 7. ICMP errors (destination unreachable) from the client to CN quoting a
 * packet of the TLS flow, with 1400 bytes of text after the quoted TCP
 * header; and the same quoting nothing that exists. */
static void case_icmp_error_text(struct out *o)
{
	struct conn c;
	uint8_t b[1500];
	conn_init(&c, o, 4, CLIENT, SERVER, 41007, 443);
	tls12_full_handshake(&c);
	for (int i = 0; i < 10; i++) {
		memset(b, 0, 8);
		b[0] = 3; b[1] = 3;
		/* the quoted packet: server -> client TCP 443 -> 41007 */
		uint8_t *q = b + 8;
		ipv4_header(q, c.srv, c.cli, 6, 1, 20 + 1400, 0, false);
		put16(q + 20, 443); put16(q + 22, c.cport);
		put32(q + 24, c.seq[1]);
		fill_text(q + 28, 1400);
		put16(b + 2, csum_fold(csum_add(0, b, 8 + 20 + 8 + 1400)));
		ip_send(&c, 0, 1, b, 8 + 20 + 8 + 1400);
		tcp_send(&c, 1, "\x17\x03\x03\x00\x00", 5);
	}
	tcp_close(&c);
}

/* 8. The same from a client with no other flow: ICMP port unreachable
 * quoting an imaginary UDP datagram from the CN server. */
static void case_icmp_error_alone(struct out *o)
{
	struct conn c;
	uint8_t b[1500];
	conn_init(&c, o, 4, CLIENT, SERVER, 41008, 53);
	for (int i = 0; i < 10; i++) {
		memset(b, 0, 8);
		b[0] = 3; b[1] = 3;
		uint8_t *q = b + 8;
		ipv4_header(q, c.srv, c.cli, 17, 1, 8 + 1400, 0, false);
		put16(q + 20, 53); put16(q + 22, 41008); put16(q + 24, 8 + 1400);
		fill_text(q + 28, 1400);
		put16(b + 2, csum_fold(csum_add(0, b, 1436)));
		ip_send(&c, 0, 1, b, 1436);
	}
}

/* Raw Ethernet frames with an arbitrary shim before an IPv4 packet. */
static void emit_shim(struct conn *c, int dir, const uint8_t *shim, uint32_t sl, const uint8_t *ip, uint32_t ipl)
{
	static uint8_t f[MAX_PKT + 64];
	memcpy(f, dir ? mac_srv : mac_cli, 6);
	memcpy(f + 6, dir ? mac_cli : mac_srv, 6);
	memcpy(f + 12, shim, sl);
	memcpy(f + 12 + sl, ip, ipl);
	out_write(c->o, f, 12 + sl + ipl);
}

enum shim { SH_PPPOE, SH_SNAP, SH_9100 };
static enum shim cur_shim;

static void shim_tcp(struct conn *c, int dir, uint32_t seq, uint8_t flags, const void *data, uint32_t len)
{
	static uint8_t l4[MAX_PKT], ip[MAX_PKT];
	uint8_t s[16];
	uint32_t sl = 0;
	uint32_t n = build_tcp(c, dir, l4, seq, flags, data, len);
	uint32_t h = ipv4_header(ip, dir ? c->srv : c->cli, dir ? c->cli : c->srv, 6, c->ip_id++, n, 0, false);
	memcpy(ip + h, l4, n);
	switch (cur_shim) {
	case SH_PPPOE:
		put16(s, 0x8864); s[2] = 0x11; s[3] = 0; put16(s + 4, 0x1234);
		put16(s + 6, (uint16_t)(2 + h + n)); put16(s + 8, 0x0021); sl = 10; break;
	case SH_SNAP:
		put16(s, (uint16_t)(8 + h + n)); s[2] = 0xaa; s[3] = 0xaa; s[4] = 3; s[5] = s[6] = s[7] = 0;
		put16(s + 8, 0x0800); sl = 10; break;
	case SH_9100:
		put16(s, 0x9100); put16(s + 2, 100); put16(s + 4, 0x0800); sl = 6; break;
	}
	emit_shim(c, dir, s, sl, ip, h + n);
}

static void shim_http(struct out *o, enum shim sh, uint16_t cport)
{
	struct conn c;
	cur_shim = sh;
	conn_init(&c, o, 4, CLIENT, SERVER, cport, 80);
	shim_tcp(&c, 0, c.seq[0]++, TH_SYN, NULL, 0);
	shim_tcp(&c, 1, c.seq[1]++, TH_SYN | TH_ACK, NULL, 0);
	shim_tcp(&c, 0, c.seq[0], TH_ACK, NULL, 0);
	shim_tcp(&c, 0, c.seq[0], TH_ACK | TH_PSH, http_request, strlen(http_request));
	c.seq[0] += strlen(http_request);
	shim_tcp(&c, 1, c.seq[1], TH_ACK | TH_PSH, http_response, strlen(http_response));
	c.seq[1] += strlen(http_response);
	shim_tcp(&c, 0, c.seq[0]++, TH_FIN | TH_ACK, NULL, 0);
	shim_tcp(&c, 1, c.seq[1]++, TH_FIN | TH_ACK, NULL, 0);
}
static void case_pppoe_http(struct out *o) { shim_http(o, SH_PPPOE, 41009); }
static void case_snap_http(struct out *o) { shim_http(o, SH_SNAP, 41010); }
static void case_vlan9100_http(struct out *o) { shim_http(o, SH_9100, 41011); }

/* 9. WireGuard proven, then 300 cookie replies (type 3, 64 bytes) from the
 * client whose nonce and cookie fields are text. */
static void case_wg_cookie_text(struct out *o)
{
	struct conn c;
	uint8_t d[64], text[4000];
	conn_init(&c, o, 4, CLIENT, SERVER, 41012, 51820);
	wireguard_session(&c, false);
	fill_text(text, sizeof(text));
	for (int i = 0; i < 300; i++) {
		memset(d, 0, 8);
		d[0] = 3;
		put32(d + 4, 0x55667788);
		memcpy(d + 8, text + (i * 56) % 3900, 56);
		udp_send(&c, 0, d, 64);
	}
}

/* 10. DTLS proven (epoch 1 record), then STUN binding requests (WebRTC
 * consent checks share the 5-tuple) with USERNAME and SOFTWARE text, and
 * RTP packets (0x80, SRTP's demux range) with text. */
static void dtls_proven(struct conn *c)
{
	uint8_t buf[300];
	dtls_hello_pair(c);
	for (int i = 0; i < 3; i++) {
		buf[0] = 23; buf[1] = 0xfe; buf[2] = 0xfd;
		put16(buf + 3, 1);
		memset(buf + 5, 0, 6);
		buf[10] = (uint8_t)i;
		put16(buf + 11, 200);
		rnd_fill(buf + 13, 200);
		udp_send(c, 0, buf, 213);
		rnd_fill(buf + 13, 200);
		udp_send(c, 1, buf, 213);
	}
}
static void case_dtls_then_stun_text(struct out *o)
{
	struct conn c;
	uint8_t d[1300];
	conn_init(&c, o, 4, CLIENT, SERVER, 41013, 3478);
	dtls_proven(&c);
	for (int i = 0; i < 40; i++) {
		uint32_t alen = 1200;
		put16(d, 0x0001); put16(d + 2, (uint16_t)(4 + alen));
		put32(d + 4, 0x2112A442); rnd_fill(d + 8, 12);
		put16(d + 20, 0x8022); put16(d + 22, (uint16_t)alen); /* SOFTWARE */
		fill_text(d + 24, alen);
		udp_send(&c, 0, d, 24 + alen);
	}
}
static void case_dtls_then_rtp_text(struct out *o)
{
	struct conn c;
	uint8_t d[1300];
	conn_init(&c, o, 4, CLIENT, SERVER, 41014, 3479);
	dtls_proven(&c);
	for (int i = 0; i < 40; i++) {
		d[0] = 0x80; d[1] = 96; put16(d + 2, (uint16_t)i); put32(d + 4, (uint32_t)i * 160);
		put32(d + 8, 0xdeadbeef);
		fill_text(d + 12, 1000);
		udp_send(&c, 0, d, 1012);
	}
}

/* 11. TLS ClientHello extensions the README says have no size bound yet:
 * readable text (not diluted) in pre_shared_key identities, session_ticket,
 * ECH, padding. */
static void hello_ext(struct out *o, uint16_t cport, uint16_t type, uint32_t len)
{
	static uint8_t hello[20000], ext[16000];
	struct conn c;
	uint32_t n = 0;
	if (type == 41) { /* identities<7..2^16-1>, binders */
		uint32_t idl = len;
		put16(ext, (uint16_t)(idl + 2 + 4));
		put16(ext + 2, (uint16_t)idl);
		fill_text(ext + 4, idl);
		put32(ext + 4 + idl, 0);
		n = 2 + 2 + idl + 4;
		put16(ext + n, 33); ext[n + 2] = 32; rnd_fill(ext + n + 3, 32); n += 35;
	} else if (type == 0xfe0d) { /* outer ECH: type 0, kdf, aead, config id, enc, payload */
		ext[0] = 0; put16(ext + 1, 1); put16(ext + 3, 1); ext[5] = 7;
		put16(ext + 6, 32); rnd_fill(ext + 8, 32);
		put16(ext + 40, (uint16_t)len); fill_text(ext + 42, len);
		n = 42 + len;
	} else {
		fill_text(ext, len);
		n = len;
	}
	conn_init(&c, o, 4, CLIENT, SERVER, cport, 443);
	tls_after_hello(&c, hello, tls_client_hello_with(hello, type, ext, n));
}
static void case_hello_psk_text(struct out *o) { hello_ext(o, 41015, 41, 1500); }
static void case_hello_psk_text_big(struct out *o) { hello_ext(o, 41016, 41, 9000); }
static void case_hello_ticket_text(struct out *o) { hello_ext(o, 41017, 35, 1500); }
static void case_hello_ticket_text_big(struct out *o) { hello_ext(o, 41018, 35, 9000); }
static void case_hello_ech_text(struct out *o) { hello_ext(o, 41019, 0xfe0d, 1500); }
static void case_hello_ech_text_big(struct out *o) { hello_ext(o, 41020, 0xfe0d, 9000); }
static void case_hello_padding_text(struct out *o) { hello_ext(o, 41021, 21, 1500); }


/* 12. UDP datagrams to CN whose UDP length is 8 (no payload) while the IP
 * packet carries 1200 bytes of text after the UDP header. */
static void udp_surplus_only(struct conn *c, uint32_t textlen, int count)
{
	static uint8_t u[2000], ip[2100];
	for (int i = 0; i < count; i++) {
		put16(u, c->cport); put16(u + 2, c->sport); put16(u + 4, 8); put16(u + 6, 0);
		fill_text(u + 8, textlen);
		uint32_t h = ipv4_header(ip, c->cli, c->srv, 17, c->ip_id++, 8 + textlen, 0, false);
		memcpy(ip + h, u, 8 + textlen);
		emit_ip(c, 0, ip, h + 8 + textlen);
	}
}
static void case_udp_surplus_only(struct out *o)
{
	struct conn c;
	conn_init(&c, o, 4, CLIENT, SERVER, 41030, 9999);
	udp_surplus_only(&c, 1200, 10);
}

/* 13. TLS proven, then segments of text at the next sequence number with a
 * wrong TCP checksum (the server's stack drops them, a raw socket reads
 * them), each followed by the real random record at the same place. */
static void case_tcp_badsum_text(struct out *o)
{
	struct conn c;
	static uint8_t l4[4000], ip[4100];
	uint8_t text[1000], rnd[1000], buf[1100];
	conn_init(&c, o, 4, CLIENT, SERVER, 41031, 443);
	tls12_full_handshake(&c);
	for (int i = 0; i < 10; i++) {
		fill_text(text, sizeof(text));
		uint32_t n = build_tcp(&c, 0, l4, c.seq[0], TH_ACK | TH_PSH, text, sizeof(text));
		l4[16] ^= 0x55; /* break the checksum */
		uint32_t h = ipv4_header(ip, c.cli, c.srv, 6, c.ip_id++, n, 0, false);
		memcpy(ip + h, l4, n);
		emit_ip(&c, 0, ip, h + n);
		rnd_fill(rnd, 995);
		tcp_send(&c, 0, buf, tls_record(buf, 23, rnd, 995));
		tcp_ack(&c, 1);
	}
	tcp_close(&c);
}

/* 14. The same on UDP: WireGuard proven, then datagrams of text with a
 * wrong UDP checksum. */
static void case_udp_badsum_text(struct out *o)
{
	struct conn c;
	static uint8_t u[2000], ip[2100];
	conn_init(&c, o, 4, CLIENT, SERVER, 41032, 51820);
	wireguard_session(&c, false);
	for (int i = 0; i < 10; i++) {
		put16(u, c.cport); put16(u + 2, c.sport); put16(u + 4, 8 + 1000); put16(u + 6, 0x1234);
		fill_text(u + 8, 1000);
		uint32_t h = ipv4_header(ip, c.cli, c.srv, 17, c.ip_id++, 1008, 0, false);
		memcpy(ip + h, u, 1008);
		emit_ip(&c, 0, ip, h + 1008);
	}
}

/* 15. IPv6: a small Destination Options header (PadN) and a Fragment
 * header, each followed by No Next Header and text. */
static void case_v6_ext_then_nonext(struct out *o)
{
	struct conn c;
	uint8_t b[1300];
	conn_init(&c, o, 6, CLI6, SRV6, 0, 0);
	for (int i = 0; i < 5; i++) {
		b[0] = 59; b[1] = 0; b[2] = 1; b[3] = 4; memset(b + 4, 0, 4); /* PadN */
		fill_text(b + 8, 1200);
		ip6_raw(&c, 0, 60, b, 1208);
		b[0] = 59; b[1] = 0; put16(b + 2, 0); put32(b + 4, 0x100 + i); /* atomic fragment */
		fill_text(b + 8, 1200);
		ip6_raw(&c, 0, 44, b, 1208);
		b[0] = 59; b[1] = 0; b[2] = 1; b[3] = 4; memset(b + 4, 0, 4);
		fill_text(b + 8, 1200);
		ip6_raw(&c, 0, 0, b, 1208); /* hop-by-hop */
	}
}

/* 16. IPv4 packets to CN with protocol 59 and text. */
static void case_v4_proto59_text(struct out *o)
{
	struct conn c;
	uint8_t text[1200];
	conn_init(&c, o, 4, CLIENT, SERVER, 0, 0);
	fill_text(text, sizeof(text));
	for (int i = 0; i < 10; i++)
		ip_send(&c, 0, 59, text, sizeof(text));
}

/* 17. TLS proven over IPv6, then the client's random records, each
 * followed by an IPv6 packet of the same pair, Dst Options -> No Next
 * Header, with text: mixed into an allowed connection's address pair. */
static void case_v6_tls_then_nonext(struct out *o)
{
	struct conn c;
	uint8_t text[1200], rnd[500], buf[600];
	conn_init(&c, o, 6, CLI6, SRV6, 41033, 443);
	tls12_full_handshake(&c);
	fill_text(text, sizeof(text));
	for (int i = 0; i < 10; i++) {
		rnd_fill(rnd, sizeof(rnd));
		tcp_send(&c, 0, buf, tls_record(buf, 23, rnd, sizeof(rnd)));
		ip6_raw(&c, 0, 59, text, sizeof(text));
		tcp_ack(&c, 1);
	}
	tcp_close(&c);
}

/* 18/19. Base captures for tests/redteam3/tunnel_opts.py: an encrypted TLS
 * connection to an inside host, through a Geneve or GTP-U tunnel whose
 * outer far end is the CN server. */
static void tunnel_tls(struct out *o, enum wrap w, uint16_t cport)
{
	struct conn c;
	uint8_t rnd[600], buf[700];
	conn_init(&c, o, 4, CLIENT, "10.9.0.3", cport, 443);
	c.wrap = w;
	c.tun_given = true;
	inet_pton(AF_INET, CLIENT, c.tun_a);
	inet_pton(AF_INET, SERVER, c.tun_b);
	tls12_full_handshake(&c);
	for (int i = 0; i < 20; i++) {
		rnd_fill(rnd, sizeof(rnd));
		tcp_send(&c, 0, buf, tls_record(buf, 23, rnd, sizeof(rnd)));
		tcp_ack(&c, 1);
	}
	tcp_close(&c);
}
static void case_geneve_base(struct out *o) { tunnel_tls(o, WRAP_GENEVE, 41040); }
static void case_gtpu_base(struct out *o) { tunnel_tls(o, WRAP_GTPU, 41041); }
static void case_gre_base(struct out *o) { tunnel_tls(o, WRAP_GRE, 41042); }

/* Base for tests/redteam3/v6_rh.py: HTTP over IPv6 to 2001:db8:1::1, an
 * address nothing places. */
static void case_v6_http_base(struct out *o)
{
	struct conn c;
	conn_init(&c, o, 6, CLI6, "2001:db8:1::1", 41050, 80);
	http_exchange(&c);
}
/* Control for hello-padding-text: the same 1500 bytes of text in an
 * extension nobody knows (0x4242). */
static void case_hello_unknown_ext_text(struct out *o) { hello_ext(o, 41022, 0x4242, 1500); }

/* SSH to CN (or, inside_server, from CN to an inside SSH server) with an
 * extra: 1 = pre-banner lines of text from the server (RFC 4253 4.2),
 * 2 = SSH_MSG_IGNORE / 3 = SSH_MSG_DEBUG packets of text from the client
 * before NEWKEYS, 4 = text in the padding of the client's KEX packets. */
static void ssh_variant(struct out *o, uint16_t cport, int extra, bool inside_server, uint32_t amount)
{
	static uint8_t buf[40000], payload[16000];
	static const char kex[] = "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256";
	static const uint8_t newkeys = 21;
	struct conn c;
	uint32_t n;
	/* inside_server: dir 1 is the inside end, so the "client" of the
	 * conversation (dir 0) is the CN host. */
	int C = 0, S = 1;
	if (inside_server)
		conn_init(&c, o, 4, SERVER, CLIENT, cport, 22);
	else
		conn_init(&c, o, 4, CLIENT, SERVER, cport, 22);
	tcp_handshake(&c);
	if (extra == 1) {
		uint8_t line[202];
		for (uint32_t k = 0; k < amount / 200; k++) {
			fill_text(line, 198);
			for (int j = 0; j < 198; j++) if (line[j] == '\r' || line[j] == '\n') line[j] = ' ';
			if (!memcmp(line, "SSH-", 4)) line[0] = 'X';
			line[198] = '\r'; line[199] = '\n';
			tcp_send(&c, S, line, 200);
		}
	}
	tcp_send_str(&c, S, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
	tcp_send_str(&c, C, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
	n = ssh_kexinit(payload, kex, sizeof(kex) - 1);
	uint32_t pn = ssh_packet(buf, payload, n);
	if (extra == 4) { /* 255 - ... bytes of padding, text */
		uint32_t pad = 255 - ((5 + n + 255) % 8 ? 0 : 0);
		pad = 255; while ((5 + n + pad) % 8) pad--;
		put32(buf, 1 + n + pad); buf[4] = (uint8_t)pad; memcpy(buf + 5, payload, n);
		fill_text(buf + 5 + n, pad); pn = 5 + n + pad;
	}
	tcp_send(&c, C, buf, pn);
	if (extra == 2 || extra == 3) {
		for (uint32_t k = 0; k < amount / 1000; k++) {
			uint32_t m = 0;
			if (extra == 2) { payload[0] = 2; put32(payload + 1, 1000); fill_text(payload + 5, 1000); m = 1005; }
			else { payload[0] = 4; payload[1] = 1; put32(payload + 2, 1000); fill_text(payload + 6, 1000); put32(payload + 1006, 0); m = 1010; }
			tcp_send(&c, C, buf, ssh_packet(buf, payload, m));
		}
	}
	n = ssh_kexinit(payload, kex, sizeof(kex) - 1);
	tcp_send(&c, S, buf, ssh_packet(buf, payload, n));
	payload[0] = 30;
	put32(payload + 1, 32);
	rnd_fill(payload + 5, 32);
	pn = ssh_packet(buf, payload, 37);
	if (extra == 4) { uint32_t pad = 255; while ((5 + 37 + pad) % 8) pad--; put32(buf, 1 + 37 + pad); buf[4] = (uint8_t)pad; memcpy(buf + 5, payload, 37); fill_text(buf + 42, pad); pn = 42 + pad; }
	tcp_send(&c, C, buf, pn);
	payload[0] = 31;
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
	tcp_send(&c, S, buf, n);
	pn = ssh_packet(buf, &newkeys, 1);
	if (extra == 4) { uint32_t pad = 255; while ((5 + 1 + pad) % 8) pad--; put32(buf, 1 + 1 + pad); buf[4] = (uint8_t)pad; buf[5] = 21; fill_text(buf + 6, pad); pn = 6 + pad; }
	tcp_send(&c, C, buf, pn);
	for (int i = 0; i < 4; i++) {
		rnd_fill(buf, 500);
		tcp_send(&c, C, buf, 500);
		rnd_fill(buf, 200);
		tcp_send(&c, S, buf, 200);
	}
	tcp_close(&c);
}
static void case_ssh_prebanner_inside_server(struct out *o) { ssh_variant(o, 41060, 1, true, 6000); }
static void case_ssh_ignore_text(struct out *o) { ssh_variant(o, 41061, 2, false, 3000); }
static void case_ssh_debug_text(struct out *o) { ssh_variant(o, 41062, 3, false, 3000); }
static void case_ssh_kex_padding_text(struct out *o) { ssh_variant(o, 41063, 4, false, 0); }
static void case_ssh_control(struct out *o) { ssh_variant(o, 41064, 0, false, 0); }
static void case_ssh_control_inside_server(struct out *o) { ssh_variant(o, 41065, 0, true, 0); }

/* 20. No payload at all: 20 connections to CN whose client segments (SYN,
 * ACKs, FIN) each carry 38 bytes of text in a kind-253 TCP option. */
static void case_tcp_option_only(struct out *o)
{
	uint8_t opt[40], text[4000];
	fill_text(text, sizeof(text));
	int k = 0;
	for (int i = 0; i < 20; i++) {
		struct conn c;
		conn_init(&c, o, 4, CLIENT, SERVER, (uint16_t)(41100 + i), 443);
		for (int j = 0; j < 6; j++, k++) {
			opt[0] = 253; opt[1] = 40;
			memcpy(opt + 2, text + (k * 38) % 3800, 38);
			if (j == 0) {
				tcp_opt_at(&c, 0, c.seq[0]++, TH_SYN, opt, 40, NULL, 0);
				tcp_at(&c, 1, c.seq[1]++, TH_SYN | TH_ACK, NULL, 0);
			} else if (j == 5) {
				tcp_opt_at(&c, 0, c.seq[0]++, TH_FIN | TH_ACK, opt, 40, NULL, 0);
				tcp_at(&c, 1, c.seq[1]++, TH_FIN | TH_ACK, NULL, 0);
				tcp_ack(&c, 0);
			} else {
				tcp_opt_at(&c, 0, c.seq[0], TH_ACK, opt, 40, NULL, 0);
			}
		}
	}
}

/* 21. Packets to CN that a router forwards but a strict decoder calls
 * malformed: TCP with a data offset of 4 (under the minimum), UDP whose
 * length field says more than the packet holds; each with 1200 bytes of
 * text. */
static void case_malformed_l4_text(struct out *o)
{
	struct conn c;
	uint8_t b[1300];
	conn_init(&c, o, 4, CLIENT, SERVER, 41070, 80);
	for (int i = 0; i < 5; i++) {
		memset(b, 0, 20);
		put16(b, 41070); put16(b + 2, 80); put32(b + 4, 1000 + i * 1200);
		b[12] = 4 << 4; b[13] = TH_ACK | TH_PSH; put16(b + 14, 64240);
		fill_text(b + 20, 1200);
		ip_send(&c, 0, 6, b, 1220);
		put16(b, 41071); put16(b + 2, 53); put16(b + 4, 65000); put16(b + 6, 0);
		fill_text(b + 8, 1200);
		ip_send(&c, 0, 17, b, 1208);
	}
}

/* 22. Only the TCP half of 21: five data-offset-4 segments of text to CN,
 * nothing else. */
static void case_tcp_doff4_text(struct out *o)
{
	struct conn c;
	uint8_t b[1300];
	conn_init(&c, o, 4, CLIENT, SERVER, 41072, 80);
	for (int i = 0; i < 5; i++) {
		memset(b, 0, 20);
		put16(b, 41072); put16(b + 2, 80); put32(b + 4, 1000 + i * 1200);
		b[12] = 4 << 4; b[13] = TH_ACK | TH_PSH; put16(b + 14, 64240);
		fill_text(b + 20, 1200);
		ip_send(&c, 0, 6, b, 1220);
	}
}

/* 23. TLS proven over IPv6, then each client record in a packet with a
 * Destination Options header of PadN options (4 x 254 bytes) whose
 * "zero" bytes are text: padding by type, not by content. */
static void case_v6_padn_text(struct out *o)
{
	static uint8_t l4[4000], ip[6000];
	struct conn c;
	uint8_t rnd[400], buf[500];
	conn_init(&c, o, 6, CLI6, SRV6, 41080, 443);
	tls12_full_handshake(&c);
	for (int i = 0; i < 10; i++) {
		rnd_fill(rnd, sizeof(rnd));
		uint32_t len = tls_record(buf, 23, rnd, sizeof(rnd));
		uint32_t n = build_tcp(&c, 0, l4, c.seq[0], TH_ACK | TH_PSH, buf, len);
		c.seq[0] += len;
		uint8_t *h = ip + 40;
		h[0] = 6; h[1] = 1032 / 8 - 1;
		uint32_t k = 2;
		for (int j = 0; j < 4; j++) { h[k] = 1; h[k + 1] = 254; fill_text(h + k + 2, 254); k += 256; }
		h[k] = 1; h[k + 1] = 4; memset(h + k + 2, 0, 4); k += 6;
		memset(ip, 0, 40);
		ip[0] = 0x60; put16(ip + 4, (uint16_t)(k + n)); ip[6] = 60; ip[7] = 64;
		memcpy(ip + 8, c.cli, 16); memcpy(ip + 24, c.srv, 16);
		memcpy(ip + 40 + k, l4, n);
		emit_ip(&c, 0, ip, 40 + k + n);
		tcp_ack(&c, 1);
	}
	tcp_close(&c);
}

/* 24. TLS proven, then 100 client records whose IPv4 header has 40 bytes of
 * options: End of Option List, then 39 bytes of text ("padding"). */
static void case_v4_eol_text(struct out *o)
{
	static uint8_t l4[4000], ip[4100];
	struct conn c;
	uint8_t rnd[200], buf[300];
	conn_init(&c, o, 4, CLIENT, SERVER, 41081, 443);
	tls12_full_handshake(&c);
	for (int i = 0; i < 100; i++) {
		rnd_fill(rnd, sizeof(rnd));
		uint32_t len = tls_record(buf, 23, rnd, sizeof(rnd));
		uint32_t n = build_tcp(&c, 0, l4, c.seq[0], TH_ACK | TH_PSH, buf, len);
		c.seq[0] += len;
		ipv4_header(ip, c.cli, c.srv, 6, c.ip_id++, n + 40, 0, false);
		ip[0] = 0x4f;
		ip[20] = 0; /* EOL */
		fill_text(ip + 21, 39);
		put16(ip + 10, 0);
		put16(ip + 10, csum_fold(csum_add(0, ip, 60)));
		memcpy(ip + 60, l4, n);
		emit_ip(&c, 0, ip, 60 + n);
		tcp_ack(&c, 1);
	}
	tcp_close(&c);
}

/* 25. GTP-U messages that are not G-PDUs, to a CN peer on 2152: Echo
 * Request (1) with a Private Extension IE of text, End Marker (254) and an
 * unassigned type (100) carrying text. */
static void case_gtpu_nongpdu_text(struct out *o)
{
	struct conn c;
	uint8_t d[1300];
	conn_init(&c, o, 4, CLIENT, SERVER, 2152, 2152);
	static const uint8_t types[] = {1, 254, 100};
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < 5; i++) {
			uint32_t n = 1000;
			d[0] = 0x32; d[1] = types[k]; put16(d + 2, (uint16_t)(4 + 3 + n)); put32(d + 4, k == 1 ? 7 : 0);
			put16(d + 8, (uint16_t)i); d[10] = 0; d[11] = 0;
			d[12] = 255; put16(d + 13, (uint16_t)n); fill_text(d + 15, n);
			udp_send(&c, 0, d, 15 + n);
		}
}

/* 26. UDP datagrams to CN whose UDP length field is 4 (under the header's
 * 8), with 1,200 bytes of text. */
static void case_udp_len4_text(struct out *o)
{
	struct conn c;
	static uint8_t u[2000];
	conn_init(&c, o, 4, CLIENT, SERVER, 41090, 9999);
	for (int i = 0; i < 5; i++) {
		put16(u, 41090); put16(u + 2, 9999); put16(u + 4, 4); put16(u + 6, 0);
		fill_text(u + 8, 1200);
		ip_send(&c, 0, 17, u, 1208);
	}
}

/* 27. ICMP echo requests to CN with text and a wrong ICMP checksum. */
static void case_icmp_badsum_text(struct out *o)
{
	struct conn c;
	uint8_t b[1300];
	conn_init(&c, o, 4, CLIENT, SERVER, 0, 0);
	for (int i = 0; i < 5; i++) {
		b[0] = 8; b[1] = 0; put16(b + 2, 0x1234); put16(b + 4, 77); put16(b + 6, (uint16_t)i);
		fill_text(b + 8, 1200);
		ip_send(&c, 0, 1, b, 1208);
	}
}

/* 28. ESP proven on one SPI pair, then the client switches to a new SPI
 * whose packets carry text (a second SA to the same peer). */
static void case_esp_new_spi_text(struct out *o)
{
	struct conn c;
	uint8_t pkt[1200];
	conn_init(&c, o, 4, CLIENT, SERVER, 0, 0);
	for (uint32_t seq = 1; seq <= 4; seq++)
		for (int dir = 0; dir < 2; dir++) {
			put32(pkt, dir ? 0x51d2e3f4 : 0x0badcafe);
			put32(pkt + 4, seq);
			rnd_fill(pkt + 8, 392);
			ip_send(&c, dir, 50, pkt, 400);
		}
	for (uint32_t seq = 1; seq <= 8; seq++) {
		put32(pkt, 0x0badbeef);
		put32(pkt + 4, seq);
		fill_text(pkt + 8, 1000);
		ip_send(&c, 0, 50, pkt, 1008);
	}
}

/* 29. IPv4 loose (and strict) source routing: HTTP to a US address whose
 * LSRR/SSRR option names the CN server as the next (and last) hop; a
 * router that honours source routing delivers it to CN. */
static void lsrr_http(struct out *o, uint16_t cport, uint8_t opt)
{
	static uint8_t l4[4000], ip[4100];
	struct conn c;
	conn_init(&c, o, 4, CLIENT, "203.0.113.10", cport, 80);
	uint8_t cn[4] = {198, 51, 100, 10};
	const char *msgs[2] = {http_request, NULL};
	/* only the client's packets carry the option; the server answers */
	uint32_t flags[] = {TH_SYN, TH_ACK, TH_ACK | TH_PSH, TH_FIN | TH_ACK};
	for (int k = 0; k < 4; k++) {
		const char *d = k == 2 ? msgs[0] : NULL;
		uint32_t len = d ? (uint32_t)strlen(d) : 0;
		uint32_t n = build_tcp(&c, 0, l4, c.seq[0], (uint8_t)flags[k], (const uint8_t *)d, len);
		/* TCP checksum is over the final destination: recompute with cn */
		put16(l4 + 16, 0);
		uint32_t sum = csum_add(0, c.cli, 4); sum = csum_add(sum, cn, 4); sum += 6 + n;
		put16(l4 + 16, csum_fold(csum_add(sum, l4, n)));
		ipv4_header(ip, c.cli, c.srv, 6, c.ip_id++, n + 8, 0, false);
		ip[0] = 0x47;
		ip[20] = opt; ip[21] = 7; ip[22] = 4; memcpy(ip + 23, cn, 4); ip[27] = 0; /* EOL */
		put16(ip + 10, 0); put16(ip + 10, csum_fold(csum_add(0, ip, 28)));
		memcpy(ip + 28, l4, n);
		emit_ip(&c, 0, ip, 28 + n);
		if (k == 0) { c.seq[0]++; tcp_at(&c, 1, c.seq[1]++, TH_SYN | TH_ACK, NULL, 0); }
		else if (k == 2) { c.seq[0] += len; tcp_send_str(&c, 1, http_response); }
		else if (k == 3) { c.seq[0]++; tcp_at(&c, 1, c.seq[1]++, TH_FIN | TH_ACK, NULL, 0); }
	}
}
static void case_v4_lsrr_http(struct out *o) { lsrr_http(o, 41095, 131); }
static void case_v4_ssrr_http(struct out *o) { lsrr_http(o, 41096, 137); }

/* 30. TLS proven over IPv6, then each client record in a packet with a
 * routing header whose segments left is 0 (the receiver skips it) and
 * whose 1,024 bytes of "segments" are text: SRH (type 4), or type 0. */
static void v6_rh_sl0_text(struct out *o, uint16_t cport, uint8_t type)
{
	static uint8_t l4[4000], ip[6000];
	struct conn c;
	uint8_t rnd[400], buf[500];
	conn_init(&c, o, 6, CLI6, SRV6, cport, 443);
	tls12_full_handshake(&c);
	for (int i = 0; i < 10; i++) {
		rnd_fill(rnd, sizeof(rnd));
		uint32_t len = tls_record(buf, 23, rnd, sizeof(rnd));
		uint32_t n = build_tcp(&c, 0, l4, c.seq[0], TH_ACK | TH_PSH, buf, len);
		c.seq[0] += len;
		uint8_t *h = ip + 40;
		uint32_t k = 8 + 1024;
		h[0] = 6; h[1] = (uint8_t)(k / 8 - 1); h[2] = type; h[3] = 0; /* segments left 0 */
		if (type == 4) { h[4] = 63; h[5] = 0; h[6] = 0; h[7] = 0; } /* last entry 63 */
		else memset(h + 4, 0, 4);
		fill_text(h + 8, 1024);
		memset(ip, 0, 40);
		ip[0] = 0x60; put16(ip + 4, (uint16_t)(k + n)); ip[6] = 43; ip[7] = 64;
		memcpy(ip + 8, c.cli, 16); memcpy(ip + 24, c.srv, 16);
		memcpy(ip + 40 + k, l4, n);
		emit_ip(&c, 0, ip, 40 + k + n);
		tcp_ack(&c, 1);
	}
	tcp_close(&c);
}
static void case_v6_srh_sl0_text(struct out *o) { v6_rh_sl0_text(o, 41097, 4); }
static void case_v6_rh0_sl0_text(struct out *o) { v6_rh_sl0_text(o, 41098, 0); }

static const struct { const char *name; void (*write)(struct out *); } red[] = {
	{"v6-srh-sl0-text", case_v6_srh_sl0_text},
	{"v6-rh0-sl0-text", case_v6_rh0_sl0_text},
	{"v4-lsrr-http", case_v4_lsrr_http},
	{"v4-ssrr-http", case_v4_ssrr_http},
	{"gtpu-nongpdu-text", case_gtpu_nongpdu_text},
	{"udp-len4-text", case_udp_len4_text},
	{"icmp-badsum-text", case_icmp_badsum_text},
	{"esp-new-spi-text", case_esp_new_spi_text},
	{"v6-padn-text", case_v6_padn_text},
	{"v4-eol-text", case_v4_eol_text},
	{"tcp-doff4-text", case_tcp_doff4_text},
	{"malformed-l4-text", case_malformed_l4_text},
	{"gre-base", case_gre_base},
	{"tcp-option-only", case_tcp_option_only},
	{"ssh-prebanner-inside-server", case_ssh_prebanner_inside_server},
	{"ssh-ignore-text", case_ssh_ignore_text},
	{"ssh-debug-text", case_ssh_debug_text},
	{"ssh-kex-padding-text", case_ssh_kex_padding_text},
	{"ssh-control", case_ssh_control},
	{"ssh-control-inside-server", case_ssh_control_inside_server},
	{"v6-http-base", case_v6_http_base},
	{"hello-unknown-ext-text", case_hello_unknown_ext_text},
	{"geneve-base", case_geneve_base},
	{"gtpu-base", case_gtpu_base},
	{"udp-surplus-only", case_udp_surplus_only},
	{"tcp-badsum-text", case_tcp_badsum_text},
	{"udp-badsum-text", case_udp_badsum_text},
	{"v6-ext-then-nonext", case_v6_ext_then_nonext},
	{"v4-proto59-text", case_v4_proto59_text},
	{"v6-tls-then-nonext", case_v6_tls_then_nonext},
	{"tcp-option-text", case_tcp_option_text},
	{"udp-surplus-text", case_udp_surplus_text},
	{"ah-icv-text", case_ah_icv_text},
	{"ah-tcp-text", case_ah_tcp_text},
	{"v6-nonext-text", case_v6_nonext_text},
	{"v6-other-ext-text", case_v6_other_ext_text},
	{"icmp-error-text", case_icmp_error_text},
	{"icmp-error-alone", case_icmp_error_alone},
	{"pppoe-http", case_pppoe_http},
	{"snap-http", case_snap_http},
	{"vlan9100-http", case_vlan9100_http},
	{"wg-cookie-text", case_wg_cookie_text},
	{"dtls-then-stun-text", case_dtls_then_stun_text},
	{"dtls-then-rtp-text", case_dtls_then_rtp_text},
	{"hello-psk-text", case_hello_psk_text},
	{"hello-psk-text-big", case_hello_psk_text_big},
	{"hello-ticket-text", case_hello_ticket_text},
	{"hello-ticket-text-big", case_hello_ticket_text_big},
	{"hello-ech-text", case_hello_ech_text},
	{"hello-ech-text-big", case_hello_ech_text_big},
	{"hello-padding-text", case_hello_padding_text},
};

int main(int argc, char **argv)
{
	(void)gen_evasion_main;
	for (size_t i = 0; i < sizeof(red) / sizeof(red[0]); i++) {
		char path[4096];
		struct out o;
		if (argc > 2 && strcmp(argv[2], red[i].name) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s.pcap", argv[1], red[i].name);
		if (!out_open(&o, "gen_red3", path, DLT_EN10MB))
			return 2;
		red[i].write(&o);
		if (!out_close(&o))
			return 2;
	}
	return 0;
}
