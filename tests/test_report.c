/*
 * tests/test_report.c -- output/: reading events back (every member the
 * report shows, the fields landing with rejudging, and malformed lines
 * refused without reading past their end), a signed log's header and
 * checkpoint records told apart from events and from unreadable lines,
 * the gateway's counters record read whole or refused, and shown per
 * engine run in the report's gaps,
 * output_open's refusal of a planted symlink, and the world map's data
 * file: read when whole, refused with file:line when anything in it could
 * break out of the page's SVG or is not the format.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../output/internal.h"
#include "../output/output.h"
#include "../output/worldmap.h"

static const char sample[] =
	"{\"ts\":\"2026-11-23T14:54:15.837786Z\",\"end_ts\":\"2026-11-23T14:54:15.850000Z\",\"src_ip\":\"fd00:ef::2\","
	"\"src_port\":60826,\"dst_ip\":\"2001:db8:86::10\",\"dst_port\":443,\"l4\":\"tcp\",\"app\":\"TLS\","
	"\"server_name\":\"cn.egressfence.test\",\"app_guessed\":false,\"encryption\":\"encrypted\","
	"\"tls_version\":\"TLSv1.3\",\"cipher\":\"TLS_AES_256_GCM_SHA384\",\"cipher_bits\":256,\"dst_country\":\"CN\","
	"\"dst_countries\":[\"CN\"],\"geo_answers\":{\"a.mmdb\":\"CN\",\"b.mmdb\":null},\"bytes_out\":726,"
	"\"bytes_in\":6331,\"packets\":20,\"packets_out\":10,\"packets_in\":10,\"verdict\":\"log\","
	"\"rule\":\"designated-any\",\"initiator\":\"inside\",\"action_taken\":\"none\",\"seq\":5,"
	"\"chain\":\"00ff\"}";

static void reads_every_member_shown(void **state)
{
	struct report_event e;

	assert_true(report_event_parse(sample, strlen(sample), &e));
	assert_string_equal(e.ts, "2026-11-23T14:54:15.837786Z");
	assert_string_equal(e.end_ts, "2026-11-23T14:54:15.850000Z");
	assert_string_equal(e.src_ip, "fd00:ef::2");
	assert_int_equal(e.src_port, 60826);
	assert_string_equal(e.dst_ip, "2001:db8:86::10");
	assert_int_equal(e.dst_port, 443);
	assert_string_equal(e.app, "TLS");
	assert_string_equal(e.server_name, "cn.egressfence.test");
	assert_string_equal(e.encryption, "encrypted");
	assert_string_equal(e.tls_version, "TLSv1.3");
	assert_string_equal(e.cipher, "TLS_AES_256_GCM_SHA384");
	assert_string_equal(e.dst_country, "CN");
	assert_int_equal(e.bytes_out, 726);
	assert_int_equal(e.bytes_in, 6331);
	assert_string_equal(e.verdict, "log");
	assert_string_equal(e.rule, "designated-any");
	assert_string_equal(e.action_taken, "none");
	assert_true(e.has_seq);
	assert_true(e.has_chain);
	assert_false(e.rejudged);
}

static void reads_rejudged_at(void **state)
{
	static const char words[] = "{\"ts\":\"t\",\"encryption\":\"cleartext\",\"verdict\":\"block\",\"rejudged\":true,"
				    "\"rejudged_at\":{\"direction\":\"out\",\"offset\":1843,\"reason\":\"readable text\"}}";
	static const char number[] = "{\"ts\":\"t\",\"encryption\":\"cleartext\",\"verdict\":\"block\",\"rejudged\":true,"
				     "\"rejudged_at\":{\"reason\":\"r\",\"direction\":1,\"offset\":7,\"later\":[1,{}]}}";
	struct report_event e;

	assert_true(report_event_parse(words, strlen(words), &e));
	assert_true(e.rejudged);
	assert_string_equal(e.rejudge_direction, "out");
	assert_int_equal(e.rejudge_offset, 1843);
	assert_string_equal(e.rejudge_reason, "readable text");
	assert_true(report_event_parse(number, strlen(number), &e));
	assert_string_equal(e.rejudge_direction, "1");
	assert_int_equal(e.rejudge_offset, 7);
}

static void decodes_escapes_and_nulls(void **state)
{
	static const char line[] = "{\"ts\":\"t\",\"encryption\":\"weak\",\"verdict\":\"allow\",\"rule\":null,"
				   "\"dst_country\":null,\"server_name\":\"a\\\"<b>\\u00e9\\ud800\\n\"}";
	struct report_event e;

	assert_true(report_event_parse(line, strlen(line), &e));
	assert_string_equal(e.rule, "");
	assert_string_equal(e.dst_country, "");
	assert_string_equal(e.server_name, "a\"<b>\xc3\xa9\xef\xbf\xbd\n");
}

static void truncates_long_strings(void **state)
{
	char line[4096];
	struct report_event e;

	memset(line, 0, sizeof(line));
	strcpy(line, "{\"ts\":\"t\",\"encryption\":\"weak\",\"verdict\":\"allow\",\"app\":\"");
	memset(line + strlen(line), 'x', 3000);
	strcat(line, "\"}");
	assert_true(report_event_parse(line, strlen(line), &e));
	assert_int_equal(strlen(e.app), sizeof(e.app) - 1);
}

/* Every prefix of a valid line is refused, each copied to a buffer of its
 * own length so that reading one byte past it is caught by ASan. */
static void refuses_every_truncation(void **state)
{
	size_t n = strlen(sample);
	struct report_event e;

	for (size_t len = 0; len < n; len++) {
		char *copy = malloc(len ? len : 1);
		memcpy(copy, sample, len);
		assert_false(report_event_parse(copy, len, &e));
		free(copy);
	}
	assert_true(report_event_parse(sample, n, &e));
}

static void refuses_malformed(void **state)
{
	static const char *const bad[] = {
		"", "[]", "null", "{}", "{\"ts\":\"t\",\"encryption\":\"weak\"}", /* no verdict */
		"{\"ts\":\"t\",\"encryption\":\"weak\",\"verdict\":\"allow\"} trailing",
		"{\"ts\":\"t\",\"encryption\":\"weak\",\"verdict\":\"allow\",}",
		"{\"ts\":\"t\",\"encryption\":\"weak\",\"verdict\":\"allow\",\"x\":\"\\q\"}",
		"{\"ts\":\"t\",\"encryption\":\"weak\",\"verdict\":\"allow\",\"x\":\"\\u12g4\"}",
		"{\"ts\":\"t\",\"encryption\":\"weak\",\"verdict\":\"allow\",\"x\":\"a\tb\"}",
		"{\"ts\":\"t\",\"encryption\":\"weak\",\"verdict\":\"allow\",\"x\":01.}",
		"{\"ts\":\"t\",\"encryption\":\"weak\",\"verdict\":\"allow\",\"x\":tru}",
		"{\"ts\":\"t\",\"encryption\":\"weak\",\"verdict\":\"allow\",\"x\":[1,2}",
		"{\"ts\" \"t\",\"encryption\":\"weak\",\"verdict\":\"allow\"}",
	};
	struct report_event e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(report_event_parse(bad[i], strlen(bad[i]), &e));
	/* nesting deeper than the scanner's limit: refused, no stack overflow */
	char deep[200000];
	int k = snprintf(deep, sizeof(deep), "{\"ts\":\"t\",\"encryption\":\"weak\",\"verdict\":\"allow\",\"x\":");
	memset(deep + k, '[', sizeof(deep) - (size_t)k - 1);
	deep[sizeof(deep) - 1] = 0;
	assert_false(report_event_parse(deep, strlen(deep), &e));
}

/* A signed log's own records, as output/logchain.c writes them. */
static const char header_line[] =
	"{\"log\":{\"format\":\"egressfence-signed-log-1\",\"log_id\":\"f4d38a5a50517094253edd0a37610a24\","
	"\"key_id\":\"6629beca75180aaee4883354e7d0a071\",\"previous_head\":null,\"producer\":\"audit\","
	"\"started\":\"2026-11-27T16:15:43Z\",\"policy\":{\"path\":\"samples/sample-policy.yaml\","
	"\"sha256\":\"8b0af573e8f574e61ac7a496e48374fc9bc5904c28b5e1b820ab12e3743812cd\"},\"databases\":"
	"[{\"path\":\"a.mmdb\",\"sha256\":\"c5f7c0e9bd6a6ccb5a2e9634764544a0d08bd0bd8788b8aedfac87bea184c652\"},"
	"{\"path\":\"b.mmdb\",\"sha256\":\"00\"}]},\"seq\":1,"
	"\"chain\":\"31b4458a9210f8c5de95770d080f78aa31b4458a9210f8c5de95770d080f78aa\"}";
static const char checkpoint_line[] =
	"{\"checkpoint\":{\"log_id\":\"f4d38a5a50517094253edd0a37610a24\",\"records\":6,"
	"\"head\":\"87f026feacca8825f1cc2aa87f026feacca8825f1cc2aa87f026feacca8825f1\",\"final\":true,"
	"\"key_id\":\"6629beca75180aaee4883354e7d0a071\",\"sig\":\""
	"ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01"
	"ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01\"},\"seq\":7,"
	"\"chain\":\"31b4458a9210f8c5de95770d080f78aa31b4458a9210f8c5de95770d080f78aa\"}";

static void reads_a_signed_logs_header(void **state)
{
	struct report_event e;
	struct report_log_header h;
	struct report_checkpoint c;

	assert_int_equal(report_line_parse(header_line, strlen(header_line), &e, &h, &c), REPORT_LINE_LOG_HEADER);
	assert_string_equal(h.key_id, "6629beca75180aaee4883354e7d0a071");
	assert_string_equal(h.log_id, "f4d38a5a50517094253edd0a37610a24");
	assert_string_equal(h.previous_head, "");
	assert_string_equal(h.producer, "audit");
	assert_true(h.has_policy);
	assert_string_equal(h.policy_path, "samples/sample-policy.yaml");
	assert_string_equal(h.policy_sha, "8b0af573e8f574e61ac7a496e48374fc9bc5904c28b5e1b820ab12e3743812cd");
	assert_int_equal(h.n_dbs, 2);
	assert_string_equal(h.dbs[0].path, "a.mmdb");
	assert_string_equal(h.dbs[1].sha, "00");
	/* ... and it is no event: the event reader alone refuses it */
	assert_false(report_event_parse(header_line, strlen(header_line), &e));
}

static void reads_a_checkpoint(void **state)
{
	struct report_event e;
	struct report_log_header h;
	struct report_checkpoint c;

	assert_int_equal(report_line_parse(checkpoint_line, strlen(checkpoint_line), &e, &h, &c),
			 REPORT_LINE_CHECKPOINT);
	assert_int_equal(c.records, 6);
	assert_true(c.final);
	assert_string_equal(c.key_id, "6629beca75180aaee4883354e7d0a071");
	assert_false(report_event_parse(checkpoint_line, strlen(checkpoint_line), &e));
}

static void an_event_is_still_an_event(void **state)
{
	struct report_event e;
	struct report_log_header h;
	struct report_checkpoint c;

	assert_int_equal(report_line_parse(sample, strlen(sample), &e, &h, &c), REPORT_LINE_EVENT);
	assert_string_equal(e.dst_country, "CN");
	/* an event that merely has a "log" member later on stays an event */
	static const char later[] = "{\"ts\":\"t\",\"encryption\":\"weak\",\"verdict\":\"allow\",\"log\":{}}";
	assert_int_equal(report_line_parse(later, strlen(later), &e, &h, &c), REPORT_LINE_EVENT);
}

/* Look-alikes of the log's own records are lines that are not events. */
static void refuses_malformed_signed_records(void **state)
{
	static const char *const bad[] = {
		"{\"log\":{\"format\":\"egressfence-signed-log-1\",\"log_id\":\"a\",\"key_id\":\"b\"}}", /* no seq, chain */
		"{\"log\":{\"format\":\"other\",\"log_id\":\"a\",\"key_id\":\"b\"},\"seq\":1,\"chain\":\"c\"}",
		"{\"log\":{\"format\":\"egressfence-signed-log-1\",\"log_id\":\"a\"},\"seq\":1,\"chain\":\"c\"}",
		"{\"log\":\"x\",\"seq\":1,\"chain\":\"c\"}",
		"{\"log\":{\"format\":\"egressfence-signed-log-1\",\"log_id\":\"a\",\"key_id\":\"b\",\"databases\":[1]},"
		"\"seq\":1,\"chain\":\"c\"}",
		"{\"checkpoint\":{\"log_id\":\"a\",\"records\":1,\"key_id\":\"b\"},\"seq\":2,\"chain\":\"c\"}", /* no final */
		"{\"checkpoint\":{\"log_id\":\"a\",\"records\":\"1\",\"final\":true,\"key_id\":\"b\"},\"seq\":2,\"chain\":\"c\"}",
		"{\"checkpoint\":{\"log_id\":\"a\",\"records\":1,\"final\":true,\"key_id\":\"b\"},\"seq\":2,\"chain\":\"c\"} x",
		"{\"checkpoint\":{\"log_id\":\"a\",\"records\":1,\"final\":true,\"key_id\":\"b\"},\"seq\":2}",
	};
	struct report_event e;
	struct report_log_header h;
	struct report_checkpoint c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(report_line_parse(bad[i], strlen(bad[i]), &e, &h, &c), REPORT_LINE_OTHER);
	/* every prefix, in a buffer of its own length (ASan catches a read past it) */
	const char *whole[] = {header_line, checkpoint_line};
	for (int w = 0; w < 2; w++) {
		for (size_t len = 0; len < strlen(whole[w]); len++) {
			char *copy = malloc(len ? len : 1);
			memcpy(copy, whole[w], len);
			assert_int_equal(report_line_parse(copy, len, &e, &h, &c), REPORT_LINE_OTHER);
			free(copy);
		}
	}
	/* more databases than are kept: counted, the line still read */
	char many[4096];
	int k = snprintf(many, sizeof(many), "{\"log\":{\"format\":\"egressfence-signed-log-1\","
					     "\"log_id\":\"f4d38a5a50517094253edd0a37610a24\",\"key_id\":\"6629beca75180aaee4883354e7d0a071\","
					     "\"previous_head\":null,\"databases\":[");
	for (int i = 0; i < REPORT_HEADER_DBS + 3; i++)
		k += snprintf(many + k, sizeof(many) - (size_t)k, "%s{\"path\":\"d%d\",\"sha256\":\"00\"}", i ? "," : "", i);
	snprintf(many + k, sizeof(many) - (size_t)k,
		 "]},\"seq\":1,\"chain\":\"31b4458a9210f8c5de95770d080f78aa31b4458a9210f8c5de95770d080f78aa\"}");
	assert_int_equal(report_line_parse(many, strlen(many), &e, &h, &c), REPORT_LINE_LOG_HEADER);
	assert_int_equal(h.n_dbs, REPORT_HEADER_DBS + 3);
	assert_string_equal(h.dbs[REPORT_HEADER_DBS - 1].path, "d7");
}

/* The report takes a line for the log's own record exactly when verify-log
 * does (logchain_line_parse): a header or checkpoint spelled otherwise than
 * logchain.c writes it -- spaces, ids that are not hex, a short signature --
 * is no header or checkpoint for either. */
static void reads_the_logs_records_as_the_verifier_does(void **state)
{
	struct report_event e;
	struct report_log_header h;
	struct report_checkpoint c;
	struct logchain_line_info li;
	char buf[2048];
	const char *const edits[][2] = {
		{"{\"log\":{", "{\"log\": {"},
		{"\"log_id\":\"f4d38a5a50517094253edd0a37610a24\"", "\"log_id\":\"f4d38a5a50517094253edd0a37610a2x\""},
		{"\"previous_head\":null,", ""},
		{"\"sig\":\"ab01", "\"sig\":\""},
		{"\"final\":true", "\"final\":1"},
	};

	assert_int_equal(logchain_line_parse(header_line, strlen(header_line), &li), LOGCHAIN_LINE_HEADER);
	assert_int_equal(logchain_line_parse(checkpoint_line, strlen(checkpoint_line), &li), LOGCHAIN_LINE_CHECKPOINT);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		const char *whole = strstr(header_line, edits[i][0]) ? header_line : checkpoint_line;
		const char *at = strstr(whole, edits[i][0]);
		assert_non_null(at);
		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - whole), whole, edits[i][1], at + strlen(edits[i][0]));
		assert_int_not_equal(logchain_line_parse(buf, strlen(buf), &li),
				     whole == header_line ? LOGCHAIN_LINE_HEADER : LOGCHAIN_LINE_CHECKPOINT);
		assert_int_equal(report_line_parse(buf, strlen(buf), &e, &h, &c), REPORT_LINE_OTHER);
	}
}

/* ---- the gateway's counters record (output.h) ---------------------------- */

#define CHAIN_64 "31b4458a9210f8c5de95770d080f78aa31b4458a9210f8c5de95770d080f78aa"

static void sample_counters(struct output_counters *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->host, sizeof(c->host), "gw-\"1\"");
	snprintf(c->engine_started, sizeof(c->engine_started), "2026-11-27T20:00:00.000001Z");
	snprintf(c->time, sizeof(c->time), "2026-11-27T21:00:00.500000Z");
	snprintf(c->why, sizeof(c->why), "interval");
	c->packets = 123456;
	c->flows = 789;
	c->n_sources = 2;
	snprintf(c->sources[0].name, sizeof(c->sources[0].name), "nflog:24");
	c->sources[0].drops = 5;
	snprintf(c->sources[1].name, sizeof(c->sources[1].name), "eth1");
	c->sources[1].drops = 2;
	c->capture_drops = 7;
	c->n_outputs = 2;
	snprintf(c->outputs[0].name, sizeof(c->outputs[0].name), "file");
	c->outputs[0].written = 700;
	c->outputs[0].dropped = 11;
	c->outputs[0].dropped_block = 3;
	c->outputs[0].write_errors = 1;
	snprintf(c->outputs[1].name, sizeof(c->outputs[1].name), "syslog");
	c->outputs[1].written = 711;
	c->have_kernel = true;
	c->held = 40;
	c->copied = 41;
	c->refused = 42;
	c->reloads = 2;
	c->reload_failures = 1;
}

/* The record as the chain writes it: seq and chain added last. */
static void counters_record(const struct output_counters *c, unsigned seq, char *buf, size_t cap)
{
	char line[EVENT_LINE_MAX];
	size_t n = output_counters_line(c, line, sizeof(line));

	assert_true(n > 2 && line[n - 1] == '\n' && line[n - 2] == '}');
	snprintf(buf, cap, "%.*s,\"seq\":%u,\"chain\":\"" CHAIN_64 "\"}", (int)n - 2, line, seq);
}

static void reads_a_counters_record(void **state)
{
	struct output_counters in, out;
	struct report_event e;
	struct report_log_header h;
	struct report_checkpoint c;
	char rec[8192];

	sample_counters(&in);
	counters_record(&in, 9, rec, sizeof(rec));
	assert_int_equal(report_line_parse(rec, strlen(rec), &e, &h, &c), REPORT_LINE_COUNTERS);
	assert_true(report_counters_parse(rec, strlen(rec), &out));
	assert_string_equal(out.host, "gw-\"1\"");
	assert_string_equal(out.engine_started, in.engine_started);
	assert_string_equal(out.time, in.time);
	assert_string_equal(out.why, "interval");
	assert_int_equal(out.packets, 123456);
	assert_int_equal(out.flows, 789);
	assert_int_equal(out.capture_drops, 7);
	assert_int_equal(out.n_sources, 2);
	assert_string_equal(out.sources[1].name, "eth1");
	assert_int_equal(out.sources[1].drops, 2);
	assert_int_equal(out.n_outputs, 2);
	assert_string_equal(out.outputs[0].name, "file");
	assert_int_equal(out.outputs[0].written, 700);
	assert_int_equal(out.outputs[0].dropped, 11);
	assert_int_equal(out.outputs[0].dropped_block, 3);
	assert_int_equal(out.outputs[0].write_errors, 1);
	assert_int_equal(out.outputs[1].written, 711);
	assert_true(out.have_kernel);
	assert_int_equal(out.refused, 42);
	assert_int_equal(out.reloads, 2);
	assert_int_equal(out.reload_failures, 1);
	/* it is no event, and neither the verifier's header nor checkpoint */
	assert_false(report_event_parse(rec, strlen(rec), &e));
	/* observe mode has no table: no held, copied, refused */
	in.have_kernel = false;
	counters_record(&in, 9, rec, sizeof(rec));
	assert_null(strstr(rec, "held"));
	assert_true(report_counters_parse(rec, strlen(rec), &out));
	assert_false(out.have_kernel);
}

/* A counters record that does not read whole is an unreadable line, never
 * figures: each edit below makes the sample so. */
static void refuses_a_malformed_counters_record(void **state)
{
	struct output_counters in, out;
	struct report_event e;
	struct report_log_header h;
	struct report_checkpoint c;
	char rec[8192], buf[8192];
	const char *const edits[][2] = {
		{"\"packets\":123456", "\"packets\":-1"},
		{"\"packets\":123456", "\"packets\":1.5"},
		{"\"packets\":123456", "\"packets\":\"123456\""},
		{"\"flows\":789", "\"flows\":99999999999999999999"},
		{"\"capture_drops\":7", "\"capture_drops\":6"},            /* not the sources' sum */
		{"\"time\":\"2026-11-27T21:00:00.500000Z\",", ""},          /* a member missing */
		{"\"time\":\"2026-11-27T21:00:00.500000Z\"", "\"time\":\"yesterday\""},
		{"\"why\":\"interval\"", "\"why\":\"whim\""},
		{"\"reloads\":2", "\"reloads\":2,\"reloads\":3"},          /* twice */
		{"\"held\":40,", ""},                                       /* part of the table's */
		{"{\"name\":\"eth1\",\"drops\":2}", "{\"name\":\"eth1\"}"},
		{"{\"name\":\"eth1\",\"drops\":2}", "{\"name\":\"eth1\",\"drops\":2,\"x\":1}"},
		{"\"sources\":[", "\"sources\":{"},
		{"\"outputs\":[{", "\"outputs\":[1,{"},
		{",\"seq\":9", ",\"other\":1,\"seq\":9"},                  /* a member beside the chain's */
		{"{\"counters\":{", "{\"counters\": {\"x\":{"},
	};

	sample_counters(&in);
	counters_record(&in, 9, rec, sizeof(rec));
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		const char *at = strstr(rec, edits[i][0]);
		assert_non_null(at);
		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - rec), rec, edits[i][1], at + strlen(edits[i][0]));
		if (report_counters_parse(buf, strlen(buf), &out))
			fail_msg("edit %zu read as a counters record: %s", i, buf);
		assert_int_equal(report_line_parse(buf, strlen(buf), &e, &h, &c), REPORT_LINE_OTHER);
	}
	/* unchained (as written before the chain adds seq and chain) */
	size_t n = output_counters_line(&in, buf, sizeof(buf));
	assert_false(report_counters_parse(buf, n - 1, &out));
	/* every prefix, in a buffer of its own length */
	for (size_t len = 0; len < strlen(rec); len++) {
		char *copy = malloc(len ? len : 1);
		memcpy(copy, rec, len);
		assert_int_not_equal(report_line_parse(copy, len, &e, &h, &c), REPORT_LINE_COUNTERS);
		free(copy);
	}
}

/* Section 1 of a report from a run log: the last counters record of each
 * engine run, stated since the engine started and as of that record; a
 * log with none says the gaps are not known. */
static void report_shows_each_engine_runs_last_counters(void **state)
{
	char dir[] = "/tmp/test_report.XXXXXX", logp[64], bare[64], html[64], err[256], rec[8192];
	struct output_counters c;
	struct report *r;

	assert_non_null(mkdtemp(dir));
	snprintf(logp, sizeof(logp), "%s/run.json", dir);
	snprintf(bare, sizeof(bare), "%s/bare.json", dir);
	snprintf(html, sizeof(html), "%s/r.html", dir);
	FILE *f = fopen(logp, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", sample);
	sample_counters(&c);
	snprintf(c.time, sizeof(c.time), "2026-11-27T21:30:00.000000Z"); /* the later record, written first */
	c.sources[0].drops = 50;
	c.capture_drops = 52;
	c.outputs[0].dropped = 19;
	snprintf(c.why, sizeof(c.why), "exit");
	counters_record(&c, 6, rec, sizeof(rec));
	fprintf(f, "%s\n", rec);
	sample_counters(&c);
	counters_record(&c, 7, rec, sizeof(rec));
	fprintf(f, "%s\n", rec);
	/* another engine run on the same host */
	snprintf(c.engine_started, sizeof(c.engine_started), "2026-11-27T22:00:00.000000Z");
	snprintf(c.time, sizeof(c.time), "2026-11-27T22:05:00.000000Z");
	c.sources[0].drops = 0;
	c.sources[1].drops = 0;
	c.capture_drops = 0;
	counters_record(&c, 8, rec, sizeof(rec));
	fprintf(f, "%s\n", rec);
	fclose(f);

	assert_non_null(r = report_new());
	report_set_command(r, "report");
	assert_int_equal(report_add_log(r, logp, true, err, sizeof(err)), 0);
	assert_int_equal(report_write_html(r, html, err, sizeof(err)), 0);
	report_free(r);
	f = fopen(html, "r");
	assert_non_null(f);
	char *page = calloc(1, 1 << 20);
	size_t len = fread(page, 1, (1 << 20) - 1, f);
	fclose(f);
	page[len] = 0;
	assert_non_null(strstr(page, "since the engine started at <b>2026-11-27T20:00:00.000001Z</b>, as of "
				     "<b>2026-11-27T21:30:00.000000Z</b>"));
	assert_non_null(strstr(page, "id=run-1-capture-drops>52<"));
	assert_non_null(strstr(page, "id=run-1-out-1-dropped>19<"));
	assert_non_null(strstr(page, "id=run-1-out-1-write-errors>1<"));
	assert_non_null(strstr(page, "as of <b>2026-11-27T22:05:00.000000Z</b>"));
	assert_non_null(strstr(page, "id=run-2-capture-drops>0<"));
	assert_null(strstr(page, "not known from logs alone"));
	/* the counters records are neither events nor unreadable lines */
	assert_null(strstr(page, "not an event"));
	assert_null(strstr(page, "are not events"));
	assert_non_null(strstr(page, "0 checkpoints, 3 counters records"));
	unlink(html);
	free(page);

	/* a log without any counters record: not known */
	f = fopen(bare, "w");
	fprintf(f, "%s\n", sample);
	fclose(f);
	assert_non_null(r = report_new());
	assert_int_equal(report_add_log(r, bare, true, err, sizeof(err)), 0);
	assert_int_equal(report_write_html(r, html, err, sizeof(err)), 0);
	report_free(r);
	f = fopen(html, "r");
	page = calloc(1, 1 << 20);
	len = fread(page, 1, (1 << 20) - 1, f);
	fclose(f);
	page[len] = 0;
	assert_non_null(strstr(page, "not known from logs alone: capture drops"));
	assert_null(strstr(page, "id=run-1"));
	free(page);
	char csv[80];
	snprintf(csv, sizeof(csv), "%s/r-flows.csv", dir);
	unlink(csv);
	unlink(html);
	unlink(logp);
	unlink(bare);
	rmdir(dir);
}

static void refuses_a_planted_symlink(void **state)
{
	char dir[] = "/tmp/test_report.XXXXXX", target[64], link_path[64], err[256];

	assert_non_null(mkdtemp(dir));
	snprintf(target, sizeof(target), "%s/target", dir);
	snprintf(link_path, sizeof(link_path), "%s/out.html", dir);
	FILE *t = fopen(target, "w");
	fputs("precious", t);
	fclose(t);
	assert_int_equal(symlink(target, link_path), 0);
	assert_null(output_open(link_path, OUTPUT_REPLACE, err, sizeof(err)));
	assert_non_null(strstr(err, "symbolic link"));
	char buf[16] = "";
	t = fopen(target, "r");
	assert_non_null(fgets(buf, sizeof(buf), t));
	fclose(t);
	assert_string_equal(buf, "precious");
	unlink(link_path);
	FILE *o = output_open(link_path, OUTPUT_REPLACE, err, sizeof(err));
	assert_non_null(o);
	fclose(o);
	unlink(link_path);
	unlink(target);
	rmdir(dir);
}

/* Writes `text' (len bytes) to a temporary file, loads it as map data. */
static struct world_map *load_map_text(const char *text, size_t len, char *err, size_t errlen)
{
	char path[] = "/tmp/test_report_map.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	struct world_map *m = world_map_load(path, err, errlen);
	unlink(path);
	return m;
}

static void reads_the_world_map(void **state)
{
	static const char text[] = "egressfence-world-map 1\nviewbox 0 0 10100 6660\nattribution shapes: someone, CC BY 4.0\n"
				   "CN\tChina\tm7861 4060 1 1-3 2z\nUM\tUS Minor Outlying Islands\tm1 1 2 2zm5 5 1-1z\n";
	char err[256] = "";
	struct world_map *m = load_map_text(text, sizeof(text) - 1, err, sizeof(err));

	assert_non_null(m);
	assert_string_equal(m->viewbox, "0 0 10100 6660");
	assert_string_equal(m->attribution, "shapes: someone, CC BY 4.0");
	assert_int_equal(m->n, 2);
	assert_string_equal(m->shapes[0].cc, "CN");
	assert_string_equal(m->shapes[0].name, "China");
	assert_string_equal(m->shapes[0].path, "m7861 4060 1 1-3 2z");
	assert_string_equal(m->shapes[1].cc, "UM");
	world_map_free(m);
}

static void refuses_a_map_that_is_not_the_format(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"", "no viewbox line"},
		{"<svg>\n", ":1: expected `egressfence-world-map 1'"},
		{"egressfence-world-map 1\nviewbox 0 0 1 1'/><script>\nattribution a\nCN\tChina\tm1 1z\n", ":2: the view box"},
		{"egressfence-world-map 1\nviewbox 0 0 1 1\nattribution a\nCN\tChina\tm1 1'/><script>alert(1)</script>z\n",
		 ":4: a path of relative moves"},
		{"egressfence-world-map 1\nviewbox 0 0 1 1\nattribution a\ncn\tChina\tm1 1z\n", ":4: expected CC<tab>name<tab>path"},
		{"egressfence-world-map 1\nviewbox 0 0 1 1\nattribution a\nCHN\tChina\tm1 1z\n", ":4: expected CC"},
		{"egressfence-world-map 1\nviewbox 0 0 1 1\nattribution a\nCN\tChina\n", ":4: expected CC"},
		{"egressfence-world-map 1\nviewbox 0 0 1 1\nattribution a\nCN\tChina\t\n", ":4: a path"},
		{"egressfence-world-map 1\nviewbox 0 0 1 1\nattribution a\n", "no country"},
		{"egressfence-world-map 1\nattribution a\nCN\tChina\tm1 1z\n", "no viewbox line"},
	};
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_null(load_map_text(bad[i].text, strlen(bad[i].text), err, sizeof(err)));
		if (!strstr(err, bad[i].why))
			fail_msg("case %zu: error `%s', expected it to say `%s'", i, err, bad[i].why);
	}
	static const char nul[] = "egressfence-world-map 1\nviewbox 0 0 1 1\nattribution a\nCN\tChi\0na\tm1 1z\n";
	assert_null(load_map_text(nul, sizeof(nul) - 1, err, sizeof(err)));
	assert_non_null(strstr(err, "NUL byte"));
	assert_null(world_map_load("/nonexistent/world-map.txt", err, sizeof(err)));
	assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_every_member_shown),
		cmocka_unit_test(reads_rejudged_at),
		cmocka_unit_test(decodes_escapes_and_nulls),
		cmocka_unit_test(truncates_long_strings),
		cmocka_unit_test(refuses_every_truncation),
		cmocka_unit_test(refuses_malformed),
		cmocka_unit_test(reads_a_signed_logs_header),
		cmocka_unit_test(reads_a_checkpoint),
		cmocka_unit_test(an_event_is_still_an_event),
		cmocka_unit_test(refuses_malformed_signed_records),
		cmocka_unit_test(reads_the_logs_records_as_the_verifier_does),
		cmocka_unit_test(reads_a_counters_record),
		cmocka_unit_test(refuses_a_malformed_counters_record),
		cmocka_unit_test(report_shows_each_engine_runs_last_counters),
		cmocka_unit_test(refuses_a_planted_symlink),
		cmocka_unit_test(reads_the_world_map),
		cmocka_unit_test(refuses_a_map_that_is_not_the_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
