/*
 * cli/options.c -- what every command line shares: the usage error, the
 * message for an option getopt_long() refused or a command does not take
 * (naming the option as the user wrote it), where the policy is, which
 * country databases it opens.  Output files are opened by output_open()
 * (output/output_file.c).
 */
#include "engine.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int usage_error(const char *fmt, const char *arg)
{
	fputs("egressfence: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\n(see egressfence --help)\n", stderr);
	return 2;
}

int option_error(char **argv, int opt, const char *with_value, const char *allowed,
		 const struct option *longopts)
{
	if (opt == '?' || opt == ':') {
		const char *bad = argv[optind - 1];
		if (optopt && strchr(with_value, optopt))
			return usage_error("option `%s' needs a value", bad);
		return usage_error("unknown option `%s'", bad);
	}
	if (strchr(allowed, opt))
		return 0;
	/* argv[optind - 1] may be the option's value: name the option itself */
	char name[64] = "?";
	for (const struct option *lo = longopts; lo->name; lo++)
		if (lo->val == opt)
			snprintf(name, sizeof(name), "--%s", lo->name);
	return usage_error("option `%s' does not apply to this command", name);
}

const char *config_path(const char *given)
{
	const char *env = getenv("EGRESSFENCE_CONFIG");

	if (given)
		return given;
	return env && *env ? env : EF_DEFAULT_POLICY;
}

/*
 * A database the policy names that does not open is a mistake in the
 * policy: the message gets the file:line:col of its path, like every other
 * policy error, and says that a relative path starts at the policy's folder
 * (not the current directory) -- a copy of the default policy moved
 * elsewhere breaks exactly there.  The failing file is
 * found by opening each alone (only on this error path).
 */
static void place_geodb_error(const struct policy *p, char *err, size_t errlen)
{
	size_t n = policy_geodb_count(p);
	char why[1024];
	unsigned line, col;

	snprintf(why, sizeof(why), "%s", err);
	if (n == 0) {
		snprintf(err, errlen, "%s (%s names no geodb.country, so the default database is used)", why,
			 policy_file(p));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *path = policy_geodb_path(p, i);
		struct geodb *db = geodb_open(&path, 1, NULL, 0, why, sizeof(why));
		if (db) {
			geodb_close(db);
			continue;
		}
		const char *written = policy_geodb_source(p, i, &line, &col);
		if (!written)
			break;
		if (written[0] == '/')
			snprintf(err, errlen, "%s:%u:%u: geodb.country: %s", policy_file(p), line, col, why);
		else
			snprintf(err, errlen, "%s:%u:%u: geodb.country `%s' is relative to the policy's folder: %s",
				 policy_file(p), line, col, written, why);
		return;
	}
}

struct geodb *open_policy_geodb(const struct policy *p, const char *const *dbs, size_t n_dbs,
				char *err, size_t errlen)
{
	const char *paths[EF_GEO_MAX_DB];
	size_t n = n_dbs, n_ov;

	if (n) {
		memcpy(paths, dbs, n * sizeof(paths[0]));
	} else {
		n = policy_geodb_count(p);
		for (size_t i = 0; i < n; i++)
			paths[i] = policy_geodb_path(p, i);
		if (n == 0) {
			paths[0] = EF_DEFAULT_DB;
			n = 1;
		}
	}
	const struct geodb_override *ov = policy_overrides(p, &n_ov);
	struct geodb *db = geodb_open(paths, n, ov, n_ov, err, errlen);
	if (!db && !n_dbs)
		place_geodb_error(p, err, errlen);
	return db;
}

bool parse_count(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return s[0] >= '0' && s[0] <= '9' && !*end && !errno && *out >= 1 && *out <= max;
}

int checkpoint_every_option(const char *arg, uint32_t *out)
{
	unsigned long n;

	if (!parse_count(arg, 100000000, &n))
		return usage_error("--checkpoint-every is a number of records from 1 to 100000000, not `%s'", arg);
	*out = (uint32_t)n;
	return 0;
}
