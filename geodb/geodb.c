/*
 * geodb/geodb.c -- destination address -> country, through libmaxminddb.
 *
 * Each database file is mmap()ed once at open and never changes after; its
 * layout (where the country code sits in a record) is decided then, by
 * reading the first data records of its search tree, so the per-flow lookup
 * is one tree descent plus one fixed-path MMDB_aget_value() per file.
 *
 * Invariants:
 *  - A struct geodb holds 0..EF_GEO_MAX_DB open files, each with a layout
 *    that was seen in its own data; a file with neither layout never gets in.
 *  - Overrides are kept sorted longest prefix first (config order among
 *    equal prefixes), so the first override that contains an address is the
 *    one that decides.
 *  - Nothing here is written after geodb_open() returns: lookups and walks
 *    only read, so any number of threads may share one geodb.
 *  - geodb_country_of() allocates nothing and reports no error: a file that
 *    cannot answer for an address (IPv6 address in an IPv4 file, a record
 *    without a two-letter code) simply has no country for it.
 *
 * The search tree (MaxMind DB spec, "Search Tree Section"): node i has a left
 * (bit 0) and a right (bit 1) record; a record below node_count is another
 * node, equal to node_count is "no data", above it points into the data
 * section.  In an IPv6 file, IPv4 lives under ::/96 (96 zero bits), and
 * MaxMind's writer points ::ffff:0:0/96, 2001::/32 (Teredo) and 2002::/16
 * (6to4) at that same node, so the tree is a DAG; the walk below follows the
 * ::/96 path only, which makes it a tree again and reports each IPv4
 * network once, as IPv4.  Lookups still follow the aliases (a 6to4 address
 * gets its IPv4's answer, a Teredo address its server's); ::ffff:0:0/96 is
 * never walked, aliased or not.  The kernel sets cover those prefixes as
 * images of the IPv4 networks instead (enforce/nft.c), because every address
 * in them is also placed as the IPv4 it embeds (geodb_embedded_ipv4()).
 *
 *  - An address is unplaced (ef_geo.unplaced) when some database gave no
 *    country for it in any of its views, or nothing placed it at all.
 */
#include "geodb.h"

#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

struct geodb_file {
	MMDB_s mmdb;
	char *path;
	enum geodb_layout layout;
	/* The node reached by 96 zero bits in an IPv6 file: the IPv4 root,
	 * which aliases also point at.  NO_NODE when there is none. */
	uint32_t ipv4_root;
	/* The file holds no network of that family (an IPv4-only file; an IPv6
	 * file with nothing under ::/96, as ip-location-db's split city
	 * files): it has no opinion on such an address, which is not the
	 * same as placing it nowhere (ef_geo.unplaced). */
	bool no_ipv4, no_ipv6;
};

struct geodb {
	size_t n_files;
	struct geodb_file files[EF_GEO_MAX_DB];
	size_t n_overrides;
	struct geodb_override *overrides;
};

#define NO_NODE UINT32_MAX

static const char *const path_country_iso[] = {"country", "iso_code", NULL};
static const char *const path_registered_iso[] = {"registered_country", "iso_code", NULL};
static const char *const path_country_code[] = {"country_code", NULL};
static const char *const path_subdivision_iso[] = {"subdivisions", "0", "iso_code", NULL};
static const char *const path_state1[] = {"state1", NULL};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Reads the two-letter code at `path` of a record.  *cc is EF_COUNTRY_NONE
 * when the record has no such value, or one that is not two letters.  Only
 * a record that cannot be decoded is an error (an MMDB_* status).
 */
static int read_code(MMDB_entry_s *entry, const char *const *path, ef_country *cc)
{
	MMDB_entry_data_s data;
	int status = MMDB_aget_value(entry, &data, path);

	*cc = EF_COUNTRY_NONE;
	/* "country" present but not a map is a record of another shape, not
	 * a broken file. */
	if (status == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR)
		return MMDB_SUCCESS;
	if (status != MMDB_SUCCESS)
		return status;
	if (data.has_data && data.type == MMDB_DATA_TYPE_UTF8_STRING && data.data_size == 2) {
		char code[3] = {data.utf8_string[0], data.utf8_string[1], 0};
		*cc = ef_country_make(code);
	}
	return MMDB_SUCCESS;
}

static int record_country(const struct geodb_file *f, MMDB_entry_s *entry, ef_country *cc)
{
	int status;

	if (f->layout == GEODB_LAYOUT_IP_LOCATION_DB)
		return read_code(entry, path_country_code, cc);
	status = read_code(entry, path_country_iso, cc);
	if (status == MMDB_SUCCESS && *cc == EF_COUNTRY_NONE)
		status = read_code(entry, path_registered_iso, cc);
	return status;
}

/*
 * The record's first-level subdivision as stored: MaxMind/DB-IP City's
 * subdivisions[0].iso_code ("43"), ip-location-db city's state1
 * ("Crimea").  A pointer into the mapped file and its length; false when
 * the record has none (a Country database never has).
 */
static bool record_subdivision(const struct geodb_file *f, MMDB_entry_s *entry, const char **text,
			       size_t *len)
{
	MMDB_entry_data_s data;
	const char *const *path = f->layout == GEODB_LAYOUT_IP_LOCATION_DB ? path_state1 : path_subdivision_iso;

	if (MMDB_aget_value(entry, &data, path) != MMDB_SUCCESS || !data.has_data ||
	    data.type != MMDB_DATA_TYPE_UTF8_STRING || !data.data_size)
		return false;
	*text = data.utf8_string;
	*len = data.data_size;
	return true;
}

/* The record's region, as an ISO 3166-2 code of country cc; 0 when none is
 * known (no subdivision, or a state1 name not in the table). */
static ef_region record_region(const struct geodb_file *f, MMDB_entry_s *entry, ef_country cc)
{
	const char *text;
	size_t len;
	char code[8];

	if (cc == EF_COUNTRY_NONE || !record_subdivision(f, entry, &text, &len))
		return 0;
	if (f->layout == GEODB_LAYOUT_IP_LOCATION_DB)
		return geodb_region_by_name(cc, text, len);
	if (len > 3)
		return 0;
	ef_country_str(cc, code);
	code[2] = '-';
	memcpy(code + 3, text, len);
	code[3 + len] = 0;
	return ef_region_parse(code);
}

/* ---- search tree walk ---------------------------------------------------- */

/* Called for every data record the walk reaches, with the network it covers.
 * Returns 0 to go on, 1 to stop early, -1 after writing err. */
typedef int (*tree_visit_fn)(const struct ef_cidr *net, MMDB_entry_s *entry, void *ctx,
			     char *err, size_t errlen);

struct tree_frame {
	uint32_t node;
	uint8_t depth;
	uint8_t addr[16];
};

static bool is_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void set_bit(uint8_t *addr, unsigned bit)
{
	addr[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
}

static uint32_t find_ipv4_root(const MMDB_s *mmdb)
{
	MMDB_search_node_s sn;
	uint64_t node = 0;

	if (mmdb->metadata.ip_version != 6)
		return NO_NODE;
	for (int depth = 0; depth < 96; depth++) {
		if (node >= mmdb->metadata.node_count || MMDB_read_node(mmdb, (uint32_t)node, &sn))
			return NO_NODE;
		node = sn.left_record;
	}
	return node < mmdb->metadata.node_count ? (uint32_t)node : NO_NODE;
}

/* The 96 zero bits that lead to IPv4 end in the "no data" record: the file
 * has nothing to say of any IPv4 address.  (A data record on the way, such
 * as one for ::/64, does cover IPv4.) */
static bool ipv4_is_empty(const MMDB_s *mmdb)
{
	MMDB_search_node_s sn;
	uint64_t node = 0, count = mmdb->metadata.node_count;

	for (int depth = 0; depth < 96; depth++) {
		if (node >= count || MMDB_read_node(mmdb, (uint32_t)node, &sn))
			break;
		node = sn.left_record;
	}
	return node == count;
}

/*
 * Turns a data record at (addr, depth) of the tree into the networks an
 * ef_addr can fall in.  In an IPv6 file anything under ::/96 is IPv4; a
 * record above ::/96 (say ::/64) covers all of IPv4 as well as its IPv6
 * space, so it is given once as each.
 */
static int visit_record(const struct geodb_file *f, const uint8_t *addr, unsigned depth,
			MMDB_entry_s *entry, tree_visit_fn visit, void *ctx, char *err,
			size_t errlen)
{
	struct ef_cidr net;
	int r;

	memset(&net, 0, sizeof(net));
	if (f->mmdb.metadata.ip_version == 4) {
		net.addr.family = 4;
		memcpy(net.addr.b, addr, 4);
		net.prefix = (uint8_t)depth;
		return visit(&net, entry, ctx, err, errlen);
	}
	if (depth >= 96 && is_zero(addr, 12)) {
		net.addr.family = 4;
		memcpy(net.addr.b, addr + 12, 4);
		net.prefix = (uint8_t)(depth - 96);
		return visit(&net, entry, ctx, err, errlen);
	}
	net.addr.family = 6;
	memcpy(net.addr.b, addr, 16);
	net.prefix = (uint8_t)depth;
	r = visit(&net, entry, ctx, err, errlen);
	if (r == 0 && is_zero(addr, 16)) {
		memset(&net, 0, sizeof(net));
		net.addr.family = 4;
		r = visit(&net, entry, ctx, err, errlen);
	}
	return r;
}

/*
 * Depth-first, left (0) before right (1), so networks come out in address
 * order within each family.  The explicit stack holds at most one pending
 * right child per level.  Aliases of the IPv4 root and ::ffff:0:0/96 are
 * skipped; with them gone every node is reached at most once, so visiting
 * more nodes than the file has means the tree loops.
 */
static int tree_walk(const struct geodb_file *f, tree_visit_fn visit, void *ctx, char *err,
		     size_t errlen)
{
	const MMDB_s *mmdb = &f->mmdb;
	const uint32_t node_count = mmdb->metadata.node_count;
	const unsigned bits = mmdb->metadata.ip_version == 4 ? 32 : 128;
	struct tree_frame stack[2 * 128 + 2];
	size_t sp = 0;
	uint64_t visited = 0;
	int status, r;

	stack[sp++] = (struct tree_frame){.node = 0};
	while (sp) {
		struct tree_frame fr = stack[--sp];
		MMDB_search_node_s sn;

		if (++visited > node_count) {
			set_err(err, errlen, "%s: corrupt search tree (it reaches more nodes than "
				"the %u it has: a node points back up)", f->path, node_count);
			return -1;
		}
		status = MMDB_read_node(mmdb, fr.node, &sn);
		if (status != MMDB_SUCCESS) {
			set_err(err, errlen, "%s: corrupt search tree (node %u of %u: %s)",
				f->path, fr.node, node_count, MMDB_strerror(status));
			return -1;
		}
		/* Right first onto the stack, so left comes off first. */
		for (int side = 1; side >= 0; side--) {
			uint64_t rec = side ? sn.right_record : sn.left_record;
			uint8_t type = side ? sn.right_record_type : sn.left_record_type;
			MMDB_entry_s entry = side ? sn.right_record_entry : sn.left_record_entry;
			unsigned depth = fr.depth + 1u;
			uint8_t addr[16];

			memcpy(addr, fr.addr, 16);
			if (side)
				set_bit(addr, fr.depth);
			/* IPv4-mapped addresses are IPv4 to ef_addr: never asked as
			 * IPv6, whatever this subtree holds. */
			if (bits == 128 && depth == 96 && is_zero(addr, 10) && addr[10] == 0xff &&
			    addr[11] == 0xff)
				continue;
			switch (type) {
			case MMDB_RECORD_TYPE_EMPTY:
				break;
			case MMDB_RECORD_TYPE_SEARCH_NODE:
				if (rec == f->ipv4_root && !(depth == 96 && is_zero(addr, 16)))
					break; /* alias of the IPv4 tree */
				if (depth >= bits) {
					set_err(err, errlen, "%s: corrupt search tree (node %u is "
						"%u bits deep; addresses have %u)", f->path,
						(uint32_t)rec, depth, bits);
					return -1;
				}
				stack[sp].node = (uint32_t)rec;
				stack[sp].depth = (uint8_t)depth;
				memcpy(stack[sp].addr, addr, 16);
				sp++;
				break;
			case MMDB_RECORD_TYPE_DATA:
				r = visit_record(f, addr, depth, &entry, visit, ctx, err, errlen);
				if (r)
					return r < 0 ? -1 : 0;
				break;
			default:
				/* libmaxminddb calls a record of 0 invalid too: it
				 * would lead back to the root. */
				set_err(err, errlen, "%s: corrupt search tree (node %u points to "
					"record %llu, %s)", f->path, fr.node,
					(unsigned long long)rec,
					rec ? "past the data section" : "back to the root");
				return -1;
			}
		}
	}
	return 0;
}

/* ---- open: layout detection ------------------------------------------------ */

/* Enough records to get past a few without any country (anycast, satellite)
 * at the start of a MaxMind file, few enough to keep open instant. */
#define PROBE_RECORDS 64

struct probe {
	const char *path;
	unsigned seen;
	enum geodb_layout layout; /* 0 until decided */
};

static int probe_has(MMDB_entry_s *entry, const char *const *path, bool *has, int *status)
{
	MMDB_entry_data_s data;

	*status = MMDB_aget_value(entry, &data, path);
	if (*status == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR)
		*status = MMDB_SUCCESS;
	*has = *status == MMDB_SUCCESS && data.has_data &&
	       data.type == MMDB_DATA_TYPE_UTF8_STRING;
	return *status;
}

static int probe_visit(const struct ef_cidr *net, MMDB_entry_s *entry, void *ctx, char *err,
		       size_t errlen)
{
	struct probe *p = ctx;
	bool has;
	int status;

	if (probe_has(entry, path_country_iso, &has, &status) == MMDB_SUCCESS && has)
		p->layout = GEODB_LAYOUT_MAXMIND;
	else if (status == MMDB_SUCCESS &&
		 probe_has(entry, path_registered_iso, &has, &status) == MMDB_SUCCESS && has)
		p->layout = GEODB_LAYOUT_MAXMIND;
	else if (status == MMDB_SUCCESS &&
		 probe_has(entry, path_country_code, &has, &status) == MMDB_SUCCESS && has)
		p->layout = GEODB_LAYOUT_IP_LOCATION_DB;
	if (status != MMDB_SUCCESS) {
		set_err(err, errlen, "%s: corrupt MaxMind DB file (%s)", p->path,
			MMDB_strerror(status));
		return -1;
	}
	return p->layout || ++p->seen >= PROBE_RECORDS;
}

static bool detect_layout(struct geodb_file *f, char *err, size_t errlen)
{
	struct probe p = {.path = f->path};
	const char *type = f->mmdb.metadata.database_type;

	if (tree_walk(f, probe_visit, &p, err, errlen) < 0)
		return false;
	if (!p.layout) {
		set_err(err, errlen, "%s: database type `%s' has no country data (expected "
			"country/iso_code or country_code)", f->path, type ? type : "");
		return false;
	}
	f->layout = p.layout;
	return true;
}

static bool open_file(struct geodb_file *f, const char *path, char *err, size_t errlen)
{
	int status = MMDB_open(path, MMDB_MODE_MMAP, &f->mmdb);
	int saved_errno = errno;

	if (status != MMDB_SUCCESS) {
		/* libmaxminddb has already released what it took. */
		struct stat st;

		switch (status) {
		case MMDB_FILE_OPEN_ERROR:
		case MMDB_IO_ERROR:
			/* mmap() fails on both with EINVAL / ENODEV, which would
			 * say nothing useful. */
			if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
				set_err(err, errlen, "%s: is a directory, not a MaxMind DB file",
					path);
				break;
			}
			if (stat(path, &st) == 0 && st.st_size == 0) {
				set_err(err, errlen, "%s: empty file, not a MaxMind DB file", path);
				break;
			}
			set_err(err, errlen, "%s: cannot read (%s: %s)", path,
				MMDB_strerror(status), strerror(saved_errno));
			break;
		case MMDB_INVALID_METADATA_ERROR:
		case MMDB_UNKNOWN_DATABASE_FORMAT_ERROR:
			set_err(err, errlen, "%s: not a MaxMind DB file (%s)", path,
				MMDB_strerror(status));
			break;
		default:
			set_err(err, errlen, "%s: corrupt MaxMind DB file (%s)", path,
				MMDB_strerror(status));
			break;
		}
		return false;
	}
	f->path = strdup(path);
	if (!f->path) {
		MMDB_close(&f->mmdb);
		set_err(err, errlen, "%s: out of memory", path);
		return false;
	}
	f->ipv4_root = find_ipv4_root(&f->mmdb);
	f->no_ipv6 = f->mmdb.metadata.ip_version == 4;
	f->no_ipv4 = f->mmdb.metadata.ip_version == 6 && ipv4_is_empty(&f->mmdb);
	if (!detect_layout(f, err, errlen)) {
		MMDB_close(&f->mmdb);
		free(f->path);
		f->path = NULL;
		return false;
	}
	return true;
}

/* Stable, so that among equal prefixes the config's order decides; override
 * lists are short, so insertion sort is enough. */
static void sort_overrides(struct geodb_override *o, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct geodb_override key = o[i];
		size_t j = i;

		while (j > 0 && o[j - 1].cidr.prefix < key.cidr.prefix) {
			o[j] = o[j - 1];
			j--;
		}
		o[j] = key;
	}
}

struct geodb *geodb_open(const char *const *paths, size_t n_paths,
			 const struct geodb_override *overrides, size_t n_overrides,
			 char *err, size_t errlen)
{
	struct geodb *db;

	if (n_paths > EF_GEO_MAX_DB) {
		set_err(err, errlen, "%zu country databases given; at most %d can be used",
			n_paths, EF_GEO_MAX_DB);
		return NULL;
	}
	db = calloc(1, sizeof(*db));
	if (!db)
		goto oom;
	if (n_overrides) {
		db->overrides = malloc(n_overrides * sizeof(*overrides));
		if (!db->overrides)
			goto oom;
		memcpy(db->overrides, overrides, n_overrides * sizeof(*overrides));
		db->n_overrides = n_overrides;
		sort_overrides(db->overrides, n_overrides);
	}
	for (size_t i = 0; i < n_paths; i++) {
		if (!open_file(&db->files[i], paths[i], err, errlen))
			goto fail;
		db->n_files++;
	}
	return db;

oom:
	set_err(err, errlen, "out of memory opening the country databases");
fail:
	geodb_close(db);
	return NULL;
}

void geodb_close(struct geodb *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->n_files; i++) {
		MMDB_close(&db->files[i].mmdb);
		free(db->files[i].path);
	}
	free(db->overrides);
	free(db);
}

/* ---- per flow ------------------------------------------------------------- */

static const uint8_t nat64_prefix[12] = {0x00, 0x64, 0xff, 0x9b};
static const uint8_t nat64_local_prefix[6] = {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01};
static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

enum geodb_embedding geodb_embedded_ipv4(const struct ef_addr *a, struct ef_addr *v4)
{
	const uint8_t *b = a->b;
	enum geodb_embedding e = GEODB_EMBED_NONE;
	uint8_t x[4];

	if (a->family != 6)
		return GEODB_EMBED_NONE;
	if (!memcmp(b, nat64_prefix, 12)) {
		e = GEODB_EMBED_NAT64;
		memcpy(x, b + 12, 4);
	} else if (!memcmp(b, nat64_local_prefix, 6)) {
		e = GEODB_EMBED_NAT64_LOCAL;
		x[0] = b[6], x[1] = b[7], x[2] = b[9], x[3] = b[10];
	} else if (b[0] == 0x20 && b[1] == 0x02) {
		e = GEODB_EMBED_6TO4;
		memcpy(x, b + 2, 4);
	} else if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) {
		e = GEODB_EMBED_TEREDO;
		for (int i = 0; i < 4; i++)
			x[i] = (uint8_t)~b[12 + i];
	} else if (!memcmp(b, mapped_prefix, 12)) {
		e = GEODB_EMBED_MAPPED;
		memcpy(x, b + 12, 4);
	} else {
		return GEODB_EMBED_NONE;
	}
	memset(v4, 0, sizeof(*v4));
	v4->family = 4;
	memcpy(v4->b, x, 4);
	return e;
}

const char *geodb_embedding_name(enum geodb_embedding e)
{
	switch (e) {
	case GEODB_EMBED_NAT64:
		return "NAT64 64:ff9b::/96";
	case GEODB_EMBED_NAT64_LOCAL:
		return "NAT64 64:ff9b:1::/48";
	case GEODB_EMBED_6TO4:
		return "6to4 2002::/16";
	case GEODB_EMBED_TEREDO:
		return "Teredo 2001::/32";
	case GEODB_EMBED_MAPPED:
		return "IPv4-mapped ::ffff:0:0/96";
	default:
		return "";
	}
}

static void add_country(struct ef_geo *out, ef_country cc)
{
	size_t k;

	if (cc == EF_COUNTRY_NONE)
		return;
	for (k = 0; k < out->n && out->set[k] != cc; k++)
		;
	/* Two views of at most EF_GEO_MAX_DB answers each: set[] never fills. */
	if (k == out->n && out->n < EF_GEO_MAX_COUNTRIES)
		out->set[out->n++] = cc;
}

/*
 * Places one address (a view: the address itself, or the IPv4 it embeds)
 * into out, and marks in placed[] each database that gave it a country.  An
 * override that contains the address answers for every database.  per_db[i]
 * keeps the first view's answer that database i gave.
 */
static void place_view(const struct geodb *db, const struct ef_addr *addr, struct ef_geo *out,
		       bool placed[EF_GEO_MAX_DB])
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} sa;

	for (size_t i = 0; i < db->n_overrides; i++) {
		const struct geodb_override *o = &db->overrides[i];

		if (!ef_cidr_contains(&o->cidr, addr))
			continue;
		out->overridden = true;
		if (!out->region)
			out->region = o->region;
		for (size_t j = 0; j < db->n_files; j++) {
			if (out->per_db[j] == EF_COUNTRY_NONE)
				out->per_db[j] = o->country;
			placed[j] |= o->country != EF_COUNTRY_NONE;
		}
		add_country(out, o->country);
		return;
	}

	memset(&sa, 0, sizeof(sa));
	if (addr->family == 4) {
		sa.in4.sin_family = AF_INET;
		memcpy(&sa.in4.sin_addr, addr->b, 4);
	} else if (addr->family == 6) {
		sa.in6.sin6_family = AF_INET6;
		memcpy(&sa.in6.sin6_addr, addr->b, 16);
	} else {
		return;
	}
	for (size_t i = 0; i < db->n_files; i++) {
		const struct geodb_file *f = &db->files[i];
		int mmdb_error;
		MMDB_lookup_result_s r;
		ef_country cc = EF_COUNTRY_NONE;

		if ((addr->family == 4 && f->no_ipv4) || (addr->family == 6 && f->no_ipv6)) {
			placed[i] = true;
			continue;
		}
		r = MMDB_lookup_sockaddr(&f->mmdb, &sa.sa, &mmdb_error);

		/* An IPv6 address asked of an IPv4-only file is an error here,
		 * and simply "not in this file" to the caller. */
		if (mmdb_error != MMDB_SUCCESS || !r.found_entry)
			continue;
		if (record_country(f, &r.entry, &cc) != MMDB_SUCCESS || cc == EF_COUNTRY_NONE)
			continue;
		if (out->per_db[i] == EF_COUNTRY_NONE)
			out->per_db[i] = cc;
		placed[i] = true;
		add_country(out, cc);
		if (!out->region)
			out->region = record_region(f, &r.entry, cc);
	}
}

bool geodb_subdivision_text(const struct geodb *db, const struct ef_addr *addr, char *buf, size_t len)
{
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
	struct sockaddr_in in4 = {.sin_family = AF_INET};
	struct sockaddr *sa = addr->family == 4 ? (struct sockaddr *)&in4 : (struct sockaddr *)&in6;

	memcpy(&in4.sin_addr, addr->b, 4);
	memcpy(&in6.sin6_addr, addr->b, 16);
	for (size_t i = 0; i < db->n_files && len; i++) {
		int mmdb_error;
		MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&db->files[i].mmdb, sa, &mmdb_error);
		const char *text;
		size_t n;
		if (mmdb_error != MMDB_SUCCESS || !r.found_entry ||
		    !record_subdivision(&db->files[i], &r.entry, &text, &n))
			continue;
		if (n >= len)
			n = len - 1;
		memcpy(buf, text, n);
		buf[n] = 0;
		return true;
	}
	return false;
}

void geodb_country_of(const struct geodb *db, const struct ef_addr *addr, struct ef_geo *out)
{
	bool placed[EF_GEO_MAX_DB] = {false};
	struct ef_addr v4;
	enum geodb_embedding e = geodb_embedded_ipv4(addr, &v4);

	memset(out, 0, sizeof(*out));
	out->n_db = (uint8_t)db->n_files;
	/* The embedded IPv4 first, so that per_db[] shows the answer for
	 * where the packets are delivered. */
	if (e != GEODB_EMBED_NONE) {
		out->embedding = (uint8_t)e;
		memcpy(out->embedded_ipv4, v4.b, 4);
		place_view(db, &v4, out, placed);
	}
	place_view(db, addr, out, placed);
	out->unplaced = out->n == 0;
	for (size_t i = 0; i < db->n_files; i++)
		out->unplaced |= !placed[i];
}

size_t geodb_count(const struct geodb *db)
{
	return db->n_files;
}

const char *geodb_path(const struct geodb *db, size_t i)
{
	return i < db->n_files ? db->files[i].path : NULL;
}

enum geodb_layout geodb_layout_of(const struct geodb *db, size_t i)
{
	return i < db->n_files ? db->files[i].layout : 0;
}

uint64_t geodb_build_epoch(const struct geodb *db, size_t i)
{
	return i < db->n_files ? db->files[i].mmdb.metadata.build_epoch : 0;
}

const char *geodb_database_type(const struct geodb *db, size_t i)
{
	const char *t = i < db->n_files ? db->files[i].mmdb.metadata.database_type : NULL;

	return t ? t : "";
}

const char *geodb_library_version(void)
{
	return MMDB_lib_version();
}

/* ---- walk for kernel sets ------------------------------------------------- */

/*
 * Tens of thousands of tree records share a few hundred data records (one
 * per country), so each decoded country is remembered by its data offset in
 * a direct-mapped cache; a file with many distinct records (a City DB) only
 * misses more.
 */
#define WALK_CACHE_SIZE 4096

struct walk {
	const struct geodb_file *f;
	bool all;
	uint8_t wanted[65536 / 8]; /* bit per ef_country */
	uint32_t cache_key[WALK_CACHE_SIZE]; /* data offset + 1; 0 = empty */
	ef_country cache_country[WALK_CACHE_SIZE];
	geodb_network_fn fn;
	void *ctx;
};

static int walk_visit(const struct ef_cidr *net, MMDB_entry_s *entry, void *ctx, char *err,
		      size_t errlen)
{
	struct walk *w = ctx;
	uint32_t slot = (entry->offset * 2654435761u) >> 20; /* 12 bits */
	ef_country cc;

	if (w->cache_key[slot] == entry->offset + 1) {
		cc = w->cache_country[slot];
	} else {
		int status = record_country(w->f, entry, &cc);

		if (status != MMDB_SUCCESS) {
			set_err(err, errlen, "%s: corrupt data record at offset %u (%s)",
				w->f->path, entry->offset, MMDB_strerror(status));
			return -1;
		}
		w->cache_key[slot] = entry->offset + 1;
		w->cache_country[slot] = cc;
	}
	if (cc == EF_COUNTRY_NONE)
		return 0;
	if (w->all || (w->wanted[cc / 8] & (1u << (cc % 8))))
		w->fn(net, cc, w->ctx);
	return 0;
}

/* As struct walk: each data record's region decoded once (a country
 * database's few hundred records all say "none"). */
struct region_walk {
	const struct geodb_file *f;
	geodb_region_fn fn;
	void *ctx;
	uint32_t cache_key[WALK_CACHE_SIZE];
	ef_region cache_region[WALK_CACHE_SIZE];
};

static int region_visit(const struct ef_cidr *net, MMDB_entry_s *entry, void *ctx, char *err, size_t errlen)
{
	struct region_walk *w = ctx;
	uint32_t slot = (entry->offset * 2654435761u) >> 20; /* 12 bits */
	ef_region r;

	if (w->cache_key[slot] == entry->offset + 1) {
		r = w->cache_region[slot];
	} else {
		ef_country cc;
		int status = record_country(w->f, entry, &cc);
		if (status != MMDB_SUCCESS) {
			set_err(err, errlen, "%s: corrupt data record at offset %u (%s)", w->f->path, entry->offset,
				MMDB_strerror(status));
			return -1;
		}
		r = record_region(w->f, entry, cc);
		w->cache_key[slot] = entry->offset + 1;
		w->cache_region[slot] = r;
	}
	if (r)
		w->fn(net, r, w->ctx);
	return 0;
}

int geodb_walk_regions(const struct geodb *db, size_t i, geodb_region_fn fn, void *ctx, char *err,
		       size_t errlen)
{
	if (i >= db->n_files) {
		set_err(err, errlen, "no country database number %zu (%zu open)", i, db->n_files);
		return -1;
	}
	struct region_walk *w = calloc(1, sizeof(*w));
	if (!w) {
		set_err(err, errlen, "%s: out of memory walking the search tree", db->files[i].path);
		return -1;
	}
	*w = (struct region_walk){.f = &db->files[i], .fn = fn, .ctx = ctx};
	int r = tree_walk(w->f, region_visit, w, err, errlen);
	free(w);
	return r;
}

int geodb_walk(const struct geodb *db, size_t i, const ef_country *wanted, size_t n_wanted,
	       geodb_network_fn fn, void *ctx, char *err, size_t errlen)
{
	struct walk *w;
	int r;

	if (i >= db->n_files) {
		set_err(err, errlen, "no country database number %zu (%zu open)", i, db->n_files);
		return -1;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		set_err(err, errlen, "%s: out of memory walking the search tree",
			db->files[i].path);
		return -1;
	}
	w->f = &db->files[i];
	w->all = n_wanted == 0;
	for (size_t k = 0; k < n_wanted; k++)
		w->wanted[wanted[k] / 8] |= (uint8_t)(1u << (wanted[k] % 8));
	w->fn = fn;
	w->ctx = ctx;
	r = tree_walk(w->f, walk_visit, w, err, errlen);
	free(w);
	return r;
}
