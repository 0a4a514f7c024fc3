/*
 * tests/pcapgen.h -- what the capture generators (gen_evasion.c,
 * gen_workers.c) share: a pcap file written frame by frame on a fixed clock
 * (1 ms between frames, from 2026-11-18), and the byte helpers for building
 * headers.  Deterministic, so every run writes the same captures.
 */
#ifndef EF_TESTS_PCAPGEN_H
#define EF_TESTS_PCAPGEN_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct out {
	pcap_t *dead;
	pcap_dumper_t *dump;
	uint64_t ts_us;
};

/* prog names the generator in the message when the file cannot be made. */
static inline bool out_open(struct out *o, const char *prog, const char *path, int dlt)
{
	o->dead = pcap_open_dead(dlt, 65535);
	if (!o->dead)
		return false;
	o->dump = pcap_dump_open(o->dead, path);
	if (!o->dump) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, pcap_geterr(o->dead));
		pcap_close(o->dead);
		return false;
	}
	o->ts_us = 1795000000ull * 1000000u; /* 2026-11-18, fixed */
	return true;
}

static inline void out_write(struct out *o, const uint8_t *p, uint32_t len)
{
	struct pcap_pkthdr h = {
		.ts = {.tv_sec = (time_t)(o->ts_us / 1000000u), .tv_usec = (suseconds_t)(o->ts_us % 1000000u)},
		.caplen = len,
		.len = len,
	};
	pcap_dump((u_char *)o->dump, &h, p);
	o->ts_us += 1000; /* 1 ms between frames */
}

static inline bool out_close(struct out *o)
{
	bool ok = pcap_dump_flush(o->dump) == 0;
	pcap_dump_close(o->dump);
	pcap_close(o->dead);
	return ok;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* The Internet checksum, summed in 16-bit words, then folded. */
static inline uint32_t csum_add(uint32_t sum, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static inline uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

#endif
