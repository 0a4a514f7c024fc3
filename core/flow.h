/*
 * core/flow.h -- the one definition of an address, a country, an encryption
 * class, a verdict and a finished flow, shared by every stage of the
 * pipeline (capture -> classify -> geodb -> enforce).
 *
 * Invariants:
 *  - An ef_addr is either IPv4 (family 4, address in b[0..3], b[4..15] zero)
 *    or IPv6 (family 6), with the pad bytes zero, so memcmp() is equality.
 *    Parsed text turns an IPv4-mapped IPv6 address into IPv4; decoded
 *    packets keep their addresses as on the wire.
 *  - An ef_country is an ISO 3166-1 alpha-2 code packed into 16 bits
 *    ('C' << 8 | 'N'); EF_COUNTRY_NONE (0) means "no known country".
 *  - Verdicts are ordered by strictness so that the strictest of several is
 *    their maximum.
 */
#ifndef EF_CORE_FLOW_H
#define EF_CORE_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ef_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t pad[3];
	union {
		uint8_t b[16];
		uint32_t w[4];
	};
};

#define EF_ADDR_STRLEN 46 /* INET6_ADDRSTRLEN */

struct ef_cidr {
	struct ef_addr addr; /* host bits cleared */
	uint8_t prefix;      /* 0..32 or 0..128 */
};

/* "10.0.0.1", "2001:db8::1"; an IPv4-mapped IPv6 address becomes IPv4. */
bool ef_addr_parse(const char *s, struct ef_addr *out);
void ef_addr_format(const struct ef_addr *a, char *buf, size_t len);
/* "10.0.0.0/8", "2001:db8::/32"; a bare address is a host prefix.  Host bits
 * set beyond the prefix are an error (the user meant something else). */
bool ef_cidr_parse(const char *s, struct ef_cidr *out);
bool ef_cidr_contains(const struct ef_cidr *c, const struct ef_addr *a);
void ef_cidr_format(const struct ef_cidr *c, char *buf, size_t len);
/* A listening address: "127.0.0.1:9813", "[::1]:9813", "0.0.0.0:9813";
 * port 1-65535, numeric address only (no name lookups in a config).  The
 * policy's metrics.listen and run's --metrics-listen both parse with it. */
bool ef_listen_parse(const char *s, struct ef_addr *addr, uint16_t *port);

/* Addresses that never leave a host or a link (unspecified, loopback,
 * link-local, multicast, limited broadcast): no country and no rule applies
 * to them, in audit as on the gateway, whose prefilter never watches them.
 * One list, for both. */
extern const char *const ef_local_scope_cidrs[];
extern const size_t ef_n_local_scope_cidrs;
bool ef_addr_stays_local(const struct ef_addr *a);

typedef uint16_t ef_country;
#define EF_COUNTRY_NONE ((ef_country)0)

/* Two ASCII letters, case-insensitive; anything else gives EF_COUNTRY_NONE.
 * Whether the code is assigned is enforce/'s question, not this one's. */
static inline ef_country ef_country_make(const char *cc)
{
	char a = cc[0], b = a ? cc[1] : 0;
	if (a >= 'a' && a <= 'z')
		a -= 32;
	if (b >= 'a' && b <= 'z')
		b -= 32;
	if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z')
		return EF_COUNTRY_NONE;
	return (ef_country)((a << 8) | b);
}

static inline void ef_country_str(ef_country c, char out[3])
{
	out[0] = c ? (char)(c >> 8) : 0;
	out[1] = c ? (char)(c & 0xff) : 0;
	out[2] = 0;
}

/* Ordered: a rule's `encryption:` list is a bitmask of (1 << class). */
enum ef_encryption {
	EF_ENC_UNKNOWN = 0,
	EF_ENC_CLEARTEXT,
	EF_ENC_WEAK,
	EF_ENC_ENCRYPTED,
	EF_ENC__COUNT
};
const char *ef_encryption_name(enum ef_encryption e);
bool ef_encryption_parse(const char *s, enum ef_encryption *out);

/* Ordered by strictness: the strictest of several verdicts is their max. */
enum ef_verdict { EF_ALLOW = 0, EF_LOG = 1, EF_BLOCK = 2 };
const char *ef_verdict_name(enum ef_verdict v);
bool ef_verdict_parse(const char *s, enum ef_verdict *out);

/*
 * Where the remote end is.  Several databases may answer differently; the
 * remote end then has every country any of them gives (set[]), and
 * per_db[i] keeps database i's own answer for the event log.  An override
 * from the config replaces every database's answer.  n == 0 means no known
 * country.  An address that embeds an IPv4 destination (geodb/geodb.h) has
 * the union of what is known of it and of that IPv4.
 */
#define EF_GEO_MAX_DB 4
/* An address that embeds an IPv4 one (NAT64, 6to4, Teredo, IPv4-mapped) is
 * placed for itself and for the IPv4 it carries: up to two answers per
 * database. */
#define EF_GEO_MAX_COUNTRIES (2 * EF_GEO_MAX_DB)
struct ef_geo {
	uint8_t n;           /* distinct countries in set[] */
	uint8_t n_db;        /* databases asked */
	bool overridden;     /* a CIDR override decided */
	bool unplaced;       /* a database asked gave no country: the address is
			      * judged as in set[] *and* in no known country, so
			      * one silent database cannot narrow the answer
			      * (fail closed); n == 0 implies it */
	ef_country set[EF_GEO_MAX_COUNTRIES];
	ef_country per_db[EF_GEO_MAX_DB]; /* the embedded IPv4's answer when there
					   * is one, else the address's own */
	uint32_t region;            /* ISO 3166-2 subdivision (ef_region, geodb/geodb.h) of
				     * set[]'s country, from the first database or override
				     * that gives one; 0 when none is known */
	uint8_t embedding;          /* enum geodb_embedding: 0, or how the address
				     * carries the IPv4 in embedded_ipv4 */
	uint8_t embedded_ipv4[4];
};

enum ef_initiator { EF_INIT_INSIDE = 0, EF_INIT_REMOTE = 1 };

/*
 * What the gate did with a packet it copied to the engine: let it through
 * or held it (dropped until its flow is decided).  A copy looks the same
 * either way, so the kernel's rule names the fate in the copy's NFLOG
 * prefix (enforce/nft.c writes it, capture/decode.c reads it).  Every
 * other source -- a capture file, libpcap on an interface, a copy with
 * another prefix -- is EF_FATE_UNKNOWN: what the capture saw, not what the
 * gate decided.
 */
enum ef_packet_fate { EF_FATE_UNKNOWN = 0, EF_FATE_PASSED, EF_FATE_HELD };
#define EF_FATE_PREFIX_PASSED "passed"
#define EF_FATE_PREFIX_HELD "held"

#define EF_APP_LEN 48
#define EF_CIPHER_LEN 64
#define EF_SERVER_NAME_LEN 80

/*
 * A flow as the later stages see it, oriented: `inside` is the end in
 * networks.internal when exactly one end is, otherwise the initiator.
 * bytes_out counts L4 payload bytes the inside end sent, with its IP
 * options and the bytes of its datagrams that never completed.
 */
#define EF_VIA_MAX 8

struct ef_flow_record {
	uint64_t first_us, last_us; /* packet time, microseconds since epoch */
	struct ef_addr inside, remote;
	/* Tunnels the flow was peeled from: the distinct addresses of their
	 * outer IP headers.  Each outer end receives every byte too, so the
	 * policy places those outside networks.internal as well (judge.c).
	 * via_overflow: more than EF_VIA_MAX of them (judged as unplaced). */
	uint8_t n_via;
	bool via_overflow;
	struct ef_addr via[EF_VIA_MAX];
	uint16_t inside_port, remote_port;
	uint8_t l4;                 /* IPPROTO_* */
	enum ef_initiator initiator;
	enum ef_encryption enc;
	bool app_guessed;           /* app name is a port guess, not DPI */
	char app[EF_APP_LEN];       /* "TLS.Google", "HTTP", "Unknown" */
	char server_name[EF_SERVER_NAME_LEN]; /* TLS SNI or HTTP Host, "" when none */
	uint16_t tls_version;       /* 0 = none; 0x0303 = TLS 1.2; DTLS 0xfefd */
	uint16_t cipher_id;         /* IANA cipher suite, 0 = none */
	char cipher[EF_CIPHER_LEN]; /* IANA name, "" when none */
	uint16_t cipher_bits;       /* effective strength; 0 when unknown */
	uint64_t bytes_out, bytes_in;
	uint64_t packets_out, packets_in;
	bool evicted;               /* ended by memory pressure, not timeout */
	bool reassembly_conflict;   /* overlapping TCP data disagreed */
	/* A flow decided `encrypted' (or `weak') whose later bytes broke that
	 * claim is judged again at once: enc is then the new class, and this
	 * says where the claim broke.  Directions as bytes_out/bytes_in: 0 is
	 * the end reported as `inside'. */
	bool rejudged;
	uint8_t rejudge_dir;
	uint64_t rejudge_offset;    /* payload bytes that direction had sent before the
				     * first byte that broke the claim */
	const char *rejudge_reason; /* static text, e.g. "readable text inside a TLS record" */
	/* The handshake sent in the clear, each direction as bytes_out/bytes_in:
	 * all of it, and the bytes nothing vouched for (not random where the
	 * protocol wants random, not X.509); and why it made the flow
	 * `cleartext' (static text; NULL otherwise). */
	uint32_t handshake_clear[2], handshake_unproven[2];
	/* IP option bytes (IPv4 options, IPv6 Hop-by-Hop and Destination
	 * Options) that were not padding, each direction; bytes_out/in count
	 * every option byte. */
	uint32_t ip_options_unproven[2];
	/* Datagrams of the flow whose fragments never all came (their bytes
	 * are in bytes_out/in): sent, not examined, so never `encrypted'. */
	uint32_t incomplete_datagrams;
	const char *cleartext_reason;
	/* Why the class is `unknown' (static text; NULL otherwise): no payload,
	 * a handshake that never completed, a port guess, nothing recognised. */
	const char *unknown_reason;
	uint32_t capture_file;      /* offline: index of the file of the flow's first
				     * packet (capture_file_name()) */
	const char *capture_file_name; /* set by the engine for the event; NULL live */
	struct ef_geo geo;
};

#endif
