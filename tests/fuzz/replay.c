/*
 * tests/fuzz/replay.c -- runs one harness over files, without libFuzzer:
 * every input a fuzzer once crashed on is kept in tests/fuzz/regress/
 * HARNESS/ and replayed by ctest in every build (gcc included), so a fixed
 * crash stays fixed.
 *
 *   HARNESS_replay PATH...     files, or folders whose files are replayed
 *
 * A path that is missing, a folder that cannot be read or holds no input,
 * or no path at all is a failure (exit 1): a regression suite that replays
 * nothing proves nothing, and a renamed folder must not pass unnoticed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			uint8_t *grown = realloc(buf, cap);
			if (!grown)
				abort();
			buf = grown;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	/* An exact-size copy, so that ASan sees a read past the input. */
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact)
		abort();
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	int replayed = 0, failed = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	if (argc < 2) {
		fprintf(stderr, "replay: no file or folder to replay\n");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s (nothing to replay there)\n", argv[i], strerror(errno));
			failed++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			failed += replay_file(argv[i]) != 0;
			replayed++;
			continue;
		}
		struct dirent **names;
		int n = scandir(argv[i], &names, NULL, by_name), before = replayed;
		if (n < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			failed++;
			continue;
		}
		for (int k = 0; k < n; k++) {
			char path[4096];
			if (names[k]->d_name[0] != '.' &&
			    snprintf(path, sizeof(path), "%s/%s", argv[i], names[k]->d_name) < (int)sizeof(path) &&
			    stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
				failed += replay_file(path) != 0;
				replayed++;
			}
			free(names[k]);
		}
		free(names);
		if (replayed == before) {
			fprintf(stderr, "replay: %s: no inputs in this folder\n", argv[i]);
			failed++;
		}
	}
	printf("replay: %d inputs, %d paths missing, empty or unreadable\n", replayed, failed);
	return failed ? 1 : 0;
}
