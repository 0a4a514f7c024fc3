/*
 * tests/test_report.c -- output/: reading events back (every member the
 * report shows, the fields landing with rejudging, and malformed lines
 * refused without reading past their end) and output_create's refusal of
 * a planted symlink.
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
	assert_null(output_create(link_path, err, sizeof(err)));
	assert_non_null(strstr(err, "symlink"));
	char buf[16] = "";
	t = fopen(target, "r");
	assert_non_null(fgets(buf, sizeof(buf), t));
	fclose(t);
	assert_string_equal(buf, "precious");
	unlink(link_path);
	FILE *o = output_create(link_path, err, sizeof(err));
	assert_non_null(o);
	fclose(o);
	unlink(link_path);
	unlink(target);
	rmdir(dir);
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
		cmocka_unit_test(refuses_a_planted_symlink),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
