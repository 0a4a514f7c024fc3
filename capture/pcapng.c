/*
 * capture/pcapng.c -- reads pcapng files block by block (see pcapng.h for
 * why libpcap is not used for them).
 *
 * Invariants:
 *  - Every block is read whole into one buffer and checked before use: its
 *    length is a multiple of 4 from 12 to BLOCK_MAX bytes, its trailing
 *    copy of the length matches, and every field read lies inside it.  A
 *    block that fails is an error with the block's offset; the frames
 *    before it have been handed out.
 *  - Each section (section header block) has its own byte order and its
 *    own interfaces; each interface its own link type, snapshot length,
 *    time resolution and offset.  At most IFACES_MAX interfaces a section.
 *  - Block types other than interface descriptions and packets (name
 *    resolution, statistics, custom, ...) are skipped.
 */
#include "pcapng.h"

#include <pcap/dlt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_MAX (16u << 20) /* libpcap's bound too */
#define IFACES_MAX 65536u

#define BT_SECTION 0x0A0D0D0Au
#define BT_INTERFACE 1u
#define BT_PACKET_OBSOLETE 2u
#define BT_SIMPLE_PACKET 3u
#define BT_ENHANCED_PACKET 6u
#define BYTE_ORDER_MAGIC 0x1A2B3C4Du

struct iface {
	int linktype;       /* DLT_* */
	uint32_t snaplen;   /* 0: none */
	uint64_t units;     /* timestamp ticks per second */
	int64_t offset_s;   /* if_tsoffset: seconds added to every timestamp */
};

struct pcapng {
	FILE *f;
	bool big_endian;    /* the current section's byte order */
	bool in_section;
	struct iface *ifaces;
	uint32_t n_ifaces, cap_ifaces;
	uint8_t *buf;
	uint32_t buf_cap;
	uint64_t last_ts_us;  /* for simple packet blocks, which have none */
};

bool pcapng_magic(const unsigned char first[4])
{
	return first[0] == 0x0a && first[1] == 0x0d && first[2] == 0x0d && first[3] == 0x0a;
}

static uint16_t get16(const struct pcapng *r, const uint8_t *p)
{
	return r->big_endian ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static uint32_t get32(const struct pcapng *r, const uint8_t *p)
{
	if (r->big_endian)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

struct pcapng *pcapng_open(FILE *f, char *err, size_t errlen)
{
	struct pcapng *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(err, errlen, "out of memory");
		fclose(f);
		return NULL;
	}
	r->f = f;
	return r;
}

void pcapng_close(struct pcapng *r)
{
	if (!r)
		return;
	fclose(r->f);
	free(r->ifaces);
	free(r->buf);
	free(r);
}

/* The link types whose pcapng number differs from libpcap's DLT value on
 * this system (LINKTYPE_RAW is 101, DLT_RAW 12 or 14). */
static int linktype_to_dlt(uint16_t linktype)
{
	return linktype == 101 ? DLT_RAW : linktype;
}

static bool parse_interface(struct pcapng *r, const uint8_t *body, uint32_t len, char *err, size_t errlen)
{
	struct iface i = {.units = 1000000};

	if (len < 8) {
		snprintf(err, errlen, "interface description block of %u bytes, shorter than its fields", len);
		return false;
	}
	i.linktype = linktype_to_dlt(get16(r, body));
	i.snaplen = get32(r, body + 4);
	for (uint32_t off = 8; off + 4 <= len;) {
		uint16_t code = get16(r, body + off), olen = get16(r, body + off + 2);
		const uint8_t *v = body + off + 4;
		if (code == 0) /* opt_endofopt */
			break;
		if (olen > len - off - 4) {
			snprintf(err, errlen, "interface description option %u runs past its block", code);
			return false;
		}
		if (code == 9 && olen >= 1) { /* if_tsresol: 10^-n, or 2^-n with the top bit */
			unsigned n = v[0] & 0x7f;
			if ((v[0] & 0x80 && n > 63) || (!(v[0] & 0x80) && n > 18)) {
				snprintf(err, errlen, "interface time resolution 0x%02x is out of range", v[0]);
				return false;
			}
			i.units = 1;
			for (unsigned k = 0; k < n; k++)
				i.units *= v[0] & 0x80 ? 2 : 10;
		} else if (code == 14 && olen == 8) { /* if_tsoffset, seconds */
			uint64_t hi = get32(r, v), lo = get32(r, v + 4);
			i.offset_s = (int64_t)(r->big_endian ? hi << 32 | lo : lo << 32 | hi);
		}
		off += 4 + ((olen + 3u) & ~3u);
	}
	if (r->n_ifaces == IFACES_MAX) {
		snprintf(err, errlen, "more than %u interfaces in one section", IFACES_MAX);
		return false;
	}
	if (r->n_ifaces == r->cap_ifaces) {
		uint32_t cap = r->cap_ifaces ? r->cap_ifaces * 2 : 8;
		struct iface *grown = realloc(r->ifaces, cap * sizeof(*grown));
		if (!grown) {
			snprintf(err, errlen, "out of memory");
			return false;
		}
		r->ifaces = grown;
		r->cap_ifaces = cap;
	}
	r->ifaces[r->n_ifaces++] = i;
	return true;
}

static uint64_t timestamp_us(const struct iface *i, uint64_t ticks)
{
	uint64_t us;

	if (i->units % 1000000u == 0)
		us = ticks / (i->units / 1000000u);
	else if (1000000u % i->units == 0)
		us = ticks * (1000000u / i->units);
	else if (!(i->units & (i->units - 1)) && i->units <= (1ull << 44)) /* 2^-n, exactly */
		us = ticks / i->units * 1000000u + (ticks % i->units) * 1000000u / i->units;
	else
		us = (uint64_t)((long double)ticks * 1e6L / (long double)i->units);
	return us + (uint64_t)i->offset_s * 1000000u;
}

/* Reads n bytes at buf + at, growing the buffer; false at a short read. */
static bool read_into(struct pcapng *r, uint32_t at, uint32_t n)
{
	if (at + n > r->buf_cap) {
		uint32_t cap = r->buf_cap ? r->buf_cap : 65536;
		while (cap < at + n)
			cap *= 2;
		uint8_t *grown = realloc(r->buf, cap);
		if (!grown)
			return false;
		r->buf = grown;
		r->buf_cap = cap;
	}
	return fread(r->buf + at, 1, n, r->f) == n;
}

int pcapng_next(struct pcapng *r, struct capture_frame *f, long *offset, char *err, size_t errlen)
{
	for (;;) {
		long start = ftell(r->f);
		*offset = start;
		if (!read_into(r, 0, 8)) {
			if (feof(r->f) && ftell(r->f) == start)
				return 0;
			snprintf(err, errlen, "truncated block header");
			return -1;
		}
		uint32_t type = get32(r, r->buf), total;
		if (type == BT_SECTION) {
			if (!read_into(r, 8, 4)) {
				snprintf(err, errlen, "truncated section header");
				return -1;
			}
			uint32_t magic = (uint32_t)r->buf[8] << 24 | (uint32_t)r->buf[9] << 16 |
					 (uint32_t)r->buf[10] << 8 | r->buf[11];
			if (magic != BYTE_ORDER_MAGIC && magic != 0x4D3C2B1Au) {
				snprintf(err, errlen, "section header with a bad byte-order magic");
				return -1;
			}
			r->big_endian = magic == BYTE_ORDER_MAGIC;
		} else if (!r->in_section) {
			snprintf(err, errlen, "not a pcapng file: no section header first");
			return -1;
		}
		total = get32(r, r->buf + 4);
		if (total < (type == BT_SECTION ? 28u : 12u) || total % 4 || total > BLOCK_MAX) {
			snprintf(err, errlen, "block of type %u with a bad length %u", type, total);
			return -1;
		}
		uint32_t have = type == BT_SECTION ? 12 : 8;
		if (!read_into(r, have, total - have)) {
			snprintf(err, errlen, "truncated block of type %u (%u bytes)", type, total);
			return -1;
		}
		if (get32(r, r->buf + total - 4) != total) {
			snprintf(err, errlen, "block of type %u whose trailing length differs", type);
			return -1;
		}
		const uint8_t *body = r->buf + 8;
		uint32_t len = total - 12, iface = 0, caplen, wirelen, data_at;
		uint64_t ticks = 0;
		bool timed = true;

		switch (type) {
		case BT_SECTION:
			if (get16(r, body + 4) != 1) {
				snprintf(err, errlen, "section of pcapng version %u, not 1", get16(r, body + 4));
				return -1;
			}
			r->in_section = true;
			r->n_ifaces = 0;
			continue;
		case BT_INTERFACE:
			if (!parse_interface(r, body, len, err, errlen))
				return -1;
			continue;
		case BT_ENHANCED_PACKET:
			if (len < 20)
				goto short_block;
			iface = get32(r, body);
			ticks = (uint64_t)get32(r, body + 4) << 32 | get32(r, body + 8);
			caplen = get32(r, body + 12);
			wirelen = get32(r, body + 16);
			data_at = 20;
			break;
		case BT_PACKET_OBSOLETE:
			if (len < 20)
				goto short_block;
			iface = get16(r, body);
			ticks = (uint64_t)get32(r, body + 4) << 32 | get32(r, body + 8);
			caplen = get32(r, body + 12);
			wirelen = get32(r, body + 16);
			data_at = 20;
			break;
		case BT_SIMPLE_PACKET:
			if (len < 4)
				goto short_block;
			wirelen = get32(r, body);
			caplen = len - 4 < wirelen ? len - 4 : wirelen;
			if (r->n_ifaces && r->ifaces[0].snaplen && caplen > r->ifaces[0].snaplen)
				caplen = r->ifaces[0].snaplen;
			data_at = 4;
			timed = false;
			break;
		default:
			continue;
		}
		if (iface >= r->n_ifaces) {
			snprintf(err, errlen, "packet block for interface %u, which the section did not describe", iface);
			return -1;
		}
		if (caplen > len - data_at) {
			snprintf(err, errlen, "packet block with %u bytes captured, longer than the block", caplen);
			return -1;
		}
		if (timed)
			r->last_ts_us = timestamp_us(&r->ifaces[iface], ticks);
		f->data = body + data_at;
		f->caplen = caplen;
		f->wirelen = wirelen > caplen ? wirelen : caplen;
		f->ts_us = r->last_ts_us;
		f->linktype = r->ifaces[iface].linktype;
		return 1;
short_block:
		snprintf(err, errlen, "packet block of type %u too short for its fields", type);
		return -1;
	}
}
