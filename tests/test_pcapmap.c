/*
 * tests/test_pcapmap.c -- the mapped pcap reader (capture/pcapmap.c) reads
 * every file exactly as libpcap does: the same frames (bytes, lengths,
 * timestamps), and the same stop, message and byte offset on a damaged
 * file.  Each edge case is a file written here, read by both; the case also
 * asserts the mapped reader took the file (not handed it back to libpcap),
 * so a reader that declined everything could not pass.  The captures under
 * ../shared/pcaps are compared the same way when present.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/pcapmap.h"

struct file {
	uint8_t b[1 << 20];
	size_t n;
	bool swapped;
};

static void put32(struct file *f, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		f->b[f->n++] = (uint8_t)(f->swapped ? v >> (24 - 8 * i) : v >> (8 * i));
}

static void put16(struct file *f, uint16_t v)
{
	f->b[f->n++] = (uint8_t)(f->swapped ? v >> 8 : v);
	f->b[f->n++] = (uint8_t)(f->swapped ? v : v >> 8);
}

static void header(struct file *f, bool swapped, bool nsec, uint32_t snaplen, uint32_t linktype)
{
	f->n = 0;
	f->swapped = swapped;
	put32(f, nsec ? 0xa1b23c4d : 0xa1b2c3d4);
	put16(f, 2);
	put16(f, 4);
	put32(f, 0);
	put32(f, 0);
	put32(f, snaplen);
	put32(f, linktype);
}

/* A record whose caplen field says `caplen` and that carries `carried` bytes. */
static void record(struct file *f, uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t wirelen, uint32_t carried)
{
	put32(f, sec);
	put32(f, frac);
	put32(f, caplen);
	put32(f, wirelen);
	for (uint32_t i = 0; i < carried; i++)
		f->b[f->n++] = (uint8_t)(i * 7 + caplen);
}

static char *write_temp(const struct file *f)
{
	char *path = strdup("/tmp/ef-pcapmap-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, f->b, f->n), (ssize_t)f->n);
	close(fd);
	return path;
}

/*
 * Reads `path` with both readers and asserts they agree frame by frame and
 * at the end.  Returns the frames read; *taken says whether the mapped
 * reader took the file at all.
 */
static unsigned compare_readers(const char *path, bool *taken, bool *error)
{
	char perr[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, perr);
	struct pcapmap *m = pcapmap_open(path);
	unsigned frames = 0;

	*taken = m != NULL;
	*error = false;
	if (!m) {
		if (p)
			pcap_close(p);
		return 0;
	}
	assert_non_null(p); /* a file the mapped reader takes, libpcap opens */
	assert_int_equal(pcapmap_linktype(m), pcap_datalink(p));
	for (;;) {
		struct pcap_pkthdr *h;
		const u_char *data;
		struct capture_frame f;
		int rc = pcap_next_ex(p, &h, &data);
		enum capture_status st = pcapmap_next(m, &f);

		if (rc == 1) {
			if (st != CAPTURE_OK)
				fail_msg("%s: frame %u: libpcap read it, the mapped reader said %d", path, frames, st);
			assert_int_equal(f.caplen, h->caplen);
			assert_int_equal(f.wirelen, h->len);
			assert_int_equal(f.ts_us, (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec);
			assert_memory_equal(f.data, data, h->caplen);
			frames++;
			continue;
		}
		if (rc == PCAP_ERROR_BREAK) {
			if (st != CAPTURE_END)
				fail_msg("%s: after %u frames libpcap ended, the mapped reader said %d", path, frames, st);
			break;
		}
		long at;
		if (st != CAPTURE_ERROR)
			fail_msg("%s: after %u frames libpcap failed (%s), the mapped reader said %d", path, frames,
				 pcap_geterr(p), st);
		assert_string_equal(pcapmap_error(m, &at), pcap_geterr(p));
		assert_int_equal(at, ftell(pcap_file(p)));
		assert_int_equal(pcapmap_next(m, &(struct capture_frame){0}), CAPTURE_ERROR); /* stays stopped */
		*error = true;
		break;
	}
	pcap_close(p);
	pcapmap_close(m);
	return frames;
}

static struct file file;

/* Writes `file`, compares, and checks the mapped reader took it. */
static unsigned check(const char *what, bool want_error)
{
	char *path = write_temp(&file);
	bool taken, error;
	unsigned frames = compare_readers(path, &taken, &error);

	if (!taken)
		fail_msg("%s: the mapped reader handed the file to libpcap", what);
	if (error != want_error)
		fail_msg("%s: %s", what, want_error ? "read to the end, expected an error" : "unexpected error");
	unlink(path);
	free(path);
	return frames;
}

static void both_byte_orders_and_precisions_read_alike(void **state)
{
	for (int swapped = 0; swapped < 2; swapped++) {
		for (int nsec = 0; nsec < 2; nsec++) {
			header(&file, swapped, nsec, 65535, 1);
			record(&file, 1700000000, nsec ? 123456789 : 123456, 60, 60, 60);
			record(&file, 1700000001, nsec ? 999999999 : 999999, 1514, 1514, 1514);
			/* fields with the top bit set: libpcap reads them signed,
			 * or unsigned in the other byte order */
			record(&file, 0x80000001u, 1, 54, 1000, 54);
			record(&file, 7, 0xfffffff0u, 54, 54, 54);
			record(&file, 1, 0x80000000u, 54, 54, 54);
			record(&file, 5, 0, 0, 0, 0);                /* an empty record */
			assert_int_equal(check("byte order and precision", false), 6);
		}
	}
	/* the fields really were swapped: the same bytes read natively would differ */
	header(&file, true, false, 65535, 1);
	record(&file, 1, 2, 60, 60, 60);
	char *path = write_temp(&file);
	struct pcapmap *m = pcapmap_open(path);
	struct capture_frame f;
	assert_non_null(m);
	assert_int_equal(pcapmap_next(m, &f), CAPTURE_OK);
	assert_int_equal(f.caplen, 60);
	assert_int_equal(f.ts_us, 1000002);
	pcapmap_close(m);
	unlink(path);
	free(path);
}

static void nanoseconds_become_microseconds(void **state)
{
	header(&file, false, true, 65535, 101);
	record(&file, 10, 1999, 40, 40, 40);
	char *path = write_temp(&file);
	struct pcapmap *m = pcapmap_open(path);
	struct capture_frame f;
	assert_non_null(m);
	assert_int_equal(pcapmap_next(m, &f), CAPTURE_OK);
	assert_int_equal(f.ts_us, 10000001);
	assert_int_equal(f.linktype, DLT_RAW);
	pcapmap_close(m);
	unlink(path);
	free(path);
	assert_int_equal(check("nanoseconds", false), 1);
}

static void truncated_record_header_stops_with_offset(void **state)
{
	header(&file, false, false, 65535, 1);
	record(&file, 1, 0, 60, 60, 60);
	record(&file, 2, 0, 60, 60, 60);
	file.n -= 60 + 9; /* 7 of the second record header's 16 bytes */
	assert_int_equal(check("truncated record header", true), 1);
	file.swapped = true;
	header(&file, true, false, 65535, 1);
	record(&file, 1, 0, 60, 60, 60);
	file.n += 3; /* 3 stray bytes: a header cut after 3 */
	assert_int_equal(check("truncated record header, swapped", true), 1);
}

static void truncated_record_data_stops_with_offset(void **state)
{
	header(&file, false, false, 65535, 1);
	record(&file, 1, 0, 60, 60, 60);
	record(&file, 2, 0, 600, 600, 600);
	file.n -= 1;
	assert_int_equal(check("truncated record data", true), 1);
}

static void caplen_over_snaplen_is_cut_to_snaplen(void **state)
{
	header(&file, false, false, 100, 1);
	record(&file, 1, 0, 60, 60, 60);
	record(&file, 2, 0, 300, 300, 300); /* handed out as 100 bytes, the rest skipped */
	record(&file, 3, 0, 60, 60, 60);
	assert_int_equal(check("caplen over snaplen", false), 3);
	/* cut in the part that is skipped, and in the part handed out */
	header(&file, false, false, 100, 1);
	record(&file, 1, 0, 300, 300, 300);
	file.n -= 50;
	assert_int_equal(check("caplen over snaplen, cut in the skipped part", true), 0);
	header(&file, false, false, 100, 1);
	record(&file, 1, 0, 300, 300, 300);
	file.n -= 250;
	assert_int_equal(check("caplen over snaplen, cut in the part handed out", true), 0);
	/* snaplen 0 means the largest */
	header(&file, false, false, 0, 1);
	record(&file, 1, 0, 70000, 70000, 70000);
	assert_int_equal(check("snaplen 0", false), 1);
}

static void caplen_over_256k_is_refused(void **state)
{
	header(&file, false, false, 65535, 1);
	record(&file, 1, 0, 60, 60, 60);
	record(&file, 2, 0, 262145, 262145, 0);
	memset(file.b + file.n, 0, 300000);
	file.n += 300000; /* bytes enough: the length alone is refused */
	assert_int_equal(check("caplen over 256 KiB", true), 1);
	header(&file, true, false, 262144, 1);
	record(&file, 2, 0, 0x7fffffff, 0x7fffffff, 64);
	assert_int_equal(check("caplen of 2 GB, swapped", true), 0);
	/* a snaplen over the bound stays, and the message names the bound;
	 * one that does not fit an int is replaced by the bound */
	header(&file, false, false, 300000, 1);
	record(&file, 2, 0, 270000, 270000, 64);
	assert_int_equal(check("caplen over 256 KiB, snaplen over it too", true), 0);
	header(&file, false, false, 0x80000000u, 1);
	record(&file, 2, 0, 270000, 270000, 64);
	assert_int_equal(check("caplen over 256 KiB, snaplen over 2^31", true), 0);
	/* exactly the bound is a frame */
	header(&file, false, false, 262144, 1);
	record(&file, 2, 0, 262144, 262144, 262144);
	assert_int_equal(check("caplen of 256 KiB", false), 1);
}

static void other_files_go_to_libpcap(void **state)
{
	static const uint8_t pcapng[] = {0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0,
					 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0};
	assert_null(pcapmap_open_buffer(pcapng, sizeof(pcapng)));
	header(&file, false, false, 65535, 147); /* a link type the decoder does not read */
	assert_null(pcapmap_open_buffer(file.b, file.n));
	header(&file, false, false, 65535, 1);
	file.b[6] = 3; /* version 2.3: maybe-swapped lengths, libpcap's business */
	assert_null(pcapmap_open_buffer(file.b, file.n));
	header(&file, true, false, 65535, 239); /* NFLOG in the other byte order */
	assert_null(pcapmap_open_buffer(file.b, file.n));
	header(&file, false, false, 65535, 1);
	assert_null(pcapmap_open_buffer(file.b, 23)); /* shorter than a file header */
	assert_non_null(file.b);
}

/* The file's resident pages, from /proc/self/status; -1 when not there. */
static long rss_file_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "RssFile: %ld", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/* Reading a 64 MiB capture holds a few MiB of it, not the whole map. */
static void memory_does_not_grow_with_the_file(void **state)
{
	char path[] = "/tmp/ef-pcapmap-big-XXXXXX";
	int fd = mkstemp(path);
	static uint8_t chunk[1 << 20];
	struct file *rec = &file;

	assert_true(fd >= 0);
	header(rec, false, false, 65535, 1);
	assert_int_equal(write(fd, rec->b, rec->n), (ssize_t)rec->n);
	rec->n = 0;
	record(rec, 1, 0, 1500, 1500, 1500);
	size_t per = rec->n, n = 0;
	for (; n + per <= sizeof(chunk); n += per)
		memcpy(chunk + n, rec->b, per);
	for (int i = 0; i < 64; i++)
		assert_int_equal(write(fd, chunk, n), (ssize_t)n);
	close(fd);
	long before = rss_file_kib();
	if (before < 0) {
		unlink(path);
		skip();
	}
	struct pcapmap *m = pcapmap_open(path);
	struct capture_frame f;
	unsigned frames = 0, sum = 0;
	long peak = before;
	assert_non_null(m);
	while (pcapmap_next(m, &f) == CAPTURE_OK) {
		for (uint32_t i = 0; i < f.caplen; i += 512)
			sum += f.data[i]; /* touch every page */
		if (++frames % 1000 == 0) {
			long now = rss_file_kib();
			peak = now > peak ? now : peak;
		}
	}
	pcapmap_close(m);
	unlink(path);
	assert_int_equal(frames, 64 * (sizeof(chunk) / per));
	assert_true(sum > 0);
	if (peak - before > 16 * 1024)
		fail_msg("reading 64 MiB held %ld KiB of it resident", peak - before);
}

/* Every classic pcap among the shared captures reads alike. */
static void shared_captures_read_alike(void **state)
{
	const char *dirs[] = {EF_SHARED_PCAPS "/ndpi", EF_SHARED_PCAPS};
	unsigned taken_files = 0;

	for (size_t d = 0; d < 2; d++) {
		DIR *dir = opendir(dirs[d]);
		struct dirent *e;
		if (!dir)
			skip();
		while ((e = readdir(dir))) {
			char path[4096];
			bool taken, error;
			if (e->d_name[0] == '.' || !strstr(e->d_name, ".pcap") || strstr(e->d_name, ".pcapng"))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[d], e->d_name);
			compare_readers(path, &taken, &error);
			taken_files += taken;
		}
		closedir(dir);
	}
	assert_true(taken_files > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(both_byte_orders_and_precisions_read_alike),
		cmocka_unit_test(nanoseconds_become_microseconds),
		cmocka_unit_test(truncated_record_header_stops_with_offset),
		cmocka_unit_test(truncated_record_data_stops_with_offset),
		cmocka_unit_test(caplen_over_snaplen_is_cut_to_snaplen),
		cmocka_unit_test(caplen_over_256k_is_refused),
		cmocka_unit_test(other_files_go_to_libpcap),
		cmocka_unit_test(memory_does_not_grow_with_the_file),
		cmocka_unit_test(shared_captures_read_alike),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
