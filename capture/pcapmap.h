/*
 * capture/pcapmap.h -- classic pcap files read from a memory map (private to
 * capture/; source.c is the only caller, the tests and fuzz harness aside).
 *
 * What it takes: magic a1b2c3d4 (microseconds) and a1b23c4d (nanoseconds),
 * either byte order, version 2.4, and a link type the decoder knows.
 * Anything else (pcapng, version 2.3's maybe-swapped lengths, a link type
 * libpcap must translate, NFLOG written in the other byte order) makes
 * pcapmap_open return NULL and libpcap reads the file as before.
 *
 * Every frame it hands out is exactly what libpcap's pcap_next_ex would have
 * handed out for the same file opened with microsecond precision, and every
 * error stops the file where libpcap would stop it, with libpcap's message
 * and the byte offset libpcap's ftell would report.
 */
#ifndef EF_CAPTURE_PCAPMAP_H
#define EF_CAPTURE_PCAPMAP_H

#include <stddef.h>
#include <stdint.h>

#include "capture.h"

struct pcapmap;

/* NULL: not a file this reader takes (or it cannot be mapped); use libpcap. */
struct pcapmap *pcapmap_open(const char *path);
/* The same over bytes in memory, which must outlive the reader (tests, fuzzing). */
struct pcapmap *pcapmap_open_buffer(const uint8_t *data, size_t len);
/* The file's link type as a libpcap DLT_* value. */
int pcapmap_linktype(const struct pcapmap *m);
/* CAPTURE_OK with the frame (data valid until the next call), CAPTURE_END at
 * the end, CAPTURE_ERROR when the file cannot be read further (the reader
 * stays at the error from then on). */
enum capture_status pcapmap_next(struct pcapmap *m, struct capture_frame *f);
/* After CAPTURE_ERROR: libpcap's message, and the byte offset in *offset. */
const char *pcapmap_error(const struct pcapmap *m, long *offset);
void pcapmap_close(struct pcapmap *m);

#endif
