/*
 * enforce/policy_internal.h -- the loaded policy as its three readers see
 * it: policy.c builds it, policy_decide.c decides against it, policy_print.c
 * prints it.  Nothing outside enforce/ includes this; the interface is
 * enforce.h.
 *
 * Invariants of a loaded policy:
 *  - Everything it owns lives in one arena, freed at once by policy_free();
 *    nothing in it changes after policy_load*() returns, so any number of
 *    threads may decide against it.
 *  - Groups are expanded at load time: a rule's `to:` is a bitmap over the
 *    26*26 two-letter codes, and every code in it is an assigned ISO 3166-1
 *    code (or XK).
 *  - A rule with no `to:` has has_to == false and matches every country,
 *    unknown included; an omitted matcher of any other kind matches
 *    everything too (enc_mask all ones, n_ports == 0, ...).
 */
#ifndef EF_ENFORCE_POLICY_INTERNAL_H
#define EF_ENFORCE_POLICY_INTERNAL_H

#include "enforce.h"

#define COUNTRY_SLOTS (26 * 26)

/* Regions (ISO 3166-2 subdivisions, "UA-43") a set may name besides whole
 * countries: a handful in practice. */
#define POLICY_MAX_REGIONS 32

struct country_set {
	uint64_t bits[(COUNTRY_SLOTS + 63) / 64];
	uint8_t n_regions;
	ef_region regions[POLICY_MAX_REGIONS];
};

struct port_range {
	uint16_t lo, hi;
};

struct app_name {
	const char *name;
	size_t len;
};

struct rule {
	/* Matchers, in the order policy_decide() tries them (cheapest first). */
	uint8_t enc_mask;             /* bit per enum ef_encryption */
	bool has_l4;
	uint64_t l4[4];               /* bit per IPPROTO_* */
	uint64_t min_bytes_out;
	const struct port_range *ports;
	size_t n_ports;
	const struct ef_cidr *from;
	size_t n_from;
	const struct app_name *apps;
	size_t n_apps;
	bool has_to, to_negated;
	struct country_set to;

	enum ef_verdict action;
	uint32_t block_remote;
	const char *log_prefix;       /* NULL when not given */
	const char *name;
	const char *to_text;          /* `to:` as written, for policy_print() */
	unsigned line, col;
};

struct group {
	const char *name;
	struct country_set set;
};

/* One entry's note in a country list ("NI: added 2024-03-15, 89 FR 18780"). */
struct list_note {
	ef_country country;
	ef_region region;             /* 0 for a whole country */
	const char *note;
};

/*
 * A named, dated list from the file `lists.file` names (policy/lists.yaml):
 * a group a policy names as "@us-d5" but cannot change, with the legal
 * source and the date it was last checked against that source.
 */
struct country_list {
	const char *name, *title, *source, *as_of, *checked_text;
	int64_t checked_day;          /* days since 1970-01-01 */
	unsigned line, checked_line, checked_col; /* in lists_file */
	struct country_set set;
	const struct list_note *notes;
	size_t n_notes;
	const char *const *list_notes;
	size_t n_list_notes;
	bool used;                    /* some group or rule names it */
};

/*
 * A temporary, owned exception: flows whose remote end matches are allowed
 * whatever the rules say, until the end of `until` (UTC).  A remote end
 * matches by address (cidr) or by the server name the flow announced (host:
 * exact, or "*.example.com" for its subdomains); ports and app narrow it.
 */
struct policy_exception {
	const char *name, *owner, *reason, *until_text, *host;
	bool has_cidr;
	struct ef_cidr cidr;
	const struct port_range *ports;
	size_t n_ports;
	const struct app_name *apps;
	size_t n_apps;
	int64_t until_day;            /* last day it applies, days since 1970-01-01 */
	uint64_t until_us;            /* first microsecond it no longer applies */
	unsigned line, until_line, until_col;
};

struct arena_block {
	struct arena_block *next;
	size_t used, cap;             /* in units of max_align_t */
	max_align_t data[];
};

struct policy {
	struct arena_block *arena;
	const char *name, *dir;
	const char **geodb_paths;
	const char **geodb_written;       /* each path as the file has it */
	unsigned (*geodb_marks)[2];       /* line, column of each path in the file */
	size_t n_geodb;
	struct ef_cidr *internal;
	size_t n_internal;
	struct geodb_override *overrides;
	size_t n_overrides;
	struct group *groups;
	size_t n_groups;
	const char *lists_file;           /* resolved path, NULL without `lists:` */
	struct country_list *lists;
	size_t n_lists;
	uint32_t lists_max_age_days;
	struct policy_exception *exceptions;
	size_t n_exceptions;
	const char **interfaces;
	size_t n_interfaces;
	enum capture_source capture_source; /* the default resolved */
	bool fail_open;
	struct gateway_settings gateway;  /* defaults filled in */
	const char *metrics_listen;       /* metrics.listen, or NULL */
	struct rule *rules;
	size_t n_rules;
	enum ef_verdict def;
};

/* --- country sets ------------------------------------------------------ */

static inline int country_slot(ef_country c)
{
	int a = (c >> 8) - 'A', b = (c & 0xff) - 'A';

	if (a < 0 || a >= 26 || b < 0 || b >= 26)
		return -1;
	return a * 26 + b;
}

static inline ef_country slot_country(int slot)
{
	return (ef_country)((('A' + slot / 26) << 8) | ('A' + slot % 26));
}

static inline void set_add(struct country_set *s, ef_country c)
{
	int i = country_slot(c);

	if (i >= 0)
		s->bits[i / 64] |= (uint64_t)1 << (i % 64);
}

static inline bool set_has(const struct country_set *s, ef_country c)
{
	int i = country_slot(c);

	return i >= 0 && (s->bits[i / 64] >> (i % 64)) & 1;
}

static inline bool set_has_slot(const struct country_set *s, int i)
{
	return (s->bits[i / 64] >> (i % 64)) & 1;
}

static inline bool set_has_region(const struct country_set *s, ef_region r)
{
	for (size_t i = 0; i < s->n_regions; i++)
		if (s->regions[i] == r)
			return true;
	return false;
}

/* False when the regions no longer fit (POLICY_MAX_REGIONS). */
static inline bool set_add_region(struct country_set *s, ef_region r)
{
	if (set_has_region(s, r))
		return true;
	if (s->n_regions == POLICY_MAX_REGIONS)
		return false;
	s->regions[s->n_regions++] = r;
	return true;
}

static inline bool set_union(struct country_set *s, const struct country_set *t)
{
	bool ok = true;

	for (size_t i = 0; i < sizeof(s->bits) / sizeof(s->bits[0]); i++)
		s->bits[i] |= t->bits[i];
	for (size_t i = 0; i < t->n_regions; i++)
		ok &= set_add_region(s, t->regions[i]);
	return ok;
}

/* The names `protocol:` accepts, in the order policy_print() lists them. */
#define POLICY_N_PROTOCOLS 8
struct policy_protocol {
	const char *name;
	uint8_t number; /* IPPROTO_* */
};
extern const struct policy_protocol policy_protocols[POLICY_N_PROTOCOLS];

/* "TLS.Google" is matched by an entry "TLS", "Google" or "TLS.Google". */
bool policy_app_matches(const struct app_name *apps, size_t n_apps, const char *app);
bool policy_port_matches(const struct port_range *ports, size_t n_ports, uint16_t port);

/* The exception in force for the query, or NULL. */
const struct policy_exception *policy_exception_for(const struct policy *p, const struct policy_query *q);

/* "2026-11-27" -> days since 1970-01-01; false for anything else. */
bool policy_parse_date(const char *s, int64_t *day);

#endif
