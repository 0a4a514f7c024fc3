/*
 * enforce/policy_decide.c -- the verdict for one finished flow, and which
 * countries could get one (for the kernel prefilter).
 *
 * policy_decide() runs once per flow on the packet workers: it reads the
 * immutable policy and the query, never allocates, never locks and never
 * formats.  The remote end is judged in each country of its ef_geo, and also
 * in "no known country" when a database left it unplaced; the strictest
 * verdict wins.  Countries are bitmap lookups; CIDR, port and app lists are
 * short arrays scanned in order.
 */
#include "policy_internal.h"

#include <string.h>
#include <strings.h>

/*
 * Rules that can reach at_least each watch the countries their `to:` lists;
 * a negated `to:` watches every country but its list, and a rule with no
 * `to:` (or a default that strict) watches every country.  The answer is
 * either the union of the lists or, when anything watches "all but", the
 * countries every such rule leaves out and no listing rule names.
 * Returns how many codes the answer has; out gets the first cap of them,
 * in alphabetical order.
 */
size_t policy_watched_countries(const struct policy *p, enum ef_verdict at_least,
				ef_country *out, size_t cap, bool *all_but)
{
	struct country_set listed, region_countries, excepted, result;
	bool any_all_but = p->def >= at_least;

	memset(&listed, 0, sizeof(listed));
	memset(&region_countries, 0, sizeof(region_countries));
	memset(&excepted, 0xff, sizeof(excepted));
	if (any_all_but)
		memset(&excepted, 0, sizeof(excepted));
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct rule *r = &p->rules[i];
		if (r->action < at_least)
			continue;
		if (r->has_to && !r->to_negated) {
			set_union(&listed, &r->to);
			/* An all-but tier cannot leave a region's country out:
			 * its networks are watched whole (region_countries). */
			for (size_t k = 0; k < r->to.n_regions; k++)
				set_add(&region_countries, ef_region_country(r->to.regions[k]));
			continue;
		}
		any_all_but = true;
		for (size_t w = 0; w < sizeof(excepted.bits) / sizeof(excepted.bits[0]); w++)
			excepted.bits[w] &= r->has_to ? r->to.bits[w] : 0;
	}
	for (size_t w = 0; w < sizeof(result.bits) / sizeof(result.bits[0]); w++)
		result.bits[w] = any_all_but ? excepted.bits[w] & ~listed.bits[w] & ~region_countries.bits[w]
					     : listed.bits[w];
	if (all_but)
		*all_but = any_all_but;

	size_t n = 0;
	for (int slot = 0; slot < COUNTRY_SLOTS; slot++) {
		if (!set_has_slot(&result, slot))
			continue;
		if (n < cap)
			out[n] = slot_country(slot);
		n++;
	}
	return n;
}

/* --- deciding ---------------------------------------------------------- */

bool policy_app_matches(const struct app_name *apps, size_t n_apps, const char *app)
{
	if (!app || !*app)
		return false;
	const char *dot = strchr(app, '.');
	size_t master_len = dot ? (size_t)(dot - app) : strlen(app);

	for (size_t i = 0; i < n_apps; i++) {
		const struct app_name *a = &apps[i];
		if (!strcasecmp(a->name, app))
			return true;
		if (dot && ((a->len == master_len && !strncasecmp(a->name, app, master_len)) ||
			    !strcasecmp(a->name, dot + 1)))
			return true;
	}
	return false;
}

bool policy_port_matches(const struct port_range *ports, size_t n_ports, uint16_t port)
{
	for (size_t i = 0; i < n_ports; i++)
		if (port >= ports[i].lo && port <= ports[i].hi)
			return true;
	return false;
}

/* Everything but the country. */
static bool rule_matches_flow(const struct rule *r, const struct policy_query *q)
{
	unsigned enc = (unsigned)q->enc < EF_ENC__COUNT ? (unsigned)q->enc : EF_ENC_UNKNOWN;

	if (!(r->enc_mask & (1u << enc)))
		return false;
	if (r->has_l4 && !((r->l4[q->l4 / 64] >> (q->l4 % 64)) & 1))
		return false;
	if (q->bytes_out < r->min_bytes_out)
		return false;
	if (r->n_ports && !policy_port_matches(r->ports, r->n_ports, q->remote_port))
		return false;
	if (r->n_from) {
		size_t i;
		if (!q->inside)
			return false;
		for (i = 0; i < r->n_from; i++)
			if (ef_cidr_contains(&r->from[i], q->inside))
				break;
		if (i == r->n_from)
			return false;
	}
	if (r->n_apps && !policy_app_matches(r->apps, r->n_apps, q->app))
		return false;
	return true;
}

/* A country no database knows is in no list: a negated `to:` takes it.  The
 * address's region counts whichever country a database gives with it
 * (Crimea is UA-43 whether the database says UA or RU). */
static bool rule_matches_country(const struct rule *r, ef_country c, ef_region region)
{
	if (!r->has_to)
		return true;
	if (c == EF_COUNTRY_NONE)
		return r->to_negated;
	bool listed = set_has(&r->to, c) || (region && r->to.n_regions && set_has_region(&r->to, region));
	return listed != r->to_negated;
}

size_t policy_watched_regions(const struct policy *p, enum ef_verdict at_least, ef_region *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_rules; i++) {
		const struct rule *r = &p->rules[i];
		if (r->action < at_least || !r->has_to || r->to_negated)
			continue;
		for (size_t k = 0; k < r->to.n_regions; k++) {
			size_t j;
			for (j = 0; j < n && j < cap && out[j] != r->to.regions[k]; j++)
				;
			if (j < n)
				continue;
			if (n < cap)
				out[n] = r->to.regions[k];
			n++;
		}
	}
	return n;
}

/* "updates.example.com" matches itself; "*.example.com" its subdomains. */
static bool host_matches(const char *pattern, const char *name)
{
	if (!name || !*name)
		return false;
	if (pattern[0] != '*')
		return !strcasecmp(pattern, name);
	size_t plen = strlen(pattern + 1), nlen = strlen(name);
	return nlen > plen && !strcasecmp(name + nlen - plen, pattern + 1);
}

const struct policy_exception *policy_exception_for(const struct policy *p, const struct policy_query *q)
{
	/* A flow of unknown time is never excepted: an exception must be
	 * seen to be in force, so without a clock it is not (fail closed). */
	if (!q->time_us)
		return NULL;
	for (size_t i = 0; i < p->n_exceptions; i++) {
		const struct policy_exception *x = &p->exceptions[i];
		if (q->time_us >= x->until_us)
			continue;
		if (x->has_cidr ? !q->remote || !ef_cidr_contains(&x->cidr, q->remote)
				: !host_matches(x->host, q->server_name))
			continue;
		if (x->n_ports && !policy_port_matches(x->ports, x->n_ports, q->remote_port))
			continue;
		if (x->n_apps && !policy_app_matches(x->apps, x->n_apps, q->app))
			continue;
		return x;
	}
	return NULL;
}

void policy_decide(const struct policy *p, const struct policy_query *q,
		   struct policy_decision *out)
{
	const struct policy_exception *x = p->n_exceptions ? policy_exception_for(p, q) : NULL;

	if (x) {
		*out = (struct policy_decision){
			.verdict = EF_ALLOW, .rule_index = -1, .exception = x->name,
			.country = q->geo && q->geo->n ? q->geo->set[0] : EF_COUNTRY_NONE,
		};
		return;
	}

	ef_country countries[EF_GEO_MAX_COUNTRIES + 1] = {EF_COUNTRY_NONE};
	const struct rule *decided[EF_GEO_MAX_COUNTRIES + 1] = {NULL};
	size_t n = 1, left;
	ef_region region = q->geo ? q->geo->region : 0;

	if (q->geo && q->geo->n) {
		n = q->geo->n < EF_GEO_MAX_COUNTRIES ? q->geo->n : EF_GEO_MAX_COUNTRIES;
		memcpy(countries, q->geo->set, n * sizeof(countries[0]));
		/* A database that places the address nowhere may be the one
		 * that is right: the address is also judged as in no known
		 * country, so a silent database can never narrow the answer. */
		if (q->geo->unplaced)
			countries[n++] = EF_COUNTRY_NONE;
	}
	/* One pass over the rules decides every country: the flow-only
	 * matchers are checked once per rule, not once per country. */
	left = n;
	for (size_t i = 0; i < p->n_rules && left; i++) {
		const struct rule *r = &p->rules[i];
		if (!rule_matches_flow(r, q))
			continue;
		for (size_t k = 0; k < n; k++) {
			if (!decided[k] && rule_matches_country(r, countries[k], region)) {
				decided[k] = r;
				left--;
			}
		}
	}

	size_t best = 0;
	for (size_t k = 1; k < n; k++) {
		enum ef_verdict vk = decided[k] ? decided[k]->action : p->def;
		enum ef_verdict vb = decided[best] ? decided[best]->action : p->def;
		if (vk > vb)
			best = k;
	}
	const struct rule *r = decided[best];
	out->verdict = r ? r->action : p->def;
	out->rule = r ? r->name : NULL;
	out->rule_index = r ? (int)(r - p->rules) : -1;
	out->block_remote_seconds = r ? r->block_remote : 0;
	out->country = countries[best];
	out->exception = NULL;
}
