/*
 * cli/options.c -- what every command line shares: the usage error, the
 * message for an option getopt_long() refused or a command does not take
 * (naming the option as the user wrote it), where the policy is, which
 * country databases it opens, and how output files are opened (never
 * through a symbolic link).
 */
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static const char *file_kind(mode_t m)
{
	if (S_ISLNK(m))
		return "a symbolic link";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISBLK(m))
		return "a block device";
	return "not a regular file";
}

FILE *output_open(const char *path, enum output_mode mode, char *err, size_t errlen)
{
	struct stat st;
	int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;

	if (mode == OUTPUT_FRESH) {
		if (lstat(path, &st) == 0) {
			/* A stale file of an earlier run that died.  Anything else
			 * may be someone's bait: a link to a file we would clobber. */
			if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
				snprintf(err, errlen, "%s: is %s; not writing there (remove it first)", path,
					 S_ISREG(st.st_mode) ? "another user's file" : file_kind(st.st_mode));
				return NULL;
			}
			if (unlink(path) != 0 && errno != ENOENT) {
				snprintf(err, errlen, "%s: cannot remove the stale file: %s", path, strerror(errno));
				return NULL;
			}
		}
		/* O_EXCL never follows a link: one planted after the check fails here. */
		flags |= O_EXCL;
	} else {
		flags |= O_APPEND;
	}
	int fd = open(path, flags | O_NONBLOCK, 0666);
	if (fd < 0) {
		if (errno == ELOOP)
			snprintf(err, errlen, "%s: is a symbolic link; not writing through it (name the file itself)", path);
		else if (errno == EEXIST)
			snprintf(err, errlen, "%s: appeared while it was being created; not writing there", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || (mode == OUTPUT_APPEND && S_ISCHR(st.st_mode)))) {
		snprintf(err, errlen, "%s: is %s; --json wants a file to write", path, file_kind(st.st_mode));
		close(fd);
		return NULL;
	}
	/* O_NONBLOCK only kept open() from waiting on a FIFO's reader. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	FILE *f = fdopen(fd, mode == OUTPUT_FRESH ? "w" : "a");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
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
