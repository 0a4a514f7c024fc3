/*
 * output/output_config.c -- where events go, as configured: the `output:'
 * section of the policy file, and the --syslog/--redis options.
 *
 * The policy loader (enforce/) accepts the `output' key and leaves its
 * value to this file, which reads the same file again with libyaml: the
 * policy has no business knowing about sockets, and enforce/ must not
 * depend on output/.
 *
 * Invariants: every value is checked here, before anything is started;
 * an error names FILE:LINE:COL of the value at fault, what was written
 * and what would be right, like the policy loader's.  Addresses and ports
 * are read by one function for the file and the options alike.
 */
#include "output.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct reader {
	const char *path;
	yaml_document_t doc;
	char *err;
	size_t errlen;
};

static bool fail(struct reader *rd, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(struct reader *rd, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	int k = snprintf(rd->err, rd->errlen, "%s:%zu:%zu: ", rd->path, n->start_mark.line + 1,
			 n->start_mark.column + 1);

	va_start(ap, fmt);
	if (k >= 0 && (size_t)k < rd->errlen)
		vsnprintf(rd->err + k, rd->errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return false;
}

static const char *scalar(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool want_scalar(struct reader *rd, const yaml_node_t *n, const char *key, const char *expected)
{
	if (n->type != YAML_SCALAR_NODE || !n->data.scalar.length)
		return fail(rd, n, "`%s' must be a single value (expected %s)", key, expected);
	return true;
}

/* "HOST:PORT", "[V6]:PORT"; a whole port from 1 to 65535. */
static bool parse_address(const char *s, char *host, size_t hostlen, unsigned *port)
{
	const char *colon, *h = s;
	size_t hl;

	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return false;
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return false;
		hl = (size_t)(colon - s);
	}
	if (!hl || hl >= hostlen)
		return false;
	char *end;
	errno = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || errno || p < 1 || p > 65535)
		return false;
	memcpy(host, h, hl);
	host[hl] = 0;
	*port = (unsigned)p;
	return true;
}

/* A whole number up to max, with an optional k, M or G (powers of 1024). */
static bool parse_size(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);

	if (*s < '0' || *s > '9' || errno)
		return false;
	unsigned shift = *end == 'k' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
	if (shift)
		end++;
	if (*end || v > (max >> shift))
		return false;
	*out = v << shift;
	return true;
}

static bool parse_facility(const char *s, unsigned *out)
{
	static const char *const names[] = {"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
					    "uucp", "cron", "authpriv", "ftp"};
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i])) {
			*out = i;
			return true;
		}
	if (!strncmp(s, "local", 5) && s[5] >= '0' && s[5] <= '7' && !s[6]) {
		*out = 16u + (unsigned)(s[5] - '0');
		return true;
	}
	return false;
}

static bool copy_to(char *dst, size_t cap, const char *s)
{
	return (size_t)snprintf(dst, cap, "%s", s) < cap;
}

static void spec_defaults(struct output_spec *s, enum output_type t)
{
	memset(s, 0, sizeof(*s));
	s->type = t;
	s->facility = 3; /* daemon */
	if (t == OUTPUT_SYSLOG)
		strcpy(s->path, "/dev/log");
	if (t == OUTPUT_REDIS) {
		strcpy(s->key, "egressfence");
		strcpy(s->host, "127.0.0.1");
		s->port = 6379;
	}
}

#define OUTPUT_KEYS "type, name, format, socket, address, facility, key, maxlen, queue_bytes"

static bool load_spec(struct reader *rd, const yaml_node_t *m, struct output_spec *s)
{
	const yaml_node_t *type = NULL;

	if (m->type != YAML_MAPPING_NODE)
		return fail(rd, m, "an output must be a mapping such as { type: syslog, socket: /dev/log }");
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = yaml_document_get_node(&rd->doc, p->key);
		if (k && scalar(k) && !strcmp(scalar(k), "type"))
			type = yaml_document_get_node(&rd->doc, p->value);
	}
	if (!type)
		return fail(rd, m, "an output has no `type' (expected type: syslog or type: redis)");
	if (!want_scalar(rd, type, "type", "syslog or redis"))
		return false;
	if (!strcmp(scalar(type), "syslog"))
		spec_defaults(s, OUTPUT_SYSLOG);
	else if (!strcmp(scalar(type), "redis"))
		spec_defaults(s, OUTPUT_REDIS);
	else if (!strcmp(scalar(type), "file"))
		return fail(rd, type, "the event file is not configured here: give --json FILE (expected type: syslog or redis)");
	else
		return fail(rd, type, "unknown output type `%s' (expected syslog or redis)", scalar(type));

	bool seen_socket = false, seen_address = false;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = yaml_document_get_node(&rd->doc, p->key), *v = yaml_document_get_node(&rd->doc, p->value);
		const char *key = k ? scalar(k) : NULL;
		if (!key)
			return fail(rd, k ? k : m, "an output's keys are words (expected one of: " OUTPUT_KEYS ")");
		for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++) {
			const yaml_node_t *k2 = yaml_document_get_node(&rd->doc, q->key);
			if (k2 && scalar(k2) && !strcmp(scalar(k2), key))
				return fail(rd, k, "`%s' given twice in one output (first at line %zu)", key,
					    k2->start_mark.line + 1);
		}
		if (!strcmp(key, "type"))
			continue;
		bool redis = s->type == OUTPUT_REDIS;
		if (!strcmp(key, "name")) {
			if (!want_scalar(rd, v, key, "a label of letters, digits, `_' and `-'"))
				return false;
			const char *n = scalar(v);
			bool okname = strlen(n) < sizeof(s->name);
			for (const char *c = n; *c && okname; c++)
				okname = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
					 *c == '_' || *c == '-';
			if (!okname)
				return fail(rd, v, "bad output name `%s' (expected up to %zu letters, digits, `_' and `-', such as siem)",
					    n, sizeof(s->name) - 1);
			strcpy(s->name, n);
		} else if (!strcmp(key, "format")) {
			if (!want_scalar(rd, v, key, "native or ecs"))
				return false;
			if (!event_format_parse(scalar(v), &s->format))
				return fail(rd, v, "unknown format `%s' (expected native or ecs)", scalar(v));
			s->format_given = true;
		} else if (!strcmp(key, "socket") && !redis) {
			if (!want_scalar(rd, v, key, "the path of a unix socket, such as /dev/log"))
				return false;
			if (scalar(v)[0] != '/' || !copy_to(s->path, sizeof(s->path), scalar(v)))
				return fail(rd, v, "bad socket `%s' (expected an absolute path of at most %zu characters, such as /dev/log)",
					    scalar(v), sizeof(s->path) - 1);
			seen_socket = true;
		} else if (!strcmp(key, "address")) {
			if (!want_scalar(rd, v, key, "HOST:PORT"))
				return false;
			if (!parse_address(scalar(v), s->host, sizeof(s->host), &s->port))
				return fail(rd, v, "bad address `%s' (expected HOST:PORT or [IPV6]:PORT, such as %s)", scalar(v),
					    redis ? "127.0.0.1:6379" : "127.0.0.1:514");
			seen_address = true;
		} else if (!strcmp(key, "facility") && !redis) {
			if (!want_scalar(rd, v, key, "a syslog facility"))
				return false;
			if (!parse_facility(scalar(v), &s->facility))
				return fail(rd, v, "unknown facility `%s' (expected daemon, user, auth, authpriv, syslog or local0 to local7)",
					    scalar(v));
		} else if (!strcmp(key, "key") && redis) {
			if (!want_scalar(rd, v, key, "a stream name"))
				return false;
			if (!copy_to(s->key, sizeof(s->key), scalar(v)))
				return fail(rd, v, "stream key too long (expected at most %zu characters)", sizeof(s->key) - 1);
		} else if (!strcmp(key, "maxlen") && redis) {
			unsigned long long x;
			if (!want_scalar(rd, v, key, "a number of entries"))
				return false;
			if (!parse_size(scalar(v), 1ull << 40, &x))
				return fail(rd, v, "bad maxlen `%s' (expected a whole number of entries, optionally with k or M, such as 100000 or 1M; 0 keeps every entry)",
					    scalar(v));
			s->maxlen = (unsigned long)x;
		} else if (!strcmp(key, "queue_bytes")) {
			unsigned long long x;
			if (!want_scalar(rd, v, key, "a size"))
				return false;
			if (!parse_size(scalar(v), 1ull << 30, &x) || x < 65536)
				return fail(rd, v, "bad queue_bytes `%s' (expected 64k to 1G bytes, such as 4M)", scalar(v));
			s->queue_bytes = (size_t)x;
		} else {
			return fail(rd, k, "unknown key `%s' in a %s output (expected one of: %s)", key,
				    redis ? "redis" : "syslog",
				    redis ? "type, name, format, address, key, maxlen, queue_bytes"
					  : "type, name, format, socket, address, facility, queue_bytes");
		}
	}
	if (seen_socket && seen_address)
		return fail(rd, m, "a syslog output has either `socket' (local) or `address' (TCP), not both");
	return true;
}

static bool load_output(struct reader *rd, const yaml_node_t *n, struct output_config *c)
{
	if (n->type != YAML_MAPPING_NODE)
		return fail(rd, n, "`output' must be a mapping (expected keys format and outputs)");
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = yaml_document_get_node(&rd->doc, p->key), *v = yaml_document_get_node(&rd->doc, p->value);
		const char *key = k ? scalar(k) : NULL;
		if (key && !strcmp(key, "format")) {
			if (!want_scalar(rd, v, key, "native or ecs"))
				return false;
			if (!event_format_parse(scalar(v), &c->format))
				return fail(rd, v, "unknown format `%s' (expected native or ecs)", scalar(v));
			c->format_given = true;
		} else if (key && !strcmp(key, "outputs")) {
			if (v->type != YAML_SEQUENCE_NODE)
				return fail(rd, v, "`outputs' must be a list of outputs, such as [{ type: syslog }]");
			for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
				const yaml_node_t *item = yaml_document_get_node(&rd->doc, *i);
				if (c->n == OUTPUT_MAX)
					return fail(rd, item, "at most %d outputs", OUTPUT_MAX);
				if (!load_spec(rd, item, &c->spec[c->n]))
					return false;
				c->n++;
			}
		} else {
			return fail(rd, k ? k : n, "unknown key `%s' in output (expected one of: format, outputs)",
				    key ? key : "(not a word)");
		}
	}
	return true;
}

int output_config_load_buffer(const char *name, const char *text, size_t len, struct output_config *c, char *err,
			      size_t errlen)
{
	struct reader rd = {.path = name, .err = err, .errlen = errlen};
	yaml_parser_t parser;
	bool ok;

	memset(c, 0, sizeof(*c));
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	/* The policy loader reads the same text first and reports its syntax
	 * errors better; this says where, for a caller that did not. */
	if (!yaml_parser_load(&parser, &rd.doc)) {
		snprintf(err, errlen, "%s:%zu:%zu: %s", name, parser.problem_mark.line + 1, parser.problem_mark.column + 1,
			 parser.problem ? parser.problem : "syntax error");
		yaml_parser_delete(&parser);
		return -1;
	}
	const yaml_node_t *root = yaml_document_get_root_node(&rd.doc);
	ok = true;
	if (root && root->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = root->data.mapping.pairs.start; ok && p < root->data.mapping.pairs.top; p++) {
			const yaml_node_t *k = yaml_document_get_node(&rd.doc, p->key);
			if (k && scalar(k) && !strcmp(scalar(k), "output"))
				ok = load_output(&rd, yaml_document_get_node(&rd.doc, p->value), c);
		}
	}
	yaml_document_delete(&rd.doc);
	yaml_parser_delete(&parser);
	return ok ? 0 : -1;
}

int output_config_load(const char *path, struct output_config *c, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t len = 0;

	memset(c, 0, sizeof(*c));
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	FILE *m = open_memstream(&text, &len);
	char buf[8192];
	size_t n;
	while (m && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, m);
	bool read_ok = m && !ferror(f) && fclose(m) == 0;
	fclose(f);
	if (!read_ok) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		free(text);
		return -1;
	}
	int rc = output_config_load_buffer(path, text, len, c, err, errlen);
	free(text);
	return rc;
}

bool output_spec_from_option(enum output_type type, const char *arg, struct output_spec *s, char *err, size_t errlen)
{
	spec_defaults(s, type);
	if (type == OUTPUT_SYSLOG) {
		if (!strncmp(arg, "tcp:", 4)) {
			if (parse_address(arg + 4, s->host, sizeof(s->host), &s->port))
				return true;
		} else if (arg[0] == '/' && copy_to(s->path, sizeof(s->path), arg)) {
			return true;
		}
		snprintf(err, errlen, "--syslog is a unix socket's absolute path (such as /dev/log) or tcp:HOST:PORT, not `%s'",
			 arg);
		return false;
	}
	/* HOST:PORT[/KEY] */
	char addr[300];
	const char *slash = strchr(arg, '/');
	size_t al = slash ? (size_t)(slash - arg) : strlen(arg);
	if (al < sizeof(addr)) {
		memcpy(addr, arg, al);
		addr[al] = 0;
		if (parse_address(addr, s->host, sizeof(s->host), &s->port) &&
		    (!slash || (slash[1] && copy_to(s->key, sizeof(s->key), slash + 1))))
			return true;
	}
	snprintf(err, errlen, "--redis is HOST:PORT or HOST:PORT/STREAM-KEY (such as 127.0.0.1:6379/egressfence), not `%s'",
		 arg);
	return false;
}
