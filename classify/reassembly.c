/*
 * classify/reassembly.c -- one direction of a TCP connection put back in
 * order, for as long as the flow is undecided.
 *
 * Invariants:
 *  - hist holds the direction's bytes in sequence order from base_seq,
 *    without holes, up to STREAM_HIST_MAX; nothing past a hole is in it.
 *  - The first copy of a byte is the one kept.  A later copy that differs
 *    sets `conflict` (an evasion attempt, or a broken sender); it never
 *    replaces what was classified.
 *  - Memory per direction is bounded: STREAM_HIST_MAX bytes of history and
 *    STREAM_MAX_OOO held segments of at most that size each.  When the
 *    out-of-order queue is full the stream skips to its lowest held segment
 *    and sets `gap`.
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

static bool hist_append(struct stream *s, const uint8_t *p, uint32_t len)
{
	if (s->hist_len >= STREAM_HIST_MAX)
		return false;
	if (len > STREAM_HIST_MAX - s->hist_len)
		len = STREAM_HIST_MAX - s->hist_len;
	if (s->hist_len + len > s->hist_cap) {
		uint32_t cap = s->hist_cap ? s->hist_cap : 2048;
		while (cap < s->hist_len + len)
			cap *= 2;
		if (cap > STREAM_HIST_MAX)
			cap = STREAM_HIST_MAX;
		uint8_t *grown = realloc(s->hist, cap);
		if (!grown)
			return false;
		s->hist = grown;
		s->hist_cap = cap;
	}
	memcpy(s->hist + s->hist_len, p, len);
	s->hist_len += len;
	s->pending_segs++;
	return true;
}

/* Compares a retransmitted range with the first copy, where it is kept. */
static void check_overlap(struct stream *s, uint32_t seq, const uint8_t *p, uint32_t len,
			  struct classifier_stats *st)
{
	int32_t off = seq_diff(seq, s->base_seq);

	if (off < 0) {
		if (seq_behind(off) >= len)
			return;
		p += seq_behind(off);
		len -= seq_behind(off);
		off = 0;
	}
	if ((uint32_t)off >= s->hist_len)
		return;
	uint32_t n = s->hist_len - (uint32_t)off < len ? s->hist_len - (uint32_t)off : len;
	if (memcmp(s->hist + off, p, n) != 0) {
		if (!s->conflict)
			st->overlap_conflicts++;
		s->conflict = true;
	}
	if ((uint32_t)off + n > s->fed)
		s->retransmitted = true; /* the sender waits on bytes not yet judged */
}

/* Moves held segments that have become in order into hist. */
static bool drain_ooo(struct stream *s, struct classifier_stats *st)
{
	bool added = false, progress = true;

	while (progress && s->n_ooo) {
		progress = false;
		for (uint16_t i = 0; i < s->n_ooo; i++) {
			struct ooo_seg *g = &s->ooo[i];
			int32_t d = seq_diff(g->seq, s->next_seq);
			if (d > 0)
				continue;
			if (seq_behind(d) < g->len) {
				uint32_t skip = seq_behind(d);
				check_overlap(s, g->seq, g->data, skip, st);
				hist_append(s, g->data + skip, g->len - skip);
				s->next_seq += g->len - skip;
				added = true;
			} else {
				check_overlap(s, g->seq, g->data, g->len, st);
			}
			free(g->data);
			s->ooo[i] = s->ooo[--s->n_ooo];
			progress = true;
			break;
		}
	}
	return added;
}

enum stream_add_result stream_add(struct stream *s, uint32_t seq, const uint8_t *p, uint32_t len,
				  struct classifier_stats *st)
{
	if (len == 0)
		return STREAM_NOTHING;
	if (!s->seq_known) { /* mid-stream pickup: start at the first payload seen */
		s->seq_known = true;
		s->base_seq = s->next_seq = seq;
	}
	int32_t d = seq_diff(seq, s->next_seq);
	if (d < 0) {
		st->retransmissions++;
		uint32_t old = seq_behind(d);
		check_overlap(s, seq, p, old < len ? old : len, st);
		if (old >= len)
			return STREAM_NOTHING;
		p += old;
		len -= old;
		seq = s->next_seq;
		d = 0;
	}
	if (d > 0) {
		/* Beyond a hole: hold a copy, unless that is already held. */
		for (uint16_t i = 0; i < s->n_ooo; i++)
			if (s->ooo[i].seq == seq && s->ooo[i].len >= len) {
				if (memcmp(s->ooo[i].data, p, len) != 0)
					s->conflict = true;
				return STREAM_NOTHING;
			}
		if ((uint32_t)d > STREAM_HIST_MAX * 4u || s->n_ooo == STREAM_MAX_OOO) {
			/* Too far ahead or too many held: give up on the hole. */
			uint32_t lowest = seq;
			for (uint16_t i = 0; i < s->n_ooo; i++)
				if (seq_diff(s->ooo[i].seq, lowest) < 0)
					lowest = s->ooo[i].seq;
			s->next_seq = lowest;
			s->gap = true;
			st->reassembly_gaps++;
			bool added = drain_ooo(s, st);
			if (seq_diff(seq, s->next_seq) == 0) {
				hist_append(s, p, len);
				s->next_seq += len;
				added = true;
				added |= drain_ooo(s, st);
			}
			return added ? STREAM_NEW_DATA : STREAM_NOTHING;
		}
		uint32_t keep = len > STREAM_HIST_MAX ? STREAM_HIST_MAX : len;
		uint8_t *copy = malloc(keep);
		if (!copy)
			return STREAM_NOTHING;
		memcpy(copy, p, keep);
		s->ooo[s->n_ooo++] = (struct ooo_seg){seq, keep, copy};
		st->ooo_segments++;
		return STREAM_NOTHING;
	}
	hist_append(s, p, len);
	s->next_seq += len;
	drain_ooo(s, st);
	return STREAM_NEW_DATA;
}

void stream_free(struct stream *s)
{
	for (uint16_t i = 0; i < s->n_ooo; i++)
		free(s->ooo[i].data);
	free(s->hist);
	memset(s, 0, sizeof(*s));
}
