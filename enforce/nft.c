/*
 * enforce/nft.c -- the kernel side: the prefilter compiled from the policy
 * and the country databases, the nftables ruleset that uses it, the
 * libnftables context that loads it, and the nf_tables netlink messages
 * that add decisions to it.
 *
 * The table, `inet egressfence`, has two base chains (forward: the gateway;
 * output: a host that enforces on itself), both at priority filter - 1 with
 * policy accept, so that an accept here never bypasses the host's own
 * firewall and a drop here is final.  Every packet goes through `prefilter':
 *
 *   daddr in block{4,6}  -> block_out   saddr in block{4,6} -> block_in
 *   daddr in log{4,6}    -> log_out     saddr in log{4,6}   -> log_in
 *   anything else        -> accepted: the fast path, two to four interval
 *                           set lookups and nothing else
 *
 * The tier chains first apply decisions.  The engine adds each as an
 * element of a timeout set keyed by the flow, always oriented inside end
 * first (saddr . daddr . l4proto . sport . dport going out, the reverse
 * coming in), and the connection's next packet moves it into the
 * connection's conntrack mark and deletes the element (see CT_ALLOW below):
 * a decision lasts as long as its connection, and a new connection on the
 * same tuple starts undecided.
 *   block_remote, block mark -> `refuse' (TCP reset, or drop);
 *   allow mark (gate) -> accept, with a copy to the engine when the remote
 *   is in the block tier, whose continuous check may take it back.
 * In monitor mode with capture.source nflog, what the decisions let pass
 * in any tier chain is then copied to the engine and accepted: the engine
 * sees watched flows both ways, and no packet a decision refused.
 * Then, in gate mode, undecided flows to the block tier: the connection's
 * one TLS ClientHello (bounded by conntrack's accounting) and SSH's key
 * exchange (bounded the same way, and checked by the engine) pass with a
 * copy to the engine; other payload going out is copied and dropped
 * ("held": TCP sends it again once the flow is released); packets without
 * payload (SYN, ACK, FIN, RST) pass with a copy, a bucket a connection, and
 * all that passes before a verdict draws on a budget of its inside host
 * (put_undecided_out); everything coming in passes with a copy, never
 * held.  The copy is `log prefix "passed" (or "held") group N', its
 * prefix the packet's fate: NFLOG, batched (copy_stmt), a held packet's
 * copy sent at once.  With fail_open, the
 * holding rules are skipped once the engine has stopped renewing
 * `engine_alive'; without it a dead engine leaves the rules in place and
 * undecided payload is dropped.
 *
 * The base chains refer to conntrack (`ct state invalid'), which makes the
 * kernel reassemble IP fragments before them: a non-first fragment has no
 * ports and no payload offset, and would otherwise slip past the rules that
 * look at them.
 *
 * Invariants:
 *  - The prefilter sets are written once per (re)load, as normalised,
 *    disjoint ranges, and never read back.  Decisions are set elements in
 *    nf_tables netlink batches of our own, one transaction per engine
 *    iteration; libnftables never runs on the decision path.
 *  - A reload or a restart that finds the table (RULESET_REPLACE) refills the
 *    prefilter sets and the chains in one transaction and leaves the
 *    decision sets and counters alone.
 *  - Addresses are watched in at most one tier: block wins over log.
 */
#include "enforce.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define TABLE "inet egressfence"
#define COUNTRY_SLOTS (26 * 26)
#define KERNEL_LOG_TIMEOUT_S 60  /* a kernel-log mark the flow never used */
#define ERR_MAX_SHOWN 600        /* of libnftables' message, in err */

typedef unsigned __int128 u128;

/* ---- ranges of addresses -------------------------------------------------- */

/* Inclusive; IPv4 in the low 32 bits. */
struct range {
	u128 lo, hi;
};

struct ranges {
	struct range *v;
	size_t n, cap;
	bool oom;
};

static const u128 family_max[2] = {0xffffffffu, ~(u128)0};

static int fam_index(int family)
{
	return family == 6;
}

static void ranges_push(struct ranges *r, u128 lo, u128 hi)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		struct range *v = realloc(r->v, cap * sizeof(*v));
		if (!v) {
			r->oom = true;
			return;
		}
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (struct range){lo, hi};
}

static void ranges_free(struct ranges *r)
{
	free(r->v);
	*r = (struct ranges){0};
}

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts and merges overlapping and adjacent ranges. */
static void ranges_normalize(struct ranges *r)
{
	size_t o = 0;

	if (r->n < 2)
		return;
	qsort(r->v, r->n, sizeof(*r->v), range_cmp);
	for (size_t i = 1; i < r->n; i++) {
		struct range *last = &r->v[o];
		if (r->v[i].lo <= last->hi || r->v[i].lo == last->hi + 1) {
			if (r->v[i].hi > last->hi)
				last->hi = r->v[i].hi;
		} else {
			r->v[++o] = r->v[i];
		}
	}
	r->n = o + 1;
}

/* Normalised in, normalised out. */
static void ranges_complement(struct ranges *r, u128 max)
{
	struct ranges out = {0};
	u128 next = 0;
	bool done = false;

	for (size_t i = 0; i < r->n && !done; i++) {
		if (r->v[i].lo > next)
			ranges_push(&out, next, r->v[i].lo - 1);
		if (r->v[i].hi >= max)
			done = true;
		else
			next = r->v[i].hi + 1;
	}
	if (!done)
		ranges_push(&out, next, max);
	out.oom |= r->oom;
	ranges_free(r);
	*r = out;
}

/* a -= b; both normalised. */
static void ranges_subtract(struct ranges *a, const struct ranges *b)
{
	struct ranges out = {0};
	size_t j = 0;

	for (size_t i = 0; i < a->n; i++) {
		u128 lo = a->v[i].lo, hi = a->v[i].hi;
		bool gone = false;

		while (j < b->n && b->v[j].hi < lo)
			j++;
		for (size_t k = j; k < b->n && b->v[k].lo <= hi; k++) {
			if (b->v[k].lo > lo)
				ranges_push(&out, lo, b->v[k].lo - 1);
			if (b->v[k].hi >= hi) {
				gone = true;
				break;
			}
			lo = b->v[k].hi + 1;
		}
		if (!gone)
			ranges_push(&out, lo, hi);
	}
	out.oom |= a->oom || b->oom;
	ranges_free(a);
	*a = out;
}

/* a &= b; both normalised. */
static void ranges_intersect(struct ranges *a, const struct ranges *b, u128 max)
{
	struct ranges not_b = {0};

	for (size_t i = 0; i < b->n; i++)
		ranges_push(&not_b, b->v[i].lo, b->v[i].hi);
	not_b.oom |= b->oom;
	ranges_complement(&not_b, max);
	ranges_subtract(a, &not_b);
	ranges_free(&not_b);
}

static u128 addr_value(const struct ef_addr *a)
{
	u128 v = 0;
	int n = a->family == 4 ? 4 : 16;

	for (int i = 0; i < n; i++)
		v = v << 8 | a->b[i];
	return v;
}

static void value_addr(int family, u128 v, struct ef_addr *out)
{
	int n = family == 4 ? 4 : 16;

	memset(out, 0, sizeof(*out));
	out->family = (uint8_t)family;
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		out->b[i] = (uint8_t)v;
}

static void cidr_range(const struct ef_cidr *c, u128 *lo, u128 *hi)
{
	unsigned bits = c->addr.family == 4 ? 32 : 128, host = bits - c->prefix;
	u128 mask = host >= 128 ? ~(u128)0 : ((u128)1 << host) - 1;

	*lo = addr_value(&c->addr) & ~mask;
	*hi = *lo | mask;
}

/* ---- the prefilter ---------------------------------------------------------- */

struct tier_def {
	bool all_but;               /* watches every country but except[] */
	uint64_t bits[(COUNTRY_SLOTS + 63) / 64]; /* listed, or excepted when all_but */
	size_t n_countries;
	ef_country countries[COUNTRY_SLOTS];
	size_t n_regions;           /* ISO 3166-2 regions some rule lists: their */
	ef_region regions[64];      /* networks are watched as well (region sets) */
};

struct tagged_range {
	u128 lo, hi;
	uint8_t tier;
};

struct prefilter {
	struct tier_def def[2];                  /* [0] block, [1] log */
	struct ranges set[2][2];                 /* [tier index][family index] */
	struct tagged_range *lookup[2];          /* both tiers, per family, sorted */
	size_t n_lookup[2];
	size_t n_overrides;
};

static int tier_index(enum prefilter_tier t)
{
	return t == TIER_BLOCK ? 0 : 1;
}

static int country_slot(ef_country c)
{
	int a = (c >> 8) - 'A', b = (c & 0xff) - 'A';

	return a < 0 || a >= 26 || b < 0 || b >= 26 ? -1 : a * 26 + b;
}

static bool tier_watches(const struct tier_def *t, ef_country c)
{
	int s = country_slot(c);
	bool in = s >= 0 && (t->bits[s / 64] >> (s % 64)) & 1;

	return t->all_but ? !in : in;
}

static bool tier_watches_region(const struct tier_def *t, ef_region r)
{
	for (size_t i = 0; r && i < t->n_regions; i++)
		if (t->regions[i] == r)
			return true;
	return false;
}

static void tier_load(struct tier_def *t, const struct policy *p, enum ef_verdict at_least)
{
	t->n_regions = policy_watched_regions(p, at_least, t->regions, sizeof(t->regions) / sizeof(t->regions[0]));
	if (t->n_regions > sizeof(t->regions) / sizeof(t->regions[0]))
		t->n_regions = sizeof(t->regions) / sizeof(t->regions[0]);
	t->n_countries = policy_watched_countries(p, at_least, t->countries, COUNTRY_SLOTS, &t->all_but);
	if (t->n_countries > COUNTRY_SLOTS)
		t->n_countries = COUNTRY_SLOTS;
	for (size_t i = 0; i < t->n_countries; i++) {
		int s = country_slot(t->countries[i]);
		if (s >= 0)
			t->bits[s / 64] |= (uint64_t)1 << (s % 64);
	}
}

/*
 * IPv6 prefixes whose addresses carry an IPv4 destination
 * (geodb_embedded_ipv4()).  Within them an address is judged as its IPv4
 * (and as itself, when a database places it), so the sets hold the images
 * of the IPv4 ranges there, and "no database places it" -- true of all of
 * 64:ff9b::/96 -- is not a reason to watch it.
 */
#define V6(hi64, lo64) (((u128)(hi64) << 64) | (u128)(lo64))
static const struct {
	u128 lo, hi;
} embedding_prefix[] = {
	{V6(0x0064ff9b00000000ull, 0), V6(0x0064ff9b00000000ull, 0xffffffffull)},           /* /96 */
	{V6(0x0064ff9b00010000ull, 0), V6(0x0064ff9b0001ffffull, ~0ull)},                   /* /48 */
	{V6(0x2002000000000000ull, 0), V6(0x2002ffffffffffffull, ~0ull)},                   /* 6to4 */
	{V6(0x2001000000000000ull, 0), V6(0x20010000ffffffffull, ~0ull)},                   /* Teredo */
	{V6(0, 0x0000ffff00000000ull), V6(0, 0x0000ffffffffffffull)},                       /* mapped */
};
#define N_EMBEDDING_PREFIXES (sizeof(embedding_prefix) / sizeof(embedding_prefix[0]))

struct walk_ctx {
	const struct prefilter *pf;
	/* Per database, then folded: what some database places in a watched
	 * country (union), and what this database places in a country an
	 * all-but tier leaves out. */
	struct ranges watched[2][2], unwatched[2][2]; /* [tier][family] */
	/* Watched IPv6 networks a database stores inside an embedding
	 * prefix, clipped to it. */
	struct ranges watched_embedding[2];
};

static void walk_network(const struct ef_cidr *net, ef_country cc, void *ctx)
{
	struct walk_ctx *w = ctx;
	int f = fam_index(net->addr.family);
	u128 lo, hi;

	cidr_range(net, &lo, &hi);
	for (int t = 0; t < 2; t++) {
		const struct tier_def *d = &w->pf->def[t];
		if (tier_watches(d, cc)) {
			if (!d->all_but)
				ranges_push(&w->watched[t][f], lo, hi);
			for (size_t k = 0; f == 1 && k < N_EMBEDDING_PREFIXES; k++)
				if (lo <= embedding_prefix[k].hi && hi >= embedding_prefix[k].lo)
					ranges_push(&w->watched_embedding[t],
						    lo > embedding_prefix[k].lo ? lo : embedding_prefix[k].lo,
						    hi < embedding_prefix[k].hi ? hi : embedding_prefix[k].hi);
		} else if (d->all_but) {
			ranges_push(&w->unwatched[t][f], lo, hi);
		}
	}
}

/* Region sets, built the way the country sets are: a network whose region
 * a tier lists is watched there.  All-but tiers already watch a listed
 * region's whole country (policy_watched_countries()). */
static void walk_region(const struct ef_cidr *net, ef_region region, void *ctx)
{
	struct walk_ctx *w = ctx;
	int f = fam_index(net->addr.family);
	u128 lo, hi;

	cidr_range(net, &lo, &hi);
	for (int t = 0; t < 2; t++) {
		const struct tier_def *d = &w->pf->def[t];
		if (d->all_but || !tier_watches_region(d, region))
			continue;
		ranges_push(&w->watched[t][f], lo, hi);
		for (size_t k = 0; f == 1 && k < N_EMBEDDING_PREFIXES; k++)
			if (lo <= embedding_prefix[k].hi && hi >= embedding_prefix[k].lo)
				ranges_push(&w->watched_embedding[t],
					    lo > embedding_prefix[k].lo ? lo : embedding_prefix[k].lo,
					    hi < embedding_prefix[k].hi ? hi : embedding_prefix[k].hi);
	}
}

static void subtract_cidr(struct prefilter *pf, const struct ef_cidr *c)
{
	struct ranges cut = {0};
	u128 lo, hi;
	int f = fam_index(c->addr.family);

	cidr_range(c, &lo, &hi);
	ranges_push(&cut, lo, hi);
	for (int t = 0; t < 2; t++)
		ranges_subtract(&pf->set[t][f], &cut);
	ranges_free(&cut);
}

static int override_order(const void *a, const void *b)
{
	const struct geodb_override *x = *(const struct geodb_override *const *)a;
	const struct geodb_override *y = *(const struct geodb_override *const *)b;

	if (x->cidr.prefix != y->cidr.prefix)
		return x->cidr.prefix < y->cidr.prefix ? -1 : 1;
	return x < y ? -1 : x > y; /* config order among equals */
}

struct tagged_list {
	struct tagged_range *v;
	size_t n, cap;
};

static bool tagged_push(struct tagged_list *l, u128 lo, u128 hi, uint8_t tier)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct tagged_range *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return false;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct tagged_range){lo, hi, tier};
	return true;
}

/* Removes [lo, hi] from every range in l, splitting where needed. */
static bool tagged_cut(struct tagged_list *l, u128 lo, u128 hi)
{
	size_t n = l->n;

	for (size_t i = 0; i < n; i++) {
		struct tagged_range r = l->v[i];
		if (r.hi < lo || r.lo > hi)
			continue;
		l->v[i].hi = 0, l->v[i].lo = 1; /* emptied: lo > hi */
		if (r.lo < lo && !tagged_push(l, r.lo, lo - 1, r.tier))
			return false;
		if (r.hi > hi && !tagged_push(l, hi + 1, r.hi, r.tier))
			return false;
	}
	return true;
}

/*
 * Overrides replace every database's answer, and the longest prefix wins (as
 * geodb_country_of() decides).  Applied shortest first into a small list of
 * tagged ranges, so that nested overrides resolve there; the big sets then
 * lose every override's network at once and gain each one's tier.
 */
static bool apply_overrides(struct prefilter *pf, struct ranges (*set)[2], const struct policy *p)
{
	size_t n;
	const struct geodb_override *ov = policy_overrides(p, &n);
	const struct geodb_override **order = n ? calloc(n, sizeof(*order)) : NULL;
	struct tagged_list tagged[2] = {{0}};
	struct ranges cut[2] = {{0}};
	bool ok = false;

	if (n && !order)
		return false;
	for (size_t i = 0; i < n; i++)
		order[i] = &ov[i];
	if (n > 1)
		qsort(order, n, sizeof(*order), override_order);
	for (size_t i = 0; i < n; i++) {
		const struct geodb_override *o = order[i];
		int f = fam_index(o->cidr.addr.family);
		uint8_t tier = tier_watches(&pf->def[0], o->country) || tier_watches_region(&pf->def[0], o->region)
				       ? TIER_BLOCK
			       : tier_watches(&pf->def[1], o->country) || tier_watches_region(&pf->def[1], o->region)
				       ? TIER_LOG
				       : TIER_NONE;
		u128 lo, hi;

		cidr_range(&o->cidr, &lo, &hi);
		ranges_push(&cut[f], lo, hi);
		if (!tagged_cut(&tagged[f], lo, hi) || !tagged_push(&tagged[f], lo, hi, tier))
			goto out;
	}
	for (int f = 0; f < 2; f++) {
		ranges_normalize(&cut[f]);
		for (int t = 0; t < 2; t++) {
			ranges_subtract(&set[t][f], &cut[f]);
			for (size_t i = 0; i < tagged[f].n; i++) {
				const struct tagged_range *r = &tagged[f].v[i];
				if (r->lo <= r->hi && r->tier == (t == 0 ? TIER_BLOCK : TIER_LOG))
					ranges_push(&set[t][f], r->lo, r->hi);
			}
			ranges_normalize(&set[t][f]);
		}
	}
	pf->n_overrides = n;
	ok = !cut[0].oom && !cut[1].oom;
out:
	for (int f = 0; f < 2; f++) {
		free(tagged[f].v);
		ranges_free(&cut[f]);
	}
	free(order);
	return ok;
}

static bool build_lookup(struct prefilter *pf)
{
	for (int f = 0; f < 2; f++) {
		size_t n = pf->set[0][f].n + pf->set[1][f].n, k = 0;
		struct tagged_range *v = malloc((n ? n : 1) * sizeof(*v));
		if (!v)
			return false;
		for (int t = 0; t < 2; t++)
			for (size_t i = 0; i < pf->set[t][f].n; i++)
				v[k++] = (struct tagged_range){pf->set[t][f].v[i].lo, pf->set[t][f].v[i].hi,
							       (uint8_t)(t == 0 ? TIER_BLOCK : TIER_LOG)};
		qsort(v, n, sizeof(*v), range_cmp); /* lo, hi lead both structs */
		pf->lookup[f] = v;
		pf->n_lookup[f] = n;
	}
	return true;
}

/*
 * The image of one IPv4 range [lo, hi] under NAT64 /96, pushed into the
 * IPv6 set of its tier: on an IPv6-only network behind NAT64 every IPv4
 * destination looks like this, so its fast path must be as exact as the
 * IPv4 one.  The ranges are those NAT64 addresses reach (inside networks
 * out, as policy_is_internal() says).
 */
static void embed_nat64(struct ranges *v6, u128 lo, u128 hi)
{
	const u128 nat64 = V6(0x0064ff9b00000000ull, 0);

	ranges_push(v6, nat64 | lo, nat64 | hi);
}

/*
 * What the engine judges one flow at a time, in the strictest tier any IPv4
 * range is in:
 *  - Teredo: the client's IPv4 is the last 32 bits, below 64 bits of server,
 *    flags and port that any value may fill, so one IPv4 range is 2^64
 *    ranges of Teredo addresses.
 *  - NAT64 64:ff9b:1::/48: under the /48 layout the IPv4's halves sit on
 *    either side of the u octet, so an IPv4 range's image is one range per
 *    /16 it touches, and the addresses with u != 0 (which a translator may
 *    still deliver) one more per /16: measured on the default policy, 77,000
 *    more block-tier and 90,000 more log-tier ranges, which multiplied the
 *    gate ruleset's load time.  The engine reads the /48 layout exactly.
 *  - 6to4 (deprecated, RFC 7526) and IPv4-mapped addresses (never valid on
 *    the wire, RFC 4291): exact images cost about 78,000 ranges for the
 *    mapped prefix alone and doubled the sets' load time, for traffic a
 *    network should not carry; the engine judges what there is.
 */
static void embed_rest(struct ranges *v6)
{
	for (size_t k = 1; k < N_EMBEDDING_PREFIXES; k++)
		ranges_push(v6, embedding_prefix[k].lo, embedding_prefix[k].hi);
}

static void add_embeddings(struct prefilter *pf, struct ranges nat64[2])
{
	int top = -1;

	for (int t = 0; t < 2; t++) {
		for (size_t i = 0; i < nat64[t].n; i++)
			embed_nat64(&pf->set[t][1], nat64[t].v[i].lo, nat64[t].v[i].hi);
		if (top < 0 && nat64[t].n)
			top = t;
	}
	if (top >= 0)
		embed_rest(&pf->set[top][1]);
	for (int t = 0; t < 2; t++)
		ranges_normalize(&pf->set[t][1]);
	ranges_subtract(&pf->set[1][1], &pf->set[0][1]);
}

static void copy_ranges(struct ranges *to, const struct ranges *from)
{
	for (size_t i = 0; i < from->n; i++)
		ranges_push(to, from->v[i].lo, from->v[i].hi);
	to->oom |= from->oom;
}

struct prefilter *prefilter_build(const struct policy *p, const struct geodb *db, char *err, size_t errlen)
{
	struct prefilter *pf = calloc(1, sizeof(*pf));
	struct walk_ctx w = {0};
	/* all-but tiers: what every database so far leaves unwatched */
	struct ranges unwatched_all[2][2] = {{{0}}};
	/* IPv4 sets the embeddings are images of; [2] is scratch for overrides */
	struct ranges nat64[2] = {{0}};
	size_t n_db = geodb_count(db);

	if (!pf)
		goto oom;
	tier_load(&pf->def[0], p, EF_BLOCK);
	tier_load(&pf->def[1], p, EF_LOG);
	w.pf = pf;
	/* One walk per database serves both tiers.  An address is unwatched by
	 * an all-but tier only when *every* database places it in a country
	 * the tier leaves out: one that places it nowhere leaves it watched,
	 * as the policy judges it (ef_geo.unplaced). */
	for (size_t i = 0; i < n_db; i++) {
		if (geodb_walk(db, i, NULL, 0, walk_network, &w, err, errlen) != 0)
			goto fail;
		if ((pf->def[0].n_regions || pf->def[1].n_regions) &&
		    geodb_walk_regions(db, i, walk_region, &w, err, errlen) != 0)
			goto fail;
		for (int t = 0; t < 2; t++) {
			for (int f = 0; f < 2; f++) {
				ranges_normalize(&w.unwatched[t][f]);
				if (i == 0) {
					unwatched_all[t][f] = w.unwatched[t][f];
				} else {
					ranges_intersect(&unwatched_all[t][f], &w.unwatched[t][f],
							 family_max[f]);
					ranges_free(&w.unwatched[t][f]);
				}
				w.unwatched[t][f] = (struct ranges){0};
			}
		}
	}
	for (int t = 0; t < 2; t++) {
		ranges_normalize(&w.watched_embedding[t]);
		for (int f = 0; f < 2; f++) {
			struct ranges *set = &pf->set[t][f];
			ranges_normalize(&w.watched[t][f]);
			if (!pf->def[t].all_but) {
				*set = w.watched[t][f];
				w.watched[t][f] = (struct ranges){0};
				continue;
			}
			*set = unwatched_all[t][f];
			unwatched_all[t][f] = (struct ranges){0};
			/* Inside an embedding prefix only what a database places
			 * there in a watched country counts for the address itself;
			 * its IPv4's image is added below. */
			for (size_t k = 0; f == 1 && k < N_EMBEDDING_PREFIXES; k++)
				ranges_push(set, embedding_prefix[k].lo, embedding_prefix[k].hi);
			ranges_normalize(set);
			if (f == 1)
				ranges_subtract(set, &w.watched_embedding[t]);
			ranges_complement(set, family_max[f]);
		}
	}
	for (int f = 0; f < 2; f++)
		ranges_subtract(&pf->set[1][f], &pf->set[0][f]);
	/* Traffic between inside networks does not leave, unless an override
	 * places part of them somewhere (a branch office's 10.50.0.0/16 in
	 * Shanghai): take the inside networks out first, then apply the
	 * overrides, as the audit judges such flows (cli/engine.c). */
	for (size_t i = 0;; i++) {
		const struct ef_cidr *c = policy_internal_network(p, i);
		if (!c)
			break;
		subtract_cidr(pf, c);
	}
	if (!apply_overrides(pf, pf->set, p))
		goto oom;
	/* NAT64 addresses are inside when their IPv4 is (policy_is_internal()).
	 * Taken before the never-watched ranges: 64:ff9b::127.0.0.1 does leave
	 * the host, as an IPv6 packet. */
	for (int t = 0; t < 2; t++)
		copy_ranges(&nat64[t], &pf->set[t][0]);
	/* Addresses that never leave a host or a link: no country, no rule
	 * (audit judges them the same way, policy_judge_flow()). */
	for (size_t i = 0; i < ef_n_local_scope_cidrs; i++) {
		struct ef_cidr c;
		ef_cidr_parse(ef_local_scope_cidrs[i], &c);
		subtract_cidr(pf, &c);
	}
	add_embeddings(pf, nat64);
	for (int t = 0; t < 2; t++)
		for (int f = 0; f < 2; f++)
			if (pf->set[t][f].oom)
				goto oom;
	if (!build_lookup(pf))
		goto oom;
	goto done;
oom:
	snprintf(err, errlen, "out of memory compiling the prefilter");
fail:
	prefilter_free(pf);
	pf = NULL;
done:
	for (int t = 0; t < 2; t++) {
		for (int f = 0; f < 2; f++) {
			ranges_free(&w.watched[t][f]);
			ranges_free(&w.unwatched[t][f]);
			ranges_free(&unwatched_all[t][f]);
		}
		ranges_free(&w.watched_embedding[t]);
		ranges_free(&nat64[t]);
	}
	return pf;
}

void prefilter_free(struct prefilter *pf)
{
	if (!pf)
		return;
	for (int t = 0; t < 2; t++)
		for (int f = 0; f < 2; f++)
			ranges_free(&pf->set[t][f]);
	free(pf->lookup[0]);
	free(pf->lookup[1]);
	free(pf);
}

enum prefilter_tier prefilter_tier_of(const struct prefilter *pf, const struct ef_addr *a)
{
	if (a->family != 4 && a->family != 6)
		return TIER_NONE;
	int f = fam_index(a->family);
	const struct tagged_range *v = pf->lookup[f];
	u128 x = addr_value(a);
	size_t lo = 0, hi = pf->n_lookup[f];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].hi < x)
			lo = mid + 1;
		else if (v[mid].lo > x)
			hi = mid;
		else
			return (enum prefilter_tier)v[mid].tier;
	}
	return TIER_NONE;
}

size_t prefilter_ranges(const struct prefilter *pf, enum prefilter_tier t, int family)
{
	if (t == TIER_NONE)
		return 0;
	return pf->set[tier_index(t)][fam_index(family)].n;
}

/* ---- the ruleset text ------------------------------------------------------- */

/* Per address family: the words that differ. */
struct fam_words {
	const char *ip, *addr_type, *x;
};

static const struct fam_words fams[2] = {
	{"ip", "ipv4_addr", "4"},
	{"ip6", "ipv6_addr", "6"},
};

#define FLOW_OUT "%s saddr . %s daddr . meta l4proto . th sport . th dport"
#define FLOW_IN "%s daddr . %s saddr . meta l4proto . th dport . th sport"
#define HOSTS_OUT "%s saddr . %s daddr . meta l4proto"
#define HOSTS_IN "%s daddr . %s saddr . meta l4proto"

static void put_element(FILE *o, int f, const struct range *r)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	struct ef_addr x;
	unsigned bits = f ? 128 : 32;

	value_addr(f ? 6 : 4, r->lo, &x);
	ef_addr_format(&x, a, sizeof(a));
	u128 span = r->hi - r->lo; /* size - 1 */
	if (span == 0) {
		fputs(a, o);
		return;
	}
	/* A whole prefix: span is 2^k - 1 and lo is aligned to it. */
	if ((span & (span + 1)) == 0 && (r->lo & span) == 0) {
		unsigned k = 0;
		for (u128 s = span; s; s >>= 1)
			k++;
		fprintf(o, "%s/%u", a, bits - k);
		return;
	}
	value_addr(f ? 6 : 4, r->hi, &x);
	ef_addr_format(&x, b, sizeof(b));
	fprintf(o, "%s-%s", a, b);
}

static void put_countries(FILE *o, const struct tier_def *d)
{
	char cc[3];

	for (size_t i = 0; i < d->n_countries; i++) {
		ef_country_str(d->countries[i], cc);
		fprintf(o, "%s%s", i ? " " : "", cc);
	}
}

static void put_tier_comment(FILE *o, const struct prefilter *pf, int t)
{
	const struct tier_def *d = &pf->def[t];

	fputs(t == 0 ? "\t# Remote ends some rule may block: " : "\t# Remote ends rules can at most log: ", o);
	if (d->all_but) {
		fputs("every country but ", o);
		if (d->n_countries)
			put_countries(o, d);
		else
			fputs("none", o);
		fputs(", and addresses no database places", o);
	} else if (d->n_countries) {
		put_countries(o, d);
	} else {
		fputs("none", o);
	}
	if (t == 1)
		fputs(" (less the block tier)", o);
	fprintf(o, ";\n\t# networks.internal taken out, then overrides applied (%zu).\n", pf->n_overrides);
}

static void put_tier_set(FILE *o, const struct prefilter *pf, int t, int f, bool elements)
{
	const struct ranges *r = &pf->set[t][f];

	fprintf(o, "\tset %s%s {\n\t\ttype %s\n\t\tflags interval\n", t == 0 ? "block" : "log", fams[f].x,
		fams[f].addr_type);
	if (elements && r->n) {
		fputs("\t\telements = {", o);
		for (size_t i = 0; i < r->n; i++) {
			fputs(i == 0 ? " " : i % 6 == 0 ? ",\n\t\t\t     " : ", ", o);
			put_element(o, f, &r->v[i]);
		}
		fputs(" }\n", o);
	}
	fputs("\t}\n", o);
}

/* What the generator needs to know besides the prefilter. */
struct shape {
	unsigned generation;        /* of this ruleset, for the conntrack mark */
	const struct gateway_settings *g;
	bool gate, fail_open, log_tier;
	/* The engine reads the table's NFLOG copies: gate mode, and monitor
	 * mode with capture.source nflog, whose watched packets are copied
	 * after the decision rules, so that what a block stops is never
	 * counted as having left. */
	bool copies;
	size_t n_rules;
	const struct policy *p;
};

static bool rule_has_kernel_log(const struct shape *s, size_t i)
{
	return policy_rule_log_prefix(s->p, i) != NULL;
}

/*
 * A family's tier chains, in the prefilter's order: where a packet goes
 * when its destination is in the block tier, else its source, else its
 * destination in the log tier, else its source there.  Which exist: the
 * log tier's only when something in the kernel needs the log tier, log_in
 * only when the engine reads the table's copies.
 */
enum { TC_BLOCK_OUT, TC_BLOCK_IN, TC_LOG_OUT, TC_LOG_IN, TC__COUNT };
static const struct {
	const char *name;
	const char *addr, *set; /* the prefilter's lookup that sends a packet there */
} tier_chains[TC__COUNT] = {
	[TC_BLOCK_OUT] = {"block_out", "daddr", "block"},
	[TC_BLOCK_IN] = {"block_in", "saddr", "block"},
	[TC_LOG_OUT] = {"log_out", "daddr", "log"},
	[TC_LOG_IN] = {"log_in", "saddr", "log"},
};

static bool tier_chain_exists(const struct shape *s, int c)
{
	return c == TC_BLOCK_OUT || c == TC_BLOCK_IN || (s->log_tier && (c == TC_LOG_OUT || s->copies));
}

static void put_decision_sets(FILE *o, const struct shape *s, int f)
{
	const char *at = fams[f].addr_type, *x = fams[f].x;
	unsigned n = s->g->max_flows;

	fprintf(o, "\tset block_remote%s {\n\t\ttype %s\n\t\tsize %u\n\t\tflags timeout\n\t}\n", x, at, n);
	fprintf(o, "\tset block_flows%s {\n\t\ttype %s . %s . inet_proto . inet_service . inet_service\n"
		   "\t\tsize %u\n\t\tflags dynamic,timeout\n\t}\n", x, at, at, n);
	fprintf(o, "\tset block_other%s {\n\t\ttype %s . %s . inet_proto\n\t\tsize %u\n\t\tflags dynamic,timeout\n\t}\n",
		x, at, at, n);
	if (s->gate) {
		static const char *const flows[] = {"allow_flows", "grace_flows", "revoke_flows"};
		for (size_t i = 0; i < 3; i++)
			fprintf(o, "\tset %s%s {\n\t\ttype %s . %s . inet_proto . inet_service . inet_service\n"
				   "\t\tsize %u\n\t\tflags dynamic,timeout\n\t}\n", flows[i], x, at, at, n);
		fprintf(o, "\tset allow_other%s {\n\t\ttype %s . %s . inet_proto\n\t\tsize %u\n\t\tflags dynamic,timeout\n\t}\n",
			x, at, at, n);
		/* The token buckets of undecided connections' segments without
		 * payload (put_undecided_out); a bucket outlives its connection
		 * by at most a minute. */
		fprintf(o, "\tset bare_flows%s {\n\t\ttype %s . %s . inet_proto . inet_service . inet_service\n"
			   "\t\tsize %u\n\t\tflags dynamic,timeout\n\t\ttimeout 60s\n\t}\n", x, at, at, n);
		/* The budget of each inside host (put_undecided_out): keyed
		 * on its address, an IPv6 host's /64; each element's timeout
		 * comes with its update. */
		fprintf(o, "\tset undecided_budget%s {\n\t\ttype %s\n\t\tsize %u\n\t\tflags dynamic,timeout\n\t}\n", x, at,
			n);
	}
	for (size_t i = 0; i < s->n_rules; i++)
		if (rule_has_kernel_log(s, i))
			fprintf(o, "\tset klog%zu_%s {\n\t\ttype %s . %s . inet_proto . inet_service . inet_service\n"
				   "\t\tsize 65536\n\t\tflags dynamic,timeout\n\t}\n", i, x, at, at);
}

/* A copy to the engine and the packet's verdict.  A copy looks the same
 * whether its packet passes or is held, so its prefix says which (core/
 * flow.h): what a gate-mode event counts as sent is what passed.  A held
 * packet's copy goes at once (`queue-threshold 1': its verdict waits on
 * the engine, and it flushes the copies queued before it, in order); a
 * passed packet's waits for the NFLOG instance's batch (capture/source.c,
 * open_nflog(): at most 1/100 s), one netlink message for many copies. */
static void copy_stmt(char *buf, size_t len, const struct shape *s, const char *counter, const char *verdict)
{
	bool held = strcmp(verdict, "accept") != 0;

	snprintf(buf, len, "counter name \"%s\" log prefix \"%s\" group %u%s %s", counter,
		 held ? EF_FATE_PREFIX_HELD : EF_FATE_PREFIX_PASSED, s->g->nflog_group, held ? " queue-threshold 1" : "",
		 verdict);
}

static void put_copy(FILE *o, const struct shape *s, const char *counter, const char *verdict)
{
	char stmt[160];

	copy_stmt(stmt, sizeof(stmt), s, counter, verdict);
	fprintf(o, "%s\n", stmt);
}

/*
 * A decision belongs to a connection, not to its 5-tuple: the engine adds
 * it as a set element, and the connection's next packet moves it into the
 * connection's conntrack mark (bits 24-25) and deletes the element.  A new
 * connection (`ct state new') first deletes whatever element its tuple may
 * still have from an earlier connection, so a reused source port meets no
 * old decision, and a decision ends with its conntrack entry (FIN/RST
 * timeouts, or an entry that was never confirmed).
 */
#define CT_ALLOW 0x01000000u
#define CT_BLOCK 0x02000000u
/* Gate mode, undecided flows: the one ClientHello (and one continuation
 * segment when it filled a packet) and SSH's key exchange, each bounded by
 * conntrack's per-connection accounting of the original direction. */
#define CT_HELLO 0x04000000u
#define CT_HELLO_CONT 0x08000000u
#define CT_SSH_KEX 0x10000000u
#define HELLO_MAX_PACKETS 6     /* original-direction packets, SYN and ACK included */
#define HELLO_MAX_BYTES 4096    /* original-direction IP bytes, SYN and ACKs included */
#define HELLO_FULL_PACKET 1200  /* a first segment this long may have one continuation */
#define SSH_KEX_MAX_BYTES 8192  /* original-direction IP bytes before NEWKEYS is judged */
#define UNDECIDED_BARE_BURST 32  /* segments without payload of an undecided connection: at once */
#define UNDECIDED_BARE_RATE 10   /* and then a second */

/* Rules shared by the four tier chains of one family: decisions first. */
static void put_decisions(FILE *o, const struct shape *s, int f, bool out, bool block_tier)
{
	const char *ip = fams[f].ip, *x = fams[f].x;
	char flow[128], hosts[64];
	/* Allowed flows to the block tier stay copied to the engine, whose
	 * continuous check can take the decision back (a rejudged flow). */
	char accept[160];

	snprintf(flow, sizeof(flow), out ? FLOW_OUT : FLOW_IN, ip, ip);
	snprintf(hosts, sizeof(hosts), out ? HOSTS_OUT : HOSTS_IN, ip, ip);
	if (block_tier)
		copy_stmt(accept, sizeof(accept), s, "copied", "accept");
	else
		snprintf(accept, sizeof(accept), "accept");
	/* TCP only: a held datagram leaves its conntrack entry unconfirmed,
	 * so every datagram of an undecided UDP flow is `new' and would
	 * delete the decision it is waiting for.  A datagram flow's decision
	 * moves into its mark with its first packet after the verdict. */
	fprintf(o, "\t\tmeta l4proto tcp ct state new delete @block_flows%s { %s }", x, flow);
	if (s->gate)
		fprintf(o, " delete @allow_flows%s { %s } delete @grace_flows%s { %s } delete @revoke_flows%s { %s }", x,
			flow, x, flow, x, flow);
	fputc('\n', o);
	if (out)
		for (size_t i = 0; i < s->n_rules; i++)
			if (rule_has_kernel_log(s, i))
				fprintf(o, "\t\t%s @klog%zu_%s delete @klog%zu_%s { %s } log prefix \"%s\"\n", flow, i, x,
					i, x, flow, policy_rule_log_prefix(s->p, i));
	if (block_tier)
		fprintf(o, "\t\t%s %s @block_remote%s goto refuse\n", ip, out ? "daddr" : "saddr", x);
	/* A SYN on a connection conntrack still holds: the `reject' of a
	 * refused connection never passes conntrack, so its entry stays
	 * established, and the tuple's next connection arrives in it.  The
	 * decision is dropped from the mark (not the hello or SSH bits): the
	 * new connection's payload is held and judged on its own. */
	fprintf(o, "\t\ttcp flags & (syn | ack) == syn ct mark and 0x%08x != 0 ct mark set ct mark and 0x%08x\n",
		CT_ALLOW | CT_BLOCK, ~(CT_ALLOW | CT_BLOCK));
	fprintf(o, "\t\tct mark and 0x%08x == 0x%08x goto refuse\n", CT_BLOCK, CT_BLOCK);
	fprintf(o, "\t\t%s @block_flows%s ct mark set ct mark or 0x%08x delete @block_flows%s { %s } goto refuse\n",
		flow, x, CT_BLOCK, x, flow);
	fprintf(o, "\t\t%s @block_other%s ct mark set ct mark or 0x%08x delete @block_other%s { %s } goto refuse\n",
		hosts, x, CT_BLOCK, x, hosts);
	if (s->gate) {
		/* The engine ended its flow (idle, or a new connection on the
		 * tuple): the connection is judged anew.  The flow's allow
		 * goes too: it lands after the new connection's SYN cleared
		 * the tuple when the engine read the flow's last packets and
		 * that SYN in one batch, and would pass the new connection's
		 * payload unjudged. */
		fprintf(o, "\t\t%s @revoke_flows%s ct mark set ct mark and 0x%08x delete @revoke_flows%s { %s } "
			   "delete @allow_flows%s { %s }\n",
			flow, x, ~CT_ALLOW, x, flow, x, flow);
		fprintf(o, "\t\tct mark and 0x%08x == 0x%08x %s\n", CT_ALLOW, CT_ALLOW, accept);
		fprintf(o, "\t\t%s @allow_flows%s ct mark set ct mark or 0x%08x delete @allow_flows%s { %s } %s\n", flow,
			x, CT_ALLOW, x, flow, accept);
		fprintf(o, "\t\t%s @allow_other%s ct mark set ct mark or 0x%08x delete @allow_other%s { %s } %s\n", hosts,
			x, CT_ALLOW, x, hosts, accept);
	}
}

/*
 * TCP options towards a block-tier country, in gate mode: only the layouts
 * stacks send pass.  A segment without payload passes before the verdict
 * (the handshake must complete for the engine to see any data), and an
 * allowed connection's segments pass after it; options of kinds nothing
 * defines, known kinds at the wrong length or twice, or bytes after an
 * end-of-list carry up to 40 bytes a segment that no rule would otherwise
 * look at (tests/redteam3, tcp-optsyn: 10 of 10 SYNs with 38 bytes of text
 * reached the server).  nftables tests one option kind per rule and
 * follows the sender's lengths, so instead the options area is matched
 * whole, word by word, against the layouts stacks write (Linux's
 * tcp_options_write() with and without timestamps, SACK or window scaling,
 * and the replies it makes to each; Windows; macOS and iOS; FreeBSD), and
 * data or ACK segments with timestamps.  Anything else is copied to the
 * engine and dropped: a stack that sends other options (MPTCP, Fast Open
 * cookies, TCP-AO or MD5 signatures) cannot reach a block-tier country
 * through the gate.
 * What stays is the values of those options (MSS, window scale,
 * timestamps): numbers a sender chooses, like its sequence numbers, window
 * and IP id, which no passive gate can vouch for.
 *
 * Two of those values are narrowed.  A SYN's timestamp echo (TSecr) is 0
 * (RFC 7323, 3.2: there is nothing to echo yet), so the SYN layouts require
 * it there, and only a SYN/ACK's may take any value (tests/redteam4
 * syn-spray: 8 free bytes a SYN in the two timestamps).  And SACK never
 * reaches the block tier: SACK-permitted is taken out of every SYN and
 * SYN/ACK going there (put_tier_chains: the kernel overwrites it with NOPs,
 * after these layouts matched the SYN as its stack sent it), so no genuine
 * connection with a block-tier end negotiates SACK, and the layouts with
 * SACK blocks are gone: their 24 to 32 bytes of edges a segment are held
 * (tests/redteam4 sack-allowed: 32 bytes of text in every bare ACK of an
 * allowed connection, without bound).  Such a connection recovers from a
 * loss by fast retransmit and timeouts, as stacks did before SACK.
 *
 * Each layout is its 32-bit words as hex, `x' for a byte any value may
 * take, `z' for a byte that is 0 in a SYN and any value in a SYN/ACK; the
 * most frequent, an established connection's timestamps, first.
 */
static const char *const tcp_layouts[] = {
	"0101080a xxxxxxxx xxxxxxxx", /* timestamps */
	"0204xxxx",                                     /* SYN and SYN/ACK: MSS only */
	"0204xxxx 010303xx",                            /* MSS, window scale */
	"0204xxxx 01010402",                            /* MSS, SACK permitted */
	"0204xxxx 01010402 010303xx",                   /* Linux without timestamps */
	"0204xxxx 010303xx 01010402",                   /* Windows */
	"0204xxxx 0402080a xxxxxxxx zzzzzzzz",          /* Linux without window scale */
	"0204xxxx 0101080a xxxxxxxx zzzzzzzz",          /* Linux without SACK or window scale */
	"0204xxxx 0402080a xxxxxxxx zzzzzzzz 010303xx", /* Linux */
	"0204xxxx 0101080a xxxxxxxx zzzzzzzz 010303xx", /* Linux without SACK */
	"0204xxxx 010303xx 0402080a xxxxxxxx zzzzzzzz", /* FreeBSD, Windows with timestamps */
	"0204xxxx 010303xx 0101080a xxxxxxxx zzzzzzzz 04020000", /* macOS, iOS */
};

/* One rule a layout and kind of segment: the data offset, then each word
 * that is not all `x'.  FLAGS is the test of the segment's flags; ZERO
 * says whether `z' bytes must be 0. */
static void put_tcp_layout_rule(FILE *o, const char *layout, const char *flags, bool zero)
{
	size_t words = (strlen(layout) + 1) / 9;

	fprintf(o, "\t\t%s tcp doff %zu", flags, 5 + words);
	for (size_t i = 0; i < words; i++) {
		const char *w = layout + 9 * i;
		uint32_t mask = 0, value = 0;
		for (int b = 0; b < 4; b++) {
			unsigned v = 0;
			bool any = w[2 * b] == 'x' || (w[2 * b] == 'z' && !zero);
			if (!any && w[2 * b] != 'z')
				sscanf(w + 2 * b, "%2x", &v);
			mask = mask << 8 | (any ? 0 : 0xffu);
			value = value << 8 | v;
		}
		size_t bit = 160 + 32 * i;
		if (mask == 0xffffffffu)
			fprintf(o, " @th,%zu,32 0x%08x", bit, value);
		else if (mask)
			fprintf(o, " @th,%zu,32 & 0x%08x == 0x%08x", bit, mask, value);
	}
	fputs(" return\n", o);
}

static void put_tcp_layout(FILE *o, const char *layout)
{
	/* A SYN's options start with its MSS, and only a SYN's do. */
	if (strncmp(layout, "0204", 4)) {
		put_tcp_layout_rule(o, layout, "tcp flags & syn == 0", false);
	} else if (!strchr(layout, 'z')) {
		put_tcp_layout_rule(o, layout, "tcp flags & syn == syn", false);
	} else {
		put_tcp_layout_rule(o, layout, "tcp flags & (syn | ack) == syn", true);
		put_tcp_layout_rule(o, layout, "tcp flags & (syn | ack) == syn | ack", false);
	}
}

static void put_tcp_options_chain(FILE *o, const struct shape *s)
{
	fputs("\tchain tcp_options {\n", o);
	for (size_t i = 0; i < sizeof(tcp_layouts) / sizeof(tcp_layouts[0]); i++)
		put_tcp_layout(o, tcp_layouts[i]);
	fputs("\t\t", o);
	put_copy(o, s, "held", "drop");
	fputs("\t}\n", o);
}

/*
 * Packets towards a block-tier country, in gate mode, that no decision
 * may pass, because a decision is about a connection and these carry
 * bytes beside it or are not what its entry says:
 *  - IPv4 options, IPv6 hop-by-hop or destination options and routing
 *    headers: bytes no rule looks at, on any packet of an allowed
 *    connection too (tests/redteam3 tls6-srh: 1,024 bytes of text a packet
 *    in a spent Segment Routing Header; tests/redteam4: the same with
 *    segments left, which the base chains send here).  Traffic to another
 *    country has no use for them (the captures of nDPI's suite carry
 *    none); a routing header's last segment is judged from the held copy.
 *  - IPv6 AH: conntrack skips it and gives the packet its TCP connection's
 *    entry, but nftables stops there (l4proto ah), so no TCP rule sees it
 *    (tests/redteam4: text in segments after AH on an allowed connection).
 *  - packets conntrack found invalid (a RST or ACK of no connection, out of
 *    the window), bar SYNs and plain RSTs: they have no entry, so no mark
 *    and no count, and came with a new 5-tuple each (tests/redteam4:
 *    20,000 lone RSTs with text in their options).
 *  - ICMP errors RELATED to a connection: they carry its entry and its
 *    decision, and quote whatever their sender put in them.
 *  - TCP segments that are not SYNs in an entry conntrack just made: it
 *    picks a lone ACK up as a connection in mid-stream (tcp_loose), a new
 *    entry and 5-tuple each, with no decision and no bucket of its own
 *    yet (tests/redteam4 ack-port-spray: 20,000 ACKs with 32 bytes of
 *    text each, from ever new ports).  A connection of ours starts with a
 *    SYN; one whose entry conntrack lost (a flush, a timeout) has lost its
 *    decision with it, and its payload is held anyway.
 */
/* Invalid TCP packets held: neither SYNs nor plain RSTs.  A SYN that
 * arrives in a conntrack entry still established (the tuple's refused
 * connection: its `reject' never passed conntrack) is invalid until the
 * server answers it, and the RST with which a client answers the server's
 * challenge ACK to it may be too; held, they left the server's old
 * connection open and the new one retrying (e2e_insider's soak: 14, then
 * 160 events of attempts the client never saw fail).  A SYN meets the SYN
 * layouts; a plain RST carries no options and no payload. */
#define INVALID_NOT_SYN "ct state invalid tcp flags & (syn | rst) == 0"
#define INVALID_RST_OPTIONS "ct state invalid tcp flags & rst == rst tcp doff != 5"
#define PICKUP "ct state new tcp flags & syn == 0"

static void put_ip_options(FILE *o, const struct shape *s, int f)
{
	static const char *const v4[] = {"ip hdrlength != 5", INVALID_NOT_SYN, INVALID_RST_OPTIONS,
					 "ct state invalid meta l4proto != tcp", "meta l4proto icmp ct state related", PICKUP};
	static const char *const v6[] = {"exthdr hbh exists", "exthdr dst exists", "exthdr rt exists", "meta l4proto ah",
					 INVALID_NOT_SYN, INVALID_RST_OPTIONS, "ct state invalid meta l4proto != tcp",
					 "meta l4proto ipv6-icmp ct state related", PICKUP};
	const char *const *tests = f == 0 ? v4 : v6;
	size_t n = f == 0 ? sizeof(v4) / sizeof(v4[0]) : sizeof(v6) / sizeof(v6[0]);

	for (size_t i = 0; i < n; i++) {
		fprintf(o, "\t\t%s ", tests[i]);
		put_copy(o, s, "held", "drop");
	}
}

/*
 * Gate mode, block tier, going out, not decided.
 *
 * What passes here before the verdict (the handshake's segments without
 * payload, the one ClientHello, SSH's key exchange) is bounded per
 * connection, and connections are free: a source port a SYN (tests/
 * redteam4 syn-spray: 20,000 SYNs with 11 bytes of text each, about 150
 * kB/s), the SSH grace's 8192 bytes connection after connection
 * (ssh-many-bulk: 7,240 bytes each, about 272 kB/s).  So every rule that
 * passes something also draws its IP bytes (`meta length') from one token
 * bucket per inside host (`undecided_budget4/6': the source address, an
 * IPv6 host's /64, since an insider has a /64 of addresses to choose
 * from), gateway.undecided_rate kbytes a second; the kernel's byte bucket
 * holds rate + burst kbytes.  The update is the rule's last test, after
 * the others matched and before its `ct mark set': a packet over the budget
 * leaves the connection's marks as they were (its retransmission tries
 * again) and falls through to a rule that holds it, and so does a packet
 * whose update fails because the set is full (tests/redteam4 bucket-full:
 * a rule whose update failed fell through to an accept).  Held packets
 * draw nothing: a genuine connection's held data must not spend the
 * budget its next SYNs need.  An element is renewed by each update and
 * outlives its host's last packet by at least the time its bucket takes
 * to fill again, so dropping it gives nothing away.
 */
static void put_undecided_out(FILE *o, const struct shape *s, int f)
{
	const char *ip = fams[f].ip, *x = fams[f].x;
	const char *hello = "@ih,0,16 0x1603 @ih,40,8 0x01";
	char flow[128], budget[200];
	uint32_t rate = s->g->undecided_rate_kbytes, burst = s->g->undecided_burst_kbytes;
	uint32_t refill_s = (uint32_t)(((uint64_t)rate + burst + rate - 1) / rate);

	if (refill_s < 60)
		refill_s = 60;

	snprintf(flow, sizeof(flow), FLOW_OUT, ip, ip);
	snprintf(budget, sizeof(budget), "update @undecided_budget%s { %s timeout %us limit rate %u kbytes/second burst %u kbytes }",
		 x, f ? "ip6 saddr & ffff:ffff:ffff:ffff::" : "ip saddr", refill_s, rate, burst);
	fputs("\t\t# SSH (the engine saw the server's banner): its key exchange passes, bounded\n", o);
	fprintf(o, "\t\tmeta l4proto tcp ct mark and 0x%08x == 0x%08x ct original bytes < %u %s ", CT_SSH_KEX, CT_SSH_KEX,
		SSH_KEX_MAX_BYTES, budget);
	put_copy(o, s, "copied", "accept");
	fprintf(o, "\t\t%s @grace_flows%s ct original bytes < %u %s ct mark set ct mark or 0x%08x delete @grace_flows%s { %s } ",
		flow, x, SSH_KEX_MAX_BYTES, budget, CT_SSH_KEX, x, flow);
	put_copy(o, s, "copied", "accept");
	fputs("\t\t# one TLS ClientHello per connection, so that the server's hello can be judged\n", o);
	fprintf(o, "\t\tmeta l4proto tcp ct original packets < %u ct original bytes < %u ct mark and 0x%08x == 0 %s "
		   "meta length >= %u %s ct mark set ct mark or 0x%08x ",
		HELLO_MAX_PACKETS, HELLO_MAX_BYTES, CT_HELLO, hello, HELLO_FULL_PACKET, budget, CT_HELLO | CT_HELLO_CONT);
	put_copy(o, s, "copied", "accept");
	fprintf(o, "\t\tmeta l4proto tcp ct original packets < %u ct original bytes < %u ct mark and 0x%08x == 0 %s "
		   "%s ct mark set ct mark or 0x%08x ",
		HELLO_MAX_PACKETS, HELLO_MAX_BYTES, CT_HELLO, hello, budget, CT_HELLO);
	put_copy(o, s, "copied", "accept");
	fprintf(o, "\t\tmeta l4proto tcp ct mark and 0x%08x == 0x%08x ct original bytes < %u @ih,0,16 != 0x1603 "
		   "%s ct mark set ct mark and 0x%08x ",
		CT_HELLO | CT_HELLO_CONT, CT_HELLO | CT_HELLO_CONT, HELLO_MAX_BYTES, budget, ~CT_HELLO_CONT);
	put_copy(o, s, "copied", "accept");
	if (s->fail_open)
		fputs("\t\tmeta nfproto != @engine_alive accept\n", o);
	fputs("\t\t# payload is held: copied to the engine and dropped until the flow is decided\n", o);
	fputs("\t\tmeta l4proto tcp @ih,0,8 & 0x0 == 0x0 ", o);
	put_copy(o, s, "held", "drop");
	/* Segments without payload pass, so that the handshake completes,
	 * but not without end: each carries header values its sender chooses
	 * (sequence and acknowledgement numbers, window, timestamps), and an
	 * undecided connection could send them by the thousand before its
	 * deadline.  Besides the host's budget they pass while a token bucket
	 * a 5-tuple has tokens (a full set of buckets passes none: tests/
	 * redteam4 bucket-fill, when the rule dropped what was over the limit,
	 * filled it and then passed all), not conntrack's count of the
	 * connection's packets: a refused connection's conntrack entry stays
	 * established, the tuple's next connection arrives in it, and its
	 * count with it. */
	fprintf(o, "\t\tmeta l4proto tcp update @bare_flows%s { %s limit rate %u/second burst %u packets } %s ", x, flow,
		UNDECIDED_BARE_RATE, UNDECIDED_BARE_BURST, budget);
	put_copy(o, s, "copied", "accept");
	fputs("\t\t", o);
	put_copy(o, s, "held", "drop");
}

static void put_tier_chains(FILE *o, const struct shape *s, int f)
{
	const char *x = fams[f].x;

	fprintf(o, "\tchain block_out%s {\n", x);
	if (s->gate) { /* before the decisions: allowed connections too */
		fputs("\t\tmeta l4proto tcp tcp doff != 5 jump tcp_options\n", o);
		put_ip_options(o, s, f);
		/* after the layouts matched it as its stack sent it (tcp_layouts) */
		fputs("\t\ttcp flags & syn == syn reset tcp option sack-perm\n", o);
	}
	put_decisions(o, s, f, true, true);
	if (s->gate) {
		put_undecided_out(o, s, f);
	} else if (s->copies) {
		fputs("\t\t", o);
		put_copy(o, s, "copied", "accept");
	}
	fputs("\t}\n", o);
	fprintf(o, "\tchain block_in%s {\n", x);
	put_decisions(o, s, f, false, true);
	if (s->copies) {
		fputs("\t\t", o);
		put_copy(o, s, "copied", "accept");
	}
	fputs("\t}\n", o);
	if (!tier_chain_exists(s, TC_LOG_OUT))
		return;
	fprintf(o, "\tchain log_out%s {\n", x);
	put_decisions(o, s, f, true, false);
	if (s->copies) {
		fputs("\t\t", o);
		put_copy(o, s, "copied", "accept");
	}
	fputs("\t}\n", o);
	if (!tier_chain_exists(s, TC_LOG_IN))
		return;
	fprintf(o, "\tchain log_in%s {\n", x);
	put_decisions(o, s, f, false, false);
	fputs("\t\t", o);
	put_copy(o, s, "copied", "accept");
	fputs("\t}\n", o);
}

/*
 * The prefilter's answer is remembered in each connection's conntrack mark,
 * so that only a connection's first packet pays the interval-set lookups
 * (one to four of them, in sets of 10^4-10^5 ranges: a quarter to half of a
 * gateway's bulk throughput for unwatched traffic; a third to a half of it
 * for a watched connection already allowed, bench/RESULTS-live.md).  Bits
 * 16-23 hold 0x80 | the ruleset's generation, bits 29-31 which tiers the
 * connection's two ends are in:
 *
 *   0 (TIER_NN)  neither end: unwatched, accepted at once;
 *   1 (TIER_NB)  the originator in no tier, the responder in the block tier;
 *   2 (TIER_BN)  the originator in the block tier, the responder in none;
 *   3 (TIER_NL), 4 (TIER_LN)  the same with the log tier.
 *
 * With the packet's conntrack direction that says which tier chain the
 * prefilter would pick for it (a packet going to the block tier: block_out,
 * from it: block_in; ...), and a verdict map keyed by family, direction and
 * mark sends it there in one hash lookup.  A connection with both ends in
 * tiers is not remembered: it is looked up every time, as before.  The
 * generation changes with every ruleset loaded (start, reload, restart): the
 * tier sets are written only when a ruleset is loaded, so a mark of this
 * generation is what the lookups would say now, and an older one never
 * matches.  Only packets of the connection itself are looked at for it (not
 * RELATED ones, which carry the entry of the connection they quote: tests/
 * redteam4 f2-self), and only they are dispatched by the mark.  The other
 * bits of the mark are left to the rest of the firewall.
 */
#define CT_MARK_MASK 0xe0ff0000u
#define CT_OURS 0xffff0000u /* every bit of the mark this table uses */
_Static_assert((CT_MARK_MASK | CT_ALLOW | CT_BLOCK | CT_HELLO | CT_HELLO_CONT | CT_SSH_KEX) == CT_OURS,
	       "CT_OURS is every bit of the mark this table sets");
enum { TIER_NN, TIER_NB, TIER_BN, TIER_NL, TIER_LN };
static unsigned ruleset_generation;

static uint32_t tier_mark(const struct shape *s, unsigned code)
{
	return (uint32_t)code << 29 | (uint32_t)(0x80u | (s->generation & 0x7fu)) << 16;
}

/* The tier chain the prefilter picks for a packet of a connection whose
 * ends are in tiers `code', in its conntrack direction (the originator is
 * the source of the original direction's packets). */
static int tier_chain(unsigned code, bool original)
{
	switch (code) {
	case TIER_NB:
		return original ? TC_BLOCK_OUT : TC_BLOCK_IN;
	case TIER_BN:
		return original ? TC_BLOCK_IN : TC_BLOCK_OUT;
	case TIER_NL:
		return original ? TC_LOG_OUT : TC_LOG_IN;
	default: /* TIER_LN */
		return original ? TC_LOG_IN : TC_LOG_OUT;
	}
}

/* A chain the ruleset lacks (log_in without copies) takes no packet from
 * the map: such a packet goes through the prefilter as before. */
static void put_tier_dispatch(FILE *o, const struct shape *s)
{
	const char *sep = "";

	fprintf(o, "\t\tct state != related meta nfproto . ct direction . ct mark and 0x%08x vmap {", CT_MARK_MASK);
	for (int f = 0; f < 2; f++)
		for (unsigned code = TIER_NB; code <= TIER_LN; code++)
			for (int d = 0; d < 2; d++) {
				int c = tier_chain(code, d == 0);
				if (!tier_chain_exists(s, c))
					continue;
				fprintf(o, "%s\n\t\t\t%s . %s . 0x%08x : goto %s%s", sep, f ? "ipv6" : "ipv4",
					d == 0 ? "original" : "reply", tier_mark(s, code), tier_chains[c].name, fams[f].x);
				sep = ",";
			}
	fputs(" }\n", o);
}

static void put_base_chains(FILE *o, const struct shape *s)
{
	static const char *const hooks[] = {"forward", "output"};
	uint32_t unwatched = tier_mark(s, TIER_NN);

	for (int h = 0; h < 2; h++) {
		fprintf(o, "\tchain %s {\n\t\ttype filter hook %s priority filter - 1; policy accept;\n"
			   "\t\tct state invalid counter\n",
			hooks[h], hooks[h]);
		/* A connection a conntrack helper expected (IRC DCC, FTP data,
		 * SIP media, ... on a host that assigns helpers) starts with a
		 * copy of the mark of the connection that announced it (the
		 * kernel's init_conntrack): that one's tiers, generation and
		 * decisions, not its own (tests/e2e_tier_mark.sh dcc: a DCC offer
		 * on a connection to us or de let cn open a connection on which
		 * the inside host's answers left unheld).  Its packets before the
		 * first reply are RELATED; on them this table's bits are cleared,
		 * so that it is looked up and judged as a connection of its own.
		 * An ICMP error is RELATED too, to the connection it quotes, and
		 * is left alone. */
		fprintf(o, "\t\tct state related ct status expected meta l4proto != { icmp, ipv6-icmp } "
			   "ct mark set ct mark and 0x%08x\n",
			~CT_OURS);
		/* An IPv6 routing header with segments left sends the packet on
		 * past the address the sets see (SRv6: to its last segment),
		 * so no set can place its destination: it is held as towards a
		 * block-tier country, before the unwatched mark is trusted (a
		 * connection's first packet may come without the header). */
		fputs("\t\trt seg-left != 0 goto block_out6\n", o);
		/* IPv4's source routes, the same for a router that honours them
		 * (accept_source_route): the last hop is where the data goes. */
		fputs("\t\tip option lsrr exists goto block_out4\n\t\tip option ssrr exists goto block_out4\n", o);
		/* Forwarded, unwatched, TCP or UDP: the flowtable takes the
		 * connection once it is established (the kernel offloads only
		 * then), and its later packets skip every forward chain. */
		if (h == 0 && s->g->n_flowtable)
			fprintf(o, "\t\tct mark and 0x%08x == 0x%08x meta l4proto { tcp, udp } flow add @ft accept\n",
				CT_MARK_MASK, unwatched);
		fprintf(o, "\t\tct mark and 0x%08x == 0x%08x accept\n", CT_MARK_MASK, unwatched);
		put_tier_dispatch(o, s);
		fputs("\t\tjump prefilter\n\t}\n", o);
	}
	fputs("\tchain prefilter {\n", o);
	for (int f = 0; f < 2; f++)
		for (int c = 0; c < TC__COUNT; c++)
			if (tier_chain_exists(s, c))
				fprintf(o, "\t\t%s %s @%s%s goto tier_%s%s\n", fams[f].ip, tier_chains[c].addr,
					tier_chains[c].set, fams[f].x, tier_chains[c].name, fams[f].x);
	/* Neither end in a tier: the same holds for the replies.  Only a
	 * packet of the connection itself says so: an ICMP error is RELATED
	 * and carries the entry of the connection it quotes, whose ends its
	 * own addresses need not be (tests/redteam4 f2-self: a client that
	 * sent itself an error quoting its connection to CN had that
	 * connection marked unwatched, and all of it passed). */
	fprintf(o, "\t\tct state != related ct mark set ct mark and 0x%08x or 0x%08x\n\t}\n", ~CT_MARK_MASK, unwatched);
	/* The prefilter's way into each tier chain: the connection's tiers
	 * into its mark (when the other end is in no tier), then the chain.
	 * The prefilter's order tells what the earlier lookups found: in
	 * tier_block_in the destination is not in the block tier, in
	 * tier_log_out neither end is, in tier_log_in neither end is in the
	 * block tier nor the destination in the log tier; what is left to
	 * look up is the other end's place in the sets after this one. */
	static const struct {
		const char *other;              /* the other end's address, or NULL: known in no tier */
		bool other_block;               /* it may still be in the block tier */
		unsigned code_original, code_reply;
	} way[TC__COUNT] = {
		[TC_BLOCK_OUT] = {"saddr", true, TIER_NB, TIER_BN},
		[TC_BLOCK_IN] = {"daddr", false, TIER_BN, TIER_NB},
		[TC_LOG_OUT] = {"saddr", false, TIER_NL, TIER_LN},
		[TC_LOG_IN] = {NULL, false, TIER_LN, TIER_NL},
	};
	for (int f = 0; f < 2; f++) {
		const char *ip = fams[f].ip, *x = fams[f].x;
		for (int c = 0; c < TC__COUNT; c++) {
			if (!tier_chain_exists(s, c))
				continue;
			fprintf(o, "\tchain tier_%s%s {\n", tier_chains[c].name, x);
			for (int d = 0; d < 2; d++) {
				fprintf(o, "\t\tct state != related ct direction %s ", d == 0 ? "original" : "reply");
				if (way[c].other_block)
					fprintf(o, "%s %s != @block%s ", ip, way[c].other, x);
				if (way[c].other && s->log_tier)
					fprintf(o, "%s %s != @log%s ", ip, way[c].other, x);
				fprintf(o, "ct mark set ct mark and 0x%08x or 0x%08x\n", ~CT_MARK_MASK,
					tier_mark(s, d == 0 ? way[c].code_original : way[c].code_reply));
			}
			fprintf(o, "\t\tgoto %s%s\n\t}\n", tier_chains[c].name, x);
		}
	}
	/* A reset without payload ends the flow at both ends: it passes, and
	 * so does the one `reject' itself sends, which comes back through the
	 * output hook with the blocked flow's addresses. */
	fputs("\tchain refuse {\n\t\ttcp flags & rst == rst @ih,0,8 & 0x0 == 0x0 counter name \"refused\" drop\n"
	      "\t\ttcp flags & rst == rst tcp doff 5 accept\n"
	      "\t\tmeta l4proto tcp counter name \"refused\" reject with tcp reset\n"
	      "\t\tcounter name \"refused\" drop\n\t}\n", o);
}

/* Chain names, for flushing on replace: the tier chains, and the
 * prefilter's ways into them (tier_*). */
static void put_chain_names(FILE *o, const struct shape *s, const char *fmt)
{
	static const char *const fixed[] = {"forward", "output", "prefilter", "refuse"};

	for (size_t i = 0; i < 4; i++)
		fprintf(o, fmt, fixed[i]);
	if (s->gate)
		fprintf(o, fmt, "tcp_options");
	for (int f = 0; f < 2; f++)
		for (int way = 0; way < 2; way++)
			for (int c = 0; c < TC__COUNT; c++) {
				char name[32];
				if (!tier_chain_exists(s, c))
					continue;
				snprintf(name, sizeof(name), "%s%s%s", way ? "tier_" : "", tier_chains[c].name, fams[f].x);
				fprintf(o, fmt, name);
			}
}

static void put_objects(FILE *o, const struct shape *s, const struct prefilter *pf, bool elements)
{
	static const char *const counters[] = {"held", "copied", "refused"};

	for (size_t i = 0; i < 3; i++)
		fprintf(o, "\tcounter %s {\n\t}\n", counters[i]);
	for (int t = 0; t < (s->log_tier ? 2 : 1); t++) {
		if (elements)
			put_tier_comment(o, pf, t);
		for (int f = 0; f < 2; f++)
			put_tier_set(o, pf, t, f, elements);
	}
	for (int f = 0; f < 2; f++)
		put_decision_sets(o, s, f);
	if (s->gate && s->fail_open)
		fputs("\tset engine_alive {\n\t\ttype nf_proto\n\t\tflags timeout\n\t}\n", o);
	if (s->g->n_flowtable) {
		fputs("\tflowtable ft {\n\t\thook ingress priority filter\n\t\tdevices = { ", o);
		for (size_t i = 0; i < s->g->n_flowtable; i++)
			fprintf(o, "%s\"%s\"", i ? ", " : "", s->g->flowtable[i]);
		fputs(" }\n\t}\n", o);
	}
}

char *ruleset_text(const struct prefilter *pf, const struct policy *p, const struct gateway_settings *g,
		   enum ruleset_kind kind)
{
	char *text = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&text, &len);
	if (!ruleset_generation)
		ruleset_generation = (unsigned)time(NULL) ^ (unsigned)getpid(); /* unlike a previous run's */
	struct shape s = {
		.generation = ruleset_generation++,
		.g = g,
		.gate = g->mode == GATEWAY_GATE,
		.fail_open = policy_fail_open(p),
		.copies = policy_reads_nflog(p, g->mode),
		.n_rules = policy_rule_count(p),
		.p = p,
	};

	if (!o)
		return NULL;
	s.log_tier = s.copies;
	for (size_t i = 0; i < s.n_rules; i++)
		s.log_tier |= rule_has_kernel_log(&s, i);
	fprintf(o, "# egressfence %s-mode ruleset (%s): generated, do not edit;\n"
		   "# `egressfence nft --config FILE' prints it, `egressfence run' loads it.\n",
		s.gate ? "gate" : "monitor", kind == RULESET_CREATE ? "create" : "replace");
	if (kind == RULESET_CREATE) {
		/* Creating first makes the delete succeed when there is no table. */
		fputs("table " TABLE "\ndelete table " TABLE "\n", o);
	} else {
		/* Declare what may be new, then empty what is rebuilt; the decision
		 * sets and the counters keep their contents. */
		fputs("table " TABLE " {\n", o);
		put_objects(o, &s, pf, false);
		put_chain_names(o, &s, "\tchain %s {\n\t}\n");
		fputs("}\n", o);
		put_chain_names(o, &s, "flush chain " TABLE " %s\n");
		/* Connections the flowtable holds never meet the new rules: it
		 * goes (the flushed chains no longer use it) and comes back
		 * empty, so that each is looked up again under the new sets. */
		if (s.g->n_flowtable)
			fputs("delete flowtable " TABLE " ft\n", o);
		for (int t = 0; t < (s.log_tier ? 2 : 1); t++)
			for (int f = 0; f < 2; f++)
				fprintf(o, "flush set " TABLE " %s%s\n", t == 0 ? "block" : "log", fams[f].x);
		/* Its elements keep the limits they were made with. */
		for (int f = 0; s.gate && f < 2; f++)
			fprintf(o, "flush set " TABLE " undecided_budget%s\n", fams[f].x);
	}
	fputs("table " TABLE " {\n", o);
	put_objects(o, &s, pf, true);
	put_base_chains(o, &s);
	if (s.gate)
		put_tcp_options_chain(o, &s);
	for (int f = 0; f < 2; f++)
		put_tier_chains(o, &s, f);
	fputs("}\n", o);
	if (fclose(o) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* ---- the table in the kernel ---------------------------------------------- */

/*
 * Rulesets go through libnftables: it parses the text and sends one
 * transaction.  Decisions, the heartbeat and the counters do not: before
 * running any command libnftables 1.0.6 (Debian 12) fills its cache with
 * every element of every set in the ruleset, 6.6 MB and about half a second
 * with the default policy's prefilter, for each `add element'.  They are
 * sent as nf_tables netlink messages of our own, in batches, which is what
 * libnftables sends in the end, without the cache.
 */
#define NL_BUF (64 * 1024)
#define NL_MAX_MSGS 256            /* NEWSETELEM messages per batch */

struct nft_table {
	struct nft_ctx *ctx;
	int nl;                         /* NETLINK_NETFILTER */
	uint32_t seq;
	uint8_t *batch;                 /* BATCH_BEGIN, queued messages */
	size_t batch_len, n_queued;
	char queue_err[256];
};

static void copy_error(struct nft_table *t, const char *what, char *err, size_t errlen)
{
	const char *msg = nft_ctx_get_error_buffer(t->ctx);
	size_t n = msg ? strlen(msg) : 0;

	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	if (n > ERR_MAX_SHOWN)
		n = ERR_MAX_SHOWN;
	snprintf(err, errlen, "%s: %.*s", what, (int)n, n ? msg : "failed without a message (not root?)");
}

struct nft_table *nft_table_open(bool dry_run, char *err, size_t errlen)
{
	struct nft_table *t = calloc(1, sizeof(*t));
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};

	if (!t || !(t->batch = malloc(NL_BUF)) || !(t->ctx = nft_ctx_new(NFT_CTX_DEFAULT))) {
		snprintf(err, errlen, "cannot create a libnftables context");
		goto fail;
	}
	if (nft_ctx_buffer_output(t->ctx) != 0 || nft_ctx_buffer_error(t->ctx) != 0) {
		snprintf(err, errlen, "cannot buffer libnftables' output");
		goto fail;
	}
	nft_ctx_set_dry_run(t->ctx, dry_run);
	t->nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (t->nl < 0 || bind(t->nl, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(err, errlen, "cannot open a netfilter netlink socket: %s", strerror(errno));
		goto fail;
	}
	/* The kernel answers at once; this only keeps a lost answer from
	 * stopping the engine. */
	struct timeval tv = {.tv_sec = 2};
	setsockopt(t->nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t->seq = (uint32_t)time(NULL);
	return t;
fail:
	nft_table_close(t);
	return NULL;
}

void nft_table_close(struct nft_table *t)
{
	if (!t)
		return;
	if (t->ctx)
		nft_ctx_free(t->ctx);
	if (t->nl > 0)
		close(t->nl);
	free(t->batch);
	free(t);
}

static int run(struct nft_table *t, const char *cmd, const char *what, char *err, size_t errlen)
{
	if (nft_run_cmd_from_buffer(t->ctx, cmd) != 0) {
		copy_error(t, what, err, errlen);
		return -1;
	}
	return 0;
}

bool nft_table_exists(struct nft_table *t)
{
	char err[64];

	if (run(t, "list tables inet", "list tables", err, sizeof(err)) != 0)
		return false;
	const char *out = nft_ctx_get_output_buffer(t->ctx);
	const char *hit = out ? strstr(out, "table " TABLE) : NULL;
	return hit && (hit[strlen("table " TABLE)] == '\n' || hit[strlen("table " TABLE)] == 0);
}

int nft_table_load(struct nft_table *t, const char *text, char *err, size_t errlen)
{
	return run(t, text, "loading the ruleset", err, errlen);
}

int nft_table_remove(struct nft_table *t, char *err, size_t errlen)
{
	return run(t, "table " TABLE "\ndelete table " TABLE "\n", "removing the table", err, errlen);
}

/* -- netlink messages -- */

static void *nl_put(uint8_t *buf, size_t *len, size_t n)
{
	void *p = buf + *len;

	memset(p, 0, NLA_ALIGN(n));
	*len += NLA_ALIGN(n);
	return p;
}

static struct nlmsghdr *nl_msg(uint8_t *buf, size_t *len, uint16_t type, uint16_t flags, uint8_t family,
			       uint16_t res_id, uint32_t seq)
{
	struct nlmsghdr *h = nl_put(buf, len, NLMSG_HDRLEN);
	struct nfgenmsg *g = nl_put(buf, len, sizeof(*g));

	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = seq;
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = htons(res_id);
	return h;
}

static void nl_end(uint8_t *buf, size_t len, struct nlmsghdr *h)
{
	h->nlmsg_len = (uint32_t)(buf + len - (uint8_t *)h);
}

static void nl_attr(uint8_t *buf, size_t *len, uint16_t type, const void *data, size_t n)
{
	struct nlattr *a = nl_put(buf, len, NLA_HDRLEN);

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + n);
	memcpy(nl_put(buf, len, n), data, n);
}

static struct nlattr *nl_nest(uint8_t *buf, size_t *len, uint16_t type)
{
	struct nlattr *a = nl_put(buf, len, NLA_HDRLEN);

	a->nla_type = type | NLA_F_NESTED;
	return a;
}

static void nl_nest_end(uint8_t *buf, size_t len, struct nlattr *a)
{
	a->nla_len = (uint16_t)(buf + len - (uint8_t *)a);
}

static uint64_t be64(uint64_t v)
{
	return ((uint64_t)htonl((uint32_t)v) << 32) | htonl((uint32_t)(v >> 32));
}

/* One NEWSETELEM (or DELSETELEM without elements: flush) message. */
static void nl_setelem(uint8_t *buf, size_t *len, uint32_t seq, uint16_t msg, const char *set,
		       const uint8_t (*keys)[48], const size_t *key_len, size_t n, uint64_t timeout_ms)
{
	struct nlmsghdr *h = nl_msg(buf, len, NFNL_SUBSYS_NFTABLES << 8 | msg,
				    msg == NFT_MSG_NEWSETELEM ? NLM_F_CREATE | NLM_F_ACK : NLM_F_ACK, NFPROTO_INET, 0,
				    seq);
	uint64_t timeout = be64(timeout_ms);

	nl_attr(buf, len, NFTA_SET_ELEM_LIST_TABLE, "egressfence", sizeof("egressfence"));
	nl_attr(buf, len, NFTA_SET_ELEM_LIST_SET, set, strlen(set) + 1);
	if (n) {
		struct nlattr *list = nl_nest(buf, len, NFTA_SET_ELEM_LIST_ELEMENTS);
		for (size_t i = 0; i < n; i++) {
			struct nlattr *el = nl_nest(buf, len, NFTA_LIST_ELEM);
			struct nlattr *key = nl_nest(buf, len, NFTA_SET_ELEM_KEY);
			nl_attr(buf, len, NFTA_DATA_VALUE, keys[i], key_len[i]);
			nl_nest_end(buf, *len, key);
			nl_attr(buf, len, NFTA_SET_ELEM_TIMEOUT, &timeout, sizeof(timeout));
			nl_nest_end(buf, *len, el);
		}
		nl_nest_end(buf, *len, list);
	}
	nl_end(buf, *len, h);
}

static size_t batch_begin(struct nft_table *t, uint8_t *buf)
{
	size_t len = 0;
	struct nlmsghdr *h = nl_msg(buf, &len, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, t->seq++);

	nl_end(buf, len, h);
	return len;
}

/* Sends a batch of n_msgs messages that each asked for an ACK, and reads
 * the answers: 0, or -1 with the first error. */
static int nl_transact(struct nft_table *t, uint8_t *buf, size_t len, size_t n_msgs, char *err, size_t errlen)
{
	struct nlmsghdr *h = nl_msg(buf, &len, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, t->seq++);
	uint8_t reply[8192] __attribute__((aligned(4)));
	uint32_t first = ((const struct nlmsghdr *)buf)->nlmsg_seq, last = h->nlmsg_seq;
	int rc = 0;

	nl_end(buf, len, h);
	if (send(t->nl, buf, len, 0) != (ssize_t)len) {
		snprintf(err, errlen, "netlink: %s", strerror(errno));
		return -1;
	}
	while (n_msgs > 0) {
		ssize_t got = recv(t->nl, reply, sizeof(reply), 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "netlink: %s", errno == EAGAIN ? "the kernel did not answer" : strerror(errno));
			return -1;
		}
		for (struct nlmsghdr *r = (struct nlmsghdr *)reply; NLMSG_OK(r, (size_t)got);
		     r = NLMSG_NEXT(r, got)) {
			if (r->nlmsg_type != NLMSG_ERROR || r->nlmsg_seq - first > last - first)
				continue; /* not an answer to this batch */
			const struct nlmsgerr *e = NLMSG_DATA(r);
			if (e->error && rc == 0) {
				snprintf(err, errlen, "%s", strerror(-e->error));
				rc = -1;
			}
			/* An error on the batch itself (no permission) is its only answer. */
			if (r->nlmsg_seq == first)
				return -1;
			n_msgs--;
		}
	}
	return rc;
}

/* -- decisions -- */

static bool ported(uint8_t l4)
{
	return l4 == 6 || l4 == 17 || l4 == 132 || l4 == 136; /* TCP, UDP, SCTP, UDP-Lite */
}

/* nf_tables keys: each field of a concatenation padded to 32 bits,
 * addresses and ports in network order, the protocol in the first byte. */
static size_t put_addr(uint8_t *k, const struct ef_addr *a)
{
	size_t n = a->family == 6 ? 16 : 4;

	memcpy(k, a->b, n);
	return n;
}

static size_t decision_key(const struct nft_decision *d, uint8_t *k, char *set, size_t setlen)
{
	const char *x = d->remote->family == 6 ? "6" : "4";
	size_t n = 0;

	memset(k, 0, 48);
	if (d->kind == NFT_BLOCK_REMOTE) {
		snprintf(set, setlen, "block_remote%s", x);
		return put_addr(k, d->remote);
	}
	n += put_addr(k + n, d->inside);
	n += put_addr(k + n, d->remote);
	k[n] = d->l4;
	n += 4;
	if (d->kind == NFT_KERNEL_LOG) {
		snprintf(set, setlen, "klog%zu_%s", d->rule_index, x);
	} else {
		const char *what = d->kind == NFT_ALLOW_FLOW ? "allow"
				   : d->kind == NFT_BLOCK_FLOW ? "block"
				   : d->kind == NFT_REVOKE_FLOW ? "revoke"
								 : "grace";
		snprintf(set, setlen, "%s_%s%s", what, ported(d->l4) ? "flows" : "other", x);
	}
	if (!ported(d->l4))
		return d->kind == NFT_KERNEL_LOG || d->kind == NFT_GRACE_FLOW || d->kind == NFT_REVOKE_FLOW ? 0 : n;
	k[n] = (uint8_t)(d->inside_port >> 8);
	k[n + 1] = (uint8_t)d->inside_port;
	k[n + 4] = (uint8_t)(d->remote_port >> 8);
	k[n + 5] = (uint8_t)d->remote_port;
	return n + 8;
}

void nft_table_queue(struct nft_table *t, const struct nft_decision *d)
{
	uint8_t key[1][48];
	size_t key_len;
	char set[32];
	uint32_t timeout_s = d->kind == NFT_KERNEL_LOG ? KERNEL_LOG_TIMEOUT_S : d->timeout_s;

	if (!(key_len = decision_key(d, key[0], set, sizeof(set))))
		return;
	if (t->n_queued == 0)
		t->batch_len = batch_begin(t, t->batch);
	nl_setelem(t->batch, &t->batch_len, t->seq++, NFT_MSG_NEWSETELEM, set, key, &key_len, 1,
		   (uint64_t)timeout_s * 1000u);
	t->n_queued++;
	if (t->n_queued >= NL_MAX_MSGS || t->batch_len > NL_BUF - 1024) {
		char err[256];
		if (nft_table_commit(t, err, sizeof(err)) != 0 && !t->queue_err[0])
			snprintf(t->queue_err, sizeof(t->queue_err), "%s", err);
	}
}

size_t nft_table_queued(const struct nft_table *t)
{
	return t->n_queued;
}

/* A failed batch changed nothing: its messages go again one by one, so
 * that one bad element (a full set) does not cost the others. */
static void resend_singly(struct nft_table *t, const uint8_t *batch, size_t len)
{
	uint8_t one[1024] __attribute__((aligned(4)));
	char err[64];
	const struct nlmsghdr *h = (const struct nlmsghdr *)batch;
	size_t left = len;

	for (h = NLMSG_NEXT(h, left); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
		if (h->nlmsg_len > sizeof(one) - 64)
			continue;
		size_t n = batch_begin(t, one);
		memcpy(one + n, h, h->nlmsg_len);
		n += NLMSG_ALIGN(h->nlmsg_len);
		nl_transact(t, one, n, 1, err, sizeof(err));
	}
}

int nft_table_commit(struct nft_table *t, char *err, size_t errlen)
{
	size_t n = t->n_queued, len = t->batch_len;
	int rc = 0;

	if (n == 0)
		return 0;
	t->n_queued = 0;
	if (nl_transact(t, t->batch, len, n, err, errlen) != 0) {
		size_t m = strlen(err);
		snprintf(err + m, errlen - m, " (adding %zu decision%s)", n, n == 1 ? "" : "s");
		resend_singly(t, t->batch, len);
		rc = -1;
	}
	if (t->queue_err[0]) {
		snprintf(err, errlen, "%s", t->queue_err);
		t->queue_err[0] = 0;
		rc = -1;
	}
	return rc;
}

int nft_table_heartbeat(struct nft_table *t, uint32_t timeout_s, char *err, size_t errlen)
{
	uint8_t buf[512] __attribute__((aligned(4)));
	uint8_t keys[2][48] = {{NFPROTO_IPV4}, {NFPROTO_IPV6}};
	size_t key_len[2] = {1, 1}; /* nf_proto is one byte */
	size_t len = batch_begin(t, buf);

	nl_setelem(buf, &len, t->seq++, NFT_MSG_DELSETELEM, "engine_alive", NULL, NULL, 0, 0);
	nl_setelem(buf, &len, t->seq++, NFT_MSG_NEWSETELEM, "engine_alive", keys, key_len, 2,
		   (uint64_t)timeout_s * 1000u);
	if (nl_transact(t, buf, len, 2, err, errlen) != 0) {
		size_t m = strlen(err);
		snprintf(err + m, errlen - m, " (renewing engine_alive)");
		return -1;
	}
	return 0;
}

/* -- counters -- */

static int read_counter(struct nft_table *t, const char *name, uint64_t *packets, char *err, size_t errlen)
{
	uint8_t buf[256] __attribute__((aligned(4)));
	uint8_t reply[4096] __attribute__((aligned(4)));
	size_t len = 0;
	uint32_t type = htonl(NFT_OBJECT_COUNTER), seq = t->seq++;
	struct nlmsghdr *h = nl_msg(buf, &len, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETOBJ, NLM_F_ACK, NFPROTO_INET,
				    0, seq);
	bool acked = false;

	nl_attr(buf, &len, NFTA_OBJ_TABLE, "egressfence", sizeof("egressfence"));
	nl_attr(buf, &len, NFTA_OBJ_NAME, name, strlen(name) + 1);
	nl_attr(buf, &len, NFTA_OBJ_TYPE, &type, sizeof(type));
	nl_end(buf, len, h);
	*packets = 0;
	if (send(t->nl, buf, len, 0) != (ssize_t)len)
		goto sys;
	while (!acked) {
		ssize_t got = recv(t->nl, reply, sizeof(reply), 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			goto sys;
		for (struct nlmsghdr *r = (struct nlmsghdr *)reply; NLMSG_OK(r, (size_t)got); r = NLMSG_NEXT(r, got)) {
			if (r->nlmsg_seq != seq)
				continue;
			if (r->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(r);
				acked = true;
				if (e->error) {
					snprintf(err, errlen, "reading counter %s: %s", name, strerror(-e->error));
					return -1;
				}
				continue;
			}
			/* NEWOBJ: attributes after the nfgenmsg; NFTA_OBJ_DATA nests the counter. */
			size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
			while (off + NLA_HDRLEN <= r->nlmsg_len) {
				const struct nlattr *a = (const struct nlattr *)((const uint8_t *)r + off);
				if (a->nla_len < NLA_HDRLEN)
					break;
				if ((a->nla_type & NLA_TYPE_MASK) == NFTA_OBJ_DATA) {
					size_t in = NLA_HDRLEN;
					while (in + NLA_HDRLEN <= a->nla_len) {
						const struct nlattr *c = (const struct nlattr *)((const uint8_t *)a + in);
						if (c->nla_len < NLA_HDRLEN)
							break;
						if ((c->nla_type & NLA_TYPE_MASK) == NFTA_COUNTER_PACKETS &&
						    c->nla_len >= NLA_HDRLEN + 8) {
							uint64_t v;
							memcpy(&v, (const uint8_t *)c + NLA_HDRLEN, 8);
							*packets = be64(v);
						}
						in += NLA_ALIGN(c->nla_len);
					}
				}
				off += NLA_ALIGN(a->nla_len);
			}
		}
	}
	return 0;
sys:
	snprintf(err, errlen, "reading counter %s: %s", name, strerror(errno));
	return -1;
}

int nft_table_counters(struct nft_table *t, struct nft_counters *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (read_counter(t, "held", &out->held, err, errlen) != 0 ||
	    read_counter(t, "copied", &out->copied, err, errlen) != 0 ||
	    read_counter(t, "refused", &out->refused, err, errlen) != 0)
		return -1;
	return 0;
}
