/*
 * output/output_file.c -- output_open(): the one way egressfence opens a
 * file it writes (audit's FILE.partial, run --json, the report's
 * FILE.partial, a PDF copied in from another file system).
 *
 * The commands may run as root, in folders other users can write to, so:
 *  - nothing is ever written through a symbolic link at the name
 *    (O_NOFOLLOW, and O_EXCL for a fresh file, which never follows one
 *    planted after the check);
 *  - only a regular file is written (or, appending, a character device
 *    such as /dev/null); a FIFO does not block the open (O_NONBLOCK until
 *    the file is known to be regular);
 *  - a fresh file replaces only a stale regular file of this user's.
 * Every refusal names the path and what is there.
 */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	} else if (mode == OUTPUT_REPLACE) {
		flags |= O_TRUNC;
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
		snprintf(err, errlen, "%s: is %s; not writing there (name a regular file)", path, file_kind(st.st_mode));
		close(fd);
		return NULL;
	}
	/* O_NONBLOCK only kept open() from waiting on a FIFO's reader. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	FILE *f = fdopen(fd, mode == OUTPUT_APPEND ? "a" : "w");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}
