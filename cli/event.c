/*
 * cli/event.c -- the JSON event: one object per line, one line per flow.
 * The schema is the README's; adding a field is compatible, renaming one is
 * not.  Strings are escaped per RFC 8259; numbers are integers.
 */
#include "engine.h"

#include <netinet/in.h>
#include <string.h>
#include <time.h>

void format_rfc3339(uint64_t us, char *buf, size_t len)
{
	time_t secs = (time_t)(us / 1000000u);
	struct tm tm;

	gmtime_r(&secs, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06uZ", (unsigned)(us % 1000000u));
}

const char *l4_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "icmpv6";
	case IPPROTO_ESP: return "esp";
	case IPPROTO_AH: return "ah";
	case IPPROTO_GRE: return "gre";
	case IPPROTO_SCTP: return "sctp";
	case IPPROTO_UDPLITE: return "udplite";
	}
	snprintf(buf, len, "ip-%u", proto);
	return buf;
}

const char *tls_version_name(uint16_t v)
{
	switch (v) {
	case 0: return NULL;
	case 0x0002: return "SSLv2";
	case 0x0300: return "SSLv3";
	case 0x0301: return "TLSv1.0";
	case 0x0302: return "TLSv1.1";
	case 0x0303: return "TLSv1.2";
	case 0x0304: return "TLSv1.3";
	case 0xfeff: return "DTLSv1.0";
	case 0xfefd: return "DTLSv1.2";
	case 0xfefc: return "DTLSv1.3";
	}
	return "other";
}

static void json_string(FILE *out, const char *s)
{
	if (!s) {
		fputs("null", out);
		return;
	}
	putc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(out, "\\u%04x", *p);
		else
			putc(*p, out);
	}
	putc('"', out);
}

static void json_country(FILE *out, ef_country c)
{
	char cc[3];

	ef_country_str(c, cc);
	json_string(out, c ? cc : NULL);
}

void event_write_json(FILE *out, const struct ef_flow_record *r, const struct policy_decision *d,
		      const struct geodb *db, const char *action_taken)
{
	char ts[40], end[40], src[EF_ADDR_STRLEN], dst[EF_ADDR_STRLEN], l4buf[16];
	const struct ef_geo *g = &r->geo;

	format_rfc3339(r->first_us, ts, sizeof(ts));
	format_rfc3339(r->last_us, end, sizeof(end));
	ef_addr_format(&r->inside, src, sizeof(src));
	ef_addr_format(&r->remote, dst, sizeof(dst));
	fprintf(out, "{\"ts\":\"%s\",\"end_ts\":\"%s\",\"src_ip\":\"%s\",\"src_port\":%u,\"dst_ip\":\"%s\",\"dst_port\":%u,\"l4\":",
		ts, end, src, r->inside_port, dst, r->remote_port);
	json_string(out, l4_name(r->l4, l4buf, sizeof(l4buf)));
	fputs(",\"app\":", out);
	json_string(out, r->app);
	fprintf(out, ",\"app_guessed\":%s,\"encryption\":\"%s\",\"tls_version\":", r->app_guessed ? "true" : "false",
		ef_encryption_name(r->enc));
	json_string(out, tls_version_name(r->tls_version));
	fputs(",\"cipher\":", out);
	json_string(out, r->cipher[0] ? r->cipher : NULL);
	if (r->cipher_id)
		fprintf(out, ",\"cipher_bits\":%u", r->cipher_bits);
	else
		fputs(",\"cipher_bits\":null", out);
	fputs(",\"dst_country\":", out);
	json_country(out, d->country ? d->country : (g->n ? g->set[0] : EF_COUNTRY_NONE));
	fputs(",\"dst_countries\":[", out);
	for (int i = 0; i < g->n; i++) {
		if (i)
			putc(',', out);
		json_country(out, g->set[i]);
	}
	putc(']', out);
	if (g->overridden) {
		fputs(",\"geo_source\":\"override\"", out);
	} else if (g->n > 1 || (g->n == 1 && g->n_db > 1)) {
		bool differ = false;
		for (int i = 1; i < g->n_db; i++)
			differ |= g->per_db[i] != g->per_db[0];
		if (differ) {
			fputs(",\"geo_answers\":{", out);
			for (int i = 0; i < g->n_db; i++) {
				if (i)
					putc(',', out);
				json_string(out, db ? geodb_path(db, (size_t)i) : "?");
				putc(':', out);
				json_country(out, g->per_db[i]);
			}
			putc('}', out);
		}
	}
	fprintf(out, ",\"bytes_out\":%llu,\"bytes_in\":%llu,\"packets\":%llu,\"packets_out\":%llu,\"packets_in\":%llu",
		(unsigned long long)r->bytes_out, (unsigned long long)r->bytes_in,
		(unsigned long long)(r->packets_out + r->packets_in), (unsigned long long)r->packets_out,
		(unsigned long long)r->packets_in);
	fprintf(out, ",\"verdict\":\"%s\",\"rule\":", ef_verdict_name(d->verdict));
	json_string(out, d->rule);
	fprintf(out, ",\"initiator\":\"%s\"", r->initiator == EF_INIT_INSIDE ? "inside" : "remote");
	if (r->evicted)
		fputs(",\"evicted\":true", out);
	if (r->reassembly_conflict)
		fputs(",\"reassembly_conflict\":true", out);
	if (action_taken) {
		fputs(",\"action_taken\":", out);
		json_string(out, action_taken);
	}
	fputs("}\n", out);
}
