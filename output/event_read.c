/*
 * output/event_read.c -- reading a JSON event line back for the report.
 *
 * Not a general JSON library: one object per line, the members the report
 * shows are copied, everything else (arrays, nested objects, members added
 * later) is skipped by a strict recursive scanner with a depth limit, so a
 * malformed or hostile line is rejected, never read past its end.
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
	FLAG(rejudged), STR(action_taken), STR(mode), STR(decided_by),
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
	return report_event_parse(line, len, e) ? REPORT_LINE_EVENT : REPORT_LINE_OTHER;
}
