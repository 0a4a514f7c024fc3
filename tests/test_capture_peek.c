/*
 * tests/test_capture_peek.c -- capture/'s decoder_peek(): the audit's
 * workers route the frames they do not own by it, without decoding them,
 * so it must route every frame exactly as decoder_decode() would, or
 * decline it.  The property checked everywhere here: a frame the peek
 * accepts decodes to DECODE_OK with the same addresses, protocol, ports,
 * TCP flags and payload.  Frames are built byte by byte, then mutated at
 * random (a fixed seed) and, when ../shared/pcaps is there, read from real
 * captures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture/capture.h"
#include "frames.h"

/* ---- frames ------------------------------------------------------------ */

static size_t put_ethernet(uint8_t *b, int vlans, uint16_t type)
{
	size_t n = 12;

	memset(b, 0x11, 12);
	for (int i = 0; i < vlans; i++) {
		uint16_t tag = i == 0 && vlans > 1 ? 0x88a8 : 0x8100;
		b[n] = (uint8_t)(tag >> 8);
		b[n + 1] = (uint8_t)tag;
		b[n + 2] = 0;
		b[n + 3] = (uint8_t)(10 + i);
		n += 4;
	}
	b[n] = (uint8_t)(type >> 8);
	b[n + 1] = (uint8_t)type;
	return n + 2;
}

static size_t put_ipv4(uint8_t *b, uint8_t proto, uint32_t l4_len, uint16_t frag, size_t options)
{
	uint32_t hl = 20 + (uint32_t)options, total = hl + l4_len;

	memset(b, 0, hl);
	b[0] = (uint8_t)(0x40 | hl / 4);
	b[2] = (uint8_t)(total >> 8);
	b[3] = (uint8_t)total;
	b[6] = (uint8_t)(frag >> 8);
	b[7] = (uint8_t)frag;
	b[8] = 64;
	b[9] = proto;
	memcpy(b + 12, (uint8_t[]){10, 9, 0, 2}, 4);
	memcpy(b + 16, (uint8_t[]){198, 51, 100, 10}, 4);
	for (size_t i = 0; i < options; i++)
		b[20 + i] = 1; /* NOP */
	return hl;
}

static size_t put_ipv6(uint8_t *b, uint8_t next, uint32_t payload_len)
{
	memset(b, 0, 40);
	b[0] = 0x60;
	b[4] = (uint8_t)(payload_len >> 8);
	b[5] = (uint8_t)payload_len;
	b[6] = next;
	b[7] = 64;
	b[8] = 0x20;
	b[9] = 0x01;
	b[23] = 2;
	b[24] = 0x20;
	b[25] = 0x01;
	b[39] = 10;
	return 40;
}

static size_t put_tcp(uint8_t *b, uint16_t sport, uint16_t dport, uint8_t flags, size_t options, const char *data)
{
	size_t hl = 20 + options, n = strlen(data);

	memset(b, 0, hl);
	b[0] = (uint8_t)(sport >> 8);
	b[1] = (uint8_t)sport;
	b[2] = (uint8_t)(dport >> 8);
	b[3] = (uint8_t)dport;
	b[12] = (uint8_t)(hl / 4 << 4);
	b[13] = flags;
	for (size_t i = 0; i < options; i++)
		b[20 + i] = 1; /* NOP */
	memcpy(b + hl, data, n);
	return hl + n;
}


enum { MAX_FRAME = 512 };

struct frame {
	uint8_t b[MAX_FRAME];
	size_t n;
	int dlt;
};

static const char ftp_line[] = "227 Entering Passive Mode (198,51,100,10,19,137)\r\n";

/* Ethernet, `vlans` tags, IPv4 (options bytes, frag field) and TCP. */
static struct frame v4_tcp(int vlans, size_t ip_options, uint16_t frag, size_t tcp_options)
{
	struct frame f = {.dlt = DLT_EN10MB};
	size_t l2 = put_ethernet(f.b, vlans, 0x0800);
	size_t l3 = 20 + ip_options;
	size_t l4 = put_tcp(f.b + l2 + l3, 21, 40000, 0x18, tcp_options, ftp_line);

	put_ipv4(f.b + l2, IPPROTO_TCP, (uint32_t)l4, frag, ip_options);
	f.n = l2 + l3 + l4;
	return f;
}

static struct frame v4_udp(uint16_t dport, const uint8_t *data, size_t n)
{
	struct frame f = {.dlt = DLT_EN10MB};
	size_t l2 = put_ethernet(f.b, 1, 0x0800);
	size_t l4 = frame_put_udp(f.b + l2 + 20, 5353, dport, data, n);

	put_ipv4(f.b + l2, IPPROTO_UDP, (uint32_t)l4, 0, 0);
	f.n = l2 + 20 + l4;
	return f;
}

static struct frame v6_tcp(uint8_t first_next)
{
	struct frame f = {.dlt = DLT_EN10MB};
	size_t l2 = put_ethernet(f.b, 0, 0x86dd), at = l2 + 40, ext = 0;

	if (first_next != IPPROTO_TCP) { /* one 8-byte extension header of that type */
		memset(f.b + at, 0, 8);
		f.b[at] = IPPROTO_TCP;
		f.b[at + 2] = 1; /* PadN ... */
		ext = 8;
	}
	size_t l4 = put_tcp(f.b + at + ext, 443, 50000, 0x10, 0, "\x17\x03\x03\x00\x10 sixteen bytes..");
	put_ipv6(f.b + l2, first_next, (uint32_t)(ext + l4));
	f.n = at + ext + l4;
	return f;
}

/* IPv4 in GRE in IPv4: the inner addresses are the packet's. */
static struct frame gre_tunnel(void)
{
	struct frame f = {.dlt = DLT_EN10MB};
	size_t l2 = put_ethernet(f.b, 0, 0x0800);
	uint8_t *gre = f.b + l2 + 20;
	struct frame inner = v4_tcp(0, 0, 0, 0);
	size_t inner_n = inner.n - 14;

	memset(gre, 0, 4);
	gre[2] = 0x08; /* carries IPv4 */
	memcpy(gre + 4, inner.b + 14, inner_n);
	gre[4 + 12] = 172; /* inner source differs from the outer one */
	put_ipv4(f.b + l2, IPPROTO_GRE, (uint32_t)(4 + inner_n), 0, 0);
	f.n = l2 + 20 + 4 + inner_n;
	return f;
}

/* Ethernet in VXLAN (UDP 4789) in IPv4. */
static struct frame vxlan_tunnel(void)
{
	uint8_t hdr[8 + MAX_FRAME];
	struct frame inner = v4_tcp(0, 0, 0, 0);

	memset(hdr, 0, 8);
	hdr[0] = 0x08;
	memcpy(hdr + 8, inner.b, inner.n);
	return v4_udp(4789, hdr, 8 + inner.n);
}

/* ---- the property ------------------------------------------------------- */

static bool same_route(const struct packet *a, const struct packet *b)
{
	return !memcmp(&a->src, &b->src, sizeof(a->src)) && !memcmp(&a->dst, &b->dst, sizeof(a->dst)) &&
	       a->l4 == b->l4 && a->sport == b->sport && a->dport == b->dport &&
	       (a->l4 != IPPROTO_TCP || a->tcp_flags == b->tcp_flags) && a->payload == b->payload &&
	       a->payload_len == b->payload_len;
}

/* Peeks at the frame, decodes it, and fails when the peek accepted a frame
 * the decoder reads otherwise.  Returns whether the peek accepted it. */
static bool peek_agrees(struct decoder *d, const uint8_t *b, size_t n, int dlt)
{
	struct capture_frame f = {.data = b, .caplen = (uint32_t)n, .wirelen = (uint32_t)n, .ts_us = 1, .linktype = dlt};
	struct packet peeked, decoded;

	memset(&peeked, 0xa5, sizeof(peeked)); /* nothing the peek leaves alone may matter */
	bool accepted = decoder_peek(&f, &peeked);
	enum decode_result r = decoder_decode(d, &f, &decoded);
	while (decoder_incomplete(d, &decoded))
		;
	if (accepted) {
		assert_int_equal(r, DECODE_OK);
		assert_true(same_route(&peeked, &decoded));
	}
	return accepted;
}

static void common_frames_are_peeked_as_decoded(void **state)
{
	(void)state;
	struct decoder *d = decoder_new(0);
	struct frame fs[] = {v4_tcp(0, 0, 0, 0), v4_tcp(1, 0, 0, 0), v4_tcp(2, 0, 0x4000, 12),
			     v4_udp(53, (const uint8_t *)"query", 5), v6_tcp(IPPROTO_TCP)};

	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++)
		assert_true(peek_agrees(d, fs[i].b, fs[i].n, fs[i].dlt));
	/* the IP total length, not the frame, ends the payload: padding is not data */
	struct frame padded = v4_tcp(0, 0, 0, 0);
	memset(padded.b + padded.n, 0, 16);
	assert_true(peek_agrees(d, padded.b, padded.n + 16, padded.dlt));
	decoder_free(d);
}

/* Tunnels, fragments, IP options and extension headers are left to the
 * decoder: the peek would route each by the wrong header. */
static void frames_the_decoder_treats_specially_are_declined(void **state)
{
	(void)state;
	struct decoder *d = decoder_new(0);
	struct frame fs[] = {gre_tunnel(), vxlan_tunnel(), v4_tcp(0, 8, 0, 0), v4_tcp(0, 0, 0x2000, 0),
			     v4_tcp(0, 0, 0x0010, 0), v6_tcp(0), v6_tcp(60), v6_tcp(44)};

	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++)
		assert_false(peek_agrees(d, fs[i].b, fs[i].n, fs[i].dlt));
	struct frame sll = v4_tcp(0, 0, 0, 0); /* a link type the peek does not read */
	assert_false(peek_agrees(d, sll.b, sll.n, DLT_LINUX_SLL));
	struct frame plain = v4_tcp(0, 0, 0, 0);
	for (size_t cut = 0; cut < plain.n; cut++) { /* every truncation of a plain frame */
		if (cut < 14 + 20 + 20)
			assert_false(peek_agrees(d, plain.b, cut, plain.dlt));
		else
			peek_agrees(d, plain.b, cut, plain.dlt);
	}
	decoder_free(d);
}

static uint64_t next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Every frame above, with up to four header bytes changed at random: the
 * peek agrees with the decoder or declines, never routes otherwise. */
static void mutated_frames_are_peeked_as_decoded_or_declined(void **state)
{
	(void)state;
	struct decoder *d = decoder_new(0);
	struct frame fs[] = {v4_tcp(0, 0, 0, 0), v4_tcp(1, 4, 0, 0), v4_tcp(2, 0, 0, 8), v4_udp(53, (const uint8_t *)"x", 1),
			     v6_tcp(IPPROTO_TCP), v6_tcp(0), gre_tunnel(), vxlan_tunnel()};
	uint64_t seed = 0x9e3779b97f4a7c15u, accepted = 0, declined = 0;

	for (int round = 0; round < 200000; round++) {
		struct frame f = fs[next_random(&seed) % (sizeof(fs) / sizeof(fs[0]))];
		int changes = 1 + (int)(next_random(&seed) % 4);
		for (int k = 0; k < changes; k++) {
			size_t at = next_random(&seed) % (f.n < 100 ? f.n : 100);
			f.b[at] = (uint8_t)next_random(&seed);
		}
		if (next_random(&seed) % 8 == 0)
			f.n = next_random(&seed) % (f.n + 1);
		if (peek_agrees(d, f.b, f.n, f.dlt))
			accepted++;
		else
			declined++;
	}
	/* both sides exercised, or the check above proves nothing */
	assert_true(accepted > 10000);
	assert_true(declined > 10000);
	decoder_free(d);
}

/* Every frame of the shared captures (../shared/pcaps): real link layers,
 * tunnels and damage. */
static void shared_captures_are_peeked_as_decoded_or_declined(void **state)
{
	(void)state;
	const char *paths[] = {EF_SHARED_PCAPS "/ndpi", EF_SHARED_PCAPS "/bench-base.pcap"};
	struct stat st;
	char err[256];

	if (stat(paths[0], &st) != 0 || stat(paths[1], &st) != 0)
		skip(); /* not every checkout has them */
	struct capture *c = capture_open_files(paths, 2, err, sizeof(err));
	assert_non_null(c);
	struct decoder *d = decoder_new(0);
	struct capture_frame f;
	struct packet peeked, decoded;
	enum capture_status s;
	uint64_t accepted = 0;

	while ((s = capture_next(c, &f)) != CAPTURE_END) {
		if (s != CAPTURE_OK)
			continue;
		bool ok = decoder_peek(&f, &peeked);
		enum decode_result r = decoder_decode(d, &f, &decoded);
		while (decoder_incomplete(d, &decoded))
			;
		if (!ok)
			continue;
		accepted++;
		if (r != DECODE_OK || !same_route(&peeked, &decoded))
			fail_msg("%s frame %llu: peeked otherwise than decoded", capture_file_name(c, f.file),
				 (unsigned long long)f.index);
	}
	assert_true(accepted > 0);
	decoder_free(d);
	capture_close(c);
}

/*
 * A frame passed instead of decoded leaves the decoder as the decode would
 * have: a datagram whose fragments never complete is handed on at the time
 * of the last frame read, whichever worker decoded that frame.
 */
static void passed_frames_count_and_time_as_decoded_ones(void **state)
{
	(void)state;
	struct frame first = v4_tcp(0, 0, 0x2000, 0), later = v4_tcp(0, 0, 0, 0);
	struct capture_frame ff = {.data = first.b, .caplen = (uint32_t)first.n, .wirelen = (uint32_t)first.n,
				   .ts_us = 1000000, .linktype = DLT_EN10MB};
	struct capture_frame lf = {.data = later.b, .caplen = (uint32_t)later.n, .wirelen = (uint32_t)later.n,
				   .ts_us = 3000000, .linktype = DLT_EN10MB, .file = 0, .index = 2};
	struct packet p, q;
	uint64_t ts[2];

	for (int pass = 0; pass < 2; pass++) {
		struct decoder *d = decoder_new(0);
		assert_int_equal(decoder_decode(d, &ff, &p), DECODE_FRAGMENT);
		assert_true(decoder_peek(&lf, &q));
		if (pass)
			decoder_pass(d, &lf);
		else
			assert_int_equal(decoder_decode(d, &lf, &p), DECODE_OK);
		assert_int_equal(decoder_stats(d)->frames, 2);
		assert_int_equal(decoder_stats(d)->decoded, 1);
		decoder_give_up_fragments(d);
		assert_true(decoder_incomplete(d, &p));
		ts[pass] = p.ts_us;
		decoder_free(d);
	}
	assert_int_equal(ts[0], 3000000);
	assert_int_equal(ts[1], ts[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(common_frames_are_peeked_as_decoded),
		cmocka_unit_test(frames_the_decoder_treats_specially_are_declined),
		cmocka_unit_test(mutated_frames_are_peeked_as_decoded_or_declined),
		cmocka_unit_test(shared_captures_are_peeked_as_decoded_or_declined),
		cmocka_unit_test(passed_frames_count_and_time_as_decoded_ones),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
