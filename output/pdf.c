/*
 * output/pdf.c -- the report printed to PDF by headless Chromium (Debian's
 * `chromium'), so the PDF is the same page the HTML shows.  Chromium is
 * found on PATH (`chromium', then `chromium-browser'); it is run without a
 * shell, with a private profile folder, and must leave a non-empty PDF.
 *
 * Chromium writes the PDF itself, by its own open(): it cannot be told
 * O_NOFOLLOW, so a symlink planted at the PDF name is refused here first
 * (lstat), and the file is printed to a fresh temporary folder and renamed
 * into place.
 */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static bool find_chromium(char *out, size_t len)
{
	static const char *const names[] = {"chromium", "chromium-browser"};
	const char *path = getenv("PATH");

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		const char *p = path && *path ? path : "/usr/bin:/bin";
		while (*p) {
			size_t n = strcspn(p, ":");
			if (n && snprintf(out, len, "%.*s/%s", (int)n, p, names[k]) < (int)len && access(out, X_OK) == 0)
				return true;
			p += n + (p[n] == ':');
		}
	}
	return false;
}

static int rm_tree(const char *dir)
{
	char *argv[] = {"rm", "-rf", "--", (char *)dir, NULL};
	pid_t pid;
	int st;

	if (posix_spawnp(&pid, "rm", NULL, NULL, argv, environ) != 0)
		return -1;
	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int report_print_pdf(const char *html, const char *pdf, char *err, size_t errlen)
{
	char chromium[PATH_MAX], abs_html[PATH_MAX], url[PATH_MAX + 16], out_arg[PATH_MAX + 32],
		profile_arg[PATH_MAX + 32], tmpl[] = "/tmp/egressfence-pdf.XXXXXX", tmp_pdf[PATH_MAX];
	struct stat st;
	int rc = -1;

	if (!find_chromium(chromium, sizeof(chromium))) {
		snprintf(err, errlen, "--pdf needs Chromium, which is not installed (Debian: apt-get install chromium); "
				      "the HTML report %s was written", html);
		return -1;
	}
	if (lstat(pdf, &st) == 0 && S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "%s: a symlink: refusing to write through it", pdf);
		return -1;
	}
	if (lstat(pdf, &st) == 0 && !S_ISREG(st.st_mode)) { /* rename would replace a device */
		snprintf(err, errlen, "%s: not a regular file: the PDF is written to a file of its own", pdf);
		return -1;
	}
	if (!realpath(html, abs_html)) {
		snprintf(err, errlen, "%s: %s", html, strerror(errno));
		return -1;
	}
	if (!mkdtemp(tmpl)) {
		snprintf(err, errlen, "cannot make a temporary folder: %s", strerror(errno));
		return -1;
	}
	snprintf(url, sizeof(url), "file://%s", abs_html);
	snprintf(tmp_pdf, sizeof(tmp_pdf), "%s/report.pdf", tmpl);
	snprintf(out_arg, sizeof(out_arg), "--print-to-pdf=%s", tmp_pdf);
	snprintf(profile_arg, sizeof(profile_arg), "--user-data-dir=%s/profile", tmpl);
	/* --no-sandbox: Chromium's sandbox refuses to start as root, which is
	 * how audits often run; the page is our own file and loads nothing. */
	char *argv[] = {chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
			"--no-first-run", "--disable-extensions", profile_arg, out_arg, url, NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	int e = posix_spawn(&pid, chromium, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0) {
		snprintf(err, errlen, "%s: %s", chromium, strerror(e));
		goto out;
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    stat(tmp_pdf, &st) != 0 || st.st_size == 0) {
		snprintf(err, errlen, "%s did not print %s to PDF (exit status %d)", chromium, html,
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		goto out;
	}
	/* rename() replaces a symlink planted since the lstat rather than
	 * following it. */
	if (rename(tmp_pdf, pdf) != 0) {
		/* another file system: copy through output_open (O_NOFOLLOW) */
		FILE *in = fopen(tmp_pdf, "rb"), *o = in ? output_open(pdf, OUTPUT_REPLACE, err, errlen) : NULL;
		char buf[1 << 16];
		size_t n;
		bool ok = in && o;
		while (ok && (n = fread(buf, 1, sizeof(buf), in)) > 0)
			ok = fwrite(buf, 1, n, o) == n;
		if (in)
			fclose(in);
		if (o && fclose(o) != 0)
			ok = false;
		if (!ok) {
			if (in && o)
				snprintf(err, errlen, "%s: %s", pdf, strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	rm_tree(tmpl);
	return rc;
}
