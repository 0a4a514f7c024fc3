/*
 * tests/test_reassembly.c -- classify/reassembly.c: one TCP direction put
 * back in order.  Each test sends segments in a stated order and asserts
 * exactly which bytes the stream kept: the first copy of every byte, in
 * every order of arrival, and never more held than the bound, whatever a
 * sender repeats.  The last test puts a TCP Fast Open SYN through the whole
 * classifier.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "classify/internal.h"

#define ISN 1000u

struct fixture {
	struct stream s;
	struct classifier_stats st;
};

/* A stream whose SYN said ISN - 1, so byte 0 is at ISN. */
static void start(struct fixture *x)
{
	memset(x, 0, sizeof(*x));
	x->s.seq_known = true;
	x->s.base_seq = x->s.next_seq = ISN;
}

static void add(struct fixture *x, uint32_t at, const char *bytes)
{
	stream_add(&x->s, ISN + at, (const uint8_t *)bytes, (uint32_t)strlen(bytes), &x->st);
}

static void assert_kept(struct fixture *x, const char *want)
{
	assert_int_equal(x->s.hist_len, strlen(want));
	assert_memory_equal(x->s.hist, want, strlen(want));
}

static uint32_t held_bytes(const struct stream *s)
{
	uint32_t n = 0;

	for (int i = 0; i < s->n_ooo; i++)
		n += s->ooo[i].len;
	return n;
}

/* No two held ranges share a byte, and each lies ahead of next_seq within
 * the bound. */
static void assert_held_disjoint_and_bounded(const struct stream *s)
{
	assert_true(s->n_ooo <= STREAM_MAX_OOO);
	assert_true(held_bytes(s) <= STREAM_HIST_MAX);
	for (int i = 0; i < s->n_ooo; i++) {
		const struct ooo_seg *a = &s->ooo[i];
		assert_true(a->len > 0);
		assert_true((int32_t)(a->seq - s->next_seq) > 0);
		assert_true(a->seq - s->next_seq + a->len <= STREAM_HIST_MAX);
		for (int k = i + 1; k < s->n_ooo; k++) {
			const struct ooo_seg *b = &s->ooo[k];
			bool apart = (int32_t)(a->seq + a->len - b->seq) <= 0 || (int32_t)(b->seq + b->len - a->seq) <= 0;
			assert_true(apart);
		}
	}
}

static void retransmission_of_kept_bytes_keeps_the_first_copy(void **state)
{
	struct fixture x;

	start(&x);
	add(&x, 0, "GET /a HTTP/1.1\r\n");
	add(&x, 4, "/evil HTTP");
	assert_kept(&x, "GET /a HTTP/1.1\r\n");
	assert_true(x.s.conflict);
	assert_int_equal(x.st.overlap_conflicts, 1);
	stream_free(&x.s);
}

/* The later in-order segment covers bytes held earlier: the held copy came
 * first, so it is the one kept. */
static void in_order_segment_over_held_bytes_keeps_the_held_copy(void **state)
{
	struct fixture x;

	start(&x);
	add(&x, 4, "HELD");
	add(&x, 0, "abcdWXYZefgh");
	assert_kept(&x, "abcdHELDefgh");
	assert_true(x.s.conflict);
	assert_int_equal(x.s.n_ooo, 0);
	stream_free(&x.s);
}

static void held_over_held_keeps_the_first_held_copy(void **state)
{
	struct fixture x;

	start(&x);
	add(&x, 4, "1111");       /* 4..7 */
	add(&x, 6, "22222222");   /* 6..13: 6..7 already held */
	add(&x, 2, "333333");     /* 2..7: 4..7 already held */
	assert_held_disjoint_and_bounded(&x.s);
	assert_int_equal(held_bytes(&x.s), 12); /* 2..13, each byte once */
	add(&x, 0, "00");
	assert_kept(&x, "00" "33" "1111" "222222");
	assert_true(x.s.conflict);
	stream_free(&x.s);
}

/* One segment spanning several held ranges, partly before, between and
 * after them. */
static void segment_across_held_ranges_fills_only_the_holes(void **state)
{
	struct fixture x;

	start(&x);
	add(&x, 4, "aa");           /* 4..5 */
	add(&x, 8, "bb");           /* 8..9 */
	add(&x, 2, "xxxxxxxxxx");   /* 2..11 */
	assert_held_disjoint_and_bounded(&x.s);
	assert_int_equal(held_bytes(&x.s), 10);
	add(&x, 0, "00");
	assert_kept(&x, "00" "xx" "aa" "xx" "bb" "xx");
	assert_true(x.s.conflict);
	stream_free(&x.s);
}

static void identical_copies_are_no_conflict(void **state)
{
	struct fixture x;
	const char *msg = "POST /upload HTTP/1.1\r\nHost: x\r\n\r\n";

	start(&x);
	add(&x, 10, msg + 10);
	add(&x, 5, msg + 5);
	add(&x, 20, msg + 20);
	add(&x, 0, msg);
	add(&x, 3, "T /upl");
	assert_kept(&x, msg);
	assert_false(x.s.conflict);
	assert_int_equal(x.st.overlap_conflicts, 0);
	stream_free(&x.s);
}

/* After a gap the bytes that follow are kept after the earlier ones; a late
 * copy of the bytes never seen is not compared with anything, and a late
 * copy of bytes after the gap is compared with them. */
static void gap_keeps_later_bytes_comparable(void **state)
{
	struct fixture x;

	start(&x);
	add(&x, 0, "AAAA");
	add(&x, 4 + STREAM_HIST_MAX + 100, "ZZZZ"); /* beyond the bound: the hole is given up */
	assert_true(x.s.gap);
	assert_int_equal(x.st.reassembly_gaps, 1);
	assert_kept(&x, "AAAAZZZZ");
	add(&x, 4, "QQQQ");                         /* the hole's bytes, late */
	add(&x, 0, "AAAA");
	assert_false(x.s.conflict);
	add(&x, 4 + STREAM_HIST_MAX + 100, "ZZYY"); /* a second, different copy */
	assert_true(x.s.conflict);
	assert_kept(&x, "AAAAZZZZ");
	stream_free(&x.s);
}

/* The attack that took 221 MB for 400 flows: segments ahead of a hole that
 * is never filled, each starting one byte later than the last and as long
 * as a segment may be, so that no two share a sequence number.  Whatever
 * arrives, the direction holds each byte once and at most STREAM_HIST_MAX
 * of them. */
static void held_bytes_stay_bounded_under_overlapping_segments(void **state)
{
	struct fixture x;
	static uint8_t junk[65536];
	uint32_t peak = 0;

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 7 + 3);
	start(&x);
	for (uint32_t i = 1; i <= 2000; i++) {
		stream_add(&x.s, x.s.next_seq + i, junk + i, 8192, &x.st);
		assert_held_disjoint_and_bounded(&x.s);
		if (held_bytes(&x.s) > peak)
			peak = held_bytes(&x.s);
	}
	assert_true(peak > 0 && peak <= STREAM_HIST_MAX);
	/* and pseudo-random out-of-order pieces of every size */
	uint32_t r = 12345;
	for (int i = 0; i < 20000; i++) {
		r = r * 1103515245u + 12345u;
		uint32_t at = x.s.next_seq - ISN + 1 + (r >> 8) % 40000u;
		r = r * 1103515245u + 12345u;
		uint32_t len = 1 + (r >> 8) % 3000u;
		stream_add(&x.s, ISN + at, junk + (at % 1000), len, &x.st);
		assert_held_disjoint_and_bounded(&x.s);
	}
	assert_true(x.st.reassembly_gaps > 0); /* the bound was hit and said so */
	assert_true(x.s.hist_len <= STREAM_HIST_MAX);
	stream_free(&x.s);
}

/* ---- through the classifier: a SYN's payload (TCP Fast Open) ---------------- */

static void on_end(struct flow *f, const struct ef_flow_record *r, void *ctx)
{
	*(struct ef_flow_record *)ctx = *r;
}

static void tcp(struct classifier *c, bool to_server, uint8_t flags, uint32_t seq, const char *data)
{
	struct packet p = {0};
	struct flow *f;
	static uint64_t ts = 1700000000000000ull;

	ef_addr_parse(to_server ? "10.1.0.2" : "198.51.100.10", &p.src);
	ef_addr_parse(to_server ? "198.51.100.10" : "10.1.0.2", &p.dst);
	p.sport = to_server ? 40000 : 80;
	p.dport = to_server ? 80 : 40000;
	p.l4 = IPPROTO_TCP;
	p.tcp_flags = flags;
	p.tcp_seq = seq;
	p.payload = (const uint8_t *)data;
	p.payload_len = data ? (uint32_t)strlen(data) : 0;
	p.ts_us = ts += 1000;
	classifier_packet(c, &p, &f);
}

/* The SYN's payload starts at ISN + 1 (RFC 7413): the same bytes sent again
 * after the handshake are a plain retransmission, not a conflict. */
static void syn_payload_is_stored_at_isn_plus_one(void **state)
{
	const char *req = "GET /fast-open HTTP/1.1\r\nHost: files.example\r\n\r\n";
	struct ef_flow_record rec;
	struct classifier_stats st;
	char err[256];
	struct classifier *c = classifier_new(NULL, on_end, &rec, err, sizeof(err));

	assert_non_null(c);
	tcp(c, true, 0x02, 5000, req);                      /* SYN with data */
	tcp(c, false, 0x12, 90000, NULL);                   /* SYN-ACK, data not acknowledged */
	tcp(c, true, 0x18, 5001, req);                      /* the data again, after the SYN */
	tcp(c, true, 0x18, 5001 + (uint32_t)strlen(req), "X"); /* and one byte more */
	classifier_stats(c, &st);
	assert_int_equal(st.overlap_conflicts, 0);
	classifier_flush(c);
	assert_false(rec.reassembly_conflict);
	assert_int_equal(rec.enc, EF_ENC_CLEARTEXT);
	assert_string_equal(rec.app, "HTTP");
	classifier_free(c);
}

/* ---- bytes behind the stream that hist cannot compare (red team round 2) -- */

static const char prose[] =
	"The quarterly figures for the rotor programme are attached below; please keep them within the "
	"team until the board has seen them, and send any corrections to the programme office by Friday. ";

/* Text sent 1 GiB behind the stream's first byte (tcp-old-seq-text) is
 * judged, not dropped: it was never part of the stream, so no copy vouches
 * for it.  A genuine retransmission of kept bytes is compared instead and
 * leaves nothing to judge. */
static void text_behind_the_first_byte_is_judged(void **state)
{
	struct fixture x;

	start(&x);
	x.s.first_seq = ISN;
	add(&x, 0, "GET / HTTP/1.1\r\n");
	add(&x, 0, "GET / HTTP/1.1\r\n");
	assert_int_equal(x.s.unmatched.n, 0);
	assert_null(stream_unmatched_verdict(&x.s));
	add(&x, 0u - (1u << 30), prose);
	assert_kept(&x, "GET / HTTP/1.1\r\n");
	assert_non_null(stream_unmatched_verdict(&x.s));
	assert_true(x.s.unmatched_text);
	stream_free(&x.s);

	/* random bytes there are no text; under 16 bytes cannot be judged */
	uint8_t rnd[600];
	uint32_t r = 12345;
	for (size_t i = 0; i < sizeof(rnd); i++) {
		r = r * 1103515245u + 12345u;
		rnd[i] = (uint8_t)(r >> 16);
	}
	start(&x);
	add(&x, 0, "abc");
	stream_add(&x.s, ISN - 5000, rnd, sizeof(rnd), &x.st);
	assert_null(stream_unmatched_verdict(&x.s));
	stream_add(&x.s, ISN - 5000, rnd, 10, &x.st);
	const char *why = stream_unmatched_verdict(&x.s);
	assert_non_null(why);
	assert_false(x.s.unmatched_text);
	stream_free(&x.s);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(retransmission_of_kept_bytes_keeps_the_first_copy),
		cmocka_unit_test(in_order_segment_over_held_bytes_keeps_the_held_copy),
		cmocka_unit_test(held_over_held_keeps_the_first_held_copy),
		cmocka_unit_test(segment_across_held_ranges_fills_only_the_holes),
		cmocka_unit_test(identical_copies_are_no_conflict),
		cmocka_unit_test(gap_keeps_later_bytes_comparable),
		cmocka_unit_test(held_bytes_stay_bounded_under_overlapping_segments),
		cmocka_unit_test(syn_payload_is_stored_at_isn_plus_one),
		cmocka_unit_test(text_behind_the_first_byte_is_judged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
