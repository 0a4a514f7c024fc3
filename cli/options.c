/*
 * cli/options.c -- what every command line shares: the usage error, and
 * the message for an option getopt_long() refused or a command does not
 * take, which names the option as the user wrote it.
 */
#include "engine.h"

#include <getopt.h>
#include <stdio.h>
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
