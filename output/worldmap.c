/*
 * output/worldmap.c -- the country shapes of the report's world view, read
 * at run time from world-map.txt (written at build time from the pinned npm
 * package @svg-maps/world by output/map/make-world-map.mjs, installed in
 * the data folder beside the country database).
 *
 * Invariants:
 *  - A file that does not open or does not read as that format loads
 *    nothing and says why (file:line: what was expected); the report then
 *    draws its bar chart alone, with the reason.  A missing map is never an
 *    error of the report.
 *  - What is handed out can go into the page as it is: codes are two
 *    capital letters, paths hold only the characters of "m", "z", digits,
 *    "-" and space, the view box only digits, "-" and spaces.  Names and the
 *    attribution are still escaped by the writer like every other text.
 */
#include "worldmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAP_MAX_BYTES (16u << 20) /* the data is about 230 KB; anything far larger is not it */

void world_map_free(struct world_map *m)
{
	if (!m)
		return;
	free(m->text);
	free(m->shapes);
	free(m);
}

static bool only(const char *s, const char *allowed)
{
	return s[strspn(s, allowed)] == 0;
}

static char *slurp(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *buf = NULL;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MAP_MAX_BYTES) {
		snprintf(err, errlen, "%s: not a regular file of at most %u bytes", path, MAP_MAX_BYTES);
		goto out;
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	size_t n = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = 0;
	if (strlen(buf) != n) {
		snprintf(err, errlen, "%s: holds a NUL byte: not a world map data file", path);
		free(buf);
		buf = NULL;
	}
out:
	fclose(f);
	return buf;
}

struct world_map *world_map_load(const char *path, char *err, size_t errlen)
{
	struct world_map *m = calloc(1, sizeof(*m));
	size_t cap = 0;
	unsigned no = 0;

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!(m->text = slurp(path, err, errlen)))
		goto fail;
	for (char *line = m->text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		no++;
		if (no == 1) {
			if (strcmp(line, "egressfence-world-map 1")) {
				snprintf(err, errlen, "%s:1: expected `egressfence-world-map 1' (a file written by "
					 "output/map/make-world-map.mjs)", path);
				goto fail;
			}
			continue;
		}
		if (!strncmp(line, "viewbox ", 8)) {
			m->viewbox = line + 8;
			if (!only(m->viewbox, "0123456789- ")) {
				snprintf(err, errlen, "%s:%u: the view box is four numbers", path, no);
				goto fail;
			}
			continue;
		}
		if (!strncmp(line, "attribution ", 12)) {
			m->attribution = line + 12;
			continue;
		}
		char *name = strchr(line, '\t'), *d = name ? strchr(name + 1, '\t') : NULL;
		if (!d || name - line != 2 || line[0] < 'A' || line[0] > 'Z' || line[1] < 'A' || line[1] > 'Z') {
			snprintf(err, errlen, "%s:%u: expected CC<tab>name<tab>path, CC two capital letters", path, no);
			goto fail;
		}
		*name++ = 0;
		*d++ = 0;
		if (!*d || !only(d, "mz0123456789- ")) {
			snprintf(err, errlen, "%s:%u: a path of relative moves (m, z, numbers) was expected", path, no);
			goto fail;
		}
		if (m->n == cap) {
			cap = cap ? 2 * cap : 256;
			struct world_shape *grown = realloc(m->shapes, cap * sizeof(*grown));
			if (!grown) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			m->shapes = grown;
		}
		m->shapes[m->n++] = (struct world_shape){.cc = line, .name = name, .path = d};
	}
	if (!m->viewbox || !m->attribution || !m->n) {
		snprintf(err, errlen, "%s: no %s: not a whole world map data file", path,
			 !m->viewbox ? "viewbox line" : !m->attribution ? "attribution line" : "country");
		goto fail;
	}
	return m;
fail:
	world_map_free(m);
	return NULL;
}
