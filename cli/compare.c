/*
 * cli/compare.c -- `egressfence audit --compare NEW.yaml`: the same captures
 * judged under the current policy and a proposed one, in one pass, and what
 * would change.
 *
 * The engine judges every flow under the current policy as usual; its
 * on_judged hook hands the classifier's record here, where it is judged
 * again, from the same unoriented record, under the new policy (with the new
 * policy's own networks, overrides and databases), through the same
 * policy_judge_flow() that audit and the gateway use.  Only flows whose
 * verdict differs are kept: counted per (verdict change, rule before, rule
 * after, country) and, with --json, written as the new policy's event plus
 * what the current one said ("was_verdict", "was_rule", "was_exception").
 *
 * Invariants: the hook runs on several workers at once, so everything it
 * changes is behind one mutex (this is an offline audit: one lock per
 * flow costs nothing next to classification).  The exit code is 1 exactly
 * when some flow's verdict would become stricter, so a pipeline can refuse a
 * policy change that would block or log what passes today.
 */
#include "engine.h"
#include "../output/output.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct change {
	enum ef_verdict was, now;
	const char *was_rule, *now_rule;  /* rule or exception names, owned by the policies */
	ef_country country;
	uint64_t flows, bytes_out;
};

struct compare_ctx {
	pthread_mutex_t lock;
	const struct policy *newp;
	const struct geodb *newdb;
	FILE *json;
	struct change *changes;
	size_t n, cap;
	uint64_t judged, stricter, looser;
	bool out_of_memory;
};

static const char *decided_by(const struct policy_decision *d)
{
	return d->exception ? d->exception : d->rule ? d->rule : "(default)";
}

static bool same_name(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* The new policy's event, with what the current policy said spliced in
 * before its closing brace. */
static void write_changed_event(struct compare_ctx *c, const struct ef_flow_record *r,
				const struct policy_decision *now, const struct policy_decision *was)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	if (!mem) {
		c->out_of_memory = true;
		return;
	}
	event_write_json(mem, EVENT_FORMAT_NATIVE, r, now, c->newdb, NULL);
	if (fclose(mem) != 0 || len < 2 || buf[len - 2] != '}') {
		c->out_of_memory = true;
		free(buf);
		return;
	}
	fwrite(buf, 1, len - 2, c->json);
	fprintf(c->json, ",\"was_verdict\":\"%s\",\"was_rule\":", ef_verdict_name(was->verdict));
	/* Names are printable (the loader refuses control characters) but
	 * may hold quotes and backslashes. */
	if (was->rule) {
		fputc('"', c->json);
		for (const char *s = was->rule; *s; s++)
			fprintf(c->json, *s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
		fputc('"', c->json);
	} else {
		fputs("null", c->json);
	}
	if (was->exception) {
		fputs(",\"was_exception\":\"", c->json);
		for (const char *s = was->exception; *s; s++)
			fprintf(c->json, *s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
		fputc('"', c->json);
	}
	fputs("}\n", c->json);
	free(buf);
}

static void on_judged(void *ctx, const struct ef_flow_record *raw, const struct ef_flow_record *judged,
		      const struct policy_decision *was)
{
	struct compare_ctx *c = ctx;
	struct ef_flow_record r = *raw;
	struct policy_decision now;

	policy_judge_flow(c->newp, c->newdb, &r, &now);
	r.capture_file_name = judged->capture_file_name;
	ef_country country = now.country ? now.country : was->country;
	if (!country)
		country = r.geo.n ? r.geo.set[0] : EF_COUNTRY_NONE;

	pthread_mutex_lock(&c->lock);
	c->judged++;
	if (now.verdict == was->verdict)
		goto out;
	if (now.verdict > was->verdict)
		c->stricter++;
	else
		c->looser++;
	size_t i;
	for (i = 0; i < c->n; i++) {
		struct change *x = &c->changes[i];
		if (x->was == was->verdict && x->now == now.verdict && x->country == country &&
		    same_name(x->was_rule, decided_by(was)) && same_name(x->now_rule, decided_by(&now)))
			break;
	}
	if (i == c->n) {
		if (c->n == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 64;
			struct change *bigger = realloc(c->changes, cap * sizeof(*bigger));
			if (!bigger) {
				c->out_of_memory = true;
				goto out;
			}
			c->changes = bigger;
			c->cap = cap;
		}
		c->changes[c->n++] = (struct change){
			.was = was->verdict, .now = now.verdict, .was_rule = decided_by(was),
			.now_rule = decided_by(&now), .country = country,
		};
	}
	c->changes[i].flows++;
	c->changes[i].bytes_out += r.bytes_out;
	if (c->json)
		write_changed_event(c, &r, &now, was);
out:
	pthread_mutex_unlock(&c->lock);
}

/* Stricter first, then by the current rule, the new rule, the country. */
static int by_change(const void *a, const void *b)
{
	const struct change *x = a, *y = b;
	bool xs = x->now > x->was, ys = y->now > y->was;
	int k;

	if (xs != ys)
		return xs ? -1 : 1;
	if ((k = strcmp(x->was_rule, y->was_rule)) || (k = strcmp(x->now_rule, y->now_rule)))
		return k;
	return (int)x->country - (int)y->country;
}

static void print_changes(FILE *out, struct compare_ctx *c, const char *current, const char *proposed)
{
	fprintf(out, "egressfence audit --compare: %llu flows judged under %s (current) and %s (new)\n",
		(unsigned long long)c->judged, current, proposed);
	fprintf(out, "%llu change verdict: %llu stricter, %llu looser\n",
		(unsigned long long)(c->stricter + c->looser), (unsigned long long)c->stricter,
		(unsigned long long)c->looser);
	if (!c->n)
		return;
	qsort(c->changes, c->n, sizeof(*c->changes), by_change);
	fprintf(out, "\n%-8s %-13s %-28s %-28s %-7s %7s %12s\n", "", "verdict", "current rule", "new rule", "country",
		"flows", "bytes out");
	for (size_t i = 0; i < c->n; i++) {
		const struct change *x = &c->changes[i];
		char verdicts[32], cc[3];
		snprintf(verdicts, sizeof(verdicts), "%s->%s", ef_verdict_name(x->was), ef_verdict_name(x->now));
		ef_country_str(x->country, cc);
		fprintf(out, "%-8s %-13s %-28s %-28s %-7s %7llu %12llu\n", x->now > x->was ? "stricter" : "looser",
			verdicts, x->was_rule, x->now_rule, x->country ? cc : OUTPUT_NO_COUNTRY,
			(unsigned long long)x->flows, (unsigned long long)x->bytes_out);
	}
}

int audit_compare(const struct compare_request *req, const char *const *paths, size_t n)
{
	struct policy_error perr;
	struct compare_ctx c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct audit_totals t;
	char err[1024];
	int rc = 2;
	struct policy *newp;
	struct geodb *newdb = NULL;
	bool json_is_file = req->json && strcmp(req->json, "-") != 0;

	if (!(newp = policy_load(req->new_policy, &perr))) {
		fprintf(stderr, "egressfence: %s\n", perr.msg);
		return 2;
	}
	c.newp = newp;
	newdb = open_policy_geodb(newp, req->dbs, req->n_dbs, err, sizeof(err));
	if (!newdb) {
		fprintf(stderr, "egressfence: %s\n", err);
		goto out;
	}
	c.newdb = newdb;
	if (json_is_file && !(c.json = output_open(req->json, OUTPUT_FRESH, err, sizeof(err)))) {
		fprintf(stderr, "egressfence: %s\n", err);
		goto out;
	}
	if (req->json && !json_is_file)
		c.json = stdout;
	struct audit_options o = {
		.policy = req->current,
		.geodb = req->current_db,
		.workers = req->workers ? req->workers : 1,
		.classifier = {.max_flows = req->max_flows},
		.on_judged = on_judged,
		.on_judged_ctx = &c,
	};
	if (engine_audit(&o, paths, n, &t, err, sizeof(err))) {
		fprintf(stderr, "egressfence: %s\n", err);
		goto out;
	}
	if (c.out_of_memory) {
		fprintf(stderr, "egressfence: out of memory while comparing\n");
		goto out;
	}
	print_changes(c.json == stdout ? stderr : stdout, &c, policy_file(req->current), req->new_policy);
	rc = t.failed_files ? 2 : c.stricter ? 1 : 0;
out:
	if (c.json && c.json != stdout && fclose(c.json) != 0 && rc != 2) {
		fprintf(stderr, "egressfence: %s: %s\n", req->json, strerror(errno));
		rc = 2;
	}
	free(c.changes);
	geodb_close(newdb);
	policy_free(newp);
	return rc;
}
