/*
 * capture/pcapng.h -- a pcapng file reader, inside capture/ only (source.c
 * is its one caller; the rest of the program sees struct capture).
 *
 * libpcap 1.10 (Debian 12) stops reading a pcapng file at the second
 * interface description whose snapshot length or link type differs from
 * the first one's, and also at a second LINKTYPE_RAW interface (it compares
 * the mapped DLT with the raw value), losing the rest of the file.  Captures
 * taken on "any" or on several interfaces at once are made that way, so
 * pcapng is read here, block by block, with each interface's own link type,
 * snapshot length and time resolution.
 */
#ifndef EF_CAPTURE_PCAPNG_H
#define EF_CAPTURE_PCAPNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "capture.h"

struct pcapng;

/* True when the first 4 bytes are a pcapng section header's block type. */
bool pcapng_magic(const unsigned char first[4]);
/* Takes f, positioned at the start of the file, and closes it in
 * pcapng_close(); NULL with err on failure (f is then closed too). */
struct pcapng *pcapng_open(FILE *f, char *err, size_t errlen);
/* 1: a frame (its data valid until the next call; linktype, caplen,
 * wirelen, ts_us set, the rest left to the caller); 0: end of file;
 * -1: the file cannot be read further, err says why and *offset where
 * (the bad block's start). */
int pcapng_next(struct pcapng *r, struct capture_frame *f, long *offset, char *err, size_t errlen);
void pcapng_close(struct pcapng *r);

#endif
