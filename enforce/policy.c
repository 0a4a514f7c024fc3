/*
 * enforce/policy.c -- reads the policy file into a struct policy.
 *
 * The whole YAML document is loaded with libyaml's document API, then walked
 * against the schema (docs/configuration.md).  Every node keeps its start
 * mark, so every error names FILE:LINE:COL of the node at fault, quotes what
 * was written and says what would be right.  The first error ends the load;
 * everything allocated so far is freed and the caller gets NULL, never a
 * half-built policy.
 *
 * The walk only ever descends as deep as the schema does, so documents that
 * alias a node inside itself (`&a [*a]`, which libyaml builds as a cycle)
 * cannot make it loop; such a node is simply of the wrong type somewhere.
 */
#include "policy_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#define POLICY_MAX_FILE (64u << 20)
#define RULE_NAME_MAX 128
#define LOG_PREFIX_MAX 64
#define IFNAME_MAX 15    /* IFNAMSIZ - 1 */
#define GROUP_DEPTH_MAX 64

/* --- the arena --------------------------------------------------------- */

#define ARENA_UNITS (16384 / sizeof(max_align_t))

/* Zeroed memory that lives as long as the policy. */
static void *arena_alloc(struct policy *p, size_t size)
{
	size_t units = size / sizeof(max_align_t) + (size % sizeof(max_align_t) != 0);
	struct arena_block *b = p->arena;

	if (units == 0)
		units = 1;
	if (b && b->cap - b->used >= units) {
		void *r = &b->data[b->used];
		b->used += units;
		return r;
	}
	size_t cap = units > ARENA_UNITS ? units : ARENA_UNITS;
	if (cap > (SIZE_MAX - sizeof(*b)) / sizeof(max_align_t))
		return NULL;
	b = calloc(1, sizeof(*b) + cap * sizeof(max_align_t));
	if (!b)
		return NULL;
	b->cap = cap;
	b->used = units;
	/* A block bigger than usual goes behind the current one, which may
	 * still have room for the small allocations that follow. */
	if (units > ARENA_UNITS && p->arena) {
		b->next = p->arena->next;
		p->arena->next = b;
	} else {
		b->next = p->arena;
		p->arena = b;
	}
	return b->data;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (struct arena_block *b = p->arena, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	free(p);
}

/* --- loading: plumbing ------------------------------------------------- */

struct group_def {
	const yaml_node_t *key, *value;
	enum { GROUP_NEW, GROUP_RESOLVING, GROUP_DONE } state;
};

struct loader {
	const char *name;              /* the file, as messages name it */
	const char *text;
	size_t len;
	yaml_document_t doc;
	struct policy *p;
	struct policy_error *err;
	struct group_def *group_defs;  /* parallel to p->groups */
	size_t group_stack[GROUP_DEPTH_MAX];
	size_t group_depth;
	char shown[80];
};

static void vfail_at(struct loader *ld, size_t line, size_t col, const char *fmt, va_list ap)
{
	size_t size = sizeof(ld->err->msg);
	int n = snprintf(ld->err->msg, size, "%s:%zu:%zu: ", ld->name, line, col);

	if (n >= 0 && (size_t)n < size)
		vsnprintf(ld->err->msg + n, size - (size_t)n, fmt, ap);
}

__attribute__((format(printf, 3, 4)))
static bool fail(struct loader *ld, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail_at(ld, n->start_mark.line + 1, n->start_mark.column + 1, fmt, ap);
	va_end(ap);
	return false;
}

__attribute__((format(printf, 4, 5)))
static bool fail_at(struct loader *ld, size_t line, size_t col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail_at(ld, line, col, fmt, ap);
	va_end(ap);
	return false;
}

/* A user's value as a message quotes it: one line, not too long. */
static const char *shown(struct loader *ld, const char *s)
{
	size_t o = 0, max = sizeof(ld->shown) - 4;

	for (; *s && o < max; s++)
		ld->shown[o++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	strcpy(ld->shown + o, *s ? "..." : "");
	return ld->shown;
}

static void *ld_alloc(struct loader *ld, size_t n, size_t size)
{
	void *r = NULL;

	if (!size || n <= SIZE_MAX / size)
		r = arena_alloc(ld->p, n * size);
	if (!r)
		snprintf(ld->err->msg, sizeof(ld->err->msg), "%s: out of memory", ld->name);
	return r;
}

static char *ld_strdup(struct loader *ld, const char *s)
{
	size_t len = strlen(s);
	char *r = ld_alloc(ld, 1, len + 1);

	if (r)
		memcpy(r, s, len + 1);
	return r;
}

static yaml_node_t *node_at(struct loader *ld, int id)
{
	return yaml_document_get_node(&ld->doc, id);
}

static const char *str(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* `key:` with nothing after it, or ~ or null. */
static bool is_null(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *s = str(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static const char *kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "a single value";
	}
}

/*
 * An explicit tag is never what a policy means; the usual way to get one by
 * accident is an unquoted negation, `to: !US`, which YAML reads as the tag
 * "!US" on an empty value.
 */
static bool check_tag(struct loader *ld, const yaml_node_t *n)
{
	const char *want = n->type == YAML_SCALAR_NODE     ? YAML_STR_TAG
			   : n->type == YAML_SEQUENCE_NODE ? YAML_SEQ_TAG
							   : YAML_MAP_TAG;
	const char *tag = (const char *)n->tag;

	if (!tag || !strcmp(tag, want))
		return true;
	if (tag[0] == '!' && n->type == YAML_SCALAR_NODE && !*str(n))
		return fail(ld, n, "unexpected YAML tag `%s' (to negate, quote the value: \"%s\")",
			    shown(ld, tag), ld->shown);
	return fail(ld, n, "unexpected YAML tag `%s' (write the value without a tag)",
		    shown(ld, tag));
}

/* `what' is a phrase such as "`action'"; `expected' what the value may be. */
static bool expect_scalar(struct loader *ld, const yaml_node_t *n, const char *what,
			  const char *expected)
{
	if (n->type != YAML_SCALAR_NODE)
		return fail(ld, n, "%s must be a single value, not %s (expected %s)", what, kind(n),
			    expected);
	if (!check_tag(ld, n))
		return false;
	if (is_null(n))
		return fail(ld, n, "%s has no value (expected %s)", what, expected);
	return true;
}

typedef bool (*item_fn)(struct loader *ld, const yaml_node_t *item, size_t i, void *ctx);

/* Items of a list, or a single value as a list of one.  Empty lists are
 * refused unless allow_empty; a null value is then an empty list. */
static size_t count_items(const yaml_node_t *n)
{
	if (n->type == YAML_SEQUENCE_NODE)
		return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	return is_null(n) ? 0 : 1;
}

static bool each_item(struct loader *ld, const yaml_node_t *n, const char *key,
		      const char *expected, bool allow_empty, item_fn fn, void *ctx)
{
	char what[64];

	snprintf(what, sizeof(what), "`%s'", key);
	if (n->type == YAML_MAPPING_NODE)
		return fail(ld, n, "%s must be a list or a single value, not a mapping (expected %s)",
			    what, expected);
	if (!check_tag(ld, n))
		return false;
	if (n->type == YAML_SCALAR_NODE) {
		if (is_null(n)) {
			if (allow_empty)
				return true;
			return fail(ld, n, "%s has no value (expected %s)", what, expected);
		}
		return fn(ld, n, 0, ctx);
	}
	if (count_items(n) == 0 && !allow_empty)
		return fail(ld, n, "%s is an empty list (expected %s; omit `%s' to match anything)",
			    what, expected, key);
	snprintf(what, sizeof(what), "each item of `%s'", key);
	size_t i = 0;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++, i++) {
		const yaml_node_t *item = node_at(ld, *it);
		if (!expect_scalar(ld, item, what, expected) || !fn(ld, item, i, ctx))
			return false;
	}
	return true;
}

/* One key a mapping may have, and where it was found. */
struct field {
	const char *key;
	const yaml_node_t *key_node, *value;
};

/*
 * Fills fields[].value from a mapping, refusing keys not in fields[] and
 * keys given twice.  `what' names the mapping: "rule", "networks".  A null
 * value counts as an empty mapping.
 */
static bool read_mapping(struct loader *ld, const yaml_node_t *map, const char *what,
			 struct field *fields, size_t n_fields)
{
	char keys[256];
	size_t o = 0;

	for (size_t i = 0; i < n_fields; i++) {
		int n = snprintf(keys + o, sizeof(keys) - o, "%s%s", i ? ", " : "", fields[i].key);
		if (n > 0 && (size_t)n < sizeof(keys) - o)
			o += (size_t)n;
	}
	if (is_null(map))
		return true;
	if (map->type != YAML_MAPPING_NODE)
		return fail(ld, map, "%s must be a mapping with keys %s, not %s", what, keys,
			    kind(map));
	if (!check_tag(ld, map))
		return false;
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		const yaml_node_t *k = node_at(ld, pair->key);
		size_t i;

		if (k->type != YAML_SCALAR_NODE)
			return fail(ld, k, "a key in %s must be a name, not %s", what, kind(k));
		for (i = 0; i < n_fields; i++)
			if (!strcmp(str(k), fields[i].key))
				break;
		if (i == n_fields)
			return fail(ld, k, "unknown key `%s' in %s (expected one of: %s)",
				    shown(ld, str(k)), what, keys);
		if (fields[i].value)
			return fail(ld, k, "duplicate key `%s' in %s (first given at line %zu)",
				    fields[i].key, what, fields[i].key_node->start_mark.line + 1);
		fields[i].key_node = k;
		fields[i].value = node_at(ld, pair->value);
	}
	return true;
}

/* --- loading: values --------------------------------------------------- */

static bool parse_u64(const char *s, uint64_t *out, const char **end)
{
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	*end = s;
	return true;
}

/* For "10.0.0.1/8": the network the user probably meant, "10.0.0.0/8". */
static bool masked_suggestion(const char *s, char *buf, size_t len)
{
	char host[64];
	const char *slash = strchr(s, '/');
	struct ef_cidr c;
	uint64_t prefix;
	const char *end;

	if (!slash || (size_t)(slash - s) >= sizeof(host))
		return false;
	memcpy(host, s, (size_t)(slash - s));
	host[slash - s] = 0;
	if (!ef_addr_parse(host, &c.addr) || (c.addr.family == 4 && strchr(host, ':')))
		return false;
	if (!parse_u64(slash + 1, &prefix, &end) || *end ||
	    prefix > (c.addr.family == 4 ? 32u : 128u))
		return false;
	c.prefix = (uint8_t)prefix;
	for (unsigned bit = c.prefix; bit < 128; bit++)
		c.addr.b[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
	ef_cidr_format(&c, buf, len);
	return true;
}

static bool parse_cidr(struct loader *ld, const yaml_node_t *n, struct ef_cidr *out)
{
	char suggestion[EF_ADDR_STRLEN + 8];

	if (ef_cidr_parse(str(n), out))
		return true;
	if (masked_suggestion(str(n), suggestion, sizeof(suggestion)))
		return fail(ld, n, "bad CIDR `%s': host bits are set beyond the prefix (did you mean %s?)",
			    shown(ld, str(n)), suggestion);
	return fail(ld, n,
		    "bad CIDR `%s' (expected an address or a network such as 10.0.0.0/8 or 2001:db8::/32)",
		    shown(ld, str(n)));
}

static bool parse_country(struct loader *ld, const yaml_node_t *n, const char *s, ef_country *out)
{
	ef_country c = strlen(s) == 2 ? ef_country_make(s) : EF_COUNTRY_NONE;
	const char *hint = "";

	if (c != EF_COUNTRY_NONE && policy_country_is_assigned(c)) {
		*out = c;
		return true;
	}
	/* Codes people reach for that ISO reserves for other uses. */
	if (c == ef_country_make("UK"))
		hint = "; the United Kingdom is GB";
	else if (c == ef_country_make("EL"))
		hint = "; Greece is GR";
	else if (c == ef_country_make("EU"))
		hint = "; the EU is not a country, list its members in a group";
	else if (strpbrk(s, ", "))
		hint = "; for several, write a list such as [CN, RU]";
	return fail(ld, n,
		    "unknown country code `%s' (expected an ISO 3166-1 alpha-2 code such as CN%s)",
		    shown(ld, s), hint);
}

/* A country code, or an ISO 3166-2 region such as UA-43 (*region then set). */
static bool parse_place(struct loader *ld, const yaml_node_t *n, const char *s, ef_country *country,
			ef_region *region)
{
	*region = 0;
	if (!strchr(s, '-'))
		return parse_country(ld, n, s, country);
	ef_region r = ef_region_parse(s);
	if (!r || !policy_country_is_assigned(ef_region_country(r)))
		return fail(ld, n,
			    "unknown region `%s' (expected an ISO 3166-2 code: a country code, `-' and 1 to 3 letters or digits, such as UA-43 for Crimea)",
			    shown(ld, s));
	*region = r;
	*country = ef_region_country(r);
	return true;
}

static bool too_many_regions(struct loader *ld, const yaml_node_t *n)
{
	return fail(ld, n, "too many regions in one set (at most %d)", POLICY_MAX_REGIONS);
}

static bool valid_group_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}

static bool resolve_group(struct loader *ld, size_t g);

/* Item n names group g, which is being expanded: name the whole loop. */
static bool group_cycle(struct loader *ld, const yaml_node_t *n, size_t g)
{
	char chain[300] = "";
	size_t o = 0, from = 0;

	while (ld->group_stack[from] != g)
		from++;
	for (size_t i = from; i <= ld->group_depth && o < sizeof(chain); i++) {
		size_t at = i < ld->group_depth ? ld->group_stack[i] : g;
		int k = snprintf(chain + o, sizeof(chain) - o, "%s@%s", i > from ? " -> " : "",
				 ld->p->groups[at].name);
		o += k > 0 ? (size_t)k : 0;
	}
	return fail(ld, n, "group cycle %s (a group cannot include itself, directly or through others)",
		    chain);
}

/* A country code or "@group", added to set. */
static bool add_member(struct loader *ld, const yaml_node_t *n, const char *s,
		       struct country_set *set)
{
	ef_country c;
	ef_region r;

	if (s[0] != '@') {
		if (!parse_place(ld, n, s, &c, &r))
			return false;
		if (!r)
			set_add(set, c);
		else if (!set_add_region(set, r))
			return too_many_regions(ld, n);
		return true;
	}
	for (size_t g = 0; g < ld->p->n_groups; g++) {
		if (strcmp(ld->p->groups[g].name, s + 1))
			continue;
		if (ld->group_defs[g].state == GROUP_RESOLVING)
			return group_cycle(ld, n, g);
		if (!resolve_group(ld, g))
			return false;
		if (!set_union(set, &ld->p->groups[g].set))
			return too_many_regions(ld, n);
		return true;
	}

	for (size_t l = 0; l < ld->p->n_lists; l++) {
		if (strcmp(ld->p->lists[l].name, s + 1))
			continue;
		ld->p->lists[l].used = true;
		if (!set_union(set, &ld->p->lists[l].set))
			return too_many_regions(ld, n);
		return true;
	}

	char defined[200] = "";
	size_t o = 0;
	for (size_t g = 0; g < ld->p->n_groups && o < sizeof(defined); g++) {
		int k = snprintf(defined + o, sizeof(defined) - o, "%s%s", g ? ", " : "",
				 ld->p->groups[g].name);
		o += k > 0 ? (size_t)k : 0;
	}
	for (size_t l = 0; l < ld->p->n_lists && o < sizeof(defined); l++) {
		int k = snprintf(defined + o, sizeof(defined) - o, "%s%s", o ? ", " : "", ld->p->lists[l].name);
		o += k > 0 ? (size_t)k : 0;
	}
	if (!ld->p->n_groups && !ld->p->n_lists)
		return fail(ld, n, "undefined group `%s' (no groups are defined; add it under `groups:')",
			    shown(ld, s));
	return fail(ld, n, "undefined group `%s' (defined groups%s: %s)", shown(ld, s),
		    ld->p->n_lists ? " and lists" : "", defined);
}

struct group_ctx {
	size_t g;
};

static bool group_item(struct loader *ld, const yaml_node_t *item, size_t i, void *ctx)
{
	struct group_ctx *gc = ctx;
	const char *s = str(item);
	const char *name = ld->p->groups[gc->g].name;

	if (s[0] == '!')
		return fail(ld, item,
			    "`%s' in group `%s': negation belongs in a rule's `to' (such as \"!@%s\"), not in a group",
			    shown(ld, s), name, name);
	return add_member(ld, item, s, &ld->p->groups[gc->g].set);
}

/* Expands group g and, depth first, the groups it names. */
static bool resolve_group(struct loader *ld, size_t g)
{
	struct group_def *def = &ld->group_defs[g];

	if (def->state == GROUP_DONE)
		return true;
	if (ld->group_depth == GROUP_DEPTH_MAX)
		return fail(ld, def->key, "groups nest more than %d deep at `%s'", GROUP_DEPTH_MAX,
			    ld->p->groups[g].name);
	def->state = GROUP_RESOLVING;
	ld->group_stack[ld->group_depth++] = g;
	struct group_ctx gc = {g};
	if (!each_item(ld, def->value, ld->p->groups[g].name, "country codes and @groups", true,
		       group_item, &gc))
		return false;
	ld->group_depth--;
	def->state = GROUP_DONE;
	return true;
}

static bool load_groups(struct loader *ld, const yaml_node_t *map)
{
	struct policy *p = ld->p;

	if (is_null(map))
		return true;
	if (map->type != YAML_MAPPING_NODE)
		return fail(ld, map,
			    "`groups' must be a mapping of names to lists, such as { embargoed: [CU, IR, KP, SY] }, not %s",
			    kind(map));
	if (!check_tag(ld, map))
		return false;
	size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	p->groups = ld_alloc(ld, n, sizeof(*p->groups));
	ld->group_defs = ld_alloc(ld, n, sizeof(*ld->group_defs));
	if (!p->groups || !ld->group_defs)
		return false;

	/* Every name first, so that a group may name one defined below it. */
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		const yaml_node_t *k = node_at(ld, pair->key);
		if (k->type != YAML_SCALAR_NODE)
			return fail(ld, k, "a group's name must be a single value, not %s", kind(k));
		if (!valid_group_name(str(k)))
			return fail(ld, k,
				    "bad group name `%s' (expected lowercase letters, digits, `_' and `-', such as designated)",
				    shown(ld, str(k)));
		for (size_t g = 0; g < p->n_groups; g++)
			if (!strcmp(p->groups[g].name, str(k)))
				return fail(ld, k, "duplicate group `%s' (first defined at line %zu)",
					    str(k), ld->group_defs[g].key->start_mark.line + 1);
		for (size_t l = 0; l < p->n_lists; l++)
			if (!strcmp(p->lists[l].name, str(k)))
				return fail(ld, k, "group `%s' has the name of a list in %s:%u (rename the group; a list is changed in its file)",
					    str(k), p->lists_file, p->lists[l].line);
		ld->group_defs[p->n_groups] = (struct group_def){k, node_at(ld, pair->value), GROUP_NEW};
		if (!(p->groups[p->n_groups].name = ld_strdup(ld, str(k))))
			return false;
		p->n_groups++;
	}
	for (size_t g = 0; g < p->n_groups; g++)
		if (!resolve_group(ld, g))
			return false;
	return true;
}

/* --- loading: rules ---------------------------------------------------- */

enum {
	R_NAME, R_TO, R_FROM, R_ENCRYPTION, R_PROTOCOL, R_PORTS, R_APP, R_MIN_BYTES_OUT,
	R_ACTION, R_BLOCK_REMOTE, R_LOG_PREFIX, R__COUNT
};

const struct policy_protocol policy_protocols[POLICY_N_PROTOCOLS] = {
	{"tcp", 6}, {"udp", 17}, {"icmp", 1}, {"icmpv6", 58},
	{"esp", 50}, {"ah", 51}, {"gre", 47}, {"sctp", 132},
};

struct to_ctx {
	struct rule *r;
	bool seen;
};

static bool to_item(struct loader *ld, const yaml_node_t *item, size_t i, void *ctx)
{
	struct to_ctx *t = ctx;
	const char *s = str(item);
	bool negated = s[0] == '!';

	if (t->seen && negated != t->r->to_negated)
		return fail(ld, item,
			    "`%s': cannot mix negated and plain items in one `to' list (negate every item to match countries in none of them, or none)",
			    shown(ld, s));
	t->seen = true;
	t->r->to_negated = negated;
	if (negated && !s[1])
		return fail(ld, item, "`!' needs a country or @group after it, such as \"!@conforming\"");
	return add_member(ld, item, s + negated, &t->r->to);
}

/* `to:` as written, "@designated" or "[CN, @embargoed]", for policy_print(). */
static const char *to_text(struct loader *ld, const yaml_node_t *n)
{
	if (n->type == YAML_SCALAR_NODE)
		return ld_strdup(ld, str(n));
	size_t len = 3;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
		len += strlen(str(node_at(ld, *it))) + 2;
	char *text = ld_alloc(ld, 1, len);
	if (!text)
		return NULL;
	strcpy(text, "[");
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		if (it > n->data.sequence.items.start)
			strcat(text, ", ");
		strcat(text, str(node_at(ld, *it)));
	}
	strcat(text, "]");
	return text;
}

static bool from_item(struct loader *ld, const yaml_node_t *item, size_t i, void *ctx)
{
	return parse_cidr(ld, item, &((struct ef_cidr *)ctx)[i]);
}

static bool encryption_item(struct loader *ld, const yaml_node_t *item, size_t i, void *ctx)
{
	enum ef_encryption e;

	if (!ef_encryption_parse(str(item), &e))
		return fail(ld, item,
			    "unknown encryption class `%s' (expected one of: unknown, cleartext, weak, encrypted)",
			    shown(ld, str(item)));
	*(uint8_t *)ctx |= (uint8_t)(1u << e);
	return true;
}

static bool protocol_item(struct loader *ld, const yaml_node_t *item, size_t i, void *ctx)
{
	uint64_t *l4 = ctx;

	for (size_t k = 0; k < POLICY_N_PROTOCOLS; k++) {
		if (!strcasecmp(str(item), policy_protocols[k].name)) {
			l4[policy_protocols[k].number / 64] |= (uint64_t)1 << (policy_protocols[k].number % 64);
			return true;
		}
	}
	return fail(ld, item,
		    "unknown protocol `%s' (expected one of: tcp, udp, icmp, icmpv6, esp, ah, gre, sctp)",
		    shown(ld, str(item)));
}

static bool port_item(struct loader *ld, const yaml_node_t *item, size_t i, void *ctx)
{
	struct port_range *r = &((struct port_range *)ctx)[i];
	const char *s = str(item), *end;
	uint64_t lo, hi;

	if (!parse_u64(s, &lo, &end))
		goto bad;
	hi = lo;
	if (*end == '-' && !parse_u64(end + 1, &hi, &end))
		goto bad;
	if (*end || lo < 1 || hi > 65535)
		goto bad;
	if (lo > hi)
		return fail(ld, item, "port range `%s' runs backwards (expected low-high, such as \"8000-8080\")",
			    shown(ld, s));
	r->lo = (uint16_t)lo;
	r->hi = (uint16_t)hi;
	return true;
bad:
	return fail(ld, item, "bad port `%s' (expected a port 1-65535 or a range such as \"8000-8080\")",
		    shown(ld, s));
}

static bool app_item(struct loader *ld, const yaml_node_t *item, size_t i, void *ctx)
{
	struct app_name *a = &((struct app_name *)ctx)[i];
	const char *s = str(item);

	if (!*s || strlen(s) >= EF_APP_LEN)
		return fail(ld, item, "bad app name `%s' (expected an nDPI name of 1 to %d characters, such as TLS or TLS.Google)",
			    shown(ld, s), EF_APP_LEN - 1);
	a->len = strlen(s);
	return (a->name = ld_strdup(ld, s)) != NULL;
}

/* "64k", "10M": 1024-based, like the sizes users read from ls -h. */
static bool parse_size(const char *s, uint64_t *out)
{
	const char *end;
	uint64_t v, scale = 1;

	if (!parse_u64(s, &v, &end))
		return false;
	switch (*end) {
	case 0:
		break;
	case 'k':
	case 'K':
		scale = 1ull << 10;
		end++;
		break;
	case 'M':
		scale = 1ull << 20;
		end++;
		break;
	case 'G':
		scale = 1ull << 30;
		end++;
		break;
	default:
		return false;
	}
	if (*end || v > UINT64_MAX / scale)
		return false;
	*out = v * scale;
	return true;
}

static bool valid_text(const char *s, size_t max, bool nft_safe)
{
	size_t len = strlen(s);

	if (!len || len > max)
		return false;
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
		/* The prefix goes inside an nft string literal. */
		if (nft_safe && ((unsigned char)*s >= 0x80 || *s == '"' || *s == '\\'))
			return false;
	}
	return true;
}

/* Reads the list at n into a new array of `size'-byte items, one per item. */
static bool load_list(struct loader *ld, const yaml_node_t *n, const char *key, const char *expected,
		      item_fn fn, size_t size, void **out, size_t *count)
{
	*count = count_items(n);
	if (!(*out = ld_alloc(ld, *count, size)))
		return false;
	return each_item(ld, n, key, expected, false, fn, *out);
}

static bool load_rule(struct loader *ld, const yaml_node_t *n, size_t index)
{
	struct policy *p = ld->p;
	struct rule *r = &p->rules[index];
	struct field f[R__COUNT] = {
		[R_NAME] = {"name"}, [R_TO] = {"to"}, [R_FROM] = {"from"},
		[R_ENCRYPTION] = {"encryption"}, [R_PROTOCOL] = {"protocol"}, [R_PORTS] = {"ports"},
		[R_APP] = {"app"}, [R_MIN_BYTES_OUT] = {"min_bytes_out"}, [R_ACTION] = {"action"},
		[R_BLOCK_REMOTE] = {"block_remote"}, [R_LOG_PREFIX] = {"log_prefix"},
	};
	const yaml_node_t *v;

	if (n->type != YAML_MAPPING_NODE)
		return fail(ld, n, "a rule must be a mapping with at least name and action, not %s", kind(n));
	if (!read_mapping(ld, n, "rule", f, R__COUNT))
		return false;
	r->line = (unsigned)n->start_mark.line + 1;
	r->col = (unsigned)n->start_mark.column + 1;

	if (!(v = f[R_NAME].value))
		return fail(ld, n, "rule %zu has no name (every rule needs a unique `name')", index + 1);
	if (!expect_scalar(ld, v, "`name'", "a rule name"))
		return false;
	if (!valid_text(str(v), RULE_NAME_MAX, false))
		return fail(ld, v, "bad rule name `%s' (expected 1 to %d printable characters)",
			    shown(ld, str(v)), RULE_NAME_MAX);
	for (size_t i = 0; i < index; i++)
		if (!strcmp(p->rules[i].name, str(v)))
			return fail(ld, v, "duplicate rule name `%s' (first used at line %u)",
				    shown(ld, str(v)), p->rules[i].line);
	if (!(r->name = ld_strdup(ld, str(v))))
		return false;

	if (!(v = f[R_ACTION].value))
		return fail(ld, n, "rule `%s' has no action (expected action: block, log or allow)",
			    shown(ld, r->name));
	if (!expect_scalar(ld, v, "`action'", "block, log or allow"))
		return false;
	if (!ef_verdict_parse(str(v), &r->action))
		return fail(ld, v, "unknown action `%s' (expected block, log or allow)", shown(ld, str(v)));

	if ((v = f[R_TO].value)) {
		struct to_ctx t = {r, false};
		r->has_to = true;
		if (!each_item(ld, v, "to", "a country code such as CN, a group such as \"@designated\", or a list of them",
			       false, to_item, &t) ||
		    !(r->to_text = to_text(ld, v)))
			return false;
	}
	if ((v = f[R_FROM].value) &&
	    !load_list(ld, v, "from", "a network such as 10.0.0.0/8", from_item, sizeof(struct ef_cidr),
		       (void **)&r->from, &r->n_from))
		return false;
	r->enc_mask = (1u << EF_ENC__COUNT) - 1;
	if ((v = f[R_ENCRYPTION].value)) {
		r->enc_mask = 0;
		if (!each_item(ld, v, "encryption", "unknown, cleartext, weak or encrypted", false,
			       encryption_item, &r->enc_mask))
			return false;
	}
	if ((v = f[R_PROTOCOL].value)) {
		r->has_l4 = true;
		if (!each_item(ld, v, "protocol", "tcp, udp, icmp, icmpv6, esp, ah, gre or sctp", false,
			       protocol_item, r->l4))
			return false;
	}
	if ((v = f[R_PORTS].value) &&
	    !load_list(ld, v, "ports", "a port 1-65535 or a range such as \"8000-8080\"", port_item,
		       sizeof(struct port_range), (void **)&r->ports, &r->n_ports))
		return false;
	if ((v = f[R_APP].value) &&
	    !load_list(ld, v, "app", "an nDPI app name such as TLS or TLS.Google", app_item,
		       sizeof(struct app_name), (void **)&r->apps, &r->n_apps))
		return false;
	if ((v = f[R_MIN_BYTES_OUT].value)) {
		if (!expect_scalar(ld, v, "`min_bytes_out'", "a byte count such as 1 or 64k"))
			return false;
		if (!parse_size(str(v), &r->min_bytes_out))
			return fail(ld, v,
				    "bad byte count `%s' for `min_bytes_out' (expected a whole number of bytes, optionally with a suffix k, M or G, such as 1 or 64k)",
				    shown(ld, str(v)));
	}
	if ((v = f[R_BLOCK_REMOTE].value)) {
		uint64_t secs;
		const char *end;
		if (r->action != EF_BLOCK)
			return fail(ld, f[R_BLOCK_REMOTE].key_node,
				    "`block_remote' is only valid with action block (rule `%s' has action %s)",
				    shown(ld, r->name), ef_verdict_name(r->action));
		if (!expect_scalar(ld, v, "`block_remote'", "a number of seconds such as 3600"))
			return false;
		if (!parse_u64(str(v), &secs, &end) || *end || secs < 1 || secs > UINT32_MAX)
			return fail(ld, v,
				    "bad duration `%s' for `block_remote' (expected a whole number of seconds from 1 to %u, such as 3600)",
				    shown(ld, str(v)), UINT32_MAX);
		r->block_remote = (uint32_t)secs;
	}
	if ((v = f[R_LOG_PREFIX].value)) {
		if (r->action == EF_ALLOW)
			return fail(ld, f[R_LOG_PREFIX].key_node,
				    "`log_prefix' is only valid with action log or block (rule `%s' has action allow)",
				    shown(ld, r->name));
		if (!expect_scalar(ld, v, "`log_prefix'", "a short text such as \"egressfence: \""))
			return false;
		if (!valid_text(str(v), LOG_PREFIX_MAX, true))
			return fail(ld, v,
				    "bad log_prefix `%s' (expected 1 to %d printable ASCII characters without \" or \\)",
				    shown(ld, str(v)), LOG_PREFIX_MAX);
		if (!(r->log_prefix = ld_strdup(ld, str(v))))
			return false;
	}
	return true;
}

static bool load_rules(struct loader *ld, const yaml_node_t *n)
{
	struct policy *p = ld->p;

	if (is_null(n))
		return true;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(ld, n, "`rules' must be a list of rules (each starting with `- name:'), not %s",
			    kind(n));
	if (!check_tag(ld, n))
		return false;
	size_t count = count_items(n);
	if (count > INT_MAX || !(p->rules = ld_alloc(ld, count, sizeof(*p->rules))))
		return false;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		if (!load_rule(ld, node_at(ld, *it), p->n_rules))
			return false;
		p->n_rules++;
	}
	return true;
}

/* --- loading: the other sections --------------------------------------- */

/* Relative paths are relative to the policy's folder, not to wherever the
 * daemon happens to be started from. */
static bool path_item(struct loader *ld, const yaml_node_t *item, size_t i, void *ctx)
{
	const char *s = str(item), *dir = ld->p->dir;

	if (i >= EF_GEO_MAX_DB)
		return fail(ld, item, "too many country databases (at most %d)", EF_GEO_MAX_DB);
	ld->p->geodb_marks[i][0] = (unsigned)item->start_mark.line + 1;
	ld->p->geodb_marks[i][1] = (unsigned)item->start_mark.column + 1;
	if (!(ld->p->geodb_written[i] = ld_strdup(ld, s)))
		return false;
	if (s[0] == '/')
		return (ld->p->geodb_paths[i] = ld_strdup(ld, s)) != NULL;
	size_t len = strlen(dir) + strlen(s) + 2;
	char *path = ld_alloc(ld, 1, len);
	if (!path)
		return false;
	snprintf(path, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", s);
	ld->p->geodb_paths[i] = path;
	return true;
}

static bool load_geodb(struct loader *ld, const yaml_node_t *n)
{
	struct field f[] = {{.key = "country"}};
	struct policy *p = ld->p;

	if (!read_mapping(ld, n, "geodb", f, 1))
		return false;
	if (!f[0].value)
		return true;
	size_t count = count_items(f[0].value);
	if (!(p->geodb_paths = ld_alloc(ld, count, sizeof(*p->geodb_paths))) ||
	    !(p->geodb_written = ld_alloc(ld, count, sizeof(*p->geodb_written))) ||
	    !(p->geodb_marks = ld_alloc(ld, count, sizeof(*p->geodb_marks))))
		return false;
	if (!each_item(ld, f[0].value, "country", "the path of a MaxMind DB file, or a list of up to 4",
		       false, path_item, NULL))
		return false;
	p->n_geodb = count;
	return true;
}

static bool override_item(struct loader *ld, const yaml_node_t *n, size_t i)
{
	struct field f[] = {{.key = "cidr"}, {.key = "country"}};
	struct geodb_override *o = &ld->p->overrides[i];

	if (n->type != YAML_MAPPING_NODE)
		return fail(ld, n, "an override must be a mapping such as { cidr: 203.0.113.0/24, country: UA }, not %s",
			    kind(n));
	if (!read_mapping(ld, n, "override", f, 2))
		return false;
	for (size_t k = 0; k < 2; k++)
		if (!f[k].value)
			return fail(ld, n, "override has no `%s' (expected { cidr: 203.0.113.0/24, country: UA })",
				    f[k].key);
	if (!expect_scalar(ld, f[0].value, "`cidr'", "a network such as 203.0.113.0/24") ||
	    !parse_cidr(ld, f[0].value, &o->cidr) ||
	    !expect_scalar(ld, f[1].value, "`country'", "an ISO 3166-1 alpha-2 code such as UA") ||
	    !parse_place(ld, f[1].value, str(f[1].value), &o->country, &o->region))
		return false;
	for (size_t k = 0; k < i; k++) {
		const struct geodb_override *prev = &ld->p->overrides[k];
		if (prev->cidr.prefix == o->cidr.prefix && !memcmp(&prev->cidr.addr, &o->cidr.addr, sizeof(o->cidr.addr)))
			return fail(ld, f[0].value, "duplicate override for `%s' (override %zu has the same network)",
				    shown(ld, str(f[0].value)), k + 1);
	}
	return true;
}

static bool internal_item(struct loader *ld, const yaml_node_t *item, size_t i, void *ctx)
{
	return parse_cidr(ld, item, &ld->p->internal[i]);
}

static bool load_networks(struct loader *ld, const yaml_node_t *n)
{
	struct field f[] = {{.key = "internal"}, {.key = "overrides"}};
	struct policy *p = ld->p;
	const yaml_node_t *v;

	if (!read_mapping(ld, n, "networks", f, 2))
		return false;
	if ((v = f[0].value)) {
		size_t count = count_items(v);
		if (!(p->internal = ld_alloc(ld, count, sizeof(*p->internal))) ||
		    !each_item(ld, v, "internal", "a network such as 10.0.0.0/8", true, internal_item, NULL))
			return false;
		p->n_internal = count;
	}
	if ((v = f[1].value) && !is_null(v)) {
		if (v->type != YAML_SEQUENCE_NODE)
			return fail(ld, v,
				    "`overrides' must be a list such as [{ cidr: 203.0.113.0/24, country: UA }], not %s",
				    kind(v));
		if (!check_tag(ld, v))
			return false;
		size_t count = count_items(v);
		if (!(p->overrides = ld_alloc(ld, count, sizeof(*p->overrides))))
			return false;
		for (size_t i = 0; i < count; i++)
			if (!override_item(ld, node_at(ld, v->data.sequence.items.start[i]), i))
				return false;
		p->n_overrides = count;
	}
	return true;
}

/* An interface name as the kernel takes it; ctx: where it goes, NULL for
 * capture.interfaces, else gateway.flowtable. */
static bool interface_item(struct loader *ld, const yaml_node_t *item, size_t i, void *ctx)
{
	const char *s = str(item);

	if (!valid_text(s, IFNAME_MAX, true) || strpbrk(s, "/ \t\"{},;") || !strcmp(s, ".") || !strcmp(s, ".."))
		return fail(ld, item,
			    "bad interface name `%s' (expected a network interface such as eth1: at most %d characters, no `/' or spaces)",
			    shown(ld, s), IFNAME_MAX);
	if (ctx) {
		struct gateway_settings *g = ctx;
		for (size_t k = 0; k < i; k++)
			if (!strcmp(g->flowtable[k], s))
				return fail(ld, item, "interface `%s' is listed twice in `flowtable'", shown(ld, s));
		snprintf(g->flowtable[i], sizeof(g->flowtable[i]), "%s", s);
		g->n_flowtable = (uint8_t)(i + 1);
		return true;
	}
	return (ld->p->interfaces[i] = ld_strdup(ld, s)) != NULL;
}

static const char *const source_names[] = {
	[CAPTURE_SOURCE_INTERFACES] = "interfaces", [CAPTURE_SOURCE_NFLOG] = "nflog",
};

const char *capture_source_name(enum capture_source s)
{
	return (unsigned)s < sizeof(source_names) / sizeof(source_names[0]) ? source_names[s] : "?";
}

/* capture: { interfaces: [...], source: interfaces | nflog }.  The source's
 * default depends on the interfaces, so it is resolved here, after both. */
static bool load_capture(struct loader *ld, const yaml_node_t *n)
{
	struct field f[] = {{.key = "interfaces"}, {.key = "source"}};
	struct policy *p = ld->p;
	const yaml_node_t *src = NULL;

	if (n && !read_mapping(ld, n, "capture", f, 2))
		return false;
	if (n && f[0].value) {
		size_t count = count_items(f[0].value);
		if (!(p->interfaces = ld_alloc(ld, count, sizeof(*p->interfaces))) ||
		    !each_item(ld, f[0].value, "interfaces", "an interface name such as eth1", true,
			       interface_item, NULL))
			return false;
		p->n_interfaces = count;
	}
	p->capture_source = p->n_interfaces ? CAPTURE_SOURCE_INTERFACES : CAPTURE_SOURCE_NFLOG;
	if (!n || !(src = f[1].value))
		return true;
	if (!expect_scalar(ld, src, "`source'", "interfaces or nflog"))
		return false;
	if (!strcmp(str(src), "interfaces"))
		p->capture_source = CAPTURE_SOURCE_INTERFACES;
	else if (!strcmp(str(src), "nflog"))
		p->capture_source = CAPTURE_SOURCE_NFLOG;
	else
		return fail(ld, src, "bad value `%s' for `source' (expected interfaces or nflog)", shown(ld, str(src)));
	if (p->capture_source == CAPTURE_SOURCE_INTERFACES && !p->n_interfaces)
		return fail(ld, src,
			    "`source: interfaces' captures on capture.interfaces, which lists none (expected "
			    "`interfaces: [eth1]' beside it, or `source: nflog')");
	return true;
}

static bool load_bool(struct loader *ld, const yaml_node_t *n, const char *key, bool *out)
{
	static const char *const yes[] = {"true", "True", "TRUE"}, *const no[] = {"false", "False", "FALSE"};
	char what[32];

	snprintf(what, sizeof(what), "`%s'", key);
	if (!expect_scalar(ld, n, what, "true or false"))
		return false;
	for (size_t i = 0; i < 3; i++) {
		if (!strcmp(str(n), yes[i]) || !strcmp(str(n), no[i])) {
			*out = !strcmp(str(n), yes[i]);
			return true;
		}
	}
	return fail(ld, n, "bad value `%s' for `%s' (expected true or false)", shown(ld, str(n)), key);
}

/* A whole number from lo to hi; `example' is a value that would do. */
static bool load_number(struct loader *ld, const yaml_node_t *n, const char *key, uint64_t lo, uint64_t hi,
			const char *example, uint64_t *out)
{
	char what[32];
	const char *end;

	snprintf(what, sizeof(what), "`%s'", key);
	if (!expect_scalar(ld, n, what, example))
		return false;
	if (!parse_u64(str(n), out, &end) || *end || *out < lo || *out > hi)
		return fail(ld, n, "bad value `%s' for `%s' (expected a whole number from %llu to %llu, such as %s)",
			    shown(ld, str(n)), key, (unsigned long long)lo, (unsigned long long)hi, example);
	return true;
}

enum {
	G_MODE, G_NFLOG_GROUP, G_FLOW_TIMEOUT, G_DECIDE_WITHIN, G_MAX_FLOWS, G_FLOWTABLE, G_UNDECIDED_RATE,
	G_UNDECIDED_BURST, G_RELEASE_HELD, G__COUNT
};

/* gateway: how `egressfence run' sets up the kernel side (enforce/nft.c). */
static bool load_gateway(struct loader *ld, const yaml_node_t *n)
{
	struct field f[G__COUNT] = {
		[G_MODE] = {"mode"}, [G_NFLOG_GROUP] = {"nflog_group"}, [G_FLOW_TIMEOUT] = {"flow_timeout"},
		[G_DECIDE_WITHIN] = {"decide_within"}, [G_MAX_FLOWS] = {"max_flows"}, [G_FLOWTABLE] = {"flowtable"},
		[G_UNDECIDED_RATE] = {"undecided_rate"}, [G_UNDECIDED_BURST] = {"undecided_burst"},
		[G_RELEASE_HELD] = {"release_held"},
	};
	struct gateway_settings *g = &ld->p->gateway;
	const yaml_node_t *v;
	uint64_t x;

	if (!read_mapping(ld, n, "gateway", f, G__COUNT))
		return false;
	if ((v = f[G_MODE].value)) {
		if (!expect_scalar(ld, v, "`mode'", "monitor, gate or observe"))
			return false;
		if (!gateway_mode_parse(str(v), &g->mode))
			return fail(ld, v, "unknown gateway mode `%s' (expected monitor, gate or observe)",
				    shown(ld, str(v)));
	}
	if ((v = f[G_NFLOG_GROUP].value)) {
		if (!load_number(ld, v, "nflog_group", 0, 65535, "4242", &x))
			return false;
		g->nflog_group = (uint16_t)x;
	}
	/* The kernel keeps set timeouts in milliseconds; a week is plenty. */
	if ((v = f[G_FLOW_TIMEOUT].value)) {
		if (!load_number(ld, v, "flow_timeout", 1, 604800, "600", &x))
			return false;
		g->flow_timeout_s = (uint32_t)x;
	}
	if ((v = f[G_DECIDE_WITHIN].value)) {
		if (!load_number(ld, v, "decide_within", 1, 60, "3", &x))
			return false;
		g->decide_within_s = (uint32_t)x;
	}
	if ((v = f[G_MAX_FLOWS].value)) {
		if (!load_number(ld, v, "max_flows", 1024, 16777216, "262144", &x))
			return false;
		g->max_flows = (uint32_t)x;
	}
	/* kbytes: a gigabyte a second is no bound at all */
	if ((v = f[G_UNDECIDED_RATE].value)) {
		if (!load_number(ld, v, "undecided_rate", 1, 1048576, "32", &x))
			return false;
		g->undecided_rate_kbytes = (uint32_t)x;
	}
	if ((v = f[G_UNDECIDED_BURST].value)) {
		if (!load_number(ld, v, "undecided_burst", 1, 1048576, "512", &x))
			return false;
		g->undecided_burst_kbytes = (uint32_t)x;
	}
	if ((v = f[G_RELEASE_HELD].value) && !load_bool(ld, v, "release_held", &g->release_held))
		return false;
	if ((v = f[G_FLOWTABLE].value)) {
		if (v->type == YAML_SEQUENCE_NODE && count_items(v) > GATEWAY_MAX_FLOWTABLE_DEVICES)
			return fail(ld, v, "`flowtable' lists %zu interfaces (expected at most %d)", count_items(v),
				    GATEWAY_MAX_FLOWTABLE_DEVICES);
		if (!each_item(ld, v, "flowtable", "an interface name such as eth1", true, interface_item, g))
			return false;
	}
	return true;
}


/* --- loading: dates, country lists and exceptions ----------------------- */

bool policy_parse_date(const char *s, int64_t *day)
{
	static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int64_t y = 0, m = 0, d = 0;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++) {
		if (i == 4 || i == 7)
			continue;
		if (s[i] < '0' || s[i] > '9')
			return false;
		int64_t digit = s[i] - '0';
		if (i < 4)
			y = y * 10 + digit;
		else if (i < 7)
			m = m * 10 + digit;
		else
			d = d * 10 + digit;
	}
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > month_days[m - 1] + (m == 2 && leap))
		return false;
	/* Days from the civil date (the proleptic Gregorian calendar), after
	 * Howard Hinnant's days_from_civil(): March-based years make the leap
	 * day the last of the year. */
	y -= m <= 2;
	int64_t era = y / 400, yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	*day = era * 146097 + doe - 719468;
	return true;
}

static bool load_date(struct loader *ld, const yaml_node_t *n, const char *key, int64_t *day)
{
	char what[32];

	snprintf(what, sizeof(what), "`%s'", key);
	if (!expect_scalar(ld, n, what, "a date such as 2026-12-31"))
		return false;
	if (!policy_parse_date(str(n), day))
		return fail(ld, n, "bad date `%s' for `%s' (expected a date YYYY-MM-DD, such as 2026-12-31)",
			    shown(ld, str(n)), key);
	return true;
}

/* A short text such as an owner, a source or a note. */
static bool load_text(struct loader *ld, const yaml_node_t *n, const char *key, size_t max,
		      const char *example, const char **out)
{
	char what[32];

	snprintf(what, sizeof(what), "`%s'", key);
	if (!expect_scalar(ld, n, what, example))
		return false;
	if (!valid_text(str(n), max, false))
		return fail(ld, n, "bad %s `%s' (expected 1 to %zu printable characters, such as %s)", key,
			    shown(ld, str(n)), max, example);
	return (*out = ld_strdup(ld, str(n))) != NULL;
}

static bool read_whole_file(const char *path, const char *what, char **text, size_t *len, char *err,
			    size_t errlen);
static bool syntax_error(struct loader *ld, const yaml_parser_t *ps);

#define LIST_TEXT_MAX 600

/* One entry of a list's `countries': CC, or { code: CC, note: TEXT }. */
static bool list_entry(struct loader *ld, struct country_list *l, const yaml_node_t *n)
{
	struct field f[] = {{.key = "code"}, {.key = "note"}};
	const yaml_node_t *code = n;
	ef_country c;

	if (n->type == YAML_MAPPING_NODE) {
		if (!read_mapping(ld, n, "list entry", f, 2))
			return false;
		if (!f[0].value)
			return fail(ld, n, "list entry has no `code' (expected { code: NI, note: \"added 2024-03-15\" })");
		code = f[0].value;
	}
	ef_region region;
	if (!expect_scalar(ld, code, "a list's country", "an ISO 3166-1 alpha-2 code such as CN") ||
	    !parse_place(ld, code, str(code), &c, &region))
		return false;
	if (region ? set_has_region(&l->set, region) : set_has(&l->set, c))
		return fail(ld, code, "`%s' is twice in list `%s'", str(code), l->name);
	if (!region)
		set_add(&l->set, c);
	else if (!set_add_region(&l->set, region))
		return too_many_regions(ld, code);
	if (n->type == YAML_MAPPING_NODE && f[1].value) {
		struct list_note *note = (struct list_note *)&l->notes[l->n_notes];
		note->country = c;
		note->region = region;
		if (!load_text(ld, f[1].value, "note", LIST_TEXT_MAX, "\"added 2024-03-15, 89 FR 18780\"", &note->note))
			return false;
		l->n_notes++;
	}
	return true;
}

enum { L_TITLE, L_SOURCE, L_AS_OF, L_CHECKED, L_COUNTRIES, L_NOTES, L__COUNT };

static bool load_one_list(struct loader *ld, const yaml_node_t *key, const yaml_node_t *n,
			  struct country_list *l)
{
	struct field f[L__COUNT] = {
		[L_TITLE] = {"title"}, [L_SOURCE] = {"source"}, [L_AS_OF] = {"as_of"},
		[L_CHECKED] = {"checked"}, [L_COUNTRIES] = {"countries"}, [L_NOTES] = {"notes"},
	};
	static const char *const required[] = {"source", "checked", "countries"};
	const yaml_node_t *v;

	if (!valid_group_name(str(key)))
		return fail(ld, key, "bad list name `%s' (expected lowercase letters, digits, `_' and `-', such as us-d5)",
			    shown(ld, str(key)));
	if (!(l->name = ld_strdup(ld, str(key))))
		return false;
	l->line = (unsigned)key->start_mark.line + 1;
	if (n->type != YAML_MAPPING_NODE)
		return fail(ld, n, "list `%s' must be a mapping with keys source, checked and countries, not %s",
			    l->name, kind(n));
	if (!read_mapping(ld, n, "list", f, L__COUNT))
		return false;
	for (size_t i = 0; i < 3; i++) {
		size_t k = i == 0 ? L_SOURCE : i == 1 ? L_CHECKED : L_COUNTRIES;
		if (!f[k].value)
			return fail(ld, n, "list `%s' has no `%s' (every list needs source, checked and countries)",
				    l->name, required[i]);
	}
	if ((v = f[L_TITLE].value) && !load_text(ld, v, "title", LIST_TEXT_MAX, "\"EAR Country Group D:5\"", &l->title))
		return false;
	if (!load_text(ld, f[L_SOURCE].value, "source", LIST_TEXT_MAX, "\"15 CFR 740 Supp. 1\"", &l->source))
		return false;
	if ((v = f[L_AS_OF].value) && !load_text(ld, v, "as_of", LIST_TEXT_MAX, "\"15 CFR as of 2025-09-02\"", &l->as_of))
		return false;
	v = f[L_CHECKED].value;
	if (!load_date(ld, v, "checked", &l->checked_day) || !(l->checked_text = ld_strdup(ld, str(v))))
		return false;
	l->checked_line = (unsigned)v->start_mark.line + 1;
	l->checked_col = (unsigned)v->start_mark.column + 1;

	v = f[L_COUNTRIES].value;
	if (v->type != YAML_SEQUENCE_NODE || !count_items(v))
		return fail(ld, v, "`countries' of list `%s' must be a list of country codes, not %s", l->name,
			    v->type == YAML_SEQUENCE_NODE ? "an empty list" : kind(v));
	if (!check_tag(ld, v) || !(l->notes = ld_alloc(ld, count_items(v), sizeof(*l->notes))))
		return false;
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++)
		if (!list_entry(ld, l, node_at(ld, *it)))
			return false;
	if ((v = f[L_NOTES].value)) {
		size_t count = count_items(v);
		const char **notes = ld_alloc(ld, count, sizeof(*notes));
		if (!notes || (v->type == YAML_SEQUENCE_NODE && !check_tag(ld, v)))
			return false;
		if (v->type == YAML_MAPPING_NODE)
			return fail(ld, v, "`notes' must be a list of texts, not a mapping");
		for (size_t i = 0; i < count; i++) {
			const yaml_node_t *item = v->type == YAML_SEQUENCE_NODE ? node_at(ld, v->data.sequence.items.start[i]) : v;
			if (!load_text(ld, item, "notes", LIST_TEXT_MAX, "\"Ethiopia: only its armed forces\"", &notes[i]))
				return false;
		}
		l->list_notes = notes;
		l->n_list_notes = count;
	}
	return true;
}

/* The lists file: its own YAML document, its own name in messages. */
static bool load_list_file(struct loader *ld, const yaml_node_t *at, const char *path)
{
	struct loader sub = {.name = path, .p = ld->p, .err = ld->err};
	char why[300];
	char *text = NULL;
	size_t len = 0;
	yaml_parser_t parser;
	bool ok = false, have_doc = false;

	if (!read_whole_file(path, "country lists", &text, &len, why, sizeof(why)))
		return fail(ld, at, "lists.file: %s (a relative path is relative to the policy's folder)", why);
	sub.text = text;
	sub.len = len;
	if (!yaml_parser_initialize(&parser)) {
		free(text);
		snprintf(ld->err->msg, sizeof(ld->err->msg), "%s: out of memory", path);
		return false;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &sub.doc)) {
		syntax_error(&sub, &parser);
		goto out;
	}
	have_doc = true;
	const yaml_node_t *root = yaml_document_get_root_node(&sub.doc);
	struct field f[] = {{.key = "country_lists"}};
	if (!root) {
		fail_at(&sub, 1, 1, "the country lists file is empty (expected a mapping `country_lists:')");
		goto out;
	}
	if (root->type != YAML_MAPPING_NODE) {
		fail(&sub, root, "the country lists file must be a mapping with the key country_lists, not %s", kind(root));
		goto out;
	}
	if (!read_mapping(&sub, root, "the country lists file", f, 1))
		goto out;
	const yaml_node_t *map = f[0].value;
	if (!map || map->type != YAML_MAPPING_NODE) {
		fail(&sub, map ? map : root, "`country_lists' must be a mapping of list names to lists");
		goto out;
	}
	if (!check_tag(&sub, map))
		goto out;
	size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	if (!(ld->p->lists = ld_alloc(&sub, n, sizeof(*ld->p->lists))))
		goto out;
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		const yaml_node_t *k = node_at(&sub, pair->key);
		if (k->type != YAML_SCALAR_NODE) {
			fail(&sub, k, "a list's name must be a single value, not %s", kind(k));
			goto out;
		}
		for (size_t l = 0; l < ld->p->n_lists; l++) {
			if (!strcmp(ld->p->lists[l].name, str(k))) {
				fail(&sub, k, "duplicate list `%s' (first defined at line %u)", shown(&sub, str(k)),
				     ld->p->lists[l].line);
				goto out;
			}
		}
		if (!load_one_list(&sub, k, node_at(&sub, pair->value), &ld->p->lists[ld->p->n_lists]))
			goto out;
		ld->p->n_lists++;
	}
	ok = true;
out:
	if (have_doc)
		yaml_document_delete(&sub.doc);
	yaml_parser_delete(&parser);
	free(text);
	return ok;
}

/* The path as written, made relative to the policy's folder. */
static const char *policy_relative(struct loader *ld, const char *s)
{
	const char *dir = ld->p->dir;

	if (s[0] == '/')
		return ld_strdup(ld, s);
	size_t len = strlen(dir) + strlen(s) + 2;
	char *path = ld_alloc(ld, 1, len);
	if (path)
		snprintf(path, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", s);
	return path;
}

/* lists: { file: lists.yaml, max_age_days: 180 } */
static bool load_lists(struct loader *ld, const yaml_node_t *n)
{
	struct field f[] = {{.key = "file"}, {.key = "max_age_days"}};
	uint64_t age;

	if (!read_mapping(ld, n, "lists", f, 2))
		return false;
	if (f[1].value) {
		if (!load_number(ld, f[1].value, "max_age_days", 1, 36500, "180", &age))
			return false;
		ld->p->lists_max_age_days = (uint32_t)age;
	}
	if (!f[0].value)
		return fail(ld, n, "`lists' has no `file' (expected lists: { file: lists.yaml })");
	if (!expect_scalar(ld, f[0].value, "`file'", "the path of a country lists file such as lists.yaml") ||
	    !(ld->p->lists_file = policy_relative(ld, str(f[0].value))))
		return false;
	return load_list_file(ld, f[0].value, ld->p->lists_file);
}

#define EXCEPTION_TEXT_MAX 200

static bool valid_host(const char *s)
{
	size_t len = strlen(s);

	if (!len || len > 253)
		return false;
	if (s[0] == '*' && s[1] == '.')
		s += 2;
	if (!*s || *s == '.' || s[strlen(s) - 1] == '.')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '.'))
			return false;
	return true;
}

enum { X_NAME, X_CIDR, X_HOST, X_PORTS, X_APP, X_UNTIL, X_OWNER, X_REASON, X__COUNT };

static bool load_exception(struct loader *ld, const yaml_node_t *n, size_t index)
{
	struct policy_exception *x = &ld->p->exceptions[index];
	struct field f[X__COUNT] = {
		[X_NAME] = {"name"}, [X_CIDR] = {"cidr"}, [X_HOST] = {"host"}, [X_PORTS] = {"ports"},
		[X_APP] = {"app"}, [X_UNTIL] = {"until"}, [X_OWNER] = {"owner"}, [X_REASON] = {"reason"},
	};
	const yaml_node_t *v;

	if (n->type != YAML_MAPPING_NODE)
		return fail(ld, n, "an exception must be a mapping such as { cidr: 203.0.113.5, until: 2026-12-31, owner: ..., reason: ... }, not %s",
			    kind(n));
	if (!read_mapping(ld, n, "exception", f, X__COUNT))
		return false;
	x->line = (unsigned)n->start_mark.line + 1;
	if (!f[X_CIDR].value == !f[X_HOST].value)
		return fail(ld, f[X_HOST].value ? f[X_HOST].key_node : n,
			    "an exception needs exactly one of `cidr' (an address or network) and `host' (a server name such as updates.example.com)");
	static const char *const required[] = {"until", "owner", "reason"};
	for (size_t i = 0; i < 3; i++)
		if (!f[X_UNTIL + i].value)
			return fail(ld, n, "exception has no `%s' (every exception needs until, owner and reason)", required[i]);
	if ((v = f[X_CIDR].value)) {
		if (!expect_scalar(ld, v, "`cidr'", "an address or network such as 203.0.113.5") || !parse_cidr(ld, v, &x->cidr))
			return false;
		x->has_cidr = true;
	}
	if ((v = f[X_HOST].value)) {
		if (!expect_scalar(ld, v, "`host'", "a server name such as updates.example.com"))
			return false;
		if (!valid_host(str(v)))
			return fail(ld, v, "bad host `%s' (expected a server name such as updates.example.com, or *.example.com for its subdomains)",
				    shown(ld, str(v)));
		if (!(x->host = ld_strdup(ld, str(v))))
			return false;
	}
	if ((v = f[X_NAME].value)) {
		if (!load_text(ld, v, "name", RULE_NAME_MAX, "vendor-support", &x->name))
			return false;
	} else if (!(x->name = ld_strdup(ld, str(f[x->has_cidr ? X_CIDR : X_HOST].value)))) {
		return false;
	}
	for (size_t i = 0; i < index; i++)
		if (!strcmp(ld->p->exceptions[i].name, x->name))
			return fail(ld, f[X_NAME].value ? f[X_NAME].value : n,
				    "duplicate exception `%s' (first at line %u; give each a `name')", shown(ld, x->name),
				    ld->p->exceptions[i].line);
	if ((v = f[X_PORTS].value) &&
	    !load_list(ld, v, "ports", "a port 1-65535 or a range such as \"8000-8080\"", port_item,
		       sizeof(struct port_range), (void **)&x->ports, &x->n_ports))
		return false;
	if ((v = f[X_APP].value) &&
	    !load_list(ld, v, "app", "an nDPI app name such as TLS or TLS.Google", app_item, sizeof(struct app_name),
		       (void **)&x->apps, &x->n_apps))
		return false;
	v = f[X_UNTIL].value;
	if (!load_date(ld, v, "until", &x->until_day) || !(x->until_text = ld_strdup(ld, str(v))))
		return false;
	x->until_line = (unsigned)v->start_mark.line + 1;
	x->until_col = (unsigned)v->start_mark.column + 1;
	/* `until' is the last day it applies, to its end in UTC. */
	x->until_us = (uint64_t)(x->until_day + 1) * 86400 * 1000000;
	return load_text(ld, f[X_OWNER].value, "owner", EXCEPTION_TEXT_MAX, "alice@example.com", &x->owner) &&
	       load_text(ld, f[X_REASON].value, "reason", EXCEPTION_TEXT_MAX, "\"vendor support, ticket 4711\"",
			 &x->reason);
}

static bool load_exceptions(struct loader *ld, const yaml_node_t *n)
{
	if (is_null(n))
		return true;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(ld, n, "`exceptions' must be a list (each starting with `- cidr:' or `- host:'), not %s", kind(n));
	if (!check_tag(ld, n))
		return false;
	size_t count = count_items(n);
	if (!(ld->p->exceptions = ld_alloc(ld, count, sizeof(*ld->p->exceptions))))
		return false;
	for (size_t i = 0; i < count; i++) {
		if (!load_exception(ld, node_at(ld, n->data.sequence.items.start[i]), i))
			return false;
		ld->p->n_exceptions++;
	}
	return true;
}

/* metrics: where `egressfence run' serves its Prometheus metrics. */
static bool load_metrics(struct loader *ld, const yaml_node_t *n)
{
	struct field f[] = {{.key = "listen"}};
	const yaml_node_t *v;
	struct ef_addr a;
	uint16_t port;

	if (!read_mapping(ld, n, "metrics", f, 1))
		return false;
	if (!(v = f[0].value))
		return true;
	if (!expect_scalar(ld, v, "`listen'", "an address and port such as 127.0.0.1:9813"))
		return false;
	if (!ef_listen_parse(str(v), &a, &port))
		return fail(ld, v, "bad metrics listen address `%s' (expected ADDRESS:PORT with a numeric address, "
			    "such as 127.0.0.1:9813 or [::1]:9813)", shown(ld, str(v)));
	return (ld->p->metrics_listen = ld_strdup(ld, str(v))) != NULL;
}

enum {
	T_GEODB, T_NETWORKS, T_LISTS, T_GROUPS, T_EXCEPTIONS, T_CAPTURE, T_FAIL_OPEN, T_GATEWAY, T_RULES,
	T_DEFAULT, T_OUTPUT, T_METRICS, T__COUNT
};

static bool load_policy(struct loader *ld, const yaml_node_t *root)
{
	struct field f[T__COUNT] = {
		[T_GEODB] = {"geodb"}, [T_NETWORKS] = {"networks"}, [T_LISTS] = {"lists"}, [T_GROUPS] = {"groups"},
		[T_EXCEPTIONS] = {"exceptions"},
		[T_CAPTURE] = {"capture"}, [T_FAIL_OPEN] = {"fail_open"}, [T_GATEWAY] = {"gateway"},
		[T_RULES] = {"rules"}, [T_DEFAULT] = {"default"}, [T_METRICS] = {"metrics"},
		[T_OUTPUT] = {"output"}, /* where events go: read by output/output_config.c */
	};
	const yaml_node_t *v;

	if (root->type != YAML_MAPPING_NODE)
		return fail(ld, root, "the policy must be a mapping with keys such as groups, rules and default, not %s",
			    kind(root));
	if (!read_mapping(ld, root, "the policy", f, T__COUNT))
		return false;
	/* Lists, then groups: groups and rules name them, wherever they
	 * stand in the file. */
	ld->p->lists_max_age_days = 180;
	if ((v = f[T_LISTS].value) && !load_lists(ld, v))
		return false;
	if ((v = f[T_GROUPS].value) && !load_groups(ld, v))
		return false;
	if ((v = f[T_GEODB].value) && !load_geodb(ld, v))
		return false;
	if ((v = f[T_NETWORKS].value) && !load_networks(ld, v))
		return false;
	if (!load_capture(ld, f[T_CAPTURE].value))
		return false;
	if ((v = f[T_FAIL_OPEN].value) && !load_bool(ld, v, "fail_open", &ld->p->fail_open))
		return false;
	ld->p->gateway = (struct gateway_settings){
		.mode = GATEWAY_MONITOR, .nflog_group = 4242, .flow_timeout_s = 3600, .decide_within_s = 3,
		.max_flows = 262144, .undecided_rate_kbytes = 32, .undecided_burst_kbytes = 512,
		.release_held = false,
	};
	if ((v = f[T_GATEWAY].value) && !load_gateway(ld, v))
		return false;
	if ((v = f[T_METRICS].value) && !load_metrics(ld, v))
		return false;
	ld->p->def = EF_ALLOW;
	if ((v = f[T_DEFAULT].value)) {
		if (!expect_scalar(ld, v, "`default'", "allow, log or block"))
			return false;
		if (!ef_verdict_parse(str(v), &ld->p->def))
			return fail(ld, v, "unknown default `%s' (expected allow, log or block)",
				    shown(ld, str(v)));
	}
	if ((v = f[T_RULES].value) && !load_rules(ld, v))
		return false;
	if ((v = f[T_EXCEPTIONS].value) && !load_exceptions(ld, v))
		return false;
	return true;
}

/* --- loading: entry points --------------------------------------------- */

static bool syntax_error(struct loader *ld, const yaml_parser_t *ps)
{
	size_t line = ps->problem_mark.line + 1, col = ps->problem_mark.column + 1;
	size_t at = ps->problem_mark.index;
	const char *hint = "";

	if (ps->error == YAML_MEMORY_ERROR) {
		snprintf(ld->err->msg, sizeof(ld->err->msg), "%s: out of memory", ld->name);
		return false;
	}
	/* The reader (bad UTF-8, NUL bytes) reports a byte offset, not a mark. */
	if (ps->error == YAML_READER_ERROR) {
		line = col = 1;
		for (size_t i = 0; i < ps->problem_offset && i < ld->len; i++, col++)
			if (ld->text[i] == '\n')
				line++, col = 0;
		at = ps->problem_offset;
	}
	if (at < ld->len && ld->text[at] == '@')
		hint = " (quote values that start with @, such as \"@designated\")";
	if (ps->context)
		return fail_at(ld, line, col, "%s, %s at line %zu%s", ps->problem ? ps->problem : "syntax error",
			       ps->context, ps->context_mark.line + 1, hint);
	return fail_at(ld, line, col, "%s%s", ps->problem ? ps->problem : "syntax error", hint);
}

/* The folder relative paths in the file are read from, absolute when it
 * exists; a policy from memory uses its name's folder. */
static bool set_folder(struct loader *ld, const char *name)
{
	const char *slash = strrchr(name, '/');
	char *dir = slash ? strndup(name, slash == name ? 1 : (size_t)(slash - name)) : strdup(".");
	char *real = dir ? realpath(dir, NULL) : NULL;

	ld->p->dir = dir ? ld_strdup(ld, real ? real : dir) : NULL;
	free(real);
	free(dir);
	if (!ld->p->dir)
		snprintf(ld->err->msg, sizeof(ld->err->msg), "%s: out of memory", name);
	return ld->p->dir != NULL;
}

struct policy *policy_load_buffer(const char *name, const char *text, size_t len,
				  struct policy_error *err)
{
	struct policy_error scratch;
	struct loader ld = {.name = name ? name : "<policy>", .text = text, .len = len};
	yaml_parser_t parser;
	yaml_document_t extra;
	bool ok = false, have_doc = false;

	ld.err = err ? err : &scratch;
	ld.err->msg[0] = 0;
	if (!(ld.p = calloc(1, sizeof(*ld.p))) || !yaml_parser_initialize(&parser)) {
		snprintf(ld.err->msg, sizeof(ld.err->msg), "%s: out of memory", ld.name);
		free(ld.p);
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!set_folder(&ld, ld.name) || !(ld.p->name = ld_strdup(&ld, ld.name)))
		goto out;

	/* yaml_parser_load() frees the document itself when it fails. */
	if (!yaml_parser_load(&parser, &ld.doc)) {
		syntax_error(&ld, &parser);
		goto out;
	}
	have_doc = true;
	const yaml_node_t *root = yaml_document_get_root_node(&ld.doc);
	if (!root) {
		fail_at(&ld, 1, 1, "the policy is empty (expected a mapping with keys such as groups, rules and default)");
		goto out;
	}
	if (!yaml_parser_load(&parser, &extra)) {
		syntax_error(&ld, &parser);
		goto out;
	}
	const yaml_node_t *second = yaml_document_get_root_node(&extra);
	if (second)
		fail(&ld, second, "a second YAML document (a policy is one document; remove the `---' before it)");
	yaml_document_delete(&extra);
	if (second)
		goto out;
	ok = load_policy(&ld, root);
out:
	if (have_doc)
		yaml_document_delete(&ld.doc);
	yaml_parser_delete(&parser);
	if (ok)
		return ld.p;
	policy_free(ld.p);
	return NULL;
}

/* The whole of a file, malloc()ed; err says why not ("PATH: cannot open WHAT: ..."). */
static bool read_whole_file(const char *path, const char *what, char **text_out, size_t *len_out, char *err,
			    size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t len = 0, cap = 0;
	bool ok = false;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open %s: %s", path, what, strerror(errno));
		return false;
	}
	for (;;) {
		if (len == cap) {
			if (cap == POLICY_MAX_FILE) {
				snprintf(err, errlen, "%s: %s is larger than %u MiB", path, what, POLICY_MAX_FILE >> 20);
				goto out;
			}
			char *bigger = realloc(text, cap ? cap * 2 : 16384);
			if (!bigger) {
				snprintf(err, errlen, "%s: out of memory", path);
				goto out;
			}
			text = bigger;
			cap = cap ? cap * 2 : 16384;
		}
		size_t got = fread(text + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: cannot read %s: %s", path, what, strerror(errno));
		goto out;
	}
	ok = true;
out:
	fclose(f);
	if (!ok) {
		free(text);
		return false;
	}
	*text_out = text;
	*len_out = len;
	return true;
}

struct policy *policy_load(const char *path, struct policy_error *err)
{
	struct policy_error scratch;
	char *text = NULL;
	size_t len = 0;
	struct policy *p;

	if (!err)
		err = &scratch;
	if (!read_whole_file(path, "policy", &text, &len, err->msg, sizeof(err->msg)))
		return NULL;
	p = policy_load_buffer(path, text, len, err);
	free(text);
	return p;
}

/* --- what the policy says about the rest of the engine ----------------- */

size_t policy_geodb_count(const struct policy *p)
{
	return p->n_geodb;
}

const char *policy_geodb_path(const struct policy *p, size_t i)
{
	return i < p->n_geodb ? p->geodb_paths[i] : NULL;
}

const char *policy_geodb_source(const struct policy *p, size_t i, unsigned *line, unsigned *col)
{
	if (i >= p->n_geodb)
		return NULL;
	*line = p->geodb_marks[i][0];
	*col = p->geodb_marks[i][1];
	return p->geodb_written[i];
}

const char *policy_file(const struct policy *p)
{
	return p->name;
}

const struct geodb_override *policy_overrides(const struct policy *p, size_t *n)
{
	*n = p->n_overrides;
	return p->overrides;
}

static bool in_internal(const struct policy *p, const struct ef_addr *a)
{
	for (size_t i = 0; i < p->n_internal; i++)
		if (ef_cidr_contains(&p->internal[i], a))
			return true;
	return false;
}

/*
 * A NAT64 or IPv4-mapped address is inside when the IPv4 it carries is, as
 * that IPv4 itself would be: the translator hands the packet to that very
 * address.  A 6to4 or Teredo address is not inside by its IPv4: its packets
 * go first to a relay, wherever routing finds one (a public relay would
 * deliver to someone else's private network), so they are judged as leaving.
 * The gateway's prefilter makes the same choice (enforce/nft.c).
 */
bool policy_is_internal(const struct policy *p, const struct ef_addr *a)
{
	struct ef_addr v4;

	if (in_internal(p, a))
		return true;
	switch (geodb_embedded_ipv4(a, &v4)) {
	case GEODB_EMBED_NAT64:
	case GEODB_EMBED_NAT64_LOCAL:
	case GEODB_EMBED_MAPPED:
		return in_internal(p, &v4);
	default:
		return false;
	}
}

size_t policy_interface_count(const struct policy *p)
{
	return p->n_interfaces;
}

const char *policy_interface(const struct policy *p, size_t i)
{
	return i < p->n_interfaces ? p->interfaces[i] : NULL;
}

enum capture_source policy_capture_source(const struct policy *p)
{
	return p->capture_source;
}

bool policy_reads_nflog(const struct policy *p, enum gateway_mode m)
{
	return m == GATEWAY_GATE || (m == GATEWAY_MONITOR && p->capture_source == CAPTURE_SOURCE_NFLOG);
}

bool policy_fail_open(const struct policy *p)
{
	return p->fail_open;
}

void policy_gateway(const struct policy *p, struct gateway_settings *out)
{
	*out = p->gateway;
}

static const char *const mode_names[] = {
	[GATEWAY_MONITOR] = "monitor", [GATEWAY_GATE] = "gate", [GATEWAY_OBSERVE] = "observe",
};

const char *gateway_mode_name(enum gateway_mode m)
{
	return (size_t)m < sizeof(mode_names) / sizeof(mode_names[0]) ? mode_names[m] : "?";
}

bool gateway_mode_parse(const char *s, enum gateway_mode *out)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (!strcmp(s, mode_names[i])) {
			*out = (enum gateway_mode)i;
			return true;
		}
	}
	return false;
}

const char *policy_metrics_listen(const struct policy *p)
{
	return p->metrics_listen;
}

const char *policy_country_group(const struct policy *p, ef_country c)
{
	if (c == EF_COUNTRY_NONE)
		return NULL;
	for (size_t i = 0; i < p->n_groups; i++)
		if (set_has(&p->groups[i].set, c))
			return p->groups[i].name;
	return NULL;
}

size_t policy_rule_count(const struct policy *p)
{
	return p->n_rules;
}

const char *policy_rule_log_prefix(const struct policy *p, size_t rule_index)
{
	return rule_index < p->n_rules ? p->rules[rule_index].log_prefix : NULL;
}

const struct ef_cidr *policy_internal_network(const struct policy *p, size_t i)
{
	return i < p->n_internal ? &p->internal[i] : NULL;
}
