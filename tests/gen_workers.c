/*
 * tests/gen_workers.c -- writes captures whose verdicts must not depend on
 * how the audit spreads flows over workers, and the reassembly memory
 * attack.
 *
 *   gen_workers DIR                      every FTP case, as DIR/<case>.pcap
 *   gen_workers --ooo-flood N FILE       N connections of overlapping
 *                                        out-of-order segments
 *   gen_workers --in-order N FILE        the same N connections' bytes, in
 *                                        order (the baseline)
 *
 * FTP cases: each capture holds SESSIONS sessions, every one an FTP control
 * connection that announces a data endpoint and the data connection to it,
 * which uploads text.  The data connection goes to another address than
 * the control connection (except for EPSV, which cannot name one), and
 * from a port other than 20 in active mode (nDPI names port 20 FTP_DATA
 * by itself); with neither end internal the audit shards by the lower
 * address, and the addresses are chosen so that the data connection's
 * lower address is not the control connection's, and change from session
 * to session, so that with 2 or 3 workers some data connections would
 * shard away from their control connection.  Neither end is internal
 * unless the case says so (10.9.0.0/16 and fd00::/8 are internal in
 * tests/data/evasion-policy.yaml; 198.51.100.0/24 and 2001:db8:86::/64 are
 * CN there, 203.0.113.0/24 US, 192.0.2.0/24 and the other 2001:db8:
 * prefixes nothing).
 *
 * Raw IP (DLT_RAW) frames, a fixed clock and fixed addresses: the captures
 * are the same on every run.
 */
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcapgen.h"

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_PSH 0x08
#define TH_ACK 0x10

#define SESSIONS 6
#define MAX_SEG 16000u

/* One TCP connection: end 0 opened it. */
struct conn {
	struct out *o;
	int family;
	uint8_t addr[2][16];
	uint16_t port[2];
	uint32_t seq[2];
};

static void conn_init(struct conn *c, struct out *o, const char *a, uint16_t pa, const char *b, uint16_t pb)
{
	memset(c, 0, sizeof(*c));
	c->o = o;
	c->family = strchr(a, ':') ? 6 : 4;
	inet_pton(c->family == 4 ? AF_INET : AF_INET6, a, c->addr[0]);
	inet_pton(c->family == 4 ? AF_INET : AF_INET6, b, c->addr[1]);
	c->port[0] = pa;
	c->port[1] = pb;
	c->seq[0] = 0x1000000u + pa;
	c->seq[1] = 0x7000000u + pb;
}

static void tcp_at(struct conn *c, int dir, uint32_t seq, uint8_t flags, const uint8_t *data, uint32_t len)
{
	static uint8_t pkt[40 + 20 + MAX_SEG];
	uint32_t alen = c->family == 4 ? 4 : 16, hl = c->family == 4 ? 20 : 40, tl = 20 + len;
	uint8_t *ip = pkt, *l4 = pkt + hl;
	const uint8_t *src = c->addr[dir], *dst = c->addr[!dir];

	memset(pkt, 0, hl + 20);
	if (c->family == 4) {
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(hl + tl));
		ip[6] = 0x40;
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	} else {
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)tl);
		ip[6] = 6;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
	}
	put16(l4, c->port[dir]);
	put16(l4 + 2, c->port[!dir]);
	put32(l4 + 4, seq);
	put32(l4 + 8, (flags & TH_ACK) ? c->seq[!dir] : 0);
	l4[12] = 5 << 4;
	l4[13] = flags;
	put16(l4 + 14, 64240);
	if (len)
		memcpy(l4 + 20, data, len);
	uint32_t sum = csum_add(csum_add(0, src, alen), dst, alen) + 6 + tl;
	put16(l4 + 16, csum_fold(csum_add(sum, l4, tl)));

	out_write(c->o, pkt, hl + tl);
}

static void handshake(struct conn *c)
{
	tcp_at(c, 0, c->seq[0]++, TH_SYN, NULL, 0);
	tcp_at(c, 1, c->seq[1]++, TH_SYN | TH_ACK, NULL, 0);
	tcp_at(c, 0, c->seq[0], TH_ACK, NULL, 0);
}

static void say(struct conn *c, int dir, const char *s)
{
	tcp_at(c, dir, c->seq[dir], TH_ACK | TH_PSH, (const uint8_t *)s, (uint32_t)strlen(s));
	c->seq[dir] += (uint32_t)strlen(s);
	tcp_at(c, !dir, c->seq[!dir], TH_ACK, NULL, 0);
}

static void finish(struct conn *c)
{
	tcp_at(c, 0, c->seq[0]++, TH_FIN | TH_ACK, NULL, 0);
	tcp_at(c, 1, c->seq[1]++, TH_FIN | TH_ACK, NULL, 0);
	tcp_at(c, 0, c->seq[0], TH_ACK, NULL, 0);
}

/* ---- the FTP cases ---------------------------------------------------------- */

enum mode { PASV, EPSV, PORT, EPRT };

struct ftp_case {
	const char *name;
	enum mode mode;
	const char *client_fmt, *server_fmt, *data_fmt; /* "%d": the session's number */
};

/*
 * data_fmt is the address the announcement names: the server's listening
 * address (PASV; EPSV names none, the data goes to the server) or the
 * client's (PORT, EPRT).
 */
static const struct ftp_case cases[] = {
	{"ftp-pasv-v4", PASV, "203.0.113.%d", "198.51.100.%d", "198.51.100.%d"},
	{"ftp-port-v4", PORT, "203.0.113.%d", "198.51.100.%d", "192.0.2.%d"},
	{"ftp-eprt-v4", EPRT, "203.0.113.%d", "198.51.100.%d", "192.0.2.%d"},
	{"ftp-epsv-v6", EPSV, "2001:db8:f0::%d", "2001:db8:86::%d", NULL},
	{"ftp-eprt-v6", EPRT, "2001:db8:f0::%d", "2001:db8:86::%d", "2001:db8:1::%d"},
	{"ftp-pasv-internal", PASV, "10.9.0.%d", "198.51.100.%d", "198.51.100.%d"},
	{"ftp-port-internal", PORT, "10.9.0.%d", "198.51.100.%d", "10.9.0.%d"},
	{"ftp-eprt-v6-internal", EPRT, "fd00:ef::%d", "2001:db8:86::%d", "fd00:ef::%d"},
};

/* Session i of case number kn: ports differ between cases too, so that all
 * the captures can be audited in one run without reusing a 5-tuple. */
static void ftp_session(struct out *o, const struct ftp_case *k, int kn, int i)
{
	char cli[64], srv[64], data[64], line[160];
	int a = 10 + i * 37 % 200, b = 20 + i * 53 % 200, d = 30 + i * 71 % 200;
	uint16_t cport = (uint16_t)(41000 + kn * 100 + i), dport = (uint16_t)(50000 + kn * 100 + i * 7);
	struct conn ctl, dat;

	snprintf(cli, sizeof(cli), k->client_fmt, a);
	snprintf(srv, sizeof(srv), k->server_fmt, b);
	snprintf(data, sizeof(data), k->data_fmt ? k->data_fmt : k->server_fmt, k->data_fmt ? d : b);
	conn_init(&ctl, o, cli, cport, srv, 21);
	handshake(&ctl);
	say(&ctl, 1, "220 (vsFTPd 3.0.3)\r\n");
	say(&ctl, 0, "USER anonymous\r\n");
	say(&ctl, 1, "331 Please specify the password.\r\n");
	say(&ctl, 0, "PASS guest@\r\n");
	say(&ctl, 1, "230 Login successful.\r\n");
	say(&ctl, 0, "TYPE I\r\n");
	say(&ctl, 1, "200 Switching to Binary mode.\r\n");
	struct in_addr v4;
	inet_pton(AF_INET, data, &v4);
	const uint8_t *q = (const uint8_t *)&v4;
	switch (k->mode) {
	case PASV:
		say(&ctl, 0, "PASV\r\n");
		snprintf(line, sizeof(line), "227 Entering Passive Mode (%d,%d,%d,%d,%d,%d).\r\n", q[0], q[1], q[2], q[3],
			 dport >> 8, dport & 0xff);
		say(&ctl, 1, line);
		break;
	case EPSV:
		say(&ctl, 0, "EPSV\r\n");
		snprintf(line, sizeof(line), "229 Entering Extended Passive Mode (|||%u|)\r\n", dport);
		say(&ctl, 1, line);
		break;
	case PORT:
		snprintf(line, sizeof(line), "PORT %d,%d,%d,%d,%d,%d\r\n", q[0], q[1], q[2], q[3], dport >> 8, dport & 0xff);
		say(&ctl, 0, line);
		say(&ctl, 1, "200 PORT command successful.\r\n");
		break;
	case EPRT:
		snprintf(line, sizeof(line), "EPRT |%d|%s|%u|\r\n", strchr(data, ':') ? 2 : 1, data, dport);
		say(&ctl, 0, line);
		say(&ctl, 1, "200 EPRT command successful.\r\n");
		break;
	}
	say(&ctl, 0, "STOR design-review.txt\r\n");
	/* passive: the client connects to the announced server endpoint; active:
	 * the server connects from port 20 to the announced client endpoint,
	 * and the client uploads over it either way */
	bool passive = k->mode == PASV || k->mode == EPSV;
	if (passive)
		conn_init(&dat, o, cli, (uint16_t)(42000 + kn * 100 + i), data, dport);
	else
		conn_init(&dat, o, srv, (uint16_t)(2000 + kn * 100 + i), data, dport);
	handshake(&dat);
	say(&ctl, 1, "150 Ok to send data.\r\n");
	int up = passive ? 0 : 1;
	for (int n = 0; n < 3; n++)
		say(&dat, up, "Design review, rev 7: the rotor geometry and tolerances are attached below.\n");
	finish(&dat);
	say(&ctl, 1, "226 Transfer complete.\r\n");
	say(&ctl, 0, "QUIT\r\n");
	say(&ctl, 1, "221 Goodbye.\r\n");
	finish(&ctl);
}

static int write_cases(const char *dir)
{
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char path[4096];
		struct out o;
		snprintf(path, sizeof(path), "%s/%s.pcap", dir, cases[k].name);
		if (!out_open(&o, "gen_workers", path, DLT_RAW))
			return 1;
		for (int i = 0; i < SESSIONS; i++)
			ftp_session(&o, &cases[k], (int)k, i);
		if (!out_close(&o))
			return 1;
	}
	return 0;
}

/* ---- the reassembly memory attack ------------------------------------------ */

/*
 * N connections from 10.9.0.0/16 to 198.51.100.10:80, open at once.  Each
 * client sends a request's first byte never, and then SEGS segments of
 * MAX_SEG bytes, each starting one byte after the last: every one is ahead
 * of the hole, none has a sequence number another has.  Without a bound on
 * held bytes each direction kept 32 x 16 KB.  The baseline sends the same
 * bytes to the same connections in order.
 */
#define SEGS 32

static int write_ooo(unsigned n, const char *path, bool in_order)
{
	static uint8_t body[MAX_SEG + SEGS];
	struct out o;
	struct conn *cs = calloc(n, sizeof(*cs));

	if (!cs || !out_open(&o, "gen_workers", path, DLT_RAW)) {
		free(cs);
		return 1;
	}
	memcpy(body, "POST /upload HTTP/1.1\r\nHost: files.example\r\n\r\n", 47);
	for (uint32_t i = 47; i < sizeof(body); i++)
		body[i] = (uint8_t)('a' + i % 26);
	for (unsigned f = 0; f < n; f++) {
		char cli[32];
		snprintf(cli, sizeof(cli), "10.9.%u.%u", 1 + f / 250, 1 + f % 250);
		conn_init(&cs[f], &o, cli, (uint16_t)(20000 + f), "198.51.100.10", 80);
		handshake(&cs[f]);
	}
	for (unsigned s = 0; s < SEGS; s++)
		for (unsigned f = 0; f < n; f++) {
			struct conn *c = &cs[f];
			if (in_order) {
				uint32_t len = s == 0 ? MAX_SEG : 1;
				tcp_at(c, 0, c->seq[0], TH_ACK | TH_PSH, body + (s ? MAX_SEG + s - 1 : 0), len);
				c->seq[0] += len;
			} else {
				tcp_at(c, 0, c->seq[0] + 1 + s, TH_ACK | TH_PSH, body + 1 + s, MAX_SEG);
			}
		}
	free(cs);
	return out_close(&o) ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 4 && (!strcmp(argv[1], "--ooo-flood") || !strcmp(argv[1], "--in-order"))) {
		unsigned n = (unsigned)strtoul(argv[2], NULL, 10);
		if (n == 0 || n > 60000) {
			fprintf(stderr, "gen_workers: %s wants 1 to 60000 connections, not `%s'\n", argv[1], argv[2]);
			return 2;
		}
		return write_ooo(n, argv[3], !strcmp(argv[1], "--in-order"));
	}
	if (argc == 2 && argv[1][0] != '-')
		return write_cases(argv[1]);
	fprintf(stderr, "usage: gen_workers DIR | --ooo-flood N FILE | --in-order N FILE\n");
	return 2;
}
