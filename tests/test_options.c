/*
 * tests/test_options.c -- output_open() (output/output_file.c), the one way
 * the commands open a file they write (audit's FILE.partial, run --json,
 * the report's FILE.partial and its PDF).
 * Each test plants what an attacker would (a link, a FIFO, someone else's
 * file) in a fresh folder and asserts both the refusal and that the link's
 * target is unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output/output.h"

struct dir {
	char path[256];
	char err[512];
};

static char *at(struct dir *d, const char *name)
{
	static char buf[4][512];
	static int next;
	char *b = buf[next++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s", d->path, name);
	return b;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void assert_holds(const char *path, const char *text)
{
	char buf[256] = "";
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	assert_string_equal(buf, text);
}

static int setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));

	snprintf(d->path, sizeof(d->path), "/tmp/ef-test-options-XXXXXX");
	if (!d || !mkdtemp(d->path))
		return -1;
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct dir *d = *state;
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	if (system(cmd) != 0)
		return -1;
	free(d);
	return 0;
}

static void append_creates_then_appends(void **state)
{
	struct dir *d = *state;
	FILE *f = output_open(at(d, "events.json"), OUTPUT_APPEND, d->err, sizeof(d->err));

	assert_non_null(f);
	fputs("one\n", f);
	fclose(f);
	f = output_open(at(d, "events.json"), OUTPUT_APPEND, d->err, sizeof(d->err));
	assert_non_null(f);
	fputs("two\n", f);
	fclose(f);
	assert_holds(at(d, "events.json"), "one\ntwo\n");
}

static void append_refuses_a_link(void **state)
{
	struct dir *d = *state;

	put(at(d, "victim"), "root's file\n");
	assert_int_equal(symlink(at(d, "victim"), at(d, "events.json")), 0);
	assert_null(output_open(at(d, "events.json"), OUTPUT_APPEND, d->err, sizeof(d->err)));
	assert_non_null(strstr(d->err, "events.json: is a symbolic link"));
	assert_holds(at(d, "victim"), "root's file\n");
}

static void fresh_refuses_links_dangling_or_not(void **state)
{
	struct dir *d = *state;
	struct stat st;

	put(at(d, "victim"), "root's file\n");
	assert_int_equal(symlink(at(d, "victim"), at(d, "a.partial")), 0);
	assert_null(output_open(at(d, "a.partial"), OUTPUT_FRESH, d->err, sizeof(d->err)));
	assert_non_null(strstr(d->err, "a.partial: is a symbolic link"));
	assert_holds(at(d, "victim"), "root's file\n");
	assert_int_equal(lstat(at(d, "a.partial"), &st), 0);
	assert_true(S_ISLNK(st.st_mode)); /* not removed either: it is not ours to remove */

	assert_int_equal(symlink(at(d, "created"), at(d, "b.partial")), 0);
	assert_null(output_open(at(d, "b.partial"), OUTPUT_FRESH, d->err, sizeof(d->err)));
	assert_int_equal(stat(at(d, "created"), &st), -1);
}

static void fresh_replaces_a_stale_file_of_ours(void **state)
{
	struct dir *d = *state;

	put(at(d, "c.partial"), "stale events of a run that died\n");
	FILE *f = output_open(at(d, "c.partial"), OUTPUT_FRESH, d->err, sizeof(d->err));
	assert_non_null(f);
	fputs("new\n", f);
	fclose(f);
	assert_holds(at(d, "c.partial"), "new\n");
}

static void fresh_refuses_a_fifo_and_a_folder(void **state)
{
	struct dir *d = *state;

	assert_int_equal(mkfifo(at(d, "fifo.partial"), 0600), 0);
	assert_null(output_open(at(d, "fifo.partial"), OUTPUT_FRESH, d->err, sizeof(d->err)));
	assert_non_null(strstr(d->err, "is a FIFO"));
	assert_int_equal(mkdir(at(d, "dir.partial"), 0700), 0);
	assert_null(output_open(at(d, "dir.partial"), OUTPUT_FRESH, d->err, sizeof(d->err)));
	assert_non_null(strstr(d->err, "is a directory"));
	/* and append mode does not block on a FIFO without a reader */
	assert_null(output_open(at(d, "fifo.partial"), OUTPUT_APPEND, d->err, sizeof(d->err)));
}

/* The report's FILE.partial and a PDF copied from another file system:
 * what is there is truncated, but only when it is a regular file; a FIFO
 * is refused at once (output_create, before output_open served it too,
 * blocked on one until a reader came). */
static void replace_truncates_a_file_and_refuses_the_rest(void **state)
{
	struct dir *d = *state;

	put(at(d, "out.html.partial"), "an earlier, longer report\n");
	FILE *f = output_open(at(d, "out.html.partial"), OUTPUT_REPLACE, d->err, sizeof(d->err));
	assert_non_null(f);
	fputs("new\n", f);
	fclose(f);
	assert_holds(at(d, "out.html.partial"), "new\n");

	put(at(d, "victim"), "root's file\n");
	assert_int_equal(symlink(at(d, "victim"), at(d, "link.pdf")), 0);
	assert_null(output_open(at(d, "link.pdf"), OUTPUT_REPLACE, d->err, sizeof(d->err)));
	assert_non_null(strstr(d->err, "link.pdf: is a symbolic link"));
	assert_holds(at(d, "victim"), "root's file\n");

	assert_int_equal(mkfifo(at(d, "fifo.pdf"), 0600), 0);
	assert_null(output_open(at(d, "fifo.pdf"), OUTPUT_REPLACE, d->err, sizeof(d->err)));
	assert_int_equal(mkdir(at(d, "dir.pdf"), 0700), 0);
	assert_null(output_open(at(d, "dir.pdf"), OUTPUT_REPLACE, d->err, sizeof(d->err)));
	assert_non_null(strstr(d->err, "dir.pdf: "));
}

/* As root, a file someone else owns at FILE.partial may be bait (a hard
 * link to a file of theirs we would not notice): refused, left alone. */
static void fresh_refuses_another_users_file(void **state)
{
	struct dir *d = *state;

	if (geteuid() != 0) {
		skip();
		return;
	}
	put(at(d, "d.partial"), "someone's\n");
	assert_int_equal(chown(at(d, "d.partial"), 65534, 65534), 0);
	assert_null(output_open(at(d, "d.partial"), OUTPUT_FRESH, d->err, sizeof(d->err)));
	assert_non_null(strstr(d->err, "another user's file"));
	assert_holds(at(d, "d.partial"), "someone's\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(append_creates_then_appends, setup, teardown),
		cmocka_unit_test_setup_teardown(append_refuses_a_link, setup, teardown),
		cmocka_unit_test_setup_teardown(fresh_refuses_links_dangling_or_not, setup, teardown),
		cmocka_unit_test_setup_teardown(fresh_replaces_a_stale_file_of_ours, setup, teardown),
		cmocka_unit_test_setup_teardown(fresh_refuses_a_fifo_and_a_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(fresh_refuses_another_users_file, setup, teardown),
		cmocka_unit_test_setup_teardown(replace_truncates_a_file_and_refuses_the_rest, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
