/*
 * capture/source.c -- capture sources: offline files (pcap through libpcap,
 * pcapng through pcapng.c; several files and folders in one run) and live
 * interfaces (libpcap), and NFLOG groups ("nflog:N", read from netlink
 * here: see open_nflog()).
 *
 * Invariants:
 *  - Every path named by the user exists and is readable, or open fails
 *    before any packet is read: a typo must not produce a half audit.
 *  - A file that turns out to be bad (not a capture, truncated, unknown link
 *    type) is reported once with the byte offset where reading stopped,
 *    counted in capture_failed_files(), and the run moves on to the next
 *    file: what is readable is processed, and the caller exits 2 at the end.
 */
#include "capture.h"
#include "pcapmap.h"
#include "pcapng.h"
#include "nflog_tlv.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct capture {
	char **paths;
	size_t n_paths, next_path;
	pcap_t *pcap;
	struct pcapng *ng;         /* the current file, when it is pcapng */
	struct pcapmap *map;       /* classic pcap files: read from a map instead */
	bool live;
	const char *current;
	unsigned failed_files;
	uint64_t kernel_drops;
	uint64_t frames_in_file;
	/* NFLOG read directly (nflog_next()): the socket, the last batch
	 * read and where in it, the next copy number expected, copies lost. */
	int nl_fd;
	unsigned char *nl_buf;
	size_t nl_len, nl_off;
	uint64_t nl_recv_us, nl_lost;
	uint32_t nl_seq_next;
	bool nl_seq_seen;
	char err[PCAP_ERRBUF_SIZE + 512];
};

static bool push_path(struct capture *c, const char *path)
{
	char **grown = realloc(c->paths, (c->n_paths + 1) * sizeof(*c->paths));

	if (!grown)
		return false;
	c->paths = grown;
	c->paths[c->n_paths] = strdup(path);
	return c->paths[c->n_paths++] != NULL;
}

static int name_order(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static bool add_folder(struct capture *c, const char *dir, char *err, size_t errlen)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, name_order);
	bool ok = true;

	if (n < 0) {
		snprintf(err, errlen, "%s: cannot read folder: %s", dir, strerror(errno));
		return false;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		if (ok && names[i]->d_name[0] != '.' &&
		    snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) < (int)sizeof(path) &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode))
			ok = push_path(c, path);
		free(names[i]);
	}
	free(names);
	if (!ok)
		snprintf(err, errlen, "out of memory");
	return ok;
}

struct capture *capture_open_files(const char *const *paths, size_t n, char *err, size_t errlen)
{
	struct capture *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (stat(paths[i], &st) != 0) {
			snprintf(err, errlen, "%s: %s", paths[i], strerror(errno));
			goto fail;
		}
		if (S_ISDIR(st.st_mode)) {
			if (!add_folder(c, paths[i], err, errlen))
				goto fail;
		} else if (!push_path(c, paths[i])) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	if (c->n_paths == 0) {
		snprintf(err, errlen, "no capture files in %s", n ? paths[0] : "(nothing given)");
		goto fail;
	}
	for (size_t i = 0; i < c->n_paths; i++) {
		FILE *f = fopen(c->paths[i], "rb");

		if (!f) {
			snprintf(err, errlen, "%s: %s", c->paths[i], strerror(errno));
			goto fail;
		}
		fclose(f);
	}
	return c;
fail:
	capture_close(c);
	return NULL;
}

/*
 * NFLOG, read directly from its netlink socket ("nflog:N").  libpcap's
 * reader takes one recv() per message and cannot configure the instance,
 * so every copy was its own netlink message (`queue-threshold 1' on every
 * rule) and its own recv() and poll().  Here the instance batches: the
 * copies of rules without a queue-threshold of their own wait in the
 * kernel until NFLOG_QTHRESH of them, NFLOG_BUFSIZ bytes or NFLOG_TIMEOUT
 * hundredths of a second, and one recv() brings them all; a rule with
 * `queue-threshold 1' (a held packet whose verdict waits on the engine)
 * flushes the queue at once, itself included, in order.  Each message is
 * handed out as libpcap would (DLT_NFLOG: the nfgenmsg and its TLVs).
 *
 * Lost copies: the kernel drops a whole batch when the socket is full, so
 * the socket's drop count (one a message) is no longer one a copy.  The
 * instance numbers its copies (NFULNL_CFG_F_SEQ) and every number skipped
 * is a copy lost; what capture_kernel_drops() reports is never below the
 * socket's own count either, for a loss at the end not yet followed by a
 * copy that shows the gap.
 */
#define NFLOG_BUFSIZ 65536u   /* the kernel's batch (skb); it accepts up to 131072 */
#define NFLOG_QTHRESH 64u     /* copies a batch */
#define NFLOG_TIMEOUT 1u      /* 1/100 s: the longest a copy waits for its batch */
#define NFLOG_RCVBUF (32 << 20)
#define NFLOG_READ (NFLOG_BUFSIZ * 2 + 65536) /* one batch, or one copy larger than a batch */

static void nl_attr(unsigned char *msg, struct nlmsghdr *h, unsigned short type, const void *v, unsigned short len)
{
	struct nlattr *a = (struct nlattr *)(msg + NLMSG_ALIGN(h->nlmsg_len));

	a->nla_type = type;
	a->nla_len = (unsigned short)(NLA_HDRLEN + len);
	memcpy((unsigned char *)a + NLA_HDRLEN, v, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

/* Binds the instance and configures it in one message; 0, or an errno. */
static int nflog_configure(int fd, unsigned group, int snaplen)
{
	unsigned char msg[256] __attribute__((aligned(4))) = {0};
	struct nlmsghdr *h = (struct nlmsghdr *)msg;
	struct nfgenmsg *g = NLMSG_DATA(h);
	struct nfulnl_msg_config_cmd cmd = {.command = NFULNL_CFG_CMD_BIND};
	struct nfulnl_msg_config_mode mode = {.copy_range = htonl((uint32_t)snaplen), .copy_mode = NFULNL_COPY_PACKET};
	uint32_t bufsiz = htonl(NFLOG_BUFSIZ), qthresh = htonl(NFLOG_QTHRESH), timeout = htonl(NFLOG_TIMEOUT);
	uint16_t flags = htons(NFULNL_CFG_F_SEQ);

	h->nlmsg_len = NLMSG_LENGTH(sizeof(*g));
	h->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	h->nlmsg_seq = 1;
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons((uint16_t)group);
	nl_attr(msg, h, NFULA_CFG_CMD, &cmd, sizeof(cmd));
	nl_attr(msg, h, NFULA_CFG_MODE, &mode, sizeof(mode));
	nl_attr(msg, h, NFULA_CFG_NLBUFSIZ, &bufsiz, sizeof(bufsiz));
	nl_attr(msg, h, NFULA_CFG_QTHRESH, &qthresh, sizeof(qthresh));
	nl_attr(msg, h, NFULA_CFG_TIMEOUT, &timeout, sizeof(timeout));
	nl_attr(msg, h, NFULA_CFG_FLAGS, &flags, sizeof(flags));
	if (send(fd, msg, h->nlmsg_len, 0) < 0)
		return errno;
	/* The answer, before any copy can come (nothing is bound yet). */
	for (int tries = 0; tries < 50; tries++) {
		unsigned char ack[1024] __attribute__((aligned(4)));
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 100) < 0 && errno != EINTR)
			return errno;
		ssize_t n = recv(fd, ack, sizeof(ack), 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return errno;
		for (struct nlmsghdr *a = (struct nlmsghdr *)ack; NLMSG_OK(a, (size_t)n); a = NLMSG_NEXT(a, n))
			if (a->nlmsg_type == NLMSG_ERROR && a->nlmsg_seq == 1) {
				const struct nlmsgerr *e = NLMSG_DATA(a);
				return -e->error;
			}
	}
	return ETIMEDOUT;
}

static bool open_nflog(struct capture *c, unsigned group, int snaplen, char *err, size_t errlen)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	int size = NFLOG_RCVBUF, rc;

	c->nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (c->nl_fd < 0 || bind(c->nl_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(err, errlen, "nflog:%u: netlink socket: %s", group, strerror(errno));
		return false;
	}
	if (setsockopt(c->nl_fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
		(void)setsockopt(c->nl_fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if ((rc = nflog_configure(c->nl_fd, group, snaplen)) != 0) {
		snprintf(err, errlen, "nflog:%u: cannot bind the NFLOG group%s: %s", group,
			 rc == EBUSY ? " (another listener has it)" : "", strerror(rc));
		return false;
	}
	if (!(c->nl_buf = malloc(NFLOG_READ))) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	return true;
}

static uint64_t be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* One copy out of the batch read last, reading the next batch when it is
 * used up; CAPTURE_END when the socket is empty. */
static enum capture_status nflog_next(struct capture *c, struct capture_frame *f)
{
	for (;;) {
		if (c->nl_off >= c->nl_len) {
			ssize_t n = recv(c->nl_fd, c->nl_buf, NFLOG_READ, MSG_TRUNC);
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return CAPTURE_END;
			/* ENOBUFS: an overrun, counted by the numbering's gap. */
			if (n < 0 && (errno == EINTR || errno == ENOBUFS))
				continue;
			if (n < 0) {
				snprintf(c->err, sizeof(c->err), "capture stopped: nflog: %s", strerror(errno));
				return CAPTURE_ERROR;
			}
			/* A batch larger than the buffer cannot come (the
			 * kernel's is at most NFLOG_BUFSIZ, or one copy); if it
			 * did, its tail is lost and shows as a gap. */
			c->nl_len = (size_t)n < NFLOG_READ ? (size_t)n : NFLOG_READ;
			c->nl_off = 0;
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			c->nl_recv_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
		}
		struct nlmsghdr *h = (struct nlmsghdr *)(c->nl_buf + c->nl_off);
		size_t left = c->nl_len - c->nl_off;
		if (left < NLMSG_HDRLEN || h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > left) {
			c->nl_len = 0;
			continue;
		}
		c->nl_off += NLMSG_ALIGN(h->nlmsg_len);
		if (h->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET) ||
		    h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nfgenmsg)))
			continue;
		const unsigned char *data = NLMSG_DATA(h);
		size_t len = h->nlmsg_len - NLMSG_HDRLEN;
		f->ts_us = c->nl_recv_us;
		uint32_t at = sizeof(struct nfgenmsg), vlen;
		uint16_t type;
		const uint8_t *v;
		while (nflog_tlv_next(data, (uint32_t)len, &at, &type, &v, &vlen)) {
			if (type == NFULA_SEQ && vlen >= 4) {
				uint32_t seq;
				memcpy(&seq, v, 4);
				seq = ntohl(seq);
				if (c->nl_seq_seen)
					c->nl_lost += (uint32_t)(seq - c->nl_seq_next);
				c->nl_seq_seen = true;
				c->nl_seq_next = seq + 1;
			} else if (type == NFULA_TIMESTAMP && vlen >= 16) {
				/* The packet's own time, when it is wall-clock time:
				 * a forwarded packet can carry a delivery time on
				 * another clock, and then the batch's arrival is
				 * nearer than that (at most NFLOG_TIMEOUT late). */
				uint64_t t = be64(v) * 1000000u + be64(v + 8);
				if (t <= c->nl_recv_us && c->nl_recv_us - t < 10000000u)
					f->ts_us = t;
			}
		}
		f->data = data;
		f->caplen = f->wirelen = (uint32_t)len;
		f->linktype = DLT_NFLOG;
		f->file = 0;
		f->index = 0;
		return CAPTURE_OK;
	}
}

struct capture *capture_open_live(const char *ifname, int snaplen, char *err, size_t errlen)
{
	char pcap_err[PCAP_ERRBUF_SIZE] = "";
	struct capture *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->live = true;
	c->current = "";
	c->nl_fd = -1;
	unsigned group;
	int used = 0;
	if (sscanf(ifname, "nflog:%u%n", &group, &used) == 1 && ifname[used] == '\0' && group <= 65535) {
		if (open_nflog(c, group, snaplen, err, errlen))
			return c;
		capture_close(c);
		return NULL;
	}
	c->pcap = pcap_create(ifname, pcap_err);
	if (!c->pcap)
		goto fail;
	pcap_set_snaplen(c->pcap, snaplen);
	pcap_set_promisc(c->pcap, 0);
	pcap_set_immediate_mode(c->pcap, 1);
	pcap_set_buffer_size(c->pcap, 32 << 20);
	int rc = pcap_activate(c->pcap);
	if (rc < 0) {
		snprintf(pcap_err, sizeof(pcap_err), "%s", pcap_geterr(c->pcap));
		if (!pcap_err[0])
			snprintf(pcap_err, sizeof(pcap_err), "%s", pcap_statustostr(rc));
		goto fail;
	}
	if (!decoder_linktype_supported(pcap_datalink(c->pcap))) {
		snprintf(pcap_err, sizeof(pcap_err), "link type %s is not supported",
			 pcap_datalink_val_to_name(pcap_datalink(c->pcap)));
		goto fail;
	}
	if (pcap_setnonblock(c->pcap, 1, pcap_err) < 0)
		goto fail;
	return c;
fail:
	snprintf(err, errlen, "%s: %s", ifname, pcap_err);
	capture_close(c);
	return NULL;
}

/* Byte offset reached in the current file, for error messages. */
static long current_offset(struct capture *c)
{
	FILE *f = c->pcap ? pcap_file(c->pcap) : NULL;

	return f ? ftell(f) : -1;
}

static void close_current(struct capture *c)
{
	if (c->pcap)
		pcap_close(c->pcap);
	c->pcap = NULL;
	pcapng_close(c->ng);
	c->ng = NULL;
	pcapmap_close(c->map);
	c->map = NULL;
}

/* A pcapng file gets pcapng.c: true with c->ng set, or with the file
 * counted as failed.  False when the file is not pcapng. */
static bool open_pcapng(struct capture *c, enum capture_status *st)
{
	unsigned char magic[4];
	char err[256];
	FILE *f = fopen(c->current, "rb");

	if (!f)
		return false; /* libpcap says why */
	if (fread(magic, 1, 4, f) != 4 || !pcapng_magic(magic)) {
		fclose(f);
		return false;
	}
	rewind(f);
	if (!(c->ng = pcapng_open(f, err, sizeof(err)))) {
		snprintf(c->err, sizeof(c->err), "%s: not a readable capture: %s", c->current, err);
		c->failed_files++;
		*st = CAPTURE_ERROR;
		return true;
	}
	*st = CAPTURE_OK;
	return true;
}

/* Opens the next file; false when there is none.  A file that cannot be
 * opened counts as failed and is skipped with its message in c->err. */
static enum capture_status open_next_file(struct capture *c)
{
	char pcap_err[PCAP_ERRBUF_SIZE] = "";

	if (c->next_path >= c->n_paths)
		return CAPTURE_END;
	c->current = c->paths[c->next_path++];
	c->frames_in_file = 0;
	enum capture_status st;
	if (open_pcapng(c, &st))
		return st;
	if ((c->map = pcapmap_open(c->current)))
		return CAPTURE_OK;
	c->pcap = pcap_open_offline_with_tstamp_precision(c->current, PCAP_TSTAMP_PRECISION_MICRO, pcap_err);
	if (!c->pcap) {
		snprintf(c->err, sizeof(c->err), "%s: not a readable capture: %s", c->current, pcap_err);
		c->failed_files++;
		return CAPTURE_ERROR;
	}
	int dlt = pcap_datalink(c->pcap);
	if (!decoder_linktype_supported(dlt)) {
		const char *name = pcap_datalink_val_to_name(dlt);
		snprintf(c->err, sizeof(c->err), "%s: link type %d (%s) is not supported; file skipped",
			 c->current, dlt, name ? name : "unnamed");
		c->failed_files++;
		close_current(c);
		return CAPTURE_ERROR;
	}
	return CAPTURE_OK;
}

enum capture_status capture_next(struct capture *c, struct capture_frame *f)
{
	for (;;) {
		if (c->nl_buf)
			return nflog_next(c, f);
		if (!c->pcap && !c->ng && !c->map) {
			if (c->live)
				return CAPTURE_END;
			enum capture_status st = open_next_file(c);
			if (st != CAPTURE_OK)
				return st;
		}
		if (c->ng) {
			char err[256];
			long offset;
			int rc = pcapng_next(c->ng, f, &offset, err, sizeof(err));
			if (rc == 1) {
				f->file = (uint32_t)(c->next_path - 1);
				f->index = ++c->frames_in_file;
				return CAPTURE_OK;
			}
			close_current(c);
			if (rc == 0)
				continue;
			snprintf(c->err, sizeof(c->err), "%s: stopped reading at byte %ld: %s", c->current, offset, err);
			c->failed_files++;
			return CAPTURE_ERROR;
		}
		if (c->map) {
			enum capture_status st = pcapmap_next(c->map, f);
			long at;
			if (st == CAPTURE_OK) {
				f->file = (uint32_t)(c->next_path - 1);
				f->index = ++c->frames_in_file;
				return st;
			}
			if (st == CAPTURE_ERROR) {
				const char *why = pcapmap_error(c->map, &at);
				snprintf(c->err, sizeof(c->err), "%s: stopped reading at byte %ld: %s", c->current, at, why);
				c->failed_files++;
			}
			close_current(c);
			if (st == CAPTURE_ERROR)
				return st;
			continue;
		}
		struct pcap_pkthdr *h;
		const u_char *data;
		errno = 0;
		int rc = pcap_next_ex(c->pcap, &h, &data);
		int read_errno = errno;

		if (rc == 1) {
			f->data = data;
			f->caplen = h->caplen;
			f->wirelen = h->len;
			f->ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
			f->linktype = pcap_datalink(c->pcap);
			f->file = c->live ? 0 : (uint32_t)(c->next_path - 1);
			f->index = c->live ? 0 : ++c->frames_in_file;
			return CAPTURE_OK;
		}
		if (rc == 0) /* live, nothing ready */
			return CAPTURE_END;
		if (rc == PCAP_ERROR_BREAK && !c->live) {
			close_current(c);
			continue;
		}
		/* libpcap's NFLOG reader (1.10) retries recv() after ENOBUFS (an
		 * overrun, which also makes the socket poll readable) and turns
		 * the EAGAIN of the now empty socket into an error: the engine
		 * stopped on "Can't receive packet: Resource temporarily
		 * unavailable" under a flood (bench/RESULTS-live.md).  On a
		 * non-blocking source that is only "nothing ready". */
		if (c->live && rc == PCAP_ERROR && (read_errno == EAGAIN || read_errno == EWOULDBLOCK))
			return CAPTURE_END;
		if (c->live) {
			snprintf(c->err, sizeof(c->err), "capture stopped: %s", pcap_geterr(c->pcap));
			return CAPTURE_ERROR;
		}
		snprintf(c->err, sizeof(c->err), "%s: stopped reading at byte %ld: %s", c->current,
			 current_offset(c), pcap_geterr(c->pcap));
		c->failed_files++;
		close_current(c);
		return CAPTURE_ERROR;
	}
}

const char *capture_error(const struct capture *c)
{
	return c->err;
}

int capture_fd(const struct capture *c)
{
	if (c->nl_buf)
		return c->nl_fd;
	return c->live && c->pcap ? pcap_get_selectable_fd(c->pcap) : -1;
}

/*
 * NFLOG: the copies the kernel could not queue on the socket (its
 * overruns, one a copy), not libpcap's count, which is of the ENOBUFS its
 * reads met -- and libpcap 1.10 tests errno after every recv(), successful
 * or not, so after one overrun it counted every packet read as a drop.
 */
static bool netlink_drops(const struct capture *c, uint64_t *drops)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);

	if (c->nl_buf) {
		*drops = c->nl_lost;
		if (getsockopt(c->nl_fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 &&
		    len > SK_MEMINFO_DROPS * sizeof(mem[0]) && mem[SK_MEMINFO_DROPS] > *drops)
			*drops = mem[SK_MEMINFO_DROPS];
		return true;
	}
	if (pcap_datalink(c->pcap) != DLT_NFLOG ||
	    getsockopt(pcap_get_selectable_fd(c->pcap), SOL_SOCKET, SO_MEMINFO, mem, &len) != 0 ||
	    len <= SK_MEMINFO_DROPS * sizeof(mem[0]))
		return false;
	*drops = mem[SK_MEMINFO_DROPS];
	return true;
}

uint64_t capture_kernel_drops(const struct capture *c)
{
	struct pcap_stat st;
	uint64_t drops;

	if (c->live && (c->pcap || c->nl_buf) && netlink_drops(c, &drops))
		return drops;
	if (c->live && c->pcap && pcap_stats(c->pcap, &st) == 0)
		return st.ps_drop + st.ps_ifdrop;
	return c->kernel_drops;
}

const char *capture_file_name(const struct capture *c, uint32_t i)
{
	return !c->live && i < c->n_paths ? c->paths[i] : NULL;
}

unsigned capture_failed_files(const struct capture *c)
{
	return c->failed_files;
}

void capture_close(struct capture *c)
{
	if (!c)
		return;
	close_current(c);
	if (c->live && c->nl_fd >= 0)
		close(c->nl_fd);
	free(c->nl_buf);
	for (size_t i = 0; i < c->n_paths; i++)
		free(c->paths[i]);
	free(c->paths);
	free(c);
}
