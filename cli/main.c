/*
 * cli/main.c -- the command line: parses arguments, loads the policy and
 * the country databases, and hands over to the engine.
 *
 * Exit codes, for every command: 0 all well (audit: nothing blocked or
 * logged, and all of the input read), 1 audit found flows to block or log,
 * 2 a usage, input or environment error, or an audit that could not read
 * all of its input -- with one line on stderr saying what and where.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "about.h"
#include "engine.h"
#include "report_cmd.h"


#define EXIT_FLAGGED 1
#define EXIT_ERROR 2

static const char usage_text[] =
	"usage: egressfence audit  [--config FILE] [--db FILE]... [--json FILE|-] [--workers N]\n"
	"                          [--max-flows N] [--chain] [--sign-key KEY [--checkpoint-every N]\n"
	"                          [--previous-head HEX] [--checkpoint-syslog]]\n"
	"                          [--report FILE.html [--pdf FILE.pdf]] [--compare NEW.yaml] [--format native|ecs]\n"
	"                          [--syslog /dev/log|tcp:HOST:PORT]... [--redis HOST:PORT[/KEY]]... PCAP|DIR...\n"
	"       egressfence report [--policy FILE] [--db FILE]... [--pubkey KEY.pub] -o FILE.html [--pdf FILE.pdf] LOG...\n"
	"       egressfence check  --config FILE\n"
	"       egressfence verify-log [--head HEX] [--pubkey PUB [--open]] FILE...\n"
	"       egressfence keygen --out PREFIX\n"
	"       egressfence lookup [--config FILE] [--db FILE]... [--from ADDRESS] [--port N] [--app NAME] ADDRESS...\n"
	"       egressfence run    [--config FILE] [--db FILE]... [--mode monitor|gate] [--json FILE|-]\n"
	"                          [--sign-key KEY [--checkpoint-every N] [--checkpoint-seconds S]\n"
	"                          [--checkpoint-syslog]] [--format native|ecs] [--syslog ...]... [--redis ...]...\n"
	"                          [--dry-run]\n"
	"       egressfence nft    [--config FILE] [--db FILE]... [--mode monitor|gate]\n"
	"       egressfence version\n"
	"       egressfence help COMMAND\n"
	"\n"
	"audit   classify every flow in the captures, judge it with the policy, write one\n"
	"        JSON event per flow (--json) and a summary on stdout; exit 1 when a flow\n"
	"        was blocked or logged; --report writes the audit record as one HTML file\n"
	"report  the audit record (HTML, a CSV of the flows it lists, --pdf) from event logs\n"
	"check   validate a policy file and print it resolved\n"
	"lookup  the country of each address and the rule each encryption class meets\n"
	"run     enforce on a gateway with nftables until SIGTERM (SIGHUP reloads, SIGUSR1\n"
	"        prints counters); --dry-run only has the kernel check the ruleset\n"
	"nft     print the nftables ruleset that run loads\n"
	"verify-log  check an event log written with audit --chain: exit 1 when a record\n"
	"        was removed, changed or reordered (--head: the head the audit printed);\n"
	"        --pubkey checks a signed log's checkpoints and that it was closed (several\n"
	"        files: one rotated log, in order)\n"
	"keygen  make an Ed25519 key pair for signed logs: PREFIX.key (0600), PREFIX.pub\n"
	"\n"
	"--config defaults to $EGRESSFENCE_CONFIG, else " EF_DEFAULT_POLICY ".\n"
	"--db replaces the policy's geodb.country (give it up to 4 times).\n";

struct common {
	const char *config;
	const char *dbs[EF_GEO_MAX_DB];
	size_t n_dbs;
	struct policy *policy;
	struct geodb *geodb;
};

/* Loads the policy, then the databases it names (or --db's). */
static int load_common(struct common *c, bool need_db)
{
	struct policy_error perr;
	char err[1024];

	c->policy = policy_load(config_path(c->config), &perr);
	if (!c->policy) {
		fprintf(stderr, "egressfence: %s\n", perr.msg);
		return EXIT_ERROR;
	}
	if (!need_db)
		return 0;
	c->geodb = open_policy_geodb(c->policy, c->dbs, c->n_dbs, err, sizeof(err));
	if (!c->geodb) {
		fprintf(stderr, "egressfence: %s\n", err);
		policy_free(c->policy); /* check and lookup return at once */
		c->policy = NULL;
		return EXIT_ERROR;
	}
	return 0;
}

static void free_common(struct common *c)
{
	geodb_close(c->geodb);
	policy_free(c->policy);
}


enum { OPT_CONFIG = 'c', OPT_DB = 'd', OPT_JSON = 'j', OPT_WORKERS = 'w', OPT_MAX_FLOWS = 'm', OPT_HELP = 'h' };
enum { OPT_CHAIN = 'C' }; /* audit: hash-chain the events (output/output.h) */
/* audit: sign the chain (output/output.h) */
enum { OPT_SIGN_KEY = 'K', OPT_CHECKPOINT_EVERY = 'E', OPT_PREVIOUS_HEAD = 'P', OPT_CHECKPOINT_SYSLOG = 'S' };
enum { OPT_REPORT = 'R', OPT_PDF = 'F' }; /* audit: the audit record (cli/report_cmd.h) */
enum { OPT_FORMAT = 'O', OPT_SYSLOG = 'Y', OPT_REDIS = 'X' }; /* audit: outputs (output/output.h); long only */
/* lookup: the flow's other conditions; audit: judge under a second policy too */
enum { OPT_FROM = 'f', OPT_PORT = 'p', OPT_APP = 'a', OPT_COMPARE = 'N' };

static const struct option long_options[] = {
	{"config", required_argument, NULL, OPT_CONFIG},
	{"db", required_argument, NULL, OPT_DB},
	{"json", required_argument, NULL, OPT_JSON},
	{"workers", required_argument, NULL, OPT_WORKERS},
	{"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
	{"chain", no_argument, NULL, OPT_CHAIN},
	{"sign-key", required_argument, NULL, OPT_SIGN_KEY},
	{"checkpoint-every", required_argument, NULL, OPT_CHECKPOINT_EVERY},
	{"previous-head", required_argument, NULL, OPT_PREVIOUS_HEAD},
	{"checkpoint-syslog", no_argument, NULL, OPT_CHECKPOINT_SYSLOG},
	{"report", required_argument, NULL, OPT_REPORT},
	{"pdf", required_argument, NULL, OPT_PDF},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"syslog", required_argument, NULL, OPT_SYSLOG},
	{"redis", required_argument, NULL, OPT_REDIS},
	{"from", required_argument, NULL, OPT_FROM},
	{"port", required_argument, NULL, OPT_PORT},
	{"app", required_argument, NULL, OPT_APP},
	{"compare", required_argument, NULL, OPT_COMPARE},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

struct args {
	struct common common;
	const char *json;
	unsigned long workers, max_flows;
	bool config_given;
	bool chain;
	struct logchain_signing sign; /* key_path set: a signed log */
	const char *report, *pdf;
	bool format_given;
	enum event_format format;
	struct output_config oc;     /* --syslog, --redis; the policy's are added first (audit_outputs) */
	const char *from, *app, *compare;
	unsigned long port;
};

/* Options shared by the commands; which apply is checked by each command. */
static int parse_options(int argc, char **argv, const char *allowed, struct args *a)
{
	int opt;

	a->workers = 1;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+c:d:j:w:m:h", long_options, NULL)) != -1) {
		if (opt == OPT_HELP) {
			fputs(usage_text, stdout);
			exit(0);
		}
		int bad = option_error(argv, opt, "cdjwmKEPRFOYXfpaN", allowed, long_options);
		if (bad)
			return bad;
		switch (opt) {
		case OPT_CONFIG:
			a->common.config = optarg;
			a->config_given = true;
			break;
		case OPT_DB:
			if (a->common.n_dbs == EF_GEO_MAX_DB)
				return usage_error("at most 4 databases; `%s' is one too many", optarg);
			a->common.dbs[a->common.n_dbs++] = optarg;
			break;
		case OPT_JSON:
			a->json = optarg;
			break;
		case OPT_WORKERS:
			if (!parse_count(optarg, ENGINE_MAX_WORKERS, &a->workers))
				return usage_error("--workers is a number from 1 to 16, not `%s'", optarg);
			break;
		case OPT_MAX_FLOWS:
			if (!parse_count(optarg, 100000000, &a->max_flows) || a->max_flows < 16)
				return usage_error("--max-flows is a number from 16 to 100000000, not `%s'", optarg);
			break;
		case OPT_CHAIN:
			a->chain = true;
			break;
		case OPT_SIGN_KEY:
			a->sign.key_path = optarg;
			a->chain = true;
			break;
		case OPT_CHECKPOINT_EVERY:
			if ((bad = checkpoint_every_option(optarg, &a->sign.checkpoint_every)))
				return bad;
			break;
		case OPT_PREVIOUS_HEAD:
			a->sign.previous_head = optarg;
			break;
		case OPT_CHECKPOINT_SYSLOG:
			a->sign.syslog = true;
			break;
		case OPT_REPORT:
			a->report = optarg;
			break;
		case OPT_PDF:
			a->pdf = optarg;
			break;
		case OPT_FORMAT:
			if (!event_format_parse(optarg, &a->format))
				return usage_error("--format is native or ecs, not `%s'", optarg);
			a->format_given = true;
			break;
		case OPT_SYSLOG:
		case OPT_REDIS: {
			char err[512];
			if (a->oc.n == OUTPUT_MAX)
				return usage_error("at most 8 outputs; `%s' is one too many", optarg);
			if (!output_spec_from_option(opt == OPT_SYSLOG ? OUTPUT_SYSLOG : OUTPUT_REDIS, optarg,
						     &a->oc.spec[a->oc.n], err, sizeof(err)))
				return usage_error("%s", err);
			a->oc.n++;
			break;
		}
		case OPT_FROM:
			a->from = optarg;
			break;
		case OPT_PORT:
			if (!parse_count(optarg, 65535, &a->port))
				return usage_error("--port is a port from 1 to 65535, not `%s'", optarg);
			break;
		case OPT_APP:
			a->app = optarg;
			break;
		case OPT_COMPARE:
			a->compare = optarg;
			break;
		}
	}
	return 0;
}

/* The policy's output section, then --syslog and --redis, started; the
 * events' format: --format, else output.format.  NULL outputs when there
 * are none.  -1 on an error, said on stderr. */
static int audit_outputs(struct args *a, struct outputs **out)
{
	struct output_config pc;
	char err[1024];

	*out = NULL;
	if (output_config_load(config_path(a->common.config), &pc, err, sizeof(err)) != 0) {
		fprintf(stderr, "egressfence: %s\n", err);
		return -1;
	}
	if (!a->format_given && pc.format_given)
		a->format = pc.format;
	if (pc.n + a->oc.n > OUTPUT_MAX) {
		fprintf(stderr, "egressfence: at most %d outputs, counting the policy's output.outputs\n", OUTPUT_MAX);
		return -1;
	}
	if (!pc.n && !a->oc.n)
		return 0;
	if (!(*out = outputs_new())) {
		fprintf(stderr, "egressfence: out of memory\n");
		return -1;
	}
	for (size_t i = 0; i < pc.n + a->oc.n; i++)
		if (outputs_add(*out, i < pc.n ? &pc.spec[i] : &a->oc.spec[i - pc.n], a->format, err, sizeof(err)) != 0) {
			fprintf(stderr, "egressfence: %s\n", err);
			return -1;
		}
	return 0;
}

/* At the end of an audit: what each output took, after waiting up to
 * AUDIT_OUTPUT_WAIT_MS for them (a destination that is down may come back
 * meanwhile; events beyond that are lost, and said so). */
#define AUDIT_OUTPUT_WAIT_MS 10000
static void close_audit_outputs(struct outputs *outs, FILE *summary)
{
	if (!outs)
		return;
	outputs_drain(outs, AUDIT_OUTPUT_WAIT_MS);
	for (size_t i = 0; i < outputs_count(outs); i++) {
		struct output_stats os;
		outputs_stats(outs, i, &os);
		fprintf(summary, "output %s (%s): %llu events written, %llu dropped (queue full)%s\n", os.name, os.type,
			(unsigned long long)os.written, (unsigned long long)os.dropped,
			os.queued_bytes ? ", some still queued" : "");
	}
	outputs_close(outs, 0, NULL);
}

static int cmd_audit(int argc, char **argv)
{
	struct args a = {0};
	int rc = parse_options(argc, argv, "cdjwmCKEPSRFOYXN", &a);
	FILE *json = NULL;
	char err[1024];
	struct audit_totals t;
	struct logchain *chain = NULL;
	char partial[4096] = "";
	bool t_valid = false; /* the audit ran to the end, perhaps with unreadable files */
	char events_tmp[4096] = ""; /* --report without --json: the events, read back, then removed */
	struct outputs *outs = NULL;

	if (rc)
		return rc;
	if (optind >= argc)
		return usage_error("%s", "audit needs at least one capture file or folder");
	if (a.chain && !a.json)
		return usage_error("%s", a.sign.key_path ? "--sign-key needs --json FILE: it signs the event log written there"
						    : "--chain needs --json FILE: it chains the event records written there");
	if (!a.sign.key_path && (a.sign.checkpoint_every || a.sign.previous_head || a.sign.syslog))
		return usage_error("%s", "--checkpoint-every, --previous-head and --checkpoint-syslog go with --sign-key KEY");
	if (a.compare && (a.chain || a.report))
		return usage_error("%s", "--compare writes the flows whose verdict changes: not with --chain, --sign-key or --report");
	if (a.pdf && !a.report)
		return usage_error("%s", "--pdf needs --report FILE.html: it prints that report");
	if (a.report && a.json && !strcmp(a.json, "-"))
		return usage_error("%s", "--report reads the events back: give --json FILE, or no --json, not `-'");
	if (a.report && a.format == EVENT_FORMAT_ECS)
		return usage_error("%s", "--report reads native events back: it does not go with --format ecs");
	if ((rc = load_common(&a.common, true)))
		goto out;
	if (audit_outputs(&a, &outs) != 0) {
		rc = EXIT_ERROR;
		goto out;
	}
	if (a.report && a.format == EVENT_FORMAT_ECS) {
		fprintf(stderr, "egressfence: --report reads native events back, and the policy's output.format is ecs: "
				"give --format native\n");
		rc = EXIT_ERROR;
		goto out;
	}
	/* Every capture path must exist before anything is written. */
	struct capture *probe = capture_open_files((const char *const *)argv + optind, (size_t)(argc - optind),
						   err, sizeof(err));
	if (!probe) {
		fprintf(stderr, "egressfence: %s\n", err);
		rc = EXIT_ERROR;
		goto out;
	}
	capture_close(probe);
	if (a.compare) {
		struct compare_request cr = {
			.current = a.common.policy, .current_db = a.common.geodb, .new_policy = a.compare,
			.dbs = a.common.dbs, .n_dbs = a.common.n_dbs, .json = a.json, .workers = (unsigned)a.workers,
			.max_flows = (uint32_t)a.max_flows,
		};
		rc = audit_compare(&cr, (const char *const *)argv + optind, (size_t)(argc - optind));
		goto out;
	}
	/* Events go to FILE.partial and are renamed over FILE at the end, so a
	 * run that fails leaves the previous log whole. */
	if (a.json && strcmp(a.json, "-") != 0) {
		if (snprintf(partial, sizeof(partial), "%s.partial", a.json) >= (int)sizeof(partial)) {
			fprintf(stderr, "egressfence: %s: path too long\n", a.json);
			rc = EXIT_ERROR;
			goto out;
		}
		struct stat st;
		if (stat(a.json, &st) == 0 && S_ISDIR(st.st_mode)) {
			fprintf(stderr, "egressfence: %s: Is a directory (--json wants a file to write)\n", a.json);
			partial[0] = 0;
			rc = EXIT_ERROR;
			goto out;
		}
		/* rename() would replace a link at FILE, not write through it; but
		 * whoever planted one meant something by it: say so, touch nothing. */
		if (lstat(a.json, &st) == 0 && S_ISLNK(st.st_mode)) {
			fprintf(stderr, "egressfence: %s: is a symbolic link; not writing through it (name the file itself)\n",
				a.json);
			partial[0] = 0;
			rc = EXIT_ERROR;
			goto out;
		}
		/* A device (/dev/null, a terminal) is written as it is: renaming a
		 * finished FILE.partial over it would replace the device node
		 * itself with a regular file, for every user of the machine. */
		if (lstat(a.json, &st) == 0 && S_ISCHR(st.st_mode)) {
			partial[0] = 0;
			json = output_open(a.json, OUTPUT_APPEND, err, sizeof(err));
		} else {
			json = output_open(partial, OUTPUT_FRESH, err, sizeof(err));
		}
		if (!json) {
			fprintf(stderr, "egressfence: %s\n", err);
			partial[0] = 0;
			rc = EXIT_ERROR;
			goto out;
		}
	} else if (a.json) {
		json = stdout;
	} else if (a.report && !(json = report_events_tmpfile(events_tmp, sizeof(events_tmp)))) {
		fprintf(stderr, "egressfence: cannot create a temporary events file: %s\n", strerror(errno));
		rc = EXIT_ERROR;
		goto out;
	}
	struct audit_options o = {
		.policy = a.common.policy,
		.geodb = a.common.geodb,
		.workers = (unsigned)a.workers,
		.json = json,
		.format = a.format,
		.outputs = outs,
		/* With events on stdout, the summary goes to stderr. */
		.summary = json == stdout ? stderr : stdout,
		.classifier = {.max_flows = (uint32_t)a.max_flows},
	};
	if (a.sign.key_path) {
		const char *dbs[EF_GEO_MAX_DB];
		size_t n_dbs = geodb_count(a.common.geodb);
		for (size_t i = 0; i < n_dbs; i++)
			dbs[i] = geodb_path(a.common.geodb, i);
		a.sign.producer = "audit";
		a.sign.policy_path = config_path(a.common.config);
		a.sign.db_paths = dbs;
		a.sign.n_dbs = n_dbs;
		if (!(chain = logchain_new_signed(json, &a.sign, err, sizeof(err)))) {
			fprintf(stderr, "egressfence: %s\n", err);
			rc = EXIT_ERROR;
			goto out;
		}
		json = o.json = logchain_stream(chain);
	} else if (a.chain) {
		if (!(chain = logchain_new(json, err, sizeof(err)))) {
			fprintf(stderr, "egressfence: %s\n", err);
			rc = EXIT_ERROR;
			goto out;
		}
		json = o.json = logchain_stream(chain);
	}
	if (engine_audit(&o, (const char *const *)argv + optind, (size_t)(argc - optind), &t, err, sizeof(err))) {
		fprintf(stderr, "egressfence: %s\n", err);
		rc = EXIT_ERROR;
	} else if (t.failed_files) {
		t_valid = true;
		fprintf(stderr, "egressfence: %u capture file%s could not be read to the end (see warnings above)\n",
			t.failed_files, t.failed_files == 1 ? "" : "s");
		rc = EXIT_ERROR;
	} else if (decode_unexamined_count(t.skipped)) {
		/* Data the audit could not read: exit 0 would certify it clean. */
		t_valid = true;
		fprintf(stderr, "egressfence: %llu frames carried data this audit could not examine (see warnings "
			"above): the audit is incomplete\n", (unsigned long long)decode_unexamined_count(t.skipped));
		rc = EXIT_ERROR;
	} else {
		rc = t.by_verdict[EF_BLOCK] || t.by_verdict[EF_LOG] ? EXIT_FLAGGED : 0;
	}
	if (chain && a.sign.key_path && rc != EXIT_ERROR) {
		/* The final checkpoint is written when the log closes. */
		FILE *closing = json;
		json = NULL;
		if (fclose(closing) != 0) {
			fprintf(stderr, "egressfence: %s: %s\n", a.json, strerror(errno));
			rc = EXIT_ERROR;
		} else {
			char head[65];
			unsigned long long n = logchain_head(chain, head);
			fprintf(o.summary, "\nevent log: %llu records, signed, final checkpoint, head %s\n", n, head);
			fprintf(o.summary, "(check: egressfence verify-log --pubkey PUBLIC-KEY %s)\n", a.json);
		}
	} else if (chain && rc != EXIT_ERROR) {
		char head[65];
		unsigned long long n = logchain_head(chain, head);
		fprintf(o.summary, "\nevent log: %llu chained records, head %s\n", n, head);
		fprintf(o.summary, "(keep the head apart from the log; check: egressfence verify-log --head %s %s)\n",
			head, a.json);
	}
out:
	if (json && json != stdout && fclose(json) != 0 && rc != EXIT_ERROR) {
		fprintf(stderr, "egressfence: %s: %s\n", a.json, strerror(errno));
		rc = EXIT_ERROR;
	}
	/* A run that read what it could (even with warnings) keeps its events;
	 * one that failed outright leaves the previous log as it was. */
	if (partial[0]) {
		bool keep = rc != EXIT_ERROR || t_valid;
		if (keep && rename(partial, a.json) != 0) {
			fprintf(stderr, "egressfence: %s: %s\n", a.json, strerror(errno));
			rc = EXIT_ERROR;
		}
		if (!keep)
			unlink(partial);
	}
	/* The event file is complete before the network outputs are waited for. */
	close_audit_outputs(outs, a.json && !strcmp(a.json, "-") ? stderr : stdout);
	outs = NULL;
	if (a.report && (rc != EXIT_ERROR || t_valid)) {
		struct audit_report_input ri = {
			.html = a.report, .pdf = a.pdf, .policy_path = config_path(a.common.config),
			.policy = a.common.policy, .geodb = a.common.geodb,
			.captures = (const char *const *)argv + optind, .n_captures = (size_t)(argc - optind),
			.totals = &t, .events = events_tmp[0] ? events_tmp : a.json, .events_kept = !events_tmp[0],
			.sign_key = a.sign.key_path,
		};
		int report_rc = report_after_audit(&ri);
		if (report_rc)
			rc = report_rc;
	}
	if (events_tmp[0])
		unlink(events_tmp);
	logchain_free(chain);
	free_common(&a.common);
	return rc;
}

static int cmd_check(int argc, char **argv)
{
	struct args a = {0};
	int rc = parse_options(argc, argv, "c", &a);

	if (rc)
		return rc;
	if (!a.config_given)
		return usage_error("%s", "check needs --config FILE");
	if (optind < argc)
		return usage_error("check takes no arguments; `%s' is extra", argv[optind]);
	/* Every database the policy names must open, as run would need it. */
	if ((rc = load_common(&a.common, true)))
		return rc;
	struct output_config oc;
	char err[1024];
	if (output_config_load(config_path(a.common.config), &oc, err, sizeof(err)) != 0) {
		fprintf(stderr, "egressfence: %s\n", err);
		free_common(&a.common);
		return EXIT_ERROR;
	}
	policy_print(a.common.policy, stdout);
	about_databases(a.common.geodb, stdout);
	policy_describe_lists(a.common.policy, (int64_t)time(NULL), stdout);
	fflush(stdout);
	policy_warnings(a.common.policy, (int64_t)time(NULL), stderr);
	free_common(&a.common);
	return 0;
}

static int cmd_lookup(int argc, char **argv)
{
	struct args a = {0};
	int rc = parse_options(argc, argv, "cdfpa", &a);
	struct ef_addr from;

	if (rc)
		return rc;
	if (optind >= argc)
		return usage_error("%s", "lookup needs at least one address");
	if (a.from && !ef_addr_parse(a.from, &from))
		return usage_error("--from is the inside address, an IPv4 or IPv6 address, not `%s'", a.from);
	for (int i = optind; i < argc; i++) {
		struct ef_addr addr;
		if (!ef_addr_parse(argv[i], &addr))
			return usage_error("`%s' is not an IPv4 or IPv6 address", argv[i]);
	}
	if ((rc = load_common(&a.common, true)))
		return rc;
	if (a.from && !policy_is_internal(a.common.policy, &from))
		printf("(--from %s is not in networks.internal: a flow from it is judged so only when neither end is)\n",
		       a.from);
	for (int i = optind; i < argc; i++) {
		struct ef_addr remote, inside = {.family = 4};
		struct ef_geo g;
		char cc[3];

		ef_addr_parse(argv[i], &remote);
		inside.family = remote.family;
		if (a.from)
			inside = from;
		geodb_country_of(a.common.geodb, &remote, &g);
		printf("%s\n  country:", argv[i]);
		if (!g.n)
			printf(" none known (belongs to no group)");
		for (int k = 0; k < g.n; k++) {
			ef_country_str(g.set[k], cc);
			printf(" %s", cc);
		}
		if (g.overridden)
			printf(" (networks.overrides)");
		putchar('\n');
		char region[8], sub[64];
		ef_region_str(g.region, region);
		if (g.region)
			printf("  region: %s\n", region);
		else if (geodb_subdivision_text(a.common.geodb, &remote, sub, sizeof(sub)))
			printf("  region: none known (the database's subdivision `%s' is not in egressfence's ISO 3166-2 name table, geodb/regions.c)\n",
			       sub);
		struct ef_addr v4;
		enum geodb_embedding emb = geodb_embedded_ipv4(&remote, &v4);
		if (emb != GEODB_EMBED_NONE) {
			struct ef_geo g4;
			char a4[EF_ADDR_STRLEN];
			geodb_country_of(a.common.geodb, &v4, &g4);
			ef_addr_format(&v4, a4, sizeof(a4));
			printf("  embeds %s (%s), country:", a4, geodb_embedding_name(emb));
			for (int k = 0; k < g4.n; k++) {
				ef_country_str(g4.set[k], cc);
				printf(" %s", cc);
			}
			printf("%s\n", g4.n ? "" : " none known");
		}
		if (g.unplaced && g.n)
			printf("  (a database places it nowhere: also judged as in no known country)\n");
		for (int k = 0; k < g.n_db && !g.overridden; k++) {
			ef_country_str(g.per_db[k], cc);
			printf("  %s: %s\n", geodb_path(a.common.geodb, (size_t)k), g.per_db[k] ? cc : "no answer");
		}
		bool stays_inside = policy_is_internal(a.common.policy, &remote) && !g.overridden;
		if (stays_inside)
			printf("  (in networks.internal, no override: flows to it from inside do not leave, and are allowed)\n");
		for (int e = EF_ENC_ENCRYPTED; e >= EF_ENC_UNKNOWN; e--) {
			struct policy_decision d;
			if (stays_inside) {
				printf("  %-9s -> allow (inside to inside)\n", ef_encryption_name((enum ef_encryption)e));
				continue;
			}
			struct policy_query q = {
				.inside = &inside, .remote = &remote, .remote_port = (uint16_t)a.port, .l4 = 6,
				.enc = (enum ef_encryption)e, .app = a.app ? a.app : "", .bytes_out = 1, .geo = &g,
				.time_us = (uint64_t)time(NULL) * 1000000,
			};
			policy_decide(a.common.policy, &q, &d);
			if (d.exception)
				printf("  %-9s -> %-5s exception %s\n", ef_encryption_name((enum ef_encryption)e),
				       ef_verdict_name(d.verdict), d.exception);
			else
				printf("  %-9s -> %-5s %s\n", ef_encryption_name((enum ef_encryption)e),
				       ef_verdict_name(d.verdict), d.rule ? d.rule : "(default)");
		}
	}
	char port[24] = "none";
	if (a.port)
		snprintf(port, sizeof(port), "%lu", a.port);
	printf("(judged as a TCP flow, one byte out, from %s, to port %s, app %s, now; rules whose from:, ports: or app: need what is not given do not match: see --from, --port, --app)\n",
	       a.from ? a.from : "no inside address", port, a.app ? a.app : "none");
	free_common(&a.common);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("%s", "a command is needed: audit, check, lookup, run, nft, verify-log, keygen");
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help"))
		return about_help(argc > 2 ? argv[2] : NULL, usage_text, stdout);
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version"))
		return about_version(stdout);
	argc--;
	argv++;
	if (!strcmp(cmd, "audit"))
		return cmd_audit(argc, argv);
	if (!strcmp(cmd, "check"))
		return cmd_check(argc, argv);
	if (!strcmp(cmd, "lookup"))
		return cmd_lookup(argc, argv);
	if (!strcmp(cmd, "run"))
		return cmd_run(argc, argv);
	if (!strcmp(cmd, "nft"))
		return cmd_nft(argc, argv);
	if (!strcmp(cmd, "verify-log"))
		return logchain_verify_main(argc, argv);
	if (!strcmp(cmd, "keygen"))
		return logchain_keygen_main(argc, argv);
	if (!strcmp(cmd, "report"))
		return cmd_report(argc, argv);
	return usage_error("unknown command `%s' (expected audit, check, lookup, run, nft, verify-log, keygen or report)", cmd);
}
