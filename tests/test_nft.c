/*
 * tests/test_nft.c -- enforce/nft.c without the kernel: which remote
 * addresses the prefilter watches and in which tier (as the policy and the
 * databases would judge them), and the ruleset text `egressfence nft' prints
 * and `egressfence run' loads.  When run as root the kernel is also asked to
 * check each ruleset (libnftables' dry run: nothing is committed).
 *
 * Test databases come from tests/data/make-test-mmdb.pl, whose header tables
 * every network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "enforce/enforce.h"
#include "geodb/geodb.h"

#define TEST_DATA EF_BINARY_DIR "/tests/data/"
#define MAXMIND_DB TEST_DATA "test-maxmind.mmdb"
#define IPLOCATION_DB TEST_DATA "test-iplocation.mmdb"

struct fixture {
	struct policy *policy;
	struct geodb *db;
	struct prefilter *pf;
};

static void load(struct fixture *f, const char *yaml, const char *const *dbs, size_t n_dbs)
{
	struct policy_error perr;
	char err[512] = "";
	size_t n_ov;

	f->policy = policy_load_buffer("policy.yaml", yaml, strlen(yaml), &perr);
	if (!f->policy)
		fail_msg("policy: %s", perr.msg);
	const struct geodb_override *ov = policy_overrides(f->policy, &n_ov);
	f->db = geodb_open(dbs, n_dbs, ov, n_ov, err, sizeof(err));
	if (!f->db)
		fail_msg("geodb: %s", err);
	f->pf = prefilter_build(f->policy, f->db, err, sizeof(err));
	if (!f->pf)
		fail_msg("prefilter: %s", err);
}

static void unload(struct fixture *f)
{
	prefilter_free(f->pf);
	geodb_close(f->db);
	policy_free(f->policy);
}

static enum prefilter_tier tier(const struct fixture *f, const char *addr)
{
	struct ef_addr a;

	if (!ef_addr_parse(addr, &a))
		fail_msg("bad test address %s", addr);
	return prefilter_tier_of(f->pf, &a);
}

static void assert_tier(const struct fixture *f, const char *addr, enum prefilter_tier want)
{
	enum prefilter_tier got = tier(f, addr);

	if (got != want)
		fail_msg("%s: tier %d, expected %d", addr, got, want);
}

/* IPv6 text as a packet carries it: IPv4-mapped stays IPv6. */
static void assert_tier6(const struct fixture *f, const char *addr6, enum prefilter_tier want)
{
	struct ef_addr a = {.family = 6};

	if (inet_pton(AF_INET6, addr6, a.b) != 1)
		fail_msg("bad test address %s", addr6);
	enum prefilter_tier got = prefilter_tier_of(f->pf, &a);
	if (got != want)
		fail_msg("%s: tier %d, expected %d", addr6, got, want);
}

static const char designated_policy[] =
	"networks:\n"
	"  internal: [10.0.0.0/8, \"fc00::/7\"]\n"
	"groups:\n"
	"  designated: [CN, RU]\n"
	"  conforming: [US]\n"
	"rules:\n"
	"  - { name: designated-cleartext, to: \"@designated\", encryption: [cleartext, weak, unknown],"
	" min_bytes_out: 1, action: block }\n"
	"  - { name: designated-any, to: \"@designated\", action: log }\n"
	"  - { name: nonconforming-cleartext, to: \"!@conforming\", encryption: [cleartext, weak],"
	" action: log }\n";

/* Countries a blocking rule names are the block tier; "everything but the
 * conforming" is the log tier, unplaced addresses included, and the
 * conforming stay on the fast path. */
static void tiers_follow_the_rules(void **state)
{
	struct fixture f = {0};
	const char *db = MAXMIND_DB;

	load(&f, designated_policy, &db, 1);
	assert_tier(&f, "198.51.100.7", TIER_BLOCK);    /* CN */
	assert_tier(&f, "192.0.2.200", TIER_BLOCK);     /* RU */
	assert_tier(&f, "2001:db8:1::99", TIER_BLOCK);  /* CN */
	assert_tier(&f, "203.0.113.70", TIER_BLOCK);    /* CN /26 inside a US /24 */
	assert_tier(&f, "203.0.113.5", TIER_NONE);      /* US */
	assert_tier(&f, "203.0.113.200", TIER_NONE);    /* US */
	assert_tier(&f, "2001:db8:2::1", TIER_NONE);    /* US */
	assert_tier(&f, "172.16.5.9", TIER_LOG);        /* DE: not conforming */
	assert_tier(&f, "8.8.8.8", TIER_LOG);           /* no country: not conforming either */
	assert_tier(&f, "2001:db8:ff::1", TIER_LOG);
	unload(&f);
}

/* The inside end of a flow is never its remote end, and addresses that
 * never leave a host or a link are never watched, even by "all but". */
static void inside_and_local_addresses_are_never_watched(void **state)
{
	struct fixture f = {0};
	const char *db = MAXMIND_DB;

	load(&f, designated_policy, &db, 1);
	assert_tier(&f, "10.50.3.4", TIER_NONE); /* CN in the database, but inside */
	assert_tier(&f, "fd00::1", TIER_NONE);
	assert_tier(&f, "127.0.0.1", TIER_NONE);
	assert_tier(&f, "224.0.0.251", TIER_NONE);
	assert_tier(&f, "255.255.255.255", TIER_NONE);
	assert_tier(&f, "169.254.1.1", TIER_NONE);
	assert_tier(&f, "fe80::1", TIER_NONE);
	assert_tier(&f, "ff02::1:ff00:1", TIER_NONE);
	assert_tier(&f, "::1", TIER_NONE);
	unload(&f);
}

/* An override replaces every database's answer; the longest prefix wins. */
static void overrides_carve_and_add(void **state)
{
	struct fixture f = {0};
	const char *db = MAXMIND_DB;
	static const char with_overrides[] =
		"networks:\n"
		"  internal: [10.0.0.0/8]\n"
		"  overrides:\n"
		"    - { cidr: 198.51.100.128/25, country: US }\n"
		"    - { cidr: 198.51.100.192/26, country: RU }\n"
		"    - { cidr: 8.8.8.0/24, country: CN }\n"
		"    - { cidr: \"2001:db8:2::/64\", country: CN }\n"
		"groups:\n"
		"  designated: [CN, RU]\n"
		"rules:\n"
		"  - { name: designated, to: \"@designated\", action: block }\n";
	load(&f, with_overrides, &db, 1);
	assert_tier(&f, "198.51.100.1", TIER_BLOCK);
	assert_tier(&f, "198.51.100.130", TIER_NONE);  /* /25 says US */
	assert_tier(&f, "198.51.100.200", TIER_BLOCK); /* the longer /26 says RU */
	assert_tier(&f, "8.8.8.8", TIER_BLOCK);
	assert_tier(&f, "8.8.9.9", TIER_NONE);
	assert_tier(&f, "2001:db8:2::5", TIER_BLOCK);
	assert_tier(&f, "2001:db8:2:1::5", TIER_NONE);
	assert_int_equal(prefilter_ranges(f.pf, TIER_LOG, 4), 0);
	unload(&f);
}

/* With several databases a remote end has every country any of them gives:
 * listed countries are the union; "all but" keeps an address out only when
 * every database that places it places it in an excepted country. */
static void several_databases(void **state)
{
	struct fixture f = {0};
	const char *dbs[] = {MAXMIND_DB, IPLOCATION_DB};

	load(&f, designated_policy, dbs, 2);
	assert_tier(&f, "203.0.113.70", TIER_BLOCK);  /* CN in one, US in the other */
	assert_tier(&f, "2001:db8:5::1", TIER_BLOCK); /* CN in the second only */
	assert_tier(&f, "203.0.113.5", TIER_NONE);    /* US in both */
	assert_tier(&f, "172.16.5.9", TIER_LOG);      /* DE and FR */
	unload(&f);
}

/*
 * Addresses that carry an IPv4 destination (NAT64 /96, 6to4, IPv4-mapped)
 * are in the tier of that IPv4: the IPv6 sets hold the images of the IPv4
 * ranges.  Teredo and NAT64 64:ff9b:1::/48 go to the block tier whole, for
 * the engine to judge flow by flow.
 */
static void embedded_addresses_take_their_ipv4s_tier(void **state)
{
	struct fixture f = {0};
	const char *db = MAXMIND_DB;

	load(&f, designated_policy, &db, 1);
	/* NAT64 /96: the edges of the CN /24 and of the prefix */
	assert_tier6(&f, "64:ff9b::198.51.100.7", TIER_BLOCK);
	assert_tier6(&f, "64:ff9b::198.51.100.0", TIER_BLOCK);
	assert_tier6(&f, "64:ff9b::198.51.100.255", TIER_BLOCK);
	assert_tier6(&f, "64:ff9b::198.51.99.255", TIER_LOG);   /* no country */
	assert_tier6(&f, "64:ff9b::198.51.101.0", TIER_LOG);
	assert_tier6(&f, "64:ff9b::203.0.113.5", TIER_NONE);    /* US: the fast path */
	assert_tier6(&f, "64:ff9b::203.0.113.70", TIER_BLOCK);  /* the CN /26 in the US /24 */
	assert_tier6(&f, "64:ff9b::172.16.5.9", TIER_LOG);      /* DE */
	assert_tier6(&f, "64:ff9b::", TIER_LOG);                /* 0.0.0.0: placed nowhere */
	assert_tier6(&f, "64:ff9b::ffff:ffff", TIER_LOG);
	assert_tier6(&f, "64:ff9b::10.50.3.4", TIER_NONE);      /* inside, as 10.50.3.4 is */
	assert_tier6(&f, "64:ff9b::1:0:0", TIER_LOG);           /* past the /96: an address of no country */
	/* NAT64 /48: all of it, for the engine to judge (see embed_rest()) */
	assert_tier6(&f, "64:ff9b:1::", TIER_BLOCK);
	assert_tier6(&f, "64:ff9b:1:c633:64:700::", TIER_BLOCK);
	assert_tier6(&f, "64:ff9b:1:cb00:71:500::", TIER_BLOCK);         /* US, u = 0 */
	assert_tier6(&f, "64:ff9b:1:cb00:ff71:500::", TIER_BLOCK);       /* US, u = 0xff */
	assert_tier6(&f, "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", TIER_BLOCK);
	assert_tier6(&f, "64:ff9b:2::", TIER_LOG);                       /* past it: no country */
	/* 6to4: all of it, for the engine to judge (see embed_rest()) */
	assert_tier6(&f, "2002:c633:6400::", TIER_BLOCK);
	assert_tier6(&f, "2002:c633:64ff:ffff:ffff:ffff:ffff:ffff", TIER_BLOCK);
	assert_tier6(&f, "2002:c633:63ff:ffff:ffff:ffff:ffff:ffff", TIER_BLOCK);
	assert_tier6(&f, "2002:cb00:7105::1", TIER_BLOCK);            /* all of it, for the engine (embed_rest()) */
	assert_tier6(&f, "2002:a32:304::", TIER_BLOCK);  /* 10.50.3.4 via a relay: CN in the database */
	/* Teredo, whatever it carries */
	assert_tier6(&f, "2001::", TIER_BLOCK);
	assert_tier6(&f, "2001:0:cb00:7105:8000:63bf:34ff:8efa", TIER_BLOCK);  /* client 203.0.113.5 */
	assert_tier6(&f, "2001:0:ffff:ffff:ffff:ffff:ffff:ffff", TIER_BLOCK);
	/* IPv4-mapped, as in a packet */
	assert_tier6(&f, "::ffff:198.51.100.7", TIER_BLOCK);
	assert_tier6(&f, "::ffff:203.0.113.5", TIER_BLOCK);          /* all of it, for the engine */
	assert_tier6(&f, "::ffff:10.50.3.4", TIER_BLOCK);
	unload(&f);

	/* A policy that lists countries only: nothing is watched for being
	 * unplaced, under NAT64 or not. */
	static const char listed_only[] =
		"networks:\n"
		"  internal: [10.0.0.0/8]\n"
		"groups:\n"
		"  designated: [CN]\n"
		"rules:\n"
		"  - { name: designated, to: \"@designated\", action: block }\n";
	load(&f, listed_only, &db, 1);
	assert_tier6(&f, "64:ff9b::198.51.100.7", TIER_BLOCK);
	assert_tier6(&f, "64:ff9b::8.8.8.8", TIER_NONE);
	assert_tier6(&f, "2002:808:808::", TIER_BLOCK);
	assert_tier6(&f, "2001::", TIER_BLOCK);
	assert_tier6(&f, "64:ff9b:1:808:8:800::", TIER_BLOCK);
	unload(&f);
}

/* Item 11: an address one database places in a conforming country and
 * another places nowhere is watched by a negated `to:'. */
static void address_one_database_leaves_unplaced_is_watched(void **state)
{
	struct fixture f = {0};
	const char *both[] = {MAXMIND_DB, IPLOCATION_DB}, *one = IPLOCATION_DB;

	load(&f, designated_policy, &one, 1);
	assert_tier(&f, "198.18.0.5", TIER_NONE);          /* US, and the only database says so */
	assert_tier6(&f, "64:ff9b::198.18.0.5", TIER_NONE);
	unload(&f);
	load(&f, designated_policy, both, 2);
	assert_tier(&f, "198.18.0.5", TIER_LOG);           /* test-maxmind is silent */
	assert_tier(&f, "2001:db8:6::1", TIER_LOG);
	assert_tier6(&f, "64:ff9b::198.18.0.5", TIER_LOG);
	assert_tier(&f, "203.0.113.5", TIER_NONE);         /* US in both */
	assert_tier6(&f, "64:ff9b::203.0.113.5", TIER_NONE);
	unload(&f);
}

/* ---- what the kernel gets, read back from the ruleset text ---- */

typedef unsigned __int128 u128;

struct text_set {
	u128 lo[1 << 18], hi[1 << 18];
	size_t n;
};

static u128 text_value(const char *s, int family)
{
	uint8_t b[16];
	u128 v = 0;

	if (inet_pton(family == 4 ? AF_INET : AF_INET6, s, b) != 1)
		fail_msg("the ruleset has `%s' in an IPv%d set", s, family);
	for (int i = 0; i < (family == 4 ? 4 : 16); i++)
		v = v << 8 | b[i];
	return v;
}

/* The elements of `set NAME {' as nft reads them: a, a/len, a-b. */
static void read_text_set(const char *text, const char *name, int family, struct text_set *out)
{
	char head[64];
	const char *p, *end;

	out->n = 0;
	snprintf(head, sizeof(head), "\tset %s {\n", name);
	p = strstr(text, head);
	if (!p)
		return;
	end = strstr(p, "\n\t}\n");
	p = strstr(p, "elements = {");
	if (!p || p > end)
		return;
	p += strlen("elements = {");
	while (p < end) {
		char tok[128];
		size_t n = 0;

		while (p < end && (*p == ' ' || *p == ',' || *p == '\n' || *p == '\t'))
			p++;
		if (*p == '}')
			break;
		while (p < end && *p != ',' && *p != ' ' && *p != '\n' && n < sizeof(tok) - 1)
			tok[n++] = *p++;
		tok[n] = 0;
		char *dash = strchr(tok, '-'), *slash = strchr(tok, '/');
		u128 lo, hi;
		if (dash) {
			*dash = 0;
			lo = text_value(tok, family);
			hi = text_value(dash + 1, family);
		} else if (slash) {
			unsigned len = (unsigned)atoi(slash + 1), bits = family == 4 ? 32 : 128;
			*slash = 0;
			lo = text_value(tok, family);
			u128 host = bits - len >= 128 ? ~(u128)0 : ((u128)1 << (bits - len)) - 1;
			hi = lo | host;
		} else {
			lo = hi = text_value(tok, family);
		}
		assert_true(out->n < sizeof(out->lo) / sizeof(out->lo[0]));
		assert_true(lo <= hi);
		if (out->n && lo <= out->hi[out->n - 1])
			fail_msg("set %s: element %s is out of order or overlaps the one before", name, tok);
		out->lo[out->n] = lo;
		out->hi[out->n++] = hi;
	}
}

/* nft keeps interval sets sorted whatever order they come in; the text
 * has them sorted and disjoint already, which read_text_set() checked. */
static bool text_has(const struct text_set *s, u128 v)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->hi[mid] < v)
			lo = mid + 1;
		else if (s->lo[mid] > v)
			hi = mid;
		else
			return true;
	}
	return false;
}

static enum prefilter_tier text_tier(const struct text_set *block, const struct text_set *log, u128 v)
{
	return text_has(block, v) ? TIER_BLOCK : text_has(log, v) ? TIER_LOG : TIER_NONE;
}

static void value_to_addr(u128 v, int family, struct ef_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = (uint8_t)family;
	for (int i = (family == 4 ? 4 : 16) - 1; i >= 0; i--, v >>= 8)
		a->b[i] = (uint8_t)v;
}

#define V6(hi64, lo64) (((u128)(hi64) << 64) | (u128)(lo64))

/* The embedding images of one IPv4 value, and its /48 twin with u = 0x80. */
static size_t images_of(u128 x, u128 *out)
{
	size_t n = 0;

	out[n++] = V6(0x0064ff9b00000000ull, 0) | x;
	out[n++] = V6(0, 0x0000ffff00000000ull) | x;
	out[n++] = V6(0x2002000000000000ull, 0) | x << 80;
	out[n++] = V6(0x2002000000000000ull, 0) | x << 80 | (((u128)1 << 80) - 1);
	out[n++] = V6(0x0064ff9b00010000ull, 0) | (x >> 16) << 64 | (x & 0xffff) << 40;
	out[n++] = V6(0x0064ff9b00010000ull, 0) | (x >> 16) << 64 | (u128)0x80 << 56 | (x & 0xffff) << 40;
	out[n++] = V6(0x2001000000000000ull, 0) | (~x & 0xffffffffu);
	return n;
}

/*
 * prefilter_tier_of() is what the engine asks; the interval sets in the
 * ruleset text are what the kernel matches.  They must give the same
 * answer at every edge: each element's first and last address and their
 * neighbours, in both families, and the images of every IPv4 edge under
 * each embedding, plus each embedding prefix's own first and last address.
 */
static struct gateway_settings settings(enum gateway_mode mode);

static void tier_of_is_the_kernel_sets_answer(void **state)
{
	static struct text_set b4, l4, b6, l6;
	static const u128 prefix_edges[] = {
		V6(0x0064ff9b00000000ull, 0), V6(0x0064ff9b00000000ull, 0xffffffffull),
		V6(0x0064ff9b00000000ull, 0x100000000ull), V6(0x0064ff9affffffffull, ~0ull),
		V6(0x0064ff9b00010000ull, 0), V6(0x0064ff9b0001ffffull, ~0ull), V6(0x0064ff9b00020000ull, 0),
		V6(0x2002000000000000ull, 0), V6(0x2002ffffffffffffull, ~0ull), V6(0x2003000000000000ull, 0),
		V6(0x2001000000000000ull, 0), V6(0x20010000ffffffffull, ~0ull), V6(0x2001000100000000ull, 0),
		V6(0x2000ffffffffffffull, ~0ull), V6(0, 0x0000ffff00000000ull), V6(0, 0x0000ffffffffffffull),
		V6(0, 0x0000fffeffffffffull), V6(0, 0x0001000000000000ull),
	};
	const char *dbs[] = {MAXMIND_DB, IPLOCATION_DB};
	const char *yamls[] = {designated_policy,
			       "networks: { internal: [10.0.0.0/8], overrides: [{ cidr: 8.8.8.0/24, country: RU }] }\n"
			       "rules: [{ name: ru, to: RU, action: block }, { name: cn, to: CN, action: log }]\n"};
	struct gateway_settings g = settings(GATEWAY_GATE);
	size_t checked = 0;

	for (size_t y = 0; y < 2; y++) {
		struct fixture f = {0};
		load(&f, yamls[y], dbs, 2);
		char *text = ruleset_text(f.pf, f.policy, &g, RULESET_CREATE);
		assert_non_null(text);
		read_text_set(text, "block4", 4, &b4);
		read_text_set(text, "log4", 4, &l4);
		read_text_set(text, "block6", 6, &b6);
		read_text_set(text, "log6", 6, &l6);
		assert_int_equal(b4.n, prefilter_ranges(f.pf, TIER_BLOCK, 4));
		assert_int_equal(b6.n, prefilter_ranges(f.pf, TIER_BLOCK, 6));
		assert_true(b4.n > 0 && b6.n > 0);

		for (int family = 4; family <= 6; family += 2) {
			const struct text_set *sets[2] = {family == 4 ? &b4 : &b6, family == 4 ? &l4 : &l6};
			u128 max = family == 4 ? 0xffffffffu : ~(u128)0;
			for (int k = 0; k < 2; k++) {
				for (size_t i = 0; i < sets[k]->n; i++) {
					u128 edges[4] = {sets[k]->lo[i], sets[k]->hi[i], sets[k]->lo[i] - 1,
							 sets[k]->hi[i] + 1};
					for (int e = 0; e < 4; e++) {
						u128 v = edges[e];
						if ((e == 2 && sets[k]->lo[i] == 0) || (e == 3 && sets[k]->hi[i] == max))
							continue;
						u128 probes[8];
						size_t n = 1;
						probes[0] = v;
						if (family == 4)
							n += images_of(v, probes + 1);
						for (size_t j = 0; j < n; j++) {
							int fam = j == 0 ? family : 6;
							struct ef_addr a;
							value_to_addr(probes[j], fam, &a);
							enum prefilter_tier want = fam == 4 ? text_tier(&b4, &l4, probes[j])
											    : text_tier(&b6, &l6, probes[j]);
							enum prefilter_tier got = prefilter_tier_of(f.pf, &a);
							if (got != want) {
								char s[EF_ADDR_STRLEN];
								ef_addr_format(&a, s, sizeof(s));
								fail_msg("%s: prefilter_tier_of %d, the kernel's sets %d", s, got, want);
							}
							checked++;
						}
					}
				}
			}
		}
		for (size_t i = 0; i < sizeof(prefix_edges) / sizeof(prefix_edges[0]); i++) {
			struct ef_addr a;
			value_to_addr(prefix_edges[i], 6, &a);
			assert_int_equal(prefilter_tier_of(f.pf, &a), text_tier(&b6, &l6, prefix_edges[i]));
		}
		free(text);
		unload(&f);
	}
	print_message("%zu addresses checked against the ruleset's sets\n", checked);
}

/* What the prefilter says is never less than what the policy could decide
 * for some flow to that address: the kernel may copy too much, never too
 * little. */
static void prefilter_never_misses_what_the_policy_flags(void **state)
{
	struct fixture f = {0};
	const char *dbs[] = {MAXMIND_DB, IPLOCATION_DB};
	static const char *const probes[] = {
		"198.51.100.1", "198.51.100.255", "203.0.113.0", "203.0.113.63", "203.0.113.64", "203.0.113.127",
		"203.0.113.128", "192.0.2.0", "172.16.5.0", "172.16.6.0", "10.60.0.1", "1.1.1.1",
		"2001:db8:1::", "2001:db8:1:ffff::1", "2001:db8:3::1", "2001:db8:4::1", "2001:db8:6::1", "2a00::1",
		"198.18.0.5", "8.8.8.8",
		/* each embedding of CN, US, DE, unplaced and inside addresses */
		"64:ff9b::198.51.100.1", "64:ff9b::203.0.113.5", "64:ff9b::203.0.113.70", "64:ff9b::172.16.5.1",
		"64:ff9b::198.18.0.5", "64:ff9b::8.8.8.8", "64:ff9b::10.50.0.1", "64:ff9b::10.60.0.1",
		"64:ff9b:1:c633:64:100::", "64:ff9b:1:cb00:71:500::", "64:ff9b:1:cb00:4471:500::",
		"64:ff9b:1:a32:0:100::", "2002:c633:6401::", "2002:cb00:7105::", "2002:a32:1::",
		"2002:c612:5::", "2001:0:cb00:7105:8000:63bf:39cc:9bfe", "2001:0:cb00:7105:8000:63bf:34ff:8efa",
		"::ffff:198.51.100.1", "::ffff:203.0.113.5", "::ffff:10.50.0.1", "::ffff:8.8.8.8",
	};
	struct ef_addr inside;

	ef_addr_parse("10.1.0.2", &inside);
	load(&f, designated_policy, dbs, 2);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		struct ef_addr remote;
		struct ef_geo g;
		enum ef_verdict worst = EF_ALLOW;

		/* as a packet carries it: IPv4-mapped stays IPv6 */
		if (strchr(probes[i], ':')) {
			memset(&remote, 0, sizeof(remote));
			remote.family = 6;
			assert_int_equal(inet_pton(AF_INET6, probes[i], remote.b), 1);
		} else {
			ef_addr_parse(probes[i], &remote);
		}
		if (policy_is_internal(f.policy, &remote))
			continue; /* an inside end, never a remote one (see above) */
		if (remote.family == 6)
			ef_addr_parse("fd00::2", &inside);
		else
			ef_addr_parse("10.1.0.2", &inside);
		geodb_country_of(f.db, &remote, &g);
		for (int e = 0; e < EF_ENC__COUNT; e++) {
			struct policy_decision d;
			struct policy_query q = {.inside = &inside, .remote = &remote, .l4 = 6,
						 .enc = (enum ef_encryption)e, .app = "", .bytes_out = 100, .geo = &g};
			policy_decide(f.policy, &q, &d);
			if (d.verdict > worst)
				worst = d.verdict;
		}
		enum prefilter_tier t = prefilter_tier_of(f.pf, &remote);
		if ((worst == EF_BLOCK && t != TIER_BLOCK) || (worst == EF_LOG && t == TIER_NONE))
			fail_msg("%s: the policy can %s it, the prefilter has tier %d", probes[i],
				 ef_verdict_name(worst), t);
	}
	unload(&f);
}

static struct gateway_settings settings(enum gateway_mode mode)
{
	struct gateway_settings g = {.mode = mode, .nflog_group = 77, .flow_timeout_s = 600,
				     .decide_within_s = 3, .max_flows = 1024, .undecided_rate_kbytes = 32,
				     .undecided_burst_kbytes = 512};
	return g;
}

static bool contains(const char *text, const char *what)
{
	return strstr(text, what) != NULL;
}

/* Asks the kernel to check the text, when we may (root); nothing is
 * committed. */
static void kernel_accepts(const char *text)
{
	char err[1024];
	struct nft_table *t;

	if (geteuid() != 0)
		return;
	t = nft_table_open(true, err, sizeof(err));
	if (!t)
		fail_msg("%s", err);
	if (nft_table_load(t, text, err, sizeof(err)) != 0)
		fail_msg("the kernel refused the ruleset: %s", err);
	nft_table_close(t);
}

/* The create text replaces any earlier table in one transaction, carries
 * the prefilter as interval sets, and in monitor mode capturing on
 * interfaces copies nothing. */
static void monitor_ruleset(void **state)
{
	struct fixture f = {0};
	const char *db = MAXMIND_DB;
	struct gateway_settings g = settings(GATEWAY_MONITOR);
	char yaml[1024];

	snprintf(yaml, sizeof(yaml), "%scapture: { interfaces: [eth1] }\n", designated_policy);
	load(&f, yaml, &db, 1);
	char *text = ruleset_text(f.pf, f.policy, &g, RULESET_CREATE);
	assert_non_null(text);
	assert_true(contains(text, "\ntable inet egressfence\ndelete table inet egressfence\ntable inet egressfence {\n"));
	assert_true(contains(text, "set block4 {"));
	assert_true(contains(text, "198.51.100.0/24"));
	assert_true(contains(text, "2001:db8:1::/48"));
	assert_true(contains(text, "203.0.113.64/26"));
	assert_true(contains(text, "type filter hook forward priority filter - 1; policy accept;"));
	assert_true(contains(text, "type filter hook output priority filter - 1; policy accept;"));
	assert_true(contains(text, "ip daddr @block4 goto tier_block_out4\n"));
	/* the prefilter's way into a tier chain remembers the connection's
	 * tiers in its mark, then goes there */
	assert_true(contains(text, "\t\tgoto block_out4\n\t}\n"));
	assert_true(contains(text, "ct state != related ct direction original ip saddr != @block4 ct mark set ct mark and "
				   "0x1f00ffff or 0x2"));
	assert_true(contains(text, "ct state != related meta nfproto . ct direction . ct mark and 0xe0ff0000 vmap {"));
	assert_true(contains(text, "delete @block_flows4 { ip saddr . ip daddr . meta l4proto . th sport . th dport } goto refuse"));
	assert_true(contains(text, "reject with tcp reset"));
	assert_false(contains(text, "queue-threshold")); /* monitor mode holds and copies nothing */
	assert_false(contains(text, "allow_flows4"));
	assert_false(contains(text, "set log4"));       /* nothing in the kernel needs the log tier */
	kernel_accepts(text);
	free(text);
	unload(&f);
}

/* One chain's rules, from its opening line to its closing brace. */
static const char *chain_body(const char *text, const char *name, size_t *len)
{
	char head[64];
	const char *b, *e;

	snprintf(head, sizeof(head), "\tchain %s {\n", name);
	b = strstr(text, head);
	if (!b)
		fail_msg("no chain %s", name);
	e = strstr(b, "\t}\n");
	assert_non_null(e);
	*len = (size_t)(e - b);
	return b;
}

/* Monitor mode with capture.source nflog (explicit, or by default when no
 * interfaces are listed): every tier chain, both tiers and both
 * directions, ends in a copy to the NFLOG group that accepts, after every
 * rule that refuses, so that a packet a block stopped is never copied (nor
 * counted as having left); nothing is held, and the base chains' fast path
 * copies nothing. */
static void monitor_nflog_ruleset(void **state)
{
	static const char *const chains[] = {"block_out4", "block_in4", "log_out4", "log_in4",
					     "block_out6", "block_in6", "log_out6", "log_in6"};
	static const char copy[] = "\t\tcounter name \"copied\" log prefix \"passed\" group 77 accept\n";
	const char *db = MAXMIND_DB;
	struct gateway_settings g = settings(GATEWAY_MONITOR);
	char yaml[1024];

	for (int explicit = 0; explicit < 2; explicit++) {
		struct fixture f = {0};
		snprintf(yaml, sizeof(yaml), "%s%s", designated_policy, explicit ? "capture: { source: nflog }\n" : "");
		load(&f, yaml, &db, 1);
		assert_int_equal(policy_capture_source(f.policy), CAPTURE_SOURCE_NFLOG);
		char *text = ruleset_text(f.pf, f.policy, &g, RULESET_CREATE);
		assert_non_null(text);
		for (size_t i = 0; i < sizeof(chains) / sizeof(chains[0]); i++) {
			size_t len;
			const char *body = chain_body(text, chains[i], &len);
			const char *c = memmem(body, len, copy, strlen(copy));
			if (!c || c + strlen(copy) != body + len)
				fail_msg("%s does not end in the copy: %.*s", chains[i], (int)len, body);
			const char *refuse = memmem(body, len, "goto refuse", 11);
			assert_non_null(refuse);
			assert_null(memmem(c, (size_t)(body + len - c), "refuse", 6));
			assert_null(memmem(body, len, "drop", 4));
		}
		assert_true(contains(text, "ip saddr @log4 goto tier_log_in4\n"));
		assert_true(contains(text, "ip6 saddr @log6 goto tier_log_in6\n"));
		assert_false(contains(text, "counter name \"held\""));
		assert_false(contains(text, "allow_flows4"));
		size_t len;
		const char *fwd = chain_body(text, "forward", &len);
		assert_null(memmem(fwd, len, "log group", 9));
		char *again = ruleset_text(f.pf, f.policy, &g, RULESET_REPLACE);
		assert_non_null(again);
		assert_true(contains(again, "flush chain inet egressfence log_in4\n"));
		free(again);
		kernel_accepts(text);
		free(text);
		unload(&f);
	}
}

/* Gate mode: payload of undecided flows to the block tier is copied to
 * NFLOG and dropped; a ClientHello, packets without payload and replies
 * pass with a copy; the log tier is copied, never held. */
static void gate_ruleset(void **state)
{
	struct fixture f = {0};
	const char *db = MAXMIND_DB;
	struct gateway_settings g = settings(GATEWAY_GATE);

	load(&f, designated_policy, &db, 1);
	char *text = ruleset_text(f.pf, f.policy, &g, RULESET_CREATE);
	assert_non_null(text);
	assert_true(contains(text, "set log4 {"));
	assert_true(contains(text, "set allow_flows6 {"));
	assert_true(contains(text, "size 1024"));
	/* one ClientHello per connection, bounded by conntrack's accounting */
	assert_true(contains(text, "ct original packets < 6 ct original bytes < 4096 ct mark and 0x04000000 == 0 "
				   "@ih,0,16 0x1603 @ih,40,8 0x01 update @undecided_budget4 { ip saddr timeout 60s limit rate 32 "
				   "kbytes/second burst 512 kbytes } ct mark set ct mark or 0x04000000 counter name \"copied\""));
	assert_true(contains(text, "meta l4proto tcp @ih,0,8 & 0x0 == 0x0 counter name \"held\" log prefix \"held\" group 77 queue-threshold 1 drop"));
	/* decisions move into the connection's mark; a new connection drops stale ones */
	assert_true(contains(text, "ip saddr . ip daddr . meta l4proto . th sport . th dport @allow_flows4 ct mark set ct mark or "
				   "0x01000000 delete @allow_flows4 { ip saddr . ip daddr . meta l4proto . th sport . th dport } "
				   "counter name \"copied\" log prefix \"passed\" group 77 accept"));
	assert_true(contains(text, "meta l4proto tcp ct state new delete @block_flows4 { ip saddr . ip daddr . meta l4proto . th sport . th dport } "
				   "delete @allow_flows4"));
	assert_true(contains(text, "ip daddr . ip saddr . meta l4proto . th dport . th sport @block_flows4 ct mark set ct mark or "
				   "0x02000000"));
	/* a revoke takes the tuple's allow with it (an allow that landed after
	 * the next connection's SYN must not pass that connection) */
	assert_true(contains(text, "ip saddr . ip daddr . meta l4proto . th sport . th dport @revoke_flows4 ct mark set ct mark and "
				   "0xfeffffff delete @revoke_flows4 { ip saddr . ip daddr . meta l4proto . th sport . th dport } "
				   "delete @allow_flows4 { ip saddr . ip daddr . meta l4proto . th sport . th dport }\n"));
	/* unwatched connections are remembered in the conntrack mark, under a
	 * value that changes with every ruleset, so a reload looks them up again */
	const char *mark = strstr(text, "ct mark and 0xe0ff0000 == 0x");
	assert_non_null(mark);
	/* a connection a conntrack helper expected loses the mark it copied
	 * from its announcer before any rule reads the mark */
	const char *expected = strstr(text, "\t\tct state related ct status expected meta l4proto != { icmp, ipv6-icmp } "
					    "ct mark set ct mark and 0x0000ffff\n");
	assert_non_null(expected);
	assert_true(expected < mark);
	assert_true(strstr(text, "jump prefilter") > mark);
	assert_true(contains(text, "ct mark set ct mark and 0x1f00ffff or 0x"));
	char *again = ruleset_text(f.pf, f.policy, &g, RULESET_REPLACE);
	assert_non_null(again);
	char first[48], second[48];
	snprintf(first, sizeof(first), "%.40s", mark);
	snprintf(second, sizeof(second), "%.40s", strstr(again, "ct mark and 0xe0ff0000 == 0x"));
	assert_string_not_equal(first, second);
	free(again);
	/* no rule in the log chains drops */
	const char *log_out = strstr(text, "chain log_out4 {");
	assert_non_null(log_out);
	const char *end = strstr(log_out, "\t}\n");
	assert_null(memmem(log_out, (size_t)(end - log_out), "drop", 4));
	assert_false(contains(text, "engine_alive")); /* fail closed */
	/* "everything but US" reaches into ranges that are not one prefix */
	assert_true(contains(text, "-"));
	kernel_accepts(text);
	free(text);
	unload(&f);
}

/* Every copy to the engine says in its prefix what its rule does with the
 * packet: "passed" on each rule that accepts, "held" on each that drops, so
 * that a gate-mode event counts as sent only what left. */
static void gate_copies_say_whether_their_packet_passed_or_was_held(void **state)
{
	struct fixture f = {0};
	const char *db = MAXMIND_DB;
	struct gateway_settings g = settings(GATEWAY_GATE);
	size_t passed = 0, held = 0;

	load(&f, designated_policy, &db, 1);
	char *text = ruleset_text(f.pf, f.policy, &g, RULESET_CREATE);
	assert_non_null(text);
	assert_false(contains(text, "log group")); /* no copy without its fate */
	for (char *line = text, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = 0;
		if (!strstr(line, " group 77 "))
			continue;
		size_t n = strlen(line);
		bool accept = n > 7 && !strcmp(line + n - 7, " accept"), drop = n > 5 && !strcmp(line + n - 5, " drop");
		assert_true(accept || drop);
		if (accept)
			assert_non_null(strstr(line, "log prefix \"passed\" group 77 accept"));
		else
			assert_non_null(strstr(line, "log prefix \"held\" group 77 queue-threshold 1 drop"));
		passed += accept;
		held += drop;
	}
	/* the TCP options and IP options rules, undecided payload, and the
	 * unbucketed bare segments: held; hellos, SSH's key exchange, replies,
	 * allowed connections and the log tier: passed */
	assert_true(held >= 2 * (1 + 5 + 2));
	assert_true(passed >= 2 * 10);
	free(text);
	unload(&f);
}

/* Gate mode, towards the block tier, before the verdict: every rule of
 * block_out that accepts an undecided connection's packet draws it from
 * its host's budget, as the rule's last test (over the budget, or with the
 * set full, the packet falls through to a hold); mid-stream pickups are
 * held; a SYN's timestamp echo must be 0; SACK-permitted is taken out of
 * SYNs and no SACK layout is left. */
static void gate_undecided_budget(void **state)
{
	struct fixture f = {0};
	const char *db = MAXMIND_DB;
	struct gateway_settings g = settings(GATEWAY_GATE);

	g.undecided_rate_kbytes = 10;
	g.undecided_burst_kbytes = 1000; /* fills again in 101 s: its elements outlive that */
	load(&f, designated_policy, &db, 1);
	char *text = ruleset_text(f.pf, f.policy, &g, RULESET_CREATE);
	assert_non_null(text);
	assert_true(contains(text, "set undecided_budget4 {\n\t\ttype ipv4_addr\n\t\tsize 1024\n\t\tflags dynamic,timeout\n"));
	for (int f6 = 0; f6 < 2; f6++) {
		const char *budget = f6 ? "update @undecided_budget6 { ip6 saddr & ffff:ffff:ffff:ffff:: timeout 101s limit "
					  "rate 10 kbytes/second burst 1000 kbytes } "
					: "update @undecided_budget4 { ip saddr timeout 101s limit rate 10 kbytes/second burst "
					  "1000 kbytes } ";
		const char *chain = strstr(text, f6 ? "chain block_out6 {" : "chain block_out4 {");
		assert_non_null(chain);
		const char *end = strstr(chain, "\t}\n"), *undecided = strstr(chain, "# SSH");
		assert_true(undecided && undecided < end);
		size_t passing = 0;
		for (const char *l = undecided; l < end; l = strchr(l, '\n') + 1) {
			const char *nl = strchr(l, '\n');
			char line[1024];
			snprintf(line, sizeof(line), "%.*s", (int)(nl - l), l);
			if (!strstr(line, " accept") || strstr(line, "@engine_alive"))
				continue;
			passing++;
			const char *b = strstr(line, budget);
			if (!b)
				fail_msg("a rule passes an undecided packet without the budget: %s", line);
			/* nothing tested after it; the marks are set only under it */
			const char *after = b + strlen(budget);
			assert_true(strncmp(after, "ct mark set", 11) == 0 || strncmp(after, "counter name", 12) == 0);
			const char *mark = strstr(line, "ct mark set");
			assert_true(mark == NULL || mark > b);
		}
		assert_int_equal(passing, 6); /* SSH twice, the hello three times, segments without payload */
		/* mid-stream pickups are held */
		assert_non_null(memmem(chain, (size_t)(end - chain), "ct state new tcp flags & syn == 0 counter name \"held\"", 51));
		/* SACK-permitted goes from SYNs, after the layouts looked at them */
		const char *reset = strstr(chain, "tcp flags & syn == syn reset tcp option sack-perm\n");
		assert_true(reset && reset < end && reset > strstr(chain, "jump tcp_options"));
	}
	g.undecided_burst_kbytes = 100;   /* fills again in 11 s: a minute */
	char *again = ruleset_text(f.pf, f.policy, &g, RULESET_REPLACE);
	assert_non_null(again);
	assert_true(contains(again, "{ ip saddr timeout 60s limit rate 10 kbytes/second burst 100 kbytes }"));
	assert_true(contains(again, "flush set inet egressfence undecided_budget4\n"));
	assert_true(contains(again, "flush set inet egressfence undecided_budget6\n"));
	free(again);
	/* a SYN's TSecr is 0, a SYN/ACK's anything: macOS's layout, both ways */
	assert_true(contains(text, "tcp flags & (syn | ack) == syn tcp doff 11 @th,160,32 & 0xffff0000 == 0x02040000 "
				   "@th,192,32 & 0xffffff00 == 0x01030300 @th,224,32 0x0101080a @th,288,32 0x00000000 "
				   "@th,320,32 0x04020000 return\n"));
	assert_true(contains(text, "tcp flags & (syn | ack) == syn | ack tcp doff 11 @th,160,32 & 0xffff0000 == 0x02040000 "
				   "@th,192,32 & 0xffffff00 == 0x01030300 @th,224,32 0x0101080a @th,320,32 0x04020000 return\n"));
	/* no SYN layout with timestamps lets a SYN through without the zero */
	const char *tcp_options = strstr(text, "chain tcp_options {");
	assert_non_null(tcp_options);
	const char *tcp_options_end = strstr(tcp_options, "\t}\n");
	for (const char *l = strstr(tcp_options, "tcp flags & syn == syn"); l && l < tcp_options_end;
	     l = strstr(l + 1, "tcp flags & syn == syn")) {
		const char *nl = strchr(l, '\n');
		assert_null(memmem(l, (size_t)(nl - l), "080a", 4));
	}
	/* no SACK option (kind 5) in any layout */
	assert_null(memmem(tcp_options, (size_t)(tcp_options_end - tcp_options), "0x0101050", 9));
	assert_null(memmem(tcp_options, (size_t)(tcp_options_end - tcp_options), "0x010105", 8));
	kernel_accepts(text);
	free(text);
	unload(&f);
}

/* fail_open: true lets undecided flows through once the engine stops
 * renewing engine_alive; log_prefix adds a kernel-log set for its rule. */
static void fail_open_and_kernel_log(void **state)
{
	static const char yaml[] =
		"fail_open: true\n"
		"groups:\n"
		"  designated: [CN]\n"
		"rules:\n"
		"  - { name: designated-log, to: \"@designated\", action: log, log_prefix: \"ef-designated: \" }\n"
		"  - { name: ru, to: [RU], action: block, block_remote: 60 }\n";
	struct fixture f = {0};
	const char *db = MAXMIND_DB;
	struct gateway_settings g = settings(GATEWAY_GATE);

	load(&f, yaml, &db, 1);
	char *text = ruleset_text(f.pf, f.policy, &g, RULESET_CREATE);
	assert_non_null(text);
	assert_true(contains(text, "set engine_alive {"));
	assert_true(contains(text, "meta nfproto != @engine_alive accept"));
	assert_true(contains(text, "set klog0_4 {"));
	assert_true(contains(text, "log prefix \"ef-designated: \""));
	assert_false(contains(text, "klog1_4"));
	kernel_accepts(text);
	free(text);
	unload(&f);
}

/* The replace text keeps the decision sets: it declares, flushes the
 * prefilter sets and the chains, and never deletes the table. */
static void replace_ruleset_keeps_decisions(void **state)
{
	struct fixture f = {0};
	const char *db = MAXMIND_DB;
	struct gateway_settings g = settings(GATEWAY_GATE);

	load(&f, designated_policy, &db, 1);
	char *text = ruleset_text(f.pf, f.policy, &g, RULESET_REPLACE);
	assert_non_null(text);
	assert_false(contains(text, "delete table"));
	assert_true(contains(text, "flush set inet egressfence block4\n"));
	assert_true(contains(text, "flush set inet egressfence log6\n"));
	assert_true(contains(text, "flush chain inet egressfence block_out4\n"));
	assert_false(contains(text, "flush set inet egressfence allow_flows4"));
	assert_false(contains(text, "flush set inet egressfence block_flows4"));
	free(text);
	unload(&f);
}

/* A policy that watches nothing still makes a valid ruleset with empty
 * sets: everything takes the fast path. */
static void nothing_watched(void **state)
{
	static const char yaml[] = "rules:\n  - { name: us, to: [US], action: allow }\n";
	struct fixture f = {0};
	const char *db = MAXMIND_DB;
	struct gateway_settings g = settings(GATEWAY_GATE);

	load(&f, yaml, &db, 1);
	assert_tier(&f, "198.51.100.7", TIER_NONE);
	assert_int_equal(prefilter_ranges(f.pf, TIER_BLOCK, 4), 0);
	char *text = ruleset_text(f.pf, f.policy, &g, RULESET_CREATE);
	assert_non_null(text);
	kernel_accepts(text);
	free(text);
	unload(&f);
}

/* gateway.flowtable: a flowtable on the listed devices; only the forward
 * hook's unwatched TCP/UDP connections are added to it (watched ones stay
 * copied to the engine); a replace deletes it after flushing the chains
 * that use it and declares it again, so a reload sends offloaded
 * connections back through the new rules.  Without the key, none of it. */
static void flowtable_for_unwatched_only(void **state)
{
	struct fixture f = {0};
	const char *db = MAXMIND_DB;
	struct gateway_settings g = settings(GATEWAY_GATE);

	load(&f, designated_policy, &db, 1);
	char *plain = ruleset_text(f.pf, f.policy, &g, RULESET_REPLACE);
	assert_non_null(plain);
	assert_false(contains(plain, "flowtable"));
	assert_false(contains(plain, "flow add"));
	free(plain);

	snprintf(g.flowtable[0], sizeof(g.flowtable[0]), "in0");
	snprintf(g.flowtable[1], sizeof(g.flowtable[1]), "us0");
	g.n_flowtable = 2;
	char *text = ruleset_text(f.pf, f.policy, &g, RULESET_CREATE);
	assert_non_null(text);
	assert_true(contains(text, "\tflowtable ft {\n\t\thook ingress priority filter\n\t\tdevices = { \"in0\", \"us0\" }\n\t}\n"));
	const char *fwd = strstr(text, "chain forward {"), *out = strstr(text, "chain output {");
	assert_non_null(fwd);
	assert_non_null(out);
	const char *add = strstr(text, "flow add @ft");
	assert_non_null(add);
	assert_true(add > fwd && add < out); /* forward only: local traffic cannot be offloaded */
	assert_null(strstr(add + 1, "flow add @ft"));
	/* the unwatched mark, and TCP/UDP: the kernel offloads nothing else */
	const char *line = add;
	while (line > text && line[-1] != '\n')
		line--;
	assert_true(contains(line, "ct mark and 0xe0ff0000 == 0x"));
	assert_true(strstr(line, "meta l4proto { tcp, udp } flow add @ft accept\n") == add - strlen("meta l4proto { tcp, udp } "));
	free(text);

	char *again = ruleset_text(f.pf, f.policy, &g, RULESET_REPLACE);
	assert_non_null(again);
	const char *flush = strstr(again, "flush chain inet egressfence forward\n");
	const char *del = strstr(again, "delete flowtable inet egressfence ft\n");
	assert_non_null(flush);
	assert_non_null(del);
	assert_true(del > flush);
	const char *redeclared = strstr(del, "\tflowtable ft {");
	assert_non_null(redeclared);
	assert_true(strstr(redeclared, "flow add @ft") != NULL);
	free(again);
	unload(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tiers_follow_the_rules),
		cmocka_unit_test(inside_and_local_addresses_are_never_watched),
		cmocka_unit_test(overrides_carve_and_add),
		cmocka_unit_test(several_databases),
		cmocka_unit_test(embedded_addresses_take_their_ipv4s_tier),
		cmocka_unit_test(address_one_database_leaves_unplaced_is_watched),
		cmocka_unit_test(tier_of_is_the_kernel_sets_answer),
		cmocka_unit_test(prefilter_never_misses_what_the_policy_flags),
		cmocka_unit_test(monitor_ruleset),
		cmocka_unit_test(monitor_nflog_ruleset),
		cmocka_unit_test(gate_ruleset),
		cmocka_unit_test(gate_copies_say_whether_their_packet_passed_or_was_held),
		cmocka_unit_test(fail_open_and_kernel_log),
		cmocka_unit_test(replace_ruleset_keeps_decisions),
		cmocka_unit_test(nothing_watched),
		cmocka_unit_test(flowtable_for_unwatched_only),
		cmocka_unit_test(gate_undecided_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
