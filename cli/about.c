/*
 * cli/about.c -- `egressfence version', `egressfence help COMMAND', and the
 * lines `check' prints about the databases it opened.
 *
 * The per-command texts here and docs/man/egressfence.8.scd say the same
 * things; when a command gains an option, both change (the man page is what
 * a packaged install reads, this is what `help' prints).
 */
#include "about.h"
#include "engine.h"
#include "../output/output.h"

#include <string.h>
#include <time.h>

static const char exit_common[] =
	"exit codes: 0 done; 2 a usage, input or environment error (one line on stderr\n"
	"            says what and where)\n";

struct command_help {
	const char *name;
	const char *text;
	const char *exits; /* NULL: exit_common */
};

static const struct command_help commands[] = {
	{"audit",
	 "usage: egressfence audit [OPTION]... PCAP|DIR...\n"
	 "Classifies every flow in the captures (pcap or pcapng; every regular file of\n"
	 "a folder, in name order), judges it with the policy, writes one JSON event\n"
	 "per flow and prints a summary (on stdout; on stderr when events go to stdout).\n"
	 "\n"
	 "  --config FILE          the policy (default: $EGRESSFENCE_CONFIG, else " EF_DEFAULT_POLICY ")\n"
	 "  --db FILE              a country database instead of the policy's geodb.country;\n"
	 "                         up to 4 times\n"
	 "  --json FILE|-          write the events to FILE (replaced whole at the end) or stdout\n"
	 "  --workers N            classify with N threads, 1 to 16 (default 1); same events\n"
	 "  --max-flows N          flow table bound per worker, 16 to 100000000 (default 262144)\n"
	 "  --chain                hash-chain the events written with --json\n"
	 "  --sign-key KEY         chain and sign them with an Ed25519 key (egressfence keygen)\n"
	 "  --checkpoint-every N   with --sign-key: a signed checkpoint every N records (default 1000)\n"
	 "  --previous-head HEX    with --sign-key: this log continues the one that ended at HEX\n"
	 "  --checkpoint-syslog    with --sign-key: each checkpoint also goes to syslog\n"
	 "  --compare NEW.yaml     judge every flow under --config's policy and NEW.yaml's in\n"
	 "                         one pass; print, per rule and country, the flows whose\n"
	 "                         verdict changes (--json: their NEW events, with was_verdict\n"
	 "                         and was_rule); exit 1 when any would become stricter\n",
	 "exit codes: 0 nothing blocked or logged; 1 a flow was blocked or logged (an\n"
	 "            offline audit blocks nothing: block means \"would block\"); with\n"
	 "            --compare: 0 nothing stricter, 1 some flow stricter; 2 a usage,\n"
	 "            input or environment error, or an incomplete audit: a capture that\n"
	 "            could not be read to the end, or frames of a protocol audit cannot\n"
	 "            read (what could be read is still reported)\n"},
	{"check",
	 "usage: egressfence check --config FILE\n"
	 "Loads the policy, opens every country database it names, and prints the\n"
	 "policy resolved (groups expanded, paths absolute, defaults filled in), then\n"
	 "one comment line per database: path, type, build date.  The output is itself\n"
	 "a valid policy.  A relative database path is relative to the policy's folder.\n"
	 "Then one comment line per country list (source, date checked) and exception\n"
	 "(in force or expired); on stderr, FILE:LINE:COL: warning: lines for lists\n"
	 "checked more than lists.max_age_days ago, expired exceptions and rules that\n"
	 "can never fire (warnings do not change the exit code).\n"
	 "\n"
	 "  --config FILE          the policy to check (required)\n",
	 "exit codes: 0 the policy loads and its databases open; 2 it does not: one line\n"
	 "            FILE:LINE:COL: what is wrong, and nothing on stdout\n"},
	{"lookup",
	 "usage: egressfence lookup [--config FILE] [--db FILE]... [--from ADDRESS] [--port N] [--app NAME] ADDRESS...\n"
	 "Prints each address's country, each database's answer, and the verdict and\n"
	 "rule (or exception in force now) each encryption class would meet, for a TCP\n"
	 "flow with the conditions given.\n"
	 "\n"
	 "  --config FILE          the policy (default: $EGRESSFENCE_CONFIG, else " EF_DEFAULT_POLICY ")\n"
	 "  --db FILE              a country database instead of the policy's; up to 4 times\n"
	 "  --from ADDRESS         the inside address, for rules with from:\n"
	 "  --port N               the remote port, for rules and exceptions with ports:\n"
	 "  --app NAME             the nDPI app name (TLS, TLS.Google), for app:\n",
	 NULL},
	{"run",
	 "usage: egressfence run [--config FILE] [--db FILE]... [--mode monitor|gate|observe]\n"
	 "                       [--json FILE|-] [--dry-run] [--metrics-listen ADDRESS:PORT]\n"
	 "                       [--sign-key KEY [--checkpoint-every N] [--checkpoint-seconds S]\n"
	 "                        [--checkpoint-syslog]]\n"
	 "Enforces the policy on this host's forwarded and outgoing traffic through the\n"
	 "nftables table inet egressfence, until SIGTERM or SIGINT (which remove the\n"
	 "table).  Under systemd (Type=notify) it says READY=1 once the table is loaded,\n"
	 "RELOADING=1 around a reload, and pings WatchdogSec from its packet loop.  SIGHUP reloads the policy and databases in one transaction (the old\n"
	 "state stays on any error), and opens a new --json FILE when logrotate moved\n"
	 "it; SIGUSR1 prints the counters on stderr.  Needs CAP_NET_ADMIN and CAP_NET_RAW.\n"
	 "\n"
	 "  --config FILE          the policy (default: $EGRESSFENCE_CONFIG, else " EF_DEFAULT_POLICY ")\n"
	 "  --db FILE              a country database instead of the policy's; up to 4 times\n"
	 "  --mode monitor|gate|observe\n"
	 "                         overrides gateway.mode: monitor cuts judged flows off,\n"
	 "                         gate holds undecided payload until judged, observe\n"
	 "                         judges and logs and touches no traffic (no table)\n"
	 "  --metrics-listen ADDRESS:PORT\n"
	 "                         serve Prometheus metrics at http://ADDRESS:PORT/metrics\n"
	 "                         (overrides metrics.listen)\n"
	 "  --json FILE|-          append log and block events to FILE, or write them to stdout\n"
	 "  --dry-run              build the ruleset and have the kernel check it; load nothing\n"
	 "  --sign-key KEY         chain and sign the --json FILE log with an Ed25519 key\n"
	 "  --checkpoint-every N   with --sign-key: a signed checkpoint every N records (default 1000)\n"
	 "  --checkpoint-seconds S with --sign-key: and S seconds after an unsigned record at most\n"
	 "                         (default 60)\n"
	 "  --checkpoint-syslog    with --sign-key: each checkpoint also goes to syslog\n",
	 "exit codes: 0 stopped by SIGTERM or SIGINT, table removed (--dry-run: the kernel\n"
	 "            accepted the ruleset); 2 a usage, policy, database or kernel error\n"
	 "            (after start-up: the table stays in place, see egressfence(8))\n"},
	{"nft",
	 "usage: egressfence nft [--config FILE] [--db FILE]... [--mode monitor|gate]\n"
	 "Prints the nftables ruleset that `egressfence run' loads; changes nothing.\n"
	 "\n"
	 "  --config FILE          the policy (default: $EGRESSFENCE_CONFIG, else " EF_DEFAULT_POLICY ")\n"
	 "  --db FILE              a country database instead of the policy's; up to 4 times\n"
	 "  --mode monitor|gate    overrides gateway.mode\n",
	 NULL},
	{"verify-log",
	 "usage: egressfence verify-log [--head HEX] [--pubkey PUB [--open]] FILE...\n"
	 "Checks an event log written by audit --chain or --sign-key: prints `OK, N\n"
	 "records' or the first line where a record was removed, changed or reordered.\n"
	 "FILE - reads stdin.\n"
	 "\n"
	 "  --head HEX             the head the audit printed: also catches records cut\n"
	 "                         off the end\n"
	 "  --pubkey PUB           check a signed log's checkpoints with this public key, and\n"
	 "                         that the log was closed; several FILEs are one rotated\n"
	 "                         log, in order\n"
	 "  --open                 with --pubkey: accept a log still being written\n",
	 "exit codes: 0 intact; 1 a record was removed, changed or reordered, a checkpoint\n"
	 "            does not verify, or a signed log was not closed; 2 a usage error or\n"
	 "            not a chained log\n"},
	{"keygen",
	 "usage: egressfence keygen --out PREFIX\n"
	 "Makes an Ed25519 key pair for signed event logs: PREFIX.key (mode 0600, for\n"
	 "the engine) and PREFIX.pub (for verify-log --pubkey).  Never overwrites.\n"
	 "\n"
	 "  --out PREFIX           where the two files go\n",
	 NULL},
	{"version",
	 "usage: egressfence version   (or egressfence --version)\n"
	 "Prints the version, the commit it was built from, the nDPI and libmaxminddb\n"
	 "it runs with, and the default database and its build date.\n",
	 "exit codes: 0\n"},
	{"help",
	 "usage: egressfence help [COMMAND]\n"
	 "Prints the general usage, or COMMAND's options and exit codes.\n",
	 "exit codes: 0; 2 for a command that does not exist\n"},
};

int about_help(const char *command, const char *general_usage, FILE *out)
{
	if (!command) {
		fputs(general_usage, out);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, command) != 0)
			continue;
		fputs(commands[i].text, out);
		fputc('\n', out);
		fputs(commands[i].exits ? commands[i].exits : exit_common, out);
		return 0;
	}
	return usage_error("help: no command `%s' (expected audit, check, lookup, run, nft, verify-log, "
			   "keygen, version or help)", command);
}

static void format_date(uint64_t epoch, char *buf, size_t len)
{
	time_t t = (time_t)epoch;
	struct tm tm;

	if (!epoch || !gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "unknown");
}

static const char *layout_name(enum geodb_layout l)
{
	return l == GEODB_LAYOUT_IP_LOCATION_DB ? "ip-location-db layout" : "MaxMind layout";
}

void about_databases(const struct geodb *db, FILE *out)
{
	char date[64];

	for (size_t i = 0; i < geodb_count(db); i++) {
		format_date(geodb_build_epoch(db, i), date, sizeof(date));
		fprintf(out, "# database %s: %s, %s, built %s\n", geodb_path(db, i), geodb_database_type(db, i),
			layout_name(geodb_layout_of(db, i)), date);
	}
}

int about_version(FILE *out)
{
	const char *path = EF_DEFAULT_DB;
	char err[1024], date[64];

	/* One place knows the version and commit: the report and the summary
	 * print the same (output/commit.cmake, refreshed at every build). */
	fprintf(out, "egressfence %s\n", output_version());
	fprintf(out, "nDPI %s\n", classify_library_version());
	fprintf(out, "libmaxminddb %s\n", geodb_library_version());
	fprintf(out, "default policy: %s\n", EF_DEFAULT_POLICY);
	struct geodb *db = geodb_open(&path, 1, NULL, 0, err, sizeof(err));
	if (!db) {
		fprintf(out, "default database: %s\n", err);
		return 0;
	}
	format_date(geodb_build_epoch(db, 0), date, sizeof(date));
	fprintf(out, "default database: %s (%s, built %s)\n", path, geodb_database_type(db, 0), date);
	geodb_close(db);
	return 0;
}
