/*
 * enforce/policy_check.c -- what `egressfence check` warns about in a
 * policy that loaded: country lists checked too long ago, exceptions that
 * have expired, and rules that can never fire.
 *
 * None of these stops a load: a stale list still says what it said, an
 * expired exception simply stops applying, and a dead rule decides nothing.
 * But each is a policy that does not do what its author believes, so each
 * is named with the FILE:LINE:COL of the value to look at.  Everything here
 * reads the immutable policy and the date it is given; nothing is on a
 * packet path.
 */
#include "policy_internal.h"

#include <stdarg.h>
#include <string.h>

#define DAY_SECONDS 86400

__attribute__((format(printf, 5, 6)))
static void warn(FILE *out, const char *file, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	fprintf(out, "%s:%u:%u: warning: ", file, line, col);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
}

static bool cidr_within(const struct ef_cidr *inner, const struct ef_cidr *outer)
{
	return inner->addr.family == outer->addr.family && inner->prefix >= outer->prefix &&
	       ef_cidr_contains(outer, &inner->addr);
}

static bool cidrs_overlap(const struct ef_cidr *a, const struct ef_cidr *b)
{
	return cidr_within(a, b) || cidr_within(b, a);
}

static bool set_within(const struct country_set *inner, const struct country_set *outer)
{
	for (size_t w = 0; w < sizeof(inner->bits) / sizeof(inner->bits[0]); w++)
		if (inner->bits[w] & ~outer->bits[w])
			return false;
	return true;
}

static bool set_disjoint(const struct country_set *a, const struct country_set *b)
{
	for (size_t w = 0; w < sizeof(a->bits) / sizeof(a->bits[0]); w++)
		if (a->bits[w] & b->bits[w])
			return false;
	return true;
}

/* Every country (unknown included) rule b can match, rule a matches too. */
static bool to_covers(const struct rule *a, const struct rule *b)
{
	if (!a->has_to)
		return true;
	if (!b->has_to)
		return false;
	if (a->to.n_regions || b->to.n_regions) {
		/* Only the plain case is decided; otherwise no shadow is claimed. */
		if (a->to_negated || b->to_negated || !set_within(&b->to, &a->to))
			return false;
		for (size_t i = 0; i < b->to.n_regions; i++)
			if (!set_has_region(&a->to, b->to.regions[i]) &&
			    !set_has(&a->to, ef_region_country(b->to.regions[i])))
				return false;
		return true;
	}
	if (!a->to_negated && !b->to_negated)
		return set_within(&b->to, &a->to);
	if (a->to_negated && !b->to_negated)
		return set_disjoint(&a->to, &b->to);
	if (a->to_negated && b->to_negated)
		return set_within(&a->to, &b->to);
	return false; /* a lists countries, b takes unknown and everything else */
}

static bool ports_cover(const struct rule *a, const struct rule *b)
{
	if (!a->n_ports)
		return true;
	if (!b->n_ports)
		return false;
	for (size_t j = 0; j < b->n_ports; j++) {
		size_t i;
		for (i = 0; i < a->n_ports; i++)
			if (a->ports[i].lo <= b->ports[j].lo && b->ports[j].hi <= a->ports[i].hi)
				break;
		if (i == a->n_ports)
			return false;
	}
	return true;
}

static bool from_covers(const struct rule *a, const struct rule *b)
{
	if (!a->n_from)
		return true;
	if (!b->n_from)
		return false;
	for (size_t j = 0; j < b->n_from; j++) {
		size_t i;
		for (i = 0; i < a->n_from; i++)
			if (cidr_within(&b->from[j], &a->from[i]))
				break;
		if (i == a->n_from)
			return false;
	}
	return true;
}

/* Names are compared whole: "TLS" in a does not count as covering
 * "TLS.Google" in b, so a shadow is only reported when it is certain. */
static bool apps_cover(const struct rule *a, const struct rule *b)
{
	if (!a->n_apps)
		return true;
	if (!b->n_apps)
		return false;
	for (size_t j = 0; j < b->n_apps; j++)
		if (!policy_app_matches(a->apps, a->n_apps, b->apps[j].name))
			return false;
	return true;
}

/* Rule a matches every flow rule b matches: b, after a, never decides. */
static bool rule_covers(const struct rule *a, const struct rule *b)
{
	if ((b->enc_mask & ~a->enc_mask) || a->min_bytes_out > b->min_bytes_out)
		return false;
	if (a->has_l4) {
		if (!b->has_l4)
			return false;
		for (size_t w = 0; w < 4; w++)
			if (b->l4[w] & ~a->l4[w])
				return false;
	}
	return to_covers(a, b) && ports_cover(a, b) && from_covers(a, b) && apps_cover(a, b);
}

static size_t check_rules(const struct policy *p, FILE *out)
{
	size_t n = 0;

	if (!p->n_rules) {
		warn(out, p->name, 1, 1, "the policy has no rules: every flow gets the default, %s",
		     ef_verdict_name(p->def));
		return 1;
	}
	for (size_t j = 0; j < p->n_rules; j++) {
		const struct rule *r = &p->rules[j];
		for (size_t i = 0; i < j; i++) {
			if (rule_covers(&p->rules[i], r)) {
				warn(out, p->name, r->line, r->col,
				     "rule `%s' can never fire: rule `%s' (line %u) comes first and matches every flow it matches",
				     r->name, p->rules[i].name, p->rules[i].line);
				n++;
				break;
			}
		}
		if (r->has_to && !r->to_negated) {
			bool any = false;
			any = r->to.n_regions > 0;
			for (int slot = 0; slot < COUNTRY_SLOTS && !any; slot++)
				any = set_has_slot(&r->to, slot);
			if (!any) {
				warn(out, p->name, r->line, r->col,
				     "rule `%s' can never fire: its `to' names no country (an empty group)", r->name);
				n++;
			}
		}
		for (size_t k = 0; k < r->n_from; k++) {
			size_t i;
			for (i = 0; i < p->n_internal; i++)
				if (cidrs_overlap(&r->from[k], &p->internal[i]))
					break;
			if (i < p->n_internal)
				continue;
			char buf[EF_ADDR_STRLEN + 8];
			ef_cidr_format(&r->from[k], buf, sizeof(buf));
			warn(out, p->name, r->line, r->col,
			     "rule `%s': from %s is outside networks.internal, and a flow's inside end is in networks.internal whenever one end is: it matches only flows between two outside addresses",
			     r->name, buf);
			n++;
		}
	}
	return n;
}

size_t policy_warnings(const struct policy *p, int64_t now_s, FILE *out)
{
	int64_t today = now_s / DAY_SECONDS - (now_s % DAY_SECONDS < 0);
	size_t n = 0;

	for (size_t l = 0; l < p->n_lists; l++) {
		const struct country_list *cl = &p->lists[l];
		int64_t age = today - cl->checked_day;
		if (!cl->used)
			continue;
		if (age > (int64_t)p->lists_max_age_days) {
			warn(out, p->lists_file, cl->checked_line, cl->checked_col,
			     "list `%s' was checked %s, %lld days ago (more than lists.max_age_days, %u): re-check it against %s",
			     cl->name, cl->checked_text, (long long)age, p->lists_max_age_days, cl->source);
			n++;
		} else if (age < 0) {
			warn(out, p->lists_file, cl->checked_line, cl->checked_col,
			     "list `%s' says it was checked %s, %lld days from now (a mistyped date?)", cl->name,
			     cl->checked_text, (long long)-age);
			n++;
		}
	}
	for (size_t i = 0; i < p->n_exceptions; i++) {
		const struct policy_exception *x = &p->exceptions[i];
		if (x->until_day < today) {
			warn(out, p->name, x->until_line, x->until_col,
			     "exception `%s' (owner %s) expired after %s and no longer applies: remove it, or renew it with a new `until'",
			     x->name, x->owner, x->until_text);
			n++;
		}
	}
	return n + check_rules(p, out);
}

size_t policy_describe_lists(const struct policy *p, int64_t now_s, FILE *out)
{
	int64_t today = now_s / DAY_SECONDS - (now_s % DAY_SECONDS < 0);

	for (size_t l = 0; l < p->n_lists; l++) {
		const struct country_list *cl = &p->lists[l];
		fprintf(out, "# list @%s: %s; checked %s (%lld days ago)%s\n", cl->name, cl->source, cl->checked_text,
			(long long)(today - cl->checked_day), cl->used ? "" : "; not used by this policy");
	}
	for (size_t i = 0; i < p->n_exceptions; i++) {
		const struct policy_exception *x = &p->exceptions[i];
		if (x->until_day < today)
			fprintf(out, "# exception %s: EXPIRED after %s (owner %s), no longer applies\n", x->name,
				x->until_text, x->owner);
		else
			fprintf(out, "# exception %s: applies through %s (%lld days left), owner %s: %s\n", x->name,
				x->until_text, (long long)(x->until_day - today), x->owner, x->reason);
	}
	return p->n_lists;
}
