/*
 * classify/internal.h -- what the classifier's own files share: the flow
 * structure, the table, and the TCP stream.  Not part of the interface.
 */
#ifndef EF_CLASSIFY_INTERNAL_H
#define EF_CLASSIFY_INTERNAL_H

#include "classify.h"

struct ndpi_flow_struct;

/* ---- does it look like ciphertext? (verify.c) --------------------------- */

/*
 * One judgement of "random or not" for every check in the classifier: a
 * window of up to LOOK_WINDOW bytes, the set of byte values it holds and how
 * many are printable.  Fed as bytes arrive (no copy), judged when full.
 */
#define LOOK_WINDOW 128u

/* Text features other than the printable share and the distinct count (see
 * the top of verify.c for the exact false-positive bound of each): */
#define LOOK_RUN_MIN 8u        /* printable runs this long count, byte by byte... */
#define LOOK_RUN_BYTES 50u     /* ...and this many such bytes in a window is text */
#define LOOK_RUN_SUSPECT 25u   /* this many makes a window suspect... */
#define LOOK_RECENT 16u        /* ...and a suspect window with 2 more among the */
#define LOOK_RECENT_SUSPECTS 3u /* 15 judged before it (look_next) is text */
#define LOOK_UTF8_BYTES 50u    /* bytes in well-formed UTF-8 multibyte sequences */
#define LOOK_UTF16_PAIRS 9u    /* a printable byte followed by a zero byte */
/* Periodicity (text XORed with a repeating key): equal bytes at each
 * distance 1..LOOK_PERIOD_MAX, LOOK_PERIOD_PAIRS pairs a full window,
 * summed over LOOK_PERIOD_WINDOWS windows of a stream; LOOK_PERIOD_HITS
 * at one distance is not random (verify.c's top comment). */
#define LOOK_PERIOD_MAX 64u
#define LOOK_PERIOD_PAIRS (LOOK_WINDOW - LOOK_PERIOD_MAX)
#define LOOK_PERIOD_WINDOWS 8u
#define LOOK_PERIOD_HITS 21u

/* Longer keys (verify.c's top comment): the top bit of each byte of the
 * stream, LOOK_LONG_MAX bytes and a LOOK_LONG_WINDOW-byte window after
 * them, is compared with itself at every distance 1..LOOK_LONG_MAX; one
 * such test per LOOK_LONG_MAX + LOOK_LONG_WINDOW + 0..LOOK_LONG_GAP_MAX-1
 * stream bytes (the first right after the stream's first LOOK_LONG_MAX). */
#define LOOK_LONG_MAX 1024u
#define LOOK_LONG_WINDOW 128u
#define LOOK_LONG_GAP_MAX 65536u
#define LOOK_LONG_MISMATCHES 2u /* at most this many in 64 pairs is periodic */
#define LOOK_LONG_WORDS ((LOOK_LONG_MAX + LOOK_LONG_WINDOW) / 64)

/* The periodicity test's state, kept by a holder that judges a stream's
 * windows one after another (the watch after the decision). */
struct look_pairs {
	uint8_t windows;           /* full windows in hits so far (of LOOK_PERIOD_WINDOWS) */
	uint8_t hits[LOOK_PERIOD_MAX]; /* equal pairs at distance d + 1 (saturating) */
	uint8_t buf[LOOK_WINDOW];  /* the window's bytes */
	/* the long-period test: every ciphertext byte of the stream passes
	 * (look_stream), only the top bits of those before a test are kept */
	uint32_t rng;              /* keyed generator of the gaps between tests */
	uint64_t fed;              /* stream bytes since the stream (re)started */
	uint64_t test_at;          /* stream position of the next test's window */
	uint64_t test_off;         /* the holder's offset of that window's first byte */
	uint64_t plane[LOOK_LONG_WORDS]; /* bit 7 of bytes test_at - LOOK_LONG_MAX on */
};

struct look {
	uint64_t seen[4];          /* which byte values occurred */
	uint8_t n;                 /* bytes in the window */
	uint8_t printable;
	uint8_t structured;        /* bytes that may be framing, not ciphertext */
	bool text_only;            /* framing unknown: judge the text features alone */
	uint8_t ebcdic;            /* bytes of EBCDIC text (letters, digits, punctuation) */
	uint8_t seq;               /* where the last bytes left off: a printable run, a UTF-8
				    * sequence (verify.c's seq_step) */
	uint8_t run_bytes;         /* bytes in printable runs of LOOK_RUN_MIN or more */
	uint8_t utf16;             /* printable-then-zero pairs */
	uint8_t utf8;              /* bytes in complete UTF-8 multibyte sequences */
	uint16_t recent;           /* which of the windows judged before were suspect */
	bool folded;               /* this window's pairs are in pairs->hits */
	struct look_pairs *pairs;  /* the periodicity test's state, or NULL: not applied */
};

enum look_result { LOOK_PENDING = 0, LOOK_RANDOM, LOOK_NOT_RANDOM };

/* A stream starts: the first test comes after LOOK_LONG_MAX bytes, the
 * next ones at places drawn from `seed' (kept secret from the sender). */
void look_stream_reset(struct look_pairs *lp, uint32_t seed);
/* The bytes to come do not adjoin those before (a gap, framing bytes): a
 * test whose bytes began before is put off until enough have come after. */
void look_stream_break(struct look_pairs *lp);
/* Bytes that continue the stream, p[0] at the holder's offset `off'; true
 * when a test found text under a long repeating key (lp->test_off: where
 * its window began). */
bool look_stream(struct look_pairs *lp, const uint8_t *p, uint32_t n, uint64_t off);

/* Adds bytes, at most up to a full window; returns how many were taken. */
uint32_t look_add(struct look *w, const uint8_t *p, uint32_t n);
/* The window's verdict (PENDING when it is too short to tell).  With
 * pairs, a full window's pairs go into the stream's periodicity count once. */
enum look_result look_judge(struct look *w);
/* Empties a judged window for the next one of the same stream, keeping
 * whether it was suspect (a stream's windows judged one after another). */
void look_next(struct look *w);
/* One buffer judged alone: its first LOOK_WINDOW bytes. */
enum look_result look_at(const uint8_t *p, uint32_t n);
/* Readable text, from the text features alone (not the distinct count), in
 * the first LOOK_WINDOW bytes. */
bool look_text(const uint8_t *p, uint32_t n);
/* The thresholds, for the test that recomputes them: a window of n bytes is
 * not random with fewer than look_min_distinct(n) distinct values or at
 * least look_max_printable(n) printable ones. */
unsigned look_min_distinct(unsigned n);
unsigned look_max_printable(unsigned n);
/* Whether a byte value counts as ASCII printable, as EBCDIC text. */
bool look_printable_byte(uint8_t c);
bool look_ebcdic_byte(uint8_t c);

/* ---- one direction of a TCP connection, while undecided ----------------- */

#define STREAM_HIST_MAX 16384u /* bytes of each direction kept for the decision */
#define STREAM_MAX_OOO 32      /* out-of-order segments held per direction */

struct ooo_seg {
	uint32_t seq, len;
	uint8_t *data;
};

struct stream {
	bool seq_known, fin;
	uint32_t base_seq;        /* sequence number of hist[0] (after a gap, as if hist had no hole) */
	uint32_t hist_from;       /* hist[0..hist_from) came before the last gap: never compared again */
	uint32_t next_seq;        /* next in-order byte expected */
	uint8_t *hist;            /* the direction's first bytes, in order */
	uint32_t hist_len, hist_cap;
	uint32_t fed;             /* bytes of hist already given to nDPI */
	uint16_t pending_segs;    /* segments in hist[fed..hist_len) */
	uint16_t n_ooo;
	struct ooo_seg ooo[STREAM_MAX_OOO];
	bool gap;                 /* bytes were lost: the stream skipped ahead */
	bool conflict;            /* a retransmission disagreed with the first copy */
	bool retransmitted;       /* the sender repeated bytes still pending */
	uint32_t first_seq;       /* sequence number of the direction's first byte (once seq_known) */
	/* Bytes behind next_seq that hist cannot compare (before the stream's
	 * first byte, before a gap, beyond STREAM_HIST_MAX): judged here, by
	 * look_judge(), window after window. */
	struct look unmatched;
	bool unmatched_text;      /* a window of them was not random */
};

enum stream_add_result { STREAM_NOTHING = 0, STREAM_NEW_DATA = 1 };

/* Adds a segment; new in-order bytes land in hist (up to STREAM_HIST_MAX). */
enum stream_add_result stream_add(struct stream *s, uint32_t seq, const uint8_t *p, uint32_t len,
				  struct classifier_stats *st);
void stream_free(struct stream *s);
/* Why bytes sent outside what hist could compare make the direction
 * unprovable (they read as text, or too few of them to judge), or NULL.
 * Judges the window in hand: called once, at the decision. */
const char *stream_unmatched_verdict(struct stream *s);

/* ---- protocol walkers over the reassembled streams ---------------------- */

enum walk_verdict { WALK_MORE = 0, WALK_DONE, WALK_BROKEN };

/*
 * What one side sent in the clear before its protected part (walkers.c):
 * every byte of it (clear), the share nothing vouches for (unproven: bytes
 * outside the fields the protocol requires to be random and judged random
 * by look_judge(), and outside X.509-shaped certificates but for their
 * text, cert_text), and the
 * first structural rule it broke (static text), e.g. text where the
 * protocol wants random bytes.
 */
struct hs_count {
	uint32_t clear, unproven;
	uint32_t cert_text;       /* of unproven: text in certificates (hs_certificates) */
	uint32_t reassembling;    /* of unproven: a DTLS message's fragments, judged once whole */
	uint8_t hellos;           /* ClientHellos or ServerHellos (HelloRetryRequests too) */
	const char *broke;
};

struct tls_walk {
	uint32_t off[2];          /* next record header in each direction's hist */
	uint32_t start[2];        /* where TLS begins (after a STARTTLS exchange) */
	bool server_hello;        /* a ServerHello (not a HelloRetryRequest) was read */
	bool client_protected;    /* client sent a protected record (not text) after it */
	bool ccs[2];              /* each side's ChangeCipherSpec */
	bool plaintext_in_record; /* the client's first data record was readable text */
	bool sslv2;
	bool counted_start[2];    /* the STARTTLS negotiation before start[] is counted */
	bool msg_lost[2];         /* a handshake header cut by a record end: the rest is unproven */
	uint32_t msg_left[2];     /* bytes of a handshake message continuing in the next record */
	uint16_t version, cipher;
};

struct ssh_walk {
	uint32_t off;             /* next packet in the client's stream */
	uint32_t server_off;      /* next server packet (0: its banner not passed yet) */
	bool client_banner, server_banner, kexinit, newkeys, server_kexinit, server_newkeys;
	struct look padding[2];   /* each side's packet paddings before its NEWKEYS, judged together */
};

enum starttls_state { STLS_NEGOTIATING = 0, STLS_REQUESTED, STLS_TLS };

struct starttls_walk {
	uint16_t ndpi_id;         /* which protocol's command set */
	enum starttls_state state;
	uint32_t client_off, server_off;
	bool server_positive;     /* the last server line before its TLS said yes */
	const char *broke;        /* static text: why a negotiation line was refused */
};

/* A protocol's own switch to TLS (MySQL, PostgreSQL, LDAP, RDP, HTTP CONNECT). */
enum upgrade_state { UPG_CLEAR = 0, UPG_TLS, UPG_OPAQUE };

struct upgrade_walk {
	uint16_t proto;           /* nDPI id of the protocol */
	uint8_t state;            /* enum upgrade_state */
	uint32_t client_off, server_off;
	uint32_t tls_client, tls_server; /* where each side's TLS starts, once agreed */
	bool agreed;              /* both sides agreed to start TLS there */
	bool positive;            /* HTTP CONNECT: the proxy's last answer was a 2xx */
	const char *why;          /* UPG_OPAQUE: why it cannot be judged */
	uint32_t opaque_at;       /* UPG_OPAQUE: the client's bytes up to there were read */
};

enum walk_verdict tls_walk(struct tls_walk *w, int dir, const uint8_t *hist, uint32_t len, struct hs_count *hs);
enum walk_verdict dtls_server_hello(const uint8_t *p, uint32_t n, uint16_t *version, uint16_t *cipher);
/* One DTLS datagram of a side before the decision, added to its count
 * (cipher: the server's choice, 0 before its hello); *frag: the side's
 * fragmented message being put together, allocated at its first fragment
 * (at most 16 KiB), freed by dtls_message_free(). */
struct dtls_message;
void dtls_handshake_count(struct hs_count *h, struct dtls_message **frag, int dir, const uint8_t *p, uint32_t n,
			  uint16_t cipher);
void dtls_message_free(struct dtls_message *m);
/* hs: both sides' counts (struct hs_count[2]), added to as bytes are walked. */
enum walk_verdict ssh_walk(struct ssh_walk *w, const uint8_t *client, uint32_t clen,
			   const uint8_t *server, uint32_t slen, struct hs_count *hs);
enum walk_verdict starttls_walk(struct starttls_walk *w, struct tls_walk *tls, const uint8_t *client,
				uint32_t clen, const uint8_t *server, uint32_t slen);
/* The client's first bytes recognised without nDPI: a TLS ClientHello or an
 * HTTP/1.x request line.  Returns the nDPI id it stands for, or 0, and
 * copies the SNI or Host header into name when present. */
uint16_t recognise_client_start(const uint8_t *h, uint32_t n, char *name, size_t cap);
bool parse_server_hello(const uint8_t *body, uint32_t n, uint16_t *version, uint16_t *cipher, bool *retry);
/* A MySQL, PostgreSQL, LDAP or RDP session from its first messages: 1 (and
 * *id), 0 when it is none of them, -1 while too few bytes tell. */
int recognise_upgrade_protocol(const uint8_t *c, uint32_t clen, const uint8_t *s, uint32_t slen, uint16_t *id);
bool upgrade_protocol(uint16_t id);
/* MORE, BROKEN (data in the clear), or DONE with state UPG_OPAQUE; state
 * UPG_TLS once both sides' TLS start is set in *tls. */
enum walk_verdict upgrade_walk(struct upgrade_walk *w, struct tls_walk *tls, const uint8_t *c, uint32_t clen,
			       const uint8_t *s, uint32_t slen);
/* SSH protocol 1: the client's banner says it; the walk proves its
 * encryption (weak at best) and sets where each side's ciphertext begins. */
bool ssh1_banner(const uint8_t *c, uint32_t clen);
enum walk_verdict ssh1_walk(uint32_t off[2], const uint8_t *c, uint32_t clen, const uint8_t *s, uint32_t slen);
/* A whole STUN message; a DTLS record header (RFC 7983's demultiplexing). */
bool stun_message(const uint8_t *p, uint32_t n);
bool dtls_record_start(const uint8_t *p, uint32_t n);
/* TLS 1.3 or one of its drafts and experiments; TLS 1.3's AEAD suites. */
bool tls_version_is_13(uint16_t version);
bool tls_13_suite(uint16_t suite);
/* Too few bytes for look_text(): whole lines of a text protocol's commands. */
bool command_lines(const uint8_t *p, uint32_t n);

/*
 * IKE (v1 and v2) before the decision, one side: each message's payloads
 * walked (ike_message).  prev keeps the side's last message in the clear, so
 * that what a retransmission or a retry (after a COOKIE or
 * INVALID_KE_PAYLOAD) repeats of it is not counted twice; allocated at the
 * side's first message, freed with ike_walk_free().
 */
#define IKE_KEEP_MAX 4096u

struct ike_walk {
	uint8_t *prev;            /* the side's last message in the clear (its first IKE_KEEP_MAX bytes) */
	uint32_t prev_len;
	uint32_t messages;        /* messages in the clear that were not retransmissions */
};

/* One whole IKE message (h: its header, n: its length): counted in hs and
 * judged (w NULL: alone, nothing discounted, nothing kept).  MORE for a
 * message in the clear, DONE for one whose Encrypted payload (IKEv2 SK or
 * SKF, IKEv1's encrypted body) looks like ciphertext, BROKEN with
 * hs->broke set (text in an Encrypted payload, a random field that is
 * not, a Vendor ID longer than implementations send). */
enum walk_verdict ike_message(struct ike_walk *w, const uint8_t *h, uint32_t n, struct hs_count *hs);
void ike_walk_free(struct ike_walk *w);

/* ---- a flow ------------------------------------------------------------- */

struct flow_key {
	struct ef_addr lo, hi;
	uint16_t lo_port, hi_port;
	uint8_t l4;
};

/* State that lives only until the class is decided. */
struct flow_dpi {
	struct ndpi_flow_struct *ndpi;
	struct stream dir[2];     /* 0: initiator -> responder */
	struct tls_walk tls;
	struct ssh_walk ssh;
	struct starttls_walk stls;
	struct upgrade_walk up;
	uint32_t ssh1_off[2];     /* SSH-1: where each side's ciphertext begins */
	bool ssh1;
	bool upgrade_read;        /* the first messages were looked at for upgrade_walk()'s protocols */
	struct hs_count hs[2];    /* the cleartext handshake, each side */
	uint16_t ndpi_master, ndpi_app;
	uint8_t rule;             /* enum class_rule of the named protocol, once named */
	bool ndpi_detected;
	bool greeting_read;       /* the server's first line was looked at */
	uint16_t dpi_packets;
	uint32_t payload_packets[2];
	/* datagram evidence before a decision */
	struct look look[2];
	uint32_t spi[2], seq[2];  /* ESP: each side's SPI and last sequence number */
	uint32_t quic_version;    /* the client's long-header version */
	uint16_t dtls_version, dtls_cipher;
	bool dtls_server_hello;
	struct dtls_message *dtls_msg[2]; /* each side's fragmented handshake message, while put together */
	bool ike_encrypted[2];    /* each side sent an Encrypted payload */
	struct ike_walk ike[2];   /* each side's IKE messages in the clear */
	bool evidence[2];         /* each side proved its part (ESP, WireGuard) */
	bool broken[2];           /* each side broke it */
	bool wg_readable;         /* a WireGuard handshake message whose random fields were not */
	uint32_t ovpn_control[2]; /* OpenVPN control-channel bytes before the decision */
	uint32_t stun_before_dtls; /* the client's datagrams before its first DTLS record: bytes */
	bool dtls_started;        /* the client sent a DTLS record */
};

enum tcp_state { TCP_OPEN = 0, TCP_CLOSED };

/* ---- after the decision: the claim kept for every byte (verify.c) ------- */

enum verify_kind {
	VERIFY_NONE = 0, VERIFY_TLS, VERIFY_SSH, VERIFY_DTLS, VERIFY_QUIC, VERIFY_ESP,
	VERIFY_WIREGUARD, VERIFY_IKE, VERIFY_OPENVPN
};

/* One direction, O(1): no bytes are kept beyond a record header's 6. */
struct verify_dir {
	struct look look;
	struct look_pairs pairs;   /* look.pairs points here */
	uint64_t look_start;       /* direction offset of the window's first byte */
	uint32_t next_seq;         /* TCP: next in-order byte */
	uint32_t prot_seq;         /* TCP: where this side's protected bytes begin */
	uint32_t first_seq;        /* TCP: the direction's first byte (first_known) */
	uint32_t counter;          /* ESP sequence number, WireGuard counter (low 32 bits) */
	uint32_t id;               /* ESP SPI, WireGuard receiver index */
	uint16_t rec_left;         /* framed TCP: bytes of the current record to come */
	uint16_t skip;             /* of those, not ciphertext (explicit nonce) */
	uint8_t hdr[6], hdr_have;  /* a record header cut by a segment end */
	bool framed;               /* TCP: rec_left/hdr are in step with the stream */
	bool trial;                /* TLS: framing resumed after a gap, not yet confirmed */
	bool rec_sampled;          /* TLS: the current record's body is ciphertext */
	bool protected_;           /* this side's keys are in use (after its CCS/NEWKEYS) */
	bool id_known;
	bool first_known;          /* TCP: first_seq is known (the stream began in view) */
	uint16_t idle;             /* bytes not sampled before the next window */
	uint32_t hs_packets;       /* WireGuard handshake messages, IKE messages in the clear, after the decision */
	uint32_t rng;              /* keyed generator of those idle lengths */
	uint32_t last_unit_len;    /* the last unit sampled whole: its length... */
	uint8_t last_unit[16];     /* ...and first bytes (a duplicate is not the stream's) */
};

struct verify {
	struct verify_dir dir[2];  /* 0: initiator -> responder */
	uint8_t kind;              /* enum verify_kind */
	uint16_t version;          /* TLS/DTLS version, QUIC version (low 16 bits) */
	uint32_t quic_version;
	bool quic_vn;              /* the server sent Version Negotiation */
	uint32_t salt;             /* the flow's key for the sampling */
	uint64_t start_us;         /* the first packet watched (WireGuard's rekey budget) */
};

/* A new watch: its sampling keyed by a per-process secret and the flow. */
void verify_init(struct verify *v, uint32_t flow_hash);

struct verify_break {
	const char *reason;
	uint32_t at;               /* offset in the packet's payload */
	uint64_t dir_offset;       /* or, when set (window judgements), in the direction */
	bool use_dir_offset;
	enum ef_encryption to;     /* cleartext, or unknown when the bytes were random */
};

/* Checks a packet of a decided flow; false (and *b) when it broke the claim. */
bool verify_packet(struct verify *v, int dir, const struct packet *p, uint64_t dir_bytes, struct verify_break *b);
/* TCP: the direction's framing from a stream position (seq of the next
 * record header, or unknown), where the direction began (first_seq, when
 * first_known), then the bytes already in hand after it. */
void verify_tcp_start(struct verify *v, int dir, bool framed, uint32_t seq, bool protected_, uint32_t first_seq,
		      bool first_known);
bool verify_tcp_bytes(struct verify *v, int dir, const uint8_t *p, uint32_t n, uint64_t dir_bytes,
		      struct verify_break *b);

/* ---- datagram protocols: evidence before `encrypted' (verify.c) --------- */

bool esp_null_like(const uint8_t *p, uint32_t n);
/* QUIC: the version of a long header (0 when not one); whether a server
 * datagram is a valid reply for that version. */
uint32_t quic_long_version(const uint8_t *p, uint32_t n);
bool quic_valid_reply(uint32_t version, const uint8_t *p, uint32_t n);
/* OpenVPN's opcodes (the high 5 bits of a packet's first byte), 1 to 11;
 * P_DATA_V1 (6) and P_DATA_V2 (9) carry the data channel.  Where a data
 * packet's ciphertext begins: after the opcode, and for V2 the peer id. */
bool openvpn_opcode_known(unsigned op);
#define OPENVPN_P_DATA_V1 6u
#define OPENVPN_P_DATA_V2 9u
static inline uint32_t openvpn_data_start(unsigned op) { return op == OPENVPN_P_DATA_V2 ? 4 : 1; }
/* A QUIC datagram, either side's, whose Initial token or long-header
 * packets' protected payload is readable (*at: where); a WireGuard
 * handshake message whose random fields are not. */
bool quic_readable_initial(const uint8_t *p, uint32_t n, uint32_t *at);
bool wireguard_handshake_readable(const uint8_t *p, uint32_t n);

/* The outer addresses of the tunnels a flow came through (struct packet's
 * via[], distinct), allocated at its first tunnelled packet. */
struct flow_via {
	uint8_t n;
	bool overflow;
	struct ef_addr a[EF_VIA_MAX];
};

struct flow {
	struct flow_key key;
	uint32_t hash;
	uint32_t lru_prev, lru_next; /* indices into the pool; FLOW_NIL ends */
	uint8_t lru_list;           /* which idle list: flows of one list share a timeout */
	uint64_t first_us, last_us;    /* packet time of the first and last packet */
	uint64_t last_clock;          /* the classifier's clock at the last packet */
	bool init_is_lo;            /* the initiator is key.lo */
	bool syn_seen, decided, app_guessed, fin[2];
	uint8_t tcp_state;
	enum ef_encryption enc;
	uint16_t tls_version, cipher;
	char app[EF_APP_LEN];
	char server_name[EF_SERVER_NAME_LEN];
	uint64_t bytes[2], packets[2];  /* 0: from the initiator */
	bool conflict;
	bool rejudged;
	uint8_t rejudge_dir;
	uint64_t rejudge_offset;
	const char *rejudge_reason;
	const char *why_unknown;    /* static text, when decided `unknown' */
	const char *why_cleartext;  /* static text, when the handshake made it `cleartext' */
	uint32_t hs_clear[2], hs_unproven[2]; /* struct hs_count's, kept for the event */
	uint32_t file;              /* capture file of the first packet */
	uint8_t watch_kind;         /* enum verify_kind the decision will be watched as */
	struct verify *verify;      /* only for a flow decided encrypted or weak */
	struct flow_via *via;       /* only for a flow peeled from a tunnel */
	uint32_t isn[2];            /* TCP: each side's SYN sequence number (syn_isn) */
	bool syn_isn[2];
	bool ftp_control;           /* a clear-text FTP session: watch for data channels */
	bool ftp_announced;         /* its lines announced a data endpoint */
	/* Sent outside the payload (classify_ip_extras()): IP option bytes and
	 * bytes of datagrams that never completed, each side; of the options,
	 * those that were not padding; datagrams that never completed. */
	uint64_t ip_extra[2];
	uint32_t options_unproven[2], incomplete;
	uint32_t user;
	struct flow_dpi *dpi;
};

#define FLOW_NIL UINT32_MAX
#define FLOW_LISTS 4 /* TCP open, TCP closed, UDP, other */

struct flow_table {
	struct flow *pool;
	uint32_t cap, used;
	uint32_t *index;            /* open addressing: pool index + 1, 0 = empty */
	uint32_t index_mask;
	uint32_t free_head;         /* recycled flows, through lru_next */
	uint32_t never_used;        /* pool[never_used..cap) not touched yet, so
				     * the pool costs memory only as it fills */
	/* One LRU list per idle timeout, so that each list's tail is its next
	 * flow to expire and expiry is exact, whatever else is in the table. */
	uint32_t lru_head[FLOW_LISTS], lru_tail[FLOW_LISTS]; /* head: most recent */
};

bool flow_table_init(struct flow_table *t, uint32_t cap);
void flow_table_destroy(struct flow_table *t);
struct flow *flow_table_lookup(struct flow_table *t, const struct flow_key *k, uint32_t hash);
/* NULL when full: the caller evicts the least recent and tries again. */
struct flow *flow_table_insert(struct flow_table *t, const struct flow_key *k, uint32_t hash);
void flow_table_remove(struct flow_table *t, struct flow *f);
/* Makes f the most recent of idle list `list`. */
void flow_table_touch(struct flow_table *t, struct flow *f, uint8_t list);
struct flow *flow_table_oldest(struct flow_table *t, uint8_t list);
/* The least recently active flow of all lists, for eviction. */
struct flow *flow_table_least_recent(struct flow_table *t);

void flow_key_make(const struct packet *p, struct flow_key *k, bool *src_is_lo);
uint32_t flow_key_hash(const struct flow_key *k);

#endif
