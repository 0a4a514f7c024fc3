/*
 * output/sink_net.c -- the network outputs' writers: syslog (RFC 5424) to a
 * local socket or over TCP, and Redis Streams (XADD through hiredis).
 *
 * Each runs in its output's writer thread (eventq.c), never in the packet
 * path, and is handed whole queued lines.  It returns the bytes of the lines
 * the destination took; what it could not deliver stays queued and is
 * offered again.  So a destination that goes away costs its queue's room
 * (lines beyond it are dropped and counted by the queue), never a wait in
 * the loop that judges packets.
 *
 * Invariants:
 *  - Every socket operation has a timeout (SINK_IO_TIMEOUT_MS), so a writer
 *    thread always comes back to its queue, and closing an output returns.
 *  - A connection that failed is dropped and tried again after a backoff
 *    that doubles from 100 ms to 5 s and starts over after a success; no
 *    reconnection storm against a server that is down.
 *  - A message is sent whole or the connection is dropped: a TCP syslog
 *    receiver never sees half a frame followed by the next one.
 *  - Delivery is at least once: a Redis reply lost with its connection
 *    means its events are added again on the next connection.
 */
#include "output.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SINK_IO_TIMEOUT_MS 1000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define REDIS_BATCH 256          /* XADDs sent before their replies are read */

struct net_sink {
	struct output_spec spec;
	int fd;                      /* syslog */
	redisContext *redis;
	uint64_t next_try_ms;        /* CLOCK_MONOTONIC */
	unsigned backoff_ms;
	_Atomic bool up;
	char err[600];               /* the last failure, for the first warning */
	bool warned;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A failure: drop the connection, wait before the next attempt, and say so
 * once per outage on stderr (the counters tell the rest). */
static void went_down(struct net_sink *s, const char *what)
{
	/* `what' may be the hiredis context's own errstr, freed just below */
	snprintf(s->err, sizeof(s->err), "%s", what);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->redis)
		redisFree(s->redis);
	s->redis = NULL;
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (s->backoff_ms > BACKOFF_MAX_MS)
		s->backoff_ms = BACKOFF_MAX_MS;
	s->next_try_ms = mono_ms() + s->backoff_ms;
	if (s->up || !s->warned)
		fprintf(stderr, "egressfence: output %s: %s; events wait in its queue, retrying\n", s->spec.name, s->err);
	s->warned = true;
	s->up = false;
}

static void came_up(struct net_sink *s)
{
	if (s->warned)
		fprintf(stderr, "egressfence: output %s: connected again\n", s->spec.name);
	s->backoff_ms = 0;
	s->warned = false;
	s->up = true;
}

static void set_timeouts(int fd)
{
	struct timeval tv = {SINK_IO_TIMEOUT_MS / 1000, (SINK_IO_TIMEOUT_MS % 1000) * 1000};

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* connect() with the I/O timeout: a blackholed address must not hold the
 * writer for the kernel's minutes of SYN retries. */
static int connect_timed(int fd, const struct sockaddr *sa, socklen_t len)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -1;
	int rc = connect(fd, sa, len);
	if (rc < 0 && errno == EINPROGRESS) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		rc = poll(&p, 1, SINK_IO_TIMEOUT_MS);
		if (rc == 0)
			errno = ETIMEDOUT;
		if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
			rc = 0;
		else {
			if (rc == 1)
				errno = soerr;
			rc = -1;
		}
	}
	if (rc == 0 && fcntl(fd, F_SETFL, flags) < 0)
		rc = -1;
	return rc;
}

/* ---- syslog ----------------------------------------------------------------- */

static bool syslog_connect(struct net_sink *s)
{
	const struct output_spec *o = &s->spec;
	char what[600];

	if (o->host[0]) {
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
		char port[8];
		snprintf(port, sizeof(port), "%u", o->port);
		int gai = getaddrinfo(o->host, port, &hints, &res);
		if (gai != 0) {
			snprintf(what, sizeof(what), "cannot resolve %s: %s", o->host, gai_strerror(gai));
			went_down(s, what);
			return false;
		}
		for (struct addrinfo *a = res; a && s->fd < 0; a = a->ai_next) {
			int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
			if (fd >= 0 && connect_timed(fd, a->ai_addr, a->ai_addrlen) == 0)
				s->fd = fd;
			else if (fd >= 0)
				close(fd);
		}
		freeaddrinfo(res);
		snprintf(what, sizeof(what), "cannot connect to %s:%u: %s", o->host, o->port, strerror(errno));
	} else {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", o->path);
		/* /dev/log is a datagram socket (rsyslog, journald); a stream
		 * socket at the path is tried too. */
		int types[] = {SOCK_DGRAM, SOCK_STREAM};
		for (int i = 0; i < 2 && s->fd < 0; i++) {
			int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
			if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
				s->fd = fd;
				s->spec.stream = types[i] == SOCK_STREAM;
			} else if (fd >= 0) {
				close(fd);
			}
		}
		snprintf(what, sizeof(what), "cannot connect to %s: %s", o->path, strerror(errno));
	}
	if (s->fd < 0) {
		went_down(s, what);
		return false;
	}
	set_timeouts(s->fd);
	came_up(s);
	return true;
}

static bool send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Each queued line is a whole RFC 5424 message and its newline (the
 * header was put in front when the event was queued, outputs.c).  Over
 * TCP it goes with RFC 6587 octet counting ("LEN SP MSG"); over a unix
 * socket one message per datagram. */
static size_t syslog_write(void *ctx, const char *buf, size_t n)
{
	struct net_sink *s = ctx;
	size_t done = 0;

	if (s->fd < 0 && (mono_ms() < s->next_try_ms || !syslog_connect(s)))
		return 0;
	while (done < n) {
		const char *nl = memchr(buf + done, '\n', n - done);
		size_t len = (size_t)(nl - (buf + done)); /* the queue holds whole lines */
		bool ok;
		if (s->spec.host[0] || s->spec.stream) {
			char frame[24];
			int fl = snprintf(frame, sizeof(frame), "%zu ", len);
			ok = send_all(s->fd, frame, (size_t)fl) && send_all(s->fd, buf + done, len);
		} else {
			ssize_t w;
			do
				w = send(s->fd, buf + done, len, MSG_NOSIGNAL);
			while (w < 0 && errno == EINTR);
			ok = w == (ssize_t)len;
		}
		if (!ok) {
			char what[300];
			snprintf(what, sizeof(what), "sending failed: %s", strerror(errno));
			went_down(s, what);
			break;
		}
		done += len + 1;
	}
	return done;
}

/* ---- Redis Streams ------------------------------------------------------------ */

static bool redis_connect(struct net_sink *s)
{
	struct timeval tv = {SINK_IO_TIMEOUT_MS / 1000, (SINK_IO_TIMEOUT_MS % 1000) * 1000};
	char what[600];

	s->redis = redisConnectWithTimeout(s->spec.host, (int)s->spec.port, tv);
	if (!s->redis || s->redis->err) {
		snprintf(what, sizeof(what), "cannot connect to Redis at %s:%u: %s", s->spec.host, s->spec.port,
			 s->redis ? s->redis->errstr : "out of memory");
		went_down(s, what);
		return false;
	}
	redisSetTimeout(s->redis, tv);
	came_up(s);
	return true;
}

/* XADD KEY [MAXLEN ~ N] * event JSON, pipelined REDIS_BATCH at a time; a
 * line counts as delivered when its reply is a stream id. */
static size_t redis_write(void *ctx, const char *buf, size_t n)
{
	struct net_sink *s = ctx;
	size_t done = 0;
	char maxlen[24];

	if (!s->redis && (mono_ms() < s->next_try_ms || !redis_connect(s)))
		return 0;
	snprintf(maxlen, sizeof(maxlen), "%lu", s->spec.maxlen);
	while (done < n) {
		size_t at = done, ends[REDIS_BATCH];
		int k = 0;
		for (; k < REDIS_BATCH && at < n; k++) {
			const char *nl = memchr(buf + at, '\n', n - at);
			size_t len = (size_t)(nl - (buf + at));
			const char *argv[8];
			size_t argl[8];
			int c = 0;
			argv[c] = "XADD", argl[c++] = 4;
			argv[c] = s->spec.key, argl[c++] = strlen(s->spec.key);
			if (s->spec.maxlen) {
				argv[c] = "MAXLEN", argl[c++] = 6;
				argv[c] = "~", argl[c++] = 1;
				argv[c] = maxlen, argl[c++] = strlen(maxlen);
			}
			argv[c] = "*", argl[c++] = 1;
			argv[c] = "event", argl[c++] = 5;
			argv[c] = buf + at, argl[c++] = len;
			if (redisAppendCommandArgv(s->redis, c, argv, argl) != REDIS_OK)
				break;
			at += len + 1;
			ends[k] = at;
		}
		for (int i = 0; i < k; i++) {
			redisReply *r = NULL;
			if (redisGetReply(s->redis, (void **)&r) != REDIS_OK || !r) {
				went_down(s, s->redis && s->redis->errstr[0] ? s->redis->errstr : "the connection failed");
				return done;
			}
			bool ok = r->type == REDIS_REPLY_STRING;
			if (!ok) {
				char what[300];
				snprintf(what, sizeof(what), "XADD refused: %s",
					 r->type == REDIS_REPLY_ERROR ? r->str : "an unexpected reply");
				freeReplyObject(r);
				/* A refusal (wrong type at the key, out of memory) is no
				 * outage: reconnecting will not fix it, so the backoff
				 * paces the retries. */
				went_down(s, what);
				return done;
			}
			freeReplyObject(r);
			done = ends[i];
		}
		if (k == 0) {
			went_down(s, "out of memory");
			break;
		}
	}
	return done;
}

/* ---- the sink interface --------------------------------------------------------- */

static bool net_connected(void *ctx)
{
	struct net_sink *s = ctx;

	return s->up;
}

static void net_free(void *ctx)
{
	struct net_sink *s = ctx;

	if (s->fd >= 0)
		close(s->fd);
	if (s->redis)
		redisFree(s->redis);
	free(s);
}

bool net_sink_new(const struct output_spec *o, struct event_sink *out)
{
	struct net_sink *s = calloc(1, sizeof(*s));

	if (!s)
		return false;
	s->spec = *o;
	s->fd = -1;
	*out = (struct event_sink){
		.write = o->type == OUTPUT_REDIS ? redis_write : syslog_write,
		.connected = net_connected,
		.free = net_free,
		.ctx = s,
	};
	return true;
}
