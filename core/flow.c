/*
 * core/flow.c -- parsing and naming of the shared vocabulary in flow.h.
 * Nothing here allocates; every function is safe on any input.
 */
#include "flow.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool ef_addr_parse(const char *s, struct ef_addr *out)
{
	uint8_t buf[16];

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, buf) == 1) {
		out->family = 4;
		memcpy(out->b, buf, 4);
		return true;
	}
	if (inet_pton(AF_INET6, s, buf) == 1) {
		if (memcmp(buf, v4_mapped_prefix, 12) == 0) {
			out->family = 4;
			memcpy(out->b, buf + 12, 4);
		} else {
			out->family = 6;
			memcpy(out->b, buf, 16);
		}
		return true;
	}
	return false;
}

bool ef_listen_parse(const char *s, struct ef_addr *addr, uint16_t *port)
{
	char host[EF_ADDR_STRLEN + 2];
	const char *colon = strrchr(s, ':'), *p;
	size_t n;
	unsigned long v = 0;

	if (!colon || !colon[1] || strlen(colon + 1) > 5)
		return false;
	for (p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	n = (size_t)(colon - s);
	/* IPv6 in brackets, so that the port's colon cannot be read as the address's */
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	} else if (memchr(s, ':', n)) {
		return false;
	}
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, s, n);
	host[n] = 0;
	if (!ef_addr_parse(host, addr))
		return false;
	*port = (uint16_t)v;
	return true;
}

void ef_addr_format(const struct ef_addr *a, char *buf, size_t len)
{
	if (a->family == 4 && len >= 16) {
		/* inet_ntop goes through sprintf; this runs once per event */
		char *o = buf;
		for (int i = 0; i < 4; i++) {
			unsigned v = a->b[i];
			if (v >= 100)
				*o++ = (char)('0' + v / 100);
			if (v >= 10)
				*o++ = (char)('0' + v / 10 % 10);
			*o++ = (char)('0' + v % 10);
			*o++ = i < 3 ? '.' : 0;
		}
		return;
	}
	if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->b, buf, (socklen_t)len) && len)
		buf[0] = 0;
}

static unsigned addr_bits(const struct ef_addr *a)
{
	return a->family == 4 ? 32 : 128;
}

/* True when a and b agree on their first `prefix` bits. */
static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

bool ef_cidr_parse(const char *s, struct ef_cidr *out)
{
	char host[64];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long prefix;

	if (hl == 0 || hl >= sizeof(host))
		return false;
	memcpy(host, s, hl);
	host[hl] = 0;
	if (!ef_addr_parse(host, &out->addr))
		return false;
	if (!slash) {
		out->prefix = (uint8_t)addr_bits(&out->addr);
		return true;
	}
	char *end;
	if (slash[1] < '0' || slash[1] > '9')
		return false;
	prefix = strtoul(slash + 1, &end, 10);
	if (*end || prefix > addr_bits(&out->addr))
		return false;
	/* A v4-mapped network written in IPv6 notation counts its prefix over
	 * 128 bits; bring it to the IPv4 scale. */
	if (out->addr.family == 4 && strchr(host, ':')) {
		if (prefix < 96)
			return false;
		prefix -= 96;
	}
	out->prefix = (uint8_t)prefix;
	struct ef_addr masked = {.family = out->addr.family};
	unsigned whole = out->prefix / 8, rest = out->prefix % 8;
	memcpy(masked.b, out->addr.b, whole);
	if (rest)
		masked.b[whole] = (uint8_t)(out->addr.b[whole] & (0xff << (8 - rest)));
	return memcmp(&masked, &out->addr, sizeof(masked)) == 0;
}

bool ef_cidr_contains(const struct ef_cidr *c, const struct ef_addr *a)
{
	return c->addr.family == a->family && prefix_equal(c->addr.b, a->b, c->prefix);
}

void ef_cidr_format(const struct ef_cidr *c, char *buf, size_t len)
{
	char host[EF_ADDR_STRLEN];

	ef_addr_format(&c->addr, host, sizeof(host));
	snprintf(buf, len, "%s/%u", host, c->prefix);
}

static const char *const encryption_names[EF_ENC__COUNT] = {
	[EF_ENC_UNKNOWN] = "unknown",
	[EF_ENC_CLEARTEXT] = "cleartext",
	[EF_ENC_WEAK] = "weak",
	[EF_ENC_ENCRYPTED] = "encrypted",
};

const char *ef_encryption_name(enum ef_encryption e)
{
	return (unsigned)e < EF_ENC__COUNT ? encryption_names[e] : "unknown";
}

bool ef_encryption_parse(const char *s, enum ef_encryption *out)
{
	for (int i = 0; i < EF_ENC__COUNT; i++) {
		if (strcmp(s, encryption_names[i]) == 0) {
			*out = (enum ef_encryption)i;
			return true;
		}
	}
	return false;
}

static const char *const verdict_names[] = {"allow", "log", "block"};

const char *ef_verdict_name(enum ef_verdict v)
{
	return (unsigned)v <= EF_BLOCK ? verdict_names[v] : "block";
}

bool ef_verdict_parse(const char *s, enum ef_verdict *out)
{
	for (int i = 0; i <= EF_BLOCK; i++) {
		if (strcmp(s, verdict_names[i]) == 0) {
			*out = (enum ef_verdict)i;
			return true;
		}
	}
	return false;
}

const char *const ef_local_scope_cidrs[] = {
	"0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "255.255.255.255/32",
	"::/128", "::1/128", "fe80::/10", "ff00::/8",
};
const size_t ef_n_local_scope_cidrs = sizeof(ef_local_scope_cidrs) / sizeof(ef_local_scope_cidrs[0]);

/* The list above, read from the bytes: this runs once per flow, where
 * parsing nine prefixes would cost more than the rest of the judgement.
 * tests/test_policy.c checks the two agree at every prefix's edges. */
bool ef_addr_stays_local(const struct ef_addr *a)
{
	const uint8_t *b = a->b;

	if (a->family == 4)
		return b[0] == 0 || b[0] == 127 || (b[0] == 169 && b[1] == 254) || (b[0] & 0xf0) == 224 ||
		       (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255);
	static const uint8_t zero[15];
	if (!memcmp(b, zero, 15) && (b[15] == 0 || b[15] == 1))
		return true;
	return (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || b[0] == 0xff;
}
