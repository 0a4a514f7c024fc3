/*
 * bench/nft_latency.c -- what the kernel side costs: building the prefilter
 * from a policy and its country databases, loading and replacing the
 * ruleset, and the time from a verdict to the kernel for single decisions
 * and for a burst (issue 3).
 *
 *   nft_latency [--config FILE] [--mode gate|monitor] [--decisions N]
 *
 * Needs root (CAP_NET_ADMIN): it moves itself into a network namespace of
 * its own first, so the host's ruleset is never touched.  The comparison
 * row sends one decision as libnftables would (`add element' text), which
 * is why the engine does not.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nftables/libnftables.h>

#include "enforce/enforce.h"
#include "geodb/geodb.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);

	return v[i < n ? i : n - 1];
}

static void die(const char *what, const char *err)
{
	fprintf(stderr, "nft_latency: %s: %s\n", what, err);
	exit(1);
}

/* A distinct flow per index: 10.x.y.z:port -> 198.51.100.n:443. */
static void flow_of(size_t i, struct ef_addr *in, struct ef_addr *re, uint16_t *port)
{
	char a[32], b[32];

	snprintf(a, sizeof(a), "10.%zu.%zu.%zu", (i >> 16) & 255, (i >> 8) & 255, i & 255);
	snprintf(b, sizeof(b), "198.51.100.%zu", i % 250 + 1);
	ef_addr_parse(a, in);
	ef_addr_parse(b, re);
	*port = (uint16_t)(10000 + i % 50000);
}

int main(int argc, char **argv)
{
	const char *config = "policy/default.yaml";
	enum gateway_mode mode = GATEWAY_GATE;
	size_t n = 1000;
	char err[1024];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			config = argv[++i];
		else if (!strcmp(argv[i], "--mode") && i + 1 < argc)
			mode = strcmp(argv[++i], "monitor") ? GATEWAY_GATE : GATEWAY_MONITOR;
		else if (!strcmp(argv[i], "--decisions") && i + 1 < argc)
			n = strtoul(argv[++i], NULL, 10);
		else
			die("usage", "nft_latency [--config FILE] [--mode gate|monitor] [--decisions N]");
	}
	if (n < 2)
		n = 2;
	if (unshare(CLONE_NEWNET) != 0)
		die("unshare(CLONE_NEWNET)", "needs root");

	struct policy_error perr;
	double t0 = now_ms();
	struct policy *p = policy_load(config, &perr);
	if (!p)
		die("policy", perr.msg);
	const char *paths[EF_GEO_MAX_DB];
	size_t n_db = policy_geodb_count(p), n_ov;
	for (size_t i = 0; i < n_db; i++)
		paths[i] = policy_geodb_path(p, i);
	const struct geodb_override *ov = policy_overrides(p, &n_ov);
	struct geodb *db = geodb_open(paths, n_db, ov, n_ov, err, sizeof(err));
	if (!db)
		die("geodb", err);
	double t_open = now_ms();
	struct prefilter *pf = prefilter_build(p, db, err, sizeof(err));
	if (!pf)
		die("prefilter", err);
	double t_build = now_ms();
	struct gateway_settings g;
	policy_gateway(p, &g);
	g.mode = mode;
	char *create = ruleset_text(pf, p, &g, RULESET_CREATE);
	char *replace = ruleset_text(pf, p, &g, RULESET_REPLACE);
	double t_text = now_ms();
	struct nft_table *t = nft_table_open(false, err, sizeof(err));
	if (!t)
		die("libnftables", err);
	if (nft_table_load(t, create, err, sizeof(err)) != 0)
		die("load", err);
	double t_load = now_ms();
	if (nft_table_load(t, replace, err, sizeof(err)) != 0)
		die("replace", err);
	double t_replace = now_ms();

	printf("config %s, %s mode, %zu database(s)\n", config, mode == GATEWAY_GATE ? "gate" : "monitor", n_db);
	printf("prefilter: block tier %zu IPv4 + %zu IPv6 ranges, log tier %zu + %zu\n",
	       prefilter_ranges(pf, TIER_BLOCK, 4), prefilter_ranges(pf, TIER_BLOCK, 6),
	       prefilter_ranges(pf, TIER_LOG, 4), prefilter_ranges(pf, TIER_LOG, 6));
	printf("  open policy+db %8.1f ms\n  build prefilter %7.1f ms\n  write text %12.1f ms (%zu bytes)\n"
	       "  load (create) %9.1f ms\n  reload (replace) %6.1f ms\n",
	       t_open - t0, t_build - t_open, t_text - t_build, strlen(create), t_load - t_text, t_replace - t_load);

	/* One decision, one transaction, n times. */
	double *lat = calloc(n, sizeof(*lat));
	for (size_t i = 0; i < n; i++) {
		struct ef_addr in, re;
		uint16_t port;
		flow_of(i, &in, &re, &port);
		struct nft_decision d = {.kind = NFT_BLOCK_FLOW, .inside = &in, .remote = &re,
					 .inside_port = port, .remote_port = 443, .l4 = 6, .timeout_s = 600};
		double a = now_ms();
		nft_table_queue(t, &d);
		if (nft_table_commit(t, err, sizeof(err)) != 0)
			die("decision", err);
		lat[i] = now_ms() - a;
	}
	qsort(lat, n, sizeof(*lat), cmp_double);
	printf("single decisions (%zu, one transaction each): p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", n,
	       pct(lat, n, 50), pct(lat, n, 99), lat[n - 1]);

	/* A burst: n verdicts at once, queued as they come (the queue sends a
	 * transaction every 256) and committed at the end, as the engine does
	 * after reading a batch of packets.  A decision's latency is from the
	 * burst's start to the commit that carried it. */
	double start = now_ms();
	size_t done = 0;
	for (size_t i = 0; i < n; i++) {
		struct ef_addr in, re;
		uint16_t port;
		flow_of(n + i, &in, &re, &port);
		struct nft_decision d = {.kind = NFT_BLOCK_FLOW, .inside = &in, .remote = &re, .inside_port = port,
					 .remote_port = 8443, .l4 = 6, .timeout_s = 600};
		nft_table_queue(t, &d);
		if (nft_table_queued(t) == 0) { /* the queue just sent a full batch */
			for (double now = now_ms(); done <= i; done++)
				lat[done] = now - start;
		}
	}
	if (nft_table_commit(t, err, sizeof(err)) != 0)
		die("burst", err);
	for (double now = now_ms(); done < n; done++)
		lat[done] = now - start;
	qsort(lat, n, sizeof(*lat), cmp_double);
	printf("burst of %zu decisions: p50 %.3f ms, p99 %.3f ms, all in %.3f ms\n", n, pct(lat, n, 50), pct(lat, n, 99),
	       lat[n - 1]);

	/* The path not taken: one `add element' through libnftables. */
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	/* Every decision must be in the kernel: count them once. */
	if (nft_run_cmd_from_buffer(ctx, "list set inet egressfence block_flows4") == 0) {
		size_t found = 0;
		for (const char *q = nft_ctx_get_output_buffer(ctx); (q = strstr(q, " . tcp . ")); q++)
			found++;
		printf("check: %zu decisions in the kernel (%zu sent)\n", found, 2 * n);
	}
	double worst = 0, sum = 0;
	for (int i = 0; i < 5; i++) {
		char cmd[256];
		snprintf(cmd, sizeof(cmd),
			 "add element inet egressfence block_flows4 { 10.255.9.%d . 198.51.100.9 . 6 . 4000 . 80 timeout 60s }",
			 i);
		double a = now_ms();
		if (nft_run_cmd_from_buffer(ctx, cmd) != 0)
			die("libnftables add element", nft_ctx_get_error_buffer(ctx));
		double ms = now_ms() - a;
		sum += ms;
		worst = ms > worst ? ms : worst;
	}
	printf("for comparison, libnftables `add element' (fills its cache with every set element first): "
	       "mean %.1f ms, max %.1f ms\n", sum / 5, worst);
	nft_ctx_free(ctx);

	free(lat);
	free(create);
	free(replace);
	nft_table_close(t);
	prefilter_free(pf);
	geodb_close(db);
	policy_free(p);
	return 0;
}
