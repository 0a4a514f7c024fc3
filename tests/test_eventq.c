/*
 * tests/test_eventq.c -- output/eventq.c: the gateway's event log never makes
 * the packet path wait, and never loses a record without counting it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "output/output.h"

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void a_stalled_destination_never_blocks_and_drops_are_counted(void **state)
{
	int fds[2];
	char line[256];

	assert_int_equal(pipe(fds), 0);
	FILE *out = fdopen(fds[1], "w");
	/* Nobody reads the pipe: once its 64 KiB buffer and the 16 KiB queue
	 * are full, the writer is stuck in write(). */
	struct event_queue *q = event_queue_new(out, 16384);
	assert_non_null(q);
	size_t queued = 0, dropped = 0, dropped_block = 0;
	double t0 = seconds();
	for (int i = 0; i < 20000; i++) {
		int n = snprintf(line, sizeof(line), "{\"n\":%d,\"verdict\":\"%s\",\"pad\":\"%080d\"}\n", i,
				 i % 2 ? "block" : "log", 0);
		if (event_queue_put(q, line, (size_t)n, i % 2))
			queued++;
		else if (dropped++, i % 2)
			dropped_block++;
	}
	double elapsed = seconds() - t0;
	/* 20000 puts against a stalled reader: no put waited on the pipe
	 * (a generous bound; the loop takes milliseconds). */
	assert_true(elapsed < 2.0);
	assert_true(dropped > 0);
	struct event_queue_stats st;
	event_queue_stats(q, &st);
	assert_int_equal(st.dropped, dropped);
	assert_int_equal(st.dropped_block, dropped_block);

	/* The reader wakes up: everything queued arrives, whole and in order. */
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	char *got = NULL;
	size_t got_len = 0;
	FILE *sink = open_memstream(&got, &got_len);
	char buf[65536];
	for (double until = seconds() + 10; seconds() < until;) {
		ssize_t n = read(fds[0], buf, sizeof(buf));
		if (n > 0)
			fwrite(buf, 1, (size_t)n, sink);
		else if (event_queue_drain(q, 10))
			break;
	}
	uint64_t lost;
	event_queue_close(q, 5000, &lost);
	assert_int_equal(lost, 0);
	fclose(out);
	ssize_t n;
	while ((n = read(fds[0], buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, sink);
	fclose(sink);
	size_t lines = 0;
	int last = -1;
	for (char *p = got; p && *p; p = strchr(p, '\n') + 1) {
		int k = atoi(p + 5);
		assert_true(k > last);
		last = k;
		lines++;
		if (!strchr(p, '\n'))
			break;
	}
	assert_int_equal(lines, queued);
	free(got);
	close(fds[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_stalled_destination_never_blocks_and_drops_are_counted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
