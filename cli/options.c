/*
 * cli/options.c -- what every command line shares: the usage error, the
 * message for an option getopt_long() refused or a command does not take
 * (naming the option as the user wrote it), where the policy is, and which
 * country databases it opens.
 */
#include "engine.h"

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
	return geodb_open(paths, n, ov, n_ov, err, errlen);
}
