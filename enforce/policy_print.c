/*
 * enforce/policy_print.c -- the policy as `egressfence check` shows it:
 * groups expanded, paths absolute, defaults spelled out.  The output is
 * itself a valid policy that decides every flow the same way.
 */
#include "policy_internal.h"

#include <string.h>

/* Plain when YAML would read it back unchanged, double-quoted otherwise. */
static void print_scalar(FILE *out, const char *s)
{
	bool plain = *s && strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._", *s);

	for (const char *c = s; plain && *c; c++)
		plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			(*c >= '0' && *c <= '9') || strchr("/._-+", *c);
	if (plain && strcmp(s, "true") && strcmp(s, "false") && strcmp(s, "null")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fprintf(out, "\\x%02x", (unsigned char)*s);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

static void print_countries(FILE *out, const struct country_set *s, bool negated)
{
	bool first = true;

	fputc('[', out);
	for (int slot = 0; slot < COUNTRY_SLOTS; slot++) {
		char cc[3];
		if (!set_has_slot(s, slot))
			continue;
		ef_country_str(slot_country(slot), cc);
		fprintf(out, negated ? "%s\"!%s\"" : "%s%s", first ? "" : ", ", cc);
		first = false;
	}
	for (size_t i = 0; i < s->n_regions; i++) {
		char code[8];
		ef_region_str(s->regions[i], code);
		fprintf(out, negated ? "%s\"!%s\"" : "%s%s", first ? "" : ", ", code);
		first = false;
	}
	fputc(']', out);
}

static void print_cidrs(FILE *out, const struct ef_cidr *c, size_t n)
{
	char buf[EF_ADDR_STRLEN + 8];

	fputc('[', out);
	for (size_t i = 0; i < n; i++) {
		ef_cidr_format(&c[i], buf, sizeof(buf));
		fprintf(out, "%s%s", i ? ", " : "", buf);
	}
	fputc(']', out);
}

static void print_ports(FILE *out, const struct port_range *ports, size_t n)
{
	fputc('[', out);
	for (size_t i = 0; i < n; i++) {
		if (ports[i].lo == ports[i].hi)
			fprintf(out, "%s%u", i ? ", " : "", ports[i].lo);
		else
			fprintf(out, "%s\"%u-%u\"", i ? ", " : "", ports[i].lo, ports[i].hi);
	}
	fputs("]\n", out);
}

static void print_apps(FILE *out, const struct app_name *apps, size_t n)
{
	fputc('[', out);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", " : "", out);
		print_scalar(out, apps[i].name);
	}
	fputs("]\n", out);
}

static void print_rule(FILE *out, const struct rule *r)
{
	char omitted[128] = "";
	bool first;

	fputs("  - name: ", out);
	print_scalar(out, r->name);
	fprintf(out, "  # line %u\n", r->line);
	if (r->has_to) {
		fputs("    to: ", out);
		print_countries(out, &r->to, r->to_negated);
		if (strchr(r->to_text, '@'))
			fprintf(out, "  # %s", r->to_text);
		fputc('\n', out);
	} else {
		strcat(omitted, ", to (any country, unknown too)");
	}
	if (r->n_from) {
		fputs("    from: ", out);
		print_cidrs(out, r->from, r->n_from);
		fputc('\n', out);
	} else {
		strcat(omitted, ", from");
	}
	if (r->enc_mask != (1u << EF_ENC__COUNT) - 1) {
		fputs("    encryption: [", out);
		first = true;
		for (int e = 0; e < EF_ENC__COUNT; e++) {
			if (r->enc_mask & (1u << e)) {
				fprintf(out, "%s%s", first ? "" : ", ", ef_encryption_name((enum ef_encryption)e));
				first = false;
			}
		}
		fputs("]\n", out);
	} else {
		strcat(omitted, ", encryption");
	}
	if (r->has_l4) {
		fputs("    protocol: [", out);
		first = true;
		for (size_t k = 0; k < POLICY_N_PROTOCOLS; k++) {
			uint8_t pn = policy_protocols[k].number;
			if ((r->l4[pn / 64] >> (pn % 64)) & 1) {
				fprintf(out, "%s%s", first ? "" : ", ", policy_protocols[k].name);
				first = false;
			}
		}
		fputs("]\n", out);
	} else {
		strcat(omitted, ", protocol");
	}
	if (r->n_ports) {
		fputs("    ports: ", out);
		print_ports(out, r->ports, r->n_ports);
	} else {
		strcat(omitted, ", ports");
	}
	if (r->n_apps) {
		fputs("    app: ", out);
		print_apps(out, r->apps, r->n_apps);
	} else {
		strcat(omitted, ", app");
	}
	if (r->min_bytes_out)
		fprintf(out, "    min_bytes_out: %llu\n", (unsigned long long)r->min_bytes_out);
	fprintf(out, "    action: %s\n", ef_verdict_name(r->action));
	if (r->block_remote)
		fprintf(out, "    block_remote: %u\n", r->block_remote);
	if (r->log_prefix) {
		fputs("    log_prefix: ", out);
		print_scalar(out, r->log_prefix);
		fputc('\n', out);
	}
	if (*omitted)
		fprintf(out, "    # any %s\n", omitted + 2);
}

void policy_print(const struct policy *p, FILE *out)
{
	fputs("# ", out);
	print_scalar(out, p->name);
	fputs(", resolved: groups expanded, paths made absolute, defaults filled in\n", out);

	/* No geodb.country: the default database; an empty list would not
	 * read back. */
	fputs(p->n_geodb ? "geodb:\n  country:" : "geodb: {}", out);
	for (size_t i = 0; i < p->n_geodb; i++) {
		fputs("\n    - ", out);
		print_scalar(out, p->geodb_paths[i]);
	}
	fputs("\nnetworks:\n  internal: ", out);
	print_cidrs(out, p->internal, p->n_internal);
	fputs(p->n_overrides ? "\n  overrides:\n" : "\n  overrides: []\n", out);
	for (size_t i = 0; i < p->n_overrides; i++) {
		char cidr[EF_ADDR_STRLEN + 8], cc[8];
		ef_cidr_format(&p->overrides[i].cidr, cidr, sizeof(cidr));
		if (p->overrides[i].region)
			ef_region_str(p->overrides[i].region, cc);
		else
			ef_country_str(p->overrides[i].country, cc);
		fprintf(out, "    - { cidr: %s, country: %s }\n", cidr, cc);
	}

	/* Lists are printed as groups, so that the output stays a policy that
	 * decides alike without the lists file; where each came from, and
	 * when it was checked, is in comments. */
	if (p->lists_file) {
		fputs("# country lists from ", out);
		print_scalar(out, p->lists_file);
		fprintf(out, " (lists.max_age_days: %u)\n", p->lists_max_age_days);
	}
	for (size_t l = 0; l < p->n_lists; l++) {
		const struct country_list *cl = &p->lists[l];
		fprintf(out, "#   @%s%s%s%s\n", cl->name, cl->title ? ": " : "", cl->title ? cl->title : "",
			cl->used ? "" : " (not used by this policy)");
		fprintf(out, "#     source: %s\n", cl->source);
		if (cl->as_of)
			fprintf(out, "#     as of: %s\n", cl->as_of);
		fprintf(out, "#     checked: %s\n", cl->checked_text);
		for (size_t i = 0; i < cl->n_notes; i++) {
			char cc[8];
			if (cl->notes[i].region)
				ef_region_str(cl->notes[i].region, cc);
			else
				ef_country_str(cl->notes[i].country, cc);
			fprintf(out, "#     %s: %s\n", cc, cl->notes[i].note);
		}
		for (size_t i = 0; i < cl->n_list_notes; i++)
			fprintf(out, "#     note: %s\n", cl->list_notes[i]);
	}
	fputs(p->n_groups || p->n_lists ? "groups:\n" : "groups: {}\n", out);
	for (size_t l = 0; l < p->n_lists; l++) {
		fprintf(out, "  %s: ", p->lists[l].name);
		print_countries(out, &p->lists[l].set, false);
		fprintf(out, "  # list, checked %s\n", p->lists[l].checked_text);
	}
	for (size_t g = 0; g < p->n_groups; g++) {
		fprintf(out, "  %s: ", p->groups[g].name);
		print_countries(out, &p->groups[g].set, false);
		fputc('\n', out);
	}

	fputs("capture:\n  interfaces: [", out);
	for (size_t i = 0; i < p->n_interfaces; i++) {
		fputs(i ? ", " : "", out);
		print_scalar(out, p->interfaces[i]);
	}
	fprintf(out, "]\n  source: %s\nfail_open: %s\n", capture_source_name(p->capture_source),
		p->fail_open ? "true" : "false");
	fprintf(out, "gateway:\n  mode: %s\n  nflog_group: %u\n  flow_timeout: %u\n  decide_within: %u\n"
		     "  max_flows: %u\n  undecided_rate: %u\n  undecided_burst: %u\n  release_held: %s\n",
		gateway_mode_name(p->gateway.mode), p->gateway.nflog_group,
		p->gateway.flow_timeout_s, p->gateway.decide_within_s, p->gateway.max_flows,
		p->gateway.undecided_rate_kbytes, p->gateway.undecided_burst_kbytes,
		p->gateway.release_held ? "true" : "false");
	fputs("  flowtable: [", out);
	for (size_t i = 0; i < p->gateway.n_flowtable; i++) {
		fputs(i ? ", " : "", out);
		print_scalar(out, p->gateway.flowtable[i]);
	}
	fputs("]\n", out);
	if (p->metrics_listen) {
		fputs("metrics:\n  listen: ", out);
		print_scalar(out, p->metrics_listen);
		fputc('\n', out);
	}

	if (p->n_exceptions)
		fputs("exceptions:\n", out);
	for (size_t i = 0; i < p->n_exceptions; i++) {
		const struct policy_exception *x = &p->exceptions[i];
		fputs("  - name: ", out);
		print_scalar(out, x->name);
		fprintf(out, "  # line %u\n", x->line);
		if (x->has_cidr) {
			char cidr[EF_ADDR_STRLEN + 8];
			ef_cidr_format(&x->cidr, cidr, sizeof(cidr));
			fprintf(out, "    cidr: \"%s\"", cidr);
		} else {
			fputs("    host: ", out);
			print_scalar(out, x->host);
		}
		fputc('\n', out);
		if (x->n_ports) {
			fputs("    ports: ", out);
			print_ports(out, x->ports, x->n_ports);
		}
		if (x->n_apps) {
			fputs("    app: ", out);
			print_apps(out, x->apps, x->n_apps);
		}
		fprintf(out, "    until: \"%s\"\n    owner: ", x->until_text);
		print_scalar(out, x->owner);
		fputs("\n    reason: ", out);
		print_scalar(out, x->reason);
		fputc('\n', out);
	}
	fputs(p->n_rules ? "rules:\n" : "rules: []\n", out);
	for (size_t i = 0; i < p->n_rules; i++)
		print_rule(out, &p->rules[i]);
	fprintf(out, "default: %s\n", ef_verdict_name(p->def));
}
