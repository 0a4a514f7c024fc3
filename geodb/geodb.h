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
 */
#ifndef EF_GEODB_H
#define EF_GEODB_H

#include "../core/flow.h"

struct geodb;

struct geodb_override {
	struct ef_cidr cidr;
	ef_country country;
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
