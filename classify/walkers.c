/*
 * classify/walkers.c -- reading handshakes off the reassembled streams.
 *
 * nDPI names a protocol from what it has seen so far; these walkers check
 * that what follows is really that protocol, because a client that wants
 * data out can send one convincing record and then anything.  Each walker
 * reads only bytes already in a stream's history, keeps an offset so no byte
 * is read twice, and answers MORE (need more bytes), DONE (the handshake
 * completed) or BROKEN (the bytes are not this protocol, or the client sent
 * data in the clear).
 */
#include "internal.h"

#include <ndpi/ndpi_protocol_ids.h>
#include <string.h>
#include <strings.h>

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* RFC 8446 4.1.3: a ServerHello with this random is a HelloRetryRequest. */
static const uint8_t hello_retry_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/*
 * ServerHello body (after the 4-byte handshake header, or DTLS's 12): the
 * negotiated version (supported_versions wins over the legacy field) and
 * cipher suite.  False while too few bytes are there.
 */
bool parse_server_hello(const uint8_t *b, uint32_t n, uint16_t *version, uint16_t *cipher, bool *retry)
{
	if (n < 2 + 32 + 1)
		return false;
	uint16_t v = rd16(b);
	uint32_t off = 2 + 32;
	uint32_t sid = b[off];
	off += 1 + sid;
	if (n < off + 3)
		return false;
	*retry = memcmp(b + 2, hello_retry_random, 32) == 0;
	*cipher = rd16(b + off);
	off += 3;
	if (n >= off + 2) {
		uint32_t ext_end = off + 2 + rd16(b + off);
		off += 2;
		if (ext_end > n)
			ext_end = n;
		while (off + 4 <= ext_end) {
			uint16_t type = rd16(b + off), len = rd16(b + off + 2);
			if (type == 0x002b && len == 2 && off + 6 <= ext_end)
				v = rd16(b + off + 4);
			off += 4u + len;
		}
	}
	*version = v;
	return true;
}

enum walk_verdict tls_walk(struct tls_walk *w, int dir, const uint8_t *h, uint32_t len)
{
	uint32_t off = w->off[dir] > w->start[dir] ? w->off[dir] : w->start[dir];

	/* SSLv2-framed hellos: a 2-byte length with the top bit set. */
	if (off == w->start[dir] && off + 3 <= len && (h[off] & 0x80) && !w->server_hello) {
		uint8_t msg = h[off + 2];
		if (dir == 1 && msg == 4) { /* SSLv2 ServerHello: SSLv2 was chosen */
			w->sslv2 = w->server_hello = true;
			w->version = 0x0002;
			return WALK_DONE;
		}
		if (dir == 0 && msg == 1) { /* SSLv2 ClientHello; the server may answer in v3 */
			w->off[dir] = off + 2 + (((uint32_t)h[off] & 0x7f) << 8 | h[off + 1]);
			return WALK_MORE;
		}
	}
	while (off + 5 <= len) {
		const uint8_t *r = h + off;
		uint8_t type = r[0];
		uint32_t rlen = rd16(r + 3);

		if (type < 20 || type > 24 || r[1] != 3 || r[2] > 4 || rlen > 18432)
			return WALK_BROKEN;
		uint32_t avail = len - off - 5 < rlen ? len - off - 5 : rlen;
		if (dir == 1 && type == 22 && !w->server_hello && avail >= 4 && r[5] == 2) {
			bool retry;
			uint16_t v, c;
			uint32_t hl = rd24(r + 6), body = avail - 4 < hl ? avail - 4 : hl;
			if (parse_server_hello(r + 9, body, &v, &c, &retry)) {
				if (!retry) {
					w->server_hello = true;
					w->version = v;
					w->cipher = c;
				}
			} else if (avail < rlen) {
				break; /* the rest of the hello is still on its way */
			}
		}
		if (type == 20)
			w->ccs[dir] = true;
		/* The proof: after the ServerHello, the client's first protected
		 * record -- TLS <= 1.2: the encrypted Finished (a handshake record
		 * after its CCS); TLS 1.3: an application-data record -- and its
		 * content must look like ciphertext (TLS <= 1.2's 8-byte explicit
		 * nonce aside).  A CCS alone proves nothing: it is one constant
		 * byte anyone can send. */
		bool tls13 = tls_version_is_13(w->version);
		if (dir == 0 && w->server_hello && (type == 23 || (type == 22 && w->ccs[0] && !tls13))) {
			uint32_t skip = tls13 ? 0 : 8;
			if (avail < rlen && avail < skip + LOOK_WINDOW)
				break; /* judged when enough of it is there */
			enum look_result look = avail > skip ? look_at(r + 5 + skip, avail - skip) : LOOK_PENDING;
			if (look == LOOK_NOT_RANDOM)
				w->plaintext_in_record = true;
			else if (look == LOOK_RANDOM && (tls13 || w->ccs[0]))
				w->client_protected = true;
		}
		if (avail < rlen)
			break;
		off += 5 + rlen;
	}
	w->off[dir] = off;
	return w->server_hello && w->client_protected ? WALK_DONE : WALK_MORE;
}

enum walk_verdict dtls_server_hello(const uint8_t *p, uint32_t n, uint16_t *version, uint16_t *cipher)
{
	/* Record header 13 bytes, handshake header 12. */
	while (n >= 13) {
		uint32_t rlen = rd16(p + 11);
		if (p[0] < 20 || p[0] > 25 || p[1] != 0xfe)
			return WALK_BROKEN;
		if (13 + rlen > n)
			return WALK_MORE;
		if (p[0] == 22 && rlen >= 12 && p[13] == 2) {
			bool retry;
			if (parse_server_hello(p + 25, rlen - 12, version, cipher, &retry))
				return WALK_DONE;
		}
		p += 13 + rlen;
		n -= 13 + rlen;
	}
	return WALK_MORE;
}

/* Offset just past the first "\n" at or after off, or 0 when none yet. */
static uint32_t line_end(const uint8_t *h, uint32_t off, uint32_t len)
{
	const uint8_t *nl = off < len ? memchr(h + off, '\n', len - off) : NULL;

	return nl ? (uint32_t)(nl - h) + 1 : 0;
}

enum walk_verdict ssh_walk(struct ssh_walk *w, const uint8_t *client, uint32_t clen,
			   const uint8_t *server, uint32_t slen)
{
	if (!w->server_banner) {
		/* RFC 4253 4.2: a server may send other lines before its banner. */
		for (uint32_t off = 0; off + 4 <= slen;) {
			if (memcmp(server + off, "SSH-", 4) == 0) {
				w->server_banner = true;
				break;
			}
			uint32_t e = line_end(server, off, slen);
			if (!e)
				break;
			off = e;
		}
	}
	if (!w->client_banner) {
		if (clen < 4)
			return WALK_MORE;
		if (memcmp(client, "SSH-", 4) != 0)
			return WALK_BROKEN;
		uint32_t e = line_end(client, 0, clen < 256 ? clen : 256);
		if (!e)
			return clen >= 256 ? WALK_BROKEN : WALK_MORE;
		w->client_banner = true;
		w->off = e;
	}
	while (w->off + 6 <= clen) {
		const uint8_t *p = client + w->off;
		uint32_t plen = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		uint8_t pad = p[4], msg = p[5];

		if (plen < 12 || plen > 35000 || pad < 4 || pad >= plen)
			return WALK_BROKEN;
		if (msg == 20)
			w->kexinit = true;
		else if (msg == 21 && w->kexinit) {
			w->newkeys = true;
			break;
		} else if (msg < 20 || msg > 49)
			return WALK_BROKEN; /* not transport or key exchange before NEWKEYS */
		w->off += 4 + plen;
	}
	return w->newkeys && w->server_banner ? WALK_DONE : WALK_MORE;
}

/* ---- STARTTLS ------------------------------------------------------------ */

struct command_set {
	uint16_t ndpi_id;
	bool tagged;                 /* IMAP: "tag COMMAND" */
	const char *upgrade;
	const char *allowed[10];     /* negotiation commands that carry no data */
	const char *positive;        /* the reply that accepts the upgrade */
	const char *bare;            /* allowed only with no argument (lists SASL mechanisms) */
};

static const struct command_set command_sets[] = {
	{NDPI_PROTOCOL_MAIL_SMTP, false, "STARTTLS", {"EHLO", "HELO", "LHLO", "NOOP", "RSET", "QUIT"}, "220", NULL},
	{NDPI_PROTOCOL_MAIL_IMAP, true, "STARTTLS", {"CAPABILITY", "NOOP", "ID", "LOGOUT"}, "OK", NULL},
	{NDPI_PROTOCOL_MAIL_POP, false, "STLS", {"CAPA", "NOOP", "QUIT"}, "+OK", "AUTH"},
	{NDPI_PROTOCOL_FTP_CONTROL, false, "AUTH", {"FEAT", "SYST", "NOOP", "QUIT", "HELP", "OPTS", "CLNT"}, "234", NULL},
};

static const struct command_set *command_set_of(uint16_t id)
{
	for (size_t i = 0; i < sizeof(command_sets) / sizeof(command_sets[0]); i++)
		if (command_sets[i].ndpi_id == id)
			return &command_sets[i];
	return NULL;
}

/* The command word of a line (after the tag for IMAP), upper-cased. */
static void command_word(const uint8_t *line, uint32_t n, bool tagged, char *out, size_t cap)
{
	uint32_t i = 0, o = 0;

	if (tagged) {
		while (i < n && line[i] != ' ')
			i++;
		while (i < n && line[i] == ' ')
			i++;
	}
	while (i < n && o + 1 < cap && line[i] > ' ' && line[i] < 0x7f) {
		char c = (char)line[i++];
		out[o++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
	}
	out[o] = 0;
}

static bool is_tls_record_start(const uint8_t *h, uint32_t off, uint32_t len)
{
	return off + 3 <= len && h[off] == 0x16 && h[off + 1] == 3 && h[off + 2] <= 4;
}

/* Where the server's TLS begins, at a line boundary, and whether the line
 * before it was a yes.  0 when not there yet. */
static uint32_t server_tls_start(struct starttls_walk *w, const struct command_set *cs,
				 const uint8_t *h, uint32_t len)
{
	uint32_t off = w->server_off, prev = UINT32_MAX;

	while (off < len) {
		if (is_tls_record_start(h, off, len)) {
			if (prev != UINT32_MAX) {
				const uint8_t *line = h + prev;
				uint32_t n = off - prev;
				size_t pl = strlen(cs->positive);
				if (cs->tagged) { /* "tag OK ..." */
					const uint8_t *sp = memchr(line, ' ', n);
					w->server_positive = sp && (uint32_t)(sp - line) + 1 + pl <= n &&
							     strncasecmp((const char *)sp + 1, cs->positive, pl) == 0;
				} else {
					w->server_positive = n >= pl && memcmp(line, cs->positive, pl) == 0;
				}
			}
			return off;
		}
		uint32_t e = line_end(h, off, len);
		if (!e)
			break;
		prev = off;
		off = e;
	}
	return 0;
}

static enum walk_verdict xmpp_walk(struct starttls_walk *w, struct tls_walk *tls, const uint8_t *c,
				   uint32_t clen, const uint8_t *s, uint32_t slen)
{
	static const char *const data_tags[] = {"<auth", "<iq", "<message", "<presence"};
	const uint8_t *st = memmem(c, clen, "<starttls", 9);
	uint32_t limit = st ? (uint32_t)(st - c) : clen;

	for (size_t i = 0; i < sizeof(data_tags) / sizeof(data_tags[0]); i++)
		if (memmem(c, limit, data_tags[i], strlen(data_tags[i])))
			return WALK_BROKEN;
	if (!st)
		return WALK_MORE;
	w->state = STLS_REQUESTED;
	const uint8_t *proceed = memmem(s, slen, "<proceed", 8);
	const uint8_t *ctls = NULL, *stls = NULL;
	for (uint32_t i = limit; i + 3 <= clen && !ctls; i++)
		if (is_tls_record_start(c, i, clen))
			ctls = c + i;
	for (uint32_t i = proceed ? (uint32_t)(proceed - s) : slen; i + 3 <= slen && !stls; i++)
		if (is_tls_record_start(s, i, slen))
			stls = s + i;
	if (!ctls || !stls)
		return WALK_MORE;
	w->server_positive = proceed != NULL;
	w->state = STLS_TLS;
	tls->start[0] = (uint32_t)(ctls - c);
	tls->start[1] = (uint32_t)(stls - s);
	return WALK_MORE;
}

enum walk_verdict starttls_walk(struct starttls_walk *w, struct tls_walk *tls, const uint8_t *c,
				uint32_t clen, const uint8_t *s, uint32_t slen)
{
	if (w->ndpi_id == NDPI_PROTOCOL_JABBER && w->state != STLS_TLS)
		return xmpp_walk(w, tls, c, clen, s, slen);
	const struct command_set *cs = command_set_of(w->ndpi_id);
	if (!cs)
		return WALK_BROKEN;
	while (w->state != STLS_TLS) {
		if (w->state == STLS_REQUESTED) {
			if (w->client_off + 3 > clen)
				return WALK_MORE;
			if (!is_tls_record_start(c, w->client_off, clen)) {
				w->state = STLS_NEGOTIATING; /* refused: the client carries on in the clear */
				continue;
			}
			uint32_t st = server_tls_start(w, cs, s, slen);
			if (!st)
				return WALK_MORE;
			tls->start[0] = w->client_off;
			tls->start[1] = st;
			w->state = STLS_TLS;
			break;
		}
		uint32_t e = line_end(c, w->client_off, clen);
		if (!e)
			return WALK_MORE;
		char word[16];
		const uint8_t *line = c + w->client_off;
		uint32_t line_len = e - w->client_off;
		command_word(line, line_len, cs->tagged, word, sizeof(word));
		w->client_off = e;
		while (line_len && (line[line_len - 1] == '\n' || line[line_len - 1] == '\r'))
			line_len--;
		if (cs->bare && strcmp(word, cs->bare) == 0 && line_len == strlen(cs->bare))
			continue;
		if (strcmp(word, cs->upgrade) == 0) {
			w->state = STLS_REQUESTED;
			continue;
		}
		bool allowed = false;
		for (size_t i = 0; i < 10 && cs->allowed[i]; i++)
			allowed |= strcmp(word, cs->allowed[i]) == 0;
		if (!allowed)
			return WALK_BROKEN; /* data, credentials or a transfer before any upgrade */
	}
	return WALK_MORE;
}

/* ---- fast recognition of the commonest first messages --------------------- */

static void copy_name(char *out, size_t cap, const uint8_t *p, uint32_t n)
{
	uint32_t o = 0;

	for (uint32_t i = 0; i < n && o + 1 < cap; i++)
		if (p[i] > 0x20 && p[i] < 0x7f)
			out[o++] = (char)p[i];
	out[o] = 0;
}

/* SNI from a ClientHello body (after the handshake header), if there. */
static void client_hello_sni(const uint8_t *b, uint32_t n, char *name, size_t cap)
{
	uint32_t off = 2 + 32;

	if (n < off + 1)
		return;
	off += 1 + b[off];
	if (n < off + 2)
		return;
	off += 2 + rd16(b + off);
	if (n < off + 1)
		return;
	off += 1 + b[off];
	if (n < off + 2)
		return;
	uint32_t end = off + 2 + rd16(b + off);
	off += 2;
	if (end > n)
		end = n;
	while (off + 4 <= end) {
		uint16_t type = rd16(b + off), len = rd16(b + off + 2);
		if (type == 0 && off + 4 + len <= end && len >= 5) {
			uint32_t name_len = rd16(b + off + 7);
			if (off + 9 + name_len <= end)
				copy_name(name, cap, b + off + 9, name_len);
			return;
		}
		off += 4u + len;
	}
}

uint16_t recognise_client_start(const uint8_t *h, uint32_t n, char *name, size_t cap)
{
	static const char *const methods[] = {"GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "OPTIONS ",
					      "PATCH ", "TRACE ", "CONNECT ", "QUERY "};

	if (n >= 9 && h[0] == 0x16 && h[1] == 3 && h[2] <= 4 && h[5] == 1) {
		uint32_t rlen = rd16(h + 3), hlen = rd24(h + 6);
		if (rlen < 4 || hlen + 4 < rlen || hlen < 38 || h[9] != 3)
			return 0;
		uint32_t avail = n - 9 < rlen - 4 ? n - 9 : rlen - 4;
		client_hello_sni(h + 9, avail, name, cap);
		return NDPI_PROTOCOL_TLS;
	}
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t ml = strlen(methods[i]);
		if (n <= ml || memcmp(h, methods[i], ml) != 0)
			continue;
		uint32_t e = line_end(h, 0, n);
		if (!e || e < ml + 10)
			return 0;
		const uint8_t *v = h + e - 10; /* " HTTP/1.x\r\n" or " HTTP/1.x\n" */
		if (h[e - 2] == '\r')
			v--;
		if (memcmp(v, " HTTP/1.", 8) != 0)
			return 0;
		const uint8_t *host = memmem(h, n, "\nHost:", 6);
		if (!host)
			host = memmem(h, n, "\nhost:", 6);
		if (host) {
			const uint8_t *start = host + 6, *stop = memchr(start, '\n', n - (uint32_t)(start - h));
			if (stop)
				copy_name(name, cap, start, (uint32_t)(stop - start));
		}
		return memcmp(h, "CONNECT ", 8) == 0 ? NDPI_PROTOCOL_HTTP_CONNECT : NDPI_PROTOCOL_HTTP;
	}
	return 0;
}

/* ---- TLS 1.3 and its pre-standard versions -------------------------------- */

/*
 * TLS 1.3 as RFC 8446 defines it, and the versions deployed before it was
 * final: the IETF drafts (0x7f00 + draft number) and the experiments of
 * large operators built on them (Facebook's 0xfb00 + draft, Google's 0x7e..).
 * All protect everything after the ServerHello with the same AEAD suites,
 * which tls_13_suite() tells.
 */
bool tls_version_is_13(uint16_t v)
{
	return v == 0x0304 || (v >> 8) == 0x7f || (v >> 8) == 0x7e || (v >> 8) == 0xfb;
}

/* TLS 1.3's five AEAD suites (RFC 8446 B.4), the only ones it may negotiate. */
bool tls_13_suite(uint16_t suite)
{
	return suite >= 0x1301 && suite <= 0x1305;
}

/* ---- short text: a protocol's command and reply lines ---------------------- */

/*
 * Whether bytes too few for look_text()'s statistics are a text protocol's
 * lines: every byte printable (or a tab), every line ended by LF (CR LF),
 * and each line opening with a command word, a reply code or a prefix
 * (":server", "+OK", "* OK", "a001") -- what one QUIT and its 221, or
 * a single IRC line, look like.  Random bytes pass this with a probability
 * under 0.39^n for n bytes; an evader gains nothing by passing it, since
 * cleartext is the strictest class.
 */
bool command_lines(const uint8_t *p, uint32_t n)
{
	if (n < 4 || p[n - 1] != '\n')
		return false;
	for (uint32_t off = 0; off < n;) {
		uint32_t e = line_end(p, off, n), len = e - off;
		if (!e || len < 3)
			return false;
		uint8_t first = p[off];
		if (!((first >= 'A' && first <= 'Z') || (first >= 'a' && first <= 'z') || (first >= '0' && first <= '9') ||
		      first == ':' || first == '+' || first == '-' || first == '*'))
			return false;
		for (uint32_t i = off; i < e - 1; i++)
			if ((p[i] < 0x20 || p[i] > 0x7e) && p[i] != '\t' && !(p[i] == '\r' && i == e - 2))
				return false;
		off = e;
	}
	return true;
}
