/*
 * output/internal.h -- what the files of output/ share, and nothing else
 * includes but the tests: one event as the report reads it back from a
 * JSON line, and the writers of network outputs as the event queue drives
 * them.
 *
 * Strings are copied truncated to their buffers (an event's own limits are
 * smaller: core/flow.h), never NULL; a JSON null is "".  Numbers are
 * non-negative integers, as event.c writes them.
 */
#ifndef EF_OUTPUT_INTERNAL_H
#define EF_OUTPUT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct report_event {
	char ts[40], end_ts[40];
	char src_ip[48], dst_ip[48];
	uint64_t src_port, dst_port;
	char l4[16], app[64], server_name[128];
	char encryption[16], tls_version[16], cipher[80];
	char dst_country[8];
	uint64_t bytes_out, bytes_in, packets;
	char verdict[8], rule[64];
	bool evicted, reassembly_conflict, rejudged;
	char action_taken[32], mode[16], decided_by[32];
	char rejudge_direction[16], rejudge_reason[128];
	uint64_t rejudge_offset;
	/* a gateway's second record of a blocked flow: what left after the
	 * verdict (its other figures repeat the flow's) */
	bool final;
	uint64_t bytes_out_after_block;
	bool has_seq, has_chain;
};

/* Parses one line; false when it is not a JSON object with at least ts,
 * encryption and verdict (the line is then counted, not shown). */
bool report_event_parse(const char *line, size_t len, struct report_event *e);

/* A signed log's own records (logchain.c, output.h): record 1, its header, and
 * the checkpoints.  Neither is an event nor a line the report cannot read. */
#define REPORT_HEADER_DBS 8
struct report_log_header {
	char format[48], log_id[40], key_id[40], previous_head[72], producer[16], started[40];
	bool has_policy;
	char policy_path[256], policy_sha[72];
	size_t n_dbs;                  /* those listed beyond REPORT_HEADER_DBS are counted, not kept */
	struct {
		char path[256], sha[72];
	} dbs[REPORT_HEADER_DBS];
};
struct report_checkpoint {
	char log_id[40], key_id[40];
	uint64_t records;
	bool final;
};
enum report_line {
	REPORT_LINE_OTHER,
	REPORT_LINE_EVENT,
	REPORT_LINE_LOG_HEADER,
	REPORT_LINE_CHECKPOINT,
	REPORT_LINE_COUNTERS, /* the gateway's counters (output.h): report_counters_parse reads it */
};

/* One line of a log: an event (in e), a signed log's header (h) or
 * checkpoint (c), or the gateway's counters -- each a whole, well-formed
 * chained record with the format this egressfence writes -- or another
 * line (a counters record that does not read whole is one). */
enum report_line report_line_parse(const char *line, size_t len, struct report_event *e, struct report_log_header *h,
				   struct report_checkpoint *c);

/* A counters record (output.h's output_counters_line), chained; false
 * when any member it must have is missing or malformed, or capture_drops
 * is not the sum of the sources'. */
struct output_counters;
bool report_counters_parse(const char *line, size_t len, struct output_counters *out);

/* ---- the writers of network outputs (sink_net.c), run by eventq.c ---------- */

/* What an event queue writes to when it is not a FILE.  write() is handed
 * whole lines and returns the bytes of those the destination took (whole
 * lines); fewer than n leaves the rest queued, offered again soon.  It
 * must return within a bounded time (its sockets have timeouts). */
struct event_sink {
	size_t (*write)(void *ctx, const char *buf, size_t n);
	bool (*connected)(void *ctx);
	void (*free)(void *ctx);
	void *ctx;
};
struct output_spec;
bool net_sink_new(const struct output_spec *o, struct event_sink *out);
struct event_queue *event_queue_new_sink(const struct event_sink *sink, size_t cap);
/* As event_queue_put, the line being prefix and line together. */
bool event_queue_put_prefixed(struct event_queue *q, const char *prefix, size_t plen, const char *line, size_t len,
			      bool is_block);

#endif
