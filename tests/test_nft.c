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
	};
	struct ef_addr inside;

	ef_addr_parse("10.1.0.2", &inside);
	load(&f, designated_policy, dbs, 2);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		struct ef_addr remote;
		struct ef_geo g;
		enum ef_verdict worst = EF_ALLOW;

		ef_addr_parse(probes[i], &remote);
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
				     .decide_within_s = 3, .max_flows = 1024};
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
 * the prefilter as interval sets, and in monitor mode copies nothing. */
static void monitor_ruleset(void **state)
{
	struct fixture f = {0};
	const char *db = MAXMIND_DB;
	struct gateway_settings g = settings(GATEWAY_MONITOR);

	load(&f, designated_policy, &db, 1);
	char *text = ruleset_text(f.pf, f.policy, &g, RULESET_CREATE);
	assert_non_null(text);
	assert_true(contains(text, "\ntable inet egressfence\ndelete table inet egressfence\ntable inet egressfence {\n"));
	assert_true(contains(text, "set block4 {"));
	assert_true(contains(text, "198.51.100.0/24"));
	assert_true(contains(text, "2001:db8:1::/48"));
	assert_true(contains(text, "203.0.113.64/26"));
	assert_true(contains(text, "type filter hook forward priority filter - 1; policy accept;"));
	assert_true(contains(text, "type filter hook output priority filter - 1; policy accept;"));
	assert_true(contains(text, "ip daddr @block4 goto block_out4"));
	assert_true(contains(text, "delete @block_flows4 { ip saddr . ip daddr . meta l4proto . th sport . th dport } goto refuse"));
	assert_true(contains(text, "reject with tcp reset"));
	assert_false(contains(text, "log group"));      /* monitor mode holds and copies nothing */
	assert_false(contains(text, "allow_flows4"));
	assert_false(contains(text, "set log4"));       /* nothing in the kernel needs the log tier */
	kernel_accepts(text);
	free(text);
	unload(&f);
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
				   "@ih,0,16 0x1603 @ih,40,8 0x01 ct mark set ct mark or 0x04000000 counter name \"copied\""));
	assert_true(contains(text, "meta l4proto tcp @ih,0,8 & 0x0 == 0x0 counter name \"held\" log group 77 queue-threshold 1 drop"));
	/* decisions move into the connection's mark; a new connection drops stale ones */
	assert_true(contains(text, "ip saddr . ip daddr . meta l4proto . th sport . th dport @allow_flows4 ct mark set ct mark or "
				   "0x01000000 delete @allow_flows4 { ip saddr . ip daddr . meta l4proto . th sport . th dport } "
				   "counter name \"copied\" log group 77 queue-threshold 1 accept"));
	assert_true(contains(text, "meta l4proto tcp ct state new delete @block_flows4 { ip saddr . ip daddr . meta l4proto . th sport . th dport } "
				   "delete @allow_flows4"));
	assert_true(contains(text, "ip daddr . ip saddr . meta l4proto . th dport . th sport @block_flows4 ct mark set ct mark or "
				   "0x02000000"));
	/* unwatched connections are remembered in the conntrack mark, under a
	 * value that changes with every ruleset, so a reload looks them up again */
	const char *mark = strstr(text, "ct mark and 0x00ff0000 == 0x");
	assert_non_null(mark);
	assert_true(strstr(text, "jump prefilter") > mark);
	assert_true(contains(text, "ct mark set ct mark and 0xff00ffff or 0x"));
	char *again = ruleset_text(f.pf, f.policy, &g, RULESET_REPLACE);
	assert_non_null(again);
	char first[48], second[48];
	snprintf(first, sizeof(first), "%.40s", mark);
	snprintf(second, sizeof(second), "%.40s", strstr(again, "ct mark and 0x00ff0000 == 0x"));
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tiers_follow_the_rules),
		cmocka_unit_test(inside_and_local_addresses_are_never_watched),
		cmocka_unit_test(overrides_carve_and_add),
		cmocka_unit_test(several_databases),
		cmocka_unit_test(prefilter_never_misses_what_the_policy_flags),
		cmocka_unit_test(monitor_ruleset),
		cmocka_unit_test(gate_ruleset),
		cmocka_unit_test(fail_open_and_kernel_log),
		cmocka_unit_test(replace_ruleset_keeps_decisions),
		cmocka_unit_test(nothing_watched),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
