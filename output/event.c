/*
 * output/event.c -- the JSON event: one object per line, one line per flow,
 * in one of two shapes: native (the README's schema; adding a field is
 * compatible, renaming one is not) or ecs (the Elastic Common Schema, what
 * it has no field for under "egressfence").  Strings are escaped per RFC
 * 8259; numbers are integers.  A line is built in a caller's buffer, never
 * allocated.
 */
#include "output.h"
#include "../enforce/enforce.h"

#include <netinet/in.h>
#include <string.h>

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm): the
 * events of an audit are millions of lines, and strftime() with its
 * locale handling was a tenth of the whole run. */
static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

void format_rfc3339(uint64_t us, char *buf, size_t len)
{
	uint64_t secs = us / 1000000u;
	int y;
	unsigned mo, d, sod = (unsigned)(secs % 86400u);

	civil_from_days((int64_t)(secs / 86400u), &y, &mo, &d);
	if (y < 0 || y > 9999 || len < 28) {
		snprintf(buf, len, "%04d-%02u-%02uT%02u:%02u:%02u.%06uZ", y, mo, d, sod / 3600, sod / 60 % 60,
			 sod % 60, (unsigned)(us % 1000000u));
		return;
	}
	/* YYYY-MM-DDTHH:MM:SS.uuuuuuZ, two digits at a time (a digit at a
	 * time was 1.5% of an audit's instructions) */
	static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
				    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
				    "8081828384858687888990919293949596979899";
	unsigned u = (unsigned)(us % 1000000u), h = sod / 3600, mi = sod / 60 % 60, se = sod % 60;
	memcpy(buf, pairs + 2 * ((unsigned)y / 100), 2);
	memcpy(buf + 2, pairs + 2 * ((unsigned)y % 100), 2);
	buf[4] = '-';
	memcpy(buf + 5, pairs + 2 * mo, 2);
	buf[7] = '-';
	memcpy(buf + 8, pairs + 2 * d, 2);
	buf[10] = 'T';
	memcpy(buf + 11, pairs + 2 * h, 2);
	buf[13] = ':';
	memcpy(buf + 14, pairs + 2 * mi, 2);
	buf[16] = ':';
	memcpy(buf + 17, pairs + 2 * se, 2);
	buf[19] = '.';
	memcpy(buf + 20, pairs + 2 * (u / 10000), 2);
	memcpy(buf + 22, pairs + 2 * (u / 100 % 100), 2);
	memcpy(buf + 24, pairs + 2 * (u % 100), 2);
	buf[26] = 'Z';
	buf[27] = 0;
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

/* The line is built in memory and written with one fwrite, so a line is
 * never interleaved and printf's parsing is not paid per field. */
struct line {
	char *buf;
	size_t n, cap;
	bool overflow;               /* something did not fit: the line is not used */
};

static void put(struct line *l, const char *s, size_t n)
{
	if (l->n + n < l->cap) {
		memcpy(l->buf + l->n, s, n);
		l->n += n;
	} else {
		l->overflow = true;
	}
}

#define PUT_LITERAL(l, s) put(l, s, sizeof(s) - 1)

static void put_uint(struct line *l, uint64_t v)
{
	char tmp[24];
	int i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(l, tmp + i, sizeof(tmp) - (size_t)i);
}

/* `{"out":N,"in":M' of a per-direction pair; the caller closes the object
 * (or adds to it first). */
static void put_out_in(struct line *l, const uint32_t v[2])
{
	PUT_LITERAL(l, "{\"out\":");
	put_uint(l, v[0]);
	PUT_LITERAL(l, ",\"in\":");
	put_uint(l, v[1]);
}

#define BYTES8(b) (0x0101010101010101u * (b))

/* The length of s's first whole 8-byte words that need no escape: none of
 * their bytes under 0x20, over 0x7e, '"' or '\\' (bit tricks exact for
 * "any byte of the word", S. E. Anderson's Bit Twiddling Hacks).  Strings
 * were scanned a byte at a time, a twentieth of an audit's instructions. */
static size_t plain_words(const unsigned char *s, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x, q, b;
		memcpy(&x, s + i, 8);
		q = x ^ BYTES8('"');
		b = x ^ BYTES8('\\');
		if ((((x - BYTES8(0x20)) & ~x) | ((q - BYTES8(1)) & ~q) | ((b - BYTES8(1)) & ~b) | (x + BYTES8(1)) | x) &
		    BYTES8(0x80))
			break;
	}
	return i;
}

static void put_string(struct line *l, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	if (!s) {
		PUT_LITERAL(l, "null");
		return;
	}
	PUT_LITERAL(l, "\"");
	const unsigned char *p = (const unsigned char *)s, *run = p;
	p += plain_words(p, strlen(s));
	for (;; p++) {
		unsigned char ch = *p;
		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			continue;
		put(l, (const char *)run, (size_t)(p - run)); /* the plain run before it */
		if (!ch)
			break;
		if (ch == '"' || ch == '\\') {
			char e[2] = {'\\', (char)ch};
			put(l, e, 2);
		} else {
			char e[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
			put(l, e, 6);
		}
		run = p + 1;
	}
	PUT_LITERAL(l, "\"");
}

static void put_country(struct line *l, ef_country c)
{
	char cc[3];

	ef_country_str(c, cc);
	put_string(l, c ? cc : NULL);
}

/* ,"key": -- keys are literals, so their length is known at compile time */
#define put_key(l, key) PUT_LITERAL(l, ",\"" key "\":")

static void put_bool(struct line *l, bool b)
{
	if (b)
		PUT_LITERAL(l, "true");
	else
		PUT_LITERAL(l, "false");
}

/* The flow's Community ID; NULL for ICMP and ICMPv6, whose type and code a
 * flow record does not keep (their id depends on them). */
static const char *flow_community_id(const struct ef_flow_record *r, char out[COMMUNITY_ID_LEN])
{
	if (r->l4 == IPPROTO_ICMP || r->l4 == IPPROTO_ICMPV6)
		return NULL;
	return community_id_v1(&r->inside, r->inside_port, &r->remote, r->remote_port, r->l4, 0, out) ? out : NULL;
}

/* The members both shapes carry the same way (ecs: under "egressfence"):
 * every country and each database's answer, and how the flow ended. */
static void put_details(struct line *l, const struct ef_flow_record *r, const struct geodb *db,
			const char *action_taken)
{
	const struct ef_geo *g = &r->geo;

	if (r->n_via || r->via_overflow) {
		/* the tunnels' outer addresses, outermost first: their ends
		 * outside networks.internal were judged as destinations too */
		char addr[EF_ADDR_STRLEN];
		put_key(l, "tunnel_via");
		PUT_LITERAL(l, "[");
		for (uint8_t i = 0; i < r->n_via && i < EF_VIA_MAX; i++) {
			if (i)
				PUT_LITERAL(l, ",");
			ef_addr_format(&r->via[i], addr, sizeof(addr));
			put_string(l, addr);
		}
		PUT_LITERAL(l, "]");
		if (r->via_overflow) {
			put_key(l, "tunnel_via_overflow");
			put_bool(l, true);
		}
	}
	put_key(l, "dst_region");
	if (g->region) {
		char region[8];
		ef_region_str(g->region, region);
		put_string(l, region);
	} else {
		PUT_LITERAL(l, "null");
	}
	put_key(l, "dst_countries");
	PUT_LITERAL(l, "[");
	for (int i = 0; i < g->n; i++) {
		if (i)
			PUT_LITERAL(l, ",");
		put_country(l, g->set[i]);
	}
	PUT_LITERAL(l, "]");
	if (g->overridden) {
		put_key(l, "geo_source");
		put_string(l, "override");
	} else if (g->n_db > 1) {
		bool differ = false;
		for (int i = 1; i < g->n_db; i++)
			differ |= g->per_db[i] != g->per_db[0];
		if (differ) {
			/* each database's own answer, when they disagree */
			put_key(l, "geo_answers");
			PUT_LITERAL(l, "{");
			for (int i = 0; i < g->n_db; i++) {
				if (i)
					PUT_LITERAL(l, ",");
				put_string(l, db ? geodb_path(db, (size_t)i) : "?");
				PUT_LITERAL(l, ":");
				put_country(l, g->per_db[i]);
			}
			PUT_LITERAL(l, "}");
		}
	}
}

static void put_ending(struct line *l, const struct ef_flow_record *r, const char *action_taken)
{
	if (r->evicted) {
		put_key(l, "evicted");
		put_bool(l, true);
	}
	if (r->reassembly_conflict) {
		put_key(l, "reassembly_conflict");
		put_bool(l, true);
	}
	if (r->rejudged) {
		/* the flow broke its earlier class: where, in the direction's bytes */
		put_key(l, "rejudged");
		put_bool(l, true);
		put_key(l, "rejudged_at");
		PUT_LITERAL(l, "{\"direction\":");
		put_string(l, r->rejudge_dir ? "in" : "out");
		PUT_LITERAL(l, ",\"offset\":");
		put_uint(l, r->rejudge_offset);
		PUT_LITERAL(l, ",\"reason\":");
		put_string(l, r->rejudge_reason ? r->rejudge_reason : "");
		PUT_LITERAL(l, "}");
	}
	if (r->handshake_clear[0] || r->handshake_clear[1]) {
		put_key(l, "handshake_clear");
		put_out_in(l, r->handshake_clear);
		PUT_LITERAL(l, ",\"unproven_out\":");
		put_uint(l, r->handshake_unproven[0]);
		PUT_LITERAL(l, ",\"unproven_in\":");
		put_uint(l, r->handshake_unproven[1]);
		PUT_LITERAL(l, "}");
	}
	if (r->ip_options_unproven[0] || r->ip_options_unproven[1]) {
		put_key(l, "ip_options_unproven");
		put_out_in(l, r->ip_options_unproven);
		PUT_LITERAL(l, "}");
	}
	if (r->incomplete_datagrams) {
		put_key(l, "incomplete_datagrams");
		put_uint(l, r->incomplete_datagrams);
	}
	if (r->enc == EF_ENC_CLEARTEXT && r->cleartext_reason) {
		put_key(l, "cleartext_reason");
		put_string(l, r->cleartext_reason);
	}
	if (r->enc == EF_ENC_UNKNOWN && r->unknown_reason) {
		put_key(l, "unknown_reason");
		put_string(l, r->unknown_reason);
	}
	if (r->capture_file_name) {
		put_key(l, "capture_file");
		put_string(l, r->capture_file_name);
	}
	if (action_taken) {
		put_key(l, "action_taken");
		put_string(l, action_taken);
	}
}

static void native_line(struct line *l, const struct ef_flow_record *r, const struct policy_decision *d,
			const struct geodb *db, const char *action_taken)
{
	char ts[40], addr[EF_ADDR_STRLEN], l4buf[16], cid[COMMUNITY_ID_LEN];

	format_rfc3339(r->first_us, ts, sizeof(ts));
	PUT_LITERAL(l, "{\"ts\":");
	put_string(l, ts);
	format_rfc3339(r->last_us, ts, sizeof(ts));
	put_key(l, "end_ts");
	put_string(l, ts);
	ef_addr_format(&r->inside, addr, sizeof(addr));
	put_key(l, "src_ip");
	put_string(l, addr);
	put_key(l, "src_port");
	put_uint(l, r->inside_port);
	ef_addr_format(&r->remote, addr, sizeof(addr));
	put_key(l, "dst_ip");
	put_string(l, addr);
	put_key(l, "dst_port");
	put_uint(l, r->remote_port);
	put_key(l, "l4");
	put_string(l, l4_name(r->l4, l4buf, sizeof(l4buf)));
	put_key(l, "community_id");
	put_string(l, flow_community_id(r, cid));
	put_key(l, "app");
	put_string(l, r->app);
	put_key(l, "server_name");
	put_string(l, r->server_name[0] ? r->server_name : NULL);
	put_key(l, "app_guessed");
	put_bool(l, r->app_guessed);
	put_key(l, "encryption");
	put_string(l, ef_encryption_name(r->enc));
	put_key(l, "tls_version");
	put_string(l, tls_version_name(r->tls_version));
	put_key(l, "cipher");
	put_string(l, r->cipher[0] ? r->cipher : NULL);
	put_key(l, "cipher_bits");
	if (r->cipher_id)
		put_uint(l, r->cipher_bits);
	else
		PUT_LITERAL(l, "null");
	put_key(l, "dst_country");
	/* The country that decided; null when "no known country" did (an
	 * address a database left unplaced), whatever else it may be. */
	put_country(l, d->country);
	put_details(l, r, db, action_taken);
	put_key(l, "bytes_out");
	put_uint(l, r->bytes_out);
	put_key(l, "bytes_in");
	put_uint(l, r->bytes_in);
	put_key(l, "packets");
	put_uint(l, r->packets_out + r->packets_in);
	put_key(l, "packets_out");
	put_uint(l, r->packets_out);
	put_key(l, "packets_in");
	put_uint(l, r->packets_in);
	put_key(l, "verdict");
	put_string(l, ef_verdict_name(d->verdict));
	put_key(l, "rule");
	put_string(l, d->rule);
	if (d->exception) {
		/* the policy's `exceptions:' entry that allowed it */
		put_key(l, "exception");
		put_string(l, d->exception);
	}
	put_key(l, "initiator");
	put_string(l, r->initiator == EF_INIT_INSIDE ? "inside" : "remote");
	put_ending(l, r, action_taken);
}

/* ECS's tls.version and tls.version_protocol: "1.3" and "tls". */
static bool ecs_tls_version(uint16_t v, const char **version, const char **protocol)
{
	static const struct {
		uint16_t v;
		const char *version, *protocol;
	} map[] = {
		{0x0002, "2.0", "ssl"},  {0x0300, "3.0", "ssl"},  {0x0301, "1.0", "tls"},  {0x0302, "1.1", "tls"},
		{0x0303, "1.2", "tls"},  {0x0304, "1.3", "tls"},  {0xfeff, "1.0", "dtls"}, {0xfefd, "1.2", "dtls"},
		{0xfefc, "1.3", "dtls"},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].v == v) {
			*version = map[i].version;
			*protocol = map[i].protocol;
			return true;
		}
	return false;
}

/* One end of the flow as ECS's source or destination: the remote end
 * carries the country that decided. */
static void ecs_end(struct line *l, const struct ef_addr *a, uint16_t port, uint64_t bytes, uint64_t packets,
		    bool remote, const struct policy_decision *d, const struct ef_geo *geo)
{
	char addr[EF_ADDR_STRLEN];

	ef_addr_format(a, addr, sizeof(addr));
	PUT_LITERAL(l, "{\"ip\":");
	put_string(l, addr);
	if (port) {
		put_key(l, "port");
		put_uint(l, port);
	}
	put_key(l, "bytes");
	put_uint(l, bytes);
	put_key(l, "packets");
	put_uint(l, packets);
	if (remote && d->country) {
		PUT_LITERAL(l, ",\"geo\":{\"country_iso_code\":");
		put_country(l, d->country);
		if (geo->region) {
			char region[8];
			ef_region_str(geo->region, region);
			put_key(l, "region_iso_code");
			put_string(l, region);
		}
		PUT_LITERAL(l, "}");
	}
	PUT_LITERAL(l, "}");
}

static void ecs_line(struct line *l, const struct ef_flow_record *r, const struct policy_decision *d,
		     const struct geodb *db, const char *action_taken, const char *extra)
{
	char ts[40], l4buf[16], cid[COMMUNITY_ID_LEN], proto[64];
	bool outbound = r->initiator == EF_INIT_INSIDE;
	const char *version, *vprotocol;

	format_rfc3339(r->first_us, ts, sizeof(ts));
	PUT_LITERAL(l, "{\"@timestamp\":");
	put_string(l, ts);
	PUT_LITERAL(l, ",\"ecs\":{\"version\":\"" ECS_VERSION "\"}");
	PUT_LITERAL(l, ",\"event\":{\"kind\":\"event\",\"category\":[\"network\"],\"type\":[\"connection\",");
	put_string(l, d->verdict == EF_BLOCK ? "denied" : "allowed");
	PUT_LITERAL(l, "],\"action\":");
	put_string(l, ef_verdict_name(d->verdict));
	put_key(l, "start");
	put_string(l, ts);
	format_rfc3339(r->last_us, ts, sizeof(ts));
	put_key(l, "end");
	put_string(l, ts);
	PUT_LITERAL(l, "}");
	/* source is the end that opened the flow */
	put_key(l, "source");
	if (outbound)
		ecs_end(l, &r->inside, r->inside_port, r->bytes_out, r->packets_out, false, d, &r->geo);
	else
		ecs_end(l, &r->remote, r->remote_port, r->bytes_in, r->packets_in, true, d, &r->geo);
	put_key(l, "destination");
	if (outbound)
		ecs_end(l, &r->remote, r->remote_port, r->bytes_in, r->packets_in, true, d, &r->geo);
	else
		ecs_end(l, &r->inside, r->inside_port, r->bytes_out, r->packets_out, false, d, &r->geo);
	PUT_LITERAL(l, ",\"network\":{\"transport\":");
	put_string(l, l4_name(r->l4, l4buf, sizeof(l4buf)));
	/* ECS wants the application protocol in lowercase: "tls" of nDPI's "TLS.Google" */
	size_t k = 0;
	for (const char *p = r->app; *p && *p != '.' && k + 1 < sizeof(proto); p++)
		proto[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	proto[k] = 0;
	if (k && strcmp(proto, "unknown") != 0) {
		put_key(l, "protocol");
		put_string(l, proto);
	}
	put_key(l, "direction");
	put_string(l, outbound ? "outbound" : "inbound");
	if (flow_community_id(r, cid)) {
		put_key(l, "community_id");
		put_string(l, cid);
	}
	put_key(l, "bytes");
	put_uint(l, r->bytes_out + r->bytes_in);
	put_key(l, "packets");
	put_uint(l, r->packets_out + r->packets_in);
	PUT_LITERAL(l, "}");
	bool tls = ecs_tls_version(r->tls_version, &version, &vprotocol);
	if (tls || r->cipher[0]) {
		PUT_LITERAL(l, ",\"tls\":{");
		const char *sep = "";
		if (tls) {
			PUT_LITERAL(l, "\"version\":");
			put_string(l, version);
			put_key(l, "version_protocol");
			put_string(l, vprotocol);
			sep = ",";
		}
		if (r->cipher[0]) {
			put(l, sep, strlen(sep));
			PUT_LITERAL(l, "\"cipher\":");
			put_string(l, r->cipher);
			sep = ",";
		}
		if (tls && r->server_name[0]) {
			put(l, sep, strlen(sep));
			PUT_LITERAL(l, "\"client\":{\"server_name\":");
			put_string(l, r->server_name);
			PUT_LITERAL(l, "}");
		}
		PUT_LITERAL(l, "}");
	}
	if (d->rule) {
		PUT_LITERAL(l, ",\"rule\":{\"name\":");
		put_string(l, d->rule);
		PUT_LITERAL(l, "}");
	}
	PUT_LITERAL(l, ",\"egressfence\":{\"encryption\":");
	put_string(l, ef_encryption_name(r->enc));
	put_key(l, "cipher_bits");
	if (r->cipher_id)
		put_uint(l, r->cipher_bits);
	else
		PUT_LITERAL(l, "null");
	put_key(l, "app");
	put_string(l, r->app);
	put_key(l, "app_guessed");
	put_bool(l, r->app_guessed);
	if (r->server_name[0] && !tls) {
		put_key(l, "server_name");
		put_string(l, r->server_name);
	}
	put_key(l, "verdict");
	put_string(l, ef_verdict_name(d->verdict));
	if (d->exception) {
		put_key(l, "exception");
		put_string(l, d->exception);
	}
	put_key(l, "dst_country");
	put_country(l, d->country);
	put_details(l, r, db, action_taken);
	put_ending(l, r, action_taken);
	if (extra)
		put(l, extra, strlen(extra));
	PUT_LITERAL(l, "}");
}

bool event_format_parse(const char *s, enum event_format *out)
{
	if (!strcmp(s, "native"))
		*out = EVENT_FORMAT_NATIVE;
	else if (!strcmp(s, "ecs"))
		*out = EVENT_FORMAT_ECS;
	else
		return false;
	return true;
}

size_t event_format_line(enum event_format f, const struct ef_flow_record *r, const struct policy_decision *d,
			 const struct geodb *db, const char *action_taken, const char *extra, char *buf, size_t cap)
{
	struct line l = {.buf = buf, .cap = cap};

	if (f == EVENT_FORMAT_ECS) {
		ecs_line(&l, r, d, db, action_taken, extra);
	} else {
		native_line(&l, r, d, db, action_taken);
		if (extra)
			put(&l, extra, strlen(extra));
	}
	PUT_LITERAL(&l, "}\n");
	return l.overflow ? 0 : l.n;
}

void event_write_json(FILE *out, enum event_format f, const struct ef_flow_record *r,
		      const struct policy_decision *d, const struct geodb *db, const char *action_taken)
{
	char buf[EVENT_LINE_MAX];
	size_t n = event_format_line(f, r, d, db, action_taken, NULL, buf, sizeof(buf));

	fwrite(buf, 1, n, out);
}
