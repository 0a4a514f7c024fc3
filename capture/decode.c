/*
 * capture/decode.c -- from a link-layer frame to the innermost IP datagram
 * and its transport header.
 *
 * Invariants:
 *  - Every read is bounds-checked against what was captured; a frame that
 *    ends early is SKIP_TRUNCATED, never a read past the buffer.
 *  - Lengths come from the IP header, clamped to what was captured (a
 *    snaplen-cut packet still yields its headers and the payload captured).
 *  - Tunnels are peeled up to MAX_TUNNEL_DEPTH; the packet handed on is the
 *    innermost one, because its destination is where the data goes.  A
 *    frame nested inside a frame (an Ethernet pseudowire, VXLAN, FabricPath)
 *    counts as a tunnel too, so no chain of them recurses without bound.
 *  - A frame is never guessed at: where the bytes do not say what follows
 *    (an MPLS payload, a UDP port), it is decoded only when exactly one
 *    reading is consistent, and otherwise counted as SKIP_UNEXAMINED, data
 *    the audit did not read, which the caller reports as such.
 *  - Every byte of a tunnel's payload is the inner packet's, or is counted:
 *    what follows an inner IP packet inside the tunnel is counted as sent
 *    (count_trailer()), bar an inner Ethernet frame's own padding.
 *  - Fragments are held in a bounded table and reassembled into a
 *    synthesized IP header (no options, no extension headers) followed by
 *    the whole datagram payload.  Where fragments overlap, the byte that
 *    arrived first is kept.
 */
#include "capture.h"
#include "nflog_tlv.h"

#include <netinet/in.h>
#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TUNNEL_DEPTH 4
#define FRAG_TIMEOUT_US (30u * 1000000u)
#define FRAG_MAX_RANGES 64
#define FRAG_BUCKETS 1024
#define MAX_DATAGRAM 65535u

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_NFLOG
#define DLT_NFLOG 239
#endif

struct frag_range {
	uint32_t start, end;
};

struct frag_entry {
	struct frag_entry *next_in_bucket;  /* also the given-up list's link */
	struct frag_entry *older, *newer;   /* age list, for timeouts and eviction */
	uint64_t first_us, last_us;         /* last_us: once given up, when that was */
	uint32_t file;                      /* of the last fragment, for the record */
	uint64_t index;
	struct ef_addr src, dst;
	uint32_t id;
	uint8_t proto;
	bool have_last, overlap;
	uint32_t total;                     /* payload length, known once the last fragment came */
	uint16_t n_ranges;
	struct frag_range ranges[FRAG_MAX_RANGES];
	uint8_t *data;
	uint32_t cap;
	/* Summed over the fragments: their IP options (struct packet's). */
	uint32_t options_len, options_unproven;
	/* The first fragment's tunnel ends; its ports once the entry is given up. */
	uint8_t n_via;
	bool via_overflow;
	struct ef_addr via[PACKET_MAX_VIA];
	uint16_t sport, dport;
	uint32_t held;                      /* bytes held, less the L4 header when known */
};

struct decoder {
	struct decoder_stats stats;
	/* The frame being decoded: where it came from, and whether the capture
	 * cut it (then IP lengths may run past what was captured). */
	uint32_t frame_file;
	uint64_t frame_index, frame_ts;
	bool frame_cut;
	/* Where the payload of the Ethernet frame last peeled starts, until the
	 * IP packet it carries takes it (count_trailer(): its padding). */
	const uint8_t *ethernet_payload;
	unsigned max_datagrams, n_datagrams;
	struct frag_entry *buckets[FRAG_BUCKETS];
	struct frag_entry *oldest, *newest;
	/* Datagrams given up, waiting for decoder_incomplete(): oldest first. */
	struct frag_entry *given_up, *given_up_tail;
	unsigned n_given_up;
	uint8_t out[40 + MAX_DATAGRAM];     /* a reassembled datagram */
};

static const char *const skip_names[SKIP__COUNT] = {
	[SKIP_LINKTYPE] = "unsupported link type",
	[SKIP_NOT_IP] = "not IP",
	[SKIP_TRUNCATED] = "truncated",
	[SKIP_MALFORMED] = "malformed",
	[SKIP_FRAG_DROPPED] = "fragments dropped",
	[SKIP_UNEXAMINED] = "data not examined",
	[SKIP_FRAG_INCOMPLETE] = "datagrams whose fragments never completed (not examined)",
};

const char *decode_skip_reason_name(enum decode_skip_reason r)
{
	return (unsigned)r < SKIP__COUNT ? skip_names[r] : "?";
}

uint64_t decode_unexamined_count(const uint64_t *skipped)
{
	return skipped[SKIP_UNEXAMINED] + skipped[SKIP_LINKTYPE] + skipped[SKIP_FRAG_INCOMPLETE];
}

bool decoder_linktype_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB: case DLT_LINUX_SLL: case DLT_LINUX_SLL2: case DLT_RAW:
	case DLT_IPV4: case DLT_IPV6: case DLT_NULL: case DLT_LOOP: case DLT_PPP:
	case DLT_PPP_SERIAL: case DLT_C_HDLC: case DLT_NFLOG:
#if DLT_RAW != 14
	case 14: /* DLT_RAW on OpenBSD-written files */
#endif
		return true;
	}
	return false;
}

struct decoder *decoder_new(unsigned max_datagrams)
{
	struct decoder *d = calloc(1, sizeof(*d));

	if (d)
		d->max_datagrams = max_datagrams ? max_datagrams : 1024;
	return d;
}

/* Takes e out of the table; the caller frees or keeps it. */
static void frag_detach(struct decoder *d, struct frag_entry *e)
{
	unsigned b = e->id % FRAG_BUCKETS;

	for (struct frag_entry **p = &d->buckets[b]; *p; p = &(*p)->next_in_bucket) {
		if (*p == e) {
			*p = e->next_in_bucket;
			break;
		}
	}
	if (e->older)
		e->older->newer = e->newer;
	else
		d->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		d->newest = e->older;
	d->n_datagrams--;
}

static void frag_unlink(struct decoder *d, struct frag_entry *e)
{
	frag_detach(d, e);
	free(e->data);
	free(e);
}

void decoder_free(struct decoder *d)
{
	if (!d)
		return;
	while (d->oldest)
		frag_unlink(d, d->oldest);
	while (d->given_up) {
		struct frag_entry *e = d->given_up;
		d->given_up = e->next_in_bucket;
		free(e);
	}
	free(d);
}

const struct decoder_stats *decoder_stats(const struct decoder *d)
{
	return &d->stats;
}

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static enum decode_result skip(struct decoder *d, enum decode_skip_reason why)
{
	d->stats.skipped[why]++;
	return DECODE_SKIP;
}

/* A frame that may carry data the decoder cannot read: counted, and
 * remembered so that the caller can name it. */
static enum decode_result unexamined(struct decoder *d, enum decode_skip_reason why, const char *kind,
				     uint32_t value)
{
	d->stats.unexamined_kind = kind;
	d->stats.unexamined_value = value;
	d->stats.unexamined_file = d->frame_file;
	d->stats.unexamined_index = d->frame_index;
	return skip(d, why);
}

static enum decode_result decode_ip(struct decoder *d, const uint8_t *p, uint32_t len,
				    uint64_t ts, struct packet *out, int depth);

static enum decode_result decode_ethernet(struct decoder *d, const uint8_t *p, uint32_t len,
					  uint64_t ts, struct packet *out, int depth);
static enum decode_result decode_mpls(struct decoder *d, const uint8_t *p, uint32_t len,
				      uint64_t ts, struct packet *out, int depth);

/* Ethertypes of link control and LAN-only protocols: frames that carry no
 * user data beyond the link, so skipping them leaves nothing unexamined.
 * Every other ethertype this decoder cannot read is data not examined. */
static bool ethertype_is_link_control(uint16_t type)
{
	switch (type) {
	case 0x0806: /* ARP */
	case 0x8035: /* RARP; Cisco SLARP on C-HDLC */
	case 0x2000: /* Cisco CDP on C-HDLC */
	case 0x8808: /* Ethernet flow control (PAUSE) */
	case 0x8809: /* slow protocols: LACP, marker, OAM */
	case 0x8863: /* PPPoE discovery */
	case 0x888e: /* 802.1X EAPOL */
	case 0x88c7: /* 802.11i pre-authentication */
	case 0x88cc: /* LLDP */
	case 0x88f7: /* PTP */
	case 0x8899: /* Realtek RRCP and loop detection */
	case 0x8902: /* 802.1ag CFM */
	case 0x893a: /* IEEE 1905.1 */
	case 0x9000: /* Ethernet configuration testing (loopback) */
		return true;
	}
	return false;
}

/* PPP protocol numbers (RFC 1661 section 2): 0x8000-0xffff are control
 * protocols (LCP, IPCP, CHAP, CCP, ...); below that, network protocols. */
static enum decode_result decode_ppp_protocol(struct decoder *d, uint16_t proto, const uint8_t *p, uint32_t len,
					      uint64_t ts, struct packet *out, int depth)
{
	switch (proto) {
	case 0x0021:
	case 0x0057:
		return decode_ip(d, p, len, ts, out, depth);
	case 0x0281: /* MPLS unicast and multicast (RFC 3032 section 4) */
	case 0x0283:
		return decode_mpls(d, p, len, ts, out, depth);
	}
	if (proto >= 0x8000)
		return skip(d, SKIP_NOT_IP);
	return unexamined(d, SKIP_UNEXAMINED, "PPP protocol", proto);
}

/* Ethertype dispatch shared by Ethernet, SLL, SLL2 and C-HDLC. */
static enum decode_result decode_ethertype(struct decoder *d, uint16_t type, const uint8_t *p,
					   uint32_t len, uint64_t ts, struct packet *out, int depth)
{
	switch (type) {
	case 0x0800:
	case 0x86dd:
		return decode_ip(d, p, len, ts, out, depth);
	case 0x8847: /* MPLS unicast, multicast */
	case 0x8848:
		return decode_mpls(d, p, len, ts, out, depth);
	case 0x8864: /* PPPoE session: 6-byte header, then a PPP protocol number */
		if (len < 8)
			return skip(d, SKIP_TRUNCATED);
		return decode_ppp_protocol(d, rd16(p + 6), p + 8, len - 8, ts, out, depth);
	case 0x8903: /* Cisco FabricPath: a 2-byte FTag/TTL, then the original frame */
		if (len < 2)
			return skip(d, SKIP_TRUNCATED);
		if (depth >= MAX_TUNNEL_DEPTH)
			return unexamined(d, SKIP_UNEXAMINED, "ethertype", type);
		return decode_ethernet(d, p + 2, len - 2, ts, out, depth + 1);
	}
	if (type < 0x0600 || ethertype_is_link_control(type))
		return skip(d, SKIP_NOT_IP); /* an 802.3 length (LLC) on SLL; control */
	return unexamined(d, SKIP_UNEXAMINED, "ethertype", type);
}

/* The ethertype after any stack of 802.1Q, 802.1ad (QinQ) and old 0x9100
 * tags; *off is where its payload starts.  False when the tags run past len. */
static bool ethernet_type(const uint8_t *p, uint32_t len, uint16_t *type, uint32_t *off)
{
	if (len < 14)
		return false;
	*type = rd16(p + 12);
	*off = 14;
	while (*type == 0x8100 || *type == 0x88a8 || *type == 0x9100) {
		if (len < *off + 4)
			return false;
		*type = rd16(p + *off + 2);
		*off += 4;
	}
	return true;
}

static enum decode_result decode_ethernet(struct decoder *d, const uint8_t *p, uint32_t len,
					  uint64_t ts, struct packet *out, int depth)
{
	uint16_t type;
	uint32_t off;

	if (!ethernet_type(p, len, &type, &off))
		return skip(d, SKIP_TRUNCATED);
	d->ethernet_payload = p + off;
	/* An 802.3 length: 802.2 LLC.  Only SNAP with a zero OUI (RFC 1042)
	 * carries an ethertype; the other SAPs are STP, IS-IS, CDP, NetBIOS
	 * and the like, which do not leave the LAN as they are. */
	if (type < 0x0600) {
		if (len < off + 8)
			return skip(d, SKIP_TRUNCATED);
		const uint8_t *llc = p + off;
		if (llc[0] == 0xaa && llc[1] == 0xaa && llc[2] == 0x03 && !llc[3] && !llc[4] && !llc[5])
			return decode_ethertype(d, rd16(llc + 6), llc + 8, len - off - 8, ts, out, depth);
		return skip(d, SKIP_NOT_IP);
	}
	return decode_ethertype(d, type, p + off, len - off, ts, out, depth);
}

/* PPP protocol numbers, after an optional HDLC address/control pair. */
static enum decode_result decode_ppp(struct decoder *d, const uint8_t *p, uint32_t len,
				     uint64_t ts, struct packet *out)
{
	if (len >= 2 && p[0] == 0xff && p[1] == 0x03) {
		p += 2;
		len -= 2;
	}
	if (len < 2)
		return skip(d, SKIP_TRUNCATED);
	return decode_ppp_protocol(d, rd16(p), p + 2, len - 2, ts, out, 0);
}

/* ---- MPLS -------------------------------------------------------------- */

/* An IP header that is consistent in itself: an IPv4 header with a valid
 * checksum and lengths, an IPv6 header whose payload length fits.  A
 * snaplen-cut frame may end before the lengths do. */
static bool ip_plausible(const struct decoder *d, const uint8_t *p, uint32_t len)
{
	if (len >= 20 && p[0] >> 4 == 4) {
		uint32_t hl = (uint32_t)(p[0] & 0x0f) * 4, total = rd16(p + 2), sum = 0;
		if (hl < 20 || hl > len || total < hl || (total > len && !d->frame_cut))
			return false;
		for (uint32_t i = 0; i < hl; i += 2)
			sum += rd16(p + i);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		return sum == 0xffff;
	}
	if (len >= 40 && p[0] >> 4 == 6)
		return 40u + rd16(p + 4) <= len || d->frame_cut;
	return false;
}

/* An Ethernet frame whose ethertype is one this decoder reads, and whose
 * payload is consistent with it as far as can be checked. */
static bool ethernet_plausible(const struct decoder *d, const uint8_t *p, uint32_t len)
{
	uint16_t type;
	uint32_t off;

	if (!ethernet_type(p, len, &type, &off))
		return false;
	switch (type) {
	case 0x0800:
	case 0x86dd:
		return ip_plausible(d, p + off, len - off);
	case 0x8847:
	case 0x8848:
		return len >= off + 4;
	case 0x8864:
		return len >= off + 8 && p[off] == 0x11 && p[off + 1] == 0;
	}
	return false;
}

/*
 * An MPLS label stack (RFC 3032) and what follows its bottom label.  The
 * stack names no protocol: what a label carries is agreed between routers
 * out of band.  The explicit-null labels say IPv4 (0) and IPv6 (2).  For
 * the others, every reading is tried: IPv4 or IPv6 by the first nibble, an
 * Ethernet pseudowire after a control word (RFC 4385: first nibble 0;
 * RFC 4448) and one without (a destination MAC can begin with 4, 6 or 0,
 * which is why RFC 4928 asks for the control word).  Exactly one
 * consistent reading is decoded; none or several is data not examined,
 * because a wrong guess would judge the flow by an address that is not
 * its destination.  The stack's length is bounded by the frame's, as each
 * label takes 4 bytes.
 */
static enum decode_result decode_mpls(struct decoder *d, const uint8_t *p, uint32_t len,
				      uint64_t ts, struct packet *out, int depth)
{
	uint32_t off = 0, label;

	for (;;) {
		if (off + 4 > len)
			return skip(d, SKIP_TRUNCATED);
		uint32_t shim = rd32(p + off);
		off += 4;
		label = shim >> 12;
		if (shim & 0x100) /* bottom of stack */
			break;
	}
	p += off;
	len -= off;
	if (label == 0 || label == 2)
		return decode_ip(d, p, len, ts, out, depth);
	if (len < 1)
		return skip(d, SKIP_TRUNCATED);

	bool as_ip = ip_plausible(d, p, len);
	/* A control word for Ethernet: flags, fragment bits and length (used
	 * only for padded short frames) all zero but the length. */
	bool as_cw_ethernet = len >= 4 && p[0] == 0 && !(p[1] & 0xc0) && ethernet_plausible(d, p + 4, len - 4);
	bool as_ethernet = ethernet_plausible(d, p, len);
	if (as_ip + as_cw_ethernet + as_ethernet != 1)
		return unexamined(d, SKIP_UNEXAMINED, "MPLS payload starting", p[0]);
	if (as_ip)
		return decode_ip(d, p, len, ts, out, depth);
	if (depth >= MAX_TUNNEL_DEPTH)
		return unexamined(d, SKIP_UNEXAMINED, "MPLS pseudowire at depth", (uint32_t)depth);
	d->stats.tunnels++;
	if (as_cw_ethernet)
		return decode_ethernet(d, p + 4, len - 4, ts, out, depth + 1);
	return decode_ethernet(d, p, len, ts, out, depth + 1);
}

/* The fate a copy's NFLOG prefix names (NUL-terminated, as the kernel
 * writes it; tolerated without), or unknown for any other prefix. */
static enum ef_packet_fate nflog_fate(const uint8_t *v, uint32_t len)
{
	static const struct {
		const char *prefix;
		enum ef_packet_fate fate;
	} fates[] = {{EF_FATE_PREFIX_PASSED, EF_FATE_PASSED}, {EF_FATE_PREFIX_HELD, EF_FATE_HELD}};

	if (len && v[len - 1] == 0)
		len--;
	for (size_t i = 0; i < sizeof(fates) / sizeof(fates[0]); i++)
		if (len == strlen(fates[i].prefix) && !memcmp(v, fates[i].prefix, len))
			return fates[i].fate;
	return EF_FATE_UNKNOWN;
}

/* NFLOG: a 4-byte header then TLVs in host byte order, each padded to 4
 * bytes; the packet is the NFULA_PAYLOAD (type 9) attribute, and the
 * gate's verdict on it the NFULA_PREFIX (type 10), in whichever order
 * they come.  A malformed TLV ends the walk: before the payload, the frame
 * is skipped; after it, the payload is decoded with what was read. */
static enum decode_result decode_nflog(struct decoder *d, const uint8_t *p, uint32_t len,
				       uint64_t ts, struct packet *out)
{
	const uint8_t *payload = NULL;
	uint32_t off = 4, payload_len = 0;
	enum ef_packet_fate fate = EF_FATE_UNKNOWN;

	const uint8_t *v;
	uint32_t vlen;
	uint16_t type;

	if (len < 4)
		return skip(d, SKIP_TRUNCATED);
	while (nflog_tlv_next(p, len, &off, &type, &v, &vlen)) {
		if (type == 9 && !payload) {
			payload = v;
			payload_len = vlen;
		} else if (type == 10) {
			fate = nflog_fate(v, vlen);
		}
	}
	if (!payload)
		return skip(d, off + 4 <= len ? SKIP_MALFORMED : SKIP_NOT_IP);
	out->fate = (uint8_t)fate;
	return decode_ip(d, payload, payload_len, ts, out, 0);
}

static enum decode_result decode_link(struct decoder *d, const struct capture_frame *f, struct packet *out)
{
	const uint8_t *p = f->data;
	uint32_t len = f->caplen;

	switch (f->linktype) {
	case DLT_EN10MB:
		return decode_ethernet(d, p, len, f->ts_us, out, 0);
	case DLT_LINUX_SLL:
		if (len < 16)
			return skip(d, SKIP_TRUNCATED);
		return decode_ethertype(d, rd16(p + 14), p + 16, len - 16, f->ts_us, out, 0);
	case DLT_LINUX_SLL2:
		if (len < 20)
			return skip(d, SKIP_TRUNCATED);
		return decode_ethertype(d, rd16(p), p + 20, len - 20, f->ts_us, out, 0);
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
#if DLT_RAW != 14
	case 14:
#endif
		return decode_ip(d, p, len, f->ts_us, out, 0);
	case DLT_NULL:
	case DLT_LOOP: {
		/* The family is in the writer's byte order (NULL) or network
		 * order (LOOP); the values that matter are small, so look at both
		 * ends.  AF_INET6 differs between BSDs: 24, 28, 30. */
		if (len < 4)
			return skip(d, SKIP_TRUNCATED);
		uint32_t fam = p[0] | p[3];
		if (fam != 2 && fam != 24 && fam != 28 && fam != 30 && fam != 10)
			return unexamined(d, SKIP_UNEXAMINED, "address family", fam);
		return decode_ip(d, p + 4, len - 4, f->ts_us, out, 0);
	}
	case DLT_PPP:
	case DLT_PPP_SERIAL:
		return decode_ppp(d, p, len, f->ts_us, out);
	case DLT_C_HDLC:
		if (len < 4)
			return skip(d, SKIP_TRUNCATED);
		return decode_ethertype(d, rd16(p + 2), p + 4, len - 4, f->ts_us, out, 0);
	case DLT_NFLOG:
		return decode_nflog(d, p, len, f->ts_us, out);
	}
	return unexamined(d, SKIP_LINKTYPE, "link type", (uint32_t)f->linktype);
}

/* What the decoder keeps of the frame at hand, decoded or passed: the next
 * datagram given up is handed on at its time (frag_give_up()). */
static void frame_begin(struct decoder *d, const struct capture_frame *f)
{
	d->stats.frames++;
	d->frame_file = f->file;
	d->frame_index = f->index;
	d->frame_ts = f->ts_us;
	d->frame_cut = f->caplen < f->wirelen;
	d->ethernet_payload = NULL;
}

enum decode_result decoder_decode(struct decoder *d, const struct capture_frame *f, struct packet *out)
{
	frame_begin(d, f);
	memset(out, 0, sizeof(*out));
	out->ts_us = f->ts_us;
	out->file = f->file;
	enum decode_result r = decode_link(d, f, out);
	if (r == DECODE_OK)
		d->stats.decoded++;
	return r;
}

/* ---- transport -------------------------------------------------------- */

/* PPP inside enhanced GRE (PPTP): the address/control pair and a protocol
 * field that may be compressed to one byte (RFC 1661 6.5). */
static enum decode_result decode_pptp_ppp(struct decoder *d, const uint8_t *p, uint32_t len,
					  uint64_t ts, struct packet *out, int depth)
{
	if (len >= 2 && p[0] == 0xff && p[1] == 0x03) {
		p += 2;
		len -= 2;
	}
	if (len < 1)
		return DECODE_OK;
	uint16_t proto = p[0];
	uint32_t hl = 1;
	if (!(p[0] & 1)) {
		if (len < 2)
			return DECODE_OK;
		proto = rd16(p);
		hl = 2;
	}
	if (proto != 0x21 && proto != 0x57)
		return DECODE_OK; /* LCP, CHAP, compressed data: the GRE flow itself */
	d->stats.tunnels++;
	return decode_ip(d, p + hl, len - hl, ts, out, depth + 1);
}

/*
 * Tunnel headers carry fields of their own outside the inner packet, and a
 * receiver that skips what it does not know never checks them: bytes the
 * sender may fill with anything, which no encryption of the inner flow
 * covers.  Like an unknown IP option, such bytes are counted as sent
 * (options_len, so bytes_out) and as unproven (options_unproven, bounded
 * per side by the classifier), and the inner packet stays the flow they
 * belong to.  Fields a format fixes exactly -- a small identifier, a
 * sequence number, zero padding -- are the tunnel's own header and are not
 * counted, as the base headers are not: genuine tunnels keep their counts.
 */
static bool all_zero(const uint8_t *p, uint32_t n);

static void count_tunnel_data(struct packet *out, uint32_t n)
{
	out->options_len += n;
	out->options_unproven += n;
}

/*
 * GRE's routing field (RFC 1701 2.2, the R bit): Source Route Entries of
 * address family (2 bytes), SRE offset (1), SRE length (1) and that many
 * bytes of routing information, ended by a NULL SRE of family 0 and length
 * 0.  RFC 2784 retired it and Linux drops such packets, but routers forward
 * GRE by its IP header and the far end can read the raw packet, so every
 * SRE is data nothing vouches for (its "addresses" steer nothing we could
 * follow); only a NULL SRE of zeros carries nothing.  Returns the field's
 * length, or 0 when the list runs past the packet: then nothing is counted
 * and the caller keeps the whole GRE packet as the flow's payload.
 */
static uint32_t gre_routing(struct packet *out, const uint8_t *p, uint32_t len)
{
	for (uint32_t off = 0; off + 4 <= len; off += 4u + p[off + 3]) {
		if (rd16(p + off) || p[off + 3])
			continue;
		out->options_len += off + 4;
		out->options_unproven += off + (all_zero(p + off, 4) ? 0 : 4);
		return off + 4;
	}
	return 0;
}

static enum decode_result decode_gre(struct decoder *d, const uint8_t *p, uint32_t len,
				     uint64_t ts, struct packet *out, int depth)
{
	if (len < 4)
		return skip(d, SKIP_TRUNCATED);
	uint16_t flags = rd16(p), type = rd16(p + 2);
	uint32_t off = 4;

	if ((flags & 0x7) == 1) { /* enhanced GRE (PPTP): length, call id, seq, ack */
		off = 8;
		if (flags & 0x1000) off += 4;
		if (flags & 0x0080) off += 4;
		if (len < off)
			return skip(d, SKIP_TRUNCATED);
		if (type != 0x880b)
			return DECODE_OK;
		return decode_pptp_ppp(d, p + off, len - off, ts, out, depth);
	}
	if ((flags & 0x7) != 0)
		return DECODE_OK;
	if (flags & 0xc000) off += 4; /* checksum + offset, with C or R */
	if (flags & 0x2000) off += 4; /* key */
	if (flags & 0x1000) off += 4; /* sequence */
	if (len < off)
		return skip(d, SKIP_TRUNCATED);
	if (flags & 0x4000) { /* routing, last */
		uint32_t n = gre_routing(out, p + off, len - off);
		if (!n)
			return DECODE_OK; /* a broken list: the GRE packet itself is the flow */
		off += n;
	}
	d->stats.tunnels++;
	if (type == 0x6558) /* transparent Ethernet bridging */
		return decode_ethernet(d, p + off, len - off, ts, out, depth + 1);
	if (type == 0x0800 || type == 0x86dd)
		return decode_ip(d, p + off, len - off, ts, out, depth + 1);
	if (type == 0x8847 || type == 0x8848) /* MPLS in GRE (RFC 4023) */
		return decode_mpls(d, p + off, len - off, ts, out, depth + 1);
	return DECODE_OK; /* the GRE packet itself is the flow */
}

/*
 * GTP-U extension headers (3GPP TS 29.281 5.2): a length in 4-byte units,
 * contents, and the next type.  Those a user plane sends on every G-PDU
 * have a fixed size the specification gives: Service Class Indicator, UDP
 * Port and PDCP PDU Number (1 unit), Long PDCP PDU Number (2 units), and
 * the PDU Session Container of 5G's N3/N9 (TS 38.415), whose PDU type and
 * QoS flow identifier, with a paging policy indicator or a sequence number,
 * fit in 1 or 2 units.  They carry those small fields and are the header.
 * Any other type (RAN containers, which belong to X2/Xn forwarding, not to
 * traffic leaving a site) or a longer one is data nothing vouches for: a
 * PDU Session Container with QoS-monitoring timestamps (7 units and more,
 * 24 bytes of times) is counted as such, a rare configuration.
 */
static bool gtpu_extension_proven(uint8_t type, uint8_t units)
{
	switch (type) {
	case 0x20: /* Service Class Indicator */
	case 0x40: /* UDP Port */
	case 0xc0: /* PDCP PDU Number */
		return units == 1;
	case 0x03: /* Long PDCP PDU Number */
	case 0x82:
		return units == 2;
	case 0x85: /* PDU Session Container */
		return units <= 2;
	}
	return false;
}

/*
 * Geneve options (RFC 8926 3.5): class (2 bytes), type, length in 4-byte
 * units after the 4-byte option header, data.  They are opaque metadata of
 * whoever registered the class, and a receiver skips the ones it does not
 * know (unless critical, which only the receiver checks).  Options of the
 * classes deployments use on every packet with at most 8 bytes of data --
 * Linux 0x0100, Open vSwitch 0x0101, OVN 0x0102 (logical ports, 4 bytes),
 * In-band Network Telemetry 0x0103, VMware 0x0104, Amazon 0x0108 (GWLB:
 * endpoint and attachment ids, flow cookie, 32 bytes in all) -- are the
 * header, up to 32 bytes of them a packet, so that many small options
 * cannot add up to a channel.  Other classes (unassigned, experimental),
 * longer options (INT's per-hop telemetry among them), options past that
 * allowance and a broken list are data nothing vouches for.
 * Returns the unproven bytes of the n bytes of options at o.
 */
#define GENEVE_METADATA_MAX 32u

static uint32_t geneve_unproven(const uint8_t *o, uint32_t n)
{
	uint32_t proven = 0, unproven = 0;

	for (uint32_t i = 0; i < n;) {
		uint32_t olen = i + 4 <= n ? 4u + (uint32_t)(o[i + 3] & 0x1f) * 4u : n - i;
		if (i + olen > n)
			return unproven + (n - i);
		uint16_t option_class = rd16(o + i);
		bool known = (option_class >= 0x0100 && option_class <= 0x0104) || option_class == 0x0108;
		if (known && olen <= 12 && proven + olen <= GENEVE_METADATA_MAX)
			proven += olen;
		else
			unproven += olen;
		i += olen;
	}
	return unproven;
}

/*
 * UDP tunnels, peeled like GRE so that the inner destination decides:
 * VXLAN (RFC 7348) on 4789 and on 8472 (Linux's and flannel's default),
 * Geneve (RFC 8926) on 6081, GTP-U (3GPP TS 29.281) G-PDUs on 2152.  As
 * the receiving tunnel endpoint does, the destination port says which:
 * VXLAN and Geneve senders pick the source port from a flow hash.  The
 * header must then be what the endpoint accepts (VXLAN's I flag, Geneve
 * version 0, GTP version 1 and a G-PDU); a datagram that is not stays the
 * UDP flow it is.  A tunnel on another port is judged as a flow to its
 * outer endpoint, as any relay is: only that endpoint knows it decapsulates.
 * Returns false when p is no tunnel; *r is then untouched.
 */
static bool udp_tunnel_port(uint16_t dport)
{
	return dport == 4789 || dport == 8472 || dport == 6081 || dport == 2152;
}

static bool decode_udp_tunnel(struct decoder *d, uint16_t dport, const uint8_t *p, uint32_t len,
			      uint64_t ts, struct packet *out, int depth, enum decode_result *r)
{
	uint32_t off;

	/* One list of ports for this and decoder_peek(), which must decline
	 * every datagram this may peel. */
	if (!udp_tunnel_port(dport))
		return false;
	switch (dport) {
	case 4789:
	case 8472:
		if (len < 8 + 14 || !(p[0] & 0x08))
			return false;
		d->stats.tunnels++;
		*r = decode_ethernet(d, p + 8, len - 8, ts, out, depth + 1);
		return true;
	case 6081: {
		if (len < 8 || p[0] >> 6 != 0)
			return false;
		off = 8 + (uint32_t)(p[0] & 0x3f) * 4;
		uint16_t type = rd16(p + 2);
		if (len < off || (type != 0x6558 && type != 0x0800 && type != 0x86dd))
			return false;
		d->stats.tunnels++;
		if (off > 8)
			count_tunnel_data(out, geneve_unproven(p + 8, off - 8));
		*r = type == 0x6558 ? decode_ethernet(d, p + off, len - off, ts, out, depth + 1)
				    : decode_ip(d, p + off, len - off, ts, out, depth + 1);
		return true;
	}
	case 2152:
		if (len < 8 || p[0] >> 5 != 1 || p[1] != 0xff) /* version 1, a G-PDU */
			return false;
		off = 8;
		uint32_t unproven = 0;
		if (p[0] & 0x07) { /* sequence number, N-PDU number and next extension type */
			if (len < 12)
				return false;
			uint8_t next = p[11];
			off = 12;
			/* Each extension: a length in 4-byte units, then its next type.
			 * One that runs past the datagram leaves it the UDP flow it is,
			 * every byte its payload. */
			while (next) {
				if (len < off + 4 || !p[off])
					return false;
				if (!gtpu_extension_proven(next, p[off]))
					unproven += (uint32_t)p[off] * 4;
				off += (uint32_t)p[off] * 4;
				if (len < off)
					return false;
				next = p[off - 1];
			}
		}
		if (len <= off || (p[off] >> 4 != 4 && p[off] >> 4 != 6))
			return false;
		d->stats.tunnels++;
		if (unproven)
			count_tunnel_data(out, unproven);
		*r = decode_ip(d, p + off, len - off, ts, out, depth + 1);
		return true;
	}
	return false;
}

static void count_tcp_options(struct packet *out, const uint8_t *p, uint32_t n);
static void count_surplus(struct packet *out, const uint8_t *p, uint32_t n);

/* Fills ports, flags and payload for the transport protocol at p.  The
 * packet's addresses and l3 fields are already set. */
static enum decode_result decode_l4(struct decoder *d, uint8_t proto, const uint8_t *p, uint32_t len,
				    uint64_t ts, struct packet *out, int depth)
{
	out->l4 = proto;
	out->payload = p;
	out->payload_len = len;
	switch (proto) {
	case IPPROTO_TCP: {
		if (len < 20)
			return skip(d, SKIP_TRUNCATED);
		uint32_t hl = (uint32_t)(p[12] >> 4) * 4;
		if (hl < 20) /* routers forward it whole: its bytes left, unread */
			return unexamined(d, SKIP_UNEXAMINED, "TCP segment with a data offset under 5:", hl / 4);
		if (hl > len)
			return skip(d, SKIP_TRUNCATED);
		out->sport = rd16(p);
		out->dport = rd16(p + 2);
		out->tcp_seq = rd32(p + 4);
		out->tcp_ack = rd32(p + 8);
		out->tcp_flags = p[13];
		out->payload = p + hl;
		out->payload_len = len - hl;
		if (hl > 20)
			count_tcp_options(out, p + 20, hl - 20);
		return DECODE_OK;
	}
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		if (len < 8)
			return skip(d, SKIP_TRUNCATED);
		out->sport = rd16(p);
		out->dport = rd16(p + 2);
		if (proto == IPPROTO_UDP) {
			uint16_t ulen = rd16(p + 4);
			if (ulen >= 8 && ulen < len) {
				/* len comes from the IP header, so Ethernet padding is
				 * already gone: what follows the UDP length is inside
				 * the IP datagram and reaches the destination, though
				 * no socket reads it. */
				count_surplus(out, p + ulen, len - ulen);
				len = ulen;
			}
		}
		out->payload = p + 8;
		out->payload_len = len - 8;
		if (proto == IPPROTO_UDP && depth < MAX_TUNNEL_DEPTH) {
			enum decode_result r;
			if (decode_udp_tunnel(d, out->dport, out->payload, out->payload_len, ts, out, depth, &r))
				return r;
		}
		return DECODE_OK;
	case IPPROTO_SCTP:
		if (len < 12)
			return skip(d, SKIP_TRUNCATED);
		out->sport = rd16(p);
		out->dport = rd16(p + 2);
		out->payload = p + 12;
		out->payload_len = len - 12;
		return DECODE_OK;
	case IPPROTO_IPIP:
	case IPPROTO_IPV6:
		/* Deeper than the bound: the data inside is not examined, and the
		 * audit says so (never the outer packet judged as the flow). */
		if (depth >= MAX_TUNNEL_DEPTH)
			return unexamined(d, SKIP_UNEXAMINED, "tunnel nested deeper than", MAX_TUNNEL_DEPTH);
		d->stats.tunnels++;
		return decode_ip(d, p, len, ts, out, depth + 1);
	case IPPROTO_GRE:
		if (depth >= MAX_TUNNEL_DEPTH)
			return unexamined(d, SKIP_UNEXAMINED, "tunnel nested deeper than", MAX_TUNNEL_DEPTH);
		return decode_gre(d, p, len, ts, out, depth);
	}
	return DECODE_OK;
}

/* ---- fragments -------------------------------------------------------- */

static struct frag_entry *frag_find(struct decoder *d, const struct packet *key, uint32_t id, uint8_t proto)
{
	for (struct frag_entry *e = d->buckets[id % FRAG_BUCKETS]; e; e = e->next_in_bucket)
		if (e->id == id && e->proto == proto && !memcmp(&e->src, &key->src, sizeof(e->src)) &&
		    !memcmp(&e->dst, &key->dst, sizeof(e->dst)))
			return e;
	return NULL;
}

/*
 * A datagram that will never be handed on whole.  Its fragments left all
 * the same (a receiver that keeps them, or a cooperating one, reads them),
 * so it is counted as data not examined and kept, without its data, for
 * decoder_incomplete(): the first fragment, when it came, names the ports.
 */
static void frag_give_up(struct decoder *d, struct frag_entry *e)
{
	uint32_t held = 0, hl = 0;

	frag_detach(d, e);
	for (uint16_t i = 0; i < e->n_ranges; i++)
		held += e->ranges[i].end - e->ranges[i].start;
	if (e->n_ranges && e->ranges[0].start == 0) {
		const uint8_t *p = e->data;
		uint32_t n = e->ranges[0].end;
		switch (e->proto) {
		case IPPROTO_TCP:
			hl = n >= 20 ? (uint32_t)(p[12] >> 4) * 4 : 0;
			hl = hl >= 20 && hl <= n ? hl : 0;
			break;
		case IPPROTO_UDP:
		case IPPROTO_UDPLITE:
			hl = n >= 8 ? 8 : 0;
			break;
		case IPPROTO_SCTP:
			hl = n >= 12 ? 12 : 0;
			break;
		}
		if (hl) {
			e->sport = rd16(p);
			e->dport = rd16(p + 2);
		}
	}
	e->held = held - hl;
	/* Handed on now, in the packets' order: a time from the past would
	 * move a packet clock (classify.h) forward twice. */
	e->last_us = d->frame_ts;
	free(e->data);
	e->data = NULL;
	d->stats.skipped[SKIP_FRAG_INCOMPLETE]++;
	d->stats.unexamined_kind = "datagram whose fragments never completed, IP protocol";
	d->stats.unexamined_value = e->proto;
	d->stats.unexamined_file = e->file;
	d->stats.unexamined_index = e->index;
	if (d->n_given_up >= d->max_datagrams) { /* a reader that does not drain: bounded, still counted */
		struct frag_entry *old = d->given_up;
		d->given_up = old->next_in_bucket;
		d->n_given_up--;
		free(old);
	}
	e->next_in_bucket = NULL;
	if (d->given_up)
		d->given_up_tail->next_in_bucket = e;
	else
		d->given_up = e;
	d->given_up_tail = e;
	d->n_given_up++;
}

bool decoder_incomplete(struct decoder *d, struct packet *out)
{
	struct frag_entry *e = d->given_up;

	if (!e)
		return false;
	d->given_up = e->next_in_bucket;
	d->n_given_up--;
	memset(out, 0, sizeof(*out));
	out->ts_us = e->last_us;
	out->src = e->src;
	out->dst = e->dst;
	out->l4 = e->proto;
	out->sport = e->sport;
	out->dport = e->dport;
	out->n_via = e->n_via;
	out->via_overflow = e->via_overflow;
	memcpy(out->via, e->via, sizeof(out->via));
	out->file = e->file;
	out->options_len = e->options_len;
	out->options_unproven = e->options_unproven;
	out->incomplete = true;
	out->unexamined_len = e->held;
	free(e);
	return true;
}

void decoder_give_up_fragments(struct decoder *d)
{
	while (d->oldest)
		frag_give_up(d, d->oldest);
}

static void frag_expire(struct decoder *d, uint64_t now)
{
	while (d->oldest && now > d->oldest->first_us + FRAG_TIMEOUT_US)
		frag_give_up(d, d->oldest);
}

static struct frag_entry *frag_new(struct decoder *d, const struct packet *key, uint32_t id, uint8_t proto, uint64_t ts)
{
	if (d->n_datagrams >= d->max_datagrams)
		frag_give_up(d, d->oldest);
	struct frag_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->src = key->src;
	e->dst = key->dst;
	e->id = id;
	e->proto = proto;
	e->first_us = ts;
	e->n_via = key->n_via;
	e->via_overflow = key->via_overflow;
	memcpy(e->via, key->via, sizeof(e->via));
	unsigned b = id % FRAG_BUCKETS;
	e->next_in_bucket = d->buckets[b];
	d->buckets[b] = e;
	e->older = d->newest;
	if (d->newest)
		d->newest->newer = e;
	else
		d->oldest = e;
	d->newest = e;
	d->n_datagrams++;
	return e;
}

/* Copies [start, end) of a fragment into the datagram, keeping bytes that
 * are already there (first copy wins).  Ranges stay sorted and merged. */
static bool frag_add(struct frag_entry *e, uint32_t start, const uint8_t *p, uint32_t len)
{
	uint32_t end = start + len;

	if (end > MAX_DATAGRAM)
		return false;
	if (end > e->cap) {
		uint32_t cap = e->cap ? e->cap : 2048;
		while (cap < end)
			cap *= 2;
		if (cap > MAX_DATAGRAM)
			cap = MAX_DATAGRAM;
		uint8_t *grown = realloc(e->data, cap);
		if (!grown)
			return false;
		e->data = grown;
		e->cap = cap;
	}
	/* Fill the gaps between existing ranges inside [start, end). */
	uint32_t pos = start;
	for (uint16_t i = 0; i < e->n_ranges && pos < end; i++) {
		struct frag_range r = e->ranges[i];
		if (r.end <= pos)
			continue;
		if (r.start >= end)
			break;
		if (r.start > pos)
			memcpy(e->data + pos, p + (pos - start), r.start - pos);
		e->overlap = true;
		pos = r.end;
	}
	if (pos < end)
		memcpy(e->data + pos, p + (pos - start), end - pos);

	/* Insert and merge the range. */
	struct frag_range merged = {start, end};
	struct frag_range out[FRAG_MAX_RANGES + 1];
	uint16_t n = 0;
	bool placed = false;
	for (uint16_t i = 0; i < e->n_ranges; i++) {
		struct frag_range r = e->ranges[i];
		if (r.end < merged.start) {
			out[n++] = r;
		} else if (r.start > merged.end) {
			if (!placed) {
				out[n++] = merged;
				placed = true;
			}
			out[n++] = r;
		} else {
			merged.start = r.start < merged.start ? r.start : merged.start;
			merged.end = r.end > merged.end ? r.end : merged.end;
		}
	}
	if (!placed)
		out[n++] = merged;
	if (n > FRAG_MAX_RANGES)
		return false;
	memcpy(e->ranges, out, n * sizeof(out[0]));
	e->n_ranges = n;
	return true;
}

/*
 * One fragment of a datagram whose addresses are already in out.  Returns
 * DECODE_FRAGMENT while incomplete; when complete, rebuilds the datagram in
 * d->out behind a synthesized header and decodes its transport.
 */
static enum decode_result defragment(struct decoder *d, struct packet *out, uint32_t id, uint8_t proto,
				     uint32_t offset, bool more, const uint8_t *p, uint32_t len,
				     uint64_t ts, int depth)
{
	d->stats.fragments++;
	frag_expire(d, ts);
	struct frag_entry *e = frag_find(d, out, id, proto);
	if (!e && !(e = frag_new(d, out, id, proto, ts)))
		return skip(d, SKIP_FRAG_DROPPED);
	e->last_us = ts;
	e->file = d->frame_file;
	e->index = d->frame_index;
	e->options_len += out->options_len;
	e->options_unproven += out->options_unproven;
	if (!more) {
		if (e->have_last && e->total != offset + len) {
			frag_give_up(d, e);
			return skip(d, SKIP_MALFORMED);
		}
		e->have_last = true;
		e->total = offset + len;
	}
	if (!frag_add(e, offset, p, len)) {
		frag_give_up(d, e);
		return skip(d, SKIP_FRAG_DROPPED);
	}
	if (!e->have_last || e->n_ranges != 1 || e->ranges[0].start != 0 || e->ranges[0].end < e->total)
		return DECODE_FRAGMENT;

	uint32_t total = e->total, hl = out->src.family == 4 ? 20 : 40;
	uint8_t *h = d->out;
	memset(h, 0, hl);
	if (out->src.family == 4) {
		h[0] = 0x45;
		h[2] = (uint8_t)((hl + total) >> 8);
		h[3] = (uint8_t)(hl + total);
		h[8] = 64;
		h[9] = proto;
		memcpy(h + 12, out->src.b, 4);
		memcpy(h + 16, out->dst.b, 4);
	} else {
		h[0] = 0x60;
		h[4] = (uint8_t)(total >> 8);
		h[5] = (uint8_t)total;
		h[6] = proto;
		h[7] = 64;
		memcpy(h + 8, out->src.b, 16);
		memcpy(h + 24, out->dst.b, 16);
	}
	if (hl + total > sizeof(d->out) || (out->src.family == 4 && hl + total > 65535)) {
		frag_give_up(d, e);
		return skip(d, SKIP_MALFORMED);
	}
	memcpy(h + hl, e->data, total);
	bool overlap = e->overlap;
	out->options_len = e->options_len;
	out->options_unproven = e->options_unproven;
	frag_unlink(d, e);
	d->stats.reassembled++;
	out->l3 = h;
	out->l3_len = hl + total;
	out->reassembled = true;
	out->frag_overlap = out->frag_overlap || overlap;
	return decode_l4(d, proto, h + hl, total, ts, out, depth);
}

/* ---- IP ---------------------------------------------------------------- */

/* Padding carries nothing only when it is zeros. */
static bool all_zero(const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/*
 * An IPv4 header's options (RFC 791) or the option area of an IPv6
 * Hop-by-Hop or Destination Options header (RFC 8200 4.2): bytes that leave
 * with the packet, which a receiver that skips unknown options never
 * checks, so a sender can put anything there.  All are counted as sent.
 * Padding that is zeros (Pad1, PadN; IPv4's EOL and NOP) and a router alert
 * (RFC 2113, RFC 2711: a fixed value that asks routers to look, used by
 * IGMP, MLD and RSVP) carry nothing; every byte of any other option is
 * data nothing vouches for, which the classifier bounds.  Called only for a
 * packet that has options.
 */
static void count_options(struct packet *out, const uint8_t *p, uint32_t n, bool v4)
{
	uint32_t unproven = 0;

	out->options_len += n;
	for (uint32_t i = 0; i < n;) {
		uint8_t type = p[i];
		if (type == 0 || (v4 && type == 1)) { /* Pad1, EOL, NOP */
			i++;
			continue;
		}
		uint32_t len = i + 1 < n ? p[i + 1] : 0;
		len = v4 ? len : len + 2; /* IPv4's length counts type and length */
		if (len < 2 || i + len > n) { /* a broken option: the rest is unproven */
			unproven += n - i;
			break;
		}
		bool nothing = true;
		if (v4 ? type == 148 && len == 4 : type == 5 && len == 4) /* router alert */
			nothing = rd16(p + i + 2) <= 2;
		else if (!v4 && type == 1) /* PadN */
			nothing = all_zero(p + i + 2, len - 2);
		else
			nothing = false;
		if (!nothing)
			unproven += len;
		i += len;
	}
	out->options_unproven += unproven;
}

/*
 * A kind stacks send, at the length its RFC gives it, and the first of its
 * kind in the segment (MSS, window scale, SACK permitted, SACK and
 * timestamps are single; a second copy, or a "timestamps" option of 40
 * bytes, is a place for data that only looks like an option, and the
 * gateway's layouts refuse it too).  seen: the kinds met so far, a bit each.
 */
static bool tcp_option_shape_ok(uint8_t kind, uint32_t len, uint32_t *seen)
{
	/* kind, shortest, longest, and the step between (RFC 9293, 2018, 7323,
	 * 2385, 5482, 5925, 8684, 7413) */
	static const struct {
		uint8_t kind, min, max, step;
	} shapes[] = {
		{2, 4, 4, 1},   {3, 3, 3, 1},   {4, 2, 2, 1},  {5, 10, 34, 8}, {8, 10, 10, 1},
		{19, 18, 18, 1}, {28, 4, 4, 1}, {29, 4, 40, 1}, {30, 3, 40, 1}, {34, 2, 18, 2},
	};

	for (uint32_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		if (shapes[i].kind != kind)
			continue;
		if (len < shapes[i].min || len > shapes[i].max || (len - shapes[i].min) % shapes[i].step ||
		    (*seen & 1u << i))
			return false;
		*seen |= 1u << i;
		return true;
	}
	return false;
}

/*
 * TCP options (RFC 9293 3.1, the IANA registry): the kinds stacks send
 * -- EOL, NOP, MSS, window scale, SACK, timestamps, MD5 and AO signatures,
 * MPTCP, user timeout, Fast Open -- are counted as the segment's header
 * when their shape is right (tcp_option_shape_ok); any other kind, a known
 * kind at another length or twice, a malformed list, or bytes after EOL that are
 * not zero are data nothing vouches for (a receiver skips an unknown
 * option), counted as sent and bounded with the IP options.  Called only
 * for a segment whose header is longer than 20 bytes.
 */
static void count_tcp_options(struct packet *out, const uint8_t *p, uint32_t n)
{
	uint32_t unproven = 0, seen = 0;

	for (uint32_t i = 0; i < n;) {
		uint8_t kind = p[i];
		if (kind == 1) {
			i++;
			continue;
		}
		if (kind == 0) { /* EOL: the rest is padding, zeros */
			if (!all_zero(p + i + 1, n - i - 1))
				unproven = n - i;
			break;
		}
		uint32_t len = i + 1 < n ? p[i + 1] : 0;
		if (len < 2 || i + len > n) {
			unproven += n - i;
			break;
		}
		if (!tcp_option_shape_ok(kind, len, &seen))
			unproven += len;
		i += len;
	}
	if (unproven) {
		out->options_len += unproven;
		out->options_unproven += unproven;
	}
}

/* Bytes inside an IP datagram past the UDP length, or inside a tunnel past
 * the inner packet: zeros carry nothing, anything else is counted as sent
 * and bounded with the IP options. */
static void count_surplus(struct packet *out, const uint8_t *p, uint32_t n)
{
	out->options_len += n;
	if (!all_zero(p, n))
		out->options_unproven += n;
}

/*
 * Bytes after an IP packet (its total or payload length) up to the end of
 * what carried it, len.  Inside a tunnel they are inside the outer packet:
 * the tunnel's far end receives them, though its decapsulation trims them,
 * so they are counted as bytes past a UDP length are, for the inner flow.
 * An Ethernet frame inside the tunnel (VXLAN, Geneve or GRE carrying
 * Ethernet, an MPLS pseudowire) is padded to its 60-byte minimum by the
 * hardware that sent it, often with whatever was in its buffer: bytes up
 * to 46 after the frame's header are that padding, the frame's own, and
 * not counted.  A frame in a tunnel carries no FCS (RFC 7348, 8926 and
 * 4448 leave it out; RFC 4720's optional FCS retention would count 4 bytes
 * a packet), so bytes past the padding are data.  The outermost packet's
 * trailer (depth 0) is the capture link's padding or FCS: it reaches the
 * next hop only, which trims it before forwarding (920 of the 7,742 frames
 * with one in the shared captures have a non-zero one), so it is not
 * counted.  Takes the Ethernet payload pointer for this packet alone: a
 * packet nested deeper is not in that frame's padding.
 */
static void count_trailer(struct decoder *d, struct packet *out, const uint8_t *p, uint32_t total,
			  uint32_t len, int depth)
{
	const uint8_t *frame_payload = d->ethernet_payload;
	uint32_t from = total;

	d->ethernet_payload = NULL;
	if (depth == 0 || total >= len)
		return;
	if (frame_payload && frame_payload <= p && p - frame_payload < 46) {
		uint32_t padded = 46u - (uint32_t)(p - frame_payload);
		from = padded > len ? len : padded > total ? padded : total;
	}
	if (from < len)
		count_surplus(out, p + from, len - from);
}

/* A node a routing header sends the packet through: it receives every byte,
 * as a tunnel's outer end does (kept once each; too many overflow). */
static void add_via_family(struct packet *out, const uint8_t *addr, uint8_t family)
{
	struct ef_addr a = {.family = family};

	memcpy(a.b, addr, family == 4 ? 4 : 16);
	for (uint8_t i = 0; i < out->n_via; i++)
		if (!memcmp(&out->via[i], &a, sizeof(a)))
			return;
	if (out->n_via < PACKET_MAX_VIA)
		out->via[out->n_via++] = a;
	else
		out->via_overflow = true;
}

static void add_via(struct packet *out, const uint8_t *addr)
{
	add_via_family(out, addr, 6);
}

/*
 * IPv4's source routes (RFC 791 3.1: loose 131, strict 137): a router that
 * honours one sends the packet on to the addresses the option lists from
 * its pointer on, and the last of them is where the data goes -- IPv4's
 * SRv6.  As for a routing header, that one becomes the destination and the
 * current destination and every hop still to come become via[].  A route
 * already spent (pointer past the list) changes nothing; its bytes are
 * counted with the options.
 */
static void follow_source_route(struct packet *out, const uint8_t *o, uint32_t n)
{
	for (uint32_t i = 0; i < n;) {
		uint8_t type = o[i];
		if (type == 0)
			return;
		if (type == 1) {
			i++;
			continue;
		}
		uint32_t len = i + 1 < n ? o[i + 1] : 0;
		if (len < 2 || i + len > n)
			return;
		if ((type == 131 || type == 137) && len >= 7 && i + 2 < n) {
			uint32_t ptr = o[i + 2]; /* 1-based, from the option's start */
			uint32_t last = len - 4;  /* the last address's offset in the option */
			if (ptr >= 4 && ptr <= last + 1) {
				add_via_family(out, out->dst.b, 4);
				for (uint32_t a = ptr - 1; a < last; a += 4)
					add_via_family(out, o + i + a, 4);
				memcpy(out->dst.b, o + i + last, 4);
			}
			return;
		}
		i += len;
	}
}

/*
 * An IPv6 routing header with segments left (RFC 8200 4.4): the packet
 * goes on from its destination to the addresses the header lists, and the
 * last of them is where the data goes.  That one becomes the destination
 * (so a reply, which comes back directly, joins the flow) and the current
 * destination and every node still to visit become via[].  Type 4 (SRv6,
 * RFC 8754) lists the final segment first; types 0 (RFC 2460, deprecated
 * by RFC 5095 but honoured by a cooperating node) and 2 (Mobile IPv6's
 * home address) last.  Another type with segments left, or a header whose
 * counts disagree, names no destination this decoder can trust: its data
 * is not examined.  False with the result in *r then.
 */
static bool follow_routing_header(struct decoder *d, const uint8_t *h, uint32_t hlen, struct packet *out,
				  enum decode_result *r)
{
	uint8_t type = h[2], left = h[3];
	uint32_t n = 0, first = 8;

	if (!left) {
		/* Every node skips it: its addresses (and SRv6's TLVs) reach the
		 * destination and steer nothing, so they are data nothing vouches
		 * for, counted as options are. */
		out->options_len += hlen - 2;
		out->options_unproven += hlen > 8 ? hlen - 8 : 0;
		return true;
	}
	if (type == 4 && hlen >= 8) {
		n = (uint32_t)h[4] + 1; /* last entry + 1 */
		if (left > n || first + n * 16 > hlen)
			n = 0;
	} else if ((type == 0 || type == 2) && hlen >= 8) {
		n = (hlen - 8) / 16;
		if (left > n || (type == 2 && n != 1))
			n = 0;
	}
	if (!n) {
		*r = unexamined(d, SKIP_UNEXAMINED, "IPv6 routing header with segments left, type", type);
		return false;
	}
	add_via(out, out->dst.b);
	if (type == 4) { /* visited from Segment List[left - 1] down to [0] */
		for (uint32_t i = left - 1; i >= 1; i--)
			add_via(out, h + first + i * 16);
		memcpy(out->dst.b, h + first, 16);
	} else { /* visited from address[n - left] up to [n - 1] */
		for (uint32_t i = n - left; i + 1 < n; i++)
			add_via(out, h + first + i * 16);
		memcpy(out->dst.b, h + first + (n - 1) * 16, 16);
	}
	return true;
}

/* The IP header's addresses and extent; an inner header of a tunnel
 * replaces the outer one's. */
static void set_l3(struct packet *out, uint8_t family, const uint8_t *src, const uint8_t *dst,
		   const uint8_t *l3, uint32_t total, int depth)
{
	size_t n = family == 4 ? 4 : 16;

	if (depth > 0 && out->src.family) { /* an outer IP header: keep its ends */
		if (out->n_via + 2 <= PACKET_MAX_VIA) {
			out->via[out->n_via++] = out->src;
			out->via[out->n_via++] = out->dst;
		} else {
			out->via_overflow = true;
		}
	}
	memset(&out->src, 0, sizeof(out->src));
	memset(&out->dst, 0, sizeof(out->dst));
	out->src.family = out->dst.family = family;
	memcpy(out->src.b, src, n);
	memcpy(out->dst.b, dst, n);
	out->l3 = l3;
	out->l3_len = total;
	out->tunnel_depth = (uint8_t)depth;
}

static enum decode_result decode_ipv4(struct decoder *d, const uint8_t *p, uint32_t len,
				      uint64_t ts, struct packet *out, int depth)
{
	if (len < 20)
		return skip(d, SKIP_TRUNCATED);
	uint32_t hl = (uint32_t)(p[0] & 0x0f) * 4, total = rd16(p + 2);
	if (hl < 20 || total < hl)
		return skip(d, SKIP_MALFORMED);
	if (hl > len)
		return skip(d, SKIP_TRUNCATED);
	if (total > len)
		total = len; /* cut by the snaplen: keep what was captured */
	count_trailer(d, out, p, total, len, depth);
	set_l3(out, 4, p + 12, p + 16, p, total, depth);
	if (hl > 20) {
		count_options(out, p + 20, hl - 20, true);
		follow_source_route(out, p + 20, hl - 20);
	}

	uint16_t frag = rd16(p + 6);
	uint32_t offset = (uint32_t)(frag & 0x1fff) * 8;
	bool more = frag & 0x2000;
	if (offset || more)
		return defragment(d, out, rd16(p + 4), p[9], offset, more, p + hl, total - hl, ts, depth);
	return decode_l4(d, p[9], p + hl, total - hl, ts, out, depth);
}

static enum decode_result decode_ipv6(struct decoder *d, const uint8_t *p, uint32_t len,
				      uint64_t ts, struct packet *out, int depth)
{
	if (len < 40)
		return skip(d, SKIP_TRUNCATED);
	uint32_t total = 40 + rd16(p + 4);
	if (total > len)
		total = len;
	count_trailer(d, out, p, total, len, depth);
	/* Addresses stay as on the wire: an IPv4-mapped one is an IPv6 packet's. */
	set_l3(out, 6, p + 8, p + 24, p, total, depth);

	uint8_t next = p[6];
	uint32_t off = 40;
	/* Every extension header, as the kernel walks them: each is at least 8
	 * bytes and must fit in the datagram, so the length bounds the walk.  A
	 * count limit would stop inside the chain and name a header the kernel
	 * never sees as the protocol (ip-60, port 0). */
	for (;;) {
		switch (next) {
		case 0:   /* hop-by-hop */
		case 43:  /* routing */
		case 60:  /* destination options */
		case 135: { /* mobility */
			if (off + 8 > total)
				return skip(d, SKIP_TRUNCATED);
			uint8_t type = next;
			uint32_t at = off, hlen = 8u + (uint32_t)p[off + 1] * 8u;
			next = p[off];
			off += hlen;
			if (off > total)
				return skip(d, SKIP_TRUNCATED);
			if (type == 0 || type == 60) {
				/* Only padding, in almost every packet that has one. */
				if (hlen > 8 || rd32(p + at + 2) || rd16(p + at + 6))
					count_options(out, p + at + 2, hlen - 2, false);
				else
					out->options_len += 6;
			} else if (type == 43) {
				enum decode_result r;
				if (!follow_routing_header(d, p + at, hlen, out, &r))
					return r;
			}
			continue;
		}
		case 51: /* AH: length in 4-byte units, minus 2 */
			if (off + 8 > total)
				return skip(d, SKIP_TRUNCATED);
			next = p[off];
			off += ((uint32_t)p[off + 1] + 2u) * 4u;
			if (off > total)
				return skip(d, SKIP_TRUNCATED);
			continue;
		case 44: { /* fragment */
			if (off + 8 > total)
				return skip(d, SKIP_TRUNCATED);
			uint16_t fo = rd16(p + off + 2);
			uint32_t id = rd32(p + off + 4);
			uint8_t inner = p[off];
			off += 8;
			if ((fo & 0xfff8) == 0 && !(fo & 1)) { /* atomic fragment */
				next = inner;
				continue;
			}
			return defragment(d, out, id, inner, fo & 0xfff8, fo & 1, p + off, total - off, ts, depth);
		}
		case 59: /* no next header: whatever follows still leaves */
			out->l4 = 59;
			out->payload = p + off;
			out->payload_len = total - off;
			return DECODE_OK;
		}
		break;
	}
	return decode_l4(d, next, p + off, total - off, ts, out, depth);
}

static enum decode_result decode_ip(struct decoder *d, const uint8_t *p, uint32_t len,
				    uint64_t ts, struct packet *out, int depth)
{
	if (len < 1)
		return skip(d, SKIP_TRUNCATED);
	switch (p[0] >> 4) {
	case 4:
		return decode_ipv4(d, p, len, ts, out, depth);
	case 6:
		return decode_ipv6(d, p, len, ts, out, depth);
	}
	return skip(d, SKIP_MALFORMED);
}

/* ---- where a packet goes, before it is decoded ------------------------ */

/*
 * The common frame -- Ethernet (any VLAN tags), IPv4 without options or
 * IPv6 without extension headers, not a fragment, plain TCP or UDP on a
 * port no tunnel uses -- read as decoder_decode() reads it, for the fields
 * that route a packet.  Each test below is one decoder_decode() makes on
 * that path, in the same order and with the same outcome, and anything
 * else declines (link types, ethertypes, tunnels, options, fragments,
 * truncation) so that the full decode decides; an accepted frame is one
 * decoder_decode() returns DECODE_OK for, with equal fields, touching no
 * decoder state but its counters (decoder_pass()).
 */
bool decoder_peek(const struct capture_frame *f, struct packet *out)
{
	const uint8_t *p = f->data;
	uint32_t len = f->caplen, off, hl, total;
	uint16_t type;
	uint8_t proto;

	if (f->linktype != DLT_EN10MB || !ethernet_type(p, len, &type, &off) || (type != 0x0800 && type != 0x86dd))
		return false;
	p += off;
	len -= off;
	if (len < 1)
		return false;
	memset(&out->src, 0, sizeof(out->src));
	memset(&out->dst, 0, sizeof(out->dst));
	if (p[0] >> 4 == 4) { /* decode_ip() goes by the version, not the ethertype */
		if (len < 20)
			return false;
		hl = (uint32_t)(p[0] & 0x0f) * 4;
		total = rd16(p + 2);
		if (hl != 20 || total < hl || (rd16(p + 6) & 0x3fff)) /* options; a fragment */
			return false;
		if (total > len)
			total = len;
		out->src.family = out->dst.family = 4;
		memcpy(out->src.b, p + 12, 4);
		memcpy(out->dst.b, p + 16, 4);
		proto = p[9];
	} else if (p[0] >> 4 == 6) {
		if (len < 40)
			return false;
		hl = 40;
		total = 40 + rd16(p + 4);
		if (total > len)
			total = len;
		out->src.family = out->dst.family = 6;
		memcpy(out->src.b, p + 8, 16);
		memcpy(out->dst.b, p + 24, 16);
		proto = p[6]; /* anything but TCP and UDP (extension headers) declines */
	} else {
		return false;
	}
	p += hl;
	len = total - hl;
	out->l4 = proto;
	if (proto == IPPROTO_TCP) {
		uint32_t thl;
		if (len < 20 || (thl = (uint32_t)(p[12] >> 4) * 4) < 20 || thl > len)
			return false;
		out->sport = rd16(p);
		out->dport = rd16(p + 2);
		out->tcp_flags = p[13];
		out->payload = p + thl;
		out->payload_len = len - thl;
		return true;
	}
	if (proto == IPPROTO_UDP) {
		if (len < 8)
			return false;
		out->sport = rd16(p);
		out->dport = rd16(p + 2);
		out->tcp_flags = 0;
		/* decode_udp_tunnel()'s ports, shaped as a tunnel or not */
		if (udp_tunnel_port(out->dport))
			return false;
		uint16_t ulen = rd16(p + 4);
		if (ulen >= 8 && ulen < len)
			len = ulen;
		out->payload = p + 8;
		out->payload_len = len - 8;
		return true;
	}
	return false;
}

void decoder_pass(struct decoder *d, const struct capture_frame *f)
{
	frame_begin(d, f);
	d->stats.decoded++;
}

/* ---- what an FTP control line announces -------------------------------- */

static bool read_numbers(const uint8_t *p, uint32_t n, unsigned *out, int count)
{
	uint32_t i = 0;

	for (int k = 0; k < count; k++) {
		unsigned v = 0, digits = 0;
		while (i < n && (p[i] < '0' || p[i] > '9'))
			i++;
		while (i < n && p[i] >= '0' && p[i] <= '9' && digits < 6) {
			v = v * 10 + (unsigned)(p[i++] - '0');
			digits++;
		}
		if (!digits || v > 65535)
			return false;
		out[k] = v;
	}
	return true;
}

/* Every TCP line passes here (the audit's workers read all of them): one
 * look at the first byte turns away almost all; 227, 229, PORT, EPRT. */
static inline bool ftp_line_start(uint8_t c)
{
	return c == '2' || (c | 0x20) == 'p' || (c | 0x20) == 'e';
}

bool ftp_announced_endpoint(const uint8_t *line, uint32_t n, struct ef_addr *addr, uint16_t *port)
{
	unsigned v[6];

	if (n <= 4 || !ftp_line_start(line[0]))
		return false;
	if (n > 4 && (memcmp(line, "227 ", 4) == 0 || strncasecmp((const char *)line, "PORT ", 5) == 0)) {
		const uint8_t *start = memchr(line, '(', n);
		uint32_t off = start ? (uint32_t)(start - line) : 4;
		if (!read_numbers(line + off, n - off, v, 6) || v[0] > 255 || v[1] > 255 || v[2] > 255 ||
		    v[3] > 255 || v[4] > 255 || v[5] > 255)
			return false;
		memset(addr, 0, sizeof(*addr));
		addr->family = 4;
		for (int i = 0; i < 4; i++)
			addr->b[i] = (uint8_t)v[i];
		*port = (uint16_t)(v[4] << 8 | v[5]);
		return *port != 0;
	}
	if (n > 4 && memcmp(line, "229 ", 4) == 0) {
		const uint8_t *bar = memmem(line, n, "|||", 3);
		if (!bar || !read_numbers(bar, n - (uint32_t)(bar - line), v, 1))
			return false;
		*port = (uint16_t)v[0];
		return *port != 0;
	}
	if (n > 5 && strncasecmp((const char *)line, "EPRT ", 5) == 0) {
		/* EPRT |proto|address|port| with any delimiter character */
		char d = (char)line[5], text[64];
		const uint8_t *a = memchr(line + 6, d, n - 6);
		if (!a)
			return false;
		a++;
		const uint8_t *e = memchr(a, d, n - (uint32_t)(a - line));
		if (!e || e - a >= (long)sizeof(text))
			return false;
		memcpy(text, a, (size_t)(e - a));
		text[e - a] = 0;
		if (!ef_addr_parse(text, addr) || !read_numbers(e, n - (uint32_t)(e - line), v, 1))
			return false;
		*port = (uint16_t)v[0];
		return *port != 0;
	}
	return false;
}

void ftp_segment_announcements(const struct packet *p,
			       void (*found)(void *ctx, const struct ef_addr *addr, uint16_t port), void *ctx)
{
	struct ef_addr addr = p->src;
	uint16_t port = p->sport;

	for (uint32_t off = 0; off < p->payload_len;) {
		const uint8_t *line = p->payload + off;
		const uint8_t *nl = memchr(line, '\n', p->payload_len - off);
		uint32_t n = nl ? (uint32_t)(nl - line) + 1 : p->payload_len - off;
		if (ftp_line_start(line[0]) && ftp_announced_endpoint(line, n, &addr, &port))
			found(ctx, &addr, port);
		off += n;
	}
}
