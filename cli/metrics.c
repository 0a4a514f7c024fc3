/*
 * cli/metrics.c -- the Prometheus endpoint of `egressfence run' (see
 * metrics.h for the two sides and the lock).
 *
 * Invariants:
 *  - The loop never blocks here: metrics_judged() touches only the loop's
 *    own counters, metrics_publish() takes the snapshot lock with trylock
 *    and skips a publication it cannot make at once.
 *  - The HTTP thread holds the lock only to copy the snapshot; formatting,
 *    allocation and the socket happen outside it.
 *  - A label value is a policy name, a mode, a source or output name, or a
 *    database path, escaped as the text format wants; never an address.
 *  - Names follow Prometheus' conventions: counters end in _total, times
 *    are seconds, timestamps seconds since the epoch.
 */
#include "metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "../output/output.h"

#define MAX_GROUPS 64   /* label values of `group', "none" and "other" included */
#define MAX_RULES 128   /* label values of `rule', "default" and "other" included */
#define LABEL_LEN 64
#define N_VERDICTS (EF_BLOCK + 1)

/* Decision latency buckets, seconds: a gate decision is due within
 * decide_within (3 s by default); a flow judged at its end can take minutes. */
static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

/* What the loop counts itself, and the snapshot's copy of it. */
struct judged {
	size_t n_groups, n_rules;
	char groups[MAX_GROUPS][LABEL_LEN];
	char rules[MAX_RULES][LABEL_LEN];
	uint64_t by_group[N_VERDICTS][EF_ENC__COUNT][MAX_GROUPS];
	uint64_t by_rule[MAX_RULES][N_VERDICTS];
	uint64_t latency[N_BUCKETS + 1]; /* not cumulative; the last is +Inf */
	double latency_sum;
	uint64_t latency_count;
};

struct snapshot {
	bool published;
	struct metrics_sample s;
	struct judged j;
};

struct metrics {
	struct MHD_Daemon *httpd;
	char mode[16], version[32], commit[48];
	double start_time;
	struct judged loop;          /* the loop's own */
	pthread_mutex_t lock;        /* guards snap */
	struct snapshot snap;
};

/* ---- the loop's side ------------------------------------------------------- */

/* Index of name in a label table, added when new; `other' (the last slot)
 * when the table is full. */
static size_t label_index(char (*table)[LABEL_LEN], size_t *n, size_t cap, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (!strncmp(table[i], name, LABEL_LEN - 1))
			return i;
	if (*n == cap - 1) {
		snprintf(table[cap - 1], LABEL_LEN, "other");
		return cap - 1;
	}
	snprintf(table[*n], LABEL_LEN, "%s", name);
	return (*n)++;
}

void metrics_judged(struct metrics *m, enum ef_verdict v, enum ef_encryption enc, const char *group,
		    bool no_country, const char *rule, double latency_s)
{
	struct judged *j;
	size_t g, r, b = 0;

	if (!m)
		return;
	j = &m->loop;
	if ((unsigned)v >= N_VERDICTS || (unsigned)enc >= EF_ENC__COUNT)
		return;
	g = label_index(j->groups, &j->n_groups, MAX_GROUPS, group ? group : no_country ? "none" : "ungrouped");
	r = label_index(j->rules, &j->n_rules, MAX_RULES, rule ? rule : "default");
	j->by_group[v][enc][g]++;
	j->by_rule[r][v]++;
	if (latency_s < 0)
		latency_s = 0; /* the wall clock stepped back */
	while (b < N_BUCKETS && latency_s > buckets[b])
		b++;
	j->latency[b]++;
	j->latency_sum += latency_s;
	j->latency_count++;
}

void metrics_publish(struct metrics *m, const struct metrics_sample *s)
{
	if (!m || pthread_mutex_trylock(&m->lock) != 0)
		return;
	m->snap.s = *s;
	m->snap.j = m->loop;
	m->snap.published = true;
	pthread_mutex_unlock(&m->lock);
}

/* ---- the text format ---------------------------------------------------- */

/* A label value: backslash, double quote and newline escaped. */
static void label_value(FILE *o, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', o);
		if (*s == '\n') {
			fputs("\\n", o);
			continue;
		}
		fputc(*s, o);
	}
}

static void family(FILE *o, const char *name, const char *type, const char *help)
{
	fprintf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(FILE *o, const char *name, const char *help, uint64_t v)
{
	family(o, name, "counter", help);
	fprintf(o, "%s %llu\n", name, (unsigned long long)v);
}

static void gauge(FILE *o, const char *name, const char *help, double v)
{
	family(o, name, "gauge", help);
	fprintf(o, "%s %.17g\n", name, v);
}

static void write_judged(FILE *o, const struct judged *j)
{
	family(o, "egressfence_flows_judged_total", "counter",
	       "Flows judged, by verdict, encryption class and the policy group of the remote end's country "
	       "(none: country unknown; ungrouped: in no group).");
	for (int v = 0; v < N_VERDICTS; v++)
		for (int e = 0; e < EF_ENC__COUNT; e++)
			for (size_t g = 0; g < MAX_GROUPS; g++) {
				if (!j->by_group[v][e][g])
					continue;
				fprintf(o, "egressfence_flows_judged_total{verdict=\"%s\",encryption=\"%s\",group=\"",
					ef_verdict_name((enum ef_verdict)v), ef_encryption_name((enum ef_encryption)e));
				label_value(o, j->groups[g]);
				fprintf(o, "\"} %llu\n", (unsigned long long)j->by_group[v][e][g]);
			}
	family(o, "egressfence_rule_matches_total", "counter",
	       "Flows judged, by the rule that decided (default: no rule matched) and verdict.");
	for (size_t r = 0; r < MAX_RULES; r++)
		for (int v = 0; v < N_VERDICTS; v++) {
			if (!j->by_rule[r][v])
				continue;
			fputs("egressfence_rule_matches_total{rule=\"", o);
			label_value(o, j->rules[r]);
			fprintf(o, "\",verdict=\"%s\"} %llu\n", ef_verdict_name((enum ef_verdict)v),
				(unsigned long long)j->by_rule[r][v]);
		}
	family(o, "egressfence_decision_latency_seconds", "histogram",
	       "Time from a flow's first packet to its verdict.");
	uint64_t cum = 0;
	for (size_t b = 0; b <= N_BUCKETS; b++) {
		cum += j->latency[b];
		if (b < N_BUCKETS)
			fprintf(o, "egressfence_decision_latency_seconds_bucket{le=\"%g\"} %llu\n", buckets[b],
				(unsigned long long)cum);
		else
			fprintf(o, "egressfence_decision_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
				(unsigned long long)cum);
	}
	fprintf(o, "egressfence_decision_latency_seconds_sum %.9g\n", j->latency_sum);
	fprintf(o, "egressfence_decision_latency_seconds_count %llu\n", (unsigned long long)j->latency_count);
}

static void write_sample(FILE *o, const struct metrics_sample *s)
{
	counter(o, "egressfence_packets_total", "Packets the engine read (copies from NFLOG or the capture).",
		s->packets);
	counter(o, "egressfence_fast_path_packets_total",
		"Packets of flows already decided, passed over without classification.", s->fast_path);
	counter(o, "egressfence_flows_total", "Flows the classifier has seen.", s->flows);
	gauge(o, "egressfence_flows_active", "Flows in the classifier's table now.", (double)s->flows_active);
	family(o, "egressfence_flows_judged_by_total", "counter",
	       "Flows judged by something other than the classifier's decision.");
	fprintf(o, "egressfence_flows_judged_by_total{by=\"deadline\"} %llu\n",
		(unsigned long long)s->judged_at_deadline);
	fprintf(o, "egressfence_flows_judged_by_total{by=\"flow_end\"} %llu\n", (unsigned long long)s->judged_at_end);
	fprintf(o, "egressfence_flows_judged_by_total{by=\"rejudged\"} %llu\n", (unsigned long long)s->rejudged);
	counter(o, "egressfence_allows_revoked_total",
		"Allowed flows the engine forgot (idle), whose next payload is held again.", s->revoked);
	counter(o, "egressfence_released_packets_total",
		"Held segments of allowed flows the engine sent on through the gate's rules.", s->released);
	counter(o, "egressfence_release_errors_total",
		"Held segments of allowed flows not sent on (queue full, commit refused, send failed).",
		s->release_errors);
	family(o, "egressfence_capture_drops_total", "counter",
	       "Packets the kernel dropped before the engine read them, by source (an interface, or nflog:GROUP).");
	for (size_t i = 0; i < s->n_sources; i++) {
		fputs("egressfence_capture_drops_total{source=\"", o);
		label_value(o, s->sources[i].name);
		fprintf(o, "\"} %llu\n", (unsigned long long)s->sources[i].drops);
	}
	if (s->have_kernel) {
		counter(o, "egressfence_held_packets_total",
			"Payload packets of undecided flows the kernel held (dropped and copied to the engine).",
			s->held);
		counter(o, "egressfence_copied_packets_total", "Packets copied to the engine and let through.",
			s->copied);
		counter(o, "egressfence_refused_packets_total", "Packets dropped or reset by a block decision.",
			s->refused);
	}
	static const struct {
		const char *name, *help;
		size_t off;
	} out_fields[] = {
		{"egressfence_events_written_total", "Event lines written, by output.",
		 offsetof(struct metrics_output, written)},
		{"egressfence_events_dropped_total", "Event lines dropped because the output's queue was full, by output.",
		 offsetof(struct metrics_output, dropped)},
		{"egressfence_block_events_dropped_total", "Events of blocked flows among the dropped, by output.",
		 offsetof(struct metrics_output, dropped_block)},
		{"egressfence_event_write_errors_total", "Event lines the output could not write, by output.",
		 offsetof(struct metrics_output, write_errors)},
	};
	for (size_t f = 0; f < sizeof(out_fields) / sizeof(out_fields[0]); f++) {
		family(o, out_fields[f].name, "counter", out_fields[f].help);
		for (size_t i = 0; i < s->n_outputs; i++) {
			uint64_t v;
			memcpy(&v, (const char *)&s->outputs[i] + out_fields[f].off, sizeof(v));
			fprintf(o, "%s{output=\"", out_fields[f].name);
			label_value(o, s->outputs[i].name);
			fprintf(o, "\"} %llu\n", (unsigned long long)v);
		}
	}
	counter(o, "egressfence_reloads_total", "Reloads (SIGHUP) that applied a new policy.", s->reloads);
	counter(o, "egressfence_reload_failures_total", "Reloads refused; the running policy stayed.",
		s->reload_failures);
	counter(o, "egressfence_kernel_errors_total", "Decisions or heartbeats the kernel refused.", s->kernel_errors);
	counter(o, "egressfence_heartbeats_late_total", "Heartbeats more than two seconds apart (a slow loop).",
		s->heartbeats_late);
	family(o, "egressfence_prefilter_ranges", "gauge",
	       "Address ranges in the prefilter, by tier (block: a rule may block; log: at most log) and family.");
	static const char *const tiers[] = {"block", "log"}, *const fams[] = {"ipv4", "ipv6"};
	for (int t = 0; t < 2; t++)
		for (int f = 0; f < 2; f++)
			fprintf(o, "egressfence_prefilter_ranges{tier=\"%s\",family=\"%s\"} %llu\n", tiers[t], fams[f],
				(unsigned long long)s->prefilter_ranges[t][f]);
	family(o, "egressfence_database_build_timestamp_seconds", "gauge",
	       "Build time of each country database in use, from its metadata.");
	for (size_t i = 0; i < s->n_dbs; i++) {
		fputs("egressfence_database_build_timestamp_seconds{path=\"", o);
		label_value(o, s->dbs[i].path);
		fprintf(o, "\"} %llu\n", (unsigned long long)s->dbs[i].build_epoch);
	}
}

/* The whole page; NULL when out of memory. */
static char *render(struct metrics *m, size_t *len)
{
	struct snapshot *copy = malloc(sizeof(*copy));
	char *text = NULL;
	FILE *o;

	if (!copy)
		return NULL;
	pthread_mutex_lock(&m->lock);
	memcpy(copy, &m->snap, sizeof(*copy));
	pthread_mutex_unlock(&m->lock);
	if ((o = open_memstream(&text, len))) {
		family(o, "egressfence_build_info", "gauge", "The running egressfence's version and commit; always 1.");
		fputs("egressfence_build_info{version=\"", o);
		label_value(o, m->version);
		fputs("\",commit=\"", o);
		label_value(o, m->commit);
		fputs("\"} 1\n", o);
		family(o, "egressfence_mode_info", "gauge", "The gateway mode this engine runs in; always 1.");
		fprintf(o, "egressfence_mode_info{mode=\"%s\"} 1\n", m->mode);
		gauge(o, "egressfence_start_time_seconds", "When this engine started, seconds since the epoch.",
		      m->start_time);
		/* Before the loop's first publication every counter would read 0:
		 * leave them out rather than say so. */
		if (copy->published) {
			write_sample(o, &copy->s);
			write_judged(o, &copy->j);
		}
		if (fclose(o) != 0) {
			free(text);
			text = NULL;
		}
	}
	free(copy);
	return text;
}

/* ---- HTTP ------------------------------------------------------------------ */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, char *body, size_t len,
			     enum MHD_ResponseMemoryMode mem)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mem);
	enum MHD_Result rc;

	if (!r) {
		if (mem == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result handle(void *ctx, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload_data, size_t *upload_size, void **state)
{
	static const char index_page[] = "egressfence: the metrics are at /metrics\n";
	static const char not_found[] = "not found; the metrics are at /metrics\n";
	static const char bad_method[] = "only GET and HEAD\n";
	struct metrics *m = ctx;
	size_t len = 0;
	char *text;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", (char *)bad_method, sizeof(bad_method) - 1,
			     MHD_RESPMEM_PERSISTENT);
	if (!strcmp(url, "/"))
		return reply(c, MHD_HTTP_OK, "text/plain", (char *)index_page, sizeof(index_page) - 1,
			     MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", (char *)not_found, sizeof(not_found) - 1,
			     MHD_RESPMEM_PERSISTENT);
	if (!(text = render(m, &len)))
		return MHD_NO;
	return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len, MHD_RESPMEM_MUST_FREE);
}

/* output_version() is "0.1.0 (commit 5b54b45)"; the labels want the parts. */
static void version_parts(struct metrics *m)
{
	const char *v = output_version(), *c = strstr(v, " (commit ");
	size_t n = c ? (size_t)(c - v) : strlen(v);

	snprintf(m->version, sizeof(m->version), "%.*s", (int)(n < sizeof(m->version) ? n : sizeof(m->version) - 1), v);
	snprintf(m->commit, sizeof(m->commit), "%s", c ? c + 9 : "unknown");
	char *close = strrchr(m->commit, ')');
	if (close)
		*close = 0;
}

struct metrics *metrics_start(const char *listen, const char *mode, char *err, size_t errlen)
{
	struct ef_addr a;
	uint16_t port;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	const struct sockaddr *sa;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	struct metrics *m;
	struct timespec now;

	if (!ef_listen_parse(listen, &a, &port)) {
		snprintf(err, errlen, "bad metrics listen address `%s' (expected ADDRESS:PORT with a numeric address, "
				      "such as 127.0.0.1:9813 or [::1]:9813)", listen);
		return NULL;
	}
	if (a.family == 4) {
		memcpy(&sin.sin_addr, a.b, 4);
		sin.sin_port = htons(port);
		sa = (const struct sockaddr *)&sin;
	} else {
		memcpy(&sin6.sin6_addr, a.b, 16);
		sin6.sin6_port = htons(port);
		sa = (const struct sockaddr *)&sin6;
		flags |= MHD_USE_IPv6;
	}
	if (!(m = calloc(1, sizeof(*m)))) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&m->lock, NULL);
	snprintf(m->mode, sizeof(m->mode), "%s", mode);
	version_parts(m);
	clock_gettime(CLOCK_REALTIME, &now);
	m->start_time = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
	/* Scrapers are few; a handful of connections with a short timeout keep
	 * a slow or hostile client from holding the thread. */
	m->httpd = MHD_start_daemon(flags, port, NULL, NULL, handle, m, MHD_OPTION_SOCK_ADDR, sa,
				    MHD_OPTION_CONNECTION_LIMIT, (unsigned)16, MHD_OPTION_CONNECTION_TIMEOUT,
				    (unsigned)10, MHD_OPTION_END);
	if (!m->httpd) {
		snprintf(err, errlen, "metrics: cannot listen on %s (in use, or not an address of this host)", listen);
		pthread_mutex_destroy(&m->lock);
		free(m);
		return NULL;
	}
	return m;
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->httpd);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
