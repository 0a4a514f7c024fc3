/*
 * cli/run.c -- `egressfence run`, the enforcing daemon, and `egressfence
 * nft`, which prints the ruleset the daemon would load.
 *
 * One thread, one poll loop.  Packets come from the kernel's copies
 * (gate mode: NFLOG group N through libpcap's "nflog:N") or from libpcap on
 * capture.interfaces (monitor mode), go through one decoder per source and
 * one classifier, and each flow is judged once, by policy_judge_flow():
 *   - when the classifier decides its class (CLASSIFY_DECIDED);
 *   - in gate mode, when its payload has been held for decide_within
 *     seconds without a decision: on the evidence so far, which for a flow
 *     still unclassified means `unknown' -- fail closed;
 *   - when it ends without either (no payload, idle, shutdown).
 * A verdict becomes kernel state at once (nft_table_queue, then one commit
 * per batch of packets read): block -> block_flows (+ block_remote when the
 * rule says so); in gate mode allow and log -> allow_flows, which releases
 * the held payload (TCP sends it again).  Log and block verdicts are written
 * as JSON events with action_taken.
 *
 * In gate mode an undecided flow that nDPI names SSH is put in grace: its
 * key exchange must pass before the classifier can see NEWKEYS, and what
 * passes before it is handshake material.  TLS needs no grace: the kernel
 * lets the ClientHello through, the server's hello comes back as a copy,
 * and the client's next record is held and judged.
 *
 * In monitor mode the capture sees every packet on the interfaces; the
 * prefilter's own copy (prefilter_tier_of) skips traffic no rule watches
 * before the classifier, so it costs a binary search and nothing more.
 *
 * Signals are read from a signalfd in the loop, never handled
 * asynchronously: SIGHUP reloads (policy, databases, prefilter; one
 * transaction; on any error the old state keeps running), SIGUSR1 prints
 * the counters, SIGTERM and SIGINT remove the table and exit 0.
 *
 * The flow's u32 slot (flow_user) holds what the engine knows about it:
 * judged and the verdict, held since when (10 ms ticks), in grace.
 */
#include "engine.h"
#include "eventq.h"

#include <errno.h>
#include <getopt.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>


#define EXIT_ERROR 2
#define MAX_SOURCES 16
#define SNAPLEN 65535
#define TICK_MS 250
#define HEARTBEAT_S 3            /* fail_open: the gate opens this long after the engine stops */
#define GRACE_S 10               /* an SSH key exchange must finish within this */
#define MAX_BATCH_FRAMES 256     /* frames read before queued decisions are committed */

/* flow_user() slot */
#define U_JUDGED 0x1u
#define U_VERDICT(u) (((u) >> 1) & 3u)
#define U_HELD 0x8u
#define U_GRACE 0x10u
#define U_TICKS_SHIFT 8
#define U_TICKS_MASK 0xffffffu

/* What a reload replaces, all or nothing. */
struct state {
	struct policy *policy;
	struct geodb *geodb;
	struct prefilter *prefilter;
	struct gateway_settings gw;
	double build_ms;
};

struct source {
	char name[64];
	bool nflog;
	struct capture *cap;
	struct decoder *dec;
};

struct counters {
	uint64_t packets, fast_path, by_verdict[EF_BLOCK + 1];
	uint64_t judged_at_deadline, judged_at_end, grace, after_block;
	uint64_t kernel_errors, reloads, reload_failures;
};

struct daemon {
	const char *config;
	const char *dbs[EF_GEO_MAX_DB];
	size_t n_dbs;
	enum gateway_mode mode;
	bool mode_given, dry_run;
	const char *json_path;
	FILE *json;
	struct event_queue *events; /* lines for json, written by their own thread */
	struct state st;
	struct nft_table *table;
	struct classifier *classifier;
	struct source src[MAX_SOURCES];
	size_t n_src;
	int sigfd;
	bool running;               /* set up, in the loop */
	struct counters c;
};

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...)
{
	va_list ap;

	fputs("egressfence: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- state: policy, databases, prefilter --------------------------------- */

static void state_free(struct state *s)
{
	prefilter_free(s->prefilter);
	geodb_close(s->geodb);
	policy_free(s->policy);
	memset(s, 0, sizeof(*s));
}

static int state_load(const char *config, const char *const *dbs, size_t n_dbs, struct state *s, char *err,
		      size_t errlen)
{
	struct policy_error perr;

	memset(s, 0, sizeof(*s));
	s->policy = policy_load(config, &perr);
	if (!s->policy) {
		snprintf(err, errlen, "%s", perr.msg);
		return -1;
	}
	if (!(s->geodb = open_policy_geodb(s->policy, dbs, n_dbs, err, errlen)))
		goto fail;
	policy_gateway(s->policy, &s->gw);
	double t0 = mono_ms();
	if (!(s->prefilter = prefilter_build(s->policy, s->geodb, err, errlen)))
		goto fail;
	s->build_ms = mono_ms() - t0;
	return 0;
fail:
	state_free(s);
	return -1;
}

static void describe_prefilter(const struct state *s, double load_ms, const char *what)
{
	const struct prefilter *pf = s->prefilter;

	warn("%s: prefilter block tier %zu IPv4 + %zu IPv6 ranges, log tier %zu + %zu; built in %.0f ms, "
	     "loaded in %.0f ms",
	     what, prefilter_ranges(pf, TIER_BLOCK, 4), prefilter_ranges(pf, TIER_BLOCK, 6),
	     prefilter_ranges(pf, TIER_LOG, 4), prefilter_ranges(pf, TIER_LOG, 6), s->build_ms, load_ms);
}

/* ---- events ------------------------------------------------------------------ */

/* The audit's event plus what the daemon did; fields are only ever added. */
static void write_event(struct daemon *d, const struct ef_flow_record *r, const struct policy_decision *dec,
			const char *action, const char *decided_by, bool count_leak)
{
	char *line = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&line, &len);
	bool ok = false;

	if (m) {
		char *base = NULL;
		size_t base_len = 0;
		FILE *b = open_memstream(&base, &base_len);
		if (b) {
			event_write_json(b, r, dec, d->st.geodb, action);
			if (fclose(b) == 0 && base_len >= 2) {
				base[base_len - 2] = 0; /* the closing "}\n" */
				fprintf(m, "%s,\"mode\":\"%s\",\"decided_by\":\"%s\"", base,
					d->mode == GATEWAY_GATE ? "gate" : "monitor", decided_by);
				if (count_leak)
					fprintf(m, ",\"packets_out_before_block\":%llu,\"bytes_out_before_block\":%llu",
						(unsigned long long)r->packets_out, (unsigned long long)r->bytes_out);
				if (dec->verdict == EF_BLOCK && dec->block_remote_seconds)
					fprintf(m, ",\"remote_blocked_seconds\":%u", dec->block_remote_seconds);
				fputs("}\n", m);
				ok = true;
			}
			free(base);
		}
		ok = fclose(m) == 0 && ok;
	}
	/* Never waits on the destination: a full queue drops, and counts, the line. */
	if (ok)
		event_queue_put(d->events, line, len, dec->verdict == EF_BLOCK);
	else
		event_queue_put(d->events, NULL, 0, dec->verdict == EF_BLOCK); /* out of memory: counted */
	free(line);
}

/* ---- judging -------------------------------------------------------------------- */

/* The kernel keys a flow by the end in the higher prefilter tier as remote;
 * when both ends are in the same tier either packet direction may pick
 * either end, so both orientations go in. */
static void queue_flow(struct daemon *d, enum nft_decision_kind kind, const struct ef_flow_record *r,
		       uint32_t timeout_s)
{
	enum prefilter_tier tr = prefilter_tier_of(d->st.prefilter, &r->remote);
	enum prefilter_tier ti = prefilter_tier_of(d->st.prefilter, &r->inside);
	struct nft_decision fwd = {
		.kind = kind, .inside = &r->inside, .remote = &r->remote, .inside_port = r->inside_port,
		.remote_port = r->remote_port, .l4 = r->l4, .timeout_s = timeout_s,
	};
	struct nft_decision rev = {
		.kind = kind, .inside = &r->remote, .remote = &r->inside, .inside_port = r->remote_port,
		.remote_port = r->inside_port, .l4 = r->l4, .timeout_s = timeout_s,
	};

	if (ti <= tr)
		nft_table_queue(d->table, &fwd);
	if (ti >= tr && ti != TIER_NONE)
		nft_table_queue(d->table, &rev);
}

enum judged_by { BY_CLASSIFIER, BY_DEADLINE, BY_FLOW_END };

static void judge(struct daemon *d, uint32_t *slot, const struct ef_flow_record *classified, enum judged_by by)
{
	static const char *const by_name[] = {"classifier", "deadline", "flow_end"};
	struct ef_flow_record r = *classified;
	struct policy_decision dec;
	const struct gateway_settings *g = &d->st.gw;
	const char *action = NULL;

	policy_judge_flow(d->st.policy, d->st.geodb, &r, &dec);
	*slot = (*slot & ~7u) | U_JUDGED | (uint32_t)dec.verdict << 1;
	d->c.by_verdict[dec.verdict]++;
	if (by == BY_DEADLINE)
		d->c.judged_at_deadline++;
	else if (by == BY_FLOW_END)
		d->c.judged_at_end++;
	switch (dec.verdict) {
	case EF_BLOCK:
		queue_flow(d, NFT_BLOCK_FLOW, &r, g->flow_timeout_s);
		if (dec.block_remote_seconds) {
			struct nft_decision br = {.kind = NFT_BLOCK_REMOTE, .remote = &r.remote,
						  .timeout_s = dec.block_remote_seconds};
			nft_table_queue(d->table, &br);
		}
		action = dec.block_remote_seconds ? "blocked flow and remote" : "blocked flow";
		break;
	case EF_LOG:
		if (d->mode == GATEWAY_GATE)
			queue_flow(d, NFT_ALLOW_FLOW, &r, g->flow_timeout_s);
		action = "logged";
		break;
	case EF_ALLOW:
		if (d->mode == GATEWAY_GATE)
			queue_flow(d, NFT_ALLOW_FLOW, &r, g->flow_timeout_s);
		break;
	}
	/* The rule's log_prefix: the flow's next packet goes to the kernel log. */
	if (action && dec.rule_index >= 0 && policy_rule_log_prefix(d->st.policy, (size_t)dec.rule_index)) {
		struct nft_decision kl = {
			.kind = NFT_KERNEL_LOG, .inside = &r.inside, .remote = &r.remote, .inside_port = r.inside_port,
			.remote_port = r.remote_port, .l4 = r.l4, .rule_index = (size_t)dec.rule_index,
		};
		nft_table_queue(d->table, &kl);
	}
	if (action)
		write_event(d, &r, &dec, action, by_name[by], dec.verdict == EF_BLOCK && d->mode == GATEWAY_MONITOR);
}

static void on_flow_end(struct flow *f, const struct ef_flow_record *rec, void *ctx)
{
	struct daemon *d = ctx;
	uint32_t *slot = flow_user(f);

	if (!(*slot & U_JUDGED))
		judge(d, slot, rec, BY_FLOW_END);
}

/* A TLS handshake record carrying a ClientHello: the kernel lets it pass. */
static bool client_hello(const struct packet *p)
{
	const uint8_t *b = p->payload;

	return p->l4 == IPPROTO_TCP && p->payload_len >= 6 && b[0] == 0x16 && b[1] == 0x03 && b[5] == 0x01;
}

/* Mirrors the kernel's block_out chain: was this packet dropped there? */
static bool was_held(const struct daemon *d, const struct packet *p, uint32_t slot)
{
	if (prefilter_tier_of(d->st.prefilter, &p->dst) != TIER_BLOCK)
		return false;
	if (p->l4 != IPPROTO_TCP)
		return true;
	return p->payload_len > 0 && !client_hello(p) && !(slot & U_GRACE);
}

static bool is_ssh(const char *app)
{
	return !strcmp(app, "SSH") || !strncmp(app, "SSH.", 4);
}

/* Gate mode, a packet of a flow still undecided. */
static void watch_undecided(struct daemon *d, struct flow *f, const struct packet *p)
{
	uint32_t *slot = flow_user(f);
	uint32_t ticks = (uint32_t)(p->ts_us / 10000u) & U_TICKS_MASK;
	struct ef_flow_record r;

	if (p->l4 == IPPROTO_TCP && p->payload_len && !(*slot & U_GRACE)) {
		flow_record(d->classifier, f, &r);
		if (!r.app_guessed && is_ssh(r.app)) {
			*slot |= U_GRACE;
			d->c.grace++;
			queue_flow(d, NFT_GRACE_FLOW, &r, GRACE_S);
		}
	}
	if (!was_held(d, p, *slot))
		return;
	if (!(*slot & U_HELD)) {
		*slot |= U_HELD | ticks << U_TICKS_SHIFT;
		return;
	}
	uint32_t held_for = (ticks - (*slot >> U_TICKS_SHIFT)) & U_TICKS_MASK;
	if (held_for * 10u >= d->st.gw.decide_within_s * 1000u) {
		flow_record(d->classifier, f, &r);
		judge(d, slot, &r, BY_DEADLINE);
	}
}

static void handle_packet(struct daemon *d, const struct packet *p)
{
	struct flow *f;
	struct ef_flow_record r;

	if (d->mode == GATEWAY_MONITOR && prefilter_tier_of(d->st.prefilter, &p->dst) == TIER_NONE &&
	    prefilter_tier_of(d->st.prefilter, &p->src) == TIER_NONE) {
		d->c.fast_path++;
		classifier_tick(d->classifier, p->ts_us);
		return;
	}
	d->c.packets++;
	enum classify_event ev = classifier_packet(d->classifier, p, &f);
	uint32_t *slot = flow_user(f);
	if (*slot & U_JUDGED) {
		/* Going out after the verdict: the capture saw it leave before
		 * the kernel's block took hold (or while it failed). */
		if (U_VERDICT(*slot) == EF_BLOCK && d->mode == GATEWAY_MONITOR &&
		    prefilter_tier_of(d->st.prefilter, &p->dst) >= prefilter_tier_of(d->st.prefilter, &p->src))
			d->c.after_block++;
		return;
	}
	if (ev == CLASSIFY_DECIDED) {
		flow_record(d->classifier, f, &r);
		judge(d, slot, &r, BY_CLASSIFIER);
	} else if (d->mode == GATEWAY_GATE) {
		watch_undecided(d, f, p);
	}
}

static void commit(struct daemon *d)
{
	char err[1024];

	if (nft_table_queued(d->table) && nft_table_commit(d->table, err, sizeof(err)) != 0) {
		d->c.kernel_errors++;
		warn("%s", err);
	}
}

/* libpcap's NFLOG reader (1.10) takes EAGAIN on its non-blocking socket
 * for an error, so it is read only when poll says there is something. */
static bool ready(const struct source *s)
{
	struct pollfd p = {.fd = capture_fd(s->cap), .events = POLLIN};

	return !s->nflog || poll(&p, 1, 0) == 1;
}

/* Reads what a source has ready; false when it stopped for good. */
static bool drain(struct daemon *d, struct source *s)
{
	struct capture_frame fr;
	struct packet p;
	enum capture_status st = CAPTURE_END;
	unsigned n = 0;

	while (ready(s) && (st = capture_next(s->cap, &fr)) == CAPTURE_OK) {
		if (decoder_decode(s->dec, &fr, &p) == DECODE_OK)
			handle_packet(d, &p);
		if (++n % MAX_BATCH_FRAMES == 0)
			commit(d);
	}
	commit(d);
	if (st == CAPTURE_ERROR) {
		warn("%s: %s", s->name, capture_error(s->cap));
		return false;
	}
	return true;
}

/* ---- counters ---------------------------------------------------------------- */

static void print_counters(struct daemon *d, const char *when)
{
	struct classifier_stats cs;
	struct nft_counters k = {0};
	uint64_t drops = 0;
	char err[512];
	struct event_queue_stats ev = {0};

	if (d->events)
		event_queue_stats(d->events, &ev);
	classifier_stats(d->classifier, &cs);
	for (size_t i = 0; i < d->n_src; i++)
		drops += capture_kernel_drops(d->src[i].cap);
	if (d->table && nft_table_counters(d->table, &k, err, sizeof(err)) != 0)
		warn("%s", err);
	fprintf(stderr,
		"egressfence: counters (%s): packets=%llu fast_path=%llu flows=%llu flows_active=%llu "
		"allow=%llu log=%llu block=%llu capture_drops=%llu held=%llu copied=%llu refused=%llu "
		"judged_at_deadline=%llu judged_at_end=%llu grace=%llu after_block=%llu kernel_errors=%llu "
		"reloads=%llu reload_failures=%llu events_written=%llu events_dropped=%llu "
		"block_events_dropped=%llu event_write_errors=%llu\n",
		when, (unsigned long long)d->c.packets, (unsigned long long)d->c.fast_path,
		(unsigned long long)cs.flows, (unsigned long long)cs.flows_active,
		(unsigned long long)d->c.by_verdict[EF_ALLOW], (unsigned long long)d->c.by_verdict[EF_LOG],
		(unsigned long long)d->c.by_verdict[EF_BLOCK], (unsigned long long)drops, (unsigned long long)k.held,
		(unsigned long long)k.copied, (unsigned long long)k.refused,
		(unsigned long long)d->c.judged_at_deadline, (unsigned long long)d->c.judged_at_end,
		(unsigned long long)d->c.grace, (unsigned long long)d->c.after_block,
		(unsigned long long)d->c.kernel_errors, (unsigned long long)d->c.reloads,
		(unsigned long long)d->c.reload_failures, (unsigned long long)ev.written,
		(unsigned long long)ev.dropped, (unsigned long long)ev.dropped_block,
		(unsigned long long)ev.write_errors);
}

/* ---- loading, reloading ---------------------------------------------------- */

static void heartbeat(struct daemon *d);

static struct gateway_settings effective(const struct daemon *d, const struct state *s)
{
	struct gateway_settings g = s->gw;

	if (d->mode_given)
		g.mode = d->mode;
	return g;
}

static int load_table(struct daemon *d, struct state *s, enum ruleset_kind kind, double *ms, char *err,
		      size_t errlen)
{
	struct gateway_settings g = effective(d, s);
	char *text = ruleset_text(s->prefilter, s->policy, &g, kind);
	double t0 = mono_ms();
	int rc;

	if (!text) {
		snprintf(err, errlen, "out of memory writing the ruleset");
		return -1;
	}
	rc = nft_table_load(d->table, text, err, errlen);
	*ms = mono_ms() - t0;
	free(text);
	return rc;
}

static bool same_interfaces(const struct policy *a, const struct policy *b)
{
	if (policy_interface_count(a) != policy_interface_count(b))
		return false;
	for (size_t i = 0; i < policy_interface_count(a); i++)
		if (strcmp(policy_interface(a, i), policy_interface(b, i)))
			return false;
	return true;
}

/* What only a restart can change: the sources and the sets' shapes. */
static bool restart_needed(const struct daemon *d, const struct state *n, char *err, size_t errlen)
{
	const struct gateway_settings *o = &d->st.gw, *g = &n->gw;

	if (!d->mode_given && o->mode != g->mode)
		snprintf(err, errlen, "gateway.mode changed");
	else if (o->nflog_group != g->nflog_group)
		snprintf(err, errlen, "gateway.nflog_group changed");
	else if (o->max_flows != g->max_flows)
		snprintf(err, errlen, "gateway.max_flows changed");
	else if (d->mode == GATEWAY_MONITOR && !same_interfaces(d->st.policy, n->policy))
		snprintf(err, errlen, "capture.interfaces changed");
	else
		return false;
	return true;
}

static void reload(struct daemon *d)
{
	struct state n;
	char err[1024];
	double ms;

	if (state_load(config_path(d->config), d->dbs, d->n_dbs, &n, err, sizeof(err)) != 0) {
		d->c.reload_failures++;
		warn("reload refused, the running policy stays: %s", err);
		return;
	}
	if (restart_needed(d, &n, err, sizeof(err))) {
		d->c.reload_failures++;
		warn("reload refused, the running policy stays: %s, which takes a restart", err);
		state_free(&n);
		return;
	}
	commit(d); /* decisions taken under the old policy go in first */
	heartbeat(d); /* a long load must not open a fail_open gate */
	if (load_table(d, &n, RULESET_REPLACE, &ms, err, sizeof(err)) != 0) {
		d->c.reload_failures++;
		warn("reload refused, the running policy stays: %s", err);
		state_free(&n);
		return;
	}
	state_free(&d->st);
	d->st = n;
	d->c.reloads++;
	describe_prefilter(&d->st, ms, "reloaded");
}

/* ---- set-up ------------------------------------------------------------------ */

static int open_sources(struct daemon *d, char *err, size_t errlen)
{
	if (d->mode == GATEWAY_GATE) {
		snprintf(d->src[0].name, sizeof(d->src[0].name), "nflog:%u", d->st.gw.nflog_group);
		d->src[0].nflog = true;
		d->n_src = 1;
	} else {
		size_t n = policy_interface_count(d->st.policy);
		if (n == 0) {
			snprintf(err, errlen, "monitor mode captures on capture.interfaces, and %s lists none "
					      "(add e.g. `capture: { interfaces: [eth1] }', or use --mode gate)",
				 config_path(d->config));
			return -1;
		}
		if (n > MAX_SOURCES) {
			snprintf(err, errlen, "at most %d capture interfaces, not %zu", MAX_SOURCES, n);
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			snprintf(d->src[i].name, sizeof(d->src[i].name), "%s", policy_interface(d->st.policy, i));
		d->n_src = n;
	}
	for (size_t i = 0; i < d->n_src; i++) {
		if (!(d->src[i].cap = capture_open_live(d->src[i].name, SNAPLEN, err, errlen)))
			return -1;
		if (!(d->src[i].dec = decoder_new(0))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

/* Before anything is opened: a clear message instead of the first EPERM. */
static int check_capabilities(char *err, size_t errlen)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct c[2] = {{0}};
	const uint32_t need = (1u << CAP_NET_ADMIN) | (1u << CAP_NET_RAW);

	if (syscall(SYS_capget, &h, c) == 0 && (c[0].effective & need) == need)
		return 0;
	snprintf(err, errlen, "run needs CAP_NET_ADMIN and CAP_NET_RAW (nftables, NFLOG, capture): "
			      "run it as root, or from deploy/egressfence.service");
	return -1;
}

/* Keeps CAP_NET_ADMIN (nftables, NFLOG) and CAP_NET_RAW (capture), drops
 * the rest from every set, the bounding set included, so nothing this
 * process could exec gets them back. */
static int drop_capabilities(char *err, size_t errlen)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct c[2] = {{0}};
	const uint32_t keep = (1u << CAP_NET_ADMIN) | (1u << CAP_NET_RAW);

	if (syscall(SYS_capget, &h, c) != 0)
		goto fail;
	for (int cap = 0; cap < 64; cap++)
		if (cap != CAP_NET_ADMIN && cap != CAP_NET_RAW && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 &&
		    errno != EINVAL && errno != EPERM)
			goto fail;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	c[0].effective &= keep;
	c[0].permitted &= keep;
	c[0].inheritable = 0;
	c[1].effective = c[1].permitted = c[1].inheritable = 0;
	if (syscall(SYS_capset, &h, c) != 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "cannot drop capabilities: %s", strerror(errno));
	return -1;
}

static int block_signals(struct daemon *d, char *err, size_t errlen)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 || (d->sigfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot set up signals: %s", strerror(errno));
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* Loads the ruleset; a table left by an earlier run is taken over with its
 * decisions, or replaced when its shape does not fit. */
static int start_table(struct daemon *d, char *err, size_t errlen)
{
	double ms;

	if (nft_table_exists(d->table)) {
		if (load_table(d, &d->st, RULESET_REPLACE, &ms, err, errlen) == 0) {
			describe_prefilter(&d->st, ms, "took over the existing table");
			return 0;
		}
		warn("the existing table does not fit (%s); replacing it", err);
	}
	if (load_table(d, &d->st, RULESET_CREATE, &ms, err, errlen) != 0)
		return -1;
	describe_prefilter(&d->st, ms, "loaded");
	return 0;
}

/* ---- the loop ------------------------------------------------------------------ */

/* Returns false when the daemon should stop. */
static bool handle_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	if (read(d->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return true;
	switch (si.ssi_signo) {
	case SIGHUP:
		reload(d);
		return true;
	case SIGUSR1:
		print_counters(d, "SIGUSR1");
		return true;
	}
	return false;
}

static void heartbeat(struct daemon *d)
{
	char err[512];

	if (d->mode == GATEWAY_GATE && policy_fail_open(d->st.policy) &&
	    nft_table_heartbeat(d->table, HEARTBEAT_S, err, sizeof(err)) != 0) {
		d->c.kernel_errors++;
		warn("%s", err);
	}
}

static int loop(struct daemon *d)
{
	struct pollfd fds[MAX_SOURCES + 1];
	double last_tick = mono_ms();

	fds[0] = (struct pollfd){.fd = d->sigfd, .events = POLLIN};
	for (size_t i = 0; i < d->n_src; i++)
		fds[i + 1] = (struct pollfd){.fd = capture_fd(d->src[i].cap), .events = POLLIN};
	for (;;) {
		int n = poll(fds, d->n_src + 1, TICK_MS);
		if (n < 0 && errno != EINTR) {
			warn("poll: %s", strerror(errno));
			return -1;
		}
		for (size_t i = 0; n > 0 && i < d->n_src; i++)
			if (fds[i + 1].revents && !drain(d, &d->src[i]))
				return -1;
		if (n > 0 && fds[0].revents && !handle_signal(d))
			return 0;
		if (mono_ms() - last_tick >= 1000) {
			last_tick = mono_ms();
			classifier_tick(d->classifier, now_us());
			commit(d);
			heartbeat(d);
		}
	}
}

/* ---- commands ------------------------------------------------------------------ */

static const char run_usage[] =
	"usage: egressfence run [--config FILE] [--db FILE]... [--mode monitor|gate] [--json FILE|-] [--dry-run]\n"
	"       egressfence nft [--config FILE] [--db FILE]... [--mode monitor|gate]\n";

enum { OPT_CONFIG = 'c', OPT_DB = 'd', OPT_JSON = 'j', OPT_MODE = 'M', OPT_DRY_RUN = 'n', OPT_HELP = 'h' };

static const struct option run_options[] = {
	{"config", required_argument, NULL, OPT_CONFIG},
	{"db", required_argument, NULL, OPT_DB},
	{"json", required_argument, NULL, OPT_JSON},
	{"mode", required_argument, NULL, OPT_MODE},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

static int parse_run_options(int argc, char **argv, const char *allowed, struct daemon *d)
{
	int opt;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+c:d:j:M:nh", run_options, NULL)) != -1) {
		if (opt == OPT_HELP) {
			fputs(run_usage, stdout);
			exit(0);
		}
		int bad = option_error(argv, opt, "cdjM", allowed, run_options);
		if (bad)
			return bad;
		switch (opt) {
		case OPT_CONFIG:
			d->config = optarg;
			break;
		case OPT_DB:
			if (d->n_dbs == EF_GEO_MAX_DB)
				return usage_error("at most 4 databases; `%s' is one too many", optarg);
			d->dbs[d->n_dbs++] = optarg;
			break;
		case OPT_JSON:
			d->json_path = optarg;
			break;
		case OPT_MODE:
			if (!strcmp(optarg, "monitor"))
				d->mode = GATEWAY_MONITOR;
			else if (!strcmp(optarg, "gate"))
				d->mode = GATEWAY_GATE;
			else
				return usage_error("--mode is monitor or gate, not `%s'", optarg);
			d->mode_given = true;
			break;
		case OPT_DRY_RUN:
			d->dry_run = true;
			break;
		}
	}
	if (optind < argc)
		return usage_error("this command takes no arguments; `%s' is extra", argv[optind]);
	return 0;
}

int cmd_nft(int argc, char **argv)
{
	struct daemon d = {0};
	char err[1024];
	int rc = parse_run_options(argc, argv, "cdM", &d);

	if (rc)
		return rc;
	if (state_load(config_path(d.config), d.dbs, d.n_dbs, &d.st, err, sizeof(err)) != 0) {
		warn("%s", err);
		return EXIT_ERROR;
	}
	struct gateway_settings g = effective(&d, &d.st);
	char *text = ruleset_text(d.st.prefilter, d.st.policy, &g, RULESET_CREATE);
	if (!text || fputs(text, stdout) == EOF || fflush(stdout) != 0) {
		warn("cannot write the ruleset: %s", text ? strerror(errno) : "out of memory");
		rc = EXIT_ERROR;
	}
	free(text);
	state_free(&d.st);
	return rc;
}

/* --dry-run: everything but the commit, which the kernel checks and drops. */
static int dry_run(struct daemon *d)
{
	char err[1024];
	double ms;

	if (load_table(d, &d->st, RULESET_CREATE, &ms, err, sizeof(err)) != 0) {
		warn("%s", err);
		return EXIT_ERROR;
	}
	describe_prefilter(&d->st, ms, "dry run, the kernel accepted the ruleset");
	return 0;
}

static void shut_down(struct daemon *d, bool remove)
{
	char err[1024];

	uint64_t lost = 0;

	if (d->running) {
		classifier_flush(d->classifier); /* events for flows never judged */
		/* Everything decided goes out before the counters are final. */
		event_queue_drain(d->events, 10000);
		print_counters(d, "exit");
	}
	event_queue_close(d->events, 10000, &lost);
	if (lost) {
		warn("%llu events could not be written to %s in 10 s: the destination does not take them",
		     (unsigned long long)lost, d->json_path ? d->json_path : "stdout");
		d->json = NULL; /* its writer is still inside a write */
	}
	if (remove && d->table && nft_table_remove(d->table, err, sizeof(err)) != 0)
		warn("%s", err);
	classifier_free(d->classifier);
	for (size_t i = 0; i < d->n_src; i++) {
		capture_close(d->src[i].cap);
		decoder_free(d->src[i].dec);
	}
	nft_table_close(d->table);
	if (d->json && d->json != stdout)
		fclose(d->json);
	if (d->sigfd > 0)
		close(d->sigfd);
	state_free(&d->st);
}

int cmd_run(int argc, char **argv)
{
	struct daemon d = {.sigfd = -1};
	char err[1024];
	int rc = parse_run_options(argc, argv, "cdjMn", &d);
	bool loaded = false;

	if (rc)
		return rc;
	if (state_load(config_path(d.config), d.dbs, d.n_dbs, &d.st, err, sizeof(err)) != 0)
		goto fail;
	if (!d.mode_given)
		d.mode = d.st.gw.mode;
	if (check_capabilities(err, sizeof(err)) != 0 || !(d.table = nft_table_open(d.dry_run, err, sizeof(err))))
		goto fail;
	if (d.dry_run) {
		rc = dry_run(&d);
		shut_down(&d, false);
		return rc;
	}
	d.json = !d.json_path || !strcmp(d.json_path, "-") ? stdout : fopen(d.json_path, "a");
	if (!d.json) {
		snprintf(err, sizeof(err), "%s: %s", d.json_path, strerror(errno));
		goto fail;
	}
	if (!(d.events = event_queue_new(d.json, 0))) {
		snprintf(err, sizeof(err), "cannot start the event writer: out of memory");
		goto fail;
	}
	struct classifier_config cc = {0};
	if (!(d.classifier = classifier_new(&cc, on_flow_end, &d, err, sizeof(err))) ||
	    open_sources(&d, err, sizeof(err)) != 0 || block_signals(&d, err, sizeof(err)) != 0)
		goto fail;
	if (start_table(&d, err, sizeof(err)) != 0)
		goto fail;
	loaded = true;
	heartbeat(&d);
	if (drop_capabilities(err, sizeof(err)) != 0)
		goto fail;
	d.running = true;
	warn("running in %s mode on %s%s", d.mode == GATEWAY_GATE ? "gate" : "monitor", d.src[0].name,
	     d.n_src > 1 ? " and more" : "");
	if (loop(&d) != 0) {
		/* The rules stay: undecided flows stay held (fail closed). */
		warn("stopping on an error; table inet egressfence stays in place");
		shut_down(&d, false);
		return EXIT_ERROR;
	}
	shut_down(&d, true);
	return 0;
fail:
	warn("%s", err);
	shut_down(&d, loaded);
	return EXIT_ERROR;
}
