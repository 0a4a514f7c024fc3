/*
 * capture/nflog_tlv.h -- the walk over an NFLOG message's attributes, for
 * both readers of them: the decoder (the payload and the gate's prefix of
 * a DLT_NFLOG frame, from a file or live) and the live NFLOG source (the
 * copy's number and time).  One walk, so both stop at the same malformed
 * attribute.
 *
 * An NFLOG frame is a 4-byte nfgenmsg, then attributes: a 2-byte length
 * (header included) and a 2-byte type in host byte order, each padded to
 * 4 bytes.  The type is returned whole: the kernel sets none of netlink's
 * flag bits (nested, network byte order) on these attributes, so an
 * attribute with one is not the attribute a reader looks for.
 */
#ifndef EF_CAPTURE_NFLOG_TLV_H
#define EF_CAPTURE_NFLOG_TLV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* The attribute at *off of the frame p[0..len): its type, value and
 * length, and *off moved past it; false at the end or at an attribute
 * that does not fit (the walk ends there; *off then says where). */
static inline bool nflog_tlv_next(const uint8_t *p, uint32_t len, uint32_t *off, uint16_t *type,
				  const uint8_t **value, uint32_t *value_len)
{
	uint16_t tlv_len, tlv_type;

	if (*off + 4 > len)
		return false;
	memcpy(&tlv_len, p + *off, 2);
	memcpy(&tlv_type, p + *off + 2, 2);
	if (tlv_len < 4 || *off + tlv_len > len)
		return false;
	*type = tlv_type;
	*value = p + *off + 4;
	*value_len = tlv_len - 4u;
	*off += (tlv_len + 3u) & ~3u;
	return true;
}

#endif
