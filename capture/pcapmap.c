/*
 * capture/pcapmap.c -- classic pcap files walked in a memory map.
 *
 * libpcap reads a file with fread into its own buffer: a copy of every
 * byte and several calls per packet.  Here the file is mapped and each
 * frame handed out points into the map; the record walk is a few loads.
 *
 * Invariants:
 *  - Frames, lengths, timestamps and errors are those of libpcap 1.10's
 *    sf-pcap.c (pcap_next_packet) for the same file at microsecond
 *    precision: a capture reads the same through either reader.  What this
 *    reader would have to translate differently (see pcapmap.h) it leaves
 *    to libpcap.
 *  - Nothing is read past the end of the map: a record is checked to fit
 *    before its bytes are touched.
 *  - The map is not held in memory behind the reader: every DROP_STEP bytes
 *    the pages already walked are given back (MADV_DONTNEED on a read-only
 *    private file map drops them from this process; the page cache keeps
 *    them), so resident memory does not grow with the file.  The same step
 *    moves the descriptor's file offset to the read position, which is what
 *    the audit's progress line reads (/proc/self/fdinfo), as with libpcap.
 */
#include "pcapmap.h"

#include <fcntl.h>
#include <pcap/dlt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_NFLOG
#define DLT_NFLOG 239
#endif

#define FILE_HEADER 24u
#define RECORD_HEADER 16u
#define MAX_SNAPLEN 262144u       /* libpcap's MAXIMUM_SNAPLEN, its sanity bound for these link types */
#define DROP_STEP (2u << 20)

struct pcapmap {
	const uint8_t *base;
	size_t len, off;
	bool mapped, swapped, nsec, failed;
	int fd;
	int dlt;
	uint32_t snaplen;
	size_t dropped;           /* map bytes below this were given back */
	long err_offset;
	char err[160];
};

/*
 * The file's link type (LINKTYPE_*) as libpcap's DLT_*, for the link types
 * the decoder reads and whose translation is fixed; -1 for any other (libpcap
 * reads the file, and translates or refuses it itself).
 */
static int dlt_of_linktype(uint32_t lt)
{
	switch (lt) {
	case 0: return DLT_NULL;
	case 1: return DLT_EN10MB;
	case 9: return DLT_PPP;
	case 50: return DLT_PPP_SERIAL;
	case 101: return DLT_RAW;
	case 104: return DLT_C_HDLC;
	case 108: return DLT_LOOP;
	case 113: return DLT_LINUX_SLL;
	case 228: return DLT_IPV4;
	case 229: return DLT_IPV6;
	case 239: return DLT_NFLOG;
	case 276: return DLT_LINUX_SLL2;
	}
	return -1;
}

/* A 32-bit field in the file's byte order (little-endian unless swapped). */
static uint32_t get32(const struct pcapmap *m, size_t at)
{
	uint32_t v;

	memcpy(&v, m->base + at, 4);
	return m->swapped != (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__) ? __builtin_bswap32(v) : v;
}

/* Reads the file header; false when libpcap should read this file. */
static bool take_header(struct pcapmap *m)
{
	if (m->len < FILE_HEADER)
		return false;
	uint32_t magic = (uint32_t)m->base[0] | (uint32_t)m->base[1] << 8 | (uint32_t)m->base[2] << 16 |
			 (uint32_t)m->base[3] << 24;
	switch (magic) {
	case 0xa1b2c3d4: break;
	case 0xa1b23c4d: m->nsec = true; break;
	case 0xd4c3b2a1: m->swapped = true; break;
	case 0x4d3cb2a1: m->swapped = m->nsec = true; break;
	default: return false;
	}
	/* version major and minor, 16 bits each, in the file's byte order */
	const uint8_t *v = m->base + 4;
	uint16_t major = m->swapped ? (uint16_t)(v[0] << 8 | v[1]) : (uint16_t)(v[1] << 8 | v[0]);
	uint16_t minor = m->swapped ? (uint16_t)(v[2] << 8 | v[3]) : (uint16_t)(v[3] << 8 | v[2]);
	if (major != 2 || minor != 4)
		return false;
	/* The top 6 bits carry an FCS length libpcap does not pass on either. */
	m->dlt = dlt_of_linktype(get32(m, 20) & 0x03ffffffu);
	if (m->dlt < 0 || (m->swapped && m->dlt == DLT_NFLOG))
		return false; /* libpcap rewrites a swapped NFLOG's TLV headers in place */
	/* libpcap 1.10 replaces only 0 and what does not fit an int; a snaplen
	 * over MAX_SNAPLEN stays, and changes the message below. */
	m->snaplen = get32(m, 16);
	if (m->snaplen == 0 || m->snaplen > INT32_MAX)
		m->snaplen = MAX_SNAPLEN;
	m->off = FILE_HEADER;
	return true;
}

struct pcapmap *pcapmap_open_buffer(const uint8_t *data, size_t len)
{
	struct pcapmap *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->base = data;
	m->len = len;
	m->fd = -1;
	if (!take_header(m)) {
		free(m);
		return NULL;
	}
	return m;
}

struct pcapmap *pcapmap_open(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)FILE_HEADER) {
		close(fd);
		return NULL;
	}
	void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		close(fd);
		return NULL;
	}
	struct pcapmap *m = pcapmap_open_buffer(map, (size_t)st.st_size);
	if (!m) {
		munmap(map, (size_t)st.st_size);
		close(fd);
		return NULL;
	}
	m->mapped = true;
	m->fd = fd;
	madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	return m;
}

int pcapmap_linktype(const struct pcapmap *m)
{
	return m->dlt;
}

static enum capture_status fail(struct pcapmap *m, long offset, const char *fmt, unsigned a, size_t b)
{
	m->failed = true;
	m->err_offset = offset;
	snprintf(m->err, sizeof(m->err), fmt, a, b);
	return CAPTURE_ERROR;
}

/* Gives back the pages already walked, and tells the descriptor how far. */
static void drop_behind(struct pcapmap *m)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t upto = m->off & ~((size_t)page - 1);

	if (upto > m->dropped)
		madvise((void *)(m->base + m->dropped), upto - m->dropped, MADV_DONTNEED);
	m->dropped = upto;
	lseek(m->fd, (off_t)m->off, SEEK_SET);
}

enum capture_status pcapmap_next(struct pcapmap *m, struct capture_frame *f)
{
	if (m->failed)
		return CAPTURE_ERROR;
	if (m->mapped && m->off - m->dropped >= DROP_STEP)
		drop_behind(m);
	size_t left = m->len - m->off;
	if (left == 0)
		return CAPTURE_END;
	/* libpcap's ftell after a short read is the end of the file. */
	if (left < RECORD_HEADER)
		return fail(m, (long)m->len, "truncated dump file; tried to read %u header bytes, only got %zu",
			    RECORD_HEADER, left);
	uint32_t sec = get32(m, m->off), frac = get32(m, m->off + 4);
	uint32_t caplen = get32(m, m->off + 8), wirelen = get32(m, m->off + 12);
	size_t data = m->off + RECORD_HEADER;
	left -= RECORD_HEADER;
	if (caplen > MAX_SNAPLEN)
		return fail(m, (long)data,
			    caplen > m->snaplen ? "invalid packet capture length %u, bigger than snaplen of %zu"
						: "invalid packet capture length %u, bigger than maximum of %zu",
			    caplen, caplen > m->snaplen ? m->snaplen : MAX_SNAPLEN);
	uint32_t shown = caplen;
	if (caplen > m->snaplen) {
		/* libpcap hands out the first snaplen bytes and skips the rest. */
		shown = m->snaplen;
		if (left < m->snaplen)
			return fail(m, (long)m->len, "truncated dump file; tried to read %u captured bytes, only got %zu",
				    m->snaplen, left);
	}
	if (left < caplen)
		return fail(m, (long)m->len, "truncated dump file; tried to read %u captured bytes, only got %zu",
			    caplen, left);
	/* libpcap 1.10 widens the two fields as signed 32-bit numbers, except
	 * in a file of the other byte order, where its swap yields unsigned
	 * ones; a capture reads the same through either reader, odd times too. */
	int64_t whole = m->swapped ? (int64_t)sec : (int64_t)(int32_t)sec;
	int64_t part = m->swapped ? (int64_t)frac : (int64_t)(int32_t)frac;
	if (m->nsec)
		part /= 1000;
	f->data = m->base + data;
	f->caplen = shown;
	f->wirelen = wirelen;
	f->ts_us = (uint64_t)whole * 1000000u + (uint64_t)part;
	f->linktype = m->dlt;
	m->off = data + caplen;
	return CAPTURE_OK;
}

const char *pcapmap_error(const struct pcapmap *m, long *offset)
{
	*offset = m->err_offset;
	return m->err;
}

void pcapmap_close(struct pcapmap *m)
{
	if (!m)
		return;
	if (m->mapped) {
		munmap((void *)m->base, m->len);
		close(m->fd);
	}
	free(m);
}
