/*
 * classify/reassembly.c -- one direction of a TCP connection put back in
 * order, for as long as the flow is undecided.
 *
 * Invariants:
 *  - hist holds the direction's bytes in sequence order, up to
 *    STREAM_HIST_MAX; hist[i] is the byte at base_seq + i.  A gap (bytes
 *    never seen) is not kept: the bytes after it follow in hist, base_seq
 *    moves so that the mapping holds for them, and hist[0..hist_from), from
 *    before the gap, is never compared again.
 *  - The first copy of a byte is the one kept, in every order of arrival:
 *    a retransmission of bytes in hist, a segment overlapping held ones
 *    (partly or wholly, before or after them), an in-order segment that
 *    covers bytes already held.  A later copy that differs sets `conflict`
 *    (an evasion attempt, or a broken sender); it never replaces the first.
 *  - Held (out-of-order) ranges never overlap, lie within STREAM_HIST_MAX
 *    bytes after next_seq, and are at most STREAM_MAX_OOO: a direction
 *    holds at most STREAM_HIST_MAX bytes besides hist, whatever the sender
 *    repeats.  A segment that would need more gives up on the hole: the
 *    stream skips to its lowest held byte (or to the segment) and sets
 *    `gap`.
 *  - A byte behind next_seq is compared with hist where hist keeps it;
 *    every other one (before the direction's first byte, in a hole given
 *    up, beyond STREAM_HIST_MAX) goes through `unmatched', judged by
 *    look_judge() like any other bytes: a genuine retransmission repeats
 *    what was already seen, so text there is data that left unexamined.
 * Sequence arithmetic is modulo 2^32 throughout.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static inline int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

/* How far behind a negative seq_diff() is.  Negated as unsigned: -INT32_MIN
 * (a segment exactly 2^31 behind) does not fit an int32_t. */
static inline uint32_t seq_behind(int32_t d)
{
	return 0u - (uint32_t)d;
}

static void mark_conflict(struct stream *s, struct classifier_stats *st)
{
	if (!s->conflict)
		st->overlap_conflicts++;
	s->conflict = true;
}

/* Appends the bytes at next_seq and moves next_seq past them.  Only while
 * hist is whole up to next_seq: after a failed allocation or once full,
 * the bytes are counted as read but not kept. */
static void take_in_order(struct stream *s, const uint8_t *p, uint32_t len)
{
	uint32_t at = s->next_seq - s->base_seq, n = len;

	s->next_seq += len;
	if (at != s->hist_len || s->hist_len >= STREAM_HIST_MAX)
		return;
	if (n > STREAM_HIST_MAX - s->hist_len)
		n = STREAM_HIST_MAX - s->hist_len;
	if (s->hist_len + n > s->hist_cap) {
		uint32_t cap = s->hist_cap ? s->hist_cap : 2048;
		while (cap < s->hist_len + n)
			cap *= 2;
		if (cap > STREAM_HIST_MAX)
			cap = STREAM_HIST_MAX;
		uint8_t *grown = realloc(s->hist, cap);
		if (!grown)
			return;
		s->hist = grown;
		s->hist_cap = cap;
	}
	memcpy(s->hist + s->hist_len, p, n);
	s->hist_len += n;
	s->pending_segs++;
}

/* Bytes behind next_seq that hist cannot compare: a genuine retransmission
 * repeats ciphertext or a handshake already judged, so they are judged as
 * bytes of their own, window after window; text there is data that left. */
static void judge_unmatched(struct stream *s, const uint8_t *p, uint32_t len)
{
	while (len && !s->unmatched_text) {
		uint32_t k = look_add(&s->unmatched, p, len);
		p += k;
		len -= k;
		if (s->unmatched.n == LOOK_WINDOW) {
			s->unmatched_text = look_judge(&s->unmatched) == LOOK_NOT_RANDOM;
			look_next(&s->unmatched);
		}
	}
}

/* Compares bytes before next_seq with the first copy, where it is kept;
 * judges the rest (before the stream's first byte or a gap, beyond hist). */
static void check_overlap(struct stream *s, uint32_t seq, const uint8_t *p, uint32_t len,
			  struct classifier_stats *st)
{
	int32_t off = seq_diff(seq, s->base_seq + s->hist_from);

	if (off < 0) {
		uint32_t before = seq_behind(off) < len ? seq_behind(off) : len;
		judge_unmatched(s, p, before);
		p += before;
		len -= before;
		off = 0;
		if (!len)
			return;
	}
	uint32_t at = s->hist_from + (uint32_t)off;
	if (at >= s->hist_len) {
		judge_unmatched(s, p, len);
		return;
	}
	uint32_t n = s->hist_len - at < len ? s->hist_len - at : len;
	if (memcmp(s->hist + at, p, n) != 0)
		mark_conflict(s, st);
	if (at + n > s->fed)
		s->retransmitted = true; /* the sender waits on bytes not yet judged */
	judge_unmatched(s, p + n, len - n);
}

/* The held range that ends after seq and starts first, or -1. */
static int held_from(const struct stream *s, uint32_t seq)
{
	int best = -1;

	for (int i = 0; i < s->n_ooo; i++) {
		const struct ooo_seg *g = &s->ooo[i];
		if (seq_diff(g->seq + g->len, seq) <= 0)
			continue;
		if (best < 0 || seq_diff(g->seq, s->ooo[best].seq) < 0)
			best = i;
	}
	return best;
}

/* Moves held ranges that have become in order into hist. */
static bool drain_held(struct stream *s)
{
	bool added = false;

	for (int i = 0; i < s->n_ooo;) {
		struct ooo_seg *g = &s->ooo[i];
		if (g->seq != s->next_seq) {
			i++;
			continue;
		}
		take_in_order(s, g->data, g->len);
		free(g->data);
		*g = s->ooo[--s->n_ooo];
		added = true;
		i = 0; /* the next range may be anywhere in the array */
	}
	return added;
}

/* Gives up on the hole before next_seq's first held byte, or before seq. */
static void skip_hole(struct stream *s, uint32_t seq, struct classifier_stats *st)
{
	uint32_t lowest = seq;

	for (int i = 0; i < s->n_ooo; i++)
		if (seq_diff(s->ooo[i].seq, lowest) < 0)
			lowest = s->ooo[i].seq;
	s->next_seq = lowest;
	s->base_seq = lowest - s->hist_len;
	s->hist_from = s->hist_len;
	s->gap = true;
	st->reassembly_gaps++;
	drain_held(s);
}

/* Holds [seq, seq+len), which overlaps nothing held.  False when that
 * would break the bounds. */
static bool hold(struct stream *s, uint32_t seq, const uint8_t *p, uint32_t len,
		 struct classifier_stats *st)
{
	if (s->n_ooo == STREAM_MAX_OOO || (uint32_t)seq_diff(seq, s->next_seq) > STREAM_HIST_MAX ||
	    len > STREAM_HIST_MAX - (uint32_t)seq_diff(seq, s->next_seq))
		return false;
	uint8_t *copy = malloc(len);
	if (!copy)
		return true; /* dropped: a hole that a retransmission may fill */
	memcpy(copy, p, len);
	s->ooo[s->n_ooo++] = (struct ooo_seg){seq, len, copy};
	st->ooo_segments++;
	return true;
}

enum stream_add_result stream_add(struct stream *s, uint32_t seq, const uint8_t *p, uint32_t len,
				  struct classifier_stats *st)
{
	uint32_t start = s->next_seq;

	if (len == 0)
		return STREAM_NOTHING;
	if (!s->seq_known) { /* mid-stream pickup: start at the first payload seen */
		s->seq_known = true;
		s->first_seq = s->base_seq = s->next_seq = start = seq;
	}
	if (seq_diff(seq, s->next_seq) < 0)
		st->retransmissions++;
	/* The segment piece by piece, in sequence order: each piece is either
	 * already known (compared, dropped) or new (taken or held). */
	while (len) {
		uint32_t n;
		int32_t d = seq_diff(seq, s->next_seq);
		if (d < 0) {
			n = seq_behind(d) < len ? seq_behind(d) : len;
			check_overlap(s, seq, p, n, st);
		} else {
			int h = held_from(s, seq);
			const struct ooo_seg *g = h >= 0 ? &s->ooo[h] : NULL;
			if (g && seq_diff(g->seq, seq) <= 0) {
				uint32_t in = seq - g->seq;
				n = g->len - in < len ? g->len - in : len;
				if (memcmp(g->data + in, p, n) != 0)
					mark_conflict(s, st);
			} else {
				n = g && (uint32_t)seq_diff(g->seq, seq) < len ? (uint32_t)seq_diff(g->seq, seq) : len;
				if (d == 0) {
					take_in_order(s, p, n);
					drain_held(s);
				} else if (!hold(s, seq, p, n, st)) {
					skip_hole(s, seq, st);
					continue;
				}
			}
		}
		seq += n;
		p += n;
		len -= n;
	}
	return s->next_seq != start ? STREAM_NEW_DATA : STREAM_NOTHING;
}

const char *stream_unmatched_verdict(struct stream *s)
{
	bool unjudged = false;

	if (s->unmatched.n && !s->unmatched_text) {
		enum look_result r = look_judge(&s->unmatched);
		s->unmatched_text = r == LOOK_NOT_RANDOM;
		unjudged = r == LOOK_PENDING;
		look_next(&s->unmatched);
	}
	if (s->unmatched_text)
		return "TCP payload outside the stream (no copy of bytes seen) is not random: text or structure";
	if (unjudged)
		return "TCP payload outside the stream, too little to judge";
	return NULL;
}

void stream_free(struct stream *s)
{
	for (uint16_t i = 0; i < s->n_ooo; i++)
		free(s->ooo[i].data);
	free(s->hist);
	memset(s, 0, sizeof(*s));
}
