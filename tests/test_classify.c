/*
 * tests/test_classify.c -- classify/: the encryption table, cipher strength,
 * and whole conversations put through the classifier as a sender would
 * segment them (or as an evader would).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ndpi/ndpi_api.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify/classify.h"
#include "classify/internal.h"
#include <math.h>

/* ---- the table: every row has its expected class written here too ------- */

static const struct {
	const char *name;
	enum class_rule rule;
} expected_rows[] = {
	{"TLS", CLASS_RULE_TLS}, {"MAIL_SMTPS", CLASS_RULE_TLS}, {"MAIL_IMAPS", CLASS_RULE_TLS},
	{"MAIL_POPS", CLASS_RULE_TLS}, {"DOH_DOT", CLASS_RULE_TLS}, {"DTLS", CLASS_RULE_DTLS},
	{"SSH", CLASS_RULE_SSH}, {"QUIC", CLASS_RULE_ENCRYPTED}, {"IP_IPSEC", CLASS_RULE_ENCRYPTED},
	{"WIREGUARD", CLASS_RULE_ENCRYPTED}, {"OPENVPN", CLASS_RULE_ENCRYPTED},
	{"MAIL_SMTP", CLASS_RULE_STARTTLS}, {"MAIL_IMAP", CLASS_RULE_STARTTLS}, {"MAIL_POP", CLASS_RULE_STARTTLS},
	{"FTP_CONTROL", CLASS_RULE_STARTTLS}, {"JABBER", CLASS_RULE_STARTTLS},
	{"HTTP", CLASS_RULE_CLEARTEXT}, {"HTTP_CONNECT", CLASS_RULE_CLEARTEXT}, {"HTTP_PROXY", CLASS_RULE_CLEARTEXT},
	{"FTP_DATA", CLASS_RULE_CLEARTEXT}, {"TELNET", CLASS_RULE_CLEARTEXT}, {"NFS", CLASS_RULE_CLEARTEXT},
	{"SMBV1", CLASS_RULE_CLEARTEXT}, {"SMBV23", CLASS_RULE_CLEARTEXT}, {"TFTP", CLASS_RULE_CLEARTEXT},
	{"MQTT", CLASS_RULE_CLEARTEXT}, {"SIP", CLASS_RULE_CLEARTEXT}, {"IRC", CLASS_RULE_CLEARTEXT},
	{"LDAP", CLASS_RULE_CLEARTEXT}, {"SNMP", CLASS_RULE_CLEARTEXT}, {"DNS", CLASS_RULE_CLEARTEXT},
	{"MDNS", CLASS_RULE_CLEARTEXT}, {"LLMNR", CLASS_RULE_CLEARTEXT}, {"NETBIOS", CLASS_RULE_CLEARTEXT},
	{"NTP", CLASS_RULE_CLEARTEXT}, {"SYSLOG", CLASS_RULE_CLEARTEXT}, {"RTSP", CLASS_RULE_CLEARTEXT},
	{"RTP", CLASS_RULE_CLEARTEXT}, {"RSYNC", CLASS_RULE_CLEARTEXT}, {"VNC", CLASS_RULE_CLEARTEXT},
	{"MYSQL", CLASS_RULE_CLEARTEXT}, {"POSTGRES", CLASS_RULE_CLEARTEXT}, {"REDIS", CLASS_RULE_CLEARTEXT},
	{"MEMCACHED", CLASS_RULE_CLEARTEXT}, {"DHCP", CLASS_RULE_CLEARTEXT}, {"IP_ICMP", CLASS_RULE_CLEARTEXT},
	{"IP_ICMPV6", CLASS_RULE_CLEARTEXT}, {"IP_GRE", CLASS_RULE_CLEARTEXT}, {"IP_IP_IN_IP", CLASS_RULE_CLEARTEXT},
	{"COAP", CLASS_RULE_CLEARTEXT}, {"MODBUS", CLASS_RULE_CLEARTEXT}, {"BITTORRENT", CLASS_RULE_CLEARTEXT},
};

static void every_table_row_has_its_expected_class(void **state)
{
	size_t n, n_expected = sizeof(expected_rows) / sizeof(expected_rows[0]);
	const struct class_table_row *rows = class_table(&n);

	assert_int_equal(n, n_expected); /* a new row needs a line above */
	for (size_t i = 0; i < n; i++) {
		bool found = false;
		for (size_t k = 0; k < n_expected; k++) {
			if (strcmp(rows[i].ndpi_name, expected_rows[k].name) == 0) {
				found = true;
				if (rows[i].rule != expected_rows[k].rule)
					fail_msg("row %s: %s, expected %s", rows[i].ndpi_name, class_rule_name(rows[i].rule),
						 class_rule_name(expected_rows[k].rule));
				/* and the lookup by id agrees with the row, whatever nDPI's own flag says */
				assert_int_equal(class_rule_of(rows[i].ndpi_id, true), rows[i].rule);
				assert_int_equal(class_rule_of(rows[i].ndpi_id, false), rows[i].rule);
			}
		}
		if (!found)
			fail_msg("row %s has no expected class in this test", rows[i].ndpi_name);
	}
	/* unlisted: nDPI's clear-text flag decides between cleartext and unknown, never encrypted */
	assert_int_equal(class_rule_of(NDPI_PROTOCOL_SKYPE_TEAMS, true), CLASS_RULE_CLEARTEXT);
	assert_int_equal(class_rule_of(NDPI_PROTOCOL_SKYPE_TEAMS, false), CLASS_RULE_UNKNOWN);
}

static void cipher_strength_follows_the_suite(void **state)
{
	bool weak;
	const char *name;

	assert_int_equal(tls_cipher_bits(0x1301, &name, &weak), 128);
	assert_false(weak);
	assert_string_equal(name, "TLS_AES_128_GCM_SHA256");
	assert_int_equal(tls_cipher_bits(0x1302, NULL, &weak), 256);
	assert_false(weak);
	assert_int_equal(tls_cipher_bits(0xcca8, NULL, &weak), 256); /* ECDHE CHACHA20 */
	assert_false(weak);
	assert_int_equal(tls_cipher_bits(0x0005, NULL, &weak), 128); /* RC4_128: strong key, broken cipher */
	assert_true(weak);
	assert_int_equal(tls_cipher_bits(0x000a, NULL, &weak), 112); /* 3DES */
	assert_true(weak);
	assert_int_equal(tls_cipher_bits(0x0009, NULL, &weak), 56);  /* DES */
	assert_true(weak);
	assert_int_equal(tls_cipher_bits(0x0003, NULL, &weak), 40);  /* EXPORT RC4_40 */
	assert_true(weak);
	assert_int_equal(tls_cipher_bits(0x0001, NULL, &weak), 0);   /* NULL */
	assert_true(weak);
	tls_cipher_bits(0x0066, NULL, &weak);                        /* not named by nDPI */
	assert_true(weak);
}

/* ---- conversations -------------------------------------------------------- */

struct conv {
	struct classifier *c;
	struct ef_flow_record last;
	int ended;
	uint32_t seq[2];
	uint64_t ts;
	const char *client, *server;
	uint16_t cport, sport;
};

static void on_end(struct flow *f, const struct ef_flow_record *r, void *ctx)
{
	struct conv *cv = ctx;

	cv->last = *r;
	cv->ended++;
}

static void conv_start(struct conv *cv, uint16_t server_port)
{
	char err[256];

	memset(cv, 0, sizeof(*cv));
	cv->c = classifier_new(NULL, on_end, cv, err, sizeof(err));
	assert_non_null(cv->c);
	cv->client = "10.1.0.2";
	cv->server = "198.51.100.10";
	cv->cport = 40000;
	cv->sport = server_port;
	cv->seq[0] = 1000;
	cv->seq[1] = 50000;
	cv->ts = 1700000000000000ull;
}

/* One TCP segment; dir 0 is client to server.  seq_offset lets a test send
 * out of order or overlapping. */
static enum classify_event segment_at(struct conv *cv, int dir, uint8_t flags, int32_t seq_offset, const void *data,
				      size_t len)
{
	struct packet p = {0};
	struct flow *f;

	ef_addr_parse(dir ? cv->server : cv->client, &p.src);
	ef_addr_parse(dir ? cv->client : cv->server, &p.dst);
	p.sport = dir ? cv->sport : cv->cport;
	p.dport = dir ? cv->cport : cv->sport;
	p.l4 = IPPROTO_TCP;
	p.tcp_flags = flags;
	p.tcp_seq = cv->seq[dir] + (uint32_t)seq_offset;
	p.payload = data;
	p.payload_len = (uint32_t)len;
	p.ts_us = cv->ts += 1000;
	return classifier_packet(cv->c, &p, &f);
}

static enum classify_event segment(struct conv *cv, int dir, const void *data, size_t len)
{
	enum classify_event ev = segment_at(cv, dir, 0x18, 0, data, len);
	cv->seq[dir] += (uint32_t)len;
	return ev;
}

static void handshake(struct conv *cv)
{
	segment_at(cv, 0, 0x02, -1, NULL, 0);
	segment_at(cv, 1, 0x12, -1, NULL, 0);
	segment_at(cv, 0, 0x10, 0, NULL, 0);
}

static void text(struct conv *cv, int dir, const char *s)
{
	segment(cv, dir, s, strlen(s));
}

static const struct ef_flow_record *conv_end(struct conv *cv)
{
	classifier_flush(cv->c);
	assert_int_equal(cv->ended, 1);
	classifier_free(cv->c);
	return &cv->last;
}

static const char http_request[] = "POST /upload HTTP/1.1\r\nHost: files.example\r\nContent-Length: 11\r\n\r\nsecret-data";

static void http_is_cleartext(void **state)
{
	struct conv cv;

	conv_start(&cv, 80);
	handshake(&cv);
	text(&cv, 0, http_request);
	text(&cv, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	const struct ef_flow_record *r = conv_end(&cv);
	assert_int_equal(r->enc, EF_ENC_CLEARTEXT);
	assert_string_equal(r->app, "HTTP");
	assert_int_equal(r->bytes_out, strlen(http_request));
}

static void http_in_one_byte_segments_is_still_http(void **state)
{
	struct conv cv;

	conv_start(&cv, 8080);
	handshake(&cv);
	for (size_t i = 0; i < strlen(http_request); i++)
		segment(&cv, 0, http_request + i, 1);
	const struct ef_flow_record *r = conv_end(&cv);
	assert_int_equal(r->enc, EF_ENC_CLEARTEXT);
	assert_string_equal(r->app, "HTTP");
}

static void http_out_of_order_is_put_back_in_order(void **state)
{
	struct conv cv;
	size_t n = strlen(http_request), half = 10;

	conv_start(&cv, 80);
	handshake(&cv);
	segment_at(&cv, 0, 0x18, (int32_t)half, http_request + half, n - half); /* second part first */
	segment_at(&cv, 0, 0x18, 0, http_request, half);
	cv.seq[0] += (uint32_t)n;
	text(&cv, 1, "HTTP/1.1 200 OK\r\n\r\n");
	const struct ef_flow_record *r = conv_end(&cv);
	assert_int_equal(r->enc, EF_ENC_CLEARTEXT);
	assert_string_equal(r->app, "HTTP");
}

static void conflicting_retransmission_is_flagged_and_first_copy_wins(void **state)
{
	struct conv cv;
	const size_t head = 10; /* "POST /uplo": not a line yet, nothing decided */

	conv_start(&cv, 80);
	handshake(&cv);
	segment(&cv, 0, http_request, head);
	/* The same sequence range again, with other bytes, while undecided. */
	char other[16];
	memset(other, 'Z', sizeof(other));
	segment_at(&cv, 0, 0x18, -(int32_t)head, other, head);
	segment(&cv, 0, http_request + head, strlen(http_request) - head);
	const struct ef_flow_record *r = conv_end(&cv);
	assert_true(r->reassembly_conflict);
	/* The first copy was classified: the request, not the Zs. */
	assert_string_equal(r->app, "HTTP");
	assert_int_equal(r->enc, EF_ENC_CLEARTEXT);
}

/* A minimal, valid TLS 1.2-framed ClientHello with SNI. */
static size_t client_hello(uint8_t *b)
{
	static const char sni[] = "files.example.com";
	uint8_t body[512];
	size_t o = 0;

	body[o++] = 0x03; body[o++] = 0x03;
	for (int i = 0; i < 32; i++) /* a hello's random is random (walkers.c judges it) */
		body[o++] = (uint8_t)(rand() & 0xff);
	body[o++] = 0;                      /* session id */
	body[o++] = 0; body[o++] = 4;       /* cipher suites */
	body[o++] = 0x13; body[o++] = 0x01; body[o++] = 0xc0; body[o++] = 0x2f;
	body[o++] = 1; body[o++] = 0;       /* compression */
	size_t ext_len_at = o;
	o += 2;
	size_t ext_start = o;
	/* server_name */
	body[o++] = 0; body[o++] = 0;
	body[o++] = 0; body[o++] = (uint8_t)(5 + strlen(sni));
	body[o++] = 0; body[o++] = (uint8_t)(3 + strlen(sni));
	body[o++] = 0;
	body[o++] = 0; body[o++] = (uint8_t)strlen(sni);
	memcpy(body + o, sni, strlen(sni)); o += strlen(sni);
	/* supported_versions: 1.3, 1.2 */
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

static size_t server_hello(uint8_t *b, uint16_t version, uint16_t cipher)
{
	uint8_t body[128];
	size_t o = 0;

	body[o++] = 3; body[o++] = version == 0x0304 ? 3 : (uint8_t)version;
	for (int i = 0; i < 32; i++)
		body[o++] = (uint8_t)(rand() & 0xff);
	body[o++] = 0;
	body[o++] = (uint8_t)(cipher >> 8); body[o++] = (uint8_t)cipher;
	body[o++] = 0;
	if (version == 0x0304) {
		body[o++] = 0; body[o++] = 6;
		body[o++] = 0; body[o++] = 0x2b; body[o++] = 0; body[o++] = 2; body[o++] = 3; body[o++] = 4;
	} else {
		body[o++] = 0; body[o++] = 0;
	}
	size_t hs = 4 + o;
	b[0] = 0x16; b[1] = 3; b[2] = (uint8_t)(version == 0x0304 ? 3 : version); b[3] = 0; b[4] = (uint8_t)hs;
	b[5] = 2; b[6] = 0; b[7] = 0; b[8] = (uint8_t)o;
	memcpy(b + 9, body, o);
	return 9 + o;
}

static void random_record(uint8_t *b, size_t len)
{
	b[0] = 0x17; b[1] = 3; b[2] = 3; b[3] = (uint8_t)(len >> 8); b[4] = (uint8_t)len;
	for (size_t i = 0; i < len; i++)
		b[5 + i] = (uint8_t)(rand() & 0xff);
}

static const struct ef_flow_record *tls_session(uint16_t version, uint16_t cipher, bool client_finishes)
{
	static struct conv cv;
	uint8_t b[1024];
	static const uint8_t ccs[] = {0x14, 3, 3, 0, 1, 1};

	conv_start(&cv, 443);
	handshake(&cv);
	segment(&cv, 0, b, client_hello(b));
	segment(&cv, 1, b, server_hello(b, version, cipher));
	if (client_finishes) {
		segment(&cv, 0, ccs, sizeof(ccs));
		random_record(b, 200);
		segment(&cv, 0, b, 205);
	}
	return conv_end(&cv);
}

static void tls13_with_aes128_is_encrypted(void **state)
{
	const struct ef_flow_record *r = tls_session(0x0304, 0x1301, true);

	assert_int_equal(r->enc, EF_ENC_ENCRYPTED);
	assert_int_equal(r->tls_version, 0x0304);
	assert_string_equal(r->cipher, "TLS_AES_128_GCM_SHA256");
	assert_int_equal(r->cipher_bits, 128);
	assert_non_null(strstr(r->app, "TLS"));
}

static void tls10_is_weak_and_rc4_is_weak(void **state)
{
	assert_int_equal(tls_session(0x0301, 0xc02f, true)->enc, EF_ENC_WEAK);
	assert_int_equal(tls_session(0x0303, 0x0005, true)->enc, EF_ENC_WEAK);
	assert_int_equal(tls_session(0x0303, 0xc02f, true)->enc, EF_ENC_ENCRYPTED);
}

static void tls_without_a_completed_handshake_is_not_encrypted(void **state)
{
	assert_int_equal(tls_session(0x0304, 0x1301, false)->enc, EF_ENC_UNKNOWN);
}

static void client_hello_then_plain_data_is_cleartext(void **state)
{
	struct conv cv;
	uint8_t b[1024];

	conv_start(&cv, 443);
	handshake(&cv);
	segment(&cv, 0, b, client_hello(b));
	text(&cv, 0, http_request);
	const struct ef_flow_record *r = conv_end(&cv);
	assert_int_equal(r->enc, EF_ENC_CLEARTEXT);
}

static void readable_text_inside_tls_records_is_cleartext(void **state)
{
	struct conv cv;
	uint8_t b[1024];
	static const uint8_t ccs[] = {0x14, 3, 3, 0, 1, 1};

	conv_start(&cv, 443);
	handshake(&cv);
	segment(&cv, 0, b, client_hello(b));
	segment(&cv, 1, b, server_hello(b, 0x0303, 0xc02f));
	/* "application data" that is a plain HTTP request */
	size_t n = strlen(http_request);
	b[0] = 0x17; b[1] = 3; b[2] = 3; b[3] = 0; b[4] = (uint8_t)n;
	memcpy(b + 5, http_request, n);
	segment(&cv, 0, b, 5 + n);
	segment(&cv, 0, ccs, sizeof(ccs));
	assert_int_equal(conv_end(&cv)->enc, EF_ENC_CLEARTEXT);
}

/* An SSH binary packet before encryption: length, padding length, message
 * number, body, padding (RFC 4253 6). */
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
		/* A KEXINIT keeps RFC 4253 7.1's layout (walkers.c checks it):
		 * the random cookie, ten name-lists (the first filled with names
		 * of 20 characters), first_kex_packet_follows, reserved. */
		uint8_t *k = b + 6 + 16;
		size_t names = body - 16 - 40 - 5;
		k[0] = 0; k[1] = 0; k[2] = (uint8_t)(names >> 8); k[3] = (uint8_t)names;
		for (size_t i = 0; i < names; i++)
			k[4 + i] = i % 21 == 20 && i + 1 < names ? ',' : (uint8_t)('a' + i % 21);
		k += 4 + names;
		memset(k, 0, 9 * 4 + 5);
	}
	return 4 + plen;
}

static void ssh_is_encrypted_after_newkeys(void **state)
{
	struct conv cv;
	uint8_t b[512];

	conv_start(&cv, 22);
	handshake(&cv);
	text(&cv, 1, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
	text(&cv, 0, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
	segment(&cv, 0, b, ssh_packet(b, 20, 200));
	segment(&cv, 1, b, ssh_packet(b, 20, 200));
	segment(&cv, 0, b, ssh_packet(b, 30, 40));
	segment(&cv, 1, b, ssh_packet(b, 31, 100));
	segment(&cv, 0, b, ssh_packet(b, 21, 0));
	const struct ef_flow_record *r = conv_end(&cv);
	assert_int_equal(r->enc, EF_ENC_ENCRYPTED);
	assert_string_equal(r->app, "SSH");
}

static void ssh_banner_then_plain_data_is_cleartext(void **state)
{
	struct conv cv;

	conv_start(&cv, 22);
	handshake(&cv);
	text(&cv, 1, "SSH-2.0-OpenSSH_9.2p1\r\n");
	text(&cv, 0, "SSH-2.0-OpenSSH_9.2p1\r\n");
	text(&cv, 0, "here is the whole design document, in the clear, no key exchange at all....\n");
	assert_int_equal(conv_end(&cv)->enc, EF_ENC_CLEARTEXT);
}

static void smtp_starttls_before_data_is_encrypted(void **state)
{
	struct conv cv;
	uint8_t b[1024];
	static const uint8_t ccs[] = {0x14, 3, 3, 0, 1, 1};

	conv_start(&cv, 25);
	handshake(&cv);
	text(&cv, 1, "220 mail.example ESMTP Postfix\r\n");
	text(&cv, 0, "EHLO client.example\r\n");
	text(&cv, 1, "250-mail.example\r\n250-STARTTLS\r\n250 8BITMIME\r\n");
	text(&cv, 0, "STARTTLS\r\n");
	text(&cv, 1, "220 2.0.0 Ready to start TLS\r\n");
	segment(&cv, 0, b, client_hello(b));
	segment(&cv, 1, b, server_hello(b, 0x0303, 0xc02f));
	segment(&cv, 0, ccs, sizeof(ccs));
	random_record(b, 40); /* the encrypted Finished */
	b[0] = 0x16;
	segment(&cv, 0, b, 45);
	const struct ef_flow_record *r = conv_end(&cv);
	assert_int_equal(r->enc, EF_ENC_ENCRYPTED);
	assert_int_equal(r->tls_version, 0x0303);
}

static void smtp_refused_starttls_then_mail_is_cleartext(void **state)
{
	struct conv cv;

	conv_start(&cv, 25);
	handshake(&cv);
	text(&cv, 1, "220 mail.example ESMTP\r\n");
	text(&cv, 0, "EHLO client.example\r\n");
	text(&cv, 1, "250 mail.example\r\n");
	text(&cv, 0, "STARTTLS\r\n");
	text(&cv, 1, "454 4.7.0 TLS not available\r\n");
	text(&cv, 0, "MAIL FROM:<a@example>\r\n");
	assert_int_equal(conv_end(&cv)->enc, EF_ENC_CLEARTEXT);
}

static void udp_with_no_known_protocol_is_unknown(void **state)
{
	struct conv cv;
	char err[256];
	uint8_t buf[300];
	struct packet p = {0};
	struct flow *f;

	memset(&cv, 0, sizeof(cv));
	cv.c = classifier_new(NULL, on_end, &cv, err, sizeof(err));
	for (int i = 0; i < 20; i++) {
		/* a raw IPv4/UDP datagram of random bytes to a high port */
		memset(buf, 0, 28);
		buf[0] = 0x45; buf[3] = 28 + 200; buf[8] = 64; buf[9] = IPPROTO_UDP;
		buf[12] = 10; buf[15] = 2; buf[16] = 198; buf[17] = 51; buf[18] = 100; buf[19] = 10;
		buf[20] = 0x9c; buf[21] = 0x40; buf[22] = 0xc3; buf[23] = 0x51; buf[25] = 208;
		for (int k = 0; k < 200; k++)
			buf[28 + k] = (uint8_t)rand();
		ef_addr_parse("10.0.0.2", &p.src);
		ef_addr_parse("198.51.100.10", &p.dst);
		p.sport = 40000;
		p.dport = 50001;
		p.l4 = IPPROTO_UDP;
		p.l3 = buf;
		p.l3_len = 228;
		p.payload = buf + 28;
		p.payload_len = 200;
		p.ts_us = 1700000000000000ull + (uint64_t)i * 1000;
		classifier_packet(cv.c, &p, &f);
	}
	assert_int_equal(conv_end(&cv)->enc, EF_ENC_UNKNOWN);
}

static void full_table_evicts_and_reports(void **state)
{
	struct conv cv;
	char err[256];
	struct classifier_config cfg = {.max_flows = 16};
	struct packet p = {0};
	struct flow *f;
	struct classifier_stats st;

	memset(&cv, 0, sizeof(cv));
	cv.c = classifier_new(&cfg, on_end, &cv, err, sizeof(err));
	ef_addr_parse("10.0.0.2", &p.src);
	ef_addr_parse("198.51.100.10", &p.dst);
	p.l4 = IPPROTO_TCP;
	p.tcp_flags = 0x02;
	for (int i = 0; i < 100; i++) {
		p.sport = (uint16_t)(10000 + i);
		p.dport = 80;
		p.ts_us = 1700000000000000ull + (uint64_t)i;
		classifier_packet(cv.c, &p, &f);
	}
	classifier_stats(cv.c, &st);
	assert_int_equal(st.evicted, 84);
	assert_int_equal(cv.ended, 84);
	assert_true(cv.last.evicted);
	assert_true(st.flows_active <= 16);
	classifier_free(cv.c);
}

static void hash_is_symmetric(void **state)
{
	struct packet a = {0}, b = {0};

	ef_addr_parse("10.0.0.2", &a.src);
	ef_addr_parse("198.51.100.10", &a.dst);
	a.sport = 1234;
	a.dport = 443;
	a.l4 = IPPROTO_TCP;
	b = a;
	b.src = a.dst;
	b.dst = a.src;
	b.sport = a.dport;
	b.dport = a.sport;
	assert_int_equal(flow_hash(&a), flow_hash(&b));
}


/* ---- the one judgement of "looks random" ------------------------------- */

/* xorshift64*: a seeded generator, so every run draws the same samples */
static uint64_t prng = 0x2545f4914f6cdd1dull;
static uint8_t prng8(void)
{
	prng ^= prng >> 12;
	prng ^= prng << 25;
	prng ^= prng >> 27;
	return (uint8_t)((prng * 0x2545f4914f6cdd1dull) >> 56);
}

/* The thresholds are the exact tails: recomputed here from the occupancy
 * law and the binomial law, each the tightest with P < 1e-12. */
static void look_thresholds_are_the_exact_tails(void **state)
{
	double occ[257] = {1.0};

	for (unsigned n = 1; n <= LOOK_WINDOW; n++) {
		for (int k = (int)n; k >= 0; k--)
			occ[k] = occ[k] * k / 256.0 + (k ? occ[k - 1] * (256 - k + 1) / 256.0 : 0);
		double below = 0;
		unsigned t = look_min_distinct(n);
		for (unsigned k = 0; k < t; k++)
			below += occ[k];
		assert_true(below < 1e-12);          /* random fails the distinct test: negligible */
		assert_true(below + occ[t] >= 1e-12); /* and the threshold is the tightest */
		double p = 98.0 / 256, tail = 0;
		unsigned s = look_max_printable(n);
		for (unsigned x = s; x <= n; x++)
			tail += exp(lgamma(n + 1.0) - lgamma(x + 1.0) - lgamma(n - x + 1.0) + x * log(p) + (n - x) * log1p(-p));
		assert_true(tail < 1e-12);
		if (s > 0 && s <= n) {
			double more = tail + exp(lgamma(n + 1.0) - lgamma(s) - lgamma(n - s + 2.0) + (s - 1) * log(p) +
						 (n - s + 1) * log1p(-p));
			assert_true(more >= 1e-12);
		}
	}
}

/* Random bytes pass, over many samples of every length; text, base64, hex
 * and text XORed with one byte do not. */
static void random_passes_and_text_base64_hex_xor_fail(void **state)
{
	uint8_t b[LOOK_WINDOW];
	static const char text[] =
		"Rotor blade alloy specification, revision 7: the leading edge is machined to a tolerance "
		"of 0.02 mm, heat-treated at 1040 C for four hours, then shot-peened on both faces. ";
	static const char b64[] = "UmAtCnJvdG9yIGJsYWRlIGFsbG95IHNwZWNpZmljYXRpb24sIHJldmlzaW9uIDc6IHRoZSBsZWFkaW5nIGVk"
				  "Z2UgaXMgbWFjaGluZWQgdG8gYSB0b2xlcmFuY2Ugb2YgMC4wMiBtbSwgaGVhdC10cmVhdGVk";
	static const char hex[] = "526f746f7220626c61646520616c6c6f792073706563696669636174696f6e2c207265766973696f6e20373a"
				  "20746865206c656164696e672065646765206973206d616368696e656420746f20612074";

	for (unsigned i = 0; i < 200000; i++) {
		unsigned n = 16 + i % (LOOK_WINDOW - 15);
		for (unsigned k = 0; k < n; k++)
			b[k] = prng8();
		if (look_at(b, n) != LOOK_RANDOM)
			fail_msg("random sample %u of %u bytes judged not random", i, n);
	}
	assert_int_equal(look_at((const uint8_t *)text, LOOK_WINDOW), LOOK_NOT_RANDOM);
	assert_int_equal(look_at((const uint8_t *)b64, LOOK_WINDOW), LOOK_NOT_RANDOM);
	assert_int_equal(look_at((const uint8_t *)hex, LOOK_WINDOW), LOOK_NOT_RANDOM);
	for (unsigned key = 1; key < 256; key++) {
		for (unsigned k = 0; k < LOOK_WINDOW; k++)
			b[k] = (uint8_t)text[k] ^ (uint8_t)key;
		if (look_at(b, LOOK_WINDOW) != LOOK_NOT_RANDOM)
			fail_msg("text XORed with 0x%02x judged random", key);
	}
	/* and over many seeded samples: base64 and hex of random bytes (encoded
	 * ciphertext is still readable), sentences drawn from a word list, and
	 * those sentences XORed with a random byte */
	static const char *const words[] = {"rotor", "blade", "alloy", "the", "of", "spec", "revision", "edge",
					    "Tolerance", "heat", "treated", "4 hours", "0.02 mm", "and", "is", "to",
					    "CONFIDENTIAL:", "drawing", "No.", "1040", "C,", "shot-peened", "faces."};
	static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (unsigned i = 0; i < 10000; i++) {
		for (unsigned k = 0; k < LOOK_WINDOW; k++)
			b[k] = (uint8_t)b64chars[prng8() & 63];
		if (look_at(b, LOOK_WINDOW) != LOOK_NOT_RANDOM)
			fail_msg("base64 sample %u judged random", i);
		for (unsigned k = 0; k < LOOK_WINDOW; k++)
			b[k] = (uint8_t)"0123456789abcdef"[prng8() & 15];
		if (look_at(b, LOOK_WINDOW) != LOOK_NOT_RANDOM)
			fail_msg("hex sample %u judged random", i);
		unsigned n = 0;
		while (n < LOOK_WINDOW) {
			const char *w = words[prng8() % (sizeof(words) / sizeof(words[0]))];
			for (size_t k = 0; w[k] && n < LOOK_WINDOW; k++)
				b[n++] = (uint8_t)w[k];
			if (n < LOOK_WINDOW)
				b[n++] = prng8() % 8 ? ' ' : '\n';
		}
		if (look_at(b, LOOK_WINDOW) != LOOK_NOT_RANDOM)
			fail_msg("text sample %u judged random", i);
		uint8_t key = prng8();
		for (unsigned k = 0; k < LOOK_WINDOW; k++)
			b[k] ^= key;
		if (look_at(b, LOOK_WINDOW) != LOOK_NOT_RANDOM)
			fail_msg("text sample %u XORed with 0x%02x judged random", i, key);
	}
	/* text is caught by its printable share from 40 bytes */
	assert_int_equal(look_at((const uint8_t *)text, 40), LOOK_NOT_RANDOM);
	assert_true(look_text((const uint8_t *)text, LOOK_WINDOW));
}

/* ---- encrypted must hold for every byte -------------------------------- */

static void rnd_bytes(uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = prng8();
}

static size_t record(uint8_t *b, uint8_t type, const void *body, size_t len)
{
	b[0] = type; b[1] = 3; b[2] = 3; b[3] = (uint8_t)(len >> 8); b[4] = (uint8_t)len;
	memcpy(b + 5, body, len);
	return 5 + len;
}

/* ClientHello, ServerHello (TLS 1.2), the client's CCS and encrypted Finished. */
static void tls12_handshake(struct conv *cv, bool finished)
{
	uint8_t b[1024], body[40];
	static const uint8_t ccs[] = {0x14, 3, 3, 0, 1, 1};

	handshake(cv);
	segment(cv, 0, b, client_hello(b));
	segment(cv, 1, b, server_hello(b, 0x0303, 0xc02f));
	segment(cv, 0, ccs, sizeof(ccs));
	if (finished) {
		rnd_bytes(body, sizeof(body));
		segment(cv, 0, b, record(b, 22, body, sizeof(body)));
	}
}

static void lone_ccs_after_server_hello_is_not_encrypted(void **state)
{
	struct conv cv;

	conv_start(&cv, 443);
	tls12_handshake(&cv, false);
	assert_int_not_equal(conv_end(&cv)->enc, EF_ENC_ENCRYPTED);
}

static void text_in_records_after_the_handshake_is_rejudged(void **state)
{
	struct conv cv;
	uint8_t b[2048], body[300];
	static const char secret[] = "CONFIDENTIAL: rotor blade alloy spec, rev 7. The leading edge is machined to 0.02 mm. ";

	conv_start(&cv, 443);
	tls12_handshake(&cv, true);
	rnd_bytes(body, sizeof(body));
	assert_int_equal(segment(&cv, 0, b, record(b, 23, body, sizeof(body))), CLASSIFY_NONE);
	uint64_t before = 6 + 45 + 305 + client_hello(b);
	memset(body, 0, sizeof(body));
	for (size_t i = 0; i + 1 < sizeof(body); i += sizeof(secret) - 1)
		memcpy(body + i, secret, sizeof(body) - 1 - i < sizeof(secret) - 1 ? sizeof(body) - 1 - i : sizeof(secret) - 1);
	assert_int_equal(segment(&cv, 0, b, record(b, 23, body, sizeof(body))), CLASSIFY_REJUDGED);
	struct classifier_stats st;
	classifier_stats(cv.c, &st);
	assert_int_equal(st.rejudged, 1);
	const struct ef_flow_record *r = conv_end(&cv);
	assert_int_equal(r->enc, EF_ENC_CLEARTEXT);
	assert_true(r->rejudged);
	assert_int_equal(r->rejudge_dir, 0);
	/* the offset is the first byte of the 128 judged, which reach into
	 * this record's body (after its header and nonce) */
	assert_true(r->rejudge_offset + LOOK_WINDOW > before + 5 + 8 && r->rejudge_offset < before + 5 + 300);
	assert_non_null(r->rejudge_reason);
}

static void raw_text_after_the_handshake_is_rejudged(void **state)
{
	struct conv cv;

	conv_start(&cv, 443);
	tls12_handshake(&cv, true);
	assert_int_equal(segment(&cv, 0, http_request, strlen(http_request)), CLASSIFY_REJUDGED);
	const struct ef_flow_record *r = conv_end(&cv);
	assert_int_equal(r->enc, EF_ENC_CLEARTEXT);
	assert_true(r->rejudged);
}

/* Random records across a gap and out of order stay encrypted; text sent
 * after a gap is caught by its printable share. */
static void a_gap_costs_the_framing_not_the_text_check(void **state)
{
	struct conv cv;
	uint8_t b[2048], body[600];

	conv_start(&cv, 443);
	tls12_handshake(&cv, true);
	rnd_bytes(body, sizeof(body));
	size_t n = record(b, 23, body, sizeof(body));
	/* the second half first, then the first: a gap, then a late segment */
	assert_int_equal(segment_at(&cv, 0, 0x18, 300, b + 300, n - 300), CLASSIFY_NONE);
	assert_int_equal(segment_at(&cv, 0, 0x18, 0, b, 300), CLASSIFY_NONE);
	cv.seq[0] += (uint32_t)n;
	rnd_bytes(body, sizeof(body));
	assert_int_equal(segment(&cv, 0, b, record(b, 23, body, sizeof(body))), CLASSIFY_NONE);
	/* framing on trial again; now text after another gap */
	cv.seq[0] += 1000;
	char txt[400];
	for (size_t i = 0; i < sizeof(txt); i++)
		txt[i] = http_request[i % strlen(http_request)];
	assert_int_equal(segment(&cv, 0, txt, sizeof(txt)), CLASSIFY_REJUDGED);
	assert_int_equal(conv_end(&cv)->enc, EF_ENC_CLEARTEXT);
}

static void a_conflicting_flow_is_never_encrypted(void **state)
{
	struct conv cv;
	uint8_t b[1024], other[1024];

	conv_start(&cv, 443);
	handshake(&cv);
	size_t n = client_hello(b);
	segment(&cv, 0, b, n);
	memcpy(other, b, n);
	other[n - 3] ^= 0x55; /* the same range again, one byte different */
	segment_at(&cv, 0, 0x18, -(int32_t)n, other, n);
	segment(&cv, 1, b, server_hello(b, 0x0303, 0xc02f));
	static const uint8_t ccs[] = {0x14, 3, 3, 0, 1, 1};
	segment(&cv, 0, ccs, sizeof(ccs));
	uint8_t body[40];
	rnd_bytes(body, sizeof(body));
	segment(&cv, 0, b, record(b, 22, body, sizeof(body)));
	const struct ef_flow_record *r = conv_end(&cv);
	assert_true(r->reassembly_conflict);
	assert_int_equal(r->enc, EF_ENC_UNKNOWN);
}

/* A SYN with a new ISN on a 5-tuple still in the table, or after the old
 * connection closed, is a new connection with its own event. */
/* RFC 5961: a SYN that meets a server still holding the tuple's old
 * connection gets a challenge ACK; the client resets the old connection and
 * sends the same SYN again.  One connection attempt: one flow, one event. */
static void a_syn_retried_after_a_challenge_ack_is_one_flow(void **state)
{
	struct conv cv;

	conv_start(&cv, 80);
	segment_at(&cv, 0, 0x02, -1, NULL, 0);            /* SYN */
	segment_at(&cv, 1, 0x10, 5000, NULL, 0);          /* challenge ACK, the old connection's */
	segment_at(&cv, 0, 0x04, 7000, NULL, 0);          /* RST in the old connection's space */
	handshake(&cv);                                   /* the same SYN again, answered */
	text(&cv, 0, http_request);
	const struct ef_flow_record *r = conv_end(&cv);   /* asserts one flow ended */
	assert_int_equal(r->enc, EF_ENC_CLEARTEXT);
	assert_int_equal(r->bytes_out, strlen(http_request));
}

static void a_reused_source_port_is_a_new_flow(void **state)
{
	struct conv cv;

	conv_start(&cv, 80);
	handshake(&cv);
	text(&cv, 0, http_request);
	cv.seq[0] += 100000; /* a new ISN, no FIN or RST before it */
	cv.seq[1] += 100000;
	handshake(&cv);
	assert_int_equal(cv.ended, 1); /* the first connection's event is out */
	assert_int_equal(cv.last.bytes_out, strlen(http_request));
	text(&cv, 0, "GET / HTTP/1.1\r\nHost: b\r\n\r\n");
	/* FIN both ways, then a SYN with the same ISN as before: closed, so new */
	segment_at(&cv, 0, 0x11, 0, NULL, 0);
	segment_at(&cv, 1, 0x11, 0, NULL, 0);
	cv.seq[0] -= 27;
	segment_at(&cv, 0, 0x02, -1, NULL, 0);
	assert_int_equal(cv.ended, 2);
	assert_int_equal(cv.last.bytes_out, 27);
	/* a retransmitted SYN of an open connection is the same flow */
	segment_at(&cv, 0, 0x02, -1, NULL, 0);
	assert_int_equal(cv.ended, 2);
	classifier_flush(cv.c);
	assert_int_equal(cv.ended, 3);
	classifier_free(cv.c);
}

/* After NEWKEYS: ciphertext (with clear 4-byte lengths, as in EtM and GCM
 * modes) keeps the flow encrypted, the server's key exchange packets after
 * the decision are walked as SSH, and text is caught. */
static void ssh_text_after_newkeys_is_rejudged(void **state)
{
	struct conv cv;
	uint8_t b[1024];

	conv_start(&cv, 22);
	handshake(&cv);
	text(&cv, 1, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
	text(&cv, 0, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
	segment(&cv, 0, b, ssh_packet(b, 20, 200));
	segment(&cv, 1, b, ssh_packet(b, 20, 200));
	segment(&cv, 0, b, ssh_packet(b, 30, 40));
	assert_int_equal(segment(&cv, 0, b, ssh_packet(b, 21, 0)), CLASSIFY_DECIDED);
	assert_int_equal(segment(&cv, 1, b, ssh_packet(b, 31, 300)), CLASSIFY_NONE); /* the server's reply */
	assert_int_equal(segment(&cv, 1, b, ssh_packet(b, 21, 0)), CLASSIFY_NONE);
	for (int i = 0; i < 200; i++) { /* interactive packets: 4 clear length bytes in 36 */
		int dir = i & 1;
		b[0] = 0; b[1] = 0; b[2] = 0; b[3] = 16;
		rnd_bytes(b + 4, 32);
		assert_int_equal(segment(&cv, dir, b, 36), CLASSIFY_NONE);
	}
	rnd_bytes(b, 1000);
	assert_int_equal(segment(&cv, 1, b, 1000), CLASSIFY_NONE);
	char t[300];
	for (size_t i = 0; i < sizeof(t); i++)
		t[i] = http_request[i % strlen(http_request)];
	assert_int_equal(segment(&cv, 0, t, sizeof(t)), CLASSIFY_REJUDGED);
	const struct ef_flow_record *r = conv_end(&cv);
	assert_int_equal(r->enc, EF_ENC_CLEARTEXT);
	assert_true(r->rejudged);
	assert_int_equal(r->rejudge_dir, 0);
}

/* A long TLS 1.3 session of random records, both ways, in segments cut
 * anywhere (records spanning segments, headers cut in two): never rejudged. */
static void long_random_tls_session_is_never_rejudged(void **state)
{
	struct conv cv;
	static uint8_t stream[2][200000];
	size_t len[2] = {0, 0};
	uint8_t b[1024];

	conv_start(&cv, 443);
	handshake(&cv);
	segment(&cv, 0, b, client_hello(b));
	segment(&cv, 1, b, server_hello(b, 0x0304, 0x1301));
	random_record(b, 200);
	segment(&cv, 1, b, 205);
	random_record(b, 200);
	assert_int_equal(segment(&cv, 0, b, 205), CLASSIFY_DECIDED);
	for (int dir = 0; dir < 2; dir++) {
		while (len[dir] + 16384 + 5 < sizeof(stream[dir])) {
			size_t rl = 17 + prng8() % 64 * (prng8() & 1 ? 256 : 1);
			if (rl > 16384)
				rl = 16384;
			uint8_t *r = stream[dir] + len[dir];
			r[0] = 23; r[1] = 3; r[2] = 3; r[3] = (uint8_t)(rl >> 8); r[4] = (uint8_t)rl;
			rnd_bytes(r + 5, rl);
			len[dir] += 5 + rl;
		}
	}
	size_t off[2] = {0, 0};
	while (off[0] < len[0] || off[1] < len[1]) {
		int dir = off[0] < len[0] && (off[1] >= len[1] || (prng8() & 1)) ? 0 : 1;
		size_t n = 1 + prng8() % 1460;
		if (n > len[dir] - off[dir])
			n = len[dir] - off[dir];
		if (segment(&cv, dir, stream[dir] + off[dir], n) != CLASSIFY_NONE)
			fail_msg("rejudged at byte %zu of direction %d", off[dir], dir);
		off[dir] += n;
	}
	const struct ef_flow_record *r = conv_end(&cv);
	assert_int_equal(r->enc, EF_ENC_ENCRYPTED);
	assert_false(r->rejudged);
}

/* Sampling never lets a long run of text through: 2,400 readable bytes
 * (more than the longest idle stretch plus two windows) in the middle of a
 * 16 KiB record, after 6,000 random ones, are caught in every flow,
 * whatever the idle lengths drawn for it. */
static void a_long_text_run_inside_a_long_record_is_always_caught(void **state)
{
	static uint8_t rec[5 + 16384];

	for (int flow = 0; flow < 64; flow++) {
		struct conv cv;
		uint8_t b[1024];
		conv_start(&cv, 443);
		cv.cport = (uint16_t)(30000 + flow);
		handshake(&cv);
		size_t base = client_hello(b);
		segment(&cv, 0, b, base);
		segment(&cv, 1, b, server_hello(b, 0x0304, 0x1301));
		random_record(b, 200);
		assert_int_equal(segment(&cv, 0, b, 205), CLASSIFY_DECIDED);
		base += 205 + 5; /* the long record's body starts here */
		rec[0] = 23; rec[1] = 3; rec[2] = 3; rec[3] = 0x40; rec[4] = 0;
		rnd_bytes(rec + 5, 16384);
		for (size_t i = 0; i < 2400; i++)
			rec[5 + 6000 + i] = (uint8_t)http_request[i % strlen(http_request)];
		enum classify_event ev = CLASSIFY_NONE;
		for (size_t off = 0; off < sizeof(rec) && ev == CLASSIFY_NONE; off += 1448)
			ev = segment(&cv, 0, rec + off, sizeof(rec) - off < 1448 ? sizeof(rec) - off : 1448);
		if (ev != CLASSIFY_REJUDGED)
			fail_msg("flow %d: the text run was not caught", flow);
		const struct ef_flow_record *r = conv_end(&cv);
		assert_int_equal(r->enc, EF_ENC_CLEARTEXT);
		/* the window that broke lies within the text run */
		assert_true(r->rejudge_offset + LOOK_WINDOW > base + 6000 && r->rejudge_offset < base + 8400);
	}
}

/* ---- the cleartext handshake (walkers.c's struct hs_count) -------------------
 * Every byte a side sends before its protected part is counted; fields the
 * protocol fills with random bytes are judged by look_judge() and, when
 * random, are not held against the allowance; anything that breaks a
 * structural rule makes the flow cleartext, with the reason. */

/* A TLS 1.3 ClientHello (random, a 32-byte session id) whose key_share
 * holds one share of `n' bytes in `group'. */
static size_t hello_with_share(uint8_t *b, uint16_t group, const uint8_t *share, size_t n)
{
	static uint8_t body[4096];
	size_t o = 0;

	body[o++] = 3; body[o++] = 3;
	rnd_bytes(body + o, 32); o += 32;
	body[o++] = 32;
	rnd_bytes(body + o, 32); o += 32;   /* a compatibility-mode session id */
	body[o++] = 0; body[o++] = 2; body[o++] = 0x13; body[o++] = 0x01;
	body[o++] = 1; body[o++] = 0;
	size_t ext_len = 4 + 3 + 4 + 6 + 4 + 2 + 4 + n;
	body[o++] = (uint8_t)(ext_len >> 8); body[o++] = (uint8_t)ext_len;
	static const uint8_t versions[] = {0, 0x2b, 0, 3, 2, 3, 4};
	memcpy(body + o, versions, sizeof(versions)); o += sizeof(versions);
	const uint8_t groups[] = {0, 0x0a, 0, 4, 0, 2, (uint8_t)(group >> 8), (uint8_t)group};
	memcpy(body + o, groups, sizeof(groups)); o += sizeof(groups);
	body[o++] = 0; body[o++] = 51;                  /* key_share */
	body[o++] = (uint8_t)((n + 6) >> 8); body[o++] = (uint8_t)(n + 6);
	body[o++] = (uint8_t)((n + 4) >> 8); body[o++] = (uint8_t)(n + 4);
	body[o++] = (uint8_t)(group >> 8); body[o++] = (uint8_t)group;
	body[o++] = (uint8_t)(n >> 8); body[o++] = (uint8_t)n;
	memcpy(body + o, share, n); o += n;
	size_t hs = 4 + o;
	b[0] = 0x16; b[1] = 3; b[2] = 1; b[3] = (uint8_t)(hs >> 8); b[4] = (uint8_t)hs;
	b[5] = 1; b[6] = 0; b[7] = (uint8_t)(o >> 8); b[8] = (uint8_t)o;
	memcpy(b + 9, body, o);
	return 9 + o;
}

/* A TLS 1.3 session after `hello' (and `early' bytes of early data, random
 * or text): ServerHello, the client's CCS and first protected record. */
static const struct ef_flow_record *tls13_after(const uint8_t *hello, size_t n, size_t early, bool early_text)
{
	static struct conv cv;
	static uint8_t b[16384];
	static const uint8_t ccs[] = {0x14, 3, 3, 0, 1, 1};

	conv_start(&cv, 443);
	handshake(&cv);
	segment(&cv, 0, hello, n);
	if (early) {
		b[0] = 0x17; b[1] = 3; b[2] = 3; b[3] = (uint8_t)(early >> 8); b[4] = (uint8_t)early;
		for (size_t i = 0; i < early; i++)
			b[5 + i] = early_text ? (uint8_t)http_request[i % strlen(http_request)] : (uint8_t)(rand() & 0xff);
		segment(&cv, 0, b, 5 + early);
	}
	segment(&cv, 1, b, server_hello(b, 0x0304, 0x1301));
	segment(&cv, 0, ccs, sizeof(ccs));
	random_record(b, 200);
	segment(&cv, 0, b, 205);
	return conv_end(&cv);
}

/* X25519MLKEM768's client share: an ML-KEM-768 encapsulation key (three
 * polynomials of 256 coefficients mod 3329, 12 bits each, then a 32-byte
 * seed; FIPS 203) and an X25519 key.  Its bytes are not uniform (every
 * third is at most 0xd0), and it must still be judged random. */
static size_t mlkem768_x25519_share(uint8_t *out)
{
	size_t o = 0;

	for (int i = 0; i < 3 * 256; i += 2) {
		uint32_t a = (uint32_t)rand() % 3329, c = (uint32_t)rand() % 3329;
		out[o++] = (uint8_t)a;
		out[o++] = (uint8_t)(a >> 8 | (c & 0xf) << 4);
		out[o++] = (uint8_t)(c >> 4);
	}
	rnd_bytes(out + o, 32 + 32);
	return o + 64;
}

static void a_post_quantum_key_share_is_proven_not_counted(void **state)
{
	static uint8_t hello[4096], share[1216];
	size_t n = mlkem768_x25519_share(share);

	assert_int_equal(n, 1216);
	const struct ef_flow_record *r = tls13_after(hello, hello_with_share(hello, 0x11ec, share, n), 0, false);
	assert_int_equal(r->enc, EF_ENC_ENCRYPTED);
	assert_true(r->handshake_clear[0] > 1216 + 64);
	/* the share, the random and the session id are proven: what is left is
	 * the hello's structure */
	assert_true(r->handshake_unproven[0] < 120);
	assert_null(r->cleartext_reason);

	/* the same share carrying text instead */
	for (size_t i = 0; i < n; i++)
		share[i] = (uint8_t)http_request[i % strlen(http_request)];
	r = tls13_after(hello, hello_with_share(hello, 0x11ec, share, n), 0, false);
	assert_int_equal(r->enc, EF_ENC_CLEARTEXT);
	assert_string_equal(r->cleartext_reason, "a key share that is not random");
}

/* Early data is unproven: random early data passes up to the allowance
 * (2048 unproven bytes), one byte more does not. */
static void early_data_is_bounded_by_the_allowance(void **state)
{
	static uint8_t hello[4096], share[32];

	rnd_bytes(share, sizeof(share));
	size_t n = hello_with_share(hello, 0x001d, share, sizeof(share));
	const struct ef_flow_record *r = tls13_after(hello, n, 1000, false);
	assert_int_equal(r->enc, EF_ENC_ENCRYPTED);
	uint32_t fixed = r->handshake_unproven[0] - 1005; /* the hello's unproven bytes */
	size_t at_limit = 2048 - fixed - 5;
	r = tls13_after(hello, n, at_limit, false);
	assert_int_equal(r->handshake_unproven[0], 2048);
	assert_int_equal(r->enc, EF_ENC_ENCRYPTED);
	r = tls13_after(hello, n, at_limit + 1, false);
	assert_int_equal(r->handshake_unproven[0], 2049);
	assert_int_equal(r->enc, EF_ENC_CLEARTEXT);
	assert_string_equal(r->cleartext_reason,
			    "more of the handshake in the clear than the allowance (bytes not proven random or X.509)");
	/* and text is never early data, however short */
	r = tls13_after(hello, n, 200, true);
	assert_int_equal(r->enc, EF_ENC_CLEARTEXT);
	assert_string_equal(r->cleartext_reason, "readable early data before the ServerHello");
}

/* An SSH packet whose padding leaves no room for its message number
 * (padding length = packet length - 1): not SSH, and never parsed as a
 * KEXINIT of (size_t)-1 bytes. */
static void ssh_packet_without_payload_is_not_ssh(void **state)
{
	struct conv cv;
	uint8_t b[16] = {0, 0, 0, 12, 11, 20};

	conv_start(&cv, 22);
	handshake(&cv);
	text(&cv, 1, "SSH-2.0-OpenSSH_9.2p1\r\n");
	text(&cv, 0, "SSH-2.0-OpenSSH_9.2p1\r\n");
	segment(&cv, 0, b, sizeof(b));
	const struct ef_flow_record *r = conv_end(&cv);
	assert_int_equal(r->enc, EF_ENC_CLEARTEXT);
	assert_null(r->cleartext_reason); /* broken framing, not a judged KEXINIT */
}

/* TLS 1.2 with a pre-shared key (RFC 4279): the server's identity hint and
 * the client's identity are names, text by design, and stay within the
 * allowance; outside a PSK suite the same ClientKeyExchange is text where
 * an encrypted secret belongs. */
static const struct ef_flow_record *tls12_psk(uint16_t cipher)
{
	static struct conv cv;
	uint8_t b[512];
	static const uint8_t ccs[] = {0x14, 3, 3, 0, 1, 1};
	static const char hint[] = "Fleet 7 devices: use the identity printed on the sensor label, then the plant code",
			 id[] = "sensor-0042.plant-3.example";

	conv_start(&cv, 443);
	handshake(&cv);
	segment(&cv, 0, b, client_hello(b));
	/* ServerHello, ServerKeyExchange (the hint), ServerHelloDone */
	size_t n = server_hello(b, 0x0303, cipher), h = strlen(hint);
	uint8_t *m = b + n;
	m[0] = 0x16; m[1] = 3; m[2] = 3; m[3] = 0; m[4] = (uint8_t)(4 + 2 + h + 4);
	m[5] = 12; m[6] = 0; m[7] = 0; m[8] = (uint8_t)(2 + h); m[9] = 0; m[10] = (uint8_t)h;
	memcpy(m + 11, hint, h);
	memcpy(m + 11 + h, "\x0e\0\0\0", 4);
	segment(&cv, 1, b, n + 11 + h + 4);
	size_t k = strlen(id);
	b[0] = 0x16; b[1] = 3; b[2] = 3; b[3] = 0; b[4] = (uint8_t)(4 + 2 + k);
	b[5] = 16; b[6] = 0; b[7] = 0; b[8] = (uint8_t)(2 + k); b[9] = 0; b[10] = (uint8_t)k;
	memcpy(b + 11, id, k);
	segment(&cv, 0, b, 11 + k);
	segment(&cv, 0, ccs, sizeof(ccs));
	random_record(b, 40);
	b[0] = 0x16;
	segment(&cv, 0, b, 45);
	return conv_end(&cv);
}

static void psk_identities_are_names_not_secrets(void **state)
{
	const struct ef_flow_record *r = tls12_psk(0x00a8); /* TLS_PSK_WITH_AES_128_GCM_SHA256 */
	assert_int_equal(r->enc, EF_ENC_ENCRYPTED);
	assert_null(r->cleartext_reason);
	r = tls12_psk(0xc02f); /* ECDHE-RSA: the same bytes are no key exchange */
	assert_int_equal(r->enc, EF_ENC_CLEARTEXT);
	assert_string_equal(r->cleartext_reason, "a ServerKeyExchange that is not random");
}

/* An SSH session whose client KEXINIT carries `kex' as its first name-list. */
static const struct ef_flow_record *ssh_with_kex(const char *kex)
{
	static struct conv cv;
	uint8_t b[1024], p[600];
	size_t o = 0, k = strlen(kex);

	p[o++] = 20;
	rnd_bytes(p + o, 16); o += 16;
	p[o++] = 0; p[o++] = 0; p[o++] = (uint8_t)(k >> 8); p[o++] = (uint8_t)k;
	memcpy(p + o, kex, k); o += k;
	memset(p + o, 0, 9 * 4 + 5); o += 9 * 4 + 5;
	size_t pad = 4;
	while ((5 + o + pad) % 8)
		pad++;
	size_t plen = 1 + o + pad;
	b[0] = 0; b[1] = 0; b[2] = (uint8_t)(plen >> 8); b[3] = (uint8_t)plen; b[4] = (uint8_t)pad;
	memcpy(b + 5, p, o);
	rnd_bytes(b + 5 + o, pad);
	conv_start(&cv, 22);
	handshake(&cv);
	text(&cv, 1, "SSH-2.0-OpenSSH_9.2p1\r\n");
	text(&cv, 0, "SSH-2.0-OpenSSH_9.2p1\r\n");
	segment(&cv, 0, b, 4 + plen);
	segment(&cv, 1, b, ssh_packet(b, 20, 200));
	segment(&cv, 0, b, ssh_packet(b, 30, 40));
	segment(&cv, 1, b, ssh_packet(b, 31, 100));
	segment(&cv, 0, b, ssh_packet(b, 21, 0));
	return conv_end(&cv);
}

/* RFC 4250 4.6.1: an algorithm name is at most 64 characters. */
static void ssh_algorithm_names_keep_their_limits(void **state)
{
	char name[100];

	memset(name, 'k', 64);
	strcpy(name + 64, ",curve25519-sha256");
	assert_int_equal(ssh_with_kex(name)->enc, EF_ENC_ENCRYPTED);
	memset(name, 'k', 65);
	strcpy(name + 65, ",curve25519-sha256");
	const struct ef_flow_record *r = ssh_with_kex(name);
	assert_int_equal(r->enc, EF_ENC_CLEARTEXT);
	assert_string_equal(r->cleartext_reason, "an SSH KEXINIT name-list that is not algorithm names");
	r = ssh_with_kex("curve25519-sha256,,ecdh-sha2-nistp256"); /* an empty name */
	assert_int_equal(r->enc, EF_ENC_CLEARTEXT);
	r = ssh_with_kex("curve25519 sha256 is what we use"); /* spaces */
	assert_int_equal(r->enc, EF_ENC_CLEARTEXT);
}

/* SMTP before STARTTLS: an EHLO's argument is a domain (labels <= 63) or
 * an address literal, and a command line at most 512 octets. */
static const struct ef_flow_record *smtp_with_ehlo(const char *line)
{
	static struct conv cv;
	uint8_t b[1024];
	static const uint8_t ccs[] = {0x14, 3, 3, 0, 1, 1};

	conv_start(&cv, 25);
	handshake(&cv);
	text(&cv, 1, "220 mail.example ESMTP Postfix\r\n");
	text(&cv, 0, line);
	text(&cv, 1, "250-mail.example\r\n250-STARTTLS\r\n250 8BITMIME\r\n");
	text(&cv, 0, "STARTTLS\r\n");
	text(&cv, 1, "220 2.0.0 Ready to start TLS\r\n");
	segment(&cv, 0, b, client_hello(b));
	segment(&cv, 1, b, server_hello(b, 0x0303, 0xc02f));
	segment(&cv, 0, ccs, sizeof(ccs));
	random_record(b, 40);
	b[0] = 0x16;
	segment(&cv, 0, b, 45);
	return conv_end(&cv);
}

static void smtp_hello_keeps_rfc5321_limits(void **state)
{
	char line[700];

	assert_int_equal(smtp_with_ehlo("EHLO [IPv6:2001:db8::1]\r\n")->enc, EF_ENC_ENCRYPTED);
	assert_int_equal(smtp_with_ehlo("EHLO [192.0.2.1]\r\n")->enc, EF_ENC_ENCRYPTED);
	/* a 63-character label is a domain; 64 is not */
	strcpy(line, "EHLO ");
	memset(line + 5, 'a', 63);
	strcpy(line + 68, ".example.com\r\n");
	assert_int_equal(smtp_with_ehlo(line)->enc, EF_ENC_ENCRYPTED);
	memset(line + 5, 'a', 64);
	strcpy(line + 69, ".example.com\r\n");
	const struct ef_flow_record *r = smtp_with_ehlo(line);
	assert_int_equal(r->enc, EF_ENC_CLEARTEXT);
	assert_string_equal(r->cleartext_reason, "an SMTP hello whose argument is not a domain or address literal");
	/* NOOP's argument is free, but not its length: 510 octets and CRLF
	 * (512) pass, 511 and CRLF do not */
	char noop[600];
	strcpy(noop, "EHLO client.example\r\nNOOP ");
	size_t at = strlen(noop);
	memset(noop + at, 'x', 510 - 5);
	strcpy(noop + at + 505, "\r\n");
	assert_int_equal(smtp_with_ehlo(noop)->enc, EF_ENC_ENCRYPTED);
	memset(noop + at, 'x', 511 - 5);
	strcpy(noop + at + 506, "\r\n");
	r = smtp_with_ehlo(noop);
	assert_int_equal(r->enc, EF_ENC_CLEARTEXT);
	assert_string_equal(r->cleartext_reason, "a command line longer than 512 octets before STARTTLS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_table_row_has_its_expected_class),
		cmocka_unit_test(cipher_strength_follows_the_suite),
		cmocka_unit_test(http_is_cleartext),
		cmocka_unit_test(http_in_one_byte_segments_is_still_http),
		cmocka_unit_test(http_out_of_order_is_put_back_in_order),
		cmocka_unit_test(conflicting_retransmission_is_flagged_and_first_copy_wins),
		cmocka_unit_test(tls13_with_aes128_is_encrypted),
		cmocka_unit_test(tls10_is_weak_and_rc4_is_weak),
		cmocka_unit_test(tls_without_a_completed_handshake_is_not_encrypted),
		cmocka_unit_test(client_hello_then_plain_data_is_cleartext),
		cmocka_unit_test(readable_text_inside_tls_records_is_cleartext),
		cmocka_unit_test(ssh_is_encrypted_after_newkeys),
		cmocka_unit_test(ssh_banner_then_plain_data_is_cleartext),
		cmocka_unit_test(smtp_starttls_before_data_is_encrypted),
		cmocka_unit_test(smtp_refused_starttls_then_mail_is_cleartext),
		cmocka_unit_test(udp_with_no_known_protocol_is_unknown),
		cmocka_unit_test(full_table_evicts_and_reports),
		cmocka_unit_test(hash_is_symmetric),
		cmocka_unit_test(look_thresholds_are_the_exact_tails),
		cmocka_unit_test(random_passes_and_text_base64_hex_xor_fail),
		cmocka_unit_test(lone_ccs_after_server_hello_is_not_encrypted),
		cmocka_unit_test(text_in_records_after_the_handshake_is_rejudged),
		cmocka_unit_test(raw_text_after_the_handshake_is_rejudged),
		cmocka_unit_test(a_gap_costs_the_framing_not_the_text_check),
		cmocka_unit_test(a_conflicting_flow_is_never_encrypted),
		cmocka_unit_test(a_reused_source_port_is_a_new_flow),
		cmocka_unit_test(a_syn_retried_after_a_challenge_ack_is_one_flow),
		cmocka_unit_test(ssh_text_after_newkeys_is_rejudged),
		cmocka_unit_test(long_random_tls_session_is_never_rejudged),
		cmocka_unit_test(a_long_text_run_inside_a_long_record_is_always_caught),
		cmocka_unit_test(a_post_quantum_key_share_is_proven_not_counted),
		cmocka_unit_test(early_data_is_bounded_by_the_allowance),
		cmocka_unit_test(ssh_algorithm_names_keep_their_limits),
		cmocka_unit_test(smtp_hello_keeps_rfc5321_limits),
		cmocka_unit_test(psk_identities_are_names_not_secrets),
		cmocka_unit_test(ssh_packet_without_payload_is_not_ssh),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
