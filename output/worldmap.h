/*
 * output/worldmap.h -- country shapes for the report's world view (inside
 * output/ only; see worldmap.c).
 */
#ifndef EF_OUTPUT_WORLDMAP_H
#define EF_OUTPUT_WORLDMAP_H

#include <stdbool.h>
#include <stddef.h>

struct world_shape {
	const char *cc;   /* ISO 3166 alpha-2, two capital letters */
	const char *name; /* the package's English name */
	const char *path; /* SVG path data in the view box's units */
};

struct world_map {
	char *text; /* the file; every pointer below points into it */
	const char *viewbox, *attribution;
	struct world_shape *shapes;
	size_t n;
};

/* NULL, with why in err, when PATH does not open or is not the format. */
struct world_map *world_map_load(const char *path, char *err, size_t errlen);
void world_map_free(struct world_map *m);

#endif
