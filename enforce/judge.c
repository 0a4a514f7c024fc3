/*
 * enforce/judge.c -- a classified flow judged: oriented the policy's way
 * (inside end first), its remote end placed, and the policy applied.  The
 * one place where audit and the gateway turn a flow record into a verdict,
 * so the two can never judge the same flow differently.
 */
#include "enforce.h"

#include <string.h>

/* b's countries added to a's: the strictest reading of both. */
static void geo_merge(struct ef_geo *a, const struct ef_geo *b)
{
	for (int i = 0; i < b->n; i++) {
		bool have = false;
		for (int k = 0; k < a->n; k++)
			have |= a->set[k] == b->set[i];
		if (!have && a->n < EF_GEO_MAX_COUNTRIES)
			a->set[a->n++] = b->set[i];
		else if (!have)
			a->unplaced = true; /* no room: judged as unplaced too, never narrower */
	}
	a->unplaced |= b->unplaced;
	a->overridden |= b->overridden;
	if (!a->region)
		a->region = b->region;
	if (!a->n_db)
		a->n_db = b->n_db;
}

/* The countries of the flow's tunnel ends outside networks.internal (and
 * not the flow's own ends); true when there is one.  Too many ends to keep
 * is judged as an address nothing places (fail closed). */
static bool place_via(const struct policy *p, const struct geodb *db, const struct ef_flow_record *r,
		      struct ef_geo *out)
{
	bool any = false;

	memset(out, 0, sizeof(*out));
	for (uint8_t i = 0; i < r->n_via && i < EF_VIA_MAX; i++) {
		const struct ef_addr *a = &r->via[i];
		struct ef_geo g;
		if (policy_is_internal(p, a) || ef_addr_stays_local(a) ||
		    !memcmp(a, &r->remote, sizeof(*a)) || !memcmp(a, &r->inside, sizeof(*a)))
			continue;
		geodb_country_of(db, a, &g);
		geo_merge(out, &g);
		any = true;
	}
	if (r->via_overflow) {
		out->unplaced = true;
		any = true;
	}
	return any;
}

void policy_judge_flow(const struct policy *p, const struct geodb *db, struct ef_flow_record *r,
		       struct policy_decision *d)
{
	bool init_in = policy_is_internal(p, &r->inside), resp_in = policy_is_internal(p, &r->remote);

	if (resp_in && !init_in) {
		/* An outside client talking to an inside server: the inside end is
		 * the responder, and what it sent is what leaves. */
		struct ef_addr a = r->inside;
		uint16_t port = r->inside_port;
		uint64_t b = r->bytes_out, pk = r->packets_out;
		r->inside = r->remote;
		r->inside_port = r->remote_port;
		r->remote = a;
		r->remote_port = port;
		r->bytes_out = r->bytes_in;
		r->bytes_in = b;
		r->packets_out = r->packets_in;
		r->packets_in = pk;
		r->initiator = EF_INIT_REMOTE;
		if (r->rejudged)
			r->rejudge_dir ^= 1;
		uint32_t h[2] = {r->handshake_clear[1], r->handshake_unproven[1]};
		r->handshake_clear[1] = r->handshake_clear[0], r->handshake_clear[0] = h[0];
		r->handshake_unproven[1] = r->handshake_unproven[0], r->handshake_unproven[0] = h[1];
		uint32_t o = r->ip_options_unproven[1];
		r->ip_options_unproven[1] = r->ip_options_unproven[0], r->ip_options_unproven[0] = o;
	}
	/* A tunnel's outer ends outside networks.internal receive every byte
	 * too: the flow goes to their countries as well as to its own remote
	 * end's, whatever the inner addresses say. */
	struct ef_geo via = {0};
	bool via_abroad = place_via(p, db, r, &via);
	if (via_abroad) {
		if (ef_addr_stays_local(&r->remote) || (init_in && resp_in))
			memset(&r->geo, 0, sizeof(r->geo));
		else
			geodb_country_of(db, &r->remote, &r->geo);
		geo_merge(&r->geo, &via);
		goto decide;
	}
	/* Loopback, link-local, multicast, broadcast: it never leaves a host
	 * or a link, so no country and no rule, as on the gateway, whose
	 * prefilter never watches these (core/flow.h). */
	if (ef_addr_stays_local(&r->remote)) {
		memset(&r->geo, 0, sizeof(r->geo));
		*d = (struct policy_decision){.verdict = EF_ALLOW, .rule_index = -1};
		return;
	}
	geodb_country_of(db, &r->remote, &r->geo);
	if (init_in && resp_in && !r->geo.overridden) {
		/* Between two inside networks: the data does not leave what
		 * networks.internal protects, unless an override places the
		 * remote end abroad (a branch office reached directly).  A
		 * database's answer does not count here: whois-derived databases
		 * place private ranges in some country, which says nothing of
		 * where a company's own network is.  The gateway's prefilter
		 * makes the same choice (enforce/nft.c), and the event shows no
		 * country for it. */
		memset(&r->geo, 0, sizeof(r->geo));
		*d = (struct policy_decision){.verdict = EF_ALLOW, .rule_index = -1};
		return;
	}
decide:;
	struct policy_query q = {
		.inside = &r->inside,
		.remote = &r->remote,
		.inside_port = r->inside_port,
		.remote_port = r->remote_port,
		.l4 = r->l4,
		.enc = r->enc,
		.app = r->app,
		.bytes_out = r->bytes_out,
		.geo = &r->geo,
		.time_us = r->first_us,
		.server_name = r->server_name,
	};
	policy_decide(p, &q, d);
}

