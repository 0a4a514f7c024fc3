/*
 * enforce/enforce.h -- the policy and what carries its verdicts out.
 *
 * The policy is loaded from one YAML file (see policy/default.yaml and the
 * README's configuration reference).  Loading either succeeds completely or
 * fails with one message "FILE:LINE:COL: what was expected" and leaves
 * nothing behind; there is no half-loaded policy.  A loaded policy is
 * immutable, so a reload builds a new one and swaps the pointer.
 *
 * Deciding: rules are tried in file order and the first that matches wins,
 * once for each country the remote end has (struct ef_geo set[]), and the
 * strictest verdict over those countries is the flow's.  A remote end with
 * no known country belongs to no group and no list, so a negated `to:`
 * (`!@conforming`) matches it: unknown is not conforming (fail closed).
 */
#ifndef EF_ENFORCE_H
#define EF_ENFORCE_H

#include <stdio.h>

#include "../core/flow.h"
#include "../geodb/geodb.h"

struct policy;

struct policy_error {
	char msg[512]; /* "policy.yaml:12:9: unknown country code `XX'..." */
};

struct policy *policy_load(const char *path, struct policy_error *err);
/* Same, from memory; `name` stands for the file name in messages. */
struct policy *policy_load_buffer(const char *name, const char *text, size_t len,
				  struct policy_error *err);
void policy_free(struct policy *p);

/* What the file says about the rest of the engine. */
size_t policy_geodb_count(const struct policy *p);
const char *policy_geodb_path(const struct policy *p, size_t i); /* resolved against the file's folder */
/* Path i as the file writes it, and where (line, column from 1), for
 * messages; NULL when i is out of range. */
const char *policy_geodb_source(const struct policy *p, size_t i, unsigned *line, unsigned *col);
const char *policy_file(const struct policy *p);           /* the file as named to policy_load() */
const struct geodb_override *policy_overrides(const struct policy *p, size_t *n);
bool policy_is_internal(const struct policy *p, const struct ef_addr *a);
size_t policy_interface_count(const struct policy *p);   /* capture.interfaces */
const char *policy_interface(const struct policy *p, size_t i);
/* capture.source: where monitor mode reads its packets.  `interfaces':
 * libpcap on capture.interfaces, every packet that crosses them; `nflog':
 * the copies the kernel table makes of watched flows' packets (NFLOG group
 * gateway.nflog_group), so that unwatched traffic costs the engine
 * nothing.  When the key is absent: interfaces if capture.interfaces lists
 * any, else nflog.  Gate mode always reads NFLOG, observe mode (no table)
 * always the interfaces. */
enum capture_source { CAPTURE_SOURCE_INTERFACES = 0, CAPTURE_SOURCE_NFLOG = 1 };
enum capture_source policy_capture_source(const struct policy *p);
const char *capture_source_name(enum capture_source s);
bool policy_fail_open(const struct policy *p);            /* fail_open: */

/*
 * Every country some rule with a `to:` could match, by the strictest action
 * such a rule has; a negated `to:` watches every country but the listed ones,
 * which the caller learns from *all_but (then out[] lists the exceptions).
 * Used to build the kernel prefilter.
 */
size_t policy_watched_countries(const struct policy *p, enum ef_verdict at_least,
				ef_country *out, size_t cap, bool *all_but);

/* Every region (ISO 3166-2) a rule with a plain `to:' and an action at least
 * at_least lists; out gets the first cap.  The prefilter watches their
 * networks besides the countries' (a negated `to:' never narrows by region:
 * it watches the region's whole country, fail closed). */
size_t policy_watched_regions(const struct policy *p, enum ef_verdict at_least, ef_region *out, size_t cap);

struct policy_query {
	const struct ef_addr *inside, *remote;
	uint16_t inside_port, remote_port;
	uint8_t l4;                  /* IPPROTO_TCP, IPPROTO_UDP, ... */
	enum ef_encryption enc;
	const char *app;             /* nDPI name, "TLS.Google"; matched case-insensitively,
				      * on the whole name or either half of it */
	uint64_t bytes_out;          /* payload bytes the inside end sent */
	const struct ef_geo *geo;
	uint64_t time_us;            /* when the flow started (microseconds since the
				      * epoch): exceptions apply until their `until';
				      * 0 (unknown) means no exception applies */
	const char *server_name;     /* TLS SNI or HTTP Host, for `host:' exceptions; may be NULL */
};

struct policy_decision {
	enum ef_verdict verdict;
	const char *rule;            /* NULL when the default decided; owned by the policy */
	int rule_index;              /* -1 for the default */
	uint32_t block_remote_seconds; /* rule's `block_remote:` (0 = only this flow) */
	ef_country country;          /* the country that produced the verdict, or NONE */
	const char *exception;       /* the `exceptions:' entry that allowed the flow
				      * (its name), NULL when the rules decided */
};

void policy_decide(const struct policy *p, const struct policy_query *q,
		   struct policy_decision *out);

/* Turns a classifier record (initiator first) into the policy's view
 * (inside end first: swapped when only the responder is in
 * networks.internal), places its remote end with geodb, and decides.  Flows
 * between two inside networks are allowed unless an override places the
 * remote end.  Audit and the gateway both judge through this. */
void policy_judge_flow(const struct policy *p, const struct geodb *db, struct ef_flow_record *rec,
		       struct policy_decision *d);

/* The resolved policy as `egressfence check` prints it: groups expanded,
 * defaults filled in, one rule per block. */
void policy_print(const struct policy *p, FILE *out);

/* What `egressfence check` warns about, one line each, "FILE:LINE:COL:
 * warning: ...", judged on the day of now_s (seconds since the epoch):
 * a country list the policy uses, checked more than lists.max_age_days
 * before that day; an exception whose `until' has passed; rules that can
 * never fire (shadowed by an earlier rule, `to' naming no country, a `from'
 * outside networks.internal); a policy without rules.  Returns how many. */
size_t policy_warnings(const struct policy *p, int64_t now_s, FILE *out);
/* One comment line per country list (source, date checked, age) and per
 * exception (in force or expired), for `check'. */
size_t policy_describe_lists(const struct policy *p, int64_t now_s, FILE *out);

/* Names of all assigned ISO 3166-1 alpha-2 codes (plus XK, used by many
 * databases for Kosovo); true when `c` is one of them. */
bool policy_country_is_assigned(ef_country c);

/* ==== kernel side (nft.c) ================================================
 *
 * What carries verdicts out on a gateway: one nftables table, `inet
 * egressfence`, generated from the policy and the country databases and
 * loaded through libnftables.  Its chains sort every packet by where its
 * remote end is (the prefilter) and by what the engine has decided about
 * its flow (timeout sets).  The engine never reads the big sets back and
 * never sends them again on the decision path: a decision is one set
 * element, sent as an nf_tables netlink message (libnftables would first
 * fetch every element of every set; see nft.c).  docs/gateway.md describes
 * the ruleset.
 */

/* `monitor': watch a capture and block offending flows after the fact;
 * `gate': the kernel holds the payload of undecided flows to block-tier
 * destinations until the engine has decided; `observe': watch a capture,
 * judge and log, and touch no traffic (no table is loaded at all). */
enum gateway_mode { GATEWAY_MONITOR = 0, GATEWAY_GATE = 1, GATEWAY_OBSERVE = 2 };
/* "monitor", "gate", "observe": the config's gateway.mode and run's --mode
 * both parse with this one function. */
const char *gateway_mode_name(enum gateway_mode m);
bool gateway_mode_parse(const char *s, enum gateway_mode *out);
/* Whether `egressfence run' in mode m reads the table's NFLOG copies (gate,
 * and monitor with capture.source nflog): its ruleset then copies watched
 * packets, and the daemon opens nflog:N instead of the interfaces. */
bool policy_reads_nflog(const struct policy *p, enum gateway_mode m);

/* The config's `gateway:` section, with the defaults filled in. */
#define GATEWAY_MAX_FLOWTABLE_DEVICES 32
struct gateway_settings {
	enum gateway_mode mode;     /* mode:            default monitor */
	uint16_t nflog_group;       /* nflog_group:     default 4242 */
	uint32_t flow_timeout_s;    /* flow_timeout:    default 3600; a decision outlives
				     * its flow's last packet by this much */
	uint32_t decide_within_s;   /* decide_within:   default 3; gate mode judges a flow
				     * whose payload has been held this long on the
				     * evidence so far */
	uint32_t max_flows;         /* max_flows:       default 262144; size of each
				     * decision set */
	/* undecided_rate, undecided_burst: default 32 and 512; gate mode's
	 * budget a second and at once, in kbytes (1024 bytes) of IP packets,
	 * of each inside host (an IPv6 /64) for what its undecided
	 * connections pass to the block tier before their verdicts */
	uint32_t undecided_rate_kbytes, undecided_burst_kbytes;
	/* flowtable:       default none; the interfaces whose unwatched
	 * connections the kernel forwards through a flowtable (nf_flow_table),
	 * past every forward chain, once they are established */
	char flowtable[GATEWAY_MAX_FLOWTABLE_DEVICES][16];
	uint8_t n_flowtable;
	/* release_held:    default false; gate mode sends an allowed flow's held
	 * segments on itself (through the same rules of this table, but the
	 * host's output hook, not its forward hook) instead of waiting for
	 * the client to resend them (gateway/gateway.h, kernel.release) */
	bool release_held;
};
void policy_gateway(const struct policy *p, struct gateway_settings *out);
/* metrics.listen as written ("127.0.0.1:9813", checked by ef_listen_parse),
 * or NULL when the policy has no metrics section. */
const char *policy_metrics_listen(const struct policy *p);
/* The first group, in file order, that lists country c: a label for
 * metrics that names no address and no country.  NULL when no group
 * lists it (or c is EF_COUNTRY_NONE). */
const char *policy_country_group(const struct policy *p, ef_country c);
/* Rules, by index as in policy_decision.rule_index: the rule's `log_prefix:`
 * or NULL. */
size_t policy_rule_count(const struct policy *p);
const char *policy_rule_log_prefix(const struct policy *p, size_t rule_index);
/* networks.internal, in file order; NULL past the end. */
const struct ef_cidr *policy_internal_network(const struct policy *p, size_t i);

/*
 * The prefilter: which remote addresses some rule may block (TIER_BLOCK),
 * which rules can at most log (TIER_LOG), and the rest (TIER_NONE), which
 * never leaves the kernel's fast path.  Compiled by walking every database's
 * search tree once, then applying the overrides (longest prefix last, so it
 * wins) and taking out networks.internal and the addresses that never leave
 * a host or a link (loopback, link-local, multicast, broadcast,
 * unspecified).  A negated `to:` ("!@conforming") watches everything but the
 * networks every database places in the listed countries, so addresses no
 * database places are watched, as the policy judges them.
 */
enum prefilter_tier { TIER_NONE = 0, TIER_LOG = 1, TIER_BLOCK = 2 };

struct prefilter;
struct prefilter *prefilter_build(const struct policy *p, const struct geodb *db, char *err, size_t errlen);
void prefilter_free(struct prefilter *pf);
/* Binary search over the compiled ranges: for the engine's own packet path. */
enum prefilter_tier prefilter_tier_of(const struct prefilter *pf, const struct ef_addr *a);
/* Ranges (the kernel's interval set elements) in one tier, family 4 or 6. */
size_t prefilter_ranges(const struct prefilter *pf, enum prefilter_tier t, int family);

/*
 * The ruleset text.  RULESET_CREATE is what `egressfence nft` prints: it
 * deletes any existing table and creates it anew, in one transaction.
 * RULESET_REPLACE (reload, and a restart that finds the table) refills the
 * prefilter sets and the chains in one transaction and keeps the decision
 * sets, so flows already decided keep flowing.  Returns a malloc()ed
 * string, or NULL when out of memory.
 */
enum ruleset_kind { RULESET_CREATE, RULESET_REPLACE };
char *ruleset_text(const struct prefilter *pf, const struct policy *p, const struct gateway_settings *g,
		   enum ruleset_kind kind);

/* The table in the kernel: rulesets through libnftables, decisions,
 * heartbeat and counters as nf_tables netlink messages. */
struct nft_table;
/* dry_run: every command is checked by the kernel and nothing committed. */
struct nft_table *nft_table_open(bool dry_run, char *err, size_t errlen);
void nft_table_close(struct nft_table *t);
bool nft_table_exists(struct nft_table *t);
/* Runs a ruleset text as one transaction; on failure nothing changed and err
 * holds libnftables' message. */
int nft_table_load(struct nft_table *t, const char *text, char *err, size_t errlen);
int nft_table_remove(struct nft_table *t, char *err, size_t errlen);

/*
 * A flow decision is taken over by the connection's next packet: the kernel
 * moves it into the conntrack mark and deletes the element, so it lasts as
 * long as that connection and no longer; a new connection on the same
 * 5-tuple deletes any element left for it.  timeout_s bounds how long an
 * element waits for that packet.
 */
enum nft_decision_kind {
	NFT_ALLOW_FLOW,     /* released: passes (copied when its remote is in the
			     * block tier, for the engine's continuous check) */
	NFT_BLOCK_FLOW,     /* refused (TCP reset, else dropped); wins over an allow */
	NFT_GRACE_FLOW,     /* gate: SSH's key exchange passes, copied, up to a
			     * bound on the connection's bytes */
	NFT_REVOKE_FLOW,    /* gate: the connection's allow is taken back (the
			     * engine forgot the flow); its payload is held again */
	NFT_BLOCK_REMOTE,   /* every flow to or from the remote address, for timeout_s */
	NFT_KERNEL_LOG,     /* the flow's next packet goes to the kernel log with the
			     * prefix of rule `rule_index' */
};

/* One decision.  `remote' is the end in the prefilter's higher tier (when
 * both are in the same tier, queue both orientations). */
struct nft_decision {
	enum nft_decision_kind kind;
	const struct ef_addr *inside, *remote;
	uint16_t inside_port, remote_port;
	uint8_t l4;
	uint32_t timeout_s;
	size_t rule_index;          /* NFT_KERNEL_LOG */
};

/* Decisions are queued and sent as one transaction by nft_table_commit(),
 * so a burst costs one netlink round trip. */
void nft_table_queue(struct nft_table *t, const struct nft_decision *d);
size_t nft_table_queued(const struct nft_table *t);
int nft_table_commit(struct nft_table *t, char *err, size_t errlen);
/* fail_open: the gate lets undecided flows through once the engine has not
 * renewed this for timeout_s seconds. */
int nft_table_heartbeat(struct nft_table *t, uint32_t timeout_s, char *err, size_t errlen);

struct nft_counters {
	uint64_t held;       /* payload of undecided flows, dropped and copied to the engine */
	uint64_t copied;     /* copied to the engine and let through */
	uint64_t refused;    /* dropped or reset by a block decision */
};
int nft_table_counters(struct nft_table *t, struct nft_counters *out, char *err, size_t errlen);

#endif
