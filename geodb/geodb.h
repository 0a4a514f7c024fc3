/*
 * geodb/geodb.h -- destination address -> country, through libmaxminddb.
 *
 * A geodb is one or more MaxMind DB files plus the config's CIDR overrides.
 * Each file's layout is detected when it is opened:
 *   - MaxMind GeoIP2/GeoLite2 and DB-IP: country/iso_code, falling back to
 *     registered_country/iso_code;
 *   - ip-location-db: country_code.
 * A file that is not a MaxMind DB, or that has neither layout, is refused at
 * open with a message naming the file.
 *
 * geodb_country_of() is called once per flow: it never allocates and never
 * fails; an address nothing places gets n == 0 (no known country).  An
 * override, when one contains the address (longest prefix wins), replaces
 * every database's answer.  Private and reserved ranges are looked up like
 * any other address.
 *
 * Addresses that carry an IPv4 destination (NAT64, 6to4, Teredo, IPv4-mapped;
 * geodb_embedded_ipv4() below) are placed twice, as themselves and as that
 * IPv4, each through the overrides and the databases as any address is; the
 * answer is the union.  A database is silent (ef_geo.unplaced) only when it
 * places neither: on an IPv6-only network behind NAT64 no database knows
 * 64:ff9b::/96, and that must not make every IPv4 destination unknown.
 *
 * With several databases, one that places an address nowhere sets
 * ef_geo.unplaced: the policy then judges the address as in every country
 * the others give and in no known country, the strictest of both.
 */
#ifndef EF_GEODB_H
#define EF_GEODB_H

#include "../core/flow.h"

struct geodb;

/*
 * An ISO 3166-2 subdivision, "UA-43": its country and one to three letters
 * or digits after the hyphen, packed into 32 bits (country << 16, then the
 * code in base 37); 0 is "none".  Regions are read from City databases:
 * MaxMind/DB-IP's subdivisions[0].iso_code ("43", with the record's country)
 * and ip-location-db's state1, an English name looked up in a table of the
 * names that matter to sanctions (geodb_region_by_name()).
 */
typedef uint32_t ef_region;
/* "UA-43" (case-insensitive) -> the region; 0 for anything else.  Whether
 * the country is assigned is the caller's question. */
ef_region ef_region_parse(const char *s);
/* "UA-43"; "" for 0. */
void ef_region_str(ef_region r, char out[8]);
static inline ef_country ef_region_country(ef_region r)
{
	return (ef_country)(r >> 16);
}
/* An ip-location-db state1 name ("Crimea", "Sebastopol City", "Donetsk
 * Oblast") of a record placed in country cc -> its ISO 3166-2 code; 0 when
 * the name is not in the table (which holds only the subdivisions sanctions
 * name: geodb/regions.c).  The regions are Ukraine's, and a record placed
 * in RU (as DB-IP places most of Crimea) gets them too: a region's country
 * (UA for UA-43) need not be the record's. */
ef_region geodb_region_by_name(ef_country cc, const char *name, size_t len);

struct geodb_override {
	struct ef_cidr cidr;
	ef_country country;
	ef_region region;    /* 0, or a subdivision of country (`country: UA-43') */
};

enum geodb_layout { GEODB_LAYOUT_MAXMIND = 1, GEODB_LAYOUT_IP_LOCATION_DB = 2 };

/*
 * Opens n_paths databases (0..EF_GEO_MAX_DB; 0 means overrides only).
 * On failure returns NULL and writes a one-line message such as
 * "/x/y.mmdb: not a MaxMind DB file (The MaxMind DB file contains invalid
 * metadata)" into err.  Overrides are copied.
 */
struct geodb *geodb_open(const char *const *paths, size_t n_paths,
			 const struct geodb_override *overrides, size_t n_overrides,
			 char *err, size_t errlen);
void geodb_close(struct geodb *db);

void geodb_country_of(const struct geodb *db, const struct ef_addr *addr, struct ef_geo *out);

/*
 * IPv6 addresses whose packets are delivered to an IPv4 address they carry:
 *   NAT64        64:ff9b::/96     RFC 6052: the IPv4 is the last 32 bits
 *   NAT64_LOCAL  64:ff9b:1::/48   RFC 8215 with RFC 6052's /48 layout: bits
 *                                 48-63 and 72-87 (bits 64-71, the `u'
 *                                 octet, are skipped whatever they hold)
 *   6TO4         2002::/16        RFC 3056: bits 16-47
 *   TEREDO       2001::/32        RFC 4380: the client's public IPv4 is the
 *                                 bitwise NOT of the last 32 bits
 *   MAPPED       ::ffff:0:0/96    as it appears in packets (parsed text is
 *                                 IPv4 already)
 * Returns the kind and writes the IPv4 to *v4, or GEODB_EMBED_NONE.  The
 * u octet, the suffix and Teredo's flags are not checked: a translator or
 * relay that ignores them still delivers to the IPv4, so fail closed.
 */
enum geodb_embedding {
	GEODB_EMBED_NONE = 0,
	GEODB_EMBED_NAT64,
	GEODB_EMBED_NAT64_LOCAL,
	GEODB_EMBED_6TO4,
	GEODB_EMBED_TEREDO,
	GEODB_EMBED_MAPPED,
};
enum geodb_embedding geodb_embedded_ipv4(const struct ef_addr *a, struct ef_addr *v4);
/* "NAT64 64:ff9b::/96", ...; "" for GEODB_EMBED_NONE. */
const char *geodb_embedding_name(enum geodb_embedding e);

/* The subdivision text the first database with one has for addr, as
 * stored (an iso_code such as "43", or a state1 name such as "Crimea"),
 * into buf; false when none has one.  For `lookup', which says when a name
 * is not in the table: not for the packet path. */
bool geodb_subdivision_text(const struct geodb *db, const struct ef_addr *addr, char *buf, size_t len);

/* Walks database i like geodb_walk(), calling fn for every network whose
 * record has a known region (in the name table, for ip-location-db files);
 * for building kernel sets of regions. */
typedef void (*geodb_region_fn)(const struct ef_cidr *net, ef_region region, void *ctx);
int geodb_walk_regions(const struct geodb *db, size_t i, geodb_region_fn fn, void *ctx, char *err,
		       size_t errlen);

size_t geodb_count(const struct geodb *db);
const char *geodb_path(const struct geodb *db, size_t i);
enum geodb_layout geodb_layout_of(const struct geodb *db, size_t i);
/* Build time of database i from its metadata, seconds since epoch. */
uint64_t geodb_build_epoch(const struct geodb *db, size_t i);
/* database_type from database i's metadata ("GeoLite2-Country", ...), "" when absent. */
const char *geodb_database_type(const struct geodb *db, size_t i);
/* The libmaxminddb this was linked with. */
const char *geodb_library_version(void);

/*
 * Walks database i's search tree and calls fn once for every network whose
 * country is in `wanted` (n_wanted codes; n_wanted == 0 means every country).
 * Networks come out as the tree stores them (not merged); IPv4 networks of an
 * IPv6 database are reported once, as IPv4, from the ::/96 subtree only.
 * Returns 0, or -1 with err written (corrupt tree).  This is for building
 * kernel sets (enforce/), never for the packet path.
 */
typedef void (*geodb_network_fn)(const struct ef_cidr *net, ef_country country, void *ctx);
int geodb_walk(const struct geodb *db, size_t i, const ef_country *wanted, size_t n_wanted,
	       geodb_network_fn fn, void *ctx, char *err, size_t errlen);

#endif
