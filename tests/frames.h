/*
 * tests/frames.h -- header builders the capture tests share, so that a
 * frame built in one test is built the same way in the others.
 */
#ifndef EF_TESTS_FRAMES_H
#define EF_TESTS_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A UDP header (checksum 0: none) and its payload at b; the bytes written. */
static inline size_t frame_put_udp(uint8_t *b, uint16_t sport, uint16_t dport, const void *data, size_t n)
{
	b[0] = (uint8_t)(sport >> 8);
	b[1] = (uint8_t)sport;
	b[2] = (uint8_t)(dport >> 8);
	b[3] = (uint8_t)dport;
	b[4] = (uint8_t)((8 + n) >> 8);
	b[5] = (uint8_t)(8 + n);
	b[6] = b[7] = 0;
	memcpy(b + 8, data, n);
	return 8 + n;
}

#endif
