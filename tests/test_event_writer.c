/*
 * tests/test_event_writer.c -- output/event_writer.c: an audit worker's
 * events arrive whole, in the order they were put, none dropped, with a
 * writer thread or without, even when the destination stalls; and a write
 * that fails is returned by event_writer_finish.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/flow.h"
#include "enforce/enforce.h"
#include "output/output.h"

#define EVENTS 20000 /* 78 batches of 256, many times the ring of 4 */

static void put_events(struct event_writer *w, unsigned n)
{
	struct ef_flow_record r;
	struct policy_decision d = {.verdict = EF_LOG, .rule = "a-rule", .rule_index = 0};

	memset(&r, 0, sizeof(r));
	r.inside.family = r.remote.family = 4;
	r.inside.b[0] = 10;
	r.remote.b[0] = 198;
	r.l4 = 6;
	strcpy(r.app, "TLS");
	for (unsigned i = 0; i < n; i++) {
		r.bytes_out = i; /* the event's place in the order */
		r.first_us = r.last_us = 1700000000000000u + i;
		event_writer_put(w, &r, &d);
	}
}

/* Every line an event, bytes_out 0, 1, 2... */
static void assert_all_in_order(const char *text, size_t len, unsigned n)
{
	unsigned seen = 0;

	for (const char *p = text; p < text + len;) {
		const char *nl = memchr(p, '\n', (size_t)(text + len - p));
		assert_non_null(nl);
		assert_true(p[0] == '{' && nl[-1] == '}');
		/* within the line: strstr over the rest of a 10 MB text is
		 * quadratic under ASan, whose strstr takes its strlen first */
		const char *b = memmem(p, (size_t)(nl - p), "\"bytes_out\":", 12);
		assert_non_null(b);
		assert_int_equal(strtoull(b + 12, NULL, 10), seen);
		seen++;
		p = nl + 1;
	}
	assert_int_equal(seen, n);
}

static void check_in_order(bool threaded)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = tmpfile();

	assert_non_null(f);
	struct event_writer *w = event_writer_new(f, EVENT_FORMAT_NATIVE, NULL, threaded);
	assert_non_null(w);
	put_events(w, EVENTS);
	assert_int_equal(event_writer_finish(w), 0);
	event_writer_free(w);
	long size = ftell(f);
	assert_true(size > 0);
	rewind(f);
	text = malloc((size_t)size);
	assert_non_null(text);
	len = fread(text, 1, (size_t)size, f);
	assert_int_equal(len, (size_t)size);
	assert_all_in_order(text, len, EVENTS);
	free(text);
	fclose(f);
}

static void every_event_arrives_in_order_with_a_thread(void **state)
{
	check_in_order(true);
}

static void every_event_arrives_in_order_without_a_thread(void **state)
{
	check_in_order(false);
}

struct reader {
	int fd;
	char *text;
	size_t len;
};

/* Reads nothing for a while -- the pipe and the ring fill, and put() must
 * wait rather than drop -- then everything. */
static void *slow_reader(void *arg)
{
	struct reader *r = arg;
	struct timespec nap = {0, 300 * 1000000L};
	FILE *sink = open_memstream(&r->text, &r->len);
	char buf[65536];
	ssize_t n;

	nanosleep(&nap, NULL);
	while ((n = read(r->fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, sink);
	fclose(sink);
	return NULL;
}

static void a_stalled_destination_makes_the_worker_wait_and_loses_nothing(void **state)
{
	int fds[2];
	pthread_t t;
	struct reader r = {0};

	assert_int_equal(pipe(fds), 0);
	r.fd = fds[0];
	assert_int_equal(pthread_create(&t, NULL, slow_reader, &r), 0);
	FILE *out = fdopen(fds[1], "w");
	struct event_writer *w = event_writer_new(out, EVENT_FORMAT_NATIVE, NULL, true);
	assert_non_null(w);
	put_events(w, EVENTS);
	assert_int_equal(event_writer_finish(w), 0);
	event_writer_free(w);
	fclose(out);
	pthread_join(t, NULL);
	assert_all_in_order(r.text, r.len, EVENTS);
	free(r.text);
	close(fds[0]);
}

static void check_failed_write(bool threaded)
{
	FILE *full = fopen("/dev/full", "w");

	if (!full)
		skip();
	struct event_writer *w = event_writer_new(full, EVENT_FORMAT_NATIVE, NULL, threaded);
	assert_non_null(w);
	put_events(w, EVENTS);
	assert_int_equal(event_writer_finish(w), ENOSPC);
	assert_int_equal(event_writer_finish(w), ENOSPC); /* said again, not forgotten */
	event_writer_free(w);
	fclose(full);
}

static void a_failed_write_is_returned_with_a_thread(void **state)
{
	check_failed_write(true);
}

static void a_failed_write_is_returned_without_a_thread(void **state)
{
	check_failed_write(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_event_arrives_in_order_with_a_thread),
		cmocka_unit_test(every_event_arrives_in_order_without_a_thread),
		cmocka_unit_test(a_stalled_destination_makes_the_worker_wait_and_loses_nothing),
		cmocka_unit_test(a_failed_write_is_returned_with_a_thread),
		cmocka_unit_test(a_failed_write_is_returned_without_a_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
