/*
 * classify/walkers.c -- reading handshakes off the reassembled streams.
 *
 * nDPI names a protocol from what it has seen so far; these walkers check
 * that what follows is really that protocol, because a client that wants
 * data out can send one convincing record and then anything.  Each walker
 * reads only bytes already in a stream's history, keeps an offset so no byte
 * is read twice, and answers MORE (need more bytes), DONE (the handshake
 * completed) or BROKEN (the bytes are not this protocol, or the client sent
 * data in the clear).
 *
 * A handshake is itself data that leaves in the clear, so the walkers also
 * count it, per side (struct hs_count): every byte before the side's
 * protected part, and the share nothing vouches for.  Fields the protocol
 * fills with random bytes (randoms, session ids, key shares, key exchange
 * values, signatures, tickets) are judged by look_judge(), window by
 * window, and a field that is not random breaks the handshake (a key
 * share is proven only at its group's size, and nothing is proven in a
 * side's third hello or later); certificates must be X.509-shaped DER, and their text is counted
 * apart; SSH algorithm names and STARTTLS command lines keep their RFC
 * limits, TLS padding is zeros and SSH padding zeros or random.  What is
 * left (lists, names, extensions nobody knows) is `unproven', and
 * classify.c bounds it.  DTLS's handshake goes through the
 * same functions as TLS's (dtls_handshake_count()).
 */
#include "internal.h"

#include <ndpi/ndpi_protocol_ids.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* RFC 8446 4.1.3: a ServerHello with this random is a HelloRetryRequest. */
static const uint8_t hello_retry_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/*
 * ServerHello body (after the 4-byte handshake header, or DTLS's 12): the
 * negotiated version (supported_versions wins over the legacy field) and
 * cipher suite.  False while too few bytes are there.
 */
bool parse_server_hello(const uint8_t *b, uint32_t n, uint16_t *version, uint16_t *cipher, bool *retry)
{
	if (n < 2 + 32 + 1)
		return false;
	uint16_t v = rd16(b);
	uint32_t off = 2 + 32;
	uint32_t sid = b[off];
	off += 1 + sid;
	if (n < off + 3)
		return false;
	*retry = memcmp(b + 2, hello_retry_random, 32) == 0;
	*cipher = rd16(b + off);
	off += 3;
	if (n >= off + 2) {
		uint32_t ext_end = off + 2 + rd16(b + off);
		off += 2;
		if (ext_end > n)
			ext_end = n;
		while (off + 4 <= ext_end) {
			uint16_t type = rd16(b + off), len = rd16(b + off + 2);
			if (type == 0x002b && len == 2 && off + 6 <= ext_end)
				v = rd16(b + off + 4);
			off += 4u + len;
		}
	}
	*version = v;
	return true;
}


/* ---- counting the cleartext handshake ------------------------------------ */

/* Padding a protocol fills with zeros carries nothing. */
static bool zeros(const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void hs_clear(struct hs_count *h, uint32_t n)
{
	h->clear += n;
	h->unproven += n;
}

/* Bytes the protocol requires to be random: judged by the one judgement,
 * window by window; each window judged random is proven (a tail too short
 * to judge stays unproven; random_windows() says how many bytes were, up
 * to the first window that is not random).  False when a window is not
 * random. */
static uint32_t random_windows(const uint8_t *p, uint32_t n, bool *not_random)
{
	uint32_t proven = 0;

	*not_random = false;
	for (uint32_t i = 0; i < n; i += LOOK_WINDOW) {
		uint32_t k = n - i < LOOK_WINDOW ? n - i : LOOK_WINDOW;
		enum look_result r = look_at(p + i, k);
		if (r == LOOK_NOT_RANDOM) {
			*not_random = true;
			break;
		}
		if (r == LOOK_RANDOM)
			proven += k;
	}
	return proven;
}

static bool hs_random(struct hs_count *h, const uint8_t *p, uint32_t n, const char *what)
{
	bool not_random;

	h->unproven -= random_windows(p, n, &not_random);
	if (not_random && !h->broke)
		h->broke = what;
	return !not_random;
}

/* A length-prefixed field (1 or 2 length bytes) at b[*off] judged as
 * random; false when it runs past n. */
static bool hs_random_vector(struct hs_count *h, const uint8_t *b, uint32_t n, uint32_t *off, int lbytes,
			     const char *what)
{
	if (*off + (uint32_t)lbytes > n)
		return false;
	uint32_t len = lbytes == 1 ? b[*off] : rd16(b + *off);
	*off += (uint32_t)lbytes;
	if (*off + len > n)
		return false;
	hs_random(h, b + *off, len, what);
	*off += len;
	return true;
}

/* Bytes that are no text field: a window that reads as text (look_text(),
 * the printable share) breaks the handshake. */
static void hs_no_text(struct hs_count *h, const uint8_t *p, uint32_t n, const char *what)
{
	for (uint32_t i = 0; i < n && !h->broke; i += LOOK_WINDOW)
		if (look_text(p + i, n - i))
			h->broke = what;
}

/* Bytes judged like random ones (text breaks the handshake) that nothing
 * proves even when they look random: they stay unproven. */
static void hs_judged_unproven(struct hs_count *h, const uint8_t *p, uint32_t n, const char *what)
{
	uint32_t u = h->unproven;

	hs_random(h, p, n, what);
	h->unproven = u;
}

/*
 * The length of a key share (RFC 8446 4.2.8) in a named group whose public
 * values have one fixed size, the client's (a key or a KEM's encapsulation
 * key) or the server's (a key or a KEM ciphertext); 0 for a group not
 * known here.  Numbers from IANA's TLS Supported Groups registry: NIST
 * curves' uncompressed points (TLS 1.3 allows no other form), RFC 8734's
 * brainpool curves, RFC 8998's SM2, RFC 7748's X25519 and X448, RFC
 * 7919's finite fields padded to the prime, FIPS 203's ML-KEM, and the
 * hybrids of draft-ietf-tls-ecdhe-mlkem and draft-tls-westerbaan-xyber768d00
 * (ML-KEM or Kyber-768 with X25519 or P-256).  A peer rejects a share of
 * another length, so no genuine handshake sends one.
 */
static uint32_t key_share_size(uint16_t group, bool server)
{
	switch (group) {
	case 23: case 31: case 41: return 65;           /* secp256r1, brainpoolP256r1tls13, curveSM2 */
	case 24: case 32: return 97;                    /* secp384r1, brainpoolP384r1tls13 */
	case 25: return 133;                            /* secp521r1 */
	case 33: return 129;                            /* brainpoolP512r1tls13 */
	case 29: return 32;                             /* x25519 */
	case 30: return 56;                             /* x448 */
	case 256: return 256;                           /* ffdhe2048 */
	case 257: return 384;                           /* ffdhe3072 */
	case 258: return 512;                           /* ffdhe4096 */
	case 259: return 768;                           /* ffdhe6144 */
	case 260: return 1024;                          /* ffdhe8192 */
	case 512: return server ? 768 : 800;            /* MLKEM512 */
	case 513: return server ? 1088 : 1184;          /* MLKEM768 */
	case 514: return 1568;                          /* MLKEM1024 */
	case 4587: case 25498: return server ? 1153 : 1249; /* SecP256r1MLKEM768, SecP256r1Kyber768Draft00 */
	case 4588: case 25497: return server ? 1120 : 1216; /* X25519MLKEM768, X25519Kyber768Draft00 */
	case 4589: return 97 + 1568;                    /* SecP384r1MLKEM1024 */
	}
	return 0;
}

/* Shares proven in one hello, at most: browsers offer two or three (a
 * post-quantum hybrid, X25519, sometimes P-256); more would let a hello
 * carry a share of every group in the table. */
#define KEY_SHARES_PROVEN 4

/* A key_share extension: the client's list, or the server's one share (a
 * HelloRetryRequest's is a group alone).  A share is proven only at its
 * group's size, once per group, and random; one of an unknown group is
 * judged but stays unproven, as does anything past KEY_SHARES_PROVEN. */
static void hs_key_shares(struct hs_count *h, const uint8_t *e, uint32_t len, bool server)
{
	static const char not_random[] = "a key share that is not random";
	uint16_t seen[KEY_SHARES_PROVEN];
	unsigned proven = 0;

	for (uint32_t o = server ? 0 : 2; o + 4 <= len;) {
		uint16_t group = rd16(e + o);
		uint32_t n = rd16(e + o + 2), size = key_share_size(group, server);
		if (o + 4 + n > len)
			return;
		if (size && n != size && !h->broke)
			h->broke = "a key share whose length is not its group's";
		bool again = false;
		for (unsigned i = 0; i < proven; i++)
			again |= seen[i] == group;
		if (size == n && !again && proven < KEY_SHARES_PROVEN) {
			seen[proven++] = group;
			hs_random(h, e + o + 4, n, not_random);
		} else {
			hs_judged_unproven(h, e + o + 4, n, not_random);
		}
		o += 4 + n;
	}
}

/* Hello extensions: key shares, pre-shared keys, tickets and ECH are
 * random; padding is zeros (RFC 7685), which carry nothing, and a
 * padding extension that is not zeros breaks the handshake.  The names
 * (SNI, ALPN, ALPS) are text by design; any other extension reading as
 * text is data. */
static void hs_hello_extensions(struct hs_count *h, const uint8_t *b, uint32_t n, uint32_t off, bool server)
{
	if (off + 2 > n)
		return;
	uint32_t end = off + 2 + rd16(b + off);
	off += 2;
	if (end > n)
		end = n;
	while (off + 4 <= end) {
		uint16_t type = rd16(b + off), len = rd16(b + off + 2);
		const uint8_t *e = b + off + 4;
		off += 4;
		if (off + len > end)
			return;
		if (type == 51) {
			hs_key_shares(h, e, len, server);
		} else if (type == 41 || type == 35 || type == 0xfe0d) {
			hs_random(h, e, len, "a ticket, pre-shared key or ECH payload that is not random");
		} else if (type == 21) {
			/* RFC 7685 3: the client MUST fill it with zeros, which
			 * carry nothing.  Non-zero bytes are data where the
			 * protocol allows none: from the first to the last, they
			 * are judged as a random field is --
			 * text breaks the handshake (the flow is cleartext) --
			 * and, random or not, counted as unproven against the
			 * allowance.  Random bytes are not called cleartext: a
			 * client of the shared benchmark capture that copies
			 * Chrome's hello hides 34 random bytes after its zeros
			 * (bench-base, to 65.49.68.25:50053), which is a token,
			 * not readable data.  The one stack known to differ,
			 * GnuTLS 3.x's "dumbfw" padding before its fix (wget in
			 * 2015; nDPI's 6in4tunnel.pcap), put a 16-bit length,
			 * fixed by the extension's own, before the zeros: that
			 * carries nothing either. */
			bool gnutls = len >= 2 && rd16(e) == len - 2u && zeros(e + 2, len - 2u);
			uint32_t z0 = 0, z1 = len;
			while (z0 < len && !e[z0])
				z0++;
			while (z1 > z0 && !e[z1 - 1])
				z1--;
			if (z0 == len || gnutls)
				h->unproven -= len;
			else /* what lies between the zeros */
				hs_judged_unproven(h, e + z0, z1 - z0, "a padding extension that is not zeros");
		} else if (type != 0 && type != 16 && type != 17513 && type != 13172) {
			hs_no_text(h, e, len, "readable text in a hello extension");
		}
		off += len;
	}
}

/* A hello body (ClientHello or ServerHello, after the handshake header);
 * DTLS's ClientHello has a cookie after the session id (RFC 6347 4.2.1),
 * the server's own bytes echoed, random when the server is genuine. */
static void hs_hello_fields(struct hs_count *h, const uint8_t *b, uint32_t n, bool server, bool dtls)
{
	uint32_t off = 2;

	if (n < 2 + 32 + 1)
		return;
	if (!(server && memcmp(b + 2, hello_retry_random, 32) == 0))
		hs_random(h, b + 2, 32, "a hello random that is not random");
	off += 32;
	if (!hs_random_vector(h, b, n, &off, 1, "a session id that is not random"))
		return;
	if (server) {
		off += 3; /* cipher suite, compression */
	} else {
		if (dtls && !hs_random_vector(h, b, n, &off, 1, "a DTLS cookie that is not random"))
			return;
		if (off + 2 > n)
			return;
		off += 2 + rd16(b + off);
		if (off + 1 > n)
			return;
		off += 1 + b[off];
	}
	hs_hello_extensions(h, b, n, off, server);
}

/*
 * A side sends two hellos at most in a genuine handshake: TLS 1.3's second
 * ClientHello after a HelloRetryRequest, DTLS's after a HelloVerifyRequest
 * (a HelloRetryRequest and the ServerHello on the server's side).  Each
 * hello after those is still judged, but nothing in it is proven: hello
 * after hello would otherwise carry random-looking fields without end.
 * DTLS resends a lost flight whole, so its retransmissions count against
 * the allowance (a few hundred bytes each).
 */
#define HELLOS_PROVEN 2

static void hs_hello(struct hs_count *h, const uint8_t *b, uint32_t n, bool server, bool dtls)
{
	uint32_t u = h->unproven;

	hs_hello_fields(h, b, n, server, dtls);
	if (h->hellos < UINT8_MAX)
		h->hellos++;
	if (h->hellos > HELLOS_PROVEN)
		h->unproven = u;
}

/* One DER TLV at p (n bytes there): its tag byte, where its content
 * starts and how long it is.  False unless a definite length that fits. */
static bool der_tlv(const uint8_t *p, uint32_t n, uint8_t *tag, uint32_t *hdr, uint32_t *len)
{
	if (n < 2 || (p[0] & 0x1f) == 0x1f) /* no multi-byte tags in X.509 */
		return false;
	*tag = p[0];
	if (p[1] < 0x80) {
		*len = p[1];
		*hdr = 2;
	} else {
		uint32_t k = p[1] & 0x7f;
		if (k == 0 || k > 3 || n < 2 + k)
			return false;
		*len = 0;
		for (uint32_t i = 0; i < k; i++)
			*len = *len << 8 | p[2 + i];
		*hdr = 2 + k;
	}
	return *len <= n - *hdr;
}

/* DER's string types (X.680): text by definition, never proven. */
static bool der_string_tag(uint8_t tag)
{
	return tag == 0x0c || (tag >= 0x12 && tag <= 0x16) || (tag >= 0x19 && tag <= 0x1c) || tag == 0x1e;
}

/*
 * Well-formed DER all the way down (constructed types walked, to depth
 * 24), filling exactly n bytes; *text adds up the bytes that the shape
 * does not prove.  A shape proves its tags and lengths, nothing about the
 * contents: a string's bytes are text (names, URLs, nsComment), and any
 * other primitive (integers, identifiers, times, bit and octet strings)
 * is proven only where look_judge() finds it random -- keys, signatures,
 * serial numbers, key identifiers, SCT lists.  An OCTET STRING holding
 * DER (an extension's value) is walked like a constructed type, so that
 * a string inside it counts as one.
 */
static bool der_walk(const uint8_t *p, uint32_t n, int depth, uint32_t *text)
{
	uint32_t off = 0;

	if (depth > 24)
		return false;
	while (off < n) {
		uint8_t tag;
		uint32_t hdr, len, inner = 0;
		if (!der_tlv(p + off, n - off, &tag, &hdr, &len))
			return false;
		const uint8_t *c = p + off + hdr;
		if (tag & 0x20) {
			if (!der_walk(c, len, depth + 1, text))
				return false;
		} else if (tag == 0x04 && len && der_walk(c, len, depth + 1, &inner)) {
			*text += inner;
		} else if (der_string_tag(tag)) {
			*text += len;
		} else {
			bool not_random;
			*text += len - random_windows(c, len, &not_random);
		}
		off += hdr + len;
	}
	return true;
}

/*
 * A certificate's shape (RFC 5280 4.1): SEQUENCE { tbsCertificate
 * SEQUENCE, signatureAlgorithm SEQUENCE, signatureValue BIT STRING },
 * well-formed DER to its last byte; *text: what the shape leaves unproven
 * (der_walk()).  What libcrypto's d2i_X509 also checked (the public key
 * decoded through OpenSSL 3's provider decoders) cost 62% of an audit's
 * instructions and proves nothing more about what the bytes can carry: a
 * certificate that parses can hold text in an extension either way.
 */
static bool x509_shaped(const uint8_t *p, uint32_t n, uint32_t *text)
{
	uint8_t tag;
	uint32_t hdr, len, off;

	*text = 0;
	if (!der_tlv(p, n, &tag, &hdr, &len) || tag != 0x30 || hdr + len != n || !der_walk(p + hdr, len, 1, text))
		return false;
	static const uint8_t want[3] = {0x30, 0x30, 0x03};
	off = hdr;
	for (int i = 0; i < 3; i++) {
		uint32_t h2, l2;
		if (!der_tlv(p + off, n - off, &tag, &h2, &l2) || tag != want[i])
			return false;
		off += h2 + l2;
	}
	return off == n;
}

/* A TLS <= 1.2 Certificate message: each certificate must be X.509-shaped
 * DER, to its last byte; its text is counted apart (struct hs_count's
 * cert_text), against its own allowance. */
static void hs_certificates(struct hs_count *h, const uint8_t *b, uint32_t n)
{
	if (n < 3)
		return;
	uint32_t end = 3 + rd24(b), off = 3;
	if (end > n) {
		h->broke = h->broke ? h->broke : "a Certificate message whose lengths do not add up";
		return;
	}
	while (off + 3 <= end) {
		uint32_t len = rd24(b + off);
		off += 3;
		if (off + len > end)
			break;
		uint32_t text;
		if (len && x509_shaped(b + off, len, &text)) {
			h->unproven -= len - text;
			h->cert_text += text;
		} else if (!h->broke)
			h->broke = "a certificate that is not X.509";
		off += len;
	}
	if (off != end && !h->broke)
		h->broke = "a Certificate message whose lengths do not add up";
}

/* CertificateStatus (RFC 6066 8): an OCSP response, which must parse as
 * one; its text is counted as a certificate's (it may carry the
 * responder's certificates). */
static void hs_certificate_status(struct hs_count *h, const uint8_t *b, uint32_t n)
{
	uint32_t len = n >= 4 ? rd24(b + 1) : UINT32_MAX;
	const unsigned char *p = b;
	OCSP_RESPONSE *r = NULL;

	if (n >= 4 && b[0] == 1 && len == n - 4) {
		p = b + 4;
		r = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	}
	uint32_t text = 0;
	if (r && p == b + n) {
		if (!der_walk(b + 4, len, 0, &text)) /* BER that libcrypto took: nothing proven */
			text = len;
		h->unproven -= len - text;
		h->cert_text += text;
	} else if (!h->broke)
		h->broke = "a CertificateStatus that is not an OCSP response";
	OCSP_RESPONSE_free(r);
}

/* The pre-shared-key suites (RFC 4279, 5487, 5489, 6209, 6367, 6655, 7905,
 * 8442), whose ClientKeyExchange begins with a psk_identity: a name the
 * client chose, text by design. */
static bool psk_suite(uint16_t c)
{
	return (c >= 0x002c && c <= 0x002e) || (c >= 0x008a && c <= 0x0095) || (c >= 0x00a8 && c <= 0x00b9) ||
	       (c >= 0xc033 && c <= 0xc03b) || (c >= 0xc064 && c <= 0xc071) || (c >= 0xc08e && c <= 0xc09b) ||
	       (c >= 0xc0a4 && c <= 0xc0ab) || (c >= 0xccab && c <= 0xccae) || (c >= 0xd001 && c <= 0xd005);
}

/* One whole handshake message of an unprotected record: its bytes are
 * counted (by the caller), then each field the protocol defines is judged.
 * psk: the ServerHello chose a pre-shared-key suite. */
static void hs_message(struct hs_count *h, int dir, uint8_t type, const uint8_t *b, uint32_t n, bool psk, bool dtls)
{
	switch (type) {
	case 1: /* ClientHello */
	case 2: /* ServerHello */
		hs_hello(h, b, n, type == 2, dtls);
		break;
	case 3: /* HelloVerifyRequest (DTLS): a version, then the cookie */
		if (dtls && dir == 1 && n >= 3 && 3u + b[2] == n)
			hs_random(h, b + 3, b[2], "a DTLS cookie that is not random");
		break;
	case 11: /* Certificate (TLS <= 1.2; 1.3's is encrypted) */
		hs_certificates(h, b, n);
		break;
	case 22:
		hs_certificate_status(h, b, n);
		break;
	case 16: /* ClientKeyExchange: an encrypted secret or a public value */
		if (psk && n >= 2 && 2u + rd16(b) <= n) {
			/* the identity stays unproven; a public value after it is random */
			uint32_t id = 2u + rd16(b);
			hs_random(h, b + id, n - id, "a ClientKeyExchange that is not random");
			break;
		}
		__attribute__((fallthrough));
	case 15: /* CertificateVerify: a signature */
	case 4:  /* NewSessionTicket (TLS <= 1.2): an opaque ticket */
		hs_random(h, b, n, type == 16 ? "a ClientKeyExchange that is not random"
				   : "a signature or ticket that is not random");
		break;
	case 12: /* ServerKeyExchange: parameters, a public value and a signature
		  * (PSK suites: an identity hint first, text by design) */
		if (dir == 1 && psk && n >= 2 && 2u + rd16(b) <= n)
			hs_random(h, b + 2 + rd16(b), n - 2 - rd16(b), "a ServerKeyExchange that is not random");
		else if (dir == 1)
			hs_random(h, b, n, "a ServerKeyExchange that is not random");
		break;
	}
}

/* A whole unprotected record: counted; a handshake record's messages are
 * judged when a message lies whole inside it.  A message cut by the record
 * end stays unproven. */
static void hs_record(struct tls_walk *w, struct hs_count *h, int dir, const uint8_t *r, uint32_t rlen)
{
	const uint8_t *b = r + 5;
	uint32_t off = 0;

	hs_clear(h, 5 + rlen);
	if (r[0] == 23) { /* early data, before the ServerHello: unproven, and never text */
		if (look_at(b, rlen) == LOOK_NOT_RANDOM && !h->broke)
			h->broke = "readable early data before the ServerHello";
		return;
	}
	if (r[0] != 22 || w->msg_lost[dir])
		return;
	if (w->msg_left[dir]) {
		uint32_t k = w->msg_left[dir] < rlen ? w->msg_left[dir] : rlen;
		w->msg_left[dir] -= k;
		off = k;
	}
	while (off < rlen) {
		if (off + 4 > rlen) {
			w->msg_lost[dir] = true;
			return;
		}
		uint32_t mlen = rd24(b + off + 1);
		if (off + 4 + mlen > rlen) {
			w->msg_left[dir] = off + 4 + mlen - rlen;
			return;
		}
		hs_message(h, dir, b[off], b + off + 4, mlen, w->server_hello && psk_suite(w->cipher), false);
		off += 4 + mlen;
	}
}

enum walk_verdict tls_walk(struct tls_walk *w, int dir, const uint8_t *h, uint32_t len, struct hs_count *hs)
{
	uint32_t off = w->off[dir] > w->start[dir] ? w->off[dir] : w->start[dir];

	if (!w->counted_start[dir]) { /* a STARTTLS negotiation went before, in the clear */
		w->counted_start[dir] = true;
		hs_clear(hs, w->start[dir]);
	}

	/* SSLv2-framed hellos: a 2-byte length with the top bit set. */
	if (off == w->start[dir] && off + 3 <= len && (h[off] & 0x80) && !w->server_hello) {
		uint8_t msg = h[off + 2];
		if (dir == 1 && msg == 4) { /* SSLv2 ServerHello: SSLv2 was chosen */
			w->sslv2 = w->server_hello = true;
			w->version = 0x0002;
			return WALK_DONE;
		}
		if (dir == 0 && msg == 1) { /* SSLv2 ClientHello; the server may answer in v3 */
			uint32_t n = 2 + (((uint32_t)h[off] & 0x7f) << 8 | h[off + 1]);
			w->off[dir] = off + n;
			hs_clear(hs, n);
			return WALK_MORE;
		}
	}
	while (off + 5 <= len) {
		const uint8_t *r = h + off;
		uint8_t type = r[0];
		uint32_t rlen = rd16(r + 3);

		if (type < 20 || type > 24 || r[1] != 3 || r[2] > 4 || rlen > 18432)
			return WALK_BROKEN;
		uint32_t avail = len - off - 5 < rlen ? len - off - 5 : rlen;
		if (dir == 1 && type == 22 && !w->server_hello && avail >= 4 && r[5] == 2) {
			bool retry;
			uint16_t v, c;
			uint32_t hl = rd24(r + 6), body = avail - 4 < hl ? avail - 4 : hl;
			if (parse_server_hello(r + 9, body, &v, &c, &retry)) {
				if (!retry) {
					w->server_hello = true;
					w->version = v;
					w->cipher = c;
				}
			} else if (avail < rlen) {
				break; /* the rest of the hello is still on its way */
			}
		}
		/* A side's records are protected after its CCS, and any
		 * application-data record after the ServerHello; the ones before
		 * were sent in the clear (a client's application data before the
		 * ServerHello is early data: unproven until then). */
		bool protected_ = w->ccs[dir] || (type == 23 && w->server_hello);
		if (type == 20)
			w->ccs[dir] = true;
		/* The proof: after the ServerHello, the client's first protected
		 * record -- TLS <= 1.2: the encrypted Finished (a handshake record
		 * after its CCS); TLS 1.3: an application-data record -- and its
		 * content must look like ciphertext (TLS <= 1.2's 8-byte explicit
		 * nonce aside).  A CCS alone proves nothing: it is one constant
		 * byte anyone can send. */
		bool tls13 = tls_version_is_13(w->version);
		if (dir == 0 && w->server_hello && (type == 23 || (type == 22 && w->ccs[0] && !tls13))) {
			uint32_t skip = tls13 ? 0 : 8;
			if (avail < rlen && avail < skip + LOOK_WINDOW)
				break; /* judged when enough of it is there */
			enum look_result look = avail > skip ? look_at(r + 5 + skip, avail - skip) : LOOK_PENDING;
			if (look == LOOK_NOT_RANDOM)
				w->plaintext_in_record = true;
			else if (look == LOOK_RANDOM && (tls13 || w->ccs[0]))
				w->client_protected = true;
		}
		if (avail < rlen)
			break;
		if (!protected_)
			hs_record(w, hs, dir, r, rlen);
		off += 5 + rlen;
	}
	w->off[dir] = off;
	return w->server_hello && w->client_protected ? WALK_DONE : WALK_MORE;
}

enum walk_verdict dtls_server_hello(const uint8_t *p, uint32_t n, uint16_t *version, uint16_t *cipher)
{
	/* Record header 13 bytes, handshake header 12. */
	while (n >= 13) {
		uint32_t rlen = rd16(p + 11);
		if (p[0] < 20 || p[0] > 25 || p[1] != 0xfe)
			return WALK_BROKEN;
		if (13 + rlen > n)
			return WALK_MORE;
		if (p[0] == 22 && rlen >= 12 && p[13] == 2) {
			bool retry;
			if (parse_server_hello(p + 25, rlen - 12, version, cipher, &retry))
				return WALK_DONE;
		}
		p += 13 + rlen;
		n -= 13 + rlen;
	}
	return WALK_MORE;
}

/*
 * A DTLS handshake message put together from its fragments (RFC 6347
 * 4.2.3): a flight's certificates and key exchange are cut to the path's
 * MTU, and a fragment alone cannot be judged.  One message per side, its
 * fragments in order from offset 0; a fragment at offset 0 starts the
 * message again (a retransmitted flight is judged again, as it was the
 * first time).  Anything else -- fragments out of order or overlapping,
 * a message over DTLS_MESSAGE_MAX -- stays unproven.
 */
#define DTLS_MESSAGE_MAX 16384u

struct dtls_message {
	uint8_t type;
	uint16_t seq;
	uint32_t len, have;
	uint8_t body[DTLS_MESSAGE_MAX];
};

/* A fragment (12-byte header at m) of a message that does not fit in it;
 * true when it completed the message, in *whole.  Its bytes are counted
 * by the caller, and in h->reassembling while the message is unfinished. */
static bool dtls_fragment(struct hs_count *h, struct dtls_message **slot, const uint8_t *m,
			  struct dtls_message **whole)
{
	uint32_t len = rd24(m + 1), at = rd24(m + 6), n = rd24(m + 9);
	uint16_t seq = rd16(m + 4);
	struct dtls_message *dm = *slot;

	if (len > DTLS_MESSAGE_MAX || at + n > len)
		return false;
	if (at == 0) {
		if (!dm) {
			if (!(dm = *slot = malloc(sizeof(*dm))))
				return false; /* unproven: fail closed */
			dm->len = dm->have = 0;
		}
		h->reassembling -= dm->have < dm->len ? dm->have : 0; /* an unfinished one: unproven */
		dm->type = m[0];
		dm->seq = seq;
		dm->len = len;
		dm->have = 0;
	}
	if (!dm || dm->have == dm->len || dm->type != m[0] || dm->seq != seq || dm->len != len || dm->have != at)
		return false;
	memcpy(dm->body + at, m + 12, n);
	dm->have += n;
	h->reassembling += n;
	if (dm->have < len)
		return false;
	h->reassembling -= len;
	*whole = dm;
	return true;
}

void dtls_message_free(struct dtls_message *m)
{
	free(m);
}

/*
 * A DTLS datagram before the flow's decision, counted and judged like a
 * TLS handshake (the same hs_message(), hello after hello included):
 * records of epoch 0 are in the clear, every byte counted; a handshake
 * message is judged when whole (in one record, or reassembled by
 * dtls_fragment()).  Records of a later epoch, and DTLS 1.3's unified
 * header, are protected (the proof is classify.c's).  Bytes after the last
 * record that are no record are counted too.  A datagram that does not
 * start with a record (STUN's checks on the same 5-tuple) is not the
 * handshake's.
 */
void dtls_handshake_count(struct hs_count *h, struct dtls_message **frag, int dir, const uint8_t *p, uint32_t n,
			  uint16_t cipher)
{
	bool first = true;

	while (n) {
		if ((p[0] & 0xe0) == 0x20)
			return; /* a unified header: protected to the datagram's end */
		if (n < 13 || p[0] < 20 || p[0] > 25 || p[1] != 0xfe || 13u + rd16(p + 11) > n) {
			if (!first)
				hs_clear(h, n);
			return;
		}
		uint32_t rlen = rd16(p + 11);
		const uint8_t *b = p + 13;
		first = false;
		if (rd16(p + 3) == 0) {
			hs_clear(h, 13 + rlen);
			if (p[0] == 23 && look_at(b, rlen) == LOOK_NOT_RANDOM && !h->broke)
				h->broke = "readable data in a DTLS record in the clear";
			for (uint32_t off = 0; p[0] == 22 && off + 12 <= rlen;) {
				uint32_t mlen = rd24(b + off + 1), n_frag = rd24(b + off + 9);
				struct dtls_message *dm;
				if (off + 12 + n_frag > rlen)
					break;
				if (rd24(b + off + 6) == 0 && n_frag == mlen)
					hs_message(h, dir, b[off], b + off + 12, mlen, psk_suite(cipher), true);
				else if (dtls_fragment(h, frag, b + off, &dm))
					hs_message(h, dir, dm->type, dm->body, dm->len, psk_suite(cipher), true);
				off += 12 + n_frag;
			}
		}
		p += 13 + rlen;
		n -= 13 + rlen;
	}
}

/* Offset just past the first "\n" at or after off, or 0 when none yet. */
static uint32_t line_end(const uint8_t *h, uint32_t off, uint32_t len)
{
	const uint8_t *nl = off < len ? memchr(h + off, '\n', len - off) : NULL;

	return nl ? (uint32_t)(nl - h) + 1 : 0;
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* RFC 4251 6 and RFC 4250 4.6.1: an algorithm name is 1 to 64 printable
 * US-ASCII characters without comma or space; a name-list is such names
 * joined by commas. */
static bool ssh_name_list_ok(const uint8_t *p, uint32_t n)
{
	uint32_t run = 0;

	for (uint32_t i = 0; i < n; i++) {
		if (p[i] == ',') {
			if (!run)
				return false;
			run = 0;
		} else if (p[i] <= 0x20 || p[i] >= 0x7f || ++run > 64) {
			return false;
		}
	}
	return n == 0 || run > 0;
}

/* KEXINIT (RFC 4253 7.1), payload after the message byte: a random cookie
 * and ten name-lists. */
static void ssh_kexinit(struct hs_count *h, const uint8_t *b, uint32_t n)
{
	uint32_t off = 16;

	if (n < 16 + 10 * 4) {
		h->broke = h->broke ? h->broke : "an SSH KEXINIT cut short";
		return;
	}
	hs_random(h, b, 16, "an SSH KEXINIT cookie that is not random");
	for (int i = 0; i < 10; i++) {
		uint32_t len = off + 4 <= n ? rd32(b + off) : UINT32_MAX;
		off += 4;
		if (len > n - (off < n ? off : n) || !ssh_name_list_ok(b + off, len)) {
			h->broke = h->broke ? h->broke : "an SSH KEXINIT name-list that is not algorithm names";
			return;
		}
		off += len;
	}
}

/* A string or mpint at b[*off] judged as random (a public value). */
static void ssh_random_string(struct hs_count *h, const uint8_t *b, uint32_t n, uint32_t off)
{
	if (off + 4 > n)
		return;
	uint32_t len = rd32(b + off);
	if (len <= n - off - 4)
		hs_random(h, b + off + 4, len, "an SSH key exchange value that is not random");
}

/* Whether a server's message 31 starts with a host key (KEXDH_REPLY, RFC
 * 4253 8; ECDH's and the hybrids' alike): a blob whose first string is a
 * key type, an algorithm name (RFC 4251 6).  Under DH group exchange 31 is
 * KEX_DH_GEX_GROUP (RFC 4419 3), whose first string is the prime p: an
 * mpint of 1024 to 8192 bits with its top bit set, so its first four
 * bytes never read as a name's length. */
static bool ssh_host_key_first(const uint8_t *b, uint32_t n)
{
	if (n < 4 || rd32(b) > n - 4)
		return false;
	uint32_t k = rd32(b), name = k >= 4 ? rd32(b + 4) : 0;
	return name >= 1 && name <= 64 && name <= k - 4 && ssh_name_list_ok(b + 8, name);
}

/* A window of paddings judged: text breaks the handshake. */
static void ssh_padding_judge(struct hs_count *h, struct look *w)
{
	if (look_judge(w) == LOOK_NOT_RANDOM && !h->broke)
		h->broke = "SSH padding that is neither zeros nor random";
}

/*
 * A packet's padding (RFC 4253 6: "arbitrary-length padding", random in
 * OpenSSH, before NEWKEYS too; zeros in some stacks).  Zeros carry nothing;
 * anything else must look random to look_judge(), like the other random
 * fields, and text breaks the handshake as a KEXINIT name-list that is
 * not names does.  One padding is 4 to 255 bytes, a genuine one mostly
 * under 16, where look_judge() cannot tell (LOOK_PENDING), so a side's
 * paddings are judged together: they fill one window after another, and
 * what is left is judged at the side's NEWKEYS (`last').  Text cut into
 * short paddings is thus judged as the same text in one field would be.
 * Either way the padding stays unproven, against the allowance: random
 * bytes in it are not bounded by the protocol's structure, unlike a
 * key exchange value.
 */
static void ssh_padding(struct hs_count *h, struct look *w, const uint8_t *p, uint32_t n, bool last)
{
	if (!zeros(p, n)) {
		while (n) {
			uint32_t k = look_add(w, p, n);
			p += k;
			n -= k;
			if (w->n == LOOK_WINDOW) {
				ssh_padding_judge(h, w);
				look_next(w);
			}
		}
	}
	if (last && w->n)
		ssh_padding_judge(h, w);
}

/*
 * One side's binary packets before its NEWKEYS (RFC 4253 6): each whole
 * packet is counted and its key exchange judged -- KEXINIT's names, the
 * client's public value (KEXDH/ECDH/hybrid INIT 30, GEX INIT 32), the
 * server's (the value after its host key in 31 and 33, or group exchange's
 * prime in 31), and every
 * padding, the NEWKEYS's too (ssh_padding()).  *off stops at the NEWKEYS.
 * BROKEN when the bytes are not such packets.
 */
static enum walk_verdict ssh_packets(const uint8_t *s, uint32_t len, uint32_t *off, int dir, struct hs_count *h,
				     struct look *padding, bool *kexinit, bool *newkeys)
{
	while (*off + 6 <= len && !*newkeys) {
		const uint8_t *p = s + *off;
		uint32_t plen = rd32(p);
		uint8_t pad = p[4], msg = p[5];

		/* a payload of at least the message number (n below >= 0) */
		if (plen < 12 || plen > 35000 || pad < 4 || pad + 2u > plen)
			return WALK_BROKEN;
		if (msg < 20 || msg > 49)
			return WALK_BROKEN; /* not transport or key exchange before NEWKEYS */
		if (*off + 4 + plen > len) {
			if (*off + 4 + plen > STREAM_HIST_MAX) {
				h->broke = h->broke ? h->broke : "an SSH key exchange packet longer than a handshake needs";
				return WALK_BROKEN;
			}
			break; /* judged whole */
		}
		const uint8_t *b = p + 6;
		uint32_t n = plen - pad - 2;
		hs_clear(h, 4 + plen);
		ssh_padding(h, padding, p + 4 + plen - pad, pad, msg == 21 && *kexinit);
		if (msg == 20) {
			*kexinit = true;
			ssh_kexinit(h, b, n);
		} else if (msg == 21 && *kexinit) {
			*newkeys = true;
			break;
		} else if (dir == 0 && (msg == 30 || msg == 32)) {
			ssh_random_string(h, b, n, 0);
		} else if (dir == 1 && msg == 31 && !ssh_host_key_first(b, n)) {
			/* the group's prime is drawn at random (ssh-keygen -M
			 * generate): judged like the values; g stays unproven */
			ssh_random_string(h, b, n, 0);
		} else if (dir == 1 && (msg == 31 || msg == 33) && n >= 4 && rd32(b) <= n - 4) {
			ssh_random_string(h, b, n, 4 + rd32(b));
		}
		*off += 4 + plen;
	}
	return WALK_MORE;
}

enum walk_verdict ssh_walk(struct ssh_walk *w, const uint8_t *client, uint32_t clen,
			   const uint8_t *server, uint32_t slen, struct hs_count *hs)
{
	if (!w->server_banner) {
		/* RFC 4253 4.2: a server may send other lines before its banner. */
		for (uint32_t off = 0; off + 4 <= slen;) {
			uint32_t e = line_end(server, off, slen);
			if (memcmp(server + off, "SSH-", 4) == 0) {
				w->server_banner = true;
				w->server_off = e;
				hs_clear(&hs[1], e);
				break;
			}
			if (!e)
				break;
			off = e;
		}
	}
	if (!w->server_off && w->server_banner) { /* its line end came later */
		uint32_t e = 0;
		for (uint32_t off = 0; off + 4 <= slen && !e;) {
			uint32_t next = line_end(server, off, slen);
			if (!next)
				break;
			if (memcmp(server + off, "SSH-", 4) == 0)
				e = next;
			off = next;
		}
		w->server_off = e;
		hs_clear(&hs[1], e);
	}
	if (!w->client_banner) {
		if (clen < 4)
			return WALK_MORE;
		if (memcmp(client, "SSH-", 4) != 0)
			return WALK_BROKEN;
		uint32_t e = line_end(client, 0, clen < 256 ? clen : 256);
		if (!e)
			return clen >= 256 ? WALK_BROKEN : WALK_MORE;
		w->client_banner = true;
		w->off = e;
		hs_clear(&hs[0], e);
	}
	if (w->server_off && !w->server_newkeys) {
		if (ssh_packets(server, slen, &w->server_off, 1, &hs[1], &w->padding[1], &w->server_kexinit,
				&w->server_newkeys) == WALK_BROKEN &&
		    !hs[1].broke)
			hs[1].broke = "the server's handshake is not SSH packets";
	}
	if (ssh_packets(client, clen, &w->off, 0, &hs[0], &w->padding[0], &w->kexinit, &w->newkeys) == WALK_BROKEN)
		return WALK_BROKEN;
	return w->newkeys && w->server_banner ? WALK_DONE : WALK_MORE;
}

/* ---- STARTTLS ------------------------------------------------------------ */

struct command_set {
	uint16_t ndpi_id;
	bool tagged;                 /* IMAP: "tag COMMAND" */
	const char *upgrade;
	const char *allowed[10];     /* negotiation commands that carry no data */
	const char *positive;        /* the reply that accepts the upgrade */
	const char *bare;            /* allowed only with no argument (lists SASL mechanisms) */
};

static const struct command_set command_sets[] = {
	{NDPI_PROTOCOL_MAIL_SMTP, false, "STARTTLS", {"EHLO", "HELO", "LHLO", "NOOP", "RSET", "QUIT"}, "220", NULL},
	{NDPI_PROTOCOL_MAIL_IMAP, true, "STARTTLS", {"CAPABILITY", "NOOP", "ID", "LOGOUT"}, "OK", NULL},
	{NDPI_PROTOCOL_MAIL_POP, false, "STLS", {"CAPA", "NOOP", "QUIT"}, "+OK", "AUTH"},
	{NDPI_PROTOCOL_FTP_CONTROL, false, "AUTH", {"FEAT", "SYST", "NOOP", "QUIT", "HELP", "OPTS", "CLNT"}, "234", NULL},
};

static const struct command_set *command_set_of(uint16_t id)
{
	for (size_t i = 0; i < sizeof(command_sets) / sizeof(command_sets[0]); i++)
		if (command_sets[i].ndpi_id == id)
			return &command_sets[i];
	return NULL;
}

/* The command word of a line (after the tag for IMAP), upper-cased. */
static void command_word(const uint8_t *line, uint32_t n, bool tagged, char *out, size_t cap)
{
	uint32_t i = 0, o = 0;

	if (tagged) {
		while (i < n && line[i] != ' ')
			i++;
		while (i < n && line[i] == ' ')
			i++;
	}
	while (i < n && o + 1 < cap && line[i] > ' ' && line[i] < 0x7f) {
		char c = (char)line[i++];
		out[o++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
	}
	out[o] = 0;
}

/* RFC 5321 4.1.1.1 and 4.1.2: EHLO/HELO carry one domain (labels of
 * letters, digits and hyphens, at most 63 each, 255 in all) or an address
 * literal in brackets; LHLO (RFC 2033) the same. */
static bool smtp_hello_argument_ok(const uint8_t *a, uint32_t n)
{
	uint32_t label = 0;

	if (n > 255)
		return false;
	if (n >= 2 && a[0] == '[' && a[n - 1] == ']') {
		for (uint32_t i = 1; i + 1 < n; i++)
			if (!(a[i] >= '0' && a[i] <= '9') && !(a[i] >= 'a' && a[i] <= 'f') &&
			    !(a[i] >= 'A' && a[i] <= 'F') && !(a[i] && strchr(".:IPv6", a[i])))
				return false;
		return true;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint8_t ch = a[i];
		if (ch == '.') {
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '_') || ++label > 63)
			return false;
	}
	return true;
}

/* A negotiation line before the upgrade: at most 512 octets with its CRLF
 * (RFC 5321 4.5.3.1.4's command line; POP3's and IMAP's commands here are
 * shorter still), and a hello's argument a name, not text. */
static bool negotiation_line_ok(struct starttls_walk *w, const char *word, const uint8_t *line, uint32_t len,
				bool smtp)
{
	if (len > 510) {
		w->broke = "a command line longer than 512 octets before STARTTLS";
		return false;
	}
	if (smtp && (!strcmp(word, "EHLO") || !strcmp(word, "HELO") || !strcmp(word, "LHLO"))) {
		uint32_t i = 4;
		while (i < len && line[i] == ' ')
			i++;
		if (!smtp_hello_argument_ok(line + i, len - i)) {
			w->broke = "an SMTP hello whose argument is not a domain or address literal";
			return false;
		}
	}
	return true;
}

static bool is_tls_record_start(const uint8_t *h, uint32_t off, uint32_t len)
{
	return off + 3 <= len && h[off] == 0x16 && h[off + 1] == 3 && h[off + 2] <= 4;
}

/* Where the server's TLS begins, at a line boundary, and whether the line
 * before it was a yes.  0 when not there yet. */
static uint32_t server_tls_start(struct starttls_walk *w, const struct command_set *cs,
				 const uint8_t *h, uint32_t len)
{
	uint32_t off = w->server_off, prev = UINT32_MAX;

	while (off < len) {
		if (is_tls_record_start(h, off, len)) {
			if (prev != UINT32_MAX) {
				const uint8_t *line = h + prev;
				uint32_t n = off - prev;
				size_t pl = strlen(cs->positive);
				if (cs->tagged) { /* "tag OK ..." */
					const uint8_t *sp = memchr(line, ' ', n);
					w->server_positive = sp && (uint32_t)(sp - line) + 1 + pl <= n &&
							     strncasecmp((const char *)sp + 1, cs->positive, pl) == 0;
				} else {
					w->server_positive = n >= pl && memcmp(line, cs->positive, pl) == 0;
				}
			}
			return off;
		}
		uint32_t e = line_end(h, off, len);
		if (!e)
			break;
		prev = off;
		off = e;
	}
	return 0;
}

static enum walk_verdict xmpp_walk(struct starttls_walk *w, struct tls_walk *tls, const uint8_t *c,
				   uint32_t clen, const uint8_t *s, uint32_t slen)
{
	static const char *const data_tags[] = {"<auth", "<iq", "<message", "<presence"};
	const uint8_t *st = memmem(c, clen, "<starttls", 9);
	uint32_t limit = st ? (uint32_t)(st - c) : clen;

	for (size_t i = 0; i < sizeof(data_tags) / sizeof(data_tags[0]); i++)
		if (memmem(c, limit, data_tags[i], strlen(data_tags[i])))
			return WALK_BROKEN;
	if (!st)
		return WALK_MORE;
	w->state = STLS_REQUESTED;
	const uint8_t *proceed = memmem(s, slen, "<proceed", 8);
	const uint8_t *ctls = NULL, *stls = NULL;
	for (uint32_t i = limit; i + 3 <= clen && !ctls; i++)
		if (is_tls_record_start(c, i, clen))
			ctls = c + i;
	for (uint32_t i = proceed ? (uint32_t)(proceed - s) : slen; i + 3 <= slen && !stls; i++)
		if (is_tls_record_start(s, i, slen))
			stls = s + i;
	if (!ctls || !stls)
		return WALK_MORE;
	w->server_positive = proceed != NULL;
	w->state = STLS_TLS;
	tls->start[0] = (uint32_t)(ctls - c);
	tls->start[1] = (uint32_t)(stls - s);
	return WALK_MORE;
}

enum walk_verdict starttls_walk(struct starttls_walk *w, struct tls_walk *tls, const uint8_t *c,
				uint32_t clen, const uint8_t *s, uint32_t slen)
{
	if (w->ndpi_id == NDPI_PROTOCOL_JABBER && w->state != STLS_TLS)
		return xmpp_walk(w, tls, c, clen, s, slen);
	const struct command_set *cs = command_set_of(w->ndpi_id);
	if (!cs)
		return WALK_BROKEN;
	while (w->state != STLS_TLS) {
		if (w->state == STLS_REQUESTED) {
			if (w->client_off + 3 > clen)
				return WALK_MORE;
			if (!is_tls_record_start(c, w->client_off, clen)) {
				w->state = STLS_NEGOTIATING; /* refused: the client carries on in the clear */
				continue;
			}
			uint32_t st = server_tls_start(w, cs, s, slen);
			if (!st)
				return WALK_MORE;
			tls->start[0] = w->client_off;
			tls->start[1] = st;
			w->state = STLS_TLS;
			break;
		}
		uint32_t e = line_end(c, w->client_off, clen);
		if (!e && clen - w->client_off > 512) {
			w->broke = "a command line longer than 512 octets before STARTTLS";
			return WALK_BROKEN;
		}
		if (!e)
			return WALK_MORE;
		char word[16];
		const uint8_t *line = c + w->client_off;
		uint32_t line_len = e - w->client_off;
		command_word(line, line_len, cs->tagged, word, sizeof(word));
		w->client_off = e;
		while (line_len && (line[line_len - 1] == '\n' || line[line_len - 1] == '\r'))
			line_len--;
		if (!negotiation_line_ok(w, word, line, line_len, cs->ndpi_id == NDPI_PROTOCOL_MAIL_SMTP))
			return WALK_BROKEN;
		if (cs->bare && strcmp(word, cs->bare) == 0 && line_len == strlen(cs->bare))
			continue;
		if (strcmp(word, cs->upgrade) == 0) {
			w->state = STLS_REQUESTED;
			continue;
		}
		bool allowed = false;
		for (size_t i = 0; i < 10 && cs->allowed[i]; i++)
			allowed |= strcmp(word, cs->allowed[i]) == 0;
		if (!allowed)
			return WALK_BROKEN; /* data, credentials or a transfer before any upgrade */
	}
	return WALK_MORE;
}

/* ---- fast recognition of the commonest first messages --------------------- */

static void copy_name(char *out, size_t cap, const uint8_t *p, uint32_t n)
{
	uint32_t o = 0;

	for (uint32_t i = 0; i < n && o + 1 < cap; i++)
		if (p[i] > 0x20 && p[i] < 0x7f)
			out[o++] = (char)p[i];
	out[o] = 0;
}

/* SNI from a ClientHello body (after the handshake header), if there. */
static void client_hello_sni(const uint8_t *b, uint32_t n, char *name, size_t cap)
{
	uint32_t off = 2 + 32;

	if (n < off + 1)
		return;
	off += 1 + b[off];
	if (n < off + 2)
		return;
	off += 2 + rd16(b + off);
	if (n < off + 1)
		return;
	off += 1 + b[off];
	if (n < off + 2)
		return;
	uint32_t end = off + 2 + rd16(b + off);
	off += 2;
	if (end > n)
		end = n;
	while (off + 4 <= end) {
		uint16_t type = rd16(b + off), len = rd16(b + off + 2);
		if (type == 0 && off + 4 + len <= end && len >= 5) {
			uint32_t name_len = rd16(b + off + 7);
			if (off + 9 + name_len <= end)
				copy_name(name, cap, b + off + 9, name_len);
			return;
		}
		off += 4u + len;
	}
}

uint16_t recognise_client_start(const uint8_t *h, uint32_t n, char *name, size_t cap)
{
	static const char *const methods[] = {"GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "OPTIONS ",
					      "PATCH ", "TRACE ", "CONNECT ", "QUERY "};

	if (n >= 9 && h[0] == 0x16 && h[1] == 3 && h[2] <= 4 && h[5] == 1) {
		uint32_t rlen = rd16(h + 3), hlen = rd24(h + 6);
		if (rlen < 4 || hlen + 4 < rlen || hlen < 38 || h[9] != 3)
			return 0;
		uint32_t avail = n - 9 < rlen - 4 ? n - 9 : rlen - 4;
		client_hello_sni(h + 9, avail, name, cap);
		return NDPI_PROTOCOL_TLS;
	}
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t ml = strlen(methods[i]);
		if (n <= ml || memcmp(h, methods[i], ml) != 0)
			continue;
		uint32_t e = line_end(h, 0, n);
		if (!e || e < ml + 10)
			return 0;
		const uint8_t *v = h + e - 10; /* " HTTP/1.x\r\n" or " HTTP/1.x\n" */
		if (h[e - 2] == '\r')
			v--;
		if (memcmp(v, " HTTP/1.", 8) != 0)
			return 0;
		const uint8_t *host = memmem(h, n, "\nHost:", 6);
		if (!host)
			host = memmem(h, n, "\nhost:", 6);
		if (host) {
			const uint8_t *start = host + 6, *stop = memchr(start, '\n', n - (uint32_t)(start - h));
			if (stop)
				copy_name(name, cap, start, (uint32_t)(stop - start));
		}
		return memcmp(h, "CONNECT ", 8) == 0 ? NDPI_PROTOCOL_HTTP_CONNECT : NDPI_PROTOCOL_HTTP;
	}
	return 0;
}

/* ---- TLS 1.3 and its pre-standard versions -------------------------------- */

/*
 * TLS 1.3 as RFC 8446 defines it, and the versions deployed before it was
 * final: the IETF drafts (0x7f00 + draft number) and the experiments of
 * large operators built on them (Facebook's 0xfb00 + draft, Google's 0x7e..).
 * All protect everything after the ServerHello with the same AEAD suites,
 * which tls_13_suite() tells.
 */
bool tls_version_is_13(uint16_t v)
{
	return v == 0x0304 || (v >> 8) == 0x7f || (v >> 8) == 0x7e || (v >> 8) == 0xfb;
}

/* TLS 1.3's five AEAD suites (RFC 8446 B.4), the only ones it may negotiate. */
bool tls_13_suite(uint16_t suite)
{
	return suite >= 0x1301 && suite <= 0x1305;
}

/* ---- short text: a protocol's command and reply lines ---------------------- */

/*
 * Whether bytes too few for look_text()'s statistics are a text protocol's
 * lines: every byte printable (or a tab), every line ended by LF (CR LF),
 * and each line opening with a command word, a reply code or a prefix
 * (":server", "+OK", "* OK", "a001") -- what one QUIT and its 221, or
 * a single IRC line, look like.  Random bytes pass this with a probability
 * under 0.39^n for n bytes; an evader gains nothing by passing it, since
 * cleartext is the strictest class.
 */
bool command_lines(const uint8_t *p, uint32_t n)
{
	if (n < 4 || p[n - 1] != '\n')
		return false;
	for (uint32_t off = 0; off < n;) {
		uint32_t e = line_end(p, off, n), len = e - off;
		if (!e || len < 3)
			return false;
		uint8_t first = p[off];
		if (!((first >= 'A' && first <= 'Z') || (first >= 'a' && first <= 'z') || (first >= '0' && first <= '9') ||
		      first == ':' || first == '+' || first == '-' || first == '*'))
			return false;
		for (uint32_t i = off; i < e - 1; i++)
			if ((p[i] < 0x20 || p[i] > 0x7e) && p[i] != '\t' && !(p[i] == '\r' && i == e - 2))
				return false;
		off = e;
	}
	return true;
}

/* ---- protocols with their own TLS upgrade --------------------------------- */

/*
 * MySQL, PostgreSQL, LDAP, RDP and an HTTP CONNECT tunnel each start in the
 * clear and may switch to TLS by a message of their own (not a STARTTLS
 * command line).  nDPI names the first three by port only, and LDAP's
 * StartTLS request as MQTT, so their first messages are recognised here from
 * their structure, and upgrade_walk() reads on until the client either
 * starts TLS (then tls_walk() must prove it, as for any TLS) or sends
 * anything else (cleartext).  What cannot be proven either way -- LDAP's
 * SASL security layer, PostgreSQL's GSSAPI encryption, RDP's own RC4 layer
 * -- is `opaque': unknown, with the reason.
 */

static inline uint32_t rd16le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static inline uint32_t rd24le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

static inline uint32_t rd32le(const uint8_t *p)
{
	return rd24le(p) | (uint32_t)p[3] << 24;
}

/* A BER length at p (n bytes there): its value and the bytes it takes.
 * False when not there yet or not a definite length under 16 MiB. */
static bool ber_length(const uint8_t *p, uint32_t n, uint32_t *len, uint32_t *size)
{
	if (n < 1)
		return false;
	if (p[0] < 0x80) {
		*len = p[0];
		*size = 1;
		return true;
	}
	uint32_t k = p[0] & 0x7f;
	if (k == 0 || k > 3 || n < 1 + k)
		return false;
	*len = 0;
	for (uint32_t i = 1; i <= k; i++)
		*len = *len << 8 | p[i];
	*size = 1 + k;
	return true;
}

/* An LDAPMessage (RFC 4511 4.1.1) at p: SEQUENCE { messageID INTEGER,
 * protocolOp [APPLICATION n] ... }.  Returns the operation's tag and sets
 * *op (its contents' offset) and *end (the message's end); 0 when not an
 * LDAP message, and *end = 0 when more bytes are needed to tell. */
static uint8_t ldap_message(const uint8_t *p, uint32_t n, uint32_t *op, uint32_t *end)
{
	uint32_t len, size, ilen, isize;

	*end = 0;
	if (n >= 1 && p[0] != 0x30)
		return 0;
	if (n < 2)
		return 0xff;
	if (!ber_length(p + 1, n - 1, &len, &size)) /* cut short, or no definite length */
		return p[1] > 0x80 && p[1] <= 0x83 ? 0xff : 0;
	uint32_t o = 1 + size;
	if (n < o + 3)
		return 0xff;
	if (p[o] != 0x02 || p[o + 1] < 1 || p[o + 1] > 4)
		return 0;
	o += 2 + p[o + 1];
	if (n < o + 2)
		return 0xff;
	uint8_t tag = p[o];
	if (!((tag >= 0x60 && tag <= 0x78) || tag == 0x42 || tag == 0x4a || tag == 0x50))
		return 0;
	if (!ber_length(p + o + 1, n - o - 1, &ilen, &isize))
		return 0xff;
	if (o + 1 + isize + ilen > 1 + size + len || len < 5)
		return 0;
	*op = o + 1 + isize;
	*end = 1 + size + len;
	return tag;
}

/* MySQL's initial handshake (protocol 10): packet length, sequence 0, 0x0a,
 * a version string "5.7.42-..." ended by NUL. */
static int mysql_greeting(const uint8_t *s, uint32_t n)
{
	if (n < 6)
		return -1;
	uint32_t len = rd24le(s);
	if (s[3] != 0 || s[4] != 0x0a || len < 20 || len > 1024 || s[5] < '0' || s[5] > '9')
		return 0;
	if (n < 4 + len)
		return -1;
	const uint8_t *nul = memchr(s + 5, 0, len - 1);
	if (!nul || nul - s < 8)
		return 0;
	for (const uint8_t *q = s + 5; q < nul; q++)
		if (*q < 0x20 || *q > 0x7e)
			return 0;
	return 1;
}

static const uint8_t pg_ssl_request[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
static const uint8_t pg_gss_request[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30};

/* A PostgreSQL client's first message: SSLRequest, GSSENCRequest,
 * CancelRequest or a version 3 StartupMessage. */
static int postgres_start(const uint8_t *c, uint32_t n)
{
	if (n < 8)
		return -1;
	uint32_t len = rd32(c), code = rd32(c + 4);
	if (len == 8 && (code == 80877103u || code == 80877104u))
		return 1;
	if (len == 16 && code == 80877102u)
		return 1;
	return code == 0x00030000u && len >= 16 && len <= 10000 && (n < 9 || (c[8] >= 'a' && c[8] <= 'z')) ? 1 : 0;
}

/* RDP: a TPKT carrying an X.224 Connection Request (T.123, X.224 13.3). */
static int rdp_request(const uint8_t *c, uint32_t n)
{
	if (n < 11)
		return -1;
	uint32_t len = (uint32_t)c[2] << 8 | c[3];
	return c[0] == 3 && c[1] == 0 && len >= 11 && c[4] == len - 5 && c[5] == 0xe0 ? 1 : 0;
}

int recognise_upgrade_protocol(const uint8_t *c, uint32_t clen, const uint8_t *s, uint32_t slen, uint16_t *id)
{
	int r, more = 0;
	uint32_t op, end;

	if (!clen && slen) { /* the server speaks first: MySQL */
		r = mysql_greeting(s, slen);
		if (r > 0)
			*id = NDPI_PROTOCOL_MYSQL;
		return r;
	}
	if (!clen)
		return -1;
	if ((r = postgres_start(c, clen)) > 0) {
		*id = NDPI_PROTOCOL_POSTGRES;
		return 1;
	}
	more |= r < 0;
	if ((r = rdp_request(c, clen)) > 0) {
		*id = NDPI_PROTOCOL_RDP;
		return 1;
	}
	more |= r < 0;
	uint8_t tag = ldap_message(c, clen, &op, &end);
	if (tag && tag != 0xff) {
		*id = NDPI_PROTOCOL_LDAP;
		return 1;
	}
	more |= tag == 0xff;
	if (slen && (r = mysql_greeting(s, slen)) > 0) { /* the client spoke after it */
		*id = NDPI_PROTOCOL_MYSQL;
		return 1;
	}
	return more && clen < 64 ? -1 : 0;
}

static const char ldap_starttls_oid[] = "1.3.6.1.4.1.1466.20037";

/* Both sides' TLS start; the client's must be a TLS record there.  Kept
 * while the client's next bytes are still to come. */
static enum walk_verdict upgrade_to_tls(struct upgrade_walk *w, struct tls_walk *tls, const uint8_t *c,
					uint32_t clen, uint32_t coff, uint32_t soff)
{
	w->agreed = true;
	w->tls_client = coff;
	w->tls_server = soff;
	if (coff + 3 > clen)
		return WALK_MORE;
	if (!is_tls_record_start(c, coff, clen))
		return WALK_BROKEN; /* the upgrade was announced, then data in the clear */
	tls->start[0] = coff;
	tls->start[1] = soff;
	w->state = UPG_TLS;
	return WALK_MORE;
}

static enum walk_verdict opaque(struct upgrade_walk *w, const char *why)
{
	w->state = UPG_OPAQUE;
	w->why = why;
	return WALK_DONE;
}

static enum walk_verdict mysql_walk(struct upgrade_walk *w, struct tls_walk *tls, const uint8_t *c, uint32_t clen,
				    const uint8_t *s, uint32_t slen)
{
	if (slen < 4 || slen < 4 + rd24le(s) || clen < 4)
		return WALK_MORE;
	uint32_t greeting = 4 + rd24le(s), len = rd24le(c);
	/* SSLRequest: 32 bytes, the capability flags with CLIENT_SSL (0x800) */
	if (len == 32 && c[3] == 1 && clen >= 8 && (rd32le(c + 4) & 0x800))
		return upgrade_to_tls(w, tls, c, clen, 36, greeting);
	return WALK_BROKEN; /* the login, with the user name, in the clear */
}

static enum walk_verdict postgres_walk(struct upgrade_walk *w, struct tls_walk *tls, const uint8_t *c,
				       uint32_t clen, const uint8_t *s, uint32_t slen)
{
	uint32_t off = w->client_off;

	while (off + 8 <= clen) {
		bool ssl = memcmp(c + off, pg_ssl_request, 8) == 0, gss = memcmp(c + off, pg_gss_request, 8) == 0;
		if (!ssl && !gss)
			return WALK_BROKEN; /* a startup message or data in the clear */
		/* each request gets one byte: S or G (go ahead) or N (no) */
		if (w->server_off >= slen)
			return WALK_MORE;
		uint8_t answer = s[w->server_off++];
		off += 8;
		w->client_off = off;
		if (ssl && answer == 'S')
			return upgrade_to_tls(w, tls, c, clen, off, w->server_off);
		if (gss && answer == 'G')
			return opaque(w, "PostgreSQL GSSAPI encryption: its protection cannot be read from the wire");
		if (answer != 'N')
			return WALK_BROKEN;
	}
	return WALK_MORE;
}

static enum walk_verdict ldap_walk(struct upgrade_walk *w, struct tls_walk *tls, const uint8_t *c, uint32_t clen,
				   const uint8_t *s, uint32_t slen)
{
	uint32_t op, end, sop, send;
	uint8_t tag = ldap_message(c + w->client_off, clen - w->client_off, &op, &end);

	if (tag == 0xff || (tag && w->client_off + end > clen))
		return WALK_MORE;
	if (tag == 0x77) { /* ExtendedRequest: requestName [0] LDAPOID */
		const uint8_t *q = c + w->client_off + op;
		size_t ol = sizeof(ldap_starttls_oid) - 1;
		if (end - op < 2 + ol || q[0] != 0x80 || q[1] != ol || memcmp(q + 2, ldap_starttls_oid, ol) != 0)
			return WALK_BROKEN;
		/* the ExtendedResponse (0x78): LDAPResult's resultCode first */
		uint8_t stag = ldap_message(s + w->server_off, slen - w->server_off, &sop, &send);
		if (stag == 0xff || (stag && w->server_off + send > slen))
			return WALK_MORE;
		if (stag != 0x78 || send - sop < 3)
			return WALK_BROKEN;
		const uint8_t *rc = s + w->server_off + sop;
		w->client_off += end;
		w->server_off += send;
		if (rc[0] != 0x0a || rc[1] != 1 || rc[2] != 0)
			return WALK_MORE; /* refused: whatever the client sends next is judged */
		return upgrade_to_tls(w, tls, c, clen, w->client_off, w->server_off);
	}
	if (tag == 0x60) { /* BindRequest: version, name, authentication */
		const uint8_t *q = c + w->client_off + op;
		uint32_t n = end - op, o = 0, len, size;
		for (int field = 0; field < 2; field++) { /* version INTEGER, name OCTET STRING */
			if (o + 1 >= n || !ber_length(q + o + 1, n - o - 1, &len, &size))
				return WALK_BROKEN;
			o += 1 + size + len;
		}
		if (o < n && q[o] == 0xa3) { /* sasl: mechanism OCTET STRING */
			uint32_t mo = o + 1;
			if (!ber_length(q + mo, n - mo, &len, &size))
				return WALK_BROKEN;
			mo += size;
			if (mo + 2 <= n && q[mo] == 0x04 && q[mo + 1] < 32 && mo + 2 + q[mo + 1] <= n) {
				const char *m = (const char *)q + mo + 2;
				uint32_t ml = q[mo + 1];
				if ((ml == 6 && !memcmp(m, "GSSAPI", 6)) || (ml == 10 && !memcmp(m, "GSS-SPNEGO", 10)) ||
				    (ml == 10 && !memcmp(m, "DIGEST-MD5", 10)))
					return opaque(w, "LDAP SASL bind whose security layer (Kerberos sign-and-seal, "
							 "DIGEST-MD5) cannot be proven from the wire");
			}
		}
	}
	return WALK_BROKEN; /* a simple bind, a search, any operation in the clear */
}

/* T.123 TPKT: its length, or 0 when not a TPKT. */
static uint32_t tpkt_length(const uint8_t *p, uint32_t n)
{
	return n >= 4 && p[0] == 3 && p[1] == 0 ? (uint32_t)p[2] << 8 | p[3] : 0;
}

static enum walk_verdict rdp_walk(struct upgrade_walk *w, struct tls_walk *tls, const uint8_t *c, uint32_t clen,
				  const uint8_t *s, uint32_t slen)
{
	uint32_t cr = tpkt_length(c, clen), cc = tpkt_length(s, slen);

	if (!cr || clen < cr || slen < 4)
		return WALK_MORE;
	if (!cc || cc < 11)
		return WALK_BROKEN;
	if (slen < cc)
		return WALK_MORE;
	if (s[5] != 0xd0) /* not a Connection Confirm */
		return WALK_BROKEN;
	/* RDP_NEG_RSP (MS-RDPBCGR 2.2.1.2.1) closes the Connection Confirm */
	const uint8_t *neg = s + cc - 8;
	if (cc >= 19 && neg[0] == 2 && rd16le(neg + 2) == 8 && rd32le(neg + 4) != 0)
		return upgrade_to_tls(w, tls, c, clen, cr, cc);
	if (cc >= 19 && neg[0] == 3)
		return WALK_BROKEN; /* RDP_NEG_FAILURE */
	return opaque(w, "RDP Standard Security (its own RC4 layer): not judged");
}

/* The end of an HTTP message's header at or after off, 0 when not yet. */
static uint32_t http_header_end(const uint8_t *h, uint32_t off, uint32_t len)
{
	const uint8_t *e = off < len ? memmem(h + off, len - off, "\r\n\r\n", 4) : NULL;

	return e ? (uint32_t)(e - h) + 4 : 0;
}

static enum walk_verdict connect_walk(struct upgrade_walk *w, struct tls_walk *tls, const uint8_t *c,
				      uint32_t clen, const uint8_t *s, uint32_t slen)
{
	/* The client's CONNECT requests (again after a 407), each header only. */
	while (w->client_off + 8 <= clen && memcmp(c + w->client_off, "CONNECT ", 8) == 0) {
		uint32_t e = http_header_end(c, w->client_off, clen);
		if (!e)
			return WALK_MORE;
		w->client_off = e;
	}
	/* The proxy's answers: status lines with headers, bodies skipped by
	 * Content-Length; the last one before its TLS must be a 2xx. */
	for (uint32_t off = w->server_off; off + 12 <= slen && memcmp(s + off, "HTTP/1.", 7) == 0;) {
		uint32_t e = http_header_end(s, off, slen);
		if (!e)
			break;
		w->positive = s[off + 9] == '2';
		const uint8_t *cl = memmem(s + off, e - off, "\nContent-Length:", 16);
		if (!cl)
			cl = memmem(s + off, e - off, "\ncontent-length:", 16);
		uint32_t body = 0;
		for (uint32_t i = cl ? (uint32_t)(cl - s) + 16 : e; i < e && (s[i] == ' ' || (s[i] >= '0' && s[i] <= '9')); i++)
			if (s[i] != ' ' && body < 1000000)
				body = body * 10 + (uint32_t)(s[i] - '0');
		w->server_off = e + body;
		off = e + body;
	}
	if (w->client_off + 3 > clen)
		return WALK_MORE;
	if (!is_tls_record_start(c, w->client_off, clen))
		return WALK_BROKEN; /* the tunnel carries something else than TLS: judged as the clear request */
	if (!w->positive)
		return WALK_MORE;
	return upgrade_to_tls(w, tls, c, clen, w->client_off, w->server_off);
}

bool upgrade_protocol(uint16_t id)
{
	return id == NDPI_PROTOCOL_MYSQL || id == NDPI_PROTOCOL_POSTGRES || id == NDPI_PROTOCOL_LDAP ||
	       id == NDPI_PROTOCOL_RDP || id == NDPI_PROTOCOL_HTTP_CONNECT;
}

enum walk_verdict upgrade_walk(struct upgrade_walk *w, struct tls_walk *tls, const uint8_t *c, uint32_t clen,
			       const uint8_t *s, uint32_t slen)
{
	if (w->state == UPG_OPAQUE)
		return WALK_DONE;
	if (w->agreed)
		return upgrade_to_tls(w, tls, c, clen, w->tls_client, w->tls_server);
	switch (w->proto) {
	case NDPI_PROTOCOL_MYSQL: return mysql_walk(w, tls, c, clen, s, slen);
	case NDPI_PROTOCOL_POSTGRES: return postgres_walk(w, tls, c, clen, s, slen);
	case NDPI_PROTOCOL_LDAP: return ldap_walk(w, tls, c, clen, s, slen);
	case NDPI_PROTOCOL_RDP: return rdp_walk(w, tls, c, clen, s, slen);
	case NDPI_PROTOCOL_HTTP_CONNECT: return connect_walk(w, tls, c, clen, s, slen);
	}
	return WALK_BROKEN;
}

/* ---- STUN and DTLS on one 5-tuple (RFC 7983) ------------------------------- */

/* A STUN message (RFC 5389 6): top bits 00, the magic cookie, a length that
 * fills the datagram in 4-byte units. */
bool stun_message(const uint8_t *p, uint32_t n)
{
	return n >= 20 && (p[0] & 0xc0) == 0 && rd32(p + 4) == 0x2112a442u && 20u + rd16(p + 2) == n &&
	       (rd16(p + 2) & 3) == 0;
}

/* A DTLS record header (first byte 20-63 in RFC 7983's split: a content
 * type 20-25 here), a DTLS version and a length within the datagram. */
bool dtls_record_start(const uint8_t *p, uint32_t n)
{
	return n >= 13 && p[0] >= 20 && p[0] <= 25 && p[1] == 0xfe && (p[2] == 0xff || p[2] == 0xfd || p[2] == 0xfc) &&
	       13u + rd16(p + 11) <= n;
}

/* ---- SSH protocol 1 -------------------------------------------------------- */

/*
 * SSH-1 (a client banner "SSH-1.x", x not 99) encrypts after the client's
 * SSH_CMSG_SESSION_KEY, with ciphers (DES, 3DES, Blowfish, RC4, IDEA) and a
 * CRC-32 "integrity" check that are broken by design: `weak' at best.  The
 * proof mirrors SSH-2's and TLS's: the server's SSH_SMSG_PUBLIC_KEY, then
 * the client's SESSION_KEY naming a cipher, then the client's next packet
 * (after its 4-byte length, the only clear field) looking like ciphertext.
 * A SESSION_KEY with cipher "none", or readable bytes after it, is
 * cleartext.  A packet: length (of type, data and CRC), 8 - length % 8
 * bytes of padding, type, data, CRC-32.  off[0] and off[1] are where each
 * side's encrypted packets begin, for the watch.
 */
bool ssh1_banner(const uint8_t *c, uint32_t clen)
{
	return clen >= 8 && memcmp(c, "SSH-1.", 6) == 0 && memcmp(c + 6, "99", 2) != 0;
}

/* The SSH-1 packet at p: its type, and its total size in *size; 0 while cut
 * short, -1 when not an SSH-1 packet. */
static int ssh1_packet(const uint8_t *p, uint32_t n, uint32_t *size)
{
	if (n < 4)
		return 0;
	uint32_t len = rd32(p), pad = 8 - len % 8;
	if (len < 5 || len > 262144)
		return -1;
	*size = 4 + pad + len;
	return n < 4 + pad + 1 ? 0 : p[4 + pad];
}

/* Past the banner line (and, for the server, lines before it). */
static uint32_t after_banner(const uint8_t *h, uint32_t len)
{
	for (uint32_t off = 0; off + 4 <= len;) {
		uint32_t e = line_end(h, off, len);
		if (!e)
			return 0;
		if (memcmp(h + off, "SSH-", 4) == 0)
			return e;
		off = e;
	}
	return 0;
}

enum walk_verdict ssh1_walk(uint32_t off[2], const uint8_t *c, uint32_t clen, const uint8_t *s, uint32_t slen)
{
	uint32_t cb = after_banner(c, clen < 256 ? clen : 256), sb = after_banner(s, slen), size, csize;
	int t;

	if (!cb || !sb)
		return clen >= 256 && !cb ? WALK_BROKEN : WALK_MORE;
	t = ssh1_packet(s + sb, slen - sb, &size);
	if (t <= 0 || slen - sb < size)
		return t < 0 ? WALK_BROKEN : WALK_MORE;
	if (t != 2) /* SSH_SMSG_PUBLIC_KEY */
		return WALK_BROKEN;
	t = ssh1_packet(c + cb, clen - cb, &csize);
	if (t < 0 || (t > 0 && t != 3)) /* SSH_CMSG_SESSION_KEY first */
		return WALK_BROKEN;
	if (t == 0)
		return WALK_MORE;
	uint32_t pad = 8 - rd32(c + cb) % 8;
	if (clen - cb < 4 + pad + 2)
		return WALK_MORE;
	if (c[cb + 4 + pad + 1] == 0) /* SSH_CIPHER_NONE */
		return WALK_BROKEN;
	uint32_t next = cb + csize;
	if (clen < next || clen - next <= 4)
		return WALK_MORE;
	enum look_result look = look_at(c + next + 4, clen - next - 4);
	if (look == LOOK_PENDING)
		return WALK_MORE;
	if (look == LOOK_NOT_RANDOM)
		return WALK_BROKEN;
	off[0] = next;
	off[1] = sb + size;
	return WALK_DONE;
}

/* ---- IKE's messages in the clear ----------------------------------------- */

/*
 * IKEv2's IKE_SA_INIT (and IKEv1's main and aggressive modes) is a
 * cleartext handshake like TLS's hellos, counted and judged the same way
 * (struct hs_count): key exchange values, nonces, NAT detection hashes,
 * cookies and certificate request hashes are random by definition and
 * judged by hs_random(); proposals, notifications, Vendor IDs and anything
 * else are unproven, and classify.c bounds them with the TLS handshakes'
 * allowance.  Vendor IDs are hashes of 16 to 20 bytes, or short strings
 * ("CISCO-DYNAMIC-ROUTE", 19 bytes, in nDPI's captures); the longest
 * known, Check Point's, is 40: longer is data.  What repeats the side's
 * previous message (a retransmission, a retry after COOKIE or
 * INVALID_KE_PAYLOAD repeats the proposals) carries nothing new and is
 * not counted again.  An Encrypted payload is ciphertext: every window of
 * it judged by look_judge(), like any other.
 */
#define IKE_VENDOR_ID_MAX 64u

enum { IKE_FIELD_UNPROVEN, IKE_FIELD_RANDOM, IKE_FIELD_VENDOR, IKE_FIELD_ENCRYPTED, IKE_FIELD_KE2,
       IKE_FIELD_NOTIFY, IKE_FIELD_FRAGMENT };

/* What a payload's body is, by its type (IKEv2 numbers from 33, IKEv1's below). */
static int ike_payload_field(bool v2, uint8_t type)
{
	if (v2)
		switch (type) {
		case 34: return IKE_FIELD_KE2;        /* KE: group, reserved, value */
		case 38: return IKE_FIELD_NOTIFY;     /* CERTREQ: encoding, then SHA-1 hashes */
		case 40: return IKE_FIELD_RANDOM;     /* Nonce */
		case 41: return IKE_FIELD_NOTIFY;     /* N */
		case 43: return IKE_FIELD_VENDOR;
		case 46: return IKE_FIELD_ENCRYPTED;  /* SK */
		case 53: return IKE_FIELD_FRAGMENT;   /* SKF: fragment number and total, then as SK */
		default: return IKE_FIELD_UNPROVEN;   /* SA, and what IKE_SA_INIT does not carry */
		}
	switch (type) {
	case 4:  /* KE */
	case 8:  /* HASH */
	case 9:  /* SIG */
	case 10: /* NONCE */
	case 20: /* NAT-D */
	case 130: /* NAT-D, draft numbering */
		return IKE_FIELD_RANDOM;
	case 13:
		return IKE_FIELD_VENDOR;
	default:
		return IKE_FIELD_UNPROVEN;
	}
}

/* Ciphertext, window after window as a stream's are judged. */
static bool ike_ciphertext(const uint8_t *p, uint32_t n)
{
	struct look w = {0};

	for (uint32_t i = 0; i < n;) {
		i += look_add(&w, p + i, n - i);
		if (look_judge(&w) == LOOK_NOT_RANDOM)
			return false;
		look_next(&w);
	}
	return true;
}

/* Bytes the side's previous message held too: not counted again. */
static void ike_unproven(const struct ike_walk *w, struct hs_count *hs, const uint8_t *p, uint32_t n)
{
	if (n && w && w->prev && w->prev_len >= n && memmem(w->prev, w->prev_len, p, n))
		hs->unproven -= n;
}

static const char IKE_TEXT[] = "readable bytes in an IKE Encrypted payload";

enum walk_verdict ike_message(struct ike_walk *w, const uint8_t *h, uint32_t n, struct hs_count *hs)
{
	bool v2 = h[17] == 0x20;

	if (!v2 && (h[19] & 1)) { /* IKEv1: the whole body encrypted */
		if (ike_ciphertext(h + 28, n - 28))
			return WALK_DONE;
		hs->broke = hs->broke ? hs->broke : IKE_TEXT;
		return WALK_BROKEN;
	}
	/* A protected message's header and the payloads before its SK are
	 * few bytes; they are counted with it only when it is in the clear. */
	bool encrypted = false;
	for (uint32_t off = 28, next = h[16]; next && off + 4 <= n;) {
		int field = ike_payload_field(v2, (uint8_t)next);
		if (field == IKE_FIELD_ENCRYPTED || field == IKE_FIELD_FRAGMENT) {
			uint32_t len = rd16(h + off + 2), skip = field == IKE_FIELD_FRAGMENT ? 8 : 4;
			if (len < skip || len > n - off)
				break;
			if (!ike_ciphertext(h + off + skip, len - skip)) {
				hs->broke = hs->broke ? hs->broke : IKE_TEXT;
				return WALK_BROKEN;
			}
			encrypted = true;
			break; /* SK is the last payload: the rest is inside it */
		}
		if (rd16(h + off + 2) < 4 || rd16(h + off + 2) > n - off)
			break;
		next = h[off];
		off += rd16(h + off + 2);
	}
	if (encrypted)
		return WALK_DONE;

	hs->clear += n;
	if (w && w->prev && w->prev_len == n && !memcmp(w->prev, h, n))
		return hs->broke ? WALK_BROKEN : WALK_MORE; /* a retransmission: nothing new */
	if (w)
		w->messages++;
	hs->unproven += 28; /* the header: SPIs, message id */
	uint32_t off = 28, next = h[16];
	while (next && off + 4 <= n) {
		uint32_t len = rd16(h + off + 2);
		if (len < 4 || len > n - off)
			break;
		const uint8_t *b = h + off + 4;
		uint32_t blen = len - 4;
		hs->unproven += blen; /* the generic header is the walk's own structure */
		switch (ike_payload_field(v2, (uint8_t)next)) {
		case IKE_FIELD_RANDOM:
			hs_random(hs, b, blen, "an IKE key exchange value, nonce or hash that is not random");
			break;
		case IKE_FIELD_KE2:
			if (blen >= 4) {
				hs->unproven -= 4;
				hs_random(hs, b + 4, blen - 4, "an IKE key exchange value, nonce or hash that is not random");
			}
			break;
		case IKE_FIELD_NOTIFY:
			if (next == 38 && blen >= 1) { /* CERTREQ */
				hs->unproven -= 1;
				hs_random(hs, b + 1, blen - 1, "an IKE certificate request that is not hashes");
			} else if (blen >= 4 && 4u + b[1] <= blen) {
				uint16_t type = rd16(b + 2);
				uint32_t data = 4u + b[1];
				/* NAT_DETECTION_SOURCE_IP, _DESTINATION_IP: SHA-1
				 * hashes; COOKIE: opaque, the responder's secret's */
				if (type == 16388 || type == 16389 || type == 16390) {
					hs->unproven -= data;
					hs_random(hs, b + data, blen - data, "an IKE NAT detection hash or cookie that is not random");
				} else {
					ike_unproven(w, hs, b, blen);
				}
			} else {
				ike_unproven(w, hs, b, blen);
			}
			break;
		case IKE_FIELD_VENDOR:
			if (blen > IKE_VENDOR_ID_MAX && !hs->broke)
				hs->broke = "an IKE Vendor ID longer than implementations send (64 bytes)";
			ike_unproven(w, hs, b, blen);
			break;
		default:
			ike_unproven(w, hs, b, blen);
			break;
		}
		next = h[off];
		off += len;
	}
	if (off < n) /* payloads that do not add up: whatever is left is unproven */
		hs->unproven += n - off;
	if (w && !w->prev)
		w->prev = malloc(IKE_KEEP_MAX); /* once per side; without it, nothing is discounted */
	if (w && w->prev) {
		w->prev_len = n < IKE_KEEP_MAX ? n : IKE_KEEP_MAX;
		memcpy(w->prev, h, w->prev_len);
	}
	return hs->broke ? WALK_BROKEN : WALK_MORE;
}

void ike_walk_free(struct ike_walk *w)
{
	free(w->prev);
	w->prev = NULL;
}
