/*
 * tests/test_output.c -- output/: the Community ID against the spec's
 * published baseline, the ECS shape of an event, the output section's
 * errors, and a network output's queue when its destination goes away and
 * comes back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "output/output.h"
#include "output/internal.h"
#include "enforce/enforce.h"

/*
 * The Community ID v1 baseline published with the specification:
 * corelight/community-id-spec, baseline/baseline_deflt.json (commit
 * c4ec2bc40d65ddbcbdd642582bf5609797a80772), seed 0, base64.  Every entry
 * is here, both directions of each flow; ports are ICMP's type and code
 * for protocols 1 and 58, and absent (0 here) for protocol 46 (RSVP).
 */
static const struct {
	uint8_t proto;
	const char *saddr, *daddr;
	uint16_t sport, dport;
	const char *id;
} baseline[] = {
	{58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 136, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="},
	{58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 135, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="},
	{58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 136, "1:zavyT/cezQr1fmImYCwYnMXbgck="},
	{58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 136, 135, "1:zavyT/cezQr1fmImYCwYnMXbgck="},
	{58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ="},
	{58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, "1:hLZd0XGWojozrvxqE0dWB1iM6R0="},
	{58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 129, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg="},
	{58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 128, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg="},
	{58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 134, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0="},
	{58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 133, "1:pkvHqCL88/tg1k4cPigmZXUtL00="},
	{1, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="},
	{1, "192.168.0.1", "192.168.0.89", 0, 8, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="},
	{1, "10.0.0.1", "10.0.0.2", 11, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM="},
	{6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
	{6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
	{132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="},
	{132, "192.168.170.56", "192.168.170.8", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="},
	{6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
	{6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
	{17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
	{17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
	{46, "10.1.12.1", "10.1.12.2", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="},
	{46, "10.1.12.2", "10.1.12.1", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="},
};

static void community_id_matches_the_specs_baseline(void **state)
{
	for (size_t i = 0; i < sizeof(baseline) / sizeof(baseline[0]); i++) {
		struct ef_addr s, d;
		char id[COMMUNITY_ID_LEN];
		assert_true(ef_addr_parse(baseline[i].saddr, &s));
		assert_true(ef_addr_parse(baseline[i].daddr, &d));
		assert_true(community_id_v1(&s, baseline[i].sport, &d, baseline[i].dport, baseline[i].proto, 0, id));
		if (strcmp(id, baseline[i].id))
			fail_msg("baseline entry %zu (%u %s %s): %s, expected %s", i, baseline[i].proto, baseline[i].saddr,
				 baseline[i].daddr, id, baseline[i].id);
	}
	/* The seed is hashed too: Zeek's btest of community_id_v1() gives
	 * 1.2.3.4:1122 -> 5.6.7.8:3344/tcp these two ids for seeds 0 and 1. */
	struct ef_addr s, d;
	char id[COMMUNITY_ID_LEN];
	ef_addr_parse("1.2.3.4", &s);
	ef_addr_parse("5.6.7.8", &d);
	assert_true(community_id_v1(&s, 1122, &d, 3344, IPPROTO_TCP, 0, id));
	assert_string_equal(id, "1:wCb3OG7yAFWelaUydu0D+125CLM=");
	assert_true(community_id_v1(&s, 1122, &d, 3344, IPPROTO_TCP, 1, id));
	assert_string_equal(id, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=");
}

/* A TLS 1.3 flow from 10.0.0.5 to a Chinese address, blocked by a rule. */
static void sample_flow(struct ef_flow_record *r, struct policy_decision *d)
{
	memset(r, 0, sizeof(*r));
	memset(d, 0, sizeof(*d));
	r->first_us = 1714564800123456ull;
	r->last_us = 1714564801000000ull;
	ef_addr_parse("10.0.0.5", &r->inside);
	ef_addr_parse("203.0.113.9", &r->remote);
	r->inside_port = 51000;
	r->remote_port = 443;
	r->l4 = IPPROTO_TCP;
	r->initiator = EF_INIT_INSIDE;
	r->enc = EF_ENC_ENCRYPTED;
	strcpy(r->app, "TLS.Google");
	strcpy(r->server_name, "x.example");
	r->tls_version = 0x0304;
	r->cipher_id = 0x1301;
	strcpy(r->cipher, "TLS_AES_128_GCM_SHA256");
	r->cipher_bits = 128;
	r->bytes_out = 1000;
	r->bytes_in = 5000;
	r->packets_out = 10;
	r->packets_in = 12;
	r->geo.n = 1;
	r->geo.set[0] = ('C' << 8) | 'N';
	d->verdict = EF_BLOCK;
	d->country = ('C' << 8) | 'N';
	d->rule = "no-cn";
}

#define HAS(line, text)                                                                   \
	do {                                                                              \
		if (!strstr(line, text))                                                  \
			fail_msg("missing %s in %s", text, line);                         \
	} while (0)

static void ecs_event_carries_the_ecs_fields(void **state)
{
	struct ef_flow_record r;
	struct policy_decision d;
	char line[EVENT_LINE_MAX], cid[COMMUNITY_ID_LEN], want[256];

	sample_flow(&r, &d);
	size_t n = event_format_line(EVENT_FORMAT_ECS, &r, &d, NULL, NULL, ",\"mode\":\"gate\"", line, sizeof(line));
	assert_true(n > 0 && line[n - 1] == '\n' && !memchr(line, '\n', n - 1));
	line[n - 1] = 0;
	assert_true(community_id_v1(&r.inside, 51000, &r.remote, 443, IPPROTO_TCP, 0, cid));
	HAS(line, "{\"@timestamp\":\"2024-05-01T12:00:00.123456Z\",\"ecs\":{\"version\":\"" ECS_VERSION "\"}");
	HAS(line, "\"event\":{\"kind\":\"event\",\"category\":[\"network\"],\"type\":[\"connection\",\"denied\"],"
		  "\"action\":\"block\",\"start\":\"2024-05-01T12:00:00.123456Z\",\"end\":\"2024-05-01T12:00:01.000000Z\"}");
	HAS(line, "\"source\":{\"ip\":\"10.0.0.5\",\"port\":51000,\"bytes\":1000,\"packets\":10}");
	HAS(line, "\"destination\":{\"ip\":\"203.0.113.9\",\"port\":443,\"bytes\":5000,\"packets\":12,"
		  "\"geo\":{\"country_iso_code\":\"CN\"}}");
	snprintf(want, sizeof(want), "\"network\":{\"transport\":\"tcp\",\"protocol\":\"tls\",\"direction\":\"outbound\","
				     "\"community_id\":\"%s\",\"bytes\":6000,\"packets\":22}", cid);
	HAS(line, want);
	HAS(line, "\"tls\":{\"version\":\"1.3\",\"version_protocol\":\"tls\",\"cipher\":\"TLS_AES_128_GCM_SHA256\","
		  "\"client\":{\"server_name\":\"x.example\"}}");
	HAS(line, "\"rule\":{\"name\":\"no-cn\"}");
	/* what ECS has no field for, and the daemon's own members, under egressfence */
	HAS(line, "\"egressfence\":{\"encryption\":\"encrypted\",\"cipher_bits\":128,");
	HAS(line, "\"dst_countries\":[\"CN\"]");
	assert_true(strstr(line, ",\"mode\":\"gate\"}}") == line + strlen(line) - strlen(",\"mode\":\"gate\"}}"));

	/* an allowed flow opened by the remote end: source is the remote end */
	r.initiator = EF_INIT_REMOTE;
	d.verdict = EF_ALLOW;
	n = event_format_line(EVENT_FORMAT_ECS, &r, &d, NULL, NULL, NULL, line, sizeof(line));
	assert_true(n > 0);
	HAS(line, "\"type\":[\"connection\",\"allowed\"]");
	HAS(line, "\"source\":{\"ip\":\"203.0.113.9\",\"port\":443,\"bytes\":5000,\"packets\":12,\"geo\"");
	HAS(line, "\"direction\":\"inbound\"");
}

static void native_event_carries_the_community_id(void **state)
{
	struct ef_flow_record r;
	struct policy_decision d;
	char line[EVENT_LINE_MAX], cid[COMMUNITY_ID_LEN], want[96];

	sample_flow(&r, &d);
	assert_true(event_format_line(EVENT_FORMAT_NATIVE, &r, &d, NULL, NULL, NULL, line, sizeof(line)) > 0);
	assert_true(community_id_v1(&r.remote, 443, &r.inside, 51000, IPPROTO_TCP, 0, cid));
	snprintf(want, sizeof(want), "\"l4\":\"tcp\",\"community_id\":\"%s\",", cid);
	HAS(line, want);
	/* ICMP: the record keeps no type and code, so no id rather than a wrong one */
	r.l4 = IPPROTO_ICMP;
	r.inside_port = r.remote_port = 0;
	assert_true(event_format_line(EVENT_FORMAT_NATIVE, &r, &d, NULL, NULL, NULL, line, sizeof(line)) > 0);
	HAS(line, "\"community_id\":null");
}

/* Every field of a timestamp is written as gmtime() and printf() would,
 * over years 1970-9999 and each second and microsecond position. */
static void timestamps_match_gmtime(void **state)
{
	char got[40], want[80];
	uint64_t x = 88172645463325252ull;

	for (int i = 0; i < 200000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t us = x % 253402300800000000ull; /* to 9999-12-31T23:59:59.999999Z */
		if (i < 1000)
			us = (uint64_t)i * 86399999999ull; /* day ends and starts */
		time_t t = (time_t)(us / 1000000u);
		struct tm tm;
		assert_non_null(gmtime_r(&t, &tm));
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(us % 1000000u));
		format_rfc3339(us, got, sizeof(got));
		if (strcmp(got, want))
			fail_msg("%llu: %s, expected %s", (unsigned long long)us, got, want);
	}
}

/* Strings are escaped byte by byte as RFC 8259 says, wherever the byte
 * sits: put_string() passes whole 8-byte words without escapes at once, so
 * each byte value is tried at every position of a word and after it. */
static void every_byte_is_escaped_wherever_it_sits(void **state)
{
	struct ef_flow_record r;
	struct policy_decision d;
	char line[EVENT_LINE_MAX], want[64], *at;

	sample_flow(&r, &d);
	for (unsigned ch = 1; ch < 256; ch++) {
		for (unsigned pos = 0; pos < 20; pos++) {
			memset(r.app, 'a', 24);
			r.app[24] = 0;
			r.app[pos] = (char)ch;
			assert_true(event_format_line(EVENT_FORMAT_NATIVE, &r, &d, NULL, NULL, NULL, line, sizeof(line)) > 0);
			if (ch == '"' || ch == '\\')
				snprintf(want, sizeof(want), "\\%c", ch);
			else if (ch < 0x20 || ch >= 0x7f)
				snprintf(want, sizeof(want), "\\u%04x", ch);
			else
				snprintf(want, sizeof(want), "%c", ch);
			at = strstr(line, "\"app\":\"");
			assert_non_null(at);
			at += 7;
			if (memcmp(at, "aaaaaaaaaaaaaaaaaaaaaaaa", pos) || strncmp(at + pos, want, strlen(want)) ||
			    strncmp(at + pos + strlen(want), "aaaaaaaaaaaaaaaaaaaaaaaa", 23 - pos) ||
			    at[pos + strlen(want) + 23 - pos] != '"')
				fail_msg("byte 0x%02x at %u: %.60s", ch, pos, at);
		}
	}
}

/* ---- the output section --------------------------------------------------- */

static int load_text(const char *text, struct output_config *c, char *err, size_t errlen, char *path)
{
	strcpy(path, "/tmp/ef-test-output-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	int rc = output_config_load(path, c, err, errlen);
	unlink(path);
	return rc;
}

static void output_section_is_read_and_errors_name_the_place(void **state)
{
	struct output_config c;
	char err[512], path[64], want[600];

	assert_int_equal(load_text("default: allow\n"
				   "output:\n"
				   "  format: ecs\n"
				   "  outputs:\n"
				   "    - { type: syslog, address: \"127.0.0.1:6514\", facility: local3, name: siem }\n"
				   "    - type: redis\n"
				   "      address: \"[::1]:6380\"\n"
				   "      maxlen: 10k\n"
				   "      format: native\n",
				   &c, err, sizeof(err), path),
			 0);
	assert_true(c.format_given && c.format == EVENT_FORMAT_ECS);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.spec[0].type, OUTPUT_SYSLOG);
	assert_string_equal(c.spec[0].host, "127.0.0.1");
	assert_int_equal(c.spec[0].port, 6514);
	assert_int_equal(c.spec[0].facility, 19);
	assert_string_equal(c.spec[0].name, "siem");
	assert_int_equal(c.spec[1].type, OUTPUT_REDIS);
	assert_string_equal(c.spec[1].host, "::1");
	assert_int_equal(c.spec[1].port, 6380);
	assert_int_equal(c.spec[1].maxlen, 10240);
	assert_string_equal(c.spec[1].key, "egressfence");
	assert_true(c.spec[1].format_given && c.spec[1].format == EVENT_FORMAT_NATIVE);

	static const struct {
		const char *text;
		const char *where, *says;
	} bad[] = {
		{"output:\n  format: xml\n", "2:11", "unknown format `xml' (expected native or ecs)"},
		{"output:\n  outputs:\n    - type: kafka\n", "3:13", "unknown output type `kafka' (expected syslog or redis)"},
		{"output:\n  outputs:\n    - { type: redis, address: localhost }\n", "3:31", "bad address `localhost'"},
		{"output:\n  outputs:\n    - { type: redis, socket: /dev/log }\n", "3:22", "unknown key `socket' in a redis output"},
		{"output:\n  outputs:\n    - { type: syslog, facility: local9 }\n", "3:33", "unknown facility `local9'"},
		{"output:\n  outputs:\n    - { type: syslog, socket: relative }\n", "3:31", "bad socket `relative'"},
		{"output:\n  outputs:\n    - { name: x }\n", "3:7", "an output has no `type'"},
		{"output:\n  outputs: syslog\n", "2:12", "`outputs' must be a list"},
		{"output:\n  outptus: []\n", "2:3", "unknown key `outptus' in output (expected one of: format, outputs)"},
		{"output:\n  outputs:\n    - { type: redis, queue_bytes: 10 }\n", "3:35", "bad queue_bytes `10'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(load_text(bad[i].text, &c, err, sizeof(err), path), -1);
		snprintf(want, sizeof(want), "%s:%s: %s", path, bad[i].where, bad[i].says);
		if (strncmp(err, want, strlen(want)))
			fail_msg("case %zu: got `%s', expected it to start with `%s'", i, err, want);
	}
}

static void option_values_are_checked(void **state)
{
	struct output_spec s;
	char err[256];

	assert_true(output_spec_from_option(OUTPUT_SYSLOG, "/run/x.sock", &s, err, sizeof(err)));
	assert_string_equal(s.path, "/run/x.sock");
	assert_true(output_spec_from_option(OUTPUT_SYSLOG, "tcp:127.0.0.1:514", &s, err, sizeof(err)));
	assert_string_equal(s.host, "127.0.0.1");
	assert_int_equal(s.port, 514);
	assert_true(output_spec_from_option(OUTPUT_REDIS, "10.0.0.1:6379/fleet", &s, err, sizeof(err)));
	assert_string_equal(s.key, "fleet");
	assert_false(output_spec_from_option(OUTPUT_REDIS, "10.0.0.1", &s, err, sizeof(err)));
	assert_false(output_spec_from_option(OUTPUT_REDIS, "10.0.0.1:99999", &s, err, sizeof(err)));
	assert_false(output_spec_from_option(OUTPUT_SYSLOG, "udp:1.2.3.4:514", &s, err, sizeof(err)));
	assert_non_null(strstr(err, "`udp:1.2.3.4:514'"));
}

/* ---- a network output's queue --------------------------------------------- */

/* A destination that takes nothing while down, then everything. */
struct fake {
	_Atomic bool down;
	pthread_mutex_t lock;
	char got[1 << 20];
	size_t len;
};

static size_t fake_write(void *ctx, const char *buf, size_t n)
{
	struct fake *f = ctx;

	if (f->down)
		return 0;
	pthread_mutex_lock(&f->lock);
	memcpy(f->got + f->len, buf, n);
	f->len += n;
	pthread_mutex_unlock(&f->lock);
	return n;
}

static bool fake_connected(void *ctx)
{
	struct fake *f = ctx;

	return !f->down;
}

static void a_destination_that_goes_away_keeps_the_queue_and_counts_drops(void **state)
{
	static struct fake f = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct event_sink sink = {.write = fake_write, .connected = fake_connected, .ctx = &f};
	char line[128];
	struct event_queue_stats st;

	f.down = true;
	struct event_queue *q = event_queue_new_sink(&sink, 4096);
	assert_non_null(q);
	size_t queued = 0, dropped = 0, bytes = 0;
	for (int i = 0; i < 200; i++) {
		int n = snprintf(line, sizeof(line), "{\"n\":%03d,\"pad\":\"%040d\"}\n", i, 0);
		if (event_queue_put(q, line, (size_t)n, false)) {
			queued++;
			bytes += (size_t)n;
		} else {
			dropped++;
		}
	}
	/* the queue holds what fits in its 4096 bytes, the rest is counted */
	assert_int_equal(queued, 4096 / strlen(line));
	assert_int_equal(dropped, 200 - queued);
	assert_false(event_queue_drain(q, 300)); /* nothing goes while it is down */
	event_queue_stats(q, &st);
	assert_int_equal(st.written, 0);
	assert_int_equal(st.dropped, dropped);
	assert_int_equal(st.queued_bytes, bytes);

	f.down = false; /* it comes back: what was queued arrives, in order */
	assert_true(event_queue_drain(q, 5000));
	event_queue_stats(q, &st);
	assert_int_equal(st.written, queued);
	assert_int_equal(f.len, bytes);
	for (size_t i = 0; i < queued; i++) {
		snprintf(line, sizeof(line), "{\"n\":%03zu,", i);
		assert_memory_equal(f.got + i * (bytes / queued), line, strlen(line));
	}

	/* closing while it is down again gives up on the rest, and says how much */
	f.down = true;
	assert_true(event_queue_put(q, "{\"late\":1}\n", 11, false));
	uint64_t lost = 0;
	event_queue_close(q, 200, &lost);
	assert_int_equal(lost, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(community_id_matches_the_specs_baseline),
		cmocka_unit_test(ecs_event_carries_the_ecs_fields),
		cmocka_unit_test(native_event_carries_the_community_id),
		cmocka_unit_test(timestamps_match_gmtime),
		cmocka_unit_test(every_byte_is_escaped_wherever_it_sits),
		cmocka_unit_test(output_section_is_read_and_errors_name_the_place),
		cmocka_unit_test(option_values_are_checked),
		cmocka_unit_test(a_destination_that_goes_away_keeps_the_queue_and_counts_drops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
