/*
 * output/community_id.c -- the Community ID v1 flow hash
 * (https://github.com/corelight/community-id-spec), the one Zeek and
 * Suricata write, so that an egressfence event joins their records of the
 * same connection.
 *
 * SHA-1 over: the seed (2 bytes, network order), the two addresses (4 or
 * 16 bytes each), the IP protocol, one zero byte, and for TCP, UDP, SCTP,
 * ICMP and ICMPv6 the two ports (2 bytes each; ICMP: type and code, or
 * the type and its counterpart's type), in an order that does not depend on
 * which end sent first: the lower (address, port) comes first.  The result
 * is "1:" and the digest in base64.
 *
 * Invariants: both directions of a flow give the same id; nothing is
 * allocated.  The input is at most 40 bytes, one SHA-1 block, hashed here:
 * EVP_Digest fetched the algorithm from OpenSSL 3's provider tables and
 * allocated a context for every flow, 5,000 instructions an event (9% of
 * an audit's per-packet instructions on bench-base.pcap).
 */
#include "output.h"

#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

/* The ICMP types that have a counterpart, as the spec's reference
 * implementation maps them (Zeek's ICMP4_counterpart/ICMP6_counterpart);
 * -1 for a one-way type. */
static int icmp_counterpart(uint8_t proto, uint16_t type)
{
	static const uint8_t v4[][2] = {{8, 0}, {0, 8}, {13, 14}, {14, 13}, {15, 16}, {16, 15}, {10, 9}, {17, 18}, {18, 17}};
	static const uint8_t v6[][2] = {{128, 129}, {129, 128}, {133, 134}, {134, 133}, {135, 136}, {136, 135},
					{130, 131}, {131, 130}, {139, 140}, {140, 139}, {144, 145}, {145, 144}};
	const uint8_t(*map)[2] = proto == IPPROTO_ICMP ? v4 : v6;
	size_t n = proto == IPPROTO_ICMP ? sizeof(v4) / sizeof(v4[0]) : sizeof(v6) / sizeof(v6[0]);

	for (size_t i = 0; i < n; i++)
		if (map[i][0] == type)
			return map[i][1];
	return -1;
}

static inline uint32_t rol32(uint32_t x, unsigned n)
{
	return x << n | x >> (32 - n);
}

/* SHA-1 (FIPS 180-4) of a message of at most 55 bytes: one padded block. */
static void sha1_short(const unsigned char *msg, size_t len, unsigned char out[20])
{
	unsigned char blk[64] = {0};
	uint32_t w[80], h[5] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u, 0xc3d2e1f0u};

	memcpy(blk, msg, len);
	blk[len] = 0x80;
	blk[62] = (unsigned char)((len * 8) >> 8);
	blk[63] = (unsigned char)(len * 8);
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)blk[4 * i] << 24 | (uint32_t)blk[4 * i + 1] << 16 | (uint32_t)blk[4 * i + 2] << 8 |
		       blk[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], t;
	int i = 0;
	for (; i < 20; i++)
		t = rol32(a, 5) + ((b & c) | (~b & d)) + e + 0x5a827999u + w[i], e = d, d = c, c = rol32(b, 30), b = a, a = t;
	for (; i < 40; i++)
		t = rol32(a, 5) + (b ^ c ^ d) + e + 0x6ed9eba1u + w[i], e = d, d = c, c = rol32(b, 30), b = a, a = t;
	for (; i < 60; i++)
		t = rol32(a, 5) + ((b & c) | (b & d) | (c & d)) + e + 0x8f1bbcdcu + w[i], e = d, d = c,
		c = rol32(b, 30), b = a, a = t;
	for (; i < 80; i++)
		t = rol32(a, 5) + (b ^ c ^ d) + e + 0xca62c1d6u + w[i], e = d, d = c, c = rol32(b, 30), b = a, a = t;
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
	for (i = 0; i < 5; i++) {
		out[4 * i] = (unsigned char)(h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(h[i] >> 8);
		out[4 * i + 3] = (unsigned char)h[i];
	}
}

static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP || proto == IPPROTO_ICMP ||
	       proto == IPPROTO_ICMPV6;
}

bool community_id_v1(const struct ef_addr *src, uint16_t sport, const struct ef_addr *dst, uint16_t dport,
		     uint8_t proto, uint16_t seed, char out[COMMUNITY_ID_LEN])
{
	unsigned char buf[2 + 16 + 16 + 2 + 4], digest[20];
	size_t alen = src->family == 4 ? 4 : 16, n = 0;
	const uint8_t *a = src->b, *b = dst->b; /* IPv4 in the first 4 bytes (core/flow.h) */
	bool one_way = false;

	if (src->family != dst->family || (src->family != 4 && src->family != 6))
		return false;
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		int peer = icmp_counterpart(proto, sport);
		if (peer < 0)
			one_way = true; /* type and code, in the order seen */
		else
			dport = (uint16_t)peer;
	}
	int c = memcmp(a, b, alen);
	if (!one_way && (c > 0 || (c == 0 && sport > dport))) {
		const uint8_t *t = a;
		uint16_t p = sport;
		a = b, b = t;
		sport = dport, dport = p;
	}
	buf[n++] = (unsigned char)(seed >> 8);
	buf[n++] = (unsigned char)seed;
	memcpy(buf + n, a, alen), n += alen;
	memcpy(buf + n, b, alen), n += alen;
	buf[n++] = proto;
	buf[n++] = 0;
	if (has_ports(proto)) {
		buf[n++] = (unsigned char)(sport >> 8);
		buf[n++] = (unsigned char)sport;
		buf[n++] = (unsigned char)(dport >> 8);
		buf[n++] = (unsigned char)dport;
	}
	_Static_assert(sizeof(buf) <= 55, "one SHA-1 block");
	sha1_short(buf, n, digest);
	memcpy(out, "1:", 2);
	EVP_EncodeBlock((unsigned char *)out + 2, digest, 20); /* 28 characters and a NUL */
	return true;
}
