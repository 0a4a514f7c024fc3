/*
 * capture/capture.h -- where packets come from, and what is in them.
 *
 * Two halves, both used by the engine for every packet:
 *
 *  1. A capture source hands out raw frames with their link type and time:
 *     offline files (pcap through libpcap, pcapng through pcapng.c, whose
 *     interfaces may each have their own link type and snapshot length;
 *     several files or whole folders in one run) and live interfaces
 *     (libpcap, including NFLOG as "nflog:N").  The caller never sees
 *     pcap_t.
 *
 *  2. The decoder turns a frame into a `struct packet`: the innermost IP
 *     header's addresses, ports and L4 payload.  It strips link layers
 *     (Ethernet with VLAN/QinQ, PPPoE, 802.2 SNAP and Cisco FabricPath,
 *     Linux cooked SLL and SLL2, raw IP, BSD null/loopback, PPP, Cisco
 *     HDLC, NFLOG), MPLS label stacks, IPv6 extension headers, and tunnels
 *     (GRE, IPv4/IPv6-in-IPv4/IPv6, VXLAN, Geneve, GTP-U), because it is
 *     the inner destination whose country matters.  IPv4 and IPv6
 *     fragments are reassembled in a bounded table keyed by (src, dst,
 *     protocol, id); a datagram is handed on only when complete, so a
 *     payload split into tiny fragments is classified whole; one that never
 *     completes is handed on as bytes not examined (decoder_incomplete).
 *     An IPv6 routing header with segments left sends the packet on: its
 *     last segment is the destination, the nodes on the way are kept as
 *     tunnel ends are (via[]).  Overlapping fragments are resolved
 *     first-come (the earliest copy of each byte wins, as Linux does since
 *     it drops conflicting overlaps) and flagged.
 *
 * A malformed frame is never an error of the run: decode returns
 * DECODE_SKIP with a reason counter incremented; nothing reads past caplen.
 * Frames that are not IP come in two kinds, counted apart: link control
 * and LAN-only protocols (ARP, LLDP, STP, EAPOL, PPP's LCP, ...), which
 * carry no user data anywhere, and everything else (an unknown ethertype,
 * a PPP protocol that is not IP, an MPLS payload that cannot be told
 * apart), which may carry data the audit did not examine: the caller must
 * say so, because an audit that skipped data is not a clean audit.
 */
#ifndef EF_CAPTURE_H
#define EF_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/flow.h"

/* ---- sources ---------------------------------------------------------- */

struct capture;

struct capture_frame {
	const uint8_t *data;
	uint32_t caplen, wirelen;
	uint64_t ts_us;    /* microseconds since epoch */
	int linktype;      /* DLT_* */
	uint32_t file;     /* offline: which file (capture_file_name()); 0 live */
	uint64_t index;    /* offline: the frame's number in its file, from 1; 0 live */
};

enum capture_status {
	CAPTURE_OK = 1,    /* a frame was returned */
	CAPTURE_END = 0,   /* no more input (all files read, or source closed) */
	CAPTURE_ERROR = -1 /* the current file is unreadable from here on: message in
			    * capture_error(); the next call moves to the next file */
};

/*
 * Offline: every path is a capture file or a folder, whose regular files are
 * read in name order (not recursively).  Files are checked to open at the
 * start, so that a typo ends the run before any output: NULL and err written.
 */
struct capture *capture_open_files(const char *const *paths, size_t n, char *err, size_t errlen);
/* Live: one interface ("eth1", "nflog:5"); snaplen bytes per packet. */
struct capture *capture_open_live(const char *ifname, int snaplen, char *err, size_t errlen);

enum capture_status capture_next(struct capture *c, struct capture_frame *f);
const char *capture_error(const struct capture *c);
/* Live sources: a descriptor to poll, or -1. */
int capture_fd(const struct capture *c);
/* Frames the kernel dropped (live), summed over the run. */
uint64_t capture_kernel_drops(const struct capture *c);
/* Offline: the files read, in the order read (folders expanded); NULL past
 * the end.  Valid until capture_close(). */
const char *capture_file_name(const struct capture *c, uint32_t i);
/* Files that ended with an error (truncated, corrupt, unknown link type). */
unsigned capture_failed_files(const struct capture *c);
void capture_close(struct capture *c);

/* ---- decoding ---------------------------------------------------------- */

#define PACKET_MAX_VIA 8
struct packet {
	uint64_t ts_us;
	struct ef_addr src, dst;
	uint16_t sport, dport;   /* 0 for protocols without ports */
	uint8_t l4;              /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ESP, ... */
	uint8_t tcp_flags;       /* TH_SYN, TH_ACK, ... */
	uint32_t tcp_seq, tcp_ack;
	const uint8_t *l3;       /* innermost IP header; contiguous IP datagram */
	uint32_t l3_len;
	const uint8_t *payload;  /* L4 payload */
	uint32_t payload_len;
	uint8_t tunnel_depth;    /* encapsulations removed */
	/* The addresses of every outer IP header a tunnel was peeled from
	 * (source and destination of each, outermost first): each end
	 * receives or sends every byte of the inner packet too. */
	uint8_t n_via;
	bool via_overflow;       /* more outer addresses than via[] holds */
	struct ef_addr via[PACKET_MAX_VIA];
	bool reassembled;        /* rebuilt from IP fragments */
	bool frag_overlap;       /* fragments overlapped */
	uint32_t file;           /* the frame's capture_frame.file */
	/* Bytes of IP options: IPv4 options and the option areas of IPv6
	 * Hop-by-Hop and Destination Options headers, of every layer (and of
	 * every fragment of a reassembled datagram).  They leave with the
	 * packet, so they count as sent; of them, `options_unproven' are not
	 * zero padding (Pad1, PadN, IPv4 EOL and NOP) nor a router alert, and
	 * may carry anything.  Zero for almost every packet.  Unknown TCP
	 * options, a spent routing header, bytes past a UDP length, tunnel
	 * header fields (GRE routing, GTP-U extension headers, Geneve options)
	 * that are not the tunnel's fixed header, and bytes after an inner
	 * packet inside its tunnel count here too. */
	uint32_t options_len, options_unproven;
	/* A datagram whose fragments never all came (decoder_incomplete()):
	 * no payload to read, only how many bytes of it left, not examined.
	 * Ports are known when its first fragment came; otherwise 0. */
	bool incomplete;
	uint32_t unexamined_len;
	/* NFLOG: the gate's verdict on this copy, from its prefix (core/flow.h);
	 * EF_FATE_UNKNOWN from every other source. */
	uint8_t fate;            /* enum ef_packet_fate */
};

enum decode_result {
	DECODE_OK = 0,
	DECODE_SKIP,       /* not IP, malformed, or truncated: counted, not an error */
	DECODE_FRAGMENT    /* a fragment was kept; the datagram is not complete yet */
};

enum decode_skip_reason {
	SKIP_LINKTYPE = 0, /* link type this decoder does not know */
	SKIP_NOT_IP,       /* ARP, LLDP, STP, ... */
	SKIP_TRUNCATED,    /* header longer than what was captured */
	SKIP_MALFORMED,    /* bad version, length or header field */
	SKIP_FRAG_DROPPED, /* fragment table full, or datagram timed out */
	SKIP_UNEXAMINED,   /* may carry data, in a protocol this decoder cannot read */
	SKIP_FRAG_INCOMPLETE, /* a datagram whose fragments never all came (counted
			       * once per datagram, not per frame): not examined */
	SKIP__COUNT
};

struct decoder_stats {
	uint64_t frames, decoded, fragments, reassembled, tunnels;
	uint64_t skipped[SKIP__COUNT];
	/* The last frame counted in SKIP_UNEXAMINED or SKIP_LINKTYPE, for a
	 * warning that names it: "ethertype" 0x8903, "PPP protocol" 0x2b, ... */
	const char *unexamined_kind;
	uint32_t unexamined_value;
	uint32_t unexamined_file;
	uint64_t unexamined_index;
};

struct decoder;

/* max_datagrams bounds the fragment table (0: a default of 1024). */
struct decoder *decoder_new(unsigned max_datagrams);
void decoder_free(struct decoder *d);
/* The packet's pointers stay valid until the next decode call. */
enum decode_result decoder_decode(struct decoder *d, const struct capture_frame *f, struct packet *out);
/*
 * Datagrams whose fragments never all came -- timed out, pushed out of the
 * full table, unusable (past 64 KiB, too many pieces, lengths that
 * disagree), or still held when decoder_give_up_fragments() ends the
 * input -- are bytes that left and were not examined.  Each is handed out
 * once as a packet with unexamined_len set (and no payload), for its flow:
 * call this after every decoder_decode() until it returns false, and
 * after decoder_give_up_fragments() at the end of the input.  At most
 * max_datagrams wait; beyond, the oldest is only counted.
 */
bool decoder_incomplete(struct decoder *d, struct packet *out);
void decoder_give_up_fragments(struct decoder *d);
const struct decoder_stats *decoder_stats(const struct decoder *d);
const char *decode_skip_reason_name(enum decode_skip_reason r);
/* Of skipped[SKIP__COUNT], the frames whose data the decoder could not
 * examine (SKIP_UNEXAMINED and SKIP_LINKTYPE) and the datagrams that never
 * completed (SKIP_FRAG_INCOMPLETE): non-zero means an audit is incomplete. */
uint64_t decode_unexamined_count(const uint64_t *skipped);
/* True when libpcap link type `dlt` is one the decoder understands. */
bool decoder_linktype_supported(int dlt);

/*
 * Where a packet goes, without decoding it: for the common frame (Ethernet,
 * IPv4 without options or IPv6 without extension headers, no fragment, TCP
 * or UDP outside a tunnel), fills out's src, dst, l4, sport, dport,
 * tcp_flags, payload and payload_len exactly as decoder_decode() would, and
 * nothing else; false for every other frame (then decode it, which may
 * route it differently).  A worker that owns only some packets peeks at
 * each frame and decodes only its own.  A peeked frame that is not decoded
 * goes to decoder_pass(), which leaves the decoder as decoder_decode() would
 * have (its counters, and the time at which a datagram whose fragments
 * never complete is handed on).
 */
bool decoder_peek(const struct capture_frame *f, struct packet *out);
void decoder_pass(struct decoder *d, const struct capture_frame *f);

/* ---- what an FTP control line announces -------------------------------- */

/*
 * The endpoint an FTP control line announces for a data connection:
 * "227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)" and "229 ... (|||port|)"
 * from the server (the server listens), "PORT h1,...,p2" and
 * "EPRT |1|addr|port|" from the client (the client listens).  *addr is left
 * alone when the line names no address (229), so the caller presets it.
 * Read from single packets, before any flow is classified: the audit's
 * reader uses it to keep a data connection in its control connection's
 * worker, and the classifier to expect the data connection.
 */
bool ftp_announced_endpoint(const uint8_t *line, uint32_t n, struct ef_addr *addr, uint16_t *port);
/* Every endpoint the lines of one TCP segment announce, in order, each to
 * found(): lines end at '\n'; the address starts as the sender's and a
 * line that names none (229) keeps the last one named. */
void ftp_segment_announcements(const struct packet *p,
			       void (*found)(void *ctx, const struct ef_addr *addr, uint16_t port), void *ctx);

#endif
