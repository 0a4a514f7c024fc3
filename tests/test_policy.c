/*
 * tests/test_policy.c -- the policy file as a user writes it and the
 * verdicts it gives: the shipped default policy, each kind of matcher, and
 * the exact place and wording of each kind of mistake.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include <cmocka.h>

#include <arpa/inet.h>

#include "cli/engine.h"
#include "enforce/enforce.h"
#include "geodb/geodb.h"

#define TEST_DATA EF_BINARY_DIR "/tests/data/"
#define MAXMIND_DB TEST_DATA "test-maxmind.mmdb"
#define IPLOCATION_DB TEST_DATA "test-iplocation.mmdb"

#define DEFAULT_POLICY EF_SOURCE_DIR "/policy/default.yaml"

/* --- helpers ----------------------------------------------------------- */

static struct policy *load_text(const char *text)
{
	struct policy_error err;
	struct policy *p = policy_load_buffer("policy.yaml", text, strlen(text), &err);

	if (!p)
		fail_msg("policy did not load: %s", err.msg);
	return p;
}

static struct policy *load_default(void)
{
	struct policy_error err;
	struct policy *p = policy_load(DEFAULT_POLICY, &err);

	if (!p)
		fail_msg("default policy did not load: %s", err.msg);
	return p;
}

/* A flow from 10.1.2.3 to 192.0.2.1:443/tcp unless a test changes it. */
struct flow {
	const char *countries; /* "CN", "US CN", "" for unknown */
	enum ef_encryption enc;
	uint64_t bytes_out;
	const char *inside;
	uint16_t remote_port;
	uint8_t l4;
	const char *app;
	bool unplaced; /* a database gave no country (ef_geo.unplaced) */
};

static struct policy_decision decide(const struct policy *p, struct flow f)
{
	struct ef_geo geo = {0};
	struct ef_addr inside, remote;
	struct policy_decision d;

	for (const char *c = f.countries; c && *c; c += c[2] ? 3 : 2)
		geo.set[geo.n++] = ef_country_make(c);
	geo.unplaced = f.unplaced || geo.n == 0;
	assert_true(ef_addr_parse(f.inside ? f.inside : "10.1.2.3", &inside));
	assert_true(ef_addr_parse("192.0.2.1", &remote));
	struct policy_query q = {
		.inside = &inside,
		.remote = &remote,
		.inside_port = 40000,
		.remote_port = f.remote_port ? f.remote_port : 443,
		.l4 = f.l4 ? f.l4 : IPPROTO_TCP,
		.enc = f.enc,
		.app = f.app ? f.app : "TLS",
		.bytes_out = f.bytes_out,
		.geo = &geo,
	};
	policy_decide(p, &q, &d);
	return d;
}

static void assert_decision(struct policy_decision d, enum ef_verdict verdict, const char *rule,
			    const char *country)
{
	assert_int_equal(d.verdict, verdict);
	if (rule)
		assert_string_equal(d.rule, rule);
	else
		assert_null(d.rule);
	assert_int_equal(d.country, country ? ef_country_make(country) : EF_COUNTRY_NONE);
}

/* The load fails, the message starts with prefix and contains each word. */
static void assert_load_error(const char *text, const char *prefix, ...)
{
	struct policy_error err;
	struct policy *p = policy_load_buffer("policy.yaml", text, strlen(text), &err);
	va_list ap;

	if (p) {
		policy_free(p);
		fail_msg("policy loaded but should have failed with `%s'", prefix);
	}
	if (strncmp(err.msg, prefix, strlen(prefix)) != 0)
		fail_msg("message `%s' does not start with `%s'", err.msg, prefix);
	va_start(ap, prefix);
	for (const char *word; (word = va_arg(ap, const char *));) {
		if (!strstr(err.msg, word)) {
			va_end(ap);
			fail_msg("message `%s' does not mention `%s'", err.msg, word);
		}
	}
	va_end(ap);
	assert_null(strchr(err.msg, '\n'));
}

/* --- the shipped default policy ---------------------------------------- */

static void default_blocks_cleartext_to_designated(void **state)
{
	struct policy *p = load_default();

	assert_decision(decide(p, (struct flow){.countries = "CN", .enc = EF_ENC_CLEARTEXT, .bytes_out = 1200}), EF_BLOCK,
			"designated-cleartext", "CN");
	assert_decision(decide(p, (struct flow){.countries = "RU", .enc = EF_ENC_WEAK, .bytes_out = 1}), EF_BLOCK,
			"designated-cleartext", "RU");
	/* Traffic nobody could classify is treated as readable. */
	assert_decision(decide(p, (struct flow){.countries = "CN", .enc = EF_ENC_UNKNOWN, .bytes_out = 10}), EF_BLOCK,
			"designated-cleartext", "CN");
	policy_free(p);
}

static void default_logs_encrypted_or_empty_to_designated(void **state)
{
	struct policy *p = load_default();

	assert_decision(decide(p, (struct flow){.countries = "CN", .enc = EF_ENC_ENCRYPTED, .bytes_out = 50000}), EF_LOG,
			"designated-any", "CN");
	assert_decision(decide(p, (struct flow){.countries = "CN", .enc = EF_ENC_CLEARTEXT, .bytes_out = 0}), EF_LOG,
			"designated-any", "CN");
	policy_free(p);
}

static void default_blocks_anything_to_embargoed(void **state)
{
	struct policy *p = load_default();

	for (int enc = 0; enc < EF_ENC__COUNT; enc++) {
		assert_decision(decide(p, (struct flow){.countries = "CU", .enc = (enum ef_encryption)enc, .bytes_out = 0}), EF_BLOCK,
				"embargoed-any", "CU");
		assert_decision(decide(p, (struct flow){.countries = "KP", .enc = (enum ef_encryption)enc, .bytes_out = 99}), EF_BLOCK,
				"embargoed-any", "KP");
	}
	policy_free(p);
}

static void default_allows_cleartext_to_conforming(void **state)
{
	struct policy *p = load_default();
	struct policy_decision d = decide(p, (struct flow){.countries = "US", .enc = EF_ENC_CLEARTEXT, .bytes_out = 5000});

	assert_decision(d, EF_ALLOW, NULL, "US");
	assert_int_equal(d.rule_index, -1);
	policy_free(p);
}

static void default_logs_cleartext_to_nonconforming(void **state)
{
	struct policy *p = load_default();
	struct policy_decision d = decide(p, (struct flow){.countries = "DE", .enc = EF_ENC_CLEARTEXT, .bytes_out = 5000});

	assert_decision(d, EF_LOG, "nonconforming-cleartext", "DE");
	assert_int_equal(d.rule_index, 3);
	/* Encrypted traffic to the same place is nobody's business. */
	assert_decision(decide(p, (struct flow){.countries = "DE", .enc = EF_ENC_ENCRYPTED, .bytes_out = 5000}), EF_ALLOW, NULL, "DE");
	policy_free(p);
}

static void default_logs_cleartext_to_unknown_country(void **state)
{
	struct policy *p = load_default();

	assert_decision(decide(p, (struct flow){.countries = "", .enc = EF_ENC_CLEARTEXT, .bytes_out = 5000}), EF_LOG,
			"nonconforming-cleartext", NULL);
	policy_free(p);
}

static void default_takes_strictest_of_several_countries(void **state)
{
	struct policy *p = load_default();

	/* Databases disagree: US by one, CN by another.  CN's verdict wins. */
	assert_decision(decide(p, (struct flow){.countries = "US CN", .enc = EF_ENC_CLEARTEXT, .bytes_out = 100}), EF_BLOCK,
			"designated-cleartext", "CN");
	assert_decision(decide(p, (struct flow){.countries = "CN US", .enc = EF_ENC_CLEARTEXT, .bytes_out = 100}), EF_BLOCK,
			"designated-cleartext", "CN");
	/* Equally strict: the first country reports. */
	assert_decision(decide(p, (struct flow){.countries = "FR DE", .enc = EF_ENC_CLEARTEXT, .bytes_out = 100}), EF_LOG,
			"nonconforming-cleartext", "FR");
	assert_decision(decide(p, (struct flow){.countries = "CN CU", .enc = EF_ENC_ENCRYPTED, .bytes_out = 100}), EF_BLOCK,
			"embargoed-any", "CU");
	policy_free(p);
}

static void default_points_at_pinned_database(void **state)
{
	struct policy *p = load_default();
	const char *path;

	assert_int_equal(policy_geodb_count(p), 1);
	path = policy_geodb_path(p, 0);
	assert_true(path[0] == '/');
	assert_non_null(strstr(path, "geo-whois-asn-country.mmdb"));
	assert_int_equal(access(path, R_OK), 0);
	assert_false(policy_fail_open(p));
	assert_int_equal(policy_interface_count(p), 0);
	policy_free(p);
}

static void default_knows_internal_networks(void **state)
{
	struct policy *p = load_default();
	struct ef_addr a;
	const char *inside[] = {"10.1.2.3", "172.31.255.1", "192.168.0.7", "fd12::1"};
	const char *outside[] = {"8.8.8.8", "172.32.0.1", "2001:db8::1"};

	for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
		assert_true(ef_addr_parse(inside[i], &a));
		assert_true(policy_is_internal(p, &a));
	}
	for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		assert_true(ef_addr_parse(outside[i], &a));
		assert_false(policy_is_internal(p, &a));
	}
	policy_free(p);
}

static void default_watches_designated_for_blocking(void **state)
{
	struct policy *p = load_default();
	ef_country out[700];
	bool all_but;
	size_t n;

	/* Blocking rules reach the designated and embargoed lists only. */
	n = policy_watched_countries(p, EF_BLOCK, out, 700, &all_but);
	assert_false(all_but);
	assert_int_equal(n, 25);
	assert_int_equal(out[0], ef_country_make("AF"));
	assert_int_equal(out[n - 1], ef_country_make("ZW"));

	/* Logging reaches every country but the conforming ones. */
	n = policy_watched_countries(p, EF_LOG, out, 700, &all_but);
	assert_true(all_but);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], ef_country_make("US"));
	policy_free(p);
}

/* `egressfence check` output is itself a policy that decides the same. */
static void printed_policy_reads_back_the_same(void **state)
{
	struct policy *p = load_default(), *again;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	policy_print(p, out);
	fclose(out);
	assert_non_null(strstr(text, "  designated: [AF, BY, CD, CF, CN, CU"));
	assert_non_null(strstr(text, "to: [CU, IR, KP, SY, UA-43, UA-40, UA-14, UA-09]  # @embargoed"));
	assert_non_null(strstr(text, "to: [\"!US\"]  # !@conforming"));
	assert_non_null(strstr(text, "\ndefault: allow\n"));
	again = load_text(text);
	const char *cases[] = {"CN", "CU", "US", "DE", "", "US CN"};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int enc = 0; enc < EF_ENC__COUNT; enc++) {
			struct flow f = {.countries = cases[i], .enc = (enum ef_encryption)enc, .bytes_out = 100};
			struct policy_decision a = decide(p, f), b = decide(again, f);
			assert_int_equal(a.verdict, b.verdict);
			assert_int_equal(a.rule_index, b.rule_index);
		}
	}
	policy_free(again);
	policy_free(p);
	free(text);
}

/* --- matchers ---------------------------------------------------------- */

static void from_matches_inside_address(void **state)
{
	struct policy *p = load_text("rules:\n"
				     "  - { name: lab, from: [10.1.0.0/16, \"2001:db8::/32\"], action: block }\n");

	assert_int_equal(decide(p, (struct flow){.countries = "DE", .inside = "10.1.200.9"}).verdict, EF_BLOCK);
	assert_int_equal(decide(p, (struct flow){.countries = "DE", .inside = "2001:db8::5"}).verdict, EF_BLOCK);
	assert_int_equal(decide(p, (struct flow){.countries = "DE", .inside = "10.2.0.1"}).verdict, EF_ALLOW);
	policy_free(p);
}

static void ports_match_remote_port_and_ranges(void **state)
{
	struct policy *p = load_text("rules:\n"
				     "  - name: web\n"
				     "    ports: [443, \"8000-8080\"]\n"
				     "    action: log\n");

	assert_int_equal(decide(p, (struct flow){.countries = "DE", .remote_port = 443}).verdict, EF_LOG);
	assert_int_equal(decide(p, (struct flow){.countries = "DE", .remote_port = 8000}).verdict, EF_LOG);
	assert_int_equal(decide(p, (struct flow){.countries = "DE", .remote_port = 8080}).verdict, EF_LOG);
	assert_int_equal(decide(p, (struct flow){.countries = "DE", .remote_port = 8081}).verdict, EF_ALLOW);
	assert_int_equal(decide(p, (struct flow){.countries = "DE", .remote_port = 22}).verdict, EF_ALLOW);
	policy_free(p);
}

static void app_matches_whole_name_or_either_half(void **state)
{
	struct policy *p = load_text("rules:\n"
				     "  - { name: google, app: Google, action: block }\n"
				     "  - { name: exact, app: [TLS.YouTube], action: log }\n");

	assert_decision(decide(p, (struct flow){.countries = "US", .app = "TLS.Google"}), EF_BLOCK, "google", "US");
	assert_decision(decide(p, (struct flow){.countries = "US", .app = "google"}), EF_BLOCK, "google", "US");
	assert_decision(decide(p, (struct flow){.countries = "US", .app = "QUIC.Google"}), EF_BLOCK, "google", "US");
	assert_decision(decide(p, (struct flow){.countries = "US", .app = "tls.youtube"}), EF_LOG, "exact", "US");
	assert_decision(decide(p, (struct flow){.countries = "US", .app = "TLS.GoogleDocs"}), EF_ALLOW, NULL, "US");
	assert_decision(decide(p, (struct flow){.countries = "US", .app = "YouTube"}), EF_ALLOW, NULL, "US");
	policy_free(p);

	p = load_text("rules: [{ name: tls, app: tls, action: log }]\n");
	assert_int_equal(decide(p, (struct flow){.countries = "US", .app = "TLS.Google"}).verdict, EF_LOG);
	assert_int_equal(decide(p, (struct flow){.countries = "US", .app = "TLS"}).verdict, EF_LOG);
	assert_int_equal(decide(p, (struct flow){.countries = "US", .app = "HTTP"}).verdict, EF_ALLOW);
	policy_free(p);
}

static void protocol_matches_l4(void **state)
{
	struct policy *p = load_text("rules:\n"
				     "  - { name: dns, protocol: udp, ports: 53, action: log }\n"
				     "  - { name: tunnels, protocol: [gre, ESP], action: block }\n");

	assert_int_equal(decide(p, (struct flow){.countries = "DE", .l4 = IPPROTO_UDP, .remote_port = 53}).verdict, EF_LOG);
	assert_int_equal(decide(p, (struct flow){.countries = "DE", .l4 = IPPROTO_TCP, .remote_port = 53}).verdict, EF_ALLOW);
	assert_int_equal(decide(p, (struct flow){.countries = "DE", .l4 = IPPROTO_GRE}).verdict, EF_BLOCK);
	assert_int_equal(decide(p, (struct flow){.countries = "DE", .l4 = IPPROTO_ESP}).verdict, EF_BLOCK);
	policy_free(p);
}

static void min_bytes_out_is_a_threshold_with_suffixes(void **state)
{
	struct policy *p = load_text("rules:\n"
				     "  - { name: bulk, min_bytes_out: 64k, action: log }\n");

	assert_int_equal(decide(p, (struct flow){.countries = "DE", .bytes_out = 65535}).verdict, EF_ALLOW);
	assert_int_equal(decide(p, (struct flow){.countries = "DE", .bytes_out = 65536}).verdict, EF_LOG);
	policy_free(p);

	p = load_text("rules: [{ name: huge, min_bytes_out: 2G, action: log }]\n");
	assert_int_equal(decide(p, (struct flow){.countries = "DE", .bytes_out = 2147483647}).verdict, EF_ALLOW);
	assert_int_equal(decide(p, (struct flow){.countries = "DE", .bytes_out = 2147483648}).verdict, EF_LOG);
	policy_free(p);
}

static void negated_list_matches_none_of_them_and_unknown(void **state)
{
	struct policy *p = load_text("groups:\n"
				     "  five_eyes: [US, GB, CA, AU, NZ]\n"
				     "rules:\n"
				     "  - { name: abroad, to: [\"!@five_eyes\", \"!IE\"], action: log }\n");

	assert_int_equal(decide(p, (struct flow){.countries = "GB"}).verdict, EF_ALLOW);
	assert_int_equal(decide(p, (struct flow){.countries = "IE"}).verdict, EF_ALLOW);
	assert_decision(decide(p, (struct flow){.countries = "DE"}), EF_LOG, "abroad", "DE");
	/* An address nobody can place is not in any list: fail closed. */
	assert_decision(decide(p, (struct flow){.countries = ""}), EF_LOG, "abroad", NULL);
	policy_free(p);
}

/* A database that places an address nowhere may be the right one: the
 * address is judged as in every country the others give *and* in no known
 * country, the strictest of both. */
static void unplaced_address_is_also_judged_as_nowhere(void **state)
{
	struct policy *p = load_text("groups: { conforming: [US] }\n"
				     "rules:\n"
				     "  - { name: cn, to: CN, action: block }\n"
				     "  - { name: nonconforming, to: \"!@conforming\", action: log }\n");

	assert_decision(decide(p, (struct flow){.countries = "US"}), EF_ALLOW, NULL, "US");
	assert_decision(decide(p, (struct flow){.countries = "US", .unplaced = true}), EF_LOG,
			"nonconforming", NULL);
	/* Never less strict than the countries given. */
	assert_decision(decide(p, (struct flow){.countries = "CN", .unplaced = true}), EF_BLOCK, "cn",
			"CN");
	policy_free(p);
}

/* ---- through the databases: policy_judge_flow() as audit and run call it ---- */

static const char embedded_policy[] =
	"networks:\n"
	"  internal: [10.0.0.0/8, \"fc00::/7\"]\n"
	"  overrides:\n"
	"    - { cidr: 10.50.0.0/16, country: CN }\n"
	"groups:\n"
	"  designated: [CN, RU]\n"
	"  conforming: [US]\n"
	"rules:\n"
	"  - { name: designated-cleartext, to: \"@designated\", encryption: [cleartext, weak, unknown],"
	" min_bytes_out: 1, action: block }\n"
	"  - { name: designated-any, to: \"@designated\", action: log }\n"
	"  - { name: nonconforming-cleartext, to: \"!@conforming\", encryption: [cleartext, weak],"
	" min_bytes_out: 1, action: log }\n";

static struct geodb *open_for(const struct policy *p, const char *const *dbs, size_t n)
{
	char err[512] = "";
	size_t n_ov;
	const struct geodb_override *ov = policy_overrides(p, &n_ov);
	struct geodb *db = geodb_open(dbs, n, ov, n_ov, err, sizeof(err));

	if (!db)
		fail_msg("geodb: %s", err);
	return db;
}

/* Cleartext HTTP from `inside' to `remote':80, as a decoded packet gives
 * them (IPv6 text stays IPv6, IPv4-mapped included). */
static struct policy_decision judge(const struct policy *p, const struct geodb *db,
				    const char *inside, const char *remote, struct ef_flow_record *r)
{
	struct policy_decision d;

	memset(r, 0, sizeof(*r));
	for (int k = 0; k < 2; k++) {
		struct ef_addr *a = k ? &r->remote : &r->inside;
		const char *text = k ? remote : inside;
		if (strchr(text, ':')) {
			a->family = 6;
			assert_int_equal(inet_pton(AF_INET6, text, a->b), 1);
		} else {
			assert_true(ef_addr_parse(text, a));
		}
	}
	r->inside_port = 40000;
	r->remote_port = 80;
	r->l4 = IPPROTO_TCP;
	r->enc = EF_ENC_CLEARTEXT;
	strcpy(r->app, "HTTP");
	r->bytes_out = 500;
	r->packets_out = 3;
	policy_judge_flow(p, db, r, &d);
	return d;
}

/* 198.51.100.10 is CN in the test databases; each embedding of it is CN
 * too, and cleartext to it is blocked.  Without the embedded lookup these
 * were addresses of no country, which this policy only logs. */
/* ef_addr_stays_local() reads the bytes; the gateway's prefilter takes
 * ef_local_scope_cidrs out: both must agree at every prefix's edges. */
static void local_scope_test_agrees_with_its_list(void **state)
{
	for (size_t i = 0; i < ef_n_local_scope_cidrs; i++) {
		struct ef_cidr c;
		assert_true(ef_cidr_parse(ef_local_scope_cidrs[i], &c));
		struct ef_addr first = c.addr, last = c.addr, before = c.addr, after = c.addr;
		int bytes = c.addr.family == 4 ? 4 : 16;
		for (int b = 0; b < bytes; b++) {
			int host_bits = b * 8 >= c.prefix ? 8 : (b * 8 + 8 > c.prefix ? b * 8 + 8 - c.prefix : 0);
			last.b[b] |= (uint8_t)((1u << host_bits) - 1);
		}
		/* the neighbours just outside: first - 1, last + 1 */
		for (int b = bytes - 1; b >= 0 && before.b[b]-- == 0; b--)
			;
		for (int b = bytes - 1; b >= 0 && ++after.b[b] == 0; b--)
			;
		char text[64];
		ef_cidr_format(&c, text, sizeof(text));
		if (!ef_addr_stays_local(&first) || !ef_addr_stays_local(&last))
			fail_msg("%s: an edge is not local", text);
		bool before_in = false, after_in = false;
		for (size_t k = 0; k < ef_n_local_scope_cidrs; k++) {
			struct ef_cidr o;
			ef_cidr_parse(ef_local_scope_cidrs[k], &o);
			before_in |= ef_cidr_contains(&o, &before);
			after_in |= ef_cidr_contains(&o, &after);
		}
		if (ef_addr_stays_local(&before) != before_in || ef_addr_stays_local(&after) != after_in)
			fail_msg("%s: a neighbour outside is judged otherwise than the list says", text);
	}
}

/* Audit judges what never leaves a host or a link as the gateway does (no
 * country, no rule), and an inside-to-inside flow shows no database's
 * country (the test database places 10.0.0.0/8 somewhere). */
static void local_and_inside_destinations_get_no_country(void **state)
{
	static const char *const local[] = {"224.0.0.251", "255.255.255.255", "169.254.1.1", "ff02::fb",
					    "fe80::1", "127.0.0.1"};
	const char *dbs[] = {IPLOCATION_DB};
	struct policy *p = load_text(embedded_policy);
	struct geodb *db = open_for(p, dbs, 1);
	struct ef_flow_record r;

	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		struct policy_decision d = judge(p, db, strchr(local[i], ':') ? "fd00::2" : "10.1.0.2", local[i], &r);
		if (d.verdict != EF_ALLOW || d.rule || r.geo.n || r.geo.n_db)
			fail_msg("%s: %s by %s with %d countries, expected allow, no rule, no country", local[i],
				 ef_verdict_name(d.verdict), d.rule ? d.rule : "(default)", r.geo.n);
	}
	struct policy_decision d = judge(p, db, "10.1.0.2", "10.2.0.9", &r);
	assert_int_equal(d.verdict, EF_ALLOW);
	assert_null(d.rule);
	assert_int_equal(r.geo.n, 0);
	assert_int_equal(r.geo.n_db, 0);
	geodb_close(db);
	policy_free(p);
}

static void cleartext_to_embedded_cn_address_is_blocked(void **state)
{
	static const char *const cn[] = {
		"64:ff9b::198.51.100.10",                /* NAT64 /96 */
		"64:ff9b:1:c633:64:a00::",               /* NAT64 /48, u = 0 */
		"64:ff9b:1:c633:ff64:a00::",             /* NAT64 /48, u = 0xff */
		"2002:c633:640a::1",                     /* 6to4 */
		"2001:0:cb00:7105:8000:63bf:39cc:9bf5",  /* Teredo, client ~39cc:9bf5 */
		"::ffff:198.51.100.10",                  /* IPv4-mapped, in a packet */
	};
	const char *dbs[] = {IPLOCATION_DB};
	struct policy *p = load_text(embedded_policy);
	struct geodb *db = open_for(p, dbs, 1);
	struct ef_flow_record r;

	for (size_t i = 0; i < sizeof(cn) / sizeof(cn[0]); i++) {
		struct policy_decision d = judge(p, db, "fd00::2", cn[i], &r);
		if (d.verdict != EF_BLOCK || d.country != ef_country_make("CN"))
			fail_msg("%s: %s by %s, expected block (CN)", cn[i], ef_verdict_name(d.verdict),
				 d.rule ? d.rule : "(default)");
		assert_string_equal(d.rule, "designated-cleartext");
	}
	/* On an IPv6-only network every IPv4 destination is such an address:
	 * a conforming one is allowed, not logged as unknown. */
	assert_decision(judge(p, db, "fd00::2", "64:ff9b::203.0.113.10", &r), EF_ALLOW, NULL, "US");
	assert_decision(judge(p, db, "fd00::2", "2002:cb00:710a::", &r), EF_ALLOW, NULL, "US");
	geodb_close(db);
	policy_free(p);
}

/*
 * Inside to inside: a NAT64 or IPv4-mapped address whose IPv4 is in
 * networks.internal is inside (the translator delivers to that address);
 * an override on the IPv4 still places it.  6to4 and Teredo reach their
 * IPv4 through a relay wherever routing finds one: judged as leaving.
 */
static void embedded_inside_address_is_inside_for_nat64_only(void **state)
{
	const char *dbs[] = {IPLOCATION_DB};
	struct policy *p = load_text(embedded_policy);
	struct geodb *db = open_for(p, dbs, 1);
	struct ef_flow_record r;

	assert_decision(judge(p, db, "fd00::2", "64:ff9b::10.1.2.3", &r), EF_ALLOW, NULL, NULL);
	assert_decision(judge(p, db, "fd00::2", "64:ff9b:1:a01:2:300::", &r), EF_ALLOW, NULL, NULL);
	assert_decision(judge(p, db, "fd00::2", "::ffff:10.1.2.3", &r), EF_ALLOW, NULL, NULL);
	/* 10.50.0.0/16 is overridden to CN: placed, so judged. */
	assert_decision(judge(p, db, "fd00::2", "64:ff9b::10.50.5.5", &r), EF_BLOCK,
			"designated-cleartext", "CN");
	assert_decision(judge(p, db, "fd00::2", "2002:a32:505::", &r), EF_BLOCK,
			"designated-cleartext", "CN");
	/* 6to4 and Teredo to an inside IPv4 leave: no database places 10.1.2.3,
	 * so the address is in no known country (logged, not allowed). */
	assert_decision(judge(p, db, "fd00::2", "2002:a01:203::", &r), EF_LOG,
			"nonconforming-cleartext", NULL);
	assert_decision(judge(p, db, "fd00::2", "2001:0:cb00:7105:0:0:f5fe:fdfc", &r), EF_LOG,
			"nonconforming-cleartext", NULL);
	assert_true(policy_is_internal(p, &r.inside));
	geodb_close(db);
	policy_free(p);
}

/* Item 11: 198.18.0.0/24 is US in test-iplocation, in no network of
 * test-maxmind.  The other database alone must not make it conforming. */
static void one_silent_database_does_not_make_an_address_conforming(void **state)
{
	const char *both[] = {MAXMIND_DB, IPLOCATION_DB}, *one[] = {IPLOCATION_DB};
	struct policy *p = load_text(embedded_policy);
	struct geodb *db = open_for(p, both, 2), *db1 = open_for(p, one, 1);
	struct ef_flow_record r;

	assert_decision(judge(p, db1, "10.1.0.2", "198.18.0.5", &r), EF_ALLOW, NULL, "US");
	assert_decision(judge(p, db, "10.1.0.2", "198.18.0.5", &r), EF_LOG, "nonconforming-cleartext",
			NULL);
	assert_true(r.geo.unplaced);
	assert_int_equal(r.geo.per_db[0], EF_COUNTRY_NONE);
	assert_int_equal(r.geo.per_db[1], ef_country_make("US"));
	assert_decision(judge(p, db, "fd00::2", "2001:db8:6::1", &r), EF_LOG, "nonconforming-cleartext",
			NULL);
	/* Both place it in US: allowed. */
	assert_decision(judge(p, db, "10.1.0.2", "203.0.113.5", &r), EF_ALLOW, NULL, "US");
	geodb_close(db);
	geodb_close(db1);
	policy_free(p);
}

static void plain_to_never_matches_unknown_country(void **state)
{
	struct policy *p = load_text("rules: [{ name: cn, to: CN, action: block }]\n"
				     "default: log\n");

	assert_decision(decide(p, (struct flow){.countries = ""}), EF_LOG, NULL, NULL);
	assert_decision(decide(p, (struct flow){.countries = "cn"}), EF_BLOCK, "cn", "CN");
	policy_free(p);
}

static void groups_expand_through_references(void **state)
{
	struct policy *p = load_text("groups:\n"
				     "  all: [\"@east\", XK]\n"
				     "  east: [\"@far\", BY]\n"
				     "  far: [cn]\n"
				     "rules: [{ name: r, to: \"@all\", action: block, block_remote: 600 }]\n");
	struct policy_decision d = decide(p, (struct flow){.countries = "CN"});

	assert_decision(d, EF_BLOCK, "r", "CN");
	assert_int_equal(d.block_remote_seconds, 600);
	assert_int_equal(decide(p, (struct flow){.countries = "BY"}).verdict, EF_BLOCK);
	assert_int_equal(decide(p, (struct flow){.countries = "XK"}).verdict, EF_BLOCK);
	assert_int_equal(decide(p, (struct flow){.countries = "RU"}).verdict, EF_ALLOW);
	policy_free(p);
}

static void first_matching_rule_wins(void **state)
{
	struct policy *p = load_text("rules:\n"
				     "  - { name: ok, to: DE, action: allow }\n"
				     "  - { name: no, to: [DE, FR], action: block }\n");

	assert_decision(decide(p, (struct flow){.countries = "DE"}), EF_ALLOW, "ok", "DE");
	assert_decision(decide(p, (struct flow){.countries = "FR"}), EF_BLOCK, "no", "FR");
	policy_free(p);
}

static void other_sections_reach_the_engine(void **state)
{
	struct policy *p = load_text("geodb: { country: [a.mmdb, /abs/b.mmdb] }\n"
				     "networks:\n"
				     "  overrides:\n"
				     "    - { cidr: 203.0.113.0/24, country: RU }\n"
				     "capture: { interfaces: [eth1, eth2] }\n"
				     "fail_open: true\n");
	const struct geodb_override *o;
	size_t n;
	char cwd[4096];

	assert_int_equal(policy_geodb_count(p), 2);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_string_equal(policy_geodb_path(p, 1), "/abs/b.mmdb");
	assert_int_equal(strncmp(policy_geodb_path(p, 0), cwd, strlen(cwd)), 0);
	assert_non_null(strstr(policy_geodb_path(p, 0), "/a.mmdb"));
	o = policy_overrides(p, &n);
	assert_int_equal(n, 1);
	assert_int_equal(o[0].country, ef_country_make("RU"));
	assert_int_equal(o[0].cidr.prefix, 24);
	assert_int_equal(policy_interface_count(p), 2);
	assert_string_equal(policy_interface(p, 1), "eth2");
	assert_true(policy_fail_open(p));
	/* No rules: the default decides. */
	assert_decision(decide(p, (struct flow){.countries = "CN"}), EF_ALLOW, NULL, "CN");
	policy_free(p);
}

static void country_table_is_iso_3166(void **state)
{
	assert_true(policy_country_is_assigned(ef_country_make("CN")));
	assert_true(policy_country_is_assigned(ef_country_make("SS")));
	assert_true(policy_country_is_assigned(ef_country_make("XK")));
	assert_true(policy_country_is_assigned(ef_country_make("CD")));
	assert_false(policy_country_is_assigned(ef_country_make("UK")));
	assert_false(policy_country_is_assigned(ef_country_make("EU")));
	assert_false(policy_country_is_assigned(ef_country_make("AN")));
	assert_false(policy_country_is_assigned(EF_COUNTRY_NONE));
}

/* --- mistakes ---------------------------------------------------------- */

static void error_yaml_syntax(void **state)
{
	assert_load_error("rules:\n"
			  "  - name: a\n"
			  "   action: log\n",
			  "policy.yaml:3:4: ", "did not find expected '-' indicator",
			  "while parsing a block collection at line 2", NULL);
	assert_load_error("default: allow: log\n", "policy.yaml:1:15: ",
			  "mapping values are not allowed in this context", NULL);
	assert_load_error("rules:\n"
			  "  - name: a\n"
			  "    to: @designated\n",
			  "policy.yaml:3:9: ", "cannot start any token", "quote", "\"@designated\"", NULL);
	assert_load_error("default: allow\n\xff\n", "policy.yaml:2:1: ", "UTF-8", NULL);
}

static void error_unknown_key(void **state)
{
	assert_load_error("rules:\n"
			  "  - name: a\n"
			  "    acton: log\n",
			  "policy.yaml:3:5: ",
			  "unknown key `acton' in rule (expected one of: name, to, from, encryption, "
			  "protocol, ports, app, min_bytes_out, action, block_remote, log_prefix)",
			  NULL);
	assert_load_error("rule:\n  - name: a\n", "policy.yaml:1:1: ",
			  "unknown key `rule' in the policy", "rules", NULL);
	assert_load_error("networks: { internl: [] }\n", "policy.yaml:1:13: ",
			  "unknown key `internl' in networks", "internal", NULL);
}

static void error_duplicate_key(void **state)
{
	assert_load_error("rules:\n"
			  "  - name: a\n"
			  "    action: log\n"
			  "    action: block\n",
			  "policy.yaml:4:5: ", "duplicate key `action'", "line 3", NULL);
}

static void error_unknown_country(void **state)
{
	assert_load_error("groups:\n"
			  "  bad: [CN, XX]\n",
			  "policy.yaml:2:13: ",
			  "unknown country code `XX' (expected an ISO 3166-1 alpha-2 code such as CN)", NULL);
	assert_load_error("rules: [{ name: a, to: UK, action: log }]\n", "policy.yaml:1:24: ",
			  "unknown country code `UK'", "GB", NULL);
	assert_load_error("rules: [{ name: a, to: USA, action: log }]\n", "policy.yaml:1:24: ",
			  "`USA'", NULL);
}

static void error_undefined_group(void **state)
{
	assert_load_error("groups:\n"
			  "  designated: [CN]\n"
			  "rules:\n"
			  "  - name: a\n"
			  "    to: \"@desginated\"\n"
			  "    action: block\n",
			  "policy.yaml:5:9: ", "undefined group `@desginated'", "designated", NULL);
}

static void error_group_cycle(void **state)
{
	assert_load_error("groups:\n"
			  "  a: [CN, \"@b\"]\n"
			  "  b: [RU, \"@c\"]\n"
			  "  c: [\"@a\"]\n",
			  "policy.yaml:4:7: ", "group cycle @a -> @b -> @c -> @a", NULL);
	assert_load_error("groups:\n  self: [\"@self\"]\n", "policy.yaml:2:10: ",
			  "group cycle @self -> @self", NULL);
}

static void error_duplicate_rule_name(void **state)
{
	assert_load_error("rules:\n"
			  "  - name: same\n"
			  "    action: log\n"
			  "  - name: same\n"
			  "    action: block\n",
			  "policy.yaml:4:11: ", "duplicate rule name `same'", "line 2", NULL);
}

static void error_missing_action(void **state)
{
	assert_load_error("rules:\n"
			  "  - name: a\n"
			  "    to: CN\n",
			  "policy.yaml:2:5: ", "rule `a' has no action", "block, log or allow", NULL);
	assert_load_error("rules:\n  - action: log\n", "policy.yaml:2:5: ", "rule 1 has no name", NULL);
}

static void error_bad_cidr(void **state)
{
	assert_load_error("networks:\n"
			  "  internal: [10.0.0.0/8, 10.0.0.0/33]\n",
			  "policy.yaml:2:26: ", "bad CIDR `10.0.0.0/33'", "10.0.0.0/8", NULL);
	assert_load_error("rules: [{ name: a, from: 10.1.2.3/16, action: log }]\n", "policy.yaml:1:26: ",
			  "bad CIDR `10.1.2.3/16'", "host bits", "did you mean 10.1.0.0/16?", NULL);
}

static void error_bad_action(void **state)
{
	assert_load_error("rules:\n"
			  "  - name: a\n"
			  "    action: deny\n",
			  "policy.yaml:3:13: ", "unknown action `deny' (expected block, log or allow)", NULL);
	assert_load_error("default: drop\n", "policy.yaml:1:10: ", "unknown default `drop'", NULL);
}

static void error_block_remote_on_log_rule(void **state)
{
	assert_load_error("rules:\n"
			  "  - name: a\n"
			  "    action: log\n"
			  "    block_remote: 3600\n",
			  "policy.yaml:4:5: ",
			  "`block_remote' is only valid with action block (rule `a' has action log)", NULL);
	assert_load_error("rules: [{ name: a, action: allow, log_prefix: x }]\n", "policy.yaml:1:35: ",
			  "`log_prefix' is only valid with action log or block", NULL);
}

static void error_wrong_type(void **state)
{
	assert_load_error("rules:\n"
			  "  - name: a\n"
			  "    action: [block]\n",
			  "policy.yaml:3:13: ", "`action' must be a single value, not a list",
			  "block, log or allow", NULL);
	assert_load_error("rules: { name: a }\n", "policy.yaml:1:8: ",
			  "`rules' must be a list of rules", "not a mapping", NULL);
	assert_load_error("rules:\n  - { name: a, action: log, to: { CN: 1 } }\n", "policy.yaml:2:33: ",
			  "`to' must be a list or a single value, not a mapping", NULL);
	assert_load_error("fail_open: maybe\n", "policy.yaml:1:12: ", "expected true or false", NULL);
}

static void error_negation_mistakes(void **state)
{
	/* Unquoted, YAML reads `!US' as a tag. */
	assert_load_error("rules: [{ name: a, to: !US , action: log }]\n", "policy.yaml:1:24: ",
			  "unexpected YAML tag `!US'", "\"!US\"", NULL);
	assert_load_error("rules: [{ name: a, to: [\"!US\", CA], action: log }]\n", "policy.yaml:1:32: ",
			  "cannot mix negated and plain items", NULL);
	assert_load_error("groups: { g: [\"!US\"] }\n", "policy.yaml:1:15: ",
			  "negation belongs in a rule's `to'", NULL);
}

static void error_other_values(void **state)
{
	assert_load_error("rules: [{ name: a, ports: [\"9000-8000\"], action: log }]\n",
			  "policy.yaml:1:28: ", "runs backwards", NULL);
	assert_load_error("rules: [{ name: a, ports: 70000, action: log }]\n", "policy.yaml:1:27: ",
			  "bad port `70000'", NULL);
	assert_load_error("rules: [{ name: a, encryption: tls, action: log }]\n", "policy.yaml:1:32: ",
			  "unknown encryption class `tls'", "cleartext", NULL);
	assert_load_error("rules: [{ name: a, protocol: quic, action: log }]\n", "policy.yaml:1:30: ",
			  "unknown protocol `quic'", NULL);
	assert_load_error("rules: [{ name: a, min_bytes_out: 1.5M, action: log }]\n", "policy.yaml:1:35: ",
			  "bad byte count `1.5M'", NULL);
	assert_load_error("rules: [{ name: a, to: [], action: log }]\n", "policy.yaml:1:24: ",
			  "`to' is an empty list", "omit `to'", NULL);
	assert_load_error("geodb: { country: [a, b, c, d, e] }\n", "policy.yaml:1:32: ",
			  "too many country databases (at most 4)", NULL);
	assert_load_error("# nothing\n", "policy.yaml:1:1: ", "the policy is empty", NULL);
	assert_load_error("default: allow\n---\ndefault: block\n", "policy.yaml:3:1: ",
			  "a second YAML document", NULL);
}

/* gateway: what `egressfence run' reads, defaults filled in; bad values
 * name the place and what would do. */
static void gateway_section(void **state)
{
	struct gateway_settings g;
	struct policy *p = load_text("default: allow\n");

	policy_gateway(p, &g);
	assert_int_equal(g.mode, GATEWAY_MONITOR);
	assert_int_equal(g.nflog_group, 4242);
	assert_int_equal(g.flow_timeout_s, 3600);
	assert_int_equal(g.decide_within_s, 3);
	assert_int_equal(g.max_flows, 262144);
	assert_int_equal(g.undecided_rate_kbytes, 32);
	assert_int_equal(g.undecided_burst_kbytes, 512);
	assert_false(g.release_held);
	policy_free(p);
	p = load_text("gateway: { release_held: true }\n");
	policy_gateway(p, &g);
	assert_true(g.release_held);
	policy_free(p);
	assert_load_error("gateway:\n  release_held: maybe\n", "policy.yaml:2:17: ", "bad value `maybe'",
			  "`release_held'", "true or false", NULL);
	p = load_text("gateway: { undecided_rate: 8, undecided_burst: 64 }\n");
	policy_gateway(p, &g);
	assert_int_equal(g.undecided_rate_kbytes, 8);
	assert_int_equal(g.undecided_burst_kbytes, 64);
	policy_free(p);
	assert_load_error("gateway:\n  undecided_rate: 0\n", "policy.yaml:2:19: ", "`undecided_rate'", "1 to 1048576",
			  "such as 32", NULL);
	assert_load_error("gateway: { undecided_burst: 64k }\n", "policy.yaml:1:29: ", "bad value `64k'",
			  "`undecided_burst'", "such as 512", NULL);
	p = load_text("gateway: { mode: gate, nflog_group: 0, flow_timeout: 60, decide_within: 10, max_flows: 1024 }\n");
	policy_gateway(p, &g);
	assert_int_equal(g.mode, GATEWAY_GATE);
	assert_int_equal(g.nflog_group, 0);
	assert_int_equal(g.flow_timeout_s, 60);
	assert_int_equal(g.decide_within_s, 10);
	assert_int_equal(g.max_flows, 1024);
	policy_free(p);

	assert_load_error("gateway:\n  mode: gates\n", "policy.yaml:2:9: ", "unknown gateway mode `gates'",
			  "monitor, gate or observe", NULL);
	assert_load_error("gateway:\n  nflog_group: 65536\n", "policy.yaml:2:16: ", "`nflog_group'",
			  "0 to 65535", NULL);
	assert_load_error("gateway: { flow_timeout: 0 }\n", "policy.yaml:1:26: ", "`flow_timeout'", NULL);
	assert_load_error("gateway: { decide_within: 5s }\n", "policy.yaml:1:27: ", "bad value `5s'", NULL);
	assert_load_error("gateway: { max_flows: 10 }\n", "policy.yaml:1:23: ", "1024 to 16777216", NULL);
	assert_load_error("gateway: { nflog: 1 }\n", "policy.yaml:1:12: ", "unknown key `nflog' in gateway",
			  "nflog_group", NULL);
	assert_load_error("gateway: [gate]\n", "policy.yaml:1:10: ", "gateway must be a mapping", NULL);

	/* flowtable: interface names, each once, at most 32 */
	assert_int_equal(g.n_flowtable, 0);
	p = load_text("gateway:\n  flowtable: [in0, eth1.100]\n");
	policy_gateway(p, &g);
	assert_int_equal(g.n_flowtable, 2);
	assert_string_equal(g.flowtable[0], "in0");
	assert_string_equal(g.flowtable[1], "eth1.100");
	policy_free(p);
	assert_load_error("gateway:\n  flowtable: [in0, in0]\n", "policy.yaml:2:20: ", "`in0' is listed twice", NULL);
	assert_load_error("gateway:\n  flowtable: [\"a b\"]\n", "policy.yaml:2:15: ", "bad interface name", NULL);
	assert_load_error("gateway:\n  flowtable: [waytoolonginterfacename]\n", "policy.yaml:2:15: ",
			  "at most 15 characters", NULL);
	char many[1024] = "gateway:\n  flowtable: [";
	for (int i = 0; i < 33; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%se%d", i ? ", " : "", i);
	strcat(many, "]\n");
	assert_load_error(many, "policy.yaml:2:14: ", "lists 33 interfaces (expected at most 32)", NULL);
}

/* capture.source: monitor mode's packets.  Absent, it is interfaces when
 * capture.interfaces lists any (the configs written before the key keep
 * their libpcap capture) and nflog otherwise; bad values name the place. */
static void capture_source(void **state)
{
	static const struct {
		const char *yaml;
		enum capture_source want;
	} cases[] = {
		{"default: allow\n", CAPTURE_SOURCE_NFLOG},
		{"capture: { interfaces: [] }\n", CAPTURE_SOURCE_NFLOG},
		{"capture: { interfaces: [eth1] }\n", CAPTURE_SOURCE_INTERFACES},
		{"capture: { interfaces: [eth1], source: nflog }\n", CAPTURE_SOURCE_NFLOG},
		{"capture: { interfaces: [eth1], source: interfaces }\n", CAPTURE_SOURCE_INTERFACES},
		{"capture: { source: nflog }\n", CAPTURE_SOURCE_NFLOG},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy *p = load_text(cases[i].yaml);
		if (policy_capture_source(p) != cases[i].want)
			fail_msg("%s: source %s", cases[i].yaml, capture_source_name(policy_capture_source(p)));
		policy_free(p);
	}
	assert_load_error("capture:\n  interfaces: [eth1]\n  source: pcap\n", "policy.yaml:3:11: ",
			  "bad value `pcap' for `source'", "interfaces or nflog", NULL);
	assert_load_error("capture: { source: [nflog] }\n", "policy.yaml:1:20: ", "`source'", NULL);
	assert_load_error("capture: { source: interfaces }\n", "policy.yaml:1:20: ",
			  "`source: interfaces'", "lists none", "source: nflog", NULL);
}

static void error_missing_file(void **state)
{
	struct policy_error err;

	assert_null(policy_load("/nonexistent/egressfence.yaml", &err));
	assert_string_equal(err.msg,
			    "/nonexistent/egressfence.yaml: cannot open policy: No such file or directory");
}

/* --- country lists, exceptions, check's warnings (issue 10) ------------- */

/* A folder of its own for a policy and its lists file. */
static char tune_dir[64];

static void tune_write(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	if (!tune_dir[0]) {
		strcpy(tune_dir, "/tmp/ef-test-policy-XXXXXX");
		assert_non_null(mkdtemp(tune_dir));
	}
	snprintf(path, sizeof(path), "%s/%s", tune_dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

/* Loads text as TUNEDIR/policy.yaml, so that lists.file is found beside it. */
static struct policy *tune_load(const char *text, struct policy_error *err)
{
	char name[128];

	snprintf(name, sizeof(name), "%s/policy.yaml", tune_dir[0] ? tune_dir : "/tmp");
	return policy_load_buffer(name, text, strlen(text), err);
}

static const char tune_lists[] =
	"country_lists:\n"
	"  us-d5:\n"
	"    title: EAR D:5\n"
	"    source: 15 CFR 740 Supp. 1\n"
	"    checked: 2026-01-10\n"
	"    countries: [CN, { code: NI, note: \"added 2024-03-15, 89 FR 18780\" }]\n"
	"    notes: [\"Ethiopia: only its armed forces; not listed\"]\n"
	"  jp-un-arms-embargo:\n"
	"    source: Export Trade Control Order, Appended Table 3-2\n"
	"    checked: 2020-01-01\n"
	"    countries: [KP, LY]\n";

/* Text a function wrote into a FILE *, as a string the caller frees. */
#define CAPTURE(buf, call)                                              \
	do {                                                            \
		size_t capture_len;                                     \
		FILE *out = open_memstream(&(buf), &capture_len);       \
		assert_non_null(out);                                   \
		call;                                                   \
		fclose(out);                                            \
	} while (0)

static int64_t day_s(const char *date)
{
	struct tm tm = {0};

	assert_non_null(strptime(date, "%Y-%m-%d", &tm));
	return (int64_t)timegm(&tm) + 12 * 3600;
}

static void lists_are_groups_with_source_and_date(void **state)
{
	struct policy_error err;
	char *text = NULL;

	tune_write("lists.yaml", tune_lists);
	struct policy *p = tune_load("lists: { file: lists.yaml }\n"
				     "groups: { designated: [\"@us-d5\", RU] }\n"
				     "rules:\n"
				     "  - { name: d, to: \"@designated\", action: block }\n"
				     "  - { name: j, to: \"@jp-un-arms-embargo\", action: log }\n", &err);
	if (!p)
		fail_msg("%s", err.msg);
	/* A list's entries reach the rules that name it, directly or through a group. */
	assert_decision(decide(p, (struct flow){.countries = "NI", .bytes_out = 1}), EF_BLOCK, "d", "NI");
	assert_decision(decide(p, (struct flow){.countries = "RU", .bytes_out = 1}), EF_BLOCK, "d", "RU");
	assert_decision(decide(p, (struct flow){.countries = "LY", .bytes_out = 1}), EF_LOG, "j", "LY");
	assert_decision(decide(p, (struct flow){.countries = "DE", .bytes_out = 1}), EF_ALLOW, NULL, "DE");

	/* check shows each list's source, date and per-entry notes ... */
	CAPTURE(text, policy_print(p, out));
	assert_non_null(strstr(text, "#     source: 15 CFR 740 Supp. 1\n"));
	assert_non_null(strstr(text, "#     checked: 2026-01-10\n"));
	assert_non_null(strstr(text, "#     NI: added 2024-03-15, 89 FR 18780\n"));
	assert_non_null(strstr(text, "#     note: Ethiopia: only its armed forces; not listed\n"));
	assert_non_null(strstr(text, "  us-d5: [CN, NI]  # list, checked 2026-01-10\n"));
	/* ... and the printed policy still loads and decides alike without the file. */
	struct policy *again = load_text(text);
	assert_decision(decide(again, (struct flow){.countries = "NI", .bytes_out = 1}), EF_BLOCK, "d", "NI");
	policy_free(again);
	free(text);
	CAPTURE(text, policy_describe_lists(p, day_s("2026-11-27"), out));
	assert_non_null(strstr(text, "# list @us-d5: 15 CFR 740 Supp. 1; checked 2026-01-10 (321 days ago)\n"));
	free(text);
	policy_free(p);
}

static void stale_lists_are_warned_about(void **state)
{
	struct policy_error err;
	char *text = NULL;

	tune_write("lists.yaml", tune_lists);
	/* Only us-d5 is used: the old jp list is not this policy's concern. */
	struct policy *p = tune_load("lists: { file: lists.yaml }\n"
				     "rules: [{ name: d, to: \"@us-d5\", action: block }]\n", &err);
	if (!p)
		fail_msg("%s", err.msg);
	/* 180 days after 2026-01-10 is 2026-07-09: that day is still fresh. */
	CAPTURE(text, assert_int_equal(policy_warnings(p, day_s("2026-07-09"), out), 0));
	free(text);
	CAPTURE(text, assert_int_equal(policy_warnings(p, day_s("2026-07-10"), out), 1));
	char want[256];
	snprintf(want, sizeof(want),
		 "%s/lists.yaml:5:14: warning: list `us-d5' was checked 2026-01-10, 181 days ago (more than lists.max_age_days, 180): re-check it against 15 CFR 740 Supp. 1\n",
		 tune_dir);
	assert_string_equal(text, want);
	free(text);
	policy_free(p);

	/* The age is the policy's to choose. */
	p = tune_load("lists: { file: lists.yaml, max_age_days: 30 }\n"
		      "rules: [{ name: d, to: \"@us-d5\", action: block }]\n", &err);
	assert_non_null(p);
	CAPTURE(text, assert_int_equal(policy_warnings(p, day_s("2026-02-10"), out), 1));
	assert_non_null(strstr(text, "31 days ago (more than lists.max_age_days, 30)"));
	free(text);
	policy_free(p);
}

static void default_policy_lists_are_dated_and_sourced(void **state)
{
	struct policy *p = load_default();
	char *text = NULL;

	/* Nicaragua, added to D:5 and 126.1 in March 2024, is designated. */
	assert_decision(decide(p, (struct flow){.countries = "NI", .enc = EF_ENC_CLEARTEXT, .bytes_out = 1}), EF_BLOCK,
			"designated-cleartext", "NI");
	CAPTURE(text, policy_print(p, out));
	assert_non_null(strstr(text, "#     NI: added 2024-03-15, 89 FR 18780\n"));
	assert_non_null(strstr(text, "#     NI: added 2024-03-15, 89 FR 18796\n"));
	const char *names[] = {"us-d5", "itar-126-1", "us-embargo", "eu-arms-embargo", "uk-arms-embargo",
			       "jp-un-arms-embargo"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char want[64];
		snprintf(want, sizeof(want), "#   @%s: ", names[i]);
		if (!strstr(text, want))
			fail_msg("the default policy's lists have no `%s'", names[i]);
	}
	/* Ethiopia is only partly covered: said, not listed. */
	assert_non_null(strstr(text, "#     note: Ethiopia (ET)"));
	free(text);
	policy_free(p);
}

static void list_errors_name_file_line_and_column(void **state)
{
	struct policy_error err;
	char want[256];

	tune_write("lists.yaml", tune_lists);
	assert_null(tune_load("lists: { file: nowhere.yaml }\n", &err));
	snprintf(want, sizeof(want), "%s/policy.yaml:1:16: lists.file: %s/nowhere.yaml: cannot open country lists", tune_dir,
		 tune_dir);
	assert_non_null(strstr(err.msg, want));
	tune_write("bad-date.yaml", "country_lists:\n  x:\n    source: s\n    checked: 2026-02-30\n    countries: [CN]\n");
	assert_null(tune_load("lists: { file: bad-date.yaml }\n", &err));
	snprintf(want, sizeof(want), "%s/bad-date.yaml:4:14: bad date `2026-02-30' for `checked'", tune_dir);
	assert_non_null(strstr(err.msg, want));
	tune_write("bad-cc.yaml", "country_lists:\n  x:\n    source: s\n    checked: 2026-02-03\n    countries: [CN, { code: UK }]\n");
	assert_null(tune_load("lists: { file: bad-cc.yaml }\n", &err));
	snprintf(want, sizeof(want), "%s/bad-cc.yaml:5:29: unknown country code `UK'", tune_dir);
	assert_non_null(strstr(err.msg, want));
	tune_write("no-source.yaml", "country_lists:\n  x:\n    checked: 2026-02-03\n    countries: [CN]\n");
	assert_null(tune_load("lists: { file: no-source.yaml }\n", &err));
	assert_non_null(strstr(err.msg, "no-source.yaml:3:5: list `x' has no `source'"));
	assert_null(tune_load("lists: { file: lists.yaml }\ngroups: { us-d5: [CN] }\n", &err));
	assert_non_null(strstr(err.msg, "policy.yaml:2:11: group `us-d5' has the name of a list"));
	assert_null(tune_load("lists: { file: lists.yaml }\nrules: [{ name: a, to: \"@us-d6\", action: log }]\n", &err));
	assert_non_null(strstr(err.msg, "policy.yaml:2:24: undefined group `@us-d6' (defined groups and lists: us-d5, jp-un-arms-embargo)"));
}

static const char tune_exceptions[] =
	"rules: [{ name: cn, to: CN, action: block }]\n"
	"exceptions:\n"
	"  - { name: vendor, cidr: 192.0.2.0/28, ports: [443], until: 2026-12-31,\n"
	"      owner: alice@example.com, reason: \"support session, ticket 4711\" }\n"
	"  - { host: \"*.updates.example.com\", until: 2026-06-30, owner: bob, reason: updates }\n";

static struct policy_decision decide_at(const struct policy *p, const char *when, uint16_t port, const char *sni)
{
	struct ef_geo geo = {.n = 1, .set = {ef_country_make("CN")}};
	struct ef_addr inside, remote;
	struct policy_decision d;

	assert_true(ef_addr_parse("10.1.2.3", &inside));
	assert_true(ef_addr_parse("192.0.2.1", &remote));
	struct policy_query q = {
		.inside = &inside, .remote = &remote, .inside_port = 40000, .remote_port = port,
		.l4 = IPPROTO_TCP, .enc = EF_ENC_CLEARTEXT, .app = "TLS", .bytes_out = 10, .geo = &geo,
		.time_us = when ? (uint64_t)day_s(when) * 1000000 : 0, .server_name = sni,
	};
	policy_decide(p, &q, &d);
	return d;
}

static void exceptions_apply_until_they_expire(void **state)
{
	struct policy *p = load_text(tune_exceptions);
	struct policy_decision d;

	d = decide_at(p, "2026-11-27", 443, NULL);
	assert_decision(d, EF_ALLOW, NULL, "CN");
	assert_string_equal(d.exception, "vendor");
	/* The last day counts whole; the next day the rules decide again. */
	d = decide_at(p, "2026-12-31", 443, NULL);
	assert_string_equal(d.exception, "vendor");
	d = decide_at(p, "2027-01-01", 443, NULL);
	assert_decision(d, EF_BLOCK, "cn", "CN");
	assert_null(d.exception);
	/* ports narrow it; a flow of unknown time gets no exception. */
	assert_decision(decide_at(p, "2026-11-27", 80, NULL), EF_BLOCK, "cn", "CN");
	assert_decision(decide_at(p, NULL, 443, NULL), EF_BLOCK, "cn", "CN");
	/* A host exception matches the server name the flow announced. */
	d = decide_at(p, "2026-06-01", 80, "cdn.updates.example.com");
	assert_string_equal(d.exception, "*.updates.example.com");
	assert_decision(decide_at(p, "2026-06-01", 80, "updates.example.com.evil.net"), EF_BLOCK, "cn", "CN");
	assert_decision(decide_at(p, "2026-07-01", 80, "cdn.updates.example.com"), EF_BLOCK, "cn", "CN");
	policy_free(p);
}

static void check_says_when_an_exception_expired(void **state)
{
	struct policy *p = load_text(tune_exceptions);
	char *text = NULL;

	CAPTURE(text, assert_int_equal(policy_warnings(p, day_s("2026-11-27"), out), 1));
	assert_string_equal(text,
			    "policy.yaml:5:45: warning: exception `*.updates.example.com' (owner bob) expired after 2026-06-30 and no longer applies: remove it, or renew it with a new `until'\n");
	free(text);
	CAPTURE(text, policy_describe_lists(p, day_s("2026-11-27"), out));
	assert_non_null(strstr(text, "# exception vendor: applies through 2026-12-31 (34 days left), owner alice@example.com: support session, ticket 4711\n"));
	assert_non_null(strstr(text, "# exception *.updates.example.com: EXPIRED after 2026-06-30 (owner bob), no longer applies\n"));
	free(text);
	/* The printed policy keeps them. */
	CAPTURE(text, policy_print(p, out));
	struct policy *again = load_text(text);
	assert_string_equal(decide_at(again, "2026-11-27", 443, NULL).exception, "vendor");
	policy_free(again);
	free(text);
	policy_free(p);
}

static void exception_errors_name_line_and_column(void **state)
{
	assert_load_error("exceptions:\n  - { cidr: 192.0.2.1, until: 2026-12-31, owner: a }\n",
			  "policy.yaml:2:5: exception has no `reason'", NULL);
	assert_load_error("exceptions:\n  - { cidr: 192.0.2.1, host: a.example, until: 2026-12-31, owner: a, reason: r }\n",
			  "policy.yaml:2:24: an exception needs exactly one of `cidr'", NULL);
	assert_load_error("exceptions:\n  - { cidr: 192.0.2.1, until: 31.12.2026, owner: a, reason: r }\n",
			  "policy.yaml:2:31: bad date `31.12.2026' for `until' (expected a date YYYY-MM-DD", NULL);
	assert_load_error("exceptions:\n  - { host: \"a b\", until: 2026-12-31, owner: a, reason: r }\n",
			  "policy.yaml:2:13: bad host `a b'", NULL);
	assert_load_error("exceptions:\n  - { cidr: 192.0.2.1, until: 2026-12-31, owner: a, reason: r, ports: [0] }\n",
			  "policy.yaml:2:72: bad port `0'", NULL);
}

static void check_warns_about_rules_that_never_fire(void **state)
{
	char *text = NULL;
	struct policy *p = load_text("networks: { internal: [10.0.0.0/8] }\n"
				     "rules:\n"
				     "  - { name: all-cn, to: CN, action: block }\n"
				     "  - { name: cn-tls, to: CN, app: [TLS], ports: [443], action: log }\n"
				     "  - { name: not-us, to: \"!US\", encryption: [cleartext], action: log }\n"
				     "  - { name: de-clear, to: DE, encryption: [cleartext], min_bytes_out: 10, action: block }\n"
				     "  - { name: outside, from: [192.0.2.0/24], action: log }\n"
				     "  - { name: narrow, from: [10.1.0.0/16], to: FR, action: log }\n");

	CAPTURE(text, assert_int_equal(policy_warnings(p, day_s("2026-11-27"), out), 3));
	assert_non_null(strstr(text, "policy.yaml:4:5: warning: rule `cn-tls' can never fire: rule `all-cn' (line 3) comes first"));
	assert_non_null(strstr(text, "policy.yaml:6:5: warning: rule `de-clear' can never fire: rule `not-us' (line 5) comes first"));
	assert_non_null(strstr(text, "policy.yaml:7:5: warning: rule `outside': from 192.0.2.0/24 is outside networks.internal"));
	assert_null(strstr(text, "`narrow'"));
	free(text);
	policy_free(p);

	p = load_text("default: log\n");
	CAPTURE(text, assert_int_equal(policy_warnings(p, day_s("2026-11-27"), out), 1));
	assert_string_equal(text, "policy.yaml:1:1: warning: the policy has no rules: every flow gets the default, log\n");
	free(text);
	policy_free(p);
	/* The default policy draws none. */
	p = load_default();
	CAPTURE(text, assert_int_equal(policy_warnings(p, day_s("2026-11-27"), out), 0));
	free(text);
	policy_free(p);
}

/* --- regions (ISO 3166-2) in rules, groups, lists and the prefilter ------ */

#define CITY_IPLOCATION_DB TEST_DATA "test-city-iplocation.mmdb"
#define CITY_MAXMIND_DB TEST_DATA "test-city-maxmind.mmdb"

static bool same_rule(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static struct policy_decision decide_region(const struct policy *p, const char *countries, const char *region)
{
	struct ef_geo geo = {0};
	struct ef_addr inside, remote;
	struct policy_decision d;

	for (const char *c = countries; c && *c; c += c[2] ? 3 : 2)
		geo.set[geo.n++] = ef_country_make(c);
	geo.region = region ? ef_region_parse(region) : 0;
	assert_true(ef_addr_parse("10.1.2.3", &inside));
	assert_true(ef_addr_parse("192.0.2.1", &remote));
	struct policy_query q = {
		.inside = &inside, .remote = &remote, .remote_port = 443, .l4 = IPPROTO_TCP,
		.enc = EF_ENC_ENCRYPTED, .app = "TLS", .bytes_out = 1, .geo = &geo,
	};
	policy_decide(p, &q, &d);
	return d;
}

static void rules_and_groups_name_regions(void **state)
{
	struct policy *p = load_text("groups:\n"
				     "  occupied: [UA-43, UA-40]\n"
				     "  covered: [\"@occupied\", UA-14, UA-09]\n"
				     "rules:\n"
				     "  - { name: occupied, to: \"@covered\", action: block }\n"
				     "  - { name: not-kyiv, to: \"!UA-30\", action: log }\n"
				     "  - { name: ru, to: RU, action: log }\n");

	assert_decision(decide_region(p, "UA", "UA-43"), EF_BLOCK, "occupied", "UA");
	assert_decision(decide_region(p, "UA", "UA-09"), EF_BLOCK, "occupied", "UA");
	/* The rest of the country is not the region; a negated region spares
	 * only itself; no region known is not the region. */
	assert_decision(decide_region(p, "UA", "UA-30"), EF_ALLOW, NULL, "UA");
	assert_decision(decide_region(p, "UA", "UA-46"), EF_LOG, "not-kyiv", "UA");
	assert_decision(decide_region(p, "UA", NULL), EF_LOG, "not-kyiv", "UA");
	/* A region counts whichever country the database gives with it:
	 * DB-IP places most of Crimea under RU. */
	assert_decision(decide_region(p, "RU", "UA-43"), EF_BLOCK, "occupied", "RU");
	assert_decision(decide_region(p, "RU UA", "UA-43"), EF_BLOCK, "occupied", "RU");
	char *text = NULL;
	CAPTURE(text, policy_print(p, out));
	assert_non_null(strstr(text, "  covered: [UA-43, UA-40, UA-14, UA-09]\n"));
	assert_non_null(strstr(text, "    to: [\"!UA-30\"]"));
	struct policy *again = load_text(text);
	assert_decision(decide_region(again, "UA", "UA-40"), EF_BLOCK, "occupied", "UA");
	policy_free(again);
	free(text);
	policy_free(p);

	assert_load_error("rules: [{ name: a, to: UA-4444, action: log }]\n",
			  "policy.yaml:1:24: unknown region `UA-4444' (expected an ISO 3166-2 code", NULL);
	assert_load_error("rules: [{ name: a, to: UK-43, action: log }]\n", "policy.yaml:1:24: unknown region `UK-43'", NULL);
}

/* Audit's path: a City database's region reaches the rule, in both layouts;
 * an override `country: UA-14' narrows (or widens) what the database says. */
static void judged_flows_carry_the_region(void **state)
{
	const char *paths[] = {CITY_MAXMIND_DB, CITY_IPLOCATION_DB};
	struct policy *p = load_text("networks:\n"
				     "  internal: [10.0.0.0/8]\n"
				     "  overrides: [{ cidr: 203.0.113.0/28, country: UA-14 }]\n"
				     "rules:\n"
				     "  - { name: crimea, to: [UA-43, UA-40], action: block }\n"
				     "  - { name: donetsk, to: UA-14, action: log }\n");
	size_t n_ov;
	const struct geodb_override *ov = policy_overrides(p, &n_ov);

	for (size_t i = 0; i < 2; i++) {
		char err[256];
		struct geodb *db = geodb_open(&paths[i], 1, ov, n_ov, err, sizeof(err));
		assert_non_null(db);
		const struct {
			const char *remote, *rule, *region;
		} cases[] = {
			{"198.51.100.9", "crimea", "UA-43"},
			{"198.51.100.140", "crimea", "UA-40"},
			{"198.51.100.200", "donetsk", "UA-14"},
			{"203.0.113.5", "donetsk", "UA-14"},  /* override */
			{"203.0.113.50", NULL, NULL},         /* UA-30 or unnamed */
			{"192.0.2.9", NULL, "UA-09"},
			{"100.64.0.9", i == 1 ? "crimea" : NULL, i == 1 ? "UA-40" : NULL}, /* RU, "Sebastopol City" */
		};
		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			struct ef_flow_record r = {.l4 = IPPROTO_TCP, .enc = EF_ENC_ENCRYPTED, .bytes_out = 5, .first_us = 1};
			struct policy_decision d;
			char got[8];
			assert_true(ef_addr_parse("10.1.1.1", &r.inside));
			assert_true(ef_addr_parse(cases[k].remote, &r.remote));
			policy_judge_flow(p, db, &r, &d);
			ef_region_str(r.geo.region, got);
			if (cases[k].region && strcmp(got, cases[k].region))
				fail_msg("%s in %s: region `%s', want %s", cases[k].remote, paths[i], got, cases[k].region);
			if (!same_rule(d.rule, cases[k].rule))
				fail_msg("%s in %s: rule %s, want %s", cases[k].remote, paths[i], d.rule ? d.rule : "(default)",
					 cases[k].rule ? cases[k].rule : "(default)");
		}
		geodb_close(db);
	}
	policy_free(p);
}

/* The gateway's prefilter: a region's networks are in the tier of the rule
 * that names it, and the rest of its country is not. */
static void prefilter_builds_region_sets(void **state)
{
	const char *paths[] = {CITY_MAXMIND_DB, CITY_IPLOCATION_DB};
	struct policy *p = load_text("networks: { overrides: [{ cidr: 203.0.113.0/28, country: UA-43 }] }\n"
				     "rules:\n"
				     "  - { name: crimea, to: [UA-43, UA-40], action: block }\n"
				     "  - { name: donetsk, to: UA-14, action: log }\n");
	size_t n_ov;
	const struct geodb_override *ov = policy_overrides(p, &n_ov);

	for (size_t i = 0; i < 2; i++) {
		char err[256];
		struct geodb *db = geodb_open(&paths[i], 1, ov, n_ov, err, sizeof(err));
		assert_non_null(db);
		struct prefilter *pf = prefilter_build(p, db, err, sizeof(err));
		if (!pf)
			fail_msg("prefilter_build: %s", err);
		static const struct {
			const char *addr;
			enum prefilter_tier tier;
		} cases[] = {
			{"198.51.100.1", TIER_BLOCK},  {"198.51.100.127", TIER_BLOCK}, {"198.51.100.130", TIER_BLOCK},
			{"2001:db8:7::5", TIER_BLOCK}, {"198.51.100.200", TIER_LOG},   {"192.0.2.1", TIER_NONE},
			{"203.0.113.3", TIER_BLOCK},   {"203.0.113.99", TIER_NONE},    {"2001:db8:8::1", TIER_NONE},
			{"198.18.0.1", TIER_NONE},
		};
		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			struct ef_addr a;
			assert_true(ef_addr_parse(cases[k].addr, &a));
			if (prefilter_tier_of(pf, &a) != cases[k].tier)
				fail_msg("%s in %s: tier %d, want %d", cases[k].addr, paths[i], prefilter_tier_of(pf, &a),
					 cases[k].tier);
		}
		prefilter_free(pf);
		geodb_close(db);
	}
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_blocks_cleartext_to_designated),
		cmocka_unit_test(default_logs_encrypted_or_empty_to_designated),
		cmocka_unit_test(default_blocks_anything_to_embargoed),
		cmocka_unit_test(default_allows_cleartext_to_conforming),
		cmocka_unit_test(default_logs_cleartext_to_nonconforming),
		cmocka_unit_test(default_logs_cleartext_to_unknown_country),
		cmocka_unit_test(default_takes_strictest_of_several_countries),
		cmocka_unit_test(default_points_at_pinned_database),
		cmocka_unit_test(default_knows_internal_networks),
		cmocka_unit_test(default_watches_designated_for_blocking),
		cmocka_unit_test(printed_policy_reads_back_the_same),
		cmocka_unit_test(from_matches_inside_address),
		cmocka_unit_test(ports_match_remote_port_and_ranges),
		cmocka_unit_test(app_matches_whole_name_or_either_half),
		cmocka_unit_test(protocol_matches_l4),
		cmocka_unit_test(min_bytes_out_is_a_threshold_with_suffixes),
		cmocka_unit_test(negated_list_matches_none_of_them_and_unknown),
		cmocka_unit_test(plain_to_never_matches_unknown_country),
		cmocka_unit_test(unplaced_address_is_also_judged_as_nowhere),
		cmocka_unit_test(cleartext_to_embedded_cn_address_is_blocked),
		cmocka_unit_test(local_scope_test_agrees_with_its_list),
		cmocka_unit_test(local_and_inside_destinations_get_no_country),
		cmocka_unit_test(embedded_inside_address_is_inside_for_nat64_only),
		cmocka_unit_test(one_silent_database_does_not_make_an_address_conforming),
		cmocka_unit_test(groups_expand_through_references),
		cmocka_unit_test(first_matching_rule_wins),
		cmocka_unit_test(other_sections_reach_the_engine),
		cmocka_unit_test(gateway_section),
		cmocka_unit_test(country_table_is_iso_3166),
		cmocka_unit_test(error_yaml_syntax),
		cmocka_unit_test(error_unknown_key),
		cmocka_unit_test(error_duplicate_key),
		cmocka_unit_test(error_unknown_country),
		cmocka_unit_test(error_undefined_group),
		cmocka_unit_test(error_group_cycle),
		cmocka_unit_test(error_duplicate_rule_name),
		cmocka_unit_test(error_missing_action),
		cmocka_unit_test(error_bad_cidr),
		cmocka_unit_test(error_bad_action),
		cmocka_unit_test(error_block_remote_on_log_rule),
		cmocka_unit_test(error_wrong_type),
		cmocka_unit_test(error_negation_mistakes),
		cmocka_unit_test(error_other_values),
		cmocka_unit_test(capture_source),
		cmocka_unit_test(error_missing_file),
		cmocka_unit_test(lists_are_groups_with_source_and_date),
		cmocka_unit_test(stale_lists_are_warned_about),
		cmocka_unit_test(default_policy_lists_are_dated_and_sourced),
		cmocka_unit_test(list_errors_name_file_line_and_column),
		cmocka_unit_test(exceptions_apply_until_they_expire),
		cmocka_unit_test(check_says_when_an_exception_expired),
		cmocka_unit_test(exception_errors_name_line_and_column),
		cmocka_unit_test(check_warns_about_rules_that_never_fire),
		cmocka_unit_test(rules_and_groups_name_regions),
		cmocka_unit_test(judged_flows_carry_the_region),
		cmocka_unit_test(prefilter_builds_region_sets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
