/*
 * classify/verify.c -- whether bytes look like ciphertext, and the check
 * that keeps a flow's `encrypted' (or `weak') claim true for every byte it
 * sends after the decision.
 *
 * "Looks random" has one definition, look_judge(), used by the handshake
 * walkers, the datagram evidence and the watch after the decision alike: two
 * copies of different strictness are how evasions are born.
 *
 * The statistics (n = bytes judged, at most LOOK_WINDOW = 128).  For n
 * uniformly random bytes:
 *  - the number of distinct byte values D follows the occupancy law of n
 *    draws from 256 cells (mean 100.9 at n = 128, sd about 3.4);
 *  - the number of printable bytes (0x20-0x7e, \t \r \n: 98 of 256 values)
 *    is binomial(n, 98/256) (mean 49 at n = 128).
 * A window is NOT random when D < min_distinct[n] or printable >=
 * max_printable[n], the thresholds being the tightest for which each event
 * has probability < 1e-12 for random bytes (computed exactly; the unit test
 * recomputes them).  A false rejudge of real ciphertext therefore has
 * probability < 2e-12 per window.  At n = 128 that is D <= 73 or >= 89
 * printable (70%): English text (35-55 distinct values), any text XORed with
 * one constant byte (the same D), base64 (at most 64 values), hex (at most
 * 22) are all caught; text is caught by its printable share from about 40
 * bytes up.
 *
 * Text that is diluted, or not ASCII, passes both; five more features of
 * text, each with its exact tail for random bytes (computed by a Markov
 * chain over the window; tests/test_classify.c recomputes each and checks
 * the threshold is the tightest with P < 1e-12 at n = 128; fewer bytes only
 * lower each tail, so the bound holds for every n):
 *  - runs: bytes lying in runs of LOOK_RUN_MIN (8) or more printable bytes;
 *    >= LOOK_RUN_BYTES (50) is text (one run of 50, or 56 bytes of text in
 *    every 128 whatever the filler);
 *  - suspect windows: >= LOOK_RUN_SUSPECT (25) such bytes has probability
 *    q = 3.8e-6; a suspect window with two more among the 15 windows of the
 *    stream judged before it (look_next) is text: P <= C(15,2) q^3 = 5.6e-15.
 *    32 bytes of text in every 128, at any phase, leave >= 25 in one run of
 *    every window: caught at the third window;
 *  - UTF-8: bytes in complete multibyte sequences (a lead and its 1-3
 *    continuation bytes) >= LOOK_UTF8_BYTES (50): Chinese, Russian, any
 *    script whose UTF-8 is mostly multibyte (random bytes: mean 9);
 *  - UTF-16: printable-then-zero pairs >= LOOK_UTF16_PAIRS (9): UTF-16LE or
 *    BE of Latin text (random: mean 0.19);
 *  - EBCDIC: bytes of EBCDIC letters, digits, space and punctuation (92
 *    values, fewer than the 98 printable ones) >= max_printable[n];
 *  - periodicity, text under a repeating key (a window with `pairs', as the
 *    watch after the decision judges a stream): equal pairs (b[i], b[i+d]),
 *    i < 64, at each distance d = 1..LOOK_PERIOD_MAX (64) of each full
 *    window, summed over blocks of LOOK_PERIOD_WINDOWS (8) windows.  The
 *    pairs of one distance form paths, so for random bytes the count is
 *    Binomial(512, 1/256), mean 2; LOOK_PERIOD_HITS (21) at one of the 64
 *    distances has P < 2.8e-13 a block (a union bound; computed exactly,
 *    the unit test recomputes it; fewer windows only lower it).  Text
 *    XORed with (or added to) a key of period p <= 64 repeats a byte at
 *    distance p wherever its plaintext does: English about 6-7%, some 33
 *    pairs a block.  64 is half the window: every distance up to it has
 *    the same 64 pairs in each window, compared as four 16-byte vectors
 *    (about 1,400 instructions a window); a longer key would have fewer
 *    pairs a window and cost more.  Windows holding framing bytes (an SSH
 *    length) or judged text_only (TLS record headers after a gap) are not
 *    counted: a header repeats at a record's distance.  What passes: keys
 *    longer than 64 bytes but for the long-period test (XOR, up to 1,024:
 *    look_stream, below); such text in fewer than about 8 judged windows
 *    of a stream (about 1 KB judged: a few records), or in under half of
 *    them; after a gap and in SSH; single buffers judged alone (handshake
 *    fields, datagram evidence before the decision) get no pairs.
 * A window of random bytes is therefore judged not random with probability
 * under 6e-12 (the union of the seven tails and the suspect rule): with
 * every byte of a GiB judged, 8.4 M windows, under 5e-5 per GiB; with the
 * sampling below (a window per unit head, then one per 128 + 1024 bytes on
 * average) about 1e-5.  What still passes: text spread thinner (a text
 * byte in every 4, or runs shorter than about 25 bytes in each 128).
 *
 * Bytes that may be framing rather than ciphertext (an SSH packet length in
 * the clear, at most 1 byte in 8) are counted in `structured`; the test
 * then asks the remaining ones alone to pass: D < min_distinct[n - k] or
 * each count >= its threshold + k, which keeps the bound (an SSH length
 * starts 0x00, which ends a run, so its other bytes add at most one each).
 * When a TCP stream's framing is lost (a gap) the window is `text_only`:
 * all features but the distinct count, which TLS record headers (17 03 03
 * and a length) would disturb and the features above they cannot.  After a
 * gap the bytes are judged as they arrive, the hole's filling too.
 *
 * After the decision (verify_packet):
 *  - TLS over TCP: records keep their framing across in-order segments
 *    (type 20..24, version 3,1..3,4, length 1..2^14+2048, CCS exactly 1
 *    byte, each header where the previous record ends); every body byte of
 *    a protected record (after that side's CCS, and every type 23) except
 *    TLS <= 1.2's 8-byte explicit nonce is ciphertext to judge (sampled:
 *    see sample() below for what is read and what that guarantees).
 *    Resynchronisation: a segment beyond the next expected byte (a gap: a
 *    lost or reordered segment) loses the framing; from then on the
 *    direction's bytes (the late segment too) are judged by their printable
 *    share only, until an in-order segment starts with a record header of
 *    the flow's version (type 23), which is taken on trial: a framing break
 *    before that record is chained is not a rejudge but a return to the
 *    text-only mode.  What this leaves an attacker who makes gaps on
 *    purpose: text XORed with a constant byte passes while the framing
 *    is lost; readable text (ASCII, UTF-8, UTF-16, EBCDIC), base64 and hex
 *    do not.
 *  - SSH: every byte after that side's NEWKEYS through a window, one byte in
 *    8 allowed as framing (the packet length, in the clear in EtM and GCM
 *    modes; the mode itself is not tracked, so lengths are not checked).
 *    The server's packets before its NEWKEYS are walked as SSH packets.
 *  - DTLS, QUIC, WireGuard, ESP, IKE: every datagram keeps its protocol's
 *    header (DTLS record header or unified header; QUIC long header of the
 *    flow's version or short header with the fixed bit; WireGuard type 1-4
 *    with their sizes, type 4 with a steady receiver index and a rising
 *    counter; ESP with a steady SPI and a rising sequence number) and its
 *    ciphertext part goes through a window.  What a protocol sends outside
 *    its encryption is bounded, and judged where it must be random: QUIC
 *    Initials (readable with public keys: see QUIC_INITIAL_AFTER_DECISION_MAX)
 *    and their tokens, DTLS epoch-0 records (DTLS_PLAIN_AFTER_DECISION_MAX),
 *    WireGuard handshake messages (their keys and MACs; WG_HS_BURST).
 * A break says where (the packet, or the window's first byte) and whether
 * the class becomes `cleartext' (the bytes are not random) or `unknown'
 * (random bytes that are not the protocol).
 *
 * State: struct verify_dir per direction, a few words and a 32-byte set of
 * byte values; no buffer, no allocation.
 */
#include "internal.h"

#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Computed exactly (occupancy law, binomial tail) for P < 1e-12; see the
 * top of this file.  Index: bytes in the window. */
static const uint8_t min_distinct[LOOK_WINDOW + 1] = {
	0,   1,   1,   1,   1,   1,   2,   2,   3,   3,   4,   4,   5,   6,   6,   7,
	8,   8,   9,   10,  10,  11,  12,  12,  13,  13,  14,  15,  15,  16,  17,  17,
	18,  19,  19,  20,  21,  21,  22,  23,  23,  24,  25,  25,  26,  26,  27,  28,
	28,  29,  30,  30,  31,  32,  32,  33,  33,  34,  35,  35,  36,  36,  37,  38,
	38,  39,  40,  40,  41,  41,  42,  43,  43,  44,  44,  45,  45,  46,  47,  47,
	48,  48,  49,  50,  50,  51,  51,  52,  52,  53,  54,  54,  55,  55,  56,  56,
	57,  57,  58,  59,  59,  60,  60,  61,  61,  62,  62,  63,  63,  64,  64,  65,
	65,  66,  67,  67,  68,  68,  69,  69,  70,  70,  71,  71,  72,  72,  73,  73,
	74,
};
static const uint8_t max_printable[LOOK_WINDOW + 1] = {
	0,   2,   3,   4,   5,   6,   7,   8,   9,   10,  11,  12,  13,  14,  15,  16,
	17,  18,  19,  20,  21,  22,  23,  24,  25,  26,  27,  28,  29,  29,  30,  31,
	32,  32,  33,  34,  35,  35,  36,  37,  37,  38,  39,  40,  40,  41,  42,  42,
	43,  43,  44,  45,  45,  46,  47,  47,  48,  49,  49,  50,  50,  51,  52,  52,
	53,  54,  54,  55,  55,  56,  57,  57,  58,  58,  59,  60,  60,  61,  61,  62,
	63,  63,  64,  64,  65,  65,  66,  67,  67,  68,  68,  69,  69,  70,  71,  71,
	72,  72,  73,  73,  74,  75,  75,  76,  76,  77,  77,  78,  78,  79,  80,  80,
	81,  81,  82,  82,  83,  83,  84,  84,  85,  86,  86,  87,  87,  88,  88,  89,
	89,
};

/* Under this many bytes nothing is judged: too few to tell. */
#define LOOK_MIN 16u

/*
 * The features that depend on the order of bytes (printable runs, UTF-8
 * sequences, printable-then-zero pairs) are one small state machine, so
 * that a byte costs a table look-up and two additions (the hot path of the
 * watch).  Byte classes, and the states: 0-8 the printable run so far (8:
 * eight or more), 9 a 2-byte UTF-8 sequence with 1 byte due, 10-11 a
 * 3-byte one with 2 or 1 due, 12-14 a 4-byte one with 3, 2 or 1 due.
 * UTF-8 as counted here: a lead C2-DF, E0-EF or F0-F4 followed by 1, 2 or 3
 * continuation bytes 80-BF (the finer limits of RFC 3629 on second bytes
 * are not applied: counting more sequences only raises the random tail,
 * which the threshold is computed for).
 */
enum { B_OTHER, B_PRINT, B_ZERO, B_CONT, B_LEAD2, B_LEAD3, B_LEAD4 };
enum { S_RUN_MAX = LOOK_RUN_MIN, S_U8_2, S_U8_3, S_U8_4 = S_U8_3 + 2 };
_Static_assert(S_U8_4 + 2 < 16, "the states fit seq_step's 16 rows");

/* byte_feature[c]: bits 0-2 its class, bit 8 ASCII printable (0x20-0x7e,
 * HT, LF, CR: 98 values), bit 16 EBCDIC text (code pages 037/500/1047:
 * space, letters, digits, the common punctuation, HT/CR/LF/NL: 92 values,
 * fewer than the ASCII printable ones, so the same max_printable[] tail
 * bounds them).  seq_step[state * 8 + class]: bits 3-6 the next state
 * (times 8), bits 8-15, 16-23, 24-31 what it adds to the run bytes, the
 * UTF-8 bytes and the UTF-16 pairs. */
static uint32_t byte_feature[256];
static uint32_t seq_step[16 * 8];

static bool in(unsigned c, unsigned lo, unsigned hi)
{
	return c >= lo && c <= hi;
}

static uint32_t step_of(unsigned s, unsigned cls)
{
	unsigned next = 0, run_add = 0, u8_add = 0, u16_add = 0;

	switch (cls) {
	case B_PRINT:
		next = s < S_RUN_MAX ? s + 1 : s == S_RUN_MAX ? S_RUN_MAX : 1;
		run_add = s == S_RUN_MAX ? 1 : next == LOOK_RUN_MIN ? LOOK_RUN_MIN : 0;
		break;
	case B_ZERO:
		u16_add = s >= 1 && s <= S_RUN_MAX;
		break;
	case B_CONT:
		if (s == S_U8_2 || s == S_U8_3 + 1 || s == S_U8_4 + 2)
			u8_add = s == S_U8_2 ? 2 : s == S_U8_3 + 1 ? 3 : 4;
		else if (s == S_U8_3 || s == S_U8_4 || s == S_U8_4 + 1)
			next = s + 1;
		break;
	case B_LEAD2:
		next = S_U8_2;
		break;
	case B_LEAD3:
		next = S_U8_3;
		break;
	case B_LEAD4:
		next = S_U8_4;
		break;
	}
	return next << 3 | run_add << 8 | u8_add << 16 | u16_add << 24;
}

__attribute__((constructor)) static void look_tables(void)
{
	for (unsigned c = 0; c < 256; c++) {
		bool print = in(c, 0x20, 0x7e) || c == '\t' || c == '\n' || c == '\r';
		bool ebcdic = c == 0x40 || in(c, 0x4b, 0x50) || in(c, 0x5a, 0x61) || in(c, 0x6b, 0x6f) ||
			      in(c, 0x7a, 0x7f) || in(c, 0x81, 0x89) || in(c, 0x91, 0x99) || in(c, 0xa2, 0xa9) ||
			      in(c, 0xc1, 0xc9) || in(c, 0xd1, 0xd9) || in(c, 0xe2, 0xe9) || in(c, 0xf0, 0xf9) ||
			      c == 0x05 || c == 0x0d || c == 0x15 || c == 0x25;
		unsigned cls = print ? B_PRINT : c == 0 ? B_ZERO : in(c, 0x80, 0xbf) ? B_CONT
			     : in(c, 0xc2, 0xdf) ? B_LEAD2 : in(c, 0xe0, 0xef) ? B_LEAD3 : in(c, 0xf0, 0xf4) ? B_LEAD4
			     : B_OTHER;
		byte_feature[c] = cls | (uint32_t)print << 8 | (uint32_t)ebcdic << 16;
	}
	for (unsigned s = 0; s < 16; s++)
		for (unsigned cls = 0; cls < 8; cls++)
			seq_step[s * 8 + cls] = s <= S_U8_4 + 2 && cls <= B_LEAD4 ? step_of(s, cls) : 0;
}

bool look_printable_byte(uint8_t c)
{
	return byte_feature[c] >> 8 & 1;
}

bool look_ebcdic_byte(uint8_t c)
{
	return byte_feature[c] >> 16 & 1;
}

unsigned look_min_distinct(unsigned n)
{
	return n <= LOOK_WINDOW ? min_distinct[n] : 0;
}

unsigned look_max_printable(unsigned n)
{
	return n <= LOOK_WINDOW ? max_printable[n] : 0;
}

/* The per-byte cost of every check after the decision: the set of values,
 * two look-ups and three additions, no branch on the data.  The counts of
 * one call are at most LOOK_WINDOW, so each packs in 8 bits of a word. */
uint32_t look_add(struct look *w, const uint8_t *p, uint32_t n)
{
	uint32_t room = LOOK_WINDOW - w->n, counts = 0, seq = 0, state = (uint32_t)w->seq << 3;
	uint64_t seen[4] = {w->seen[0], w->seen[1], w->seen[2], w->seen[3]};

	if (n > room)
		n = room;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		uint32_t f = byte_feature[c];
		seen[c >> 6] |= 1ull << (c & 63);
		counts += f >> 8;
		uint32_t e = seq_step[state + (f & 7)];
		state = e & 0x78;
		seq += e >> 8;
	}
	memcpy(w->seen, seen, sizeof(seen));
	if (w->pairs)
		memcpy(w->pairs->buf + w->n, p, n);
	w->n = (uint8_t)(w->n + n);
	w->printable = (uint8_t)(w->printable + (counts & 0xff));
	w->ebcdic = (uint8_t)(w->ebcdic + (counts >> 8 & 0xff));
	w->run_bytes = (uint8_t)(w->run_bytes + (seq & 0xff));
	w->utf8 = (uint8_t)(w->utf8 + (seq >> 8 & 0xff));
	w->utf16 = (uint8_t)(w->utf16 + (seq >> 16 & 0xff));
	w->seq = (uint8_t)(state >> 3);
	return n;
}

static bool look_suspect(const struct look *w)
{
	return w->n >= LOOK_MIN && w->run_bytes >= LOOK_RUN_SUSPECT;
}

/*
 * A full window's equal pairs (buf[i], buf[i + d]), i < LOOK_PERIOD_PAIRS,
 * at each distance d = 1..LOOK_PERIOD_MAX, added to the stream's count.
 * Written in the compiler's vector types (GCC and Clang, any target): for
 * each i, one byte against the 64 after it, 16 at a time, into 64 byte
 * counters held in four registers (at most 64 each, no overflow); no
 * horizontal sum.  About 1,400 instructions a window with SSE2.
 */
typedef uint8_t bytes16 __attribute__((vector_size(16)));

static inline bytes16 load16(const uint8_t *p)
{
	bytes16 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

_Static_assert(LOOK_PERIOD_MAX == 64 && LOOK_PERIOD_PAIRS + LOOK_PERIOD_MAX == LOOK_WINDOW,
	       "period_fold() compares each of the first 64 bytes with the 64 after it");

static void period_fold(struct look_pairs *lp)
{
	bytes16 acc[4] = {{0}, {0}, {0}, {0}};

	for (unsigned i = 0; i < LOOK_PERIOD_PAIRS; i++) {
		const bytes16 c = (bytes16){0} + lp->buf[i];
		const uint8_t *q = lp->buf + i + 1;
		acc[0] -= (bytes16)(load16(q) == c);
		acc[1] -= (bytes16)(load16(q + 16) == c);
		acc[2] -= (bytes16)(load16(q + 32) == c);
		acc[3] -= (bytes16)(load16(q + 48) == c);
	}
	const uint8_t *add = (const uint8_t *)acc;
	for (unsigned j = 0; j < LOOK_PERIOD_MAX; j++) {
		uint8_t h = lp->hits[j], s = (uint8_t)(h + add[j]);
		lp->hits[j] = s < h ? 255 : s;
	}
}

static bool periodic(const struct look_pairs *lp)
{
	uint8_t top = 0;

	for (unsigned j = 0; j < LOOK_PERIOD_MAX; j++)
		top = lp->hits[j] > top ? lp->hits[j] : top;
	return top >= LOOK_PERIOD_HITS;
}

enum look_result look_judge(struct look *w)
{
	if (w->n < LOOK_MIN)
		return LOOK_PENDING;
	/* k bytes that may be framing move each count by at most k (see the
	 * top of this file); unknown framing (text_only) is TLS headers,
	 * which move none of them but by their length bytes. */
	unsigned k = w->text_only ? 0 : w->structured < w->n ? w->structured : w->n, r = w->n - k;
	if (w->printable >= max_printable[r] + k || w->ebcdic >= max_printable[r] + k ||
	    w->run_bytes >= LOOK_RUN_BYTES + k || w->utf8 >= LOOK_UTF8_BYTES + k || w->utf16 >= LOOK_UTF16_PAIRS + k)
		return LOOK_NOT_RANDOM;
	if (look_suspect(w) &&
	    (unsigned)__builtin_popcount(w->recent & ((1u << (LOOK_RECENT - 1)) - 1)) + 1 >= LOOK_RECENT_SUSPECTS)
		return LOOK_NOT_RANDOM;
	if (w->text_only)
		return LOOK_RANDOM;
	/* Framing bytes (an SSH length) repeat at a packet's distance: only
	 * windows with none count pairs. */
	if (w->pairs && w->n == LOOK_WINDOW && !w->structured && !w->folded) {
		period_fold(w->pairs);
		w->folded = true;
		if (periodic(w->pairs))
			return LOOK_NOT_RANDOM;
	}
	unsigned distinct = (unsigned)(__builtin_popcountll(w->seen[0]) + __builtin_popcountll(w->seen[1]) +
				       __builtin_popcountll(w->seen[2]) + __builtin_popcountll(w->seen[3]));
	if (distinct < min_distinct[r])
		return LOOK_NOT_RANDOM;
	return LOOK_RANDOM;
}

void look_next(struct look *w)
{
	uint16_t recent = (uint16_t)(w->recent << 1 | look_suspect(w));
	struct look_pairs *lp = w->pairs;

	if (lp && w->folded && ++lp->windows == LOOK_PERIOD_WINDOWS) {
		memset(lp->hits, 0, sizeof(lp->hits)); /* a new block, with its own bound */
		lp->windows = 0;
	}
	memset(w, 0, sizeof(*w));
	w->recent = recent;
	w->pairs = lp;
}

/*
 * Keys longer than LOOK_PERIOD_MAX.  Under a key of period K, the top bits
 * of text XORed with it repeat at distance K: ASCII has bit 7 clear, the
 * bytes of multibyte UTF-8 have it set, so bit 7 of the ciphertext is the
 * key's bit 7, byte for byte.  A test takes the stream's top bits, a
 * window's 128 and the LOOK_LONG_MAX before it (one 64-bit word per 64
 * bytes), and compares each half of the window with the bits K earlier,
 * K = 1..LOOK_LONG_MAX; at most LOOK_LONG_MISMATCHES differences in a half
 * is periodic.  For random bytes the 64 pairs of a half form paths, so the
 * differences are Binomial(64, 1/2): P(<= 2) = 2081 / 2^64 = 1.13e-16, and
 * over the 2 halves and 1,024 distances P < 2.4e-13 a test (the unit test
 * recomputes it).  Only the top bits before a test are kept: 144 bytes.
 * Tests run on every byte that continues a stream of ciphertext (TLS record
 * bodies, datagrams' protected parts; not SSH, whose lengths are in the
 * clear, nor bytes after a gap); a test's window is the stream's bytes
 * 1,024-1,151, then one every 1,152 + 0..65,535 bytes (keyed): a run of
 * such text of 67 KB or more is always caught, a shorter one with a
 * probability of about its length over 34 KB, the first 1,152 bytes of a
 * stream always.  Measured: no test on the shared captures came near (the
 * fewest differences in a half, over 4,117 tests, was 11; the bound is 2).
 * What passes: keys over 1,024 bytes; a key added rather than XORed (the
 * carries disturb bit 7); ASCII with bytes above 0x7f mixed in (computed:
 * with 1 in 40 a test still catches it 2 times in 3, with 1 in 20 once
 * in 9).
 */
static inline uint64_t le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

/* Bit 7 of bytes p[0..k) into the plane from bit `at' on. */
static void plane_add(uint64_t *plane, uint32_t at, const uint8_t *p, uint32_t k)
{
	uint32_t i = 0;

	for (; i + 8 <= k; i += 8, at += 8) {
		/* the multiply gathers each byte's top bit, byte j's at bit j */
		uint64_t m = ((le64(p + i) & 0x8080808080808080ull) * 0x0002040810204081ull) >> 56;
		uint32_t w = at >> 6, s = at & 63;
		plane[w] |= m << s;
		if (s > 56)
			plane[w + 1] |= m >> (64 - s);
	}
	for (; i < k; i++, at++)
		plane[at >> 6] |= (uint64_t)(p[i] >> 7) << (at & 63);
}

/* At most LOOK_LONG_MISMATCHES (2) bits set. */
static inline bool few_bits(uint64_t x)
{
	x &= x - 1;
	x &= x - 1;
	return x == 0;
}

_Static_assert(LOOK_LONG_MAX % 64 == 0 && LOOK_LONG_WINDOW == 128 && LOOK_LONG_MISMATCHES == 2,
	       "long_periodic() compares two 64-bit halves at whole-word places, with few_bits()");

/* Plane bits o..o+63 and o+64..o+127 against the window's two halves. */
static bool long_match(const uint64_t *plane, unsigned o, uint64_t a, uint64_t b)
{
	unsigned w = o >> 6, s = o & 63;
	uint64_t ha = plane[w], hb = plane[w + 1];

	if (s) {
		ha = ha >> s | plane[w + 1] << (64 - s);
		hb = hb >> s | plane[w + 2] << (64 - s);
	}
	return few_bits(ha ^ a) || few_bits(hb ^ b);
}

/*
 * Every distance would cost some 17 instructions; candidates are found
 * first.  A half with at most 2 differences has one of its first three
 * 16-bit pieces exact, and an exact piece at plane bit x holds one whole
 * plane byte: the byte at x when x is a multiple of 8, else the next one,
 * whose value is the piece shifted by x's remainder.  So a table of the 48
 * (piece, remainder) byte values, read once per plane byte, names every
 * place where a piece may lie, and each is checked in full (long_match),
 * the one definition.  For random bytes about 1 plane byte in 5 names a
 * candidate and 1 in 256 of those passes the 16-bit check (measured on
 * bench's long-flow capture, 50 MB TLS transfers: 4,300 instructions a
 * test, and as many to gather the plane, against some 18,000 for every
 * distance in full).  At worst, every
 * byte naming all 48, about 150,000 (estimated).
 */
static bool long_periodic(const uint64_t *plane)
{
	const unsigned wa = LOOK_LONG_MAX / 64;
	const uint64_t a = plane[wa], b = plane[wa + 1];
	const uint64_t half[2] = {a, b};
	uint16_t piece[6];
	unsigned base[6];
	uint64_t at_byte[256] = {0};

	for (unsigned j = 0; j < 6; j++) {
		piece[j] = (uint16_t)(half[j / 3] >> (16 * (j % 3)));
		base[j] = 64 * (j / 3) + 16 * (j % 3);
		for (unsigned r = 0; r < 8; r++)
			at_byte[r ? (piece[j] >> (8 - r)) & 0xff : piece[j] & 0xff] |= 1ull << (j * 8 + r);
	}
	for (unsigned q = 0; q < LOOK_LONG_WORDS * 8; q++) {
		uint64_t m = at_byte[plane[q >> 3] >> (8 * (q & 7)) & 0xff];
		while (m) {
			unsigned e = (unsigned)__builtin_ctzll(m), j = e >> 3, r = e & 7;
			m &= m - 1;
			/* the piece starts at x: at this byte, or 8 - r bits before it */
			unsigned back = r ? 8 - r : 0;
			if (8 * q < back + base[j])
				continue;
			unsigned x = 8 * q - back, o = x - base[j];
			if (o >= LOOK_LONG_MAX)
				continue;
			unsigned w = x >> 6, s = x & 63;
			uint64_t v = plane[w] >> s;
			if (s > 48)
				v |= plane[w + 1] << (64 - s);
			if ((uint16_t)v == piece[j] && long_match(plane, o, a, b))
				return true;
		}
	}
	return false;
}

static uint32_t long_gap(struct look_pairs *lp)
{
	lp->rng ^= lp->rng << 13; /* xorshift32 */
	lp->rng ^= lp->rng >> 17;
	lp->rng ^= lp->rng << 5;
	return lp->rng % LOOK_LONG_GAP_MAX;
}

void look_stream_reset(struct look_pairs *lp, uint32_t seed)
{
	lp->rng = seed | 1;
	lp->fed = 0;
	lp->test_at = LOOK_LONG_MAX;
	memset(lp->plane, 0, sizeof(lp->plane));
}

void look_stream_break(struct look_pairs *lp)
{
	if (lp->fed > lp->test_at - LOOK_LONG_MAX) {
		memset(lp->plane, 0, sizeof(lp->plane));
		lp->test_at = lp->fed + LOOK_LONG_MAX;
	}
}

bool look_stream(struct look_pairs *lp, const uint8_t *p, uint32_t n, uint64_t off)
{
	while (n) {
		uint64_t from = lp->test_at - LOOK_LONG_MAX, end = lp->test_at + LOOK_LONG_WINDOW;
		if (lp->fed + n <= from) {
			lp->fed += n;
			return false;
		}
		if (lp->fed < from) {
			uint32_t k = (uint32_t)(from - lp->fed);
			p += k, n -= k, off += k, lp->fed += k;
		}
		if (lp->fed <= lp->test_at && lp->test_at < lp->fed + n)
			lp->test_off = off + (lp->test_at - lp->fed);
		uint32_t k = end - lp->fed < n ? (uint32_t)(end - lp->fed) : n;
		plane_add(lp->plane, (uint32_t)(lp->fed - from), p, k);
		p += k, n -= k, off += k, lp->fed += k;
		if (lp->fed == end) {
			bool periodic = long_periodic(lp->plane);
			memset(lp->plane, 0, sizeof(lp->plane));
			lp->test_at = end + LOOK_LONG_MAX + long_gap(lp);
			if (periodic)
				return true;
		}
	}
	return false;
}

enum look_result look_at(const uint8_t *p, uint32_t n)
{
	struct look w = {0};

	look_add(&w, p, n);
	return look_judge(&w);
}

bool look_text(const uint8_t *p, uint32_t n)
{
	struct look w = {.text_only = true};

	look_add(&w, p, n);
	return look_judge(&w) == LOOK_NOT_RANDOM;
}

/* ---- the watch after the decision ----------------------------------------- */

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint32_t rd32le(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* A break at byte `at` of the packet; what broke decides the new class. */
static bool broke(struct verify_break *b, const char *reason, const uint8_t *p, uint32_t n, uint32_t at)
{
	b->reason = reason;
	b->at = at;
	b->use_dir_offset = false;
	b->to = EF_ENC_UNKNOWN;
	if (at < n) {
		enum look_result r = look_at(p + at, n - at);
		if (r == LOOK_NOT_RANDOM || look_text(p + at, n - at)) {
			b->to = EF_ENC_CLEARTEXT;
		} else if (r == LOOK_PENDING && n - at >= 4) {
			/* Too short for statistics ("PASV\r\n" after a TLS close).
			 * The claim is broken either way; only cleartext or unknown
			 * is at stake, so a plain majority of printable bytes decides. */
			uint32_t printable = 0;
			for (uint32_t i = at; i < n; i++)
				printable += byte_feature[p[i]] >> 8 & 1;
			if (printable * 10 >= (n - at) * 9)
				b->to = EF_ENC_CLEARTEXT;
		}
	}
	return false;
}

/*
 * Sampling, for cost: every unit's (record body's, datagram's, segment's)
 * first LOOK_WINDOW ciphertext bytes are judged, so is every short unit
 * whole (several share a window); past a unit's head, after each window the
 * check idles for a pseudo-random 0..SAMPLE_IDLE_MAX-1 bytes.  Readable text
 * of SAMPLE_IDLE_MAX + 2 * LOOK_WINDOW bytes or more in a row is therefore
 * always caught, a shorter run with probability about its length over
 * SAMPLE_IDLE_MAX / 2 per run.  The idle lengths come from a generator keyed
 * by a secret drawn once per process (getrandom), so a sender cannot know
 * which bytes are read; an audit's verdict on real ciphertext does not
 * depend on it.
 */
#define SAMPLE_IDLE_MAX 2048u

static uint32_t verify_secret;
static pthread_once_t verify_secret_once = PTHREAD_ONCE_INIT;

static void draw_secret(void)
{
	if (getrandom(&verify_secret, sizeof(verify_secret), 0) != sizeof(verify_secret))
		verify_secret = (uint32_t)time(NULL) ^ (uint32_t)getpid() * 2654435761u;
}

void verify_init(struct verify *v, uint32_t flow_hash)
{
	pthread_once(&verify_secret_once, draw_secret);
	v->salt = (verify_secret ^ flow_hash) | 1;
	for (int dir = 0; dir < 2; dir++) {
		v->dir[dir].rng = v->salt * (dir ? 0x9e3779b1u : 0x85ebca77u) | 1;
		v->dir[dir].look.pairs = &v->dir[dir].pairs;
		look_stream_reset(&v->dir[dir].pairs, v->dir[dir].rng * 0x2545f491u);
	}
}

static uint16_t next_idle(struct verify_dir *d)
{
	d->rng ^= d->rng << 13; /* xorshift32 */
	d->rng ^= d->rng >> 17;
	d->rng ^= d->rng << 5;
	return (uint16_t)(d->rng % SAMPLE_IDLE_MAX);
}

static bool window_broke(struct verify_dir *d, const char *reason, struct verify_break *b)
{
	enum look_result r = look_judge(&d->look);

	look_next(&d->look);
	if (r != LOOK_NOT_RANDOM)
		return false;
	b->reason = reason;
	b->dir_offset = d->look_start;
	b->use_dir_offset = true;
	b->to = EF_ENC_CLEARTEXT;
	return true;
}

/*
 * Ciphertext bytes at direction offset `off` through the direction's window:
 * p[0] is byte `pos` of a unit of `unit_len` sampled bytes.  A unit long
 * enough to fill a window alone starts one (what the window held from
 * shorter units before it is judged first, at its own size).
 */
static bool sample(struct verify_dir *d, const uint8_t *p, uint32_t n, uint64_t off, uint32_t pos,
		   uint32_t unit_len, bool text_only, bool one_in_8_framing, bool stream, const char *reason,
		   struct verify_break *b)
{
	const uint8_t *whole = p;
	uint32_t whole_n = n;
	uint64_t whole_off = off;

	if (pos == 0) {
		d->idle = 0;
		if (unit_len >= LOOK_WINDOW && d->look.n && window_broke(d, reason, b))
			return false;
	}
	while (n) {
		if (d->idle && pos >= LOOK_WINDOW) {
			uint32_t k = d->idle < n ? d->idle : n;
			d->idle = (uint16_t)(d->idle - k);
			p += k;
			n -= k;
			off += k;
			pos += k;
			continue;
		}
		if (d->look.n == 0)
			d->look_start = off;
		if (text_only)
			d->look.text_only = true;
		uint32_t k = look_add(&d->look, p, n);
		if (one_in_8_framing)
			d->look.structured = (uint8_t)(d->look.structured + (k + 7) / 8);
		p += k;
		n -= k;
		off += k;
		pos += k;
		if (d->look.n == LOOK_WINDOW) {
			if (window_broke(d, reason, b))
				return false;
			if (pos >= LOOK_WINDOW)
				d->idle = next_idle(d);
		}
	}
	/* after the windows, so that a break they find keeps its place */
	if (text_only || one_in_8_framing) {
		/* framing in the bytes, or lost: the long-period test has no
		 * stream to read until the next bytes that are all ciphertext */
		look_stream_break(&d->pairs);
	} else if (stream && look_stream(&d->pairs, whole, whole_n, whole_off)) {
		b->reason = reason;
		b->dir_offset = d->pairs.test_off;
		b->use_dir_offset = true;
		b->to = EF_ENC_CLEARTEXT;
		return false;
	}
	return true;
}

/* A whole unit (a datagram's ciphertext, the bytes after a gap).  A unit
 * equal to the one before it (length and first 16 bytes: for ciphertext,
 * a copy) is a duplicate the capture saw twice; it is judged, but not
 * taken as the stream's next bytes, where it would repeat at its length. */
static bool sample_unit(struct verify_dir *d, const uint8_t *p, uint32_t n, uint64_t off, bool text_only,
			bool one_in_8_framing, const char *reason, struct verify_break *b)
{
	uint32_t head = n < sizeof(d->last_unit) ? n : (uint32_t)sizeof(d->last_unit);
	bool again = n == d->last_unit_len && memcmp(d->last_unit, p, head) == 0;

	d->last_unit_len = n;
	memcpy(d->last_unit, p, head);
	return sample(d, p, n, off, 0, n, text_only, one_in_8_framing, !again, reason, b);
}

/* Plaintext a direction may still send after the decision before its keys
 * are in use (a TLS 1.2 NewSessionTicket, the server's SSH key exchange). */
#define PLAIN_AFTER_DECISION_MAX 65536u

static const char R_TLS_TEXT[] = "readable or structured bytes inside TLS records";
static const char R_TLS_FRAME[] = "bytes outside TLS record framing";
static const char R_TLS_PLAIN[] = "handshake records without ChangeCipherSpec";
static const char R_RAW_TEXT[] = "readable text after a gap in the stream";
static const char R_SSH_TEXT[] = "readable or structured bytes in SSH packets after NEWKEYS";
static const char R_SSH_FRAME[] = "bytes outside SSH packets before NEWKEYS";

static bool tls_version_ok(const struct verify *v, const uint8_t *h)
{
	return h[1] == 3 && h[2] <= 4 && (h[2] >= 1 || v->version == 0x0300);
}

/* In-order TLS bytes of one direction, framing known. */
/* d->next_seq is already past these bytes: p[i] is at next_seq - (n - i). */
static bool tls_stream(struct verify *v, struct verify_dir *d, const uint8_t *p, uint32_t n, uint64_t off,
		       struct verify_break *b)
{
	uint32_t i = 0;

	while (i < n) {
		if (d->rec_left == 0) {
			uint32_t hstart = i;
			while (d->hdr_have < 5 && i < n)
				d->hdr[d->hdr_have++] = p[i++];
			if (d->hdr_have < 5)
				return true;
			d->hdr_have = 0;
			const uint8_t *h = d->hdr;
			uint32_t len = rd16(h + 3);
			if (h[0] < 20 || h[0] > 24 || !tls_version_ok(v, h) || len == 0 || len > 18432 ||
			    (h[0] == 20 && len != 1)) {
				if (d->trial) { /* on trial after a gap: framing lost again */
					d->framed = false;
					d->trial = false;
					return sample_unit(d, p + hstart, n - hstart, off + hstart, true, false, R_RAW_TEXT, b);
				}
				return broke(b, R_TLS_FRAME, p, n, hstart);
			}
			d->trial = false; /* the trial record chained: framing confirmed */
			d->rec_left = (uint16_t)len;
			bool sampled = h[0] == 23 || (d->protected_ && h[0] != 20);
			d->skip = sampled ? (v->version < 0x0304 ? 8 : 0) : 0;
			d->rec_sampled = sampled;
			if (h[0] == 20 && !d->protected_) {
				d->protected_ = true;
				d->prot_seq = d->next_seq - (n - i);
			}
			continue;
		}
		uint32_t k = d->rec_left < n - i ? d->rec_left : n - i;
		if (d->rec_sampled) {
			uint32_t s = d->skip < k ? d->skip : k, len = rd16(d->hdr + 3);
			uint32_t nonce = v->version < 0x0304 ? 8 : 0, at = len - d->rec_left + s;
			d->skip = (uint16_t)(d->skip - s);
			if (k > s && !sample(d, p + i + s, k - s, off + i + s, at - nonce, len > nonce ? len - nonce : 0, false,
					     false, true, R_TLS_TEXT, b))
				return false;
		} else {
			d->counter += k;
			if (d->counter > PLAIN_AFTER_DECISION_MAX)
				return broke(b, R_TLS_PLAIN, p, n, i);
		}
		d->rec_left = (uint16_t)(d->rec_left - k);
		i += k;
	}
	return true;
}

/* In-order SSH bytes of one direction. */
static bool ssh_stream(struct verify_dir *d, const uint8_t *p, uint32_t n, uint64_t off, struct verify_break *b)
{
	uint32_t i = 0;

	while (i < n && !d->protected_) {
		if (d->rec_left == 0) {
			uint32_t hstart = i;
			while (d->hdr_have < 6 && i < n)
				d->hdr[d->hdr_have++] = p[i++];
			if (d->hdr_have < 6)
				return true;
			d->hdr_have = 0;
			uint32_t plen = rd32(d->hdr);
			uint8_t pad = d->hdr[4], msg = d->hdr[5];
			if (plen < 12 || plen > 35000 || pad < 4 || pad >= plen || (msg > 4 && msg < 20) || msg > 49 ||
			    msg == 0)
				return broke(b, R_SSH_FRAME, p, n, hstart);
			d->rec_left = (uint16_t)(plen - 2);
			d->counter += plen + 4;
			if (d->counter > PLAIN_AFTER_DECISION_MAX)
				return broke(b, R_SSH_FRAME, p, n, hstart);
			if (msg == 21)
				d->skip = 1; /* keys in use after this packet */
			continue;
		}
		uint32_t k = d->rec_left < n - i ? d->rec_left : n - i;
		d->rec_left = (uint16_t)(d->rec_left - k);
		i += k;
		if (d->rec_left == 0 && d->skip) {
			d->protected_ = true;
			d->prot_seq = d->next_seq - (n - i);
		}
	}
	if (i < n)
		return sample_unit(d, p + i, n - i, off + i, false, true, R_SSH_TEXT, b);
	return true;
}

void verify_tcp_start(struct verify *v, int dir, bool framed, uint32_t seq, bool protected_, uint32_t first_seq,
		      bool first_known)
{
	struct verify_dir *d = &v->dir[dir];
	uint32_t rng = d->rng;

	memset(d, 0, sizeof(*d));
	d->look.pairs = &d->pairs;
	d->rng = rng;
	look_stream_reset(&d->pairs, rng * 0x2545f491u);
	d->framed = framed;
	d->next_seq = d->prot_seq = seq;
	d->protected_ = protected_;
	d->first_seq = first_seq;
	d->first_known = first_known;
}

/* In-order bytes at the direction's next_seq. */
static bool tcp_in_order(struct verify *v, struct verify_dir *d, const uint8_t *p, uint32_t n, uint64_t off,
			 struct verify_break *b)
{
	if (v->kind == VERIFY_SSH) {
		if (!d->framed) { /* where packets start is unknown: the keys are in use */
			if (!d->protected_)
				d->prot_seq = d->next_seq - n;
			d->protected_ = d->framed = true;
		}
		return ssh_stream(d, p, n, off, b);
	}
	if (!d->framed) {
		/* Resynchronise on a record header of the flow's version, on
		 * trial: application data; before this side's CCS (its plaintext
		 * handshake still going) also handshake and CCS records. */
		if (n >= 5 && (p[0] == 23 || (!d->protected_ && (p[0] == 20 || p[0] == 22))) && p[1] == 3 &&
		    p[2] == (v->version >= 0x0303 ? 3 : (uint8_t)v->version) && rd16(p + 3) && rd16(p + 3) <= 18432) {
			d->framed = d->trial = true;
			d->rec_left = 0;
			d->hdr_have = 0;
		} else if (!d->protected_) {
			/* Certificates read as text: before its CCS a side's bytes
			 * only count against the plaintext allowance. */
			d->counter += n;
			if (d->counter > PLAIN_AFTER_DECISION_MAX)
				return broke(b, R_TLS_PLAIN, p, n, 0);
			return true;
		} else {
			return sample_unit(d, p, n, off, true, false, R_RAW_TEXT, b);
		}
	}
	return tls_stream(v, d, p, n, off, b);
}

bool verify_tcp_bytes(struct verify *v, int dir, const uint8_t *p, uint32_t n, uint64_t dir_bytes,
		      struct verify_break *b)
{
	struct verify_dir *d = &v->dir[dir];

	d->next_seq += n;
	return tcp_in_order(v, d, p, n, dir_bytes, b);
}

static const char R_OUTSIDE[] = "TCP payload outside the stream (before its first byte) that is not random";
static const char R_RETRANSMITTED_PLAIN[] = "retransmitted handshake bytes beyond the plaintext allowance";

/* Bytes below next_seq after the decision, p[0] at seq: the stream's own
 * bytes are gone, so no kept copy vouches for them, and each is judged by
 * where it lies.  Before the direction's first byte it was never part of
 * the stream: judged by look_judge() whole, the distinct count included (no
 * framing is due there).  In the cleartext handshake it counts against the
 * plaintext allowance (a certificate reads as text by design).  In the
 * protected part (a retransmission, a segment late after a gap) by the text
 * features, as the bytes after a gap are. */
static bool behind_stream(struct verify_dir *d, uint32_t seq, const uint8_t *p, uint32_t n, uint64_t off,
			  struct verify_break *b)
{
	int32_t pre = d->first_known ? (int32_t)(d->first_seq - seq) : 0;
	uint32_t outside = pre <= 0 ? 0 : (uint32_t)pre > n ? n : (uint32_t)pre;

	if (outside && !sample_unit(d, p, outside, off, false, false, R_OUTSIDE, b))
		return false;
	int32_t clear = d->protected_ ? (int32_t)(d->prot_seq - (seq + outside)) : (int32_t)(n - outside);
	uint32_t plain = clear <= 0 ? 0 : (uint32_t)clear > n - outside ? n - outside : (uint32_t)clear;
	if (plain && (d->counter += plain) > PLAIN_AFTER_DECISION_MAX)
		return broke(b, R_RETRANSMITTED_PLAIN, p, n, outside);
	uint32_t from = outside + plain;
	return from == n || sample_unit(d, p + from, n - from, off + from, true, false, R_RAW_TEXT, b);
}

static bool verify_tcp(struct verify *v, int dir, const struct packet *pk, uint64_t off, struct verify_break *b)
{
	struct verify_dir *d = &v->dir[dir];
	const uint8_t *p = pk->payload;
	uint32_t n = pk->payload_len;
	int32_t ahead = (int32_t)(pk->tcp_seq - d->next_seq);

	if (ahead < 0) {
		uint32_t old = 0u - (uint32_t)ahead;
		if (old > n)
			old = n;
		if (!behind_stream(d, pk->tcp_seq, p, old, off, b))
			return false;
		p += old;
		n -= old;
		off += old;
		if (!n)
			return true;
	} else if (ahead > 0) {
		d->framed = false; /* a gap: the framing is lost until it resynchronises */
		d->trial = false;
		look_stream_break(&d->pairs); /* the bytes after the gap do not adjoin those before */
		d->rec_left = 0;
		d->hdr_have = 0;
	}
	d->next_seq = pk->tcp_seq + pk->payload_len;
	bool ok = tcp_in_order(v, d, p, n, off, b);
	if (!ok && !b->use_dir_offset)
		b->at += (uint32_t)(p - pk->payload);
	return ok;
}

/* ---- datagrams ------------------------------------------------------------ */

/* QUIC variable-length integer; 0 bytes when cut short. */
static uint32_t quic_varint(const uint8_t *p, uint32_t n, uint64_t *v)
{
	if (!n)
		return 0;
	uint32_t len = 1u << (p[0] >> 6);
	if (len > n)
		return 0;
	uint64_t x = p[0] & 0x3f;
	for (uint32_t i = 1; i < len; i++)
		x = x << 8 | p[i];
	*v = x;
	return len;
}

#define QUIC_V1 0x00000001u
#define QUIC_V2 0x6b3343cfu

/* gQUIC up to Q043 has its own public header (no long-header bit). */
static bool gquic_legacy(uint32_t version)
{
	return (version >> 24) == 'Q' && version < 0x51303436u; /* < "Q046" */
}

uint32_t quic_long_version(const uint8_t *p, uint32_t n)
{
	if (n >= 5 && (p[0] & 0x80))
		return rd32(p + 1);
	if (n >= 13 && (p[0] & 0x81) == 0x01 && (p[0] & 0x08) && p[9] == 'Q') /* gQUIC public header, version present */
		return rd32(p + 9);
	return 0;
}

/* The long-header packet type as v1 numbers it (0 Initial, 1 0-RTT,
 * 2 Handshake, 3 Retry); v2 permutes them (RFC 9369 3.2). */
static unsigned quic_type(uint32_t version, uint8_t first)
{
	unsigned t = (first >> 4) & 3;

	if (version == QUIC_V2)
		return (t + 3) & 3; /* v2: 1 Initial, 2 0-RTT, 3 Handshake, 0 Retry */
	return t;
}

bool quic_valid_reply(uint32_t version, const uint8_t *p, uint32_t n)
{
	if (!version || n < 20)
		return false;
	if (gquic_legacy(version)) /* public flags: no reset, reserved bits clear */
		return (p[0] & 0xc2) == 0;
	/* A server's first packet is a long header; a short header (its
	 * fixed bit may be greased, RFC 9287) proves nothing a random byte
	 * would not.  The fixed bit is not required either, for that reason:
	 * the structure is -- version, type, connection id lengths, and the
	 * Initial's token and Length fields within the datagram. */
	if (!(p[0] & 0x80) || rd32(p + 1) != version)
		return false;
	if ((version >> 24) == 'Q')
		return true; /* gQUIC Q046-Q050: its own length fields; the version must match */
	unsigned t = quic_type(version, p[0]);
	if (t != 0 && t != 2)
		return false;
	uint32_t dcid = p[5];
	if (dcid > 20 || 7 + dcid > n || p[6 + dcid] > 20)
		return false;
	uint32_t off = 7 + dcid + p[6 + dcid], k;
	uint64_t v;
	if (t == 0) {
		if (off >= n || !(k = quic_varint(p + off, n - off, &v)) || v > n - off - k)
			return false;
		off += k + (uint32_t)v;
	}
	if (off >= n || !(k = quic_varint(p + off, n - off, &v)))
		return false;
	return v >= 20 && v <= n - off - k; /* packet number and AEAD tag at least */
}

/*
 * One long-header packet at p: its protected bytes [*from, *end) (the packet
 * number's up to 4 bytes skipped), its token [*tok, *tok + *tok_len) (an
 * Initial's; 0 bytes otherwise), its type in v1 numbers, and where the next
 * coalesced packet starts (*end).  False when it does not parse; *from ==
 * *end for packets without ciphertext (Version Negotiation, Retry).
 */
static bool quic_long_packet(const uint8_t *p, uint32_t n, uint32_t *from, uint32_t *end, uint32_t *tok,
			     uint32_t *tok_len, unsigned *type)
{
	*tok = *tok_len = 0;
	*type = 3;
	if (n < 7)
		return false;
	uint32_t version = rd32(p + 1), off = 6 + p[5];
	if (!version || (version >> 24) == 'Q') { /* VN; gQUIC's own lengths */
		*from = *end = n;
		return true;
	}
	if (p[5] > 20 || off >= n || p[off] > 20)
		return false;
	off += 1 + p[off];
	unsigned t = quic_type(version, p[0]);
	uint64_t v;
	uint32_t k;
	*type = t;
	if (t == 3) { /* Retry: a token, not ciphertext */
		*from = *end = n;
		return true;
	}
	if (t == 0) {
		if (off >= n || !(k = quic_varint(p + off, n - off, &v)) || v > n - off - k)
			return false;
		*tok = off + k;
		*tok_len = (uint32_t)v;
		off += k + (uint32_t)v;
	}
	if (off >= n || !(k = quic_varint(p + off, n - off, &v)) || v > n - off - k || v < 4)
		return false;
	*from = off + k + 4;
	*end = off + k + (uint32_t)v;
	return true;
}

/*
 * QUIC Initial packets are protected with keys anyone derives from the
 * client's destination connection id (RFC 9001 5.2): whatever an Initial
 * carries is readable on the path, like a TLS ClientHello, even where its
 * bytes look random.  So they are not judged as a proof of encryption but
 * bounded as plaintext is: after the decision a direction may send at most
 * QUIC_INITIAL_AFTER_DECISION_MAX bytes of Initial packets (ACKs and
 * retransmitted hello flights, a few 1200-byte datagrams), and the client
 * none at all once it sent a Handshake packet (it discards its Initial keys
 * then, RFC 9001 4.9.1).  Decrypting the Initials to read their CRYPTO
 * frames would tell a ClientHello from text only to bound it the same way
 * (anyone can read both), at the price of an AEAD per packet: not done.
 * What the path cannot decrypt is still judged: a token (server-made,
 * opaque: random unless someone writes text into it) and the protected
 * bytes, which in a genuine Initial are ciphertext, so readable bytes there
 * are no Initial at all.  Before the decision quic_readable_initial() judges
 * both sides' datagrams so (an inside server's reply leaves too), and the
 * protected bytes of 0-RTT and Handshake packets as well: the datagram that
 * decides is not watched after it.
 */
#define QUIC_INITIAL_AFTER_DECISION_MAX 16384u

static const char R_QUIC_TEXT[] = "readable bytes in a QUIC Initial (token or payload)";
static const char R_QUIC_INITIAL[] = "QUIC Initial packets beyond the handshake (readable with public keys)";

static bool readable(const uint8_t *p, uint32_t n)
{
	return look_at(p, n) == LOOK_NOT_RANDOM || look_text(p, n);
}

bool quic_readable_initial(const uint8_t *p, uint32_t n, uint32_t *at)
{
	uint32_t i = 0, from, end, tok, tok_len;
	unsigned t;

	while (i < n && (p[i] & 0x80)) {
		if (!quic_long_packet(p + i, n - i, &from, &end, &tok, &tok_len, &t))
			return false; /* not QUIC: judged as such elsewhere */
		if (tok_len && readable(p + i + tok, tok_len)) {
			*at = i + tok;
			return true;
		}
		if (t != 3 && end > from && look_at(p + i + from, end - from) == LOOK_NOT_RANDOM) {
			*at = i + from;
			return true;
		}
		i += end;
	}
	return false;
}

/*
 * A QUIC datagram's ciphertext through the window: each coalesced long-header
 * packet's protected part, then a short-header packet's (after its flags, up
 * to 20 bytes of connection id and packet number).  Zero bytes after the
 * packets are padding some stacks add to reach 1200 bytes; they carry
 * nothing, and anything else there is judged like ciphertext.
 */
static bool quic_sample(struct verify_dir *d, int dir, const uint8_t *p, uint32_t n, uint64_t off,
			const char *reason, struct verify_break *b)
{
	uint32_t i = 0, from, end, tok, tok_len;
	unsigned t;

	while (i < n && (p[i] & 0x80)) {
		if (!quic_long_packet(p + i, n - i, &from, &end, &tok, &tok_len, &t))
			return sample_unit(d, p + i, n - i, off + i, false, false, reason, b);
		if (tok_len && readable(p + i + tok, tok_len)) {
			broke(b, R_QUIC_TEXT, p, n, i + tok);
			b->to = EF_ENC_CLEARTEXT;
			return false;
		}
		if (t == 0) {
			d->counter += end;
			if ((dir == 0 && d->protected_) || d->counter > QUIC_INITIAL_AFTER_DECISION_MAX)
				return broke(b, R_QUIC_INITIAL, p, n, i);
		} else if (t == 2 && dir == 0) {
			d->protected_ = true; /* the client's Initial keys are gone */
		}
		if (!sample_unit(d, p + i + from, end - from, off + i + from, false, false, reason, b))
			return false;
		i += end;
	}
	if (i >= n)
		return true;
	uint32_t z = i;
	while (z < n && !p[z])
		z++;
	if (z == n && i > 0)
		return true;
	return n - i > 25 ? sample_unit(d, p + i + 25, n - i - 25, off + i + 25, false, false, reason, b) : true;
}

/*
 * ESP with NULL encryption (RFC 5879's heuristics): the trailer is in the
 * clear -- padding 1, 2, 3, ..., the pad length, and a next-header value of
 * an upper layer -- before an ICV of 12 or 16 bytes (or none), and the
 * payload starts as that upper layer's header.  Random bytes pass both by
 * chance with probability well under 1e-9.
 */
bool esp_null_like(const uint8_t *p, uint32_t n)
{
	static const uint8_t icvs[] = {12, 16, 0};

	if (n < 8 + 20 + 2)
		return false;
	for (size_t i = 0; i < sizeof(icvs); i++) {
		uint32_t end = n - icvs[i]; /* just past the next-header byte */
		uint8_t nh = p[end - 1], pl = p[end - 2];
		if (end < 8u + 2u + pl + 8u)
			continue;
		bool pad_ok = true;
		for (uint32_t k = 0; k < pl && pad_ok; k++)
			pad_ok = p[end - 2 - pl + k] == k + 1;
		if (!pad_ok)
			continue;
		const uint8_t *in = p + 8;
		uint32_t in_len = end - 2 - pl - 8;
		if (nh == 4 && (in[0] >> 4) == 4 && in_len >= 20 && rd16(in + 2) == in_len)
			return true;
		if (nh == 41 && (in[0] >> 4) == 6 && in_len >= 40 && rd16(in + 4) + 40u == in_len)
			return true;
		if (nh == 17 && in_len >= 8 && rd16(in + 4) == in_len)
			return true;
		if (nh == IPPROTO_TCP && pl >= 2 && in_len >= 20 && (in[12] >> 4) >= 5 && (in[12] >> 4) * 4u <= in_len)
			return true;
	}
	return false;
}

static const char R_DGRAM_TEXT[] = "readable or structured bytes in an encrypted datagram";
static const char R_QUIC[] = "a datagram that is not QUIC of the flow's version";
static const char R_DTLS[] = "a datagram that is not a DTLS record";
static const char R_WG[] = "a datagram that is not WireGuard";
static const char R_WG_COUNTER[] = "a WireGuard counter or receiver index out of step";
static const char R_ESP[] = "an ESP SPI or sequence number out of step";
static const char R_ESP_NULL[] = "ESP with NULL encryption";
static const char R_IKE[] = "an IKE message that is not encrypted";
static const char R_DTLS_PLAIN[] = "unprotected DTLS records (epoch 0) beyond a handshake retransmission";
static const char R_WG_HANDSHAKE[] = "WireGuard handshake messages whose keys and MACs are not random";
static const char R_WG_HANDSHAKES[] = "more WireGuard handshake messages than rekeying sends";

#define DTLS_PLAIN_AFTER_DECISION_MAX 16384u

/*
 * WireGuard handshake messages (types 1-3) after the decision: a rekey
 * every 2 minutes (REKEY_AFTER_TIME), an initiation retried every 5 s
 * (REKEY_TIMEOUT) for at most 90 s.  A direction may send WG_HS_BURST of
 * them plus one per WG_HS_EVERY_US since the watch began; their fields
 * other than the indexes and mac2 (zero without a cookie) are public keys,
 * AEAD output, nonces and MACs: random, judged as ciphertext.
 */
#define WG_HS_BURST 20u
#define WG_HS_EVERY_US 5000000ull

/* The random part of a WireGuard handshake message: [from, to). */
static bool wireguard_hs_fields(const uint8_t *p, uint32_t n, uint32_t *from, uint32_t *to)
{
	static const uint8_t size[4] = {0, 148, 92, 64}, lo[4] = {0, 8, 12, 8}, hi[4] = {0, 132, 76, 64};

	if (n < 4 || p[0] < 1 || p[0] > 3 || p[1] || p[2] || p[3] || n != size[p[0]])
		return false;
	*from = lo[p[0]];
	*to = hi[p[0]];
	return true;
}

bool wireguard_handshake_readable(const uint8_t *p, uint32_t n)
{
	uint32_t from, to;

	return wireguard_hs_fields(p, n, &from, &to) && look_at(p + from, to - from) == LOOK_NOT_RANDOM;
}

static bool verify_esp(struct verify_dir *d, const uint8_t *p, uint32_t n, uint64_t off, struct verify_break *b)
{
	if (n < 8)
		return broke(b, R_ESP, p, n, 0);
	uint32_t spi = rd32(p), seq = rd32(p + 4);
	if (!d->id_known || (spi != d->id && seq < 64)) { /* a new SA starts low */
		d->id = spi;
		d->id_known = true;
		d->counter = seq;
	} else if (spi != d->id || (int32_t)(seq - d->counter) < -64 || seq == 0) {
		return broke(b, R_ESP, p, n, 0);
	} else if ((int32_t)(seq - d->counter) > 0) {
		d->counter = seq;
	}
	if (esp_null_like(p, n)) {
		broke(b, R_ESP_NULL, p, n, 8);
		b->to = EF_ENC_CLEARTEXT;
		return false;
	}
	return n > 16 ? sample_unit(d, p + 16, n - 16, off + 16, false, false, R_DGRAM_TEXT, b) : true;
}

static bool verify_wireguard(struct verify *v, struct verify_dir *d, const uint8_t *p, uint32_t n, uint64_t off,
			     uint64_t ts_us, struct verify_break *b)
{
	static const uint32_t sizes[5] = {0, 148, 92, 64, 0};

	if (n < 4 || p[0] < 1 || p[0] > 4 || p[1] || p[2] || p[3])
		return broke(b, R_WG, p, n, 0);
	if (p[0] != 4) {
		uint32_t from, to;
		if (n != sizes[p[0]] || !wireguard_hs_fields(p, n, &from, &to))
			return broke(b, R_WG, p, n, 0);
		if (look_at(p + from, to - from) == LOOK_NOT_RANDOM) {
			broke(b, R_WG_HANDSHAKE, p, n, from);
			b->to = EF_ENC_CLEARTEXT;
			return false;
		}
		/* A clock that steps back (merged captures) grants nothing. */
		uint64_t elapsed = ts_us > v->start_us ? ts_us - v->start_us : 0;
		if (++d->hs_packets > WG_HS_BURST + elapsed / WG_HS_EVERY_US)
			return broke(b, R_WG_HANDSHAKES, p, n, 0);
		d->id_known = false; /* a new handshake: a new index and counter follow */
		return true;
	}
	if (n < 32) /* header and tag; the padding to 16 stops at the MTU */
		return broke(b, R_WG, p, n, 0);
	uint32_t index = rd32le(p + 4), ctr = rd32le(p + 8);
	if (!d->id_known || (index != d->id && ctr < 64)) {
		d->id = index;
		d->id_known = true;
		d->counter = ctr;
	} else if (index != d->id || (int32_t)(ctr - d->counter) < -2048 || rd32le(p + 12)) {
		return broke(b, R_WG_COUNTER, p, n, 4);
	} else if ((int32_t)(ctr - d->counter) > 0) {
		d->counter = ctr;
	}
	return sample_unit(d, p + 16, n - 16, off + 16, false, false, R_DGRAM_TEXT, b);
}

static bool verify_dtls(struct verify *v, struct verify_dir *d, const uint8_t *p, uint32_t n, uint64_t off,
			struct verify_break *b)
{
	uint32_t i = 0;

	while (i < n) {
		const uint8_t *r = p + i;
		uint32_t left = n - i;
		if ((r[0] & 0xe0) == 0x20 && v->version == 0xfefc) {
			/* DTLS 1.3 unified header: the rest of the datagram unless
			 * a length is present; connection id of unknown length. */
			uint32_t hl = 1 + ((r[0] & 0x08) ? 2 : 1) + ((r[0] & 0x04) ? 2 : 0) + ((r[0] & 0x10) ? 20 : 0);
			uint32_t len = (r[0] & 0x04) && !(r[0] & 0x10) && left >= hl ? rd16(r + hl - 2) : left - hl;
			if (left < hl || len > left - hl)
				return broke(b, R_DTLS, p, n, i);
			if (!sample_unit(d, r + hl, len, off + i + hl, false, false, R_DGRAM_TEXT, b))
				return false;
			i += hl + len;
			continue;
		}
		if (left < 13 || r[0] < 20 || r[0] > 25 || r[1] != 0xfe || (r[2] != 0xff && r[2] != 0xfd))
			return broke(b, R_DTLS, p, n, i);
		uint32_t len = rd16(r + 11);
		if (len > left - 13)
			return broke(b, R_DTLS, p, n, i);
		if (rd16(r + 3) >= 1 && r[0] != 20 && len > 8 &&
		    !sample_unit(d, r + 13 + 8, len - 8, off + i + 21, false, false, R_DGRAM_TEXT, b))
			return false; /* epoch >= 1: protected; its 8-byte explicit nonce skipped */
		/* Epoch 0 after the decision: a retransmitted handshake flight
		 * (its Certificate is DER with readable names, so not judged
		 * for text), never application data, and only so much of it:
		 * DTLS_PLAIN_AFTER_DECISION_MAX, a few flights. */
		if (rd16(r + 3) == 0 && (r[0] == 23 || r[0] == 24))
			return broke(b, R_DTLS_PLAIN, p, n, i + 13);
		if (rd16(r + 3) == 0 && (d->counter += len) > DTLS_PLAIN_AFTER_DECISION_MAX)
			return broke(b, R_DTLS_PLAIN, p, n, i);
		i += 13 + len;
	}
	return true;
}

/*
 * IKE messages in the clear after the decision: a new IKE SA's
 * IKE_SA_INIT (reauthentication, its retransmissions and retries) on the
 * same ports.  Each is judged by the walk that judged the handshake
 * (ike_message) and holds at most a handshake's allowance of unproven
 * bytes (classify.c's HS_UNPROVEN_MAX); a side may send IKE_CLEAR_BURST
 * of them plus one per IKE_CLEAR_EVERY_US since the watch began.  Text
 * that fits those (Vendor IDs of 64 bytes, proposals) is what they leave,
 * at most 16 KiB at once.
 */
#define IKE_UNPROVEN_AFTER_DECISION_MAX 2048u
#define IKE_CLEAR_BURST 8u
#define IKE_CLEAR_EVERY_US 600000000ull

static const char R_IKE_CLEAR[] = "more IKE messages in the clear after the decision than a new IKE SA sends";
static const char R_IKE_ALLOWANCE[] = "an IKE message in the clear after the decision beyond the handshake allowance";

static bool verify_ike(struct verify *v, struct verify_dir *d, const struct packet *pk, uint64_t off,
		       struct verify_break *b)
{
	const uint8_t *p = pk->payload;
	uint32_t n = pk->payload_len;
	static const uint8_t zero[4];

	if (n == 1 && p[0] == 0xff)
		return true; /* NAT-T keepalive */
	if (pk->sport == 4500 || pk->dport == 4500) {
		if (n >= 4 && memcmp(p, zero, 4) != 0)
			return verify_esp(d, p, n, off, b); /* ESP in UDP */
		if (n < 4)
			return broke(b, R_IKE, p, n, 0);
		p += 4;
		n -= 4;
		off += 4;
	}
	if (n < 28 || rd32(p + 24) != n || (p[17] != 0x20 && p[17] != 0x10))
		return broke(b, R_IKE, p, n, 0);
	bool v2 = p[17] == 0x20;
	uint8_t exchange = p[18];
	bool encrypted = v2 ? (p[16] == 46 || p[16] == 53) : (p[19] & 1);
	if (!encrypted && !(v2 ? exchange == 34 : exchange == 2 || exchange == 4))
		return broke(b, R_IKE, p, n, 0);
	if (!encrypted) {
		struct hs_count hs = {0};
		uint64_t elapsed = pk->ts_us > v->start_us ? pk->ts_us - v->start_us : 0;
		if (ike_message(NULL, p, n, &hs) == WALK_BROKEN || hs.unproven > IKE_UNPROVEN_AFTER_DECISION_MAX) {
			broke(b, hs.broke ? hs.broke : R_IKE_ALLOWANCE, p, n, 0);
			b->to = EF_ENC_CLEARTEXT;
			return false;
		}
		if (++d->hs_packets > IKE_CLEAR_BURST + elapsed / IKE_CLEAR_EVERY_US)
			return broke(b, R_IKE_CLEAR, p, n, 0);
		return true;
	}
	if (encrypted && n > 28 + 4 + 16 + 16) { /* v2: SK header, IV, ..., ICV; v1: CBC from 28 */
		uint32_t from = v2 ? 28 + 4 + 16 : 28, to = v2 ? n - 16 : n;
		return sample_unit(d, p + from, to - from, off + from, false, false, R_DGRAM_TEXT, b);
	}
	return true;
}

bool openvpn_opcode_known(unsigned op)
{
	return op >= 1 && op <= 11;
}

static const char R_OVPN[] = "a datagram that is not OpenVPN";
static const char R_OVPN_TEXT[] = "readable text in an OpenVPN control packet";

/* OpenVPN over UDP: every datagram an OpenVPN packet; the data channel's
 * ciphertext (after the opcode, peer id for V2) looks random; the control
 * channel (TLS inside, or tls-crypt) may carry a renegotiation's handshake
 * after the decision, so there readable text is what breaks the claim. */
static bool verify_openvpn(struct verify_dir *d, const uint8_t *p, uint32_t n, uint64_t off,
			   struct verify_break *b)
{
	unsigned op = n ? p[0] >> 3 : 0;

	if (n < 2 || !openvpn_opcode_known(op))
		return broke(b, R_OVPN, p, n, 0);
	if (op == OPENVPN_P_DATA_V1 || op == OPENVPN_P_DATA_V2) {
		/* The 4-byte packet id after the header is in the clear with
		 * AEAD ciphers and counts up (with CBC those bytes are HMAC):
		 * not ciphertext, and in short packets (pings) it repeats at the
		 * packets' distance, which the periodicity count would see. */
		uint32_t h = openvpn_data_start(op) + 4;
		return n > h ? sample_unit(d, p + h, n - h, off + h, false, false, R_DGRAM_TEXT, b) : true;
	}
	return n > 9 ? sample_unit(d, p + 9, n - 9, off + 9, true, false, R_OVPN_TEXT, b) : true;
}

bool verify_packet(struct verify *v, int dir, const struct packet *pk, uint64_t dir_bytes, struct verify_break *b)
{
	struct verify_dir *d = &v->dir[dir];
	const uint8_t *p = pk->payload;
	uint32_t n = pk->payload_len;

	memset(b, 0, sizeof(*b));
	switch ((enum verify_kind)v->kind) {
	case VERIFY_NONE:
		return true;
	case VERIFY_TLS:
	case VERIFY_SSH:
		if (!n || pk->l4 != IPPROTO_TCP)
			return true;
		return verify_tcp(v, dir, pk, dir_bytes, b);
	case VERIFY_ESP:
		return verify_esp(d, p, n, dir_bytes, b);
	case VERIFY_IKE:
		if (!v->start_us)
			v->start_us = pk->ts_us | 1;
		return verify_ike(v, d, pk, dir_bytes, b);
	case VERIFY_WIREGUARD:
		if (!v->start_us)
			v->start_us = pk->ts_us | 1;
		return verify_wireguard(v, d, p, n, dir_bytes, pk->ts_us, b);
	case VERIFY_DTLS:
		return verify_dtls(v, d, p, n, dir_bytes, b);
	case VERIFY_OPENVPN:
		return verify_openvpn(d, p, n, dir_bytes, b);
	case VERIFY_QUIC: {
		if (!n)
			return true;
		bool ok;
		if ((p[0] & 0x80) && n < 5)
			ok = false;
		else if (gquic_legacy(v->quic_version))
			ok = (p[0] & 0xc0) == 0; /* handshake in the clear: the header is all there is to check */
		else if (p[0] & 0x80) {
			/* The flow's version, a server's Version Negotiation, or the
			 * client's next version after one.  The fixed bit may be
			 * greased (RFC 9287). */
			uint32_t ver = rd32(p + 1);
			ok = ver == v->quic_version || (dir == 1 && !ver);
			if (dir == 1 && !ver)
				v->quic_vn = true;
			else if (dir == 0 && ver && v->quic_vn && ver != v->quic_version) {
				v->quic_version = ver;
				v->quic_vn = false;
				ok = true;
			}
		} else {
			ok = true; /* short header: the content is what is checked */
		}
		if (!ok)
			return broke(b, R_QUIC, p, n, 0);
		if (gquic_legacy(v->quic_version) || (v->quic_version >> 24) == 'Q')
			return true; /* gQUIC's handshake packets are not encrypted */
		return quic_sample(d, dir, p, n, dir_bytes, R_DGRAM_TEXT, b);
	}
	}
	return true;
}
