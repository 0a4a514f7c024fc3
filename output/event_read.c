/*
 * output/event_read.c -- reading a JSON event line back for the report.
 *
 * Not a general JSON library: one object per line, the members the report
 * shows are copied, everything else (arrays, nested objects, members added
 * later) is skipped by a strict recursive scanner with a depth limit, so a
 * malformed or hostile line is rejected, never read past its end.
 *
 * The gateway's counters record (output.h) is defined here too, written
 * (output_counters_line, for run) beside its reader.
 */
#include "internal.h"
#include "output.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 16

struct scan {
	const char *p, *end;
	int depth;
};

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n'))
		s->p++;
}

static bool eat(struct scan *s, char c)
{
	skip_ws(s);
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return true;
	}
	return false;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Appends one code point as UTF-8 if it fits. */
static void put_utf8(char *out, size_t cap, size_t *n, unsigned cp)
{
	char b[4];
	size_t k;

	if (cp < 0x80) {
		b[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		k = 2;
	} else {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		k = 3;
	}
	if (out && *n + k < cap) {
		memcpy(out + *n, b, k);
		*n += k;
	}
}

/* A string; copied (truncated) into out when out is not NULL. */
static bool scan_string(struct scan *s, char *out, size_t cap)
{
	size_t n = 0;

	if (!eat(s, '"'))
		return false;
	while (s->p < s->end) {
		unsigned char c = (unsigned char)*s->p++;
		if (c == '"') {
			if (out)
				out[n] = 0;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c != '\\') {
			if (out && n + 1 < cap)
				out[n++] = (char)c;
			continue;
		}
		if (s->p >= s->end)
			return false;
		char e = *s->p++;
		const char *simple = strchr("\"\\/bfnrt", e);
		if (e && simple) {
			static const char decoded[] = "\"\\/\b\f\n\r\t";
			if (out && n + 1 < cap)
				out[n++] = decoded[simple - "\"\\/bfnrt"];
			continue;
		}
		if (e != 'u' || s->end - s->p < 4)
			return false;
		unsigned cp = 0;
		for (int i = 0; i < 4; i++) {
			int h = hexval(s->p[i]);
			if (h < 0)
				return false;
			cp = cp << 4 | (unsigned)h;
		}
		s->p += 4;
		if (cp >= 0xd800 && cp <= 0xdfff)
			cp = 0xfffd; /* a lone or paired surrogate: shown as U+FFFD */
		put_utf8(out, cap, &n, cp);
	}
	return false;
}

/* A number; *out set when it is a non-negative integer that fits. */
static bool scan_number(struct scan *s, uint64_t *out)
{
	const char *start;
	bool integer = true;
	uint64_t v = 0;

	skip_ws(s);
	start = s->p;
	if (s->p < s->end && *s->p == '-') {
		integer = false;
		s->p++;
	}
	const char *digits = s->p;
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
		unsigned d = (unsigned)(*s->p - '0');
		if (v > (UINT64_MAX - d) / 10)
			integer = false;
		v = v * 10 + d;
		s->p++;
	}
	if (s->p == digits)
		return false;
	if (s->p < s->end && *s->p == '.') {
		integer = false;
		s->p++;
		if (s->p >= s->end || *s->p < '0' || *s->p > '9')
			return false;
		while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
			s->p++;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		integer = false;
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (s->p >= s->end || *s->p < '0' || *s->p > '9')
			return false;
		while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
			s->p++;
	}
	if (out && integer && s->p > start)
		*out = v;
	return true;
}

static bool scan_literal(struct scan *s, const char *word)
{
	size_t n = strlen(word);

	skip_ws(s);
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return false;
	s->p += n;
	return true;
}

static bool skip_value(struct scan *s);

static bool skip_container(struct scan *s, char open, char close)
{
	if (!eat(s, open) || ++s->depth > MAX_DEPTH)
		return false;
	if (eat(s, close)) {
		s->depth--;
		return true;
	}
	do {
		if (open == '{' && (!scan_string(s, NULL, 0) || !eat(s, ':')))
			return false;
		if (!skip_value(s))
			return false;
	} while (eat(s, ','));
	s->depth--;
	return eat(s, close);
}

static bool skip_value(struct scan *s)
{
	skip_ws(s);
	if (s->p >= s->end)
		return false;
	switch (*s->p) {
	case '"': return scan_string(s, NULL, 0);
	case '{': return skip_container(s, '{', '}');
	case '[': return skip_container(s, '[', ']');
	case 't': return scan_literal(s, "true");
	case 'f': return scan_literal(s, "false");
	case 'n': return scan_literal(s, "null");
	}
	return scan_number(s, NULL);
}

/* A string member, or null (""); anything else is skipped and leaves "". */
static bool read_string(struct scan *s, char *out, size_t cap)
{
	skip_ws(s);
	out[0] = 0;
	if (s->p < s->end && *s->p == '"')
		return scan_string(s, out, cap);
	return skip_value(s);
}

static bool read_uint(struct scan *s, uint64_t *out)
{
	skip_ws(s);
	*out = 0;
	if (s->p < s->end && (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')))
		return scan_number(s, out);
	return skip_value(s);
}

static bool read_bool(struct scan *s, bool *out)
{
	skip_ws(s);
	*out = scan_literal(s, "true");
	return *out || skip_value(s);
}

/* rejudged_at: {direction, offset, reason}; direction may be a word or a
 * number, and is shown as written. */
static bool read_rejudge(struct scan *s, struct report_event *e)
{
	char key[32];

	skip_ws(s);
	if (s->p >= s->end || *s->p != '{')
		return skip_value(s);
	s->p++;
	if (++s->depth > MAX_DEPTH)
		return false;
	if (eat(s, '}')) {
		s->depth--;
		return true;
	}
	do {
		if (!scan_string(s, key, sizeof(key)) || !eat(s, ':'))
			return false;
		bool ok;
		if (!strcmp(key, "direction")) {
			skip_ws(s);
			uint64_t d = 0;
			if (s->p < s->end && *s->p != '"' && *s->p != 'n') {
				ok = read_uint(s, &d);
				snprintf(e->rejudge_direction, sizeof(e->rejudge_direction), "%llu",
					 (unsigned long long)d);
			} else {
				ok = read_string(s, e->rejudge_direction, sizeof(e->rejudge_direction));
			}
		} else if (!strcmp(key, "offset")) {
			ok = read_uint(s, &e->rejudge_offset);
		} else if (!strcmp(key, "reason")) {
			ok = read_string(s, e->rejudge_reason, sizeof(e->rejudge_reason));
		} else {
			ok = skip_value(s);
		}
		if (!ok)
			return false;
	} while (eat(s, ','));
	s->depth--;
	return eat(s, '}');
}

#define STR(name) {#name, offsetof(struct report_event, name), sizeof(((struct report_event *)0)->name), 's'}
#define NUM(name) {#name, offsetof(struct report_event, name), 0, 'n'}
#define FLAG(name) {#name, offsetof(struct report_event, name), 0, 'b'}

static const struct member {
	const char *key;
	size_t off, size;
	char type;
} members[] = {
	STR(ts), STR(end_ts), STR(src_ip), NUM(src_port), STR(dst_ip), NUM(dst_port), STR(l4), STR(app),
	STR(server_name), STR(encryption), STR(tls_version), STR(cipher), STR(dst_country), NUM(bytes_out),
	NUM(bytes_in), NUM(packets), STR(verdict), STR(rule), FLAG(evicted), FLAG(reassembly_conflict),
	FLAG(rejudged), STR(action_taken), STR(mode), STR(decided_by), FLAG(final), NUM(bytes_out_after_block),
};

bool report_event_parse(const char *line, size_t len, struct report_event *e)
{
	struct scan s = {line, line + len, 0};
	char key[32];

	memset(e, 0, sizeof(*e));
	if (!eat(&s, '{'))
		return false;
	if (!eat(&s, '}')) {
		do {
			if (!scan_string(&s, key, sizeof(key)) || !eat(&s, ':'))
				return false;
			const struct member *m = NULL;
			for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
				if (!strcmp(key, members[i].key))
					m = &members[i];
			bool ok;
			char *field = m ? (char *)e + m->off : NULL;
			if (m && m->type == 's')
				ok = read_string(&s, field, m->size);
			else if (m && m->type == 'n')
				ok = read_uint(&s, (uint64_t *)(void *)field);
			else if (m)
				ok = read_bool(&s, (bool *)field);
			else if (!strcmp(key, "rejudged_at"))
				ok = read_rejudge(&s, e);
			else {
				if (!strcmp(key, "seq"))
					e->has_seq = true;
				else if (!strcmp(key, "chain"))
					e->has_chain = true;
				ok = skip_value(&s);
			}
			if (!ok)
				return false;
		} while (eat(&s, ','));
		if (!eat(&s, '}'))
			return false;
	}
	skip_ws(&s);
	return s.p == s.end && e->ts[0] && e->encryption[0] && e->verdict[0];
}

/* ---- a signed log's own records ------------------------------------------ */

/* {"path":..,"sha256":..}, as logchain.c's put_file_digest writes it. */
static bool read_digest(struct scan *s, char *path, size_t pcap, char *sha, size_t scap)
{
	char key[32];

	path[0] = sha[0] = 0;
	if (!eat(s, '{') || ++s->depth > MAX_DEPTH)
		return false;
	if (!eat(s, '}')) {
		do {
			if (!scan_string(s, key, sizeof(key)) || !eat(s, ':'))
				return false;
			bool ok = !strcmp(key, "path") ? read_string(s, path, pcap)
				  : !strcmp(key, "sha256") ? read_string(s, sha, scap) : skip_value(s);
			if (!ok)
				return false;
		} while (eat(s, ','));
		if (!eat(s, '}'))
			return false;
	}
	s->depth--;
	return true;
}

/* What record 1 says about the log beyond its identity (which
 * logchain_line_parse has read): producer, start, policy and databases.
 * Members it does not know are skipped. */
static bool read_header(struct scan *s, struct report_log_header *h)
{
	char key[32];

	if (!eat(s, '{') || ++s->depth > MAX_DEPTH)
		return false;
	if (!eat(s, '}')) {
		do {
			if (!scan_string(s, key, sizeof(key)) || !eat(s, ':'))
				return false;
			bool ok;
			if (!strcmp(key, "format"))
				ok = read_string(s, h->format, sizeof(h->format));
			else if (!strcmp(key, "producer"))
				ok = read_string(s, h->producer, sizeof(h->producer));
			else if (!strcmp(key, "started"))
				ok = read_string(s, h->started, sizeof(h->started));
			else if (!strcmp(key, "policy")) {
				skip_ws(s);
				h->has_policy = s->p < s->end && *s->p == '{';
				ok = h->has_policy ? read_digest(s, h->policy_path, sizeof(h->policy_path), h->policy_sha,
								 sizeof(h->policy_sha))
						   : skip_value(s);
			} else if (!strcmp(key, "databases")) {
				if (!eat(s, '[') || ++s->depth > MAX_DEPTH)
					return false;
				ok = true;
				if (!eat(s, ']')) {
					do {
						char path[256], sha[72];
						size_t i = h->n_dbs++;
						ok = i < REPORT_HEADER_DBS ? read_digest(s, h->dbs[i].path, sizeof(h->dbs[i].path),
											h->dbs[i].sha, sizeof(h->dbs[i].sha))
									   : read_digest(s, path, sizeof(path), sha, sizeof(sha));
					} while (ok && eat(s, ','));
					ok = ok && eat(s, ']');
				}
				s->depth--;
			} else
				ok = skip_value(s);
			if (!ok)
				return false;
		} while (eat(s, ','));
		if (!eat(s, '}'))
			return false;
	}
	s->depth--;
	return true;
}

/* Which lines are the log's own records is logchain_line_parse's call, the
 * verifier's own reading of them; the rest is read as an event. */
enum report_line report_line_parse(const char *line, size_t len, struct report_event *e, struct report_log_header *h,
				   struct report_checkpoint *c)
{
	struct logchain_line_info li;
	enum logchain_line kind = logchain_line_parse(line, len, &li);

	memset(h, 0, sizeof(*h));
	memset(c, 0, sizeof(*c));
	if (kind == LOGCHAIN_LINE_CHECKPOINT) {
		snprintf(c->log_id, sizeof(c->log_id), "%s", li.log_id);
		snprintf(c->key_id, sizeof(c->key_id), "%s", li.key_id);
		c->records = li.records;
		c->final = li.final;
		return REPORT_LINE_CHECKPOINT;
	}
	if (kind == LOGCHAIN_LINE_HEADER) {
		struct scan s = {line, line + len, 0};
		char key[8];
		snprintf(h->log_id, sizeof(h->log_id), "%s", li.log_id);
		snprintf(h->key_id, sizeof(h->key_id), "%s", li.key_id);
		if (li.has_previous)
			snprintf(h->previous_head, sizeof(h->previous_head), "%s", li.previous_head);
		/* The verifier chains a header whatever the rest of it says; a
		 * description that cannot be read is shown as not recorded. */
		if (!(eat(&s, '{') && scan_string(&s, key, sizeof(key)) && eat(&s, ':') && read_header(&s, h))) {
			struct report_log_header id = *h;
			memset(h, 0, sizeof(*h));
			memcpy(h->log_id, id.log_id, sizeof(h->log_id));
			memcpy(h->key_id, id.key_id, sizeof(h->key_id));
			memcpy(h->previous_head, id.previous_head, sizeof(h->previous_head));
		}
		return REPORT_LINE_LOG_HEADER;
	}
	/* A counters record is never read as an event, whole or not. */
	static const char counters[] = "{\"counters\":";
	if (len >= sizeof(counters) - 1 && !memcmp(line, counters, sizeof(counters) - 1)) {
		struct output_counters oc;
		return report_counters_parse(line, len, &oc) ? REPORT_LINE_COUNTERS : REPORT_LINE_OTHER;
	}
	return report_event_parse(line, len, e) ? REPORT_LINE_EVENT : REPORT_LINE_OTHER;
}

/* ---- the gateway's counters record (output.h) ------------------------------
 *
 * Written here as well as read, so that the one format has one definition:
 * run formats the record with output_counters_line, the report reads it
 * back with report_counters_parse, strictly -- every member the writer
 * always writes must be there once, every count a plain non-negative
 * integer -- since the figures are shown as the engine's own statement. */

static void put_json_text(char *buf, size_t cap, size_t *n, const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p && *n < cap; p++) {
		int k = *p == '"' || *p == '\\' ? snprintf(buf + *n, cap - *n, "\\%c", *p)
			: *p < 0x20	       ? snprintf(buf + *n, cap - *n, "\\u%04x", *p)
					       : snprintf(buf + *n, cap - *n, "%c", *p);
		*n += (size_t)k;
	}
}

#define PUT(...) (n += n < cap ? (size_t)snprintf(buf + n, cap - n, __VA_ARGS__) : 0)
#define PUT_TEXT(v) (PUT("\""), put_json_text(buf, cap, &n, (v)), PUT("\""))

size_t output_counters_line(const struct output_counters *c, char *buf, size_t cap)
{
	size_t n = 0;

	PUT("{\"counters\":{\"host\":");
	PUT_TEXT(c->host);
	PUT(",\"engine_started\":");
	PUT_TEXT(c->engine_started);
	PUT(",\"time\":");
	PUT_TEXT(c->time);
	PUT(",\"why\":");
	PUT_TEXT(c->why);
	PUT(",\"packets\":%llu,\"flows\":%llu,\"capture_drops\":%llu,\"sources\":[", (unsigned long long)c->packets,
	    (unsigned long long)c->flows, (unsigned long long)c->capture_drops);
	for (size_t i = 0; i < c->n_sources && i < OUTPUT_COUNTERS_SOURCES; i++) {
		PUT("%s{\"name\":", i ? "," : "");
		PUT_TEXT(c->sources[i].name);
		PUT(",\"drops\":%llu}", (unsigned long long)c->sources[i].drops);
	}
	PUT("],\"outputs\":[");
	for (size_t i = 0; i < c->n_outputs && i < OUTPUT_COUNTERS_OUTPUTS; i++) {
		PUT("%s{\"name\":", i ? "," : "");
		PUT_TEXT(c->outputs[i].name);
		PUT(",\"written\":%llu,\"dropped\":%llu,\"dropped_block\":%llu,\"write_errors\":%llu}",
		    (unsigned long long)c->outputs[i].written, (unsigned long long)c->outputs[i].dropped,
		    (unsigned long long)c->outputs[i].dropped_block, (unsigned long long)c->outputs[i].write_errors);
	}
	PUT("]");
	if (c->have_kernel)
		PUT(",\"held\":%llu,\"copied\":%llu,\"refused\":%llu", (unsigned long long)c->held,
		    (unsigned long long)c->copied, (unsigned long long)c->refused);
	PUT(",\"reloads\":%llu,\"reload_failures\":%llu}}\n", (unsigned long long)c->reloads,
	    (unsigned long long)c->reload_failures);
	return n < cap ? n : 0;
}

#undef PUT
#undef PUT_TEXT

/* Digits only, no sign, fraction or exponent, within 64 bits. */
static bool read_count(struct scan *s, uint64_t *out)
{
	uint64_t v = 0;
	const char *start;

	skip_ws(s);
	start = s->p;
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
		unsigned d = (unsigned)(*s->p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		s->p++;
	}
	if (s->p == start || (s->p < s->end && (*s->p == '.' || *s->p == 'e' || *s->p == 'E')))
		return false;
	*out = v;
	return true;
}

/* "YYYY-MM-DDTHH:MM:SS[.frac]Z", as format_rfc3339 writes it. */
static bool read_time(struct scan *s, char *out, size_t cap)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t len;

	if (!scan_string(s, out, cap))
		return false;
	len = strlen(out);
	if (len < sizeof(shape) || out[len - 1] != 'Z')
		return false;
	for (size_t i = 0; i + 1 < sizeof(shape); i++)
		if (shape[i] == 'd' ? out[i] < '0' || out[i] > '9' : out[i] != shape[i])
			return false;
	return true;
}

/* One object of the sources or outputs array: every key in `keys' once,
 * nothing else; name copied to name, the counts to v[] in keys' order. */
static bool read_named_counts(struct scan *s, const char *const *keys, size_t n_keys, char *name, size_t name_cap,
			      uint64_t *v)
{
	char key[32];
	unsigned seen = 0;

	if (!eat(s, '{') || ++s->depth > MAX_DEPTH)
		return false;
	do {
		size_t k = n_keys;
		if (!scan_string(s, key, sizeof(key)) || !eat(s, ':'))
			return false;
		for (size_t i = 0; i < n_keys; i++)
			if (!strcmp(key, keys[i]))
				k = i;
		if (k == n_keys || seen & 1u << k)
			return false;
		seen |= 1u << k;
		if (!(k == 0 ? scan_string(s, name, name_cap) : read_count(s, &v[k - 1])))
			return false;
	} while (eat(s, ','));
	s->depth--;
	return eat(s, '}') && seen == (1u << n_keys) - 1;
}

static bool read_sources(struct scan *s, struct output_counters *c)
{
	static const char *const keys[] = {"name", "drops"};

	if (!eat(s, '[') || ++s->depth > MAX_DEPTH)
		return false;
	if (!eat(s, ']')) {
		do {
			if (c->n_sources == OUTPUT_COUNTERS_SOURCES)
				return false;
			size_t i = c->n_sources++;
			if (!read_named_counts(s, keys, 2, c->sources[i].name, sizeof(c->sources[i].name),
					       &c->sources[i].drops))
				return false;
		} while (eat(s, ','));
		if (!eat(s, ']'))
			return false;
	}
	s->depth--;
	return true;
}

static bool read_outputs(struct scan *s, struct output_counters *c)
{
	static const char *const keys[] = {"name", "written", "dropped", "dropped_block", "write_errors"};

	if (!eat(s, '[') || ++s->depth > MAX_DEPTH)
		return false;
	if (!eat(s, ']')) {
		do {
			if (c->n_outputs == OUTPUT_COUNTERS_OUTPUTS)
				return false;
			size_t i = c->n_outputs++;
			uint64_t v[4];
			if (!read_named_counts(s, keys, 5, c->outputs[i].name, sizeof(c->outputs[i].name), v))
				return false;
			c->outputs[i].written = v[0];
			c->outputs[i].dropped = v[1];
			c->outputs[i].dropped_block = v[2];
			c->outputs[i].write_errors = v[3];
		} while (eat(s, ','));
		if (!eat(s, ']'))
			return false;
	}
	s->depth--;
	return true;
}

enum {
	C_HOST, C_STARTED, C_TIME, C_WHY, C_PACKETS, C_FLOWS, C_DROPS, C_SOURCES, C_OUTPUTS, C_HELD, C_COPIED,
	C_REFUSED, C_RELOADS, C_RELOAD_FAILURES, C_N
};
static const char *const counter_keys[C_N] = {
	"host", "engine_started", "time", "why", "packets", "flows", "capture_drops", "sources", "outputs", "held",
	"copied", "refused", "reloads", "reload_failures",
};
#define C_KERNEL (1u << C_HELD | 1u << C_COPIED | 1u << C_REFUSED)

static bool read_counters(struct scan *s, struct output_counters *c)
{
	char key[32];
	unsigned seen = 0;

	if (!eat(s, '{') || ++s->depth > MAX_DEPTH)
		return false;
	do {
		int k = C_N;
		bool ok;
		if (!scan_string(s, key, sizeof(key)) || !eat(s, ':'))
			return false;
		for (int i = 0; i < C_N; i++)
			if (!strcmp(key, counter_keys[i]))
				k = i;
		if (k == C_N) { /* a member added later */
			if (!skip_value(s))
				return false;
			continue;
		}
		if (seen & 1u << k)
			return false;
		seen |= 1u << k;
		switch (k) {
		case C_HOST: ok = scan_string(s, c->host, sizeof(c->host)); break;
		case C_STARTED: ok = read_time(s, c->engine_started, sizeof(c->engine_started)); break;
		case C_TIME: ok = read_time(s, c->time, sizeof(c->time)); break;
		case C_WHY:
			ok = scan_string(s, c->why, sizeof(c->why)) &&
			     (!strcmp(c->why, "interval") || !strcmp(c->why, "sighup") || !strcmp(c->why, "exit"));
			break;
		case C_PACKETS: ok = read_count(s, &c->packets); break;
		case C_FLOWS: ok = read_count(s, &c->flows); break;
		case C_DROPS: ok = read_count(s, &c->capture_drops); break;
		case C_SOURCES: ok = read_sources(s, c); break;
		case C_OUTPUTS: ok = read_outputs(s, c); break;
		case C_HELD: ok = read_count(s, &c->held); break;
		case C_COPIED: ok = read_count(s, &c->copied); break;
		case C_REFUSED: ok = read_count(s, &c->refused); break;
		case C_RELOADS: ok = read_count(s, &c->reloads); break;
		default: ok = read_count(s, &c->reload_failures); break;
		}
		if (!ok)
			return false;
	} while (eat(s, ','));
	s->depth--;
	if (!eat(s, '}'))
		return false;
	unsigned kernel = seen & C_KERNEL;
	if ((seen | C_KERNEL) != (1u << C_N) - 1 || (kernel && kernel != C_KERNEL))
		return false;
	c->have_kernel = kernel != 0;
	uint64_t sum = 0;
	for (size_t i = 0; i < c->n_sources; i++) {
		if (sum + c->sources[i].drops < sum)
			return false;
		sum += c->sources[i].drops;
	}
	return sum == c->capture_drops;
}

bool report_counters_parse(const char *line, size_t len, struct output_counters *out)
{
	struct scan s = {line, line + len, 0};
	struct logchain_line_info li;
	char key[16];

	memset(out, 0, sizeof(*out));
	/* A record the verifier chains; then its first member, and only the
	 * chain's own members after it. */
	if (logchain_line_parse(line, len, &li) != LOGCHAIN_LINE_RECORD)
		return false;
	if (!eat(&s, '{') || !scan_string(&s, key, sizeof(key)) || strcmp(key, "counters") != 0 || !eat(&s, ':') ||
	    !read_counters(&s, out))
		return false;
	while (eat(&s, ',')) {
		if (!scan_string(&s, key, sizeof(key)) || (strcmp(key, "seq") && strcmp(key, "chain")) || !eat(&s, ':') ||
		    !skip_value(&s))
			return false;
	}
	if (!eat(&s, '}'))
		return false;
	skip_ws(&s);
	return s.p == s.end;
}
